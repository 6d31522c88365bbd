"""2017 estimates as functions of assumption parameters stated as odds ratios.

The published 2017 aggregates fix one-way margins; they do not fix how hospital size,
teaching status or the chair's profile go together with 24/7 IR cover or with an all-male
IR staff (:mod:`irmodels.identification.bounds` gives the regions). Instead of drawing
reconstructions and pooling them (which mixes the spread an assumption creates with
sampling variance), every 2017 association is reported here **at fixed values of named
assumption parameters**, each an odds ratio a reader can judge:

* ``"<outcome>~<predictor>"``: the odds ratio of the outcome event per step of the
  predictor (one bed class up; teaching vs not; one step of the chair's involvement in IR,
  DR < DR_some_IR < DR_IR_equal < IR_mostly), among departments with an IR service;
* ``"<predictor>~<predictor>"``: the same between two predictors (e.g. teaching by size).

At fixed parameter values the **expected table** is the unique table with the published
margins and those odds ratios: the log-linear model with linear-by-linear interactions
(``log mu = sum_v lambda_v + sum_(u,v) theta_uv s_u s_v``, ``theta = log OR``, scores
``s`` = 0, 1, 2, ...) fitted to the margins by iterative proportional fitting (Deming &
Stephan 1940; Agresti 2013, sec. 10.5). Analysing it removes the replicate noise of random
reconstructions altogether (no Monte Carlo error), so an interval at a fixed parameter is a
sampling interval only (n = the departments that answered).

Structure that is not an association parameter: the departments without IR (R3-13; three,
in hospitals under 400 beds) have no 24/7 IR cover and no IR staff; they enter as fixed
cells (cover false; female IR share missing) and the odds ratios above are among the
departments with an IR service. Country (and so region) is not part of the 2017 joint
table: nothing links it to any other variable, so no 2017 result is produced by country or
region (docs/identification.md).
"""

from __future__ import annotations

import functools
import math
import os
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from irmodels.core.errors import Problem, SchemaError
from irmodels.identification.bounds import NA, _margins, bounds

__all__ = [
    "load_odds_ratios",
    "expected_table",
    "fit_expected",
    "association_curve",
    "coverage_curve",
    "assumption_grid",
    "round_table",
    "expected_respondents",
    "SCORES",
    "MODEL_PREDICTORS",
]

#: Score of each level in the linear-by-linear interactions (codebook order; the chair's
#: profile from least to most involvement in IR).
SCORES: dict[str, dict[str, float]] = {
    "beds_class": {"<200": 0.0, "200-399": 1.0, "400-799": 2.0, ">=800": 3.0},
    "teaching": {"false": 0.0, "true": 1.0},
    "chair_profile": {"DR": 0.0, "DR_some_IR": 1.0, "DR_IR_equal": 2.0, "IR_mostly": 3.0},
    "cover_24_7": {"false": 0.0, "true": 1.0},
}
#: The predictors of the paper's models (irmodels.models.specs.SPECS), in formula order.
MODEL_PREDICTORS: tuple[str, ...] = ("beds_class", "teaching", "chair_profile")
#: Binary events of the outcomes analysed for 2017: outcome -> (event levels, label).
OUTCOME_EVENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "cover_24_7": (("true",), "24/7 IR emergency cover"),
    "female_ir_share_class": (("1-25", ">25"), "at least one woman among the IRs"),
}
_TOL = 1e-11


# --------------------------------------------------------------------------- assumption parameters


def load_odds_ratios(assumptions: str | os.PathLike = "informed") -> pd.DataFrame:
    """The odds-ratio assumption parameters of an assumption set.

    Parameters
    ----------
    assumptions : str or path-like
        A shipped set (``"informed"``, ``"independent"``) or a YAML file with an
        ``odds_ratios`` list (fields ``parameter`` as ``"<target>~<predictor>"``,
        ``odds_ratio``, ``range`` [low, high], ``source``, ``note``).

    Returns
    -------
    pandas.DataFrame
        ``parameter``, ``target``, ``predictor``, ``odds_ratio`` (the set's value),
        ``range_low``, ``range_high`` (the plausible range a sensitivity curve spans),
        ``source``, ``note``, ``assumptions`` (the set's name).

    Raises
    ------
    SchemaError
        Listing every problem (unknown variables, non-positive odds ratios, a value outside
        its own range, unknown fields).
    """
    from irmodels.identification.reconstruction import shipped_assumption_sets

    if isinstance(assumptions, str) and assumptions in shipped_assumption_sets():
        return _shipped_odds_ratios(assumptions).copy()
    return _parse_odds_ratios(assumptions)


@functools.cache
def _shipped_odds_ratios(name: str) -> pd.DataFrame:
    """Parsed once per process: the shipped files are package data and do not change."""
    return _parse_odds_ratios(name)


