"""The built-in weighting methods behind :func:`irmodels.nonresponse.weighting.weight`.

Each method has the registry signature ``(data, *, margins, frame, base, **options)``
and returns ``(weights ndarray, info dict)``: ``base`` (base weights), ``cell``
(weighting-class adjustment), ``propensity`` (logistic response-propensity model on frame
variables), ``rake`` (iterative proportional fitting on the cell table,
:mod:`irmodels.nonresponse.raking`), ``linear`` (linear / GREG calibration) and ``logit``
(bounded logit calibration). :data:`BUILTIN_METHODS` lists them in registry order;
:mod:`irmodels.nonresponse.weighting` registers them.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import pandas as pd
from scipy import special

from irmodels.core.errors import ConvergenceError, IrmodelsWarning, WeightingError
from irmodels.nonresponse.raking import _check_margins, cell_table
from irmodels.nonresponse.weighting_checks import Margins, _check_columns, _fail, _frame_keys

__all__ = ["PropensityAboveOneWarning", "BUILTIN_METHODS"]


class PropensityAboveOneWarning(IrmodelsWarning):
    """Estimated response propensity > 1 in some frame cells.

    The frame scenario has fewer departments than respondents there (the
    scenario contradicts the data): weights below 1 and an R-indicator that is
    not defined (:func:`irmodels.nonresponse.representativeness.r_indicator` refuses it).
    """


def _default_total(margins: Margins | None, frame: pd.DataFrame | None) -> float | None:
    """The population total: the sum of the first margin, else the frame's N, else None."""
    if margins:
        return float(sum(float(v) for v in next(iter(margins.values())).values()))
    if frame is not None:
        return float(frame["N"].sum())
    return None


def _base(data, *, margins=None, frame=None, base, total: float | None = None, **_):
    """Base weights: given ones, else the frame total spread equally (N / n)."""
    if total is None:
        total = _default_total(margins, frame)
    if total is None:
        return base.copy(), {"note": "base weights as given (no frame total)"}
    return base * total / base.sum(), {"note": f"base weights scaled to the frame total {total:g}"}


def _cell(data, *, margins=None, frame=None, base, cells: list[str] | None = None, **_):
    """Weighting-class adjustment: within each cell, weights sum to the frame count."""
    if frame is None:
        if margins is None or len(margins) != 1:
            raise WeightingError("method 'cell': pass frame= (cells with N) or exactly one margin")
        col, m = next(iter(margins.items()))
        frame = pd.DataFrame({col: [str(k) for k in m], "N": [float(v) for v in m.values()]})
    keys = _frame_keys(frame, data, cells)
    _check_columns(data, keys, "method 'cell'")
    f = frame.groupby([frame[k].astype(str) for k in keys], observed=True)["N"].sum()
    lab = pd.MultiIndex.from_arrays([data[k].astype(str) for k in keys]) if len(keys) > 1 else pd.Index(data[keys[0]].astype(str))
    problems = []
    f_index = f.index if len(keys) > 1 else pd.Index(f.index.astype(str))
    for cell in sorted(set(lab) - set(f_index), key=str):
        problems.append(f"cell {dict(zip(keys, cell if isinstance(cell, tuple) else (cell,)))} is in the data but not in the frame")
    bsum = pd.Series(base, index=lab).groupby(level=list(range(len(keys)))).sum()
    for cell, N in f.items():
        if N <= 0:
            problems.append(f"frame cell {dict(zip(keys, cell if isinstance(cell, tuple) else (cell,)))}: N = {N:g}; must be > 0")
        elif bsum.get(cell, 0.0) <= 0:
            problems.append(f"frame cell {dict(zip(keys, cell if isinstance(cell, tuple) else (cell,)))} (N = {N:g}) is absent from the sample; collapse cells explicitly (collapse=...) or use a coarser cells= list")
    _fail("method 'cell'", problems)
    adj = (f.reindex(bsum.index) / bsum).reindex(lab).to_numpy(dtype=float)
    codes, _ = pd.factorize(lab)
    return base * adj, {"cells": keys, "calibration": {"kind": "poststrat", "columns": keys, "codes": codes.astype(np.intp), "base": base.copy()}}


