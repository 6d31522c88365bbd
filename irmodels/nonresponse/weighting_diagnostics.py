"""Weight diagnostics and trimming: Kish design effect, effective n, summaries, margin tables.

Owns :func:`trim` (bounds with the excess redistributed, total kept), :func:`kish_deff`,
:func:`effective_n`, :func:`weight_summary` and :func:`margin_table` (margins before and
after weighting against the targets); :func:`irmodels.nonresponse.weighting.weight` puts
them into every result's ``diagnostics``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from irmodels.core.errors import ConvergenceError, WeightingError
from irmodels.nonresponse.weighting_checks import Margins, _check_weights

__all__ = ["trim", "kish_deff", "effective_n", "weight_summary", "margin_table"]


def trim(
    weights: pd.Series,
    upper: float | None = None,
    lower: float | None = None,
    *,
    relative: bool = True,
    max_iter: int = 100,
) -> pd.Series:
    """Trim weights to ``[lower, upper]`` and redistribute the excess, keeping the total.

    Parameters
    ----------
    weights : Series
    upper, lower : float, optional
        Bounds; multiples of the mean weight if ``relative`` (e.g. ``upper=3.5``),
        else absolute.
    relative : bool
    max_iter : int

    Returns
    -------
    Series
        Trimmed weights with the same sum; ``attrs["n_trimmed"]`` counts the units
        at a bound.

    Notes
    -----
    Units outside the bounds are set to the bound and the difference is spread over
    the other units in proportion to their weights; repeated until no unit is
    outside (the bounds are fixed at their initial values). Trimming after
    calibration breaks the calibration: the diagnostics then show the margins
    after trimming.
    """
    w0 = _check_weights(weights, weights.index, "weights")
    total = w0.sum()
    mean = total / len(w0)
    up = (upper * mean if relative else upper) if upper is not None else np.inf
    lo = (lower * mean if relative else lower) if lower is not None else 0.0
    if lo * len(w0) > total or up * len(w0) < total:
        raise WeightingError(f"trim: bounds [{lo:g}, {up:g}] cannot keep the total {total:g} over {len(w0)} units")
    w = w0.copy()
    fixed = np.zeros(len(w), dtype=bool)
    for _ in range(max_iter):
        hi_, lo_ = w > up * (1 + 1e-12), w < lo * (1 - 1e-12)
        if not (hi_.any() or lo_.any()):
            break
        w[hi_], w[lo_] = up, lo
        fixed |= hi_ | lo_
        free = ~fixed
        excess = total - w.sum()
        if free.sum() == 0 or w[free].sum() <= 0:
            raise WeightingError("trim: no untrimmed unit left to receive the excess; loosen the bounds")
        w[free] *= 1 + excess / w[free].sum()
    else:
        raise ConvergenceError(f"trim did not converge in {max_iter} iterations")
    out = pd.Series(w, index=weights.index, name=weights.name)
    out.attrs["n_trimmed"] = int(fixed.sum())
    out.attrs["bounds"] = (float(lo), float(up))
    return out


def kish_deff(weights: np.ndarray | pd.Series) -> float:
    """Kish design effect due to unequal weights, :math:`n \\sum w^2 / (\\sum w)^2`."""
    w = np.asarray(weights, dtype=float)
    return float(len(w) * np.sum(w**2) / np.sum(w) ** 2)


def effective_n(weights: np.ndarray | pd.Series) -> float:
    """Kish effective sample size :math:`(\\sum w)^2 / \\sum w^2`."""
    w = np.asarray(weights, dtype=float)
    return float(np.sum(w) ** 2 / np.sum(w**2))


def weight_summary(weights: np.ndarray | pd.Series) -> dict:
    """n, sum, mean, quartiles, min, max, max/min ratio, CV, Kish deff and effective n."""
    w = np.asarray(weights, dtype=float)
    q = np.quantile(w, [0.0, 0.25, 0.5, 0.75, 1.0])
    return {
        "n": int(len(w)),
        "sum": float(w.sum()),
        "mean": float(w.mean()),
        "min": float(q[0]),
        "q25": float(q[1]),
        "median": float(q[2]),
        "q75": float(q[3]),
        "max": float(q[4]),
        "ratio_max_min": float(q[4] / q[0]) if q[0] > 0 else float("inf"),
        "cv": float(w.std() / w.mean()),
        "deff_kish": kish_deff(w),
        "n_eff": effective_n(w),
    }


def margin_table(data: pd.DataFrame, margins: Margins, weights: np.ndarray | pd.Series, base: np.ndarray | pd.Series | None = None) -> pd.DataFrame:
    """Margins before (base weights) and after weighting versus the targets.

    Returns
    -------
    DataFrame
        ``variable, category, n, target, base_total, weighted_total, target_share,
        sample_share`` (unweighted), ``base_share, weighted_share, std_diff_before,
        std_diff_after, target_below_n`` (the frame has fewer units than
        respondents: the frame scenario contradicts the data) where a standardised difference is
        :math:`(p - p_T)/\\sqrt{p_T(1-p_T)}` for the share :math:`p` and target share
        :math:`p_T`.
    """
    w = np.asarray(weights, dtype=float)
    d = np.ones(len(w)) if base is None else np.asarray(base, dtype=float)
    rows = []
    for col, m in margins.items():
        vals = data[col].astype(str).to_numpy()
        T = sum(float(v) for v in m.values())
        for k, t in m.items():
            sel = vals == str(k)
            pt = float(t) / T
            ps, pb, pw = sel.mean(), d[sel].sum() / d.sum(), w[sel].sum() / w.sum()
            sd = np.sqrt(pt * (1 - pt)) if 0 < pt < 1 else np.nan
            rows.append(
                {
                    "variable": col,
                    "category": str(k),
                    "n": int(sel.sum()),
                    "target": float(t),
                    "base_total": float(d[sel].sum()),
                    "weighted_total": float(w[sel].sum()),
                    "target_share": pt,
                    "sample_share": float(ps),
                    "base_share": float(pb),
                    "weighted_share": float(pw),
                    "std_diff_before": float((pb - pt) / sd),
                    "std_diff_after": float((pw - pt) / sd),
                    # a frame with fewer units than respondents in a category contradicts the data
                    "target_below_n": bool(float(t) < sel.sum()),
                }
            )
    return pd.DataFrame(rows)
