"""The per-statement checks of the audit of a published paper (:func:`irmodels.published.audit.audit`).

One pass per kind of statement, each filling a :class:`_Verdict` (status, reasons, the
recomputed percentage, the implied denominator or count, a nearby alternative reading):

- a percentage printed without its own count, against the count it refers to
  (:func:`_check_against_base`; hedged statements such as "about 60%" included);
- a count printed with a percentage: the stated denominator, else the implied one
  (:func:`_check_printed_count`);
- a percentage printed alone: the count it implies over a plausible denominator
  (:func:`_infer_count`);
- a count without a percentage (:func:`_check_count_only`);
- a restatement against the statement it restates (:func:`_check_restatement`).

All arithmetic is exact (:class:`fractions.Fraction`), rounded half-up to the printed decimals.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterable

import pandas as pd

from irmodels.data.rounding import percent_match


def _fmt_pct(count: int, den: int, printed: str) -> str:
    dec = len(printed.split(".")[1]) if "." in printed else 0
    x = Fraction(100 * count, den) * 10**dec
    val = Fraction(math.floor(x + Fraction(1, 2)), 10**dec)
    return f"{float(val):.{dec}f}"


EXTERNAL_VARIABLES = ("external",)
_QUALIFIERS = (
    ("slightly more than", ">"),
    ("less than", "<"),
    ("more than", ">"),
    ("almost", "<~"),
    ("nearly", "<~"),
    ("about", "~"),
    ("approximately", "~"),
    ("up to", "<="),
)


def _qualifier(quote: str) -> str:
    """'exact' or the hedge word in front of a number ('about 60%', 'slightly more than half')."""
    q = quote.lower()
    for word, _ in _QUALIFIERS:
        if re.search(rf"\b{word}\s+(\d|one|two|half|three|a\s)", q):
            return word
    return "exact"


def _qualified_ok(qualifier: str, pct: float, target: float, tol: float = 2.5) -> bool:
    """Does the recomputed percentage satisfy a hedged statement? ('about' = within 2.5 points)."""
    op = dict(_QUALIFIERS).get(qualifier, "~")
    if op == ">":
        return pct > target
    if op == "<":
        return pct < target
    if op == "<=":
        return pct <= target
    if op == "<~":
        return target - 2 * tol <= pct <= target
    return abs(pct - target) <= tol


def _alternative(count: int, den: int, printed: str) -> str:
    """A nearby count that would give the printed percentage over the same denominator."""
    for c in (count - 1, count + 1, count - 2, count + 2):
        if 0 <= c <= den and percent_match(c, den, printed) == "round":
            return f"{c}/{den} = {printed}%"
    return ""


def _base_of(r, by_id: pd.DataFrame, res: dict, item_n: dict) -> tuple[int, int, str] | None:
    """(count, denominator, source) a percentage without its own count refers to."""
    pb = res.get("percent_bases", {}).get(r.variable)
    if pb is not None:
        return int(pb["count"]), int(pb["denominator"]), pb["source"]
    if r.use != "restatement" or not r.restates:
        return None
    ref = r.restates.split(";")[0].strip()
    if ref not in by_id.index or pd.isna(by_id.at[ref, "count"]):
        return None
    c = int(by_id.at[ref, "count"])
    d = by_id.at[ref, "denominator"]
    d = int(d) if not pd.isna(d) else item_n.get(r.variable)
    if d is None:
        return None
    return c, d, f"as in {ref}"


def _candidates(stated: int | None, preferred: Iterable[int], lo: int, hi: int) -> list[int]:
    out: list[int] = []
    for d in [stated, *preferred, *range(hi, lo - 1, -1)]:
        if d is not None and d > 0 and d >= lo and d not in out:
            out.append(d)
    return out


def _item_sums(st: pd.DataFrame) -> dict[tuple[str, str], int]:
    m = st[st["use"].eq("margin") & st["count"].notna() & st["variable"].ne("")]
    return m.groupby(["variable", "condition"])["count"].sum().astype(int).to_dict()



@dataclass
class _Verdict:
    """What the audit finds for one statement (the columns of its row that are not copied)."""

    status: str = "ok"
    reasons: list[str] = field(default_factory=list)
    recomputed: str | None = None
    implied_den: int | None = None
    implied_count: int | None = None
    alternative: str = ""


def _classify(r: Any, count: int | None, stated: int | None, *, by_id: pd.DataFrame, res: dict,
              item_n: dict[str, int], sums: dict[tuple[str, str], int], n_respondents: int) -> _Verdict:
    """The verdict on one statement ``r``, by the kind of number it prints (restatements apart)."""
    v = _Verdict()
    printed = r.percent_printed
    pref = [d for d in (item_n.get(r.variable), n_respondents) if d is not None]
    base = _base_of(r, by_id, res, item_n)
    if r.variable in EXTERNAL_VARIABLES:
        v.reasons.append("figure from another source; not recomputable from this survey")
    elif count is None and (printed or not pd.isna(r.value)) and base is not None:
        _check_against_base(v, r, base)
    elif printed:
        if count is not None:
            _check_printed_count(v, r, count, stated, pref=pref, sums=sums, item_n=item_n, n_respondents=n_respondents)
        else:
            _infer_count(v, stated, printed, pref, n_respondents)
    else:
        _check_count_only(v, r, count, stated)
    return v


def _check_against_base(v: _Verdict, r: Any, base: tuple[int, int, str]) -> None:
    """A percentage (or word fraction) stated without its own count: check it against its base."""
    printed = r.percent_printed
    qualifier = _qualifier(r.quote)
    bc, bd, bsrc = base
    target = printed if printed else f"{float(r.value):g}"
    v.implied_count = bc  # the statement prints no count of its own
    v.implied_den = bd
    v.recomputed = _fmt_pct(bc, bd, printed) if printed else f"{100 * bc / bd:.1f}"
    pct = 100 * bc / bd
    if qualifier == "exact":
        how = percent_match(bc, bd, printed)
        if how == "round":
            v.reasons.append(f"{bc}/{bd} ({bsrc}) rounds to {printed}")
        elif how == "trunc":
            v.status = "truncated"
            v.reasons.append(f"only truncation of {bc}/{bd} ({bsrc}) gives {printed}")
        else:
            v.status = "inconsistent"
            v.reasons.append(f"{bc}/{bd} ({bsrc}) = {_fmt_pct(bc, bd, printed + '0')}%, not {printed}%")
    else:
        ok = _qualified_ok(qualifier, pct, float(target))
        if not ok:
            v.status = "inconsistent"
        v.reasons.append(
            f"'{qualifier} {target}%' {'agrees' if ok else 'disagrees'} with {bc}/{bd} = {pct:.1f}% ({bsrc})"
        )


def _check_printed_count(v: _Verdict, r: Any, count: int, stated: int | None, *, pref: list[int],
                         sums: dict[tuple[str, str], int], item_n: dict[str, int], n_respondents: int) -> None:
    """A count printed with a percentage: the stated denominator, else the denominator it implies."""
    printed = r.percent_printed
    lo = max(count, sums.get((r.variable, r.condition), 0) if r.use in ("margin", "restatement") else count, 1)
    hi = stated if stated is not None and stated > n_respondents else n_respondents
    found = {"round": None, "trunc": None}
    for d in _candidates(stated, pref, lo, hi):
        kind = percent_match(count, d, printed)
        if kind and found[kind] is None:
            found[kind] = d
    v.implied_den = implied_den = found["round"] or found["trunc"]
    ref = stated if stated is not None else implied_den
    if ref is not None:
        v.recomputed = _fmt_pct(count, ref, printed)
    if stated is not None:
        how = percent_match(count, stated, printed)
        if how == "round":
            v.reasons.append(f"{count}/{stated} rounds to {printed}")
        elif how == "trunc":
            v.status = "truncated"
            v.reasons.append(f"{count}/{stated} = {_fmt_pct(count, stated, printed + '0')}..., printed value is truncated")
        else:
            v.status = "inconsistent"
            msg = f"{count}/{stated} = {_fmt_pct(count, stated, printed + '0')}%, not {printed}%"
            if implied_den is not None:
                msg += f"; {count}/{implied_den} gives it: the paper silently used denominator {implied_den}"
            v.reasons.append(msg)
            v.alternative = _alternative(count, stated, printed)
    else:
        if found["round"] is not None:
            v.reasons.append(f"{count}/{found['round']} rounds to {printed} (denominator not stated)")
        elif found["trunc"] is not None:
            v.status = "truncated"
            v.reasons.append(f"only truncation of {count}/{found['trunc']} gives {printed} (denominator not stated)")
        else:
            v.status = "inconsistent"
            den = item_n.get(r.variable, n_respondents)
            v.recomputed = _fmt_pct(count, den, printed)
            v.reasons.append(f"no denominator from {lo} to {hi} gives {printed}%; {count}/{den} = {v.recomputed}%")
            v.alternative = _alternative(count, den, printed)


def _infer_count(v: _Verdict, stated: int | None, printed: str, pref: list[int], n_respondents: int) -> None:
    """A percentage printed without a count or base: infer the count for plausible denominators."""
    for d in _candidates(stated, pref, 1, n_respondents):
        c = round(float(printed) * d / 100)
        if percent_match(c, d, printed) == "round":
            v.implied_den, v.implied_count = d, c
            v.recomputed = _fmt_pct(c, d, printed)
            v.reasons.append(f"percentage without count: {c}/{d} gives {printed}")
            break
    else:
        v.status = "inconsistent"
        v.reasons.append("no count over a plausible denominator gives the printed percentage")


def _check_count_only(v: _Verdict, r: Any, count: int | None, stated: int | None) -> None:
    """A statement without a percentage: only a count larger than its denominator is inconsistent."""
    if count is not None and stated is not None and count > stated:
        v.status = "inconsistent"
        v.reasons.append("count larger than its denominator")
    elif count is None and r.use == "constraint":
        v.reasons.append("existence statement; checked by the reconstruction")
    else:
        v.reasons.append("count or value only; nothing to recompute")


def _check_restatement(v: _Verdict, r: Any, count: int | None, by_id: pd.DataFrame) -> None:
    """A restatement must print the count of every statement it restates."""
    if r.use == "restatement" and r.restates:
        for ref_id in r.restates.split(";"):
            ref_id = ref_id.strip()
            if ref_id in by_id.index:
                ref_count = by_id.at[ref_id, "count"]
                if count is not None and not pd.isna(ref_count) and int(ref_count) != count:
                    v.status = "inconsistent"
                    v.reasons.append(f"restates {ref_id}, which prints {int(ref_count)}, not {count}")
