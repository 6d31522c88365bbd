"""The entry point irmodels.models.fit.fit: validation, tidy layout, hashing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from irmodels.core.errors import DataDroppedWarning, ModelSpecError, SchemaError
from irmodels.models.fit import FREQUENTIST_COLUMNS, MCMC_COLUMNS, TIDY_COLUMNS, fit
from irmodels.models.design import build_design, data_hash

SHARE = ["0", "1-25", "26-50", "51-75", ">75"]


def _d(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b"], n),
                         "y": rng.random(n) < 0.5, "n": rng.integers(0, 5, n)})


def test_data_hash_is_canonical_and_sensitive():
    d = _d()
    assert data_hash(d) == data_hash(d.copy())
    assert len(data_hash(d)) == 64
    d2 = d.copy()
    d2.loc[0, "x"] += 1e-12
    assert data_hash(d2) != data_hash(d)


def test_bernoulli_outcome_must_be_binary():
    d = _d()
    d["y"] = d["y"].astype(int)
    d.loc[[2, 5], "y"] = 2
    with pytest.raises(SchemaError) as e:
        fit("y ~ x", d, family="bernoulli", engine="statsmodels")
    assert {p.row for p in e.value.problems} == {2, 5}


def test_counts_must_not_exceed_trials_and_zero_trials_are_reported():
    d = _d()
    d["k"] = np.minimum(1, d["n"])
    d.loc[3, "k"] = 9
    with pytest.raises(SchemaError, match="trials must be an integer >= k"), pytest.warns(DataDroppedWarning):
        fit("k ~ x", d, family="binomial", engine="statsmodels", trials="n")
    d.loc[3, "k"] = 0
    n_zero = int((d["n"] == 0).sum())
    with pytest.warns(DataDroppedWarning, match=f"{n_zero} of 120 rows with n = 0"):
        f = fit("k ~ x", d, family="binomial", engine="statsmodels", trials="n")
    assert len(f.design.y) == 120 - n_zero


def test_share_class_rows_need_counts_or_class():
    d = _d(10)
    d["k"] = pd.array([1] * 5 + [None] * 5, dtype="Int64")
    d["n"] = pd.array([2] * 5 + [None] * 5, dtype="Int64")
    d["c"] = pd.Categorical([None] * 5 + ["0", "1-25", None, ">75", "0"], categories=SHARE, ordered=True)
    with pytest.raises(SchemaError) as e:
        build_design("k ~ x", d, family="binomial", group=None, weights=None, trials="n", share_class="c",
                     missing="raise", drop_intercept=False)
    assert [p.row for p in e.value.problems] == [7]
    with pytest.warns(DataDroppedWarning, match="1 of 10"):
        des = build_design("k ~ x", d, family="binomial", group=None, weights=None, trials="n", share_class="c",
                           missing="drop", drop_intercept=False)
    assert list(des.share_class) == [-1] * 5 + [0, 1, 4, 0]


def test_options_and_combinations_are_validated():
    d = _d()
    with pytest.raises(ModelSpecError, match="unknown options"):
        fit("y ~ x", d, family="bernoulli", engine="statsmodels", draws=10)
    with pytest.raises(ModelSpecError, match="share_class"):
        fit("y ~ x", d, family="bernoulli", engine="statsmodels", share_class="g")
    with pytest.raises(ModelSpecError, match="seed"):
        fit("y ~ x", d, family="bernoulli", engine="statsmodels", seed=1.5)
    with pytest.raises(ModelSpecError, match="one '~'"):
        fit("y x", d, family="bernoulli", engine="statsmodels")
    with pytest.raises(ModelSpecError, match="ordered categorical"):
        fit("g ~ x", d, family="ordinal", engine="statsmodels")


def test_tidy_columns_constants():
    assert TIDY_COLUMNS == ["term", "estimate", "std_error", "lower", "upper", "method", "spec_id"]
    assert MCMC_COLUMNS[:4] == ["r_hat", "ess_bulk", "ess_tail", "n_divergent"]
    t = fit("y ~ x", _d(), family="bernoulli", engine="statsmodels").tidy()
    assert list(t.columns) == TIDY_COLUMNS + FREQUENTIST_COLUMNS and list(t["term"]) == ["Intercept", "x"]
    assert (t["df_resid"] == len(_d()) - 2).all()
