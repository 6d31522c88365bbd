"""docs/tutorial_new_wave.md works: every bash block runs, in order, in a fresh folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def test_tutorial_runs_end_to_end(tmp_path):
    text = (ROOT / "docs/tutorial_new_wave.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 6
    for name in ("data", "waves"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for i, block in enumerate(blocks):
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, f"block {i}:\n{block}\nstdout:\n{r.stdout[-2000:]}\nstderr:\n{r.stderr[-3000:]}"
        assert "Traceback" not in r.stderr, r.stderr
    out = tmp_path / "tutorial" / "out"
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    prev = pd.read_csv(out / "tables/prevalence.csv", keep_default_na=False, na_values=[""])
    assert set(prev["outcome"]) == {"cover_24_7", "female_ir_share_class"}
    change = pd.read_csv(tmp_path / "tutorial/comparison/tables/change.csv")
    assert set(change["identification"]) == {"identified", "bounded", "assumption"}
