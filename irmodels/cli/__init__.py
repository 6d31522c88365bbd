"""The ``irmodels`` command: the top layer, importing any layer below, imported by none.

Subcommands are registered by the area modules of this package, one per area
(``audit``, ``reconstruct``, ``import-wave``, ...). Errors of the
:class:`irmodels.core.errors.IrmodelsError` family are printed without a traceback
and give exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import pkgutil
import signal
import sys
import threading
from typing import Any, Iterator, Sequence

from irmodels.core.version import __version__
from irmodels.core.errors import IrmodelsError

__all__ = ["main", "build_parser", "signals_as_exceptions", "Terminated"]

# modules of this package that are not subcommand areas (each of the others defines ``register``)
_NOT_SUBCOMMANDS = {"common", "__main__"}


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="irmodels",
        description="Survey models of interventional radiology services in European radiology departments.",
    )
    parser.add_argument("--version", action="version", version=f"irmodels {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _NOT_SUBCOMMANDS:
            continue
        module = importlib.import_module(f"irmodels.cli.{info.name}")
        module.register(sub)
    return parser


class Terminated(BaseException):
    """SIGTERM (or SIGHUP) received by the ``irmodels`` command, raised where the program was.

    A ``BaseException`` like ``KeyboardInterrupt``: handlers that catch ``Exception`` to record a
    failed step do not swallow it, and every ``finally`` / atomic writer
    (:func:`irmodels.core.io.atomic_path`) on the way out removes its temporary file.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` (SIGINT raises ``KeyboardInterrupt``).

    Python's default for SIGTERM is to die at once, leaving temporary files and half-made outputs;
    as an exception the program unwinds and cleans up. Only the main thread can set handlers;
    elsewhere the block runs unchanged. The previous handlers are restored afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    wanted = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {s: signal.signal(s, handler) for s in wanted}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``irmodels`` console script; returns the exit status.

    0: success; 1: an unexpected error (a bug: one line on stderr, the traceback in a log file, or
    raised with ``--debug``); 2: bad input or usage (a message naming file, row, column, value or
    option); 128 + signal number: interrupted (SIGINT 130, SIGTERM 143), no output half-written.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with signals_as_exceptions():
            return int(args.func(args) or 0)
    except Terminated as exc:
        name = signal.Signals(exc.signum).name
        print(f"irmodels {args.command}: stopped by {name}; outputs are written atomically, none was left "
              "half-written", file=sys.stderr)
        return 128 + exc.signum
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

