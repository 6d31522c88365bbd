r"""Simulation-based calibration (SBC) of every Bayesian family, in a 2017-like design (issue 10).

Talts et al. (2018): draw the parameters from the prior, simulate a data set from them, fit the
model, and record the rank of each true value among :math:`L` thinned posterior draws. If the
model code, the priors used to simulate and the sampler are right, every rank is uniform on
:math:`0..L`. Uniformity is tested with the simultaneous 95% band for the ECDF of the ranks of
Säilynoja, Bürkner & Vehtari (2022) (:func:`ecdf_band`, :func:`ecdf_test`).

Design (2017-like; every margin read from :func:`irmodels.data.waves.esr_cirse_2017.published_margins`)
---------------------------------------------------------------------------------------------------
* **Countries**: the 24 countries of 2017 with their published numbers of respondents (1 to 15,
  98 in all): the same group sizes in every simulation.
* **Covariates**: ``beds_class``, ``teaching`` and ``chair_profile`` each take exactly the 2017
  published counts (4/15/28/51 by bed class, 93 teaching, 26/31/26/15 by chair profile),
  assigned to the 98 departments by independent random permutations (the joint distribution of
  2017 was not published; independence is this design's assumption). Every level is present in
  every simulated data set.
* **Parameters** from the model's priors (:data:`irmodels.models.bayes.DEFAULT_PRIORS` through
  ``bayes._priors``, the scales the model itself uses): ``b[Intercept] ~ N(0, 2.5)``,
  ``b[term] ~ N(0, 1.5)``, ``sd_country ~ HalfNormal(1)``, country intercepts
  ``a = sd_country * z``, ``z ~ N(0, 1)``; ordinal cutpoints: two ``N(0, 2.5)`` draws, sorted
  (the ordered transform of an i.i.d. normal prior is the law of its order statistics);
  ``phi ~ Gamma(2, rate 0.1)``; ``sd_department ~ HalfNormal(1)``.

Families (:data:`FAMILIES`), each with the predictors ``beds_class + teaching + chair_profile``
and country intercepts, the model of :data:`irmodels.models.specs.SPECS`:

================  ==============================================================================
``logit``         ``cover_24_7 ~ Bernoulli(expit(X b + a[country]))``
``ordinal``       ``female_ir_share_class`` in 3 ordered classes (``0``, ``1-25``, ``>25``, the
                  specs' merge of the codebook classes): cumulative logit
                  ``P(Y <= j) = expit(theta_j - X b - a[country])`` (no intercept)
``beta_binomial`` ``n_female_ir ~ BetaBinomial(n_ir, mu phi, (1 - mu) phi)``,
                  ``mu = expit(X b + a[country])``
``share``         the female-IR share model (``family="binomial"``, ``share_class=``): latent
                  ``logit p_i = X b + a[country] + sd_department u_i``;
                  ``n_female_ir ~ Binomial(n_ir, p_i)``; ``n_count`` departments (30%, drawn at
                  random) report the counts, the others only the share class of
                  ``n_female_ir / n_ir`` (codebook bins, ``>25`` merged), their ``n_ir``
                  unreported; the model gets the true distribution of ``n_ir`` as its option
                  ``trials_distribution``
================  ==============================================================================

``n_ir`` (IRs per department, beta-binomial and share families) is uniform on ``1..n_ir_max``
(default 10): 2017 did not publish team sizes, and this is the simulated waves' range
(:func:`irmodels.studies.simulate.simulate_share_departments`).

Per task (:func:`sbc_task`): simulate, fit with nutpie through the package's own model code
(:func:`irmodels.fit` with ``engine="pymc"`` builds the model; the compiled model is cached per
worker process and the new data swapped in, as :func:`irmodels.models.ensemble.fit_ensemble`
does), thin the posterior to ``L`` draws, and return one row per parameter: the true value, its
rank among the ``L`` draws (``0..L``), and the fit's convergence diagnostics (the gate of
:data:`irmodels.core.convergence.GATE`). Non-converged fits are kept in the task's rows
(``converged`` False), excluded from the ECDF test and counted by :func:`summarise_sbc` as
failed, never pooled; a task that raises (e.g. an ordinal data set with a single observed
class) is recorded by the runner as a failure and counted too.

Caveat (the issue's rule): excluding the non-converged fits conditions on the data, so a
failure rate far from zero can itself bias the ranks; the failure rate is reported per family
(:func:`failure_rates`).

Parts: :mod:`~irmodels.studies.sbc_simulate` (the design and the prior draws of each family),
:mod:`~irmodels.studies.sbc_ecdf` (the rank ECDF test and the summaries); this module fits and
ranks. :func:`sbc_task` stays here: stored studies name their task ``irmodels.studies.sbc:sbc_task``
in their manifests, and a rerun resumes only under the same name.

References
----------
Talts, S., Betancourt, M., Simpson, D., Vehtari, A. & Gelman, A. (2018). Validating Bayesian
inference algorithms with simulation-based calibration. arXiv:1804.06788.
Säilynoja, T., Bürkner, P.-C. & Vehtari, A. (2022). Graphical test for discrete uniformity and
its applications in goodness-of-fit evaluation and multiple sample comparison. Statistics and
Computing 32, 32.
Modrák, M. et al. (2023). Simulation-based calibration checking for Bayesian computation: the
choice of test quantities shapes sensitivity. Bayesian Analysis.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from typing import Any, Mapping

import numpy as np
import pandas as pd

from irmodels.core.errors import ConvergenceWarning, DataDroppedWarning, IrmodelsError
from irmodels.studies.sbc_simulate import _design_matrix, simulate_family

__all__ = ["FIT_SETTINGS", "FAST_FIT_SETTINGS", "sbc_task", "thinned_rank"]


#: MCMC settings of the full-scale study: the package's defaults (4 chains x 1000 draws after
#: 1000 tuning steps), one core per fit (the workers run fits in parallel), ``L = 99``; a fit
#: counts as converged when it passes the package's gate (:data:`irmodels.core.convergence.GATE`:
#: R-hat <= 1.01, bulk and tail ESS >= 400, no divergent transitions). ``target_accept`` None is
#: the package's default for the family (:data:`irmodels.models.bayes.TARGET_ACCEPT`: 0.99 for the
#: beta-binomial, else 0.9).
FIT_SETTINGS: dict[str, Any] = {"draws": 1000, "tune": 1000, "chains": 4, "cores": 1, "L": 99,
                                "r_hat_max": None, "ess_min": None, "target_accept": None}
#: Settings of the fast configuration (tests): few draws, ``L = 19``, and a gate scaled to the
#: short chains (R-hat <= 1.05, ESS >= 50; the package's ESS >= 400 is out of reach of 200 draws).
FAST_FIT_SETTINGS: dict[str, Any] = {"draws": 100, "tune": 150, "chains": 2, "cores": 1, "L": 19,
                                     "r_hat_max": 1.05, "ess_min": 50.0}


# --------------------------------------------------------------------------- fitting


def _structure_key(family: str, args: Mapping[str, Any], model) -> str:
    """Key of a model's compiled structure: family, call and the shapes of its free variables."""
    dims = model.named_vars_to_dims
    shapes = []
    for rv in model.free_RVs:
        shapes.append((rv.name, tuple(len(model.coords[dm]) for dm in dims.get(rv.name, ()))))
    data = sorted((v.name, v.type.ndim) for v in model.data_vars)
    raw = repr((family, args["formula"], args["family"], args["group"], sorted(args["options"]), shapes, data))
    return "irmodels.studies.sbc:" + hashlib.sha256(raw.encode()).hexdigest()


