"""Input checks shared by the weighting methods: weights, weighting columns, frames.

Every check lists all the problems it finds (row, column, value, rule) in one
:class:`~irmodels.core.errors.WeightingError`. The margin checks, which need the
categories of each row, live with the raking kernel in
:mod:`irmodels.nonresponse.raking` (they run on the cell table).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from irmodels.core.errors import WeightingError

Margins = Mapping[str, Mapping[Any, float]]

# columns of frame cells (irmodels.nonresponse.frame.frame_cells) that are not cell keys
_FRAME_NON_KEYS = ("N", "rule", "region", "n_respondents", "below_respondents")


def _fail(what: str, problems: list[str]) -> None:
    """Raise one WeightingError listing every problem (nothing if the list is empty)."""
    if problems:
        n = len(problems)
        raise WeightingError(f"{what}: {n} problem{'s' if n != 1 else ''} found\n" + "\n".join(f"  - {p}" for p in problems))


def _check_weights(w: Any, index: pd.Index, name: str = "base_weight", *, allow_zero: bool = True) -> np.ndarray:
    """Weights as a float array aligned with ``index``: finite, >= 0 (> 0 unless ``allow_zero``), not all zero."""
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
    if arr.size and _all_valid(arr, allow_zero):
        return arr  # the common case: two reductions instead of per-row masks
    problems = []
    for pos in np.flatnonzero(~np.isfinite(arr)):
        problems.append(f"row {index[pos]!r}: {name} is {float(arr[pos])!r}; weights must be finite numbers")
    for pos in np.flatnonzero(np.isfinite(arr) & ((arr < 0) if allow_zero else (arr <= 0))):
        problems.append(f"row {index[pos]!r}: {name} is {float(arr[pos])!r}; weights must be {'>= 0' if allow_zero else '> 0'}")
    _fail(f"invalid {name}", problems)
    if not np.any(arr > 0):
        raise WeightingError(f"{name}: all weights are zero")
    return arr


def _all_valid(arr: np.ndarray, allow_zero: bool) -> bool:
    """All weights finite, >= 0 (> 0 unless ``allow_zero``) and some > 0 (min propagates NaN)."""
    lo, hi = arr.min(), arr.max()
    return bool((lo >= 0 if allow_zero else lo > 0) and hi > 0 and np.isfinite(hi))


def _missing_problems(index: pd.Index, column: str, na: np.ndarray) -> list[str]:
    """Messages for the missing values of a weighting column (the first 20 rows, then the count)."""
    if not na.any():
        return []
    problems = []
    for pos in np.flatnonzero(na)[:20]:
        problems.append(f"row {index[pos]!r}, column {column!r}: missing value; a weighting variable must be known for every respondent (impute or set an explicit category first)")
    if na.sum() > 20:
        problems.append(f"column {column!r}: {int(na.sum())} missing values in all")
    return problems


def _check_columns(data: pd.DataFrame, columns: list[str], what: str) -> None:
    """Every column present in ``data`` and without missing values."""
    problems = []
    for c in columns:
        if c not in data.columns:
            problems.append(f"column {c!r} not in the data (columns: {list(data.columns)})")
            continue
        problems += _missing_problems(data.index, c, data[c].isna().to_numpy())
    _fail(what, problems)


def _frame_keys(frame: pd.DataFrame, data: pd.DataFrame, cells: list[str] | None) -> list[str]:
    """The frame variables to weight on: ``cells`` or every frame key that is also a data column."""
    if "N" not in frame.columns:
        raise WeightingError(f"frame: needs a column 'N' (population count per cell); has {list(frame.columns)}")
    keys = cells if cells is not None else [c for c in frame.columns if c not in _FRAME_NON_KEYS and c in data.columns]
    if not keys:
        raise WeightingError("frame: no frame variable is also a data column; pass cells=[...]")
    for k in keys:
        if k not in frame.columns:
            raise WeightingError(f"frame has no column {k!r}; it has {list(frame.columns)}")
    return list(keys)
