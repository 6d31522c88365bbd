"""Reading survey-tool exports (CSV / XLSX) as text cells, with the header layouts of the tools.

Every export is read as strings (the mapping decides what a cell means); the index of the
returned frame is the 1-based row of the file, so that every problem can name its row.

Header layouts (the ``source`` presets; each option can also be given on its own):

``limesurvey``
    CSV; row 1 the question codes (``Q01country``), row 2 the question texts ("full
    headings"); UTF-8 with or without BOM. LimeSurvey writes ``,`` and ``.``; a file re-saved
    by a German Excel has ``;`` and decimal commas: state ``delimiter: ";"`` and
    ``decimal: ","`` next to the preset.
``qualtrics``
    CSV; row 1 the column names (``Q1``, ``Q5_1``), row 2 the question texts, row 3 the
    ImportId JSON (``{"ImportId":"QID1"}``). Row 3 is checked: a cell that is not such JSON
    means the export does not have the three-row layout (legacy exports have two; set
    ``import_id_row: null``).
``surveymonkey``
    XLSX; row 1 the question texts (a question with several answer columns is one merged
    cell spanning them), row 2 the sub-answers (``Response`` for a single answer, the option
    or field text otherwise). The column name is the question text, or
    ``"<question> | <sub-answer>"`` when the sub-answer is not ``Response`` /
    ``Open-Ended Response`` / empty. A blank question cell that is not part of a merged cell
    but has a sub-answer continues the question to its left (the CSV form of the same export).

Options (:class:`ReaderOptions`): ``format`` (csv/xlsx), ``sheet``, ``delimiter`` (or
``auto``: the one of ``,`` ``;`` tab most frequent in the header row), ``encoding``,
``decimal`` (``.`` or ``,``: used by :func:`parse_number`), ``header_row``, ``text_row``,
``import_id_row``, ``subheader_row``, ``skip_rows``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from irmodels.core.errors import MappingError, Problem

__all__ = ["ReaderOptions", "PRESETS", "read_export", "parse_number", "cell_text"]

#: Reader options of each survey tool's standard export (see the module docstring).
PRESETS: dict[str, dict[str, Any]] = {
    "limesurvey": {"format": "csv", "delimiter": ",", "encoding": "utf-8-sig", "decimal": ".",
                   "header_row": 1, "text_row": 2},
    "qualtrics": {"format": "csv", "delimiter": ",", "encoding": "utf-8-sig", "decimal": ".",
                  "header_row": 1, "text_row": 2, "import_id_row": 3},
    "surveymonkey": {"format": "xlsx", "decimal": ".", "header_row": 1, "subheader_row": 2},
}

#: Sub-answers that mean "the single answer of this question" in a SurveyMonkey export.
SINGLE_ANSWER = {"", "response", "open-ended response"}


@dataclass
class ReaderOptions:
    """How to read an export (see the module docstring)."""

    format: str | None = None
    sheet: str | int | None = None
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    decimal: str = "."
    header_row: int = 1
    text_row: int | None = None
    import_id_row: int | None = None
    subheader_row: int | None = None
    skip_rows: list[int] = field(default_factory=list)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> "ReaderOptions":
        """Options from a mapping: the ``source`` preset, overridden by explicit options."""
        merged: dict[str, Any] = dict(PRESETS.get(spec.get("source") or "", {}))
        names = {f.name for f in fields(cls)}
        merged.update({k: v for k, v in spec.items() if k in names})
        merged["skip_rows"] = list(merged.get("skip_rows") or [])
        return cls(**merged)

    def header_rows(self) -> list[int]:
        """Every row that is a header (not a response)."""
        rows = [self.header_row, self.text_row, self.import_id_row, self.subheader_row, *self.skip_rows]
        return sorted({r for r in rows if r is not None})


def cell_text(v: Any) -> str:
    """Canonical text of a cell or YAML scalar (``"Y"``, ``"1"`` for 1.0, ``"true"``)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat") and not isinstance(v, str):
        return str(v)
    return str(v)


