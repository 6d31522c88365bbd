"""Tests of irmodels.studies.simulate (the SIMULATED demonstration wave): determinism, schema, and that
the generating parameters are what a model recovers (large n, statsmodels logit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from irmodels.core.errors import SchemaError
from irmodels.data.schema import validate
from irmodels.studies.simulate import DEFAULT_PARAMS, WAVE, simulate_wave, truth


def test_deterministic_and_valid():
    a = simulate_wave(300, seed=3)
    b = simulate_wave(300, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(simulate_wave(300, seed=4))
    assert (a["wave"] == WAVE).all() and WAVE == "simulated_demo"
    validate(a)  # includes counts-vs-class agreement and count ordering
    for c in ("n_radiologists", "n_residents", "n_ir", "n_female_radiologists", "n_female_ir"):
        assert c in a.columns
    assert a.attrs["truth"] == truth()
    assert set(a["country"]) <= set(DEFAULT_PARAMS["country_effects"])


def test_missingness_and_structure():
    d = simulate_wave(5000, seed=1)
    assert not d["teaching"][d["n_residents"] > 0].eq(False).any()  # residents only in teaching hospitals
    assert d.loc[d["n_ir"] == 0, "female_ir_share_class"].isna().all()
    assert (d.loc[d["n_ir"] == 0, "procedure_volume_class"] == "0").all()
    # MCAR item non-response at the stated rates (binomial sd ~ 0.002 at n = 5000; 4 sd)
    assert d["cover_24_7"].isna().mean() == pytest.approx(DEFAULT_PARAMS["missing"]["cover_24_7"], abs=0.008)


def test_params_override_and_errors():
    d = simulate_wave(200, seed=1, params={"cover_24_7": {"intercept": 10.0}, "missing": {"cover_24_7": 0.0}})
    assert d["cover_24_7"].all()
    assert d.attrs["truth"]["cover_24_7"]["coef"] == DEFAULT_PARAMS["cover_24_7"]["coef"]  # merged, not replaced
    with pytest.raises(SchemaError, match="unknown parameter"):
        simulate_wave(10, seed=1, params={"nope": 1})
    with pytest.raises(SchemaError, match="positive integer"):
        simulate_wave(0, seed=1)


def test_logit_recovers_cover_coefficients():
    # Large-n recovery: logistic regression with the true predictors and country fixed effects
    # (sum-to-zero, like the truth) must recover each coefficient within 4 standard errors.
    n = 20000
    d = simulate_wave(n, seed=7, params={"missing": {"cover_24_7": 0.0}})
    d = d.assign(y=d["cover_24_7"].astype(int), beds=d["beds_class"].astype(str), chair=d["chair_profile"].astype(str),
                 teach=d["teaching"].astype(bool), country=d["country"].astype(str))
    fit = smf.logit("y ~ C(beds, Treatment('<200')) + teach + C(chair, Treatment('DR')) + C(country, Sum)",
                    data=d, missing="raise").fit(disp=0)
    coef = DEFAULT_PARAMS["cover_24_7"]["coef"]
    names = {
        "beds_class[200-399]": "C(beds, Treatment('<200'))[T.200-399]",
        "beds_class[400-799]": "C(beds, Treatment('<200'))[T.400-799]",
        "beds_class[>=800]": "C(beds, Treatment('<200'))[T.>=800]",
        "teaching[True]": "teach[T.True]",
        "chair_profile[DR_some_IR]": "C(chair, Treatment('DR'))[T.DR_some_IR]",
        "chair_profile[DR_IR_equal]": "C(chair, Treatment('DR'))[T.DR_IR_equal]",
        "chair_profile[IR_mostly]": "C(chair, Treatment('DR'))[T.IR_mostly]",
    }
    for k, term in names.items():
        assert abs(fit.params[term] - coef[k]) < 4 * fit.bse[term], (k, fit.params[term], coef[k])
    assert abs(fit.params["Intercept"] - DEFAULT_PARAMS["cover_24_7"]["intercept"]) < 4 * fit.bse["Intercept"]


def test_female_ir_share_near_truth():
    # overall share of women among IRs implied by the intercept and coefficients is about 10-15%
    d = simulate_wave(20000, seed=2)
    share = d["n_female_ir"].sum() / d.loc[d["n_female_ir"].notna(), "n_ir"].sum()
    assert 0.08 < share < 0.16
    assert np.isclose(d["n_female_radiologists"].sum() / d["n_radiologists"].sum(),
                      DEFAULT_PARAMS["female_radiologist_mean"], atol=0.02)
