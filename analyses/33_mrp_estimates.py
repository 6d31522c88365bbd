"""MRP estimates of 24/7 IR coverage and female IR representation (issue 5; Results, MRP):
data/derived/mrp_estimates.csv and figures/mrp_by_country.pdf/.png.

Bayesian hierarchical models (specs "cover_24_7" and "female_ir_share_class": probability of
at least one female IR) post-stratified to the frame cells (country x beds class;
irmodels.frame.frame_cells) of each frame scenario. Cells carry no teaching status or chair
profile: predictions are averaged over the respondents' mix within country x beds class
(an assumption; irmodels.models.mrp). 2017: the reconstruction ensemble ("informed"),
pooled by stacking draws; SIMULATED wave: directly. The Europe-wide rows are set next to
the weighting estimates of analyses/21 (data/derived/weighted_coverage.csv) in the
columns weighting_estimate/_lower/_upper. The figure shows 2017, scenario "radiologists".
"""

import warnings

from paths import CACHE, DERIVED, FIGURES, ROOT, SIMULATED_WAVE

import pandas as pd

from irmodels.errors import DataDroppedWarning
from irmodels.figures.models import mrp_plot
from irmodels.figures.style import save_figure
from irmodels.frame import frame_cells
from irmodels.io import import_wave, write_table_atomic
from irmodels.models.bayes import fit_ensemble
from irmodels.models.mrp import poststratify, poststratify_ensemble
from irmodels.reconstruction import reconstruct
from irmodels.specs import ANALYSIS, fit_spec, get_spec

SCENARIOS = ("radiologists", "hospitals_200plus")
# positive=None: every category above the first ("0"), i.e. at least one female IR
OUTCOMES = {"cover_24_7": None, "female_ir_share_class": None}
WEIGHTING_TERM = {"cover_24_7": "cover_24_7", "female_ir_share_class": "female_ir_share_class"}

if __name__ == "__main__":
    opts = dict(missing=ANALYSIS["missing"], cache_dir=CACHE / "models", **ANALYSIS["mcmc"])
    sim = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml").table
    ens = reconstruct(ANALYSIS["k_2017"], ANALYSIS["seed"], "informed")
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)  # reported by analyses/30
        for spec_id, positive in OUTCOMES.items():
            spec = get_spec(spec_id)
            f_sim = fit_spec(spec, sim, engine="pymc", seed=ANALYSIS["seed"], **opts)
            o = {k: v for k, v in {**spec.options, **opts}.items() if k not in ("firth",)}
            fits = fit_ensemble(spec.formula, ens, family=spec.family, group=spec.group, seed=ANALYSIS["seed"],
                                spec_id=spec.spec_id, **o)
            for sc in SCENARIOS:
                cells = frame_cells(sc)
                r = poststratify(f_sim, cells, positive=positive)
                rows.append(r.assign(data="simulated_demo", scenario=sc))
                r = poststratify_ensemble(fits, cells, positive=positive)
                rows.append(r.assign(data="esr_cirse_2017", scenario=sc, assumptions="informed"))
    out = pd.concat(rows, ignore_index=True)
    out["outcome"] = out["spec_id"]
    w = pd.read_csv(DERIVED / "weighted_coverage.csv")
    w = w[(w["by"] == "all") & w["scenario"].isin(SCENARIOS)]
    w = w.rename(columns={"wave": "data", "term": "outcome", "estimate": "weighting_estimate",
                          "lower": "weighting_lower", "upper": "weighting_upper"})
    w = w[["data", "outcome", "scenario", "weighting_estimate", "weighting_lower", "weighting_upper"]]
    w["level"] = "Europe"
    out = out.merge(w, on=["data", "outcome", "scenario", "level"], how="left")
    path = write_table_atomic(out, DERIVED / "mrp_estimates.csv")
    sel = out[(out["data"] == "esr_cirse_2017") & (out["scenario"] == "radiologists") &
              (out["outcome"] == "cover_24_7")]
    weighting = sel[sel["level"] == "Europe"][["domain", "weighting_estimate", "weighting_lower",
                                               "weighting_upper"]].set_axis(["domain", "estimate", "lower", "upper"],
                                                                            axis=1)
    aset = ", ".join(sorted(set(sel["assumptions"].dropna())))
    fig = mrp_plot(sel, weighting, title=f"24/7 coverage 2017: radiologists frame; assumption set '{aset}'\n(identification: assumption)")
    figs = save_figure(fig, FIGURES / "mrp_by_country")
    print(f"wrote {path.relative_to(ROOT)} ({len(out)} rows), "
          f"{', '.join(str(p.relative_to(ROOT)) for p in figs)}")
    print(out[out["level"] == "Europe"][["data", "outcome", "scenario", "estimate", "lower", "upper",
                                         "weighting_estimate"]].to_string(index=False))
