"""Tests of irmodels.nonresponse.sensitivity, .manski and .representativeness.

References: closed forms (Manski bounds with the 2017 counts 60/97 and frame size
1180; the delta-adjusted estimate with a constant model and equal weights has an
explicit tipping point), the definition of the R-indicator (Schouten et al. 2009)
and a Monte Carlo check of its standard error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from irmodels.core.errors import WeightingError
from irmodels.nonresponse.manski import manski_bounds
from irmodels.nonresponse.representativeness import r_indicator
from irmodels.nonresponse.sensitivity import tipping_point
from irmodels.nonresponse.weighting import weight

N_FRAME, N_RESP = 1180, 98  # paper: 1180 invitations, 98 respondents


def _wave(n_yes=60, n_no=37, n_na=1):
    y = [True] * n_yes + [False] * n_no + [None] * n_na
    beds = np.resize(["<200", "200-399", "400-799", ">=800"], len(y))  # both outcomes in every class
    return pd.DataFrame({"cover_24_7": pd.array(y, dtype="boolean"), "beds_class": beds})


def test_manski_bounds_2017_counts():
    b = manski_bounds(n_positive=60, n_answered=97, frame_size=N_FRAME).iloc[0]
    assert b["lower"] == pytest.approx(60 / 1180, rel=1e-15)
    assert b["upper"] == pytest.approx((60 + 1180 - 97) / 1180, rel=1e-15)
    assert b["width"] == pytest.approx(1 - 97 / 1180, rel=1e-12)
    assert b["identification"] == "bounded"
    from_data = manski_bounds(_wave(), "cover_24_7", frame_size=N_FRAME).iloc[0]
    assert from_data["lower"] == b["lower"] and from_data["upper"] == b["upper"]
    with pytest.raises(WeightingError, match="n_positive"):
        manski_bounds(n_positive=98, n_answered=97, frame_size=N_FRAME)


def test_tipping_point_closed_form_equal_weights():
    d = _wave()
    tp = tipping_point(d, "cover_24_7", np.ones(len(d)), threshold=0.5, frame_size=N_FRAME)
    ybar, n = 60 / 97, 97
    # delta = 0: respondents' answers + non-respondents at the respondent rate -> ybar
    assert tp.estimate_mar == pytest.approx(ybar, rel=1e-9)
    # theta(delta) = (n*ybar + (N-n) expit(logit ybar + delta)) / N  =>  explicit root
    expected = logit((N_FRAME * 0.5 - 60) / (N_FRAME - n)) - logit(ybar)
    assert tp.delta_star == pytest.approx(expected, abs=1e-8)
    assert tp.odds_ratio_star == pytest.approx(np.exp(expected), rel=1e-8)
    c = tp.curve
    assert np.all(np.diff(c["estimate"]) > 0)  # monotone in delta
    row = c.loc[c["delta"].sub(-1.0).abs().idxmin()]
    assert row["estimate"] == pytest.approx((60 + (N_FRAME - n) * expit(logit(ybar) - 1.0)) / N_FRAME, rel=1e-12)
    assert (c["lower"] <= c["estimate"]).all() and (c["estimate"] <= c["upper"]).all()
    # the upper limit reaches the threshold at a less extreme delta than the estimate
    assert tp.delta_star_upper < tp.delta_star < 0
    assert set(c["identification"]) == {"assumption"}
    assert any("1 item non-response" in s for s in tp.notes)


def test_tipping_point_with_model_and_weights():
    d = _wave()
    w = np.where(d["beds_class"] == "<200", 40.0, 10.0)
    tp = tipping_point(d, "cover_24_7", w, model="C(beds_class)", threshold=0.4, frame_size=N_FRAME)
    th_star = tp.curve.set_index("delta")["estimate"]
    assert th_star.is_monotonic_increasing
    # at delta* the estimate equals the threshold (re-evaluate on a 1-point grid)
    again = tipping_point(d, "cover_24_7", w, model="C(beds_class)", threshold=0.4, frame_size=N_FRAME, deltas=[tp.delta_star])
    assert again.curve.loc[0, "estimate"] == pytest.approx(0.4, abs=1e-9)
    with pytest.raises(WeightingError, match="threshold"):
        tipping_point(d, "cover_24_7", w, threshold=1.5)


def test_r_indicator_definition():
    assert r_indicator(np.full(10, 0.1))[0] == pytest.approx(1.0)
    rho = np.array([0.05, 0.15])
    d = np.array([600.0, 580.0])
    N = d.sum()
    mean = (d * rho).sum() / N
    S = np.sqrt((d * (rho - mean) ** 2).sum() / (N - 1))
    assert r_indicator(rho, d)[0] == pytest.approx(1 - 2 * S, rel=1e-12)


def test_r_indicator_se_monte_carlo():
    """SE without a model: sampling SE of S for i.i.d. propensities (checked by simulation)."""
    rng = np.random.default_rng(5)
    n = 400
    Rs = [r_indicator(rng.beta(2, 18, n))[0] for _ in range(2000)]
    se_formula = np.mean([r_indicator(rng.beta(2, 18, n))[1] for _ in range(200)])
    assert se_formula == pytest.approx(np.std(Rs, ddof=1), rel=0.1)


def test_r_indicator_from_propensity_weighting():
    d = pd.DataFrame({"beds_class": ["a"] * 2 + ["b"] * 5 + ["c"] * 3})
    frame = pd.DataFrame({"beds_class": ["a", "b", "c"], "N": [40.0, 50.0, 30.0]})
    res = weight(d, "propensity", frame=frame)
    R, se = r_indicator(res)
    rho = np.array([2 / 40, 5 / 50, 3 / 30])
    assert R == pytest.approx(r_indicator(rho, [40, 50, 30])[0], rel=1e-6)
    assert 0 < se < 1
    with pytest.raises(WeightingError, match="not a propensity weighting"):
        r_indicator(weight(d, "base"))


def test_tipping_from_curve_and_figure(tmp_path):
    from irmodels.figures.style import save_figure
    from irmodels.figures.weighting import plot_tipping_point
    from irmodels.nonresponse.sensitivity import tipping_from_curve

    d = _wave()
    tp = tipping_point(d, "cover_24_7", np.ones(len(d)), frame_size=N_FRAME)
    t = tipping_from_curve(tp.curve, 0.5)
    assert t["delta_star"] == pytest.approx(tp.delta_star, abs=2e-3)  # linear interpolation on a 0.05 grid
    assert t["delta_star_upper"] == pytest.approx(tp.delta_star_upper, abs=2e-3)
    assert tipping_from_curve(tp.curve, 0.99)["delta_star"] is None
    paths = [save_figure(plot_tipping_point({"x": tp}, manski=(0.05, 0.97), respondent_share=60 / 97), tmp_path / n) for n in ("a", "b")]
    assert paths[0][0].read_bytes() == paths[1][0].read_bytes()


def test_tipping_point_at_zero_is_the_weighted_estimate():
    """Default (aggregate) delta: theta(0) and its SE are weighted_prevalence's (R-validated)."""
    import warnings

    from irmodels.core.errors import DataDroppedWarning
    from irmodels.nonresponse.survey import weighted_prevalence

    d = _wave()
    margins = {"beds_class": {"<200": 500.0, "200-399": 300.0, "400-799": 230.0, ">=800": 150.0}}
    res = weight(d, "rake", margins=margins)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        wp = weighted_prevalence(d, "cover_24_7", res, missing="exclude").iloc[0]
    tp = tipping_point(d, "cover_24_7", res, frame_size=N_FRAME, deltas=[0.0])
    assert tp.estimate_mar == pytest.approx(wp["estimate"], rel=1e-12)
    assert tp.curve.loc[0, "std_error"] == pytest.approx(wp["std_error"], rel=1e-12)
    with pytest.raises(WeightingError, match="outside"):
        tipping_point(d, "cover_24_7", res, frame_size=97.5)