def _parse_odds_ratios(assumptions: str | os.PathLike) -> pd.DataFrame:
    from irmodels.identification.reconstruction import shipped_assumption_sets

    if isinstance(assumptions, str) and assumptions in shipped_assumption_sets():
        where = f"assumption set {assumptions!r}"
        text = resources.files("irmodels.identification").joinpath("assumptions", f"{assumptions}.yaml").read_text(encoding="utf-8")
    else:
        path = Path(assumptions)
        where = str(path)
        if not path.is_file():
            raise SchemaError([Problem(f"not a shipped assumption set ({shipped_assumption_sets()}) nor an existing file",
                                       value=str(assumptions))], what="assumptions")
        text = path.read_text(encoding="utf-8")
    from irmodels.core.yamlio import load_yaml_text

    spec = load_yaml_text(text, where)  # YAML 1.2 scalars; duplicate keys, aliases, tags refused with lines
    if not isinstance(spec, dict):
        raise SchemaError([Problem("the file must be a YAML mapping", file=where)], what=where)
    items = spec.get("odds_ratios") or []
    problems: list[Problem] = []
    rows = []
    fields = {"parameter", "odds_ratio", "range", "source", "note"}
    if not isinstance(items, list):
        raise SchemaError([Problem("odds_ratios must be a list", file=where, column="odds_ratios")], what=where)
    for i, it in enumerate(items):
        row = f"odds_ratios[{i}]"
        if not isinstance(it, dict):
            problems.append(Problem("each entry must be a mapping", file=where, row=row))
            continue
        for f in it:
            if f not in fields:
                problems.append(Problem(f"unknown field; allowed: {sorted(fields)}", file=where, row=row, column=str(f)))
        for f in ("parameter", "odds_ratio", "range", "source"):
            if f not in it:
                problems.append(Problem(f"missing field {f!r}", file=where, row=row, column=f))
        par = str(it.get("parameter", ""))
        t, _, p = par.partition("~")
        valid = sorted(set(SCORES) | set(OUTCOME_EVENTS))
        for v, col in ((t, "target"), (p, "predictor")):
            if v not in valid:
                problems.append(Problem(f"{col} must be one of {valid}", file=where, row=row,
                                        column="parameter", value=par))
        orv, rng = it.get("odds_ratio"), it.get("range")
        ok_num = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 and math.isfinite(x)  # noqa: E731
        if not ok_num(orv):
            problems.append(Problem("odds_ratio must be a positive number", file=where, row=row, column="odds_ratio",
                                    value=orv))
        if not (isinstance(rng, list) and len(rng) == 2 and all(ok_num(x) for x in rng) and rng[0] < rng[1]):
            problems.append(Problem("range must be [low, high] with 0 < low < high", file=where, row=row,
                                    column="range", value=rng))
        elif ok_num(orv) and not rng[0] <= orv <= rng[1]:
            problems.append(Problem("odds_ratio must lie inside its range", file=where, row=row, column="odds_ratio",
                                    value=orv))
        if not problems:
            rows.append({"parameter": par, "target": t, "predictor": p, "odds_ratio": float(orv),
                         "range_low": float(rng[0]), "range_high": float(rng[1]),
                         "source": " ".join(str(it.get("source", "")).split()),
                         "note": " ".join(str(it.get("note", "")).split())})
    if problems:
        raise SchemaError(problems, what=where)
    out = pd.DataFrame(rows, columns=["parameter", "target", "predictor", "odds_ratio", "range_low", "range_high",
                                      "source", "note"])
    out["assumptions"] = spec.get("name", str(assumptions))
    return out


def assumption_grid(low: float, high: float, n: int = 25, *, include: Sequence[float] = (1.0,)) -> np.ndarray:
    """Odds ratios evenly spaced on the log scale from ``low`` to ``high``, plus ``include``.

    Parameters
    ----------
    low, high : float
        Ends of the grid (positive).
    n : int
        Number of log-spaced points.
    include : sequence of float
        Values always on the grid (default 1: no association), when inside ``[low, high]``.

    Returns
    -------
    numpy.ndarray
        Sorted unique odds ratios.
    """
    g = np.exp(np.linspace(math.log(low), math.log(high), n))
    extra = [x for x in include if low <= x <= high]
    return np.unique(np.round(np.concatenate([g, extra]), 12))


# --------------------------------------------------------------------------- the expected table


