"""Assumption sets of the 2017 reconstruction: reading, JSON Schema, checks.

An assumption set (``irmodels/identification/assumptions/*.yaml``, or a user's YAML file
passed by path; see ``docs/reconstruction.md``) names what the published 2017 aggregates do
not fix: latent associations for :func:`irmodels.identification.reconstruction.reconstruct`,
odds-ratio parameters for :mod:`irmodels.identification.curves`, unpublished margins and
count models. A file is read by :func:`irmodels.core.yamlio.load_yaml` (YAML 1.2 scalars;
duplicate keys, aliases, anchors, tags, oversize and deep files refused with their line),
then checked against :data:`ASSUMPTION_SCHEMA` (types per field, booleans or numbers where
text is meant and vice versa, unknown keys, value ranges) and against the rules a schema
cannot state (a predictor generated before its target, ``low <= high``). Every problem names
the file, the line, the key and the value; all are reported at once.

Problems inside one entry of ``associations`` or ``odds_ratios`` name the entry as their row
(``associations[2]``), the key inside it as their column and the line in their rule;
problems elsewhere give the line as their row and the dotted key as their column.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from irmodels.core.errors import Problem, SchemaError
from irmodels.identification.targets import _PREDICTORS, _RANK_ORDER, _TARGETS, GENERATION_ORDER
from irmodels.core.yamlio import dotted_path, line_of

__all__ = ["ASSUMPTION_SCHEMA", "load_assumptions", "read_assumption_set", "shipped_assumption_sets"]

_LC_RULE = "latent_coefficient must be {distribution: normal, mean, sd}"
_RENAMED = ("the field log_odds_ratio was renamed latent_coefficient: it is the coefficient of the "
            "predictor in the latent ranking score, not the realised log odds ratio (which is weaker "
            "because the margins are fixed); rename the key, the value format is unchanged")
_TEXT = {"type": "string"}
_BEDS = _RANK_ORDER["beds_class"]


def _obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An object schema with exactly these keys allowed (``source`` and ``note`` are free text)."""
    return {"type": "object", "additionalProperties": False,
            "properties": {**properties, "source": _TEXT, "note": _TEXT}, **extra}


_ASSOCIATION = _obj({
    "target": {"type": "string", "enum": sorted(_TARGETS), "x-rule": f"target cannot be ranked; valid: {sorted(_TARGETS)}"},
    "predictor": {"type": "string", "enum": sorted(_PREDICTORS), "x-rule": f"unknown predictor; valid: {sorted(_PREDICTORS)}"},
    "latent_coefficient": {
        "type": "object", "x-rule": _LC_RULE, "additionalProperties": False, "required": ["mean", "sd"],
        "properties": {"distribution": _TEXT,
                       "mean": {"type": "number", "x-rule": "mean must be a number"},
                       "sd": {"type": "number", "minimum": 0, "x-rule": "sd must be a number >= 0"}},
        # the distribution is checked here, so that its problem names latent_coefficient itself
        "if": {"required": ["distribution"], "properties": {"distribution": {"const": "normal"}}},
        "else": {"not": {}, "x-rule": _LC_RULE},
    },
    # the old name is refused with the new one (and does not also count as a missing latent_coefficient)
    "log_odds_ratio": {"not": {}, "x-rule": _RENAMED},
}, required=["target", "predictor", "source"])
_ASSOCIATION.update({"x-rule": "each association must be a mapping",
                     "if": {"required": ["log_odds_ratio"]}, "else": {"required": ["latent_coefficient"]}})

_POSITIVE = {"type": "number", "exclusiveMinimum": 0}
_ODDS_RATIO = _obj({
    "parameter": {"type": "string", "x-rule": "parameter must be text '<target>~<predictor>'"},
    "odds_ratio": {**_POSITIVE, "x-rule": "odds_ratio must be a positive number"},
    "range": {"type": "array", "minItems": 2, "maxItems": 2, "x-rule": "range must be [low, high] with 0 < low < high",
              "items": {**_POSITIVE, "x-rule": "range must be [low, high] with 0 < low < high"}},
}, required=["parameter", "odds_ratio", "range", "source"])
_ODDS_RATIO["x-rule"] = "each entry must be a mapping"

_ALPHA_RULE = "dirichlet_alpha must be 3 positive numbers (26-50, 51-75, >75)"
_RES_RULE = "need integers 0 <= low <= high <= 39 (the published constraints allow at most 39)"
_MEDIAN_RULE = f"median_by_beds needs a positive number for each of {_BEDS}"

