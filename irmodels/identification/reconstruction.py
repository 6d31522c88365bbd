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
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from irmodels.core.errors import Problem, ReconstructionError, SchemaError

__all__ = [
    "reconstruct",
    "replicate_seed",
    "published_targets",
    "check_reconstruction",
    "load_assumptions",
    "shipped_assumption_sets",
    "GENERATION_ORDER",
    "CONSTRAINTS",
    "N_RESPONDENTS",
    "WAVE",
]

N_RESPONDENTS = 98
WAVE = "esr_cirse_2017"

# The published counts are NOT written here: they come from
# irmodels.data.waves.esr_cirse_2017.published_margins() (statements.csv + the audit's resolutions),
# the single source of truth, through _margins() below. Stated joint facts (constraints) come
# from the same statements file by statement id (_stated()).


@functools.cache
def _margins_cached() -> pd.DataFrame:
    from irmodels.data.waves.esr_cirse_2017 import published_margins

    return published_margins()


@functools.cache
def _statement_counts() -> dict[str, int]:
    from irmodels.data.waves.esr_cirse_2017 import load_statements

    st = load_statements()
    st = st[st["count"].notna()]
    return {str(i): int(c) for i, c in zip(st["statement_id"], st["count"])}


def _stated(statement_id: str) -> int:
    """The count printed in one statement of the paper (e.g. ``"R2-10"``: 7 CIRSE-only IR_mostly)."""
    try:
        return _statement_counts()[statement_id]
    except KeyError:  # pragma: no cover - a broken statements file is caught by its own loader
        raise ReconstructionError(f"statement {statement_id} has no count in statements.csv") from None


def _margin(variable: str, category: str) -> int:
    """The adopted published count of one category (``published_margins``)."""
    m = _margins_cached()
    hit = m.loc[(m["variable"] == variable) & (m["category"] == category), "count"]
    if len(hit) != 1:
        raise ReconstructionError(f"published_margins() has no count for {variable}={category}")
    return int(hit.iloc[0])


def _item_n(variable: str) -> int:
    """Adopted number of departments answering an item."""
    m = _margins_cached()
    return int(m.loc[m["variable"] == variable, "item_n"].iloc[0])


def _target_counts(variable: str) -> dict[str, int]:
    """``{category: count}`` of a target variable, in ``published_margins`` order."""
    t = _targets_cached()
    g = t[t["variable"] == variable]
    return dict(zip(g["category"], g["count"].astype(int)))


#: The order in which variables are generated; an association's predictor must come before
#: its target.
GENERATION_ORDER: tuple[str, ...] = (
    "beds_class", "teaching", "country", "chair_profile", "member_cirse", "member_esr",
    "member_national_radiology", "member_national_ir", "n_residents", "n_radiologists",
    "procedure_volume_class", "ir_share_class", "biopsy_share_class",
    "female_radiologist_share_class", "female_ir_share_class", "ir_unit", "outpatient_service",
    "outpatient_location", "day_case_beds", "day_case_beds_management", "admission_under_ir",
    "ward_rounds", "cover_24_7", "ir_specialised", "neuro_performed", "neuro_provider",
    "cardiac_performed", "cardiac_provider",
)
# Variables an assumption set may target (the others are fully determined by constraints or
# are not ranked: beds first, country nominal with 24 levels, member_esr by the combination).
_TARGETS = set(GENERATION_ORDER) - {"beds_class", "country", "member_esr"}
_PREDICTORS = set(GENERATION_ORDER) - {"country"}
# Fields of one association of an assumption set.
_ASSOC_FIELDS = ("target", "predictor", "latent_coefficient", "source", "note")

# Rank order of categories (low -> high latent score). Ordered variables and booleans use the
# codebook order; nominal ones go from least to most radiology/IR-led.
_RANK_ORDER: dict[str, list[str]] = {
    "teaching": ["false", "true"],
    "beds_class": ["<200", "200-399", "400-799", ">=800"],
    "chair_profile": ["DR", "DR_some_IR", "DR_IR_equal", "IR_mostly"],
    "ir_share_class": ["0", "1-25", "26-50", ">50"],
    "biopsy_share_class": ["0", "1-25", "26-50", "51-75", ">75"],
    "female_radiologist_share_class": ["0-25", "26-50", "51-75", ">75"],
    "female_ir_share_class": ["0", "1-25", "26-50", "51-75", ">75"],
    "procedure_volume_class": ["0", "1-200", "201-500", ">500"],
    "outpatient_location": ["elsewhere", "radiology"],
    "day_case_beds_management": ["other_team", "shared", "radiology"],
    "admission_under_ir": ["mostly_other", "mixed", "mostly_ir"],
    "neuro_provider": ["other_specialist", "neuroradiologist", "ir"],
    "cardiac_provider": ["cardiology_or_surgery", "ir"],
}
_BOOLS = (
    "teaching", "member_esr", "member_cirse", "member_national_radiology", "member_national_ir",
    "ir_unit", "outpatient_service", "day_case_beds", "ward_rounds", "cover_24_7",
    "ir_specialised", "neuro_performed", "cardiac_performed",
)
for _b in _BOOLS:
    _RANK_ORDER.setdefault(_b, ["false", "true"])
