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
* Firth with profile penalised-likelihood intervals <-> R ``logistf`` (``pl = TRUE``),
  published output on ``sex2`` (95% and 90%) and on the Heinze & Schemper (2002)
  endometrial data: tests/reference/models/logistf/ (README.md gives every source,
  commit and tolerance). Issue 10: coefficients to 1e-6, interval ends to 1e-3.
* The profile interval ends against a brute-force profile (every point a full
  re-optimisation with scipy BFGS) on 2017-like simulated data with separation.
"""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from irmodels.core.errors import ConvergenceWarning, DataDroppedWarning, ModelSpecError, SchemaError, SeparationWarning
from irmodels.models.fit import fit
from irmodels.models.firth import firth_logistic, firth_profile
from irmodels.models.frequentist import detect_separation
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
    assert (t["method"] == "firth (profile penalised likelihood CI)").all()
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
    with pytest.raises(ModelSpecError, match="not a column"):
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
    assert list(t.columns) == ["term", "estimate", "std_error", "lower", "upper", "method", "spec_id", "p_value",
                               "df_resid"]
    assert (t["spec_id"] == "s1").all()
    assert (t["df_resid"] == 400 - 8).all()  # n - p: the complete-data df for pooling
    z = 1.6448536269514722
    np.testing.assert_allclose(t["upper"] - t["estimate"], z * t["std_error"], rtol=1e-10)


def test_beta_binomial_without_overdispersion_raises():
    from irmodels.core.errors import ConvergenceError

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



# --- the engine's own work at scale (issue 13): same answers from the distinct rows ------------


def _lp_on_every_row(X, y, names):
    """The separation LP of Konis (2007) with one constraint per row (the form before issue 13)."""
    from scipy import optimize

    s = 2.0 * np.asarray(y, dtype=float) - 1.0
    A = -(s[:, None] * X)
    res = optimize.linprog(A.sum(axis=0), A_ub=A, b_ub=np.zeros(len(y)), bounds=[(-1, 1)] * X.shape[1],
                           method="highs")
    if res.status != 0 or -res.fun <= 1e-7:
        return []
    return [n for n, v in zip(names, res.x) if abs(v) > 1e-7]


def _separation_cases():
    """Designs with and without (quasi-)complete separation, many rows per covariate pattern."""
    rng = np.random.default_rng(11)
    n = 4000
    d = pd.DataFrame({"beds_class": pd.Categorical(rng.choice(BEDS, n), categories=BEDS, ordered=True),
                      "teaching": rng.random(n) < 0.5,
                      "chair_profile": pd.Categorical(rng.choice(CHAIR, n), categories=CHAIR, ordered=True)})
    d["cover_24_7"] = rng.random(n) < 0.4
    one = d.assign(cover_24_7=d["cover_24_7"] | (d["beds_class"] == ">=800"))  # one term
    two = one.assign(cover_24_7=one["cover_24_7"] & ~(d["chair_profile"] == "IR_mostly"))  # two terms
    cont = pd.DataFrame({"x": rng.normal(size=300), "teaching": rng.random(300) < 0.5})
    cont["cover_24_7"] = cont["x"] > 0.1  # complete separation by a continuous predictor: rows all distinct
    return [(FORMULA, load_ref("ref_logit"), []), ("cover_24_7 ~ beds_class + teaching", _separated(), None),
            (FORMULA, d, []), (FORMULA, one, None), (FORMULA, two, None),
            ("cover_24_7 ~ x + teaching", cont, None)]


def test_separation_from_distinct_rows_equals_the_lp_on_every_row():
    """Separation depends on which (x, y) pairs occur, not how often: the LP on the distinct rows
    (counts as objective weights) names the same terms as the LP with one constraint per row."""
    found = []
    for formula, d, expected in _separation_cases():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = fit(formula, d, family="bernoulli", engine="statsmodels")
        X, y, names = f.design.X.to_numpy(), f.design.y, list(f.design.X.columns)
        every_row = _lp_on_every_row(X, y, names)
        assert detect_separation(X, y, names) == every_row, formula
        assert f.result["separation"] == every_row, formula
        if expected is not None:
            assert every_row == expected
        found.append(every_row)
    # the cases do cover both answers: none, one term, two terms, a continuous predictor
    assert found[1] == ["beds_class[T.>=800]"] and found[3] == ["beds_class[T.>=800]"]
    assert set(found[4]) >= {"beds_class[T.>=800]", "chair_profile[T.IR_mostly]"} and found[5]


def test_separation_of_counts_equals_the_lp_on_success_and_failure_records():
    d = load_ref("ref_counts").copy()
    d.loc[d["teaching"], "n_female_ir"] = 0  # no woman in any teaching department: teaching diverges
    with pytest.warns(SeparationWarning, match="teaching"):
        f = fit("n_female_ir ~ beds_class + teaching", d, family="binomial", engine="statsmodels", trials="n_ir")
    X, k, n = f.design.X.to_numpy(), f.design.y, f.design.trials
    rows, ys = [], []
    for i in range(len(k)):  # one success record if k > 0, one failure record if n - k > 0
        if k[i] > 0:
            rows.append(X[i]); ys.append(1)
        if n[i] - k[i] > 0:
            rows.append(X[i]); ys.append(0)
    expected = _lp_on_every_row(np.array(rows), np.array(ys), list(f.design.X.columns))
    assert "teaching" in expected and f.result["separation"] == expected


def test_rank_check_from_distinct_rows_sees_the_singular_values_of_x():
    from irmodels.models.frequentist import _representatives, _row_codes

    d = load_ref("ref_logit")
    X = fit(FORMULA, d, family="bernoulli", engine="statsmodels").design.X.to_numpy()
    X = np.vstack([X, X[:150]])  # repeated rows
    rep, counts = _representatives(_row_codes(len(X), *X.T))
    uniq, ref_counts = np.unique(X, axis=0, return_counts=True)
    assert len(rep) == len(uniq)
    assert dict(zip(map(tuple, X[rep]), counts)) == dict(zip(map(tuple, uniq), ref_counts))  # rows and counts
    np.testing.assert_allclose(np.linalg.svd(np.sqrt(counts)[:, None] * X[rep], compute_uv=False),
                               np.linalg.svd(X, compute_uv=False), rtol=1e-12)
    collinear = d.assign(teaching2=d["teaching"])
    with pytest.raises(ModelSpecError, match="rank deficient"):
        fit(FORMULA + " + teaching2", collinear, family="bernoulli", engine="statsmodels")


def test_statsmodels_fit_hashes_its_data_only_when_read(monkeypatch):
    """The CSV hash of the data keys the posterior cache only: a statsmodels fit computes it on
    first read, from the data as they were at fit time."""
    import irmodels.models.fit as fit_module
    from irmodels.models.design import data_hash

    calls = []
    monkeypatch.setattr(fit_module, "data_hash", lambda df: calls.append(1) or data_hash(df))
    d = load_ref("ref_logit")
    expected = data_hash(d[["cover_24_7", "beds_class", "teaching", "chair_profile", "w"]])
    f = fit(FORMULA, d, family="bernoulli", engine="statsmodels", weights="w")
    assert calls == []
    d.loc[0, "w"] = 99.0  # the caller's frame changes after the fit
    assert f.data_hash == expected and f.data_hash == expected and len(calls) == 1
    call = fit_module._canonical(fit_module._call_record(f))
    assert f.content_hash == hashlib.sha256((call + expected + fit_module._code_hash()).encode()).hexdigest()


def test_vectorised_checks_list_every_bad_value_in_row_order():
    d = load_ref("ref_logit").iloc[:40].copy()
    d["w"] = d["w"].astype(float)
    d.loc[[3, 17], "w"] = [0.0, np.inf]
    d["cover_24_7"] = d["cover_24_7"].astype(float)
    d.loc[[5, 9], "cover_24_7"] = [0.5, 2.0]
    with pytest.raises(SchemaError) as e:
        fit(FORMULA, d, family="bernoulli", engine="statsmodels", weights="w")
    got = [(p.row, p.column, p.value) for p in e.value.problems]
    assert got == [(5, "cover_24_7", 0.5), (9, "cover_24_7", 2.0), (3, "w", 0.0), (17, "w", np.inf)]
    ok = fit(FORMULA, d.drop(index=[3, 5, 9, 17]), family="bernoulli", engine="statsmodels", weights="w")
    flags = load_ref("ref_logit").iloc[:40].drop(index=[3, 5, 9, 17])["cover_24_7"].to_numpy()
    assert ok.design.y.dtype.kind == "i" and (ok.design.y == flags.astype(int)).all()

# --- Firth: profile penalised-likelihood intervals against R logistf ----------------------------

LOGISTF_DIR = REF_DIR / "logistf"
LOGISTF = json.loads((LOGISTF_DIR / "reference.json").read_text())
TOL_FIRTH_COEF = 1e-6  # issue 10; logistf prints 8 decimals and stops at its own convergence criterion
TOL_FIRTH_CI = 1e-3  # issue 10 (measured agreement: < 1e-7)
RTOL_FIRTH_P = 1e-6  # p-values printed to 7 significant digits
TOL_FIRTH_CHISQ = 1e-6  # penalised LR statistics printed to 8 decimals
TOL_FIRTH_LR = 1e-5  # model LR test printed as 49.09064
SEX2_FORMULA = "case ~ age + oc + vic + vicl + vis + dia"


def _logistf_terms(terms):
    return ["Intercept" if t == "(Intercept)" else t for t in terms]


def _sex2() -> pd.DataFrame:
    return pd.read_csv(LOGISTF_DIR / "sex2.txt", sep=r"\s+")


def _assert_matches_logistf(tidy: pd.DataFrame, ref: dict, *, with_p: bool = False) -> None:
    t = tidy.set_index("term").loc[_logistf_terms(ref["term"])]
    np.testing.assert_allclose(t["estimate"], ref["estimate"], rtol=0, atol=TOL_FIRTH_COEF)
    np.testing.assert_allclose(t["lower"], ref["lower"], rtol=0, atol=TOL_FIRTH_CI)
    np.testing.assert_allclose(t["upper"], ref["upper"], rtol=0, atol=TOL_FIRTH_CI)
    if with_p:
        np.testing.assert_allclose(t["p_value"], ref["p_value"], rtol=RTOL_FIRTH_P)


def test_sex2_data_are_logistf_sex2():
    d = _sex2()
    assert d.shape == (239, 7) and int(d["case"].sum()) == 130  # man/sex2.Rd: 239 observations


def test_firth_profile_ci_matches_logistf_sex2_95():
    f = fit(SEX2_FORMULA, _sex2(), family="bernoulli", engine="statsmodels", firth=True)
    t = f.tidy()
    assert (t["method"] == "firth (profile penalised likelihood CI)").all()
    assert (t["df_resid"] == 239 - 7).all()
    _assert_matches_logistf(t, LOGISTF["sex2_95"])
    # the profile interval is not the Wald one: asymmetric around the estimate (dia: few events)
    dia = t.set_index("term").loc["dia"]
    assert dia["upper"] - dia["estimate"] > 1.5 * (dia["estimate"] - dia["lower"])


def test_firth_profile_ci_matches_logistf_sex2_90_with_tests():
    f = fit(SEX2_FORMULA, _sex2(), family="bernoulli", engine="statsmodels", firth=True)
    ref = LOGISTF["sex2_90"]
    _assert_matches_logistf(f.tidy(ci_prob=0.9), ref, with_p=True)
    # penalised likelihood-ratio statistics of beta_j = 0 (logistf's "Chisq" column)
    prof = firth_profile(f.design.X.to_numpy(), f.design.y, level=0.9, names=list(f.design.X.columns))
    np.testing.assert_allclose(prof["chisq"], ref["chisq"], rtol=0, atol=TOL_FIRTH_CHISQ)
    # the model LR test: logistf's null model holds every slope at 0 in the full model's penalty
    from irmodels.models.firth import _firth_inputs, _firth_newton

    X, k, n, w = _firth_inputs(f.design.X.to_numpy(), f.design.y, None, None)
    full = _firth_newton(X, k, n, w, np.zeros(7), np.arange(7))[3]
    null = _firth_newton(X, k, n, w, np.zeros(7), np.array([0]))[3]
    assert 2 * (full - null) == pytest.approx(ref["lr_test"], abs=TOL_FIRTH_LR)


def test_firth_coefficients_match_logistf_repository_test():
    f = fit(SEX2_FORMULA, _sex2(), family="bernoulli", engine="statsmodels", firth=True)
    t = f.tidy(ci_prob=0.9).set_index("term")  # the coefficients do not depend on the interval
    ref = LOGISTF["sex2_logistf_repo_test"]
    np.testing.assert_allclose(t.loc[_logistf_terms(ref["term"]), "estimate"], ref["estimate"], rtol=0,
                               atol=TOL_FIRTH_COEF)


def test_firth_profile_ci_matches_logistf_endometrial():
    d = pd.read_csv(LOGISTF_DIR / "endometrial.csv")
    f = fit("HG ~ NV + PI + EH", d, family="bernoulli", engine="statsmodels", firth=True)
    _assert_matches_logistf(f.tidy(), LOGISTF["endometrial_95"])
    assert (f.tidy()["df_resid"] == 79 - 4).all()


def _separated_wave() -> pd.DataFrame:
    from irmodels.studies.simulate import simulate_wave

    d = simulate_wave(97, seed=2017)
    d = d[d["cover_24_7"].notna()].reset_index(drop=True)
    d["cover_24_7"] = d["cover_24_7"].astype(bool)
    d.loc[d["beds_class"] == "<200", "cover_24_7"] = False  # quasi-complete separation of the smallest class
    d["teaching"] = d["teaching"].astype(bool)
    return d


def test_firth_profile_ci_agrees_with_brute_force_profile():
    """Each end b of the interval of term j solves 2 [l*(b_hat) - max l*(beta_j = b)] = chi2_1(0.95).
    Checked with an independent optimiser: at b -+ 1e-3 the brute-force profile deviance (scipy BFGS
    over the other coefficients, from the penalised MLE) lies on either side of the cut-off, and it
    is below the cut-off at interior grid points (the interval is the whole set)."""
    from scipy import optimize as sopt
    from scipy import special as ssp

    d = _separated_wave()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeparationWarning)  # Firth handles separation: no warning
        f = fit("cover_24_7 ~ beds_class + teaching", d, family="bernoulli", engine="statsmodels", firth=True)
    t = f.tidy()
    X, y = f.design.X.to_numpy(), f.design.y.astype(float)

    def pll(beta):
        eta = X @ beta
        p = ssp.expit(eta)
        info = X.T @ ((p * (1 - p))[:, None] * X)
        return float(np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * np.linalg.slogdet(info)[1])

    b_hat = t["estimate"].to_numpy()
    top = pll(b_hat)
    q = stats.chi2.ppf(0.95, 1)

    def deviance(j, b):
        free = [i for i in range(len(b_hat)) if i != j]

        def neg(v):
            beta = b_hat.copy()
            beta[j] = b
            beta[free] = v
            return -pll(beta)

        res = sopt.minimize(neg, b_hat[free], method="BFGS", options={"gtol": 1e-9})
        return 2 * (top + res.fun)

    sep_term = "beds_class[T.200-399]"  # reference <200 is separated: every contrast is skewed
    assert t.set_index("term").loc[sep_term, "upper"] - b_hat[1] > 1.2 * (b_hat[1] - t.set_index("term").loc[sep_term, "lower"])
    for j, row in t.iterrows():
        lo, hi = row["lower"], row["upper"]
        assert np.isfinite(lo) and np.isfinite(hi)
        assert deviance(j, lo + 1e-3) < q < deviance(j, lo - 1e-3), row["term"]
        assert deviance(j, hi - 1e-3) < q < deviance(j, hi + 1e-3), row["term"]
        for b in np.linspace(lo, hi, 7)[1:-1]:
            assert deviance(j, b) < q, (row["term"], b)


def test_firth_wald_option_and_weights():
    d = load_ref("ref_logit")
    fw = fit(FORMULA, d, family="bernoulli", engine="statsmodels", firth=True, ci_method="wald")
    tw = fw.tidy()
    assert (tw["method"] == "firth (Wald CI)").all()
    z = 1.959963984540054
    np.testing.assert_allclose(tw["upper"] - tw["estimate"], z * tw["std_error"], rtol=1e-10)
    tp = fit(FORMULA, d, family="bernoulli", engine="statsmodels", firth=True).tidy()
    np.testing.assert_allclose(tp["estimate"], tw["estimate"], atol=1e-12)  # same estimate, other interval
    # n = 400: profile and Wald intervals are close but not equal
    assert np.max(np.abs(tp["lower"] - tw["lower"])) < 0.1 and np.max(np.abs(tp["lower"] - tw["lower"])) > 1e-4
    # survey weights with the sandwich: Wald (design-based) by default; the profile is refused
    ts = fit(FORMULA, d, family="bernoulli", engine="statsmodels", firth=True, weights="w").tidy()
    assert (ts["method"] == "firth (Wald CI, sandwich)").all()
    with pytest.raises(ModelSpecError, match="ci_method='profile' with cov_type='sandwich'"):
        fit(FORMULA, d, family="bernoulli", engine="statsmodels", firth=True, weights="w", ci_method="profile")
    with pytest.raises(ModelSpecError, match="valid values are \\['profile', 'wald'\\]"):
        fit(FORMULA, d, family="bernoulli", engine="statsmodels", firth=True, ci_method="score")
    with pytest.raises(ModelSpecError, match="needs firth=True"):
        fit(FORMULA, d, family="bernoulli", engine="statsmodels", ci_method="profile")


def test_df_resid_and_p_values_for_every_family():
    d = load_ref("ref_counts")
    bb = fit("n_female_ir ~ beds_class + teaching", d, family="beta_binomial", engine="statsmodels",
             trials="n_ir").tidy().set_index("term")
    assert (bb["df_resid"] == len(d) - 6).all()  # 5 coefficients + log(phi)
    assert np.isnan(bb.loc["phi", "p_value"]) and np.isfinite(bb.loc["teaching", "p_value"])
    o = load_ref("ref_ordinal")
    ot = fit("female_ir_share_class ~ beds_class + teaching", o, family="ordinal", engine="statsmodels").tidy()
    assert (ot["df_resid"] == len(o) - 8).all()  # 4 slopes + 4 thresholds
    assert ot.loc[ot["term"].str.startswith("threshold"), "p_value"].isna().all()
    gl = fit(FORMULA, load_ref("ref_logit"), family="bernoulli", engine="statsmodels").tidy()
    z = gl["estimate"] / gl["std_error"]
    np.testing.assert_allclose(gl["p_value"], 2 * stats.norm.sf(np.abs(z)), rtol=1e-12)


def test_firth_profile_reports_cached_per_level():
    f = fit(SEX2_FORMULA, _sex2(), family="bernoulli", engine="statsmodels", firth=True)
    a = f.tidy(ci_prob=0.9)
    assert set(f.result["profile"]) == {0.9}
    b = f.tidy(ci_prob=0.9)
    pd.testing.assert_frame_equal(a, b)
    c = f.tidy(ci_prob=0.99)
    assert (c["lower"] < a["lower"]).all() and (c["upper"] > a["upper"]).all()
    np.testing.assert_allclose(c["p_value"], a["p_value"])  # the test does not depend on the level


def test_firth_profile_with_case_weights_and_counts_equals_row_data():
    """sex2 collapsed to its covariate patterns: case weights (cov_type='model') and binomial
    counts give the row-level profile intervals of logistf (weights are frequency weights)."""
    d = _sex2()
    covs = ["age", "oc", "vic", "vicl", "vis", "dia"]
    ref = LOGISTF["sex2_95"]
    freq = d.groupby(covs + ["case"]).size().rename("n_w").reset_index()
    assert len(freq) < 50 and freq["n_w"].sum() == 239
    fw = fit(SEX2_FORMULA, freq, family="bernoulli", engine="statsmodels", firth=True, weights="n_w",
             cov_type="model")
    _assert_matches_logistf(fw.tidy(), ref)
    counts = d.groupby(covs)["case"].agg(["sum", "size"]).reset_index().rename(columns={"sum": "k", "size": "m"})
    fc = fit("k ~ age + oc + vic + vicl + vis + dia", counts, family="binomial", engine="statsmodels", firth=True,
             trials="m")
    _assert_matches_logistf(fc.tidy(), ref)
    assert (fc.tidy()["df_resid"] == len(counts) - 7).all()  # rows are covariate patterns here


def test_firth_profile_flat_end_is_reported_infinite():
    X = _sex2()[["age", "dia"]].to_numpy(float)
    X = np.column_stack([np.ones(len(X)), X])
    y = _sex2()["case"].to_numpy()
    full = firth_profile(X, y, names=["Intercept", "age", "dia"], which=[2]).iloc[0]
    below, above = full["estimate"] - full["lower"], full["upper"] - full["estimate"]
    assert above > below + 1  # dia: few events, long upper tail
    with pytest.warns(ConvergenceWarning, match="'dia': no upper end within"):
        t = firth_profile(X, y, names=["Intercept", "age", "dia"], which=[2], max_width=below + 0.5).iloc[0]
    assert t["upper"] == np.inf and t["lower"] == pytest.approx(full["lower"], abs=1e-8)
