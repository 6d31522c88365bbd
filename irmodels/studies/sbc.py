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
:data:`irmodels.models.posterior.GATE`). Non-converged fits are kept in the task's rows
(``converged`` False), excluded from the ECDF test and counted by :func:`summarise_sbc` as
failed, never pooled; a task that raises (e.g. an ordinal data set with a single observed
class) is recorded by the runner as a failure and counted too.

Caveat (the issue's rule): excluding the non-converged fits conditions on the data, so a
failure rate far from zero can itself bias the ranks; the failure rate is reported per family
(:func:`failure_rates`).

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

import functools
import hashlib
import time
import warnings
from types import SimpleNamespace
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import special, stats

from irmodels.core.errors import ConvergenceWarning, DataDroppedWarning, IrmodelsError

__all__ = [
    "FAMILIES",
    "DEFAULT_DESIGN",
    "FIT_SETTINGS",
    "FAST_FIT_SETTINGS",
    "design_2017",
    "simulate_family",
    "sbc_task",
    "thinned_rank",
    "adjust_gamma",
    "ecdf_band",
    "ecdf_test",
    "summarise_sbc",
    "failure_rates",
]

#: Bayesian families of the study (name -> description).
FAMILIES: dict[str, str] = {
    "logit": "hierarchical logistic (bernoulli, country intercepts): cover_24_7",
    "ordinal": "cumulative logit, 3 classes (female_ir_share_class 0 / 1-25 / >25), country intercepts",
    "beta_binomial": "beta-binomial counts n_female_ir of n_ir, country intercepts",
    "share": "female-IR share: binomial measurement model (counts or share class), country intercepts",
}

#: Design of the simulated data sets (see the module docstring).
DEFAULT_DESIGN: dict[str, Any] = {
    "n_ir_max": 10,          # IRs per department ~ U{1..n_ir_max} (beta-binomial, share)
    "count_fraction": 0.3,   # share family: departments reporting counts (a fixed number, random rows)
}

#: MCMC settings of the full-scale study: the package's defaults (4 chains x 1000 draws after
#: 1000 tuning steps), one core per fit (the workers run fits in parallel), ``L = 99``; a fit
#: counts as converged when it passes the package's gate (:data:`irmodels.models.posterior.GATE`:
#: R-hat <= 1.01, bulk and tail ESS >= 400, no divergent transitions).
FIT_SETTINGS: dict[str, Any] = {"draws": 1000, "tune": 1000, "chains": 4, "cores": 1, "L": 99,
                                "r_hat_max": None, "ess_min": None}
#: Settings of the fast configuration (tests): few draws, ``L = 19``, and a gate scaled to the
#: short chains (R-hat <= 1.05, ESS >= 50; the package's ESS >= 400 is out of reach of 200 draws).
FAST_FIT_SETTINGS: dict[str, Any] = {"draws": 100, "tune": 150, "chains": 2, "cores": 1, "L": 19,
                                     "r_hat_max": 1.05, "ess_min": 50.0}

_PREDICTORS = ("beds_class", "teaching", "chair_profile")
_OUTCOME = {"logit": "cover_24_7", "ordinal": "female_ir_share_class", "beta_binomial": "n_female_ir",
            "share": "n_female_ir"}


# --------------------------------------------------------------------------- design


@functools.cache
def _margins_2017() -> dict[str, tuple[tuple[str, ...], tuple[int, ...]]]:
    """2017 published counts of country and the predictors: ``{variable: (levels, counts)}``."""
    from irmodels.data.codebook import categories
    from irmodels.data.waves.esr_cirse_2017 import published_margins

    m = published_margins()
    out: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}
    for var in ("country", *_PREDICTORS):
        rows = m[m["variable"] == var]
        if rows.empty:
            raise IrmodelsError(f"the 2017 published margins have no {var!r}: cannot build the 2017-like design")
        counts = dict(zip(rows["category"].astype(str), rows["count"].astype(int)))
        if var == "country":
            levels = tuple(counts)  # published order (largest first)
        elif var == "teaching":
            levels = ("false", "true")
        else:
            levels = tuple(c for c in categories(var) if c in counts)
        out[var] = (levels, tuple(int(counts[lv]) for lv in levels))
    n = {v: sum(c) for v, (_, c) in out.items()}
    if len(set(n.values())) != 1:
        raise IrmodelsError(f"2017 margins of different totals {n}: the 2017-like design needs one respondent count")
    return out


