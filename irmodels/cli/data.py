"""``irmodels validate``, ``irmodels import-wave`` and ``irmodels reconstruct``.

Handlers import the heavy modules lazily. Errors of the irmodels family are printed to
stderr (every problem, with file, row and column) and give exit status 2; nothing is written
then.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from irmodels.cli.common import int_in

#: Most replicates one ``irmodels reconstruct`` call makes (the ensemble is held in memory and written at once).
MAX_K = 10_000


def _fail(command: str, exc: Exception) -> int:
    print(f"irmodels {command}: error: {exc}", file=sys.stderr)
    return 2


def _validate(args: argparse.Namespace) -> int:
    from irmodels.core.errors import IrmodelsError
    from irmodels.data.importing import read_table

    try:
        df = read_table(args.table)
    except IrmodelsError as exc:
        return _fail("validate", exc)
    waves = ", ".join(sorted(df["wave"].dropna().unique()))
    print(f"{args.table}: valid ({len(df)} rows, {df.shape[1]} columns; wave {waves})")
    return 0


def _import_wave(args: argparse.Namespace) -> int:
    from irmodels.core.errors import IrmodelsError
    from irmodels.core.io import check_output_paths
    from irmodels.data.importing import import_wave

    try:
        rep = args.report or Path(args.out).with_name(Path(args.out).stem + "_report.csv")
        check_output_paths({"--out": args.out, "--report": rep}, {"EXPORT": args.export, "--mapping": args.mapping})
        res = import_wave(args.export, args.mapping, out=args.out, report=args.report)
    except IrmodelsError as exc:
        return _fail("import-wave", exc)
    counts = res.report["action"].value_counts().to_dict()
    rep = args.report or Path(args.out).with_name(Path(args.out).stem + "_report.csv")
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "nothing to report"
    print(f"wrote {args.out} ({len(res.table)} rows) and {rep} ({summary})")
    return 0


def _reconstruct(args: argparse.Namespace) -> int:
    from irmodels.core.errors import IrmodelsError
    from irmodels.core.io import write_table_atomic
    from irmodels.identification.reconstruction import reconstruct

    from irmodels.core.io import check_output_paths

    try:
        is_file = Path(str(args.assumptions)).is_file()
        check_output_paths({"--out": args.out}, {"--assumptions": args.assumptions if is_file else None})
        if is_file:
            from irmodels.identification.odds_ratios import load_odds_ratios
            from irmodels.core.yamlio import load_yaml

            # the strict reader first (YAML 1.2 scalars; aliases, tags, duplicate keys refused with lines), and
            # the set's odds ratios, which the curves read from the same file
            load_yaml(args.assumptions)
            load_odds_ratios(args.assumptions)
        from irmodels.cli.common import progress

        with progress(f"reconstructing {args.k} replicates"):
            ens = reconstruct(args.k, args.seed, assumptions=args.assumptions)
    except IrmodelsError as exc:
        return _fail("reconstruct", exc)
    out = Path(args.out)
    fmt = args.format or ("parquet" if out.suffix.lower() == ".parquet" else "csv")
    if fmt == "parquet":
        from irmodels.core.io import atomic_path

        with atomic_path(out) as tmp:  # removed on error, SIGINT, SIGTERM
            ens.to_parquet(tmp, index=False)
    else:
        write_table_atomic(ens, out)
    print(f"wrote {out}: {args.k} replicates x 98 departments (assumptions {ens.attrs['assumptions']!r}, seed {args.seed})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``validate``, ``import-wave`` and ``reconstruct`` to the ``irmodels`` command."""
    p = subparsers.add_parser("validate", help="check a canonical respondent-level table (CSV/Parquet)",
                              description="Validate a canonical table; list every problem (row = file line).")
    p.add_argument("table", help="CSV or Parquet table with codebook columns")
    p.set_defaults(func=_validate)

    p = subparsers.add_parser("import-wave", help="import a survey-tool export (CSV/XLSX) through a YAML mapping",
                              description="Map, validate and write a new survey wave plus a report of every "
                                          "recoded, excluded, unmapped or free-text value. Nothing is written on error.")
    p.add_argument("export", help="the export as downloaded from the survey tool (CSV or XLSX)")
    p.add_argument("--mapping", required=True, help="YAML mapping (see data/raw/simulated_demo/mapping.yaml)")
    p.add_argument("--out", required=True, help="output table (CSV)")
    p.add_argument("--report", default=None, help="output report (CSV; default <out>_report.csv)")
    p.set_defaults(func=_import_wave)

    p = subparsers.add_parser("reconstruct", help="reconstruct k respondent-level datasets of the 2017 survey",
                              description="k datasets of the 98 departments of 2017, each reproducing every "
                                          "published count; unpublished associations from an assumption set.")
    p.add_argument("--k", type=int_in(1, MAX_K, why=f" replicates per call (each is 98 rows; {MAX_K} make about "
                                                    "190 MB of CSV); for more, call irmodels.reconstruct(k, seed, "
                                                    "first=...) in chunks"),
                   required=True, help=f"number of replicates (1 to {MAX_K})")
    p.add_argument("--seed", type=int_in(0, 2**63 - 1), required=True,
                   help="random seed, 0 to 2^63-1 (same seed, same bytes)")
    p.add_argument("--assumptions", default="informed", help="independent | informed | path to a YAML assumption set")
    p.add_argument("--out", required=True, help="output file")
    p.add_argument("--format", choices=["csv", "parquet"], default=None, help="default: from the file extension")
    p.set_defaults(func=_reconstruct)
