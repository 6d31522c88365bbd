"""Tipping-point figure (issue 4; Figure on non-ignorable non-response):
figures/tipping_point.pdf/png.

Draws the pooled 2017 delta-adjustment curves (data/derived/tipping_point.csv, from
analyses/23_tipping_point_curves.py) with their 95% bands, the tipping points
(data/derived/tipping_point_summary.csv, analyses/25_tipping_point_summary.py), the
unweighted respondent share 60/97 and the worst-case (Manski) bounds (grey band). The
subtitle states the data source (reconstruction ensemble, assumption set, k) and that
the frame scenario and the curves are assumptions.
"""

from paths import DERIVED, FIGURES, ROOT

import pandas as pd

from irmodels.figures.style import save_figure
from irmodels.figures.weighting import plot_tipping_point

WAVE = "esr_cirse_2017"
N_POSITIVE, N_ANSWERED = 60, 97

if __name__ == "__main__":
    for name, script in (("tipping_point.csv", "23_tipping_point_curves.py"), ("tipping_point_summary.csv", "25_tipping_point_summary.py")):
        if not (DERIVED / name).is_file():
            raise SystemExit(f"data/derived/{name} is missing; run analyses/{script} first")
    curves = pd.read_csv(DERIVED / "tipping_point.csv", keep_default_na=False, na_values=[""])
    summ = pd.read_csv(DERIVED / "tipping_point_summary.csv", keep_default_na=False, na_values=[""])
    curves, summ = curves[curves["wave"] == WAVE], summ[summ["wave"] == WAVE].set_index("scenario")
    figcurves = {}
    for s, c in curves.groupby("scenario", sort=False):
        c = c.copy()
        c.attrs = {"odds_ratio_star": summ.loc[s, "odds_ratio_star"], "threshold": summ.loc[s, "threshold"]}
        figcurves[s] = c
    first = summ.iloc[0]
    source = curves["source"].iloc[0]  # e.g. "reconstruction k=100 seed=20170401 assumptions=informed (pooled)"
    ident = "/".join(sorted(set(curves["identification"])))
    fig = plot_tipping_point(figcurves, manski=(first["manski_lower"], first["manski_upper"]),
                             respondent_share=N_POSITIVE / N_ANSWERED, threshold=float(first["threshold"]),
                             source=f"2017: {source}", frame_identification="assumption", identification=ident)
    for p in save_figure(fig, FIGURES / "tipping_point"):
        print(f"wrote {p.relative_to(ROOT)}")
