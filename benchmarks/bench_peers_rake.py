"""Raking beside the peers (issue 13, item 5): irmodels.rake vs ipfn and Meta's balance.

Same data, same margins, same base weights, interleaved repeats (``_peers.interleaved``);
before any timing, every tool's weights are checked to equal irmodels' to a relative 1e-8
(the script stops if not). Ratio = median time of the tool / median time of irmodels.

Tools (each from the data frame of respondents to one weight per respondent):

* ``irmodels``: :func:`irmodels.nonresponse.raking.rake` (tol 1e-10).
* ``ipfn numpy, cell table``: the "aggregate to the cell table, run ipfn's numpy mode, map
  back" approach (ten lines, below): factorise each margin column, ``np.bincount`` the base
  weights into the full cross table, ``ipfn.ipfn(table, ...)``, weight = base x fitted/initial
  cell total. The fastest thing a user could write with ipfn.
* ``ipfn DataFrame, rows``: ipfn's pandas mode on the respondent rows (``weight_col``), the
  documented way to rake a survey file with ipfn. Slow: run at <= 10^5 rows only.
* ``balance``: ``balance.weighting_methods.rake.rake`` (what ``Sample.adjust(method="rake")``
  calls, without the Sample bookkeeping), target given as a frame whose weighted margins are
  the targets exactly (the independent product of the margins); ``transformations=None``,
  convergence 1e-12.

Cases: 10^4, 10^5, 10^6 rows x 3 margins (country 24, beds class 4, teaching 2); 10^6 rows x 5
margins (+ ownership 3, region 4); two cases at 10^6 rows with teaching and beds class strongly
associated in the sample: "hard" (the truth reweights them jointly, an interaction raking cannot
represent: ~18 sweeps) and "slow" (the truth reweights the beds classes only, x8 to x0.25: ~65 ipfn
sweeps). ``--rows-max`` limits the sizes, ``--big`` adds 10^7 rows x 3 and x 5 margins and the
slow case at 10^7; ``--balance-max`` leaves balance out above that many rows.

Peak memory (``note`` column): the largest amount of memory a tool holds at once during one
untimed run (``tracemalloc``: numpy and Python allocations, the result included), beside the
input (the data frame, ``memory_usage(deep=True)``, plus the base weights).

Run: ``.venv/bin/python benchmarks/bench_peers_rake.py [--repeats 5] [--big]``
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import logging
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import interleaved, machine, print_table, rows_from_times, traced_peak, write_results  # noqa: E402

from irmodels.nonresponse.raking import cell_table, rake  # noqa: E402

COUNTRIES = [f"C{i:02d}" for i in range(24)]
BEDS = ["<200", "200-399", "400-799", ">=800"]
TOL_AGREE = 1e-8


def make_data(n: int, n_margins: int = 3, kind: str = "easy", seed: int = 1) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """Respondents, margins (totals of a known positive reweighting ``truth``) and base weights.

    ``kind``: ``"easy"`` (independent margins), ``"hard"`` or ``"slow"`` (teaching and beds
    class strongly associated in the sample, so raking needs many sweeps; see the module
    docstring).
    """
    rng = np.random.default_rng(seed)
    beds = rng.integers(0, 4, n)
    if kind in ("hard", "slow"):
        teach = rng.random(n) < np.array([0.01, 0.1, 0.9, 0.995])[beds]
    else:
        teach = rng.random(n) < 0.7
    cols = {"country": pd.Categorical.from_codes(rng.integers(0, 24, n), COUNTRIES),
            "beds_class": pd.Categorical.from_codes(beds, BEDS, ordered=True),
            "teaching": teach}
    if n_margins == 5:
        cols["ownership"] = pd.Categorical.from_codes(rng.integers(0, 3, n), ["public", "private", "mixed"])
        cols["region"] = pd.Categorical.from_codes(rng.integers(0, 4, n), ["N", "E", "S", "W"])
    data = pd.DataFrame(cols)
    base = rng.lognormal(0, 0.3, n)
    truth = base * rng.lognormal(0, 0.5, n)
    if kind == "hard":  # teaching and beds reweighted jointly
        truth = truth * np.where(teach, 0.1, 10.0) * np.array([8.0, 2.0, 1.0, 0.25])[beds]
    elif kind == "slow":  # beds classes reweighted; their association with teaching slows the sweeps
        truth = truth * np.array([8.0, 2.0, 1.0, 0.25])[beds]
    margins = {c: {str(k): float(v) for k, v in pd.Series(truth).groupby(data[c].astype(str).to_numpy()).sum().items()}
               for c in data.columns}
    return data, margins, base


# ------------------------------------------------------------------ the peers


def ipfn_cells(data: pd.DataFrame, margins: dict, base: np.ndarray) -> tuple[np.ndarray, int]:
    """Aggregate to the cell table, run ipfn's numpy mode, map back; also returns the sweeps."""
    from ipfn import ipfn

    codes, shape, aggs = [], [], []
    for c, m in margins.items():
        cats = list(m)
        col = pd.Categorical(data[c])  # free for a categorical column, one hash pass otherwise
        where = {str(x): i for i, x in enumerate(col.categories)}
        remap = np.full(len(col.categories), -1)
        for j, k in enumerate(cats):
            remap[where[k]] = j
        codes.append(remap[col.codes])
        shape.append(len(cats))
        aggs.append(np.array([m[k] for k in cats]))
    cell = np.ravel_multi_index(codes, shape)
    table = np.bincount(cell, weights=base, minlength=int(np.prod(shape))).reshape(shape)
    with contextlib.redirect_stdout(io.StringIO()):  # ipfn prints "converged"
        fitted, _, info = ipfn.ipfn(table.copy(), aggs, [[i] for i in range(len(shape))], convergence_rate=1e-12,
                                    rate_tolerance=0.0, max_iteration=5000, verbose=2).iteration()
    factor = np.divide(fitted, table, out=np.zeros_like(table), where=table > 0).ravel()
    return base * factor[cell], len(info)


