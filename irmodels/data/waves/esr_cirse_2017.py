"""The 2017 ESR/CIRSE survey: published aggregates, their validation and the adopted margins.

Raw files live in ``data/raw/esr_cirse_2017/`` (never edited by code):
``statements.csv`` (every quantitative statement of the paper, verbatim
quote included) and ``paper.txt`` (the open-access text, CC BY 4.0).
The resolutions of the paper's internal contradictions, and the item
denominators irmodels adopts, are decisions rather than data; they live
next to this module in ``esr_cirse_2017_resolutions.yaml``. The rules every row of the
statements file must satisfy are in :mod:`irmodels.data.waves.esr_cirse_2017_statements`.

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

from irmodels.core.errors import Problem, SchemaError
from irmodels.data.waves.esr_cirse_2017_statements import STATEMENT_COLUMNS, _check_statements

__all__ = ["WAVE", "N_RESPONDENTS", "N_INVITED", "data_dir", "load_statements", "load_resolutions",
           "published_margins", "item_denominators", "membership_readings", "subgroup_items",
           "MEMBERSHIP_COMBINATIONS", "DISCREPANCY_STATUSES"]

WAVE = "esr_cirse_2017"
N_RESPONDENTS = 98
N_INVITED = 1180

#: The ESR x CIRSE membership combinations of the chair (pseudo-variable ``member_esr_cirse``).
MEMBERSHIP_COMBINATIONS: tuple[str, ...] = ("both", "esr_only", "cirse_only", "neither")
#: Statuses of a discrepancy in the resolutions (see the YAML file's header).
DISCREPANCY_STATUSES: tuple[str, ...] = ("contradiction", "tension", "open")
#: The discrepancy whose readings are the membership combinations.
MEMBERSHIP_DISCREPANCY = "D01"
_RESOLUTIONS_FILE = "irmodels/data/waves/esr_cirse_2017_resolutions.yaml"


def data_dir() -> Path:
    """Folder of the wave's raw files.

    ``$IRMODELS_DATA/raw/esr_cirse_2017`` when the environment variable
    ``IRMODELS_DATA`` is set, else ``data/raw/esr_cirse_2017`` of the source
    checkout this package was installed from (editable install).
    """
    env = os.environ.get("IRMODELS_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[3] / "data"
    path = base / "raw" / WAVE
    if not path.is_dir():
        raise FileNotFoundError(
            f"raw data of wave {WAVE!r} not found at {path}; set IRMODELS_DATA to the repository's data/ folder"
        )
    return path


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
    return resources.files("irmodels.data.waves").joinpath("esr_cirse_2017_resolutions.yaml").read_text(encoding="utf-8")


def load_resolutions() -> dict[str, Any]:
    """The adopted resolutions: item denominators, discrepancies, identities, adjustments.

    Returns
    -------
    dict
        Parsed ``esr_cirse_2017_resolutions.yaml`` with keys ``item_n``
        (variable -> answered departments), ``discrepancies`` (list of
        records: ``id, topic, statements, status, readings, adopted, reason,
        rejected`` and optionally ``quotes``; ``readings`` are texts, or records
        for D01, see :func:`membership_readings`), ``identities`` (arithmetic
        identities between statements that the audit checks), ``margins``
        (adopted counts not printed as such, with the rule that gives them),
        ``subgroup_items`` (see :func:`subgroup_items`), ``extremes`` (printed
        minima/maxima and the departments they are over) and ``percent_bases``.
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
    from irmodels.data.codebook import load_codebook

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


def subgroup_items() -> pd.DataFrame:
    """Items the paper reports over a sub-group of departments.

    The denominator of such an item is not all respondents but the departments
    with ``parent == category`` that answered it (e.g. the location of the IR
    outpatient service: 34 of the 56 who answered, among the 57 that run one).

    Returns
    -------
    pandas.DataFrame
        One row per sub-group item, columns ``variable`` (the item), ``parent``
        (the item that defines the sub-group), ``category`` (the parent's code
        that puts a department in the sub-group, text), ``statements``
        (``;``-separated statement ids the reading rests on) and ``rule`` (in words).

    Raises
    ------
    SchemaError
        If an entry lacks ``parent`` or ``category``.

    Examples
    --------
    >>> subgroup_items().set_index("variable").loc["outpatient_location", "parent"]
    'outpatient_service'
    """
    raw = load_resolutions().get("subgroup_items", {}) or {}
    problems = [
        Problem(rule="a sub-group item needs 'parent' and 'category'", file=_RESOLUTIONS_FILE, row=var, column=f)
        for var, spec in raw.items()
        for f in ("parent", "category")
        if not isinstance(spec, dict) or f not in spec
    ]
    if problems:
        raise SchemaError(problems, what="subgroup_items")
    rows = [
        {
            "variable": var,
            "parent": str(spec["parent"]),
            "category": str(spec["category"]),
            "statements": str(spec.get("statements", "")),
            "rule": str(spec.get("rule", "")),
        }
        for var, spec in raw.items()
    ]
    return pd.DataFrame(rows, columns=["variable", "parent", "category", "statements", "rule"])