def test_r_indicator_refuses_propensity_above_one():
    """rho > 1 (frame cell with fewer units than respondents): R is not defined. Default
    raises; on_invalid='nan' returns NaN with a PropensityAboveOneWarning."""
    from irmodels.nonresponse.weighting_methods import PropensityAboveOneWarning

    with pytest.raises(WeightingError, match=r"1 of 3 frame cells have response propensity > 1 \(max 1.5\)"):
        r_indicator(np.array([0.1, 0.2, 1.5]), [10, 10, 2])
    with pytest.warns(PropensityAboveOneWarning, match="R reported as NaN"):
        R, se = r_indicator(np.array([0.1, 0.2, 1.5]), [10, 10, 2], on_invalid="nan")
    assert np.isnan(R) and np.isnan(se)
    d = pd.DataFrame({"beds_class": ["a"] * 5 + ["b"] * 5})
    with pytest.warns(PropensityAboveOneWarning):
        res = weight(d, "propensity", frame=pd.DataFrame({"beds_class": ["a", "b"], "N": [2.0, 100.0]}))
    with pytest.raises(WeightingError, match="propensity > 1"):
        r_indicator(res)
    with pytest.raises(WeightingError, match="on_invalid"):
        r_indicator(np.array([0.1, 0.2]), on_invalid="ignore")


