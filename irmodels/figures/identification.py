"""Figures of the 2017 sensitivity curves: associations and coverage over assumption parameters.

The 2017 survey was published only as aggregates, so its associations are not identified:
each is drawn as a curve over an **assumption parameter** stated as an odds ratio, with a
sampling interval at each fixed value, next to what the published data do fix (the
identification region; the respondents' exact share; worst-case bounds). Inputs are the
tables of :func:`irmodels.identification.curves.association_curve` and
:func:`~irmodels.identification.curves.coverage_curve` (as written by
``analyses/14_association_curves.py`` and ``analyses/27_coverage_curve.py``); every number
drawn or printed comes from them.

* :func:`plot_association_curves` -- odds ratio of each predictor's top level versus its
  reference as a function of the assumed odds ratio per step, one panel per parameter;
* :func:`plot_coverage_curve` -- frame-wide 24/7 IR cover and the non-response tipping
  point as functions of the assumed odds ratio of cover per bed class.
"""

from __future__ import annotations

import math
import re
import textwrap
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, NullFormatter
from scipy import stats

from irmodels.core.errors import Problem, SchemaError
from irmodels.figures.style import DOUBLE_COLUMN_MM, OKABE_ITO, journal_style, new_figure
from irmodels.figures.weighting import SCENARIO_LABELS

__all__ = ["plot_association_curves", "plot_coverage_curve", "PREDICTOR_WORDS", "ASSOCIATION_NOTE"]

#: Figure-level note of :func:`plot_association_curves`.
ASSOCIATION_NOTE = ("2017: estimates at fixed assumed odds ratios (not identified by the published data); "
                    "bands are sampling intervals at each fixed value")

#: predictor -> (words for a panel title, words for the assumption parameter's step)
PREDICTOR_WORDS: dict[str, tuple[str, str]] = {
    "beds_class": ("hospital size", "per bed class"),
    "teaching": ("teaching status", "teaching vs non-teaching"),
    "chair_profile": ("the chair's profile", "per step of the chair's involvement in IR"),
}
#: (predictor, level) -> words, for axis labels
_LEVEL_WORDS: dict[tuple[str, str], str] = {
    ("beds_class", "<200"): "<200 beds",
    ("beds_class", "200-399"): "200–399 beds",
    ("beds_class", "400-799"): "400–799 beds",
    ("beds_class", ">=800"): "≥800 beds",
    ("teaching", "true"): "teaching",
    ("teaching", "false"): "non-teaching",
    ("chair_profile", "DR"): "chair DR",
    ("chair_profile", "DR_some_IR"): "chair DR, some IR",
    ("chair_profile", "DR_IR_equal"): "chair DR = IR",
    ("chair_profile", "IR_mostly"): "chair mostly IR",
}
# Okabe-Ito without yellow (too light for thin lines and small markers)
_PALETTE = tuple(c for c in OKABE_ITO if c != "#F0E442")
_SET_MARKERS = ("o", "D", "s", "^", "v", "P")
_SET_LINESTYLES = ("-", (0, (4, 2)), (0, (1, 1.5)), "-.")


# --------------------------------------------------------------------------- helpers


