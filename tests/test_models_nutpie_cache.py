"""Disk-cached nutpie compilation (irmodels.models.nutpie_cache).

References: PyMC's own compiled log density and gradient (``model.compile_logp`` /
``compile_dlogp``) at random points, and nutpie's own compilation
(``nutpie.compile_pymc_model``), whose draws the cached route must reproduce
exactly for the same seed.
"""

from __future__ import annotations

import ctypes
import warnings

import numpy as np
import pytest

from irmodels.models import bayes, nutpie_cache
from irmodels.models.fit import fit
from model_reference import load_ref
from test_models_bayes import _unfitted, latent_data

FORMULA = "cover_24_7 ~ beds_class + teaching + chair_profile"


def _call_logp(compiled, x: np.ndarray) -> tuple[int, float, np.ndarray]:
    """Call the compiled C callback directly, as nutpie's sampler does."""
    out = np.zeros(compiled.n_dim)
    lp = np.zeros(1)
    dbl = ctypes.POINTER(ctypes.c_double)
    rc = compiled.compiled_logp_func.ctypes(compiled.n_dim, x.ctypes.data_as(dbl), out.ctypes.data_as(dbl),
                                            lp.ctypes.data_as(dbl), compiled.user_data.ctypes.data_as(ctypes.c_void_p))
    return rc, float(lp[0]), out


def _pymc_logp_grad(model, x: np.ndarray, compiled) -> tuple[float, np.ndarray]:
    """PyMC's log density and gradient at the flat point ``x`` (nutpie's variable order)."""
    names, slices, shapes = compiled.shape_info
    point = {}
    for name, sl, shape in zip(names, slices, shapes):
        if name in {model.rvs_to_values[v].name for v in model.free_RVs}:
            point[name] = x[sl].reshape(shape)
    logp = model.compile_logp()(point)
    grad = model.compile_dlogp()(point)  # PyMC orders the gradient by model.value_vars
    order = [model.rvs_to_values[v].name for v in model.free_RVs]
    assert order == [v.name for v in model.value_vars]
    return float(logp), np.asarray(grad)


def _models():
    d = load_ref("ref_glmer").iloc[:400]
    lat, _ = latent_data(n=200, n_counts=80)
    yield "logistic", _unfitted(FORMULA, d, "bernoulli", group="country")
    counts = lat.iloc[:80].astype({"n_ir": int, "n_female_ir": int})
    yield "beta_binomial", _unfitted("n_female_ir ~ teaching", counts, "beta_binomial", trials="n_ir")
    yield "ordinal", _unfitted("female_ir_share_class ~ beds_class + teaching", load_ref("ref_ordinal").iloc[:200],
                               "ordinal")
    yield "latent", _unfitted("n_female_ir ~ beds_class + teaching", lat, "binomial", trials="n_ir",
                              share_class="female_ir_share_class")


@pytest.mark.parametrize("kind", ["logistic", "beta_binomial", "ordinal", "latent"])
def test_callback_matches_pymc_logp_and_gradient(kind):
    f = dict(_models())[kind]
    model, _ = bayes.build_model(f)
    compiled, cache = nutpie_cache.compile_model(model)
    assert cache in ("compiled", "disk", "memory")
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = rng.normal(scale=0.5, size=compiled.n_dim)
        rc, lp, grad = _call_logp(compiled, x)
        ref_lp, ref_grad = _pymc_logp_grad(model, x, compiled)
        assert rc == 0
        assert lp == pytest.approx(ref_lp, rel=1e-10, abs=1e-8)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-8, atol=1e-8)


def test_second_compile_of_same_structure_is_served_from_memory_and_swaps_data():
    d = load_ref("ref_glmer").iloc[:400]
    f1 = _unfitted(FORMULA, d, "bernoulli", group="country")
    d2 = d.copy()
    d2["cover_24_7"] = ~d2["cover_24_7"].astype(bool)
    f2 = _unfitted(FORMULA, d2.iloc[:350], "bernoulli", group="country")  # other data, other shapes
    m1, _ = bayes.build_model(f1)
    m2, _ = bayes.build_model(f2)
    c1, _ = nutpie_cache.compile_model(m1)
    c2, cache = nutpie_cache.compile_model(m2)
    assert cache == "memory"
    assert c2.compiled_logp_func is c1.compiled_logp_func  # the same machine code ...
    x = np.random.default_rng(0).normal(scale=0.3, size=c1.n_dim)
    lp1, lp2 = _call_logp(c1, x)[1], _call_logp(c2, x)[1]
    assert lp1 == pytest.approx(_pymc_logp_grad(m1, x, c1)[0], rel=1e-10)
    assert lp2 == pytest.approx(_pymc_logp_grad(m2, x, c2)[0], rel=1e-10)  # ... reading each model's own data
    assert lp1 != pytest.approx(lp2)
    # with_data: the first compiled model given the second model's data gives the second's density
    swapped = c1.with_data(**{v.name: v.get_value() for v in m2.data_vars})
    assert _call_logp(swapped, x)[1] == pytest.approx(lp2, rel=1e-12)
    with pytest.raises(KeyError, match="unknown data variable 'nope'"):
        c1.with_data(nope=np.zeros(3))
    with pytest.raises(ValueError, match="must have 2 dimensions"):
        c1.with_data(X=np.zeros(3))


