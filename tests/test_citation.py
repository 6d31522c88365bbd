"""One version, defined once (package metadata), agrees with CITATION.cff, .zenodo.json, the CLI
and the paper's citation command output (issue 12, item 7)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import irmodels
from irmodels.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_the_package_metadata_and_agrees_everywhere(capsys):
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    v = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert irmodels.core.version.__version__ == v
    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r"^version: (\S+)", cff, re.M).group(1) == v
    assert re.search(r'^date-released: "\d{4}-\d{2}-\d{2}"', cff, re.M)
    assert json.loads((ROOT / ".zenodo.json").read_text(encoding="utf-8"))["version"] == v
    try:
        main(["--version"])
    except SystemExit:
        pass
    assert capsys.readouterr().out.strip() == f"irmodels {v}"


def test_cite_prints_the_package_and_the_survey(capsys):
    assert main(["cite"]) == 0
    out = capsys.readouterr().out
    assert "@software{irmodels" in out and f"version = {{{irmodels.core.version.__version__}}}" in out
    assert "doi = {10.1186/s13244-019-0698-6}" in out
    assert main(["cite", "--format", "ris"]) == 0
    ris = capsys.readouterr().out
    assert "TY  - COMP" in ris and "DO  - 10.1186/s13244-019-0698-6" in ris and ris.count("ER  - ") == 2


def test_paper_and_manifest_agree_on_version_and_commit():
    """paper/generated/version.tex and data/derived/manifest.json are written together by
    analyses/run_all.py: same version (the package's) and the same commit."""
    tex = (ROOT / "paper/generated/version.tex").read_text(encoding="utf-8")
    man = json.loads((ROOT / "data/derived/manifest.json").read_text(encoding="utf-8"))
    v = re.search(r"\\newcommand\{\\irmodelsVersion\}\{([^}]*)\}", tex).group(1)
    c = re.search(r"\\newcommand\{\\irmodelsCommit\}\{([^}]*)\}", tex).group(1)
    assert v == man["irmodels_version"] == irmodels.core.version.__version__
    assert c == man["commit"] + ("+dirty" if man["dirty"] else "")
    assert re.fullmatch(r"[0-9a-f]{12}(\+dirty)?|unknown", c)
    paper = (ROOT / "paper/irmodels_2017.tex").read_text(encoding="utf-8")
    assert "\\input{generated/version.tex}" in paper and "\\irmodelsCommit" in paper
    # every output on record exists with the recorded content
    import hashlib
    n = 0
    for step in man["scripts"].values():
        for rel, sha in step["outputs"].items():
            p = ROOT / rel
            if p.suffix in (".csv", ".tex") and p.is_file() and p.name not in ("manifest.json", "version.tex"):
                n += 1
                assert hashlib.sha256(p.read_bytes()).hexdigest() == sha, rel
    assert n > 20