def _require(table: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    absent = [c for c in cols if c not in table.columns]
    if absent:
        raise SchemaError([Problem(f"missing column {c!r}; the table has {list(table.columns)}", column=c)
                           for c in absent], what=what)
    if table.empty:
        raise SchemaError([Problem("the table has no rows")], what=what)


def _level(table: pd.DataFrame, scale: str = "identity") -> float | None:
    """Coverage of the sampling intervals, read back from ``estimate``, ``std_error``, ``upper``.

    ``scale="logit"``: the interval is symmetric on the logit scale of a proportion
    (delta method, ``se_logit = se / (p (1 - p))``).
    """
    if "std_error" not in table:
        return None
    t = table[(table["std_error"] > 0) & np.isfinite(table["upper"])]
    if scale == "logit":
        t = t[(t["estimate"] > 0) & (t["estimate"] < 1) & (t["upper"] < 1)]
    if t.empty:
        return None
    if scale == "logit":
        p, u = t["estimate"], t["upper"]
        z = (np.log(u / (1 - u)) - np.log(p / (1 - p))) * p * (1 - p) / t["std_error"]
    else:
        z = (t["upper"] - t["estimate"]) / t["std_error"]
    return round(2 * float(stats.norm.cdf(float(np.median(z)))) - 1, 3)


def _fmt_pct(level: float | None) -> str:
    return f"{100 * level:g}% " if level is not None else ""


def _log_axis(axis, lo: float, hi: float) -> None:
    """Readable ticks (..., 0.1, 0.2, 0.5, 1, 2, 5, ...) on a log axis within [lo, hi]; no minor labels.

    Ranges narrower than a factor of 4 get the finer mantissas 1, 1.5, 2, 3, 5, 7; ranges
    wider than 10^4 only powers of ten. The ends are ticks too when they are values of
    the grid (not padding) and at least a factor 1.25 from the nearest tick.
    """
    span = math.log10(hi / lo)
    if span < 0.61:
        mant: tuple[float, ...] = (1, 1.5, 2, 3, 5, 7)
    elif span < 2.5:
        mant = (1, 2, 5)
    elif span <= 4:
        mant = (1, 3)
    else:
        mant = (1,)
    ticks = sorted({round(m * 10.0**e, 6) for e in range(-6, 7) for m in mant})
    ticks = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
    for end in (lo, hi):
        if float(f"{end:.3g}") == end and all(max(end / t, t / end) >= 1.25 for t in ticks):
            ticks.append(end)
    ticks.sort()
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_ticks(ticks, [f"{t:g}" for t in ticks])
    axis.set_minor_formatter(NullFormatter())


def _top_term(predictor: str, terms: Sequence[str]) -> tuple[str, str, str]:
    """(term, top level, reference level) of ``predictor``: its highest level versus the lowest."""
    from irmodels.identification.expected import SCORES

    levels = list(SCORES.get(predictor, {}))
    if predictor == "teaching" and "teaching" in terms:
        return "teaching", "true", "false"
    found = {}
    for t in terms:
        m = re.fullmatch(rf"{re.escape(predictor)}\[T\.(.+)\]", str(t))
        if m:
            found[m.group(1)] = str(t)
    if not found:
        raise SchemaError([Problem(f"no term of predictor {predictor!r}", value=list(terms))],
                          what="association curves")
    top = max(found, key=lambda lv: levels.index(lv) if lv in levels else -1)
    return found[top], top, levels[0] if levels else "reference"


def _words(predictor: str, level: str) -> str:
    return _LEVEL_WORDS.get((predictor, level), f"{predictor} {level}")


def _parse_params(text: object) -> dict[str, float]:
    out = {}
    for part in str(text or "").split(";"):
        k, _, v = part.strip().partition("=")
        if k and v:
            try:
                out[k.strip()] = float(v)
            except ValueError:
                continue
    return out


def _set_description(table: pd.DataFrame, name: str) -> str:
    """The other odds ratios a set holds fixed, from ``other_parameters`` (values other than 1)."""
    if "other_parameters" not in table:
        return ""
    vals: dict[str, float] = {}
    for text in table.loc[table["assumptions"] == name, "other_parameters"].unique():
        vals.update(_parse_params(text))
    not1 = {k: v for k, v in sorted(vals.items()) if not math.isclose(v, 1.0)}
    if not vals:
        return ""
    if not not1:
        return "all 1"
    return ", ".join(f"{k} = {v:g}" for k, v in not1.items()) + ", the others 1"


# --------------------------------------------------------------------------- associations


def plot_association_curves(table: pd.DataFrame) -> Figure:
    """2017 associations as functions of their assumption parameter, one panel per parameter.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of :func:`irmodels.identification.curves.association_curve` for one or more
        assumption sets (``data/derived/association_curves_2017.csv``): ``outcome``,
        ``event`` (the outcome's event in words), ``parameter`` (``"<outcome>~<predictor>"``),
        ``assumption_value``, ``assumptions``, ``term``, ``estimate``, ``lower``, ``upper``
        (log odds ratios), ``region_lower``, ``region_upper``, ``inside_region``, and
        optionally ``at_set_value`` (the set's own value), ``std_error`` (to read the
        interval level back) and ``other_parameters``.

    Returns
    -------
    Figure
        170 mm wide, one panel per parameter (rows: outcomes; columns: predictors). In each
        panel x is the assumed odds ratio per step (log scale), y the estimated odds ratio
        of the predictor's highest level versus its reference (log scale) with its
        sampling band, one line per assumption set (the sets differ in the other odds
        ratios they hold fixed) and a marker at each set's own value. The second title
        line gives the identification region of that odds ratio from the published
        margins ("0 to ∞: unrestricted" when ``region_lower == 0`` and
        ``region_upper == inf``); grid values whose table lies outside the region are
        shaded. Under the panels: the legend and :data:`ASSOCIATION_NOTE`.

    Raises
    ------
    SchemaError
        A column is missing or the table is empty.
    """
    _require(table, ["outcome", "parameter", "assumption_value", "assumptions", "term", "estimate", "lower", "upper",
                     "region_lower", "region_upper", "inside_region"], "plot_association_curves")
    t = table.copy()
    t["predictor"] = t["parameter"].str.partition("~")[2]
    outcomes = list(dict.fromkeys(t["outcome"]))
    predictors = list(dict.fromkeys(t["predictor"]))
    sets = list(dict.fromkeys(t["assumptions"]))
    # blue, orange, green, vermillion, purple, sky blue: distinct in every colour-vision type
    colors = {s: _PALETTE[(3, 0, 2, 4, 5, 1)[i % 6]] for i, s in enumerate(sets)}
    styles = {s: _SET_LINESTYLES[i % len(_SET_LINESTYLES)] for i, s in enumerate(sets)}
    # the first set's marker is large and open so that a later set's marker at the same value shows inside it
    mstyle = {s: dict(marker=_SET_MARKERS[i % len(_SET_MARKERS)], ms=max(6.0 - 1.4 * i, 3.0),
                      mfc="none" if i == 0 else colors[s], mec=colors[s] if i == 0 else "black",
                      mew=0.9 if i == 0 else 0.4) for i, s in enumerate(sets)}
    level = _level(t)
    nrow, ncol = len(outcomes), len(predictors)
    height = min(225.0, 30.0 + 66.0 * nrow)
    any_outside = False
    has_own: set[str] = set()
    style = (sets, colors, styles, mstyle)
    with journal_style():
        fig, axes = new_figure(DOUBLE_COLUMN_MM, height, nrows=nrow, ncols=ncol, squeeze=False)
        for i, outcome in enumerate(outcomes):
            for j, predictor in enumerate(predictors):
                ax = axes[i, j]
                d = t[(t["outcome"] == outcome) & (t["predictor"] == predictor)]
                letter = chr(ord("a") + i * ncol + j)
                if d.empty:
                    ax.set_axis_off()
                    continue
                if _association_panel(ax, d, outcome, predictor, letter, i == nrow - 1, style, has_own):
                    any_outside = True
        _association_legend(fig, t, style, has_own, level, any_outside)
    return fig


def _association_panel(ax, d: pd.DataFrame, outcome: str, predictor: str, letter: str, last_row: bool,
                       style: tuple, has_own: set[str]) -> bool:
    """One panel of :func:`plot_association_curves`; adds to ``has_own`` the sets with a marker
    at their own value and returns whether grid values outside the region were shaded."""
    sets, colors, styles, mstyle = style
    any_outside = False
    term, top, ref = _top_term(predictor, list(d["term"].unique()))
    d = d[d["term"] == term].sort_values("assumption_value")
    for k, s in enumerate(sets):
        c = d[d["assumptions"] == s]
        if c.empty:
            continue
        x = c["assumption_value"].to_numpy(float)
        ax.fill_between(x, np.exp(c["lower"]), np.exp(c["upper"]), color=colors[s], alpha=0.14, lw=0,
                        gid=f"band-{s}")
        for col in ("lower", "upper"):
            ax.plot(x, np.exp(c[col]), color=colors[s], lw=0.6, ls=styles[s], gid=f"band-edge-{s}")
        ax.plot(x, np.exp(c["estimate"]), color=colors[s], lw=1.1 - 0.3 * k, ls=styles[s],
                gid=f"estimate-{s}", label=f"assumption set '{s}'")
        if "at_set_value" in c:
            own = c[c["at_set_value"].astype(str).str.lower().isin(["true", "1", str(s).lower()])]
            if len(own):
                has_own.add(s)
                ax.plot(own["assumption_value"], np.exp(own["estimate"]), ls="", zorder=5 + k,
                        gid=f"set-value-{s}", label=f"set '{s}': its own value", **mstyle[s])
    ax.axhline(1, color="0.55", lw=0.5, ls=":", zorder=0)
    ax.axvline(1, color="0.55", lw=0.5, ls=":", zorder=0)
    # identification region of this odds ratio (published facts)
    rlo, rhi = float(d["region_lower"].min()), float(d["region_upper"].max())
    if rlo == 0 and math.isinf(rhi):
        region = "identification region: 0 to ∞ (unrestricted)"
    else:
        region = f"identification region: {rlo:.3g} to {'∞' if math.isinf(rhi) else f'{rhi:.3g}'}"
    out = d.loc[~d["inside_region"].astype(str).str.lower().isin(["true", "1"]), "assumption_value"]
    if len(out):
        any_outside = True
        xs = np.sort(d["assumption_value"].unique())
        for v in np.unique(out):
            k = int(np.searchsorted(xs, v))
            left = math.sqrt(xs[k - 1] * v) if k > 0 else v
            right = math.sqrt(xs[k + 1] * v) if k + 1 < len(xs) else v
            ax.axvspan(left, right, facecolor="0.82", edgecolor="0.6", hatch="////", lw=0, zorder=0,
                       gid="outside-region")
    ax.set_xscale("log")
    ax.set_yscale("log")
    xlo, xhi = float(d["assumption_value"].min()), float(d["assumption_value"].max())
    ax.set_xlim(xlo, xhi)
    _log_axis(ax.xaxis, xlo, xhi)
    ylo = float(np.exp(d["lower"].min())) / 1.3
    yhi = float(np.exp(d["upper"].max())) * 1.3
    ax.set_ylim(ylo, yhi)
    _log_axis(ax.yaxis, ylo, yhi)
    event = str(d["event"].iloc[0]) if "event" in d else outcome
    words = PREDICTOR_WORDS.get(predictor, (predictor, "per step"))
    ax.set_title(f"{letter}  {event[:1].upper() + event[1:]}\n     by {words[0]}", loc="left", fontsize=6.8,
                 pad=10)
    ax.annotate(region, (0, 1), xycoords="axes fraction", xytext=(0, 2.5), textcoords="offset points",
                ha="left", va="bottom", fontsize=5.5, color="0.3", gid="region-note")
    ax.set_ylabel(f"OR, {_words(predictor, top)} vs {_words(predictor, ref)}")
    if last_row:
        ax.set_xlabel(textwrap.fill(f"assumed OR {words[1]}", 38, break_on_hyphens=False))
    return any_outside


def _association_legend(fig, t: pd.DataFrame, style: tuple, has_own: set[str], level: float | None,
                        any_outside: bool) -> None:
    """The legend under the panels of :func:`plot_association_curves`, titled with :data:`ASSOCIATION_NOTE`."""
    sets, colors, styles, mstyle = style
    handles = []
    for s in sets:
        handles.append(Line2D([], [], color=colors[s], ls=styles[s], lw=1.0, label=f"assumption set '{s}'"))
    handles += [Line2D([], [], ls="", label=f"set '{s}': its own value", **mstyle[s]) for s in sets if s in has_own]
    handles.append(Patch(facecolor="0.5", alpha=0.3, lw=0,
                         label=f"{_fmt_pct(level)}sampling interval at each fixed value"))
    handles.append(Line2D([], [], color="0.55", lw=0.5, ls=":", label="OR = 1 (no association)"))
    if any_outside:
        handles.append(Patch(facecolor="0.82", edgecolor="0.6", hatch="////", lw=0,
                             label="outside the identification region"))
    descs = [f"'{s}': {d}" for s in sets if (d := _set_description(t, s))]
    title = ASSOCIATION_NOTE + (".\nIdentification region: the range of the marginal OR of the same contrast "
                                "over all tables consistent with the published margins and facts")
    if descs:
        title += ".\n" + textwrap.fill("The sets differ in the odds ratios held fixed outside each panel: "
                                       + "; ".join(descs) + ".", 150)
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False, fontsize=5.8,
               handlelength=2.4, columnspacing=1.5, title=title, title_fontsize=6.0, alignment="left")


