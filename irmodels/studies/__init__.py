"""Simulation studies of the package's methods, the one fan-out mechanism, and planning.

* :mod:`~irmodels.studies.runner`: Dask distributed runner (LocalCluster by default, a scheduler
  address for a cluster), child seeds per task, incremental results, resume (its parts:
  ``runner_tasks`` on the workers, ``runner_store`` the study directory, ``runner_dask`` the
  scheduling); :mod:`~irmodels.studies.reconstruction_study` runs reconstruction ensembles of any
  size through it, in chunks of replicates;
* :mod:`~irmodels.studies.sbc`, :mod:`~irmodels.studies.coverage`: simulation-based calibration of
  every Bayesian family (``sbc_simulate``: the data sets, ``sbc_ecdf``: the rank test and
  summaries) and frequentist coverage;
* :mod:`~irmodels.studies.planning`: responses and invitations the next wave needs (the formulas
  in ``planning_proportions``, ``planning_logistic``, ``planning_exact``; the plans in
  ``planning_plans``; inputs in ``planning_frame``, ``planning_checks``);
* :mod:`~irmodels.studies.simulate`: simulated waves from known parameters.

It also owns the simulation studies that validate a method end to end, from a
known truth through the whole pipeline (simulate a population, publish what the paper
published, reconstruct, estimate, check coverage), as GUIDE.md asks of every method:

* :mod:`~irmodels.studies.identification_coverage`: 2017-like surveys published as
  one-way margins; checks that the exact identification regions contain the respondents'
  true associations and that the assumption-conditional intervals of
  :mod:`irmodels.identification.curves` cover at the nominal rate at the true assumption
  parameter (issue 9) (``identification_coverage_simulate``: the surveys,
  ``identification_coverage_estimate``: the estimates and checks).

Studies import from the analysis layers (:mod:`irmodels.identification`,
:mod:`irmodels.nonresponse.sensitivity`, :mod:`irmodels.nonresponse.frame`); nothing in the library imports a study.
Every study draws its randomness from a :class:`numpy.random.Generator` seeded from its own
child seed (:class:`numpy.random.SeedSequence`), never from global random state.
"""