#: JSON Schema (draft 2020-12) of an assumption set; ``x-rule`` is the message of a broken rule.
ASSUMPTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": _TEXT,
        "description": _TEXT,
        "associations": {"type": ["array", "null"], "items": _ASSOCIATION, "x-rule": "associations must be a list"},
        "odds_ratios": {"type": ["array", "null"], "items": _ODDS_RATIO,
                        "x-rule": "odds_ratios must be a list of {parameter, odds_ratio, range, source}"},
        "unpublished_margins": {**_obj({
            "female_ir_share_upper": _obj({
                "categories": {"const": ["26-50", "51-75", ">75"],
                               "x-rule": 'categories must be ["26-50", "51-75", ">75"] (the order of dirichlet_alpha)'},
                "dirichlet_alpha": {"type": "array", "minItems": 3, "maxItems": 3, "x-rule": _ALPHA_RULE,
                                    "items": {**_POSITIVE, "x-rule": _ALPHA_RULE}},
            }),
            "n_residents_13_21": _obj({
                "low": {"type": "integer", "minimum": 0, "maximum": 39, "x-rule": _RES_RULE},
                "high": {"type": "integer", "minimum": 0, "maximum": 39, "x-rule": _RES_RULE},
            }),
        }), "type": ["object", "null"]},
        "counts": {**_obj({
            "n_radiologists": _obj({
                "median_by_beds": {"type": "object", "additionalProperties": False, "required": _BEDS,
                                   "x-rule": _MEDIAN_RULE,
                                   "properties": {b: {**_POSITIVE, "x-rule": _MEDIAN_RULE} for b in _BEDS}},
                "sdlog": {"type": "number", "minimum": 0, "x-rule": "sdlog must be a number >= 0"},
                "residents_correlation": {"type": "number", "minimum": -1, "maximum": 1,
                                          "x-rule": "residents_correlation must be in [-1, 1]"},
            }),
            "n_residents": _obj({
                "tail_mean_above_21": {"type": "number", "minimum": 0, "x-rule": "tail_mean_above_21 must be a number >= 0"},
            }),
        }), "type": ["object", "null"]},
    },
}

_LISTS = ("associations", "odds_ratios")
_KINDS = {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list", dict: "a mapping",
          type(None): "empty (null)"}
_WANT = {"string": "text (quote it if it is meant as text)", "number": "a number", "integer": "an integer",
         "array": "a list", "object": "a mapping", "null": "empty"}


def shipped_assumption_sets() -> list[str]:
    """Names of the assumption sets shipped with irmodels."""
    d = resources.files("irmodels.identification").joinpath("assumptions")
    return sorted(p.name[:-5] for p in d.iterdir() if p.name.endswith(".yaml"))


@dataclass
class AssumptionFile:
    """One assumption set as read: its data, where it came from, key lines, schema problems."""

    spec: dict[str, Any]
    where: str
    lines: dict[tuple, int]
    problems: list[Problem] = field(default_factory=list)

    def problem(self, rule: str, path: tuple, value: Any = None) -> Problem:
        """A :class:`Problem` at a key path, located by entry (row) or by line (row) as the module says."""
        line = line_of(self.lines, path)
        if len(path) >= 2 and path[0] in _LISTS and isinstance(path[1], int):
            rest = dotted_path(path[2:]) or None
            return Problem(rule if line is None else f"{rule} (line {line})", file=self.where,
                           row=f"{path[0]}[{path[1]}]", column=rest, value=value)
        return Problem(rule, file=self.where, row=line, column=dotted_path(path) or None, value=value)




