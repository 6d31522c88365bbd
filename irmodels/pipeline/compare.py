"""Comparing survey waves: the change in 24/7 coverage and female IR representation, labelled.

:func:`compare_waves` reads the outputs of two or more waves that have been run
(:func:`irmodels.pipeline.run.run_wave`) and writes, for each outcome event (24/7 cover; at least
one female interventional radiologist, i.e. a female-IR share class other than ``0``, which is
the same event whatever share classes a wave used):

``tables/change.csv``
    The change from the first (reference) wave to each later one, three ways, each with its
    identification label:

    * **respondents** (``identified``): difference of the respondents' shares, with a Newcombe
      hybrid-score 95% interval (Newcombe 1998, method 10). Two sets of self-selected
      departments: not a change in the population.
    * **population, no assumption** (``bounded``): the worst-case bounds of each wave combined,
      ``[L2 - U1, U2 - L1]``.
    * **population under MAR** (``assumption``): difference of the frame-weighted estimates (for
      a published-aggregates wave, one row per frame scenario x assumption set), with a Wald
      interval from the two standard errors (independent samples).

``tables/wave_term.csv``
    A logistic model with a wave term on the stacked departments: unadjusted (the wave odds
    ratio among respondents; ``identified`` when every wave has respondent-level data or
    published counts of the event) and adjusted for bed class. A wave known only from published
    aggregates has no bed class x outcome table: it enters as the expected table at a fixed
    odds ratio between bed class and the outcome
    (:func:`irmodels.identification.expected.expected_table`), and the adjusted wave term is
    reported as a curve over that odds ratio (``assumption``), never as one interval.

Outputs are written atomically into ``output``; ``report.md`` reads every number from them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from irmodels.pipeline.config import WaveConfig, load_wave_config

__all__ = ["compare_waves", "newcombe_difference", "EVENTS"]

#: outcome -> (label, function of the answered column giving the event)
EVENTS: dict[str, str] = {"cover_24_7": "24/7 IR cover", "female_ir_share_class": "at least one female IR"}


def _wilson(y: float, n: float, z: float) -> tuple[float, float]:
    p = y / n
    c = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    d = 1 + z * z / n
    return (p + z * z / (2 * n) - c) / d, (p + z * z / (2 * n) + c) / d


def newcombe_difference(y1: int, n1: int, y2: int, n2: int, level: float = 0.95) -> tuple[float, float, float]:
    """Difference p2 - p1 of two independent proportions with Newcombe's hybrid-score interval.

    Parameters
    ----------
    y1, n1, y2, n2 : int
        Events and trials of the reference (1) and the later (2) sample.
    level : float

    Returns
    -------
    (difference, lower, upper)

    Notes
    -----
    Newcombe (1998), Statistics in Medicine 17:873-890, method 10 (the square-and-add Wilson
    interval). Its example (56/70 vs 48/80) gives 0.2000 with 0.0524 to 0.3339 for p1 - p2.
    """
    z = stats.norm.ppf(0.5 + level / 2)
    p1, p2 = y1 / n1, y2 / n2
    l1, u1 = _wilson(y1, n1, z)
    l2, u2 = _wilson(y2, n2, z)
    d = p2 - p1
    lo = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    hi = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return d, lo, hi


def _read(cfg: WaveConfig, rel: str) -> pd.DataFrame:
    from irmodels.core.errors import ConfigError, Problem

    p = cfg.output / rel
    if not p.is_file():
        raise ConfigError([Problem(f"wave '{cfg.wave}' has no {rel}: run `irmodels run {cfg.path.name}` first",
                                   file=str(cfg.path))])
    return pd.read_csv(p, keep_default_na=False, na_values=[""])


def _event(s: pd.Series, outcome: str) -> pd.Series:
    if outcome == "cover_24_7":
        return s.astype(str).str.lower().map({"true": True, "false": False})
    return s.astype(str).ne("0").where(s.notna())


def _summary(cfg: WaveConfig) -> list[dict[str, Any]]:
    """Per outcome: respondents' y/n, Manski bounds, MAR estimates (estimate, se, label)."""
    out = []
    if cfg.kind == "published":
        pop = _read(cfg, "tables/population.csv")
        for outcome in EVENTS:
            g = pop[pop["outcome"] == outcome]
            r = g[g["quantity"] == "respondents' share"].iloc[0]
            b = g[g["quantity"] == "all invited departments"].iloc[0]
            mar = [{"what": f"{m['scenario']} / assumption set {m['assumption_set']}", "estimate": m["estimate"],
                    "se": (m["upper"] - m["lower"]) / (2 * 1.959964)}  # logit interval: se from its width
                   for _, m in g[g["identification"] == "assumption"].iterrows()]
            out.append({"outcome": outcome, "y": int(r["n_positive"]), "n": int(r["n_answered"]),
                        "L": b["lower"], "U": b["upper"], "mar": mar})
        return out
    t = _read(cfg, "tables/respondents.csv")
    b = _read(cfg, "tables/bounds.csv").set_index("outcome")
    prev = _read(cfg, "tables/prevalence.csv")
    for outcome in EVENTS:
        if outcome not in t.columns:
            continue
        e = _event(t[outcome], outcome).dropna()
        w = prev[(prev["outcome"] == outcome) & (prev["by"] == "all") & (prev["weighting"] == "weighted")]
        mar = [{"what": "frame-weighted", "estimate": w["estimate"].iloc[0], "se": w["std_error"].iloc[0]}] if len(w) \
            else []
        out.append({"outcome": outcome, "y": int(e.sum()), "n": int(len(e)),
                    "L": b.loc[outcome, "lower"] if outcome in b.index else np.nan,
                    "U": b.loc[outcome, "upper"] if outcome in b.index else np.nan, "mar": mar})
    return out


