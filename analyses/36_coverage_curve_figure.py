"""Europe-wide 24/7 IR cover over the assumed size odds ratio (issue 9; Results on
non-response, the coverage sensitivity-curve figure): figures/coverage_curve.pdf/.png.

(a) Frame-wide 24/7 IR cover as a function of the assumed odds ratio of cover per bed class,
one line per frame scenario (frame statistic by colour; all invited countries vs the
answering countries only by line style), with sampling intervals at each fixed value, the
respondents' exact share, the worst-case (Manski) bounds and the 50% threshold; markers at
the shipped assumption sets' values. (b) The tipping odds ratio of the non-respondents at
which the estimate reaches 50%. Reads data/derived/coverage_curve_2017.csv
(analyses/27_coverage_curve.py); the numbers of countries in each frame are counted from
irmodels.nonresponse.frame.frame_cells.
"""

from paths import DERIVED, FIGURES, ROOT

import pandas as pd

from irmodels.figures.identification import plot_coverage_curve
from irmodels.figures.style import save_figure
from irmodels.nonresponse.scenarios import SCENARIOS
from irmodels.nonresponse.frame import frame_cells

if __name__ == "__main__":
    path = DERIVED / "coverage_curve_2017.csv"
    if not path.is_file():
        raise SystemExit("data/derived/coverage_curve_2017.csv is missing; run analyses/27_coverage_curve.py first")
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    refused = table[table["identification"].str.startswith("refused")]
    for _, r in refused.iterrows():  # scenarios that contradict the data are not drawn, and said so
        print(f"not drawn: {r['scenario']} ({r['identification']})")
    table = table[~table["identification"].str.startswith("refused")]
    scenarios = list(dict.fromkeys(table["scenario"]))
    n_countries: dict[str, set[int]] = {}
    for s in scenarios:
        n_countries.setdefault(SCENARIOS[s].countries, set()).add(int(frame_cells(s)["country"].nunique()))
    # e.g. {"invited": "50 invited countries", "answering": "24 answering countries"}
    country_sets = {k: f"{'/'.join(str(n) for n in sorted(v))} {k} countries" for k, v in n_countries.items()}
    fig = plot_coverage_curve(table, scenarios, country_sets=country_sets)
    out = save_figure(fig, FIGURES / "coverage_curve")
    print(f"wrote {', '.join(str(p.relative_to(ROOT)) for p in out)}")
