"""Combining frequentist results over an ensemble of reconstructed datasets: Rubin's rules.

The 2017 respondents are reconstructed ``k`` times (:func:`irmodels.identification.reconstruction.reconstruct`);
any estimator is run once per replicate (:func:`run_over_ensemble`) and the frequentist
estimates are combined with **Rubin's rules** (:func:`pool`), which also report how much of
the total variance is due to the reconstruction (between-replicate variance). Bayesian
posterior draws are stacked by :mod:`irmodels.core.stacking` after the convergence gate of
:mod:`irmodels.core.convergence`.

References
----------
Rubin DB (1987). *Multiple Imputation for Nonresponse in Surveys*. Wiley, ch. 3.
Barnard J, Rubin DB (1999). Small-sample degrees of freedom with multiple imputation.
*Biometrika* 86:948-955.
van Buuren S (2018). *Flexible Imputation of Missing Data*, 2nd ed., sec. 5.2.
The degrees of freedom follow ``mice::pool`` (``barnard.rubin()`` in amices/mice,
``R/barnard.rubin.R``).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from irmodels.core.errors import Problem, SchemaError

__all__ = [
    "pool",
    "run_over_ensemble",
    "barnard_rubin_df",
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
    _refuse_unidentified(tidy, by)
    need, est, se = _checked_inputs(tidy, by, replicate_col)
    work = tidy.assign(_q=est, _u=se**2)
    groups = work.groupby(by, sort=False, dropna=False)
    m = _n_replicates(groups, replicate_col)
    agg = groups.agg(estimate=("_q", "mean"), between_var=("_q", "var"), within_var=("_u", "mean"),
                     n_replicates=("_q", "size"))
    b = agg["between_var"].to_numpy()
    ubar = agg["within_var"].to_numpy()
    total = ubar + (1 + 1 / m) * b
    dfcom, dfc = _complete_data_df(dfcom, tidy, work, groups, by)
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


def _refuse_unidentified(tidy: pd.DataFrame, by: list[str]) -> None:
    """Raise IdentificationError when a row is labelled anything but identified (issue 9)."""
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


def _checked_inputs(tidy: pd.DataFrame, by: list[str], replicate_col: str) -> tuple[list[str], pd.Series, pd.Series]:
    """The required columns, estimates and standard errors; every bad cell raised as one SchemaError."""
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
    return need, est, se


def _n_replicates(groups: Any, replicate_col: str) -> int:
    """The number of replicates ``m``, the same set for every group (at least 2)."""
    probs: list[Problem] = []
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
    return m


def _complete_data_df(dfcom: float | str | None, tidy: pd.DataFrame, work: pd.DataFrame, groups: Any,
                      by: list[str]) -> tuple[float | str | None, float | np.ndarray]:
    """``(dfcom as resolved, complete-data df per group)`` from the ``dfcom`` argument of :func:`pool`."""
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
    return dfcom, dfc


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

