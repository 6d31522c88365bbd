"""Survey-weighted logistic regression with design-based (sandwich) standard errors.

R ``svyglm(family = quasibinomial)`` for the one-stage with-replacement design of
:mod:`irmodels.nonresponse.survey`: the estimating-function values go through the same
calibration-aware linearisation (:func:`~irmodels.nonresponse.survey.linearized_variance`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from irmodels.core.errors import SeparationWarning, WeightingError
from irmodels.nonresponse.survey import _resolve_weights, linearized_variance

__all__ = ["svyglm_logit"]


def svyglm_logit(formula: str, data: pd.DataFrame, weights: Any, *, level: float = 0.95) -> pd.DataFrame:
    """Survey-weighted logistic regression with design-based (sandwich) standard errors.

    Parameters
    ----------
    formula : str
        Patsy formula, e.g. ``"cover_24_7 ~ C(beds_class) + teaching"``. The outcome
        must be boolean or 0/1 without missing values (statsmodels ``missing="raise"``).
    data : DataFrame
    weights : Series, array, column name or WeightingResult
    level : float

    Returns
    -------
    DataFrame
        ``term, estimate`` (log-odds), ``std_error, statistic`` (z), ``p_value,
        lower, upper, odds_ratio, or_lower, or_upper, n, method``.

    Notes
    -----
    Point estimates solve :math:`\\sum_i w_i x_i (y_i - \\mu_i) = 0` (quasi-binomial,
    as ``svyglm``). The variance is R ``svyglm``'s: with
    :math:`A^{-1} = (X'\\,\\mathrm{diag}(w\\mu(1-\\mu))\\,X)^{-1}` and
    :math:`u_i = w_i (y_i-\\mu_i) x_i' A^{-1}`, :math:`V = \\frac{n}{n-1}\\sum (u_i-\\bar u)(u_i-\\bar u)'`
    (HC0 sandwich times :math:`n/(n-1)`), :math:`u` replaced by calibration
    residuals when the weights are calibrated. Intervals and p-values use the
    normal distribution (R's ``summary.svyglm`` uses a t with the design's
    residual degrees of freedom; the SEs are identical).
    """
    import patsy
    import statsmodels.api as sm

    w, cal = _resolve_weights(weights, data)
    try:
        y, X = patsy.dmatrices(formula, data, return_type="dataframe", NA_action="raise")
    except patsy.PatsyError as exc:
        raise WeightingError(f"svyglm_logit: formula {formula!r} cannot be evaluated (missing values raise; impute or subset explicitly): {exc}") from exc
    if y.shape[1] == 2:  # boolean outcome expands to [False, True]
        y = y.iloc[:, [1]]
    yv = y.iloc[:, 0].to_numpy(dtype=float)
    if not set(np.unique(yv)) <= {0.0, 1.0}:
        raise WeightingError(f"svyglm_logit: outcome of {formula!r} must be 0/1 or boolean")
    wn = w / w.mean()
    model = sm.GLM(yv, X.to_numpy(), family=sm.families.Binomial(), var_weights=wn, missing="raise")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(tol=1e-12, maxiter=100)
    separation = False
    for wmsg in caught:
        # statsmodels' own separation warning is re-issued once as irmodels' SeparationWarning
        if "separation" in str(wmsg.message).lower():
            separation = True
        else:
            warnings.warn_explicit(wmsg.message, wmsg.category, wmsg.filename, wmsg.lineno)
    beta = np.asarray(fit.params)
    Xm = X.to_numpy()
    mu = 1 / (1 + np.exp(-(Xm @ beta)))
    if separation or np.any(mu < 1e-8) or np.any(mu > 1 - 1e-8):
        warnings.warn(f"svyglm_logit: fitted probabilities of 0 or 1 ({formula!r}): (quasi-)separation; estimates and SEs are unreliable", SeparationWarning, stacklevel=2)
    Ainv = np.linalg.inv(Xm.T @ ((wn * mu * (1 - mu))[:, None] * Xm))
    U = (Xm * (wn * (yv - mu))[:, None]) @ Ainv
    V = linearized_variance(U, w, cal)
    se = np.sqrt(np.diag(V))
    zq = stats.norm.ppf(0.5 + level / 2)
    zstat = beta / se
    out = pd.DataFrame(
        {
            "term": list(X.columns),
            "estimate": beta,
            "std_error": se,
            "statistic": zstat,
            "p_value": 2 * stats.norm.sf(np.abs(zstat)),
            "lower": beta - zq * se,
            "upper": beta + zq * se,
        }
    )
    out["odds_ratio"] = np.exp(out["estimate"])
    out["or_lower"] = np.exp(out["lower"])
    out["or_upper"] = np.exp(out["upper"])
    out["n"] = len(yv)
    out["method"] = "svyglm_logit (sandwich, linearisation" + (f", {cal['kind']} calibration)" if cal else ")")
    out.attrs["vcov"] = pd.DataFrame(V, index=X.columns, columns=X.columns)
    return out
