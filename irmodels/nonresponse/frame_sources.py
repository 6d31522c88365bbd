"""The raw files a scenario frame is built from: country statistics and the invited countries.

:func:`load_statistics` reads ``data/raw/frame/country_statistics.csv`` (radiologists,
hospitals, hospitals by beds class, population, with their years and sources, one row per
country) and :func:`load_invited_countries` reads ``data/raw/frame/invited_countries.csv``
(the countries the 2017 survey could have invited, each with the reason it is in the frame).
Both list every problem at once (file, line, column, value, rule);
:func:`_check_invited_against_statistics` checks that the two tables agree.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from irmodels.core.errors import FrameError, Problem
from irmodels.nonresponse.frame_keys import _REGION_OF, _uk_hint

__all__ = ["DEFAULT_STATISTICS", "DEFAULT_INVITED", "load_statistics", "load_invited_countries"]

# Columns of country_statistics.csv holding hospitals by beds class.
_BEDS_COLUMNS: dict[str, str] = {
    "<200": "beds_lt200",
    "200-399": "beds_200_399",
    "400-799": "beds_400_799",
    ">=800": "beds_ge800",
}

_FRAME_DIR: Path = Path(__file__).resolve().parents[2] / "data" / "raw" / "frame"

#: Where the transcribed country statistics live in a source checkout. The
#: library reads it only when no ``statistics`` table is passed.
DEFAULT_STATISTICS: Path = _FRAME_DIR / "country_statistics.csv"

#: Where the list of invited countries lives in a source checkout (read only when
#: no ``invited`` table is passed).
DEFAULT_INVITED: Path = _FRAME_DIR / "invited_countries.csv"


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
            problems.append(Problem(rule=f"country code not in any region of irmodels.nonresponse.frame_keys.REGIONS{_uk_hint(v)}", file=name, row=int(i), column="country", value=v))
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
            problems.append(Problem(rule=f"region is not the country's region in irmodels.nonresponse.frame_keys.REGIONS ({_REGION_OF[c]})", file=p.name, row=int(i), column="region", value=r))
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
