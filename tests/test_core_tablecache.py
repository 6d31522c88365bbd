"""irmodels.core.tablecache: the content-addressed disk cache of result tables.

An identical call (same name, arguments and package source) reads the stored table back
unchanged, without computing; other arguments or other package code make a new entry; the
stored table equals the computed one exactly, down to the CSV bytes written from it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from irmodels.core import tablecache
from irmodels.identification import bounds as bounds_module


def _table() -> pd.DataFrame:
    return pd.DataFrame({"contrast": ["a vs b", "c vs d"], "lower": [-0.1234567890123, 0.0],
                         "upper": [np.inf, 1 / 3], "n": [1, 2], "status": ["bounded", "unrestricted"]})


def test_identical_call_reads_the_entry_back_exactly(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return _table()

    first = tablecache.cached_table(tmp_path, "t", {"x": 1}, compute)
    second = tablecache.cached_table(tmp_path, "t", {"x": 1}, compute)
    assert len(calls) == 1 and len(list(tmp_path.glob("t-*.parquet"))) == 1
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    pd.testing.assert_frame_equal(second, _table(), check_exact=True)
    assert second.to_csv(index=False) == _table().to_csv(index=False)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_other_arguments_or_other_code_make_new_entries(tmp_path, monkeypatch):
    tablecache.cached_table(tmp_path, "t", {"x": 1}, _table)
    tablecache.cached_table(tmp_path, "t", {"x": 2}, _table)
    monkeypatch.setattr(tablecache, "package_source_hash", lambda: "other code")
    tablecache.cached_table(tmp_path, "t", {"x": 1}, _table)
    assert len(list(tmp_path.glob("t-*.parquet"))) == 3


def test_failed_computation_leaves_no_entry(tmp_path):
    def boom():
        raise RuntimeError("solver failed")

    with pytest.raises(RuntimeError, match="solver failed"):
        tablecache.cached_table(tmp_path, "t", {"x": 1}, boom)
    assert not list(tmp_path.iterdir())


def test_bounds_with_a_cache_dir_equal_bounds_without(tmp_path, monkeypatch):
    direct = bounds_module.bounds("teaching", "cover_24_7")
    cached = bounds_module.bounds("teaching", "cover_24_7", cache_dir=tmp_path)
    pd.testing.assert_frame_equal(cached, direct, check_exact=True)
    # the second call is read from disk: the programmes are not solved again
    monkeypatch.setattr(bounds_module, "_bounds_cached", lambda *a: (_ for _ in ()).throw(AssertionError("solved")))
    again = bounds_module.bounds("teaching", "cover_24_7", cache_dir=tmp_path)
    pd.testing.assert_frame_equal(again, direct, check_exact=True)
    assert again.to_csv(index=False, float_format="%.6g") == direct.to_csv(index=False, float_format="%.6g")
