"""Publication figures: one style, one module per area.

* :mod:`~irmodels.figures.style`: journal widths, Okabe-Ito colours, deterministic PDF/PNG;
* :mod:`~irmodels.figures.descriptive`, :mod:`~irmodels.figures.weighting`,
  :mod:`~irmodels.figures.identification`, :mod:`~irmodels.figures.models`: the figures of each
  area, drawn from the tidy tables the analysis layers write (a figure computes nothing).
"""

from irmodels.figures.style import (  # noqa: F401
    DOUBLE_COLUMN_MM,
    MAX_HEIGHT_MM,
    MM,
    OKABE_ITO,
    SINGLE_COLUMN_MM,
    journal_style,
    new_figure,
    save_figure,
)
