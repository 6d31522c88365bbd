"""Simulation-based calibration (SBC) of the hierarchical logistic model (issue 5).

Talts et al. (2018): draw parameters from the prior, simulate a data set, fit the
model, and record the rank of the true value among L thinned posterior draws. If
the sampler and model code are correct, ranks are uniform on 0..L.

Model: ``cover_24_7 ~ beds_class + teaching`` with non-centred country
intercepts (6 countries), priors of :data:`irmodels.models.bayes.DEFAULT_PRIORS`,
80 respondents per simulated data set; fitted through
:func:`irmodels.models.ensemble.fit_ensemble` (compiled once, nutpie, 4 chains x
500 draws, thinned to L = 99 draws).

Outputs (kept in the repository, not part of the default test run):
* ``validation/sbc_results.csv`` -- one row per simulation x parameter: ``sim``,
  ``parameter``, ``true``, ``rank`` (0..L), ``L``, ``converged``;
* ``validation/sbc_uniformity.csv`` -- per parameter: chi-square test of rank
  uniformity over 10 bins (``chi2``, ``df``, ``p_value``), ``n_sims``;
* ``validation/sbc_ranks.pdf``/``.png`` -- rank histograms with the 99% band
  of a uniform histogram.

Run: ``.venv/bin/python validation/sbc_hierarchical_logit.py [n_sims]`` (default 100;
about 10 minutes on 2 cores).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from irmodels.core.errors import ConvergenceWarning
from irmodels.figures.style import DOUBLE_COLUMN_MM, journal_style, new_figure, save_figure
from irmodels.core.io import write_table_atomic
from irmodels.models.bayes import DEFAULT_PRIORS
from irmodels.models.ensemble import fit_ensemble
from irmodels.models.posterior import posterior_draws

HERE = Path(__file__).resolve().parent
BEDS = ["<200", "200-399", "400-799", ">=800"]
COUNTRIES = ["AT", "DE", "FR", "IT", "NL", "ES"]
N_RESP, L, SEED = 80, 99, 20240601
TERMS = ["Intercept", "beds_class[T.200-399]", "beds_class[T.400-799]", "beds_class[T.>=800]", "teaching"]


def simulate(n_sims: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Prior draws and one data set per draw (same covariates, new outcomes)."""
    beds = rng.choice(4, N_RESP)
    teach = rng.random(N_RESP) < 0.7
    country = np.arange(N_RESP) % len(COUNTRIES)  # every country present in every data set
    X = np.column_stack([np.ones(N_RESP), beds == 1, beds == 2, beds == 3, teach]).astype(float)
    scales = np.array([DEFAULT_PRIORS["intercept"]] + [DEFAULT_PRIORS["b"]] * 4)
    truths, sets = [], []
    for s in range(n_sims):
        b = rng.normal(0, scales)
        sd = abs(rng.normal(0, DEFAULT_PRIORS["sd_group"]))
        a = sd * rng.normal(0, 1, len(COUNTRIES))
        y = rng.random(N_RESP) < expit(X @ b + a[country])
        truths.append({"sim": s, **dict(zip(TERMS, b)), "sd(country)": sd})
        sets.append(pd.DataFrame({
            "replicate": s, "country": [COUNTRIES[c] for c in country],
            "beds_class": pd.Categorical.from_codes(beds, BEDS, ordered=True), "teaching": teach, "cover_24_7": y,
        }))
    return pd.DataFrame(truths), pd.concat(sets, ignore_index=True)


def main(n_sims: int = 100) -> None:
    rng = np.random.default_rng(SEED)
    truth, data = simulate(n_sims, rng)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fits = fit_ensemble("cover_24_7 ~ beds_class + teaching", data, family="bernoulli", group="country",
                            seed=SEED, draws=500, tune=500, chains=4, on_fail="warn")
    print(f"{sum(1 for w in caught if issubclass(w.category, ConvergenceWarning))} of {n_sims} fits flagged by the "
          "convergence gate (kept; flagged in column converged)")
    rows = []
    for f in fits:
        s = int(f.extra["replicate"])
        b = posterior_draws(f, "b")
        sd = posterior_draws(f, "sd_country")
        keep = np.linspace(0, len(sd) - 1, L).round().astype(int)  # thin to reduce autocorrelation
        draws = {**{t: b[keep, j] for j, t in enumerate(TERMS)}, "sd(country)": sd[keep]}
        for p, d in draws.items():
            true = float(truth.loc[truth["sim"] == s, p].iloc[0])
            rows.append({"sim": s, "parameter": p, "true": true, "rank": int((d < true).sum()), "L": L,
                         "converged": bool(f.extra["convergence"]["converged"])})
    res = pd.DataFrame(rows)
    write_table_atomic(res, HERE / "sbc_results.csv", float_format="%.6g")
    bins = 10
    uni = []
    for p, g in res.groupby("parameter", sort=False):
        counts = np.bincount(np.minimum(g["rank"].to_numpy() * bins // (L + 1), bins - 1), minlength=bins)
        chi2, pv = stats.chisquare(counts)
        uni.append({"parameter": p, "chi2": chi2, "df": bins - 1, "p_value": pv, "n_sims": len(g)})
    uni = pd.DataFrame(uni)
    write_table_atomic(uni, HERE / "sbc_uniformity.csv", float_format="%.6g")
    print(uni.to_string(index=False))
    with journal_style():
        fig, axes = new_figure(DOUBLE_COLUMN_MM, 70, nrows=2, ncols=3)
        lo, hi = stats.binom.ppf([0.005, 0.995], n_sims, 1 / bins)
        for ax, (p, g) in zip(axes.ravel(), res.groupby("parameter", sort=False)):
            ax.axhspan(lo, hi, color="0.85", lw=0)
            ax.hist(g["rank"], bins=np.linspace(0, L + 1, bins + 1), color="#0072B2", edgecolor="white", lw=0.4)
            ax.set_title(p, loc="left")
            ax.set_xlabel("rank of the true value")
        axes[0, 0].set_ylabel("simulations")
        axes[1, 0].set_ylabel("simulations")
        save_figure(fig, HERE / "sbc_ranks")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
