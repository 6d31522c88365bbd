"""Mapping a survey-tool export (LimeSurvey / Qualtrics style) onto the canonical table.

A mapping is a YAML file a user writes once per questionnaire. Fields (see
``data/raw/simulated_demo/mapping.yaml`` for a complete example):

``wave`` (required)
    The wave identifier written to every row.
``format``
    ``csv`` or ``xlsx`` (default: from the file extension).
``sheet``
    XLSX only: sheet name (default: the first sheet).
``delimiter``, ``encoding``
    CSV only (defaults ``","`` and ``utf-8-sig``).
``header_row``
    1-based row holding the column codes (default 1).
``skip_rows``
    1-based rows after the header that are not responses (e.g. the question texts that
    LimeSurvey/Qualtrics put in a second or third header row).
``respondent_id``
    ``{column: <export column>}``: the identifier of a response.
``exclude``
    Rules that remove whole responses, each ``{column, reason}`` plus one of
    ``equals: value``, ``in: [values]`` or ``missing: true``. Every excluded response is
    reported; nothing else is ever removed.
``columns``
    ``<canonical name>: {column: <export column>, codes: {...}, recode: {...}, missing: [...],
    other: {code: ..., text_column: ...}}``. ``codes`` maps answer codes to canonical values
    (``Y: true``, ``A1: "<200"``); when present every answer must be a code (after
    ``recode``), else the import fails naming the row and value. ``recode`` maps known dirty
    values to codes and is reported. ``missing`` lists values that mean "no answer"
    (default ``[""]``; others are reported). ``other`` names the code of an "Other" answer
    and the column holding its free text: the canonical value is missing and the text is
    reported.
``derive_share_classes``
    If true, share classes missing from ``columns`` are computed from the counts
    (:func:`irmodels.schema.share_class`).
``free_text``
    Export columns with free text: every non-empty answer is copied into the report.
``ignore``
    Export columns deliberately not used (e.g. timestamps). Any other export column that the
    mapping does not mention is reported as ``unmapped``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from irmodels.errors import MappingError, Problem

__all__ = ["Mapping", "load_mapping", "read_export", "apply_mapping", "REPORT_COLUMNS"]

REPORT_COLUMNS = ["row", "column", "value", "action", "reason"]
_TOP = {"wave", "format", "sheet", "delimiter", "encoding", "header_row", "skip_rows", "respondent_id", "exclude",
        "columns", "derive_share_classes", "free_text", "ignore", "description"}
_COLFIELDS = {"column", "codes", "recode", "missing", "other", "note"}


@dataclass
class Mapping:
    """A parsed and checked import mapping (see the module docstring for the fields)."""

    path: str
    wave: str
    format: str | None = None
    sheet: str | int | None = None
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    header_row: int = 1
    skip_rows: list[int] = field(default_factory=list)
    respondent_id: str = ""
    exclude: list[dict[str, Any]] = field(default_factory=list)
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    derive_share_classes: bool = False
    free_text: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)


def _s(v: Any) -> str:
    """Canonical string form of a YAML key/value or cell ("Y", "1", "true")."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def load_mapping(path: str | os.PathLike) -> Mapping:
    """Read and check a mapping YAML; raise :class:`MappingError` listing every problem."""
    from irmodels.schema import canonical_columns

    p = Path(path)
    where = str(p)
    if not p.is_file():
        raise MappingError([Problem("mapping file not found", file=where)], what=where)
    try:
        spec = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError([Problem(f"not valid YAML: {exc}", file=where)], what=where) from None
    if not isinstance(spec, dict):
        raise MappingError([Problem("the mapping must be a YAML mapping (key: value)", file=where)], what=where)
    probs: list[Problem] = []
    for k in spec:
        if k not in _TOP:
            probs.append(Problem(f"unknown field; allowed: {sorted(_TOP)}", file=where, column=str(k)))
    for k in ("wave", "respondent_id", "columns"):
        if k not in spec:
            probs.append(Problem("required field is missing", file=where, column=k))
    canon = set(canonical_columns())
    cols = spec.get("columns") or {}
    if not isinstance(cols, dict):
        probs.append(Problem("columns must be a mapping canonical_name: {column: ...}", file=where, column="columns"))
        cols = {}
    for name, c in cols.items():
        if name not in canon or name in ("wave", "respondent_id"):
            probs.append(Problem("not a canonical column (wave and respondent_id have their own fields)",
                                 file=where, column=f"columns.{name}"))
        if not isinstance(c, dict) or "column" not in c:
            probs.append(Problem("needs {column: <export column>}", file=where, column=f"columns.{name}"))
            continue
        for f in c:
            if f not in _COLFIELDS:
                probs.append(Problem(f"unknown field; allowed: {sorted(_COLFIELDS)}", file=where, column=f"columns.{name}.{f}"))
        for f in ("codes", "recode"):
            if f in c and not isinstance(c[f], dict):
                probs.append(Problem("must be a mapping", file=where, column=f"columns.{name}.{f}"))
        oth = c.get("other")
        if oth is not None and not (isinstance(oth, dict) and "code" in oth):
            probs.append(Problem("other needs {code: ..., text_column: ...}", file=where, column=f"columns.{name}.other"))
    rid = spec.get("respondent_id")
    if rid is not None and not (isinstance(rid, dict) and "column" in rid):
        probs.append(Problem("respondent_id must be {column: <export column>}", file=where, column="respondent_id"))
    excl = spec.get("exclude") or []
    for i, r in enumerate(excl if isinstance(excl, list) else [excl]):
        ok = isinstance(r, dict) and "column" in r and "reason" in r and sum(k in r for k in ("equals", "in", "missing")) == 1
        if not ok:
            probs.append(Problem("each rule needs column, reason and exactly one of equals / in / missing",
                                 file=where, row=f"exclude[{i}]"))
    fmt = spec.get("format")
    if fmt is not None and fmt not in ("csv", "xlsx"):
        probs.append(Problem("format must be csv or xlsx", file=where, column="format", value=fmt))
    hr = spec.get("header_row", 1)
    if not isinstance(hr, int) or hr < 1:
        probs.append(Problem("header_row must be a positive integer", file=where, column="header_row", value=hr))
    sk = spec.get("skip_rows", []) or []
    if not isinstance(sk, list) or not all(isinstance(x, int) for x in sk):
        probs.append(Problem("skip_rows must be a list of row numbers", file=where, column="skip_rows", value=sk))
    if probs:
        raise MappingError(probs, what=where)
    return Mapping(
        path=where, wave=str(spec["wave"]), format=fmt, sheet=spec.get("sheet"),
        delimiter=spec.get("delimiter", ","), encoding=spec.get("encoding", "utf-8-sig"),
        header_row=hr, skip_rows=list(sk), respondent_id=str(rid["column"]),
        exclude=list(excl) if isinstance(excl, list) else [excl], columns=cols,
        derive_share_classes=bool(spec.get("derive_share_classes", False)),
        free_text=list(spec.get("free_text") or []), ignore=list(spec.get("ignore") or []),
    )


