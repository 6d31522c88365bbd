"""Where the counts of the descriptive reproduction come from (:func:`irmodels.published.descriptives.descriptive_results`).

Two sources with one interface (``has``, ``size``, ``count``, ``joint``, ``extreme``):

- :class:`_Margins`: the adopted published margins of the 2017 wave (no joint distribution,
  so the joint count of a category inside a sub-group is only bounded, and printed extremes
  cannot be recomputed);
- :class:`_Data`: a respondent-level table (e.g. one reconstruction replicate), which gives
  exact joint counts and extremes.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd


def _membership_combination(esr: pd.Series, cirse: pd.Series) -> pd.Series:
    """The ESR x CIRSE membership combination the paper reports (both / esr_only / cirse_only / neither)."""
    out = pd.Series(pd.NA, index=esr.index, dtype="object")
    e, c = esr.astype("boolean"), cirse.astype("boolean")
    out[(e & c).fillna(False)] = "both"
    out[(e & ~c).fillna(False)] = "esr_only"
    out[(~e & c).fillna(False)] = "cirse_only"
    out[(~e & ~c).fillna(False)] = "neither"
    return out


def _in_range(values: pd.Series, text: str) -> pd.Series | None:
    """Rows whose integer value lies in a published range text ('<10', '6-12', '>21', '0')."""
    v = pd.to_numeric(values, errors="coerce")
    m = re.fullmatch(r"(<=|>=|<|>)?(\d+)(?:-(\d+))?", text)
    if m is None:
        return None  # 'max', 'min': values, not counts
    op, a, b = m.group(1), int(m.group(2)), m.group(3)
    if b is not None:
        return ((v >= a) & (v <= int(b))).fillna(False)
    return {"<": v < a, ">": v > a, "<=": v <= a, ">=": v >= a, None: v == a}[op].fillna(False)



class _Margins:
    """Counts from the adopted published margins (no joint distribution: joint counts are bounded)."""

    basis = "margins"

    def __init__(self, statements: pd.DataFrame, n: int) -> None:
        from irmodels.data.waves import esr_cirse_2017 as w

        m = w.published_margins(statements)
        self.n = n
        self.counts = {(r.variable, r.category): int(r.count) for r in m.itertuples()}
        self.item_n = {r.variable: int(r.item_n) for r in m.itertuples()}

    def has(self, var: str) -> bool:
        return var in self.item_n

    def size(self, var: str, cat: str) -> int | None:
        return self.counts.get((var, cat))

    def count(self, var: str, cat: str, within: tuple[str, str] | None) -> tuple[int | None, int | None]:
        # a sub-group item's margins are already over its sub-group (e.g. 34 of the 56)
        return self.counts.get((var, cat)), self.item_n.get(var)

    def joint(self, var: str, cat: str, cvar: str, ccat: str) -> tuple[int | None, int | None, int | None, int | None]:
        a, b = self.size(var, cat), self.size(cvar, ccat)
        if a is None or b is None:
            return None, None, None, None
        lo, hi = max(0, a + b - self.n), min(a, b)
        answered = b if self.item_n.get(var) == self.n else None  # everyone answered the item
        return (lo if lo == hi else None), lo, hi, answered

    def extreme(self, var: str, stat: str, among: tuple[str, str] | None) -> tuple[float | None, int | None]:
        return None, None  # the margins are counts of classes, not values


class _Data:
    """Counts from a respondent-level table (exact joint counts)."""

    basis = "data"

    def __init__(self, data: pd.DataFrame, codebook: dict[str, Any]) -> None:
        self.data = data.copy()
        if {"member_esr", "member_cirse"} <= set(self.data.columns):
            self.data["member_esr_cirse"] = _membership_combination(self.data["member_esr"], self.data["member_cirse"])
        self.cb = codebook

    def has(self, var: str) -> bool:
        return var in self.data.columns

    def mask(self, var: str, cat: str) -> pd.Series | None:
        if var not in self.data.columns:
            return None
        s = self.data[var]
        if self.cb.get(var, {}).get("type") == "int":
            return _in_range(s, cat)
        if self.cb.get(var, {}).get("type") == "bool":
            if cat not in ("true", "false"):
                return None
            return (s.astype("boolean") == (cat == "true")).fillna(False).astype(bool)
        return (s.astype("string") == cat).fillna(False).astype(bool)

    def answered(self, var: str) -> pd.Series:
        return self.data[var].notna()

    def size(self, var: str, cat: str) -> int | None:
        m = self.mask(var, cat)
        return None if m is None else int(m.sum())

    def count(self, var: str, cat: str, within: tuple[str, str] | None) -> tuple[int | None, int | None]:
        m = self.mask(var, cat)
        if m is None:
            return None, None
        base = pd.Series(True, index=self.data.index)
        if within is not None:
            wm = self.mask(*within)
            if wm is None:
                return None, None
            base = wm
        return int((m & base).sum()), int((self.answered(var) & base).sum())

    def joint(self, var: str, cat: str, cvar: str, ccat: str) -> tuple[int | None, int | None, int | None, int | None]:
        m, c = self.mask(var, cat), self.mask(cvar, ccat)
        if m is None or c is None:
            return None, None, None, None
        k = int((m & c).sum())
        return k, k, k, int((self.answered(var) & c).sum())

    def extreme(self, var: str, stat: str, among: tuple[str, str] | None) -> tuple[float | None, int | None]:
        v = pd.to_numeric(self.data[var], errors="coerce")
        if among is not None:
            am = self.mask(*among)
            if am is None:
                return None, None
            v = v[am]
        v = v.dropna()
        if v.empty:
            return None, 0
        return float(v.max() if stat == "max" else v.min()), int(len(v))

