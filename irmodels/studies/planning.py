r"""Planning the next survey wave: responses and invitations for a precision or a power target.

Two questions, each answered per region and hospital-size class of a population frame:

* **Precision** (:func:`plan_precision`): how many responses give a confidence interval of
  half-width :math:`e` for a prevalence (e.g. 24/7 IR coverage), Europe-wide or in every
  cell, and how many invitations that takes at a response rate and a design effect; a
  cell whose frame has too few units for the target is flagged (``reachable`` False) with
  what inviting all of them would give.
* **Power** (:func:`plan_odds_ratio`): how many responses detect an odds ratio between
  two groups of size classes (e.g. :math:`\ge 800` versus :math:`< 400` beds) on a binary
  outcome, with the logistic Wald test at a given power and level, and the invitations
  per size class.

The building blocks reproduce published calculations (``tests/test_studies_planning.py``
compares each with the reference's printed examples):

* :func:`n_prop_moe` -- R ``PracTools::nPropMoe`` (Valliant, Dever & Kreuter 2018, ch. 3),
  with a design effect; :func:`n_prop_wilson` -- ``PracTools::nWilson``;
  :func:`n_prop_search` -- the smallest n whose Wald, Wilson or Clopper-Pearson interval is
  narrow enough (a check of the normal formula where it is an approximation);
* :func:`deff_kish` -- ``PracTools::deffK``, :math:`1 + CV^2` of the weights;
* :func:`es_h`, :func:`power_two_proportions`, :func:`n_two_proportions` -- ``pwr::ES.h``,
  ``pwr::pwr.2p.test`` / ``pwr.2p2n.test`` (Cohen's h, arcsine), ``stats::power.prop.test``
  (pooled normal), the unpooled normal formula and Fleiss, Tytun & Ury's continuity correction;
* :func:`power_logistic_binary`, :func:`n_logistic_binary` -- logistic regression on a
  binary predictor: Hsieh, Bloch & Larsen (1998) formula (2) (``powerMediation::
  SSizeLogisticBin``) and the Wald-test formulas of Demidenko (2007) (``WebPower::
  wp.logistic``, G*Power's "Demidenko with/without variance correction").

The closed forms are large-sample approximations. The power of the tests themselves is
computed exactly by enumerating every 2x2 table (``power_logistic_binary(method="exact")``, the
default for plans, and :func:`exact_power_two_proportions`); :func:`power_check_task` simulates
the same tests (run through :func:`irmodels.studies.runner.run_study` by
``validation/planning_check.py``) and :func:`summarise_power_check` compares the simulated power
with the closed form and with the exact power at the planned n, with its Monte Carlo error
(docs/planning.md: the enumeration and the simulation agree; the formulas are off by up to 4
points of power in unbalanced designs).

References
----------
Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., ch. 6.
Demidenko, E. (2007). Sample size determination for logistic regression revisited.
*Statistics in Medicine* 26, 3385-3397.
Fleiss, J. L., Tytun, A., Ury, H. K. (1980). A simple approximation for calculating sample
sizes for comparing independent proportions. *Biometrics* 36, 343-346.
Hsieh, F. Y., Bloch, D. A., Larsen, M. D. (1998). A simple method of sample size calculation
for linear and logistic regression. *Statistics in Medicine* 17, 1623-1634.
Kish, L. (1965). *Survey Sampling*. Wiley.
Valliant, R., Dever, J. A., Kreuter, F. (2018). *Practical Tools for Designing and Weighting
Survey Samples*, 2nd ed., Springer (R package ``PracTools``).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from irmodels.core.errors import IrmodelsError, Problem

__all__ = [
    "PlanningError",
    "INTERVALS",
    "TWO_PROPORTION_METHODS",
    "LOGISTIC_METHODS",
    "deff_kish",
    "n_prop_moe",
    "n_prop_wilson",
    "prop_half_width",
    "n_prop_search",
    "es_h",
    "power_two_proportions",
    "n_two_proportions",
    "power_logistic_binary",
    "n_logistic_binary",
    "plan_precision",
    "plan_odds_ratio",
    "power_check_task",
    "summarise_power_check",
]

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

#: Methods of :func:`power_logistic_binary` / :func:`n_logistic_binary`.
LOGISTIC_METHODS: dict[str, str] = {
    "demidenko": "Wald test of the log odds ratio, variance at the alternative (Demidenko 2007; WebPower::wp.logistic)",
    "demidenko_vc": "Wald test, null variance for the critical value (Demidenko 2007 with variance correction)",
    "hsieh": "Hsieh, Bloch & Larsen (1998) formula (2) (powerMediation::SSizeLogisticBin)",
    "exact": "Wald test, power by exact enumeration of the 2x2 tables (no large-sample approximation)",
}

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
    from irmodels.nonresponse.weighting import kish_deff

    return kish_deff(w.to_numpy(dtype=float))


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


def _check_alt(c: _Checks, alternative: str) -> None:
    c.choice("alternative", alternative, _ALTERNATIVES)


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


# --------------------------------------------------------------------------- exact power by enumeration


#: Tests whose exact power :func:`exact_power_two_proportions` and :func:`power_logistic_binary`
#: (``method="exact"``) enumerate, and :func:`power_check_task` simulates.
SIMULATED_TESTS: dict[str, str] = {
    "logistic_wald": "Wald z of the logistic coefficient of a binary predictor (X ~ Bernoulli(B), n fixed)",
    "pooled_z": "two-proportion z test, pooled variance (chi-square without correction), n1 and n2 fixed",
    "unpooled_z": "two-proportion Wald z test, unpooled variance, n1 and n2 fixed",
    "yates": "two-proportion pooled z test with Yates' continuity correction, n1 and n2 fixed",
    "arcsine": "arcsine test 2(asin sqrt(p1^) - asin sqrt(p2^)) / sqrt(1/n1 + 1/n2), n1 and n2 fixed",
}
__all__ += ["SIMULATED_TESTS", "exact_power_two_proportions"]

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


def _exact_power_logistic(n: int, odds_ratio: float, p0: float, share_exposed: float, alpha: float, alternative: str) -> float:
    p1 = _logit_parts(odds_ratio, p0, share_exposed)[0]
    m, pm = _bulk(n, share_exposed)
    total = 0.0
    for n1, w in zip(m.tolist(), pm.tolist()):
        if n1 == 0 or n1 == n:
            continue  # one group only: no test (not rejected)
        total += w * _exact_power_fixed("logistic_wald", n1, n - n1, p1, p0, alpha, alternative)
    return total


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


# --------------------------------------------------------------------------- plans


def plan_precision(cells: pd.DataFrame | None = None, *, half_width: float, p: float = 0.5,
                   response_rate: float | Mapping[str, float], deff: float = 1.0, alpha: float = 0.05,
                   by: str | Sequence[str] | None = None, interval: str = "wald",
                   population: float | None = None) -> pd.DataFrame:
    r"""Responses and invitations for a CI of half-width ``half_width`` of a prevalence, per cell of a frame.

    Each cell (Europe-wide without ``by``; each region, size class or region x size class
    with ``by``) gets its own target: :func:`n_prop_moe` (``interval="wald"``) or
    :func:`n_prop_search` (``wilson``, ``exact``) with the cell's frame units as the
    population, then invitations :math:`\lceil n / r \rceil`. A cell whose frame has fewer
    units than the invitations needed is not reachable: the row says so and gives the
    half-width that inviting every unit would give (at the same response rate).

    Parameters
    ----------
    cells : DataFrame, optional
        Frame cells with ``N`` (units) and the ``by`` columns, e.g.
        :func:`irmodels.nonresponse.frame.frame_cells` of a user frame (``region`` is derived from the
        country there) or of a named scenario with the wave's own ``total``. Without cells
        there is no frame: one Europe-wide row, no finite population correction unless
        ``population`` is given, and nothing to cap (``reachable`` is None).
    half_width : float
        Target half-width of the :math:`100(1-\alpha)\%` interval in every cell.
    p : float
        Anticipated prevalence (0.5: the most conservative).
    response_rate : float or mapping
        Expected response rate in (0, 1], or one per ``beds_class`` (e.g. ``{">=800": 0.12,
        "<200": 0.04, ...}``: then the cells need ``beds_class``).
    deff : float
        Design effect of the estimator (e.g. :func:`deff_kish` of the 2017 raking weights).
    alpha : float
        1 - confidence level.
    by : str or sequence, optional
        ``"region"``, ``"beds_class"`` or both (``"region,beds_class"``).
    interval : {"wald", "wilson", "exact"}
        How the responses are computed (:data:`INTERVALS`).
    population : float, optional
        Without ``cells``: the frame size for the finite population correction.

    Returns
    -------
    DataFrame
        One row per cell: ``region``, ``beds_class`` (``"all"`` when not in ``by``),
        ``frame_units`` (N of the cell), ``p``, ``half_width``, ``alpha``, ``interval``,
        ``deff``, ``responses_needed``, ``response_rate``, ``invitations_needed``,
        ``reachable`` (invitations needed <= frame units), ``max_responses`` (frame units x
        response rate: what inviting everyone yields), ``half_width_if_all_invited``,
        ``note`` (why a cell is unreachable). ``attrs``: the arguments.

    Raises
    ------
    PlanningError
        A target, rate or design effect out of range, a missing response rate for a size
        class, frame cells without ``N`` or a ``by`` column, or a count that is negative or
        not a number (all listed).

    Notes
    -----
    With the response rate :math:`r_c` of a cell with :math:`N_c` units, inviting all of them
    yields about :math:`m_c = r_c N_c` responses; the target is reachable iff
    :math:`n_c \le m_c`. Responses are assumed to behave like a simple random sample of the
    cell inflated by ``deff`` (non-response at random within the cell, which is an assumption).

    Examples
    --------
    >>> plan_precision(half_width=0.05, response_rate=0.083)[["responses_needed", "invitations_needed"]].iloc[0].tolist()
    [385, 4639]
    """
    c = _Checks()
    c.prob("half_width", half_width)
    c.prob("p", p)
    _check_rates(c, response_rate)
    c.positive("deff", deff)
    c.prob("alpha", alpha)
    c.choice("interval", interval, INTERVALS)
    if population is not None:
        c.prob("population", population, lo=1.0, hi=math.inf, hi_open=False)
    c.raise_if_any()
    byt = _by_tuple(by)
    if cells is None:
        if byt:
            raise PlanningError([Problem(rule="a plan by region or size class needs a frame (cells)", column="by", value=",".join(byt))])
        rate = _rate_of(response_rate, ["all"]) if not isinstance(response_rate, Mapping) else None
        if rate is None:
            raise PlanningError([Problem(rule="response rates per beds class need a frame with beds_class", column="response_rate",
                                         value=dict(response_rate))])
        N = math.inf if population is None else float(population)
        groups = [(("all", "all"), N, rate["all"])]
    else:
        if population is not None:
            raise PlanningError([Problem(rule="population is the frame size of a plan without cells; with cells the frame's "
                                         "units are the population", column="population", value=population)])
        need = list(byt) + (["beds_class"] if isinstance(response_rate, Mapping) else [])
        probs = _cells_problems(cells, sorted(set(need)))
        if probs:
            raise PlanningError(probs, what="frame cells")
        if isinstance(response_rate, Mapping):
            # rates belong to the frame's own size classes, before cells are pooled into "all"
            own = cells["beds_class"].astype(str)
            rates = _rate_of(response_rate, sorted(own.unique()))
            r_cell = own.map(rates).astype(float).to_numpy()
        else:
            r_cell = _rate_of(response_rate, ["all"])["all"]
        lab = _labels(cells, byt)
        lab["_r"] = r_cell
        lab["_m"] = lab["N"].astype(float) * lab["_r"]
        groups = []
        for key, g in lab.groupby(["region", "beds_class"], sort=True, observed=True):
            Nc = float(g["N"].sum())
            # a cell pooling size classes with different rates: the expected overall rate
            rc = float(g["_m"].sum() / Nc) if Nc > 0 else float(g["_r"].mean())
            groups.append((key, Nc, rc))
    rows = []
    for (region, beds), Nc, rc in groups:
        note = ""
        if Nc < 2:
            n = n_prop_moe(half_width, p, alpha=alpha, deff=deff) if interval == "wald" else float(
                n_prop_search(half_width, p, alpha=alpha, interval=interval, deff=deff))
            note = f"the frame has {Nc:g} units: no interval is possible in this cell"
            reach: bool | None = False
        else:
            if interval == "wald":
                n = n_prop_moe(half_width, p, alpha=alpha, population=Nc, deff=deff)
            else:
                n = float(n_prop_search(half_width, p, alpha=alpha, interval=interval, population=Nc, deff=deff))
            reach = None
        resp = _ceil(n)
        inv = _ceil(resp / rc)
        max_resp = Nc * rc
        if math.isinf(Nc):
            hw_all, reach = float("nan"), None
        else:
            if reach is None:
                reach = bool(inv <= Nc + 1e-9)
            hw_all = _achieved_half_width(max_resp, Nc, p, alpha, deff, interval) if Nc >= 2 else math.inf
            if not reach and not note:
                note = (f"the frame has {Nc:g} units; {inv} invitations are needed at response rate {rc:.3g}: inviting all "
                        f"gives about {max_resp:.1f} responses and a half-width of {hw_all:.3f}")
        rows.append({"region": region, "beds_class": beds, "frame_units": Nc, "p": p, "half_width": half_width,
                     "alpha": alpha, "interval": interval, "deff": deff, "responses_needed": resp, "response_rate": rc,
                     "invitations_needed": inv, "reachable": reach, "max_responses": max_resp,
                     "half_width_if_all_invited": hw_all, "note": note})
    out = pd.DataFrame(rows)
    out.attrs.update({"target": "precision", "half_width": half_width, "p": p, "deff": deff, "alpha": alpha,
                      "interval": interval, "by": list(byt)})
    return out


def plan_odds_ratio(cells: pd.DataFrame | None = None, *, odds_ratio: float, p0: float,
                    response_rate: float | Mapping[str, float], exposed: Sequence[str] = (">=800",),
                    reference: Sequence[str] = ("<200", "200-399"), share_exposed: float | None = None,
                    deff: float = 1.0, power: float = 0.8, alpha: float = 0.05, alternative: str = "two-sided",
                    method: str = "exact", by: str | Sequence[str] | None = None) -> pd.DataFrame:
    r"""Responses and invitations per size class to detect an odds ratio between two groups of size classes.

    The comparison (e.g. 24/7 coverage in hospitals with :math:`\ge 800` beds versus
    :math:`< 400` beds) is a logistic regression of the outcome on the group indicator among
    the responding departments of the two groups; :func:`n_logistic_binary` gives the total
    responses :math:`n`, inflated by ``deff``, split into :math:`\lceil Bn \rceil` exposed and
    :math:`\lceil (1-B)n \rceil` reference responses and then over each group's size classes
    in proportion to their expected responses :math:`N_c r_c` (rounded up per class), and
    turned into invitations :math:`\lceil n_c / r_c\rceil`.

    Parameters
    ----------
    cells : DataFrame, optional
        Frame cells with ``beds_class`` and ``N`` (and ``region`` with ``by="region"``).
        Without cells: Europe-wide, by group only, nothing capped; ``share_exposed`` is then
        required.
    odds_ratio : float
        Odds ratio to detect (exposed versus reference; > 0, != 1).
    p0 : float
        Anticipated prevalence of the outcome in the reference group.
    response_rate : float or mapping
        Response rate in (0, 1], or one per beds class.
    exposed, reference : sequence of str
        Beds classes of each group (codebook codes; disjoint). The classes in neither group
        (by default ``400-799``) are not part of the comparison.
    share_exposed : float, optional
        Share :math:`B` of the compared responses that are exposed; default: the frame's
        expected share :math:`\sum_{exp} N_c r_c / \sum_{exp \cup ref} N_c r_c`.
    deff : float
        Design effect applied to the total (e.g. from weighting).
    power, alpha, alternative, method
        As in :func:`n_logistic_binary`.
    by : {"region"}, optional
        A separate comparison within each region.

    Returns
    -------
    DataFrame
        One row per (region, group, size class): ``region`` (``"all"`` without ``by``),
        ``group`` (``exposed``/``reference``), ``beds_class`` (``"all"`` without cells),
        ``frame_units``, ``p`` (anticipated prevalence: :math:`p_1` or :math:`p_0`),
        ``odds_ratio``, ``share_exposed``, ``power``, ``alpha``, ``method``, ``deff``,
        ``responses_total_needed`` (both groups, after ``deff``), ``responses_needed`` (this
        class), ``response_rate``, ``invitations_needed``, ``reachable`` (None without
        cells), ``max_responses``, ``power_if_all_invited`` (power of the comparison in this
        region if every unit of the compared classes is invited, with the share of exposed
        responses that gives; for ``exact``, at the whole number of expected responses
        after ``deff``), ``note``.

    Raises
    ------
    PlanningError
        Invalid arguments (all listed), overlapping or unknown groups, a group without frame
        units, or no ``share_exposed`` without cells.

    Notes
    -----
    The comparison is model-based (a superpopulation odds ratio), so no finite population
    correction is applied; the frame only bounds how many responses each class can give.
    """
    c = _check_logistic(odds_ratio, p0, share_exposed if share_exposed is not None else 0.5, alpha, alternative, method)
    c.prob("power", power)
    _check_rates(c, response_rate)
    c.positive("deff", deff)
    exposed, reference = [str(x) for x in exposed], [str(x) for x in reference]
    if not exposed:
        c.problems.append(Problem(rule="the exposed group needs at least one beds class", column="exposed", value=exposed))
    if not reference:
        c.problems.append(Problem(rule="the reference group needs at least one beds class", column="reference", value=reference))
    for k in sorted(set(exposed) & set(reference)):
        c.problems.append(Problem(rule="a beds class cannot be in both groups", column="exposed", value=k))
    c.raise_if_any()
    if power <= alpha:
        raise PlanningError([Problem(rule="power must exceed alpha", column="power", value=power)])
    byt = _by_tuple(by)
    if "beds_class" in byt:
        raise PlanningError([Problem(rule="the comparison is between beds classes; plan it by region only", column="by", value="beds_class")])
    p1 = _logit_parts(odds_ratio, p0, 0.5)[0]
    common = {"odds_ratio": odds_ratio, "power": power, "alpha": alpha, "method": method, "deff": deff}
    rows: list[dict[str, Any]] = []
    if cells is None:
        if byt:
            raise PlanningError([Problem(rule="a plan by region needs a frame (cells)", column="by", value="region")])
        if share_exposed is None:
            raise PlanningError([Problem(rule="without a frame, give share_exposed (the share of compared responses in the exposed group)",
                                         column="share_exposed")])
        if isinstance(response_rate, Mapping):
            raise PlanningError([Problem(rule="response rates per beds class need a frame with beds_class (cells); "
                                         "without one give a single rate", column="response_rate", value=dict(response_rate))])
        rate = _rate_of(response_rate, ["all"])
        n_tot = _ceil(deff * n_logistic_binary(odds_ratio, p0, share_exposed, power=power, alpha=alpha, alternative=alternative, method=method))
        for grp, share, p, classes in (("exposed", share_exposed, p1, exposed), ("reference", 1 - share_exposed, p0, reference)):
            r = rate["all"]
            resp = _ceil(share * n_tot)
            rows.append({"region": "all", "group": grp, "beds_class": ",".join(classes), "frame_units": math.inf, "p": p,
                         **common, "share_exposed": share_exposed, "responses_total_needed": n_tot, "responses_needed": resp,
                         "response_rate": r, "invitations_needed": _ceil(resp / r), "reachable": None,
                         "max_responses": math.inf, "power_if_all_invited": float("nan"), "note": ""})
        out = pd.DataFrame(rows)
        out.attrs.update({"target": "odds_ratio", **common, "p0": p0, "share_exposed": share_exposed})
        return out
    probs = _cells_problems(cells, ["beds_class"] + list(byt))
    if probs:
        raise PlanningError(probs, what="frame cells")
    lab = _labels(cells, ("beds_class",) + byt)
    present = set(lab["beds_class"])
    unknown = [k for k in exposed + reference if k not in present]
    if unknown:
        raise PlanningError([Problem(rule=f"beds class not in the frame; it has {sorted(present)}", column="exposed" if k in exposed else "reference",
                                     value=k) for k in unknown])
    rates = _rate_of(response_rate, exposed + reference)
    lab = lab[lab["beds_class"].isin(exposed + reference)].copy()
    lab["_r"] = lab["beds_class"].map(rates).astype(float)
    agg = lab.groupby(["region", "beds_class"], sort=True, observed=True).agg(N=("N", "sum"), r=("_r", "first")).reset_index()
    agg["m"] = agg["N"].astype(float) * agg["r"]
    for region, g in agg.groupby("region", sort=True):
        ge, gr = g[g["beds_class"].isin(exposed)], g[g["beds_class"].isin(reference)]
        me, mr = float(ge["m"].sum()), float(gr["m"].sum())
        if me <= 0 or mr <= 0:
            empty = "exposed" if me <= 0 else "reference"
            raise PlanningError([Problem(rule=f"the {empty} group has no frame units here, so nothing can be compared",
                                         column="region", value=region)], what="frame cells")
        B = share_exposed if share_exposed is not None else me / (me + mr)
        n_tot = _ceil(deff * n_logistic_binary(odds_ratio, p0, B, power=power, alpha=alpha, alternative=alternative, method=method))
        B_all = me / (me + mr)
        n_all = (me + mr) / deff
        if method == "exact":
            n_all = math.floor(n_all + 1e-9)
        pw_all = (power_logistic_binary(n_all, odds_ratio, p0, B_all, alpha=alpha, alternative=alternative, method=method)
                  if n_all >= 2 else 0.0)
        for grp, share, p, gg in (("exposed", B, p1, ge), ("reference", 1 - B, p0, gr)):
            need_g = _ceil(share * n_tot)
            mg = float(gg["m"].sum())
            for _, row in gg.iterrows():
                resp = _ceil(need_g * float(row["m"]) / mg) if row["m"] > 0 else 0
                inv = _ceil(resp / float(row["r"]))
                reach = bool(inv <= float(row["N"]) + 1e-9)
                note = "" if reach else (
                    f"the frame has {float(row['N']):g} units; {inv} invitations are needed at response rate {float(row['r']):.3g} "
                    f"(about {float(row['m']):.1f} responses if all are invited); inviting every unit of the compared classes "
                    f"gives power {pw_all:.3f}")
                rows.append({"region": region, "group": grp, "beds_class": row["beds_class"], "frame_units": float(row["N"]),
                             "p": p, **common, "share_exposed": B, "responses_total_needed": n_tot, "responses_needed": resp,
                             "response_rate": float(row["r"]), "invitations_needed": inv, "reachable": reach,
                             "max_responses": float(row["m"]), "power_if_all_invited": pw_all, "note": note})
    out = pd.DataFrame(rows)
    out.attrs.update({"target": "odds_ratio", **common, "p0": p0, "share_exposed": share_exposed, "exposed": exposed,
                      "reference": reference, "by": list(byt)})
    return out


# --------------------------------------------------------------------------- simulation check


def _logistic_wald_reject(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Reject flags and estimability of the logistic Wald test from 2x2 counts.

    With one binary predictor the logistic MLE is the sample log odds ratio
    :math:`\\log(ad/bc)` and its Wald SE :math:`\\sqrt{1/a+1/b+1/c+1/d}` (the model is saturated);
    with an empty cell the MLE does not exist (separation): not estimable, not rejected.
    """
    ok = (a > 0) & (b > 0) & (c > 0) & (d > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.log(a) + np.log(d) - np.log(b) - np.log(c)
        se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
        stat = est / se
    return ok & (np.abs(stat) > z), ok


def power_check_task(task_id: int, rng: np.random.Generator, *, scenarios: Sequence[Mapping[str, Any]], reps: int = 100) -> list[dict]:
    """Simulate ``reps`` data sets per scenario and count the rejections of its test (a :func:`run_study` task).

    Parameters
    ----------
    task_id : int
        Task id (the runner's; unused: all randomness comes from ``rng``).
    rng : numpy.random.Generator
        The task's generator.
    scenarios : sequence of mapping
        Each with ``scenario`` (an id), ``test`` (:data:`SIMULATED_TESTS`), ``alpha`` and:
        for ``logistic_wald`` ``n`` (total), ``p0``, ``odds_ratio``, ``share_exposed``;
        for the two-proportion tests ``n1``, ``n2``, ``p1``, ``p2``. Two-sided tests.
    reps : int
        Simulated data sets per scenario in this task.

    Returns
    -------
    list of dict
        Per scenario: ``scenario``, ``reps``, ``rejected``, ``not_estimable`` (logistic:
        data sets with an empty cell, counted as not rejected).
    """
    rows = []
    for sc in scenarios:
        test = sc["test"]
        if test not in SIMULATED_TESTS:
            raise PlanningError([Problem(rule=f"unknown simulated test; valid: {sorted(SIMULATED_TESTS)}", column="test", value=test)])
        z = _z(1 - float(sc["alpha"]) / 2)
        nonest = 0
        if test == "logistic_wald":
            n, p0, B = int(sc["n"]), float(sc["p0"]), float(sc["share_exposed"])
            p1 = _logit_parts(float(sc["odds_ratio"]), p0, B)[0]
            n1 = rng.binomial(n, B, size=reps)
            a = rng.binomial(n1, p1)           # exposed with the outcome
            c = rng.binomial(n - n1, p0)       # reference with the outcome
            rej, ok = _logistic_wald_reject(a.astype(float), (n1 - a).astype(float), c.astype(float), (n - n1 - c).astype(float), z)
            nonest = int((~ok).sum())
        else:
            n1, n2, p1, p2 = int(sc["n1"]), int(sc["n2"]), float(sc["p1"]), float(sc["p2"])
            x1 = rng.binomial(n1, p1, size=reps).astype(float)
            x2 = rng.binomial(n2, p2, size=reps).astype(float)
            h1, h2 = x1 / n1, x2 / n2
            with np.errstate(divide="ignore", invalid="ignore"):
                if test == "arcsine":
                    stat = 2 * (np.arcsin(np.sqrt(h1)) - np.arcsin(np.sqrt(h2))) / math.sqrt(1 / n1 + 1 / n2)
                elif test == "unpooled_z":
                    stat = (h1 - h2) / np.sqrt(h1 * (1 - h1) / n1 + h2 * (1 - h2) / n2)
                else:
                    pb = (x1 + x2) / (n1 + n2)
                    diff = np.abs(h1 - h2)
                    if test == "yates":
                        diff = np.maximum(diff - 0.5 * (1 / n1 + 1 / n2), 0.0)
                    stat = diff / np.sqrt(pb * (1 - pb) * (1 / n1 + 1 / n2))
            ok = np.isfinite(stat)
            nonest = int((~ok).sum())
            rej = ok & (np.abs(np.where(ok, stat, 0.0)) > z)
        rows.append({"scenario": str(sc["scenario"]), "reps": int(reps), "rejected": int(rej.sum()), "not_estimable": nonest})
    return rows


def summarise_power_check(results: pd.DataFrame, scenarios: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Simulated power per scenario next to the closed form (and the exact power) at the same n, with its MC error.

    Parameters
    ----------
    results : DataFrame
        Rows of :func:`power_check_task` (e.g. ``run_study(...).results``).
    scenarios : sequence of mapping
        The scenarios, each with ``closed_form_power`` (the planning formula's power at the
        simulated n), ``target_power`` (the power the n was planned for) and optionally
        ``exact_power`` (the exact power by enumeration at that n), plus any descriptive keys
        (copied to the output).

    Returns
    -------
    DataFrame
        The scenario's keys and ``n_sims``, ``rejected``, ``not_estimable``,
        ``simulated_power``, ``mc_se`` (:math:`\\sqrt{\\hat\\pi(1-\\hat\\pi)/n_{sims}}`),
        ``difference`` (simulated - closed form), ``z`` (difference / mc_se),
        ``within_mc_error`` (:math:`|z| \\le 2`), ``difference_to_target`` (simulated - target)
        and, with ``exact_power``, ``difference_to_exact``, ``z_exact`` and
        ``exact_within_mc_error`` (the same against the exact power: a check of the
        simulation and of the enumeration, which are coded independently).

    Raises
    ------
    PlanningError
        A scenario without simulated rows.
    """
    tot = results.groupby("scenario", sort=False)[["reps", "rejected", "not_estimable"]].sum()
    rows = []
    for sc in scenarios:
        sid = str(sc["scenario"])
        if sid not in tot.index:
            raise PlanningError([Problem(rule="no simulated rows for this scenario", column="scenario", value=sid)])
        t = tot.loc[sid]
        m, k = int(t["reps"]), int(t["rejected"])
        pw = k / m
        se = math.sqrt(max(pw * (1 - pw), 1e-12) / m)
        diff = pw - float(sc["closed_form_power"])
        row = {**dict(sc), "n_sims": m, "rejected": k, "not_estimable": int(t["not_estimable"]),
               "simulated_power": pw, "mc_se": se, "difference": diff, "z": diff / se,
               "within_mc_error": bool(abs(diff) <= 2 * se), "difference_to_target": pw - float(sc["target_power"])}
        if sc.get("exact_power") is not None:
            dex = pw - float(sc["exact_power"])
            row.update({"difference_to_exact": dex, "z_exact": dex / se, "exact_within_mc_error": bool(abs(dex) <= 2 * se)})
        rows.append(row)
    return pd.DataFrame(rows)
