"""The worker side of the study runner: task seeds, per-worker setup, running a batch of tasks.

What runs on a Dask worker (or in this process with the synchronous scheduler): the task's
generator (:func:`task_rng`, the ``task_id``-th child of the study seed), the once-per-process
setup cache (:func:`worker_setup`), and :func:`_run_batch`, which runs a batch of tasks in order,
turns each task's rows into a frame and catches each task's exception as a failure record.
Nothing here touches the study's directory (the client writes; see
:mod:`irmodels.studies.runner_store`).
"""

from __future__ import annotations

import functools

import hashlib
import threading
import traceback
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

_TRACEBACK_CHARS = 4000


def task_rng(seed: int, task_id: int) -> np.random.Generator:
    """Generator of task ``task_id`` of the study seeded by ``seed``.

    ``default_rng(SeedSequence(seed, spawn_key=(task_id,)))``: the same stream as
    ``SeedSequence(seed).spawn(n)[task_id]`` for any ``n > task_id``, so a task's draws do
    not depend on the number of tasks, workers or batches.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(task_id),)))


# setup results of this process (a Dask worker, or the client for the synchronous scheduler),
# keyed by a hash of the pickled setup callable: the callable arrives as a new object with
# every batch, the hash is the same
_SETUP_CACHE: dict[str, Any] = {}
_SETUP_LOCK = threading.Lock()


def _callable_key(fn: Callable[..., Any]) -> str:
    import cloudpickle

    return hashlib.sha256(cloudpickle.dumps(fn)).hexdigest()


def worker_setup(setup: Callable[[], Any], *, key: str | None = None) -> Any:
    """Return ``setup()``, computed once per process (per Dask worker) and cached.

    The runner calls it for the ``setup`` argument of :func:`run_study`; a task may also call
    it directly for a resource of its own (e.g. a compiled model). Thread-safe: with several
    threads per worker, one runs ``setup`` and the others wait for its result.
    """
    key = key if key is not None else _callable_key(setup)
    try:
        return _SETUP_CACHE[key]
    except KeyError:
        pass
    with _SETUP_LOCK:
        if key not in _SETUP_CACHE:
            _SETUP_CACHE[key] = setup()
        return _SETUP_CACHE[key]


# --------------------------------------------------------------------------- worker side


def _as_frame(out: Any) -> pd.DataFrame:
    if isinstance(out, pd.DataFrame):
        df = out.reset_index(drop=True)
    elif isinstance(out, (Mapping, pd.Series)):
        df = pd.DataFrame([dict(out)])
    elif isinstance(out, (list, tuple)) and all(isinstance(r, Mapping) for r in out):
        df = pd.DataFrame([dict(r) for r in out]) if out else pd.DataFrame()
    else:
        raise TypeError(
            f"a study task must return a dict (one row), a list of dicts or a pandas.DataFrame; "
            f"it returned {type(out).__name__}")
    bad = [c for c in df.columns if not isinstance(c, str)]
    if bad:
        raise TypeError(f"result column names must be strings (parquet); got {bad!r}")
    if "task_id" in df.columns:
        raise ValueError("a study task must not return a 'task_id' column: the runner adds it")
    df.insert(0, "task_id", np.full(len(df), 0, dtype="int64"))
    return df


def _failure(task_id: int, exc: BaseException) -> dict[str, Any]:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"task_id": int(task_id), "error_type": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "message": str(exc), "traceback": tb[-_TRACEBACK_CHARS:]}


@functools.cache
def worker_source() -> str:
    """The package source this process runs (:func:`irmodels.core.tablecache.package_source_hash`), read
    once per process: the code a worker imported when it started, recorded with every part it writes."""
    from irmodels.core.tablecache import package_source_hash

    return package_source_hash()


def _run_batch(task: Callable[..., Any], ids: Sequence[int], seed: int, params: Mapping[str, Any],
               setup: Callable[[], Any] | None, setup_key: str | None
               ) -> tuple[pd.DataFrame | None, list[int], list[dict[str, Any]]]:
    """Run the tasks ``ids`` in order; return (rows, ids of tasks done, failure records)."""
    import pyarrow as pa

    kwargs = dict(params)
    frames: list[pd.DataFrame] = []
    done: list[int] = []
    failures: list[dict[str, Any]] = []
    if setup is not None:
        try:
            kwargs["setup"] = worker_setup(setup, key=setup_key)
        except Exception as exc:  # every task of the batch needs it
            return None, [], [_failure(i, exc) for i in ids]
    for i in ids:
        try:
            df = _as_frame(task(int(i), task_rng(seed, i), **kwargs))
            df["task_id"] = np.int64(i)
            pa.Table.from_pandas(df, preserve_index=False)  # a row parquet cannot hold fails its task here
        except Exception as exc:
            failures.append(_failure(i, exc))
        else:
            frames.append(df)
            done.append(int(i))
    rows = pd.concat(frames, ignore_index=True) if frames else None
    if rows is not None:
        rows.attrs["irmodels.package_source"] = worker_source()
    return rows, done, failures


# task, setup and params of the studies this worker has run, unpickled once per process;
# keyed by the hash of their pickle (a few entries: one per study running on the cluster)
_PAYLOADS: dict[str, tuple[Any, Any, Any]] = {}
_PAYLOAD_LOCK = threading.Lock()
_MAX_PAYLOADS = 4


def _run_batch_remote(payload: bytes, payload_key: str, ids: Sequence[int], seed: int, setup_key: str | None
                      ) -> tuple[pd.DataFrame | None, list[int], list[dict[str, Any]]]:
    """:func:`_run_batch` on a Dask worker, the study's callables arriving pickled.

    Unpickling here, not in Dask's own deserialisation, turns a task module the worker cannot
    import into an ordinary error of this Dask task (Dask's own path drops the worker).
    """
    with _PAYLOAD_LOCK:
        loaded = _PAYLOADS.get(payload_key)
    if loaded is None:
        import cloudpickle

        loaded = cloudpickle.loads(payload)
        with _PAYLOAD_LOCK:
            while len(_PAYLOADS) >= _MAX_PAYLOADS:
                _PAYLOADS.pop(next(iter(_PAYLOADS)))
            _PAYLOADS[payload_key] = loaded
    task, setup, params = loaded
    return _run_batch(task, ids, seed, params, setup, setup_key)
