"""Loading and validating the published 2017 statements; the adopted margins.

Compared with: the paper (counts quoted in the statements file) and the adopted
resolutions in irmodels/data/waves/esr_cirse_2017_resolutions.yaml.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from irmodels.core.errors import SchemaError
from irmodels.data.waves import esr_cirse_2017 as w


@pytest.fixture()
def raw(statements_path) -> pd.DataFrame:
    return pd.read_csv(statements_path, dtype=str, keep_default_na=False)


def _write(tmp_path, df: pd.DataFrame):
    p = tmp_path / "statements.csv"
    df.to_csv(p, index=False)
    return p


def test_loads_typed():
    st = w.load_statements()
    assert str(st["count"].dtype) == "Int64"
    assert str(st["denominator"].dtype) == "Int64"
    assert st.loc[st.statement_id == "R4-16", "count"].item() == 60
    assert st.loc[st.statement_id == "R4-06", "percent_printed"].item() == "65.30"  # trailing zero kept


def test_missing_column_named(tmp_path, raw):
    p = _write(tmp_path, raw.drop(columns=["denominator"]))
    with pytest.raises(SchemaError) as ei:
        w.load_statements(p)
    msg = str(ei.value)
    assert str(p) in msg and "'denominator'" in msg and "required column is missing" in msg


def test_count_larger_than_denominator_named(tmp_path, raw):
    raw.loc[raw.statement_id == "R4-16", "count"] = "98"  # 98 > 97
    p = _write(tmp_path, raw)
    line = int(raw.index[raw.statement_id == "R4-16"][0]) + 2
    with pytest.raises(SchemaError) as ei:
        w.load_statements(p)
    (prob,) = ei.value.problems
    assert (prob.file, prob.row, prob.column, prob.value) == (str(p), line, "count", "98")
    assert "larger than its denominator" in prob.rule


def test_non_numeric_count_named(tmp_path, raw):
    raw.loc[raw.statement_id == "R1-02", "count"] = "fifty-one"
    p = _write(tmp_path, raw)
    with pytest.raises(SchemaError) as ei:
        w.load_statements(p)
    (prob,) = ei.value.problems
    assert prob.column == "count" and prob.value == "fifty-one" and prob.row == int(raw.index[raw.statement_id == "R1-02"][0]) + 2
    assert "integer" in prob.rule


def test_duplicate_id_named(tmp_path, raw):
    raw.loc[raw.statement_id == "R1-03", "statement_id"] = "R1-02"
    p = _write(tmp_path, raw)
    with pytest.raises(SchemaError) as ei:
        w.load_statements(p)
    (prob,) = ei.value.problems
    assert prob.column == "statement_id" and prob.value == "R1-02" and "duplicate" in prob.rule


def test_all_problems_at_once(tmp_path, raw):
    raw.loc[0, "count"] = "x"
    raw.loc[1, "kind"] = "nonsense"
    raw.loc[2, "percent_printed"] = "12%"
    p = _write(tmp_path, raw)
    with pytest.raises(SchemaError) as ei:
        w.load_statements(p)
    assert {(q.row, q.column) for q in ei.value.problems} >= {(2, "count"), (3, "kind"), (4, "percent_printed")}


def test_dangling_restates(tmp_path, raw):
    raw.loc[raw.statement_id == "DIS-16", "restates"] = "R9-99"
    p = _write(tmp_path, raw)
    with pytest.raises(SchemaError, match="R9-99"):
        w.load_statements(p)


def test_missing_file(tmp_path):
    with pytest.raises(SchemaError, match="file not found"):
        w.load_statements(tmp_path / "nope.csv")


def test_published_margins_partition_each_item():
    m = w.published_margins()
    item = m.groupby("variable").agg(total=("count", "sum"), item_n=("item_n", "first"))
    # every partitioned categorical item sums exactly to its adopted item denominator
    partitioned = [
        "country", "beds_class", "teaching", "chair_profile", "member_esr", "member_cirse", "member_esr_cirse",
        "member_national_radiology", "member_national_ir", "ir_share_class", "biopsy_share_class",
        "female_radiologist_share_class", "female_ir_share_class", "procedure_volume_class", "ir_unit",
        "outpatient_service", "outpatient_location", "day_case_beds", "day_case_beds_management",
        "admission_under_ir", "ward_rounds", "cover_24_7", "ir_specialised", "neuro_performed",
        "neuro_provider", "cardiac_performed", "cardiac_provider",
    ]
    for v in partitioned:
        assert item.loc[v, "total"] == item.loc[v, "item_n"], v


def test_published_margins_known_values():
    m = w.published_margins().set_index(["variable", "category"])
    assert m.loc[("cover_24_7", "true"), ["count", "item_n"]].tolist() == [60, 97]
    assert m.loc[("female_ir_share_class", "0"), ["count", "item_n"]].tolist() == [25, 90]
    assert m.loc[("female_ir_share_class", "1-25"), "count"] == 47
    assert m.loc[("teaching", "true"), "count"] == 93
    assert m.loc[("member_esr_cirse", "cirse_only"), "source"] == "resolution"
    # ESR = both + ESR-only; CIRSE = both + CIRSE-only under the adopted resolution
    assert m.loc[("member_esr", "true"), "count"] == m.loc[("member_esr_cirse", "both"), "count"] + m.loc[("member_esr_cirse", "esr_only"), "count"]
    assert m.loc[("member_cirse", "true"), "count"] == m.loc[("member_esr_cirse", "both"), "count"] + m.loc[("member_esr_cirse", "cirse_only"), "count"]


def test_item_denominators():
    n = w.item_denominators()
    assert n["cover_24_7"] == 97 and n["ir_share_class"] == 93 and n["female_ir_share_class"] == 90


# ---- discrepancy D01: the readings of the ESR x CIRSE membership counts


@pytest.fixture(scope="module")
def readings() -> pd.DataFrame:
    return w.membership_readings().set_index("reading_id")


def test_membership_readings_all_listed(readings):
    # printed: ESR 82 (83.7%), CIRSE 49 (50%), both 39, ESR-only 43, CIRSE-only 9 ("9" twice)
    assert list(readings.index) == ["cirse_only_10", "cirse_only_9", "both_40"]
    assert readings.loc["cirse_only_10", list(w.MEMBERSHIP_COMBINATIONS)].tolist() == [39, 43, 10, 6]
    assert readings.loc["cirse_only_9", list(w.MEMBERSHIP_COMBINATIONS)].tolist() == [39, 43, 9, 7]
    assert readings.loc["both_40", list(w.MEMBERSHIP_COMBINATIONS)].tolist() == [40, 42, 9, 7]
    assert (readings[list(w.MEMBERSHIP_COMBINATIONS)].sum(axis=1) == w.N_RESPONDENTS).all()
    assert readings["member_esr"].eq(82).all()
    assert readings["member_cirse"].tolist() == [49, 48, 49]
    assert (readings["evidence"].str.len() > 100).all()


def test_membership_readings_are_symmetric(readings):
    """Each reading overrides exactly two printed figures (the '9' counts twice: R2-09 and "out of 9")."""
    assert readings.loc["cirse_only_10", "contradicts"] == "R2-09:count;R2-10:denominator;R2-11:denominator"
    assert readings.loc["cirse_only_9", "contradicts"] == "R2-06:count;R2-06:percent"
    assert readings.loc["both_40", "contradicts"] == "R2-07:count;R2-08:count"
    # R2-10 and R2-11 share one printed denominator ("7 out of 9 ... and one")
    printed_figures = {
        rid: {c.replace("R2-11:denominator", "R2-10:denominator") for c in s.split(";")}
        for rid, s in readings["contradicts"].items()
    }
    assert {rid: len(v) for rid, v in printed_figures.items()} == {"cirse_only_10": 2, "cirse_only_9": 2, "both_40": 2}


def test_default_reading_is_the_adopted_margin(readings):
    assert readings.index[readings["adopted"]].tolist() == ["cirse_only_10"]
    m = w.published_margins().set_index(["variable", "category"])["count"]
    adopted = readings.loc["cirse_only_10"]
    for c in w.MEMBERSHIP_COMBINATIONS:
        assert m[("member_esr_cirse", c)] == adopted[c]
    assert m[("member_cirse", "true")] == adopted["member_cirse"]
    d01 = next(d for d in w.load_resolutions()["discrepancies"] if d["id"] == "D01")
    assert sorted(d01["rejected"]) == ["R2-09", "R2-10", "R2-11"]


def test_r2_10_r2_11_agree_with_every_reading(readings):
    st = w.load_statements().set_index("statement_id")
    for sid, profile in (("R2-10", "cirse_only_ir_mostly"), ("R2-11", "cirse_only_dr_ir_equal")):
        row = st.loc[sid]
        assert row["condition"] == 'member_esr_cirse == "cirse_only"'
        assert int(row["denominator"]) == 9  # as printed ("out of 9")
        for rid, rd in readings.iterrows():
            assert rd[profile] == int(row["count"])  # 7 and 1 under every reading
            keeps = int(row["denominator"]) == rd["cirse_only"]
            assert keeps == (f"{sid}:denominator" not in rd["contradicts"].split(";")), (sid, rid)
            # the note says how the printed 9 maps under each reading
            assert rid in row["note"] and f"{rd['cirse_only']} under" in row["note"], (sid, rid)
        assert "D01" in row["note"]
    # the rest of the CIRSE-only group is DR or DR_some_IR: 2 of 10, or 1 of 9
    assert readings["cirse_only_other"].tolist() == [2, 1, 1]


def test_membership_readings_refuse_wrong_contradicts(monkeypatch):
    res = copy.deepcopy(w.load_resolutions())
    d01 = next(d for d in res["discrepancies"] if d["id"] == "D01")
    d01["readings"][2]["contradicts"] = ["R2-07:count"]
    monkeypatch.setattr(w, "load_resolutions", lambda: res)
    with pytest.raises(SchemaError, match=r"D01 reading both_40.*contradicts.*'R2-08:count'"):
        w.membership_readings()


def test_membership_readings_refuse_counts_not_summing_to_98(monkeypatch):
    res = copy.deepcopy(w.load_resolutions())
    d01 = next(d for d in res["discrepancies"] if d["id"] == "D01")
    d01["readings"][1]["counts"]["neither"] = 8
    d01["readings"][1]["adopted"] = True
    monkeypatch.setattr(w, "load_resolutions", lambda: res)
    with pytest.raises(SchemaError) as ei:
        w.membership_readings()
    rules = " ".join(p.rule for p in ei.value.problems)
    assert "sum to the 98 respondents (they sum to 99)" in rules


def test_membership_readings_refuse_two_defaults(monkeypatch):
    res = copy.deepcopy(w.load_resolutions())
    d01 = next(d for d in res["discrepancies"] if d["id"] == "D01")
    d01["readings"][2]["adopted"] = True
    monkeypatch.setattr(w, "load_resolutions", lambda: res)
    with pytest.raises(SchemaError, match="exactly one 'adopted: true'"):
        w.membership_readings()


def test_subgroup_items():
    s = w.subgroup_items().set_index("variable")
    assert s.loc["outpatient_location", ["parent", "category"]].tolist() == ["outpatient_service", "true"]
    assert s.loc["day_case_beds_management", "parent"] == "day_case_beds"
    assert set(s.index) == {"outpatient_location", "day_case_beds_management", "neuro_provider", "cardiac_provider"}
    n = w.item_denominators()
    m = w.published_margins().set_index(["variable", "category"])["count"]
    for child, r in s.iterrows():
        # a sub-group item is answered by at most the departments in its sub-group (56 <= 57, 28 <= 30, ...)
        assert n[child] <= m[(r["parent"], r["category"])], child
