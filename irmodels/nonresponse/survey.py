"""Design-based estimation with survey weights: the weighted prevalence and the linearisation variance.

The design assumed throughout is the one of a survey of department heads: one
stage, units drawn with replacement, no strata, no finite-population correction
(R: ``svydesign(ids = ~1, weights = ~w)``). Weights may come from any method of
:mod:`irmodels.nonresponse.weighting`; when they do (a :class:`~irmodels.nonresponse.weighting.WeightingResult`
is passed), the linearisation variance accounts for the calibration exactly as R's
``survey`` package does:

==================  ==============================================================
weights             linearisation variance of an estimator with influence ``z``
==================  ==============================================================
fixed weights       :math:`\\frac{n}{n-1}\\sum_i (z_i-\\bar z)(z_i-\\bar z)'`
raked (``rake``)    same, after 10 sweeps of
                    :math:`z \\leftarrow z - w\\,\\mathrm{ave}_{margin}(z/w)` per margin
                    (``survey:::svyrecvar`` for ``rake()`` designs)
GREG / logit        :math:`z` replaced by calibration residuals
(``linear``,        :math:`r\\,w/\\sqrt d` with :math:`r` the residual of the least
``logit``)          squares fit of :math:`z\\sqrt d / w` on :math:`X\\sqrt d`
                    (``calibrate()`` designs)
cell (``cell``)     post-stratification residuals (``postStratify()`` designs)
propensity          treated as fixed weights (use the replicate bootstrap)
==================  ==============================================================

This module owns the weighted prevalence and its linearisation variance. The alternative
is a replicate bootstrap that re-runs the *whole* weighting in every replicate
(:func:`~irmodels.nonresponse.bootstrap.bootstrap_weights`); survey-weighted logistic
regression is :func:`~irmodels.nonresponse.svyglm.svyglm_logit`; prevalences weighted to
frame scenarios and pooled over reconstructions are in
:mod:`irmodels.nonresponse.frame_prevalence`.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from irmodels.core.errors import DataDroppedWarning, DegenerateCellWarning, WeightingError
from irmodels.nonresponse.weighting import WeightingResult
from irmodels.nonresponse.weighting_checks import _check_weights
from irmodels.nonresponse.weighting_diagnostics import effective_n

__all__ = [
    "linearized_variance",
    "weighted_prevalence",
    "proportion_ci",
    "degenerate_cells",
    "DEGENERATE_WEIGHT_SHARE",
]

#: A calibration class holding at least this share of the weight whose respondents all give the
#: same answer (or that has one respondent) is reported by :func:`degenerate_cells`.
DEGENERATE_WEIGHT_SHARE = 0.10


def degenerate_cells(data: pd.DataFrame, y: np.ndarray, answered: np.ndarray, w: np.ndarray,
                     calibration: dict | None, *, min_share: float = DEGENERATE_WEIGHT_SHARE) -> list[dict]:
    """Calibration classes with at least ``min_share`` of the weight and no variation in the outcome.

    Such a class (e.g. the few respondents under 200 beds carrying a third of the weight, all
    answering "yes") contributes nothing to the linearisation or bootstrap variance although it
    holds much of the sampling variance, so the interval is far too narrow: in the coverage study
    at 2017's n, 0.6% coverage in such samples against 97% otherwise
    (``validation/survey_coverage_diagnosis.py``; docs/studies.md).

    Parameters
    ----------
    data : DataFrame
        The respondents (for the class labels).
    y : ndarray
        The 0/1 outcome.
    answered : ndarray of bool
        Rows that answered the item.
    w : ndarray
        Final weights.
    calibration : dict or None
        ``WeightingResult.calibration`` (``columns`` and ``codes`` of the calibration classes);
        None (fixed weights) gives no rows.
    min_share : float
        The share of the weight from which a class is reported.

    Returns
    -------
    list of dict
        ``column``, ``category``, ``n`` (answers in the class), ``weight_share``, ``value`` (the
        one answer they give).
    """
    if not calibration or "columns" not in calibration or "codes" not in calibration:
        return []
    total = float(w[answered].sum())
    out = []
    for col, codes in zip(calibration["columns"], calibration["codes"]):
        codes = np.asarray(codes)
        for c in np.unique(codes[answered]):
            idx = answered & (codes == c)
            share = float(w[idx].sum()) / total if total > 0 else 0.0
            vals = y[idx]
            if share >= min_share and (idx.sum() < 2 or vals.min() == vals.max()):
                label = data[col].to_numpy()[np.flatnonzero(idx)[0]] if col in data.columns else c
                out.append({"column": col, "category": str(label),
                            "n": int(idx.sum()), "weight_share": share, "value": float(vals[0])})
    return out


def _warn_degenerate(cells: list[dict], outcome: str) -> None:
    if cells:
        what = "; ".join(f"{c['column']}={c['category']!r}: {c['n']} answer(s), all {c['value']:g}, "
                         f"{100 * c['weight_share']:.0f}% of the weight" for c in cells)
        warnings.warn(f"{outcome!r}: calibration class(es) with much of the weight and no variation in the outcome "
                      f"({what}); the design variance gives them zero variance, so the interval is too narrow "
                      "(validation/survey_coverage_diagnosis.csv). Merge such a class with a neighbour (e.g. "
                      "collapse=COLLAPSE_BEDS_400) or report the worst-case (Manski) bounds beside it",
                      DegenerateCellWarning, stacklevel=3)


def _resolve_weights(weights: Any, data: pd.DataFrame) -> tuple[np.ndarray, dict | None]:
    if isinstance(weights, WeightingResult):
        w, cal = weights.weights, weights.calibration
    elif isinstance(weights, str):
        if weights not in data.columns:
            raise WeightingError(f"weights column {weights!r} not in the data")
        w, cal = data[weights], None
    else:
        w, cal = weights, None
    return _check_weights(w, data.index, "weights"), cal


def linearized_variance(influence: np.ndarray, weights: np.ndarray | None = None, calibration: dict | None = None) -> np.ndarray:
    """Variance matrix of a total/mean/coefficient from its influence values.

    Parameters
    ----------
    influence : array (n,) or (n, p)
        Influence (estimating-function) values :math:`z_i`, e.g.
        :math:`w_i (y_i - \\hat\\mu)/\\sum w` for a weighted mean.
    weights : array (n,), optional
        The final weights (needed when ``calibration`` is given).
    calibration : dict, optional
        ``WeightingResult.calibration``; None treats the weights as fixed.

    Returns
    -------
    ndarray (p, p)
        :math:`\\frac{n}{n-1}\\sum_i (r_i-\\bar r)(r_i-\\bar r)'` with :math:`r` the
        calibration residuals of :math:`z` (see the module docstring). This is R's
        ``svyrecvar`` for a one-stage with-replacement design.
    """
    z = np.asarray(influence, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    z = z.copy()
    n = z.shape[0]
    if calibration is not None:
        w = np.asarray(weights, dtype=float)
        kind = calibration["kind"]
        safe = np.where(w > 0, w, 1.0)
        if kind == "raking":
            # survey:::svyrecvar: a fixed 10 sweeps of margin-wise residualisation
            for _ in range(10):
                for codes in calibration["codes"]:
                    k = int(codes.max()) + 1
                    cnt = np.bincount(codes, minlength=k).astype(float)
                    for j in range(z.shape[1]):
                        m = np.bincount(codes, weights=z[:, j] / safe, minlength=k) / np.where(cnt > 0, cnt, 1)
                        z[:, j] -= w * m[codes]
        elif kind == "greg":
            d = calibration["base"]
            sd = np.sqrt(d)
            scale = np.where(sd > 0, w / np.where(sd > 0, sd, 1), 0.0)
            Z = calibration["X"] * sd[:, None]
            target = np.divide(z, scale[:, None], out=np.zeros_like(z), where=scale[:, None] > 0)
            beta, *_ = np.linalg.lstsq(Z, target, rcond=None)
            z = (target - Z @ beta) * scale[:, None]
        elif kind == "poststrat":
            codes = calibration["codes"]
            old = calibration["base"]
            k = int(codes.max()) + 1
            den = np.bincount(codes, weights=old, minlength=k)
            for j in range(z.shape[1]):
                m = np.bincount(codes, weights=z[:, j] * old / safe, minlength=k) / den
                z[:, j] -= m[codes] * w
        else:
            raise WeightingError(f"unknown calibration kind {kind!r}")
    zc = z - z.mean(axis=0)
    return (n / (n - 1)) * zc.T @ zc if n > 1 else np.full((z.shape[1], z.shape[1]), np.nan)


def proportion_ci(p: float, se: float, n_eff: float, method: str = "logit", level: float = 0.95) -> tuple[float, float]:
    """Confidence interval for a (weighted) proportion.

    Parameters
    ----------
    p, se : float
        Estimate and its design-based standard error.
    n_eff : float
        Effective sample size (used by ``wilson``).
    method : {"logit", "wilson", "wald"}
        ``logit``: :math:`\\mathrm{expit}(\\mathrm{logit}\\,p \\pm z\\,se/(p(1-p)))`, as R
        ``svyciprop(method = "logit", df = Inf)``. ``wilson``: the Wilson score interval
        with the effective sample size :math:`n^* = p(1-p)/se^2` (Kish's when
        :math:`se = 0`). ``wald``: :math:`p \\pm z\\,se` clipped to [0, 1].
    level : float

    Returns
    -------
    (lower, upper)
    """
    z = stats.norm.ppf(0.5 + level / 2)
    if method == "wald":
        return max(0.0, p - z * se), min(1.0, p + z * se)
    if method == "logit":
        if p <= 0 or p >= 1 or se == 0:
            # the logit interval degenerates at 0 or 1: fall back to Wilson (reported via `method`)
            return proportion_ci(p, se, n_eff, "wilson", level)
        eta, s = np.log(p / (1 - p)), se / (p * (1 - p))
        lo, hi = eta - z * s, eta + z * s
        return float(1 / (1 + np.exp(-lo))), float(1 / (1 + np.exp(-hi)))
    if method == "wilson":
        n = n_eff
        den = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / den
        half = z / den * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        return float(max(0.0, centre - half)), float(min(1.0, centre + half))
    raise WeightingError(f"unknown interval method {method!r}; use 'logit', 'wilson' or 'wald'")


def _binary(data: pd.DataFrame, outcome: str, positive: Any) -> pd.Series:
    if outcome not in data.columns:
        raise WeightingError(f"outcome column {outcome!r} not in the data")
    s = data[outcome]
    if positive is None:
        if pd.api.types.is_bool_dtype(s) or str(s.dtype) == "boolean":
            return s.astype("boolean").astype("Float64")
        vals = set(pd.unique(s.dropna()))
        if vals <= {0, 1}:
            return s.astype("Float64")
        raise WeightingError(f"outcome {outcome!r} is not boolean/0-1 (values {sorted(map(str, vals))[:10]}); pass positive=[categories counted as 1]")
    pos = set(positive) if isinstance(positive, (list, tuple, set)) else {positive}
    out = s.astype(object).map(lambda v: np.nan if pd.isna(v) else float(v in pos))
    return out.astype("Float64")


def _domains(data: pd.DataFrame, by: str | None) -> list[tuple[str, np.ndarray]]:
    """Domains of :func:`weighted_prevalence`: ``(label, mask)`` per category of ``by`` (``"all"`` without)."""
    if by is None:
        return [("all", np.ones(len(data), dtype=bool))]
    if by not in data.columns:
        raise WeightingError(f"by column {by!r} not in the data")
    if data[by].isna().any():
        raise WeightingError(f"by column {by!r} has missing values; give them an explicit category")
    g = data[by]
    labels = list(g.cat.categories[g.cat.categories.isin(g.unique())]) if isinstance(g.dtype, pd.CategoricalDtype) else sorted(pd.unique(g), key=str)
    return [(str(lab), (g == lab).to_numpy()) for lab in labels]


def weighted_prevalence(
    data: pd.DataFrame,
    outcome: str,
    weights: Any,
    *,
    by: str | None = None,
    positive: Any = None,
    method: Literal["logit", "wilson", "wald"] = "logit",
    variance: Literal["linearization", "bootstrap"] = "linearization",
    replicate_weights: pd.DataFrame | None = None,
    missing: Literal["raise", "exclude"] = "raise",
    level: float = 0.95,
) -> pd.DataFrame:
    """Weighted prevalence (a weighted proportion) with design-based uncertainty.

    Parameters
    ----------
    data : DataFrame
        Respondents (canonical schema).
    outcome : str
        A boolean (nullable) or 0/1 column, or any column with ``positive=``.
    weights : Series, array, column name or WeightingResult
        A :class:`~irmodels.nonresponse.weighting.WeightingResult` makes the linearisation account
        for calibration.
    by : str, optional
        Domain variable (e.g. ``region``, ``beds_class``): one row per domain
        (domain estimation over the full sample, as R ``svyby``).
    positive : category or list, optional
        Categories counted as 1 for a non-boolean outcome (e.g. female IR
        representation: ``positive=["1-25", "26-50", "51-75", ">75"]``).
    method : {"logit", "wilson", "wald"}
        Interval (:func:`proportion_ci`).
    variance : {"linearization", "bootstrap"}
        ``bootstrap`` needs ``replicate_weights``
        (:func:`~irmodels.nonresponse.bootstrap.bootstrap_weights`); the
        variance is :math:`\\sum_r(\\hat\\theta_r-\\bar\\theta)^2/(R-1)` over the
        :math:`R` successful replicates; the failed ones are counted in the output.
    missing : {"raise", "exclude"}
        Item non-response in ``outcome``: ``raise`` (default) or ``exclude``, which
        estimates over the respondents who answered (a domain of the full sample;
        count reported in ``n_missing`` and a DataDroppedWarning).
    level : float

    Returns
    -------
    DataFrame
        ``term`` (outcome), ``group`` (domain label or ``"all"``), ``estimate``,
        ``std_error``, ``lower``, ``upper``, ``n`` (answers used), ``n_missing``,
        ``n_eff`` (:math:`p(1-p)/se^2`), ``deff`` (:math:`se^2 / (p(1-p)/n)`),
        ``method`` (``"<interval>/<variance>"``); with ``variance="bootstrap"`` also
        ``n_replicates`` (replicates used) and ``n_failed_replicates`` (replicates whose
        weighting failed and were left out, from ``replicate_weights.attrs["n_failed"]``;
        missing when the replicate weights do not say).

    Notes
    -----
    :math:`\\hat p = \\sum w_i y_i / \\sum w_i`; influence
    :math:`z_i = w_i (y_i - \\hat p)/\\sum w_i` (0 for non-answers and out-of-domain
    units); variance by :func:`linearized_variance` (R ``svymean``/``svyby``).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"y": [True, False, True, True]})
    >>> weighted_prevalence(d, "y", [1, 1, 2, 2])["estimate"].round(3).tolist()
    [0.833]
    """
    w, cal = _resolve_weights(weights, data)
    y = _binary(data, outcome, positive)
    na = y.isna().to_numpy()
    if na.any():
        if missing == "raise":
            rows = list(data.index[na][:10])
            raise WeightingError(
                f"outcome {outcome!r} has {int(na.sum())} missing answers (item non-response; rows {rows}); pass missing='exclude' to estimate over the answers"
            )
        warnings.warn(f"{outcome!r}: {int(na.sum())} item non-response(s) excluded (domain estimation over the answers)", DataDroppedWarning, stacklevel=2)
    yv = y.fillna(0).to_numpy(dtype=float)
    _warn_degenerate(degenerate_cells(data, yv, ~na, w, cal), outcome)
    groups = _domains(data, by)
    if variance == "bootstrap":
        if replicate_weights is None:
            raise WeightingError("variance='bootstrap' needs replicate_weights= (irmodels.nonresponse.bootstrap.bootstrap_weights)")
        R = replicate_weights.to_numpy(dtype=float)
        if R.shape[0] != len(data):
            raise WeightingError(f"replicate_weights has {R.shape[0]} rows; the data has {len(data)}")
    elif variance != "linearization":
        raise WeightingError(f"unknown variance {variance!r}; use 'linearization' or 'bootstrap'")
    rows = []
    for lab, dom in groups:
        use = dom & ~na
        W = w[use].sum()
        if W <= 0:
            raise WeightingError(f"domain {lab!r} has no answers with positive weight")
        p = float((w * yv)[use].sum() / W)
        if variance == "linearization":
            z = np.where(use, w * (yv - p) / W, 0.0)
            se = float(np.sqrt(linearized_variance(z, w, cal)[0, 0]))
        else:
            Wr = R[use].sum(axis=0)
            th = (R[use] * yv[use, None]).sum(axis=0) / Wr
            se = float(np.std(th, ddof=1))
        n = int(use.sum())
        n_eff = p * (1 - p) / se**2 if se > 0 and 0 < p < 1 else effective_n(w[use])
        lo, hi = proportion_ci(p, se, n_eff, method, level)
        rows.append(
            {
                "term": outcome,
                "group": lab,
                "estimate": p,
                "std_error": se,
                "lower": lo,
                "upper": hi,
                "n": n,
                "n_missing": int((dom & na).sum()),
                "n_eff": float(n_eff),
                "deff": float(se**2 / (p * (1 - p) / n)) if 0 < p < 1 else float("nan"),
                "method": f"{method}/{variance}",
            }
        )
        if variance == "bootstrap":
            n_failed = replicate_weights.attrs.get("n_failed")
            rows[-1].update(n_replicates=int(R.shape[1]),
                            n_failed_replicates=int(n_failed) if n_failed is not None else pd.NA)
    out = pd.DataFrame(rows)
    if by is not None:
        out.insert(1, "by", by)
    return out
