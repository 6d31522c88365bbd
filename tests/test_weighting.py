"""Tests of irmodels.nonresponse.weighting (the interface and the registry) and of the modules
behind it: raking (the cell-table kernel), weighting_methods, weighting_diagnostics, collapse.

Reference values: R ``survey`` 4.1.1 (tests/reference/survey/make_reference.R ->
reference.json) for ``rake`` and ``calibrate`` (linear, logit with bounds 0.5-2)
on the ``apistrat`` data; closed forms (post-stratification, saturated propensity
model, Kish, raking with one row per category or zero base weights) elsewhere;
invariants (raked margins equal targets; the same weights whatever the column type) by
hypothesis and by construction.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from irmodels.core.errors import ConvergenceError, DataDroppedWarning, WeightingError
from irmodels.nonresponse.raking import rake
from irmodels.nonresponse.weighting import METHODS, WeightingResult, register_method, weight
from irmodels.nonresponse.weighting_diagnostics import effective_n, kish_deff, trim

REF_DIR = Path(__file__).parent / "reference" / "survey"
REF = json.loads((REF_DIR / "reference.json").read_text())
API = pd.read_csv(REF_DIR / "apistrat.csv")
MARGINS = REF["margins"]
RTOL_R = 1e-6  # issue 4: raking weights match R survey::rake to 1e-6 relative


def test_rake_matches_r_survey_rake():
    w = rake(API, MARGINS, API["pw"])
    ref = np.array(REF["rake"]["weight"])
    assert list(API["snum"]) == REF["rake"]["snum"]
    np.testing.assert_allclose(w.to_numpy(), ref, rtol=RTOL_R, atol=0)
    assert w.index.equals(API.index)


@pytest.mark.parametrize("method, key, options", [("linear", "calibrate_linear", {}), ("logit", "calibrate_logit_0.5_2", {"bounds": (0.5, 2)})])
def test_calibration_matches_r_survey_calibrate(method, key, options):
    res = weight(API, method, margins=MARGINS, base_weight="pw", **options)
    np.testing.assert_allclose(res.weights.to_numpy(), np.array(REF[key]["weight"]), rtol=RTOL_R, atol=0)
    if method == "logit":
        g = res.weights / API["pw"]
        assert g.min() >= 0.5 and g.max() <= 2


def test_weight_rake_result_and_margin_diagnostics():
    res = weight(API, "rake", margins=MARGINS, base_weight="pw")
    assert isinstance(res, WeightingResult) and res.method == "rake"
    mt = res.diagnostics["margins"]
    np.testing.assert_allclose(mt["weighted_total"], mt["target"], rtol=1e-9)
    assert np.abs(mt["std_diff_after"]).max() < 1e-8
    # before = base weights: the apistrat design weights reproduce stype exactly but not comp.imp
    before = mt.set_index(["variable", "category"])["std_diff_before"]
    assert abs(before[("comp.imp", "No")]) > 0.1
    s = res.diagnostics["summary"]
    w = res.weights.to_numpy()
    assert s["deff_kish"] == pytest.approx(len(w) * (w**2).sum() / w.sum() ** 2, rel=1e-12)
    assert s["n_eff"] == pytest.approx(len(w) / s["deff_kish"], rel=1e-12)


def test_kish_known_values():
    assert kish_deff([1, 1, 1, 1]) == 1.0
    assert kish_deff([1, 3]) == pytest.approx(2 * 10 / 16)
    assert effective_n([1, 3]) == pytest.approx(16 / 10)


def _toy():
    return pd.DataFrame({"a": ["x", "x", "y", "y", "y"], "b": ["u", "v", "u", "v", "v"]})


def test_rake_errors_are_clear():
    d = _toy()
    good = {"a": {"x": 40, "y": 60}, "b": {"u": 50, "v": 50}}
    with pytest.raises(WeightingError, match=r"category 'z' \(population total 5\) is absent from the sample"):
        rake(d, {"a": {"x": 40, "y": 55, "z": 5}, "b": good["b"]})
    with pytest.raises(WeightingError, match="category 'y' is in the data but not in the margin"):
        rake(d, {"a": {"x": 100}, "b": good["b"]})
    with pytest.raises(WeightingError, match="total is 0; totals must be > 0"):
        rake(d, {"a": {"x": 100, "y": 0}, "b": good["b"]})
    with pytest.raises(WeightingError, match="total is -5"):
        rake(d, {"a": {"x": 105, "y": -5}, "b": good["b"]})
    with pytest.raises(WeightingError, match="must be finite"):
        rake(d, {"a": {"x": 100, "y": float("nan")}, "b": good["b"]})
    with pytest.raises(WeightingError, match="different population totals"):
        rake(d, {"a": {"x": 40, "y": 60}, "b": {"u": 50, "v": 60}})
    with pytest.raises(WeightingError, match=r"row 2: weight is nan"):
        rake(d, good, pd.Series([1, 1, np.nan, 1, 1.0]))
    with pytest.raises(WeightingError, match=r"row 1: weight is -1.0"):
        rake(d, good, [1, -1, 1, 1, 1])
    with pytest.raises(WeightingError, match="column 'c' not in the data"):
        rake(d, {"c": {"x": 1}})
    d2 = d.copy()
    d2.loc[3, "b"] = None
    with pytest.raises(WeightingError, match="row 3, column 'b': missing value"):
        rake(d2, good)


def test_rake_lists_all_problems_at_once():
    d = _toy()
    with pytest.raises(WeightingError) as ei:
        rake(d, {"a": {"x": 40, "y": 0, "z": 60}, "b": {"u": 50, "w": 50}})
    msg = str(ei.value)
    for frag in ["'y': total is 0", "'z' (population total 60) is absent", "category 'v' is in the data but not in the margin", "'w' (population total 50) is absent"]:
        assert frag in msg


def test_rake_nonconvergence_raises():
    # x-u and y-v are empty cells: the margins cannot both be met
    d = pd.DataFrame({"a": ["x", "y"], "b": ["v", "u"]})
    with pytest.raises(ConvergenceError, match="did not converge in 1000 iterations"):
        rake(d, {"a": {"x": 10, "y": 90}, "b": {"u": 20, "v": 80}})
    # feasible but slow: too few iterations also raises
    d = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["u", "v", "u", "v"]})
    with pytest.raises(ConvergenceError):
        rake(d, {"a": {"x": 10, "y": 90}, "b": {"u": 20, "v": 80}}, np.array([1, 100, 100, 1.0]), max_iter=2)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(20, 120),
    seed=st.integers(0, 10_000),
    k=st.tuples(st.integers(2, 4), st.integers(2, 5), st.integers(2, 3)),
)
def test_rake_invariants(n, seed, k):
    """Raked margins equal the targets; weights finite and positive (targets built to be feasible)."""
    rng = np.random.default_rng(seed)
    cols = {f"v{j}": rng.integers(0, kj, n) for j, kj in enumerate(k)}
    for j, kj in enumerate(k):  # every category present
        cols[f"v{j}"][:kj] = np.arange(kj)
    d = pd.DataFrame({c: [f"c{v}" for v in vals] for c, vals in cols.items()})
    truth = rng.lognormal(0, 0.7, n) * 10  # a positive solution exists by construction
    margins = {c: d.groupby(c)[c].size().pipe(lambda s: {cat: float(truth[d[c] == cat].sum()) for cat in s.index}) for c in d}
    w = rake(d, margins, tol=1e-12, max_iter=2000)
    assert np.all(np.isfinite(w)) and np.all(w > 0)
    for c, m in margins.items():
        got = w.groupby(d[c]).sum()
        for cat, t in m.items():
            assert got[cat] == pytest.approx(t, rel=1e-9)


def test_base_and_cell_methods_closed_form():
    d = pd.DataFrame({"beds_class": ["a", "a", "b", "b", "b"]})
    res = weight(d, "base", margins={"beds_class": {"a": 50, "b": 50}})
    assert np.allclose(res.weights, 20.0)
    frame = pd.DataFrame({"beds_class": ["a", "b"], "N": [30.0, 70.0]})
    res = weight(d, "cell", frame=frame)
    np.testing.assert_allclose(res.weights, [15, 15, 70 / 3, 70 / 3, 70 / 3], rtol=1e-12)
    with pytest.raises(WeightingError, match="absent from the sample"):
        weight(d, "cell", frame=pd.DataFrame({"beds_class": ["a", "b", "c"], "N": [30.0, 60, 10]}))


def test_propensity_saturated_model_gives_inverse_response_rates():
    """Saturated logistic response model: rho_c = n_c / N_c exactly, weight = N_c / n_c."""
    d = pd.DataFrame({"beds_class": ["a"] * 2 + ["b"] * 5 + ["c"] * 3})
    frame = pd.DataFrame({"beds_class": ["a", "b", "c"], "N": [40.0, 50.0, 30.0]})
    res = weight(d, "propensity", frame=frame, normalize=False)
    np.testing.assert_allclose(res.weights, [20] * 2 + [10] * 5 + [10] * 3, rtol=1e-6)
    fp = res.diagnostics["frame_propensity"].set_index("beds_class")["propensity"]
    np.testing.assert_allclose(fp[["a", "b", "c"]], [2 / 40, 5 / 50, 3 / 30], rtol=1e-6)
    with pytest.raises(WeightingError, match="needs frame="):
        weight(d, "propensity")


def test_trim_redistributes_and_keeps_total():
    w = pd.Series([1.0, 1, 1, 1, 1, 1, 1, 1, 1, 11])
    t = trim(w, upper=2.0)  # 2 x mean (mean = 2)
    assert t.sum() == pytest.approx(w.sum(), rel=1e-12)
    assert t.max() <= 4.0 + 1e-9
    assert t.attrs["n_trimmed"] == 1
    # the excess 7 is spread proportionally over the 9 others: 1 + 7/9 each
    np.testing.assert_allclose(t[:9], 1 + 7 / 9, rtol=1e-12)
    with pytest.raises(WeightingError, match="cannot keep the total"):
        trim(w, upper=0.5)
    res = weight(API, "rake", margins=MARGINS, base_weight="pw", trim={"upper": 1.2})
    assert res.diagnostics["trimmed"]["n_trimmed"] > 0 and res.calibration is None
    assert res.weights.max() <= 1.2 * res.weights.mean() * (1 + 1e-9)


def test_collapse_is_explicit_and_reported():
    d = pd.DataFrame({"country": ["DE"] * 6 + ["AT", "NL", "SE", "DK"], "beds_class": ["x", "y"] * 5})
    margins = {"country": {"DE": 50, "AT": 10, "NL": 10, "CH": 5, "SE": 15, "DK": 10}, "beds_class": {"x": 60, "y": 40}}
    with pytest.raises(WeightingError, match="'CH'"):
        weight(d, "rake", margins=margins)
    with pytest.warns(DataDroppedWarning, match="merged"):
        res = weight(d, "rake", margins=margins, collapse={"country": {"min_n": 5, "into": "region"}})
    rep = {r["into"]: r["merged"] for r in res.diagnostics["collapsed"]}
    assert rep == {"EU-West (pooled)": ["AT", "CH", "NL"], "EU-North (pooled)": ["DK", "SE"]}
    g = res.weights.groupby(res.data["country"]).sum()
    assert g["EU-West (pooled)"] == pytest.approx(25) and g["EU-North (pooled)"] == pytest.approx(25) and g["DE"] == pytest.approx(50)
    with pytest.warns(DataDroppedWarning):
        res2 = weight(d, "rake", margins={"beds_class": {"x": 60, "y": 40}, "country": margins["country"]},
                      collapse={"country": {"merge": {"CH": "AT"}}})
    assert res2.diagnostics["collapsed"][0]["merged"] == ["CH"]


def test_registry_one_function_one_entry():
    assert {"base", "cell", "propensity", "rake", "linear", "logit"} <= set(METHODS)

    @register_method("_double_base_test")
    def _double(data, *, margins=None, frame=None, base, **_):
        return 2 * base, {"note": "test"}

    try:
        res = weight(_toy(), "_double_base_test")
        assert np.allclose(res.weights, 2.0) and res.diagnostics["note"] == "test"
    finally:
        METHODS.pop("_double_base_test")
    with pytest.raises(WeightingError, match="unknown weighting method 'raking'"):
        weight(_toy(), "raking")


def test_logit_bounds_validation_and_unreachable_margins():
    with pytest.raises(WeightingError, match="0 <= L < 1 < U"):
        weight(API, "logit", margins=MARGINS, base_weight="pw", bounds=(1.2, 3))
    with pytest.raises(ConvergenceError, match="bounds"):
        weight(API, "logit", margins=MARGINS, base_weight="pw", bounds=(0.99, 1.01), max_iter=50)


def test_diagnostics_figure_is_reproducible(tmp_path):
    from irmodels.figures.style import save_figure
    from irmodels.figures.weighting import plot_weight_diagnostics

    res = {"a": weight(API, "rake", margins=MARGINS, base_weight="pw"), "b": weight(API, "linear", margins=MARGINS, base_weight="pw")}
    p1 = save_figure(plot_weight_diagnostics(res), tmp_path / "one")
    p2 = save_figure(plot_weight_diagnostics(res), tmp_path / "two")
    for a, b in zip(p1, p2):
        assert a.read_bytes() == b.read_bytes()
    with pytest.raises(ValueError, match="no results"):
        plot_weight_diagnostics({})


def test_frame_below_sample_is_reported():
    d = pd.DataFrame({"a": ["x"] * 8 + ["y"] * 2})
    res = weight(d, "rake", margins={"a": {"x": 5.0, "y": 95.0}})
    assert res.diagnostics["frame_below_sample"] == ["a=x: frame 5.0 < 8 respondents"]


def test_cli_weight_and_frame(tmp_path, capsys):
    from irmodels.cli import main

    assert main(["frame", "--scenario", "radiologists", "--by", "beds_class", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert sum(float(line.split(",")[1]) for line in out.strip().splitlines()[1:]) == pytest.approx(1180)
    bad = tmp_path / "f.csv"
    bad.write_text("country,N\nDE,0\n")
    assert main(["frame", "--frame", str(bad)]) == 2
    assert "must be > 0" in capsys.readouterr().err


def test_rake_to_frame_cells_uses_their_margins():
    from irmodels.nonresponse.frame import frame_cells, frame_margins

    d = pd.DataFrame({"country": ["DE", "DE", "FR", "AT"], "beds_class": [">=800", "400-799", ">=800", ">=800"]})
    cells = frame_cells("user", frame=pd.DataFrame({"country": ["DE", "DE", "FR", "AT"], "beds_class": [">=800", "400-799", "400-799", ">=800"], "N": [10.0, 20, 5, 5]}), total=None)
    res = weight(d, "rake", frame=cells)
    g = res.weights.groupby(d["country"]).sum()
    assert g["DE"] == pytest.approx(30) and g["FR"] == pytest.approx(5) and g["AT"] == pytest.approx(5)
    assert res.weights.groupby(d["beds_class"]).sum()["400-799"] == pytest.approx(25)
    assert frame_margins("user", frame=cells, total=None)["country"]["DE"] == 30


def _figure_texts(fig) -> list[str]:
    """Every text artist drawn on a figure (titles, annotations, fig.text, tick labels, legends)."""
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def test_diagnostics_figure_states_source_threshold_and_small_ticks():
    """Panel a's provenance and identification are printed (from the arguments), the
    +-0.1 balance lines are in the legend, and weights below 0.2 x mean get a tick."""
    from irmodels.figures.style import DOUBLE_COLUMN_MM
    from irmodels.figures.weighting import plot_weight_diagnostics

    d = pd.DataFrame({"a": ["x"] * 8 + ["y"] * 2, "b": ["u", "v"] * 5})
    margins = {"a": {"x": 10.0, "y": 90.0}, "b": {"u": 50.0, "v": 50.0}}  # x units get weight ~0.14 x mean
    res = {"s1": weight(d, "rake", margins=margins)}
    rel = res["s1"].weights / res["s1"].weights.mean()
    assert rel.min() < 0.2
    src = "one reconstruction replicate (0 of k = 3); weights depend on the unpublished joint distribution"
    fig = plot_weight_diagnostics(res, source=src, identification="assumption")
    texts = [t.replace("\n", " ") for t in _figure_texts(fig)]
    assert any(src in t and "identification: assumption" in t for t in texts)
    ax1, ax2 = fig.axes[:2]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "±0.1: balance threshold" in legend and "before weighting" in legend and "after weighting" in legend
    ticks = [t for t in ax1.get_xticks() if ax1.get_xlim()[0] <= t <= ax1.get_xlim()[1]]
    assert min(ticks) < 0.2  # a labelled tick below 0.2
    assert fig.get_size_inches()[0] * 25.4 == pytest.approx(DOUBLE_COLUMN_MM)
    # without source: no provenance line is invented
    assert not any("identification:" in t for t in _figure_texts(plot_weight_diagnostics(res)))


def test_propensity_above_one_is_a_named_warning():
    """A frame cell with fewer units than respondents (5 respondents, N = 2) gives
    propensity 2.5 > 1: a PropensityAboveOneWarning naming the cell, not only info."""
    from irmodels.core.errors import IrmodelsWarning
    from irmodels.nonresponse.weighting_methods import PropensityAboveOneWarning

    d = pd.DataFrame({"beds_class": ["a"] * 5 + ["b"] * 5})
    frame = pd.DataFrame({"beds_class": ["a", "b"], "N": [2.0, 100.0]})
    with pytest.warns(PropensityAboveOneWarning, match=r"1 frame cells .*'beds_class': 'a'.* rho=2.50"):
        res = weight(d, "propensity", frame=frame)
    assert issubclass(PropensityAboveOneWarning, IrmodelsWarning)
    assert res.diagnostics["frame_propensity"]["propensity"].max() == pytest.approx(2.5, rel=1e-6)
    assert "propensity > 1" in res.diagnostics["warning"]


def test_warning_log_counts_distinct_messages():
    import warnings

    from irmodels.nonresponse.weighting import WarningLog

    with WarningLog() as log:
        for _ in range(3):
            warnings.warn("merged x", DataDroppedWarning)
        warnings.warn("other", UserWarning)
    s = log.summary()
    assert s.to_dict("records") == [{"category": "DataDroppedWarning", "message": "merged x", "count": 3},
                                    {"category": "UserWarning", "message": "other", "count": 1}]
    assert log.text() == "DataDroppedWarning x3: merged x | UserWarning x1: other"
    with WarningLog() as empty:
        pass
    assert empty.text() == "" and empty.summary().empty


def test_rake_to_a_user_frame_of_1440_keeps_its_total(tmp_path):
    """Issue 11: a user frame whose counts sum to 1440 gives weights summing to 1440 (not
    rescaled to 2017's 1180); each country's weights sum to its frame count (raking to the
    country margin: w = N_c / n_c, by hand)."""
    from irmodels.nonresponse.frame import frame_margins
    from irmodels.nonresponse.frame_file import load_frame

    p = tmp_path / "frame.csv"
    p.write_text("country,N\nPL,700\nCZ,440\nPT,300\n")
    fr = load_frame(p)
    d = pd.DataFrame({"country": ["PL"] * 7 + ["CZ"] * 4 + ["PT"] * 5, "beds_class": [">=800"] * 16})
    res = weight(d, "rake", margins=frame_margins("user", frame=fr, variables=("country",), respondents=d))
    assert res.weights.sum() == pytest.approx(1440, rel=1e-12)
    assert res.diagnostics["summary"]["sum"] == pytest.approx(1440, rel=1e-12)
    w = res.weights.groupby(d["country"]).first()
    assert w["PL"] == pytest.approx(100, rel=1e-12) and w["CZ"] == pytest.approx(110, rel=1e-12)
    assert w["PT"] == pytest.approx(60, rel=1e-12)
    assert res.diagnostics["frame_below_sample"] == []


# ---------------------------------------------------------------------------
# the cell-table kernel (irmodels.nonresponse.raking): column codes, checks on the cell
# table, mapping back to the rows


def _typed_data(n: int = 400, seed: int = 3):
    """Margin columns of every kind: categorical (unused category, categories not in margin order), bool, string, int."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({
        "c": pd.Categorical.from_codes(rng.integers(0, 3, n), ["r", "p", "q"]).add_categories(["unused"]),
        "t": rng.random(n) < 0.4,
        "s": pd.Series(rng.choice(["aa", "bb", "cc", "dd"], n)).astype("string"),
        "i": rng.integers(0, 3, n),
    })
    truth = rng.lognormal(0, 0.5, n)
    margins = {c: {str(k): float(v) for k, v in pd.Series(truth).groupby(d[c].astype(str).to_numpy()).sum().items()} for c in d}
    return d, margins, rng.lognormal(0, 0.3, n)


