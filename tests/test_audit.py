"""The consistency audit of the 2017 paper.

Compared with: the paper's printed numbers (data/raw/esr_cirse_2017/statements.csv,
quoted from doi:10.1186/s13244-019-0698-6) and hand arithmetic written out in each test.
"""

from __future__ import annotations

import copy
import re

import pandas as pd
import pytest

import irmodels
from irmodels.published.audit import AUDIT_COLUMNS, identity_checks
from irmodels.data.rounding import percent_match
from irmodels.core.errors import SchemaError
from irmodels.data.waves.esr_cirse_2017 import data_dir, load_resolutions


@pytest.fixture(scope="module")
def audit_table() -> pd.DataFrame:
    return irmodels.audit(wave="esr_cirse_2017").set_index("statement_id")


@pytest.mark.parametrize(
    ("count", "den", "printed", "expected"),
    [
        (64, 98, "65.30", "trunc"),  # 65.306...
        (64, 98, "65.3", "round"),
        (60, 97, "60.8", None),  # 61.86
        (59, 97, "60.8", "round"),
        (12, 28, "42.8", "trunc"),  # 42.857
        (15, 28, "53.6", "round"),
        (47, 98, "48", "round"),  # 47.96
        (49, 98, "50", "round"),
        (1, 8, "12.5", "round"),
        (1, 8, "13", "round"),  # half-up, not banker's rounding
        (0, 93, "0", "round"),
    ],
)
def test_percent_match_exact_arithmetic(count, den, printed, expected):
    assert percent_match(count, den, printed) == expected


def test_columns_and_size(audit_table):
    assert list(audit_table.reset_index().columns) == list(AUDIT_COLUMNS)
    assert len(audit_table) >= 100
    assert set(audit_table["status"]) == {"ok", "truncated", "inconsistent"}


@pytest.mark.parametrize(
    ("sid", "status", "implied"),
    [
        ("R3-15", "inconsistent", 93),  # "58 out of 98–62.4%": 58/93 = 62.37%
        ("R3-19", "ok", 93),  # 30 (32.3%) = 30/93
        ("R3-27", "ok", 90),  # 25 (27.8%) = 25/90
        ("R3-28", "ok", 90),  # 47 (52.2%) = 47/90
        ("R4-07", "ok", 97),  # 57 (58.8%) = 57/97
        ("R4-08", "ok", 56),  # 34 (60.7% of the 56)
        ("R4-10", "truncated", 28),  # 12/28 = 42.857 printed 42.8
        ("R4-06", "truncated", 98),  # 64/98 = 65.306 printed 65.30
        ("DIS-02", "truncated", 98),  # 41/98 = 41.837 printed 41.83
        ("DIS-08", "truncated", 98),  # 68/98 = 69.387 printed 69.38
        ("DIS-19", "truncated", 97),  # 64/97 = 65.979 printed 65.97
        ("R3-22", "inconsistent", None),  # 20 (22.4%): 20/93 = 21.5
        ("R4-14", "inconsistent", None),  # 44 (44.3%)
        ("R5-02", "inconsistent", None),  # 45 of 72 = 62.5, printed 62.2
        ("DIS-16", "inconsistent", None),  # 60/97 printed 60.8
        ("R1-06", "ok", 98),  # 94.9% teaching = 93/98
        ("R1-02", "ok", 98),
    ],
)
def test_known_statuses_and_implied_denominators(audit_table, sid, status, implied):
    row = audit_table.loc[sid]
    assert row["status"] == status, row["reason"]
    if implied is None:
        assert pd.isna(row["implied_denominator"])
    else:
        assert int(row["implied_denominator"]) == implied


def test_implied_denominators_cover_the_papers_mixture(audit_table):
    implied = set(audit_table["implied_denominator"].dropna().astype(int))
    assert {98, 97, 93, 90, 72, 56, 28} <= implied


def test_alternative_readings(audit_table):
    assert audit_table.loc["DIS-16", "alternative_reading"] == "59/97 = 60.8%"
    assert audit_table.loc["R4-14", "alternative_reading"] == "43/97 = 44.3%"


def test_percent_without_count_gets_implied_count(audit_table):
    assert int(audit_table.loc["R1-06", "implied_count"]) == 93


def test_contradictions_between_passages_are_flagged(audit_table):
    # Discussion: outpatient service in 30 hospitals vs Results 57
    assert audit_table.loc["DIS-10", "status"] == "inconsistent"
    assert "D03" in audit_table.loc["DIS-10", "discrepancy_id"]
    # CIRSE-only 9 contradicts 49 = 39 + 9
    assert audit_table.loc["R2-09", "status"] == "inconsistent"
    # two vs three hospitals without IR
    assert audit_table.loc["DIS-03", "status"] == "inconsistent"