def _change_rows(ref: WaveConfig, new: WaveConfig) -> list[dict[str, Any]]:
    z = stats.norm.ppf(0.975)
    s1 = {r["outcome"]: r for r in _summary(ref)}
    rows = []
    for r2 in _summary(new):
        o = r2["outcome"]
        if o not in s1:
            continue
        r1 = s1[o]
        base = {"outcome": o, "event": EVENTS[o], "reference_wave": ref.wave, "wave": new.wave}
        d, lo, hi = newcombe_difference(r1["y"], r1["n"], r2["y"], r2["n"])
        rows.append({**base, "quantity": "respondents' shares", "what": f"{r2['y']}/{r2['n']} vs {r1['y']}/{r1['n']}",
                     "estimate": d, "lower": lo, "upper": hi, "identification": "identified",
                     "rests_on": "the two sets of respondents (self-selected); not a population change"})
        rows.append({**base, "quantity": "population, no assumption", "what": "worst-case bounds of each wave",
                     "estimate": np.nan, "lower": r2["L"] - r1["U"], "upper": r2["U"] - r1["L"],
                     "identification": "bounded", "rests_on": "nothing beyond the invited numbers"})
        for m1 in r1["mar"]:
            for m2 in r2["mar"]:
                dd, se = m2["estimate"] - m1["estimate"], math.hypot(m1["se"], m2["se"])
                rows.append({**base, "quantity": "population under MAR",
                             "what": f"{new.wave}: {m2['what']}; {ref.wave}: {m1['what']}", "estimate": dd,
                             "lower": dd - z * se, "upper": dd + z * se, "identification": "assumption",
                             "rests_on": "ignorable non-response given the weighting margins, the frames"
                                         + (" and the assumption set's odds ratios" if ref.kind == "published" else "")})
    return rows


def _cells(cfg: WaveConfig, outcome: str, odds_ratio: float | None) -> pd.DataFrame:
    """Departments answering the outcome by bed class x event (counts; expected for a published wave)."""
    if cfg.kind == "published":
        from irmodels.identification.expected import expected_table

        ors = {f"{outcome}~beds_class": odds_ratio} if odds_ratio is not None else {}
        t = expected_table(outcome, predictors=("beds_class",), odds_ratios=ors)
        t = t[t["event"].notna()]
        c = t.groupby(["beds_class", "event"], observed=True)["count"].sum().reset_index()
    else:
        r = _read(cfg, "tables/respondents.csv")
        e = _event(r[outcome], outcome)
        d = pd.DataFrame({"beds_class": r["beds_class"].astype(str), "event": e}).dropna()
        c = d.groupby(["beds_class", "event"]).size().rename("count").reset_index()
    c["event"] = c["event"].astype(bool)
    return c.assign(wave=cfg.wave)


