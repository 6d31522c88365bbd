"""Model results table (issue 5; Results, Table of associations): data/derived/model_results.csv.

Every spec of irmodels.models.specs.SPECS x engine (statsmodels: Firth / ordinal ML / beta-binomial,
pooled over countries; pymc: hierarchical with country intercepts), on the SIMULATED
demonstration wave (data/raw/simulated_demo, imported with its mapping): respondent-level
data, so every term is identified.

2017 is not fitted here: the published aggregates identify none of these associations, so
fitting reconstructed data and pooling (Rubin's rules, stacked draws) would present an
assumption as a finding (issue 9). The 2017 terms are reported at fixed assumption values
with their identification regions: data/derived/association_curves_2017.csv (analyses/14)
and data/derived/association_bounds.csv (analyses/13).
Bayesian fits are cached under .cache/models (content hash of spec, data and seed).
"""

import warnings

from paths import CACHE, DERIVED, ROOT, SIMULATED_WAVE

import pandas as pd

from irmodels.core.errors import DataDroppedWarning, SeparationWarning
from irmodels.data.importing import import_wave
from irmodels.core.io import write_table_atomic
from irmodels.models.specs import ANALYSIS, fit_all

if __name__ == "__main__":
    opts = dict(missing=ANALYSIS["missing"], cache_dir=CACHE / "models", **ANALYSIS["mcmc"])
    with warnings.catch_warnings(record=True) as dropped:
        warnings.simplefilter("always", DataDroppedWarning)
        # separation is reported per term in the table (column note)
        warnings.simplefilter("ignore", SeparationWarning)
        sim = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml").table
        tidy, _, skipped = fit_all(sim, seed=ANALYSIS["seed"], **opts)
        tidy.insert(0, "data", "simulated_demo")
        tidy["identification"] = "identified"  # respondent-level data: every term is identified
        parts, skips = [tidy], [skipped.assign(data="simulated_demo")]
    out = pd.concat(parts, ignore_index=True)
    path = write_table_atomic(out, DERIVED / "model_results.csv", float_format="%.6g")
    msgs = pd.Series([str(w.message) for w in dropped if issubclass(w.category, DataDroppedWarning)])
    print(f"wrote {path.relative_to(ROOT)} ({len(out)} rows)")
    if len(msgs):
        print("rows dropped for item non-response (per fit; counts in the messages):")
        for m, n in msgs.value_counts().items():
            print(f"  {n} x {m}")
    for s in skips:
        for _, r in s.iterrows():
            print(f"not fitted: {r['data']} {r['spec_id']} ({r['engine']}): {r['reason']}")
    bad = out[out["converged"].eq(False)] if "converged" in out else out.iloc[:0]
    if len(bad):
        print(f"WARNING: fits failed the convergence gate (converged=False): {sorted(set(bad['spec_id']))}")
    notes = out[out.get("note", pd.Series("", index=out.index)).fillna("").ne("")]
    for _, r in notes.iterrows():
        print(f"note: {r['data']} {r['spec_id']} ({r['engine']}) {r['term']}: {r['note']}")
