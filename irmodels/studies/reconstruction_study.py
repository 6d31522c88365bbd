"""Reconstruction ensembles of any size, in chunks of replicates on Dask (the study runner).

:func:`reconstruct_study` cuts replicates ``0 .. k-1`` into chunks of ``chunk_size`` and runs
each chunk as one task of :func:`irmodels.studies.runner.run_study`: on the local cores (a
``LocalCluster``) by default, on a cluster given its scheduler address, resumable when stopped.
Replicate ``i`` is generated from its own child seed
(:func:`irmodels.identification.engine.replicate_seed`), so the ensemble equals
``reconstruct(k, seed, assumptions)`` row for row whatever the chunk size and the number of
workers; a worker holds one chunk at a time (about 120 MB at 1000 replicates), so ``k = 10^6``
(98 million rows) needs no more memory per worker than ``k = 1000``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from irmodels.core.errors import IrmodelsError, Problem, SchemaError
from irmodels.identification.assumption_sets import load_assumptions
from irmodels.identification.reconstruction import CHUNK_SIZE, reconstruct
from irmodels.studies.runner import StudyResult, run_study

__all__ = ["reconstruct_study"]


def _chunk_task(task_id: int, rng: np.random.Generator, *, seed: int, k: int, chunk_size: int, assumptions: str,
                check: bool) -> pd.DataFrame:
    """Replicates ``task_id * chunk_size ..`` of the ensemble (``rng`` unused: each replicate has its own seed)."""
    first = int(task_id) * int(chunk_size)
    df = reconstruct(min(int(chunk_size), int(k) - first), int(seed), assumptions, check=bool(check), first=first,
                     chunk_size=int(chunk_size))
    df.attrs = {}  # the per-replicate association strengths stay with reconstruct(); rows only
    return df


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_out_dir(out_dir: Path) -> None:
    """A new or empty folder, or a study's own folder (its ``manifest.json``): never a file, never someone's folder."""
    if out_dir.exists() and not out_dir.is_dir():
        raise SchemaError([Problem("out_dir must be a folder (new, empty, or a study's to resume); this is a file",
                                   column="out_dir", value=str(out_dir))], what="reconstruct_study")
    if out_dir.is_dir() and not (out_dir / "manifest.json").exists():
        other = sorted(p.name for p in out_dir.iterdir() if p.name != ".lock")  # .lock: a run stopped at its start
        if other:
            raise SchemaError([Problem(f"out_dir holds files but no study (no manifest.json): {other[:5]}; a study "
                                       "would overwrite them. Give a new or empty folder", column="out_dir",
                                       value=str(out_dir))], what="reconstruct_study")


def reconstruct_study(k: int, seed: int, out_dir: str | os.PathLike, *, assumptions: str | os.PathLike = "informed",
                      chunk_size: int = CHUNK_SIZE, check: bool = True, scheduler: Any = None,
                      n_workers: int | None = None, progress: bool = True, consolidate: bool = True) -> StudyResult:
    """Reconstruct ``k`` replicates of the 2017 respondents in chunks on Dask, saved under ``out_dir``.

    Parameters
    ----------
    k : int
        Number of replicates (>= 1).
    seed : int
        Root seed of :func:`~irmodels.identification.reconstruction.reconstruct` (>= 0).
    out_dir : path
        Study directory (:func:`~irmodels.studies.runner.run_study`): one parquet part per
        finished chunk, ``results.parquet`` (the whole ensemble, by replicate) at the end. Rerun
        the same call to resume an interrupted run.
    assumptions : str or path-like
        Assumption set (``"informed"``, ``"independent"`` or a YAML path).
    chunk_size : int
        Replicates per task (default :data:`~irmodels.identification.reconstruction.CHUNK_SIZE`).
    check : bool
        Check every replicate against the published counts and the schema (as ``reconstruct``).
    scheduler, n_workers, progress
        As for :func:`~irmodels.studies.runner.run_study` (default: a ``LocalCluster`` with one
        worker per core; ``IRMODELS_SCHEDULER`` or a ``tcp://`` address for a cluster).
    consolidate : bool
        Load the ensemble and write ``results.parquet`` (default); False leaves it in one parquet
        part per chunk (``out_dir/parts/results``) and returns ``results`` empty: for ensembles
        that do not fit in memory (``k = 10^6`` is 98 million rows).

    Returns
    -------
    StudyResult
        ``results`` holds ``task_id`` (the chunk) and the columns of ``reconstruct(k, seed,
        assumptions)``, equal to it row for row (tests/test_studies_reconstruction.py).

    Raises
    ------
    IrmodelsError
        ``k`` or ``chunk_size`` not a positive integer, ``seed`` not a non-negative integer,
        ``check`` not a bool (floats and bools are not integers here: nothing is truncated).
    SchemaError
        An unknown assumption set or a bad assumption file; ``out_dir`` a file, or a folder
        holding files but no study (``manifest.json``), which the study would overwrite.
    StudyManifestError
        ``out_dir`` holds another study (other ``k``, ``seed``, ``chunk_size``, assumptions or
        ``check``): it is never resumed with other arguments.

    Examples
    --------
    >>> res = reconstruct_study(2500, seed=1, out_dir="ens", chunk_size=500)  # doctest: +SKIP
    >>> res.results["replicate"].nunique()  # doctest: +SKIP
    2500
    """
    bad = [f"{name}={v!r}: must be {rule}" for name, v, rule, low in (
        ("k", k, "a positive integer", 1), ("chunk_size", chunk_size, "a positive integer", 1),
        ("seed", seed, "a non-negative integer", 0)) if not _is_int(v) or v < low]
    if not isinstance(check, (bool, np.bool_)):
        bad.append(f"check={check!r}: must be True or False")
    if bad:
        raise IrmodelsError(f"reconstruct_study: {'; '.join(bad)}")
    load_assumptions(assumptions)  # a bad set or file is refused here, not in every chunk
    _check_out_dir(Path(out_dir))
    name = os.fspath(assumptions)
    if Path(name).suffix in (".yaml", ".yml"):  # a file: recorded by its absolute path in the manifest
        name = str(Path(name).resolve())
    params = {"seed": int(seed), "k": int(k), "chunk_size": int(chunk_size), "assumptions": name, "check": bool(check)}
    return run_study(_chunk_task, math.ceil(int(k) / int(chunk_size)), int(seed), out_dir, params=params,
                     scheduler=scheduler, n_workers=n_workers, batch_size=1, progress=progress, consolidate=consolidate)
