"""Figures of the published 2017 descriptives: Fig. 1, Fig. 2, respondents by country.

Inputs are tidy margin tables (:func:`irmodels.data.waves.esr_cirse_2017.published_margins`);
nothing is typed in by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.patches import Patch

from irmodels.data.codebook import COUNTRY_NAMES, load_codebook
from irmodels.figures.style import OKABE_ITO, SINGLE_COLUMN_MM, journal_style, new_figure

__all__ = ["plot_female_radiologists", "plot_female_ir", "plot_respondents_by_country"]



def _var(margins: pd.DataFrame, variable: str) -> pd.DataFrame:
    m = margins[margins["variable"] == variable]
    if m.empty:
        raise KeyError(f"no margins for {variable!r}")
    return m


def _share_bars(ax, labels, counts, item_n, colors, hatches=None, headroom: float = 1.28) -> None:
    x = np.arange(len(labels))
    bars = ax.bar(x, counts, color=colors, edgecolor="black", linewidth=0.4, width=0.7)
    if hatches:
        for b, h in zip(bars, hatches):
            if h:
                b.set_hatch(h)
    for xi, c in zip(x, counts):
        ax.annotate(f"{c}\n({100 * c / item_n:.1f}%)", (xi, c), xytext=(0, 1.5), textcoords="offset points",
                    ha="center", va="bottom", fontsize=6)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, max(counts) * headroom)


def plot_female_radiologists(margins: pd.DataFrame) -> Figure:
    """Fig. 1 re-drawn: departments by share of female radiologists (98 answers).

    Parameters
    ----------
    margins : DataFrame
        Published margins (``variable, category, count, item_n``).
    """
    m = _var(margins, "female_radiologist_share_class")
    codes = [c["code"] for c in load_codebook()["female_radiologist_share_class"]["categories"]]
    m = m.set_index("category").loc[codes]
    item_n = int(m["item_n"].iloc[0])
    with journal_style():
        fig, ax = new_figure(SINGLE_COLUMN_MM, 62)
        _share_bars(ax, [f"{c}%" if c[0].isdigit() else c.replace(">", "> ") + "%" for c in codes],
                    m["count"].astype(int).tolist(), item_n, [OKABE_ITO[1]] * len(codes))
        ax.set_xlabel("Female radiologists in the department (% of radiologists)")
        ax.set_ylabel("Departments")
        ax.set_title(f"Female radiologists per department (n = {item_n})", loc="left")
        ax.text(0.0, -0.32, "'0–25%': printed merged in the paper\n(no female radiologist, or at most 25%).",
                transform=ax.transAxes, fontsize=5.5, color="0.3", va="top")
    return fig


def plot_female_ir(margins: pd.DataFrame, n_respondents: int = 98) -> Figure:
    """Fig. 2 re-drawn honestly: departments by share of female IRs.

    The text gives only the 0% (25) and 1–25% (47) classes of 90 answers; the
    18 departments above 25% are drawn as one hatched bar labelled as an
    unknown split over 26–50%, 51–75% and >75%; departments without an answer
    are shown apart.
    """
    m = _var(margins, "female_ir_share_class").set_index("category")
    item_n = int(m["item_n"].iloc[0])
    known = [c for c in ("0", "1-25") if c in m.index]
    counts = [int(m.loc[c, "count"]) for c in known]
    upper = item_n - sum(counts)
    labels = ["0% (men only)", "1–25%", "> 25%\n(26–50, 51–75, > 75:\nsplit not reported)"]
    with journal_style():
        fig, ax = new_figure(SINGLE_COLUMN_MM, 75)
        _share_bars(ax, labels, counts + [upper], item_n, [OKABE_ITO[5], OKABE_ITO[0], "white"],
                    hatches=[None, None, "////"], headroom=1.6)
        ax.set_xlabel("Female interventional radiologists (% of the department's IRs)")
        ax.set_ylabel("Departments")
        ax.set_title(f"Female IRs per department (n = {item_n} answering)", loc="left")
        ax.legend(handles=[Patch(facecolor="white", edgecolor="black", hatch="////", linewidth=0.4,
                                 label=f"{upper} departments: total implied by 25/90 and 47/90;\nsplit over the three upper classes not in the text")],
                  loc="upper right", frameon=False, fontsize=5.5)
        ax.text(0.0, -0.40, f"{n_respondents - item_n} of {n_respondents} respondents gave no usable answer "
                "(incl. departments without IRs).", transform=ax.transAxes, fontsize=5.5, color="0.3")
    return fig


def plot_respondents_by_country(margins: pd.DataFrame) -> Figure:
    """Respondents by country (Table 1 of the paper), horizontal bars, largest first."""
    m = _var(margins, "country").copy()
    m = m.sort_values(["count", "category"], ascending=[True, False])
    names = [COUNTRY_NAMES.get(c, c) for c in m["category"]]
    total = int(m["count"].sum())
    with journal_style():
        fig, ax = new_figure(SINGLE_COLUMN_MM, 100)
        y = np.arange(len(m))
        ax.barh(y, m["count"].astype(int), color=OKABE_ITO[4], height=0.7)
        for yi, c in zip(y, m["count"].astype(int)):
            ax.annotate(str(c), (c, yi), xytext=(2, 0), textcoords="offset points", va="center", fontsize=6)
        ax.set_yticks(y, names)
        ax.set_xlabel("Responding departments")
        ax.set_title(f"Respondents by country (n = {total}, {len(m)} countries)", loc="left")
        ax.set_xlim(0, m["count"].max() * 1.15)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig
