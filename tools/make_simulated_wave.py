"""Write the SIMULATED demonstration wave in raw survey-export form.

Produces, under ``data/raw/simulated_demo/`` (or ``--out DIR``):

* ``export.csv``  - a LimeSurvey-style export: a row of question codes, a row of question
  texts, answer codes (A1..A4, Y/N), a free-text "other" column, a comment column, two test
  responses and three incomplete responses (excluded by the mapping), and a few realistic
  dirty values (``Yes`` for ``Y``, ``U.K.``, ``none`` residents, ``N/A``) that the mapping
  recodes and reports;
* ``mapping.yaml`` - the mapping that imports it (``irmodels import-wave``);
* ``truth.yaml``   - the generating parameters (``irmodels.simulate.truth()``), n and seed;
* ``README.md``    - what this is, with a SIMULATED banner.

Everything is SIMULATED by :func:`irmodels.simulate.simulate_wave` (n = 600, seed fixed):
no real department is described. Run: ``.venv/bin/python tools/make_simulated_wave.py``.
The output is byte-identical for the same seed.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from irmodels.io import write_text_atomic
from irmodels.simulate import simulate_wave, truth

N = 600
SEED = 20170517
HERE = Path(__file__).resolve().parents[1]

COUNTRY_NAMES = {
    "DE": "Germany", "TR": "Turkey", "AT": "Austria", "HR": "Croatia", "FR": "France", "ES": "Spain",
    "IE": "Ireland", "IT": "Italy", "GB": "United Kingdom", "BG": "Bulgaria", "CH": "Switzerland",
    "RO": "Romania", "IL": "Israel", "KZ": "Kazakhstan", "NL": "Netherlands", "SE": "Sweden",
    "SI": "Slovenia", "DK": "Denmark", "EE": "Estonia", "FI": "Finland", "SK": "Slovakia",
    "BY": "Belarus", "LT": "Lithuania", "RU": "Russia",
}
BEDS = {"<200": "A1", "200-399": "A2", "400-799": "A3", ">=800": "A4"}
CHAIR = {"DR": "A1", "DR_some_IR": "A2", "DR_IR_equal": "A3", "IR_mostly": "A4"}
VOLUME = {"0": "A1", "1-200": "A2", "201-500": "A3", ">500": "A4"}
YN = {True: "Y", False: "N"}

HEADER = [
    ("id", "Response ID"), ("submitdate", "Date submitted"), ("lastpage", "Last page"),
    ("startlanguage", "Start language"), ("Q00test", "[internal] test response?"),
    ("Q01country", "In which country is your hospital located?"),
    ("Q02beds", "How many beds does your hospital have?"),
    ("Q03teach", "Does your hospital have teaching duties (radiologists-in-training)?"),
    ("Q04chair", "Which best describes your own clinical work?"),
    ("Q04chair_other", "Which best describes your own clinical work? [Other]"),
    ("Q05nrad", "Number of radiologists in your department"),
    ("Q06nres", "Number of radiologists-in-training"),
    ("Q07nir", "Number of interventional radiologists"),
    ("Q08nfrad", "Number of female radiologists"),
    ("Q09nfir", "Number of female interventional radiologists"),
    ("Q10volume", "IR procedures per year"),
    ("Q11unit", "Is there an interventional unit under a specific leader?"),
    ("Q12h24", "Does the IR service cover emergencies 24/7?"),
    ("Q13comment", "Any comments?"),
]

MAPPING = f"""\
# Import mapping for the SIMULATED demonstration wave (LimeSurvey-style export).
# Field reference: irmodels/mapping.py (module docstring) and docs/reconstruction.md.
description: SIMULATED demonstration wave - not real data.
wave: simulated_demo
format: csv
header_row: 1          # question codes
skip_rows: [2]         # question texts (LimeSurvey "full headings" row)
respondent_id: {{column: id}}
exclude:
  - {{column: Q00test, equals: "Y", reason: test response entered by the survey team}}
  - {{column: submitdate, missing: true, reason: incomplete response (never submitted)}}
ignore: [lastpage, startlanguage]
free_text: [Q13comment]
derive_share_classes: true   # ir/female share classes from the counts
columns:
  country:
    column: Q01country
    codes: {yaml.safe_dump({v: k for k, v in COUNTRY_NAMES.items()}, default_flow_style=True, width=10**6).strip()}
    recode: {{U.K.: United Kingdom}}
  beds_class:
    column: Q02beds
    codes: {{A1: "<200", A2: "200-399", A3: "400-799", A4: ">=800"}}
  teaching:
    column: Q03teach
    codes: {{"Y": true, "N": false}}
    recode: {{"Yes": "Y", "No": "N"}}
  chair_profile:
    column: Q04chair
    codes: {{A1: DR, A2: DR_some_IR, A3: DR_IR_equal, A4: IR_mostly}}
    other: {{code: "-oth-", text_column: Q04chair_other}}
  n_radiologists: {{column: Q05nrad}}
  n_residents:
    column: Q06nres
    recode: {{none: "0"}}
  n_ir: {{column: Q07nir}}
  n_female_radiologists: {{column: Q08nfrad}}
  n_female_ir: {{column: Q09nfir}}
  procedure_volume_class:
    column: Q10volume
    codes: {{A1: "0", A2: "1-200", A3: "201-500", A4: ">500"}}
  ir_unit:
    column: Q11unit
    codes: {{"Y": true, "N": false}}
  cover_24_7:
    column: Q12h24
    codes: {{"Y": true, "N": false}}
    missing: ["", "N/A"]
"""

README = f"""\
# SIMULATED demonstration wave - NOT REAL DATA

