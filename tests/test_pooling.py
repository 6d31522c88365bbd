"""Tests of irmodels.core.pooling, .stacking and .convergence: Rubin's rules against a hand-computed case, Barnard-Rubin df as in
``mice:::barnard.rubin`` (amices/mice, R/barnard.rubin.R), stacking of draws, and the
run-over-ensemble helper on real reconstructions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from irmodels.core.errors import ConvergenceError, ConvergenceWarning, SchemaError
from irmodels.core.convergence import replicate_diagnostics
from irmodels.core.pooling import barnard_rubin_df, pool, run_over_ensemble
from irmodels.core.stacking import pool_draws, summarise_draws
from irmodels.identification.reconstruction import reconstruct

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


def _ok_diag(reps):
    return pd.DataFrame({"replicate": list(reps), "r_hat": 1.002, "ess_bulk": 1500.0, "ess_tail": 1200.0,
                         "n_divergent": 0})


def test_pool_draws_and_law_of_total_variance():
    rng = np.random.default_rng(0)
    # replicate means 0 and 2, each posterior sd 1: mixture variance = 1 + 1 = 2
    d = pd.concat([pd.DataFrame({"replicate": r, "beta": rng.normal(mu, 1.0, 20000)}) for r, mu in [(0, 0.0), (1, 2.0)]])
    st = pool_draws(d, diagnostics=_ok_diag([0, 1]))
    assert len(st) == 40000
    # identity kept: no chain column given -> one chain per replicate, draws numbered within it
    assert st.groupby("replicate")["draw"].apply(list).tolist() == [list(range(20000))] * 2
    assert sorted(st["chain"].unique()) == [0, 1] and st["converged"].all()
    s = summarise_draws(st).set_index("term").loc["beta"]
    # Monte-Carlo tolerance: sd of a variance estimate with 20000 draws is ~0.01
    assert s["estimate"] == pytest.approx(1.0, abs=0.03)
    assert s["between_var"] == pytest.approx(1.0, abs=0.03)
    assert s["within_var"] == pytest.approx(1.0, abs=0.03)
    assert s["frac_var_reconstruction"] == pytest.approx(0.5, abs=0.02)
    assert s["std_error"] ** 2 == pytest.approx(s["within_var"] + s["between_var"], rel=1e-9)
    assert s["converged_share"] == 1.0
    with pytest.raises(SchemaError, match="same number"):
        pool_draws(d.iloc[:-1], diagnostics=_ok_diag([0, 1]))
    with pytest.raises(SchemaError, match="at least 2 replicates"):
        pool_draws(d[d.replicate == 0], diagnostics=_ok_diag([0]))


def _chains(rng, reps=(0, 1, 2), chains=4, draws=50):
    rows = []
    for r in reps:
        for c in range(chains):
            rows.append(pd.DataFrame({"replicate": r, "chain": c, "draw": np.arange(draws),
                                      "beta": rng.normal(r, 1.0, draws)}))
    return pd.concat(rows, ignore_index=True).sample(frac=1.0, random_state=1)  # shuffled rows


def test_pool_draws_keeps_chain_and_draw_identity():
    d = _chains(np.random.default_rng(1))
    st = pool_draws(d, diagnostics=_ok_diag([0, 1, 2]))
    # 3 replicates x 4 chains = 12 distinct chains in the stack, each with its own 50 draws
    assert st["chain"].nunique() == 12
    assert st.groupby("chain")["replicate"].nunique().eq(1).all()
    assert (st.groupby("chain")["draw"].apply(list) == pd.Series([list(range(50))] * 12)).all()
    assert set(map(tuple, st[["replicate", "chain_in_replicate"]].drop_duplicates().to_numpy())) == {
        (r, c) for r in range(3) for c in range(4)}
    # every original (replicate, chain, draw, value) row is still there, unchanged
    a = d.sort_values(["replicate", "chain", "draw"])[["replicate", "chain", "draw", "beta"]].to_numpy()
    b = st[["replicate", "chain_in_replicate", "draw", "beta"]].to_numpy()
    assert np.array_equal(a, b)
    with pytest.raises(SchemaError, match="appears twice"):
        pool_draws(pd.concat([d, d.iloc[:0]]).assign(draw=0), diagnostics=_ok_diag([0, 1, 2]))


def test_pool_draws_convergence_gate_refuses_or_flags():
    d = _chains(np.random.default_rng(2))
    diag = _ok_diag([0, 1, 2])
    diag.loc[1, "r_hat"] = 1.05  # replicate 1: R-hat too high
    diag.loc[2, "n_divergent"] = 3  # replicate 2: divergences
    with pytest.raises(ConvergenceError) as ei:
        pool_draws(d, diagnostics=diag)
    msg = str(ei.value)
    assert "2 of 3 replicates" in msg and "replicate 1: R-hat 1.050 > 1.01" in msg and "replicate 2: 3 divergent" in msg
    # convergence policy: a non-converged replicate never enters a pooled number
    diag.loc[2, "n_divergent"] = 0
    with pytest.warns(ConvergenceWarning, match="1 of 3 replicates failed.*excluded: 2 of 3 replicates pooled"):
        st = pool_draws(d, diagnostics=diag, on_fail="exclude")
    assert sorted(st["replicate"].unique()) == [0, 2] and st["converged"].all()
    assert st.attrs["n_failed"] == 1 and st.attrs["n_replicates"] == 3
    assert summarise_draws(st)["converged_share"].iloc[0] == 1.0
    diag.loc[2, "n_divergent"] = 3
    with pytest.raises(ConvergenceError, match="only 1 converged"):
        pool_draws(d, diagnostics=diag, on_fail="exclude")
    with pytest.raises(SchemaError, match="use 'exclude'"):
        pool_draws(d, diagnostics=diag, on_fail="warn")  # type: ignore[arg-type]
    # the boundaries of the gate: exactly 1.01 and exactly 400 pass; 399.9 fails
    edge = _ok_diag([0, 1, 2]).assign(r_hat=1.01, ess_bulk=400.0, ess_tail=400.0)
    assert pool_draws(d, diagnostics=edge)["converged"].all()
    edge.loc[0, "ess_tail"] = 399.9
    with pytest.raises(ConvergenceError, match="tail ESS 399.9 < 400"):
        pool_draws(d, diagnostics=edge)
    # per-parameter rows: the worst value of a replicate decides
    per_par = pd.concat([_ok_diag([0, 1, 2]), _ok_diag([0, 1, 2]).assign(ess_bulk=[900.0, 120.0, 900.0])])
    t = replicate_diagnostics(per_par).set_index("replicate")
    assert t.loc[1, "ess_bulk"] == 120.0 and not t.loc[1, "converged"] and t.loc[0, "converged"]


def test_pool_draws_diagnostics_required_or_loudly_missing():
    d = _chains(np.random.default_rng(3))
    with pytest.warns(ConvergenceWarning, match="NOT checked"):
        st = pool_draws(d)
    assert st["converged"].isna().all()
    assert np.isnan(summarise_draws(st)["converged_share"].iloc[0])
    with pytest.raises(SchemaError, match="no convergence diagnostics"):
        pool_draws(d, diagnostics=_ok_diag([0, 1]))
    with pytest.raises(SchemaError, match="required column is missing"):
        pool_draws(d, diagnostics=_ok_diag([0, 1, 2]).drop(columns="ess_tail"))
    with pytest.raises(SchemaError, match="on_fail"):
        pool_draws(d, diagnostics=_ok_diag([0, 1, 2]), on_fail="ignore")  # type: ignore[arg-type]


def test_pool_draws_with_datatrees():
    """Diagnostics computed from per-replicate DataTrees with ArviZ: a well-mixed fit passes; a
    fit whose chains sit at different values (R-hat >> 1.01) or that diverged fails."""
    import arviz as az
    import xarray as xr

    rng = np.random.default_rng(4)

    def tree(shift=0.0, ndiv=0):
        x = rng.normal(size=(4, 1000)) + shift * np.arange(4)[:, None]
        div = np.zeros((4, 1000), dtype=bool)
        div[0, :ndiv] = True
        return xr.DataTree.from_dict({"posterior": xr.Dataset({"beta": (("chain", "draw"), x)}),
                                      "sample_stats": xr.Dataset({"diverging": (("chain", "draw"), div)})})

    trees = {0: tree(), 1: tree(shift=1.0), 2: tree(ndiv=2)}
    t = replicate_diagnostics(trees).set_index("replicate")
    # reference: ArviZ on the same posterior
    assert t.loc[1, "r_hat"] == pytest.approx(float(az.rhat(trees[1]["posterior"].to_dataset())["beta"]), rel=1e-12)
    assert t["converged"].tolist() == [True, False, False]
    assert t.loc[1, "r_hat"] > 1.1 and t.loc[2, "n_divergent"] == 2
    draws = pd.concat([pd.DataFrame({"replicate": r, "chain": np.repeat(np.arange(4), 1000),
                                     "draw": np.tile(np.arange(1000), 4),
                                     "beta": trees[r]["posterior"]["beta"].values.ravel()}) for r in trees])
    with pytest.raises(ConvergenceError, match="replicate 1"):
        pool_draws(draws, diagnostics=trees)
    st = pool_draws(draws[draws.replicate != 1].assign(replicate=lambda x: x.replicate.replace({2: 1})),
                    diagnostics={0: trees[0], 1: trees[0]})
    assert st["converged"].all() and st["chain"].nunique() == 8
    no_div = xr.DataTree.from_dict({"posterior": trees[0]["posterior"].to_dataset()})
    with pytest.raises(SchemaError, match="divergences unknown"):
        replicate_diagnostics({0: no_div})


def test_pool_refuses_what_an_assumption_supplies():
    """Issue 9: Rubin's rules are for quantities the data inform, never for an assumption."""
    from irmodels.core.errors import IdentificationError

    t = hand_case().assign(identification="assumption")
    with pytest.raises(IdentificationError, match="not identified"):
        pool(t)
    assert pool(hand_case().assign(identification="identified"))["n_replicates"].iloc[0] == len(hand_case())


