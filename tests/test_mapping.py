"""Tests of irmodels.data.mapping: mappings that fit real exports (issue 11, item 3).

Each feature is shown on a small export whose right answer is known by construction (the
table AND the report rows), and the three SIMULATED example exports of one 2025 wave
(``data/raw/examples/``: LimeSurvey re-saved by a German Excel, Qualtrics, SurveyMonkey XLSX)
are checked to import to the simulation truth, i.e. to the same validated table.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from irmodels.core.errors import MappingError, SchemaError
from irmodels.data.importing import import_wave
from irmodels.data.mapping import load_mapping
from problems import one

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "data" / "raw" / "examples"
SOURCES = {"limesurvey": "export.csv", "qualtrics": "export.csv", "surveymonkey": "export.xlsx"}

HEADER = ["id", "country", "beds", "teach", "chair", "h24", "fir"]
DEFAULT = {"country": "DE", "beds": "A4", "teach": "Y", "chair": "DR", "h24": "Y", "fir": "1-25"}
COLUMNS = {
    "country": "{column: country}",
    "beds_class": '{column: beds, codes: {A1: "<200", A2: "200-399", A3: "400-799", A4: ">=800"}}',
    "teaching": '{column: teach, codes: {"Y": true, "N": false}}',
    "chair_profile": "{column: chair}",
    "cover_24_7": '{column: h24, codes: {"Y": true, "N": false}}',
    "female_ir_share_class": "{column: fir}",
}


def make(tmp_path: Path, rows: list[dict], *, columns: dict[str, str] | None = None, top: str = "",
         extra_header: tuple[str, ...] = (), delimiter: str = ",") -> tuple[Path, Path]:
    """A small export (header on line 1, data from line 2) and its mapping."""
    header = HEADER + list(extra_header)
    lines = [delimiter.join(header)]
    for i, r in enumerate(rows):
        cells = {**DEFAULT, "id": f"r{i + 1}", **r}
        lines.append(delimiter.join(str(cells.get(h, "")) for h in header))
    exp = tmp_path / "export.csv"
    exp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cols = {**COLUMNS, **(columns or {})}
    body = "wave: t\nrespondent_id: {column: id}\n" + top + "columns:\n" + \
        "".join(f"  {k}: {v}\n" for k, v in cols.items() if v is not None)
    m = tmp_path / "mapping.yaml"
    m.write_text(body, encoding="utf-8")
    return exp, m


def actions(rep: pd.DataFrame, action: str) -> pd.DataFrame:
    return rep[rep["action"] == action].reset_index(drop=True)


# ------------------------------------------------------------------ free numbers -> bins

def test_free_bed_numbers_are_binned_to_the_codebook_classes(tmp_path):
    beds = ["150", "199", "200", "253", "799", "800", "1500", "0"]
    exp, m = make(tmp_path, [{"beds": b} for b in beds], columns={"beds_class": "{column: beds, bins: codebook}"})
    res = import_wave(exp, m)
    assert res.table["beds_class"].astype(str).tolist() == ["<200", "<200", "200-399", "200-399", "400-799",
                                                            ">=800", ">=800", "<200"]
    b = actions(res.report, "binned")
    assert b["row"].tolist() == list(range(2, 10)) and b["value"].tolist() == beds
    assert (b["column"] == "beds").all() and b.loc[3, "reason"] == "253 -> '200-399' (beds_class bins)"


def test_bins_refuse_non_numbers_and_values_outside_every_class(tmp_path):
    exp, m = make(tmp_path, [{"beds": "many"}, {"beds": "-5"}, {"beds": "199.5"}, {"beds": "300"}],
                  columns={"beds_class": "{column: beds, bins: codebook}"})
    with pytest.raises(MappingError) as ei:
        import_wave(exp, m)
    assert len(ei.value.problems) == 3
    one(ei, row=2, column="beds", value="many", rule="not a number")
    one(ei, row=3, column="beds", value="-5", rule="outside the bins")
    one(ei, row=4, column="beds", value="199.5", rule="between two bins")


def test_decimal_commas_and_custom_edges(tmp_path):
    # custom edges that reproduce the codebook classes (closed left; the outer edges are inside)
    bins = '{column: beds, bins: {edges: [0, 200, 400, 800, null], labels: ["<200", "200-399", "400-799", ">=800"], closed: left}}'
    exp, m = make(tmp_path, [{"beds": "199,9"}, {"beds": "200"}, {"beds": "399,5"}, {"beds": "0"}],
                  columns={"beds_class": bins}, top='decimal: ","\ndelimiter: ";"\n', delimiter=";")
    res = import_wave(exp, m)
    assert res.table["beds_class"].astype(str).tolist() == ["<200", "200-399", "200-399", "<200"]
    # "1.250" with decimal "," is ambiguous (thousands separator?), so it is not a number
    exp2, m2 = make(tmp_path, [{"beds": "1.250"}], columns={"beds_class": bins},
                    top='decimal: ","\ndelimiter: ";"\n', delimiter=";")
    with pytest.raises(MappingError) as ei:
        import_wave(exp2, m2)
    one(ei, row=2, column="beds", value="1.250", rule="decimal separator ','")


def test_edges_that_are_not_the_codebook_classes_must_be_declared(tmp_path):
    """New bins silently relabelled with 2017's classes do not pass."""
    bins = '{column: beds, bins: {edges: [0, 250, 500, 1000, null], labels: ["<200", "200-399", "400-799", ">=800"], closed: left}}'
    exp, m = make(tmp_path, [{"beds": "300"}], columns={"beds_class": bins})
    with pytest.raises(MappingError) as ei:
        import_wave(exp, m)
    p = one(ei, value="<200", rule="declares them")
    assert p.row == 5 and p.column == "columns.beds_class.bins" and "0-249" in p.rule and "0-199" in p.rule


