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

The runner's parts: :mod:`~irmodels.studies.runner_tasks` (seeds, per-worker setup, what runs
on a worker), :mod:`~irmodels.studies.runner_store` (manifest, parts, consolidated files, lock)
and :mod:`~irmodels.studies.runner_dask` (batches, progress, the serial and Dask loops); this
module holds the API, :func:`run_study` and :func:`load_study`.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from irmodels.core.errors import IrmodelsError, IrmodelsWarning
from irmodels.studies.runner_dask import _run_pending, _sigterm_as_exit
from irmodels.studies.runner_store import (
    StudyCodeChangedWarning,
    _archive_failures,
    _check_or_write_manifest,
    _note_source,
    _consolidate,
    _locked,
    _manifest,
    _read_done_ids,
    _read_failures,
    _read_manifest,
    _read_results,
    _read_sources,
    _remove_stale_temporaries,
)
from irmodels.studies.runner_tasks import _callable_key

__all__ = ["run_study", "load_study", "StudyResult", "TaskFailedWarning", "StudyCodeChangedWarning", "SCHEDULER_ENV"]

#: Environment variable naming the scheduler when ``run_study(scheduler=None)``: a Dask
#: scheduler address (``tcp://host:8786``) or ``synchronous``.
SCHEDULER_ENV = "IRMODELS_SCHEDULER"


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
    sources : dict
        Tasks done per package source their worker ran
        (:func:`irmodels.core.tablecache.package_source_hash`, read once per worker process and
        recorded with every part; ``"not recorded"`` for parts of older studies). More than one
        entry: the study mixes code versions (:func:`run_study` warns).
    """

    results: pd.DataFrame
    failures: pd.DataFrame
    manifest: dict[str, Any]
    out_dir: Path
    n_executed: int = 0
    n_skipped: int = 0
    wall_time: float = 0.0
    memory_limit: int | None = None
    sources: dict[str, int] = field(default_factory=dict)
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
    consolidate: bool = True,
    extend: bool = False,
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
    consolidate : bool
        Read every part back and write the consolidated ``results.parquet`` (default). With
        False the rows stay in their part files (``out_dir/parts/results/*.parquet``, one per
        batch; read them with ``pandas.read_parquet`` or ``pyarrow.dataset``) and ``results``
        is returned empty: for studies whose rows do not fit in memory (a reconstruction of
        10^6 replicates is 98 million rows). Failures are consolidated either way.
    extend : bool
        Grow a stored study that is the same but has fewer tasks to ``n_tasks`` (its finished
        tasks are kept: task ``i``'s stream depends on ``(seed, i)`` only; the manifest records
        the earlier sizes in ``extended_from``). Without it, a different ``n_tasks`` is refused.

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
        or irmodels version (a larger ``n_tasks`` is accepted with ``extend=True``; a smaller one never).
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
    _check_scheduler(scheduler, "scheduler")
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
        _check_scheduler(scheduler, f"environment variable {SCHEDULER_ENV}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _manifest(task, n_tasks, seed, params, setup)

    with _locked(out_dir), _sigterm_as_exit():
        _check_or_write_manifest(out_dir, manifest, extend=bool(extend))
        _remove_stale_temporaries(out_dir)
        if retry_failed:
            _archive_failures(out_dir)
        done = _read_done_ids(out_dir)
        failed_before = _read_failures(out_dir)
        finished = done | set(failed_before["task_id"].tolist())
        pending = [i for i in range(n_tasks) if i not in finished]
        if pending and finished:
            _note_source(out_dir, manifest)
        if pending:  # the consolidated files describe a complete study only
            for name in ("results.parquet", "failures.parquet"):
                (out_dir / name).unlink(missing_ok=True)

        setup_key = None if setup is None else _callable_key(setup)
        memory = None
        writer = None
        if pending:
            writer, memory = _run_pending(
                pending, task, seed, params, setup, setup_key, out_dir, scheduler=scheduler, n_workers=n_workers,
                threads_per_worker=threads_per_worker, memory_limit=memory_limit, batch_size=batch_size,
                progress=progress, n_tasks=n_tasks, n_finished=len(finished),
                n_failed=failed_before["task_id"].nunique(), label=f"study {manifest['task'].rsplit(':', 1)[-1]}")

        if consolidate:
            result = load_study(out_dir)
            if result.complete and (pending or not (out_dir / "results.parquet").exists()):
                _consolidate(out_dir, result.results, result.failures)
        else:  # rows left in their parts: nothing of them is loaded
            result = StudyResult(results=pd.DataFrame({"task_id": pd.Series(dtype="int64")}),
                                 failures=_read_failures(out_dir), manifest=_read_manifest(out_dir), out_dir=out_dir,
                                 sources=_read_sources(out_dir), _done_ids=frozenset(_read_done_ids(out_dir)))

    result.n_executed = writer.n_executed if writer else 0
    result.n_skipped = len(finished)
    result.wall_time = time.perf_counter() - t0
    result.memory_limit = memory
    _warn_mixed_sources(result, out_dir, bool(pending))
    if writer is not None and writer.n_failed:
        first = result.failures.iloc[0]
        warnings.warn(
            f"{writer.n_failed} of {len(pending)} tasks failed in this run ({result.n_failed} in the study); "
            f"first: task {first['task_id']}: {first['error_type']}: {first['message']}. "
            f"See StudyResult.failures or {out_dir / 'parts' / 'failures'}; rerun with retry_failed=True "
            f"to run them again.", TaskFailedWarning, stacklevel=2)
    return result


def _warn_mixed_sources(result: StudyResult, out_dir: Path, ran: bool) -> None:
    """Warn when the study's parts were written by workers running different package source."""
    recorded = [k for k in result.sources if k != "not recorded"]
    if len(recorded) > 1 or (recorded and "not recorded" in result.sources and ran):
        warnings.warn(
            f"{out_dir}: the study's tasks ran with {len(result.sources)} versions of the package source "
            f"({', '.join(f'{k[:12]}: {n} tasks' for k, n in result.sources.items())}); StudyResult.sources "
            "lists them. Delete the study directory to rerun it with one code version.",
            StudyCodeChangedWarning, stacklevel=3)


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
                       out_dir=out_dir, sources=_read_sources(out_dir), _done_ids=frozenset(_read_done_ids(out_dir)))


#: a scheduler address: ``[protocol://]host:port`` (Dask's tcp, tls, inproc, ucx, ws addresses)
_ADDRESS = re.compile(r"(?:[a-z][a-z0-9+]*://)?(?:\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):\d+/?|inproc://\S+")


def _check_scheduler(scheduler: Any, source: str) -> None:
    """None, ``"synchronous"``, a Dask ``Client`` or a scheduler address; anything else is refused by name."""
    if scheduler is None or scheduler == "synchronous":
        return
    if isinstance(scheduler, str):
        if _ADDRESS.fullmatch(scheduler.strip()):
            return
    else:
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - distributed is a dependency
            Client = ()  # type: ignore[assignment]
        if isinstance(scheduler, Client):
            return
    raise IrmodelsError(
        f"run_study: {source}={scheduler!r}: must be None (a new LocalCluster of this machine's cores), "
        "'synchronous' (every task in this process), a scheduler address such as 'tcp://host:8786', or a "
        "distributed.Client")


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
