"""Europe-wide 24/7 IR coverage (and female IR representation) among the invited
departments (issue 9; Results, non-response; the abstract's range):
data/derived/weighted_coverage.csv and paper/generated/weighted_coverage.tex.

2017, each quantity in its own row with its label:
* the respondents' share (60 of 97 for 24/7 cover): exact, no sampling interval
  (``identified``; it is about the respondents, not a sample estimate);
* the worst-case (Manski) bounds for all 1180 invited departments (``bounded``; no assumption);
* the MAR estimate post-stratified to each frame scenario's bed classes, at the value of the
  size odds ratio of each shipped assumption set (``assumption``), with a sampling interval
  at that fixed value (irmodels.identification.curves.coverage_curve; the whole curve is
  data/derived/coverage_curve_2017.csv). No 2017 row by region or bed class: country and
  region are not in the 2017 joint table, and a bed-class row is the assumption itself.

The SIMULATED demonstration wave (respondent-level data) is raked to region x bed-class
margins (<200 and 200-399 merged: irmodels.nonresponse.weighting.COLLAPSE_BEDS_400), linearisation
variance, logit intervals; every warning raised is written to the column ``notes``.
"""

from paths import DERIVED, PAPER_GENERATED, ROOT, SIMULATED_WAVE

import pandas as pd

from irmodels.nonresponse.frame import frame_margins
from irmodels.nonresponse.scenarios import scenario_role
from irmodels.identification.expected import OUTCOME_EVENTS
from irmodels.identification.curves import coverage_curve
from irmodels.identification.odds_ratios import load_odds_ratios
from irmodels.identification.bounds import NA, _margins
from irmodels.data.importing import import_wave
from irmodels.core.io import write_table_atomic
from irmodels.identification.assumption_sets import shipped_assumption_sets
from irmodels.pipeline.paper import latex_table
from irmodels.nonresponse.frame_prevalence import frame_weighted_prevalence
from irmodels.nonresponse.manski import manski_bounds
from irmodels.nonresponse.weighting import COLLAPSE_BEDS_400, WarningLog

FRAME_SIZE = 1180  # invited department heads (paper, Methods)
SCENARIOS = ("radiologists", "hospitals_200plus", "radiologists_answering_only", "respondents_table1")
OUTCOMES = {
    "cover_24_7": None,
    # female IR representation: at least one woman among the department's IRs
    "female_ir_share_class": ["1-25", "26-50", "51-75", ">75"],
}
COMMON = dict(scenarios=SCENARIOS, margin_vars=("region", "beds_class"), weight_options={"collapse": COLLAPSE_BEDS_400},
              frame_total=FRAME_SIZE, interval="logit", missing="exclude")
SOURCE_2017 = "published margins; expected table at the assumption set's odds ratio (no reconstruction noise)"


def rows_2017(outcome: str) -> list[dict]:
    m = _margins()[outcome]
    events = OUTCOME_EVENTS[outcome][0]
    y = sum(v for k, v in m.items() if k in events)
    n = sum(v for k, v in m.items() if k != NA)
    mb = manski_bounds(n_positive=y, n_answered=n, frame_size=FRAME_SIZE).iloc[0]
    base = {"wave": "esr_cirse_2017", "term": outcome, "by": "all", "group": "all", "n": n, "n_missing": 98 - n}
    out = [
        {**base, "source": "published counts", "scenario": "unweighted", "scenario_role": "respondents (exact)",
         "weighting": "none (respondents)", "estimate": y / n, "assumptions": "", "assumption_value": None,
         "identification": "identified", "method": f"{y} of {n} answering respondents (exact; no sampling interval)"},
        {**base, "source": "published counts", "scenario": "manski", "scenario_role": "all invited departments",
         "weighting": "none", "lower": mb["lower"], "upper": mb["upper"], "assumptions": "", "assumption_value": None,
         "identification": "bounded",
         "method": f"worst case: every one of the {FRAME_SIZE - n} non-answering departments without / with"},
    ]
    for sc in SCENARIOS:
        if scenario_role(sc).startswith("reference"):
            continue
        shares = frame_margins(sc, variables=("beds_class",), total=FRAME_SIZE)["beds_class"]
        for aset in shipped_assumption_sets():
            val = float(load_odds_ratios(aset).set_index("parameter").loc[f"{outcome}~beds_class", "odds_ratio"])
            c = coverage_curve(shares, FRAME_SIZE, grid=[val], assumptions=aset, outcome=outcome).iloc[0]
            out.append({**base, "source": SOURCE_2017, "scenario": sc, "scenario_role": scenario_role(sc),
                        "weighting": "post-stratified to the frame's bed classes", "estimate": c["estimate"],
                        "std_error": c["std_error"], "lower": c["lower"], "upper": c["upper"], "assumptions": aset,
                        "assumption_value": val, "tipping_or": c["tipping_or"], "identification": c["identification"],
                        "method": "post-stratification, MAR within bed class; logit interval (sampling only)"})
    return out


