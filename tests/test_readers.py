"""Tests of irmodels.data.readers: the header layouts of LimeSurvey, Qualtrics and SurveyMonkey
exports, delimiters, decimal commas; every problem names file and row."""

from __future__ import annotations

import pytest

from irmodels.core.errors import MappingError
from irmodels.data.readers import PRESETS, ReaderOptions, parse_number, read_export


@pytest.mark.parametrize("text,decimal,expected", [
    ("253", ".", 253.0), ("3.5", ".", 3.5), ("-2", ".", -2.0), ("1e3", ".", 1000.0), ("3,5", ".", None),
    ("3,5", ",", 3.5), ("3.5", ",", None), ("1.250", ",", None), (" 12 ", ",", 12.0), ("", ".", None),
    ("many", ".", None), ("nan", ".", None),
])
def test_parse_number(text, decimal, expected):
    assert parse_number(text, decimal) == expected


def test_presets_and_explicit_options():
    o = ReaderOptions.from_spec({"source": "limesurvey", "delimiter": ";", "decimal": ","})
    assert (o.format, o.delimiter, o.decimal, o.header_row, o.text_row) == ("csv", ";", ",", 1, 2)
    assert ReaderOptions.from_spec({"source": "qualtrics"}).header_rows() == [1, 2, 3]
    assert ReaderOptions.from_spec({"source": "surveymonkey"}).format == "xlsx"
    assert set(PRESETS) == {"limesurvey", "qualtrics", "surveymonkey"}


def test_limesurvey_excel_csv_with_bom_semicolons_and_text_row(tmp_path):
    p = tmp_path / "e.csv"
    p.write_bytes("\ufeffid;Q1;Q2\r\nAntwort ID;Land;Betten\r\n1;Deutschland;253\r\n\r\n2;Polen;3,5\r\n".encode("utf-8"))
    o = ReaderOptions.from_spec({"source": "limesurvey", "delimiter": "auto", "decimal": ","})
    df = read_export(p, o)
    assert list(df.columns) == ["id", "Q1", "Q2"] and df.index.tolist() == [3, 5]  # rows are file lines
    assert df.loc[5].tolist() == ["2", "Polen", "3,5"]


def test_qualtrics_import_id_row_is_checked(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('Q1,Q2\n"Country","Beds"\n"{""ImportId"":""QID1""}","{""ImportId"":""QID2""}"\nDE,A1\n', encoding="utf-8")
    df = read_export(p, ReaderOptions.from_spec({"source": "qualtrics"}))
    assert df.index.tolist() == [4] and df.loc[4, "Q1"] == "DE"
    legacy = tmp_path / "legacy.csv"  # a two-row export read with the three-row preset
    legacy.write_text("Q1,Q2\nCountry,Beds\nDE,A1\nFR,A2\n", encoding="utf-8")
    with pytest.raises(MappingError) as ei:
        read_export(legacy, ReaderOptions.from_spec({"source": "qualtrics"}))
    (prob,) = ei.value.problems
    assert prob.row == 3 and prob.column == "Q1" and prob.value == "DE" and "ImportId" in prob.rule
    df = read_export(legacy, ReaderOptions.from_spec({"source": "qualtrics", "import_id_row": None}))
    assert df.index.tolist() == [3, 4]


def test_surveymonkey_xlsx_merged_question_cells(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Respondent ID", "How many work here?", None, None, "Country?", "Comments"])
    ws.append([None, "Radiologists", "IRs", "Female IRs", "Response", "Open-Ended Response"])
    ws.merge_cells("B1:D1")
    ws.append([118001, 30, 5, 1, "Polska", None])
    ws.append([118002, 12.0, 2, 0, "Česko", "ok"])
    p = tmp_path / "sm.xlsx"
    wb.save(p)
    df = read_export(p, ReaderOptions.from_spec({"source": "surveymonkey"}))
    assert list(df.columns) == ["Respondent ID", "How many work here? | Radiologists", "How many work here? | IRs",
                                "How many work here? | Female IRs", "Country?", "Comments"]
    assert df.index.tolist() == [3, 4] and df.loc[4].tolist() == ["118002", "12", "2", "0", "Česko", "ok"]


def test_surveymonkey_csv_form_continues_blank_question_cells(tmp_path):
    p = tmp_path / "sm.csv"
    p.write_text("Respondent ID,Staff?,,Country?\n,Radiologists,IRs,Response\n1,30,5,Polska\n", encoding="utf-8")
    df = read_export(p, ReaderOptions(format="csv", header_row=1, subheader_row=2))
    assert list(df.columns) == ["Respondent ID", "Staff? | Radiologists", "Staff? | IRs", "Country?"]


def test_export_problems_are_listed_together(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("a,b,a\n1,2,3\n4,5,6,7\n", encoding="utf-8")
    with pytest.raises(MappingError) as ei:
        read_export(p, ReaderOptions())
    assert {(q.row, q.column) for q in ei.value.problems} == {(1, "a"), (3, None)}
    with pytest.raises(MappingError, match="sub-answer header row 2 is not in the file"):
        (tmp_path / "one.csv").write_text("a,b\n", encoding="utf-8")
        read_export(tmp_path / "one.csv", ReaderOptions(subheader_row=2))
    with pytest.raises(MappingError, match="cannot read the export as xlsx"):
        read_export(p, ReaderOptions(format="xlsx"))
