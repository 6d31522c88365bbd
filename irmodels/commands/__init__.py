"""Subcommands of the ``irmodels`` command, one module per area.

Each module defines ``register(subparsers) -> None``; handlers import heavy
libraries lazily so that ``irmodels --help`` stays fast.
"""
