"""Tipping-point (delta-adjustment) curves of Europe-wide 24/7 IR coverage (issue 4, issue 9;
Results on non-ignorable non-response; data behind the tipping-point figure):
data/derived/tipping_point.csv.

Non-respondents' log-odds of 24/7 coverage are shifted by delta relative to the MAR
prediction; the curve gives coverage among all 1180 invited departments for delta on a 0.05
grid in [-4, 4]. 2017: one curve per frame scenario x shipped assumption set, from the MAR
estimate post-stratified to the scenario's bed classes at the set's size odds ratio
(irmodels.identification.curves.coverage_curve; irmodels.nonresponse.sensitivity.delta_adjusted): no
reconstruction noise, sampling intervals only. The whole surface over the size odds ratio x
delta is data/derived/coverage_curve_2017.csv (tipping_or per value). The SIMULATED wave is
raked to region x bed-class margins (<200 and 200-399 merged) and analysed with
irmodels.nonresponse.sensitivity.tipping_point. Scenario "respondents_table1" is a reference
(scenario_role), not an estimate. Read by analyses/25 and 26.
"""

from paths import DERIVED, ROOT, SIMULATED_WAVE

import numpy as np
import pandas as pd

from irmodels.nonresponse.frame import frame_margins
from irmodels.nonresponse.frame_keys import region_of
from irmodels.nonresponse.scenarios import scenario_role
from irmodels.identification.curves import coverage_curve
from irmodels.identification.odds_ratios import load_odds_ratios
from irmodels.data.importing import import_wave
from irmodels.core.io import write_table_atomic
from irmodels.identification.assumption_sets import shipped_assumption_sets
from irmodels.nonresponse.sensitivity import delta_adjusted, tipping_point
from irmodels.nonresponse.weighting import COLLAPSE_BEDS_400, WarningLog, weight

SCENARIOS = ("radiologists", "hospitals_200plus", "radiologists_answering_only", "respondents_table1")
THRESHOLD, FRAME = 0.5, 1180
N_POSITIVE, N_ANSWERED = 60, 97  # published: 60 of 97 answering departments cover 24/7


def curves_2017() -> pd.DataFrame:
    out = []
    for s in SCENARIOS:
        if scenario_role(s).startswith("reference"):
            continue
        shares = frame_margins(s, variables=("beds_class",), total=FRAME)["beds_class"]
        for aset in shipped_assumption_sets():
            val = float(load_odds_ratios(aset).set_index("parameter").loc["cover_24_7~beds_class", "odds_ratio"])
            c = coverage_curve(shares, FRAME, grid=[val], assumptions=aset).iloc[0]
            tp = delta_adjusted(c["estimate"], c["std_error"], N_POSITIVE, N_ANSWERED, FRAME, threshold=THRESHOLD)
            cur = tp.curve.assign(scenario=s, scenario_role=scenario_role(s), term="cover_24_7", assumptions=aset,
                                  assumption_value=val, tipping_notes="; ".join(tp.notes))
            cur["identification"] = f"assumption (cover_24_7~beds_class = {val:g}; frame scenario; delta)"
            out.append(cur)
    return pd.concat(out, ignore_index=True)


def curves(data: pd.DataFrame) -> pd.DataFrame:
    d = data.assign(region=region_of(data["country"].astype("string")))
    d.attrs = {}
    out = []
    for s in SCENARIOS:
        # respondents=d: the frame is checked against the wave, and respondents_table1 is its own distribution
        w = weight(d, "rake", margins=frame_margins(s, variables=("region", "beds_class"), total=FRAME, respondents=d),
                   collapse=COLLAPSE_BEDS_400)
        tp = tipping_point(d, "cover_24_7", w, threshold=THRESHOLD, frame_size=FRAME)
        out.append(tp.curve.assign(scenario=s, scenario_role=scenario_role(s), term="cover_24_7",
                                   tipping_notes="; ".join(tp.notes)))
    return pd.concat(out, ignore_index=True)


if __name__ == "__main__":
    c17 = curves_2017().assign(wave="esr_cirse_2017",
                               source="published margins; expected table at the assumption set's odds ratio")
    with WarningLog() as logsim:
        sim = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml").table
        simc = curves(sim).assign(wave="simulated_demo", source="SIMULATED demonstration wave (data/raw/simulated_demo)",
                                  assumptions="", assumption_value=np.nan)
    tn = simc.drop_duplicates(["scenario"])["tipping_notes"]
    tn = tn[tn != ""].value_counts(sort=False)
    simc["notes"] = " | ".join(x for x in (logsim.text(), *(f"tipping_point x{n}: {m}" for m, n in tn.items())) if x)
    c17["notes"] = c17["tipping_notes"]
    print(f"simulated: {simc['notes'].iloc[0] or 'no warnings'}")
    cols = ["wave", "source", "scenario", "scenario_role", "assumptions", "assumption_value", "delta", "odds_ratio",
            "estimate", "std_error", "lower", "upper", "identification", "notes"]
    allc = pd.concat([c17, simc], ignore_index=True)[cols]
    out = write_table_atomic(allc, DERIVED / "tipping_point.csv", float_format="%.6g")
    print(f"wrote {out.relative_to(ROOT)} ({len(allc)} rows)")
