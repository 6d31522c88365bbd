"""Multilevel regression and post-stratification (MRP) of the Bayesian models.

:func:`poststratify` turns a hierarchical fit (engine ``pymc``, ``group``
e.g. ``"country"``) into population estimates over frame cells
(:func:`irmodels.nonresponse.frame.frame_cells`: ``country``, ``beds_class``, ``N``).

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

Predictors the cells do not carry (**an assumption**, made explicit)
--------------------------------------------------------------------
The frame has no ``chair_profile`` and no ``teaching``. Within each cell the
model prediction is averaged over a distribution of the missing predictors:

* ``mix=None`` (the respondents' mix): their joint distribution among the
  *respondents* of the same country and beds class; where there are none,
  among the respondents of the same beds class in all countries; where there
  are none, among all respondents. This assumes the respondents represent the
  population within those strata, a strong assumption at a low response rate
  when teaching hospitals answer more often;
* ``mix=<DataFrame>`` (population covariates as inputs): the population
  distribution of the missing predictors per cell, from external data or a
  stated sensitivity parameter (:func:`population_mix`,
  :data:`TEACHING_SHARE_RANGE`). MRP is then reported for each value, beside
  weighting; both rest on the same frame scenario.

Countries of the frame without respondents get a new country intercept drawn
from ``Normal(0, sd_country)`` per posterior draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from irmodels.core.errors import ModelSpecError, Problem, SchemaError
from irmodels.models.posterior import mcse_columns

__all__ = ["poststratify", "poststratify_ensemble", "population_mix", "TEACHING_SHARE_RANGE"]

#: Stated sensitivity range of the population share of teaching hospitals per bed class
#: (low, high). No European statistic by bed class was found (external-evidence.md 3.1);
#: the range is a judgement bracketing "university and teaching hospitals dominate the
#: large-centre strata" (Keeling 2009, Kok 2018; external-evidence.md 2.1): few small
#: hospitals teach, most very large ones do.
TEACHING_SHARE_RANGE: dict[str, tuple[float, float]] = {
    "<200": (0.05, 0.40), "200-399": (0.15, 0.60), "400-799": (0.40, 0.85), ">=800": (0.75, 1.00),
}


def population_mix(teaching_share: dict[str, float], chair_mix: dict[str, float] | None = None, *,
                   respondents: pd.DataFrame | None = None) -> pd.DataFrame:
    """A population distribution of teaching status and chair profile per bed class.

    Parameters
    ----------
    teaching_share : mapping
        Share of teaching hospitals per bed class (``{"<200": 0.2, ...}``; every class of
        :data:`TEACHING_SHARE_RANGE`, each in [0, 1]).
    chair_mix : mapping, optional
        Distribution of the chair profile (``{"DR": 0.3, ...}``, summing to 1), the same in
        every cell (nothing published links it to size or teaching). Default: the
        respondents' overall distribution (``respondents`` required).
    respondents : DataFrame, optional
        Respondent table with ``chair_profile`` (for the default ``chair_mix``).

    Returns
    -------
    DataFrame
        ``beds_class``, ``teaching`` (bool), ``chair_profile``, ``share`` (summing to 1
        within each bed class): the ``mix`` argument of :func:`poststratify`.

    Raises
    ------
    SchemaError
        Missing bed classes, shares outside [0, 1], a chair mix not summing to 1, or no
        ``respondents`` for the default chair mix (all problems listed together).

    Examples
    --------
    >>> m = population_mix({"<200": .2, "200-399": .4, "400-799": .6, ">=800": .9}, {"DR": .5, "IR_mostly": .5})
    >>> float(m.loc[(m.beds_class == ">=800") & m.teaching, "share"].sum())
    0.9
    """
    problems = []
    for b in TEACHING_SHARE_RANGE:
        v = teaching_share.get(b)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= float(v) <= 1:
            problems.append(Problem(rule="teaching share per bed class must be a number in [0, 1]", column=b, value=v))
    if chair_mix is None:
        if respondents is None or "chair_profile" not in respondents.columns:
            problems.append(Problem(rule="give chair_mix or respondents with a chair_profile column", column="chair_mix"))
        else:
            chair_mix = respondents["chair_profile"].dropna().astype(str).value_counts(normalize=True).to_dict()
    if chair_mix is not None and abs(sum(chair_mix.values()) - 1) > 1e-9:
        problems.append(Problem(rule="chair_mix must sum to 1", column="chair_mix", value=sum(chair_mix.values())))
    if problems:
        raise SchemaError(problems, what="population_mix")
    rows = [{"beds_class": b, "teaching": teach, "chair_profile": c, "share": pt * pc}
            for b in TEACHING_SHARE_RANGE
            for teach, pt in ((True, float(teaching_share[b])), (False, 1 - float(teaching_share[b])))
            for c, pc in chair_mix.items()]
    out = pd.DataFrame(rows)
    return out[out["share"] > 0].reset_index(drop=True)


def _rhs_vars(f) -> list[str]:
    from irmodels.models.design import _outcome_of, _rhs_variables

    return _rhs_variables(_outcome_of(f.formula)[1], f.design.data)


def _probabilities(f, newdata: pd.DataFrame, gidx: np.ndarray, a_new: np.ndarray | None,
                   positive: list[str] | None) -> np.ndarray:
    """Posterior draws (S, rows) of the expected outcome for new rows."""
    from irmodels.models.posterior import posterior_draws

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
                 ci_prob: float = 0.95, seed: int = 0, mix: pd.DataFrame | None = None) -> pd.DataFrame:
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
    mix : DataFrame, optional
        Population distribution of the predictors the cells lack (key columns shared with
        the cells, the missing predictors, ``share`` summing to 1 within each key; e.g.
        :func:`population_mix`). Default None: the respondents' mix (module notes).

    Returns
    -------
    DataFrame
        ``level`` (``"Europe"``, ``"country"`` or the ``by`` column name),
        ``domain`` (``"Europe"``, the country code, or the ``by`` value),
        ``estimate`` (posterior mean), ``std_error`` (posterior sd), ``lower``,
        ``upper``, ``mcse_estimate``, ``mcse_lower``, ``mcse_upper`` (Monte Carlo standard
        errors of the three, ArviZ), ``N`` (population count of the domain), ``n_respondents``,
        ``method`` (``"mrp"``), ``spec_id``. ``attrs["fallback"]`` counts cells
        whose missing-predictor mix came from a coarser stratum;
        ``attrs["draws"]`` holds the posterior draws of every domain (columns
        ``"<level>:<domain>"``); ``attrs["mix"]`` is ``"respondents"`` or ``"given"``.

    Raises
    ------
    ModelSpecError
        Not a grouped pymc fit; cells lack the group column or ``N``.
    SchemaError
        Cell values outside the model's categories, negative ``N``.
    """
    if fit.engine != "pymc" or not fit.group:
        raise ModelSpecError("poststratify needs a pymc fit with a group (country) intercept")
    by, in_cells, missing_preds, N = _check_cells(fit, cells, by)
    theta, fallback, new_levels = _cell_predictions(fit, cells, in_cells, missing_preds, positive=positive, seed=seed,
                                                    mix=mix)
    domains = _domains(cells, fit.design.data, fit.group, N, by)
    # theta_D^s = sum_{c in D} N_c theta_c^s / N_D for every domain at once
    weights = np.stack([np.where(m, N, 0.0) for _, _, m, _ in domains], axis=1)
    Nd = weights.sum(axis=0)
    draws = theta @ (weights / Nd)
    q = (1 - ci_prob) / 2
    lower, upper = np.quantile(draws, [q, 1 - q], axis=0)
    out = pd.DataFrame({"level": [d[0] for d in domains], "domain": [d[1] for d in domains],
                        "estimate": draws.mean(axis=0), "std_error": draws.std(axis=0, ddof=1),
                        "lower": lower, "upper": upper,
                        **mcse_columns(draws.reshape(int(fit.result["posterior"].sizes["chain"]), -1, draws.shape[1]), q),
                        "N": Nd, "n_respondents": [d[3] for d in domains]})
    domain_draws = pd.DataFrame(draws, columns=[f"{lv}:{d}" for lv, d, _, _ in domains])
    res = out
    res["method"] = "mrp"
    res["spec_id"] = fit.spec_id
    res.attrs["fallback"] = fallback
    res.attrs["new_countries"] = new_levels
    res.attrs["draws"] = domain_draws
    res.attrs["mix"] = "respondents" if mix is None else "given"
    return res


