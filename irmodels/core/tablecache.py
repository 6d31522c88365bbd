"""A content-addressed disk cache of result tables: the same call with the same package code is computed once.

Used where an exact computation is repeated by independent callers (the 2017 identification
regions: ``analyses/13_association_bounds.py`` and the published wave's pipeline step). The key
is the sha256 of the call's name and arguments (canonical JSON) **and of the whole package's
source** (:func:`package_source_hash`), so any change of code gives new entries, never a stale
one. Entries are parquet files written atomically (a table is whole or absent); parquet, not
pickle, so that reading a cache folder never runs code from it. Not a general memoiser (joblib's
``Memory`` keys on the cached function's own source only, not on what it calls, and stores
pickles).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from irmodels.core.errors import CacheWarning, Problem, SchemaError
from irmodels.core.io import atomic_path

__all__ = ["cached_table", "package_source_hash", "file_sha256"]

_PKG = Path(__file__).resolve().parents[1]
_META = b"irmodels.cache"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def file_sha256(p: str | os.PathLike) -> str:
    """sha256 of a file's bytes (read in 1 MB blocks)."""
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_source_hash() -> str:
    """sha256 over the package's source files (``*.py``, ``*.yaml``), in path order."""
    h = hashlib.sha256()
    for p in sorted(_PKG.rglob("*")):
        if p.suffix in (".py", ".yaml") and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(_PKG)).encode() + b"\0" + file_sha256(p).encode() + b"\n")
    return h.hexdigest()


def _check_name(name: object) -> None:
    """``name`` becomes a file name prefix inside ``cache_dir``: no separators, no leading dot."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SchemaError([Problem("a cache entry name is letters, digits, '_', '-' or '.', not starting with '.' "
                                   "(it is a file name inside cache_dir)", column="name", value=name)],
                          what="cached_table")


def _fingerprint(df: pd.DataFrame, key: str) -> dict[str, Any]:
    """What an entry must match to be trusted: the full key, the columns, their dtypes, the values' hash."""
    values = pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()
    return {"key": key, "columns": [str(c) for c in df.columns], "dtypes": [str(t) for t in df.dtypes],
            "rows": int(len(df)), "sha256": hashlib.sha256(values).hexdigest()}


def _read_entry(path: Path, key: str) -> tuple[pd.DataFrame | None, str | None]:
    """The entry's table, or None and why it cannot be trusted. Parquet only: reading runs no code from it."""
    import pyarrow.parquet as pq

    if path.is_symlink() or not path.is_file():
        return None, ("a symbolic link, not an entry this cache wrote" if path.is_symlink()
                      else "not a regular file (a directory, moved aside, or a special file)")
    try:
        table = pq.read_table(path)
        df = table.to_pandas()
    except Exception as exc:  # truncated, zero bytes, not parquet, unreadable: pyarrow and OS errors
        return None, f"unreadable ({type(exc).__name__}: {str(exc)[:160]})"
    raw = (table.schema.metadata or {}).get(_META)
    try:
        stored = json.loads(raw) if raw is not None else None
    except ValueError:
        stored = None
    if not isinstance(stored, dict) or stored.get("key") != key:
        return None, "not written by this cache for this call (no or another key in its metadata)"
    try:
        found = _fingerprint(df, key)
    except Exception as exc:  # values pandas cannot hash: the entry cannot be verified
        return None, f"unverifiable values ({type(exc).__name__}: {exc})"
    diff = [k for k in ("columns", "dtypes", "rows", "sha256") if stored.get(k) != found[k]]
    if diff:
        return None, f"its {', '.join(diff)} differ from those recorded when it was written ({found['columns']})"
    return df, None


def _write_entry(path: Path, df: pd.DataFrame, key: str) -> str | None:
    """Store ``df`` at ``path`` atomically; None, or why it was not stored (the result is still returned)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if path.is_dir() and not path.is_symlink():  # a folder in an entry's place: moved aside, not deleted
            aside = path.with_name(f".{path.name}.moved-aside-{os.getpid()}")
            os.replace(path, aside)
        table = pa.Table.from_pandas(df, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[_META] = json.dumps(_fingerprint(df, key)).encode()
        with atomic_path(path, suffix=".parquet") as tmp:
            pq.write_table(table.replace_schema_metadata(meta), tmp)
            back, why = _read_entry(tmp, key)  # stored only when it reads back to exactly this table
            if why is not None:
                raise _NotStorable(f"does not read back as computed: {why}")
    except _NotStorable as exc:
        return str(exc)
    except (OSError, ValueError, TypeError, pa.ArrowException) as exc:
        return f"could not be written ({type(exc).__name__}: {str(exc)[:160]})"
    return None


class _NotStorable(Exception):
    """The table does not survive the round trip through parquet unchanged."""


def cached_table(cache_dir: str | os.PathLike, name: str, args: dict[str, Any],
                 compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``compute()``, or the table an earlier identical call stored in ``cache_dir``.

    Parameters
    ----------
    cache_dir : path-like
        Folder of the entries (created).
    name : str
        What is cached (the file name's prefix, e.g. ``"bounds"``): letters, digits, ``_``,
        ``-`` and ``.``, not starting with ``.``.
    args : dict
        The call's arguments (JSON values): with ``name`` and the package source, the key.
    compute : callable
        Makes the table when there is no trusted entry.

    Returns
    -------
    pandas.DataFrame
        The computed or stored table (columns and values as computed; the index is reset).

    Raises
    ------
    SchemaError
        ``name`` is not a plain file name prefix.
    TypeError
        ``args`` is not JSON, or ``compute`` returns something other than a DataFrame.

    Warns
    -----
    CacheWarning
        An entry that cannot be trusted (unreadable, truncated, not parquet, a directory, a
        symbolic link, written for another call, or with other columns, dtypes or values than
        recorded when it was written): named with the reason, recomputed and replaced
        atomically. A cache folder that cannot be read or written (a file, no permission):
        the table is computed and returned, not stored.

    Notes
    -----
    An entry is trusted only when its parquet metadata carries this call's full key and a
    fingerprint (columns, dtypes, number of rows, sha256 of the values) that the table read
    back matches; a table is stored only when it reads back to exactly what was computed.
    """
    _check_name(name)
    try:
        text = json.dumps({"name": name, "args": args, "source": package_source_hash()}, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cached_table({name!r}): args must be JSON values (the key); {args!r}: {exc}") from None
    key = hashlib.sha256(text.encode()).hexdigest()
    path = Path(cache_dir) / f"{name}-{key[:32]}.parquet"
    why = None
    if os.path.lexists(path):
        df, why = _read_entry(path, key)
        if why is None:
            return df
    df = compute()
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"cached_table({name!r}): compute() returned {type(df).__name__}, not a pandas DataFrame")
    df = df.reset_index(drop=True)
    not_stored = _write_entry(path, df, key)
    if why is not None or not_stored is not None:
        msg = f"table cache entry {path}: " + (f"not used: {why}; recomputed" if why else "computed")
        warnings.warn(msg + (f"; not stored: {not_stored}" if not_stored else "; replaced"), CacheWarning,
                      stacklevel=2)
    return df
