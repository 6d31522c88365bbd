"""Compare regenerated outputs with the committed ones (``make check``).

``make check`` first runs ``make reproduce`` (every analysis, cached steps reused; use
``make check FORCE=1`` on a fresh machine to rerun all), then this script compares every
tracked output file (``data/derived``, ``paper/generated``, ``figures``, ``results``) with its
committed version (``git show HEAD:<path>``):

* **deterministic outputs** must be byte-identical;
* **MCMC summaries** (tables with ``r_hat``/``ess_bulk`` columns: ``model_results.csv`` and the
  wave model tables) are compared row by row on the Bayesian rows: the posterior mean and the
  2.5% and 97.5% quantiles each within 3 of the Monte Carlo standard errors stored with the
  committed row (``mcse_estimate``, ``mcse_lower``, ``mcse_upper``: ArviZ's mean and quantile
  MCSE; for tables without them, sd / sqrt(bulk ESS) and the normal-posterior quantile MCSE
  sd * sqrt(q(1-q)) / (phi(z_q) sqrt(tail ESS))); frequentist rows of the same tables must be
  identical to 6 significant digits;
* outputs drawn from MCMC draws (the MRP table, the caterpillar, PPC and forest figures, the
  wave figures and reports that show model results) are listed as "MCMC-derived" when they
  differ, not failed: their numbers are checked through the tables above;
* provenance files (``data/derived/manifest.json``, ``paper/generated/version.tex``, the waves'
  ``manifest.json``) record the commit and are skipped.

Exit status 0 when nothing differs beyond these tolerances; 1 otherwise, listing every file.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
OUTPUT_DIRS = ("data/derived", "paper/generated", "figures", "results")
PROVENANCE = ("data/derived/manifest.json", "paper/generated/version.tex")
MCMC_DERIVED = ("mrp_estimates.csv", "model_country_caterpillar", "model_ppc", "model_forest", "mrp_by_country",
                "results/waves/", "results/comparisons/", "paper/generated/numbers.tex")
KEYS = ("data", "wave", "engine", "spec_id", "term")


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout


def _mcse_ok(new: pd.DataFrame, old: pd.DataFrame) -> list[str]:
    """Differences of MCMC summaries beyond 3 MCSE (see the module docstring); [] when within."""
    keys = [k for k in KEYS if k in new.columns and k in old.columns]
    m = new.merge(old, on=keys, how="outer", suffixes=("", "_old"), indicator=True)
    bad = [f"row {dict(zip(keys, r))} only in {'new' if w == 'left_only' else 'committed'}"
           for r, w in zip(m[keys].itertuples(index=False), m["_merge"]) if w != "both"]
    m = m[m["_merge"] == "both"]
    bayes = m["r_hat"].notna() if "r_hat" in m else pd.Series(False, index=m.index)
    z = stats.norm.ppf(0.975)
    qf = np.sqrt(0.025 * 0.975) / stats.norm.pdf(z)
    for _, r in m[bayes].iterrows():
        if all(f"mcse_{c}_old" in r for c in ("estimate", "lower", "upper")):  # MCSEs stored with the summary
            tol = {c: 3 * float(r[f"mcse_{c}_old"]) for c in ("estimate", "lower", "upper")}
        else:  # tables written before MCSEs were stored: the normal-posterior approximation
            sd, eb, et = float(r["std_error"]), float(r["ess_bulk"]), float(r["ess_tail"])
            tol = {"estimate": 3 * sd / np.sqrt(eb), "lower": 3 * qf * sd / np.sqrt(et),
                   "upper": 3 * qf * sd / np.sqrt(et)}
        for c, t in tol.items():
            if abs(float(r[c]) - float(r[f"{c}_old"])) > t:
                bad.append(f"{dict((k, r[k]) for k in keys)} {c}: {r[c]:.6g} vs {r[f'{c}_old']:.6g} (3 MCSE = {t:.3g})")
    freq = m[~bayes]
    for c in ("estimate", "std_error", "lower", "upper"):
        if c in freq:
            a, b = freq[c].astype(float).to_numpy(), freq[f"{c}_old"].astype(float).to_numpy()
            diff = ~np.isclose(a, b, rtol=1e-5, atol=1e-12, equal_nan=True)
            bad += [f"frequentist {dict((k, freq.iloc[i][k]) for k in keys)} {c}: {a[i]:.6g} vs {b[i]:.6g}"
                    for i in np.flatnonzero(diff)]
    return bad


def main() -> int:
    tracked = _git("ls-files", "--", *OUTPUT_DIRS).decode().split()
    same = skipped = 0
    failed, derived = [], []
    for rel in tracked:
        p = ROOT / rel
        if rel in PROVENANCE or rel.endswith("/manifest.json"):
            skipped += 1
            continue
        old = _git("show", f"HEAD:{rel}")
        if not p.is_file():
            failed.append(f"{rel}: missing after make reproduce")
            continue
        new = p.read_bytes()
        if new == old:
            same += 1
            continue
        if rel.endswith(".csv") and b"r_hat" in old.split(b"\n", 1)[0]:
            probs = _mcse_ok(pd.read_csv(io.BytesIO(new)), pd.read_csv(io.BytesIO(old)))
            (failed if probs else derived).append(f"{rel}: " + ("; ".join(probs[:5]) if probs else
                                                                "MCMC summaries within 3 MCSE"))
        elif any(s in rel for s in MCMC_DERIVED):
            derived.append(f"{rel}: differs (drawn from MCMC draws; numbers checked through the model tables)")
        else:
            failed.append(f"{rel}: deterministic output differs from the committed version")
    untracked = _git("ls-files", "--others", "--exclude-standard", "--", *OUTPUT_DIRS).decode().split()
    print(f"make check: {len(tracked)} committed outputs: {same} identical, {len(derived)} MCMC-derived within "
          f"tolerance, {skipped} provenance (skipped), {len(failed)} differ; {len(untracked)} new untracked outputs")
    for line in derived:
        print(f"  ok   {line}")
    for line in untracked:
        print(f"  new  {line}")
    for line in failed:
        print(f"  FAIL {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
