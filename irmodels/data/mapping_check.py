"""Checking an import mapping (YAML) before anything is read: the JSON Schema of the file and
the checks a schema cannot express (codebook names, bins against the codebook classes,
declared classes and their harmonisation, answer codes that YAML typed as booleans or numbers,
case-insensitive collisions). Used by :func:`irmodels.data.mapping.load_mapping`; every problem
carries the file, the line and the dotted path of its key.
"""

from __future__ import annotations

import math
from typing import Any

from irmodels.core.errors import Problem
from irmodels.data.readers import PRESETS, cell_text
from irmodels.core.yamlio import dotted_path, line_of

__all__ = ["MAPPING_SCHEMA", "EXTRA_TYPES", "mapping_problems"]

#: Types of wave-specific ``extra`` variables.
EXTRA_TYPES = ("integer", "number", "boolean", "category", "text")

_s = cell_text

_CODEMAP = {"type": "object", "x-rule": "must be a mapping answer -> value"}
_COLNAMES = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
             "x-rule": "an export column name or a list of them"}
_ROW = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}], "x-rule": "a 1-based row number (or null)"}
_BINS = {
    "anyOf": [
        {"const": "codebook"},
        {"type": "object", "required": ["edges", "labels", "closed"], "additionalProperties": False,
         "properties": {"edges": {"type": "array", "minItems": 2, "items": {"type": ["number", "null"]}},
                        "labels": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                        "closed": {"enum": ["left", "right"]}}},
    ],
    "x-rule": "bins is `codebook` or {edges: [numbers, last may be null], labels: [...], closed: left|right}",
}
_COLUMN_PROPS: dict[str, Any] = {
    "column": {"type": "string", "minLength": 1},
    "codes": _CODEMAP,
    "recode": _CODEMAP,
    "missing": {"type": "array", "x-rule": "a list of answers that mean 'no answer'"},
    "other": {"type": "object", "required": ["code"], "additionalProperties": False,
              "properties": {"code": {}, "text_column": {"type": "string"}},
              "x-rule": "other needs {code: ..., text_column: ...}"},
    "note": {"type": "string"},
    "bins": _BINS,
    "classes": {"type": "array", "minItems": 1, "items": {"anyOf": [
        {"type": "string"},
        {"type": "object", "required": ["code"], "additionalProperties": False,
         "properties": {"code": {"type": "string"}, "lower": {"type": "number"},
                        "upper": {"type": ["number", "null"]}, "label": {"type": "string"}}}],
        "x-rule": "a class is a code or {code, lower, upper}"},
        "x-rule": "classes is a list of codes or of {code, lower, upper}"},
    "harmonise": {"type": "object", "additionalProperties": {"anyOf": [
        {"type": "string"},
        {"type": "object", "required": ["to", "straddling"], "additionalProperties": False,
         "properties": {"to": {"type": "string"}, "straddling": {"type": "string", "minLength": 1}}}],
        "x-rule": "a wave class maps to a canonical class (text) or to {to: <class>, straddling: <reason>}"},
        "x-rule": "harmonise maps each wave class to a canonical class, or to {to: <class>, straddling: <reason>}"},
    "names": {"const": "auto", "x-rule": "names: auto (country names resolved with pycountry)"},
    "languages": {"type": "array", "items": {"type": "string"}},
    "case_insensitive": {"type": "boolean"},
}
_COLUMN = {"type": "object", "required": ["column"], "additionalProperties": False, "properties": _COLUMN_PROPS,
           "x-rule": "needs {column: <export column>}"}
_EXTRA = {"type": "object", "required": ["column", "type"], "additionalProperties": False,
          "properties": {**_COLUMN_PROPS, "type": {"enum": list(EXTRA_TYPES)},
                         "levels": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                         "ordered": {"type": "boolean"}, "label": {"type": "string"}},
          "x-rule": f"an extra variable needs {{column: <export column>, type: {'|'.join(EXTRA_TYPES)}}}"}

