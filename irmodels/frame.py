"""Population frame of the 2017 ESR/CIRSE survey: named scenarios and user frames.

The ESR sent the 2017 questionnaire to about 1180 heads of radiology departments
but never published how these contacts split by country or hospital size. Any
non-response weighting therefore rests on an *assumption* linking contacts to
something that is counted. This module makes that assumption explicit:

* :data:`SCENARIOS` names the assumptions (e.g. ``radiologists``: invitations
  proportional to the number of radiologists in each country).
* :func:`frame_cells` turns a scenario (and the country statistics transcribed
  under ``data/raw/frame/``) into population counts ``N`` of departments by
  ``country`` x ``beds_class`` that sum to ``total`` (1180). Every rule used to
  fill a missing statistic is written in the ``rule`` column.
* :func:`frame_margins` gives the same counts as raking margins.
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
from typing import Mapping

import numpy as np
import pandas as pd

from irmodels.errors import FrameError, Problem

__all__ = [
    "BEDS_CLASSES",
    "BEDS_MIDPOINTS",
    "REGIONS",
    "SCENARIOS",
    "Scenario",
    "scenario_role",
    "DEFAULT_STATISTICS",
    "region_of",
    "load_statistics",
    "load_frame",
    "frame_cells",
    "frame_margins",
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
#: proximity: TR, IL and CY to EU-South, KZ, GE, AM and AZ to EU-East.
REGIONS: dict[str, tuple[str, ...]] = {
    "EU-North": ("DK", "EE", "FI", "FO", "GB", "IE", "IS", "LT", "LV", "NO", "SE"),
    "EU-West": ("AT", "BE", "CH", "DE", "FR", "LI", "LU", "MC", "NL"),
    "EU-South": ("AD", "AL", "BA", "CY", "ES", "GR", "HR", "IL", "IT", "ME", "MK", "MT", "PT", "RS", "SI", "SM", "TR", "VA", "XK"),
    "EU-East": ("AM", "AZ", "BG", "BY", "CZ", "GE", "HU", "KZ", "MD", "PL", "RO", "RU", "SK", "UA"),
}
_REGION_OF: dict[str, str] = {c: r for r, cs in REGIONS.items() for c in cs}

#: Where the transcribed country statistics live in a source checkout. The
#: library reads it only when no ``statistics`` table is passed.
DEFAULT_STATISTICS: Path = Path(__file__).resolve().parents[1] / "data" / "raw" / "frame" / "country_statistics.csv"


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
    """

    name: str
    country_rule: str
    beds_rule: str
    description: str
    reference: bool = False


#: The named frame scenarios (see docs/weighting.md for the reasoning).
SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "radiologists",
            "radiologists",
            "bed_weighted",
            "Invitations proportional to each country's radiologists (Eurostat MED_RAD); within a "
            "country, departments split over beds classes in proportion to hospital beds (GISCO "
            "hospital counts x class midpoint), since radiologists concentrate in larger hospitals.",
        ),
        Scenario(
            "hospitals_200plus",
            "hospitals_200plus",
            "hospitals_200plus",
            "Invitations proportional to each country's hospitals with 200 or more beds; within a "
            "country, departments split in proportion to hospital counts in the 200+ classes. The "
            "frame definition has no <200 class, yet 4 respondents are from <200 hospitals: the "
            "<200 class gets its respondent share (4/98) of each country.",
        ),
        Scenario(
            "hospitals",
            "hospitals",
            "hospitals",
            "Invitations proportional to each country's hospitals (all sizes); departments split "
            "over beds classes in proportion to hospital counts. An extreme scenario: most "
            "hospitals have fewer than 200 beds.",
        ),
        Scenario(
            "respondents_table1",
            "respondents",
            "respondents",
            "Null scenario: the frame has the respondents' distribution (Table 1 countries, "
            "published beds counts 4/15/28/51). Weights are constant; the weighted estimate "
            "equals the respondent percentage. A reference, not an estimate: sample-derived totals "
            "are treated as known, which shrinks the standard error.",
            reference=True,
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
                [Problem(rule=f"country code not in any region of irmodels.frame.REGIONS{_uk_hint(v)}", row=i, column="country", value=v) for i, v in bad.items()],
                what="region_of",
            )
        return out
    if country not in _REGION_OF:
        raise FrameError([Problem(rule=f"country code not in any region of irmodels.frame.REGIONS{_uk_hint(country)}", column="country", value=country)], what="region_of")
    return _REGION_OF[country]


def _uk_hint(v: object) -> str:
    return " (the United Kingdom is 'GB' in ISO 3166-1)" if str(v).upper() == "UK" else ""


