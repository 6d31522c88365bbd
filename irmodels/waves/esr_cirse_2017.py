"""The 2017 ESR/CIRSE survey: published aggregates, their validation and the adopted margins.

Raw files live in ``data/raw/esr_cirse_2017/`` (never edited by code):
``statements.csv`` (every quantitative statement of the paper, verbatim
quote included) and ``paper.txt`` (the open-access text, CC BY 4.0).
The resolutions of the paper's internal contradictions, and the item
denominators irmodels adopts, are decisions rather than data; they live
next to this module in ``esr_cirse_2017_resolutions.yaml``.

Reference: European Society of Radiology (ESR) and CIRSE (2019),
"Interventional radiology in European radiology departments: a joint survey
from the ESR and CIRSE", Insights into Imaging 10:16,
doi:10.1186/s13244-019-0698-6.
"""

from __future__ import annotations

import functools
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from irmodels.errors import Problem, SchemaError

__all__ = [
    "WAVE",
    "N_RESPONDENTS",
    "N_INVITED",
    "STATEMENT_COLUMNS",
    "data_dir",
    "load_statements",
    "load_resolutions",
    "published_margins",
    "item_denominators",
]

WAVE = "esr_cirse_2017"
N_RESPONDENTS = 98
N_INVITED = 1180

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


def data_dir() -> Path:
    """Folder of the wave's raw files.

    ``$IRMODELS_DATA/raw/esr_cirse_2017`` when the environment variable
    ``IRMODELS_DATA`` is set, else ``data/raw/esr_cirse_2017`` of the source
    checkout this package was installed from (editable install).
    """
    env = os.environ.get("IRMODELS_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / "data"
    path = base / "raw" / WAVE
    if not path.is_dir():
        raise FileNotFoundError(
            f"raw data of wave {WAVE!r} not found at {path}; set IRMODELS_DATA to the repository's data/ folder"
        )
    return path


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


def load_statements(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load and validate the paper's quantitative statements.

    Parameters
    ----------
    path : path-like, optional
        A statements CSV; default ``data_dir() / "statements.csv"``.

    Returns
    -------
    pandas.DataFrame
        One row per statement with the columns of :data:`STATEMENT_COLUMNS`:
        ``statement_id, section, variable, category, condition, kind`` and
        ``count_source, use, restates, quote, note`` (str); ``count`` and
        ``denominator`` (Int64, missing when the paper prints none);
        ``percent_printed`` (str, exactly as printed, "" when none);
        ``value`` (Float64).

    Raises
    ------
    SchemaError
        Listing every problem at once (file, line, column, value, rule):
        missing or unknown columns, malformed or duplicate ids, non-numeric
        counts, a count larger than its denominator, unknown kinds/uses,
        dangling ``restates`` references.

    Examples
    --------
    >>> st = load_statements()
    >>> int(st.loc[st.variable.eq("cover_24_7") & st.use.eq("margin"), "count"].iloc[0])
    60
    """
    file = Path(path) if path is not None else data_dir() / "statements.csv"
    if not file.is_file():
        raise SchemaError([Problem(rule="file not found", file=str(file))], what="statements")
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SchemaError([Problem(rule=f"not a readable CSV: {exc}", file=str(file))], what="statements") from None
    problems = _check_statements(raw, str(file))
    if problems:
        raise SchemaError(problems, what=f"statements file {file}")
    out = raw.loc[:, list(STATEMENT_COLUMNS)].copy()
    for col in ("count", "denominator"):
        out[col] = pd.array([int(v) if v != "" else pd.NA for v in out[col]], dtype="Int64")
    out["value"] = pd.array([float(v) if v != "" else pd.NA for v in out["value"]], dtype="Float64")
    return out


@functools.cache
def _resolutions_text() -> str:
    return resources.files("irmodels.waves").joinpath("esr_cirse_2017_resolutions.yaml").read_text(encoding="utf-8")


def load_resolutions() -> dict[str, Any]:
    """The adopted resolutions: item denominators, discrepancies, identities, adjustments.

    Returns
    -------
    dict
        Parsed ``esr_cirse_2017_resolutions.yaml`` with keys ``item_n``
        (variable -> answered departments), ``discrepancies`` (list of
        records: ``id, topic, statements, readings, adopted, reason``),
        ``identities`` (arithmetic identities between statements that the audit
        checks) and ``margins`` (adopted counts not printed as such, with the
        rule that gives them).
    """
    return yaml.safe_load(_resolutions_text())


def item_denominators() -> pd.Series:
    """Adopted number of departments answering each item (Series indexed by variable)."""
    return pd.Series(load_resolutions()["item_n"], name="item_n", dtype="Int64")


def published_margins(statements: pd.DataFrame | None = None) -> pd.DataFrame:
    """The marginal counts every 2017 reconstruction must reproduce exactly.

    Printed margin statements (``use == "margin"``, unconditional, codebook
    variables) are taken as printed, then the adopted resolutions are applied
    (counts implied by a printed percentage, residual categories, and the
    documented corrections of contradictions).

    Parameters
    ----------
    statements : DataFrame, optional
        Output of :func:`load_statements`; loaded when omitted.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable, category, count, item_n, source, statement_id``:
        ``count`` (int) departments in the category among the ``item_n``
        (int) that answered the item; ``source`` is ``printed``, ``implied``
        (from a printed percentage), ``residual`` (item_n minus the printed
        categories) or ``resolution`` (a discrepancy's adopted reading);
        ``statement_id`` names the statement(s) it rests on.
    """
    from irmodels.codebook import load_codebook

    st = load_statements() if statements is None else statements
    cb = load_codebook()
    res = load_resolutions()
    item_n = res["item_n"]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    sel = st[
        st["use"].eq("margin") & st["condition"].eq("") & st["variable"].isin([*cb, *item_n]) & st["count"].notna()
    ]
    for r in sel.itertuples(index=False):
        rows[(r.variable, r.category)] = {
            "variable": r.variable,
            "category": r.category,
            "count": int(r.count),
            "source": "printed",
            "statement_id": r.statement_id,
        }
    for m in res.get("margins", []):
        key = (m["variable"], str(m["category"]))
        rows[key] = {
            "variable": m["variable"],
            "category": str(m["category"]),
            "count": int(m["count"]),
            "source": m["source"],
            "statement_id": m.get("statements", ""),
        }
    out = pd.DataFrame(list(rows.values()))
    out["item_n"] = out["variable"].map(item_n)
    missing = sorted(set(out.loc[out["item_n"].isna(), "variable"]))
    if missing:
        raise SchemaError([Problem(rule="no adopted item denominator (item_n) in the resolutions", column=v) for v in missing])
    out["item_n"] = out["item_n"].astype(int)

    def order(row: pd.Series) -> int:
        if row["variable"] not in cb:  # pseudo-variables (e.g. member_esr_cirse) keep file order
            return 0
        cats = cb[row["variable"]].get("categories")
        if cats is None:
            return 0 if row["category"] == "true" else 1
        codes = [str(c["code"]) for c in cats]
        return codes.index(row["category"]) if row["category"] in codes else len(codes)

    var_order = {v: i for i, v in enumerate(cb)}
    out["_v"] = out["variable"].map(var_order).fillna(len(var_order))
    out["_c"] = out.apply(order, axis=1)
    out = out.sort_values(["_v", "_c"], kind="stable").drop(columns=["_v", "_c"]).reset_index(drop=True)
    return out[["variable", "category", "count", "item_n", "source", "statement_id"]]
