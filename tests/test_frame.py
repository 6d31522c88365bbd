"""Tests of irmodels.nonresponse.frame: the list of invited countries, scenario frames built from the
transcribed country statistics (data/raw/frame/, external-evidence.md section 3 and the
sources in data/raw/frame/sources.csv) and the validation of user frame files (a JSON Schema per row, size limits).

References: the transcribed numbers themselves (hand-computed shares and imputations
below), Table 1 of the 2017 paper (24 countries, 98 respondents) and the 47 member states
of the Council of Europe in 2017 (sources.csv: coe_members_2017).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from irmodels.core.errors import DataDroppedWarning, FrameError, WeightingError
from irmodels.nonresponse.frame_keys import BEDS_CLASSES, REGIONS, region_of
from irmodels.nonresponse.frame_sources import (
    DEFAULT_INVITED,
    DEFAULT_STATISTICS,
    load_invited_countries,
    load_statistics,
)
from irmodels.nonresponse.scenarios import MIN_DONORS, SCENARIOS
from irmodels.nonresponse.frame import frame_cells, frame_margins
from irmodels.nonresponse.frame_file import load_frame
from irmodels.nonresponse.frame_check import region_coverage

TABLE1 = {
    "DE": 15, "TR": 9, "AT": 8, "HR": 8, "FR": 8, "ES": 7, "IE": 5, "IT": 5, "GB": 4, "BG": 4, "CH": 3, "RO": 3,
    "IL": 2, "KZ": 2, "NL": 2, "SE": 2, "SI": 2, "DK": 2, "EE": 2, "FI": 1, "SK": 1, "BY": 1, "LT": 1, "RU": 1,
}
# Council of Europe member states in 2017 (47; sources.csv coe_members_2017)
COE_2017 = {
    "AL", "AD", "AM", "AT", "AZ", "BE", "BA", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "GE", "DE", "GR",
    "HU", "IS", "IE", "IT", "LV", "LI", "LT", "LU", "MT", "MD", "MC", "ME", "NL", "MK", "NO", "PL", "PT", "RO",
    "RU", "SM", "RS", "SK", "SI", "ES", "SE", "CH", "TR", "UA", "GB",
}
INVITED = COE_2017 | {"BY", "IL", "KZ"}  # + the Table 1 countries outside the Council of Europe
REL = 1e-12  # exact arithmetic on transcribed numbers
INVITED_SCENARIOS = sorted(s for s, sc in SCENARIOS.items() if sc.countries == "invited")
ANSWERING_SCENARIOS = sorted(s for s, sc in SCENARIOS.items() if sc.countries == "answering")


# ---------------------------------------------------------------------------
# raw files


def test_statistics_match_table1_and_cover_every_invited_country():
    s = load_statistics()
    assert len(COE_2017) == 47 and len(s) == 50 and set(s["country"]) == INVITED
    answered = s[s["respondents_table1"] > 0]
    assert dict(zip(answered["country"], answered["respondents_table1"].astype(int))) == TABLE1
    assert s["respondents_table1"].sum() == 98
    row = s.set_index("country")
    # spot values transcribed from external-evidence.md section 3.2
    assert row.loc["DE", "radiologists"] == 9769 and row.loc["DE", "hospitals"] == 1942
    assert list(row.loc["AT", ["beds_lt200", "beds_200_399", "beds_400_799", "beds_ge800"]]) == [167, 59, 25, 13]
    # read directly from the Eurostat extract (eurostat_med_rad_direct) and World Bank SP.POP.TOTL 2014
    assert row.loc["PL", "radiologists"] == 3068 and row.loc["PL", "radiologists_year"] == 2015
    assert row.loc["HU", "radiologists"] == 1169 and row.loc["HU", "radiologists_year"] == 2009
    assert row.loc["RU", "population"] == 143819569 and row.loc["DE", "population"] == 80889505
    assert row["population"].notna().all() and (row["population_year"] == 2014).all()
    # no radiologist count for 15 invited countries (not in the Eurostat extract)
    assert set(row.index[row["radiologists"].isna()]) == {"AD", "AL", "AM", "AZ", "BA", "BY", "GE", "IL", "KZ", "MC", "MD", "RU", "SK", "SM", "UA"}


def test_invited_countries_list_states_a_reason_and_source_for_each():
    inv = load_invited_countries()
    assert DEFAULT_INVITED.name == "invited_countries.csv"
    assert len(inv) == 50 and set(inv["country"]) == INVITED and inv["country"].is_unique
    assert set(inv.loc[inv["answered_2017"], "country"]) == set(TABLE1)
    assert dict(zip(inv["country"], inv["respondents_table1"])) == {c: TABLE1.get(c, 0) for c in INVITED}
    assert (inv["region"] == region_of(inv["country"])).all()
    basis = inv.set_index("country")
    assert (basis.loc[sorted(COE_2017), "frame_basis_source"] == "coe_members_2017").all()
    assert (basis.loc[["BY", "IL", "KZ"], "frame_basis_source"] == "table1_2017").all()
    assert inv["frame_basis"].str.len().gt(20).all()
    sources = pd.read_csv(DEFAULT_STATISTICS.parent / "sources.csv")
    ids = set(sources["source_id"])
    assert set(inv["frame_basis_source"]) <= ids
    stats = load_statistics()
    for col in ("radiologists_source", "hospitals_source", "beds_source", "population_source"):
        assert set(stats[col].dropna()) <= ids, col
    assert sources["address"].str.len().gt(10).all()


# ---------------------------------------------------------------------------
# scenario frames


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_cells_sum_to_total_and_use_codebook_codes(scenario):
    cells = frame_cells(scenario)
    assert cells["N"].sum() == pytest.approx(1180, rel=REL)
    assert (cells["N"] >= 0).all() and cells["N"].dtype == float
    assert list(cells["beds_class"].cat.categories) == list(BEDS_CLASSES)
    expected = INVITED if SCENARIOS[scenario].countries == "invited" else set(TABLE1)
    assert set(cells["country"]) == expected and len(cells) == 4 * len(expected)
    assert cells.attrs["countries"] == SCENARIOS[scenario].countries
    assert cells["rule"].str.len().gt(0).all()
    assert "teaching" not in cells.columns  # no source gives hospitals by teaching status
    m = frame_margins(scenario, variables=("country", "region", "beds_class"))
    for v in ("country", "region", "beds_class"):
        assert sum(m[v].values()) == pytest.approx(1180, rel=REL)


def test_default_scenarios_cover_all_invited_countries_and_answering_only_variants_exist():
    for name in ("radiologists", "hospitals_200plus", "hospitals"):
        assert SCENARIOS[name].countries == "invited"
        assert SCENARIOS[f"{name}_answering_only"].countries == "answering"
        assert SCENARIOS[f"{name}_answering_only"].country_rule == SCENARIOS[name].country_rule
    assert SCENARIOS["respondents_table1"].countries == "answering" and SCENARIOS["respondents_table1"].reference


@pytest.mark.parametrize("scenario", INVITED_SCENARIOS)
def test_countries_without_respondents_get_frame_cells(scenario):
    cells = frame_cells(scenario)
    by_country = cells.groupby(cells["country"].astype(str))["N"].sum()
    non_answering = sorted(INVITED - set(TABLE1))
    assert len(non_answering) == 26
    assert (by_country[non_answering] > 0).all()
    rules = cells.drop_duplicates("country").set_index("country")["rule"]
    assert rules[non_answering].str.contains("(no 2017 respondents)", regex=False).all()
    assert not rules[sorted(TABLE1)].str.contains("no 2017 respondents").any()


def test_population_rule_for_a_country_without_statistics():
    """RU, UA, ... have no Eurostat MED_RAD count: radiologists = population (World Bank 2014)
    x the median radiologists per inhabitant of the EU-East countries that have one
    (BG, CZ, HU, PL, RO; hand-typed from the transcribed file)."""
    rate = {"BG": 1040 / 7226291, "CZ": 1900 / 10510566, "HU": 1169 / 9861673, "PL": 3068 / 37995529, "RO": 2009 / 19910995}
    median = float(np.median(list(rate.values())))
    assert median == rate["HU"]  # 8.07 < 10.09 < 11.85 < 14.39 < 18.08 per 100,000
    ru = 143819569 * median
    assert ru == pytest.approx(17048.3, abs=0.05)
    m = frame_margins("radiologists")["country"]
    assert m["RU"] / m["DE"] == pytest.approx(ru / 9769, rel=REL)
    assert m["UA"] / m["RU"] == pytest.approx(45362900 / 143819569, rel=REL)
    # the totals: 1180 x statistic / sum of the statistic over the 50 invited countries
    s = load_statistics().set_index("country")
    x = s["radiologists"].copy()
    by_region = {r: [c for c in cs if c in x.index and pd.notna(x[c])] for r, cs in REGIONS.items()}
    for c in x.index[x.isna()]:
        donors = by_region[region_of(c)]
        assert len(donors) >= MIN_DONORS
        x[c] = s.loc[c, "population"] * np.median([s.loc[d, "radiologists"] / s.loc[d, "population"] for d in donors])
    assert m["RU"] == pytest.approx(1180 * x["RU"] / x.sum(), rel=1e-12)
    assert m["PL"] == pytest.approx(1180 * 3068 / x.sum(), rel=1e-12)
    cells = frame_cells("radiologists")
    rule = cells.loc[cells["country"] == "RU", "rule"].iloc[0]
    assert "imputed 17048.3 = population 143,819,569 (2014)" in rule and "BG+CZ+HU+PL+RO" in rule


def test_population_rule_falls_back_to_all_countries_with_too_few_regional_donors():
    """hospitals: EU-East has exactly MIN_DONORS = 3 countries with a count (BG, RO, SK); without
    SK's count the median runs over every invited country with one (stated in the rule)."""
    s = load_statistics()
    s.loc[s["country"] == "SK", "hospitals"] = np.nan
    cells = frame_cells("hospitals", statistics=s)
    rule = cells.loc[cells["country"] == "RU", "rule"].iloc[0]
    assert "fewer than 3 in EU-East" in rule
    idx = s.set_index("country")
    donors = idx.index[idx["hospitals"].notna()]
    r = np.median(idx.loc[donors, "hospitals"] / idx.loc[donors, "population"])
    assert f"imputed {143819569 * r:.1f}" in rule


