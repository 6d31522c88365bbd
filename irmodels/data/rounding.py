"""How a printed percentage arises from a count and a denominator (exact rational arithmetic).

Shared by the 2017 wave's published subgroup items (:mod:`irmodels.data.waves.esr_cirse_2017`)
and the audit of the paper (:mod:`irmodels.published.audit`).
"""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = ["percent_match"]


def percent_match(count: int, denominator: int, printed: str) -> str | None:
    """How a printed percentage arises from ``count / denominator``.

    Parameters
    ----------
    count, denominator : int
    printed : str
        The percentage as printed, without ``%`` (``"65.30"``, ``"50"``).

    Returns
    -------
    ``"round"`` if ``100 * count / denominator`` rounded half-up to the printed
    number of decimals equals the printed value; ``"trunc"`` if only
    truncation (cutting the decimals) gives it; ``None`` otherwise.

    Notes
    -----
    Exact rational arithmetic (:class:`fractions.Fraction`), so 64/98 =
    65.3061...% is ``"trunc"`` for "65.30" and ``"round"`` for "65.3".

    Examples
    --------
    >>> percent_match(64, 98, "65.30"), percent_match(60, 97, "60.8")
    ('trunc', None)
    """
    if denominator <= 0:
        return None
    dec = len(printed.split(".")[1]) if "." in printed else 0
    scale = 10**dec
    target = Fraction(printed)
    x = Fraction(100 * count, denominator) * scale
    if Fraction(math.floor(x + Fraction(1, 2)), scale) == target:
        return "round"
    if Fraction(math.floor(x), scale) == target:
        return "trunc"
    return None