if __name__ == "__main__":
    parts = [pd.DataFrame(rows_2017(o)) for o in OUTCOMES]
    sim = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml").table
    for outcome in OUTCOMES:
        for by in (None, "region", "beds_class"):
            with WarningLog() as log:
                t = frame_weighted_prevalence(sim, outcome, positive=OUTCOMES[outcome], by=by,
                                              unweighted_identification="identified", **COMMON)
            if by is None:
                t.insert(2, "by", "all")
            t.insert(0, "source", "SIMULATED demonstration wave (data/raw/simulated_demo)")
            t.insert(0, "wave", "simulated_demo")
            t["notes"] = log.text()
            print(f"simulated {outcome} by {by or 'all'}: {log.text() or 'no warnings'}")
            parts.append(t)
    res = pd.concat(parts, ignore_index=True)
    cols = ["wave", "source", "term", "by", "group", "scenario", "scenario_role", "weighting", "assumptions",
            "assumption_value", "estimate", "std_error", "lower", "upper", "n", "n_missing", "deff_kish", "n_eff_kish",
            "tipping_or", "identification", "method", "notes"]
    res = res[[c for c in cols if c in res.columns]]
    out = write_table_atomic(res, DERIVED / "weighted_coverage.csv", float_format="%.6g")
    print(f"wrote {out.relative_to(ROOT)} ({len(res)} rows)")

    # LaTeX: 24/7 coverage, 2017 (per assumption set) next to the simulated wave
    main = res[(res["term"] == "cover_24_7") & (res["by"] == "all")]
    m17, msim = main[main["wave"] == "esr_cirse_2017"], main[main["wave"] == "simulated_demo"]
    labels = {"unweighted": "Respondents", "manski": "All invited: worst-case bounds (no assumption)",
              "radiologists": "MAR, frame proportional to radiologists (50 countries)",
              "hospitals_200plus": "MAR, frame proportional to hospitals with 200+ beds (50 countries)",
              "radiologists_answering_only": "MAR, frame proportional to radiologists (24 answering countries)"}
    pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
    sets = sorted(set(m17["assumptions"]) - {""})
    rows = []
    for sc, lab in labels.items():
        row = {"Quantity": lab}
        g = m17[m17["scenario"] == sc]
        if sc == "unweighted":
            row["2017"] = f"{pct(g['estimate'].iloc[0])} (exact)"
        elif sc == "manski":
            row["2017"] = f"{pct(g['lower'].iloc[0])}--{pct(g['upper'].iloc[0])}"
        else:
            row["2017"] = "; ".join(
                f"{pct(r.estimate)} ({pct(r.lower)}--{pct(r.upper)}) at OR {r.assumption_value:g} ({r.assumptions})"
                for r in g.itertuples())
        s = msim[msim["scenario"] == sc]
        row["Simulated wave"] = (f"{pct(s['estimate'].iloc[0])} ({pct(s['lower'].iloc[0])}--{pct(s['upper'].iloc[0])})"
                                 if len(s) and sc != "manski" else "")
        row["Identification (2017)"] = g["identification"].iloc[0].split(" (")[0]
        rows.append(row)
    tex = latex_table(
        pd.DataFrame(rows), PAPER_GENERATED / "weighted_coverage.tex",
        caption="Departments whose IR service covers emergencies 24/7: the respondents' share (exact), worst-case "
                "bounds for all invited departments, and MAR estimates for the invited population under frame "
                "scenarios, at the size odds ratio of each assumption set, with 95% sampling intervals at that value.",
        label="tab:weighted-coverage", source="analyses/21_weighted_coverage.py", column_format="p{5cm}p{6cm}p{2.4cm}l",
        notes=["2017: OR is the assumed odds ratio of 24/7 cover per bed class among departments with IR "
               "(not published; the curve over its range is in the sensitivity figure). Estimates are post-stratified "
               "to the frame's bed classes from the expected table at that odds ratio; intervals are sampling intervals "
               "at the fixed value, not uncertainty about the assumption. The simulated wave is SIMULATED data, raked to "
               "region and bed-class margins (demonstration only)."],
    )
    print(f"wrote {tex.relative_to(ROOT)}")
    print(m17[["scenario", "assumptions", "estimate", "lower", "upper", "identification"]].to_string(index=False))
