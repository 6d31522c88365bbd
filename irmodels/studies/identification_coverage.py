r"""Coverage of exact identification regions and assumption-conditional intervals (issue 9).

The 2017 survey (98 respondents of 1180 invited departments) was published only as
one-way margins. :mod:`irmodels.identification.bounds` reports the **identification
region** of an association (its range over every integer table with those margins) and
:mod:`irmodels.identification.curves` reports estimates **at fixed assumption
parameters** (odds ratios) with sampling intervals. This study checks both end to end on
simulated populations with a known truth:

known truth -> publish one-way margins like the paper -> reconstruct -> estimate -> compare.

Design (2017-like; every default read from the package's data, never typed here)
-------------------------------------------------------------------------------
* **Frame**: ``n_frame`` = 1180 departments in the four bed classes, in the shares of the
  ``"radiologists"`` frame scenario (:func:`irmodels.nonresponse.frame.frame_margins`), rounded to
  whole departments by largest remainders (the same frame in every simulation).
* **Teaching status and 24/7 cover**: within bed class :math:`b` (score
  :math:`s_b` = 0, 1, 2, 3 as in :data:`irmodels.identification.expected.SCORES`) the pair
  (teaching :math:`t`, cover :math:`c`) follows the log-linear model

  .. math:: P(t, c \mid b) \propto \exp(\alpha_t t + \alpha_c c + \theta_{tb} t s_b
            + \theta_{cb} c s_b + \theta_{ct} c t),

  with :math:`\theta_{cb} = \log\psi` (``psi``: the per-bed-class odds ratio of cover),
  :math:`\theta_{ct} = \log` ``or_teaching`` and :math:`\theta_{tb} = \log`
  ``or_teaching_beds``. Then cover given bed class and teaching is exactly logistic,
  :math:`\mathrm{logit}\,P(c=1 \mid b, t) = \alpha_c + s_b\log\psi + t\log OR_t`, so the
  true log odds ratio of cover for >= 800 vs < 200 beds (adjusted for teaching) is
  :math:`3\log\psi`; and the population is exactly the linear-by-linear log-linear model
  :func:`~irmodels.identification.expected.expected_table` fits, with ``teaching~beds_class``
  = ``or_teaching_beds``. When ``or_teaching`` = 1 (the default) teaching given bed class
  is logistic in the bed-class score with per-step odds ratio ``or_teaching_beds`` and the
  cover-size association is the same with and without teaching in the model.
* **Response**: missing at random given bed class, with the 2017 response rate of each
  class by default (the 2017 respondents per class, 4/15/28/51, over the frame's
  departments in the class: 98 respondents expected, larger hospitals responding more).
* **Item non-response**: each respondent leaves 24/7 cover unanswered with probability
  ``item_missing`` (1%; 2017: 1 of 98), completely at random.
* **Publication**: the respondents' one-way margins of ``beds_class``, ``teaching`` and
  ``cover_24_7`` (with ``"<NA>"``), nothing else, as the paper did.

Per simulation (one row of :func:`coverage_study`)
---------------------------------------------------
1. *Identification regions* (``region_*``): the respondents' true risk difference and
   odds ratio of cover (>= 800 vs < 200 beds; teaching vs not), among departments that
   answered, and the exact region from the published margins alone (``_Pair`` with
   ``groups=()``, ``joint={}``; :func:`~irmodels.identification.bounds._contrast_bounds`).
   The truth must lie inside in every simulation.
2. *Identified quantity* (``share_*``, ``manski_*``): the respondents' share with cover,
   read from the margins, equals the truth among respondents; the Manski bound
   (:func:`irmodels.nonresponse.manski.manski_bounds`) contains the frame-wide prevalence.
   Both must hold in every simulation.
3. *Assumption-conditional estimates at the true parameter* (``poststrat_*``,
   ``regression_*``):

   (i) frame-wide prevalence post-stratified to the frame's bed classes,
   :func:`~irmodels.identification.curves.coverage_curve` at ``grid=[psi]``: does its
   interval cover the finite-population prevalence of the simulated frame?

   (ii) the regression term ``beds_class[T.>=800]`` of
   :func:`~irmodels.identification.curves.fit_expected` on the expected table at the true
   odds ratios. Its estimate *is* the assumption (:math:`3\log\psi`), so its interval
   always covers the true log odds ratio (``regression_covers_truth``, reported as a
   check). In what sense it is a sampling interval: does it cover the maximum-likelihood
   estimate of the same term from the simulated respondent-level data (logistic
   regression of cover on bed class and teaching)? Expected: at the nominal rate.

   A benchmark, not a property of the identification layer: does the Wald interval of
   that respondent-level fit cover :math:`3\log\psi` (what respondent-level data would give)?

Quantities that do not exist in a simulation are missing (``NaN``), never dropped: an
association with an empty comparison group, a post-stratified estimate with a bed class
without answering respondents, a regression with a level without respondents.
A respondent-level ML estimate that is infinite (separation: e.g. all of the few
< 200-bed respondents without cover) is recorded as infinite, and a finite interval does
not cover it. :func:`summarise_coverage` reports how many simulations each quantity was
undefined in.

Randomness: simulation ``i`` draws from ``numpy.random.default_rng`` seeded with the
``i``-th child of ``numpy.random.SeedSequence(seed)`` (``spawn_key=(i,)``), so its result
does not depend on ``n_sims`` nor on the order simulations are run in.

Parts: :mod:`~irmodels.studies.identification_coverage_simulate` (the design, simulating and
publishing a survey), :mod:`~irmodels.studies.identification_coverage_estimate` (the estimates
and checks of one survey); this module runs the study and summarises it.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from irmodels.core.errors import Problem, SchemaError
from irmodels.studies.identification_coverage_estimate import (_identified_checks, _poststrat, _region_checks,
                                                              _regression, _respondent_ml)
from irmodels.studies.identification_coverage_simulate import (
    _NA,
    _SAFE,
    BEDS,
    _Design,
    _is_real,
    _resolve_design,
    _simulate,
)

__all__ = ["simulation_rng", "simulate_one", "coverage_study", "summarise_coverage", "QUANTITIES"]


#: The summary's quantities: (quantity, column of the per-simulation table, kind, nominal
#: (None: the intervals' level), condition (column, value) restricting the simulations or
#: None, description).
QUANTITIES: tuple[tuple[str, str, str, float | None, tuple[str, str] | None, str], ...] = (
    ("region_contains_rd_beds", "region_rd_beds_inside", "always", 1.0, None,
     "identification region (margins only) contains the respondents' risk difference, >=800 vs <200 beds"),
    ("region_contains_or_beds", "region_or_beds_inside", "always", 1.0, None,
     "identification region (margins only) contains the respondents' odds ratio, >=800 vs <200 beds"),
    ("region_contains_rd_teaching", "region_rd_teaching_inside", "always", 1.0, None,
     "identification region (margins only) contains the respondents' risk difference, teaching vs not"),
    ("region_contains_or_teaching", "region_or_teaching_inside", "always", 1.0, None,
     "identification region (margins only) contains the respondents' odds ratio, teaching vs not"),
    ("respondent_share_exact", "share_exact", "always", 1.0, None,
     "identified: the respondents' share with cover read from the margins equals the truth among respondents"),
    ("manski_contains_frame_prevalence", "manski_contains", "always", 1.0, None,
     "bounded: the Manski bound contains the frame-wide prevalence"),
    ("regression_covers_true_log_or", "regression_covers_truth", "always (by construction)", 1.0, None,
     "assumption: the interval of beds_class[T.>=800] on the expected table at the true odds ratios contains "
     "3 log(psi) (its estimate is the assumption)"),
    ("poststratified_covers_frame_prevalence", "poststrat_covers", "sampling", None, None,
     "assumption (psi = true value; frame scenario; MAR within bed class): the post-stratified interval "
     "covers the frame-wide prevalence"),
    ("regression_covers_respondent_ml", "regression_covers_ml", "diagnostic", None, None,
     "assumption (odds ratios = true values): the interval of beds_class[T.>=800] on the expected table "
     "covers the respondent-level ML estimate of that term (an infinite ML estimate, under separation, "
     "is not covered). A diagnostic of the asymptotic (Wald) interval at n ~ 98 with ~4 respondents "
     "under 200 beds, not a coverage guarantee: the estimand is 3 log(psi), covered by construction"),
    ("regression_covers_respondent_ml_given_finite_ml", "regression_covers_ml", "diagnostic (conditional)", None,
     ("ml_status", "finite"),
     "as regression_covers_respondent_ml, among simulations whose respondent-level ML estimate is finite "
     "(conditions on the data: a diagnostic, not a coverage guarantee)"),
    ("respondent_ml_covers_true_log_or", "ml_covers_truth", "benchmark", None, None,
     "respondent-level data (not published): the Wald interval of the ML estimate covers 3 log(psi) "
     "(an infinite ML estimate has no interval: not covered)"),
    ("respondent_ml_covers_true_log_or_given_finite_ml", "ml_covers_truth", "benchmark (conditional)", None,
     ("ml_status", "finite"),
     "as respondent_ml_covers_true_log_or, among simulations whose ML estimate is finite"),
)


# --------------------------------------------------------------------------- the study


def simulation_rng(seed: int, sim: int) -> np.random.Generator:
    """Generator of simulation ``sim``: the ``sim``-th child of ``SeedSequence(seed)``.

    Identical to ``numpy.random.default_rng(numpy.random.SeedSequence(seed).spawn(n)[sim])``
    for any ``n > sim``, so a simulation's draws do not depend on how many are run.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(sim,)))


