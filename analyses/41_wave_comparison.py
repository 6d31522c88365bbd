"""Two-wave comparison (issue 11, item 4): results/comparisons/esr_cirse_2017_vs_simulated_demo/.

The 2017 wave (published aggregates only) against the SIMULATED demonstration wave, from the
outputs of analyses/40_waves.py: the change in 24/7 cover and in the share of departments with
at least one female IR among respondents (identified), in the population without assumptions
(bounded) and under MAR (assumption), and the wave odds ratio, unadjusted (identified) and
adjusted for bed class as a curve over 2017's unidentified bed class x outcome odds ratio
(irmodels.pipeline.compare).
"""

from paths import ROOT

from irmodels.pipeline.compare import compare_waves

if __name__ == "__main__":
    out = ROOT / "results" / "comparisons" / "esr_cirse_2017_vs_simulated_demo"
    res = compare_waves([ROOT / "waves" / "esr_cirse_2017.yaml", ROOT / "waves" / "simulated_demo.yaml"], out)
    print(res["change"][["outcome", "quantity", "estimate", "lower", "upper", "identification"]].round(3)
          .to_string(index=False))
    print(f"wrote {out.relative_to(ROOT)}")
