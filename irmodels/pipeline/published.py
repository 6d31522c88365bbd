"""The pipeline of a wave of which only aggregates were published (the 2017 ESR/CIRSE survey).

For such a wave there is no respondent table to weight or model. What the aggregates identify
is reported as such (``docs/identification.md``):

=====================  ====================================================================
step                   outputs
=====================  ====================================================================
``margins``            ``tables/margins.csv``: the adopted published margins (counts)
``population``         ``tables/population.csv``: per outcome, the respondents' exact share
                       (identified), the worst-case bounds over all invited departments
                       (bounded), and, per frame scenario and assumption set, the
                       post-stratified estimate at the set's odds ratio with the tipping
                       odds ratio (assumption)
``associations``       ``tables/association_bounds.csv``: the identification region of every
                       predictor x outcome contrast of the model specs (risk difference and
                       odds ratio) from the published facts
=====================  ====================================================================

Nothing here fits a model to a reconstruction: the aggregates identify none of the models'
associations, so the report shows regions and assumption-indexed values, never intervals that
an assumption produced.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from irmodels.pipeline.config import WaveConfig
from irmodels.pipeline.steps import Context, Step

__all__ = ["STEPS", "report_blocks"]


def _margins(ctx: Context) -> dict[str, Any]:
    from irmodels.identification.bounds import _margins as adopted

    rows = [{"variable": v, "category": str(k), "count": int(n)} for v, m in adopted().items() for k, n in m.items()]
    out = pd.DataFrame(rows)
    out.insert(0, "wave", ctx.cfg.wave)
    return {"tables/margins.csv": out}


def _invited(cfg: WaveConfig) -> float:
    if cfg.invited:
        return float(cfg.invited)
    if cfg.frame and cfg.frame.get("total"):
        return float(cfg.frame["total"])
    from irmodels.core.errors import ConfigError, Problem
    raise ConfigError([Problem("a published wave needs invited: (or frame.total): the number of departments invited",
                               file=str(cfg.path), column="invited")])


def _population(ctx: Context) -> dict[str, Any]:
    from irmodels.core.errors import SchemaError
    from irmodels.nonresponse.frame import frame_margins
    from irmodels.nonresponse.scenarios import scenario_role
    from irmodels.identification.bounds import NA, _margins as adopted
    from irmodels.identification.expected import OUTCOME_EVENTS
    from irmodels.identification.curves import coverage_curve
    from irmodels.identification.odds_ratios import load_odds_ratios
    from irmodels.nonresponse.manski import manski_bounds

    cfg = ctx.cfg
    invited = _invited(cfg)
    scenarios = ([cfg.frame["scenario"]] if "scenario" in (cfg.frame or {}) else list((cfg.frame or {}).get("scenarios", [])))
    sets = list(cfg.data.get("assumption_sets", ["informed", "independent"]))
    rows = []
    for outcome, (events, label) in OUTCOME_EVENTS.items():
        m = adopted()[outcome]
        y = sum(v for k, v in m.items() if k in events)
        n = sum(v for k, v in m.items() if k != NA)
        base = {"wave": cfg.wave, "outcome": outcome, "label": label, "n_positive": y, "n_answered": n}
        rows.append({**base, "quantity": "respondents' share", "scenario": "", "assumption_set": "",
                     "estimate": y / n, "identification": "identified", "method": f"{y} of {n} (exact)"})
        mb = manski_bounds(n_positive=y, n_answered=n, frame_size=invited).iloc[0]
        rows.append({**base, "quantity": "all invited departments", "scenario": "", "assumption_set": "",
                     "lower": mb["lower"], "upper": mb["upper"], "identification": "bounded",
                     "method": f"worst case over the {invited - n:.0f} non-answering departments"})
        for sc in scenarios:
            shares = frame_margins(sc, variables=("beds_class",), total=invited)["beds_class"]
            for aset in sets:
                val = float(load_odds_ratios(aset).set_index("parameter").loc[f"{outcome}~beds_class", "odds_ratio"])
                try:
                    c = coverage_curve(shares, invited, grid=[val], assumptions=aset, outcome=outcome).iloc[0]
                except SchemaError as exc:  # a scenario that contradicts the data is refused, and said so
                    rows.append({**base, "quantity": "frame-weighted (MAR)", "scenario": sc, "assumption_set": aset,
                                 "identification": "refused", "method": str(exc).replace("\n", " ")})
                    continue
                rows.append({**base, "quantity": "frame-weighted (MAR)", "scenario": sc,
                             "scenario_role": scenario_role(sc), "assumption_set": aset, "assumption_value": val,
                             "estimate": c["estimate"], "lower": c["lower"], "upper": c["upper"],
                             "tipping_or": c.get("tipping_or"), "identification": "assumption",
                             "method": f"post-stratified to the frame's bed classes at {outcome}~beds OR {val:g}"})
    return {"tables/population.csv": pd.DataFrame(rows)}


def _associations(ctx: Context) -> dict[str, Any]:
    from irmodels.identification.bounds import bounds
    from irmodels.identification.expected import MODEL_PREDICTORS, OUTCOME_EVENTS

    cache = ctx.cfg.cache.parent / "bounds" if ctx.cfg.cache else None  # shared with analyses/13
    parts = [bounds(p, o, facts="published", cache_dir=cache) for o in OUTCOME_EVENTS for p in MODEL_PREDICTORS]
    return {"tables/association_bounds.csv": pd.concat(parts, ignore_index=True)}


STEPS: list[Step] = [
    Step("margins", (), ("data",), _margins),
    Step("population", (), ("data", "frame", "invited"), _population),
    Step("associations", (), ("data",), _associations),
]


def report_blocks(cfg: WaveConfig, log: pd.DataFrame) -> list[tuple]:
    """Report sections of a published-aggregates wave (numbers read from its tables)."""
    from irmodels.pipeline.report import _missing, _pct, _read, fmt

    out: list[tuple] = [("h", 2, "What the published aggregates identify"),
                        ("p", "Only aggregates of this wave were published: no respondent-level table exists. The "
                              "respondents' shares are exact; the population is bounded without assumptions; "
                              "population estimates and every association rest on stated assumptions.")]
    pop = _read(cfg, "tables/population.csv")
    if pop is None:
        out.append(_missing(log, "population"))
    else:
        for outcome, g in pop.groupby("outcome", sort=False):
            r = g[g["quantity"] == "respondents' share"].iloc[0]
            b = g[g["quantity"] == "all invited departments"].iloc[0]
            est = g[g["identification"] == "assumption"]
            rng = (f"; post-stratified under MAR, {_pct(est['estimate'].min())} to {_pct(est['estimate'].max())} "
                   f"across {est['scenario'].nunique()} frame scenarios x {est['assumption_set'].nunique()} assumption "
                   "sets (assumption)") if len(est) else ""
            out.append(("p", f"**{r['label']}**: {fmt(r['n_positive'])} of {fmt(r['n_answered'])} answering "
                             f"respondents ({_pct(r['estimate'])}; exact); all invited departments: {_pct(b['lower'])} "
                             f"to {_pct(b['upper'])} (worst-case bounds){rng}."))
        t = pop[["outcome", "quantity", "scenario", "assumption_set", "estimate", "lower", "upper", "tipping_or",
                 "identification"]]
        out.append(("table", t.assign(**{c: t[c].map(_pct) for c in ("estimate", "lower", "upper")})))
        out.append(("p", "tipping_or: the odds ratio of 24/7 cover (or of a female IR) in non-respondents versus "
                         "respondents at which the estimate crosses 50%."))
    ab = _read(cfg, "tables/association_bounds.csv")
    if ab is None:
        out.append(_missing(log, "associations"))
    else:
        orr = ab[ab["scale"] == "odds_ratio"]
        rd = ab[ab["scale"] == "risk_difference"]
        signed = rd[(rd["lower"] > 0) | (rd["upper"] < 0)]
        out += [("h", 2, "Associations"),
                ("p", f"Of the {len(orr)} odds ratios between the model predictors and the outcomes, "
                      f"{int((orr['status'] == 'unrestricted').sum())} are unrestricted by the published facts "
                      f"(anywhere in 0 to infinity), and {len(signed)} of {len(rd)} risk differences have an identified "
                      "sign. Model estimates for this wave would show the assumption, not the data; they are not "
                      "reported (see docs/identification.md)."),
                ("table", rd[["outcome", "event", "contrast", "lower", "upper", "status"]])]
    return out
