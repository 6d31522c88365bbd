"""Shared loader of the R reference data sets for the model tests (tests/reference/models/).

Category orders come from the codebook, so the tests and the library use one definition.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from irmodels.data.codebook import categories

REF_DIR = Path(__file__).parent / "reference" / "models"
BEDS = categories("beds_class")
CHAIR = categories("chair_profile")
SHARE = categories("female_ir_share_class")


def as_model_types(df: pd.DataFrame) -> pd.DataFrame:
    """Ordered categoricals for bed class, chair profile and female-IR share class; booleans as bool."""
    df = df.copy()
    for col, cats in (("beds_class", BEDS), ("chair_profile", CHAIR), ("female_ir_share_class", SHARE)):
        if col in df:
            df[col] = pd.Categorical(df[col].astype(str), categories=cats, ordered=True)
    for c in ("teaching", "cover_24_7"):
        if c in df:
            df[c] = df[c].astype(bool)
    return df


def load_ref(name: str) -> pd.DataFrame:
    """Read ``tests/reference/models/<name>.csv`` (written by make_reference.R) with model types."""
    return as_model_types(pd.read_csv(REF_DIR / f"{name}.csv", keep_default_na=False, na_values=[""]))
