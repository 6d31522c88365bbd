"""The study directory of the runner: its manifest (the study's identity), parts, consolidated files, lock.

Layout of ``out_dir`` (see :mod:`irmodels.studies.runner`): ``manifest.json``, one parquet part
per finished batch under ``parts/results`` and ``parts/failures`` (written atomically, task ids
in the metadata), and the consolidated ``results.parquet`` / ``failures.parquet`` of a complete
study. The manifest's identity fields (seed, number of tasks, task and setup by
``module:qualname``, params hash, irmodels version) decide whether a rerun may resume.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import warnings
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from irmodels.core.errors import IrmodelsError

MANIFEST_FORMAT = 1
# manifest fields that must agree for a rerun to resume a study (the others are information)
_IDENTITY = ("format", "seed", "n_tasks", "task", "setup", "params_hash", "irmodels_version")
_IDS_KEY = b"irmodels.task_ids"
_SOURCE_KEY = b"irmodels.package_source"
_FAILURE_COLUMNS = ("task_id", "error_type", "message", "traceback")


class StudyManifestError(IrmodelsError, ValueError):
    """``out_dir`` holds another study (its manifest differs from the one asked for)."""


class StudyCodeChangedWarning(UserWarning):
    """A study is resumed (or grown) with package source other than the one its earlier tasks ran with."""


class StudyLockedError(IrmodelsError, RuntimeError):
    """Another process is running a study in the same ``out_dir``."""



def _write_parquet_atomic(df: pd.DataFrame, path: Path, metadata: Mapping[bytes, bytes] | None = None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        from irmodels.core.io import publish_permissions

        publish_permissions(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _part_path(directory: Path, ids: Sequence[int]) -> Path:
    # task ids of different parts are disjoint, so (first, last) names a part uniquely
    return directory / f"part-{min(ids):09d}-{max(ids):09d}.parquet"


def _parts(directory: Path) -> list[Path]:
    return sorted(directory.glob("part-*.parquet")) if directory.is_dir() else []


def _remove_stale_temporaries(out_dir: Path) -> None:
    for d in (out_dir, out_dir / "parts" / "results", out_dir / "parts" / "failures"):
        if d.is_dir():
            for p in d.glob(".*.tmp"):
                p.unlink(missing_ok=True)


def _read_done_ids(out_dir: Path) -> set[int]:
    import pyarrow.parquet as pq

    done: set[int] = set()
    for p in _parts(out_dir / "parts" / "results"):
        meta = pq.read_schema(p).metadata or {}
        ids = json.loads(meta[_IDS_KEY]) if _IDS_KEY in meta else pd.read_parquet(p, columns=["task_id"])["task_id"]
        done.update(int(i) for i in ids)
    return done


def _read_sources(out_dir: Path) -> dict[str, int]:
    """Tasks done per package source their worker ran (``"not recorded"``: parts written before it was)."""
    import pyarrow.parquet as pq

    counts: dict[str, int] = {}
    for p in _parts(out_dir / "parts" / "results"):
        meta = pq.read_schema(p).metadata or {}
        n = len(json.loads(meta[_IDS_KEY])) if _IDS_KEY in meta else len(pd.read_parquet(p, columns=["task_id"]))
        source = meta[_SOURCE_KEY].decode() if _SOURCE_KEY in meta else "not recorded"
        counts[source] = counts.get(source, 0) + n
    return dict(sorted(counts.items()))


def _read_failures(out_dir: Path) -> pd.DataFrame:
    parts = [pd.read_parquet(p) for p in _parts(out_dir / "parts" / "failures")]
    if not parts:
        return _empty_failures()
    df = pd.concat(parts, ignore_index=True)
    return df.sort_values("task_id", kind="stable").reset_index(drop=True)


def _empty_failures() -> pd.DataFrame:
    return pd.DataFrame({"task_id": pd.Series(dtype="int64"),
                         **{c: pd.Series(dtype="str") for c in _FAILURE_COLUMNS[1:]}})


def _read_results(out_dir: Path) -> pd.DataFrame:
    parts = [pd.read_parquet(p) for p in _parts(out_dir / "parts" / "results")]
    parts = [p for p in parts if len(p)] or parts[:1]
    if not parts:
        return pd.DataFrame({"task_id": pd.Series(dtype="int64")})
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return df.sort_values("task_id", kind="stable").reset_index(drop=True)


def _consolidate(out_dir: Path, results: pd.DataFrame, failures: pd.DataFrame) -> None:
    _write_parquet_atomic(results, out_dir / "results.parquet")
    _write_parquet_atomic(failures, out_dir / "failures.parquet")


# --------------------------------------------------------------------------- manifest


def _describe_callable(fn: Callable[..., Any]) -> str:
    if isinstance(fn, functools.partial):
        return f"partial({_describe_callable(fn.func)}, {_hash_value(list(fn.args))}, {_hash_value(fn.keywords)})"
    module = getattr(fn, "__module__", None) or type(fn).__module__
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}:{name}"


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (set, frozenset)):
        return sorted(x)
    raise TypeError(type(x).__name__)


def _hash_value(value: Any) -> str:
    """sha256 of canonical JSON when ``value`` is JSON-like, else Dask's deterministic token."""
    try:
        text = json.dumps(value, sort_keys=True, default=_jsonable, separators=(",", ":"), allow_nan=True)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    except (TypeError, ValueError):
        pass
    from dask.base import tokenize

    try:
        return "dask:" + tokenize(value, ensure_deterministic=True)
    except Exception as exc:
        raise IrmodelsError(
            f"study params must be hashable into the manifest: JSON-like values (numbers, strings, "
            f"lists, dicts, numpy arrays) or objects Dask tokenizes deterministically (DataFrames); "
            f"{type(value).__name__} is neither ({exc}). Pass the object's description instead, or "
            f"build the object inside the task or in `setup`.") from exc


