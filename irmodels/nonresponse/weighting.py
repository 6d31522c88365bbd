"""Non-response weighting: one interface, a registry of methods, diagnostics.

Every method has the same signature and returns a :class:`WeightingResult`::

    res = weight(data, "rake", margins=frame_margins("radiologists"))
    res.weights        # pandas Series indexed like ``data``
    res.diagnostics    # dict: summary, margins (before/after vs targets), collapsed, ...

Methods (:data:`METHODS`): ``base`` (base weights), ``cell`` (weighting-class
adjustment), ``propensity`` (logistic response-propensity model on frame
variables), ``rake`` (iterative proportional fitting), ``linear`` (linear /
GREG calibration) and ``logit`` (bounded logit calibration, bounds L, U). A new
method is one function decorated with :func:`register_method`.

Sparse categories are never collapsed silently: ``collapse=`` states the rule
(e.g. ``{"country": {"min_n": 5, "into": "region"}}``) and the diagnostics list
every merged category (a :class:`~irmodels.core.errors.DataDroppedWarning` is also
issued).

The calibration structure (which margins, which method) travels with the weights
so that :mod:`irmodels.nonresponse.survey` can compute a linearisation variance that
accounts for calibration exactly as R's ``survey`` package does.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
from scipy import special

from irmodels.core.errors import ConvergenceError, DataDroppedWarning, IrmodelsWarning, WeightingError

__all__ = [
    "COLLAPSE_BEDS_400",
    "PropensityAboveOneWarning",
    "WarningLog",
    "WeightingResult",
    "METHODS",
    "register_method",
    "weight",
    "rake",
    "trim",
    "collapse_categories",
    "weight_summary",
    "kish_deff",
    "effective_n",
    "margin_table",
]

Margins = Mapping[str, Mapping[Any, float]]

# columns of frame cells (irmodels.nonresponse.frame.frame_cells) that are not cell keys
_FRAME_NON_KEYS = ("N", "rule", "region", "n_respondents", "below_respondents")

#: Explicit collapse rule used by the analyses: the two small beds classes
#: (4 and 15 respondents in 2017) are merged into ``"<400"``, which makes raking to
#: region x beds margins feasible in every reconstruction replicate.
COLLAPSE_BEDS_400: dict = {"beds_class": {"merge": {"<200": "<400", "200-399": "<400"}}}


class PropensityAboveOneWarning(IrmodelsWarning):
    """Estimated response propensity > 1 in some frame cells.

    The frame scenario has fewer departments than respondents there (the
    scenario contradicts the data): weights below 1 and an R-indicator that is
    not defined (:func:`irmodels.nonresponse.sensitivity.r_indicator` refuses it).
    """


class WarningLog:
    """Record every warning issued in a block; summarise distinct messages with counts.

    Used by the analysis scripts instead of silencing warnings: the summary goes
    into the product (a ``notes`` column) and to stdout.

    Examples
    --------
    >>> import warnings
    >>> with WarningLog() as log:
    ...     for _ in range(3):
    ...         warnings.warn("x merged", DataDroppedWarning)
    >>> log.text()
    'DataDroppedWarning x3: x merged'
    """

    def __init__(self) -> None:
        self.records: list = []
        self._cm: warnings.catch_warnings | None = None

    def __enter__(self) -> "WarningLog":
        self._cm = warnings.catch_warnings(record=True)
        self.records = self._cm.__enter__()
        warnings.simplefilter("always")  # count every occurrence, not one per code location
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._cm is not None
        self._cm.__exit__(*exc)

    def summary(self) -> pd.DataFrame:
        """``category, message, count``: one row per distinct warning, in order of first occurrence."""
        counts: dict[tuple[str, str], int] = {}
        for w in self.records:
            key = (w.category.__name__, str(w.message))
            counts[key] = counts.get(key, 0) + 1
        return pd.DataFrame([{"category": c, "message": m, "count": n} for (c, m), n in counts.items()],
                            columns=["category", "message", "count"])

    def text(self, sep: str = " | ") -> str:
        """Each distinct warning as ``"<Category> x<count>: <message>"``, joined by ``sep`` ('' if none)."""
        return sep.join(f"{r.category} x{r.count}: {r.message}" for r in self.summary().itertuples())


@dataclass
class WeightingResult:
    """Weights and the record of how they were made.

    Attributes
    ----------
    weights : Series
        Final weights, indexed like the input data (float, finite, >= 0).
    method : str
        Registry name of the method.
    diagnostics : dict
        ``summary`` (dict, :func:`weight_summary`), ``margins`` (DataFrame,
        :func:`margin_table`, or None), ``collapsed`` (list of merged categories),
        ``trimmed`` (dict or None) and method-specific entries (``iterations``,
        ``propensity_model`` ...).
    calibration : dict or None
        What the variance must account for: ``{"kind": "raking" | "greg" |
        "poststrat", ...}``; None for weights treated as fixed.
    data : DataFrame
        The (collapsed) weighting variables the weights were computed on.
    """

    weights: pd.Series
    method: str
    diagnostics: dict = field(default_factory=dict)
    calibration: dict | None = None
    data: pd.DataFrame | None = None

    def __repr__(self) -> str:  # concise: the weights Series can be long
        s = self.diagnostics.get("summary", {})
        return (
            f"WeightingResult(method={self.method!r}, n={s.get('n')}, sum={s.get('sum', float('nan')):.6g}, "
            f"deff={s.get('deff_kish', float('nan')):.3f}, n_eff={s.get('n_eff', float('nan')):.1f})"
        )


#: Registry of weighting methods: name -> function(data, *, margins, frame, base, **options).
METHODS: dict[str, Callable[..., tuple[np.ndarray, dict]]] = {}


def register_method(name: str) -> Callable:
    """Decorator adding a weighting method to :data:`METHODS`.

    The function takes ``(data, *, margins, frame, base, **options)`` where ``base``
    is a float ndarray of base weights, and returns ``(weights ndarray, info dict)``.
    ``info`` may hold ``calibration`` (see :class:`WeightingResult`) and any
    diagnostics entries.
    """

    def deco(fn: Callable) -> Callable:
        METHODS[name] = fn
        return fn

    return deco


# ---------------------------------------------------------------------------
# input checks


def _fail(what: str, problems: list[str]) -> None:
    if problems:
        n = len(problems)
        raise WeightingError(f"{what}: {n} problem{'s' if n != 1 else ''} found\n" + "\n".join(f"  - {p}" for p in problems))


def _check_weights(w: Any, index: pd.Index, name: str = "base_weight", *, allow_zero: bool = True) -> np.ndarray:
    if isinstance(w, pd.Series):
        if not w.index.equals(index):
            raise WeightingError(f"{name}: index does not match the data's index")
        arr = pd.to_numeric(w, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray(w, dtype=float)
        if arr.ndim == 0:
            arr = np.full(len(index), float(arr))
    if arr.shape != (len(index),):
        raise WeightingError(f"{name}: length {arr.shape} does not match the {len(index)} rows of the data")
    problems = []
    for pos in np.flatnonzero(~np.isfinite(arr)):
        problems.append(f"row {index[pos]!r}: {name} is {float(arr[pos])!r}; weights must be finite numbers")
    for pos in np.flatnonzero(np.isfinite(arr) & ((arr < 0) if allow_zero else (arr <= 0))):
        problems.append(f"row {index[pos]!r}: {name} is {float(arr[pos])!r}; weights must be {'>= 0' if allow_zero else '> 0'}")
    _fail(f"invalid {name}", problems)
    if not np.any(arr > 0):
        raise WeightingError(f"{name}: all weights are zero")
    return arr


def _check_columns(data: pd.DataFrame, columns: list[str], what: str) -> None:
    problems = []
    for c in columns:
        if c not in data.columns:
            problems.append(f"column {c!r} not in the data (columns: {list(data.columns)})")
            continue
        na = data[c].isna().to_numpy()
        for pos in np.flatnonzero(na)[:20]:
            problems.append(f"row {data.index[pos]!r}, column {c!r}: missing value; a weighting variable must be known for every respondent (impute or set an explicit category first)")
        if na.sum() > 20:
            problems.append(f"column {c!r}: {int(na.sum())} missing values in all")
    _fail(what, problems)


def _factorize(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes and their labels (as str) of a column, hashing each row once."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.intp)
        labels = [str(c) for c in s.cat.categories]
        used = np.bincount(codes, minlength=len(labels)) > 0
        # unused categories must not be reported as "in the data"
        remap = np.cumsum(used) - 1
        return remap[codes], [l for l, u in zip(labels, used) if u]
    codes, uniques = pd.factorize(s)
    return codes.astype(np.intp), [str(u) for u in uniques]


def _check_margins(data: pd.DataFrame, margins: Margins, base: np.ndarray | None = None) -> dict[str, tuple[np.ndarray, np.ndarray, list]]:
    """Validate margins; return column -> (codes, targets, categories)."""
    if not margins:
        raise WeightingError("margins: at least one margin {column: {category: population total}} is needed")
    _check_columns(data, list(margins), "margins")
    problems = []
    out = {}
    sums = {}
    for col, m in margins.items():
        cats = list(m.keys())
        tot = np.array([float(m[k]) if m[k] is not None else np.nan for k in cats], dtype=float)
        for k, t in zip(cats, tot):
            if not np.isfinite(t):
                problems.append(f"margin {col!r}, category {k!r}: total is {t!r}; totals must be finite")
            elif t <= 0:
                problems.append(f"margin {col!r}, category {k!r}: total is {t:g}; totals must be > 0 (drop or merge the category with an explicit collapse rule)")
        sums[col] = float(np.nansum(tot))
        key = {str(k): i for i, k in enumerate(cats)}
        codes, uniques = _factorize(data[col])
        pos = np.array([key.get(u, -1) for u in uniques], dtype=np.intp)
        codes = pos[codes]
        for u, p in zip(uniques, pos):
            if p < 0:
                problems.append(f"margin {col!r}: category {u!r} is in the data but not in the margin (valid: {[str(k) for k in cats]})")
        ok = codes >= 0
        present = np.bincount(codes[ok], weights=None if base is None else base[ok], minlength=len(cats))
        for k, c in zip(cats, present):
            if c <= 0:
                problems.append(f"margin {col!r}: category {k!r} (population total {float(m[k]):g}) is absent from the sample" + (" (or has zero base weight)" if base is not None else "") + "; merge it with an explicit collapse rule or drop it from the margin")
        out[col] = (codes, tot, cats)
    vals = list(sums.values())
    if len(vals) > 1 and not np.allclose(vals, vals[0], rtol=1e-6):
        problems.append(f"margins sum to different population totals {sums}; they must describe the same population")
    _fail("margins", problems)
    return out


# ---------------------------------------------------------------------------
# collapsing sparse categories (explicit, reported)


def collapse_categories(
    data: pd.DataFrame,
    rules: Mapping[str, Mapping[str, Any]],
    *,
    margins: Margins | None = None,
    frame: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict | None, pd.DataFrame | None, list[dict]]:
    """Merge sparse categories by explicit rules; report every merge.

    Parameters
    ----------
    data : DataFrame
    rules : dict
        ``{column: rule}``, a rule being either
        ``{"min_n": 5, "into": "region"}`` (categories with fewer than ``min_n``
        respondents are pooled within their region, :data:`irmodels.nonresponse.frame.REGIONS`,
        as ``"<region> (pooled)"``; only for ``country``), or
        ``{"merge": {old: new, ...}}`` (explicit renaming).
    margins, frame : optional
        Merged in the same way (totals summed).

    Returns
    -------
    data, margins, frame, report
        ``report`` lists dicts ``{column, into, merged, n}``.
    """
    from irmodels.nonresponse.frame import region_of

    data = data.copy()
    margins = {k: dict(v) for k, v in margins.items()} if margins is not None else None
    frame = frame.copy() if frame is not None else None
    report: list[dict] = []
    for col, rule in rules.items():
        if col not in data.columns:
            raise WeightingError(f"collapse: column {col!r} not in the data")
        values = data[col].astype(str)
        if "merge" in rule:
            mapping = {str(k): str(v) for k, v in rule["merge"].items()}
        elif "min_n" in rule:
            if rule.get("into") != "region" or col != "country":
                raise WeightingError(f"collapse rule for {col!r}: 'min_n' pools countries into regions: use {{'min_n': k, 'into': 'region'}} on 'country', or {{'merge': {{old: new}}}}")
            counts = values.value_counts()
            universe = set(values) | (set(map(str, margins[col])) if margins and col in margins else set())
            if frame is not None and col in frame.columns:
                universe |= set(frame[col].astype(str))
            mapping = {}
            for c in sorted(universe):
                if counts.get(c, 0) < int(rule["min_n"]):
                    mapping[c] = f"{region_of(c)} (pooled)"
        else:
            raise WeightingError(f"collapse rule for {col!r} must have 'merge' or 'min_n'+'into'; got {dict(rule)}")
        new_values = values.map(lambda v: mapping.get(v, v))
        groups: dict[str, list[str]] = {}
        for old, new in mapping.items():
            groups.setdefault(new, []).append(old)
        for new, olds in sorted(groups.items()):
            report.append({"column": col, "into": new, "merged": sorted(olds), "n": int((new_values == new).sum()), "rule": dict(rule)})
        data[col] = new_values.astype("string")
        if margins is not None and col in margins:
            m2: dict[str, float] = {}
            for k, t in margins[col].items():
                nk = mapping.get(str(k), str(k))
                m2[nk] = m2.get(nk, 0.0) + float(t)
            margins[col] = m2
        if frame is not None and col in frame.columns:
            frame[col] = frame[col].astype(str).map(lambda v: mapping.get(v, v)).astype("string")
            keys = [c for c in frame.columns if c not in _FRAME_NON_KEYS]
            frame = frame.groupby(keys, observed=True, sort=False, as_index=False)["N"].sum()
    if report:
        merged = "; ".join(f"{r['column']}: {r['merged']} -> {r['into']} (n={r['n']})" for r in report)
        warnings.warn(f"categories merged by an explicit collapse rule: {merged}", DataDroppedWarning, stacklevel=3)
    return data, margins, frame, report


# ---------------------------------------------------------------------------
# raking (public helper, vectorised)


def _cells(codes: list[np.ndarray], sizes: list[int]) -> tuple[list[np.ndarray], np.ndarray]:
    """Aggregate rows to the cells of the margins' cross-classification (once).

    Returns the margin codes of each non-empty cell and the cell of each row. Raking multiplies
    every row of a cell by the same factors, so it can iterate on the cell table and map back.
    """
    n_cells = int(np.prod([max(k, 1) for k in sizes], dtype=float))
    cell = np.zeros(len(codes[0]) if codes else 0, dtype=np.int64)
    if n_cells < 2**62:
        for c, k in zip(codes, sizes):
            cell = cell * k + c
        if n_cells <= max(4 * len(cell), 1 << 20):  # dense ids: bincount, no sort
            present = np.bincount(cell, minlength=n_cells) > 0
            uniq = np.flatnonzero(present)
            inv = (np.cumsum(present) - 1)[cell]
        else:
            uniq, inv = np.unique(cell, return_inverse=True)
        cell_codes, rest = [], uniq.copy()
        for k in reversed(sizes):
            cell_codes.append(rest % k)
            rest //= k
        return cell_codes[::-1], inv
    stacked = np.stack(codes, axis=1)
    uniq_rows, inv = np.unique(stacked, axis=0, return_inverse=True)
    return [uniq_rows[:, j] for j in range(len(codes))], inv.ravel()


def _rake_arrays(codes: list[np.ndarray], targets: list[np.ndarray], w0: np.ndarray, max_iter: int, tol: float) -> tuple[np.ndarray, int]:
    sizes = [len(t) for t in targets]
    cell_codes, inv = _cells(codes, sizes)
    base = np.bincount(inv, weights=w0, minlength=len(cell_codes[0]) if cell_codes else 0)
    w, it = _rake_cells(cell_codes, targets, base, max_iter, tol)
    factor = np.divide(w, base, out=np.ones_like(w), where=base > 0)
    return w0 * factor[inv], it


def _rake_cells(codes: list[np.ndarray], targets: list[np.ndarray], w0: np.ndarray, max_iter: int, tol: float) -> tuple[np.ndarray, int]:
    w = w0.astype(float, copy=True)
    sizes = [len(t) for t in targets]
    for it in range(1, max_iter + 1):
        worst = 0.0
        for c, t, k in zip(codes, targets, sizes):
            tot = np.bincount(c, weights=w, minlength=k)
            f = t / tot
            # factors of the previous sweep's last margin are 1 by construction; the
            # largest |factor - 1| over a whole sweep is the convergence criterion
            worst = max(worst, float(np.max(np.abs(f - 1.0))))
            w *= f[c]
        if worst < tol:
            return w, it
    raise ConvergenceError(
        f"raking did not converge in {max_iter} iterations (largest margin adjustment factor in the last sweep differs from 1 by {worst:.3g} > tol={tol:g}); "
        "the margins may be incompatible with the sample's joint distribution (e.g. empty cells): increase max_iter, collapse categories explicitly or check the margins"
    )


def rake(
    data: pd.DataFrame,
    margins: Margins,
    weight: pd.Series | np.ndarray | None = None,
    *,
    max_iter: int = 1000,
    tol: float = 1e-10,
) -> pd.Series:
    """Rake weights to population margins (iterative proportional fitting).

    Parameters
    ----------
    data : DataFrame
        One row per respondent with the margin columns.
    margins : dict
        ``{column: {category: population total}}``. Every margin must sum to the
        same population total.
    weight : Series or array, optional
        Starting (base/design) weights, finite and >= 0; default 1.
    max_iter : int
        Maximum number of sweeps over all margins.
    tol : float
        Convergence: every margin adjustment factor of a sweep within ``1 +- tol``.

    Returns
    -------
    Series
        Raked weights, indexed like ``data``, named ``"weight"``.

    Raises
    ------
    WeightingError
        A margin column missing or with missing values; a margin category absent
        from the sample (named); a data category not in the margin; a total that is
        zero, negative or NaN; margins with different sums; NaN or negative weights.
    ConvergenceError
        No convergence in ``max_iter`` sweeps.

    Notes
    -----
    Each sweep multiplies the weights of category :math:`k` of margin :math:`m` by
    :math:`T_{mk} / \\sum_{i \\in k} w_i`. The fixed point is the raking
    (multiplicative calibration) solution :math:`w_i = d_i \\exp(x_i'\\lambda)`,
    identical to R ``survey::rake`` run to convergence. Categories are factorised
    once and the rows aggregated once to the cells of the margins' cross-classification
    (every row of a cell gets the same factors); the sweeps run on the cell table (one
    ``np.bincount`` per margin) and the result is mapped back to the rows.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"a": ["x", "x", "y"], "b": ["u", "v", "v"]})
    >>> rake(d, {"a": {"x": 6, "y": 4}, "b": {"u": 5, "v": 5}}).round(3).tolist()
    [5.0, 1.0, 4.0]
    """
    base = np.ones(len(data)) if weight is None else _check_weights(weight, data.index, "weight")
    checked = _check_margins(data, margins, base)
    codes = [v[0] for v in checked.values()]
    targets = [v[1] for v in checked.values()]
    w, _ = _rake_arrays(codes, targets, base, max_iter, tol)
    return pd.Series(w, index=data.index, name="weight")


# ---------------------------------------------------------------------------
# methods


def _default_total(margins: Margins | None, frame: pd.DataFrame | None) -> float | None:
    if margins:
        return float(sum(float(v) for v in next(iter(margins.values())).values()))
    if frame is not None:
        return float(frame["N"].sum())
    return None


@register_method("base")
def _base(data, *, margins=None, frame=None, base, total: float | None = None, **_):
    """Base weights: given ones, else the frame total spread equally (N / n)."""
    if total is None:
        total = _default_total(margins, frame)
    if total is None:
        return base.copy(), {"note": "base weights as given (no frame total)"}
    return base * total / base.sum(), {"note": f"base weights scaled to the frame total {total:g}"}


def _frame_keys(frame: pd.DataFrame, data: pd.DataFrame, cells: list[str] | None) -> list[str]:
    if "N" not in frame.columns:
        raise WeightingError(f"frame: needs a column 'N' (population count per cell); has {list(frame.columns)}")
    keys = cells if cells is not None else [c for c in frame.columns if c not in _FRAME_NON_KEYS and c in data.columns]
    if not keys:
        raise WeightingError("frame: no frame variable is also a data column; pass cells=[...]")
    for k in keys:
        if k not in frame.columns:
            raise WeightingError(f"frame has no column {k!r}; it has {list(frame.columns)}")
    return list(keys)


@register_method("cell")
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


@register_method("propensity")
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


@register_method("rake")
def _rake_method(data, *, margins=None, frame=None, base, max_iter: int = 1000, tol: float = 1e-10, **_):
    if margins is None:
        raise WeightingError("method 'rake' needs margins= {column: {category: total}} (e.g. irmodels.nonresponse.frame.frame_margins(scenario))")
    checked = _check_margins(data, margins, base)
    codes = [v[0] for v in checked.values()]
    targets = [v[1] for v in checked.values()]
    w, it = _rake_arrays(codes, targets, base, max_iter, tol)
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


@register_method("linear")
def _linear(data, *, margins=None, frame=None, base, **_):
    """Linear (GREG) calibration: w = d (1 + x'lambda); weights can be negative (reported)."""
    if margins is None:
        raise WeightingError("method 'linear' needs margins=")
    return _calibrate(data, margins, base, "linear", None, 1, 0.0)


@register_method("logit")
def _logit(data, *, margins=None, frame=None, base, bounds: tuple[float, float] = (0.3, 3.0), max_iter: int = 100, tol: float = 1e-10, **_):
    """Bounded (logit) calibration: g = w/d stays in (L, U) (Deville & Saerndal 1992)."""
    if margins is None:
        raise WeightingError("method 'logit' needs margins=")
    return _calibrate(data, margins, base, "logit", tuple(bounds), max_iter, tol)


# ---------------------------------------------------------------------------
# trimming


def trim(
    weights: pd.Series,
    upper: float | None = None,
    lower: float | None = None,
    *,
    relative: bool = True,
    max_iter: int = 100,
) -> pd.Series:
    """Trim weights to ``[lower, upper]`` and redistribute the excess, keeping the total.

    Parameters
    ----------
    weights : Series
    upper, lower : float, optional
        Bounds; multiples of the mean weight if ``relative`` (e.g. ``upper=3.5``),
        else absolute.
    relative : bool
    max_iter : int

    Returns
    -------
    Series
        Trimmed weights with the same sum; ``attrs["n_trimmed"]`` counts the units
        at a bound.

    Notes
    -----
    Units outside the bounds are set to the bound and the difference is spread over
    the other units in proportion to their weights; repeated until no unit is
    outside (the bounds are fixed at their initial values). Trimming after
    calibration breaks the calibration: the diagnostics then show the margins
    after trimming.
    """
    w0 = _check_weights(weights, weights.index, "weights")
    total = w0.sum()
    mean = total / len(w0)
    up = (upper * mean if relative else upper) if upper is not None else np.inf
    lo = (lower * mean if relative else lower) if lower is not None else 0.0
    if lo * len(w0) > total or up * len(w0) < total:
        raise WeightingError(f"trim: bounds [{lo:g}, {up:g}] cannot keep the total {total:g} over {len(w0)} units")
    w = w0.copy()
    fixed = np.zeros(len(w), dtype=bool)
    for _ in range(max_iter):
        hi_, lo_ = w > up * (1 + 1e-12), w < lo * (1 - 1e-12)
        if not (hi_.any() or lo_.any()):
            break
        w[hi_], w[lo_] = up, lo
        fixed |= hi_ | lo_
        free = ~fixed
        excess = total - w.sum()
        if free.sum() == 0 or w[free].sum() <= 0:
            raise WeightingError("trim: no untrimmed unit left to receive the excess; loosen the bounds")
        w[free] *= 1 + excess / w[free].sum()
    else:
        raise ConvergenceError(f"trim did not converge in {max_iter} iterations")
    out = pd.Series(w, index=weights.index, name=weights.name)
    out.attrs["n_trimmed"] = int(fixed.sum())
    out.attrs["bounds"] = (float(lo), float(up))
    return out


_trim_weights = trim  # `weight(..., trim=...)` shadows the function name


# ---------------------------------------------------------------------------
# diagnostics


def kish_deff(weights: np.ndarray | pd.Series) -> float:
    """Kish design effect due to unequal weights, :math:`n \\sum w^2 / (\\sum w)^2`."""
    w = np.asarray(weights, dtype=float)
    return float(len(w) * np.sum(w**2) / np.sum(w) ** 2)


def effective_n(weights: np.ndarray | pd.Series) -> float:
    """Kish effective sample size :math:`(\\sum w)^2 / \\sum w^2`."""
    w = np.asarray(weights, dtype=float)
    return float(np.sum(w) ** 2 / np.sum(w**2))


def weight_summary(weights: np.ndarray | pd.Series) -> dict:
    """n, sum, mean, quartiles, min, max, max/min ratio, CV, Kish deff and effective n."""
    w = np.asarray(weights, dtype=float)
    q = np.quantile(w, [0.0, 0.25, 0.5, 0.75, 1.0])
    return {
        "n": int(len(w)),
        "sum": float(w.sum()),
        "mean": float(w.mean()),
        "min": float(q[0]),
        "q25": float(q[1]),
        "median": float(q[2]),
        "q75": float(q[3]),
        "max": float(q[4]),
        "ratio_max_min": float(q[4] / q[0]) if q[0] > 0 else float("inf"),
        "cv": float(w.std() / w.mean()),
        "deff_kish": kish_deff(w),
        "n_eff": effective_n(w),
    }


def margin_table(data: pd.DataFrame, margins: Margins, weights: np.ndarray | pd.Series, base: np.ndarray | pd.Series | None = None) -> pd.DataFrame:
    """Margins before (base weights) and after weighting versus the targets.

    Returns
    -------
    DataFrame
        ``variable, category, n, target, base_total, weighted_total, target_share,
        sample_share`` (unweighted), ``base_share, weighted_share, std_diff_before,
        std_diff_after, target_below_n`` (the frame has fewer units than
        respondents: the frame scenario contradicts the data) where a standardised difference is
        :math:`(p - p_T)/\\sqrt{p_T(1-p_T)}` for the share :math:`p` and target share
        :math:`p_T`.
    """
    w = np.asarray(weights, dtype=float)
    d = np.ones(len(w)) if base is None else np.asarray(base, dtype=float)
    rows = []
    for col, m in margins.items():
        vals = data[col].astype(str).to_numpy()
        T = sum(float(v) for v in m.values())
        for k, t in m.items():
            sel = vals == str(k)
            pt = float(t) / T
            ps, pb, pw = sel.mean(), d[sel].sum() / d.sum(), w[sel].sum() / w.sum()
            sd = np.sqrt(pt * (1 - pt)) if 0 < pt < 1 else np.nan
            rows.append(
                {
                    "variable": col,
                    "category": str(k),
                    "n": int(sel.sum()),
                    "target": float(t),
                    "base_total": float(d[sel].sum()),
                    "weighted_total": float(w[sel].sum()),
                    "target_share": pt,
                    "sample_share": float(ps),
                    "base_share": float(pb),
                    "weighted_share": float(pw),
                    "std_diff_before": float((pb - pt) / sd),
                    "std_diff_after": float((pw - pt) / sd),
                    # a frame with fewer units than respondents in a category contradicts the data
                    "target_below_n": bool(float(t) < sel.sum()),
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# the one interface


def weight(
    data: pd.DataFrame,
    method: str,
    *,
    margins: Margins | None = None,
    frame: pd.DataFrame | None = None,
    base_weight: pd.Series | np.ndarray | str | None = None,
    collapse: Mapping[str, Mapping[str, Any]] | None = None,
    trim: Mapping[str, Any] | None = None,
    **options: Any,
) -> WeightingResult:
    """Compute weights with any registered method.

    Parameters
    ----------
    data : DataFrame
        Respondents (canonical schema), one row each.
    method : str
        A key of :data:`METHODS`: ``base``, ``cell``, ``propensity``, ``rake``,
        ``linear``, ``logit``.
    margins : dict, optional
        ``{column: {category: population total}}`` (rake, linear, logit; also used
        for the before/after margin diagnostics). For rake, linear and logit without
        ``margins``, the one-way margins of ``frame`` over the frame variables present
        in the data (or ``cells=[...]``) are used.
    frame : DataFrame, optional
        Population cells with ``N`` (``cell``, ``propensity``), e.g.
        :func:`irmodels.nonresponse.frame.frame_cells`.
    base_weight : Series, array, column name or None
        Base (design) weights, finite and >= 0; default 1 for every respondent.
    collapse : dict, optional
        Explicit rules for merging sparse categories (:func:`collapse_categories`);
        applied to data, margins and frame; reported in ``diagnostics["collapsed"]``.
    trim : dict, optional
        ``{"upper": ..., "lower": ..., "relative": True}`` passed to :func:`trim`
        after the method.
    **options
        Method options: ``max_iter``, ``tol`` (rake, logit), ``bounds`` (logit),
        ``cells`` (cell), ``covariates``, ``normalize`` (propensity), ``total`` (base).

    Returns
    -------
    WeightingResult

    Raises
    ------
    WeightingError
        Unknown method, invalid weights, margins or frame (see :func:`rake`).
    ConvergenceError
        An iterative method did not converge.
    """
    if method not in METHODS:
        raise WeightingError(f"unknown weighting method {method!r}; registered: {sorted(METHODS)}")
    if not isinstance(data, pd.DataFrame):
        raise WeightingError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if not data.index.is_unique:
        raise WeightingError("data index has duplicate labels; weights are indexed like the data")
    if isinstance(base_weight, str):
        if base_weight not in data.columns:
            raise WeightingError(f"base_weight column {base_weight!r} not in the data")
        base_weight = data[base_weight]
    base = np.ones(len(data)) if base_weight is None else _check_weights(base_weight, data.index)
    if margins is None and frame is not None and method in ("rake", "linear", "logit"):
        # calibration to a frame: its one-way margins over the frame variables the data have
        keys = _frame_keys(frame, data, options.pop("cells", None))
        margins = {k: {str(c): float(v) for c, v in frame.groupby(frame[k].astype(str), observed=True)["N"].sum().items()} for k in keys}
    report: list[dict] = []
    work = data
    if collapse:
        work, margins, frame, report = collapse_categories(data, collapse, margins=margins, frame=frame)
    w, info = METHODS[method](work, margins=margins, frame=frame, base=base, **options)
    w = np.asarray(w, dtype=float)
    calibration = info.pop("calibration", None)
    weights = pd.Series(w, index=data.index, name="weight")
    trimmed = None
    if trim:
        weights = _trim_weights(weights, **dict(trim))
        trimmed = {"n_trimmed": weights.attrs["n_trimmed"], "bounds": weights.attrs["bounds"], **dict(trim)}
        calibration = None  # trimmed weights are no longer calibrated
    if not np.all(np.isfinite(weights.to_numpy())):
        raise WeightingError(f"method {method!r} produced non-finite weights")
    diag_margins = margins
    if diag_margins is None and frame is not None:
        keys = [c for c in frame.columns if c not in _FRAME_NON_KEYS and c in work.columns]
        diag_margins = {k: frame.groupby(frame[k].astype(str), observed=True)["N"].sum().to_dict() for k in keys}
    mt = margin_table(work, diag_margins, weights, base) if diag_margins else None
    diagnostics = {
        "summary": weight_summary(weights),
        "margins": mt,
        "collapsed": report,
        "frame_below_sample": [] if mt is None else [
            f"{r.variable}={r.category}: frame {r.target:.1f} < {r.n} respondents" for r in mt.itertuples() if r.target_below_n
        ],
        "trimmed": trimmed,
        **info,
    }
    cols = list(margins) if margins else [c for c in (info.get("cells") or info.get("covariates") or [])]
    return WeightingResult(weights=weights, method=method, diagnostics=diagnostics, calibration=calibration, data=work[cols].copy() if cols else None)
