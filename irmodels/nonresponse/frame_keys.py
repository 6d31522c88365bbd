"""What a frame cell is keyed by: the country (ISO 3166-1 alpha-2), its region, the beds class.

Every other module of the frame area builds on these: :data:`BEDS_CLASSES` (codebook codes),
:data:`REGIONS` (the European regions sparse countries are collapsed into) and
:func:`region_of`, which names every code that is in no region.
"""

from __future__ import annotations

import pandas as pd

from irmodels.core.errors import FrameError, Problem

__all__ = ["BEDS_CLASSES", "REGIONS", "region_of"]

#: Codebook codes of ``beds_class``, in order.
BEDS_CLASSES: tuple[str, ...] = ("<200", "200-399", "400-799", ">=800")

#: European regions used to collapse sparse countries (an explicit, reported rule).
#: Based on the UN geoscheme for Europe; countries outside it are placed by
#: proximity: TR, IL and CY to EU-South, KZ, GE, AM and AZ to EU-East. Every
#: country of ``invited_countries.csv`` is in exactly one region (checked on load).
REGIONS: dict[str, tuple[str, ...]] = {
    "EU-North": ("DK", "EE", "FI", "FO", "GB", "IE", "IS", "LT", "LV", "NO", "SE"),
    "EU-West": ("AT", "BE", "CH", "DE", "FR", "LI", "LU", "MC", "NL"),
    "EU-South": ("AD", "AL", "BA", "CY", "ES", "GR", "HR", "IL", "IT", "ME", "MK", "MT", "PT", "RS", "SI", "SM", "TR", "VA", "XK"),
    "EU-East": ("AM", "AZ", "BG", "BY", "CZ", "GE", "HU", "KZ", "MD", "PL", "RO", "RU", "SK", "UA"),
}
_REGION_OF: dict[str, str] = {c: r for r, cs in REGIONS.items() for c in cs}


def region_of(country: str | pd.Series) -> str | pd.Series:
    """Region (:data:`REGIONS`) of an ISO2 country code or a Series of codes.

    Raises
    ------
    FrameError
        A code that is in no region (all of them listed at once).
    """
    if isinstance(country, pd.Series):
        out = country.astype("string").map(_REGION_OF)
        bad = country[out.isna() & country.notna()]
        if len(bad):
            raise FrameError(
                [Problem(rule=f"country code not in any region of irmodels.nonresponse.frame_keys.REGIONS{_uk_hint(v)}", row=i, column="country", value=v) for i, v in bad.items()],
                what="region_of",
            )
        return out
    if country not in _REGION_OF:
        raise FrameError([Problem(rule=f"country code not in any region of irmodels.nonresponse.frame_keys.REGIONS{_uk_hint(country)}", column="country", value=country)], what="region_of")
    return _REGION_OF[country]


def _uk_hint(v: object) -> str:
    """A hint for the common mistake 'UK' (ISO 3166-1 says 'GB'); empty for any other value."""
    return " (the United Kingdom is 'GB' in ISO 3166-1)" if str(v).upper() == "UK" else ""
