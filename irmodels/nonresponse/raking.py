"""Raking (iterative proportional fitting) on the cell table, and the margin checks.

Raking multiplies every row of a cell of the margins' cross-classification by the same
factors, so the rows are aggregated once to that cell table, the sweeps run on the
table and the result is mapped back to the rows. The per-row work is: the integer
codes of each margin column (free for categorical and boolean columns, one hashing
pass otherwise), one combined cell key, one weighted ``np.bincount`` and one ``take``
back. The margins are checked on the cell table (categories in the data but not in a
margin, margin categories absent from the sample), not row by row.

Owns :func:`rake` (the public helper), :func:`cell_table` (the margin checks and the
aggregation, used by the ``rake``, ``linear`` and ``logit`` methods of
:mod:`irmodels.nonresponse.weighting`) and ``_check_margins`` (each row's margin
categories, for the calibration methods).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from irmodels.core.errors import ConvergenceError, WeightingError
from irmodels.nonresponse.weighting_checks import Margins, _check_weights, _fail, _missing_problems

__all__ = ["rake", "cell_table", "CellTable"]

_CHUNK = 1 << 16  # rows per block when the weights are written back over the cell keys


@dataclass
class _Column:
    """Integer codes of one margin column: ``codes[i]`` indexes ``labels`` (-1: missing)."""

    codes: np.ndarray
    labels: list[str]
    by_first_row: bool = False  # labels not numbered in order of first appearance: report them in that order


def _column_codes(s: pd.Series) -> _Column:
    """Codes and labels (as str) of a column: categorical and bool columns without hashing."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return _Column(s.cat.codes.to_numpy(), [str(c) for c in s.cat.categories])
    if s.dtype == np.bool_:
        return _Column(s.to_numpy().view(np.int8), ["False", "True"], by_first_row=True)
    codes, uniques = pd.factorize(s)  # labels in order of first appearance
    return _Column(codes, [str(u) for u in uniques])


def _combine(codes: list[np.ndarray], dims: list[int]) -> np.ndarray:
    """One integer key per row, ``sum_j codes_j * prod_{l>j} dims_l`` (a fresh intp array).

    The partial keys are kept in the smallest integer type that holds them (int16 for
    up to 32767 cells), so most passes touch 2 or 4 bytes per row instead of 8.
    """
    key, size = codes[0], dims[0]
    for c, k in zip(codes[1:], dims[1:]):
        size *= k
        key = np.multiply(key, k, dtype=np.int16 if size < 2**15 else np.int32 if size < 2**31 else np.intp)
        key += c
    return key.astype(np.intp) if key is codes[0] or key.dtype != np.intp else key


def _group_rows(codes: list[np.ndarray], dims: list[int], base: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray | None]:
    """Aggregate rows to the non-empty cells of the codes' cross-classification.

    Returns the codes of each cell (cells in key order, i.e. sorted by the codes, first
    slowest), the base-weight total of each cell (summed over its rows in row order), the
    key of each row, and the key of each cell if the row keys are dense keys (None if they
    are already cell positions). A cell is in the table if it has rows, whatever their weight.
    """
    n = len(base)
    size = float(np.prod([max(k, 1) for k in dims], dtype=float))
    if size >= 2**62:
        uniq_rows, inv = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)
        inv = inv.ravel()
        return [uniq_rows[:, j] for j in range(len(codes))], np.bincount(inv, weights=base, minlength=len(uniq_rows)), inv, None
    key = _combine(codes, dims) if n else np.zeros(0, dtype=np.intp)
    if size <= max(n, 1 << 20):  # dense keys: bincount, no sort
        table = np.bincount(key, weights=base, minlength=int(size))
        # with every base weight > 0 a cell has rows iff its total is positive: no second count
        counted = table if n and base.min() > 0 else np.bincount(key, minlength=int(size))
        cell_keys = np.flatnonzero(counted > 0)
        cell_base, rest = table[cell_keys], cell_keys
    else:
        uniq, key = np.unique(key, return_inverse=True)
        cell_base, rest, cell_keys = np.bincount(key, weights=base, minlength=len(uniq)), uniq, None
    cell_codes = []
    for k in reversed(dims):
        cell_codes.append(rest % k)
        rest = rest // k
    return cell_codes[::-1], cell_base, key, cell_keys


