"""R-indicator of representativeness of the respondents under each frame scenario
(issue 4; Results, non-response): data/derived/r_indicator.csv.

Response propensities come from irmodels.weighting's "propensity" method: respondents
stacked with the scenario's frame population (1180 invited departments by country x beds
class), logistic model with main effects of region and beds class. R = 1 - 2 S(rho)
(Schouten, Cobben & Bethlehem 2009) over the frame cells, SE by the delta method through
the propensity model. 2017: the joint distribution of region and bed class among the
respondents is not published, so R depends on the reconstruction; it is computed on k = 20
reconstruction replicates (seed 20170401, "informed") and reported as the median over
replicates with the median sampling SE, and the range over replicates
(``replicate_min``/``replicate_max``: the spread the unpublished joint allows among
reconstructions; in 2017 narrower than half a sampling SE). Nothing is pooled with Rubin's rules.
The SIMULATED demonstration wave directly.

R is not defined when a frame cell has an estimated propensity > 1 (the scenario has
fewer departments there than respondents): such estimates are NaN, never a bare number,
with the reason in ``notes`` (a PropensityAboveOneWarning, counted). Intervals are
normal (t after pooling) and clipped to [0, 1] (irmodels.sensitivity.r_indicator_ci;
``interval_clipped`` says where the clip was active). Scenario "respondents_table1" is
a reference (the frame is the respondents' own distribution: R = 1 by construction), not
an estimate (``scenario_role``).
"""

from paths import DERIVED, ROOT, SIMULATED_WAVE

import numpy as np
import pandas as pd

from irmodels.frame import frame_cells, region_of, scenario_role
from irmodels.io import import_wave, write_table_atomic
from irmodels.pooling import run_over_ensemble
from irmodels.reconstruction import reconstruct
from irmodels.sensitivity import r_indicator, r_indicator_ci
from irmodels.weighting import WarningLog, weight

K, SEED, ASSUMPTIONS = 20, 20170401, "informed"
SCENARIOS = ("radiologists", "hospitals_200plus", "radiologists_answering_only", "respondents_table1")
CELLS = {s: frame_cells(s, total=1180) for s in SCENARIOS}  # built once, not per replicate


def r_table(data: pd.DataFrame) -> pd.DataFrame:
    d = data.assign(region=region_of(data["country"].astype("string")))
    d.attrs = {}
    rows = []
    for s in SCENARIOS:
        res = weight(d, "propensity", frame=CELLS[s], covariates=["region", "beds_class"])
        R, se = r_indicator(res, on_invalid="nan")
        rows.append({"scenario": s, "scenario_role": scenario_role(s), "term": "R_indicator", "estimate": R, "std_error": se,
                     "n_frame_cells_rho_above_1": int((res.diagnostics["frame_propensity"]["propensity"] > 1).sum()),
                     "identification": "assumption"})
    return pd.DataFrame(rows)


def with_interval(t: pd.DataFrame, df: pd.Series | None = None) -> pd.DataFrame:
    t = t.copy()
    dfs = np.full(len(t), np.inf) if df is None else df.to_numpy(dtype=float)
    lo_hi = [r_indicator_ci(e, s, df=d) for e, s, d in zip(t["estimate"], t["std_error"], dfs)]
    t["lower"], t["upper"] = [a for a, _ in lo_hi], [b for _, b in lo_hi]
    # the clip was active where a bound sits exactly on 0 or 1
    t["interval_clipped"] = (t["lower"] == 0.0) | (t["upper"] == 1.0)
    return t


if __name__ == "__main__":
    with WarningLog() as log17:
        ens = reconstruct(K, SEED, ASSUMPTIONS)
        tidy = run_over_ensemble(r_table, ens)
    parts = []
    for (s, role), g in tidy.groupby(["scenario", "scenario_role"], sort=False):
        r = g[g["replicate"] == 0].drop(columns="replicate").copy()
        r["estimate"], r["std_error"] = g["estimate"].median(), g["std_error"].median()
        r["replicate_min"], r["replicate_max"] = g["estimate"].min(), g["estimate"].max()
        r["n_replicates_undefined"] = int(g["estimate"].isna().sum())
        r["identification"] = ("assumption (region x bed class among respondents from the reconstruction; "
                               f"{K} replicates, range in replicate_min/max)")
        parts.append(r)
    pooled = with_interval(pd.concat(parts, ignore_index=True))
    pooled.insert(0, "wave", "esr_cirse_2017")
    pooled["notes"] = log17.text()
    with WarningLog() as logsim:
        sim = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml").table
        simt = r_table(sim)
    simt = with_interval(simt)
    simt.insert(0, "wave", "simulated_demo")
    simt["n_replicates_undefined"] = 0
    simt["notes"] = logsim.text()
    cols = ["wave", "scenario", "scenario_role", "term", "estimate", "std_error", "lower", "upper", "interval_clipped",
            "replicate_min", "replicate_max", "n_frame_cells_rho_above_1", "n_replicates_undefined", "identification", "notes"]
    res = pd.concat([pooled, simt], ignore_index=True)
    res = res[[c for c in cols if c in res.columns]]
    out = write_table_atomic(res, DERIVED / "r_indicator.csv", float_format="%.6g")
    print(res.drop(columns=["notes", "scenario_role"]).to_string(index=False))
    for w, log in (("2017", log17), ("simulated", logsim)):
        print(f"{w} warnings: {log.text() or 'none'}")
    print(f"wrote {out.relative_to(ROOT)}")
