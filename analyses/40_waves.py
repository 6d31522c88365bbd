"""Run the shipped wave configs (issue 11): results/waves/<wave>/ for every waves/*.yaml.

Each wave config is run with :func:`irmodels.pipeline.run.run_wave` (``irmodels run``): tables,
figures, report.md/.html and manifest.json in the wave's output folder. Steps whose inputs did
not change are taken from the wave's step cache; Bayesian fits from the shared model cache
(``cache:`` in the config). A failed step is recorded in the wave's run_log.csv and report, and
makes this script exit 1 after all waves ran.
"""

import sys

from paths import ROOT

from irmodels.pipeline import run_wave

if __name__ == "__main__":
    failed = []
    for cfg in sorted((ROOT / "waves").glob("*.yaml")):
        res = run_wave(cfg, progress=lambda m, w=cfg.stem: print(f"[{w}] {m}", flush=True))
        print(res.log.to_string(index=False))
        if not res.ok:
            failed.append(cfg.name)
    if failed:
        sys.exit(f"steps failed in: {', '.join(failed)} (see their run_log.csv)")
