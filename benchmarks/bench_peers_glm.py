"""Weighted logistic regression with design (sandwich) SEs beside plain statsmodels (issue 13).

``cover_24_7 ~ beds_class + teaching + chair_profile`` with survey weights ``w``, on data
simulated from a known logistic model (seeded) at 10^3 .. 10^6 rows. Same data, interleaved
repeats (``_peers.interleaved``); before any timing the estimates and standard errors of every
tool are checked to equal irmodels' to a relative 1e-8 (the script stops if not). Ratio =
median time of the tool / median time of irmodels (> 1: irmodels is faster).

Tools (each from the data frame to estimates and standard errors):

* ``irmodels``: ``irmodels.fit(formula, data, family="bernoulli", engine="statsmodels",
  weights="w").tidy()``: design built and checked (grammar, missing values, outcome and weight
  values, empty categories, rank), separation LP, statsmodels GLM IRLS (tol 1e-12), the
  sandwich of R ``survey::svyglm`` for a weights-only design, the tidy table.
* ``statsmodels``: what a user writes with statsmodels alone:
  ``smf.glm(formula, data, family=Binomial(), var_weights=w).fit(cov_type="HC0")`` (default
  tolerance 1e-8), standard errors x ``sqrt(n / (n - 1))``. With ``var_weights`` statsmodels'
  HC0 is ``B (sum_i s_i s_i') B`` with ``s_i = w_i (y_i - p_i) x_i`` and ``B`` the inverse of
  ``sum_i w_i p_i (1 - p_i) x_i x_i'``, which is irmodels' sandwich without the ``n/(n-1)``
  factor (:mod:`irmodels.models.frequentist`). The outcome is passed as 0/1 floats (a boolean
  left-hand side becomes two indicator columns in patsy).
* ``statsmodels, tol 1e-12`` (diagnostic): the same with irmodels' IRLS tolerance, so the two
  run the same number of IRLS iterations; the difference to irmodels is then irmodels' own work.

Peak memory, two ways, each in one untimed run after a warm-up fit:

* ``tracemalloc``: the largest amount of memory the call holds at once (Python and NumPy
  allocations; buffers of C/C++ libraries that bypass them, HiGHS' and LAPACK's work arrays,
  are not seen), in this process;
* ``RSS``: in a new Python process per tool and size, the peak resident set size
  (``resource.getrusage().ru_maxrss``) minus the resident set size just before the call
  (data made, imports done, one warm-up fit on 1000 rows): every allocation, C/C++ included.

``--profile N`` prints the 25 most expensive calls (cumulative) of one irmodels fit at N rows
(``cProfile``). Run: ``.venv/bin/python benchmarks/bench_peers_glm.py [--repeats 3] [--profile 1000000]``
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import interleaved, machine, print_table, rows_from_times, traced_peak, write_results  # noqa: E402

from irmodels.data.codebook import categories  # noqa: E402
from irmodels.models.fit import fit  # noqa: E402

FORMULA = "cover_24_7 ~ beds_class + teaching + chair_profile"
BEDS = categories("beds_class")
CHAIR = categories("chair_profile")
TOL_AGREE = 1e-8
SIZES = (1_000, 10_000, 100_000, 1_000_000)


def make_data(n: int, seed: int = 1) -> pd.DataFrame:
    """Departments from a known logistic model; log-normal survey weights (sd 0.4 on the log scale).

    Teaching is associated with bed size (30% .. 75%); the true log odds ratios are 0.5 per bed
    class step, 0.8 for teaching and 0.3 per chair-profile step, intercept -1.
    """
    rng = np.random.default_rng(seed)
    beds = rng.integers(0, len(BEDS), n)
    chair = rng.integers(0, len(CHAIR), n)
    teaching = rng.random(n) < 0.3 + 0.15 * beds
    eta = -1.0 + 0.5 * beds + 0.8 * teaching + 0.3 * chair
    cover = rng.random(n) < 1.0 / (1.0 + np.exp(-eta))
    return pd.DataFrame({"cover_24_7": cover,
                         "beds_class": pd.Categorical.from_codes(beds, BEDS, ordered=True),
                         "teaching": teaching,
                         "chair_profile": pd.Categorical.from_codes(chair, CHAIR, ordered=True),
                         "w": rng.lognormal(0.0, 0.4, n)})


# ------------------------------------------------------------------ the tools


def run_irmodels(data: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    t = fit(FORMULA, data, family="bernoulli", engine="statsmodels", weights="w").tidy()
    return list(t["term"]), t["estimate"].to_numpy(), t["std_error"].to_numpy()


def run_statsmodels(data: pd.DataFrame, tol: float = 1e-8) -> tuple[list[str], np.ndarray, np.ndarray]:
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    n = len(data)
    model = smf.glm(FORMULA, data.assign(cover_24_7=data["cover_24_7"].astype(float)),
                    family=sm.families.Binomial(), var_weights=data["w"])
    r = model.fit(cov_type="HC0", tol=tol)
    terms = [t.replace("[T.True]", "") for t in r.params.index]  # patsy names a boolean 'teaching[T.True]'
    return terms, r.params.to_numpy(), r.bse.to_numpy() * np.sqrt(n / (n - 1))


TOOLS = {
    "irmodels": run_irmodels,
    "statsmodels": run_statsmodels,
    "statsmodels, tol 1e-12": lambda data: run_statsmodels(data, tol=1e-12),
}


# ------------------------------------------------------------------ memory


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def rss_child(tool: str, n: int) -> None:
    """(In a new process) print the peak RSS growth of one call of ``tool`` on ``n`` rows, as JSON."""
    data = make_data(n)
    TOOLS[tool](make_data(1000, seed=2))  # imports and first-call costs outside the measurement
    before = _rss_bytes()
    TOOLS[tool](data)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    print(json.dumps({"rss_growth": peak - before}))


def rss_growth(tool: str, n: int) -> int:
    out = subprocess.run([sys.executable, __file__, "--rss-child", tool, str(n)], capture_output=True, text=True,
                         check=True)
    return int(json.loads(out.stdout.strip().splitlines()[-1])["rss_growth"])


# ------------------------------------------------------------------ main


def run_case(n: int, repeats: int) -> list[dict]:
    """Check agreement, time the tools interleaved, measure peak memory; the rows of one case."""
    data = make_data(n)
    case = f"{n:.0e} rows"
    ref_terms, ref_est, ref_se = run_irmodels(data)
    agreement = {}
    for name, tool in TOOLS.items():
        if name == "irmodels":
            continue
        terms, est, se = tool(data)
        if terms != ref_terms:
            raise SystemExit(f"{case}: {name} terms {terms} differ from irmodels' {ref_terms}")
        e_est = float(np.max(np.abs(est / ref_est - 1)))
        e_se = float(np.max(np.abs(se / ref_se - 1)))
        if not max(e_est, e_se) <= TOL_AGREE:
            raise SystemExit(f"{case}: {name} differs from irmodels by {e_est:.2e} (estimates), {e_se:.2e} (SEs)")
        agreement[name] = f"estimates {e_est:.1e}, SEs {e_se:.1e}"
    frame_bytes = int(data.memory_usage(index=True, deep=True).sum())
    notes, memory = {}, {}
    for name, tool in TOOLS.items():
        peak = traced_peak(lambda: tool(data))
        rss = rss_growth(name, n)
        memory[name] = (peak, rss)
        notes[name] = (f"peak memory: tracemalloc {peak / 2**20:.1f} MiB ({peak / frame_bytes:.2f}x the data frame "
                       f"of {frame_bytes / 2**20:.1f} MiB), RSS growth {rss / 2**20:.1f} MiB")
    times = interleaved({name: (lambda t=tool: t(data)) for name, tool in TOOLS.items()}, repeats)
    tasks = {t: f"weighted logistic, 8 terms, sandwich SEs, {n} rows" for t in TOOLS}
    part = rows_from_times("glm", case, times, tasks, agreement, notes=notes)
    for r in part:
        peak, rss = memory[r["tool"]]
        r.update(peak_tracemalloc_mib=peak / 2**20, peak_rss_growth_mib=rss / 2**20,
                 memory_ratio_tracemalloc=peak / memory["irmodels"][0], memory_ratio_rss=rss / memory["irmodels"][1])
    print(f"\n{case}")
    print_table(part)
    for r in part:
        print(f"    {r['tool']}: {r['note']}; tool / irmodels: tracemalloc {r['memory_ratio_tracemalloc']:.2f}, "
              f"RSS {r['memory_ratio_rss']:.2f}")
    return part


def profile(n: int) -> None:
    """cProfile of one irmodels fit on ``n`` rows (after a warm-up fit): the 25 largest cumulative times."""
    data = make_data(n)
    run_irmodels(data)
    pr = cProfile.Profile()
    pr.enable()
    run_irmodels(data)
    pr.disable()
    buf = io.StringIO()
    pstats.Stats(pr, stream=buf).sort_stats("cumulative").print_stats(25)
    text = buf.getvalue().replace(str(Path(sys.prefix)), "<venv>").replace(str(Path(__file__).resolve().parents[1]),
                                                                           "<repo>")
    print(f"\nprofile of one irmodels fit at {n} rows (cProfile, cumulative):\n{text}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows-max", type=int, default=1_000_000)
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="profile one irmodels fit at N rows")
    ap.add_argument("--rss-child", nargs=2, metavar=("TOOL", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        rss_child(args.rss_child[0], int(args.rss_child[1]))
        return
    header = machine(("irmodels", "statsmodels", "patsy", "formulaic", "numpy", "pandas", "scipy"))
    print(f"# {header}")
    print(f"weighted logistic regression with sandwich SEs: time from the data frame to estimates and SEs; "
          f"{args.repeats} interleaved repeats; ratio = tool / irmodels (median; range over repeats); estimates and "
          f"SEs checked equal to irmodels' to a relative {TOL_AGREE:g}")
    rows = []
    for n in SIZES:
        if n <= args.rows_max:
            rows += run_case(n, args.repeats)
    write_results("bench_peers_glm", rows, header)
    if args.profile:
        profile(args.profile)


if __name__ == "__main__":
    main()