def _share_levels() -> tuple[list[str], dict[str, list[str]]]:
    """Ordinal / share class levels after the specs' merge (``0``, ``1-25``, ``>25``) and the merge."""
    from irmodels.data.codebook import categories
    from irmodels.models.specs import MERGE_25

    merge = {k: list(v) for k, v in MERGE_25["female_ir_share_class"].items()}
    merged = {o for olds in merge.values() for o in olds}
    levels: list[str] = []
    for c in categories("female_ir_share_class"):
        if c not in merged:
            levels.append(c)
        else:
            new = next(k for k, olds in merge.items() if c in olds)
            if new not in levels:
                levels.append(new)
    return levels, merge


def design_2017(rng: np.random.Generator) -> pd.DataFrame:
    """One 2017-like set of departments: countries, bed class, teaching status and chair profile.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    pandas.DataFrame
        98 rows (the 2017 respondents): ``country`` (the 24 published countries with their
        published numbers of respondents), ``beds_class`` and ``chair_profile`` (ordered
        categoricals, codebook levels), ``teaching`` (bool); each predictor takes exactly its
        2017 published counts, assigned by an independent random permutation.
    """
    mg = _margins_2017()
    levels, counts = mg["country"]
    out: dict[str, Any] = {"country": np.repeat(np.array(levels, dtype=object), counts)}
    for var in _PREDICTORS:
        lv, cn = mg[var]
        codes = rng.permutation(np.repeat(np.arange(len(lv)), cn))
        if var == "teaching":
            out[var] = np.asarray(lv, dtype=object)[codes] == "true"
        else:
            out[var] = pd.Categorical.from_codes(codes, categories=list(lv), ordered=True)
    return pd.DataFrame(out)


def _design_matrix(d: pd.DataFrame, intercept: bool) -> tuple[np.ndarray, list[str]]:
    """Treatment-coded design matrix with irmodels' term names (checked against the model's own)."""
    cols, names = [], []
    if intercept:
        cols.append(np.ones(len(d)))
        names.append("Intercept")
    for var in _PREDICTORS:
        if var == "teaching":
            cols.append(d[var].to_numpy(dtype=float))
            names.append("teaching")
            continue
        cat = d[var].cat
        for j, lev in enumerate(cat.categories[1:], start=1):
            cols.append((cat.codes.to_numpy() == j).astype(float))
            names.append(f"{var}[T.{lev}]")
    return np.column_stack(cols), names


