"""MRP estimates of 24/7 IR coverage and female IR representation (issue 5; Results, MRP):
data/derived/mrp_estimates.csv and figures/mrp_by_country.pdf/.png.

Bayesian hierarchical models (specs "cover_24_7" and "female_ir_share_class": probability of
at least one female IR) post-stratified to the frame cells (country x beds class;
irmodels.nonresponse.frame.frame_cells) of each frame scenario. Cells carry no teaching status or chair
profile: predictions are averaged over (column ``mix``) the respondents' mix within country x
beds class, or over population shares of teaching hospitals per bed class at the low end, the
middle and the high end of the stated range irmodels.models.mrp.TEACHING_SHARE_RANGE (chair
profile: the respondents' mix); each is an assumption. SIMULATED wave only: for 2017 the published
aggregates say nothing about any country's coverage beyond its respondent count (country is
not in the 2017 joint table), so a 2017 MRP by country would show the prior and the
reconstruction's assumption, not data (issue 9). The Europe-wide rows are set next to the
weighting estimates of analyses/21 (data/derived/weighted_coverage.csv) in the columns
weighting_estimate/_lower/_upper; both rest on the same frame scenario. The figure shows the
SIMULATED wave, scenario "radiologists".
"""

import warnings

from paths import CACHE, DERIVED, FIGURES, ROOT, SIMULATED_WAVE

import pandas as pd

from irmodels.core.errors import DataDroppedWarning
from irmodels.figures.models import mrp_plot
from irmodels.figures.style import save_figure
from irmodels.nonresponse.frame import frame_cells
from irmodels.data.importing import import_wave
from irmodels.core.io import write_table_atomic
from irmodels.models.mrp import TEACHING_SHARE_RANGE, population_mix, poststratify
from irmodels.models.specs import ANALYSIS, fit_spec, get_spec

SCENARIOS = ("radiologists", "hospitals_200plus")
# positive=None: every category above the first ("0"), i.e. at least one female IR
OUTCOMES = {"cover_24_7": None, "female_ir_share_class": None}
WEIGHTING_TERM = {"cover_24_7": "cover_24_7", "female_ir_share_class": "female_ir_share_class"}
# population covariates the frame lacks: the respondents' mix, or teaching shares per bed class
# at the low end, the middle and the high end of the stated range (chair profile: respondents' mix)
MIXES = {"respondents": None,
         **{f"teaching_{k}": {b: (lo if k == "low" else hi if k == "high" else (lo + hi) / 2)
                              for b, (lo, hi) in TEACHING_SHARE_RANGE.items()} for k in ("low", "mid", "high")}}

if __name__ == "__main__":
    opts = dict(missing=ANALYSIS["missing"], cache_dir=CACHE / "models", **ANALYSIS["mcmc"])
    sim = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml").table
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)  # reported by analyses/30
        for spec_id, positive in OUTCOMES.items():
            spec = get_spec(spec_id)
            f_sim = fit_spec(spec, sim, engine="pymc", seed=ANALYSIS["seed"], **opts)
            for sc in SCENARIOS:
                cells = frame_cells(sc)
                for mix_name, shares in MIXES.items():
                    mix = None if shares is None else population_mix(shares, respondents=sim)
                    r = poststratify(f_sim, cells, positive=positive, mix=mix)
                    desc = "respondents' mix within country x bed class" if shares is None else \
                        "teaching share by bed class " + ", ".join(f"{b} {v:.2f}" for b, v in shares.items())
                    rows.append(r.assign(data="simulated_demo", scenario=sc, mix=mix_name, mix_description=desc))
    for r in rows:  # draws and fallback counts stay with each fit's result; the table holds summaries
        r.attrs = {}
    out = pd.concat(rows, ignore_index=True)
    out["outcome"] = out["spec_id"]
    w = pd.read_csv(DERIVED / "weighted_coverage.csv")
    w = w[(w["by"] == "all") & w["scenario"].isin(SCENARIOS)]
    w = w.rename(columns={"wave": "data", "term": "outcome", "estimate": "weighting_estimate",
                          "lower": "weighting_lower", "upper": "weighting_upper"})
    w = w[["data", "outcome", "scenario", "weighting_estimate", "weighting_lower", "weighting_upper"]]
    w["level"] = "Europe"
    out = out.merge(w, on=["data", "outcome", "scenario", "level"], how="left")
    path = write_table_atomic(out, DERIVED / "mrp_estimates.csv", float_format="%.6g")
    sel = out[(out["data"] == "simulated_demo") & (out["scenario"] == "radiologists") &
              (out["outcome"] == "cover_24_7") & (out["mix"] == "respondents")]
    weighting = sel[sel["level"] == "Europe"][["domain", "weighting_estimate", "weighting_lower",
                                               "weighting_upper"]].set_axis(["domain", "estimate", "lower", "upper"],
                                                                            axis=1)
    fig = mrp_plot(sel, weighting, title="24/7 coverage, SIMULATED wave: MRP by country, frame proportional to radiologists")
    figs = save_figure(fig, FIGURES / "mrp_by_country")
    print(f"wrote {path.relative_to(ROOT)} ({len(out)} rows), "
          f"{', '.join(str(p.relative_to(ROOT)) for p in figs)}")
    print(out[out["level"] == "Europe"][["data", "outcome", "scenario", "mix", "estimate", "lower", "upper",
                                         "weighting_estimate"]].to_string(index=False))