def _check_cells(fit, cells: pd.DataFrame, by) -> tuple[list[str], list[str], list[str], np.ndarray]:
    """``by`` as a list, the model's predictors the cells carry and lack, and the population counts ``N``.

    Raises :class:`ModelSpecError` when the cells lack the group column or ``N``, and one
    :class:`SchemaError` listing every bad ``N`` and every cell value outside the model's
    categories.
    """
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
    n_num = pd.to_numeric(cells["N"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    for i, v in cells["N"][~(np.isfinite(n_num) & (n_num >= 0))].items():
        problems.append(Problem(rule="N must be finite and >= 0", row=i, column="N", value=v))
    for p in in_cells:
        if isinstance(resp[p].dtype, pd.CategoricalDtype):
            valid = set(map(str, resp[p].cat.categories))
            for i, v in cells[p][~cells[p].astype(str).isin(valid).to_numpy()].items():
                problems.append(Problem(rule=f"not a category of {p}: {sorted(valid)}", row=i, column=p, value=v))
    if problems:
        raise SchemaError(problems, what="post-stratification cells")
    return by, in_cells, missing_preds, n_num


def _cell_predictions(fit, cells: pd.DataFrame, in_cells: list[str], missing_preds: list[str], *,
                      positive: list[str] | None, seed: int,
                      mix: pd.DataFrame | None) -> tuple[np.ndarray, int, list[str]]:
    """Posterior draws (S, cells) of each cell's expected outcome, averaged over its predictor mix.

    Returns the draws, the number of cells whose mix came from a coarser stratum and the
    group levels of the cells that the fit has not seen (their intercepts are drawn from
    ``Normal(0, sd_group)`` with ``seed``).
    """
    g = fit.group
    resp = fit.design.data
    levels = list(fit.design.group_levels)
    cell_g = cells[g].astype(str).to_numpy()
    new_levels = sorted(set(cell_g) - set(levels))
    rng = np.random.default_rng(seed)
    from irmodels.models.posterior import posterior_draws

    a_new = None
    if new_levels:
        sd = posterior_draws(fit, f"sd_{g}")
        a_new = sd[:, None] * rng.standard_normal((len(sd), len(new_levels)))
    resp_g = resp[g].astype(str)
    if mix is not None:
        newdata, owner, share = _expand_given_mix(cells, mix, in_cells, missing_preds, resp)
        fallback = 0
    else:
        newdata, owner, share, fallback = _expand_respondent_mix(cells, resp, resp_g, g, in_cells, missing_preds)
    # group index of every cell: known level i >= 0, new level j as -j - 1
    known = pd.Index(levels).get_indexer(cell_g)
    cell_gidx = np.where(known >= 0, known, -pd.Index(new_levels).get_indexer(cell_g) - 1)
    # predictions once per distinct (group, predictors) row, not once per borrowed respondent
    uniq, inverse = _distinct_rows(newdata, cell_gidx[owner])
    p_uniq = _probabilities(fit, newdata.iloc[uniq].reset_index(drop=True), cell_gidx[owner][uniq], a_new, positive)
    n_cells = len(cells)
    # theta_c^s = sum over the cell's borrowed mix of share x prediction: (S, U) @ (U, cells)
    mix_w = np.zeros((len(uniq), n_cells))
    np.add.at(mix_w, (inverse, owner), share)
    return p_uniq @ mix_w, fallback, new_levels


def _domains(cells: pd.DataFrame, resp: pd.DataFrame, g: str, N: np.ndarray,
             by: list[str]) -> list[tuple[str, str, np.ndarray, int]]:
    """Domains as (level, name, cell mask, respondents), in the order of the output rows.

    Europe, then each country with a positive population, then each ``by`` value with one.
    """
    n_cells = len(cells)
    cell_g = cells[g].astype(str).to_numpy()
    n_resp = resp[g].astype(str).value_counts()
    domains: list[tuple[str, str, np.ndarray, int]] = [("Europe", "Europe", np.ones(n_cells, dtype=bool), len(resp))]
    for c in sorted(set(cell_g)):
        m = cell_g == c
        if N[m].sum() > 0:
            domains.append(("country", c, m, int(n_resp.get(c, 0))))
    for col in by:
        if col not in cells.columns:
            raise ModelSpecError(f"by={col!r} is not a column of the cells")
        vals = cells[col].astype(str).to_numpy()
        counts = resp[col].astype(str).value_counts() if col in resp.columns else pd.Series(dtype=int)
        for v in pd.unique(vals):
            m = vals == v
            if N[m].sum() > 0:
                domains.append((col, v, m, int(counts.get(v, 0))))
    return domains


def _cast_like(resp: pd.DataFrame, p: str, values) -> object:
    col = resp[p]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return pd.Categorical([str(v) for v in values], categories=col.cat.categories, ordered=col.cat.ordered)
    if str(col.dtype) == "boolean":
        return pd.array([v in (True, "True", "true") for v in values], dtype="boolean")
    return np.asarray(values, dtype=col.dtype)


def _expand_given_mix(cells: pd.DataFrame, mix: pd.DataFrame, in_cells: list[str], missing_preds: list[str],
                      resp: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Cells x the given population mix of the missing predictors (one vectorised merge)."""
    problems = []
    if "share" not in mix.columns:
        problems.append(Problem(rule="mix needs a 'share' column", column="share"))
    absent = [p for p in missing_preds if p not in mix.columns]
    if absent:
        problems.append(Problem(rule=f"mix lacks the predictors the cells do not carry: {absent}", column="mix"))
    if problems:
        raise SchemaError(problems, what="post-stratification mix")
    keys = [c for c in mix.columns if c in cells.columns and c not in ("N", "share")]
    m = mix[keys + missing_preds + ["share"]].copy()
    for k in keys:
        m[k] = m[k].astype(str)
    sums = m.groupby(keys)["share"].sum() if keys else pd.Series([m["share"].sum()])
    bad = sums[(sums - 1).abs() > 1e-9]
    if len(bad):
        raise SchemaError([Problem(rule="mix shares must sum to 1 within each key", column="share",
                                   value={str(k): round(float(v), 6) for k, v in bad.items()})],
                          what="post-stratification mix")
    c = cells.reset_index(drop=True).copy()
    c["_cell"] = np.arange(len(c))
    for k in keys:
        c[k] = c[k].astype(str)
    c = c[["_cell", *keys, *[p for p in in_cells if p not in keys]]]
    merged = c.merge(m, on=keys, how="left") if keys else c.merge(m, how="cross")
    lost = merged["share"].isna()
    if lost.any():
        raise SchemaError([Problem(rule="no mix rows for this cell", row=int(r["_cell"]), column=str(keys),
                                   value={k: r[k] for k in keys}) for _, r in merged[lost].head(10).iterrows()],
                          what="post-stratification mix")
    newdata = pd.DataFrame({p: _cast_like(resp, p, merged[p].to_numpy()) for p in in_cells + missing_preds})
    return newdata, merged["_cell"].to_numpy(), merged["share"].to_numpy(dtype=float)


def _distinct_rows(newdata: pd.DataFrame, gidx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the distinct (group, predictor values) rows and each row's distinct index."""
    codes = [np.asarray(gidx, dtype=np.int64)]
    for c in newdata.columns:
        codes.append(pd.factorize(newdata[c], use_na_sentinel=False)[0].astype(np.int64))
    _, first, inverse = np.unique(np.stack(codes, axis=1), axis=0, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def _expand_respondent_mix(cells, resp, resp_g, g, in_cells, missing_preds):
    """Every cell expanded into the respondents whose missing-predictor mix it borrows.

    A cell borrows the respondents of its own country and cell values; where there are none
    (counted in ``fallback``), those of the same cell values in all countries; where there
    are none, all respondents. One merge per level, not one pass per cell.
    """
    n_cells = len(cells)
    cell_keys = pd.DataFrame({"_cell": np.arange(n_cells), g: cells[g].astype(str).to_numpy()})
    for p in in_cells:
        cell_keys[p] = cells[p].astype(str).to_numpy()
    if missing_preds:
        resp_keys = pd.DataFrame({"_resp": np.arange(len(resp)), g: resp_g.to_numpy()})
        for p in in_cells:
            resp_keys[p] = resp[p].astype(str).to_numpy()
        own = cell_keys.merge(resp_keys, on=[g, *in_cells], how="inner")[["_cell", "_resp"]]
        rest = cell_keys[~cell_keys["_cell"].isin(own["_cell"])]
        fallback = len(rest)
        if in_cells:
            coarse = rest.merge(resp_keys.drop(columns=g), on=in_cells, how="inner")[["_cell", "_resp"]]
        else:  # no cell predictors: every respondent matches the coarser stratum
            coarse = rest[["_cell"]].merge(resp_keys[["_resp"]], how="cross")
        rest = rest[~rest["_cell"].isin(coarse["_cell"])]
        everyone = rest[["_cell"]].merge(resp_keys[["_resp"]], how="cross")
        pairs = pd.concat([own, coarse, everyone], ignore_index=True).sort_values(["_cell", "_resp"], kind="stable")
        owner = pairs["_cell"].to_numpy()
        sub = resp[missing_preds].iloc[pairs["_resp"].to_numpy()].reset_index(drop=True)
    else:
        owner, fallback = np.arange(n_cells), 0
        sub = pd.DataFrame(index=pd.RangeIndex(n_cells))
    for p in in_cells:
        col = resp[p]
        if isinstance(col.dtype, pd.CategoricalDtype):
            sub[p] = pd.Categorical(cells[p].astype(str).to_numpy()[owner], categories=col.cat.categories,
                                    ordered=col.cat.ordered)
        else:
            sub[p] = pd.array(cells[p].to_numpy()[owner], dtype=col.dtype)
    size = np.bincount(owner, minlength=n_cells)
    return sub, owner, 1.0 / size[owner], fallback


def poststratify_ensemble(fits: list, cells: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """MRP over the fits of a reconstruction ensemble, pooled by stacking draws.

    Each replicate's fit is post-stratified (:func:`poststratify`, same
    ``kwargs``); the domain draws of all replicates are stacked with equal
    weight (:func:`irmodels.core.stacking.pool_draws`) and summarised
    (:func:`irmodels.core.stacking.summarise_draws`).

    Returns
    -------
    DataFrame
        The columns of :func:`poststratify` (``N`` and ``n_respondents`` from
        the first replicate) plus ``frac_var_reconstruction`` (share of the
        posterior variance due to the reconstruction) and ``n_replicates``.
    """
    from irmodels.core.stacking import pool_draws, summarise_draws

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
                         on_fail="exclude" if fits[0].options.get("on_fail", "raise") == "warn" else "raise")
    summ = summarise_draws(stacked, columns=list(first.attrs["draws"].columns),
                           ci_prob=kwargs.get("ci_prob", 0.95))
    summ[["level", "domain"]] = summ["term"].str.split(":", n=1, expand=True)
    out = first[["level", "domain", "N", "n_respondents", "spec_id"]].merge(
        summ[["level", "domain", "estimate", "std_error", "lower", "upper", "frac_var_reconstruction",
              "n_replicates"]], on=["level", "domain"], how="left")
    out["method"] = "mrp+stacked"
    return out[["level", "domain", "estimate", "std_error", "lower", "upper", "N", "n_respondents", "method",
                "spec_id", "frac_var_reconstruction", "n_replicates"]]