def _prior_scales(priors: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The prior scales the models use (``bayes._priors``: defaults merged with ``priors``)."""
    from irmodels.models import bayes

    return bayes._priors(SimpleNamespace(priors=dict(priors or {}), options={}))


# --------------------------------------------------------------------------- simulation


def simulate_family(family: str, rng: np.random.Generator, *, design: Mapping[str, Any] | None = None,
                    priors: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, dict[str, float], dict[str, Any]]:
    """Draw parameters from the prior of ``family`` and simulate one 2017-like data set.

    Parameters
    ----------
    family : {"logit", "ordinal", "beta_binomial", "share"}
    rng : numpy.random.Generator
    design : dict, optional
        Overrides of :data:`DEFAULT_DESIGN`.
    priors : dict, optional
        Prior scales (as ``irmodels.fit(priors=...)``); default the package's.

    Returns
    -------
    data : DataFrame
        The departments (:func:`design_2017`) with the outcome columns of the family.
    truth : dict
        ``{parameter: true value}``, parameter names as in the ranks table (``b[<term>]``,
        ``sd(country)``, ``a[<country>]``, ``threshold[<lo>|<hi>]``, ``phi``, ``sd_department``).
    fit_args : dict
        Arguments of :func:`irmodels.fit` for the family (formula, family, group, options).
    """
    if family not in FAMILIES:
        raise IrmodelsError(f"family={family!r}: valid families are {sorted(FAMILIES)}")
    des = {**DEFAULT_DESIGN, **dict(design or {})}
    unknown = sorted(set(des) - set(DEFAULT_DESIGN))
    if unknown:
        raise IrmodelsError(f"unknown design keys {unknown}; valid: {sorted(DEFAULT_DESIGN)}")
    pri = _prior_scales(priors)
    d = design_2017(rng)
    n = len(d)
    X, terms = _design_matrix(d, intercept=family != "ordinal")
    scales = np.array([pri["intercept"] if t == "Intercept" else pri["b"] for t in terms])
    b = rng.normal(0.0, scales)
    sd = abs(rng.normal(0.0, pri["sd_group"]))
    countries = list(_margins_2017()["country"][0])
    g = pd.Categorical(d["country"], categories=sorted(countries)).codes  # irmodels sorts group levels
    z = rng.normal(0.0, 1.0, len(countries))
    a = sd * z
    eta = X @ b + a[g]
    truth: dict[str, float] = {f"b[{t}]": float(v) for t, v in zip(terms, b)}
    truth["sd(country)"] = float(sd)
    # two country intercepts are ranked: the largest and the last (smallest) country in the published order
    for c in (countries[0], countries[-1]):
        truth[f"a[{c}]"] = float(a[sorted(countries).index(c)])
    formula = f"{_OUTCOME[family]} ~ " + " + ".join(_PREDICTORS)
    args: dict[str, Any] = {"formula": formula, "group": "country", "options": {}}
    if family == "logit":
        d["cover_24_7"] = rng.random(n) < special.expit(eta)
        args["family"] = "bernoulli"
    elif family == "ordinal":
        levels, _ = _share_levels()
        cut = np.sort(rng.normal(0.0, pri["cutpoints"], len(levels) - 1))
        # latent-variable form of the cumulative logit: P(Y <= j) = expit(theta_j - eta)
        y = (cut[None, :] < (eta + rng.logistic(size=n))[:, None]).sum(axis=1)
        d["female_ir_share_class"] = pd.Categorical.from_codes(y, categories=levels, ordered=True)
        for j in range(len(cut)):
            truth[f"threshold[{levels[j]}|{levels[j + 1]}]"] = float(cut[j])
        args["family"] = "ordinal"
    elif family == "beta_binomial":
        alpha, rate = pri["phi"]
        phi = rng.gamma(alpha, 1.0 / rate)
        n_ir = rng.integers(1, int(des["n_ir_max"]) + 1, size=n)
        mu = special.expit(eta)
        p = rng.beta(mu * phi, (1 - mu) * phi)
        d["n_ir"] = n_ir
        d["n_female_ir"] = rng.binomial(n_ir, p)
        truth["phi"] = float(phi)
        args["family"] = "beta_binomial"
        args["options"] = {"trials": "n_ir"}
    else:  # share
        from irmodels.data.codebook import categories
        from irmodels.data.schema import share_class

        sd_dep = abs(rng.normal(0.0, pri["sd_department"]))
        nmax = int(des["n_ir_max"])
        n_ir = rng.integers(1, nmax + 1, size=n)
        p = special.expit(eta + sd_dep * rng.normal(0.0, 1.0, n))
        k = rng.binomial(n_ir, p)
        n_count = int(round(float(des["count_fraction"]) * n))
        counted = np.zeros(n, dtype=bool)
        counted[rng.choice(n, size=n_count, replace=False)] = True
        codes = categories("female_ir_share_class")
        cls = [None if c else share_class("female_ir_share_class", int(kk), int(nn))
               for c, kk, nn in zip(counted, k, n_ir)]
        d["n_ir"] = pd.array(np.where(counted, n_ir, 0), dtype="Int64")
        d["n_female_ir"] = pd.array(np.where(counted, k, 0), dtype="Int64")
        d.loc[~counted, ["n_ir", "n_female_ir"]] = pd.NA
        d["female_ir_share_class"] = pd.Categorical(cls, categories=codes, ordered=True)
        truth["sd_department"] = float(sd_dep)
        _, merge = _share_levels()
        args["family"] = "binomial"
        args["options"] = {"trials": "n_ir", "share_class": "female_ir_share_class",
                           "merge_categories": {"female_ir_share_class": merge},
                           "trials_distribution": {int(v): 1.0 / nmax for v in range(1, nmax + 1)}}
    return d, truth, args


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
    from irmodels.studies.runner import worker_setup

    f = fit(args["formula"], data, family=args["family"], engine="pymc", group=args["group"], seed=int(seed),
            priors=dict(priors or {}) or None, _defer_sampling=True, collapse=False, on_fail="warn",
            draws=int(settings["draws"]), tune=int(settings["tune"]), chains=int(settings["chains"]),
            cores=int(settings["cores"]), **args["options"])
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
        :data:`irmodels.models.posterior.GATE`; divergent transitions always fail the gate); default
        :data:`FIT_SETTINGS`.
    priors : dict, optional
        Prior scales, for the simulation and the fit alike.
    setup : optional
        Unused (the compiled model is cached per worker with
        :func:`irmodels.studies.runner.worker_setup`, keyed by the model's structure).

    Returns
    -------
    list of dict
        One row per parameter: ``family``, ``parameter``, ``true``, ``rank`` (0..L), ``L``,
        ``post_mean``, ``post_sd``, ``converged`` (the gate: :data:`irmodels.models.posterior.GATE`
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


# --------------------------------------------------------------------------- ECDF test


def _uniform_rank_min_p(N: int, L: int, M: int, rng: np.random.Generator) -> np.ndarray:
    """Smallest two-sided pointwise binomial tail probability of the rank ECDF, for M uniform samples."""
    z = np.arange(1, L + 1) / (L + 1)
    out = np.empty(M)
    step = max(1, 2_000_000 // max(1, N))
    for s in range(0, M, step):
        m = min(step, M - s)
        ranks = rng.integers(0, L + 1, size=(m, N))
        flat = (ranks + (L + 1) * np.arange(m)[:, None]).ravel()
        counts = np.bincount(flat, minlength=m * (L + 1)).reshape(m, L + 1)
        cum = np.cumsum(counts, axis=1)[:, :L]  # N * ECDF at z_i: ranks < i, i = 1..L
        out[s:s + m] = _min_p(cum, N, z)
    return out


def _min_p(cum: np.ndarray, N: int, z: np.ndarray) -> np.ndarray:
    lower = stats.binom.cdf(cum, N, z)
    upper = stats.binom.sf(cum - 1, N, z)
    return np.minimum(2 * np.minimum(lower, upper).min(axis=-1), 1.0)


@functools.lru_cache(maxsize=64)
def _null_min_p(N: int, L: int, M: int, seed: int) -> np.ndarray:
    return np.sort(_uniform_rank_min_p(N, L, M, np.random.default_rng(seed)))


def adjust_gamma(N: int, L: int, *, level: float = 0.95, M: int = 10_000, seed: int = 20220301) -> float:
    """Pointwise level ``gamma`` giving the rank ECDF a simultaneous ``level`` band (by simulation).

    Säilynoja et al. (2022), Section 2.2, as ``SBC::adjust_gamma`` and bayesplot's
    ``ppc_pit_ecdf(method = "simulate")``: simulate ``M`` samples of ``N`` ranks uniform on
    ``0..L``; for each, the smallest over the evaluation points ``z_i = i / (L + 1)``
    (``i = 1..L``) of the two-sided binomial tail probability
    ``2 min(F_Bin(N F_N(z_i); N, z_i), 1 - F_Bin(N F_N(z_i) - 1; N, z_i))``; ``gamma`` is the
    ``1 - level`` quantile of these minima. The ranks are simulated as discrete uniforms, so
    the band is exact for ranks (no continuity approximation); ``K = L + 1`` evaluation
    intervals, the natural grid of the ranks.

    Parameters
    ----------
    N : int
        Number of simulations (ranks per parameter).
    L : int
        Thinned posterior draws per simulation (ranks take ``0..L``).
    level : float
        Simultaneous coverage of the band.
    M : int
        Simulated uniform samples.
    seed : int
        Seed of the simulation (fixed: the same band for the same ``N``, ``L``).

    Returns
    -------
    float
    """
    if N < 1 or L < 1 or not 0 < level < 1:
        raise IrmodelsError(f"adjust_gamma: need N >= 1, L >= 1 and 0 < level < 1; got N={N}, L={L}, level={level}")
    mins = _null_min_p(int(N), int(L), int(M), int(seed))
    return float(np.quantile(mins, 1 - level, method="inverted_cdf"))


@functools.lru_cache(maxsize=64)
def _band_counts_cached(N: int, L: int, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    return _band_counts(N, np.arange(1, L + 1) / (L + 1), gamma)


def _band_counts(N: int, z: np.ndarray, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest ``N F_N(z_i)`` whose two-sided tail probability is at least ``gamma``.

    ``x`` is inside iff ``2 F_Bin(x) >= gamma`` and ``2 (1 - F_Bin(x - 1)) >= gamma``, i.e. iff its
    pointwise probability in :func:`_min_p` is at least ``gamma``: the band and the test agree
    exactly, ties included.
    """
    x = np.arange(N + 1)[:, None]
    ok = (2 * stats.binom.cdf(x, N, z[None, :]) >= gamma) & (2 * stats.binom.sf(x - 1, N, z[None, :]) >= gamma)
    lo = np.argmax(ok, axis=0)
    hi = N - np.argmax(ok[::-1], axis=0)
    return lo, hi


def ecdf_band(N: int, L: int, *, level: float = 0.95, M: int = 10_000, seed: int = 20220301) -> pd.DataFrame:
    """Simultaneous ``level`` band of the ECDF difference of ``N`` uniform ranks on ``0..L``.

    Returns
    -------
    DataFrame
        One row per evaluation point ``z = i / (L + 1)``, ``i = 1..L``: ``z``, ``lower``,
        ``upper`` (band of the ECDF difference ``F_N(z) - z``: the counts whose two-sided
        binomial tail probability is at least ``gamma`` (:func:`adjust_gamma`), over ``N``,
        minus ``z``); ``attrs["gamma"]``. A sample of uniform ranks has its whole ECDF inside
        with probability at least ``level`` (up to the Monte Carlo error of ``gamma``; more
        for few simulations, where the counts are coarse).
    """
    gamma = adjust_gamma(N, L, level=level, M=M, seed=seed)
    z = np.arange(1, L + 1) / (L + 1)
    lo, hi = _band_counts_cached(int(N), int(L), gamma)
    out = pd.DataFrame({"z": z, "lower": lo / N - z, "upper": hi / N - z})
    out.attrs["gamma"] = gamma
    return out


def ecdf_test(ranks: np.ndarray, L: int, *, level: float = 0.95, M: int = 10_000,
              seed: int = 20220301) -> dict[str, Any]:
    """Test uniformity of SBC ranks with the simultaneous ECDF band (Säilynoja et al. 2022).

    Parameters
    ----------
    ranks : array of int
        Ranks in ``0..L``, one per (converged) simulation.
    L : int
    level : float
        Simultaneous level of the band (0.95: the issue's test).

    Returns
    -------
    dict
        ``n`` (ranks), ``gamma``, ``passed`` (every ECDF point inside the band),
        ``max_abs_diff`` (largest ``|F_N(z) - z|``), ``z_max_diff`` (where),
        ``band_half_width`` (the band's half-width at ``z = 1/2``), ``n_outside`` (evaluation
        points outside) and ``p_value`` (share of the simulated uniform samples whose smallest
        pointwise tail probability is at most the observed one: ``p_value >= 1 - level`` iff
        ``passed``).

    Raises
    ------
    IrmodelsError
        Ranks outside ``0..L``, or none.
    """
    r = np.asarray(ranks)
    if r.size == 0:
        raise IrmodelsError("ecdf_test: no ranks (every simulation failed?)")
    if not np.issubdtype(r.dtype, np.integer) or r.min() < 0 or r.max() > L:
        raise IrmodelsError(f"ecdf_test: ranks must be integers in 0..{L}; got {r.min()}..{r.max()}")
    N = int(r.size)
    band = ecdf_band(N, L, level=level, M=M, seed=seed)
    z = band["z"].to_numpy()
    cum = np.cumsum(np.bincount(r, minlength=L + 1))[:L]
    diff = cum / N - z
    lo, hi = _band_counts_cached(N, int(L), float(band.attrs["gamma"]))
    outside = (cum < lo) | (cum > hi)
    obs = float(_min_p(cum[None, :], N, z)[0])
    mins = _null_min_p(N, int(L), int(M), int(seed))
    p_value = float(np.searchsorted(mins, obs, side="right") / len(mins))
    mid = np.argmin(np.abs(z - 0.5))
    i = int(np.argmax(np.abs(diff)))
    return {"n": N, "gamma": float(band.attrs["gamma"]), "passed": bool(not outside.any()),
            "max_abs_diff": float(abs(diff[i])), "z_max_diff": float(z[i]),
            "band_half_width": float((band["upper"].iloc[mid] - band["lower"].iloc[mid]) / 2),
            "n_outside": int(outside.sum()), "p_value": p_value}


# --------------------------------------------------------------------------- summaries


def summarise_sbc(results: pd.DataFrame, failures: pd.DataFrame | None = None, *, level: float = 0.95,
                  n_tasks: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Per family x parameter: simulations, failures and the ECDF test of the converged fits' ranks.

    Parameters
    ----------
    results : DataFrame
        Rows of :func:`sbc_task` (``task_id`` added by the runner), any number of families.
    failures : DataFrame, optional
        The runner's failure records with a ``family`` column (tasks that raised).
    n_tasks : dict, optional
        Tasks per family in the study (default: those with a result or a failure).

    Returns
    -------
    DataFrame
        ``family``, ``parameter``, ``n_sims`` (tasks run: done or failed), ``n_failed``
        (non-converged fits + tasks that raised; excluded from the test), ``n_nonconverged``,
        ``n_error``, ``n_used`` (ranks tested), ``L``, ``ecdf_pass``, ``max_abs_ecdf_diff``,
        ``z_max_diff``, ``band_half_width`` (at z = 1/2), ``gamma``, ``p_value``,
        ``ecdf_pass_bonferroni`` (the family's parameters tested together: every p-value above
        ``(1 - level) / n_parameters``), ``level``.
    """
    rows = []
    fails = failures if failures is not None else pd.DataFrame(columns=["task_id", "family"])
    for fam, g in results.groupby("family", sort=False):
        n_err = int(fails.loc[fails["family"] == fam, "task_id"].nunique()) if len(fails) else 0
        conv = g.drop_duplicates("task_id").set_index("task_id")["converged"]
        n_non = int((~conv.astype(bool)).sum())
        n_run = int(conv.size + n_err)
        if n_tasks and fam in n_tasks:
            n_run = int(n_tasks[fam]) if n_run > int(n_tasks[fam]) else n_run
        params = list(dict.fromkeys(g["parameter"]))
        fam_rows = []
        for p in params:
            gp = g[(g["parameter"] == p) & g["converged"].astype(bool)]
            L = int(g["L"].iloc[0])
            base = {"family": fam, "parameter": p, "n_sims": n_run, "n_failed": n_non + n_err,
                    "n_nonconverged": n_non, "n_error": n_err, "n_used": int(len(gp)), "L": L}
            if len(gp):
                t = ecdf_test(gp["rank"].to_numpy(dtype=np.int64), L, level=level)
                base.update(ecdf_pass=t["passed"], max_abs_ecdf_diff=t["max_abs_diff"], z_max_diff=t["z_max_diff"],
                            band_half_width=t["band_half_width"], gamma=t["gamma"], p_value=t["p_value"])
            else:
                base.update(ecdf_pass=False, max_abs_ecdf_diff=np.nan, z_max_diff=np.nan, band_half_width=np.nan,
                            gamma=np.nan, p_value=np.nan)
            fam_rows.append(base)
        k = len(fam_rows)
        for r in fam_rows:
            r["ecdf_pass_bonferroni"] = bool(np.all([x["p_value"] > (1 - level) / k for x in fam_rows]))
            r["level"] = level
        rows.extend(fam_rows)
    return pd.DataFrame(rows)


def failure_rates(results: pd.DataFrame, failures: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per family: simulations run, non-converged fits, tasks that raised, failure rate.

    Returns
    -------
    DataFrame
        ``family``, ``n_sims``, ``n_converged``, ``n_nonconverged``, ``n_error``, ``n_failed``,
        ``failure_rate`` (``n_failed / n_sims``), ``failure_rate_mc_se``, the medians
        ``median_fit_seconds``, ``median_ess_bulk_min``, ``max_r_hat_max`` and
        ``share_with_divergences`` (fits with at least one divergent transition).
    """
    fails = failures if failures is not None else pd.DataFrame(columns=["task_id", "family"])
    rows = []
    for fam, g in results.groupby("family", sort=False):
        t = g.drop_duplicates("task_id")
        n_err = int(fails.loc[fails["family"] == fam, "task_id"].nunique()) if len(fails) else 0
        n = len(t) + n_err
        n_non = int((~t["converged"].astype(bool)).sum())
        rate = (n_non + n_err) / n if n else np.nan
        rows.append({"family": fam, "n_sims": n, "n_converged": int(t["converged"].astype(bool).sum()),
                     "n_nonconverged": n_non, "n_error": n_err, "n_failed": n_non + n_err, "failure_rate": rate,
                     "failure_rate_mc_se": float(np.sqrt(rate * (1 - rate) / n)) if n else np.nan,
                     "median_fit_seconds": float(t["fit_seconds"].median()),
                     "median_ess_bulk_min": float(t["ess_bulk_min"].median()),
                     "max_r_hat_max": float(t["r_hat_max"].max()),
                     "share_with_divergences": float((t["n_divergent"] > 0).mean())})
    return pd.DataFrame(rows)
