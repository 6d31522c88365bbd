"""2017 estimates as functions of assumption parameters stated as odds ratios.

The published 2017 aggregates fix one-way margins; they do not fix how hospital size,
teaching status or the chair's profile go together with 24/7 IR cover or with an all-male
IR staff (:mod:`irmodels.identification.bounds` gives the regions). Instead of drawing
reconstructions and pooling them (which mixes the spread an assumption creates with
sampling variance), every 2017 association is reported here **at fixed values of named
assumption parameters**, each an odds ratio a reader can judge:

* ``"<outcome>~<predictor>"``: the odds ratio of the outcome event per step of the
  predictor (one bed class up; teaching vs not; one step of the chair's involvement in IR,
  DR < DR_some_IR < DR_IR_equal < IR_mostly), among departments with an IR service;
* ``"<predictor>~<predictor>"``: the same between two predictors (e.g. teaching by size).

At fixed parameter values the **expected table** is the unique table with the published
margins and those odds ratios: the log-linear model with linear-by-linear interactions
(``log mu = sum_v lambda_v + sum_(u,v) theta_uv s_u s_v``, ``theta = log OR``, scores
``s`` = 0, 1, 2, ...) fitted to the margins by iterative proportional fitting (Deming &
Stephan 1940; Agresti 2013, sec. 10.5). Analysing it removes the replicate noise of random
reconstructions altogether (no Monte Carlo error), so an interval at a fixed parameter is a
sampling interval only (n = the departments that answered).

Structure that is not an association parameter: the departments without IR (R3-13; three,
in hospitals under 400 beds) have no 24/7 IR cover and no IR staff; they enter as fixed
cells (cover false; female IR share missing) and the odds ratios above are among the
departments with an IR service. Country (and so region) is not part of the 2017 joint
table: nothing links it to any other variable, so no 2017 result is produced by country or
region (docs/identification.md).
"""

from __future__ import annotations

import math
import os
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from irmodels.core.errors import Problem, SchemaError
from irmodels.identification.bounds import NA, _margins, bounds
from irmodels.identification.expected import (
    MODEL_PREDICTORS,
    OUTCOME_EVENTS,
    SCORES,
    _check_outcome,
    expected_table,
)
from irmodels.identification.odds_ratios import assumption_grid, load_odds_ratios

__all__ = ["fit_expected", "association_curve", "coverage_curve"]

# --------------------------------------------------------------------------- estimates at fixed parameters


def fit_expected(table: pd.DataFrame, predictors: Sequence[str] = MODEL_PREDICTORS, *, level: float = 0.95,
                 ir_service_only: bool = True) -> pd.DataFrame:
    """Logistic regression of the event on the predictors, on an expected table.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`expected_table`.
    predictors : sequence of str
        Terms of the model (categorical, codebook reference level first).
    level : float
        Level of the Wald intervals.
    ir_service_only : bool
        Fit among departments with an IR service (default; the association parameters are
        defined there).

    Returns
    -------
    pandas.DataFrame
        ``term`` (formula names, e.g. ``beds_class[T.>=800]``), ``estimate`` (log odds
        ratio), ``std_error``, ``lower``, ``upper``, ``n`` (departments the fit rests on).

    Notes
    -----
    Frequency weights equal to the expected counts: the point estimates are those of
    every dataset whose table equals the expected one, and the standard errors are the
    sampling standard errors of ``n`` departments with that table (no Monte Carlo error,
    nothing added for the assumption).
    """
    import statsmodels.api as sm

    d = table[table["event"].notna()]
    if ir_service_only:
        d = d[d["ir_service"]]
    d = d[d["count"] > 0]
    X = pd.DataFrame(index=d.index)
    X["Intercept"] = 1.0
    for p in predictors:
        levels = list(SCORES[p])
        if p == "teaching":
            X["teaching"] = (d[p] == "true").astype(float)
            continue
        for lv in levels[1:]:
            X[f"{p}[T.{lv}]"] = (d[p] == lv).astype(float)
    y = d["event"].astype(bool).astype(float)
    res = sm.GLM(y.to_numpy(), X.to_numpy(), family=sm.families.Binomial(),
                 freq_weights=d["count"].to_numpy()).fit(tol=1e-12, maxiter=200)
    z = stats.norm.ppf(0.5 + level / 2)
    est, se = np.asarray(res.params), np.asarray(res.bse)
    return pd.DataFrame({"term": list(X.columns), "estimate": est, "std_error": se, "lower": est - z * se,
                         "upper": est + z * se, "n": float(d["count"].sum())})


