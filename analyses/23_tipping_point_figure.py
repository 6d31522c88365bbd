"""Tipping-point (delta-adjustment) analysis of Europe-wide 24/7 IR coverage
(issue 4; Results and figure on non-ignorable non-response): figures/tipping_point.pdf/png,
data/derived/tipping_point.csv (curves) and data/derived/tipping_point_summary.csv.

Non-respondents' log-odds of 24/7 coverage are shifted by delta relative to the
prediction under missing at random (MAR, given the raking weights); the tipping point is
the odds ratio exp(delta) at which coverage among all 1180 invited departments falls to
50%. 2017: each of k = 100 reconstruction replicates (seed 20170401, "informed") is
weighted (raking to region x beds-class margins, <200 and 200-399 merged) and its curve
computed; curves are pooled per delta with Rubin's rules on the logit scale and the
tipping points read off the pooled curve (linear interpolation on a 0.05 grid). The
SIMULATED wave is analysed the same way (CSV only). Grey band in the figure: worst-case
(Manski) bounds from 60 of 97 answers among 1180 invitations (no assumption).
"""

import warnings

from paths import DERIVED, FIGURES, ROOT, SIMULATED_WAVE

import numpy as np
import pandas as pd

from irmodels.errors import DataDroppedWarning
from irmodels.figures.style import save_figure
from irmodels.figures.weighting import plot_tipping_point
from irmodels.frame import frame_margins, region_of
from irmodels.io import import_wave, write_table_atomic
from irmodels.pooling import run_over_ensemble
from irmodels.reconstruct import reconstruct
from irmodels.sensitivity import manski_bounds, tipping_from_curve, tipping_point
from irmodels.survey import pool_prevalence
from irmodels.weighting import COLLAPSE_BEDS_400, weight

K, SEED, ASSUMPTIONS = 100, 20170401, "informed"
SCENARIOS = ("radiologists", "hospitals_200plus", "respondents_table1")
THRESHOLD, FRAME = 0.5, 1180


def curves(data: pd.DataFrame) -> pd.DataFrame:
    d = data.assign(region=region_of(data["country"].astype("string")))
    d.attrs = {}
    out = []
    for s in SCENARIOS:
        w = weight(d, "rake", margins=frame_margins(s, variables=("region", "beds_class"), total=FRAME), collapse=COLLAPSE_BEDS_400)
        tp = tipping_point(d, "cover_24_7", w, threshold=THRESHOLD, frame_size=FRAME)
        out.append(tp.curve.assign(scenario=s, term="cover_24_7"))
    return pd.concat(out, ignore_index=True)


if __name__ == "__main__":
    warnings.simplefilter("ignore", DataDroppedWarning)  # collapse rule stated above
    ens = reconstruct(K, SEED, ASSUMPTIONS)
    tidy = run_over_ensemble(curves, ens)
    pooled = pool_prevalence(tidy, by=("scenario", "term", "delta"))
    pooled["odds_ratio"] = np.exp(pooled["delta"])
    pooled.insert(0, "wave", "esr_cirse_2017")
    sim = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml").table
    simc = curves(sim).assign(wave="simulated_demo")
    cols = ["wave", "scenario", "delta", "odds_ratio", "estimate", "std_error", "lower", "upper", "frac_var_reconstruction",
            "identification"]
    allc = pd.concat([pooled, simc], ignore_index=True)[cols]
    out = write_table_atomic(allc, DERIVED / "tipping_point.csv")
    print(f"wrote {out.relative_to(ROOT)}")

    mb = manski_bounds(n_positive=60, n_answered=97, frame_size=FRAME).iloc[0]
    summ, figcurves = [], {}
    for (wave, s), c in allc.groupby(["wave", "scenario"], sort=False):
        t = tipping_from_curve(c, THRESHOLD)
        summ.append({"wave": wave, "scenario": s, "estimate_mar": float(c.loc[c["delta"].abs().idxmin(), "estimate"]), **t,
                     "manski_lower": mb["lower"] if wave == "esr_cirse_2017" else None,
                     "manski_upper": mb["upper"] if wave == "esr_cirse_2017" else None,
                     "identification": "assumption"})
        if wave == "esr_cirse_2017":
            cc = c.copy()
            cc.attrs = {"odds_ratio_star": t["odds_ratio_star"], "threshold": THRESHOLD}
            figcurves[s] = cc
    summ = pd.DataFrame(summ)
    out = write_table_atomic(summ, DERIVED / "tipping_point_summary.csv")
    print(f"wrote {out.relative_to(ROOT)}")
    print(summ[["wave", "scenario", "estimate_mar", "odds_ratio_star", "odds_ratio_star_upper"]].to_string(index=False))
    fig = plot_tipping_point(figcurves, manski=(mb["lower"], mb["upper"]), respondent_share=60 / 97, threshold=THRESHOLD)
    for p in save_figure(fig, FIGURES / "tipping_point"):
        print(f"wrote {p.relative_to(ROOT)}")