def _no_ir_cells(outcome: str, predictors: Sequence[str]) -> tuple[pd.DataFrame, float]:
    """The departments without IR as fixed (fractional) cells, and how many answered the outcome.

    Their sizes come from the published margins: R3-13 (three without IR), R3-14 (hospitals
    under 400 beds: split in proportion to the two bed classes' margins), R4-04/DIS-04 (two
    without procedures, one of them teaching; the third teaches in proportion to the margin),
    and the reconstruction's plausibility constraint that the chair of a department without
    IR works as a diagnostic radiologist.
    """
    from irmodels.identification.reconstruction import _margin, _stated

    m = _margins()
    n_no_ir = _margin("ir_share_class", "0")
    n_vol0, vol0_teach = _margin("procedure_volume_class", "0"), _stated("DIS-04")
    small = {b: m["beds_class"][b] for b in ("<200", "200-399")}
    dist: dict[str, dict[str, float]] = {
        "beds_class": {b: n_no_ir * c / sum(small.values()) for b, c in small.items()},
        "chair_profile": {"DR": float(n_no_ir)},
    }
    third = n_no_ir - n_vol0
    p_teach = m["teaching"]["true"] / (m["teaching"]["true"] + m["teaching"]["false"])
    dist["teaching"] = {"true": vol0_teach + third * p_teach, "false": n_vol0 - vol0_teach + third * (1 - p_teach)}
    grid = pd.MultiIndex.from_product([list(dist[p]) for p in predictors], names=list(predictors)).to_frame(index=False)
    w = np.ones(len(grid))
    for p in predictors:
        w *= grid[p].map(dist[p]).to_numpy(dtype=float) / n_no_ir
    grid["count"] = n_no_ir * w
    if outcome == "cover_24_7":  # plausibility: no IR service, no 24/7 IR cover
        grid["event"] = False
        answered = float(n_no_ir)
    else:  # female IR share: not answered by departments without IRs (published: 90 answers)
        grid["event"] = pd.NA
        answered = 0.0
    grid["ir_service"] = False
    return grid, answered


def _check_outcome(outcome: str, predictors: Sequence[str]) -> None:
    problems = []
    if outcome not in OUTCOME_EVENTS:
        problems.append(Problem(f"outcome must be one of {sorted(OUTCOME_EVENTS)}", column="outcome", value=outcome))
    for p in predictors:
        if p not in MODEL_PREDICTORS:
            problems.append(Problem(f"predictor must be one of {list(MODEL_PREDICTORS)}", column="predictors", value=p))
    if len(set(predictors)) != len(predictors) or not predictors:
        problems.append(Problem("predictors must be distinct and non-empty", column="predictors", value=list(predictors)))
    if problems:
        raise SchemaError(problems, what="expected_table")


