r"""Sample size and power of the logistic regression test of a binary predictor.

:func:`power_logistic_binary` and :func:`n_logistic_binary`: Hsieh, Bloch & Larsen (1998)
formula (2) (``powerMediation::SSizeLogisticBin``), the Wald-test formulas of Demidenko (2007)
(``WebPower::wp.logistic``) and the exact power of the Wald test by enumerating every 2x2
table (:mod:`irmodels.studies.planning_exact`), the default for plans.
"""

from __future__ import annotations

import math

from scipy import optimize, stats

from irmodels.core.errors import Problem
from irmodels.studies.planning_checks import PlanningError, _check_alt, _Checks, _z
from irmodels.studies.planning_exact import _bulk, _exact_power_fixed

#: Methods of :func:`power_logistic_binary` / :func:`n_logistic_binary`.
LOGISTIC_METHODS: dict[str, str] = {
    "demidenko": "Wald test of the log odds ratio, variance at the alternative (Demidenko 2007; WebPower::wp.logistic)",
    "demidenko_vc": "Wald test, null variance for the critical value (Demidenko 2007 with variance correction)",
    "hsieh": "Hsieh, Bloch & Larsen (1998) formula (2) (powerMediation::SSizeLogisticBin)",
    "exact": "Wald test, power by exact enumeration of the 2x2 tables (no large-sample approximation)",
}


# --------------------------------------------------------------------------- logistic regression, binary predictor


def _logit_parts(odds_ratio: float, p0: float, share_exposed: float) -> tuple[float, float, float, float, float]:
    """p1, beta1, v1 (variance x n at H1), v0 (at H0, marginal rate), pbar."""
    odds1 = odds_ratio * p0 / (1 - p0)
    p1 = odds1 / (1 + odds1)
    b = share_exposed
    beta1 = math.log(odds_ratio)
    v1 = 1 / (b * p1 * (1 - p1)) + 1 / ((1 - b) * p0 * (1 - p0))
    pbar = b * p1 + (1 - b) * p0
    v0 = 1 / (pbar * (1 - pbar) * b * (1 - b))
    return p1, beta1, v1, v0, pbar


def _check_logistic(odds_ratio: float, p0: float, share_exposed: float, alpha: float, alternative: str, method: str) -> _Checks:
    c = _Checks()
    c.positive("odds_ratio", odds_ratio)
    if c.problems == [] and odds_ratio == 1:
        c.problems.append(Problem(rule="an odds ratio of 1 is no effect to detect", column="odds_ratio", value=odds_ratio))
    c.prob("p0", p0)
    c.prob("share_exposed", share_exposed)
    c.prob("alpha", alpha)
    _check_alt(c, alternative)
    c.choice("method", method, LOGISTIC_METHODS)
    if not c.problems and alternative != "two-sided" and (odds_ratio > 1) != (alternative == "greater"):
        c.problems.append(Problem(rule=f"the one-sided alternative {alternative!r} points away from an odds ratio of {odds_ratio:g}",
                                  column="alternative", value=alternative))
    return c


