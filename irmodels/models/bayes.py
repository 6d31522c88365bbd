"""Bayesian models (engine ``pymc``): hierarchical logistic, latent-proportion, beta-binomial, ordinal.

Reached through :func:`irmodels.fit` with ``engine="pymc"``. Every model has
named dims and coords: ``term`` (design columns), ``country`` (or whatever the
``group`` column is; the dim is named after it), ``obs`` (likelihood cells),
``cutpoint`` (ordinal thresholds), ``class_cell`` and ``class_pair``
(share-class cells and the terms of their class probability, a polynomial in
the department share: :func:`_class_pairs`).

Models (``eta = X b + a[group]``, ``a = sd_group * z``, ``z ~ Normal(0, 1)``:
non-centred group intercepts, which sample well when groups are small; option
``centered=True`` gives ``a ~ Normal(0, sd_group)``, better when every group
has very many respondents; the default ``centered="auto"`` chooses centred only
when every group has at least ``AUTO_CENTRED_MIN_TRIALS`` trials):

* ``bernoulli`` / ``binomial``: ``k_c ~ Binomial(n_c, expit(eta_c))`` where
  rows sharing group and covariates are first **collapsed** into binomial
  cells ``c`` (exact: the Bernoulli likelihood of a cell is the binomial one
  up to a constant), so fit time depends on the number of distinct
  covariate patterns, not on the number of respondents.
* ``binomial`` with ``share_class=...`` (female IR representation): a latent
  logit-proportion per department ``logit p_i = eta_i + sd_department * u_i``,
  ``u_i ~ Normal(0, 1)``, observed through a **binomial measurement model**.
  Departments with counts contribute ``Binomial(k_i; n_i, p_i)`` (``u_i``
  sampled, non-centred). A department known only by its share class ``c_i``
  contributes the probability that its ``n_i`` IRs include a number of women
  ``k`` whose share falls in that class, with ``u_i`` integrated out::

      P(c_i | eta_i) = int sum_n pi_i(n) sum_{k: class(k/n) = c_i} Binom(k; n, expit(eta_i + sd x)) phi(x) dx

  where ``class(k/n)`` is the schema's rule (:func:`irmodels.schema.share_class`:
  the percentage rounded up, so 1 of 30 is ``"1-25"``; a merged level is the
  union of its codes), and ``pi_i`` is a point mass at ``n_i`` when the row
  reports its number of trials (``trials`` column) without the count, else the
  trials distribution: option ``trials_distribution`` (mapping ``n ->
  probability``) or, by default, the empirical distribution of ``n`` among
  the rows of the same data that report it (a :class:`ModelSpecError` naming
  the option when neither exists, as in 2017). Most all-male teams of one to
  three IRs are all-male by chance; this likelihood says so, where treating
  the class as an interval for ``p_i`` made binomial noise look like
  between-department spread (validation/share_model_recovery.py).
  **Assumption** (class-only rows that do not report ``n``): their number of
  trials is independent of their covariates and of ``p_i`` and distributed as
  ``pi`` (plugged in, not estimated jointly); were team size to grow with bed
  class, one pooled ``pi`` would leave part of that in the bed-class
  coefficients. The integral is a 41-node trapezoidal rule
  (:func:`share_quadrature`); the sum over the ``(n, k)`` pairs of each
  cell's class (:func:`share_class_mask`) is evaluated as one polynomial in
  ``p`` in the Bernstein basis of degree ``max n`` (:func:`_class_pairs`:
  exact, at most ``max n + 1`` non-negative terms); class-only rows are collapsed into
  cells of equal covariates, group, class and reported ``n``.
* ``beta_binomial``: ``k_i ~ BetaBinomial(n_i, mu_i phi, (1 - mu_i) phi)``, ``mu_i = expit(eta_i)``.
* ``ordinal``: cumulative logit ``P(Y <= j) = expit(theta_j - eta)``, collapsed
  into multinomial counts per covariate pattern (``OrderedMultinomial``).

Priors (weakly informative, on the log-odds scale; ``priors=`` overrides the
scales, ``prior_scale=`` multiplies all of them for sensitivity analyses):

==================  =======================  =========================================
parameter           prior                    why
==================  =======================  =========================================
``b[Intercept]``    Normal(0, 2.5)           baseline prevalence anywhere in ~(1%, 99%)
``b[term]``         Normal(0, 1.5)           odds ratios mostly within 1/20 .. 20
``sd_<group>``      HalfNormal(1)            between-country odds vary up to ~e^2
``sd_department``   HalfNormal(1)            department spread of the latent logit share
``cutpoints``       Normal(0, 2.5), ordered  thresholds of the cumulative logit
``phi``             Gamma(2, 0.1)            beta-binomial precision, mean 20
==================  =======================  =========================================

Convergence gate (:func:`check_convergence`): every free parameter has
R-hat <= 1.01, bulk and tail ESS >= 400, and there are no divergent
transitions; otherwise :class:`~irmodels.errors.ConvergenceError` (or, with
``on_fail="warn"``, a :class:`~irmodels.errors.ConvergenceWarning` and
``converged=False`` in every tidy row).
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from irmodels.errors import ConvergenceError, ConvergenceWarning, ModelSpecError

__all__ = [
    "DEFAULT_PRIORS",
    "GATE",
    "OPTIONS",
    "fit_pymc",
    "fit_ensemble",
    "build_model",
    "collapse",
    "check_convergence",
    "tidy_pymc",
    "group_effects",
    "posterior_draws",
    "pointwise_log_likelihood",
    "loo",
    "compare",
    "ppc_table",
    "prior_predictive",
    "prior_sensitivity",
    "share_class_mask",
    "share_class_logprob",
    "share_quadrature",
]

DEFAULT_PRIORS: dict[str, Any] = {
    "intercept": 2.5,
    "b": 1.5,
    "sd_group": 1.0,
    "sd_department": 1.0,
    "cutpoints": 2.5,
    "phi": (2.0, 0.1),
}
GATE = {"r_hat_max": 1.01, "ess_bulk_min": 400.0, "ess_tail_min": 400.0, "n_divergent_max": 0}
OPTIONS = {"_defer_sampling", "centered", "draws", "tune", "chains", "cores", "nuts_sampler", "adaptation", "target_accept", "on_fail", "cache_dir",
           "prior_scale", "trials_distribution", "collapse", "progressbar", "compile"}


def _priors(f) -> dict:
    unknown = sorted(set(f.priors) - set(DEFAULT_PRIORS))
    if unknown:
        raise ModelSpecError(f"unknown prior keys {unknown}; valid: {sorted(DEFAULT_PRIORS)}")
    p = {**DEFAULT_PRIORS, **f.priors}
    s = float(f.options.get("prior_scale", 1.0))
    if not s > 0:
        raise ModelSpecError(f"prior_scale={s}: must be > 0")
    for k in ("intercept", "b", "sd_group", "sd_department", "cutpoints"):
        p[k] = float(p[k]) * s
    return p


#: Quadrature of the department latent in the share-class likelihood: the trapezoidal rule on
#: ``SHARE_QUADRATURE_NODES`` equally spaced nodes over ``[-h, h]``, ``h = SHARE_QUADRATURE_HALF_WIDTH``,
#: with normal weights. For a Gaussian-weighted integrand analytic in a strip (the binomial
#: probability of a class as a function of the logit) its error falls geometrically in the number
#: of nodes, Gauss-Hermite's only like exp(-c sqrt(nodes)): against adaptive quadrature, class
#: probabilities for n <= 10, sd_department <= 2 are within 1e-6 (log scale 1e-5) with 41 nodes,
#: where 20 Gauss-Hermite nodes are off by up to 4e-3 (4% on the log scale); see
#: tests/test_models_bayes.py::test_share_quadrature_matches_adaptive_integral.
SHARE_QUADRATURE_NODES = 41
SHARE_QUADRATURE_HALF_WIDTH = 7.0


def share_quadrature(nodes: int = SHARE_QUADRATURE_NODES,
                     half_width: float = SHARE_QUADRATURE_HALF_WIDTH) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``x`` and weights ``w`` (summing to 1) with ``E[g(Z)] ~ sum(w * g(x))``, ``Z ~ N(0, 1)``.

    The trapezoidal rule on equally spaced nodes over ``[-half_width, half_width]``, weights
    proportional to the standard normal density (see :data:`SHARE_QUADRATURE_NODES`).
    """
    x = np.linspace(-half_width, half_width, int(nodes))
    w = stats.norm.pdf(x)
    return x, w / w.sum()