def test_r_indicator_interval_stays_in_unit_interval():
    from scipy import stats

    from irmodels.nonresponse.representativeness import r_indicator_ci

    z = stats.norm.ppf(0.975)
    assert r_indicator_ci(0.8, 0.05) == pytest.approx((0.8 - z * 0.05, 0.8 + z * 0.05), rel=1e-12)
    assert r_indicator_ci(0.06, 0.099) == pytest.approx((0.0, 0.06 + z * 0.099), rel=1e-12)  # was -0.133 before the clip
    assert r_indicator_ci(1.0 - 1e-16, 4.6e-8) == (pytest.approx(1 - z * 4.6e-8, rel=1e-12), 1.0)
    t = stats.t.ppf(0.975, 10)
    assert r_indicator_ci(0.5, 0.1, df=10) == pytest.approx((0.5 - t * 0.1, 0.5 + t * 0.1), rel=1e-12)
    assert all(np.isnan(r_indicator_ci(float("nan"), float("nan"))))


def test_tipping_point_figure_says_what_is_assumed():
    """Subtitle built from the arguments; legend explains band, MAR line, threshold and dots."""
    from matplotlib.text import Text

    from irmodels.figures.style import SINGLE_COLUMN_MM
    from irmodels.figures.weighting import plot_tipping_point

    d = _wave()
    tp = tipping_point(d, "cover_24_7", np.ones(len(d)), frame_size=N_FRAME)
    src = "2017: reconstruction ensemble (assumption set 'informed', k=100, pooled)"
    fig = plot_tipping_point({"radiologists": tp}, manski=(0.05, 0.97), respondent_share=60 / 97, source=src,
                             frame_identification="assumption", identification="assumption")
    texts = [t.get_text().replace("\n", " ") for t in fig.findobj(Text)]
    assert f"{src}; frame scenario = assumption; identification: assumption" in texts
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    for label in ("95% interval (shaded)", "OR = 1: missing at random (MAR)",
                  "tipping point (estimate = threshold)", "threshold (50%)", "worst-case (Manski) bounds",
                  "∝ radiologists", "respondents, unweighted (61.9%)"):
        assert label in legend, label
    assert fig.get_size_inches()[0] * 25.4 == pytest.approx(SINGLE_COLUMN_MM)
    # nothing is typed in when the caller gives no provenance
    bare = plot_tipping_point({"x": tp})
    assert not any("identification:" in t.get_text() for t in bare.findobj(Text))


# --- representativeness: R with CV, maximal bias and the mechanical bound (issue 10, item 3) ---
#
# References: hand computation on a two-cell frame (propensities known exactly; with one
# factor the stacked propensity model is saturated, so rho_hat = n/N and the finite-frame
# variance is binomial: Var(rho_hat_c) = rho_c (1 - rho_c) / N_c, i.e. var(log rho_hat_c) =
# 1/n_c - 1/N_c); the algebraic identities of Schouten, Cobben & Bethlehem (2009); and a
# Monte Carlo simulation from a known 4 x 4 frame (1180 units, response rate ~ 10%, like
# 2017) for the variance and the Shlomo, Skinner & Schouten (2012) bias correction.

