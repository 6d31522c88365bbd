"""irmodels: survey models of interventional radiology services in Europe.

The public API is flat: every public function and class is importable from
``irmodels``. Names are resolved lazily (PEP 562) so that ``import irmodels``
has no side effects and does not pay for PyMC unless a Bayesian model is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from irmodels.core.version import __version__  # one version, defined once: the package metadata

# public name -> module that defines it (one place; tests check both directions)
_EXPORTS: dict[str, str] = {
    # errors and warnings
    "IrmodelsError": "irmodels.core.errors",
    "SchemaError": "irmodels.core.errors",
    "MappingError": "irmodels.core.errors",
    "ReconstructionError": "irmodels.core.errors",
    "WeightingError": "irmodels.core.errors",
    "FrameError": "irmodels.core.errors",
    "ConvergenceError": "irmodels.core.errors",
    "IdentificationError": "irmodels.core.errors",
    "ModelSpecError": "irmodels.core.errors",
    "ConvergenceWarning": "irmodels.core.errors",
    "SeparationWarning": "irmodels.core.errors",
    "IdentificationWarning": "irmodels.core.errors",
    "DataDroppedWarning": "irmodels.core.errors",
    "DegenerateCellWarning": "irmodels.core.errors",
    "Problem": "irmodels.core.errors",
    # published 2017 data and its audit
    "load_statements": "irmodels.data.waves.esr_cirse_2017",
    "audit": "irmodels.published.audit",
    "discrepancies": "irmodels.published.audit",
    "descriptive_results": "irmodels.published.descriptives",
    "load_codebook": "irmodels.data.codebook",
    # respondent-level schema, import of new waves, simulation
    "validate": "irmodels.data.schema",
    "column_dtypes": "irmodels.data.schema",
    "share_class": "irmodels.data.schema",
    "import_wave": "irmodels.data.importing",
    "ImportResult": "irmodels.data.importing",
    "read_table": "irmodels.data.importing",
    "simulate_wave": "irmodels.studies.simulate",
    # 2017 reconstruction, pooling, identification
    "reconstruct": "irmodels.identification.reconstruction",
    "check_reconstruction": "irmodels.identification.checks",
    "published_targets": "irmodels.identification.targets",
    "load_assumptions": "irmodels.identification.assumption_sets",
    "summarise_ensemble": "irmodels.identification.table",
    "pool": "irmodels.core.pooling",
    "pool_draws": "irmodels.core.stacking",
    "summarise_draws": "irmodels.core.stacking",
    "run_over_ensemble": "irmodels.core.pooling",
    "replicate_diagnostics": "irmodels.core.convergence",
    "identification_table": "irmodels.identification.table",
    "identification_status": "irmodels.identification.table",
    "association_by_replicate": "irmodels.identification.table",
    "bounds": "irmodels.identification.bounds",
    "run_study": "irmodels.studies.runner",
    "reconstruct_study": "irmodels.studies.reconstruction_study",
    "load_study": "irmodels.studies.runner",
    "check_formula": "irmodels.models.formula",
    "expected_table": "irmodels.identification.expected",
    "fit_expected": "irmodels.identification.curves",
    "association_curve": "irmodels.identification.curves",
    "coverage_curve": "irmodels.identification.curves",
    "load_odds_ratios": "irmodels.identification.odds_ratios",
    "expected_respondents": "irmodels.identification.expected",
    "published_margins": "irmodels.data.waves.esr_cirse_2017",
    # population frame, weighting, design-based estimation, sensitivity
    "SCENARIOS": "irmodels.nonresponse.scenarios",
    "REGIONS": "irmodels.nonresponse.frame_keys",
    "frame_cells": "irmodels.nonresponse.frame",
    "frame_margins": "irmodels.nonresponse.frame",
    "load_frame": "irmodels.nonresponse.frame_file",
    "region_of": "irmodels.nonresponse.frame_keys",
    "weight": "irmodels.nonresponse.weighting",
    "rake": "irmodels.nonresponse.raking",
    "trim": "irmodels.nonresponse.weighting_diagnostics",
    "WeightingResult": "irmodels.nonresponse.weighting",
    "METHODS": "irmodels.nonresponse.weighting",
    "register_method": "irmodels.nonresponse.weighting",
    "COLLAPSE_BEDS_400": "irmodels.nonresponse.weighting",
    "kish_deff": "irmodels.nonresponse.weighting_diagnostics",
    "effective_n": "irmodels.nonresponse.weighting_diagnostics",
    "weighted_prevalence": "irmodels.nonresponse.survey",
    "svyglm_logit": "irmodels.nonresponse.svyglm",
    "bootstrap_weights": "irmodels.nonresponse.bootstrap",
    "linearized_variance": "irmodels.nonresponse.survey",
    "proportion_ci": "irmodels.nonresponse.survey",
    "frame_weighted_prevalence": "irmodels.nonresponse.frame_prevalence",
    "pool_prevalence": "irmodels.nonresponse.frame_prevalence",
    "tipping_point": "irmodels.nonresponse.sensitivity",
    "tipping_from_curve": "irmodels.nonresponse.sensitivity",
    "manski_bounds": "irmodels.nonresponse.manski",
    "representativeness": "irmodels.nonresponse.representativeness",
    "delta_adjusted": "irmodels.nonresponse.sensitivity",
    "r_indicator": "irmodels.nonresponse.representativeness",
    "r_indicator_ci": "irmodels.nonresponse.representativeness",
    "scenario_role": "irmodels.nonresponse.scenarios",
    "PropensityAboveOneWarning": "irmodels.nonresponse.weighting_methods",
    "WarningLog": "irmodels.nonresponse.weighting",
    # models: one entry point, specs as data, MRP
    "fit": "irmodels.models.fit",
    "Fit": "irmodels.models.fit",
    "merge_categories": "irmodels.models.design",
    "SPECS": "irmodels.models.specs",
    "ModelSpec": "irmodels.models.specs",
    "make_spec": "irmodels.models.specs",
    "get_spec": "irmodels.models.specs",
    "with_predictors": "irmodels.models.specs",
    "fit_spec": "irmodels.models.specs",
    "fit_all": "irmodels.models.specs",
    "fit_all_ensemble": "irmodels.models.specs",
    "identification_labels": "irmodels.models.specs",
    "poststratify": "irmodels.models.mrp",
    "poststratify_ensemble": "irmodels.models.mrp",
    "fit_ensemble": "irmodels.models.ensemble",
    "check_convergence": "irmodels.models.posterior",
    "group_effects": "irmodels.models.posterior",
    "ppc_table": "irmodels.models.posterior",
    "prior_predictive": "irmodels.models.ensemble",
    "prior_sensitivity": "irmodels.models.ensemble",
    "loo": "irmodels.models.posterior",
    "compare": "irmodels.models.posterior",
    "TippingPoint": "irmodels.nonresponse.sensitivity",
    # the wave pipeline: a wave is a config file
    "WaveConfig": "irmodels.pipeline.config",
    "load_wave_config": "irmodels.pipeline.config",
    "run_wave": "irmodels.pipeline.run",
    "compare_waves": "irmodels.pipeline.compare",
    "ConfigError": "irmodels.core.errors",
    "load_yaml": "irmodels.core.yamlio",
    # planning the next wave
    "plan_precision": "irmodels.studies.planning_plans",
    "plan_odds_ratio": "irmodels.studies.planning_plans",
    "n_prop_moe": "irmodels.studies.planning_proportions",
    "n_two_proportions": "irmodels.studies.planning_proportions",
    "n_logistic_binary": "irmodels.studies.planning_logistic",
    "power_logistic_binary": "irmodels.studies.planning_logistic",
    "deff_kish": "irmodels.studies.planning_frame",
    "resolve_country": "irmodels.data.countries",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'irmodels' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
