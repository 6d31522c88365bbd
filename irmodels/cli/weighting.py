"""``irmodels frame``, ``irmodels weight``, ``irmodels prevalence``, ``irmodels tipping-point``:
non-response weighting of a respondent table to a population frame.

The population size is the frame's own: a user frame (``--frame FILE``) is used as given
(the sum of its counts), ``--total`` rescales it only when given (and says so). The named
scenarios (``--scenario``) are built for the 2017 wave; with a respondent table they need
``--total``, the number of units the wave invited (2017: 1180). Every respondent country must
be in the frame (an error names it and its rows); a frame cell with fewer units than
respondents is flagged (``--on-contradiction raise`` refuses the frame).
"""

from __future__ import annotations

import argparse
import sys

from irmodels.cli.common import float_in, int_in, print_table


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


def _user_frame(args: argparse.Namespace):
    """The user frame file, validated (checked against the respondents by frame_cells(respondents=))."""
    from irmodels.nonresponse.frame_file import load_frame

    if not getattr(args, "frame", None):
        return None
    return load_frame(args.frame)


def _require_total(args: argparse.Namespace) -> None:
    """A named scenario weighting a wave's table needs that wave's frame size."""
    from irmodels.core.errors import WeightingError

    if not getattr(args, "frame", None) and args.total is None:
        raise WeightingError(
            f"--total is required with --scenario {args.scenario}: the number of units (departments) your wave "
            "invited. The named scenarios are built for the 2017 wave, which invited 1180 "
            "(irmodels.data.waves.esr_cirse_2017.N_INVITED); or give --frame FILE, whose counts give the population size")


def _cells(args: argparse.Namespace, data):
    """Frame cells of --frame or --scenario, checked against the respondents in ``data``."""
    from irmodels.nonresponse.frame import frame_cells

    _require_total(args)
    fr = _user_frame(args)
    cells = frame_cells("user" if fr is not None else args.scenario, frame=fr, total=args.total,
                        respondents=data, on_contradiction=args.on_contradiction)
    print(f"frame: {cells.attrs['scenario']}, population size {cells.attrs['total']:g} ({cells.attrs['total_source']})",
          file=sys.stderr)
    return cells


def _margins(cells, args: argparse.Namespace) -> dict:
    from irmodels.nonresponse.frame import _margins_from_cells

    return _margins_from_cells(cells, tuple(args.margins.split(",")))


def _weighting_columns(args: argparse.Namespace, data) -> list[str]:
    cols = []
    for v in args.margins.split(","):
        # region is derived from country when the table has no region column
        cols.append("country" if v == "region" and "region" not in data.columns else v)
    if args.pool_countries:
        cols.append("country")
    return [c for c in dict.fromkeys(cols) if c in data.columns]


def _rows_text(data, idx) -> str:
    """Respondents named by line of the table file (header = line 1) and respondent_id."""
    shown = list(idx[:20])
    lines = ", ".join(str(int(i)) for i in shown)
    ids = ""
    if "respondent_id" in data.columns:
        ids = "; respondent_id " + ", ".join(str(v) for v in data.loc[shown, "respondent_id"])
    more = f" ... ({len(idx)} rows)" if len(idx) > 20 else ""
    return f"line {lines}{ids}{more}"


def _load(args: argparse.Namespace):
    """The respondent table; rows missing a weighting variable raise, or are dropped and reported (--missing drop).

    Returns the table to weight and the index of the dropped rows (positions in the file's row order).
    """
    import pandas as pd

    from irmodels.core.errors import WeightingError
    from irmodels.nonresponse.frame_keys import region_of
    from irmodels.data.importing import read_table

    data = read_table(args.table)
    data.index = data.index + 2  # rows are named by their line in the table file (header = line 1)
    cols = _weighting_columns(args, data)
    na = data[cols].isna() if cols else pd.DataFrame(index=data.index)
    bad = na.any(axis=1) if cols else pd.Series(False, index=data.index)
    dropped = data.index[bad.to_numpy()]
    if len(dropped):
        detail = "; ".join(f"{c}: {_rows_text(data, data.index[na[c].to_numpy()])}" for c in cols if na[c].any())
        if args.missing == "raise":
            raise WeightingError(
                f"{args.table}: {len(dropped)} of {len(data)} rows miss a weighting variable ({detail}); a weighting "
                "variable must be known for every respondent: fill it in, or pass --missing drop to drop these rows "
                "(reported)")
        print(f"--missing drop: dropped {len(dropped)} of {len(data)} rows with a missing weighting variable "
              f"({detail})", file=sys.stderr)
        data = data.loc[~bad.to_numpy()]
    if "region" in args.margins.split(",") and "region" not in data.columns:
        data = data.assign(region=region_of(data["country"].astype("string")))
    return data, dropped