TWO_N = np.array([600.0, 580.0])
TWO_RHO = np.array([0.05, 0.15])


def _two_cell_hand():
    N1, N2 = TWO_N
    r1, r2 = TWO_RHO
    N = N1 + N2
    rbar = (N1 * r1 + N2 * r2) / N  # 117 / 1180
    k = N1 * N2 / (N * (N - 1))  # S^2 = k (r1 - r2)^2 for two cells
    s2 = k * (r1 - r2) ** 2
    sig2 = r1 * (1 - r1) / N1 + r2 * (1 - r2) / N2  # Var(rho1_hat - rho2_hat), binomial
    return dict(N=N, rbar=rbar, k=k, s2=s2, sig2=sig2, delta=r1 - r2)


def test_representativeness_two_cells_by_hand():
    from irmodels.nonresponse.representativeness import representativeness

    h = _two_cell_hand()
    t = representativeness(TWO_RHO, TWO_N).set_index("term")["estimate"]
    S = np.sqrt(h["s2"])
    assert h["rbar"] == pytest.approx(117 / 1180, rel=1e-15)
    assert t["response_rate"] == pytest.approx(117 / 1180, rel=1e-12)
    assert t["R_indicator"] == pytest.approx(1 - 2 * S, rel=1e-12)
    assert t["R_indicator"] == pytest.approx(0.899972, abs=1e-6)  # S = sqrt(600*580/(1180*1179) * 0.1^2) = 0.0500140
    assert t["CV"] == pytest.approx(S / h["rbar"], rel=1e-12)
    assert t["CV"] == pytest.approx(0.504415, abs=1e-6)
    assert t["max_abs_bias"] == pytest.approx((1 - t["R_indicator"]) / (2 * h["rbar"]), rel=1e-12)
    assert t["mechanical_bound"] == pytest.approx(1 - 2 * np.sqrt(117 / 1180 * (1 - 117 / 1180)), rel=1e-12)
    assert t["mechanical_bound"] == pytest.approx(0.402267, abs=1e-6)
    # without a model the propensities are taken as known: no bias correction
    assert t["R_indicator_bias_corrected"] == t["R_indicator"]


def test_representativeness_saturated_model_variance_by_hand():
    """Through weight(..., 'propensity'): SEs and bias correction equal the binomial hand values.

    The response rate's SE is sqrt(sum N_c rho_c (1 - rho_c)) / N: the finite-frame factor
    1/n - 1/N. The stacked GLM's own covariance (1/n + 1/N) would give sum N_c rho_c (1 + rho_c).
    """
    from irmodels.nonresponse.representativeness import representativeness

    h = _two_cell_hand()
    n = (TWO_N * TWO_RHO).astype(int)  # 30 and 87 respondents
    d = pd.DataFrame({"cell": ["a"] * n[0] + ["b"] * n[1]})
    frame = pd.DataFrame({"cell": ["a", "b"], "N": TWO_N})
    res = weight(d, "propensity", frame=frame)
    np.testing.assert_allclose(res.diagnostics["frame_propensity"]["propensity"], TWO_RHO, rtol=1e-8)
    t = representativeness(res).set_index("term")
    se_rate = np.sqrt((TWO_N * TWO_RHO * (1 - TWO_RHO)).sum()) / h["N"]
    assert t.loc["response_rate", "std_error"] == pytest.approx(se_rate, rel=1e-6)
    se_stacked = np.sqrt((TWO_N * TWO_RHO * (1 + TWO_RHO)).sum()) / h["N"]
    assert se_stacked / se_rate > 1.1  # what 1/n + 1/N would have reported
    # mechanical bound: delta method on rho_bar
    rb = h["rbar"]
    assert t.loc["mechanical_bound", "std_error"] == pytest.approx(abs(1 - 2 * rb) / np.sqrt(rb * (1 - rb)) * se_rate, rel=1e-6)
    # S^2 = k D^2 with D = rho1 - rho2, Var(D_hat) = sig2: Var(S^2) = k^2 (4 D^2 sig2 + 2 sig2^2)
    # (first- and second-order terms), Var(R) = Var(S^2) / S^2; bias of S^2 = k sig2
    k, D, sig2 = h["k"], h["delta"], h["sig2"]
    var_s2 = k**2 * (4 * D**2 * sig2 + 2 * sig2**2)
    assert t.loc["R_indicator", "std_error"] == pytest.approx(np.sqrt(var_s2 / h["s2"]), rel=1e-6)
    s2_bc = k * (D**2 - sig2)
    assert t.loc["R_indicator_bias_corrected", "estimate"] == pytest.approx(1 - 2 * np.sqrt(s2_bc), rel=1e-8)
    assert t.loc["R_indicator_bias_corrected", "std_error"] == pytest.approx(np.sqrt(var_s2 / s2_bc), rel=1e-6)
    assert res.diagnostics["propensity_model"]["cov"].shape == (2, 2)
    assert t.attrs["bias_s2"] == pytest.approx(k * sig2, rel=1e-6)
    # the wrapper returns the same R and SE
    assert r_indicator(res) == (pytest.approx(t.loc["R_indicator", "estimate"], rel=1e-12),
                                pytest.approx(t.loc["R_indicator", "std_error"], rel=1e-12))
    # intervals: normal, clipped to each indicator's range
    z = 1.959963984540054
    row = t.loc["CV"]
    assert (row["lower"], row["upper"]) == pytest.approx((max(row["estimate"] - z * row["std_error"], 0), row["estimate"] + z * row["std_error"]), rel=1e-9)


