"""Model formulas are parsed, not evaluated: a small grammar checked before formulaic sees them.

A formula from a user (CLI, a spec file, a wave config) is text that formulaic would
evaluate as Python. This module accepts only what the models need and refuses everything
else with a message naming the offending token, **before** any evaluation:

.. code-block:: text

    formula  := outcome "~" rhs
    outcome  := NAME
    rhs      := term (("+" | "-") term)*
    term     := factor ((":" | "*") factor)*  |  "1"  |  "0"
    factor   := NAME                                   a data column
              | "C(" NAME ["," "Treatment(" STRING ")"] ")"   categorical, optional reference
              | TRANSFORM "(" NAME ")"                 TRANSFORM in TRANSFORMS
    NAME     := a data column whose name is a Python identifier not starting with "_"
    STRING   := a quoted level of that column ('...' or "..."), letters, digits, spaces and <>=.-+_/%

Evaluation then happens with only the data columns named in the formula and
:data:`TRANSFORMS` in scope (:func:`safe_model_matrix`): no builtins, no module
globals, no attribute access, subscripts, lambdas, comprehensions or string escapes can
reach Python, whatever the column names are.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from irmodels.core.errors import ModelSpecError

__all__ = ["check_formula", "safe_model_matrix", "ParsedFormula", "TRANSFORMS"]

#: The transforms a formula may apply to a column (and nothing else is callable).
TRANSFORMS: dict[str, object] = {"log": np.log, "log1p": np.log1p, "exp": np.exp, "sqrt": np.sqrt}

_TOKEN = re.compile(r"""\s*(?:
    (?P<name>[A-Za-z_][A-Za-z0-9_]*) |
    (?P<number>[01]\b) |
    (?P<string>'[A-Za-z0-9 <>=.\-+_/%]*'|"[A-Za-z0-9 <>=.\-+_/%]*") |
    (?P<op>[~+\-:*(),])
)""", re.VERBOSE)


@dataclass(frozen=True)
class ParsedFormula:
    """A formula that passed the grammar: ``outcome``, ``rhs`` (text), ``columns`` (data
    columns the right-hand side uses, in order of appearance)."""

    outcome: str
    rhs: str
    columns: tuple[str, ...]


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad = text[pos:].strip()[:20]
            raise ModelSpecError(f"formula {text!r}: token {bad!r} at position {pos} is not allowed "
                                 "(a formula may contain column names, C(...), Treatment('level'), "
                                 f"{', '.join(TRANSFORMS)}, + - : * ~ ( ) , 0 1)")
        kind = m.lastgroup
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


def check_formula(formula: str, columns) -> ParsedFormula:
    """Check a formula against the grammar of the module docstring.

    Parameters
    ----------
    formula : str
        ``"outcome ~ a + b + C(c, Treatment('x'))"``.
    columns : iterable of str
        The data's column names.

    Returns
    -------
    ParsedFormula

    Raises
    ------
    ModelSpecError
        Naming the offending token and the rule: characters outside the grammar (``{``,
        ``.``, ``[``, quotes outside ``Treatment``...), names that are not data columns,
        names starting with ``_`` or that are Python keywords, calls other than ``C``,
        ``Treatment`` and :data:`TRANSFORMS`, an empty term, a missing or second ``~``.

    Examples
    --------
    >>> check_formula("y ~ a + C(b, Treatment('x'))", ["y", "a", "b"]).columns
    ('a', 'b')
    """
    if not isinstance(formula, str):
        raise ModelSpecError(f"formula must be a string, got {type(formula).__name__}")
    cols = {str(c) for c in columns}
    toks = _tokens(formula)
    tildes = [t for t in toks if t == ("op", "~", t[2])]
    if len(tildes) != 1:
        raise ModelSpecError(f"formula {formula!r}: needs exactly one '~' (outcome ~ predictors)")
    return _Parser(formula, toks, cols).parse()


class _Parser:
    """Recursive descent over the tokens of one formula (the grammar of the module docstring).

    ``i`` is the position of the next token; ``used`` collects the data columns named on the
    right-hand side, in order of appearance.
    """

    def __init__(self, formula: str, toks: list[tuple[str, str, int]], cols: set[str]) -> None:
        self.formula, self.toks, self.cols = formula, toks, cols
        self.used: list[str] = []
        self.i = 0

    def name_ok(self, tok: tuple[str, str, int], what: str) -> str:
        """The column name ``tok``, or a :class:`ModelSpecError` saying why it is refused."""
        formula, cols = self.formula, self.cols
        kind, val, pos = tok
        if kind != "name":
            raise ModelSpecError(f"formula {formula!r}: expected a column name at position {pos} ({what}), got {val!r}")
        if val.startswith("_") or keyword.iskeyword(val):
            raise ModelSpecError(f"formula {formula!r}: name {val!r} at position {pos} is not allowed "
                                 "(names starting with '_' and Python keywords are refused)")
        if val not in cols:
            raise ModelSpecError(f"formula {formula!r}: {val!r} at position {pos} is not a column of the data; "
                                 f"available: {sorted(cols)}")
        return val

    def parse(self) -> ParsedFormula:
        """``outcome ~ rhs``: the whole token list, or an error at the first token out of place."""
        formula, toks = self.formula, self.toks
        self.i = 0
        outcome = self.name_ok(toks[0], "the outcome") if toks else ""
        self.i = 1
        if self.i >= len(toks) or toks[self.i][1] != "~":
            raise ModelSpecError(f"formula {formula!r}: the left-hand side must be one column name")
        self.i += 1
        self.term()
        while self.i < len(toks) and toks[self.i][1] in ("+", "-"):
            self.i += 1
            self.term()
        if self.i != len(toks):
            raise ModelSpecError(f"formula {formula!r}: unexpected {toks[self.i][1]!r} at position {toks[self.i][2]}")
        rhs = formula.split("~", 1)[1].strip()
        return ParsedFormula(outcome=outcome, rhs=rhs, columns=tuple(dict.fromkeys(self.used)))

    def expect(self, val: str) -> None:
        """Consume the token ``val`` or raise naming what came instead."""
        toks = self.toks
        if self.i >= len(toks) or toks[self.i][1] != val:
            got = toks[self.i][1] if self.i < len(toks) else "the end"
            raise ModelSpecError(f"formula {self.formula!r}: expected {val!r}, got {got!r}")
        self.i += 1

    def factor(self) -> None:
        """A column, ``C(column[, Treatment('level')])``, ``TRANSFORM(column)`` or ``0``/``1``."""
        formula, toks = self.formula, self.toks
        if self.i >= len(toks):
            raise ModelSpecError(f"formula {formula!r}: a term is missing at the end")
        kind, val, pos = toks[self.i]
        if kind == "name" and self.i + 1 < len(toks) and toks[self.i + 1][1] == "(":
            if val == "C":
                self.i += 2
                self._not_at_end(f"{val}(")
                self.used.append(self.name_ok(toks[self.i], "C(column)"))
                self.i += 1
                if self.i < len(toks) and toks[self.i][1] == ",":
                    self.i += 1
                    if self.i >= len(toks) or toks[self.i][1] != "Treatment":
                        raise ModelSpecError(f"formula {formula!r}: C(column, ...) accepts only Treatment('level')")
                    self.i += 1
                    self.expect("(")
                    if self.i >= len(toks) or toks[self.i][0] != "string":
                        raise ModelSpecError(f"formula {formula!r}: Treatment() needs a quoted reference level")
                    self.i += 1
                    self.expect(")")
                self.expect(")")
                return
            if val in TRANSFORMS:
                self.i += 2
                self._not_at_end(f"{val}(")
                self.used.append(self.name_ok(toks[self.i], f"{val}(column)"))
                self.i += 1
                self.expect(")")
                return
            raise ModelSpecError(f"formula {formula!r}: {val!r}(...) at position {pos} is not an allowed call; "
                                 f"allowed: C, {', '.join(TRANSFORMS)}")
        if kind == "number":
            self.i += 1
            return
        self.used.append(self.name_ok(toks[self.i], "a predictor"))
        self.i += 1

    def _not_at_end(self, opened: str) -> None:
        """A call's argument is missing because the formula ends (``y ~ C(``)."""
        if self.i >= len(self.toks):
            raise ModelSpecError(f"formula {self.formula!r}: ends after {opened!r}; a column name and ')' are missing")

    def term(self) -> None:
        """Factors joined by ``:`` or ``*``."""
        self.factor()
        while self.i < len(self.toks) and self.toks[self.i][1] in (":", "*"):
            self.i += 1
            self.factor()


def safe_model_matrix(rhs: str, data: pd.DataFrame):
    """formulaic's model matrix of a checked right-hand side, evaluated with only the named
    columns and :data:`TRANSFORMS` in scope.

    Parameters
    ----------
    rhs : str
        A right-hand side that passed :func:`check_formula`.
    data : pandas.DataFrame

    Returns
    -------
    formulaic.ModelMatrix
    """
    from formulaic import model_matrix

    parsed = check_formula(f"y_ ~ {rhs}", [*map(str, data.columns), "y_"])
    sub = data[list(parsed.columns)] if parsed.columns else data.iloc[:, :0]
    return model_matrix(rhs, sub, context=dict(TRANSFORMS))
