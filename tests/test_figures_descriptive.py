"""Figures 1, 2 and respondents by country: what was drawn, at journal widths, reproducibly."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.patches import Rectangle

from irmodels.figures.descriptive import plot_female_ir, plot_female_radiologists, plot_respondents_by_country
from irmodels.figures.style import MM, save_figure
from irmodels.data.waves.esr_cirse_2017 import published_margins


@pytest.fixture(scope="module")
def margins():
    return published_margins()


def _bar_heights(ax):
    return [p.get_height() for p in ax.patches if isinstance(p, Rectangle) and p.get_width() < 1.5]


def test_fig1_bars_equal_published_counts(margins):
    fig = plot_female_radiologists(margins)
    ax = fig.axes[0]
    assert _bar_heights(ax) == [10, 47, 37, 4]
    assert fig.get_figwidth() == pytest.approx(85 * MM)


def test_fig2_shows_unknown_split(margins):
    fig = plot_female_ir(margins)
    ax = fig.axes[0]
    assert _bar_heights(ax)[:3] == [25, 47, 18]
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert hatched and hatched[0].get_height() == 18
    labels = " ".join(t.get_text() for t in ax.get_xticklabels())
    assert "split not reported" in labels


def test_country_figure(margins):
    fig = plot_respondents_by_country(margins)
    ax = fig.axes[0]
    widths = [p.get_width() for p in ax.patches]
    assert sum(widths) == 98 and len(widths) == 24 and max(widths) == 15
    assert ax.get_yticklabels()[-1].get_text() == "Germany"


def test_save_is_byte_reproducible(tmp_path, margins):
    a = save_figure(plot_female_radiologists(margins), tmp_path / "a" / "fig")
    b = save_figure(plot_female_radiologists(margins), tmp_path / "b" / "fig")
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes()
    pdf = a[0].read_bytes()
    assert b"CreationDate" not in pdf
    assert b"/FontFile2" in pdf  # TrueType embedded (pdf.fonttype 42)
