"""The irmodels command (audit and margins)."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stdout

import pandas as pd

from irmodels.cli import main


def _run(argv) -> str:
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(argv) == 0
    return buf.getvalue()


def test_audit_csv_parses():
    df = pd.read_csv(io.StringIO(_run(["audit", "--format", "csv"])), dtype=str, keep_default_na=False)
    for col in ("statement_id", "section", "variable", "category", "count", "denominator", "percent_printed",
                "percent_recomputed", "implied_denominator", "status", "quote"):
        assert col in df.columns
    assert len(df) >= 100
    assert (df["status"] == "inconsistent").sum() >= 5


def test_audit_filters_and_table():
    out = _run(["audit", "--status", "inconsistent", "--format", "csv"])
    df = pd.read_csv(io.StringIO(out))
    assert set(df["status"]) == {"inconsistent"}
    assert "R4-16" not in set(df["statement_id"]) and "DIS-16" in set(df["statement_id"])
    assert "statement_id" in _run(["audit"])  # table format


def test_audit_discrepancies_and_margins():
    d = pd.read_csv(io.StringIO(_run(["audit", "discrepancies", "--format", "csv"])))
    assert "D01" in set(d["discrepancy_id"])
    m = pd.read_csv(io.StringIO(_run(["margins", "--format", "csv"])), dtype={"category": str})
    assert m.set_index(["variable", "category"]).loc[("cover_24_7", "true"), "count"] == 60


def test_console_script_runs():
    proc = subprocess.run([sys.executable, "-m", "irmodels.cli", "audit", "--format", "csv"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("statement_id,")


def test_bad_arguments_exit_nonzero():
    proc = subprocess.run([sys.executable, "-m", "irmodels.cli", "audit", "--format", "xml"], capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
