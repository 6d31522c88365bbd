"""``irmodels plan``: responses and invitations needed by the next wave, per region and size class.

Two targets (one per call):

* ``--half-width E``: a confidence interval of half-width E for a prevalence (24/7 coverage),
  Europe-wide or per cell (``--by region``, ``--by beds_class``, ``--by region,beds_class``);
* ``--odds-ratio OR --p0 P``: power to detect an odds ratio between two groups of size
  classes (default ``>=800`` versus ``<200,200-399``), Europe-wide or within each region.

Invitations follow from ``--response-rate`` (one rate, or one per size class:
``">=800=0.12,400-799=0.09,200-399=0.07,<200=0.05"``) and the design effect (``--deff``, or the
Kish design effect of a weight file ``--weights``). The frame (``--frame FILE`` as
``irmodels frame`` reads it, or ``--scenario NAME --total N``) gives the units per cell and
caps what is reachable.
"""

from __future__ import annotations

import argparse
import math
import sys

from irmodels.cli.common import print_table

_EPILOG = """examples:
  irmodels plan --half-width 0.05 --response-rate 0.083 --deff 1.5
  irmodels plan --half-width 0.10 --p 0.6 --response-rate 0.083 --deff 1.5 --by region --frame frame_2025.csv
  irmodels plan --half-width 0.10 --response-rate 0.083 --by region,beds_class --scenario hospitals --total 1440
  irmodels plan --odds-ratio 2 --p0 0.5 --power 0.8 --response-rate 0.083 --scenario hospitals --total 1440
  irmodels plan --odds-ratio 2 --p0 0.5 --share-exposed 0.3 --response-rate 0.083 --weights weights_2017.csv

Formulas and references: docs/planning.md.
"""


def _error(rule: str, option: str, value=None):
    from irmodels.core.errors import Problem
    from irmodels.studies.planning_checks import PlanningError

    return PlanningError([Problem(rule=rule, column=option, value=value)], what="options")


def _response_rate(text: str):
    """``0.083`` or ``CLASS=RATE,...`` (rates per beds class)."""
    from irmodels.core.errors import Problem
    from irmodels.studies.planning_checks import PlanningError

    text = text.strip()
    if "=" not in text:
        try:
            return float(text)
        except ValueError:
            raise _error("a response rate is a number in (0, 1] or CLASS=RATE,... per beds class", "--response-rate", text) from None
    out, probs = {}, []
    for part in text.split(","):
        k, sep, v = part.rpartition("=")
        k = k.strip()
        try:
            rate = float(v)
        except ValueError:
            rate = None
        if not sep or not k or rate is None:
            probs.append(Problem(rule="expected CLASS=RATE (e.g. >=800=0.12)", column="--response-rate", value=part))
        elif k in out:
            probs.append(Problem(rule="beds class given twice", column="--response-rate", value=k))
        else:
            out[k] = rate
    if probs:
        raise PlanningError(probs, what="options")
    return out


def _classes(text: str, option: str) -> list[str]:
    from irmodels.nonresponse.frame_keys import BEDS_CLASSES

    out = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in out if s not in BEDS_CLASSES]
    if bad or not out:
        raise _error(f"beds classes (codebook codes) separated by commas; valid: {list(BEDS_CLASSES)}", option, text)
    return out


def _cells(args: argparse.Namespace):
    """Frame cells of ``--frame`` (counts as given) or ``--scenario`` with ``--total``; None without either."""
    from irmodels.nonresponse.frame import frame_cells
    from irmodels.nonresponse.frame_file import load_frame

    if args.frame and args.scenario:
        raise _error("give either --frame or --scenario, not both", "--scenario", args.scenario)
    if args.frame:
        if args.total is not None:
            raise _error("a user frame's counts are used as given: its total is the frame size; drop --total", "--total", args.total)
        return frame_cells("user", frame=load_frame(args.frame), total=None)
    if args.scenario:
        if args.total is None:
            raise _error("a scenario gives shares only: state the next wave's frame size with --total (e.g. the number of "
                         "departments you can invite)", "--total")
        if not (args.total > 0 and math.isfinite(args.total)):
            raise _error("the frame size must be a number > 0", "--total", args.total)
        return frame_cells(args.scenario, total=args.total)
    return None


def _deff(args: argparse.Namespace) -> tuple[float, str]:
    if args.weights is None:
        return args.deff, "given (--deff)"
    if args.deff_given:
        raise _error("give either --deff or --weights (whose Kish design effect is used), not both", "--weights", args.weights)
    import pandas as pd

    from irmodels.studies.planning_frame import deff_kish

    from irmodels.core.errors import Problem
    from irmodels.studies.planning_checks import PlanningError

    try:
        df = pd.read_csv(args.weights)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise _error(f"cannot read the weight file as CSV ({type(exc).__name__}: {exc})", "--weights", args.weights) from None
    if args.weight_column not in df.columns:
        raise _error(f"the weight file has no column {args.weight_column!r}; it has {list(df.columns)} (choose one with --weight-column)",
                     "--weights", args.weights)
    try:
        # rows named by their line in the file (the header is line 1)
        d = deff_kish(pd.Series(df[args.weight_column].to_numpy(), index=df.index + 2))
    except PlanningError as exc:
        raise PlanningError([Problem(rule=p.rule, file=args.weights, row=p.row, column=args.weight_column, value=p.value)
                             for p in exc.problems], what="weights file") from None
    return d, f"Kish 1 + CV^2 of {len(df)} weights in {args.weights}"


def _plan(args: argparse.Namespace) -> int:
    from irmodels.core.io import check_output_paths, write_table_atomic
    from irmodels.studies.planning_plans import plan_odds_ratio, plan_precision

    check_output_paths({"--out": args.out}, {"--frame": args.frame, "--weights": args.weights})
    if args.half_width is None and args.odds_ratio is None:
        raise _error("give a target: --half-width E (precision) or --odds-ratio OR with --p0 P (power)", "--half-width")
    if args.by is not None and (not args.by.strip() or any(k.strip() not in ("region", "beds_class")
                                                            for k in args.by.split(","))):
        raise _error("plans are by region, beds_class or region,beds_class", "--by", args.by)
    rate = _response_rate(args.response_rate)
    cells = _cells(args)
    deff, deff_source = _deff(args)
    by = args.by
    if args.half_width is not None:
        for opt in ("p0", "share_exposed"):
            if getattr(args, opt) is not None:
                raise _error("belongs to an --odds-ratio plan", "--" + opt.replace("_", "-"), getattr(args, opt))
        args.p = 0.5 if args.p is None else args.p
        out = plan_precision(cells, half_width=args.half_width, p=args.p, response_rate=rate, deff=deff, alpha=args.alpha,
                             by=by, interval=args.interval, population=args.total if cells is None else None)
        what = f"half-width {args.half_width:g} of a {100 * (1 - args.alpha):g}% {args.interval} interval at p = {args.p:g}"
    else:
        if args.p0 is None:
            raise _error("an --odds-ratio plan needs --p0, the anticipated prevalence in the reference group", "--p0")
        if args.p is not None:
            raise _error("belongs to a --half-width plan (use --p0 for the reference group)", "--p", args.p)
        if cells is None and args.total is not None:
            raise _error("without a frame, --total has no use in an --odds-ratio plan (no finite population correction "
                         "for a comparison); give --frame or --scenario to cap invitations by the frame", "--total", args.total)
        if args.interval != "wald":
            raise _error("belongs to a --half-width plan", "--interval", args.interval)
        out = plan_odds_ratio(cells, odds_ratio=args.odds_ratio, p0=args.p0, response_rate=rate,
                              exposed=_classes(args.exposed, "--exposed"),
                              reference=_classes(args.reference, "--reference"),
                              share_exposed=args.share_exposed, deff=deff, power=args.power, alpha=args.alpha,
                              method=args.method, by=by)
        what = (f"odds ratio {args.odds_ratio:g} at p0 = {args.p0:g}, power {args.power:g}, alpha {args.alpha:g} "
                f"({args.method})")
    if args.out:
        write_table_atomic(out, args.out)
    print_table(out.drop(columns=["note"]) if args.format == "table" else out, args.format)
    frame_desc = (f"frame {args.frame}" if args.frame else f"scenario {args.scenario} scaled to {args.total:g} units" if args.scenario
                  else "no frame (infinite population" + (f", N = {args.total:g} for the correction)" if args.total else ")"))
    print(f"plan: {what}; design effect {deff:.3f} ({deff_source}); {frame_desc}", file=sys.stderr)
    if "reachable" in out.columns:
        bad = out[out["reachable"].eq(False)]
        for _, r in bad.iterrows():
            print(f"unreachable: region {r['region']}, beds class {r['beds_class']}: {r['note']}", file=sys.stderr)
    if args.out:
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the description's line breaks; show the default of every option that has one."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default not in (None, argparse.SUPPRESS) and action.option_strings and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