def test_fit_all_ensemble_refuses_2017_terms_before_fitting():
    import irmodels
    from irmodels.core.errors import IdentificationError

    ens = irmodels.reconstruct(2, seed=1)
    with pytest.raises(IdentificationError, match="beds_class"):
        irmodels.fit_all_ensemble(ens)


# --- complete-data degrees of freedom (issue 10: dfcom from n, not infinity) ---------------------

def test_pool_takes_dfcom_from_df_resid_by_default():
    # hand case (m = 5, lambda = 3/4): Barnard-Rubin with dfcom = 10 (see test above) vs Rubin's 64/9
    dfold, dfobs = 64 / 9, (11 / 13) * 10 * (1 - 0.75)
    br = dfold * dfobs / (dfold + dfobs)
    r = pool(hand_case().assign(df_resid=10)).iloc[0]
    assert r["dfcom"] == 10 and r["df"] == pytest.approx(br, abs=EXACT)
    assert r["lower"] == pytest.approx(3 - 2 * stats.t.ppf(0.975, br), abs=EXACT)
    assert "df_resid" not in pool(hand_case().assign(df_resid=10)).columns  # reported as dfcom
    # no df_resid column: infinite (Rubin 1987), and said so
    r0 = pool(hand_case()).iloc[0]
    assert r0["dfcom"] == np.inf and r0["df"] == pytest.approx(64 / 9, abs=EXACT)
    # explicit None keeps the large-sample df even when df_resid is there
    assert pool(hand_case().assign(df_resid=10), dfcom=None)["df"].iloc[0] == pytest.approx(64 / 9, abs=EXACT)
    # replicates with different n (rows dropped explicitly): the smallest df, conservative
    r2 = pool(hand_case().assign(df_resid=[12, 10, 11, 10, 14])).iloc[0]
    assert r2["dfcom"] == 10 and r2["df"] == pytest.approx(br, abs=EXACT)
    with pytest.raises(SchemaError, match="df_resid must be a number > 0"):
        pool(hand_case().assign(df_resid=[10, 0, 10, 10, 10]))


