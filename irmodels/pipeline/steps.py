"""The steps of a respondent-level wave's pipeline, each with declared inputs and outputs.

Every step reads its inputs from files (the config's inputs and earlier steps' outputs in the
wave's output folder) and returns its outputs as ``{relative path: DataFrame | Figure | str}``;
:func:`irmodels.pipeline.run.run_wave` writes them atomically, records their hashes and skips a
step whose inputs have not changed. A step never writes files itself.

=============  =========================================================================
step           outputs (under the wave's output folder)
=============  =========================================================================
``import``     ``tables/respondents.csv`` (validated), ``tables/import_report.csv``
``describe``   ``tables/descriptives.csv`` (Table 1: counts and % per variable)
``frame``      ``tables/frame_cells.csv``, ``tables/frame_check.csv``
``weight``     ``tables/weights.csv``, ``tables/weight_summary.csv``, ``tables/weight_margins.csv``
``prevalence`` ``tables/prevalence.csv`` (unweighted and frame-weighted, overall and by domain)
``bounds``     ``tables/bounds.csv`` (Manski), ``tables/tipping_point.csv`` (+ ``_curve``)
``models``     ``tables/model_results.csv``, ``tables/model_failures.csv``
``figures``    ``figures/*.pdf|png``
=============  =========================================================================
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from irmodels.pipeline.config import WaveConfig

__all__ = ["Step", "STEPS", "Context", "positive_indicator"]


@dataclass
class Context:
    """What a step sees: the config and a reader of earlier outputs."""

    cfg: WaveConfig
    progress: Callable[[str], None] = lambda msg: None

    def path(self, rel: str) -> Path:
        """Absolute path of an output of the wave."""
        return self.cfg.output / rel

    def table(self, rel: str) -> pd.DataFrame:
        """An earlier step's CSV output."""
        return pd.read_csv(self.path(rel), keep_default_na=False, na_values=[""])

    def respondents(self) -> pd.DataFrame:
        """The validated respondent table written by the ``import`` step."""
        from irmodels.data.importing import read_table

        return read_table(self.path("tables/respondents.csv"), extra="allow")


@dataclass(frozen=True)
class Step:
    """One pipeline step.

    Attributes
    ----------
    name : str
    needs : tuple of str
        Steps whose outputs it reads (they run first; if one failed, this one is skipped).
    config_keys : tuple of str
        Top-level config keys it depends on (part of its cache key).
    run : callable
        ``run(ctx) -> {relative path: DataFrame | Figure | str}``.
    applies : callable
        ``applies(cfg) -> None`` or the reason the step does not apply to this wave.
    """

    name: str
    needs: tuple[str, ...]
    config_keys: tuple[str, ...]
    run: Callable[[Context], dict[str, Any]]
    applies: Callable[[WaveConfig], str | None] = lambda cfg: None


def positive_indicator(data: pd.DataFrame, outcome: str, spec: dict[str, Any]) -> pd.Series:
    """Boolean (nullable) indicator of an outcome.

    The column itself when it is boolean; else membership in ``spec["positive"]``, or
    non-membership in ``spec["negative"]``. Missing answers stay ``<NA>`` (item non-response
    is never counted as negative). A category named in the config that the data never use is
    an error (a typo would otherwise silently give a prevalence of 0 or 1).
    """
    from irmodels.core.errors import ConfigError, Problem

    s = data[outcome]
    seen = set(s.dropna().astype(str))
    pos, neg = spec.get("positive"), spec.get("negative")
    if pos is None and neg is None:
        if not (pd.api.types.is_bool_dtype(s.dtype) or set(s.dropna().unique()) <= {True, False}):
            raise ConfigError([Problem("outcome is not boolean: give positive: or negative: [categories] in the "
                                       "wave config", column=f"outcomes.{outcome}", value=sorted(seen)[:8])])
        return s.astype("boolean")
    listed = {str(c) for c in (pos if pos is not None else neg)}
    unknown = sorted(listed - seen)
    if unknown:
        raise ConfigError([Problem(f"category never answered in this wave (answers: {', '.join(sorted(seen))})",
                                   column=f"outcomes.{outcome}", value=u) for u in unknown])
    hit = s.astype("string").isin(listed)
    ind = hit if pos is not None else ~hit
    return ind.astype("boolean").mask(s.isna())


# --------------------------------------------------------------------------------------------
# import / describe
# --------------------------------------------------------------------------------------------

