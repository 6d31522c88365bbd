"""Write the SIMULATED population frame of the simulated demonstration wave.

``data/raw/simulated_demo/frame.csv``: invited departments per country x beds class for the
SIMULATED wave (not real data). The simulated wave (``tools/make_simulated_wave.py``) draws
respondents only; this frame states the population they were drawn from under a stated
response mechanism that depends on hospital size (missing at random given beds class):

    N[country, beds] = ceil((n[country, beds] + 0.5) / RESPONSE_RATE[beds])

where ``n`` is the number of simulated respondents in the cell (after the import mapping's
exclusions). Small hospitals respond least, so the respondents over-represent large
hospitals and weighting to this frame matters. The frame's total is its own (not 2017's 1180).
Byte-identical on every run. Run: ``.venv/bin/python tools/make_simulated_frame.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from irmodels.data.codebook import categories
from irmodels.data.importing import import_wave
from irmodels.core.io import write_table_atomic

HERE = Path(__file__).resolve().parents[1]
WAVE = HERE / "data" / "raw" / "simulated_demo"
#: SIMULATED response rate by beds class (the stated non-response mechanism)
RESPONSE_RATE = {"<200": 0.15, "200-399": 0.30, "400-799": 0.45, ">=800": 0.60}

if __name__ == "__main__":
    t = import_wave(WAVE / "export.csv", WAVE / "mapping.yaml").table
    n = t.groupby([t["country"].astype(str), t["beds_class"].astype(str)]).size()
    rows = []
    for c in sorted(set(t["country"].astype(str))):
        for b in categories("beds_class"):
            k = int(n.get((c, b), 0))
            rows.append({"country": c, "beds_class": b, "N": math.ceil((k + 0.5) / RESPONSE_RATE[b]),
                         "source": f"SIMULATED: ceil((respondents + 0.5) / {RESPONSE_RATE[b]})"})
    out = write_table_atomic(pd.DataFrame(rows), WAVE / "frame.csv")
    print(f"wrote {out.relative_to(HERE)}: {len(rows)} cells, {sum(r['N'] for r in rows)} departments (SIMULATED)")
