"""Write docs/codebook.md from irmodels/data/codebook.yaml (the codebook of every variable)."""

from paths import ROOT

from irmodels.data.codebook import codebook_markdown
from irmodels.core.io import write_text_atomic

if __name__ == "__main__":
    out = write_text_atomic(codebook_markdown(), ROOT / "docs" / "codebook.md")
    print(f"wrote {out.relative_to(ROOT)}")
