"""Reading survey exports and writing results (explicit paths in; no repo layout).

``write_table_atomic`` is shared by every step that writes a table: it writes
to a temporary file and renames, so a failed step leaves no half-written output.
:func:`import_wave` turns a survey-tool export into the validated canonical table (the
mapping format is documented in :mod:`irmodels.mapping`); :func:`read_table` reads a
canonical table written by irmodels back with its types.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

__all__ = ["write_table_atomic", "write_text_atomic", "atomic_path", "publish_permissions", "import_wave", "ImportResult", "read_table",
           "check_output_paths", "neutralise_formulas"]

#: Characters that make a spreadsheet read a text cell as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def check_output_paths(outputs: dict[str, str | os.PathLike | None],
                       inputs: dict[str, str | os.PathLike | None]) -> None:
    """Refuse outputs that would overwrite an input, another output, or a directory.

    Parameters
    ----------
    outputs, inputs : dict
        ``{option name: path}`` (None entries are ignored), e.g.
        ``{"--out": "t.csv", "--report": "r.csv"}`` and ``{"EXPORT": "e.csv"}``.

    Raises
    ------
    SchemaError
        Listing every clash (the option, the path and the rule), before anything is written.
    """
    from irmodels.errors import Problem, SchemaError

    def key(p) -> Path:
        return Path(p).expanduser().resolve()

    problems = []
    ins = {name: key(p) for name, p in inputs.items() if p is not None}
    seen: dict[Path, str] = {}
    for name, p in outputs.items():
        if p is None:
            continue
        k = key(p)
        for iname, ik in ins.items():
            if k == ik or (k.exists() and ik.exists() and os.path.samefile(k, ik)):
                problems.append(Problem(f"output would overwrite the input {iname}: outputs never touch inputs",
                                        column=name, value=str(p)))
        if k in seen:
            problems.append(Problem(f"the same file as output {seen[k]}", column=name, value=str(p)))
        if k.is_dir():
            problems.append(Problem("is a directory; give a file path", column=name, value=str(p)))
        seen.setdefault(k, name)
    if problems:
        raise SchemaError(problems, what="output paths")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells starting with ``= + - @`` (or a tab / carriage return) get a leading ``'``.

    Spreadsheets execute such cells as formulas when a CSV is opened (OWASP, CSV injection).
    Only text columns are touched: numbers, including negative ones, are written as numbers.
    """
    out = None
    for c in df.columns:
        col = df[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            hit = col.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES))
            if bool(hit.any()):
                out = df.copy() if out is None else out
                out[c] = col.astype(object).where(~hit, "'" + col.astype(str))
    return df if out is None else out


def publish_permissions(path: str | os.PathLike) -> None:
    """Give a temporary file the permissions a normal ``open()`` would (mkstemp makes it 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for a few statements (delivered right after; POSIX only)."""
    sigs = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file next to ``path`` that becomes ``path`` (rename) only if the block finishes.

    The temporary file (``.<name>.<random><suffix>`` in the target folder, so the rename stays on
    one file system) is removed when the block raises anything, including ``KeyboardInterrupt``
    (SIGINT) and the exception the ``irmodels`` command turns SIGTERM into: a failed or
    interrupted write leaves the target as it was (absent or the previous complete file) and no
    temporary file. Signals are held back while the temporary file is created and while it is
    renamed or removed, so no signal can arrive between creating it and being responsible for it.

    Parameters
    ----------
    path : path-like
        The target file; its folder is created.
    suffix : str
        Suffix of the temporary file (writers that pick the format from it pass e.g. ``".png"``).

    Yields
    ------
    Path
        The temporary file (created empty, with the permissions a normal ``open()`` gives).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "x.txt") as tmp:
    ...     _ = tmp.write_text("complete", encoding="utf-8")
    >>> (d / "x.txt").read_text(encoding="utf-8"), sorted(p.name for p in d.iterdir())
    ('complete', ['x.txt'])
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _signals_blocked():
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
        os.close(fd)
    tmp = Path(name)
    done = False
    try:
        publish_permissions(tmp)
        yield tmp
        with _signals_blocked():
            os.replace(tmp, target)
            done = True
    finally:
        if not done:
            with _signals_blocked():
                tmp.unlink(missing_ok=True)


def write_text_atomic(text: str, path: str | os.PathLike) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically: temporary file + rename (:func:`atomic_path`).

    An exception or interrupt (SIGINT; SIGTERM in the ``irmodels`` command) during the write
    leaves no temporary file and ``path`` as it was.
    """
    target = Path(path)
    with atomic_path(target) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    return target


def write_table_atomic(df: pd.DataFrame, path: str | os.PathLike, **to_csv_kwargs) -> Path:
    """Write a DataFrame as CSV atomically; the index is not written unless asked.

    Text cells that a spreadsheet would run as a formula are neutralised
    (:func:`neutralise_formulas`).
    """
    to_csv_kwargs.setdefault("index", False)
    to_csv_kwargs.setdefault("lineterminator", "\n")
    return write_text_atomic(neutralise_formulas(df).to_csv(**to_csv_kwargs), path)


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
        Qualtrics and SurveyMonkey layouts: :mod:`irmodels.readers`).
    mapping : path
        The YAML mapping (:mod:`irmodels.mapping`).
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
    from irmodels.errors import Problem, SchemaError
    from irmodels.mapping import apply_mapping, load_mapping, read_export
    from irmodels.schema import validate

    from irmodels.errors import MappingError

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

    from irmodels.errors import Problem

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
    declared in a mapping (:func:`irmodels.schema.validate`); without it they stay text. Raises
    :class:`irmodels.errors.SchemaError` (file name in every problem); rows are file lines.
    """
    from irmodels.errors import Problem, SchemaError
    from irmodels.schema import validate

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
