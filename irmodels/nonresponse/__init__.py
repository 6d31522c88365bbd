"""Non-response: the population frame, weights, design-based estimates and their sensitivity.

* :mod:`~irmodels.nonresponse.frame`: frame scenarios, a wave's own frame file, margins and
  the frame-vs-respondents check;
* :mod:`~irmodels.nonresponse.weighting`: weighting methods behind one registry (raking,
  post-stratification, propensity, calibration, trimming);
* :mod:`~irmodels.nonresponse.survey`: design-based prevalence and regression with
  linearisation and bootstrap variance;
* :mod:`~irmodels.nonresponse.sensitivity`: tipping points, worst-case bounds, the R-indicator.

Imports :mod:`irmodels.core` and :mod:`irmodels.data`.
"""