def read_assumption_set(assumptions: str | os.PathLike) -> AssumptionFile:
    """Read a shipped set by name or a YAML file by path, and check it against the schema.

    Parameters
    ----------
    assumptions : str or path-like
        The name of a shipped set or the path of a YAML file.

    Returns
    -------
    AssumptionFile
        The parsed mapping, its name for messages (``assumption set 'informed'`` or the path),
        the line of every key and the schema problems (empty when the file fits the schema).

    Raises
    ------
    SchemaError
        Not a shipped set nor an existing file; not a mapping.
    ConfigError
        Unreadable YAML (syntax, duplicate keys, aliases, anchors, tags, size, depth).

    Notes
    -----
    ``problems`` holds every problem of the file: the schema's, then what a schema cannot
    state (a predictor generated after its target, ``low > high``, unknown variables in an
    odds-ratio parameter, infinite values, ``low >= high`` or a value outside its range).
    """
    from irmodels.core.yamlio import key_lines, load_yaml, load_yaml_text

    if isinstance(assumptions, str) and assumptions in shipped_assumption_sets():
        where = f"assumption set {assumptions!r}"
        text = resources.files("irmodels.identification").joinpath("assumptions", f"{assumptions}.yaml").read_text(encoding="utf-8")
        spec = load_yaml_text(text, where)
    else:
        path = Path(assumptions)
        where = str(path)
        if not path.is_file():
            raise SchemaError(
                [Problem(f"not a shipped assumption set ({shipped_assumption_sets()}) nor an existing YAML file",
                         value=str(assumptions))],
                what="assumptions",
            )
        spec = load_yaml(path)  # size checked before reading; YAML 1.2 scalars; aliases, tags refused
        text = path.read_text(encoding="utf-8-sig")
    if not isinstance(spec, dict):
        raise SchemaError([Problem("the file must be a YAML mapping", file=where)], what=where)
    f = AssumptionFile(spec, where, key_lines(text))
    f.problems = _schema_problems(f)
    f.problems += [p for p in _association_problems(f) + _margin_problems(f) + _odds_ratio_problems(f)
                   if p not in f.problems]
    return f


def _schema_problems(f: AssumptionFile) -> list[Problem]:
    """Every violation of :data:`ASSUMPTION_SCHEMA`, one problem per key and rule."""
    import jsonschema

    errors = list(jsonschema.Draft202012Validator(ASSUMPTION_SCHEMA).iter_errors(f.spec))
    typed = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    out: list[Problem] = []
    seen: set[tuple] = set()

    def add(rule: str, path: tuple, value: Any = None) -> None:
        if (path, rule) not in seen:
            seen.add((path, rule))
            out.append(f.problem(rule, path, None if isinstance(value, dict) else value))

    for e in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        path = tuple(e.absolute_path)
        rule = e.schema.get("x-rule") if isinstance(e.schema, dict) else None
        if e.validator == "additionalProperties" and isinstance(e.instance, dict):
            allowed = sorted(e.schema.get("properties", {}))
            for k in e.instance:
                if not isinstance(k, str):  # YAML 1.2: true, 12, null keys are not text
                    text = {True: "true", False: "false", None: "null"}.get(k, str(k)) if not isinstance(k, float) else str(k)
                    add(f"a key must be text, but this key is {_KINDS.get(type(k), 'not text')}; quote it "
                        f"(\"{text}\": ...); allowed: {allowed}", path + (text,), k)
                elif k not in e.schema.get("properties", {}):
                    add(f"unknown field; allowed: {allowed}", path + (k,))
        elif e.validator == "required" and isinstance(e.instance, dict):
            for k in e.validator_value:
                if k not in e.instance:
                    add(f"missing field {k!r}", path + (k,))
        elif e.validator == "type":
            want = e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]
            got = _KINDS.get(type(e.instance), type(e.instance).__name__)
            add(rule or f"must be {' or '.join(_WANT[w] for w in want)}, not {got}", path, e.instance)
        elif path not in typed:  # a value of the wrong type is reported once, by its type
            add(rule or f"invalid value ({e.message})", path, e.instance)
    return out


def load_assumptions(assumptions: str | os.PathLike = "informed") -> dict[str, Any]:
    """Load and check an assumption set.

    Parameters
    ----------
    assumptions : str or path-like
        The name of a shipped set (``"independent"``, ``"informed"``) or the path of a YAML
        file with the same fields (see ``docs/reconstruction.md``).

    Returns
    -------
    dict
        The parsed set, with ``associations`` as a list of dicts.

    Raises
    ------
    SchemaError
        Listing every problem, each with file, line, key and value: unknown set name,
        unknown variables or fields, a value of the wrong type (:data:`ASSUMPTION_SCHEMA`),
        a predictor generated after its target, a ``latent_coefficient`` distribution other
        than ``normal`` or a negative ``sd``, the old key ``log_odds_ratio`` (renamed
        ``latent_coefficient``: it is the coefficient of the latent ranking score, not the
        realised log odds ratio), malformed unpublished margins.
    ConfigError
        Unreadable YAML (see :mod:`irmodels.core.yamlio`).
    """
    f = read_assumption_set(assumptions)
    if f.problems:
        raise SchemaError(f.problems, what=f.where)
    spec = f.spec
    assoc = spec.get("associations") or []
    um = _mapping(spec, "unpublished_margins")
    fu, nr = _mapping(um, "female_ir_share_upper"), _mapping(um, "n_residents_13_21")
    cm = _mapping(_mapping(spec, "counts"), "n_radiologists")
    lo, hi = nr.get("low", 10), nr.get("high", 25)
    med = cm.get("median_by_beds", {"<200": 8, "200-399": 12, "400-799": 20, ">=800": 35})
    spec["associations"] = assoc
    spec["_params"] = {
        "alpha": np.asarray(fu.get("dirichlet_alpha", [6.0, 2.5, 1.5]), dtype=float),
        "res_low": lo,
        "res_high": hi,
        "median": np.array([med[b] for b in _BEDS], dtype=float),
        "sdlog": float(cm.get("sdlog", 0.45)),
        "rho": float(cm.get("residents_correlation", 0.0)),
        "tail_mean": float(_mapping(_mapping(spec, "counts"), "n_residents").get("tail_mean_above_21", 8.0)),
    }
    return spec


