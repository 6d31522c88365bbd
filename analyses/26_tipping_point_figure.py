"""Tipping-point figure (issue 4, issue 9; Figure on non-ignorable non-response):
figures/tipping_point.pdf/png.

Draws the 2017 delta-adjustment curves (data/derived/tipping_point.csv, from
analyses/23_tipping_point_curves.py): one curve per frame scenario x shipped assumption set,
each at the set's own odds ratio of 24/7 cover per bed class (read from the table's
``assumption_value``). The set PRIMARY is drawn solid with its sampling bands, the other
sets dashed without bands (same colour per scenario), with the tipping points
(data/derived/tipping_point_summary.csv, analyses/25_tipping_point_summary.py), the
respondents' share (published margins of irmodels.data.waves.esr_cirse_2017) and the worst-case
(Manski) bounds (grey band). The subtitle states the data source, each set's value and that
the frame scenario and the curves are assumptions.
"""

from paths import DERIVED, FIGURES, ROOT

import pandas as pd

from irmodels.figures.style import save_figure
from irmodels.figures.weighting import SCENARIO_LABELS, plot_tipping_point
from irmodels.data.waves.esr_cirse_2017 import published_margins

WAVE = "esr_cirse_2017"
PRIMARY = "informed"  # the assumption set drawn with bands; the others are its alternatives

if __name__ == "__main__":
    for name, script in (("tipping_point.csv", "23_tipping_point_curves.py"), ("tipping_point_summary.csv", "25_tipping_point_summary.py")):
        if not (DERIVED / name).is_file():
            raise SystemExit(f"data/derived/{name} is missing; run analyses/{script} first")
    curves = pd.read_csv(DERIVED / "tipping_point.csv", keep_default_na=False, na_values=[""])
    summ = pd.read_csv(DERIVED / "tipping_point_summary.csv", keep_default_na=False, na_values=[""])
    curves, summ = curves[curves["wave"] == WAVE], summ[summ["wave"] == WAVE]
    if curves["assumptions"].isna().any():
        raise SystemExit("data/derived/tipping_point.csv: 2017 rows without an assumption set; rerun analyses/23")
    sets = sorted(curves["assumptions"].unique(), key=lambda a: (a != PRIMARY, a))
    value = {a: float(curves.loc[curves["assumptions"] == a, "assumption_value"].iloc[0]) for a in sets}
    summ = summ.set_index(["scenario", "assumptions"])
    figcurves, groups, labels = {}, {}, {}
    for a in sets:
        for s, c in curves[curves["assumptions"] == a].groupby("scenario", sort=False):
            c = c.copy()
            row = summ.loc[(s, a)]
            c.attrs = {"odds_ratio_star": row["odds_ratio_star"], "threshold": row["threshold"]}
            key = f"{s} | {a}"
            figcurves[key], labels[key] = c, SCENARIO_LABELS.get(s, s)
            groups[key] = f"assumption set '{a}' (size OR = {value[a]:g})"
    first = summ.iloc[0]
    m = published_margins().query("variable == 'cover_24_7' and category == 'true'").iloc[0]
    source = curves["source"].iloc[0]  # "published margins; expected table at the assumption set's odds ratio"
    fig = plot_tipping_point(figcurves, manski=(first["manski_lower"], first["manski_upper"]),
                             respondent_share=float(m["count"]) / float(m["item_n"]),
                             threshold=float(first["threshold"]),
                             source=f"2017: {source} (size OR: assumed OR of 24/7 cover per bed class)",
                             frame_identification="assumption",
                             identification="assumption (size OR; frame scenario; delta)",
                             labels=labels, groups=groups)
    for p in save_figure(fig, FIGURES / "tipping_point"):
        print(f"wrote {p.relative_to(ROOT)}")
