"""The posterior cache: a NetCDF file per fit, trusted only after its stored hashes are checked.

A posterior enters the cache only after it passes the convergence gate and after the whole
file is written (temp file + rename); on load the stored content hash, spec and data hash are
checked, and an unreadable or mismatched entry is moved aside with a
:class:`~irmodels.core.errors.CacheWarning` and refitted.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path


from irmodels.models.posterior import check_convergence

__all__: list[str] = []


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
    from irmodels.core.errors import CacheWarning

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
