"""The simulation-study runner: "simulate -> fit -> summarise" over many tasks on Dask.

One function, :func:`run_study`, maps a task function over ``n_tasks`` task ids and
collects the rows each task returns into one table. The scheduling is Dask distributed's
(a :class:`distributed.LocalCluster` of worker processes by default, an existing cluster
given its scheduler address, or a plain in-process loop with ``scheduler="synchronous"``);
this module only adds what a simulation study needs on top of it:

* **Seeding.** Task ``i`` draws from ``numpy.random.default_rng(SeedSequence(seed,
  spawn_key=(i,)))``, the ``i``-th child of the study seed (:func:`task_rng`). Its stream
  depends on neither the number of tasks, the number of workers, the batch it runs in
  nor the order tasks finish in, so a study gives the same rows on 1 worker and on N.
* **Incremental, resumable output.** Each finished batch of tasks is written to ``out_dir``
  as its own parquet part (temporary file + rename, so a part is whole or absent). A rerun
  of the same study (same manifest) runs only the tasks that have neither a result nor a
  failure record; a rerun whose manifest differs is refused (:class:`StudyManifestError`).
* **Failures.** An exception in a task is caught on the worker and recorded (task id, error
  type, message, traceback excerpt) in the failures table; the other tasks go on. A failed
  task is not retried unless asked (``retry_failed=True``). A batch whose worker died
  (memory limit, segfault) is split into single tasks once, so only the culprit is recorded.
* **Per-worker setup.** ``setup`` (e.g. compiling a PyMC model) runs once per worker process
  and its result is handed to every task that runs there (:func:`worker_setup`).
* **Progress.** A ``rich`` progress bar shows tasks done, left and failed.

Layout of ``out_dir``::

    manifest.json                 seed, n_tasks, task, setup, params hash, irmodels version
    parts/results/part-*.parquet  rows of the tasks of one batch (task ids in the metadata)
    parts/failures/part-*.parquet failure records of one batch
    results.parquet               all rows sorted by task_id (written when the study is complete)
    failures.parquet              all failure records sorted by task_id (idem)

The two consolidated files depend only on the study (seed, tasks, params), never on the
number of workers or the batching, so they are byte-identical across runs.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import signal
import tempfile
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from irmodels.core.errors import IrmodelsError, IrmodelsWarning

__all__ = [
    "run_study",
    "load_study",
    "task_rng",
    "worker_setup",
    "StudyResult",
    "StudyManifestError",
    "StudyLockedError",
    "TaskFailedWarning",
    "SCHEDULER_ENV",
]

#: Environment variable naming the scheduler when ``run_study(scheduler=None)``: a Dask
#: scheduler address (``tcp://host:8786``) or ``synchronous``.
SCHEDULER_ENV = "IRMODELS_SCHEDULER"

MANIFEST_FORMAT = 1
# manifest fields that must agree for a rerun to resume a study (the others are information)
_IDENTITY = ("format", "seed", "n_tasks", "task", "setup", "params_hash", "irmodels_version")
_IDS_KEY = b"irmodels.task_ids"
_FAILURE_COLUMNS = ("task_id", "error_type", "message", "traceback")
_TRACEBACK_CHARS = 4000
_MAX_AUTO_BATCH = 100


class StudyManifestError(IrmodelsError, ValueError):
    """``out_dir`` holds another study (its manifest differs from the one asked for)."""


class StudyLockedError(IrmodelsError, RuntimeError):
    """Another process is running a study in the same ``out_dir``."""


class TaskFailedWarning(IrmodelsWarning):
    """Some tasks of a study failed; their errors are in :attr:`StudyResult.failures`."""


# --------------------------------------------------------------------------- results


@dataclass
class StudyResult:
    """The output of a study: what :func:`run_study` and :func:`load_study` return.

    Attributes
    ----------
    results : pandas.DataFrame
        The rows returned by the tasks, ``task_id`` first, sorted by ``task_id`` (rows of one
        task in the order the task returned them), with a fresh RangeIndex.
    failures : pandas.DataFrame
        One row per failed task, sorted by ``task_id``: ``task_id``, ``error_type``
        (qualified exception class), ``message``, ``traceback`` (its last lines).
    manifest : dict
        The study's manifest (``manifest.json``).
    out_dir : pathlib.Path
        Where the study is stored.
    n_executed : int
        Tasks run by this call (0 for :func:`load_study`).
    n_skipped : int
        Tasks this call found already done or failed in ``out_dir`` and did not run again.
    wall_time : float
        Seconds this call took (0 for :func:`load_study`).
    memory_limit : int or None
        Memory limit per worker in bytes (with one thread per worker, the bound of one task);
        None when unknown or unbounded (the synchronous scheduler).
    """

    results: pd.DataFrame
    failures: pd.DataFrame
    manifest: dict[str, Any]
    out_dir: Path
    n_executed: int = 0
    n_skipped: int = 0
    wall_time: float = 0.0
    memory_limit: int | None = None
    _done_ids: frozenset[int] = field(default=frozenset(), repr=False)

    @property
    def n_tasks(self) -> int:
        """Number of tasks of the study."""
        return int(self.manifest["n_tasks"])

    @property
    def n_done(self) -> int:
        """Tasks that finished (with any number of rows, zero included)."""
        return len(self._done_ids)

    @property
    def n_failed(self) -> int:
        """Tasks recorded as failed."""
        return int(self.failures["task_id"].nunique()) if len(self.failures) else 0

    @property
    def n_missing(self) -> int:
        """Tasks neither done nor failed (an interrupted study)."""
        return self.n_tasks - self.n_done - self.n_failed

    @property
    def complete(self) -> bool:
        """Whether every task is done or recorded as failed."""
        return self.n_missing == 0


# --------------------------------------------------------------------------- seeding and setup


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


# --------------------------------------------------------------------------- files


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

    from irmodels.core.version import __version__

    return {
        "format": MANIFEST_FORMAT,
        "seed": int(seed),
        "n_tasks": int(n_tasks),
        "task": _describe_callable(task),
        "setup": None if setup is None else _describe_callable(setup),
        "params_hash": _hash_value(dict(params)),
        "irmodels_version": __version__,
        # information only (not compared on resume)
        "params": _params_repr(params),
        "seeding": "numpy.random.default_rng(numpy.random.SeedSequence(seed, spawn_key=(task_id,)))",
        "numpy_version": np.__version__,
        "pandas_version": pd.__version__,
        "dask_version": dask.__version__,
    }


def _check_or_write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
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
    diffs = [f"  - {k}: stored {old.get(k)!r}, asked {manifest[k]!r}" for k in _IDENTITY if old.get(k) != manifest[k]]
    if diffs:
        raise StudyManifestError(
            f"{out_dir} holds a different study, so its results cannot be resumed:\n" + "\n".join(diffs)
            + f"\nUse another out_dir for the new study, or delete {out_dir} to discard the stored one.")


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


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so temporary files are removed and the cluster is closed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --------------------------------------------------------------------------- progress


class _Progress:
    def __init__(self, enabled: bool, total: int, already: int, failed: int, label: str) -> None:
        self.total, self.completed, self.failed = total, already, failed
        self._bar = None
        if enabled:
            from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(),
                TextColumn("{task.fields[done]} done, {task.fields[left]} left, "
                           "[red]{task.fields[failed]} failed[/red] of {task.total} tasks"),
                TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
            self._bar.start()
            self._task = self._bar.add_task(label, total=total, completed=already, done=already - failed,
                                            left=total - already, failed=failed)

    def advance(self, n_done: int, n_failed: int) -> None:
        self.completed += n_done + n_failed
        self.failed += n_failed
        if self._bar is not None:
            self._bar.update(self._task, completed=self.completed, done=self.completed - self.failed,
                             left=self.total - self.completed, failed=self.failed)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


# --------------------------------------------------------------------------- scheduling


def _auto_batch_size(n_pending: int, n_threads: int) -> int:
    # ~20 batches per worker thread: enough for load balancing and frequent saves, few
    # enough that thousands of cheap tasks do not become thousands of files
    return max(1, min(_MAX_AUTO_BATCH, math.ceil(n_pending / (20 * max(1, n_threads)))))


def _batches(ids: Sequence[int], size: int) -> list[list[int]]:
    return [list(ids[k:k + size]) for k in range(0, len(ids), size)]


class _Writer:
    """Writes the parts of finished batches (on the client: workers never touch out_dir)."""

    def __init__(self, out_dir: Path, progress: _Progress) -> None:
        self.results_dir = out_dir / "parts" / "results"
        self.failures_dir = out_dir / "parts" / "failures"
        self.progress = progress
        self.n_executed = 0
        self.n_failed = 0

    def __call__(self, rows: pd.DataFrame | None, done: list[int], failures: list[dict[str, Any]]) -> None:
        # failures first: a crash between the two writes leaves the done tasks to be rerun,
        # never a done task without its rows
        if failures:
            self.n_failed += len(failures)
            _write_parquet_atomic(pd.DataFrame(failures, columns=list(_FAILURE_COLUMNS)).astype({"task_id": "int64"}),
                                  _part_path(self.failures_dir, [f["task_id"] for f in failures]))
        if done:
            if rows is None:
                rows = pd.DataFrame({"task_id": pd.Series(dtype="int64")})
            try:
                _write_parquet_atomic(rows, _part_path(self.results_dir, done),
                                      {_IDS_KEY: json.dumps(sorted(done)).encode()})
            except Exception as exc:
                raise IrmodelsError(
                    f"the rows of tasks {min(done)}-{max(done)} cannot be written as parquet ({exc}); "
                    f"a column probably mixes types across tasks: return one type per column") from exc
        self.n_executed += len(done) + len(failures)
        self.progress.advance(len(done), len(failures))


def _run_serial(batches: list[list[int]], run: Callable[[list[int]], Any], write: _Writer) -> None:
    for ids in batches:
        write(*run(ids))


def _make_client(scheduler: Any, n_workers: int | None, threads_per_worker: int,
                 memory_limit: str | int | float | None) -> tuple[Any, Any, bool]:
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        return scheduler, None, False
    if scheduler is None:
        import dask
        from dask.system import CPU_COUNT

        # no dashboard, and the scheduler's HTTP endpoints on a free local port: concurrent
        # studies do not clash over :8787. For a dashboard, start a cluster and pass its Client.
        # worker-saturation 1.0: a worker holds only the batches it is running, none queued, so a
        # worker that dies (memory limit) takes down only the culprit, not innocent queued tasks
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            cluster = LocalCluster(n_workers=n_workers or CPU_COUNT, threads_per_worker=threads_per_worker,
                                   processes=True, memory_limit=memory_limit, dashboard_address=None,
                                   scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
        return Client(cluster), cluster, True
    return Client(scheduler), None, True


def _run_distributed(client: Any, batches: list[list[int]], task: Callable[..., Any], seed: int,
                     params: Mapping[str, Any], setup: Callable[[], Any] | None, setup_key: str | None,
                     write: _Writer, max_in_flight: int) -> None:
    from distributed import as_completed

    import cloudpickle

    # task, setup and params travel once to the cluster, not once per batch, as a task result
    # (not scattered data: Dask recomputes it if the worker holding it dies)
    payload = cloudpickle.dumps((task, setup, dict(params)))
    payload_key = hashlib.sha256(payload).hexdigest()
    payload_f = client.submit(_identity, payload, pure=False, key=f"irmodels-study-payload-{payload_key[:16]}-"
                              f"{os.urandom(4).hex()}")
    queue = list(reversed(batches))
    ids_of: dict[str, list[int]] = {}
    in_flight: dict[str, Any] = {}
    split: set[str] = set()

    def submit(ids: list[int], *, single: bool = False) -> Any:
        fut = client.submit(_run_batch_remote, payload_f, payload_key, ids, seed, setup_key, pure=False,
                            key=f"irmodels-study-{ids[0]}-{ids[-1]}-{os.urandom(4).hex()}")
        ids_of[fut.key] = ids
        in_flight[fut.key] = fut
        if single:
            split.add(fut.key)
        return fut

    pending = as_completed([submit(queue.pop()) for _ in range(min(max_in_flight, len(queue)))])
    try:
        for fut in pending:
            ids = ids_of.pop(fut.key)
            in_flight.pop(fut.key, None)
            try:
                rows, done, failures = fut.result()
            except Exception as exc:  # the batch itself failed (a task's own errors are caught in it)
                if type(exc).__name__ != "KilledWorker":
                    # not one task's fault but the environment's, and the same for every task:
                    # stop (the study resumes once it is fixed) rather than fail every task
                    raise IrmodelsError(
                        f"the cluster could not run tasks {ids[0]}-{ids[-1]} ({type(exc).__name__}: {exc}). "
                        f"Are irmodels and the task's module ({_describe_callable(task)}) importable on the "
                        f"workers, at the same versions as here? Rerun to resume once it is fixed.") from exc
                if len(ids) > 1 and fut.key not in split:
                    for i in ids:  # run each task alone once, so only the culprit is recorded
                        pending.add(submit([i], single=True))
                    fut.release()
                    continue
                rows, done, failures = None, [], [_failure(i, exc) for i in ids]
                for f in failures:
                    f["message"] = ("the worker running this task died: the task exceeded the memory limit "
                                    "per worker (StudyResult.memory_limit) or crashed the process. " + f["message"])
            fut.release()
            write(rows, done, failures)
            if queue:
                pending.add(submit(queue.pop()))
    except BaseException:
        client.cancel(list(in_flight.values()))
        raise
    finally:
        payload_f.release()


def _identity(x: Any) -> Any:
    return x


def _worker_memory_limit(client: Any) -> int | None:
    try:
        limits = {w.get("memory_limit") for w in client.scheduler_info()["workers"].values()}
    except Exception:
        return None
    limits.discard(None)
    limits.discard(0)
    return min(limits) if limits else None


# --------------------------------------------------------------------------- the API


def run_study(
    task: Callable[..., Any],
    n_tasks: int,
    seed: int,
    out_dir: str | os.PathLike,
    *,
    params: Mapping[str, Any] | None = None,
    setup: Callable[[], Any] | None = None,
    scheduler: Any = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    batch_size: int | None = None,
    progress: bool = True,
    memory_limit: str | int | float | None = "auto",
    retry_failed: bool = False,
) -> StudyResult:
    """Run ``task`` for task ids ``0 .. n_tasks-1`` on Dask, saving results as they come.

    Parameters
    ----------
    task : callable
        ``task(task_id, rng, **params)`` returning the task's rows: a dict (one row), a list
        of dicts or a :class:`pandas.DataFrame`; column names are strings, each column of one
        type across tasks, and no column is called ``task_id`` (the runner adds it). With
        ``setup``, the task also receives ``setup=<what setup returned>``. It must be
        picklable (a module-level function; cloudpickle also sends closures) and must take
        all its randomness from ``rng``.
    n_tasks : int
        Number of tasks (>= 1).
    seed : int
        Study seed (>= 0): task ``i`` gets ``default_rng(SeedSequence(seed, spawn_key=(i,)))``
        (:func:`task_rng`).
    out_dir : path
        Directory of the study (created). Rerunning the same study there resumes it.
    params : mapping, optional
        Keyword arguments of every task; recorded in the manifest (JSON-like values, or
        objects Dask tokenizes deterministically such as DataFrames).
    setup : callable, optional
        ``setup()`` is run once per worker process (e.g. to compile a PyMC model) and its
        result passed to every task on that worker as ``setup=``.
    scheduler : None, str or distributed.Client
        ``None``: the address in the environment variable ``IRMODELS_SCHEDULER`` if set,
        else a new :class:`distributed.LocalCluster` of worker processes (closed at the end).
        A scheduler address (``"tcp://host:8786"``) runs on that cluster; a ``Client`` is
        used as is (and left open); ``"synchronous"`` runs every task in this process, in
        order (debugging, tests).
    n_workers : int, optional
        Workers of the LocalCluster; default the number of usable cores
        (:data:`dask.system.CPU_COUNT`). Ignored for an existing cluster.
    threads_per_worker : int
        Threads per LocalCluster worker (default 1: CPU-bound Python tasks hold the GIL, and
        the memory limit of a worker is then the bound of one task).
    batch_size : int, optional
        Tasks run together in one Dask task and saved in one part file. Default: about 20
        batches per worker thread, at most 100 tasks. For expensive tasks (MCMC fits) pass 1,
        so each finished task is saved at once.
    progress : bool
        Show a progress bar (tasks done / left / failed, elapsed, remaining).
    memory_limit : str, int, float or None
        Memory limit per LocalCluster worker (Dask's ``memory_limit``: ``"auto"`` = system
        memory / number of workers, bytes, or a string such as ``"2GiB"``). A worker above
        95 % of it is restarted by its nanny; its batch is retried by Dask, then split into
        single tasks, and the task still killing its worker is recorded as failed.
    retry_failed : bool
        Run again the tasks recorded as failed (their old records move to
        ``parts/failures/previous/``). By default failed tasks are not retried.

    Returns
    -------
    StudyResult
        ``results`` (rows sorted by ``task_id``), ``failures`` (``task_id``, ``error_type``,
        ``message``, ``traceback``), ``manifest`` and counts, as :func:`load_study` reads them
        back from ``out_dir``.

    Raises
    ------
    StudyManifestError
        ``out_dir`` holds a study with another seed, number of tasks, task, setup, params
        or irmodels version.
    StudyLockedError
        Another process is running a study in ``out_dir``.
    IrmodelsError
        Invalid arguments; params that cannot be recorded in the manifest.

    Warns
    -----
    TaskFailedWarning
        When tasks failed (their errors are in ``failures``).

    Notes
    -----
    Results do not depend on the number of workers, threads or batches: each task's stream is
    fixed by ``(seed, task_id)`` and the output is sorted by ``task_id``. The consolidated
    ``results.parquet`` and ``failures.parquet``, written when every task is done or failed,
    are byte-identical across runs of the same study. A task must not depend on global state
    a worker shares between tasks (other than what ``setup`` returns).

    Examples
    --------
    >>> def draw(task_id, rng, n):
    ...     return {"mean": rng.normal(size=n).mean()}
    >>> res = run_study(draw, 100, seed=1, out_dir="study", params={"n": 50})  # doctest: +SKIP
    >>> res.results.head()  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    params = dict(params or {})
    _check_args(task, n_tasks, seed, params, setup, n_workers, threads_per_worker, batch_size)
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _manifest(task, n_tasks, seed, params, setup)

    with _locked(out_dir), _sigterm_as_exit():
        _check_or_write_manifest(out_dir, manifest)
        _remove_stale_temporaries(out_dir)
        if retry_failed:
            _archive_failures(out_dir)
        done = _read_done_ids(out_dir)
        failed_before = _read_failures(out_dir)
        finished = done | set(failed_before["task_id"].tolist())
        pending = [i for i in range(n_tasks) if i not in finished]
        if pending:  # the consolidated files describe a complete study only
            for name in ("results.parquet", "failures.parquet"):
                (out_dir / name).unlink(missing_ok=True)

        setup_key = None if setup is None else _callable_key(setup)
        memory = None
        writer = None
        if pending:
            serial = scheduler == "synchronous"
            client = cluster = None
            close = False
            try:
                if not serial:
                    client, cluster, close = _make_client(scheduler, n_workers, threads_per_worker, memory_limit)
                    memory = _worker_memory_limit(client)
                n_threads = 1 if serial else max(1, sum(client.nthreads().values()))
                size = batch_size or _auto_batch_size(len(pending), n_threads)
                batches = _batches(pending, size)
                bar = _Progress(progress, n_tasks, len(finished), failed_before["task_id"].nunique(),
                                f"study {manifest['task'].rsplit(':', 1)[-1]}")
                writer = _Writer(out_dir, bar)
                try:
                    if serial:
                        _run_serial(batches, lambda ids: _run_batch(task, ids, seed, params, setup, setup_key), writer)
                    else:
                        _run_distributed(client, batches, task, seed, params, setup, setup_key, writer,
                                         max_in_flight=max(2 * n_threads, 4))
                finally:
                    bar.close()
            finally:
                if close:
                    client.close()
                if cluster is not None:
                    cluster.close()

        result = load_study(out_dir)
        if result.complete and (pending or not (out_dir / "results.parquet").exists()):
            _consolidate(out_dir, result.results, result.failures)

    result.n_executed = writer.n_executed if writer else 0
    result.n_skipped = len(finished)
    result.wall_time = time.perf_counter() - t0
    result.memory_limit = memory
    if writer is not None and writer.n_failed:
        first = result.failures.iloc[0]
        warnings.warn(
            f"{writer.n_failed} of {len(pending)} tasks failed in this run ({result.n_failed} in the study); "
            f"first: task {first['task_id']}: {first['error_type']}: {first['message']}. "
            f"See StudyResult.failures or {out_dir / 'parts' / 'failures'}; rerun with retry_failed=True "
            f"to run them again.", TaskFailedWarning, stacklevel=2)
    return result