def test_cached_route_draws_equal_nutpies_own_compilation():
    """Same seed: the cached callbacks and nutpie.compile_pymc_model give identical draws."""
    d = load_ref("ref_glmer").iloc[:300]
    kw = dict(family="bernoulli", engine="pymc", group="country", seed=5, draws=200, tune=200, chains=2,
              on_fail="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cached = fit("cover_24_7 ~ teaching", d, **kw)
        plain = fit("cover_24_7 ~ teaching", d, compile="nutpie", **kw)
    assert cached.extra["compile_cache"] in ("compiled", "disk", "memory")
    assert plain.extra["compile_cache"] == "none"
    for v in ("b", "sd_country", "z_country"):
        np.testing.assert_array_equal(np.asarray(cached.idata["posterior"][v]), np.asarray(plain.idata["posterior"][v]))


def test_failed_cached_compilation_falls_back_loudly(monkeypatch):
    """A failing cached route (e.g. an unreadable cache entry) warns and uses nutpie's own compilation."""
    import nutpie

    d = load_ref("ref_glmer").iloc[:200]
    model, _ = bayes.build_model(_unfitted("cover_24_7 ~ teaching + beds_class", d, "bernoulli"))
    monkeypatch.setattr(nutpie_cache, "_MEMO", {})

    def broken(*args, **kwargs):
        raise OSError("cache entry unreadable")

    calls = []
    monkeypatch.setattr(nutpie_cache, "_cfunc", broken)
    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda m: calls.append(m) or "nutpie's own")
    with pytest.warns(RuntimeWarning, match="cached nutpie compilation failed .*cache entry unreadable"):
        compiled, cache = nutpie_cache.compile_model(model)
    assert (compiled, cache) == ("nutpie's own", "none")
    assert calls == [model]


def test_unknown_compile_option_is_refused():
    d = load_ref("ref_glmer").iloc[:50]
    with pytest.raises(Exception, match="compile='jit'"):
        fit("cover_24_7 ~ teaching", d, family="bernoulli", engine="pymc", compile="jit")


_BITS = r"""
import hashlib, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
sys.path.insert(0, sys.argv[1])
from irmodels.studies.simulate import simulate_wave
from irmodels.models.specs import SPECS, fit_spec
from irmodels.models import nutpie_cache
from test_models_nutpie_cache import _call_logp
spec = [s for s in SPECS if s.spec_id == "female_ir_share_class"][0]
f = fit_spec(spec, simulate_wave(600, 7), engine="pymc", seed=1, missing="drop", _defer_sampling=True)
c, cache = nutpie_cache.compile_model(f.extra["model"])
rng = np.random.default_rng(0)
h = hashlib.sha256()
for _ in range(50):
    x = rng.normal(scale=0.7, size=c.n_dim)
    rc, lp, g = _call_logp(c, x)
    h.update(np.float64(lp).tobytes()); h.update(g.tobytes())
print(cache, h.hexdigest())
"""


def test_log_density_bits_do_not_depend_on_the_state_of_the_compile_caches(tmp_path):
    """Same callback, compiled with every kernel fresh vs with the kernels from the disk cache: same bits.

    With PyTensor's default fast-math flags these differed for this model (ordinal, country
    intercepts), which made the first fit on a machine draw differently from later ones.
    """
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path}"}
    tests = str(Path(__file__).resolve().parent)

    def run() -> list[str]:
        out = subprocess.run([sys.executable, "-c", _BITS, tests], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.split()

    fresh = run()  # empty compile directory: every kernel compiled in this process
    for p in (tmp_path / "numba").glob("string.irmodels_*"):
        p.unlink()  # callbacks recompiled, kernels now loaded from the disk cache
    cached = run()
    assert fresh[0] == cached[0] == "compiled"
    assert fresh[1] == cached[1]


def test_default_target_acceptance_per_likelihood():
    """0.99 for the beta-binomial (its SBC: no divergent fits at 0.99), 0.9 otherwise; an explicit value wins."""
    got = {}
    for kind, f in _models():
        _, prep = bayes.build_model(f)
        got[kind] = bayes._settings(f, prep)["target_accept"]
    assert got == {"logistic": 0.9, "beta_binomial": 0.99, "ordinal": 0.9, "latent": 0.9}
    f = dict(_models())["beta_binomial"]
    f.options["target_accept"] = 0.8
    assert bayes._settings(f, bayes.build_model(f)[1])["target_accept"] == 0.8