def _membership_contradictions(counts: dict[str, int], st: pd.DataFrame, item_n: dict[str, int]) -> list[str]:
    """``statement:field`` pairs of the membership statements that ``counts`` does not keep as printed."""
    from irmodels.data.rounding import percent_match

    totals = {
        ("member_esr", "true"): counts["both"] + counts["esr_only"],
        ("member_cirse", "true"): counts["both"] + counts["cirse_only"],
        **{("member_esr_cirse", c): counts[c] for c in MEMBERSHIP_COMBINATIONS},
    }
    out: list[str] = []
    for r in st.itertuples(index=False):
        if r.use != "margin" or r.condition != "" or (r.variable, r.category) not in totals or pd.isna(r.count):
            continue
        value = totals[(r.variable, r.category)]
        if int(r.count) != value:
            out.append(f"{r.statement_id}:count")
        if r.percent_printed and percent_match(value, int(item_n.get(r.variable, N_RESPONDENTS)), r.percent_printed) is None:
            out.append(f"{r.statement_id}:percent")
    for r in st.itertuples(index=False):
        m = re.fullmatch(r'member_esr_cirse == "(\w+)"', r.condition)
        if m is None or m.group(1) not in counts:
            continue
        group = counts[m.group(1)]
        if not pd.isna(r.count) and int(r.count) > group:
            out.append(f"{r.statement_id}:count")
        if not pd.isna(r.denominator) and int(r.denominator) != group:
            out.append(f"{r.statement_id}:denominator")
    return out


