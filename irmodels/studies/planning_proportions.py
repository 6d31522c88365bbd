r"""Sample sizes and power for proportions: one proportion's interval width, two proportions' tests.

:func:`n_prop_moe` (R ``PracTools::nPropMoe``, with a design effect), :func:`n_prop_wilson`
(``PracTools::nWilson``), :func:`prop_half_width` and :func:`n_prop_search` (Wald, Wilson or
Clopper-Pearson, searched over n); :func:`es_h`, :func:`power_two_proportions` and
:func:`n_two_proportions` (``pwr::pwr.2p.test`` / ``pwr.2p2n.test``, ``stats::power.prop.test``,
the unpooled normal formula and Fleiss, Tytun & Ury's continuity correction). See
:mod:`irmodels.studies.planning` for the references.
"""

from __future__ import annotations

import math

from scipy import optimize, stats

from irmodels.core.errors import Problem
from irmodels.studies.planning_checks import PlanningError, _ceil, _check_alt, _Checks, _z

#: Interval methods of :func:`prop_half_width` / :func:`n_prop_search` / :func:`plan_precision`.
INTERVALS: dict[str, str] = {
    "wald": "normal (Wald) interval: closed form of PracTools::nPropMoe",
    "wilson": "Wilson score interval at the anticipated proportion (PracTools::nWilson)",
    "exact": "Clopper-Pearson interval at the anticipated proportion (beta quantiles)",
}

#: Methods of :func:`power_two_proportions` / :func:`n_two_proportions`.
TWO_PROPORTION_METHODS: dict[str, str] = {
    "arcsine": "Cohen's h, normal approximation of the arcsine test (pwr::pwr.2p.test, pwr.2p2n.test)",
    "pooled": "normal test with pooled variance under H0 (stats::power.prop.test; Fleiss without correction)",
    "unpooled": "normal (Wald) test with unpooled variance",
    "fleiss_cc": "pooled normal test with Yates' continuity correction (Fleiss, Tytun & Ury 1980)",
}


# --------------------------------------------------------------------------- one proportion


def _fpc_n(m: float, population: float) -> float:
    """Without-replacement size for an infinite-population requirement ``m`` (``N m / (N - 1 + m)``)."""
    if math.isinf(population):
        return m
    return population * m / (population - 1.0 + m)


def n_prop_moe(half_width: float, p: float = 0.5, *, alpha: float = 0.05, population: float = math.inf,
               deff: float = 1.0, relative: bool = False) -> float:
    r"""Responses for a normal-approximation CI of a proportion to have half-width ``half_width``.

    ``PracTools::nPropMoe`` (``moe.sw = 1``, or ``2`` with ``relative=True``) times a design
    effect applied to the without-replacement variance.

    Parameters
    ----------
    half_width : float
        Target half-width :math:`e` of the :math:`100(1-\alpha)\%` interval (absolute, in (0, 1));
        with ``relative=True``, the half-width as a fraction of ``p``.
    p : float
        Anticipated proportion :math:`p_U` (0.5 is the conservative choice).
    alpha : float
        1 - confidence level.
    population : float
        Frame units :math:`N` (``inf``: no finite population correction).
    deff : float
        Design effect (> 0), e.g. :func:`deff_kish` of the expected weights.
    relative : bool
        Read ``half_width`` as relative to ``p`` (PracTools ``moe.sw = 2``).

    Returns
    -------
    float
        Unrounded number of responses :math:`n` (round up with ``math.ceil``).

    Raises
    ------
    PlanningError
        An argument out of range (all listed).

    Notes
    -----
    With :math:`z = z_{1-\alpha/2}`, :math:`S^2 = N p (1-p)/(N-1)` and the variance
    :math:`\mathrm{deff}\,(1 - n/N) S^2 / n`, setting :math:`z\sqrt{V} = e` gives

    .. math:: n = \frac{\frac{N}{N-1}\,\mathrm{deff}\, z^2 p (1-p)}{e^2 + \mathrm{deff}\, z^2 p(1-p)/(N-1)},

    which is ``nPropMoe`` for :math:`\mathrm{deff} = 1` and :math:`z^2 p(1-p)\mathrm{deff}/e^2`
    for :math:`N = \infty`.

    References
    ----------
    Valliant, Dever & Kreuter (2018), ch. 3; ``PracTools`` vignette "Sample Size Calculation
    in Single-stage Sampling", Example 3.

    Examples
    --------
    >>> math.ceil(n_prop_moe(0.03, 0.5))  # PracTools vignette, Example 3
    1068
    """
    c = _Checks()
    c.prob("half_width", half_width, hi=math.inf if relative else 1.0)
    c.prob("p", p)
    c.prob("alpha", alpha)
    c.prob("population", population, lo=1.0, hi=math.inf, hi_open=False)
    c.positive("deff", deff)
    c.raise_if_any()
    e = half_width * p if relative else half_width
    z = _z(1 - alpha / 2)
    m = deff * z * z * p * (1 - p) / (e * e)
    return _fpc_n(m, float(population))