def _collapse(args: argparse.Namespace):
    from irmodels.nonresponse.weighting import COLLAPSE_BEDS_400

    rules = {}
    if args.collapse_beds:
        rules.update(COLLAPSE_BEDS_400)
    if args.pool_countries:
        rules["country"] = {"min_n": args.pool_countries, "into": "region"}
    return rules or None


@_reported
def _frame(args: argparse.Namespace) -> int:
    from irmodels.nonresponse.frame import frame_cells

    fr = _user_frame(args)
    cells = frame_cells("user" if fr is not None else args.scenario, frame=fr, total=args.total)
    print(f"frame: {cells.attrs['scenario']}, population size {cells.attrs['total']:g} ({cells.attrs['total_source']})",
          file=sys.stderr)
    if args.by:
        from irmodels.core.errors import FrameError, Problem

        keys = [k.strip() for k in args.by.split(",")]
        valid = [c for c in ("country", "region", "beds_class", "teaching") if c in cells.columns]
        bad = [k for k in keys if k not in valid]
        if bad:
            raise FrameError([Problem(f"not a column of the frame cells; valid: {valid}", column="--by", value=k)
                              for k in bad], what="options")
        cells = cells.groupby([cells[k].astype(str) for k in keys], observed=True)["N"].sum().reset_index()
    print_table(cells, args.format)
    return 0


def _write_into(args: argparse.Namespace, kept_index, weights) -> None:
    """Copy of the input table (as read, every row) with the weight column added; empty for dropped rows."""
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from irmodels.core.errors import WeightingError
    from irmodels.core.io import write_table_atomic

    src = Path(args.table)
    if src.suffix.lower() == ".parquet":
        raw = pd.read_parquet(src).reset_index(drop=True)
    else:
        raw = pd.read_csv(src, dtype=str, keep_default_na=False)
    if args.weight_column in raw.columns:
        raise WeightingError(f"{src.name} already has a column {args.weight_column!r}; name the new one with "
                             "--weight-column")
    col = np.full(len(raw), np.nan)
    col[np.asarray(kept_index, dtype=int) - 2] = np.asarray(weights, dtype=float)  # file lines -> positions
    out = raw.assign(**{args.weight_column: [repr(float(v)) if np.isfinite(v) else "" for v in col]})
    write_table_atomic(out, args.into)


