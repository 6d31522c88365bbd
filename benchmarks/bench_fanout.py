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

Run: ``.venv/bin/python benchmarks/bench_fanout.py [--k 100000] [--repeat 2] [--large 1000000]``
"""

from __future__ import annotations

import argparse
import hashlib
import os
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


def run(k: int, workers: int, root: Path) -> dict:
    """One study on a fresh LocalCluster of ``workers`` workers: wall time, peak RSS, file hash."""
    from distributed import Client, LocalCluster

    out = Path(tempfile.mkdtemp(dir=root))
    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        res = reconstruct_study(k, SEED, out, chunk_size=CHUNK, scheduler=client, progress=False)
        worker_rss = max(client.run(_maxrss_mb).values())
    seconds = time.perf_counter() - t0
    assert res.complete and res.n_failed == 0, res.failures
    digest = hashlib.sha256((out / "results.parquet").read_bytes()).hexdigest()
    first = res.results[res.results["task_id"] == 0].drop(columns="task_id").reset_index(drop=True)
    n_rows = len(res.results)
    del res
    shutil.rmtree(out)
    return {"seconds": seconds, "worker_peak_rss_mb": worker_rss, "sha256": digest, "first_chunk": first,
            "rows": n_rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--large", type=int, default=0, help="also run this k once on 2 workers (e.g. 1000000)")
    args = ap.parse_args()
    line = machine(("irmodels", "dask", "distributed", "numpy", "pandas"))
    print(line)
    root = Path(tempfile.mkdtemp(prefix="bench_fanout-"))
    rows, digests = [], set()
    ref_first = reconstruct(CHUNK, SEED).reset_index(drop=True)
    try:
        for rep in range(args.repeat):
            for workers in ((1, 2) if rep % 2 == 0 else (2, 1)):
                r = run(args.k, workers, root)
                pd.testing.assert_frame_equal(r["first_chunk"], ref_first, check_exact=True)
                digests.add(r["sha256"])
                rows.append({"k": args.k, "workers": workers, "repeat": rep, "seconds": round(r["seconds"], 2),
                             "worker_peak_rss_mb": round(r["worker_peak_rss_mb"], 1), "rows": r["rows"]})
                print(f"k={args.k} workers={workers} repeat={rep}: {r['seconds']:.1f} s, worker peak RSS "
                      f"{r['worker_peak_rss_mb']:.0f} MB", flush=True)
        assert len(digests) == 1, "results.parquet differs between runs"
        t = pd.DataFrame(rows)
        one = t[t.workers == 1].set_index("repeat")["seconds"]
        two = t[t.workers == 2].set_index("repeat")["seconds"]
        ratios = (one / two).tolist()
        print(f"\nk = {args.k} (chunks of {CHUNK}, checked): 1 worker median {statistics.median(one):.1f} s, "
              f"2 workers median {statistics.median(two):.1f} s; speed-up 2 vs 1 worker: median "
              f"{statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}); results.parquet "
              f"byte-identical across all {len(t)} runs (sha256 {next(iter(digests))[:12]})")
        if args.large:
            r = run(args.large, 2, root)
            pd.testing.assert_frame_equal(r["first_chunk"], ref_first, check_exact=True)
            rows.append({"k": args.large, "workers": 2, "repeat": 0, "seconds": round(r["seconds"], 2),
                         "worker_peak_rss_mb": round(r["worker_peak_rss_mb"], 1), "rows": r["rows"]})
            print(f"k = {args.large} on 2 workers: {r['seconds']:.1f} s, {r['rows']} rows, worker peak RSS "
                  f"{r['worker_peak_rss_mb']:.0f} MB, this process (consolidation) peak RSS {_maxrss_mb():.0f} MB")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out = pd.DataFrame(rows)
    out.insert(0, "machine", line)
    write_table_atomic(out, RESULTS / "bench_fanout.csv")
    print(f"this process peak RSS {_maxrss_mb():.0f} MB; wrote benchmarks/results/bench_fanout.csv")


if __name__ == "__main__":
    main()