def test_answering_only_variants_equal_the_old_frame():
    """The *_answering_only scenarios are the frame before issue 9 (24 Table 1 countries,
    respondent share for a missing statistic): same numbers with or without the rows of the
    countries without respondents in the statistics table."""
    s = load_statistics()
    s24 = s[s["respondents_table1"] > 0].reset_index(drop=True)
    for name in ANSWERING_SCENARIOS:
        a, b = frame_cells(name), frame_cells(name, statistics=s24)
        assert a["N"].tolist() == b["N"].tolist() and a["rule"].tolist() == b["rule"].tolist()
    m = frame_margins("radiologists_answering_only")["country"]
    assert m["DE"] / m["FR"] == pytest.approx(9769 / 10470, rel=REL)
    # IL, KZ, SK, BY, RU have no Eurostat count: respondent share of the frame
    for c in ("IL", "KZ", "SK", "BY", "RU"):
        assert m[c] == pytest.approx(1180 * TABLE1[c] / 98, rel=REL)
    cells = frame_cells("radiologists_answering_only")
    assert cells.loc[cells["country"] == "IL", "rule"].str.contains("statistic missing: respondent share 2/98").all()
    rad = s24.set_index("country")["radiologists"].dropna()
    rest = 1180 * (1 - (2 + 2 + 1 + 1 + 1) / 98)
    assert m["DE"] == pytest.approx(rest * 9769 / rad.sum(), rel=REL)
    # region totals before issue 9 (computed with the code of that time)
    reg = frame_margins("radiologists_answering_only", variables=("region",))["region"]
    assert {k: round(v, 2) for k, v in reg.items()} == {"EU-West": 503.8, "EU-South": 369.82, "EU-North": 184.59, "EU-East": 121.79}


