"""Figures of the non-response analysis: weight diagnostics and the tipping point.

Inputs are results of :func:`irmodels.nonresponse.weighting.weight` and
:func:`irmodels.nonresponse.sensitivity.tipping_point`; nothing is typed in by hand.
"""

from __future__ import annotations

import textwrap
from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from irmodels.figures.style import DOUBLE_COLUMN_MM, OKABE_ITO, SINGLE_COLUMN_MM, journal_style, new_figure

__all__ = ["plot_weight_diagnostics", "plot_tipping_point", "SCENARIO_LABELS"]

#: Display names of the frame scenarios (irmodels.nonresponse.scenarios.SCENARIOS).
SCENARIO_LABELS: dict[str, str] = {
    "radiologists": "∝ radiologists",
    "hospitals_200plus": "∝ hospitals ≥200 beds",
    "hospitals": "∝ all hospitals",
    "radiologists_answering_only": "∝ radiologists, answering countries only",
    "hospitals_200plus_answering_only": "∝ hospitals ≥200 beds, answering countries only",
    "hospitals_answering_only": "∝ all hospitals, answering countries only",
    "respondents_table1": "reference: respondents' own distribution",
    "user": "user frame",
}


# Okabe-Ito without yellow, which is too light for thin lines and small markers
_PALETTE = tuple(c for c in OKABE_ITO if c != "#F0E442")


def _log_ticks(ax, lo: float, hi: float, mantissas: tuple[float, ...] = (1, 2, 5), fine: bool = True) -> list[float]:
    """Readable ticks (0.1, 0.2, 0.5, 1, 2, 5, ...) on a log x axis; no minor labels.

    When the axis extends well below the lowest such tick, one finer tick (from
    1, 1.5, 2, 3, 5, 7 x 10^k) is added there so the smallest values can be read.
    Returns the ticks.
    """
    from matplotlib.ticker import FixedLocator, NullFormatter

    ticks = [m * 10.0**e for e in range(-3, 4) for m in mantissas]
    ticks = [t for t in ticks if lo <= t <= hi]
    if not fine:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
        return ticks
    fine = sorted(round(m * 10.0**e, 6) for e in range(-3, 4) for m in (1, 1.5, 2, 3, 5, 7))
    below = [t for t in fine if lo <= t and (not ticks or t * 1.25 <= ticks[0])]
    if below:
        if ticks and ticks[0] < 1 and ticks[0] / below[0] < 1.6:
            ticks = ticks[1:]  # labels of 0.15 and 0.2 would collide: keep the finer one
        ticks = [below[0], *ticks]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    return ticks


def _label(name: str) -> str:
    return SCENARIO_LABELS.get(name, name)


