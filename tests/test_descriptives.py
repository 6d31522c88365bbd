"""The paper's Results recomputed: every printed number reproduced or explained by the audit.

Compared with: the printed numbers of the paper (statements.csv, quoted from
doi:10.1186/s13244-019-0698-6; the values written in the tests are the paper's), recomputed
from the adopted published margins and from one reconstruction replicate.
"""

from __future__ import annotations

import pandas as pd
import pytest

import irmodels
from irmodels.published.descriptives import RESULT_COLUMNS, descriptive_results, tabulate

# the statements whose recomputation differs from print, each in a documented discrepancy:
# D01 (CIRSE-only 9 vs 10 and "out of 9"), D04 (three vs two without procedures),
# D06 ("out of 98" for an item answered by 93), D07 (22.4%), D08 (44.3%), D09 (62.2%)
MISMATCHES = {"R2-09", "R2-10", "R2-11", "R3-14", "R3-15", "R3-16", "R3-22", "R4-14", "R5-02"}


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    return irmodels.descriptive_results()


@pytest.fixture(scope="module")
def replicate() -> pd.DataFrame:
    ens = irmodels.reconstruct(k=1, seed=20170401, assumptions="independent")
    return ens[ens["replicate"] == 0].reset_index(drop=True)


@pytest.fixture(scope="module")
def from_data(replicate) -> pd.DataFrame:
    return irmodels.descriptive_results(replicate).set_index("statement_id")


def test_columns(results):
    assert list(results.columns) == list(RESULT_COLUMNS)
    assert str(results["count_matches"].dtype) == "boolean" and str(results["count_recomputed"].dtype) == "Int64"


def test_covers_table1_and_results(results):
    assert (results["section"] == "Table 1").sum() == 24
    assert results["section"].str.startswith("Results").sum() >= 50
    # every statement of Table 1 and the Results except the survey-design numbers (RES-01, RES-02)
    st = irmodels.load_statements()
    wanted = st.loc[st["section"].str.startswith(("Table 1", "Results")) & st["use"].ne("context"), "statement_id"]
    assert list(results["statement_id"]) == list(wanted)
    for sid in ("R1-01", "R1-06", "R3-02", "R3-03", "R3-04", "R2-10", "R2-11", "R3-06", "R3-09", "R3-10",
                "R3-11", "R3-12", "R3-14", "R4-05"):
        assert sid in set(results["statement_id"]), sid


def test_every_mismatch_is_explained_by_the_audit(results):
    bad = results[results["matches"].eq(False).fillna(False)]
    assert set(bad["statement_id"]) == MISMATCHES
    # each is flagged by the audit or sits in a documented discrepancy
    assert (bad["audit_status"].eq("inconsistent") | bad["discrepancy_id"].ne("")).all()
    assert set(bad.loc[bad["statement_id"].isin(["R2-09", "R2-10", "R2-11"]), "discrepancy_id"]) == {"D01"}


def test_percentages_printed_without_their_own_count(results):
    r = results.set_index("statement_id")
    # "66.3% came from eight nations": 15+9+8+8+8+7+5+5 = 65 of 98 in Table 1
    assert r.loc["R1-01", ["count_recomputed", "denominator_used", "percent_printed", "percent_recomputed"]].tolist() == [
        65, 98, "66.3", "66.3"]
    assert bool(r.loc["R1-01", "matches"])
    # "Most answers (94.9%) were from teaching hospitals": 93 of 98
    assert r.loc["R1-06", ["count_recomputed", "denominator_used", "percent_recomputed"]].tolist() == [93, 98, "94.9"]
    assert pd.isna(r.loc["R1-06", "count_printed"]) and bool(r.loc["R1-06", "percent_matches"])


def test_extremes_need_respondent_data(results, from_data):
    r = results.set_index("statement_id")
    # "up to 90, in a very large one"; residents "ranging from 1 to 70" (over those with residents, D11)
    assert r.loc[["R3-02", "R3-03", "R3-04"], "value_printed"].tolist() == [90, 1, 70]
    assert r.loc[["R3-02", "R3-03", "R3-04"], "value_recomputed"].isna().all()
    assert r.loc["R3-03", "subgroup"] == "n_residents > 0"
    assert from_data.loc[["R3-02", "R3-03", "R3-04"], "value_recomputed"].tolist() == [90, 1, 70]
    assert from_data.loc[["R3-02", "R3-03", "R3-04"], "value_matches"].all()
    assert from_data.loc["R3-03", "answered"] == 96  # 98 minus the two departments without residents


