"""Planning's inputs from a wave: the design effect of weights, frame cells and response rates.

:func:`deff_kish` turns the weights of a previous wave into a design effect; the helpers check
the frame cells of a plan (``N`` and the ``by`` columns), the response rates (one, or one per
beds class) and the ``by`` argument, listing every problem at once.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from irmodels.core.errors import Problem
from irmodels.studies.planning_checks import PlanningError, _Checks

# --------------------------------------------------------------------------- design effect


def deff_kish(weights: Sequence[float] | np.ndarray | pd.Series) -> float:
    r"""Kish design effect due to unequal weights, :math:`1 + CV^2(w)`.

    Parameters
    ----------
    weights : array-like
        Survey weights of the respondents (e.g. ``irmodels weight --out``); finite and > 0.

    Returns
    -------
    float
        :math:`\mathrm{deff}_K = 1 + \frac{1}{n}\sum_i (w_i - \bar w)^2 / \bar w^2
        = n \sum w_i^2 / (\sum w_i)^2` (the relvariance uses the divisor n, as
        ``PracTools::deffK``).

    Raises
    ------
    PlanningError
        No weights, or a weight that is missing, not finite or not positive (each listed).

    Notes
    -----
    Kish's factor is the variance inflation of a weighted mean under equal unit variances
    (Kish 1965, 1992); it ignores the gain from weights correlated with the outcome, so it is
    a planning value, not a property of an estimator.

    References
    ----------
    Kish, L. (1992). Weighting for unequal :math:`P_i`. *J. Official Statistics* 8, 183-200.

    Examples
    --------
    >>> deff_kish([1, 1, 1, 3])  # CV^2 = 0.75 / 1.5^2 = 1/3
    1.3333333333333333
    """
    w = pd.Series(np.asarray(weights, dtype=float).ravel()) if not isinstance(weights, pd.Series) else pd.to_numeric(weights, errors="coerce")
    if len(w) == 0:
        raise PlanningError([Problem(rule="no weights given", column="weights")])
    bad = w[~np.isfinite(w.to_numpy(dtype=float)) | (w.to_numpy(dtype=float) <= 0)]
    if len(bad):
        raise PlanningError([Problem(rule="a weight must be finite and > 0", row=i, column="weights", value=v) for i, v in bad.items()])
    from irmodels.nonresponse.weighting_diagnostics import kish_deff

    return kish_deff(w.to_numpy(dtype=float))


# --------------------------------------------------------------------------- frames and rates


def _cells_problems(cells: pd.DataFrame, need: Sequence[str]) -> list[Problem]:
    probs = []
    for col in list(need) + ["N"]:
        if col not in cells.columns:
            probs.append(Problem(rule=f"frame cells need this column; they have {list(cells.columns)}", column=col))
    if "N" in cells.columns:
        N = pd.to_numeric(cells["N"], errors="coerce")
        for i, v in cells["N"][~np.isfinite(N.to_numpy(dtype=float)) | (N.to_numpy(dtype=float) < 0)].items():
            probs.append(Problem(rule="frame count must be a finite number >= 0", row=i, column="N", value=v))
    for col in need:
        if col in cells.columns and cells[col].isna().any():
            for i in cells.index[cells[col].isna().to_numpy()]:
                probs.append(Problem(rule="frame cell without a value here (e.g. a country in no region)", row=i, column=col, value=None))
    return probs


def _check_rates(c: _Checks, response_rate: Any) -> None:
    if isinstance(response_rate, Mapping):
        for k, v in response_rate.items():
            c.prob(f"response_rate[{k}]", v, hi=1.0, hi_open=False)
    else:
        c.prob("response_rate", response_rate, hi=1.0, hi_open=False)


def _rate_of(response_rate: float | Mapping[str, float], classes: Iterable[str]) -> dict[str, float]:
    """Response rate per beds class, checked; a float applies to every class."""
    classes = [str(k) for k in classes]
    c = _Checks()
    if isinstance(response_rate, Mapping):
        for k, v in response_rate.items():
            c.prob(f"response_rate[{k}]", v, hi=1.0, hi_open=False)
        missing = [k for k in classes if k not in response_rate]
        for k in missing:
            c.problems.append(Problem(rule=f"no response rate for this beds class; given for {sorted(map(str, response_rate))}",
                                      column="response_rate", value=k))
        c.raise_if_any()
        return {k: float(response_rate[k]) for k in classes}
    c.prob("response_rate", response_rate, hi=1.0, hi_open=False)
    c.raise_if_any()
    return {k: float(response_rate) for k in classes}


def _labels(cells: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    out = cells.copy()
    for col in ("region", "beds_class"):
        if col not in by:
            out[col] = "all"
    for col in ("region", "beds_class"):
        out[col] = out[col].astype(str)
    return out


def _by_tuple(by: str | Sequence[str] | None) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        by = [s.strip() for s in by.split(",") if s.strip()]
    by = tuple(by)
    bad = [b for b in by if b not in ("region", "beds_class")]
    if bad:
        raise PlanningError([Problem(rule="plans are by region and/or beds_class", column="by", value=b) for b in bad])
    return by