def n_prop_wilson(half_width: float, p: float, *, alpha: float = 0.05) -> float:
    r"""Responses for the Wilson interval at :math:`\hat p = p` to have half-width ``half_width``.

    The closed form of ``PracTools::nWilson`` (``moe.sw = 1``): the root in :math:`n` of
    :math:`z\sqrt{n p (1-p) + z^2/4}/(n + z^2) = e`,

    .. math:: n = \frac{z^2}{2e^2}\Big(p(1-p) - 2e^2 + \sqrt{e^2 - p(1-p)(4e^2 - p(1-p))}\Big).

    Parameters
    ----------
    half_width, p, alpha
        As in :func:`n_prop_moe` (simple random sampling with replacement; no design effect).

    Returns
    -------
    float
        Unrounded n.

    Raises
    ------
    PlanningError
        An argument out of range, or a half-width the Wilson interval never reaches
        (:math:`e^2 - p(1-p)(4e^2 - p(1-p)) < 0`).

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. *JASA* 22, 209-212. Valliant, Dever & Kreuter (2018), ch. 3.
    """
    c = _Checks()
    c.prob("half_width", half_width)
    c.prob("p", p)
    c.prob("alpha", alpha)
    c.raise_if_any()
    z = _z(1 - alpha / 2)
    pq = p * (1 - p)
    e = half_width
    rad = e * e - pq * (4 * e * e - pq)
    if rad < 0:
        raise PlanningError([Problem(rule="the Wilson interval at this proportion never gets this narrow", column="half_width", value=half_width)])
    return (pq - 2 * e * e + math.sqrt(rad)) * (z / e) ** 2 / 2


def prop_half_width(n: float, p: float, *, alpha: float = 0.05, interval: str = "wald") -> float:
    r"""Half-width of the interval of a proportion from ``n`` independent responses at :math:`\hat p = p`.

    Parameters
    ----------
    n : float
        Effective number of responses (> 0; may be fractional).
    p : float
        Anticipated proportion.
    alpha : float
        1 - confidence level.
    interval : {"wald", "wilson", "exact"}
        ``wald``: :math:`z\sqrt{p(1-p)/n}`; ``wilson``: :math:`z\sqrt{np(1-p)+z^2/4}/(n+z^2)`;
        ``exact``: half the Clopper-Pearson length at :math:`x = np` (beta quantiles with a
        continuous ``x``).

    Returns
    -------
    float
        The half-width (for ``wilson`` and ``exact``, half the interval's length).

    Raises
    ------
    PlanningError
        An argument out of range or an unknown interval.
    """
    c = _Checks()
    c.positive("n", n)
    c.prob("p", p)
    c.prob("alpha", alpha)
    c.choice("interval", interval, INTERVALS)
    c.raise_if_any()
    z = _z(1 - alpha / 2)
    if interval == "wald":
        return z * math.sqrt(p * (1 - p) / n)
    if interval == "wilson":
        return z * math.sqrt(n * p * (1 - p) + z * z / 4) / (n + z * z)
    x = n * p
    lo = stats.beta.ppf(alpha / 2, x, n - x + 1)
    hi = stats.beta.ppf(1 - alpha / 2, x + 1, n - x)
    return float(hi - lo) / 2


