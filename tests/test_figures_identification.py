"""Sensitivity-curve figures of 2017 (issue 9): what was drawn, read from the tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.text import Text

from irmodels.core.errors import SchemaError
from irmodels.figures.identification import ASSOCIATION_NOTE, plot_association_curves, plot_coverage_curve
from irmodels.figures.style import DOUBLE_COLUMN_MM, MAX_HEIGHT_MM, MM, save_figure

DERIVED = Path(__file__).resolve().parents[1] / "data" / "derived"


def _read(name: str) -> pd.DataFrame:
    path = DERIVED / name
    if not path.is_file():
        pytest.skip(f"data/derived/{name} not generated")
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def assoc() -> pd.DataFrame:
    """Real curves, thinned to every third grid value plus the sets' own values (fast)."""
    t = _read("association_curves_2017.csv")
    grid = t.groupby(["assumptions", "parameter"])["assumption_value"].transform(
        lambda v: v.isin(np.sort(v.unique())[::3]))
    return t[grid | t["at_set_value"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def cover() -> pd.DataFrame:
    t = _read("coverage_curve_2017.csv")
    keep = ["radiologists", "radiologists_answering_only", "hospitals_200plus"]  # "hospitals" is refused
    return t[t["scenario"].isin(keep)].reset_index(drop=True)


def _lines(ax, prefix: str):
    return [ln for ln in ax.get_lines() if str(ln.get_gid() or "").startswith(prefix)]


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def test_association_panels_lines_and_scales(assoc):
    fig = plot_association_curves(assoc)
    sets = list(dict.fromkeys(assoc["assumptions"]))
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    assert len(axes) == assoc["parameter"].nunique() == 6
    w, h = fig.get_size_inches() / MM
    assert w == pytest.approx(DOUBLE_COLUMN_MM) and h <= MAX_HEIGHT_MM
    for ax in axes:
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        est = _lines(ax, "estimate-")
        assert len(est) == len(sets)  # one line per assumption set
        assert sum(isinstance(c, PolyCollection) for c in ax.collections) == len(sets)  # one band per set
        assert len(_lines(ax, "band-edge-")) == 2 * len(sets)
        # a marker at each set's own value
        assert {ln.get_gid() for ln in _lines(ax, "set-value-")} == {f"set-value-{s}" for s in sets}
        # the region is unrestricted in the published data: stated, nothing shaded
        assert any(t.get_gid() == "region-note" and "0 to ∞" in t.get_text() for t in ax.texts)
        assert not [p for p in ax.patches if p.get_gid() == "outside-region"]
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert all(f"'{s}'" in legend for s in sets)
    assert fig.legends[0].get_title().get_text().startswith(ASSOCIATION_NOTE)
    assert "95% sampling interval" in legend  # level read back from the table


TOP = {"beds_class": "beds_class[T.>=800]", "teaching": "teaching", "chair_profile": "chair_profile[T.IR_mostly]"}


def test_association_curve_values_are_the_top_term_exponentiated(assoc):
    fig = plot_association_curves(assoc)
    axes = [ax for ax in fig.axes if ax.axison]  # outcome rows x predictor columns, in table order
    outcomes = list(dict.fromkeys(assoc["outcome"]))
    predictors = list(dict.fromkeys(assoc["parameter"].str.partition("~")[2]))
    for k, ax in enumerate(axes):
        outcome, predictor = outcomes[k // len(predictors)], predictors[k % len(predictors)]
        for s in assoc["assumptions"].unique():
            d = assoc[(assoc["parameter"] == f"{outcome}~{predictor}") & (assoc["assumptions"] == s)
                      & (assoc["term"] == TOP[predictor])].sort_values("assumption_value")
            (line,) = [ln for ln in _lines(ax, "estimate-") if ln.get_gid() == f"estimate-{s}"]
            np.testing.assert_allclose(line.get_xdata(), d["assumption_value"])
            np.testing.assert_allclose(line.get_ydata(), np.exp(d["estimate"]))
        title = ax.get_title(loc="left").lower()
        assert str(d["event"].iloc[0]).lower() in title and "by " in title


def test_association_outside_region_is_shaded(assoc):
    t = assoc[assoc["parameter"] == "cover_24_7~teaching"].copy()
    t["region_lower"], t["region_upper"] = 0.5, 2.0
    out = t["assumption_value"] > 3
    t.loc[out, "inside_region"] = False
    fig = plot_association_curves(t)
    (ax,) = [a for a in fig.axes if a.axison]
    spans = [p for p in ax.patches if p.get_gid() == "outside-region"]
    assert len(spans) == t.loc[out, "assumption_value"].nunique() > 0
    assert any("0.5 to 2" in x.get_text() for x in ax.texts)
    assert "outside the identification region" in [x.get_text() for x in fig.legends[0].get_texts()]


def test_association_missing_column():
    with pytest.raises(SchemaError, match="region_lower"):
        plot_association_curves(pd.DataFrame({"outcome": ["cover_24_7"]}))


def test_coverage_curve_what_was_drawn(cover):
    fig = plot_coverage_curve(cover, country_sets={"invited": "50 invited countries",
                                                   "answering": "24 answering countries"})
    ax, bx = fig.axes
    scen = list(dict.fromkeys(cover["scenario"]))
    for a in (ax, bx):
        assert a.get_xscale() == "log"
        assert sorted(ln.get_label() for ln in _lines(a, "curve-")) == sorted(scen)
    assert bx.get_yscale() == "log"
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == len(scen)
    (resp,) = _lines(ax, "respondents")
    assert set(resp.get_ydata()) == {cover["respondent_share"].iloc[0]}
    assert resp.get_label() == f"respondents {100 * cover['respondent_share'].iloc[0]:.1f}% (exact)"
    manski = _lines(ax, "manski")
    ys = sorted(y for ln in manski for y in set(ln.get_ydata()))
    assert ys == [cover["manski_lower"].iloc[0], cover["manski_upper"].iloc[0]]
    assert all("worst case (no assumption)" in ln.get_label() for ln in manski)
    (thr,) = _lines(ax, "threshold")
    assert set(thr.get_ydata()) == {cover["threshold"].iloc[0]}
    # tipping-OR panel: the table's tipping_or
    c = cover[cover["scenario"] == scen[0]].sort_values("assumption_value")
    (tip,) = [ln for ln in _lines(bx, "curve-") if ln.get_label() == scen[0]]
    np.testing.assert_allclose(tip.get_ydata(), c["tipping_or"])
    # assumption sets: markers on every curve and their names above the axes
    sets = sorted({s for v in cover["at_set_value"].dropna() for s in str(v).split(";") if s})
    assert sets
    for s in sets:
        assert len([ln for ln in _lines(ax, "set-value-") if ln.get_label() == s]) == len(scen)
        assert any(t.get_gid() == f"set-label-{s}" and t.get_text() == s for t in ax.texts)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("50 invited countries" in x for x in legend) and any("24 answering countries" in x for x in legend)
    assert all(any(f"'{s}'" in x for x in legend) for s in sets)
    assert "95% sampling interval at each fixed value" in legend  # logit-scale interval level read back
    w, h = fig.get_size_inches() / MM
    assert w == pytest.approx(DOUBLE_COLUMN_MM) and h <= MAX_HEIGHT_MM


def test_coverage_curve_from_library_on_short_grid():
    from irmodels.nonresponse.frame import frame_margins
    from irmodels.identification.curves import coverage_curve
    from irmodels.nonresponse.manski import manski_bounds

    shares = frame_margins("hospitals_200plus", variables=("beds_class",), total=1180)["beds_class"]
    c = coverage_curve(shares, 1180, grid=[0.5, 1.0, 1.5, 3.0], assumptions="informed")
    mb = manski_bounds(n_positive=60, n_answered=97, frame_size=1180).iloc[0]
    c = c.assign(scenario="hospitals_200plus", manski_lower=mb["lower"], manski_upper=mb["upper"],
                 at_set_value=np.where(np.isclose(c["assumption_value"], 1.5), "informed", ""))
    fig = plot_coverage_curve(c)
    ax, _ = fig.axes
    (resp,) = _lines(ax, "respondents")
    assert list(resp.get_ydata()) == pytest.approx([c["respondent_share"].iloc[0]] * 2)
    assert c["respondent_share"].iloc[0] == pytest.approx(60 / 97)
    assert any(t.get_text() == "informed" for t in ax.texts)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "frame: all invited countries" in legend and "assumption set 'informed' (OR = 1.5)" in legend
    with pytest.raises(SchemaError, match="scenario not in the table"):
        plot_coverage_curve(c, scenarios=["radiologists"])


def test_coverage_figure_saves_with_embedded_fonts(tmp_path, cover):
    pdf, png = save_figure(plot_coverage_curve(cover), tmp_path / "coverage_curve")
    assert b"/FontFile2" in pdf.read_bytes() and b"CreationDate" not in pdf.read_bytes()
    assert png.stat().st_size > 0
    assert not math.isnan(cover["respondent_share"].iloc[0])