def _class_codes(column: str, levels: list[str], merges: dict | None) -> list[list[str]]:
    """Codebook codes of ``column`` behind each model level (a merged level stands for several)."""
    from irmodels.codebook import categories

    try:
        from irmodels.schema import share_class

        share_class(column, 0, 1)
        codes = categories(column)
    except (KeyError, TypeError) as e:
        raise ModelSpecError(
            f"share_class={column!r}: the class of k of n is read from the codebook bins (irmodels.schema."
            f"share_class), but {column!r} is not a codebook share-class column ({e}); use e.g. "
            "'female_ir_share_class'") from None
    merged = dict((merges or {}).get(column, {}))
    out = []
    for lev in levels:
        olds = [str(o) for o in merged.get(lev, [lev])]
        bad = [o for o in olds if o not in codes]
        if bad:
            raise ModelSpecError(f"share class level {lev!r} of {column!r} is not a codebook code ({codes}) nor a "
                                 "merge of codes (option merge_categories)")
        out.append(olds)
    missing = [c for c in codes if not any(c in o for o in out)]
    if missing:
        raise ModelSpecError(f"share classes {missing} of {column!r} are not among the data's categories {levels}: "
                             "every k of n must fall in one modelled class (merge them with merge_categories)")
    return out


def share_class_mask(column: str, levels: list[str], n_values, merges: dict | None = None) -> np.ndarray:
    """Which success counts ``k`` give each share class, for each number of trials ``n``.

    The class of ``k`` of ``n`` is :func:`irmodels.schema.share_class` (the schema's rule, the one
    definition); a level made by ``merge_categories`` is the union of its codes.

    Parameters
    ----------
    column : str
        Codebook share-class column (e.g. ``"female_ir_share_class"``).
    levels : list of str
        The model's class levels in order (after any merge).
    n_values : sequence of int
        Numbers of trials (each >= 1).
    merges : dict, optional
        The ``merge_categories`` option of the fit.

    Returns
    -------
    ndarray (len(n_values), len(levels), max(n_values) + 1)
        ``mask[i, c, k] = 1.0`` iff ``k <= n_values[i]`` and ``k`` of ``n_values[i]`` is in class
        ``levels[c]``; every ``(n, k <= n)`` is in exactly one class.

    Examples
    --------
    >>> m = share_class_mask("female_ir_share_class", ["0", "1-25", "26-50", "51-75", ">75"], [4, 30])
    >>> m[1, :, 1]  # 1 of 30 (3.3%) is "1-25"
    array([0., 1., 0., 0., 0.])
    """
    from irmodels.schema import share_class

    codes = _class_codes(column, list(levels), merges)
    n_values = [int(v) for v in n_values]
    if any(v < 1 for v in n_values):
        raise ModelSpecError(f"share classes need >= 1 trial, got n = {sorted(set(n_values))}")
    K = max(n_values, default=0) + 1
    mask = np.zeros((len(n_values), len(codes), K))
    for i, n in enumerate(n_values):
        for k in range(n + 1):
            code = share_class(column, k, n)
            mask[i, [c for c, olds in enumerate(codes) if code in olds], k] = 1.0
    return mask


def _log_choose(n_values: np.ndarray, K: int) -> np.ndarray:
    """log C(n, k) for every n in ``n_values`` and k = 0..K-1 (0 where k > n: masked out by the class mask)."""
    n = np.asarray(n_values, dtype=float)[:, None]
    k = np.arange(K, dtype=float)[None, :]
    ok = k <= n
    out = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(np.where(ok, n - k, 0) + 1)
    return np.where(ok, out, 0.0)


