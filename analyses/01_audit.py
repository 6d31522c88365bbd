"""Consistency audit of the 2017 paper (issue 2): data/derived/audit_statements.csv,
audit_discrepancies.csv, audit_identities.csv and the paper's audit macros."""

from paths import DERIVED, ROOT

import irmodels
from irmodels.published.audit import identity_checks
from irmodels.core.io import write_table_atomic

if __name__ == "__main__":
    a = irmodels.audit(wave="esr_cirse_2017")
    outs = [
        write_table_atomic(a, DERIVED / "audit_statements.csv"),
        write_table_atomic(irmodels.discrepancies(), DERIVED / "audit_discrepancies.csv"),
        write_table_atomic(identity_checks(), DERIVED / "audit_identities.csv"),
    ]
    counts = a["status"].value_counts()
    print(f"{len(a)} statements: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for o in outs:
        print(f"wrote {o.relative_to(ROOT)}")