def _import(ctx: Context) -> dict[str, Any]:
    from irmodels.data.importing import import_wave, read_table
    from irmodels.data.mapping import REPORT_COLUMNS

    d = ctx.cfg.data
    if "table" in d:
        table = read_table(d["table"], extra="allow")
        report = pd.DataFrame(columns=REPORT_COLUMNS)
    else:
        res = import_wave(d["export"], d["mapping"])
        table, report = res.table, res.report
    if "wave" in table.columns and table["wave"].astype(str).ne(ctx.cfg.wave).any():
        table = table.assign(wave=ctx.cfg.wave)
        report = pd.concat([report, pd.DataFrame([{"row": None, "column": "wave", "value": ctx.cfg.wave,
                                                   "action": "set", "reason": "wave id of the config"}])],
                           ignore_index=True)
    return {"tables/respondents.csv": table, "tables/import_report.csv": report}


def _describe(ctx: Context) -> dict[str, Any]:
    from irmodels.data.codebook import load_codebook
    from irmodels.published.descriptives import tabulate

    t = ctx.respondents()
    cb = load_codebook()
    kinds = {"bool", "category", "ordered"}
    variables = ["country"] + [v for v, spec in cb.items() if v in t.columns and spec.get("type") in kinds]
    rows = []
    for v in variables:
        tab = tabulate(t, v)
        order = [str(c["code"]) for c in cb.get(v, {}).get("categories", [])] or ["true", "false"]
        tab["_o"] = [order.index(c) if c in order else len(order) for c in tab["category"]]
        tab = tab.sort_values(["_o", "count", "category"], ascending=[True, False, True]).drop(columns="_o")
        tab.insert(0, "variable", v)
        tab["percent_of_answered"] = 100 * tab["count"] / tab["answered"].where(tab["answered"] > 0)
        rows.append(tab)
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "wave", ctx.cfg.wave)
    out["n_respondents"] = len(t)
    # numeric variables: the codebook's counts and any extra the wave's mapping declared
    def numeric(c: str) -> bool:  # extras are read back as text: numeric when every answer is a number
        if pd.api.types.is_bool_dtype(t[c]):
            return False
        x = t[c].dropna()
        return len(x) > 0 and pd.to_numeric(x.astype(str), errors="coerce").notna().all()

    num = [c for c in t.columns if c not in ("respondent_id", "wave") and c not in variables and numeric(c)]
    nrows = []
    for c in num:
        x = pd.to_numeric(t[c].dropna().astype(str)).astype(float)
        q = x.quantile([0.25, 0.5, 0.75]) if len(x) else pd.Series([np.nan] * 3, index=[0.25, 0.5, 0.75])
        nrows.append({"wave": ctx.cfg.wave, "variable": c, "source": "codebook" if c in cb else "mapping extra",
                      "answered": len(x), "missing": int(t[c].isna().sum()), "mean": x.mean(), "sd": x.std(),
                      "median": q[0.5], "q1": q[0.25], "q3": q[0.75], "min": x.min(), "max": x.max()})
    return {"tables/descriptives.csv": out, "tables/descriptives_numeric.csv": pd.DataFrame(nrows)}


# --------------------------------------------------------------------------------------------
# frame / weight
# --------------------------------------------------------------------------------------------

def _no_frame(cfg: WaveConfig) -> str | None:
    return None if cfg.frame else "no frame in the config: the wave is not weighted"


def _frame_table(cfg: WaveConfig, data: pd.DataFrame) -> tuple[pd.DataFrame, str, pd.DataFrame | None]:
    """(cells, scenario name, user frame or None); cells have the frame's own total."""
    from irmodels.nonresponse.frame import frame_cells
    from irmodels.nonresponse.frame_file import load_frame

    fr = cfg.frame or {}
    if fr.get("file"):
        countries = sorted(set(data["country"].dropna().astype(str)))
        user = load_frame(fr["file"], required_countries=countries)
        return frame_cells("user", frame=user), "user", user  # counts as given: the total is the frame's
    scen = fr.get("scenario") or fr["scenarios"][0]
    return frame_cells(scen, total=float(fr["total"])), scen, None


def _frame(ctx: Context) -> dict[str, Any]:
    from irmodels.nonresponse.frame_check import FrameContradictionWarning, check_frame
    from irmodels.nonresponse.frame_keys import region_of

    t = ctx.respondents()
    cells, scen, _ = _frame_table(ctx.cfg, t)
    cells = cells.assign(scenario=scen)
    with warnings.catch_warnings():  # every contradicting cell is a row of frame_check.csv (status)
        warnings.simplefilter("ignore", FrameContradictionWarning)
        chk = check_frame(cells, t)
    chk = chk.rename(columns={"n_respondents": "respondents"})
    keys = [k for k in ("country", "beds_class", "teaching") if k in chk.columns]
    chk = chk[[*keys, "N", "respondents"]].copy()
    chk["response_rate"] = chk["respondents"] / chk["N"].where(chk["N"] > 0)
    chk["status"] = np.where(chk["respondents"] > chk["N"] + 1e-9,
                             "contradicts: more respondents than frame units", "ok")
    chk.insert(1, "region", region_of(chk["country"].astype("string")).astype(str))
    return {"tables/frame_cells.csv": cells, "tables/frame_check.csv": chk}


