"""The fused quadrature Op (irmodels.models.quadrature_op) against references.

* Value: the numpy twin on the log scale (:func:`irmodels.models.share._pairs_logprob`), relative 1e-12.
* Gradient: reverse-mode autodiff of the same likelihood written as PyTensor graph operations
  (irmodels' formulation up to 0.1.0, ``quadrature_op.quadrature_loglik_graph``), relative 1e-10, and finite differences.
* Both implementations as the package compiles them: numba without fast-math (nutpie's build,
  :func:`irmodels.models.nutpie_cache.exact_float`) and the Python linker (``FAST_COMPILE``: the
  Op's ``perform``), which must give the same bits.
* Cases: count cells and class cells (teams of 1-10), ordinary and extreme linear predictors
  (the log-scale branch), ``sd`` from 1e-6 to 150 (the direct-exponential branch from 20 on), large
  teams (class cells of degree 60, coefficients up to 1e17), malformed input.
"""

import functools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from irmodels.models import quadrature_op as qo
from irmodels.models.nutpie_cache import exact_float
from irmodels.models.share import _class_pairs, _pairs_logprob, count_pairs, share_class_mask

SHARE = ["0", "1-25", "26-50", "51-75", ">75"]
MODES = {"numba": "NUMBA", "python": "FAST_COMPILE"}


