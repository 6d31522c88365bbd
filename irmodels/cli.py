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
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an unexpected error")
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
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        # anticipated: a path the user gave cannot be read or written
        print(f"irmodels {args.command}: error: {exc.strerror or exc}: {exc.filename!r}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"irmodels {args.command}: interrupted; outputs are written atomically, none was left half-written",
              file=sys.stderr)
        return 130
    except Exception as exc:  # a traceback is a bug: one line here, the trace in a log file
        if getattr(args, "debug", False):
            raise
        import tempfile
        import traceback

        fd, log = tempfile.mkstemp(prefix="irmodels-error-", suffix=".log")
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(traceback.format_exc())
        print(f"irmodels {args.command}: internal error ({type(exc).__name__}: {exc}); this is a bug: please report "
              f"it with the traceback in {log} (or rerun with --debug)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