_NUM = {".": re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"),
        ",": re.compile(r"^[+-]?(?:\d+(?:,\d*)?|,\d+)$")}


def parse_number(text: str, decimal: str = ".") -> float | None:
    """A number written with the given decimal separator, or None if the text is not one.

    With ``decimal=","`` (a German Excel), ``"3,5"`` is 3.5 and a ``.`` is refused (it
    would be a thousands separator there: ``"1.250"`` is ambiguous, so it is not a number).

    Examples
    --------
    >>> parse_number("3,5", ","), parse_number("3.5", ","), parse_number("253")
    (3.5, None, 253.0)
    """
    t = text.strip()
    if not _NUM[decimal].match(t):
        return None
    return float(t.replace(",", ".")) if decimal == "," else float(t)


def _fail(where: str, rule: str, **kw: Any) -> MappingError:
    return MappingError([Problem(rule, file=where, **kw)], what=where)


def _read_rows_csv(p: Path, opts: ReaderOptions) -> list[tuple[int, list[str]]]:
    with open(p, newline="", encoding=opts.encoding) as fh:
        text = fh.read()
    delim = opts.delimiter
    if delim == "auto":
        first = text.split("\n", 1)[0]
        delim = max([",", ";", "\t"], key=first.count)
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    start = 1
    for rec in reader:
        rows.append((start, rec))
        start = reader.line_num + 1
    return rows


def _read_rows_xlsx(p: Path, opts: ReaderOptions) -> tuple[list[tuple[int, list[str]]], dict[tuple[int, int], int]]:
    """Rows of the sheet, and for each merged cell (row, col) the first column of its range."""
    import openpyxl

    merged_from: dict[tuple[int, int], int] = {}
    read_only = opts.subheader_row is None  # merged ranges need the full (not read-only) workbook
    wb = openpyxl.load_workbook(p, read_only=read_only, data_only=True)
    try:
        ws = wb[opts.sheet] if isinstance(opts.sheet, str) else wb.worksheets[opts.sheet or 0]
        if not read_only:
            for rng in ws.merged_cells.ranges:
                for r in range(rng.min_row, rng.max_row + 1):
                    for c in range(rng.min_col, rng.max_col + 1):
                        merged_from[(r, c)] = rng.min_col
        rows = [(i, [cell_text(v).strip() if isinstance(v, str) else cell_text(v) for v in r])
                for i, r in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)]
    finally:
        wb.close()
    return rows, merged_from


def _subheader_names(top: list[str], sub: list[str], merged_from: dict[tuple[int, int], int],
                     header_row: int) -> list[str]:
    names: list[str] = []
    width = max(len(top), len(sub))
    top = top + [""] * (width - len(top))
    sub = sub + [""] * (width - len(sub))
    question = ""
    for j in range(width):
        q = top[j].strip()
        first = merged_from.get((header_row, j + 1))
        if first is not None and first != j + 1:
            q = top[first - 1].strip()
        elif q == "" and sub[j].strip() and question:
            q = question  # continuation of the question on the left (CSV form of the export)
        question = q or question
        s = sub[j].strip()
        names.append(q if s.casefold() in SINGLE_ANSWER else (f"{q} | {s}" if q else s))
    return names


