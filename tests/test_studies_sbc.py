"""SBC and coverage studies (issue 10 item 5): the fast configuration and the ECDF test.

What is compared with what:

* the rank ECDF band (:func:`irmodels.studies.sbc_ecdf.ecdf_band`, Säilynoja et al. 2022) against
  known cases: exactly uniform and simulated uniform ranks pass, ranks piled at 0 or in the
  middle fail, and the band's simultaneous coverage of uniform ranks is 95% within Monte Carlo
  error; the band and the p-value agree;
* the fast SBC configuration (a handful of simulations per family, 2 chains x 100 draws,
  ``L = 19``, ``scheduler="synchronous"``) through the study runner: ranks in ``0..L``, one row per
  parameter, the failure count, and bit-identical results for the same seed;
* the 2017-like design against the 2017 published margins;
* the coverage tasks: one row per method x quantity with its truth.

The full-scale studies (1000 simulations per family, ``validation/run_studies.py``) are marked
``slow`` (``make validate``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from irmodels.core.errors import IrmodelsError
from irmodels.studies import coverage, sbc, sbc_ecdf, sbc_simulate
from irmodels.studies.runner import run_study

FAST = sbc.FAST_FIT_SETTINGS


# --------------------------------------------------------------------------- ECDF test


def test_exactly_uniform_ranks_pass():
    L = 19
    ranks = np.repeat(np.arange(L + 1), 10)  # every rank equally often: the ECDF is the diagonal
    t = sbc_ecdf.ecdf_test(ranks, L)
    assert t["passed"] and t["max_abs_diff"] < 1e-12 and t["n_outside"] == 0


def test_simulated_uniform_ranks_pass_and_piled_ranks_fail():
    rng = np.random.default_rng(11)
    L, N = 99, 1000
    uniform = rng.integers(0, L + 1, N)
    assert sbc_ecdf.ecdf_test(uniform, L)["passed"]
    piled_at_zero = np.r_[np.zeros(100, dtype=np.int64), rng.integers(0, L + 1, N - 100)]
    t = sbc_ecdf.ecdf_test(piled_at_zero, L)
    assert not t["passed"] and t["p_value"] < 0.05 and t["z_max_diff"] < 0.3
    # an overdispersed posterior (too wide): ranks piled in the middle
    middle = np.clip(np.round(rng.normal(L / 2, L / 8, N)), 0, L).astype(np.int64)
    assert not sbc_ecdf.ecdf_test(middle, L)["passed"]


@pytest.mark.parametrize("N,L", [(50, 19), (200, 19), (1000, 99)])
def test_band_has_its_simultaneous_coverage(N, L):
    rng = np.random.default_rng(N + L)
    M = 2000
    band = sbc_ecdf.ecdf_band(N, L)
    ranks = rng.integers(0, L + 1, size=(M, N))
    cum = np.stack([np.cumsum(np.bincount(r, minlength=L + 1))[:L] for r in ranks])
    diff = cum / N - band["z"].to_numpy()
    inside = ((diff >= band["lower"].to_numpy() - 1e-12) & (diff <= band["upper"].to_numpy() + 1e-12)).all(axis=1)
    # the simultaneous band, not the pointwise one (which would cover far less often)
    assert abs(inside.mean() - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / M)
    # the test, the band and the p-value say the same thing
    for r, ok in zip(ranks[:30], inside[:30]):
        t = sbc_ecdf.ecdf_test(r, L)
        assert t["passed"] == bool(ok) == (t["p_value"] >= 0.05)


def test_gamma_between_bonferroni_and_pointwise():
    g = sbc_ecdf.adjust_gamma(1000, 99)
    assert 0.05 / 99 < g < 0.05
    band = sbc_ecdf.ecdf_band(1000, 99)
    assert (band["lower"] < 0).all() and (band["upper"] > 0).all()
    assert sbc_ecdf.adjust_gamma(1000, 99) == g  # fixed seed: the same band every time


def test_ecdf_test_rejects_bad_ranks():
    with pytest.raises(IrmodelsError, match="0..19"):
        sbc_ecdf.ecdf_test(np.array([0, 20]), 19)
    with pytest.raises(IrmodelsError, match="no ranks"):
        sbc_ecdf.ecdf_test(np.array([], dtype=np.int64), 19)


def test_thinned_rank():
    draws = np.arange(100.0).reshape(2, 50)
    assert sbc.thinned_rank(draws, -1.0, 10) == 0
    assert sbc.thinned_rank(draws, 1e9, 10) == 10
    assert 0 < sbc.thinned_rank(draws, 50.0, 10) < 10


# --------------------------------------------------------------------------- design


def test_design_has_2017_margins():
    from irmodels.data.waves.esr_cirse_2017 import published_margins

    d = sbc_simulate.design_2017(np.random.default_rng(1))
    m = published_margins()
    assert len(d) == 98 and d["country"].nunique() == 24
    sizes = d["country"].value_counts()
    assert sizes.min() == 1 and sizes.max() == 15
    for var in ("country", "beds_class", "chair_profile"):
        pub = m[m["variable"] == var].set_index("category")["count"].astype(int).to_dict()
        assert d[var].astype(str).value_counts().to_dict() == pub
    assert int(d["teaching"].sum()) == int(m[(m.variable == "teaching") & (m.category == "true")]["count"].iloc[0])


@pytest.mark.parametrize("family", list(sbc_simulate.FAMILIES))
def test_simulated_truth_names(family):
    data, truth, args = sbc.simulate_family(family, np.random.default_rng(3))
    assert "sd(country)" in truth and "a[DE]" in truth and "a[RU]" in truth
    assert ("b[Intercept]" in truth) == (family != "ordinal")
    assert {"ordinal": "threshold[0|1-25]", "beta_binomial": "phi", "share": "sd_department"}.get(family, "sd(country)") in truth
    assert len(data) == 98
    # the family's likelihood kind, which keys the package's default MCMC settings (TARGET_ACCEPT)
    from irmodels.models.fit import fit

    f = fit(args["formula"], data, family=args["family"], engine="pymc", group=args["group"], seed=1,
            _defer_sampling=True, collapse=False, **args["options"])
    assert f.extra["prepared"].kind == sbc_simulate.FAMILY_KIND[family]


# --------------------------------------------------------------------------- fast configuration


@pytest.fixture(scope="module")
def fast_logit(tmp_path_factory):
    out = tmp_path_factory.mktemp("sbc") / "logit"
    return run_study(sbc.sbc_task, 4, seed=7, out_dir=out, params={"family": "logit", "settings": FAST},
                     scheduler="synchronous", batch_size=1, progress=False), out


def test_fast_sbc_ranks_and_rows(fast_logit):
    res, _ = fast_logit
    r = res.results
    assert res.n_failed == 0 and res.complete
    L = FAST["L"]
    assert r["rank"].between(0, L).all() and (r["L"] == L).all()
    n_par = r.groupby("task_id")["parameter"].nunique()
    assert (n_par == 11).all()  # 8 coefficients, sd(country), a[DE], a[RU]
    summ = sbc_ecdf.summarise_sbc(r, res.failures.assign(family="logit"))
    assert set(summ.columns) >= {"family", "parameter", "n_sims", "n_failed", "ecdf_pass", "max_abs_ecdf_diff",
                                 "band_half_width"}
    assert (summ["n_sims"] == 4).all()
    assert (summ["n_used"] + summ["n_failed"] == summ["n_sims"]).all()


def test_fast_sbc_seeds_reproduce(fast_logit, tmp_path):
    res, _ = fast_logit
    again = run_study(sbc.sbc_task, 2, seed=7, out_dir=tmp_path / "again",
                      params={"family": "logit", "settings": FAST}, scheduler="synchronous", batch_size=1,
                      progress=False)
    cols = ["task_id", "parameter", "true", "rank", "post_mean", "mcmc_seed"]
    first = res.results[res.results["task_id"] < 2][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, again.results[cols])


@pytest.mark.parametrize("family", ["ordinal", "beta_binomial", "share"])
def test_fast_sbc_other_families(family, tmp_path):
    # the share model's class likelihood grows with the IR team sizes (pairs (n, k) per class): teams
    # of 1-3 keep the fast test short (the full study has 1-10)
    design = {"n_ir_max": 3} if family == "share" else None
    res = run_study(sbc.sbc_task, 1, seed=8, out_dir=tmp_path / family,
                    params={"family": family, "settings": FAST, "design": design},
                    scheduler="synchronous", batch_size=1, progress=False)
    assert res.n_failed == 0
    r = res.results
    assert r["rank"].between(0, FAST["L"]).all()
    assert set(r["family"]) == {family}


def test_failures_are_counted_and_excluded():
    rng = np.random.default_rng(0)
    rows = []
    for t in range(40):
        conv = t % 4 != 0  # 10 non-converged fits
        for p in ("b[x]", "sd"):
            rows.append({"task_id": t, "family": "f", "parameter": p, "rank": int(rng.integers(0, 20)), "L": 19,
                         "converged": conv, "fit_seconds": 1.0, "ess_bulk_min": 500.0, "r_hat_max": 1.0,
                         "n_divergent": 0 if conv else 3})
    results = pd.DataFrame(rows)
    failures = pd.DataFrame({"task_id": [40, 41], "family": ["f", "f"], "error_type": "E", "message": "m",
                             "traceback": ""})
    s = sbc_ecdf.summarise_sbc(results, failures)
    assert (s["n_sims"] == 42).all() and (s["n_failed"] == 12).all() and (s["n_used"] == 30).all()
    assert (s["n_nonconverged"] == 10).all() and (s["n_error"] == 2).all()
    fr = sbc_ecdf.failure_rates(results, failures).iloc[0]
    assert fr["n_sims"] == 42 and fr["n_failed"] == 12 and fr["failure_rate"] == pytest.approx(12 / 42)


def test_task_errors_are_recorded_by_the_runner(tmp_path):
    with pytest.warns(Warning):
        res = run_study(sbc.sbc_task, 2, seed=1, out_dir=tmp_path / "bad", params={"family": "nonexistent"},
                        scheduler="synchronous", progress=False)
    assert res.n_failed == 2 and "valid families" in res.failures["message"].iloc[0]


# --------------------------------------------------------------------------- coverage


@pytest.fixture(scope="module")
def cov_settings():
    return coverage.default_settings()


def test_coverage_settings(cov_settings):
    assert set(cov_settings) == {f"{m}_n{n}" for m in ("firth", "ordinal", "survey") for n in (98, 500)}
    th = {k: v for k, v in cov_settings["ordinal_n98"]["truth"].items() if k.startswith("threshold")}
    assert len(th) == 2 and np.all(np.isfinite(list(th.values())))
    assert 0 < cov_settings["survey_n98"]["prevalence"] < 1
    assert coverage.allocate(98, {"a": 0.5, "b": 0.3, "c": 0.2}) == {"a": 49, "b": 29, "c": 20}


@pytest.mark.parametrize("name", ["firth_n98", "ordinal_n98", "survey_n98"])
def test_coverage_task_rows(cov_settings, name, tmp_path):
    p = {**cov_settings[name], **({"n_boot": 20} if name.startswith("survey") else {})}
    res = run_study(coverage.coverage_task, 3, seed=2, out_dir=tmp_path / name, params=p, scheduler="synchronous",
                    progress=False)
    r = res.results
    assert res.n_failed == 0
    assert set(r.columns) >= {"method", "n", "quantity", "truth", "lower", "upper", "ok", "covers"}
    assert (r.loc[r["covers"], "ok"]).all()
    s = coverage.summarise_coverage(r, res.failures)
    assert (s["n_sims"] == 3).all()
    assert set(s.columns) >= {"method", "n", "quantity", "n_sims", "coverage", "mc_se", "within_mc_error",
                              "median_bias", "robust_sd", "median_se", "se_ratio"}


def test_coverage_summary_spread_columns_match_simulation_truth():
    """Wald intervals with SEs a known fraction of the estimates' SD: se_ratio, SDs and bias recovered.

    Estimates ~ N(truth + 0.3, 0.5^2) (4000 draws), intervals estimate +- z * 0.4: the SE ratio is
    0.4 / 0.5 = 0.8 and the coverage P(|N(0.3, 0.5^2)| <= z 0.4) (closed form); the prevalence
    rows carry the same law on the logit scale; Firth (profile intervals) gets no implied SE.
    """
    from scipy import stats

    rng = np.random.default_rng(7)
    z = stats.norm.ppf(0.975)
    m = 4000
    est = 0.5 + 0.3 + 0.5 * rng.standard_normal(m)
    lo, hi = est - z * 0.4, est + z * 0.4
    base = {"task_id": np.arange(m), "n": 98, "ok": True, "error": ""}
    rows = [pd.DataFrame({**base, "method": "svyglm", "quantity": "b", "truth": 0.5, "estimate": est,
                          "lower": lo, "upper": hi}),
            pd.DataFrame({**base, "method": "prevalence_linearization", "quantity": "prevalence",
                          "truth": expit(0.5), "estimate": expit(est), "lower": expit(lo), "upper": expit(hi)}),
            pd.DataFrame({**base, "method": "firth", "quantity": "b", "truth": 0.5, "estimate": est,
                          "lower": lo, "upper": hi})]
    r = pd.concat(rows, ignore_index=True)
    r["covers"] = (r["lower"] <= r["truth"]) & (r["truth"] <= r["upper"])
    s = coverage.summarise_coverage(r).set_index("method")
    cov = stats.norm.cdf((z * 0.4 - 0.3) / 0.5) - stats.norm.cdf((-z * 0.4 - 0.3) / 0.5)
    for meth in ("svyglm", "prevalence_linearization"):
        row = s.loc[meth]
        assert row["median_se"] == pytest.approx(0.4, rel=1e-9)
        assert row["empirical_sd"] == pytest.approx(0.5, abs=3 * 0.5 / np.sqrt(2 * m))
        assert row["robust_sd"] == pytest.approx(0.5, abs=4 * 0.5 * 1.17 / np.sqrt(2 * m))
        assert row["se_ratio"] == pytest.approx(0.8, abs=0.03)
        assert row["median_bias"] == pytest.approx(0.3, abs=4 * 1.2533 * 0.5 / np.sqrt(m))
        assert row["coverage"] == pytest.approx(cov, abs=4 * np.sqrt(cov * (1 - cov) / m))
    assert s.loc["prevalence_linearization", "scale"] == "logit of prevalence"
    assert np.isnan(s.loc["firth", "se_ratio"]) and np.isnan(s.loc["firth", "median_se"])


# --------------------------------------------------------------------------- full scale


@pytest.mark.slow
@pytest.mark.parametrize("family", list(sbc_simulate.FAMILIES))
def test_full_scale_sbc(family, tmp_path):
    """1000 simulations at the package's MCMC defaults on a LocalCluster (hours for ``share``)."""
    res = run_study(sbc.sbc_task, 1000, seed=20180410, out_dir=tmp_path / family, params={"family": family},
                    batch_size=1, progress=False)
    summ = sbc_ecdf.summarise_sbc(res.results, res.failures.assign(family=family))
    assert summ["ecdf_pass"].all(), summ[~summ["ecdf_pass"]]


def test_p_value_with_every_fit_included():
    """Excluding non-converged fits can hide a problem: ranks piled at 0 among them show in p_value_all_fits."""
    rng = np.random.default_rng(5)
    rows = []
    for t in range(200):
        conv = t % 5 != 0  # 40 non-converged fits, all with the true value below every draw
        rows.append({"task_id": t, "family": "f", "parameter": "b[x]", "L": 19, "converged": conv,
                     "rank": int(rng.integers(0, 20)) if conv else 0})
    s = sbc_ecdf.summarise_sbc(pd.DataFrame(rows)).iloc[0]
    assert s["n_used"] == 160 and s["p_value"] > 0.05
    assert s["p_value_all_fits"] < 0.001
    only_converged = sbc_ecdf.summarise_sbc(pd.DataFrame(rows).assign(converged=True).query("task_id % 5 != 0"))
    assert only_converged["p_value_all_fits"].iloc[0] == only_converged["p_value"].iloc[0]  # nothing excluded
