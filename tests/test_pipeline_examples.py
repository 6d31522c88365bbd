"""Issue 11, "done when": three raw exports of one SIMULATED wave (LimeSurvey CSV with ';', BOM
and decimal commas; Qualtrics CSV; SurveyMonkey XLSX), each with its mapping, imported and run
through `irmodels run` with a user frame whose total is not 1180 and countries outside 2017's
24, without touching package code; every product written, and the three runs agree."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from irmodels.cli import main

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "data" / "raw" / "examples"
EXPORTS = {"limesurvey": "export.csv", "qualtrics": "export.csv", "surveymonkey": "export.xlsx"}
COUNTRIES_2017 = {"DE", "TR", "AT", "HR", "FR", "ES", "IE", "IT", "GB", "BG", "CH", "RO", "IL", "KZ", "NL", "SE",
                  "SI", "DK", "EE", "FI", "SK", "BY", "LT", "RU"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = yaml.safe_load((ROOT / "waves" / "example_2025.yaml").read_text())
    out = {}
    for src, export in EXPORTS.items():
        tmp = tmp_path_factory.mktemp(src)
        cfg = dict(base, data={"export": str(EX / src / export), "mapping": str(EX / src / "mapping.yaml")},
                   frame=dict(base["frame"], file=str(EX / "frame_2025.csv")), output=str(tmp / "out"),
                   models={"specs": ["cover_24_7"], "engines": ["statsmodels"]})
        cfg.pop("cache")
        p = tmp / "wave.yaml"
        p.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        assert main(["run", str(p), "--quiet"]) == 0
        out[src] = tmp / "out"
    return out


def test_three_exports_give_one_table_and_the_same_results(runs):
    truth = pd.read_csv(EX / "truth.csv", keep_default_na=False, na_values=[""])
    tables = {s: pd.read_csv(o / "tables/respondents.csv", keep_default_na=False, na_values=[""]) for s, o in runs.items()}
    for s, t in tables.items():
        assert len(t) == len(truth) == 230, s
        pd.testing.assert_frame_equal(t[truth.columns].sort_values("respondent_id").reset_index(drop=True),
                                      tables["limesurvey"][truth.columns].sort_values("respondent_id")
                                      .reset_index(drop=True), check_dtype=False)
    for rel in ("tables/prevalence.csv", "tables/weights.csv", "tables/bounds.csv", "tables/model_results.csv"):
        ref = (runs["limesurvey"] / rel).read_bytes()
        for s in ("qualtrics", "surveymonkey"):
            assert (runs[s] / rel).read_bytes() == ref, (s, rel)


def test_user_frame_and_new_countries(runs):
    o = runs["limesurvey"]
    t = pd.read_csv(o / "tables/respondents.csv", keep_default_na=False, na_values=[""])
    new = set(t["country"]) - COUNTRIES_2017
    assert {"PL", "CZ", "PT"} <= new
    frame_total = pd.read_csv(EX / "frame_2025.csv")["N"].sum()
    assert frame_total == 1440
    assert pd.read_csv(o / "tables/weights.csv")["weight"].sum() == pytest.approx(1440, rel=1e-8)
    chk = pd.read_csv(o / "tables/frame_check.csv", keep_default_na=False, na_values=[""])
    assert set(chk["country"]) >= new and chk["status"].eq("ok").all()
    b = pd.read_csv(o / "tables/bounds.csv").set_index("outcome")
    assert b.loc["cover_24_7", "invited"] == 1440


def test_every_product_and_report_rows(runs):
    o = runs["limesurvey"]
    for rel in ("tables/descriptives.csv", "tables/weight_summary.csv", "tables/prevalence.csv", "tables/bounds.csv",
                "tables/tipping_point.csv", "tables/model_results.csv", "figures/prevalence.png",
                "figures/tipping_point.png", "figures/weights.png", "figures/respondents_by_country.png",
                "figures/model_forest.png", "report.md", "report.html"):
        assert (o / rel).is_file(), rel
    md = (o / "report.md").read_text()
    rep = pd.read_csv(o / "tables/import_report.csv", keep_default_na=False, na_values=[""])
    n_dup = int((rep["action"] == "dropped_duplicate").sum())
    assert n_dup == 4 and f"| dropped_duplicate | {n_dup} |" in md
    assert "Harmonised variables" in md and "procedure_volume_class" in md.split("Harmonised variables")[1][:300]
    assert "1440 departments" in md


def test_extra_variables_reach_the_report(runs):
    o = runs["limesurvey"]
    num = pd.read_csv(o / "tables/descriptives_numeric.csv").set_index("variable")
    truth = pd.read_csv(EX / "truth.csv")
    assert num.loc["n_angio_suites", "source"] == "mapping extra"
    assert num.loc["n_angio_suites", "median"] == truth["n_angio_suites"].median()
    assert num.loc["ir_fte", "mean"] == pytest.approx(truth["ir_fte"].mean())
    assert "| n_angio_suites | mapping extra |" in (o / "report.md").read_text()
