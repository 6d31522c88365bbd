"""Merging sparse categories by explicit rules, every merge reported.

Owns :func:`collapse_categories`: the rules of ``weight(..., collapse=...)`` applied to
the data, the margins and the frame alike, each merge listed in the report and announced
with a :class:`~irmodels.core.errors.DataDroppedWarning`.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping

import pandas as pd

from irmodels.core.errors import DataDroppedWarning, WeightingError
from irmodels.nonresponse.weighting_checks import _FRAME_NON_KEYS, Margins

__all__ = ["collapse_categories"]


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
        respondents are pooled within their region, :data:`irmodels.nonresponse.frame_keys.REGIONS`,
        as ``"<region> (pooled)"``; only for ``country``), or
        ``{"merge": {old: new, ...}}`` (explicit renaming).
    margins, frame : optional
        Merged in the same way (totals summed).

    Returns
    -------
    data, margins, frame, report
        ``report`` lists dicts ``{column, into, merged, n}``.
    """
    from irmodels.nonresponse.frame_keys import region_of

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
