"""Tests of irmodels.frame: scenario frames from the transcribed country statistics
(data/raw/frame/country_statistics.csv, external-evidence.md section 3) and the
validation of user frame files.

References: the transcribed statistics themselves (hand-computed shares below) and
Table 1 of the 2017 paper (24 countries, 98 respondents).
"""

from __future__ import annotations

import pandas as pd
import pytest

from irmodels.errors import FrameError
from irmodels.frame import (
    BEDS_CLASSES,
    REGIONS,
    SCENARIOS,
    frame_cells,
    frame_margins,
    load_frame,
    load_statistics,
    region_of,
)

TABLE1 = {
    "DE": 15, "TR": 9, "AT": 8, "HR": 8, "FR": 8, "ES": 7, "IE": 5, "IT": 5, "GB": 4, "BG": 4, "CH": 3, "RO": 3,
    "IL": 2, "KZ": 2, "NL": 2, "SE": 2, "SI": 2, "DK": 2, "EE": 2, "FI": 1, "SK": 1, "BY": 1, "LT": 1, "RU": 1,
}
REL = 1e-12  # exact arithmetic on transcribed numbers


def test_statistics_match_table1():
    s = load_statistics()
    assert dict(zip(s["country"], s["respondents_table1"].astype(int))) == TABLE1
    # spot values transcribed from external-evidence.md section 3.2
    row = s.set_index("country")
    assert row.loc["DE", "radiologists"] == 9769 and row.loc["DE", "hospitals"] == 1942
    assert list(row.loc["AT", ["beds_lt200", "beds_200_399", "beds_400_799", "beds_ge800"]]) == [167, 59, 25, 13]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_cells_sum_to_total_and_use_codebook_codes(scenario):
    cells = frame_cells(scenario)
    assert cells["N"].sum() == pytest.approx(1180, rel=REL)
    assert (cells["N"] >= 0).all() and cells["N"].dtype == float
    assert list(cells["beds_class"].cat.categories) == list(BEDS_CLASSES)
    assert set(cells["country"]) == set(TABLE1)
    assert cells["rule"].str.len().gt(0).all()
    assert "teaching" not in cells.columns  # no source gives hospitals by teaching status
    m = frame_margins(scenario)
    assert sum(m["country"].values()) == pytest.approx(1180, rel=REL)
    assert sum(m["beds_class"].values()) == pytest.approx(1180, rel=REL)


def test_radiologists_scenario_is_proportional_and_missing_rule_is_stated():
    m = frame_margins("radiologists")["country"]
    assert m["DE"] / m["FR"] == pytest.approx(9769 / 10470, rel=REL)
    # IL, KZ, SK, BY, RU have no Eurostat count: respondent share of the frame
    for c in ("IL", "KZ", "SK", "BY", "RU"):
        assert m[c] == pytest.approx(1180 * TABLE1[c] / 98, rel=REL)
    cells = frame_cells("radiologists")
    assert cells.loc[cells["country"] == "IL", "rule"].str.contains("statistic missing: respondent share 2/98").all()
    # known countries share the rest in proportion to radiologists
    s = load_statistics().set_index("country")["radiologists"].dropna()
    rest = 1180 * (1 - (2 + 2 + 1 + 1 + 1) / 98)
    assert m["DE"] == pytest.approx(rest * 9769 / s.sum(), rel=REL)


def test_hospitals_200plus_uses_gisco_classes_or_pooled_share():
    s = load_statistics().set_index("country")
    beds = s[["beds_lt200", "beds_200_399", "beds_400_799", "beds_ge800"]].dropna()
    share200 = beds.iloc[:, 1:].to_numpy().sum() / beds.to_numpy().sum()
    assert share200 == pytest.approx(886 / 3312, rel=REL)  # AT+ES+IT+BG+RO+LT, hand-summed
    m = frame_margins("hospitals_200plus")["country"]
    assert m["AT"] / m["DE"] == pytest.approx((59 + 25 + 13) / (1942 * share200), rel=REL)
    cells = frame_cells("hospitals_200plus")
    lt = cells[cells["beds_class"] == "<200"]
    # <200 gets its respondent share 4/98 of each country (stated rule)
    assert lt["N"].sum() == pytest.approx(1180 * 4 / 98, rel=REL)


def test_null_scenario_reproduces_respondents():
    m = frame_margins("respondents_table1")
    for c, n in TABLE1.items():
        assert m["country"][c] == pytest.approx(1180 * n / 98, rel=REL)
    assert m["beds_class"]["<200"] == pytest.approx(1180 * 4 / 98, rel=REL)
    assert m["beds_class"][">=800"] == pytest.approx(1180 * 51 / 98, rel=REL)


def test_region_map_covers_table1_and_is_disjoint():
    all_codes = [c for cs in REGIONS.values() for c in cs]
    assert len(all_codes) == len(set(all_codes))
    r = region_of(pd.Series(list(TABLE1)))
    assert r.notna().all()
    assert region_of("TR") == "EU-South" and region_of("KZ") == "EU-East" and region_of("GB") == "EU-North"
    m = frame_margins("radiologists", variables=("region",))
    assert sum(m["region"].values()) == pytest.approx(1180, rel=REL)
    with pytest.raises(FrameError, match="GB"):
        region_of("UK")


