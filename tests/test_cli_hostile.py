"""Every CLI subcommand, driven with bad arguments and files: a message with exit status 2,
never a traceback (issue 12, item 5), and outputs never overwrite inputs (item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from irmodels.cli import main

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "data" / "raw" / "simulated_demo"
EXPORT, MAPPING = str(SIM / "export.csv"), str(SIM / "mapping.yaml")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    (d / "latin1.csv").write_bytes("respondent_id;pa\xefs\nR1;\xc9\n".encode("latin-1"))
    (d / "text.xlsx").write_text("not a spreadsheet", encoding="utf-8")
    (d / "text.parquet").write_text("not parquet", encoding="utf-8")
    (d / "empty.csv").write_text("", encoding="utf-8")
    (d / "header_only.csv").write_text("respondent_id,wave,country\n", encoding="utf-8")
    (d / "dup_header.csv").write_text("respondent_id,respondent_id\nR1,R2\n", encoding="utf-8")
    (d / "bad.yaml").write_text("columns: [unclosed\n", encoding="utf-8")
    (d / "list.yaml").write_text("- a\n- b\n", encoding="utf-8")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    (d / "bomb.yaml").write_text(bomb, encoding="utf-8")
    (d / "dir").mkdir()
    (d / "assumptions_bad.yaml").write_text("name: x\nodds_ratios: 5\n", encoding="utf-8")
    return d


CASES = [
    # (id, argv with {d} for the temp folder) -- every one must exit 2 with a message
    ("validate-missing-file", ["validate", "{d}/nope.csv"]),
    ("validate-latin1", ["validate", "{d}/latin1.csv"]),
    ("validate-empty", ["validate", "{d}/empty.csv"]),
    ("validate-header-only", ["validate", "{d}/header_only.csv"]),
    ("validate-dup-header", ["validate", "{d}/dup_header.csv"]),
    ("validate-fake-xlsx", ["validate", "{d}/text.xlsx"]),
    ("validate-fake-parquet", ["validate", "{d}/text.parquet"]),
    ("validate-directory", ["validate", "{d}/dir"]),
    ("import-missing-export", ["import-wave", "{d}/nope.csv", "--mapping", MAPPING, "--out", "{d}/o.csv"]),
    ("import-missing-mapping", ["import-wave", EXPORT, "--mapping", "{d}/nope.yaml", "--out", "{d}/o.csv"]),
    ("import-bad-yaml", ["import-wave", EXPORT, "--mapping", "{d}/bad.yaml", "--out", "{d}/o.csv"]),
    ("import-list-yaml", ["import-wave", EXPORT, "--mapping", "{d}/list.yaml", "--out", "{d}/o.csv"]),
    ("import-out-is-export", ["import-wave", EXPORT, "--mapping", MAPPING, "--out", EXPORT]),
    ("import-out-is-mapping", ["import-wave", EXPORT, "--mapping", MAPPING, "--out", MAPPING]),
    ("import-report-is-export", ["import-wave", EXPORT, "--mapping", MAPPING, "--out", "{d}/o.csv", "--report", EXPORT]),
    ("import-report-is-out", ["import-wave", EXPORT, "--mapping", MAPPING, "--out", "{d}/o.csv", "--report", "{d}/o.csv"]),
    ("import-out-is-dir", ["import-wave", EXPORT, "--mapping", MAPPING, "--out", "{d}/dir"]),
    ("import-latin1-export", ["import-wave", "{d}/latin1.csv", "--mapping", MAPPING, "--out", "{d}/o.csv"]),
    ("reconstruct-k-zero", ["reconstruct", "--k", "0", "--seed", "1", "--out", "{d}/r.csv"]),
    ("reconstruct-out-dir", ["reconstruct", "--k", "2", "--seed", "1", "--out", "{d}/dir"]),
    ("reconstruct-bad-assumptions", ["reconstruct", "--k", "2", "--seed", "1", "--assumptions", "nope", "--out", "{d}/r.csv"]),
    ("bounds-unknown-predictor", ["bounds", "nope", "cover_24_7"]),
    ("bounds-unknown-wave", ["bounds", "beds_class", "cover_24_7", "--wave", "wave_2025"]),
    ("bounds-same-variable", ["bounds", "teaching", "teaching"]),
    ("bounds-bad-event", ["bounds", "teaching", "female_ir_share_class", "--event", "26-50"]),
    ("curve-bad-assumptions", ["curve", "cover_24_7", "teaching", "--assumptions", "{d}/assumptions_bad.yaml"]),
    ("curve-missing-assumptions", ["curve", "cover_24_7", "teaching", "--assumptions", "{d}/nope.yaml"]),
    ("fit-missing-data", ["fit", "cover_24_7 ~ teaching", "--data", "{d}/nope.csv", "--family", "bernoulli"]),
    ("fit-exploit", ["fit", "cover_24_7 ~ teaching + {__import__('os')}", "--data", "{d}/o_ok.csv", "--family", "bernoulli"]),
    ("fit-bar-formula", ["fit", "cover_24_7 ~ teaching | beds_class", "--data", "{d}/o_ok.csv", "--family", "bernoulli"]),
    ("fit-trailing-plus", ["fit", "cover_24_7 ~ teaching +", "--data", "{d}/o_ok.csv", "--family", "bernoulli"]),
    ("fit-unknown-column", ["fit", "cover_24_7 ~ nope", "--data", "{d}/o_ok.csv", "--family", "bernoulli"]),
    ("weight-out-is-table", ["weight", "{d}/o_ok.csv", "--out", "{d}/o_ok.csv", "--scenario", "radiologists"]),
    ("weight-missing-table", ["weight", "{d}/nope.csv", "--out", "{d}/w.csv", "--scenario", "radiologists"]),
    ("prevalence-missing-table", ["prevalence", "{d}/nope.csv"]),
    ("tipping-missing-table", ["tipping-point", "{d}/nope.csv"]),
]


@pytest.fixture(scope="module")
def valid_table(files):
    assert main(["import-wave", EXPORT, "--mapping", MAPPING, "--out", str(files / "o_ok.csv")]) == 0
    return files / "o_ok.csv"


@pytest.mark.parametrize("case,argv", CASES, ids=[c for c, _ in CASES])
def test_bad_input_gives_a_message_and_status_2(case, argv, files, valid_table, capsys):
    args = [a.replace("{d}", str(files)) for a in argv]
    before = {p: p.stat().st_mtime_ns for p in (Path(EXPORT), Path(MAPPING))}
    try:
        rc = main(args)
    except SystemExit as exc:  # argparse's own usage errors
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2, (case, rc, err)
    assert "Traceback" not in err and "error" in err.lower(), (case, err)
    assert {p: p.stat().st_mtime_ns for p in before} == before  # inputs untouched
    assert not (files / "r.csv").exists()


def test_unexpected_errors_are_one_line_and_a_log(monkeypatch, capsys):
    import irmodels.cli.published as pub

    def boom(args):
        raise RuntimeError("synthetic failure")

    monkeypatch.setattr(pub, "_margins", boom)
    rc = main(["margins"])
    err = capsys.readouterr().err
    assert rc == 1 and "internal error (RuntimeError: synthetic failure)" in err and "Traceback" not in err
    log = Path(err.split(" in ")[-1].split(" (or")[0])
    assert log.is_file() and "RuntimeError" in log.read_text(encoding="utf-8")
    log.unlink()


def test_csv_outputs_neutralise_spreadsheet_formulas(tmp_path):
    import pandas as pd

    from irmodels.core.io import write_table_atomic

    p = write_table_atomic(pd.DataFrame({"note": ["=1+1", "@SUM(A1)", "+x", "-y", "ok"], "v": [-1.5, 2, 3, 4, 5]}),
                           tmp_path / "t.csv")
    lines = p.read_text(encoding="utf-8").splitlines()
    assert lines[1:] == ["'=1+1,-1.5", "'@SUM(A1),2.0", "'+x,3.0", "'-y,4.0", "ok,5.0"]