_COUNTS = ("n_residents", "n_radiologists")

#: Constraints every replicate satisfies: (name, kind, statement). ``kind`` is ``published``
#: (stated in the paper), ``audit`` (the audit's resolution of a contradiction) or
#: ``plausibility`` (added by irmodels; an assumption, not a published fact).
CONSTRAINTS: tuple[tuple[str, str, str], ...] = (
    ("membership_combination", "audit", "both societies 39, ESR only 43, CIRSE only 10, neither 6"),
    ("cirse_only_chairs", "published", "CIRSE-only: 7 IR_mostly, 1 DR_IR_equal, 2 DR or DR_some_IR"),
    ("radiologists_below_10", "published", "17 departments have fewer than 10 radiologists, none with >=800 beds"),
    ("radiologists_max_90", "published", "the maximum, 90 radiologists, occurs once, in a >=800-bed hospital"),
    ("residents_zero", "published", "exactly 2 departments have no residents; both are non-teaching"),
    ("residents_6_12", "published", "38 departments have 6-12 residents, among them 400-799 and >=800 beds"),
    ("residents_above_21", "published", "13 departments have more than 21 residents"),
    ("residents_above_12_large", "published", "more than 12 residents => >=800 beds, except exactly 2 teaching 400-799"),
    ("residents_range", "published", "positive resident numbers range from 1 to 70; 70 occurs once"),
    ("no_ir_small", "published", 'the 3 departments with ir_share_class "0" have <200 or 200-399 beds'),
    ("volume_zero", "published", 'the 2 departments without interventions have ir_share "0"; one teaching, one not'),
    ("no_ir_third_volume", "published", 'the third ir_share "0" department has 1-200 procedures'),
    ("minimal_volume_trainees", "published", "at least 3 departments with 1-200 procedures have residents"),
    ("female_ir_missing", "published", 'female_ir_share_class is missing for the 3 ir_share "0" departments (90 answers)'),
    ("female_ir_missing_nonresponse", "plausibility", "the other 5 missing female_ir_share answers are the 5 missing ir_share answers"),
    ("biopsy_missing", "plausibility", "the 5 missing biopsy_share answers are the 5 missing ir_share answers"),
    ("partial_responder", "plausibility", "the one missing answer of each 97-denominator item is the same department, one of the 5 missing ir_share"),
    ("no_ir_services", "plausibility", "no-IR departments: no IR unit, outpatient service, day-case beds, ward rounds, 24/7 cover, specialisation; admissions mostly under other wards"),
    ("no_ir_chair", "plausibility", "no-IR departments: chair works as DR, not a CIRSE or national IR society member"),
    ("no_ir_neuro_cardiac", "plausibility", "no-IR departments: no neurointerventions; cardiac service (if any) not run by IR"),
    ("nonteaching_residents", "plausibility", "non-teaching departments with residents have 1-5 residents"),
    ("radiologists_min_4", "plausibility", "every department has at least 4 radiologists (so every share class is attainable)"),
)


# --------------------------------------------------------------------------- targets


@functools.cache
def _targets_cached() -> pd.DataFrame:
    from irmodels.data.schema import column_dtypes

    m = _margins_cached()
    dtypes = column_dtypes()

    def is_code(var: str, cat: str) -> bool:
        dt = dtypes.get(var)
        if isinstance(dt, pd.CategoricalDtype):
            return cat in dt.categories
        if isinstance(dt, pd.BooleanDtype):
            return cat in ("true", "false")
        return var == "country"  # a string column whose codes are the published ones

    keep = [is_code(v, c) for v, c in zip(m["variable"], m["category"])]
    return m.loc[keep].reset_index(drop=True)