def test_hospitals_200plus_uses_gisco_classes_or_pooled_share():
    s = load_statistics().set_index("country")
    beds = s[["beds_lt200", "beds_200_399", "beds_400_799", "beds_ge800"]].dropna()
    share200 = beds.iloc[:, 1:].to_numpy().sum() / beds.to_numpy().sum()
    assert share200 == pytest.approx(886 / 3312, rel=REL)  # AT+ES+IT+BG+RO+LT, hand-summed
    for name in ("hospitals_200plus", "hospitals_200plus_answering_only"):
        m = frame_margins(name)["country"]
        assert m["AT"] / m["DE"] == pytest.approx((59 + 25 + 13) / (1942 * share200), rel=REL)
        cells = frame_cells(name)
        lt = cells[cells["beds_class"] == "<200"]
        # <200 gets its respondent share 4/98 of each country (stated rule)
        assert lt["N"].sum() == pytest.approx(1180 * 4 / 98, rel=REL)


def test_null_scenario_reproduces_respondents():
    m = frame_margins("respondents_table1")
    for c, n in TABLE1.items():
        assert m["country"][c] == pytest.approx(1180 * n / 98, rel=REL)
    assert m["beds_class"]["<200"] == pytest.approx(1180 * 4 / 98, rel=REL)
    assert m["beds_class"][">=800"] == pytest.approx(1180 * 51 / 98, rel=REL)


def test_region_map_covers_invited_countries_and_is_disjoint():
    all_codes = [c for cs in REGIONS.values() for c in cs]
    assert len(all_codes) == len(set(all_codes))
    r = region_of(pd.Series(sorted(INVITED)))
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


# ---------------------------------------------------------------------------
# nothing dropped silently: the invited list and the statistics must agree


def test_statistics_without_an_invited_country_raise_naming_it():
    s = load_statistics()
    with pytest.raises(FrameError, match="invited country has no row") as ei:
        frame_cells("radiologists", statistics=s[~s["country"].isin(["PL", "UA"])])
    assert {p.value for p in ei.value.problems} == {"PL", "UA"}
    assert all(p.file == "invited_countries.csv" for p in ei.value.problems)