def n_prop_search(half_width: float, p: float, *, alpha: float = 0.05, interval: str = "wilson",
                  population: float = math.inf, deff: float = 1.0) -> int:
    r"""Smallest number of responses whose interval at :math:`\hat p = p` is at most ``half_width``.

    A numerical check of :func:`n_prop_moe` where its normal approximation is poor (small
    or extreme :math:`p`): the effective size :math:`m_0` is the smallest integer with
    :func:`prop_half_width` :math:`\le e`; the responses are then
    :math:`\lceil N m / (N - 1 + m) \rceil` with :math:`m = \mathrm{deff}\, m_0`, the same
    design-effect and finite-population step as :func:`n_prop_moe`.

    Parameters
    ----------
    half_width, p, alpha, population, deff
        As in :func:`n_prop_moe`.
    interval : {"wald", "wilson", "exact"}
        The interval (:data:`INTERVALS`).

    Returns
    -------
    int
        Responses needed.

    Raises
    ------
    PlanningError
        An argument out of range, or no n up to :math:`10^8` reaches the half-width.
    """
    c = _Checks()
    c.prob("half_width", half_width)
    c.prob("p", p)
    c.prob("alpha", alpha)
    c.choice("interval", interval, INTERVALS)
    c.prob("population", population, lo=1.0, hi=math.inf, hi_open=False)
    c.positive("deff", deff)
    c.raise_if_any()

    def ok(n: int) -> bool:
        return prop_half_width(n, p, alpha=alpha, interval=interval) <= half_width

    hi = 1
    while not ok(hi):
        hi *= 2
        if hi > 10**8:
            raise PlanningError([Problem(rule="no n up to 1e8 reaches this half-width", column="half_width", value=half_width)])
    lo = hi // 2  # not ok (or 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    # the half-width of the discrete-free intervals is monotone in n except for tiny
    # non-monotone stretches of the exact interval: step down while smaller n still pass
    m0 = hi
    while m0 > 1 and ok(m0 - 1):
        m0 -= 1
    return _ceil(_fpc_n(deff * m0, float(population)))


def _achieved_half_width(n: float, population: float, p: float, alpha: float, deff: float, interval: str) -> float:
    """Half-width reached by ``n`` responses out of ``population`` units under ``deff`` (inverse of the above)."""
    if n <= 0:
        return math.inf
    if not math.isinf(population):
        if n >= population:
            return 0.0
        n = n * (population - 1.0) / (population - n)  # back to the infinite-population requirement
    return prop_half_width(n / deff, p, alpha=alpha, interval=interval)


# --------------------------------------------------------------------------- two proportions


def es_h(p1: float, p2: float) -> float:
    r"""Cohen's effect size h for two proportions, :math:`2\arcsin\sqrt{p_1} - 2\arcsin\sqrt{p_2}`.

    As ``pwr::ES.h``. Examples: ``es_h(0.6, 0.8)`` is -0.4421432 (pwr prints the absolute value).
    """
    c = _Checks()
    c.prob("p1", p1, lo_open=False, hi_open=False)
    c.prob("p2", p2, lo_open=False, hi_open=False)
    c.raise_if_any()
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))



