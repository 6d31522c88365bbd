"""Write three raw exports of ONE SIMULATED 2025 wave, their mappings, and a user frame.

Everything is SIMULATED by :func:`irmodels.studies.simulate.simulate_wave` (n = 230, seed fixed, own
country weights: 20 countries, among them PL, CZ, PT, NO and BE which are not among 2017's 24):
no real department is described. Produces, under ``data/raw/examples/`` (or ``--out DIR``):

* ``limesurvey/export.csv``  - LimeSurvey export re-saved by a German Excel: ``;``, UTF-8 BOM,
  CRLF, decimal commas, German question texts in row 2, German country names, free bed
  numbers, dates as ``dd.mm.yyyy hh:mm``, ``yes``/``NO`` typed over some Y/N codes, two
  incomplete responses;
* ``qualtrics/export.csv``   - Qualtrics CSV with its three header rows (names, question texts,
  ImportId JSON), English country names, bed classes as choice text, one preview response;
* ``surveymonkey/export.xlsx`` - SurveyMonkey XLSX with two header rows (question texts, a
  merged cell over the five answer columns of the staff-count question; sub-answers),
  local-language country names (Deutschland, Polska, Česko, Norge, ...), free bed numbers;
* in each folder ``mapping.yaml`` and ``README.md`` (SIMULATED banner);
* ``frame_2025.csv`` - a user frame (country x beds_class, column ``N``) whose total is 1440;
* ``truth.csv`` - the simulated table every export must import to.

All three exports carry the same 236 submissions in the same order (230 departments, four of
them submitted twice, plus the tool's own non-responses), use the 2025 questionnaire's six
procedure-volume classes (harmonised to the codebook's four) and two wave-specific variables
(``n_angio_suites``, ``ir_fte``). Importing any of them gives ``truth.csv`` exactly
(``tests/test_mapping.py``). Run: ``.venv/bin/python data/raw/examples/make_examples.py``.
The output is byte-identical for the same seed.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from irmodels.core.io import write_table_atomic, write_text_atomic
from irmodels.studies.simulate import simulate_wave

N = 230
SEED = 20250601
WAVE = "simulated_2025"
FRAME_TOTAL = 1440
HERE = Path(__file__).resolve().parent

#: SIMULATED country weights of the 2025 wave (expected respondents per country).
COUNTRY_WEIGHTS = {
    "DE": 30, "FR": 20, "IT": 20, "ES": 18, "GB": 16, "PL": 16, "TR": 12, "NL": 10, "AT": 10, "CZ": 10,
    "PT": 10, "CH": 8, "SE": 8, "BE": 8, "NO": 6, "DK": 6, "HR": 6, "RO": 6, "IE": 5, "FI": 5,
}
GERMAN = {"DE": "Deutschland", "FR": "Frankreich", "IT": "Italien", "ES": "Spanien", "GB": "Vereinigtes Königreich",
          "PL": "Polen", "TR": "Türkei", "NL": "Niederlande", "AT": "Österreich", "CZ": "Tschechien", "PT": "Portugal",
          "CH": "Schweiz", "SE": "Schweden", "BE": "Belgien", "NO": "Norwegen", "DK": "Dänemark", "HR": "Kroatien",
          "RO": "Rumänien", "IE": "Irland", "FI": "Finnland"}
ENGLISH = {"DE": "Germany", "FR": "France", "IT": "Italy", "ES": "Spain", "GB": "United Kingdom", "PL": "Poland",
           "TR": "Turkey", "NL": "Netherlands", "AT": "Austria", "CZ": "Czech Republic", "PT": "Portugal",
           "CH": "Switzerland", "SE": "Sweden", "BE": "Belgium", "NO": "Norway", "DK": "Denmark", "HR": "Croatia",
           "RO": "Romania", "IE": "Ireland", "FI": "Finland"}
LOCAL = {"DE": "Deutschland", "FR": "France", "IT": "Italia", "ES": "España", "GB": "United Kingdom", "PL": "Polska",
         "TR": "Türkiye", "NL": "Nederland", "AT": "Österreich", "CZ": "Česko", "PT": "Portugal", "CH": "Schweiz",
         "SE": "Sverige", "BE": "België", "NO": "Norge", "DK": "Danmark", "HR": "Hrvatska", "RO": "România",
         "IE": "Éire", "FI": "Suomi"}

BEDS_RANGE = {"<200": (40, 199), "200-399": (200, 399), "400-799": (400, 799), ">=800": (800, 1800)}
BEDS_TEXT = {"<200": "Fewer than 200 beds", "200-399": "200-399 beds", "400-799": "400-799 beds",
             ">=800": "800 beds or more"}
CHAIR_TEXT = {"DR": "Diagnostic radiologist", "DR_some_IR": "Diagnostic radiologist with some IR duties",
              "DR_IR_equal": "About half diagnostic, half interventional",
              "IR_mostly": "Mostly or only interventional radiologist"}
CHAIR_CODE = {"DR": "A1", "DR_some_IR": "A2", "DR_IR_equal": "A3", "IR_mostly": "A4"}
#: the 2025 questionnaire's procedure-volume classes, nested in the codebook's four
VOLUME_2025 = ["none", "1-100", "101-200", "201-500", "501-1000", ">1000"]
VOLUME_SPLIT = {"0": ["none"], "1-200": ["1-100", "101-200"], "201-500": ["201-500"], ">500": ["501-1000", ">1000"]}
VOLUME_TEXT = {"none": "None", "1-100": "1 to 100", "101-200": "101 to 200", "201-500": "201 to 500",
               "501-1000": "501 to 1000", ">1000": "More than 1000"}


def simulate() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The SIMULATED truth (validated table of the wave) and one row per submission.

    Returns
    -------
    truth : DataFrame
        The table every export imports to (canonical columns + ``n_angio_suites``, ``ir_fte``).
    subs : DataFrame
        Submissions in file order: the truth's answers plus ``beds``, ``volume_2025``,
        ``submitted`` (a Timestamp), ``kind`` (``ok``, ``dup_changed``, ``dup_incomplete``,
        ``incomplete_early``) and ``blank`` (columns left empty in that submission).
    """
    from irmodels.data.schema import validate

    t = simulate_wave(N, SEED, params={"country_weights": COUNTRY_WEIGHTS}).reset_index(drop=True)
    assert set(t["country"]) == set(COUNTRY_WEIGHTS), "every country of the wave has respondents"
    rng = np.random.default_rng(SEED + 1)
    t["respondent_id"] = [f"D25-{i:03d}" for i in range(1, N + 1)]
    t["wave"] = WAVE
    beds = [int(rng.integers(*BEDS_RANGE[b])) if b != ">=800" else int(rng.integers(800, 1801))
            for b in t["beds_class"].astype(str)]
    vol = [str(rng.choice(VOLUME_SPLIT[v])) for v in t["procedure_volume_class"].astype(str)]
    t["n_angio_suites"] = pd.array([int(x) for x in rng.poisson(1 + t["n_ir"].to_numpy() / 3)], dtype="Int64")
    t["ir_fte"] = pd.array([round(float(n) * float(rng.uniform(0.5, 1.0)) * 2) / 2 for n in t["n_ir"]], dtype="Float64")
    truth = validate(t, source="make_examples", extras={"n_angio_suites": {"type": "integer"},
                                                        "ir_fte": {"type": "number"}})
    subs = truth.copy()
    subs["beds"] = beds
    subs["volume_2025"] = vol
    base = pd.Timestamp("2025-05-05 08:00:00")
    subs["submitted"] = [base + pd.Timedelta(minutes=int(m)) for m in np.cumsum(rng.integers(20, 400, size=N))]
    subs["kind"] = "ok"
    subs["blank"] = [()] * N
    complete = subs.index[subs[["cover_24_7", "n_female_ir"]].notna().all(axis=1)].to_numpy()
    a, b, c, d = (int(x) for x in rng.choice(complete, size=4, replace=False))
    extra = []
    # a: an earlier complete submission with other counts, corrected later (later one kept)
    e = subs.loc[a].copy()
    e["n_radiologists"] += 2
    e["submitted"] -= pd.Timedelta(days=3)
    e["kind"] = "dup_changed"
    extra.append(e)
    # b: the kept submission is complete; a later one left the last page empty (dropped)
    e = subs.loc[b].copy()
    e["submitted"] += pd.Timedelta(days=1)
    e["kind"], e["blank"] = "dup_incomplete", ("cover_24_7", "ir_unit", "n_angio_suites", "ir_fte")
    extra.append(e)
    # c: an earlier submission without the staff counts (dropped), then the complete one
    e = subs.loc[c].copy()
    e["submitted"] -= pd.Timedelta(hours=5)
    e["kind"], e["blank"] = "dup_incomplete", ("n_ir", "n_female_ir", "n_female_radiologists")
    extra.append(e)
    # d: submitted twice, identical, an hour apart (the later one is kept)
    e = subs.loc[d].copy()
    e["submitted"] -= pd.Timedelta(hours=1)
    e["kind"] = "dup_changed"
    extra.append(e)
    subs = pd.concat([subs, pd.DataFrame(extra)]).sort_values("submitted", kind="stable").reset_index(drop=True)
    subs.attrs["duplicates"] = [truth.at[i, "respondent_id"] for i in (a, b, c, d)]
    return truth, subs


