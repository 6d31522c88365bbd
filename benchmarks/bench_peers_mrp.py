"""Post-stratification (MRP) beside a plain pandas implementation (issue 13, item 5).

One hierarchical logistic fit (``cover_24_7 ~ beds_class + teaching + chair_profile``, country
intercepts; engine ``pymc``, 4 chains x 1000 draws) of a simulated wave of ``--n`` respondents
(``simulate_wave(n, 7)``), post-stratified over the 200 frame cells of the ``radiologists``
scenario (50 countries x 4 bed classes; countries without respondents get a new intercept
drawn from ``Normal(0, sd_country)`` with the same seed in both implementations).

Tools, same fit and cells, Europe-wide and per-country estimates (mean, sd, 2.5% and 97.5%
quantiles of the 4000 domain draws):

* ``irmodels``: :func:`irmodels.models.mrp.poststratify`;
* ``pandas groupby``: what a user writes with pandas: merge the cells with the predictor mix,
  predict every (row, draw) with the formula's design matrix and the posterior draws, weight
  by ``N x share`` and ``groupby`` country (and a total for Europe), then summarise across
  draws (``mean``, ``std``, ``quantile``).

Two mixes of the predictors the cells lack (teaching, chair profile): a given population mix
(``population_mix``; the pandas version is one merge) and the respondents' own mix within
country x bed class with the fallbacks of ``poststratify`` (pandas: three merges). The
estimates are checked to agree to 1e-10 before timing. Ratio = pandas / irmodels.

Run: ``.venv/bin/python benchmarks/bench_peers_mrp.py [--repeats 5] [--n 2000]``
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import interleaved, machine, print_table, rows_from_times, write_results  # noqa: E402

FORMULA = "cover_24_7 ~ beds_class + teaching + chair_profile"
TOL_AGREE = 1e-10


def pandas_mrp(fit, cells: pd.DataFrame, mix: pd.DataFrame | None, ci_prob: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Plain pandas post-stratification: merge, predict, groupby, summarise."""
    from irmodels.models.posterior import posterior_draws

    resp = fit.design.data
    g = "country"
    cells = cells.reset_index(drop=True).assign(_cell=lambda d: np.arange(len(d)))
    cells["beds_class"] = cells["beds_class"].astype(str)
    if mix is not None:
        m = mix.assign(beds_class=mix["beds_class"].astype(str))
        rows = cells[["_cell", g, "beds_class", "N"]].merge(m, on="beds_class")
    else:
        r = resp[[g, "beds_class", "teaching", "chair_profile"]].astype({"beds_class": str}).reset_index(drop=True)
        r["_resp"] = np.arange(len(r))
        own = cells.merge(r, on=[g, "beds_class"])
        rest = cells[~cells["_cell"].isin(own["_cell"])]
        coarse = rest.merge(r.drop(columns=g), on="beds_class")
        rest = rest[~rest["_cell"].isin(coarse["_cell"])]
        every = rest.merge(r.drop(columns=[g, "beds_class"]), how="cross")
        rows = pd.concat([own, coarse, every], ignore_index=True)
        rows["share"] = 1.0 / rows.groupby("_cell")["_cell"].transform("size")
    rows = rows.sort_values(["_cell", "_resp"] if "_resp" in rows else ["_cell"], kind="stable")
    newdata = rows[["beds_class", "teaching", "chair_profile"]].astype(
        {"beds_class": resp["beds_class"].dtype, "chair_profile": resp["chair_profile"].dtype,
         "teaching": resp["teaching"].dtype})
    X = fit.design.new_X(newdata.reset_index(drop=True)).to_numpy()
    b = posterior_draws(fit, "b")
    a = posterior_draws(fit, "a_country")
    levels = list(fit.design.group_levels)
    new_levels = sorted(set(cells[g]) - set(levels))
    a_new = posterior_draws(fit, "sd_country")[:, None] * np.random.default_rng(seed).standard_normal(
        (len(b), len(new_levels)))
    a_all = np.concatenate([a, a_new], axis=1)
    gidx = pd.Index(levels + new_levels).get_indexer(rows[g])
    p = special.expit(X @ b.T + a_all[:, gidx].T)  # (rows, S)
    w = (rows["N"] * rows["share"]).to_numpy()
    draws = pd.DataFrame(p * w[:, None])
    draws[g] = rows[g].to_numpy()
    by_country = draws.groupby(g).sum()
    wsum = pd.Series(w).groupby(rows[g].to_numpy()).sum()
    theta = pd.concat([by_country.sum().to_frame("Europe").T / w.sum(), by_country.div(wsum, axis=0)])
    q = (1 - ci_prob) / 2
    return pd.DataFrame({"estimate": theta.mean(axis=1), "std_error": theta.std(axis=1),
                         "lower": theta.quantile(q, axis=1), "upper": theta.quantile(1 - q, axis=1)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    from irmodels.core.errors import DataDroppedWarning
    from irmodels.nonresponse.frame import frame_cells
    from irmodels.models.fit import fit
    from irmodels.models.mrp import population_mix, poststratify
    from irmodels.studies.simulate import simulate_wave

    header = machine(("irmodels", "pandas", "numpy", "pymc", "nutpie"))
    print(f"# {header}")
    warnings.simplefilter("ignore", DataDroppedWarning)
    data = simulate_wave(args.n, 7)
    f = fit(FORMULA, data, family="bernoulli", engine="pymc", group="country", seed=1, missing="drop",
            draws=1000, tune=1000, chains=4, cores=2, on_fail="warn")
    cells = frame_cells("radiologists")
    S = len(np.asarray(f.result["posterior"]["b"]).reshape(-1, len(f.design.X.columns)))
    print(f"MRP: {args.n} simulated respondents, {len(cells)} frame cells, {S} posterior draws; "
          f"{args.repeats} interleaved repeats; ratio = pandas / irmodels")
    mixes = {"given population mix": population_mix({"<200": .2, "200-399": .4, "400-799": .6, ">=800": .9},
                                                     respondents=data),
             "respondents' mix": None}
    rows = []
    for label, mix in mixes.items():
        def ours():
            return poststratify(f, cells, mix=mix)

        def theirs():
            return pandas_mrp(f, cells, mix)

        r = ours().set_index("domain")
        pd_res = theirs()
        cols = ["estimate", "std_error", "lower", "upper"]
        err = float(np.max(np.abs(r.loc[pd_res.index, cols].to_numpy() - pd_res[cols].to_numpy())))
        if not err <= TOL_AGREE:
            raise SystemExit(f"{label}: pandas and irmodels estimates differ by {err:.2e} (> {TOL_AGREE:g})")
        times = interleaved({"irmodels": ours, "pandas groupby": theirs}, args.repeats)
        task = f"MRP Europe + {len(pd_res) - 1} countries, {len(cells)} cells, {S} draws"
        part = rows_from_times("mrp", label, times, {"irmodels": task, "pandas groupby": task},
                               {"pandas groupby": f"max abs diff {err:.1e}"})
        print(f"\n{label}")
        print_table(part)
        rows += part
    write_results("bench_peers_mrp", rows, header)


if __name__ == "__main__":
    main()
