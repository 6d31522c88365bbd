"""irmodels.studies.reconstruction_study: reconstruction ensembles in chunks through the Dask runner.

The ensemble made in chunks on a 2-worker LocalCluster equals ``reconstruct(k, seed)`` row for
row and is byte-identical to the same study run serially; a rerun computes nothing; bad
arguments are refused.
"""

from __future__ import annotations

import pandas as pd
import pytest

from irmodels.core.errors import IrmodelsError
from irmodels.identification.reconstruction import reconstruct
from irmodels.studies.reconstruction_study import reconstruct_study

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
    with pytest.raises(IrmodelsError, match=r"k=0, chunk_size=1.5: must be positive integers"):
        reconstruct_study(0, 1, tmp_path, chunk_size=1.5, scheduler="synchronous")


def test_ensemble_left_in_parts_when_not_consolidated(studies, tmp_path):
    two, _ = studies
    res = reconstruct_study(K, SEED, tmp_path / "parts", chunk_size=CHUNK, scheduler="synchronous", progress=False,
                            consolidate=False)
    assert res.complete and res.n_done == 5 and len(res.results) == 0
    assert not (tmp_path / "parts" / "results.parquet").exists()
    parts = pd.read_parquet(tmp_path / "parts" / "parts" / "results")
    parts = parts.sort_values(["task_id", "replicate", "respondent_id"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(parts, two.results, check_exact=True, check_dtype=False, check_categorical=False)