@_reported
def _weight(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from irmodels.core.errors import WeightingError
    from irmodels.core.io import check_output_paths, write_table_atomic
    from irmodels.nonresponse.weighting import weight

    if not args.out and not args.into:
        raise WeightingError("give --out FILE (respondent_id, weight) and/or --into FILE (the table with a weight column)")
    check_output_paths({"--out": args.out, "--into": args.into},
                       {"TABLE": args.table, "--frame": getattr(args, "frame", None)})
    data, dropped = _load(args)
    cells = _cells(args, data)
    res = weight(data, args.method, margins=_margins(cells, args), collapse=_collapse(args),
                 trim={"upper": args.trim} if args.trim else None)
    if args.out:
        from irmodels.data.importing import read_table

        table = read_table(args.table)
        table.index = table.index + 2  # file lines, as in _load
        ids = table["respondent_id"] if "respondent_id" in table.columns else pd.Series(table.index, index=table.index)
        w = pd.Series(np.nan, index=table.index)
        w.loc[data.index] = res.weights.to_numpy()
        write_table_atomic(pd.DataFrame({"respondent_id": ids.to_numpy(), "weight": w.to_numpy()}), args.out)
    if args.into:
        _write_into(args, data.index, res.weights.to_numpy())
    s = res.diagnostics["summary"]
    print(f"{args.method}: n={s['n']}, sum={s['sum']:.6g}, Kish deff={s['deff_kish']:.3f}, n_eff={s['n_eff']:.1f}, "
          f"range {s['min']:.3g}-{s['max']:.3g}", file=sys.stderr)
    if len(dropped):
        print(f"{len(dropped)} dropped rows have no weight (empty)", file=sys.stderr)
    for c in res.diagnostics["collapsed"]:
        print(f"merged {c['column']}: {c['merged']} -> {c['into']} (n={c['n']})", file=sys.stderr)
    for m in res.diagnostics.get("frame_below_sample", []):
        print(f"warning: {m}", file=sys.stderr)
    for p in (args.out, args.into):
        if p:
            print(f"wrote {p}", file=sys.stderr)
    if args.diagnostics and res.diagnostics["margins"] is not None:
        print_table(res.diagnostics["margins"], args.format)
    return 0


@_reported
def _prevalence(args: argparse.Namespace) -> int:
    from irmodels.nonresponse.frame_prevalence import frame_weighted_prevalence

    data, dropped = _load(args)
    positive = args.positive.split(",") if args.positive else None
    scen = args.scenario_list.split(",") if args.scenario_list else [args.scenario]
    fr = _user_frame(args)
    if fr is None:
        _require_total(args)
    res = frame_weighted_prevalence(data, args.outcome, scenarios=scen, margin_vars=tuple(args.margins.split(",")),
                                    positive=positive, by=args.by, interval=args.interval, missing="exclude",
                                    frame_total=args.total, weight_options={"collapse": _collapse(args)},
                                    frame=fr, on_contradiction=args.on_contradiction)
    res["n_dropped_missing"] = len(dropped)
    print_table(res, args.format)
    return 0


@_reported
def _tipping(args: argparse.Namespace) -> int:
    import pandas as pd

    from irmodels.nonresponse.manski import manski_bounds
    from irmodels.nonresponse.sensitivity import tipping_point
    from irmodels.nonresponse.weighting import weight

    data, dropped = _load(args)
    cells = _cells(args, data)
    N = float(cells.attrs["total"])
    res = weight(data, "rake", margins=_margins(cells, args), collapse=_collapse(args))
    tp = tipping_point(data, args.outcome, res, threshold=args.threshold, frame_size=N)
    mb = manski_bounds(data, args.outcome, frame_size=N).iloc[0]
    row = {**tp.summary(), "manski_lower": mb["lower"], "manski_upper": mb["upper"], "frame_size": N,
           "frame_scenario": cells.attrs["scenario"], "frame_check": "; ".join(cells.attrs.get("contradictions", [])),
           "n_dropped_missing": len(dropped)}
    print_table(pd.DataFrame([row]), args.format)
    for n in tp.notes:
        print(f"note: {n}", file=sys.stderr)
    if len(dropped):
        print(f"note: the {len(dropped)} dropped respondents count as non-respondents of the frame (the Manski bounds "
              "stay valid, and wider)", file=sys.stderr)
    return 0


def _common(p: argparse.ArgumentParser, *, table: bool = True) -> None:
    if table:
        p.add_argument("table", help="validated respondent table (CSV written by irmodels, e.g. import-wave --out)")
    p.add_argument("--scenario", default="radiologists",
                   help="named frame scenario, built for the 2017 wave (irmodels.nonresponse.scenarios.SCENARIOS: radiologists, "
                        "hospitals_200plus, hospitals, *_answering_only, respondents_table1 = the table's own "
                        "distribution); ignored with --frame")
    p.add_argument("--frame", help="user frame file (CSV: country, N[, beds_class, teaching, source]); its counts are the "
                                   "population, used as given; replaces --scenario (and --scenario-list); every "
                                   "country of the table must be in it")
    p.add_argument("--total", type=float_in(0.0, None), default=None,
                   help="population size (units invited). Default: the --frame file's own total; required with "
                        "--scenario when a table is weighted (2017: 1180); with --frame a different value rescales "
                        "its counts, and says so" if table else
                        "population size. Default: the --frame file's own total, or the frame size of the wave a "
                        "--scenario is built for (1180, 2017); with --frame a different value rescales its counts, "
                        "and says so")
    p.add_argument("--format", choices=["csv", "table"], default="table", help="output format")


def _weighting_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--margins", default="region,beds_class", help="comma-separated margin variables")
    p.add_argument("--collapse-beds", action="store_true", help="merge <200 and 200-399 into <400 (explicit, reported)")
    p.add_argument("--pool-countries", type=int_in(1), metavar="MIN_N",
                   help="pool countries with fewer than MIN_N respondents into their region (explicit, reported)")
    p.add_argument("--missing", choices=["raise", "drop"], default="raise",
                   help="a row missing a weighting variable (a margin variable; country for region): raise an error "
                        "naming the rows, or drop those rows and report their count, lines and respondent_id")
    p.add_argument("--on-contradiction", dest="on_contradiction", choices=["flag", "raise"], default="flag",
                   help="a frame cell with fewer units than respondents (the frame contradicts the data): flag it "
                        "(warning and frame_check column) or refuse the frame")


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``frame``, ``weight``, ``prevalence`` and ``tipping-point``."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = sub.add_parser("frame", help="population-frame cells (country x beds class) of a scenario or user frame file",
                       formatter_class=fmt)
    _common(p, table=False)
    p.add_argument("--by", help="aggregate to these comma-separated columns (e.g. country or region,beds_class)")
    p.set_defaults(func=_frame)

    p = sub.add_parser("weight", help="non-response weights for a respondent table (rake, linear, logit, ...)",
                       formatter_class=fmt,
                       description="Weight a respondent table to a frame. --into writes the table with a weight "
                                   "column, which `irmodels fit --data FILE --weights weight` uses.")
    _common(p)
    _weighting_opts(p)
    p.add_argument("--method", default="rake", help="weighting method (irmodels.nonresponse.weighting.METHODS taking margins)")
    p.add_argument("--trim", type=float_in(1.0, None),
                   help="trim weights above this multiple (> 1) of the mean weight (redistributed)")
    p.add_argument("--out", help="CSV of respondent_id, weight (one row per table row; empty for dropped rows)")
    p.add_argument("--into", help="CSV: a copy of TABLE with the weight column added (empty for dropped rows); never "
                                  "the input table itself")
    p.add_argument("--weight-column", dest="weight_column", default="weight", help="name of the column --into adds")
    p.add_argument("--diagnostics", action="store_true", help="print margins before/after versus targets")
    p.set_defaults(func=_weight)

    p = sub.add_parser("prevalence", help="prevalence weighted to frame scenarios, next to the unweighted share",
                       formatter_class=fmt)
    _common(p)
    _weighting_opts(p)
    p.add_argument("--outcome", default="cover_24_7", help="outcome column (item non-response excluded, reported)")
    p.add_argument("--positive", help="comma-separated categories counted as 1 for a non-boolean outcome")
    p.add_argument("--by", help="domain variable (region, beds_class, ...)")
    p.add_argument("--interval", choices=["logit", "wilson", "wald"], default="logit", help="confidence interval")
    p.add_argument("--scenario-list", help="comma-separated named scenarios; None: --scenario alone")
    p.set_defaults(func=_prevalence)

    p = sub.add_parser("tipping-point", help="delta-adjustment tipping point and worst-case bounds for a prevalence",
                       formatter_class=fmt)
    _common(p)
    _weighting_opts(p)
    p.add_argument("--outcome", default="cover_24_7", help="binary outcome column (item non-respondents count as "
                                                           "non-respondents)")
    p.add_argument("--threshold", type=float_in(0.0, 1.0), default=0.5, help="prevalence whose crossing is the tipping point")
    p.set_defaults(func=_tipping)