#: JSON Schema (Draft 2020-12) of a mapping file; ``x-rule`` is the message of a failed check.
MAPPING_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["wave", "respondent_id", "columns"],
    "additionalProperties": False,
    "properties": {
        "wave": {"type": ["string", "integer"]},
        "description": {"type": "string"},
        "source": {"enum": sorted(PRESETS), "x-rule": f"source is one of {sorted(PRESETS)}"},
        "format": {"enum": ["csv", "xlsx"], "x-rule": "format must be csv or xlsx"},
        "sheet": {"type": ["string", "integer"]},
        "delimiter": {"enum": [",", ";", "\t", "|", "auto"], "x-rule": "delimiter is one of , ; tab | auto"},
        "encoding": {"type": "string"},
        "decimal": {"enum": [".", ","], "x-rule": "decimal is '.' or ','"},
        "header_row": {"type": "integer", "minimum": 1, "x-rule": "header_row must be a positive integer"},
        "text_row": _ROW, "import_id_row": _ROW, "subheader_row": _ROW,
        "skip_rows": {"type": "array", "items": {"type": "integer", "minimum": 1},
                      "x-rule": "skip_rows must be a list of row numbers"},
        "respondent_id": {"type": "object", "required": ["column"], "additionalProperties": False,
                          "properties": {"column": {"type": "string"}},
                          "x-rule": "respondent_id must be {column: <export column>}"},
        "exclude": {"type": "array", "items": {
            "type": "object", "required": ["column", "reason"], "additionalProperties": False,
            "properties": {"column": {"type": "string"}, "reason": {"type": "string"}, "equals": {},
                           "in": {"type": "array"}, "missing": {"type": "boolean"}},
            "oneOf": [{"required": ["equals"]}, {"required": ["in"]}, {"required": ["missing"]}],
            "x-rule": "each rule needs column, reason and exactly one of equals / in / missing"}},
        "deduplicate": {"type": "object", "required": ["key", "rule"], "additionalProperties": False,
                        "properties": {
                            "key": _COLNAMES,
                            "rule": {"const": "keep_last_complete",
                                     "x-rule": "the one rule is keep_last_complete"},
                            "order_by": {"type": "object", "required": ["column"], "additionalProperties": False,
                                         "properties": {"column": {"type": "string"}, "format": {"type": "string"}},
                                         "x-rule": "order_by is {column: <submission time column>, format: <strftime>}"},
                            "complete": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
                        "x-rule": "deduplicate needs {key: <column(s)>, rule: keep_last_complete}"},
        "case_insensitive": {"type": "boolean"},
        "columns": {"type": "object", "additionalProperties": _COLUMN,
                    "x-rule": "columns must be a mapping canonical_name: {column: ...}"},
        "extra": {"type": "object", "additionalProperties": _EXTRA},
        "derive_share_classes": {"type": "boolean"},
        "free_text": {"type": "array", "items": {"type": "string"}},
        "ignore": {"type": "array", "items": {"type": "string"}},
    },
}





def _schema_problems(spec: Any, lines: dict[tuple, int], where: str) -> list[Problem]:
    import jsonschema

    out: list[Problem] = []
    seen: set[tuple] = set()
    for e in jsonschema.Draft202012Validator(MAPPING_SCHEMA).iter_errors(spec):
        path = tuple(e.absolute_path)
        rule = e.schema.get("x-rule") if isinstance(e.schema, dict) else None
        if e.validator == "additionalProperties" and isinstance(e.instance, dict):
            allowed = sorted(e.schema.get("properties", {}))
            for k in e.instance:
                if k not in e.schema.get("properties", {}):
                    key = (path + (k,), "unknown")
                    if key not in seen:
                        seen.add(key)
                        msg = f"unknown field; allowed: {allowed}" if allowed else "unknown field"
                        out.append(Problem(msg, file=where, row=line_of(lines, path + (k,)), column=dotted_path(path + (k,))))
            continue
        if e.validator == "required" and not rule:
            for k in e.validator_value:
                if isinstance(e.instance, dict) and k not in e.instance:
                    out.append(Problem("required field is missing", file=where, row=line_of(lines, path),
                                       column=dotted_path(path + (k,))))
            continue
        rule = rule or f"invalid value ({e.message})"
        key = (path, rule)
        if key in seen:
            continue
        seen.add(key)
        val = None if isinstance(e.instance, (dict, list)) else e.instance
        out.append(Problem(rule, file=where, row=line_of(lines, path), column=dotted_path(path) or None, value=val))
    return out


# paths (with "*" for any key) whose keys are answer codes / wave classes
_CODE_KEY_PATHS = [("columns", "*", f) for f in ("codes", "recode", "harmonise")] + \
                  [("extra", "*", f) for f in ("codes", "recode", "harmonise")]