def test_hedged_restatements_agree(audit_table):
    # "about 60%" of departments cover emergencies: 60/97 = 61.9%
    assert audit_table.loc["AP-02", "status"] == "ok"
    # "slightly more than half" of day-case beds run by radiologists: 15/28 = 53.6%
    assert audit_table.loc["DIS-13", "status"] == "ok"


def test_discrepancies_table():
    d = irmodels.discrepancies()
    assert {"discrepancy_id", "topic", "status", "reading_a", "reading_b", "other_readings", "adopted", "reason",
            "rejected_ids", "quotes"} <= set(d.columns)
    assert len(d) >= 13
    assert d["discrepancy_id"].is_unique
    assert set(d["status"]) <= {"contradiction", "tension", "open"}
    topics = " ".join(d["topic"]).lower()
    for word in ("cirse", "24/7", "outpatient", "teaching", "fieldwork"):
        assert word in topics


def _ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_discrepancy_quotes_are_verbatim():
    paper = _ws((data_dir() / "paper.txt").read_text(encoding="utf-8"))
    quotes = [q for d in load_resolutions()["discrepancies"] for q in d.get("quotes", [])]
    assert len(quotes) >= 5
    assert [q for q in quotes if _ws(q) not in paper] == []


def test_d01_lists_every_reading_symmetrically():
    d = irmodels.discrepancies().set_index("discrepancy_id").loc["D01"]
    assert d["status"] == "open"
    texts = " | ".join([d["reading_a"], d["reading_b"], d["other_readings"]])
    for rid in ("cirse_only_10 (default)", "cirse_only_9", "both_40"):
        assert rid in texts
    # the adopted reading overrides the '9', printed twice: R2-09 and the "out of 9" of R2-10/R2-11
    assert d["rejected_ids"] == "R2-09;R2-10;R2-11"
    assert "convention" in d["reason"]


def test_d01_adopted_reading_flags_the_printed_denominator(audit_table):
    for sid in ("R2-10", "R2-11"):
        assert audit_table.loc[sid, "status"] == "inconsistent"
        assert "denominator not used as printed" in audit_table.loc[sid, "reason"]
        assert "cirse_only_10" in audit_table.loc[sid, "reason"]
    assert "count not used as printed" in audit_table.loc["R2-09", "reason"]


def test_d04_rejects_both_the_three_without_procedures_and_the_discussions_two():
    d = irmodels.discrepancies().set_index("discrepancy_id").loc["D04"]
    assert set(d["rejected_ids"].split(";")) == {"R3-14", "DIS-03"}
    assert "DIS-04" in d["statement_ids"].split(";")


def test_d07_wording_matches_the_arithmetic():
    reading = irmodels.discrepancies().set_index("discrepancy_id").loc["D07", "reading_b"]
    # 20/89 = 22.47% truncates to 22.4; no denominator from 93 (the item's total) to 98 gives it
    assert percent_match(20, 89, "22.4") == "trunc"
    assert all(percent_match(20, d, "22.4") is None for d in range(90, 99))
    assert "20/89" in reading and "truncates to 22.4" in reading


def test_new_tensions_keep_every_printed_number():
    d = irmodels.discrepancies().set_index("discrepancy_id")
    d12, d13 = d.loc["D12"], d.loc["D13"]
    assert d12["status"] == d13["status"] == "tension"
    assert d12["rejected_ids"] == d13["rejected_ids"] == ""
    assert "not a single department in which such professionality does not exist" in d12["quotes"]
    assert "do not perform image-guided interventions" in d12["quotes"]
    assert "between April and June 2017" in d13["quotes"] and "in May 2017" in d13["quotes"]
    assert {"R3-18", "R4-04"} <= set(d12["statement_ids"].split(";"))
    assert {"MM-05", "MM-06"} <= set(d13["statement_ids"].split(";"))


def test_discrepancies_with_a_bad_status_raise(monkeypatch):
    from irmodels.data.waves import esr_cirse_2017 as w

    res = copy.deepcopy(w.load_resolutions())
    res["discrepancies"][0]["status"] = "resolved"
    monkeypatch.setattr(w, "load_resolutions", lambda: res)
    expected = r"row D01, column 'status': value 'resolved': status must be one of \['contradiction', 'tension', 'open'\]"
    with pytest.raises(SchemaError, match=expected):
        irmodels.discrepancies()


def test_identities():
    ident = identity_checks().set_index("identity_id")
    # CIRSE = both + CIRSE-only fails: 49 != 39 + 9
    assert not ident.loc["I06", "holds"]
    assert (int(ident.loc["I06", "total"]), int(ident.loc["I06", "parts_sum"])) == (49, 48)
    # all others hold
    assert ident.drop(index="I06")["holds"].all()


def test_audit_unknown_wave():
    with pytest.raises(ValueError, match="unknown wave 'nope'.*esr_cirse_2017"):
        irmodels.audit(wave="nope")