def simulate_one(sim: int, seed: int, *, level: float = 0.95, **design: Any) -> dict[str, Any]:
    """Run simulation ``sim`` of the study seeded by ``seed``: simulate, publish, estimate, compare.

    Parameters
    ----------
    sim : int
        Index of the simulation (its child seed).
    seed : int
        Seed of the study.
    level : float
        Level of the sampling intervals.
    **design
        Arguments of :func:`simulate_published_survey` (defaults: :data:`DEFAULT_DESIGN`).

    Returns
    -------
    dict
        One row of :func:`coverage_study`.
    """
    problems = _study_arg_problems(1, seed, level)
    if not (isinstance(sim, numbers.Integral) and not isinstance(sim, bool) and sim >= 0):
        problems.append(Problem("must be a non-negative integer", column="sim", value=sim))
    d = _resolve_design(problems, "simulate_one", **design)
    return _run(int(sim), int(seed), d, float(level))


def _run(sim: int, seed: int, d: _Design, level: float) -> dict[str, Any]:
    s = _simulate(simulation_rng(seed, sim), d)
    mb, mt, mc = s.margins["beds_class"], s.margins["teaching"], s.margins["cover_24_7"]
    row: dict[str, Any] = {
        "sim": sim, "seed": seed, "psi": d.psi, "or_teaching": d.or_teaching, "or_teaching_beds": d.or_teaching_beds,
        "n_respondents": int(sum(mb.values())), "n_answered": mc["true"] + mc["false"], "n_cover": mc["true"],
        "n_cover_missing": mc[_NA],
        **{f"n_beds_{_SAFE[b]}": mb[b] for b in BEDS}, "n_teaching": mt["true"], "n_not_teaching": mt["false"],
    }
    row.update(_region_checks(s))
    row.update(_identified_checks(s))
    row.update(_poststrat(s, level))
    ml = _respondent_ml(s)
    row.update(_regression(s, ml, level))
    z = stats.norm.ppf(0.5 + level / 2)
    truth = 3.0 * math.log(d.psi)
    est, se = ml["ml_estimate"], ml["ml_std_error"]
    row.update({"ml_estimate": est, "ml_std_error": se, "ml_status": ml["ml_status"],
                "ml_covers_truth": (math.nan if ml["ml_status"] == "undefined" else
                                    0.0 if ml["ml_status"] == "infinite" else
                                    float(est - z * se <= truth <= est + z * se))})
    return row


