"""Bayesian models (engine ``pymc``): hierarchical logistic, latent-proportion, beta-binomial, ordinal.

Reached through :func:`irmodels.fit` with ``engine="pymc"``. Every model has
named dims and coords: ``term`` (design columns), ``country`` (or whatever the
``group`` column is; the dim is named after it), ``obs`` (likelihood cells),
``cutpoint`` (ordinal thresholds), ``class_cell`` and ``class_pair``
(share-class cells and the terms of their class probability, a polynomial in
the department share: :func:`_class_pairs`).

Models (``eta = X b + a[group]``, ``a = sd_group * z``, ``z ~ Normal(0, 1)``:
non-centred group intercepts, which sample well when groups are small; option
``centered=True`` gives ``a ~ Normal(0, sd_group)``, better when every group
has very many respondents; the default ``centered="auto"`` chooses centred only
when every group has at least ``AUTO_CENTRED_MIN_TRIALS`` trials):

* ``bernoulli`` / ``binomial``: ``k_c ~ Binomial(n_c, expit(eta_c))`` where
  rows sharing group and covariates are first **collapsed** into binomial
  cells ``c`` (exact: the Bernoulli likelihood of a cell is the binomial one
  up to a constant), so fit time depends on the number of distinct
  covariate patterns, not on the number of respondents.
* ``binomial`` with ``share_class=...`` (female IR representation): a latent
  logit-proportion per department ``logit p_i = eta_i + sd_department * u_i``,
  ``u_i ~ Normal(0, 1)``, observed through a **binomial measurement model**.
  Departments with counts contribute ``Binomial(k_i; n_i, p_i)``: with ``u_i``
  integrated out by the quadrature below when ``n_i <= QUADRATURE_MAX_TRIALS``
  (10; :mod:`irmodels.models.share`), so the sampler sees no per-department
  latent, and with ``u_i`` sampled (non-centred) for larger teams, where the
  fixed quadrature would lose accuracy. A department known only by its share class ``c_i``
  contributes the probability that its ``n_i`` IRs include a number of women
  ``k`` whose share falls in that class, with ``u_i`` integrated out::

      P(c_i | eta_i) = int sum_n pi_i(n) sum_{k: class(k/n) = c_i} Binom(k; n, expit(eta_i + sd x)) phi(x) dx

  where ``class(k/n)`` is the schema's rule (:func:`irmodels.data.schema.share_class`:
  the percentage rounded up, so 1 of 30 is ``"1-25"``; a merged level is the
  union of its codes), and ``pi_i`` is a point mass at ``n_i`` when the row
  reports its number of trials (``trials`` column) without the count, else the
  trials distribution: option ``trials_distribution`` (mapping ``n ->
  probability``) or, by default, the empirical distribution of ``n`` among
  the rows of the same data that report it (a :class:`ModelSpecError` naming
  the option when neither exists, as in 2017). Most all-male teams of one to
  three IRs are all-male by chance; this likelihood says so, where treating
  the class as an interval for ``p_i`` made binomial noise look like
  between-department spread (validation/share_model_recovery.py).
  **Assumption** (class-only rows that do not report ``n``): their number of
  trials is independent of their covariates and of ``p_i`` and distributed as
  ``pi`` (plugged in, not estimated jointly); were team size to grow with bed
  class, one pooled ``pi`` would leave part of that in the bed-class
  coefficients. The integral is a 41-node trapezoidal rule
  (:func:`share_quadrature`); the sum over the ``(n, k)`` pairs of each
  cell's class (:func:`share_class_mask`) is evaluated as one polynomial in
  ``p`` in the Bernstein basis of degree ``max n`` (:func:`_class_pairs`:
  exact, at most ``max n + 1`` non-negative terms); class-only rows are collapsed into
  cells of equal covariates, group, class and reported ``n``.
* ``beta_binomial``: ``k_i ~ BetaBinomial(n_i, mu_i phi, (1 - mu_i) phi)``, ``mu_i = expit(eta_i)``.
* ``ordinal``: cumulative logit ``P(Y <= j) = expit(theta_j - eta)``, collapsed
  into multinomial counts per covariate pattern (``OrderedMultinomial``).

Priors (weakly informative, on the log-odds scale; ``priors=`` overrides the
scales, ``prior_scale=`` multiplies all of them for sensitivity analyses):

==================  =======================  =========================================
parameter           prior                    why
==================  =======================  =========================================
``b[Intercept]``    Normal(0, 2.5)           baseline prevalence anywhere in ~(1%, 99%)
``b[term]``         Normal(0, 1.5)           odds ratios mostly within 1/20 .. 20
``sd_<group>``      HalfNormal(1)            between-country odds vary up to ~e^2
``sd_department``   HalfNormal(1)            department spread of the latent logit share
``cutpoints``       Normal(0, 2.5), ordered  thresholds of the cumulative logit
``phi``             Gamma(2, 0.1)            beta-binomial precision, mean 20
==================  =======================  =========================================

Convergence gate (:func:`check_convergence`): every free parameter has
R-hat <= 1.01, bulk and tail ESS >= 400, and there are no divergent
transitions; otherwise :class:`~irmodels.core.errors.ConvergenceError` (or, with
``on_fail="warn"``, a :class:`~irmodels.core.errors.ConvergenceWarning` and
``converged=False`` in every tidy row).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from irmodels.core.errors import ConvergenceError, ConvergenceWarning, ModelSpecError
from irmodels.models.cache import _cache_path, _draw_shape, _load_trusted, _save_netcdf
from irmodels.models.likelihood_data import _Prepared
from irmodels.core.convergence import GATE
from irmodels.models.posterior import check_convergence

__all__ = ["DEFAULT_PRIORS", "OPTIONS", "fit_pymc", "build_model", "compile_nutpie"]

#: NUTS target acceptance by likelihood when a fit does not set ``target_accept`` (others:
#: ``DEFAULT_TARGET_ACCEPT``).
#: Beta-binomial: 0.99. In its SBC (docs/studies.md) the same 500 simulations refitted at 0.99
#: instead of 0.9 had no fit with a divergent transition (23 before) and 1.6% of fits failing the
#: convergence gate instead of 5.6%, at about twice the fit time.
TARGET_ACCEPT: dict[str, float] = {"beta_binomial": 0.99}
DEFAULT_TARGET_ACCEPT = 0.9

DEFAULT_PRIORS: dict[str, Any] = {
    "intercept": 2.5,
    "b": 1.5,
    "sd_group": 1.0,
    "sd_department": 1.0,
    "cutpoints": 2.5,
    "phi": (2.0, 0.1),
}
OPTIONS = {"_defer_sampling", "centered", "draws", "tune", "chains", "cores", "nuts_sampler", "adaptation", "target_accept", "on_fail", "cache_dir",
           "prior_scale", "trials_distribution", "collapse", "progressbar", "compile"}


def _priors(f) -> dict:
    unknown = sorted(set(f.priors) - set(DEFAULT_PRIORS))
    if unknown:
        raise ModelSpecError(f"unknown prior keys {unknown}; valid: {sorted(DEFAULT_PRIORS)}")
    p = {**DEFAULT_PRIORS, **f.priors}
    s = float(f.options.get("prior_scale", 1.0))
    if not s > 0:
        raise ModelSpecError(f"prior_scale={s}: must be > 0")
    for k in ("intercept", "b", "sd_group", "sd_department", "cutpoints"):
        p[k] = float(p[k]) * s
    return p


def _gdata(g, name, dim):
    """Group index as model data (so a compiled model can be re-used with new data)."""
    import pymc as pm

    return None if g is None else pm.Data(name, np.asarray(g, dtype="int64"), dims=dim)


AUTO_CENTRED_MIN_TRIALS = 1000


def _auto_centered(prep) -> bool:
    """``centered="auto"``: centred group intercepts when every group is large.

    Non-centred intercepts sample well when groups are small (the 2017 survey: 1-15
    departments per country); with thousands of respondents in every group the
    likelihood pins each intercept down and the centred form samples better (the
    non-centred one fails the convergence gate at 10^6 simulated respondents).
    Rule: centred iff the smallest group has at least ``AUTO_CENTRED_MIN_TRIALS``
    trials; only for the collapsed logistic model (other families stay non-centred).
    """
    if prep.kind != "logistic" or prep.g is None:
        return False
    trials = np.bincount(np.asarray(prep.g), weights=np.asarray(prep.n, dtype=float), minlength=len(prep.group_levels))
    return bool(trials.min() >= AUTO_CENTRED_MIN_TRIALS)


def build_model(f):
    """Build the PyMC model of fit ``f`` (named dims/coords); returns ``(model, prepared)``.

    The coefficients ``b`` come first; the family's builder then adds its data, group
    effects and likelihood, in the order the compiled-model cache keys on.
    """
    import pymc as pm

    prep = _Prepared(f)
    pri = _priors(f)
    coords: dict[str, list] = {"term": prep.terms}
    gname = prep.group_name
    if gname:
        coords[gname] = list(prep.group_levels)
    if prep.kind == "ordinal":
        coords["cutpoint"] = [f"{a}|{b}" for a, b in zip(prep.categories[:-1], prep.categories[1:])]
        coords["category"] = list(prep.categories)
    scales = np.array([pri["intercept"] if t == "Intercept" else pri["b"] for t in prep.terms])
    with pm.Model(coords=coords) as model:
        b = pm.Normal("b", mu=0.0, sigma=scales, dims="term")

        def group_effect(gidx):
            return _group_effect(model, f, prep, pri, gidx)

        builder = _BUILDERS.get(prep.kind, _latent_likelihood)  # latent proportion: counts and/or share classes
        builder(model, prep, pri, b, group_effect)
    return model, prep


def _group_effect(model, f, prep, pri, gidx):
    """``a[group]`` at the group index ``gidx`` (0 without grouping); ``sd_<group>`` and ``a_<group>``
    are created on first use (centred or non-centred by option ``centered``)."""
    import pymc as pm

    gname = prep.group_name
    if not gname or gidx is None:
        return 0.0
    sd = pm.HalfNormal(f"sd_{gname}", sigma=pri["sd_group"]) if f"sd_{gname}" not in model.named_vars \
        else model[f"sd_{gname}"]
    if f"a_{gname}" not in model.named_vars:
        centered = f.options.get("centered", "auto")
        if centered == "auto":
            centered = _auto_centered(prep)
        f.extra["centered"] = bool(centered)
        if centered:
            # centred: better when every group has many respondents (e.g. 10^6 simulated)
            pm.Normal(f"a_{gname}", 0.0, sd, dims=gname)
        else:
            z = pm.Normal(f"z_{gname}", 0.0, 1.0, dims=gname)
            pm.Deterministic(f"a_{gname}", sd * z, dims=gname)
    return model[f"a_{gname}"][gidx]


def _logistic_likelihood(model, prep, pri, b, group_effect) -> None:
    """Collapsed binomial cells: ``k_c ~ Binomial(n_c, expit(X_c b + a[g_c]))``."""
    import pymc as pm
    import pytensor.tensor as pt

    model.add_coord("obs", np.arange(len(prep.k)))
    Xd = pm.Data("X", prep.X, dims=("obs", "term"))
    eta = pt.dot(Xd, b) + group_effect(_gdata(prep.g, "g", "obs"))
    pm.Binomial("y", n=pm.Data("n", prep.n, dims="obs"), logit_p=eta,
                observed=pm.Data("k", prep.k, dims="obs"), dims="obs")


def _beta_binomial_likelihood(model, prep, pri, b, group_effect) -> None:
    """``k_i ~ BetaBinomial(n_i, mu_i phi, (1 - mu_i) phi)``, ``phi ~ Gamma``."""
    import pymc as pm
    import pytensor.tensor as pt

    model.add_coord("obs", np.arange(len(prep.k)))
    Xd = pm.Data("X", prep.X, dims=("obs", "term"))
    mu = pm.math.invlogit(pt.dot(Xd, b) + group_effect(_gdata(prep.g, "g", "obs")))
    alpha_, beta_ = pri["phi"]
    phi = pm.Gamma("phi", alpha=alpha_, beta=beta_)
    pm.BetaBinomial("y", n=pm.Data("n", prep.n, dims="obs"), alpha=mu * phi, beta=(1 - mu) * phi,
                    observed=pm.Data("k", prep.k, dims="obs"), dims="obs")


def _ordinal_likelihood(model, prep, pri, b, group_effect) -> None:
    """Cumulative logit on multinomial counts per covariate pattern, ordered ``cutpoints``."""
    import pymc as pm
    import pytensor.tensor as pt

    model.add_coord("obs", np.arange(len(prep.X)))
    Xd = pm.Data("X", prep.X, dims=("obs", "term"))
    eta = pt.dot(Xd, b) + group_effect(_gdata(prep.g, "g", "obs"))
    K = len(prep.categories)
    cut = pm.Normal("cutpoints", mu=0.0, sigma=pri["cutpoints"], dims="cutpoint",
                    transform=pm.distributions.transforms.ordered,
                    initval=np.linspace(-1.5, 1.5, K - 1))
    counts = pm.Data("counts", prep.counts, dims=("obs", "category"))
    pm.OrderedMultinomial("y", eta=eta, cutpoints=cut, n=counts.sum(axis=1), observed=counts,
                          dims=("obs", "category"))


def _quadrature_loglik(name: str, dim: str, eta, sd_dep, pairs, mult) -> None:
    """Potential ``name``: ``sum_j mult_j log sum_q w_q sum_terms exp(log_w) p^k (1 - p)^(n - k)``.

    ``p = expit(eta_j + sd_department x_q)`` at the nodes of :func:`share_quadrature`; ``pairs``
    are the cells' Bernstein terms ``(n, k, log weight)`` (``-inf`` pads).
    """
    import pymc as pm
    import pytensor.tensor as pt

    pair_n, pair_k, pair_logw = pairs
    pm.modelcontext(None).add_coord(f"{dim}_term", np.arange(pair_n.shape[1]))
    n_val = pm.Data(f"{dim}_trials", pair_n, dims=(dim, f"{dim}_term"))
    k_val = pm.Data(f"{dim}_successes", pair_k, dims=(dim, f"{dim}_term"))
    log_w = pm.Data(f"{dim}_log_weight", pair_logw, dims=(dim, f"{dim}_term"))
    m = pm.Data(f"{dim}_multiplicity", mult, dims=dim)
    # one fused Op computes the value and its gradient (irmodels.models.quadrature_op)
    from irmodels.models.quadrature_op import quadrature_loglik

    pm.Potential(name, pt.sum(m * quadrature_loglik(eta, sd_dep, n_val, k_val, log_w)))


def _latent_likelihood(model, prep, pri, b, group_effect) -> None:
    """Latent department proportion: binomial counts where known, the share class elsewhere.

    Counts of small teams (``n <= QUADRATURE_MAX_TRIALS``) and share classes have the department
    latent integrated out by quadrature (potentials ``count_loglik`` and ``share_class_loglik``,
    :func:`_quadrature_loglik`); counts of larger teams keep a sampled non-centred latent.
    """
    import pymc as pm
    import pytensor.tensor as pt

    sd_dep = pm.HalfNormal("sd_department", sigma=pri["sd_department"])
    if len(prep.kc):
        model.add_coord("obs", np.arange(len(prep.kc)))
        Xc = pm.Data("X", prep.Xc, dims=("obs", "term"))
        u = pm.Normal("u_department", 0.0, 1.0, dims="obs")
        eta_c = pt.dot(Xc, b) + group_effect(_gdata(prep.gc, "g", "obs")) + sd_dep * u
        pm.Binomial("y", n=pm.Data("n", prep.nc, dims="obs"), logit_p=eta_c,
                    observed=pm.Data("k", prep.kc, dims="obs"), dims="obs")
    if len(prep.kq):
        model.add_coord("count_cell", np.arange(len(prep.kq)))
        Xq = pm.Data("X_count", prep.Xq, dims=("count_cell", "term"))
        eta_q = pt.dot(Xq, b) + group_effect(_gdata(prep.gq, "g_count", "count_cell"))
        _quadrature_loglik("count_loglik", "count_cell", eta_q, sd_dep, prep.count_pairs(), prep.mult_q)
    if len(prep.cls):
        model.add_coord("class_cell", np.arange(len(prep.cls)))
        Xs = pm.Data("X_class", prep.Xs, dims=("class_cell", "term"))
        eta_s = pt.dot(Xs, b) + group_effect(_gdata(prep.gs, "g_class", "class_cell"))
        # each cell's class probability (schema rule) as Bernstein terms (n, k, log coefficient), padded
        _quadrature_loglik("share_class_loglik", "class_cell", eta_s, sd_dep, prep.class_pairs(), prep.mult)


#: likelihood builder per prepared kind (anything else: the latent-proportion model)
_BUILDERS = {"logistic": _logistic_likelihood, "beta_binomial": _beta_binomial_likelihood,
             "ordinal": _ordinal_likelihood}


def _settings(f, prep) -> dict:
    on_fail = f.options.get("on_fail", "raise")
    if on_fail not in ("raise", "warn"):
        raise ModelSpecError(f"on_fail={on_fail!r}: valid values are 'raise' and 'warn'")
    sampler = f.options.get("nuts_sampler", "nutpie")
    if sampler not in ("nutpie", "pymc"):
        raise ModelSpecError(f"nuts_sampler={sampler!r}: valid values are 'nutpie' and 'pymc'")
    if sampler != "nutpie" and "adaptation" in f.options:
        raise ModelSpecError("adaptation applies to nuts_sampler='nutpie' only")
    compile_ = f.options.get("compile", "cached")
    if compile_ not in ("cached", "nutpie"):
        raise ModelSpecError(f"compile={compile_!r}: valid values are 'cached' (default) and 'nutpie'")
    chains = int(f.options.get("chains", 4))
    return {
        "on_fail": on_fail,
        "sampler": sampler,
        # how nutpie's callbacks are compiled: "cached" re-uses machine code across
        # fits and processes (irmodels.models.nutpie_cache); "nutpie" recompiles every time
        "compile": compile_,
        "draws": int(f.options.get("draws", 1000)),
        "tune": int(f.options.get("tune", 1000)),
        "chains": chains,
        "cores": int(f.options.get("cores", min(chains, 2))),
        "target_accept": float(f.options.get("target_accept", TARGET_ACCEPT.get(prep.kind, DEFAULT_TARGET_ACCEPT))),
        "progressbar": bool(f.options.get("progressbar", False)),
        # low-rank mass-matrix adaptation absorbs the intercept/offset correlation of
        # non-centred country intercepts (bulk ESS ~3x that of the diagonal adaptation),
        # and the intercept/contrast correlation of the latent-proportion model with the
        # binomial share-class likelihood: min ESS of b and sd_department per second 1.2x
        # (600 departments, 250 with counts) and 1.8x (300, 90 with counts) that of the
        # diagonal adaptation, whose intercept failed the R-hat gate at 1000 draws
        "adaptation": f.options.get("adaptation", "low_rank"),
    }


def compile_nutpie(model, st: dict) -> tuple[Any, str]:
    """Compile ``model`` for nutpie: disk-cached callbacks by default, nutpie's own on request.

    ``st["compile"] == "cached"`` (default) uses :func:`irmodels.models.nutpie_cache.compile_model`
    (same sampler, callbacks cached across processes); ``"nutpie"`` calls
    ``nutpie.compile_pymc_model``. Both compile without fast-math
    (:func:`irmodels.models.nutpie_cache.exact_float`), so draws do not depend on the
    state of the compile caches. Returns the compiled model and where it came from.
    """
    from irmodels.models.nutpie_cache import compile_model, compile_uncached

    if st["compile"] == "nutpie":
        return compile_uncached(model), "none"
    return compile_model(model)


def _sample(model, st: dict, seed: int, compiled=None):
    """Draw from the posterior: nutpie (compiled once, data swappable) or PyMC's own NUTS."""
    if st["sampler"] == "nutpie":
        import nutpie

        cm = compiled if compiled is not None else compile_nutpie(model, st)[0]
        return nutpie.sample(cm, draws=st["draws"], tune=st["tune"], chains=st["chains"], cores=st["cores"],
                             seed=int(seed), progress_bar=st["progressbar"], save_warmup=False,
                             adaptation=st["adaptation"], target_accept=st["target_accept"])
    import pymc as pm

    with model, warnings.catch_warnings():
        # the gate reports convergence in one place; PyMC's own messages would duplicate it
        warnings.filterwarnings("ignore", message=".*(divergen|r_hat|R-hat|effective sample).*")
        return pm.sample(draws=st["draws"], tune=st["tune"], chains=st["chains"], cores=st["cores"],
                         random_seed=int(seed), nuts_sampler="pymc", progressbar=st["progressbar"],
                         compute_convergence_checks=False, nuts={"target_accept": st["target_accept"]})