def ipfn_rows(data: pd.DataFrame, margins: dict, base: np.ndarray) -> np.ndarray:
    """ipfn's DataFrame mode on the respondent rows."""
    from ipfn import ipfn

    df = data.astype(str).assign(w=base)
    aggs = [pd.Series(m).rename_axis(c) for c, m in margins.items()]
    with contextlib.redirect_stdout(io.StringIO()):
        out = ipfn.ipfn(df, aggs, [[c] for c in margins], weight_col="w", convergence_rate=1e-12, rate_tolerance=0.0,
                        max_iteration=5000).iteration()
    return out["w"].to_numpy()


def balance_rake(data: pd.DataFrame, margins: dict, base: np.ndarray) -> np.ndarray:
    """Meta's balance: rake to a target frame whose weighted margins are the targets."""
    from balance.weighting_methods.rake import rake as brake

    names = list(margins)
    grids = np.meshgrid(*[np.arange(len(margins[c])) for c in names], indexing="ij")
    total = sum(next(iter(margins.values())).values())
    tw = np.full(grids[0].size, total)
    tdf = {}
    for c, g in zip(names, grids):
        cats = list(margins[c])
        p = np.array([margins[c][k] for k in cats]) / total
        tdf[c] = np.asarray(cats, dtype=object)[g.ravel()]
        tw = tw * p[g.ravel()]
    sample = data.reset_index(drop=True)  # balance casts the raking columns to str itself
    res = brake(sample, pd.Series(base), pd.DataFrame(tdf), pd.Series(tw), variables=names, transformations=None,
                na_action="drop", max_iteration=5000, convergence_rate=1e-12, rate_tolerance=0.0)
    return res["weight"].to_numpy()


# ------------------------------------------------------------------ main


def run_case(n: int, k: int, kind: str, repeats: int, with_balance: bool) -> list[dict]:
    """Check agreement, time the tools interleaved, measure peak memory; the table rows of one case."""
    data, margins, base = make_data(n, k, kind)
    case = f"{n:.0e} rows x {k} margins" + (f" ({kind})" if kind != "easy" else "")
    tools = {
        "irmodels": lambda: rake(data, margins, base, tol=1e-10).to_numpy(),
        "ipfn numpy, cell table": lambda: ipfn_cells(data, margins, base)[0],
    }
    if with_balance:
        tools["balance"] = lambda: balance_rake(data, margins, base)
    if n <= 100_000:
        tools["ipfn DataFrame, rows"] = lambda: ipfn_rows(data, margins, base)
    ref = tools["irmodels"]()
    agreement = {}
    for name, fn in tools.items():
        if name == "irmodels":
            continue
        w = np.asarray(fn(), dtype=float)
        err = float(np.max(np.abs(w / ref - 1)))
        if not err <= TOL_AGREE:
            raise SystemExit(f"{case}: {name} weights differ from irmodels' by {err:.2e} (> {TOL_AGREE:g})")
        agreement[name] = f"max rel diff {err:.1e}"
    sweeps = ipfn_cells(data, margins, base)[1]
    own_sweeps = cell_table(data, margins, base).rake(base, 1000, 1e-10)[1]
    frame_bytes = int(data.memory_usage(index=True, deep=True).sum())
    inputs = frame_bytes + base.nbytes
    notes = {}
    for name, fn in tools.items():
        peak = traced_peak(fn)
        notes[name] = (f"peak memory {peak / 2**20:.1f} MiB = {peak / inputs:.2f}x the input "
                       f"(data frame {frame_bytes / 2**20:.1f} MiB + base weights {base.nbytes / 2**20:.1f} MiB)")
    times = interleaved(tools, repeats)
    tasks = {t: f"rake {n} rows, {k} margins, {sweeps} sweeps" for t in tools}
    part = rows_from_times("rake", case, times, tasks, agreement, notes=notes)
    print(f"\n{case} ({sweeps} ipfn sweeps to 1e-12; irmodels {own_sweeps} sweeps to 1e-10)")
    print_table(part)
    for r in part:
        print(f"    {r['tool']}: {r['note']}")
    return part


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rows-max", type=int, default=1_000_000)
    ap.add_argument("--big", action="store_true", help="add 10^7 rows x 3 and x 5 margins and the slow case at 10^7")
    ap.add_argument("--balance-max", type=int, default=10_000_000, help="leave balance out above this many rows")
    args = ap.parse_args()
    importlib.import_module("balance")  # its import sets up its logger; quieten it after

    logging.getLogger("balance").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="balance")
    header = machine(("irmodels", "ipfn", "balance", "numpy", "pandas"))
    print(f"# {header}")
    print(f"raking: time from the respondent data frame to one weight per row; {args.repeats} interleaved repeats; "
          f"ratio = tool / irmodels (median; range over repeats); weights checked equal to irmodels' to {TOL_AGREE:g}")
    cases = [(n, 3, "easy") for n in (10_000, 100_000, 1_000_000) if n <= args.rows_max]
    if args.rows_max >= 1_000_000:
        cases += [(1_000_000, 5, "easy"), (1_000_000, 3, "hard"), (1_000_000, 3, "slow")]
    if args.big:
        cases += [(10_000_000, 3, "easy"), (10_000_000, 5, "easy"), (10_000_000, 3, "slow")]
    rows = []
    for n, k, kind in cases:
        rows += run_case(n, k, kind, args.repeats, n <= args.balance_max)
    write_results("bench_peers_rake", rows, header)


if __name__ == "__main__":
    main()
