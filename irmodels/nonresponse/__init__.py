"""Non-response: the population frame, weights, design-based estimates and their sensitivity.

* the frame: :mod:`~irmodels.nonresponse.frame` (cells and margins, the entry point),
  :mod:`~irmodels.nonresponse.scenarios` (named frame scenarios),
  :mod:`~irmodels.nonresponse.frame_sources` (country statistics and invited countries),
  :mod:`~irmodels.nonresponse.frame_file` (a wave's own frame file, JSON-Schema checked),
  :mod:`~irmodels.nonresponse.frame_check` (frame vs respondents),
  :mod:`~irmodels.nonresponse.frame_keys` (bed classes, regions);
* weights: :mod:`~irmodels.nonresponse.weighting` (``weight()`` and the method registry),
  :mod:`~irmodels.nonresponse.weighting_methods` (the built-in methods),
  :mod:`~irmodels.nonresponse.raking` (raking on the cell table),
  :mod:`~irmodels.nonresponse.collapse` (merging sparse categories, reported),
  :mod:`~irmodels.nonresponse.weighting_checks`, :mod:`~irmodels.nonresponse.weighting_diagnostics`
  (trimming, Kish deff, effective n);
* design-based estimates: :mod:`~irmodels.nonresponse.survey` (prevalence, linearisation),
  :mod:`~irmodels.nonresponse.bootstrap` (replicate weights), :mod:`~irmodels.nonresponse.svyglm`
  (weighted logistic regression), :mod:`~irmodels.nonresponse.frame_prevalence` (frame-weighted
  and pooled prevalence);
* sensitivity to non-ignorable non-response: :mod:`~irmodels.nonresponse.sensitivity` (tipping
  points, delta adjustment), :mod:`~irmodels.nonresponse.manski` (worst-case bounds),
  :mod:`~irmodels.nonresponse.representativeness` (the R-indicator).

Imports :mod:`irmodels.core` and :mod:`irmodels.data`.
"""