def _weight(ctx: Context) -> dict[str, Any]:
    from irmodels.nonresponse.frame import frame_margins
    from irmodels.nonresponse.frame_keys import region_of
    from irmodels.nonresponse.weighting import COLLAPSE_BEDS_400, weight

    cfg, t = ctx.cfg, ctx.respondents()
    fr = cfg.frame or {}
    variables = tuple(fr.get("margins", ["region", "beds_class"]))
    _, scen, user = _frame_table(cfg, t)
    total = float(pd.to_numeric(user["N"]).sum()) if user is not None else float(fr["total"])
    d = t.assign(region=region_of(t["country"].astype("string")))
    margins = frame_margins(scen, frame=user, total=None if user is not None else total, variables=variables)
    rules = dict(COLLAPSE_BEDS_400) if fr.get("collapse_beds") else {}
    if fr.get("pool_countries"):
        rules["country"] = {"min_n": fr["pool_countries"], "into": "region"}
    res = weight(d, fr.get("method", "rake"), margins=margins, collapse=rules or None)
    ids = t["respondent_id"] if "respondent_id" in t.columns else pd.Series(np.arange(len(t)))
    w = pd.DataFrame({"respondent_id": ids.to_numpy(), "weight": res.weights.to_numpy()})
    s = res.diagnostics["summary"]
    summ = pd.DataFrame([{"wave": cfg.wave, "scenario": scen, "method": fr.get("method", "rake"),
                          "margins": "+".join(variables), "frame_total": total, **s,
                          "collapsed": "; ".join(f"{c['column']}: {c['merged']} -> {c['into']} (n={c['n']})"
                                                 for c in res.diagnostics["collapsed"]),
                          "flags": "; ".join(res.diagnostics.get("frame_below_sample", []))}])
    marg = res.diagnostics["margins"]
    marg = marg if marg is not None else pd.DataFrame()
    return {"tables/weights.csv": w, "tables/weight_summary.csv": summ, "tables/weight_margins.csv": marg}


# --------------------------------------------------------------------------------------------
# prevalence / bounds
# --------------------------------------------------------------------------------------------

def _with_weights(ctx: Context) -> tuple[pd.DataFrame, pd.Series]:
    from irmodels.nonresponse.frame_keys import region_of

    t = ctx.respondents()
    t = t.assign(region=region_of(t["country"].astype("string")))
    w = ctx.table("tables/weights.csv")
    if len(w) != len(t):
        from irmodels.core.errors import WeightingError
        raise WeightingError(f"weights.csv has {len(w)} rows for {len(t)} respondents: rerun the weight step")
    return t, pd.Series(w["weight"].to_numpy(), index=t.index)


def _prevalence(ctx: Context) -> dict[str, Any]:
    from irmodels.core.errors import DataDroppedWarning
    from irmodels.nonresponse.survey import weighted_prevalence

    cfg = ctx.cfg
    t, w = _with_weights(ctx)
    rows = []
    for outcome, o in cfg.outcomes.items():
        if outcome not in t.columns:
            continue
        y = positive_indicator(t, outcome, o)
        d = t.assign(_y=y)
        for by in [None, *[b for b in cfg.by if b in d.columns]]:
            for label, weights in (("unweighted", np.ones(len(d))), ("weighted", w.to_numpy())):
                with warnings.catch_warnings():  # item non-response is counted in the column n_missing
                    warnings.simplefilter("ignore", DataDroppedWarning)
                    r = weighted_prevalence(d, "_y", weights, by=by, method="logit", missing="exclude")
                r = r.assign(outcome=outcome, label=o.get("label", outcome), weighting=label,
                             by=by or "all", identification="identified" if label == "unweighted" else "assumption")
                rows.append(r)
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "wave", cfg.wave)
    if "term" in out.columns:
        out = out.drop(columns="term")
    return {"tables/prevalence.csv": out}