def _class_pairs(weight: np.ndarray, mask: np.ndarray, cls: np.ndarray,
                 n_values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class cell, the class probability as a polynomial in the department share ``p``.

    Returns ``(n, k, log_weight)``, each (cells, terms), such that the probability of the cell's
    class given ``p`` is ``sum_terms exp(log_weight) p^k (1 - p)^(n - k)`` (``-inf`` on padding).

    Notes
    -----
    The class probability is ``P(c | p) = sum_n pi(n) sum_{k: class(k/n) = c} C(n, k) p^k
    q^(n - k)``, ``q = 1 - p``: a sum over the ``(n, k)`` pairs of the class (about 40 pairs when
    ``n`` runs over 1..10). Each ``p^k q^(n - k)`` is written in the Bernstein basis of degree
    ``N = max n`` (degree elevation: multiply by ``(p + q)^(N - n) = 1``)::

        p^k q^(n - k) = sum_{m=k}^{k+N-n} C(N - n, m - k) p^m q^(N - m)

    so ``P(c | p) = sum_{m=0}^{N} beta_m p^m q^(N - m)`` with
    ``beta_m = sum_n pi(n) sum_{k in c} C(n, k) C(N - n, m - k) >= 0``: at most ``N + 1`` terms
    (11 for teams of 1 to 10), every coefficient non-negative, so the log-sum-exp has no
    cancellation. The identity is exact; the model's likelihood tensor (cells x quadrature
    nodes x terms) is about 4 times smaller than with the pairs, and the gradient as much
    faster (share-model SBC design: 69 class cells, 41 pairs -> 11 terms).
    """
    n_values = np.asarray(n_values, dtype=int)
    K = mask.shape[2]
    logc = _log_choose(n_values, K)
    cells = []
    for j, c in enumerate(cls):
        contrib = weight[j][:, None] * mask[:, c, :]  # (n_values, k): pi(n) 1[class(k/n) = c]
        used = np.flatnonzero(contrib.sum(axis=1) > 0)
        N = int(n_values[used].max()) if len(used) else 0
        beta = np.zeros(N + 1)
        for i in used:
            n = int(n_values[i])
            ks = np.flatnonzero(contrib[i])
            lift = np.exp(_log_choose(np.array([N - n]), N - n + 1)[0])  # C(N - n, 0..N - n)
            for k in ks:
                beta[k:k + N - n + 1] += contrib[i, k] * np.exp(logc[i, k]) * lift
        m = np.flatnonzero(beta > 0)
        cells.append((np.full(len(m), N), m, np.log(beta[m])))
    P = max([len(c[0]) for c in cells], default=0)
    n = np.zeros((len(cells), P))
    k = np.zeros((len(cells), P))
    lw = np.full((len(cells), P), -np.inf)
    for j, (nj, kj, wj) in enumerate(cells):
        n[j, :len(nj)], k[j, :len(nj)], lw[j, :len(nj)] = nj, kj, wj
    return n, k, lw


def share_class_logprob(eta: np.ndarray, sd: np.ndarray, weight: np.ndarray, mask: np.ndarray, cls: np.ndarray,
                        n_values: np.ndarray, *, max_block: int = 4_000_000) -> np.ndarray:
    """Log-probability of the observed share class (numpy twin of the model's share-class likelihood).

    ``log P(class_j | eta_j, sd) = log sum_q w_q sum_n weight[j, n] sum_k mask[n, cls_j, k]
    Binom(k; n, expit(eta_j + sd x_q))`` with the nodes ``x_q`` and weights ``w_q`` of
    :func:`share_quadrature`.

    Parameters
    ----------
    eta : ndarray (S, J)
        Linear predictor per draw and class cell.
    sd : ndarray (S,)
        ``sd_department`` per draw.
    weight : ndarray (J, N)
        Distribution of the number of trials of each cell over ``n_values`` (one-hot where the
        row reports it).
    mask : ndarray (N, C, K)
        :func:`share_class_mask` for ``n_values``.
    cls : ndarray (J,)
        Class index of each cell.
    n_values : ndarray (N,)
        The numbers of trials.

    Returns
    -------
    ndarray (S, J)
    """
    x, w = share_quadrature()
    eta = np.atleast_2d(eta)
    sd = np.asarray(sd, dtype=float).reshape(-1)
    n, k, log_w = _class_pairs(weight, mask, np.asarray(cls), n_values)
    out = np.empty(eta.shape)
    J, P = n.shape
    step = max(1, max_block // max(1, J * len(x) * P))
    for s0 in range(0, eta.shape[0], step):
        t = eta[s0:s0 + step, :, None] + sd[s0:s0 + step, None, None] * x[None, None, :]  # (S, J, Q)
        lp, lq = -np.logaddexp(0.0, -t), -np.logaddexp(0.0, t)
        term = (log_w[None, :, None, :] + np.log(w)[None, None, :, None]
                + k[None, :, None, :] * lp[..., None] + (n - k)[None, :, None, :] * lq[..., None])
        out[s0:s0 + step] = special.logsumexp(term.reshape(term.shape[0], J, -1), axis=-1)
    return out


def _trials_distribution(f, n_reported: np.ndarray, trials: str) -> tuple[np.ndarray, np.ndarray]:
    """Distribution of the number of trials for class rows that do not report it: (values, probabilities).

    The option ``trials_distribution`` (mapping n -> probability) if given, else the empirical
    distribution of ``n_reported`` (the rows of the same data that report the number of trials).
    """
    opt = f.options.get("trials_distribution")
    if opt is None:
        n = n_reported[np.isfinite(n_reported) & (n_reported > 0)].astype(int)
        if not len(n):
            raise ModelSpecError(
                f"rows observed only by their share class do not report {trials!r}, and no row of the data "
                f"reports it: give its distribution with the option trials_distribution (mapping {trials} -> "
                "probability, e.g. {1: 0.2, 2: 0.3, 3: 0.5}), e.g. from a published distribution")
        vals, cnt = np.unique(n, return_counts=True)
        return vals, cnt / cnt.sum()
    try:
        items = [(int(k), float(v)) for k, v in dict(opt).items()]
    except (TypeError, ValueError):
        raise ModelSpecError(f"trials_distribution={opt!r}: must be a mapping from a number of trials (int >= 1) "
                             "to its probability") from None
    bad = [(k, v) for k, v in items if k < 1 or not np.isfinite(v) or v < 0]
    total = sum(v for _, v in items)
    if bad or not items or abs(total - 1.0) > 1e-6:
        raise ModelSpecError(f"trials_distribution: keys must be ints >= 1 and values probabilities summing to 1 "
                             f"(got invalid entries {bad}, sum {total:.6g})")
    items = sorted((k, v) for k, v in items if v > 0)
    return np.array([k for k, _ in items]), np.array([v for _, v in items]) / total


def collapse(X: np.ndarray, group: np.ndarray | None, *cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique (group, X, cols...) patterns: returns (pattern rows, inverse index, multiplicity)."""
    parts = [X]
    if group is not None:
        parts.append(group[:, None].astype(float))
    parts += [np.asarray(c, dtype=float)[:, None] for c in cols]
    key = np.ascontiguousarray(np.hstack(parts))
    # rows as opaque byte strings: np.unique on a 1-d void view is ~10x faster than axis=0
    rows = key.view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(rows, return_index=True, return_inverse=True, return_counts=True)
    return key[first], inverse.ravel(), counts


class _Prepared:
    """Likelihood inputs after collapsing (shared by model building and post-processing)."""

    def __init__(self, f):
        d = f.design
        self.kind = f.family
        X = d.X.to_numpy()
        self.terms = list(d.X.columns)
        self.group_name = f.group
        self.group_levels = d.group_levels
        do_collapse = bool(f.options.get("collapse", True))
        if f.family in ("bernoulli", "binomial") and d.share_class is None:
            k = d.y.astype(float)
            n = np.ones_like(k) if d.trials is None else d.trials.astype(float)
            if do_collapse:
                uniq, inv, _ = collapse(X, d.group)
                self.X = uniq[:, : X.shape[1]]
                self.g = uniq[:, X.shape[1]].astype(int) if d.group is not None else None
                self.k = np.bincount(inv, weights=k, minlength=len(uniq)).astype(int)
                self.n = np.bincount(inv, weights=n, minlength=len(uniq)).astype(int)
                self.row_cell = inv
            else:
                self.X, self.g, self.k, self.n = X, d.group, k.astype(int), n.astype(int)
                self.row_cell = np.arange(len(k))
            self.kind = "logistic"
        elif f.family == "binomial":
            has = d.share_class < 0
            self.kind = "latent"
            self.Xc, self.gc = X[has], (d.group[has] if d.group is not None else None)
            self.kc, self.nc = d.y[has], d.trials[has]
            self.row_is_count = has
            self._prepare_classes(f, X, has, do_collapse)
        elif f.family == "beta_binomial":
            self.X, self.g, self.k, self.n = X, d.group, d.y, d.trials
            self.kind = "beta_binomial"
        else:  # ordinal
            K = len(d.categories)
            if do_collapse:
                uniq, inv, _ = collapse(X, d.group)
            else:
                uniq = np.hstack([X] + ([d.group[:, None].astype(float)] if d.group is not None else []))
                inv = np.arange(len(X))
            counts = np.zeros((len(uniq), K), dtype=int)
            np.add.at(counts, (inv, d.y), 1)
            self.X = uniq[:, : X.shape[1]]
            self.g = uniq[:, X.shape[1]].astype(int) if d.group is not None else None
            self.counts = counts
            self.categories = d.categories
            self.row_cell = inv
            self.kind = "ordinal"

    def _prepare_classes(self, f, X: np.ndarray, has: np.ndarray, do_collapse: bool) -> None:
        """Class-only rows: cells of (covariates, group, class, reported number of trials or none).

        Sets ``Xs``, ``gs``, ``cls``, ``mult`` (rows per cell), ``class_row_cell`` (cell of each
        class-only row), ``n_values`` (support of the number of trials), ``weight`` (cell x
        ``n_values``: one-hot where the row reports its number of trials, else the trials
        distribution) and ``mask`` (:func:`share_class_mask`).
        """
        d = f.design
        trials, column = f.options["trials"], f.options["share_class"]
        n_rep = pd.to_numeric(d.data[trials], errors="coerce").to_numpy(dtype=float)
        cls = d.share_class[~has]
        n_cls = n_rep[~has]
        known = np.isfinite(n_cls)
        bad = known & ((n_cls <= 0) | (n_cls != np.round(n_cls)))
        if bad.any():
            rows = list(d.data.index[~has][bad][:10])
            raise ModelSpecError(f"rows {rows} have a {column!r} and {trials} = {sorted(set(n_cls[bad]))[:10]}: the "
                                 f"class needs a whole number >= 1 of trials (with {trials} = 0 the share is undefined "
                                 "and the schema requires the class to be missing)")
        self.Xs, self.gs = X[~has], (d.group[~has] if d.group is not None else None)
        self.cls = cls.astype(int)
        self.mult = np.ones(len(cls))
        self.class_row_cell = np.arange(len(cls))
        self.share_column, self.share_levels = column, list(d.share_class_levels)
        if not len(cls):
            self.n_values = np.zeros(0, dtype=int)
            self.weight = np.zeros((0, 0))
            self.mask = np.zeros((0, len(self.share_levels), 0))
            return
        pi_n = pi_p = None
        if (~known).any():
            pi_n, pi_p = _trials_distribution(f, n_rep, trials)
        support = set(n_cls[known].astype(int).tolist()) | set([] if pi_n is None else pi_n.tolist())
        self.n_values = np.array(sorted(support), dtype=int)
        self.mask = share_class_mask(column, self.share_levels, self.n_values, f.options.get("merge_categories"))
        n_key = np.where(known, n_cls, 0.0)  # 0: not reported
        if do_collapse:
            uniq, inv, cnt = collapse(self.Xs, self.gs, self.cls, n_key)
            p = X.shape[1]
            self.Xs = uniq[:, :p]
            self.gs = uniq[:, p].astype(int) if d.group is not None else None
            self.cls = uniq[:, -2].astype(int)
            n_key = uniq[:, -1]
            self.mult = cnt.astype(float)
            self.class_row_cell = inv
        pos = {n: i for i, n in enumerate(self.n_values.tolist())}
        self.weight = np.zeros((len(self.cls), len(self.n_values)))
        for j, n in enumerate(n_key.astype(int)):
            if n > 0:
                self.weight[j, pos[n]] = 1.0
            else:
                self.weight[j, [pos[v] for v in pi_n.tolist()]] = pi_p
        # a class no number of trials can give (1-25 of 1 IR) has probability 0: the data contradict the model
        possible = np.einsum("jn,njk->j", self.weight, self.mask[:, self.cls, :]) > 0
        if not possible.all():
            bad = [(self.share_levels[self.cls[j]], int(n_key[j]) or "unreported") for j in np.flatnonzero(~possible)]
            raise ModelSpecError(f"share classes impossible for the number of trials (class, {trials}): {bad[:10]}; "
                                 f"support of {trials}: {self.n_values.tolist()} (option trials_distribution)")

    def class_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`_class_pairs` of the class cells."""
        return _class_pairs(self.weight, self.mask, self.cls, self.n_values)


def _gdata(g, name, dim):
    """Group index as model data (so a compiled model can be re-used with new data)."""
    import pymc as pm

    return None if g is None else pm.Data(name, np.asarray(g, dtype="int64"), dims=dim)


AUTO_CENTRED_MIN_TRIALS = 1000


def _auto_centered(prep) -> bool:
    """``centered="auto"``: centred group intercepts when every group is large.

    Non-centred intercepts sample well when groups are small (the 2017 survey: 1-15
    departments per country); with thousands of respondents in every group the
    likelihood pins each intercept down and the centred form samples better (the
    non-centred one fails the convergence gate at 10^6 simulated respondents).
    Rule: centred iff the smallest group has at least ``AUTO_CENTRED_MIN_TRIALS``
    trials; only for the collapsed logistic model (other families stay non-centred).
    """
    if prep.kind != "logistic" or prep.g is None:
        return False
    trials = np.bincount(np.asarray(prep.g), weights=np.asarray(prep.n, dtype=float), minlength=len(prep.group_levels))
    return bool(trials.min() >= AUTO_CENTRED_MIN_TRIALS)


def build_model(f):
    """Build the PyMC model of fit ``f`` (named dims/coords); returns ``(model, prepared)``."""
    import pymc as pm
    import pytensor.tensor as pt

    prep = _Prepared(f)
    pri = _priors(f)
    coords: dict[str, list] = {"term": prep.terms}
    gname = prep.group_name
    if gname:
        coords[gname] = list(prep.group_levels)
    if prep.kind == "ordinal":
        coords["cutpoint"] = [f"{a}|{b}" for a, b in zip(prep.categories[:-1], prep.categories[1:])]
        coords["category"] = list(prep.categories)
    scales = np.array([pri["intercept"] if t == "Intercept" else pri["b"] for t in prep.terms])
    with pm.Model(coords=coords) as model:
        b = pm.Normal("b", mu=0.0, sigma=scales, dims="term")

        def group_effect(gidx):
            if not gname or gidx is None:
                return 0.0
            sd = pm.HalfNormal(f"sd_{gname}", sigma=pri["sd_group"]) if f"sd_{gname}" not in model.named_vars \
                else model[f"sd_{gname}"]
            if f"a_{gname}" not in model.named_vars:
                centered = f.options.get("centered", "auto")
                if centered == "auto":
                    centered = _auto_centered(prep)
                f.extra["centered"] = bool(centered)
                if centered:
                    # centred: better when every group has many respondents (e.g. 10^6 simulated)
                    pm.Normal(f"a_{gname}", 0.0, sd, dims=gname)
                else:
                    z = pm.Normal(f"z_{gname}", 0.0, 1.0, dims=gname)
                    pm.Deterministic(f"a_{gname}", sd * z, dims=gname)
            return model[f"a_{gname}"][gidx]

        if prep.kind == "logistic":
            model.add_coord("obs", np.arange(len(prep.k)))
            Xd = pm.Data("X", prep.X, dims=("obs", "term"))
            eta = pt.dot(Xd, b) + group_effect(_gdata(prep.g, "g", "obs"))
            pm.Binomial("y", n=pm.Data("n", prep.n, dims="obs"), logit_p=eta,
                        observed=pm.Data("k", prep.k, dims="obs"), dims="obs")
        elif prep.kind == "beta_binomial":
            model.add_coord("obs", np.arange(len(prep.k)))
            Xd = pm.Data("X", prep.X, dims=("obs", "term"))
            mu = pm.math.invlogit(pt.dot(Xd, b) + group_effect(_gdata(prep.g, "g", "obs")))
            alpha_, beta_ = pri["phi"]
            phi = pm.Gamma("phi", alpha=alpha_, beta=beta_)
            pm.BetaBinomial("y", n=pm.Data("n", prep.n, dims="obs"), alpha=mu * phi, beta=(1 - mu) * phi,
                            observed=pm.Data("k", prep.k, dims="obs"), dims="obs")
        elif prep.kind == "ordinal":
            model.add_coord("obs", np.arange(len(prep.X)))
            Xd = pm.Data("X", prep.X, dims=("obs", "term"))
            eta = pt.dot(Xd, b) + group_effect(_gdata(prep.g, "g", "obs"))
            K = len(prep.categories)
            cut = pm.Normal("cutpoints", mu=0.0, sigma=pri["cutpoints"], dims="cutpoint",
                            transform=pm.distributions.transforms.ordered,
                            initval=np.linspace(-1.5, 1.5, K - 1))
            counts = pm.Data("counts", prep.counts, dims=("obs", "category"))
            pm.OrderedMultinomial("y", eta=eta, cutpoints=cut, n=counts.sum(axis=1), observed=counts,
                                  dims=("obs", "category"))
        else:  # latent proportion: counts and/or share classes
            sd_dep = pm.HalfNormal("sd_department", sigma=pri["sd_department"])
            if len(prep.kc):
                model.add_coord("obs", np.arange(len(prep.kc)))
                Xc = pm.Data("X", prep.Xc, dims=("obs", "term"))
                u = pm.Normal("u_department", 0.0, 1.0, dims="obs")
                eta_c = pt.dot(Xc, b) + group_effect(_gdata(prep.gc, "g", "obs")) + sd_dep * u
                pm.Binomial("y", n=pm.Data("n", prep.nc, dims="obs"), logit_p=eta_c,
                            observed=pm.Data("k", prep.kc, dims="obs"), dims="obs")
            if len(prep.cls):
                model.add_coord("class_cell", np.arange(len(prep.cls)))
                Xs = pm.Data("X_class", prep.Xs, dims=("class_cell", "term"))
                eta_s = pt.dot(Xs, b) + group_effect(_gdata(prep.gs, "g_class", "class_cell"))
                # each cell's class probability (schema rule) as Bernstein terms (n, k, log coefficient), padded
                pair_n, pair_k, pair_logw = prep.class_pairs()
                model.add_coord("class_pair", np.arange(pair_n.shape[1]))
                n_val = pm.Data("pair_trials", pair_n, dims=("class_cell", "class_pair"))
                k_val = pm.Data("pair_successes", pair_k, dims=("class_cell", "class_pair"))
                # log P(trials = n) + log C(n, k); -inf pads
                log_w = pm.Data("pair_log_weight", pair_logw, dims=("class_cell", "class_pair"))
                mult = pm.Data("multiplicity", prep.mult, dims="class_cell")
                xq, wq = share_quadrature()
                t = eta_s[:, None] + sd_dep * pt.as_tensor(xq)[None, :]  # (cell, node) latent logits
                log_p, log_q = -pt.softplus(-t), -pt.softplus(t)
                term = (log_w[:, None, :] + pt.as_tensor(np.log(wq))[None, :, None]
                        + k_val[:, None, :] * log_p[:, :, None] + (n_val - k_val)[:, None, :] * log_q[:, :, None])
                lp = pt.logsumexp(term, axis=(1, 2))
                pm.Potential("share_class_loglik", pt.sum(mult * lp))
    return model, prep


def _cache_path(cache_dir: Path, f) -> Path:
    return Path(cache_dir) / f"{f.extra['content_hash']}.nc"


def _save_netcdf(idata, path: Path, f) -> None:
    """Write the posterior with provenance attrs (spec, data hash, seed), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    idata.attrs.update({
        "spec": json.dumps({"formula": f.formula, "family": f.family, "engine": f.engine, "group": f.group,
                            "priors": f.priors, "options": {k: v for k, v in f.options.items() if k != "cache_dir"}},
                           sort_keys=True, default=str),
        "spec_id": f.spec_id,
        "data_hash": f.data_hash,
        "seed": int(f.seed),
        "content_hash": f.extra["content_hash"],
    })
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".nc", dir=path.parent)
    os.close(fd)
    try:
        idata.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_netcdf(path: Path):
    import xarray as xr

    with xr.open_datatree(path, engine="h5netcdf") as dt:
        return dt.load()