def test_statistics_country_not_invited_and_count_mismatch_raise():
    s = load_statistics()
    extra = pd.concat([s, s[s["country"] == "PL"].assign(country="XK")], ignore_index=True)
    extra["country"] = extra["country"].astype("string")
    with pytest.raises(FrameError, match="not in the list of invited countries") as ei:
        frame_cells("radiologists", statistics=extra)
    assert [p.value for p in ei.value.problems] == ["XK"]
    inv = load_invited_countries()
    inv.loc[inv["country"] == "DE", "respondents_table1"] = 14
    with pytest.raises(FrameError, match="respondents_table1 differs"):
        frame_cells("radiologists", invited=inv)


def test_missing_population_for_an_imputed_country_raises():
    s = load_statistics()
    s.loc[s["country"] == "RU", "population"] = np.nan
    with pytest.raises(FrameError) as ei:
        frame_cells("radiologists", statistics=s)
    (p,) = ei.value.problems
    assert (p.row, p.column, p.file) == ("RU", "population", "country_statistics.csv")
    assert "no population to impute it from" in p.rule
    # a country with its own count does not need a population
    s = load_statistics()
    s.loc[s["country"] == "DE", "population"] = np.nan
    assert frame_cells("radiologists", statistics=s)["N"].sum() == pytest.approx(1180, rel=REL)


def test_bad_statistics_and_invited_files_name_row_column_value_rule(tmp_path):
    text = DEFAULT_STATISTICS.read_text().splitlines()
    header = text[0].split(",")
    de = text[1].split(",")
    assert de[0] == "DE"
    de[header.index("radiologists")] = "-5"
    de[header.index("population")] = "many"
    p = tmp_path / "country_statistics.csv"
    p.write_text("\n".join([text[0], ",".join(de), *text[2:]]) + "\n")
    with pytest.raises(FrameError) as ei:
        load_statistics(p)
    got = {(pr.row, pr.column, pr.value) for pr in ei.value.problems}
    assert got == {(2, "radiologists", "-5"), (2, "population", "many")}
    assert all(pr.file == "country_statistics.csv" for pr in ei.value.problems)

    rows = DEFAULT_INVITED.read_text().splitlines()
    head = rows[0].split(",")
    assert head[:5] == ["country", "country_name", "region", "answered_2017", "respondents_table1"]
    fixed = []
    for line in rows[1:]:
        f = line.split(",")
        if f[0] == "AM":
            f[2] = "EU-West"
        if f[0] == "BG":
            f[3] = "false"
        fixed.append(",".join(f))
    q = tmp_path / "invited_countries.csv"
    q.write_text("\n".join([rows[0], *fixed]) + "\n")
    with pytest.raises(FrameError) as ei:
        load_invited_countries(q)
    by_col = {pr.column: pr for pr in ei.value.problems}
    assert set(by_col) == {"region", "answered_2017"}
    assert by_col["region"].value == "EU-West" and "EU-East" in by_col["region"].rule
    assert "contradicts respondents_table1 = 4" in by_col["answered_2017"].rule
    assert all(pr.file == "invited_countries.csv" and isinstance(pr.row, int) for pr in ei.value.problems)


# ---------------------------------------------------------------------------
# raking to margins that include countries without respondents


def test_region_coverage_reports_departments_of_countries_without_respondents():
    cells = frame_cells("radiologists")
    cov = region_coverage(cells).set_index("region")
    assert dict(cov["n_respondents"]) == {"EU-North": 17, "EU-West": 36, "EU-South": 33, "EU-East": 12}
    by_country = cells.groupby(cells["country"].astype(str))["N"].sum()
    east_without = ["AM", "AZ", "CZ", "GE", "HU", "MD", "PL", "UA"]
    assert cov.loc["EU-East", "countries_without_respondents"] == "+".join(east_without)
    assert cov.loc["EU-East", "N_without_respondents"] == pytest.approx(by_country[east_without].sum(), rel=REL)
    assert cov["N"].sum() == pytest.approx(1180, rel=REL)
    assert not cov["no_respondents"].any()
    # the answering-only frame has no such departments
    cov24 = region_coverage(frame_cells("radiologists_answering_only"))
    assert (cov24["N_without_respondents"] == 0).all()
    # a region without respondents is flagged, or raises on request
    resp = [c for c, n in TABLE1.items() for _ in range(n) if region_of(c) != "EU-East"]
    flagged = region_coverage(cells, resp).set_index("region")
    assert flagged.loc["EU-East", "no_respondents"] and flagged["no_respondents"].sum() == 1
    with pytest.raises(FrameError, match="no respondent") as ei:
        region_coverage(cells, resp, require_respondents=True)
    assert [p.value for p in ei.value.problems] == ["EU-East"]