def test_conditional_statements_from_the_margins(results):
    r = results.set_index("statement_id")
    # "7 out of 9": the printed denominator 9 vs the 10 CIRSE-only of the adopted reading (D01)
    row = r.loc["R2-10"]
    assert (row["count_printed"], row["denominator_printed"], row["subgroup_size"], row["answered"]) == (7, 9, 10, 10)
    assert not row["denominator_matches"] and pd.isna(row["count_matches"])
    assert (row["count_lower"], row["count_upper"]) == (0, 10)
    # "three small hospitals that do not perform any IR procedures": the margins allow at most the 2 (D04)
    row = r.loc["R3-14"]
    assert (row["count_printed"], row["count_upper"]) == (3, 2) and not row["count_matches"]
    # the two without procedures are without IR: compatible with the margins, not identified by them
    assert (r.loc["R4-05", "count_lower"], r.loc["R4-05", "count_upper"]) == (0, 2)
    assert pd.isna(r.loc["R4-05", "matches"])
    # sub-groups: location among the 57 with an outpatient service, 56 answering: 34 (60.7%)
    row = r.loc["R4-08"]
    assert row["subgroup"] == 'outpatient_service == "true"'
    assert (row["subgroup_size"], row["answered"], row["denominator_used"], row["percent_recomputed"]) == (57, 56, 56, "60.7")
    # day-case beds run jointly: 12 of the 28 answering among the 30 with beds, 42.8% truncated
    row = r.loc["R4-10"]
    assert (row["subgroup_size"], row["answered"], row["rounding"], row["percent_recomputed"]) == (30, 28, "trunc", "42.8")
    # cardiac service by IR "in only 1 of them" (the 84)
    assert r.loc["R5-06", ["count_recomputed", "subgroup_size", "denominator_printed"]].tolist() == [1, 84, 84]
    assert bool(r.loc["R5-06", "denominator_matches"])


def test_conditional_statements_from_a_reconstruction(from_data):
    r = from_data
    assert set(r.index[r["matches"].eq(False).fillna(False)]) == MISMATCHES
    assert r["matches"].notna().all()  # respondent data make every statement comparable
    assert r.loc["R2-10", ["count_recomputed", "subgroup_size"]].tolist() == [7, 10]
    assert r.loc["R2-11", ["count_recomputed", "subgroup_size"]].tolist() == [1, 10]
    assert r.loc["R3-06", ["count_recomputed", "subgroup_size"]].tolist() == [2, 2]  # no residents => no teaching
    assert r.loc["R3-11", "count_recomputed"] == 2
    # "all hospitals with more than 12 residents have more than 800 beds" except the two of R3-11
    assert r.loc["R3-12", "count_recomputed"] == r.loc["R3-12", "subgroup_size"] - 2
    assert r.loc["R3-09", "count_recomputed"] >= 1 and r.loc["R3-10", "count_recomputed"] >= 1
    assert r.loc["R4-05", ["count_recomputed", "subgroup_size"]].tolist() == [2, 2]
    assert r.loc["R3-14", ["count_printed", "count_recomputed"]].tolist() == [3, 2]
    assert r.loc["R4-08", ["subgroup_size", "answered", "count_recomputed"]].tolist() == [57, 56, 34]


def test_conditional_recomputation_detects_a_wrong_dataset(replicate):
    """Moving one CIRSE-only IR chair to DR breaks "7 out of 9"; a minimum of 2 residents breaks "from 1"."""
    df = replicate.copy()
    co = (~df["member_esr"].astype(bool)) & df["member_cirse"].astype(bool) & df["chair_profile"].eq("IR_mostly")
    df.loc[co[co].index[0], "chair_profile"] = "DR"
    df["n_residents"] = df["n_residents"].where(df["n_residents"] != 1, 2)
    r = irmodels.descriptive_results(df).set_index("statement_id")
    assert r.loc["R2-10", "count_recomputed"] == 6 and not r.loc["R2-10", "count_matches"]
    assert r.loc["R3-03", "value_recomputed"] == 2 and not r.loc["R3-03", "value_matches"]


def test_papers_own_rounding_and_denominator(results):
    r = results.set_index("statement_id")
    assert r.loc["R4-06", ["rounding", "percent_recomputed"]].tolist() == ["trunc", "65.30"]
    assert r.loc["R3-15", ["denominator_used", "percent_recomputed"]].tolist() == [93, "62.4"]
    assert r.loc["R3-27", ["denominator_used", "percent_recomputed"]].tolist() == [90, "27.8"]


def test_tabulate_counts_missing_apart():
    df = pd.DataFrame({"cover_24_7": pd.array([True, False, None, True], dtype="boolean")})
    t = tabulate(df, "cover_24_7").set_index("category")
    assert t.loc["true", "count"] == 2 and t.loc["false", "count"] == 1
    assert (t["answered"] == 3).all() and (t["missing"] == 1).all()


def test_recomputation_from_respondent_data_detects_a_wrong_dataset(results):
    """A respondent table that differs by one department must show a mismatch."""
    m = irmodels.load_statements()  # noqa: F841  (ensures the data loads)
    rows = []
    for i in range(98):
        rows.append({"cover_24_7": (True if i < 59 else (False if i < 97 else None))})  # 59 instead of 60
    df = pd.DataFrame(rows).astype({"cover_24_7": "boolean"})
    res = irmodels.descriptive_results(df).set_index("statement_id")
    assert res.loc["R4-16", "count_recomputed"] == 59
    assert not res.loc["R4-16", "count_matches"]


def test_another_waves_table_is_not_compared_with_2017_statements():
    """Issue 11: descriptive_results(t) on a 2025 table silently compared it with 2017's statements."""
    from pathlib import Path

    from irmodels.core.errors import SchemaError
    from irmodels.data.importing import import_wave

    root = Path(__file__).resolve().parents[1] / "data" / "raw" / "simulated_demo"
    t = import_wave(root / "export.csv", root / "mapping.yaml").table
    with pytest.raises(SchemaError, match="table is of wave 'simulated_demo'"):
        descriptive_results(t)
    with pytest.raises(ValueError, match="only the 2017 ESR/CIRSE paper's are encoded"):
        descriptive_results(t, wave="wave_2025")
