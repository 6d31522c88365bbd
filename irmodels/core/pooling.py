"""Combining results over an ensemble of reconstructed datasets.

The 2017 respondents are reconstructed ``k`` times (:func:`irmodels.identification.reconstruction.reconstruct`);
any estimator is run once per replicate (:func:`run_over_ensemble`) and the results are
combined:

* frequentist estimates with **Rubin's rules** (:func:`pool`), which also report how much of
  the total variance is due to the reconstruction (between-replicate variance);
* Bayesian posterior draws by **stacking** (:func:`pool_draws`; every replicate contributes
  the same number of draws, the mixture approximates the posterior averaged over the
  assumption set) and summarised by :func:`summarise_draws`. Draws are stacked only after
  each replicate's fit passed the convergence gate (:data:`GATE`; refused or flagged
  otherwise), and every draw keeps its replicate, chain and draw identity.

References
----------
Rubin DB (1987). *Multiple Imputation for Nonresponse in Surveys*. Wiley, ch. 3.
Barnard J, Rubin DB (1999). Small-sample degrees of freedom with multiple imputation.
*Biometrika* 86:948-955.
van Buuren S (2018). *Flexible Imputation of Missing Data*, 2nd ed., sec. 5.2.
The degrees of freedom follow ``mice::pool`` (``barnard.rubin()`` in amices/mice,
``R/barnard.rubin.R``). Zhou X, Reiter JP (2010). A note on Bayesian inference after multiple
imputation. *Am Stat* 64:159-163 (mixing draws across completed datasets).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from irmodels.core.errors import ConvergenceError, ConvergenceWarning, Problem, SchemaError

__all__ = [
    "pool",
    "pool_draws",
    "summarise_draws",
    "replicate_diagnostics",
    "run_over_ensemble",
    "barnard_rubin_df",
    "GATE",
    "DIAGNOSTIC_COLUMNS",
]


def barnard_rubin_df(m: int, between: np.ndarray, total: np.ndarray, dfcom: float | np.ndarray = np.inf) -> np.ndarray:
    """Barnard-Rubin degrees of freedom, exactly as ``mice:::barnard.rubin``.

    Parameters
    ----------
    m : int
        Number of replicates.
    between, total : array
        Between-replicate variance ``B`` and total variance ``T``.
    dfcom : float or array
        Complete-data degrees of freedom (``inf`` for large samples: Rubin's 1987 df).

    Returns
    -------
    numpy.ndarray
        ``lambda = (1 + 1/m) B / T`` (floored at 1e-4); ``df_old = (m - 1) / lambda^2``;
        ``df_obs = (dfcom + 1)/(dfcom + 3) * dfcom * (1 - lambda)``;
        ``df = df_old`` if ``dfcom`` is infinite else ``df_old df_obs / (df_old + df_obs)``.
    """
    lam = (1.0 + 1.0 / m) * np.asarray(between, float) / np.asarray(total, float)
    lam = np.where(lam < 1e-4, 1e-4, lam)
    dfold = (m - 1) / lam**2
    dfcom = np.broadcast_to(np.asarray(dfcom, float), lam.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        dfobs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
        adj = dfold * dfobs / (dfold + dfobs)
    return np.where(np.isinf(dfcom), dfold, adj)


def pool(
    tidy: pd.DataFrame,
    *,
    by: Sequence[str] = ("term",),
    replicate_col: str = "replicate",
    dfcom: float | str | None = "auto",
    ci_prob: float = 0.95,
) -> pd.DataFrame:
    """Pool per-replicate estimates with Rubin's rules.

    Parameters
    ----------
    tidy : pandas.DataFrame
        Stacked tidy results, one row per replicate and ``by`` group, with columns
        ``estimate`` and ``std_error`` (and ``replicate_col``). Typically the output of
        :func:`run_over_ensemble`.
    by : sequence of str
        Columns identifying one estimand (default ``("term",)``; add ``spec_id``, ``method``
        when several models are stacked).
    replicate_col : str
        The replicate column.
    dfcom : float, str or None
        Complete-data degrees of freedom (the df each replicate's analysis would have
        without reconstruction: ``n - p`` for a regression coefficient, ``n - 1`` for a
        prevalence). ``"auto"`` (default): the column ``df_resid`` when ``tidy`` has one
        (every frequentist tidy table of :func:`irmodels.fit` does), its smallest value
        within a group, else infinite; a number; the name of a column holding it per row
        (its value must be constant within a group); or None (infinite: Rubin's 1987 df,
        a large-sample approximation that overstates the df when n is small).
    ci_prob : float
        Coverage of the t interval (default 0.95).

    Returns
    -------
    pandas.DataFrame
        One row per group: the ``by`` columns; ``estimate`` (mean over replicates,
        ``Qbar``); ``std_error`` (``sqrt(T)``); ``lower``, ``upper`` (``Qbar +/- t_{df}
        sqrt(T)``); ``df`` (Barnard-Rubin); ``within_var`` (``Ubar``, mean squared
        standard error); ``between_var`` (``B``, sample variance of the estimates);
        ``total_var`` (``T = Ubar + (1 + 1/m) B``); ``riv`` (relative increase in
        variance, ``(1 + 1/m) B / Ubar``); ``frac_var_reconstruction`` (``(1 + 1/m) B / T``,
        the share of the total variance due to the reconstruction); ``fmi`` (fraction of
        missing information, ``(riv + 2/(df + 3)) / (1 + riv)``); ``n_replicates``;
        ``dfcom`` (the complete-data df used; ``inf`` when none was given); then
        every other column that is constant within the group (e.g. ``method``,
        ``spec_id``, ``status``).

    Raises
    ------
    SchemaError
        Missing columns, missing or non-finite estimates or standard errors, fewer than
        two replicates in a group, a replicate contributing twice to a group, groups with
        different replicate sets.
    IdentificationError
        When ``tidy`` has an ``identification`` column with any value other than
        ``identified`` (e.g. ``assumption`` or ``bounded``): the spread across
        reconstructions of a quantity the published data do not fix is not sampling
        variance, and Rubin's rules would turn the assumption into an interval
        (issue 9). Report such quantities with :func:`irmodels.bounds` and
        :func:`irmodels.association_curve`.

    Notes
    -----
    Use for quantities the data identify (e.g. multiple imputation of item non-response
    in a respondent-level wave). ``Qbar = mean(q_i)``, ``Ubar = mean(u_i)`` with ``u_i = se_i^2``,
    ``B = sum (q_i - Qbar)^2 / (m - 1)``, ``T = Ubar + (1 + 1/m) B``.

    Examples
    --------
    >>> t = pd.DataFrame({"replicate": range(5), "term": "x", "estimate": [1., 2, 3, 4, 5], "std_error": 1.0})
    >>> float(pool(t)["total_var"].iloc[0])
    4.0
    """
    by = list(by)
    if "identification" in tidy.columns:
        lab = tidy["identification"].astype(str)
        bad = tidy.loc[~lab.str.startswith("identified"), [c for c in by if c in tidy.columns] + ["identification"]]
        if len(bad):
            from irmodels.core.errors import IdentificationError

            shown = bad.drop_duplicates().head(8).to_dict("records")
            raise IdentificationError(
                f"pool: {len(bad)} rows are not identified by the data ({shown}); Rubin's rules would present the "
                "assumption's spread as sampling variance. Report them as bounds (irmodels.bounds) and as curves over "
                "the assumption parameter (irmodels.association_curve, irmodels.coverage_curve)")
    need = [*by, replicate_col, "estimate", "std_error"]
    probs = [Problem("required column is missing", column=c) for c in need if c not in tidy.columns]
    if probs:
        raise SchemaError(probs, what="pool")
    est = pd.to_numeric(tidy["estimate"], errors="coerce")
    se = pd.to_numeric(tidy["std_error"], errors="coerce")
    for col, v in (("estimate", est), ("std_error", se)):
        for r in tidy.index[~np.isfinite(v.to_numpy(dtype=float, na_value=np.nan))]:
            probs.append(Problem("must be a finite number (pooling never drops a replicate silently)",
                                 row=r, column=col, value=tidy.at[r, col]))
    for r in tidy.index[(se < 0).fillna(False)]:
        probs.append(Problem("std_error must be >= 0", row=r, column="std_error", value=tidy.at[r, "std_error"]))
    dup = tidy.duplicated([*by, replicate_col], keep=False)
    for r in tidy.index[dup]:
        probs.append(Problem(f"replicate appears twice for the same {by}", row=r, column=replicate_col,
                             value=tidy.at[r, replicate_col]))
    if probs:
        raise SchemaError(probs, what="pool")
    work = tidy.assign(_q=est, _u=se**2)
    groups = work.groupby(by, sort=False, dropna=False)
    repsets = groups[replicate_col].apply(lambda s: tuple(sorted(s)))
    if repsets.nunique() > 1:
        ref = repsets.iloc[0]
        for key, rs in repsets.items():
            if rs != ref:
                probs.append(Problem(f"group has replicates {len(rs)} != {len(ref)} of the first group "
                                     "(every estimand must come from the same replicates)", row=str(key)))
        raise SchemaError(probs, what="pool")
    m = len(repsets.iloc[0])
    if m < 2:
        raise SchemaError([Problem("Rubin's rules need at least 2 replicates", column=replicate_col, value=m)],
                          what="pool")
    agg = groups.agg(estimate=("_q", "mean"), between_var=("_q", "var"), within_var=("_u", "mean"),
                     n_replicates=("_q", "size"))
    b = agg["between_var"].to_numpy()
    ubar = agg["within_var"].to_numpy()
    total = ubar + (1 + 1 / m) * b
    auto = isinstance(dfcom, str) and dfcom == "auto"
    if auto:
        dfcom = "df_resid" if "df_resid" in tidy.columns else None
    if dfcom is None:
        dfc: float | np.ndarray = np.inf
    elif auto:
        # replicates of one estimand may differ in n (rows dropped explicitly): the smallest df is conservative
        dfr = pd.to_numeric(work[dfcom], errors="coerce")
        bad_df = tidy.index[~(dfr > 0).to_numpy(dtype=bool)]
        if len(bad_df):
            raise SchemaError([Problem("df_resid must be a number > 0", row=r, column=dfcom, value=tidy.at[r, dfcom])
                               for r in bad_df[:10]], what="pool")
        dfc = work.assign(_df=dfr).groupby(by, sort=False, dropna=False)["_df"].min().to_numpy(dtype=float)
    elif isinstance(dfcom, str):
        if dfcom not in tidy.columns:
            raise SchemaError([Problem("dfcom column is missing", column=dfcom)], what="pool")
        nun = groups[dfcom].nunique()
        if (nun > 1).any():
            raise SchemaError([Problem("dfcom must be constant within a group", column=dfcom)], what="pool")
        dfc = groups[dfcom].first().to_numpy(dtype=float)
    else:
        dfc = float(dfcom)
    df = barnard_rubin_df(m, b, total, dfc)
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = (1 + 1 / m) * b / ubar
        frac = np.where(total > 0, (1 + 1 / m) * b / total, 0.0)
        fmi = (riv + 2 / (df + 3)) / (1 + riv)
    tq = stats.t.ppf(0.5 + ci_prob / 2, df)
    sd = np.sqrt(total)
    out = agg.reset_index()
    out["std_error"] = sd
    out["lower"] = out["estimate"] - tq * sd
    out["upper"] = out["estimate"] + tq * sd
    out["df"] = df
    out["total_var"] = total
    out["riv"] = riv
    out["frac_var_reconstruction"] = frac
    out["fmi"] = fmi
    out["dfcom"] = np.broadcast_to(np.asarray(dfc, dtype=float), df.shape)
    cols = [*by, "estimate", "std_error", "lower", "upper", "df", "within_var", "between_var", "total_var",
            "riv", "frac_var_reconstruction", "fmi", "n_replicates", "dfcom"]
    out = out[cols]
    skip = set(need) | {"_q", "_u", "lower", "upper", "df", "statistic", "p_value", "z", "t"}
    if isinstance(dfcom, str):
        skip.add(dfcom)
    for c in tidy.columns:
        if c in skip or c in out.columns:
            continue
        if (groups[c].nunique(dropna=False) <= 1).all():
            out[c] = groups[c].first().to_numpy()
    return out


def run_over_ensemble(
    estimator: Callable[[pd.DataFrame], pd.DataFrame],
    ensemble: pd.DataFrame,
    *,
    replicate_col: str = "replicate",
) -> pd.DataFrame:
    """Run an estimator on every replicate and stack its tidy results.

    Parameters
    ----------
    estimator : callable
        Takes one replicate (the respondent-level table without ``replicate_col``, index
        reset) and returns a tidy DataFrame (e.g. ``term, estimate, std_error``).
    ensemble : pandas.DataFrame
        Long table with ``replicate_col`` (output of :func:`irmodels.identification.reconstruction.reconstruct`).

    Returns
    -------
    pandas.DataFrame
        The estimator's tables stacked, with ``replicate_col`` as the first column.

    Raises
    ------
    SchemaError
        If ``replicate_col`` is missing or the estimator does not return a DataFrame.
        An exception raised by the estimator propagates with a note naming the replicate.
    """
    if replicate_col not in ensemble.columns:
        raise SchemaError([Problem("ensemble has no replicate column", column=replicate_col)], what="run_over_ensemble")
    parts = []
    for r, rep in ensemble.groupby(replicate_col, sort=True):
        data = rep.drop(columns=replicate_col).reset_index(drop=True)
        try:
            res = estimator(data)
        except Exception as exc:
            exc.add_note(f"(raised by the estimator on replicate {r})")
            raise
        if not isinstance(res, pd.DataFrame):
            raise SchemaError([Problem(f"estimator must return a DataFrame, got {type(res).__name__}", row=r)],
                              what="run_over_ensemble")
        res = res.copy()
        res.insert(0, replicate_col, r)
        parts.append(res)
    return pd.concat(parts, ignore_index=True)


#: The convergence gate every Bayesian fit passes before its draws are pooled (project rule).
GATE: dict[str, float] = {"r_hat_max": 1.01, "ess_bulk_min": 400.0, "ess_tail_min": 400.0, "n_divergent_max": 0}
#: Columns of a per-replicate diagnostics table.
DIAGNOSTIC_COLUMNS: tuple[str, ...] = ("replicate", "r_hat", "ess_bulk", "ess_tail", "n_divergent")


def _tree_diagnostics(tree: Any, replicate: Any) -> dict[str, Any]:
    """Worst R-hat / bulk ESS / tail ESS over every posterior variable, and the divergences."""
    import arviz as az

    try:
        post = tree["posterior"]
    except (KeyError, TypeError):
        raise SchemaError([Problem("DataTree has no posterior group", row=_py(replicate))],
                          what="replicate_diagnostics") from None
    ds = post.to_dataset() if hasattr(post, "to_dataset") else post
    rh, eb, et = az.rhat(ds), az.ess(ds, method="bulk"), az.ess(ds, method="tail")

    def worst(d: Any, fn: Callable[[np.ndarray], float]) -> float:
        vals = [fn(np.asarray(d[v], dtype=float)) for v in d.data_vars if np.isfinite(np.asarray(d[v], float)).any()]
        return float(fn(np.asarray(vals))) if vals else float("nan")

    try:
        div = tree["sample_stats"]["diverging"]
    except (KeyError, TypeError):
        # without the divergence record the gate cannot be passed: say so instead of assuming 0
        raise SchemaError([Problem("DataTree has no sample_stats.diverging (divergences unknown)",
                                   row=_py(replicate))], what="replicate_diagnostics") from None
    return {"replicate": replicate, "r_hat": worst(rh, np.nanmax), "ess_bulk": worst(eb, np.nanmin),
            "ess_tail": worst(et, np.nanmin), "n_divergent": int(np.asarray(div).sum())}


def _py(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def replicate_diagnostics(diagnostics: pd.DataFrame | Mapping[Any, Any]) -> pd.DataFrame:
    """One convergence record per replicate, judged against the gate :data:`GATE`.

    Parameters
    ----------
    diagnostics : pandas.DataFrame or mapping
        Either a table with the columns of :data:`DIAGNOSTIC_COLUMNS` (``replicate, r_hat,
        ess_bulk, ess_tail, n_divergent``; one row per replicate, or one per replicate and
        parameter: the worst value of each replicate is used), or a mapping
        ``{replicate: DataTree}`` of the fits (groups ``posterior`` and
        ``sample_stats.diverging``, as returned by PyMC 6 / ArviZ 1); R-hat and ESS are then
        computed with :func:`arviz.rhat` and :func:`arviz.ess` (rank-normalised; bulk and tail)
        over every posterior variable.

    Returns
    -------
    pandas.DataFrame
        ``replicate``, ``r_hat`` (max), ``ess_bulk`` (min), ``ess_tail`` (min),
        ``n_divergent`` (total), ``converged`` (bool: ``r_hat <= 1.01``, both ESS ``>= 400``,
        no divergence; a missing value fails), ``reason`` (the failed criteria, "" if none).

    Raises
    ------
    SchemaError
        Missing columns, non-numeric values, a tree without posterior or divergences.
    """
    if isinstance(diagnostics, pd.DataFrame):
        miss = [c for c in DIAGNOSTIC_COLUMNS if c not in diagnostics.columns]
        if miss:
            raise SchemaError([Problem(f"required column is missing (columns: {list(DIAGNOSTIC_COLUMNS)})", column=c)
                               for c in miss], what="diagnostics")
        d = diagnostics.loc[:, list(DIAGNOSTIC_COLUMNS)].copy()
        probs = []
        for c in DIAGNOSTIC_COLUMNS[1:]:
            v = pd.to_numeric(d[c], errors="coerce")
            for r in d.index[v.isna() & d[c].notna()]:
                probs.append(Problem("must be a number", row=_py(r), column=c, value=d.at[r, c]))
            d[c] = v
        if probs:
            raise SchemaError(probs, what="diagnostics")
        g = d.groupby("replicate", sort=True)
        # min_count=1 keeps an all-missing column missing (NaN fails the gate below)
        out = pd.DataFrame({"r_hat": g["r_hat"].max(), "ess_bulk": g["ess_bulk"].min(),
                            "ess_tail": g["ess_tail"].min(), "n_divergent": g["n_divergent"].max()}).reset_index()
    else:
        if not isinstance(diagnostics, Mapping):
            raise SchemaError([Problem("diagnostics must be a DataFrame or a mapping {replicate: DataTree}, got "
                                       f"{type(diagnostics).__name__}")], what="diagnostics")
        out = pd.DataFrame([_tree_diagnostics(t, r) for r, t in diagnostics.items()],
                           columns=list(DIAGNOSTIC_COLUMNS))
    reasons = []
    for r in out.itertuples(index=False):
        why = []
        if not r.r_hat <= GATE["r_hat_max"]:  # NaN fails
            why.append(f"R-hat {r.r_hat:.3f} > {GATE['r_hat_max']}")
        if not r.ess_bulk >= GATE["ess_bulk_min"]:
            why.append(f"bulk ESS {r.ess_bulk:.1f} < {GATE['ess_bulk_min']:.0f}")
        if not r.ess_tail >= GATE["ess_tail_min"]:
            why.append(f"tail ESS {r.ess_tail:.1f} < {GATE['ess_tail_min']:.0f}")
        if not r.n_divergent <= GATE["n_divergent_max"]:
            why.append(f"{r.n_divergent:.0f} divergent transitions")
        reasons.append("; ".join(why))
    out["reason"] = reasons
    out["converged"] = out["reason"] == ""
    return out[[*DIAGNOSTIC_COLUMNS, "converged", "reason"]]


def pool_draws(
    draws: pd.DataFrame,
    *,
    diagnostics: pd.DataFrame | Mapping[Any, Any] | None = None,
    on_fail: Literal["raise", "exclude"] = "raise",
    replicate_col: str = "replicate",
    chain_col: str = "chain",
    draw_col: str = "draw",
) -> pd.DataFrame:
    """Stack posterior draws from all replicates into one mixture sample, after a convergence gate.

    Parameters
    ----------
    draws : pandas.DataFrame
        One row per posterior draw and replicate (``replicate_col``; parameter columns, and
        optionally ``chain_col``/``draw_col``, the chain and the draw within the chain of the
        replicate's fit). Every replicate must contribute the same number of draws so that
        each replicate gets the same weight in the mixture.
    diagnostics : DataFrame or mapping {replicate: DataTree}, optional
        The convergence diagnostics of each replicate's fit (see
        :func:`replicate_diagnostics`). Every replicate of ``draws`` must have one. When
        omitted the draws cannot be checked: a :class:`ConvergenceWarning` says so and
        ``converged`` is missing.
    on_fail : {"raise", "exclude"}
        A replicate failing the gate (R-hat <= 1.01, bulk and tail ESS >= 400, no
        divergences): ``"raise"`` (default) refuses to pool with a
        :class:`ConvergenceError` naming every failing replicate; ``"exclude"`` leaves the
        failing replicates out of the stack, issues a :class:`ConvergenceWarning` naming
        them, and records their number in ``attrs["n_failed"]`` (with
        ``attrs["n_replicates"]``, the number before exclusion). A non-converged fit never
        enters a pooled number (the convergence policy of irmodels; the former ``"warn"``,
        which pooled them with a flag, is refused).
    replicate_col, chain_col, draw_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        All rows, sorted by replicate, chain and draw, with the identity of every draw kept:
        ``replicate_col``; ``chain_col`` made unique over the stack (0, 1, ... over the
        (replicate, chain) pairs in order, so that chain-based diagnostics of the mixture do
        not merge chains of different fits); ``chain_in_replicate`` (the chain id of the
        replicate's own fit; 0 when ``draws`` has no chain column); ``draw_col`` (the draw
        within its chain, as given; 0..n-1 within the replicate when ``draws`` has none);
        ``converged`` (boolean per replicate; missing when no diagnostics are given); then
        the parameter columns.

    Raises
    ------
    SchemaError
        Missing replicate column, fewer than 2 replicates, unequal numbers of draws, a
        (chain, draw) pair repeated within a replicate, diagnostics missing for a replicate,
        a bad ``on_fail``.
    ConvergenceError
        ``on_fail="raise"`` and a replicate fails the gate, or fewer than 2 replicates
        remain after exclusion.

    Warns
    -----
    ConvergenceWarning
        No diagnostics given, or ``on_fail="exclude"`` and a replicate fails the gate.
    """
    if on_fail not in ("raise", "exclude"):
        hint = " ('warn' pooled non-converged fits with a flag; use 'exclude')" if on_fail == "warn" else ""
        raise SchemaError([Problem("on_fail must be 'raise' or 'exclude'" + hint, column="on_fail", value=on_fail)],
                          what="pool_draws")
    if replicate_col not in draws.columns:
        raise SchemaError([Problem("draws have no replicate column", column=replicate_col)], what="pool_draws")
    sizes = draws.groupby(replicate_col).size()
    if len(sizes) < 2:
        raise SchemaError([Problem("stacking needs at least 2 replicates", column=replicate_col, value=len(sizes))],
                          what="pool_draws")
    if sizes.nunique() != 1:
        raise SchemaError(
            [Problem(f"replicate has {n} draws; all replicates need the same number ({sizes.iloc[0]})",
                     row=_py(r), column=replicate_col) for r, n in sizes.items() if n != sizes.iloc[0]],
            what="pool_draws",
        )
    out = draws.copy()
    if chain_col in out.columns:
        out["chain_in_replicate"] = out[chain_col]
    else:
        out["chain_in_replicate"] = 0  # one chain per replicate, as far as the caller tells
    if draw_col not in out.columns:
        out[draw_col] = out.groupby(replicate_col, sort=False).cumcount()
    dup = out.duplicated([replicate_col, "chain_in_replicate", draw_col], keep=False)
    if dup.any():
        raise SchemaError([Problem(f"({chain_col}, {draw_col}) appears twice within a replicate", row=_py(r),
                                   column=draw_col, value=_py(out.at[r, draw_col])) for r in out.index[dup][:20]],
                          what="pool_draws")
    out = out.sort_values([replicate_col, "chain_in_replicate", draw_col], kind="stable").reset_index(drop=True)
    out[chain_col] = out.groupby([replicate_col, "chain_in_replicate"], sort=False).ngroup()

    if diagnostics is None:
        warnings.warn(
            "pool_draws: no convergence diagnostics given, so the stacked draws are NOT checked against the "
            "gate (R-hat <= 1.01, bulk/tail ESS >= 400, no divergences); pass diagnostics= (a table with "
            f"columns {list(DIAGNOSTIC_COLUMNS)} or {{replicate: DataTree}})",
            ConvergenceWarning, stacklevel=2)
        conv = pd.Series(pd.NA, index=out.index, dtype="boolean")
    else:
        diag = replicate_diagnostics(diagnostics).set_index("replicate")
        missing = [r for r in sizes.index if r not in diag.index]
        if missing:
            raise SchemaError([Problem("replicate has draws but no convergence diagnostics", row=_py(r),
                                       column="replicate") for r in missing], what="pool_draws")
        bad = diag.loc[list(sizes.index)]
        bad = bad[~bad["converged"]]
        if len(bad):
            lines = "; ".join(f"replicate {_py(r)}: {why}" for r, why in bad["reason"].items())
            msg = (f"{len(bad)} of {len(sizes)} replicates failed the convergence gate (R-hat <= {GATE['r_hat_max']}, "
                   f"bulk/tail ESS >= {GATE['ess_bulk_min']:.0f}, no divergences): {lines}")
            if on_fail == "raise":
                raise ConvergenceError(msg + " (pass on_fail='exclude' to pool the converged replicates only)")
            kept = len(sizes) - len(bad)
            if kept < 2:
                raise ConvergenceError(msg + f"; only {kept} converged replicate(s) left: nothing to pool")
            warnings.warn(msg + f"; excluded: {kept} of {len(sizes)} replicates pooled", ConvergenceWarning,
                          stacklevel=2)
            out = out[~out[replicate_col].isin(bad.index)].reset_index(drop=True)
            out[chain_col] = out.groupby([replicate_col, "chain_in_replicate"], sort=False).ngroup()
        conv = out[replicate_col].map(diag["converged"]).astype("boolean")
    out["converged"] = conv
    first = [replicate_col, chain_col, "chain_in_replicate", draw_col, "converged"]
    res = out[first + [c for c in out.columns if c not in first]]
    res.attrs["n_replicates"] = int(len(sizes))
    res.attrs["n_failed"] = int(len(sizes) - res[replicate_col].nunique())
    return res


def summarise_draws(
    stacked: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    replicate_col: str = "replicate",
    ci_prob: float = 0.95,
) -> pd.DataFrame:
    """Summarise stacked draws: mean, sd, equal-tailed interval, variance due to reconstruction.

    Parameters
    ----------
    stacked : pandas.DataFrame
        Output of :func:`pool_draws`.
    columns : sequence of str, optional
        Parameter columns (default: every numeric column except replicate/chain/draw).
    ci_prob : float
        Probability of the equal-tailed interval (default 0.95).

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``term``, ``estimate`` (posterior mean of the mixture),
        ``std_error`` (its sd), ``lower``, ``upper`` (ETI quantiles), ``within_var`` (mean of
        the per-replicate posterior variances), ``between_var`` (variance of the
        per-replicate posterior means), ``frac_var_reconstruction``
        (``between_var / (within_var + between_var)``, the law of total variance), and
        ``n_replicates``, ``n_draws``, ``converged_share`` (share of replicates whose fit passed
        the convergence gate, from the ``converged`` column of :func:`pool_draws`; NaN when it
        was not checked).
    """
    skip = {replicate_col, "chain", "draw", "chain_in_replicate", "converged"}
    if columns is None:
        columns = [c for c in stacked.columns if c not in skip and pd.api.types.is_numeric_dtype(stacked[c])
                   and not pd.api.types.is_bool_dtype(stacked[c])]
    if "converged" in stacked.columns:
        conv = stacked.groupby(replicate_col)["converged"].first()
        converged_share = float(conv.astype("Float64").mean()) if conv.notna().all() else float("nan")
    else:
        converged_share = float("nan")
    g = stacked.groupby(replicate_col)
    rows = []
    a = (1 - ci_prob) / 2
    for c in columns:
        x = stacked[c].to_numpy(dtype=float)
        means = g[c].mean()
        within = float(g[c].var(ddof=0).mean())
        between = float(means.var(ddof=0))
        rows.append({
            "term": c, "estimate": float(x.mean()), "std_error": float(x.std()),
            "lower": float(np.quantile(x, a)), "upper": float(np.quantile(x, 1 - a)),
            "within_var": within, "between_var": between,
            "frac_var_reconstruction": between / (within + between) if within + between > 0 else 0.0,
            "n_replicates": int(len(means)), "n_draws": int(len(x)), "converged_share": converged_share,
        })
    return pd.DataFrame(rows)