def _bounds(ctx: Context) -> dict[str, Any]:
    from irmodels.nonresponse.manski import manski_bounds
    from irmodels.nonresponse.sensitivity import tipping_point

    cfg = ctx.cfg
    t, w = _with_weights(ctx)
    summ = ctx.table("tables/weight_summary.csv")
    total = float(summ["frame_total"].iloc[0])
    invited = float(cfg.invited or total)
    mb, tp, curves = [], [], []
    for outcome, o in cfg.outcomes.items():
        if outcome not in t.columns:
            continue
        y = positive_indicator(t, outcome, o)
        d = t.assign(_y=y)
        m = manski_bounds(n_positive=int(y.sum()), n_answered=int(y.notna().sum()), frame_size=invited)
        mb.append(m.assign(outcome=outcome, term=outcome, invited=invited))
        res = tipping_point(d, "_y", w, threshold=float(o.get("threshold", 0.5)), frame_size=invited)
        tp.append({"outcome": outcome, **res.summary(), "frame_size": invited, "notes": " | ".join(res.notes)})
        curves.append(res.curve.assign(outcome=outcome))
    mbt = pd.concat(mb, ignore_index=True)
    mbt.insert(0, "wave", cfg.wave)
    tpt = pd.DataFrame(tp)
    tpt.insert(0, "wave", cfg.wave)
    return {"tables/bounds.csv": mbt, "tables/tipping_point.csv": tpt,
            "tables/tipping_point_curve.csv": pd.concat(curves, ignore_index=True)}


# --------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------

def _no_models(cfg: WaveConfig) -> str | None:
    return None if cfg.models is not None else "models: false in the config"


def _model_jobs(cfg: WaveConfig) -> list:
    from irmodels.models.specs import SPECS

    want = cfg.models["specs"]
    return [s for s in SPECS if want == "all" or s.spec_id in want]


def _models(ctx: Context) -> dict[str, Any]:
    from irmodels.core.errors import DataDroppedWarning, SeparationWarning
    from irmodels.models.specs import fit_all

    cfg, t = ctx.cfg, ctx.respondents()
    m = cfg.models
    mcmc = {"draws": 1000, "tune": 1000, "chains": 4, **m.get("mcmc", {})}
    opts = dict(missing=m["missing"], cache_dir=cfg.cache, on_fail="warn", **mcmc)
    parts, failures, notes = [], [], []
    jobs = [(s, e) for s in _model_jobs(cfg) for e in m["engines"] if e in s.engines]
    for i, (spec, engine) in enumerate(jobs, 1):
        ctx.progress(f"model {i}/{len(jobs)}: {spec.spec_id} ({engine})")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataDroppedWarning)
            warnings.simplefilter("ignore", SeparationWarning)  # reported per term in `note`
            try:
                tidy, _, skipped = fit_all(t, specs=[spec], engines=(engine,), seed=cfg.seed, **opts)
            except Exception as exc:  # a failing spec is recorded with its reason; the run goes on
                if m["on_fail"] == "raise":
                    raise
                failures.append({"spec_id": spec.spec_id, "engine": engine,
                                 "reason": f"failed: {type(exc).__name__}: {exc}"})
                continue
        notes += [f"{spec.spec_id} ({engine}): {w.message}" for w in caught if issubclass(w.category, DataDroppedWarning)]
        if len(tidy):
            parts.append(tidy)
        failures += skipped.to_dict("records")
    res = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["engine", "spec_id", "term"])
    res.insert(0, "wave", cfg.wave)
    res["identification"] = "identified"
    fail = pd.DataFrame(failures, columns=["spec_id", "engine", "reason"])
    fail = pd.concat([fail, pd.DataFrame({"spec_id": "", "engine": "", "reason": [f"rows dropped: {n}" for n in
                                                                                  dict.fromkeys(notes)]})],
                     ignore_index=True)
    return {"tables/model_results.csv": res, "tables/model_failures.csv": fail}


def _figures(ctx: Context) -> dict[str, Any]:
    from irmodels.pipeline.figures import wave_figures

    return wave_figures(ctx)


def _no_figures(cfg: WaveConfig) -> str | None:
    return None if cfg.figures else "figures: false in the config"


STEPS: list[Step] = [
    Step("import", (), ("data", "wave"), _import),
    Step("describe", ("import",), (), _describe),
    Step("frame", ("import",), ("frame",), _frame, _no_frame),
    Step("weight", ("import", "frame"), ("frame",), _weight, _no_frame),
    Step("prevalence", ("weight",), ("outcomes", "by"), _prevalence, _no_frame),
    Step("bounds", ("weight",), ("outcomes", "invited"), _bounds, _no_frame),
    Step("models", ("import",), ("models", "seed"), _models, _no_models),
    Step("figures", ("describe", "prevalence", "bounds", "models"), ("figures",), _figures, _no_figures),
]
