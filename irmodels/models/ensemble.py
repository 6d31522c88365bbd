"""Workflows over several Bayesian fits: an ensemble compiled once, prior predictive, prior sensitivity.

Built on :func:`irmodels.models.fit.fit` (the one entry point) and the sampling pieces of
:mod:`irmodels.models.bayes`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from irmodels.core.errors import ModelSpecError
from irmodels.models.bayes import _data_values, _gate, _sample, _settings, build_model, compile_nutpie
from irmodels.models.cache import _cache_path, _load_netcdf, _save_netcdf

__all__ = ["fit_ensemble", "prior_predictive", "prior_sensitivity"]


def fit_ensemble(formula: str, ensemble: pd.DataFrame, *, family: str, group: str | None = None,
                 replicate_col: str = "replicate", seed: int = 0, priors: dict | None = None,
                 **options: Any) -> list:
    """Fit one Bayesian model to every replicate of a reconstruction ensemble, compiling once.

    The model is built and compiled (nutpie) for the first replicate; later
    replicates only swap the data arrays (rows are not collapsed, so every
    replicate has the same shapes). Replicate ``r`` is sampled with seed
    ``seed + r``; each posterior passes the convergence gate (``on_fail``).

    Parameters
    ----------
    formula, family, group, priors, options
        As for :func:`irmodels.fit` with ``engine="pymc"`` (``cache_dir`` caches each replicate).
    ensemble : DataFrame
        Long table with ``replicate_col`` (:func:`irmodels.identification.reconstruction.reconstruct`).

    Returns
    -------
    list of Fit
        One fit per replicate, in replicate order; ``fit.extra["replicate"]`` holds the label.

    Raises
    ------
    ModelSpecError
        Replicates differ in rows or group levels after the missing-data rule
        (then fit them one by one with :func:`irmodels.fit`).
    """
    from irmodels.models.fit import fit as fit_one

    if replicate_col not in ensemble.columns:
        raise ModelSpecError(f"ensemble has no column {replicate_col!r}")
    options = {**options, "collapse": False}
    fits = []
    compiled = None
    ref = None
    for r, rep in ensemble.groupby(replicate_col, sort=True):
        data = rep.drop(columns=replicate_col).reset_index(drop=True)
        f = fit_one(formula, data, family=family, engine="pymc", group=group, seed=int(seed) + int(r),
                    priors=priors, _defer_sampling=True, **options)
        model, prep = f.extra["model"], f.extra["prepared"]
        st = _settings(f, prep)
        values = _data_values(model, prep)
        shape = ({k: np.shape(v) for k, v in values.items()}, tuple(f.design.group_levels or ()))
        if ref is None:
            ref = shape
        elif shape != ref:
            raise ModelSpecError(f"replicate {r} has different data shapes or group levels than the first "
                                 f"({shape} vs {ref}); fit replicates one by one")
        cache_dir = options.get("cache_dir")
        idata = None
        if cache_dir is not None and _cache_path(Path(cache_dir), f).exists():
            idata = _load_netcdf(_cache_path(Path(cache_dir), f))
            f.extra["from_cache"] = True
        if idata is None:
            if st["sampler"] == "nutpie":
                if compiled is None:
                    compiled, f.extra["compile_cache"] = compile_nutpie(model, st)
                idata = _sample(model, st, f.seed, compiled=compiled.with_data(**values))
            else:
                idata = _sample(model, st, f.seed)
            f.extra["from_cache"] = False
            if cache_dir is not None:
                _save_netcdf(idata, _cache_path(Path(cache_dir), f), f)
        _gate(f, idata, st["on_fail"])
        f.extra["replicate"] = r
        fits.append(f)
    return fits


def prior_predictive(formula: str, data: pd.DataFrame, *, family: str, group: str | None = None,
                     priors: dict | None = None, draws: int = 500, seed: int = 0, **options) -> pd.DataFrame:
    """Prior predictive check: the outcome proportion implied by the priors alone.

    Builds the same model as :func:`irmodels.fit` (``engine="pymc"``) and
    draws from the prior predictive (``pymc.sample_prior_predictive``).

    Returns
    -------
    DataFrame
        One row per draw: ``draw``, ``proportion`` (replicated overall
        proportion of successes, or share of the highest category for
        ordinal models; count rows only for the latent model).
    """
    import pymc as pm

    from irmodels.models.fit import Fit
    from irmodels.models.design import build_design

    design = build_design(formula, data, family=family, group=group, weights=None,
                          trials=options.get("trials"), share_class=options.get("share_class"),
                          missing=options.get("missing", "raise"), drop_intercept=(family == "ordinal"),
                          merges=options.get("merge_categories"))
    f = Fit(formula=formula, family=family, engine="pymc", group=group, weights=None, seed=seed,
            priors=dict(priors or {}), options=dict(options), spec_id="prior_predictive", design=design,
            result=None, data_hash="")
    model, prep = build_model(f)
    with warnings.catch_warnings():
        # the latent model's likelihood terms are potentials; the prior draws of its parameters
        # (all this function uses of them) are exact, so PyMC's warning about them does not apply
        if prep.kind == "latent":
            warnings.filterwarnings("ignore", message="The effect of Potentials", category=UserWarning)
        with model:
            pp = pm.sample_prior_predictive(draws=draws, random_seed=seed)
    if prep.kind == "latent":
        prop = _latent_prior_proportion(f, prep, pp["prior"], draws, seed)
        return pd.DataFrame({"draw": np.arange(draws), "proportion": prop})
    y = np.asarray(pp["prior_predictive"]["y"]).reshape(draws, *np.asarray(pp["prior_predictive"]["y"]).shape[2:])
    if prep.kind == "ordinal":
        prop = y[..., -1].sum(axis=1) / prep.counts.sum()
    else:
        prop = y.sum(axis=1) / prep.n.sum()
    return pd.DataFrame({"draw": np.arange(draws), "proportion": prop})


def _latent_prior_proportion(f, prep, prior, draws: int, seed: int) -> np.ndarray:
    """Prior predictive share of successes over the count rows of the latent-proportion model.

    Counts of small teams enter the model with their department latent integrated out (a
    potential, not an observed variable), so every count row is replicated here from the prior
    draws: ``k ~ Binomial(n, expit(x b + a[g] + sd_department z))``, ``z ~ N(0, 1)``.
    """
    rows = prep.row_is_count
    if not rows.any():
        raise ModelSpecError("this model has no observed count rows to predict (share classes only)")
    d = f.design
    b = np.asarray(prior["b"]).reshape(draws, -1)
    eta = b @ d.X.to_numpy()[rows].T
    if prep.group_name:
        a = np.asarray(prior[f"a_{prep.group_name}"]).reshape(draws, -1)
        eta = eta + a[:, np.asarray(d.group)[rows]]
    sd = np.asarray(prior["sd_department"]).reshape(draws, 1)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1]))
    n = np.asarray(d.trials, dtype=float)[rows].astype(int)
    k = rng.binomial(n[None, :], 1.0 / (1.0 + np.exp(-(eta + sd * rng.standard_normal(eta.shape)))))
    return k.sum(axis=1) / max(int(n.sum()), 1)


def prior_sensitivity(formula: str, data: pd.DataFrame, *, scales: tuple[float, ...] = (0.5, 1.0, 2.0),
                      ci_prob: float = 0.95, **fit_kwargs) -> pd.DataFrame:
    """Refit with every prior scale multiplied by each of ``scales``; tidy rows stacked.

    Returns
    -------
    DataFrame
        The :meth:`~irmodels.models.fit.Fit.tidy` columns plus ``prior_scale``.
    """
    from irmodels.models.fit import fit

    out = []
    for s in scales:
        opts = dict(fit_kwargs)
        opts["engine"] = "pymc"
        opts["prior_scale"] = float(s)
        t = fit(formula, data, **opts).tidy(ci_prob=ci_prob)
        t["prior_scale"] = float(s)
        out.append(t)
    return pd.concat(out, ignore_index=True)
