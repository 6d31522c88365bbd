"""What every 2017 reconstruction reproduces: published counts, constraints, generation order.

The published counts are NOT written here: they come from
:func:`irmodels.data.waves.esr_cirse_2017.published_margins` (statements.csv + the audit's
resolutions), the single source of truth, through :func:`_margin` and :func:`published_targets`.
Stated joint facts come from the same statements file by statement id (:func:`_stated`).
This module also fixes the order in which :mod:`irmodels.identification.engine` generates the
variables (:data:`GENERATION_ORDER`), the rank order of their categories and the constraints
(:data:`CONSTRAINTS`) that :mod:`irmodels.identification.checks` verifies.
"""

from __future__ import annotations

import functools

import pandas as pd

from irmodels.core.errors import ReconstructionError

__all__ = [
    "published_targets",
    "GENERATION_ORDER",
    "CONSTRAINTS",
    "N_RESPONDENTS",
    "WAVE",
]

N_RESPONDENTS = 98
WAVE = "esr_cirse_2017"


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