def _draw_shape(idata) -> tuple[int, int]:
    post = idata["posterior"]
    return int(post.sizes.get("chain", 0)), int(post.sizes.get("draw", 0))


def _load_trusted(path: Path, f, st: dict):
    """A cached posterior, or None after moving an untrustworthy entry aside (with a CacheWarning).

    Trusted only when it reads completely, carries the content hash, data hash and spec id
    of this fit (a posterior copied into another model's slot is refused), and has every
    chain and draw asked for (a partial posterior from an interrupted run is refused).
    """
    from irmodels.errors import CacheWarning

    reason = None
    try:
        idata = _load_netcdf(path)
    except Exception as exc:  # truncated or not NetCDF at all: h5py/xarray raise their own types
        idata, reason = None, f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"
    if idata is not None:
        attrs = dict(idata.attrs)
        want = {"content_hash": f.extra["content_hash"], "data_hash": f.data_hash}
        bad = [k for k, v in want.items() if str(attrs.get(k)) != str(v)]
        if bad:
            reason = f"made by another fit ({', '.join(bad)} differ)"
        elif _draw_shape(idata) != (st["chains"], st["draws"]):
            reason = (f"incomplete posterior: {_draw_shape(idata)} chains x draws, "
                      f"{(st['chains'], st['draws'])} expected")
        elif not check_convergence(idata)["converged"]:
            reason = "a posterior that fails the convergence gate is never cached"
    if reason is None:
        return idata
    aside = path.with_name(f"{path.name}.untrusted-{os.getpid()}")
    try:
        os.replace(path, aside)
    except OSError:
        aside = None
    warnings.warn(f"fit cache entry {path} not used: {reason}; "
                  + (f"moved to {aside}; " if aside else "") + "refitting", CacheWarning, stacklevel=4)
    return None


