"""``irmodels fit`` and ``irmodels specs``: the regression models (issue 5)."""

from __future__ import annotations

import argparse

from irmodels.cli.common import float_in, int_in, print_table


def _int_at_least(low: int, high: int | None = None):
    """argparse type: an integer in [low, high] (see :func:`irmodels.cli.common.int_in`)."""
    return int_in(low, high)


def _float_in(low: float, high: float):
    """argparse type: a number strictly between low and high."""
    return float_in(low, high)


def _fit(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from irmodels.core.errors import Problem, SchemaError
    from irmodels.data.importing import read_table
    from irmodels.models.fit import fit

    if args.engine == "pymc" and args.cache_dir and Path(args.cache_dir).exists() and not Path(args.cache_dir).is_dir():
        # checked before sampling: a cache that cannot be written would lose the fit at the end
        raise SchemaError([Problem("is not a folder; give a folder for the fitted-model cache", column="--cache-dir",
                                   value=args.cache_dir)], what="options")
    data = read_table(args.data)  # the same reader and checks as `irmodels validate`
    data.index = data.index + 2  # rows are named by their line in the file (header = line 1), as validate does
    for c in data.columns:  # an empty cell of a column outside the codebook (e.g. a --into weight) is missing
        if pd.api.types.is_string_dtype(data[c].dtype) and not isinstance(data[c].dtype, pd.CategoricalDtype):
            data[c] = data[c].mask(data[c].astype("string").str.strip().eq("").fillna(False))
    options = {"missing": args.missing}
    if args.trials:
        options["trials"] = args.trials
    if args.share_class:
        options["share_class"] = args.share_class
    if args.firth:
        options["firth"] = True
    if args.engine == "pymc":
        options.update(draws=args.draws, tune=args.tune, chains=args.chains, on_fail=args.on_fail)
        if args.target_accept is not None:
            options["target_accept"] = args.target_accept
        if args.cache_dir:
            options["cache_dir"] = args.cache_dir
    from rich.console import Console

    what = f"fitting {args.formula} ({args.engine}, {args.family}" + (
        f", {args.chains} chains x {args.draws} draws)" if args.engine == "pymc" else ")")
    with Console(stderr=True).status(what):
        f = fit(args.formula, data, family=args.family, engine=args.engine, group=args.group, weights=args.weights,
                seed=args.seed, **options)
    t = f.tidy(ci_prob=args.ci_prob, exponentiate=args.exponentiate)
    print_table(t, args.format)
    return 0


def _specs(args: argparse.Namespace) -> int:
    from irmodels.models.specs import SPECS

    for s in SPECS:
        opts = ", ".join(f"{k}={v}" for k, v in s.options.items())
        print(f"{s.spec_id}: {s.formula}  [family={s.family}, group={s.group}, engines={','.join(s.engines)}"
              f"{', ' + opts if opts else ''}]")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``fit`` and ``specs``."""
    p = sub.add_parser(
        "fit",
        help="fit one regression model (statsmodels or PyMC) and print the tidy table",
        description="Fit FORMULA to a respondent-level CSV (canonical columns, validated against the codebook) "
        "and print one row per term: estimate, std_error, 95%% interval (posterior diagnostics for pymc).",
    )
    p.add_argument("formula", help='e.g. "cover_24_7 ~ beds_class + teaching + chair_profile"')
    p.add_argument("--data", required=True, help="respondent-level CSV (e.g. data/derived/simulated_demo/table.csv)")
    p.add_argument("--family", required=True, choices=["bernoulli", "binomial", "beta_binomial", "ordinal"])
    p.add_argument("--engine", default="statsmodels", choices=["statsmodels", "pymc"])
    p.add_argument("--group", help="column of country intercepts (engine pymc)")
    p.add_argument("--weights", help="survey-weight column (engine statsmodels)")
    p.add_argument("--trials", help="column with the number of trials (binomial, beta_binomial)")
    p.add_argument("--share-class", dest="share_class", help="share-class column used where counts are missing")
    p.add_argument("--firth", action="store_true", help="Firth penalised likelihood (bernoulli, statsmodels)")
    p.add_argument("--missing", default="raise", choices=["raise", "drop"])
    p.add_argument("--seed", type=_int_at_least(0, 2**32 - 1), default=0, help="random seed (0 to 2^32-1; default 0)")
    p.add_argument("--draws", type=_int_at_least(100), default=1000, help="posterior draws per chain (pymc; default 1000)")
    p.add_argument("--tune", type=_int_at_least(100), default=1000, help="tuning steps per chain (pymc; default 1000)")
    p.add_argument("--chains", type=_int_at_least(2, 64), default=4,
                   help="chains (pymc; at least 2, so that R-hat can be computed; default 4)")
    p.add_argument("--target-accept", dest="target_accept", type=_float_in(0.5, 1.0), default=None,
                   help="NUTS target acceptance rate, in (0.5, 1) (pymc; default 0.99 for beta-binomial models, "
                        "0.9 otherwise: irmodels.models.bayes.TARGET_ACCEPT; raise it against divergences)")
    p.add_argument("--on-fail", dest="on_fail", choices=["raise", "warn"], default="raise",
                   help="a fit failing the convergence gate (R-hat <= 1.01, ESS >= 400, no divergences): "
                        "raise = error, exit 2 (default); warn = print the table flagged converged=False")
    p.add_argument("--cache-dir", dest="cache_dir", help="reuse posteriors with the same content hash")
    p.add_argument("--ci-prob", dest="ci_prob", type=float_in(0.0, 1.0), default=0.95,
                   help="probability of the intervals, in (0, 1) (default 0.95)")
    p.add_argument("--exponentiate", action="store_true", help="odds ratios instead of log-odds")
    p.add_argument("--format", default="table", choices=["table", "csv"])
    p.set_defaults(func=_fit)
    q = sub.add_parser("specs", help="list the paper's model specifications (irmodels.models.specs.SPECS)")
    q.set_defaults(func=_specs)
