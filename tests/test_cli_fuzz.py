"""Property tests: random bytes, encodings and shapes fed to ``irmodels validate`` and ``irmodels import-wave``
(issue 12, item 5).

Whatever the file, the command either succeeds (exit 0) with a valid table, or refuses it with
a clear error (exit 2, the file named, no traceback); exit 1 (a bug) never happens. For
``import-wave`` (with ``data/raw/simulated_demo/mapping.yaml``) a success must also account for
every input response: each data record of the export is either a row of the table or an
``excluded`` / ``dropped_duplicate`` row of the report, and every answer that reaches the table
is the answer of the file (the same canonical value the unmodified export gives that answer,
the same number, or an empty answer left missing) unless the report has a row for that cell.

The inputs start from the SIMULATED demonstration files (a sample of their rows) and are then
changed: cells replaced (answers from elsewhere in the file, awkward strings, arbitrary text),
the shape broken (ragged rows, a huge field, truncation, CRLF, duplicated header, empty
file, random bytes) and the text encoded as UTF-8 (with or without BOM), UTF-16 (with or without
BOM), Latin-1 or cp1252.

50 examples per test by default (about 15 s together); ``FUZZ_N=700`` searches longer (700 each
passed, about 3 min).
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from irmodels.cli import main

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "data" / "raw" / "simulated_demo"
EXPORT, MAPPING = SIM / "export.csv", SIM / "mapping.yaml"
TABLE = ROOT / "data" / "derived" / "simulated_demo" / "table.csv"

ENCODINGS = ["utf-8"] * 4 + ["utf-8-sig"] * 2 + ["utf-16", "utf-16-le", "latin-1", "cp1252"]
SHAPES = ["none"] * 12 + ["ragged_more", "ragged_less", "huge_field", "truncate", "crlf", "no_final_newline", "empty",
          "header_only", "random_bytes", "dup_header", "blank_line"]
AWKWARD = ["", " ", "1e30", "\u00b2", "-3", "3.0", "+4", "007", "NA", "N/A", "Yes", "yes", "y", "U.K.", "=1+1",
           "\x00", "A5", "-oth-", '"', "a,b", "line\nbreak", "\u0663", "Ärzte", "\ufeff", "true", "TRUE", "none"]

EXPORT_RECORDS = list(csv.reader(EXPORT.read_text(encoding="utf-8-sig").splitlines(keepends=True)))
TABLE_RECORDS = list(csv.reader(TABLE.read_text(encoding="utf-8").splitlines(keepends=True)))


def _pool(records: list[list[str]]) -> list[str]:
    return sorted({v for r in records[1:] for v in r if len(v) < 20})


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
    return rc, out.getvalue(), err.getvalue()


@st.composite
def files(draw, records: list[list[str]], n_header: int) -> tuple[bytes, str]:
    """A mutated sample of ``records`` (the first ``n_header`` kept as header rows), encoded."""
    head, body = records[:n_header], records[n_header:]
    idx = draw(st.lists(st.integers(0, len(body) - 1), min_size=1, max_size=12, unique=True))
    rows = [list(r) for r in head] + [list(body[i]) for i in idx]
    ncol = len(rows[0])
    values = st.one_of(st.sampled_from(_pool(records)), st.sampled_from(AWKWARD), st.text(max_size=8))
    for r, c, v in draw(st.lists(st.tuples(st.integers(0, len(rows) - 1), st.integers(0, ncol - 1), values),
                                 max_size=draw(st.sampled_from([0, 0, 1, 2, 4])))):
        if r >= n_header or draw(st.integers(0, 9)) == 0:  # header cells rarely
            rows[r][c] = v
    shape = draw(st.sampled_from(SHAPES))
    if shape == "ragged_more" and len(rows) > n_header:
        rows[-1] = rows[-1] + ["extra"]
    elif shape == "ragged_less" and len(rows) > n_header:
        rows[-1] = rows[-1][: max(1, ncol - 3)]
    elif shape == "huge_field" and len(rows) > n_header:
        rows[-1][draw(st.integers(0, ncol - 1))] = "x" * 200_000
    elif shape == "dup_header":
        rows[0][draw(st.integers(1, ncol - 1))] = rows[0][0]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n" if shape == "crlf" else "\n").writerows(rows)
    text = buf.getvalue()
    if shape == "no_final_newline":
        text = text.rstrip("\n")
    elif shape == "blank_line":
        text = text.replace("\n", "\n\n", 1)
    elif shape == "empty":
        text = ""
    elif shape == "header_only":
        text = "\n".join(text.split("\n")[:n_header]) + "\n"
    enc = draw(st.sampled_from(ENCODINGS))
    data = text.encode(enc, errors="replace")
    if shape == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif shape == "random_bytes":
        data = draw(st.binary(max_size=400))
    return data, f"{shape}/{enc}"


def _records_with_lines(text: str) -> list[tuple[int, list[str]]]:
    """CSV records with the file line each starts on (as irmodels.data.readers reads an export)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    out, start = [], 1
    for rec in reader:
        out.append((start, rec))
        start = reader.line_num + 1
    return out