def _settings(f, prep) -> dict:
    on_fail = f.options.get("on_fail", "raise")
    if on_fail not in ("raise", "warn"):
        raise ModelSpecError(f"on_fail={on_fail!r}: valid values are 'raise' and 'warn'")
    sampler = f.options.get("nuts_sampler", "nutpie")
    if sampler not in ("nutpie", "pymc"):
        raise ModelSpecError(f"nuts_sampler={sampler!r}: valid values are 'nutpie' and 'pymc'")
    if sampler != "nutpie" and "adaptation" in f.options:
        raise ModelSpecError("adaptation applies to nuts_sampler='nutpie' only")
    compile_ = f.options.get("compile", "cached")
    if compile_ not in ("cached", "nutpie"):
        raise ModelSpecError(f"compile={compile_!r}: valid values are 'cached' (default) and 'nutpie'")
    chains = int(f.options.get("chains", 4))
    return {
        "on_fail": on_fail,
        "sampler": sampler,
        # how nutpie's callbacks are compiled: "cached" re-uses machine code across
        # fits and processes (irmodels.models.nutpie_cache); "nutpie" recompiles every time
        "compile": compile_,
        "draws": int(f.options.get("draws", 1000)),
        "tune": int(f.options.get("tune", 1000)),
        "chains": chains,
        "cores": int(f.options.get("cores", min(chains, 2))),
        "target_accept": float(f.options.get("target_accept", 0.9)),
        "progressbar": bool(f.options.get("progressbar", False)),
        # low-rank mass-matrix adaptation absorbs the intercept/offset correlation of
        # non-centred country intercepts (bulk ESS ~3x that of the diagonal adaptation),
        # and the intercept/contrast correlation of the latent-proportion model with the
        # binomial share-class likelihood: min ESS of b and sd_department per second 1.2x
        # (600 departments, 250 with counts) and 1.8x (300, 90 with counts) that of the
        # diagonal adaptation, whose intercept failed the R-hat gate at 1000 draws
        "adaptation": f.options.get("adaptation", "low_rank"),
    }


def compile_nutpie(model, st: dict) -> tuple[Any, str]:
    """Compile ``model`` for nutpie: disk-cached callbacks by default, nutpie's own on request.

    ``st["compile"] == "cached"`` (default) uses :func:`irmodels.models.nutpie_cache.compile_model`
    (same sampler, callbacks cached across processes); ``"nutpie"`` calls
    ``nutpie.compile_pymc_model``. Both compile without fast-math
    (:func:`irmodels.models.nutpie_cache.exact_float`), so draws do not depend on the
    state of the compile caches. Returns the compiled model and where it came from.
    """
    from irmodels.models.nutpie_cache import compile_model, compile_uncached

    if st["compile"] == "nutpie":
        return compile_uncached(model), "none"
    return compile_model(model)


def _sample(model, st: dict, seed: int, compiled=None):
    """Draw from the posterior: nutpie (compiled once, data swappable) or PyMC's own NUTS."""
    if st["sampler"] == "nutpie":
        import nutpie

        cm = compiled if compiled is not None else compile_nutpie(model, st)[0]
        return nutpie.sample(cm, draws=st["draws"], tune=st["tune"], chains=st["chains"], cores=st["cores"],
                             seed=int(seed), progress_bar=st["progressbar"], save_warmup=False,
                             adaptation=st["adaptation"], target_accept=st["target_accept"])
    import pymc as pm

    with model, warnings.catch_warnings():
        # the gate reports convergence in one place; PyMC's own messages would duplicate it
        warnings.filterwarnings("ignore", message=".*(divergen|r_hat|R-hat|effective sample).*")
        return pm.sample(draws=st["draws"], tune=st["tune"], chains=st["chains"], cores=st["cores"],
                         random_seed=int(seed), nuts_sampler="pymc", progressbar=st["progressbar"],
                         compute_convergence_checks=False, nuts={"target_accept": st["target_accept"]})


