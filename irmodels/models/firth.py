"""Firth's penalised-likelihood logistic regression and its profile penalised-likelihood intervals.

The estimator behind ``firth=True`` of the statsmodels engine
(:func:`irmodels.models.frequentist.fit_statsmodels`): :func:`firth_logistic` maximises
``l*(b) = l(b) + 0.5 log|I(b)|`` (Jeffreys-prior penalty; Firth 1993) by Newton steps with
step halving, finite even under separation; :func:`firth_profile` gives the profile
penalised-likelihood intervals and penalised likelihood-ratio tests of Heinze & Schemper
(2002) (R ``logistf`` with ``pl = TRUE``). Both share one constrained Newton solver
(:func:`_firth_newton`), which holds any coordinates fixed for the profile.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from irmodels.core.errors import ConvergenceError, ConvergenceWarning, ModelSpecError

__all__ = ["firth_logistic", "firth_profile"]


def _firth_parts(X, k, n, w, beta):
    """Fitted probabilities, IRLS weights, Fisher information and penalised log-likelihood at ``beta``."""
    eta = X @ beta
    p = special.expit(eta)
    W = w * n * p * (1 - p)
    info = X.T @ (W[:, None] * X)
    sign, logdet = np.linalg.slogdet(info)
    ll = float(np.sum(w * (k * eta - n * np.logaddexp(0, eta))))
    pll = ll + 0.5 * logdet if sign > 0 else -np.inf
    return p, W, info, pll


def _firth_scores(X, k, n, w, p, W, info):
    """Per-row modified score contributions ``x_i [w_i (k_i - n_i p_i) + h_i (1/2 - p_i)]``."""
    inv = np.linalg.inv(info)
    h = W * np.einsum("ij,jk,ik->i", X, inv, X)
    return X * (w * (k - n * p) + h * (0.5 - p))[:, None]


def _firth_newton(X, k, n, w, beta0, free, *, maxiter=100, tol=1e-10, max_step=5.0):
    """Maximise the penalised log-likelihood over the coordinates ``free`` (the others stay at ``beta0``).

    Newton steps ``I_ff^{-1} U*_f`` (``I_ff`` the free block of the Fisher information,
    ``U*`` the modified score, whose free part is the exact gradient of the penalised
    log-likelihood in the free coordinates), each step capped at ``max_step`` in every
    coordinate (as ``logistf``'s ``maxstep``) and halved until the penalised
    log-likelihood does not decrease. Converged when the largest step is below ``tol``.

    Returns ``(beta, info, score_i, pll, n_iter)``; raises :class:`ConvergenceError`.
    """
    beta = np.array(beta0, dtype=float)
    p, W, info, pll = _firth_parts(X, k, n, w, beta)
    if not np.isfinite(pll):
        raise ConvergenceError("Firth logistic regression: the Fisher information is singular at the start")
    for it in range(1, maxiter + 1):
        score_i = _firth_scores(X, k, n, w, p, W, info)
        U = score_i.sum(axis=0)
        step_f = np.linalg.solve(info[np.ix_(free, free)], U[free])
        big = np.max(np.abs(step_f)) if step_f.size else 0.0
        if big > max_step:
            step_f *= max_step / big
        t = 1.0
        for _half in range(40):
            cand = beta.copy()
            cand[free] += t * step_f
            p2, W2, info2, pll2 = _firth_parts(X, k, n, w, cand)
            # a tiny tolerance: at the optimum rounding may lower the value by ~1e-13
            if pll2 >= pll - 1e-11 * max(1.0, abs(pll)):
                break
            t /= 2
        else:
            # no ascent along the Newton direction: at the optimum to machine precision, or stuck
            if np.max(np.abs(U[free]), initial=0.0) < 1e-6:
                return beta, info, score_i, pll, it
            raise ConvergenceError("Firth logistic regression: no ascent along the Newton direction (step halving "
                                   f"exhausted) with the modified score still {np.max(np.abs(U[free])):.3g}")
        beta, p, W, info, pll = cand, p2, W2, info2, pll2
        if t * big < tol:
            return beta, info, _firth_scores(X, k, n, w, p, W, info), pll, it
    raise ConvergenceError(f"Firth logistic regression did not converge in {maxiter} Newton iterations")


def _firth_inputs(X, k, n, w):
    """``X, k, n, w`` as float arrays; trials and weights default to 1."""
    X = np.asarray(X, dtype=float)
    k = np.asarray(k, dtype=float)
    n = np.ones_like(k) if n is None else np.asarray(n, dtype=float)
    w = np.ones_like(k) if w is None else np.asarray(w, dtype=float)
    return X, k, n, w


def firth_logistic(X: np.ndarray, k: np.ndarray, n: np.ndarray | None = None, w: np.ndarray | None = None, *,
                   maxiter: int = 100, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Firth's penalised-likelihood logistic regression by Newton steps.

    Parameters
    ----------
    X : ndarray (n, p)
    k : ndarray (n,)
        Successes (0/1 for Bernoulli rows).
    n : ndarray (n,), optional
        Trials (default 1).
    w : ndarray (n,), optional
        Case weights (default 1).
    maxiter, tol
        Newton iterations and convergence tolerance on the max |step|.

    Returns
    -------
    beta : ndarray (p,)
    info : ndarray (p, p)
        Fisher information ``X' diag(w n p (1-p)) X`` at ``beta``.
    score_i : ndarray (n, p)
        Per-row modified score contributions (for a sandwich covariance).

    Raises
    ------
    ConvergenceError
        Newton iterations did not converge.

    Notes
    -----
    Modified score (Firth 1993): ``U*(b) = sum_i x_i [w_i (k_i - n_i p_i) + h_i (1/2 - p_i)]``
    with ``h_i`` the diagonal of ``W^{1/2} X I^{-1} X' W^{1/2}``; it is the
    gradient of ``l*(b) = l(b) + 0.5 log|I(b)|``. Newton step ``I^{-1} U*`` (capped
    at 5 per coordinate) with step halving on the penalised log-likelihood.
    """
    X, k, n, w = _firth_inputs(X, k, n, w)
    beta, info, score_i, _pll, _it = _firth_newton(X, k, n, w, np.zeros(X.shape[1]), np.arange(X.shape[1]),
                                                   maxiter=maxiter, tol=tol)
    return beta, info, score_i


def firth_profile(X: np.ndarray, k: np.ndarray, n: np.ndarray | None = None, w: np.ndarray | None = None, *,
                  level: float = 0.95, which: list[int] | None = None, names: list[str] | None = None,
                  maxiter: int = 100, tol: float = 1e-10, xtol: float = 1e-9,
                  max_width: float = 1e3) -> pd.DataFrame:
    """Profile penalised-likelihood intervals and penalised likelihood-ratio tests for Firth logistic regression.

    Parameters
    ----------
    X : ndarray (n, p)
        Design matrix.
    k : ndarray (n,)
        Successes (0/1 for Bernoulli rows).
    n : ndarray (n,), optional
        Trials (default 1).
    w : ndarray (n,), optional
        Case (frequency) weights (default 1).
    level : float
        Interval probability (default 0.95).
    which : list of int, optional
        Columns to profile (default all).
    names : list of str, optional
        Term names (default ``x0, x1, ...``).
    maxiter, tol
        Newton iterations and step tolerance of every (constrained) penalised fit.
    xtol : float
        Absolute tolerance of the interval ends (Brent's method on the profile).
    max_width : float
        An end further than this from the estimate is reported as infinite (with a
        :class:`~irmodels.core.errors.ConvergenceWarning`); the Firth profile is bounded, so
        this only happens on a practically flat penalised likelihood.

    Returns
    -------
    DataFrame
        One row per profiled term: ``term``, ``estimate`` (penalised MLE ``b_j``),
        ``lower``, ``upper`` (profile interval ends), ``chisq`` (penalised likelihood-ratio
        statistic of ``beta_j = 0``), ``p_value`` (``P(chi2_1 > chisq)``), ``n_evaluations``
        (constrained fits used, for the two ends and the test).

    Raises
    ------
    ConvergenceError
        The unconstrained or a constrained penalised fit did not converge (the message
        names the term and the value it was held at).

    Notes
    -----
    The Firth-penalised log-likelihood is :math:`l^*(\\beta) = l(\\beta) + \\tfrac12\\log|I(\\beta)|`
    with :math:`I(\\beta) = X'\\,\\mathrm{diag}(w_i n_i p_i (1-p_i))\\,X`. Its profile in
    coordinate :math:`j` is :math:`l^*_j(b) = \\max_{\\beta:\\,\\beta_j=b} l^*(\\beta)`
    (the penalty keeps the full-model information, as in Heinze & Schemper 2002 and
    ``logistf``). The profile penalised-likelihood interval is

    .. math:: \\{\\,b : 2\\,[\\,l^*(\\hat\\beta) - l^*_j(b)\\,] \\le \\chi^2_{1}(\\text{level})\\,\\},

    and the test of :math:`\\beta_j = 0` is :math:`2\\,[l^*(\\hat\\beta) - l^*_j(0)] \\sim \\chi^2_1`
    (``logistf``'s ``pl = TRUE`` defaults). Each end is a root of
    :math:`g(b) = 2[l^*(\\hat\\beta) - l^*_j(b)] - \\chi^2_1(\\text{level})`: bracketed by
    stepping outward from the Wald end (doubling the distance), then found by Brent's
    method; every evaluation of :math:`g` is a constrained Newton fit of the other
    coefficients, started from the nearest solution already found. Unlike the Wald
    interval it is not symmetric, it respects the skewness of the penalised likelihood
    under (near-)separation, and it is invariant to reparameterisation.

    References
    ----------
    Firth D (1993). Bias reduction of maximum likelihood estimates. *Biometrika* 80:27-38.
    Heinze G, Schemper M (2002). A solution to the problem of separation in logistic
    regression. *Statistics in Medicine* 21:2409-2419.
    Heinze G, Ploner M, Jiricka L, Steiner G. ``logistf``: Firth's bias-reduced logistic
    regression (R package; ``logistpl``).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.ones(8), [0, 0, 0, 0, 1, 1, 1, 1]])
    >>> y = np.array([0, 0, 0, 1, 1, 1, 1, 1])  # x = 1 always y = 1: the ML estimate is infinite
    >>> t = firth_profile(X, y, names=["Intercept", "x"])
    >>> t.loc[1, ["estimate", "lower", "upper"]].round(3).tolist()
    [3.045, 0.088, 8.186]
    """
    X, k, n, w = _firth_inputs(X, k, n, w)
    n_par = X.shape[1]
    names = list(names) if names is not None else [f"x{j}" for j in range(n_par)]
    which = list(range(n_par)) if which is None else list(which)
    if not 0 < level < 1:
        raise ModelSpecError(f"level={level}: must be in (0, 1)")
    beta_hat, info, _s, pll_hat, _it = _firth_newton(X, k, n, w, np.zeros(n_par), np.arange(n_par),
                                                     maxiter=maxiter, tol=tol)
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    q = float(stats.chi2.ppf(level, 1))
    z = float(np.sqrt(q))
    rows = []
    for j in which:
        free = np.array([i for i in range(n_par) if i != j], dtype=int)
        solved: dict[float, np.ndarray] = {float(beta_hat[j]): beta_hat}
        count = [0]

        def deviance(b: float, j=j, free=free, solved=solved, count=count) -> float:
            """2 [l*(beta_hat) - l*_j(b)]."""
            near = min(solved, key=lambda v: abs(v - b))
            start = solved[near].copy()
            start[j] = b
            try:
                beta_b, _i, _s2, pll_b, _n = _firth_newton(X, k, n, w, start, free, maxiter=maxiter, tol=tol)
            except ConvergenceError as exc:
                raise ConvergenceError(
                    f"profile penalised likelihood of {names[j]!r}: the fit with {names[j]} held at {b:.6g} did not "
                    f"converge ({exc}); use ci_method='wald'") from exc
            solved[float(b)] = beta_b
            count[0] += 1
            return 2.0 * (pll_hat - pll_b)

        ends = []
        for sign in (-1.0, 1.0):
            # bracket: start at the Wald end, double the distance until the deviance passes the cut-off
            inner, dist = float(beta_hat[j]), min(z * se[j], max_width)
            end = np.nan
            while True:
                outer = float(beta_hat[j] + sign * dist)
                if deviance(outer) - q > 0:
                    lo, hi = sorted((inner, outer))
                    end = optimize.brentq(lambda b: deviance(b) - q, lo, hi, xtol=xtol, maxiter=200)
                    break
                if dist >= max_width:
                    break
                inner, dist = outer, min(2.0 * dist, max_width)
            if np.isnan(end):
                warnings.warn(
                    f"profile penalised likelihood of {names[j]!r}: no {'lower' if sign < 0 else 'upper'} end within "
                    f"{max_width:g} of the estimate (the penalised likelihood is flat); reported as infinite",
                    ConvergenceWarning, stacklevel=2)
                end = sign * np.inf
            ends.append(end)
        chisq = max(deviance(0.0), 0.0) if beta_hat[j] != 0 else 0.0
        rows.append({"term": names[j], "estimate": float(beta_hat[j]), "lower": ends[0], "upper": ends[1],
                     "chisq": chisq, "p_value": float(stats.chi2.sf(chisq, 1)), "n_evaluations": count[0]})
    return pd.DataFrame(rows)
