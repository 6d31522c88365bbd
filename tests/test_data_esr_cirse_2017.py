"""Integrity of the hand-transcribed 2017 ESR/CIRSE statements table.

Compares ``data/raw/esr_cirse_2017/statements.csv`` with the paper text stored next to
it (``paper.txt``, Insights into Imaging 2019, DOI 10.1186/s13244-019-0698-6) and with
the codebook (``irmodels/data/codebook.yaml``). The reference numbers below are the printed
numbers of the paper (Results section and Table 1); nothing here uses irmodels code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
RAW = REPO / "data" / "raw" / "esr_cirse_2017"
CODEBOOK = REPO / "irmodels" / "data" / "codebook.yaml"

COLUMNS = [
    "statement_id", "section", "variable", "category", "condition", "kind", "count",
    "count_source", "denominator", "percent_printed", "value", "use", "restates", "quote", "note",
]
SECTIONS = {
    "ABS": "Abstract", "KP": "Key points", "MM": "Materials and methods", "RES": "Results",
    "T1": "Table 1", "R1": "Results / First group of questions",
    "R2": "Results / Second group of questions", "R3": "Results / Third group of questions",
    "R4": "Results / Fourth group of questions", "R5": "Results / Fifth group of questions",
    "DIS": "Discussion", "AP": "Action points",
}
# Pseudo-variables: documented in data/raw/esr_cirse_2017/README.md.
PSEUDO_VARIABLES = {
    "invited", "respondents", "response_rate", "n_questions", "n_question_groups", "fieldwork",
    "member_esr_cirse", "top8_countries", "chair_ir_involved", "procedure_volume_ge201",
    "neuro_by_radiology", "minimal_ir_with_trainees", "external",
}
KINDS = {"count", "value", "percent"}
USES = {"margin", "restatement", "constraint", "derived", "context"}
COUNT_SOURCES = {"stated", "derived", ""}
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _ws(text: str) -> str:
    """Collapse every run of whitespace (incl. thin and no-break spaces) to one space."""
    return re.sub(r"\s+", " ", text).strip()


def _contains_number(text: str, number: str) -> bool:
    """True when ``number`` occurs in ``text`` not glued to other digits."""
    return re.search(rf"(?<![\d.]){re.escape(number)}(?![\d]|\.\d)", text) is not None


@pytest.fixture(scope="module")
def st() -> pd.DataFrame:
    return pd.read_csv(RAW / "statements.csv", dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def paper() -> str:
    return _ws((RAW / "paper.txt").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def codebook() -> dict:
    with CODEBOOK.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)["variables"]


def test_columns_exact(st):
    assert list(st.columns) == COLUMNS


def test_row_count(st):
    assert len(st) >= 100


def test_ids_unique_wellformed_and_in_reading_order(st):
    assert st["statement_id"].is_unique
    bad = [s for s in st["statement_id"] if not re.fullmatch(r"(ABS|KP|MM|RES|T1|R[1-5]|DIS|AP)-\d{2}", s)]
    assert bad == []
    prefix = st["statement_id"].str.split("-").str[0]
    numbers = st["statement_id"].str.split("-").str[1].astype(int)
    for sec, nn in numbers.groupby(prefix):
        assert list(nn) == list(range(1, len(nn) + 1)), f"{sec}: ids not consecutive 01..NN"


def test_sections_match_id_prefix(st):
    for sid, section in zip(st["statement_id"], st["section"]):
        label = SECTIONS[sid.split("-")[0]]
        assert section.startswith(label), (sid, section)


def test_controlled_vocabularies(st):
    assert set(st["kind"]) <= KINDS
    assert set(st["use"]) <= USES
    assert set(st["count_source"]) <= COUNT_SOURCES


def test_numeric_fields_are_numbers(st):
    for col in ["count", "denominator"]:
        bad = st.loc[(st[col] != "") & ~st[col].str.fullmatch(r"\d+"), ["statement_id", col]]
        assert bad.empty, bad
    for col in ["percent_printed", "value"]:
        bad = st.loc[(st[col] != "") & ~st[col].str.fullmatch(NUMBER), ["statement_id", col]]
        assert bad.empty, bad


def test_kind_consistency(st):
    for _, row in st.iterrows():
        sid = row["statement_id"]
        assert (row["count"] == "") == (row["count_source"] == ""), sid
        if row["kind"] == "value":
            assert row["value"] != "", sid
        else:
            assert row["value"] == "", sid
        if row["kind"] == "percent":
            assert row["percent_printed"] != "", sid
        if row["count"] and row["denominator"]:
            assert int(row["count"]) <= int(row["denominator"]), sid


def test_quotes_are_verbatim(st, paper):
    missing = [sid for sid, q in zip(st["statement_id"], st["quote"]) if not q or _ws(q) not in paper]
    assert missing == []


def test_printed_numbers_occur_in_quote_or_note(st):
    problems = []
    for _, row in st.iterrows():
        quote, note = _ws(row["quote"]), row["note"]
        if row["count_source"] == "stated" and not (
            _contains_number(quote, row["count"]) or _contains_number(note, row["count"])
        ):
            problems.append((row["statement_id"], "count", row["count"]))
        if row["percent_printed"] and not _contains_number(quote, row["percent_printed"] + "%"):
            problems.append((row["statement_id"], "percent_printed", row["percent_printed"]))
        if row["value"] and not (
            _contains_number(quote, row["value"]) or _contains_number(note, row["value"])
        ):
            problems.append((row["statement_id"], "value", row["value"]))
    assert problems == []


def test_stated_denominators_are_printed_nearby(st, paper):
    # A stated denominator must appear in the quote, or within 250 characters of it
    # (as digits, or as a number word such as "the two ... One of them").
    words = {"2": "two", "3": "three", "4": "four"}
    problems = []
    for _, row in st.iterrows():
        if not row["denominator"]:
            continue
        q = _ws(row["quote"])
        start = paper.find(q)
        window = paper[max(0, start - 250): start + len(q) + 250]
        word = words.get(row["denominator"])
        if not _contains_number(window, row["denominator"]) and not (
            word and re.search(rf"\b{word}\b", window, flags=re.IGNORECASE)
        ):
            problems.append(row["statement_id"])
    assert problems == []


def test_variables_and_categories_known(st, codebook):
    problems = []
    for _, row in st.iterrows():
        var, cat = row["variable"], row["category"]
        if var in PSEUDO_VARIABLES:
            continue
        if cat == "" and row["use"] == "context":
            # a context statement about a variable as a whole (e.g. "about half")
            if var not in codebook:
                problems.append((row["statement_id"], var))
            continue
        if var not in codebook:
            problems.append((row["statement_id"], var))
            continue
        spec = codebook[var]
        if spec["type"] in ("category", "ordered"):
            codes = {str(c["code"]) for c in spec["categories"]}
            if cat not in codes:
                problems.append((row["statement_id"], var, cat))
        elif spec["type"] == "bool" and cat not in ("true", "false"):
            problems.append((row["statement_id"], var, cat))
        elif var == "country" and not re.fullmatch(r"[A-Z]{2}", cat):
            problems.append((row["statement_id"], var, cat))
    assert problems == []


def test_pseudo_variables_documented(st):
    readme = (RAW / "README.md").read_text(encoding="utf-8")
    used = set(st["variable"]) & PSEUDO_VARIABLES
    assert used == PSEUDO_VARIABLES, "unused pseudo-variable in the test list"
    undocumented = [v for v in used if f"`{v}`" not in readme]
    assert undocumented == []


def test_condition_syntax(st, codebook):
    for sid, cond in zip(st["statement_id"], st["condition"]):
        if cond:
            m = re.fullmatch(r'(\w+) (==|>|>=|<|<=) ("[^"]+"|\d+)', cond)
            assert m, (sid, cond)
            assert m.group(1) in codebook or m.group(1) in PSEUDO_VARIABLES, (sid, cond)


def test_restates_point_to_existing_ids(st):
    ids = set(st["statement_id"])
    for _, row in st.iterrows():
        refs = [r for r in row["restates"].split(";") if r]
        assert all(r in ids and r != row["statement_id"] for r in refs), row["statement_id"]
        if row["use"] in ("restatement", "derived") or row["count_source"] == "derived":
            assert refs, row["statement_id"]


def test_restatements_point_to_the_margin_of_the_same_quantity(st):
    by_id = st.set_index("statement_id")
    for _, row in st[st["use"] == "restatement"].iterrows():
        target = by_id.loc[row["restates"]]
        assert target["use"] == "margin", row["statement_id"]
        assert (target["variable"], target["category"], target["condition"]) == (
            row["variable"], row["category"], row["condition"]
        ), row["statement_id"]


def test_one_margin_per_variable_category_condition(st):
    margins = st[st["use"] == "margin"]
    dup = margins[margins.duplicated(["variable", "category", "condition"], keep=False)]
    assert dup.empty, dup[["statement_id", "variable", "category"]]


def test_constraints_have_a_condition_or_are_cross_statements(st):
    cons = st[st["use"] == "constraint"]
    assert (cons["condition"].ne("") | cons["variable"].isin(PSEUDO_VARIABLES)).all()


def test_table1_counts(st):
    t1 = st[st["statement_id"].str.startswith("T1-")]
    assert len(t1) == 24
    assert t1["category"].is_unique
    assert (t1["variable"] == "country").all() and (t1["use"] == "margin").all()
    assert t1["count"].astype(int).sum() == 98
    assert dict(zip(t1["category"], t1["count"].astype(int)))["GB"] == 4
    assert dict(zip(t1["category"], t1["count"].astype(int)))["DE"] == 15


def _margin(st, variable, category, condition=""):
    rows = st[(st["use"] == "margin") & (st["variable"] == variable)
              & (st["category"] == category) & (st["condition"] == condition)]
    assert len(rows) == 1, (variable, category)
    return rows.iloc[0]


@pytest.mark.parametrize(
    ("variable", "category", "count", "denominator"),
    [
        ("beds_class", ">=800", 51, ""), ("beds_class", "400-799", 28, ""),
        ("beds_class", "200-399", 15, ""), ("beds_class", "<200", 4, ""),
        ("chair_profile", "DR", 26, ""), ("chair_profile", "DR_some_IR", 31, ""),
        ("chair_profile", "DR_IR_equal", 26, ""), ("chair_profile", "IR_mostly", 15, ""),
        ("cover_24_7", "true", 60, "97"),
        ("female_ir_share_class", "0", 25, ""), ("female_ir_share_class", "1-25", 47, ""),
        ("member_cirse", "true", 49, ""), ("member_esr_cirse", "cirse_only", 9, ""),
        ("outpatient_service", "true", 57, ""), ("procedure_volume_class", "0", 2, ""),
        ("ir_share_class", "0", 3, ""), ("neuro_provider", "neuroradiologist", 45, "72"),
    ],
)
def test_known_margins(st, variable, category, count, denominator):
    row = _margin(st, variable, category)
    assert int(row["count"]) == count
    assert row["denominator"] == denominator


def test_known_printed_percentages_kept_as_text(st):
    # Trailing zeros and the paper's own (inconsistent) decimals must survive transcription.
    assert _margin(st, "beds_class", ">=800")["percent_printed"] == "52.0"
    assert _margin(st, "ir_unit", "true")["percent_printed"] == "65.30"
    assert _margin(st, "admission_under_ir", "mostly_other")["percent_printed"] == "44.3"
    assert _margin(st, "teaching", "true")["percent_printed"] == "94.9"
    dis_247 = st[(st["variable"] == "cover_24_7") & st["statement_id"].str.startswith("DIS")]
    assert list(dis_247["percent_printed"]) == ["60.8"]


def test_known_contradictions_are_transcribed_not_fixed(st):
    outp = st[st["variable"] == "outpatient_service"].set_index("use")["count"]
    assert set(st.loc[st["variable"] == "outpatient_service", "count"]) == {"57", "30"}
    assert outp["margin"] == "57"
    ir0 = st[(st["variable"] == "ir_share_class") & (st["category"] == "0") & (st["condition"] == "")]
    assert sorted(ir0["count"]) == ["2", "3"]


# Ids are cited by downstream files (audit resolutions, analyses): they must never be
# renumbered. A sample of anchors across all sections.
PINNED_IDS = {
    "ABS-03": ("response_rate", ""), "MM-03": ("invited", ""), "RES-01": ("respondents", ""),
    "R1-01": ("top8_countries", ""), "T1-01": ("country", "DE"), "T1-09": ("country", "GB"),
    "T1-24": ("country", "RU"), "R1-02": ("beds_class", ">=800"), "R1-06": ("teaching", "true"),
    "R2-06": ("member_cirse", "true"), "R2-09": ("member_esr_cirse", "cirse_only"),
    "R2-10": ("chair_profile", "IR_mostly"), "R3-05": ("n_residents", "0"),
    "R3-06": ("teaching", "false"), "R3-13": ("ir_share_class", "0"),
    "R3-14": ("procedure_volume_class", "0"), "R3-15": ("ir_share_class", "1-25"),
    "R3-22": ("biopsy_share_class", ">75"), "R3-27": ("female_ir_share_class", "0"),
    "R3-28": ("female_ir_share_class", "1-25"), "R4-04": ("procedure_volume_class", "0"),
    "R4-05": ("ir_share_class", "0"), "R4-07": ("outpatient_service", "true"),
    "R4-14": ("admission_under_ir", "mostly_other"), "R4-16": ("cover_24_7", "true"),
    "R5-02": ("neuro_provider", "neuroradiologist"), "R5-07": ("cardiac_provider", "cardiology_or_surgery"),
    "DIS-02": ("chair_ir_involved", ""), "DIS-03": ("ir_share_class", "0"), "DIS-04": ("teaching", "true"),
    "DIS-07": ("procedure_volume_ge201", ""), "DIS-10": ("outpatient_service", "true"),
    "DIS-16": ("cover_24_7", "true"), "DIS-19": ("neuro_by_radiology", ""),
    "AP-02": ("cover_24_7", "true"),
}


def test_pinned_ids_are_stable(st):
    by_id = st.set_index("statement_id")
    for sid, (variable, category) in PINNED_IDS.items():
        assert (by_id.loc[sid, "variable"], by_id.loc[sid, "category"]) == (variable, category), sid


def test_dis04_is_one_of_the_two_without_procedures(st):
    """'One of them has teaching duties': 'them' are the two small hospitals of the preceding sentence
    without IR that, per the Fourth group, perform no image-guided interventions."""
    by_id = st.set_index("statement_id")
    row = by_id.loc["DIS-04"]
    assert row["condition"] == 'procedure_volume_class == "0"'
    assert (row["count"], row["denominator"]) == ("1", "2")
    # the denominator is the number of departments without procedures (R4-04: "Two departments")
    assert by_id.loc["R4-04", ["variable", "category", "count"]].tolist() == ["procedure_volume_class", "0", "2"]
    assert row["denominator"] == by_id.loc["R4-04", "count"] == by_id.loc["DIS-03", "count"]


def test_cirse_only_denominator_notes_name_the_readings(st):
    """R2-10/R2-11 keep the printed 'out of 9'; their notes say what it is under each reading of D01."""
    by_id = st.set_index("statement_id")
    for sid in ("R2-10", "R2-11"):
        row = by_id.loc[sid]
        assert row["denominator"] == "9" and row["condition"] == 'member_esr_cirse == "cirse_only"'
        for words in ("D01", "cirse_only_10", "cirse_only_9", "both_40", "10 under the adopted reading"):
            assert words in row["note"], (sid, words)

