"""The female-IR share model's measurement: share classes as binomial outcomes of (n, k).

A department known only by its share class contributes the probability that its ``n`` IRs
include a number of women ``k`` whose share falls in that class (the schema's class rule,
:func:`irmodels.data.schema.share_class`), with the department effect integrated out by a
trapezoidal rule (:func:`share_quadrature`). The sum over the ``(n, k)`` pairs of a class is one
polynomial in ``p`` in the Bernstein basis (:func:`_class_pairs`). A department with counts
``k`` of a small team (``n <= QUADRATURE_MAX_TRIALS``) is the same kind of cell with a single
term (:func:`count_pairs`). The model that uses these pieces is built in
:mod:`irmodels.models.bayes`.
"""

from __future__ import annotations


import numpy as np
from scipy import special, stats

from irmodels.core.errors import ModelSpecError

__all__ = ["share_class_mask", "share_class_logprob", "count_logprob", "count_pairs", "share_quadrature", "SHARE_QUADRATURE_NODES",
           "SHARE_QUADRATURE_HALF_WIDTH", "QUADRATURE_MAX_TRIALS"]


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

#: Departments with counts ``k`` of ``n <= QUADRATURE_MAX_TRIALS`` have their department latent
#: integrated out by the same quadrature (no sampled latent: the model keeps only its
#: population-level parameters, and the sampler's trajectories shorten accordingly). Larger
#: teams keep a sampled non-centred latent ``u_department``: as ``n`` grows the binomial
#: likelihood in the latent narrows (width about ``1 / (sd sqrt(n p q))``) and the fixed
#: 41-node rule loses accuracy (log error 0.004 at n = 10, sd = 3; 2 at n = 30), where the
#: sampled latent is exact. At ``n <= 10`` and ``sd_department <= 2`` the probabilities of counts
#: agree with adaptive integration within 1e-6, and their logarithms within 5e-5 wherever the
#: probability is at least 1e-8
#: (tests/test_models_bayes.py::test_count_quadrature_matches_adaptive_integral).
QUADRATURE_MAX_TRIALS = 10


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
    from irmodels.data.codebook import categories

    try:
        from irmodels.data.schema import share_class

        share_class(column, 0, 1)
        codes = categories(column)
    except (KeyError, TypeError) as e:
        raise ModelSpecError(
            f"share_class={column!r}: the class of k of n is read from the codebook bins (irmodels.data.schema."
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

    The class of ``k`` of ``n`` is :func:`irmodels.data.schema.share_class` (the schema's rule, the one
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
    from irmodels.data.schema import share_class

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


def _pairs_logprob(eta: np.ndarray, sd: np.ndarray, n: np.ndarray, k: np.ndarray, log_w: np.ndarray, *,
                   max_block: int = 4_000_000) -> np.ndarray:
    """``log sum_q w_q sum_terms exp(log_w) p_q^k (1 - p_q)^(n - k)``, ``p_q = expit(eta + sd x_q)``: (S, J)."""
    x, w = share_quadrature()
    eta = np.atleast_2d(eta)
    sd = np.asarray(sd, dtype=float).reshape(-1)
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


def count_pairs(n: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts ``k`` of ``n`` as one-term cells of the quadrature likelihood: ``(n, k, log C(n, k))``, each (J, 1)."""
    n = np.asarray(n, dtype=float).reshape(-1, 1)
    k = np.asarray(k, dtype=float).reshape(-1, 1)
    log_w = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    return n, k, log_w


def count_logprob(eta: np.ndarray, sd: np.ndarray, n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Log-probability of counts ``k`` of ``n`` with the department latent integrated out.

    ``log sum_q w_q Binom(k_j; n_j, expit(eta_j + sd x_q))`` with the nodes and weights of
    :func:`share_quadrature` (numpy twin of the model's ``count_loglik``).

    Parameters
    ----------
    eta : ndarray (S, J)
        Linear predictor per draw and count cell.
    sd : ndarray (S,)
        ``sd_department`` per draw.
    n, k : ndarray (J,)
        Trials and successes.

    Returns
    -------
    ndarray (S, J)
    """
    return _pairs_logprob(eta, sd, *count_pairs(n, k))


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
    n, k, log_w = _class_pairs(weight, mask, np.asarray(cls), n_values)
    return _pairs_logprob(eta, sd, n, k, log_w, max_block=max_block)


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
