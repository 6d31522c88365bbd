"""irmodels.pipeline: wave configs, the run command, caching, failures, report numbers from tables."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from irmodels.core.errors import ConfigError
from irmodels.pipeline import load_wave_config, run_wave
from irmodels.pipeline.report import fmt

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "data" / "raw" / "simulated_demo"


def _config(tmp_path: Path, **over) -> Path:
    spec = {
        "wave": "demo_test",
        "data": {"export": str(SIM / "export.csv"), "mapping": str(SIM / "mapping.yaml")},
        "frame": {"file": str(SIM / "frame.csv")},
        "models": {"specs": ["cover_24_7"], "engines": ["statsmodels"]},
        "seed": 7,
        "output": str(tmp_path / "out"),
    }
    spec.update(over)
    p = tmp_path / "wave.yaml"
    import yaml
    p.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    cfg = _config(tmp)
    res = run_wave(cfg)
    return tmp, cfg, res


def test_run_writes_every_product(demo_run):
    tmp, cfg, res = demo_run
    out = tmp / "out"
    assert res.ok, res.log
    assert list(res.log["status"]) == ["ran"] * 8
    for rel in ("tables/respondents.csv", "tables/descriptives.csv", "tables/weights.csv", "tables/prevalence.csv",
                "tables/bounds.csv", "tables/tipping_point.csv", "tables/model_results.csv",
                "figures/prevalence.png", "figures/weights.pdf", "figures/model_forest.png",
                "figures/female_ir_share.png", "report.md", "report.html", "manifest.json", "run_log.csv"):
        assert (out / rel).is_file(), rel


def test_user_frame_total_is_used_as_given(demo_run):
    tmp, _, _ = demo_run
    out = tmp / "out"
    frame_total = pd.read_csv(SIM / "frame.csv")["N"].sum()
    assert frame_total != 1180
    w = pd.read_csv(out / "tables/weights.csv")
    assert w["weight"].sum() == pytest.approx(frame_total, rel=1e-8)
    # Manski bounds on the frame's own total: y positives of n answers among N departments
    t = pd.read_csv(out / "tables/respondents.csv", keep_default_na=False, na_values=[""])
    y = t["cover_24_7"].map({"true": 1, "false": 0, True: 1, False: 0}).dropna()
    b = pd.read_csv(out / "tables/bounds.csv").set_index("outcome").loc["cover_24_7"]
    assert b["lower"] == pytest.approx(y.sum() / frame_total)
    assert b["upper"] == pytest.approx((y.sum() + frame_total - len(y)) / frame_total)


def test_prevalence_unweighted_matches_counts(demo_run):
    tmp, _, _ = demo_run
    out = tmp / "out"
    t = pd.read_csv(out / "tables/respondents.csv", keep_default_na=False, na_values=[""])
    p = pd.read_csv(out / "tables/prevalence.csv", keep_default_na=False, na_values=[""])
    row = p[(p["outcome"] == "cover_24_7") & (p["by"] == "all") & (p["weighting"] == "unweighted")].iloc[0]
    y = t["cover_24_7"].dropna().astype(str).str.lower().eq("true")
    assert row["estimate"] == pytest.approx(y.mean())
    assert row["n"] == len(y) == 584
    fem = p[(p["outcome"] == "female_ir_share_class") & (p["by"] == "all") & (p["weighting"] == "unweighted")].iloc[0]
    s = t["female_ir_share_class"].dropna().astype(str)
    assert fem["estimate"] == pytest.approx((s != "0").mean())  # default: at least one female IR


def test_report_numbers_come_from_tables(demo_run):
    tmp, _, _ = demo_run
    out = tmp / "out"
    md = (out / "report.md").read_text()
    s = pd.read_csv(out / "tables/weight_summary.csv").iloc[0]
    assert f"Kish design effect {fmt(s['deff_kish'])}" in md
    p = pd.read_csv(out / "tables/prevalence.csv", keep_default_na=False, na_values=[""])
    w = p[(p["outcome"] == "cover_24_7") & (p["by"] == "all") & (p["weighting"] == "weighted")].iloc[0]
    assert f"weighted to the frame {100 * w['estimate']:.1f}%" in md
    res = pd.read_csv(out / "tables/model_results.csv")
    teach = res[res["term"].str.contains("teaching")].iloc[0]
    assert f"{np.exp(teach['estimate']):.2f} ({np.exp(teach['lower']):.2f} to {np.exp(teach['upper']):.2f})" in md
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html and 'src="figures/prevalence.png"' in html
    man = json.loads((out / "manifest.json").read_text())
    assert man["seed"] == 7 and "tables/weights.csv" in man["outputs"]


def test_second_run_is_cached_and_byte_identical(demo_run, tmp_path):
    tmp, cfg, _ = demo_run
    out = tmp / "out"
    before = {p: p.read_bytes() for p in (out / "tables").glob("*.csv")}
    res = run_wave(cfg)
    assert set(res.log["status"]) == {"cached"}
    assert {p: p.read_bytes() for p in (out / "tables").glob("*.csv")} == before
    # a fresh folder reproduces the same bytes (tables and figures)
    cfg2 = _config(tmp_path)
    run_wave(cfg2)
    for p in list((out / "tables").glob("*.csv")) + list((out / "figures").glob("*")):
        assert (tmp_path / "out" / p.relative_to(out)).read_bytes() == p.read_bytes(), p.name


def test_config_change_reruns_only_dependent_steps(tmp_path):
    cfg = _config(tmp_path, models=False, figures=False)
    run_wave(cfg)
    cfg = _config(tmp_path, models=False, figures=False, by=["beds_class"])
    log = run_wave(cfg).log.set_index("step")["status"]
    assert log["import"] == "cached" and log["weight"] == "cached" and log["prevalence"] == "ran"
    assert log["models"] == "not applicable"


def test_failing_step_is_recorded_and_run_goes_on(tmp_path):
    frame = pd.read_csv(SIM / "frame.csv")
    bad = tmp_path / "frame.csv"
    frame[frame["country"] != "DE"].to_csv(bad, index=False)  # a respondent country absent from the frame
    cfg = _config(tmp_path, frame={"file": str(bad)}, figures=True)
    res = run_wave(cfg)
    log = res.log.set_index("step")
    assert not res.ok
    assert log.loc["frame", "status"] == "failed" and "DE" in log.loc["frame", "reason"]
    assert log.loc["weight", "status"] == "skipped" and log.loc["prevalence", "status"] == "skipped"
    assert log.loc["describe", "status"] == "ran" and log.loc["models", "status"] == "ran"
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Steps failed in this run" in md and "frame" in md
    assert not (tmp_path / "out" / "tables" / "weights.csv").exists()


@pytest.mark.parametrize("edit, rule, line", [
    ("wave: demo\ndata: {table: nope.csv}\noutput: out\n", "file not found", 2),
    ("wave: demo\ndata: {export: a.csv}\noutput: out\n", "matches none of the allowed forms", 2),
    ("wave: demo\ndata: {published: esr_cirse_2017}\noutput: out\nfrmae: {}\n", "Additional properties", None),
    ("wave: demo\ndata: {published: esr_cirse_2017}\noutput: out\nframe: {scenario: radiologists}\n",
     "needs total", 4),
    ("wave: demo\ndata: {published: esr_cirse_2017}\noutput: out\nframe: {scenario: nope, total: 10}\n",
     "unknown frame scenario", 4),
    ("wave: demo\ndata: {published: esr_cirse_2017}\noutput: out\nmodels: {specs: [nope]}\n", "unknown model spec", 4),
    ("wave: demo\ndata: {published: esr_cirse_2017}\noutput: out\nseed: -5\n", "less than the minimum", 4),
    ("wave: demo\ndata: {published: esr_cirse_2017}\noutput: out\nwave: again\n", "duplicate key", 4),
    ("wave: NO\ndata: {published: esr_cirse_2017}\noutput: out\nmodels: {mcmc: {chains: 0}}\n",
     "less than the minimum", 4),
])
def test_config_errors_name_line_and_rule(tmp_path, edit, rule, line):
    p = tmp_path / "w.yaml"
    p.write_text(edit, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_wave_config(p)
    hits = [q for q in e.value.problems if rule in q.rule]
    assert hits, str(e.value)
    if line is not None:
        assert hits[0].row == line


def test_output_never_overwrites_inputs(tmp_path):
    shutil.copy(SIM / "frame.csv", tmp_path / "frame.csv")
    p = tmp_path / "w.yaml"
    p.write_text("wave: demo\ndata: {table: frame.csv}\noutput: .\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="outputs never overwrite inputs"):
        load_wave_config(p)


def test_outcome_category_typo_is_an_error(tmp_path):
    cfg = _config(tmp_path, models=False, figures=False,
                  outcomes={"female_ir_share_class": {"positive": ["1-25", ">25"]}})
    res = run_wave(cfg)
    assert res.log.set_index("step").loc["prevalence", "status"] == "failed"
    assert "'>25'" in res.log.set_index("step").loc["prevalence", "reason"]


def test_cli_run_and_help(tmp_path, capsys):
    from irmodels.cli import main

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "wave config fields" in capsys.readouterr().out
    cfg = _config(tmp_path, models=False, figures=False)
    assert main(["run", str(cfg), "--check"]) == 0
    assert main(["run", str(cfg), "--quiet"]) == 0
    assert (tmp_path / "out" / "report.md").is_file()


def test_shipped_configs_are_valid():
    for p in sorted((ROOT / "waves").glob("*.yaml")):
        cfg = load_wave_config(p)
        assert cfg.output.is_relative_to(ROOT / "results" / "waves"), p


@pytest.fixture(scope="module")
def wave_2017(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("w2017")
    p = tmp / "w2017.yaml"
    p.write_text(f"wave: esr_cirse_2017\ndata: {{published: esr_cirse_2017}}\nframe: {{scenarios: [radiologists], "
                 f"total: 1180}}\ninvited: 1180\nmodels: false\noutput: {tmp / 'out'}\n", encoding="utf-8")
    res = run_wave(p, steps=["margins", "population"])
    return p, res


def test_published_wave_reports_what_is_identified(wave_2017):
    p, res = wave_2017
    log = res.log.set_index("step")["status"]
    assert log["population"] == "ran" and log["associations"] == "skipped"
    pop = pd.read_csv(p.parent / "out/tables/population.csv", keep_default_na=False, na_values=[""])
    cov = pop[pop["outcome"] == "cover_24_7"].set_index("quantity")
    # paper: 60 of 97 answering departments cover 24/7; 1180 invited
    assert cov.loc["respondents' share", "estimate"] == pytest.approx(60 / 97)
    assert cov.loc["all invited departments", "lower"] == pytest.approx(60 / 1180)
    assert cov.loc["all invited departments", "upper"] == pytest.approx((60 + 1180 - 97) / 1180)
    mar = pop[(pop["outcome"] == "cover_24_7") & (pop["identification"] == "assumption")].set_index("assumption_set")
    # identical to the coverage curve of analyses/27 at the sets' odds ratios (radiologists frame)
    assert mar.loc["independent", "estimate"] == pytest.approx(0.577, abs=5e-4)
    assert mar.loc["informed", "estimate"] == pytest.approx(0.487, abs=5e-4)
    md = (p.parent / "out/report.md").read_text()
    assert "60 of 97 answering respondents (61.9%; exact)" in md


def test_compare_labels_every_row(wave_2017, demo_run, tmp_path):
    from irmodels.pipeline.compare import compare_waves, newcombe_difference

    # Newcombe (1998), Table II example: 56/70 vs 48/80, method 10 -> 0.0524 to 0.3339
    d, lo, hi = newcombe_difference(48, 80, 56, 70)
    assert (round(d, 4), round(lo, 4), round(hi, 4)) == (0.2, 0.0524, 0.3339)
    res = compare_waves([wave_2017[0], demo_run[1]], tmp_path / "cmp", grid=[0.5, 1.0, 2.0])
    ch = res["change"]
    assert set(ch["identification"]) == {"identified", "bounded", "assumption"}
    r = ch[(ch["outcome"] == "cover_24_7") & (ch["quantity"] == "respondents' shares")].iloc[0]
    assert r["estimate"] == pytest.approx(371 / 584 - 60 / 97)
    b = ch[(ch["outcome"] == "cover_24_7") & (ch["quantity"] == "population, no assumption")].iloc[0]
    frame_total = pd.read_csv(SIM / "frame.csv")["N"].sum()
    assert b["lower"] == pytest.approx(371 / frame_total - (60 + 1180 - 97) / 1180)
    wt = res["wave_term"]
    unadj = wt[(wt["outcome"] == "cover_24_7") & (wt["adjusted_for"] == "")].iloc[0]
    assert unadj["identification"] == "identified"
    assert unadj["odds_ratio"] == pytest.approx((371 / 213) / (60 / 37), rel=1e-6)
    adj = wt[(wt["outcome"] == "cover_24_7") & (wt["adjusted_for"] == "beds_class")]
    assert list(adj["assumption_value"]) == [0.5, 1.0, 2.0] and set(adj["identification"]) == {"assumption"}
    assert adj["odds_ratio"].nunique() == 3  # the adjusted term moves with the assumption
    assert (tmp_path / "cmp/report.md").is_file() and (tmp_path / "cmp/figures/wave_term.png").is_file()


def test_warm_and_cold_runs_write_the_same_bytes(tmp_path):
    cfg = _config(tmp_path, models=False, figures=False)
    run_wave(cfg)
    out = tmp_path / "out"
    cold = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and ".steps" not in p.parts}
    assert set(run_wave(cfg).log["status"]) <= {"cached", "not applicable"}
    warm = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and ".steps" not in p.parts}
    assert warm == cold
    assert "done" in pd.read_csv(out / "run_log.csv")["status"].tolist()
