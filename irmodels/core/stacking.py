"""Stacking Bayesian posterior draws over an ensemble of reconstructed datasets.

Every replicate contributes the same number of draws, so the mixture approximates the
posterior averaged over the assumption set (:func:`pool_draws`); draws are stacked only after
each replicate's fit passed the convergence gate (:data:`irmodels.core.convergence.GATE`;
refused or excluded otherwise), and every draw keeps its replicate, chain and draw identity.
:func:`summarise_draws` summarises the mixture and the share of its variance due to the
reconstruction.

References
----------
Zhou X, Reiter JP (2010). A note on Bayesian inference after multiple imputation. *Am Stat*
64:159-163 (mixing draws across completed datasets).
"""

from __future__ import annotations

import warnings
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from irmodels.core.convergence import DIAGNOSTIC_COLUMNS, GATE, _py, replicate_diagnostics
from irmodels.core.errors import ConvergenceError, ConvergenceWarning, Problem, SchemaError

__all__ = ["pool_draws", "summarise_draws"]


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
