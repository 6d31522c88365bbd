"""Multilevel regression and post-stratification (MRP) of the Bayesian models.

:func:`poststratify` turns a hierarchical fit (engine ``pymc``, ``group``
e.g. ``"country"``) into population estimates over frame cells
(:func:`irmodels.frame.frame_cells`: ``country``, ``beds_class``, ``N``).

Estimand
--------
For each posterior draw ``s`` and cell ``c`` with population count ``N_c``,
``theta_c^s`` is the expected outcome in the cell; the population value of a
domain ``D`` (Europe, a country, a ``by`` level) is
``theta_D^s = sum_{c in D} N_c theta_c^s / sum_{c in D} N_c``; we report the
posterior mean, sd and equal-tailed interval of ``theta_D``.

* bernoulli/binomial: probability of the outcome (e.g. 24/7 coverage);
  latent-proportion model: expected share of female IRs (department latent
  integrated out);
* ordinal: probability of the ``positive`` categories (default: every category
  above the first, e.g. "at least one female IR").

Predictors the cells do not carry (**an assumption**)
----------------------------------------------------
The frame has no ``chair_profile`` (and the scenario frames no
``teaching``). Within each cell, the model prediction is averaged over the
joint distribution of the missing predictors among the *respondents* of the
same country and beds class; where there are none, among the respondents of
the same beds class in all countries; where there are none, among all
respondents. This assumes the respondents' mix of these predictors
represents the population's within those strata. Countries of the frame
without respondents get a new country intercept drawn from
``Normal(0, sd_country)`` per posterior draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from irmodels.errors import ModelSpecError, Problem, SchemaError

__all__ = ["poststratify", "poststratify_ensemble"]


def _rhs_vars(f) -> list[str]:
    from irmodels.models.fit import _outcome_of, _rhs_variables

    return _rhs_variables(_outcome_of(f.formula)[1], f.design.data)


def _probabilities(f, newdata: pd.DataFrame, gidx: np.ndarray, a_new: np.ndarray | None,
                   positive: list[str] | None) -> np.ndarray:
    """Posterior draws (S, rows) of the expected outcome for new rows."""
    from irmodels.models.bayes import posterior_draws

    X = f.design.new_X(newdata).to_numpy()
    b = posterior_draws(f, "b")
    eta = b @ X.T
    if f.group:
        a = posterior_draws(f, f"a_{f.group}")
        known = gidx >= 0
        eta[:, known] += a[:, gidx[known]]
        if (~known).any():
            eta[:, ~known] += a_new[:, (-gidx[~known] - 1)]
    post = f.result["posterior"]
    if f.family == "ordinal":
        cats = f.design.categories
        pos = positive if positive is not None else cats[1:]
        bad = [p for p in pos if p not in cats]
        if bad:
            raise ModelSpecError(f"positive categories {bad} not in {cats}")
        cut = posterior_draws(f, "cutpoints")
        cdf = special.expit(cut[:, None, :] - eta[:, :, None])
        cdf = np.concatenate([np.zeros(cdf.shape[:2] + (1,)), cdf, np.ones(cdf.shape[:2] + (1,))], axis=2)
        probs = np.diff(cdf, axis=2)
        return probs[..., [cats.index(p) for p in pos]].sum(axis=-1)
    if positive is not None:
        raise ModelSpecError("positive= applies to ordinal fits only")
    if "sd_department" in post:
        x, w = np.polynomial.hermite_e.hermegauss(20)
        w = w / w.sum()
        sd = posterior_draws(f, "sd_department")[:, None, None]
        return np.sum(special.expit(eta[..., None] + sd * x[None, None, :]) * w, axis=-1)
    return special.expit(eta)


def poststratify(fit, cells: pd.DataFrame, *, by: str | list[str] | None = None, positive: list[str] | None = None,
                 ci_prob: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Europe-wide and per-country MRP estimates with posterior intervals.

    Parameters
    ----------
    fit : irmodels.models.fit.Fit
        A ``pymc`` fit with ``group`` (the country column).
    cells : DataFrame
        Frame cells: the group column (``country``), any subset of the model's
        predictors (``beds_class``, ``teaching``), and ``N`` (population count).
    by : str or list of str, optional
        Further cell columns to report domains for (e.g. ``"beds_class"``).
    positive : list of str, optional
        Ordinal fits: categories counted as the outcome (default: all but the first).
    ci_prob : float
        Equal-tailed posterior interval probability.
    seed : int
        Seed of the draws of new-country intercepts (countries without respondents).

    Returns
    -------
    DataFrame
        ``level`` (``"Europe"``, ``"country"`` or the ``by`` column name),
        ``domain`` (``"Europe"``, the country code, or the ``by`` value),
        ``estimate`` (posterior mean), ``std_error`` (posterior sd), ``lower``,
        ``upper``, ``N`` (population count of the domain), ``n_respondents``,
        ``method`` (``"mrp"``), ``spec_id``. ``attrs["fallback"]`` counts cells
        whose missing-predictor mix came from a coarser stratum;
        ``attrs["draws"]`` holds the posterior draws of every domain (columns
        ``"<level>:<domain>"``), e.g. for stacking over reconstruction replicates.

    Raises
    ------
    ModelSpecError
        Not a grouped pymc fit; cells lack the group column or ``N``.
    SchemaError
        Cell values outside the model's categories, negative ``N``.
    """
    if fit.engine != "pymc" or not fit.group:
        raise ModelSpecError("poststratify needs a pymc fit with a group (country) intercept")
    g = fit.group
    need = [g, "N"]
    absent = [c for c in need if c not in cells.columns]
    if absent:
        raise ModelSpecError(f"cells lack columns {absent}; they have {list(cells.columns)}")
    by = [by] if isinstance(by, str) else list(by or [])
    preds = _rhs_vars(fit)
    in_cells = [p for p in preds if p in cells.columns]
    missing_preds = [p for p in preds if p not in cells.columns]
    resp = fit.design.data
    problems = []
    for i, v in cells["N"].items():
        if not np.isfinite(float(v)) or float(v) < 0:
            problems.append(Problem(rule="N must be finite and >= 0", row=i, column="N", value=v))
    for p in in_cells:
        if isinstance(resp[p].dtype, pd.CategoricalDtype):
            valid = set(map(str, resp[p].cat.categories))
            for i, v in cells[p].items():
                if str(v) not in valid:
                    problems.append(Problem(rule=f"not a category of {p}: {sorted(valid)}", row=i, column=p, value=v))
    if problems:
        raise SchemaError(problems, what="post-stratification cells")
    levels = list(fit.design.group_levels)
    cell_g = cells[g].astype(str).to_numpy()
    new_levels = sorted(set(cell_g) - set(levels))
    rng = np.random.default_rng(seed)
    from irmodels.models.bayes import posterior_draws

    a_new = None
    if new_levels:
        sd = posterior_draws(fit, f"sd_{g}")
        a_new = sd[:, None] * rng.standard_normal((len(sd), len(new_levels)))
    # expand every cell into the respondents whose missing-predictor mix it borrows
    rows, owner, share, fallback = [], [], [], 0
    resp_g = resp[g].astype(str)
    for ci, (_, cell) in enumerate(cells.iterrows()):
        keys = [(g, str(cell[g]))] + [(p, cell[p]) for p in in_cells]
        if missing_preds:
            m = np.ones(len(resp), dtype=bool)
            for col, val in keys:
                m &= (resp_g if col == g else resp[col].astype(str)).to_numpy() == str(val)
            if not m.any():
                fallback += 1
                m = np.ones(len(resp), dtype=bool)
                for col, val in keys[1:]:
                    m &= resp[col].astype(str).to_numpy() == str(val)
                if not m.any():
                    m = np.ones(len(resp), dtype=bool)
            sub = resp.loc[m, missing_preds].copy()
        else:
            sub = pd.DataFrame(index=[0])
        for p in in_cells:
            col = resp[p]
            if isinstance(col.dtype, pd.CategoricalDtype):
                sub[p] = pd.Categorical([str(cell[p])] * len(sub), categories=col.cat.categories,
                                        ordered=col.cat.ordered)
            else:
                sub[p] = np.repeat(np.asarray([cell[p]], dtype=col.dtype), len(sub))
        rows.append(sub)
        owner.append(np.full(len(sub), ci))
        share.append(np.full(len(sub), 1.0 / len(sub)))
    newdata = pd.concat(rows, ignore_index=True)
    owner = np.concatenate(owner)
    share = np.concatenate(share)
    lev_index = {lv: i for i, lv in enumerate(levels)}
    new_index = {lv: i for i, lv in enumerate(new_levels)}
    cell_gidx = np.array([lev_index[c] if c in lev_index else -new_index[c] - 1 for c in cell_g])
    p_rows = _probabilities(fit, newdata, cell_gidx[owner], a_new, positive)
    n_cells = len(cells)
    # theta_c^s = mean over the borrowed mix
    theta = np.zeros((p_rows.shape[0], n_cells))
    np.add.at(theta.T, owner, (p_rows * share).T)
    N = cells["N"].to_numpy(dtype=float)
    q = (1 - ci_prob) / 2
    n_resp = resp_g.value_counts()

    domain_draws: dict[str, np.ndarray] = {}

    def summarise(level: str, domain: str, mask: np.ndarray, n_r: int) -> dict:
        Nd = N[mask].sum()
        if Nd <= 0:
            raise ModelSpecError(f"domain {domain!r} has population N = 0")
        draws = theta[:, mask] @ N[mask] / Nd
        domain_draws[f"{level}:{domain}"] = draws
        return {"level": level, "domain": domain, "estimate": float(draws.mean()),
                "std_error": float(draws.std(ddof=1)), "lower": float(np.quantile(draws, q)),
                "upper": float(np.quantile(draws, 1 - q)), "N": float(Nd), "n_respondents": int(n_r)}

    out = [summarise("Europe", "Europe", np.ones(n_cells, dtype=bool), len(resp))]
    for c in sorted(set(cell_g)):
        m = cell_g == c
        if N[m].sum() > 0:
            out.append(summarise("country", c, m, int(n_resp.get(c, 0))))
    for col in by:
        if col not in cells.columns:
            raise ModelSpecError(f"by={col!r} is not a column of the cells")
        vals = cells[col].astype(str).to_numpy()
        for v in pd.unique(vals):
            m = vals == v
            nr = int((resp[col].astype(str) == v).sum()) if col in resp.columns else 0
            if N[m].sum() > 0:
                out.append(summarise(col, v, m, nr))
    res = pd.DataFrame(out)
    res["method"] = "mrp"
    res["spec_id"] = fit.spec_id
    res.attrs["fallback"] = fallback
    res.attrs["new_countries"] = new_levels
    res.attrs["draws"] = pd.DataFrame(domain_draws)
    return res