# ------------------------------------------------------------------ changed questionnaire

WAVE_BEDS = ('{column: beds, codes: {B1: "<300", B2: "300-399", B3: "400-799", B4: ">=800"}, classes: ['
             '{code: "<300", lower: 0, upper: 299}, {code: "300-399", lower: 300, upper: 399}, '
             '{code: "400-799", lower: 400, upper: 799}, {code: ">=800", lower: 800, upper: null}], harmonise: %s}')


def test_changed_classes_harmonised_with_a_declared_straddling_class(tmp_path):
    harm = ('{"<300": {to: "200-399", straddling: "most departments of this class have 200-299 beds"}, '
            '"300-399": "200-399", "400-799": "400-799", ">=800": ">=800"}')
    exp, m = make(tmp_path, [{"beds": b} for b in ["B1", "B2", "B2", "B4", "B3"]],
                  columns={"beds_class": WAVE_BEDS % harm})
    res = import_wave(exp, m)
    assert res.table["beds_class"].astype(str).tolist() == ["200-399", "200-399", "200-399", ">=800", "400-799"]
    h = actions(res.report, "harmonised")
    assert h["value"].tolist() == ["<300", "300-399", "400-799", ">=800"] and h["row"].isna().all()
    assert "(1 responses); straddles canonical classes, declared: most departments" in h.loc[0, "reason"]
    assert "(2 responses)" in h.loc[1, "reason"] and h.loc[2, "reason"].startswith("beds_class: wave class '400-799'")
    assert res.harmonised == {"beds_class": {"<300": "200-399", "300-399": "200-399", "400-799": "400-799",
                                             ">=800": ">=800"}}


def test_straddling_classes_and_missing_harmonisation_are_errors(tmp_path):
    # "<300" straddles <200 and 200-399 (undeclared); "300-399" lies within 200-399, not 400-799
    harm = '{"<300": "<200", "300-399": "400-799", "400-799": "400-799", ">=800": ">=800"}'
    exp, m = make(tmp_path, [{"beds": "B1"}], columns={"beds_class": WAVE_BEDS % harm})
    with pytest.raises(MappingError) as ei:
        import_wave(exp, m)
    assert len(ei.value.problems) == 2
    s1 = one(ei, value="<300", rule="straddles the canonical classes ['<200', '200-399']")
    one(ei, value="400-799", rule="'300-399' (300-399) lies within canonical class '200-399'")
    assert s1.row == 5 and s1.column == "columns.beds_class.harmonise.<300"
    # declared classes that differ from the codebook's need harmonise at all
    exp, m = make(tmp_path, [{"beds": "B1"}], columns={"beds_class": (WAVE_BEDS % "{}").replace(", harmonise: {}", "")})
    with pytest.raises(MappingError) as ei:
        import_wave(exp, m)
    one(ei, column="columns.beds_class.classes", rule="add harmonise")


# ------------------------------------------------------------------ extra variables

