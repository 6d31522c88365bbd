"""Publication figures. ``style`` holds the one style; each area has its module."""

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
