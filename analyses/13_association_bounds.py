"""Identification regions of the 2017 associations the models use (issue 9; Results,
"What the published numbers identify"; Supplement table): data/derived/association_bounds.csv.

For every predictor of the paper's models (beds class, teaching, chair profile) and both
outcomes (24/7 IR cover; female IR share class), the exact bounds of the risk difference
and the odds ratio of every contrast over every respondent-level table consistent with the
published margins, item non-response and joint facts (irmodels.bounds; integer
programming), once with the published facts only and once adding the reconstruction's
plausibility constraints (e.g. no 24/7 IR cover without IR).
"""

import pandas as pd
from paths import CACHE, DERIVED, ROOT

from irmodels.identification.bounds import bounds
from irmodels.identification.expected import MODEL_PREDICTORS, OUTCOME_EVENTS
from irmodels.core.io import write_table_atomic

if __name__ == "__main__":
    parts = []
    for outcome in OUTCOME_EVENTS:
        for predictor in MODEL_PREDICTORS:
            for facts in ("published", "plausibility"):
                # cached by arguments and package source: the published wave's pipeline (analyses/40) re-uses them
                parts.append(bounds(predictor, outcome, facts=facts, cache_dir=CACHE / "bounds"))
    out = pd.concat(parts, ignore_index=True)
    path = write_table_atomic(out, DERIVED / "association_bounds.csv", float_format="%.6g")
    print(f"wrote {path.relative_to(ROOT)} ({len(out)} rows)")
    print(out.groupby(["outcome", "scale", "facts"])["status"].value_counts().unstack(fill_value=0).to_string())
