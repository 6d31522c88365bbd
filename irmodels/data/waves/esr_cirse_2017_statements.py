"""The rules every row of the 2017 statements file must satisfy (``data/raw/esr_cirse_2017/statements.csv``).

:data:`STATEMENT_COLUMNS` are its columns; :func:`_check_statements` lists every problem of the
raw table (file, line, column, value, rule) before :func:`irmodels.data.waves.esr_cirse_2017.load_statements`
types it: ids, kinds, uses, count sources, numbers, required quotes, restatement references.
"""

from __future__ import annotations

import re

import pandas as pd

from irmodels.core.errors import Problem

__all__ = ["STATEMENT_COLUMNS"]

STATEMENT_COLUMNS: tuple[str, ...] = (
    "statement_id",
    "section",
    "variable",
    "category",
    "condition",
    "kind",
    "count",
    "count_source",
    "denominator",
    "percent_printed",
    "value",
    "use",
    "restates",
    "quote",
    "note",
)
KINDS = ("count", "value", "percent")
USES = ("margin", "restatement", "constraint", "derived", "context")
COUNT_SOURCES = ("", "stated", "derived")
_ID_RE = re.compile(r"^(ABS|KP|MM|RES|T1|R[1-5]|DIS|AP)-\d{2}$")
_PCT_RE = re.compile(r"^\d+(\.\d+)?$")
_INT_RE = re.compile(r"^\d+$")
_NUM_RE = re.compile(r"^\d+(\.\d+)?$")


def _check_statements(raw: pd.DataFrame, file: str) -> list[Problem]:
    """All problems of a raw statements table (strings as read)."""
    problems: list[Problem] = []
    missing = [c for c in STATEMENT_COLUMNS if c not in raw.columns]
    for c in missing:
        problems.append(Problem(rule=f"required column is missing (columns must be {list(STATEMENT_COLUMNS)})", file=file, column=c))
    extra = [c for c in raw.columns if c not in STATEMENT_COLUMNS]
    for c in extra:
        problems.append(Problem(rule="unknown column", file=file, column=c))
    if missing:
        return problems
    seen: dict[str, int] = {}
    for i, r in raw.iterrows():
        line = int(i) + 2  # header is line 1
        sid = r["statement_id"]

        def bad(col: str, rule: str) -> None:
            problems.append(Problem(rule=rule, file=file, row=line, column=col, value=r[col]))

        if not _ID_RE.match(sid):
            bad("statement_id", "must look like SEC-NN with SEC in ABS, KP, MM, RES, T1, R1..R5, DIS, AP")
        if sid in seen:
            bad("statement_id", f"duplicate id (first on line {seen[sid]})")
        else:
            seen[sid] = line
        if r["kind"] not in KINDS:
            bad("kind", f"must be one of {list(KINDS)}")
        if r["use"] not in USES:
            bad("use", f"must be one of {list(USES)}")
        if r["count_source"] not in COUNT_SOURCES:
            bad("count_source", "must be empty, 'stated' or 'derived'")
        for col in ("count", "denominator"):
            if r[col] != "" and not _INT_RE.match(r[col]):
                bad(col, "must be a non-negative integer or empty")
        if r["denominator"] != "" and _INT_RE.match(r["denominator"]) and int(r["denominator"]) == 0:
            bad("denominator", "must be positive")
        if r["count"] != "" and r["count_source"] == "":
            bad("count_source", "a count needs count_source 'stated' or 'derived'")
        if (
            r["count"] != ""
            and r["denominator"] != ""
            and _INT_RE.match(r["count"])
            and _INT_RE.match(r["denominator"])
            and int(r["count"]) > int(r["denominator"])
        ):
            bad("count", f"count {r['count']} is larger than its denominator {r['denominator']}")
        if r["percent_printed"] != "" and not _PCT_RE.match(r["percent_printed"]):
            bad("percent_printed", "must be the printed number without '%' (digits, optional decimals)")
        elif r["percent_printed"] != "" and float(r["percent_printed"]) > 100:
            bad("percent_printed", "a percentage cannot exceed 100")
        if r["value"] != "" and not _NUM_RE.match(r["value"]):
            bad("value", "must be a number or empty")
        if r["kind"] == "count" and r["count"] == "" and r["use"] != "constraint":
            # only constraints may state existence without a number ("there are both ... and ...")
            bad("count", "kind 'count' needs a count (only a constraint may state mere existence)")
        if r["kind"] == "percent" and r["percent_printed"] == "":
            bad("percent_printed", "kind 'percent' needs a printed percentage")
        if r["kind"] == "value" and r["value"] == "" and r["count"] == "":
            bad("value", "kind 'value' needs a value")
        if r["quote"].strip() == "":
            bad("quote", "every statement needs its verbatim quote")
        if r["use"] == "restatement" and r["restates"] == "":
            bad("restates", "a restatement must name the statement it restates")
    ids = set(raw["statement_id"])
    for i, r in raw.iterrows():
        for ref in filter(None, (s.strip() for s in r["restates"].split(";"))):
            if ref not in ids:
                problems.append(
                    Problem(rule="restates an id that does not exist", file=file, row=int(i) + 2, column="restates", value=ref)
                )
    return problems

