"""A survey wave as configuration: the wave config file, its schema and its checks.

A wave config is one YAML file (read with :func:`irmodels.core.yamlio.load_yaml`, so ``NO`` and
``yes`` stay strings) that says where a wave's data are, which frame it is weighted to, which
outcomes and model specs are run, and where the outputs go. ``irmodels run CONFIG`` runs
the whole pipeline for it (:func:`irmodels.pipeline.run.run_wave`). Relative paths are resolved
against the folder of the config file. An annotated example is ``waves/example_2025.yaml``.

Fields (``*`` = required)
-------------------------
``wave``\\*
    Wave identifier (letters, digits, ``_``, ``-``), written to every output row.
``year``
    Survey year (integer).
``title``, ``description``
    Free text for the report.
``data``\\*
    Either ``{export: FILE, mapping: FILE}`` (a raw survey-tool export and its import mapping,
    :func:`irmodels.data.importing.import_wave`), or ``{table: FILE}`` (a validated canonical table, CSV or
    Parquet), or ``{published: esr_cirse_2017}`` (a wave of which only aggregates were
    published: the pipeline then reports what those aggregates identify, see
    :mod:`irmodels.pipeline.published`).
``frame``
    The population the wave is weighted to. ``file: FILE`` (a user frame: CSV with ``country``,
    ``N`` and optionally ``beds_class``, ``teaching``, ``source``; its counts are used as given,
    so its total is the population size) or ``scenario: NAME`` (a named scenario of
    :data:`irmodels.nonresponse.scenarios.SCENARIOS`, which covers the 2017 invited countries only) with
    ``total: N`` (required with a scenario: the number of departments invited). Also
    ``margins`` (default ``[region, beds_class]``), ``collapse_beds`` (merge ``<200`` and
    ``200-399``, reported; default false), ``pool_countries`` (pool countries with fewer
    respondents into their region), ``method`` (default ``rake``). Without ``frame`` the wave
    is described and modelled but not weighted, and no population bounds are computed.
``invited``
    Number of departments invited (for the response rate and the Manski bounds); default: the
    frame's total.
``outcomes``
    ``{name: {positive: [categories] | negative: [categories], threshold: 0.5, label: text}}``:
    the prevalences estimated (unweighted, weighted, bounds, tipping point); a boolean column
    needs neither, a categorical one either the categories counted as 1 or those counted as 0
    (every other answered category counts as 1). Default: ``cover_24_7`` and
    ``female_ir_share_class`` with ``negative: ["0"]`` (at least one female IR, whatever the
    wave's share classes).
``by``
    Domains for the prevalence table (default ``[region, beds_class]``).
``models``
    ``specs`` (``all`` or a list of ids of :data:`irmodels.models.specs.SPECS`; default ``all``),
    ``engines`` (default ``[statsmodels, pymc]``), ``mcmc`` (``draws``, ``tune``, ``chains``,
    ``target_accept``), ``missing`` (``drop``: rows with item non-response dropped and
    counted; default), ``on_fail`` (``record``: a failing spec is recorded with its reason and
    the run goes on; ``raise``). ``models: false`` skips the models.
``figures``
    ``true`` (default) or ``false``.
``report``
    ``formats``: any of ``md``, ``html`` (default both).
``seed``
    Integer seed of every random step (default 1).
``output``\\*
    Output folder of this wave (created; must not be inside or equal to an input folder).
``cache``
    Folder of the fitted-model cache (default ``<output>/.cache/models``); fits are keyed by
    the content of spec, data, seed and sampler settings, so a shared cache is safe. Its
    sibling folder ``bounds/`` caches the identification regions of a published wave
    (keyed by the arguments and the package source).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from irmodels.core.errors import ConfigError, Problem
from irmodels.core.yamlio import key_lines, line_of, load_yaml

__all__ = ["WaveConfig", "load_wave_config", "CONFIG_SCHEMA", "DEFAULT_OUTCOMES"]

DEFAULT_OUTCOMES: dict[str, dict[str, Any]] = {
    "cover_24_7": {"label": "24/7 IR coverage", "threshold": 0.5},
    "female_ir_share_class": {"label": "at least one female interventional radiologist",
                              "negative": ["0"], "threshold": 0.5},
}

_PATH = {"type": "string", "minLength": 1}
CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["wave", "data", "output"],
    "properties": {
        "wave": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$"},
        "year": {"type": "integer", "minimum": 1900, "maximum": 2200},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "data": {"oneOf": [
            {"type": "object", "additionalProperties": False, "required": ["export", "mapping"],
             "properties": {"export": _PATH, "mapping": _PATH}},
            {"type": "object", "additionalProperties": False, "required": ["table"],
             "properties": {"table": _PATH}},
            {"type": "object", "additionalProperties": False, "required": ["published"],
             "properties": {"published": {"enum": ["esr_cirse_2017"]},
                            "assumption_sets": {"type": "array", "items": {"type": "string"}, "minItems": 1}}},
        ]},
        "frame": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "file": _PATH, "scenario": {"type": "string"},
                "scenarios": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "total": {"type": "number", "exclusiveMinimum": 0},
                "margins": {"type": "array", "items": {"enum": ["region", "country", "beds_class"]}, "minItems": 1},
                "collapse_beds": {"type": "boolean"},
                "pool_countries": {"type": "integer", "minimum": 1},
                "method": {"type": "string"},
            },
        },
        "invited": {"type": "integer", "minimum": 1},
        "outcomes": {"type": "object", "minProperties": 1, "additionalProperties": {
            "type": "object", "additionalProperties": False,
            "not": {"required": ["positive", "negative"]},
            "properties": {"positive": {"type": "array", "items": {"type": ["string", "boolean", "integer"]}},
                           "negative": {"type": "array", "items": {"type": ["string", "boolean", "integer"]}},
                           "threshold": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                           "label": {"type": "string"}}}},
        "by": {"type": "array", "items": {"type": "string"}},
        "models": {"oneOf": [{"const": False}, {
            "type": "object", "additionalProperties": False,
            "properties": {
                "specs": {"oneOf": [{"const": "all"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
                "engines": {"type": "array", "items": {"enum": ["statsmodels", "pymc"]}, "minItems": 1},
                "mcmc": {"type": "object", "additionalProperties": False,
                         "properties": {"draws": {"type": "integer", "minimum": 100},
                                        "tune": {"type": "integer", "minimum": 100},
                                        "chains": {"type": "integer", "minimum": 2, "maximum": 16},
                                        "target_accept": {"type": "number", "exclusiveMinimum": 0.5,
                                                          "exclusiveMaximum": 1}}},
                "missing": {"enum": ["drop", "raise"]},
                "on_fail": {"enum": ["record", "raise"]},
            }}]},
        "figures": {"type": "boolean"},
        "report": {"type": "object", "additionalProperties": False,
                   "properties": {"formats": {"type": "array", "items": {"enum": ["md", "html"]}, "minItems": 1}}},
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
        "output": _PATH,
        "cache": _PATH,
    },
}


@dataclass
class WaveConfig:
    """A checked wave config; paths are absolute (see the module docstring for the fields)."""

    path: Path
    wave: str
    output: Path
    data: dict[str, Any]
    year: int | None = None
    title: str = ""
    description: str = ""
    frame: dict[str, Any] | None = None
    invited: int | None = None
    outcomes: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_OUTCOMES.items()})
    by: list[str] = field(default_factory=lambda: ["region", "beds_class"])
    models: dict[str, Any] | None = None
    figures: bool = True
    report_formats: list[str] = field(default_factory=lambda: ["md", "html"])
    seed: int = 1
    cache: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``"published"`` for an aggregates-only wave, else ``"respondents"``."""
        return "published" if "published" in self.data else "respondents"

    def input_files(self) -> list[Path]:
        """Every file the config names as input (data, mapping, frame)."""
        out = [self.path]
        out += [Path(v) for k, v in self.data.items() if k in ("export", "mapping", "table")]
        if self.frame and self.frame.get("file"):
            out.append(Path(self.frame["file"]))
        return out



