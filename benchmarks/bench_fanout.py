"""Benchmark: the one fan-out mechanism (Dask study runner) on 1 and 2 local workers.

Workload: ``irmodels.reconstruct_study`` (reconstruction replicates in chunks of 1000, every
replicate checked against the published counts and the schema), the package's largest
embarrassingly parallel job. Goals of issue 13: on 2 local workers >= 1.7x faster than on 1,
results byte-identical whatever the number of workers; ``k = 10^6`` possible in chunks on a
2-worker ``LocalCluster`` with bounded memory per worker.

For each repeat the 1-worker and the 2-worker runs alternate (the order rotates), each on a fresh
``LocalCluster`` (start-up included in the time) into a fresh study directory; the consolidated
``results.parquet`` files must be byte-identical across all runs, and the first chunk must equal
``reconstruct(1000, seed)`` (checked before the timings are reported). Peak memory: the largest
resident set (``ru_maxrss``) of a worker process, read from each worker at the end, and of this
process (which consolidates the parts). Writes ``benchmarks/results/bench_fanout.csv``.

Run: ``.venv/bin/python benchmarks/bench_fanout.py [--k 100000] [--repeat 2]`` (-> ``bench_fanout.csv``),
``--k 0 --coverage-tasks 1000`` (the Firth coverage study at n = 98, 1000 tasks, 1 vs 2 workers ->
``bench_fanout_coverage.csv``) and
``--repeat 0 --large 1000000`` (the large ensemble alone, left in its parts: ``consolidate=False``;
-> ``bench_fanout_large.csv``).
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import RESULTS, machine  # noqa: E402

from irmodels.core.io import write_table_atomic  # noqa: E402
from irmodels.identification.reconstruction import reconstruct  # noqa: E402
from irmodels.studies.reconstruction_study import reconstruct_study  # noqa: E402

SEED = 20170517
CHUNK = 1000


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def _hwm_mb() -> float:
    """Peak resident set of this process's own memory (``VmHWM``; Linux). Not ``ru_maxrss``: a
    worker started by fork + exec inherits its parent's peak there (Linux keeps it across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1]) / 1024.0
    return float("nan")


def run(k: int, workers: int, root: Path, consolidate: bool = True) -> dict:
    """One study on a fresh LocalCluster of ``workers`` workers: wall time, peak RSS, file hash."""
    from distributed import Client, LocalCluster

    out = Path(tempfile.mkdtemp(dir=root))
    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        res = reconstruct_study(k, SEED, out, chunk_size=CHUNK, scheduler=client, progress=False,
                                consolidate=consolidate)
        worker_rss = max(client.run(_hwm_mb).values())
    seconds = time.perf_counter() - t0
    assert res.complete and res.n_failed == 0, res.failures
    if consolidate:
        digest = hashlib.sha256((out / "results.parquet").read_bytes()).hexdigest()
        first = res.results[res.results["task_id"] == 0].drop(columns="task_id").reset_index(drop=True)
        n_rows = len(res.results)
    else:  # the ensemble stays in one part per chunk: check the first chunk, count the rows from metadata
        import pyarrow.parquet as pq

        parts = sorted((out / "parts" / "results").glob("*.parquet"))
        n_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
        first = next(pd.read_parquet(p) for p in parts if pd.read_parquet(p, columns=["task_id"])["task_id"].iloc[0] == 0)
        first = first.drop(columns="task_id").reset_index(drop=True)
        digest = ""
    del res
    shutil.rmtree(out)
    return {"seconds": seconds, "worker_peak_rss_mb": worker_rss, "sha256": digest, "first_chunk": first,
            "rows": n_rows}


def run_coverage(n_tasks: int, workers: int, root: Path) -> dict:
    """The Firth coverage study at 2017's n (``irmodels.studies.coverage``), ``n_tasks`` tasks."""
    from irmodels.studies.coverage import coverage_task, default_settings
    from irmodels.studies.runner import run_study

    params = default_settings()["firth_n98"]
    out = Path(tempfile.mkdtemp(dir=root))
    t0 = time.perf_counter()
    res = run_study(coverage_task, n_tasks, 20240901, out, params=params, n_workers=workers, progress=False)
    seconds = time.perf_counter() - t0
    assert res.complete, res.failures
    digest = hashlib.sha256((out / "results.parquet").read_bytes()).hexdigest()
    shutil.rmtree(out)
    return {"seconds": seconds, "sha256": digest}


