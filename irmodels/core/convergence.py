"""The convergence gate a Bayesian fit passes before its draws are pooled.

:data:`GATE` states the gate (R-hat, bulk and tail ESS, divergences) and
:func:`replicate_diagnostics` judges each replicate's fit against it, from a table of
diagnostics or from the fits themselves (ArviZ). Used by
:func:`irmodels.core.stacking.pool_draws`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from irmodels.core.errors import Problem, SchemaError

__all__ = ["GATE", "DIAGNOSTIC_COLUMNS", "replicate_diagnostics"]

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
    """Plain Python scalar for messages (``3`` rather than ``np.int64(3)``)."""
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