def _propensity(data, *, margins=None, frame=None, base, covariates: list[str] | None = None, normalize: bool = True, **_):
    """Response propensity: logistic model of respondents against the frame population.

    Respondents (y = 1, weight = base) are stacked with the frame cells (y = 0,
    frequency weight N); with main effects of ``covariates`` the model's odds
    are the response propensity :math:`\\rho(x) = n(x)/N(x)`, and the weight is
    :math:`d_i / \\hat\\rho(x_i)`.
    """
    import statsmodels.api as sm
    import patsy

    if frame is None:
        raise WeightingError("method 'propensity' needs frame= (population cells with N), e.g. irmodels.nonresponse.frame.frame_cells(scenario)")
    keys = _frame_keys(frame, data, covariates)
    _check_columns(data, keys, "method 'propensity'")
    fr = frame.groupby([frame[k].astype(str) for k in keys], observed=True)["N"].sum().reset_index()
    fr = fr[fr["N"] > 0]
    resp = pd.DataFrame({k: data[k].astype(str).to_numpy() for k in keys})
    unknown = []
    for k in keys:
        for v in sorted(set(resp[k]) - set(fr[k])):
            unknown.append(f"column {k!r}: category {v!r} is in the data but has no population in the frame")
    _fail("method 'propensity'", unknown)
    # weights normalised so the respondents' pseudo-count is n (the odds then estimate n(x)/N(x))
    stacked = pd.concat([resp.assign(_y=1.0, _w=base / base.mean()), fr[keys].assign(_y=0.0, _w=fr["N"].to_numpy(dtype=float))], ignore_index=True)
    cats = {k: sorted(set(stacked[k])) for k in keys}
    rhs = " + ".join(f"C({k}, levels={cats[k]!r})" for k in keys)
    y, X = patsy.dmatrices(f"_y ~ {rhs}", stacked, return_type="dataframe", NA_action="raise")
    model = sm.GLM(y, X, family=sm.families.Binomial(), freq_weights=stacked["_w"].to_numpy(), missing="raise")
    fit = model.fit()
    eta = X.to_numpy() @ fit.params.to_numpy()
    n_resp = len(resp)
    rho_resp = np.exp(eta[:n_resp])
    rho_frame = np.exp(eta[n_resp:])
    w = base / rho_resp
    note = "weights d / rho"
    if normalize:
        total = float(fr["N"].sum())
        w = w * total / w.sum()
        note += f", normalised to the frame total {total:g}"
    frame_prop = fr.assign(propensity=rho_frame)
    info = {
        "covariates": keys,
        "propensity": rho_resp,
        "frame_propensity": frame_prop,
        "propensity_model": {"params": fit.params, "cov": fit.cov_params(), "design_frame": X.iloc[n_resp:].reset_index(drop=True), "converged": bool(fit.converged)},
        "note": note,
    }
    if not fit.converged:
        raise ConvergenceError("propensity model (logistic GLM) did not converge; use fewer covariates or collapse sparse categories explicitly")
    if np.any(rho_frame > 1):
        bad = frame_prop[rho_frame > 1]
        cells = "; ".join(f"{dict(zip(keys, map(str, r[:len(keys)])))} rho={r[-1]:.2f}" for r in bad[keys + ["propensity"]].itertuples(index=False))
        info["warning"] = f"{len(bad)} frame cells have estimated response propensity > 1: the frame scenario has fewer departments than respondents there ({cells})"
        warnings.warn(info["warning"], PropensityAboveOneWarning, stacklevel=3)
    return w, info


def _calibration_matrix(checked: dict) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Indicator design matrix: all categories of the first margin, drop-first for the others."""
    cols, tots, names = [], [], []
    for j, (col, (codes, targets, cats)) in enumerate(checked.items()):
        start = 0 if j == 0 else 1
        for k in range(start, len(cats)):
            cols.append((codes == k).astype(float))
            tots.append(targets[k])
            names.append(f"{col}={cats[k]}")
    return np.column_stack(cols), np.asarray(tots), names


def _rake_method(data, *, margins=None, frame=None, base, max_iter: int = 1000, tol: float = 1e-10, **_):
    """Raking on the cell table; the calibration record keeps each row's margin categories."""
    if margins is None:
        raise WeightingError("method 'rake' needs margins= {column: {category: total}} (e.g. irmodels.nonresponse.frame.frame_margins(scenario))")
    table = cell_table(data, margins, base)
    codes = table.row_codes()
    w, it = table.rake(base, max_iter, tol)
    return w, {"iterations": it, "calibration": {"kind": "raking", "columns": list(margins), "codes": codes}}