def test_pooled_firth_fits_carry_dfcom_n_minus_p():
    """Firth fits of five simulated 97-department waves stacked as replicates: pool() reads
    df_resid = n - p = 97 - 5 from the tidy tables and the Barnard-Rubin df stays below it."""
    from irmodels.models.fit import fit
    from irmodels.studies.simulate import simulate_wave

    parts = []
    for r in range(5):
        d = simulate_wave(97, seed=100 + r)
        d["cover_24_7"] = d["cover_24_7"].fillna(False).astype(bool)  # complete data: n = 97 in every replicate
        d["teaching"] = d["teaching"].fillna(False).astype(bool)
        t = fit("cover_24_7 ~ beds_class + teaching", d, family="bernoulli", engine="statsmodels", firth=True,
                ci_method="wald").tidy()
        parts.append(t.assign(replicate=r))
    stacked = pd.concat(parts, ignore_index=True)
    assert (stacked["df_resid"] == 92).all()
    out = pool(stacked, by=("term",))
    assert (out["dfcom"] == 92).all()
    expect = barnard_rubin_df(5, out["between_var"].to_numpy(), out["total_var"].to_numpy(), 92.0)
    np.testing.assert_allclose(out["df"], expect, rtol=1e-12)
    assert (out["df"] < 92).all()
    rubin = pool(stacked, by=("term",), dfcom=None)
    assert (out["df"] < rubin["df"]).all() and (out["upper"] - out["lower"] > rubin["upper"] - rubin["lower"]).all()


def test_pool_prevalence_dfcom_is_n_minus_1():
    from scipy.special import logit

    from irmodels.nonresponse.frame_prevalence import pool_prevalence

    t = pd.DataFrame({"replicate": [0, 1, 2], "scenario": "s", "term": "y", "group": "all",
                      "estimate": [0.60, 0.62, 0.58], "std_error": [0.05, 0.05, 0.05], "n": [97, 97, 96]})
    r = pool_prevalence(t).iloc[0]
    assert r["dfcom"] == 95  # n - 1 with the smallest n
    q = logit(t["estimate"])
    u = (t["std_error"] / (t["estimate"] * (1 - t["estimate"]))) ** 2
    B, T = q.var(ddof=1), u.mean() + (1 + 1 / 3) * q.var(ddof=1)
    assert r["df"] == pytest.approx(barnard_rubin_df(3, np.array([B]), np.array([T]), 95.0)[0], rel=1e-12)
    assert pool_prevalence(t, dfcom=None).iloc[0]["dfcom"] == np.inf
    assert pool_prevalence(t.drop(columns="n")).iloc[0]["dfcom"] == np.inf  # no n: said to be infinite
    assert pool_prevalence(t, dfcom=40).iloc[0]["dfcom"] == 40
