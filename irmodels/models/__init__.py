"""Regression models of the survey: one entry point (:func:`irmodels.models.fit.fit`), two engines.

* :mod:`~irmodels.models.specs`: model specifications as data (``SPECS``), never copied per outcome;
* :mod:`~irmodels.models.design`: the model frame every engine shares (design matrix, groups,
  missing data, merged categories); :mod:`~irmodels.models.formula`: the formula grammar;
* :mod:`~irmodels.models.fit`: ``fit()`` and the ``Fit`` object with one ``.tidy()`` layout;
* :mod:`~irmodels.models.frequentist`: the statsmodels engine (GLM, separation, tidy rows);
  :mod:`~irmodels.models.firth`: Firth with profile intervals; :mod:`~irmodels.models.ml_families`:
  beta-binomial and ordinal ML;
* :mod:`~irmodels.models.bayes`: the PyMC models and sampling (nutpie, compiled once:
  :mod:`~irmodels.models.nutpie_cache`); :mod:`~irmodels.models.likelihood_data`: rows collapsed
  into likelihood cells; :mod:`~irmodels.models.share`: the binomial measurement
  of share classes; :mod:`~irmodels.models.quadrature_op`: its likelihood as one fused Op
  (value and gradient in one numba pass); :mod:`~irmodels.models.posterior`: the convergence gate, tidy rows, LOO, PPC;
  :mod:`~irmodels.models.cache`: the posterior cache; :mod:`~irmodels.models.ensemble`: ensembles,
  prior predictive and prior sensitivity;
* :mod:`~irmodels.models.mrp`: multilevel regression and post-stratification.

Imports the layers below (core, data, nonresponse, identification). Submodules are not imported
here so that importing the package stays cheap.
"""
