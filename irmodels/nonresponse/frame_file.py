"""A wave's own frame file: reading it and checking every row against a JSON Schema.

A user frame (format in ``data/raw/frame/README.md``) is a CSV with one row per frame cell.
:func:`load_frame` reads it as text and checks it in three passes, each listing every
problem at once with file, line (header = 1), column, value and rule:

1. the file itself: found, at most :data:`MAX_FRAME_BYTES` bytes, UTF-8, a readable CSV, at
   most :data:`MAX_FRAME_ROWS` rows;
2. the header and every row against :data:`FRAME_ROW_SCHEMA` (JSON Schema, Draft 2020-12,
   checked by ``jsonschema``): the columns, and the value and type of each cell;
3. what one row cannot say: duplicate cells and required countries absent.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from irmodels.core.errors import FrameError, Problem
from irmodels.nonresponse.frame_keys import _REGION_OF, BEDS_CLASSES, _uk_hint

__all__ = ["load_frame", "FRAME_ROW_SCHEMA", "MAX_FRAME_BYTES", "MAX_FRAME_ROWS"]

#: Largest frame file read (bytes). A frame has one row per cell, and cells are unique by
#: country x beds class x teaching: a valid file has at most 53 x 4 x 2 = 424 rows (53 codes in REGIONS).
MAX_FRAME_BYTES: int = 5_000_000

#: Most rows a frame file may have (more than 20 times the most cells a valid frame can have).
MAX_FRAME_ROWS: int = 10_000

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}

#: JSON Schema (Draft 2020-12) of one row of a frame file, as :func:`load_frame` builds it
#: from the file's text: codes stripped, ``teaching`` stripped and lower-cased, ``N`` a
#: number when it reads as a finite one (else the text), an empty ``country`` or ``N`` cell
#: left out. ``x-missing`` is the rule of an empty required cell, ``x-rules`` the rule of
#: each failed keyword (``{uk_hint}``: the hint that the United Kingdom is ``GB``).
FRAME_ROW_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["country", "N"],
    "additionalProperties": False,
    "properties": {
        "country": {
            "enum": sorted(_REGION_OF),
            "x-missing": "country is missing; every frame row needs an ISO 3166-1 alpha-2 code",
            "x-rules": {"enum": f"unknown country code{{uk_hint}}; valid codes: {sorted(_REGION_OF)}"},
        },
        "N": {
            "type": "number",
            "exclusiveMinimum": 0,
            "x-missing": "count N is missing",
            "x-rules": {"type": "count N is not a number",
                        "exclusiveMinimum": "count N must be > 0 (drop empty cells from the file)"},
        },
        "beds_class": {"enum": list(BEDS_CLASSES), "x-rules": {"enum": f"unknown beds class; valid: {list(BEDS_CLASSES)}"}},
        "teaching": {"enum": sorted(_TRUE | _FALSE), "x-rules": {"enum": "teaching must be true or false"}},
        "source": {"type": "string"},
    },
}

_COLUMNS = list(FRAME_ROW_SCHEMA["properties"])
#: the header as a JSON object {column: null}: required and allowed columns of FRAME_ROW_SCHEMA
_HEADER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": FRAME_ROW_SCHEMA["required"],
    "properties": {c: {} for c in _COLUMNS},
    "additionalProperties": False,
}
_CELL_KEYS = ("country", "beds_class", "teaching")


def _read_frame_csv(p: Path) -> pd.DataFrame:
    """The file's cells as text (pass 1): found, not too large, UTF-8, a readable CSV table."""
    name = p.name
    if not p.is_file():
        raise FrameError([Problem(rule="frame file not found", file=str(p))], what="frame file")
    size = p.stat().st_size
    if size > MAX_FRAME_BYTES:
        raise FrameError([Problem(rule=f"frame file larger than {MAX_FRAME_BYTES} bytes (irmodels.nonresponse.frame_file."
                                       "MAX_FRAME_BYTES): a frame has one row per cell", file=name, value=size)],
                         what="frame file")
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise FrameError([Problem(rule="frame file is empty", file=name)], what="frame file") from None
    except UnicodeDecodeError:
        from irmodels.data.importing import _first_undecodable

        line, byte = _first_undecodable(p)
        raise FrameError([Problem(rule=f"not UTF-8 text (byte {byte!r}): re-save the frame file as UTF-8 CSV",
                                  file=name, row=line)], what="frame file") from None
    except pd.errors.ParserError as exc:
        raise FrameError([Problem(rule=f"not a readable CSV file ({str(exc).strip()[:160]})", file=name)],
                         what="frame file") from None
    if not isinstance(raw.index, pd.RangeIndex):
        # every record has more fields than the header: pandas took the first column as the index
        from irmodels.data.importing import _csv_shape_problems

        shape = _csv_shape_problems(p) or [Problem(rule="every row has more fields than the header", file=name)]
        raise FrameError(shape, what=f"frame file {name}")
    raw.columns = [c.strip() for c in raw.columns]
    return raw


