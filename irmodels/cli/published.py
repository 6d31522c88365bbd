"""``irmodels audit`` and ``irmodels margins``: the published 2017 data."""

from __future__ import annotations

import argparse

from irmodels.cli.common import print_table




def _audit(args: argparse.Namespace) -> int:
    from irmodels.published.audit import audit, discrepancies, identity_checks

    if args.what == "statements":
        df = audit(wave=args.wave)
        if args.status:
            df = df[df["status"].isin(args.status)]
        if args.format == "table":
            df = df.drop(columns=["quote", "reason"]) if not args.verbose else df
    elif args.what == "discrepancies":
        df = discrepancies(wave=args.wave)
    else:
        df = identity_checks(wave=args.wave)
    print_table(df, args.format)
    return 0


def _margins(args: argparse.Namespace) -> int:
    from irmodels.data.waves.esr_cirse_2017 import published_margins

    print_table(published_margins(), args.format)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``audit`` and ``margins``."""
    p = sub.add_parser(
        "audit",
        help="consistency audit of every quantitative statement of the 2017 paper",
        description="Recompute every printed percentage, infer implied denominators, classify each statement "
        "(ok / truncated / inconsistent); or list the paper's contradictions and the adopted resolutions.",
    )
    p.add_argument("what", nargs="?", default="statements", choices=["statements", "discrepancies", "identities"])
    p.add_argument("--wave", default="esr_cirse_2017")
    p.add_argument("--format", choices=["csv", "table"], default="table")
    p.add_argument("--status", action="append", choices=["ok", "truncated", "inconsistent"],
                   help="only statements with this status (repeatable)")
    p.add_argument("--verbose", action="store_true", help="table format: also show quote and reason")
    p.set_defaults(func=_audit)

    m = sub.add_parser("margins", help="the adopted 2017 margins every reconstruction reproduces")
    m.add_argument("--format", choices=["csv", "table"], default="table")
    m.set_defaults(func=_margins)
