"""Country names in English and local languages, and ISO codes, resolved to ISO 3166-1 alpha-2.

Names come from ``pycountry`` (the ISO 3166-1 database of Debian's iso-codes, with its
translations), never from a hand-made list: every country's ``name``, ``official_name`` and
``common_name`` in English and in :data:`DEFAULT_LANGUAGES` (the official languages of the
Council of Europe member states and of the other countries of the 2017 survey). So
``Deutschland``, ``Österreich``, ``España``, ``Polska``, ``Česko``, ``Česká republika``,
``Tschechien``, ``Czechia``, ``Norge`` and ``DEU`` / ``de`` all resolve.

Matching (:func:`resolve_country`), first rule that matches wins:

1. an ISO 3166-1 alpha-2 or alpha-3 code, any case (``NO`` is Norway, ``deu`` Germany);
2. a name, compared after Unicode NFKC normalisation, case folding and collapsing spaces;
3. the same with accents and punctuation removed (``Osterreich``, ``Cesko``).

A name that belongs to more than one country at the first level where it matches (e.g.
``Congo`` in several languages) is **ambiguous**; an unmatched one is **unknown**. Both are
returned as such (never guessed); the mapping turns them into errors naming row and value.
"""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["resolve_country", "CountryResolution", "DEFAULT_LANGUAGES", "name_index"]

#: Languages whose country names are recognised by default (ISO 639 codes of pycountry's locales).
DEFAULT_LANGUAGES: tuple[str, ...] = (
    "de", "fr", "it", "es", "pt", "nl", "pl", "cs", "sk", "sl", "hr", "sr", "sr@latin", "bs", "hu", "ro",
    "bg", "el", "tr", "sv", "da", "nb_NO", "nn", "fi", "et", "lv", "lt", "ga", "mt", "is", "sq", "mk", "ru",
    "uk", "be", "ka", "hy", "az", "kk", "he", "ca", "eu", "gl", "cy", "fo",
)


@dataclass(frozen=True)
class CountryResolution:
    """The outcome of :func:`resolve_country`.

    Attributes
    ----------
    value : str
        The text as given.
    code : str or None
        ISO 3166-1 alpha-2 code, or None when unknown or ambiguous.
    how : str
        ``"alpha-2 code"``, ``"alpha-3 code"``, ``"name (<languages>)"``, ``"name without
        accents (<languages>)"``, ``"ambiguous"`` or ``"unknown"``.
    candidates : tuple of str
        The countries an ambiguous name belongs to (alpha-2 codes).
    suggestion : str or None
        For an unknown name, the closest known name (difflib), if any is close.
    """

    value: str
    code: str | None
    how: str
    candidates: tuple[str, ...] = ()
    suggestion: str | None = None


def _norm(s: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", s).casefold().split())


_PUNCT = re.compile(r"[.,'’()\-]+")


def _loose(s: str) -> str:
    d = unicodedata.normalize("NFKD", _norm(s))
    d = "".join(ch for ch in d if not unicodedata.combining(ch))
    return " ".join(_PUNCT.sub(" ", d).split())


@functools.cache
def name_index(languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> tuple[dict[str, dict[str, set[str]]], dict[str, dict[str, set[str]]]]:
    """``(exact, loose)``: normalised name -> {alpha-2 -> languages it is a name in}.

    Parameters
    ----------
    languages : tuple of str
        pycountry locales besides English.
    """
    import pycountry

    exact: dict[str, dict[str, set[str]]] = {}
    loose: dict[str, dict[str, set[str]]] = {}
    trans = {"en": None}
    for lang in languages:
        try:
            trans[lang] = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
        except OSError:
            continue
    for c in pycountry.countries:
        names = [n for n in (c.name, getattr(c, "official_name", None), getattr(c, "common_name", None)) if n]
        for lang, t in trans.items():
            for n in names:
                local = n if t is None else t.gettext(n)
                if lang != "en" and local == n:
                    continue  # untranslated: the English name, already indexed as English
                exact.setdefault(_norm(local), {}).setdefault(c.alpha_2, set()).add(lang)
                loose.setdefault(_loose(local), {}).setdefault(c.alpha_2, set()).add(lang)
    return exact, loose


@functools.cache
def _codes() -> tuple[dict[str, str], dict[str, str]]:
    import pycountry

    a2 = {c.alpha_2: c.alpha_2 for c in pycountry.countries}
    a2["XK"] = "XK"  # Kosovo: user-assigned, used by the EU and survey tools
    a3 = {c.alpha_3: c.alpha_2 for c in pycountry.countries}
    return a2, a3


def resolve_country(value: str, *, languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> CountryResolution:
    """Resolve a country name or ISO code to ISO 3166-1 alpha-2 (rules in the module docstring).

    Parameters
    ----------
    value : str
        The answer as exported (``"Deutschland"``, ``"Česká republika"``, ``"NO"``).
    languages : tuple of str
        pycountry locales whose names are recognised besides English.

    Returns
    -------
    CountryResolution
        ``code`` is None for an unknown or ambiguous name (see ``how`` and ``candidates``).

    Examples
    --------
    >>> [resolve_country(v).code for v in ("Deutschland", "Česká republika", "Polska", "no", "PRT")]
    ['DE', 'CZ', 'PL', 'NO', 'PT']
    """
    v = value.strip()
    a2, a3 = _codes()
    if len(v) == 2 and v.upper() in a2:
        return CountryResolution(value, v.upper(), "alpha-2 code")
    if len(v) == 3 and v.isalpha() and v.upper() in a3:
        return CountryResolution(value, a3[v.upper()], "alpha-3 code")
    exact, loose = name_index(tuple(languages))
    for table, key, label in ((exact, _norm(v), "name"), (loose, _loose(v), "name without accents")):
        hit = table.get(key)
        if not hit:
            continue
        if len(hit) > 1:
            return CountryResolution(value, None, "ambiguous", tuple(sorted(hit)))
        code, langs = next(iter(hit.items()))
        return CountryResolution(value, code, f"{label} ({', '.join(sorted(langs))})")
    import difflib

    close = difflib.get_close_matches(_norm(v), list(exact), n=1, cutoff=0.8)
    return CountryResolution(value, None, "unknown", suggestion=close[0] if close else None)
