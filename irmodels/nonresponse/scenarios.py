"""The named frame scenarios, and how each becomes population cells.

A scenario (:data:`SCENARIOS`) is an assumption linking the invitations of a wave to
something that is counted: country totals proportional to a statistic of
:mod:`irmodels.nonresponse.frame_sources` (radiologists, hospitals, hospitals with 200+
beds, respondents), split over beds classes by a stated rule, over the invited countries or
only the answering ones. :func:`_scenario_cells` turns a scenario into cells (every rule used
for a missing statistic written in the ``rule`` column, :func:`_impute_by_population`);
:func:`_respondent_cells` is the reference scenario built from a wave's own respondents.
:func:`scenario_total` is the frame size a scenario is built for, :func:`scenario_role` how
its results may be read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from irmodels.core.errors import FrameError, Problem
from irmodels.nonresponse.frame_keys import _REGION_OF, BEDS_CLASSES, region_of
from irmodels.nonresponse.frame_sources import (
    _BEDS_COLUMNS,
    _check_invited_against_statistics,
    load_invited_countries,
    load_statistics,
)

__all__ = [
    "SCENARIOS",
    "Scenario",
    "scenario_role",
    "scenario_total",
    "BEDS_MIDPOINTS",
    "MIN_DONORS",
    "ROLE_REFERENCE",
    "ROLE_ESTIMATE",
    "ROLE_UNWEIGHTED",
    "ROLE_USER",
]

#: Representative bed numbers per class, used only by the bed-weighted split
#: (departments' share of radiologists grows with hospital size). The open
#: class ``>=800`` is set to 1000 beds: an assumption, stated in docs/weighting.md.
BEDS_MIDPOINTS: dict[str, float] = {"<200": 100.0, "200-399": 300.0, "400-799": 600.0, ">=800": 1000.0}

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
    (:func:`irmodels.nonresponse.frame_prevalence.frame_weighted_prevalence`, the CLI) require the wave's own
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