def _key_cells(cell_keys: np.ndarray | None, cells: np.ndarray) -> np.ndarray:
    """Cell position of every row key: ``cells`` itself, or a lookup over dense keys (keys without rows: 0)."""
    if cell_keys is None:
        return cells
    out = np.zeros(int(cell_keys[-1]) + 1 if len(cell_keys) else 0, dtype=np.intp)
    out[cell_keys] = cells
    return out


def _margin_totals(margins: Margins) -> tuple[list[list], list[np.ndarray], list[list[str]], list[str]]:
    """Categories and totals of each margin; problems of each margin's totals; the differing-sums problem."""
    cats, targets, problems, sums = [], [], [], {}
    for col, m in margins.items():
        ks = list(m.keys())
        tot = np.array([float(m[k]) if m[k] is not None else np.nan for k in ks], dtype=float)
        own = []
        for k, t in zip(ks, tot):
            if not np.isfinite(t):
                own.append(f"margin {col!r}, category {k!r}: total is {t!r}; totals must be finite")
            elif t <= 0:
                own.append(f"margin {col!r}, category {k!r}: total is {t:g}; totals must be > 0 (drop or merge the category with an explicit collapse rule)")
        sums[col] = float(np.nansum(tot))
        cats.append(ks)
        targets.append(tot)
        problems.append(own)
    vals = list(sums.values())
    differ = len(vals) > 1 and not np.allclose(vals, vals[0], rtol=1e-6)
    return cats, targets, problems, [f"margins sum to different population totals {sums}; they must describe the same population"] if differ else []


def _category_problems(col: str, margin: Mapping[Any, float], column: _Column, remap: np.ndarray, raw: np.ndarray, cell_base: np.ndarray) -> list[str]:
    """Categories of the data (cells with rows) not in the margin; margin categories without base weight."""
    unknown = [int(r) for r in np.unique(raw) if remap[r] < 0]
    if column.by_first_row:
        unknown.sort(key=lambda r: int(np.argmax(column.codes == r)))
    cats = list(margin)
    out = [f"margin {col!r}: category {column.labels[r]!r} is in the data but not in the margin (valid: {[str(k) for k in cats]})" for r in unknown]
    pos = remap[raw]
    ok = pos >= 0
    present = np.bincount(pos[ok], weights=cell_base[ok], minlength=len(cats))
    for k, p in zip(cats, present):
        if p <= 0:
            out.append(f"margin {col!r}: category {k!r} (population total {float(margin[k]):g}) is absent from the sample (or has zero base weight); merge it with an explicit collapse rule or drop it from the margin")
    return out


@dataclass
class CellTable:
    """Rows aggregated to the cells of the margins' cross-classification (:func:`cell_table`).

    Attributes
    ----------
    columns : list of str
        The margin columns.
    cats, targets : list
        Categories (as given) and population totals of each margin.
    codes : list of ndarray
        Margin category (position in ``cats``) of each cell, per margin; the cells are
        sorted by these codes, first margin slowest.
    base : ndarray
        Base-weight total of each cell.
    """

    columns: list[str]
    cats: list[list]
    targets: list[np.ndarray]
    codes: list[np.ndarray]
    base: np.ndarray
    row_key: np.ndarray  # key of each row (consumed by to_rows)
    key_cell: np.ndarray  # cell position of each key
    remaps: list[np.ndarray]  # margin category of each column code, per margin
    column_codes: list[np.ndarray]  # column code of each row, per margin

    def row_codes(self) -> list[np.ndarray]:
        """Margin category (position in ``cats``) of each row, per margin."""
        return [r[c] for r, c in zip(self.remaps, self.column_codes)]

    def to_rows(self, cell_weights: np.ndarray, w0: np.ndarray) -> np.ndarray:
        """Row weights: ``w0`` times the factor ``cell_weights / base`` of the row's cell (1 where the base is 0).

        Consumes the row keys: the result is written over their memory, block by block,
        so that the only per-row array the mapping allocates is the result.
        """
        factor = np.divide(cell_weights, self.base, out=np.ones_like(cell_weights), where=self.base > 0)
        by_key = factor[self.key_cell]
        key, self.row_key = self.row_key, np.zeros(0, dtype=np.intp)
        out = key.view(np.float64) if key.dtype.itemsize == 8 and key.flags.c_contiguous else np.empty(len(key))
        for s in range(0, len(key), _CHUNK):
            block = by_key.take(key[s:s + _CHUNK])
            block *= w0[s:s + _CHUNK]
            out[s:s + _CHUNK] = block
        return out

    def rake(self, w0: np.ndarray, max_iter: int, tol: float) -> tuple[np.ndarray, int]:
        """Rake the cell table to the targets and map back to the rows: (row weights, sweeps)."""
        w, it = _rake_cells(self.codes, self.targets, self.base, max_iter, tol)
        return self.to_rows(w, w0), it