def _study_arg_problems(n_sims: Any, seed: Any, level: Any) -> list[Problem]:
    problems = []
    if not (isinstance(n_sims, numbers.Integral) and not isinstance(n_sims, bool) and n_sims >= 1):
        problems.append(Problem("must be an integer >= 1", column="n_sims", value=n_sims))
    if not (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0):
        problems.append(Problem("must be a non-negative integer (the SeedSequence entropy)", column="seed", value=seed))
    if not (_is_real(level) and 0 < level < 1):
        problems.append(Problem("must be in (0, 1)", column="level", value=level))
    return problems


def coverage_study(n_sims: int, seed: int, *, level: float = 0.95, **design: Any) -> pd.DataFrame:
    """Simulate ``n_sims`` published surveys and check regions and intervals against the truth.

    Parameters
    ----------
    n_sims : int
        Number of simulations (>= 500 for the issue's check).
    seed : int
        Entropy of the study's :class:`numpy.random.SeedSequence`; simulation ``i`` uses
        its ``i``-th child (:func:`simulation_rng`).
    level : float
        Level of every sampling interval (the nominal coverage).
    **design
        Arguments of :func:`simulate_published_survey` (``psi``, ``or_teaching``,
        ``or_teaching_beds``, intercepts, ``frame_shares``, ``response_rates``,
        ``item_missing``, ``n_frame``); defaults in :data:`DEFAULT_DESIGN`.

    Returns
    -------
    pandas.DataFrame
        One row per simulation, sorted by ``sim``. Counts of the published margins
        (``n_respondents``, ``n_answered``, ``n_cover``, ``n_cover_missing``,
        ``n_beds_lt200``, ``n_beds_200_399``, ``n_beds_400_799``, ``n_beds_ge800``, ``n_teaching``, ``n_not_teaching``); for each association
        (``beds``: >= 800 vs < 200 beds; ``teaching``: teaching vs not) and scale
        (``rd``, ``or``) ``region_<scale>_<assoc>_true`` (among respondents answering),
        ``_lower``, ``_upper`` (exact region from the margins) and ``_inside``;
        ``frame_prevalence`` (finite-population truth), ``share_published``,
        ``share_true``, ``share_exact``, ``manski_lower``, ``manski_upper``,
        ``manski_contains``; ``poststrat_estimate``, ``_std_error``, ``_lower``,
        ``_upper``, ``_covers`` (frame prevalence at the true ``psi``);
        ``regression_truth`` (``3 log psi``), ``regression_estimate``, ``_std_error``,
        ``_lower``, ``_upper``, ``regression_covers_truth``, ``regression_covers_ml``;
        ``ml_estimate``, ``ml_std_error``, ``ml_status`` (``finite``, ``infinite`` under
        separation, ``undefined``), ``ml_covers_truth``. Checks are 1.0/0.0, NaN where the
        quantity does not exist in that simulation.

    Raises
    ------
    SchemaError
        Listing every invalid argument.
    """
    # every problem of the arguments and the design before any simulation runs
    d = _resolve_design(_study_arg_problems(n_sims, seed, level), "coverage_study", **design)
    rows = [_run(i, int(seed), d, float(level)) for i in range(int(n_sims))]
    return pd.DataFrame(rows)


