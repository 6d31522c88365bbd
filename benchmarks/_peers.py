"""Shared machinery of the peer benchmarks (``bench_peers_*.py``).

Every peer benchmark runs irmodels and the tools a user would otherwise pick on the same
data, in the same run, *interleaved* (each repeat runs every tool once, in a rotated order,
so that a change of machine load hits all tools alike), checks first that the tools agree
on the answer, and reports the median wall time over the repeats and the ratio

    ratio = median time of the tool / median time of irmodels   (> 1: irmodels is faster)

with the range of the per-repeat ratios (repeat r of the tool over repeat r of irmodels).
Each script prints a table and writes ``benchmarks/results/<name>.csv`` atomically.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pandas as pd

from irmodels.core.io import write_table_atomic

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

COLUMNS = ["benchmark", "case", "tool", "task", "repeats", "unit", "median", "min", "max", "ratio_to_irmodels",
           "ratio_min", "ratio_max", "agreement", "note"]


def load_average() -> str:
    """The 1/5/15-minute load averages (``os.getloadavg``), as text."""
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "n/a"


def version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(packages: tuple[str, ...]) -> str:
    """One line: date, machine, CPUs, Python, versions of ``packages``, load average now."""
    v = ", ".join(f"{p} {version(p)}" for p in packages)
    return (f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {os.cpu_count()} CPUs; "
            f"Python {platform.python_version()}; {v}; load average {load_average()}")


def traced_peak(fn: Callable[[], object]) -> int:
    """Bytes held at most at once during ``fn()`` (tracemalloc: Python and NumPy allocations)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def interleaved(tools: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Wall times (s) of each tool over ``repeats`` rounds; each round runs every tool once.

    The order of the tools rotates from round to round, so no tool always runs first (warm
    caches) or last.
    """
    names = list(tools)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            t0 = time.perf_counter()
            tools[n]()
            times[n].append(time.perf_counter() - t0)
    return times


def rows_from_times(benchmark: str, case: str, times: dict[str, list[float]], tasks: dict[str, str],
                    agreement: dict[str, str], reference: str = "irmodels", notes: dict[str, str] | None = None,
                    higher_is_better: bool = False, unit: str = "s") -> list[dict]:
    """Table rows: median and range per tool, ratio to ``reference`` (median and per-repeat range).

    With ``higher_is_better`` (rates such as ESS/s) the ratio is reference / tool, so that a
    ratio > 1 still means "irmodels is better".
    """
    ref = times[reference]
    out = []
    for tool, ts in times.items():
        per = [(r / t) if higher_is_better else (t / r) for t, r in zip(ts, ref)]
        med_ratio = (statistics.median(ref) / statistics.median(ts)) if higher_is_better \
            else (statistics.median(ts) / statistics.median(ref))
        out.append({"benchmark": benchmark, "case": case, "tool": tool, "task": tasks.get(tool, ""),
                    "repeats": len(ts), "unit": unit, "median": statistics.median(ts), "min": min(ts), "max": max(ts),
                    "ratio_to_irmodels": med_ratio, "ratio_min": min(per), "ratio_max": max(per),
                    "agreement": agreement.get(tool, "reference" if tool == reference else ""),
                    "note": (notes or {}).get(tool, "")})
    return out


def print_table(rows: list[dict], value_label: str = "median s") -> None:
    """A fixed-width table of the rows (case, tool, median, range, ratio, agreement)."""
    df = pd.DataFrame(rows)
    w_case = max(4, *(len(c) for c in df["case"]))
    w_tool = max(4, *(len(t) for t in df["tool"]))
    print(f"  {'case':<{w_case}}  {'tool':<{w_tool}}  {value_label:>10}  {'range':>17}  {'ratio':>7}  "
          f"{'ratio range':>15}  agreement")
    for r in rows:
        rng = f"{r['min']:.4g}-{r['max']:.4g}"
        rr = f"{r['ratio_min']:.3g}-{r['ratio_max']:.3g}"
        print(f"  {r['case']:<{w_case}}  {r['tool']:<{w_tool}}  {r['median']:>10.4g}  {rng:>17}  "
              f"{r['ratio_to_irmodels']:>7.3g}  {rr:>15}  {r['agreement']}")


def write_results(name: str, rows: list[dict], header: str) -> Path:
    """Write ``benchmarks/results/<name>.csv`` (atomic); the machine line goes in a ``machine`` column."""
    df = pd.DataFrame(rows).reindex(columns=COLUMNS + [c for c in pd.DataFrame(rows).columns if c not in COLUMNS])
    df.insert(0, "machine", header)
    path = write_table_atomic(df, RESULTS / f"{name}.csv", float_format="%.6g")
    print(f"\nwritten: {path.relative_to(RESULTS.parents[1])}")  # repository-relative: no machine path
    return path
