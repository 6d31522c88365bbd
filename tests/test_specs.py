"""Model specifications as data (irmodels.models.specs): one list, looped over, never copied."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from irmodels.core.errors import ModelSpecError
from irmodels.models.specs import (
    CORE_PREDICTORS,
    OPTIONAL_PREDICTORS,
    SPECS,
    applicable,
    fit_all,
    fit_spec,
    get_spec,
    identification_labels,
    make_spec,
    with_predictors,
)

BEDS = ["<200", "200-399", "400-799", ">=800"]
CHAIR = ["DR", "DR_some_IR", "DR_IR_equal", "IR_mostly"]
SHARE = ["0", "1-25", "26-50", "51-75", ">75"]


def test_specs_cover_both_outcomes_with_core_predictors():
    ids = [s.spec_id for s in SPECS]
    assert len(ids) == len(set(ids))
    outcomes = {s.options.get("share_class") or s.outcome for s in SPECS}
    assert {"cover_24_7", "female_ir_share_class"} <= outcomes
    for s in SPECS:
        assert set(CORE_PREDICTORS) <= set(s.predictors)
        assert s.formula == f"{s.outcome} ~ " + " + ".join(s.predictors)
        assert s.group == "country"
    fields = {f.name for f in dataclasses.fields(SPECS[0])}
    assert {"spec_id", "outcome", "formula", "family", "group", "weights", "priors", "predictors"} <= fields


def test_with_predictors_adds_optional_terms_to_every_spec():
    more = with_predictors(OPTIONAL_PREDICTORS)
    assert len(more) == len(SPECS)
    for old, new in zip(SPECS, more):
        assert new.predictors == old.predictors + OPTIONAL_PREDICTORS
        assert new.formula.endswith("+ procedure_volume_class + ir_unit")
        assert new.spec_id == old.spec_id + "+procedure_volume_class+ir_unit"


def test_invalid_specs_raise():
    with pytest.raises(ModelSpecError, match="family"):
        make_spec("x", "cover_24_7", "poisson")
    with pytest.raises(ModelSpecError, match="engines"):
        make_spec("x", "cover_24_7", "bernoulli", engines=("stan",))
    with pytest.raises(ModelSpecError, match="formula"):
        dataclasses.replace(SPECS[0], formula="cover_24_7 ~ teaching")
    with pytest.raises(ModelSpecError, match="valid"):
        get_spec("nope")


def _wave(n=300, seed=1, counts=True):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({
        "country": rng.choice(["AT", "DE", "FR"], n),
        "beds_class": pd.Categorical(rng.choice(BEDS, n), categories=BEDS, ordered=True),
        "teaching": rng.random(n) < 0.7,
        "chair_profile": pd.Categorical(rng.choice(CHAIR, n), categories=CHAIR, ordered=True),
        "cover_24_7": rng.random(n) < 0.6,
        "female_ir_share_class": pd.Categorical(rng.choice(SHARE, n), categories=SHARE, ordered=True),
    })
    if counts:
        d["n_ir"] = rng.integers(1, 6, n)
        d["n_female_ir"] = rng.binomial(d["n_ir"], rng.beta(3, 7, n))  # overdispersed counts
    return d


def test_applicable_and_skips_are_reported():
    d = _wave(counts=False)
    ok, reason = applicable(get_spec("female_ir_counts"), d)
    assert not ok and "n_female_ir" in reason
    # share classes alone do not suffice for the binomial measurement model: team sizes are needed
    ok, reason = applicable(get_spec("female_ir_share"), d)
    assert not ok and "trials_distribution" in reason
    assert applicable(get_spec("female_ir_share").__class__(**{**get_spec("female_ir_share").__dict__,
                      "options": {**get_spec("female_ir_share").options, "trials_distribution": {3: 1.0}}}), d)[0]
    d_n = d.assign(n_ir=np.where(np.arange(len(d)) < 10, 3, np.nan))  # a few rows report the team size
    assert applicable(get_spec("female_ir_share"), d_n)[0]  # the share class then suffices
    tidy, fits, skipped = fit_all(d, engines=("statsmodels",))
    assert list(skipped["spec_id"]) == ["female_ir_counts"]
    assert set(tidy["spec_id"]) == {"cover_24_7", "female_ir_share_class"}
    assert (tidy.loc[tidy["spec_id"] == "cover_24_7", "method"] == "firth (profile penalised likelihood CI)").all()


def test_fit_spec_routes_options_by_engine():
    d = _wave()
    f = fit_spec(get_spec("female_ir_counts"), d, engine="statsmodels", draws=10, cache_dir="unused")
    assert f.group is None and f.spec_id == "female_ir_counts"
    assert "phi" in set(f.tidy()["term"])
    with pytest.raises(ModelSpecError, match="engines"):
        fit_spec(get_spec("female_ir_share"), d, engine="statsmodels")


def test_identification_labels_for_2017_terms():
    t = pd.DataFrame({"term": ["Intercept", "beds_class[T.>=800]", "teaching", "sd(country)"]})
    lab = identification_labels(t, get_spec("cover_24_7"))
    assert list(lab) == ["assumption"] * 4  # the paper publishes no cross-tabulation with cover_24_7