def test_raking_to_region_margins_of_the_invited_frame():
    """Region x beds margins of the invited frame: every category has respondents, so raking
    converges and reproduces the margins; a region without respondents raises, naming it;
    the country margin (countries without respondents) raises unless pooled into regions."""
    from irmodels.identification.reconstruction import reconstruct
    from irmodels.nonresponse.weighting import COLLAPSE_BEDS_400, weight

    d = reconstruct(1, 3, "informed")
    d = d.assign(region=region_of(d["country"].astype("string")))
    d.attrs = {}
    m = frame_margins("radiologists", variables=("region", "beds_class"))
    with pytest.warns(DataDroppedWarning):
        # this replicate has no EU-East respondent below 400 beds: IPF converges slowly (about
        # 9 in 100 replicates need more than the default 100 sweeps under the invited frame)
        res = weight(d, "rake", margins=m, collapse=COLLAPSE_BEDS_400, max_iter=1000)
    got = res.weights.groupby(d["region"].astype(str)).sum()
    for reg, N in m["region"].items():
        assert got[reg] == pytest.approx(N, rel=1e-8)
    with pytest.raises(WeightingError, match="EU-East"):
        weight(d[d["region"] != "EU-East"], "rake", margins={"region": m["region"]})
    mc = frame_margins("radiologists", variables=("country",))
    with pytest.raises(WeightingError, match="'PL'"):
        weight(d, "rake", margins=mc)
    with pytest.warns(DataDroppedWarning, match="merged"):
        pooled = weight(d, "rake", margins=mc, collapse={"country": {"min_n": 5, "into": "region"}})
    east = [c for c in REGIONS["EU-East"] if c in mc["country"]]
    assert len(east) == 14  # every EU-East country is invited
    in_east = d["region"] == "EU-East"
    assert pooled.weights[in_east.to_numpy()].sum() == pytest.approx(sum(mc["country"][c] for c in east), rel=1e-8)


def _write(tmp_path, text):
    p = tmp_path / "frame.csv"
    p.write_text(text)
    return p


def test_load_valid_user_frame_and_cells(tmp_path):
    p = _write(tmp_path, "country,beds_class,N,source\nDE,>=800,30,my count\nDE,400-799,50,x\nFR,>=800,20,x\n")
    fr = load_frame(p, required_countries=["DE", "FR"])
    assert list(fr["N"]) == [30.0, 50.0, 20.0]
    from irmodels.nonresponse.frame import FrameRescaledWarning

    with pytest.warns(FrameRescaledWarning):
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


# ---------------------------------------------------------------------------
# frame files against their JSON Schema (issue 12): file, line, column, value and rule in each message


@pytest.mark.parametrize(
    "text, message",
    [
        # the type of each column
        ("country,N\nDE,10\nFR,ten\n", "file frame.csv, row 3, column 'N': value 'ten': count N is not a number"),
        ("country,N\nDE,10\n42,5\n", "file frame.csv, row 3, column 'country': value '42': unknown country code; valid codes: ['AD'"),
        ("country,beds_class,N\nDE,big,5\n",
         "file frame.csv, row 2, column 'beds_class': value 'big': unknown beds class; valid: ['<200', '200-399', '400-799', '>=800']"),
        ("country,teaching,N\nDE,true,5\nFR,2,5\n", "file frame.csv, row 3, column 'teaching': value '2': teaching must be true or false"),
        # a negative count, and an empty required cell
        ("country,N\nDE,10\nFR,-2.5\n", "file frame.csv, row 3, column 'N': value '-2.5': count N must be > 0 (drop empty cells from the file)"),
        ("country,N\nDE,10\n,4\n", "file frame.csv, row 3, column 'country': value '': country is missing; every frame row needs an ISO 3166-1"),
        # a duplicated cell: the later line is named, with the cell as written
        ("country,beds_class,N\nDE,<200,5\nFR,<200,1\nDE,<200,6\n",
         "file frame.csv, row 4, column 'country': value \"('DE', '<200')\": duplicate frame cell (country, beds_class); each cell appears once"),
        # the same cell written differently is still the same cell (before the schema, both rows were kept)
        ("country,teaching,N\nDE,true,5\n DE ,YES,6\n",
         "file frame.csv, row 3, column 'country': value \"(' DE ', 'YES')\": duplicate frame cell (country, teaching)"),
        # a missing required column and an unknown one are named on the header line
        ("country,beds_class\nDE,<200\n", "file frame.csv, row 1, column 'N': required column missing; a frame file has columns"),
        ("country,N,size\nDE,4,big\n", "file frame.csv, row 1, column 'size': unknown column; allowed: ['country', 'N', 'beds_class', 'teaching', 'source']"),
    ],
)
def test_frame_file_schema_errors_name_file_line_column_value(tmp_path, text, message):
    with pytest.raises(FrameError) as ei:
        load_frame(_write(tmp_path, text))
    assert len(ei.value.problems) == 1, str(ei.value)
    assert str(ei.value.problems[0]).startswith(message), str(ei.value.problems[0])
    assert message in str(ei.value)