def _logit_g(u: np.ndarray, L: float, U: float) -> tuple[np.ndarray, np.ndarray]:
    """Deville-Saerndal logit calibration function g(u) in (L, U), g(0)=1, and g'(u)."""
    A = (U - L) / ((1 - L) * (U - 1))
    # g = L + (U - L) s with s a logistic function: algebraically the Deville-Saerndal
    # form (L(U-1) + U(1-L)e^{Au}) / ((U-1) + (1-L)e^{Au}), without overflow
    s = special.expit(A * u + np.log((1 - L) / (U - 1)))
    g = L + (U - L) * s
    dg = (U - L) * A * s * (1 - s)
    return g, dg


def _calibrate(data, margins, base, calfun: str, bounds: tuple[float, float] | None, max_iter: int, tol: float):
    """Linear (one solve) or bounded logit (Newton) calibration to the margins' indicator totals."""
    checked = _check_margins(data, margins, base)
    X, T, names = _calibration_matrix(checked)
    lam = np.zeros(X.shape[1])
    if calfun == "linear":
        M = X.T @ (base[:, None] * X)
        lam = np.linalg.solve(M, T - X.T @ base)
        g = 1 + X @ lam
        it = 1
    else:
        L, U = bounds
        if not (0 <= L < 1 < U):
            raise WeightingError(f"method 'logit': bounds must satisfy 0 <= L < 1 < U; got {bounds}")
        for it in range(1, max_iter + 1):
            g, dg = _logit_g(X @ lam, L, U)
            resid = T - X.T @ (base * g)
            if np.max(np.abs(resid) / T) < tol:
                break
            J = X.T @ ((base * dg)[:, None] * X)
            try:
                step = np.linalg.solve(J, resid)
            except np.linalg.LinAlgError:
                step = np.full_like(lam, np.nan)
            if not np.all(np.isfinite(step)):
                # every g at a bound: the margins cannot be met inside (L, U)
                raise ConvergenceError(
                    f"logit calibration failed at iteration {it} with bounds {bounds}: the margins are unreachable within the bounds; widen them"
                )
            lam = lam + step
        else:
            raise ConvergenceError(
                f"logit calibration did not converge in {max_iter} iterations with bounds {bounds}: the margins may be unreachable within the bounds; widen them"
            )
        g, _ = _logit_g(X @ lam, L, U)
    w = base * g
    return w, {
        "iterations": it,
        "g_range": (float(g.min()), float(g.max())),
        "n_negative": int((w < 0).sum()),
        "calibration": {"kind": "greg", "X": X, "base": base.copy(), "names": names},
    }


def _linear(data, *, margins=None, frame=None, base, **_):
    """Linear (GREG) calibration: w = d (1 + x'lambda); weights can be negative (reported)."""
    if margins is None:
        raise WeightingError("method 'linear' needs margins=")
    return _calibrate(data, margins, base, "linear", None, 1, 0.0)


def _logit(data, *, margins=None, frame=None, base, bounds: tuple[float, float] = (0.3, 3.0), max_iter: int = 100, tol: float = 1e-10, **_):
    """Bounded (logit) calibration: g = w/d stays in (L, U) (Deville & Saerndal 1992)."""
    if margins is None:
        raise WeightingError("method 'logit' needs margins=")
    return _calibrate(data, margins, base, "logit", tuple(bounds), max_iter, tol)


#: The built-in methods, in registry order: name -> function(data, *, margins, frame, base, **options).
BUILTIN_METHODS: dict[str, Callable[..., tuple[np.ndarray, dict]]] = {
    "base": _base,
    "cell": _cell,
    "propensity": _propensity,
    "rake": _rake_method,
    "linear": _linear,
    "logit": _logit,
}