def _num(v) -> str:
    return "" if v is pd.NA or v is None or (isinstance(v, float) and np.isnan(v)) else str(int(v))


def _dec(v, comma: bool) -> str:
    if v is pd.NA or v is None:
        return ""
    s = f"{float(v):g}"
    return s.replace(".", ",") if comma else s


def _blankify(r: pd.Series, cells: dict[str, str], col_of: dict[str, list[str]]) -> dict[str, str]:
    for var in r["blank"]:
        for c in col_of[var]:
            cells[c] = ""
    return cells


# --------------------------------------------------------------------------- LimeSurvey

LS_HEADER = [
    ("id", "Antwort ID"), ("token", "Zugangsschlüssel"), ("submitdate", "Datum Abgeschickt"),
    ("lastpage", "Letzte Seite"), ("startlanguage", "Start-Sprache"),
    ("Q01country", "In welchem Land liegt Ihr Krankenhaus?"),
    ("Q02beds", "Wie viele Betten hat Ihr Krankenhaus?"),
    ("Q03teach", "Hat Ihr Krankenhaus Lehraufgaben (Ärztinnen und Ärzte in Weiterbildung)?"),
    ("Q04chair", "Welche Beschreibung trifft auf Ihre eigene klinische Arbeit zu?"),
    ("Q05nrad", "Anzahl der Radiologinnen und Radiologen"), ("Q06nres", "Anzahl in Weiterbildung"),
    ("Q07nir", "Anzahl interventioneller Radiologinnen und Radiologen"),
    ("Q08nfrad", "Anzahl Radiologinnen"), ("Q09nfir", "Anzahl interventioneller Radiologinnen"),
    ("Q10volume", "IR-Eingriffe pro Jahr"), ("Q11unit", "Gibt es eine IR-Einheit mit eigener Leitung?"),
    ("Q12h24", "Deckt der IR-Dienst Notfälle rund um die Uhr (24/7) ab?"),
    ("Q13angio", "Anzahl Angiographie-Arbeitsplätze"), ("Q14irfte", "IR-Vollzeitäquivalente"),
    ("Q15comment", "Anmerkungen"),
]
LS_COL = {"cover_24_7": ["Q12h24"], "ir_unit": ["Q11unit"], "n_angio_suites": ["Q13angio"], "ir_fte": ["Q14irfte"],
          "n_ir": ["Q07nir"], "n_female_ir": ["Q09nfir"], "n_female_radiologists": ["Q08nfrad"]}