def _schema_problems(spec: Any, name: str, text: str) -> list[Problem]:
    lines = key_lines(text)
    val = jsonschema.Draft202012Validator(CONFIG_SCHEMA)
    out = []
    for err in sorted(val.iter_errors(spec), key=lambda e: [str(p) for p in e.absolute_path]):
        path = tuple(err.absolute_path)
        if err.validator == "oneOf" and err.context:
            # report the alternative that got furthest, in words
            best = max(err.context, key=lambda e: len(e.absolute_path))
            msg = f"{err.message.split(' is not valid')[0]} matches none of the allowed forms ({best.message})"
        elif err.validator == "additionalProperties":
            msg = f"{err.message} (allowed: {', '.join(sorted(err.schema.get('properties', {})))})"
        else:
            msg = err.message
        out.append(Problem(msg, file=name, row=line_of(lines, path), column=".".join(map(str, path)) or None))
    return out


def load_wave_config(path: str | Path) -> WaveConfig:
    """Read and check a wave config.

    Parameters
    ----------
    path : str or Path
        The YAML file.

    Returns
    -------
    WaveConfig
        With paths resolved against the config's folder.

    Raises
    ------
    ConfigError
        Every problem at once, each naming the file, line and key: YAML errors (see
        :mod:`irmodels.core.yamlio`), schema violations, input files that do not exist, an output
        folder that is an input or contains one, unknown model specs or frame scenarios.
    """
    p = Path(path).resolve()
    spec = load_yaml(p)
    name = str(path)
    text = p.read_text(encoding="utf-8-sig")
    if not isinstance(spec, dict):
        raise ConfigError([Problem("a wave config must be a YAML mapping (key: value lines)", file=name)])
    problems = _schema_problems(spec, name, text)
    if problems:
        raise ConfigError(problems)
    lines = key_lines(text)
    base = p.parent

    def resolve(v: str) -> Path:
        return (base / v).resolve()

    data = {k: (str(resolve(v)) if k in ("export", "mapping", "table") else v) for k, v in spec["data"].items()}
    frame = dict(spec["frame"]) if spec.get("frame") else None
    if frame and frame.get("file"):
        frame["file"] = str(resolve(frame["file"]))
    if frame is not None:
        n_src = sum(k in frame for k in ("file", "scenario", "scenarios"))
        if n_src != 1:
            problems.append(Problem("frame needs exactly one of file, scenario or scenarios", file=name,
                                    row=line_of(lines, ("frame",)), column="frame"))
        if ("scenario" in frame or "scenarios" in frame) and "total" not in frame:
            problems.append(Problem("a named frame scenario needs total: the number of departments invited in this "
                                    "wave (scenarios are shares; 2017's 1180 is never assumed)", file=name,
                                    row=line_of(lines, ("frame",)), column="frame.total"))
        scen = ([frame["scenario"]] if "scenario" in frame else []) + list(frame.get("scenarios", []))
        if scen:
            from irmodels.nonresponse.scenarios import SCENARIOS
            for s in scen:
                if s not in SCENARIOS:
                    problems.append(Problem(f"unknown frame scenario (known: {', '.join(sorted(SCENARIOS))})",
                                            file=name, row=line_of(lines, ("frame",)), column="frame.scenario", value=s))
    for k in ("export", "mapping", "table"):
        if k in data and not Path(data[k]).is_file():
            problems.append(Problem("file not found", file=name, row=line_of(lines, ("data", k)), column=f"data.{k}",
                                    value=spec["data"][k]))
    if frame and frame.get("file") and not Path(frame["file"]).is_file():
        problems.append(Problem("file not found", file=name, row=line_of(lines, ("frame", "file")), column="frame.file",
                                value=spec["frame"]["file"]))
    models = spec.get("models", {})
    if models is not False:
        models = {"specs": "all", "engines": ["statsmodels", "pymc"], "mcmc": {}, "missing": "drop",
                  "on_fail": "record", **(models or {})}
        if models["specs"] != "all":
            from irmodels.models.specs import SPECS
            known = {s.spec_id for s in SPECS}
            for s in models["specs"]:
                if s not in known:
                    problems.append(Problem(f"unknown model spec (known: {', '.join(sorted(known))})", file=name,
                                            row=line_of(lines, ("models", "specs")), column="models.specs", value=s))
    output = resolve(spec["output"])
    cfg = WaveConfig(path=p, wave=spec["wave"], output=output, data=data, year=spec.get("year"),
                     title=spec.get("title", ""), description=spec.get("description", ""), frame=frame,
                     invited=spec.get("invited"), models=None if models is False else models,
                     figures=spec.get("figures", True), seed=spec.get("seed", 1), raw=spec,
                     cache=resolve(spec["cache"]) if "cache" in spec else output / ".cache" / "models")
    if "outcomes" in spec:
        cfg.outcomes = {k: {"label": k, "threshold": 0.5, **(v or {})} for k, v in spec["outcomes"].items()}
    if "by" in spec:
        cfg.by = list(spec["by"])
    if "report" in spec:
        cfg.report_formats = list(spec["report"].get("formats", ["md", "html"]))
    for f in cfg.input_files():
        f = f.resolve()
        if f == output or output in f.parents:
            problems.append(Problem("the output folder contains an input file (outputs never overwrite inputs)",
                                    file=name, row=line_of(lines, ("output",)), column="output", value=str(f)))
    if re.search(r"(^|/)data/raw(/|$)", output.as_posix()):
        problems.append(Problem("the output folder is inside data/raw (raw inputs are never written)", file=name,
                                row=line_of(lines, ("output",)), column="output", value=spec["output"]))
    if problems:
        raise ConfigError(problems)
    return cfg
