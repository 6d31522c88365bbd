"""Exact identification regions of 2017 associations (integer optimisation over cross-tables).

The 2017 paper publishes one-way margins, item non-response and a few joint facts. For a
pair (predictor ``A``, outcome ``Y``) the set of respondent-level data consistent with all
of it is the set of integer tables ``n[g, a, y]`` (``g`` the published special groups the
pair touches, ``a`` a level of ``A`` or missing, ``y`` a level of ``Y`` or missing) with

* row sums equal to the published margin of ``A`` and column sums to that of ``Y``
  (item non-response included: the departments that did not answer are a column/row);
* group sizes and the group rules of :data:`GROUPS` (e.g. the three departments without IR
  are in hospitals of fewer than 400 beds, R3-14; 7 of the 10 CIRSE-only members work mostly
  in IR, R2-10), and a published joint table where one exists (the membership combinations).

An association is a function of such a table. Its **identification region** is its range
over every table in the set; :func:`bounds` computes it exactly with mixed-integer linear
programmes (HiGHS through :func:`scipy.optimize.milp`):

* difference in proportions ``x1/d1 - x0/d0`` (``x`` events among the ``d`` answering
  departments of the two groups compared): for each feasible split of the outcome's
  missing answers between the groups (which fixes ``d1`` and ``d0``) the objective is
  linear, so one MILP per direction gives the extreme;
* odds ratio ``x1 (d0 - x0) / ((d1 - x1) x0)``: increasing in ``x1`` and decreasing in
  ``x0``; for fixed denominators the largest ``x1`` given ``x0 = t`` is a concave function
  of ``t`` (the value function of a transportation problem), so the maximum is found by
  walking ``t`` up from its minimum until that function stops increasing (and the minimum
  symmetrically). Bounds of 0 and infinity mean a cell can be empty: they are reported as
  such, not clipped.

The region is sharp with respect to the published margins, the item non-response and the
joint facts listed in :data:`GROUPS` and :data:`JOINT_TABLES` that involve the pair; facts
about other variables are projected away (they can only shrink the region further, never
move a reconstruction outside it: a test checks that every reconstruction lies inside).
Rules of kind ``plausibility`` (assumptions the reconstruction adds, e.g. that a department
without IR has no 24/7 IR cover) are used only with ``facts="plausibility"``.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, sparse

from irmodels.core.errors import Problem, SchemaError
from irmodels.core.tablecache import cached_table

__all__ = ["bounds", "GROUPS", "JOINT_TABLES", "SUPPORTED_WAVES", "pair_table_feasible"]

SUPPORTED_WAVES = ("esr_cirse_2017",)
NA = "<NA>"  # the level of departments that did not answer an item
_FACT_KINDS = {"published": ("published", "audit"), "plausibility": ("published", "audit", "plausibility")}


@dataclass(frozen=True)
class Rule:
    """One published (or assumed) fact about the members of a group.

    ``kind``: ``in`` (every member has ``variable`` in ``levels``), ``iff`` (members and only
    members have it), ``count`` (exactly ``count`` members have it).
    """

    variable: str
    kind: str
    levels: tuple[str, ...]
    count: int | None
    fact_kind: str  # published / audit / plausibility
    source: str


@dataclass(frozen=True)
class Group:
    name: str
    size: int
    parent: str | None
    rules: tuple[Rule, ...]
    source: str


def _groups() -> tuple[Group, ...]:
    """The special groups of 2017 respondents the paper describes; every number read from the
    adopted margins or statements.csv (never typed here)."""
    from irmodels.identification.targets import _margin, _stated

    n_no_ir = _margin("ir_share_class", "0")
    n_vol0 = _margin("procedure_volume_class", "0")
    n_co = _margin("member_esr_cirse", "cirse_only")
    co_ir, co_eq = _stated("R2-10"), _stated("R2-11")
    pub, pla = "published", "plausibility"
    no_ir_rules = [
        Rule("ir_share_class", "iff", ("0",), None, pub, "definition (R3-13)"),
        Rule("beds_class", "in", ("<200", "200-399"), None, pub, "R3-13/R3-14: three small hospitals"),
        Rule("female_ir_share_class", "in", (NA,), None, pub, "no IRs: female IR share not answered (90 answers)"),
        Rule("procedure_volume_class", "in", ("0", "1-200"), None, pub, "R4-04 and R3-14"),
    ]
    for v in ("ir_unit", "outpatient_service", "day_case_beds", "ward_rounds", "cover_24_7", "ir_specialised",
              "neuro_performed", "member_cirse", "member_national_ir"):
        no_ir_rules.append(Rule(v, "in", ("false",), None, pla, "reconstruction constraint (no IR service)"))
    no_ir_rules.append(Rule("admission_under_ir", "in", ("mostly_other",), None, pla, "reconstruction constraint"))
    no_ir_rules.append(Rule("chair_profile", "in", ("DR",), None, pla, "reconstruction constraint"))
    return (
        Group("no_ir", n_no_ir, None, tuple(no_ir_rules), "R3-13: departments without IR"),
        Group("no_procedures", n_vol0, "no_ir", (
            Rule("procedure_volume_class", "iff", ("0",), None, pub, "definition (R4-04)"),
            Rule("teaching", "count", ("true",), _stated("DIS-04"), pub, "DIS-04: one of them teaches"),
        ), "R4-04: departments without image-guided interventions (all without IR)"),
        Group("cirse_only", n_co, None, (
            Rule("member_cirse", "in", ("true",), None, "audit", "membership combination (audit D01)"),
            Rule("member_esr", "in", ("false",), None, "audit", "membership combination (audit D01)"),
            Rule("chair_profile", "count", ("IR_mostly",), co_ir, pub, "R2-10"),
            Rule("chair_profile", "count", ("DR_IR_equal",), co_eq, pub, "R2-11"),
            Rule("chair_profile", "count", ("DR", "DR_some_IR"), n_co - co_ir - co_eq, pub, "R2-10/R2-11 (rest)"),
        ), "CIRSE members who are not ESR members"),
    )


def _joint_tables() -> dict[tuple[str, str], dict[tuple[str, str], int]]:
    from irmodels.identification.targets import _margin

    mc = {c: _margin("member_esr_cirse", c) for c in ("both", "esr_only", "cirse_only", "neither")}
    return {("member_esr", "member_cirse"): {
        ("true", "true"): mc["both"], ("true", "false"): mc["esr_only"],
        ("false", "true"): mc["cirse_only"], ("false", "false"): mc["neither"],
    }}


GROUPS = _groups  # callables: the numbers are read from the data files when needed
JOINT_TABLES = _joint_tables


@functools.cache
def _margins() -> dict[str, dict[str, int]]:
    """variable -> {level: count} over all 98 respondents, missing answers under :data:`NA`."""
    from irmodels.identification.targets import N_RESPONDENTS
    from irmodels.data.waves.esr_cirse_2017 import published_margins

    m = published_margins()
    out: dict[str, dict[str, int]] = {}
    skip = {"member_esr_cirse", "n_radiologists", "n_residents"}  # combinations / count classes
    for var, g in m.groupby("variable", sort=False):
        if var in skip:
            continue
        levels = dict(zip(g["category"].astype(str), g["count"].astype(int)))
        miss = N_RESPONDENTS - int(g["item_n"].iloc[0])
        if sum(levels.values()) != N_RESPONDENTS - miss:
            continue  # a margin whose categories are not all published (cannot be tabulated)
        if miss:
            levels[NA] = miss
        out[str(var)] = levels
    return out


def _check_args(predictor: str, outcome: str, wave: str, facts: str) -> None:
    problems = []
    if wave not in SUPPORTED_WAVES:
        problems.append(Problem(
            f"bounds are computed for waves published only as aggregates ({list(SUPPORTED_WAVES)}); a wave with "
            "respondent-level data identifies its associations: estimate them with irmodels.fit", column="wave",
            value=wave))
    margins = _margins()
    for name, v in (("predictor", predictor), ("outcome", outcome)):
        if v not in margins:
            problems.append(Problem(f"no complete published margin for this variable; valid: {sorted(margins)}",
                                    column=name, value=v))
    if predictor == outcome:
        problems.append(Problem("predictor and outcome must differ", column="outcome", value=outcome))
    if facts not in _FACT_KINDS:
        problems.append(Problem(f"facts must be one of {sorted(_FACT_KINDS)}", column="facts", value=facts))
    if problems:
        raise SchemaError(problems, what="bounds")


class _Pair:
    """The integer programme of one (predictor, outcome) pair."""

    def __init__(self, predictor: str, outcome: str, facts: str, *, margins: dict | None = None,
                 groups: tuple[Group, ...] | None = None, joint: dict | None = None) -> None:
        margins = _margins() if margins is None else margins
        self.margins = margins
        self.A, self.Y = predictor, outcome
        self.a_levels, self.y_levels = list(margins[predictor]), list(margins[outcome])
        kinds = _FACT_KINDS[facts]
        groups = {g.name: g for g in (_groups() if groups is None else groups)}
        # a group is relevant when one of its rules of an admitted kind touches the pair; its
        # parent comes with it (a nested group's members are members of the parent)
        rel = [g for g in groups.values() if any(r.variable in (predictor, outcome) and r.fact_kind in kinds for r in g.rules)]
        names = {g.name for g in rel}
        for g in list(rel):
            if g.parent and g.parent not in names:
                names.add(g.parent)
        self.groups = [groups[n] for n in groups if n in names]
        self.sources: list[str] = []
        atoms = [a for a in itertools.product((0, 1), repeat=len(self.groups))
                 if all(not (a[i] and g.parent and not a[[h.name for h in self.groups].index(g.parent)])
                        for i, g in enumerate(self.groups))]
        self.atoms = atoms
        self.cells = [(gi, a, y) for gi in range(len(atoms)) for a in self.a_levels for y in self.y_levels]
        idx = {c: i for i, c in enumerate(self.cells)}
        self.idx = idx
        rows: list[np.ndarray] = []
        lo: list[float] = []
        hi: list[float] = []
        nv = len(self.cells)

        def add(cond, low: float, high: float) -> None:
            r = np.zeros(nv)
            for c, i in idx.items():
                if cond(*c):
                    r[i] = 1.0
            rows.append(r)
            lo.append(low)
            hi.append(high)

        for a, n in margins[predictor].items():
            add(lambda g, aa, yy, a=a: aa == a, n, n)
        for y, n in margins[outcome].items():
            add(lambda g, aa, yy, y=y: yy == y, n, n)
        for j, grp in enumerate(self.groups):
            add(lambda g, aa, yy, j=j: self.atoms[g][j] == 1, grp.size, grp.size)
            self.sources.append(f"{grp.name} ({grp.size}): {grp.source}")
            for r in grp.rules:
                if r.variable not in (predictor, outcome) or r.fact_kind not in kinds:
                    continue
                pos = 1 if r.variable == predictor else 2
                inlev = lambda c, r=r, pos=pos: c[pos] in r.levels  # noqa: E731
                member = lambda c, j=j: self.atoms[c[0]][j] == 1  # noqa: E731
                if r.kind in ("in", "iff"):
                    add(lambda g, aa, yy, m=member, i=inlev: m((g, aa, yy)) and not i((g, aa, yy)), 0, 0)
                if r.kind == "iff":
                    add(lambda g, aa, yy, m=member, i=inlev: (not m((g, aa, yy))) and i((g, aa, yy)), 0, 0)
                if r.kind == "count":
                    add(lambda g, aa, yy, m=member, i=inlev: m((g, aa, yy)) and i((g, aa, yy)), r.count, r.count)
                self.sources.append(f"{grp.name}: {r.variable} {r.kind} {list(r.levels)}"
                                    + (f" = {r.count}" if r.count is not None else "") + f" [{r.fact_kind}; {r.source}]")
        for (va, vb), table in (_joint_tables() if joint is None else joint).items():
            if {va, vb} == {predictor, outcome}:
                for (la, lb), n in table.items():
                    a_l, y_l = (la, lb) if va == predictor else (lb, la)
                    add(lambda g, aa, yy, a_l=a_l, y_l=y_l: aa == a_l and yy == y_l, n, n)
                self.sources.append(f"joint table {va} x {vb} [audit D01]")
        self.base = (np.vstack(rows), np.asarray(lo), np.asarray(hi))

    def vec(self, a_set, y_set) -> np.ndarray:
        return np.array([1.0 if (a in a_set and y in y_set) else 0.0 for _, a, y in self.cells])

    def solve(self, c: np.ndarray, extra: list[tuple[np.ndarray, float, float]] = ()) -> float | None:
        """Minimum of ``c @ n`` over the integer tables (None when infeasible)."""
        A, lo, hi = self.base
        if extra:
            A = np.vstack([A] + [e[0] for e in extra])
            lo = np.concatenate([lo, [e[1] for e in extra]])
            hi = np.concatenate([hi, [e[2] for e in extra]])
        res = optimize.milp(c, constraints=optimize.LinearConstraint(sparse.csr_array(A), lo, hi),
                            integrality=np.ones(len(c)), bounds=optimize.Bounds(0, np.inf))
        if res.status == 2 or res.x is None:  # infeasible
            return None
        if res.status != 0:  # pragma: no cover - HiGHS failing on a table this small is a bug
            raise RuntimeError(f"MILP failed: {res.message}")
        return float(round(res.fun))  if np.allclose(c, np.round(c)) else float(res.fun)


def _or(x1: float, d1: float, x0: float, d0: float) -> float:
    num, den = x1 * (d0 - x0), (d1 - x1) * x0
    if den == 0:
        return math.inf if num > 0 else math.nan
    return num / den


def _contrast_bounds(p: _Pair, s1: set, s0: set, event: set) -> dict[str, float]:
    answered = set(p.y_levels) - {NA}
    v_na1, v_na0 = p.vec(s1, {NA}), p.vec(s0, {NA})
    v_x1, v_x0 = p.vec(s1, event), p.vec(s0, event)
    v_d1, v_d0 = p.vec(s1, answered), p.vec(s0, answered)
    n1 = sum(n for a, n in p.margins[p.A].items() if a in s1)
    n0 = sum(n for a, n in p.margins[p.A].items() if a in s0)
    m = p.margins[p.Y].get(NA, 0)
    rd_lo, rd_hi, or_lo, or_hi = math.inf, -math.inf, math.inf, -math.inf
    for na1 in range(0, min(m, n1) + 1):
        for na0 in range(0, min(m - na1, n0) + 1):
            d1, d0 = n1 - na1, n0 - na0
            if d1 == 0 or d0 == 0:
                continue
            fix = [(v_na1, na1, na1), (v_na0, na0, na0)]
            lo_rd = p.solve(v_x1 / d1 - v_x0 / d0, fix)
            if lo_rd is None:
                continue  # this split of the missing answers is impossible
            hi_rd = -p.solve(-(v_x1 / d1 - v_x0 / d0), fix)
            rd_lo, rd_hi = min(rd_lo, lo_rd), max(rd_hi, hi_rd)
            t_lo, t_hi = int(p.solve(v_x0, fix)), int(-p.solve(-v_x0, fix))
            # maximum: walk x0 up while the largest feasible x1 still increases
            prev = -1
            for t in range(t_lo, t_hi + 1):
                u = p.solve(-v_x1, fix + [(v_x0, t, t)])
                if u is None:
                    continue
                u = -u
                if u <= prev:
                    break
                val = _or(u, d1, t, d0)
                if not math.isnan(val):
                    or_hi = max(or_hi, val)
                    or_lo = min(or_lo, val)
                prev = u
            prev = math.inf
            for t in range(t_hi, t_lo - 1, -1):
                u = p.solve(v_x1, fix + [(v_x0, t, t)])
                if u is None:
                    continue
                if u >= prev:
                    break
                val = _or(u, d1, t, d0)
                if not math.isnan(val):
                    or_lo = min(or_lo, val)
                    or_hi = max(or_hi, val)
                prev = u
    return {"rd_lower": rd_lo, "rd_upper": rd_hi, "or_lower": or_lo, "or_upper": or_hi}


def _status(lower: float, upper: float, null: float) -> str:
    if null == 1.0 and lower == 0 and math.isinf(upper):
        return "unrestricted"
    if abs(upper - lower) < 1e-12:
        return "identified"
    if lower > null or upper < null:
        return "sign identified"
    return "bounded"


def _contrasts(levels: list[str]) -> list[tuple[str, set, set]]:
    lv = [x for x in levels if x != NA]
    if set(lv) == {"true", "false"}:
        return [("true vs false", {"true"}, {"false"})]
    ref = lv[0]
    out = [(f"{x} vs {ref}", {x}, {ref}) for x in lv[1:]]
    out += [(f"{x} vs rest", {x}, set(lv) - {x}) for x in lv]
    return out


def _events(levels: list[str]) -> list[str]:
    lv = [x for x in levels if x != NA]
    return ["true"] if set(lv) == {"true", "false"} else lv


@functools.cache
def _bounds_cached(predictor: str, outcome: str, facts: str, event: str | None) -> pd.DataFrame:
    p = _Pair(predictor, outcome, facts)
    a_lv = list(_margins()[predictor])
    a_order = _level_order(predictor, a_lv)
    rows = []
    events = _events(p.y_levels) if event is None else [event]
    for ev in events:
        for name, s1, s0 in _contrasts(a_order):
            b = _contrast_bounds(p, s1, s0, {ev})
            for scale, lo, hi, null in (("risk_difference", b["rd_lower"], b["rd_upper"], 0.0),
                                        ("odds_ratio", b["or_lower"], b["or_upper"], 1.0)):
                rows.append({
                    "wave": "esr_cirse_2017", "predictor": predictor, "outcome": outcome, "event": ev,
                    "contrast": f"{predictor}: {name}", "scale": scale, "lower": lo, "upper": hi,
                    "status": _status(lo, hi, null), "facts": facts,
                    "note": "; ".join(p.sources) if p.sources else "margins and item non-response only (Fréchet)",
                })
    return pd.DataFrame(rows)


def _level_order(var: str, levels: list[str]) -> list[str]:
    """Published levels in codebook order (the first is the reference of a regression)."""
    from irmodels.data.schema import column_dtypes

    dt = column_dtypes().get(var)
    if isinstance(dt, pd.CategoricalDtype):
        cats = [c for c in dt.categories if c in levels]
        return cats + [x for x in levels if x not in cats]
    return levels


def bounds(predictor: str, outcome: str, wave: str = "esr_cirse_2017", *, event: str | None = None,
           facts: str = "published", cache_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Sharp identification region of the association of ``predictor`` with ``outcome``.

    Parameters
    ----------
    predictor, outcome : str
        Codebook variables with a complete published margin (e.g. ``"beds_class"``,
        ``"cover_24_7"``, ``"female_ir_share_class"``).
    wave : str
        Only ``"esr_cirse_2017"`` (published as aggregates); a wave with respondent-level
        data identifies its associations.
    event : str, optional
        The outcome level whose probability is compared (default: ``"true"`` for a
        boolean outcome, every published level in turn for a categorical one; the
        female IR classes above 25% are published only together, as ``">25"``).
    facts : {"published", "plausibility"}
        ``"published"`` (default): the margins, item non-response and the published and
        audit-resolved joint facts. ``"plausibility"`` adds the reconstruction's
        plausibility constraints (assumptions, e.g. no 24/7 IR cover without IR).
    cache_dir : path-like, optional
        Folder of a disk cache of these tables (:func:`irmodels.core.tablecache.cached_table`:
        keyed by the arguments and the package source): callers that need the same regions
        (the analyses and the published wave's pipeline) solve the programmes once.

    Returns
    -------
    pandas.DataFrame
        One row per event x contrast x scale: ``wave``, ``predictor``, ``outcome``,
        ``event``, ``contrast`` (``"<predictor>: <level> vs <reference>"`` for every
        non-reference level, the reference being the codebook's first level, and
        ``"<level> vs rest"`` for every level; ``"true vs false"`` for a boolean),
        ``scale`` (``risk_difference``: ``P(event | level) - P(event | comparison)``
        among departments answering the outcome; ``odds_ratio``), ``lower``, ``upper``
        (attained by some table consistent with everything published; an odds ratio of
        0 or ``inf`` means a cell can be empty), ``status`` (``identified``,
        ``sign identified``: the region excludes no association, ``bounded``,
        ``unrestricted``: odds ratio from 0 to infinity), ``facts``, ``note`` (the joint
        facts used, with their statements).

    Raises
    ------
    SchemaError
        Unknown or untabulable variables, an unsupported wave or ``facts`` value.

    Notes
    -----
    See the module docstring: mixed-integer programmes over the tables ``n[g, a, y]``
    with the published margins and group facts; the difference in proportions is linear
    once the split of the outcome's missing answers is fixed (enumerated); the odds ratio
    is monotone in the two event counts.

    References
    ----------
    Fréchet M (1951). Sur les tableaux de corrélation dont les marges sont données.
    Manski CF (2003). *Partial Identification of Probability Distributions*. Springer.

    Examples
    --------
    >>> b = bounds("teaching", "cover_24_7")
    >>> b.loc[b.scale == "risk_difference", ["lower", "upper"]].round(3).values.tolist()
    [[-0.516, 0.45]]
    """
    _check_args(predictor, outcome, wave, facts)
    if event is not None:
        valid = _events(list(_margins()[outcome]))
        if event not in valid:
            raise SchemaError([Problem(f"not a published level of {outcome}; valid: {valid}", column="event",
                                       value=event)], what="bounds")
    if cache_dir is not None:
        return cached_table(cache_dir, "bounds", {"predictor": predictor, "outcome": outcome, "facts": facts,
                                                  "event": event}, lambda: _bounds_cached(predictor, outcome, facts,
                                                                                           event).copy())
    return _bounds_cached(predictor, outcome, facts, event).copy()


def pair_table_feasible(table: pd.DataFrame, predictor: str, outcome: str, facts: str = "published") -> bool:
    """Whether an observed (predictor x outcome) count table is consistent with everything published.

    Parameters
    ----------
    table : pandas.DataFrame
        Counts with the predictor's levels as index and the outcome's as columns
        (missing answers under ``"<NA>"``), e.g. ``pd.crosstab`` of a reconstruction.
    predictor, outcome : str
    facts : {"published", "plausibility"}

    Returns
    -------
    bool
        True when some table of the integer programme of :func:`bounds` has these cell
        counts (summed over the special groups).
    """
    _check_args(predictor, outcome, "esr_cirse_2017", facts)
    p = _Pair(predictor, outcome, facts)
    extra = []
    for a in p.a_levels:
        for y in p.y_levels:
            n = float(table.loc[a, y]) if (a in table.index and y in table.columns) else 0.0
            extra.append((p.vec({a}, {y}), n, n))
    return p.solve(np.zeros(len(p.cells)), extra) is not None