def test_frame_file_schema_reports_every_row_at_once_column_by_column(tmp_path):
    text = "country,beds_class,teaching,N\nDE,<200,true,5\nUK,<200,true,0\nFR,huge,maybe,x\nFR,>=800,no,\n"
    with pytest.raises(FrameError) as ei:
        load_frame(_write(tmp_path, text))
    got = [(p.row, p.column, p.value) for p in ei.value.problems]
    assert got == [(3, "country", "UK"), (3, "N", "0"), (4, "N", "x"), (5, "N", ""), (4, "beds_class", "huge"),
                   (4, "teaching", "maybe")]
    assert "(the United Kingdom is 'GB' in ISO 3166-1)" in ei.value.problems[0].rule


def test_frame_row_schema_is_a_valid_json_schema_and_states_the_columns():
    import jsonschema

    from irmodels.nonresponse.frame_file import FRAME_ROW_SCHEMA

    jsonschema.Draft202012Validator.check_schema(FRAME_ROW_SCHEMA)
    assert FRAME_ROW_SCHEMA["required"] == ["country", "N"]
    assert list(FRAME_ROW_SCHEMA["properties"]) == ["country", "N", "beds_class", "teaching", "source"]
    assert FRAME_ROW_SCHEMA["properties"]["beds_class"]["enum"] == list(BEDS_CLASSES)
    assert set(FRAME_ROW_SCHEMA["properties"]["country"]["enum"]) == {c for cs in REGIONS.values() for c in cs}
    v = jsonschema.Draft202012Validator(FRAME_ROW_SCHEMA)
    assert v.is_valid({"country": "DE", "N": 3.0, "beds_class": "<200", "teaching": "yes", "source": "x"})
    assert [e.validator for e in v.iter_errors({"country": "DE", "N": -1.0})] == ["exclusiveMinimum"]
    assert [e.validator for e in v.iter_errors({"country": "DE", "N": "3"})] == ["type"]


def test_frame_file_size_limits(tmp_path, monkeypatch):
    import irmodels.nonresponse.frame_file as ff

    # the largest valid frame (every country x beds class x teaching status) is well inside both limits
    rows = [f"{c},{b},{t},1" for cs in REGIONS.values() for c in cs for b in BEDS_CLASSES for t in ("true", "false")]
    assert len(rows) == 424 < ff.MAX_FRAME_ROWS
    p = _write(tmp_path, "country,beds_class,teaching,N\n" + "\n".join(rows) + "\n")
    assert p.stat().st_size < ff.MAX_FRAME_BYTES
    assert load_frame(p)["N"].sum() == 424.0
    # over a limit: refused before the rows are checked, with the limit and the file's size
    monkeypatch.setattr(ff, "MAX_FRAME_ROWS", 100)
    with pytest.raises(FrameError) as ei:
        load_frame(p)
    assert str(ei.value.problems[0]) == ("file frame.csv: value 424: frame file has more than 100 rows "
                                        "(irmodels.nonresponse.frame_file.MAX_FRAME_ROWS): a frame has one row per cell")
    monkeypatch.setattr(ff, "MAX_FRAME_BYTES", 1000)
    with pytest.raises(FrameError) as ei:
        load_frame(p)
    assert str(ei.value.problems[0]) == (f"file frame.csv: value {p.stat().st_size}: frame file larger than 1000 bytes "
                                        "(irmodels.nonresponse.frame_file.MAX_FRAME_BYTES): a frame has one row per cell")


def test_frame_file_with_a_field_too_many_or_a_column_twice_is_an_error_not_a_crash(tmp_path):
    # every record one field longer than the header: pandas would take the first column as the index
    with pytest.raises(FrameError) as ei:
        load_frame(_write(tmp_path, "country,N\nDE,4,5\nFR,3,1\n"))
    assert [(p.row, p.rule) for p in ei.value.problems] == [
        (2, "3 fields where the header has 2 (a stray delimiter or quote, or a missing value?)"),
        (3, "3 fields where the header has 2 (a stray delimiter or quote, or a missing value?)")]
    with pytest.raises(FrameError) as ei:
        load_frame(_write(tmp_path, "country,N, N\nDE,4,5\n"))
    assert str(ei.value.problems[0]) == "file frame.csv, row 1, column 'N': duplicate column name in the header; each column appears once"