def _gate(f, idata, on_fail: str, diag: dict | None = None) -> None:
    f.result = idata
    diag = check_convergence(idata) if diag is None else diag
    f.extra["convergence"] = diag
    if not diag["converged"]:
        msg = (f"fit {f.spec_id!r} failed the convergence gate (R-hat <= {GATE['r_hat_max']}, bulk/tail ESS >= "
               f"{GATE['ess_bulk_min']:.0f}, no divergences): max R-hat {diag['r_hat_max']:.3f}, min bulk ESS "
               f"{diag['ess_bulk_min']:.0f}, min tail ESS {diag['ess_tail_min']:.0f}, {diag['n_divergent']} "
               "divergences. Increase draws/tune or target_accept, or reparameterise")
        if on_fail == "raise":
            raise ConvergenceError(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=4)


def fit_pymc(f, cache_dir: Path | None = None) -> None:
    """Sample the posterior of fit ``f`` (or load it from ``cache_dir``) and apply the convergence gate."""
    model, prep = build_model(f)
    st = _settings(f, prep)
    f.extra["model"], f.extra["prepared"] = model, prep
    idata = None
    if cache_dir is not None:
        cdir = Path(cache_dir)
        if cdir.exists() and not cdir.is_dir():
            raise ModelSpecError(f"cache_dir {cdir} is a file; give a directory (checked before sampling)")
        if _cache_path(cdir, f).exists():
            idata = _load_trusted(_cache_path(cdir, f), f, st)
            f.extra["from_cache"] = idata is not None
    if idata is None:
        compiled = None
        if st["sampler"] == "nutpie":
            compiled, f.extra["compile_cache"] = compile_nutpie(model, st)
        idata = _sample(model, st, f.seed, compiled=compiled)
        f.extra["from_cache"] = False
        if _draw_shape(idata) != (st["chains"], st["draws"]):
            # nutpie returns what it has when interrupted: never gate, cache or report a partial posterior
            raise KeyboardInterrupt(f"sampling interrupted: {_draw_shape(idata)} chains x draws of "
                                    f"{(st['chains'], st['draws'])}; nothing was cached")
        # the cache takes a posterior only after it passed the gate (written atomically)
        diag = check_convergence(idata)
        if cache_dir is not None and diag["converged"]:
            _save_netcdf(idata, _cache_path(cache_dir, f), f)
        _gate(f, idata, st["on_fail"], diag)
        return
    _gate(f, idata, st["on_fail"])


def _data_values(model, prep) -> dict:
    """Current values of every pm.Data container (the arrays nutpie can swap)."""
    return {v.name: v.get_value() for v in model.data_vars}


def fit_ensemble(formula: str, ensemble: pd.DataFrame, *, family: str, group: str | None = None,
                 replicate_col: str = "replicate", seed: int = 0, priors: dict | None = None,
                 **options: Any) -> list:
    """Fit one Bayesian model to every replicate of a reconstruction ensemble, compiling once.

    The model is built and compiled (nutpie) for the first replicate; later
    replicates only swap the data arrays (rows are not collapsed, so every
    replicate has the same shapes). Replicate ``r`` is sampled with seed
    ``seed + r``; each posterior passes the convergence gate (``on_fail``).

    Parameters
    ----------
    formula, family, group, priors, options
        As for :func:`irmodels.fit` with ``engine="pymc"`` (``cache_dir`` caches each replicate).
    ensemble : DataFrame
        Long table with ``replicate_col`` (:func:`irmodels.reconstruction.reconstruct`).

    Returns
    -------
    list of Fit
        One fit per replicate, in replicate order; ``fit.extra["replicate"]`` holds the label.

    Raises
    ------
    ModelSpecError
        Replicates differ in rows or group levels after the missing-data rule
        (then fit them one by one with :func:`irmodels.fit`).
    """
    from irmodels.models.fit import fit as fit_one

    if replicate_col not in ensemble.columns:
        raise ModelSpecError(f"ensemble has no column {replicate_col!r}")
    options = {**options, "collapse": False}
    fits = []
    compiled = None
    ref = None
    for r, rep in ensemble.groupby(replicate_col, sort=True):
        data = rep.drop(columns=replicate_col).reset_index(drop=True)
        f = fit_one(formula, data, family=family, engine="pymc", group=group, seed=int(seed) + int(r),
                    priors=priors, _defer_sampling=True, **options)
        model, prep = f.extra["model"], f.extra["prepared"]
        st = _settings(f, prep)
        values = _data_values(model, prep)
        shape = ({k: np.shape(v) for k, v in values.items()}, tuple(f.design.group_levels or ()))
        if ref is None:
            ref = shape
        elif shape != ref:
            raise ModelSpecError(f"replicate {r} has different data shapes or group levels than the first "
                                 f"({shape} vs {ref}); fit replicates one by one")
        cache_dir = options.get("cache_dir")
        idata = None
        if cache_dir is not None and _cache_path(Path(cache_dir), f).exists():
            idata = _load_netcdf(_cache_path(Path(cache_dir), f))
            f.extra["from_cache"] = True
        if idata is None:
            if st["sampler"] == "nutpie":
                if compiled is None:
                    compiled, f.extra["compile_cache"] = compile_nutpie(model, st)
                idata = _sample(model, st, f.seed, compiled=compiled.with_data(**values))
            else:
                idata = _sample(model, st, f.seed)
            f.extra["from_cache"] = False
            if cache_dir is not None:
                _save_netcdf(idata, _cache_path(Path(cache_dir), f), f)
        _gate(f, idata, st["on_fail"])
        f.extra["replicate"] = r
        fits.append(f)
    return fits


def _free_vars(idata) -> list[str]:
    post = idata["posterior"]
    names = [str(v) for v in post.data_vars]
    # deterministic a_<group> = sd * z is a function of free parameters already checked
    return [v for v in names if not (v.startswith("a_") and "z_" + v[2:] in names)]


def check_convergence(idata) -> dict:
    """The convergence gate over every free parameter.

    Returns
    -------
    dict
        ``r_hat_max``, ``ess_bulk_min``, ``ess_tail_min``, ``n_divergent`` and
        ``converged`` (bool: all criteria of :data:`GATE` met).
    """
    import arviz as az

    ds = idata["posterior"].to_dataset()[_free_vars(idata)]
    rh = az.rhat(ds)
    eb = az.ess(ds, method="bulk")
    et = az.ess(ds, method="tail")
    rmax = float(max(np.nanmax(np.asarray(rh[v])) for v in rh.data_vars))
    bmin = float(min(np.nanmin(np.asarray(eb[v])) for v in eb.data_vars))
    tmin = float(min(np.nanmin(np.asarray(et[v])) for v in et.data_vars))
    ndiv = int(np.asarray(idata["sample_stats"]["diverging"]).sum())
    ok = (rmax <= GATE["r_hat_max"] and bmin >= GATE["ess_bulk_min"] and tmin >= GATE["ess_tail_min"]
          and ndiv <= GATE["n_divergent_max"])
    return {"r_hat_max": rmax, "ess_bulk_min": bmin, "ess_tail_min": tmin, "n_divergent": ndiv, "converged": ok}


def _reported(f) -> list[tuple[str, np.ndarray]]:
    """(term, draws (chain, draw)) for every reported parameter."""
    post = f.result["posterior"]
    out = []
    b = np.asarray(post["b"])
    for j, t in enumerate(f.design.X.columns):
        out.append((t, b[..., j]))
    if "cutpoints" in post:
        cut = np.asarray(post["cutpoints"])
        cats = f.design.categories
        for j in range(cut.shape[-1]):
            out.append((f"threshold[{cats[j]}|{cats[j + 1]}]", cut[..., j]))
    if f.group and f"sd_{f.group}" in post:
        out.append((f"sd({f.group})", np.asarray(post[f"sd_{f.group}"])))
    if "sd_department" in post:
        out.append(("sd_department", np.asarray(post["sd_department"])))
    if "phi" in post:
        out.append(("phi", np.asarray(post["phi"])))
    return out


