"""Simulation studies of the package's methods.

This subpackage owns the simulation studies that validate a method end to end, from a
known truth through the whole pipeline (simulate a population, publish what the paper
published, reconstruct, estimate, check coverage), as GUIDE.md asks of every method:

* :mod:`~irmodels.studies.identification_coverage`: 2017-like surveys published as
  one-way margins; checks that the exact identification regions contain the respondents'
  true associations and that the assumption-conditional intervals of
  :mod:`irmodels.identification.curves` cover at the nominal rate at the true assumption
  parameter (issue 9).

Studies import from the analysis layers (:mod:`irmodels.identification`,
:mod:`irmodels.sensitivity`, :mod:`irmodels.frame`); nothing in the library imports a study.
Every study draws its randomness from a :class:`numpy.random.Generator` seeded from its own
child seed (:class:`numpy.random.SeedSequence`), never from global random state.
"""
