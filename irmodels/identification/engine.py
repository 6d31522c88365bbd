"""The vectorised engine that assigns the published 2017 values to departments.

Each variable's values are a fixed multiset (the published counts plus the implied missing
answers, :mod:`irmodels.identification.targets`). The multiset is *permuted* among
departments: departments are ranked by a latent score ``sum_j beta_j * x_j + e`` (``x_j`` the
centred, already-assigned predictors named by the assumption set, ``beta_j`` drawn once per
replicate, ``e`` standard logistic noise) and receive the sorted multiset in rank order, so
every margin is exact by construction; constraints are met by *tiers*. This module owns the
per-replicate random streams (:class:`_Streams`, :func:`replicate_seed`) and the generation
itself (:class:`_Engine`, one method per stage, run in :data:`GENERATION_ORDER`). The order of
the draws is part of the output: a stage must not draw before the stage it follows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from irmodels.core.errors import ReconstructionError
from irmodels.identification.targets import (
    _RANK_ORDER,
    N_RESPONDENTS,
    _item_n,
    _margin,
    _stated,
    _target_counts,
)

__all__ = ["replicate_seed"]

_TIER = 1.0e4  # larger than any |score| (logistic noise is < 40 in float64; betas*x < 100)


def replicate_seed(seed: int, replicate: int) -> np.random.SeedSequence:
    """The seed of one replicate: child ``replicate`` of ``SeedSequence(seed)``.

    Equal to ``numpy.random.SeedSequence(seed).spawn(replicate + 1)[replicate]``, built
    directly so that a chunk of replicates starting anywhere needs no other child.

    Parameters
    ----------
    seed : int
        The ``seed`` of :func:`reconstruct` (>= 0).
    replicate : int
        Replicate number (>= 0).

    Returns
    -------
    numpy.random.SeedSequence
    """
    return np.random.SeedSequence(seed, spawn_key=(int(replicate),))


class _Streams:
    """One random stream per replicate, consumed in lockstep by the vectorised engine.

    Replicate ``i`` draws only from its own generator (``PCG64`` seeded by
    :func:`replicate_seed`), and every replicate consumes the same number of uniforms in the
    same order, so replicate ``i`` is the same whatever the other replicates of the call (``k``,
    ``first``, chunking, workers). Uniforms are drawn per replicate in blocks (one generator
    call per replicate and block) and turned into the other distributions by their inverse
    CDFs, vectorised over the replicates: normal (``ndtri``), logistic, exponential, bounded
    integers, gamma (``gammaincinv``, for the Dirichlet) and multinomial (categorical draws
    counted).
    """

    _BLOCK = 2048  # uniforms per replicate drawn per refill

    def __init__(self, seed: int, first: int, k: int) -> None:
        self.k = k
        self._gens = [np.random.Generator(np.random.PCG64(replicate_seed(seed, first + i))) for i in range(k)]
        self._buf = np.empty((k, 0))
        self._pos = 0

    def _uniform(self, m: int) -> np.ndarray:
        """(k, m) uniforms in (0, 1): the next ``m`` of every replicate's stream."""
        if self._pos + m > self._buf.shape[1]:
            size = max(self._BLOCK, m)
            fresh = np.empty((self.k, size))
            for i, g in enumerate(self._gens):
                g.random(out=fresh[i])
            # random() is in [0, 1); 0 (probability 2^-53) would give an infinite logistic/normal
            fresh[fresh == 0.0] = 2.0 ** -54
            self._buf = np.concatenate([self._buf[:, self._pos:], fresh], axis=1)
            self._pos = 0
        u = self._buf[:, self._pos:self._pos + m]
        self._pos += m
        return u

    def _split(self, size: int | tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
        if shape[0] != self.k:
            raise ReconstructionError(f"internal: random draw of shape {shape} for {self.k} replicates")
        return int(np.prod(shape[1:], dtype=np.int64)), shape

    def random(self, size: int | tuple[int, ...]) -> np.ndarray:
        m, shape = self._split(size)
        return self._uniform(m).reshape(shape)

    def standard_normal(self, size: int | tuple[int, ...]) -> np.ndarray:
        from scipy import special

        m, shape = self._split(size)
        return special.ndtri(self._uniform(m)).reshape(shape)

    def logistic(self, size: int | tuple[int, ...]) -> np.ndarray:
        m, shape = self._split(size)
        u = self._uniform(m)
        return (np.log(u) - np.log1p(-u)).reshape(shape)

    def exponential(self, scale: float, size: int | tuple[int, ...]) -> np.ndarray:
        m, shape = self._split(size)
        return (-scale * np.log1p(-self._uniform(m))).reshape(shape)

    def integers(self, low: int, high: int, size: int | tuple[int, ...]) -> np.ndarray:
        """Integers in ``[low, high)``."""
        m, shape = self._split(size)
        x = low + np.floor(self._uniform(m) * (high - low)).astype(np.int64)
        return np.minimum(x, high - 1).reshape(shape)

    def dirichlet_multinomial(self, trials: int, alpha: np.ndarray) -> np.ndarray:
        """(k, len(alpha)) counts: ``Multinomial(trials, p)`` with ``p ~ Dirichlet(alpha)`` per replicate."""
        from scipy import special

        alpha = np.asarray(alpha, dtype=float)
        gam = special.gammaincinv(alpha[None, :], self._uniform(len(alpha)))
        p = gam / gam.sum(axis=1, keepdims=True)
        cat = (self._uniform(trials)[:, :, None] >= np.cumsum(p, axis=1)[:, None, :-1]).sum(axis=2)
        return np.stack([(cat == j).sum(axis=1) for j in range(len(alpha))], axis=1).astype(np.int64)


class _Engine:
    """Vectorised assignment over ``k`` replicates x ``n`` departments."""

    def __init__(self, k: int, rng: _Streams, spec: dict[str, Any]) -> None:
        self.k, self.n, self.rng = k, N_RESPONDENTS, rng
        self.codes: dict[str, np.ndarray] = {}  # variable -> (k, n) rank-order codes, -1 = NA
        self.x: dict[str, np.ndarray] = {}  # predictor values for scores (centred, NA -> 0)
        self.betas: dict[str, list[tuple[str, np.ndarray]]] = {}
        for a in spec["associations"]:
            d = a["latent_coefficient"]
            beta = d["mean"] + d["sd"] * rng.standard_normal(k)
            self.betas.setdefault(a["target"], []).append((a["predictor"], beta))
        self.drawn_betas = {f"{t}~{p}": b for t, lst in self.betas.items() for p, b in lst}
        self.predictors = {p for lst in self.betas.values() for p, _ in lst}

    # ---- primitives
    def choose(self, eligible: np.ndarray, m: int | np.ndarray) -> np.ndarray:
        """Exactly ``m`` departments per replicate, uniformly among ``eligible``."""
        m = np.broadcast_to(np.asarray(m), (self.k,))
        if np.any(eligible.sum(axis=1) < m):
            raise ReconstructionError("internal: fewer eligible departments than required by a constraint")
        key = self.rng.random((self.k, self.n)) + (~eligible) * 2.0
        return _ranks(key) < m[:, None]

    def score(self, target: str) -> np.ndarray:
        s = self.rng.logistic(size=(self.k, self.n))
        for pred, beta in self.betas.get(target, []):
            s = s + beta[:, None] * self.x[pred]
        return s

    @staticmethod
    def fill(key: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Give the j-th lowest key the j-th entry of ``values`` ((n,) or (k, n))."""
        order = np.argsort(key, axis=1, kind="stable")
        out = np.empty(key.shape, dtype=np.int64)
        np.put_along_axis(out, order, np.broadcast_to(values, key.shape), axis=1)
        return out

    def multiset(self, var: str, counts: dict[str, int] | None = None) -> np.ndarray:
        """The published values of ``var`` in rank order, its missing answers (-1) first."""
        counts = counts if counts is not None else _target_counts(var)
        order = _RANK_ORDER[var]
        vals = [-1] * (self.n - sum(counts.values()))
        for i, c in enumerate(order):
            vals += [i] * counts.get(c, 0)
        if len(vals) != self.n:
            raise ReconstructionError(f"internal: multiset of {var} has {len(vals)} values")
        return np.asarray(vals, dtype=np.int64)

    def store(self, var: str, codes: np.ndarray) -> None:
        # small integer codes (memory per chunk); the centred copy only for a named predictor
        self.codes[var] = codes.astype(np.int8) if codes.dtype.kind == "i" else codes
        if var not in self.predictors:
            return
        x = codes.astype(float)
        x[codes < 0] = np.nan
        x = x - np.nanmean(x, axis=1, keepdims=True)
        self.x[var] = np.nan_to_num(x, nan=0.0)

    def assign(self, var: str, tiers: np.ndarray | None = None,
               counts: dict[str, int] | None = None, values: np.ndarray | None = None) -> np.ndarray:
        key = self.score(var)
        if tiers is not None:
            key = key + _TIER * tiers
        vals = values if values is not None else self.multiset(var, counts)
        codes = self.fill(key, vals)
        self.store(var, codes)
        return codes

    # ---- the generation, in GENERATION_ORDER; every number comes from published_margins()
    # (_margin, _item_n, the multisets) or from a stated joint fact of statements.csv (_stated)
    def run(self, p: dict[str, Any]) -> None:
        """Generate every variable for ``k`` replicates (``p``: the set's ``_params``)."""
        g = self._no_ir_and_teaching()
        self._chair_and_memberships(g["no_ir"])
        self._residents(p, g)
        self._radiologists(p, g["big"])
        partial = self._shares(p, g)
        self._organisation(g["no_ir"], partial)

    def _no_ir_and_teaching(self) -> dict[str, np.ndarray]:
        """Beds (fixed layout), the departments without IR or interventions, teaching, country."""
        k, n, rng = self.k, self.n, self.rng
        C = self.codes
        n_no_ir = _margin("ir_share_class", "0")  # 3 (R3-13)
        n_vol0 = _margin("procedure_volume_class", "0")  # 2 (R4-04)
        n_vol0_teach = _stated("DIS-04")  # 1 of the 2 without interventions teaches
        # beds: fixed layout (rows are permuted at the end)
        beds = self.multiset("beds_class")
        self.store("beds_class", np.broadcast_to(beds, (k, n)).copy())
        small = C["beds_class"] <= 1
        # the departments without IR (small), some of them without any intervention
        no_ir = self.choose(small, n_no_ir)
        vol0 = self.choose(no_ir, n_vol0)
        vol0_nt = self.choose(vol0, n_vol0 - n_vol0_teach)  # the non-teaching one(s)
        vol0_t = vol0 & ~vol0_nt
        no_ir_third = no_ir & ~vol0
        self.no_ir = no_ir

        # teaching: 5 false; one of the two no-intervention departments teaches, one does not
        teach = self.assign("teaching", tiers=-1.0 * vol0_nt + 1.0 * vol0_t)
        nonteach = teach == 0

        # country: a random permutation of Table 1
        country = _target_counts("country")
        cc = list(country)
        key = rng.random((k, n))
        self.country = self.fill(key, np.repeat(np.arange(len(cc)), list(country.values())))
        self.country_codes = cc
        return {"no_ir": no_ir, "vol0": vol0, "vol0_nt": vol0_nt, "vol0_t": vol0_t, "no_ir_third": no_ir_third,
                "teach": teach, "nonteach": nonteach, "big": C["beds_class"] == 3}

    def _chair_and_memberships(self, no_ir: np.ndarray) -> None:
        """Chair profile, then the CIRSE-only group (published chair profiles) and the memberships."""
        # chair profile; no-IR departments are led by a DR
        chair = self.assign("chair_profile", tiers=-1.0 * no_ir)

        # memberships: CIRSE-only group first (published chair profiles), then the rest
        n_co = _margin("member_esr_cirse", "cirse_only")  # 10 (audit D01)
        n_co_ir, n_co_eq = _stated("R2-10"), _stated("R2-11")  # 7 IR_mostly, 1 DR_IR_equal
        cirse_only = (
            self.choose(chair == 3, n_co_ir) | self.choose(chair == 2, n_co_eq)
            | self.choose((chair <= 1) & ~no_ir, n_co - n_co_ir - n_co_eq)
        )
        cirse = self.assign("member_cirse", tiers=1.0 * cirse_only - 1.0 * no_ir)
        noncirse = cirse == 0
        neither = self.choose(noncirse, _margin("member_esr_cirse", "neither"))
        esr = np.where(cirse_only | neither, 0, 1)
        self.store("member_esr", esr)
        self.assign("member_national_radiology")
        self.assign("member_national_ir", tiers=-1.0 * no_ir)

    def _residents(self, p: dict[str, Any], grp: dict[str, np.ndarray]) -> None:
        """Resident classes 0 / 1-5 / 6-12 / 13-21 / >21 by tiers, then the numbers within them."""
        k, n, rng = self.k, self.n, self.rng
        C = self.codes
        n_vol0, n_vol0_teach = _margin("procedure_volume_class", "0"), _stated("DIS-04")
        vol0_nt, nonteach, teach = grp["vol0_nt"], grp["nonteach"], grp["teach"]
        r0, r612, r22 = (_margin("n_residents", c) for c in ("0", "6-12", ">21"))  # 2, 38, 13
        n_high_mid = _stated("R3-11")  # >12 residents in 400-799-bed hospitals: 2
        b = rng.integers(p["res_low"], p["res_high"] + 1, size=k)  # 13-21 count
        g = r22 + b  # more than 12
        zero_res = vol0_nt | self.choose(nonteach & ~vol0_nt, r0 - (n_vol0 - n_vol0_teach))
        nt_res = nonteach & ~zero_res
        big = C["beds_class"] == 3
        n_high = self.choose((C["beds_class"] == 2) & (teach == 1), n_high_mid)
        s = self.score("n_residents")
        w_el = big & (teach == 1)
        wk = np.where(w_el, -s, np.inf)
        w_rank = _ranks(wk)
        w_high = w_el & (w_rank < (g - n_high_mid)[:, None])
        regular = ~(zero_res | nt_res | n_high | w_high)
        pair = self.choose(regular & ~big, 1) | self.choose(regular & big, 1)
        tiers = np.select([zero_res, nt_res, pair, n_high | w_high], [0.0, 1.0, 3.0, 4.0], default=2.0)
        a = n - r0 - r612 - r22 - b  # 1-5 residents
        cls_counts = np.stack([np.full(k, r0), a, np.full(k, r612), b, np.full(k, r22)], axis=1)
        vals = _multiset_rows(cls_counts, n)
        rc = self.fill(s + _TIER * tiers, vals)
        lo = np.array([0, 1, 6, 13, 22])
        hi = np.array([0, 5, 12, 21, 22])
        nres = lo[rc] + np.floor(rng.random((k, n)) * (hi[rc] - lo[rc] + 1)).astype(np.int64)
        tail = 22 + np.floor(rng.exponential(p["tail_mean"], size=(k, n))).astype(np.int64)
        nres = np.where(rc == 4, np.minimum(tail, 69), nres)
        top = np.argmax(np.where(rc == 4, s, -np.inf), axis=1)
        nres[np.arange(k), top] = 70
        self.n_residents = nres
        self.store("n_residents", np.log1p(nres) / np.log1p(nres).std(axis=1, keepdims=True))

    def _radiologists(self, p: dict[str, Any], big: np.ndarray) -> None:
        """17 departments with fewer than 10 radiologists outside >=800 beds; log-normal otherwise."""
        k, n, rng = self.k, self.n, self.rng
        C = self.codes
        nres = self.n_residents
        # radiologists: 17 with fewer than 10 among the non->=800 departments
        s = self.score("n_radiologists")
        n_low = _margin("n_radiologists", "<10")  # 17 (R3-01)
        lowrad = self.fill(s + _TIER * big, np.repeat([0, 1], [n_low, n - n_low])) == 0
        z = (np.log1p(nres) - np.log1p(nres).mean(axis=1, keepdims=True)) / np.log1p(nres).std(axis=1, keepdims=True)
        eps = rng.standard_normal((k, n))
        logn = np.log(p["median"][C["beds_class"]]) + p["sdlog"] * (p["rho"] * z + np.sqrt(1 - p["rho"] ** 2) * eps)
        nrad = np.clip(np.rint(np.exp(logn)), 10, 89).astype(np.int64)
        nrad = np.where(lowrad, rng.integers(4, 10, size=(k, n)), nrad)
        top = np.argmax(np.where(big, logn, -np.inf), axis=1)
        nrad[np.arange(k), top] = 90
        self.n_radiologists = nrad
        self.store("n_radiologists", np.log1p(nrad) / np.log1p(nrad).std(axis=1, keepdims=True))

    def _shares(self, p: dict[str, Any], g: dict[str, np.ndarray]) -> np.ndarray:
        """Procedure volume, IR / biopsy / female shares; returns the partial responder."""
        k, n, rng = self.k, self.n, self.rng
        no_ir, vol0, no_ir_third = g["no_ir"], g["vol0"], g["no_ir_third"]
        # procedure volume: 0 for the two, 1-200 for the third no-IR department
        self.assign("procedure_volume_class", tiers=-2.0 * vol0 - 1.0 * no_ir_third)

        # IR share: 5 missing answers (MCAR among departments with IR), 3 zero
        na5 = self.choose(~no_ir, n - _item_n("ir_share_class"))
        self.assign("ir_share_class", tiers=-2.0 * na5 - 1.0 * no_ir)
        partial = self.choose(na5, 1)  # the one department missing every 97-denominator item
        self.assign("biopsy_share_class", tiers=-1.0 * na5)
        self.assign("female_radiologist_share_class")
        up = rng.dirichlet_multinomial(_margin("female_ir_share_class", ">25"), p["alpha"])
        fna = n - _item_n("female_ir_share_class")
        fcounts = np.concatenate([np.full((k, 1), fna), np.full((k, 1), _margin("female_ir_share_class", "0")),
                                  np.full((k, 1), _margin("female_ir_share_class", "1-25")), up], axis=1)
        fv = _multiset_rows(fcounts, n) - 1  # first block is NA (-1)
        self.assign("female_ir_share_class", tiers=-1.0 * (no_ir | na5), values=fv)
        return partial

    def _organisation(self, no_ir: np.ndarray, partial: np.ndarray) -> None:
        """IR unit, outpatient service, day-case beds, admissions, rounds, cover, neuro, cardiac."""
        # IR organisation
        self.assign("ir_unit", tiers=-1.0 * no_ir)
        # a conditional item is missing when its parent is not "true" and, for the parent-"true"
        # departments beyond the child's item_n, by item non-response
        def child_na(parent: str, child: str) -> int:
            return _margin(parent, "true") - _item_n(child)

        out = self.assign("outpatient_service", tiers=-2.0 * partial - 1.0 * no_ir)
        op = out == 1
        self.assign("outpatient_location",
                    tiers=-2.0 * ~op - 1.0 * self.choose(op, child_na("outpatient_service", "outpatient_location")))
        dcb = self.assign("day_case_beds", tiers=-2.0 * partial - 1.0 * no_ir) == 1
        self.assign("day_case_beds_management",
                    tiers=-2.0 * ~dcb - 1.0 * self.choose(dcb, child_na("day_case_beds", "day_case_beds_management")))
        self.assign("admission_under_ir", tiers=-2.0 * partial - 1.0 * no_ir)
        self.assign("ward_rounds", tiers=-2.0 * partial - 1.0 * no_ir)
        self.assign("cover_24_7", tiers=-2.0 * partial - 1.0 * no_ir)
        self.assign("ir_specialised", tiers=-2.0 * partial - 1.0 * no_ir)
        neuro = self.assign("neuro_performed", tiers=-1.0 * no_ir) == 1
        self.assign("neuro_provider", tiers=-1.0 * ~neuro)
        card = self.assign("cardiac_performed") == 1
        self.assign("cardiac_provider", tiers=-2.0 * ~card - 1.0 * no_ir)


def _ranks(key: np.ndarray) -> np.ndarray:
    """Rank (0 = smallest, ties by position) of every entry within its row: one argsort, not two."""
    order = np.argsort(key, axis=1, kind="stable")
    ranks = np.empty(key.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(key.shape[1]), key.shape), axis=1)
    return ranks


def _multiset_rows(counts: np.ndarray, n: int) -> np.ndarray:
    """(k, C) counts summing to n -> (k, n) codes 0..C-1 in ascending blocks."""
    cum = np.cumsum(counts, axis=1)
    if np.any(cum[:, -1] != n):
        raise ReconstructionError("internal: per-replicate counts do not sum to the number of departments")
    j = np.arange(n)
    return (j[None, None, :] >= cum[:, :, None]).sum(axis=1)
