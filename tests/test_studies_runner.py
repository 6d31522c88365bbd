"""Tests of the Dask study runner (:mod:`irmodels.studies.runner`, issue 10 item 5, issue 13).

What is compared with what:
* the same study on a LocalCluster of 2 workers, of 1 worker and serially in-process gives
  identical result tables and byte-identical consolidated parquet files;
* task ``i`` gives the same rows whether the study has 10 or 20 tasks;
* a study killed (SIGKILL) midway and rerun completes without running its finished tasks again;
* a failing task is recorded with its error and counted, the others complete;
* a rerun with another manifest is refused; ``setup`` runs once per worker process.

Side effects (one marker file per task execution or setup call) count what ran where.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from irmodels.core.errors import IrmodelsError
from irmodels.studies.runner import SCHEDULER_ENV, TaskFailedWarning, load_study, run_study
from irmodels.studies.runner_store import StudyLockedError, StudyManifestError
from irmodels.studies.runner_tasks import task_rng

# --------------------------------------------------------------------------- tasks (module level: picklable)


def _mark(directory: str | None, name: str) -> None:
    if directory is not None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / f"{name}.{os.getpid()}.{uuid.uuid4().hex}").touch()


def _calls(directory: Path, prefix: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in directory.glob(f"{prefix}*"):
        key = p.name.split(".")[0]
        out[key] = out.get(key, 0) + 1
    return out


def setup_design(marker_dir: str | None = None) -> np.ndarray:
    """A 'compiled model' stand-in: the design of every task's regression."""
    _mark(marker_dir, "setup")
    return np.linspace(-1.0, 1.0, 60)


def ols_task(task_id: int, rng: np.random.Generator, *, beta: float, marker_dir: str | None = None,
             setup: np.ndarray | None = None) -> dict:
    """Simulate y = 1 + beta x + e, fit OLS with statsmodels, summarise."""
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    _mark(marker_dir, f"task-{task_id}")
    x = setup if setup is not None else np.linspace(-1.0, 1.0, 60)
    y = 1.0 + beta * x + rng.normal(scale=0.5, size=x.size)
    fit = OLS(y, add_constant(x), missing="raise").fit()
    lo, hi = fit.conf_int()[1]
    return {"estimate": fit.params[1], "std_error": fit.bse[1], "covers": bool(lo <= beta <= hi),
            "draw": rng.integers(0, 1_000_000)}


def rows_task(task_id: int, rng: np.random.Generator) -> pd.DataFrame:
    """Several rows per task, a string column, and a task with no rows at all."""
    k = task_id % 3
    return pd.DataFrame({"j": np.arange(k), "u": rng.random(k), "label": [f"t{task_id}"] * k})


def flaky_task(task_id: int, rng: np.random.Generator, *, fail_ids: list[int], flag: str) -> dict:
    if task_id in fail_ids and Path(flag).exists():
        raise ValueError(f"task {task_id} cannot converge")
    if task_id == 5:
        return 42  # not a row: recorded as a TypeError
    return {"u": rng.random()}


def slow_task(task_id: int, rng: np.random.Generator, *, marker_dir: str, delay: float) -> dict:
    _mark(marker_dir, f"task-{task_id}")
    time.sleep(delay)
    return {"u": rng.random(), "v": rng.normal()}


# --------------------------------------------------------------------------- 1 worker vs N (+ setup once)


@pytest.fixture(scope="module")
def ols_runs(tmp_path_factory):
    """The same 40-task study on 2 workers, on 1 worker and in-process."""
    root = tmp_path_factory.mktemp("ols")
    runs = {}
    for name, kw in {"two": {"n_workers": 2}, "one": {"n_workers": 1},
                     "serial": {"scheduler": "synchronous"}}.items():
        markers = root / f"markers-{name}"
        runs[name] = (run_study(ols_task, 40, 2024, root / name, params={"beta": 0.7, "marker_dir": str(markers)},
                                setup=functools.partial(setup_design, str(markers)), progress=False, **kw),
                      markers)
    return runs


def test_same_results_on_two_workers_one_worker_and_serially(ols_runs):
    two, one, serial = (ols_runs[k][0] for k in ("two", "one", "serial"))
    for res in (two, one, serial):
        assert res.complete and res.n_done == 40 and res.n_failed == 0 and res.n_executed == 40
        assert res.results["task_id"].tolist() == list(range(40))
    pd.testing.assert_frame_equal(two.results, one.results, check_exact=True)
    pd.testing.assert_frame_equal(two.results, serial.results, check_exact=True)
    assert list(two.results.columns) == ["task_id", "estimate", "std_error", "covers", "draw"]
    # consolidated files do not depend on workers or batching: byte-identical
    blobs = {(r.out_dir / "results.parquet").read_bytes() for r in (two, one, serial)}
    assert len(blobs) == 1
    # a seeded quantity really is the task's own stream
    rng = task_rng(2024, 3)
    rng.normal(scale=0.5, size=60)
    assert two.results.loc[3, "draw"] == rng.integers(0, 1_000_000)
    assert two.memory_limit and two.memory_limit > 0 and serial.memory_limit is None
    # every part records the package source its worker ran: here one version, all 40 tasks
    from irmodels.core.tablecache import package_source_hash

    for res in (two, one, serial):
        assert res.sources == {package_source_hash(): 40}
        assert load_study(res.out_dir).sources == res.sources


def test_setup_runs_once_per_worker(ols_runs):
    for name, n_workers in (("two", 2), ("one", 1), ("serial", 1)):
        markers = ols_runs[name][1]
        setup_pids = [p.name.split(".")[1] for p in markers.glob("setup.*")]
        task_pids = {p.name.split(".")[1] for p in markers.glob("task-*")}
        assert len(setup_pids) == len(set(setup_pids)), "setup ran twice in one worker"
        assert set(setup_pids) == task_pids, "a worker ran tasks without its setup, or setup without tasks"
        assert len(task_pids) == n_workers
        assert sum(_calls(markers, "task-").values()) == 40


def test_rerun_of_a_complete_study_runs_nothing(ols_runs):
    res = ols_runs["serial"][0]
    again = run_study(ols_task, 40, 2024, res.out_dir, params={"beta": 0.7, "marker_dir": str(ols_runs["serial"][1])},
                      setup=functools.partial(setup_design, str(ols_runs["serial"][1])), scheduler="synchronous",
                      progress=False)
    assert again.n_executed == 0 and again.n_skipped == 40
    pd.testing.assert_frame_equal(again.results, res.results)
    pd.testing.assert_frame_equal(load_study(res.out_dir).results, res.results)


# --------------------------------------------------------------------------- seeding


def test_task_stream_does_not_depend_on_n_tasks_or_batching(tmp_path):
    a = run_study(rows_task, 10, 7, tmp_path / "a", scheduler="synchronous", progress=False)
    b = run_study(rows_task, 20, 7, tmp_path / "b", scheduler="synchronous", batch_size=7, progress=False)
    pd.testing.assert_frame_equal(a.results, b.results[b.results["task_id"] < 10].reset_index(drop=True))
    # rows of a task stay in order; a task returning no rows is done, not missing
    assert a.results.groupby("task_id")["j"].apply(list).to_dict()[5] == [0, 1]
    assert 0 not in set(a.results["task_id"]) and a.n_done == 10 and a.complete
    assert b.n_done == 20 and (tmp_path / "b" / "results.parquet").exists()


def test_environment_variable_selects_the_scheduler(tmp_path, monkeypatch):
    monkeypatch.setenv(SCHEDULER_ENV, "synchronous")
    res = run_study(rows_task, 4, 1, tmp_path / "s", progress=True)
    assert res.complete and res.memory_limit is None  # in-process: no cluster was started


# --------------------------------------------------------------------------- resume after a kill

_CHILD = """
import sys
sys.path.insert(0, {tests!r})
from {module} import slow_task
from irmodels.studies.runner import run_study
if __name__ == "__main__":
    run_study(slow_task, 40, 11, {out!r}, params={params!r}, batch_size=3, n_workers=2, progress=False)
"""


