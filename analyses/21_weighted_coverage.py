"""Europe-wide 24/7 IR coverage (and female IR representation) weighted to each frame
scenario, next to the unweighted respondent percentage (issue 4; Results, non-response):
data/derived/weighted_coverage.csv and paper/generated/weighted_coverage.tex.

Two data sources, the same functions:
* 2017: the reconstruction ensemble (k = 100, seed 20170401, assumption set "informed"),
  each replicate weighted and estimated, pooled with Rubin's rules on the logit scale
  (``frac_var_reconstruction`` = share of variance due to the reconstruction);
* the SIMULATED demonstration wave (data/raw/simulated_demo, imported with its mapping).

Weighting: raking to the scenario's region x beds-class margins (frame size 1180) with the
explicit collapse rule irmodels.weighting.COLLAPSE_BEDS_400 (<200 and 200-399 merged;
4 and 15 respondents in 2017). Linearisation variance accounting for the raking; logit
intervals; domains with a replicate estimate of 0 or 1 are pooled with a continuity
correction (column small_n_adjusted). Scenario "respondents_table1" is a reference
(scenario_role: "reference: respondents' own distribution; not an estimate"): it treats
sample-derived totals as known. Every warning raised while estimating is counted and
written, per block of rows, to the column ``notes`` (and printed). Scenario "hospitals" (invitations proportional to all hospitals) is not used:
its frame has fewer departments of >=800 beds (41) than there are respondents from them
(51), so it contradicts the data (docs/weighting.md).
"""

from paths import DERIVED, PAPER_GENERATED, ROOT, SIMULATED_WAVE

import pandas as pd

from irmodels.io import import_wave, write_table_atomic
from irmodels.pooling import run_over_ensemble
from irmodels.reconstruction import reconstruct
from irmodels.report import latex_table
from irmodels.survey import frame_weighted_prevalence, pool_prevalence
from irmodels.weighting import COLLAPSE_BEDS_400, WarningLog

K, SEED, ASSUMPTIONS = 100, 20170401, "informed"
SCENARIOS = ("radiologists", "hospitals_200plus", "respondents_table1")
OUTCOMES = {
    "cover_24_7": None,
    # female IR representation: at least one woman among the department's IRs
    "female_ir_share_class": ["1-25", "26-50", "51-75", ">75"],
}
COMMON = dict(scenarios=SCENARIOS, margin_vars=("region", "beds_class"), weight_options={"collapse": COLLAPSE_BEDS_400},
              frame_total=1180, interval="logit", missing="exclude")


def estimates(data: pd.DataFrame, outcome: str, by: str | None, unweighted_identification: str) -> pd.DataFrame:
    t = frame_weighted_prevalence(data, outcome, positive=OUTCOMES[outcome], by=by,
                                  unweighted_identification=unweighted_identification, **COMMON)
    if by is None:
        t.insert(2, "by", "all")
    return t


if __name__ == "__main__":
    # the collapse rule and the item non-response are reported once here, not per replicate
    print(f"collapse rule: {COLLAPSE_BEDS_400}; item non-response excluded (domain estimation), counts in n_missing")
    parts = []
    with WarningLog() as log:
        ens = reconstruct(K, SEED, ASSUMPTIONS)
    if log.records:
        print(f"reconstruction: {log.text()}")
    for outcome in OUTCOMES:
        for by in (None, "region", "beds_class"):
            ident = "identified" if by is None else "assumption"
            with WarningLog() as log:
                tidy = run_over_ensemble(lambda rep: estimates(rep, outcome, by, ident), ens)
                pooled = pool_prevalence(tidy, by=("scenario", "scenario_role", "term", "by", "group"))
            pooled.insert(0, "source", f"reconstruction k={K} seed={SEED} assumptions={ASSUMPTIONS} (pooled)")
            pooled.insert(0, "wave", "esr_cirse_2017")
            pooled["notes"] = log.text()
            print(f"2017 {outcome} by {by or 'all'}: {log.text() or 'no warnings'}")
            parts.append(pooled)
    sim = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml").table
    for outcome in OUTCOMES:
        for by in (None, "region", "beds_class"):
            with WarningLog() as log:
                t = estimates(sim, outcome, by, "identified")
            t.insert(0, "source", "SIMULATED demonstration wave (data/raw/simulated_demo)")
            t.insert(0, "wave", "simulated_demo")
            t["small_n_adjusted"] = False  # not pooled: logit intervals of weighted_prevalence (Wilson at 0/1)
            t["notes"] = log.text()
            print(f"simulated {outcome} by {by or 'all'}: {log.text() or 'no warnings'}")
            parts.append(t)
    res = pd.concat(parts, ignore_index=True)
    cols = ["wave", "source", "term", "by", "group", "scenario", "scenario_role", "weighting", "estimate", "std_error",
            "lower", "upper", "n", "n_missing", "deff_kish", "n_eff_kish", "frac_var_reconstruction", "pooling_scale",
            "small_n_adjusted", "identification", "method", "notes"]
    res = res[[c for c in cols if c in res.columns]]
    out = write_table_atomic(res, DERIVED / "weighted_coverage.csv")
    print(f"wrote {out.relative_to(ROOT)} ({len(res)} rows)")

    # LaTeX: Europe-wide 24/7 coverage per scenario, 2017 next to the simulated wave
    main = res[(res["term"] == "cover_24_7") & (res["by"] == "all")]
    labels = {"unweighted": "Respondents, unweighted", "radiologists": "Frame proportional to radiologists",
              "hospitals_200plus": "Frame proportional to hospitals with 200+ beds",
              "respondents_table1": "Reference: respondents' own distribution (not an estimate)"}
    rows = []
    for sc in ["unweighted", *SCENARIOS]:
        row = {"Estimate": labels[sc]}
        for wave, head in (("esr_cirse_2017", "2017 (reconstruction, pooled)"), ("simulated_demo", "Simulated wave")):
            r = main[(main["wave"] == wave) & (main["scenario"] == sc)].iloc[0]
            row[head] = f"{100 * r['estimate']:.1f}% ({100 * r['lower']:.1f}-{100 * r['upper']:.1f})"
            if wave == "esr_cirse_2017":
                ident = r["identification"]
                if r["scenario_role"].startswith("reference"):
                    ident += " (reference, not an estimate)"
        row["Identification (2017)"] = ident
        rows.append(row)
    tex = latex_table(
        pd.DataFrame(rows), PAPER_GENERATED / "weighted_coverage.tex",
        caption="Departments whose IR service covers emergencies 24/7: respondent percentage and estimates "
                "weighted to the European frame (1180 invited departments) under each frame scenario, with 95% intervals.",
        label="tab:weighted-coverage", source="analyses/21_weighted_coverage.py", column_format="lrrl",
        notes=[f"2017: {K} reconstructed datasets (assumption set '{ASSUMPTIONS}'), pooled with Rubin's rules on the logit scale. "
               "Raking to region and beds-class margins (<200 and 200-399 beds merged), linearisation variance accounting "
               "for the raking, logit intervals. The simulated wave is SIMULATED data (demonstration only). Weighted "
               "estimates depend on the frame scenario (an assumption). The reference row weights to the respondents' "
               "own distribution: it treats sample-derived totals as known (so its interval is too narrow) and is a "
               "null reference, not an estimate."],
    )
    print(f"wrote {tex.relative_to(ROOT)}")
    print(main[["wave", "scenario", "estimate", "lower", "upper", "identification"]].to_string(index=False))
