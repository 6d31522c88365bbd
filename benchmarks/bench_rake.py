"""Benchmark (issue 4): raking 10^6 rows over three margins; goal < 2 s on 2 cores.

Prints the wall time of :func:`irmodels.rake` (input checks, coding the categories
once, aggregating the rows to the cell table, one ``np.bincount`` per margin and sweep on
that table, one ``take`` back to the rows) on simulated data:
24 countries x 4 beds classes x teaching, base weights lognormal, targets from a
known positive reweighting so that a raking solution exists. Run:

    .venv/bin/python benchmarks/bench_rake.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from irmodels.nonresponse.raking import rake

COUNTRIES = ["DE", "TR", "AT", "HR", "FR", "ES", "IE", "IT", "GB", "BG", "CH", "RO",
             "IL", "KZ", "NL", "SE", "SI", "DK", "EE", "FI", "SK", "BY", "LT", "RU"]
BEDS = ["<200", "200-399", "400-799", ">=800"]


def make_data(n: int, seed: int = 1) -> tuple[pd.DataFrame, dict, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "country": pd.Categorical.from_codes(rng.integers(0, len(COUNTRIES), n), COUNTRIES),
            "beds_class": pd.Categorical.from_codes(rng.integers(0, len(BEDS), n), BEDS, ordered=True),
            "teaching": rng.random(n) < 0.7,
        }
    )
    base = rng.lognormal(0, 0.3, n)
    truth = base * rng.lognormal(0, 0.5, n)
    margins = {c: {str(k): float(v) for k, v in pd.Series(truth).groupby(data[c].astype(str).to_numpy()).sum().items()}
               for c in ("country", "beds_class", "teaching")}
    return data, margins, base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data, margins, base = make_data(args.rows)
    print(f"rake: {args.rows:,} rows, 3 margins ({sum(len(m) for m in margins.values())} categories), tol 1e-10")
    # categorical columns (as validated tables have) and plain string columns (a raw import)
    as_strings = data.assign(country=data["country"].astype("string"), beds_class=data["beds_class"].astype("string"))
    for label, d in (("categorical columns", data), ("string columns", as_strings)):
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            w = rake(d, margins, base, tol=1e-10)
            times.append(time.perf_counter() - t0)
        worst = max(abs(w.groupby(d[c].astype(str).to_numpy()).sum()[k] / t - 1)
                    for c, m in margins.items() for k, t in m.items())
        print(f"  {label}: best {min(times):.3f} s, median {float(np.median(times)):.3f} s over {args.repeat} runs "
              f"(goal < 2 s); largest relative margin error {worst:.2e}")


if __name__ == "__main__":
    main()
