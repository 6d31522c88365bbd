"""Population-frame margins under each named scenario (issue 4; Methods, non-response
weighting): data/derived/frame_margins.csv.

One row per scenario x margin (country, region, beds_class) x category with the number
of invited departments N (sums to 1180 per margin) and, for country rows, the rule that
produced it (including every rule used for a missing statistic). Built from
data/raw/frame/country_statistics.csv by irmodels.frame.
"""

from paths import DERIVED, FRAME_RAW, ROOT

import pandas as pd

from irmodels.frame import SCENARIOS, frame_cells, load_statistics
from irmodels.io import write_table_atomic

if __name__ == "__main__":
    stats = load_statistics(FRAME_RAW / "country_statistics.csv")
    rows = []
    for name in SCENARIOS:
        cells = frame_cells(name, statistics=stats, total=1180)
        for var in ("country", "region", "beds_class"):
            g = cells.groupby(cells[var].astype(str), sort=False, observed=True)
            for cat, sub in g:
                rows.append({
                    "scenario": name,
                    "variable": var,
                    "category": cat,
                    "N": round(float(sub["N"].sum()), 6),
                    "rule": "; ".join(sorted(set(sub["rule"]))) if var == "country" else "",
                })
    out = write_table_atomic(pd.DataFrame(rows), DERIVED / "frame_margins.csv")
    print(f"{len(SCENARIOS)} scenarios, {len(rows)} margin rows")
    print(f"wrote {out.relative_to(ROOT)}")