def _wave_fit(cells: pd.DataFrame, adjusted: bool, ref_wave: str) -> pd.DataFrame:
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    from irmodels.data.codebook import categories

    d = cells.copy()
    d["y"] = d["event"].astype(int)
    d["wave"] = pd.Categorical(d["wave"], categories=[ref_wave] + sorted(set(d["wave"]) - {ref_wave}))
    d["beds_class"] = pd.Categorical(d["beds_class"], categories=categories("beds_class"))
    f = "y ~ C(wave)" + (" + C(beds_class)" if adjusted else "")
    fit = smf.glm(f, d, family=sm.families.Binomial(), freq_weights=d["count"], missing="raise").fit()
    ci = fit.conf_int()
    rows = []
    for term in fit.params.index:
        if term.startswith("C(wave)"):
            rows.append({"term": term.replace("C(wave)", "wave"), "estimate": fit.params[term],
                         "std_error": fit.bse[term], "lower": ci.loc[term, 0], "upper": ci.loc[term, 1],
                         "n": float(d["count"].sum())})
    return pd.DataFrame(rows)


def _wave_term(cfgs: Sequence[WaveConfig], grid: Sequence[float]) -> pd.DataFrame:
    published = any(c.kind == "published" for c in cfgs)
    parts = []
    for outcome in EVENTS:
        try:
            base = pd.concat([_cells(c, outcome, None) for c in cfgs], ignore_index=True)
        except KeyError:
            continue
        t = _wave_fit(base, False, cfgs[0].wave)
        parts.append(t.assign(outcome=outcome, adjusted_for="", assumption_value=np.nan,
                              identification="identified",
                              rests_on="respondents of each wave (the published counts of the event)"))
        for val in (grid if published else [None]):
            cells = pd.concat([_cells(c, outcome, val) for c in cfgs], ignore_index=True)
            t = _wave_fit(cells, True, cfgs[0].wave)
            parts.append(t.assign(outcome=outcome, adjusted_for="beds_class",
                                  assumption_value=np.nan if val is None else val,
                                  identification="assumption" if published else "identified",
                                  rests_on=(f"published wave entered as its expected table at {outcome}~beds_class "
                                            f"odds ratio {val:g}") if published else "respondent-level data"))
    out = pd.concat(parts, ignore_index=True)
    out["odds_ratio"] = np.exp(out["estimate"])
    cols = ["outcome", "term", "adjusted_for", "assumption_value", "estimate", "std_error", "lower", "upper",
            "odds_ratio", "n", "identification", "rests_on"]
    return out[cols]


def _figure(wt: pd.DataFrame, title: str):
    import seaborn as sns
    from matplotlib.figure import Figure

    from irmodels.figures.style import journal_style

    with journal_style():
        curves = wt[wt["identification"] == "assumption"].copy()
        outcomes = list(dict.fromkeys(wt["outcome"]))
        fig = Figure(figsize=(4.2 * len(outcomes), 3.3))
        axes = np.atleast_1d(fig.subplots(1, len(outcomes)))
        for ax, o in zip(axes, outcomes):
            c = curves[curves["outcome"] == o].sort_values("assumption_value")
            u = wt[(wt["outcome"] == o) & (wt["adjusted_for"] == "")]
            if len(c):
                sns.lineplot(data=c.assign(series=c["term"].astype(str)), x="assumption_value", y="odds_ratio",
                             hue="series", palette=dict(zip(sorted(set(c["term"].astype(str))),
                                                            ["#0072B2", "#D55E00", "#009E73"])), ax=ax)
                for _, g in c.groupby("term"):
                    ax.fill_between(g["assumption_value"], np.exp(g["lower"]), np.exp(g["upper"]), alpha=0.15, lw=0)
                ax.set_xscale("log")
                ax.set_xlabel("assumed odds ratio, bed class vs outcome, in the published wave")
            for _, r in u.iterrows():
                ax.axhspan(np.exp(r["lower"]), np.exp(r["upper"]), color="#7f7f7f", alpha=0.12)
                ax.axhline(r["odds_ratio"], color="#7f7f7f", lw=0.8, ls="--")
            ax.axhline(1, color="k", lw=0.5)
            ax.set_yscale("log")
            ax.set_ylabel("wave odds ratio (grey: unadjusted, identified)")
            ax.set_title(f"{EVENTS[o]}: adjusted for bed class", fontsize=8)
        fig.suptitle(title, fontsize=8)
        fig.tight_layout()
    return fig


