"""The published 2017 aggregates: the audit of every printed number and the paper's Results.

* :mod:`~irmodels.published.audit`: every printed percentage recomputed, implied
  denominators, discrepancies and identities;
* :mod:`~irmodels.published.descriptives`: the paper's Results recomputed from respondent-level
  data or margins, in the paper's own rounding.

Imports :mod:`irmodels.core` and :mod:`irmodels.data`.
"""
