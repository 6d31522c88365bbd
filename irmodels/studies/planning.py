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

Parts: :mod:`~irmodels.studies.planning_proportions` (one and two proportions),
:mod:`~irmodels.studies.planning_logistic` (the logistic test of a binary predictor),
:mod:`~irmodels.studies.planning_exact` (power by enumeration), :mod:`~irmodels.studies.planning_frame`
(the design effect of weights, frame cells and response rates), :mod:`~irmodels.studies.planning_plans`
(:func:`plan_precision`, :func:`plan_odds_ratio`) and :mod:`~irmodels.studies.planning_checks`
(:class:`PlanningError`). This module re-exports them all and holds the simulation check
(:func:`power_check_task` stays here: the stored study ``validation/studies/planning_check``
names it ``irmodels.studies.planning:power_check_task`` in its manifest).

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
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from irmodels.core.errors import Problem
from irmodels.studies.planning_checks import PlanningError, _z
from irmodels.studies.planning_exact import SIMULATED_TESTS
from irmodels.studies.planning_logistic import _logit_parts

__all__ = ["power_check_task", "summarise_power_check"]


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
