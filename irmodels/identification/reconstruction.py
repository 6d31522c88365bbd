"""Respondent-level ensembles consistent with the published 2017 aggregates.

The 2017 ESR/CIRSE paper publishes only margins (and a few stated joint facts) for 98
departments. :func:`reconstruct` returns ``k`` respondent-level datasets, each of which

* reproduces **exactly** every published count, with missing answers where the item
  denominators imply them (:func:`published_targets`);
* satisfies every cross-constraint the text states and the audit's resolutions
  (:data:`CONSTRAINTS`, checked by :func:`check_reconstruction`);
* passes :func:`irmodels.data.schema.validate`.

Associations the paper does not publish come from a named *assumption set* (YAML; shipped:
``independent`` and ``informed``; see ``docs/reconstruction.md``).

How it works
------------
Each variable's values are a fixed multiset (the published counts plus the implied missing
answers). The multiset is *permuted* among departments: departments are ranked by a latent
score ``sum_j beta_j * x_j + e`` (``x_j`` the centred, already-assigned predictors named by the
assumption set, ``beta_j`` drawn once per replicate from the set's distribution, ``e`` standard
logistic noise) and receive the sorted multiset in rank order, so every margin is exact by
construction. Constraints are met by *tiers*: departments that a constraint forces to the
lowest (highest) values are ranked below (above) all others. Everything is vectorised over
replicates; replicate ``i`` draws from its own random stream, seeded by child ``i`` of
``numpy.random.SeedSequence(seed)`` (:func:`replicate_seed`), so it does not depend on how
many replicates are generated, in which chunks, or where.

The parts live in their own modules: the published targets, generation order and
constraints in :mod:`irmodels.identification.targets`; assumption sets (reading, JSON
Schema, checks) in :mod:`irmodels.identification.assumption_sets`; the random streams and the
stages of the generation in :mod:`irmodels.identification.engine`; the checks in
:mod:`irmodels.identification.checks`. This module assembles them into :func:`reconstruct`
and re-exports their public names.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from irmodels.core.errors import Problem, ReconstructionError, SchemaError
from irmodels.identification.assumption_sets import load_assumptions
from irmodels.identification.checks import check_reconstruction
from irmodels.identification.engine import _Engine, _Streams
from irmodels.identification.targets import (
    _BOOLS,
    _COUNTS,
    _RANK_ORDER,
    GENERATION_ORDER,
    N_RESPONDENTS,
    WAVE,
)

__all__ = ["reconstruct"]


#: Replicates generated (and checked) together; bounds the working memory of one call
#: (peak about 120 MB for a chunk of 1000 replicates, beside the 10.6 MB of its rows; at
#: k = 10^4 the peak is 1.4x the result) without changing any replicate.
CHUNK_SIZE = 1000


def reconstruct(k: int, seed: int, assumptions: str | os.PathLike = "informed", *, check: bool = True,
                first: int = 0, chunk_size: int = CHUNK_SIZE) -> pd.DataFrame:
    """Reconstruct ``k`` respondent-level datasets of the 98 departments of 2017.

    Parameters
    ----------
    k : int
        Number of replicates (>= 1).
    seed : int
        Root seed (>= 0). Replicate ``i`` is generated from its own child seed
        ``numpy.random.SeedSequence(seed).spawn(i + 1)[i]`` (:func:`replicate_seed`), so it is
        the same whatever ``k``, ``first`` and ``chunk_size`` are: ``reconstruct(10, s)`` is
        the first ten replicates of ``reconstruct(1000, s)``, and chunks of replicates can be
        generated anywhere (another process or worker) and concatenated. The same
        ``(k, seed, assumptions, first)`` gives the same table (and the same CSV bytes).
    assumptions : str or path-like
        ``"informed"`` (default), ``"independent"``, or the path of a YAML assumption set.
    check : bool
        Verify every published count and constraint (:func:`check_reconstruction`) and the
        schema before returning (default True; about a third of the run time).
    first : int
        Number of the first replicate (default 0): the call returns replicates
        ``first .. first + k - 1``.
    chunk_size : int
        Replicates generated and checked together (default :data:`CHUNK_SIZE`); the working
        memory is bounded by the chunk, the output does not depend on it.

    Returns
    -------
    pandas.DataFrame
        ``k * 98`` rows: ``replicate`` (``first`` .. ``first + k - 1``), then the canonical
        columns of the 2017 wave (``respondent_id`` ``R001``..``R098`` within each replicate,
        ``wave`` = ``"esr_cirse_2017"``, ``country``, ``beds_class``, ... ``n_radiologists``,
        ``n_residents``) with the validated dtypes of :func:`irmodels.data.schema.validate`.
        ``df.attrs["betas"]`` holds the association strengths drawn per replicate
        (``"target~predictor"`` -> list of k floats) and ``df.attrs["assumptions"]`` the name.

    Raises
    ------
    SchemaError
        If the assumption set is invalid, or ``k``, ``seed``, ``first`` or ``chunk_size`` is
        not an integer in range.
    ReconstructionError
        If a replicate fails a published count or constraint (a bug, never expected).

    Notes
    -----
    See the module docstring and ``docs/reconstruction.md``. Counts the paper gives only in
    words (radiologists, residents) are generated from the set's ``counts`` models within the
    published classes and extremes. Time and memory are linear in ``k`` (chunks of
    ``chunk_size`` replicates, each with its own per-replicate random streams).

    Examples
    --------
    >>> ens = reconstruct(k=2, seed=1)
    >>> ens.shape[0], int(ens.loc[ens.replicate == 0, "cover_24_7"].sum())
    (196, 60)
    """
    problems = []
    for name, value, low in (("k", k, 1), ("seed", seed, 0), ("first", first, 0), ("chunk_size", chunk_size, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            what = "a positive integer" if low == 1 else "a non-negative integer"
            problems.append(Problem(f"{name} must be {what}", column=name, value=value))
    if problems:
        raise SchemaError(problems, what="reconstruct")
    spec = load_assumptions(assumptions)
    k, seed, first, chunk_size = int(k), int(seed), int(first), int(chunk_size)
    parts = [_reconstruct_chunk(min(chunk_size, k - j), seed, first + j, spec, check)
             for j in range(0, k, chunk_size)]
    df = parts[0][0] if len(parts) == 1 else pd.concat([p[0] for p in parts], ignore_index=True)
    df.attrs["assumptions"] = spec.get("name", str(assumptions))
    # plain lists: attrs must survive concat and parquet metadata (JSON)
    df.attrs["betas"] = {key: [float(x) for p in parts for x in p[1][key]] for key in parts[0][1]}
    return df


def _reconstruct_chunk(k: int, seed: int, first: int, spec: dict[str, Any],
                       check: bool) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Replicates ``first .. first + k - 1`` (see :func:`reconstruct`), checked if asked, and their betas."""
    from irmodels.data.schema import column_dtypes, validate

    rng = _Streams(seed, first, k)
    eng = _Engine(k, rng, spec)
    eng.run(spec["_params"])
    n = N_RESPONDENTS
    perm = np.argsort(rng.random((k, n)), axis=1)  # shuffle rows so order carries no information
    take = lambda a: np.take_along_axis(a, perm, axis=1).ravel()  # noqa: E731
    dtypes = column_dtypes()
    cols: dict[str, Any] = {
        "replicate": np.repeat(np.arange(first, first + k, dtype=np.int64), n),
        "respondent_id": pd.array(np.tile([f"R{i:03d}" for i in range(1, n + 1)], k), dtype="string"),
        "wave": pd.array(np.full(k * n, WAVE, dtype=object), dtype="string"),
        "country": pd.array(np.asarray(eng.country_codes, dtype=object)[take(eng.country)], dtype="string"),
    }
    for var in GENERATION_ORDER:
        if var in ("country",) or var in _COUNTS:
            continue
        codes = take(eng.codes[var])
        if var in _BOOLS:
            cols[var] = pd.arrays.BooleanArray(codes == 1, codes < 0)
        else:
            dt = dtypes[var]
            rank = _RANK_ORDER[var]
            remap = np.array([list(dt.categories).index(c) for c in rank] + [-1])
            cols[var] = pd.Categorical.from_codes(remap[codes], dtype=dt)
    cols["n_radiologists"] = pd.array(take(eng.n_radiologists), dtype="Int64")
    cols["n_residents"] = pd.array(take(eng.n_residents), dtype="Int64")
    df = pd.DataFrame(cols)
    order = ["replicate"] + [c for c in dtypes if c in df.columns]
    df = df[order]
    if check:
        bad = check_reconstruction(df)
        failed = bad.loc[~bad["ok"]]
        if len(failed):
            raise ReconstructionError(
                "reconstruction broke published counts or constraints:\n"
                + failed.head(20).to_string(index=False)
            )
        validate(df, source=f"reconstruct(k={k}, seed={seed}, first={first})", extra="allow")
    return df, eng.drawn_betas