def test_killed_study_resumes_without_recomputing_finished_tasks(tmp_path):
    """SIGKILL a study running on a 2-worker LocalCluster midway, then rerun it (serially)."""
    import psutil

    out, markers = tmp_path / "study", tmp_path / "markers"
    params = {"marker_dir": str(markers), "delay": 0.05}
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(tests=str(Path(__file__).parent), module=slow_task.__module__, out=str(out),
                                    params=params))
    child = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stderr=subprocess.DEVNULL)
    parts = out / "parts" / "results"
    deadline = time.monotonic() + 120
    while len(list(parts.glob("part-*.parquet"))) < 3:
        assert child.poll() is None, "the study finished or died before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    workers = psutil.Process(child.pid).children(recursive=True)
    child.send_signal(signal.SIGKILL)
    child.wait()
    psutil.wait_procs(workers, timeout=30)  # the workers notice their parent's death and stop
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]

    stopped = load_study(out)
    assert not stopped.complete and 9 <= stopped.n_done < 40
    finished = set(stopped.results["task_id"])
    before = _calls(markers, "task-")

    resumed = run_study(slow_task, 40, 11, out, params=params, batch_size=3, scheduler="synchronous", progress=False)
    after = _calls(markers, "task-")
    assert resumed.complete and resumed.n_done == 40
    assert resumed.n_skipped == len(finished) and resumed.n_executed == 40 - len(finished)
    assert all(after[f"task-{i}"] == 1 for i in finished), "a finished task was computed again"
    assert set(after) == {f"task-{i}" for i in range(40)}
    assert sum(after.values()) - sum(before.values()) == 40 - len(finished)

    reference = run_study(slow_task, 40, 11, tmp_path / "reference", params={**params, "delay": 0.0},
                          scheduler="synchronous", progress=False)
    pd.testing.assert_frame_equal(resumed.results, reference.results, check_exact=True)
    assert (out / "results.parquet").read_bytes() == (tmp_path / "reference" / "results.parquet").read_bytes()
    assert not list(out.rglob("*.tmp"))


# --------------------------------------------------------------------------- failures


def test_failed_tasks_are_recorded_counted_and_not_retried_unless_asked(tmp_path):
    flag = tmp_path / "fail-now"
    flag.touch()
    params = {"fail_ids": [3, 11], "flag": str(flag)}
    with pytest.warns(TaskFailedWarning, match="3 of 16 tasks failed"):
        res = run_study(flaky_task, 16, 3, tmp_path / "s", params=params, batch_size=4, scheduler="synchronous",
                        progress=False)
    assert res.complete and res.n_failed == 3 and res.n_done == 13
    assert res.failures["task_id"].tolist() == [3, 5, 11]
    assert res.failures["error_type"].tolist() == ["builtins.ValueError", "builtins.TypeError", "builtins.ValueError"]
    assert res.failures.loc[0, "message"] == "task 3 cannot converge"
    assert "flaky_task" in res.failures.loc[0, "traceback"]
    assert "returned int" in res.failures.loc[1, "message"]
    assert sorted(res.results["task_id"]) == sorted(set(range(16)) - {3, 5, 11})
    assert (tmp_path / "s" / "failures.parquet").exists()

    again = run_study(flaky_task, 16, 3, tmp_path / "s", params=params, scheduler="synchronous", progress=False)
    assert again.n_executed == 0 and again.n_failed == 3

    flag.unlink()  # the cause is fixed: retry the failed tasks only
    with pytest.warns(TaskFailedWarning, match="1 of 3 tasks failed"):
        retried = run_study(flaky_task, 16, 3, tmp_path / "s", params=params, scheduler="synchronous",
                            progress=False, retry_failed=True)
    assert retried.n_executed == 3 and retried.failures["task_id"].tolist() == [5]
    assert retried.n_done == 15 and retried.complete
    assert list((tmp_path / "s" / "parts" / "failures" / "previous").rglob("part-*.parquet"))


# --------------------------------------------------------------------------- manifest and arguments