def _typed_key_problems(text: str, where: str) -> list[Problem]:
    """A boolean or number key where an answer code is expected (``codes: {true: x}``)."""
    import yaml

    from irmodels.core.yamlio import _Loader

    out: list[Problem] = []
    root = yaml.compose(text, Loader=_Loader)

    def walk(node: Any, path: tuple) -> None:
        if not isinstance(node, yaml.MappingNode):
            return
        is_codes = any(len(path) == len(p) and all(a == "*" or a == b for a, b in zip(p, path)) for p in _CODE_KEY_PATHS)
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                if is_codes and k.tag.rsplit(":", 1)[-1] in ("bool", "int", "float", "null"):
                    kind = {"bool": "a boolean", "null": "null"}.get(k.tag.rsplit(":", 1)[-1], "a number")
                    out.append(Problem(
                        f"an answer code must be text, but this key is {kind}; quote it (\"{k.value}\": ...)",
                        file=where, row=k.start_mark.line + 1, column=dotted_path(path), value=k.value))
                walk(v, path + (k.value,))

    walk(root, ())
    return out


def _codebook_bins(name: str) -> list[tuple[str, float, float]] | None:
    from irmodels.data.codebook import load_codebook

    cats = load_codebook().get(name, {}).get("categories") or []
    if not cats or any("lower" not in c for c in cats):
        return None
    return [(str(c["code"]), float(c["lower"]), math.inf if c.get("upper") is None else float(c["upper"])) for c in cats]


def _custom_bins(b: dict[str, Any]) -> list[tuple[str, float, float, bool, bool]]:
    e = [math.inf if x is None else float(x) for x in b["edges"]]
    k = len(e) - 1
    left = b["closed"] == "left"
    # the outer edges are always inside (pandas' include_lowest, and its mirror)
    return [(str(b["labels"][i]), e[i], e[i + 1], left or i == 0, (not left) or i == k - 1) for i in range(k)]


def _int_range(lo: float, hi: float, lc: bool, hc: bool) -> tuple[float, float]:
    a = math.ceil(lo) if lc else math.floor(lo) + 1
    b = hi if math.isinf(hi) else (math.floor(hi) if hc else math.ceil(hi) - 1)
    return a, b


class _Problems:
    """Collects the problems of one mapping file, each located by the line and dotted path of its key."""

    def __init__(self, lines: dict[tuple, int], where: str) -> None:
        self.lines, self.where = lines, where
        self.probs: list[Problem] = []

    def __call__(self, rule: str, path: tuple, value: Any = None) -> None:
        self.probs.append(Problem(rule, file=self.where, row=line_of(self.lines, path), column=dotted_path(path), value=value))


def _semantic_problems(spec: dict[str, Any], lines: dict[tuple, int], where: str,
                       bins_out: dict[str, list[tuple[str, float, float, bool, bool]]]) -> list[Problem]:
    """The checks a JSON Schema cannot express: names, case collisions, classes, harmonisation, bins."""
    from irmodels.data.codebook import load_codebook
    from irmodels.data.schema import canonical_columns

    cb = load_codebook()
    canon = set(canonical_columns())
    P = _Problems(lines, where)
    ci_top = bool(spec.get("case_insensitive", False))
    cols = spec.get("columns") if isinstance(spec.get("columns"), dict) else {}
    extra = spec.get("extra") if isinstance(spec.get("extra"), dict) else {}
    _name_problems(P, cols, extra, canon)
    import jsonschema

    valid = {"columns": jsonschema.Draft202012Validator(_COLUMN), "extra": jsonschema.Draft202012Validator(_EXTRA)}
    for group, table in (("columns", cols), ("extra", extra)):
        for name, c in table.items():
            if not valid[group].is_valid(c):
                continue  # its structure is reported by the JSON Schema; the finer checks need it
            _column_problems(P, group, name, c, ci_top, cb, bins_out)
    dd = spec.get("deduplicate")
    if isinstance(dd, dict) and isinstance(dd.get("complete"), list):
        for i, n in enumerate(dd["complete"]):
            if n not in cols and n not in extra:
                P("not a mapped variable (complete lists names under columns or extra)", ("deduplicate", "complete", i), n)
    return P.probs


def _name_problems(P: _Problems, cols: dict[str, Any], extra: dict[str, Any], canon: set[str]) -> None:
    """Mapped names: canonical under ``columns``, not canonical under ``extra``; levels only for categories."""
    for name in cols:
        if name not in canon or name in ("wave", "respondent_id"):
            P("not a canonical column (wave and respondent_id have their own fields; wave-specific variables go "
              "under extra)", ("columns", name))
    for name, e in extra.items():
        if not isinstance(e, dict):
            continue
        if name in canon:
            P("an extra variable must not have a canonical name (map it under columns)", ("extra", name))
        if isinstance(e, dict) and e.get("type") == "category" and not e.get("levels"):
            P("a category extra needs levels: [...]", ("extra", name))
        if isinstance(e, dict) and e.get("levels") and e.get("type") != "category":
            P("levels are for type: category", ("extra", name, "levels"))