def expected_table(outcome: str, predictors: Sequence[str] = MODEL_PREDICTORS,
                   odds_ratios: Mapping[str, float] | None = None, *, margins: Mapping[str, Mapping[str, float]] | None = None,
                   structure: bool = True, max_iter: int = 10_000) -> pd.DataFrame:
    r"""The 2017 table implied by the published margins and fixed odds-ratio parameters.

    Parameters
    ----------
    outcome : {"cover_24_7", "female_ir_share_class"}
        The outcome; its binary event is :data:`OUTCOME_EVENTS` (24/7 cover; at least one
        woman among the IRs).
    predictors : sequence of str
        Some of :data:`MODEL_PREDICTORS`.
    odds_ratios : mapping, optional
        ``{"<u>~<v>": odds ratio}`` for any pair among the outcome and predictors (either
        order); pairs not given are 1 (no association). The outcome's name stands for its
        binary event.
    margins : mapping, optional
        One-way margins ``{variable: {level: count, "<NA>": missing}}`` to use instead of
        the published 2017 ones (e.g. margins published by a simulated survey; the
        variables' levels are those of :data:`SCORES`).
    structure : bool
        Add the 2017 departments without IR as fixed cells (default True; needs the 2017
        margins).

    Returns
    -------
    pandas.DataFrame
        One row per cell: the predictors (strings), ``event`` (True/False; ``<NA>`` for
        departments that did not answer), ``ir_service`` (False for the departments
        without IR), ``count`` (expected number of departments, fractional). The counts
        reproduce every published margin of the variables (to 1e-9), and the
        linear-by-linear log odds ratio of each pair among departments with IR equals the
        given value.

    Raises
    ------
    SchemaError
        Unknown outcome, predictors or parameters.

    Notes
    -----
    Departments with IR that did not answer the outcome (1 for 24/7 cover, 5 for the
    female IR share) are spread over the predictor cells in proportion to the margins
    (missing completely at random among them; 1-5 departments of 98). IPF from the seed
    :math:`\exp(\sum_{u<v}\theta_{uv}s_u s_v)` to the one-way margins converges to the
    maximum-likelihood fit of the log-linear model with those interactions fixed.
    """
    odds_ratios = dict(odds_ratios or {})
    _check_outcome(outcome, predictors)
    names = list(predictors) + [outcome]
    bad = []
    for key, v in odds_ratios.items():
        u, _, w = str(key).partition("~")
        if u not in names or w not in names or u == w:
            bad.append(Problem(f"parameter must name two of {names} as 'u~v'", column="odds_ratios", value=key))
        elif not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
            bad.append(Problem("odds ratio must be a positive finite number", column=str(key), value=v))
    if bad:
        raise SchemaError(bad, what="expected_table")
    m = _margins() if margins is None else {k: dict(v) for k, v in margins.items()}
    events, _ = OUTCOME_EVENTS[outcome]
    if structure:
        if margins is not None:
            raise SchemaError([Problem("structure=True uses the 2017 departments without IR; pass structure=False "
                                       "with your own margins", column="structure", value=structure)],
                              what="expected_table")
        no_ir, no_ir_answered = _no_ir_cells(outcome, predictors)
    else:
        no_ir = pd.DataFrame(columns=[*predictors, "count", "event", "ir_service"])
        no_ir_answered = 0.0
    n_no_ir = float(no_ir["count"].sum())
    # margins among departments with IR that answered the outcome
    y_m = m[outcome]
    n_event = float(sum(v for k, v in y_m.items() if k in events))
    n_answer = float(sum(v for k, v in y_m.items() if k != NA))
    n_ir_answer = n_answer - no_ir_answered
    ev_ir = n_event  # no department without IR has the event
    targets: dict[str, dict[str, float]] = {}
    for p in predictors:
        fixed = no_ir.groupby(p)["count"].sum() if len(no_ir) else pd.Series(dtype=float)
        rest = {lv: m[p].get(lv, 0.0) - fixed.get(lv, 0.0) for lv in SCORES[p]}
        tot = sum(rest.values())
        targets[p] = {lv: c * n_ir_answer / tot for lv, c in rest.items()}
    targets[outcome] = {"true": ev_ir, "false": n_ir_answer - ev_ir}
    levels = [list(SCORES[p]) for p in predictors] + [["false", "true"]]
    cells = pd.MultiIndex.from_product(levels, names=names).to_frame(index=False)
    score = {v: cells[v].map(SCORES[v] if v != outcome else {"false": 0.0, "true": 1.0}).to_numpy(dtype=float)
             for v in names}
    logseed = np.zeros(len(cells))
    for key, v in odds_ratios.items():
        u, _, w = key.partition("~")
        logseed += math.log(v) * score[u] * score[w]
    mu = np.exp(logseed - logseed.max())
    idx = {v: cells[v].to_numpy() for v in names}
    for _ in range(max_iter):
        worst = 0.0
        for v in names:
            for lv, target in targets[v].items():
                sel = idx[v] == lv
                cur = mu[sel].sum()
                worst = max(worst, abs(cur - target))
                if cur > 0:
                    mu[sel] *= target / cur
        if worst < _TOL * n_ir_answer:
            break
    else:  # pragma: no cover - IPF to one-way margins from a positive seed always converges
        raise RuntimeError("iterative proportional fitting did not converge")
    out = cells[list(predictors)].copy()
    out["event"] = cells[outcome].eq("true").astype("boolean")
    out["ir_service"] = True
    out["count"] = mu
    # the departments with IR that did not answer: MCAR within the IR departments
    n_miss_ir = float(y_m.get(NA, 0)) - (n_no_ir - no_ir_answered)
    if n_miss_ir > 0:
        miss = out.groupby(list(predictors), as_index=False)["count"].sum()
        miss["count"] *= n_miss_ir / miss["count"].sum()
        miss["event"] = pd.array([pd.NA] * len(miss), dtype="boolean")
        miss["ir_service"] = True
        out = pd.concat([out, miss[out.columns]], ignore_index=True)
    if len(no_ir):
        no_ir = no_ir.copy()
        no_ir["event"] = no_ir["event"].astype("boolean")
        out = pd.concat([out, no_ir[out.columns]], ignore_index=True)
    out.attrs.update({"outcome": outcome, "odds_ratios": odds_ratios, "events": list(events)})
    return out


# --------------------------------------------------------------------------- estimates at fixed parameters


