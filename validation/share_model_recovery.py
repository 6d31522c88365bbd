"""Recovery of the female-representation (latent-share) model with its binomial measurement model.

What (issue 10, item 1): the share class of a department of a few IRs is a function of k/n, so
most all-male teams are all-male by chance. The model (``irmodels.models.bayes``, family
``binomial`` with ``share_class``) now says so: a class-only department contributes
``P(class | eta) = int sum_n pi(n) sum_{k: class(k/n) = class} Binom(k; n, expit(eta + sd x)) phi(x) dx``
(the schema's class rule), a department with counts ``Binomial(k; n, p)``. This study simulates
departments from that model and fits it back:

* 300 departments, ``n_IR ~ U{1..10}``, bed class (4 classes, the 2017-like mix of
  ``irmodels.studies.simulate.DEFAULT_PARAMS``, entered as a step 0..3) and teaching (Bernoulli(0.6)),
  ``logit p_i = -2.0 + 0.2 beds_step + 0.4 teaching + sd * u_i`` (female share 0.12 to 0.27,
  the range of the review's check); :func:`irmodels.studies.simulate.simulate_share_departments`;
* true ``sd_department`` = 0 (no between-department heterogeneity) and = 1;
* 30% of the departments report their counts (k of n); the others only their share class, with
  n unreported and marginalised over the empirical n of the count rows (the model's default);
* nutpie, 4 chains, 2000 draws after 1000 tuning draws; the convergence gate (R-hat <= 1.01,
  bulk/tail ESS >= 400, no divergences) is recorded per scenario.

Checks: with no heterogeneity the fitted ``sd_department`` is small (the replaced interval
likelihood gave 1.85-2.10 on such data); every coefficient within 2 posterior sd of its truth.

Output: ``validation/share_model_recovery.csv``, long format, one row per scenario x term:
``scenario``, ``true_sd``, ``sd_median``, ``sd_lower``, ``sd_upper`` (posterior median and 95%
equal-tailed interval of ``sd_department``, repeated on every row of the scenario), ``term``,
``truth``, ``estimate`` (posterior mean), ``lower``, ``upper`` (95% equal-tailed), and
``std_error`` (posterior sd), ``z`` ((estimate - truth) / std_error), ``within_2sd``,
``converged``, ``r_hat_max``, ``ess_bulk_min``, ``n_divergent`` (the gate over all free
parameters), ``wall_s`` (fit time of the scenario).

Replicates (``--replicates R``): the same two scenarios repeated R times with new data (task
``r`` of study ``share_recovery_<scenario>`` draws its data and MCMC seeds from
``SeedSequence(SEED + k, spawn_key=(r,))``, run through the Dask study runner into
``validation/studies/``), summarised in ``validation/share_model_recovery_replicates.csv``: per
scenario and parameter the number of replicates and of converged fits (only converged fits are
summarised), the coverage of the 95% intervals with its Monte Carlo SE, the mean and sd of the
z-scores ``(estimate - truth) / posterior sd``, and for ``sd_department`` the distribution of its
posterior median over replicates (median, 90th and 99th percentiles) and the share of
replicates whose 95% upper limit is below 0.5.

Run: ``.venv/bin/python validation/share_model_recovery.py [--replicates R] [--n-workers 2]``
(seed 20171010). Measured wall time: see the table at the end of docs/studies.md.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from irmodels.core.errors import ConvergenceWarning
from irmodels.core.io import write_table_atomic
from irmodels.models import posterior
from irmodels.models.fit import fit
from irmodels.studies.simulate import simulate_share_departments

HERE = Path(__file__).resolve().parent
SEED = 20171010
N_DEPARTMENTS = 300
COUNT_FRACTION = 0.3
SCENARIOS = {"no_heterogeneity": 0.0, "heterogeneity_sd1": 1.0}
FORMULA = "n_female_ir ~ beds_step + teaching"
MCMC = dict(nuts_sampler="nutpie", chains=4, draws=2000, tune=1000)
K_SD = 2.0


def run_scenario(name: str, true_sd: float, seed: np.random.SeedSequence, quiet: bool = False) -> pd.DataFrame:
    """Simulate one scenario, fit the model, return its rows of the recovery table."""
    data_seed, fit_seed = (int(s.generate_state(1)[0]) for s in seed.spawn(2))
    df = simulate_share_departments(N_DEPARTMENTS, data_seed, sd_department=true_sd, count_fraction=COUNT_FRACTION)
    truth = df.attrs["truth"]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        # a failed gate is recorded in the table (converged = False), not hidden
        warnings.simplefilter("always", ConvergenceWarning)
        f = fit(FORMULA, df, family="binomial", engine="pymc", trials="n_ir", share_class="female_ir_share_class",
                seed=fit_seed, on_fail="warn", **MCMC)
    wall = time.perf_counter() - t0
    sd = posterior.posterior_draws(f, "sd_department")
    diag = f.extra["convergence"]
    tidy = f.tidy().set_index("term")
    rows = []
    for term in ("Intercept", "beds_step", "teaching"):
        r = tidy.loc[term]
        z = (r["estimate"] - truth[term]) / r["std_error"]
        rows.append({"scenario": name, "true_sd": true_sd, "sd_median": float(np.median(sd)),
                     "sd_lower": float(np.quantile(sd, 0.025)), "sd_upper": float(np.quantile(sd, 0.975)),
                     "term": term, "truth": truth[term], "estimate": r["estimate"], "lower": r["lower"],
                     "upper": r["upper"], "std_error": r["std_error"], "z": z, "within_2sd": bool(abs(z) < K_SD),
                     "converged": bool(diag["converged"]), "r_hat_max": diag["r_hat_max"],
                     "ess_bulk_min": diag["ess_bulk_min"], "n_divergent": diag["n_divergent"], "wall_s": wall})
    if not quiet:
        print(f"{name}: {int(df['n_ir'].notna().sum())} departments with counts, {int(df['n_ir'].isna().sum())} with "
              f"the class only; fitted in {wall:.0f} s", flush=True)
    return pd.DataFrame(rows)


def recovery_task(task_id: int, rng: np.random.Generator, *, name: str, true_sd: float) -> pd.DataFrame:
    """One replicate of a scenario (a task of :func:`irmodels.studies.runner.run_study`)."""
    seed = np.random.SeedSequence(int(rng.integers(2**63 - 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # recorded per fit (column converged)
        rows = run_scenario(name, true_sd, seed, quiet=True)
    sd = rows.iloc[[0]].assign(term="sd_department", truth=true_sd, estimate=rows["sd_median"].iloc[0],
                               lower=rows["sd_lower"].iloc[0], upper=rows["sd_upper"].iloc[0],
                               std_error=np.nan, z=np.nan, within_2sd=np.nan)
    return pd.concat([rows, sd], ignore_index=True)


def summarise_replicates(results: pd.DataFrame, failures: pd.DataFrame, n_tasks: int) -> pd.DataFrame:
    """Per scenario x parameter: replicates, converged fits, interval coverage and z-scores of the converged."""
    out = []
    for (name, term), g in results.groupby(["scenario", "term"], sort=False):
        n_failed_tasks = int((failures.get("scenario", pd.Series(dtype=str)) == name).sum()) if len(failures) else 0
        ok = g[g["converged"].astype(bool)]
        cover = ((ok["lower"] <= ok["truth"]) & (ok["truth"] <= ok["upper"])).to_numpy(dtype=float)
        row = {"scenario": name, "true_sd": float(g["true_sd"].iloc[0]), "term": term,
               "truth": float(g["truth"].iloc[0]), "n_replicates": n_tasks, "n_errors": n_failed_tasks,
               # a true sd of 0 is on the boundary: no equal-tailed interval of a positive sd covers it
               "n_converged": len(ok),
               "coverage_95": np.nan if not len(ok) or (term == "sd_department" and g["truth"].iloc[0] <= 0)
               else cover.mean(),
               "coverage_mc_se": np.sqrt(0.95 * 0.05 / len(ok)) if len(ok) else np.nan}
        if term == "sd_department":
            med = ok["estimate"].to_numpy()
            row.update(sd_median_median=np.median(med), sd_median_p90=np.quantile(med, 0.9),
                       sd_median_p99=np.quantile(med, 0.99), share_upper_below_0_5=float((ok["upper"] < 0.5).mean()))
        else:
            row.update(z_mean=float(ok["z"].mean()), z_sd=float(ok["z"].std(ddof=1)),
                       share_within_2sd=float(ok["within_2sd"].astype(bool).mean()))
        out.append(row)
    return pd.DataFrame(out)


def run_replicates(n: int, n_workers: int) -> pd.DataFrame:
    """``n`` replicates of each scenario through the study runner; writes the replicate summary."""
    from irmodels.studies.runner import run_study

    parts = []
    for k, (name, true_sd) in enumerate(SCENARIOS.items()):
        res = run_study(recovery_task, n, seed=SEED + k, out_dir=HERE / "studies" / f"share_recovery_{name}",
                        params={"name": name, "true_sd": true_sd}, n_workers=n_workers, batch_size=1,
                        progress=False)
        print(f"{name}: {res.n_done} replicates done, {res.n_failed} failed, in {res.wall_time:.0f} s on "
              f"{n_workers} workers", flush=True)
        parts.append(summarise_replicates(res.results, res.failures.assign(scenario=name), res.n_tasks))
    summary = pd.concat(parts, ignore_index=True)
    write_table_atomic(summary, HERE / "share_model_recovery_replicates.csv", float_format="%.6g")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(summary.round(3).to_string(index=False))
    return summary


def main() -> pd.DataFrame:
    """Run both scenarios, write the CSV and return the table."""
    t0 = time.perf_counter()
    seeds = np.random.SeedSequence(SEED).spawn(len(SCENARIOS))
    out = pd.concat([run_scenario(name, sd, s) for (name, sd), s in zip(SCENARIOS.items(), seeds)],
                    ignore_index=True)
    path = write_table_atomic(out, HERE / "share_model_recovery.csv", float_format="%.6g")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(out.round(3).to_string(index=False))
    no_het = out[out["true_sd"] == 0.0].iloc[0]
    print(f"\nno heterogeneity: sd_department median {no_het['sd_median']:.3f} "
          f"[{no_het['sd_lower']:.3f}, {no_het['sd_upper']:.3f}]; coefficients within {K_SD:g} posterior sd: "
          f"{int(out['within_2sd'].sum())} of {len(out)}; all fits converged: {bool(out['converged'].all())}")
    print(f"wrote {path.relative_to(HERE.parent)}; total wall time {time.perf_counter() - t0:.0f} s (seed {SEED})")
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicates", type=int, default=0, help="also run R replicates per scenario (study runner)")
    ap.add_argument("--n-workers", type=int, default=2)
    a = ap.parse_args()
    if a.replicates < 0 or a.n_workers < 1:
        ap.error(f"--replicates {a.replicates} must be >= 0 and --n-workers {a.n_workers} >= 1")
    main()
    if a.replicates:
        run_replicates(a.replicates, a.n_workers)