def _params_repr(params: Mapping[str, Any]) -> Any:
    try:
        return json.loads(json.dumps(params, sort_keys=True, default=_jsonable, allow_nan=True))
    except (TypeError, ValueError):
        return {k: repr(v)[:200] for k, v in sorted(params.items())}


def _manifest(task: Callable[..., Any], n_tasks: int, seed: int, params: Mapping[str, Any],
              setup: Callable[[], Any] | None) -> dict[str, Any]:
    import dask

    from irmodels.core.tablecache import package_source_hash
    from irmodels.core.version import __version__

    return {
        "format": MANIFEST_FORMAT,
        "seed": int(seed),
        "n_tasks": int(n_tasks),
        "task": _describe_callable(task),
        "setup": None if setup is None else _describe_callable(setup),
        "params_hash": _hash_value(dict(params)),
        "irmodels_version": __version__,
        # information only (not compared on resume; a changed package source is warned about and recorded)
        "package_source": package_source_hash(),
        "params": _params_repr(params),
        "seeding": "numpy.random.default_rng(numpy.random.SeedSequence(seed, spawn_key=(task_id,)))",
        "numpy_version": np.__version__,
        "pandas_version": pd.__version__,
        "dask_version": dask.__version__,
    }


def _check_or_write_manifest(out_dir: Path, manifest: dict[str, Any], extend: bool = False) -> None:
    """Write the manifest of a new study, or check that ``out_dir`` holds the same study.

    With ``extend``, a stored study that differs only by fewer tasks is grown to
    ``manifest["n_tasks"]``: task ``i``'s random stream depends on ``(seed, i)`` only, so its
    finished tasks are tasks of the larger study. The manifest then records the earlier sizes
    in ``extended_from``. A study is never shrunk.
    """
    from irmodels.core.io import write_text_atomic

    path = out_dir / "manifest.json"
    if not path.exists():
        write_text_atomic(json.dumps(manifest, indent=2, sort_keys=True, allow_nan=True) + "\n", path)
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StudyManifestError(
            f"{path}: unreadable study manifest ({exc}); remove {out_dir} or choose another out_dir") from exc
    differ = [k for k in _IDENTITY if old.get(k) != manifest[k]]
    grows = (differ == ["n_tasks"] and isinstance(old.get("n_tasks"), int)
             and old["n_tasks"] < manifest["n_tasks"])
    if differ and not (grows and extend):
        diffs = [f"  - {k}: stored {old.get(k)!r}, asked {manifest[k]!r}" for k in differ]
        if "params_hash" in differ and isinstance(old.get("params"), dict):
            names = sorted(k for k in set(old["params"]) | set(manifest["params"])
                           if old["params"].get(k) != manifest["params"].get(k))
            diffs += [f"    params[{k!r}]: stored {old['params'].get(k)!r}, asked {manifest['params'].get(k)!r}"
                      for k in names]
        hint = (f"\nThe stored study has fewer tasks and is otherwise the same: pass extend=True to grow it "
                f"(its {old['n_tasks']} tasks are kept)." if grows else "")
        raise StudyManifestError(
            f"{out_dir} holds a different study, so its results cannot be resumed:\n" + "\n".join(diffs) + hint
            + f"\nUse another out_dir for the new study, or delete {out_dir} to discard the stored one.")
    if differ:  # grown (extend=True)
        updated = {**old, "n_tasks": manifest["n_tasks"], "extended_from": [*old.get("extended_from", []), old["n_tasks"]]}
        write_text_atomic(json.dumps(updated, indent=2, sort_keys=True, allow_nan=True) + "\n", path)


def _note_source(out_dir: Path, manifest: dict[str, Any]) -> None:
    """Before tasks run in a stored study: warn and record when the package source differs from its earlier tasks'."""
    from irmodels.core.io import write_text_atomic

    path = out_dir / "manifest.json"
    old = json.loads(path.read_text(encoding="utf-8"))
    source = manifest["package_source"]
    history = list(old.get("package_source_history", [old.get("package_source")]))
    if history[-1] == source:
        return
    # a study's tasks are deterministic given the code: a mix of code versions is recorded, never silent
    warnings.warn(
        f"{path}: this study's earlier tasks ran with package source {history[-1] or '(not recorded)'} and the "
        f"remaining ones run with {source} (irmodels.core.tablecache.package_source_hash); the manifest "
        "records both in package_source_history. Delete the study directory to rerun it with one code version.",
        StudyCodeChangedWarning, stacklevel=3)
    updated = {**old, "package_source_history": [*history, source]}
    write_text_atomic(json.dumps(updated, indent=2, sort_keys=True, allow_nan=True) + "\n", path)


def _read_manifest(out_dir: Path) -> dict[str, Any]:
    path = Path(out_dir) / "manifest.json"
    if not path.is_file():
        raise IrmodelsError(f"{out_dir} is not a study directory: it has no manifest.json (run_study writes it)")
    return json.loads(path.read_text(encoding="utf-8"))


@contextlib.contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # not POSIX: no guard against two concurrent runs
        yield
        return
    with open(out_dir / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise StudyLockedError(
                f"another process is running a study in {out_dir}; wait for it or stop it first") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)



def _archive_failures(out_dir: Path) -> None:
    src = out_dir / "parts" / "failures"
    parts = _parts(src)
    if not parts:
        return
    dest = src / "previous" / time.strftime("%Y%m%dT%H%M%S")
    dest.mkdir(parents=True, exist_ok=True)
    for p in parts:
        os.replace(p, dest / p.name)