def test_representativeness_identities_and_mechanical_bound():
    """CV = S/rho_bar = max_abs_bias; the bound 1 - 2 sqrt(rho_bar (1 - rho_bar)) is what R cannot
    go below, and propensities of 0 and 1 attain it (up to the N/(N-1) of S^2)."""
    from irmodels.nonresponse.representativeness import representativeness

    rng = np.random.default_rng(10)
    for _ in range(5):
        rho = rng.beta(1, 10, 40)
        d = rng.integers(5, 60, 40).astype(float)
        t = representativeness(rho, d).set_index("term")["estimate"]
        N = d.sum()
        rbar = (d * rho).sum() / N
        S = np.sqrt((d * (rho - rbar) ** 2).sum() / (N - 1))
        assert t["CV"] == pytest.approx(S / rbar, rel=1e-12)
        assert t["max_abs_bias"] == pytest.approx(t["CV"], rel=1e-12)
        assert t["mechanical_bound"] == pytest.approx(1 - 2 * np.sqrt(rbar * (1 - rbar)), rel=1e-12)
        assert t["R_indicator"] > t["mechanical_bound"]
    # all-or-nothing response: 98 of 1180 units respond with certainty
    rho = np.r_[np.ones(98), np.zeros(1082)]
    t = representativeness(rho).set_index("term")["estimate"]
    rbar = 98 / 1180
    assert t["mechanical_bound"] == pytest.approx(1 - 2 * np.sqrt(rbar * (1 - rbar)), rel=1e-12)
    assert t["mechanical_bound"] == pytest.approx(0.448082, abs=1e-6)  # 2017: 98 / 1180
    assert t["R_indicator"] == pytest.approx(1 - 2 * np.sqrt(1180 / 1179 * rbar * (1 - rbar)), rel=1e-12)
    assert t["CV"] == pytest.approx(np.sqrt(1180 / 1179 * (1 - rbar) / rbar), rel=1e-12)
    # equal propensities: R = 1, CV = 0; linearisation degenerate, SE 0
    t = representativeness(np.full(10, 0.1), np.full(10, 118.0)).set_index("term")
    assert t.loc["R_indicator", "estimate"] == pytest.approx(1.0) and t.loc["CV", "estimate"] == pytest.approx(0.0, abs=1e-12)
    assert t.loc["R_indicator", "std_error"] == 0.0


def _stacked_fit(X, n, N):
    """The stacked logistic model of weight(..., 'propensity') aggregated by cell (respondents
    y = 1 with weight 1, frame cells y = 0 with weight N), fitted by IRLS; returns the
    ``propensity_model`` dict (params, GLM covariance, design_frame)."""
    m = n + N
    beta = np.zeros(X.shape[1])
    beta[0] = np.log(n.sum() / N.sum())
    for _ in range(100):
        p = expit(X @ beta)
        H = (X * (m * p * (1 - p))[:, None]).T @ X
        step = np.linalg.solve(H, X.T @ (n - m * p))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = expit(X @ beta)
    return {"params": beta, "cov": np.linalg.inv((X * (m * p * (1 - p))[:, None]).T @ X), "design_frame": X}


