r"""Frequentist coverage of the package's intervals at 2017's n and at n = 500 (issue 10).

Each task simulates one data set from a known truth, computes the package's 95% intervals and
records, per quantity, whether the interval covers the truth. Run through
:func:`irmodels.studies.runner.run_study` (``validation/run_studies.py``); summarised by
:func:`summarise_coverage` with the Monte Carlo SE of the coverage.

Methods (``method`` of :func:`coverage_task`)
--------------------------------------------
``firth``
    Firth logistic regression (:func:`irmodels.fit`, ``engine="statsmodels"``, ``firth=True``;
    profile penalised-likelihood intervals, the default) of ``cover_24_7 ~ beds_class + teaching
    + chair_profile``; quantities: every coefficient.
``ordinal``
    Cumulative-logit ML (:func:`irmodels.fit`, ``family="ordinal"``, statsmodels ``OrderedModel``;
    Wald intervals) of ``female_ir_share_class`` in 3 classes (``0``, ``1-25``, ``>25``) on the
    same predictors; quantities: every coefficient and both thresholds.
``survey``
    Respondents weighted by raking to the frame's bed-class totals
    (:func:`irmodels.nonresponse.weighting.weight` ``"rake"``; ``"radiologists"`` frame scenario of
    :func:`irmodels.nonresponse.frame.frame_margins`): the weighted logistic regression with design SEs
    (:func:`irmodels.nonresponse.svyglm.svyglm_logit`, sandwich with the calibration-aware linearisation)
    of every coefficient, and the raked prevalence of 24/7 cover
    (:func:`irmodels.nonresponse.survey.weighted_prevalence`, logit interval) with the linearisation
    variance and with the rescaled-bootstrap variance that re-rakes every replicate
    (:func:`irmodels.nonresponse.bootstrap.bootstrap_weights`, resampling within bed classes).

Design
------
* **Truth** of the outcome models: the generating values of the package's simulated wave
  (:data:`irmodels.studies.simulate.DEFAULT_PARAMS`): the ``cover_24_7`` block (intercept and
  coefficients) for ``firth`` and ``survey``; the ``female_ir`` coefficients for ``ordinal``,
  whose thresholds are set so that the classes have the 2017 published shares (25 / 47 / 18
  of 90) at the mean linear predictor. They are read by :func:`default_settings` and passed
  to the tasks as parameters (so they are recorded in each study's manifest).
* **Predictors** (``firth``, ``ordinal``): fixed-margins designs like 2017: each predictor takes
  the 2017 published shares (bed class 4/15/28/51 of 98, teaching 93/98, chair profile
  26/31/26/15), allocated to ``n`` rows by largest remainders (at n = 98 exactly the published
  counts) and assigned by independent random permutations. Coverage is then conditional on a
  2017-like design, as regression inference is.
* **Respondents** (``survey``): drawn independently from the respondents' distribution (the
  same 2017 shares, predictors independent), i.e. a population whose bed classes have the
  frame's shares and whose response depends on bed class only (missing at random given bed
  class), so that the raked estimators are consistent. The targets are the superpopulation
  quantities: the logistic coefficients (the model is correctly specified, so these are the
  census coefficients too) and the population prevalence
  :math:`\sum_b \pi_b \, \mathrm{E}[\mathrm{expit}(\eta) \mid b]` with the frame's bed-class
  shares :math:`\pi_b`.

A task returns one row per (method, quantity). A quantity whose interval cannot be computed in a
simulation (e.g. a bootstrap with too many failed replicates, a fit that raises) is kept with
``ok`` False and the error, and counted in ``n_failed`` by :func:`summarise_coverage`; it is
never dropped silently and never counted as covered.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import special, stats

from irmodels.core.errors import IrmodelsError

__all__ = ["METHODS", "default_settings", "allocate", "population_prevalence", "coverage_task", "summarise_coverage"]

#: Methods of :func:`coverage_task` and the interval each row reports.
METHODS: dict[str, str] = {
    "firth": "Firth logistic, profile penalised-likelihood 95% CI",
    "ordinal": "cumulative logit ML, Wald 95% CI",
    "svyglm": "weighted logistic (raking weights), design-based (linearisation) 95% CI",
    "prevalence_linearization": "raked prevalence, logit CI with linearisation variance",
    "prevalence_bootstrap": "raked prevalence, logit CI with rescaled-bootstrap variance (re-raked replicates)",
}

_PREDICTORS = ("beds_class", "teaching", "chair_profile")
_FORMULA = "cover_24_7 ~ beds_class + teaching + chair_profile"
LEVEL = 0.95


def _shares_2017() -> dict[str, dict[str, float]]:
    from irmodels.studies.sbc_simulate import _margins_2017

    mg = _margins_2017()
    out = {}
    for var in _PREDICTORS:
        lv, cn = mg[var]
        tot = float(sum(cn))
        out[var] = {k: c / tot for k, c in zip(lv, cn)}
    return out


def _coef_truth(block: Mapping[str, Any], intercept: bool) -> dict[str, float]:
    """Truth in irmodels' term names from a :data:`irmodels.studies.simulate.DEFAULT_PARAMS` block."""
    from irmodels.data.codebook import categories

    coef = block["coef"]
    out: dict[str, float] = {"Intercept": float(block["intercept"])} if intercept else {}
    for var in ("beds_class", "teaching", "chair_profile"):
        if var == "teaching":
            out["teaching"] = float(coef.get("teaching[True]", 0.0))
            continue
        for lev in categories(var)[1:]:
            out[f"{var}[T.{lev}]"] = float(coef.get(f"{var}[{lev}]", 0.0))
    return out