def poststratify_ensemble(fits: list, cells: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """MRP over the fits of a reconstruction ensemble, pooled by stacking draws.

    Each replicate's fit is post-stratified (:func:`poststratify`, same
    ``kwargs``); the domain draws of all replicates are stacked with equal
    weight (:func:`irmodels.pooling.pool_draws`) and summarised
    (:func:`irmodels.pooling.summarise_draws`).

    Returns
    -------
    DataFrame
        The columns of :func:`poststratify` (``N`` and ``n_respondents`` from
        the first replicate) plus ``frac_var_reconstruction`` (share of the
        posterior variance due to the reconstruction) and ``n_replicates``.
    """
    from irmodels.pooling import pool_draws, summarise_draws

    if len(fits) < 2:
        raise ModelSpecError("poststratify_ensemble needs the fits of at least 2 replicates")
    parts, first = [], None
    for i, f in enumerate(fits):
        r = poststratify(f, cells, **kwargs)
        first = r if first is None else first
        d = r.attrs["draws"].copy()
        d.insert(0, "replicate", f.extra.get("replicate", i))
        parts.append(d)
    # the replicate posteriors carry their own gate; pool_draws re-checks it (on_fail as in the fits)
    diagnostics = {f.extra.get("replicate", i): f.idata for i, f in enumerate(fits)}
    stacked = pool_draws(pd.concat(parts, ignore_index=True), diagnostics=diagnostics,
                         on_fail=fits[0].options.get("on_fail", "raise"))
    summ = summarise_draws(stacked, columns=list(first.attrs["draws"].columns),
                           ci_prob=kwargs.get("ci_prob", 0.95))
    summ[["level", "domain"]] = summ["term"].str.split(":", n=1, expand=True)
    out = first[["level", "domain", "N", "n_respondents", "spec_id"]].merge(
        summ[["level", "domain", "estimate", "std_error", "lower", "upper", "frac_var_reconstruction",
              "n_replicates"]], on=["level", "domain"], how="left")
    out["method"] = "mrp+stacked"
    return out[["level", "domain", "estimate", "std_error", "lower", "upper", "N", "n_respondents", "method",
                "spec_id", "frac_var_reconstruction", "n_replicates"]]
