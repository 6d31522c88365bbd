"""Country caterpillar plot (issue 5; Results figure): figures/model_country_caterpillar.pdf/.png.

Country intercepts (log-odds, 95% intervals) of the Bayesian hierarchical model of 24/7
IR coverage (spec "cover_24_7") on the SIMULATED demonstration wave. (In 2017 every
country-by-coverage cell comes from the reconstruction's assumption set, so 2017 country
intercepts are not shown.) The fit is read from the cache written by analyses/30.
"""

import warnings

from paths import CACHE, FIGURES, ROOT, SIMULATED_WAVE

from irmodels.core.errors import DataDroppedWarning
from irmodels.figures.models import caterpillar_plot
from irmodels.figures.style import save_figure
from irmodels.data.importing import import_wave
from irmodels.models.posterior import group_effects
from irmodels.models.specs import ANALYSIS, fit_spec, get_spec

if __name__ == "__main__":
    sim = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml").table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)  # reported by analyses/30
        f = fit_spec(get_spec("cover_24_7"), sim, engine="pymc", seed=ANALYSIS["seed"], missing=ANALYSIS["missing"],
                     cache_dir=CACHE / "models", **ANALYSIS["mcmc"])
    fig = caterpillar_plot(group_effects(f), title="24/7 coverage, SIMULATED wave")
    out = save_figure(fig, FIGURES / "model_country_caterpillar")
    print(f"wrote {', '.join(str(p.relative_to(ROOT)) for p in out)}")
