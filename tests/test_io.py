"""Tests of irmodels.core.io: the SIMULATED wave goes from raw export to validated table (CSV and
XLSX), every recode/exclusion is reported, outputs are atomic, the committed raw files are
exactly what tools/make_simulated_wave.py writes, and the CLI works end to end."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pandas as pd

from irmodels.data.importing import import_wave, read_table
from irmodels.core.io import write_table_atomic
from irmodels.data.schema import validate
from irmodels.studies.simulate import simulate_wave

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "data" / "raw" / "simulated_demo"
EXPORT, MAPPING = SIM / "export.csv", SIM / "mapping.yaml"


def _tool():
    spec = importlib.util.spec_from_file_location("make_simulated_wave", ROOT / "tools" / "make_simulated_wave.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_committed_simulated_files_are_reproducible(tmp_path):
    tool = _tool()
    assert tool.main(["--out", str(tmp_path)]) == 0
    for name in ("export.csv", "mapping.yaml", "truth.yaml", "README.md"):
        assert (tmp_path / name).read_bytes() == (SIM / name).read_bytes(), name
    assert "SIMULATED" in (SIM / "README.md").read_text().splitlines()[0]
    assert "SIMULATED" in (SIM / "truth.yaml").read_text()


def test_simulated_wave_end_to_end(tmp_path):
    out = tmp_path / "wave" / "table.csv"
    res = import_wave(EXPORT, MAPPING, out=out)
    t = res.table
    assert len(t) == 600 and (t["wave"] == "simulated_demo").all()
    # the imported table is the simulated one, except the single "Other" work profile
    truth = simulate_wave(600, seed=20170517).reset_index(drop=True)
    other = t["chair_profile"].isna()
    assert other.sum() == 1 and truth["chair_profile"].notna().all()
    cols = [c for c in truth.columns if c != "respondent_id"]
    pd.testing.assert_frame_equal(t.loc[~other, cols].reset_index(drop=True), truth.loc[~other.to_numpy(), cols].reset_index(drop=True))
    pd.testing.assert_frame_equal(t.drop(columns=["respondent_id", "chair_profile"]), truth.drop(columns=["respondent_id", "chair_profile"]))
    # the report lists everything that was changed or removed
    rep = res.report
    assert rep["action"].value_counts().to_dict() == {"recoded": 11, "excluded": 5, "free_text": 2, "other_text": 1}
    ex = rep[rep.action == "excluded"]
    assert sorted(ex["reason"].str.split().str[0]) == ["incomplete", "incomplete", "incomplete", "test", "test"]
    recoded = set(rep.loc[rep.action == "recoded", "value"])
    assert {"U.K.", "Yes", "none", "N/A"} <= recoded
    # rows are export file lines: line 1 codes, line 2 texts, data from line 3
    lines = EXPORT.read_text().splitlines()
    for r in rep.loc[rep.action.isin(["recoded", "excluded"])].itertuples():
        assert str(r.value) in lines[int(r.row) - 1].split(","), r
    # outputs written, readable and valid
    assert out.is_file() and (tmp_path / "wave" / "table_report.csv").is_file()
    back = read_table(out)
    pd.testing.assert_frame_equal(back, t)


def test_xlsx_export_gives_the_same_table(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    with open(EXPORT, newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.reader(fh)):
            # survey tools write numbers as numbers in XLSX
            ws.append([int(v) if i >= 2 and v.isdigit() else (v or None) for v in row])
    xlsx = tmp_path / "export.xlsx"
    wb.save(xlsx)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING.read_text().replace("format: csv", "format: xlsx"))
    a = import_wave(EXPORT, MAPPING)
    b = import_wave(xlsx, mapping)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.report.astype(str), b.report.astype(str))


def test_unmapped_columns_are_reported(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.read_text().replace("ignore: [lastpage, startlanguage]", "ignore: [lastpage]"))
    rep = import_wave(EXPORT, mapping).report
    um = rep[rep.action == "unmapped"]
    assert um["column"].tolist() == ["startlanguage"] and um["row"].isna().all()


def test_write_table_atomic_leaves_no_temp_files(tmp_path):
    df = pd.DataFrame({"a": [1, 2]})
    p = write_table_atomic(df, tmp_path / "x" / "t.csv")
    assert p.read_text() == "a\n1\n2\n"
    assert [f.name for f in (tmp_path / "x").iterdir()] == ["t.csv"]


def test_read_table_roundtrip_of_reconstruction(tmp_path):
    from irmodels.identification.reconstruction import reconstruct

    ens = reconstruct(k=3, seed=1)
    p = write_table_atomic(ens, tmp_path / "ens.csv")
    back = read_table(p)
    assert back["replicate"].tolist() == ens["replicate"].tolist()
    pd.testing.assert_frame_equal(back.drop(columns="replicate"), ens.drop(columns="replicate"), check_dtype=True)
    validate(back, extra="allow")


def test_cli_import_validate_reconstruct(tmp_path, capsys):
    from irmodels.cli import main

    out = tmp_path / "t.csv"
    assert main(["import-wave", str(EXPORT), "--mapping", str(MAPPING), "--out", str(out), "--report", str(tmp_path / "r.csv")]) == 0
    assert "600 rows" in capsys.readouterr().out
    assert main(["validate", str(out)]) == 0
    ens = tmp_path / "e.csv"
    assert main(["reconstruct", "--k", "2", "--seed", "5", "--assumptions", "independent", "--out", str(ens)]) == 0
    a = ens.read_bytes()
    assert main(["reconstruct", "--k", "2", "--seed", "5", "--assumptions", "independent", "--out", str(ens)]) == 0
    assert ens.read_bytes() == a  # same seed, same bytes
    assert main(["reconstruct", "--k", "2", "--seed", "5", "--assumptions", "nonexistent", "--out", str(tmp_path / "n.csv")]) == 2
    assert "not a shipped assumption set" in capsys.readouterr().err
    assert not (tmp_path / "n.csv").exists()
