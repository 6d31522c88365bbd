"""2017 associations as functions of their assumption parameters (issue 9; Results, the
sensitivity-curve figure; replaces pooled 2017 model rows): data/derived/association_curves_2017.csv.

For each outcome (24/7 IR cover; at least one woman among the IRs) x predictor of the
paper's models (beds class, teaching, chair profile) x shipped assumption set: the
log odds ratios of the predictor's terms in the logistic model with all three predictors,
on the expected 2017 table (published margins + fixed odds ratios; no reconstruction
noise), over the parameter's plausible range (25 log-spaced values plus 1 and the set's
own value), with a sampling interval at each fixed value, the marginal odds ratio and
whether it lies in the identification region (data/derived/association_bounds.csv's
published-facts bounds). Column ``at_set_value`` marks the rows at the set's own value.
"""

import numpy as np
import pandas as pd
from paths import DERIVED, ROOT

from irmodels.identification.expected import MODEL_PREDICTORS, OUTCOME_EVENTS
from irmodels.identification.curves import association_curve
from irmodels.identification.odds_ratios import assumption_grid, load_odds_ratios
from irmodels.core.io import write_table_atomic
from irmodels.identification.assumption_sets import shipped_assumption_sets

if __name__ == "__main__":
    parts = []
    for aset in shipped_assumption_sets():
        ors = load_odds_ratios(aset).set_index("parameter")
        for outcome in OUTCOME_EVENTS:
            for predictor in MODEL_PREDICTORS:
                par = f"{outcome}~{predictor}"
                lo, hi, val = ors.loc[par, ["range_low", "range_high", "odds_ratio"]]
                grid = assumption_grid(lo, hi, 25, include=(1.0, val))
                c = association_curve(outcome, predictor, grid=grid, assumptions=aset)
                c["at_set_value"] = np.isclose(c["assumption_value"], val, rtol=0, atol=1e-12)
                parts.append(c)
    out = pd.concat(parts, ignore_index=True)
    path = write_table_atomic(out, DERIVED / "association_curves_2017.csv", float_format="%.6g")
    print(f"wrote {path.relative_to(ROOT)} ({len(out)} rows)")
    at = out[out["at_set_value"]]
    print(at[["assumptions", "parameter", "term", "assumption_value", "estimate", "lower", "upper"]]
          .round(3).to_string(index=False))