LS_VOLUME = {v: f"A{i + 1}" for i, v in enumerate(VOLUME_2025)}


def limesurvey(subs: pd.DataFrame, rng: np.random.Generator) -> str:
    yn = {True: "Y", False: "N"}
    rows = []
    for i, r in subs.iterrows():
        cells = {
            "id": str(101 + i), "token": r["respondent_id"], "submitdate": r["submitted"].strftime("%d.%m.%Y %H:%M"),
            "lastpage": "6", "startlanguage": "de", "Q01country": GERMAN[r["country"]], "Q02beds": str(r["beds"]),
            "Q03teach": yn[bool(r["teaching"])], "Q04chair": CHAIR_CODE[r["chair_profile"]],
            "Q05nrad": _num(r["n_radiologists"]), "Q06nres": _num(r["n_residents"]), "Q07nir": _num(r["n_ir"]),
            "Q08nfrad": _num(r["n_female_radiologists"]), "Q09nfir": _num(r["n_female_ir"]),
            "Q10volume": LS_VOLUME[r["volume_2025"]], "Q11unit": yn[bool(r["ir_unit"])],
            "Q12h24": "" if r["cover_24_7"] is pd.NA else yn[bool(r["cover_24_7"])],
            "Q13angio": _num(r["n_angio_suites"]), "Q14irfte": _dec(r["ir_fte"], comma=True), "Q15comment": "",
        }
        rows.append(_blankify(r, cells, LS_COL))
    # answers typed over in Excel: "yes" / "NO" for Y / N (the mapping is case-insensitive)
    for j in rng.choice(len(rows), size=6, replace=False):
        col = ["Q03teach", "Q11unit", "Q12h24"][int(j) % 3]
        if rows[j][col]:
            rows[j][col] = {"Y": "yes", "N": "NO"}[rows[j][col]]
    rows[3]["Q15comment"] = "Zahlen sind Vollzeitäquivalente; 3,5 heißt dreieinhalb Stellen."
    # two responses that were started and never submitted
    for j, at in enumerate((40, 150)):
        t = {c: "" for c, _ in LS_HEADER}
        t.update(id=str(901 + j), lastpage=str(1 + j), startlanguage="de", Q01country="Deutschland", Q02beds="350")
        rows.insert(at, t)
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow([c for c, _ in LS_HEADER])
    w.writerow([t for _, t in LS_HEADER])
    for r in rows:
        w.writerow([r[c] for c, _ in LS_HEADER])
    return "\ufeff" + buf.getvalue()