def load_statistics(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read the country statistics table (``data/raw/frame/country_statistics.csv``).

    Parameters
    ----------
    path : path-like, optional
        Defaults to :data:`DEFAULT_STATISTICS`.

    Returns
    -------
    DataFrame
        One row per country: ``country``, ``respondents_table1``, ``radiologists``,
        ``hospitals``, ``beds_lt200`` ... ``beds_ge800`` (floats, NaN = not found),
        years, sources and cautions as transcribed.
    """
    p = Path(path) if path is not None else DEFAULT_STATISTICS
    if not p.is_file():
        raise FrameError(
            [Problem(rule="country statistics file not found; pass statistics= (a DataFrame) or the path of country_statistics.csv", file=str(p))],
            what="frame statistics",
        )
    df = pd.read_csv(p, dtype={"country": "string"}, keep_default_na=False, na_values=[""])
    num = ["respondents_table1", "radiologists", "hospitals", *_BEDS_COLUMNS.values()]
    problems = []
    for col in ["country", *num]:
        if col not in df.columns:
            problems.append(Problem(rule="required column missing", file=p.name, column=col))
    if problems:
        raise FrameError(problems, what="frame statistics")
    for col in num:
        df[col] = pd.to_numeric(df[col], errors="raise").astype(float)
    return df


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
    total: float = 1180,
    statistics: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Population counts of invited departments by country x beds class.

    Parameters
    ----------
    scenario : str
        A key of :data:`SCENARIOS`, or ``"user"`` together with ``frame``.
    frame : DataFrame, optional
        A user frame as returned by :func:`load_frame` (only with ``scenario="user"``).
        Its counts are rescaled to ``total`` when they do not sum to it (recorded
        in ``rule``); pass ``total=None`` to keep them.
    total : float
        Frame size; the 2017 survey invited about 1180 department heads.
    statistics : DataFrame, optional
        Country statistics (:func:`load_statistics`); default: the transcribed table.

    Returns
    -------
    DataFrame
        Columns ``country`` (ISO2), ``region``, ``beds_class`` (codebook codes, ordered
        categorical), ``teaching`` (only if the user frame has it), ``N`` (float,
        sums to ``total``), ``rule`` (how the country total and the beds split were
        obtained, including every rule used for a missing statistic). There is no
        ``teaching`` column for the scenario frames: no source gives hospitals by
        teaching status.

    Raises
    ------
    FrameError
        Unknown scenario; ``frame`` given with a scenario other than ``"user"``.

    Notes
    -----
    Country totals: :math:`N_c = T' x_c / \\sum_{c'} x_{c'}` over countries with the
    statistic :math:`x`. A country **without** the statistic gets its respondent
    share, :math:`N_c = T n_c / n` (so its respondents keep the mean weight
    :math:`T/n`), and :math:`T' = T - \\sum_{missing} N_c`. Beds split: see
    :class:`Scenario`; a country without GISCO beds classes uses the pooled classes
    of the countries that have them.

    Examples
    --------
    >>> cells = frame_cells("radiologists")
    >>> round(cells["N"].sum())
    1180
    """
    if scenario == "user" or frame is not None:
        if scenario != "user" or frame is None:
            raise FrameError(
                [Problem(rule="a user frame is used with scenario='user' and frame=load_frame(path); the named scenarios build their own frame", value=scenario)],
                what="frame_cells",
            )
        return _user_cells(frame, total)
    sc = _scenario(scenario)
    stats = load_statistics() if statistics is None else statistics.copy()
    x, cnotes = _country_statistic(stats, sc.country_rule)
    n = stats.set_index("country")["respondents_table1"].astype(float)
    missing = x.isna()
    n_total = n.sum()
    Nc = pd.Series(np.nan, index=x.index)
    Nc[missing] = total * n[missing] / n_total
    rest = total - Nc[missing].sum()
    Nc[~missing] = rest * x[~missing] / x[~missing].sum()
    for c in x.index[missing]:
        cnotes[c] = f"statistic missing: respondent share {int(n[c])}/{int(n_total)} of the frame (mean weight)"
    shares, bnotes = _beds_split(stats, sc.beds_rule)
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
    return out


def _user_cells(frame: pd.DataFrame, total: float | None) -> pd.DataFrame:
    df = frame.copy()
    keys = [c for c in ("country", "beds_class", "teaching") if c in df.columns]
    df = df[keys + ["N"]].copy()
    df["N"] = df["N"].astype(float)
    s = df["N"].sum()
    rule = "[user] counts from the user frame file"
    if total is not None and not np.isclose(s, total, rtol=1e-12):
        df["N"] = df["N"] * total / s
        rule += f", rescaled from {s:g} to {total:g}"
    df.insert(1, "region", df["country"].map(_REGION_OF).astype("string"))
    df["rule"] = rule
    if "beds_class" in df.columns:
        df["beds_class"] = pd.Categorical(df["beds_class"], categories=list(BEDS_CLASSES), ordered=True)
    df.attrs["scenario"] = "user"
    df.attrs["total"] = float(df["N"].sum())
    return df.reset_index(drop=True)


def frame_margins(
    scenario: str,
    *,
    frame: pd.DataFrame | None = None,
    total: float = 1180,
    statistics: pd.DataFrame | None = None,
    variables: tuple[str, ...] = ("country", "beds_class"),
) -> dict[str, dict[str, float]]:
    """Raking margins of a frame scenario: ``{column: {category: population total}}``.

    Parameters
    ----------
    scenario, frame, total, statistics
        As in :func:`frame_cells`.
    variables : tuple of str
        Which margins to return (any of ``country``, ``region``, ``beds_class``,
        ``teaching`` when the frame has it).

    Returns
    -------
    dict
        Each margin's totals sum to ``total``. Categories with a zero total are kept
        (they raise in :func:`irmodels.weighting.rake` if the sample has them).
    """
    if frame is None and statistics is None:
        # the default statistics file is read-only input: cache per (scenario, total, variables)
        cached = _default_margins(scenario, float(total), tuple(variables))
        return {v: dict(m) for v, m in cached}
    return _margins_from_cells(frame_cells(scenario, frame=frame, total=total, statistics=statistics), variables)


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
    return out.reset_index(drop=True)
