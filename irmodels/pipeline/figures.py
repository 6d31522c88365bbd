"""The standard figures of a wave report, drawn with seaborn on the package's style.

Each function takes the wave's generated tables (never the raw data) and returns a matplotlib
Figure; :func:`wave_figures` draws every figure whose tables exist. Categorical ``hue`` values
are cast to ``str`` before plotting (seaborn 0.13 with pandas 3 can map colours wrongly for a
categorical dtype) and the palette is given as an explicit ``{level: colour}`` mapping, so the
colour of each series is fixed by its name, not by the order seaborn finds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

__all__ = ["respondents_by_country", "prevalence_points", "weights_figure", "tipping_figure",
           "share_strip", "wave_figures", "WEIGHTING_PALETTE"]

#: fixed colours of the weighting series (unweighted vs frame-weighted)
WEIGHTING_PALETTE = {"unweighted": "#E69F00", "weighted": "#0072B2"}


def respondents_by_country(desc: pd.DataFrame, *, wave: str) -> Figure:
    """Horizontal bars: respondents per country (from ``tables/descriptives.csv``)."""
    d = desc[desc["variable"] == "country"].sort_values(["count", "category"], ascending=[False, True])
    d = d.assign(category=d["category"].astype(str))
    fig = Figure(figsize=(5.5, 0.22 * len(d) + 1.2))
    ax = fig.subplots()
    sns.barplot(data=d, y="category", x="count", color="#1f77b4", orient="h", ax=ax, order=list(d["category"]))
    ax.set_xlabel("respondents")
    ax.set_ylabel("")
    ax.set_title(f"Respondents by country, wave {wave} (n = {int(d['count'].sum())})", fontsize=9)
    fig.tight_layout()
    return fig


def _ci_points(data: pd.DataFrame, color: Any = None, **kw: Any) -> None:
    import matplotlib.pyplot as plt

    ax = plt.gca()
    groups = list(dict.fromkeys(data["group"].astype(str)))
    series = [s for s in WEIGHTING_PALETTE if s in set(data["weighting"])]
    for j, s in enumerate(series):
        d = data[data["weighting"] == s].set_index(data[data["weighting"] == s]["group"].astype(str))
        d = d.reindex(groups)
        y = np.arange(len(groups)) + (j - (len(series) - 1) / 2) * 0.25
        ax.errorbar(d["estimate"], y, xerr=[d["estimate"] - d["lower"], d["upper"] - d["estimate"]], fmt="o",
                    ms=4, color=WEIGHTING_PALETTE[s], label=s, capsize=2, lw=1)
    ax.set_yticks(np.arange(len(groups)), groups)
    ax.set_ylim(len(groups) - 0.5, -0.5)


def prevalence_points(prev: pd.DataFrame, *, wave: str) -> Figure:
    """Point estimates and 95% intervals of each outcome, unweighted and frame-weighted, by domain."""
    d = prev.copy()
    for c in ("outcome", "by", "group", "weighting"):
        d[c] = d[c].astype(str)
    order_by = list(dict.fromkeys(d["by"]))
    g = sns.FacetGrid(d, row="label", col="by", col_order=order_by, sharey=False, sharex=True,
                      height=1.2 + 0.22 * d.groupby("by")["group"].nunique().max(), aspect=1.25, margin_titles=True)
    g.map_dataframe(_ci_points)
    g.set(xlim=(0, 1))
    g.set_axis_labels("proportion (95% interval)", "")
    g.set_titles(row_template="{row_name}", col_template="by {col_name}")
    g.add_legend(title="")
    g.figure.suptitle(f"Prevalence, wave {wave}: respondents (unweighted; identified) and weighted to the frame\n"
                      "(weighted: assumes non-response ignorable given the weighting margins)", fontsize=8)
    g.figure.subplots_adjust(top=0.88)
    return g.figure


def _jitter(n: int, width: float, seed: int) -> np.ndarray:
    """Seeded horizontal jitter (seaborn's stripplot jitter draws from numpy's global state)."""
    return np.random.default_rng(seed).uniform(-width, width, n)


def weights_figure(weights: pd.DataFrame, margins: pd.DataFrame, summary: pd.DataFrame, *, wave: str,
                   seed: int = 0) -> Figure:
    """(a) distribution of the weights; (b) standardised margin differences before/after weighting."""
    s = summary.iloc[0]
    fig = Figure(figsize=(8, 3.2))
    a, b = fig.subplots(1, 2)
    sns.histplot(x=weights["weight"].astype(float), bins=30, log_scale=True, color="#1f77b4", ax=a)
    a.set_xlabel("weight (log scale)")
    a.set_title(f"(a) weights: Kish deff {s['deff_kish']:.2f}, n_eff {s['n_eff']:.0f} of {int(s['n'])}", fontsize=9)
    cols = [c for c in ("std_diff_before", "std_diff_after") if c in margins.columns]
    if cols:
        m = margins.melt(id_vars=[c for c in ("variable", "category") if c in margins.columns], value_vars=cols,
                         var_name="when", value_name="std_diff")
        m["when"] = m["when"].str.replace("std_diff_", "", regex=False).astype(str)
        m["y"] = m["when"].map({"before": 0.0, "after": 1.0}) + _jitter(len(m), 0.2, seed)
        sns.scatterplot(data=m, x="std_diff", y="y", hue="when", palette={"before": "#D55E00", "after": "#009E73"},
                        legend=False, ax=b, s=14)
        b.set_yticks([0, 1], ["before", "after"])
        b.axvline(0, color="k", lw=0.6)
        b.set_xlabel("standardised difference, respondents vs frame")
        b.set_ylabel("")
    b.set_title("(b) margins before and after weighting", fontsize=9)
    fig.suptitle(f"Weights, wave {wave}: frame '{s['scenario']}' (total {s['frame_total']:.0f}), "
                 f"margins {s['margins']}", fontsize=9)
    fig.tight_layout()
    return fig


def tipping_figure(curve: pd.DataFrame, tipping: pd.DataFrame, bounds: pd.DataFrame, *, wave: str) -> Figure:
    """Frame-wide prevalence against the odds ratio of non-respondents (delta adjustment)."""
    outcomes = list(dict.fromkeys(curve["outcome"].astype(str)))
    fig = Figure(figsize=(4.2 * len(outcomes), 3.4))
    axes = np.atleast_1d(fig.subplots(1, len(outcomes)))
    for ax, o in zip(axes, outcomes):
        c = curve[curve["outcome"].astype(str) == o].sort_values("odds_ratio")
        sns.lineplot(data=c, x="odds_ratio", y="estimate", color="#1f77b4", ax=ax)
        ax.fill_between(c["odds_ratio"], c["lower"], c["upper"], color="#1f77b4", alpha=0.2, lw=0)
        b = bounds[bounds["outcome"].astype(str) == o]
        if len(b):
            ax.axhspan(float(b["lower"].iloc[0]), float(b["upper"].iloc[0]), color="#7f7f7f", alpha=0.08,
                       label="worst-case (Manski) bounds")
        t = tipping[tipping["outcome"].astype(str) == o]
        thr = float(t["threshold"].iloc[0]) if len(t) else 0.5
        ax.axhline(thr, color="k", lw=0.6, ls="--")
        ax.axvline(1, color="k", lw=0.4, ls=":")
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.set_xlabel("odds ratio, non-respondents vs respondents (assumption)")
        ax.set_ylabel("frame-wide prevalence")
        ax.set_title(o, fontsize=9)
    fig.suptitle(f"Non-ignorable non-response, wave {wave}: estimate as a function of the assumed odds ratio",
                 fontsize=9)
    fig.tight_layout()
    return fig


def share_strip(resp: pd.DataFrame, *, wave: str, seed: int = 0) -> Figure:
    """Female share of each department's IR team by bed class (one dot per department)."""
    d = resp[(pd.to_numeric(resp["n_ir"], errors="coerce") > 0) & resp["n_female_ir"].notna()].copy()
    d["share"] = pd.to_numeric(d["n_female_ir"]) / pd.to_numeric(d["n_ir"])
    d["beds_class"] = d["beds_class"].astype(str)
    from irmodels.data.codebook import categories

    order = [c for c in categories("beds_class") if c in set(d["beds_class"])]
    fig = Figure(figsize=(5.5, 3.2))
    ax = fig.subplots()
    d["x"] = d["beds_class"].map({c: i for i, c in enumerate(order)}).astype(float) + _jitter(len(d), 0.25, seed)
    sns.scatterplot(data=d, x="x", y="share", color="#0072B2", alpha=0.5, s=8, linewidth=0, ax=ax)
    means = d.groupby("beds_class", observed=True)["share"].mean().reindex(order)
    sns.scatterplot(x=np.arange(len(order)), y=means.to_numpy(), color="k", marker="D", s=30, ax=ax)
    ax.set_xticks(np.arange(len(order)), order)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("hospital beds")
    ax.set_ylabel("female share of the IR team")
    ax.set_title(f"Female IR share by hospital size, wave {wave} (dots: departments; diamonds: means; "
                 f"n = {len(d)})", fontsize=8)
    fig.tight_layout()
    return fig


