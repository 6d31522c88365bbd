"""Prevalence weighted to frame scenarios, and pooled over reconstruction replicates.

:func:`frame_weighted_prevalence` weights the respondents to each frame scenario (or a
user frame) and estimates the prevalence next to the unweighted respondent share, each row
labelled with what it rests on; :func:`pool_prevalence` combines such rows over
reconstruction replicates with Rubin's rules on the logit scale (identified quantities
only). Both build on :func:`~irmodels.nonresponse.survey.weighted_prevalence`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from irmodels.core.errors import WeightingError
from irmodels.nonresponse.survey import weighted_prevalence

__all__ = ["frame_weighted_prevalence", "pool_prevalence"]


def frame_weighted_prevalence(
    data: pd.DataFrame,
    outcome: str,
    *,
    scenarios: tuple[str, ...] | list[str] | None = None,
    margin_vars: tuple[str, ...] = ("region", "beds_class"),
    method: str = "rake",
    positive: Any = None,
    by: str | None = None,
    interval: Literal["logit", "wilson", "wald"] = "logit",
    missing: Literal["raise", "exclude"] = "exclude",
    frame_total: float | None = None,
    weight_options: dict | None = None,
    unweighted_identification: str = "identified",
    frame: pd.DataFrame | None = None,
    on_contradiction: Literal["flag", "raise"] = "flag",
) -> pd.DataFrame:
    """Prevalence weighted to each frame scenario, next to the unweighted respondent share.

    Parameters
    ----------
    data : DataFrame
        Respondents (canonical schema: ``country``, ``beds_class`` ...). A ``region``
        column is derived from ``country`` (:data:`irmodels.nonresponse.frame_keys.REGIONS`) when a
        margin needs it and the data lack it.
    outcome, positive, by, interval, missing
        As in :func:`~irmodels.nonresponse.survey.weighted_prevalence`.
    scenarios : sequence of str, optional
        Frame scenarios (default: all of :data:`irmodels.nonresponse.scenarios.SCENARIOS`).
    margin_vars : tuple of str
        Frame margins to weight to (default region and beds class: with 1-15
        respondents per country, country margins are often infeasible).
    method : str
        Weighting method (:data:`irmodels.nonresponse.weighting.METHODS`) using ``margins=``.
    frame_total : float, optional
        Frame size: the number of units (departments) the wave invited. Required with named
        scenarios (they carry no frame size of the wave being analysed; 2017's is
        ``irmodels.data.waves.esr_cirse_2017.N_INVITED``). With a user ``frame``, default None
        uses its counts as given (their sum is the population size); a value that differs
        from their sum rescales them, and the rows say so (``frame_total_source``).
    weight_options : dict, optional
        Passed to :func:`irmodels.nonresponse.weighting.weight` (e.g. ``collapse``, ``trim``).
    unweighted_identification : str
        Label of the unweighted row (``identified`` for a published respondent
        percentage; ``assumption`` if it comes from reconstructed data).
    frame : DataFrame, optional
        A user frame (:func:`irmodels.nonresponse.frame_file.load_frame`): weighted as scenario
        ``"user"``, replacing ``scenarios``.
    on_contradiction : {"flag", "raise"}
        A frame cell with fewer units than respondents (the frame contradicts the data):
        ``flag`` lists it in ``frame_check`` (and a
        :class:`~irmodels.nonresponse.frame_check.FrameContradictionWarning`), ``raise`` refuses the frame
        (:class:`~irmodels.core.errors.FrameError`).

    Returns
    -------
    DataFrame
        The columns of :func:`~irmodels.nonresponse.survey.weighted_prevalence` plus ``scenario`` (``"unweighted"``
        for the respondent share), ``scenario_role`` (:func:`irmodels.nonresponse.scenarios.scenario_role`:
        the reference scenario ``respondents_table1`` is labelled "reference: respondents'
        own distribution; not an estimate" and is built from ``data``'s own country x beds
        class distribution), ``weighting``, ``deff_kish``, ``n_eff_kish``,
        ``identification`` (``assumption`` for every frame-weighted estimate: it
        depends on the frame scenario), ``frame_total`` (population size weighted to; NaN
        for the unweighted row), ``frame_total_source`` and ``frame_check`` (every frame
        cell with fewer units than respondents, ``""`` if none).

    Raises
    ------
    FrameError
        A respondent country absent from a frame (named: the country and its rows); with
        ``on_contradiction="raise"``, a frame that contradicts the respondents.
    WeightingError
        Named scenarios without ``frame_total``; what :func:`irmodels.nonresponse.weighting.weight` raises.
    """
    from irmodels.nonresponse.scenarios import SCENARIOS, scenario_role
    from irmodels.nonresponse.frame import _margins_from_cells, frame_cells
    from irmodels.nonresponse.frame_keys import region_of
    from irmodels.nonresponse.weighting import weight

    d = data.copy(deep=False)
    d.attrs = {}  # pandas deep-copies attrs on every operation (a reconstruction carries arrays there)
    if "region" in margin_vars and "region" not in d.columns:
        d = d.assign(region=region_of(d["country"].astype("string")))
    rows = []
    base = weighted_prevalence(d, outcome, np.ones(len(d)), positive=positive, by=by, method=interval, missing=missing)
    rows.append(base.assign(scenario="unweighted", weighting="none (respondents)", deff_kish=1.0, n_eff_kish=float(len(d)),
                            identification=unweighted_identification, frame_total=np.nan, frame_total_source="",
                            frame_check=""))
    names = ["user"] if frame is not None else (list(scenarios) if scenarios is not None else list(SCENARIOS))
    if frame is None and frame_total is None:
        raise WeightingError(
            "frame_weighted_prevalence: frame_total= is required with named frame scenarios: the number of units "
            f"(departments) your wave invited (scenarios {names}; the 2017 wave invited "
            "irmodels.data.waves.esr_cirse_2017.N_INVITED = 1180); or pass frame= a user frame whose counts give it")
    for s in names:
        cells = frame_cells(s, frame=frame, total=frame_total, respondents=d, on_contradiction=on_contradiction)
        margins = _margins_from_cells(cells, tuple(margin_vars))
        res = weight(d, method, margins=margins, **(weight_options or {}))
        est = weighted_prevalence(d, outcome, res, positive=positive, by=by, method=interval, missing=missing)
        summ = res.diagnostics["summary"]
        rows.append(est.assign(scenario=s, weighting=f"{method} to {' + '.join(margin_vars)}", deff_kish=summ["deff_kish"],
                               n_eff_kish=summ["n_eff"], identification="assumption", frame_total=cells.attrs["total"],
                               frame_total_source=cells.attrs["total_source"],
                               frame_check="; ".join(cells.attrs["contradictions"])))
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "scenario_role", out["scenario"].map(scenario_role))
    first = ["scenario", "scenario_role", "term"] + (["by"] if by is not None else []) + ["group"]
    return out[first + [c for c in out.columns if c not in first]]


def pool_prevalence(
    tidy: pd.DataFrame,
    *,
    by: tuple[str, ...] = ("scenario", "term", "group"),
    level: float = 0.95,
    n_col: str = "n_eff",
    dfcom: float | str | None = "auto",
) -> pd.DataFrame:
    """Pool prevalences over reconstruction replicates (Rubin's rules on the logit scale).

    Parameters
    ----------
    tidy : DataFrame
        Stacked per-replicate results with ``replicate``, ``estimate``, ``std_error``
        (e.g. :func:`irmodels.core.pooling.run_over_ensemble` of :func:`frame_weighted_prevalence`).
    by : tuple of str
        Columns identifying one estimand.
    level : float
    n_col : str
        Column with each replicate's effective sample size :math:`n^*` of the
        estimand (``n_eff`` of :func:`~irmodels.nonresponse.survey.weighted_prevalence`; ``n`` works too). Only
        read for estimands with a replicate estimate of exactly 0 or 1; a missing
        column then raises.
    dfcom : float, str or None
        Complete-data degrees of freedom for the Barnard-Rubin df
        (:func:`irmodels.core.pooling.pool`). ``"auto"`` (default): ``n - 1`` with ``n`` the
        answers the estimate uses (column ``n`` of
        :func:`~irmodels.nonresponse.survey.weighted_prevalence`; the
        smallest over the replicates of an estimand), infinite when ``tidy`` has no
        ``n`` column; a number; or None (infinite, Rubin 1987).

    Returns
    -------
    DataFrame
        The output of :func:`irmodels.core.pooling.pool`, back-transformed: ``estimate``,
        ``lower``, ``upper`` on the probability scale, ``std_error`` by the delta
        method, ``pooling_scale`` (``logit``, or ``logit, continuity-corrected``),
        ``small_n_adjusted`` (True where the continuity correction was used), ``dfcom``
        (the complete-data df used); other numeric columns that vary by replicate
        (``deff_kish``, ``n_eff_kish``, ...) are averaged over replicates.

    Raises
    ------
    WeightingError
        An estimand needs the continuity correction and ``n_col`` is missing or not positive.

    Notes
    -----
    Proportions are pooled on the logit scale (van Buuren 2018, sec. 5.2): per
    replicate :math:`q = \\mathrm{logit}\\,\\hat p`, :math:`u = (se/(\\hat p(1-\\hat p)))^2`;
    Rubin's rules; interval :math:`\\mathrm{expit}(\\bar q \\pm t_{df}\\sqrt T)`.

    Small n: when some replicate of an estimand has :math:`\\hat p = 0` or 1 (the
    logit is infinite, the linearisation SE is 0), *every* replicate of that
    estimand is continuity-corrected with its effective sample size :math:`n^*`
    and :math:`y^* = \\hat p\\,n^*`: :math:`\\tilde p = (y^* + 0.5)/(n^* + 1)`,
    :math:`q = \\mathrm{logit}\\,\\tilde p`; :math:`u = (se/(\\tilde p(1-\\tilde p)))^2` for
    a replicate with :math:`0<\\hat p<1`, and the binomial logit variance of the
    corrected counts :math:`u = 1/(y^*+0.5) + 1/(n^*-y^*+0.5)` (Gart & Zweifel 1967)
    for one at 0 or 1. The pooled estimate is then shrunk towards 1/2 by the
    correction (flagged in ``small_n_adjusted``); the interval stays inside (0, 1) and
    does not collapse to a point for a domain whose answers are all 0 or all 1.

    Examples
    --------
    >>> t = pd.DataFrame({"replicate": [0, 1], "term": "y", "group": "g", "scenario": "s",
    ...                   "estimate": [0.0, 0.25], "std_error": [0.0, 0.2], "n_eff": [4.0, 4.0]})
    >>> r = pool_prevalence(t).iloc[0]
    >>> bool(r["small_n_adjusted"]), bool(0 < r["lower"] < r["upper"] < 1)
    (True, True)
    """
    from irmodels.core.pooling import pool

    by = list(by)
    parts = []
    for _, g in tidy.groupby(by, sort=False, dropna=False):
        p = g["estimate"].to_numpy(dtype=float)
        se = g["std_error"].to_numpy(dtype=float)
        if np.all((p > 0) & (p < 1)):
            q, s = np.log(p / (1 - p)), se / (p * (1 - p))
            scale, adjusted = "logit", False
        else:
            if n_col not in g.columns:
                raise WeightingError(f"pool_prevalence: a replicate estimate of 0 or 1 in {dict(zip(by, g[by].iloc[0]))} needs the effective sample size column {n_col!r} for the continuity correction")
            ns = g[n_col].to_numpy(dtype=float)
            if not np.all(np.isfinite(ns) & (ns > 0)):
                raise WeightingError(f"pool_prevalence: column {n_col!r} must be finite and > 0 for the continuity correction; got {ns.tolist()[:10]}")
            ys = p * ns
            pt = (ys + 0.5) / (ns + 1)
            q = np.log(pt / (1 - pt))
            interior = (p > 0) & (p < 1)
            s = np.where(interior, se / (pt * (1 - pt)), np.sqrt(1 / (ys + 0.5) + 1 / (ns - ys + 0.5)))
            scale, adjusted = "logit, continuity-corrected (y*+0.5)/(n*+1)", True
        dfc: float | None
        if isinstance(dfcom, str) and dfcom == "auto":
            # domain estimation: the estimate rests on its n answers, so n - 1 (smallest n: conservative)
            dfc = float(pd.to_numeric(g["n"], errors="coerce").min()) - 1 if "n" in g.columns else None
            if dfc is not None and not dfc > 0:
                raise WeightingError(f"pool_prevalence: column 'n' must be >= 2 for dfcom = n - 1 in "
                                     f"{dict(zip(by, g[by].iloc[0]))}; got {g['n'].tolist()[:10]} (pass dfcom=)")
        elif isinstance(dfcom, str):
            raise WeightingError(f"pool_prevalence: dfcom={dfcom!r}; valid: 'auto', a number, or None (infinite)")
        else:
            dfc = None if dfcom is None else float(dfcom)
        r = pool(g.assign(estimate=q, std_error=s), by=by, ci_prob=level, dfcom=dfc)
        pe = 1 / (1 + np.exp(-r["estimate"].to_numpy()))
        r["estimate"] = pe
        r["std_error"] = r["std_error"] * pe * (1 - pe)
        r["lower"] = 1 / (1 + np.exp(-r["lower"]))
        r["upper"] = 1 / (1 + np.exp(-r["upper"]))
        r["pooling_scale"] = scale
        r["small_n_adjusted"] = adjusted
        # other numeric per-replicate columns (e.g. deff_kish, n_eff_kish): replicate means
        for c in g.columns:
            if c not in r.columns and c not in by and c != "replicate" and pd.api.types.is_numeric_dtype(g[c]) and not pd.api.types.is_bool_dtype(g[c]):
                r[c] = float(g[c].mean())
        parts.append(r)
    return pd.concat(parts, ignore_index=True)