def test_rake_gives_the_same_weights_for_every_column_type():
    """Categorical and bool columns are coded without hashing, the others factorised; the weights
    equal those of the same data as object strings bit for bit, and meet the margins."""
    d, margins, base = _typed_data()
    base_before = base.copy()
    w = rake(d, margins, base)
    ref = rake(d.astype(str).astype(object), margins, base)
    assert np.array_equal(w.to_numpy(), ref.to_numpy())
    assert np.array_equal(base, base_before) and not np.shares_memory(w.to_numpy(), base)
    for c, m in margins.items():
        got = w.groupby(d[c].astype(str).to_numpy()).sum()
        for k, t in m.items():
            assert got[k] == pytest.approx(t, rel=1e-9)


def test_rake_data_labels_with_the_same_text_are_one_category():
    """1 and "1" in an object column both belong to margin category "1" (labels compared as text)."""
    d = pd.DataFrame({"m": pd.Series([1, "1", 2, "2", 1, 2, "1"], dtype=object), "u": list("abababa")})
    m = {"m": {"1": 4.0, "2": 3.0}, "u": {"a": 3.5, "b": 3.5}}
    base = [1, 2, 3, 1, 2, 3, 1.5]
    w = rake(d, m, base)
    assert np.array_equal(w.to_numpy(), rake(d.astype(str), m, base).to_numpy())
    assert w[(d["m"].astype(str) == "1").to_numpy()].sum() == pytest.approx(4.0, rel=1e-9)


