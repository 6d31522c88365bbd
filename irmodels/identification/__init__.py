"""What the published 2017 data identify, and what an assumption supplies.

This layer owns

* :mod:`~irmodels.identification.reconstruction`: 2017 ensembles that reproduce every
  published margin (``reconstruct``), assembled from :mod:`~irmodels.identification.targets`
  (the published counts, generation order and constraints),
  :mod:`~irmodels.identification.assumption_sets` (assumption sets: reading, JSON Schema,
  checks), :mod:`~irmodels.identification.engine` (random streams and generation stages) and
  :mod:`~irmodels.identification.checks` (every count and constraint per replicate);
* :mod:`~irmodels.identification.table`: the identification status of every reported
  estimand (identified / bounded / assumption);
* :mod:`~irmodels.identification.bounds`: exact identification regions of associations,
  by integer optimisation over the cross-tables consistent with everything published;
* :mod:`~irmodels.identification.expected`: the expected 2017 table at fixed assumption
  parameters (odds ratios a reader can judge, :mod:`~irmodels.identification.odds_ratios`)
  and its controlled rounding; :mod:`~irmodels.identification.curves`: the association and
  frame-coverage curves computed from it.

It imports from the data layer (:mod:`irmodels.data.waves`, :mod:`irmodels.data.schema`);
nothing here imports a model or a figure.
"""

from irmodels.identification.table import (  # noqa: F401  (re-exported public API)
    DEFAULT_PAIRS,
    STATUSES,
    association_by_replicate,
    frechet_bounds,
    identification_status,
    identification_table,
)

__all__ = [
    "DEFAULT_PAIRS",
    "STATUSES",
    "association_by_replicate",
    "frechet_bounds",
    "identification_status",
    "identification_table",
]
