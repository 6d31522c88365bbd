"""The fit cache can be trusted (issue 12, item 2): a posterior enters the cache only complete
and after the convergence gate; on load the stored hashes are checked; an unreadable,
truncated or swapped entry is reported by path, moved aside and refitted."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import irmodels
from irmodels.core.errors import CacheWarning, ModelSpecError

OPTS = dict(family="bernoulli", engine="pymc", seed=3, draws=400, tune=300, chains=2, on_fail="warn")


def data(seed: int = 0, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"y": rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.8 * x))), "x": x})


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    d = tmp_path_factory.mktemp("cache")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = irmodels.fit("y ~ x", data(), cache_dir=d, **OPTS)
    files = sorted(d.glob("*.nc"))
    return d, f, files


def test_a_converged_fit_is_cached_and_reloaded(cached):
    d, f, files = cached
    if not f.extra["convergence"]["converged"]:
        assert files == []  # a non-converged posterior is never cached
        pytest.skip("the small fit did not pass the gate on this machine")
    assert len(files) == 1
    g = irmodels.fit("y ~ x", data(), cache_dir=d, **OPTS)
    assert g.extra["from_cache"] is True
    pd.testing.assert_frame_equal(f.tidy(), g.tidy())


def test_a_truncated_entry_is_moved_aside_and_refitted(cached, tmp_path):
    d, f, files = cached
    if not files:
        pytest.skip("nothing cached")
    bad = tmp_path / files[0].name
    bad.write_bytes(files[0].read_bytes()[:500])
    with pytest.warns(CacheWarning, match="unreadable"):
        g = irmodels.fit("y ~ x", data(), cache_dir=tmp_path, **OPTS)
    assert g.extra["from_cache"] is False
    assert list(tmp_path.glob("*.untrusted-*")), "the bad entry is kept aside for inspection"


def test_a_posterior_copied_into_another_fits_slot_is_refused(cached, tmp_path):
    d, f, files = cached
    if not files:
        pytest.skip("nothing cached")
    other = data(seed=1)
    # the slot (content hash) of a fit of other data with the same options
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = irmodels.fit("y ~ x", other, cache_dir=tmp_path / "x", **OPTS)
    slot = tmp_path / f"{target.extra['content_hash']}.nc"
    slot.write_bytes(files[0].read_bytes())  # f's posterior in other's slot
    with pytest.warns(CacheWarning, match="made by another fit"):
        g = irmodels.fit("y ~ x", other, cache_dir=tmp_path, **OPTS)
    assert g.extra["from_cache"] is False


def test_a_cache_dir_that_is_a_file_is_refused_before_sampling(tmp_path):
    p = tmp_path / "file"
    p.write_text("x", encoding="utf-8")
    with pytest.raises(ModelSpecError, match="is a file"):
        irmodels.fit("y ~ x", data(), cache_dir=p, **OPTS)
