"""Tests of irmodels.data.countries: English and local-language names and ISO codes resolved with
pycountry's ISO 3166 data; ambiguous and unknown names are never guessed."""

from __future__ import annotations

import pytest

from irmodels.data.countries import resolve_country


@pytest.mark.parametrize("value,code", [
    ("Deutschland", "DE"), ("Germany", "DE"), ("Allemagne", "DE"), ("Österreich", "AT"), ("Osterreich", "AT"),
    ("España", "ES"), ("Spanien", "ES"), ("Polska", "PL"), ("Polen", "PL"), ("Poland", "PL"), ("Česko", "CZ"),
    ("Česká republika", "CZ"), ("Czechia", "CZ"), ("Czech Republic", "CZ"), ("Tschechien", "CZ"),
    ("Portugal", "PT"), ("Norge", "NO"), ("Suomi", "FI"), ("Éire", "IE"), ("Türkiye", "TR"), ("România", "RO"),
    ("  united   kingdom ", "GB"), ("NO", "NO"), ("no", "NO"), ("DEU", "DE"), ("prt", "PT"), ("XK", "XK"),
])
def test_names_and_codes_resolve(value, code):
    assert resolve_country(value).code == code


def test_how_a_name_was_resolved_is_stated():
    assert resolve_country("Tschechien").how == "name (de)"
    assert resolve_country("Osterreich").how == "name without accents (de)"
    assert resolve_country("CZE").how == "alpha-3 code"


def test_ambiguous_and_unknown_names_are_not_guessed():
    r = resolve_country("Sámoa")  # Faroese for both American Samoa and Samoa in pycountry's data
    assert r.code is None and r.how == "ambiguous" and r.candidates == ("AS", "WS")
    u = resolve_country("Atlantis")
    assert u.code is None and u.how == "unknown" and u.suggestion is None
    assert resolve_country("Germny").suggestion == "germany"
    assert resolve_country("UK").code is None  # not an ISO code; the mapping's codes: {UK: GB} says so


def test_languages_can_be_restricted():
    assert resolve_country("Deutschland", languages=()).code is None
    assert resolve_country("Deutschland", languages=("de",)).code == "DE"