def _summ(draws: np.ndarray, ci_prob: float) -> dict:
    import arviz as az
    import xarray as xr

    ds = xr.Dataset({"x": (("chain", "draw"), draws)})
    q = (1 - ci_prob) / 2
    return {
        "estimate": float(draws.mean()),
        "std_error": float(draws.std(ddof=1)),
        "lower": float(np.quantile(draws, q)),
        "upper": float(np.quantile(draws, 1 - q)),
        "r_hat": float(az.rhat(ds)["x"]),
        "ess_bulk": float(az.ess(ds, method="bulk")["x"]),
        "ess_tail": float(az.ess(ds, method="tail")["x"]),
    }


def tidy_pymc(f, ci_prob: float) -> pd.DataFrame:
    """Tidy rows of a PyMC fit: posterior mean, sd, equal-tailed interval, diagnostics."""
    rows = []
    diag = f.extra["convergence"]
    for term, draws in _reported(f):
        rows.append({"term": term, **_summ(draws, ci_prob)})
    out = pd.DataFrame(rows)
    out["method"] = "pymc_nuts" if f.options.get("nuts_sampler", "nutpie") == "pymc" else "pymc_nutpie"
    out["n_divergent"] = diag["n_divergent"]
    out["converged"] = bool(diag["converged"])
    return out


def group_effects(f, ci_prob: float = 0.95) -> pd.DataFrame:
    """Posterior summary of the group (country) intercepts ``a_<group>``.

    Returns
    -------
    DataFrame
        ``group`` (level label), ``estimate``, ``std_error``, ``lower``,
        ``upper``, ``n`` (respondents in the level), ``spec_id``.
    """
    if f.engine != "pymc" or not f.group:
        raise ModelSpecError("group_effects needs a pymc fit with a group")
    a = np.asarray(f.result["posterior"][f"a_{f.group}"])
    counts = np.bincount(f.design.group, minlength=len(f.design.group_levels))
    rows = []
    for j, lev in enumerate(f.design.group_levels):
        s = _summ(a[..., j], ci_prob)
        rows.append({"group": lev, "estimate": s["estimate"], "std_error": s["std_error"], "lower": s["lower"],
                     "upper": s["upper"], "n": int(counts[j])})
    out = pd.DataFrame(rows)
    out["spec_id"] = f.spec_id
    return out


def posterior_draws(f, name: str) -> np.ndarray:
    """Draws of a posterior variable flattened over chains: shape (S, ...)."""
    arr = np.asarray(f.result["posterior"][name])
    return arr.reshape((-1,) + arr.shape[2:])


def _linear_predictor(f, X: np.ndarray, g: np.ndarray | None) -> np.ndarray:
    b = posterior_draws(f, "b")
    eta = b @ X.T
    if f.group and g is not None:
        a = posterior_draws(f, f"a_{f.group}")
        eta = eta + a[:, g]
    return eta


def pointwise_log_likelihood(f) -> np.ndarray:
    """Log-likelihood of every original row (department) per draw, shape (chain, draw, row).

    Rows, not collapsed cells, are the units, so PSIS-LOO compares models
    with different predictors on the same observations. For the latent
    proportion model, count rows are conditional on the sampled department
    latent ``u_i``; class rows are marginal (see the module notes).
    """
    d = f.design
    post = f.result["posterior"]
    C, D = post.sizes["chain"], post.sizes["draw"]
    X = d.X.to_numpy()
    if f.family == "ordinal":
        eta = _linear_predictor(f, X, d.group)
        cut = posterior_draws(f, "cutpoints")
        cdf = special.expit(cut[:, None, :] - eta[:, :, None])
        cdf = np.concatenate([np.zeros(cdf.shape[:2] + (1,)), cdf, np.ones(cdf.shape[:2] + (1,))], axis=2)
        probs = np.diff(cdf, axis=2)
        ll = np.log(np.take_along_axis(probs, np.broadcast_to(d.y[None, :, None], probs.shape[:2] + (1,)), 2)[..., 0])
    elif f.family == "beta_binomial":
        mu = special.expit(_linear_predictor(f, X, d.group))
        phi = posterior_draws(f, "phi")[:, None]
        ll = stats.betabinom.logpmf(d.y[None, :], d.trials[None, :], mu * phi, (1 - mu) * phi)
    elif d.share_class is None:
        eta = _linear_predictor(f, X, d.group)
        n = np.ones(len(d.y)) if d.trials is None else d.trials.astype(float)
        k = d.y.astype(float)
        # binomial log-pmf on the logit scale (stable, and much faster than scipy's pmf)
        log_choose = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
        ll = log_choose + k * (-np.logaddexp(0, -eta)) + (n - k) * (-np.logaddexp(0, eta))
    else:
        prep = f.extra["prepared"]
        eta = _linear_predictor(f, X, d.group)
        sd = posterior_draws(f, "sd_department")[:, None]
        ll = np.zeros_like(eta)
        has = prep.row_is_count
        if has.any():
            u = posterior_draws(f, "u_department")
            ll[:, has] = stats.binom.logpmf(d.y[has][None, :], d.trials[has][None, :],
                                            special.expit(eta[:, has] + sd * u))
        if (~has).any():
            # the class likelihood of the model, per collapsed cell, then given to each of its rows
            eta_cell = _linear_predictor(f, prep.Xs, prep.gs)
            ll_cell = share_class_logprob(eta_cell, sd[:, 0], prep.weight, prep.mask, prep.cls, prep.n_values)
            ll[:, ~has] = ll_cell[:, prep.class_row_cell]
    return ll.reshape(C, D, -1)


def loo(f):
    """PSIS-LOO (ArviZ) over departments; returns the ArviZ ELPDData."""
    import arviz as az
    import xarray as xr

    ll = pointwise_log_likelihood(f)
    dt = f.result.copy()
    dt["log_likelihood"] = xr.DataTree(xr.Dataset({"y": (("chain", "draw", "row"), ll)}))
    return az.loo(dt, var_name="y")


def compare(fits: dict[str, Any]) -> pd.DataFrame:
    """PSIS-LOO comparison of fits on the same rows (``arviz.compare``), best first."""
    import arviz as az

    n_rows = {k: len(f.design.y) for k, f in fits.items()}
    if len(set(n_rows.values())) != 1:
        raise ModelSpecError(f"LOO comparison needs the same rows in every fit, got {n_rows}")
    return az.compare({k: loo(f) for k, f in fits.items()})


def _predict_prob(f, X: np.ndarray, g: np.ndarray | None, *, rng: np.random.Generator | None = None) -> np.ndarray:
    """Posterior draws (S, rows) of the expected outcome probability for new design rows.

    For the latent-proportion model the department latent is integrated out
    (:func:`share_quadrature`): the expected share of female IRs of a new
    department with these covariates.
    """
    eta = _linear_predictor(f, X, g)
    if "sd_department" in f.result["posterior"]:
        x, w = share_quadrature()
        sd = posterior_draws(f, "sd_department")[:, None, None]
        return np.sum(special.expit(eta[..., None] + sd * x[None, None, :]) * w, axis=-1)
    return special.expit(eta)