def summarise_coverage(results: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Coverage of each checked quantity with its Monte Carlo standard error.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`coverage_study`.
    level : float
        Nominal coverage of the sampling intervals (the study's ``level``).

    Returns
    -------
    pandas.DataFrame
        One row per quantity of :data:`QUANTITIES`: ``quantity``, ``kind`` (``always``:
        must hold in every simulation; ``sampling``: an interval at its nominal level;
        ``diagnostic``: how the asymptotic interval behaves, not a coverage claim;
        ``benchmark``: respondent-level data, for comparison; ``(conditional)``: among the
        simulations with a finite respondent-level ML estimate), ``n_sims`` (simulations
        in which the quantity exists, within the condition), ``n_undefined``, ``covered``, ``coverage``,
        ``mc_se`` (``sqrt(p (1 - p) / n_sims)``; 0 when every simulation is covered),
        ``cp_lower``, ``cp_upper`` (exact 95% Clopper-Pearson interval of the coverage,
        informative where ``mc_se`` is 0), ``nominal``, ``within_mc_error``
        (``|coverage - nominal| <= 2 mc_se``; for ``always`` checks ``coverage == 1``),
        ``description``.

    Raises
    ------
    SchemaError
        When a column of the study is missing.
    """
    needed = {col for _, col, *_ in QUANTITIES} | {c[0] for *_, c, _ in QUANTITIES if c is not None}
    missing = sorted(needed - set(results.columns))
    problems = [Problem("column of coverage_study missing", column=c) for c in missing]
    if not (_is_real(level) and 0 < level < 1):
        problems.append(Problem("must be in (0, 1)", column="level", value=level))
    if problems:
        raise SchemaError(problems, what="summarise_coverage")
    rows = []
    for name, col, kind, nominal, cond, desc in QUANTITIES:
        sub = results if cond is None else results[results[cond[0]] == cond[1]]
        v = pd.to_numeric(sub[col], errors="coerce")
        ok = v.dropna()
        n = int(len(ok))
        p = float(ok.mean()) if n else math.nan
        se = math.sqrt(p * (1 - p) / n) if n else math.nan
        nom = float(level) if nominal is None else float(nominal)
        within = (p == 1.0) if kind.startswith("always") else (abs(p - nom) <= 2 * se if n else False)
        k = int(ok.sum())
        cp_lo = float(stats.beta.ppf(0.025, k, n - k + 1)) if 0 < k else 0.0
        cp_hi = float(stats.beta.ppf(0.975, k + 1, n - k)) if k < n else 1.0
        rows.append({"quantity": name, "kind": kind, "n_sims": n, "n_undefined": int(v.isna().sum()),
                     "covered": k, "coverage": p, "mc_se": se, "cp_lower": cp_lo if n else math.nan,
                     "cp_upper": cp_hi if n else math.nan, "nominal": nom,
                     "within_mc_error": bool(within), "description": desc})
    return pd.DataFrame(rows)
