"""Europe-wide 24/7 IR cover as a function of the size -> cover odds ratio, per frame
scenario (issue 9; Results on non-response, abstract's range; the sensitivity-curve figure):
data/derived/coverage_curve_2017.csv.

The published 2017 margins identify the respondents' share (60 of 97) exactly and bound the
invited population's share (Manski). Any MAR estimate for the invited population needs the
association of hospital size with cover, which is not published: the estimate is given as
a curve over that odds ratio (per bed class, among departments with IR; the 3 departments
without IR have no cover), post-stratified to each frame scenario's bed-class shares, with a
sampling interval at each fixed value and the tipping point (the non-respondents' odds ratio
at which the estimate reaches 50%). A scenario with fewer departments than respondents in a
bed class contradicts the data and is refused (one row, identification "refused: ...").
The grid spans the union of the shipped assumption sets'
ranges and contains each set's own value (``assumptions``/``at_set_value`` columns).
"""

import numpy as np
import pandas as pd
from paths import DERIVED, ROOT

from irmodels.core.errors import SchemaError
from irmodels.nonresponse.scenarios import SCENARIOS, scenario_role
from irmodels.nonresponse.frame import frame_margins
from irmodels.identification.odds_ratios import assumption_grid, load_odds_ratios
from irmodels.identification.curves import coverage_curve
from irmodels.core.io import write_table_atomic
from irmodels.identification.assumption_sets import shipped_assumption_sets
from irmodels.nonresponse.manski import manski_bounds

PAR = "cover_24_7~beds_class"
FRAME_SIZE = 1180  # invited department heads (paper, Methods)
ESTIMATE_SCENARIOS = [s for s in SCENARIOS if not scenario_role(s).startswith("reference")]

if __name__ == "__main__":
    sets = {a: load_odds_ratios(a).set_index("parameter").loc[PAR] for a in shipped_assumption_sets()}
    lo = min(float(r["range_low"]) for r in sets.values())
    hi = max(float(r["range_high"]) for r in sets.values())
    grid = assumption_grid(lo, hi, 41, include=(1.0, *[float(r["odds_ratio"]) for r in sets.values()]))
    mb = manski_bounds(n_positive=60, n_answered=97, frame_size=FRAME_SIZE).iloc[0]
    parts = []
    for sc in ESTIMATE_SCENARIOS:
        shares = frame_margins(sc, variables=("beds_class",), total=FRAME_SIZE)["beds_class"]
        try:
            c = coverage_curve(shares, FRAME_SIZE, grid=grid)
        except SchemaError as exc:  # a scenario that contradicts the data is refused, and said so
            print(f"scenario {sc!r} not used: {exc}")
            parts.append(pd.DataFrame([{"scenario": sc, "scenario_role": scenario_role(sc), "parameter": PAR,
                                        "identification": f"refused: {exc}".replace("\n", " ")}]))
            continue
        c.insert(0, "scenario", sc)
        c.insert(1, "scenario_role", scenario_role(sc))
        c["at_set_value"] = ""
        for a, r in sets.items():
            hit = np.isclose(c["assumption_value"], float(r["odds_ratio"]), rtol=0, atol=1e-12)
            c.loc[hit, "at_set_value"] = c.loc[hit, "at_set_value"].str.cat([a] * int(hit.sum()), sep=";").str.strip(";")
        c["manski_lower"], c["manski_upper"] = mb["lower"], mb["upper"]
        parts.append(c.drop(columns=["assumptions"]))
    out = pd.concat(parts, ignore_index=True)
    path = write_table_atomic(out, DERIVED / "coverage_curve_2017.csv", float_format="%.6g")
    print(f"wrote {path.relative_to(ROOT)} ({len(out)} rows)")
    show = out[out["at_set_value"].fillna("") != ""]
    print(show[["scenario", "at_set_value", "assumption_value", "estimate", "lower", "upper", "tipping_or"]]
          .round(3).to_string(index=False))