# --------------------------------------------------------------------------- coverage


def _split_scenario(name: str) -> tuple[str, str]:
    """(base scenario, country set) of a frame scenario name."""
    if name.endswith("_answering_only"):
        return name[: -len("_answering_only")], "answering"
    return name, "invited"


def plot_coverage_curve(table: pd.DataFrame, scenarios: Sequence[str] | None = None, *,
                        country_sets: Mapping[str, str] | None = None) -> Figure:
    """Frame-wide 24/7 IR cover and its tipping point over the assumed size odds ratio.

    Parameters
    ----------
    table : pandas.DataFrame
        ``data/derived/coverage_curve_2017.csv``: per frame ``scenario`` x
        ``assumption_value``: ``estimate``, ``lower``, ``upper`` (frame-wide cover and its
        sampling interval at the fixed value), ``respondent_share`` (exact),
        ``manski_lower``, ``manski_upper`` (worst-case bounds), ``tipping_or``,
        ``threshold``, ``at_set_value`` (names of the assumption sets whose value this is,
        ``;``-separated, empty otherwise); optionally ``std_error`` (to read the interval
        level back).
    scenarios : sequence of str, optional
        Frame scenarios to draw, in this order (default: all in ``table``).
    country_sets : mapping, optional
        Legend text of the two country sets, keys ``"invited"`` (the frame scenario over
        all invited countries) and ``"answering"`` (its ``*_answering_only`` variant),
        e.g. with the numbers of countries counted by the caller. Default "all invited
        countries" / "answering countries only".

    Returns
    -------
    Figure
        170 mm wide, two panels sharing the x axis: the assumed odds ratio of 24/7 cover per
        bed class (log scale). (a) Frame-wide cover with sampling bands, colour = frame
        statistic, line style = country set; the respondents' exact share, the worst-case
        bounds (no assumption) and the threshold as horizontal lines; markers at the
        assumption sets' values, their names written above the axis. (b) The tipping odds
        ratio: how much lower (or higher) the non-respondents' odds of cover must be than
        under MAR for the estimate to reach the threshold (log scale; 1 = MAR). Legend
        below the panels.

    Raises
    ------
    SchemaError
        A column is missing, the table is empty, or a requested scenario is absent.
    """
    _require(table, ["scenario", "assumption_value", "estimate", "lower", "upper", "respondent_share", "manski_lower",
                     "manski_upper", "tipping_or", "threshold", "at_set_value"], "plot_coverage_curve")
    names = list(scenarios) if scenarios is not None else list(dict.fromkeys(table["scenario"]))
    absent = [s for s in names if s not in set(table["scenario"])]
    if absent or not names:
        raise SchemaError([Problem(f"scenario not in the table; it has {sorted(set(table['scenario']))}", value=s)
                           for s in absent or ["(none)"]], what="plot_coverage_curve")
    t = table[table["scenario"].isin(names)].copy()
    t["at_set_value"] = t["at_set_value"].fillna("").astype(str)
    country_sets = {"invited": "all invited countries", "answering": "answering countries only", **(country_sets or {})}
    bases = list(dict.fromkeys(_split_scenario(s)[0] for s in names))
    colors = {b: _PALETTE[i % len(_PALETTE)] for i, b in enumerate(bases)}
    lstyle = {"invited": "-", "answering": (0, (3.5, 1.8))}
    level = _level(t, "logit")
    # assumption sets and their values
    set_vals: dict[str, float] = {}
    for r in t.loc[t["at_set_value"] != "", ["assumption_value", "at_set_value"]].itertuples():
        for s in str(r.at_set_value).split(";"):
            if s.strip():
                set_vals.setdefault(s.strip(), float(r.assumption_value))
    set_names = sorted(set_vals, key=lambda s: set_vals[s])
    markers = {s: _SET_MARKERS[i % len(_SET_MARKERS)] for i, s in enumerate(set_names)}
    resp = float(t["respondent_share"].iloc[0])
    mlo, mhi = float(t["manski_lower"].iloc[0]), float(t["manski_upper"].iloc[0])
    thr = float(t["threshold"].iloc[0])
    resp_label = f"respondents {100 * resp:.1f}% (exact)"
    manski_label = f"worst case (no assumption): {100 * mlo:.1f}%–{100 * mhi:.1f}%"
    thr_label = f"threshold {100 * thr:g}%"
    with journal_style():
        fig, (ax, bx) = new_figure(DOUBLE_COLUMN_MM, 112.0, ncols=2)
        for y in (mlo, mhi):
            ax.axhline(y, color="0.45", lw=0.7, ls=(0, (6, 1.5, 1, 1.5)), zorder=1, gid="manski",
                       label=manski_label)
        ax.axhline(thr, color="black", lw=0.6, ls="--", zorder=1, gid="threshold", label=thr_label)
        ax.axhline(resp, color="0.25", lw=0.8, ls=":", zorder=1, gid="respondents", label=resp_label)
        _coverage_curves(ax, bx, t, names, colors, lstyle, markers)
        _coverage_axes(ax, bx, t, set_vals, markers, thr)
        handles = [Line2D([], [], color=colors[b], lw=1.2, label=SCENARIO_LABELS.get(b, b)) for b in bases]
        csets = list(dict.fromkeys(_split_scenario(s)[1] for s in names))
        handles += [Line2D([], [], color="0.3", lw=1.0, ls=lstyle[c], label=f"frame: {country_sets[c]}") for c in csets]
        handles += [Patch(facecolor="0.5", alpha=0.3, lw=0,
                          label=f"{_fmt_pct(level)}sampling interval at each fixed value")]
        handles += [Line2D([], [], ls="", marker=markers[s], ms=3.4, mfc="0.6", mec="black", mew=0.5,
                           label=f"assumption set '{s}' (OR = {set_vals[s]:g})") for s in set_names]
        handles += [Line2D([], [], color="0.25", lw=0.8, ls=":", label=resp_label),
                    Line2D([], [], color="0.45", lw=0.7, ls=(0, (6, 1.5, 1, 1.5)), label=manski_label),
                    Line2D([], [], color="black", lw=0.6, ls="--", label=thr_label),
                    Line2D([], [], color="0.45", lw=0.6, label="b: OR = 1, missing at random (MAR)")]
        fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False, fontsize=5.8, handlelength=2.4,
                   columnspacing=1.2,
                   title="2017: estimates at fixed assumed odds ratios (not identified by the published data); "
                         "frame scenarios are assumptions", title_fontsize=6.2)
    return fig


