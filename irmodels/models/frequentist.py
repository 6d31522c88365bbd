"""Frequentist fits (engine ``statsmodels``): logistic, Firth, binomial, beta-binomial, ordinal.

All fits are reached through :func:`irmodels.fit`; this module fills the
:class:`~irmodels.models.fit.Fit` object and turns it into the common tidy table.

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
  2002; R ``logistf`` with ``pl = TRUE``; :func:`firth_profile`), Wald from the
  inverse information with ``ci_method="wald"``; with survey weights
  (``cov_type="sandwich"``) Wald intervals from the sandwich.
* Separation is detected for every logistic fit by the linear programme of
  Konis (2007): a nonzero direction ``d`` with ``(2y-1) x_i'd >= 0`` for all
  rows; the terms with ``d_j != 0`` are named in a
  :class:`~irmodels.core.errors.SeparationWarning`.
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

from irmodels.core.errors import ConvergenceError, ConvergenceWarning, ModelSpecError, SeparationWarning

__all__ = ["fit_statsmodels", "tidy_statsmodels", "firth_logistic", "firth_profile", "detect_separation", "OPTIONS",
           "CI_METHODS"]

OPTIONS = {"firth", "cov_type", "maxiter", "ci_method"}
#: Interval methods of a Firth fit (option ``ci_method``).
CI_METHODS = ("profile", "wald")


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
    """
    s = 2.0 * np.asarray(y, dtype=float) - 1.0
    A = -(s[:, None] * X)  # -s x'd <= 0
    c = A.sum(axis=0)  # minimise -sum s x'd
    res = optimize.linprog(c, A_ub=A, b_ub=np.zeros(len(y)), bounds=[(-1, 1)] * X.shape[1], method="highs")
    if res.status != 0 or -res.fun <= 1e-7:
        return []
    d = res.x
    return [n for n, v in zip(names, d) if abs(v) > 1e-7]


def _expanded_binary(design) -> tuple[np.ndarray, np.ndarray]:
    """Rows as 0/1 records (counts split into a success and a failure row) for the LP."""
    X = design.X.to_numpy()
    if design.trials is None:
        return X, design.y
    k, n = design.y, design.trials
    rows, ys = [], []
    for i in range(len(k)):
        if k[i] > 0:
            rows.append(X[i]); ys.append(1)
        if n[i] - k[i] > 0:
            rows.append(X[i]); ys.append(0)
    return np.array(rows), np.array(ys)


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


def _sandwich(bread: np.ndarray, scores: np.ndarray) -> np.ndarray:
    n = scores.shape[0]
    meat = scores.T @ scores
    return n / (n - 1) * bread @ meat @ bread


def _check_columns(f) -> None:
    X = f.design.X
    empty = [c for c in X.columns if c != "Intercept" and np.all(X[c].to_numpy() == 0)]
    if empty:
        raise ModelSpecError(
            f"terms {empty} have no observations (empty category); a maximum-likelihood fit cannot estimate them. "
            "Merge the category explicitly in the data or use engine='pymc' (identified by the prior)"
        )
    if np.linalg.matrix_rank(X.to_numpy()) < X.shape[1]:
        raise ModelSpecError(f"design matrix is rank deficient (collinear terms among {list(X.columns)})")


def fit_statsmodels(f) -> None:
    """Fit ``f`` (a :class:`~irmodels.models.fit.Fit`) with statsmodels / Newton; fills ``f.result``."""
    d = f.design
    opts = f.options
    cov_type = opts.get("cov_type", "sandwich" if d.weights is not None else "model")
    if cov_type not in ("sandwich", "model"):
        raise ModelSpecError(f"cov_type={cov_type!r}: valid values are 'sandwich' and 'model'")
    _check_columns(f)
    names = list(d.X.columns)
    X = d.X.to_numpy()
    w = d.weights if d.weights is not None else np.ones(len(X))
    res: dict = {"names": names, "cov_type": cov_type}
    if f.family in ("bernoulli", "binomial"):
        k = d.y.astype(float)
        n = np.ones_like(k) if d.trials is None else d.trials.astype(float)
        Xb, yb = _expanded_binary(d)
        sep = detect_separation(Xb, yb, names)
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