def fit_expected(table: pd.DataFrame, predictors: Sequence[str] = MODEL_PREDICTORS, *, level: float = 0.95,
                 ir_service_only: bool = True) -> pd.DataFrame:
    """Logistic regression of the event on the predictors, on an expected table.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`expected_table`.
    predictors : sequence of str
        Terms of the model (categorical, codebook reference level first).
    level : float
        Level of the Wald intervals.
    ir_service_only : bool
        Fit among departments with an IR service (default; the association parameters are
        defined there).

    Returns
    -------
    pandas.DataFrame
        ``term`` (formula names, e.g. ``beds_class[T.>=800]``), ``estimate`` (log odds
        ratio), ``std_error``, ``lower``, ``upper``, ``n`` (departments the fit rests on).

    Notes
    -----
    Frequency weights equal to the expected counts: the point estimates are those of
    every dataset whose table equals the expected one, and the standard errors are the
    sampling standard errors of ``n`` departments with that table (no Monte Carlo error,
    nothing added for the assumption).
    """
    import statsmodels.api as sm

    d = table[table["event"].notna()]
    if ir_service_only:
        d = d[d["ir_service"]]
    d = d[d["count"] > 0]
    X = pd.DataFrame(index=d.index)
    X["Intercept"] = 1.0
    for p in predictors:
        levels = list(SCORES[p])
        if p == "teaching":
            X["teaching"] = (d[p] == "true").astype(float)
            continue
        for lv in levels[1:]:
            X[f"{p}[T.{lv}]"] = (d[p] == lv).astype(float)
    y = d["event"].astype(bool).astype(float)
    res = sm.GLM(y.to_numpy(), X.to_numpy(), family=sm.families.Binomial(),
                 freq_weights=d["count"].to_numpy()).fit(tol=1e-12, maxiter=200)
    z = stats.norm.ppf(0.5 + level / 2)
    est, se = np.asarray(res.params), np.asarray(res.bse)
    return pd.DataFrame({"term": list(X.columns), "estimate": est, "std_error": se, "lower": est - z * se,
                         "upper": est + z * se, "n": float(d["count"].sum())})


def _marginal_contrast(table: pd.DataFrame, predictor: str, level: str, reference: str) -> dict[str, float]:
    d = table[table["event"].notna()]
    g = d.groupby(predictor)
    tot = g["count"].sum()
    ev = d[d["event"].astype(bool)].groupby(predictor)["count"].sum().reindex(tot.index, fill_value=0.0)
    p1, p0 = ev[level] / tot[level], ev[reference] / tot[reference]
    return {"risk_difference": p1 - p0, "odds_ratio": (p1 / (1 - p1)) / (p0 / (1 - p0))}


def association_curve(outcome: str, predictor: str, grid: Sequence[float] | None = None,
                      assumptions: str | os.PathLike = "informed", *, predictors: Sequence[str] = MODEL_PREDICTORS,
                      level: float = 0.95) -> pd.DataFrame:
    """Regression terms of one predictor as a function of its assumption parameter.

    Parameters
    ----------
    outcome : {"cover_24_7", "female_ir_share_class"}
    predictor : str
        One of ``predictors``; the curve's parameter is ``"<outcome>~<predictor>"``.
    grid : sequence of float, optional
        Odds ratios (default: :func:`assumption_grid` over the set's range for the
        parameter, 0.25-4 when the set has none).
    assumptions : str or path-like
        Assumption set giving the other parameters' values (:func:`load_odds_ratios`).
    predictors : sequence of str
        The model's terms (default: the paper's).
    level : float

    Returns
    -------
    pandas.DataFrame
        One row per grid value x term of ``predictor``: ``outcome``, ``event``,
        ``parameter``, ``assumption_value`` (the odds ratio assumed), ``assumptions``,
        ``other_parameters`` (the fixed values of the others), ``term``, ``estimate``,
        ``std_error``, ``lower``, ``upper`` (log odds ratio; a sampling interval at the
        fixed value), ``n``, ``marginal_or`` and ``marginal_rd`` (the level vs the
        reference among all answering departments), ``region_lower``, ``region_upper``
        (the identification region of that marginal odds ratio, published facts),
        ``inside_region``, ``identification`` (``"assumption (<parameter> = value)"``).
        No ``df``, ``fmi`` or between-replicate variance: nothing here is pooled.
    """
    _check_outcome(outcome, predictors)
    if predictor not in predictors:
        raise SchemaError([Problem(f"predictor must be one of {list(predictors)}", column="predictor",
                                   value=predictor)], what="association_curve")
    ors = load_odds_ratios(assumptions)
    name = str(ors["assumptions"].iloc[0]) if len(ors) else str(assumptions)
    keep = {r.parameter: r.odds_ratio for r in ors.itertuples()
            if {r.target, r.predictor} <= set(predictors) | {outcome}}
    par = f"{outcome}~{predictor}"
    row = ors[ors["parameter"] == par]
    if grid is None:
        lo, hi = (float(row["range_low"].iloc[0]), float(row["range_high"].iloc[0])) if len(row) else (0.25, 4.0)
        grid = assumption_grid(lo, hi)
    others = {k: v for k, v in keep.items() if k != par}
    b = bounds(predictor, outcome).query("scale == 'odds_ratio'")
    events, ev_label = OUTCOME_EVENTS[outcome]
    levels = list(SCORES[predictor])
    rows = []
    for val in grid:
        tab = expected_table(outcome, predictors, {**others, par: float(val)})
        fit = fit_expected(tab, predictors, level=level)
        for lv in levels[1:]:
            term = predictor if predictor == "teaching" else f"{predictor}[T.{lv}]"
            r = fit[fit["term"] == term].iloc[0]
            mc = _marginal_contrast(tab, predictor, lv, levels[0])
            contrast = f"{predictor}: {lv} vs {levels[0]}"
            reg = b[b["contrast"] == contrast]
            if outcome == "female_ir_share_class":  # the event is "not 0": the region of class 0, inverted
                reg = b[(b["contrast"] == contrast) & (b["event"] == "0")]
                rlo, rhi = (1 / reg["upper"].iloc[0] if reg["upper"].iloc[0] > 0 else math.inf,
                            1 / reg["lower"].iloc[0] if reg["lower"].iloc[0] > 0 else math.inf)
            else:
                rlo, rhi = float(reg["lower"].iloc[0]), float(reg["upper"].iloc[0])
            rows.append({
                "outcome": outcome, "event": ev_label, "parameter": par, "assumption_value": float(val),
                "assumptions": name, "other_parameters": "; ".join(f"{k}={v:g}" for k, v in sorted(others.items())),
                "term": term, "estimate": r["estimate"], "std_error": r["std_error"], "lower": r["lower"],
                "upper": r["upper"], "n": r["n"], "marginal_or": mc["odds_ratio"], "marginal_rd": mc["risk_difference"],
                "region_lower": rlo, "region_upper": rhi,
                "inside_region": bool(rlo - 1e-9 <= mc["odds_ratio"] <= rhi + 1e-9),
                "identification": f"assumption ({par} = {float(val):.3g})",
            })
    return pd.DataFrame(rows)


