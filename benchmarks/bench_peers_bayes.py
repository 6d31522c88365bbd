"""Bayesian hierarchical logistic fit beside the peers (issue 13, item 5).

The model: ``cover_24_7 ~ beds_class + teaching + chair_profile`` with country intercepts,
priors as irmodels' defaults (``b[Intercept] ~ Normal(0, 2.5)``, other ``b ~ Normal(0, 1.5)``,
``sd_country ~ HalfNormal(1)``, non-centred ``a = sd_country * z``), treatment coding with the
first category as reference, 4 chains x 1000 draws after 1000 tuning steps, 2 cores. Data: the
98 departments of 2017 (replicate 0 of ``reconstruct(2, 20170517)``, 97 with the outcome; 24
countries) and, with ``--large``, ``simulate_wave(10_000, 7)`` (10^4 rows).

Tools (each in a new Python process per fit; its wall time covers building the model,
compiling and sampling, not the imports, which are reported apart):

* ``irmodels``: ``irmodels.fit(engine="pymc")`` (nutpie, callbacks compiled once and cached
  on disk, rows collapsed into binomial cells);
* ``PyMC NUTS``: the same model written in PyMC on the rows (Bernoulli), sampled by PyMC's
  own NUTS (``pm.sample(nuts_sampler="pymc")``);
* ``PyMC pm.sample default``: the same, ``pm.sample`` with its defaults (with nutpie installed,
  PyMC 6 samples with nutpie, compiled in every process);
* ``bambi``: ``bmb.Model("cover_24_7 ~ ... + (1|country)", family="bernoulli")`` with the
  same priors (``center_predictors=False`` so that the intercept prior is the same), fitted
  with its default (PyMC NUTS);
* ``numpyro``: the same model in NumPyro, NUTS, 4 chains in parallel on
  ``numpyro.set_host_device_count(4)`` XLA host devices (JIT compile included).

Before timing, the posterior means of every fixed effect are checked to agree with irmodels'
within Monte Carlo error (``|difference| <= 4 x sqrt(MCSE_tool^2 + MCSE_irmodels^2)``). The
figure compared is ESS/s: the smallest bulk ESS over the fixed effects divided by the wall
time. Ratio = irmodels ESS/s / tool ESS/s (> 1: irmodels is faster), median over repeats,
paired by seed for the range. Each tool's compile caches are warm (one untimed fit first).

Run: ``.venv/bin/python benchmarks/bench_peers_bayes.py [--repeats 5] [--large]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FORMULA = "cover_24_7 ~ beds_class + teaching + chair_profile"
DRAWS, TUNE, CHAINS, CORES = 1000, 1000, 4, 2
TOOLS = ("irmodels", "PyMC NUTS", "PyMC pm.sample default", "bambi", "numpyro")
# PyMC's own NUTS (nuts_sampler="pymc"); "pm.sample default" is what pm.sample picks when
# nutpie is installed (PyMC 6: nutpie, compiled by nutpie in every process)


# ------------------------------------------------------------------ worker (one process, one fit)


def _data(which: str):
    import pandas as pd

    if which == "d98":
        from irmodels.identification.reconstruction import reconstruct

        d = reconstruct(2, 20170517).query("replicate == 0").drop(columns="replicate").reset_index(drop=True)
    else:
        from irmodels.studies.simulate import simulate_wave

        d = simulate_wave(int(which), 7)
    d = d[["cover_24_7", "beds_class", "teaching", "chair_profile", "country"]]
    d = d[d.notna().all(axis=1)].reset_index(drop=True)
    out = pd.DataFrame({
        "cover_24_7": d["cover_24_7"].astype(bool).astype(int).to_numpy(),
        # categoricals in the codebook order (ordered, so that formulae keeps it): treatment
        # coding with the first level as reference in every tool
        "beds_class": pd.Categorical(d["beds_class"].astype(str), categories=list(d["beds_class"].cat.categories),
                                     ordered=True),
        "teaching": d["teaching"].astype(bool).to_numpy(),
        "chair_profile": pd.Categorical(d["chair_profile"].astype(str),
                                        categories=list(d["chair_profile"].cat.categories), ordered=True),
        "country": d["country"].astype(str).to_numpy(),
    })
    return d, out


def _design(plain):
    """Treatment-coded fixed-effects matrix, its column names, and the group index."""
    import pandas as pd

    cols = {"Intercept": np.ones(len(plain))}
    for c in ("beds_class", "teaching", "chair_profile"):
        if c == "teaching":
            cols["teaching[T.True]"] = plain[c].to_numpy(dtype=float)
            continue
        for lev in plain[c].cat.categories[1:]:
            cols[f"{c}[T.{lev}]"] = (plain[c] == lev).to_numpy(dtype=float)
    X = pd.DataFrame(cols)
    levels = sorted(plain["country"].unique())
    g = pd.Index(levels).get_indexer(plain["country"])
    return X, levels, g


def _fit(tool: str, which: str, seed: int) -> dict:
    t_import = time.perf_counter()
    if tool == "numpyro":
        import numpyro

        numpyro.set_host_device_count(4)
        import jax  # noqa: F401
    elif tool == "bambi":
        import bambi  # noqa: F401
    elif tool == "irmodels":
        import nutpie  # noqa: F401
    import pymc  # noqa: F401  (every tool but numpyro builds on it; imported for all alike)

    d, plain = _data(which)
    X, levels, g = _design(plain)
    imports = time.perf_counter() - t_import
    t0 = time.perf_counter()
    if tool == "irmodels":
        import warnings

        from irmodels.core.errors import DataDroppedWarning
        from irmodels.models.fit import fit

        warnings.simplefilter("ignore", DataDroppedWarning)
        f = fit(FORMULA, d, family="bernoulli", engine="pymc", group="country", seed=seed, missing="drop",
                draws=DRAWS, tune=TUNE, chains=CHAINS, cores=CORES, on_fail="warn")
        post = f.result["posterior"]["b"]
        names = [str(t) for t in post.coords["term"].values]
        b = np.asarray(post)  # (chain, draw, term)
    elif tool in ("PyMC NUTS", "PyMC pm.sample default"):
        import pymc as pm

        sampler = {"nuts_sampler": "pymc"} if tool == "PyMC NUTS" else {}
        scales = np.where(X.columns == "Intercept", 2.5, 1.5)
        with pm.Model(coords={"term": list(X.columns), "country": levels}):
            bb = pm.Normal("b", 0.0, scales, dims="term")
            sd = pm.HalfNormal("sd_country", 1.0)
            z = pm.Normal("z_country", 0.0, 1.0, dims="country")
            pm.Bernoulli("y", logit_p=pm.math.dot(X.to_numpy(), bb) + (sd * z)[g], observed=plain["cover_24_7"].to_numpy())
            idata = pm.sample(draws=DRAWS, tune=TUNE, chains=CHAINS, cores=CORES, random_seed=seed, progressbar=False,
                              **sampler)
        b = np.asarray(idata["posterior"]["b"])
        names = list(X.columns)
    elif tool == "bambi":
        import bambi as bmb

        priors = {"Intercept": bmb.Prior("Normal", mu=0, sigma=2.5),
                  "beds_class": bmb.Prior("Normal", mu=0, sigma=1.5),
                  "teaching": bmb.Prior("Normal", mu=0, sigma=1.5),
                  "chair_profile": bmb.Prior("Normal", mu=0, sigma=1.5),
                  "1|country": bmb.Prior("Normal", mu=0, sigma=bmb.Prior("HalfNormal", sigma=1))}
        m = bmb.Model(FORMULA + " + (1|country)", plain, family="bernoulli", priors=priors, noncentered=True,
                      center_predictors=False, auto_scale=False)
        idata = m.fit(draws=DRAWS, tune=TUNE, chains=CHAINS, cores=CORES, random_seed=seed, progressbar=False)
        post = idata["posterior"]
        parts, names = [], []
        for c in ("Intercept", "beds_class", "teaching", "chair_profile"):
            arr = np.asarray(post[c])
            if arr.ndim == 2:
                arr = arr[..., None]
            dims = [dm for dm in post[c].dims if dm not in ("chain", "draw")]
            labels = [str(v) for v in post[c].coords[dims[0]].values] if dims else [""]
            for j, lab in enumerate(labels):
                parts.append(arr[..., j])
                names.append(c if c == "Intercept" else "teaching" if c == "teaching" else f"{c}[T.{lab}]")
        b = np.stack(parts, axis=-1)
    elif tool == "numpyro":
        import jax
        import jax.numpy as jnp
        import numpyro
        import numpyro.distributions as dist
        from numpyro.infer import MCMC, NUTS

        Xj, gj, yj = jnp.asarray(X.to_numpy()), jnp.asarray(g), jnp.asarray(plain["cover_24_7"].to_numpy())
        scales = jnp.asarray(np.where(X.columns == "Intercept", 2.5, 1.5))

        def model(X, g, y):
            bb = numpyro.sample("b", dist.Normal(0.0, scales))
            sd = numpyro.sample("sd_country", dist.HalfNormal(1.0))
            z = numpyro.sample("z_country", dist.Normal(0.0, 1.0).expand([len(levels)]))
            numpyro.sample("y", dist.Bernoulli(logits=X @ bb + (sd * z)[g]), obs=y)

        mcmc = MCMC(NUTS(model), num_warmup=TUNE, num_samples=DRAWS, num_chains=CHAINS, chain_method="parallel",
                    progress_bar=False)
        mcmc.run(jax.random.PRNGKey(seed), Xj, gj, yj)
        b = np.asarray(mcmc.get_samples(group_by_chain=True)["b"])
        names = list(X.columns)
    else:  # pragma: no cover
        raise ValueError(tool)
    seconds = time.perf_counter() - t0
    import arviz as az

    ess = [float(az.ess(b[..., j], method="bulk")) for j in range(b.shape[-1])]
    names = ["teaching" if n == "teaching[T.True]" else n for n in names]
    return {"tool": tool, "seconds": seconds, "imports_s": imports, "names": names,
            "mean": [float(b[..., j].mean()) for j in range(b.shape[-1])],
            "sd": [float(b[..., j].std(ddof=1)) for j in range(b.shape[-1])], "ess": ess,
            "rows": len(plain), "groups": len(levels)}


def _run(tool: str, which: str, seed: int) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker",
                           json.dumps({"tool": tool, "data": which, "seed": seed})],
                          cwd=HERE.parent, capture_output=True, text=True, env={**os.environ})
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} on {which} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ main


def _agreement(res: dict, ref: dict) -> tuple[float, str]:
    """Largest |difference of posterior means| / combined MCSE over the fixed effects."""
    ref_by = dict(zip(ref["names"], zip(ref["mean"], ref["sd"], ref["ess"])))
    worst, name = 0.0, ""
    if sorted(res["names"]) != sorted(ref_by):
        raise SystemExit(f"{res['tool']}: fixed effects {res['names']} differ from irmodels' {list(ref_by)}")
    for n, m, s, e in zip(res["names"], res["mean"], res["sd"], res["ess"]):
        m0, s0, e0 = ref_by[n]
        z = abs(m - m0) / np.sqrt(s ** 2 / e + s0 ** 2 / e0)
        if z > worst:
            worst, name = float(z), n
    return worst, name


def main() -> None:
    sys.path.insert(0, str(HERE))
    from _peers import machine, print_table, rows_from_times, write_results

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--large", action="store_true", help="also 10^4 simulated rows")
    ap.add_argument("--tools", nargs="+", default=list(TOOLS))
    args = ap.parse_args()
    header = machine(("irmodels", "pymc", "nutpie", "pytensor", "bambi", "numpyro", "jax"))
    print(f"# {header}")
    print(f"hierarchical logistic, {CHAINS} chains x {DRAWS} draws ({TUNE} tuning), {CORES} cores; new process per fit; "
          f"ESS/s = min bulk ESS over the fixed effects / wall time (build + compile + sampling); "
          f"ratio = irmodels ESS/s / tool ESS/s")
    tools = [t for t in TOOLS if t in args.tools]
    rows = []
    for which in ["d98"] + (["10000"] if args.large else []):
        # warm each tool's compile caches; the first fits also give the agreement check
        first = {t: _run(t, which, 1000) for t in tools}
        ref = first["irmodels"]
        agreement = {}
        for t in tools[1:]:
            z, name = _agreement(first[t], ref)
            if not z <= 4.0:
                raise SystemExit(f"{t}: posterior mean of {name} differs from irmodels' by {z:.1f} MCSE (> 4)")
            agreement[t] = f"max |diff| {z:.1f} MCSE ({name})"
        rates: dict[str, list[float]] = {t: [] for t in tools}
        secs: dict[str, list[float]] = {t: [] for t in tools}
        ess: dict[str, list[float]] = {t: [] for t in tools}
        imports: dict[str, list[float]] = {t: [] for t in tools}
        for r in range(args.repeats):
            order = tools[r % len(tools):] + tools[:r % len(tools)]
            for t in order:
                out = _run(t, which, r + 1)
                rates[t].append(min(out["ess"]) / out["seconds"])
                secs[t].append(out["seconds"])
                ess[t].append(min(out["ess"]))
                imports[t].append(out["imports_s"])
        case = f"{ref['rows']} rows / {ref['groups']} groups"
        notes = {t: (f"median wall {statistics.median(secs[t]):.1f} s, min bulk ESS {statistics.median(ess[t]):.0f}, "
                     f"imports {statistics.median(imports[t]):.1f} s") for t in tools}
        part = rows_from_times("hierarchical_logistic", case, rates,
                               {t: "ESS/s, slowest fixed effect" for t in tools}, agreement, notes=notes,
                               higher_is_better=True, unit="ESS/s")
        print(f"\n{case}")
        print_table(part, value_label="ESS/s")
        for t in tools:
            print(f"    {t}: {notes[t]}")
        rows += part
    write_results("bench_peers_bayes", rows, header)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        job = json.loads(sys.argv[2])
        print(json.dumps(_fit(job["tool"], job["data"], int(job["seed"]))))
    else:
        main()