def test_unknown_scenario_and_misused_frame():
    with pytest.raises(FrameError, match="unknown frame scenario"):
        frame_cells("population")
    with pytest.raises(FrameError, match="scenario='user'"):
        frame_cells("radiologists", frame=pd.DataFrame({"country": ["DE"], "N": [1.0]}))


def _write(tmp_path, text):
    p = tmp_path / "frame.csv"
    p.write_text(text)
    return p


def test_load_valid_user_frame_and_cells(tmp_path):
    p = _write(tmp_path, "country,beds_class,N,source\nDE,>=800,30,my count\nDE,400-799,50,x\nFR,>=800,20,x\n")
    fr = load_frame(p, required_countries=["DE", "FR"])
    assert list(fr["N"]) == [30.0, 50.0, 20.0]
    cells = frame_cells("user", frame=fr, total=1180)
    assert cells["N"].sum() == pytest.approx(1180, rel=REL)
    assert cells["rule"].str.contains("rescaled from 100 to 1180").all()
    kept = frame_cells("user", frame=fr, total=None)
    assert kept["N"].sum() == 100


@pytest.mark.parametrize(
    "text, column, fragment",
    [
        ("country,N\n,10\n", "country", "country is missing"),
        ("country,N\nUK,10\n", "country", "'GB'"),
        ("country,N\nXX,10\n", "country", "unknown country code"),
        ("country,N\nDE,-3\n", "N", "must be > 0"),
        ("country,N\nDE,0\n", "N", "must be > 0"),
        ("country,N\nDE,many\n", "N", "not a number"),
        ("country,N\nDE,\n", "N", "N is missing"),
        ("country,beds_class,N\nDE,<100,5\n", "beds_class", "unknown beds class"),
        ("country,teaching,N\nDE,maybe,5\n", "teaching", "true or false"),
        ("country,beds_class,N\nDE,<200,5\nDE,<200,6\n", "country", "duplicate frame cell"),
        ("country\nDE\n", "N", "required column missing"),
        ("country,N,colour\nDE,4,red\n", "colour", "unknown column"),
    ],
)
def test_bad_frame_files_name_row_column_value_rule(tmp_path, text, column, fragment):
    p = _write(tmp_path, text)
    with pytest.raises(FrameError) as ei:
        load_frame(p)
    probs = ei.value.problems
    assert any(pr.column == column and fragment in pr.rule for pr in probs), str(ei.value)
    assert all(pr.file == "frame.csv" for pr in probs)
    assert "frame.csv" in str(ei.value)


def test_bad_frame_file_reports_all_problems_at_once_with_lines(tmp_path):
    p = _write(tmp_path, "country,beds_class,N\n,<200,5\nDE,huge,-1\nFR,>=800,x\n")
    with pytest.raises(FrameError) as ei:
        load_frame(p)
    got = {(pr.row, pr.column) for pr in ei.value.problems}
    assert got == {(2, "country"), (3, "N"), (3, "beds_class"), (4, "N")}


def test_missing_required_country_and_empty_file(tmp_path):
    p = _write(tmp_path, "country,N\nDE,10\n")
    with pytest.raises(FrameError, match="required country missing") as ei:
        load_frame(p, required_countries=["DE", "TR", "AT"])
    assert {pr.value for pr in ei.value.problems} == {"TR", "AT"}
    with pytest.raises(FrameError, match="empty"):
        load_frame(_write(tmp_path, ""))
    with pytest.raises(FrameError, match="not found"):
        load_frame(tmp_path / "nope.csv")


def test_all_hospitals_scenario_contradicts_the_respondents():
    """docs/weighting.md: under 'hospitals' the frame has fewer >=800-bed departments than
    the 51 respondents from such hospitals (paper, Results), so the analyses leave it out."""
    m = frame_margins("hospitals")["beds_class"]
    assert m[">=800"] < 51
    assert frame_margins("radiologists")["beds_class"][">=800"] > 51
    assert frame_margins("hospitals_200plus")["beds_class"][">=800"] > 51


def test_cli_user_frame_missing_country_names_file_and_country(tmp_path, capsys):
    """`irmodels weight/prevalence/tipping-point --frame f.csv`: a respondent country
    absent from the user frame exits 2 with an error naming the frame file and the country."""
    from irmodels.cli import main
    from irmodels.io import write_table_atomic
    from irmodels.reconstruction import reconstruct

    ens = reconstruct(1, 3, "informed")
    table = tmp_path / "resp.csv"
    write_table_atomic(ens.drop(columns="replicate"), table)
    countries = sorted(set(ens["country"].astype(str)))
    assert "DE" in countries and "TR" in countries
    frame = tmp_path / "my_frame.csv"
    kept = [c for c in countries if c not in ("DE", "TR")]
    frame.write_text("country,N\n" + "".join(f"{c},{10 + i}\n" for i, c in enumerate(kept)))
    for cmd in (["weight", str(table), "--out", str(tmp_path / "w.csv"), "--margins", "country"],
                ["prevalence", str(table), "--margins", "country"],
                ["tipping-point", str(table), "--margins", "country"]):
        rc = main([*cmd, "--frame", str(frame)])
        err = capsys.readouterr().err
        assert rc == 2, cmd
        assert "file my_frame.csv" in err and "value 'DE'" in err and "value 'TR'" in err, err
        assert "required country missing from the frame" in err
