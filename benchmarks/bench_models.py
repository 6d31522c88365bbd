"""Speed of the Bayesian models (issue 5): prints the figures, asserts nothing.

Run: ``.venv/bin/python benchmarks/bench_models.py`` (about 3-5 minutes on 2 cores).

1. Hierarchical logistic (``cover_24_7 ~ beds_class + teaching + chair_profile``,
   non-centred country intercepts) on the 98 respondents of 2017 (replicate 0 of
   the reconstruction, ``assumptions="informed"``), compile included, through
   ``irmodels.fit`` (nutpie, 4 chains x 1000 draws). Goal: < 10 s.
2. ESS per second on the same model and data: irmodels' default (nutpie,
   low-rank mass matrix) vs PyMC's own default NUTS (``nuts_sampler="pymc"``,
   default adaptation), same draws and chains, measured in this run; ESS is
   the minimum bulk ESS over all free parameters; seconds are wall time with
   compilation. Goal: ratio >= 2.
3. Fit time on 10^3 vs 10^6 simulated respondents
   (:func:`irmodels.simulate.simulate_wave`), rows collapsed into binomial
   cells. Goal: ratio <= 3. Run with the default non-centred and with
   centred country intercepts (with ~40,000 respondents per country the
   centred form is the better geometry).

The first ``import pymc`` and the first numba compilation in a process pay
one-off costs; they are reported separately ("cold" = first fit in the
process, "warm" = a second fit of a new model of the same structure).
"""

from __future__ import annotations

import time
import warnings

t_import = time.perf_counter()
import numpy as np  # noqa: E402
import pymc  # noqa: E402,F401
import nutpie  # noqa: E402,F401

from irmodels.errors import DataDroppedWarning  # noqa: E402
from irmodels.models.fit import fit  # noqa: E402
from irmodels.reconstruction import reconstruct  # noqa: E402
from irmodels.simulate import simulate_wave  # noqa: E402

t_import = time.perf_counter() - t_import
FORMULA = "cover_24_7 ~ beds_class + teaching + chair_profile"
SETTINGS = dict(draws=1000, tune=1000, chains=4, cores=2, on_fail="warn")


def timed_fit(data, seed, **kw):
    t = time.perf_counter()
    f = fit(FORMULA, data, family="bernoulli", engine="pymc", group="country", seed=seed, missing="drop",
            **{**SETTINGS, **kw})
    return f, time.perf_counter() - t


def main() -> None:
    warnings.simplefilter("ignore", DataDroppedWarning)
    print(f"imports (pymc, nutpie, irmodels): {t_import:.1f} s")
    d98 = reconstruct(2, 20170517).query("replicate == 0").drop(columns="replicate").reset_index(drop=True)

    # 1. 98 respondents, compile included
    f_cold, t_cold = timed_fit(d98, 1)
    f_warm, t_warm = timed_fit(d98, 2)
    d = f_warm.extra["convergence"]
    print("\n1. hierarchical logistic, 98 respondents (97 with cover_24_7), nutpie, 4 x 1000 draws")
    print(f"   fit incl. compile: cold {t_cold:.1f} s, warm {t_warm:.1f} s (goal < 10 s); "
          f"min bulk ESS {d['ess_bulk_min']:.0f}, max R-hat {d['r_hat_max']:.3f}, {d['n_divergent']} divergences, "
          f"cells {len(f_warm.extra['prepared'].k)}")

    # 2. ESS/s vs PyMC's default NUTS, same model and data
    f_pymc, t_pymc = timed_fit(d98, 2, nuts_sampler="pymc")
    dp = f_pymc.extra["convergence"]
    ess_s_nutpie = d["ess_bulk_min"] / t_warm
    ess_s_pymc = dp["ess_bulk_min"] / t_pymc
    print("\n2. ESS/s (min bulk ESS over free parameters / wall time incl. compile), same model and data")
    print(f"   irmodels default (nutpie, low-rank): ESS {d['ess_bulk_min']:.0f} in {t_warm:.1f} s = {ess_s_nutpie:.0f}/s")
    print(f"   PyMC default NUTS:                   ESS {dp['ess_bulk_min']:.0f} in {t_pymc:.1f} s = {ess_s_pymc:.0f}/s")
    print(f"   ratio {ess_s_nutpie / ess_s_pymc:.1f}x (goal >= 2x)")

    # 3. 10^3 vs 10^6 simulated respondents, collapsed
    for centered in ("auto", False, True):
        times = {}
        label = {"auto": "automatic (default: centred iff every country has >= 1000 respondents)",
                 False: "non-centred", True: "centred"}[centered]
        print(f"\n3. {label} country intercepts")
        for n in (1_000, 1_000_000):
            data = simulate_wave(n, 7)
            f, t = timed_fit(data, 3, centered=centered)
            times[n] = t
            c = f.extra["convergence"]
            print(f"   n = {n:>9,}: fit {t:.1f} s ({len(f.extra['prepared'].k)} binomial cells, min bulk ESS "
                  f"{c['ess_bulk_min']:.0f}, max R-hat {c['r_hat_max']:.3f}, {c['n_divergent']} divergences)")
        print(f"   ratio t(10^6) / t(10^3) = {times[1_000_000] / times[1_000]:.2f} (goal <= 3)")
    _ = np  # numpy imported for the one-off import cost


if __name__ == "__main__":
    main()
