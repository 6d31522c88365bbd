"""Tests of irmodels.identification.curves: the expected 2017 table at fixed odds ratios and
the sensitivity curves computed from it.

References: the published margins (every expected table reproduces them), the assumed odds
ratios (recovered exactly by the regression on the expected table), the sampling interval
of reconstructed respondent-level data (the interval at OR = 1 is no wider), and the
review's experiment of issue 9 (no interval manufactured by an assumption).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import irmodels
from irmodels.core.errors import SchemaError
from irmodels.identification.bounds import NA, _margins
from irmodels.identification.curves import association_curve, coverage_curve, fit_expected
from irmodels.identification.odds_ratios import assumption_grid, load_odds_ratios
from irmodels.identification.expected import expected_table

FRAME = {"<200": 0.36, "200-399": 0.24, "400-799": 0.21, ">=800": 0.19}


@pytest.mark.parametrize("outcome", ["cover_24_7", "female_ir_share_class"])
@pytest.mark.parametrize("ors", [{}, {"cover_24_7~beds_class": 2.5, "teaching~beds_class": 3.0, "chair_profile~teaching": 0.5}])
def test_expected_table_reproduces_every_published_margin(outcome, ors):
    ors = {k.replace("cover_24_7", outcome): v for k, v in ors.items()}
    t = expected_table(outcome, odds_ratios=ors)
    m = _margins()
    assert t["count"].sum() == pytest.approx(98, abs=1e-9)
    for p in ("beds_class", "teaching", "chair_profile"):
        got = t.groupby(p)["count"].sum()
        for lv, n in m[p].items():
            assert got[lv] == pytest.approx(n, abs=1e-8), (p, lv)
    miss = t.loc[t["event"].isna(), "count"].sum()
    assert miss == pytest.approx(m[outcome].get(NA, 0), abs=1e-9)
    ev = t.loc[t["event"].fillna(False).astype(bool), "count"].sum()
    events = {"cover_24_7": ("true",), "female_ir_share_class": ("1-25", ">25")}[outcome]
    assert ev == pytest.approx(sum(m[outcome][e] for e in events), abs=1e-8)
    # the three departments without IR (R3-13) are in hospitals under 400 beds (R3-14)
    no_ir = t[~t["ir_service"]]
    assert no_ir["count"].sum() == pytest.approx(3)
    assert set(no_ir.loc[no_ir["count"] > 0, "beds_class"]) <= {"<200", "200-399"}


def test_regression_on_the_expected_table_returns_the_assumed_odds_ratio():
    ors = {"cover_24_7~beds_class": 1.8, "cover_24_7~chair_profile": 0.7, "teaching~beds_class": 2.0}
    fit = fit_expected(expected_table("cover_24_7", odds_ratios=ors)).set_index("term")
    # linear-by-linear: log OR of class j vs <200 = j * log(1.8)
    for j, lv in enumerate(["200-399", "400-799", ">=800"], start=1):
        assert fit.loc[f"beds_class[T.{lv}]", "estimate"] == pytest.approx(j * math.log(1.8), abs=1e-7)
    assert fit.loc["chair_profile[T.IR_mostly]", "estimate"] == pytest.approx(3 * math.log(0.7), abs=1e-7)
    assert fit.loc["teaching", "estimate"] == pytest.approx(0.0, abs=1e-7)


def test_review_experiment_or_fixed_at_one_gives_no_manufactured_interval():
    """Issue 9, done-when: at OR = 1 the interval contains 1 and is no wider than the
    sampling interval of respondent-level data; nothing carries df/fmi."""
    c = association_curve("cover_24_7", "chair_profile", grid=[1.0], assumptions="independent")
    assert not {"df", "fmi", "riv", "frac_var_reconstruction", "between_var"} & set(c.columns)
    r = c[c["term"] == "chair_profile[T.IR_mostly]"].iloc[0]
    assert r["lower"] < 0 < r["upper"] and r["estimate"] == pytest.approx(0, abs=1e-9)
    # sampling SE of the same term on reconstructed respondent-level data (ML logistic, IR departments)
    import statsmodels.formula.api as smf

    ens = irmodels.reconstruct(20, seed=5, assumptions="independent")
    ses = []
    for _, rep in ens.groupby("replicate"):
        d = rep[rep["cover_24_7"].notna() & (rep["ir_share_class"].astype(object) != "0")].copy()
        d["y"] = d["cover_24_7"].astype(bool).astype(float)
        d["teaching"] = d["teaching"].astype(bool).astype(float)
        d["beds_class"] = d["beds_class"].astype(str)
        d["chair_profile"] = d["chair_profile"].astype(str)
        f = smf.glm("y ~ C(beds_class, Treatment('<200')) + teaching + C(chair_profile, Treatment('DR'))", d,
                    family=__import__("statsmodels.api").api.families.Binomial(), missing="raise").fit()
        ses.append(f.bse["C(chair_profile, Treatment('DR'))[T.IR_mostly]"])
    assert r["std_error"] <= 1.05 * float(np.median(ses))
    # and the pooled-over-replicates total variance of the old method is larger (doubled)
    assert r["std_error"] < math.sqrt(np.median(ses) ** 2 + np.var(ses, ddof=1)) + 1e-12


def test_curve_moves_with_the_assumption_and_is_labelled():
    c = association_curve("cover_24_7", "beds_class", grid=[0.5, 1.0, 2.0])
    top = c[c["term"] == "beds_class[T.>=800]"].set_index("assumption_value")
    assert top.loc[2.0, "estimate"] == pytest.approx(3 * math.log(2.0), abs=1e-7)
    assert top.loc[0.5, "estimate"] == pytest.approx(3 * math.log(0.5), abs=1e-7)
    assert all(s.startswith("assumption (cover_24_7~beds_class = ") for s in c["identification"])
    assert c["inside_region"].all()  # the published margins leave the odds ratio unrestricted
    # with no association among IR departments the marginal OR is still > 1: the 3 without IR
    assert top.loc[1.0, "marginal_or"] > 1.2


def test_coverage_curve_matches_hand_computation_at_independence():
    c = coverage_curve(FRAME, 1180, grid=[1.0], assumptions="independent").iloc[0]
    # at OR = 1 among IR departments: p(IR dept) = 60 / 94 in every class; the 3 without IR
    # (no cover) sit in <200 / 200-399 in proportion 4 : 15
    m = _margins()
    n_ir = {"<200": 4 - 3 * 4 / 19, "200-399": 15 - 3 * 15 / 19, "400-799": 28, ">=800": 51}
    p_ir = 60 / 94
    # 1 IR department did not answer: spread over the classes in proportion to n_ir
    tot_ir = sum(n_ir.values())
    ans = {b: n_ir[b] * (1 - 1 / tot_ir) + (3 * {"<200": 4, "200-399": 15}.get(b, 0) / 19) for b in n_ir}
    pb = {b: n_ir[b] * (1 - 1 / tot_ir) * p_ir / ans[b] for b in n_ir}
    W = pd.Series(FRAME) / sum(FRAME.values())
    assert c["estimate"] == pytest.approx(sum(W[b] * pb[b] for b in W.index), abs=1e-9)
    assert c["respondent_share"] == pytest.approx(m["cover_24_7"]["true"] / 97)
    # tipping point: non-respondents' odds relative to MAR at which the estimate is 50%
    y, n, N = 60, 97, 1180
    mu0 = (N * c["estimate"] - y) / (N - n)
    t = (0.5 * N - y) / (N - n)
    assert c["tipping_or"] == pytest.approx((t / (1 - t)) / (mu0 / (1 - mu0)))


def test_coverage_curve_decreases_with_the_size_association():
    c = coverage_curve(FRAME, 1180, grid=assumption_grid(0.5, 3.0, 7))
    assert np.all(np.diff(c["estimate"]) < 0)  # the frame has more small hospitals than the respondents
    assert (c["lower"] < c["estimate"]).all() and (c["estimate"] < c["upper"]).all()


def test_bad_assumption_files_list_every_problem(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("name: x\nodds_ratios:\n  - parameter: cover_24_7~nope\n    odds_ratio: -1\n    range: [2, 1]\n"
                 "    source: s\n    colour: red\n", encoding="utf-8")
    with pytest.raises(SchemaError) as e:
        load_odds_ratios(p)
    msg = str(e.value)
    assert "nope" in msg and "odds_ratio must be a positive" in msg and "range" in msg and "colour" in msg
    with pytest.raises(SchemaError, match="u~v"):
        expected_table("cover_24_7", odds_ratios={"cover_24_7~country": 2.0})


def test_controlled_rounding_keeps_every_margin_and_each_cell_within_one():
    from irmodels.identification.expected import expected_respondents, round_table

    ors = {"cover_24_7~beds_class": 2.0, "teaching~beds_class": 2.0, "cover_24_7~chair_profile": 0.8}
    tab = expected_table("cover_24_7", odds_ratios=ors)
    r = round_table(tab, ["beds_class", "teaching", "chair_profile", "event", "ir_service"])
    assert (r["count"] - tab["count"]).abs().max() < 1
    d = expected_respondents("cover_24_7", odds_ratios=ors)
    assert len(d) == 98
    m = _margins()
    for p in ("beds_class", "teaching", "chair_profile"):
        assert d[p].value_counts().to_dict() == {k: v for k, v in m[p].items() if v}
    assert int(d["event"].sum()) == m["cover_24_7"]["true"] and int(d["event"].isna().sum()) == m["cover_24_7"][NA]
    assert int((~d["ir_service"]).sum()) == 3 and not d.loc[~d["ir_service"], "event"].any()
    # deterministic: same parameters, same rows
    pd.testing.assert_frame_equal(d, expected_respondents("cover_24_7", odds_ratios=ors))
