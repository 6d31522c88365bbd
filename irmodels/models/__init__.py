"""Regression models of the survey: one entry point (:func:`irmodels.models.fit.fit`), two engines.

* :mod:`irmodels.models.fit` -- ``fit()`` and the ``Fit`` object with ``.tidy()``
* :mod:`irmodels.models.frequentist` -- statsmodels / Firth / beta-binomial / ordinal
* :mod:`irmodels.models.bayes` -- PyMC hierarchical models, convergence gate, LOO, PPC
* :mod:`irmodels.models.mrp` -- multilevel regression and post-stratification

Submodules are not imported here so that importing the package stays cheap.
"""