def test_extra_variables_are_typed_validated_and_kept(tmp_path):
    rows = [{"angio": "2", "fte": "3,5", "hyb": "Y", "model": "hub", "note": "shared rota"},
            {"angio": "", "fte": "1", "hyb": "N", "model": "solo", "note": ""}]
    top = ('decimal: ","\ndelimiter: ";"\nextra:\n  n_angio_suites: {column: angio, type: integer}\n  ir_fte: {column: fte, type: number}\n'
           '  hybrid_room: {column: hyb, type: boolean, codes: {"Y": true, "N": false}}\n'
           '  ir_model: {column: model, type: category, levels: [hub, solo, network]}\n'
           '  ir_note: {column: note, type: text}\n')
    exp, m = make(tmp_path, rows, top=top, extra_header=("angio", "fte", "hyb", "model", "note"), delimiter=";")
    res = import_wave(exp, m)
    t = res.table
    assert list(t.columns[-5:]) == ["n_angio_suites", "ir_fte", "hybrid_room", "ir_model", "ir_note"]
    assert str(t["n_angio_suites"].dtype) == "Int64" and t["n_angio_suites"].isna().tolist() == [False, True]
    assert t["ir_fte"].tolist() == [3.5, 1.0] and str(t["ir_fte"].dtype) == "Float64"
    assert t["hybrid_room"].tolist() == [True, False] and list(t["ir_model"].cat.categories) == ["hub", "solo", "network"]
    assert t["ir_note"].tolist()[0] == "shared rota" and res.extras["ir_model"]["levels"] == ["hub", "solo", "network"]
    assert actions(res.report, "unmapped").empty
    # a bad value of an extra names its export column, row and value
    rows[1].update(angio="two", model="alone")
    exp, m = make(tmp_path, rows, top=top, extra_header=("angio", "fte", "hyb", "model", "note"), delimiter=";")
    with pytest.raises(SchemaError) as ei:
        import_wave(exp, m)
    one(ei, row=3, column="angio (n_angio_suites)", value="two", rule="whole number")
    one(ei, row=3, column="model (ir_model)", value="alone", rule="unknown category")


def test_extra_with_a_canonical_name_or_without_levels_is_refused(tmp_path):
    top = "extra:\n  n_ir: {column: angio, type: integer}\n  ir_model: {column: model, type: category}\n"
    exp, m = make(tmp_path, [{}], top=top)
    with pytest.raises(MappingError) as ei:
        load_mapping(m)
    assert one(ei, column="extra.n_ir", rule="canonical name").row == 4
    assert one(ei, column="extra.ir_model", rule="needs levels").row == 5


# ------------------------------------------------------------------ duplicates

def test_duplicates_keep_the_last_complete_submission(tmp_path):
    rows = [  # key "h1": complete, then complete (kept), then incomplete; "h2": two incomplete; "h3" alone
        {"id": "h1", "when": "2025-05-01 10:00", "h24": "N"},
        {"id": "h2", "when": "2025-05-01 11:00", "h24": ""},
        {"id": "h1", "when": "2025-05-02 10:00", "h24": "Y"},
        {"id": "h3", "when": "2025-05-02 12:00"},
        {"id": "h1", "when": "2025-05-03 10:00", "h24": ""},
        {"id": "h2", "when": "2025-05-01 09:00", "h24": "", "chair": "IR_mostly"},
    ]
    top = "deduplicate: {key: id, rule: keep_last_complete, order_by: {column: when}}\n"
    exp, m = make(tmp_path, rows, top=top, extra_header=("when",))
    res = import_wave(exp, m)
    t = res.table
    assert t["respondent_id"].tolist() == ["h2", "h1", "h3"]
    assert t["cover_24_7"].tolist()[1] is True and t["chair_profile"].astype(str).tolist()[0] == "DR"
    d = actions(res.report, "dropped_duplicate")
    assert d["row"].tolist() == [2, 6, 7] and (d["column"] == "id").all()
    assert d.loc[0, "reason"].startswith("duplicate of row 4 (id=h1); kept row 4")
    assert "incomplete" in d.loc[1, "reason"] and "no duplicate is complete" in d.loc[2, "reason"]
    # h2: neither complete; row 3 (11:00) was submitted after row 7 (09:00) although earlier in the file
    assert "kept row 3" in d.loc[2, "reason"]


