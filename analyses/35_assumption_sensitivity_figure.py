"""Coefficients across reconstruction assumption sets (issue 5; Supplement figure):
figures/model_assumption_sensitivity.pdf/.png.

Bayesian hierarchical odds ratios of the 2017 models (specs "cover_24_7" and
"female_ir_share_class"), pooled over the reconstruction ensemble, one marker per
assumption set (irmodels.specs.ANALYSIS["assumption_sets"]). A coefficient that moves with
the assumption set is not identified by the published data (dagger: identification status
"assumption"). Reads data/derived/model_results.csv (analyses/30).
"""

from paths import DERIVED, FIGURES, ROOT

import pandas as pd

from irmodels.figures.models import assumption_sensitivity_plot
from irmodels.figures.style import save_figure

if __name__ == "__main__":
    res = pd.read_csv(DERIVED / "model_results.csv", keep_default_na=False, na_values=[""])
    t = res[(res["data"] == "esr_cirse_2017") & (res["engine"] == "pymc")
            & res["spec_id"].isin(["cover_24_7", "female_ir_share_class"])]
    fig = assumption_sensitivity_plot(t, title="2017: odds ratios by reconstruction assumption set")
    out = save_figure(fig, FIGURES / "model_assumption_sensitivity")
    print(f"wrote {', '.join(str(p.relative_to(ROOT)) for p in out)}")
