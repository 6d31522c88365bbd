"""The paper's descriptive results, recomputed from respondent-level data.

For every count statement of the 2017 paper's Results (Table 1 included)
the count is re-tabulated from a respondent-level table (a reconstruction
replicate, which reproduces every published margin) or, without one, from the
adopted published margins, and the percentage is recomputed with the
denominator and rounding rule the paper itself used (inferred by
:func:`irmodels.auditing.audit`). The printed value sits beside the recomputed
one; where they differ, the audit's finding says why.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import pandas as pd

__all__ = ["descriptive_results", "tabulate"]

RESULTS_SECTIONS = ("Table 1", "Results")


def tabulate(data: pd.DataFrame, variable: str) -> pd.DataFrame:
    """Count departments per category of a canonical variable (missing counted apart).

    Parameters
    ----------
    data : DataFrame
        Respondent-level canonical table (one row per department).
    variable : str
        A codebook variable.

    Returns
    -------
    pandas.DataFrame
        Columns ``category`` (codebook code as text; booleans as
        ``"true"``/``"false"``), ``count`` (int), ``answered`` (int, the
        departments with a non-missing answer), ``missing`` (int).
    """
    s = data[variable]
    answered = int(s.notna().sum())
    vals = s.dropna()
    if pd.api.types.is_bool_dtype(vals.dtype) or set(vals.unique()) <= {True, False}:
        vals = vals.map({True: "true", False: "false"})
    counts = vals.astype(str).value_counts()
    return pd.DataFrame(
        {
            "category": counts.index.astype(str),
            "count": counts.to_numpy(dtype=int),
            "answered": answered,
            "missing": int(len(s) - answered),
        }
    )


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
        return (v >= a) & (v <= int(b))
    return {"<": v < a, ">": v > a, "<=": v <= a, ">=": v >= a, None: v == a}[op].fillna(False)


def _pct(count: int, den: int, printed: str, mode: str) -> str:
    dec = len(printed.split(".")[1]) if "." in printed else 0
    x = Fraction(100 * count, den) * 10**dec
    v = math.floor(x + Fraction(1, 2)) if mode == "round" else math.floor(x)
    return f"{float(Fraction(v, 10**dec)):.{dec}f}"


def descriptive_results(data: pd.DataFrame | None = None, *, wave: str = "esr_cirse_2017") -> pd.DataFrame:
    """Recompute every count statement of the paper's Results section.

    Parameters
    ----------
    data : DataFrame, optional
        A respondent-level table of the wave (e.g. one replicate of
        :func:`irmodels.reconstruction.reconstruct`). When omitted, counts are
        taken from :func:`irmodels.waves.esr_cirse_2017.published_margins`.
    wave : str
        The wave (only ``"esr_cirse_2017"``).

    Returns
    -------
    pandas.DataFrame
        One row per unconditional count statement in Table 1 or the Results,
        columns ``statement_id, section, variable, category``;
        ``count_printed`` (int); ``percent_printed`` (str);
        ``count_recomputed`` (int); ``answered`` (int, departments answering
        the item in the data); ``denominator_used`` (int, the paper's
        denominator: stated, else implied by its percentage, else the item's
        answered count); ``rounding`` (``round`` or ``trunc``, as the paper
        did); ``percent_recomputed`` (str, at the printed decimals);
        ``count_matches``, ``percent_matches`` (bool); ``audit_status`` and
        ``audit_reason`` (from the audit).
    """
    from irmodels.auditing import audit
    from irmodels.codebook import load_codebook
    from irmodels.waves import esr_cirse_2017 as w

    cb = load_codebook()
    st = w.load_statements()
    au = audit(wave, statements=st).set_index("statement_id")
    if data is None:
        margins = w.published_margins(st)
        counts = {(r.variable, r.category): (int(r.count), int(r.item_n)) for r in margins.itertuples()}
    else:
        data = data.copy()
        if {"member_esr", "member_cirse"} <= set(data.columns):
            data["member_esr_cirse"] = _membership_combination(data["member_esr"], data["member_cirse"])
        counts = {}
        for var in {v for v in st["variable"] if v in data.columns}:
            tab = tabulate(data, var)
            for r in tab.itertuples():
                counts[(var, r.category)] = (int(r.count), int(r.answered))
            answered = int(data[var].notna().sum())
            spec = cb.get(var, {"type": "category", "categories": []})
            if spec["type"] == "int":  # published as ranges ("<10", "6-12", ">21", "0")
                for cat in st.loc[st["variable"] == var, "category"].unique():
                    mask = _in_range(data[var], cat)
                    if mask is not None:
                        counts[(var, cat)] = (int(mask.sum()), answered)
            for code in [c["code"] for c in spec.get("categories", [])] + (["true", "false"] if spec["type"] == "bool" else []):
                counts.setdefault((var, str(code)), (0, answered))
    sel = st[
        st["section"].str.startswith(RESULTS_SECTIONS)
        & st["kind"].eq("count")
        & st["condition"].eq("")
        & st["variable"].isin([*cb, *w.load_resolutions()["item_n"]])
        & st["use"].isin(["margin", "restatement"])
    ]
    rows = []
    for r in sel.itertuples(index=False):
        key = (r.variable, r.category)
        if key not in counts:
            continue
        c, answered = counts[key]
        a = au.loc[r.statement_id]
        printed = r.percent_printed
        # the denominator the paper actually used: the implied one when it reproduces the
        # printed value (e.g. "58 out of 98" printed as 62.4% = 58/93), else the stated one
        den = None if pd.isna(a["implied_denominator"]) else int(a["implied_denominator"])
        if den is None and not pd.isna(r.denominator):
            den = int(r.denominator)
        if den is None:
            den = answered
        mode = "trunc" if a["status"] == "truncated" else "round"
        pct = _pct(c, den, printed, mode) if printed else ""
        rows.append(
            {
                "statement_id": r.statement_id,
                "section": r.section,
                "variable": r.variable,
                "category": r.category,
                "count_printed": int(r.count),
                "percent_printed": printed,
                "count_recomputed": c,
                "answered": answered,
                "denominator_used": den,
                "rounding": mode,
                "percent_recomputed": pct,
                "count_matches": c == int(r.count),
                "percent_matches": (pct == printed) if printed else True,
                "audit_status": a["status"],
                "audit_reason": a["reason"],
            }
        )
    return pd.DataFrame(rows)
