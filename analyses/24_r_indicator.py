"""R-indicator of representativeness of the respondents under each frame scenario
(issue 4; Results, non-response): data/derived/r_indicator.csv.

Response propensities come from irmodels.weighting's "propensity" method: respondents
stacked with the scenario's frame population (1180 invited departments by country x beds
class), logistic model with main effects of region and beds class. R = 1 - 2 S(rho)
(Schouten, Cobben & Bethlehem 2009) over the frame cells, SE by the delta method through
the propensity model. 2017: k = 100 reconstruction replicates (seed 20170401, "informed"),
pooled with Rubin's rules (the joint distribution of region and beds among respondents
depends on the reconstruction); the SIMULATED demonstration wave directly.
"""

import warnings

from paths import DERIVED, ROOT, SIMULATED_WAVE

import pandas as pd

from irmodels.errors import DataDroppedWarning
from irmodels.frame import frame_cells, region_of
from irmodels.io import import_wave, write_table_atomic
from irmodels.pooling import pool, run_over_ensemble
from irmodels.reconstruct import reconstruct
from irmodels.sensitivity import r_indicator
from irmodels.weighting import weight

K, SEED, ASSUMPTIONS = 100, 20170401, "informed"
SCENARIOS = ("radiologists", "hospitals_200plus", "respondents_table1")
CELLS = {s: frame_cells(s, total=1180) for s in SCENARIOS}  # built once, not per replicate


def r_table(data: pd.DataFrame) -> pd.DataFrame:
    d = data.assign(region=region_of(data["country"].astype("string")))
    d.attrs = {}
    rows = []
    for s in SCENARIOS:
        res = weight(d, "propensity", frame=CELLS[s], covariates=["region", "beds_class"])
        R, se = r_indicator(res)
        rows.append({"scenario": s, "term": "R_indicator", "estimate": R, "std_error": se,
                     "n_frame_cells_rho_above_1": int((res.diagnostics["frame_propensity"]["propensity"] > 1).sum()),
                     "identification": "assumption"})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    warnings.simplefilter("ignore", DataDroppedWarning)
    ens = reconstruct(K, SEED, ASSUMPTIONS)
    tidy = run_over_ensemble(r_table, ens)
    pooled = pool(tidy, by=("scenario", "term"))
    pooled.insert(0, "wave", "esr_cirse_2017")
    sim = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml").table
    simt = r_table(sim)
    simt.insert(0, "wave", "simulated_demo")
    simt["lower"] = simt["estimate"] - 1.959963984540054 * simt["std_error"]
    simt["upper"] = simt["estimate"] + 1.959963984540054 * simt["std_error"]
    cols = ["wave", "scenario", "term", "estimate", "std_error", "lower", "upper", "frac_var_reconstruction",
            "n_frame_cells_rho_above_1", "identification"]
    res = pd.concat([pooled, simt], ignore_index=True)
    res = res[[c for c in cols if c in res.columns]]
    out = write_table_atomic(res, DERIVED / "r_indicator.csv")
    print(res.to_string(index=False))
    print(f"wrote {out.relative_to(ROOT)}")
