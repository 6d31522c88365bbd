"""Tests of irmodels.pooling: Rubin's rules against a hand-computed case, Barnard-Rubin df as in
``mice:::barnard.rubin`` (amices/mice, R/barnard.rubin.R), stacking of draws, and the
run-over-ensemble helper on real reconstructions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from irmodels.errors import SchemaError
from irmodels.pooling import barnard_rubin_df, pool, pool_draws, run_over_ensemble, summarise_draws
from irmodels.reconstruct import reconstruct

EXACT = 1e-12


def hand_case():
    # m = 5 estimates 1..5, each with squared se 1 (Rubin 1987, eqs. 3.1.2-3.1.6, by hand):
    # Qbar = 3, Ubar = 1, B = sum((q-3)^2)/4 = 10/4 = 2.5, T = 1 + (1 + 1/5) * 2.5 = 4,
    # lambda = 3/4, df_old = (m-1)/lambda^2 = 4/0.5625 = 64/9, riv = 3.
    return pd.DataFrame({"replicate": range(5), "term": "x", "estimate": [1.0, 2, 3, 4, 5], "std_error": 1.0,
                         "method": "glm", "spec_id": "s1"})


def test_rubin_hand_case():
    r = pool(hand_case()).iloc[0]
    assert r["estimate"] == 3.0
    assert r["within_var"] == 1.0
    assert r["between_var"] == pytest.approx(2.5, abs=EXACT)
    assert r["total_var"] == pytest.approx(4.0, abs=EXACT)
    assert r["std_error"] == pytest.approx(2.0, abs=EXACT)
    assert r["riv"] == pytest.approx(3.0, abs=EXACT)
    assert r["frac_var_reconstruction"] == pytest.approx(0.75, abs=EXACT)
    assert r["df"] == pytest.approx(64 / 9, abs=EXACT)
    tq = stats.t.ppf(0.975, 64 / 9)
    assert r["lower"] == pytest.approx(3 - 2 * tq, abs=EXACT)
    assert r["upper"] == pytest.approx(3 + 2 * tq, abs=EXACT)
    # fmi as in mice::pool: (riv + 2/(df + 3)) / (1 + riv)
    assert r["fmi"] == pytest.approx((3 + 2 / (64 / 9 + 3)) / 4, abs=EXACT)
    assert r["n_replicates"] == 5
    assert r["method"] == "glm" and r["spec_id"] == "s1"  # constant columns are carried


def test_barnard_rubin_small_sample_df():
    # dfcom = 10: df_obs = (11/13) * 10 * (1 - 0.75) = 27.5/13; df = df_old df_obs / (df_old + df_obs)
    dfold, dfobs = 64 / 9, 27.5 / 13
    r = pool(hand_case(), dfcom=10).iloc[0]
    assert r["df"] == pytest.approx(dfold * dfobs / (dfold + dfobs), abs=EXACT)
    # column form gives the same
    r2 = pool(hand_case().assign(df_resid=10), dfcom="df_resid").iloc[0]
    assert r2["df"] == pytest.approx(r["df"], abs=EXACT)
    # mice floors lambda at 1e-4: with B = 0, df_old = (m-1)/1e-8
    assert barnard_rubin_df(5, np.array([0.0]), np.array([1.0]))[0] == pytest.approx(4e8)


def test_zero_between_variance_means_no_reconstruction_share():
    t = pd.DataFrame({"replicate": range(4), "term": "a", "estimate": 0.5, "std_error": 0.1})
    r = pool(t).iloc[0]
    assert r["between_var"] == 0 and r["frac_var_reconstruction"] == 0
    assert r["std_error"] == pytest.approx(0.1)


def test_pool_by_several_columns_and_groups():
    a = hand_case()
    b = hand_case().assign(term="y", estimate=lambda d: d["estimate"] * 0 + 7)
    out = pool(pd.concat([a, b]), by=("spec_id", "term"))
    assert list(out["term"]) == ["x", "y"]
    assert out.loc[1, "between_var"] == 0


@pytest.mark.parametrize(
    "mutate,fragment",
    [
        (lambda d: d.drop(columns="std_error"), "required column is missing"),
        (lambda d: d.assign(estimate=[1, 2, np.nan, 4, 5]), "finite number"),
        (lambda d: d.assign(std_error=-1.0), "std_error must be >= 0"),
        (lambda d: d.assign(replicate=[0, 0, 1, 2, 3]), "appears twice"),
        (lambda d: d.iloc[:1], "at least 2 replicates"),
    ],
)
def test_pool_errors(mutate, fragment):
    with pytest.raises(SchemaError, match=fragment):
        pool(mutate(hand_case()))


def test_pool_refuses_groups_from_different_replicates():
    a = hand_case()
    b = hand_case().assign(term="y").iloc[:4]
    with pytest.raises(SchemaError, match="same replicates"):
        pool(pd.concat([a, b]))


def proportion_estimator(df: pd.DataFrame) -> pd.DataFrame:
    y = df["cover_24_7"].dropna().astype(float)
    p = y.mean()
    return pd.DataFrame({"term": ["p_24_7"], "estimate": [p], "std_error": [np.sqrt(p * (1 - p) / len(y))]})


def beds_estimator(df: pd.DataFrame) -> pd.DataFrame:
    d = df.dropna(subset=["cover_24_7"])
    big = d["beds_class"] == ">=800"
    y = d["cover_24_7"].astype(float)
    p1, p0 = y[big].mean(), y[~big].mean()
    se = np.sqrt(p1 * (1 - p1) / big.sum() + p0 * (1 - p0) / (~big).sum())
    return pd.DataFrame({"term": ["rd_beds"], "estimate": [p1 - p0], "std_error": [se]})


def test_run_over_ensemble_and_pool_on_reconstructions():
    ens = reconstruct(k=30, seed=4, assumptions="informed")
    tidy = run_over_ensemble(lambda d: pd.concat([proportion_estimator(d), beds_estimator(d)]), ens)
    assert list(tidy.columns[:2]) == ["replicate", "term"] and len(tidy) == 60
    out = pool(tidy).set_index("term")
    # the published margin is identical in every replicate: 60/97, no reconstruction variance
    assert out.loc["p_24_7", "estimate"] == pytest.approx(60 / 97, abs=EXACT)
    assert out.loc["p_24_7", "frac_var_reconstruction"] == 0
    # the unpublished association varies across replicates
    assert out.loc["rd_beds", "between_var"] > 0
    assert 0 < out.loc["rd_beds", "frac_var_reconstruction"] < 1


def test_run_over_ensemble_errors_name_the_replicate():
    ens = reconstruct(k=2, seed=1, check=False)

    def boom(d):
        raise ValueError("bad")

    with pytest.raises(ValueError) as ei:
        run_over_ensemble(boom, ens)
    assert any("replicate 0" in n for n in ei.value.__notes__)
    with pytest.raises(SchemaError, match="must return a DataFrame"):
        run_over_ensemble(lambda d: 1.0, ens)  # type: ignore[arg-type,return-value]
    with pytest.raises(SchemaError, match="no replicate column"):
        run_over_ensemble(proportion_estimator, ens.drop(columns="replicate"))


def test_pool_draws_and_law_of_total_variance():
    rng = np.random.default_rng(0)
    # replicate means 0 and 2, each posterior sd 1: mixture variance = 1 + 1 = 2
    d = pd.concat([pd.DataFrame({"replicate": r, "beta": rng.normal(mu, 1.0, 20000)}) for r, mu in [(0, 0.0), (1, 2.0)]])
    st = pool_draws(d)
    assert len(st) == 40000 and st["draw"].tolist() == list(range(40000))
    s = summarise_draws(st).set_index("term").loc["beta"]
    # Monte-Carlo tolerance: sd of a variance estimate with 20000 draws is ~0.01
    assert s["estimate"] == pytest.approx(1.0, abs=0.03)
    assert s["between_var"] == pytest.approx(1.0, abs=0.03)
    assert s["within_var"] == pytest.approx(1.0, abs=0.03)
    assert s["frac_var_reconstruction"] == pytest.approx(0.5, abs=0.02)
    assert s["std_error"] ** 2 == pytest.approx(s["within_var"] + s["between_var"], rel=1e-9)
    with pytest.raises(SchemaError, match="same number"):
        pool_draws(d.iloc[:-1])
    with pytest.raises(SchemaError, match="at least 2 replicates"):
        pool_draws(d[d.replicate == 0])