def wave_figures(ctx: Any) -> dict[str, Figure]:
    """Every standard figure whose input tables exist in the wave's output folder."""
    from irmodels.figures.style import journal_style

    with journal_style():
        return _wave_figures(ctx)


def _wave_figures(ctx: Any) -> dict[str, Figure]:
    wave = ctx.cfg.wave
    out: dict[str, Figure] = {}
    have = lambda rel: ctx.path(rel).is_file()  # noqa: E731
    if have("tables/descriptives.csv"):
        out["figures/respondents_by_country"] = respondents_by_country(ctx.table("tables/descriptives.csv"), wave=wave)
    resp = ctx.respondents()
    if {"n_ir", "n_female_ir", "beds_class"} <= set(resp.columns):
        out["figures/female_ir_share"] = share_strip(resp, wave=wave, seed=ctx.cfg.seed)
    if have("tables/prevalence.csv"):
        out["figures/prevalence"] = prevalence_points(ctx.table("tables/prevalence.csv"), wave=wave)
    if have("tables/weights.csv") and have("tables/weight_margins.csv"):
        out["figures/weights"] = weights_figure(ctx.table("tables/weights.csv"), ctx.table("tables/weight_margins.csv"),
                                                ctx.table("tables/weight_summary.csv"), wave=wave,
                                                seed=ctx.cfg.seed)
    if have("tables/tipping_point_curve.csv"):
        out["figures/tipping_point"] = tipping_figure(ctx.table("tables/tipping_point_curve.csv"),
                                                      ctx.table("tables/tipping_point.csv"),
                                                      ctx.table("tables/bounds.csv"), wave=wave)
    if have("tables/model_results.csv"):
        res = ctx.table("tables/model_results.csv")
        if len(res):
            from irmodels.figures.models import forest_plot

            t = res[~res["term"].astype(str).str.contains(r"Intercept|\||sd\(|threshold|phi|sd_", regex=True)].copy()
            t["engine"] = t["engine"].map({"statsmodels": "frequentist", "pymc": "Bayesian hierarchical"}).fillna(
                t["engine"]).astype(str)
            out["figures/model_forest"] = forest_plot(t, series="engine", panel="spec_id",
                                                      title=f"Odds ratios (95% intervals), wave {wave}")
    return out