LS_MAPPING = """\
# SIMULATED example: LimeSurvey export re-saved by a German Excel (see README.md).
description: SIMULATED 2025 wave, LimeSurvey export (German Excel) - not real data.
wave: simulated_2025
source: limesurvey     # row 1 question codes, row 2 question texts, UTF-8 (BOM)
delimiter: ";"         # German Excel writes ; ...
decimal: ","           # ... and decimal commas
respondent_id: {column: token}
exclude:
  - {column: submitdate, missing: true, reason: incomplete response (never submitted)}
deduplicate:
  key: token
  rule: keep_last_complete
  order_by: {column: submitdate, format: "%d.%m.%Y %H:%M"}
case_insensitive: true   # "yes" / "NO" typed over Y / N
ignore: [id, lastpage, startlanguage]
free_text: [Q15comment]
derive_share_classes: true
columns:
  country: {column: Q01country, names: auto}   # German names -> ISO codes (pycountry)
  beds_class: {column: Q02beds, bins: codebook}   # free bed numbers -> codebook classes
  teaching:
    column: Q03teach
    codes: {"Y": true, "N": false, "yes": true, "no": false}   # YAML 1.2: yes / no stay text
  chair_profile:
    column: Q04chair
    codes: {A1: DR, A2: DR_some_IR, A3: DR_IR_equal, A4: IR_mostly}
  n_radiologists: {column: Q05nrad}
  n_residents: {column: Q06nres}
  n_ir: {column: Q07nir}
  n_female_radiologists: {column: Q08nfrad}
  n_female_ir: {column: Q09nfir}
  procedure_volume_class:
    column: Q10volume
    codes: {A1: none, A2: 1-100, A3: 101-200, A4: 201-500, A5: 501-1000, A6: ">1000"}
    classes:   # the 2025 questionnaire's own classes
      - {code: none, lower: 0, upper: 0}
      - {code: 1-100, lower: 1, upper: 100}
      - {code: 101-200, lower: 101, upper: 200}
      - {code: 201-500, lower: 201, upper: 500}
      - {code: 501-1000, lower: 501, upper: 1000}
      - {code: ">1000", lower: 1001, upper: null}
    harmonise: {none: "0", 1-100: 1-200, 101-200: 1-200, 201-500: 201-500, 501-1000: ">500", ">1000": ">500"}
  ir_unit:
    column: Q11unit
    codes: {"Y": true, "N": false, "yes": true, "no": false}
  cover_24_7:
    column: Q12h24
    codes: {"Y": true, "N": false, "yes": true, "no": false}
extra:
  n_angio_suites: {column: Q13angio, type: integer, label: angiography suites}
  ir_fte: {column: Q14irfte, type: number, label: IR full-time equivalents}
"""

# --------------------------------------------------------------------------- Qualtrics

QX_META = [("StartDate", "Start Date", '{"ImportId":"startDate","timeZone":"Europe/Berlin"}'),
           ("EndDate", "End Date", '{"ImportId":"endDate","timeZone":"Europe/Berlin"}'),
           ("Status", "Response Type", '{"ImportId":"status"}'),
           ("Progress", "Progress", '{"ImportId":"progress"}'),
           ("Duration (in seconds)", "Duration (in seconds)", '{"ImportId":"duration"}'),
           ("Finished", "Finished", '{"ImportId":"finished"}'),
           ("RecordedDate", "Recorded Date", '{"ImportId":"recordedDate","timeZone":"Europe/Berlin"}'),
           ("ResponseId", "Response ID", '{"ImportId":"_recordId"}'),
           ("ExternalReference", "External Data Reference", '{"ImportId":"externalDataReference"}'),
           ("UserLanguage", "User Language", '{"ImportId":"userLanguage"}')]
QX_Q = [("Q1", "In which country is your hospital located?", "QID1"),
        ("Q2", "How many beds does your hospital have?", "QID2"),
        ("Q3", "Does your hospital have teaching duties (radiologists-in-training)?", "QID3"),
        ("Q4", "Which best describes your own clinical work?", "QID4"),
        ("Q5_1", "How many work in your department? - Radiologists", "QID5_1"),
        ("Q5_2", "How many work in your department? - Radiologists-in-training", "QID5_2"),
        ("Q5_3", "How many work in your department? - Interventional radiologists", "QID5_3"),
        ("Q5_4", "How many work in your department? - Female radiologists", "QID5_4"),
        ("Q5_5", "How many work in your department? - Female interventional radiologists", "QID5_5"),
        ("Q6", "IR procedures per year", "QID6"),
        ("Q7", "Is there an interventional unit under a specific leader?", "QID7"),
        ("Q8", "Does the IR service cover emergencies 24/7?", "QID8"),
        ("Q9", "Number of angiography suites", "QID9_TEXT"),
        ("Q10", "IR full-time equivalents", "QID10_TEXT"),
        ("Q11", "Any comments?", "QID11_TEXT")]
QX_COL = {"cover_24_7": ["Q8"], "ir_unit": ["Q7"], "n_angio_suites": ["Q9"], "ir_fte": ["Q10"],
          "n_ir": ["Q5_3"], "n_female_ir": ["Q5_5"], "n_female_radiologists": ["Q5_4"]}


