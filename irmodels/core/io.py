"""Writing outputs safely: atomic writers, output-path checks, spreadsheet-formula neutralising.

``write_table_atomic`` is shared by every step that writes a table: it writes
to a temporary file and renames, so a failed step leaves no half-written output
(also on SIGINT/SIGTERM). :func:`check_output_paths` refuses an output that is an input,
another output or a directory. Reading survey exports is :mod:`irmodels.data.importing`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd

__all__ = ["write_table_atomic", "write_text_atomic", "atomic_path", "publish_permissions", "check_output_paths",
           "neutralise_formulas"]

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
    from irmodels.core.errors import Problem, SchemaError

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
