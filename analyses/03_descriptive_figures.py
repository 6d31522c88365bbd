"""Fig. 1 (female radiologists), Fig. 2 (female IRs, unknown split shown) and respondents
by country, re-drawn from the published data (issue 2): figures/fig1_female_radiologists,
figures/fig2_female_ir, figures/respondents_by_country (PDF + PNG)."""

from paths import FIGURES, ROOT

from irmodels.figures.descriptive import plot_female_ir, plot_female_radiologists, plot_respondents_by_country
from irmodels.figures.style import save_figure
from irmodels.data.waves.esr_cirse_2017 import published_margins

if __name__ == "__main__":
    m = published_margins()
    for name, fn in [
        ("fig1_female_radiologists", plot_female_radiologists),
        ("fig2_female_ir", plot_female_ir),
        ("respondents_by_country", plot_respondents_by_country),
    ]:
        for p in save_figure(fn(m), FIGURES / name):
            print(f"wrote {p.relative_to(ROOT)}")
