"""MRP (irmodels.models.mrp.poststratify) on fits with a known, hand-made posterior.

No sampling: the posterior is a small DataTree with chosen draws, so every
post-stratified number can be computed by hand. Checked: the population
weighting sum_c N_c theta_c / sum_c N_c, the averaging over the respondents'
mix of predictors the cells lack (chair_profile, teaching), the fallback to
coarser strata, new countries (intercept drawn from Normal(0, sd_country)),
ordinal "positive" categories, input errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.special import expit

from irmodels.core.errors import ModelSpecError, SchemaError
from irmodels.models.fit import Fit
from irmodels.models.design import build_design
from irmodels.models.mrp import poststratify

BEDS = ["<200", "200-399", "400-799", ">=800"]
CHAIR = ["DR", "DR_some_IR", "DR_IR_equal", "IR_mostly"]


def respondents() -> pd.DataFrame:
    return pd.DataFrame({
        "country": ["AT", "AT", "AT", "DE", "DE"],
        "beds_class": pd.Categorical(["<200", "<200", ">=800", ">=800", ">=800"], categories=BEDS, ordered=True),
        "teaching": [True, False, True, True, True],
        "chair_profile": pd.Categorical(["DR", "IR_mostly", "DR", "IR_mostly", "IR_mostly"], categories=CHAIR,
                                        ordered=True),
        "cover_24_7": [True, False, True, True, False],
    })


FORMULA = "cover_24_7 ~ beds_class + teaching + chair_profile"


def fake_fit(b: np.ndarray, a: np.ndarray, sd: np.ndarray, family: str = "bernoulli", cut=None, data=None) -> Fit:
    """A Fit whose posterior is given: b (S, p), a (S, G), sd (S,); one chain."""
    data = respondents() if data is None else data
    formula = FORMULA if family == "bernoulli" else FORMULA.replace("cover_24_7", "share")
    design = build_design(formula, data, family=family, group="country", weights=None, trials=None,
                          share_class=None, missing="raise", drop_intercept=(family == "ordinal"))
    post = {"b": (("chain", "draw", "term"), b[None]), "a_country": (("chain", "draw", "country"), a[None]),
            "sd_country": (("chain", "draw"), sd[None])}
    if cut is not None:
        post["cutpoints"] = (("chain", "draw", "cutpoint"), cut[None])
    dt = xr.DataTree.from_dict({"posterior": xr.Dataset(post)})
    return Fit(formula=formula, family=family, engine="pymc", group="country", weights=None, seed=0, priors={},
               options={}, spec_id="fake", design=design, result=dt, data_hash="")


def draws(seed=0, S=50):
    rng = np.random.default_rng(seed)
    p = 1 + 3 + 1 + 3
    return rng.normal(0, 0.5, (S, p)), rng.normal(0, 0.5, (S, 2)), np.abs(rng.normal(0.5, 0.1, S))


def test_poststratification_weights_and_predictor_mix():
    b, a, sd = draws()
    f = fake_fit(b, a, sd)
    cells = pd.DataFrame({"country": ["AT", "AT", "DE"], "beds_class": pd.Categorical(["<200", ">=800", ">=800"]),
                          "N": [30.0, 10.0, 60.0]})
    res = poststratify(f, cells).set_index("domain")
    X = f.design.X.to_numpy()
    p = expit(b @ X.T + a[:, [0, 0, 0, 1, 1]])  # respondents' probabilities (AT=0, DE=1)
    theta_at_small = p[:, [0, 1]].mean(axis=1)  # AT <200: mix of respondents 0 and 1
    theta_at_large = p[:, 2]
    theta_de_large = p[:, [3, 4]].mean(axis=1)
    europe = (30 * theta_at_small + 10 * theta_at_large + 60 * theta_de_large) / 100
    assert res.loc["Europe", "estimate"] == pytest.approx(europe.mean(), rel=1e-12)
    assert res.loc["Europe", "std_error"] == pytest.approx(europe.std(ddof=1), rel=1e-12)
    assert res.loc["Europe", "lower"] == pytest.approx(np.quantile(europe, 0.025), rel=1e-12)
    at = (30 * theta_at_small + 10 * theta_at_large) / 40
    assert res.loc["AT", "estimate"] == pytest.approx(at.mean(), rel=1e-12)
    assert res.loc["AT", "n_respondents"] == 3 and res.loc["DE", "N"] == 60.0
    assert list(res.attrs["draws"].columns) == ["Europe:Europe", "country:AT", "country:DE"]
    assert res.attrs["fallback"] == 0
    # Monte Carlo standard errors from the draws in chain order (ArviZ's mean and quantile MCSE)
    import arviz as az
    import xarray as xr

    n_chain = int(f.result["posterior"].sizes["chain"])
    ds = xr.Dataset({"x": (("chain", "draw"), europe.reshape(n_chain, -1))})
    assert res.loc["Europe", "mcse_estimate"] == pytest.approx(float(az.mcse(ds)["x"]), rel=1e-12)
    assert res.loc["Europe", "mcse_upper"] == pytest.approx(float(az.mcse(ds, method="quantile", prob=0.975)["x"]),
                                                            rel=1e-12)
    assert 0 < res.loc["Europe", "mcse_estimate"] < res.loc["Europe", "std_error"]


def test_fallback_to_beds_stratum_and_new_country():
    b, a, sd = draws(1)
    f = fake_fit(b, a, sd)
    # DE has no <200 respondent: the mix comes from all <200 respondents (AT's two)
    cells = pd.DataFrame({"country": ["DE", "XX"], "beds_class": pd.Categorical(["<200", ">=800"]), "N": [1.0, 1.0]})
    res = poststratify(f, cells, seed=3)
    assert res.attrs["fallback"] == 2  # DE <200 and the new country XX
    assert res.attrs["new_countries"] == ["XX"]
    sub = respondents().iloc[[0, 1]].assign(country="DE")
    X = f.design.new_X(sub).to_numpy()
    de = expit(b @ X.T + a[:, [1]]).mean(axis=1)
    got = res.set_index("domain").loc["DE", "estimate"]
    assert got == pytest.approx(de.mean(), rel=1e-12)
    # new country: intercept sd_country * N(0, 1) with the given seed
    rng = np.random.default_rng(3)
    a_new = sd * rng.standard_normal((len(sd), 1))[:, 0]
    Xl = f.design.new_X(respondents().iloc[[2, 3, 4]]).to_numpy()
    xx = expit(b @ Xl.T + a_new[:, None]).mean(axis=1)
    assert res.set_index("domain").loc["XX", "estimate"] == pytest.approx(xx.mean(), rel=1e-12)


def test_ordinal_positive_categories():
    d = respondents().drop(columns="cover_24_7")
    d["share"] = pd.Categorical(["0", "1-25", "26-50", "0", "1-25"], categories=["0", "1-25", "26-50"], ordered=True)
    rng = np.random.default_rng(2)
    S = 40
    b = rng.normal(0, 0.3, (S, 7))
    a = rng.normal(0, 0.3, (S, 2))
    cut = np.sort(rng.normal(0, 1, (S, 2)), axis=1)
    f = fake_fit(b, a, np.full(S, 0.3), family="ordinal", cut=cut, data=d)
    cells = pd.DataFrame({"country": ["AT"], "beds_class": pd.Categorical([">=800"]), "N": [5.0]})
    res = poststratify(f, cells, positive=["26-50"]).set_index("domain")
    X = f.design.new_X(d.iloc[[2]]).to_numpy()
    eta = b @ X.T[:, 0] + a[:, 0]
    top = 1 - expit(cut[:, 1] - eta)
    assert res.loc["Europe", "estimate"] == pytest.approx(top.mean(), rel=1e-12)
    with pytest.raises(ModelSpecError, match="not in"):
        poststratify(f, cells, positive=["51-75"])


def test_bad_cells_raise():
    b, a, sd = draws()
    f = fake_fit(b, a, sd)
    with pytest.raises(ModelSpecError, match="lack columns"):
        poststratify(f, pd.DataFrame({"country": ["AT"]}))
    bad = pd.DataFrame({"country": ["AT", "AT"], "beds_class": ["<200", "huge"], "N": [-1.0, 1.0]})
    with pytest.raises(SchemaError) as e:
        poststratify(f, bad)
    assert {(p.row, p.column) for p in e.value.problems} == {(0, "N"), (1, "beds_class")}


def test_given_population_mix_equals_cells_that_carry_the_predictors():
    """Issue 10: population covariates as inputs. A mix with one teaching status and chair
    profile per bed class must give exactly the MRP of cells that carry those columns."""
    from irmodels.models.mrp import population_mix

    f = fake_fit(*draws(3))
    cells = pd.DataFrame({"country": ["AT", "AT", "DE", "DE"], "beds_class": ["<200", ">=800", "<200", ">=800"],
                          "N": [30.0, 10.0, 50.0, 20.0]})
    mix = population_mix({"<200": 0.0, "200-399": 0.0, "400-799": 1.0, ">=800": 1.0}, {"IR_mostly": 1.0})
    got = poststratify(f, cells, mix=mix).set_index("domain")
    explicit = cells.assign(teaching=cells["beds_class"].isin([">=800"]), chair_profile="IR_mostly")
    want = poststratify(f, explicit).set_index("domain")
    np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=0, atol=1e-12)
    assert got.attrs["mix"] == "given" and want.attrs["mix"] == "respondents"


def test_given_mix_is_a_weighted_average_of_its_components():
    from irmodels.models.mrp import population_mix

    f = fake_fit(*draws(4))
    cells = pd.DataFrame({"country": ["AT", "DE"], "beds_class": ["<200", ">=800"], "N": [40.0, 60.0]})
    t = {"<200": 0.3, "200-399": 0.5, "400-799": 0.7, ">=800": 0.9}
    chair = {"DR": 0.25, "IR_mostly": 0.75}
    got = poststratify(f, cells, mix=population_mix(t, chair)).set_index("domain")
    # by hand: theta_c = sum over (teaching, chair) of share * prediction; Europe = N-weighted
    parts = []
    for _, c in cells.iterrows():
        th = 0.0
        for teach, pt in ((True, t[c["beds_class"]]), (False, 1 - t[c["beds_class"]])):
            for ch, pc in chair.items():
                one = pd.DataFrame([{**c.to_dict(), "teaching": teach, "chair_profile": ch}])
                r = poststratify(f, one).set_index("domain")
                th = th + pt * pc * r.attrs["draws"][f"country:{c['country']}"].to_numpy()
        parts.append(th)
    europe = (parts[0] * 40 + parts[1] * 60) / 100
    assert got.loc["Europe", "estimate"] == pytest.approx(float(europe.mean()), abs=1e-12)


def test_bad_population_mix_lists_every_problem():
    from irmodels.models.mrp import population_mix

    with pytest.raises(SchemaError) as e:
        population_mix({"<200": 1.5, "200-399": "x"}, {"DR": 0.5})
    msg = str(e.value)
    assert "<200" in msg and "200-399" in msg and "400-799" in msg and "sum to 1" in msg
    f = fake_fit(*draws(5))
    cells = pd.DataFrame({"country": ["AT"], "beds_class": ["<200"], "N": [1.0]})
    bad = pd.DataFrame({"beds_class": ["<200"], "teaching": [True], "chair_profile": ["DR"], "share": [0.5]})
    with pytest.raises(SchemaError, match="sum to 1"):
        poststratify(f, cells, mix=bad)


def _reference_poststratify(f, cells, resp, b, a, a_new_by_country):
    """Brute force, one cell at a time (the estimand of the module docstring, written out)."""
    theta = np.zeros((b.shape[0], len(cells)))
    levels = list(f.design.group_levels)
    for i, cell in cells.reset_index(drop=True).iterrows():
        m = (resp["country"] == cell["country"]) & (resp["beds_class"].astype(str) == str(cell["beds_class"]))
        if not m.any():
            m = resp["beds_class"].astype(str) == str(cell["beds_class"])
        if not m.any():
            m = pd.Series(True, index=resp.index)
        sub = resp.loc[m].assign(beds_class=pd.Categorical([str(cell["beds_class"])] * int(m.sum()), categories=BEDS,
                                                           ordered=True))
        X = f.design.new_X(sub).to_numpy()
        icpt = a[:, levels.index(cell["country"])] if cell["country"] in levels else a_new_by_country[cell["country"]]
        theta[:, i] = expit(b @ X.T + icpt[:, None]).mean(axis=1)
    return theta


def test_vectorised_expansion_equals_cell_by_cell_reference():
    # 60 respondents in 6 countries, no respondent in the 200-399 class; 10 frame countries x 4
    # classes: own-country cells, fallback to the bed class, fallback to everyone, new countries
    rng = np.random.default_rng(11)
    n = 60
    resp = pd.DataFrame({
        "country": rng.choice([f"C{i}" for i in range(6)], n),
        "beds_class": pd.Categorical(rng.choice(["<200", "400-799", ">=800"], n), categories=BEDS, ordered=True),
        "teaching": rng.random(n) < 0.5,
        "chair_profile": pd.Categorical(rng.choice(CHAIR, n), categories=CHAIR, ordered=True),
        "cover_24_7": rng.random(n) < 0.5,
    })
    S = 30
    b, a, sd = rng.normal(0, 0.5, (S, 8)), rng.normal(0, 0.5, (S, 6)), np.abs(rng.normal(0.5, 0.1, S))
    f = fake_fit(b, a, sd, data=resp)
    cells = pd.DataFrame([(f"C{i}", bc) for i in range(10) for bc in BEDS], columns=["country", "beds_class"])
    cells["N"] = rng.integers(1, 30, len(cells)).astype(float)
    res = poststratify(f, cells, by="beds_class", seed=4)
    new = sorted(set(cells["country"]) - set(f.design.group_levels))
    a_new = sd[:, None] * np.random.default_rng(4).standard_normal((S, len(new)))
    theta = _reference_poststratify(f, cells, resp, b, a, {c: a_new[:, j] for j, c in enumerate(new)})
    N = cells["N"].to_numpy()
    got = res.set_index(["level", "domain"])
    europe = theta @ N / N.sum()
    assert got.loc[("Europe", "Europe"), "estimate"] == pytest.approx(europe.mean(), rel=1e-12)
    assert got.loc[("Europe", "Europe"), "upper"] == pytest.approx(np.quantile(europe, 0.975), rel=1e-12)
    for c in ("C0", "C7"):
        m = (cells["country"] == c).to_numpy()
        d = theta[:, m] @ N[m] / N[m].sum()
        assert got.loc[("country", c), "estimate"] == pytest.approx(d.mean(), rel=1e-12)
        assert got.loc[("country", c), "std_error"] == pytest.approx(d.std(ddof=1), rel=1e-12)
    for bc in BEDS:
        m = (cells["beds_class"] == bc).to_numpy()
        d = theta[:, m] @ N[m] / N[m].sum()
        assert got.loc[("beds_class", bc), "estimate"] == pytest.approx(d.mean(), rel=1e-12)
        assert got.loc[("beds_class", bc), "n_respondents"] == int((resp["beds_class"] == bc).sum())
    # every cell without respondents of its own country and class borrowed a coarser mix
    own = cells.merge(resp[["country", "beds_class"]].astype(str).drop_duplicates(), on=["country", "beds_class"])
    assert res.attrs["fallback"] == len(cells) - len(own)
    assert res.attrs["new_countries"] == new


def test_bad_n_values_all_listed():
    b, a, sd = draws()
    f = fake_fit(b, a, sd)
    bad = pd.DataFrame({"country": ["AT"] * 4, "beds_class": ["<200"] * 4, "N": [1.0, "abc", np.nan, np.inf]})
    with pytest.raises(SchemaError) as e:
        poststratify(f, bad)
    assert sorted(p.row for p in e.value.problems) == [1, 2, 3]