def _frame_4x4():
    """Known frame like 2017: 16 cells (4 x 4 main effects), 1180 units, rho_bar ~ 0.11, rho 0.02-0.36."""
    levels = [(i, j) for i in range(4) for j in range(4)]
    X = np.column_stack([np.ones(16)] + [[float(a == l) for a, _ in levels] for l in (1, 2, 3)]
                        + [[float(b == l) for _, b in levels] for l in (1, 2, 3)])
    beta = np.r_[np.log(0.02), 0.8, 1.6, 0.5, 0.5, 1.0, 1.3]
    N = np.round(1180 * np.random.default_rng(3).dirichlet(np.full(16, 5.0)))
    return X, N, np.exp(X @ beta), levels


@pytest.fixture(scope="module")
def mc_4x4():
    from irmodels.nonresponse.representativeness import representativeness

    X, N, rho, _ = _frame_4x4()
    rng = np.random.default_rng(11)
    est, se, se_glm = [], [], []
    for _ in range(2000):
        n = rng.binomial(N.astype(int), rho).astype(float)
        m = _stacked_fit(X, n, N)
        rh = np.exp(X @ m["params"])
        t = representativeness(rh, N, model=m)
        est.append(t["estimate"].to_numpy())
        se.append(t["std_error"].to_numpy())
        # first-order SE of R with the stacked GLM's own covariance (the former 1/n + 1/N)
        rb = (N * rh).sum() / N.sum()
        S = np.sqrt((N * (rh - rb) ** 2).sum() / (N.sum() - 1))
        g = -2 * (N * (rh - rb)) @ (rh[:, None] * X) / (N.sum() - 1) / S
        se_glm.append(np.sqrt(g @ m["cov"] @ g))
    truth = representativeness(rho, N)["estimate"].to_numpy()
    return {"terms": list(t["term"]), "est": np.array(est), "se": np.array(se), "se_glm": np.array(se_glm), "truth": truth}


def test_representativeness_se_monte_carlo(mc_4x4):
    """SD of each estimator over 2000 samples from the known frame vs the mean delta-method SE:
    within 10% (Monte Carlo error of the SD ~ 1.6%). The stacked GLM's covariance overstates."""
    sd = mc_4x4["est"].std(axis=0, ddof=1)
    se = mc_4x4["se"].mean(axis=0)
    for j, term in enumerate(mc_4x4["terms"]):
        assert se[j] / sd[j] == pytest.approx(1.0, abs=0.10), term
    iR = mc_4x4["terms"].index("R_indicator")
    assert mc_4x4["se_glm"].mean() / sd[iR] > 1.25


def test_representativeness_bias_correction_monte_carlo(mc_4x4):
    """R-hat is biased down (estimated propensities vary more than the true ones); the
    Shlomo-Skinner-Schouten correction reduces the bias."""
    terms, est, truth = mc_4x4["terms"], mc_4x4["est"], mc_4x4["truth"]
    iR, iB = terms.index("R_indicator"), terms.index("R_indicator_bias_corrected")
    bias_R = est[:, iR].mean() - truth[iR]
    bias_bc = est[:, iB].mean() - truth[iR]
    mc_err = est[:, iR].std(ddof=1) / np.sqrt(len(est))
    assert bias_R < -4 * mc_err
    assert abs(bias_bc) < 0.6 * abs(bias_R)


