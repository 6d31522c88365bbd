"""One figure style for every irmodels figure (Insights into Imaging specs).

Widths are the journal's final sizes: 85 mm (single column) or 170 mm
(double column); at most 225 mm tall. Vector PDF with TrueType fonts
(``pdf.fonttype: 42``) plus a 300-dpi PNG. Timestamps are stripped so the
same inputs and seed give the same bytes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

import matplotlib

matplotlib.use("Agg")  # no screen on CI machines; set before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from irmodels.core.io import atomic_path# noqa: E402

__all__ = [
    "MM",
    "SINGLE_COLUMN_MM",
    "DOUBLE_COLUMN_MM",
    "MAX_HEIGHT_MM",
    "OKABE_ITO",
    "journal_style",
    "new_figure",
    "save_figure",
]

MM = 1 / 25.4  # inches per millimetre
SINGLE_COLUMN_MM = 85.0
DOUBLE_COLUMN_MM = 170.0
MAX_HEIGHT_MM = 225.0

# Okabe & Ito (2008) colour-blind-safe palette, in its usual order.
OKABE_ITO: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#000000",  # black
)

_RC = {
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 7,
    "axes.titlesize": 7.5,
    "axes.labelsize": 7,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "legend.fontsize": 6.5,
    "axes.linewidth": 0.5,
    "lines.linewidth": 1.0,
    "xtick.major.width": 0.5,
    "ytick.major.width": 0.5,
    "grid.linewidth": 0.4,
    "patch.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=list(OKABE_ITO)),
    "savefig.dpi": 300,
    "figure.dpi": 100,
    "svg.hashsalt": "irmodels",
}


@contextlib.contextmanager
def journal_style() -> Iterator[None]:
    """Context manager applying the irmodels figure style (rcParams)."""
    with matplotlib.rc_context(_RC):
        yield


def new_figure(width_mm: float = SINGLE_COLUMN_MM, height_mm: float = 60.0, **kwargs) -> tuple[Figure, object]:
    """Create a figure at a journal width.

    Parameters
    ----------
    width_mm : float
        85 (single column) or 170 (double column); other widths raise.
    height_mm : float
        Height in millimetres, at most 225.
    **kwargs
        Passed to :func:`matplotlib.pyplot.subplots` (``nrows``, ``ncols``, ...).

    Returns
    -------
    (Figure, Axes or array of Axes)
    """
    if width_mm not in (SINGLE_COLUMN_MM, DOUBLE_COLUMN_MM):
        raise ValueError(f"width_mm={width_mm}: journal widths are 85 or 170 mm")
    if not 0 < height_mm <= MAX_HEIGHT_MM:
        raise ValueError(f"height_mm={height_mm}: must be in (0, 225] mm")
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(figsize=(width_mm * MM, height_mm * MM), **kwargs)


def save_figure(fig: Figure, path: str | os.PathLike, *, close: bool = True) -> list[Path]:
    """Write ``path`` as PDF and PNG (same stem), byte-reproducibly and atomically.

    Each file is first written to a temporary file in the target folder and
    then renamed, so a failure leaves no half-written figure.

    Parameters
    ----------
    fig : Figure
    path : path-like
        Target path; the suffix is ignored, ``.pdf`` and ``.png`` are written.
    close : bool
        Close the figure afterwards.

    Returns
    -------
    list of Path
        The two files written.
    """
    stem = Path(path).with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    meta = {
        ".pdf": {"CreationDate": None, "ModDate": None, "Producer": "irmodels", "Creator": "irmodels"},
        ".png": {"Software": None},
    }
    for suffix in (".pdf", ".png"):
        target = stem.with_suffix(suffix)
        # temp file + rename; removed on any exception, SIGINT, or SIGTERM under the irmodels command
        with atomic_path(target, suffix=suffix + ".tmp") as tmp:
            with journal_style():  # fonttype 42 etc. apply at save time, not at draw time
                fig.savefig(tmp, format=suffix[1:], dpi=300, metadata=meta[suffix])
        written.append(target)
    if close:
        plt.close(fig)
    return written