class _DeffAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.deff_given = True


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``plan``."""
    p = sub.add_parser("plan", help="responses and invitations needed for a CI half-width or to detect an odds ratio",
                       description=__doc__, epilog=_EPILOG, formatter_class=_Formatter)
    t = p.add_argument_group("target (one of)")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--half-width", type=float, help="CI half-width for a prevalence (e.g. 0.05)")
    g.add_argument("--odds-ratio", type=float, help="odds ratio to detect between the --exposed and --reference size classes")
    t.add_argument("--p", type=float, help="anticipated prevalence for --half-width (default: 0.5, the conservative value)")
    t.add_argument("--interval", choices=["wald", "wilson", "exact"], default="wald",
                   help="interval for --half-width: wald (PracTools nPropMoe), wilson, exact (Clopper-Pearson search)")
    t.add_argument("--p0", type=float, help="anticipated prevalence in the reference group (--odds-ratio)")
    t.add_argument("--power", type=float, default=0.8, help="target power")
    t.add_argument("--share-exposed", type=float,
                   help="share of compared responses in the exposed group (default: expected from the frame and response rates)")
    t.add_argument("--exposed", default=">=800", help="beds classes of the exposed group")
    t.add_argument("--reference", default="<200,200-399", help="beds classes of the reference group")
    t.add_argument("--method", choices=["exact", "demidenko", "demidenko_vc", "hsieh"], default="exact",
                   help="power of the logistic Wald test: exact (enumeration), or the formulas of Demidenko (2007, "
                        "without/with variance correction) or Hsieh et al. (1998)")
    t.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level / significance level")
    d = p.add_argument_group("design")
    d.add_argument("--response-rate", required=True,
                   help="expected response rate (e.g. 0.083, the 2017 rate 98/1180), or CLASS=RATE,... per beds class")
    d.add_argument("--deff", type=float, default=1.0, action=_DeffAction, help="design effect")
    d.add_argument("--weights", help="CSV of weights (e.g. irmodels weight --out): use their Kish design effect 1 + CV^2")
    d.add_argument("--weight-column", default="weight", help="column of --weights")
    f = p.add_argument_group("frame")
    f.add_argument("--frame", help="user frame file (CSV: country, N[, beds_class, ...]); its counts are the units per cell")
    f.add_argument("--scenario", help="named frame scenario (irmodels.nonresponse.scenarios.SCENARIOS), scaled to --total units")
    f.add_argument("--total", type=float,
                   help="frame size: required with --scenario; without a frame, the population for the finite population correction")
    f.add_argument("--by", help="region, beds_class or region,beds_class (default: Europe-wide)")
    o = p.add_argument_group("output")
    o.add_argument("--format", choices=["csv", "table"], default="table", help="print the plan as an aligned table or as CSV")
    o.add_argument("--out", help="also write the plan as CSV (atomic; never over an input)")
    p.set_defaults(func=_plan, deff_given=False)
