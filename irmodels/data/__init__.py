"""The data layer: the canonical respondent-level table and how data get into it.

* :mod:`~irmodels.data.codebook` (+ ``codebook.yaml``): the canonical variables, the single
  source of truth for the schema and the docs;
* :mod:`~irmodels.data.schema`: ``validate()`` listing every problem at once;
* :mod:`~irmodels.data.readers`, :mod:`~irmodels.data.mapping`,
  :mod:`~irmodels.data.mapping_check`, :mod:`~irmodels.data.countries`: survey-tool exports
  and the YAML mapping that turns them into the canonical table;
* :mod:`~irmodels.data.importing`: ``import_wave`` and ``read_table``;
* :mod:`~irmodels.data.rounding`: how a printed percentage arises from a count;
* :mod:`~irmodels.data.waves`: where each wave's raw files are (the 2017 published
  statements, adopted denominators and resolutions).

Imports only :mod:`irmodels.core`.
"""
