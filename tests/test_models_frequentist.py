"""Frequentist fits (engine "statsmodels") against R reference output.

Reference numbers: tests/reference/models/reference.json, made by
tests/reference/models/make_reference.R (R 4.2, survey, ordinal, lme4) on the
reference data sets stored next to it. Compared:

* weighted logistic + sandwich SEs  <-> survey::svyglm (weights-only design)
* unweighted logistic + model SEs   <-> stats::glm
* binomial counts                   <-> stats::glm(cbind(k, n - k) ~ ...)
* beta-binomial ML                  <-> direct optim() of the same likelihood
* cumulative logit                  <-> ordinal::clm  (issue: coefficients to 1e-4)
* Firth: the modified score is zero at the estimate, and estimates are finite
  and named in a SeparationWarning under complete separation.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from irmodels.errors import DataDroppedWarning, ModelSpecError, SchemaError, SeparationWarning
from irmodels.models.fit import fit
from irmodels.models.frequentist import detect_separation, firth_logistic
from model_reference import BEDS, CHAIR, REF_DIR, SHARE, load_ref  # noqa: F401

REF = json.loads((REF_DIR / "reference.json").read_text())

# named tolerances
TOL_COEF_GLM = 1e-6  # same ML estimate, both to convergence
TOL_SE_GLM = 1e-5
TOL_CLM = 1e-4  # issue 5: clm coefficients to 1e-4
TOL_BETABIN = 1e-3  # two optimisers of one likelihood; SEs from numeric Hessians
TOL_BETABIN_SE = 5e-3


def _compare(tidy: pd.DataFrame, ref: dict, tol_est: float, tol_se: float, est_key="estimate", se_key="std_error"):
    t = tidy.set_index("term")
    assert sorted(t.index) == sorted(ref["term"])
    for term, est, se in zip(ref["term"], ref[est_key], ref[se_key]):
        assert t.loc[term, "estimate"] == pytest.approx(est, abs=tol_est), term
        assert t.loc[term, "std_error"] == pytest.approx(se, abs=tol_se), term


FORMULA = "cover_24_7 ~ beds_class + teaching + chair_profile"


def test_weighted_logistic_matches_svyglm():
    d = load_ref("ref_logit")
    f = fit(FORMULA, d, family="bernoulli", engine="statsmodels", weights="w")
    tidy = f.tidy()
    assert (tidy["method"] == "glm_pseudo_ml").all()
    _compare(tidy, REF["svyglm"], TOL_COEF_GLM, TOL_SE_GLM)


def test_logistic_matches_glm():
    d = load_ref("ref_logit")
    _compare(fit(FORMULA, d, family="bernoulli", engine="statsmodels").tidy(), REF["glm"], TOL_COEF_GLM, TOL_SE_GLM)


def test_binomial_counts_match_glm():
    d = load_ref("ref_counts")
    f = fit("n_female_ir ~ beds_class + teaching", d, family="binomial", engine="statsmodels", trials="n_ir")
    _compare(f.tidy(), REF["glm_binomial"], TOL_COEF_GLM, TOL_SE_GLM)


def test_beta_binomial_matches_r_optim():
    d = load_ref("ref_counts")
    f = fit("n_female_ir ~ beds_class + teaching", d, family="beta_binomial", engine="statsmodels", trials="n_ir")
    t = f.tidy().set_index("term")
    ref = REF["betabinomial"]
    for term, est, se in zip(ref["term"], ref["estimate"], ref["std_error"]):
        if term == "log_phi":
            assert np.log(t.loc["phi", "estimate"]) == pytest.approx(est, abs=TOL_BETABIN)
            assert t.loc["phi", "std_error"] / t.loc["phi", "estimate"] == pytest.approx(se, abs=TOL_BETABIN_SE)
        else:
            assert t.loc[term, "estimate"] == pytest.approx(est, abs=TOL_BETABIN), term
            assert t.loc[term, "std_error"] == pytest.approx(se, abs=TOL_BETABIN_SE), term


def test_ordinal_matches_clm_to_1e4():
    d = load_ref("ref_ordinal")
    f = fit("female_ir_share_class ~ beds_class + teaching", d, family="ordinal", engine="statsmodels")
    tidy = f.tidy()
    assert "Intercept" not in set(tidy["term"])
    _compare(tidy, REF["clm"], TOL_CLM, TOL_CLM)
    assert f.result["statsmodels"].llf == pytest.approx(REF["clm"]["logLik"], abs=1e-6)


def test_exponentiate_gives_odds_ratios_but_not_thresholds():
    d = load_ref("ref_ordinal")
    f = fit("female_ir_share_class ~ beds_class + teaching", d, family="ordinal", engine="statsmodels")
    a, b = f.tidy(), f.tidy(exponentiate=True)
    coef = ~a["term"].str.startswith("threshold")
    np.testing.assert_allclose(b.loc[coef, "estimate"], np.exp(a.loc[coef, "estimate"]))
    np.testing.assert_allclose(b.loc[~coef, "estimate"], a.loc[~coef, "estimate"])
    np.testing.assert_allclose(b["std_error"], a["std_error"])


def _separated():
    rng = np.random.default_rng(3)
    n = 60
    d = pd.DataFrame({
        "beds_class": pd.Categorical(rng.choice(BEDS, n), categories=BEDS, ordered=True),
        "teaching": rng.random(n) < 0.5,
    })
    d["cover_24_7"] = rng.random(n) < 0.5
    d.loc[d["beds_class"] == ">=800", "cover_24_7"] = True  # every large hospital covers 24/7
    return d


def test_separation_is_detected_and_named():
    d = _separated()
    with pytest.warns(SeparationWarning, match=r"beds_class\[T\.>=800\]"):
        fit("cover_24_7 ~ beds_class + teaching", d, family="bernoulli", engine="statsmodels")


def test_firth_is_finite_under_separation_and_solves_modified_score():
    d = _separated()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeparationWarning)  # Firth must not warn: it handles separation
        f = fit("cover_24_7 ~ beds_class + teaching", d, family="bernoulli", engine="statsmodels", firth=True)
    t = f.tidy().set_index("term")
    assert (t["method"] == "firth").all()
    # Firth's estimate under separation is finite and moderate (ML diverges to infinity)
    assert 1.0 < t.loc["beds_class[T.>=800]", "estimate"] < 6.0
    assert np.isfinite(t["std_error"]).all()
    X = f.design.X.to_numpy()
    beta, info, score_i = firth_logistic(X, f.design.y)
    np.testing.assert_allclose(score_i.sum(axis=0), 0.0, atol=1e-8)
    np.testing.assert_allclose(beta, t["estimate"].to_numpy(), atol=1e-10)


def test_firth_close_to_ml_in_large_samples():
    d = load_ref("ref_logit")
    ml = fit(FORMULA, d, family="bernoulli", engine="statsmodels").tidy()
    fi = fit(FORMULA, d, family="bernoulli", engine="statsmodels", firth=True).tidy()
    # bias reduction is O(1/n): small relative to the SE with n = 400
    assert np.all(np.abs(ml["estimate"] - fi["estimate"]) < 0.25 * ml["std_error"])
    # and shrinks towards zero
    assert np.all(np.abs(fi["estimate"]) <= np.abs(ml["estimate"]) + 1e-12)


def test_no_separation_in_ordinary_data():
    d = load_ref("ref_logit")
    f = fit(FORMULA, d, family="bernoulli", engine="statsmodels")
    assert detect_separation(f.design.X.to_numpy(), f.design.y, list(f.design.X.columns)) == []


def test_missing_raises_listing_every_cell_and_drop_is_reported():
    d = load_ref("ref_logit")
    d["teaching"] = d["teaching"].astype("boolean")  # nullable: missing answers are pd.NA
    d.loc[[3, 7], "teaching"] = pd.NA
    d.loc[5, "beds_class"] = np.nan
    with pytest.raises(SchemaError) as e:
        fit(FORMULA, d, family="bernoulli", engine="statsmodels")
    cells = {(p.row, p.column) for p in e.value.problems}
    assert cells == {(3, "teaching"), (7, "teaching"), (5, "beds_class")}
    with pytest.warns(DataDroppedWarning, match="3 of 400 rows"):
        f = fit(FORMULA, d, family="bernoulli", engine="statsmodels", missing="drop")
    assert len(f.design.y) == 397


def test_bad_inputs_raise_named_errors():
    d = load_ref("ref_logit")
    with pytest.raises(ModelSpecError, match="valid families"):
        fit(FORMULA, d, family="poisson", engine="statsmodels")
    with pytest.raises(ModelSpecError, match="valid engines"):
        fit(FORMULA, d, family="bernoulli", engine="stan")
    with pytest.raises(ModelSpecError, match="engine='pymc'"):
        fit(FORMULA, d.assign(country="AT"), family="bernoulli", engine="statsmodels", group="country")
    with pytest.raises(ModelSpecError, match="not columns"):
        fit("cover_24_7 ~ nonexistent", d, family="bernoulli", engine="statsmodels")
    with pytest.raises(ModelSpecError, match="trials"):
        fit("cover_24_7 ~ teaching", d, family="binomial", engine="statsmodels")
    bad = d.copy()
    bad.loc[0, "w"] = -1.0
    with pytest.raises(SchemaError, match="weights must be finite"):
        fit(FORMULA, bad, family="bernoulli", engine="statsmodels", weights="w")


def test_empty_category_raises_for_ml():
    d = load_ref("ref_logit")
    d = d[d["beds_class"] != "<200"]
    with pytest.raises(ModelSpecError, match=r"beds_class\[T\.200-399\]|no observations"):
        fit(FORMULA, d, family="bernoulli", engine="statsmodels")


def test_tidy_layout_is_fixed():
    d = load_ref("ref_logit")
    t = fit(FORMULA, d, family="bernoulli", engine="statsmodels", spec_id="s1").tidy(ci_prob=0.9)
    assert list(t.columns) == ["term", "estimate", "std_error", "lower", "upper", "method", "spec_id"]
    assert (t["spec_id"] == "s1").all()
    z = 1.6448536269514722
    np.testing.assert_allclose(t["upper"] - t["estimate"], z * t["std_error"], rtol=1e-10)


def test_beta_binomial_without_overdispersion_raises():
    from irmodels.errors import ConvergenceError

    rng = np.random.default_rng(5)
    d = pd.DataFrame({"teaching": rng.random(400) < 0.5, "n_ir": rng.integers(1, 8, 400)})
    d["n_female_ir"] = np.round(0.3 * d["n_ir"]).astype(int)  # underdispersed: the MLE of phi is infinite
    with pytest.raises(ConvergenceError, match="family='binomial'"):
        fit("n_female_ir ~ teaching", d, family="beta_binomial", engine="statsmodels", trials="n_ir")


def test_ordinal_separation_is_named():
    d = load_ref("ref_ordinal").iloc[:200].copy()
    # every non-teaching department in the lowest class: the teaching effect diverges
    d.loc[~d["teaching"], "female_ir_share_class"] = "0"
    with pytest.warns(SeparationWarning, match="teaching"):
        fit("female_ir_share_class ~ beds_class + teaching", d, family="ordinal", engine="statsmodels")
