"""Tidy tables in, LaTeX macros and tables out: the numbers the paper reads.

The paper (``paper/irmodels_2017.tex``) never contains a typed estimate: every
number is a macro defined in ``paper/generated/numbers.tex`` or a table
``\\input`` from ``paper/generated/``, both written by analysis scripts.
"""

from __future__ import annotations

import math

import os
import re
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from irmodels.core.io import write_text_atomic

__all__ = ["mcse_decimals", "round_to_mcse", "macro_key", "macro_name", "format_number", "write_macros", "latex_table", "read_macros"]

_KEY_RE = re.compile(r"^[A-Za-z]+$")
_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


_DIGITS = ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")


def macro_key(*parts: str) -> str:
    """Build a letters-only CamelCase macro key from parts (digits spelled out).

    Examples
    --------
    >>> macro_key("cover", "hospitals_200plus", "pct")
    'CoverHospitalsTwoZeroZeroplusPct'
    """
    words = []
    for part in parts:
        for tok in re.split(r"[^A-Za-z0-9]+", str(part)):
            if not tok:
                continue
            tok = "".join(_DIGITS[int(ch)] if ch.isdigit() else ch for ch in tok)
            words.append(tok[0].upper() + tok[1:])
    return "".join(words)


def macro_name(key: str) -> str:
    r"""The LaTeX macro for a key: ``"CoverRespPct"`` -> ``\irCoverRespPct``.

    Raises
    ------
    ValueError
        If the key is not letters only (LaTeX macro names cannot hold digits).
    """
    if not _KEY_RE.match(key):
        raise ValueError(f"macro key {key!r} must be letters only (A-Z, a-z); LaTeX macro names cannot hold digits or '_'")
    return "\\ir" + key


def format_number(x: float | int, decimals: int = 1) -> str:
    """Format a number for the paper (fixed decimals; integers without decimals; minus as en-dash math)."""
    if isinstance(x, (int, np.integer)):
        return f"{int(x)}"
    if not np.isfinite(x):
        raise ValueError(f"cannot format non-finite number {x!r} for the paper")
    s = f"{x:.{decimals}f}"
    return s.replace("-", "$-$") if s.startswith("-") else s


def mcse_decimals(mcse: float, max_decimals: int = 2) -> int:
    """How many decimals a Monte Carlo estimate supports: the last printed digit is one whose unit exceeds 2 MCSE.

    The rule of Vehtari (2022, "How many iterations to run and how many digits to report",
    https://users.aalto.fi/~ave/casestudies/Digits/digits.html): report digits down to the place
    where twice the Monte Carlo standard error is smaller than one unit of that place, so that a
    rerun with another seed is not expected to change the printed value by more than one unit in
    the last digit. ``d = floor(-log10(2 mcse))``, capped at ``max_decimals``; it can be negative
    (round to tens when 2 MCSE exceeds 1) and is ``max_decimals`` when the MCSE is 0.

    Parameters
    ----------
    mcse : float
        Monte Carlo standard error of the number, on the printed scale (non-negative, finite).
    max_decimals : int
        The most decimals the paper prints for this kind of number.

    Returns
    -------
    int

    Examples
    --------
    >>> mcse_decimals(0.03), mcse_decimals(0.004), mcse_decimals(0.0004), mcse_decimals(0.6)
    (1, 2, 2, -1)
    """
    if not np.isfinite(mcse) or mcse < 0:
        raise ValueError(f"MCSE must be finite and non-negative, got {mcse!r}")
    if mcse == 0:
        return max_decimals
    return int(min(max_decimals, math.floor(-math.log10(2 * mcse))))


def round_to_mcse(x: float, mcse: float, max_decimals: int = 2) -> str:
    """Format a Monte Carlo estimate with only the digits its MCSE supports (:func:`mcse_decimals`).

    Examples
    --------
    >>> round_to_mcse(3.4712, 0.03), round_to_mcse(3.4712, 0.004), round_to_mcse(22.45, 0.6)
    ('3.5', '3.47', '20')
    """
    d = mcse_decimals(mcse, max_decimals)
    if d >= 0:
        return format_number(float(x), d)
    return format_number(int(round(float(x), d)))


def escape_latex(text: str) -> str:
    """Escape LaTeX special characters in plain text."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def write_macros(values: Mapping[str, str | float | int], path: str | os.PathLike, *, source: str, decimals: int = 1) -> Path:
    r"""Write ``\newcommand`` definitions for the paper, atomically.

    Parameters
    ----------
    values : mapping
        Key (letters only) -> value; numbers are formatted with ``decimals``,
        strings are written as given (already LaTeX).
    path : path-like
        Target ``.tex`` file.
    source : str
        The script that made it (written into the file's header).

    Returns
    -------
    Path
    """
    lines = [f"% Generated by {source}; do not edit. Numbers the paper reads.", ""]
    for key in sorted(values):
        v = values[key]
        text = v if isinstance(v, str) else format_number(v, decimals)
        lines.append(f"\\newcommand{{{macro_name(key)}}}{{{text}}}")
    return write_text_atomic("\n".join(lines) + "\n", path)


def read_macros(path: str | os.PathLike) -> dict[str, str]:
    r"""Read back ``\newcommand{\irKey}{value}`` lines (for tests and checks)."""
    out = {}
    for m in re.finditer(r"\\newcommand\{\\ir([A-Za-z]+)\}\{(.*)\}\s*$", Path(path).read_text(encoding="utf-8"), re.M):
        out[m.group(1)] = m.group(2)
    return out


def latex_table(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    caption: str,
    label: str,
    source: str,
    column_format: str | None = None,
    notes: Iterable[str] = (),
) -> Path:
    """Write a booktabs LaTeX table (a ``table`` float) from a DataFrame, atomically.

    Cells are written as text (escaped); format numbers before calling.
    """
    cols = list(df.columns)
    fmt = column_format or ("l" + "r" * (len(cols) - 1))
    lines = [
        f"% Generated by {source}; do not edit.",
        "\\begin{table}[htbp]",
        "\\centering\\small",
        f"\\caption{{{escape_latex(caption)}}}",
        f"\\label{{{label}}}",
        f"\\begin{{tabular}}{{{fmt}}}",
        "\\toprule",
        " & ".join(escape_latex(c) for c in cols) + " \\\\",
        "\\midrule",
    ]
    for row in df.itertuples(index=False):
        lines.append(" & ".join(escape_latex("" if pd.isna(v) else v) for v in row) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    for n in notes:
        lines.append(f"\\par\\smallskip\\footnotesize {escape_latex(n)}")
    lines.append("\\end{table}")
    return write_text_atomic("\n".join(lines) + "\n", path)