def default_settings() -> dict[str, dict[str, Any]]:
    """The study settings: ``{name: params of coverage_task}`` (method x n = 98, 500).

    Truths and shares are read from the package (:data:`irmodels.studies.simulate.DEFAULT_PARAMS`, the
    2017 published margins, the frame's bed-class totals), never typed here.
    """
    from irmodels.nonresponse.frame import frame_margins
    from irmodels.studies.simulate import DEFAULT_PARAMS
    from irmodels.studies.sbc_simulate import _margins_2017, _share_levels

    shares = _shares_2017()
    cover = _coef_truth(DEFAULT_PARAMS["cover_24_7"], intercept=True)
    ordinal = _coef_truth(DEFAULT_PARAMS["female_ir"], intercept=False)
    # thresholds: the 2017 published class shares at the mean linear predictor of the 2017 design
    levels, merge = _share_levels()
    from irmodels.data.waves.esr_cirse_2017 import published_margins

    m = published_margins()
    fi = m[m["variable"] == "female_ir_share_class"]
    counts = dict(zip(fi["category"].astype(str), fi["count"].astype(int)))
    # the published residual class may already carry the merged label (">25")
    cls = [counts[lv] if lv in counts else sum(counts.get(o, 0) for o in merge.get(lv, [lv])) for lv in levels]
    if min(cls) <= 0:
        raise IrmodelsError(f"2017 female_ir_share_class counts {dict(zip(levels, cls))}: every class needs a count")
    cum = np.cumsum(cls)[:-1] / float(sum(cls))
    n98 = sum(_margins_2017()["beds_class"][1])
    mean_eta = _mean_eta(ordinal, shares)
    thresholds = {f"threshold[{levels[j]}|{levels[j + 1]}]": float(special.logit(cum[j]) + mean_eta)
                  for j in range(len(cum))}
    totals = frame_margins("radiologists", variables=("beds_class",))["beds_class"]
    out: dict[str, dict[str, Any]] = {}
    for n in (n98, 500):
        out[f"firth_n{n}"] = {"method": "firth", "n": int(n), "truth": cover, "shares": shares}
        out[f"ordinal_n{n}"] = {"method": "ordinal", "n": int(n), "truth": {**ordinal, **thresholds},
                                "shares": shares}
        ft = {k: float(v) for k, v in totals.items()}
        out[f"survey_n{n}"] = {"method": "survey", "n": int(n), "truth": cover, "shares": shares, "frame_totals": ft,
                               "prevalence": population_prevalence(cover, shares, ft), "n_boot": 200}
    return out


