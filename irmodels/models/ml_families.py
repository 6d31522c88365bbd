"""Maximum-likelihood fits of the beta-binomial and ordinal families (engine ``statsmodels``).

Called by :func:`irmodels.models.frequentist.fit_statsmodels`, which fills the fit from
the dictionaries returned here:

* ``beta_binomial`` (:func:`_fit_beta_binomial`): maximum likelihood, mean ``expit(x'b)``,
  precision ``phi`` (on the log scale, numeric Hessian; sandwich with survey weights);
* ``ordinal`` (:func:`_fit_ordinal`): cumulative logit ``logit P(Y <= j) = theta_j - x'b``
  (``statsmodels`` ``OrderedModel``; same parameterisation as R ``ordinal::clm``).

:func:`_sandwich` is the design-based covariance every weighted fit of the engine uses.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, special

from irmodels.core.errors import ConvergenceError, ModelSpecError, SeparationWarning

__all__: list[str] = []


def _sandwich(bread: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Sandwich covariance ``n/(n-1) B M B`` (``M`` the cross-product of the per-row scores)."""
    n = scores.shape[0]
    meat = scores.T @ scores
    return n / (n - 1) * bread @ meat @ bread


def _fit_beta_binomial(X, k, n, w, cov_type, names) -> dict:
    """Beta-binomial maximum likelihood (BFGS, Nelder-Mead fallback) from the binomial MLE."""
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
    """Central-difference Hessian of a scalar function."""
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
    """Central-difference gradients of per-row contributions: one column per parameter."""
    cols = []
    for j in range(len(x)):
        e = np.zeros(len(x)); e[j] = h
        cols.append((fun_i(x + e) - fun_i(x - e)) / (2 * h))
    return np.column_stack(cols)


def _fit_ordinal(d, names) -> dict:
    """Cumulative-logit maximum likelihood, thresholds reported on their natural scale (delta method)."""
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
