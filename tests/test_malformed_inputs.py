"""A catalogue of malformed inputs: each must give one clear irmodels error naming the file,
row, column, value and rule, listing every problem at once, and writing no output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from irmodels.core.errors import MappingError, SchemaError
from irmodels.data.importing import import_wave, read_table
from irmodels.identification.assumption_sets import load_assumptions
from irmodels.data.schema import validate
from problems import one

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "data" / "raw" / "simulated_demo"
EXPORT, MAPPING = SIM / "export.csv", SIM / "mapping.yaml"


def row(**kw):
    r = dict(respondent_id="d1", wave="w", country="DE", beds_class=">=800", teaching=True, chair_profile="DR",
             cover_24_7=True, female_ir_share_class="1-25")
    r.update(kw)
    return r


def edit_export(tmp_path: Path, line: int, column: str, value: str) -> Path:
    """Copy the simulated export with one cell changed (line is the 1-based file line)."""
    lines = EXPORT.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    p = tmp_path / "export.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


# ---------------------------------------------------------------- tables (validate)

def test_01_wrong_type_boolean():
    with pytest.raises(SchemaError) as ei:
        validate(pd.DataFrame([row(teaching="perhaps")]), source="t.csv")
    p = one(ei, column="teaching", row=0)
    assert p.value == "perhaps" and p.file == "t.csv" and "boolean" in p.rule


def test_02_unknown_category_lists_valid_codes():
    with pytest.raises(SchemaError) as ei:
        validate(pd.DataFrame([row(chair_profile="boss")]))
    p = one(ei, column="chair_profile")
    assert "'IR_mostly'" in p.rule and p.value == "boss"


def test_03_impossible_counts():
    with pytest.raises(SchemaError) as ei:
        validate(pd.DataFrame([row(n_radiologists=5, n_ir=7, n_female_ir=8, female_ir_share_class=None)]))
    one(ei, column="n_ir", rule="n_ir <= n_radiologists")
    one(ei, column="n_female_ir", rule="n_female_ir <= n_ir")


def test_04_duplicate_ids():
    with pytest.raises(SchemaError) as ei:
        validate(pd.DataFrame([row(), row(), row(respondent_id="d2")]))
    assert [p.row for p in ei.value.problems] == [0, 1]


def test_05_country_not_iso():
    with pytest.raises(SchemaError) as ei:
        validate(pd.DataFrame([row(country="de"), row(respondent_id="d2", country="Germany")]))
    assert {p.value for p in ei.value.problems} == {"de", "Germany"}


def test_06_negative_and_fractional_counts():
    with pytest.raises(SchemaError) as ei:
        validate(pd.DataFrame([row(n_residents=-2, n_radiologists="3.5")]))
    one(ei, column="n_residents", rule=">= 0")
    one(ei, column="n_radiologists", rule="whole number")


def test_07_share_class_disagrees_with_counts():
    with pytest.raises(SchemaError) as ei:
        validate(pd.DataFrame([row(n_ir=4, n_female_ir=2, female_ir_share_class="1-25")]))
    p = one(ei, column="female_ir_share_class", rule="agree with the counts")
    assert "'26-50'" in p.rule  # names the class the counts imply


def test_08_conditional_answer_without_its_question():
    with pytest.raises(SchemaError) as ei:
        validate(pd.DataFrame([row(day_case_beds=False, day_case_beds_management="radiology")]))
    one(ei, column="day_case_beds_management", rule="only when day_case_beds is true")


def test_09_missing_required_column_and_unknown_column():
    with pytest.raises(SchemaError) as ei:
        validate(pd.DataFrame([row(bed_class=">=800")]).drop(columns=["beds_class"]))
    one(ei, column="beds_class", rule="required column is missing")
    one(ei, column="bed_class", rule="not in the codebook")


def test_10_empty_table_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_text("")
    with pytest.raises(SchemaError, match="empty"):
        read_table(p)


# ---------------------------------------------------------------- exports and mappings

def test_11_wrong_answer_code_in_export_names_line_and_column(tmp_path):
    p = edit_export(tmp_path, 7, "Q02beds", "A9")
    lines = p.read_text().splitlines()
    cells = lines[11].split(",")
    cells[16] = "maybe"  # Q11unit, line 12
    lines[11] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.csv"
    with pytest.raises(MappingError) as ei:
        import_wave(p, MAPPING, out=out)
    assert len(ei.value.problems) == 2  # both bad cells at once
    a = one(ei, row=7, column="Q02beds")
    assert a.value == "A9" and "A4" in a.rule and a.file == "export.csv"
    one(ei, row=12, column="Q11unit")
    assert not out.exists() and not (tmp_path / "out_report.csv").exists()


def test_12_empty_export_file(tmp_path):
    p = tmp_path / "export.csv"
    p.write_text("")
    with pytest.raises(MappingError, match="the export is empty"):
        import_wave(p, MAPPING)


def test_13_export_with_headers_only(tmp_path):
    p = tmp_path / "export.csv"
    p.write_text("\n".join(EXPORT.read_text().splitlines()[:2]) + "\n")
    with pytest.raises(MappingError, match="no responses after the header rows"):
        import_wave(p, MAPPING)


def test_14_mapping_names_a_missing_column(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text(MAPPING.read_text().replace("column: Q12h24", "column: Q12_24h"))
    with pytest.raises(MappingError) as ei:
        import_wave(EXPORT, m)
    p = one(ei, column="Q12_24h")
    assert "columns.cover_24_7" in p.rule and "Q12h24" in p.rule  # lists the export columns


def test_15_mapping_not_yaml_and_unknown_fields(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("wave: [unclosed\n")
    with pytest.raises(MappingError, match="not valid YAML"):
        import_wave(EXPORT, m)
    m.write_text(MAPPING.read_text().replace("  beds_class:\n", "  bed_size:\n").replace("skip_rows:", "skiprows:"))
    with pytest.raises(MappingError) as ei:
        import_wave(EXPORT, m)
    one(ei, column="columns.bed_size", rule="not a canonical column")
    one(ei, column="skiprows", rule="unknown field")


def test_16_duplicate_header_and_ragged_row(tmp_path):
    lines = EXPORT.read_text().splitlines()
    lines[0] = lines[0].replace("Q13comment", "Q12h24")
    lines[5] = lines[5] + ",extra"
    p = tmp_path / "export.csv"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(MappingError) as ei:
        import_wave(p, MAPPING)
    one(ei, row=1, column="Q12h24", rule="duplicate column name")
    one(ei, row=6, rule="fields but the header has")


def test_17_missing_files(tmp_path):
    with pytest.raises(MappingError, match="export file not found"):
        import_wave(tmp_path / "nope.csv", MAPPING)
    with pytest.raises(MappingError, match="mapping file not found"):
        import_wave(EXPORT, tmp_path / "nope.yaml")


def test_18_schema_violation_after_mapping_names_export_column_and_line(tmp_path):
    p = edit_export(tmp_path, 3, "Q09nfir", "40")  # more female IRs than IRs on line 3
    out = tmp_path / "out.csv"
    with pytest.raises(SchemaError) as ei:
        import_wave(p, MAPPING, out=out)
    prob = one(ei, row=3, rule="n_female_ir <= n_ir")
    assert prob.column == "Q09nfir (n_female_ir)" and prob.value == 40
    assert not out.exists()


def test_19_bad_exclusion_rule_and_missing_required_fields(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("wave: x\nexclude:\n  - {column: Q00test}\ncolumns: {}\n")
    with pytest.raises(MappingError) as ei:
        import_wave(EXPORT, m)
    one(ei, row=3, column="exclude[0]", rule="exactly one of")
    one(ei, column="respondent_id", rule="required field is missing")


def test_20_bad_assumption_set(tmp_path):
    with pytest.raises(SchemaError, match="not a shipped assumption set"):
        load_assumptions("optimistic")
    p = tmp_path / "a.yaml"
    p.write_text("associations:\n  - {target: cover_24_7, predictor: bed_size, latent_coefficient: {distribution: cauchy}}\n")
    with pytest.raises(SchemaError) as ei:
        load_assumptions(p)
    one(ei, row="associations[0]", column="predictor", rule="unknown predictor")
    one(ei, row="associations[0]", column="latent_coefficient", rule="{distribution: normal, mean, sd}")
    one(ei, row="associations[0]", column="source", rule="missing field")


def test_20b_old_key_log_odds_ratio_is_refused_with_the_new_name(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("associations:\n  - {target: cover_24_7, predictor: beds_class, source: x,\n"
                 "     log_odds_ratio: {distribution: normal, mean: 0.5, sd: 0.1}}\n")
    with pytest.raises(SchemaError) as ei:
        load_assumptions(p)
    assert len(ei.value.problems) == 1  # only the rename, not also "missing latent_coefficient"
    prob = one(ei, row="associations[0]", column="log_odds_ratio", rule="renamed latent_coefficient")
    assert "not the realised log odds ratio" in prob.rule and prob.file == str(p)


def test_21_cli_reports_all_problems_and_writes_nothing(tmp_path, capsys):
    from irmodels.cli import main

    p = edit_export(tmp_path, 3, "Q02beds", "A7")
    out = tmp_path / "o.csv"
    assert main(["import-wave", str(p), "--mapping", str(MAPPING), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "Q02beds" in err and "'A7'" in err
    assert not out.exists()


def test_22_export_with_code_and_schema_problems_lists_all_in_one_error(tmp_path):
    """A bad beds code, an unknown country, a non-numeric count, a duplicate id and more IRs
    than radiologists: ONE error with all five problems (answer-code problems do not stop the
    import before schema validation), each with its file line, export column and value."""
    p = edit_export(tmp_path, 5, "Q07nir", "12")  # line 5: 12 IRs, 7 radiologists
    for line, col, val in ((6, "Q06nres", "many"), (7, "Q02beds", "A9"), (8, "Q01country", "Atlantis"),
                           (9, "id", "1006")):  # line 9 repeats the id of line 8
        p = _edit_in_place(p, line, col, val)
    out = tmp_path / "out.csv"
    with pytest.raises(MappingError) as ei:
        import_wave(p, MAPPING, out=out)
    probs = ei.value.problems
    beds = one(ei, row=7, column="Q02beds", rule="not a code of beds_class")
    assert beds.value == "A9"
    country = one(ei, row=8, column="Q01country", rule="not a code of country")
    assert country.value == "Atlantis"
    nres = one(ei, row=6, column="Q06nres (n_residents)", rule="whole number")
    assert nres.value == "many"
    dup = [q for q in probs if "unique" in q.rule]
    assert {(q.row, q.column, q.value) for q in dup} == {(8, "id (respondent_id)", "1006"), (9, "id (respondent_id)", "1006")}
    nir = one(ei, row=5, column="Q07nir (n_ir)", rule="n_ir <= n_radiologists")
    assert nir.value == 12
    # nothing else, every problem names the export file, and the message lists them all
    assert len(probs) == 6  # five problems; the duplicate id is reported on both of its lines
    assert all(q.file == "export.csv" for q in probs)
    msg = str(ei.value)
    for frag in ("'A9'", "'Atlantis'", "'many'", "'1006'", "n_ir <= n_radiologists"):
        assert frag in msg
    assert [q.row for q in probs] == sorted(q.row for q in probs)  # sorted by file line
    assert not out.exists() and not (tmp_path / "out_report.csv").exists()


def _edit_in_place(p: Path, line: int, column: str, value: str) -> Path:
    lines = p.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    return p
