"""Design-based estimation with survey weights: prevalence and logistic regression.

The design assumed throughout is the one of a survey of department heads: one
stage, units drawn with replacement, no strata, no finite-population correction
(R: ``svydesign(ids = ~1, weights = ~w)``). Weights may come from any method of
:mod:`irmodels.nonresponse.weighting`; when they do (a :class:`~irmodels.nonresponse.weighting.WeightingResult`
is passed), the linearisation variance accounts for the calibration exactly as R's
``survey`` package does:

==================  ==============================================================
weights             linearisation variance of an estimator with influence ``z``
==================  ==============================================================
fixed weights       :math:`\\frac{n}{n-1}\\sum_i (z_i-\\bar z)(z_i-\\bar z)'`
raked (``rake``)    same, after 10 sweeps of
                    :math:`z \\leftarrow z - w\\,\\mathrm{ave}_{margin}(z/w)` per margin
                    (``survey:::svyrecvar`` for ``rake()`` designs)
GREG / logit        :math:`z` replaced by calibration residuals
(``linear``,        :math:`r\\,w/\\sqrt d` with :math:`r` the residual of the least
``logit``)          squares fit of :math:`z\\sqrt d / w` on :math:`X\\sqrt d`
                    (``calibrate()`` designs)
cell (``cell``)     post-stratification residuals (``postStratify()`` designs)
propensity          treated as fixed weights (use the replicate bootstrap)
==================  ==============================================================

The alternative is a replicate bootstrap that re-runs the *whole* weighting in
every replicate (:func:`bootstrap_weights`).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd
from scipy import stats

from irmodels.core.errors import (
    BootstrapFailureError,
    BootstrapFailureWarning,
    DataDroppedWarning,
    IrmodelsError,
    SeparationWarning,
    WeightingError,
)
from irmodels.nonresponse.weighting import WeightingResult, _check_weights, effective_n

__all__ = [
    "linearized_variance",
    "weighted_prevalence",
    "proportion_ci",
    "bootstrap_weights",
    "svyglm_logit",
    "frame_weighted_prevalence",
    "pool_prevalence",
]


def _resolve_weights(weights: Any, data: pd.DataFrame) -> tuple[np.ndarray, dict | None]:
    if isinstance(weights, WeightingResult):
        w, cal = weights.weights, weights.calibration
    elif isinstance(weights, str):
        if weights not in data.columns:
            raise WeightingError(f"weights column {weights!r} not in the data")
        w, cal = data[weights], None
    else:
        w, cal = weights, None
    return _check_weights(w, data.index, "weights"), cal


def linearized_variance(influence: np.ndarray, weights: np.ndarray | None = None, calibration: dict | None = None) -> np.ndarray:
    """Variance matrix of a total/mean/coefficient from its influence values.

    Parameters
    ----------
    influence : array (n,) or (n, p)
        Influence (estimating-function) values :math:`z_i`, e.g.
        :math:`w_i (y_i - \\hat\\mu)/\\sum w` for a weighted mean.
    weights : array (n,), optional
        The final weights (needed when ``calibration`` is given).
    calibration : dict, optional
        ``WeightingResult.calibration``; None treats the weights as fixed.

    Returns
    -------
    ndarray (p, p)
        :math:`\\frac{n}{n-1}\\sum_i (r_i-\\bar r)(r_i-\\bar r)'` with :math:`r` the
        calibration residuals of :math:`z` (see the module docstring). This is R's
        ``svyrecvar`` for a one-stage with-replacement design.
    """
    z = np.asarray(influence, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    z = z.copy()
    n = z.shape[0]
    if calibration is not None:
        w = np.asarray(weights, dtype=float)
        kind = calibration["kind"]
        safe = np.where(w > 0, w, 1.0)
        if kind == "raking":
            # survey:::svyrecvar: a fixed 10 sweeps of margin-wise residualisation
            for _ in range(10):
                for codes in calibration["codes"]:
                    k = int(codes.max()) + 1
                    cnt = np.bincount(codes, minlength=k).astype(float)
                    for j in range(z.shape[1]):
                        m = np.bincount(codes, weights=z[:, j] / safe, minlength=k) / np.where(cnt > 0, cnt, 1)
                        z[:, j] -= w * m[codes]
        elif kind == "greg":
            d = calibration["base"]
            sd = np.sqrt(d)
            scale = np.where(sd > 0, w / np.where(sd > 0, sd, 1), 0.0)
            Z = calibration["X"] * sd[:, None]
            target = np.divide(z, scale[:, None], out=np.zeros_like(z), where=scale[:, None] > 0)
            beta, *_ = np.linalg.lstsq(Z, target, rcond=None)
            z = (target - Z @ beta) * scale[:, None]
        elif kind == "poststrat":
            codes = calibration["codes"]
            old = calibration["base"]
            k = int(codes.max()) + 1
            den = np.bincount(codes, weights=old, minlength=k)
            for j in range(z.shape[1]):
                m = np.bincount(codes, weights=z[:, j] * old / safe, minlength=k) / den
                z[:, j] -= m[codes] * w
        else:
            raise WeightingError(f"unknown calibration kind {kind!r}")
    zc = z - z.mean(axis=0)
    return (n / (n - 1)) * zc.T @ zc if n > 1 else np.full((z.shape[1], z.shape[1]), np.nan)


def proportion_ci(p: float, se: float, n_eff: float, method: str = "logit", level: float = 0.95) -> tuple[float, float]:
    """Confidence interval for a (weighted) proportion.

    Parameters
    ----------
    p, se : float
        Estimate and its design-based standard error.
    n_eff : float
        Effective sample size (used by ``wilson``).
    method : {"logit", "wilson", "wald"}
        ``logit``: :math:`\\mathrm{expit}(\\mathrm{logit}\\,p \\pm z\\,se/(p(1-p)))`, as R
        ``svyciprop(method = "logit", df = Inf)``. ``wilson``: the Wilson score interval
        with the effective sample size :math:`n^* = p(1-p)/se^2` (Kish's when
        :math:`se = 0`). ``wald``: :math:`p \\pm z\\,se` clipped to [0, 1].
    level : float

    Returns
    -------
    (lower, upper)
    """
    z = stats.norm.ppf(0.5 + level / 2)
    if method == "wald":
        return max(0.0, p - z * se), min(1.0, p + z * se)
    if method == "logit":
        if p <= 0 or p >= 1 or se == 0:
            # the logit interval degenerates at 0 or 1: fall back to Wilson (reported via `method`)
            return proportion_ci(p, se, n_eff, "wilson", level)
        eta, s = np.log(p / (1 - p)), se / (p * (1 - p))
        lo, hi = eta - z * s, eta + z * s
        return float(1 / (1 + np.exp(-lo))), float(1 / (1 + np.exp(-hi)))
    if method == "wilson":
        n = n_eff
        den = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / den
        half = z / den * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        return float(max(0.0, centre - half)), float(min(1.0, centre + half))
    raise WeightingError(f"unknown interval method {method!r}; use 'logit', 'wilson' or 'wald'")


def _binary(data: pd.DataFrame, outcome: str, positive: Any) -> pd.Series:
    if outcome not in data.columns:
        raise WeightingError(f"outcome column {outcome!r} not in the data")
    s = data[outcome]
    if positive is None:
        if pd.api.types.is_bool_dtype(s) or str(s.dtype) == "boolean":
            return s.astype("boolean").astype("Float64")
        vals = set(pd.unique(s.dropna()))
        if vals <= {0, 1}:
            return s.astype("Float64")
        raise WeightingError(f"outcome {outcome!r} is not boolean/0-1 (values {sorted(map(str, vals))[:10]}); pass positive=[categories counted as 1]")
    pos = set(positive) if isinstance(positive, (list, tuple, set)) else {positive}
    out = s.astype(object).map(lambda v: np.nan if pd.isna(v) else float(v in pos))
    return out.astype("Float64")


def weighted_prevalence(
    data: pd.DataFrame,
    outcome: str,
    weights: Any,
    *,
    by: str | None = None,
    positive: Any = None,
    method: Literal["logit", "wilson", "wald"] = "logit",
    variance: Literal["linearization", "bootstrap"] = "linearization",
    replicate_weights: pd.DataFrame | None = None,
    missing: Literal["raise", "exclude"] = "raise",
    level: float = 0.95,
) -> pd.DataFrame:
    """Weighted prevalence (a weighted proportion) with design-based uncertainty.

    Parameters
    ----------
    data : DataFrame
        Respondents (canonical schema).
    outcome : str
        A boolean (nullable) or 0/1 column, or any column with ``positive=``.
    weights : Series, array, column name or WeightingResult
        A :class:`~irmodels.nonresponse.weighting.WeightingResult` makes the linearisation account
        for calibration.
    by : str, optional
        Domain variable (e.g. ``region``, ``beds_class``): one row per domain
        (domain estimation over the full sample, as R ``svyby``).
    positive : category or list, optional
        Categories counted as 1 for a non-boolean outcome (e.g. female IR
        representation: ``positive=["1-25", "26-50", "51-75", ">75"]``).
    method : {"logit", "wilson", "wald"}
        Interval (:func:`proportion_ci`).
    variance : {"linearization", "bootstrap"}
        ``bootstrap`` needs ``replicate_weights`` (:func:`bootstrap_weights`); the
        variance is :math:`\\sum_r(\\hat\\theta_r-\\bar\\theta)^2/(R-1)` over the
        :math:`R` successful replicates; the failed ones are counted in the output.
    missing : {"raise", "exclude"}
        Item non-response in ``outcome``: ``raise`` (default) or ``exclude``, which
        estimates over the respondents who answered (a domain of the full sample;
        count reported in ``n_missing`` and a DataDroppedWarning).
    level : float

    Returns
    -------
    DataFrame
        ``term`` (outcome), ``group`` (domain label or ``"all"``), ``estimate``,
        ``std_error``, ``lower``, ``upper``, ``n`` (answers used), ``n_missing``,
        ``n_eff`` (:math:`p(1-p)/se^2`), ``deff`` (:math:`se^2 / (p(1-p)/n)`),
        ``method`` (``"<interval>/<variance>"``); with ``variance="bootstrap"`` also
        ``n_replicates`` (replicates used) and ``n_failed_replicates`` (replicates whose
        weighting failed and were left out, from ``replicate_weights.attrs["n_failed"]``;
        missing when the replicate weights do not say).

    Notes
    -----
    :math:`\\hat p = \\sum w_i y_i / \\sum w_i`; influence
    :math:`z_i = w_i (y_i - \\hat p)/\\sum w_i` (0 for non-answers and out-of-domain
    units); variance by :func:`linearized_variance` (R ``svymean``/``svyby``).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"y": [True, False, True, True]})
    >>> weighted_prevalence(d, "y", [1, 1, 2, 2])["estimate"].round(3).tolist()
    [0.833]
    """
    w, cal = _resolve_weights(weights, data)
    y = _binary(data, outcome, positive)
    na = y.isna().to_numpy()
    if na.any():
        if missing == "raise":
            rows = list(data.index[na][:10])
            raise WeightingError(
                f"outcome {outcome!r} has {int(na.sum())} missing answers (item non-response; rows {rows}); pass missing='exclude' to estimate over the answers"
            )
        warnings.warn(f"{outcome!r}: {int(na.sum())} item non-response(s) excluded (domain estimation over the answers)", DataDroppedWarning, stacklevel=2)
    yv = y.fillna(0).to_numpy(dtype=float)
    if by is None:
        groups = [("all", np.ones(len(data), dtype=bool))]
    else:
        if by not in data.columns:
            raise WeightingError(f"by column {by!r} not in the data")
        if data[by].isna().any():
            raise WeightingError(f"by column {by!r} has missing values; give them an explicit category")
        g = data[by]
        labels = list(g.cat.categories[g.cat.categories.isin(g.unique())]) if isinstance(g.dtype, pd.CategoricalDtype) else sorted(pd.unique(g), key=str)
        groups = [(str(lab), (g == lab).to_numpy()) for lab in labels]
    if variance == "bootstrap":
        if replicate_weights is None:
            raise WeightingError("variance='bootstrap' needs replicate_weights= (irmodels.nonresponse.survey.bootstrap_weights)")
        R = replicate_weights.to_numpy(dtype=float)
        if R.shape[0] != len(data):
            raise WeightingError(f"replicate_weights has {R.shape[0]} rows; the data has {len(data)}")
    elif variance != "linearization":
        raise WeightingError(f"unknown variance {variance!r}; use 'linearization' or 'bootstrap'")
    rows = []
    for lab, dom in groups:
        use = dom & ~na
        W = w[use].sum()
        if W <= 0:
            raise WeightingError(f"domain {lab!r} has no answers with positive weight")
        p = float((w * yv)[use].sum() / W)
        if variance == "linearization":
            z = np.where(use, w * (yv - p) / W, 0.0)
            se = float(np.sqrt(linearized_variance(z, w, cal)[0, 0]))
        else:
            Wr = R[use].sum(axis=0)
            th = (R[use] * yv[use, None]).sum(axis=0) / Wr
            se = float(np.std(th, ddof=1))
        n = int(use.sum())
        n_eff = p * (1 - p) / se**2 if se > 0 and 0 < p < 1 else effective_n(w[use])
        lo, hi = proportion_ci(p, se, n_eff, method, level)
        rows.append(
            {
                "term": outcome,
                "group": lab,
                "estimate": p,
                "std_error": se,
                "lower": lo,
                "upper": hi,
                "n": n,
                "n_missing": int((dom & na).sum()),
                "n_eff": float(n_eff),
                "deff": float(se**2 / (p * (1 - p) / n)) if 0 < p < 1 else float("nan"),
                "method": f"{method}/{variance}",
            }
        )
        if variance == "bootstrap":
            n_failed = replicate_weights.attrs.get("n_failed")
            rows[-1].update(n_replicates=int(R.shape[1]),
                            n_failed_replicates=int(n_failed) if n_failed is not None else pd.NA)
    out = pd.DataFrame(rows)
    if by is not None:
        out.insert(1, "by", by)
    return out


#: Exceptions that count as a failed bootstrap replicate (the weighting of that resample has no
#: solution or did not converge); anything else is a bug and propagates at once.
_REPLICATE_FAILURES = (IrmodelsError, ArithmeticError, np.linalg.LinAlgError, ValueError)


def bootstrap_weights(
    data: pd.DataFrame,
    weighting_fn: Callable[[pd.DataFrame, np.ndarray], Any],
    n_rep: int,
    seed: int | np.random.Generator,
    *,
    base_weight: pd.Series | np.ndarray | None = None,
    strata: str | None = None,
    on_error: Literal["raise", "skip"] = "skip",
    max_failed_share: float = 0.05,
) -> pd.DataFrame:
    """Replicate weights from a rescaled bootstrap that re-runs the whole weighting.

    Parameters
    ----------
    data : DataFrame
    weighting_fn : callable
        ``weighting_fn(data, base_weight) -> Series | WeightingResult``, e.g.
        ``lambda d, b: weight(d, "rake", margins=m, base_weight=b)``. Called once per
        replicate with that replicate's base weights (zero for units not drawn).
    n_rep : int
        Number of replicates requested.
    seed : int or numpy Generator
    base_weight : optional
        Design weights before non-response adjustment (default 1).
    strata : str, optional
        Resample within the categories of this column (each needs >= 2 units).
    on_error : {"skip", "raise"}
        A replicate whose weighting fails (an irmodels error such as a
        :class:`~irmodels.core.errors.ConvergenceError` of raking or a margin category with no
        unit drawn, a numerical error, or weights that are not finite and >= 0):
        ``"skip"`` (default) leaves it out, counts it and reports it (see Returns and
        Warns), within the bound ``max_failed_share``; ``"raise"`` raises a
        :class:`~irmodels.core.errors.WeightingError` at the first failure. Other exceptions
        (programming errors) always propagate.
    max_failed_share : float
        The largest share of the ``n_rep`` replicates that may fail (default 0.05, i.e.
        at most 5 of 100). Failed replicates are the resamples whose weighting has no
        solution, typically the most extreme ones, so leaving them out biases the
        bootstrap variance downwards; beyond this share the variance is not reported.

    Returns
    -------
    DataFrame
        ``n x R`` replicate weights of the successful replicates (columns ``rep_<r>``
        with ``r`` the replicate's number among the ``n_rep`` drawn, so a gap marks a
        failure), indexed like ``data``. ``attrs``: ``n_requested`` (``n_rep``),
        ``n_failed`` (count of failed replicates), ``failed_share``
        (``n_failed / n_rep``), ``max_failed_share``, and ``skipped`` (list of
        ``(replicate, reason)``, one per failure).

    Raises
    ------
    BootstrapFailureError
        More than ``max_failed_share`` of the replicates failed (raised after all
        ``n_rep`` were tried; the message gives the count and the first reasons).
    WeightingError
        ``on_error="raise"`` and a replicate failed; strata with fewer than 2 units; a
        bad ``n_rep``, ``on_error`` or ``max_failed_share``.

    Warns
    -----
    BootstrapFailureWarning
        Some replicates failed (within the bound): count, share and the first reason.
        A subclass of :class:`~irmodels.core.errors.DataDroppedWarning`.

    Notes
    -----
    Rao & Wu (1988) rescaled bootstrap with :math:`m_h = n_h - 1`: in each stratum
    draw :math:`n_h - 1` units with replacement; unit :math:`i` drawn
    :math:`r_i` times gets base weight :math:`d_i\\,r_i\\,n_h/(n_h-1)`; then the full
    weighting is recomputed. The bootstrap variance is
    :math:`\\sum_r(\\hat\\theta_r-\\bar\\theta)^2/(R-1)` over the :math:`R` successful
    replicates. Replicates are drawn in order from one generator, so replicate ``r``
    is the same resample whether or not others failed.

    Examples
    --------
    >>> import pandas as pd
    >>> from irmodels.nonresponse.weighting import rake
    >>> d = pd.DataFrame({"a": ["x", "x", "y", "y", "y"]})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # resamples without an x (or a y) cannot be raked
    ...     reps = bootstrap_weights(d, lambda dd, b: rake(dd, {"a": {"x": 40, "y": 60}}, b), 20, seed=1,
    ...                              max_failed_share=0.5)
    >>> reps.attrs["n_failed"] + reps.shape[1]
    20
    """
    if on_error not in ("raise", "skip"):
        raise WeightingError(f"on_error={on_error!r}; valid values are 'skip' and 'raise'")
    if not isinstance(n_rep, (int, np.integer)) or isinstance(n_rep, bool) or n_rep < 2:
        raise WeightingError(f"n_rep={n_rep!r}: the bootstrap needs an integer number of replicates >= 2")
    if not (isinstance(max_failed_share, (int, float)) and 0 <= max_failed_share < 1):
        raise WeightingError(f"max_failed_share={max_failed_share!r}: must be a share in [0, 1)")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = len(data)
    d = np.ones(n) if base_weight is None else _check_weights(base_weight, data.index)
    if strata is None:
        groups = [np.arange(n)]
    else:
        codes, uniq = pd.factorize(data[strata])
        groups = [np.flatnonzero(codes == k) for k in range(len(uniq))]
        small = [str(u) for u, g in zip(uniq, groups) if len(g) < 2]
        if small:
            raise WeightingError(f"bootstrap strata {small} of {strata!r} have fewer than 2 units; collapse them explicitly")
    cols, skipped = {}, []
    for r in range(n_rep):
        mult = np.zeros(n)
        for g in groups:
            nh = len(g)
            draws = rng.multinomial(nh - 1, np.full(nh, 1.0 / nh))
            mult[g] = draws * nh / (nh - 1)
        try:
            res = weighting_fn(data, d * mult)
            wr = np.asarray(res.weights if isinstance(res, WeightingResult) else res, dtype=float)
            if wr.shape != (n,) or not np.all(np.isfinite(wr)) or np.any(wr < 0):
                raise WeightingError(f"the weighting returned weights that are not {n} finite values >= 0")
        except _REPLICATE_FAILURES as exc:
            if on_error == "raise":
                raise WeightingError(f"bootstrap replicate {r}: the weighting failed: {exc}") from exc
            skipped.append((r, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
            continue
        cols[f"rep_{r}"] = wr
    n_failed = len(skipped)
    share = n_failed / n_rep
    if share > max_failed_share:
        first = "; ".join(f"replicate {r}: {why}" for r, why in skipped[:3])
        raise BootstrapFailureError(
            f"bootstrap: {n_failed} of {n_rep} replicates ({share:.1%}) failed, more than max_failed_share = "
            f"{max_failed_share:.1%}; leaving them out would bias the bootstrap variance downwards. First failures: "
            f"{first}. Collapse sparse margin categories explicitly, stratify the resampling (strata=), or use the "
            "linearisation variance")
    out = pd.DataFrame(cols, index=data.index)
    out.attrs.update({"n_requested": int(n_rep), "n_failed": n_failed, "failed_share": share,
                      "max_failed_share": float(max_failed_share), "skipped": skipped})
    if n_failed:
        warnings.warn(f"bootstrap: {n_failed} of {n_rep} replicates ({share:.1%}) failed and were left out "
                      f"(max_failed_share = {max_failed_share:.1%}; first: replicate {skipped[0][0]}: {skipped[0][1]}); "
                      "the bootstrap variance uses the other replicates and may be biased downwards",
                      BootstrapFailureWarning, stacklevel=2)
    return out


def svyglm_logit(formula: str, data: pd.DataFrame, weights: Any, *, level: float = 0.95) -> pd.DataFrame:
    """Survey-weighted logistic regression with design-based (sandwich) standard errors.

    Parameters
    ----------
    formula : str
        Patsy formula, e.g. ``"cover_24_7 ~ C(beds_class) + teaching"``. The outcome
        must be boolean or 0/1 without missing values (statsmodels ``missing="raise"``).
    data : DataFrame
    weights : Series, array, column name or WeightingResult
    level : float

    Returns
    -------
    DataFrame
        ``term, estimate`` (log-odds), ``std_error, statistic`` (z), ``p_value,
        lower, upper, odds_ratio, or_lower, or_upper, n, method``.

    Notes
    -----
    Point estimates solve :math:`\\sum_i w_i x_i (y_i - \\mu_i) = 0` (quasi-binomial,
    as ``svyglm``). The variance is R ``svyglm``'s: with
    :math:`A^{-1} = (X'\\,\\mathrm{diag}(w\\mu(1-\\mu))\\,X)^{-1}` and
    :math:`u_i = w_i (y_i-\\mu_i) x_i' A^{-1}`, :math:`V = \\frac{n}{n-1}\\sum (u_i-\\bar u)(u_i-\\bar u)'`
    (HC0 sandwich times :math:`n/(n-1)`), :math:`u` replaced by calibration
    residuals when the weights are calibrated. Intervals and p-values use the
    normal distribution (R's ``summary.svyglm`` uses a t with the design's
    residual degrees of freedom; the SEs are identical).
    """
    import patsy
    import statsmodels.api as sm

    w, cal = _resolve_weights(weights, data)
    try:
        y, X = patsy.dmatrices(formula, data, return_type="dataframe", NA_action="raise")
    except patsy.PatsyError as exc:
        raise WeightingError(f"svyglm_logit: formula {formula!r} cannot be evaluated (missing values raise; impute or subset explicitly): {exc}") from exc
    if y.shape[1] == 2:  # boolean outcome expands to [False, True]
        y = y.iloc[:, [1]]
    yv = y.iloc[:, 0].to_numpy(dtype=float)
    if not set(np.unique(yv)) <= {0.0, 1.0}:
        raise WeightingError(f"svyglm_logit: outcome of {formula!r} must be 0/1 or boolean")
    wn = w / w.mean()
    model = sm.GLM(yv, X.to_numpy(), family=sm.families.Binomial(), var_weights=wn, missing="raise")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(tol=1e-12, maxiter=100)
    separation = False
    for wmsg in caught:
        # statsmodels' own separation warning is re-issued once as irmodels' SeparationWarning
        if "separation" in str(wmsg.message).lower():
            separation = True
        else:
            warnings.warn_explicit(wmsg.message, wmsg.category, wmsg.filename, wmsg.lineno)
    beta = np.asarray(fit.params)
    Xm = X.to_numpy()
    mu = 1 / (1 + np.exp(-(Xm @ beta)))
    if separation or np.any(mu < 1e-8) or np.any(mu > 1 - 1e-8):
        warnings.warn(f"svyglm_logit: fitted probabilities of 0 or 1 ({formula!r}): (quasi-)separation; estimates and SEs are unreliable", SeparationWarning, stacklevel=2)
    Ainv = np.linalg.inv(Xm.T @ ((wn * mu * (1 - mu))[:, None] * Xm))
    U = (Xm * (wn * (yv - mu))[:, None]) @ Ainv
    V = linearized_variance(U, w, cal)
    se = np.sqrt(np.diag(V))
    zq = stats.norm.ppf(0.5 + level / 2)
    zstat = beta / se
    out = pd.DataFrame(
        {
            "term": list(X.columns),
            "estimate": beta,
            "std_error": se,
            "statistic": zstat,
            "p_value": 2 * stats.norm.sf(np.abs(zstat)),
            "lower": beta - zq * se,
            "upper": beta + zq * se,
        }
    )
    out["odds_ratio"] = np.exp(out["estimate"])
    out["or_lower"] = np.exp(out["lower"])
    out["or_upper"] = np.exp(out["upper"])
    out["n"] = len(yv)
    out["method"] = "svyglm_logit (sandwich, linearisation" + (f", {cal['kind']} calibration)" if cal else ")")
    out.attrs["vcov"] = pd.DataFrame(V, index=X.columns, columns=X.columns)
    return out


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
        column is derived from ``country`` (:data:`irmodels.nonresponse.frame.REGIONS`) when a
        margin needs it and the data lack it.
    outcome, positive, by, interval, missing
        As in :func:`weighted_prevalence`.
    scenarios : sequence of str, optional
        Frame scenarios (default: all of :data:`irmodels.nonresponse.frame.SCENARIOS`).
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
        A user frame (:func:`irmodels.nonresponse.frame.load_frame`): weighted as scenario
        ``"user"``, replacing ``scenarios``.
    on_contradiction : {"flag", "raise"}
        A frame cell with fewer units than respondents (the frame contradicts the data):
        ``flag`` lists it in ``frame_check`` (and a
        :class:`~irmodels.nonresponse.frame.FrameContradictionWarning`), ``raise`` refuses the frame
        (:class:`~irmodels.core.errors.FrameError`).

    Returns
    -------
    DataFrame
        The columns of :func:`weighted_prevalence` plus ``scenario`` (``"unweighted"``
        for the respondent share), ``scenario_role`` (:func:`irmodels.nonresponse.frame.scenario_role`:
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
    from irmodels.nonresponse.frame import SCENARIOS, _margins_from_cells, frame_cells, region_of, scenario_role
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
        estimand (``n_eff`` of :func:`weighted_prevalence`; ``n`` works too). Only
        read for estimands with a replicate estimate of exactly 0 or 1; a missing
        column then raises.
    dfcom : float, str or None
        Complete-data degrees of freedom for the Barnard-Rubin df
        (:func:`irmodels.core.pooling.pool`). ``"auto"`` (default): ``n - 1`` with ``n`` the
        answers the estimate uses (column ``n`` of :func:`weighted_prevalence`; the
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