def coverage_curve(frame_shares: Mapping[str, float], frame_size: float, grid: Sequence[float] | None = None,
                   assumptions: str | os.PathLike = "informed", *, outcome: str = "cover_24_7",
                   threshold: float = 0.5, level: float = 0.95, margins: Mapping[str, Mapping[str, float]] | None = None,
                   structure: bool = True) -> pd.DataFrame:
    r"""Frame-wide prevalence (24/7 IR cover by default) as a function of the size odds ratio.

    Parameters
    ----------
    frame_shares : mapping
        Share of the invited departments in each bed class (a frame scenario's
        ``beds_class`` margin, normalised here).
    frame_size : float
        Number of invited departments.
    grid : sequence of float, optional
        Values of ``<outcome>~beds_class`` (default: the set's range).
    assumptions : str or path-like
        Values of the other parameters.
    outcome : {"cover_24_7", "female_ir_share_class"}
        The event of :data:`OUTCOME_EVENTS`; for the female IR share the estimate is over
        departments with IR staff (the three without IR did not answer it).
    threshold : float
        Prevalence of the tipping point (default 0.5).
    level : float
    margins, structure
        As in :func:`expected_table` (default: the published 2017 margins and the 2017
        departments without IR).

    Returns
    -------
    pandas.DataFrame
        One row per grid value: ``outcome``, ``parameter``, ``assumption_value``, ``assumptions``,
        ``estimate`` (frame-wide, predicted by bed class: MAR within bed class),
        ``std_error``, ``lower``, ``upper`` (logit interval; sampling only),
        ``respondent_share`` (identified, e.g. 60/97 for 24/7 cover; the same on every row),
        ``tipping_or`` (the odds ratio of cover between non-respondents and comparable
        respondents at which the frame-wide estimate reaches ``threshold``),
        ``tipping_or_upper`` (the same for the upper interval limit),
        ``identification``.

    Raises
    ------
    SchemaError
        A bed class without answering departments, or a frame scenario with fewer
        departments than answering respondents in a bed class (it contradicts the data).

    Notes
    -----
    :math:`\hat\theta(\psi) = (y + \sum_b (N_b - n_b)\,\hat p_b(\psi))/N`: the respondents' own
    answers plus, for the frame's other :math:`N_b - n_b` departments of bed class :math:`b`
    (:math:`N_b = W_b N`, :math:`W_b` the frame share), the share with the event among
    answering departments of that class in the expected table at :math:`\psi` (MAR within bed
    class). At a fixed :math:`\psi` the class prevalences share one free parameter
    :math:`\alpha` (the event's main effect), so
    :math:`\widehat V = (\sum_b \tfrac{N_b - n_b}{N} \tfrac{n^{IR}_b}{n_b} p^{IR}_b q^{IR}_b)^2 /
    \sum_b n^{IR}_b p^{IR}_b q^{IR}_b + \sum_b (N_b - n_b) p_b q_b / N^2` (delta method for
    :math:`\hat\alpha`, plus the Bernoulli variance of the predicted departments;
    :math:`n^{IR}_b`, :math:`p^{IR}_b` over departments with IR). A class-by-class
    post-stratification variance :math:`\sum_b W_b^2 p_b q_b / n_b` ignores that the classes
    share :math:`\alpha`; it was twice too wide in the 2017-shaped simulation study
    (irmodels.studies.identification_coverage). Tipping point by :func:`irmodels.nonresponse.sensitivity.delta_adjusted` (as
    :func:`irmodels.nonresponse.sensitivity.tipping_point` without a model): non-respondents' MAR prevalence :math:`\mu_0 = (N\hat\theta - y)/(N-n)` shifted by
    :math:`\delta` on the logit scale reaches ``threshold`` at
    :math:`\delta^* = \mathrm{logit}((tN - y)/(N-n)) - \mathrm{logit}\,\mu_0`; reported as
    :math:`e^{\delta^*}`.
    """
    from irmodels.nonresponse.sensitivity import delta_adjusted

    ors = load_odds_ratios(assumptions)
    name = str(ors["assumptions"].iloc[0]) if len(ors) else str(assumptions)
    _check_outcome(outcome, ("beds_class",))
    par = f"{outcome}~beds_class"
    keep = {r.parameter: r.odds_ratio for r in ors.itertuples()
            if {r.target, r.predictor} <= {outcome, "beds_class"}}
    row = ors[ors["parameter"] == par]
    if grid is None:
        lo, hi = (float(row["range_low"].iloc[0]), float(row["range_high"].iloc[0])) if len(row) else (0.25, 4.0)
        grid = assumption_grid(lo, hi)
    shares = pd.Series({b: float(frame_shares[b]) for b in SCORES["beds_class"]})
    W = shares / shares.sum()
    m = (_margins() if margins is None else margins)[outcome]
    events, ev_label = OUTCOME_EVENTS[outcome]
    y = float(sum(v for k, v in m.items() if k in events))
    n = float(sum(v for k, v in m.items() if k != NA))
    N = float(frame_size)
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for val in grid:
        tab = expected_table(outcome, ("beds_class",), {**{k: v for k, v in keep.items() if k != par}, par: val},
                             margins=margins, structure=structure)
        d = tab[tab["event"].notna()]
        nb = d.groupby("beds_class")["count"].sum().reindex(W.index)
        if nb.isna().any() or (nb <= 0).any():
            raise SchemaError([Problem("no answering department in this bed class: its frame share cannot be "
                                       "post-stratified (collapse bed classes first)", column="beds_class",
                                       value=list(nb.index[nb.isna() | (nb <= 0)]))], what="coverage_curve")
        pb = d[d["event"].astype(bool)].groupby("beds_class")["count"].sum().reindex(W.index, fill_value=0.0) / nb
        Nb = W * N
        if (Nb < nb - 1e-9).any():
            raise SchemaError([Problem("the frame scenario has fewer departments than answering respondents in this "
                                       "bed class: it contradicts the data", column="beds_class",
                                       value={b: (round(float(Nb[b]), 1), round(float(nb[b]), 1))
                                              for b in W.index if Nb[b] < nb[b] - 1e-9})], what="coverage_curve")
        # prediction estimator: the respondents' own answers plus, for the frame's other departments,
        # the prevalence of their bed class (MAR within bed class)
        est = float((y + ((Nb - nb) * pb).sum()) / N)
        # at a fixed odds ratio the bed-class prevalences share ONE free parameter alpha (the event's
        # main effect, fitted to the published count); its information is sum n_b p_b q_b over
        # departments with IR. Var = (d est / d alpha)^2 / I(alpha) + the Bernoulli variance of the
        # departments whose answers are predicted.
        ir = d[d["ir_service"].astype(bool)]
        nb_ir = ir.groupby("beds_class")["count"].sum().reindex(W.index, fill_value=0.0)
        pb_ir = (ir[ir["event"].astype(bool)].groupby("beds_class")["count"].sum().reindex(W.index, fill_value=0.0)
                 / nb_ir.where(nb_ir > 0))
        pq_ir = (pb_ir * (1 - pb_ir)).fillna(0.0)
        grad = float(((Nb - nb) / N * nb_ir / nb * pq_ir).sum())
        info = float((nb_ir * pq_ir).sum())
        var_model = grad**2 / info if info > 0 else 0.0
        var_pred = float(((Nb - nb) * pb * (1 - pb)).sum()) / N**2
        se = math.sqrt(var_model + var_pred)
        lg, sl = math.log(est / (1 - est)), se / (est * (1 - est))
        lo_, hi_ = 1 / (1 + math.exp(-(lg - z * sl))), 1 / (1 + math.exp(-(lg + z * sl)))
        tp = delta_adjusted(est, se, y, n, N, threshold=threshold, deltas=np.array([0.0]), level=level)
        tip = math.exp(tp.delta_star) if tp.delta_star is not None else math.nan
        tip_up = math.exp(tp.delta_star_upper) if tp.delta_star_upper is not None else math.nan
        rows.append({"outcome": outcome, "event": ev_label, "parameter": par, "assumption_value": float(val), "assumptions": name, "estimate": est,
                     "std_error": se, "lower": lo_, "upper": hi_, "respondent_share": y / n, "tipping_or": tip,
                     "tipping_or_upper": tip_up,
                     "threshold": threshold, "frame_size": N,
                     "identification": f"assumption ({par} = {float(val):.3g}; frame scenario; MAR within bed class)"})
    return pd.DataFrame(rows)


