"""Planning's input checks: the error every planning function raises and the checks that fill it.

Each planning function collects every invalid argument (:class:`_Checks`) and raises once
(:class:`PlanningError`, one :class:`~irmodels.core.errors.Problem` per argument: name, value,
rule); :func:`_ceil` rounds a sample size up without counting float noise.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
from scipy import stats

from irmodels.core.errors import IrmodelsError, Problem

_ALTERNATIVES = ("two-sided", "greater", "less")
_EPS = 1e-9  # float noise allowed before rounding a sample size up


class PlanningError(IrmodelsError, ValueError):
    """Invalid planning input (a target, rate, design effect or frame); ``problems`` lists each.

    The message names the argument (``column``), the value and the rule for every problem.
    """

    def __init__(self, problems: Iterable[Problem] | str, *, what: str = "planning input") -> None:
        if isinstance(problems, str):
            problems = [Problem(rule=problems)]
        self.problems: list[Problem] = list(problems)
        n = len(self.problems)
        super().__init__("\n".join([f"{what}: {n} problem{'s' if n != 1 else ''} found"] + [f"  - {p}" for p in self.problems]))


# --------------------------------------------------------------------------- input checks


class _Checks:
    """Collects every invalid argument before raising once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def prob(self, name: str, value: Any, *, lo: float = 0.0, hi: float = 1.0, lo_open: bool = True,
             hi_open: bool = True) -> None:
        ok = (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
              and (math.isfinite(value) or (value == math.inf and hi == math.inf and not hi_open)))
        if ok:
            ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
        if not ok:
            lb, rb = ("(" if lo_open else "["), (")" if hi_open else "]")
            self.problems.append(Problem(rule=f"must be a number in {lb}{lo:g}, {hi:g}{rb}", column=name, value=value))

    def positive(self, name: str, value: Any) -> None:
        self.prob(name, value, lo=0.0, hi=math.inf)

    def choice(self, name: str, value: Any, valid: Iterable[str]) -> None:
        valid = list(valid)
        if value not in valid:
            self.problems.append(Problem(rule=f"unknown; valid: {valid}", column=name, value=value))

    def raise_if_any(self, what: str = "planning input") -> None:
        if self.problems:
            raise PlanningError(self.problems, what=what)


def _z(q: float) -> float:
    return float(stats.norm.ppf(q))


def _ceil(x: float) -> int:
    """Round a sample size up, ignoring float noise (9604.000000001 -> 9604)."""
    return int(math.ceil(x - _EPS * max(1.0, abs(x))))



def _check_alt(c: _Checks, alternative: str) -> None:
    c.choice("alternative", alternative, _ALTERNATIVES)
