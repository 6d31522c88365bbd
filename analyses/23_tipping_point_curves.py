"""Tipping-point (delta-adjustment) curves of Europe-wide 24/7 IR coverage (issue 4;
Results on non-ignorable non-response; data behind the tipping-point figure):
data/derived/tipping_point.csv.

Non-respondents' log-odds of 24/7 coverage are shifted by delta relative to the
prediction under missing at random (MAR, given the raking weights); the curve gives
coverage among all 1180 invited departments for delta on a 0.05 grid in [-4, 4]. 2017:
each of k = 100 reconstruction replicates (seed 20170401, "informed") is weighted
(raking to region x beds-class margins, <200 and 200-399 merged) and its curve computed;
curves are pooled per delta with Rubin's rules on the logit scale. The SIMULATED wave is
analysed the same way. Scenario "respondents_table1" is a reference (scenario_role), not
an estimate. Every warning is counted and written to the column ``notes`` (and printed).
Read by analyses/25_tipping_point_summary.py and 26_tipping_point_figure.py.
"""

from paths import DERIVED, ROOT, SIMULATED_WAVE

import numpy as np
import pandas as pd

from irmodels.frame import frame_margins, region_of, scenario_role
from irmodels.io import import_wave, write_table_atomic
from irmodels.pooling import run_over_ensemble
from irmodels.reconstruction import reconstruct
from irmodels.sensitivity import tipping_point
from irmodels.survey import pool_prevalence
from irmodels.weighting import COLLAPSE_BEDS_400, WarningLog, weight

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
        out.append(tp.curve.assign(scenario=s, scenario_role=scenario_role(s), term="cover_24_7",
                                   tipping_notes="; ".join(tp.notes)))
    return pd.concat(out, ignore_index=True)


if __name__ == "__main__":
    with WarningLog() as log17:
        ens = reconstruct(K, SEED, ASSUMPTIONS)
        tidy = run_over_ensemble(curves, ens)
        pooled = pool_prevalence(tidy.drop(columns="tipping_notes"), by=("scenario", "scenario_role", "term", "delta"))
    pooled["odds_ratio"] = np.exp(pooled["delta"])
    pooled.insert(0, "source", f"reconstruction ensemble (assumption set '{ASSUMPTIONS}', k={K}, seed {SEED}, pooled)")
    pooled.insert(0, "wave", "esr_cirse_2017")
    with WarningLog() as logsim:
        sim = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml").table
        simc = curves(sim).assign(wave="simulated_demo", source="SIMULATED demonstration wave (data/raw/simulated_demo)",
                                  small_n_adjusted=False)
    for label, log, part, raw in (("2017", log17, pooled, tidy), ("simulated", logsim, simc, simc)):
        # tipping_point's own notes (e.g. item non-response counted as non-response), with replicate counts
        tn = raw.drop_duplicates(["scenario", *(["replicate"] if "replicate" in raw.columns else [])])["tipping_notes"]
        tn = tn[tn != ""].value_counts(sort=False)
        notes = " | ".join(x for x in (log.text(), *(f"tipping_point x{n}: {m}" for m, n in tn.items())) if x)
        part["notes"] = notes
        print(f"{label}: {notes or 'no warnings'}")
    cols = ["wave", "source", "scenario", "scenario_role", "delta", "odds_ratio", "estimate", "std_error", "lower", "upper",
            "frac_var_reconstruction", "small_n_adjusted", "identification", "notes"]
    allc = pd.concat([pooled, simc], ignore_index=True)[cols]
    out = write_table_atomic(allc, DERIVED / "tipping_point.csv")
    print(f"wrote {out.relative_to(ROOT)} ({len(allc)} rows)")
