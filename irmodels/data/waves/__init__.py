"""Survey waves: one module per wave, saying where its raw files are and how they map to the schema.

:mod:`~irmodels.data.waves.esr_cirse_2017`: the 2017 ESR/CIRSE survey (published aggregates only):
the statements with verbatim quotes, adopted item denominators, margins and the resolutions of
the paper's contradictions (``esr_cirse_2017_resolutions.yaml``).
"""
