r"""Plans for the next wave: responses and invitations per frame cell for a precision or an odds ratio.

:func:`plan_precision` (a confidence interval of a given half-width for a prevalence, per
cell) and :func:`plan_odds_ratio` (an odds ratio between two groups of size classes at a given
power), each from frame cells, response rates and a design effect; a cell whose frame is too
small for the target is flagged with what inviting all of it would give.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import pandas as pd

from irmodels.core.errors import Problem
from irmodels.studies.planning_checks import PlanningError, _ceil, _Checks
from irmodels.studies.planning_frame import _by_tuple, _cells_problems, _check_rates, _labels, _rate_of
from irmodels.studies.planning_logistic import _check_logistic, _logit_parts, n_logistic_binary, power_logistic_binary
from irmodels.studies.planning_proportions import INTERVALS, _achieved_half_width, n_prop_moe, n_prop_search

def plan_precision(cells: pd.DataFrame | None = None, *, half_width: float, p: float = 0.5,
                   response_rate: float | Mapping[str, float], deff: float = 1.0, alpha: float = 0.05,
                   by: str | Sequence[str] | None = None, interval: str = "wald",
                   population: float | None = None) -> pd.DataFrame:
    r"""Responses and invitations for a CI of half-width ``half_width`` of a prevalence, per cell of a frame.

    Each cell (Europe-wide without ``by``; each region, size class or region x size class
    with ``by``) gets its own target: :func:`n_prop_moe` (``interval="wald"``) or
    :func:`n_prop_search` (``wilson``, ``exact``) with the cell's frame units as the
    population, then invitations :math:`\lceil n / r \rceil`. A cell whose frame has fewer
    units than the invitations needed is not reachable: the row says so and gives the
    half-width that inviting every unit would give (at the same response rate).

    Parameters
    ----------
    cells : DataFrame, optional
        Frame cells with ``N`` (units) and the ``by`` columns, e.g.
        :func:`irmodels.nonresponse.frame.frame_cells` of a user frame (``region`` is derived from the
        country there) or of a named scenario with the wave's own ``total``. Without cells
        there is no frame: one Europe-wide row, no finite population correction unless
        ``population`` is given, and nothing to cap (``reachable`` is None).
    half_width : float
        Target half-width of the :math:`100(1-\alpha)\%` interval in every cell.
    p : float
        Anticipated prevalence (0.5: the most conservative).
    response_rate : float or mapping
        Expected response rate in (0, 1], or one per ``beds_class`` (e.g. ``{">=800": 0.12,
        "<200": 0.04, ...}``: then the cells need ``beds_class``).
    deff : float
        Design effect of the estimator (e.g. :func:`deff_kish` of the 2017 raking weights).
    alpha : float
        1 - confidence level.
    by : str or sequence, optional
        ``"region"``, ``"beds_class"`` or both (``"region,beds_class"``).
    interval : {"wald", "wilson", "exact"}
        How the responses are computed (:data:`INTERVALS`).
    population : float, optional
        Without ``cells``: the frame size for the finite population correction.

    Returns
    -------
    DataFrame
        One row per cell: ``region``, ``beds_class`` (``"all"`` when not in ``by``),
        ``frame_units`` (N of the cell), ``p``, ``half_width``, ``alpha``, ``interval``,
        ``deff``, ``responses_needed``, ``response_rate``, ``invitations_needed``,
        ``reachable`` (invitations needed <= frame units), ``max_responses`` (frame units x
        response rate: what inviting everyone yields), ``half_width_if_all_invited``,
        ``note`` (why a cell is unreachable). ``attrs``: the arguments.

    Raises
    ------
    PlanningError
        A target, rate or design effect out of range, a missing response rate for a size
        class, frame cells without ``N`` or a ``by`` column, or a count that is negative or
        not a number (all listed).

    Notes
    -----
    With the response rate :math:`r_c` of a cell with :math:`N_c` units, inviting all of them
    yields about :math:`m_c = r_c N_c` responses; the target is reachable iff
    :math:`n_c \le m_c`. Responses are assumed to behave like a simple random sample of the
    cell inflated by ``deff`` (non-response at random within the cell, which is an assumption).

    Examples
    --------
    >>> plan_precision(half_width=0.05, response_rate=0.083)[["responses_needed", "invitations_needed"]].iloc[0].tolist()
    [385, 4639]
    """
    c = _Checks()
    c.prob("half_width", half_width)
    c.prob("p", p)
    _check_rates(c, response_rate)
    c.positive("deff", deff)
    c.prob("alpha", alpha)
    c.choice("interval", interval, INTERVALS)
    if population is not None:
        c.prob("population", population, lo=1.0, hi=math.inf, hi_open=False)
    c.raise_if_any()
    byt = _by_tuple(by)
    groups = _precision_cells(cells, byt, response_rate, population)
    rows = []
    for (region, beds), Nc, rc in groups:
        note = ""
        if Nc < 2:
            n = n_prop_moe(half_width, p, alpha=alpha, deff=deff) if interval == "wald" else float(
                n_prop_search(half_width, p, alpha=alpha, interval=interval, deff=deff))
            note = f"the frame has {Nc:g} units: no interval is possible in this cell"
            reach: bool | None = False
        else:
            if interval == "wald":
                n = n_prop_moe(half_width, p, alpha=alpha, population=Nc, deff=deff)
            else:
                n = float(n_prop_search(half_width, p, alpha=alpha, interval=interval, population=Nc, deff=deff))
            reach = None
        resp = _ceil(n)
        inv = _ceil(resp / rc)
        max_resp = Nc * rc
        if math.isinf(Nc):
            hw_all, reach = float("nan"), None
        else:
            if reach is None:
                reach = bool(inv <= Nc + 1e-9)
            hw_all = _achieved_half_width(max_resp, Nc, p, alpha, deff, interval) if Nc >= 2 else math.inf
            if not reach and not note:
                note = (f"the frame has {Nc:g} units; {inv} invitations are needed at response rate {rc:.3g}: inviting all "
                        f"gives about {max_resp:.1f} responses and a half-width of {hw_all:.3f}")
        rows.append({"region": region, "beds_class": beds, "frame_units": Nc, "p": p, "half_width": half_width,
                     "alpha": alpha, "interval": interval, "deff": deff, "responses_needed": resp, "response_rate": rc,
                     "invitations_needed": inv, "reachable": reach, "max_responses": max_resp,
                     "half_width_if_all_invited": hw_all, "note": note})
    out = pd.DataFrame(rows)
    out.attrs.update({"target": "precision", "half_width": half_width, "p": p, "deff": deff, "alpha": alpha,
                      "interval": interval, "by": list(byt)})
    return out


def _precision_cells(cells: pd.DataFrame | None, byt: tuple[str, ...], response_rate: float | Mapping[str, float],
                     population: float | None) -> list[tuple[tuple[str, str], float, float]]:
    """The cells of a precision plan: ``((region, beds_class), frame units, response rate)``, checked."""
    if cells is None:
        if byt:
            raise PlanningError([Problem(rule="a plan by region or size class needs a frame (cells)", column="by", value=",".join(byt))])
        rate = _rate_of(response_rate, ["all"]) if not isinstance(response_rate, Mapping) else None
        if rate is None:
            raise PlanningError([Problem(rule="response rates per beds class need a frame with beds_class", column="response_rate",
                                         value=dict(response_rate))])
        N = math.inf if population is None else float(population)
        groups = [(("all", "all"), N, rate["all"])]
    else:
        if population is not None:
            raise PlanningError([Problem(rule="population is the frame size of a plan without cells; with cells the frame's "
                                         "units are the population", column="population", value=population)])
        need = list(byt) + (["beds_class"] if isinstance(response_rate, Mapping) else [])
        probs = _cells_problems(cells, sorted(set(need)))
        if probs:
            raise PlanningError(probs, what="frame cells")
        if isinstance(response_rate, Mapping):
            # rates belong to the frame's own size classes, before cells are pooled into "all"
            own = cells["beds_class"].astype(str)
            rates = _rate_of(response_rate, sorted(own.unique()))
            r_cell = own.map(rates).astype(float).to_numpy()
        else:
            r_cell = _rate_of(response_rate, ["all"])["all"]
        lab = _labels(cells, byt)
        lab["_r"] = r_cell
        lab["_m"] = lab["N"].astype(float) * lab["_r"]
        groups = []
        for key, g in lab.groupby(["region", "beds_class"], sort=True, observed=True):
            Nc = float(g["N"].sum())
            # a cell pooling size classes with different rates: the expected overall rate
            rc = float(g["_m"].sum() / Nc) if Nc > 0 else float(g["_r"].mean())
            groups.append((key, Nc, rc))
    return groups


def plan_odds_ratio(cells: pd.DataFrame | None = None, *, odds_ratio: float, p0: float,
                    response_rate: float | Mapping[str, float], exposed: Sequence[str] = (">=800",),
                    reference: Sequence[str] = ("<200", "200-399"), share_exposed: float | None = None,
                    deff: float = 1.0, power: float = 0.8, alpha: float = 0.05, alternative: str = "two-sided",
                    method: str = "exact", by: str | Sequence[str] | None = None) -> pd.DataFrame:
    r"""Responses and invitations per size class to detect an odds ratio between two groups of size classes.

    The comparison (e.g. 24/7 coverage in hospitals with :math:`\ge 800` beds versus
    :math:`< 400` beds) is a logistic regression of the outcome on the group indicator among
    the responding departments of the two groups; :func:`n_logistic_binary` gives the total
    responses :math:`n`, inflated by ``deff``, split into :math:`\lceil Bn \rceil` exposed and
    :math:`\lceil (1-B)n \rceil` reference responses and then over each group's size classes
    in proportion to their expected responses :math:`N_c r_c` (rounded up per class), and
    turned into invitations :math:`\lceil n_c / r_c\rceil`.

    Parameters
    ----------
    cells : DataFrame, optional
        Frame cells with ``beds_class`` and ``N`` (and ``region`` with ``by="region"``).
        Without cells: Europe-wide, by group only, nothing capped; ``share_exposed`` is then
        required.
    odds_ratio : float
        Odds ratio to detect (exposed versus reference; > 0, != 1).
    p0 : float
        Anticipated prevalence of the outcome in the reference group.
    response_rate : float or mapping
        Response rate in (0, 1], or one per beds class.
    exposed, reference : sequence of str
        Beds classes of each group (codebook codes; disjoint). The classes in neither group
        (by default ``400-799``) are not part of the comparison.
    share_exposed : float, optional
        Share :math:`B` of the compared responses that are exposed; default: the frame's
        expected share :math:`\sum_{exp} N_c r_c / \sum_{exp \cup ref} N_c r_c`.
    deff : float
        Design effect applied to the total (e.g. from weighting).
    power, alpha, alternative, method
        As in :func:`n_logistic_binary`.
    by : {"region"}, optional
        A separate comparison within each region.

    Returns
    -------
    DataFrame
        One row per (region, group, size class): ``region`` (``"all"`` without ``by``),
        ``group`` (``exposed``/``reference``), ``beds_class`` (``"all"`` without cells),
        ``frame_units``, ``p`` (anticipated prevalence: :math:`p_1` or :math:`p_0`),
        ``odds_ratio``, ``share_exposed``, ``power``, ``alpha``, ``method``, ``deff``,
        ``responses_total_needed`` (both groups, after ``deff``), ``responses_needed`` (this
        class), ``response_rate``, ``invitations_needed``, ``reachable`` (None without
        cells), ``max_responses``, ``power_if_all_invited`` (power of the comparison in this
        region if every unit of the compared classes is invited, with the share of exposed
        responses that gives; for ``exact``, at the whole number of expected responses
        after ``deff``), ``note``.

    Raises
    ------
    PlanningError
        Invalid arguments (all listed), overlapping or unknown groups, a group without frame
        units, or no ``share_exposed`` without cells.

    Notes
    -----
    The comparison is model-based (a superpopulation odds ratio), so no finite population
    correction is applied; the frame only bounds how many responses each class can give.
    """
    c = _check_logistic(odds_ratio, p0, share_exposed if share_exposed is not None else 0.5, alpha, alternative, method)
    c.prob("power", power)
    _check_rates(c, response_rate)
    c.positive("deff", deff)
    exposed, reference = [str(x) for x in exposed], [str(x) for x in reference]
    if not exposed:
        c.problems.append(Problem(rule="the exposed group needs at least one beds class", column="exposed", value=exposed))
    if not reference:
        c.problems.append(Problem(rule="the reference group needs at least one beds class", column="reference", value=reference))
    for k in sorted(set(exposed) & set(reference)):
        c.problems.append(Problem(rule="a beds class cannot be in both groups", column="exposed", value=k))
    c.raise_if_any()
    if power <= alpha:
        raise PlanningError([Problem(rule="power must exceed alpha", column="power", value=power)])
    byt = _by_tuple(by)
    if "beds_class" in byt:
        raise PlanningError([Problem(rule="the comparison is between beds classes; plan it by region only", column="by", value="beds_class")])
    p1 = _logit_parts(odds_ratio, p0, 0.5)[0]
    common = {"odds_ratio": odds_ratio, "power": power, "alpha": alpha, "method": method, "deff": deff}
    rows: list[dict[str, Any]] = []
    if cells is None:
        return _odds_ratio_without_frame(byt, share_exposed, response_rate, exposed, reference, p1, common,
                                         odds_ratio=odds_ratio, p0=p0, power=power, alpha=alpha,
                                         alternative=alternative, method=method, deff=deff)
    probs = _cells_problems(cells, ["beds_class"] + list(byt))
    if probs:
        raise PlanningError(probs, what="frame cells")
    lab = _labels(cells, ("beds_class",) + byt)
    present = set(lab["beds_class"])
    unknown = [k for k in exposed + reference if k not in present]
    if unknown:
        raise PlanningError([Problem(rule=f"beds class not in the frame; it has {sorted(present)}", column="exposed" if k in exposed else "reference",
                                     value=k) for k in unknown])
    rates = _rate_of(response_rate, exposed + reference)
    lab = lab[lab["beds_class"].isin(exposed + reference)].copy()
    lab["_r"] = lab["beds_class"].map(rates).astype(float)
    agg = lab.groupby(["region", "beds_class"], sort=True, observed=True).agg(N=("N", "sum"), r=("_r", "first")).reset_index()
    agg["m"] = agg["N"].astype(float) * agg["r"]
    for region, g in agg.groupby("region", sort=True):
        ge, gr = g[g["beds_class"].isin(exposed)], g[g["beds_class"].isin(reference)]
        me, mr = float(ge["m"].sum()), float(gr["m"].sum())
        if me <= 0 or mr <= 0:
            empty = "exposed" if me <= 0 else "reference"
            raise PlanningError([Problem(rule=f"the {empty} group has no frame units here, so nothing can be compared",
                                         column="region", value=region)], what="frame cells")
        B = share_exposed if share_exposed is not None else me / (me + mr)
        n_tot = _ceil(deff * n_logistic_binary(odds_ratio, p0, B, power=power, alpha=alpha, alternative=alternative, method=method))
        B_all = me / (me + mr)
        n_all = (me + mr) / deff
        if method == "exact":
            n_all = math.floor(n_all + 1e-9)
        pw_all = (power_logistic_binary(n_all, odds_ratio, p0, B_all, alpha=alpha, alternative=alternative, method=method)
                  if n_all >= 2 else 0.0)
        for grp, share, p, gg in (("exposed", B, p1, ge), ("reference", 1 - B, p0, gr)):
            need_g = _ceil(share * n_tot)
            mg = float(gg["m"].sum())
            for _, row in gg.iterrows():
                resp = _ceil(need_g * float(row["m"]) / mg) if row["m"] > 0 else 0
                inv = _ceil(resp / float(row["r"]))
                reach = bool(inv <= float(row["N"]) + 1e-9)
                note = "" if reach else (
                    f"the frame has {float(row['N']):g} units; {inv} invitations are needed at response rate {float(row['r']):.3g} "
                    f"(about {float(row['m']):.1f} responses if all are invited); inviting every unit of the compared classes "
                    f"gives power {pw_all:.3f}")
                rows.append({"region": region, "group": grp, "beds_class": row["beds_class"], "frame_units": float(row["N"]),
                             "p": p, **common, "share_exposed": B, "responses_total_needed": n_tot, "responses_needed": resp,
                             "response_rate": float(row["r"]), "invitations_needed": inv, "reachable": reach,
                             "max_responses": float(row["m"]), "power_if_all_invited": pw_all, "note": note})
    out = pd.DataFrame(rows)
    out.attrs.update({"target": "odds_ratio", **common, "p0": p0, "share_exposed": share_exposed, "exposed": exposed,
                      "reference": reference, "by": list(byt)})
    return out


def _odds_ratio_without_frame(byt: tuple[str, ...], share_exposed: float | None, response_rate: float | Mapping[str, float],
                              exposed: list[str], reference: list[str], p1: float, common: dict[str, Any], *,
                              odds_ratio: float, p0: float, power: float, alpha: float, alternative: str, method: str,
                              deff: float) -> pd.DataFrame:
    """:func:`plan_odds_ratio` without frame cells: Europe-wide, by group only, nothing capped."""
    if byt:
        raise PlanningError([Problem(rule="a plan by region needs a frame (cells)", column="by", value="region")])
    if share_exposed is None:
        raise PlanningError([Problem(rule="without a frame, give share_exposed (the share of compared responses in the exposed group)",
                                     column="share_exposed")])
    if isinstance(response_rate, Mapping):
        raise PlanningError([Problem(rule="response rates per beds class need a frame with beds_class (cells); "
                                     "without one give a single rate", column="response_rate", value=dict(response_rate))])
    rate = _rate_of(response_rate, ["all"])
    rows: list[dict[str, Any]] = []
    n_tot = _ceil(deff * n_logistic_binary(odds_ratio, p0, share_exposed, power=power, alpha=alpha, alternative=alternative, method=method))
    for grp, share, p, classes in (("exposed", share_exposed, p1, exposed), ("reference", 1 - share_exposed, p0, reference)):
        r = rate["all"]
        resp = _ceil(share * n_tot)
        rows.append({"region": "all", "group": grp, "beds_class": ",".join(classes), "frame_units": math.inf, "p": p,
                     **common, "share_exposed": share_exposed, "responses_total_needed": n_tot, "responses_needed": resp,
                     "response_rate": r, "invitations_needed": _ceil(resp / r), "reachable": None,
                     "max_responses": math.inf, "power_if_all_invited": float("nan"), "note": ""})
    out = pd.DataFrame(rows)
    out.attrs.update({"target": "odds_ratio", **common, "p0": p0, "share_exposed": share_exposed})
    return out
