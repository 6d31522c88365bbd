"""The ``irmodels`` command.

Subcommands are registered by the modules of :mod:`irmodels.commands`
(``audit``, ``reconstruct``, ``import-wave``, ...). Errors of the
:class:`irmodels.errors.IrmodelsError` family are printed without a traceback
and give exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Sequence

import irmodels
import irmodels.commands
from irmodels.errors import IrmodelsError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="irmodels",
        description="Survey models of interventional radiology services in European radiology departments.",
    )
    parser.add_argument("--version", action="version", version=f"irmodels {irmodels.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(irmodels.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"irmodels.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``irmodels`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except IrmodelsError as exc:
        print(f"irmodels {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `irmodels audit | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