def published_targets() -> pd.DataFrame:
    """The published 2017 category counts every replicate reproduces.

    Built from :func:`irmodels.data.waves.esr_cirse_2017.published_margins` (the single source of
    the published numbers and of the audit's resolutions): every margin whose category is a
    code of a canonical variable. The other published margins (counts in classes such as
    ``n_radiologists`` < 10, the membership combinations, the 18 female-IR shares above 25%)
    are reproduced through the constraints of :func:`check_reconstruction`.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable``, ``category`` (booleans as ``"true"``/``"false"``),
        ``count``, ``item_n`` (number of answers; 98 minus ``item_n`` are missing),
        ``source`` (``printed``, ``implied``, ``residual`` or ``resolution``) and
        ``statement_id`` (the statement(s) of the paper it rests on).
        ``female_ir_share_class`` lists only the published ``"0"`` and ``"1-25"``.
    """
    return _targets_cached().copy()


# --------------------------------------------------------------------------- assumptions


def shipped_assumption_sets() -> list[str]:
    """Names of the assumption sets shipped with irmodels."""
    d = resources.files("irmodels.identification").joinpath("assumptions")
    return sorted(p.name[:-5] for p in d.iterdir() if p.name.endswith(".yaml"))


def load_assumptions(assumptions: str | os.PathLike = "informed") -> dict[str, Any]:
    """Load and check an assumption set.

    Parameters
    ----------
    assumptions : str or path-like
        The name of a shipped set (``"independent"``, ``"informed"``) or the path of a YAML
        file with the same fields (see ``docs/reconstruction.md``).

    Returns
    -------
    dict
        The parsed set, with ``associations`` as a list of dicts.

    Raises
    ------
    SchemaError
        Listing every problem: unknown set name, unreadable YAML, unknown variables or
        fields, a predictor generated after its target, a ``latent_coefficient`` distribution
        other than ``normal`` or a negative ``sd``, the old key ``log_odds_ratio`` (renamed
        ``latent_coefficient``: it is the coefficient of the latent ranking score, not the
        realised log odds ratio), malformed unpublished margins.
    """
    if isinstance(assumptions, str) and assumptions in shipped_assumption_sets():
        where = f"assumption set {assumptions!r}"
        text = resources.files("irmodels.identification").joinpath("assumptions", f"{assumptions}.yaml").read_text(encoding="utf-8")
    else:
        path = Path(assumptions)
        where = str(path)
        if not path.is_file():
            raise SchemaError(
                [Problem(f"not a shipped assumption set ({shipped_assumption_sets()}) nor an existing YAML file",
                         value=str(assumptions))],
                what="assumptions",
            )
        text = path.read_text(encoding="utf-8")
    from irmodels.core.yamlio import load_yaml_text

    spec = load_yaml_text(text, where)  # YAML 1.2 scalars; duplicate keys, aliases, tags refused with lines
    problems: list[Problem] = []
    if not isinstance(spec, dict):
        raise SchemaError([Problem("the file must be a YAML mapping", file=where)], what=where)
    allowed = {"name", "description", "associations", "unpublished_margins", "counts", "odds_ratios"}
    for key in spec:
        if key not in allowed:
            problems.append(Problem(f"unknown field; allowed: {sorted(allowed)}", file=where, column=str(key)))
    if "odds_ratios" in spec and not isinstance(spec["odds_ratios"], (list, type(None))):
        problems.append(Problem("odds_ratios must be a list of {parameter, odds_ratio, range, source}", file=where,
                                column="odds_ratios", value=spec["odds_ratios"]))
    assoc = spec.get("associations") or []
    if not isinstance(assoc, list):
        problems.append(Problem("associations must be a list", file=where, column="associations"))
        assoc = []
    order = {v: i for i, v in enumerate(GENERATION_ORDER)}
    for i, a in enumerate(assoc):
        row = f"associations[{i}]"
        if not isinstance(a, dict):
            problems.append(Problem("each association must be a mapping", file=where, row=row))
            continue
        if "log_odds_ratio" in a:
            # renamed: the value is the coefficient of the latent ranking score, and calling it
            # a log odds ratio suggested (wrongly) that the reconstructed data show that OR
            problems.append(Problem(
                "the field log_odds_ratio was renamed latent_coefficient: it is the coefficient of the "
                "predictor in the latent ranking score, not the realised log odds ratio (which is weaker "
                "because the margins are fixed); rename the key, the value format is unchanged",
                file=where, row=row, column="log_odds_ratio"))
        for f in a:
            if f not in _ASSOC_FIELDS and f != "log_odds_ratio":
                problems.append(Problem(f"unknown field; allowed: {sorted(_ASSOC_FIELDS)}", file=where, row=row,
                                        column=str(f)))
        for f in ("target", "predictor", "latent_coefficient", "source"):
            if f not in a and not (f == "latent_coefficient" and "log_odds_ratio" in a):
                problems.append(Problem(f"missing field {f!r}", file=where, row=row, column=f))
        t, p = a.get("target"), a.get("predictor")
        if t is not None and t not in _TARGETS:
            problems.append(Problem(f"target cannot be ranked; valid: {sorted(_TARGETS)}", file=where, row=row, column="target", value=t))
        if p is not None and p not in _PREDICTORS:
            problems.append(Problem(f"unknown predictor; valid: {sorted(_PREDICTORS)}", file=where, row=row, column="predictor", value=p))
        if t in order and p in order and order[p] >= order[t]:
            problems.append(Problem(f"predictor must be generated before the target (order: {list(GENERATION_ORDER)})",
                                    file=where, row=row, column="predictor", value=p))
        d = a.get("latent_coefficient")
        if d is not None:
            if not isinstance(d, dict) or d.get("distribution") != "normal":
                problems.append(Problem("latent_coefficient must be {distribution: normal, mean, sd}", file=where,
                                        row=row, column="latent_coefficient", value=d))
            else:
                for f in ("mean", "sd"):
                    if not isinstance(d.get(f), (int, float)) or isinstance(d.get(f), bool):
                        problems.append(Problem(f"{f} must be a number", file=where, row=row,
                                                column=f"latent_coefficient.{f}", value=d.get(f)))
                if isinstance(d.get("sd"), (int, float)) and d["sd"] < 0:
                    problems.append(Problem("sd must be >= 0", file=where, row=row, column="latent_coefficient.sd",
                                            value=d["sd"]))
    um = spec.get("unpublished_margins") or {}
    fu = um.get("female_ir_share_upper", {})
    alpha = fu.get("dirichlet_alpha", [6.0, 2.5, 1.5])
    if not (isinstance(alpha, list) and len(alpha) == 3 and all(isinstance(x, (int, float)) and x > 0 for x in alpha)):
        problems.append(Problem("dirichlet_alpha must be 3 positive numbers (26-50, 51-75, >75)", file=where,
                                column="unpublished_margins.female_ir_share_upper.dirichlet_alpha", value=alpha))
    nr = um.get("n_residents_13_21", {})
    lo, hi = nr.get("low", 10), nr.get("high", 25)
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi <= 39):
        problems.append(Problem("need integers 0 <= low <= high <= 39 (the published constraints allow at most 39)",
                                file=where, column="unpublished_margins.n_residents_13_21", value=[lo, hi]))
    cm = (spec.get("counts") or {}).get("n_radiologists", {})
    med = cm.get("median_by_beds", {"<200": 8, "200-399": 12, "400-799": 20, ">=800": 35})
    if set(med) != set(_RANK_ORDER["beds_class"]) or not all(isinstance(v, (int, float)) and v > 0 for v in med.values()):
        problems.append(Problem(f"median_by_beds needs a positive number for each of {_RANK_ORDER['beds_class']}",
                                file=where, column="counts.n_radiologists.median_by_beds", value=med))
    rc = cm.get("residents_correlation", 0.0)
    if not (isinstance(rc, (int, float)) and -1 <= rc <= 1):
        problems.append(Problem("residents_correlation must be in [-1, 1]", file=where,
                                column="counts.n_radiologists.residents_correlation", value=rc))
    if problems:
        raise SchemaError(problems, what=where)
    spec["associations"] = assoc
    spec["_params"] = {
        "alpha": np.asarray(alpha, dtype=float),
        "res_low": lo,
        "res_high": hi,
        "median": np.array([med[b] for b in _RANK_ORDER["beds_class"]], dtype=float),
        "sdlog": float(cm.get("sdlog", 0.45)),
        "rho": float(rc),
        "tail_mean": float((spec.get("counts") or {}).get("n_residents", {}).get("tail_mean_above_21", 8.0)),
    }
    return spec