def test_rake_zero_base_weights_closed_form():
    """Rows with base weight 0 keep weight 0. With base (0, 1, 1, 2, 0.5) on the toy data, x
    has one row of positive weight (x, v) -> 40; u one (y, u) -> 50; the two (y, v) rows share
    v's remaining 10 as 2 : 0.5."""
    d = _toy()
    good = {"a": {"x": 40, "y": 60}, "b": {"u": 50, "v": 50}}
    w = rake(d, good, [0, 1, 1, 2, 0.5], tol=1e-14)
    np.testing.assert_allclose(w.to_numpy(), [0, 40, 50, 8, 2], rtol=1e-12, atol=0)
    with pytest.raises(WeightingError, match=r"category 'x' \(population total 40\) is absent from the sample \(or has zero base weight\)"):
        rake(d, good, [0, 0, 1, 1, 1])


def test_rake_unknown_bool_categories_in_order_of_appearance():
    d = pd.DataFrame({"t": [True, False, True], "u": ["a", "a", "b"]})
    with pytest.raises(WeightingError) as ei:
        rake(d, {"t": {"x": 3.0}, "u": {"a": 2.0, "b": 1.0}})
    msg = str(ei.value)
    assert msg.index("category 'True' is in the data") < msg.index("category 'False' is in the data")


