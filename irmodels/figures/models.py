"""Figures of the model results (journal style of :mod:`irmodels.figures.style`).

Tidy tables in, :class:`matplotlib.figure.Figure` out; the analysis scripts save
them with :func:`irmodels.figures.style.save_figure`.

* :func:`forest_plot` -- odds ratios, frequentist and Bayesian side by side;
  terms whose 2017 value comes only from an assumption set are drawn with open
  markers and a dagger;
* :func:`caterpillar_plot` -- country intercepts with intervals;
* :func:`mrp_plot` -- MRP estimates by country next to the weighting estimates;
* :func:`ppc_plot` -- posterior predictive check (observed vs replicated).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from irmodels.core.errors import ModelSpecError
from irmodels.figures.style import DOUBLE_COLUMN_MM, MAX_HEIGHT_MM, OKABE_ITO, SINGLE_COLUMN_MM, journal_style, new_figure

__all__ = ["forest_plot", "caterpillar_plot", "mrp_plot", "ppc_plot", "pretty_term"]

_NOT_COEF = ("Intercept", "threshold[", "sd(", "sd_department", "phi")


def pretty_term(term: str) -> str:
    """``beds_class[T.>=800]`` -> ``beds: >=800``; ``teaching`` -> ``teaching: yes``."""
    names = {"beds_class": "beds", "chair_profile": "chair", "procedure_volume_class": "IR volume",
             "teaching": "teaching", "ir_unit": "IR unit"}
    if "[T." in term:
        var, lev = term.split("[T.", 1)
        return f"{names.get(var, var)}: {lev.rstrip(']')}"
    return f"{names.get(term, term)}: yes" if term in names else term


def _require(df: pd.DataFrame, cols: list[str], what: str) -> None:
    absent = [c for c in cols if c not in df.columns]
    if absent:
        raise ModelSpecError(f"{what}: table lacks columns {absent}; it has {list(df.columns)}")


def forest_plot(tidy: pd.DataFrame, *, series: str = "engine", panel: str = "spec_id",
                exponentiate: bool = True, title: str | None = None) -> Figure:
    """Forest plot of odds ratios, one panel per ``panel`` value, one marker per ``series``.

    Parameters
    ----------
    tidy : DataFrame
        Tidy results on the link scale (``term, estimate, lower, upper`` and the
        ``series``/``panel`` columns); an ``identification`` column marks
        assumption-only terms (open markers, dagger in the label).
    exponentiate : bool
        Plot odds ratios (log axis) rather than log-odds.
    """
    _require(tidy, ["term", "estimate", "lower", "upper", series, panel], "forest_plot")
    t = tidy[~tidy["term"].astype(str).str.startswith(_NOT_COEF)].copy()
    panels = list(dict.fromkeys(t[panel].astype(str)))
    series_vals = list(dict.fromkeys(t[series].astype(str)))
    n_terms = max(t.groupby(panel)["term"].nunique().max(), 1)
    height = min(MAX_HEIGHT_MM, 25 + 7 * n_terms * max(1, (len(panels) + 1) // 2))
    ncols = min(2, len(panels))
    nrows = int(np.ceil(len(panels) / ncols))
    with journal_style():
        fig, axes = new_figure(DOUBLE_COLUMN_MM if ncols > 1 else SINGLE_COLUMN_MM,
                               min(MAX_HEIGHT_MM, 20 + 6 * n_terms * nrows), nrows=nrows, ncols=ncols,
                               squeeze=False)
        for ax, p in zip(axes.ravel(), panels):
            sub = t[t[panel].astype(str) == p]
            terms = list(dict.fromkeys(sub["term"].astype(str)))
            ypos = {term: len(terms) - 1 - i for i, term in enumerate(terms)}
            offs = np.linspace(-0.2, 0.2, len(series_vals)) if len(series_vals) > 1 else [0.0]
            for j, sv in enumerate(series_vals):
                s = sub[sub[series].astype(str) == sv]
                for _, r in s.iterrows():
                    y = ypos[str(r["term"])] + offs[j]
                    est, lo, hi = (np.exp([r["estimate"], r["lower"], r["upper"]]) if exponentiate
                                   else (r["estimate"], r["lower"], r["upper"]))
                    assumption = str(r.get("identification", "")) == "assumption"
                    colour = OKABE_ITO[(4, 5, 2, 0)[j % 4]]
                    ax.plot([lo, hi], [y, y], color=colour, lw=0.9)
                    ax.plot(est, y, "o", ms=3.2, color=colour, mfc="white" if assumption else colour, mew=0.8)
            labels = []
            for term in terms:
                ident = sub.loc[sub["term"].astype(str) == term, "identification"] if "identification" in sub else []
                dag = " \u2020" if len(ident) and (ident.astype(str) == "assumption").all() else ""
                labels.append(pretty_term(term) + dag)
            ax.set_yticks([ypos[x] for x in terms], labels)
            ax.axvline(1.0 if exponentiate else 0.0, color="0.5", lw=0.5, ls="--")
            if exponentiate:
                ax.set_xscale("log")
                lo_, hi_ = ax.get_xlim()
                wide = np.log10(hi_ / lo_) > 1.6  # over ~40-fold: decades only, or labels collide
                ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0,) if wide else (1.0, 2.0, 5.0)))
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("odds ratio (95% interval)" if exponentiate else "log-odds (95% interval)")
            ax.set_title(p, loc="left")
        for ax in axes.ravel()[len(panels):]:
            ax.set_visible(False)
        handles = [Line2D([], [], color=OKABE_ITO[(4, 5, 2, 0)[j % 4]], marker="o", ms=3.2, label=sv)
                   for j, sv in enumerate(series_vals)]
        if "identification" in t and (t["identification"].astype(str) == "assumption").any():
            handles.append(Line2D([], [], color="0.3", marker="o", mfc="white", ls="", ms=3.2,
                                  label="\u2020 from the assumption set only"))
        fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)), frameon=False)
        if title:
            fig.suptitle(title)
    return fig


def caterpillar_plot(effects: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Country intercepts (log-odds) sorted, with intervals; label shows respondents.

    ``effects``: output of :func:`irmodels.models.posterior.group_effects`
    (``group, estimate, lower, upper, n``).
    """
    _require(effects, ["group", "estimate", "lower", "upper", "n"], "caterpillar_plot")
    e = effects.sort_values("estimate").reset_index(drop=True)
    with journal_style():
        fig, ax = new_figure(SINGLE_COLUMN_MM, min(MAX_HEIGHT_MM, 20 + 3.2 * len(e)))
        y = np.arange(len(e))
        ax.hlines(y, e["lower"], e["upper"], color=OKABE_ITO[4], lw=0.9)
        ax.plot(e["estimate"], y, "o", color=OKABE_ITO[4], ms=3)
        ax.set_yticks(y, [f"{g} (n={n})" for g, n in zip(e["group"], e["n"])])
        ax.axvline(0, color="0.5", lw=0.5, ls="--")
        ax.set_xlabel("country intercept, log-odds (95% interval)")
        if title:
            ax.set_title(title, loc="left")
    return fig


