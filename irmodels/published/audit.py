"""Consistency audit of a published survey paper.

Every printed percentage is recomputed from its count and denominator with
exact rational arithmetic; the item denominator each printed value implies is
inferred; each statement is classified as

``ok``
    the printed value is the count over the stated (or, when none is stated,
    a plausible implied) denominator, rounded half-up to the printed decimals;
``truncated``
    it is reproduced only when the decimals are cut off instead of rounded;
``inconsistent``
    no reading of the stated numbers gives the printed value, or the
    statement restates another with a different number, or its printed number
    is the reading rejected by a documented discrepancy.

Cross-passage contradictions and the reading irmodels adopts are listed by
:func:`discrepancies`; arithmetic identities between statements (parts
summing to their total) by :func:`identity_checks`.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Iterable

import pandas as pd

from irmodels.data.rounding import percent_match

__all__ = ["audit", "discrepancies", "identity_checks", "percent_match", "AUDIT_COLUMNS"]

AUDIT_COLUMNS: tuple[str, ...] = (
    "statement_id",
    "section",
    "variable",
    "category",
    "condition",
    "use",
    "count",
    "denominator",
    "percent_printed",
    "percent_recomputed",
    "implied_denominator",
    "implied_count",
    "status",
    "reason",
    "alternative_reading",
    "discrepancy_id",
    "quote",
)

_WAVES = ("esr_cirse_2017",)


def _unknown_wave(wave: str) -> Exception:
    """The error for a wave without published aggregates (a SchemaError, hence also a ValueError)."""
    from irmodels.core.errors import Problem, SchemaError

    return SchemaError([Problem(f"unknown wave {wave!r}; waves with published aggregates: {list(_WAVES)}",
                                column="wave", value=wave)], what="audit")


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


def audit(wave: str = "esr_cirse_2017", statements: pd.DataFrame | None = None) -> pd.DataFrame:
    """Audit every quantitative statement of a wave's paper.

    Parameters
    ----------
    wave : str
        Only ``"esr_cirse_2017"`` has published aggregates.
    statements : DataFrame, optional
        A statements table as returned by
        :func:`irmodels.data.waves.esr_cirse_2017.load_statements` (loaded when
        omitted); lets you audit an edited copy.

    Returns
    -------
    pandas.DataFrame
        One row per statement, columns :data:`AUDIT_COLUMNS`:

        - ``statement_id, section, variable, category, condition, use, quote``:
          as in the statements file;
        - ``count``, ``denominator`` (Int64): as printed (``denominator``
          empty when the paper states none);
        - ``percent_printed`` (str): exactly as printed;
        - ``percent_recomputed`` (str): the count over the stated denominator
          (else the implied one) at the printed number of decimals;
        - ``implied_denominator`` (Int64): the denominator that reproduces the
          printed percentage (rounding preferred to truncation; the stated
          denominator, the adopted item denominator and 98 are tried first,
          then every value down to the item's printed total);
        - ``implied_count`` (Int64): for percentages printed without a count;
        - ``status``: ``ok``, ``truncated`` or ``inconsistent``;
        - ``reason``: why, in words;
        - ``alternative_reading``: for inconsistent percentages, a nearby
          count that would give the printed value with the stated denominator;
        - ``discrepancy_id``: the :func:`discrepancies` entry the statement is in.

    Raises
    ------
    ValueError
        For an unknown wave (the message lists the known ones).
    irmodels.core.errors.SchemaError
        If the statements file is malformed.

    Examples
    --------
    >>> a = audit()
    >>> a.set_index("statement_id").status.value_counts().index.tolist()  # doctest: +SKIP
    ['ok', 'inconsistent', 'truncated']
    """
    if wave not in _WAVES:
        raise _unknown_wave(wave)
    from irmodels.data.waves import esr_cirse_2017 as w

    st = w.load_statements() if statements is None else statements
    res = w.load_resolutions()
    item_n: dict[str, int] = res["item_n"]
    sums = _item_sums(st)
    by_id = st.set_index("statement_id")
    disc_of: dict[str, list[str]] = {}
    rejected: dict[str, str] = {}
    for d in res.get("discrepancies", []):
        for sid in d.get("statements", []):
            disc_of.setdefault(sid, []).append(d["id"])
        # a discrepancy whose readings are records says which printed field the adopted one overrides
        fields: dict[str, list[str]] = {}
        adopted = [rd for rd in d.get("readings", []) if isinstance(rd, dict) and rd.get("adopted") is True]
        for pair in (adopted[0].get("contradicts", []) if adopted else []):
            sid, _, field = str(pair).partition(":")
            fields.setdefault(sid, []).append(field)
        for sid in d.get("rejected", []):
            if sid in fields:
                rejected[sid] = (
                    f"printed {' and '.join(fields[sid])} not used as printed under the adopted reading "
                    f"{adopted[0].get('id')!r} of discrepancy {d['id']}"
                )
            else:
                rejected[sid] = f"printed reading rejected by discrepancy {d['id']}"

    rows = []
    for r in st.itertuples(index=False):
        count = None if pd.isna(r.count) else int(r.count)
        stated = None if pd.isna(r.denominator) else int(r.denominator)
        printed = r.percent_printed
        status, reasons = "ok", []
        recomputed = implied_den = implied_count = None
        alternative = ""
        pref = [d for d in (item_n.get(r.variable), w.N_RESPONDENTS) if d is not None]
        base = _base_of(r, by_id, res, item_n)
        qualifier = _qualifier(r.quote)
        if r.variable in EXTERNAL_VARIABLES:
            reasons.append("figure from another source; not recomputable from this survey")
        elif count is None and (printed or not pd.isna(r.value)) and base is not None:
            # a percentage (or word fraction) stated without its own count: check it against its base
            bc, bd, bsrc = base
            target = printed if printed else f"{float(r.value):g}"
            implied_count = bc if count is None else None
            implied_den = bd
            recomputed = _fmt_pct(bc, bd, printed) if printed else f"{100 * bc / bd:.1f}"
            pct = 100 * bc / bd
            if qualifier == "exact":
                how = percent_match(bc, bd, printed)
                if how == "round":
                    reasons.append(f"{bc}/{bd} ({bsrc}) rounds to {printed}")
                elif how == "trunc":
                    status = "truncated"
                    reasons.append(f"only truncation of {bc}/{bd} ({bsrc}) gives {printed}")
                else:
                    status = "inconsistent"
                    reasons.append(f"{bc}/{bd} ({bsrc}) = {_fmt_pct(bc, bd, printed + '0')}%, not {printed}%")
            else:
                ok = _qualified_ok(qualifier, pct, float(target))
                if not ok:
                    status = "inconsistent"
                reasons.append(
                    f"'{qualifier} {target}%' {'agrees' if ok else 'disagrees'} with {bc}/{bd} = {pct:.1f}% ({bsrc})"
                )
        elif printed:
            if count is not None:
                lo = max(count, sums.get((r.variable, r.condition), 0) if r.use in ("margin", "restatement") else count, 1)
                hi = stated if stated is not None and stated > w.N_RESPONDENTS else w.N_RESPONDENTS
                found = {"round": None, "trunc": None}
                for d in _candidates(stated, pref, lo, hi):
                    kind = percent_match(count, d, printed)
                    if kind and found[kind] is None:
                        found[kind] = d
                implied_den = found["round"] or found["trunc"]
                ref = stated if stated is not None else implied_den
                if ref is not None:
                    recomputed = _fmt_pct(count, ref, printed)
                if stated is not None:
                    how = percent_match(count, stated, printed)
                    if how == "round":
                        reasons.append(f"{count}/{stated} rounds to {printed}")
                    elif how == "trunc":
                        status = "truncated"
                        reasons.append(f"{count}/{stated} = {_fmt_pct(count, stated, printed + '0')}..., printed value is truncated")
                    else:
                        status = "inconsistent"
                        msg = f"{count}/{stated} = {_fmt_pct(count, stated, printed + '0')}%, not {printed}%"
                        if implied_den is not None:
                            msg += f"; {count}/{implied_den} gives it: the paper silently used denominator {implied_den}"
                        reasons.append(msg)
                        alternative = _alternative(count, stated, printed)
                else:
                    if found["round"] is not None:
                        reasons.append(f"{count}/{found['round']} rounds to {printed} (denominator not stated)")
                    elif found["trunc"] is not None:
                        status = "truncated"
                        reasons.append(f"only truncation of {count}/{found['trunc']} gives {printed} (denominator not stated)")
                    else:
                        status = "inconsistent"
                        den = item_n.get(r.variable, w.N_RESPONDENTS)
                        recomputed = _fmt_pct(count, den, printed)
                        reasons.append(f"no denominator from {lo} to {hi} gives {printed}%; {count}/{den} = {recomputed}%")
                        alternative = _alternative(count, den, printed)
            else:
                # percentage printed without a count or base: infer the count for plausible denominators
                for d in _candidates(stated, pref, 1, w.N_RESPONDENTS):
                    c = round(float(printed) * d / 100)
                    if percent_match(c, d, printed) == "round":
                        implied_den, implied_count = d, c
                        recomputed = _fmt_pct(c, d, printed)
                        reasons.append(f"percentage without count: {c}/{d} gives {printed}")
                        break
                else:
                    status = "inconsistent"
                    reasons.append("no count over a plausible denominator gives the printed percentage")
        else:
            if count is not None and stated is not None and count > stated:
                status = "inconsistent"
                reasons.append("count larger than its denominator")
            elif count is None and r.use == "constraint":
                reasons.append("existence statement; checked by the reconstruction")
            else:
                reasons.append("count or value only; nothing to recompute")
        if r.use == "restatement" and r.restates:
            for ref_id in r.restates.split(";"):
                ref_id = ref_id.strip()
                if ref_id in by_id.index:
                    ref_count = by_id.at[ref_id, "count"]
                    if count is not None and not pd.isna(ref_count) and int(ref_count) != count:
                        status = "inconsistent"
                        reasons.append(f"restates {ref_id}, which prints {int(ref_count)}, not {count}")
        if r.statement_id in rejected:
            status = "inconsistent"
            reasons.append(rejected[r.statement_id])
        rows.append(
            {
                "statement_id": r.statement_id,
                "section": r.section,
                "variable": r.variable,
                "category": r.category,
                "condition": r.condition,
                "use": r.use,
                "count": count,
                "denominator": stated,
                "percent_printed": printed,
                "percent_recomputed": recomputed or "",
                "implied_denominator": implied_den,
                "implied_count": implied_count,
                "status": status,
                "reason": "; ".join(reasons),
                "alternative_reading": alternative,
                "discrepancy_id": ";".join(disc_of.get(r.statement_id, [])),
                "quote": r.quote,
            }
        )
    out = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    for col in ("count", "denominator", "implied_denominator", "implied_count"):
        out[col] = out[col].astype("Int64")
    return out


def _reading_text(reading: object) -> str:
    """One reading as text: plain text, or ``id: text`` for a record (``(default)`` when adopted)."""
    if isinstance(reading, dict):
        label = f"{reading.get('id', '')}{' (default)' if reading.get('adopted') is True else ''}"
        return f"{label}: {reading.get('text', '')}"
    return str(reading)


def discrepancies(wave: str = "esr_cirse_2017") -> pd.DataFrame:
    """Places where passages of the paper give different numbers or words for the same thing.

    Parameters
    ----------
    wave : str
        Only ``"esr_cirse_2017"`` has published aggregates.

    Returns
    -------
    pandas.DataFrame
        One row per discrepancy of the wave's resolutions, columns:

        - ``discrepancy_id``, ``topic`` (str);
        - ``status`` (str): ``contradiction`` (the numbers cannot all hold;
          one is not used as printed), ``tension`` (the wording conflicts but
          one stated reading keeps every printed number) or ``open`` (several
          readings fit equally; the default is a convention, the others are
          named assumptions, e.g. :func:`irmodels.data.waves.esr_cirse_2017.membership_readings`);
        - ``statement_ids`` (str, ``;``-separated);
        - ``reading_a``, ``reading_b`` (str): the first two readings;
          ``other_readings`` (str): any further readings, ``" | "``-separated
          (``""`` when there are two); a reading that is a record is written
          ``id: text``, ``(default)`` marking the adopted one;
        - ``adopted`` (str): the resolution irmodels uses in margins and
          reconstructions; ``reason`` (str): why;
        - ``rejected_ids`` (str): statements whose printed number is not used as printed;
        - ``quotes`` (str): verbatim passages of the paper the discrepancy rests
          on, ``" | "``-separated (``""`` when the statements' quotes suffice).

    Raises
    ------
    ValueError
        For an unknown wave (the message lists the known ones).
    irmodels.core.errors.SchemaError
        If a discrepancy has fewer than two readings or an unknown status
        (the problem names the discrepancy and lists the valid statuses).

    Examples
    --------
    >>> d = discrepancies().set_index("discrepancy_id")
    >>> d.loc["D01", "status"]
    'open'
    """
    if wave not in _WAVES:
        raise _unknown_wave(wave)
    from irmodels.core.errors import Problem, SchemaError
    from irmodels.data.waves import esr_cirse_2017 as w

    res = w.load_resolutions()
    problems = []
    for d in res.get("discrepancies", []):
        if d.get("status") not in w.DISCREPANCY_STATUSES:
            problems.append(Problem(rule=f"status must be one of {list(w.DISCREPANCY_STATUSES)}", row=d.get("id"),
                                    column="status", value=d.get("status")))
        if len(d.get("readings", [])) < 2:
            problems.append(Problem(rule="a discrepancy needs at least two readings", row=d.get("id"), column="readings",
                                    value=d.get("readings")))
    if problems:
        raise SchemaError(problems, what="discrepancies in the resolutions")
    rows = []
    for d in res.get("discrepancies", []):
        readings = [_reading_text(rd) for rd in d["readings"]]
        rows.append(
            {
                "discrepancy_id": d["id"],
                "topic": d["topic"],
                "status": d["status"],
                "statement_ids": ";".join(d.get("statements", [])),
                "reading_a": readings[0],
                "reading_b": readings[1],
                "other_readings": " | ".join(readings[2:]),
                "adopted": d["adopted"],
                "reason": d["reason"],
                "rejected_ids": ";".join(d.get("rejected", [])),
                "quotes": " | ".join(d.get("quotes", [])),
            }
        )
    return pd.DataFrame(rows)


def identity_checks(wave: str = "esr_cirse_2017", statements: pd.DataFrame | None = None) -> pd.DataFrame:
    """Check arithmetic identities between statements (parts sum to their total).

    Returns
    -------
    pandas.DataFrame
        Columns ``identity_id, description, total`` (the printed or stated
        total), ``parts_sum`` (sum of the printed parts), ``holds`` (bool),
        ``statement_ids``.
    """
    if wave not in _WAVES:
        raise _unknown_wave(wave)
    from irmodels.data.waves import esr_cirse_2017 as w

    st = w.load_statements() if statements is None else statements
    counts = st.set_index("statement_id")["count"]
    rows = []
    for ident in w.load_resolutions().get("identities", []):
        total = ident["total"]
        total_val = int(counts[total]) if isinstance(total, str) else int(total)
        parts = ident["parts"]
        parts_sum = int(sum(int(counts[p]) for p in parts))
        rows.append(
            {
                "identity_id": ident["id"],
                "description": ident["description"],
                "total": total_val,
                "parts_sum": parts_sum,
                "holds": total_val == parts_sum,
                "statement_ids": ";".join(([total] if isinstance(total, str) else []) + list(parts)),
            }
        )
    return pd.DataFrame(rows)