def plot_weight_diagnostics(
    results: Mapping[str, object],
    *,
    title: str | None = None,
    source: str | None = None,
    identification: str | None = None,
    balance_threshold: float = 0.1,
) -> Figure:
    """Weight distribution and margin balance for each frame scenario.

    Parameters
    ----------
    results : dict
        Scenario name -> :class:`~irmodels.nonresponse.weighting.WeightingResult` (with margin
        diagnostics, i.e. weighted with ``margins=`` or ``frame=``).
    title : str, optional
    source : str, optional
        What the weights were computed on, printed under the panels, e.g. "2017: one
        reconstruction replicate (0 of k = 100, assumption set 'informed'); its weights
        depend on the unpublished region x beds joint distribution".
    identification : str, optional
        Identification status of the weights (e.g. ``assumption``), printed with ``source``.
    balance_threshold : float
        Standardised difference drawn as dashed lines at +- this value (0.1, a
        common balance threshold), explained in the legend.

    Returns
    -------
    Figure
        170 mm wide. (a) weights relative to their mean (log scale), one row per
        scenario, annotated with Kish's design effect and effective sample size.
        (b) standardised differences between the respondents' margins and each
        scenario's targets before weighting (circles) and after (crosses). With
        ``source``, a caption line states what panel a shows and its identification.
    """
    names = list(results)
    if not names:
        raise ValueError("plot_weight_diagnostics: no results given")
    colors = {n: _PALETTE[i % len(_PALETTE)] for i, n in enumerate(names)}
    with journal_style():
        fig, (ax1, ax2) = new_figure(DOUBLE_COLUMN_MM, 90.0, ncols=2, gridspec_kw={"width_ratios": [1, 1.15]})
        rng = np.random.default_rng(0)  # jitter only; fixed so the figure bytes are reproducible
        for i, n in enumerate(names):
            r = results[n]
            w = r.weights.to_numpy(dtype=float)
            rel = w / w.mean()
            y = i + rng.uniform(-0.18, 0.18, len(rel))
            ax1.scatter(rel, y, s=4, color=colors[n], alpha=0.7, linewidths=0)
            q = np.quantile(rel, [0.25, 0.5, 0.75])
            ax1.plot([q[0], q[2]], [i, i], color="black", lw=1.2)
            ax1.plot([q[1]], [i], marker="|", color="black", ms=7)
            s = r.diagnostics["summary"]
            ax1.annotate(f"Kish deff {s['deff_kish']:.2f}, n_eff {s['n_eff']:.0f}", (1, i - 0.27), xycoords=("axes fraction", "data"),
                         ha="right", va="bottom", fontsize=5.5)
        ax1.set_xscale("log")
        allrel = np.concatenate([results[n].weights.to_numpy(dtype=float) / results[n].weights.mean() for n in names])
        lo, hi = float(allrel[allrel > 0].min()), float(allrel.max())
        ax1.set_xlim(lo / 1.3, hi * 1.3)
        _log_ticks(ax1, lo / 1.3, hi * 1.3)
        ax1.axvline(1, color="0.6", lw=0.5, ls=":")
        ax1.set_yticks(range(len(names)), [textwrap.fill(_label(n), 22) for n in names])
        ax1.set_ylim(-0.75, len(names) - 0.4)
        ax1.invert_yaxis()
        ax1.set_xlabel("weight / mean weight (log scale)")
        ax1.set_title("a  Weight distribution", loc="left")

        # (b) Love plot over the categories of the first scenario's margin table
        tables = {n: results[n].diagnostics.get("margins") for n in names}
        tables = {n: t for n, t in tables.items() if t is not None}
        if tables:
            first = next(iter(tables.values()))
            cats = list(zip(first["variable"], first["category"]))
            ypos = {c: j for j, c in enumerate(cats)}
            off = np.linspace(-0.25, 0.25, len(tables)) if len(tables) > 1 else [0.0]
            for k, (n, t) in enumerate(tables.items()):
                yy = [ypos.get((v, c), np.nan) + off[k] for v, c in zip(t["variable"], t["category"])]
                ax2.scatter(t["std_diff_before"], yy, s=10, facecolors="none", edgecolors=colors[n], linewidths=0.6)
                ax2.scatter(t["std_diff_after"], yy, s=10, marker="x", color=colors[n], linewidths=0.6)
            ax2.axvline(0, color="0.4", lw=0.5)
            for v in (-balance_threshold, balance_threshold):
                ax2.axvline(v, color="0.6", lw=0.5, ls="--")
            ax2.set_yticks(range(len(cats)), [f"{v}: {c}" for v, c in cats])
            ax2.invert_yaxis()
            ax2.set_xlabel("standardised difference, respondents − frame")
            handles = [Line2D([], [], ls="", marker="o", mfc="none", mec="black", label="before weighting"),
                       Line2D([], [], ls="", marker="x", color="black", label="after weighting")]
            handles += [Line2D([], [], ls="--", color="0.6", lw=0.5, label=f"±{balance_threshold:g}: balance threshold")]
            handles += [Line2D([], [], ls="", marker="s", color=colors[n], label=_label(n)) for n in tables]
            note = None
            if source:
                note = textwrap.fill(f"a: {source}" + (f"; identification: {identification}" if identification else ""), 140)
            # a figure legend (constrained layout reserves room for it); the provenance of panel a is its title
            fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False, fontsize=5.5,
                       title=note, title_fontsize=5.5, alignment="left")
        ax2.set_title("b  Margins versus frame targets", loc="left")
        if title:
            fig.suptitle(title)
    return fig