**Every value in this folder is SIMULATED.** No real hospital or department is described.

Generated by `tools/make_simulated_wave.py` with `irmodels.simulate.simulate_wave(n={N}, seed={SEED})`
from the known parameters in `truth.yaml` (`irmodels.simulate.DEFAULT_PARAMS`). It shows the
new-wave workflow end to end and gives the model tests a truth to recover.

| file | content |
| --- | --- |
| `export.csv` | LimeSurvey-style export: question codes (row 1), question texts (row 2), answer codes (A1..A4, Y/N), an "other" free-text column, a comment column. {N} submitted responses plus 2 test responses and 3 incomplete ones. |
| `mapping.yaml` | how the export maps onto the canonical table (codes, recodes, exclusions) |
| `truth.yaml` | the generating parameters (country effects, 24/7 coverage and female-IR coefficients) |

Deliberate imperfections, all handled by the mapping and listed in the import report:
one `Yes` instead of `Y` (teaching), one `U.K.` instead of `United Kingdom`, one `none` for
the number of residents, `N/A` for some missing 24/7 answers, one "Other" work profile with
free text (kept missing in the table), free-text comments, 2 test and 3 incomplete responses
(excluded), 2 unused bookkeeping columns (ignored).

Import it:

```
irmodels import-wave data/raw/simulated_demo/export.csv \\
    --mapping data/raw/simulated_demo/mapping.yaml \\
    --out data/derived/simulated_demo/table.csv
```
"""


def build(out_dir: Path) -> None:
    df = simulate_wave(N, SEED)
    rng = np.random.default_rng(SEED + 1)  # for the export's bookkeeping, not the data
    rows = []
    for i, r in enumerate(df.itertuples(index=False)):
        rows.append({
            "id": str(1001 + i), "submitdate": f"2027-05-{1 + i % 28:02d} {8 + i % 10:02d}:{i % 60:02d}:00",
            "lastpage": "5", "startlanguage": "en", "Q00test": "",
            "Q01country": COUNTRY_NAMES[r.country], "Q02beds": BEDS[r.beds_class], "Q03teach": YN[bool(r.teaching)],
            "Q04chair": CHAIR[r.chair_profile], "Q04chair_other": "",
            "Q05nrad": num(r.n_radiologists), "Q06nres": num(r.n_residents), "Q07nir": num(r.n_ir),
            "Q08nfrad": num(r.n_female_radiologists), "Q09nfir": num(r.n_female_ir),
            "Q10volume": VOLUME[r.procedure_volume_class], "Q11unit": YN[bool(r.ir_unit)],
            "Q12h24": "" if r.cover_24_7 is pd.NA else YN[bool(r.cover_24_7)], "Q13comment": "",
        })
    # realistic imperfections (positions drawn once from the bookkeeping generator)
    pos = rng.choice(N, size=8, replace=False)
    rows[pos[0]]["Q03teach"] = "Yes" if rows[pos[0]]["Q03teach"] == "Y" else "No"
    gb = [i for i, r in enumerate(rows) if r["Q01country"] == "United Kingdom"]
    rows[gb[0]]["Q01country"] = "U.K."
    zero_res = [i for i, r in enumerate(rows) if r["Q06nres"] == "0"]
    rows[zero_res[0]]["Q06nres"] = "none"
    rows[pos[1]]["Q04chair"] = "-oth-"
    rows[pos[1]]["Q04chair_other"] = "Head of radiology and nuclear medicine; IR only in emergencies"
    miss = [i for i, r in enumerate(rows) if r["Q12h24"] == ""]
    for i in miss[::2]:
        rows[i]["Q12h24"] = "N/A"
    rows[pos[2]]["Q13comment"] = "Our IR rota is shared with the neighbouring hospital at weekends."
    rows[pos[3]]["Q13comment"] = "Numbers are approximate (FTE, not head count)."
    # two test responses and three incomplete ones, inserted among the real ones
    extra = []
    for j in range(2):
        t = dict(rows[0], id=str(9001 + j), Q00test="Y", Q13comment="test - please ignore")
        extra.append((int(pos[4 + j]), t))
    for j in range(3):
        t = {k: "" for k in rows[0]}
        t.update(id=str(9101 + j), lastpage=str(1 + j), startlanguage="en", Q01country="Germany", Q02beds="A3")
        extra.append((int(pos[6 + j % 2]) + j, t))
    for p, t in sorted(extra, key=lambda x: -x[0]):
        rows.insert(p, t)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c for c, _ in HEADER])
    w.writerow([t for _, t in HEADER])
    for r in rows:
        w.writerow([r[c] for c, _ in HEADER])
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(buf.getvalue(), out_dir / "export.csv")
    write_text_atomic(MAPPING, out_dir / "mapping.yaml")
    t = truth()
    doc = {"SIMULATED": "These are the generating parameters of a SIMULATED wave; no real data.",
           "generator": "irmodels.simulate.simulate_wave", "n": N, "seed": SEED, "params": t}
    write_text_atomic("# SIMULATED - generating parameters (irmodels.simulate.DEFAULT_PARAMS)\n"
                      + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), out_dir / "truth.yaml")
    write_text_atomic(README, out_dir / "README.md")


def num(v: object) -> str:
    """A count as the survey tool writes it (empty when not answered)."""
    return "" if v is None or v is pd.NA else str(int(v))  # type: ignore[call-overload]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "data" / "raw" / "simulated_demo")
    args = ap.parse_args(argv)
    build(args.out)
    print(f"wrote SIMULATED wave (n={N}, seed={SEED}) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
