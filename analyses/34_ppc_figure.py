"""Posterior predictive checks (issue 5; Supplement figure): figures/model_ppc.pdf/.png.

Observed proportions against 95% posterior predictive intervals of the Bayesian models on
the SIMULATED demonstration wave: 24/7 coverage by beds class (spec "cover_24_7") and the
female-IR share classes (spec "female_ir_share_class", ordinal). Fits read from the cache of
analyses/30.
"""

import warnings

from paths import CACHE, FIGURES, ROOT, SIMULATED_WAVE

import pandas as pd

from irmodels.core.errors import DataDroppedWarning
from irmodels.figures.models import ppc_plot
from irmodels.figures.style import save_figure
from irmodels.data.importing import import_wave
from irmodels.models.posterior import ppc_table
from irmodels.models.specs import ANALYSIS, fit_spec, get_spec

if __name__ == "__main__":
    sim = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml").table
    parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)  # reported by analyses/30
        for spec_id, by in (("cover_24_7", "beds_class"), ("female_ir_share_class", None)):
            f = fit_spec(get_spec(spec_id), sim, engine="pymc", seed=ANALYSIS["seed"], missing=ANALYSIS["missing"],
                         cache_dir=CACHE / "models", **ANALYSIS["mcmc"])
            parts.append(ppc_table(f, by=by, seed=ANALYSIS["seed"]))
    ppc = pd.concat(parts, ignore_index=True)
    out = save_figure(ppc_plot(ppc), FIGURES / "model_ppc")
    print(f"wrote {', '.join(str(p.relative_to(ROOT)) for p in out)}")
    print(ppc.round(3).to_string(index=False))
