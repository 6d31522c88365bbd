"""Frequentist fits (engine ``statsmodels``): logistic, Firth, binomial, beta-binomial, ordinal.

All fits are reached through :func:`irmodels.fit`; this module is the engine: it checks the
design, detects separation, runs the GLM, fills the :class:`~irmodels.models.fit.Fit` object
and turns it into the common tidy table. The Firth estimator and its profile intervals live
in :mod:`irmodels.models.firth`, the beta-binomial and ordinal likelihoods in
:mod:`irmodels.models.ml_families`.

Estimators
----------
* ``bernoulli`` / ``binomial``: maximum likelihood logistic regression
  (``statsmodels`` GLM, ``missing="raise"``). With survey weights the
  pseudo-likelihood is maximised and the covariance is the sandwich
  ``n/(n-1) B M B`` of R ``survey::svyglm`` for a design with weights only.
* ``firth=True``: Firth's (1993) bias-reduced logistic regression, i.e.
  maximising ``l*(b) = l(b) + 0.5 log|I(b)|`` (Jeffreys-prior penalty) by Newton
  steps with step halving; finite even under separation. Intervals and
  p-values by default from the profile penalised likelihood (Heinze & Schemper
  2002; R ``logistf`` with ``pl = TRUE``; :func:`~irmodels.models.firth.firth_profile`), Wald from the
  inverse information with ``ci_method="wald"``; with survey weights
  (``cov_type="sandwich"``) Wald intervals from the sandwich.
* Separation is detected for every logistic fit by the linear programme of
  Konis (2007): a nonzero direction ``d`` with ``(2y-1) x_i'd >= 0`` for all
  rows; the terms with ``d_j != 0`` are named in a
  :class:`~irmodels.core.errors.SeparationWarning`. The programme is solved on the distinct
  ``(x_i, y_i)`` rows with their counts (the same programme; see :func:`detect_separation`),
  and the rank of the design from its distinct rows, so neither grows with the number of rows.
* ``beta_binomial``: maximum likelihood, mean ``expit(x'b)``, precision ``phi``.
* ``ordinal``: cumulative logit ``logit P(Y <= j) = theta_j - x'b``
  (``statsmodels`` ``OrderedModel``; same parameterisation as R ``ordinal::clm``).

Every tidy table carries ``p_value`` and ``df_resid = n - p`` (rows used minus
estimated parameters), the complete-data degrees of freedom that
:func:`irmodels.core.pooling.pool` uses for Barnard-Rubin small-sample df.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from irmodels.core.errors import ModelSpecError, SeparationWarning
from irmodels.models.firth import firth_logistic, firth_profile
from irmodels.models.ml_families import _fit_beta_binomial, _fit_ordinal, _sandwich

__all__ = ["fit_statsmodels", "tidy_statsmodels", "detect_separation", "OPTIONS", "CI_METHODS"]

OPTIONS = {"firth", "cov_type", "maxiter", "ci_method"}
#: Interval methods of a Firth fit (option ``ci_method``).
CI_METHODS = ("profile", "wald")


def _row_codes(n_rows: int, *columns: np.ndarray) -> np.ndarray:
    """Codes ``0..m-1`` of the distinct rows of the table ``columns`` (``n_rows`` rows), in order of first occurrence.

    Column by column: each column is factorised and combined with the codes of the columns
    before it, re-factorised at every step so that the combined code stays below the number
    of rows (no copy of the table is made).
    """
    code = np.zeros(n_rows, dtype=np.int64)
    for col in columns:
        cj, uj = pd.factorize(col, use_na_sentinel=False)
        code, _ = pd.factorize(code * len(uj) + cj)
    return code


def _representatives(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One row index per code and the count of each code.

    The rows of one code are equal, so any of them represents it: the one kept is whichever
    the assignment writes last.
    """
    counts = np.bincount(code)
    rep = np.empty(len(counts), dtype=np.int64)
    rep[code] = np.arange(len(code))
    return rep, counts