def ppc_table(f, by: str | None = None, *, seed: int = 0, ci_prob: float = 0.95, n_rep: int = 1000) -> pd.DataFrame:
    """Posterior predictive check: observed vs replicated proportions by a column.

    Replicated data are drawn from the posterior predictive at the observed
    rows (binomial/bernoulli: outcome counts; ordinal: category counts;
    latent model: successes of the count rows, and the share classes of the
    class-only rows drawn as the likelihood has them: number of trials as
    reported or from the trials distribution, a new department latent,
    binomial successes, the schema's class of ``k/n``), summed by ``by`` (or
    overall).

    Returns
    -------
    DataFrame
        ``level`` (value of ``by`` or ``"all"``), ``category`` (ordinal
        category or share class) or ``"success"``, ``observed`` (proportion), ``rep_mean``, ``rep_lower``,
        ``rep_upper`` (interval of the replicated proportion), ``p_value``
        (posterior predictive P(rep >= observed)), ``spec_id``.
    """
    rng = np.random.default_rng(seed)
    d = f.design
    X = d.X.to_numpy()
    levels = d.data[by].astype(str).to_numpy() if by else np.array(["all"] * len(X))
    col = d.data[by] if by else None
    # levels in category order when the column is categorical (e.g. beds classes), else sorted
    order = ([str(c) for c in col.cat.categories if str(c) in set(levels)]
             if col is not None and isinstance(col.dtype, pd.CategoricalDtype) else list(np.unique(levels)))
    q = (1 - ci_prob) / 2
    eta = _linear_predictor(f, X, d.group)
    S = eta.shape[0]
    idx = rng.choice(S, size=min(n_rep, S), replace=False)
    eta = eta[idx]
    rows = []
    if f.family == "ordinal":
        cut = posterior_draws(f, "cutpoints")[idx]
        cdf = special.expit(cut[:, None, :] - eta[:, :, None])
        cdf = np.concatenate([np.zeros(cdf.shape[:2] + (1,)), cdf, np.ones(cdf.shape[:2] + (1,))], axis=2)
        probs = np.clip(np.diff(cdf, axis=2), 0, None)
        u = rng.random(eta.shape)[..., None]
        yrep = (u > np.cumsum(probs, axis=2)).sum(axis=2)
        yrep = np.minimum(yrep, len(d.categories) - 1)
        for lev in order:
            m = levels == lev
            for j, cat in enumerate(d.categories):
                rep = (yrep[:, m] == j).mean(axis=1)
                obs = float((d.y[m] == j).mean())
                rows.append({"level": lev, "category": cat, "observed": obs, "rep_mean": rep.mean(),
                             "rep_lower": np.quantile(rep, q), "rep_upper": np.quantile(rep, 1 - q),
                             "p_value": float((rep >= obs).mean())})
    else:
        if d.share_class is not None:
            m_rows = d.share_class < 0
        else:
            m_rows = np.ones(len(X), dtype=bool)
        n = np.ones(len(X)) if d.trials is None else np.maximum(d.trials, 0)
        if f.family == "beta_binomial":
            phi = posterior_draws(f, "phi")[idx][:, None]
            mu = special.expit(eta)
            p = rng.beta(mu * phi, (1 - mu) * phi)
        elif d.share_class is not None:
            sd = posterior_draws(f, "sd_department")[idx][:, None]
            p = special.expit(eta + sd * rng.standard_normal(eta.shape))  # a new department from the model
        else:
            p = special.expit(eta)
        krep = rng.binomial(n[None, :].astype(int), p)
        for lev in order:
            m = (levels == lev) & m_rows
            if not m.any() or n[m].sum() == 0:
                continue
            rep = krep[:, m].sum(axis=1) / n[m].sum()
            obs = float(d.y[m].sum() / n[m].sum())
            rows.append({"level": lev, "category": "success", "observed": obs, "rep_mean": rep.mean(),
                         "rep_lower": np.quantile(rep, q), "rep_upper": np.quantile(rep, 1 - q),
                         "p_value": float((rep >= obs).mean())})
        if d.share_class is not None and (~m_rows).any():
            rows += _ppc_share_classes(f, eta[:, ~m_rows], idx, levels[~m_rows], order, q, rng)
    out = pd.DataFrame(rows)
    out["spec_id"] = f.spec_id
    return out


def _ppc_share_classes(f, eta: np.ndarray, idx: np.ndarray, levels: np.ndarray, order: list, q: float,
                       rng: np.random.Generator) -> list[dict]:
    """Replicated share classes of the class-only rows (``eta``: draws x class rows)."""
    prep = f.extra["prepared"]
    obs_cls = f.design.share_class[f.design.share_class >= 0]
    sd = posterior_draws(f, "sd_department")[idx][:, None]
    w = prep.weight[prep.class_row_cell]  # (rows, n support)
    cum = np.cumsum(w, axis=1)
    u = rng.random(eta.shape)[..., None]
    n_idx = np.minimum((u > cum[None]).sum(axis=-1), w.shape[1] - 1)
    n = prep.n_values[n_idx]
    k = rng.binomial(n, special.expit(eta + sd * rng.standard_normal(eta.shape)))
    class_of = prep.mask.argmax(axis=1)  # (n support, k): the class of k of n
    rep_cls = class_of[n_idx, k]
    rows = []
    for lev in order:
        m = levels == lev
        if not m.any():
            continue
        for c, code in enumerate(prep.share_levels):
            rep = (rep_cls[:, m] == c).mean(axis=1)
            obs = float((obs_cls[m] == c).mean())
            rows.append({"level": lev, "category": code, "observed": obs, "rep_mean": rep.mean(),
                         "rep_lower": np.quantile(rep, q), "rep_upper": np.quantile(rep, 1 - q),
                         "p_value": float((rep >= obs).mean())})
    return rows


def prior_predictive(formula: str, data: pd.DataFrame, *, family: str, group: str | None = None,
                     priors: dict | None = None, draws: int = 500, seed: int = 0, **options) -> pd.DataFrame:
    """Prior predictive check: the outcome proportion implied by the priors alone.

    Builds the same model as :func:`irmodels.fit` (``engine="pymc"``) and
    draws from the prior predictive (``pymc.sample_prior_predictive``).

    Returns
    -------
    DataFrame
        One row per draw: ``draw``, ``proportion`` (replicated overall
        proportion of successes, or share of the highest category for
        ordinal models; count rows only for the latent model).
    """
    import pymc as pm

    from irmodels.models.fit import Fit, build_design

    design = build_design(formula, data, family=family, group=group, weights=None,
                          trials=options.get("trials"), share_class=options.get("share_class"),
                          missing=options.get("missing", "raise"), drop_intercept=(family == "ordinal"),
                          merges=options.get("merge_categories"))
    f = Fit(formula=formula, family=family, engine="pymc", group=group, weights=None, seed=seed,
            priors=dict(priors or {}), options=dict(options), spec_id="prior_predictive", design=design,
            result=None, data_hash="")
    model, prep = build_model(f)
    with model:
        pp = pm.sample_prior_predictive(draws=draws, random_seed=seed)
    if "y" not in pp["prior_predictive"]:
        raise ModelSpecError("this model has no observed count rows to predict (share classes only)")
    y = np.asarray(pp["prior_predictive"]["y"]).reshape(draws, *np.asarray(pp["prior_predictive"]["y"]).shape[2:])
    if prep.kind == "ordinal":
        prop = y[..., -1].sum(axis=1) / prep.counts.sum()
    elif prep.kind == "latent":
        prop = y.sum(axis=1) / max(prep.nc.sum(), 1)
    else:
        prop = y.sum(axis=1) / prep.n.sum()
    return pd.DataFrame({"draw": np.arange(draws), "proportion": prop})


def prior_sensitivity(formula: str, data: pd.DataFrame, *, scales: tuple[float, ...] = (0.5, 1.0, 2.0),
                      ci_prob: float = 0.95, **fit_kwargs) -> pd.DataFrame:
    """Refit with every prior scale multiplied by each of ``scales``; tidy rows stacked.

    Returns
    -------
    DataFrame
        The :meth:`~irmodels.models.fit.Fit.tidy` columns plus ``prior_scale``.
    """
    from irmodels.models.fit import fit

    out = []
    for s in scales:
        opts = dict(fit_kwargs)
        opts["engine"] = "pymc"
        opts["prior_scale"] = float(s)
        t = fit(formula, data, **opts).tidy(ci_prob=ci_prob)
        t["prior_scale"] = float(s)
        out.append(t)
    return pd.concat(out, ignore_index=True)
