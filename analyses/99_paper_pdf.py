"""Compile the paper (paper/irmodels_2017.tex -> paper/irmodels_2017.pdf) when pdflatex is available.

LaTeX is not a dependency of irmodels: without pdflatex this step says so and
leaves the committed PDF untouched (the .tex and its generated numbers are
always current). The PDF is built in a temporary folder and moved into place
only when both LaTeX passes succeed.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from paths import PAPER, ROOT

if __name__ == "__main__":
    tex = PAPER / "irmodels_2017.tex"
    exe = shutil.which("pdflatex")
    if exe is None:
        print("pdflatex not found: paper PDF not rebuilt (paper/irmodels_2017.tex and paper/generated/ are current)")
        sys.exit(0)
    with tempfile.TemporaryDirectory(dir=PAPER, prefix=".latex-") as tmp:  # same filesystem: atomic rename
        env = dict(os.environ, SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1")  # reproducible PDF dates
        for _ in range(2):  # second pass resolves references
            proc = subprocess.run(
                [exe, "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={tmp}", tex.name],
                cwd=PAPER, capture_output=True, text=True, env=env,
            )
            if proc.returncode != 0:
                sys.stdout.write(proc.stdout[-3000:])
                sys.exit(f"pdflatex failed on {tex.relative_to(ROOT)}")
        os.replace(Path(tmp) / "irmodels_2017.pdf", PAPER / "irmodels_2017.pdf")
    print("wrote paper/irmodels_2017.pdf")
