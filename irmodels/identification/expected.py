"""The expected 2017 table at fixed odds-ratio parameters, and its controlled rounding.

At fixed values of the odds-ratio assumption parameters the **expected table** is the unique
table with the published margins and those odds ratios: the log-linear model with
linear-by-linear interactions fitted to the margins by iterative proportional fitting
(:func:`expected_table`; see :mod:`irmodels.identification.curves` for why). The departments
without IR enter as fixed cells. :func:`round_table` and :func:`expected_respondents` turn
an expected table into integer counts and respondent-level rows with the same margins.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from irmodels.core.errors import Problem, SchemaError
from irmodels.identification.bounds import NA, _margins

__all__ = [
    "expected_table",
    "round_table",
    "expected_respondents",
    "SCORES",
    "MODEL_PREDICTORS",
    "OUTCOME_EVENTS",
]

#: Score of each level in the linear-by-linear interactions (codebook order; the chair's
#: profile from least to most involvement in IR).
SCORES: dict[str, dict[str, float]] = {
    "beds_class": {"<200": 0.0, "200-399": 1.0, "400-799": 2.0, ">=800": 3.0},
    "teaching": {"false": 0.0, "true": 1.0},
    "chair_profile": {"DR": 0.0, "DR_some_IR": 1.0, "DR_IR_equal": 2.0, "IR_mostly": 3.0},
    "cover_24_7": {"false": 0.0, "true": 1.0},
}
#: The predictors of the paper's models (irmodels.models.specs.SPECS), in formula order.
MODEL_PREDICTORS: tuple[str, ...] = ("beds_class", "teaching", "chair_profile")
#: Binary events of the outcomes analysed for 2017: outcome -> (event levels, label).
OUTCOME_EVENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "cover_24_7": (("true",), "24/7 IR emergency cover"),
    "female_ir_share_class": (("1-25", ">25"), "at least one woman among the IRs"),
}
_TOL = 1e-11


def _no_ir_cells(outcome: str, predictors: Sequence[str]) -> tuple[pd.DataFrame, float]:
    """The departments without IR as fixed (fractional) cells, and how many answered the outcome.

    Their sizes come from the published margins: R3-13 (three without IR), R3-14 (hospitals
    under 400 beds: split in proportion to the two bed classes' margins), R4-04/DIS-04 (two
    without procedures, one of them teaching; the third teaches in proportion to the margin),
    and the reconstruction's plausibility constraint that the chair of a department without
    IR works as a diagnostic radiologist.
    """
    from irmodels.identification.targets import _margin, _stated

    m = _margins()
    n_no_ir = _margin("ir_share_class", "0")
    n_vol0, vol0_teach = _margin("procedure_volume_class", "0"), _stated("DIS-04")
    small = {b: m["beds_class"][b] for b in ("<200", "200-399")}
    dist: dict[str, dict[str, float]] = {
        "beds_class": {b: n_no_ir * c / sum(small.values()) for b, c in small.items()},
        "chair_profile": {"DR": float(n_no_ir)},
    }
    third = n_no_ir - n_vol0
    p_teach = m["teaching"]["true"] / (m["teaching"]["true"] + m["teaching"]["false"])
    dist["teaching"] = {"true": vol0_teach + third * p_teach, "false": n_vol0 - vol0_teach + third * (1 - p_teach)}
    grid = pd.MultiIndex.from_product([list(dist[p]) for p in predictors], names=list(predictors)).to_frame(index=False)
    w = np.ones(len(grid))
    for p in predictors:
        w *= grid[p].map(dist[p]).to_numpy(dtype=float) / n_no_ir
    grid["count"] = n_no_ir * w
    if outcome == "cover_24_7":  # plausibility: no IR service, no 24/7 IR cover
        grid["event"] = False
        answered = float(n_no_ir)
    else:  # female IR share: not answered by departments without IRs (published: 90 answers)
        grid["event"] = pd.NA
        answered = 0.0
    grid["ir_service"] = False
    return grid, answered


def _check_outcome(outcome: str, predictors: Sequence[str]) -> None:
    problems = []
    if outcome not in OUTCOME_EVENTS:
        problems.append(Problem(f"outcome must be one of {sorted(OUTCOME_EVENTS)}", column="outcome", value=outcome))
    for p in predictors:
        if p not in MODEL_PREDICTORS:
            problems.append(Problem(f"predictor must be one of {list(MODEL_PREDICTORS)}", column="predictors", value=p))
    if len(set(predictors)) != len(predictors) or not predictors:
        problems.append(Problem("predictors must be distinct and non-empty", column="predictors", value=list(predictors)))
    if problems:
        raise SchemaError(problems, what="expected_table")


def _ipf(cells: pd.DataFrame, outcome: str, odds_ratios: Mapping[str, float], targets: dict[str, dict[str, float]],
         total: float, max_iter: int) -> np.ndarray:
    """Iterative proportional fitting of the cells to the one-way ``targets``.

    Starts from the seed exp(sum of log odds ratio x score_u x score_v) (scores of
    :data:`SCORES`) and stops when every margin is within ``_TOL * total``.
    """
    names = list(cells.columns)
    score = {v: cells[v].map(SCORES[v] if v != outcome else {"false": 0.0, "true": 1.0}).to_numpy(dtype=float)
             for v in names}
    logseed = np.zeros(len(cells))
    for key, v in odds_ratios.items():
        u, _, w = key.partition("~")
        logseed += math.log(v) * score[u] * score[w]
    mu = np.exp(logseed - logseed.max())
    idx = {v: cells[v].to_numpy() for v in names}
    for _ in range(max_iter):
        worst = 0.0
        for v in names:
            for lv, target in targets[v].items():
                sel = idx[v] == lv
                cur = mu[sel].sum()
                worst = max(worst, abs(cur - target))
                if cur > 0:
                    mu[sel] *= target / cur
        if worst < _TOL * total:
            break
    else:  # pragma: no cover - IPF to one-way margins from a positive seed always converges
        raise RuntimeError("iterative proportional fitting did not converge")
    return mu


def expected_table(outcome: str, predictors: Sequence[str] = MODEL_PREDICTORS,
                   odds_ratios: Mapping[str, float] | None = None, *, margins: Mapping[str, Mapping[str, float]] | None = None,
                   structure: bool = True, max_iter: int = 10_000) -> pd.DataFrame:
    r"""The 2017 table implied by the published margins and fixed odds-ratio parameters.

    Parameters
    ----------
    outcome : {"cover_24_7", "female_ir_share_class"}
        The outcome; its binary event is :data:`OUTCOME_EVENTS` (24/7 cover; at least one
        woman among the IRs).
    predictors : sequence of str
        Some of :data:`MODEL_PREDICTORS`.
    odds_ratios : mapping, optional
        ``{"<u>~<v>": odds ratio}`` for any pair among the outcome and predictors (either
        order); pairs not given are 1 (no association). The outcome's name stands for its
        binary event.
    margins : mapping, optional
        One-way margins ``{variable: {level: count, "<NA>": missing}}`` to use instead of
        the published 2017 ones (e.g. margins published by a simulated survey; the
        variables' levels are those of :data:`SCORES`).
    structure : bool
        Add the 2017 departments without IR as fixed cells (default True; needs the 2017
        margins).

    Returns
    -------
    pandas.DataFrame
        One row per cell: the predictors (strings), ``event`` (True/False; ``<NA>`` for
        departments that did not answer), ``ir_service`` (False for the departments
        without IR), ``count`` (expected number of departments, fractional). The counts
        reproduce every published margin of the variables (to 1e-9), and the
        linear-by-linear log odds ratio of each pair among departments with IR equals the
        given value.

    Raises
    ------
    SchemaError
        Unknown outcome, predictors or parameters.

    Notes
    -----
    Departments with IR that did not answer the outcome (1 for 24/7 cover, 5 for the
    female IR share) are spread over the predictor cells in proportion to the margins
    (missing completely at random among them; 1-5 departments of 98). IPF from the seed
    :math:`\exp(\sum_{u<v}\theta_{uv}s_u s_v)` to the one-way margins converges to the
    maximum-likelihood fit of the log-linear model with those interactions fixed.
    """
    odds_ratios = dict(odds_ratios or {})
    _check_outcome(outcome, predictors)
    names = list(predictors) + [outcome]
    bad = []
    for key, v in odds_ratios.items():
        u, _, w = str(key).partition("~")
        if u not in names or w not in names or u == w:
            bad.append(Problem(f"parameter must name two of {names} as 'u~v'", column="odds_ratios", value=key))
        elif not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
            bad.append(Problem("odds ratio must be a positive finite number", column=str(key), value=v))
    if bad:
        raise SchemaError(bad, what="expected_table")
    m = _margins() if margins is None else {k: dict(v) for k, v in margins.items()}
    events, _ = OUTCOME_EVENTS[outcome]
    if structure:
        if margins is not None:
            raise SchemaError([Problem("structure=True uses the 2017 departments without IR; pass structure=False "
                                       "with your own margins", column="structure", value=structure)],
                              what="expected_table")
        no_ir, no_ir_answered = _no_ir_cells(outcome, predictors)
    else:
        no_ir = pd.DataFrame(columns=[*predictors, "count", "event", "ir_service"])
        no_ir_answered = 0.0
    n_no_ir = float(no_ir["count"].sum())
    # margins among departments with IR that answered the outcome
    y_m = m[outcome]
    n_event = float(sum(v for k, v in y_m.items() if k in events))
    n_answer = float(sum(v for k, v in y_m.items() if k != NA))
    n_ir_answer = n_answer - no_ir_answered
    ev_ir = n_event  # no department without IR has the event
    targets: dict[str, dict[str, float]] = {}
    for p in predictors:
        fixed = no_ir.groupby(p)["count"].sum() if len(no_ir) else pd.Series(dtype=float)
        rest = {lv: m[p].get(lv, 0.0) - fixed.get(lv, 0.0) for lv in SCORES[p]}
        tot = sum(rest.values())
        targets[p] = {lv: c * n_ir_answer / tot for lv, c in rest.items()}
    targets[outcome] = {"true": ev_ir, "false": n_ir_answer - ev_ir}
    levels = [list(SCORES[p]) for p in predictors] + [["false", "true"]]
    cells = pd.MultiIndex.from_product(levels, names=names).to_frame(index=False)
    mu = _ipf(cells, outcome, odds_ratios, targets, n_ir_answer, max_iter)
    out = cells[list(predictors)].copy()
    out["event"] = cells[outcome].eq("true").astype("boolean")
    out["ir_service"] = True
    out["count"] = mu
    # the departments with IR that did not answer: MCAR within the IR departments
    n_miss_ir = float(y_m.get(NA, 0)) - (n_no_ir - no_ir_answered)
    if n_miss_ir > 0:
        miss = out.groupby(list(predictors), as_index=False)["count"].sum()
        miss["count"] *= n_miss_ir / miss["count"].sum()
        miss["event"] = pd.array([pd.NA] * len(miss), dtype="boolean")
        miss["ir_service"] = True
        out = pd.concat([out, miss[out.columns]], ignore_index=True)
    if len(no_ir):
        no_ir = no_ir.copy()
        no_ir["event"] = no_ir["event"].astype("boolean")
        out = pd.concat([out, no_ir[out.columns]], ignore_index=True)
    out.attrs.update({"outcome": outcome, "odds_ratios": odds_ratios, "events": list(events)})
    return out


def round_table(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Controlled rounding of an expected table to integers with the same one-way margins.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`expected_table` (column ``count``, fractional; the one-way margins
        of every column in ``by`` are integers, as the published ones are).
    by : sequence of str
        The columns whose one-way margins must be kept exactly (e.g. the predictors,
        ``event`` and ``ir_service``).

    Returns
    -------
    pandas.DataFrame
        The same cells with an integer ``count``: each cell is its expected count rounded
        down or up (``|n - mu| < 1``), every one-way margin of ``by`` equals the expected
        table's (rounded to the nearest integer), and the total absolute deviation
        ``sum |n - mu|`` is the smallest possible (a mixed-integer programme; Cox 1987).

    Raises
    ------
    SchemaError
        If a one-way margin of ``by`` is not (within 1e-6) an integer.

    References
    ----------
    Cox LH (1987). A constructive procedure for unbiased controlled rounding.
    *J Am Stat Assoc* 82:520-524.
    """
    from scipy import optimize, sparse

    t = table.reset_index(drop=True).copy()
    mu = t["count"].to_numpy(dtype=float)
    lo, hi = np.floor(mu + 1e-9), np.ceil(mu - 1e-9)
    rows, tl, th = [], [], []
    problems = []
    for col in by:
        key = t[col].astype(object).where(t[col].notna(), NA).astype(str)
        for lv in key.unique():
            sel = (key == lv).to_numpy()
            m = mu[sel].sum()
            if abs(m - round(m)) > 1e-6:
                problems.append(Problem("one-way margin is not an integer", column=str(col), value=f"{lv}: {m:.6f}"))
            rows.append(sel.astype(float))
            tl.append(round(m))
            th.append(round(m))
    if problems:
        raise SchemaError(problems, what="round_table")
    n = len(mu)
    # variables: n cells + n deviations d >= |x - mu|
    A = sparse.hstack([sparse.csr_array(np.vstack(rows)), sparse.csr_array((len(rows), n))])
    eye = sparse.identity(n, format="csr")
    dev_pos = sparse.hstack([eye, -eye])  # x - d <= mu
    dev_neg = sparse.hstack([-eye, -eye])  # -x - d <= -mu
    cons = [optimize.LinearConstraint(A, tl, th),
            optimize.LinearConstraint(dev_pos, -np.inf, mu), optimize.LinearConstraint(dev_neg, -np.inf, -mu)]
    c = np.concatenate([np.zeros(n), np.ones(n)])
    bounds = optimize.Bounds(np.concatenate([lo, np.zeros(n)]), np.concatenate([hi, np.full(n, np.inf)]))
    res = optimize.milp(c, constraints=cons, integrality=np.concatenate([np.ones(n), np.zeros(n)]), bounds=bounds)
    if res.x is None:  # pragma: no cover - a rounding with these margins always exists for 2-way-free margins
        raise RuntimeError(f"controlled rounding failed: {res.message}")
    t["count"] = np.round(res.x[:n]).astype(int)
    return t


def expected_respondents(outcome: str, predictors: Sequence[str] = MODEL_PREDICTORS,
                         odds_ratios: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Respondent-level 2017 rows at fixed odds-ratio parameters (the rounded expected table).

    Parameters
    ----------
    outcome, predictors, odds_ratios
        As in :func:`expected_table`.

    Returns
    -------
    pandas.DataFrame
        98 rows, one per department: the predictors, the outcome's ``event`` (boolean with
        ``<NA>`` for departments that did not answer) and ``ir_service``. Every published
        one-way margin of these variables is reproduced exactly and every cell count
        differs from the expected table's by less than 1 (controlled rounding,
        :func:`round_table`), so the associations are the assumed ones up to rounding.
        Deterministic: the same parameters give the same rows.

    Notes
    -----
    Plausible respondent-level data at a fixed assumption, e.g. for teaching or for
    software that needs rows. With 98 departments some cells hold 0 or 1 department, so a
    regression on these rows can separate; estimates at a fixed assumption come from the
    expected table itself (:func:`fit_expected`).
    """
    tab = expected_table(outcome, predictors, odds_ratios)
    r = round_table(tab, [*predictors, "event", "ir_service"])
    r = r[r["count"] > 0]
    out = r.loc[r.index.repeat(r["count"])].drop(columns="count").reset_index(drop=True)
    out["event"] = out["event"].astype("boolean")
    out.attrs.update(tab.attrs)
    return out
