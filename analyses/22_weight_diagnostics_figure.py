"""Weight diagnostics figure (issue 4; Supplementary figure, non-response weighting):
figures/weight_diagnostics.pdf/png.

For one 2017 reconstruction replicate (replicate 0 of k = 100, seed 20170401, assumption
set "informed"; the region and beds-class margins are the published ones in every
replicate, but their joint distribution is not published, so the weights depend on the
reconstruction: an assumption, stated in the figure): (a) the distribution of the raking
weights under each frame scenario with Kish's design effect and effective sample size,
(b) standardised differences between the respondents' margins and the frame targets
before and after weighting. Weighting as in analyses/21_weighted_coverage.py. Warnings
(the explicit collapse of <200 and 200-399 beds) are counted and printed.
"""

from paths import FIGURES, ROOT

from irmodels.figures.style import save_figure
from irmodels.figures.weighting import plot_weight_diagnostics
from irmodels.nonresponse.frame import frame_margins
from irmodels.nonresponse.frame_keys import region_of
from irmodels.identification.reconstruction import reconstruct
from irmodels.nonresponse.weighting import COLLAPSE_BEDS_400, WarningLog, weight

K, SEED, ASSUMPTIONS, REPLICATE = 100, 20170401, "informed", 0
FRAME_SIZE = 1180  # invited department heads (paper, Methods)
SCENARIOS = ("radiologists", "hospitals_200plus", "respondents_table1")

if __name__ == "__main__":
    with WarningLog() as log:
        ens = reconstruct(K, SEED, ASSUMPTIONS)
        rep = ens[ens["replicate"] == REPLICATE].reset_index(drop=True)
        rep = rep.assign(region=region_of(rep["country"].astype("string")))
        results = {s: weight(rep, "rake", margins=frame_margins(s, variables=("region", "beds_class"), total=FRAME_SIZE),
                             collapse=COLLAPSE_BEDS_400) for s in SCENARIOS}
    print(f"warnings: {log.text() or 'none'}")
    for s, r in results.items():
        sm = r.diagnostics["summary"]
        print(f"{s}: Kish deff {sm['deff_kish']:.2f}, n_eff {sm['n_eff']:.1f}, weights {sm['min']:.2f}-{sm['max']:.2f}; "
              f"merged: {[(c['merged'], c['into']) for c in r.diagnostics['collapsed']]}")
    source = (f"2017, one reconstruction replicate ({REPLICATE} of k = {K}, seed {SEED}, assumption set '{ASSUMPTIONS}'); "
              "its weights depend on the unpublished region × beds joint distribution")
    fig = plot_weight_diagnostics(results, source=source, identification="assumption")
    for p in save_figure(fig, FIGURES / "weight_diagnostics"):
        print(f"wrote {p.relative_to(ROOT)}")
