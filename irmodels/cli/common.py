"""Helpers shared by the subcommand modules of :mod:`irmodels.cli` (one module per area).

Each module defines ``register(subparsers) -> None``; handlers import heavy
libraries lazily so that ``irmodels --help`` stays fast.
"""

import sys


def print_table(df, fmt: str) -> None:
    """Print a DataFrame as CSV (``fmt == "csv"``) or as an aligned text table."""
    import pandas as pd

    if fmt == "csv":
        sys.stdout.write(df.to_csv(index=False, lineterminator="\n"))
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200,
                               "display.max_colwidth", 80):
            print(df.to_string(index=False))


def int_in(low: int, high: int | None = None, *, why: str = ""):
    """argparse type: an integer in ``[low, high]``; a message naming the limit instead of a traceback later.

    ``why`` is appended to the out-of-range message (e.g. what the upper limit protects).
    """
    import argparse

    def conv(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if v < low or (high is not None and v > high):
            rng = f"at least {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"{v} is out of range: must be {rng}{why}")
        return v

    return conv


def float_in(low: float | None = None, high: float | None = None, *, low_open: bool = True, high_open: bool = True):
    """argparse type: a finite number between ``low`` and ``high`` (open or closed ends; None = unbounded)."""
    import argparse
    import math

    def conv(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        too_low = low is not None and (v <= low if low_open else v < low)
        too_high = high is not None and (v >= high if high_open else v > high)
        if not math.isfinite(v) or too_low or too_high:
            parts = []
            if low is not None:
                parts.append(f"{'>' if low_open else '>='} {low:g}")
            if high is not None:
                parts.append(f"{'<' if high_open else '<='} {high:g}")
            rule = (" " + " and ".join(parts)) if parts else ""
            raise argparse.ArgumentTypeError(f"{text} is out of range: must be a finite number{rule}")
        return v

    return conv


def progress(what: str):
    """A status line with a spinner and elapsed time on stderr while a long step runs (rich);
    nothing when stderr is not a terminal (logs and tests stay clean)."""
    import contextlib
    import sys

    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(what)