def _marginal_contrast(table: pd.DataFrame, predictor: str, level: str, reference: str) -> dict[str, float]:
    d = table[table["event"].notna()]
    g = d.groupby(predictor)
    tot = g["count"].sum()
    ev = d[d["event"].astype(bool)].groupby(predictor)["count"].sum().reindex(tot.index, fill_value=0.0)
    p1, p0 = ev[level] / tot[level], ev[reference] / tot[reference]
    return {"risk_difference": p1 - p0, "odds_ratio": (p1 / (1 - p1)) / (p0 / (1 - p0))}


def association_curve(outcome: str, predictor: str, grid: Sequence[float] | None = None,
                      assumptions: str | os.PathLike = "informed", *, predictors: Sequence[str] = MODEL_PREDICTORS,
                      level: float = 0.95) -> pd.DataFrame:
    """Regression terms of one predictor as a function of its assumption parameter.

    Parameters
    ----------
    outcome : {"cover_24_7", "female_ir_share_class"}
    predictor : str
        One of ``predictors``; the curve's parameter is ``"<outcome>~<predictor>"``.
    grid : sequence of float, optional
        Odds ratios (default: :func:`assumption_grid` over the set's range for the
        parameter, 0.25-4 when the set has none).
    assumptions : str or path-like
        Assumption set giving the other parameters' values (:func:`load_odds_ratios`).
    predictors : sequence of str
        The model's terms (default: the paper's).
    level : float

    Returns
    -------
    pandas.DataFrame
        One row per grid value x term of ``predictor``: ``outcome``, ``event``,
        ``parameter``, ``assumption_value`` (the odds ratio assumed), ``assumptions``,
        ``other_parameters`` (the fixed values of the others), ``term``, ``estimate``,
        ``std_error``, ``lower``, ``upper`` (log odds ratio; a sampling interval at the
        fixed value), ``n``, ``marginal_or`` and ``marginal_rd`` (the level vs the
        reference among all answering departments), ``region_lower``, ``region_upper``
        (the identification region of that marginal odds ratio, published facts),
        ``inside_region``, ``identification`` (``"assumption (<parameter> = value)"``).
        No ``df``, ``fmi`` or between-replicate variance: nothing here is pooled.
    """
    _check_outcome(outcome, predictors)
    if predictor not in predictors:
        raise SchemaError([Problem(f"predictor must be one of {list(predictors)}", column="predictor",
                                   value=predictor)], what="association_curve")
    ors = load_odds_ratios(assumptions)
    name = str(ors["assumptions"].iloc[0]) if len(ors) else str(assumptions)
    keep = {r.parameter: r.odds_ratio for r in ors.itertuples()
            if {r.target, r.predictor} <= set(predictors) | {outcome}}
    par = f"{outcome}~{predictor}"
    row = ors[ors["parameter"] == par]
    if grid is None:
        lo, hi = (float(row["range_low"].iloc[0]), float(row["range_high"].iloc[0])) if len(row) else (0.25, 4.0)
        grid = assumption_grid(lo, hi)
    others = {k: v for k, v in keep.items() if k != par}
    b = bounds(predictor, outcome).query("scale == 'odds_ratio'")
    events, ev_label = OUTCOME_EVENTS[outcome]
    levels = list(SCORES[predictor])
    rows = []
    for val in grid:
        tab = expected_table(outcome, predictors, {**others, par: float(val)})
        fit = fit_expected(tab, predictors, level=level)
        for lv in levels[1:]:
            term = predictor if predictor == "teaching" else f"{predictor}[T.{lv}]"
            r = fit[fit["term"] == term].iloc[0]
            mc = _marginal_contrast(tab, predictor, lv, levels[0])
            contrast = f"{predictor}: {lv} vs {levels[0]}"
            reg = b[b["contrast"] == contrast]
            if outcome == "female_ir_share_class":  # the event is "not 0": the region of class 0, inverted
                reg = b[(b["contrast"] == contrast) & (b["event"] == "0")]
                rlo, rhi = (1 / reg["upper"].iloc[0] if reg["upper"].iloc[0] > 0 else math.inf,
                            1 / reg["lower"].iloc[0] if reg["lower"].iloc[0] > 0 else math.inf)
            else:
                rlo, rhi = float(reg["lower"].iloc[0]), float(reg["upper"].iloc[0])
            rows.append({
                "outcome": outcome, "event": ev_label, "parameter": par, "assumption_value": float(val),
                "assumptions": name, "other_parameters": "; ".join(f"{k}={v:g}" for k, v in sorted(others.items())),
                "term": term, "estimate": r["estimate"], "std_error": r["std_error"], "lower": r["lower"],
                "upper": r["upper"], "n": r["n"], "marginal_or": mc["odds_ratio"], "marginal_rd": mc["risk_difference"],
                "region_lower": rlo, "region_upper": rhi,
                "inside_region": bool(rlo - 1e-9 <= mc["odds_ratio"] <= rhi + 1e-9),
                "identification": f"assumption ({par} = {float(val):.3g})",
            })
    return pd.DataFrame(rows)


