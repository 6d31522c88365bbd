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
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from irmodels.core.io import atomic_path

__all__ = ["cached_table", "package_source_hash", "file_sha256"]

_PKG = Path(__file__).resolve().parents[1]


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


def cached_table(cache_dir: str | os.PathLike, name: str, args: dict[str, Any],
                 compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``compute()``, or the table an earlier identical call stored in ``cache_dir``.

    Parameters
    ----------
    cache_dir : path-like
        Folder of the entries (created).
    name : str
        What is cached (the file name's prefix, e.g. ``"bounds"``).
    args : dict
        The call's arguments (JSON values): with ``name`` and the package source, the key.
    compute : callable
        Makes the table when there is no entry.

    Returns
    -------
    pandas.DataFrame
        The computed or stored table (columns and values as computed; the index is reset).
    """
    key = hashlib.sha256(json.dumps({"name": name, "args": args, "source": package_source_hash()},
                                    sort_keys=True).encode()).hexdigest()
    path = Path(cache_dir) / f"{name}-{key[:32]}.parquet"
    if path.is_file():
        return pd.read_parquet(path)
    df = compute().reset_index(drop=True)
    with atomic_path(path, suffix=".parquet") as tmp:
        df.to_parquet(tmp, index=False)
    return df
