"""Validation studies of issue 10 item 5: SBC of every Bayesian family and frequentist coverage.

What
----
* **SBC** (:mod:`irmodels.studies.sbc`): for each Bayesian family (``logit``: hierarchical
  logistic; ``ordinal``: cumulative logit, 3 classes; ``beta_binomial``; ``share``: the
  female-IR share model, binomial measurement of counts or share class) ``n_sims`` simulations
  of a 2017-like design (the 24 countries with their 1-15 respondents, the 2017 published
  covariate counts), parameters drawn from the model's priors, fitted with nutpie at the
  package's MCMC defaults (4 chains x 1000 draws, 1000 tuning steps), ranks among L = 99
  thinned draws, tested with the simultaneous 95% ECDF band of Säilynoja et al. (2022).
  Non-converged fits (the gate of ``irmodels.core.convergence.GATE``) and tasks that raised are
  counted as failed and excluded from the test.
* **Coverage** (:mod:`irmodels.studies.coverage`): 95% intervals of Firth logistic regression
  (profile penalised likelihood), ordinal ML (Wald), weighted logistic regression with design
  (sandwich, calibration-aware linearisation) SEs under raking weights, and the raked
  prevalence with linearisation and with bootstrap variance, at 2017's n (98) and at n = 500;
  coverage of the known truth with its Monte Carlo SE.

Every study runs through the Dask study runner (:func:`irmodels.studies.runner.run_study`)
into ``validation/studies/<name>/`` (resumable: rerun the same command to continue an
interrupted study; the per-task parquet parts are not tracked, see the ``.gitignore`` there).

Outputs (tracked)
-----------------
* ``validation/sbc_summary.csv``: one row per family x parameter (``family``, ``parameter``,
  ``n_sims``, ``n_failed``, ``ecdf_pass``, ...: :func:`irmodels.studies.sbc_ecdf.summarise_sbc`) for
  ``logit``, ``ordinal``, ``beta_binomial`` and ``share``, each at the package's MCMC settings for
  the family (4 chains x 1000 draws after 1000 tuning steps; NUTS target acceptance 0.9, the
  beta-binomial's 0.99: ``irmodels.models.bayes.TARGET_ACCEPT``, study ``sbc_beta_binomial_ta99``);
* ``validation/sbc_ta<100 x value>_*`` (``--target-accept``) and
  ``validation/sbc_replicate<K>[_ta..]_*`` (``--replicate K``: seed ``SBC_SEED + K``): the same
  for a study at another target acceptance or an independent replicate. Kept: the beta-binomial
  at 0.9 (``sbc_ta90_*``, its default until the SBC showed divergent fits and ``phi`` outside its
  band) and its replicate 1 (``sbc_replicate1_ta90_*``);
* ``validation/sbc_failure_rate.csv``: per family (:func:`irmodels.studies.sbc_ecdf.failure_rates`);
* ``validation/sbc_ecdf_<family>.pdf`` / ``.png``: ECDF difference of the ranks per parameter
  with the simultaneous 95% band;
* ``validation/coverage_summary.csv``: ``method``, ``n``, ``quantity``, ``n_sims``,
  ``coverage``, ``mc_se``, ``within_mc_error``, and the bias, spread of the estimates and the
  interval's implied SE (``median_bias``, ``empirical_sd``, ``robust_sd``, ``median_se``,
  ``se_ratio``) (:func:`irmodels.studies.coverage.summarise_coverage`);
* ``validation/studies/timings.csv``: wall time of every ``run_study`` call (study, tasks run,
  workers, seconds, load average at the start).

Command
-------
``.venv/bin/python validation/run_studies.py [--sbc-sims 1000] [--coverage-sims 1000]
[--families logit ordinal beta_binomial share] [--steps sbc coverage summary]
[--n-workers 2] [--replicate K] [--target-accept A] [--extend]``

As run (issue 10): the default command (1000 simulations per study; the beta-binomial then at
0.9, the package default of the time), ``--steps sbc --families beta_binomial --replicate 1
--sbc-sims 1000`` (stopped at 585), ``--steps sbc --families beta_binomial --target-accept 0.99
--sbc-sims 500``, grown to 1000 with ``--sbc-sims 1000 --extend``, ``--steps sbc --families
share``, then ``--steps summary`` and ``--steps summary --families beta_binomial --target-accept
0.9 [--replicate 1]``.

``--sbc-sims`` is the study size (the manifest's number of tasks). A study stopped early (Ctrl-C
or SIGTERM: the runner closes its cluster and keeps every finished task) resumes when the same
command is run again; ``--steps summary`` then writes the tables and figures from the tasks done
so far (the counts in every table say how many).

Measured on the project machine (2 cores shared with other jobs: load average 2-5 during the
runs), ``n_workers=2`` (a LocalCluster, one thread per worker), wall time of each ``run_study``
call (``validation/studies/timings.csv``):

* SBC ``logit`` 1000 simulations: 1378 s; ``ordinal`` 1000: 1948 s; ``beta_binomial`` at 0.9
  1000: 1462 s; at 0.99: 1639 s for the first 500 and 2189 s for the other 500 (load 2-4);
  ``share`` 1000: 4664 s (median 8.5 s per fit with the fused quadrature Op,
  ``irmodels.models.quadrature_op``; 54 s per fit before it, 160 s with the pair-sum
  likelihood); see ``timings.csv``, the counts in ``sbc_failure_rate.csv`` and docs/studies.md;
* coverage, 1000 simulations per setting: Firth 67 s (n = 98) and 108 s (n = 500); ordinal 212 s
  and 227 s; survey (svyglm + raked prevalence with 200 bootstrap replicates) 60 s and 101 s.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
STUDIES = HERE / "studies"
SBC_SEED = 20180410      # Talts et al. 2018 (arXiv April 2018)
COVERAGE_SEED = 20220301
SBC_FAMILIES = ("logit", "ordinal", "beta_binomial", "share")
#: Families of ``validation/sbc_summary.csv``: every Bayesian family at the package's MCMC
#: settings for that family (the beta-binomial at its target acceptance 0.99,
#: ``irmodels.models.bayes.TARGET_ACCEPT``: study ``sbc_beta_binomial_ta99``).
SUMMARY_FAMILIES = SBC_FAMILIES


def _log_timing(name: str, res, n_workers: int, load: float) -> None:
    path = STUDIES / "timings.csv"
    new = not path.exists()
    STUDIES.mkdir(parents=True, exist_ok=True)
    with open(path, "a", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        if new:
            w.writerow(["study", "finished", "n_tasks", "n_executed", "n_skipped", "n_done", "n_failed", "n_missing",
                        "n_workers", "wall_seconds", "load_average_1min_at_start"])
        w.writerow([name, time.strftime("%Y-%m-%dT%H:%M:%S"), res.n_tasks, res.n_executed, res.n_skipped,
                    res.n_done, res.n_failed, res.n_missing, n_workers, f"{res.wall_time:.1f}", f"{load:.2f}"])


def _run(name: str, task, n_tasks: int, seed: int, params: dict, n_workers: int, batch_size: int | None,
         extend: bool = False):
    """Run (or resume, or with ``extend`` grow) one study and log its wall time."""
    from irmodels.studies.runner import run_study

    load = os.getloadavg()[0]
    res = run_study(task, n_tasks, seed=seed, out_dir=STUDIES / name, params=params, n_workers=n_workers,
                    batch_size=batch_size, progress=sys.stderr.isatty(), extend=extend)
    _log_timing(name, res, n_workers, load)
    print(f"{name}: {res.n_done} done, {res.n_failed} failed, {res.n_missing} missing of {res.n_tasks}; "
          f"this call ran {res.n_executed} tasks in {res.wall_time:.0f} s on {n_workers} workers", flush=True)
    return res


def _sbc_study(fam: str, replicate: int, target_accept: float | None = None) -> tuple[str, int, dict]:
    """Study directory name, seed and task parameters of the SBC of ``fam`` (replicate 0: the primary).

    ``target_accept``: the NUTS target acceptance (default: the package's for the family,
    ``irmodels.models.bayes.TARGET_ACCEPT``, else none set, i.e. 0.9); a study with a target
    acceptance set is ``sbc_<fam>[_replicate<K>]_ta<100 x value>``, same seed as without.
    """
    from irmodels.models.bayes import TARGET_ACCEPT
    from irmodels.studies.sbc_simulate import FAMILY_KIND

    if target_accept is None:
        target_accept = TARGET_ACCEPT.get(FAMILY_KIND[fam])
    params: dict = {"family": fam}
    if target_accept is not None:
        params["settings"] = {"target_accept": float(target_accept)}
    name = (f"sbc_{fam}" + (f"_replicate{replicate}" if replicate else "")
            + (f"_ta{round(100 * target_accept)}" if target_accept is not None else ""))
    return name, SBC_SEED + int(replicate), params


def run_sbc(families, n_sims: int, n_workers: int, replicate: int = 0, target_accept: float | None = None,
            extend: bool = False) -> None:
    from irmodels.studies.sbc import sbc_task

    for fam in families:
        name, seed, params = _sbc_study(fam, replicate, target_accept)
        _run(name, sbc_task, n_sims, seed, params, n_workers, batch_size=1, extend=extend)


def run_coverage(n_sims: int, n_workers: int) -> None:
    from irmodels.studies.coverage import coverage_task, default_settings

    for name, params in default_settings().items():
        _run(f"coverage_{name}", coverage_task, n_sims, COVERAGE_SEED, params, n_workers, batch_size=None)


def _family_results(fam: str, replicate: int = 0, target_accept: float | None = None):
    from irmodels.studies.runner import load_study

    out = STUDIES / _sbc_study(fam, replicate, target_accept)[0]
    if not (out / "manifest.json").exists():
        return None
    st = load_study(out)
    fails = st.failures.assign(family=fam)
    return st.results.assign(family=fam), fails


def write_sbc_summary(families, replicate: int = 0, target_accept: float | None = None) -> pd.DataFrame | None:
    """Tables and figures of the SBC studies; ``replicate > 0``: ``validation/sbc_replicate<K>_*``;
    ``target_accept``: ``validation/sbc_ta<100 x value>_*``."""
    from irmodels.core.io import write_table_atomic
    from irmodels.models.bayes import DEFAULT_TARGET_ACCEPT
    from irmodels.studies.sbc_ecdf import ecdf_band, failure_rates, summarise_sbc

    res, fails = [], []
    for fam in families:
        got = _family_results(fam, replicate, target_accept)
        if got is None or got[0].empty:
            continue
        res.append(got[0])
        fails.append(got[1])
    if not res:
        return None
    results = pd.concat(res, ignore_index=True)
    failures = pd.concat(fails, ignore_index=True)
    summary = summarise_sbc(results, failures)
    # which study and NUTS target acceptance each family's rows come from (0.9: none set, the general default)
    studies = {fam: _sbc_study(fam, replicate, target_accept) for fam in summary["family"].unique()}
    summary.insert(1, "study", summary["family"].map(lambda f: studies[f][0]))
    summary.insert(2, "target_accept", summary["family"].map(
        lambda f: studies[f][2].get("settings", {}).get("target_accept", DEFAULT_TARGET_ACCEPT)))
    prefix = (f"sbc_replicate{replicate}_" if replicate else "sbc_") + (
        f"ta{round(100 * target_accept)}_" if target_accept is not None else "")
    if replicate:
        summary.insert(1, "seed", SBC_SEED + replicate)
    write_table_atomic(summary, HERE / f"{prefix}summary.csv", float_format="%.6g")
    segments = _segments(results, failures, studies, summarise_sbc)
    if segments is not None:
        write_table_atomic(segments, HERE / f"{prefix}segments.csv", float_format="%.6g")
    rates = failure_rates(results, failures)
    write_table_atomic(rates, HERE / f"{prefix}failure_rate.csv", float_format="%.6g")
    for fam, g in results.groupby("family", sort=False):
        _ecdf_figure(fam, g[g["converged"].astype(bool)], summary[summary["family"] == fam], ecdf_band,
                     stem=f"{prefix}ecdf_{fam}")
    return summary


def write_paired_target_accept(fam: str = "beta_binomial", low: float = 0.9, high: float = 0.99) -> pd.DataFrame | None:
    """The same simulations (same seed, tasks run by both studies) fitted at two target acceptances.

    ``validation/sbc_<fam>_paired_ta.csv``, one row per study: tasks paired, fits failing the gate, fits with
    a divergent transition, and per parameter the ranks at the extremes (0 and L): too many or too few at
    one setting, on the same data sets, is what a sampler-setting effect on calibration would show."""
    from irmodels.core.io import write_table_atomic
    from irmodels.studies.runner import load_study

    names = [_sbc_study(fam, 0, ta)[0] for ta in (low, high)]
    if not all((STUDIES / n / "manifest.json").exists() for n in names):
        return None
    res = {n: load_study(STUDIES / n).results for n in names}
    common = sorted(set(res[names[0]]["task_id"]) & set(res[names[1]]["task_id"]))
    rows = []
    for ta, n in zip((low, high), names):
        r = res[n][res[n]["task_id"].isin(common)]
        per_task = r.drop_duplicates("task_id")
        row = {"family": fam, "study": n, "target_accept": ta, "tasks_paired": len(common),
               "n_not_converged": int((~per_task["converged"].astype(bool)).sum()),
               "n_with_divergences": int((per_task["n_divergent"] > 0).sum()),
               "median_fit_seconds": float(per_task["fit_seconds"].median())}
        conv = r[r["converged"].astype(bool)]
        for p, g in conv.groupby("parameter", sort=False):
            L = int(g["L"].iloc[0])
            row[f"{p} rank 0"] = int((g["rank"] == 0).sum())
            row[f"{p} rank L"] = int((g["rank"] == L).sum())
        rows.append(row)
    out = pd.DataFrame(rows)
    write_table_atomic(out, HERE / f"sbc_{fam}_paired_ta.csv", float_format="%.6g")
    return out


def _segments(results: pd.DataFrame, failures: pd.DataFrame, studies: dict, summarise_sbc) -> pd.DataFrame | None:
    """For studies grown with ``--extend``: the test on each segment of tasks (before and after each growth).

    The tasks added by a growth are simulations no one had seen when the study was grown: the later
    segment is a confirmatory test of its own."""
    from irmodels.studies.runner import load_study

    parts = []
    for fam, (name, _, _) in studies.items():
        manifest = load_study(STUDIES / name).manifest
        cuts = [0, *manifest.get("extended_from", []), int(manifest["n_tasks"])]
        if len(cuts) == 2:
            continue
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            r = results[(results["family"] == fam) & results["task_id"].between(lo, hi - 1)]
            f = failures[(failures["family"] == fam) & failures["task_id"].between(lo, hi - 1)]
            seg = summarise_sbc(r, f)
            seg.insert(1, "study", name)
            seg.insert(2, "tasks", f"{lo}-{hi - 1}")
            parts.append(seg)
    return pd.concat(parts, ignore_index=True) if parts else None


def _ecdf_figure(fam: str, g: pd.DataFrame, summ: pd.DataFrame, ecdf_band, stem: str) -> None:
    from irmodels.figures.style import DOUBLE_COLUMN_MM, OKABE_ITO, journal_style, new_figure, save_figure
    from irmodels.studies.sbc_simulate import FAMILIES

    params = list(dict.fromkeys(g["parameter"]))
    if not params:
        return
    L = int(g["L"].iloc[0])
    ncols = 4
    nrows = int(np.ceil(len(params) / ncols))
    with journal_style():
        fig, axes = new_figure(DOUBLE_COLUMN_MM, min(225.0, 10 + 34 * nrows), nrows=nrows, ncols=ncols,
                               sharex=True, squeeze=False)
        for ax, p in zip(axes.ravel(), params):
            r = g.loc[g["parameter"] == p, "rank"].to_numpy(dtype=np.int64)
            N = len(r)
            band = ecdf_band(N, L)
            z = band["z"].to_numpy()
            diff = np.cumsum(np.bincount(r, minlength=L + 1))[:L] / N - z
            row = summ[summ["parameter"] == p].iloc[0]
            ax.fill_between(z, band["lower"], band["upper"], step="mid", color="0.85", lw=0)
            ax.axhline(0, color="0.5", lw=0.4)
            ax.step(z, diff, where="mid", color=OKABE_ITO[4] if row["ecdf_pass"] else OKABE_ITO[5], lw=0.8)
            ax.set_title(f"{p}" + ("" if row["ecdf_pass"] else "  (outside)"), loc="left", fontsize=6)
            ax.tick_params(labelsize=5.5)
        for ax in axes.ravel()[len(params):]:
            ax.set_visible(False)
        for ax in axes[-1]:
            ax.set_xlabel("fractional rank z")
        for ax in axes[:, 0]:
            ax.set_ylabel("ECDF - z")
        n_used = int(summ["n_used"].max())
        label = FAMILIES[fam]
        fig.suptitle(f"SBC, {label}: {n_used} converged fits of {int(summ['n_sims'].iloc[0])}, "
                     f"L = {L}; grey: simultaneous 95% band", fontsize=6.5)
        save_figure(fig, HERE / stem)


def write_coverage_summary() -> pd.DataFrame | None:
    from irmodels.core.io import write_table_atomic
    from irmodels.studies.coverage import default_settings, summarise_coverage
    from irmodels.studies.runner import load_study

    parts = []
    for name in default_settings():
        out = STUDIES / f"coverage_{name}"
        if (out / "manifest.json").exists():
            st = load_study(out)
            if len(st.results):
                parts.append(summarise_coverage(st.results, st.failures, n_tasks=st.n_tasks))
    if not parts:
        return None
    summary = pd.concat(parts, ignore_index=True)
    write_table_atomic(summary, HERE / "coverage_summary.csv", float_format="%.6g")
    return summary


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sbc-sims", type=int, default=1000)
    ap.add_argument("--coverage-sims", type=int, default=1000)
    ap.add_argument("--families", nargs="+", default=list(SUMMARY_FAMILIES), choices=SBC_FAMILIES)
    ap.add_argument("--replicate", type=int, default=0,
                    help="SBC replicate number K >= 1: an independent study with seed SBC_SEED + K in "
                         "studies/sbc_<family>_replicate<K>, summarised in sbc_replicate<K>_*; 0 (default): "
                         "the primary studies")
    ap.add_argument("--target-accept", type=float, default=None,
                    help="NUTS target acceptance of the SBC fits (default: the package's for the family, "
                         "irmodels.models.bayes.TARGET_ACCEPT): a study of its "
                         "own, studies/sbc_<family>_ta<100 x value>, summarised in sbc_ta<100 x value>_*")
    ap.add_argument("--steps", nargs="+", default=["sbc", "coverage", "summary"],
                    choices=["sbc", "coverage", "summary"])
    ap.add_argument("--n-workers", type=int, default=2)
    ap.add_argument("--extend", action="store_true",
                    help="grow a stored SBC study to --sbc-sims simulations (its finished simulations are kept: "
                         "simulation i depends on the study seed and i only)")
    a = ap.parse_args(argv)
    if a.replicate < 0:
        ap.error(f"--replicate {a.replicate}: must be >= 0")
    if "coverage" in a.steps:
        run_coverage(a.coverage_sims, a.n_workers)
    if "sbc" in a.steps:
        run_sbc(a.families, a.sbc_sims, a.n_workers, a.replicate, a.target_accept, a.extend)
    if "summary" in a.steps:
        with pd.option_context("display.width", 220, "display.max_columns", 30, "display.max_rows", 200):
            s = write_sbc_summary(SUMMARY_FAMILIES if not (a.replicate or a.target_accept) else a.families,
                                  a.replicate, a.target_accept)
            if s is not None:
                print(s[["family", "parameter", "n_sims", "n_failed", "n_used", "ecdf_pass", "max_abs_ecdf_diff",
                         "band_half_width", "p_value"]].to_string(index=False))
            c = write_coverage_summary() if not (a.replicate or a.target_accept) else None
            if not (a.replicate or a.target_accept):
                write_paired_target_accept()
            if c is not None:
                print(c.to_string(index=False))


if __name__ == "__main__":
    main()
