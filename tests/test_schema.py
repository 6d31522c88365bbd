"""Tests of irmodels.data.schema.validate: types from the codebook, all problems at once, cross-field rules."""

from __future__ import annotations

import pandas as pd
import pytest

from irmodels.core.errors import SchemaError
from irmodels.data.coercion import ISO_3166_ALPHA2
from irmodels.data.schema import REQUIRED_COLUMNS, column_dtypes, share_class, validate


def base_row(**kw):
    row = dict(
        respondent_id="d1",
        wave="w1",
        country="DE",
        beds_class=">=800",
        teaching=True,
        chair_profile="DR",
        cover_24_7=True,
        female_ir_share_class="1-25",
    )
    row.update(kw)
    return row


def problems(df, **kw):
    with pytest.raises(SchemaError) as ei:
        validate(df, **kw)
    return ei.value.problems


def test_types_follow_codebook():
    out = validate(pd.DataFrame([base_row(n_ir=4, n_radiologists=10, n_female_ir=1, ir_share_class="26-50")]))
    assert str(out["respondent_id"].dtype) == "string"
    assert str(out["teaching"].dtype) == "boolean"
    assert str(out["n_ir"].dtype) == "Int64"
    bc = out["beds_class"].dtype
    assert isinstance(bc, pd.CategoricalDtype) and bc.ordered
    assert list(bc.categories) == ["<200", "200-399", "400-799", ">=800"]
    assert list(out["chair_profile"].dtype.categories) == ["DR", "DR_some_IR", "DR_IR_equal", "IR_mostly"]
    assert list(out["female_ir_share_class"].dtype.categories) == ["0", "1-25", "26-50", "51-75", ">75"]
    # codebook order of columns
    assert list(out.columns) == [c for c in column_dtypes() if c in out.columns]


def test_raw_strings_from_csv_are_coerced_and_blank_is_missing():
    df = pd.DataFrame([base_row(teaching="TRUE", cover_24_7="", n_residents="12", ir_share_class=0, female_ir_share_class=None)])
    out = validate(df)
    assert out.loc[0, "teaching"] is True or bool(out.loc[0, "teaching"]) is True
    assert pd.isna(out.loc[0, "cover_24_7"])
    assert out.loc[0, "n_residents"] == 12
    assert out.loc[0, "ir_share_class"] == "0"  # a number read from a file is a code


def test_missing_answers_keep_rows():
    rows = [base_row(respondent_id=f"d{i}", cover_24_7=None, female_ir_share_class=None) for i in range(5)]
    out = validate(pd.DataFrame(rows))
    assert len(out) == 5 and out["cover_24_7"].isna().sum() == 5


def test_all_problems_reported_at_once():
    df = pd.DataFrame(
        [
            base_row(country="UK", beds_class="huge"),
            base_row(respondent_id="d2", teaching="maybe", n_residents=-1),
        ]
    )
    ps = problems(df, source="f.csv")
    got = {(p.row, p.column) for p in ps}
    assert got == {(0, "country"), (0, "beds_class"), (1, "teaching"), (1, "n_residents")}
    assert all(p.file == "f.csv" for p in ps)
    uk = next(p for p in ps if p.column == "country")
    assert "GB" in uk.rule and uk.value == "UK"
    bc = next(p for p in ps if p.column == "beds_class")
    assert "'>=800'" in bc.rule  # lists the valid codes


def test_required_and_unknown_columns():
    df = pd.DataFrame([base_row(foo=1)]).drop(columns=["teaching"])
    ps = problems(df)
    assert {(p.column, p.rule.split(" (")[0]) for p in ps} == {
        ("teaching", "required column is missing"),
        ("foo", "column is not in the codebook"),
    }
    out = validate(pd.DataFrame([base_row(foo=1)]), extra="allow")
    assert out.columns[-1] == "foo"
    assert set(REQUIRED_COLUMNS) <= set(out.columns)