def _header_problems(cols: list[str], name: str) -> list[Problem]:
    """Columns named twice, required columns missing and unknown columns (pass 2, the header: line 1)."""
    import jsonschema

    out: list[Problem] = []
    for c in sorted({c for c in cols if cols.count(c) > 1}):
        out.append(Problem(rule="duplicate column name in the header; each column appears once", file=name, row=1, column=c))
    for e in jsonschema.Draft202012Validator(_HEADER_SCHEMA).iter_errors(dict.fromkeys(cols)):
        if e.validator == "required":  # one error per missing column
            out += [Problem(rule=f"required column missing; a frame file has columns {_COLUMNS}", file=name, row=1, column=c)
                    for c in e.validator_value if c not in e.instance and not any(p.column == c for p in out)]
        elif e.validator == "additionalProperties":
            out += [Problem(rule=f"unknown column; allowed: {_COLUMNS}", file=name, row=1, column=c) for c in cols if c not in _COLUMNS]
    return out


def _row_instances(raw: pd.DataFrame, N: pd.Series) -> tuple[list[dict], list[dict]]:
    """Each row as the JSON object :data:`FRAME_ROW_SCHEMA` checks, and its values as reported.

    A count or teaching value is reported as the file has it, a code as stripped.
    """
    text = {c: (raw[c] if c == "source" else raw[c].str.strip()) for c in raw.columns}
    if "teaching" in text:
        text["teaching"] = text["teaching"].str.lower()
    text = {c: v.tolist() for c, v in text.items()}
    counts = [float(n) if pd.notna(n) and math.isfinite(float(n)) else None for n in N]
    shown_cols = {c: raw[c].tolist() if c in ("N", "teaching") else text[c] for c in raw.columns if c != "source"}
    instances, shown = [], []
    for k, n in enumerate(counts):
        inst = {c: v[k] for c, v in text.items() if c != "N" and not (c == "country" and v[k] == "")}
        if text["N"][k] != "":
            inst["N"] = n if n is not None else text["N"][k]
        instances.append(inst)
        shown.append({c: v[k] for c, v in shown_cols.items()})
    return instances, shown


def _row_problems(instances: list[dict], shown: list[dict], line: pd.Index, name: str) -> list[Problem]:
    """Every row checked against :data:`FRAME_ROW_SCHEMA` (pass 2, rows); listed column by column."""
    import jsonschema

    props = FRAME_ROW_SCHEMA["properties"]
    validator = jsonschema.Draft202012Validator(FRAME_ROW_SCHEMA)
    by_column: dict[str, list[Problem]] = {c: [] for c in _COLUMNS}
    for inst, val, i in zip(instances, shown, line):
        missing_done = False
        for e in validator.iter_errors(inst):
            if e.validator == "required":  # one error per missing cell: report them all once
                if not missing_done:
                    for c in [c for c in e.validator_value if c not in inst]:
                        by_column[c].append(Problem(rule=props[c]["x-missing"], file=name, row=int(i), column=c, value=val[c]))
                missing_done = True
                continue
            c = e.absolute_path[0] if e.absolute_path else None
            rule = props.get(c, {}).get("x-rules", {}).get(e.validator, f"invalid value ({e.message})")
            by_column.setdefault(c, []).append(Problem(rule=rule.replace("{uk_hint}", _uk_hint(e.instance)), file=name,
                                                       row=int(i), column=c, value=val.get(c, e.instance)))
    return [p for ps in by_column.values() for p in ps]


