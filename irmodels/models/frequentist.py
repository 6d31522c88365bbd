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
  maximising ``l(b) + 0.5 log|I(b)|`` (Jeffreys-prior penalty) by Newton
  steps with step halving; finite even under separation. Wald intervals from
  the inverse penalised information (sandwich with weights).
* Separation is detected for every logistic fit by the linear programme of
  Konis (2007): a nonzero direction ``d`` with ``(2y-1) x_i'd >= 0`` for all
  rows; the terms with ``d_j != 0`` are named in a
  :class:`~irmodels.errors.SeparationWarning`.
* ``beta_binomial``: maximum likelihood, mean ``expit(x'b)``, precision ``phi``.
* ``ordinal``: cumulative logit ``logit P(Y <= j) = theta_j - x'b``
  (``statsmodels`` ``OrderedModel``; same parameterisation as R ``ordinal::clm``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from irmodels.errors import ConvergenceError, ModelSpecError, SeparationWarning

__all__ = ["fit_statsmodels", "tidy_statsmodels", "firth_logistic", "detect_separation", "OPTIONS"]

OPTIONS = {"firth", "cov_type", "maxiter"}


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
    gradient of ``l(b) + 0.5 log|I(b)|``. Newton step ``I^{-1} U*`` with
    step halving on the penalised log-likelihood.
    """
    X = np.asarray(X, dtype=float)
    k = np.asarray(k, dtype=float)
    n = np.ones_like(k) if n is None else np.asarray(n, dtype=float)
    w = np.ones_like(k) if w is None else np.asarray(w, dtype=float)

    def parts(beta):
        eta = X @ beta
        p = special.expit(eta)
        W = w * n * p * (1 - p)
        info = X.T @ (W[:, None] * X)
        sign, logdet = np.linalg.slogdet(info)
        ll = np.sum(w * (k * eta - n * np.logaddexp(0, eta))) + 0.5 * logdet
        return p, W, info, ll

    beta = np.zeros(X.shape[1])
    p, W, info, ll = parts(beta)
    for _ in range(maxiter):
        inv = np.linalg.inv(info)
        h = W * np.einsum("ij,jk,ik->i", X, inv, X)
        score_i = X * (w * (k - n * p) + h * (0.5 - p))[:, None]
        step = inv @ score_i.sum(axis=0)
        t = 1.0
        for _half in range(30):
            cand = beta + t * step
            p2, W2, info2, ll2 = parts(cand)
            if ll2 >= ll - 1e-12:
                break
            t /= 2
        beta, p, W, info, ll = cand, p2, W2, info2, ll2
        if np.max(np.abs(t * step)) < tol:
            inv = np.linalg.inv(info)
            h = W * np.einsum("ij,jk,ik->i", X, inv, X)
            score_i = X * (w * (k - n * p) + h * (0.5 - p))[:, None]
            return beta, info, score_i
    raise ConvergenceError(f"Firth logistic regression did not converge in {maxiter} Newton iterations")


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
            beta, info, score_i = firth_logistic(X, k, n, w, maxiter=int(opts.get("maxiter", 100)))
            bread = np.linalg.inv(info)
            cov = _sandwich(bread, score_i) if cov_type == "sandwich" else bread
            res.update(params=beta, cov=cov, method="firth")
        else:
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
    elif f.family == "beta_binomial":
        res.update(_fit_beta_binomial(X, d.y, d.trials, w, cov_type, names))
    elif f.family == "ordinal":
        if d.weights is not None:
            raise ModelSpecError("weights are not supported for family 'ordinal' (statsmodels OrderedModel)")
        res.update(_fit_ordinal(d, names))
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
    """Tidy rows of a statsmodels-engine fit (Wald intervals)."""
    r = f.result
    est = np.asarray(r["params"], dtype=float)
    se = np.sqrt(np.diag(r["cov"]))
    z = stats.norm.ppf(0.5 + ci_prob / 2)
    lower, upper = est - z * se, est + z * se
    names = list(r["names"])
    if "log_phi" in names:  # report the precision on its natural scale
        j = names.index("log_phi")
        names[j] = "phi"
        se[j] = np.exp(est[j]) * se[j]
        lower[j], upper[j] = np.exp(lower[j]), np.exp(upper[j])
        est[j] = np.exp(est[j])
    return pd.DataFrame({"term": names, "estimate": est, "std_error": se, "lower": lower, "upper": upper,
                         "method": r["method"]})
