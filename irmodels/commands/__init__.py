"""Subcommands of the ``irmodels`` command, one module per area.

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
