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


# ---------------------------------------------------------------------------
# weight / prevalence / tipping-point on a wave's own frame (issue 11)

import hashlib  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def _call(argv, capsys) -> tuple[int, str, str]:
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.fixture(scope="module")
def wave(tmp_path_factory):
    """A respondent table (one 2017 reconstruction, 98 rows, 24 countries) and a user frame by
    country whose counts sum to 1440: N_c = 14 n_c, plus 68 for DE."""
    from irmodels.core.io import write_table_atomic
    from irmodels.identification.reconstruction import reconstruct

    d = tmp_path_factory.mktemp("wave")
    t = reconstruct(1, 3, "informed").drop(columns="replicate")
    write_table_atomic(t, d / "table.csv")
    n = t["country"].astype(str).value_counts()
    N = 14 * n
    N["DE"] += 68
    assert N.sum() == 1440
    (d / "frame.csv").write_text("country,N\n" + "".join(f"{c},{int(v)}\n" for c, v in N.items()))
    miss = t.copy()
    miss.loc[[2, 5], "country"] = None  # file lines 4 and 7
    write_table_atomic(miss, d / "missing.csv")
    return {"dir": d, "table": t, "N": N, "ids": list(t.loc[[2, 5], "respondent_id"])}


def test_weight_into_round_trip_into_fit(wave, capsys):
    from irmodels.nonresponse.frame import frame_margins
    from irmodels.nonresponse.frame_file import load_frame
    from irmodels.models.fit import fit
    from irmodels.nonresponse.weighting import weight

    d, t = wave["dir"], wave["table"]
    table, into = d / "table.csv", d / "table_weighted.csv"
    before = hashlib.sha256(table.read_bytes()).hexdigest()
    rc, _, err = _call(["weight", str(table), "--frame", str(d / "frame.csv"), "--margins", "country", "--into", str(into)], capsys)
    assert rc == 0, err
    assert "population size 1440 (sum of the counts of frame.csv)" in err
    assert hashlib.sha256(table.read_bytes()).hexdigest() == before  # the input is never touched
    got = pd.read_csv(into, dtype={"respondent_id": str})
    assert list(got.columns) == list(pd.read_csv(table, nrows=0).columns) + ["weight"]
    assert got["weight"].sum() == pytest.approx(1440, rel=1e-12)
    # country raking to a country frame: w = N_c / n_c (= 14, DE 14 + 68/15), by hand
    w = got.set_index("respondent_id")["weight"]
    de = t.loc[t["country"] == "DE", "respondent_id"]
    assert np.allclose(w[de], 14 + 68 / 15, rtol=1e-12)
    assert np.allclose(w.drop(de), 14, rtol=1e-12)
    lib = weight(t, "rake", margins=frame_margins("user", frame=load_frame(d / "frame.csv"), variables=("country",)))
    assert np.array_equal(got["weight"].to_numpy(), lib.weights.to_numpy())  # repr round trip: exact
    # irmodels fit --weights uses the column as written
    rc, out, err = _call(["fit", "cover_24_7 ~ beds_class", "--data", str(into), "--family", "bernoulli",
                          "--weights", "weight", "--missing", "drop", "--format", "csv"], capsys)
    assert rc == 0, err
    cli = pd.read_csv(io.StringIO(out)).set_index("term")
    ref = fit("cover_24_7 ~ beds_class", t.assign(weight=lib.weights), family="bernoulli", engine="statsmodels", weights="weight",
              missing="drop").tidy().set_index("term")
    assert np.allclose(cli["estimate"], ref.loc[cli.index, "estimate"], rtol=1e-9)
    assert np.allclose(cli["std_error"], ref.loc[cli.index, "std_error"], rtol=1e-9)
    # --into never overwrites the input, and refuses an existing weight column
    rc, _, err = _call(["weight", str(table), "--frame", str(d / "frame.csv"), "--margins", "country", "--into", str(table)], capsys)
    assert rc == 2 and "overwrite the input" in err
    rc, _, err = _call(["weight", str(into), "--frame", str(d / "frame.csv"), "--margins", "country",
                        "--into", str(d / "again.csv")], capsys)
    assert rc == 2 and "already has a column 'weight'" in err and not (d / "again.csv").exists()


