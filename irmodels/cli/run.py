"""``irmodels run CONFIG``: one survey wave from its raw export to the report (irmodels.pipeline)."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from irmodels.pipeline import load_wave_config, run_wave

    console = Console(stderr=True, highlight=False)
    cfg = load_wave_config(args.config)
    if args.check:
        print(f"{args.config}: valid wave config '{cfg.wave}' ({cfg.kind}); output {cfg.output}", file=sys.stderr)
        return 0
    steps = args.steps.split(",") if args.steps else None
    with console.status(f"wave {cfg.wave}") as status:
        def progress(msg: str) -> None:
            status.update(f"wave {cfg.wave}: {msg}")
            if not args.quiet:
                console.print(f"[{cfg.wave}] {msg}", markup=False)
        res = run_wave(cfg, force=args.force, steps=steps, progress=progress)
    if not res.ok:
        for r in res.log[res.log["status"] == "failed"].itertuples():
            print(f"step {r.step} failed: {r.reason}", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``run``."""
    from irmodels.pipeline import config

    doc = config.__doc__.split("Fields", 1)[1] if config.__doc__ else ""
    p = sub.add_parser(
        "run", help="run the whole pipeline of one survey wave from its wave config (YAML)",
        description="Run every step of a wave's pipeline (import, describe, frame, weight, prevalence, bounds, "
                    "models, figures, report) into the config's output folder. Steps whose inputs did not change "
                    "are not rerun; a failing step is recorded with its reason and the run goes on (exit 1 at the "
                    "end). Annotated example: waves/example_2025.yaml.",
        epilog="wave config fields" + doc.replace("\\", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="wave config (YAML)")
    p.add_argument("--force", action="store_true", help="rerun every step even if its inputs did not change")
    p.add_argument("--steps", help="comma-separated steps to run (others are taken from the cache or skipped)")
    p.add_argument("--check", action="store_true", help="only check the config and exit")
    p.add_argument("--quiet", action="store_true", help="print only errors")
    p.set_defaults(func=_run)
