"""The paper's Results recomputed: every printed number reproduced or explained by the audit."""

from __future__ import annotations

import pandas as pd
import pytest

import irmodels
from irmodels.descriptives import tabulate


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    return irmodels.descriptive_results()


def test_covers_table1_and_results(results):
    assert (results["section"] == "Table 1").sum() == 24
    assert results["section"].str.startswith("Results").sum() >= 50


def test_every_mismatch_is_explained_by_the_audit(results):
    bad = results[~(results["count_matches"] & results["percent_matches"])]
    assert set(bad["statement_id"]) == {"R2-09", "R3-22", "R4-14", "R5-02"}
    assert (bad["audit_status"] == "inconsistent").all()


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