def test_missing_drop_is_reported_by_count_and_id(wave, capsys):
    d = wave["dir"]
    base = ["--frame", str(d / "frame.csv"), "--margins", "country"]
    rc, _, err = _call(["weight", str(d / "missing.csv"), *base, "--out", str(d / "w.csv")], capsys)
    assert rc == 2 and "--missing drop" in err and "line 4, 7" in err and not (d / "w.csv").exists()
    ids = ", ".join(wave["ids"])
    rc, _, err = _call(["weight", str(d / "missing.csv"), *base, "--missing", "drop", "--out", str(d / "w.csv"),
                        "--into", str(d / "mw.csv")], capsys)
    assert rc == 0, err
    assert f"dropped 2 of 98 rows with a missing weighting variable (country: line 4, 7; respondent_id {ids})" in err
    w = pd.read_csv(d / "mw.csv")["weight"]
    assert w.isna().tolist() == [i in (2, 5) for i in range(98)]
    assert w.sum() == pytest.approx(1440, rel=1e-12)
    assert pd.read_csv(d / "w.csv")["weight"].isna().sum() == 2
    for cmd in ("prevalence", "tipping-point"):
        rc, out, err = _call([cmd, str(d / "missing.csv"), *base, "--missing", "drop", "--format", "csv"], capsys)
        assert rc == 0, err
        assert "dropped 2 of 98 rows" in err and ids in err
        assert (pd.read_csv(io.StringIO(out))["n_dropped_missing"] == 2).all()


def test_tipping_point_and_prevalence_use_the_user_frames_total(wave, capsys):
    """Manski bounds on N = 1440 (hand: y/N, (y + N - n)/N), not on 2017's 1180."""
    d, t = wave["dir"], wave["table"]
    rc, out, err = _call(["tipping-point", str(d / "table.csv"), "--frame", str(d / "frame.csv"), "--margins", "country",
                          "--format", "csv"], capsys)
    assert rc == 0, err
    r = pd.read_csv(io.StringIO(out), keep_default_na=False).iloc[0]
    y, n = int((t["cover_24_7"] == True).sum()), int(t["cover_24_7"].notna().sum())  # noqa: E712
    assert (y, n) == (60, 97)
    assert r["frame_size"] == 1440.0 and r["frame_scenario"] == "user"
    assert r["manski_lower"] == pytest.approx(60 / 1440, rel=1e-12)
    assert r["manski_upper"] == pytest.approx((60 + 1440 - 97) / 1440, rel=1e-12)
    rc, out, err = _call(["prevalence", str(d / "table.csv"), "--frame", str(d / "frame.csv"), "--margins", "country",
                          "--format", "csv"], capsys)
    assert rc == 0, err
    p = pd.read_csv(io.StringIO(out)).set_index("scenario")
    assert p.loc["user", "frame_total"] == 1440.0
    # a named scenario with a table needs the wave's frame size
    rc, _, err = _call(["weight", str(d / "table.csv"), "--out", str(d / "w2.csv")], capsys)
    assert rc == 2 and "--total is required with --scenario radiologists" in err and not (d / "w2.csv").exists()
    # --on-contradiction raise refuses a frame with fewer units than respondents (DE: 15 respondents)
    small = d / "small.csv"
    small.write_text((d / "frame.csv").read_text().replace(f"DE,{int(wave['N']['DE'])}", "DE,10"))
    rc, _, err = _call(["prevalence", str(d / "table.csv"), "--frame", str(small), "--margins", "country",
                        "--on-contradiction", "raise"], capsys)
    assert rc == 2 and "country=DE: frame 10 < 15 respondents" in err


@pytest.mark.parametrize("command", ["frame", "weight", "prevalence", "tipping-point"])
def test_help_lists_every_option_with_its_default(command):
    from irmodels.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    p = sub.choices[command]
    options = [a for a in p._actions if a.option_strings and a.dest != "help"]
    text = p.format_help()
    assert text.count("(default:") == len(options) >= 5
    for a in options:
        assert a.option_strings[-1] in text
