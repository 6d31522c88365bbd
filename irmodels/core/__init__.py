"""The base layer: what every other layer may use and which uses nothing of irmodels.

* :mod:`~irmodels.core.errors`: the error and warning classes (``IrmodelsError`` family,
  ``Problem`` naming file, row, column, value and rule);
* :mod:`~irmodels.core.yamlio`: every user YAML file is read here (YAML 1.2 scalars,
  duplicate keys, aliases, tags, size and depth refused with line numbers);
* :mod:`~irmodels.core.io`: atomic writers, output-path checks, spreadsheet-formula
  neutralising;
* :mod:`~irmodels.core.pooling`: Rubin's rules across replicates (refusing unidentified
  quantities); :mod:`~irmodels.core.stacking`: stacking posterior draws of replicates;
  :mod:`~irmodels.core.convergence`: the one convergence gate (``GATE``) and per-replicate
  diagnostics;
* :mod:`~irmodels.core.version`: the one version (package metadata);
* :mod:`~irmodels.core.tablecache`: content-addressed disk cache of result tables (keyed by the
  call's arguments and the package source; parquet, never pickle).

Imports nothing from another irmodels layer (checked by ``tests/test_layering.py``).
"""
