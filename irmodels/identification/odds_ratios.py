"""Odds-ratio assumption parameters of an assumption set, and grids over them.

The ``odds_ratios`` entries of an assumption set (read and checked against the JSON Schema by
:func:`irmodels.identification.assumption_sets.read_assumption_set`) give each association
the 2017 margins do not fix as an odds ratio a reader can judge, with the range a
sensitivity curve spans. :func:`load_odds_ratios` adds the checks a schema cannot state
(known variables in ``"<target>~<predictor>"``, ``low < high``, the value inside its range).
"""

from __future__ import annotations

import functools
import math
import os
from typing import Sequence

import numpy as np
import pandas as pd

from irmodels.core.errors import SchemaError
from irmodels.identification.assumption_sets import read_assumption_set, shipped_assumption_sets

__all__ = ["load_odds_ratios", "assumption_grid"]

def load_odds_ratios(assumptions: str | os.PathLike = "informed") -> pd.DataFrame:
    """The odds-ratio assumption parameters of an assumption set.

    Parameters
    ----------
    assumptions : str or path-like
        A shipped set (``"informed"``, ``"independent"``) or a YAML file with an
        ``odds_ratios`` list (fields ``parameter`` as ``"<target>~<predictor>"``,
        ``odds_ratio``, ``range`` [low, high], ``source``, ``note``).

    Returns
    -------
    pandas.DataFrame
        ``parameter``, ``target``, ``predictor``, ``odds_ratio`` (the set's value),
        ``range_low``, ``range_high`` (the plausible range a sensitivity curve spans),
        ``source``, ``note``, ``assumptions`` (the set's name).

    Raises
    ------
    SchemaError
        Listing every problem of the file, each with file, line, key and value: the schema of
        :func:`irmodels.identification.assumption_sets.read_assumption_set` (types, unknown
        fields, missing fields) and unknown variables, non-positive or infinite odds ratios,
        a value outside its own range.
    """
    if isinstance(assumptions, str) and assumptions in shipped_assumption_sets():
        return _shipped_odds_ratios(assumptions).copy()
    return _parse_odds_ratios(assumptions)


@functools.cache
def _shipped_odds_ratios(name: str) -> pd.DataFrame:
    """Parsed once per process: the shipped files are package data and do not change."""
    return _parse_odds_ratios(name)


def _parse_odds_ratios(assumptions: str | os.PathLike) -> pd.DataFrame:
    """Read the set (schema-checked), check every ``odds_ratios`` entry, return the table."""
    f = read_assumption_set(assumptions)  # every problem of the file, odds ratios included
    if f.problems:
        raise SchemaError(f.problems, what=f.where)
    items = f.spec.get("odds_ratios") or []
    rows = []
    for it in items:
        t, _, p = it["parameter"].partition("~")
        rows.append({"parameter": it["parameter"], "target": t, "predictor": p, "odds_ratio": float(it["odds_ratio"]),
                     "range_low": float(it["range"][0]), "range_high": float(it["range"][1]),
                     "source": " ".join(str(it.get("source", "")).split()),
                     "note": " ".join(str(it.get("note", "")).split())})
    out = pd.DataFrame(rows, columns=["parameter", "target", "predictor", "odds_ratio", "range_low", "range_high",
                                      "source", "note"])
    out["assumptions"] = f.spec.get("name", str(assumptions))
    return out


def assumption_grid(low: float, high: float, n: int = 25, *, include: Sequence[float] = (1.0,)) -> np.ndarray:
    """Odds ratios evenly spaced on the log scale from ``low`` to ``high``, plus ``include``.

    Parameters
    ----------
    low, high : float
        Ends of the grid (positive).
    n : int
        Number of log-spaced points.
    include : sequence of float
        Values always on the grid (default 1: no association), when inside ``[low, high]``.

    Returns
    -------
    numpy.ndarray
        Sorted unique odds ratios.
    """
    g = np.exp(np.linspace(math.log(low), math.log(high), n))
    extra = [x for x in include if low <= x <= high]
    return np.unique(np.round(np.concatenate([g, extra]), 12))
