"""Every ``irmodels`` subcommand driven with a table of bad arguments and bad files (issue 12, item 5).

Each case asserts: no traceback on stderr, the exit status (2 for anticipated bad input and for
argparse usage errors; never 1, which means "bug") and a message naming the offending file,
row, column, value or option (``needles``: substrings that must all appear in stderr,
case-insensitively). The CLI runs in-process (``irmodels.cli.main``), argparse's own usage
errors arrive as ``SystemExit(2)``. Inputs are never modified (their bytes are compared before
and after each case) and nothing is written where an error was raised.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from irmodels.cli import main

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "data" / "raw" / "simulated_demo"
EXPORT, MAPPING, FRAME = SIM / "export.csv", SIM / "mapping.yaml", SIM / "frame.csv"
TABLE = ROOT / "data" / "derived" / "simulated_demo" / "table.csv"
WAVE = ROOT / "waves" / "simulated_demo.yaml"

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def _wave_config(d: Path, **override: str) -> str:
    """The simulated demo wave config with absolute input paths and an output under ``d``."""
    fields = {
        "wave": "simulated_demo", "year": "2027", "title": '"bad-input test"',
        "data": f"\n  export: {EXPORT}\n  mapping: {MAPPING}",
        "frame": f"\n  file: {FRAME}\n  margins: [region, beds_class]",
        "models": "false", "figures": "false", "seed": "1", "output": str(d / "wave_out"),
    }
    fields.update(override)
    return "".join(f"{k}: {v}\n" for k, v in fields.items())


def _mapping_with(**override: str) -> str:
    """The simulated demo mapping with top-level fields replaced (YAML text per field)."""
    lines = MAPPING.read_text(encoding="utf-8").splitlines()
    out = []
    for ln in lines:
        key = ln.split(":", 1)[0]
        if key in override:
            out.append(f"{key}: {override.pop(key)}")
        else:
            out.append(ln)
    out += [f"{k}: {v}" for k, v in override.items()]
    return "\n".join(out) + "\n"


def make_files(d: Path) -> Path:
    """Write the bad files (and two valid wave configs) into ``d``."""
    text = TABLE.read_text(encoding="utf-8")
    header, *rows = text.splitlines()
    (d / "table.csv").write_text(text, encoding="utf-8")
    (d / "empty.csv").write_bytes(b"")
    (d / "dir").mkdir()
    (d / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (d / "binary.yaml").write_bytes(b"\x00\x01\xff\xfe" * 64)
    # a Latin-1 byte in line 4 (an accented respondent id)
    lat = rows[:]
    lat[2] = "M\xfcnchen-" + lat[2]
    (d / "latin1.csv").write_bytes(("\n".join([header, *lat]) + "\n").encode("latin-1"))
    (d / "utf16.csv").write_bytes(text.encode("utf-16"))
    cols = header.split(",")
    i = cols.index("n_ir")
    dup = [",".join(cols + ["n_ir"])] + [r + "," + r.split(",")[i] for r in rows]
    (d / "dup_header.csv").write_text("\n".join(dup) + "\n", encoding="utf-8")
    (d / "ragged.csv").write_text("\n".join([header, rows[0], rows[1] + ",extra,fields", *rows[2:]]) + "\n",
                                  encoding="utf-8")
    bad_count = rows[:]
    parts = bad_count[4].split(",")
    parts[cols.index("n_radiologists")] = "1e30"
    bad_count[4] = ",".join(parts)
    (d / "bad_count.csv").write_text("\n".join([header, *bad_count]) + "\n", encoding="utf-8")
    sup = rows[:]
    parts = sup[7].split(",")
    parts[cols.index("n_ir")] = "\u00b2"
    sup[7] = ",".join(parts)
    (d / "superscript.csv").write_text("\n".join([header, *sup]) + "\n", encoding="utf-8")
    (d / "header_only.csv").write_text(header + "\n", encoding="utf-8")
    (d / "text.parquet").write_text("not parquet\n", encoding="utf-8")
    (d / "text.xlsx").write_text("not a spreadsheet\n", encoding="utf-8")
    # YAML files
    (d / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    (d / "list.yaml").write_text("- a\n- b\n", encoding="utf-8")
    (d / "unclosed.yaml").write_text("wave: [x\n", encoding="utf-8")
    (d / "map_missing_str.yaml").write_text(_mapping_with(ignore='"lastpage"'), encoding="utf-8")
    (d / "map_ignore_int.yaml").write_text(_mapping_with(ignore="5"), encoding="utf-8")
    (d / "map_delim_empty.yaml").write_text(_mapping_with(delimiter="''"), encoding="utf-8")
    (d / "map_encoding_bogus.yaml").write_text(_mapping_with(encoding="bogus-8"), encoding="utf-8")
    (d / "map_col_missing_str.yaml").write_text(
        MAPPING.read_text(encoding="utf-8").replace('missing: ["", "N/A"]', 'missing: "NA"'), encoding="utf-8")
    (d / "map_wave_bool.yaml").write_text(_mapping_with(wave="true"), encoding="utf-8")
    (d / "map_dup_key.yaml").write_text(_mapping_with() + "wave: again\n", encoding="utf-8")
    (d / "map_tag.yaml").write_text(_mapping_with(description="!!python/object:os.system ls"), encoding="utf-8")
    (d / "assumptions_bad.yaml").write_text("name: x\nodds_ratios: 5\n", encoding="utf-8")
    # frames
    (d / "frame_neg.csv").write_text("country,beds_class,N\nAT,<200,-3\nAT,>=800,x\n", encoding="utf-8")
    (d / "frame_nocountry.csv").write_text("land,N\nAT,10\n", encoding="utf-8")
    (d / "weights_neg.csv").write_text("respondent_id,weight\nR1,1.0\nR2,-2.0\nR3,\n", encoding="utf-8")
    # wave configs
    (d / "wave_bool.yaml").write_text(_wave_config(d, wave="true"), encoding="utf-8")
    (d / "wave_title_num.yaml").write_text(_wave_config(d, title="2025"), encoding="utf-8")
    (d / "wave_out_is_input.yaml").write_text(_wave_config(d, output=str(SIM)), encoding="utf-8")
    (d / "wave_out_over_export.yaml").write_text(_wave_config(d, output=str(EXPORT)), encoding="utf-8")
    (d / "wave_missing_export.yaml").write_text(
        _wave_config(d, data=f"\n  export: {d / 'nope.csv'}\n  mapping: {MAPPING}"), encoding="utf-8")
    (d / "wave_unknown_field.yaml").write_text(_wave_config(d) + "outptu: x\n", encoding="utf-8")
    (d / "wave_ok.yaml").write_text(_wave_config(d), encoding="utf-8")
    (d / "wave_ok2.yaml").write_text(_wave_config(d, wave="second", output=str(d / "wave_out2")), encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Path:
    return make_files(tmp_path_factory.mktemp("bad_inputs"))


F = "bernoulli"
FIT = ["fit", "cover_24_7 ~ teaching", "--family", F, "--missing", "drop", "--data"]

# (id, argv with {d} = the temp folder, expected exit status, needles that must appear in stderr)
CASES: list[tuple[str, list[str], int, list[str]]] = [
    # -- top level / argparse
    ("no-command", [], 2, ["command"]),
    ("unknown-command", ["nope"], 2, ["invalid choice", "nope"]),
    ("cite-bad-format", ["cite", "--format", "xml"], 2, ["--format", "xml"]),
    ("specs-extra-arg", ["specs", "extra"], 2, ["unrecognized", "extra"]),
    ("margins-bad-format", ["margins", "--format", "json"], 2, ["--format", "json"]),
    # -- validate
    ("validate-missing", ["validate", "{d}/nope.csv"], 2, ["nope.csv", "not found"]),
    ("validate-directory", ["validate", "{d}/dir"], 2, ["dir"]),
    ("validate-empty", ["validate", "{d}/empty.csv"], 2, ["empty.csv", "empty"]),
    ("validate-binary", ["validate", "{d}/binary.csv"], 2, ["binary.csv"]),
    ("validate-latin1", ["validate", "{d}/latin1.csv"], 2, ["latin1.csv", "row 4", "utf-8"]),
    ("validate-utf16", ["validate", "{d}/utf16.csv"], 2, ["utf16.csv"]),
    ("validate-dup-header", ["validate", "{d}/dup_header.csv"], 2, ["dup_header.csv", "n_ir", "duplicate"]),
    ("validate-ragged", ["validate", "{d}/ragged.csv"], 2, ["ragged.csv", "3"]),
    ("validate-count-1e30", ["validate", "{d}/bad_count.csv"], 2, ["bad_count.csv", "row 6", "n_radiologists", "1e30"]),
    ("validate-count-superscript", ["validate", "{d}/superscript.csv"], 2, ["superscript.csv", "row 9", "n_ir", "\u00b2"]),
    ("validate-header-only", ["validate", "{d}/header_only.csv"], 2, ["header_only.csv"]),
    ("validate-fake-parquet", ["validate", "{d}/text.parquet"], 2, ["text.parquet", "parquet"]),
    # -- import-wave
    ("import-missing-export", ["import-wave", "{d}/nope.csv", "--mapping", str(MAPPING), "--out", "{d}/o.csv"], 2,
     ["nope.csv"]),
    ("import-export-dir", ["import-wave", "{d}/dir", "--mapping", str(MAPPING), "--out", "{d}/o.csv"], 2, ["dir"]),
    ("import-empty-export", ["import-wave", "{d}/empty.csv", "--mapping", str(MAPPING), "--out", "{d}/o.csv"], 2,
     ["empty.csv"]),
    ("import-binary-export", ["import-wave", "{d}/binary.csv", "--mapping", str(MAPPING), "--out", "{d}/o.csv"], 2,
     ["binary.csv"]),
    ("import-latin1-export", ["import-wave", "{d}/latin1.csv", "--mapping", str(MAPPING), "--out", "{d}/o.csv"], 2,
     ["latin1.csv", "encoding"]),
    ("import-fake-xlsx", ["import-wave", "{d}/text.xlsx", "--mapping", str(MAPPING), "--out", "{d}/o.csv"], 2,
     ["text.xlsx"]),
    ("import-utf16-export", ["import-wave", "{d}/utf16.csv", "--mapping", str(MAPPING), "--out", "{d}/o.csv"], 2,
     ["utf16.csv", "encoding"]),
    ("import-mapping-missing", ["import-wave", str(EXPORT), "--mapping", "{d}/nope.yaml", "--out", "{d}/o.csv"], 2,
     ["nope.yaml"]),
    ("import-mapping-dir", ["import-wave", str(EXPORT), "--mapping", "{d}/dir", "--out", "{d}/o.csv"], 2, ["dir"]),
    ("import-mapping-empty", ["import-wave", str(EXPORT), "--mapping", "{d}/empty.csv", "--out", "{d}/o.csv"], 2,
     ["empty.csv"]),
    ("import-mapping-binary", ["import-wave", str(EXPORT), "--mapping", "{d}/binary.yaml", "--out", "{d}/o.csv"], 2,
     ["binary.yaml"]),
    ("import-mapping-bomb", ["import-wave", str(EXPORT), "--mapping", "{d}/bomb.yaml", "--out", "{d}/o.csv"], 2,
     ["bomb.yaml", "alias"]),
    ("import-mapping-list", ["import-wave", str(EXPORT), "--mapping", "{d}/list.yaml", "--out", "{d}/o.csv"], 2,
     ["list.yaml"]),
    ("import-mapping-unclosed", ["import-wave", str(EXPORT), "--mapping", "{d}/unclosed.yaml", "--out", "{d}/o.csv"],
     2, ["unclosed.yaml", "row 2"]),
    ("import-mapping-ignore-str", ["import-wave", str(EXPORT), "--mapping", "{d}/map_missing_str.yaml", "--out",
                                   "{d}/o.csv"], 2, ["map_missing_str.yaml", "ignore"]),
    ("import-mapping-ignore-int", ["import-wave", str(EXPORT), "--mapping", "{d}/map_ignore_int.yaml", "--out",
                                   "{d}/o.csv"], 2, ["map_ignore_int.yaml", "ignore"]),
    ("import-mapping-delimiter-empty", ["import-wave", str(EXPORT), "--mapping", "{d}/map_delim_empty.yaml", "--out",
                                        "{d}/o.csv"], 2, ["map_delim_empty.yaml", "delimiter"]),
    ("import-mapping-encoding-bogus", ["import-wave", str(EXPORT), "--mapping", "{d}/map_encoding_bogus.yaml", "--out",
                                       "{d}/o.csv"], 2, ["encoding", "bogus-8"]),
    ("import-mapping-column-missing-str", ["import-wave", str(EXPORT), "--mapping", "{d}/map_col_missing_str.yaml",
                                           "--out", "{d}/o.csv"], 2, ["map_col_missing_str.yaml", "missing"]),
    ("import-mapping-wave-bool", ["import-wave", str(EXPORT), "--mapping", "{d}/map_wave_bool.yaml", "--out",
                                  "{d}/o.csv"], 2, ["map_wave_bool.yaml", "wave"]),
    ("import-mapping-dup-key", ["import-wave", str(EXPORT), "--mapping", "{d}/map_dup_key.yaml", "--out", "{d}/o.csv"],
     2, ["map_dup_key.yaml", "wave", "row"]),
    ("import-mapping-tag", ["import-wave", str(EXPORT), "--mapping", "{d}/map_tag.yaml", "--out", "{d}/o.csv"], 2,
     ["map_tag.yaml", "tag"]),
    ("import-out-is-export", ["import-wave", str(EXPORT), "--mapping", str(MAPPING), "--out", str(EXPORT)], 2,
     ["--out", "export"]),
    ("import-out-is-dir", ["import-wave", str(EXPORT), "--mapping", str(MAPPING), "--out", "{d}/dir"], 2,
     ["directory"]),
    ("import-report-is-mapping", ["import-wave", str(EXPORT), "--mapping", str(MAPPING), "--out", "{d}/o.csv",
                                  "--report", str(MAPPING)], 2, ["report", "mapping"]),
    ("import-no-mapping-option", ["import-wave", str(EXPORT), "--out", "{d}/o.csv"], 2, ["--mapping"]),
    # -- reconstruct
    ("reconstruct-seed-negative", ["reconstruct", "--k", "2", "--seed", "-5", "--out", "{d}/r.csv"], 2,
     ["--seed", "-5"]),
    ("reconstruct-seed-huge", ["reconstruct", "--k", "2", "--seed", str(2**70), "--out", "{d}/r.csv"], 2,
     ["--seed"]),
    ("reconstruct-k-huge", ["reconstruct", "--k", str(10**9), "--seed", "1", "--out", "{d}/r.csv"], 2,
     ["--k", "1000000000"]),
    ("reconstruct-k-zero", ["reconstruct", "--k", "0", "--seed", "1", "--out", "{d}/r.csv"], 2, ["--k", "0"]),
    ("reconstruct-k-text", ["reconstruct", "--k", "ten", "--seed", "1", "--out", "{d}/r.csv"], 2, ["--k", "ten"]),
    ("reconstruct-assumptions-unknown", ["reconstruct", "--k", "2", "--seed", "1", "--assumptions", "nope", "--out",
                                         "{d}/r.csv"], 2, ["nope"]),
    ("reconstruct-assumptions-bomb", ["reconstruct", "--k", "2", "--seed", "1", "--assumptions", "{d}/bomb.yaml",
                                      "--out", "{d}/r.csv"], 2, ["bomb.yaml", "alias"]),
    ("reconstruct-assumptions-bad", ["reconstruct", "--k", "2", "--seed", "1", "--assumptions",
                                     "{d}/assumptions_bad.yaml", "--out", "{d}/r.csv"], 2, ["assumptions_bad.yaml"]),
    ("reconstruct-out-dir", ["reconstruct", "--k", "2", "--seed", "1", "--out", "{d}/dir"], 2, ["--out", "directory"]),
    # -- bounds / curve
    ("bounds-unknown-predictor", ["bounds", "nope", "cover_24_7"], 2, ["nope"]),
    ("bounds-unknown-wave", ["bounds", "teaching", "cover_24_7", "--wave", "wave_2031"], 2, ["wave_2031"]),
    ("bounds-bad-event", ["bounds", "teaching", "female_ir_share_class", "--event", "26-50"], 2, ["26-50"]),
    ("bounds-bad-scale", ["bounds", "teaching", "cover_24_7", "--scale", "log"], 2, ["--scale", "log"]),
    ("curve-points-zero", ["curve", "cover_24_7", "teaching", "--points", "0"], 2, ["--points", "0"]),
    ("curve-range-negative", ["curve", "cover_24_7", "teaching", "--range", "-1", "4"], 2, ["--range", "-1"]),
    ("curve-range-reversed", ["curve", "cover_24_7", "teaching", "--range", "4", "0.5"], 2, ["--range"]),
    ("curve-assumptions-missing", ["curve", "cover_24_7", "teaching", "--assumptions", "{d}/nope.yaml"], 2,
     ["nope.yaml"]),
    ("curve-assumptions-bomb", ["curve", "cover_24_7", "teaching", "--assumptions", "{d}/bomb.yaml"], 2,
     ["bomb.yaml", "alias"]),
    ("curve-bad-outcome", ["curve", "n_ir", "teaching"], 2, ["n_ir"]),
    # -- fit / specs
    ("fit-missing-data", [*FIT, "{d}/nope.csv"], 2, ["nope.csv"]),
    ("fit-data-dir", [*FIT, "{d}/dir"], 2, ["dir"]),
    ("fit-data-empty", [*FIT, "{d}/empty.csv"], 2, ["empty.csv"]),
    ("fit-data-binary", [*FIT, "{d}/binary.csv"], 2, ["binary.csv"]),
    ("fit-data-latin1", [*FIT, "{d}/latin1.csv"], 2, ["latin1.csv", "row 4"]),
    ("fit-data-dup-header", [*FIT, "{d}/dup_header.csv"], 2, ["dup_header.csv", "n_ir"]),
    ("fit-data-ragged", [*FIT, "{d}/ragged.csv"], 2, ["ragged.csv"]),
    ("fit-data-count-1e30", [*FIT, "{d}/bad_count.csv"], 2, ["bad_count.csv", "row 6", "n_radiologists"]),
    ("fit-data-fake-parquet", [*FIT, "{d}/text.parquet"], 2, ["text.parquet"]),
    ("fit-bar-formula", ["fit", "cover_24_7 ~ teaching | beds_class", "--family", F, "--data", "{d}/table.csv"], 2,
     ["|"]),
    ("fit-trailing-plus", ["fit", "cover_24_7 ~ teaching +", "--family", F, "--data", "{d}/table.csv"], 2,
     ["teaching +"]),
    ("fit-seed-negative", [*FIT, "{d}/table.csv", "--seed", "-5"], 2, ["--seed", "-5"]),
    ("fit-chains-zero", [*FIT, "{d}/table.csv", "--engine", "pymc", "--chains", "0"], 2, ["--chains", "0"]),
    ("fit-tune-negative", [*FIT, "{d}/table.csv", "--engine", "pymc", "--tune", "-5"], 2, ["--tune", "-5"]),
    ("fit-draws-text", [*FIT, "{d}/table.csv", "--engine", "pymc", "--draws", "many"], 2, ["--draws", "many"]),
    ("fit-target-accept-1", [*FIT, "{d}/table.csv", "--engine", "pymc", "--target-accept", "1"], 2,
     ["--target-accept"]),
    ("fit-ci-prob-2", [*FIT, "{d}/table.csv", "--ci-prob", "2"], 2, ["--ci-prob", "2"]),
    ("fit-cache-dir-is-file", [*FIT, "{d}/table.csv", "--engine", "pymc", "--cache-dir", "{d}/table.csv"], 2,
     ["--cache-dir", "table.csv"]),
    ("fit-unknown-family", ["fit", "cover_24_7 ~ teaching", "--family", "poisson", "--data", "{d}/table.csv"], 2,
     ["--family", "poisson"]),
    ("fit-unknown-column", ["fit", "cover_24_7 ~ nope", "--family", F, "--data", "{d}/table.csv"], 2, ["nope"]),
    ("fit-exploit", ["fit", "cover_24_7 ~ teaching + {__import__('os')}", "--family", F, "--data", "{d}/table.csv"],
     2, ["__import__"]),
    ("fit-unknown-weights", [*FIT, "{d}/table.csv", "--weights", "w_nope"], 2, ["w_nope"]),
    ("fit-unknown-group", [*FIT, "{d}/table.csv", "--engine", "pymc", "--group", "g_nope"], 2, ["g_nope"]),
    # -- audit / margins
    ("audit-unknown-wave", ["audit", "--wave", "wave_2031"], 2, ["wave_2031"]),
    ("audit-bad-what", ["audit", "everything"], 2, ["everything"]),
    # -- frame / weight / prevalence / tipping-point
    ("frame-by-nope", ["frame", "--by", "nope"], 2, ["--by", "nope"]),
    ("frame-unknown-scenario", ["frame", "--scenario", "nope"], 2, ["nope"]),
    ("frame-total-negative", ["frame", "--total", "-10"], 2, ["--total", "-10"]),
    ("frame-total-nan", ["frame", "--total", "nan"], 2, ["--total", "nan"]),
    ("frame-file-missing", ["frame", "--frame", "{d}/nope.csv"], 2, ["nope.csv"]),
    ("frame-file-dir", ["frame", "--frame", "{d}/dir"], 2, ["dir"]),
    ("frame-file-empty", ["frame", "--frame", "{d}/empty.csv"], 2, ["empty.csv"]),
    ("frame-file-binary", ["frame", "--frame", "{d}/binary.csv"], 2, ["binary.csv"]),
    ("frame-file-latin1", ["frame", "--frame", "{d}/latin1.csv"], 2, ["latin1.csv"]),
    ("frame-file-bad-counts", ["frame", "--frame", "{d}/frame_neg.csv"], 2, ["frame_neg.csv", "N"]),
    ("frame-file-no-country", ["frame", "--frame", "{d}/frame_nocountry.csv"], 2, ["frame_nocountry.csv", "country"]),
    ("weight-missing-table", ["weight", "{d}/nope.csv", "--out", "{d}/w.csv", "--total", "1180"], 2, ["nope.csv"]),
    ("weight-no-output", ["weight", "{d}/table.csv", "--total", "1180"], 2, ["--out"]),
    ("weight-out-is-table", ["weight", "{d}/table.csv", "--out", "{d}/table.csv", "--total", "1180"], 2,
     ["--out", "table.csv"]),
    ("weight-into-is-table", ["weight", "{d}/table.csv", "--into", "{d}/table.csv", "--total", "1180"], 2,
     ["--into", "table.csv"]),
    ("weight-unknown-method", ["weight", "{d}/table.csv", "--out", "{d}/w.csv", "--frame", str(FRAME), "--method",
                               "magic"], 2, ["magic"]),
    ("weight-unknown-margin", ["weight", "{d}/table.csv", "--out", "{d}/w.csv", "--frame", str(FRAME), "--margins",
                               "region,nope"], 2, ["nope"]),
    ("weight-trim-negative", ["weight", "{d}/table.csv", "--out", "{d}/w.csv", "--frame", str(FRAME), "--trim", "-1"],
     2, ["--trim", "-1"]),
    ("weight-pool-negative", ["weight", "{d}/table.csv", "--out", "{d}/w.csv", "--frame", str(FRAME),
                              "--pool-countries", "-3"], 2, ["--pool-countries", "-3"]),
    ("weight-no-total", ["weight", "{d}/table.csv", "--out", "{d}/w.csv"], 2, ["--total"]),
    ("prevalence-unknown-outcome", ["prevalence", "{d}/table.csv", "--frame", str(FRAME), "--outcome", "o_nope"], 2,
     ["o_nope"]),
    ("prevalence-unknown-by", ["prevalence", "{d}/table.csv", "--frame", str(FRAME), "--by", "b_nope"], 2, ["b_nope"]),
    ("prevalence-unknown-scenario", ["prevalence", "{d}/table.csv", "--total", "1180", "--scenario-list",
                                     "radiologists,s_nope"], 2, ["s_nope"]),
    ("prevalence-latin1-table", ["prevalence", "{d}/latin1.csv", "--frame", str(FRAME)], 2, ["latin1.csv", "row 4"]),
    ("tipping-threshold-2", ["tipping-point", "{d}/table.csv", "--frame", str(FRAME), "--threshold", "2"], 2,
     ["--threshold", "2"]),
    ("tipping-unknown-outcome", ["tipping-point", "{d}/table.csv", "--frame", str(FRAME), "--outcome", "o_nope"], 2,
     ["o_nope"]),
    # -- run / compare
    ("run-missing-config", ["run", "{d}/nope.yaml"], 2, ["nope.yaml"]),
    ("run-config-dir", ["run", "{d}/dir"], 2, ["dir"]),
    ("run-config-empty", ["run", "{d}/empty.csv"], 2, ["empty.csv"]),
    ("run-config-binary", ["run", "{d}/binary.yaml"], 2, ["binary.yaml"]),
    ("run-config-bomb", ["run", "{d}/bomb.yaml"], 2, ["bomb.yaml", "alias"]),
    ("run-config-bool", ["run", "{d}/wave_bool.yaml", "--check"], 2, ["wave_bool.yaml", "wave", "true"]),
    ("run-config-title-number", ["run", "{d}/wave_title_num.yaml", "--check"], 2, ["wave_title_num.yaml", "title"]),
    ("run-output-is-input-folder", ["run", "{d}/wave_out_is_input.yaml"], 2, ["wave_out_is_input.yaml", "output"]),
    ("run-output-is-export", ["run", "{d}/wave_out_over_export.yaml"], 2, ["wave_out_over_export.yaml", "output"]),
    ("run-missing-export", ["run", "{d}/wave_missing_export.yaml"], 2, ["nope.csv"]),
    ("run-unknown-field", ["run", "{d}/wave_unknown_field.yaml"], 2, ["outptu"]),
    ("run-unknown-step", ["run", "{d}/wave_ok.yaml", "--steps", "st_nope"], 2, ["st_nope"]),
    ("compare-one-config", ["compare", "{d}/wave_ok.yaml", "--out", "{d}/cmp"], 2, ["two"]),
    ("compare-missing-config", ["compare", "{d}/wave_ok.yaml", "{d}/nope.yaml", "--out", "{d}/cmp"], 2,
     ["nope.yaml"]),
    ("compare-same-config-twice", ["compare", "{d}/wave_ok.yaml", "{d}/wave_ok.yaml", "--out", "{d}/cmp"], 2,
     ["twice"]),
    ("compare-not-run", ["compare", "{d}/wave_ok.yaml", "{d}/wave_ok2.yaml", "--out", "{d}/cmp"], 2,
     ["irmodels run"]),
    ("compare-out-is-input", ["compare", "{d}/wave_ok.yaml", "{d}/wave_ok2.yaml", "--out", str(SIM)], 2,
     ["output"]),
    ("compare-no-out", ["compare", "{d}/wave_ok.yaml", "{d}/wave_ok2.yaml"], 2, ["--out"]),
    # -- plan
    ("plan-half-width-negative", ["plan", "--half-width", "-0.05", "--response-rate", "0.1"], 2,
     ["half", "-0.05"]),
    ("plan-half-width-zero", ["plan", "--half-width", "0", "--response-rate", "0.1"], 2, ["half"]),
    ("plan-no-target", ["plan", "--response-rate", "0.1"], 2, ["--half-width"]),
    ("plan-rate-2", ["plan", "--half-width", "0.05", "--response-rate", "2"], 2, ["response", "2"]),
    ("plan-rate-text", ["plan", "--half-width", "0.05", "--response-rate", "lots"], 2, ["--response-rate", "lots"]),
    ("plan-rate-class-unknown", ["plan", "--half-width", "0.05", "--response-rate", "huge=0.2"], 2, ["huge"]),
    ("plan-p-1.5", ["plan", "--half-width", "0.05", "--p", "1.5", "--response-rate", "0.1"], 2, ["1.5"]),
    ("plan-alpha-0", ["plan", "--half-width", "0.05", "--alpha", "0", "--response-rate", "0.1"], 2, ["alpha"]),
    ("plan-deff-negative", ["plan", "--half-width", "0.05", "--deff", "-1", "--response-rate", "0.1"], 2,
     ["deff", "-1"]),
    ("plan-power-1", ["plan", "--odds-ratio", "2", "--p0", "0.5", "--power", "1", "--response-rate", "0.1"], 2,
     ["power"]),
    ("plan-odds-ratio-negative", ["plan", "--odds-ratio", "-2", "--p0", "0.5", "--response-rate", "0.1"], 2,
     ["odds", "-2"]),
    ("plan-both-targets", ["plan", "--half-width", "0.05", "--odds-ratio", "2", "--response-rate", "0.1"], 2,
     ["not allowed"]),
    ("plan-weights-negative", ["plan", "--half-width", "0.05", "--response-rate", "0.1", "--weights",
                               "{d}/weights_neg.csv"], 2, ["weights_neg.csv"]),
    ("plan-weights-binary", ["plan", "--half-width", "0.05", "--response-rate", "0.1", "--weights",
                             "{d}/binary.csv"], 2, ["binary.csv"]),
    ("plan-weights-missing", ["plan", "--half-width", "0.05", "--response-rate", "0.1", "--weights",
                              "{d}/nope.csv"], 2, ["nope.csv"]),
    ("plan-frame-bad", ["plan", "--half-width", "0.05", "--response-rate", "0.1", "--frame", "{d}/frame_neg.csv"], 2,
     ["frame_neg.csv"]),
    ("plan-by-nope", ["plan", "--half-width", "0.05", "--response-rate", "0.1", "--frame", str(FRAME), "--by",
                      "nope"], 2, ["--by", "nope"]),
    ("plan-out-is-frame", ["plan", "--half-width", "0.05", "--response-rate", "0.1", "--frame", str(FRAME),
                           "--out", str(FRAME)], 2, ["--out", "--frame"]),
]


def _digest(paths) -> dict:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        return exc.code


def test_the_table_covers_every_subcommand():
    from irmodels.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    tested = {argv[0] for _, argv, _, _ in CASES if argv}
    assert set(sub.choices) <= tested, set(sub.choices) - tested
    assert len(CASES) >= 60
    assert len({c for c, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize("case,argv,status,needles", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_a_clear_message(case, argv, status, needles, d, capsys):
    args = [a.replace("{d}", str(d)) for a in argv]
    inputs = [EXPORT, MAPPING, FRAME, TABLE, d / "table.csv"]
    before = _digest(inputs)
    rc = _run(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out, (case, err)
    assert rc == status, (case, rc, err)
    assert "error" in err.lower() and "internal error" not in err, (case, err)
    low = err.lower()
    missing = [n for n in needles if n.lower() not in low]
    assert not missing, (case, missing, err)
    assert _digest(inputs) == before  # inputs untouched
    for name in ("o.csv", "o_report.csv", "r.csv", "w.csv", "cmp"):
        assert not (d / name).exists(), (case, name)
    assert not [p for p in d.rglob(".*") if p.is_file()], "temporary files left behind"


def test_fit_names_rows_by_file_line_like_validate(d, capsys):
    """``fit`` reads with the reader of ``validate``: the same file line in both messages, and an empty cell of
    a non-codebook column (a ``weight --into`` weight) is a missing value, dropped only on request."""
    import io

    import pandas as pd

    from irmodels.data.importing import read_table
    from irmodels.models.fit import fit

    lines = TABLE.read_text(encoding="utf-8").splitlines()
    cols = lines[0].split(",")
    rows = [r + ",1.5" if i != 5 else r + "," for i, r in enumerate(lines[1:])]  # row 5 = file line 7
    bad = [r.split(",") for r in rows]
    bad[9][cols.index("n_ir")] = "many"  # file line 11
    (d / "weighted.csv").write_text("\n".join([lines[0] + ",weight", *rows]) + "\n", encoding="utf-8")
    (d / "weighted_bad.csv").write_text("\n".join([lines[0] + ",weight", *(",".join(r) for r in bad)]) + "\n",
                                        encoding="utf-8")
    for cmd in (["validate", str(d / "weighted_bad.csv")],
                ["fit", "cover_24_7 ~ teaching", "--family", F, "--data", str(d / "weighted_bad.csv")]):
        assert _run(cmd) == 2
        assert "file weighted_bad.csv, row 11, column 'n_ir': value 'many'" in capsys.readouterr().err
    assert _run(["fit", "cover_24_7 ~ teaching", "--family", F, "--data", str(d / "weighted.csv"), "--weights",
                 "weight"]) == 2
    assert "row 7, column 'weight': missing value" in capsys.readouterr().err
    assert _run(["fit", "cover_24_7 ~ teaching", "--family", F, "--data", str(d / "weighted.csv"), "--weights",
                 "weight", "--missing", "drop", "--format", "csv"]) == 0
    got = pd.read_csv(io.StringIO(capsys.readouterr().out))
    ref = read_table(d / "weighted.csv").drop(index=5)
    ref["weight"] = ref["weight"].astype(float)
    want = fit("cover_24_7 ~ teaching", ref, family=F, engine="statsmodels", weights="weight", missing="drop").tidy()
    assert got["estimate"].tolist() == pytest.approx(want["estimate"].tolist(), rel=1e-12)
