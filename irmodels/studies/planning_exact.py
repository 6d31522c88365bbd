r"""Exact power of the planned tests by enumeration: every 2x2 table, weighted by its probability.

The large-sample formulas of :mod:`irmodels.studies.planning_proportions` and
:mod:`irmodels.studies.planning_logistic` approximate these; :func:`exact_power_two_proportions`
and ``power_logistic_binary(method="exact")`` sum the binomial probabilities of the tables the
test rejects (:data:`SIMULATED_TESTS`, the tests :func:`irmodels.studies.planning.power_check_task`
simulates).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from irmodels.studies.planning_checks import _check_alt, _Checks, _z

#: Tests whose exact power :func:`exact_power_two_proportions` and :func:`power_logistic_binary`
#: (``method="exact"``) enumerate, and :func:`power_check_task` simulates.
SIMULATED_TESTS: dict[str, str] = {
    "logistic_wald": "Wald z of the logistic coefficient of a binary predictor (X ~ Bernoulli(B), n fixed)",
    "pooled_z": "two-proportion z test, pooled variance (chi-square without correction), n1 and n2 fixed",
    "unpooled_z": "two-proportion Wald z test, unpooled variance, n1 and n2 fixed",
    "yates": "two-proportion pooled z test with Yates' continuity correction, n1 and n2 fixed",
    "arcsine": "arcsine test 2(asin sqrt(p1^) - asin sqrt(p2^)) / sqrt(1/n1 + 1/n2), n1 and n2 fixed",
}

_BULK = 1e-13  # binomial tail mass left out of each enumeration (the power is exact to ~1e-12)


def _bulk(n: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Support points of Binomial(n, p) outside the two 1e-13 tails, and their probabilities."""
    lo = max(int(stats.binom.ppf(_BULK, n, p)) - 1, 0)
    hi = min(int(stats.binom.isf(_BULK, n, p)) + 1, n)
    k = np.arange(lo, hi + 1)
    return k, stats.binom.pmf(k, n, p)


def _statistic(test: str, a: np.ndarray, n1: float, c: np.ndarray, n2: float) -> tuple[np.ndarray, np.ndarray]:
    """Signed test statistic (group 1 minus group 2) and whether it exists; ``a``, ``c`` successes (broadcast)."""
    a = np.asarray(a, dtype=float)
    c = np.asarray(c, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if test == "logistic_wald":
            b, d = n1 - a, n2 - c
            ok = (a > 0) & (b > 0) & (c > 0) & (d > 0)
            stat = (np.log(a) + np.log(d) - np.log(b) - np.log(c)) / np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
        else:
            h1, h2 = a / n1, c / n2
            if test == "arcsine":
                stat = 2 * (np.arcsin(np.sqrt(h1)) - np.arcsin(np.sqrt(h2))) / math.sqrt(1 / n1 + 1 / n2)
            elif test == "unpooled_z":
                stat = (h1 - h2) / np.sqrt(h1 * (1 - h1) / n1 + h2 * (1 - h2) / n2)
            else:
                pb = (a + c) / (n1 + n2)
                diff = h1 - h2
                if test == "yates":
                    diff = np.sign(diff) * np.maximum(np.abs(diff) - 0.5 * (1 / n1 + 1 / n2), 0.0)
                stat = diff / np.sqrt(pb * (1 - pb) * (1 / n1 + 1 / n2))
            ok = np.isfinite(stat)
    return np.where(ok, stat, 0.0), ok


def _reject(stat: np.ndarray, ok: np.ndarray, alpha: float, alternative: str) -> np.ndarray:
    if alternative == "two-sided":
        return ok & (np.abs(stat) > _z(1 - alpha / 2))
    z = _z(1 - alpha)
    return ok & ((stat > z) if alternative == "greater" else (stat < -z))


def _exact_power_fixed(test: str, n1: int, n2: int, p1: float, p2: float, alpha: float, alternative: str) -> float:
    a, pa = _bulk(n1, p1)
    c, pc = _bulk(n2, p2)
    stat, ok = _statistic(test, a[:, None], n1, c[None, :], n2)
    return float(pa @ _reject(stat, ok, alpha, alternative).astype(float) @ pc)



def exact_power_two_proportions(n1: int, p1: float, p2: float, *, n2: int | None = None, alpha: float = 0.05,
                                alternative: str = "two-sided", test: str = "pooled_z") -> float:
    r"""Exact power of a two-proportion test with fixed group sizes, by enumerating every outcome.

    :math:`\sum_{a,c} \binom{n_1}{a} p_1^a q_1^{n_1-a}\binom{n_2}{c} p_2^c q_2^{n_2-c}\,
    1[\text{test rejects at } (a, c)]`, leaving out binomial tails of mass :math:`10^{-13}`.
    The large-sample formulas of :func:`power_two_proportions` approximate this.

    Parameters
    ----------
    n1, n2 : int
        Group sizes (``n2`` defaults to ``n1``).
    p1, p2 : float
        Proportions under the alternative.
    alpha : float
        Significance level.
    alternative : {"two-sided", "greater", "less"}
        ``greater``: reject for large :math:`\hat p_1 - \hat p_2`.
    test : {"pooled_z", "unpooled_z", "yates", "arcsine"}
        :data:`SIMULATED_TESTS` (a statistic that does not exist, e.g. the unpooled z at
        :math:`\hat p_1 = \hat p_2 \in \{0, 1\}`, does not reject).

    Returns
    -------
    float
        Power.

    Raises
    ------
    PlanningError
        An argument out of range or an unknown test.
    """
    c = _Checks()
    c.prob("n1", n1, lo=0, hi=math.inf)
    if n2 is not None:
        c.prob("n2", n2, lo=0, hi=math.inf)
    c.prob("p1", p1, lo_open=False, hi_open=False)
    c.prob("p2", p2, lo_open=False, hi_open=False)
    c.prob("alpha", alpha)
    _check_alt(c, alternative)
    c.choice("test", test, [t for t in SIMULATED_TESTS if t != "logistic_wald"])
    c.raise_if_any()
    return _exact_power_fixed(test, int(n1), int(n1 if n2 is None else n2), p1, p2, alpha, alternative)
