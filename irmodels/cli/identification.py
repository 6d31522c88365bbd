"""``irmodels bounds`` and ``irmodels curve``: what the 2017 aggregates identify."""

from __future__ import annotations

import argparse

from irmodels.cli.common import float_in, int_in, print_table


def _bounds(args: argparse.Namespace) -> int:
    from irmodels.identification.bounds import bounds

    from irmodels.cli.common import progress

    with progress(f"identification region of {args.predictor} x {args.outcome} (mixed-integer programme)"):
        df = bounds(args.predictor, args.outcome, wave=args.wave, event=args.event, facts=args.facts)
    if args.scale:
        df = df[df["scale"] == args.scale]
    if args.format == "table":
        df = df.drop(columns=["note", "wave", "facts"])
    print_table(df, args.format)
    return 0


def _curve(args: argparse.Namespace) -> int:
    from irmodels.identification.odds_ratios import assumption_grid
    from irmodels.identification.curves import association_curve

    grid = None
    if args.range and not args.range[0] < args.range[1]:
        from irmodels.core.errors import Problem, SchemaError

        raise SchemaError([Problem("LOW must be below HIGH", column="--range", value=list(args.range))],
                          what="options")
    if args.range:
        grid = assumption_grid(args.range[0], args.range[1], args.points)
    from irmodels.cli.common import progress

    with progress(f"curve of {args.predictor} x {args.outcome} over {len(grid) if grid is not None else 'the default'} points"):
        df = association_curve(args.outcome, args.predictor, grid=grid, assumptions=args.assumptions)
    if args.format == "table":
        df = df[["assumption_value", "term", "estimate", "lower", "upper", "marginal_or", "inside_region"]]
    print_table(df, args.format)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``bounds`` and ``curve``."""
    p = sub.add_parser(
        "bounds",
        help="exact identification region of a 2017 association (risk difference and odds ratio)",
        description="Sharp bounds of the association of PREDICTOR with OUTCOME over every respondent-level "
        "table consistent with the published 2017 margins, item non-response and joint facts "
        "(integer programming). An odds ratio from 0 to inf means the published numbers do not restrict it.",
    )
    p.add_argument("predictor", help="e.g. beds_class, teaching, chair_profile")
    p.add_argument("outcome", help="e.g. cover_24_7, female_ir_share_class")
    p.add_argument("--wave", default="esr_cirse_2017")
    p.add_argument("--event", default=None, help="outcome level compared (default: true / every published level)")
    p.add_argument("--facts", choices=["published", "plausibility"], default="published",
                   help="published facts only (default) or also the reconstruction's plausibility constraints")
    p.add_argument("--scale", choices=["risk_difference", "odds_ratio"], default=None)
    p.add_argument("--format", choices=["csv", "table"], default="table")
    p.set_defaults(func=_bounds)

    c = sub.add_parser(
        "curve",
        help="a 2017 regression term as a function of its assumption parameter (an odds ratio)",
        description="Log odds ratios of PREDICTOR in the model of OUTCOME on the expected 2017 table at each "
        "assumed odds ratio (other parameters at the assumption set's values), with sampling intervals at "
        "each fixed value, the marginal odds ratio and whether it lies in the identification region.",
    )
    c.add_argument("outcome", choices=["cover_24_7", "female_ir_share_class"])
    c.add_argument("predictor", choices=["beds_class", "teaching", "chair_profile"])
    c.add_argument("--assumptions", default="informed", help="assumption set (name or YAML path)")
    c.add_argument("--range", nargs=2, type=float_in(0.0, None), metavar=("LOW", "HIGH"), default=None,
                   help="odds-ratio range of the curve, two numbers > 0 (default: the set's range)")
    c.add_argument("--points", type=int_in(2, 1000), default=25,
                   help="log-spaced odds ratios on the curve, 2 to 1000 (default 25; 1 is added when inside)")
    c.add_argument("--format", choices=["csv", "table"], default="table")
    c.set_defaults(func=_curve)
