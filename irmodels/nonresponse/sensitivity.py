"""Sensitivity of weighted estimates to non-ignorable non-response: tipping points.

Weighting assumes that, within the weighting cells, non-respondents resemble
respondents (missing at random, MAR). This module asks what happens if they do
not:

* :func:`tipping_point`: delta adjustment. Non-respondents' log-odds of the
  outcome are shifted by :math:`\\delta` relative to the MAR prediction; the
  tipping point is the :math:`\\delta` (odds ratio :math:`e^\\delta`) at which the
  frame-wide prevalence falls to a threshold (default 50%).
* :func:`delta_adjusted`: the same from a MAR estimate and its standard error (no model);
  :func:`tipping_from_curve` reads the tipping points off a (pooled) curve.

The other views of non-ignorable non-response live beside it:
:func:`~irmodels.nonresponse.manski.manski_bounds` (worst-case bounds using only the frame
size, no assumption about non-respondents) and
:func:`~irmodels.nonresponse.representativeness.representativeness` (the R-indicator with
its companions).

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

from irmodels.core.errors import DataDroppedWarning, WeightingError

__all__ = ["TippingPoint", "tipping_point", "delta_adjusted", "tipping_from_curve"]


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
    frame_size: float | None = None,
    model: str | None = None,
    deltas: np.ndarray | None = None,
    level: float = 0.95,
) -> TippingPoint:
    r"""Delta-adjustment (tipping-point) analysis of a frame-wide prevalence.

    Signature: ``tipping_point(data, outcome, weights, *, threshold=0.5,
    frame_size=None, model=None, deltas=None, level=0.95)``.

    Parameters
    ----------
    data : DataFrame
        Respondents, one row each; ``outcome`` is boolean (or 0/1) with ``<NA>`` for item
        non-response (those departments count as non-respondents for this item).
    outcome : str
        Column of ``data`` holding the binary outcome (e.g. ``"cover_24_7"``).
    weights : Series, array, column name or WeightingResult
        Non-response weights of the rows of ``data`` (e.g. ``weight(data, "rake",
        margins=...)``, a ``weight --into`` column, or its name); rescaled over the
        answers to sum to ``frame_size``.
    threshold : float, default 0.5
        Prevalence of interest, in (0, 1).
    frame_size : float, optional
        Number of invited units :math:`N` (departments) of the wave. Default (None): the
        sum of ``weights`` over all rows -- weights calibrated to a frame (rake, linear,
        logit to :func:`irmodels.nonresponse.frame.frame_margins`) sum to its population size; the
        value used is in ``notes``. Weights that sum to no more than the number of
        respondents (e.g. unit weights) raise: pass ``frame_size``.
    model : str, optional
        None (default): one delta for all non-respondents, relative to the
        non-respondent prevalence the weighted estimate implies. Or the right-hand
        side of a weighted logistic model (e.g. ``"C(beds_class)"``) giving each
        respondent's MAR prediction :math:`\hat p_i` for the non-respondents it stands for.
    deltas : array, optional
        Grid of :math:`\delta` for the curve (default -4 to 4 by 0.05).
    level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    TippingPoint
        ``curve`` (``delta, odds_ratio, estimate, std_error, lower, upper,
        identification``), ``delta_star``, ``delta_star_upper``, ``threshold``,
        ``estimate_mar`` (at :math:`\delta = 0`), ``notes``; ``summary()`` gives one row.

    Raises
    ------
    WeightingError
        ``threshold`` outside (0, 1); invalid weights; a frame size (given or the sum of
        the weights) not above the number of answers; a weighted estimate implying a
        non-respondent prevalence outside (0, 1) (``model=None``).

    Notes
    -----
    With :math:`y` positives among :math:`n` answers, frame size :math:`N` and weighted
    estimate :math:`\hat p_w` (:func:`irmodels.nonresponse.survey.weighted_prevalence`, calibration-aware
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

    Examples
    --------
    >>> d = pd.DataFrame({"y": [True] * 6 + [False] * 4})
    >>> tp = tipping_point(d, "y", np.full(10, 5.0))  # weights sum to the frame size 50
    >>> round(tp.estimate_mar, 3), tp.notes[0]
    (0.6, 'frame_size = 50 (the sum of the weights)')
    """
    import patsy

    from irmodels.nonresponse.survey import _binary, _resolve_weights
    from irmodels.nonresponse.svyglm import svyglm_logit

    if not 0 < threshold < 1:
        raise WeightingError(f"threshold must be in (0, 1); got {threshold}")
    w, _ = _resolve_weights(weights, data)
    y = _binary(data, outcome, None)
    ans = ~y.isna().to_numpy()
    n = int(ans.sum())
    notes = []
    if frame_size is None:
        frame_size = float(np.sum(w))
        if frame_size <= len(data) * (1 + 1e-9):
            raise WeightingError(
                f"tipping_point: the weights sum to {frame_size:g}, not more than the {len(data)} respondents, so they "
                "are not weights calibrated to a frame and do not give its size: pass frame_size= (the number of "
                "units the wave invited)")
        notes.append(f"frame_size = {frame_size:g} (the sum of the weights)")
    if frame_size <= n:
        raise WeightingError(f"frame_size {frame_size} must exceed the number of answers {n}")
    if (~ans).any():
        notes.append(f"{int((~ans).sum())} item non-response(s) in {outcome!r} counted as non-respondents")
    z = stats.norm.ppf(0.5 + level / 2)
    ysum = float((y[ans] == 1).sum())
    if model is None:
        # aggregate delta: the non-respondents' MAR mean is what the weighted estimate implies,
        # so theta(0) is the weighted estimate and its SE the (calibration-aware) linearisation SE
        from irmodels.nonresponse.survey import weighted_prevalence

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
