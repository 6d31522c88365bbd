"""Population frame of the 2017 ESR/CIRSE survey: named scenarios and user frames.

The ESR sent the 2017 questionnaire to about 1180 heads of radiology departments
but never published how these contacts split by country or hospital size. Any
non-response weighting therefore rests on an *assumption* linking contacts to
something that is counted. This module is the frame area's entry point: it builds
the cells and margins (:func:`frame_cells`, :func:`frame_margins`) and is where the
area's public names are imported from. Each part lives in a module of its own:

* :mod:`~irmodels.nonresponse.frame_keys`: what a cell is keyed by, :data:`BEDS_CLASSES`,
  :data:`REGIONS` and :func:`region_of`.
* :mod:`~irmodels.nonresponse.frame_sources`: :func:`load_invited_countries` reads the
  list of countries the survey could have invited
  (``data/raw/frame/invited_countries.csv``: the 47 member states of the Council of
  Europe in 2017, as a stand-in for the countries of the ESR's national member
  societies, plus the three Table 1 countries outside it), :func:`load_statistics` the
  country statistics transcribed under ``data/raw/frame/``. The scenario frames cover all
  invited countries, answering or not: assuming that no invitation went to a country
  without respondents is itself an assumption, available only as the explicitly named
  ``*_answering_only`` variants.
* :mod:`~irmodels.nonresponse.scenarios`: :data:`SCENARIOS` names the assumptions (e.g.
  ``radiologists``: invitations proportional to the number of radiologists in each
  invited country) and turns each into cells.
* :mod:`~irmodels.nonresponse.frame_file`: :func:`load_frame` reads and validates a
  user's own frame file (for instance the real counts of invited departments by country
  and size) against a JSON Schema, row by row.
* :mod:`~irmodels.nonresponse.frame_check`: :func:`check_frame` checks a frame against
  the respondents it is to weight (a respondent country absent from the frame is an
  error; a cell with fewer frame units than respondents is flagged or refused);
  :func:`region_coverage` says how much of each region's frame lies in countries
  without respondents (and flags regions without any).

:func:`frame_cells` turns a scenario (or a user frame) into population counts ``N`` of
departments by ``country`` x ``beds_class`` that sum to ``total`` (by default the frame
size of the wave the scenario is built for, :func:`scenario_total`: 1180 for 2017; a user
frame's counts are used as given). Every rule used to fill a missing statistic is written
in the ``rule`` column. :func:`frame_margins` gives the same counts as raking margins.

Results weighted to a scenario frame depend on the scenario: they are labelled
``identification = "assumption"`` downstream.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from irmodels.core.errors import FrameError, IrmodelsWarning, Problem
from irmodels.nonresponse.frame_check import check_frame
from irmodels.nonresponse.frame_keys import _REGION_OF, BEDS_CLASSES
from irmodels.nonresponse.scenarios import _respondent_cells, _scenario, _scenario_cells, scenario_total


class FrameRescaledWarning(IrmodelsWarning):
    """A user frame's counts were rescaled to a ``total`` given explicitly.

    Only happens on request (``total=`` differs from the sum of the frame's counts); the
    cells' ``rule`` column and ``attrs["rescaled_from"]`` say so as well.
    """


# the frame area's public names, defined here or in the modules listed above
__all__ = ["frame_cells", "FrameRescaledWarning", "frame_margins"]


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


def _user_cells(frame: pd.DataFrame, total: float | None) -> pd.DataFrame:
    """The cells of a user frame (:func:`load_frame`): its counts as given, or rescaled to ``total``."""
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
        (they raise in :func:`irmodels.nonresponse.raking.rake` if the sample has them). In the
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