def _mapping(d: dict[str, Any], key: str) -> dict[str, Any]:
    """``d[key]`` when it is a mapping, else an empty one (a wrong type is a schema problem)."""
    v = d.get(key)
    return v if isinstance(v, dict) else {}


def _association_problems(f: AssumptionFile) -> list[Problem]:
    """Each association's predictor must be generated before its target."""
    out: list[Problem] = []
    assoc = f.spec.get("associations") or []
    order = {v: i for i, v in enumerate(GENERATION_ORDER)}
    for i, a in enumerate(assoc if isinstance(assoc, list) else []):
        if not isinstance(a, dict):
            continue
        t, p = a.get("target"), a.get("predictor")
        if isinstance(t, str) and isinstance(p, str) and t in order and p in order and order[p] >= order[t]:
            out.append(f.problem(f"predictor must be generated before the target (order: {list(GENERATION_ORDER)})",
                                 ("associations", i, "predictor"), p))
    return out


def _margin_problems(f: AssumptionFile) -> list[Problem]:
    """The 13-21 resident count: whole numbers (10.0 passes JSON Schema's integer) and low <= high."""
    out: list[Problem] = []
    nr = _mapping(_mapping(f.spec, "unpublished_margins"), "n_residents_13_21")
    lo, hi = nr.get("low", 10), nr.get("high", 25)
    for key, v in (("low", lo), ("high", hi)):
        if isinstance(v, float) and v.is_integer():
            out.append(f.problem(_RES_RULE, ("unpublished_margins", "n_residents_13_21", key), v))
    if type(lo) is int and type(hi) is int and lo > hi:
        out.append(f.problem(_RES_RULE, ("unpublished_margins", "n_residents_13_21"), [lo, hi]))
    return out


def _odds_ratio_problems(f: AssumptionFile) -> list[Problem]:
    """What the schema cannot state about the odds ratios: known variables, finite values, low < high, inside."""
    from irmodels.identification.expected import OUTCOME_EVENTS, SCORES

    out: list[Problem] = []
    items = f.spec.get("odds_ratios") or []
    valid = sorted(set(SCORES) | set(OUTCOME_EVENTS))
    num = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0  # noqa: E731  (else: schema)
    for i, it in enumerate(items if isinstance(items, list) else []):
        if not isinstance(it, dict):
            continue
        par, orv, rng = it.get("parameter"), it.get("odds_ratio"), it.get("range")
        if isinstance(par, str):
            t, _, p = par.partition("~")
            for v, col in ((t, "target"), (p, "predictor")):
                if v not in valid:
                    out.append(f.problem(f"{col} must be one of {valid}", ("odds_ratios", i, "parameter"), par))
        if num(orv) and not math.isfinite(orv):
            out.append(f.problem("odds_ratio must be a positive number", ("odds_ratios", i, "odds_ratio"), orv))
        if isinstance(rng, list) and len(rng) == 2 and all(num(x) for x in rng):
            if not (all(math.isfinite(x) for x in rng) and rng[0] < rng[1]):
                out.append(f.problem("range must be [low, high] with 0 < low < high", ("odds_ratios", i, "range"), rng))
            elif num(orv) and math.isfinite(orv) and not rng[0] <= orv <= rng[1]:
                out.append(f.problem("odds_ratio must lie inside its range", ("odds_ratios", i, "odds_ratio"), orv))
    return out
