"""Model results table (issue 5; Results, Table of associations): data/derived/model_results.csv.

Every spec of irmodels.specs.SPECS x engine (statsmodels: Firth / ordinal ML / beta-binomial,
pooled over countries; pymc: hierarchical with country intercepts), on
* the SIMULATED demonstration wave (data/raw/simulated_demo, imported with its mapping), and
* the 2017 reconstruction ensemble (k = ANALYSIS["k_2017"] replicates per assumption set),
  pooled (Rubin for statsmodels, stacked draws for pymc) and labelled with the
  identification status of every term (identified / bounded / assumption).
Specs a data set cannot fit (e.g. female IR counts in 2017) are listed in the console output.
Bayesian fits are cached under .cache/models (content hash of spec, data and seed).
"""

import warnings

from paths import CACHE, DERIVED, ROOT, SIMULATED_WAVE

import pandas as pd

from irmodels.errors import DataDroppedWarning, SeparationWarning
from irmodels.io import import_wave, write_table_atomic
from irmodels.reconstruction import reconstruct
from irmodels.specs import ANALYSIS, fit_all, fit_all_ensemble

if __name__ == "__main__":
    opts = dict(missing=ANALYSIS["missing"], cache_dir=CACHE / "models", **ANALYSIS["mcmc"])
    with warnings.catch_warnings(record=True) as dropped:
        warnings.simplefilter("always", DataDroppedWarning)
        # separation in small 2017 cells is reported per term in the table (column note)
        warnings.simplefilter("ignore", SeparationWarning)
        sim = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml").table
        tidy, _, skipped = fit_all(sim, seed=ANALYSIS["seed"], **opts)
        tidy.insert(0, "data", "simulated_demo")
        tidy.insert(1, "assumptions", "")
        tidy["identification"] = "identified"  # respondent-level data: every term is identified
        parts, skips = [tidy], [skipped.assign(data="simulated_demo")]
        for aset in ANALYSIS["assumption_sets"]:
            ens = reconstruct(ANALYSIS["k_2017"], ANALYSIS["seed"], aset)
            pooled, skipped = fit_all_ensemble(ens, seed=ANALYSIS["seed"], **opts)
            pooled.insert(0, "data", "esr_cirse_2017")
            pooled.insert(1, "assumptions", aset)
            parts.append(pooled)
            skips.append(skipped.assign(data=f"esr_cirse_2017/{aset}"))
    out = pd.concat(parts, ignore_index=True)
    path = write_table_atomic(out, DERIVED / "model_results.csv")
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
    share = out.drop_duplicates(["data", "assumptions", "spec_id", "engine"])
    share = share[share.get("converged_share", pd.Series(1.0, index=share.index)).lt(1.0)]
    for _, r in share.iterrows():
        print(f"WARNING: {r['data']}/{r['assumptions']} {r['spec_id']}: {1 - r['converged_share']:.0%} of the "
              "replicate posteriors failed the convergence gate (pooled anyway; see converged_share)")
    notes = out[out.get("note", pd.Series("", index=out.index)).fillna("").ne("")]
    for _, r in notes.iterrows():
        print(f"note: {r['data']}/{r['assumptions']} {r['spec_id']} ({r['engine']}) {r['term']}: {r['note']}")
