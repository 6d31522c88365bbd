"""Worst-case (Manski) bounds on a frame-wide prevalence.

Only the respondents' answers and the frame size are used: every non-respondent may be
positive or negative, so the bounds hold whatever the non-response mechanism
(``identification = "bounded"``). Tipping points under named assumptions are in
:mod:`irmodels.nonresponse.sensitivity`.
"""

from __future__ import annotations

import pandas as pd

from irmodels.core.errors import WeightingError

__all__ = ["manski_bounds"]


def manski_bounds(
    data: pd.DataFrame | None = None,
    outcome: str = "cover_24_7",
    *,
    n_positive: int | None = None,
    n_answered: int | None = None,
    frame_size: float,
) -> pd.DataFrame:
    """Worst-case (Manski) bounds on the frame-wide prevalence.

    Signature: ``manski_bounds(data=None, outcome="cover_24_7", *, n_positive=None,
    n_answered=None, frame_size)``; ``frame_size`` is required (there is no default
    population size).

    Parameters
    ----------
    data : DataFrame, optional
        Respondents (binary ``outcome``, ``<NA>`` = not answered); or give the counts
        ``n_positive`` and ``n_answered`` instead.
    outcome : str, default "cover_24_7"
        Column of ``data``; also the ``term`` of the result.
    n_positive, n_answered : int, optional
        Positives and answers among the respondents (used when ``data`` is None).
    frame_size : float
        Number of invited units :math:`N` of the wave (e.g. a user frame's total,
        ``frame_cells(...).attrs["total"]``; 1180 for 2017).

    Returns
    -------
    DataFrame
        One row: ``term, estimate_respondents, lower, upper, width, n_positive,
        n_answered, frame_size, identification`` (= ``"bounded"``).

    Raises
    ------
    WeightingError
        Neither ``data`` nor both counts; counts not satisfying
        ``0 <= n_positive <= n_answered <= frame_size``.

    Notes
    -----
    With :math:`y` positives among :math:`n` answers of :math:`N` invited, every
    non-respondent may be negative or positive:
    :math:`[y/N,\\ (y + N - n)/N]`; the width is the non-response rate
    :math:`1 - n/N`. No assumption about non-respondents is made.

    Examples
    --------
    >>> manski_bounds(n_positive=60, n_answered=97, frame_size=1180)[["lower", "upper"]].round(4).values.tolist()
    [[0.0508, 0.9686]]
    """
    if data is not None:
        from irmodels.nonresponse.survey import _binary

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
