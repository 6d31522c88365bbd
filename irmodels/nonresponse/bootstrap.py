"""Replicate weights: a rescaled bootstrap that re-runs the whole weighting in every replicate.

The replicate alternative to the linearisation of :mod:`irmodels.nonresponse.survey`: each
replicate resamples the respondents (Rao & Wu 1988), recomputes the full weighting from
the resampled base weights, and keeps the result; replicates whose weighting fails are
counted, bounded and reported. The replicate weights feed
``weighted_prevalence(..., variance="bootstrap", replicate_weights=...)``.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd

from irmodels.core.errors import (
    BootstrapFailureError,
    BootstrapFailureWarning,
    IrmodelsError,
    WeightingError,
)
from irmodels.nonresponse.weighting import WeightingResult
from irmodels.nonresponse.weighting_checks import _check_weights

__all__ = ["bootstrap_weights"]


#: Exceptions that count as a failed bootstrap replicate (the weighting of that resample has no
#: solution or did not converge); anything else is a bug and propagates at once.
_REPLICATE_FAILURES = (IrmodelsError, ArithmeticError, np.linalg.LinAlgError, ValueError)


def bootstrap_weights(
    data: pd.DataFrame,
    weighting_fn: Callable[[pd.DataFrame, np.ndarray], Any],
    n_rep: int,
    seed: int | np.random.Generator,
    *,
    base_weight: pd.Series | np.ndarray | None = None,
    strata: str | None = None,
    on_error: Literal["raise", "skip"] = "skip",
    max_failed_share: float = 0.05,
) -> pd.DataFrame:
    """Replicate weights from a rescaled bootstrap that re-runs the whole weighting.

    Parameters
    ----------
    data : DataFrame
    weighting_fn : callable
        ``weighting_fn(data, base_weight) -> Series | WeightingResult``, e.g.
        ``lambda d, b: weight(d, "rake", margins=m, base_weight=b)``. Called once per
        replicate with that replicate's base weights (zero for units not drawn).
    n_rep : int
        Number of replicates requested.
    seed : int or numpy Generator
    base_weight : optional
        Design weights before non-response adjustment (default 1).
    strata : str, optional
        Resample within the categories of this column (each needs >= 2 units).
    on_error : {"skip", "raise"}
        A replicate whose weighting fails (an irmodels error such as a
        :class:`~irmodels.core.errors.ConvergenceError` of raking or a margin category with no
        unit drawn, a numerical error, or weights that are not finite and >= 0):
        ``"skip"`` (default) leaves it out, counts it and reports it (see Returns and
        Warns), within the bound ``max_failed_share``; ``"raise"`` raises a
        :class:`~irmodels.core.errors.WeightingError` at the first failure. Other exceptions
        (programming errors) always propagate.
    max_failed_share : float
        The largest share of the ``n_rep`` replicates that may fail (default 0.05, i.e.
        at most 5 of 100). Failed replicates are the resamples whose weighting has no
        solution, typically the most extreme ones, so leaving them out biases the
        bootstrap variance downwards; beyond this share the variance is not reported.

    Returns
    -------
    DataFrame
        ``n x R`` replicate weights of the successful replicates (columns ``rep_<r>``
        with ``r`` the replicate's number among the ``n_rep`` drawn, so a gap marks a
        failure), indexed like ``data``. ``attrs``: ``n_requested`` (``n_rep``),
        ``n_failed`` (count of failed replicates), ``failed_share``
        (``n_failed / n_rep``), ``max_failed_share``, and ``skipped`` (list of
        ``(replicate, reason)``, one per failure).

    Raises
    ------
    BootstrapFailureError
        More than ``max_failed_share`` of the replicates failed (raised after all
        ``n_rep`` were tried; the message gives the count and the first reasons).
    WeightingError
        ``on_error="raise"`` and a replicate failed; strata with fewer than 2 units; a
        bad ``n_rep``, ``on_error`` or ``max_failed_share``.

    Warns
    -----
    BootstrapFailureWarning
        Some replicates failed (within the bound): count, share and the first reason.
        A subclass of :class:`~irmodels.core.errors.DataDroppedWarning`.

    Notes
    -----
    Rao & Wu (1988) rescaled bootstrap with :math:`m_h = n_h - 1`: in each stratum
    draw :math:`n_h - 1` units with replacement; unit :math:`i` drawn
    :math:`r_i` times gets base weight :math:`d_i\\,r_i\\,n_h/(n_h-1)`; then the full
    weighting is recomputed. The bootstrap variance is
    :math:`\\sum_r(\\hat\\theta_r-\\bar\\theta)^2/(R-1)` over the :math:`R` successful
    replicates. Replicates are drawn in order from one generator, so replicate ``r``
    is the same resample whether or not others failed.

    Examples
    --------
    >>> import pandas as pd
    >>> from irmodels.nonresponse.raking import rake
    >>> d = pd.DataFrame({"a": ["x", "x", "y", "y", "y"]})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # resamples without an x (or a y) cannot be raked
    ...     reps = bootstrap_weights(d, lambda dd, b: rake(dd, {"a": {"x": 40, "y": 60}}, b), 20, seed=1,
    ...                              max_failed_share=0.5)
    >>> reps.attrs["n_failed"] + reps.shape[1]
    20
    """
    if on_error not in ("raise", "skip"):
        raise WeightingError(f"on_error={on_error!r}; valid values are 'skip' and 'raise'")
    if not isinstance(n_rep, (int, np.integer)) or isinstance(n_rep, bool) or n_rep < 2:
        raise WeightingError(f"n_rep={n_rep!r}: the bootstrap needs an integer number of replicates >= 2")
    if not (isinstance(max_failed_share, (int, float)) and 0 <= max_failed_share < 1):
        raise WeightingError(f"max_failed_share={max_failed_share!r}: must be a share in [0, 1)")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = len(data)
    d = np.ones(n) if base_weight is None else _check_weights(base_weight, data.index)
    if strata is None:
        groups = [np.arange(n)]
    else:
        codes, uniq = pd.factorize(data[strata])
        groups = [np.flatnonzero(codes == k) for k in range(len(uniq))]
        small = [str(u) for u, g in zip(uniq, groups) if len(g) < 2]
        if small:
            raise WeightingError(f"bootstrap strata {small} of {strata!r} have fewer than 2 units; collapse them explicitly")
    cols, skipped = {}, []
    for r in range(n_rep):
        mult = np.zeros(n)
        for g in groups:
            nh = len(g)
            draws = rng.multinomial(nh - 1, np.full(nh, 1.0 / nh))
            mult[g] = draws * nh / (nh - 1)
        try:
            res = weighting_fn(data, d * mult)
            wr = np.asarray(res.weights if isinstance(res, WeightingResult) else res, dtype=float)
            if wr.shape != (n,) or not np.all(np.isfinite(wr)) or np.any(wr < 0):
                raise WeightingError(f"the weighting returned weights that are not {n} finite values >= 0")
        except _REPLICATE_FAILURES as exc:
            if on_error == "raise":
                raise WeightingError(f"bootstrap replicate {r}: the weighting failed: {exc}") from exc
            skipped.append((r, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
            continue
        cols[f"rep_{r}"] = wr
    n_failed = len(skipped)
    share = n_failed / n_rep
    if share > max_failed_share:
        first = "; ".join(f"replicate {r}: {why}" for r, why in skipped[:3])
        raise BootstrapFailureError(
            f"bootstrap: {n_failed} of {n_rep} replicates ({share:.1%}) failed, more than max_failed_share = "
            f"{max_failed_share:.1%}; leaving them out would bias the bootstrap variance downwards. First failures: "
            f"{first}. Collapse sparse margin categories explicitly, stratify the resampling (strata=), or use the "
            "linearisation variance")
    out = pd.DataFrame(cols, index=data.index)
    out.attrs.update({"n_requested": int(n_rep), "n_failed": n_failed, "failed_share": share,
                      "max_failed_share": float(max_failed_share), "skipped": skipped})
    if n_failed:
        warnings.warn(f"bootstrap: {n_failed} of {n_rep} replicates ({share:.1%}) failed and were left out "
                      f"(max_failed_share = {max_failed_share:.1%}; first: replicate {skipped[0][0]}: {skipped[0][1]}); "
                      "the bootstrap variance uses the other replicates and may be biased downwards",
                      BootstrapFailureWarning, stacklevel=2)
    return out