def membership_readings(statements: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every reading of the chairs' ESR x CIRSE membership counts (discrepancy D01).

    The paper prints ESR 82 (83.7%), CIRSE 49 (50%), both 39, ESR-only 43,
    CIRSE-only 9, and "7 out of 9" CIRSE-only chairs IR_mostly and one
    DR_IR_equal; 39 + 9 = 48, not 49. Several complete 2 x 2 tables fit all but
    two printed figures each; the resolutions list them, one flagged as the
    default (``adopted``). A reconstruction that needs the membership
    combinations takes one reading as a named assumption (``reading_id``).

    Parameters
    ----------
    statements : DataFrame, optional
        Output of :func:`load_statements`; loaded when omitted.

    Returns
    -------
    pandas.DataFrame
        One row per reading, columns:

        - ``reading_id`` (str): the assumption's name (e.g. ``cirse_only_10``);
        - ``adopted`` (bool): the default reading, used by
          :func:`published_margins`; exactly one is ``True``;
        - ``both, esr_only, cirse_only, neither`` (int): departments per
          membership combination (sum 98);
        - ``member_esr``, ``member_cirse`` (int): the society totals they imply;
        - ``cirse_only_ir_mostly``, ``cirse_only_dr_ir_equal`` (int): the
          printed chair profiles of the CIRSE-only group (R2-10, R2-11; the
          same under every reading), and ``cirse_only_other`` (int): the rest
          of the group, DR or DR_some_IR;
        - ``contradicts`` (str): ``;``-separated ``statement:field`` pairs
          (field ``count``, ``percent`` or ``denominator``) the reading does
          not keep as printed, recomputed from the statements;
        - ``text``, ``evidence`` (str): the reading and the evidence for and
          against it, in words.

    Raises
    ------
    SchemaError
        If a reading's counts are not four non-negative integers summing to
        the 98 respondents, if not exactly one reading is adopted, if the
        CIRSE-only group is smaller than its printed chair profiles, if the
        ``contradicts`` written in the resolutions differ from what the
        statements give, if the discrepancy's ``rejected`` differ from the
        adopted reading's statements, or if the adopted reading differs from
        :func:`published_margins`. Each problem names the reading and the
        values; fix the resolutions file.

    Notes
    -----
    For a reading with counts :math:`(b, e, c, n)` (both, ESR-only,
    CIRSE-only, neither) the implied totals are ESR :math:`= b + e` and CIRSE
    :math:`= b + c`; a printed percentage is kept when the total over the item
    denominator rounds (or truncates) to it
    (:func:`irmodels.data.rounding.percent_match`), and "7 out of 9" keeps its
    denominator when :math:`c = 9`.

    Examples
    --------
    >>> r = membership_readings().set_index("reading_id")
    >>> r.loc[r["adopted"]].index.tolist(), int(r.loc["cirse_only_9", "member_cirse"])
    (['cirse_only_10'], 48)
    """
    st = load_statements() if statements is None else statements
    res = load_resolutions()
    item_n = res["item_n"]
    disc = next((d for d in res.get("discrepancies", []) if d.get("id") == MEMBERSHIP_DISCREPANCY), None)
    if disc is None:
        raise SchemaError(
            [Problem(rule=f"discrepancy {MEMBERSHIP_DISCREPANCY} (membership readings) is missing", file=_RESOLUTIONS_FILE)],
            what="membership_readings",
        )
    profiles = st[st["condition"].eq('member_esr_cirse == "cirse_only"') & st["count"].notna()]
    by_profile = {cat: int(c) for cat, c in zip(profiles["category"], profiles["count"])}
    problems: list[Problem] = []
    rows = []
    for i, rd in enumerate(disc.get("readings", [])):
        if not isinstance(rd, dict):
            problems.append(Problem(rule="a membership reading must be a record with id, adopted, counts, contradicts, evidence",
                                    file=_RESOLUTIONS_FILE, row=f"{MEMBERSHIP_DISCREPANCY} reading {i + 1}", value=rd))
            continue
        rid = str(rd.get("id", f"reading {i + 1}"))
        where = f"{MEMBERSHIP_DISCREPANCY} reading {rid}"
        counts = rd.get("counts") or {}
        if set(counts) != set(MEMBERSHIP_COMBINATIONS) or not all(isinstance(v, int) and v >= 0 for v in counts.values()):
            problems.append(Problem(rule=f"counts must give a non-negative integer for each of {list(MEMBERSHIP_COMBINATIONS)}",
                                    file=_RESOLUTIONS_FILE, row=where, column="counts", value=counts))
            continue
        if sum(counts.values()) != N_RESPONDENTS:
            problems.append(Problem(rule=f"counts must sum to the {N_RESPONDENTS} respondents "
                                    f"(they sum to {sum(counts.values())})", file=_RESOLUTIONS_FILE, row=where, column="counts", value=counts))
        other = counts["cirse_only"] - by_profile.get("IR_mostly", 0) - by_profile.get("DR_IR_equal", 0)
        if other < 0:
            problems.append(Problem(rule="the CIRSE-only group is smaller than its printed chair profiles (R2-10, R2-11)",
                                    file=_RESOLUTIONS_FILE, row=where, column="counts", value=counts["cirse_only"]))
        computed = _membership_contradictions(counts, st, item_n)
        written = [str(x) for x in rd.get("contradicts", [])]
        if sorted(written) != sorted(computed):
            problems.append(Problem(rule="contradicts must list the printed figures this reading overrides: "
                                    f"the statements give {computed}", file=_RESOLUTIONS_FILE, row=where, column="contradicts", value=written))
        rows.append({
            "reading_id": rid,
            "adopted": rd.get("adopted") is True,
            **{c: int(counts[c]) for c in MEMBERSHIP_COMBINATIONS},
            "member_esr": counts["both"] + counts["esr_only"],
            "member_cirse": counts["both"] + counts["cirse_only"],
            "cirse_only_ir_mostly": by_profile.get("IR_mostly", 0),
            "cirse_only_dr_ir_equal": by_profile.get("DR_IR_equal", 0),
            "cirse_only_other": other,
            "contradicts": ";".join(computed),
            "text": str(rd.get("text", "")),
            "evidence": str(rd.get("evidence", "")),
        })
    out = pd.DataFrame(rows)
    if not problems:
        if out.empty or int(out["adopted"].sum()) != 1 or not out["reading_id"].is_unique:
            problems.append(Problem(rule="the readings need unique ids and exactly one 'adopted: true'", file=_RESOLUTIONS_FILE,
                                    row=MEMBERSHIP_DISCREPANCY, column="readings",
                                    value=[] if out.empty else out.loc[out["adopted"], "reading_id"].tolist()))
    if not problems:
        adopted = out.loc[out["adopted"]].iloc[0]
        rejected_expected = sorted({x.split(":")[0] for x in adopted["contradicts"].split(";") if x})
        if sorted(disc.get("rejected", [])) != rejected_expected:
            problems.append(Problem(rule=f"rejected must be the statements the adopted reading overrides: {rejected_expected}",
                                    file=_RESOLUTIONS_FILE, row=MEMBERSHIP_DISCREPANCY, column="rejected",
                                    value=disc.get("rejected", [])))
        pm = published_margins(st)
        pm = pm[pm["variable"].eq("member_esr_cirse")].set_index("category")["count"]
        for c in MEMBERSHIP_COMBINATIONS:
            if c not in pm.index or int(pm[c]) != int(adopted[c]):
                problems.append(Problem(
                    rule=f"the adopted reading {adopted['reading_id']!r} gives {int(adopted[c])}, published_margins() "
                    f"{None if c not in pm.index else int(pm[c])}: update `margins` in the resolutions",
                    file=_RESOLUTIONS_FILE, row=MEMBERSHIP_DISCREPANCY, column=f"member_esr_cirse={c}"))
    if problems:
        raise SchemaError(problems, what="membership readings (discrepancy D01)")
    return out.reset_index(drop=True)