def qualtrics(subs: pd.DataFrame, rng: np.random.Generator) -> str:
    yn = {True: "Yes", False: "No"}
    rows = []
    for i, r in subs.iterrows():
        end = r["submitted"]
        start = end - pd.Timedelta(seconds=int(rng.integers(300, 1500)))
        cells = {
            "StartDate": start.strftime("%Y-%m-%d %H:%M:%S"), "EndDate": end.strftime("%Y-%m-%d %H:%M:%S"),
            "Status": "IP Address", "Progress": "100", "Duration (in seconds)": str(int((end - start).total_seconds())),
            "Finished": "True", "RecordedDate": end.strftime("%Y-%m-%d %H:%M:%S"),
            "ResponseId": "R_" + "".join(rng.choice(list("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789"), 15)),
            "ExternalReference": r["respondent_id"], "UserLanguage": "EN",
            "Q1": ENGLISH[r["country"]], "Q2": BEDS_TEXT[r["beds_class"]], "Q3": yn[bool(r["teaching"])],
            "Q4": CHAIR_TEXT[r["chair_profile"]], "Q5_1": _num(r["n_radiologists"]), "Q5_2": _num(r["n_residents"]),
            "Q5_3": _num(r["n_ir"]), "Q5_4": _num(r["n_female_radiologists"]), "Q5_5": _num(r["n_female_ir"]),
            "Q6": VOLUME_TEXT[r["volume_2025"]], "Q7": yn[bool(r["ir_unit"])],
            "Q8": "" if r["cover_24_7"] is pd.NA else yn[bool(r["cover_24_7"])],
            "Q9": _num(r["n_angio_suites"]), "Q10": _dec(r["ir_fte"], comma=False), "Q11": "",
        }
        rows.append(_blankify(r, cells, QX_COL))
    prev = dict(rows[0], Status="Survey Preview", ResponseId="R_preview0000001", ExternalReference="",
                Q11="testing the survey")
    rows.insert(0, prev)
    names = [c for c, _, _ in QX_META] + [c for c, _, _ in QX_Q]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    w.writerow(names)
    w.writerow([t for _, t, _ in QX_META] + [t for _, t, _ in QX_Q])
    w.writerow([j for _, _, j in QX_META] + [f'{{"ImportId":"{j}"}}' for _, _, j in QX_Q])
    for r in rows:
        w.writerow([r[c] for c in names])
    return "\ufeff" + buf.getvalue()


QX_MAPPING = """\
# SIMULATED example: Qualtrics CSV export, choice text (see README.md).
description: SIMULATED 2025 wave, Qualtrics export - not real data.
wave: simulated_2025
source: qualtrics      # row 1 column names, row 2 question texts, row 3 ImportId JSON
respondent_id: {column: ExternalReference}
exclude:
  - {column: Status, equals: Survey Preview, reason: preview response of the survey team}
  - {column: Finished, equals: "False", reason: incomplete response}
deduplicate:
  key: ExternalReference
  rule: keep_last_complete
  order_by: {column: RecordedDate}   # ISO 8601 (Qualtrics' own format)
ignore: [StartDate, EndDate, Progress, "Duration (in seconds)", ResponseId, UserLanguage]
free_text: [Q11]
derive_share_classes: true
columns:
  country:
    column: Q1
    names: auto                # English names -> ISO codes (pycountry)
    codes: {Turkey: TR}        # pycountry calls it Turkiye; explicit codes win
  beds_class:
    column: Q2
    codes: {Fewer than 200 beds: "<200", 200-399 beds: 200-399, 400-799 beds: 400-799, 800 beds or more: ">=800"}
  teaching:
    column: Q3
    codes: {"Yes": true, "No": false}
  chair_profile:
    column: Q4
    codes:
      Diagnostic radiologist: DR
      Diagnostic radiologist with some IR duties: DR_some_IR
      About half diagnostic, half interventional: DR_IR_equal
      Mostly or only interventional radiologist: IR_mostly
  n_radiologists: {column: Q5_1}
  n_residents: {column: Q5_2}
  n_ir: {column: Q5_3}
  n_female_radiologists: {column: Q5_4}
  n_female_ir: {column: Q5_5}
  procedure_volume_class:
    column: Q6
    codes: {None: none, 1 to 100: 1-100, 101 to 200: 101-200, 201 to 500: 201-500, 501 to 1000: 501-1000,
            More than 1000: ">1000"}
    classes:
      - {code: none, lower: 0, upper: 0}
      - {code: 1-100, lower: 1, upper: 100}
      - {code: 101-200, lower: 101, upper: 200}
      - {code: 201-500, lower: 201, upper: 500}
      - {code: 501-1000, lower: 501, upper: 1000}
      - {code: ">1000", lower: 1001, upper: null}
    harmonise: {none: "0", 1-100: 1-200, 101-200: 1-200, 201-500: 201-500, 501-1000: ">500", ">1000": ">500"}
  ir_unit:
    column: Q7
    codes: {"Yes": true, "No": false}
  cover_24_7:
    column: Q8
    codes: {"Yes": true, "No": false}
extra:
  n_angio_suites: {column: Q9, type: integer, label: angiography suites}
  ir_fte: {column: Q10, type: number, label: IR full-time equivalents}
"""

# --------------------------------------------------------------------------- SurveyMonkey

SM_META = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address", "First Name",
           "Last Name", "Custom Data 1"]
