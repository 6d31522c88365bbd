"""The ``irmodels plan`` command: targets, frames, design effects, outputs and errors."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from irmodels.cli import main
from irmodels.studies.planning_frame import deff_kish
from irmodels.studies.planning_logistic import n_logistic_binary
from irmodels.studies.planning_proportions import n_prop_moe


def _run(argv, capsys) -> tuple[int, str, str]:
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture
def frame_file(tmp_path):
    # a user frame whose total (1440) is not 2017's 1180, with countries outside 2017's 24
    rows = [("PL", "<200", 300), ("PL", "200-399", 150), ("PL", "400-799", 60), ("PL", ">=800", 30),
            ("PT", "<200", 200), ("PT", "200-399", 100), ("PT", "400-799", 50), ("PT", ">=800", 20),
            ("DE", "<200", 250), ("DE", "200-399", 150), ("DE", "400-799", 90), ("DE", ">=800", 40)]
    p = tmp_path / "frame.csv"
    pd.DataFrame(rows, columns=["country", "beds_class", "N"]).to_csv(p, index=False)
    return p


def test_europe_wide_precision(capsys):
    rc, out, err = _run(["plan", "--half-width", "0.05", "--response-rate", "0.083", "--deff", "1.5", "--format", "csv"], capsys)
    assert rc == 0
    df = pd.read_csv(io.StringIO(out))
    assert df["responses_needed"].tolist() == [577]  # ceil(1.5 x 384.15)
    assert df["invitations_needed"].tolist() == [math.ceil(577 / 0.083)]
    assert "design effect 1.500" in err and "no frame" in err


def test_user_frame_by_region_and_class_counts_as_given(frame_file, tmp_path, capsys):
    out_csv = tmp_path / "plan.csv"
    rc, out, err = _run(["plan", "--half-width", "0.1", "--p", "0.6", "--response-rate", "0.3", "--deff", "1.2",
                         "--frame", str(frame_file), "--by", "region,beds_class", "--out", str(out_csv)], capsys)
    assert rc == 0
    df = pd.read_csv(out_csv)
    # PL -> EU-East, PT -> EU-South, DE -> EU-West; counts used as given (total 1440, no rescaling)
    assert df["frame_units"].sum() == 1440
    east_small = df[(df["region"] == "EU-East") & (df["beds_class"] == "<200")].iloc[0]
    assert east_small["frame_units"] == 300
    assert east_small["responses_needed"] == math.ceil(n_prop_moe(0.1, 0.6, population=300, deff=1.2))
    assert bool(east_small["reachable"])
    unreachable = df[~df["reachable"].astype(bool)]
    assert len(unreachable) > 0
    for _, r in unreachable.iterrows():
        assert r["invitations_needed"] > r["frame_units"]
        assert f"unreachable: region {r['region']}, beds class {r['beds_class']}" in err
    assert f"wrote {out_csv}" in err


def test_named_scenario_scaled_to_the_stated_total(capsys):
    rc, out, err = _run(["plan", "--half-width", "0.1", "--response-rate", "0.083", "--scenario", "radiologists", "--total", "1440",
                         "--by", "region", "--format", "csv"], capsys)
    assert rc == 0
    df = pd.read_csv(io.StringIO(out))
    assert df["frame_units"].sum() == pytest.approx(1440)
    assert set(df["region"]) == {"EU-North", "EU-West", "EU-South", "EU-East"}
    assert "scenario radiologists scaled to 1440 units" in err


def test_odds_ratio_with_frame_and_weights(frame_file, tmp_path, capsys):
    w = np.random.default_rng(3).lognormal(0, 0.6, size=98)
    wfile = tmp_path / "weights.csv"
    pd.DataFrame({"respondent_id": range(98), "weight": w}).to_csv(wfile, index=False)
    rc, out, err = _run(["plan", "--odds-ratio", "2.5", "--p0", "0.5", "--response-rate", "0.3", "--frame", str(frame_file),
                         "--weights", str(wfile), "--method", "hsieh", "--format", "csv"], capsys)
    assert rc == 0
    df = pd.read_csv(io.StringIO(out))
    d = deff_kish(w)
    assert df["deff"].iloc[0] == pytest.approx(d, rel=1e-12)
    assert f"design effect {d:.3f} (Kish 1 + CV^2 of 98 weights" in err
    me, mr = 90 * 0.3, (300 + 150 + 200 + 100 + 250 + 150) * 0.3
    B = me / (me + mr)
    assert df["responses_total_needed"].iloc[0] == math.ceil(d * n_logistic_binary(2.5, 0.5, B, method="hsieh"))
    assert set(df["group"]) == {"exposed", "reference"} and set(df["beds_class"]) == {">=800", "<200", "200-399"}


def test_odds_ratio_without_frame_and_rates_per_class(capsys):
    rc, out, _ = _run(["plan", "--odds-ratio", "2", "--p0", "0.5", "--share-exposed", "0.3", "--response-rate", "0.1",
                       "--method", "demidenko", "--format", "csv"], capsys)
    assert rc == 0
    df = pd.read_csv(io.StringIO(out))
    n = math.ceil(n_logistic_binary(2.0, 0.5, 0.3, method="demidenko"))
    assert df["responses_needed"].tolist() == [math.ceil(0.3 * n), math.ceil(0.7 * n)]


def test_rates_per_class(frame_file, capsys):
    rc, out, _ = _run(["plan", "--half-width", "0.1", "--response-rate", ">=800=0.2,400-799=0.15,200-399=0.1,<200=0.05",
                       "--frame", str(frame_file), "--by", "beds_class", "--format", "csv"], capsys)
    assert rc == 0
    df = pd.read_csv(io.StringIO(out)).set_index("beds_class")
    assert df.loc[">=800", "response_rate"] == 0.2 and df.loc["<200", "response_rate"] == 0.05


@pytest.mark.parametrize("argv, message", [
    (["--half-width", "0.05", "--response-rate", "0.1", "--scenario", "hospitals"], "--total"),
    (["--half-width", "0.05", "--response-rate", "0.1", "--by", "region"], "needs a frame"),
    (["--half-width", "1.5", "--response-rate", "1.5", "--deff", "-1"], "3 problems"),
    (["--half-width", "0.05", "--response-rate", ">=800=x,<200"], "expected CLASS=RATE"),
    (["--odds-ratio", "2", "--response-rate", "0.1", "--share-exposed", "0.3"], "--p0"),
    (["--odds-ratio", "2", "--p0", "0.5", "--response-rate", "0.1"], "share_exposed"),
    (["--odds-ratio", "2", "--p0", "0.5", "--share-exposed", "0.3", "--response-rate", "0.1", "--exposed", ">800"], "--exposed"),
    (["--response-rate", "0.1"], "give a target"),
    (["--half-width", "0.05", "--response-rate", "0.1", "--deff", "1.2", "--weights", "w.csv"], "not both"),
])
def test_errors_exit_2_with_message(argv, message, capsys, tmp_path):
    if "--weights" in argv:
        (tmp_path / "w.csv").write_text("weight\n1\n2\n")
        argv = [str(tmp_path / "w.csv") if a == "w.csv" else a for a in argv]
    rc, out, err = _run(["plan", *argv], capsys)
    assert rc == 2
    assert message in err and "Traceback" not in err
    assert out == ""


def test_bad_weights_named_by_line(tmp_path, capsys):
    w = tmp_path / "w.csv"
    w.write_text("respondent_id,weight\n1,1.5\n2,-1\n3,\n4,2\n")
    rc, _, err = _run(["plan", "--half-width", "0.1", "--response-rate", "0.2", "--weights", str(w)], capsys)
    assert rc == 2
    assert f"file {w}, row 3, column 'weight'" in err and "row 4" in err and "finite and > 0" in err
    (tmp_path / "empty.csv").write_text("")
    rc, _, err = _run(["plan", "--half-width", "0.1", "--response-rate", "0.2", "--weights", str(tmp_path / "empty.csv")], capsys)
    assert rc == 2 and "cannot read the weight file" in err


def test_output_never_overwrites_an_input(frame_file, capsys):
    before = frame_file.read_bytes()
    rc, _, err = _run(["plan", "--half-width", "0.1", "--response-rate", "0.2", "--frame", str(frame_file), "--out", str(frame_file)], capsys)
    assert rc == 2 and "would overwrite the input --frame" in err
    assert frame_file.read_bytes() == before


def test_bad_frame_file_names_row_and_column(tmp_path, capsys):
    p = tmp_path / "bad.csv"
    p.write_text("country,N,beds_class\nPL,-3,<200\nXX,10,>=800\n")
    rc, _, err = _run(["plan", "--half-width", "0.1", "--response-rate", "0.2", "--frame", str(p)], capsys)
    assert rc == 2
    assert "row 2" in err and "row 3" in err and "'N'" in err and "'country'" in err


def test_mutually_exclusive_targets_and_help(capsys):
    with pytest.raises(SystemExit) as ex:
        main(["plan", "--half-width", "0.1", "--odds-ratio", "2", "--response-rate", "0.1"])
    assert ex.value.code == 2
    with pytest.raises(SystemExit) as ex:
        main(["plan", "--help"])
    assert ex.value.code == 0
    assert "--odds-ratio" in capsys.readouterr().out