def _column_problems(P: _Problems, group: str, name: str, c: dict[str, Any], ci_top: bool, cb: dict[str, Any],
                     bins_out: dict[str, list[tuple[str, float, float, bool, bool]]]) -> None:
    """The finer checks of one structurally valid column (or extra) entry; its checked bins go to ``bins_out``."""
    base = (group, name)
    ci = bool(c.get("case_insensitive", ci_top))
    if ci:
        for f in ("codes", "recode"):
            seen: dict[str, Any] = {}
            for k, v in (c.get(f) or {}).items() if isinstance(c.get(f), dict) else []:
                kk = _s(k).casefold()
                if kk in seen and seen[kk] != v:
                    P(f"codes {seen[kk][0]!r} and {_s(k)!r} differ only in case but map to different values; "
                      "case_insensitive cannot tell them apart", base + (f, k), _s(k))
                seen.setdefault(kk, (_s(k), v))
    if "names" in c and name != "country":
        P("names: auto is for the country column", base + ("names",))
    if group == "extra" and any(f in c for f in ("bins", "classes", "harmonise")):
        P("bins / classes / harmonise are for canonical classes; an extra is typed by its type", base)
        return
    cbins = _codebook_bins(name)
    canon_cats = [str(x["code"]) for x in cb.get(name, {}).get("categories", [])]
    classes = c.get("classes")
    harm = c.get("harmonise")
    if isinstance(classes, list):
        _class_problems(P, base, name, classes, harm, cbins, canon_cats)
    elif harm is not None:
        P("harmonise needs the wave's classes: classes: [...]", base + ("harmonise",))
    b = c.get("bins")
    if b is None:
        return
    targets = [(_s(x["code"]) if isinstance(x, dict) else _s(x)) for x in classes] if isinstance(classes, list) else canon_cats
    custom = _bins_problems(P, base, name, b, classes, cbins, targets)
    if custom is not None:
        bins_out[name] = custom


def _class_problems(P: _Problems, base: tuple, name: str, classes: list[Any], harm: Any,
                    cbins: list[tuple[str, float, float]] | None, canon_cats: list[str]) -> None:
    """Declared wave classes: the same as the codebook's, or each harmonised onto the one canonical class it lies in."""
    codes_ = [_s(x["code"]) if isinstance(x, dict) else _s(x) for x in classes]
    ranges = {(_s(x["code"])): (float(x.get("lower", 0)), math.inf if x.get("upper") is None else float(x["upper"]))
              for x in classes if isinstance(x, dict) and "lower" in x}
    same = codes_ == canon_cats and (cbins is None or all(
        ranges.get(cd) == (lo, hi) for cd, lo, hi in cbins))
    if not same and not isinstance(harm, dict):
        P(f"the declared classes {codes_} differ from the codebook classes of {name} {canon_cats}: "
          "add harmonise: {<wave class>: <canonical class>} (mapping new classes onto the codebook's "
          "silently is not allowed)", base + ("classes",))
    if not isinstance(harm, dict):
        return
    for k in harm:
        if _s(k) not in codes_:
            P(f"not a declared class; classes: {codes_}", base + ("harmonise", k), _s(k))
    for cd in codes_:
        if cd not in {_s(k) for k in harm}:
            P("declared class has no harmonise entry (every wave class maps to one canonical class)",
              base + ("classes",), cd)
    for k, v in harm.items():
        to = v["to"] if isinstance(v, dict) else v
        if canon_cats and to not in canon_cats:
            P(f"not a canonical class of {name}; valid: {canon_cats}", base + ("harmonise", k), to)
            continue
        if cbins is None:
            continue
        if _s(k) not in ranges:
            P(f"{name} has numeric classes in the codebook: give each declared class lower/upper "
              "so that straddling can be checked", base + ("classes",), _s(k))
            continue
        _straddle_problems(P, base, name, k, v, to, ranges[_s(k)], cbins)