def _fit_beta_binomial(X, k, n, w, cov_type, names) -> dict:
    p_dim = X.shape[1]

    log_choose = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)

    def nll_i(theta):
        beta, log_phi = theta[:p_dim], theta[p_dim]
        mu = special.expit(X @ beta)
        phi = np.exp(log_phi)
        a, b = mu * phi, (1 - mu) * phi
        return -(log_choose + special.betaln(k + a, n - k + b) - special.betaln(a, b))

    def nll(theta):
        return float(np.sum(w * nll_i(theta)))

    # start at the binomial MLE, phi = 10
    import statsmodels.api as sm

    start_b = np.asarray(sm.GLM(k / n, X, family=sm.families.Binomial(), var_weights=w * n).fit().params)
    theta0 = np.append(start_b, np.log(10.0))
    opt = optimize.minimize(nll, theta0, method="BFGS", options={"gtol": 1e-9, "maxiter": 2000})
    opt = optimize.minimize(nll, opt.x, method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}) if not opt.success else opt
    theta = opt.x
    H = _num_hessian(nll, theta)
    if theta[-1] > np.log(1e5) or not np.all(np.linalg.eigvalsh(H) > 0):
        raise ConvergenceError(
            f"beta-binomial fit: the precision phi = {np.exp(theta[-1]):.3g} runs to its boundary (no "
            "overdispersion in these counts) or the Hessian is not positive definite; use family='binomial'"
        )
    bread = np.linalg.inv(H)
    if cov_type == "sandwich":
        scores = _num_scores(lambda t: w * nll_i(t), theta)
        cov = _sandwich(bread, scores)
    else:
        cov = bread
    return {"params": theta, "cov": cov, "method": "betabinomial_ml", "names": names + ["log_phi"]}


def _num_hessian(fun, x, h=1e-4) -> np.ndarray:
    p = len(x)
    H = np.zeros((p, p))
    for i in range(p):
        for j in range(i, p):
            e_i = np.zeros(p); e_i[i] = h
            e_j = np.zeros(p); e_j[j] = h
            H[i, j] = H[j, i] = (fun(x + e_i + e_j) - fun(x + e_i - e_j) - fun(x - e_i + e_j) + fun(x - e_i - e_j)) / (
                4 * h * h)
    return H


def _num_scores(fun_i, x, h=1e-6) -> np.ndarray:
    cols = []
    for j in range(len(x)):
        e = np.zeros(len(x)); e[j] = h
        cols.append((fun_i(x + e) - fun_i(x - e)) / (2 * h))
    return np.column_stack(cols)


def _fit_ordinal(d, names) -> dict:
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    K = len(d.categories)
    used = set(np.unique(d.y).tolist())
    empty = [d.categories[j] for j in range(K) if j not in used]
    if empty:
        raise ModelSpecError(
            f"ordinal outcome {d.outcome!r}: categories {empty} are never observed, so their thresholds are not "
            "identified; merge them explicitly in the data"
        )
    endog = pd.Series(pd.Categorical.from_codes(d.y, categories=d.categories, ordered=True))
    model = OrderedModel(endog, d.X.to_numpy(), distr="logit")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="statsmodels")
        r = model.fit(method="bfgs", disp=False, maxiter=5000, gtol=1e-10)
        r = model.fit(method="newton", disp=False, maxiter=100, start_params=np.asarray(r.params))
    raw = np.asarray(r.params)
    cov_raw = np.asarray(r.cov_params())
    p = d.X.shape[1]
    # thresholds: theta_1 = a_1, theta_j = a_1 + sum_{m<=j} exp(a_m) (statsmodels' increments)
    a = raw[p:]
    theta = np.cumsum(np.concatenate([[a[0]], np.exp(a[1:])]))
    J = np.eye(len(raw))
    Jt = np.zeros((K - 1, K - 1))
    for j in range(K - 1):
        Jt[j, 0] = 1.0
        for m in range(1, j + 1):
            Jt[j, m] = np.exp(a[m])
    J[p:, p:] = Jt
    cov = J @ cov_raw @ J.T
    params = np.concatenate([raw[:p], theta])
    tnames = [f"threshold[{d.categories[j]}|{d.categories[j + 1]}]" for j in range(K - 1)]
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(cov))
    diverged = [n for n, e, v in zip(names + tnames, params, se) if not np.isfinite(v) or abs(e) > 15]
    if diverged:
        warnings.warn(
            f"ordinal outcome {d.outcome!r}: the maximum-likelihood estimates of {diverged} diverge "
            "((quasi-)separation: a predictor level has all its departments in extreme categories); their "
            "estimates and SEs are not meaningful. Use engine='pymc' (the priors keep them finite)",
            SeparationWarning,
            stacklevel=4,
        )
    return {"params": params, "cov": cov, "method": "clm_ml", "names": names + tnames, "statsmodels": r}


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
