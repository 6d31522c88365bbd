"""What the published 2017 data identify, and what an assumption supplies.

This layer owns

* :mod:`~irmodels.identification.table`: the identification status of every reported
  estimand (identified / bounded / assumption);
* :mod:`~irmodels.identification.bounds`: exact identification regions of associations,
  by integer optimisation over the cross-tables consistent with everything published;
* :mod:`~irmodels.identification.curves`: the expected 2017 table at fixed assumption
  parameters (odds ratios a reader can judge) and the sensitivity curves computed from it.

It imports from the data layer (:mod:`irmodels.data.waves`, :mod:`irmodels.data.schema`) and from
:mod:`irmodels.identification.reconstruction`; nothing here imports a model or a figure.
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