def test_manifest_mismatch_is_refused(tmp_path):
    out = tmp_path / "s"
    run_study(rows_task, 6, 1, out, scheduler="synchronous", progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 1 and manifest["n_tasks"] == 6 and manifest["task"].endswith(":rows_task")
    with pytest.raises(StudyManifestError, match=r"(?s)seed: stored 1, asked 2.*another out_dir"):
        run_study(rows_task, 6, 2, out, scheduler="synchronous", progress=False)
    with pytest.raises(StudyManifestError, match=r"(?s)n_tasks: stored 6, asked 7.*pass extend=True"):
        run_study(rows_task, 7, 1, out, scheduler="synchronous", progress=False)
    with pytest.raises(StudyManifestError, match="n_tasks: stored 6, asked 5"):  # never shrunk, even with extend
        run_study(rows_task, 5, 1, out, scheduler="synchronous", progress=False, extend=True)
    with pytest.raises(StudyManifestError, match="task: stored"):
        run_study(slow_task, 6, 1, out, params={"marker_dir": None, "delay": 0}, scheduler="synchronous",
                  progress=False)
    params = {"fail_ids": [], "flag": "x"}
    run_study(flaky_task, 5, 1, tmp_path / "p", params=params, scheduler="synchronous", progress=False)
    with pytest.raises(StudyManifestError, match=r"(?s)params_hash.*params\['flag'\]: stored 'x', asked 'y'"):
        run_study(flaky_task, 5, 1, tmp_path / "p", params={**params, "flag": "y"}, scheduler="synchronous",
                  progress=False)


def test_concurrent_run_in_the_same_directory_is_refused(tmp_path):
    import fcntl

    out = tmp_path / "s"
    out.mkdir()
    with open(out / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(StudyLockedError, match="another process"):
            run_study(rows_task, 3, 1, out, scheduler="synchronous", progress=False)


def test_invalid_arguments_are_listed(tmp_path):
    with pytest.raises(IrmodelsError, match=r"(?s)n_tasks.*seed.*rng"):
        run_study(rows_task, 0, -1, tmp_path, params={"rng": 1}, scheduler="synchronous")
    with pytest.raises(IrmodelsError, match="no manifest.json"):
        load_study(tmp_path / "nothing")


# --------------------------------------------------------------------------- memory bound (slow: worker restarts)


def hungry_task(task_id: int, rng: np.random.Generator, *, n_bytes: int) -> dict:
    if task_id == 2:
        block = np.ones(n_bytes // 8)
        time.sleep(5)  # held until the nanny notices and kills the worker
        return {"u": float(block[0])}
    return {"u": rng.random()}


@pytest.mark.slow
def test_task_over_the_memory_limit_is_recorded_and_the_others_complete(tmp_path):
    with pytest.warns(TaskFailedWarning, match="1 of 8 tasks failed"):
        res = run_study(hungry_task, 8, 1, tmp_path / "s", params={"n_bytes": 2**30}, n_workers=2,
                        memory_limit="600MiB", batch_size=4, progress=False)
    assert res.memory_limit == 600 * 2**20
    assert res.failures["task_id"].tolist() == [2] and res.n_done == 7 and res.complete
    assert res.failures.loc[0, "error_type"] == "distributed.scheduler.KilledWorker"
    assert "memory limit" in res.failures.loc[0, "message"]


@pytest.mark.slow
def test_task_module_missing_on_the_workers_stops_the_study_with_a_clear_error(tmp_path):
    import types

    module = types.ModuleType("irmodels_test_ghost_module")  # in this process only, not on the workers
    exec("def ghost(task_id, rng):\n    return {'u': rng.random()}\n", module.__dict__)
    sys.modules[module.__name__] = module
    try:
        with pytest.raises(IrmodelsError, match="importable on the workers"):
            run_study(module.ghost, 6, 1, tmp_path / "s", n_workers=1, progress=False)
    finally:
        del sys.modules[module.__name__]
    assert load_study(tmp_path / "s").n_failed == 0  # not recorded as the tasks' failures


def test_extend_grows_a_study_and_keeps_its_tasks(tmp_path):
    small = run_study(rows_task, 6, 1, tmp_path / "s", scheduler="synchronous", progress=False)
    grown = run_study(rows_task, 10, 1, tmp_path / "s", scheduler="synchronous", progress=False, extend=True)
    assert grown.n_skipped == 6 and grown.n_executed == 4 and grown.complete
    direct = run_study(rows_task, 10, 1, tmp_path / "d", scheduler="synchronous", progress=False)
    pd.testing.assert_frame_equal(grown.results, direct.results)
    pd.testing.assert_frame_equal(grown.results[grown.results["task_id"] < 6], small.results)
    assert (tmp_path / "s" / "results.parquet").read_bytes() == (tmp_path / "d" / "results.parquet").read_bytes()
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["n_tasks"] == 10 and manifest["extended_from"] == [6]
    again = run_study(rows_task, 10, 1, tmp_path / "s", scheduler="synchronous", progress=False)
    assert again.n_executed == 0  # the grown study resumes without extend


def test_resume_with_other_package_source_is_warned_and_recorded(tmp_path, monkeypatch):
    import warnings

    from irmodels.core import tablecache
    from irmodels.studies.runner_store import StudyCodeChangedWarning

    out = tmp_path / "s"
    run_study(rows_task, 4, 1, out, scheduler="synchronous", progress=False)
    first = json.loads((out / "manifest.json").read_text())["package_source"]
    assert first == tablecache.package_source_hash() and len(first) == 64
    with warnings.catch_warnings():
        warnings.simplefilter("error", StudyCodeChangedWarning)  # same source: silent
        run_study(rows_task, 6, 1, out, scheduler="synchronous", progress=False, extend=True)
    monkeypatch.setattr(tablecache, "package_source_hash", lambda: "f" * 64)
    with pytest.warns(StudyCodeChangedWarning, match=rf"(?s)earlier tasks ran with package source {first}.*f{{64}}"):
        res = run_study(rows_task, 8, 1, out, scheduler="synchronous", progress=False, extend=True)
    assert res.n_executed == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["package_source"] == first and manifest["package_source_history"] == [first, "f" * 64]
    assert manifest["extended_from"] == [4, 6]
    with warnings.catch_warnings():
        warnings.simplefilter("error", StudyCodeChangedWarning)  # complete study, nothing runs: nothing to record
        run_study(rows_task, 8, 1, out, scheduler="synchronous", progress=False)


@pytest.mark.parametrize("bad", ["bogus", "tcp://", "host", 3, ["tcp://h:1"]])
def test_bad_scheduler_is_refused_by_name(tmp_path, monkeypatch, bad):
    with pytest.raises(IrmodelsError, match=r"scheduler=.*must be None .*'synchronous'.*tcp://host:8786"):
        run_study(rows_task, 2, 1, tmp_path / "s", scheduler=bad, progress=False)
    assert not (tmp_path / "s").exists()  # refused before anything is written
    monkeypatch.setenv("IRMODELS_SCHEDULER", "not an address")
    with pytest.raises(IrmodelsError, match="environment variable IRMODELS_SCHEDULER='not an address'"):
        run_study(rows_task, 2, 1, tmp_path / "s", progress=False)


def test_scheduler_addresses_are_recognised():
    from irmodels.studies.runner import _check_scheduler

    for ok in (None, "synchronous", "tcp://10.0.0.5:8786", "tls://sched.example.org:8786", "localhost:8786",
               "inproc://192.168.1.2/1234/1", "tcp://[::1]:8786"):
        _check_scheduler(ok, "scheduler")


def test_tasks_run_with_other_package_source_are_reported(tmp_path, monkeypatch):
    from irmodels.studies import runner_tasks
    from irmodels.studies.runner import StudyCodeChangedWarning

    first = run_study(rows_task, 4, 1, tmp_path / "s", scheduler="synchronous", progress=False)
    assert list(first.sources.values()) == [4]
    # a worker that imported other code (e.g. restarted after an edit) records its own source
    monkeypatch.setattr(runner_tasks, "worker_source", lambda: "e" * 64)
    with pytest.warns(StudyCodeChangedWarning, match=r"2 versions of the package source.*eeeeeeeeeeee: 2 tasks"):
        grown = run_study(rows_task, 6, 1, tmp_path / "s", scheduler="synchronous", progress=False, extend=True)
    assert grown.sources == {**first.sources, "e" * 64: 2}