def coverage_curve(frame_shares: Mapping[str, float], frame_size: float, grid: Sequence[float] | None = None,
                   assumptions: str | os.PathLike = "informed", *, outcome: str = "cover_24_7",
                   threshold: float = 0.5, level: float = 0.95, margins: Mapping[str, Mapping[str, float]] | None = None,
                   structure: bool = True) -> pd.DataFrame:
    r"""Frame-wide prevalence (24/7 IR cover by default) as a function of the size odds ratio.

    Parameters
    ----------
    frame_shares : mapping
        Share of the invited departments in each bed class (a frame scenario's
        ``beds_class`` margin, normalised here).
    frame_size : float
        Number of invited departments.
    grid : sequence of float, optional
        Values of ``<outcome>~beds_class`` (default: the set's range).
    assumptions : str or path-like
        Values of the other parameters.
    outcome : {"cover_24_7", "female_ir_share_class"}
        The event of :data:`OUTCOME_EVENTS`; for the female IR share the estimate is over
        departments with IR staff (the three without IR did not answer it).
    threshold : float
        Prevalence of the tipping point (default 0.5).
    level : float
    margins, structure
        As in :func:`expected_table` (default: the published 2017 margins and the 2017
        departments without IR).

    Returns
    -------
    pandas.DataFrame
        One row per grid value: ``outcome``, ``parameter``, ``assumption_value``, ``assumptions``,
        ``estimate`` (frame-wide, predicted by bed class: MAR within bed class),
        ``std_error``, ``lower``, ``upper`` (logit interval; sampling only),
        ``respondent_share`` (identified, e.g. 60/97 for 24/7 cover; the same on every row),
        ``tipping_or`` (the odds ratio of cover between non-respondents and comparable
        respondents at which the frame-wide estimate reaches ``threshold``),
        ``tipping_or_upper`` (the same for the upper interval limit),
        ``identification``.

    Raises
    ------
    SchemaError
        A bed class without answering departments, or a frame scenario with fewer
        departments than answering respondents in a bed class (it contradicts the data).

    Notes
    -----
    :math:`\hat\theta(\psi) = (y + \sum_b (N_b - n_b)\,\hat p_b(\psi))/N`: the respondents' own
    answers plus, for the frame's other :math:`N_b - n_b` departments of bed class :math:`b`
    (:math:`N_b = W_b N`, :math:`W_b` the frame share), the share with the event among
    answering departments of that class in the expected table at :math:`\psi` (MAR within bed
    class). At a fixed :math:`\psi` the class prevalences share one free parameter
    :math:`\alpha` (the event's main effect), so
    :math:`\widehat V = (\sum_b \tfrac{N_b - n_b}{N} \tfrac{n^{IR}_b}{n_b} p^{IR}_b q^{IR}_b)^2 /
    \sum_b n^{IR}_b p^{IR}_b q^{IR}_b + \sum_b (N_b - n_b) p_b q_b / N^2` (delta method for
    :math:`\hat\alpha`, plus the Bernoulli variance of the predicted departments;
    :math:`n^{IR}_b`, :math:`p^{IR}_b` over departments with IR). A class-by-class
    post-stratification variance :math:`\sum_b W_b^2 p_b q_b / n_b` ignores that the classes
    share :math:`\alpha`; it was twice too wide in the 2017-shaped simulation study
    (irmodels.studies.identification_coverage). Tipping point by :func:`irmodels.nonresponse.sensitivity.delta_adjusted` (as
    :func:`irmodels.nonresponse.sensitivity.tipping_point` without a model): non-respondents' MAR prevalence :math:`\mu_0 = (N\hat\theta - y)/(N-n)` shifted by
    :math:`\delta` on the logit scale reaches ``threshold`` at
    :math:`\delta^* = \mathrm{logit}((tN - y)/(N-n)) - \mathrm{logit}\,\mu_0`; reported as
    :math:`e^{\delta^*}`.
    """
    from irmodels.nonresponse.sensitivity import delta_adjusted

    ors = load_odds_ratios(assumptions)
    name = str(ors["assumptions"].iloc[0]) if len(ors) else str(assumptions)
    _check_outcome(outcome, ("beds_class",))
    par = f"{outcome}~beds_class"
    keep = {r.parameter: r.odds_ratio for r in ors.itertuples()
            if {r.target, r.predictor} <= {outcome, "beds_class"}}
    row = ors[ors["parameter"] == par]
    if grid is None:
        lo, hi = (float(row["range_low"].iloc[0]), float(row["range_high"].iloc[0])) if len(row) else (0.25, 4.0)
        grid = assumption_grid(lo, hi)
    shares = pd.Series({b: float(frame_shares[b]) for b in SCORES["beds_class"]})
    W = shares / shares.sum()
    m = (_margins() if margins is None else margins)[outcome]
    events, ev_label = OUTCOME_EVENTS[outcome]
    y = float(sum(v for k, v in m.items() if k in events))
    n = float(sum(v for k, v in m.items() if k != NA))
    N = float(frame_size)
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for val in grid:
        tab = expected_table(outcome, ("beds_class",), {**{k: v for k, v in keep.items() if k != par}, par: val},
                             margins=margins, structure=structure)
        d = tab[tab["event"].notna()]
        nb = d.groupby("beds_class")["count"].sum().reindex(W.index)
        if nb.isna().any() or (nb <= 0).any():
            raise SchemaError([Problem("no answering department in this bed class: its frame share cannot be "
                                       "post-stratified (collapse bed classes first)", column="beds_class",
                                       value=list(nb.index[nb.isna() | (nb <= 0)]))], what="coverage_curve")
        pb = d[d["event"].astype(bool)].groupby("beds_class")["count"].sum().reindex(W.index, fill_value=0.0) / nb
        Nb = W * N
        if (Nb < nb - 1e-9).any():
            raise SchemaError([Problem("the frame scenario has fewer departments than answering respondents in this "
                                       "bed class: it contradicts the data", column="beds_class",
                                       value={b: (round(float(Nb[b]), 1), round(float(nb[b]), 1))
                                              for b in W.index if Nb[b] < nb[b] - 1e-9})], what="coverage_curve")
        # prediction estimator: the respondents' own answers plus, for the frame's other departments,
        # the prevalence of their bed class (MAR within bed class)
        est = float((y + ((Nb - nb) * pb).sum()) / N)
        # at a fixed odds ratio the bed-class prevalences share ONE free parameter alpha (the event's
        # main effect, fitted to the published count); its information is sum n_b p_b q_b over
        # departments with IR. Var = (d est / d alpha)^2 / I(alpha) + the Bernoulli variance of the
        # departments whose answers are predicted.
        ir = d[d["ir_service"].astype(bool)]
        nb_ir = ir.groupby("beds_class")["count"].sum().reindex(W.index, fill_value=0.0)
        pb_ir = (ir[ir["event"].astype(bool)].groupby("beds_class")["count"].sum().reindex(W.index, fill_value=0.0)
                 / nb_ir.where(nb_ir > 0))
        pq_ir = (pb_ir * (1 - pb_ir)).fillna(0.0)
        grad = float(((Nb - nb) / N * nb_ir / nb * pq_ir).sum())
        info = float((nb_ir * pq_ir).sum())
        var_model = grad**2 / info if info > 0 else 0.0
        var_pred = float(((Nb - nb) * pb * (1 - pb)).sum()) / N**2
        se = math.sqrt(var_model + var_pred)
        lg, sl = math.log(est / (1 - est)), se / (est * (1 - est))
        lo_, hi_ = 1 / (1 + math.exp(-(lg - z * sl))), 1 / (1 + math.exp(-(lg + z * sl)))
        tp = delta_adjusted(est, se, y, n, N, threshold=threshold, deltas=np.array([0.0]), level=level)
        tip = math.exp(tp.delta_star) if tp.delta_star is not None else math.nan
        tip_up = math.exp(tp.delta_star_upper) if tp.delta_star_upper is not None else math.nan
        rows.append({"outcome": outcome, "event": ev_label, "parameter": par, "assumption_value": float(val), "assumptions": name, "estimate": est,
                     "std_error": se, "lower": lo_, "upper": hi_, "respondent_share": y / n, "tipping_or": tip,
                     "tipping_or_upper": tip_up,
                     "threshold": threshold, "frame_size": N,
                     "identification": f"assumption ({par} = {float(val):.3g}; frame scenario; MAR within bed class)"})
    return pd.DataFrame(rows)
