"""Compile a PyMC model for nutpie with the machine code cached on disk.

``nutpie.compile_pymc_model`` JIT-compiles (numba) a C callback around PyTensor's
log-density-and-gradient function on every call: 6-14 s for the 98-respondent
hierarchical logistic model on 2 cores, against about 1 s of sampling. Its
callback captures the data arrays as compile-time constants, so numba cannot
cache it, and every new process (every analysis script, every test module) pays
the whole compile again.

This module builds the same callbacks from source text whose data arrays are read
at run time from a flat ``uint64`` record (pointer, then shape, per data
container), and registers the text with PyTensor's numba cache locator under a
key made of PyTensor's own key for the compiled graph, the callback text and the
library versions. The compiled callbacks are then loaded from PyTensor's numba
cache directory by later processes, and re-used within a process for any model of
the same structure (new data are swapped in with :meth:`CachedNutpieModel.with_data`,
shapes may change). When PyTensor cannot give a key for a graph, the result is
exactly ``nutpie.compile_pymc_model`` (reported by :func:`compile_model` as
``cache="none"``).

The sampler itself, its settings and its output are nutpie's: only how the
callbacks are compiled differs. Both routes compile without fast-math
(:func:`exact_float`), so that the draws for a seed do not depend on the state of
the compile caches. It relies on nutpie internals that are stable in
the pinned range (``nutpie>=0.16.11,<0.17``): ``_make_functions``,
``_prepare_dims_and_coords`` and the ``CompiledPyMCModel`` dataclass; a test
checks log density and gradient against PyMC's own compiled function.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import threading
import warnings
from typing import Any

import numpy as np

CALLBACK_VERSION = "2"  # bump when the generated callback text changes meaning

_MEMO: dict[str, tuple[Any, Any]] = {}
_LOCK = threading.Lock()


@functools.cache
def _intrinsic():
    """numba intrinsic turning an integer address into a void pointer (built once, numba imported lazily)."""
    import numba
    from numba.core import cgutils, types

    @numba.extending.intrinsic
    def address_as_void_pointer(typingctx, src):
        sig = types.voidptr(src)

        def codegen(cgctx, builder, sig, args):
            return builder.inttoptr(args[0], cgutils.voidptr_t)

        return sig, codegen

    return address_as_void_pointer


Layout = list[tuple[int, np.dtype]]


def _words(layout: Layout) -> int:
    return max(1, sum(1 + nd for nd, _ in layout))


def _unpack(layout: Layout, idx: list[int]) -> tuple[str, str]:
    """Source lines rebuilding the data arrays ``idx`` from the flat record, and the call arguments.

    The record holds, for each data container in ``layout`` order, its address and
    then its shape (one ``uint64`` word each).
    """
    offsets, pos = [], 0
    for nd, _ in layout:
        offsets.append(pos)
        pos += 1 + nd
    lines, names = [], []
    for j, i in enumerate(idx):
        nd, dtype = layout[i]
        o = offsets[i]
        dims = ", ".join(f"int(ud[{o + 1 + d}])" for d in range(nd))
        shape = f"({dims},)" if nd == 1 else f"({dims})"
        lines.append(f"        d{j} = carray(addr(ud[{o}]), {shape}, np.{np.dtype(dtype).name})")
        names.append(f"d{j}")
    return "\n".join(lines), ", ".join(["x", *names])


def _callback(header: str, checks: list[str], layout: Layout, idx: list[int], n_dim: int, call: str,
              tail: str, error_code: int) -> str:
    """Text of one C callback: argument checks, the data arrays unpacked, the PyTensor call."""
    body, args = _unpack(layout, idx)
    checks_src = "".join(f"    if {c}:\n        return -1\n" for c in checks)
    return (f"\ndef {header}:\n{checks_src}    try:\n"
            f"        ud = carray(user_data_, ({_words(layout)},), np.uint64)\n"
            f"        x = carray(x_, ({n_dim},))\n{body}\n        {call.format(args=args)}\n{tail}"
            f"    except Exception:  # noqa: BLE001\n        return {error_code}\n    return 0\n")


def logp_source(n_dim: int, layout: Layout, idx: list[int]) -> str:
    """Text of the C log-density callback (the signature of nutpie's ``LogpFunc``)."""
    tail = f"""        out = carray(out_, ({n_dim},))
        for i in range({n_dim}):
            out[i] = grad[i]
        lp = carray(logp_, (1,))
        lp[0] = logp_val[()]
        for i in range({n_dim}):
            if not np.isfinite(out[i]):
                return 3
        if not np.isfinite(lp[0]):
            return 4
"""
    return _callback("irmodels_logp(dim, x_, out_, logp_, user_data_)", [f"dim != {n_dim}"], layout, idx, n_dim,
                     "logp_val, grad = inner({args})", tail, 1)


def expand_source(n_dim: int, n_expanded: int, layout: Layout, idx: list[int]) -> str:
    """Text of the C callback that expands a point into all traced variables."""
    tail = f"""        out = carray(out_, ({n_expanded},))
        for i in range({n_expanded}):
            out[i] = values[i]
"""
    return _callback("irmodels_expand(dim, expanded, x_, out_, user_data_)",
                     [f"dim != {n_dim}", f"expanded != {n_expanded}"], layout, idx, n_dim,
                     "(values,) = inner({args})", tail, -2)


def _pytensor_key(fn) -> str | None:
    """PyTensor's numba cache key of a compiled function's graph, or None."""
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    jit = fn.vm.jit_fn
    return CACHED_SRC_FUNCTIONS.get(getattr(jit, "py_func", None))


def _versions() -> str:
    import numba
    import nutpie
    import pytensor

    return f"numba{numba.__version__}-pytensor{pytensor.__version__}-nutpie{nutpie.__version__}-cb{CALLBACK_VERSION}"


def _cfunc(src: str, name: str, inner, sig, key: str):
    import numba
    from pytensor.link.numba.cache import compile_numba_function_src

    # ``__name__`` lets numba rebuild the function's environment when it loads the cache
    env = {"__name__": __name__, "np": np, "carray": numba.carray, "addr": _intrinsic(), "inner": inner}
    py = compile_numba_function_src(src, name, global_env=env, cache_key=key)
    return numba.cfunc(sig, cache=True)(py)


def _flat_user_data(arrays: list[np.ndarray], words: int) -> np.ndarray:
    ud = np.zeros(words, dtype=np.uint64)
    pos = 0
    for a in arrays:
        ud[pos] = a.ctypes.data
        ud[pos + 1: pos + 1 + a.ndim] = a.shape
        pos += 1 + a.ndim
    return ud


@functools.cache
def _cached_class():
    from nutpie.compile_pymc import CompiledPyMCModel

    @dataclasses.dataclass(frozen=True)
    class CachedNutpieModel(CompiledPyMCModel):
        """nutpie's compiled PyMC model with disk-cached callbacks and run-time data."""

        shared_names: tuple[str, ...] = ()
        shared_order: tuple[str, ...] = ()  # keys of shared_data in record order
        words: int = 1

        def with_data(self, **updates):
            shared = dict(self.shared_data)
            for name, value in updates.items():
                if name not in self.shared_names:
                    raise KeyError(f"unknown data variable {name!r}; known: {sorted(self.shared_names)}")
                for key, var_name in zip(self.shared_order, self.shared_names):
                    if var_name == name:
                        old = shared[key]
                        new = np.array(value, dtype=old.dtype, order="C", copy=True)
                        if new.ndim != old.ndim:
                            raise ValueError(f"data variable {name!r} must have {old.ndim} dimensions, got {new.ndim}")
                        new.flags.writeable = False
                        shared[key] = new
            ud = _flat_user_data([shared[k] for k in self.shared_order], self.words)
            return dataclasses.replace(self, shared_data=shared, user_data=ud)

    return CachedNutpieModel


def compile_model(model) -> tuple[Any, str]:
    """Compile ``model`` for ``nutpie.sample``; returns ``(compiled, cache)``.

    ``cache`` says where the callbacks came from: ``"memory"`` (compiled earlier in
    this process for a model of the same structure), ``"disk"`` (loaded from
    PyTensor's numba cache directory), ``"compiled"`` (compiled now and written to
    that cache), or ``"none"`` (``nutpie.compile_pymc_model``: the graph has no
    PyTensor cache key, or the cached route failed, which is warned about).

    Parameters
    ----------
    model : pymc.Model
        A model whose data live in ``pm.Data`` containers.

    Returns
    -------
    tuple
        The compiled model (``nutpie.sample`` accepts it) and the cache label.
    """
    try:
        with exact_float():
            return _compile_cached(model)
    except Exception as err:  # noqa: BLE001 - e.g. an unreadable cache entry, a changed private API: never fatal
        warnings.warn(f"cached nutpie compilation failed ({type(err).__name__}: {err}); using "
                      "nutpie.compile_pymc_model instead (slower, same sampler and draws)", RuntimeWarning,
                      stacklevel=2)
        return compile_uncached(model), "none"


def exact_float():
    """Context in which PyTensor compiles numba kernels without fast-math flags.

    PyTensor's default fast-math flags (``reassoc``, ``contract``, ...) let LLVM reorder
    floating-point operations differently depending on whether a kernel is inlined
    (compiled in the same process) or linked from PyTensor's on-disk cache. The log
    density then differs in the last bits between the first fit on a machine and later
    ones, and NUTS trajectories amplify that into Monte Carlo-level differences of the
    draws (measured: the ordinal model of the simulated wave gave different draws for the
    same seed in a fresh-cache run). Without fast-math the arithmetic is IEEE-exact, so
    the same seed gives the same draws whatever the state of the caches (tested).
    """
    import pytensor

    return pytensor.config.change_flags(numba__fastmath=False)


def compile_uncached(model):
    """``nutpie.compile_pymc_model`` under :func:`exact_float` (recompiles on every call)."""
    import nutpie

    with exact_float():
        return nutpie.compile_pymc_model(model)


def _compile_cached(model) -> tuple[Any, str]:
    import numba
    from nutpie import compile_pymc as cp
    from pymc.initial_point import make_initial_point_fn

    ipf = cp._wrap_with_lock(make_initial_point_fn(model=model, jitter_rvs=set(model.free_RVs),
                                                   default_strategy="support_point", return_transformed=True))
    n_dim, n_expanded, logp_pt, expand_pt, init_fn, shape_info, reparam = cp._make_functions(
        model, mode="NUMBA", compute_grad=True, join_expanded=True, pymc_initial_point_fn=ipf)
    k_logp, k_expand = _pytensor_key(logp_pt), _pytensor_key(expand_pt)
    if k_logp is None or k_expand is None:
        return compile_uncached(model), "none"

    shared_vars: list = []
    for v in [*logp_pt.get_shared(), *expand_pt.get_shared()]:
        if v not in shared_vars:
            shared_vars.append(v)
    arrays = [np.array(v.get_value(), order="C", copy=True) for v in shared_vars]
    for a in arrays:
        a.flags.writeable = False
    index = {v: i for i, v in enumerate(shared_vars)}
    layout = [(a.ndim, a.dtype) for a in arrays]
    words = _words(layout)

    # each callback reads its own function's data, in that function's input order
    src_l = logp_source(n_dim, layout, [index[v] for v in logp_pt.get_shared()])
    src_e = expand_source(n_dim, n_expanded, layout, [index[v] for v in expand_pt.get_shared()])
    key = hashlib.sha256("|".join([k_logp, k_expand, src_l, src_e, _versions()]).encode()).hexdigest()

    with _LOCK:
        if key in _MEMO:
            c_logp, c_expand = _MEMO[key]
            cache = "memory"
        else:
            sig_l = numba.types.int64(numba.types.uint64, numba.types.CPointer(numba.types.double),
                                      numba.types.CPointer(numba.types.double), numba.types.CPointer(numba.types.double),
                                      numba.types.voidptr)
            sig_e = numba.types.int64(numba.types.uint64, numba.types.uint64, numba.types.CPointer(numba.types.double),
                                      numba.types.CPointer(numba.types.double), numba.types.voidptr)
            c_logp = _cfunc(src_l, "irmodels_logp", logp_pt.vm.jit_fn, sig_l, f"irmodels-logp-{key}")
            c_expand = _cfunc(src_e, "irmodels_expand", expand_pt.vm.jit_fn, sig_e, f"irmodels-expand-{key}")
            _MEMO[key] = (c_logp, c_expand)
            cache = "disk" if c_logp._cache_hits and c_expand._cache_hits else "compiled"

    keys = tuple(f"d{i}" for i in range(len(arrays)))
    dims, coords = cp._prepare_dims_and_coords(model, shape_info, reparam)
    compiled = _cached_class()(
        dims=dims,
        compiled_logp_func=c_logp,
        compiled_expand_func=c_expand,
        initial_point_func=init_fn,
        shared_data=dict(zip(keys, arrays)),
        shared_var_keys={v: k for v, k in zip(shared_vars, keys)},
        user_data=_flat_user_data(arrays, words),
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_pt,
        expand_func=expand_pt,
        _n_dim=n_dim,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info)},
        _coords=coords,
        reparameterized_names=reparam,
        shared_names=tuple(v.name for v in shared_vars),
        shared_order=keys,
        words=words,
    )
    return compiled, cache