@pytest.mark.parametrize("n_columns", [1, 3, 6])
def test_rake_one_row_per_category_closed_form(n_columns):
    """Every row its own category in every margin: raking gives w_i = T_i in any key space
    (6000 cells: a dense table; 6000^3: sorted keys; 6000^6 > 2^62: unique rows)."""
    n = 6000
    rng = np.random.default_rng(n_columns)
    truth = rng.lognormal(0, 0.4, n)
    perms = [rng.permutation(n) for _ in range(n_columns)]
    d = pd.DataFrame({f"v{j}": [f"r{k}" for k in p] for j, p in enumerate(perms)})
    margins = {f"v{j}": {f"r{k}": float(t) for k, t in zip(p, truth)} for j, p in enumerate(perms)}
    w = rake(d, margins, rng.lognormal(0, 0.3, n))
    np.testing.assert_allclose(w.to_numpy(), truth, rtol=1e-12, atol=0)


def test_rake_peak_memory_is_about_the_result():
    """Issue 13: raking 5 x 10^5 rows holds at most 1.5x the input (data frame + base weights) at
    once, the result included (tracemalloc counts numpy's allocations)."""
    import tracemalloc

    n = 500_000
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"a": pd.Categorical.from_codes(rng.integers(0, 24, n), [f"c{i}" for i in range(24)]),
                      "b": pd.Categorical.from_codes(rng.integers(0, 4, n), list("wxyz")), "t": rng.random(n) < 0.7})
    base = rng.lognormal(0, 0.3, n)
    margins = {c: {str(k): float(v) for k, v in pd.Series(base * rng.lognormal(0, 0.5, n)).groupby(d[c].astype(str).to_numpy()).sum().items()}
               for c in d}
    for c in list(margins)[1:]:  # the same population total in every margin
        first = sum(margins["a"].values())
        margins[c] = {k: v * first / sum(margins[c].values()) for k, v in margins[c].items()}
    inputs = d.memory_usage(index=True, deep=True).sum() + base.nbytes
    tracemalloc.start()
    try:
        w = rake(d, margins, base)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.isfinite(w).all() and w.nbytes <= peak <= 1.5 * inputs