def compare_coverage(n_tasks: int, repeat: int, root: Path) -> list[dict]:
    """1 vs 2 workers on the coverage study, alternating; results byte-identical across runs."""
    rows, digests = [], set()
    for rep in range(repeat):
        for workers in ((1, 2) if rep % 2 == 0 else (2, 1)):
            r = run_coverage(n_tasks, workers, root)
            digests.add(r["sha256"])
            rows.append({"k": n_tasks, "workers": workers, "repeat": rep, "seconds": round(r["seconds"], 2),
                         "worker_peak_rss_mb": float("nan"), "rows": 0, "workload": "coverage_firth_n98"})
            print(f"coverage study, {n_tasks} tasks, workers={workers} repeat={rep}: {r['seconds']:.1f} s", flush=True)
    assert len(digests) == 1, "coverage results.parquet differs between runs"
    t = pd.DataFrame(rows)
    one, two = (t[t.workers == w].set_index("repeat")["seconds"] for w in (1, 2))
    ratios = (one / two).tolist()
    print(f"\ncoverage study ({n_tasks} tasks): 1 worker median {statistics.median(one):.1f} s, 2 workers median "
          f"{statistics.median(two):.1f} s; speed-up median {statistics.median(ratios):.2f} (range {min(ratios):.2f}-"
          f"{max(ratios):.2f}); results.parquet byte-identical across all {len(t)} runs")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2, help="repeats of the 1 vs 2 worker comparison (0: skip it)")
    ap.add_argument("--large", type=int, default=0, help="also run this k once on 2 workers (e.g. 1000000)")
    ap.add_argument("--coverage-tasks", type=int, default=0,
                    help="also compare 1 vs 2 workers on a coverage study of this many tasks (e.g. 1000)")
    args = ap.parse_args()
    line = machine(("irmodels", "dask", "distributed", "numpy", "pandas"))
    print(line)
    root = Path(tempfile.mkdtemp(prefix="bench_fanout-"))
    rows, digests = [], set()
    ref_first = reconstruct(CHUNK, SEED).reset_index(drop=True) if (args.k or args.large) else None
    try:
        for rep in range(args.repeat if args.k else 0):
            for workers in ((1, 2) if rep % 2 == 0 else (2, 1)):
                r = run(args.k, workers, root)
                pd.testing.assert_frame_equal(r["first_chunk"], ref_first, check_exact=True)
                digests.add(r["sha256"])
                rows.append({"k": args.k, "workers": workers, "repeat": rep, "seconds": round(r["seconds"], 2),
                             "worker_peak_rss_mb": round(r["worker_peak_rss_mb"], 1), "rows": r["rows"]})
                print(f"k={args.k} workers={workers} repeat={rep}: {r['seconds']:.1f} s, worker peak RSS "
                      f"{r['worker_peak_rss_mb']:.0f} MB", flush=True)
        assert len(digests) <= 1, "results.parquet differs between runs"
        t = pd.DataFrame(rows, columns=["k", "workers", "repeat", "seconds", "worker_peak_rss_mb", "rows"])
        one = t[t.workers == 1].set_index("repeat")["seconds"]
        two = t[t.workers == 2].set_index("repeat")["seconds"]
        ratios = (one / two).tolist()
        if ratios:
            print(f"\nk = {args.k} (chunks of {CHUNK}, checked): 1 worker median {statistics.median(one):.1f} s, "
                  f"2 workers median {statistics.median(two):.1f} s; speed-up 2 vs 1 worker: median "
                  f"{statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}); results.parquet "
                  f"byte-identical across all {len(t)} runs (sha256 {next(iter(digests))[:12]})")
        if args.large:
            r = run(args.large, 2, root, consolidate=False)
            pd.testing.assert_frame_equal(r["first_chunk"], ref_first, check_exact=True, check_dtype=False,
                                          check_categorical=False)
            rows.append({"k": args.large, "workers": 2, "repeat": 0, "seconds": round(r["seconds"], 2),
                         "worker_peak_rss_mb": round(r["worker_peak_rss_mb"], 1), "rows": r["rows"]})
            print(f"k = {args.large} on 2 workers: {r['seconds']:.1f} s, {r['rows']} rows, worker peak RSS "
                  f"{r['worker_peak_rss_mb']:.0f} MB, this process (consolidation) peak RSS {_maxrss_mb():.0f} MB")
        if args.coverage_tasks:
            rows += compare_coverage(args.coverage_tasks, max(1, args.repeat), root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out = pd.DataFrame(rows)
    out.insert(0, "machine", line)
    name = ("bench_fanout_coverage.csv" if args.coverage_tasks and not args.k else
            "bench_fanout.csv" if args.repeat else "bench_fanout_large.csv")  # --repeat 0: the large run alone
    write_table_atomic(out, RESULTS / name)
    print(f"this process peak RSS {_maxrss_mb():.0f} MB; wrote benchmarks/results/{name}")


if __name__ == "__main__":
    main()
