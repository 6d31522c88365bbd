"""The share model's quadrature likelihood as one fused PyTensor Op with its gradient.

For each cell ``j`` (a department's count, or its share class) the model needs

    ll_j = log sum_q w_q sum_terms exp(log_w) p_q^k (1 - p_q)^(n - k),   p_q = expit(eta_j + sd x_q)

with the nodes ``x_q`` and weights ``w_q`` of :func:`irmodels.models.share.share_quadrature`, and
its derivatives in ``eta_j`` and ``sd``. Written as PyTensor graph operations this is a
(cells x nodes x terms) tensor of log-terms, a log-sum-exp and their adjoints: about 20
array operations per gradient evaluation, and the sampler's cost was their dispatch, not
their arithmetic (375 us per log density and gradient for the 2017-like SBC design).

:class:`QuadratureLogLik` computes the value and both derivatives in one pass over the cells
(:func:`_kernel`, compiled by numba): it works on the probability scale, where each node's
terms are products of powers of ``p`` and ``1 - p`` (one exponential per node, no logarithm
per term), and it falls back to the log scale for a cell whose probability would underflow
(``< 1e-280``; extreme linear predictors in early warm-up). The Op has a numba
implementation for PyTensor's numba backend (nutpie, the package's default sampler, compiles it
without fast-math: :func:`irmodels.models.nutpie_cache.exact_float`; PyMC's own sampler uses the
same backend) and a Python implementation (PyTensor's Python linker, e.g. mode ``FAST_COMPILE``)
that calls the same kernel compiled without fast-math: the two give the same bits.

The numpy twin :func:`irmodels.models.share._pairs_logprob` computes the same ``ll`` on the log
scale; tests/test_models_quadrature_op.py checks value and gradient against it and against
finite differences, on ordinary and on extreme linear predictors.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import marshal
import math
import sys

import numpy as np
import pytensor.tensor as pt
from numba.extending import register_jitable
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from irmodels.models.share import share_quadrature

__all__ = ["QuadratureLogLik", "quadrature_loglik", "quadrature_loglik_graph"]

#: below this, a cell's probability is recomputed on the log scale (the probability-scale sum
#: keeps full relative precision above it; ``exp(-644)``)
_UNDERFLOW = 1e-280


@register_jitable
def _log_scale_cell(eta, sd, coef, kk, m, N, xq, wq):  # pragma: no cover - compiled by numba
    """One cell on the log scale: log-sum-exp over (node, term), derivatives as softmax-weighted sums."""
    Q = xq.shape[0]
    top = -np.inf
    for q in range(Q):
        t = eta + sd * xq[q]
        lp = -math.log1p(math.exp(-t)) if t > 0.0 else t - math.log1p(math.exp(t))
        lq = lp - t
        for i in range(m):
            v = math.log(coef[i]) + math.log(wq[q]) + kk[i] * lp + (N - kk[i]) * lq
            if v > top:
                top = v
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    for q in range(Q):
        t = eta + sd * xq[q]
        lp = -math.log1p(math.exp(-t)) if t > 0.0 else t - math.log1p(math.exp(t))
        lq = lp - t
        p = math.exp(lp)
        for i in range(m):
            v = math.exp(math.log(coef[i]) + math.log(wq[q]) + kk[i] * lp + (N - kk[i]) * lq - top)
            s0 += v
            s1 += v * (kk[i] - N * p)
            s2 += v * (kk[i] - N * p) * xq[q]
    return top + math.log(s0), s1 / s0, s2 / s0


def _kernel(eta, sd, n, k, logw, xq, wq):  # pragma: no cover - compiled by numba (run through the Op in tests)
    """Per cell: log-likelihood, its derivative in ``eta`` and in ``sd``.

    ``n``, ``k``, ``logw`` are (J, P) terms padded with ``logw = -inf``; the terms of a cell
    share one ``n`` (:func:`_check_pairs`). With ``t = eta + sd x``, for ``t <= 0``
    ``p^k q^(n - k) = q^n r^k`` with ``r = p / q = e^t <= 1``, and for ``t > 0``
    ``= p^n s^(n - k)`` with ``s = e^-t < 1``: only powers of numbers in (0, 1].
    ``d/dt p^k q^(n - k) = p^k q^(n - k) (k - n p)``.
    """
    J, P = n.shape
    Q = xq.shape[0]
    ll = np.empty(J)
    d_eta = np.empty(J)
    d_sd = np.empty(J)
    coef = np.empty(P)
    kk = np.empty(P, dtype=np.int64)
    # exp(sd x_q) once per call: e^t = e^eta e^(sd x_q), where |sd| < 20 and |eta| < 200 keep every
    # factor within exp(+-340); elsewhere direct exponentials (never above 1)
    sd_split = abs(sd) < 20.0
    ex = np.zeros(Q)
    exi = np.zeros(Q)
    if sd_split:
        for q in range(Q):
            ex[q] = math.exp(sd * xq[q])
            exi[q] = 1.0 / ex[q]
    for j in range(J):
        # coefficients relative to the largest where it is far from 1 (large teams: C(n, k) up to
        # 1e89 at n = 300), so that a sum that underflows shows as one below _UNDERFLOW
        top = -np.inf
        for i in range(P):
            if logw[j, i] > top:
                top = logw[j, i]
        shift = top if abs(top) > 20.0 else 0.0
        m = 0
        for i in range(P):
            if logw[j, i] > -np.inf:
                coef[m] = math.exp(logw[j, i] - shift)
                kk[m] = int(k[j, i])
                m += 1
        N = int(n[j, 0])
        pw = np.empty(N + 1)
        split = abs(eta[j]) < 200.0 and sd_split
        ee = math.exp(eta[j]) if split else 0.0
        een = 1.0 / ee if split else 0.0
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for q in range(Q):
            t = eta[j] + sd * xq[q]
            if t <= 0.0:
                e = ee * ex[q] if split else math.exp(t)
                big = 1.0 / (1.0 + e)
                p = e * big
            else:
                e = een * exi[q] if split else math.exp(-t)
                big = 1.0 / (1.0 + e)
                p = big
            pw[0] = 1.0
            bigN = 1.0
            for i in range(1, N + 1):
                pw[i] = pw[i - 1] * e
                bigN *= big
            a = 0.0
            b = 0.0
            if t <= 0.0:
                for i in range(m):
                    v = coef[i] * pw[kk[i]]
                    a += v
                    b += v * kk[i]
            else:
                for i in range(m):
                    v = coef[i] * pw[N - kk[i]]
                    a += v
                    b += v * kk[i]
            a *= bigN
            b = bigN * b - N * p * a
            s0 += wq[q] * a
            s1 += wq[q] * b
            s2 += wq[q] * xq[q] * b
        if s0 > _UNDERFLOW and s0 < np.inf:
            ll[j] = math.log(s0) + shift
            d_eta[j] = s1 / s0
            d_sd[j] = s2 / s0
            continue
        ll[j], d_eta[j], d_sd[j] = _log_scale_cell(eta[j], sd, coef, kk, m, N, xq, wq)
        ll[j] += shift
    return ll, d_eta, d_sd


def _nodes() -> tuple[np.ndarray, np.ndarray]:
    x, w = share_quadrature()
    return np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(w, dtype=np.float64)


def _kernel_version() -> int:
    """The kernel's identity in PyTensor's numba cache key: this module's source (its bytecode where the
    source is not shipped), the quadrature nodes and weights and the underflow threshold, so that
    compiled code with other constants is never served from a stale cache."""
    try:
        text = inspect.getsource(sys.modules[__name__]).encode()
    except (OSError, TypeError):
        text = marshal.dumps(_kernel.__code__) + marshal.dumps(_log_scale_cell.__code__)
    x, w = _nodes()
    return int(hashlib.sha256(text + x.tobytes() + w.tobytes() + repr(_UNDERFLOW).encode()).hexdigest()[:12], 16)


KERNEL_VERSION = _kernel_version()


@functools.cache
def _compiled_kernel():
    """The kernel compiled by numba without fast-math (for :meth:`QuadratureLogLik.perform`)."""
    import numba

    return numba.njit(fastmath=False)(_kernel)


def _check_pairs(n: np.ndarray, k: np.ndarray, log_w: np.ndarray) -> None:
    """The kernel's layout: equal shapes; in each cell at least one term, and its (finite-weight) terms share
    one whole ``n >= 1`` and have whole ``0 <= k <= n``."""
    n, k, log_w = (np.asarray(v, dtype=float) for v in (n, k, log_w))
    if not (n.ndim == 2 and n.shape == k.shape == log_w.shape):
        raise ValueError(f"quadrature cells: n, k and log_w must be matrices of one shape; got {n.shape}, {k.shape}, "
                         f"{log_w.shape}")
    used = log_w > -np.inf
    whole = (n == np.round(n)) & (k == np.round(k)) & (n >= 1) & (k >= 0) & (k <= n)
    bad = np.flatnonzero(~used.any(axis=1) | (used & ((n != n[:, :1]) | ~whole)).any(axis=1))
    if len(bad):
        raise ValueError(f"quadrature cells {bad[:10].tolist()} have no term, terms with different numbers of "
                         "trials, or a term whose n, k are not whole numbers with 0 <= k <= n >= 1 (the cells of "
                         "irmodels.models.share.count_pairs / _class_pairs)")


def _check_shapes(eta, n, k, log_w) -> None:  # pragma: no cover - compiled by numba as well
    """One linear predictor per cell and one shape for the terms (the kernel does not bound-check)."""
    if eta.shape[0] != n.shape[0] or n.shape != k.shape or n.shape != log_w.shape:
        raise ValueError("QuadratureLogLik: eta must have one value per row of n, k and log_w, which share a shape")


class QuadratureLogLik(Op):
    """``(eta, sd, n, k, log_w) -> (ll, d ll / d eta, d ll / d sd)``, one value per cell.

    The gradient of ``ll`` is the Op's second and third outputs (computed in the same pass);
    ``n``, ``k`` and ``log_w`` are data (no gradient). Second derivatives are not implemented.
    """

    __props__ = ()

    def make_node(self, eta, sd, n, k, log_w):
        eta = pt.as_tensor_variable(eta).astype("float64")
        sd = pt.as_tensor_variable(sd).astype("float64")
        n, k, log_w = (pt.as_tensor_variable(v).astype("float64") for v in (n, k, log_w))
        if eta.ndim != 1 or sd.ndim != 0 or n.ndim != 2 or k.ndim != 2 or log_w.ndim != 2:
            raise TypeError("QuadratureLogLik: eta must be a vector, sd a scalar, n, k, log_w matrices")
        outs = [pt.dvector() for _ in range(3)]
        return Apply(self, [eta, sd, n, k, log_w], outs)

    def perform(self, node, inputs, output_storage):
        eta, sd, n, k, log_w = inputs
        _check_shapes(eta, n, k, log_w)
        x, w = _nodes()
        res = _compiled_kernel()(np.ascontiguousarray(eta), float(sd), np.ascontiguousarray(n),
                                 np.ascontiguousarray(k), np.ascontiguousarray(log_w), x, w)
        for store, value in zip(output_storage, res):
            store[0] = value

    def infer_shape(self, node, shapes):
        return [shapes[0]] * 3

    def pullback(self, inputs, outputs, cotangents):
        eta, sd, n, k, log_w = inputs
        g, g_de, g_ds = cotangents
        if not (isinstance(g_de.type, DisconnectedType) and isinstance(g_ds.type, DisconnectedType)):
            raise NotImplementedError("QuadratureLogLik: second derivatives are not implemented")
        if isinstance(g.type, DisconnectedType):
            return [DisconnectedType()() for _ in inputs]
        _, d_eta, d_sd = outputs
        return [g * d_eta, pt.sum(g * d_sd), DisconnectedType()(), DisconnectedType()(), DisconnectedType()()]

    def connection_pattern(self, node):
        # every output depends on eta and sd (differentiating the derivative outputs raises), none on the data
        return [[True, True, True], [True, True, True], [False, False, False], [False, False, False],
                [False, False, False]]


def quadrature_loglik(eta, sd, n, k, log_w):
    """Symbolic per-cell log-likelihood ``ll`` (vector over cells) of :class:`QuadratureLogLik`.

    Parameters
    ----------
    eta : TensorVariable (J,)
        Linear predictor per cell.
    sd : TensorVariable ()
        ``sd_department``.
    n, k, log_w : array or TensorVariable (J, P)
        The cells' terms (:func:`irmodels.models.share.count_pairs`, ``_class_pairs``); when they
        are constants or shared variables their layout is checked here.

    Returns
    -------
    TensorVariable (J,)
    """
    values = [v.get_value() if hasattr(v, "get_value") else v for v in (n, k, log_w)]
    if all(isinstance(v, np.ndarray) for v in values):
        _check_pairs(*values)
    return QuadratureLogLik()(eta, sd, n, k, log_w)[0]


def quadrature_loglik_graph(eta, sd, n, k, log_w):
    """The same per-cell ``ll`` as :func:`quadrature_loglik`, written as PyTensor graph operations.

    A (cells x nodes x terms) tensor of log-terms and a ``logsumexp``, differentiated by
    PyTensor: irmodels' formulation up to 0.1.0 and what a PyMC user would write. The reference
    for the fused Op's gradient (tests/test_models_quadrature_op.py) and its peer in
    benchmarks/bench_share_likelihood.py; the models use :func:`quadrature_loglik`.
    """
    x, w = _nodes()
    t = eta[:, None] + sd * pt.as_tensor(x)[None, :]  # (cell, node) latent logits
    log_p, log_q = -pt.softplus(-t), -pt.softplus(t)
    term = (log_w[:, None, :] + pt.as_tensor(np.log(w))[None, :, None]
            + k[:, None, :] * log_p[:, :, None] + (n - k)[:, None, :] * log_q[:, :, None])
    return pt.logsumexp(term, axis=(1, 2))


def _register_numba() -> None:
    from pytensor.link.numba.dispatch import basic as numba_basic

    @numba_basic.register_funcify_default_op_cache_key(QuadratureLogLik)
    def numba_funcify_quadrature(op, node=None, **kwargs):
        kern = numba_basic.numba_njit(_kernel)
        check = numba_basic.numba_njit(_check_shapes)
        x, w = _nodes()

        @numba_basic.numba_njit
        def quadrature_loglik_op(eta, sd, n, k, log_w):
            check(eta, n, k, log_w)
            return kern(eta, sd.item(), n, k, log_w, x, w)

        return quadrature_loglik_op, KERNEL_VERSION


_register_numba()