def _two_prop_power_one_tail(n1: float, p1: float, p2: float, ratio: float, za: float, method: str) -> float:
    """Power in the direction of the effect (the other tail is added by the caller)."""
    n2 = ratio * n1
    d = abs(p1 - p2)
    if method == "arcsine":
        h = abs(es_h(p1, p2))
        return float(stats.norm.cdf(h * math.sqrt(n1 * n2 / (n1 + n2)) - za))
    q1, q2 = 1 - p1, 1 - p2
    if method == "unpooled":
        return float(stats.norm.cdf(d / math.sqrt(p1 * q1 / n1 + p2 * q2 / n2) - za))
    if method == "fleiss_cc":
        # invert Fleiss-Tytun-Ury: the corrected n' behaves as the uncorrected n = (n' - k/2)^2 / n'
        k = (ratio + 1) / (ratio * d)
        if n1 <= k / 2:
            return 0.0
        n1 = (n1 - k / 2) ** 2 / n1
    pbar = (p1 + ratio * p2) / (1 + ratio)
    num = d * math.sqrt(n1) - za * math.sqrt((1 + 1 / ratio) * pbar * (1 - pbar))
    return float(stats.norm.cdf(num / math.sqrt(p1 * q1 + p2 * q2 / ratio)))


def power_two_proportions(n1: float, p1: float, p2: float, *, n2: float | None = None, alpha: float = 0.05,
                          alternative: str = "two-sided", method: str = "arcsine") -> float:
    r"""Power of a test comparing two independent proportions with ``n1`` and ``n2`` units.

    Parameters
    ----------
    n1 : float
        Units in group 1 (> 0).
    p1, p2 : float
        Proportions under the alternative.
    n2 : float, optional
        Units in group 2 (default ``n1``).
    alpha : float
        Significance level.
    alternative : {"two-sided", "greater", "less"}
        ``greater``: :math:`p_1 > p_2`. For ``two-sided`` the ``arcsine`` method adds the
        opposite tail (as ``pwr.2p.test``); the others give the power in the direction of the
        effect (as ``power.prop.test(strict = FALSE)``).
    method : {"arcsine", "pooled", "unpooled", "fleiss_cc"}
        :data:`TWO_PROPORTION_METHODS`.

    Returns
    -------
    float
        Power.

    Raises
    ------
    PlanningError
        An argument out of range or an unknown method.

    Notes
    -----
    With :math:`r = n_2/n_1`, :math:`d = |p_1 - p_2|`, :math:`\bar p = (p_1 + r p_2)/(1+r)`:

    * arcsine: :math:`\Phi(|h|\sqrt{n_1 n_2/(n_1+n_2)} - z_{1-\alpha/2}) +
      \Phi(-|h|\sqrt{n_1 n_2/(n_1+n_2)} - z_{1-\alpha/2})` (Cohen 1988, ch. 6);
    * pooled: :math:`\Phi\big((d\sqrt{n_1} - z\sqrt{(1+1/r)\bar p\bar q})/\sqrt{p_1q_1 + p_2q_2/r}\big)`;
    * unpooled: :math:`\Phi(d/\sqrt{p_1q_1/n_1 + p_2q_2/n_2} - z)`;
    * fleiss_cc: the pooled power at :math:`n = (n_1 - k/2)^2/n_1`, :math:`k = (r+1)/(r d)`, the
      inverse of Fleiss, Tytun & Ury's corrected size.

    Examples
    --------
    >>> round(power_two_proportions(80, 0.5, 0.5, alpha=0.05, alternative="greater"), 3)
    0.05
    """
    c = _Checks()
    c.positive("n1", n1)
    if n2 is not None:
        c.positive("n2", n2)
    c.prob("p1", p1)
    c.prob("p2", p2)
    c.prob("alpha", alpha)
    _check_alt(c, alternative)
    c.choice("method", method, TWO_PROPORTION_METHODS)
    c.raise_if_any()
    ratio = 1.0 if n2 is None else n2 / n1
    tails = 2 if alternative == "two-sided" else 1
    za = _z(1 - alpha / tails)
    if p1 == p2:
        return alpha
    sign = 1 if p1 > p2 else -1
    if alternative != "two-sided" and (sign > 0) != (alternative == "greater"):
        # the effect is in the direction the test does not look at
        if method == "arcsine":
            h = abs(es_h(p1, p2))
            return float(stats.norm.cdf(-h * math.sqrt(n1 * ratio * n1 / (n1 + ratio * n1)) - za))
        return float(1 - _two_prop_power_one_tail(n1, p1, p2, ratio, -za, method))
    pw = _two_prop_power_one_tail(n1, p1, p2, ratio, za, method)
    if alternative == "two-sided" and method == "arcsine":
        h = abs(es_h(p1, p2))
        pw += float(stats.norm.cdf(-h * math.sqrt(n1 * ratio * n1 / (n1 + ratio * n1)) - za))
    return pw


