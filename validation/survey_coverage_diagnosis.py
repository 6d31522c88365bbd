"""Why the raked prevalence under-covers at 2017's n (issue 10): coverage by the state of the small bed class.

The coverage study (``validation/run_studies.py``, ``coverage_survey_n98``) found 95% intervals of
the raked prevalence covering 73% (linearisation) and 79% (bootstrap) of the time at n = 98,
although the estimator is nearly unbiased and the median SE is close to the spread of the
estimates. The design explains it: respondents are drawn with 2017's bed-class shares (4 of 98
in hospitals with fewer than 200 beds) while the frame puts 36% of departments there, so the
handful of small-hospital respondents carry about a third of the weight. When they all give the
same answer (certain with one respondent, likely with two to four), the estimated variance of
that class is zero, although it holds most of the sampling variance; the interval is then far
too narrow. This script re-simulates the study's design (same settings, same simulation
functions) and reports coverage separately for samples whose small class is *degenerate* (every
respondent of that class has the same outcome, or it has fewer than 2) and for the others.

The same samples are also raked with the two smallest bed classes merged (the package's
``COLLAPSE_BEDS_400``), the usual remedy, to show what it buys (coverage) and costs (bias: the
merged class's respondents stand for both classes).

Output: ``validation/survey_coverage_diagnosis.csv`` (one row per estimator x group: ``n_sims``,
``covered``, ``coverage``, ``mc_se``, ``mean_bias`` (estimate minus the true prevalence),
``median_se_ratio`` = median estimated SE / empirical SD of the logit estimates in that group). Run: ``.venv/bin/python validation/survey_coverage_diagnosis.py
[--sims 2000] [--seed 20261130]``; about 1 minute serially.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from irmodels.core.errors import SeparationWarning
from irmodels.core.io import write_table_atomic
from irmodels.nonresponse.survey import weighted_prevalence
from irmodels.nonresponse.weighting import COLLAPSE_BEDS_400, weight
from irmodels.studies.coverage import _eta, _predictors, default_settings

HERE = Path(__file__).resolve().parent
LEVEL = 0.95


def simulate_one(rng: np.random.Generator, s: dict) -> dict:
    """One simulated survey of the study's design: the raked prevalence, its interval, the small class's state."""
    d = _predictors(rng, s["n"], s["shares"], fixed=False)
    d["cover_24_7"] = rng.random(s["n"]) < special.expit(_eta(d, s["truth"]))
    small = min(s["frame_totals"], key=lambda b: s["shares"]["beds_class"][b])  # fewest respondents expected
    y_small = d.loc[d["beds_class"].astype(str) == small, "cover_24_7"]
    degenerate = len(y_small) < 2 or y_small.nunique() == 1
    row = {"n_small": len(y_small), "degenerate": bool(degenerate), "ok": False}
    z = special.ndtri(0.5 + LEVEL / 2)
    for tag, collapse in (("", None), ("collapsed_", COLLAPSE_BEDS_400)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SeparationWarning)
                w = weight(d, "rake", margins={"beds_class": dict(s["frame_totals"])}, collapse=collapse)
                p = weighted_prevalence(d, "cover_24_7", w, method="logit", level=LEVEL).iloc[0]
        except Exception as exc:  # noqa: BLE001 - e.g. a bed class without respondents: counted, not dropped
            row[f"{tag}error"] = f"{type(exc).__name__}: {exc}"
            continue
        logit_se = (special.logit(p["upper"]) - special.logit(p["lower"])) / (2 * z)
        row.update({f"{tag}ok": True, f"{tag}estimate": float(p["estimate"]), f"{tag}logit_se": float(logit_se),
                    f"{tag}covered": bool(p["lower"] <= s["prevalence"] <= p["upper"])})
    return row


def summarise(rows: pd.DataFrame, truth: float) -> pd.DataFrame:
    """Coverage with its Monte Carlo SE per estimator x group (all, degenerate small class, not degenerate)."""
    out = []
    for tag, label in (("", "raked to 4 bed classes"), ("collapsed_", "raked with <200 and 200-399 merged")):
        ok = rows[rows[f"{tag}ok"].fillna(False).astype(bool)]
        n_failed = len(rows) - len(ok)
        for group, g in (("all", ok), ("small class degenerate", ok[ok["degenerate"]]),
                         ("small class not degenerate", ok[~ok["degenerate"]])):
            c = g[f"{tag}covered"].astype(bool).mean()
            est = g[f"{tag}estimate"].astype(float)
            emp_sd = special.logit(est.clip(1e-9, 1 - 1e-9)).std(ddof=1)
            out.append({"estimator": label, "group": group, "n_sims": len(g),
                        "n_failed": n_failed if group == "all" else 0, "covered": int(g[f"{tag}covered"].sum()),
                        "coverage": c, "mc_se": np.sqrt(c * (1 - c) / len(g)),
                        "median_n_small": float(g["n_small"].median()), "mean_bias": float(est.mean() - truth),
                        "median_se_ratio": float(g[f"{tag}logit_se"].median() / emp_sd)})
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sims", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--out", type=Path, default=HERE / "survey_coverage_diagnosis.csv")
    args = ap.parse_args(argv)
    s = default_settings()["survey_n98"]
    children = np.random.SeedSequence(args.seed).spawn(args.sims)
    rows = pd.DataFrame([simulate_one(np.random.default_rng(c), s) for c in children])
    summ = summarise(rows, s["prevalence"])
    write_table_atomic(summ, args.out, float_format="%.6g")
    print(summ.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