def _baseline() -> dict[str, tuple[str, str | None, dict[str, object]]]:
    """Canonical name -> (export column, its "other" text column, {answer as written: canonical value}).

    From the unmodified export, only cells the report does not mention (answers that are codes,
    counts or empty as written). An "other" answer is reported under its text column.
    """
    from irmodels.data.importing import import_wave
    from irmodels.data.mapping import load_mapping

    m = load_mapping(MAPPING)
    res = import_wave(EXPORT, MAPPING)
    recs = _records_with_lines(EXPORT.read_text(encoding="utf-8-sig"))
    header = recs[0][1]
    by_id = {str(v): i for i, v in enumerate(res.table["respondent_id"])}
    reported = {(int(r), c) for r, c in zip(res.report["row"], res.report["column"]) if pd.notna(r)}
    out: dict[str, tuple[str, dict[str, object]]] = {}
    for name, spec in m.columns.items():
        col = spec["column"]
        j = header.index(col)
        seen: dict[str, object] = {}
        for line, rec in recs[2:]:
            i = by_id.get(rec[header.index(m.respondent_id)].strip())
            if i is None or (line, col) in reported:
                continue
            seen.setdefault(rec[j].strip(), res.table.at[i, name])
        out[name] = (col, (spec.get("other") or {}).get("text_column"), seen)
    return out


BASELINE = _baseline()


def _same_answer(name: str, raw: str, value: object, known: dict[str, object]) -> bool:
    """Whether ``value`` in the table is the answer ``raw`` of the file, unchanged."""
    raw = raw.strip()
    missing = value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
    if raw in known:
        k = known[raw]
        k_missing = k is None or k is pd.NA or (isinstance(k, float) and math.isnan(k))
        return (missing and k_missing) or (not missing and not k_missing and k == value)
    if raw == "":
        return missing
    try:
        return not missing and raw.isascii() and float(raw) == float(value)  # a count written differently
    except (TypeError, ValueError):
        return False


def _assert_clear_error(rc: int, out: str, err: str, name: str, what: str) -> None:
    assert rc == 2, (what, rc, err[-2000:])
    assert "Traceback" not in err and "internal error" not in err, (what, err[-2000:])
    assert "error" in err.lower() and name in err, (what, err[:2000])


@settings(max_examples=int(os.environ.get('FUZZ_N', 50)), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files(TABLE_RECORDS, 1))
def test_validate_accepts_a_valid_table_or_gives_a_clear_error(sample):
    data, what = sample
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "table.csv"
        p.write_bytes(data)
        rc, out, err = _run(["validate", str(p)])
        event(f"exit {rc}")
        if rc == 2:
            event("error: " + (err.splitlines()[1] if len(err.splitlines()) > 1 else err).replace(d, "")[:60])
        if rc != 0:
            _assert_clear_error(rc, out, err, "table.csv", what)
            return
        from irmodels.data.importing import read_table

        df = read_table(p)
        text = data.decode("utf-8-sig")
        recs = [r for r in csv.reader(io.StringIO(text, newline="")) if any(v.strip() for v in r)]
        assert f"valid ({len(df)} rows" in out, (what, out)
        # nothing dropped, nothing reordered: every record of the file is a row of the table
        assert len(df) == len(recs) - 1, what
        assert df["respondent_id"].astype(str).tolist() == [r[0].strip() for r in recs[1:]], what


@settings(max_examples=int(os.environ.get('FUZZ_N', 50)), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files(EXPORT_RECORDS, 2))
def test_import_wave_accounts_for_every_row_and_answer(sample):
    data, what = sample
    with tempfile.TemporaryDirectory() as d:
        exp, out_csv = Path(d) / "export.csv", Path(d) / "wave.csv"
        exp.write_bytes(data)
        rc, out, err = _run(["import-wave", str(exp), "--mapping", str(MAPPING), "--out", str(out_csv)])
        rep_csv = Path(d) / "wave_report.csv"
        event(f"exit {rc}")
        if rc == 2:
            event("error: " + (err.splitlines()[1] if len(err.splitlines()) > 1 else err).replace(d, "")[:60])
        if rc != 0:
            _assert_clear_error(rc, out, err, "export.csv", what)
            assert not out_csv.exists() and not rep_csv.exists(), what  # nothing written on error
            return
        table = pd.read_csv(out_csv, dtype=str, keep_default_na=False)
        report = pd.read_csv(rep_csv, dtype=str, keep_default_na=False)
        recs = _records_with_lines(data.decode("utf-8-sig"))
        header = recs[0][1]
        body = [(line, rec) for line, rec in recs[2:] if any(v.strip() for v in rec)]
        gone = set(report.loc[report["action"].isin(["excluded", "dropped_duplicate"]), "row"].astype(int))
        lines = [line for line, _ in body]
        # every data record is in the table or reported as excluded / dropped, and not both
        assert len(table) + len(gone) == len(body), (what, len(table), sorted(gone), lines)
        assert gone <= set(lines), what
        kept = [(line, rec) for line, rec in body if line not in gone]
        id_col = header.index("id")
        assert table["respondent_id"].tolist() == [rec[id_col].strip() for _, rec in kept], what
        # every answer in the table is the file's answer, or the report names the cell
        reported = {(int(r), c) for r, c in zip(report["row"], report["column"]) if r != ""}
        typed = pd.read_csv(out_csv, dtype=str, keep_default_na=False).replace({"": None})
        for i, (line, rec) in enumerate(kept):
            for name, (col, other_col, known) in BASELINE.items():
                raw = rec[header.index(col)] if col in header and header.index(col) < len(rec) else ""
                value = typed.at[i, name]
                if (line, col) in reported or (line, other_col) in reported:
                    continue
                known_s = {k: (None if v is None or v is pd.NA else str(v)) for k, v in known.items()}
                assert _same_answer(name, raw, value, known_s), (what, line, col, raw, value)
