"""Run every benchmark script (``make benchmark``); each prints its own figures and goals.

The output of each script is also kept in ``benchmarks/results/<script>.txt`` (with the date,
machine, versions and the load average at start and end), so the figures of the last run can be
cited without re-running; the peer benchmarks (``bench_peers_*.py``: irmodels beside ipfn,
balance, bambi, PyMC, numpyro, pandas, statsmodels) and ``bench_reconstruct.py`` also write
``benchmarks/results/<script>.csv``. ``benchmarks/README.md`` collects the tables.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def _version(p: str) -> str:
    try:
        return metadata.version(p)
    except metadata.PackageNotFoundError:
        return "not installed"


def _header(started: str) -> str:
    versions = ", ".join(f"{p} {_version(p)}" for p in ("irmodels", "pymc", "nutpie", "pytensor", "numba", "ipfn",
                                                         "balance", "bambi", "numpyro", "jax", "statsmodels"))
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"# {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {os.cpu_count()} CPUs; "
            f"Python {platform.python_version()}; {versions}; load average (1/5/15 min) at start {started}, "
            f"at end {load}\n")


if __name__ == "__main__":
    status = 0
    RESULTS.mkdir(exist_ok=True)
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        started = "/".join(f"{x:.2f}" for x in os.getloadavg())
        proc = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, capture_output=True, text=True)
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        status |= proc.returncode
        if proc.returncode == 0:
            out = RESULTS / f"{script.stem}.txt"
            tmp = out.with_suffix(".txt.tmp")
            tmp.write_text(_header(started) + proc.stdout)
            tmp.replace(out)
    sys.exit(status)