def _mean_eta(truth: Mapping[str, float], shares: Mapping[str, Mapping[str, float]]) -> float:
    eta = truth.get("Intercept", 0.0) + truth.get("teaching", 0.0) * shares["teaching"]["true"]
    for var in ("beds_class", "chair_profile"):
        for lev, s in shares[var].items():
            eta += truth.get(f"{var}[T.{lev}]", 0.0) * s
    return float(eta)


def allocate(n: int, shares: Mapping[str, float]) -> dict[str, int]:
    """Largest-remainder allocation of ``n`` rows to categories with ``shares`` (sums to ``n``)."""
    keys = list(shares)
    p = np.array([shares[k] for k in keys], dtype=float)
    raw = n * p / p.sum()
    base = np.floor(raw).astype(int)
    rest = n - base.sum()
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:rest]] += 1
    return dict(zip(keys, base.tolist()))


def _predictors(rng: np.random.Generator, n: int, shares: Mapping[str, Mapping[str, float]], *,
                fixed: bool) -> pd.DataFrame:
    out: dict[str, Any] = {}
    for var in _PREDICTORS:
        lv = list(shares[var])
        if fixed:
            cnt = allocate(n, shares[var])
            codes = rng.permutation(np.repeat(np.arange(len(lv)), [cnt[k] for k in lv]))
        else:
            p = np.array([shares[var][k] for k in lv], dtype=float)
            codes = rng.choice(len(lv), size=n, p=p / p.sum())
        if var == "teaching":
            out[var] = np.asarray(lv, dtype=object)[codes] == "true"
        else:
            out[var] = pd.Categorical.from_codes(codes, categories=lv, ordered=True)
    return pd.DataFrame(out)


def _eta(d: pd.DataFrame, truth: Mapping[str, float]) -> np.ndarray:
    eta = np.full(len(d), truth.get("Intercept", 0.0))
    eta = eta + truth.get("teaching", 0.0) * d["teaching"].to_numpy(dtype=float)
    for var in ("beds_class", "chair_profile"):
        lab = d[var].astype(str).to_numpy()
        for lev in d[var].cat.categories[1:]:
            eta = eta + truth.get(f"{var}[T.{lev}]", 0.0) * (lab == lev)
    return eta


def population_prevalence(truth: Mapping[str, float], shares: Mapping[str, Mapping[str, float]],
                          frame_totals: Mapping[str, float]) -> float:
    """Superpopulation prevalence: the frame's bed-class shares, the respondents' teaching and chair mix.

    :math:`\\sum_{b,t,c} \\pi_b\\, s_t\\, s_c\\, \\mathrm{expit}(\\eta_{btc})` (predictors independent
    within bed class, as :func:`coverage_task` simulates them).
    """
    tot = float(sum(frame_totals.values()))
    beds, teach, chair = (list(shares[v]) for v in _PREDICTORS)
    cells = pd.MultiIndex.from_product([list(frame_totals), teach, chair]).to_frame(index=False,
                                                                                   name=list(_PREDICTORS))
    d = pd.DataFrame({"beds_class": pd.Categorical(cells["beds_class"], categories=beds),
                      "teaching": cells["teaching"].to_numpy() == "true",
                      "chair_profile": pd.Categorical(cells["chair_profile"], categories=chair)})
    w = (cells["beds_class"].map(lambda b: frame_totals[b] / tot).to_numpy(dtype=float)
         * cells["teaching"].map(shares["teaching"]).to_numpy(dtype=float)
         * cells["chair_profile"].map(shares["chair_profile"]).to_numpy(dtype=float))
    return float(np.sum(w * special.expit(_eta(d, truth))))