SM_STAFF = "How many of the following work in your department?"
SM_STAFF_SUB = ["Radiologists", "Radiologists-in-training", "Interventional radiologists", "Female radiologists",
                "Female interventional radiologists"]
SM_Q = [("In which country is your hospital located?", "Response"),
        ("How many beds does your hospital have?", "Open-Ended Response"),
        ("Does your hospital have teaching duties (radiologists-in-training)?", "Response"),
        ("Which best describes your own clinical work?", "Response")] + \
       [(SM_STAFF, s) for s in SM_STAFF_SUB] + \
       [("IR procedures per year", "Response"),
        ("Is there an interventional unit under a specific leader?", "Response"),
        ("Does the IR service cover emergencies 24/7?", "Response"),
        ("Number of angiography suites", "Open-Ended Response"),
        ("IR full-time equivalents", "Open-Ended Response"),
        ("Any comments?", "Open-Ended Response")]
SM_KEYS = ["country", "beds", "teaching", "chair", "nrad", "nres", "nir", "nfrad", "nfir", "volume", "unit", "h24",
           "angio", "fte", "comment"]
SM_COL = {"cover_24_7": ["h24"], "ir_unit": ["unit"], "n_angio_suites": ["angio"], "ir_fte": ["fte"],
          "n_ir": ["nir"], "n_female_ir": ["nfir"], "n_female_radiologists": ["nfrad"]}


def _fixed_zip(data: bytes) -> bytes:
    """Re-write an XLSX (zip) with fixed timestamps, so the same seed gives the same bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>2025-06-30T00:00:00Z\g<3>", body)
            zi = zipfile.ZipInfo(info.filename, date_time=(2025, 6, 30, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, body)
    return out.getvalue()


def surveymonkey(subs: pd.DataFrame, rng: np.random.Generator) -> bytes:
    import openpyxl

    yn = {True: "Yes", False: "No"}
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet"
    ws.append(SM_META + [q if j == 0 or SM_Q[j - 1][0] != q else None for j, (q, _) in enumerate(SM_Q)])
    ws.append([None] * len(SM_META) + [s for _, s in SM_Q])
    first = len(SM_META) + 1 + [q for q, _ in SM_Q].index(SM_STAFF)
    ws.merge_cells(start_row=1, start_column=first, end_row=1, end_column=first + len(SM_STAFF_SUB) - 1)
    for i, r in subs.iterrows():
        end = r["submitted"]
        start = end - pd.Timedelta(seconds=int(rng.integers(300, 1500)))
        cells = {
            "country": LOCAL[r["country"]], "beds": int(r["beds"]), "teaching": yn[bool(r["teaching"])],
            "chair": CHAIR_TEXT[r["chair_profile"]], "nrad": r["n_radiologists"], "nres": r["n_residents"],
            "nir": r["n_ir"], "nfrad": r["n_female_radiologists"], "nfir": r["n_female_ir"],
            "volume": VOLUME_TEXT[r["volume_2025"]], "unit": yn[bool(r["ir_unit"])],
            "h24": None if r["cover_24_7"] is pd.NA else yn[bool(r["cover_24_7"])],
            "angio": r["n_angio_suites"], "fte": None if r["ir_fte"] is pd.NA else float(r["ir_fte"]), "comment": None,
        }
        cells = {k: (None if v is pd.NA else (int(v) if isinstance(v, (np.integer,)) else v)) for k, v in cells.items()}
        cells = _blankify(r, cells, SM_COL)
        cells = {k: (None if v == "" else v) for k, v in cells.items()}
        meta = [int(11800000000 + 7919 * (i + 1)), 431200991, start.strftime("%m/%d/%Y %I:%M:%S %p"),
                end.strftime("%m/%d/%Y %I:%M:%S %p"), None, None, None, None, r["respondent_id"]]
        ws.append(meta + [cells[k] for k in SM_KEYS])
    # a Czech respondent writes the official name, not the short one
    cz = [i for i, c in enumerate(subs["country"]) if c == "CZ"]
    ws.cell(row=3 + cz[0], column=len(SM_META) + 1).value = "Česká republika"
    wb.properties.creator = "SurveyMonkey (SIMULATED example)"
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip(buf.getvalue())


SM_MAPPING = f"""\
# SIMULATED example: SurveyMonkey XLSX export (see README.md).
description: SIMULATED 2025 wave, SurveyMonkey export - not real data.
wave: simulated_2025
source: surveymonkey   # row 1 question texts (merged over multi-column questions), row 2 sub-answers
respondent_id: {{column: Custom Data 1}}
deduplicate:
  key: Custom Data 1
  rule: keep_last_complete
  order_by: {{column: End Date, format: "%m/%d/%Y %I:%M:%S %p"}}