def _straddle_problems(P: _Problems, base: tuple, name: str, k: Any, v: Any, to: str, rng: tuple[float, float],
                       cbins: list[tuple[str, float, float]]) -> None:
    """A wave class's harmonisation against the canonical classes its range overlaps (straddling declared)."""
    lo, hi = rng
    over = [cd for cd, clo, chi in cbins if lo <= chi and clo <= hi]
    if len(over) > 1 and not isinstance(v, dict):
        P(f"wave class {_s(k)!r} ({lo:g}-{hi:g}) straddles the canonical classes {over}: declare it as "
          f"{{to: <one of them>, straddling: <why this class>}}", base + ("harmonise", k), _s(k))
    elif len(over) > 1 and to not in over:
        P(f"wave class {_s(k)!r} overlaps {over} only, not {to!r}", base + ("harmonise", k), to)
    elif len(over) == 1 and to != over[0]:
        P(f"wave class {_s(k)!r} ({lo:g}-{hi:g}) lies within canonical class {over[0]!r}, "
          f"not {to!r}", base + ("harmonise", k), to)
    elif len(over) == 1 and isinstance(v, dict):
        P(f"declared straddling, but {_s(k)!r} lies within {over[0]!r}", base + ("harmonise", k), _s(k))
    elif not over:
        P(f"wave class {_s(k)!r} ({lo:g}-{hi:g}) overlaps no canonical class of {name}",
          base + ("harmonise", k), _s(k))


def _bins_problems(P: _Problems, base: tuple, name: str, b: Any, classes: Any,
                   cbins: list[tuple[str, float, float]] | None,
                   targets: list[str]) -> list[tuple[str, float, float, bool, bool]] | None:
    """The checked bins of a column (None when they have a problem): ``codebook``, or edges and labels."""
    if b == "codebook":
        if cbins is None:
            P(f"{name} has no numeric classes (lower/upper) in the codebook; give bins: {{edges, labels, closed}}",
              base + ("bins",))
        elif isinstance(classes, list):
            P("bins: codebook gives the codebook classes; with declared classes give their own edges",
              base + ("bins",))
        else:
            return [(cd, lo, hi, True, True) for cd, lo, hi in cbins]
        return None
    if not isinstance(b, dict) or "edges" not in b or "labels" not in b:
        return None
    edges, labels = b["edges"], [_s(x) for x in b["labels"]]
    bad = len(labels) != len(edges) - 1
    if bad:
        P(f"{len(edges)} edges give {len(edges) - 1} classes but {len(labels)} labels are given", base + ("bins",))
    vals = [math.inf if x is None else x for x in edges]
    if any(x is None for x in edges[:-1]) or any(a >= bb for a, bb in zip(vals, vals[1:])):
        P("edges must increase strictly (only the last may be null: no upper limit)", base + ("bins", "edges"))
        bad = True
    for lab in labels:
        if lab not in targets:
            P(f"bin label is not a class of {name}; valid: {targets}", base + ("bins", "labels"), lab)
            bad = True
    if bad:
        return None
    custom = _custom_bins(b)
    if not isinstance(classes, list) and cbins is not None:
        cbr = {cd: (lo, hi) for cd, lo, hi in cbins}
        for lab, lo, hi, lc, hc in custom:
            got = _int_range(lo, hi, lc, hc)
            if got != cbr[lab]:
                P(f"these edges make {lab!r} cover {got[0]:g}-{got[1]:g}, but the codebook class {lab!r} is "
                  f"{cbr[lab][0]:g}-{cbr[lab][1]:g}: a questionnaire with other classes declares them "
                  "(classes: [...]) and harmonises them (harmonise: {...})", base + ("bins",), lab)
                bad = True
    return None if bad else custom


def mapping_problems(spec: Any, text: str, lines: dict[tuple, int], where: str,
                     bins: dict[str, list[tuple[str, float, float, bool, bool]]]) -> list[Problem]:
    """Every problem of a mapping read by :func:`irmodels.core.yamlio.load_yaml`, sorted by line.

    Parameters
    ----------
    spec : Any
        The parsed YAML.
    text : str
        Its text (for the lines and YAML types of keys).
    lines : dict
        :func:`irmodels.core.yamlio.key_lines` of ``text``.
    where : str
        The file name used in each problem.
    bins : dict
        Filled with the checked bins of each variable: ``{name: [(label, low, high,
        low_closed, high_closed), ...]}``.

    Returns
    -------
    list of Problem
    """
    probs = _typed_key_problems(text, where) + _schema_problems(spec, lines, where) + \
        _semantic_problems(spec, lines, where, bins)
    probs.sort(key=lambda q: (q.row is None, q.row if isinstance(q.row, int) else 0))
    return probs
