"""Paper table: the statements of the 2017 paper no reading reproduces, and the truncated ones
(paper/generated/audit_table.tex), from data/derived/audit_statements.csv."""

import pandas as pd
from paths import DERIVED, PAPER_GENERATED, ROOT

from irmodels.pipeline.paper import latex_table

if __name__ == "__main__":
    a = pd.read_csv(DERIVED / "audit_statements.csv", dtype=str, keep_default_na=False)
    a = a[a["status"] != "ok"]
    tab = pd.DataFrame(
        {
            "Statement": a["statement_id"],
            "Printed": [f"{c}" + (f"/{d}" if d else "") + (f" ({p}%)" if p else "") for c, d, p in zip(a["count"], a["denominator"], a["percent_printed"])],
            "Recomputed %": a["percent_recomputed"],
            "Implied denominator": a["implied_denominator"],
            "Status": a["status"],
            "Discrepancy": a["discrepancy_id"],
        }
    )
    out = latex_table(
        tab,
        PAPER_GENERATED / "audit_table.tex",
        caption="Statements of the 2017 paper that are truncated or that no reading of the stated numbers reproduces",
        label="tab:audit",
        source="analyses/91_audit_table.py",
        column_format="llllll",
        notes=["Recomputed with exact rational arithmetic, rounding half-up to the printed decimals; implied denominator: the one that reproduces the printed value. Discrepancies are listed in data/derived/audit_discrepancies.csv."],
    )
    print(f"wrote {out.relative_to(ROOT)} ({len(tab)} rows)")
