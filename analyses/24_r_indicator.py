"""R-indicator of representativeness, with what makes it readable, for each frame scenario
(issue 4, issue 10 item 3; Results, non-response): data/derived/r_indicator.csv.

Response propensities come from irmodels.nonresponse.weighting's "propensity" method: respondents
stacked with the scenario's frame population (1180 invited departments by country x beds
class), logistic model with main effects of region and beds class. For each scenario
irmodels.nonresponse.representativeness.representativeness gives, each with a standard error and interval:

* ``R_indicator``: R = 1 - 2 S(rho) (Schouten, Cobben & Bethlehem 2009);
* ``R_indicator_bias_corrected``: R with S^2 corrected for the estimation of the
  propensities (Shlomo, Skinner & Schouten 2012);
* ``CV``: S(rho) / rho_bar, and ``max_abs_bias``: (1 - R) / (2 rho_bar), the bound on the
  absolute bias of an unweighted respondent mean in units of S(y) -- the same number as the
  CV, under its other name;
* ``mechanical_bound``: 1 - 2 sqrt(rho_bar (1 - rho_bar)), the smallest R any response
  pattern can give at the observed response rate (about 0.45 at 98/1180): R is read
  against this floor, not against 0;
* ``response_rate``: rho_bar.

Standard errors: delta method through the propensity model's covariance for a known frame
(the respondents are a subset of the frame, so a saturated cell has var(log rho) =
1/n - 1/N; the stacked GLM's own covariance, 1/n + 1/N, treats the frame as a second
sample and is not used), with the second-order term of Shlomo et al. (2012).

2017: the joint distribution of region and bed class among the respondents is not
published, so the indicators depend on the reconstruction; they are computed on k = 20
reconstruction replicates (seed 20170401, "informed") and reported as the median over
replicates with the median sampling SE, and the range over replicates
(``replicate_min``/``replicate_max``: the spread the unpublished joint allows among
reconstructions). Nothing is pooled with Rubin's rules. The SIMULATED demonstration wave
directly.

R is not defined when a frame cell has an estimated propensity > 1 (the scenario has
fewer departments there than respondents): R, CV and the maximal bias are then NaN, never a
bare number, with the reason in ``notes`` (a PropensityAboveOneWarning, counted); the
response rate and the mechanical bound are still given (without SE). Intervals are normal
and clipped to each indicator's range (irmodels.nonresponse.representativeness.r_indicator_ci;
``interval_clipped`` says where the clip was active). Scenario "respondents_table1" is a
reference (the frame is the respondents' own distribution: R = 1 by construction), not an
estimate (``scenario_role``).

Row order within a scenario puts ``R_indicator`` last: analyses/90_paper_numbers.py keys
its R macros by scenario only, so the last row of a scenario is the one it keeps.
"""

from paths import DERIVED, ROOT, SIMULATED_WAVE

import pandas as pd

from irmodels.nonresponse.frame import frame_cells
from irmodels.nonresponse.frame_keys import region_of
from irmodels.nonresponse.scenarios import scenario_role
from irmodels.data.importing import import_wave
from irmodels.core.io import write_table_atomic
from irmodels.core.pooling import run_over_ensemble
from irmodels.identification.reconstruction import reconstruct
from irmodels.nonresponse.representativeness import REPRESENTATIVENESS_TERMS, r_indicator_ci, representativeness
from irmodels.nonresponse.weighting import WarningLog, weight

K, SEED, ASSUMPTIONS = 20, 20170401, "informed"
SCENARIOS = ("radiologists", "hospitals_200plus", "radiologists_answering_only", "respondents_table1")
CELLS = {s: frame_cells(s, total=1180) for s in SCENARIOS}  # built once, not per replicate
# context first, R last (see the docstring: 90_paper_numbers keeps the last row per scenario)
TERMS = ("response_rate", "mechanical_bound", "CV", "max_abs_bias", "R_indicator_bias_corrected", "R_indicator")


def r_table(data: pd.DataFrame, cells: dict = CELLS) -> pd.DataFrame:
    d = data.assign(region=region_of(data["country"].astype("string")))
    d.attrs = {}
    parts = []
    for s in SCENARIOS:
        res = weight(d, "propensity", frame=cells[s], covariates=["region", "beds_class"])
        t = representativeness(res, on_invalid="nan").set_index("term").loc[list(TERMS)].reset_index()
        parts.append(t[["term", "estimate", "std_error"]].assign(
            scenario=s, scenario_role=scenario_role(s),
            n_frame_cells_rho_above_1=int((res.diagnostics["frame_propensity"]["propensity"] > 1).sum()),
            identification="assumption"))
    return pd.concat(parts, ignore_index=True)


def with_interval(t: pd.DataFrame) -> pd.DataFrame:
    t = t.copy()
    bounds = [REPRESENTATIVENESS_TERMS[term][0] for term in t["term"]]
    lo_hi = [r_indicator_ci(e, s, bounds=b) for e, s, b in zip(t["estimate"], t["std_error"], bounds)]
    t["lower"], t["upper"] = [a for a, _ in lo_hi], [b for _, b in lo_hi]
    # the clip was active where a bound sits exactly on the edge of the indicator's range
    t["interval_clipped"] = [(lo == b[0]) or (hi == b[1]) for lo, hi, b in zip(t["lower"], t["upper"], bounds)]
    return t


if __name__ == "__main__":
    with WarningLog() as log17:
        ens = reconstruct(K, SEED, ASSUMPTIONS)
        tidy = run_over_ensemble(r_table, ens)
    parts = []
    for (s, role, term), g in tidy.groupby(["scenario", "scenario_role", "term"], sort=False):
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
        # the simulated wave's own frames: checked against it, respondents_table1 = its own distribution
        simt = r_table(sim, {s: frame_cells(s, total=1180, respondents=sim) for s in SCENARIOS})
    simt = with_interval(simt)
    simt.insert(0, "wave", "simulated_demo")
    simt["n_replicates_undefined"] = 0
    simt["notes"] = logsim.text()
    cols = ["wave", "scenario", "scenario_role", "term", "estimate", "std_error", "lower", "upper", "interval_clipped",
            "replicate_min", "replicate_max", "n_frame_cells_rho_above_1", "n_replicates_undefined", "identification", "definition", "notes"]
    res = pd.concat([pooled, simt], ignore_index=True)
    res["definition"] = [REPRESENTATIVENESS_TERMS[t][1] for t in res["term"]]
    res = res[[c for c in cols if c in res.columns]]
    out = write_table_atomic(res, DERIVED / "r_indicator.csv", float_format="%.6g")
    show = res.drop(columns=["notes", "scenario_role", "identification", "definition"])
    print(show.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for w, log in (("2017", log17), ("simulated", logsim)):
        print(f"{w} warnings: {log.text() or 'none'}")
    print(f"wrote {out.relative_to(ROOT)}")