def round_table(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Controlled rounding of an expected table to integers with the same one-way margins.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`expected_table` (column ``count``, fractional; the one-way margins
        of every column in ``by`` are integers, as the published ones are).
    by : sequence of str
        The columns whose one-way margins must be kept exactly (e.g. the predictors,
        ``event`` and ``ir_service``).

    Returns
    -------
    pandas.DataFrame
        The same cells with an integer ``count``: each cell is its expected count rounded
        down or up (``|n - mu| < 1``), every one-way margin of ``by`` equals the expected
        table's (rounded to the nearest integer), and the total absolute deviation
        ``sum |n - mu|`` is the smallest possible (a mixed-integer programme; Cox 1987).

    Raises
    ------
    SchemaError
        If a one-way margin of ``by`` is not (within 1e-6) an integer.

    References
    ----------
    Cox LH (1987). A constructive procedure for unbiased controlled rounding.
    *J Am Stat Assoc* 82:520-524.
    """
    from scipy import optimize, sparse

    t = table.reset_index(drop=True).copy()
    mu = t["count"].to_numpy(dtype=float)
    lo, hi = np.floor(mu + 1e-9), np.ceil(mu - 1e-9)
    rows, tl, th = [], [], []
    problems = []
    for col in by:
        key = t[col].astype(object).where(t[col].notna(), NA).astype(str)
        for lv in key.unique():
            sel = (key == lv).to_numpy()
            m = mu[sel].sum()
            if abs(m - round(m)) > 1e-6:
                problems.append(Problem("one-way margin is not an integer", column=str(col), value=f"{lv}: {m:.6f}"))
            rows.append(sel.astype(float))
            tl.append(round(m))
            th.append(round(m))
    if problems:
        raise SchemaError(problems, what="round_table")
    n = len(mu)
    # variables: n cells + n deviations d >= |x - mu|
    A = sparse.hstack([sparse.csr_array(np.vstack(rows)), sparse.csr_array((len(rows), n))])
    eye = sparse.identity(n, format="csr")
    dev_pos = sparse.hstack([eye, -eye])  # x - d <= mu
    dev_neg = sparse.hstack([-eye, -eye])  # -x - d <= -mu
    cons = [optimize.LinearConstraint(A, tl, th),
            optimize.LinearConstraint(dev_pos, -np.inf, mu), optimize.LinearConstraint(dev_neg, -np.inf, -mu)]
    c = np.concatenate([np.zeros(n), np.ones(n)])
    bounds = optimize.Bounds(np.concatenate([lo, np.zeros(n)]), np.concatenate([hi, np.full(n, np.inf)]))
    res = optimize.milp(c, constraints=cons, integrality=np.concatenate([np.ones(n), np.zeros(n)]), bounds=bounds)
    if res.x is None:  # pragma: no cover - a rounding with these margins always exists for 2-way-free margins
        raise RuntimeError(f"controlled rounding failed: {res.message}")
    t["count"] = np.round(res.x[:n]).astype(int)
    return t


def expected_respondents(outcome: str, predictors: Sequence[str] = MODEL_PREDICTORS,
                         odds_ratios: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Respondent-level 2017 rows at fixed odds-ratio parameters (the rounded expected table).

    Parameters
    ----------
    outcome, predictors, odds_ratios
        As in :func:`expected_table`.

    Returns
    -------
    pandas.DataFrame
        98 rows, one per department: the predictors, the outcome's ``event`` (boolean with
        ``<NA>`` for departments that did not answer) and ``ir_service``. Every published
        one-way margin of these variables is reproduced exactly and every cell count
        differs from the expected table's by less than 1 (controlled rounding,
        :func:`round_table`), so the associations are the assumed ones up to rounding.
        Deterministic: the same parameters give the same rows.

    Notes
    -----
    Plausible respondent-level data at a fixed assumption, e.g. for teaching or for
    software that needs rows. With 98 departments some cells hold 0 or 1 department, so a
    regression on these rows can separate; estimates at a fixed assumption come from the
    expected table itself (:func:`fit_expected`).
    """
    tab = expected_table(outcome, predictors, odds_ratios)
    r = round_table(tab, [*predictors, "event", "ir_service"])
    r = r[r["count"] > 0]
    out = r.loc[r.index.repeat(r["count"])].drop(columns="count").reset_index(drop=True)
    out["event"] = out["event"].astype("boolean")
    out.attrs.update(tab.attrs)
    return out
