"""Loading and validating the published 2017 statements; the adopted margins.

Compared with: the paper (counts quoted in the statements file) and the adopted
resolutions in irmodels/waves/esr_cirse_2017_resolutions.yaml.
"""

from __future__ import annotations

import pandas as pd
import pytest

from irmodels.errors import SchemaError
from irmodels.waves import esr_cirse_2017 as w


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
