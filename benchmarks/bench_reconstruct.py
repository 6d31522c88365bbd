"""Benchmark: reconstruction of the 2017 respondents, its scaling in k, and schema validation.

Goals: ``reconstruct(k=1000, seed=1)`` in under 10 s on a 2-core machine, every replicate
checked (issue 3); time linear in k (exponent <= 1.05) and peak memory <= 2x the result
(issue 13). Replicate i is seeded from its own child seed (``SeedSequence(seed).spawn``), so it
is the same whatever k and whatever the chunk: checked here before timing.

Prints medians over ``--repeat`` runs; the scaling exponent is the least-squares slope of
log(time) on log(k) over k = 10^2 .. the largest k. Peak memory is the peak traced by
``tracemalloc`` (Python and NumPy allocations) during one extra run per k, beside the size of
the returned table (``memory_usage(deep=True)``). Writes ``benchmarks/results/bench_reconstruct.csv``.

Run: ``.venv/bin/python benchmarks/bench_reconstruct.py [--ks 10 100 1000 10000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import RESULTS, machine, traced_peak  # noqa: E402

from irmodels.core.io import write_table_atomic# noqa: E402
from irmodels.identification.checks import check_reconstruction
from irmodels.identification.reconstruction import reconstruct# noqa: E402
from irmodels.data.schema import validate# noqa: E402


def timed(fn, repeat: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", type=int, nargs="+", default=[10, 100, 1000, 10000])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    header = machine(("irmodels", "numpy", "pandas"))
    print(f"# {header}")

    # replicate i does not depend on k nor on the chunking: checked before any timing
    small = reconstruct(4, 1, check=False)
    big = reconstruct(12, 1, check=False, chunk_size=5)
    pd.testing.assert_frame_equal(small, big[big["replicate"] < 4].reset_index(drop=True))
    pd.testing.assert_frame_equal(reconstruct(3, 1, check=False, first=6),
                                  big[big["replicate"].between(6, 8)].reset_index(drop=True))
    print("replicates 0-3 of k=4 equal those of k=12 (chunks of 5); replicates 6-8 generated alone (first=6) equal")

    rows = []
    for a in ("informed", "independent"):
        for check in (False, True):
            label = "incl. checks + validate" if check else "generation only (check=False)"
            for k in args.ks:
                rep = args.repeat if k <= 1000 else max(3, args.repeat // 2)
                ts, ens = timed(lambda: reconstruct(k, seed=1, assumptions=a, check=check), rep)
                size = float(ens.memory_usage(deep=True).sum())
                peak = traced_peak(lambda: reconstruct(k, seed=1, assumptions=a, check=check)) if a == "informed" else np.nan
                rows.append({"assumptions": a, "check": check, "k": k, "repeats": rep,
                             "median_s": statistics.median(ts), "min_s": min(ts), "max_s": max(ts),
                             "result_mb": size / 1e6, "peak_traced_mb": peak / 1e6, "peak_over_result": peak / size})
                print(f"reconstruct(k={k:>6}, assumptions={a!r:<13}) {label:<30} median {statistics.median(ts):7.3f} s "
                      f"(range {min(ts):.3f}-{max(ts):.3f}, {rep} runs); result {size / 1e6:7.1f} MB"
                      + (f", peak traced {peak / 1e6:7.1f} MB ({peak / size:.2f}x the result)" if a == "informed" else ""))
            sel = [r for r in rows if r["assumptions"] == a and r["check"] == check and r["k"] >= 100]
            if len(sel) >= 2:
                slope = np.polyfit(np.log([r["k"] for r in sel]), np.log([r["median_s"] for r in sel]), 1)[0]
                print(f"  scaling exponent (time ~ k^b, k = {sel[0]['k']}..{sel[-1]['k']}): b = {slope:.3f} (goal <= 1.05)")
                for r in sel:
                    r["scaling_exponent"] = slope
    ens = reconstruct(1000, seed=1)
    ts, chk = timed(lambda: check_reconstruction(ens), args.repeat)
    print(f"check_reconstruction on {len(ens)} rows: median {statistics.median(ts):.2f} s "
          f"({len(chk)} checks, all ok: {bool(chk['ok'].all())})")
    ts, _ = timed(lambda: validate(ens, extra="allow"), args.repeat)
    print(f"validate on {len(ens)} typed rows: median {statistics.median(ts):.2f} s")
    raw = ens.astype(object).astype(str).replace({"<NA>": "", "nan": ""})
    ts, _ = timed(lambda: validate(raw, extra="allow"), args.repeat)
    print(f"validate on {len(ens)} rows of raw strings: median {statistics.median(ts):.2f} s")
    out = pd.DataFrame(rows)
    out.insert(0, "machine", header)
    write_table_atomic(out, RESULTS / "bench_reconstruct.csv", float_format="%.6g")


if __name__ == "__main__":
    main()
