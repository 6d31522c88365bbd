"""Simulation check of the closed-form power formulas of ``irmodels plan`` (issue 11, item 5).

What
----
The sample sizes of :mod:`irmodels.studies.planning` for comparisons are large-sample
approximations: the logistic regression of a binary outcome on a binary predictor (Demidenko
2007 Wald formula with and without his variance correction; Hsieh, Bloch & Larsen 1998) and
the two-proportion tests (Cohen's arcsine h as ``pwr``, the pooled and unpooled normal tests,
Fleiss with continuity correction). For each scenario this script plans n for 80% power at
alpha 0.05 (two-sided) with each formula, simulates the test the formula describes at that n
and compares the simulated power with the formula's power at the same (integer) n:

* ``logistic_wald``: X ~ Bernoulli(B), Y | X ~ Bernoulli(p_X), n fixed; Wald z of the logistic
  coefficient (with one binary predictor the MLE is the sample log odds ratio and its SE
  sqrt(1/a + 1/b + 1/c + 1/d); tests check this against statsmodels' Logit). A data set with an
  empty cell has no MLE (separation) and counts as not rejected;
* two-proportion tests with fixed group sizes: pooled z (``pooled``), unpooled z
  (``unpooled``), pooled z with Yates' correction (``fleiss_cc``), arcsine (``arcsine``).

Every simulation runs through the study runner (:func:`irmodels.studies.runner.run_study`,
``validation/studies/planning_check/``; resumable), each task simulating ``--reps`` data sets
per scenario from its own child seed.

Output
------
``validation/planning_check.csv``: one row per scenario (:func:`irmodels.studies.planning.summarise_power_check`):
``scenario``, ``test``, ``method``, the design (``p0``, ``p1``, ``p2``, ``odds_ratio``,
``share_exposed``, ``n`` (total) and ``n1``/``n2`` (per group, two-proportion tests)),
``target_power`` (0.8), ``closed_form_power`` (the formula at the rounded-up n),
``exact_power``, ``n_sims``, ``rejected``, ``not_estimable`` (logistic data sets with an empty
cell), ``simulated_power``, ``mc_se``, ``difference`` (simulated - closed form), ``z``,
``within_mc_error`` (|difference| <= 2 MC SE), ``difference_to_target``,
``difference_to_exact``, ``z_exact``, ``exact_within_mc_error``.

Command
-------
``.venv/bin/python validation/planning_check.py [--sims 20000] [--reps 500] [--n-workers 2]``

The wall time of the run is printed (and reported in docs/planning.md).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from irmodels.core.io import write_table_atomic  # noqa: E402
from irmodels.studies.planning import power_check_task, summarise_power_check  # noqa: E402
from irmodels.studies.planning_exact import exact_power_two_proportions  # noqa: E402
from irmodels.studies.planning_logistic import n_logistic_binary, power_logistic_binary  # noqa: E402
from irmodels.studies.planning_proportions import n_two_proportions, power_two_proportions  # noqa: E402
from irmodels.studies.runner import run_study  # noqa: E402

SEED = 19980815  # Hsieh, Bloch & Larsen, Statistics in Medicine 17(14), 1998
ALPHA = 0.05
POWER = 0.8

#: (p0, odds ratio, share exposed): balanced and unbalanced groups, common and rare outcomes;
#: the first rows are like the >=800 vs <400 beds comparison of 24/7 cover (a minority of
#: large hospitals, coverage around one half in the small ones)
LOGISTIC_DESIGNS = [
    (0.5, 2.0, 0.5),
    (0.5, 2.0, 0.2),
    (0.5, 3.0, 0.1),
    (0.3, 2.5, 0.3),
    (0.1, 3.0, 0.3),
    (0.2, 1.5, 0.5),
]
#: (p1, p2) of the two-proportion tests (equal group sizes)
TWO_PROPORTION_DESIGNS = [(0.6, 0.8), (0.1, 0.4), (0.45, 0.6)]
_TEST_OF = {"arcsine": "arcsine", "pooled": "pooled_z", "unpooled": "unpooled_z", "fleiss_cc": "yates"}


def scenarios() -> list[dict]:
    """Every scenario with its planned n, the closed-form power and the exact power at that n."""
    out = []
    for p0, orr, b in LOGISTIC_DESIGNS:
        for method in ("demidenko", "demidenko_vc", "hsieh", "exact"):
            n = math.ceil(n_logistic_binary(orr, p0, b, power=POWER, alpha=ALPHA, method=method))
            odds1 = orr * p0 / (1 - p0)
            out.append({"scenario": f"logistic p0={p0:g} OR={orr:g} B={b:g} {method}", "test": "logistic_wald",
                        "method": method, "alpha": ALPHA, "p0": p0, "p1": odds1 / (1 + odds1), "p2": None,
                        "odds_ratio": orr, "share_exposed": b, "n": n, "n1": None, "n2": None, "target_power": POWER,
                        "closed_form_power": power_logistic_binary(n, orr, p0, b, alpha=ALPHA, method=method),
                        "exact_power": power_logistic_binary(n, orr, p0, b, alpha=ALPHA, method="exact")})
    for p1, p2 in TWO_PROPORTION_DESIGNS:
        for method, test in _TEST_OF.items():
            n = math.ceil(n_two_proportions(p1, p2, power=POWER, alpha=ALPHA, method=method))
            out.append({"scenario": f"two proportions {p1:g} vs {p2:g} {method}", "test": test, "method": method,
                        "alpha": ALPHA, "p0": None, "p1": p1, "p2": p2, "odds_ratio": (p1 / (1 - p1)) / (p2 / (1 - p2)),
                        "share_exposed": 0.5, "n": 2 * n, "n1": n, "n2": n, "target_power": POWER,
                        "closed_form_power": power_two_proportions(n, p1, p2, alpha=ALPHA, method=method),
                        "exact_power": exact_power_two_proportions(n, p1, p2, alpha=ALPHA, test=test)})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sims", type=int, default=20000, help="simulated data sets per scenario (default 20000)")
    ap.add_argument("--reps", type=int, default=500, help="data sets per scenario in one task (default 500)")
    ap.add_argument("--n-workers", type=int, default=None, help="LocalCluster workers (default: usable cores)")
    ap.add_argument("--scheduler", default=None, help="Dask scheduler address or 'synchronous' (default: a LocalCluster)")
    ap.add_argument("--out", default=str(HERE / "planning_check.csv"))
    ap.add_argument("--study-dir", default=str(HERE / "studies" / "planning_check"))
    args = ap.parse_args(argv)
    if args.sims % args.reps:
        ap.error("--sims must be a multiple of --reps")
    scs = scenarios()
    task_scenarios = [{k: v for k, v in s.items() if k not in ("target_power", "closed_form_power", "exact_power", "method")}
                      for s in scs]
    t0 = time.perf_counter()
    res = run_study(power_check_task, args.sims // args.reps, SEED, args.study_dir,
                    params={"scenarios": task_scenarios, "reps": args.reps}, scheduler=args.scheduler,
                    n_workers=args.n_workers, progress=True)
    wall = time.perf_counter() - t0
    if res.n_failed:
        print(res.failures[["task_id", "error_type", "message"]].to_string(), file=sys.stderr)
        return 1
    summary = summarise_power_check(res.results, scs)
    write_table_atomic(summary, args.out)
    print(summary[["scenario", "n", "closed_form_power", "exact_power", "simulated_power", "mc_se", "z", "z_exact"]].to_string(index=False))
    print(f"{len(scs)} scenarios x {args.sims} simulations, {res.n_executed} tasks run ({res.n_skipped} resumed) "
          f"in {wall:.1f} s wall time; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
