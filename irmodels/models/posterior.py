"""What is read from a posterior: the convergence gate, tidy rows, group effects, LOO, PPC.

Every Bayesian result passes :func:`check_convergence` (:data:`GATE`: R-hat <= 1.01, bulk and
tail ESS >= 400, no divergent transitions) before it is reported. Intervals are equal-tailed at
the ``ci_prob`` the caller states (never ArviZ's default).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from irmodels.core.convergence import GATE  # the one convergence gate (also used for pooled replicates)
from irmodels.core.errors import ModelSpecError
from irmodels.models.share import count_logprob, share_class_logprob, share_quadrature

__all__ = ["mcse_columns", "check_convergence", "tidy_pymc", "group_effects", "posterior_draws",
           "pointwise_log_likelihood", "loo", "compare", "ppc_table"]


def _free_vars(idata) -> list[str]:
    post = idata["posterior"]
    names = [str(v) for v in post.data_vars]
    # deterministic a_<group> = sd * z is a function of free parameters already checked
    return [v for v in names if not (v.startswith("a_") and "z_" + v[2:] in names)]


def check_convergence(idata) -> dict:
    """The convergence gate over every free parameter.

    Returns
    -------
    dict
        ``r_hat_max``, ``ess_bulk_min``, ``ess_tail_min``, ``n_divergent`` and
        ``converged`` (bool: all criteria of :data:`GATE` met).
    """
    import arviz as az

    ds = idata["posterior"].to_dataset()[_free_vars(idata)]
    rh = az.rhat(ds)
    eb = az.ess(ds, method="bulk")
    et = az.ess(ds, method="tail")
    rmax = float(max(np.nanmax(np.asarray(rh[v])) for v in rh.data_vars))
    bmin = float(min(np.nanmin(np.asarray(eb[v])) for v in eb.data_vars))
    tmin = float(min(np.nanmin(np.asarray(et[v])) for v in et.data_vars))
    ndiv = int(np.asarray(idata["sample_stats"]["diverging"]).sum())
    ok = (rmax <= GATE["r_hat_max"] and bmin >= GATE["ess_bulk_min"] and tmin >= GATE["ess_tail_min"]
          and ndiv <= GATE["n_divergent_max"])
    return {"r_hat_max": rmax, "ess_bulk_min": bmin, "ess_tail_min": tmin, "n_divergent": ndiv, "converged": ok}


def _reported(f) -> list[tuple[str, np.ndarray]]:
    """(term, draws (chain, draw)) for every reported parameter."""
    post = f.result["posterior"]
    out = []
    b = np.asarray(post["b"])
    for j, t in enumerate(f.design.X.columns):
        out.append((t, b[..., j]))
    if "cutpoints" in post:
        cut = np.asarray(post["cutpoints"])
        cats = f.design.categories
        for j in range(cut.shape[-1]):
            out.append((f"threshold[{cats[j]}|{cats[j + 1]}]", cut[..., j]))
    if f.group and f"sd_{f.group}" in post:
        out.append((f"sd({f.group})", np.asarray(post[f"sd_{f.group}"])))
    if "sd_department" in post:
        out.append(("sd_department", np.asarray(post["sd_department"])))
    if "phi" in post:
        out.append(("phi", np.asarray(post["phi"])))
    return out


def mcse_columns(x: np.ndarray, q: float) -> dict[str, np.ndarray]:
    """Monte Carlo standard errors of the mean and of the ``q`` / ``1 - q`` quantiles (ArviZ).

    Stored beside the reported numbers so that a printed number carries only the digits its MCSE
    supports (:func:`irmodels.pipeline.paper.round_to_mcse`).

    Parameters
    ----------
    x : ndarray
        Draws with shape ``(chain, draw)`` or ``(chain, draw, k)`` (one MCSE per ``k``).
    q : float
        Lower tail probability of the interval (0.025 for a 95% interval).

    Returns
    -------
    dict
        ``mcse_estimate``, ``mcse_lower``, ``mcse_upper``: arrays of shape ``x.shape[2:]``.
    """
    import arviz as az
    import xarray as xr

    ds = xr.Dataset({"x": (("chain", "draw", *(f"d{i}" for i in range(x.ndim - 2))), x)})
    return {"mcse_estimate": np.asarray(az.mcse(ds, method="mean")["x"]),
            "mcse_lower": np.asarray(az.mcse(ds, method="quantile", prob=q)["x"]),
            "mcse_upper": np.asarray(az.mcse(ds, method="quantile", prob=1 - q)["x"])}


def _summ(draws: np.ndarray, ci_prob: float) -> dict:
    import arviz as az
    import xarray as xr

    ds = xr.Dataset({"x": (("chain", "draw"), draws)})
    q = (1 - ci_prob) / 2
    return {
        "estimate": float(draws.mean()),
        "std_error": float(draws.std(ddof=1)),
        "lower": float(np.quantile(draws, q)),
        "upper": float(np.quantile(draws, 1 - q)),
        "r_hat": float(az.rhat(ds)["x"]),
        "ess_bulk": float(az.ess(ds, method="bulk")["x"]),
        "ess_tail": float(az.ess(ds, method="tail")["x"]),
        **{k: float(v) for k, v in mcse_columns(draws, q).items()},
    }


def tidy_pymc(f, ci_prob: float) -> pd.DataFrame:
    """Tidy rows of a PyMC fit: posterior mean, sd, equal-tailed interval, diagnostics, MCSEs."""
    rows = []
    diag = f.extra["convergence"]
    for term, draws in _reported(f):
        rows.append({"term": term, **_summ(draws, ci_prob)})
    out = pd.DataFrame(rows)
    out["method"] = "pymc_nuts" if f.options.get("nuts_sampler", "nutpie") == "pymc" else "pymc_nutpie"
    out["n_divergent"] = diag["n_divergent"]
    out["converged"] = bool(diag["converged"])
    return out


def group_effects(f, ci_prob: float = 0.95) -> pd.DataFrame:
    """Posterior summary of the group (country) intercepts ``a_<group>``.

    Returns
    -------
    DataFrame
        ``group`` (level label), ``estimate``, ``std_error``, ``lower``,
        ``upper``, ``n`` (respondents in the level), ``spec_id``.
    """
    if f.engine != "pymc" or not f.group:
        raise ModelSpecError("group_effects needs a pymc fit with a group")
    a = np.asarray(f.result["posterior"][f"a_{f.group}"])
    counts = np.bincount(f.design.group, minlength=len(f.design.group_levels))
    rows = []
    for j, lev in enumerate(f.design.group_levels):
        s = _summ(a[..., j], ci_prob)
        rows.append({"group": lev, "estimate": s["estimate"], "std_error": s["std_error"], "lower": s["lower"],
                     "upper": s["upper"], "n": int(counts[j])})
    out = pd.DataFrame(rows)
    out["spec_id"] = f.spec_id
    return out


def posterior_draws(f, name: str) -> np.ndarray:
    """Draws of a posterior variable flattened over chains: shape (S, ...)."""
    arr = np.asarray(f.result["posterior"][name])
    return arr.reshape((-1,) + arr.shape[2:])


def _linear_predictor(f, X: np.ndarray, g: np.ndarray | None) -> np.ndarray:
    b = posterior_draws(f, "b")
    eta = b @ X.T
    if f.group and g is not None:
        a = posterior_draws(f, f"a_{f.group}")
        eta = eta + a[:, g]
    return eta


def pointwise_log_likelihood(f) -> np.ndarray:
    """Log-likelihood of every original row (department) per draw, shape (chain, draw, row).

    Rows, not collapsed cells, are the units, so PSIS-LOO compares models
    with different predictors on the same observations. For the latent
    proportion model, class rows and count rows of small teams are marginal over the
    department latent (as in the model); count rows of larger teams are conditional
    on their sampled latent ``u_i`` (see :mod:`irmodels.models.bayes`).
    """
    d = f.design
    post = f.result["posterior"]
    C, D = post.sizes["chain"], post.sizes["draw"]
    X = d.X.to_numpy()
    if f.family == "ordinal":
        eta = _linear_predictor(f, X, d.group)
        cut = posterior_draws(f, "cutpoints")
        cdf = special.expit(cut[:, None, :] - eta[:, :, None])
        cdf = np.concatenate([np.zeros(cdf.shape[:2] + (1,)), cdf, np.ones(cdf.shape[:2] + (1,))], axis=2)
        probs = np.diff(cdf, axis=2)
        ll = np.log(np.take_along_axis(probs, np.broadcast_to(d.y[None, :, None], probs.shape[:2] + (1,)), 2)[..., 0])
    elif f.family == "beta_binomial":
        mu = special.expit(_linear_predictor(f, X, d.group))
        phi = posterior_draws(f, "phi")[:, None]
        ll = stats.betabinom.logpmf(d.y[None, :], d.trials[None, :], mu * phi, (1 - mu) * phi)
    elif d.share_class is None:
        eta = _linear_predictor(f, X, d.group)
        n = np.ones(len(d.y)) if d.trials is None else d.trials.astype(float)
        k = d.y.astype(float)
        # binomial log-pmf on the logit scale (stable, and much faster than scipy's pmf)
        log_choose = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
        ll = log_choose + k * (-np.logaddexp(0, -eta)) + (n - k) * (-np.logaddexp(0, eta))
    else:
        prep = f.extra["prepared"]
        eta = _linear_predictor(f, X, d.group)
        sd = posterior_draws(f, "sd_department")[:, None]
        ll = np.zeros_like(eta)
        has = prep.row_is_count
        sampled = prep.row_is_sampled
        if sampled.any():
            # conditional on the sampled latent (larger teams)
            u = posterior_draws(f, "u_department")
            ll[:, sampled] = stats.binom.logpmf(d.y[sampled][None, :], d.trials[sampled][None, :],
                                                special.expit(eta[:, sampled] + sd * u))
        quad = has & ~sampled
        if quad.any():
            # the latent integrated out, per count cell, then given to each of its rows
            eta_cell = _linear_predictor(f, prep.Xq, prep.gq)
            ll[:, quad] = count_logprob(eta_cell, sd[:, 0], prep.nq, prep.kq)[:, prep.count_row_cell]
        if (~has).any():
            # the class likelihood of the model, per collapsed cell, then given to each of its rows
            eta_cell = _linear_predictor(f, prep.Xs, prep.gs)
            ll_cell = share_class_logprob(eta_cell, sd[:, 0], prep.weight, prep.mask, prep.cls, prep.n_values)
            ll[:, ~has] = ll_cell[:, prep.class_row_cell]
    return ll.reshape(C, D, -1)


def loo(f):
    """PSIS-LOO (ArviZ) over departments; returns the ArviZ ELPDData."""
    import arviz as az
    import xarray as xr

    ll = pointwise_log_likelihood(f)
    dt = f.result.copy()
    dt["log_likelihood"] = xr.DataTree(xr.Dataset({"y": (("chain", "draw", "row"), ll)}))
    return az.loo(dt, var_name="y")


def compare(fits: dict[str, Any]) -> pd.DataFrame:
    """PSIS-LOO comparison of fits on the same rows (``arviz.compare``), best first."""
    import arviz as az

    n_rows = {k: len(f.design.y) for k, f in fits.items()}
    if len(set(n_rows.values())) != 1:
        raise ModelSpecError(f"LOO comparison needs the same rows in every fit, got {n_rows}")
    return az.compare({k: loo(f) for k, f in fits.items()})


def _predict_prob(f, X: np.ndarray, g: np.ndarray | None, *, rng: np.random.Generator | None = None) -> np.ndarray:
    """Posterior draws (S, rows) of the expected outcome probability for new design rows.

    For the latent-proportion model the department latent is integrated out
    (:func:`share_quadrature`): the expected share of female IRs of a new
    department with these covariates.
    """
    eta = _linear_predictor(f, X, g)
    if "sd_department" in f.result["posterior"]:
        x, w = share_quadrature()
        sd = posterior_draws(f, "sd_department")[:, None, None]
        return np.sum(special.expit(eta[..., None] + sd * x[None, None, :]) * w, axis=-1)
    return special.expit(eta)


def ppc_table(f, by: str | None = None, *, seed: int = 0, ci_prob: float = 0.95, n_rep: int = 1000) -> pd.DataFrame:
    """Posterior predictive check: observed vs replicated proportions by a column.

    Replicated data are drawn from the posterior predictive at the observed
    rows (binomial/bernoulli: outcome counts; ordinal: category counts;
    latent model: successes of the count rows, and the share classes of the
    class-only rows drawn as the likelihood has them: number of trials as
    reported or from the trials distribution, a new department latent,
    binomial successes, the schema's class of ``k/n``), summed by ``by`` (or
    overall).

    Returns
    -------
    DataFrame
        ``level`` (value of ``by`` or ``"all"``), ``category`` (ordinal
        category or share class) or ``"success"``, ``observed`` (proportion), ``rep_mean``, ``rep_lower``,
        ``rep_upper`` (interval of the replicated proportion), ``p_value``
        (posterior predictive P(rep >= observed)), ``spec_id``.
    """
    rng = np.random.default_rng(seed)
    d = f.design
    X = d.X.to_numpy()
    levels = d.data[by].astype(str).to_numpy() if by else np.array(["all"] * len(X))
    col = d.data[by] if by else None
    # levels in category order when the column is categorical (e.g. beds classes), else sorted
    order = ([str(c) for c in col.cat.categories if str(c) in set(levels)]
             if col is not None and isinstance(col.dtype, pd.CategoricalDtype) else list(np.unique(levels)))
    q = (1 - ci_prob) / 2
    eta = _linear_predictor(f, X, d.group)
    S = eta.shape[0]
    idx = rng.choice(S, size=min(n_rep, S), replace=False)
    eta = eta[idx]
    rows = []
    if f.family == "ordinal":
        cut = posterior_draws(f, "cutpoints")[idx]
        cdf = special.expit(cut[:, None, :] - eta[:, :, None])
        cdf = np.concatenate([np.zeros(cdf.shape[:2] + (1,)), cdf, np.ones(cdf.shape[:2] + (1,))], axis=2)
        probs = np.clip(np.diff(cdf, axis=2), 0, None)
        u = rng.random(eta.shape)[..., None]
        yrep = (u > np.cumsum(probs, axis=2)).sum(axis=2)
        yrep = np.minimum(yrep, len(d.categories) - 1)
        for lev in order:
            m = levels == lev
            for j, cat in enumerate(d.categories):
                rep = (yrep[:, m] == j).mean(axis=1)
                obs = float((d.y[m] == j).mean())
                rows.append({"level": lev, "category": cat, "observed": obs, "rep_mean": rep.mean(),
                             "rep_lower": np.quantile(rep, q), "rep_upper": np.quantile(rep, 1 - q),
                             "p_value": float((rep >= obs).mean())})
    else:
        if d.share_class is not None:
            m_rows = d.share_class < 0
        else:
            m_rows = np.ones(len(X), dtype=bool)
        n = np.ones(len(X)) if d.trials is None else np.maximum(d.trials, 0)
        if f.family == "beta_binomial":
            phi = posterior_draws(f, "phi")[idx][:, None]
            mu = special.expit(eta)
            p = rng.beta(mu * phi, (1 - mu) * phi)
        elif d.share_class is not None:
            sd = posterior_draws(f, "sd_department")[idx][:, None]
            p = special.expit(eta + sd * rng.standard_normal(eta.shape))  # a new department from the model
        else:
            p = special.expit(eta)
        krep = rng.binomial(n[None, :].astype(int), p)
        for lev in order:
            m = (levels == lev) & m_rows
            if not m.any() or n[m].sum() == 0:
                continue
            rep = krep[:, m].sum(axis=1) / n[m].sum()
            obs = float(d.y[m].sum() / n[m].sum())
            rows.append({"level": lev, "category": "success", "observed": obs, "rep_mean": rep.mean(),
                         "rep_lower": np.quantile(rep, q), "rep_upper": np.quantile(rep, 1 - q),
                         "p_value": float((rep >= obs).mean())})
        if d.share_class is not None and (~m_rows).any():
            rows += _ppc_share_classes(f, eta[:, ~m_rows], idx, levels[~m_rows], order, q, rng)
    out = pd.DataFrame(rows)
    out["spec_id"] = f.spec_id
    return out


def _ppc_share_classes(f, eta: np.ndarray, idx: np.ndarray, levels: np.ndarray, order: list, q: float,
                       rng: np.random.Generator) -> list[dict]:
    """Replicated share classes of the class-only rows (``eta``: draws x class rows)."""
    prep = f.extra["prepared"]
    obs_cls = f.design.share_class[f.design.share_class >= 0]
    sd = posterior_draws(f, "sd_department")[idx][:, None]
    w = prep.weight[prep.class_row_cell]  # (rows, n support)
    cum = np.cumsum(w, axis=1)
    u = rng.random(eta.shape)[..., None]
    n_idx = np.minimum((u > cum[None]).sum(axis=-1), w.shape[1] - 1)
    n = prep.n_values[n_idx]
    k = rng.binomial(n, special.expit(eta + sd * rng.standard_normal(eta.shape)))
    class_of = prep.mask.argmax(axis=1)  # (n support, k): the class of k of n
    rep_cls = class_of[n_idx, k]
    rows = []
    for lev in order:
        m = levels == lev
        if not m.any():
            continue
        for c, code in enumerate(prep.share_levels):
            rep = (rep_cls[:, m] == c).mean(axis=1)
            obs = float((obs_cls[m] == c).mean())
            rows.append({"level": lev, "category": code, "observed": obs, "rep_mean": rep.mean(),
                         "rep_lower": np.quantile(rep, q), "rep_upper": np.quantile(rep, 1 - q),
                         "p_value": float((rep >= obs).mean())})
    return rows
