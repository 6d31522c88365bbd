"""The wave pipeline: a survey wave is a config file, one command runs it end to end.

``irmodels run waves/<wave>.yaml`` (or :func:`run_wave`) takes a wave from its raw export (or
validated table, or published aggregates) to descriptives, weights, prevalence, bounds, tipping
point, model results, figures and a report in the wave's own output folder. Modules:

* :mod:`~irmodels.pipeline.config` - the wave config, its JSON Schema and checks;
* :mod:`~irmodels.pipeline.steps` - the steps of a respondent-level wave (declared inputs/outputs);
* :mod:`~irmodels.pipeline.published` - the steps of a wave with published aggregates only (2017);
* :mod:`~irmodels.pipeline.run` - running steps in order, cached by content hash, failures recorded;
* :mod:`~irmodels.pipeline.figures` - the standard figures (seaborn);
* :mod:`~irmodels.pipeline.report` - Markdown/HTML report reading every number from the tables;
* :mod:`~irmodels.pipeline.compare` - comparing waves;
* :mod:`~irmodels.pipeline.paper` - LaTeX macros and tables the paper reads (``paper/generated/``).
"""

from irmodels.pipeline.config import WaveConfig, load_wave_config
from irmodels.pipeline.run import RunResult, run_wave

__all__ = ["WaveConfig", "load_wave_config", "run_wave", "RunResult"]