def _row(method: str, n: int, quantity: str, true: float, est: float, lo: float, hi: float,
         error: str = "") -> dict[str, Any]:
    ok = not error and np.isfinite(lo) and np.isfinite(hi)
    return {"method": method, "n": int(n), "quantity": quantity, "truth": float(true), "estimate": float(est),
            "lower": float(lo), "upper": float(hi), "ok": bool(ok),
            "covers": bool(ok and lo <= true <= hi), "error": error or ("" if ok else "non-finite interval")}


def _failed(method: str, n: int, quantities, truth: Mapping[str, float], exc: BaseException) -> list[dict[str, Any]]:
    msg = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
    return [_row(method, n, q, truth[q], np.nan, np.nan, np.nan, error=msg) for q in quantities]


def coverage_task(task_id: int, rng: np.random.Generator, *, method: str, n: int, truth: Mapping[str, float],
                  shares: Mapping[str, Mapping[str, float]], frame_totals: Mapping[str, float] | None = None,
                  prevalence: float | None = None, n_boot: int = 200) -> list[dict[str, Any]]:
    """One coverage simulation (a task of :func:`irmodels.studies.runner.run_study`).

    Parameters
    ----------
    task_id : int
    rng : numpy.random.Generator
    method : {"firth", "ordinal", "survey"}
    n : int
        Departments (respondents) per data set.
    truth : dict
        True coefficients (and ordinal thresholds) in irmodels' term names.
    shares : dict
        Category shares of ``beds_class``, ``teaching`` (``"true"``/``"false"``), ``chair_profile``.
    frame_totals : dict, optional
        ``survey``: population totals of the bed classes (raking margin).
    prevalence : float, optional
        ``survey``: the true population prevalence (default :func:`population_prevalence`).
    n_boot : int
        ``survey``: bootstrap replicates.

    Returns
    -------
    list of dict
        One row per method x quantity: ``method`` (a key of :data:`METHODS`), ``n``,
        ``quantity``, ``truth``, ``estimate``, ``lower``, ``upper``, ``ok`` (interval
        computed), ``covers``, ``error`` (why not ok, else empty).
    """
    from irmodels.models.fit import fit

    if method == "firth":
        d = _predictors(rng, n, shares, fixed=True)
        d["cover_24_7"] = rng.random(n) < special.expit(_eta(d, truth))
        try:
            with warnings.catch_warnings():
                # separation is what Firth is for: its warning is expected here, the interval is the result
                from irmodels.core.errors import SeparationWarning

                warnings.simplefilter("ignore", SeparationWarning)
                tid = fit(_FORMULA, d, family="bernoulli", engine="statsmodels", firth=True).tidy(LEVEL)
        except Exception as exc:  # noqa: BLE001 - recorded per quantity, counted as failed
            return _failed("firth", n, truth, truth, exc)
        t = tid.set_index("term")
        return [_row("firth", n, q, v, t.at[q, "estimate"], t.at[q, "lower"], t.at[q, "upper"]) for q, v in truth.items()]
    if method == "ordinal":
        from irmodels.studies.sbc_simulate import _share_levels

        levels, _ = _share_levels()
        d = _predictors(rng, n, shares, fixed=True)
        cut = np.array([v for k, v in truth.items() if k.startswith("threshold[")])
        eta = _eta(d, {k: v for k, v in truth.items() if not k.startswith("threshold[")})
        y = (cut[None, :] < (eta + rng.logistic(size=n))[:, None]).sum(axis=1)
        d["female_ir_share_class"] = pd.Categorical.from_codes(y, categories=levels, ordered=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # overflow in exp for separated cells
                tid = fit("female_ir_share_class ~ beds_class + teaching + chair_profile", d,
                                   family="ordinal", engine="statsmodels").tidy(LEVEL)
        except Exception as exc:  # noqa: BLE001
            return _failed("ordinal", n, truth, truth, exc)
        t = tid.set_index("term")
        return [_row("ordinal", n, q, v, t.at[q, "estimate"], t.at[q, "lower"], t.at[q, "upper"])
                for q, v in truth.items()]
    if method == "survey":
        if not frame_totals:
            raise IrmodelsError("method='survey' needs frame_totals (the bed-class totals to rake to)")
        prev = population_prevalence(truth, shares, frame_totals) if prevalence is None else float(prevalence)
        return _survey_rows(rng, n, truth, shares, frame_totals, prev, n_boot)
    raise IrmodelsError(f"method={method!r}: valid methods are 'firth', 'ordinal', 'survey'")


def _survey_rows(rng, n, truth, shares, frame_totals, prev, n_boot) -> list[dict[str, Any]]:
    from irmodels.core.errors import SeparationWarning
    from irmodels.nonresponse.bootstrap import bootstrap_weights
    from irmodels.nonresponse.survey import weighted_prevalence
    from irmodels.nonresponse.svyglm import svyglm_logit
    from irmodels.nonresponse.raking import rake
    from irmodels.nonresponse.weighting import weight

    d = _predictors(rng, n, shares, fixed=False)
    d["cover_24_7"] = rng.random(n) < special.expit(_eta(d, truth))
    margins = {"beds_class": dict(frame_totals)}
    rows: list[dict[str, Any]] = []
    try:
        w = weight(d, "rake", margins=margins)
    except Exception as exc:  # noqa: BLE001 - e.g. a bed class without respondents
        return (_failed("svyglm", n, truth, truth, exc)
                + _failed("prevalence_linearization", n, ["prevalence"], {"prevalence": prev}, exc)
                + _failed("prevalence_bootstrap", n, ["prevalence"], {"prevalence": prev}, exc))
    names = {"teaching[T.True]": "teaching"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SeparationWarning)
            s = svyglm_logit(_FORMULA, d, w, level=LEVEL)
        s = s.assign(term=s["term"].replace(names)).set_index("term")
        rows += [_row("svyglm", n, q, v, s.at[q, "estimate"], s.at[q, "lower"], s.at[q, "upper"])
                 for q, v in truth.items()]
    except Exception as exc:  # noqa: BLE001
        rows += _failed("svyglm", n, truth, truth, exc)
    try:
        p = weighted_prevalence(d, "cover_24_7", w, method="logit", level=LEVEL).iloc[0]
        rows.append(_row("prevalence_linearization", n, "prevalence", prev, p["estimate"], p["lower"], p["upper"]))
    except Exception as exc:  # noqa: BLE001
        rows += _failed("prevalence_linearization", n, ["prevalence"], {"prevalence": prev}, exc)
    try:
        with warnings.catch_warnings():
            from irmodels.core.errors import BootstrapFailureWarning

            warnings.simplefilter("ignore", BootstrapFailureWarning)  # counted in the replicate weights' attrs
            # replicates re-rake with the same raking (rake(): weight(..., "rake") without its diagnostics)
            reps = bootstrap_weights(d, lambda dd, b: rake(dd, margins, b), n_boot, rng, strata="beds_class")
        p = weighted_prevalence(d, "cover_24_7", w, method="logit", variance="bootstrap", replicate_weights=reps,
                                level=LEVEL).iloc[0]
        rows.append(_row("prevalence_bootstrap", n, "prevalence", prev, p["estimate"], p["lower"], p["upper"]))
    except Exception as exc:  # noqa: BLE001 - e.g. a bed class with one respondent cannot be resampled
        rows += _failed("prevalence_bootstrap", n, ["prevalence"], {"prevalence": prev}, exc)
    return rows


def summarise_coverage(results: pd.DataFrame, failures: pd.DataFrame | None = None, *,
                       n_tasks: int | None = None, level: float = LEVEL) -> pd.DataFrame:
    """Coverage per method x n x quantity, with its Monte Carlo error.

    Returns
    -------
    DataFrame
        ``method``, ``n``, ``quantity``, ``n_sims`` (tasks run: with rows, or failed),
        ``n_failed`` (tasks without an interval for the quantity: the row's ``ok`` False, or the
        task raised), ``n_used``, ``covered``, ``coverage`` (covered / n_used), ``mc_se``
        (``sqrt(level (1 - level) / n_used)``, the MC SE of a coverage at the nominal level),
        ``within_mc_error`` (``|coverage - level| <= 2 mc_se``), ``cp_lower``, ``cp_upper``
        (Clopper-Pearson 95% interval of the coverage), ``nominal``, ``median_width``,
        ``interval``, and what explains a coverage off its nominal level, on the scale of the
        Wald interval (``scale``: log-odds; the logit of the prevalence): ``median_bias``
        (median estimate minus truth), ``empirical_sd`` (SD of the estimates over the
        simulations), ``robust_sd`` (1.4826 x their median absolute deviation: quasi-separated
        samples give log-odds estimates of +-20 that dominate the SD), ``median_se`` (the
        interval's half-width over ``z_0.975``) and ``se_ratio`` (``median_se / robust_sd``: 1
        when the SEs match the estimates' spread). NaN for the Firth profile intervals, which
        are not estimate +- z SE.
    """
    n_task_fail = int(failures["task_id"].nunique()) if failures is not None and len(failures) else 0
    zq = float(stats.norm.ppf(0.5 + level / 2))
    rows = []
    for (method, n, q), g in results.groupby(["method", "n", "quantity"], sort=False):
        ok = g[g["ok"].astype(bool)]
        k, m = int(ok["covers"].sum()), len(ok)
        cov = k / m if m else np.nan
        se = float(np.sqrt(level * (1 - level) / m)) if m else np.nan
        lo = stats.beta.ppf(0.025, k, m - k + 1) if k > 0 else 0.0
        hi = stats.beta.ppf(0.975, k + 1, m - k) if k < m else 1.0
        rows.append({"method": method, "n": int(n), "quantity": q, "n_sims": int(g["task_id"].nunique()) + n_task_fail,
                     "n_failed": int((~g["ok"].astype(bool)).sum()) + n_task_fail, "n_used": m, "covered": k,
                     "coverage": cov, "mc_se": se,
                     "within_mc_error": bool(m and abs(cov - level) <= 2 * se),
                     "cp_lower": float(lo) if m else np.nan, "cp_upper": float(hi) if m else np.nan,
                     "nominal": level, "median_width": float((ok["upper"] - ok["lower"]).median()) if m else np.nan,
                     "interval": METHODS[method], **_spread(method, ok, zq)})
    return pd.DataFrame(rows)


def _spread(method: str, ok: pd.DataFrame, zq: float) -> dict[str, Any]:
    """Bias, spread of the estimates and the SEs implied by the Wald intervals (see summarise_coverage)."""
    nan = {"scale": "", "median_bias": np.nan, "empirical_sd": np.nan, "robust_sd": np.nan, "median_se": np.nan,
           "se_ratio": np.nan}
    if method == "firth" or len(ok) < 2:
        return nan
    to = special.logit if method.startswith("prevalence") else (lambda x: np.asarray(x, dtype=float))
    est, lo, hi = (to(ok[c].to_numpy(dtype=float)) for c in ("estimate", "lower", "upper"))
    truth = to(ok["truth"].to_numpy(dtype=float))
    se = (hi - lo) / (2 * zq)
    rsd = float(stats.median_abs_deviation(est, scale="normal"))
    return {"scale": "logit of prevalence" if method.startswith("prevalence") else "log-odds",
            "median_bias": float(np.median(est - truth)), "empirical_sd": float(np.std(est, ddof=1)),
            "robust_sd": rsd, "median_se": float(np.median(se)),
            "se_ratio": float(np.median(se) / rsd) if rsd > 0 else np.nan}