def plot_tipping_point(
    curves: Mapping[str, object],
    *,
    manski: tuple[float, float] | None = None,
    respondent_share: float | None = None,
    threshold: float | None = None,
    source: str | None = None,
    frame_identification: str | None = None,
    identification: str | None = None,
    level: float = 0.95,
    labels: Mapping[str, str] | None = None,
    groups: Mapping[str, str] | None = None,
) -> Figure:
    """Frame-wide 24/7 coverage as non-respondents' odds are shifted (delta adjustment).

    Parameters
    ----------
    curves : dict
        Scenario name -> :class:`~irmodels.nonresponse.sensitivity.TippingPoint`, or a DataFrame
        with ``odds_ratio, estimate, lower, upper`` (e.g. pooled over replicates) whose
        ``attrs`` may hold ``odds_ratio_star`` and ``threshold``.
    manski : (lower, upper), optional
        Worst-case bounds, drawn as a grey band (no assumption).
    respondent_share : float, optional
        Unweighted respondent percentage (e.g. 60/97), a dotted line.
    threshold : float, optional
        Default: the first curve's threshold.
    source : str, optional
        What the curves were computed on, e.g. "2017: reconstruction ensemble
        (assumption set 'informed', k=100, pooled)".
    frame_identification : str, optional
        Identification status of the frame scenario (``assumption`` for the named scenarios).
    identification : str, optional
        Identification status of the curves (e.g. the ``identification`` column of the curve).
    level : float
        Coverage of the bands (for the legend).
    labels : mapping, optional
        Curve key -> legend label (default: :data:`SCENARIO_LABELS` of the key). Curves
        with the same label share a colour and one legend entry.
    groups : mapping, optional
        Curve key -> group name, e.g. the assumption set a curve was computed under. The
        first group's curves are solid with bands; later groups' curves are dashed (then
        dotted, ...) without bands; one legend entry per group (its name). Default: one
        group, no group entry.

    Returns
    -------
    Figure
        85 mm wide; x: odds ratio of coverage for non-respondents versus the MAR
        prediction (log scale), y: estimated coverage among all invited
        departments, with bands; tipping points marked. The legend explains the
        bands, the MAR line (OR = 1), the threshold line and the tipping-point dots;
        a subtitle built from ``source``, ``frame_identification`` and
        ``identification`` says which numbers depend on an assumption.
    """
    from matplotlib.patches import Patch

    with journal_style():
        fig, ax = new_figure(SINGLE_COLUMN_MM, 140.0 if groups else 115.0)
        if manski is not None:
            ax.axhspan(manski[0], manski[1], color="0.9", lw=0, zorder=0, label="worst-case (Manski) bounds")
        names = {k: (labels or {}).get(k, _label(k)) for k in curves}
        colors = {lab: _PALETTE[i % len(_PALETTE)] for i, lab in enumerate(dict.fromkeys(names.values()))}
        group_of = {k: (groups or {}).get(k, "") for k in curves}
        order = list(dict.fromkeys(group_of.values()))
        group_ls = {g: ("-", (0, (4, 2)), (0, (1, 1.5)), "-.")[j % 4] for j, g in enumerate(order)}
        labelled: set[str] = set()
        # curves that coincide stay visible: each later label is drawn thinner on top of the earlier ones
        widths = dict(zip(colors, np.linspace(1.6, 0.6, len(colors)) if len(colors) > 1 else [1.0]))
        for name, tp in curves.items():
            c = tp.curve if hasattr(tp, "curve") else (tp if isinstance(tp, pd.DataFrame) else pd.DataFrame(tp))
            col = colors[names[name]]
            first = order.index(group_of[name]) == 0
            if first:
                ax.fill_between(c["odds_ratio"], c["lower"], c["upper"], color=col, alpha=0.18, lw=0)
            ax.plot(c["odds_ratio"], c["estimate"], color=col, lw=widths[names[name]], ls=group_ls[group_of[name]],
                    label=names[name] if names[name] not in labelled else f"_{names[name]}")
            labelled.add(names[name])
            ors = getattr(tp, "odds_ratio_star", None) if hasattr(tp, "curve") else c.attrs.get("odds_ratio_star")
            thr = getattr(tp, "threshold", None) if hasattr(tp, "curve") else c.attrs.get("threshold", threshold)
            if threshold is None:
                threshold = thr
            if ors is not None and thr is not None and c["odds_ratio"].min() <= ors <= c["odds_ratio"].max():
                ax.plot([ors], [thr], marker="o", ms=3.5, color=col, mec="black", mew=0.4, zorder=5)
        if threshold is not None:
            ax.axhline(threshold, color="black", lw=0.6, ls="--", label=f"threshold ({100 * threshold:g}%)")
        if respondent_share is not None:
            ax.axhline(respondent_share, color="0.3", lw=0.6, ls=":", label=f"respondents, unweighted ({100 * respondent_share:.1f}%)")
        ax.axvline(1, color="0.6", lw=0.6, label="OR = 1: missing at random (MAR)")
        ax.set_xscale("log")
        xs = np.concatenate([np.asarray((tp.curve if hasattr(tp, "curve") else pd.DataFrame(tp))["odds_ratio"], dtype=float) for tp in curves.values()])
        ax.set_xlim(xs.min(), xs.max())
        _log_ticks(ax, xs.min(), xs.max(), mantissas=(1, 5), fine=False)
        ax.set_ylim(0, 1)
        ax.set_xlabel("odds ratio of 24/7 coverage, non-respondents vs. MAR")
        ax.set_ylabel("24/7 IR coverage, all invited departments")
        handles, _ = ax.get_legend_handles_labels()
        if groups:
            curve_labels = set(names.values())  # colour entries solid: the line style is the group's
            handles = [Line2D([], [], color=h.get_color(), lw=1.0, label=h.get_label())
                       if isinstance(h, Line2D) and h.get_label() in curve_labels else h for h in handles]
            handles += [Line2D([], [], color="0.3", lw=1.0, ls=group_ls[g], label=g + (" (with band)" if j == 0 else ""))
                        for j, g in enumerate(order)]
        handles += [Patch(facecolor="0.55", alpha=0.35, lw=0, label=f"{100 * level:g}% interval (shaded)"),
                    Line2D([], [], ls="", marker="o", ms=3.5, mfc="white", mec="black", mew=0.4,
                           label="tipping point (estimate = threshold)")]
        # a figure legend below the axes: constrained layout reserves room for it
        fig.legend(handles=handles, loc="outside lower center", ncol=1 if groups else 2, frameon=False, fontsize=5.5,
                   handlelength=2.0 if groups else 1.2,
                   columnspacing=0.8, handletextpad=0.4)
        parts = [p for p in (source,
                             f"frame scenario = {frame_identification}" if frame_identification else None,
                             f"identification: {identification}" if identification else None) if p]
        if parts:
            ax.set_title(textwrap.fill("; ".join(parts), 62), fontsize=5.5, loc="left", gid="provenance")
    return fig