# --------------------------------------------------------------------------- engine

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

    # ---- the generation, in GENERATION_ORDER
    def run(self, p: dict[str, Any]) -> None:
        k, n, rng = self.k, self.n, self.rng
        C = self.codes
        zeros = np.zeros((k, n))

        # Every number below comes from published_margins() (_margin, _item_n, the multisets)
        # or from a stated joint fact of statements.csv (_stated, by statement id).
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

        # residents: classes 0 / 1-5 / 6-12 / 13-21 / >21
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


# --------------------------------------------------------------------------- checks


def check_reconstruction(ensemble: pd.DataFrame) -> pd.DataFrame:
    """Check every published count and constraint in every replicate.

    Parameters
    ----------
    ensemble : pandas.DataFrame
        Output of :func:`reconstruct` (a ``replicate`` column; one replicate without the
        column is also accepted).

    Returns
    -------
    pandas.DataFrame
        One row per replicate and check: ``replicate``, ``check`` (``margin:<variable>=<category>``,
        ``missing:<variable>`` or a constraint name of :data:`CONSTRAINTS`), ``kind``
        (``published``, ``audit``, ``plausibility``), ``expected``, ``observed``, ``ok``.
    """
    df = ensemble if "replicate" in ensemble.columns else ensemble.assign(replicate=0)
    rep = df["replicate"].to_numpy()
    reps = np.unique(rep)
    out: list[pd.DataFrame] = []

    def add(name: str, kind: str, per_row: np.ndarray | pd.Series, expected: int) -> None:
        obs = pd.Series(np.asarray(per_row, dtype=np.int64)).groupby(rep).sum().reindex(reps, fill_value=0)
        out.append(pd.DataFrame({"replicate": reps, "check": name, "kind": kind, "expected": expected,
                                 "observed": obs.to_numpy()}))

    def s(col: str) -> np.ndarray:
        return df[col].astype(object).where(df[col].notna(), None).to_numpy()

    def b(mask: Any) -> np.ndarray:
        return np.asarray(pd.Series(mask).fillna(False), dtype=bool)

    vals = {c: s(c) for c in df.columns if c != "replicate"}
    for c in _BOOLS:
        arr = np.full(len(df), None, dtype=object)
        arr[df[c].fillna(False).to_numpy(dtype=bool)] = "true"
        arr[(~df[c]).fillna(False).to_numpy(dtype=bool)] = "false"
        vals[c] = arr
    t = published_targets()
    for row in t.itertuples(index=False):
        add(f"margin:{row.variable}={row.category}", "published", vals[row.variable] == row.category, row.count)
    for var, grp in t.groupby("variable", sort=False):
        add(f"missing:{var}", "published", vals[var] == None, N_RESPONDENTS - int(grp["item_n"].iloc[0]))  # noqa: E711
    add("rows", "published", np.ones(len(df)), N_RESPONDENTS)

    v = vals
    esr, cir = v["member_esr"] == "true", v["member_cirse"] == "true"
    # the expected numbers come from published_margins() and statements.csv, never typed here
    mc = {c: _margin("member_esr_cirse", c) for c in ("both", "esr_only", "cirse_only", "neither")}
    add("membership_combination:both", "audit", esr & cir, mc["both"])
    add("membership_combination:esr_only", "audit", esr & ~cir, mc["esr_only"])
    add("membership_combination:cirse_only", "audit", ~esr & cir, mc["cirse_only"])
    add("membership_combination:neither", "audit", ~esr & ~cir, mc["neither"])
    co = ~esr & cir
    co_ir, co_eq = _stated("R2-10"), _stated("R2-11")
    add("cirse_only_chairs:IR_mostly", "published", co & (v["chair_profile"] == "IR_mostly"), co_ir)
    add("cirse_only_chairs:DR_IR_equal", "published", co & (v["chair_profile"] == "DR_IR_equal"), co_eq)
    add("cirse_only_chairs:DR_or_DR_some_IR", "published", co & np.isin(v["chair_profile"], ["DR", "DR_some_IR"]),
        mc["cirse_only"] - co_ir - co_eq)
    nrad = df["n_radiologists"].to_numpy(dtype=float, na_value=np.nan)
    nres = df["n_residents"].to_numpy(dtype=float, na_value=np.nan)
    beds = v["beds_class"]
    big, mid, small = beds == ">=800", beds == "400-799", np.isin(beds, ["<200", "200-399"])
    teach = v["teaching"] == "true"
    add("radiologists_below_10", "published", nrad < 10, _margin("n_radiologists", "<10"))
    add("radiologists_below_10:in_>=800", "published", (nrad < 10) & big, 0)
    add("radiologists_max_90", "published", nrad == 90, 1)
    add("radiologists_max_90:in_>=800", "published", (nrad == 90) & big, 1)
    add("radiologists_max_90:above_90", "published", nrad > 90, 0)
    add("radiologists_min_4", "plausibility", nrad < 4, 0)
    add("residents_zero", "published", nres == 0, _margin("n_residents", "0"))
    add("residents_zero:teaching", "published", (nres == 0) & teach, 0)
    r612 = (nres >= 6) & (nres <= 12)
    add("residents_6_12", "published", r612, _margin("n_residents", "6-12"))
    grp_any = lambda m: pd.Series(m).groupby(rep).any().reindex(reps, fill_value=False).to_numpy()  # noqa: E731
    out.append(pd.DataFrame({"replicate": reps, "check": "residents_6_12:both_bed_classes", "kind": "published",
                             "expected": 1, "observed": (grp_any(r612 & mid) & grp_any(r612 & big)).astype(int)}))
    add("residents_above_21", "published", nres > 21, _margin("n_residents", ">21"))
    add("residents_above_12_large:400-799_teaching", "published", (nres > 12) & mid & teach, _stated("R3-11"))
    add("residents_above_12_large:other", "published", (nres > 12) & ~big & ~(mid & teach), 0)
    add("residents_range:70", "published", nres == 70, 1)
    add("residents_range:above_70", "published", nres > 70, 0)
    add("nonteaching_residents", "plausibility", ~teach & (nres > 5), 0)
    no_ir = v["ir_share_class"] == "0"
    vol0 = v["procedure_volume_class"] == "0"
    add("no_ir_small", "published", no_ir & ~small, 0)
    n_vol0 = _margin("procedure_volume_class", "0")
    add("volume_zero:no_ir", "published", vol0 & no_ir, n_vol0)
    add("volume_zero:teaching", "published", vol0 & teach, _stated("DIS-04"))
    add("no_ir_third_volume", "published", no_ir & (v["procedure_volume_class"] == "1-200"),
        _margin("ir_share_class", "0") - n_vol0)
    out.append(pd.DataFrame({"replicate": reps, "check": "minimal_volume_trainees", "kind": "published", "expected": 1,
                             "observed": (pd.Series((v["procedure_volume_class"] == "1-200") & (nres > 0)).groupby(rep).sum()
                                          .reindex(reps, fill_value=0).to_numpy() >= _stated("DIS-05")).astype(int)}))
    fna = v["female_ir_share_class"] == None  # noqa: E711
    ina = v["ir_share_class"] == None  # noqa: E711
    add("female_ir_missing", "published", no_ir & ~fna, 0)
    add("female_ir_missing_nonresponse", "plausibility", fna & ~(no_ir | ina), 0)
    add("biopsy_missing", "plausibility", (v["biopsy_share_class"] == None) & ~ina, 0)  # noqa: E711
    part = np.zeros(len(df), dtype=bool)
    items97 = ["outpatient_service", "day_case_beds", "admission_under_ir", "ward_rounds", "cover_24_7", "ir_specialised"]
    for c in items97:
        part |= v[c] == None  # noqa: E711
    add("partial_responder", "plausibility", part, 1)
    add("partial_responder:all_items", "plausibility",
        part & np.all([v[c] == None for c in items97], axis=0) & ina, 1)  # noqa: E711
    bad = np.zeros(len(df), dtype=bool)
    for c in ("ir_unit", "outpatient_service", "day_case_beds", "ward_rounds", "cover_24_7", "ir_specialised"):
        bad |= no_ir & (v[c] == "true")
    bad |= no_ir & (v["admission_under_ir"] != "mostly_other")
    add("no_ir_services", "plausibility", bad, 0)
    add("no_ir_chair", "plausibility",
        no_ir & ((v["chair_profile"] != "DR") | (v["member_cirse"] == "true") | (v["member_national_ir"] == "true")), 0)
    add("no_ir_neuro_cardiac", "plausibility", no_ir & ((v["neuro_performed"] == "true") | (v["cardiac_provider"] == "ir")), 0)
    for child, parent in (("outpatient_location", "outpatient_service"), ("day_case_beds_management", "day_case_beds"),
                          ("neuro_provider", "neuro_performed"), ("cardiac_provider", "cardiac_performed")):
        add(f"conditional:{child}", "published", (v[child] != None) & (v[parent] == "true"), _item_n(child))  # noqa: E711
    res = pd.concat(out, ignore_index=True)
    res["ok"] = res["expected"] == res["observed"]
    return res