def _coverage_curves(ax, bx, t: pd.DataFrame, names: Sequence[str], colors: dict, lstyle: dict,
                     markers: dict) -> None:
    """Per scenario: the sampling band (a), the curve in both panels and a marker at each set's value.

    ``markers`` maps the assumption sets, in the order they are drawn, to their markers.
    """
    for s in names:
        base, cset = _split_scenario(s)
        c = t[t["scenario"] == s].sort_values("assumption_value")
        x = c["assumption_value"].to_numpy(float)
        ax.fill_between(x, c["lower"], c["upper"], color=colors[base], alpha=0.13 if cset == "invited" else 0.07,
                        lw=0, gid=f"band-{s}")
        for a in (ax, bx):
            y = c["estimate"] if a is ax else c["tipping_or"]
            a.plot(x, y, color=colors[base], lw=1.0, ls=lstyle[cset], gid=f"curve-{s}", label=s)
            for sname in markers:
                hit = c[c["at_set_value"].str.split(";").apply(lambda v, n=sname: n in [p.strip() for p in v])]
                if len(hit):
                    yy = hit["estimate"] if a is ax else hit["tipping_or"]
                    a.plot(hit["assumption_value"], yy, ls="", marker=markers[sname], ms=3.4, mfc=colors[base],
                           mec="black", mew=0.5, zorder=5, gid=f"set-value-{sname}", label=sname)