def _gate(f, idata, on_fail: str, diag: dict | None = None) -> None:
    f.result = idata
    diag = check_convergence(idata) if diag is None else diag
    f.extra["convergence"] = diag
    if not diag["converged"]:
        msg = (f"fit {f.spec_id!r} failed the convergence gate (R-hat <= {GATE['r_hat_max']}, bulk/tail ESS >= "
               f"{GATE['ess_bulk_min']:.0f}, no divergences): max R-hat {diag['r_hat_max']:.3f}, min bulk ESS "
               f"{diag['ess_bulk_min']:.0f}, min tail ESS {diag['ess_tail_min']:.0f}, {diag['n_divergent']} "
               "divergences. Increase draws/tune or target_accept, or reparameterise")
        if on_fail == "raise":
            raise ConvergenceError(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=4)


def fit_pymc(f, cache_dir: Path | None = None) -> None:
    """Sample the posterior of fit ``f`` (or load it from ``cache_dir``) and apply the convergence gate."""
    model, prep = build_model(f)
    st = _settings(f, prep)
    f.extra["model"], f.extra["prepared"] = model, prep
    idata = None
    if cache_dir is not None:
        cdir = Path(cache_dir)
        if cdir.exists() and not cdir.is_dir():
            raise ModelSpecError(f"cache_dir {cdir} is a file; give a directory (checked before sampling)")
        if _cache_path(cdir, f).exists():
            idata = _load_trusted(_cache_path(cdir, f), f, st)
            f.extra["from_cache"] = idata is not None
    if idata is None:
        compiled = None
        if st["sampler"] == "nutpie":
            compiled, f.extra["compile_cache"] = compile_nutpie(model, st)
        idata = _sample(model, st, f.seed, compiled=compiled)
        f.extra["from_cache"] = False
        if _draw_shape(idata) != (st["chains"], st["draws"]):
            # nutpie returns what it has when interrupted: never gate, cache or report a partial posterior
            raise KeyboardInterrupt(f"sampling interrupted: {_draw_shape(idata)} chains x draws of "
                                    f"{(st['chains'], st['draws'])}; nothing was cached")
        # the cache takes a posterior only after it passed the gate (written atomically)
        diag = check_convergence(idata)
        if cache_dir is not None and diag["converged"]:
            _save_netcdf(idata, _cache_path(cache_dir, f), f)
        _gate(f, idata, st["on_fail"], diag)
        return
    _gate(f, idata, st["on_fail"])


def _data_values(model, prep) -> dict:
    """Current values of every pm.Data container (the arrays nutpie can swap)."""
    return {v.name: v.get_value() for v in model.data_vars}