def test_duplicate_order_needs_readable_times(tmp_path):
    rows = [{"id": "h1", "when": "01.05.2025"}, {"id": "h1", "when": "yesterday"}]
    top = 'deduplicate: {key: [id], rule: keep_last_complete, order_by: {column: when, format: "%d.%m.%Y"}}\n'
    exp, m = make(tmp_path, rows, top=top, extra_header=("when",))
    with pytest.raises(MappingError) as ei:
        import_wave(exp, m)
    one(ei, row=3, column="when", value="yesterday", rule="not a time of format '%d.%m.%Y'")


# ------------------------------------------------------------------ NO / yes and case

def test_no_and_yes_stay_codes_and_case_insensitive_codes(tmp_path):
    rows = [{"country": "Norway", "teach": "yes"}, {"country": "Norway", "teach": "NO"},
            {"country": "Germany", "teach": "Yes"}, {"country": "Germany", "teach": "no"}]
    cols = {"country": "{column: country, codes: {Norway: NO, Germany: DE}}",
            "teaching": "{column: teach, codes: {yes: true, no: false}, case_insensitive: true}"}
    exp, m = make(tmp_path, rows, columns=cols)
    t = import_wave(exp, m).table
    assert t["country"].tolist() == ["NO", "NO", "DE", "DE"]  # NO is Norway, not False
    assert t["teaching"].tolist() == [True, False, True, False]
    cols["teaching"] = "{column: teach, codes: {yes: true, no: false}}"  # case-sensitive: NO and Yes are errors
    exp, m = make(tmp_path, rows, columns=cols)
    with pytest.raises(MappingError) as ei:
        import_wave(exp, m)
    assert {(p.row, p.value) for p in ei.value.problems} == {(3, "NO"), (4, "Yes")}


def test_boolean_and_number_keys_where_a_code_is_expected_are_errors_with_lines(tmp_path):
    cols = {"teaching": "{column: teach, codes: {true: true, 0: false}}",
            "beds_class": "{column: beds, codes: {Yes: x, 1.5: y}}"}
    exp, m = make(tmp_path, [{}], columns=cols)
    with pytest.raises(MappingError) as ei:
        load_mapping(m)
    probs = [p for p in ei.value.problems if "must be text" in p.rule]
    assert sorted((p.row, p.value) for p in probs) == [(5, "1.5"), (6, "0"), (6, "true")]
    assert all(p.column in ("columns.teaching.codes", "columns.beds_class.codes") for p in probs)


def test_case_insensitive_codes_that_collide_are_errors(tmp_path):
    exp, m = make(tmp_path, [{}], top="case_insensitive: true\n",
                  columns={"teaching": '{column: teach, codes: {"Y": true, "y": false}}'})
    with pytest.raises(MappingError) as ei:
        load_mapping(m)
    one(ei, rule="differ only in case", row=7)


# ------------------------------------------------------------------ country names

def test_country_names_in_three_languages_and_iso_codes(tmp_path):
    names = ["Czech Republic", "Tschechien", "Česká republika", "Poland", "Polen", "Polska", "Portugal",
             "Deutschland", "Österreich", "España", "cz", "PRT", "Turkey"]
    cols = {"country": "{column: country, names: auto, codes: {Turkey: TR, Polen: DE}}"}  # explicit codes win
    exp, m = make(tmp_path, [{"country": n} for n in names], columns=cols)
    res = import_wave(exp, m)
    assert res.table["country"].tolist() == ["CZ", "CZ", "CZ", "PL", "DE", "PL", "PT", "DE", "AT", "ES", "CZ", "PT", "TR"]
    r = actions(res.report, "country_resolved")
    # every resolution is reported (not the explicit codes, not "Portugal" which is... a name, so yes)
    assert r["value"].tolist() == ["Czech Republic", "Tschechien", "Česká republika", "Poland", "Polska", "Portugal",
                                   "Deutschland", "Österreich", "España", "cz", "PRT"]
    assert r["row"].tolist() == [2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13]
    assert r.loc[1, "reason"] == "'Tschechien' -> CZ (name (de); pycountry)"


def test_ambiguous_and_unknown_country_names_are_errors(tmp_path):
    exp, m = make(tmp_path, [{"country": "Sámoa"}, {"country": "Atlantis"}, {"country": "Germny"}, {"country": "DE"}],
                  columns={"country": "{column: country, names: auto}"})
    with pytest.raises(MappingError) as ei:
        import_wave(exp, m)
    assert "['AS', 'WS']" in one(ei, row=2, column="country", value="Sámoa", rule="ambiguous").rule
    one(ei, row=3, column="country", value="Atlantis", rule="unknown country")
    assert "did you mean 'germany'" in one(ei, row=4, value="Germny").rule


