"""Benchmark: reconstruction of the 2017 respondents and schema validation.

Goal (issue 3): ``reconstruct(k=1000, seed=1)`` in under 10 s on a 2-core machine, every
replicate checked. Prints wall-clock times (best of ``--repeat`` runs); not a timed test.

Run: ``.venv/bin/python benchmarks/bench_reconstruct.py``
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from irmodels.reconstruction import check_reconstruction, reconstruct
from irmodels.schema import validate


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, k = {args.k}")
    for a in ("informed", "independent"):
        t, ens = best(lambda: reconstruct(args.k, seed=1, assumptions=a), args.repeat)
        print(f"reconstruct(k={args.k}, seed=1, assumptions={a!r}) incl. checks + validate: {t:6.2f} s "
              f"({len(ens)} rows; goal < 10 s)")
        t, _ = best(lambda: reconstruct(args.k, seed=1, assumptions=a, check=False), args.repeat)
        print(f"  generation only (check=False):                                  {t:6.2f} s")
    t, chk = best(lambda: check_reconstruction(ens), args.repeat)
    print(f"check_reconstruction on {len(ens)} rows: {t:6.2f} s ({len(chk)} checks, all ok: {bool(chk['ok'].all())})")
    t, _ = best(lambda: validate(ens, extra="allow"), args.repeat)
    print(f"validate on {len(ens)} typed rows:            {t:6.2f} s")
    raw = ens.astype(object).astype(str).replace({"<NA>": "", "nan": ""})
    t, _ = best(lambda: validate(raw, extra="allow"), args.repeat)
    print(f"validate on {len(ens)} rows of raw strings:   {t:6.2f} s")


if __name__ == "__main__":
    main()