def n_two_proportions(p1: float, p2: float, *, power: float = 0.8, alpha: float = 0.05, ratio: float = 1.0,
                      alternative: str = "two-sided", method: str = "arcsine") -> float:
    r"""Units in group 1 (group 2: ``ratio`` times as many) for a two-proportion test to reach ``power``.

    Parameters
    ----------
    p1, p2 : float
        Proportions under the alternative.
    power, alpha : float
        Target power and significance level.
    ratio : float
        :math:`n_2 / n_1`.
    alternative, method
        As in :func:`power_two_proportions`.

    Returns
    -------
    float
        Unrounded :math:`n_1` (``pwr.2p.test`` prints it unrounded, e.g. 80.29912).

    Raises
    ------
    PlanningError
        An argument out of range, ``p1 == p2``, an unknown method, or a one-sided
        alternative pointing away from the effect.

    Notes
    -----
    ``pooled``: :math:`n_1 = \big(z_{1-\alpha/2}\sqrt{(1+1/r)\bar p\bar q} + z_{1-\beta}
    \sqrt{p_1q_1 + p_2q_2/r}\big)^2/d^2` (Fleiss, Levin & Paik 2003, eq. 4.14; for
    :math:`r = 1` ``power.prop.test``); ``fleiss_cc``: :math:`n_1' = \frac{n_1}{4}\big(1 +
    \sqrt{1 + 2(r+1)/(n_1 r d)}\big)^2`; ``unpooled``: :math:`(z_{1-\alpha/2}+z_{1-\beta})^2
    (p_1q_1 + p_2q_2/r)/d^2`; ``arcsine``: the root of :func:`power_two_proportions` (both
    tails, as ``pwr.2p.test``'s ``uniroot``).
    """
    c = _Checks()
    c.prob("p1", p1)
    c.prob("p2", p2)
    c.prob("power", power)
    c.prob("alpha", alpha)
    c.positive("ratio", ratio)
    _check_alt(c, alternative)
    c.choice("method", method, TWO_PROPORTION_METHODS)
    c.raise_if_any()
    if p1 == p2:
        raise PlanningError([Problem(rule="p1 equals p2: no difference to detect", column="p2", value=p2)])
    if alternative != "two-sided" and (p1 > p2) != (alternative == "greater"):
        raise PlanningError([Problem(rule=f"the one-sided alternative {alternative!r} points away from p1 - p2 = {p1 - p2:+g}",
                                     column="alternative", value=alternative)])
    if power <= alpha:
        raise PlanningError([Problem(rule="power must exceed alpha", column="power", value=power)])
    tails = 2 if alternative == "two-sided" else 1
    za, zb = _z(1 - alpha / tails), _z(power)
    d = abs(p1 - p2)
    q1, q2 = 1 - p1, 1 - p2
    if method in ("pooled", "fleiss_cc"):
        pbar = (p1 + ratio * p2) / (1 + ratio)
        n = (za * math.sqrt((1 + 1 / ratio) * pbar * (1 - pbar)) + zb * math.sqrt(p1 * q1 + p2 * q2 / ratio)) ** 2 / d**2
        if method == "fleiss_cc":
            n = n / 4 * (1 + math.sqrt(1 + 2 * (ratio + 1) / (n * ratio * d))) ** 2
        return n
    if method == "unpooled":
        return (za + zb) ** 2 * (p1 * q1 + p2 * q2 / ratio) / d**2

    def f(n: float) -> float:
        return power_two_proportions(n, p1, p2, n2=ratio * n, alpha=alpha, alternative=alternative, method="arcsine") - power

    return float(optimize.brentq(f, 1e-6, 1e9, xtol=1e-12, rtol=1e-14))