def test_stacked_fit_is_the_propensity_weighting():
    """The Monte Carlo's fast fitter gives the same table as weight(..., 'propensity')."""
    from irmodels.nonresponse.representativeness import representativeness

    X, N, rho, levels = _frame_4x4()
    n = np.random.default_rng(4).binomial(N.astype(int), rho)
    d = pd.DataFrame([{"u": f"u{a}", "v": f"v{b}"} for (a, b), k in zip(levels, n) for _ in range(k)])
    frame = pd.DataFrame({"u": [f"u{a}" for a, _ in levels], "v": [f"v{b}" for _, b in levels], "N": N})
    res = weight(d, "propensity", frame=frame, covariates=["u", "v"])
    fp = res.diagnostics["frame_propensity"]
    key = dict(zip(zip(frame["u"], frame["v"]), range(16)))
    order = [key[(u, v)] for u, v in zip(fp["u"], fp["v"])]
    m = _stacked_fit(X[order], n[order].astype(float), N[order])
    a = representativeness(res)
    b = representativeness(np.exp(X[order] @ m["params"]), N[order], model=m)
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-7)
    np.testing.assert_allclose(a["std_error"], b["std_error"], rtol=1e-6)


def test_representativeness_propensity_above_one():
    from irmodels.nonresponse.representativeness import representativeness
    from irmodels.nonresponse.weighting_methods import PropensityAboveOneWarning

    with pytest.raises(WeightingError, match="representativeness: 1 of 3 frame cells"):
        representativeness(np.array([0.1, 0.2, 1.5]), [10, 10, 2])
    with pytest.warns(PropensityAboveOneWarning, match="R, CV and the maximal bias reported as NaN"):
        t = representativeness(np.array([0.1, 0.2, 1.5]), [10, 10, 2], on_invalid="nan").set_index("term")
    assert t.loc[["R_indicator", "R_indicator_bias_corrected", "CV", "max_abs_bias"], "estimate"].isna().all()
    assert t.loc["response_rate", "estimate"] == pytest.approx((1 + 2 + 3) / 22)
    assert t["std_error"].isna().all()


# ---------------------------------------------------------------------------
# a wave's own frame size (issue 11): no 1180 default


def test_manski_bounds_on_a_user_frame_of_1440_by_hand():
    """18 positives among 28 answers (2 item non-responses) of 30 respondents, 1440 invited:
    lower = 18/1440 = 0.0125, upper = (18 + 1440 - 28)/1440 = 1430/1440 = 0.99305...;
    with the 2017 size the bounds would be 18/1180 and 1170/1180."""
    d = _wave(18, 10, 2)
    b = manski_bounds(d, "cover_24_7", frame_size=1440).iloc[0]
    assert b["lower"] == 0.0125
    assert b["upper"] == pytest.approx(1430 / 1440, rel=1e-15)
    assert b["width"] == pytest.approx(1 - 28 / 1440, rel=1e-12)
    assert (b["n_positive"], b["n_answered"], b["frame_size"]) == (18, 28, 1440.0)
    with pytest.raises(TypeError, match="frame_size"):
        manski_bounds(d, "cover_24_7")  # no default population size


def test_tipping_point_takes_the_frame_size_from_frame_calibrated_weights():
    """Weights raked to a user frame of 1440 sum to 1440; tipping_point uses that sum
    (stated in notes) and gives the closed-form tipping point at N = 1440."""
    d = _wave(18, 10, 2).assign(country=["PL"] * 15 + ["CZ"] * 15)
    res = weight(d, "rake", margins={"country": {"PL": 1000.0, "CZ": 440.0}})
    assert res.weights.sum() == pytest.approx(1440, rel=1e-12)
    tp = tipping_point(d, "cover_24_7", res)
    assert "frame_size = 1440 (the sum of the weights)" in tp.notes
    same = tipping_point(d, "cover_24_7", res, frame_size=1440)
    assert tp.delta_star == pytest.approx(same.delta_star, rel=1e-12)
    # equal weights summing to 1440 (48 each): mu0 = p, delta* = logit((N/2 - y)/(N - n)) - logit(p)
    eq = tipping_point(d, "cover_24_7", np.full(len(d), 48.0))
    p, n, y, N = 18 / 28, 28, 18, 1440
    assert eq.estimate_mar == pytest.approx(p, rel=1e-9)
    assert eq.delta_star == pytest.approx(logit((N * 0.5 - y) / (N - n)) - logit(p), abs=1e-8)
    # weights that cannot be a frame's (sum <= answers) need frame_size
    with pytest.raises(WeightingError, match="pass frame_size"):
        tipping_point(d, "cover_24_7", np.ones(len(d)))
