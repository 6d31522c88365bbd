"""irmodels.studies.reconstruction_study: reconstruction ensembles in chunks through the Dask runner.

The ensemble made in chunks on a 2-worker LocalCluster equals ``reconstruct(k, seed)`` row for
row and is byte-identical to the same study run serially; a rerun computes nothing; bad
arguments are refused.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from irmodels.core.errors import IrmodelsError, SchemaError
from irmodels.identification.reconstruction import reconstruct
from irmodels.studies.reconstruction_study import reconstruct_study
from irmodels.studies.runner_store import StudyManifestError

K, SEED, CHUNK = 23, 2017, 5


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    root = tmp_path_factory.mktemp("recon")
    two = reconstruct_study(K, SEED, root / "two", chunk_size=CHUNK, n_workers=2, progress=False)
    serial = reconstruct_study(K, SEED, root / "serial", chunk_size=CHUNK, scheduler="synchronous", progress=False)
    return two, serial


def test_chunked_ensemble_on_two_workers_equals_reconstruct(studies):
    two, serial = studies
    assert two.complete and two.n_done == 5 and two.n_failed == 0  # chunks of 5, 5, 5, 5, 3 replicates
    got = two.results
    assert got.groupby("task_id")["replicate"].agg(["min", "max"]).values.tolist() == \
        [[0, 4], [5, 9], [10, 14], [15, 19], [20, 22]]
    ref = reconstruct(K, SEED)
    pd.testing.assert_frame_equal(got.drop(columns="task_id").reset_index(drop=True), ref.reset_index(drop=True),
                                  check_exact=True)
    # worker count and batching do not enter the consolidated ensemble: byte-identical files
    assert (two.out_dir / "results.parquet").read_bytes() == (serial.out_dir / "results.parquet").read_bytes()


def test_rerun_computes_nothing(studies, tmp_path):
    two, _ = studies
    again = reconstruct_study(K, SEED, two.out_dir, chunk_size=CHUNK, scheduler="synchronous", progress=False)
    assert again.n_executed == 0 and again.complete
    pd.testing.assert_frame_equal(again.results, two.results, check_exact=True)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(IrmodelsError, match=r"k=0: must be a positive integer; chunk_size=1.5: must be a positive"):
        reconstruct_study(0, 1, tmp_path, chunk_size=1.5, scheduler="synchronous")


@pytest.mark.parametrize("arg, value, rule", [
    ("k", -3, "a positive integer"), ("k", True, "a positive integer"), ("k", 20.0, "a positive integer"),
    ("k", "20", "a positive integer"), ("chunk_size", 0, "a positive integer"),
    ("chunk_size", -1, "a positive integer"), ("chunk_size", False, "a positive integer"),
    ("chunk_size", 2.5, "a positive integer"), ("seed", -1, "a non-negative integer"),
    ("seed", 1.5, "a non-negative integer"), ("seed", True, "a non-negative integer"),
    ("seed", None, "a non-negative integer"), ("seed", "7", "a non-negative integer"),
    ("check", "no", "True or False"), ("check", 0, "True or False")])
def test_each_bad_argument_is_named_with_its_rule_before_anything_is_written(tmp_path, arg, value, rule):
    kw = {"k": 20, "seed": 1, "chunk_size": 5, "check": True, arg: value}
    with pytest.raises(IrmodelsError, match=re.escape(f"reconstruct_study: {arg}={value!r}: must be {rule}") + "$"):
        reconstruct_study(kw.pop("k"), kw.pop("seed"), tmp_path / "s", scheduler="synchronous", progress=False, **kw)
    assert not (tmp_path / "s").exists()


def test_chunk_larger_than_k_is_one_chunk(tmp_path):
    res = reconstruct_study(4, SEED, tmp_path / "s", chunk_size=1000, scheduler="synchronous", progress=False)
    assert res.complete and res.n_done == 1 and res.results["task_id"].unique().tolist() == [0]
    pd.testing.assert_frame_equal(res.results.drop(columns="task_id").reset_index(drop=True),
                                  reconstruct(4, SEED).reset_index(drop=True), check_exact=True)


def test_out_dir_that_is_a_file_or_someone_elses_folder_is_refused(tmp_path):
    a_file = tmp_path / "f.parquet"
    a_file.write_bytes(b"mine")
    with pytest.raises(SchemaError, match="out_dir must be a folder .*this is a file"):
        reconstruct_study(4, 1, a_file, chunk_size=2, scheduler="synchronous", progress=False)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "results.parquet").write_bytes(b"someone's results")
    with pytest.raises(SchemaError, match=r"holds files but no study \(no manifest.json\): \['results.parquet'\]"):
        reconstruct_study(4, 1, theirs, chunk_size=2, scheduler="synchronous", progress=False)
    assert a_file.read_bytes() == b"mine" and (theirs / "results.parquet").read_bytes() == b"someone's results"
    assert sorted(p.name for p in theirs.iterdir()) == ["results.parquet"]


@pytest.mark.parametrize("other", [{"seed": 2}, {"k": 5}, {"chunk_size": 3}, {"assumptions": "independent"},
                                   {"check": False}])
def test_out_dir_holding_another_study_is_not_resumed(tmp_path, other):
    kw = {"k": 4, "seed": 1, "chunk_size": 2, "assumptions": "informed", "check": True}
    first = reconstruct_study(kw.pop("k"), kw.pop("seed"), tmp_path, scheduler="synchronous", progress=False, **kw)
    before = (tmp_path / "results.parquet").read_bytes()
    kw = {"k": 4, "seed": 1, "chunk_size": 2, "assumptions": "informed", "check": True, **other}
    with pytest.raises(StudyManifestError, match="holds a different study, so its results cannot be resumed"):
        reconstruct_study(kw.pop("k"), kw.pop("seed"), tmp_path, scheduler="synchronous", progress=False, **kw)
    assert (tmp_path / "results.parquet").read_bytes() == before and first.complete


def test_unknown_assumptions_are_refused_before_any_chunk_runs(tmp_path):
    with pytest.raises(SchemaError, match="'bogus': not a shipped assumption set"):
        reconstruct_study(4, 1, tmp_path / "s", assumptions="bogus", scheduler="synchronous", progress=False)
    assert not (tmp_path / "s").exists()  # before: one failed task per chunk, recorded in a new study folder


def test_ensemble_left_in_parts_when_not_consolidated(studies, tmp_path):
    two, _ = studies
    res = reconstruct_study(K, SEED, tmp_path / "parts", chunk_size=CHUNK, scheduler="synchronous", progress=False,
                            consolidate=False)
    assert res.complete and res.n_done == 5 and len(res.results) == 0
    assert not (tmp_path / "parts" / "results.parquet").exists()
    parts = pd.read_parquet(tmp_path / "parts" / "parts" / "results")
    parts = parts.sort_values(["task_id", "replicate", "respondent_id"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(parts, two.results, check_exact=True, check_dtype=False, check_categorical=False)
