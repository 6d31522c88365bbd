"""Every number the paper prints, as LaTeX macros: paper/generated/numbers.tex.

Reads the derived tables written by the earlier analysis scripts (nothing is
typed in): the audit, the descriptives, the reconstruction summary, the
identification table and exact bounds, the 2017 sensitivity curves (associations and
frame-wide coverage at fixed assumption values), the non-response results and the
model results of the simulated wave. A missing input stops the script with the name of the script that
makes it.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from paths import DERIVED, PAPER_GENERATED, ROOT

from irmodels.nonresponse.frame_sources import load_invited_countries
from irmodels.pipeline.paper import macro_key, round_to_mcse, write_macros
from irmodels.data.waves.esr_cirse_2017 import N_INVITED, N_RESPONDENTS, published_margins


def _read(name: str, made_by: str) -> pd.DataFrame:
    path = DERIVED / name
    if not path.is_file():
        sys.exit(f"90_paper_numbers: {path.relative_to(ROOT)} is missing; run analyses/{made_by} first")
    return pd.read_csv(path, dtype={"category": str, "percent_printed": str})


def audit_numbers() -> dict:
    a = _read("audit_statements.csv", "01_audit.py")
    d = _read("audit_discrepancies.csv", "01_audit.py")
    i = _read("audit_identities.csv", "01_audit.py")
    r = _read("descriptive_results.csv", "02_descriptive_results.py")
    st = a["status"].value_counts()
    n_pct = int(r["percent_printed"].notna().sum())
    by_id = a.set_index("statement_id")
    margins = a[a["use"] == "margin"]
    implied = sorted({int(x) for x in margins["implied_denominator"].dropna()}, reverse=True)
    ident = i.set_index("identity_id")
    return {
        "ImpliedDenominators": ", ".join(map(str, implied[:-1])) + f" and {implied[-1]}",
        "CoverDiscussionPrintedPct": str(by_id.loc["DIS-16", "percent_printed"]),
        "HeadlinePrintedPct": str(by_id.loc["AP-02", "percent_printed"]),
        "CirsePrinted": int(by_id.loc["R2-06", "count"]),
        "CirseBoth": int(by_id.loc["R2-07", "count"]),
        "CirseOnlyPrinted": int(by_id.loc["R2-09", "count"]),
        "CirseSumParts": int(ident.loc["I06", "parts_sum"]),
        "NInvited": N_INVITED,
        "NRespondents": N_RESPONDENTS,
        "ResponseRatePct": 100 * N_RESPONDENTS / N_INVITED,
        "NStatements": len(a),
        "NStatementsOk": int(st.get("ok", 0)),
        "NStatementsTruncated": int(st.get("truncated", 0)),
        "NStatementsInconsistent": int(st.get("inconsistent", 0)),
        "NDiscrepancies": len(d),
        "NIdentities": len(i),
        "NIdentitiesFailing": int((~i["holds"].astype(bool)).sum()),
        "NDescriptive": int(r["count_matches"].notna().sum()),
        "NDescriptiveCountsMatch": int(r["count_matches"].fillna(False).astype(bool).sum()),
        "NDescriptivePercents": n_pct,
        "NDescriptivePercentsMatch": int((r["percent_matches"] & r["percent_printed"].notna()).sum()),
    }


def margin_numbers() -> dict:
    m = published_margins().set_index(["variable", "category"])
    cov, cov_n = int(m.loc[("cover_24_7", "true"), "count"]), int(m.loc[("cover_24_7", "true"), "item_n"])
    fir_n = int(m.loc[("female_ir_share_class", "0"), "item_n"])
    return {
        "CoverYes": cov,
        "CoverAnswered": cov_n,
        "CoverRespPct": 100 * cov / cov_n,
        "FemaleIRAnswered": fir_n,
        "IrShareLowCount": int(m.loc[("ir_share_class", "1-25"), "count"]),
        "IrShareAnswered": int(m.loc[("ir_share_class", "1-25"), "item_n"]),
        "FemaleIRNone": int(m.loc[("female_ir_share_class", "0"), "count"]),
        "FemaleIROneToTwentyFive": int(m.loc[("female_ir_share_class", "1-25"), "count"]),
        "FemaleIRAboveTwentyFive": int(m.loc[("female_ir_share_class", ">25"), "count"]),
        "BedsLarge": int(m.loc[("beds_class", ">=800"), "count"]),
        "TeachingYes": int(m.loc[("teaching", "true"), "count"]),
        "NCountries": int((m.loc["country", "count"] > 0).sum()),
        "NFrameCountries": int(len(load_invited_countries())),
    }


def reconstruction_numbers() -> dict:
    s = _read("reconstruction_summary.csv", "10_reconstruction_summary.py").set_index(["assumptions", "quantity"])
    ident = _read("identification_table.csv", "11_identification_table.py")
    out = {
        "ReconReplicates": int(s.loc[("informed", "replicates"), "mean"]),
        "ReconChecksPerReplicate": int(s.loc[("informed", "checks_per_replicate"), "mean"]),
        "ReconAllExact": "all" if bool(s.loc[("informed", "all_checks_exact"), "mean"]) and bool(s.loc[("independent", "all_checks_exact"), "mean"]) else "not all",
    }
    rd = ident.set_index("estimand").loc["rd:cover_24_7=true|beds_class=>=800"]
    out["RdCoverBedsLargeBoundLo"] = 100 * rd["lower"]
    out["RdCoverBedsLargeBoundHi"] = 100 * rd["upper"]
    counts = ident["status"].value_counts()
    for status in ("identified", "bounded", "assumption"):
        out[macro_key("n", "estimands", status)] = int(counts.get(status, 0))
    b = _read("association_bounds.csv", "13_association_bounds.py")
    pub = b[b["facts"] == "published"]
    out["NBoundsContrasts"] = int(len(pub[pub["scale"] == "odds_ratio"]))
    out["NBoundsOrUnrestricted"] = int((pub[pub["scale"] == "odds_ratio"]["status"] == "unrestricted").sum())
    out["NBoundsSignIdentified"] = int((pub["status"] == "sign identified").sum())
    pla = b[(b["facts"] == "plausibility") & (b["scale"] == "odds_ratio")]
    out["NBoundsOrRestrictedPlausibility"] = int((pla["status"] != "unrestricted").sum())
    return out


def _at(c: pd.DataFrame, value: float) -> pd.Series:
    hit = c[np.isclose(c["assumption_value"], value, rtol=0, atol=1e-9)]
    if len(hit) != 1:
        sys.exit(f"90_paper_numbers: no unique curve row at assumption value {value}")
    return hit.iloc[0]


def weighting_numbers() -> dict:
    w = _read("weighted_coverage.csv", "21_weighted_coverage.py")
    w = w[(w["wave"] == "esr_cirse_2017") & (w["by"] == "all") & (w["term"] == "cover_24_7")].fillna({"assumptions": ""})
    out = {}
    for row in w[w["assumptions"] != ""].itertuples():
        k = macro_key("cover", "mar", row.scenario, row.assumptions)
        out[k + "Pct"] = 100 * row.estimate
        out[k + "Lo"] = 100 * row.lower
        out[k + "Hi"] = 100 * row.upper
        out[macro_key("size", "or", row.assumptions)] = f"{row.assumption_value:g}"
    c = _read("coverage_curve_2017.csv", "27_coverage_curve.py")
    rad = c[c["scenario"] == "radiologists"].sort_values("assumption_value")
    lo, hi = rad.iloc[0], rad.iloc[-1]
    out["CoverCurveOrLow"] = f"{lo['assumption_value']:g}"
    out["CoverCurveOrHigh"] = f"{hi['assumption_value']:g}"
    out["CoverCurveAtOrLowPct"] = 100 * lo["estimate"]
    out["CoverCurveAtOrHighPct"] = 100 * hi["estimate"]
    # the assumed size odds ratio at which the MAR estimate reaches 50% (log-linear interpolation)
    e, v = rad["estimate"].to_numpy(), np.log(rad["assumption_value"].to_numpy())
    j = int(np.argmax(e < 0.5))
    if not (0 < j and e[j - 1] >= 0.5):
        sys.exit("90_paper_numbers: the radiologists curve does not cross 50% inside its grid")
    out["CoverCurveFiftyOr"] = f"{np.exp(v[j - 1] + (0.5 - e[j - 1]) * (v[j] - v[j - 1]) / (e[j] - e[j - 1])):.2f}"
    out["CoverCurveWidthMaxPts"] = 100 * float((rad["upper"] - rad["lower"]).max())
    tp = _read("tipping_point_summary.csv", "25_tipping_point_summary.py").fillna({"assumptions": ""})
    tp = tp[tp["wave"] == "esr_cirse_2017"]
    for row in tp.itertuples():
        k = macro_key("tip", row.scenario, row.assumptions)
        out[k + "OddsRatio"] = f"{row.odds_ratio_star:.2f}"
        out[k + "OddsRatioUpper"] = f"{row.odds_ratio_star_upper:.2f}"
    first = tp.iloc[0]
    out["TipThresholdPct"] = f"{100 * first['threshold']:.0f}"
    out["ManskiLoPct"] = 100 * first["manski_lower"]
    out["ManskiHiPct"] = 100 * first["manski_upper"]
    ri = _read("r_indicator.csv", "24_r_indicator.py")
    ri = ri[ri["wave"] == "esr_cirse_2017"]
    for term, tkey in (("CV", "Cv"), ("mechanical_bound", "MechBound")):
        sel = ri[(ri["term"] == term) & (ri["scenario"] == "radiologists")]
        out[macro_key("rind", "radiologists", tkey)] = f"{sel['estimate'].iloc[0]:.2f}"
    ri = ri[ri["term"] == "R_indicator"]
    for row in ri.itertuples():
        k = macro_key("rind", row.scenario)
        out[k] = f"{row.estimate:.2f}"
        out[k + "Se"] = f"{row.std_error:.3f}"
        out[k + "Min"] = f"{row.replicate_min:.2f}"
        out[k + "Max"] = f"{row.replicate_max:.2f}"
    return out


def _or(row) -> tuple[float, float, float]:
    return float(np.exp(row["estimate"])), float(np.exp(row["lower"])), float(np.exp(row["upper"]))


def association_numbers() -> dict:
    a = _read("association_curves_2017.csv", "14_association_curves.py")
    out = {}
    for aset in ("independent", "informed"):
        for outcome, key in (("cover_24_7", "Cover"), ("female_ir_share_class", "FemaleIR")):
            for predictor, term, tkey in (("beds_class", "beds_class[T.>=800]", "BedsLarge"),
                                          ("teaching", "teaching", "Teaching"),
                                          ("chair_profile", "chair_profile[T.IR_mostly]", "ChairIR")):
                sel = a[(a["assumptions"] == aset) & (a["parameter"] == f"{outcome}~{predictor}") & (a["term"] == term)
                        & a["at_set_value"]]
                if len(sel) != 1:
                    sys.exit(f"90_paper_numbers: expected one row for {aset} {outcome}~{predictor} {term}")
                est, lo, hi = _or(sel.iloc[0])
                k = macro_key("ac", key, tkey, aset)
                out[k] = f"{est:.2f}"
                out[k + "Lo"] = f"{lo:.2f}"
                out[k + "Hi"] = f"{hi:.2f}"
                out[k + "Assumed"] = f"{sel.iloc[0]['assumption_value']:g}"
    out["NAssociationCurves"] = int(a.drop_duplicates(["assumptions", "parameter"]).shape[0])
    out["NAssociationCurvesOutside"] = int((~a["inside_region"].astype(bool)).sum())
    return out


def model_numbers() -> dict:
    from irmodels.studies.simulate import truth

    d = _read("model_results.csv", "30_model_results.py")
    out = {}
    term = "beds_class[T.>=800]"
    for engine in ("pymc", "statsmodels"):
        sel = d[(d["data"] == "simulated_demo") & (d["engine"] == engine) & (d["spec_id"] == "cover_24_7")
                & (d["term"] == term)]
        if len(sel) != 1:
            sys.exit(f"90_paper_numbers: expected one {engine} row for {term} in the simulated wave, found {len(sel)}")
        est, lo, hi = _or(sel.iloc[0])
        k = macro_key("or", "beds", "large", "sim", engine)
        if engine == "pymc":
            # a Monte Carlo estimate carries only the digits its MCSE supports; the MCSE (odds-ratio
            # scale, delta method: exp(x) * MCSE(x)) is written beside each number
            row = sel.iloc[0]
            for suffix, value, col in (("", est, "mcse_estimate"), ("Lo", lo, "mcse_lower"), ("Hi", hi, "mcse_upper")):
                mcse = value * float(row[col])
                out[k + suffix] = round_to_mcse(value, mcse, max_decimals=2)
                out[k + suffix + "Mcse"] = f"{mcse:.2g}"
        else:
            out[k] = f"{est:.2f}"
            out[k + "Lo"] = f"{lo:.2f}"
            out[k + "Hi"] = f"{hi:.2f}"
    from irmodels.core.convergence import GATE

    out["GateRhat"] = f"{GATE['r_hat_max']:.2f}"
    out["GateEss"] = int(GATE["ess_bulk_min"])
    out["OrBedsLargeSimTruth"] = f"{np.exp(truth()['cover_24_7']['coef']['beds_class[>=800]']):.2f}"
    m = _read("mrp_estimates.csv", "33_mrp_estimates.py")
    m = m[(m["level"] == "Europe") & (m["data"] == "simulated_demo") & (m["scenario"] == "radiologists")]
    def pct(row, col: str, mcse_col: str) -> str:
        # an MRP number is a Monte Carlo estimate: the digits its MCSE supports (percent, at most 1 decimal)
        return round_to_mcse(100 * row[col], 100 * row[mcse_col], max_decimals=1)

    for outcome, key in (("cover_24_7", "Cover"), ("female_ir_share_class", "FemaleIR")):
        for mix, mkey in (("teaching_low", "TeachLow"), ("teaching_high", "TeachHigh")):
            r = m[(m["outcome"] == outcome) & (m["mix"] == mix)].iloc[0]
            out[f"MrpSim{key}{mkey}Pct"] = pct(r, "estimate", "mcse_estimate")
        r = m[(m["outcome"] == outcome) & (m["mix"] == "respondents")].iloc[0]
        out[f"MrpSim{key}Pct"] = pct(r, "estimate", "mcse_estimate")
        out[f"MrpSim{key}Lo"] = pct(r, "lower", "mcse_lower")
        out[f"MrpSim{key}Hi"] = pct(r, "upper", "mcse_upper")
        out[f"MrpSim{key}McsePct"] = f"{100 * r['mcse_estimate']:.2g}"
        out[f"MrpSim{key}WtPct"] = 100 * r["weighting_estimate"]
    cov = pd.read_csv(ROOT / "validation" / "identification_coverage_summary.csv").set_index("quantity")
    out["IdCovSims"] = int(cov.loc["manski_contains_frame_prevalence", "n_sims"])
    out["IdCovRegionAlways"] = "every" if bool(cov.loc[[q for q in cov.index if q.startswith("region_contains")],
                                                        "coverage"].eq(1.0).all()) else "not every"
    ps = cov.loc["poststratified_covers_frame_prevalence"]
    out["IdCovPostStratPct"] = 100 * ps["coverage"]
    out["IdCovPostStratMcsePct"] = 100 * ps["mc_se"]
    out["IdCovPostStratN"] = int(ps["n_sims"])
    ml = cov.loc["regression_covers_respondent_ml"]
    out["IdCovMlInfinitePct"] = f"{100 * (1 - cov.loc['respondent_ml_covers_true_log_or_given_finite_ml', 'n_sims'] / ml['n_sims']):.0f}"
    # simulation-based calibration per Bayesian family (validation/run_studies.py): what was run,
    # how many fits failed the gate (excluded, counted), how many parameters' rank ECDFs stay
    # inside the simultaneous 95% band
    from irmodels.models.bayes import DEFAULT_TARGET_ACCEPT, TARGET_ACCEPT

    out["TargetAcceptDefault"] = f"{DEFAULT_TARGET_ACCEPT:g}"
    out["TargetAcceptBetaBinomial"] = f"{TARGET_ACCEPT['beta_binomial']:g}"
    timings = pd.read_csv(ROOT / "validation" / "studies" / "timings.csv")
    # primary (package settings per family); the beta-binomial at the general default (its earlier one)
    sets = {"": "sbc_", f"ta{round(100 * DEFAULT_TARGET_ACCEPT)}": f"sbc_ta{round(100 * DEFAULT_TARGET_ACCEPT)}_"}
    for label, prefix in sets.items():
        sbc = pd.read_csv(ROOT / "validation" / f"{prefix}summary.csv")
        fail = pd.read_csv(ROOT / "validation" / f"{prefix}failure_rate.csv").set_index("family")
        for fam, g in sbc.groupby("family", sort=False):
            k = macro_key("sbc", label, fam)
            out[f"{k}Sims"] = int(g["n_sims"].iloc[0])
            out[f"{k}Params"] = len(g)
            out[f"{k}Inside"] = int(g["ecdf_pass"].astype(bool).sum())
            out[f"{k}FailPct"] = f"{100 * float(fail.loc[fam, 'failure_rate']):.1f}"
            out[f"{k}DivergentPct"] = f"{100 * float(fail.loc[fam, 'share_with_divergences']):.1f}"
            out[f"{k}FitSeconds"] = f"{float(fail.loc[fam, 'median_fit_seconds']):.1f}"
            out[f"{k}PMin"] = f"{g['p_value'].min():.3f}"
            out[f"{k}BonferroniPass"] = "passes" if bool(g["ecdf_pass_bonferroni"].astype(bool).all()) else "fails"
            out[f"{k}Outside"] = ", ".join(g.loc[~g["ecdf_pass"].astype(bool), "parameter"].map(
                lambda t: "\\texttt{" + str(t).replace("_", "\\_") + "}")) or "none"
            if not label:  # wall time of the primary study (summed over the runs that made it) and its workers
                from_study = timings[timings["study"] == _sbc_study_name(fam)]
                out[f"{k}WallMin"] = f"{from_study['wall_seconds'].sum() / 60:.0f}"
                out[f"{k}Workers"] = int(from_study["n_workers"].max())
    # a grown study's last segment: simulations run after the decision to grow it (a confirmatory test)
    seg = pd.read_csv(ROOT / "validation" / "sbc_segments.csv")
    for fam, g in seg.groupby("family", sort=False):
        last = g[g["tasks"] == g["tasks"].iloc[-1]]
        lo, hi = str(last["tasks"].iloc[0]).split("-")
        k = macro_key("sbc", fam, "confirm")
        out[f"{k}Tasks"] = f"{lo}--{hi}"
        out[f"{k}Inside"] = int(last["ecdf_pass"].astype(bool).sum())
        out[f"{k}Params"] = len(last)
        out[macro_key("sbc", fam, "grown", "from")] = int(str(g["tasks"].iloc[0]).split("-")[1]) + 1
    # the beta-binomial at the two target acceptances on the same simulations: fits with divergent
    # transitions, and fits whose true phi is above all L thinned draws (rank L; expected n / (L + 1))
    paired = pd.read_csv(ROOT / "validation" / "sbc_beta_binomial_paired_ta.csv")
    primary = pd.read_csv(ROOT / "validation" / "sbc_summary.csv")
    L = int(primary.loc[primary["family"] == "beta_binomial", "L"].iloc[0])
    out["SbcPairedTasks"] = int(paired["tasks_paired"].iloc[0])
    for _, r in paired.iterrows():
        tag = "Low" if r["target_accept"] == DEFAULT_TARGET_ACCEPT else "High"
        out[f"SbcPairedDivergent{tag}"] = int(r["n_with_divergences"])
        out[f"SbcPairedPhiTop{tag}"] = int(r["phi rank L"])
        out[f"SbcPairedPhiTopExpected{tag}"] = f"{(r['tasks_paired'] - r['n_not_converged']) / (L + 1):.1f}"
    # independent replicate (another seed) of the beta-binomial at 0.9, where the phi test failed
    rep = ROOT / "validation" / f"sbc_replicate1_ta{round(100 * DEFAULT_TARGET_ACCEPT)}_summary.csv"
    for fam, g in pd.read_csv(rep).groupby("family", sort=False):
        k = macro_key("sbc", "replicate", fam)
        out[f"{k}Used"] = int(g["n_used"].iloc[0])
        out[f"{k}Inside"] = int(g["ecdf_pass"].astype(bool).sum())
        out[f"{k}Params"] = len(g)
    return out


def _sbc_study_name(fam: str) -> str:
    """Study directory of a family's primary SBC (validation/run_studies.py: the package's settings per family)."""
    from irmodels.models.bayes import TARGET_ACCEPT
    from irmodels.studies.sbc_simulate import FAMILY_KIND

    ta = TARGET_ACCEPT.get(FAMILY_KIND[fam])
    return f"sbc_{fam}" + ("" if ta is None else f"_ta{round(100 * ta)}")


PARTS = (audit_numbers, margin_numbers, reconstruction_numbers, weighting_numbers, association_numbers, model_numbers)

if __name__ == "__main__":
    values: dict = {}
    for part in PARTS:
        values.update(part())
    out = write_macros(values, PAPER_GENERATED / "numbers.tex", source="analyses/90_paper_numbers.py")
    print(f"wrote {out.relative_to(ROOT)} ({len(values)} macros)")
