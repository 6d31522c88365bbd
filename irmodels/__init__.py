"""irmodels: survey models of interventional radiology services in Europe.

The public API is flat: every public function and class is importable from
``irmodels``. Names are resolved lazily (PEP 562) so that ``import irmodels``
has no side effects and does not pay for PyMC unless a Bayesian model is used.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import Any

try:  # one version, defined once: the package metadata (pyproject.toml)
    __version__ = importlib.metadata.version("irmodels")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree not installed
    __version__ = "0+unknown"

# public name -> module that defines it (one place; tests check both directions)
_EXPORTS: dict[str, str] = {
    # errors and warnings
    "IrmodelsError": "irmodels.errors",
    "SchemaError": "irmodels.errors",
    "MappingError": "irmodels.errors",
    "ReconstructionError": "irmodels.errors",
    "WeightingError": "irmodels.errors",
    "FrameError": "irmodels.errors",
    "ConvergenceError": "irmodels.errors",
    "IdentificationError": "irmodels.errors",
    "ModelSpecError": "irmodels.errors",
    "ConvergenceWarning": "irmodels.errors",
    "SeparationWarning": "irmodels.errors",
    "IdentificationWarning": "irmodels.errors",
    "DataDroppedWarning": "irmodels.errors",
    "Problem": "irmodels.errors",
    # published 2017 data and its audit
    "load_statements": "irmodels.waves.esr_cirse_2017",
    "audit": "irmodels.auditing",
    "discrepancies": "irmodels.auditing",
    "descriptive_results": "irmodels.descriptives",
    "load_codebook": "irmodels.codebook",
    # respondent-level schema, import of new waves, simulation
    "validate": "irmodels.schema",
    "column_dtypes": "irmodels.schema",
    "share_class": "irmodels.schema",
    "import_wave": "irmodels.io",
    "ImportResult": "irmodels.io",
    "read_table": "irmodels.io",
    "simulate_wave": "irmodels.simulate",
    # 2017 reconstruction, pooling, identification
    "reconstruct": "irmodels.reconstruction",
    "check_reconstruction": "irmodels.reconstruction",
    "published_targets": "irmodels.reconstruction",
    "load_assumptions": "irmodels.reconstruction",
    "summarise_ensemble": "irmodels.reconstruction",
    "pool": "irmodels.pooling",
    "pool_draws": "irmodels.pooling",
    "summarise_draws": "irmodels.pooling",
    "run_over_ensemble": "irmodels.pooling",
    "replicate_diagnostics": "irmodels.pooling",
    "identification_table": "irmodels.identification",
    "identification_status": "irmodels.identification",
    "association_by_replicate": "irmodels.identification",
    "bounds": "irmodels.identification.bounds",
    "run_study": "irmodels.studies.runner",
    "load_study": "irmodels.studies.runner",
    "check_formula": "irmodels.models.formula",
    "expected_table": "irmodels.identification.curves",
    "fit_expected": "irmodels.identification.curves",
    "association_curve": "irmodels.identification.curves",
    "coverage_curve": "irmodels.identification.curves",
    "load_odds_ratios": "irmodels.identification.curves",
    "expected_respondents": "irmodels.identification.curves",
    "published_margins": "irmodels.waves.esr_cirse_2017",
    # population frame, weighting, design-based estimation, sensitivity
    "SCENARIOS": "irmodels.frame",
    "REGIONS": "irmodels.frame",
    "frame_cells": "irmodels.frame",
    "frame_margins": "irmodels.frame",
    "load_frame": "irmodels.frame",
    "region_of": "irmodels.frame",
    "weight": "irmodels.weighting",
    "rake": "irmodels.weighting",
    "trim": "irmodels.weighting",
    "WeightingResult": "irmodels.weighting",
    "METHODS": "irmodels.weighting",
    "register_method": "irmodels.weighting",
    "COLLAPSE_BEDS_400": "irmodels.weighting",
    "kish_deff": "irmodels.weighting",
    "effective_n": "irmodels.weighting",
    "weighted_prevalence": "irmodels.survey",
    "svyglm_logit": "irmodels.survey",
    "bootstrap_weights": "irmodels.survey",
    "linearized_variance": "irmodels.survey",
    "proportion_ci": "irmodels.survey",
    "frame_weighted_prevalence": "irmodels.survey",
    "pool_prevalence": "irmodels.survey",
    "tipping_point": "irmodels.sensitivity",
    "tipping_from_curve": "irmodels.sensitivity",
    "manski_bounds": "irmodels.sensitivity",
    "representativeness": "irmodels.sensitivity",
    "delta_adjusted": "irmodels.sensitivity",
    "r_indicator": "irmodels.sensitivity",
    "r_indicator_ci": "irmodels.sensitivity",
    "scenario_role": "irmodels.frame",
    "PropensityAboveOneWarning": "irmodels.weighting",
    "WarningLog": "irmodels.weighting",
    # models: one entry point, specs as data, MRP
    "fit": "irmodels.models.fit",
    "Fit": "irmodels.models.fit",
    "merge_categories": "irmodels.models.fit",
    "SPECS": "irmodels.specs",
    "ModelSpec": "irmodels.specs",
    "make_spec": "irmodels.specs",
    "get_spec": "irmodels.specs",
    "with_predictors": "irmodels.specs",
    "fit_spec": "irmodels.specs",
    "fit_all": "irmodels.specs",
    "fit_all_ensemble": "irmodels.specs",
    "identification_labels": "irmodels.specs",
    "poststratify": "irmodels.models.mrp",
    "poststratify_ensemble": "irmodels.models.mrp",
    "fit_ensemble": "irmodels.models.bayes",
    "check_convergence": "irmodels.models.bayes",
    "group_effects": "irmodels.models.bayes",
    "ppc_table": "irmodels.models.bayes",
    "prior_predictive": "irmodels.models.bayes",
    "prior_sensitivity": "irmodels.models.bayes",
    "loo": "irmodels.models.bayes",
    "compare": "irmodels.models.bayes",
    "TippingPoint": "irmodels.sensitivity",
    # the wave pipeline: a wave is a config file
    "WaveConfig": "irmodels.pipeline.config",
    "load_wave_config": "irmodels.pipeline.config",
    "run_wave": "irmodels.pipeline.run",
    "compare_waves": "irmodels.pipeline.compare",
    "ConfigError": "irmodels.errors",
    "load_yaml": "irmodels.yamlio",
    # planning the next wave
    "plan_precision": "irmodels.studies.planning",
    "plan_odds_ratio": "irmodels.studies.planning",
    "n_prop_moe": "irmodels.studies.planning",
    "n_two_proportions": "irmodels.studies.planning",
    "n_logistic_binary": "irmodels.studies.planning",
    "power_logistic_binary": "irmodels.studies.planning",
    "deff_kish": "irmodels.studies.planning",
    "resolve_country": "irmodels.countries",
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