def _fit(family: str, data: pd.DataFrame, args: Mapping[str, Any], seed: int, settings: Mapping[str, Any],
         priors: Mapping[str, Any] | None):
    """Build the model with :func:`irmodels.fit`, sample with nutpie (compiled once per worker)."""
    import nutpie

    from irmodels.models import bayes
    from irmodels.models.fit import fit
    from irmodels.studies.runner_tasks import worker_setup

    f = fit(args["formula"], data, family=args["family"], engine="pymc", group=args["group"], seed=int(seed),
            priors=dict(priors or {}) or None, _defer_sampling=True, collapse=False, on_fail="warn",
            draws=int(settings["draws"]), tune=int(settings["tune"]), chains=int(settings["chains"]),
            cores=int(settings["cores"]), **args["options"],
            **({} if settings.get("target_accept") is None else {"target_accept": float(settings["target_accept"])}))
    model, prep = f.extra["model"], f.extra["prepared"]
    st = bayes._settings(f, prep)
    key = _structure_key(family, args, model)
    compiled = worker_setup(lambda: bayes.compile_nutpie(model, st)[0], key=key)
    values = {v.name: v.get_value() for v in model.data_vars}
    idata = nutpie.sample(compiled.with_data(**values), draws=st["draws"], tune=st["tune"], chains=st["chains"],
                          cores=st["cores"], seed=int(seed), progress_bar=False, save_warmup=False,
                          adaptation=st["adaptation"], target_accept=st["target_accept"])
    return f, idata


def thinned_rank(draws: np.ndarray, true: float, L: int) -> int:
    """Rank of ``true`` among ``L`` draws thinned evenly from ``draws`` (chains concatenated): 0..L."""
    flat = np.asarray(draws, dtype=float).reshape(-1)
    if L < 1 or L > len(flat):
        raise IrmodelsError(f"L={L}: must be between 1 and the number of draws ({len(flat)})")
    keep = np.linspace(0, len(flat) - 1, L).round().astype(int)
    return int((flat[keep] < true).sum())


def _posterior_of(f, idata, truth: Mapping[str, float]) -> dict[str, np.ndarray]:
    post = idata["posterior"]
    out: dict[str, np.ndarray] = {}
    b = np.asarray(post["b"])
    for j, t in enumerate(f.design.X.columns):
        out[f"b[{t}]"] = b[..., j]
    out["sd(country)"] = np.asarray(post["sd_country"])
    a = np.asarray(post["a_country"])
    for name in truth:
        if name.startswith("a["):
            out[name] = a[..., f.design.group_levels.index(name[2:-1])]
    if "cutpoints" in post:
        cut = np.asarray(post["cutpoints"])
        cats = f.design.categories
        for j in range(cut.shape[-1]):
            out[f"threshold[{cats[j]}|{cats[j + 1]}]"] = cut[..., j]
    for name in ("phi", "sd_department"):
        if name in post:
            out[name] = np.asarray(post[name])
    return out


