"""Tests of irmodels.sensitivity.

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

from irmodels.errors import WeightingError
from irmodels.sensitivity import manski_bounds, r_indicator, tipping_point
from irmodels.weighting import weight

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
        manski_bounds(n_positive=98, n_answered=97)


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
    from irmodels.sensitivity import tipping_from_curve

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

    from irmodels.errors import DataDroppedWarning
    from irmodels.survey import weighted_prevalence

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
    from irmodels.weighting import PropensityAboveOneWarning

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

    from irmodels.sensitivity import r_indicator_ci

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
