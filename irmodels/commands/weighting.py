"""``irmodels frame``, ``irmodels weight``, ``irmodels prevalence``, ``irmodels tipping-point``:
non-response weighting of a respondent table to a population frame."""

from __future__ import annotations

import argparse
import sys

from irmodels.commands import print_table




def _reported(fn):
    """Run a handler and print each distinct irmodels warning once on stderr (not per scenario)."""
    import functools
    import warnings

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rc = fn(args)
        seen = []
        for w in caught:
            msg = f"{w.category.__name__}: {w.message}"
            if msg not in seen:
                seen.append(msg)
                print(msg, file=sys.stderr)
        return rc

    return run


def _user_frame(args: argparse.Namespace, data=None):
    """The user frame file, validated; with ``data``, every respondent country must be in it."""
    from irmodels.frame import load_frame

    if not getattr(args, "frame", None):
        return None
    required = None
    if data is not None and "country" in data.columns:
        required = sorted(set(data["country"].dropna().astype(str)))
    # FrameError names the frame file (Problem.file) and each missing country
    return load_frame(args.frame, required_countries=required)


def _margins(args: argparse.Namespace, data=None) -> dict:
    from irmodels.frame import frame_margins

    fr = _user_frame(args, data)
    scenario = "user" if fr is not None else args.scenario
    return frame_margins(scenario, frame=fr, total=args.total, variables=tuple(args.margins.split(",")))


def _load(args: argparse.Namespace):
    from irmodels.frame import region_of
    from irmodels.io import read_table

    data = read_table(args.table)
    if "region" in args.margins.split(",") and "region" not in data.columns:
        data = data.assign(region=region_of(data["country"].astype("string")))
    return data


def _collapse(args: argparse.Namespace):
    from irmodels.weighting import COLLAPSE_BEDS_400

    rules = {}
    if args.collapse_beds:
        rules.update(COLLAPSE_BEDS_400)
    if args.pool_countries:
        rules["country"] = {"min_n": args.pool_countries, "into": "region"}
    return rules or None


def _frame(args: argparse.Namespace) -> int:
    from irmodels.frame import frame_cells

    fr = _user_frame(args)
    cells = frame_cells("user" if fr is not None else args.scenario, frame=fr, total=args.total)
    if args.by:
        keys = args.by.split(",")
        cells = cells.groupby([cells[k].astype(str) for k in keys], observed=True)["N"].sum().reset_index()
    print_table(cells, args.format)
    return 0


@_reported
def _weight(args: argparse.Namespace) -> int:
    import pandas as pd

    from irmodels.io import check_output_paths, write_table_atomic
    from irmodels.weighting import weight

    check_output_paths({"--out": args.out}, {"TABLE": args.table, "--frame": getattr(args, "frame", None)})
    data = _load(args)
    res = weight(data, args.method, margins=_margins(args, data), collapse=_collapse(args),
                 trim={"upper": args.trim} if args.trim else None)
    id_col = "respondent_id" if "respondent_id" in data.columns else None
    out = pd.DataFrame({"respondent_id": data[id_col] if id_col else data.index, "weight": res.weights.to_numpy()})
    write_table_atomic(out, args.out)
    s = res.diagnostics["summary"]
    print(f"{args.method}: n={s['n']}, sum={s['sum']:.6g}, Kish deff={s['deff_kish']:.3f}, n_eff={s['n_eff']:.1f}, "
          f"range {s['min']:.3g}-{s['max']:.3g}", file=sys.stderr)
    for c in res.diagnostics["collapsed"]:
        print(f"merged {c['column']}: {c['merged']} -> {c['into']} (n={c['n']})", file=sys.stderr)
    for m in res.diagnostics.get("frame_below_sample", []):
        print(f"warning: {m}", file=sys.stderr)
    print(f"wrote {args.out}", file=sys.stderr)
    if args.diagnostics and res.diagnostics["margins"] is not None:
        print_table(res.diagnostics["margins"], args.format)
    return 0