def load_study(out_dir: str | os.PathLike) -> StudyResult:
    """Read a study written by :func:`run_study` (complete or interrupted).

    Parameters
    ----------
    out_dir : path
        The study's directory.

    Returns
    -------
    StudyResult
        ``results``, ``failures`` and ``manifest``; ``n_missing`` tells how many tasks an
        interrupted study has yet to run.

    Raises
    ------
    IrmodelsError
        ``out_dir`` has no ``manifest.json``.
    """
    out_dir = Path(out_dir)
    manifest = _read_manifest(out_dir)
    return StudyResult(results=_read_results(out_dir), failures=_read_failures(out_dir), manifest=manifest,
                       out_dir=out_dir, _done_ids=frozenset(_read_done_ids(out_dir)))


def _archive_failures(out_dir: Path) -> None:
    src = out_dir / "parts" / "failures"
    parts = _parts(src)
    if not parts:
        return
    dest = src / "previous" / time.strftime("%Y%m%dT%H%M%S")
    dest.mkdir(parents=True, exist_ok=True)
    for p in parts:
        os.replace(p, dest / p.name)


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _check_args(task: Any, n_tasks: Any, seed: Any, params: dict[str, Any], setup: Any, n_workers: Any,
                threads_per_worker: Any, batch_size: Any) -> None:
    problems = []
    if not callable(task):
        problems.append(f"task: must be callable as task(task_id, rng, **params); got {type(task).__name__}")
    if not (_is_int(n_tasks) and n_tasks >= 1):
        problems.append(f"n_tasks: must be an integer >= 1; got {n_tasks!r}")
    if not (_is_int(seed) and seed >= 0):
        problems.append(f"seed: must be a non-negative integer (SeedSequence entropy); got {seed!r}")
    if setup is not None and not callable(setup):
        problems.append(f"setup: must be callable with no arguments; got {type(setup).__name__}")
    reserved = {"task_id", "rng"} | ({"setup"} if setup is not None else set())
    clash = sorted(reserved & set(params))
    if clash:
        problems.append(f"params: {clash} are passed by the runner; rename these parameters")
    for name, value in (("n_workers", n_workers), ("batch_size", batch_size)):
        if value is not None and not (_is_int(value) and value >= 1):
            problems.append(f"{name}: must be None or an integer >= 1; got {value!r}")
    if not (_is_int(threads_per_worker) and threads_per_worker >= 1):
        problems.append(f"threads_per_worker: must be an integer >= 1; got {threads_per_worker!r}")
    if problems:
        raise IrmodelsError("run_study: invalid arguments:\n" + "\n".join(f"  - {p}" for p in problems))
