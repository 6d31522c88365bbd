"""Forest plot of odds ratios (issue 5; Results figure): figures/model_forest.pdf/.png.

Reads data/derived/model_results.csv (analyses/30_model_results.py): the 24/7-coverage and
female-IR-share-class models, frequentist (Firth / ordinal ML, pooled over countries) and
Bayesian (country intercepts) side by side, for the SIMULATED demonstration wave. 2017 has
no forest rows: its odds ratios are not identified by the published data and are shown as
sensitivity curves over the assumed odds ratios instead (figures/association_curves.*).
"""

from paths import DERIVED, FIGURES, ROOT

import pandas as pd

from irmodels.figures.models import forest_plot
from irmodels.figures.style import save_figure

SPECS = ("cover_24_7", "female_ir_share_class")

if __name__ == "__main__":
    res = pd.read_csv(DERIVED / "model_results.csv", keep_default_na=False, na_values=[""])
    keep = res["spec_id"].isin(SPECS) & (res["data"] == "simulated_demo")
    t = res[keep].copy()
    t["panel"] = t["spec_id"] + " | SIMULATED wave"
    t["engine"] = t["engine"].map({"statsmodels": "frequentist", "pymc": "Bayesian hierarchical"})
    fig = forest_plot(t, series="engine", panel="panel")
    out = save_figure(fig, FIGURES / "model_forest")
    print(f"wrote {', '.join(str(p.relative_to(ROOT)) for p in out)}")
