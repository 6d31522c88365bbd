r"""SBC's rank test and summaries: the simultaneous ECDF band of uniform ranks, per-family tables.

:func:`ecdf_band` and :func:`ecdf_test` are the simultaneous band for the ECDF of SBC ranks
of Säilynoja, Bürkner & Vehtari (2022) (pointwise level ``gamma`` by simulation,
:func:`adjust_gamma`); :func:`summarise_sbc` tests the converged fits' ranks of every family and
parameter, :func:`failure_rates` counts the fits that failed (see :mod:`irmodels.studies.sbc`).

References
----------
Säilynoja, T., Bürkner, P.-C. & Vehtari, A. (2022). Graphical test for discrete uniformity and
its applications in goodness-of-fit evaluation and multiple sample comparison. Statistics and
Computing 32, 32.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from irmodels.core.errors import IrmodelsError

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
        ``p_value_all_fits`` (the same test on the ranks of every fit that ran, converged or not),
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
            # excluding non-converged fits conditions on the data: the test with every fit that ran
            ga = g[g["parameter"] == p]
            base["p_value_all_fits"] = (ecdf_test(ga["rank"].to_numpy(dtype=np.int64), L, level=level)["p_value"]
                                        if n_non and len(ga) else base["p_value"])
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