def power_logistic_binary(n: float, odds_ratio: float, p0: float, share_exposed: float, *, alpha: float = 0.05,
                          alternative: str = "two-sided", method: str = "exact") -> float:
    r"""Power of the test of a binary predictor in a logistic regression with ``n`` units.

    Model: :math:`\mathrm{logit}\,P(Y=1\mid X) = \beta_0 + \beta_1 X`, :math:`X \sim
    \mathrm{Bernoulli}(B)`, :math:`P(Y=1\mid X=0) = p_0`, :math:`e^{\beta_1}` = ``odds_ratio``,
    :math:`p_1 = P(Y=1\mid X=1)`.

    Parameters
    ----------
    n : float
        Total responses (both groups; > 0).
    odds_ratio : float
        Odds ratio to detect (> 0, != 1).
    p0 : float
        Outcome prevalence in the reference group (:math:`X = 0`).
    share_exposed : float
        :math:`B`, the share of responses in the exposed group (:math:`X = 1`).
    alpha : float
        Significance level.
    alternative : {"two-sided", "greater", "less"}
        ``greater``: odds ratio > 1.
    method : {"exact", "demidenko", "demidenko_vc", "hsieh"}
        :data:`LOGISTIC_METHODS`. The default ``exact`` is the power of the Wald test itself
        (no large-sample approximation; ``n`` must be whole); the formulas are the published
        approximations, off by up to 4 points of power in unbalanced designs
        (``validation/planning_check.csv``).

    Returns
    -------
    float
        Power.

    Raises
    ------
    PlanningError
        An argument out of range, an unknown method, or a one-sided alternative pointing away
        from the effect.

    Notes
    -----
    The per-unit variance of :math:`\hat\beta_1` is :math:`V_1 = 1/(B p_1 q_1) + 1/((1-B) p_0
    q_0)` (inverse Fisher information at the alternative) and, with the marginal rate
    :math:`\bar p = B p_1 + (1-B) p_0` for both groups, :math:`V_0 = 1/(\bar p\bar q B(1-B))`
    at the null. With :math:`z = z_{1-\alpha/2}` (two-sided):

    * ``demidenko``: :math:`\Phi(\sqrt n|\beta_1|/\sqrt{V_1} - z) + \Phi(-\sqrt n|\beta_1|/\sqrt{V_1} - z)`
      (the Wald statistic's distribution under the alternative; ``WebPower::wp.logistic``,
      ``family = "Bernoulli"``);
    * ``demidenko_vc``: :math:`\Phi\big((\sqrt n|\beta_1| - z\sqrt{V_0})/\sqrt{V_1}\big)`;
    * ``hsieh``: :math:`\Phi\Big(\big(\sqrt{n(1-B)}\,|p_1-p_0| - z\sqrt{\bar p\bar q/B}\big)/
      \sqrt{p_0q_0 + p_1q_1(1-B)/B}\Big)` (``powerMediation::powerLogisticBin``);
    * ``exact``: the probability that the Wald test rejects, summed over every table: the
      exposed count :math:`n_1 \sim \mathrm{Bin}(n, B)`, the outcomes :math:`a \sim
      \mathrm{Bin}(n_1, p_1)`, :math:`c \sim \mathrm{Bin}(n-n_1, p_0)`; the MLE is the sample log
      odds ratio with SE :math:`\sqrt{1/a+1/b+1/c+1/d}`, and a table with an empty cell (no MLE)
      does not reject. Binomial tails of mass :math:`10^{-13}` are left out. ``n`` must be whole.

    References
    ----------
    Demidenko (2007); Hsieh, Bloch & Larsen (1998).
    """
    c = _check_logistic(odds_ratio, p0, share_exposed, alpha, alternative, method)
    c.positive("n", n)
    if method == "exact" and not c.problems and n != int(n):
        c.problems.append(Problem(rule="the exact power is for a whole number of responses", column="n", value=n))
    c.raise_if_any()
    if method == "exact":
        return _exact_power_logistic(int(n), odds_ratio, p0, share_exposed, alpha, alternative)
    p1, beta1, v1, v0, pbar = _logit_parts(odds_ratio, p0, share_exposed)
    tails = 2 if alternative == "two-sided" else 1
    z = _z(1 - alpha / tails)
    b = abs(beta1)
    if method == "demidenko":
        pw = float(stats.norm.cdf(math.sqrt(n) * b / math.sqrt(v1) - z))
        if tails == 2:
            pw += float(stats.norm.cdf(-math.sqrt(n) * b / math.sqrt(v1) - z))
        return pw
    if method == "demidenko_vc":
        return float(stats.norm.cdf((math.sqrt(n) * b - z * math.sqrt(v0)) / math.sqrt(v1)))
    B = share_exposed
    num = math.sqrt(n * (1 - B)) * abs(p1 - p0) - z * math.sqrt(pbar * (1 - pbar) / B)
    return float(stats.norm.cdf(num / math.sqrt(p0 * (1 - p0) + p1 * (1 - p1) * (1 - B) / B)))


def _n_exact(power_of, target: float, *, start: float, max_n: int = 10**6) -> int:
    """Smallest n with ``power_of(n) >= target``: bracket from ``start``, bisect, then step down.

    The exact power of a discrete test is not monotone in n (a saw-tooth around a rising
    trend): after bisection the search steps down while smaller n still reach the target, and
    returns the first n from below that reaches it within that run.
    """
    hi = max(int(math.ceil(start)), 4)
    while power_of(hi) < target:
        hi = int(hi * 1.25) + 1
        if hi > max_n:
            raise PlanningError([Problem(rule=f"the exact power does not reach the target below n = {max_n}", column="power", value=target)])
    lo = max(int(hi * 0.6), 2)
    while lo > 2 and power_of(lo) >= target:
        lo = max(int(lo * 0.6), 2)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if power_of(mid) >= target:
            hi = mid
        else:
            lo = mid
    while hi > 2 and power_of(hi - 1) >= target:
        hi -= 1
    return hi