def read_export(path: str | os.PathLike, mapping: Mapping) -> pd.DataFrame:
    """Read a CSV/XLSX export as strings; the index is the 1-based file row of each response.

    Raises
    ------
    MappingError
        File missing or unreadable, header row absent, duplicate or empty column names, no
        responses after the header rows.
    """
    p = Path(path)
    where = str(p)
    if not p.is_file():
        raise MappingError([Problem("export file not found", file=where)], what=where)
    fmt = mapping.format or ("xlsx" if p.suffix.lower() in (".xlsx", ".xlsm") else "csv")
    rows: list[tuple[int, list[str]]] = []
    try:
        if fmt == "xlsx":
            import openpyxl

            wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
            ws = wb[mapping.sheet] if isinstance(mapping.sheet, str) else wb.worksheets[mapping.sheet or 0]
            for i, r in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
                rows.append((i, [_s(v).strip() if isinstance(v, str) else _s(v) for v in r]))
            wb.close()
        else:
            with open(p, newline="", encoding=mapping.encoding) as fh:
                reader = csv.reader(fh, delimiter=mapping.delimiter)
                start = 1
                for rec in reader:
                    rows.append((start, rec))
                    start = reader.line_num + 1
    except (OSError, UnicodeDecodeError, csv.Error, KeyError, IndexError, ValueError) as exc:
        raise MappingError([Problem(f"cannot read the export as {fmt}: {exc}", file=where)], what=where) from None
    if not rows:
        raise MappingError([Problem("the export is empty", file=where)], what=where)
    hdr = [r for line, r in rows if line == mapping.header_row]
    if not hdr:
        raise MappingError([Problem(f"header row {mapping.header_row} is not in the file", file=where)], what=where)
    header = [h.strip() for h in hdr[0]]
    probs = []
    seen: set[str] = set()
    for j, h in enumerate(header):
        if h == "" and any(len(r) > j and r[j] != "" for line, r in rows if line > mapping.header_row):
            probs.append(Problem(f"column {j + 1} has values but no name", file=where, row=mapping.header_row))
        if h and h in seen:
            probs.append(Problem("duplicate column name in the header", file=where, row=mapping.header_row, column=h))
        seen.add(h)
    data = [(line, r) for line, r in rows if line > mapping.header_row and line not in mapping.skip_rows
            and any(c.strip() for c in r)]
    if not data:
        probs.append(Problem("the export has no responses after the header rows", file=where))
    for line, r in data:
        if len(r) > len(header):
            probs.append(Problem(f"row has {len(r)} fields but the header has {len(header)}", file=where, row=line))
    if probs:
        raise MappingError(probs, what=where)
    width = len(header)
    frame = pd.DataFrame([r + [""] * (width - len(r)) for _, r in data], columns=header,
                         index=pd.Index([line for line, _ in data], name="row"), dtype=object)
    return frame.loc[:, [h for h in header if h]]


