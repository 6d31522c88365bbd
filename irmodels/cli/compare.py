"""``irmodels compare A.yaml B.yaml ... --out DIR``: change between survey waves, labelled by identification."""

from __future__ import annotations

import argparse
import sys


def _compare(args: argparse.Namespace) -> int:
    from irmodels.core.errors import ConfigError, Problem
    from irmodels.pipeline.compare import compare_waves

    if len(args.configs) < 2:
        raise ConfigError([Problem("compare needs at least two wave configs (the first is the reference wave)",
                                   column="CONFIGS", value=list(args.configs))], what="options")
    res = compare_waves(args.configs, args.out)
    ch = res["change"]
    for r in ch[ch["quantity"] != "population under MAR"].itertuples():
        est = "" if r.estimate != r.estimate else f"{r.estimate:+.3f} "
        print(f"{r.outcome} {r.wave} vs {r.reference_wave}, {r.quantity}: {est}[{r.lower:+.3f}, {r.upper:+.3f}] "
              f"({r.identification})")
    print(f"wrote {args.out}/tables/change.csv, wave_term.csv, figures/wave_term.*, report.md", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``compare``."""
    p = sub.add_parser("compare", help="compare two or more waves that have been run (irmodels run): change in "
                                       "24/7 cover and female IR representation, each row labelled identified, "
                                       "bounded or assumption")
    p.add_argument("configs", nargs="+", help="wave configs; the first is the reference wave")
    p.add_argument("--out", required=True, help="output folder of the comparison")
    p.set_defaults(func=_compare)
