"""The identification coverage study's estimates and checks of one simulated published survey.

For one :class:`~irmodels.studies.identification_coverage_simulate.PublishedSurvey`: the exact
identification regions of two associations from the margins alone against the respondents'
true values (:func:`_region_checks`), the identified share and the Manski bound
(:func:`_identified_checks`), the post-stratified prevalence at the true odds ratio
(:func:`_poststrat`), the regression on the expected table (:func:`_regression`) and the
respondent-level ML benchmark with separation detected by linear programming
(:func:`_respondent_ml`). See :mod:`irmodels.studies.identification_coverage`.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import optimize

from irmodels.studies.identification_coverage_simulate import BEDS, PublishedSurvey

# --------------------------------------------------------------------------- estimates


def _contrast(x1: float, d1: float, x0: float, d0: float) -> tuple[float, float]:
    """Risk difference and odds ratio (inf when a denominator cell is empty; NaN when 0/0)."""
    if d1 == 0 or d0 == 0:
        return math.nan, math.nan
    rd = x1 / d1 - x0 / d0
    num, den = x1 * (d0 - x0), (d1 - x1) * x0
    if den == 0:
        return rd, (math.inf if num > 0 else math.nan)
    return rd, num / den


def _inside(v: float, lo: float, hi: float, tol: float = 1e-9) -> float:
    """1.0/0.0 whether ``v`` lies in ``[lo, hi]`` (relative tolerance for odds ratios); NaN when undefined."""
    if math.isnan(v):
        return math.nan
    if math.isinf(v):
        return float(math.isinf(hi) and v > 0 or math.isinf(lo) and v < 0)
    t = tol * max(1.0, abs(v))
    return float(lo - t <= v <= hi + t)


def _region_checks(s: PublishedSurvey) -> dict[str, float]:
    from irmodels.identification.bounds import _contrast_bounds, _Pair

    out: dict[str, float] = {}
    a = s.frame[s.frame["answered"]]
    y = a["cover_24_7"].to_numpy()
    for name, pred, s1, s0, g1, g0 in (
        ("beds", "beds_class", {">=800"}, {"<200"}, (a["beds_class"] == ">=800").to_numpy(),
         (a["beds_class"] == "<200").to_numpy()),
        ("teaching", "teaching", {"true"}, {"false"}, a["teaching"].to_numpy(), ~a["teaching"].to_numpy()),
    ):
        rd, orr = _contrast(float(y[g1].sum()), float(g1.sum()), float(y[g0].sum()), float(g0.sum()))
        p = _Pair(pred, "cover_24_7", "published", margins=s.margins, groups=(), joint={})
        b = _contrast_bounds(p, s1, s0, {"true"})
        # a region is empty (inf, -inf) only when a compared group has no answering department
        rd_lo, rd_hi = (b["rd_lower"], b["rd_upper"]) if b["rd_lower"] <= b["rd_upper"] else (math.nan, math.nan)
        or_lo, or_hi = (b["or_lower"], b["or_upper"]) if b["or_lower"] <= b["or_upper"] else (math.nan, math.nan)
        out.update({
            f"region_rd_{name}_true": rd, f"region_rd_{name}_lower": rd_lo, f"region_rd_{name}_upper": rd_hi,
            f"region_rd_{name}_inside": _inside(rd, rd_lo, rd_hi) if not math.isnan(rd_lo) or math.isnan(rd)
            else 0.0,
            f"region_or_{name}_true": orr, f"region_or_{name}_lower": or_lo, f"region_or_{name}_upper": or_hi,
            f"region_or_{name}_inside": _inside(orr, or_lo, or_hi) if not math.isnan(or_lo) or math.isnan(orr)
            else 0.0,
        })
    return out


def _identified_checks(s: PublishedSurvey) -> dict[str, float]:
    from irmodels.nonresponse.manski import manski_bounds

    m = s.margins["cover_24_7"]
    y, n = m["true"], m["true"] + m["false"]
    a = s.frame[s.frame["answered"]]
    share_true = float(a["cover_24_7"].mean()) if len(a) else math.nan
    share_pub = y / n if n else math.nan
    prev = float(s.frame["cover_24_7"].mean())
    mb = manski_bounds(n_positive=y, n_answered=n, frame_size=s.design["n_frame"]).iloc[0]
    return {
        "frame_prevalence": prev, "share_published": share_pub, "share_true": share_true,
        "share_exact": math.nan if n == 0 else float(abs(share_pub - share_true) < 1e-12),
        "manski_lower": float(mb["lower"]), "manski_upper": float(mb["upper"]),
        "manski_contains": _inside(prev, float(mb["lower"]), float(mb["upper"]), tol=1e-12),
    }


def _poststrat(s: PublishedSurvey, level: float) -> dict[str, float]:
    from irmodels.identification.curves import coverage_curve

    psi = s.design["psi"]
    a = s.frame[s.frame["answered"]]
    nan = {"poststrat_estimate": math.nan, "poststrat_std_error": math.nan, "poststrat_lower": math.nan,
           "poststrat_upper": math.nan, "poststrat_covers": math.nan}
    # post-stratification needs an answering department in every bed class (an empty class has no estimate)
    if any((a["beds_class"] == b).sum() == 0 for b in BEDS):
        return nan
    cc = coverage_curve(s.frame_shares, s.design["n_frame"], grid=[psi], margins=s.margins, structure=False,
                        level=level).iloc[0]
    prev = float(s.frame["cover_24_7"].mean())
    return {"poststrat_estimate": float(cc["estimate"]), "poststrat_std_error": float(cc["std_error"]),
            "poststrat_lower": float(cc["lower"]), "poststrat_upper": float(cc["upper"]),
            "poststrat_covers": _inside(prev, float(cc["lower"]), float(cc["upper"]), tol=0.0)}


_TERM = "beds_class[T.>=800]"


def _design_matrix(cells: pd.DataFrame) -> pd.DataFrame:
    X = pd.DataFrame({"Intercept": 1.0}, index=cells.index)
    for b in BEDS[1:]:
        X[f"beds_class[T.{b}]"] = (cells["beds_class"] == b).astype(float)
    X["teaching"] = cells["teaching"].astype(float)
    return X


def _separable_rows(X: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """Rows (cell x outcome) that some separating direction fits perfectly (one LP).

    Maximise the number of rows ``i`` with ``sign_i x_i b >= 1`` over directions ``b`` of
    the recession cone ``{b: sign_i x_i b >= 0 for all i}`` (Konis 2007); the MLE exists
    when no row is separable.
    """
    n, p = X.shape
    A = sign[:, None] * X
    # variables [b (p, bounded), t (n, in [0, 1])]; t_i <= A_i b; A_i b >= 0
    c = np.concatenate([np.zeros(p), -np.ones(n)])
    A_ub = np.vstack([np.hstack([-A, np.eye(n)]), np.hstack([-A, np.zeros((n, n))])])
    b_ub = np.zeros(2 * n)
    bounds = [(-1e3, 1e3)] * p + [(0.0, 1.0)] * n
    res = optimize.linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - the LP is feasible (b = 0) and bounded
        raise RuntimeError(f"separation LP failed: {res.message}")
    return res.x[p:] > 0.5


def _term_direction(X: np.ndarray, sign: np.ndarray, k: int) -> tuple[float, float]:
    """Range of component ``k`` over the recession cone scaled to ``|b| <= 1``."""
    A = sign[:, None] * X
    out = []
    for direction in (1.0, -1.0):
        c = np.zeros(X.shape[1])
        c[k] = -direction
        res = optimize.linprog(c, A_ub=-A, b_ub=np.zeros(len(A)), bounds=[(-1.0, 1.0)] * X.shape[1], method="highs")
        out.append(-res.fun * direction)
    return out[1], out[0]


def _respondent_ml(s: PublishedSurvey) -> dict[str, Any]:
    """ML logistic regression of cover on bed class and teaching, on the answering respondents.

    Returns the estimate of ``beds_class[T.>=800]`` (``inf``/``-inf`` when it diverges under
    separation; the extended MLE of the other cells otherwise), its Wald standard error and a
    status: ``finite``, ``infinite`` or ``undefined`` (a level without answering respondents).
    """
    import statsmodels.api as sm

    a = s.frame[s.frame["answered"]]
    cells = (a.groupby(["beds_class", "teaching"])["cover_24_7"].agg(events="sum", n="size").reset_index())
    cells["events"] = cells["events"].astype(float)
    cells["n"] = cells["n"].astype(float)
    if set(cells["beds_class"]) != set(BEDS) or cells["teaching"].nunique() < 2:
        return {"ml_estimate": math.nan, "ml_std_error": math.nan, "ml_status": "undefined"}
    X = _design_matrix(cells)
    k = list(X.columns).index(_TERM)
    # one LP row per cell and outcome present
    rows = [(i, 1.0) for i in range(len(cells)) if cells["events"].iloc[i] > 0]
    rows += [(i, -1.0) for i in range(len(cells)) if cells["events"].iloc[i] < cells["n"].iloc[i]]
    Xr = X.to_numpy()[[i for i, _ in rows]]
    sign = np.array([sg for _, sg in rows])
    sep = _separable_rows(Xr, sign)
    keep_cells = np.ones(len(cells), dtype=bool)
    if sep.any():
        lo, hi = _term_direction(Xr, sign, k)
        if hi > 1e-9 or lo < -1e-9:
            est = math.inf if hi > 1e-9 and lo >= -1e-9 else (-math.inf if lo < -1e-9 and hi <= 1e-9 else math.nan)
            return {"ml_estimate": est, "ml_std_error": math.nan, "ml_status": "infinite"}
        for (i, _), v in zip(rows, sep):
            if v:
                keep_cells[i] = False  # a separable cell is fitted perfectly in the limit
    cols = _independent_columns(X[keep_cells])
    if _TERM not in cols:  # pragma: no cover - the term's cells are kept when its estimate is finite
        return {"ml_estimate": math.nan, "ml_std_error": math.nan, "ml_status": "undefined"}
    # the fit itself on the respondent-level rows of the cells kept (all of them without separation)
    kept = cells.loc[keep_cells, ["beds_class", "teaching"]]
    d = a.merge(kept, on=["beds_class", "teaching"], how="inner")
    Xd = _design_matrix(d)[cols].to_numpy()
    res = sm.GLM(d["cover_24_7"].astype(float).to_numpy(), Xd, family=sm.families.Binomial()).fit(tol=1e-12,
                                                                                                  maxiter=200)
    j = cols.index(_TERM)
    return {"ml_estimate": float(res.params[j]), "ml_std_error": float(res.bse[j]), "ml_status": "finite"}


def _independent_columns(X: pd.DataFrame) -> list[str]:
    """Columns kept in order while each adds rank (drops e.g. a level left without cells)."""
    keep: list[str] = []
    for c in X.columns:
        trial = keep + [c]
        if np.linalg.matrix_rank(X[trial].to_numpy()) == len(trial):
            keep = trial
    return keep


def _regression(s: PublishedSurvey, ml: Mapping[str, Any], level: float) -> dict[str, float]:
    from irmodels.identification.expected import expected_table
    from irmodels.identification.curves import fit_expected

    d = s.design
    truth = 3.0 * math.log(d["psi"])
    out = {"regression_truth": truth, "regression_estimate": math.nan, "regression_std_error": math.nan,
           "regression_lower": math.nan, "regression_upper": math.nan, "regression_covers_truth": math.nan,
           "regression_covers_ml": math.nan}
    m = s.margins
    if any(m["beds_class"][b] == 0 for b in BEDS) or min(m["teaching"].values()) == 0 or \
            m["cover_24_7"]["true"] == 0 or m["cover_24_7"]["false"] == 0:
        return out  # a level without respondents: the model's term does not exist
    ors = {"cover_24_7~beds_class": d["psi"], "cover_24_7~teaching": d["or_teaching"],
           "teaching~beds_class": d["or_teaching_beds"]}
    tab = expected_table("cover_24_7", ("beds_class", "teaching"), ors, margins=m, structure=False)
    f = fit_expected(tab, ("beds_class", "teaching"), level=level).set_index("term").loc[_TERM]
    lo, hi = float(f["lower"]), float(f["upper"])
    out.update({"regression_estimate": float(f["estimate"]), "regression_std_error": float(f["std_error"]),
                "regression_lower": lo, "regression_upper": hi,
                "regression_covers_truth": _inside(truth, lo, hi, tol=0.0)})
    if ml["ml_status"] != "undefined":
        est = ml["ml_estimate"]  # infinite (or indeterminate) under separation: a finite interval misses it
        out["regression_covers_ml"] = 0.0 if math.isnan(est) else _inside(est, lo, hi, tol=0.0)
    return out