def compare_waves(configs: Sequence[str | Path | WaveConfig], output: str | Path, *,
                  grid: Sequence[float] | None = None) -> dict[str, pd.DataFrame]:
    """Compare two or more waves that have been run; write the tables, a figure and a report.

    Parameters
    ----------
    configs : sequence of path or WaveConfig
        Wave configs; the first is the reference wave. Each wave must have been run.
    output : path
        Output folder (created).
    grid : sequence of float, optional
        Odds ratios between bed class and the outcome at which a published-aggregates wave's
        expected table is set (default: 0.25 to 4, log-spaced, with 1).

    Returns
    -------
    dict
        ``{"change": DataFrame, "wave_term": DataFrame}`` (see the module docstring).
    """
    from irmodels.core.errors import ConfigError, Problem
    from irmodels.figures.style import save_figure
    from irmodels.identification.odds_ratios import assumption_grid
    from irmodels.core.io import write_table_atomic, write_text_atomic

    cfgs = [c if isinstance(c, WaveConfig) else load_wave_config(c) for c in configs]
    if len(cfgs) < 2:
        raise ConfigError([Problem("compare needs at least two wave configs")])
    if len({c.wave for c in cfgs}) < len(cfgs):
        raise ConfigError([Problem("the same wave id appears twice", value=[c.wave for c in cfgs])])
    out = Path(output)
    inputs = {c.path.resolve() for c in cfgs} | {Path(f).resolve() for c in cfgs for f in c.input_files()}
    if any(out.resolve() == p or out.resolve() in p.parents for p in inputs):
        raise ConfigError([Problem("the output folder contains an input file", value=str(out))])
    grid = assumption_grid(0.25, 4.0, 17) if grid is None else np.asarray(grid, dtype=float)
    change = pd.DataFrame([r for c in cfgs[1:] for r in _change_rows(cfgs[0], c)])
    wt = _wave_term(cfgs, grid)
    title = "Comparison " + " vs ".join(c.wave for c in cfgs)
    write_table_atomic(change, out / "tables" / "change.csv", float_format="%.10g")
    write_table_atomic(wt, out / "tables" / "wave_term.csv", float_format="%.10g")
    save_figure(_figure(wt, title), out / "figures" / "wave_term")
    write_text_atomic(_report(cfgs, change, wt, title), out / "report.md")
    return {"change": change, "wave_term": wt}


def _report(cfgs: Sequence[WaveConfig], change: pd.DataFrame, wt: pd.DataFrame, title: str) -> str:
    from irmodels.pipeline.report import _md_table, fmt

    pct = lambda x: "NA" if pd.isna(x) else f"{100 * x:+.1f} points"  # noqa: E731
    lines = [f"# {title}", "", "Reference wave: " + cfgs[0].wave + ". Every row says what it rests on "
             "(`identification`: identified, bounded or assumption).", ""]
    for (o, w), g in change.groupby(["outcome", "wave"], sort=False):
        r = g[g["quantity"] == "respondents' shares"].iloc[0]
        b = g[g["quantity"] == "population, no assumption"].iloc[0]
        m = g[g["quantity"] == "population under MAR"]
        lines.append(f"**{EVENTS[o]}, {w} vs {cfgs[0].wave}**: among respondents {pct(r['estimate'])} "
                     f"({pct(r['lower'])} to {pct(r['upper'])}; identified for the respondents, who are different "
                     f"self-selected departments in each wave); in the population, without assumptions, anywhere from "
                     f"{pct(b['lower'])} to {pct(b['upper'])} (bounded)"
                     + (f"; under MAR and the frames, {pct(m['estimate'].min())} to {pct(m['estimate'].max())} across "
                        f"{len(m)} combinations of frame scenario and assumption set (assumption)." if len(m) else "."))
        lines.append("")
    u = wt[wt["adjusted_for"] == ""]
    a = wt[wt["adjusted_for"] != ""]
    for o, g in u.groupby("outcome", sort=False):
        r = g.iloc[0]
        lines.append(f"Wave odds ratio for {EVENTS[o]}, unadjusted: {fmt(r['odds_ratio'])} "
                     f"({fmt(np.exp(r['lower']))} to {fmt(np.exp(r['upper']))}; {r['identification']}).")
        ga = a[a["outcome"] == o]
        if len(ga) and ga["identification"].eq("assumption").any():
            lines.append(f"Adjusted for bed class it depends on the assumed bed class x outcome odds ratio of the "
                         f"published wave: from {fmt(ga['odds_ratio'].min())} to {fmt(ga['odds_ratio'].max())} as that "
                         f"odds ratio goes from {fmt(ga['assumption_value'].min())} to "
                         f"{fmt(ga['assumption_value'].max())} (assumption; curve in figures/wave_term.png).")
        lines.append("")
    lines += ["## Tables", "", _md_table(change[["outcome", "wave", "quantity", "what", "estimate", "lower", "upper",
                                                 "identification"]]), "",
              _md_table(wt[["outcome", "term", "adjusted_for", "assumption_value", "odds_ratio", "lower", "upper",
                            "identification"]]), "", "![wave term](figures/wave_term.png)", ""]
    return "\n".join(lines)