def _duplicate_problems(raw: pd.DataFrame, line: pd.Index, name: str) -> list[Problem]:
    """Rows repeating a cell, country x beds class x teaching as read (`` DE`` is ``DE``, ``1`` is ``true``)."""
    keys = [c for c in _CELL_KEYS if c in raw.columns]
    cells = pd.DataFrame({k: raw[k].str.strip() for k in keys})
    if "teaching" in cells:
        t = cells["teaching"].str.lower()
        cells["teaching"] = t.where(~t.isin(_TRUE), "true").where(~t.isin(_FALSE), "false")
    dup = cells.duplicated(keep="first")
    return [Problem(rule=f"duplicate frame cell ({', '.join(keys)}); each cell appears once", file=name, row=int(i),
                    column=keys[0], value=str(tuple(raw.loc[i - 2, keys])))
            for i in line[dup.to_numpy()]]


def load_frame(path: str | os.PathLike, *, required_countries: Mapping | list | tuple | set | None = None) -> pd.DataFrame:
    """Read and validate a user frame file (CSV).

    The format (documented in ``data/raw/frame/README.md``): one row per frame cell,
    columns ``country`` (ISO 3166-1 alpha-2, required), ``N`` (number of invited
    departments in the cell, > 0, required), optionally ``beds_class`` (codebook
    codes ``<200``, ``200-399``, ``400-799``, ``>=800``), ``teaching``
    (true/false) and ``source`` (free text). Cells are unique. Each row is checked
    against :data:`FRAME_ROW_SCHEMA` (JSON Schema).

    Parameters
    ----------
    path : path-like
    required_countries : collection of str, optional
        Countries that must appear (e.g. the countries of the respondents); each
        absent one is a problem.

    Returns
    -------
    DataFrame
        ``country`` (string), ``beds_class`` (ordered categorical), ``teaching``
        (bool), ``N`` (float), ``source`` as present in the file.

    Raises
    ------
    FrameError
        Listing every problem at once with file, row (1-based line, header = 1),
        column, value and rule: a file larger than :data:`MAX_FRAME_BYTES` or with more
        than :data:`MAX_FRAME_ROWS` rows, unknown columns, missing required columns, a
        missing or unknown country code, a count that is missing, not a number, zero
        or negative, an unknown beds class, an invalid teaching value, duplicate
        cells, required countries absent.

    Examples
    --------
    >>> from irmodels.nonresponse.frame_file import MAX_FRAME_ROWS
    >>> MAX_FRAME_ROWS
    10000
    """
    p = Path(path)
    name = p.name
    raw = _read_frame_csv(p)
    problems = _header_problems(list(raw.columns), name)
    if problems:
        raise FrameError(problems, what=f"frame file {name}")
    if raw.empty:
        raise FrameError([Problem(rule="frame file has a header but no rows", file=name)], what=f"frame file {name}")
    if len(raw) > MAX_FRAME_ROWS:
        raise FrameError([Problem(rule=f"frame file has more than {MAX_FRAME_ROWS} rows (irmodels.nonresponse.frame_file."
                                       "MAX_FRAME_ROWS): a frame has one row per cell", file=name, value=len(raw))],
                         what=f"frame file {name}")
    line = raw.index + 2
    N = pd.to_numeric(raw["N"].str.strip(), errors="coerce")
    problems = _row_problems(*_row_instances(raw, N), line, name)
    out = pd.DataFrame(index=raw.index)
    out["country"] = raw["country"].str.strip().astype("string")
    out["N"] = N.astype(float)
    if "beds_class" in raw.columns:
        b = raw["beds_class"].str.strip()
        out["beds_class"] = pd.Categorical(b.where(b.isin(BEDS_CLASSES)), categories=list(BEDS_CLASSES), ordered=True)
    if "teaching" in raw.columns:
        out["teaching"] = raw["teaching"].str.strip().str.lower().isin(_TRUE)
    if "source" in raw.columns:
        out["source"] = raw["source"].astype("string")
    problems += _duplicate_problems(raw, line, name)
    if required_countries is not None:
        present = set(raw["country"].str.strip())
        for c in sorted(set(required_countries) - present):
            problems.append(Problem(rule="required country missing from the frame (it has respondents, so it needs a population count)", file=name, column="country", value=c))
    if problems:
        raise FrameError(problems, what=f"frame file {name}")
    out = out.reset_index(drop=True)
    out.attrs["file"] = name
    return out