def read_export(path: str | os.PathLike, opts: ReaderOptions) -> pd.DataFrame:
    """Read a CSV/XLSX export as strings; the index is the 1-based file row of each response.

    Parameters
    ----------
    path : path-like
        The export as downloaded.
    opts : ReaderOptions
        Format, delimiter, encoding and header layout.

    Returns
    -------
    pandas.DataFrame
        One column per named export column (strings, ``""`` for an empty cell), index
        ``row`` = file row of the response (header rows are not responses).

    Raises
    ------
    MappingError
        File missing or unreadable, header row absent, duplicate or empty column names, a
        Qualtrics ImportId row that is not ImportId JSON, a row longer than the header, no
        responses after the header rows; every problem at once.
    """
    p = Path(path)
    where = str(p)
    if not p.is_file():
        raise _fail(where, "export file not found")
    fmt = opts.format or ("xlsx" if p.suffix.lower() in (".xlsx", ".xlsm") else "csv")
    merged_from: dict[tuple[int, int], int] = {}
    try:
        if fmt == "xlsx":
            rows, merged_from = _read_rows_xlsx(p, opts)
        else:
            rows = _read_rows_csv(p, opts)
    except UnicodeDecodeError as exc:  # the whole file is decoded at once: exc.start is a byte offset in it
        line = p.read_bytes()[: exc.start].count(b"\n") + 1
        raise _fail(where, f"cannot decode the export as {opts.encoding} (byte {exc.object[exc.start:exc.start + 1]!r}): "
                    "state the file's encoding in the mapping (encoding: cp1252, latin-1, utf-16, ...)",
                    row=line) from None
    except (OSError, csv.Error, KeyError, IndexError, ValueError) as exc:
        raise _fail(where, f"cannot read the export as {fmt}: {exc}") from None
    except Exception as exc:  # openpyxl raises zipfile/XML errors for a file that is not XLSX
        raise _fail(where, f"cannot read the export as {fmt} ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not rows:
        raise _fail(where, "the export is empty")
    by_line = dict(rows)
    if opts.header_row not in by_line:
        raise _fail(where, f"header row {opts.header_row} is not in the file")
    probs: list[Problem] = []
    top = [h.strip() for h in by_line[opts.header_row]]
    if opts.subheader_row is not None:
        if opts.subheader_row not in by_line:
            raise _fail(where, f"sub-answer header row {opts.subheader_row} is not in the file")
        header = _subheader_names(top, by_line[opts.subheader_row], merged_from, opts.header_row)
    else:
        header = top
    if opts.import_id_row is not None:
        for j, cell in enumerate(by_line.get(opts.import_id_row, [])):
            if not cell.strip():
                continue
            try:
                ok = isinstance(json.loads(cell), dict) and "ImportId" in json.loads(cell)
            except ValueError:
                ok = False
            if not ok:
                probs.append(Problem(
                    f"row {opts.import_id_row} should hold Qualtrics ImportId JSON ({{\"ImportId\":\"QID1\"}}); "
                    "this export does not have the three-row Qualtrics header (set import_id_row: null "
                    "for a legacy two-row export)", file=where, row=opts.import_id_row,
                    column=header[j] if j < len(header) else None, value=cell))
                break
    last_header = max(opts.header_rows())
    skip = set(opts.header_rows())
    seen: set[str] = set()
    for j, h in enumerate(header):
        if h == "" and any(len(r) > j and r[j] != "" for line, r in rows if line > last_header):
            probs.append(Problem(f"column {j + 1} has values but no name", file=where, row=opts.header_row))
        if h and h in seen:
            probs.append(Problem("duplicate column name in the header", file=where, row=opts.header_row, column=h))
        seen.add(h)
    data = [(line, r) for line, r in rows if line > opts.header_row and line not in skip and any(c.strip() for c in r)]
    if not data:
        probs.append(Problem("the export has no responses after the header rows", file=where))
    for line, r in data:
        if len(r) > len(header) and any(c.strip() for c in r[len(header):]):
            probs.append(Problem(f"row has {len(r)} fields but the header has {len(header)}", file=where, row=line))
    if probs:
        raise MappingError(probs, what=where)
    width = len(header)
    frame = pd.DataFrame([(r + [""] * (width - len(r)))[:width] for _, r in data], columns=header,
                         index=pd.Index([line for line, _ in data], name="row"), dtype=object)
    return frame.loc[:, [h for h in header if h]]