def mrp_plot(mrp: pd.DataFrame, weighting: pd.DataFrame | None = None, *, title: str | None = None) -> Figure:
    """MRP estimates by country (and Europe), next to the weighting estimates when given.

    ``mrp``: output of :func:`irmodels.models.mrp.poststratify`. ``weighting``:
    rows with ``domain`` (``"Europe"`` or a country), ``estimate``, ``lower``,
    ``upper`` (e.g. :func:`irmodels.nonresponse.survey.weighted_prevalence`, renamed).
    Countries without respondents (``n_respondents == 0``) are not drawn: their
    estimate is the model's prediction for a new country, not data; their number is
    stated under the axis. The title is wrapped to the figure width and the legend sits
    below the axis, so neither covers data.
    """
    import textwrap

    _require(mrp, ["level", "domain", "estimate", "lower", "upper"], "mrp_plot")
    m = mrp[mrp["level"].isin(["Europe", "country"])].copy()
    europe = m[m["level"] == "Europe"]
    countries = m[m["level"] == "country"]
    n_new = 0
    if "n_respondents" in countries.columns:
        n_new = int((countries["n_respondents"] == 0).sum())
        countries = countries[countries["n_respondents"] > 0]
    countries = countries.sort_values("estimate")
    order = list(countries["domain"]) + list(europe["domain"])
    with journal_style():
        fig, ax = new_figure(SINGLE_COLUMN_MM, min(MAX_HEIGHT_MM, 25 + 3.4 * len(order)))
        ypos = {d: i for i, d in enumerate(order)}
        dy = 0.18 if weighting is not None else 0.0
        for _, r in pd.concat([countries, europe]).iterrows():
            y = ypos[r["domain"]] + dy
            colour = OKABE_ITO[7] if r["level"] == "Europe" else OKABE_ITO[4]
            ax.hlines(y, r["lower"], r["upper"], color=colour, lw=0.9)
            ax.plot(r["estimate"], y, "o", color=colour, ms=3)
        handles = [Line2D([], [], color=OKABE_ITO[4], marker="o", ms=3, label="MRP")]
        if weighting is not None:
            _require(weighting, ["domain", "estimate", "lower", "upper"], "mrp_plot (weighting)")
            for _, r in weighting.iterrows():
                if r["domain"] in ypos:
                    y = ypos[r["domain"]] - dy
                    ax.hlines(y, r["lower"], r["upper"], color=OKABE_ITO[5], lw=0.9)
                    ax.plot(r["estimate"], y, "s", color=OKABE_ITO[5], ms=2.6)
            handles.append(Line2D([], [], color=OKABE_ITO[5], marker="s", ms=2.6, label="weighting"))
        ax.set_yticks(list(ypos.values()), [d if d != "Europe" else "Europe (all)" for d in ypos])
        ax.set_xlim(0, 1)
        xlabel = "population estimate (95% interval)"
        if n_new:
            xlabel += f"\n{n_new} frame countries without respondents\nnot shown (model prediction only)"
        ax.set_xlabel(xlabel)
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2 if n_new else -0.1),
                  ncol=len(handles), frameon=False)
        if title:
            ax.set_title("\n".join(textwrap.wrap(title, 38)), loc="left", x=-0.12)
    return fig


