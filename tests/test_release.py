"""tools/release.py (make release): a tag only when version, citation files, changelog and the
output manifest agree; every problem listed at once."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("release", ROOT / "tools/release.py")
release = importlib.util.module_from_spec(spec)
spec.loader.exec_module(release)


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small git repository holding the release files as committed here, and a manifest at its commit."""
    r = tmp_path / "r"
    r.mkdir()
    _git(r, "init", "-q", "-b", "main")
    _git(r, "config", "user.email", "t@example.org")
    _git(r, "config", "user.name", "t")
    for name in ("pyproject.toml", "CITATION.cff", ".zenodo.json", "CHANGELOG.md"):
        (r / name).write_bytes((ROOT / name).read_bytes())
    (r / "data/derived").mkdir(parents=True)
    _git(r, "add", ".")
    _git(r, "commit", "-qm", "code")
    version = release.release_problems(r)[0]
    man = {"irmodels_version": version, "commit": _git(r, "rev-parse", "HEAD")[:12], "dirty": False}
    (r / "data/derived/manifest.json").write_text(json.dumps(man))
    _git(r, "add", ".")
    _git(r, "commit", "-qm", "outputs")
    return r


def test_committed_release_files_agree():
    version, date, text, problems = release.release_problems(ROOT)
    # the repository itself may have uncommitted work or stale outputs while being edited; the
    # version, citation files and changelog must always agree
    assert not [p for p in problems if p.startswith(("pyproject", "CITATION", ".zenodo", "CHANGELOG"))], problems
    assert text.startswith("First release") or text


def test_tags_a_consistent_repository(repo: Path, capsys):
    version = release.release_problems(repo)[0]
    assert release.main(["--root", str(repo)]) == 0
    assert _git(repo, "tag") == f"v{version}"
    msg = _git(repo, "tag", "-l", "--format=%(contents)", f"v{version}")
    assert msg.startswith(f"irmodels {version} (") and "First release" in msg
    assert release.main(["--root", str(repo)]) == 0  # already tagged at HEAD: left as is
    assert "already tagged" in capsys.readouterr().out


def test_refuses_and_lists_every_problem(repo: Path, capsys):
    cff = re.sub(r"^version: ", "version: 9", (repo / "CITATION.cff").read_text(), count=1, flags=re.M)
    (repo / "CITATION.cff").write_text(cff)
    z = json.loads((repo / ".zenodo.json").read_text())
    z["version"] = "0.0.1"
    (repo / ".zenodo.json").write_text(json.dumps(z))
    assert release.main(["--root", str(repo)]) == 2
    err = capsys.readouterr().err
    assert "CITATION.cff: version" in err and ".zenodo.json: version '0.0.1'" in err
    assert "uncommitted changes" in err
    assert _git(repo, "tag") == ""


def test_refuses_stale_outputs_and_a_moved_tag(repo: Path, capsys):
    man = json.loads((repo / "data/derived/manifest.json").read_text())
    man["irmodels_version"] = "0.0.0"
    (repo / "data/derived/manifest.json").write_text(json.dumps(man))
    _git(repo, "commit", "-qam", "stale")
    assert release.main(["--root", str(repo), "--dry-run"]) == 2
    assert "outputs made by version '0.0.0'" in capsys.readouterr().err
    version = release.release_problems(repo)[0]
    _git(repo, "tag", "-a", f"v{version}", "-m", "x", "HEAD~1")
    man["irmodels_version"] = version
    (repo / "data/derived/manifest.json").write_text(json.dumps(man))
    _git(repo, "commit", "-qam", "fresh")
    assert release.main(["--root", str(repo)]) == 2
    assert f"tag v{version} already exists" in capsys.readouterr().err