ignore: [Respondent ID, Collector ID, Start Date, IP Address, Email Address, First Name, Last Name]
free_text: ["Any comments?"]
derive_share_classes: true
columns:
  country:   # local-language names
    column: In which country is your hospital located?
    names: auto
  beds_class:   # free bed numbers
    column: How many beds does your hospital have?
    bins: codebook
  teaching:
    column: Does your hospital have teaching duties (radiologists-in-training)?
    codes: {{"Yes": true, "No": false}}
  chair_profile:
    column: Which best describes your own clinical work?
    codes:
      Diagnostic radiologist: DR
      Diagnostic radiologist with some IR duties: DR_some_IR
      About half diagnostic, half interventional: DR_IR_equal
      Mostly or only interventional radiologist: IR_mostly
  n_radiologists: {{column: "{SM_STAFF} | Radiologists"}}
  n_residents: {{column: "{SM_STAFF} | Radiologists-in-training"}}
  n_ir: {{column: "{SM_STAFF} | Interventional radiologists"}}
  n_female_radiologists: {{column: "{SM_STAFF} | Female radiologists"}}
  n_female_ir: {{column: "{SM_STAFF} | Female interventional radiologists"}}
  procedure_volume_class:
    column: IR procedures per year
    codes: {{None: none, 1 to 100: 1-100, 101 to 200: 101-200, 201 to 500: 201-500, 501 to 1000: 501-1000,
            More than 1000: ">1000"}}
    classes:
      - {{code: none, lower: 0, upper: 0}}
      - {{code: 1-100, lower: 1, upper: 100}}
      - {{code: 101-200, lower: 101, upper: 200}}
      - {{code: 201-500, lower: 201, upper: 500}}
      - {{code: 501-1000, lower: 501, upper: 1000}}
      - {{code: ">1000", lower: 1001, upper: null}}
    harmonise: {{none: "0", 1-100: 1-200, 101-200: 1-200, 201-500: 201-500, 501-1000: ">500", ">1000": ">500"}}
  ir_unit:
    column: Is there an interventional unit under a specific leader?
    codes: {{"Yes": true, "No": false}}
  cover_24_7:
    column: Does the IR service cover emergencies 24/7?
    codes: {{"Yes": true, "No": false}}
extra:
  n_angio_suites: {{column: Number of angiography suites, type: integer, label: angiography suites}}
  ir_fte: {{column: IR full-time equivalents, type: number, label: IR full-time equivalents}}
"""

# --------------------------------------------------------------------------- frame

FRAME_BEDS = {"<200": 0.30, "200-399": 0.30, "400-799": 0.24, ">=800": 0.16}


def frame(truth: pd.DataFrame) -> pd.DataFrame:
    """SIMULATED user frame: departments by country x beds_class, total :data:`FRAME_TOTAL`.

    Expected counts ``FRAME_TOTAL * w_c / sum(w) * FRAME_BEDS[b]``, rounded by largest
    remainder, and never fewer than the respondents of the cell plus one.
    """
    w = pd.Series(COUNTRY_WEIGHTS, dtype=float)
    cells = [(c, b, FRAME_TOTAL * w[c] / w.sum() * p) for c in COUNTRY_WEIGHTS for b, p in FRAME_BEDS.items()]
    resp = truth.groupby(["country", "beds_class"], observed=True).size().to_dict()
    lower = np.array([resp.get((c, b), 0) + 1 for c, b, _ in cells], dtype=int)
    exp = np.array([e for _, _, e in cells])
    n = np.maximum(np.floor(exp).astype(int), lower)
    order = np.argsort(-(exp - np.floor(exp)), kind="stable")  # largest remainder first
    k = 0
    while n.sum() < FRAME_TOTAL:
        n[order[k % len(n)]] += 1
        k += 1
    while n.sum() > FRAME_TOTAL:  # take back from the cells furthest above expectation
        slack = np.where(n > lower, n - exp, -np.inf)
        n[int(np.argmax(slack))] -= 1
    return pd.DataFrame({"country": [c for c, _, _ in cells], "beds_class": [b for _, b, _ in cells], "N": n,
                         "source": "SIMULATED (data/raw/examples/make_examples.py)"})


def readme(source: str, what: str, n_rows: str, notes: str) -> str:
    return f"""\
# SIMULATED {source} export of the 2025 example wave - NOT REAL DATA

**Every value in this folder is SIMULATED.** No real hospital or department is described.
Written by `data/raw/examples/make_examples.py` (`irmodels.studies.simulate.simulate_wave(n={N}, seed={SEED})`
with its own country weights: 20 countries incl. PL, CZ, PT, NO, BE). The three folders
`limesurvey/`, `qualtrics/` and `surveymonkey/` are three exports of the SAME wave; each imports
to `../truth.csv` exactly.

| file | content |
| --- | --- |
| {what} |
| `mapping.yaml` | the mapping (`source: {source.lower()}` preset; fields in `docs/mapping.md`) |

{n_rows}

{notes}

Import it:

```
irmodels import-wave data/raw/examples/{source.lower()}/{'export.xlsx' if source == 'SurveyMonkey' else 'export.csv'} \\
    --mapping data/raw/examples/{source.lower()}/mapping.yaml --out my/{source.lower()}.csv
```
"""


TOP_README = f"""\
# SIMULATED example wave 2025: three survey-tool exports of one wave - NOT REAL DATA

