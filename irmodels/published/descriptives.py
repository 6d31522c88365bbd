"""The paper's descriptive results, recomputed from respondent-level data.

Every statement of the 2017 paper's Results (Table 1 included; not the
survey-design numbers) is recomputed beside its printed value:

- counts of one category (and the percentages printed with them), re-tabulated
  from a respondent-level table (a reconstruction replicate, which reproduces
  every published margin) or, without one, from the adopted published margins;
- percentages printed without their own count (the eight leading nations'
  66.3%, the 94.9% teaching hospitals);
- the printed extremes (radiologists up to 90, residents from 1 to 70);
- conditional statements, whose denominator is a sub-group: the chair
  profiles of the CIRSE-only members ("7 out of 9"), the departments without
  residents, IR or procedures, and the items asked of a sub-group only (the
  outpatient service's location among those that run one, the day-case beds'
  management, the neuro and cardiac providers).

Percentages are recomputed with the denominator and rounding rule the paper
itself used (inferred by :func:`irmodels.published.audit.audit`). Where printed and
recomputed differ, the audit's finding and the discrepancy say why.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

import pandas as pd

from irmodels.published.count_sources import _Data, _Margins

__all__ = ["descriptive_results", "tabulate", "RESULT_COLUMNS"]

RESULTS_SECTIONS = ("Table 1", "Results")

#: Columns of :func:`descriptive_results`, in order.
RESULT_COLUMNS: tuple[str, ...] = (
    "statement_id",
    "section",
    "kind",
    "use",
    "variable",
    "category",
    "condition",
    "subgroup",
    "count_printed",
    "denominator_printed",
    "percent_printed",
    "value_printed",
    "basis",
    "count_recomputed",
    "count_lower",
    "count_upper",
    "subgroup_size",
    "answered",
    "denominator_used",
    "rounding",
    "percent_recomputed",
    "value_recomputed",
    "count_matches",
    "denominator_matches",
    "percent_matches",
    "value_matches",
    "matches",
    "check",
    "audit_status",
    "audit_reason",
    "discrepancy_id",
)

_COND_RE = re.compile(r'^(\w+) (==|>=|<=|>|<) (?:"([^"]+)"|(\d+))$')


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


def _pct(count: int, den: int, printed: str, mode: str) -> str:
    dec = len(printed.split(".")[1]) if "." in printed else 0
    x = Fraction(100 * count, den) * 10**dec
    v = math.floor(x + Fraction(1, 2)) if mode == "round" else math.floor(x)
    return f"{float(Fraction(v, 10**dec)):.{dec}f}"


def _parse_condition(text: str) -> tuple[str, str]:
    """``'var == "code"'`` -> ``(var, code)``; ``'var > 12'`` -> ``(var, '>12')`` (a range text)."""
    m = _COND_RE.fullmatch(text)
    if m is None:
        from irmodels.core.errors import Problem, SchemaError

        raise SchemaError(
            [Problem(rule='a condition must read `variable == "code"` or `variable OP number`', column="condition", value=text)],
            what="descriptive_results",
        )
    var, op, code, number = m.groups()
    if code is not None:
        return var, code if op == "==" else f"{op}{code}"
    return var, number if op == "==" else f"{op}{number}"


def _all_known(*flags: Any) -> Any:
    """True/False when every comparison made holds / one fails; NA when none could be made."""
    made = [bool(f) for f in flags if f is not None and f is not pd.NA]
    return pd.NA if not made else all(made)


def descriptive_results(data: pd.DataFrame | None = None, *, wave: str = "esr_cirse_2017") -> pd.DataFrame:
    """Recompute every statement of the paper's Results section (Table 1 included).

    Parameters
    ----------
    data : DataFrame, optional
        A respondent-level table of the wave (e.g. one replicate of
        :func:`irmodels.identification.reconstruction.reconstruct`). When omitted, counts are
        taken from :func:`irmodels.data.waves.esr_cirse_2017.published_margins`;
        joint counts of conditional statements are then only bounded, and the
        printed extremes cannot be recomputed. Statements about a variable the
        data lack are left out.
    wave : str
        The wave (only ``"esr_cirse_2017"``).

    Returns
    -------
    pandas.DataFrame
        One row per statement of Table 1 and the Results (the survey-design
        numbers, ``use == "context"``, excluded), in the paper's order, columns
        :data:`RESULT_COLUMNS`:

        - ``statement_id, section, kind, use, variable, category, condition``
          (str): as in the statements file;
        - ``subgroup`` (str): the sub-population the statement's denominator
          is, ``""`` for all respondents: the statement's condition (e.g.
          ``member_esr_cirse == "cirse_only"``), the parent of an item asked of
          a sub-group (``outpatient_service == "true"``, see
          :func:`irmodels.data.waves.esr_cirse_2017.subgroup_items`), or the
          departments a printed extreme is over (``n_residents > 0``);
        - ``count_printed`` (Int64): the printed count (for ``R1-01`` and
          ``R5-07`` the count derived from the rows it sums, as in the
          statements file); ``denominator_printed`` (Int64): the denominator
          printed with it; ``percent_printed`` (str, as printed, ``""`` when
          none); ``value_printed`` (Float64): a printed value (extremes);
        - ``basis`` (str): ``data`` or ``margins``;
        - ``count_recomputed`` (Int64): the count in the data, or in the
          margins (missing when the margins only bound it);
          ``count_lower``, ``count_upper`` (Int64): the bounds the margins
          allow for a joint count (max(0, a + b - 98) and min(a, b)); equal
          to ``count_recomputed`` when it is known;
        - ``subgroup_size`` (Int64): departments in the sub-group;
          ``answered`` (Int64): departments answering the item (within the
          sub-group); ``denominator_used`` (Int64): the denominator of the
          recomputed percentage, the paper's own (the one its percentage
          implies, else the printed one, else ``answered``);
        - ``rounding`` (str): ``round`` or ``trunc``, as the paper did;
          ``percent_recomputed`` (str, at the printed decimals, ``""`` when
          no percentage is printed); ``value_recomputed`` (Float64);
        - ``count_matches``, ``denominator_matches`` (printed denominator =
          ``answered``), ``percent_matches``, ``value_matches`` (boolean,
          missing when there is nothing to compare or it cannot be recomputed
          from the basis); a count statement that prints no number is compared
          as an existence ("at least one") or, for "all the others" in the
          same sentence as a printed count, as the sub-group minus that count;
        - ``matches`` (boolean): every comparison made holds (missing when
          none could be made);
        - ``check`` (str): what was compared, in words;
        - ``audit_status``, ``audit_reason``, ``discrepancy_id`` (str): from
          :func:`irmodels.published.audit.audit`, which explains every mismatch.

    Raises
    ------
    ValueError
        For an unknown wave.
    irmodels.core.errors.SchemaError
        If the statements or resolutions are malformed (e.g. a condition that
        is not ``variable == "code"`` or ``variable OP number``).

    Notes
    -----
    A percentage is recomputed as :math:`100\\,k/d` in exact rational
    arithmetic, rounded half-up (or truncated where the paper truncated) to
    the printed decimals. Without respondent-level data a joint count
    :math:`k` of a category with :math:`a` departments inside a sub-group
    of :math:`b` departments is bounded by
    :math:`\\max(0, a + b - 98) \\le k \\le \\min(a, b)`.

    Examples
    --------
    >>> r = descriptive_results().set_index("statement_id")
    >>> row = r.loc["R1-01"]  # "66.3% came from eight nations"
    >>> int(row["count_recomputed"]), row["percent_printed"], row["percent_recomputed"]
    (65, '66.3', '66.3')
    """
    _check_wave(data, wave)
    from irmodels.published.audit import audit
    from irmodels.data.codebook import load_codebook
    from irmodels.data.waves import esr_cirse_2017 as w

    cb = load_codebook()
    st = w.load_statements()
    res = w.load_resolutions()
    au = audit(wave, statements=st).set_index("statement_id")
    by_id = st.set_index("statement_id")
    subgroups = {r.variable: (r.parent, r.category) for r in w.subgroup_items().itertuples()}
    extremes = {str(e["statement"]): e for e in res.get("extremes", []) or []}
    src: _Margins | _Data = _Margins(st, w.N_RESPONDENTS) if data is None else _Data(data, cb)

    sel = st[st["section"].str.startswith(RESULTS_SECTIONS) & st["use"].ne("context")]
    rows = []
    for r in sel.itertuples(index=False):
        a = au.loc[r.statement_id]
        row = _printed_row(r, a, src.basis)
        if r.kind == "value" and r.category in ("min", "max"):
            found = _extreme(row, r, src, extremes)
        elif r.condition:
            found = _conditional(row, r, src, st)
        else:
            found = _unconditional(row, r, src, subgroups, by_id)
        if found is None:
            continue  # the basis lacks a variable of the statement: left out
        checks, subgroup_ok = found
        _compare_percentage(row, r, a, checks)
        row["matches"] = _all_known(row["count_matches"], row["denominator_matches"], row["percent_matches"],
                                    row["value_matches"], subgroup_ok)
        row["check"] = "; ".join(checks)
        rows.append(row)
    return _typed_results(rows)


def _check_wave(data: pd.DataFrame | None, wave: str) -> None:
    """Refuse a wave other than 2017's, and a table of another wave (its counts are not the paper's)."""
    if wave != "esr_cirse_2017":
        raise ValueError(f"unknown wave {wave!r}: descriptive_results recomputes the statements of a published "
                         "paper, and only the 2017 ESR/CIRSE paper's are encoded ('esr_cirse_2017'); for the "
                         "descriptives of another wave use irmodels.published.descriptives.tabulate or `irmodels run` (Table 1)")
    if data is not None and "wave" in data.columns:
        other = sorted(set(data["wave"].dropna().astype(str)) - {wave})
        if other:
            from irmodels.core.errors import Problem, SchemaError
            raise SchemaError([Problem(f"the table is of wave {other[0]!r}, but descriptive_results compares it with "
                                       f"the statements of {wave!r}: a new wave's counts are not the 2017 paper's; "
                                       "use tabulate() or `irmodels run` for its Table 1", column="wave",
                                       value=other[0])], what="descriptive_results")


def _printed_row(r: Any, a: pd.Series, basis: str) -> dict[str, Any]:
    """The result row of statement ``r`` with what the paper prints and the audit says; nothing recomputed yet."""
    return {
        "statement_id": r.statement_id, "section": r.section, "kind": r.kind, "use": r.use,
        "variable": r.variable, "category": r.category, "condition": r.condition, "subgroup": "",
        "count_printed": None if pd.isna(r.count) else int(r.count),
        "denominator_printed": None if pd.isna(r.denominator) else int(r.denominator),
        "percent_printed": r.percent_printed,
        "value_printed": None if pd.isna(r.value) else float(r.value), "basis": basis,
        "count_recomputed": None, "count_lower": None, "count_upper": None, "subgroup_size": None,
        "answered": None, "denominator_used": None,
        "rounding": "trunc" if a["status"] == "truncated" else "round",
        "percent_recomputed": "", "value_recomputed": None,
        "count_matches": None, "denominator_matches": None, "percent_matches": None, "value_matches": None,
        "check": "", "audit_status": a["status"], "audit_reason": a["reason"], "discrepancy_id": a["discrepancy_id"],
    }


def _extreme(row: dict[str, Any], r: Any, src: _Margins | _Data,
             extremes: dict[str, Any]) -> tuple[list[str], Any] | None:
    """A printed extreme (e.g. "up to 90"), over the departments the resolutions say."""
    if not src.has(r.variable):
        return None
    checks: list[str] = []
    among_text = str(extremes.get(r.statement_id, {}).get("among", "") or "")
    among = _parse_condition(among_text) if among_text else None
    row["subgroup"] = among_text
    value, n_over = src.extreme(r.variable, r.category, among)
    row["value_recomputed"], row["answered"] = value, n_over
    if value is not None and row["value_printed"] is not None:
        row["value_matches"] = value == row["value_printed"]
    what = f"{'maximum' if r.category == 'max' else 'minimum'} of {r.variable}"
    what += f" among {among_text}" if among_text else ""
    checks.append(what if value is not None else f"{what}: needs respondent-level data")
    return checks, None


def _conditional(row: dict[str, Any], r: Any, src: _Margins | _Data,
                 st: pd.DataFrame) -> tuple[list[str], Any] | None:
    """A conditional statement: a category counted inside a sub-group."""
    count_printed = row["count_printed"]
    cvar, ccat = _parse_condition(r.condition)
    if not (src.has(r.variable) and src.has(cvar)):
        return None
    checks: list[str] = []
    row["subgroup"] = r.condition
    row["subgroup_size"] = src.size(cvar, ccat)
    k, lo, hi, answered = src.joint(r.variable, r.category, cvar, ccat)
    row.update(count_recomputed=k, count_lower=lo, count_upper=hi, answered=answered)
    siblings = st[
        st["quote"].eq(r.quote) & st["condition"].eq(r.condition) & st["count"].notna()
        & st["statement_id"].ne(r.statement_id)
    ]
    if count_printed is not None:
        target, how = count_printed, f"{r.variable} = {r.category} among {r.condition}: printed {count_printed}"
        test = (lambda x: x == target)
    elif len(siblings):
        size = row["subgroup_size"]
        target = None if size is None else size - int(siblings["count"].sum())
        how = (f"'all the others': {r.variable} = {r.category} among {r.condition} = sub-group minus "
               f"{'+'.join(siblings['statement_id'])}" + ("" if target is None else f" = {target}"))
        test = (lambda x: target is not None and x == target)
    else:
        target, how = 1, f"existence: at least one {r.variable} = {r.category} among {r.condition}"
        test = (lambda x: x >= 1)
    if k is not None:
        row["count_matches"] = bool(test(k))
    elif lo is not None and hi is not None and (target is not None):
        exact = count_printed is not None or len(siblings)
        outside = (target < lo or target > hi) if exact else hi < target
        if outside:
            row["count_matches"] = False
        how += f"; the margins allow {lo} to {hi}"
    checks.append(how)
    return checks, None


def _unconditional(row: dict[str, Any], r: Any, src: _Margins | _Data, subgroups: dict[str, tuple[str, str]],
                   by_id: pd.DataFrame) -> tuple[list[str], Any] | None:
    """An unconditional count or percentage; an item asked of a sub-group is counted within it."""
    count_printed = row["count_printed"]
    checks: list[str] = []
    subgroup_ok = None
    within = subgroups.get(r.variable)
    if within is not None:
        row["subgroup"] = f'{within[0]} == "{within[1]}"'
        row["subgroup_size"] = src.size(*within)
    if src.has(r.variable):
        k, answered = src.count(r.variable, r.category, within)
    else:
        k, answered = None, None
    what = f"{r.variable} = {r.category}"
    if k is None and r.count_source == "derived" and r.restates:
        # e.g. the eight leading nations: the sum of the Table 1 rows it restates
        ids = [s.strip() for s in r.restates.split(";") if s.strip()]
        parts = [by_id.loc[s] for s in ids]
        got = [src.count(p["variable"], p["category"], None) for p in parts if src.has(p["variable"])]
        if len(got) == len(parts) and all(g[0] is not None for g in got):
            k, answered = sum(g[0] for g in got), got[0][1]
            what = f"{r.variable}: sum of {', '.join(ids)}"
    if k is None and answered is None:
        return None
    row.update(count_recomputed=k, count_lower=k, count_upper=k, answered=answered)
    if count_printed is not None and k is not None:
        row["count_matches"] = k == count_printed
    checks.append(what + (f" among {row['subgroup']}" if row["subgroup"] else ""))
    if row["subgroup_size"] is not None and answered is not None:
        subgroup_ok = answered <= row["subgroup_size"]
        checks.append(f"{answered} answers within the sub-group of {row['subgroup_size']}")
    return checks, subgroup_ok


def _compare_percentage(row: dict[str, Any], r: Any, a: pd.Series, checks: list[str]) -> None:
    """The printed denominator and percentage against the recomputed ones, in the paper's own rounding."""
    printed = r.percent_printed
    den_printed = row["denominator_printed"]
    if row["answered"] is not None and den_printed is not None and r.kind != "value":
        row["denominator_matches"] = row["answered"] == den_printed
    # the denominator the paper actually used: the implied one when it reproduces the printed
    # value (e.g. "58 out of 98" printed as 62.4% = 58/93), else the printed one, else the answers
    den = None if pd.isna(a["implied_denominator"]) else int(a["implied_denominator"])
    if den is None:
        den = den_printed if den_printed is not None else row["answered"]
    row["denominator_used"] = den if r.kind != "value" else None
    if printed and row["count_recomputed"] is not None and den:
        row["percent_recomputed"] = _pct(int(row["count_recomputed"]), den, printed, row["rounding"])
        row["percent_matches"] = row["percent_recomputed"] == printed
        checks.append(f"{row['count_recomputed']}/{den} {'truncated' if row['rounding'] == 'trunc' else 'rounded'}")


def _typed_results(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The result rows as a table of :data:`RESULT_COLUMNS` with nullable dtypes."""
    typed = {
        **{c: ("Int64", int) for c in ("count_printed", "denominator_printed", "count_recomputed", "count_lower",
                                       "count_upper", "subgroup_size", "answered", "denominator_used")},
        **{c: ("Float64", float) for c in ("value_printed", "value_recomputed")},
        **{c: ("boolean", bool) for c in ("count_matches", "denominator_matches", "percent_matches", "value_matches",
                                          "matches")},
    }
    cols: dict[str, Any] = {}
    for col in RESULT_COLUMNS:
        vals = [row[col] for row in rows]
        if col in typed:
            dtype, cast = typed[col]
            cols[col] = pd.array([pd.NA if v is None or v is pd.NA else cast(v) for v in vals], dtype=dtype)
        else:
            cols[col] = vals
    return pd.DataFrame(cols, columns=list(RESULT_COLUMNS))
