"""Every number the paper prints, as LaTeX macros: paper/generated/numbers.tex.

Reads the derived tables written by the earlier analysis scripts (nothing is
typed in): the audit, the descriptives, the reconstruction summary, the
identification table, the weighting and sensitivity results and the model
results. A missing input stops the script with the name of the script that
makes it.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from paths import DERIVED, PAPER_GENERATED, ROOT

from irmodels.report import macro_key, write_macros
from irmodels.waves.esr_cirse_2017 import N_INVITED, N_RESPONDENTS, published_margins


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
        "NDescriptive": len(r),
        "NDescriptiveCountsMatch": int(r["count_matches"].sum()),
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
    }


def reconstruction_numbers() -> dict:
    s = _read("reconstruction_summary.csv", "10_reconstruction_summary.py").set_index(["assumptions", "quantity"])
    ident = _read("identification_table.csv", "11_identification_table.py")
    out = {
        "ReconReplicates": int(s.loc[("informed", "replicates"), "mean"]),
        "ReconChecksPerReplicate": int(s.loc[("informed", "checks_per_replicate"), "mean"]),
        "ReconAllExact": "all" if bool(s.loc[("informed", "all_checks_exact"), "mean"]) and bool(s.loc[("independent", "all_checks_exact"), "mean"]) else "not all",
    }
    for aset in ("independent", "informed"):
        row = s.loc[(aset, "rd:cover_24_7=true|beds_class=>=800")]
        k = macro_key("rd", "cover", "beds", "large", aset)
        out[k] = 100 * row["mean"]
        out[k + "Lo"] = 100 * row["q025"]
        out[k + "Hi"] = 100 * row["q975"]
    rd = ident.set_index("estimand").loc["rd:cover_24_7=true|beds_class=>=800"]
    out["RdCoverBedsLargeBoundLo"] = 100 * rd["lower"]
    out["RdCoverBedsLargeBoundHi"] = 100 * rd["upper"]
    counts = ident["status"].value_counts()
    for status in ("identified", "bounded", "assumption"):
        out[macro_key("n", "estimands", status)] = int(counts.get(status, 0))
    return out


def weighting_numbers() -> dict:
    w = _read("weighted_coverage.csv", "21_weighted_coverage.py")
    w = w[(w["wave"] == "esr_cirse_2017") & (w["by"] == "all") & (w["term"] == "cover_24_7")]
    out = {}
    for row in w.itertuples():
        k = macro_key("cover", "wt", row.scenario)
        out[k + "Pct"] = 100 * row.estimate
        out[k + "Lo"] = 100 * row.lower
        out[k + "Hi"] = 100 * row.upper
        out[k + "NEff"] = row.n_eff_kish
    tp = _read("tipping_point_summary.csv", "25_tipping_point_summary.py")
    tp = tp[tp["wave"] == "esr_cirse_2017"]
    for row in tp.itertuples():
        k = macro_key("tip", row.scenario)
        out[k + "MarPct"] = 100 * row.estimate_mar
        out[k + "OddsRatio"] = f"{row.odds_ratio_star:.2f}"
        out[k + "OddsRatioUpper"] = f"{row.odds_ratio_star_upper:.2f}"
    first = tp.iloc[0]
    out["TipThresholdPct"] = f"{100 * first['threshold']:.0f}"
    out["ManskiLoPct"] = 100 * first["manski_lower"]
    out["ManskiHiPct"] = 100 * first["manski_upper"]
    ri = _read("r_indicator.csv", "24_r_indicator.py")
    ri = ri[ri["wave"] == "esr_cirse_2017"]
    for row in ri.itertuples():
        k = macro_key("rind", row.scenario)
        out[k] = f"{row.estimate:.2f}"
        out[k + "Se"] = f"{row.std_error:.3f}"
    return out


def _or(row) -> tuple[float, float, float]:
    return float(np.exp(row["estimate"])), float(np.exp(row["lower"])), float(np.exp(row["upper"]))


def model_numbers() -> dict:
    from irmodels.simulate import truth

    d = _read("model_results.csv", "30_model_results.py")
    d["assumptions"] = d["assumptions"].fillna("")
    out = {}
    term = "beds_class[T.>=800]"
    for data, aset in (("esr_cirse_2017", "informed"), ("esr_cirse_2017", "independent"), ("simulated_demo", "")):
        for engine in ("pymc", "statsmodels"):
            sel = d[(d["data"] == data) & (d["assumptions"] == aset) & (d["engine"] == engine)
                    & (d["spec_id"] == "cover_24_7") & (d["term"] == term)]
            if len(sel) != 1:
                sys.exit(f"90_paper_numbers: expected one {engine} row for {term} in {data}/{aset}, found {len(sel)}")
            est, lo, hi = _or(sel.iloc[0])
            k = macro_key("or", "beds", "large", "sim" if data == "simulated_demo" else aset, engine)
            out[k] = f"{est:.2f}"
            out[k + "Lo"] = f"{lo:.2f}"
            out[k + "Hi"] = f"{hi:.2f}"
            if data == "esr_cirse_2017":
                out[macro_key("label", aset, engine)] = str(sel.iloc[0]["identification"])
    from irmodels.pooling import GATE

    out["GateRhat"] = f"{GATE['r_hat_max']:.2f}"
    out["GateEss"] = int(GATE["ess_bulk_min"])
    out["OrBedsLargeSimTruth"] = f"{np.exp(truth()['cover_24_7']['coef']['beds_class[>=800]']):.2f}"
    conv = d[(d["data"] == "esr_cirse_2017") & (d["engine"] == "pymc")]["converged_share"].dropna()
    out["ConvergedShareMinPct"] = f"{100 * conv.min():.0f}"
    out["NTermsTwentySeventeen"] = int(((d["data"] == "esr_cirse_2017") & (d["term"] != "Intercept")).sum())
    out["NTermsAssumption"] = int(((d["data"] == "esr_cirse_2017") & (d["term"] != "Intercept")
                                   & (d["identification"] == "assumption")).sum())
    m = _read("mrp_estimates.csv", "33_mrp_estimates.py")
    m = m[(m["level"] == "Europe") & (m["data"] == "esr_cirse_2017") & (m["scenario"] == "radiologists")]
    for outcome, key in (("cover_24_7", "Cover"), ("female_ir_share_class", "FemaleIR")):
        r = m[m["outcome"] == outcome].iloc[0]
        out[f"Mrp{key}Pct"] = 100 * r["estimate"]
        out[f"Mrp{key}Lo"] = 100 * r["lower"]
        out[f"Mrp{key}Hi"] = 100 * r["upper"]
        out[f"Mrp{key}WtPct"] = 100 * r["weighting_estimate"]
    sbc = pd.read_csv(ROOT / "validation" / "sbc_uniformity.csv")
    out["SbcSims"] = int(sbc["n_sims"].iloc[0])
    out["SbcPMin"] = f"{sbc['p_value'].min():.2f}"
    out["SbcPMax"] = f"{sbc['p_value'].max():.2f}"
    return out


PARTS = (audit_numbers, margin_numbers, reconstruction_numbers, weighting_numbers, model_numbers)

if __name__ == "__main__":
    values: dict = {}
    for part in PARTS:
        values.update(part())
    out = write_macros(values, PAPER_GENERATED / "numbers.tex", source="analyses/90_paper_numbers.py")
    print(f"wrote {out.relative_to(ROOT)} ({len(values)} macros)")
