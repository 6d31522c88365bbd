"""The share model's quadrature likelihood: fused Op beside the PyTensor graph a PyMC user would write.

The female-IR share model integrates each department's latent out by a 41-node trapezoidal
rule (``irmodels.models.share``). Written in PyMC the natural way, the likelihood is a
(cells x nodes x terms) tensor of log-terms and a ``logsumexp``: irmodels' own formulation
until 0.1.0, and what a user adapting the model in PyMC would write. irmodels now computes it
with one fused Op (``irmodels.models.quadrature_op``: a numba kernel giving the value and the
gradient in one pass).

Tools, on the same PyMC model (the rest of the model is identical):

* ``irmodels``: the fused Op, compiled by PyTensor's numba backend (what nutpie samples);
* ``PyTensor graph (numba)``: the graph formulation, numba backend (nutpie's backend);
* ``PyTensor graph (C)``: the graph formulation, PyTensor's default C backend (PyMC's own NUTS).

Data: the share-model SBC design of ``irmodels.studies.sbc_simulate`` (98 departments of 24
countries as in 2017: 29 with counts, 69 with a share class only; cells are not collapsed),
simulation ``--seed``.

Before timing, the log density and its gradient are checked to agree at 5 random points
(``max |difference|``). The figure is microseconds per evaluation of log density and
gradient (the function NUTS calls every leapfrog step), median over ``--repeats`` interleaved
rounds of ``--calls`` calls; ratio = tool / irmodels (> 1: irmodels is faster).

With ``--fits``, whole nutpie fits at the package's MCMC settings (4 chains x 1000 draws after
1000 tuning steps, 1 core) of irmodels and of the graph formulation (numba) are timed too,
interleaved, same seeds; their posterior means must agree within Monte Carlo error.

Run: ``.venv/bin/python benchmarks/bench_share_likelihood.py [--repeats 5] [--calls 2000] [--fits 3]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import interleaved, machine, print_table, rows_from_times, write_results  # noqa: E402

NAME = "bench_share_likelihood"


def unfitted(seed: int, graph: bool):
    """The share model of SBC simulation ``seed`` (unsampled), with the fused Op or the graph formulation."""
    from irmodels.models import quadrature_op
    from irmodels.models.fit import fit
    from irmodels.studies.sbc_simulate import simulate_family

    data, _, args = simulate_family("share", np.random.default_rng(seed))
    # the same model with the graph formulation in place of the fused Op (bayes imports it when building)
    original = quadrature_op.quadrature_loglik
    if graph:
        quadrature_op.quadrature_loglik = quadrature_op.quadrature_loglik_graph
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = fit(args["formula"], data, family=args["family"], engine="pymc", group=args["group"], seed=seed,
                    _defer_sampling=True, collapse=False, on_fail="warn", **args["options"])
    finally:
        quadrature_op.quadrature_loglik = original
    return f


def logp_function(f, mode: str):
    model = f.extra["model"]
    fn = model.logp_dlogp_function(ravel_inputs=True, mode=mode)
    fn.set_extra_values({})
    point = model.initial_point()
    return fn, int(sum(np.asarray(point[v.name]).size for v in fn._grad_vars))


def fit_seconds(seed: int, graph: bool, mcmc_seed: int) -> tuple[float, dict]:
    """Wall time of a nutpie fit (build, compile, sample) and the posterior means."""
    import nutpie

    t0 = time.perf_counter()
    f = unfitted(seed, graph)
    model = f.extra["model"]
    compiled = nutpie.compile_pymc_model(model, backend="numba")
    idata = nutpie.sample(compiled, draws=1000, tune=1000, chains=4, cores=1, seed=mcmc_seed, progress_bar=False)
    seconds = time.perf_counter() - t0
    post = idata["posterior"]
    means = {v: float(np.asarray(post[v]).mean()) for v in ("sd_department", "sd_country")}
    means.update({f"b[{j}]": float(x) for j, x in enumerate(np.asarray(post["b"]).mean(axis=(0, 1)))})
    sds = {v: float(np.asarray(post[v]).std()) for v in ("sd_department", "sd_country")}
    return seconds, {"means": means, "sds": sds}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--fits", type=int, default=0, help="also time this many whole fits per tool (slow)")
    a = ap.parse_args(argv)
    header = machine(("pymc", "pytensor", "numba", "nutpie"))
    print(header)
    tools = {"irmodels": (False, "NUMBA"), "PyTensor graph (numba)": (True, "NUMBA"),
             "PyTensor graph (C)": (True, "FAST_RUN")}
    fns = {}
    for name, (graph, mode) in tools.items():
        fns[name], size = logp_function(unfitted(a.seed, graph), mode)
    rng = np.random.default_rng(a.seed)
    agreement = {}
    points = [rng.normal(0.0, 0.7, size) for _ in range(5)]
    ref = [fns["irmodels"](x) for x in points]
    for name, fn in fns.items():
        if name == "irmodels":
            continue
        got = [fn(x) for x in points]
        d_lp = max(abs(float(g[0]) - float(r[0])) for g, r in zip(got, ref))
        d_gr = max(float(np.abs(g[1] - r[1]).max()) for g, r in zip(got, ref))
        if not (d_lp < 1e-8 and d_gr < 1e-8):
            raise SystemExit(f"{name} disagrees with irmodels: log density {d_lp:.3g}, gradient {d_gr:.3g}")
        agreement[name] = f"logp {d_lp:.1e}, grad {d_gr:.1e}"
    x0 = points[0]

    def runner(fn):
        def run():
            for _ in range(a.calls):
                fn(x0)
        return run

    for fn in fns.values():
        runner(fn)()  # warm
    times = interleaved({n: runner(fn) for n, fn in fns.items()}, a.repeats)
    per_call = {n: [t / a.calls * 1e6 for t in ts] for n, ts in times.items()}
    tasks = {n: f"log density + gradient, {mode} backend" for n, (_, mode) in tools.items()}
    rows = rows_from_times(NAME, "SBC design, 98 departments", per_call, tasks, agreement, unit="us")
    print(f"\nlog density and gradient, microseconds per call ({a.calls} calls x {a.repeats} interleaved rounds)")
    print_table(rows, value_label="median us")
    if a.fits:
        fit_times: dict[str, list[float]] = {"irmodels": [], "PyTensor graph (numba)": []}
        posts: dict[str, list[dict]] = {k: [] for k in fit_times}
        for r in range(a.fits):
            order = list(fit_times) if r % 2 == 0 else list(fit_times)[::-1]
            for name in order:
                s, p = fit_seconds(a.seed, name != "irmodels", 100 + r)
                fit_times[name].append(s)
                posts[name].append(p)
        # same model, same sampler, same seeds: posterior means agree within Monte Carlo error
        worst = 0.0
        for p_i, p_g in zip(posts["irmodels"], posts["PyTensor graph (numba)"]):
            for v in ("sd_department", "sd_country"):
                se = p_i["sds"][v] / np.sqrt(400.0)  # conservative: ESS >= 400 by the gate
                worst = max(worst, abs(p_i["means"][v] - p_g["means"][v]) / (np.sqrt(2) * se))
        note = f"max |difference of posterior means| / MC SE = {worst:.2f} (sd_department, sd_country)"
        fit_rows = rows_from_times(NAME, "SBC design, whole nutpie fit", fit_times,
                                   {n: "build, compile, 4 x 1000 draws + 1000 tuning, 1 core" for n in fit_times},
                                   {"PyTensor graph (numba)": note}, unit="s")
        print(f"\nwhole fits, seconds ({a.fits} interleaved rounds); {note}")
        print_table(fit_rows)
        rows += fit_rows
        if worst > 4:
            raise SystemExit("posterior means differ beyond Monte Carlo error")
    print(f"\nirmodels: {statistics.median(per_call['irmodels']):.1f} us per log density and gradient")
    write_results(NAME, rows, header)


if __name__ == "__main__":
    main()