def ppc_plot(ppc: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Observed proportions (dots) against posterior predictive intervals (bars).

    ``ppc``: output of :func:`irmodels.models.posterior.ppc_table`, optionally with
    a ``spec_id`` column for several panels.
    """
    _require(ppc, ["level", "category", "observed", "rep_lower", "rep_upper", "rep_mean"], "ppc_plot")
    specs = list(dict.fromkeys(ppc["spec_id"].astype(str))) if "spec_id" in ppc else ["all"]
    with journal_style():
        fig, axes = new_figure(DOUBLE_COLUMN_MM, 60, ncols=len(specs), squeeze=False)
        for ax, s in zip(axes.ravel(), specs):
            sub = ppc[ppc["spec_id"].astype(str) == s] if "spec_id" in ppc else ppc
            labels = [f"{lv} | {c}" if c != "success" else str(lv) for lv, c in zip(sub["level"], sub["category"])]
            x = np.arange(len(sub))
            ax.vlines(x, sub["rep_lower"], sub["rep_upper"], color=OKABE_ITO[1], lw=3, alpha=0.8)
            ax.plot(x, sub["observed"], "o", color=OKABE_ITO[7], ms=3)
            ax.set_xticks(x, labels, rotation=60, ha="right")
            ax.set_ylabel("proportion")
            ax.set_title(s, loc="left")
        handles = [Line2D([], [], color=OKABE_ITO[1], lw=3, label="replicated (95%)"),
                   Line2D([], [], color=OKABE_ITO[7], marker="o", ls="", ms=3, label="observed")]
        fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
        if title:
            fig.suptitle(title)
    return fig

