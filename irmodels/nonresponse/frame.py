"""Population frame of the 2017 ESR/CIRSE survey: named scenarios and user frames.

The ESR sent the 2017 questionnaire to about 1180 heads of radiology departments
but never published how these contacts split by country or hospital size. Any
non-response weighting therefore rests on an *assumption* linking contacts to
something that is counted. This module makes that assumption explicit:

* :func:`load_invited_countries` reads the list of countries the survey could
  have invited (``data/raw/frame/invited_countries.csv``: the 47 member states of
  the Council of Europe in 2017, as a stand-in for the countries of the ESR's
  national member societies, plus the three Table 1 countries outside it). The
  scenario frames cover all of them, answering or not: assuming that no invitation
  went to a country without respondents is itself an assumption, available only
  as the explicitly named ``*_answering_only`` variants.
* :data:`SCENARIOS` names the assumptions (e.g. ``radiologists``: invitations
  proportional to the number of radiologists in each invited country).
* :func:`frame_cells` turns a scenario (and the country statistics transcribed
  under ``data/raw/frame/``) into population counts ``N`` of departments by
  ``country`` x ``beds_class`` that sum to ``total`` (by default the frame size of
  the wave the scenario is built for, :func:`scenario_total`: 1180 for 2017; a user
  frame's counts are used as given). Every rule used to fill a missing statistic is
  written in the ``rule`` column.
* :func:`check_frame` checks a frame against the respondents it is to weight (a
  respondent country absent from the frame is an error; a cell with fewer frame
  units than respondents is flagged or refused).
* :func:`frame_margins` gives the same counts as raking margins;
  :func:`region_coverage` says how much of each region's frame lies in countries
  without respondents (and flags regions without any).
* :func:`load_frame` reads and validates a user's own frame file (for instance
  the real counts of invited departments by country and size).

Results weighted to a scenario frame depend on the scenario: they are labelled
``identification = "assumption"`` downstream.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from irmodels.core.errors import FrameError, IrmodelsWarning, Problem


class FrameRescaledWarning(IrmodelsWarning):
    """A user frame's counts were rescaled to a ``total`` given explicitly.

    Only happens on request (``total=`` differs from the sum of the frame's counts); the
    cells' ``rule`` column and ``attrs["rescaled_from"]`` say so as well.
    """


class FrameContradictionWarning(IrmodelsWarning):
    """The frame has fewer units than respondents in some cell: it contradicts the data.

    Issued by :func:`check_frame` with ``on_contradiction="flag"``; each such cell is
    listed (``below_respondents`` in its result, ``frame_check`` in
    :func:`irmodels.nonresponse.survey.frame_weighted_prevalence`).
    """

__all__ = [
    "BEDS_CLASSES",
    "BEDS_MIDPOINTS",
    "REGIONS",
    "SCENARIOS",
    "Scenario",
    "scenario_role",
    "DEFAULT_STATISTICS",
    "DEFAULT_INVITED",
    "MIN_DONORS",
    "region_of",
    "load_statistics",
    "load_invited_countries",
    "load_frame",
    "frame_cells",
    "check_frame",
    "scenario_total",
    "FrameRescaledWarning",
    "FrameContradictionWarning",
    "frame_margins",
    "region_coverage",
]

#: Codebook codes of ``beds_class``, in order.
BEDS_CLASSES: tuple[str, ...] = ("<200", "200-399", "400-799", ">=800")

#: Representative bed numbers per class, used only by the bed-weighted split
#: (departments' share of radiologists grows with hospital size). The open
#: class ``>=800`` is set to 1000 beds: an assumption, stated in docs/weighting.md.
BEDS_MIDPOINTS: dict[str, float] = {"<200": 100.0, "200-399": 300.0, "400-799": 600.0, ">=800": 1000.0}

# Columns of country_statistics.csv holding hospitals by beds class.
_BEDS_COLUMNS: dict[str, str] = {
    "<200": "beds_lt200",
    "200-399": "beds_200_399",
    "400-799": "beds_400_799",
    ">=800": "beds_ge800",
}

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

_FRAME_DIR: Path = Path(__file__).resolve().parents[2] / "data" / "raw" / "frame"

#: Where the transcribed country statistics live in a source checkout. The
#: library reads it only when no ``statistics`` table is passed.
DEFAULT_STATISTICS: Path = _FRAME_DIR / "country_statistics.csv"

#: Where the list of invited countries lives in a source checkout (read only when
#: no ``invited`` table is passed).
DEFAULT_INVITED: Path = _FRAME_DIR / "invited_countries.csv"

#: A statistic missing for an invited country is imputed from the median rate per
#: inhabitant of the countries of its region that have it; with fewer than this
#: many such countries the median over all invited countries is used (stated in
#: the ``rule`` column).
MIN_DONORS: int = 3


@dataclass(frozen=True)
class Scenario:
    """A named assumption linking the 1180 invitations to counted quantities.

    Attributes
    ----------
    name : str
    country_rule : str
        Statistic the country totals are proportional to: ``radiologists``,
        ``hospitals``, ``hospitals_200plus`` or ``respondents``.
    beds_rule : str
        How a country's departments split over ``beds_class``: ``bed_weighted``
        (hospital counts x :data:`BEDS_MIDPOINTS`), ``hospitals``,
        ``hospitals_200plus`` or ``respondents``.
    description : str
    reference : bool
        True for a null/reference scenario whose "frame" is derived from the sample
        itself (it treats sample-derived totals as known and so shrinks standard
        errors): its weighted results are a reference point, not an estimate.
    countries : str
        Which countries the frame covers: ``"invited"`` (every country of
        :func:`load_invited_countries`, with or without respondents; a missing
        statistic is imputed from population) or ``"answering"`` (only the
        countries with respondents in Table 1; a missing statistic gives the
        country its respondent share of the frame).
    """

    name: str
    country_rule: str
    beds_rule: str
    description: str
    reference: bool = False
    countries: str = "invited"
    wave: str = "esr_cirse_2017"


def scenario_total(name: str) -> float:
    """Frame size a named scenario is built for: the invitations of its wave.

    The named scenarios (:data:`SCENARIOS`) are built from the 2017 country statistics and
    Table 1, so their own frame size is the 2017 one,
    :data:`irmodels.data.waves.esr_cirse_2017.N_INVITED` (1180). It is what :func:`frame_cells`
    uses for a named scenario when no ``total`` is given (and says so in
    ``attrs["total_source"]``); functions that take a wave's respondents
    (:func:`irmodels.nonresponse.survey.frame_weighted_prevalence`, the CLI) require the wave's own
    frame size instead.

    Raises
    ------
    FrameError
        Unknown scenario (``"user"`` has no frame size of its own apart from its counts).

    Examples
    --------
    >>> scenario_total("radiologists")
    1180.0
    """
    sc = _scenario(name)
    if sc.wave == "esr_cirse_2017":
        from irmodels.data.waves.esr_cirse_2017 import N_INVITED

        return float(N_INVITED)
    raise FrameError([Problem(rule="no frame size is known for the wave of this scenario; pass total=", value=name)],  # pragma: no cover
                     what="frame scenario")


_ANSWERING_NOTE = (
    " Restricted to the 24 countries with respondents (Table 1): assumes that no invitation went to "
    "any other country. A country without the statistic gets its respondent share of the frame. The "
    "frame used before issue 9, kept so that results can show how much the choice of countries moves them."
)

#: The named frame scenarios (see docs/weighting.md for the reasoning).
SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "radiologists",
            "radiologists",
            "bed_weighted",
            "Invitations proportional to the radiologists (Eurostat MED_RAD) of every invited country; a "
            "country without a count gets population x the median radiologists per inhabitant of its "
            "region. Within a country, departments split over beds classes in proportion to hospital beds "
            "(GISCO hospital counts x class midpoint), since radiologists concentrate in larger hospitals.",
        ),
        Scenario(
            "hospitals_200plus",
            "hospitals_200plus",
            "hospitals_200plus",
            "Invitations proportional to the hospitals with 200 or more beds of every invited country "
            "(GISCO classes, else hospital count x pooled 200+ share, else population x the regional median "
            "per inhabitant); within a country, departments split in proportion to hospital counts in the "
            "200+ classes. The frame definition has no <200 class, yet 4 respondents are from <200 "
            "hospitals: the <200 class gets its respondent share (4/98) of each country.",
        ),
        Scenario(
            "hospitals",
            "hospitals",
            "hospitals",
            "Invitations proportional to the hospitals (all sizes) of every invited country (a country "
            "without a count: population x the regional median per inhabitant); departments split over beds "
            "classes in proportion to hospital counts. An extreme scenario: most hospitals have fewer than "
            "200 beds.",
        ),
        Scenario(
            "radiologists_answering_only",
            "radiologists",
            "bed_weighted",
            "As 'radiologists'." + _ANSWERING_NOTE,
            countries="answering",
        ),
        Scenario(
            "hospitals_200plus_answering_only",
            "hospitals_200plus",
            "hospitals_200plus",
            "As 'hospitals_200plus'." + _ANSWERING_NOTE,
            countries="answering",
        ),
        Scenario(
            "hospitals_answering_only",
            "hospitals",
            "hospitals",
            "As 'hospitals'." + _ANSWERING_NOTE,
            countries="answering",
        ),
        Scenario(
            "respondents_table1",
            "respondents",
            "respondents",
            "Null scenario: the frame has the respondents' own distribution. With the respondents "
            "given (respondents=, as every function taking a wave's table does), their own country x "
            "beds class counts scaled to the frame total; without them, 2017's (Table 1 countries x the "
            "published beds counts 4/15/28/51). Weights are constant; the weighted estimate "
            "equals the respondent percentage. A reference, not an estimate: sample-derived totals "
            "are treated as known, which shrinks the standard error.",
            reference=True,
            countries="answering",
        ),
    )
}

_PUBLISHED_BEDS_2017: dict[str, int] = {"<200": 4, "200-399": 15, "400-799": 28, ">=800": 51}


#: Role labels written next to results in tables (:func:`scenario_role`).
ROLE_REFERENCE = "reference: respondents' own distribution; not an estimate"
ROLE_ESTIMATE = "estimate (frame scenario is an assumption)"
ROLE_UNWEIGHTED = "respondent percentage (unweighted)"
ROLE_USER = "estimate (user-supplied frame)"


def scenario_role(name: str) -> str:
    """How a result under frame scenario ``name`` may be read, for table columns.

    Returns :data:`ROLE_REFERENCE` for a reference scenario (``respondents_table1``),
    :data:`ROLE_UNWEIGHTED` for ``"unweighted"``, :data:`ROLE_USER` for a ``"user"``
    frame and :data:`ROLE_ESTIMATE` for the other named scenarios.

    Examples
    --------
    >>> scenario_role("respondents_table1")
    "reference: respondents' own distribution; not an estimate"
    """
    if name == "unweighted":
        return ROLE_UNWEIGHTED
    if name == "user":
        return ROLE_USER
    sc = SCENARIOS.get(name)
    return ROLE_REFERENCE if sc is not None and sc.reference else ROLE_ESTIMATE


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
                [Problem(rule=f"country code not in any region of irmodels.nonresponse.frame.REGIONS{_uk_hint(v)}", row=i, column="country", value=v) for i, v in bad.items()],
                what="region_of",
            )
        return out
    if country not in _REGION_OF:
        raise FrameError([Problem(rule=f"country code not in any region of irmodels.nonresponse.frame.REGIONS{_uk_hint(country)}", column="country", value=country)], what="region_of")
    return _REGION_OF[country]


def _uk_hint(v: object) -> str:
    return " (the United Kingdom is 'GB' in ISO 3166-1)" if str(v).upper() == "UK" else ""


# ---------------------------------------------------------------------------
# reading the raw frame files

# counts (>= 0) and years; every other column is text
_STAT_REQUIRED_COUNTS = ("respondents_table1", "radiologists", "hospitals", *_BEDS_COLUMNS.values())
_STAT_OPTIONAL_COUNTS = ("population",)
_STAT_YEARS = ("radiologists_year", "hospitals_year", "beds_year", "population_year")


def _read_text_csv(p: Path, what: str) -> pd.DataFrame:
    if not p.is_file():
        raise FrameError([Problem(rule=f"{what} file not found", file=str(p))], what=what)
    try:
        return pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise FrameError([Problem(rule=f"{what} file is empty", file=p.name)], what=what) from None


def _country_problems(df: pd.DataFrame, name: str, line: pd.Index) -> list[Problem]:
    problems = []
    for i, v in zip(line, df["country"]):
        if pd.isna(v):
            problems.append(Problem(rule="country is missing; every row needs an ISO 3166-1 alpha-2 code", file=name, row=int(i), column="country", value=""))
        elif v not in _REGION_OF:
            problems.append(Problem(rule=f"country code not in any region of irmodels.nonresponse.frame.REGIONS{_uk_hint(v)}", file=name, row=int(i), column="country", value=v))
    dup = df["country"].duplicated(keep="first") & df["country"].notna()
    for i, v in zip(line[dup.to_numpy()], df.loc[dup, "country"]):
        problems.append(Problem(rule="duplicate country; each country has one row", file=name, row=int(i), column="country", value=v))
    return problems


def _numeric_problems(df: pd.DataFrame, name: str, line: pd.Index, col: str, *, required: bool) -> list[Problem]:
    problems = []
    num = pd.to_numeric(df[col], errors="coerce")
    for i, v, x in zip(line, df[col], num):
        if pd.isna(v):
            if required:
                problems.append(Problem(rule=f"{col} is missing (write 0 for a country without respondents)", file=name, row=int(i), column=col, value=""))
        elif pd.isna(x) or not np.isfinite(x):
            problems.append(Problem(rule=f"{col} is not a number (leave the cell empty when not found)", file=name, row=int(i), column=col, value=v))
        elif x < 0:
            problems.append(Problem(rule=f"{col} must be >= 0", file=name, row=int(i), column=col, value=v))
    return problems


def load_statistics(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read the country statistics table (``data/raw/frame/country_statistics.csv``).

    Parameters
    ----------
    path : path-like, optional
        Defaults to :data:`DEFAULT_STATISTICS`.

    Returns
    -------
    DataFrame
        One row per country (every invited country in the default file):
        ``country``, ``respondents_table1`` (0 for a country without respondents),
        ``radiologists``, ``hospitals``, ``beds_lt200`` ... ``beds_ge800``,
        ``population`` (floats, NaN = not found; ``population`` is NaN throughout
        when the file has no such column), the years (floats), sources and cautions
        as transcribed (text). ``attrs["file"]`` is the file name.

    Raises
    ------
    FrameError
        Listing every problem at once with file, row (line, header = 1), column,
        value and rule: file missing or empty, a required column missing, a
        missing, unknown or duplicate country code, a count or year that is not a
        number or is negative, a missing ``respondents_table1``.
    """
    p = Path(path) if path is not None else DEFAULT_STATISTICS
    df = _read_text_csv(p, "country statistics")
    problems = [Problem(rule="required column missing", file=p.name, column=c) for c in ("country", *_STAT_REQUIRED_COUNTS) if c not in df.columns]
    if problems:
        raise FrameError(problems, what="frame statistics")
    for col in (*_STAT_OPTIONAL_COUNTS, *_STAT_YEARS):
        if col not in df.columns:
            df[col] = np.nan
    line = df.index + 2
    problems += _country_problems(df, p.name, line)
    for col in _STAT_REQUIRED_COUNTS + _STAT_OPTIONAL_COUNTS + _STAT_YEARS:
        problems += _numeric_problems(df, p.name, line, col, required=(col == "respondents_table1"))
    if problems:
        raise FrameError(problems, what=f"frame statistics {p.name}")
    for col in _STAT_REQUIRED_COUNTS + _STAT_OPTIONAL_COUNTS + _STAT_YEARS:
        df[col] = pd.to_numeric(df[col]).astype(float)
    df["country"] = df["country"].astype("string")
    df.attrs["file"] = p.name
    return df


_INVITED_COLUMNS = ("country", "country_name", "region", "answered_2017", "respondents_table1", "frame_basis", "frame_basis_source")


def load_invited_countries(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read the list of countries the 2017 survey could have invited.

    The default file (``data/raw/frame/invited_countries.csv``, provenance in its
    README) lists the 47 member states of the Council of Europe in 2017, standing in
    for the countries of the ESR's national institutional member societies (no list
    of them was found), plus the three Table 1 countries outside the Council of
    Europe (Belarus, Israel, Kazakhstan), whose respondents show that the ESR
    contact list reached them: 50 countries, 24 with respondents.

    Parameters
    ----------
    path : path-like, optional
        Defaults to :data:`DEFAULT_INVITED`.

    Returns
    -------
    DataFrame
        One row per country: ``country`` (ISO2, string), ``country_name``,
        ``region`` (as :data:`REGIONS`), ``answered_2017`` (bool),
        ``respondents_table1`` (int), ``frame_basis`` (why the country is in the
        frame), ``frame_basis_source`` (source id of ``sources.csv``).
        ``attrs["file"]`` is the file name.

    Raises
    ------
    FrameError
        Listing every problem at once (file, row, column, value, rule): missing
        columns, a missing, unknown or duplicate country, a region that is not the
        country's region in :data:`REGIONS`, ``answered_2017`` not true/false or
        inconsistent with ``respondents_table1``, a missing reason or source.

    Examples
    --------
    >>> inv = load_invited_countries()
    >>> len(inv), int(inv["answered_2017"].sum()), int(inv["respondents_table1"].sum())
    (50, 24, 98)
    """
    p = Path(path) if path is not None else DEFAULT_INVITED
    df = _read_text_csv(p, "invited countries")
    problems = [Problem(rule=f"required column missing; the file has columns {list(_INVITED_COLUMNS)}", file=p.name, column=c) for c in _INVITED_COLUMNS if c not in df.columns]
    if problems:
        raise FrameError(problems, what="invited countries")
    line = df.index + 2
    problems += _country_problems(df, p.name, line)
    problems += _numeric_problems(df, p.name, line, "respondents_table1", required=True)
    n = pd.to_numeric(df["respondents_table1"], errors="coerce")
    answered = df["answered_2017"].fillna("").str.strip().str.lower()
    for i, c, r, a, k, basis, src in zip(line, df["country"], df["region"], answered, n, df["frame_basis"], df["frame_basis_source"]):
        if pd.notna(c) and c in _REGION_OF and r != _REGION_OF[c]:
            problems.append(Problem(rule=f"region is not the country's region in irmodels.nonresponse.frame.REGIONS ({_REGION_OF[c]})", file=p.name, row=int(i), column="region", value=r))
        if a not in ("true", "false"):
            problems.append(Problem(rule="answered_2017 must be true or false", file=p.name, row=int(i), column="answered_2017", value=a))
        elif pd.notna(k) and (a == "true") != (k > 0):
            problems.append(Problem(rule=f"answered_2017 contradicts respondents_table1 = {k:g}", file=p.name, row=int(i), column="answered_2017", value=a))
        for col, v in (("frame_basis", basis), ("frame_basis_source", src)):
            if pd.isna(v) or not str(v).strip():
                problems.append(Problem(rule="every invited country states why it is in the frame and the source", file=p.name, row=int(i), column=col, value=""))
    if problems:
        raise FrameError(problems, what=f"invited countries {p.name}")
    out = df[list(_INVITED_COLUMNS)].copy()
    out["country"] = out["country"].astype("string")
    out["answered_2017"] = answered == "true"
    out["respondents_table1"] = n.astype(int)
    out.attrs["file"] = p.name
    return out.reset_index(drop=True)


def _check_invited_against_statistics(stats: pd.DataFrame, invited: pd.DataFrame) -> None:
    """Both tables must cover the same countries with the same Table 1 counts."""
    sname = stats.attrs.get("file", "statistics table")
    iname = invited.attrs.get("file", "invited countries table")
    s = stats.set_index(stats["country"].astype(str))["respondents_table1"]
    i = invited.set_index(invited["country"].astype(str))["respondents_table1"]
    problems = []
    for c in [c for c in i.index if c not in s.index]:
        problems.append(Problem(rule=f"invited country has no row in the statistics table {sname} (add a row; empty cells mean 'not found')", file=iname, column="country", value=c))
    for c in [c for c in s.index if c not in i.index]:
        problems.append(Problem(rule=f"country of the statistics table is not in the list of invited countries {iname} (add it with the reason it is in the frame, or remove the row)", file=sname, column="country", value=c))
    for c in [c for c in i.index if c in s.index and float(s[c]) != float(i[c])]:
        problems.append(Problem(rule=f"respondents_table1 differs between {sname} ({s[c]:g}) and {iname} ({i[c]:g})", file=iname, column="respondents_table1", value=c))
    if problems:
        raise FrameError(problems, what="frame of invited countries")


# ---------------------------------------------------------------------------
# scenario frames


def _pooled_beds(stats: pd.DataFrame) -> pd.Series:
    has = stats[list(_BEDS_COLUMNS.values())].notna().all(axis=1)
    pooled = stats.loc[has, list(_BEDS_COLUMNS.values())].sum()
    pooled.index = list(_BEDS_COLUMNS)
    return pooled, list(stats.loc[has, "country"])


def _beds_split(stats: pd.DataFrame, rule: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Share of each country's departments in each beds class, plus the rule used."""
    pooled, pooled_from = _pooled_beds(stats)
    pooled_txt = "pooled GISCO beds classes of " + "+".join(pooled_from)
    shares, notes = {}, {}
    resp = pd.Series(_PUBLISHED_BEDS_2017, dtype=float)
    for _, r in stats.iterrows():
        c = r["country"]
        counts = pd.Series({k: r[v] for k, v in _BEDS_COLUMNS.items()}, dtype=float)
        own = counts.notna().all()
        src = "GISCO beds classes of " + c if own else pooled_txt + " (country has none)"
        base = counts if own else pooled
        if rule == "respondents":
            s, note = resp / resp.sum(), "published 2017 beds counts 4/15/28/51"
        elif rule == "hospitals":
            s, note = base / base.sum(), "hospital counts, " + src
        elif rule == "bed_weighted":
            s = base * pd.Series(BEDS_MIDPOINTS)
            s, note = s / s.sum(), "hospital counts x class midpoint beds, " + src
        elif rule == "hospitals_200plus":
            top = base.drop("<200")
            lt = resp["<200"] / resp.sum()
            s = pd.concat([pd.Series({"<200": lt}), (1 - lt) * top / top.sum()])
            note = f"<200 = respondent share 4/98; 200+ classes by hospital counts, {src}"
        else:  # pragma: no cover - guarded by SCENARIOS
            raise FrameError(f"unknown beds rule {rule!r}")
        shares[c] = s.reindex(list(BEDS_CLASSES))
        notes[c] = note
    return pd.DataFrame(shares).T, notes


def _country_statistic(stats: pd.DataFrame, rule: str) -> tuple[pd.Series, dict[str, str]]:
    """Country-level statistic the invitations are proportional to (NaN = missing)."""
    notes: dict[str, str] = {}
    idx = stats["country"]
    if rule == "respondents":
        x = stats["respondents_table1"].to_numpy()
        for c in idx:
            notes[c] = "Table 1 respondents"
    elif rule == "radiologists":
        x = stats["radiologists"].to_numpy()
        for c, yr in zip(idx, stats.get("radiologists_year", pd.Series([None] * len(idx)))):
            notes[c] = f"Eurostat MED_RAD radiologists ({'' if pd.isna(yr) else int(yr)})".replace(" ()", "")
    elif rule == "hospitals":
        x = stats["hospitals"].to_numpy()
        for c in idx:
            notes[c] = "hospital count"
    elif rule == "hospitals_200plus":
        pooled, pooled_from = _pooled_beds(stats)
        share200 = pooled.drop("<200").sum() / pooled.sum()
        cols = [_BEDS_COLUMNS[k] for k in BEDS_CLASSES[1:]]
        x = np.full(len(stats), np.nan)
        for i, (_, r) in enumerate(stats.iterrows()):
            if r[list(_BEDS_COLUMNS.values())].notna().all():
                x[i] = r[cols].sum()
                notes[r["country"]] = "GISCO hospitals with 200+ beds"
            elif pd.notna(r["hospitals"]):
                x[i] = r["hospitals"] * share200
                notes[r["country"]] = (
                    f"hospital count x pooled 200+ share {share200:.3f} (GISCO beds classes of {'+'.join(pooled_from)})"
                )
    else:  # pragma: no cover
        raise FrameError(f"unknown country rule {rule!r}")
    return pd.Series(x, index=idx.to_numpy(), dtype=float), notes


_STATISTIC_LABEL = {"radiologists": "radiologists", "hospitals": "hospitals", "hospitals_200plus": "hospitals with 200+ beds"}


def _impute_by_population(x: pd.Series, stats: pd.DataFrame, rule: str) -> tuple[pd.Series, dict[str, str]]:
    """Fill a missing country statistic with population x the regional median rate.

    For a country ``c`` of region ``R`` without the statistic,
    ``x_c = pop_c * median_{c' in R, x known} (x_c' / pop_c')``; with fewer than
    :data:`MIN_DONORS` such countries in ``R`` the median runs over every country
    of the frame that has the statistic. Returns the filled series and, for each
    filled country, the rule with the numbers used.
    """
    label = _STATISTIC_LABEL[rule]
    name = stats.attrs.get("file", "statistics table")
    s = stats.set_index(stats["country"].astype(str))
    pop = s["population"].astype(float).reindex(x.index)
    years = (s["population_year"] if "population_year" in s.columns else pd.Series(np.nan, index=s.index)).reindex(x.index)
    rate = (x / pop).where((pop > 0) & x.notna())
    region = pd.Series({c: _REGION_OF[c] for c in x.index})
    out, notes, problems = x.copy(), {}, []
    for c in x.index[x.isna()]:
        if not (pop.get(c, np.nan) > 0):
            problems.append(Problem(rule=f"{label} not found and no population to impute it from (rule: population x median {label} per inhabitant of the region); add the population or the statistic", file=name, row=c, column="population", value="" if pd.isna(pop.get(c, np.nan)) else pop[c]))
            continue
        donors = [d for d in x.index if region[d] == region[c] and pd.notna(rate[d])]
        where = f"of {region[c]}"
        if len(donors) < MIN_DONORS:
            donors = [d for d in x.index if pd.notna(rate[d])]
            where = f"of all invited countries with the statistic (fewer than {MIN_DONORS} in {region[c]})"
        if not donors:
            problems.append(Problem(rule=f"{label} not found for any country with a population: nothing to impute from", file=name, row=c, column=rule))
            continue
        r = float(np.median(rate[donors]))
        out[c] = pop[c] * r
        yr = "" if pd.isna(years.get(c, np.nan)) else f" ({int(years[c])})"
        notes[c] = (
            f"{label} not found: imputed {out[c]:.1f} = population {pop[c]:,.0f}{yr} x median {label} per 100,000 "
            f"inhabitants {where}, {r * 1e5:.3f} ({len(donors)} countries: {'+'.join(sorted(donors))})"
        )
    if problems:
        raise FrameError(problems, what="imputing a missing frame statistic")
    return out, notes


def _scenario(name: str) -> Scenario:
    if name not in SCENARIOS:
        raise FrameError(
            [Problem(rule=f"unknown frame scenario; valid: {sorted(SCENARIOS)} or 'user' with frame=", value=name)],
            what="frame scenario",
        )
    return SCENARIOS[name]


def frame_cells(
    scenario: str,
    *,
    frame: pd.DataFrame | None = None,
    total: float | None = None,
    statistics: pd.DataFrame | None = None,
    invited: pd.DataFrame | None = None,
    respondents: pd.DataFrame | None = None,
    on_contradiction: str = "flag",
) -> pd.DataFrame:
    """Population counts of invited departments by country x beds class.

    Parameters
    ----------
    scenario : str
        A key of :data:`SCENARIOS`, or ``"user"`` together with ``frame``.
    frame : DataFrame, optional
        A user frame as returned by :func:`load_frame` (only with ``scenario="user"``).
        Its counts are used as given: their sum is the population size.
    total : float, optional
        Frame size. Default (None): a user frame's own total (the sum of its counts); for a
        named scenario, the frame size of the wave it is built for
        (:func:`scenario_total`: 1180 for the 2017 scenarios, stated in
        ``attrs["total_source"]``). Given explicitly for a user frame whose counts sum to
        something else, the counts are rescaled to it: said in ``rule``,
        ``attrs["rescaled_from"]`` and a :class:`FrameRescaledWarning`.
    respondents : DataFrame, optional
        The respondents the frame will weight (columns ``country`` and, when the frame has
        them, ``beds_class``/``teaching``). Then the reference scenario
        ``respondents_table1`` is built from *their* own country x beds class distribution
        (not 2017's), and the frame is checked against them with :func:`check_frame`: a
        respondent country absent from the frame raises, a cell with fewer frame units than
        respondents is flagged or refused (``on_contradiction``); the cells get the columns
        ``n_respondents`` and ``below_respondents``.
    on_contradiction : {"flag", "raise"}
        With ``respondents``: what a cell with fewer frame units than respondents does
        (:func:`check_frame`).
    statistics : DataFrame, optional
        Country statistics (:func:`load_statistics`); default: the transcribed table.
    invited : DataFrame, optional
        The invited countries (:func:`load_invited_countries`); default: the
        transcribed list. Used by the scenarios with ``countries="invited"``.

    Returns
    -------
    DataFrame
        Columns ``country`` (ISO2), ``region``, ``beds_class`` (codebook codes, ordered
        categorical), ``teaching`` (only if the user frame has it), ``N`` (float,
        sums to ``total``), ``rule`` (how the country total and the beds split were
        obtained, including every rule used for a missing statistic, and "no 2017
        respondents" for a country without any). There is no ``teaching`` column for
        the scenario frames: no source gives hospitals by teaching status.
        ``attrs``: ``scenario``, ``total``, ``total_source`` (where the total comes from),
        ``rescaled_from`` (a user frame's own total when it was rescaled, else None),
        ``countries`` (``"invited"``, ``"answering"``, ``"respondents"`` or ``"user"``) and,
        with ``respondents``, ``contradictions`` (list of str).

    Raises
    ------
    FrameError
        Unknown scenario; ``frame`` given with a scenario other than ``"user"``;
        the statistics and the invited list disagree (a country in one and not the
        other, different Table 1 counts); a statistic that must be imputed for a
        country without a population; a total that is not a positive number; with
        ``respondents``: what :func:`check_frame` raises.

    Notes
    -----
    Invited frame (default): every invited country ``c`` gets
    :math:`N_c = T x_c / \\sum_{c'} x_{c'}` with :math:`x` the scenario's
    statistic. A country without it gets
    :math:`\\hat x_c = P_c \\, \\mathrm{median}_{c' \\in R(c)}(x_{c'}/P_{c'})`, the
    population :math:`P_c` times the median rate per inhabitant of the countries of
    its region that have the statistic (all invited countries when fewer than
    :data:`MIN_DONORS` do). Countries without respondents get cells like any other.

    Answering-only variants (``*_answering_only``, the frame before issue 9): only
    the countries with respondents; a country without the statistic gets its
    respondent share, :math:`N_c = T n_c / n` (so its respondents keep the mean
    weight :math:`T/n`), and :math:`T' = T - \\sum_{missing} N_c` is shared by the
    others in proportion to :math:`x`.

    Beds split (both): see :class:`Scenario`; a country without GISCO beds classes
    uses the pooled classes of the countries that have them (AT, ES, IT, BG, RO, LT).

    Examples
    --------
    >>> cells = frame_cells("radiologists")
    >>> round(cells["N"].sum()), cells["country"].nunique()
    (1180, 50)
    >>> frame_cells("radiologists_answering_only")["country"].nunique()
    24
    """
    if on_contradiction not in ("flag", "raise"):
        raise FrameError([Problem(rule="on_contradiction must be 'flag' or 'raise'", value=on_contradiction)], what="frame_cells")
    if total is not None and not (isinstance(total, (int, float, np.integer, np.floating)) and np.isfinite(total) and total > 0):
        raise FrameError([Problem(rule="total (the frame size) must be a finite number > 0, or None for the frame's own total", value=total)], what="frame_cells")
    if scenario == "user" or frame is not None:
        if scenario != "user" or frame is None:
            raise FrameError(
                [Problem(rule="a user frame is used with scenario='user' and frame=load_frame(path); the named scenarios build their own frame", value=scenario)],
                what="frame_cells",
            )
        out = _user_cells(frame, total)
    else:
        sc = _scenario(scenario)
        if total is None:
            T, source = scenario_total(scenario), f"the frame size of the {sc.wave} wave the scenario is built for (scenario_total)"
        else:
            T, source = float(total), "total= given"
        if sc.country_rule == "respondents" and respondents is not None:
            out = _respondent_cells(respondents, T, sc)
        else:
            out = _scenario_cells(sc, T, statistics, invited)
        out.attrs["total_source"] = source
        out.attrs["rescaled_from"] = None
    if respondents is not None:
        chk = check_frame(out, respondents, on_contradiction=on_contradiction)
        attrs = dict(out.attrs)
        keys = [k for k in ("country", "beds_class", "teaching") if k in out.columns and k in respondents.columns]
        n_of = dict(zip(zip(*[chk[k].astype(str) for k in keys]), chk["n_respondents"]))
        cell = zip(*[out[k].astype(str) for k in keys])
        out = out.assign(n_respondents=[int(n_of.get(c, 0)) for c in cell])
        out["below_respondents"] = out["N"] < out["n_respondents"]
        attrs["contradictions"] = list(chk.attrs["contradictions"])
        out.attrs = attrs
    return out


def _respondent_cells(respondents: pd.DataFrame, total: float, sc: Scenario) -> pd.DataFrame:
    """The respondents' own country x beds class distribution, scaled to ``total``."""
    problems = []
    for col in ("country", "beds_class"):
        if col not in respondents.columns:
            problems.append(Problem(rule=f"scenario {sc.name!r} with respondents= is their own country x beds class distribution: the table needs this column", column=col))
            continue
        for i in respondents.index[respondents[col].isna().to_numpy()]:
            problems.append(Problem(rule=f"missing {col}: scenario {sc.name!r} uses the respondents' own distribution, so every respondent needs it (drop the row explicitly first)", row=i, column=col, value=""))
    if problems:
        raise FrameError(problems, what=f"frame scenario {sc.name}")
    region_of(respondents["country"].astype("string"))  # raises naming every unknown code
    keys = respondents[["country", "beds_class"]].astype(str)
    n = keys.groupby(["country", "beds_class"], sort=True).size()
    n_total = float(n.sum())
    rows = [{"country": c, "region": _REGION_OF[c], "beds_class": b, "N": float(total * k / n_total),
             "rule": f"[{sc.name}] the respondents' own distribution of the given table: {int(k)} of {int(n_total)} respondents x frame total {total:g}"}
            for (c, b), k in n.items()]
    out = pd.DataFrame(rows)
    out["country"] = out["country"].astype("string")
    out["beds_class"] = pd.Categorical(out["beds_class"], categories=list(BEDS_CLASSES), ordered=True)
    out = out.sort_values(["country", "beds_class"]).reset_index(drop=True)
    out.attrs["scenario"] = sc.name
    out.attrs["total"] = float(total)
    out.attrs["countries"] = "respondents"
    return out


def _scenario_cells(sc: Scenario, total: float, statistics: pd.DataFrame | None, invited: pd.DataFrame | None) -> pd.DataFrame:
    stats = load_statistics() if statistics is None else statistics.copy()
    if sc.countries == "answering":
        used = stats[stats["respondents_table1"] > 0].reset_index(drop=True)
        used.attrs = dict(stats.attrs)
        x, cnotes = _country_statistic(used, sc.country_rule)
        n = used.set_index("country")["respondents_table1"].astype(float)
        missing = x.isna()
        n_total = n.sum()
        Nc = pd.Series(np.nan, index=x.index)
        Nc[missing] = total * n[missing] / n_total
        rest = total - Nc[missing].sum()
        Nc[~missing] = rest * x[~missing] / x[~missing].sum()
        for c in x.index[missing]:
            cnotes[c] = f"statistic missing: respondent share {int(n[c])}/{int(n_total)} of the frame (mean weight)"
    else:
        inv = load_invited_countries() if invited is None else invited
        _check_invited_against_statistics(stats, inv)
        used = stats.reset_index(drop=True)
        used.attrs = dict(stats.attrs)
        x, cnotes = _country_statistic(used, sc.country_rule)
        x, inotes = _impute_by_population(x, used, sc.country_rule)
        cnotes.update(inotes)
        Nc = total * x / x.sum()
        n = used.set_index("country")["respondents_table1"].astype(float)
        for c in x.index[(n == 0).to_numpy()]:
            cnotes[c] += " (no 2017 respondents)"
    shares, bnotes = _beds_split(used, sc.beds_rule)
    rows = []
    for c in x.index:
        for b in BEDS_CLASSES:
            rows.append(
                {
                    "country": c,
                    "region": _REGION_OF.get(c, pd.NA),
                    "beds_class": b,
                    "N": float(Nc[c] * shares.loc[c, b]),
                    "rule": f"[{sc.name}] country: {cnotes[c]}; beds: {bnotes[c]}",
                }
            )
    out = pd.DataFrame(rows)
    out["country"] = out["country"].astype("string")
    out["beds_class"] = pd.Categorical(out["beds_class"], categories=list(BEDS_CLASSES), ordered=True)
    out.attrs["scenario"] = sc.name
    out.attrs["total"] = float(total)
    out.attrs["countries"] = sc.countries
    return out


def _user_cells(frame: pd.DataFrame, total: float | None) -> pd.DataFrame:
    import warnings

    df = frame.copy()
    keys = [c for c in ("country", "beds_class", "teaching") if c in df.columns]
    df = df[keys + ["N"]].copy()
    df["N"] = df["N"].astype(float)
    s = float(df["N"].sum())
    name = frame.attrs.get("file", "the user frame")
    rule = "[user] counts from the user frame file, as given"
    source, rescaled = f"sum of the counts of {name}", None
    if total is not None and not np.isclose(s, total, rtol=1e-12):
        df["N"] = df["N"] * total / s
        rule = f"[user] counts from the user frame file, rescaled from {s:g} to {float(total):g} (total= given)"
        source, rescaled = f"total= given: the counts of {name} (sum {s:g}) rescaled to {float(total):g}", s
        warnings.warn(f"user frame {name}: counts summing to {s:g} rescaled to total={float(total):g} as asked; "
                      "omit total to use the frame's own total", FrameRescaledWarning, stacklevel=3)
    df.insert(1, "region", df["country"].map(_REGION_OF).astype("string"))
    df["rule"] = rule
    if "beds_class" in df.columns:
        df["beds_class"] = pd.Categorical(df["beds_class"], categories=list(BEDS_CLASSES), ordered=True)
    df.attrs["scenario"] = "user"
    df.attrs["total"] = float(df["N"].sum())
    df.attrs["total_source"] = source
    df.attrs["rescaled_from"] = rescaled
    df.attrs["countries"] = "user"
    df.attrs["file"] = name
    return df.reset_index(drop=True)


def check_frame(cells: pd.DataFrame, respondents: pd.DataFrame, *, on_contradiction: str = "flag") -> pd.DataFrame:
    """Check a frame against the respondents it is to weight.

    Two things can be wrong. A respondent's country may be absent from the frame (the
    frame does not cover the population the respondent belongs to: raking would spread
    the region's total over respondents the frame knows nothing about) -- always an
    error. And a cell may hold fewer frame units than respondents (the frame contradicts
    the data: weights below 1, propensities above 1) -- flagged or refused.

    Parameters
    ----------
    cells : DataFrame
        Frame cells with ``country`` and ``N`` (:func:`frame_cells`), optionally
        ``beds_class`` and ``teaching``; ``attrs["scenario"]`` and ``attrs["file"]`` name
        the frame in messages.
    respondents : DataFrame
        One row per respondent with ``country`` (and the other key columns of the frame
        it has). Rows with a missing key value are left out of the check (weighting
        raises on them or drops them when asked).
    on_contradiction : {"flag", "raise"}
        ``flag`` (default): a :class:`FrameContradictionWarning` lists every cell with
        fewer frame units than respondents; ``raise``: a :class:`FrameError` does.

    Returns
    -------
    DataFrame
        One row per cell (the keys shared by frame and respondents: ``country`` and,
        when both have it, ``beds_class``, ``teaching``) that is in the frame or has
        respondents: the keys, ``N`` (0 for a respondent cell the frame lacks),
        ``n_respondents``, ``below_respondents`` (``N < n_respondents``).
        ``attrs["contradictions"]``: one text per flagged cell.

    Raises
    ------
    FrameError
        ``respondents`` without a ``country`` column; a respondent country absent from the
        frame (one problem per country: the value is the country, the row its respondents'
        row labels, the rule names the frame and their ``respondent_id``); with
        ``on_contradiction="raise"``, every cell with fewer frame units than respondents.

    Examples
    --------
    >>> cells = pd.DataFrame({"country": ["DE", "FR"], "N": [10.0, 2.0]})
    >>> chk = check_frame(cells, pd.DataFrame({"country": ["DE", "FR", "FR", "FR"]}))
    >>> chk["below_respondents"].tolist()
    [False, True]
    """
    import warnings

    if on_contradiction not in ("flag", "raise"):
        raise FrameError([Problem(rule="on_contradiction must be 'flag' or 'raise'", value=on_contradiction)], what="check_frame")
    scen = cells.attrs.get("scenario", "")
    label = f"user frame {cells.attrs.get('file', '')}".strip() if scen == "user" else f"frame scenario {scen!r}" if scen else "frame"
    if "country" not in respondents.columns:
        raise FrameError([Problem(rule="the respondents need a country column to be checked against the frame", column="country")], what="check_frame")
    keys = [k for k in ("country", "beds_class", "teaching") if k in cells.columns and k in respondents.columns]
    r = respondents[keys]
    r = r[r.notna().all(axis=1)]
    rk = r.astype(str)
    ids = respondents["respondent_id"].astype(str) if "respondent_id" in respondents.columns else None
    frame_countries = set(cells.loc[cells["N"] > 0, "country"].astype(str))
    problems = []
    for c, sub in rk.groupby("country", sort=True):
        if c in frame_countries:
            continue
        rows = [str(i) for i in sub.index]
        who = f"respondent_id {', '.join(ids.loc[sub.index[:20]])}" if ids is not None else ""
        extra = ""
        if cells.attrs.get("countries") == "answering":
            extra = (f"; scenario {scen!r} covers only the countries with 2017 respondents: use a scenario over the "
                     "invited countries or a user frame with this country")
        problems.append(Problem(
            rule=(f"respondent country absent from the {label} ({len(rows)} respondent{'s' if len(rows) != 1 else ''}"
                  f"{'; ' + who if who else ''}): every respondent's country needs frame units{extra}"),
            row=", ".join(rows[:20]) + (f" ... ({len(rows)} rows)" if len(rows) > 20 else ""),
            column="country", value=c))
    if problems:
        raise FrameError(problems, what=f"{label} against the respondents")
    fk = cells[keys].astype(str)
    N = cells.groupby([fk[k] for k in keys], observed=True, sort=True)["N"].sum()
    n = rk.groupby(keys, sort=True).size()
    idx = N.index.union(n.index)
    out = pd.DataFrame({"N": N.reindex(idx).fillna(0.0), "n_respondents": n.reindex(idx).fillna(0).astype(int)})
    out["below_respondents"] = out["N"] < out["n_respondents"]
    out = out.reset_index()
    if len(keys) == 1:
        out = out.rename(columns={"index": keys[0]})
    msgs = [", ".join(f"{k}={getattr(row, k)}" for k in keys) + f": frame {row.N:.4g} < {row.n_respondents} respondents"
            for row in out.itertuples() if row.below_respondents]
    out.attrs["contradictions"] = msgs
    if msgs:
        if on_contradiction == "raise":
            raise FrameError([Problem(rule=f"the {label} has fewer units than respondents in this cell: it contradicts the data ({m})",
                                      column=keys[-1] if len(keys) > 1 else "country", value=m.split(":")[0])
                              for m in msgs], what=f"{label} against the respondents")
        warnings.warn(f"the {label} has fewer units than respondents in {len(msgs)} cell{'s' if len(msgs) != 1 else ''} "
                      f"(it contradicts the data there): {'; '.join(msgs[:10])}{f'; ... ({len(msgs)} cells in all)' if len(msgs) > 10 else ''}",
                      FrameContradictionWarning, stacklevel=3)
    return out


def frame_margins(
    scenario: str,
    *,
    frame: pd.DataFrame | None = None,
    total: float | None = None,
    statistics: pd.DataFrame | None = None,
    invited: pd.DataFrame | None = None,
    variables: tuple[str, ...] = ("country", "beds_class"),
    respondents: pd.DataFrame | None = None,
    on_contradiction: str = "flag",
) -> dict[str, dict[str, float]]:
    """Raking margins of a frame scenario: ``{column: {category: population total}}``.

    Parameters
    ----------
    scenario, frame, total, statistics, invited, respondents, on_contradiction
        As in :func:`frame_cells` (``total=None``: a user frame's own total, a named
        scenario's :func:`scenario_total`; ``respondents``: the frame is checked against
        them and ``respondents_table1`` is their own distribution).
    variables : tuple of str
        Which margins to return (any of ``country``, ``region``, ``beds_class``,
        ``teaching`` when the frame has it).

    Returns
    -------
    dict
        Each margin's totals sum to ``total``. Categories with a zero total are kept
        (they raise in :func:`irmodels.nonresponse.weighting.rake` if the sample has them). In the
        invited frames the ``country`` margin includes countries without
        respondents, so raking to it raises (a margin category absent from the
        sample) unless they are pooled into regions by an explicit collapse rule;
        the ``region`` margin counts their departments in their region.
    """
    if frame is None and statistics is None and invited is None and respondents is None and scenario != "user":
        # the default raw files are read-only input: cache per (scenario, total, variables)
        T = scenario_total(scenario) if total is None else total
        if not (isinstance(T, (int, float, np.integer, np.floating)) and np.isfinite(T) and T > 0):
            raise FrameError([Problem(rule="total (the frame size) must be a finite number > 0, or None for the frame's own total", value=T)], what="frame_margins")
        cached = _default_margins(scenario, float(T), tuple(variables))
        return {v: dict(m) for v, m in cached}
    return _margins_from_cells(frame_cells(scenario, frame=frame, total=total, statistics=statistics, invited=invited,
                                           respondents=respondents, on_contradiction=on_contradiction), variables)


@functools.lru_cache(maxsize=64)
def _default_margins(scenario: str, total: float, variables: tuple[str, ...]) -> tuple:
    m = _margins_from_cells(frame_cells(scenario, total=total), variables)
    return tuple((v, tuple(d.items())) for v, d in m.items())


def _margins_from_cells(cells: pd.DataFrame, variables) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for v in variables:
        if v not in cells.columns:
            raise FrameError([Problem(rule=f"frame has no column for this margin; it has {list(cells.columns)}", column=v)], what="frame_margins")
        g = cells.groupby(cells[v].astype(str), sort=False, observed=True)["N"].sum()
        out[v] = {k: float(val) for k, val in g.items()}
    return out


def region_coverage(
    cells: pd.DataFrame,
    respondents: Iterable[str] | pd.Series | None = None,
    *,
    statistics: pd.DataFrame | None = None,
    require_respondents: bool = False,
) -> pd.DataFrame:
    """How much of each region's frame lies in countries without respondents.

    Raking to ``region`` margins spreads a region's whole frame total, including
    the departments of its countries without respondents, over the region's
    respondents. This table shows that share, and flags a region with frame
    departments but no respondent (raking cannot reach it:
    :func:`irmodels.nonresponse.weighting.rake` raises, naming it).

    Parameters
    ----------
    cells : DataFrame
        Frame cells with ``country`` and ``N`` (:func:`frame_cells`).
    respondents : iterable of str or Series, optional
        The country code of each respondent (e.g. ``data["country"]``); missing
        codes raise. Default: the Table 1 counts of ``statistics``.
    statistics : DataFrame, optional
        Used only for the default respondents (:func:`load_statistics`).
    require_respondents : bool
        Raise :class:`FrameError` when some region has frame departments but no
        respondent, instead of only flagging it.

    Returns
    -------
    DataFrame
        One row per region: ``region``, ``N`` (frame total), ``N_with_respondents``,
        ``N_without_respondents`` (departments of countries without respondents),
        ``share_without_respondents``, ``n_respondents``, ``countries_with_respondents``,
        ``countries_without_respondents`` (``+``-joined codes), ``no_respondents``
        (True when ``N > 0`` and ``n_respondents == 0``).

    Raises
    ------
    FrameError
        A respondent country code that is missing or in no region; with
        ``require_respondents=True``, every region with frame departments and no
        respondent (merge it into another region with an explicit collapse rule,
        ``weight(..., collapse={"region": {"merge": {...}}})``, or drop the region margin).

    Examples
    --------
    >>> cov = region_coverage(frame_cells("radiologists")).set_index("region")
    >>> bool(cov["no_respondents"].any())
    False
    """
    if respondents is None:
        stats = load_statistics() if statistics is None else statistics
        n_by_country = stats.set_index(stats["country"].astype(str))["respondents_table1"].astype(float)
        n_by_country = n_by_country[n_by_country > 0]
    else:
        r = pd.Series(list(respondents) if not isinstance(respondents, pd.Series) else respondents)
        if r.isna().any():
            raise FrameError([Problem(rule="respondent country code is missing", row=i, column="country", value="") for i in r.index[r.isna()]], what="region_coverage")
        region_of(r.astype("string"))  # raises, naming every unknown code
        n_by_country = r.astype(str).value_counts().astype(float)
    N_by_country = cells.groupby(cells["country"].astype(str), observed=True)["N"].sum()
    countries = sorted(set(N_by_country.index) | set(n_by_country.index))
    rows = []
    for reg in REGIONS:
        cs = [c for c in countries if _REGION_OF.get(c) == reg]
        if not cs:
            continue
        with_r = [c for c in cs if n_by_country.get(c, 0) > 0]
        without = [c for c in cs if n_by_country.get(c, 0) == 0]
        N = float(N_by_country.reindex(cs).fillna(0).sum())
        N_wo = float(N_by_country.reindex(without).fillna(0).sum())
        n = float(n_by_country.reindex(with_r).fillna(0).sum())
        rows.append({
            "region": reg,
            "N": N,
            "N_with_respondents": N - N_wo,
            "N_without_respondents": N_wo,
            "share_without_respondents": N_wo / N if N > 0 else np.nan,
            "n_respondents": int(n),
            "countries_with_respondents": "+".join(with_r),
            "countries_without_respondents": "+".join(without),
            "no_respondents": bool(N > 0 and n == 0),
        })
    out = pd.DataFrame(rows)
    if require_respondents and out["no_respondents"].any():
        raise FrameError(
            [Problem(rule="region has frame departments but no respondent: raking to region margins cannot reach it; merge it into another region with an explicit collapse rule (weight(..., collapse={'region': {'merge': {...}}})) or drop the region margin",
                     column="region", value=r.region) for r in out.itertuples() if r.no_respondents],
            what="region_coverage",
        )
    return out


# ---------------------------------------------------------------------------
# user frame files

_FRAME_REQUIRED = ("country", "N")
_FRAME_OPTIONAL = ("beds_class", "teaching", "source")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def load_frame(path: str | os.PathLike, *, required_countries: Mapping | list | tuple | set | None = None) -> pd.DataFrame:
    """Read and validate a user frame file (CSV).

    The format (documented in ``data/raw/frame/README.md``): one row per frame cell,
    columns ``country`` (ISO 3166-1 alpha-2, required), ``N`` (number of invited
    departments in the cell, > 0, required), optionally ``beds_class`` (codebook
    codes ``<200``, ``200-399``, ``400-799``, ``>=800``), ``teaching``
    (true/false) and ``source`` (free text). Cells are unique.

    Parameters
    ----------
    path : path-like
    required_countries : collection of str, optional
        Countries that must appear (e.g. the countries of the respondents); each
        absent one is a problem.

    Returns
    -------
    DataFrame
        ``country`` (string), ``beds_class`` (ordered categorical), ``teaching``
        (bool), ``N`` (float), ``source`` as present in the file.

    Raises
    ------
    FrameError
        Listing every problem at once with file, row (1-based line, header = 1),
        column, value and rule: unknown columns, missing required columns, a
        missing or unknown country code, a count that is missing, not a number, zero
        or negative, an unknown beds class, an invalid teaching value, duplicate
        cells, required countries absent.
    """
    p = Path(path)
    name = p.name
    if not p.is_file():
        raise FrameError([Problem(rule="frame file not found", file=str(p))], what="frame file")
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise FrameError([Problem(rule="frame file is empty", file=name)], what="frame file") from None
    except UnicodeDecodeError:
        from irmodels.data.importing import _first_undecodable

        line, byte = _first_undecodable(p)
        raise FrameError([Problem(rule=f"not UTF-8 text (byte {byte!r}): re-save the frame file as UTF-8 CSV",
                                  file=name, row=line)], what="frame file") from None
    except pd.errors.ParserError as exc:
        raise FrameError([Problem(rule=f"not a readable CSV file ({str(exc).strip()[:160]})", file=name)],
                         what="frame file") from None
    problems: list[Problem] = []
    cols = [c.strip() for c in raw.columns]
    raw.columns = cols
    for c in _FRAME_REQUIRED:
        if c not in cols:
            problems.append(Problem(rule=f"required column missing; a frame file has columns {list(_FRAME_REQUIRED + _FRAME_OPTIONAL)}", file=name, column=c))
    for c in cols:
        if c not in _FRAME_REQUIRED + _FRAME_OPTIONAL:
            problems.append(Problem(rule=f"unknown column; allowed: {list(_FRAME_REQUIRED + _FRAME_OPTIONAL)}", file=name, column=c))
    if problems:
        raise FrameError(problems, what=f"frame file {name}")
    if raw.empty:
        raise FrameError([Problem(rule="frame file has a header but no rows", file=name)], what=f"frame file {name}")
    out = pd.DataFrame(index=raw.index)
    line = raw.index + 2
    country = raw["country"].str.strip()
    for i, v in zip(line, country):
        if v == "":
            problems.append(Problem(rule="country is missing; every frame row needs an ISO 3166-1 alpha-2 code", file=name, row=int(i), column="country", value=v))
        elif v not in _REGION_OF:
            problems.append(Problem(rule=f"unknown country code{_uk_hint(v)}; valid codes: {sorted(_REGION_OF)}", file=name, row=int(i), column="country", value=v))
    out["country"] = country.astype("string")
    N = pd.to_numeric(raw["N"].str.strip(), errors="coerce")
    for i, v, num in zip(line, raw["N"], N):
        if v.strip() == "":
            problems.append(Problem(rule="count N is missing", file=name, row=int(i), column="N", value=v))
        elif pd.isna(num) or not np.isfinite(num):
            problems.append(Problem(rule="count N is not a number", file=name, row=int(i), column="N", value=v))
        elif num <= 0:
            problems.append(Problem(rule="count N must be > 0 (drop empty cells from the file)", file=name, row=int(i), column="N", value=v))
    out["N"] = N.astype(float)
    if "beds_class" in cols:
        b = raw["beds_class"].str.strip()
        for i, v in zip(line, b):
            if v not in BEDS_CLASSES:
                problems.append(Problem(rule=f"unknown beds class; valid: {list(BEDS_CLASSES)}", file=name, row=int(i), column="beds_class", value=v))
        out["beds_class"] = pd.Categorical(b.where(b.isin(BEDS_CLASSES)), categories=list(BEDS_CLASSES), ordered=True)
    if "teaching" in cols:
        t = raw["teaching"].str.strip().str.lower()
        for i, v in zip(line, raw["teaching"]):
            if v.strip().lower() not in _TRUE | _FALSE:
                problems.append(Problem(rule="teaching must be true or false", file=name, row=int(i), column="teaching", value=v))
        out["teaching"] = t.isin(_TRUE)
    if "source" in cols:
        out["source"] = raw["source"].astype("string")
    keys = [c for c in ("country", "beds_class", "teaching") if c in out.columns]
    dup = raw[keys].duplicated(keep="first")
    for i in line[dup.to_numpy()]:
        problems.append(Problem(rule=f"duplicate frame cell ({', '.join(keys)}); each cell appears once", file=name, row=int(i), column=keys[0], value=str(tuple(raw.loc[i - 2, keys]))))
    if required_countries is not None:
        present = set(country)
        for c in sorted(set(required_countries) - present):
            problems.append(Problem(rule="required country missing from the frame (it has respondents, so it needs a population count)", file=name, column="country", value=c))
    if problems:
        raise FrameError(problems, what=f"frame file {name}")
    out = out.reset_index(drop=True)
    out.attrs["file"] = name
    return out
