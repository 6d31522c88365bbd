"""Scheduling of the study runner: batches, progress, the client-side writer, serial and Dask loops.

The client runs the pending tasks in batches, either in this process (``scheduler="synchronous"``)
or on Dask distributed (a new :class:`distributed.LocalCluster`, a scheduler address or a
``Client``), and writes each finished batch as it arrives (:class:`_Writer`); a batch whose
worker died is split into single tasks once, so only the culprit is recorded as failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import signal
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import pandas as pd

from irmodels.core.errors import IrmodelsError
from irmodels.studies.runner_store import (_FAILURE_COLUMNS, _IDS_KEY, _SOURCE_KEY, _describe_callable, _part_path,
                                           _write_parquet_atomic)
from irmodels.studies.runner_tasks import _failure, _run_batch, _run_batch_remote

_MAX_AUTO_BATCH = 100


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
                meta = {_IDS_KEY: json.dumps(sorted(done)).encode()}
                source = rows.attrs.get("irmodels.package_source")
                if source:  # the code the worker ran (runner_tasks.worker_source)
                    meta[_SOURCE_KEY] = str(source).encode()
                _write_parquet_atomic(rows, _part_path(self.results_dir, done), meta)
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


def _run_pending(pending: list[int], task: Callable[..., Any], seed: int, params: Mapping[str, Any],
                 setup: Callable[[], Any] | None, setup_key: str | None, out_dir: Path, *, scheduler: Any,
                 n_workers: int | None, threads_per_worker: int, memory_limit: str | int | float | None,
                 batch_size: int | None, progress: bool, n_tasks: int, n_finished: int, n_failed: int,
                 label: str) -> tuple[_Writer, int | None]:
    """Run the ``pending`` tasks in batches, here or on Dask, writing each batch as it finishes.

    Returns the writer (its counts of tasks run and failed) and the memory limit per worker
    (None for the synchronous scheduler or when unknown). A cluster this call started is closed.
    """
    memory = None
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
        bar = _Progress(progress, n_tasks, n_finished, n_failed, label)
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
    return writer, memory