def cell_table(data: pd.DataFrame, margins: Margins, base: np.ndarray) -> CellTable:
    """Check the margins against the data and aggregate the rows to the cell table.

    Raises one :class:`~irmodels.core.errors.WeightingError` listing every problem: a
    margin column missing or with missing values; then, per margin, totals that are not
    finite or not > 0, data categories not in the margin, margin categories absent from
    the sample (or with zero base weight); margins with different sums.
    """
    if not margins:
        raise WeightingError("margins: at least one margin {column: {category: population total}} is needed")
    columns = list(margins)
    problems, cols = [], []
    for c in columns:
        if c not in data.columns:
            problems.append(f"column {c!r} not in the data (columns: {list(data.columns)})")
            continue
        cols.append(_column_codes(data[c]))
        if len(data) and cols[-1].codes.min() < 0:  # -1: missing (a reduction, no mask, in the common case)
            problems += _missing_problems(data.index, c, cols[-1].codes < 0)
    _fail("margins", problems)
    cats, targets, problems, differ = _margin_totals(margins)
    raw, cell_base, row_key, cell_keys = _group_rows([x.codes for x in cols], [len(x.labels) for x in cols], base)
    remaps = []
    for j, (c, x) in enumerate(zip(columns, cols)):
        key = {str(k): i for i, k in enumerate(cats[j])}
        remaps.append(np.array([key.get(u, -1) for u in x.labels], dtype=np.intp))
        problems[j] += _category_problems(c, margins[c], x, remaps[-1], raw[j], cell_base)
    _fail("margins", [p for own in problems for p in own] + differ)
    codes = [r[c] for r, c in zip(remaps, raw)]
    order = np.lexsort(codes[::-1])
    codes = [c[order] for c in codes]
    if len(order) > 1 and not np.all(np.any([np.diff(c) != 0 for c in codes], axis=0)):
        # two data labels with the same text (1 and "1" in an object column) fall in one
        # margin category: group the rows on their margin codes instead
        col_codes = [x.codes for x in cols]
        codes, cell_base, row_key, cell_keys = _group_rows([r[c] for r, c in zip(remaps, col_codes)], [len(t) for t in targets], base)
        return CellTable(columns, cats, targets, codes, cell_base, row_key, _key_cells(cell_keys, np.arange(len(cell_base))), remaps, col_codes)
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    return CellTable(columns, cats, targets, codes, cell_base[order], row_key, _key_cells(cell_keys, rank), remaps, [x.codes for x in cols])


def _check_margins(data: pd.DataFrame, margins: Margins, base: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, list]]:
    """Validate margins; return column -> (margin category of each row, targets, categories)."""
    t = cell_table(data, margins, base)
    return {c: (codes, tot, cats) for c, codes, tot, cats in zip(t.columns, t.row_codes(), t.targets, t.cats)}


def _rake_cells(codes: list[np.ndarray], targets: list[np.ndarray], w0: np.ndarray, max_iter: int, tol: float) -> tuple[np.ndarray, int]:
    """Iterative proportional fitting of cell weights ``w0`` to the margin totals."""
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
    (every row of a cell gets the same factors); the margins are checked and the sweeps
    run on the cell table (one ``np.bincount`` per margin) and the result is mapped back
    to the rows with one ``take``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"a": ["x", "x", "y"], "b": ["u", "v", "v"]})
    >>> rake(d, {"a": {"x": 6, "y": 4}, "b": {"u": 5, "v": 5}}).round(3).tolist()
    [5.0, 1.0, 4.0]
    """
    base = np.ones(len(data)) if weight is None else _check_weights(weight, data.index, "weight")
    w, _ = cell_table(data, margins, base).rake(base, max_iter, tol)
    return pd.Series(w, index=data.index, name="weight", copy=False)  # w is a fresh array: no copy