**Every value in this folder is SIMULATED** by `make_examples.py` (this folder) with
`irmodels.studies.simulate.simulate_wave(n={N}, seed={SEED})` and its own country weights
(`COUNTRY_WEIGHTS` in the script: 20 countries, PL, CZ, PT, NO and BE among them, which are not
among the 24 countries of 2017). No real hospital or department is described.
Regenerate (byte-identical): `.venv/bin/python data/raw/examples/make_examples.py`.

| path | content |
| --- | --- |
| `limesurvey/` | LimeSurvey CSV re-saved by a German Excel (`;`, UTF-8 BOM, decimal commas, code/text header rows) + mapping |
| `qualtrics/` | Qualtrics CSV with its three header rows + mapping |
| `surveymonkey/` | SurveyMonkey XLSX with two header rows (merged question cells, sub-answers) + mapping |
| `truth.csv` | the simulated table (wave `{WAVE}`); each export imports to exactly this table |
| `frame_2025.csv` | a user frame (`irmodels.nonresponse.frame.load_frame`): departments by country x beds class, total {FRAME_TOTAL}; expected counts {FRAME_TOTAL} x country weight x beds share ({', '.join(f'{k} {v:.0%}' for k, v in FRAME_BEDS.items())}), rounded by largest remainder, never fewer than the cell's respondents + 1 |

The mapping fields are documented in `docs/mapping.md`; `tests/test_mapping.py` checks that the
three exports give the same validated table.
"""


def build(out_dir: Path) -> None:
    truth, subs = simulate()
    rng = np.random.default_rng(SEED + 2)  # bookkeeping of the exports, not the data
    out_dir.mkdir(parents=True, exist_ok=True)
    nsub = len(subs)
    write_text_atomic(limesurvey(subs, rng), out_dir / "limesurvey" / "export.csv")
    write_text_atomic(LS_MAPPING, out_dir / "limesurvey" / "mapping.yaml")
    write_text_atomic(qualtrics(subs, rng), out_dir / "qualtrics" / "export.csv")
    write_text_atomic(QX_MAPPING, out_dir / "qualtrics" / "mapping.yaml")
    data = surveymonkey(subs, rng)
    p = out_dir / "surveymonkey" / "export.xlsx"
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(".export.xlsx.tmp")
    tmp.write_bytes(data)
    tmp.replace(p)
    write_text_atomic(SM_MAPPING, out_dir / "surveymonkey" / "mapping.yaml")
    dups = ", ".join(subs.attrs["duplicates"])
    rows = (f"{nsub} submissions of {N} departments: {dups} submitted twice (`deduplicate`, rule "
            "`keep_last_complete`; every dropped submission is in the import report).")
    write_text_atomic(readme(
        "LimeSurvey", "`export.csv` | LimeSurvey export as re-saved by a German Excel: `;`, UTF-8 BOM, CRLF, "
        "decimal commas (`ir_fte`), row 1 codes, row 2 German question texts, dates `dd.mm.yyyy hh:mm`",
        rows + " Plus 2 responses never submitted (excluded).",
        "German country names (Tschechien, Polen, Österreich; `names: auto`), free bed numbers (`bins: codebook`), "
        "`yes`/`NO` typed over `Y`/`N` (`case_insensitive: true`), the 2025 procedure-volume classes "
        "(`classes` + `harmonise`), two wave-specific variables (`extra`)."),
        out_dir / "limesurvey" / "README.md")
    write_text_atomic(readme(
        "Qualtrics", "`export.csv` | Qualtrics CSV: row 1 column names, row 2 question texts, row 3 ImportId JSON; "
        "choice text, ISO dates",
        rows + " Plus 1 preview response (excluded).",
        "English country names (`Turkey` by an explicit code: pycountry says Türkiye), bed classes as choice text, "
        "the 2025 procedure-volume classes (`classes` + `harmonise`), two wave-specific variables (`extra`)."),
        out_dir / "qualtrics" / "README.md")
    write_text_atomic(readme(
        "SurveyMonkey", "`export.xlsx` | SurveyMonkey XLSX: row 1 question texts (one merged cell over the five "
        "staff-count columns), row 2 sub-answers (`Response`, `Open-Ended Response`, field names)",
        rows,
        "Local-language country names (Deutschland, Polska, Česko / Česká republika, Norge, Éire, ...), free bed "
        "numbers (`bins: codebook`), the 2025 procedure-volume classes (`classes` + `harmonise`), two "
        "wave-specific variables (`extra`)."),
        out_dir / "surveymonkey" / "README.md")
    write_table_atomic(frame(truth), out_dir / "frame_2025.csv")
    write_text_atomic(TOP_README, out_dir / "README.md")
    write_table_atomic(truth, out_dir / "truth.csv")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: data/raw/examples)")
    args = ap.parse_args(argv)
    build(args.out)
    print(f"wrote the SIMULATED example exports under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