def test_all_hospitals_scenario_contradicts_the_respondents():
    """docs/weighting.md: under 'hospitals' the frame has fewer >=800-bed departments than
    the 51 respondents from such hospitals (paper, Results), so the analyses leave it out."""
    for suffix in ("", "_answering_only"):
        m = frame_margins("hospitals" + suffix)["beds_class"]
        assert m[">=800"] < 51
        assert frame_margins("radiologists" + suffix)["beds_class"][">=800"] > 51
        assert frame_margins("hospitals_200plus" + suffix)["beds_class"][">=800"] > 51


def test_cli_user_frame_missing_country_names_file_and_country(tmp_path, capsys):
    """`irmodels weight/prevalence/tipping-point --frame f.csv`: a respondent country
    absent from the user frame exits 2 with an error naming the frame file, the country and
    its rows (lines of the table file) and respondent ids."""
    from irmodels.cli import main
    from irmodels.core.io import write_table_atomic
    from irmodels.identification.reconstruction import reconstruct

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
        assert "value 'DE'" in err and "value 'TR'" in err, err
        assert "respondent country absent from the user frame my_frame.csv (15 respondents; respondent_id" in err
        de_lines = ", ".join(str(i + 2) for i in ens.index[ens["country"] == "DE"])
        assert f"row {de_lines}" in err


# ---------------------------------------------------------------------------
# frames that belong to the wave (issue 11): totals as given, checks against the respondents


def _frame_1440(tmp_path):
    """A user frame whose counts sum to 1440 (not 2017's 1180), with countries outside 2017's 24."""
    p = tmp_path / "frame_1440.csv"
    p.write_text("country,beds_class,N\nPL,>=800,200\nPL,400-799,300\nCZ,>=800,240\nPT,>=800,260\nDE,>=800,440\n")
    return load_frame(p)


def test_user_frame_counts_are_used_as_given(tmp_path, recwarn):
    from irmodels.nonresponse.frame import FrameRescaledWarning

    fr = _frame_1440(tmp_path)
    cells = frame_cells("user", frame=fr)
    assert cells["N"].sum() == 1440.0 and cells.attrs["total"] == 1440.0
    assert cells.attrs["rescaled_from"] is None and "frame_1440.csv" in cells.attrs["total_source"]
    assert list(cells["N"]) == [200.0, 300.0, 240.0, 260.0, 440.0]
    assert not [w for w in recwarn if issubclass(w.category, FrameRescaledWarning)]
    m = frame_margins("user", frame=fr, variables=("country", "region", "beds_class"))
    assert m["country"] == {"PL": 500.0, "CZ": 240.0, "PT": 260.0, "DE": 440.0}
    assert m["region"] == {"EU-East": 740.0, "EU-South": 260.0, "EU-West": 440.0}
    # rescaling only when asked, and then said: rule, attrs and a named warning
    with pytest.warns(FrameRescaledWarning, match="1440 rescaled to total=1180"):
        r = frame_cells("user", frame=fr, total=1180)
    assert r["N"].sum() == pytest.approx(1180, rel=REL) and r.attrs["rescaled_from"] == 1440.0
    assert r["N"].iloc[0] == pytest.approx(200 * 1180 / 1440, rel=REL)
    assert r["rule"].str.contains("rescaled from 1440 to 1180").all()


def test_named_scenarios_take_the_frame_size_of_their_wave_and_say_so():
    from irmodels.nonresponse.scenarios import scenario_total
    from irmodels.data.waves.esr_cirse_2017 import N_INVITED

    assert scenario_total("radiologists") == float(N_INVITED) == 1180.0
    c = frame_cells("radiologists")
    assert c.attrs["total"] == 1180.0 and "esr_cirse_2017" in c.attrs["total_source"]
    c2 = frame_cells("radiologists", total=1440)
    assert c2["N"].sum() == pytest.approx(1440, rel=REL) and c2.attrs["total_source"] == "total= given"
    # the same country shares at any total
    assert np.allclose(c2["N"].to_numpy() / 1440, c["N"].to_numpy() / 1180, rtol=1e-12)
    for bad in (0, -5, float("nan")):
        with pytest.raises(FrameError, match="finite number > 0"):
            frame_cells("radiologists", total=bad)
        with pytest.raises(FrameError, match="finite number > 0"):
            frame_margins("radiologists", total=bad)


def test_respondent_country_absent_from_a_user_frame_is_an_error_naming_it_and_its_rows(tmp_path):
    fr = _frame_1440(tmp_path)
    resp = pd.DataFrame({"respondent_id": ["a", "b", "c", "d", "e"], "country": ["PL", "SK", "DE", "SK", "HU"],
                         "beds_class": [">=800"] * 5}, index=[10, 11, 12, 13, 14])
    with pytest.raises(FrameError) as ei:
        frame_cells("user", frame=fr, respondents=resp)
    probs = {p.value: p for p in ei.value.problems}
    assert set(probs) == {"SK", "HU"}
    assert probs["SK"].row == "11, 13" and probs["HU"].row == "14"
    assert "respondent_id b, d" in probs["SK"].rule and probs["SK"].column == "country"
    assert "respondent country absent from the user frame frame_1440.csv" in probs["SK"].rule


