"""The R-indicator of representativeness and what makes it readable.

:func:`representativeness`: the R-indicator (Schouten, Cobben & Bethlehem 2009) with the
bias-corrected R (Shlomo, Skinner & Schouten 2012), the coefficient of variation of the
propensities (= the maximal absolute standardised bias of a respondent mean) and the
mechanical lower bound of R at the observed response rate, each with its standard error;
:func:`r_indicator` gives R and its SE, :func:`r_indicator_ci` an interval clipped to the
indicator's range. Propensities come from ``weight(..., "propensity")`` (frame cells with
their counts) or are given directly.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from irmodels.core.errors import WeightingError
from irmodels.nonresponse.weighting import WeightingResult
from irmodels.nonresponse.weighting_diagnostics import effective_n
from irmodels.nonresponse.weighting_methods import PropensityAboveOneWarning

__all__ = ["representativeness", "r_indicator", "r_indicator_ci", "REPRESENTATIVENESS_TERMS"]


#: Terms of :func:`representativeness`, in output order, with the range each lives in
#: (intervals are clipped to it) and a one-line definition.
REPRESENTATIVENESS_TERMS: dict[str, tuple[tuple[float, float], str]] = {
    "R_indicator": ((0.0, 1.0), "1 - 2 S(rho)"),
    "R_indicator_bias_corrected": ((0.0, 1.0), "1 - 2 sqrt(S^2(rho) - tr(Q V)) (Shlomo, Skinner & Schouten 2012)"),
    "CV": ((0.0, np.inf), "S(rho) / rho_bar"),
    "max_abs_bias": ((0.0, np.inf), "(1 - R) / (2 rho_bar): bound on |bias of a respondent mean| / S(y); equals CV"),
    "mechanical_bound": ((0.0, 1.0), "1 - 2 sqrt(rho_bar (1 - rho_bar)): smallest R possible at this response rate"),
    "response_rate": ((0.0, 1.0), "rho_bar = sum N rho / sum N"),
}


def _propensity_inputs(propensities: Any, weights: Any, model: dict | None, fname: str) -> tuple[np.ndarray, np.ndarray, dict | None]:
    """Propensities, unit counts and (optionally) the propensity model, checked."""
    if isinstance(propensities, WeightingResult):
        if "frame_propensity" not in propensities.diagnostics:
            raise WeightingError(f"{fname}: the WeightingResult is not a propensity weighting (method='propensity')")
        fp = propensities.diagnostics["frame_propensity"]
        model = propensities.diagnostics["propensity_model"] if model is None else model
        rho = fp["propensity"].to_numpy(dtype=float)
        d = fp["N"].to_numpy(dtype=float)
    else:
        rho = np.asarray(propensities, dtype=float)
        d = np.ones(len(rho)) if weights is None else np.asarray(weights, dtype=float)
    if rho.shape != d.shape:
        raise WeightingError(f"{fname}: {len(rho)} propensities but {len(d)} weights")
    if not (np.all(np.isfinite(rho)) and np.all(np.isfinite(d)) and np.all(d >= 0)):
        raise WeightingError(f"{fname}: propensities and weights must be finite, weights >= 0")
    if d.sum() <= 1:
        raise WeightingError(f"{fname}: the units' weights sum to {d.sum():g}; S(rho) needs more than one unit")
    if model is not None and np.asarray(model["design_frame"]).shape[0] != len(rho):
        raise WeightingError(f"{fname}: the model's frame design has {np.asarray(model['design_frame']).shape[0]} cells, "
                             f"the propensities {len(rho)}")
    return rho, d, model


def _refuse_above_one(rho: np.ndarray, on_invalid: str, fname: str, what: str) -> bool:
    """True when every propensity is <= 1; otherwise raise or warn (``on_invalid``) and return False."""
    if on_invalid not in ("raise", "nan"):
        raise WeightingError(f"{fname}: on_invalid must be 'raise' or 'nan'; got {on_invalid!r}")
    above = int((rho > 1).sum())
    if not above:
        return True
    msg = (f"{fname}: {above} of {len(rho)} frame cells have response propensity > 1 (max {rho.max():.3g}): "
           "the frame has fewer units than respondents there, so the propensities are not probabilities and R is "
           "not defined; use a frame scenario consistent with the data")
    if on_invalid == "raise":
        raise WeightingError(msg)
    warnings.warn(f"{msg}; {what} reported as NaN", PropensityAboveOneWarning, stacklevel=3)
    return False


def _frame_model_covariance(model: dict, rho: np.ndarray, d: np.ndarray) -> np.ndarray:
    r"""Covariance of :math:`\hat\beta` of the stacked propensity model for a known frame.

    ``weight(..., "propensity")`` stacks the respondents (y = 1) on the frame cells
    (y = 0, frequency weight :math:`N_c`); the odds of the stacked model are
    :math:`\rho(x) = n(x)/N(x)`, so :math:`\rho_c = e^{x_c'\beta}`. Its estimating
    equation is :math:`U(\beta) = \sum_c x_c (n_c - N_c\rho_c)/(1+\rho_c)`, with
    Hessian :math:`A` (what the GLM inverts: ``model["cov"]`` is :math:`A^{-1}`).
    """
    # Why not the GLM's own covariance A^{-1}: it is the variance of a case-control
    # (two-sample) design in which the frame rows are an independent sample, i.e. it takes
    # Var(U) = A = sum_c N_c rho_c (1 + rho_c)/(1 + rho_c)^2 x x'. In a saturated cell that is
    # var(log rho_hat) = 1/n_c + 1/N_c. Here the frame is the whole invited population (N_c
    # known, not sampled) and the respondents are a subset of it, n_c ~ Binomial(N_c, rho_c), so
    # Var(U) = sum_c N_c rho_c (1 - rho_c)/(1 + rho_c)^2 x x' and the sandwich A^{-1} Var(U) A^{-1}
    # gives var(log rho_hat) = (1 - rho_c)/(N_c rho_c) = 1/n_c - 1/N_c in a saturated cell.
    X = np.asarray(model["design_frame"], dtype=float)
    bread = np.asarray(model["cov"], dtype=float)
    meat = (X * (d * rho * (1 - rho) / (1 + rho) ** 2)[:, None]).T @ X
    return bread @ meat @ bread


def representativeness(
    propensities: Any,
    weights: np.ndarray | pd.Series | None = None,
    *,
    model: dict | None = None,
    level: float = 0.95,
    on_invalid: str = "raise",
) -> pd.DataFrame:
    r"""R-indicator with what makes it readable: CV, maximal bias, mechanical bound.

    Parameters
    ----------
    propensities : array, Series or WeightingResult
        Response propensities :math:`\rho_c` of the frame cells (or units), or a result of
        ``weight(..., "propensity")``, whose ``frame_propensity`` cells (with their
        population counts ``N``) and ``propensity_model`` are used.
    weights : array, optional
        Unit counts :math:`N_c` of the cells (inclusion weights for a sample); default 1.
    model : dict, optional
        ``diagnostics["propensity_model"]`` of a propensity weighting (``params``, ``cov``,
        ``design_frame``); taken automatically from a WeightingResult. With it, standard
        errors and the bias correction come from the uncertainty of the estimated
        propensities; without it the propensities are treated as an i.i.d. sample of
        known values.
    level : float
        Confidence level of the intervals.
    on_invalid : {"raise", "nan"}
        When some propensity exceeds 1 (a frame cell with fewer units than respondents:
        the frame contradicts the data): raise a WeightingError (default), or return the
        table with NaN for the indicators after a
        :class:`~irmodels.nonresponse.weighting_methods.PropensityAboveOneWarning` (the response rate and the
        mechanical bound are still given, without standard errors).

    Returns
    -------
    DataFrame
        One row per indicator, in this order: ``R_indicator``,
        ``R_indicator_bias_corrected``, ``CV``, ``max_abs_bias``, ``mechanical_bound``,
        ``response_rate``. Columns ``term, estimate, std_error, lower, upper, definition``:
        ``lower``/``upper`` form a normal interval clipped to the indicator's range
        ([0, 1]; [0, inf) for ``CV`` and ``max_abs_bias``; see
        :data:`REPRESENTATIVENESS_TERMS`). ``attrs``: ``variance`` (which variance was
        used), ``bias_s2`` (estimated bias of :math:`\hat S^2`), ``notes``.

    Raises
    ------
    WeightingError
        Not a propensity weighting; non-finite propensities or weights; model and
        propensities of different length; a propensity > 1 (``on_invalid="raise"``).

    Notes
    -----
    With cells :math:`c` of :math:`N_c` units (:math:`N=\sum_c N_c`) and propensities
    :math:`\rho_c` (Schouten, Cobben & Bethlehem 2009):

    .. math::

        \bar\rho = \tfrac1N\sum_c N_c\rho_c,\quad
        S^2(\rho) = \tfrac{1}{N-1}\sum_c N_c(\rho_c-\bar\rho)^2,\quad
        R = 1 - 2S(\rho),\quad CV = S(\rho)/\bar\rho .

    *Maximal absolute standardised bias.* For any survey variable :math:`y`, the bias of
    the unweighted respondent mean is :math:`\mathrm{Cov}(\rho, y)/\bar\rho`, so by
    Cauchy-Schwarz :math:`|B(\bar y_r)|/S(y) \le S(\rho)/\bar\rho = (1-R)/(2\bar\rho)`
    (Schouten, Cobben & Bethlehem 2009, the bound :math:`B_m`). It is the same number as the
    CV (Schouten, Shlomo & Skinner 2011 name it so); both rows are given because both
    names are in use.

    *Mechanical bound.* Propensities in [0, 1] with mean :math:`\bar\rho` have
    :math:`S^2 \le \bar\rho(1-\bar\rho)` (times :math:`N/(N-1)`), so
    :math:`R \ge 1 - 2\sqrt{\bar\rho(1-\bar\rho)}` whatever the response pattern: 0.45 at
    :math:`\bar\rho = 8.3\%`. R reads against this floor, not against 0; equivalently
    :math:`CV \le \sqrt{(1-\bar\rho)/\bar\rho}` (3.3 at 8.3%).

    *Bias correction* (Shlomo, Skinner & Schouten 2012): with
    :math:`z_c = \partial\rho_c/\partial\beta` and :math:`V = \mathrm{Var}(\hat\beta)`,
    :math:`E\hat S^2 - S^2 \approx \mathrm{tr}(QV)`,
    :math:`Q = \tfrac{1}{N-1}\sum_c N_c (z_c-\bar z)(z_c-\bar z)'` (the mean variance of
    the :math:`\hat\rho_c` minus the variance of :math:`\hat{\bar\rho}`; no design term:
    the frame is a census), and
    :math:`\tilde R = 1 - 2\sqrt{\max(\hat S^2 - \mathrm{tr}(QV), 0)}`.

    *Variance.* Everything is a function of :math:`(\bar\rho, S^2)`, whose covariance is
    :math:`\mathrm{Var}\,\bar\rho = \bar z'V\bar z`,
    :math:`\mathrm{Cov}(\bar\rho, S^2) = \bar z'Vg`,
    :math:`\mathrm{Var}\,S^2 = g'Vg + 2\,\mathrm{tr}(QVQV)`, with
    :math:`g = \tfrac{2}{N-1}\sum_c N_c(\rho_c-\bar\rho)z_c` (Shlomo, Skinner & Schouten
    2012, whose second-order term matters when :math:`S` is small); then the delta
    method, e.g. :math:`\mathrm{Var}\,\hat R = \mathrm{Var}\,S^2/S^2`,
    :math:`\mathrm{Var}\,\tilde R = \mathrm{Var}\,S^2/\tilde S^2`. :math:`V` is the
    covariance of the stacked propensity model for a known frame: the sandwich with
    :math:`\mathrm{Var}(n_c) = N_c\rho_c(1-\rho_c)`, which in a saturated cell is
    :math:`\mathrm{Var}\log\hat\rho_c = 1/n_c - 1/N_c`; the GLM's own covariance of the
    stacked fit is :math:`1/n_c + 1/N_c` (it treats the frame as a second sample) and is
    not used. Without a model, the propensities are an i.i.d. sample
    (Kish :math:`n^*`): :math:`\mathrm{Var}\,\bar\rho = S^2/n^*`,
    :math:`\mathrm{Var}\,S^2 = (m_4 - S^4)/n^*`, :math:`\mathrm{Cov} = m_3/n^*`, and the
    bias-corrected R equals R. When all propensities are equal (R = 1, e.g. a frame built
    from the respondents' own distribution) the linearisation is degenerate and the
    standard errors of R, CV and the maximal bias are reported as 0.

    References
    ----------
    Schouten B, Cobben F, Bethlehem J (2009). Indicators for the representativeness of
    survey response. Survey Methodology 35(1):101-113.
    Schouten B, Shlomo N, Skinner C (2011). Indicators for monitoring and improving
    representativeness of response. J Off Stat 27(2):231-253.
    Shlomo N, Skinner C, Schouten B (2012). Estimation of an indicator of the
    representativeness of survey response. J Stat Plan Inference 142(1):201-211.
    de Heij V, Schouten B, Shlomo N (2010). RISQ manual: tools in SAS and R for the
    computation of R-indicators and partial R-indicators (``getRIndicator``).

    Examples
    --------
    >>> t = representativeness([0.05, 0.15], [600, 580]).set_index("term")
    >>> t.loc[["R_indicator", "CV", "mechanical_bound"], "estimate"].round(3).tolist()
    [0.9, 0.504, 0.402]
    """
    fname = "representativeness"
    rho, d, model = _propensity_inputs(propensities, weights, model, fname)
    valid = _refuse_above_one(rho, on_invalid, fname, "R, CV and the maximal bias")
    est, info = _indicators(rho, d, model)
    q = float(stats.norm.ppf(0.5 + level / 2))
    rows = []
    for term, (e, se) in est.items():
        if not valid:
            se = float("nan")
            if term not in ("mechanical_bound", "response_rate"):
                e = float("nan")
        lo, hi = _clipped_interval(e, se, q, REPRESENTATIVENESS_TERMS[term][0])
        rows.append({"term": term, "estimate": e, "std_error": se, "lower": lo, "upper": hi,
                     "definition": REPRESENTATIVENESS_TERMS[term][1]})
    out = pd.DataFrame(rows)
    out.attrs = info
    return out


def _indicators(rho: np.ndarray, d: np.ndarray, model: dict | None) -> tuple[dict[str, tuple[float, float]], dict]:
    """``{term: (estimate, se)}`` of :func:`representativeness` and its ``attrs``."""
    N = d.sum()
    rbar = float((d * rho).sum() / N)
    dev = rho - rbar
    s2 = float((d * dev**2).sum() / (N - 1))
    notes: list[str] = []
    if model is not None:
        V = _frame_model_covariance(model, rho, d)
        X = np.asarray(model["design_frame"], dtype=float)
        z = rho[:, None] * X  # d rho_c / d beta for rho = exp(x'beta)
        zbar = (d[:, None] * z).sum(axis=0) / N
        zc = z - zbar
        Q = (zc * d[:, None]).T @ zc / (N - 1)
        g = 2 * (d * dev) @ z / (N - 1)
        QV = Q @ V
        bias_s2 = float(np.trace(QV))
        # covariance of (rho_bar, S^2); Var S^2 with the second-order term of Shlomo et al. (2012)
        cov2 = np.array([[zbar @ V @ zbar, zbar @ V @ g], [zbar @ V @ g, g @ V @ g + 2 * np.trace(QV @ QV)]])
        variance = "propensity model, known frame (sandwich; Var(n_c) = N_c rho_c (1 - rho_c))"
    else:
        n_eff = effective_n(d)
        m3 = float((d * dev**3).sum() / N)
        m4 = float((d * dev**4).sum() / N)
        bias_s2 = 0.0
        cov2 = np.array([[s2, m3], [m3, max(m4 - s2**2, 0.0)]]) / n_eff
        variance = "i.i.d. propensities (Kish n*); no model: bias correction not applicable"
        notes.append("no propensity model: R_indicator_bias_corrected equals R_indicator")
    s = np.sqrt(s2)
    s2_bc = max(s2 - bias_s2, 0.0)
    s_bc = np.sqrt(s2_bc)
    # gradients with respect to (rho_bar, S^2); those through S are degenerate at S = 0
    flat = s2 <= 1e-20 * max(rbar, 1e-300) ** 2
    if flat:
        notes.append("all propensities equal (R = 1): linearisation degenerate, SEs of R, CV, max bias set to 0")
    elif model is not None and s2_bc == 0.0:
        notes.append("estimated bias of S^2 exceeds S^2: bias-corrected R set to 1, its SE uses S(rho)")
    sq = np.sqrt(rbar * (1 - rbar)) if 0 < rbar < 1 else np.nan
    d_cv = (0.0, 0.0) if flat else (-s / rbar**2, 1 / (2 * s * rbar))
    grads = {
        "R_indicator": (1 - 2 * s, (0.0, 0.0 if flat else -1 / s)),
        "R_indicator_bias_corrected": (1 - 2 * s_bc, (0.0, 0.0 if flat else -1 / (s_bc if s_bc > 0 else s))),
        "CV": (s / rbar, d_cv),
        "max_abs_bias": (s / rbar, d_cv),  # (1 - R)/(2 rho_bar) = S/rho_bar
        "mechanical_bound": (1 - 2 * sq, (-(1 - 2 * rbar) / sq, 0.0)),
        "response_rate": (rbar, (1.0, 0.0)),
    }
    est = {}
    for term, (e, grad) in grads.items():
        gv = np.asarray(grad, dtype=float)
        est[term] = (float(e), float(np.sqrt(max(gv @ cov2 @ gv, 0.0))))
    return est, {"variance": variance, "bias_s2": bias_s2, "notes": notes}


def r_indicator(
    propensities: Any,
    weights: np.ndarray | pd.Series | None = None,
    *,
    model: dict | None = None,
    on_invalid: str = "raise",
) -> tuple[float, float]:
    """R-indicator of representativeness and its standard error.

    A thin wrapper of :func:`representativeness` (which also gives the bias-corrected R,
    the CV, the maximal absolute standardised bias and the mechanical lower bound at the
    observed response rate; report R with those).

    Parameters
    ----------
    propensities : array, Series or WeightingResult
        Response propensities :math:`\\hat\\rho_i` of the units of the frame (or a
        sample of it), or a result of ``weight(..., "propensity")`` whose
        ``frame_propensity`` cells (with population counts) are used.
    weights : array, optional
        Inclusion weights :math:`d_i` (population counts for frame cells); default 1.
    model : dict, optional
        ``diagnostics["propensity_model"]`` of a propensity weighting: the SE is then
        the delta-method SE through the model's coefficients (taken automatically
        from a WeightingResult).
    on_invalid : {"raise", "nan"}
        What to do when some propensity exceeds 1 (a frame cell with fewer units
        than respondents: the frame contradicts the data and :math:`R` is not
        defined): ``raise`` a WeightingError (default), or return ``(nan, nan)``
        after a :class:`~irmodels.nonresponse.weighting_methods.PropensityAboveOneWarning`.

    Returns
    -------
    (R, se) : tuple of float
        For an interval within [0, 1] use :func:`r_indicator_ci`.

    Raises
    ------
    WeightingError
        Not a propensity weighting; non-finite propensities or weights; any
        propensity > 1 (with ``on_invalid="raise"``).

    Notes
    -----
    :math:`R = 1 - 2 S(\\hat\\rho)`, :math:`S^2 = \\frac{1}{N-1}\\sum_i d_i(\\hat\\rho_i-\\bar\\rho)^2`,
    :math:`N = \\sum d_i` (Schouten, Cobben & Bethlehem 2009). The SE is that of
    :func:`representativeness`: with a model, the delta method through the propensity
    model's covariance for a known frame (finite-frame factor :math:`1/n - 1/N`, not the
    stacked GLM's :math:`1/n + 1/N`) with the second-order term of Shlomo, Skinner &
    Schouten (2012); without one, the sampling SE of :math:`S` treating the propensities
    as an i.i.d. sample, :math:`se(S^2)\\approx\\sqrt{(m_4-S^4)/n^*}` with Kish's
    :math:`n^*`, and :math:`se(R) = se(S^2)/S`.

    References
    ----------
    Schouten B, Cobben F, Bethlehem J (2009). Indicators for the representativeness
    of survey response. Survey Methodology 35(1):101-113.
    """
    fname = "r_indicator"
    rho, d, model = _propensity_inputs(propensities, weights, model, fname)
    if not _refuse_above_one(rho, on_invalid, fname, "R"):
        return float("nan"), float("nan")
    return _indicators(rho, d, model)[0]["R_indicator"]


def r_indicator_ci(estimate: float, std_error: float, level: float = 0.95, *, df: float = np.inf,
                   bounds: tuple[float, float] = (0.0, 1.0)) -> tuple[float, float]:
    """Normal (or t) interval for an R-indicator (or a companion indicator), clipped to its range.

    Parameters
    ----------
    estimate, std_error : float
        :math:`\\hat R` and its standard error (:func:`r_indicator`, or Rubin-pooled).
    level : float
    df : float
        Degrees of freedom of a t interval (e.g. Barnard-Rubin after pooling); default normal.
    bounds : (float, float)
        Range of the indicator: (0, 1) for R, the mechanical bound and the response rate
        (default); (0, inf) for the CV and the maximal bias.

    Returns
    -------
    (lower, upper)
        :math:`\\hat R \\pm t_{df}\\,se`, clipped to ``bounds``; (nan, nan) for a NaN estimate.

    Notes
    -----
    With propensities in [0, 1], :math:`S(\\rho) \\le 1/2`, so :math:`R \\in [0, 1]`.
    A transformation (e.g. logit) is not used because the reference scenario
    "respondents' own distribution" gives :math:`R = 1` (every propensity equal),
    where any such transformation degenerates; the interval is clipped instead, so a
    bound at exactly 0 or 1 means the normal interval crossed it.
    """
    q = float(stats.t.ppf(0.5 + level / 2, df)) if np.isfinite(df) else float(stats.norm.ppf(0.5 + level / 2))
    return _clipped_interval(estimate, std_error, q, bounds)


def _clipped_interval(estimate: float, std_error: float, q: float, bounds: tuple[float, float]) -> tuple[float, float]:
    if not np.isfinite(estimate) or not np.isfinite(std_error):
        return float("nan"), float("nan")
    lo, hi = bounds
    return float(min(max(estimate - q * std_error, lo), hi)), float(min(max(estimate + q * std_error, lo), hi))
