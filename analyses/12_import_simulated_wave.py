"""Import the SIMULATED demonstration wave (issue 3): data/derived/simulated_demo/table.csv
(+ table_report.csv), the new-wave workflow of the README run on the shipped raw export."""

from paths import DERIVED, ROOT, SIMULATED_WAVE

from irmodels.data.importing import import_wave

if __name__ == "__main__":
    out = DERIVED / "simulated_demo" / "table.csv"
    res = import_wave(SIMULATED_WAVE / "export.csv", SIMULATED_WAVE / "mapping.yaml", out=out)
    print(f"wrote {out.relative_to(ROOT)} ({len(res.table)} SIMULATED rows; report: "
          f"{res.report['action'].value_counts().to_dict()})")