def test_answering_only_scenarios_refuse_countries_outside_2017s_24():
    """Issue 11: a wave with Polish, Czech, Portuguese respondents must not be raked to region
    totals that leave those countries out."""
    resp = pd.DataFrame({"country": ["PL", "CZ", "PT", "DE"], "beds_class": [">=800"] * 4})
    for s in ANSWERING_SCENARIOS:
        if s == "respondents_table1":
            continue
        with pytest.raises(FrameError) as ei:
            frame_margins(s, variables=("region", "beds_class"), respondents=resp)
        assert {p.value for p in ei.value.problems} == {"PL", "CZ", "PT"}
        assert "covers only the countries with 2017 respondents" in str(ei.value)
    # the invited frames cover them
    m = frame_margins("radiologists", variables=("country",), respondents=resp)
    assert {"PL", "CZ", "PT"} <= set(m["country"])


def test_cells_with_fewer_frame_units_than_respondents_are_flagged_or_refused(tmp_path):
    from irmodels.nonresponse.frame_check import FrameContradictionWarning, check_frame

    fr = _frame_1440(tmp_path)
    # 3 respondents in a PT cell of 260 is fine; a 2-unit cell with 3 respondents is not
    p = tmp_path / "small.csv"
    p.write_text("country,beds_class,N\nPL,>=800,2\nPL,400-799,300\nDE,>=800,440\n")
    small = load_frame(p)
    resp = pd.DataFrame({"country": ["PL"] * 3 + ["PL", "DE"], "beds_class": [">=800"] * 3 + ["400-799", ">=800"]})
    with pytest.warns(FrameContradictionWarning, match=r"country=PL, beds_class=>=800: frame 2 < 3 respondents"):
        cells = frame_cells("user", frame=small, respondents=resp)
    assert cells.attrs["contradictions"] == ["country=PL, beds_class=>=800: frame 2 < 3 respondents"]
    assert cells.set_index(["country", "beds_class"]).loc[("PL", ">=800"), ["n_respondents", "below_respondents"]].tolist() == [3, True]
    assert int(cells["below_respondents"].sum()) == 1
    with pytest.raises(FrameError, match="contradicts the data") as ei:
        frame_cells("user", frame=small, respondents=resp, on_contradiction="raise")
    assert "user frame small.csv" in ei.value.problems[0].rule
    # a respondent cell the frame lacks (country present) has 0 frame units: a contradiction too
    resp2 = pd.DataFrame({"country": ["PL"], "beds_class": ["<200"]})
    with pytest.warns(FrameContradictionWarning, match="PL, beds_class=<200: frame 0 < 1"):
        chk = check_frame(frame_cells("user", frame=fr), resp2)
    assert chk.set_index(["country", "beds_class"]).loc[("PL", "<200"), "N"] == 0.0
    # the 2017 scenario 'hospitals' contradicts a table like 2017's (51 respondents in >=800 hospitals)
    resp17 = pd.DataFrame({"country": ["DE"] * 51, "beds_class": [">=800"] * 51})
    with pytest.raises(FrameError, match="contradicts the data"):
        frame_cells("hospitals", respondents=resp17, on_contradiction="raise")


def test_respondents_table1_is_the_given_tables_own_distribution():
    resp = pd.DataFrame({"country": ["PL", "PL", "PL", "CZ", "DE", "DE"],
                         "beds_class": [">=800", ">=800", "<200", "400-799", ">=800", "200-399"]})
    cells = frame_cells("respondents_table1", total=600, respondents=resp)
    got = cells.set_index(["country", "beds_class"])["N"].to_dict()
    assert got == {("CZ", "400-799"): 100.0, ("DE", "200-399"): 100.0, ("DE", ">=800"): 100.0,
                   ("PL", "<200"): 100.0, ("PL", ">=800"): 200.0}
    assert cells.attrs["countries"] == "respondents" and not cells["below_respondents"].any()
    assert cells["rule"].str.contains("own distribution of the given table").all()
    # without respondents it is 2017's (Table 1 x published beds counts)
    m17 = frame_margins("respondents_table1", variables=("beds_class",))["beds_class"]
    assert m17["<200"] == pytest.approx(1180 * 4 / 98, rel=REL)
    with pytest.raises(FrameError, match="missing beds_class"):
        frame_cells("respondents_table1", total=600, respondents=resp.assign(beds_class=[None] + list(resp["beds_class"][1:])))