def apply_mapping(
    raw: pd.DataFrame, mapping: Mapping, *, source: str, problems: list[Problem] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map an export (from :func:`read_export`) to canonical columns; return (table, report).

    The table still has the file rows as index and raw (string/bool) values: it is validated
    by the caller.

    Parameters
    ----------
    raw : pandas.DataFrame
        The export as read by :func:`read_export`.
    mapping : Mapping
        The parsed mapping.
    source : str
        File name reported in every problem.
    problems : list of Problem, optional
        If given, answers that are not codes are appended here (their cell becomes missing)
        instead of raising, so that the caller can validate the rest of the table and report
        every problem of the export in one error (:func:`irmodels.io.import_wave` does this).

    Raises
    ------
    MappingError
        The mapping names export columns that do not exist (always raised: nothing can be
        mapped then); answers that are not codes (only when ``problems`` is None). Every
        problem is listed.
    """
    from irmodels.schema import SHARE_RULES, _share_class_vec

    probs: list[Problem] = []
    report: list[tuple[Any, ...]] = []
    used: set[str] = {mapping.respondent_id, *mapping.free_text, *mapping.ignore}
    needed = [("respondent_id", mapping.respondent_id)]
    for name, c in mapping.columns.items():
        needed.append((f"columns.{name}", c["column"]))
        used.add(c["column"])
        oth = c.get("other") or {}
        if oth.get("text_column"):
            needed.append((f"columns.{name}.other.text_column", oth["text_column"]))
            used.add(oth["text_column"])
    for i, r in enumerate(mapping.exclude):
        needed.append((f"exclude[{i}]", r["column"]))
        used.add(r["column"])
    for f in mapping.free_text:
        needed.append(("free_text", f))
    for where, col in needed:
        if col not in raw.columns:
            probs.append(Problem(f"the mapping ({where}) names an export column that does not exist; "
                                 f"export columns: {list(raw.columns)}", file=mapping.path, column=col))
    if probs:
        raise MappingError(probs, what=source)
    # answer-code problems: the cell becomes missing and the problem is kept, so that the
    # caller can go on to schema validation and report everything at once
    code_probs: list[Problem] = problems if problems is not None else []
    for col in raw.columns:
        if col not in used:
            report.append((None, col, None, "unmapped", "export column not used by the mapping (add it to ignore to silence)"))

    keep = pd.Series(True, index=raw.index)
    for r in mapping.exclude:
        v = raw[r["column"]].astype(str).str.strip()
        if "equals" in r:
            hit = v == _s(r["equals"])
        elif "in" in r:
            hit = v.isin([_s(x) for x in r["in"]])
        else:
            hit = v == "" if r["missing"] else v != ""
        hit &= keep
        for line in raw.index[hit]:
            report.append((line, r["column"], raw.at[line, r["column"]], "excluded", str(r["reason"])))
        keep &= ~hit
    raw = raw.loc[keep]

    out = pd.DataFrame(index=raw.index)
    out["respondent_id"] = raw[mapping.respondent_id].astype(str).str.strip()
    out["wave"] = mapping.wave
    for name, c in mapping.columns.items():
        col = c["column"]
        codes = {_s(k): v for k, v in (c.get("codes") or {}).items()}
        recode = {_s(k): _s(v) for k, v in (c.get("recode") or {}).items()}
        missing = {_s(x) for x in c.get("missing", [""])} | {""}
        oth = c.get("other") or {}
        oth_code = _s(oth["code"]) if oth else None
        vals: list[Any] = []
        for line, v in raw[col].items():
            v0 = "" if v is None else str(v).strip()
            v1 = v0
            if v1 in recode:
                v1 = recode[v1]
                report.append((line, col, v0, "recoded", f"{v0!r} -> {v1!r} before coding ({name})"))
            if v1 in missing:
                if v1 != "":
                    report.append((line, col, v0, "recoded", f"{v0!r} means no answer: missing ({name})"))
                vals.append(None)
            elif oth_code is not None and v1 == oth_code:
                text = raw.at[line, oth["text_column"]] if oth.get("text_column") else ""
                report.append((line, oth.get("text_column", col), text, "other_text",
                               f"answer 'other' for {name}: kept as missing; free text kept here"))
                vals.append(None)
            elif codes:
                if v1 in codes:
                    vals.append(codes[v1])
                else:
                    vals.append(None)
                    code_probs.append(Problem(f"answer is not a code of {name}; valid codes: {sorted(codes)} "
                                         "(add it to codes or recode in the mapping)", file=source, row=line,
                                         column=col, value=v0))
            else:
                vals.append(v1)
        out[name] = pd.Series(vals, index=raw.index, dtype=object)
    for f in mapping.free_text:
        for line, v in raw[f].items():
            if str(v).strip():
                report.append((line, f, v, "free_text", "free-text answer (not mapped; kept in the report)"))
    if problems is None and code_probs:
        raise MappingError(code_probs, what=source)
    if mapping.derive_share_classes:
        for cls, (num, den) in SHARE_RULES.items():
            if cls in out.columns or num not in out.columns or den not in out.columns:
                continue
            n_ = pd.to_numeric(out[num], errors="coerce")
            d_ = pd.to_numeric(out[den], errors="coerce")
            ok = n_.notna() & d_.notna() & (d_ > 0) & (n_ >= 0) & (n_ <= d_)
            vals = pd.Series(None, index=out.index, dtype=object)
            if ok.any():
                vals[ok] = _share_class_vec(cls, n_[ok].astype(int).to_numpy(), d_[ok].astype(int).to_numpy())
            out[cls] = vals
    rep = pd.DataFrame(report, columns=REPORT_COLUMNS)
    return out, rep