def n_logistic_binary(odds_ratio: float, p0: float, share_exposed: float, *, power: float = 0.8,
                      alpha: float = 0.05, alternative: str = "two-sided", method: str = "exact") -> float:
    r"""Total responses for the logistic test of a binary predictor to reach ``power``.

    Parameters
    ----------
    odds_ratio, p0, share_exposed, alpha, alternative, method
        As in :func:`power_logistic_binary`.
    power : float
        Target power (> ``alpha``).

    Returns
    -------
    float
        Unrounded total n (exposed :math:`Bn`, reference :math:`(1-B)n`).

    Raises
    ------
    PlanningError
        As :func:`power_logistic_binary`, or ``power <= alpha``.

    Notes
    -----
    ``demidenko_vc``: :math:`n = (z_{1-\alpha/2}\sqrt{V_0} + z_{1-\beta}\sqrt{V_1})^2/\beta_1^2`;
    ``hsieh``: formula (2) of Hsieh et al. (1998),
    :math:`n = \big(z_{1-\alpha/2}\sqrt{\bar p\bar q/B} + z_{1-\beta}\sqrt{p_0q_0 + p_1q_1(1-B)/B}\big)^2
    / \big((p_0-p_1)^2(1-B)\big)`; ``demidenko``: the root of :func:`power_logistic_binary`
    (both tails; :math:`\approx (z_{1-\alpha/2} + z_{1-\beta})^2 V_1/\beta_1^2`); ``exact``: the
    smallest n whose exact power (enumeration, see :func:`power_logistic_binary`) reaches the
    target, searched from the Hsieh n (an integer, returned as float).

    Examples
    --------
    >>> math.ceil(n_logistic_binary(1.5, 0.4, 0.5, power=0.95, method="hsieh"))  # Hsieh et al. 1998, Table I: p 0.4 vs 0.5
    1281
    """
    c = _check_logistic(odds_ratio, p0, share_exposed, alpha, alternative, method)
    c.prob("power", power)
    c.raise_if_any()
    if power <= alpha:
        raise PlanningError([Problem(rule="power must exceed alpha", column="power", value=power)])
    p1, beta1, v1, v0, pbar = _logit_parts(odds_ratio, p0, share_exposed)
    tails = 2 if alternative == "two-sided" else 1
    za, zb = _z(1 - alpha / tails), _z(power)
    if method == "demidenko_vc":
        return (za * math.sqrt(v0) + zb * math.sqrt(v1)) ** 2 / beta1**2
    if method == "exact":
        return float(_n_exact(lambda n: _exact_power_logistic(n, odds_ratio, p0, share_exposed, alpha, alternative), power,
                              start=n_logistic_binary(odds_ratio, p0, share_exposed, power=power, alpha=alpha,
                                                      alternative=alternative, method="hsieh")))
    if method == "hsieh":
        B = share_exposed
        return (za * math.sqrt(pbar * (1 - pbar) / B) + zb * math.sqrt(p0 * (1 - p0) + p1 * (1 - p1) * (1 - B) / B)) ** 2 / (
            (p0 - p1) ** 2 * (1 - B))

    def f(n: float) -> float:
        return power_logistic_binary(n, odds_ratio, p0, share_exposed, alpha=alpha, alternative=alternative, method=method) - power

    return float(optimize.brentq(f, 1e-6, 1e10, xtol=1e-12, rtol=1e-14))



def _exact_power_logistic(n: int, odds_ratio: float, p0: float, share_exposed: float, alpha: float, alternative: str) -> float:
    p1 = _logit_parts(odds_ratio, p0, share_exposed)[0]
    m, pm = _bulk(n, share_exposed)
    total = 0.0
    for n1, w in zip(m.tolist(), pm.tolist()):
        if n1 == 0 or n1 == n:
            continue  # one group only: no test (not rejected)
        total += w * _exact_power_fixed("logistic_wald", n1, n - n1, p1, p0, alpha, alternative)
    return total