def sbc_task(task_id: int, rng: np.random.Generator, *, family: str, design: Mapping[str, Any] | None = None,
             settings: Mapping[str, Any] | None = None, priors: Mapping[str, Any] | None = None,
             setup: Any = None) -> list[dict[str, Any]]:
    """One SBC simulation of ``family``: prior draw, 2017-like data, nutpie fit, ranks.

    A task of :func:`irmodels.studies.runner.run_study` (all randomness from ``rng``: the
    parameters and data first, then the MCMC seed).

    Parameters
    ----------
    task_id : int
        Simulation number (the runner passes it).
    rng : numpy.random.Generator
        The task's generator.
    family : {"logit", "ordinal", "beta_binomial", "share"}
    design : dict, optional
        Overrides of :data:`DEFAULT_DESIGN`.
    settings : dict, optional
        ``draws``, ``tune``, ``chains``, ``cores`` (MCMC), ``L`` (thinned draws), and the
        convergence gate's ``r_hat_max`` and ``ess_min`` (bulk and tail; None: the package's
        :data:`irmodels.core.convergence.GATE`; divergent transitions always fail the gate); default
        :data:`FIT_SETTINGS`.
    priors : dict, optional
        Prior scales, for the simulation and the fit alike.
    setup : optional
        Unused (the compiled model is cached per worker with
        :func:`irmodels.studies.runner_tasks.worker_setup`, keyed by the model's structure).

    Returns
    -------
    list of dict
        One row per parameter: ``family``, ``parameter``, ``true``, ``rank`` (0..L), ``L``,
        ``post_mean``, ``post_sd``, ``converged`` (the gate: :data:`irmodels.core.convergence.GATE`
        unless ``settings`` say otherwise), ``r_hat_max``, ``ess_bulk_min``, ``ess_tail_min``,
        ``n_divergent`` (over all free parameters of the fit), ``mcmc_seed``, ``fit_seconds``.

    Raises
    ------
    IrmodelsError
        Unknown family or settings; the model's design matrix differs from the simulated one.
    """
    from irmodels.models import posterior

    st = {**FIT_SETTINGS, **dict(settings or {})}
    unknown = sorted(set(st) - set(FIT_SETTINGS))
    if unknown:
        raise IrmodelsError(f"unknown settings {unknown}; valid: {sorted(FIT_SETTINGS)}")
    data, truth, args = simulate_family(family, rng, design=design, priors=priors)
    seed = int(rng.integers(2**31 - 1))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        # non-convergence is recorded per fit below (column converged), not warned per task
        warnings.simplefilter("ignore", ConvergenceWarning)
        # the share classes above 25% are merged by design (the specs' merge), in every task
        warnings.filterwarnings("ignore", message="merge_categories: 'female_ir_share_class'", category=DataDroppedWarning)
        f, idata = _fit(family, data, args, seed, st, priors)
    seconds = time.perf_counter() - t0
    # the model's design matrix must be the one the data were simulated with (names and values)
    X_sim, terms = _design_matrix(data, intercept=family != "ordinal")
    if list(f.design.X.columns) != terms or not np.array_equal(f.design.X.to_numpy(), X_sim):
        raise IrmodelsError(f"the model's design matrix (terms {list(f.design.X.columns)}) differs from the simulated "
                            f"one (terms {terms})")
    diag = posterior.check_convergence(idata)
    r_max = posterior.GATE["r_hat_max"] if st["r_hat_max"] is None else float(st["r_hat_max"])
    e_min = min(posterior.GATE["ess_bulk_min"], posterior.GATE["ess_tail_min"]) if st["ess_min"] is None else float(st["ess_min"])
    if st["r_hat_max"] is None and st["ess_min"] is None:
        converged = bool(diag["converged"])
    else:
        converged = bool(diag["r_hat_max"] <= r_max and diag["ess_bulk_min"] >= e_min and diag["ess_tail_min"] >= e_min
                         and diag["n_divergent"] <= posterior.GATE["n_divergent_max"])
    post = _posterior_of(f, idata, truth)
    L = int(st["L"])
    rows = []
    for name, true in truth.items():
        d = post[name]
        rows.append({"family": family, "parameter": name, "true": float(true), "rank": thinned_rank(d, true, L),
                     "L": L, "post_mean": float(d.mean()), "post_sd": float(d.std(ddof=1)),
                     "converged": converged, "r_hat_max": float(diag["r_hat_max"]),
                     "ess_bulk_min": float(diag["ess_bulk_min"]), "ess_tail_min": float(diag["ess_tail_min"]),
                     "n_divergent": int(diag["n_divergent"]), "mcmc_seed": seed, "fit_seconds": float(seconds)})
    return rows
