"""Importing survey exports: export + mapping -> the validated canonical table, and reading it back.

:func:`import_wave` turns a survey-tool export into the validated canonical table (the
mapping format is documented in :mod:`irmodels.data.mapping`); :func:`read_table` reads a
canonical table written by irmodels back with its types. Outputs are written with the
atomic writers of :mod:`irmodels.core.io`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from irmodels.core.io import check_output_paths, write_table_atomic

__all__ = ["import_wave", "ImportResult", "read_table"]


@dataclass
class ImportResult:
    """Result of :func:`import_wave`.

    Attributes
    ----------
    table : pandas.DataFrame
        The validated canonical table (one row per kept response, RangeIndex).
    report : pandas.DataFrame
        Every recoded, excluded, unmapped, "other" and free-text value: columns ``row``
        (1-based row of the export file; empty for whole columns), ``column`` (export
        column), ``value`` (as read), ``action`` (``recoded``, ``excluded``,
        ``dropped_duplicate``, ``unmapped``, ``other_text``, ``country_resolved``,
        ``binned``, ``harmonised``, ``free_text``), ``reason``.
    harmonised : dict
        ``{variable: {wave class: canonical class}}`` for every variable whose wave classes
        were harmonised to the codebook's (results that use one should say so).
    extras : dict
        ``{name: {type, levels, ordered}}`` of the wave-specific variables declared in the
        mapping (columns after the canonical ones in ``table``).
    """

    table: pd.DataFrame
    report: pd.DataFrame
    harmonised: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)


def import_wave(
    export: str | os.PathLike,
    mapping: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    report: str | os.PathLike | None = None,
) -> ImportResult:
    """Import a survey-tool export (CSV or XLSX) into the canonical table.

    Parameters
    ----------
    export : path
        The export as downloaded (extra header rows and answer codes allowed; LimeSurvey,
        Qualtrics and SurveyMonkey layouts: :mod:`irmodels.data.readers`).
    mapping : path
        The YAML mapping (:mod:`irmodels.data.mapping`).
    out : path, optional
        Where to write the validated table (CSV). Written only if everything is valid.
    report : path, optional
        Where to write the report (CSV); defaults to ``<out stem>_report.csv`` next to
        ``out`` when ``out`` is given.

    Returns
    -------
    ImportResult
        ``.table`` (validated) and ``.report``.

    Raises
    ------
    MappingError
        The mapping is malformed or does not fit the export (missing columns, an empty
        export, ...), or answers are not codes. In the last case the schema problems of the
        rest of the table (bad counts, duplicate ids, cross-field rules) are listed in the
        same error: every problem of the export, sorted by file row, at once.
    SchemaError
        The mapped table breaks the schema (every problem, rows are export file rows).
        Nothing is written when an error is raised.

    Examples
    --------
    ``import_wave("export.csv", "mapping.yaml", out="wave.csv")`` writes ``wave.csv`` and
    ``wave_report.csv``.
    """
    from irmodels.core.errors import Problem, SchemaError
    from irmodels.data.mapping import apply_mapping, load_mapping, read_export
    from irmodels.data.schema import validate

    from irmodels.core.errors import MappingError

    if out is not None:
        outp = Path(out)
        repp = Path(report) if report is not None else outp.with_name(outp.stem + "_report.csv")
        check_output_paths({"out": outp, "report": repp}, {"export": export, "mapping": mapping})
    elif report is not None:
        check_output_paths({"report": report}, {"export": export, "mapping": mapping})
    m = load_mapping(mapping)
    source = Path(export).name
    raw = read_export(export, m)
    # Answers that are not codes become missing and are collected; validation then runs on the
    # whole table, so ONE error lists the code problems and the schema problems together.
    code_probs: list[Problem] = []
    mapped, rep = apply_mapping(raw, m, source=source, problems=code_probs)
    schema_probs: list[Problem] = []
    table = None
    try:
        table = validate(mapped, source=source, extras=m.extra_types())
    except SchemaError as exc:
        # name the export column next to the canonical one, so the user finds the cell
        back = {name: c["column"] for name, c in {**m.columns, **m.extra}.items()}
        back["respondent_id"] = m.respondent_id
        schema_probs = [
            Problem(p.rule, p.file, p.row, f"{back[p.column]} ({p.column})" if p.column in back else p.column, p.value)
            for p in exc.problems
        ]
    if code_probs or schema_probs:
        allp = sorted(code_probs + schema_probs,
                      key=lambda p: (p.row is None, p.row if isinstance(p.row, int) else 0))
        # a wrong answer code is a mapping problem; otherwise the export breaks the schema
        cls = MappingError if code_probs else SchemaError
        raise cls(allp, what=source)
    table = table.reset_index(drop=True)
    if out is not None:
        outp = Path(out)
        repp = Path(report) if report is not None else outp.with_name(outp.stem + "_report.csv")
        write_table_atomic(rep, repp)
        write_table_atomic(table, outp)
    elif report is not None:
        write_table_atomic(rep, report)
    harmonised = {name: {str(k): (v["to"] if isinstance(v, dict) else v) for k, v in c["harmonise"].items()}
                  for name, c in m.columns.items() if c.get("harmonise")}
    return ImportResult(table=table, report=rep, harmonised=harmonised, extras=m.extra_types())


def _first_undecodable(p: Path) -> tuple[int | None, bytes]:
    """Line (1-based) and value of the first byte of ``p`` that is not UTF-8 (pandas reports chunk offsets)."""
    for n, raw in enumerate(p.read_bytes().split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return n, raw[exc.start:exc.start + 1]
    return None, b""


def _csv_shape_problems(p: Path) -> list:
    """Header names given twice and records whose number of fields differs from the header's.

    pandas renames a repeated name (``n_ir.1``), takes the first column as the index when every
    record has one field more, and pads short records with empty cells: each would pass
    validation with changed data, so the file's shape is checked first (rows are file lines).
    Blank lines are not records. At most 100 ragged records are listed, then a count.
    """
    import csv
    from collections import Counter

    from irmodels.core.errors import Problem

    probs: list[Problem] = []
    with p.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, [])
            for c, n in Counter(h.strip() for h in header).items():
                if n > 1:
                    probs.append(Problem(f"duplicate column name in the header (it appears {n} times); each column "
                                         "must appear once", file=p.name, row=1, column=c))
            start, ragged = 2, 0
            for rec in reader:
                if len(rec) != len(header) and any(v.strip() for v in rec):
                    ragged += 1
                    if ragged <= 100:
                        probs.append(Problem(f"{len(rec)} fields where the header has {len(header)} (a stray "
                                             "delimiter or quote, or a missing value?)", file=p.name, row=start))
                start = reader.line_num + 1
        except csv.Error as exc:
            probs.append(Problem(f"not a readable CSV table ({exc})", file=p.name, row=reader.line_num))
            ragged = 0
    if ragged > 100:
        probs.append(Problem(f"... and {ragged - 100} more records with a wrong number of fields", file=p.name))
    return probs


def read_table(path: str | os.PathLike, *, extra: str = "allow", extras: dict | None = None) -> pd.DataFrame:
    """Read a canonical table written by irmodels (CSV or Parquet) and validate it.

    Columns outside the codebook (e.g. ``replicate``) are kept. ``extras`` (e.g.
    ``ImportResult.extras`` or ``Mapping.extra_types()``) types the wave-specific variables
    declared in a mapping (:func:`irmodels.data.schema.validate`); without it they stay text. Raises
    :class:`irmodels.core.errors.SchemaError` (file name in every problem); rows are file lines.
    """
    from irmodels.core.errors import Problem, SchemaError
    from irmodels.data.schema import validate

    p = Path(path)
    if not p.is_file():
        raise SchemaError([Problem("file not found", file=str(p))], what=str(p))
    if p.suffix.lower() == ".parquet":
        try:
            df = pd.read_parquet(p)
        except Exception as exc:  # pyarrow raises its own types for a file that is not Parquet
            raise SchemaError([Problem(f"not a readable Parquet file ({type(exc).__name__}: {str(exc)[:120]})",
                                       file=p.name)], what=p.name) from None
        df.index = df.index + 2
    else:
        try:
            shape = _csv_shape_problems(p)
            if shape:
                raise SchemaError(shape, what=p.name)
            df = pd.read_csv(p, dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:
            raise SchemaError([Problem("the file is empty", file=p.name)], what=p.name) from None
        except UnicodeDecodeError:
            line, byte = _first_undecodable(p)
            raise SchemaError([Problem(f"not UTF-8 text (byte {byte!r}); tables written by irmodels are UTF-8: "
                                       "re-save the file as UTF-8 or import it with a mapping that names its encoding",
                                       file=p.name, row=line)], what=p.name) from None
        except pd.errors.ParserError as exc:
            raise SchemaError([Problem(f"not a readable CSV table ({str(exc).strip()[:160]})", file=p.name)],
                              what=p.name) from None
        df.index = df.index + 2  # header is line 1
        if "replicate" in df.columns:
            df["replicate"] = pd.to_numeric(df["replicate"])
    out = validate(df, source=p.name, extra=extra, extras=extras)  # type: ignore[arg-type]
    return out.reset_index(drop=True)
