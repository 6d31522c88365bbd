"""Planning the next wave (irmodels.studies.planning): published examples of the reference calculations.

Every reference number below is printed in the source named next to it (R is not installed
here: the numbers are taken from the published manuals, vignettes, package tests and papers,
not recomputed). Tolerances:

* sample sizes the reference prints rounded up to integers: exact equality after ``ceil``;
* sample sizes and powers printed with 7 significant digits (R's default print): relative
  1e-6, or 2e-7 absolute on powers (R's ``uniroot`` stops at ~1e-4 relative in n, so n found
  by root finding is compared at 1e-6 relative);
* identities between two of our own computations (closed form vs search): exact integers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from irmodels.core.errors import IrmodelsError
from irmodels.studies.planning_checks import PlanningError
from irmodels.studies.planning_frame import deff_kish
from irmodels.studies.planning_proportions import (
    es_h,
    n_prop_moe,
    n_prop_search,
    n_prop_wilson,
    n_two_proportions,
    power_two_proportions,
    prop_half_width,
)
from irmodels.studies.planning_exact import exact_power_two_proportions
from irmodels.studies.planning_logistic import n_logistic_binary, power_logistic_binary
from irmodels.studies.planning_plans import plan_odds_ratio, plan_precision
from irmodels.studies.planning import power_check_task, summarise_power_check
from irmodels.studies.runner import run_study


def _p_with_h(h: float, p2: float = 0.5) -> float:
    """A p1 with Cohen's h(p1, p2) = h (pwr's examples give h, our functions take proportions)."""
    return math.sin(math.asin(math.sqrt(p2)) + h / 2) ** 2


# --------------------------------------------------------------------------- one proportion


def test_nPropMoe_vignette_example_3():
    # PracTools vignette "Sample Size Calculation in Single-stage Sampling" (Valliant, Dever &
    # Kreuter), Example 3: ceiling(nPropMoe(moe.sw=1, e=seq(0.01,0.08,0.01), alpha=0.05, pU=0.5))
    published = [9604, 2401, 1068, 601, 385, 267, 196, 151]
    got = [math.ceil(n_prop_moe(e, 0.5, alpha=0.05)) for e in np.arange(1, 9) / 100]
    assert got == published


def test_nPropMoe_triola_example():
    # Triola, Elementary Statistics, section 7-1 "Estimating a Population Proportion", example:
    # 95% confidence, E = 0.03, p^ = 0.79 -> 708.135 (with z = 1.96) -> 709; no prior -> 1068
    assert math.ceil(n_prop_moe(0.03, 0.79)) == 709
    assert math.ceil(n_prop_moe(0.03, 0.5)) == 1068


def test_finite_population_correction_matches_nPropMoe_formula_and_shrinks():
    # nPropMoe with N: n = N/(N-1) z^2 pq / (e^2 + z^2 pq/(N-1)) (R/nPropMoe.R of PracTools);
    # equivalently n0 / (1 + (n0 - 1)/N) with n0 the infinite-population size
    z = 1.959963984540054
    for N in (50, 500, 1180, 10_000):
        expected = N / (N - 1) * z**2 * 0.25 / (0.05**2 + z**2 * 0.25 / (N - 1))
        assert n_prop_moe(0.05, 0.5, population=N) == pytest.approx(expected, rel=1e-12)
        n0 = n_prop_moe(0.05, 0.5)
        assert n_prop_moe(0.05, 0.5, population=N) == pytest.approx(n0 / (1 + (n0 - 1) / N), rel=1e-12)
    # a census of a 50-unit frame is never exceeded
    assert n_prop_moe(0.01, 0.5, population=50) < 50


def test_design_effect_multiplies_the_infinite_population_size():
    assert n_prop_moe(0.05, 0.3, deff=1.7) == pytest.approx(1.7 * n_prop_moe(0.05, 0.3), rel=1e-12)
    # relative margin (nPropMoe moe.sw = 2): e is a share of p
    assert n_prop_moe(0.1, 0.4, relative=True) == pytest.approx(n_prop_moe(0.04, 0.4), rel=1e-12)


def test_wilson_closed_form_and_search_agree():
    # PracTools::nWilson's closed form (R/nWilson.R) solves half-width = e; the numerical search
    # of the same interval must give its ceiling; nWilson's help example: pU = 0.04, e = 0.01
    for p, e in [(0.04, 0.01), (0.5, 0.05), (0.2, 0.03), (0.9, 0.02)]:
        n = n_prop_wilson(e, p)
        assert prop_half_width(n, p, interval="wilson") == pytest.approx(e, rel=1e-9)
        assert n_prop_search(e, p, interval="wilson") == math.ceil(n)
    # the Wald search reproduces the closed form
    for p, e in [(0.04, 0.01), (0.5, 0.05), (0.3, 0.1)]:
        assert n_prop_search(e, p, interval="wald") == math.ceil(n_prop_moe(e, p))
        assert n_prop_search(e, p, interval="wald", population=300, deff=1.4) == math.ceil(
            n_prop_moe(e, p, population=300, deff=1.4))


def test_exact_interval_needs_more_than_wald_at_rare_outcomes():
    # the normal formula is optimistic near 0: the Clopper-Pearson search asks for more
    n_wald = math.ceil(n_prop_moe(0.01, 0.04))
    n_exact = n_prop_search(0.01, 0.04, interval="exact")
    assert n_exact > n_wald
    assert prop_half_width(n_exact, 0.04, interval="exact") <= 0.01 < prop_half_width(n_exact - 1, 0.04, interval="exact")


def test_kish_deff():
    # PracTools::deffK: 1 + sum((w - mean(w))^2)/n/mean(w)^2 (divisor n); weights 1,1,1,3:
    # mean 1.5, sum of squares 3 x 0.25 + 2.25 = 3, /4 = 0.75, /2.25 = 1/3
    assert deff_kish([1, 1, 1, 3]) == pytest.approx(4 / 3, rel=1e-15)
    w = np.random.default_rng(1).lognormal(0, 0.8, size=200)
    assert deff_kish(w) == pytest.approx(1 + np.var(w) / np.mean(w) ** 2, rel=1e-12)
    assert deff_kish(pd.Series(w)) == pytest.approx(len(w) * np.sum(w**2) / np.sum(w) ** 2, rel=1e-12)
    with pytest.raises(PlanningError) as err:
        deff_kish(pd.Series([1.0, -2.0, np.nan]))
    assert "row 1" in str(err.value) and "row 2" in str(err.value)


# --------------------------------------------------------------------------- two proportions


def test_es_h_and_pwr_2p_test_examples():
    # pwr (Champely) printed output reproduced in Cambon (2019, "Power Analysis"):
    # pwr.2p.test(h = ES.h(0.6, 0.8), power = 0.80) -> h = 0.4421432, n = 80.29912
    assert abs(es_h(0.6, 0.8)) == pytest.approx(0.4421432, abs=5e-8)
    assert n_two_proportions(0.6, 0.8, power=0.8, method="arcsine") == pytest.approx(80.29912, rel=1e-6)
    # pwr.2p.test(h = 2*asin(sqrt(.1)) - 2*asin(sqrt(.4)) ...) -> h = 0.7259373, n = 29.7878
    assert abs(es_h(0.1, 0.4)) == pytest.approx(0.7259373, abs=5e-8)
    assert n_two_proportions(0.1, 0.4, method="arcsine") == pytest.approx(29.7878, rel=2e-6)
    # Cross Validated q. 258522: pwr.2p.test(ES.h(0.69, 0.68), n = 10000) -> h = 0.0215284, power = 0.3310592
    assert es_h(0.69, 0.68) == pytest.approx(0.0215284, abs=5e-8)
    assert power_two_proportions(10_000, 0.69, 0.68) == pytest.approx(0.3310592, abs=2e-7)


def test_pwr_2p_test_one_sided_examples():
    # pwr's own tests (tests/testthat, Cohen 1988 Exercise 6.1 p. 198):
    # pwr.2p.test(h = 0.3, n = 80, sig.level = 0.05, alternative = "greater") -> power 0.599677704546438
    p1 = _p_with_h(0.3)
    assert es_h(p1, 0.5) == pytest.approx(0.3, abs=1e-12)
    assert power_two_proportions(80, p1, 0.5, alternative="greater") == pytest.approx(0.599677704546438, abs=1e-12)
    # statsmodels' stats/tests/test_power.py, from R: pwr.2p.test(h=0.01, n=80, alternative="less")
    # -> power 0.0438089705093578 (the effect points away from the alternative)
    p1 = _p_with_h(0.01)
    assert power_two_proportions(80, p1, 0.5, alternative="less") == pytest.approx(0.0438089705093578, abs=1e-12)


def test_power_prop_test_examples():
    # R stats::power.prop.test help example: power.prop.test(p1 = .50, p2 = .75, power = .90)  # => n = 76.7
    assert round(n_two_proportions(0.5, 0.75, power=0.9, method="pooled"), 1) == 76.7
    # Cambon (2019): power.prop.test(p1 = .6, p2 = .8, power = 0.8) -> n = 81.22424
    assert n_two_proportions(0.6, 0.8, power=0.8, method="pooled") == pytest.approx(81.22424, rel=1e-6)
    # and the power at that n is the target (the formula inverts exactly)
    assert power_two_proportions(81.22424, 0.6, 0.8, method="pooled") == pytest.approx(0.8, abs=1e-6)


def test_fleiss_continuity_correction_and_unequal_groups():
    # Fleiss, Tytun & Ury (1980): n' = n/4 (1 + sqrt(1 + 2(r+1)/(n r |d|)))^2, about n + (r+1)/(r|d|)
    n = n_two_proportions(0.3, 0.15, method="pooled")
    ncc = n_two_proportions(0.3, 0.15, method="fleiss_cc")
    assert ncc == pytest.approx(n / 4 * (1 + math.sqrt(1 + 4 / (n * 0.15))) ** 2, rel=1e-12)
    assert ncc - n == pytest.approx(2 / 0.15, rel=0.03)
    assert power_two_proportions(ncc, 0.3, 0.15, method="fleiss_cc") == pytest.approx(0.8, abs=1e-9)
    # unequal groups (ratio 2): Fleiss' formula with pbar = (p1 + r p2)/(1 + r)
    r = 2.0
    pbar = (0.3 + r * 0.15) / (1 + r)
    za, zb = 1.959963984540054, 0.8416212335729143
    expected = (za * math.sqrt((1 + 1 / r) * pbar * (1 - pbar)) + zb * math.sqrt(0.3 * 0.7 + 0.15 * 0.85 / r)) ** 2 / 0.15**2
    assert n_two_proportions(0.3, 0.15, ratio=r, method="pooled") == pytest.approx(expected, rel=1e-12)
    # unpooled normal (Wald) formula
    assert n_two_proportions(0.3, 0.15, method="unpooled") == pytest.approx((za + zb) ** 2 * (0.21 + 0.1275) / 0.0225, rel=1e-12)


# --------------------------------------------------------------------------- logistic regression


def test_hsieh_1998_table_I_and_powerMediation():
    # Hsieh, Bloch & Larsen (1998) Table I, balanced design, high event rates, as the
    # powerMediation help reproduces it: SSizeLogisticBin(p1 = 0.4, p2 = 0.5, B = 0.5,
    # alpha = 0.05, power = 0.95) -> 1281 and powerLogisticBin(n = 1281, ...) -> "the power = 0.95"
    orr = (0.5 / 0.5) / (0.4 / 0.6)
    assert math.ceil(n_logistic_binary(orr, 0.4, 0.5, power=0.95, method="hsieh")) == 1281
    assert round(power_logistic_binary(1281, orr, 0.4, 0.5, method="hsieh"), 2) == 0.95
    # SSizeLogisticBin(p1 = 0.2, p2 = 0.3, B = 0.5, alpha = 0.05, power = 0.8) -> 587 (printed return)
    orr = (0.3 / 0.7) / (0.2 / 0.8)
    assert math.ceil(n_logistic_binary(orr, 0.2, 0.5, power=0.8, method="hsieh")) == 587


def test_demidenko_wald_power_matches_webpower():
    # WebPower::wp.logistic(n = 1000, p0 = 0.2, p1 = 0.25, alpha = 0.10, family = "Bernoulli",
    # alternative = "greater") -> power 0.7285827 (printed; reproduced in a package test suite)
    orr = (0.25 / 0.75) / (0.2 / 0.8)
    assert power_logistic_binary(1000, orr, 0.2, 0.5, alpha=0.10, alternative="greater", method="demidenko") == pytest.approx(
        0.7285827, abs=2e-7)


def test_demidenko_n_inverts_power_and_closed_form():
    for method in ("demidenko", "demidenko_vc", "hsieh"):
        n = n_logistic_binary(2.0, 0.5, 0.25, power=0.8, method=method)
        assert power_logistic_binary(n, 2.0, 0.5, 0.25, method=method) == pytest.approx(0.8, abs=1e-9)
    # without the negligible opposite tail, demidenko is (z_a + z_b)^2 V1 / beta^2
    p1 = 2 / 3
    v1 = 1 / (0.25 * p1 * (1 - p1)) + 1 / (0.75 * 0.25)
    closed = (1.959963984540054 + 0.8416212335729143) ** 2 * v1 / math.log(2) ** 2
    assert n_logistic_binary(2.0, 0.5, 0.25, method="demidenko") == pytest.approx(closed, rel=1e-5)
    # an odds ratio below 1 is the mirror image
    assert n_logistic_binary(0.5, 2 / 3, 0.25, method="demidenko_vc") == pytest.approx(
        n_logistic_binary(2.0, 0.5, 0.25, method="demidenko_vc"), rel=0.2)


def test_closed_form_logistic_wald_equals_statsmodels():
    # the simulation computes the Wald z from the 2x2 table; with one binary predictor this is
    # the logistic MLE and its SE exactly
    import statsmodels.api as sm

    from irmodels.studies.planning import _logistic_wald_reject

    rng = np.random.default_rng(20260101)
    x = rng.binomial(1, 0.3, size=300)
    y = rng.binomial(1, np.where(x == 1, 0.6, 0.4))
    fit = sm.Logit(y, sm.add_constant(x.astype(float)), missing="raise").fit(disp=0)
    a, b = np.sum((x == 1) & (y == 1)), np.sum((x == 1) & (y == 0))
    c, d = np.sum((x == 0) & (y == 1)), np.sum((x == 0) & (y == 0))
    z_sm = fit.params[1] / fit.bse[1]
    z_ours = (math.log(a * d / (b * c))) / math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert z_ours == pytest.approx(z_sm, rel=1e-6)
    for crit in (abs(z_sm) - 1e-3, abs(z_sm) + 1e-3):
        rej, ok = _logistic_wald_reject(*(np.array([float(v)]) for v in (a, b, c, d)), crit)
        assert bool(ok[0]) and bool(rej[0]) == (abs(z_sm) > crit)


def test_invalid_inputs_listed_at_once():
    with pytest.raises(PlanningError) as err:
        n_prop_moe(1.5, 0, alpha=2, deff=-1)
    msg = str(err.value)
    for name in ("half_width", "'p'", "alpha", "deff"):
        assert name in msg
    assert "4 problems" in msg
    with pytest.raises(PlanningError, match="odds ratio of 1"):
        n_logistic_binary(1.0, 0.5, 0.5)
    with pytest.raises(PlanningError, match="points away"):
        n_logistic_binary(2.0, 0.5, 0.5, alternative="less")
    with pytest.raises(PlanningError, match="p1 equals p2"):
        n_two_proportions(0.3, 0.3)
    with pytest.raises(PlanningError, match="unknown"):
        n_two_proportions(0.3, 0.4, method="chisq")
    assert issubclass(PlanningError, IrmodelsError)


# --------------------------------------------------------------------------- plans on a frame


@pytest.fixture
def cells() -> pd.DataFrame:
    # a small frame: two regions x four size classes, counts as a user frame gives them
    rows = []
    for region, scale in (("EU-West", 1.0), ("EU-East", 0.5)):
        for beds, N in (("<200", 300), ("200-399", 200), ("400-799", 120), (">=800", 60)):
            rows.append({"country": "DE" if region == "EU-West" else "PL", "region": region, "beds_class": beds, "N": N * scale})
    return pd.DataFrame(rows)


def test_plan_precision_europe_wide_without_frame():
    out = plan_precision(half_width=0.05, response_rate=0.083, deff=1.5)
    row = out.iloc[0]
    n = math.ceil(1.5 * 1.959963984540054**2 * 0.25 / 0.05**2)
    assert row["responses_needed"] == n == 577
    assert row["invitations_needed"] == math.ceil(n / 0.083)
    assert row["reachable"] is None and row["region"] == "all"


def test_plan_precision_per_cell_caps_by_frame(cells):
    out = plan_precision(cells, half_width=0.1, p=0.5, response_rate=0.3, deff=1.2, by=["region", "beds_class"])
    assert len(out) == 8
    assert set(out.columns) >= {"region", "beds_class", "frame_units", "responses_needed", "invitations_needed",
                                "response_rate", "deff", "reachable"}
    for _, r in out.iterrows():
        N = r["frame_units"]
        n = n_prop_moe(0.1, 0.5, population=N, deff=1.2)
        assert r["responses_needed"] == math.ceil(n)
        assert r["invitations_needed"] == math.ceil(r["responses_needed"] / 0.3)
        assert r["reachable"] == (r["invitations_needed"] <= N)
        if not r["reachable"]:
            # inviting every unit gives N r responses and a wider interval than the target, said in the note
            assert r["half_width_if_all_invited"] > 0.1
            assert f"{N:g} units" in r["note"]
        else:
            assert r["note"] == ""
    west_small = out[(out["region"] == "EU-West") & (out["beds_class"] == "<200")].iloc[0]
    assert bool(west_small["reachable"]) and not bool(out[(out["region"] == "EU-East") & (out["beds_class"] == ">=800")]["reachable"].iloc[0])


def test_plan_precision_rates_per_class_pool_within_region(cells):
    rates = {"<200": 0.05, "200-399": 0.08, "400-799": 0.1, ">=800": 0.15}
    out = plan_precision(cells, half_width=0.1, response_rate=rates, by="region")
    west = out[out["region"] == "EU-West"].iloc[0]
    expected_rate = (300 * 0.05 + 200 * 0.08 + 120 * 0.1 + 60 * 0.15) / 680
    assert west["response_rate"] == pytest.approx(expected_rate, rel=1e-12)
    assert west["beds_class"] == "all" and west["frame_units"] == 680
    with pytest.raises(PlanningError, match="no response rate for this beds class"):
        plan_precision(cells, half_width=0.1, response_rate={"<200": 0.05}, by="region")


def test_plan_precision_interval_methods(cells):
    w = plan_precision(cells, half_width=0.05, p=0.1, response_rate=0.5, interval="wilson")
    e = plan_precision(cells, half_width=0.05, p=0.1, response_rate=0.5, interval="exact")
    n = cells["N"].sum()
    assert w["responses_needed"].iloc[0] == n_prop_search(0.05, 0.1, interval="wilson", population=n)
    assert e["responses_needed"].iloc[0] >= w["responses_needed"].iloc[0]


def test_plan_precision_bad_frame_and_by(cells):
    bad = cells.drop(columns=["region"]).assign(N=[1, -2, "x", 3, 4, 5, 6, 7])
    with pytest.raises(PlanningError) as err:
        plan_precision(bad, half_width=0.1, response_rate=0.1, by="region")
    msg = str(err.value)
    assert "column 'region'" in msg and "row 1" in msg and "row 2" in msg
    with pytest.raises(PlanningError, match="needs a frame"):
        plan_precision(half_width=0.1, response_rate=0.1, by="region")
    with pytest.raises(PlanningError, match="region and/or beds_class"):
        plan_precision(cells, half_width=0.1, response_rate=0.1, by="country")


def test_plan_odds_ratio_allocates_by_class(cells):
    rate = {"<200": 0.1, "200-399": 0.1, "400-799": 0.2, ">=800": 0.2}
    out = plan_odds_ratio(cells, odds_ratio=2.0, p0=0.5, response_rate=rate, deff=1.3, method="demidenko")
    assert set(out["beds_class"]) == {"<200", "200-399", ">=800"}  # 400-799 is in neither group
    me = (60 + 30) * 0.2
    mr = (300 + 200 + 150 + 100) * 0.1
    B = me / (me + mr)
    n_tot = math.ceil(1.3 * n_logistic_binary(2.0, 0.5, B, method="demidenko"))
    assert (out["responses_total_needed"] == n_tot).all()
    assert out["share_exposed"].iloc[0] == pytest.approx(B, rel=1e-12)
    exp = out[out["group"] == "exposed"].iloc[0]
    assert exp["responses_needed"] == math.ceil(math.ceil(B * n_tot) * 1.0)  # one exposed class takes all
    assert exp["invitations_needed"] == math.ceil(exp["responses_needed"] / 0.2)
    ref = out[out["group"] == "reference"]
    need_ref = math.ceil((1 - B) * n_tot)
    assert ref["responses_needed"].sum() >= need_ref
    assert ref.set_index("beds_class")["responses_needed"]["<200"] == math.ceil(need_ref * 45 / 75)
    # reachable iff the frame has the invitations; the power if all were invited is stated
    for _, r in out.iterrows():
        assert r["reachable"] == (r["invitations_needed"] <= r["frame_units"])
    pw_all = power_logistic_binary((me + mr) / 1.3, 2.0, 0.5, B, method="demidenko")
    assert out["power_if_all_invited"].iloc[0] == pytest.approx(pw_all, rel=1e-12)
    # the default is the exact power: the power if all are invited is at the whole number of responses
    ex = plan_odds_ratio(cells, odds_ratio=2.0, p0=0.5, response_rate=rate, deff=1.3)
    assert (ex["responses_total_needed"] == math.ceil(1.3 * n_logistic_binary(2.0, 0.5, B, method="exact"))).all()
    assert ex["power_if_all_invited"].iloc[0] == pytest.approx(
        power_logistic_binary(math.floor((me + mr) / 1.3), 2.0, 0.5, B, method="exact"), rel=1e-12)


def test_plan_odds_ratio_by_region_and_without_frame(cells):
    out = plan_odds_ratio(cells, odds_ratio=2.5, p0=0.4, response_rate=0.3, by="region")
    assert set(out["region"]) == {"EU-West", "EU-East"}
    # the same shares in both regions (East is West scaled by 0.5): the same totals
    assert out.groupby("region")["responses_total_needed"].first().nunique() == 1
    nf = plan_odds_ratio(odds_ratio=2.0, p0=0.5, share_exposed=0.25, response_rate=0.1, method="hsieh")
    n_tot = math.ceil(n_logistic_binary(2.0, 0.5, 0.25, method="hsieh"))
    assert nf["responses_needed"].tolist() == [math.ceil(0.25 * n_tot), math.ceil(0.75 * n_tot)]
    with pytest.raises(PlanningError, match="share_exposed"):
        plan_odds_ratio(odds_ratio=2.0, p0=0.5, response_rate=0.1)
    with pytest.raises(PlanningError, match="both groups"):
        plan_odds_ratio(cells, odds_ratio=2.0, p0=0.5, response_rate=0.1, exposed=[">=800"], reference=[">=800", "<200"])
    with pytest.raises(PlanningError, match="not in the frame"):
        plan_odds_ratio(cells[cells["beds_class"] != ">=800"], odds_ratio=2.0, p0=0.5, response_rate=0.1)


# --------------------------------------------------------------------------- simulation check (fast)


def test_power_check_through_runner_agrees_with_exact_power(tmp_path):
    # a fast version of validation/planning_check.py: 2000 simulations per scenario at the planned n,
    # through the study runner; the simulation and the exact enumeration are coded independently
    scen = []
    for method in ("demidenko", "hsieh", "exact"):
        n = math.ceil(n_logistic_binary(2.0, 0.5, 0.3, method=method))
        scen.append({"scenario": f"logit {method}", "test": "logistic_wald", "alpha": 0.05, "n": n, "p0": 0.5,
                     "odds_ratio": 2.0, "share_exposed": 0.3, "target_power": 0.8,
                     "closed_form_power": power_logistic_binary(n, 2.0, 0.5, 0.3, method=method),
                     "exact_power": power_logistic_binary(n, 2.0, 0.5, 0.3, method="exact")})
    for method, test in (("pooled", "pooled_z"), ("fleiss_cc", "yates")):
        n = math.ceil(n_two_proportions(0.45, 0.6, method=method))
        scen.append({"scenario": method, "test": test, "alpha": 0.05, "n1": n, "n2": n, "p1": 0.45, "p2": 0.6,
                     "target_power": 0.8, "closed_form_power": power_two_proportions(n, 0.45, 0.6, method=method),
                     "exact_power": exact_power_two_proportions(n, 0.45, 0.6, test=test)})
    task_sc = [{k: v for k, v in s.items() if k not in ("target_power", "closed_form_power", "exact_power")} for s in scen]
    res = run_study(power_check_task, 4, 11, tmp_path / "pc", params={"scenarios": task_sc, "reps": 500},
                    scheduler="synchronous", progress=False)
    assert res.n_failed == 0
    summ = summarise_power_check(res.results, scen)
    assert (summ["n_sims"] == 2000).all()
    # MC SE ~ 0.009: simulation and enumeration agree within 3 MC SE
    assert (summ["z_exact"].abs() < 3).all(), summ[["scenario", "simulated_power", "exact_power", "z_exact"]]
    # the closed forms are approximations: within 2 points of the exact power in these designs
    # (validation/planning_check.csv shows where they are further off)
    assert ((summ["closed_form_power"] - summ["exact_power"]).abs() < 0.02).all()
    assert summ.loc[summ["scenario"] == "logit exact", "exact_power"].iloc[0] >= 0.8
    # seeded: the same study gives the same counts
    again = run_study(power_check_task, 4, 11, tmp_path / "pc2", params={"scenarios": task_sc, "reps": 500},
                      scheduler="synchronous", progress=False)
    pd.testing.assert_frame_equal(res.results, again.results)


def test_exact_power_equals_brute_force_enumeration():
    # no truncated tails, plain Python over every (n1, a, c): the same power as the vectorised sum
    from math import comb, log, sqrt

    n, B, p0, orr = 24, 0.4, 0.3, 3.0
    p1 = orr * p0 / (1 - p0) / (1 + orr * p0 / (1 - p0))
    z = 1.959963984540054
    total = 0.0
    for n1 in range(1, n):
        w = comb(n, n1) * B**n1 * (1 - B) ** (n - n1)
        for a in range(1, n1):
            for c in range(1, n - n1):
                b, d = n1 - a, n - n1 - c
                if d == 0:
                    continue
                stat = log(a * d / (b * c)) / sqrt(1 / a + 1 / b + 1 / c + 1 / d)
                if abs(stat) > z:
                    total += w * comb(n1, a) * p1**a * (1 - p1) ** b * comb(n - n1, c) * p0**c * (1 - p0) ** d
    assert power_logistic_binary(n, orr, p0, B, method="exact") == pytest.approx(total, abs=1e-12)
    # two proportions, pooled z: brute force as well
    n1, n2, q1, q2 = 15, 12, 0.2, 0.6
    tot2 = 0.0
    for a in range(n1 + 1):
        for c in range(n2 + 1):
            pb = (a + c) / (n1 + n2)
            if 0 < pb < 1 and abs(a / n1 - c / n2) / sqrt(pb * (1 - pb) * (1 / n1 + 1 / n2)) > z:
                tot2 += comb(n1, a) * q1**a * (1 - q1) ** (n1 - a) * comb(n2, c) * q2**c * (1 - q2) ** (n2 - c)
    assert exact_power_two_proportions(n1, q1, q2, n2=n2, test="pooled_z") == pytest.approx(tot2, abs=1e-12)


def test_exact_n_is_the_first_n_reaching_the_target():
    n = n_logistic_binary(3.0, 0.5, 0.1, power=0.8, method="exact")
    assert n == int(n)
    assert power_logistic_binary(int(n), 3.0, 0.5, 0.1, method="exact") >= 0.8
    assert power_logistic_binary(int(n) - 1, 3.0, 0.5, 0.1, method="exact") < 0.8
    with pytest.raises(PlanningError, match="whole number"):
        power_logistic_binary(100.5, 3.0, 0.5, 0.1, method="exact")


def test_power_check_detects_an_underpowered_design():
    # the simulation is not a rubber stamp: at half the planned n the simulated power is far below 0.8
    n = math.ceil(n_logistic_binary(2.0, 0.5, 0.5, method="exact")) // 2
    sc = [{"scenario": "half", "test": "logistic_wald", "alpha": 0.05, "n": n, "p0": 0.5, "odds_ratio": 2.0, "share_exposed": 0.5}]
    rows = power_check_task(0, np.random.default_rng(5), scenarios=sc, reps=2000)
    pw = rows[0]["rejected"] / 2000
    assert pw == pytest.approx(power_logistic_binary(n, 2.0, 0.5, 0.5, method="exact"), abs=0.03)
    assert pw < 0.6
