"""irmodels.core.tablecache: the content-addressed disk cache of result tables.

An identical call (same name, arguments and package source) reads the stored table back
unchanged, without computing; other arguments or other package code make a new entry; the
stored table equals the computed one exactly, down to the CSV bytes written from it.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from irmodels.core import tablecache
from irmodels.core.errors import CacheWarning, SchemaError
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


# -- hostile entries: never trusted, never a raw pyarrow error; recomputed and replaced, with a warning --------------

def _damage_zero(p):
    p.write_bytes(b"")


def _damage_truncate(p):
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _damage_garbage(p):
    p.write_bytes(b"PAR1" + bytes(range(256)) * 2 + b"PAR1")


def _damage_foreign(p):  # a valid parquet file of another table
    pd.DataFrame({"z": [1.5]}).to_parquet(p)


def _damage_dtypes(p):  # the same columns and values with another dtype, no cache metadata
    _table().astype({"n": "float64"}).to_parquet(p, index=False)


def _damage_directory(p):
    p.unlink()
    (p / "inner").mkdir(parents=True)


def _damage_symlink(p):
    p.unlink()
    p.symlink_to(p.with_name("elsewhere.parquet"))
    _table().to_parquet(p.with_name("elsewhere.parquet"), index=False)


DAMAGE = {"zero bytes": (_damage_zero, "unreadable"), "truncated": (_damage_truncate, "unreadable"),
          "not parquet": (_damage_garbage, "unreadable"), "foreign parquet": (_damage_foreign, "not written by this"),
          "other dtypes": (_damage_dtypes, "not written by this"), "a directory": (_damage_directory, "not a regular"),
          "a symlink": (_damage_symlink, "a symbolic link")}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_entry_is_recomputed_replaced_and_named(tmp_path, case):
    damage, reason = DAMAGE[case]
    tablecache.cached_table(tmp_path, "t", {"x": 1}, _table)
    (entry,) = tmp_path.glob("t-*.parquet")
    damage(entry)
    calls = []

    def compute():
        calls.append(1)
        return _table()

    with pytest.warns(CacheWarning, match=f"{entry.name}: not used: {reason}.*recomputed; replaced"):
        got = tablecache.cached_table(tmp_path, "t", {"x": 1}, compute)
    pd.testing.assert_frame_equal(got, _table(), check_exact=True)
    assert calls == [1] and entry.is_file() and not entry.is_symlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the replacement is trusted: read back, no warning, no computing
        again = tablecache.cached_table(tmp_path, "t", {"x": 1}, compute)
    assert calls == [1]
    pd.testing.assert_frame_equal(again, _table(), check_exact=True)


def test_entry_with_tampered_values_but_the_right_key_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    tablecache.cached_table(tmp_path, "t", {"x": 1}, _table)
    (entry,) = tmp_path.glob("t-*.parquet")
    meta = pq.read_table(entry).schema.metadata  # the genuine key and fingerprint, on other values
    other = pa.Table.from_pandas(_table().assign(lower=[9.0, 9.0]), preserve_index=False)
    pq.write_table(other.replace_schema_metadata(meta), entry)
    with pytest.warns(CacheWarning, match="its sha256 differ from those recorded"):
        got = tablecache.cached_table(tmp_path, "t", {"x": 1}, _table)
    pd.testing.assert_frame_equal(got, _table(), check_exact=True)


def test_reading_an_entry_never_runs_code_from_it(tmp_path):
    tablecache.cached_table(tmp_path, "t", {"x": 1}, _table)
    (entry,) = tmp_path.glob("t-*.parquet")
    marker = tmp_path / "ran"
    entry.write_bytes(pickle.dumps(_Payload(str(marker))))  # a pickle that would create `marker` when loaded
    with pytest.warns(CacheWarning, match="unreadable"):
        got = tablecache.cached_table(tmp_path, "t", {"x": 1}, _table)
    assert not marker.exists()
    pd.testing.assert_frame_equal(got, _table(), check_exact=True)


class _Payload:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_unusable_cache_dir_computes_and_warns(tmp_path, monkeypatch):
    a_file = tmp_path / "not_a_dir"
    a_file.write_text("x")
    with pytest.warns(CacheWarning, match="computed; not stored: could not be written.*FileExistsError"):
        got = tablecache.cached_table(a_file, "t", {"x": 1}, _table)
    pd.testing.assert_frame_equal(got, _table(), check_exact=True)
    assert a_file.read_text() == "x"

    def no_permission(*a, **k):  # the tests run as root, where chmod does not stop writing
        raise PermissionError(13, "Permission denied", str(tmp_path / "ro"))

    monkeypatch.setattr(tablecache, "atomic_path", no_permission)
    with pytest.warns(CacheWarning, match="not stored: could not be written \\(PermissionError"):
        got = tablecache.cached_table(tmp_path / "ro", "t", {"x": 1}, _table)
    pd.testing.assert_frame_equal(got, _table(), check_exact=True)


def test_unreadable_entry_is_recomputed(tmp_path, monkeypatch):
    tablecache.cached_table(tmp_path, "t", {"x": 1}, _table)
    import pyarrow.parquet as pq

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(pq, "read_table", denied)
    with pytest.warns(CacheWarning, match="unreadable \\(PermissionError"):
        got = tablecache.cached_table(tmp_path, "t", {"x": 1}, _table)
    pd.testing.assert_frame_equal(got, _table(), check_exact=True)


def test_table_that_does_not_survive_parquet_is_returned_not_stored(tmp_path):
    odd = pd.DataFrame({"v": pd.array([1, 2], dtype="object")})  # object ints read back as int64
    with pytest.warns(CacheWarning, match="not stored: does not read back as computed"):
        got = tablecache.cached_table(tmp_path, "t", {"x": 1}, lambda: odd)
    pd.testing.assert_frame_equal(got, odd, check_exact=True)
    assert not list(tmp_path.iterdir())


def test_bad_name_args_or_result_are_refused(tmp_path):
    for name in ("../escape", "a/b", ".hidden", "", 3):
        with pytest.raises(SchemaError, match="cache entry name"):
            tablecache.cached_table(tmp_path / "c", name, {"x": 1}, _table)
    assert not (tmp_path / "c").exists() and not list(tmp_path.glob("escape-*"))
    with pytest.raises(TypeError, match="args must be JSON values"):
        tablecache.cached_table(tmp_path, "t", {"x": object()}, _table)
    with pytest.raises(TypeError, match="compute\\(\\) returned list"):
        tablecache.cached_table(tmp_path, "t", {"x": 1}, lambda: [1, 2])


@pytest.mark.parametrize("kind", ["file", "unreadable"])
def test_bounds_with_an_unusable_cache_dir_still_answers(tmp_path, monkeypatch, kind):
    direct = bounds_module.bounds("teaching", "cover_24_7")
    if kind == "file":
        cache = tmp_path / "cache"
        cache.write_text("not a folder")
        match = "FileExistsError"
    else:
        cache = tmp_path
        bounds_module.bounds("teaching", "cover_24_7", cache_dir=cache)
        import pyarrow.parquet as pq

        monkeypatch.setattr(pq, "read_table", lambda *a, **k: (_ for _ in ()).throw(PermissionError(13, "denied")))
        match = "unreadable \\(PermissionError"
    with pytest.warns(CacheWarning, match=match):
        got = bounds_module.bounds("teaching", "cover_24_7", cache_dir=cache)
    pd.testing.assert_frame_equal(got, direct, check_exact=True)
