"""The frame against the respondents it is to weight, and the regions' coverage.

:func:`check_frame`: a respondent country absent from the frame is an error; a cell with
fewer frame units than respondents contradicts the data and is flagged
(:class:`FrameContradictionWarning`) or refused. :func:`region_coverage`: how much of each
region's frame lies in countries without respondents (raking to region margins spreads it
over the region's respondents), and which regions have none.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from irmodels.core.errors import FrameError, IrmodelsWarning, Problem
from irmodels.nonresponse.frame_keys import _REGION_OF, REGIONS, region_of
from irmodels.nonresponse.frame_sources import load_statistics

__all__ = ["FrameContradictionWarning", "check_frame", "region_coverage"]


class FrameContradictionWarning(IrmodelsWarning):
    """The frame has fewer units than respondents in some cell: it contradicts the data.

    Issued by :func:`check_frame` with ``on_contradiction="flag"``; each such cell is
    listed (``below_respondents`` in its result, ``frame_check`` in
    :func:`irmodels.nonresponse.frame_prevalence.frame_weighted_prevalence`).
    """


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
    :func:`irmodels.nonresponse.raking.rake` raises, naming it).

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
    >>> from irmodels.nonresponse.frame import frame_cells
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