@_reported
def _prevalence(args: argparse.Namespace) -> int:
    from irmodels.survey import frame_weighted_prevalence

    data = _load(args)
    positive = args.positive.split(",") if args.positive else None
    scen = args.scenario_list.split(",") if args.scenario_list else None
    res = frame_weighted_prevalence(data, args.outcome, scenarios=scen, margin_vars=tuple(args.margins.split(",")),
                                    positive=positive, by=args.by, interval=args.interval, missing="exclude",
                                    frame_total=args.total, weight_options={"collapse": _collapse(args)},
                                    frame=_user_frame(args, data))
    print_table(res, args.format)
    return 0


@_reported
def _tipping(args: argparse.Namespace) -> int:
    import pandas as pd

    from irmodels.sensitivity import manski_bounds, tipping_point
    from irmodels.weighting import weight

    data = _load(args)
    res = weight(data, "rake", margins=_margins(args, data), collapse=_collapse(args))
    tp = tipping_point(data, args.outcome, res, threshold=args.threshold, frame_size=args.total)
    mb = manski_bounds(data, args.outcome, frame_size=args.total).iloc[0]
    row = {**tp.summary(), "manski_lower": mb["lower"], "manski_upper": mb["upper"]}
    print_table(pd.DataFrame([row]), args.format)
    for n in tp.notes:
        print(f"note: {n}", file=sys.stderr)
    return 0


def _common(p: argparse.ArgumentParser, *, table: bool = True) -> None:
    if table:
        p.add_argument("table", help="validated respondent table (CSV written by irmodels, e.g. import-wave --out)")
    p.add_argument("--scenario", default="radiologists",
                   help="frame scenario (irmodels.frame.SCENARIOS: radiologists, hospitals_200plus, hospitals, respondents_table1)")
    p.add_argument("--frame", help="user frame file (CSV: country, N[, beds_class, teaching, source]); replaces --scenario (and --scenario-list); every country of the table must be in it")
    p.add_argument("--total", type=float, default=1180, help="frame size (default 1180 invitations)")
    p.add_argument("--format", choices=["csv", "table"], default="table")


def _weighting_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--margins", default="region,beds_class", help="comma-separated margin variables (default region,beds_class)")
    p.add_argument("--collapse-beds", action="store_true", help="merge <200 and 200-399 into <400 (explicit, reported)")
    p.add_argument("--pool-countries", type=int, metavar="MIN_N", help="pool countries with fewer than MIN_N respondents into their region")


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``frame``, ``weight``, ``prevalence`` and ``tipping-point``."""
    p = sub.add_parser("frame", help="population-frame cells (country x beds class) of a scenario or user frame file")
    _common(p, table=False)
    p.add_argument("--by", help="aggregate to these comma-separated columns (e.g. country or region,beds_class)")
    p.set_defaults(func=_frame)

    p = sub.add_parser("weight", help="non-response weights for a respondent table (rake, linear, logit, ...)")
    _common(p)
    _weighting_opts(p)
    p.add_argument("--method", default="rake", help="weighting method (irmodels.weighting.METHODS taking margins)")
    p.add_argument("--trim", type=float, help="trim weights above this multiple of the mean weight (redistributed)")
    p.add_argument("--out", required=True, help="CSV of respondent_id, weight")
    p.add_argument("--diagnostics", action="store_true", help="print margins before/after versus targets")
    p.set_defaults(func=_weight)

    p = sub.add_parser("prevalence", help="prevalence weighted to each frame scenario, next to the unweighted share")
    _common(p)
    _weighting_opts(p)
    p.add_argument("--outcome", default="cover_24_7")
    p.add_argument("--positive", help="comma-separated categories counted as 1 for a non-boolean outcome")
    p.add_argument("--by", help="domain variable (region, beds_class, ...)")
    p.add_argument("--interval", choices=["logit", "wilson", "wald"], default="logit")
    p.add_argument("--scenario-list", help="comma-separated scenarios (default: all)")
    p.set_defaults(func=_prevalence)

    p = sub.add_parser("tipping-point", help="delta-adjustment tipping point and worst-case bounds for a prevalence")
    _common(p)
    _weighting_opts(p)
    p.add_argument("--outcome", default="cover_24_7")
    p.add_argument("--threshold", type=float, default=0.5)
    p.set_defaults(func=_tipping)