def _class_cells(n_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_values = np.arange(1, n_max + 1)
    mask = share_class_mask("female_ir_share_class", SHARE, n_values)
    weight = np.tile(np.full(n_max, 1.0 / n_max), (5, 1))
    return _class_pairs(weight, mask, np.arange(5), n_values)


def _cells():
    """Count cells (one term) and class cells (Bernstein terms), as the model builds them."""
    counts = count_pairs(np.array([1, 3, 10, 10, 7]), np.array([0, 2, 0, 10, 4]))
    return {"counts": counts, "classes": _class_cells(10), "large_teams": _class_cells(60)}


@functools.cache
def _op_function(mode):
    eta, sd = pt.dvector("eta"), pt.dscalar("sd")
    n, k, lw = pt.dmatrix("n"), pt.dmatrix("k"), pt.dmatrix("lw")
    weights = pt.dvector("m")
    ll = qo.QuadratureLogLik()(eta, sd, n, k, lw)[0]
    total = pt.sum(weights * ll)
    with exact_float():
        return pytensor.function([eta, sd, n, k, lw, weights], [ll, *pytensor.grad(total, [eta, sd])], mode=mode)


@functools.cache
def _graph_reference():
    """The same likelihood as PyTensor graph operations (log-terms tensor and logsumexp), with its autodiff."""
    eta, sd = pt.dvector("eta"), pt.dscalar("sd")
    n, k, lw = pt.dmatrix("n"), pt.dmatrix("k"), pt.dmatrix("lw")
    weights = pt.dvector("m")
    ll = qo.quadrature_loglik_graph(eta, sd, n, k, lw)
    total = pt.sum(weights * ll)
    return pytensor.function([eta, sd, n, k, lw, weights], [ll, *pytensor.grad(total, [eta, sd])], mode="FAST_COMPILE")


ETAS = {"ordinary": lambda rng, J: rng.normal(-1.0, 1.0, J),
        "extreme": lambda rng, J: np.resize(np.array([700.0, -85.0, 250.0, -700.0, 60.0]), J),
        "crossing": lambda rng, J: np.linspace(-150.0, 150.0, J)}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("kind", ["counts", "classes", "large_teams"])
@pytest.mark.parametrize("eta_case,sd", [("ordinary", 1.3), ("ordinary", 1e-6), ("ordinary", 25.0),
                                         ("extreme", 0.4), ("crossing", 150.0), ("crossing", 19.0)])
def test_value_and_gradient_match_references(mode, kind, eta_case, sd):
    n, k, lw = _cells()[kind]
    rng = np.random.default_rng(7)
    J = n.shape[0]
    eta = ETAS[eta_case](rng, J)
    m = rng.uniform(0.5, 3.0, J)
    ll, g_eta, g_sd = _op_function(MODES[mode])(eta, sd, n, k, lw, m)
    ref = _pairs_logprob(eta[None], np.array([sd]), n, k, lw)[0]
    np.testing.assert_allclose(ll, ref, rtol=1e-12, atol=1e-12)
    _, r_eta, r_sd = _graph_reference()(eta, sd, n, k, lw, m)
    np.testing.assert_allclose(g_eta, r_eta, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(g_sd, r_sd, rtol=1e-10, atol=1e-10)
    if eta_case == "extreme":
        assert np.any(ref < np.log(qo._UNDERFLOW))  # the log-scale branch was exercised
    if kind == "large_teams":
        assert lw[np.isfinite(lw)].max() > 35  # coefficients above 1e15: the relative scaling was exercised


def test_gradient_matches_finite_differences():
    n, k, lw = _cells()["classes"]
    rng = np.random.default_rng(3)
    J = n.shape[0]
    eta, sd, m = rng.normal(-1.0, 1.0, J), 1.1, rng.uniform(0.5, 3.0, J)
    _, g_eta, g_sd = _op_function("NUMBA")(eta, sd, n, k, lw, m)

    def total(e, s):
        return float(m @ _pairs_logprob(e[None], np.array([s]), n, k, lw)[0])

    h = 1e-6
    num_eta = np.array([(total(eta + h * np.eye(J)[j], sd) - total(eta - h * np.eye(J)[j], sd)) / (2 * h)
                        for j in range(J)])
    np.testing.assert_allclose(g_eta, num_eta, rtol=1e-6, atol=1e-6)
    assert g_sd == pytest.approx((total(eta, sd + h) - total(eta, sd - h)) / (2 * h), rel=1e-6, abs=1e-6)


def test_numba_and_python_implementations_give_the_same_bits():
    for kind, (n, k, lw) in _cells().items():
        for sd in (0.9, 25.0):
            eta, m = np.linspace(-4, 3, n.shape[0]), np.ones(n.shape[0])
            a = _op_function("NUMBA")(eta, sd, n, k, lw, m)
            b = _op_function("FAST_COMPILE")(eta, sd, n, k, lw, m)
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y, err_msg=f"{kind}, sd {sd}")


def test_malformed_input_is_refused():
    n, k, lw = _cells()["classes"]
    bad_n = n.copy()
    bad_n[1, 0] -= 1  # a cell whose terms do not share one n
    lw_empty = lw.copy()
    lw_empty[3] = -np.inf  # a cell without a term
    k_above = k.copy()
    k_above[2, 0] = n[2, 0] + 1  # k > n
    k_frac = k.copy()
    k_frac[0, 0] = 0.5
    for cells, row in ((bad_n, k, lw), 1), ((n, k, lw_empty), 3), ((n, k_above, lw), 2), ((n, k_frac, lw), 0):
        with pytest.raises(ValueError, match=rf"quadrature cells \[{row}\]"):
            qo.quadrature_loglik(pt.dvector(), pt.dscalar(), *cells)
    with pytest.raises(ValueError, match="one shape"):
        qo.quadrature_loglik(pt.dvector(), pt.dscalar(), n, k[:, :3], lw)
    # symbolic data are checked when run: one linear predictor per cell, in both implementations
    for mode in MODES.values():
        with pytest.raises(ValueError, match="one value per row"):
            _op_function(mode)(np.zeros(n.shape[0] - 1), 1.0, n, k, lw, np.ones(n.shape[0] - 1))


def test_second_derivatives_refused():
    eta, sd = pt.dvector("eta"), pt.dscalar("sd")
    n, k, lw = _cells()["counts"]
    ll = qo.quadrature_loglik(eta, sd, n, k, lw)
    g = pytensor.grad(ll.sum(), eta)
    with pytest.raises(NotImplementedError, match="second derivatives"):
        pytensor.grad(g.sum(), eta)


def test_numba_cache_key_follows_the_kernel_and_its_constants(monkeypatch):
    from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key

    eta, sd = pt.dvector("eta"), pt.dscalar("sd")
    n, k, lw = _cells()["counts"]
    node = qo.QuadratureLogLik()(eta, sd, n, k, lw)[0].owner
    _, key = numba_funcify_and_cache_key(node.op, node=node)
    assert key is not None  # cacheable across processes (nutpie_cache keys on the graph's key)
    assert qo.KERNEL_VERSION == qo._kernel_version()
    monkeypatch.setattr(qo, "KERNEL_VERSION", qo.KERNEL_VERSION + 1)  # as after an edit of the module
    assert numba_funcify_and_cache_key(node.op, node=node)[1] != key
    monkeypatch.undo()
    # other quadrature nodes, or another underflow threshold, give another version
    x, w = qo._nodes()
    monkeypatch.setattr(qo, "_nodes", lambda: (x[::2].copy(), w[::2] / w[::2].sum()))
    assert qo._kernel_version() != qo.KERNEL_VERSION
    monkeypatch.undo()
    monkeypatch.setattr(qo, "_UNDERFLOW", 1e-250)
    assert qo._kernel_version() != qo.KERNEL_VERSION


@pytest.mark.parametrize("mode", list(MODES))
def test_large_binomial_coefficients_keep_their_accuracy(mode):
    """k = 150 of n = 300: C(n, k) ~ 1e89 times p^k that underflows; the sum must switch to the log scale
    (the unscaled probability-scale sum gave -549.36 against -546.05)."""
    n, k, lw = count_pairs(np.array([300, 300, 120]), np.array([150, 10, 60]))
    eta, sd, m = np.array([-5.0, -5.0, 2.0]), 0.01, np.ones(3)
    ll, g_eta, g_sd = _op_function(MODES[mode])(eta, sd, n, k, lw, m)
    ref = _pairs_logprob(eta[None], np.array([sd]), n, k, lw)[0]
    np.testing.assert_allclose(ll, ref, rtol=1e-12)
    _, r_eta, r_sd = _graph_reference()(eta, sd, n, k, lw, m)
    np.testing.assert_allclose(g_eta, r_eta, rtol=1e-10)
    np.testing.assert_allclose(g_sd, r_sd, rtol=1e-9)
