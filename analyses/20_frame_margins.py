"""Population-frame margins under each named scenario (issues 4 and 9; Methods, non-response
weighting): data/derived/frame_margins.csv.

One row per scenario x margin (country, region, beds_class) x category with the number
of invited departments N (sums to 1180 per margin). The default scenarios cover every
invited country (data/raw/frame/invited_countries.csv: 50 countries, 24 with 2017
respondents); the ``*_answering_only`` variants cover only the 24 answering countries (the
frame before issue 9), so the table shows how much the choice of countries moves each
margin. Columns: ``countries`` (invited / answering), ``n_respondents_2017`` (Table 1
respondents in the country or region; empty for beds classes), ``N_without_respondents``
(the part of N in countries without respondents; region rows) and, for country rows, the
``rule`` that produced N (including every rule used for a missing statistic). Built from
data/raw/frame/country_statistics.csv and invited_countries.csv by irmodels.nonresponse.frame.
"""

from paths import DERIVED, FRAME_RAW, ROOT

import numpy as np
import pandas as pd

from irmodels.nonresponse.scenarios import SCENARIOS
from irmodels.nonresponse.frame import frame_cells
from irmodels.nonresponse.frame_sources import load_invited_countries, load_statistics
from irmodels.nonresponse.frame_check import region_coverage
from irmodels.core.io import write_table_atomic

if __name__ == "__main__":
    stats = load_statistics(FRAME_RAW / "country_statistics.csv")
    invited = load_invited_countries(FRAME_RAW / "invited_countries.csv")
    n_country = stats.set_index(stats["country"].astype(str))["respondents_table1"]
    rows = []
    for name, sc in SCENARIOS.items():
        cells = frame_cells(name, statistics=stats, invited=invited, total=1180)
        cov = region_coverage(cells, statistics=stats).set_index("region")
        for var in ("country", "region", "beds_class"):
            g = cells.groupby(cells[var].astype(str), sort=False, observed=True)
            for cat, sub in g:
                if var == "country":
                    n, n_wo = int(n_country[cat]), float(sub["N"].sum()) if n_country[cat] == 0 else 0.0
                elif var == "region":
                    n, n_wo = int(cov.loc[cat, "n_respondents"]), float(cov.loc[cat, "N_without_respondents"])
                else:
                    n, n_wo = np.nan, np.nan
                rows.append({
                    "scenario": name,
                    "countries": sc.countries,
                    "variable": var,
                    "category": cat,
                    "N": round(float(sub["N"].sum()), 6),
                    "n_respondents_2017": n,
                    "N_without_respondents": round(n_wo, 6) if pd.notna(n_wo) else np.nan,
                    "rule": "; ".join(sorted(set(sub["rule"]))) if var == "country" else "",
                })
    table = pd.DataFrame(rows)
    table["n_respondents_2017"] = table["n_respondents_2017"].astype("Int64")
    out = write_table_atomic(table, DERIVED / "frame_margins.csv")
    print(f"{len(SCENARIOS)} scenarios, {len(rows)} margin rows; {len(invited)} invited countries, "
          f"{int(invited['answered_2017'].sum())} with respondents")
    print(f"wrote {out.relative_to(ROOT)}")