def detect_separation(X: np.ndarray, y: np.ndarray, names: list[str]) -> list[str]:
    """Terms involved in (quasi-)complete separation of a binary outcome; empty if none.

    Parameters
    ----------
    X : ndarray (n, p)
        Design matrix.
    y : ndarray (n,)
        0/1 outcome.
    names : list of str
        Column names of ``X``.

    Returns
    -------
    list of str
        Names of the columns with a nonzero entry in a separating direction.

    Notes
    -----
    Konis (2007): the MLE does not exist iff there is ``d != 0`` with
    ``s_i x_i'd >= 0`` for all rows (``s_i = 2 y_i - 1``). We maximise
    ``sum_i s_i x_i'd`` subject to those constraints and ``-1 <= d <= 1``;
    a positive optimum means separation.

    The programme is solved on the distinct ``(x_i, y_i)`` rows: a repeated row repeats a
    constraint, which leaves the feasible set unchanged, and enters the objective with its
    count ``m_u`` (``sum_i s_i x_i'd = sum_u m_u s_u x_u'd``), so it is the same linear
    programme with as many constraints as distinct rows (at most twice the number of
    covariate patterns, whatever the number of rows).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    rep, counts = _representatives(_row_codes(len(y), y, *X.T))
    return _separation_lp(X[rep], y[rep], counts, names)


def _separation_lp(X: np.ndarray, y: np.ndarray, counts: np.ndarray, names: list[str]) -> list[str]:
    """:func:`detect_separation` on the distinct ``(x, y)`` rows, given how often each occurs."""
    s = 2.0 * np.asarray(y, dtype=float) - 1.0
    A = -(s[:, None] * X)  # -s x'd <= 0
    c = counts @ A  # minimise -sum_i s_i x_i'd
    res = optimize.linprog(c, A_ub=A, b_ub=np.zeros(len(A)), bounds=[(-1, 1)] * X.shape[1], method="highs")
    if res.status != 0 or -res.fun <= 1e-7:
        return []
    d = res.x
    return [n for n, v in zip(names, d) if abs(v) > 1e-7]


def _expanded_binary(design) -> tuple[np.ndarray, np.ndarray]:
    """Rows as 0/1 records for the LP: the row of each record and its outcome.

    A count row gives a success record if ``k > 0``, then a failure record if ``n - k > 0``.
    """
    if design.trials is None:
        return np.arange(len(design.y)), design.y
    k, n = design.y, design.trials
    keep = np.column_stack([k > 0, n - k > 0]).ravel()
    return np.repeat(np.arange(len(k)), 2)[keep], np.tile([1, 0], len(k))[keep]


def _binary_separation(design, X: np.ndarray, names: list[str], x_code: np.ndarray) -> list[str]:
    """:func:`detect_separation` of a bernoulli or binomial design, given the row codes of ``X``."""
    rows, yb = _expanded_binary(design)
    rep, counts = _representatives(_row_codes(len(rows), x_code[rows], yb))  # the distinct (x, y) records
    return _separation_lp(X[rows[rep]], yb[rep], counts, names)


def _check_columns(f) -> np.ndarray:
    """Refuse empty and collinear columns; returns the codes of the distinct rows of X (:func:`_row_codes`)."""
    X = f.design.X
    empty = [c for c in X.columns if c != "Intercept" and np.all(X[c].to_numpy() == 0)]
    if empty:
        raise ModelSpecError(
            f"terms {empty} have no observations (empty category); a maximum-likelihood fit cannot estimate them. "
            "Merge the category explicitly in the data or use engine='pymc' (identified by the prior)"
        )
    Xa = X.to_numpy()
    # the rank of X from its distinct rows, each times the square root of its count: the same
    # Gram matrix X'X, so the same singular values, and numpy's default tolerance for the full X
    code = _row_codes(len(Xa), *Xa.T)
    rep, counts = _representatives(code)
    sv = np.linalg.svd(np.sqrt(counts)[:, None] * Xa[rep], compute_uv=False)
    tol = sv.max(initial=0.0) * max(Xa.shape) * np.finfo(float).eps
    if int(np.count_nonzero(sv > tol)) < Xa.shape[1]:
        raise ModelSpecError(f"design matrix is rank deficient (collinear terms among {list(X.columns)})")
    return code


def fit_statsmodels(f) -> None:
    """Fit ``f`` (a :class:`~irmodels.models.fit.Fit`) with statsmodels / Newton; fills ``f.result``."""
    d = f.design
    opts = f.options
    cov_type = opts.get("cov_type", "sandwich" if d.weights is not None else "model")
    if cov_type not in ("sandwich", "model"):
        raise ModelSpecError(f"cov_type={cov_type!r}: valid values are 'sandwich' and 'model'")
    x_code = _check_columns(f)
    names = list(d.X.columns)
    X = d.X.to_numpy()
    w = d.weights if d.weights is not None else np.ones(len(X))
    res: dict = {"names": names, "cov_type": cov_type}
    if f.family in ("bernoulli", "binomial"):
        k = d.y.astype(float)
        n = np.ones_like(k) if d.trials is None else d.trials.astype(float)
        sep = _binary_separation(d, X, names, x_code)
        del x_code  # one int64 a row: not held through the fit
        res["separation"] = sep
        if opts.get("firth", False):
            ci_method = opts.get("ci_method", "profile" if cov_type == "model" else "wald")
            if ci_method not in CI_METHODS:
                raise ModelSpecError(f"ci_method={ci_method!r}: valid values are {list(CI_METHODS)}")
            if ci_method == "profile" and cov_type == "sandwich":
                raise ModelSpecError(
                    "ci_method='profile' with cov_type='sandwich': the profile penalised likelihood treats weights as "
                    "case (frequency) weights and ignores the design; use ci_method='wald' (sandwich, design-based) or "
                    "cov_type='model' (weights as case weights)")
            beta, info, score_i = firth_logistic(X, k, n, w, maxiter=int(opts.get("maxiter", 100)))
            bread = np.linalg.inv(info)
            cov = _sandwich(bread, score_i) if cov_type == "sandwich" else bread
            label = {"profile": "firth (profile penalised likelihood CI)", "wald": "firth (Wald CI)"}[ci_method]
            if cov_type == "sandwich":
                label = "firth (Wald CI, sandwich)"
            res.update(params=beta, cov=cov, method=label, ci_method=ci_method,
                       firth_data=(X, k, n, w), profile={})
        else:
            if opts.get("ci_method", "wald") != "wald":
                raise ModelSpecError(f"ci_method={opts['ci_method']!r} needs firth=True (profile penalised likelihood); "
                                     "maximum-likelihood fits have Wald intervals")
            if sep:
                warnings.warn(
                    f"separation: the maximum-likelihood estimates of {sep} do not exist (infinite); their "
                    "estimates and SEs are not meaningful. Refit with firth=True (Firth penalised likelihood) "
                    "or engine='pymc'",
                    SeparationWarning,
                    stacklevel=3,
                )
            import statsmodels.api as sm

            model = sm.GLM(k / n, X, family=sm.families.Binomial(), var_weights=w * n, missing="raise")
            with warnings.catch_warnings():
                # statsmodels' own PerfectSeparation warnings duplicate ours (issued above, named by term)
                warnings.filterwarnings("ignore", module="statsmodels")
                r = model.fit(maxiter=int(opts.get("maxiter", 100)), tol=1e-12)
            beta = np.asarray(r.params)
            if cov_type == "sandwich":
                p = special.expit(X @ beta)
                info = X.T @ ((w * n * p * (1 - p))[:, None] * X)
                scores = X * (w * (k - n * p))[:, None]
                cov = _sandwich(np.linalg.inv(info), scores)
            else:
                cov = np.asarray(r.cov_params())
            res.update(params=beta, cov=cov, method="glm_ml" if d.weights is None else "glm_pseudo_ml",
                       statsmodels=r)
    elif opts.get("ci_method", "wald") != "wald":
        raise ModelSpecError(f"ci_method={opts['ci_method']!r}: family {f.family!r} has Wald intervals only")
    if f.family == "beta_binomial":
        res.update(_fit_beta_binomial(X, d.y, d.trials, w, cov_type, names))
    elif f.family == "ordinal":
        if d.weights is not None:
            raise ModelSpecError("weights are not supported for family 'ordinal' (statsmodels OrderedModel)")
        res.update(_fit_ordinal(d, names))
    res["n_obs"] = int(len(X))
    f.result = res


def tidy_statsmodels(f, ci_prob: float) -> pd.DataFrame:
    """Tidy rows of a statsmodels-engine fit.

    Intervals are Wald (``estimate +/- z se``) except for a Firth fit with
    ``ci_method="profile"`` (the default without survey weights): profile
    penalised-likelihood intervals and penalised likelihood-ratio p-values
    (:func:`firth_profile`, computed once per ``ci_prob`` and kept on the fit).
    ``p_value`` is the two-sided Wald z test of ``estimate = 0`` otherwise, and
    missing for thresholds and ``phi`` (no null value of interest).
    ``df_resid = n - p``: rows used minus estimated parameters (thresholds and
    ``log_phi`` included).
    """
    r = f.result
    est = np.asarray(r["params"], dtype=float)
    se = np.sqrt(np.diag(r["cov"]))
    z = stats.norm.ppf(0.5 + ci_prob / 2)
    lower, upper = est - z * se, est + z * se
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = 2 * stats.norm.sf(np.abs(est / se))
    names = list(r["names"])
    if r.get("ci_method") == "profile":
        key = float(ci_prob)
        if key not in r["profile"]:
            X, k, n, w = r["firth_data"]
            r["profile"][key] = firth_profile(X, k, n, w, level=ci_prob, names=names,
                                              maxiter=int(f.options.get("maxiter", 100)))
        prof = r["profile"][key]
        lower = prof["lower"].to_numpy(dtype=float, copy=True)
        upper = prof["upper"].to_numpy(dtype=float, copy=True)
        p_value = prof["p_value"].to_numpy(dtype=float, copy=True)
    not_coef = [j for j, t in enumerate(names) if t.startswith("threshold[") or t == "log_phi"]
    p_value[not_coef] = np.nan
    if "log_phi" in names:  # report the precision on its natural scale
        j = names.index("log_phi")
        names[j] = "phi"
        se[j] = np.exp(est[j]) * se[j]
        lower[j], upper[j] = np.exp(lower[j]), np.exp(upper[j])
        est[j] = np.exp(est[j])
    return pd.DataFrame({"term": names, "estimate": est, "std_error": se, "lower": lower, "upper": upper,
                         "method": r["method"], "p_value": p_value, "df_resid": r["n_obs"] - len(names)})
