"""Speed of the Bayesian models (issue 5): prints the figures and the goals, asserts nothing.

Run: ``make benchmark`` or ``.venv/bin/python benchmarks/bench_models.py`` (about 6-8
minutes on 2 cores). Every fit runs in a fresh Python process (a worker of this
script), so that each figure is what a user running one analysis script sees;
imports are timed apart. Repeated figures are reported as the median and the range
over ``REPEATS`` runs with different seeds.

The model: hierarchical logistic ``cover_24_7 ~ beds_class + teaching +
chair_profile`` with country intercepts, through ``irmodels.fit`` (engine
``pymc``, 4 chains x 1000 draws after 1000 tuning steps, 2 cores), on the 98
respondents of 2017 (replicate 0 of ``reconstruct(2, 20170517)``, informed
assumptions).

1. Fit time, compile included, in three states of the compile caches:
   a. empty: the first fit on a fresh machine (a new, empty PyTensor compile
      directory: every numba kernel is compiled);
   b. new process: a later script or session on the same machine (the callbacks
      and kernels are in the on-disk cache; the graph is still rewritten);
   c. same process: a second fit of a model of the same structure (new data).
   Goal: < 10 s.
2. ESS per second: irmodels' default (nutpie, low-rank mass matrix, cached
   compilation) vs PyMC's own default NUTS (``nuts_sampler="pymc"``), same model,
   data and draws, each in a new process with its own on-disk compile cache warm
   (PyTensor's C cache for PyMC), measured in this run. ESS is the minimum bulk
   ESS over all free parameters; seconds are the fit's wall time including
   compilation. Also shown: nutpie with its own compilation
   (``compile="nutpie"``, recompiled in every process). Goal: ratio >= 2.
3. Fit time on 10^3 vs 10^6 simulated respondents (``simulate_wave(n, 7)``), rows
   collapsed into binomial cells, default ``centered="auto"``, each in a new
   process with warm caches. Goal: ratio <= 3.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FORMULA = "cover_24_7 ~ beds_class + teaching + chair_profile"
SETTINGS = dict(draws=1000, tune=1000, chains=4, cores=2, on_fail="warn")
REPEATS = 3


# ------------------------------------------------------------------ worker (one process)

def _worker(job: dict) -> dict:
    t = time.perf_counter()
    import warnings

    import nutpie  # noqa: F401
    import pymc  # noqa: F401

    from irmodels.core.errors import DataDroppedWarning
    from irmodels.models.fit import fit
    from irmodels.identification.reconstruction import reconstruct
    from irmodels.studies.simulate import simulate_wave

    out: dict = {"imports_s": time.perf_counter() - t}
    warnings.simplefilter("ignore", DataDroppedWarning)
    if job["data"] == "d98":
        data = reconstruct(2, 20170517).query("replicate == 0").drop(columns="replicate").reset_index(drop=True)
    else:
        data = simulate_wave(int(job["data"]), 7)
    opts = {**SETTINGS, **job.get("options", {})}
    runs = []
    for seed in job["seeds"]:
        t = time.perf_counter()
        f = fit(FORMULA, data, family="bernoulli", engine="pymc", group="country", seed=seed, missing="drop", **opts)
        c = f.extra["convergence"]
        runs.append({"seconds": time.perf_counter() - t, "ess_bulk_min": c["ess_bulk_min"], "r_hat_max": c["r_hat_max"],
                     "n_divergent": c["n_divergent"], "converged": c["converged"],
                     "cells": len(f.extra["prepared"].k), "compile_cache": f.extra.get("compile_cache", "-")})
    out["runs"] = runs
    return out


def _run(job: dict, env: dict | None = None) -> dict:
    """Run one worker in a new process; returns its JSON answer."""
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job)],
                          cwd=HERE.parent, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker {job} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _med(xs: list[float]) -> str:
    return f"{statistics.median(xs):.1f} s (range {min(xs):.1f}-{max(xs):.1f}, {len(xs)} runs)"


def _diag(r: dict) -> str:
    return (f"min bulk ESS {r['ess_bulk_min']:.0f}, max R-hat {r['r_hat_max']:.3f}, {r['n_divergent']} divergences, "
            f"{r['cells']} cells, callbacks: {r['compile_cache']}")


def main() -> None:
    seeds = list(range(1, REPEATS + 1))
    print(f"hierarchical logistic, 98 respondents (97 with cover_24_7), 4 chains x 1000 draws, 2 cores; "
          f"{os.cpu_count()} CPUs here")

    # 1a. empty caches: a PyTensor compile directory of its own
    with tempfile.TemporaryDirectory(prefix="irmodels-bench-compiledir-") as tmp:
        empty = _run({"data": "d98", "seeds": [1]}, env={"PYTENSOR_FLAGS": f"base_compiledir={tmp}"})
    r = empty["runs"][0]
    print("\n1. fit time incl. compile (goal < 10 s)")
    print(f"   a. empty caches (first fit on a fresh machine): {r['seconds']:.1f} s; {_diag(r)}")
    print(f"      imports (pymc, nutpie, irmodels) in that process: {empty['imports_s']:.1f} s")

    # 1b. new process, warm on-disk caches (first fit of each process), 1c. same process
    _run({"data": "d98", "seeds": [1]})  # make sure this machine's own caches hold the callbacks
    procs = [_run({"data": "d98", "seeds": [s, s + 100]}) for s in seeds]
    new_proc = [p["runs"][0]["seconds"] for p in procs]
    same_proc = [p["runs"][1]["seconds"] for p in procs]
    print(f"   b. new process, on-disk caches warm: {_med(new_proc)}; {_diag(procs[0]['runs'][0])}")
    print(f"   c. same process, second model of the same structure: {_med(same_proc)}; {_diag(procs[0]['runs'][1])}")
    print(f"      imports per process: {_med([p['imports_s'] for p in procs])}")

    # 2. ESS/s vs PyMC's default NUTS
    print("\n2. ESS/s = min bulk ESS / fit wall time incl. compile, new process each, same model, data and draws")
    _run({"data": "d98", "seeds": [1], "options": {"nuts_sampler": "pymc"}})  # warm PyTensor's C cache
    rows = {}
    for label, options in [("irmodels default (nutpie, cached compile)", {}),
                           ("nutpie, its own compile each process", {"compile": "nutpie"}),
                           ("PyMC default NUTS", {"nuts_sampler": "pymc"})]:
        runs = [_run({"data": "d98", "seeds": [s], "options": options})["runs"][0] for s in seeds]
        rate = [x["ess_bulk_min"] / x["seconds"] for x in runs]
        rows[label] = rate
        print(f"   {label:<42} ESS {statistics.median([x['ess_bulk_min'] for x in runs]):>5.0f} in "
              f"{statistics.median([x['seconds'] for x in runs]):>5.1f} s = {statistics.median(rate):>4.0f}/s "
              f"(range {min(rate):.0f}-{max(rate):.0f})")
    base = rows["PyMC default NUTS"]
    for label, goal in zip(list(rows)[:2], ["; goal >= 2x", ", for comparison"]):
        ratios = [a / b for a, b in zip(rows[label], base)]
        print(f"   ratio {label} / PyMC: median {statistics.median(ratios):.1f}x "
              f"(range {min(ratios):.1f}-{max(ratios):.1f}x, paired by seed{goal})")

    # 3. 10^3 vs 10^6 respondents
    print("\n3. 10^3 vs 10^6 simulated respondents, collapsed to binomial cells, centered='auto' (goal <= 3)")
    times = {}
    for n in (1_000, 1_000_000):
        _run({"data": n, "seeds": [1]})  # warm the on-disk caches for this structure
        runs = [_run({"data": n, "seeds": [s]})["runs"][0] for s in seeds]
        times[n] = [x["seconds"] for x in runs]
        print(f"   n = {n:>9,}: fit {_med(times[n])}; {_diag(runs[0])}")
    ratio = statistics.median(times[1_000_000]) / statistics.median(times[1_000])
    print(f"   ratio of medians t(10^6) / t(10^3) = {ratio:.2f} (goal <= 3)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(json.loads(sys.argv[2]))))
    else:
        main()
