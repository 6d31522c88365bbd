"""Tipping points and worst-case bounds of Europe-wide 24/7 IR coverage (issue 4; Results
on non-ignorable non-response; numbers the paper prints): data/derived/tipping_point_summary.csv.

Reads the pooled delta-adjustment curves of analyses/23_tipping_point_curves.py
(data/derived/tipping_point.csv) and reads off, per wave, frame scenario and (2017) assumption set, the odds
ratio at which the estimate (odds_ratio_star) and its upper 95% limit
(odds_ratio_star_upper) fall to 50% (linear interpolation on the 0.05 delta grid). 2017
rows also carry the worst-case (Manski) bounds from 60 of 97 answers among 1180
invitations (no assumption). Scenario "respondents_table1" is a reference, not an
estimate (scenario_role).
"""

from paths import DERIVED, ROOT

import pandas as pd

from irmodels.core.io import write_table_atomic
from irmodels.nonresponse.manski import manski_bounds
from irmodels.nonresponse.sensitivity import tipping_from_curve

THRESHOLD, FRAME = 0.5, 1180
N_POSITIVE, N_ANSWERED = 60, 97  # published: 60 of 97 answering departments cover 24/7

if __name__ == "__main__":
    path = DERIVED / "tipping_point.csv"
    if not path.is_file():
        raise SystemExit(f"{path.relative_to(ROOT)} is missing; run analyses/23_tipping_point_curves.py first")
    allc = pd.read_csv(path, keep_default_na=False, na_values=[""])
    mb = manski_bounds(n_positive=N_POSITIVE, n_answered=N_ANSWERED, frame_size=FRAME).iloc[0]
    summ = []
    allc["assumptions"] = allc["assumptions"].fillna("")
    for (wave, s, aset), c in allc.groupby(["wave", "scenario", "assumptions"], sort=False):
        t = tipping_from_curve(c, THRESHOLD)
        summ.append({"wave": wave, "scenario": s, "scenario_role": c["scenario_role"].iloc[0], "assumptions": aset,
                     "assumption_value": c["assumption_value"].iloc[0],
                     "estimate_mar": float(c.loc[c["delta"].abs().idxmin(), "estimate"]), **t,
                     "manski_lower": mb["lower"] if wave == "esr_cirse_2017" else None,
                     "manski_upper": mb["upper"] if wave == "esr_cirse_2017" else None,
                     "identification": c["identification"].iloc[0], "notes": c["notes"].iloc[0]})
    summ = pd.DataFrame(summ)
    out = write_table_atomic(summ, DERIVED / "tipping_point_summary.csv", float_format="%.6g")
    print(summ[["wave", "scenario", "assumptions", "estimate_mar", "odds_ratio_star", "odds_ratio_star_upper"]].to_string(index=False))
    print(f"wrote {out.relative_to(ROOT)}")