# ------------------------------------------------------------------ malformed mappings

def test_malformed_mapping_lists_every_problem_with_its_line(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("wave: t\n"            # 1
                 "source: spss\n"       # 2
                 "header_row: 0\n"      # 3
                 "respondent_id: {column: id}\n"  # 4
                 "deduplicate: {key: id, rule: keep_first}\n"  # 5
                 "columns:\n"           # 6
                 "  country: {column: c, nmaes: auto}\n"  # 7
                 "  beds_class: {column: b, bins: {edges: [0, 200], closed: up}}\n"  # 8
                 "  teaching: {column: t, harmonise: {a: b}}\n",  # 9
                 encoding="utf-8")
    with pytest.raises(MappingError) as ei:
        load_mapping(m)
    got = {(p.row, p.column) for p in ei.value.problems}
    assert got == {(2, "source"), (3, "header_row"), (5, "deduplicate.rule"), (7, "columns.country.nmaes"),
                   (8, "columns.beds_class.bins"), (9, "columns.teaching.harmonise")}, [str(p) for p in ei.value.problems]
    assert "unknown field" in one(ei, column="columns.country.nmaes").rule
    assert "keep_last_complete" in one(ei, column="deduplicate.rule").rule


def test_yaml_traps_are_errors_of_the_mapping(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("wave: t\nwave: u\nrespondent_id: {column: id}\ncolumns: {}\n", encoding="utf-8")
    with pytest.raises(MappingError) as ei:
        load_mapping(m)
    one(ei, row=2, value="wave", rule="duplicate key")
    m.write_text("wave: t\nrespondent_id: &a {column: id}\ncolumns: {}\n", encoding="utf-8")
    with pytest.raises(MappingError) as ei:
        load_mapping(m)
    one(ei, row=2, rule="anchors")


# ------------------------------------------------------------------ the three example exports

def _examples():
    spec = importlib.util.spec_from_file_location("make_examples", EX / "make_examples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


@pytest.fixture(scope="module")
def imported():
    return {s: import_wave(EX / s / f, EX / s / "mapping.yaml") for s, f in SOURCES.items()}


def test_three_exports_of_one_wave_import_to_the_same_table(imported):
    truth, subs = _examples().simulate()
    t = {s: r.table for s, r in imported.items()}
    pd.testing.assert_frame_equal(t["limesurvey"], t["qualtrics"])
    pd.testing.assert_frame_equal(t["limesurvey"], t["surveymonkey"])
    pd.testing.assert_frame_equal(t["qualtrics"], truth.reset_index(drop=True))  # = the simulation truth
    tb = t["surveymonkey"]
    assert len(tb) == 230 and tb["country"].nunique() == 20 and {"PL", "CZ", "PT"} <= set(tb["country"])
    assert list(tb.columns[-2:]) == ["n_angio_suites", "ir_fte"]
    dups = subs.attrs["duplicates"]
    for s, r in imported.items():
        d = actions(r.report, "dropped_duplicate")
        assert sorted(d["value"]) == sorted(dups), s
        h = actions(r.report, "harmonised")
        assert h["value"].tolist() == ["none", "1-100", "101-200", "201-500", "501-1000", ">1000"], s
        assert r.harmonised["procedure_volume_class"]["1-100"] == "1-200"
    # free bed numbers in two exports, classes in the third
    assert len(actions(imported["limesurvey"].report, "binned")) == 230
    assert actions(imported["qualtrics"].report, "binned").empty
    # German, English and local names: all but the explicit "Turkey" code are resolutions
    n_tr = int((tb["country"] == "TR").sum())
    assert len(actions(imported["qualtrics"].report, "country_resolved")) == 230 - n_tr
    lang = {s: set(actions(r.report, "country_resolved")["value"]) for s, r in imported.items()}
    assert {"Tschechien", "Polen", "Österreich"} <= lang["limesurvey"]
    assert {"Czech Republic", "Poland"} <= lang["qualtrics"]
    assert {"Česko", "Česká republika", "Polska", "Norge", "Éire"} <= lang["surveymonkey"]
    assert len(actions(imported["limesurvey"].report, "excluded")) == 2
    assert len(actions(imported["qualtrics"].report, "excluded")) == 1


def test_example_exports_have_the_tools_layouts():
    raw = (EX / "limesurvey" / "export.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid;token;") and b"\r\n" in raw and b";3,5;" in raw
    q = (EX / "qualtrics" / "export.csv").read_text(encoding="utf-8-sig").splitlines()
    assert q[2].startswith('"{""ImportId"":""startDate""')
    import openpyxl

    ws = openpyxl.load_workbook(EX / "surveymonkey" / "export.xlsx").active
    merged = [str(r) for r in ws.merged_cells.ranges]
    assert len(merged) == 1 and ws.cell(2, 14).value == "Radiologists"
    for s in [*SOURCES, "."]:
        assert "SIMULATED" in (EX / s / "README.md").read_text().splitlines()[0]


def test_committed_examples_are_reproducible(tmp_path):
    assert _examples().main(["--out", str(tmp_path)]) == 0
    files = [f"{s}/{n}" for s, f in SOURCES.items() for n in (f, "mapping.yaml", "README.md")]
    for name in files + ["frame_2025.csv", "truth.csv", "README.md"]:
        assert (tmp_path / name).read_bytes() == (EX / name).read_bytes(), name


def test_example_frame_is_a_user_frame_of_the_wave(imported):
    from irmodels.nonresponse.frame_file import load_frame

    t = imported["qualtrics"].table
    f = load_frame(EX / "frame_2025.csv", required_countries=set(t["country"]))
    assert f["N"].sum() == 1440 and f["country"].nunique() == 20 and {"PL", "CZ", "PT"} <= set(f["country"])
    resp = t.groupby(["country", "beds_class"], observed=True).size()
    cells = f.set_index(["country", "beds_class"])["N"]
    assert all(cells[k] > n for k, n in resp.items())  # never fewer frame units than respondents


def test_bins_into_the_wave_classes_then_harmonised(tmp_path):
    col = ('{column: beds, bins: {edges: [0, 300, 400, 800, null], labels: ["<300", "300-399", "400-799", ">=800"], '
           'closed: left}, classes: [{code: "<300", lower: 0, upper: 299}, {code: "300-399", lower: 300, upper: 399}, '
           '{code: "400-799", lower: 400, upper: 799}, {code: ">=800", lower: 800, upper: null}], harmonise: '
           '{"<300": {to: "<200", straddling: "small hospitals dominate this class"}, "300-399": "200-399", '
           '"400-799": "400-799", ">=800": ">=800"}}')
    exp, m = make(tmp_path, [{"beds": b} for b in ["120", "299", "300", "950"]], columns={"beds_class": col})
    res = import_wave(exp, m)
    assert res.table["beds_class"].astype(str).tolist() == ["<200", "<200", "200-399", ">=800"]
    assert actions(res.report, "binned")["reason"].tolist()[1] == "299 -> '<300' (beds_class bins)"
    assert "(2 responses); straddles" in actions(res.report, "harmonised").loc[0, "reason"]


def test_written_table_with_extras_reads_back_typed(tmp_path, imported):
    from irmodels.data.importing import read_table
    from irmodels.core.io import write_table_atomic

    res = imported["limesurvey"]
    p = write_table_atomic(res.table, tmp_path / "t.csv")
    pd.testing.assert_frame_equal(read_table(p, extras=res.extras), res.table)


def test_validate_types_declared_extras_and_refuses_codebook_names():
    from irmodels.data.schema import validate

    row = dict(respondent_id="a", wave="w", country="DE", beds_class=">=800", teaching=True, chair_profile="DR",
               cover_24_7=None, female_ir_share_class="0")
    df = pd.DataFrame([row, dict(row, respondent_id="b")]).assign(delta=["-3", "4"], x=["1.5", "abc"])
    types = {"delta": {"type": "integer"}, "x": {"type": "number"}}
    with pytest.raises(SchemaError) as ei:
        validate(df, extras=types)
    assert [(p.row, p.column, p.value) for p in ei.value.problems] == [(1, "x", "abc")]
    t = validate(df.assign(x=["1.5", ""]), extras=types)
    assert t["delta"].tolist() == [-3, 4] and t["x"].isna().tolist() == [False, True]  # extras are not counts
    with pytest.raises(SchemaError, match="must not have a codebook name"):
        validate(df.drop(columns=["delta", "x"]), extras={"teaching": {"type": "boolean"}})
