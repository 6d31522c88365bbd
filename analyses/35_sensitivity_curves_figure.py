"""Sensitivity curves of the 2017 associations (issue 9; the sensitivity-curve figure of the
Results, replacing the figure of coefficients across reconstruction assumption sets):
figures/association_curves.pdf/.png.

One panel per association of the paper's models (24/7 IR cover; at least one woman among the
IRs) x predictor (beds class, teaching, chair profile): the odds ratio of the predictor's
highest level versus its reference at each fixed value of the assumed odds ratio per step,
with its sampling interval, one line per shipped assumption set, a marker at each set's own
value, and the identification region from the published margins. Reads
data/derived/association_curves_2017.csv (analyses/14_association_curves.py).
"""

from paths import DERIVED, FIGURES, ROOT

import pandas as pd

from irmodels.figures.identification import plot_association_curves
from irmodels.figures.style import save_figure

if __name__ == "__main__":
    path = DERIVED / "association_curves_2017.csv"
    if not path.is_file():
        raise SystemExit("data/derived/association_curves_2017.csv is missing; "
                         "run analyses/14_association_curves.py first")
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    fig = plot_association_curves(table)
    out = save_figure(fig, FIGURES / "association_curves")
    print(f"wrote {', '.join(str(p.relative_to(ROOT)) for p in out)}")