@pytest.mark.parametrize(
    "kw,column,fragment",
    [
        (dict(n_female_ir=3, n_ir=2), "n_female_ir", "n_female_ir <= n_ir"),
        (dict(n_ir=11, n_radiologists=10), "n_ir", "n_ir <= n_radiologists"),
        (dict(n_female_radiologists=11, n_radiologists=10), "n_female_radiologists", "<= n_radiologists"),
        (dict(n_female_ir=3, n_female_radiologists=2), "n_female_ir", "n_female_ir <= n_female_radiologists"),
        (dict(n_ir=0, female_ir_share_class="0"), "female_ir_share_class", "n_ir is 0"),
        (dict(ir_share_class="0", female_ir_share_class="0"), "female_ir_share_class", 'ir_share_class is "0"'),
        (dict(day_case_beds=False, day_case_beds_management="shared"), "day_case_beds_management", "only when day_case_beds"),
        (dict(outpatient_location="radiology"), "outpatient_location", "only when outpatient_service"),
        (dict(neuro_performed=False, neuro_provider="ir"), "neuro_provider", "only when neuro_performed"),
        (dict(cardiac_performed=None, cardiac_provider="ir"), "cardiac_provider", "only when cardiac_performed"),
        (dict(procedure_volume_class="0", ir_share_class="1-25"), "ir_share_class", 'procedure_volume_class "0"'),
        (dict(n_ir=2, n_radiologists=8, ir_share_class="26-50"), "ir_share_class", "agree with the counts"),
    ],
)
def test_cross_field_rules(kw, column, fragment):
    ps = problems(pd.DataFrame([base_row(**kw)]))
    assert any(p.column == column and fragment in p.rule for p in ps), [str(p) for p in ps]


def test_share_class_bins_and_rounding_convention():
    # exact bin edges (inclusive), and percentages rounded up
    assert share_class("female_ir_share_class", 0, 5) == "0"
    assert share_class("female_ir_share_class", 1, 200) == "1-25"  # 0.5% -> 1-25
    assert share_class("female_ir_share_class", 1, 4) == "1-25"  # exactly 25%
    assert share_class("female_ir_share_class", 33, 130) == "26-50"  # 25.38% -> 26
    assert share_class("female_ir_share_class", 3, 4) == "51-75"
    assert share_class("female_ir_share_class", 4, 4) == ">75"
    assert share_class("female_radiologist_share_class", 0, 9) == "0-25"
    assert share_class("ir_share_class", 2, 3) == ">50"
    assert share_class("ir_share_class", 1, 0) is None
    # agreeing class passes
    validate(pd.DataFrame([base_row(n_ir=1, n_radiologists=4, ir_share_class="1-25", n_female_ir=0, female_ir_share_class="0")]))


def test_duplicate_ids_within_wave_only():
    ok = pd.DataFrame([base_row(), base_row(wave="w2")])
    validate(ok)
    ps = problems(pd.DataFrame([base_row(), base_row()]))
    assert [p.row for p in ps] == [0, 1] and all(p.column == "respondent_id" for p in ps)


def test_ids_must_not_be_missing():
    ps = problems(pd.DataFrame([base_row(respondent_id=None)]))
    assert ps[0].column == "respondent_id" and "missing" in ps[0].rule


def test_iso_list_is_complete_enough():
    assert len(ISO_3166_ALPHA2) == 250  # 249 assigned + XK
    for c in ("DE", "GB", "TR", "KZ", "BY", "RU", "IL", "XK"):
        assert c in ISO_3166_ALPHA2
    assert "UK" not in ISO_3166_ALPHA2 and "EL" not in ISO_3166_ALPHA2


def test_not_a_dataframe():
    with pytest.raises(SchemaError, match="expected a pandas DataFrame"):
        validate([1, 2, 3])  # type: ignore[arg-type]


def test_typed_input_roundtrip_is_identity():
    out = validate(pd.DataFrame([base_row(n_radiologists=12)]))
    again = validate(out)
    pd.testing.assert_frame_equal(out, again)


def test_typed_input_is_still_checked():
    # a table that already has the canonical dtypes must not bypass value rules
    ok = validate(pd.DataFrame([base_row(n_residents=3)]))
    bad = ok.copy()
    bad["country"] = pd.array(["UK"], dtype=ok["country"].dtype)
    bad["n_residents"] = pd.array([-3], dtype="Int64")
    ps = problems(bad)
    assert {(p.column, p.value) for p in ps} == {("country", "UK"), ("n_residents", -3)}
