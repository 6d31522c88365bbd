"""The fused quadrature Op against its numpy twin (log scale) and finite differences."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from irmodels.models import quadrature_op as qo
from irmodels.models.share import _class_pairs, _pairs_logprob, count_pairs, share_class_mask

SHARE = ["0", "1-25", "26-50", "51-75", ">75"]


def _cells():
    """Count cells (one term) and class cells (Bernstein terms), as the model builds them."""
    n_values = np.arange(1, 11)
    mask = share_class_mask("female_ir_share_class", SHARE, n_values)
    weight = np.tile(np.full(10, 0.1), (5, 1))
    cls = np.arange(5)
    counts = count_pairs(np.array([1, 3, 10, 10, 7]), np.array([0, 2, 0, 10, 4]))
    return {"counts": counts, "classes": _class_pairs(weight, mask, cls, n_values)}


def _graph(mode):
    eta, sd = pt.dvector("eta"), pt.dscalar("sd")
    n, k, lw = pt.dmatrix("n"), pt.dmatrix("k"), pt.dmatrix("lw")
    ll = qo.QuadratureLogLik()(eta, sd, n, k, lw)[0]
    weights = pt.dvector("m")
    total = pt.sum(weights * ll)
    return pytensor.function([eta, sd, n, k, lw, weights], [ll, *pytensor.grad(total, [eta, sd])], mode=mode)


@pytest.mark.parametrize("mode", ["NUMBA", "FAST_RUN"])
@pytest.mark.parametrize("kind", ["counts", "classes"])
@pytest.mark.parametrize("scale", ["ordinary", "extreme"])
def test_value_and_gradient_match_log_scale_twin(mode, kind, scale):
    n, k, lw = _cells()[kind]
    rng = np.random.default_rng(7)
    J = n.shape[0]
    # "extreme": linear predictors where probabilities underflow on the probability scale (log-scale branch)
    eta = rng.normal(-1.0, 1.0, J) if scale == "ordinary" else np.array([700.0, -85.0, 250.0, -700.0, 60.0])[:J]
    sd = 1.3 if scale == "ordinary" else 0.4
    m = rng.uniform(0.5, 3.0, J)
    fn = _graph(mode)
    ll, g_eta, g_sd = fn(eta, sd, n, k, lw, m)
    ref = _pairs_logprob(eta[None], np.array([sd]), n, k, lw)[0]
    np.testing.assert_allclose(ll, ref, rtol=1e-12, atol=1e-12)
    h = 1e-6 * max(1.0, np.abs(eta).max())

    def total(e, s):
        return float(m @ _pairs_logprob(e[None], np.array([s]), n, k, lw)[0])

    num_eta = np.array([(total(eta + h * np.eye(J)[j], sd) - total(eta - h * np.eye(J)[j], sd)) / (2 * h)
                        for j in range(J)])
    num_sd = (total(eta, sd + 1e-6) - total(eta, sd - 1e-6)) / 2e-6
    np.testing.assert_allclose(g_eta, num_eta, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(g_sd, num_sd, rtol=1e-6, atol=1e-6)
    if scale == "extreme":
        assert np.any(ref < np.log(qo._UNDERFLOW))  # the log-scale branch was exercised


def test_numba_and_python_implementations_agree_bitwise():
    n, k, lw = _cells()["classes"]
    eta, m = np.linspace(-4, 3, n.shape[0]), np.ones(n.shape[0])
    a = _graph("NUMBA")(eta, 0.9, n, k, lw, m)
    b = _graph("FAST_RUN")(eta, 0.9, n, k, lw, m)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_layout_is_checked():
    n, k, lw = _cells()["classes"]
    n2 = n.copy()
    n2[1, 0] = n2[1, 0] - 1  # a cell whose terms do not share one n
    with pytest.raises(ValueError, match=r"quadrature cells \[1\]"):
        qo.quadrature_loglik(pt.dvector(), pt.dscalar(), n2, k, lw)
    lw2 = lw.copy()
    lw2[3] = -np.inf  # a cell without a term
    with pytest.raises(ValueError, match=r"quadrature cells \[3\]"):
        qo.quadrature_loglik(pt.dvector(), pt.dscalar(), n, k, lw2)


def test_second_derivatives_refused():
    eta, sd = pt.dvector("eta"), pt.dscalar("sd")
    n, k, lw = _cells()["counts"]
    ll = qo.quadrature_loglik(eta, sd, n, k, lw)
    g = pytensor.grad(ll.sum(), eta)
    with pytest.raises(NotImplementedError, match="second derivatives"):
        pytensor.grad(g.sum(), eta)


def test_numba_cache_key_follows_the_kernel_source():
    from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key

    eta, sd = pt.dvector("eta"), pt.dscalar("sd")
    n, k, lw = _cells()["counts"]
    node = qo.QuadratureLogLik()(eta, sd, n, k, lw)[0].owner
    _, key = numba_funcify_and_cache_key(node.op, node=node)
    assert key is not None  # cacheable across processes (nutpie_cache keys on the graph's key)
    old = qo.KERNEL_VERSION
    try:
        qo.KERNEL_VERSION = old + 1  # as after an edit of the kernel
        _, key2 = numba_funcify_and_cache_key(node.op, node=node)
    finally:
        qo.KERNEL_VERSION = old
    assert key2 != key
    assert qo.KERNEL_VERSION == qo._kernel_version()
