"""Sensitivity of weighted estimates to non-ignorable non-response.

Weighting assumes that, within the weighting cells, non-respondents resemble
respondents (missing at random, MAR). This module asks what happens if they do
not:

* :func:`tipping_point`: delta adjustment. Non-respondents' log-odds of the
  outcome are shifted by :math:`\\delta` relative to the MAR prediction; the
  tipping point is the :math:`\\delta` (odds ratio :math:`e^\\delta`) at which the
  frame-wide prevalence falls to a threshold (default 50%).
* :func:`manski_bounds`: worst-case bounds using only the frame size (no
  assumption about non-respondents).
* :func:`r_indicator`: the R-indicator of representativeness
  (Schouten, Cobben & Bethlehem 2009) with its standard error.

Results carry ``identification``: ``bounded`` for Manski bounds, ``assumption``
for everything that needs a frame scenario or a delta.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from irmodels.errors import DataDroppedWarning, WeightingError
from irmodels.weighting import PropensityAboveOneWarning, WeightingResult, effective_n

__all__ = ["TippingPoint", "tipping_point", "delta_adjusted", "tipping_from_curve", "manski_bounds", "r_indicator", "r_indicator_ci"]


def _expit(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class TippingPoint:
    """Result of :func:`tipping_point`.

    Attributes
    ----------
    curve : DataFrame
        ``delta, odds_ratio, estimate, std_error, lower, upper, identification``.
    delta_star : float or None
        :math:`\\delta` where the estimate equals the threshold (None if not
        reached within ``[-20, 20]``).
    delta_star_upper : float or None
        :math:`\\delta` where the *upper* confidence limit equals the threshold
        (below it, the data are compatible only with coverage under the threshold).
    threshold : float
    estimate_mar : float
        Estimate at :math:`\\delta = 0`.
    notes : list of str
    """

    curve: pd.DataFrame
    delta_star: float | None
    delta_star_upper: float | None
    threshold: float
    estimate_mar: float
    notes: list[str] = field(default_factory=list)

    @property
    def odds_ratio_star(self) -> float | None:
        """:math:`e^{\\delta^*}`."""
        return None if self.delta_star is None else float(np.exp(self.delta_star))

    def summary(self) -> dict:
        """One-row summary (for tables)."""
        return {
            "threshold": self.threshold,
            "estimate_mar": self.estimate_mar,
            "delta_star": self.delta_star,
            "odds_ratio_star": self.odds_ratio_star,
            "delta_star_upper": self.delta_star_upper,
            "odds_ratio_star_upper": None if self.delta_star_upper is None else float(np.exp(self.delta_star_upper)),
            "identification": "assumption",
        }


def tipping_point(
    data: pd.DataFrame,
    outcome: str,
    weights: Any,
    *,
    threshold: float = 0.5,
    frame_size: float = 1180,
    model: str | None = None,
    deltas: np.ndarray | None = None,
    level: float = 0.95,
) -> TippingPoint:
    r"""Delta-adjustment (tipping-point) analysis of a frame-wide prevalence.

    Parameters
    ----------
    data : DataFrame
        Respondents; ``outcome`` is boolean with ``<NA>`` for item non-response
        (those departments count as non-respondents for this item).
    outcome : str
    weights : Series, array, column name or WeightingResult
        Non-response weights; rescaled over the answers to sum to ``frame_size``.
    threshold : float
        Prevalence of interest (default 0.5).
    frame_size : float
        Number of invited departments (1180 in 2017).
    model : str, optional
        None (default): one delta for all non-respondents, relative to the
        non-respondent prevalence the weighted estimate implies. Or the right-hand
        side of a weighted logistic model (e.g. ``"C(beds_class)"``) giving each
        respondent's MAR prediction :math:`\hat p_i` for the non-respondents it stands for.
    deltas : array, optional
        Grid of :math:`\delta` (default -4 to 4 by 0.05).
    level : float

    Returns
    -------
    TippingPoint

    Notes
    -----
    With :math:`y` positives among :math:`n` answers, frame size :math:`N` and weighted
    estimate :math:`\hat p_w` (:func:`irmodels.survey.weighted_prevalence`, calibration-aware
    linearisation SE :math:`se_w`), the non-respondents' MAR prevalence is
    :math:`\mu_0 = (N\hat p_w - y)/(N - n)`; shifting it by :math:`\delta` on the logit scale,

    .. math:: \hat\theta(\delta) = \big(y + (N-n)\,\mathrm{expit}(\mathrm{logit}\,\mu_0 + \delta)\big)/N,

    so :math:`\hat\theta(0) = \hat p_w`, with SE
    :math:`se_w\,\mu_\delta(1-\mu_\delta)/(\mu_0(1-\mu_0))` (delta method; the respondents'
    own answers are known). With ``model``, respondent :math:`i` (weight :math:`w_i`,
    rescaled to sum to :math:`N`) stands for :math:`m_i = w_i - 1` non-respondents with
    probability :math:`\mathrm{expit}(\mathrm{logit}\,\hat p_i+\delta)`
    (:math:`\hat\theta(\delta) = (y + \sum_i m_i q_i(\delta))/N`; negative :math:`m_i`
    are set to 0 and noted) and the SE is :math:`\sqrt{g'Vg}` through the model's
    sandwich covariance. Intervals are built on the logit scale. Item non-respondents
    count as non-respondents.
    """
    import patsy

    from irmodels.survey import _binary, _resolve_weights, svyglm_logit

    if not 0 < threshold < 1:
        raise WeightingError(f"threshold must be in (0, 1); got {threshold}")
    w, _ = _resolve_weights(weights, data)
    y = _binary(data, outcome, None)
    ans = ~y.isna().to_numpy()
    n = int(ans.sum())
    if frame_size <= n:
        raise WeightingError(f"frame_size {frame_size} must exceed the number of answers {n}")
    notes = []
    if (~ans).any():
        notes.append(f"{int((~ans).sum())} item non-response(s) in {outcome!r} counted as non-respondents")
    z = stats.norm.ppf(0.5 + level / 2)
    ysum = float((y[ans] == 1).sum())
    if model is None:
        # aggregate delta: the non-respondents' MAR mean is what the weighted estimate implies,
        # so theta(0) is the weighted estimate and its SE the (calibration-aware) linearisation SE
        from irmodels.survey import weighted_prevalence

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataDroppedWarning)  # item non-response is in `notes`
            wp = weighted_prevalence(data, outcome, weights, missing="exclude").iloc[0]
        p_w, se_w = float(wp["estimate"]), float(wp["std_error"])
        tp = delta_adjusted(p_w, se_w, ysum, n, frame_size, threshold=threshold, deltas=deltas, level=level)
        return TippingPoint(curve=tp.curve, delta_star=tp.delta_star, delta_star_upper=tp.delta_star_upper,
                            threshold=threshold, estimate_mar=tp.estimate_mar, notes=notes + tp.notes)

    d = data.loc[ans].copy()
    wa = w[ans] * frame_size / w[ans].sum()
    m = wa - 1.0
    if np.any(m < 0):
        notes.append(f"{int((m < 0).sum())} respondents have weight < 1 (scenario has fewer departments than respondents in their cell): their non-respondent mass set to 0")
        m = np.clip(m, 0, None)
        m *= (frame_size - n) / m.sum()
    d["_y"] = y[ans].astype(float).to_numpy()
    fit = svyglm_logit(f"_y ~ {model}", d, pd.Series(wa, index=d.index))
    beta = fit["estimate"].to_numpy()
    V = fit.attrs["vcov"].to_numpy()
    X = np.asarray(patsy.dmatrix(model, d, return_type="dataframe", NA_action="raise"))
    eta = X @ beta

    def est(delta: float) -> tuple[float, float]:
        q = _expit(eta + delta)
        th = (ysum + float(m @ q)) / frame_size
        g = (X * (m * q * (1 - q))[:, None]).sum(axis=0) / frame_size
        return th, float(np.sqrt(g @ V @ g))

    return _tipping_from(est, z, threshold, deltas, notes)


def _tipping_from(est, z: float, threshold: float, deltas: np.ndarray | None, notes: list[str]) -> TippingPoint:
    """Curve over the delta grid and the tipping points of an estimator ``est(delta) -> (theta, se)``."""

    def bounds(th: float, se: float) -> tuple[float, float]:
        s = se / (th * (1 - th))
        e = np.log(th / (1 - th))
        return float(_expit(e - z * s)), float(_expit(e + z * s))

    grid = np.round(np.arange(-4, 4.0001, 0.05), 10) if deltas is None else np.asarray(deltas, dtype=float)
    rows = []
    for dl in grid:
        th, se = est(dl)
        lo, hi = bounds(th, se)
        rows.append({"delta": float(dl), "odds_ratio": float(np.exp(dl)), "estimate": th, "std_error": se, "lower": lo, "upper": hi, "identification": "assumption"})
    curve = pd.DataFrame(rows)

    def solve(f) -> float | None:
        a, b = -20.0, 20.0
        fa, fb = f(a), f(b)
        if np.sign(fa) == np.sign(fb):
            return None
        return float(optimize.brentq(f, a, b, xtol=1e-10))

    d_star = solve(lambda dl: est(dl)[0] - threshold)
    d_up = solve(lambda dl: bounds(*est(dl))[1] - threshold)
    if d_star is None:
        notes.append(f"the estimate does not reach {threshold} for delta in [-20, 20]")
    return TippingPoint(curve=curve, delta_star=d_star, delta_star_upper=d_up, threshold=threshold, estimate_mar=est(0.0)[0], notes=notes)


def delta_adjusted(
    estimate: float,
    std_error: float,
    n_positive: float,
    n_answered: float,
    frame_size: float,
    *,
    threshold: float = 0.5,
    deltas: np.ndarray | None = None,
    level: float = 0.95,
) -> TippingPoint:
    r"""Delta-adjustment of a frame-wide prevalence from its MAR estimate (no model).

    Parameters
    ----------
    estimate, std_error : float
        The MAR (weighted or post-stratified) frame-wide prevalence and its standard error.
    n_positive, n_answered : float
        Positives and answers among respondents (known exactly).
    frame_size : float
        Invited units.
    threshold : float
        Prevalence whose crossing is the tipping point.
    deltas : array, optional
        Grid of shifts on the logit scale (default -4 to 4 by 0.05).
    level : float

    Returns
    -------
    TippingPoint
        As :func:`tipping_point` with ``model=None`` (which calls this function).

    Raises
    ------
    WeightingError
        If the estimate implies a non-respondent prevalence outside (0, 1).

    Notes
    -----
    Non-respondents' MAR prevalence :math:`\mu_0 = (N\hat p - y)/(N - n)` is shifted by
    :math:`\delta` on the logit scale:
    :math:`\hat\theta(\delta) = (y + (N-n)\,\mathrm{expit}(\mathrm{logit}\,\mu_0 + \delta))/N`,
    SE :math:`se\,\mu_\delta(1-\mu_\delta)/(\mu_0(1-\mu_0))` (delta method), logit intervals.
    """
    if not 0 < threshold < 1:
        raise WeightingError(f"threshold must be in (0, 1); got {threshold}")
    N, n, ysum = float(frame_size), float(n_answered), float(n_positive)
    if N <= n:
        raise WeightingError(f"frame_size {frame_size} must exceed the number of answers {n:g}")
    mu0 = (N * estimate - ysum) / (N - n)
    if not 0 < mu0 < 1:
        raise WeightingError(
            f"tipping_point: the weighted estimate {estimate:.4f} implies a non-respondent prevalence of {mu0:.4f} "
            f"(outside (0, 1)) with {int(ysum)} positives among {int(n)} answers and frame size {frame_size:g}; "
            "check the frame size or use model=..."
        )
    z = stats.norm.ppf(0.5 + level / 2)
    lmu0 = np.log(mu0 / (1 - mu0))

    def est(delta: float) -> tuple[float, float]:
        mu = float(_expit(lmu0 + delta))
        th = (ysum + (N - n) * mu) / N
        return th, mu * (1 - mu) / (mu0 * (1 - mu0)) * std_error

    return _tipping_from(est, z, threshold, deltas, [])


def manski_bounds(
    data: pd.DataFrame | None = None,
    outcome: str = "cover_24_7",
    *,
    n_positive: int | None = None,
    n_answered: int | None = None,
    frame_size: float = 1180,
) -> pd.DataFrame:
    """Worst-case (Manski) bounds on the frame-wide prevalence.

    Parameters
    ----------
    data : DataFrame, optional
        Respondents; or give the counts ``n_positive`` and ``n_answered``.
    outcome : str
    n_positive, n_answered : int, optional
    frame_size : float
        Invited departments (1180).

    Returns
    -------
    DataFrame
        One row: ``term, estimate_respondents, lower, upper, width, n_positive,
        n_answered, frame_size, identification`` (= ``"bounded"``).

    Notes
    -----
    With :math:`y` positives among :math:`n` answers of :math:`N` invited, every
    non-respondent may be negative or positive:
    :math:`[y/N,\\ (y + N - n)/N]`; the width is the non-response rate
    :math:`1 - n/N`. No assumption about non-respondents is made.

    Examples
    --------
    >>> manski_bounds(n_positive=60, n_answered=97)[["lower", "upper"]].round(4).values.tolist()
    [[0.0508, 0.9686]]
    """
    if data is not None:
        from irmodels.survey import _binary

        y = _binary(data, outcome, None)
        n_positive, n_answered = int((y == 1).sum()), int(y.notna().sum())
    if n_positive is None or n_answered is None:
        raise WeightingError("manski_bounds: pass data or both n_positive and n_answered")
    if not 0 <= n_positive <= n_answered <= frame_size:
        raise WeightingError(f"manski_bounds: need 0 <= n_positive ({n_positive}) <= n_answered ({n_answered}) <= frame_size ({frame_size})")
    lo = n_positive / frame_size
    hi = (n_positive + frame_size - n_answered) / frame_size
    return pd.DataFrame(
        [
            {
                "term": outcome,
                "estimate_respondents": n_positive / n_answered if n_answered else float("nan"),
                "lower": lo,
                "upper": hi,
                "width": hi - lo,
                "n_positive": int(n_positive),
                "n_answered": int(n_answered),
                "frame_size": float(frame_size),
                "identification": "bounded",
            }
        ]
    )


def _r_value(rho: np.ndarray, d: np.ndarray) -> float:
    N = d.sum()
    mean = (d * rho).sum() / N
    s2 = (d * (rho - mean) ** 2).sum() / (N - 1)
    return float(1 - 2 * np.sqrt(s2))


def r_indicator(
    propensities: Any,
    weights: np.ndarray | pd.Series | None = None,
    *,
    model: dict | None = None,
    on_invalid: str = "raise",
) -> tuple[float, float]:
    """R-indicator of representativeness and its standard error.

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
        after a :class:`~irmodels.weighting.PropensityAboveOneWarning`.

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
    :math:`N = \\sum d_i` (Schouten, Cobben & Bethlehem 2009). :math:`R = 1` for
    equal propensities; :math:`R \\to 0` for maximal variation. SE: with a model,
    :math:`\\sqrt{g'\\Sigma g}`, :math:`g = \\partial R/\\partial\\beta` (numerical),
    :math:`\\Sigma` the model covariance; without one, the sampling SE of :math:`S`
    treating the :math:`\\hat\\rho_i` as observed,
    :math:`se(S^2)\\approx\\sqrt{(m_4-S^4)/n^*}` with Kish's :math:`n^*`, and
    :math:`se(R) = se(S^2)/S`.

    References
    ----------
    Schouten B, Cobben F, Bethlehem J (2009). Indicators for the representativeness
    of survey response. Survey Methodology 35(1):101-113.
    """
    if isinstance(propensities, WeightingResult):
        if "frame_propensity" not in propensities.diagnostics:
            raise WeightingError("r_indicator: the WeightingResult is not a propensity weighting (method='propensity')")
        fp = propensities.diagnostics["frame_propensity"]
        model = propensities.diagnostics["propensity_model"] if model is None else model
        rho = fp["propensity"].to_numpy(dtype=float)
        d = fp["N"].to_numpy(dtype=float)
    else:
        rho = np.asarray(propensities, dtype=float)
        d = np.ones(len(rho)) if weights is None else np.asarray(weights, dtype=float)
    if rho.shape != d.shape:
        raise WeightingError(f"r_indicator: {len(rho)} propensities but {len(d)} weights")
    if not (np.all(np.isfinite(rho)) and np.all(np.isfinite(d)) and np.all(d >= 0)):
        raise WeightingError("r_indicator: propensities and weights must be finite, weights >= 0")
    if on_invalid not in ("raise", "nan"):
        raise WeightingError(f"r_indicator: on_invalid must be 'raise' or 'nan'; got {on_invalid!r}")
    above = int((rho > 1).sum())
    if above:
        msg = (f"r_indicator: {above} of {len(rho)} frame cells have response propensity > 1 (max {rho.max():.3g}): "
               "the frame has fewer units than respondents there, so the propensities are not probabilities and R is "
               "not defined; use a frame scenario consistent with the data")
        if on_invalid == "raise":
            raise WeightingError(msg)
        warnings.warn(msg + "; R reported as NaN", PropensityAboveOneWarning, stacklevel=2)
        return float("nan"), float("nan")
    R = _r_value(rho, d)
    if model is not None:
        X = np.asarray(model["design_frame"], dtype=float)
        beta = np.asarray(model["params"], dtype=float)
        cov = np.asarray(model["cov"], dtype=float)
        if X.shape[0] != len(rho):
            raise WeightingError("r_indicator: the model's frame design has a different number of cells")
        g = np.zeros(len(beta))
        for j in range(len(beta)):
            h = 1e-6 * max(1.0, abs(beta[j]))
            bp, bm = beta.copy(), beta.copy()
            bp[j] += h
            bm[j] -= h
            g[j] = (_r_value(np.exp(X @ bp), d) - _r_value(np.exp(X @ bm), d)) / (2 * h)
        return R, float(np.sqrt(g @ cov @ g))
    N = d.sum()
    mean = (d * rho).sum() / N
    s2 = (d * (rho - mean) ** 2).sum() / (N - 1)
    m4 = (d * (rho - mean) ** 4).sum() / N
    if s2 <= 0:
        return R, 0.0
    se_s2 = np.sqrt(max(m4 - s2**2, 0.0) / effective_n(d))
    return R, float(se_s2 / np.sqrt(s2))


def r_indicator_ci(estimate: float, std_error: float, level: float = 0.95, *, df: float = np.inf) -> tuple[float, float]:
    """Normal (or t) interval for an R-indicator, clipped to [0, 1].

    Parameters
    ----------
    estimate, std_error : float
        :math:`\\hat R` and its standard error (:func:`r_indicator`, or Rubin-pooled).
    level : float
    df : float
        Degrees of freedom of a t interval (e.g. Barnard-Rubin after pooling); default normal.

    Returns
    -------
    (lower, upper)
        :math:`\\hat R \\pm t_{df}\\,se`, clipped to [0, 1]; (nan, nan) for a NaN estimate.

    Notes
    -----
    With propensities in [0, 1], :math:`S(\\rho) \\le 1/2`, so :math:`R \\in [0, 1]`.
    A transformation (e.g. logit) is not used because the reference scenario
    "respondents' own distribution" gives :math:`R = 1` (every propensity equal),
    where any such transformation degenerates; the interval is clipped instead, so a
    bound at exactly 0 or 1 means the normal interval crossed it.
    """
    if not np.isfinite(estimate) or not np.isfinite(std_error):
        return float("nan"), float("nan")
    q = float(stats.t.ppf(0.5 + level / 2, df)) if np.isfinite(df) else float(stats.norm.ppf(0.5 + level / 2))
    return float(np.clip(estimate - q * std_error, 0.0, 1.0)), float(np.clip(estimate + q * std_error, 0.0, 1.0))


def tipping_from_curve(curve: pd.DataFrame, threshold: float = 0.5) -> dict:
    """Tipping points read off a (pooled) delta curve by linear interpolation.

    Parameters
    ----------
    curve : DataFrame
        ``delta, estimate, upper`` sorted or not (e.g. Rubin-pooled
        :attr:`TippingPoint.curve` over reconstruction replicates).
    threshold : float

    Returns
    -------
    dict
        ``delta_star`` / ``odds_ratio_star`` (estimate = threshold) and
        ``delta_star_upper`` / ``odds_ratio_star_upper`` (upper limit = threshold); None
        when the curve does not cross the threshold on its grid.
    """
    c = curve.sort_values("delta")
    out: dict = {"threshold": threshold}
    for col, key in (("estimate", "delta_star"), ("upper", "delta_star_upper")):
        y = c[col].to_numpy(dtype=float) - threshold
        x = c["delta"].to_numpy(dtype=float)
        idx = np.flatnonzero(np.sign(y[:-1]) != np.sign(y[1:]))
        if len(idx) == 0:
            out[key] = None
            out[key.replace("delta", "odds_ratio")] = None
            continue
        i = idx[0]
        d = float(x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i]))
        out[key] = d
        out[key.replace("delta", "odds_ratio")] = float(np.exp(d))
    return out