def _coverage_axes(ax, bx, t: pd.DataFrame, set_vals: dict[str, float], markers: dict, thr: float) -> None:
    """Scales, limits, the sets' values as labelled vertical lines, labels and titles of both panels."""
    xlo, xhi = float(t["assumption_value"].min()), float(t["assumption_value"].max())
    bx.axhline(1, color="0.45", lw=0.6, ls="-", zorder=0, gid="mar", label="OR = 1 (MAR)")
    for a in (ax, bx):
        a.set_xscale("log")
        a.set_xlim(xlo, xhi)
        _log_axis(a.xaxis, xlo, xhi)
        a.set_xlabel("assumed OR of 24/7 cover per bed class (respondents)")
        for sname in markers:
            v = set_vals[sname]
            a.axvline(v, color="0.6", lw=0.5, ls=":", zorder=0)
            a.annotate(f"{sname}", (v, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 2),
                       textcoords="offset points", ha="center", va="bottom", fontsize=5.8, color="0.25",
                       annotation_clip=False, gid=f"set-label-{sname}")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:g}%")
    ax.set_ylabel("24/7 IR cover (MAR within bed class)")
    ax.set_title("a  24/7 IR cover among all invited departments", loc="left", pad=11)
    tips = t["tipping_or"].to_numpy(float)
    tips = tips[np.isfinite(tips) & (tips > 0)]
    ylo, yhi = min(tips.min(), 1.0) / 1.15, max(tips.max(), 1.0) * 1.15
    bx.set_yscale("log")
    bx.set_ylim(ylo, yhi)
    _log_axis(bx.yaxis, ylo, yhi)
    bx.set_ylabel(f"non-respondents' OR of cover vs MAR at which\nthe estimate reaches {100 * thr:g}% (tipping OR)")
    bx.set_title(f"b  Tipping point: estimate = {100 * thr:g}%", loc="left", pad=11)
