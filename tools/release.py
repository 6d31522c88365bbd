"""Tag a release: ``make release`` (``tools/release.py [--dry-run]``).

A release is an annotated git tag ``v<version>`` on a clean commit, where ``<version>`` is the
package's one version (``pyproject.toml``) and

* ``CITATION.cff`` and ``.zenodo.json`` carry the same version, and ``CITATION.cff``'s
  ``date-released`` is the tag's date;
* ``CHANGELOG.md`` has a section ``## <version> (<date>)``, whose text becomes the tag message;
* the committed provenance (``data/derived/manifest.json``, ``paper/generated/version.tex``) was
  written at a commit of this branch with this version, so the published numbers name the code
  that made them (the tag may sit on a later commit that only touches provenance or docs).

Every problem is listed at once and nothing is tagged unless all checks pass (exit 2). An existing
tag of the same name is refused unless it already points at HEAD (then it is left as is, exit 0).
Pushing the tag (``git push origin v<version>``) is left to the maintainer.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path


def _git(root: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip() if proc.returncode == 0 else ""


def release_problems(root: Path) -> tuple[str, str, str, list[str]]:
    """Check a working tree for a release: (version, date, changelog text, problems)."""
    problems: list[str] = []
    m = re.search(r'^version = "([^"]+)"', (root / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    version = m.group(1) if m else ""
    if not version:
        problems.append("pyproject.toml: no `version = \"...\"` line")
    cff = (root / "CITATION.cff").read_text(encoding="utf-8")
    cv = re.search(r"^version: (\S+)", cff, re.M)
    date_m = re.search(r'^date-released: "(\d{4}-\d{2}-\d{2})"', cff, re.M)
    date = date_m.group(1) if date_m else ""
    if not cv or cv.group(1) != version:
        problems.append(f"CITATION.cff: version {cv.group(1) if cv else None!r} is not the package's {version!r}")
    if not date:
        problems.append("CITATION.cff: no date-released \"YYYY-MM-DD\"")
    zv = json.loads((root / ".zenodo.json").read_text(encoding="utf-8")).get("version")
    if zv != version:
        problems.append(f".zenodo.json: version {zv!r} is not the package's {version!r}")
    log = (root / "CHANGELOG.md").read_text(encoding="utf-8") if (root / "CHANGELOG.md").is_file() else ""
    sec = re.search(rf"^## {re.escape(version)} \(([\d-]+)\)\n(.*?)(?=^## |\Z)", log, re.M | re.S)
    text = sec.group(2).strip() if sec else ""
    if not sec:
        problems.append(f"CHANGELOG.md: no section '## {version} (YYYY-MM-DD)'")
    elif sec.group(1) != date:
        problems.append(f"CHANGELOG.md: {version} is dated {sec.group(1)}, CITATION.cff's date-released is {date}")
    if _git(root, "status", "--porcelain", "--untracked-files=no"):
        problems.append("working tree has uncommitted changes to tracked files: commit them first")
    man_p = root / "data/derived/manifest.json"
    if man_p.is_file():
        man = json.loads(man_p.read_text(encoding="utf-8"))
        if man.get("irmodels_version") != version:
            problems.append(f"data/derived/manifest.json: outputs made by version {man.get('irmodels_version')!r}, "
                            f"not {version!r}: run `make reproduce` and commit")
        elif man.get("dirty"):
            problems.append("data/derived/manifest.json: outputs made from a dirty tree: commit, rerun, commit")
        elif subprocess.run(["git", "merge-base", "--is-ancestor", str(man.get("commit", "")), "HEAD"], cwd=root,
                            capture_output=True).returncode != 0:
            problems.append(f"data/derived/manifest.json: commit {man.get('commit')} is not an ancestor of HEAD")
    else:
        problems.append("data/derived/manifest.json: missing (run `make reproduce`)")
    return version, date, text, problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument("--dry-run", action="store_true", help="check only; do not create the tag")
    args = ap.parse_args(argv)
    root = args.root
    version, date, text, problems = release_problems(root)
    tag = f"v{version}"
    existing = _git(root, "rev-parse", "-q", "--verify", f"refs/tags/{tag}^{{commit}}", check=False)
    head = _git(root, "rev-parse", "HEAD")
    if existing and existing != head:
        problems.append(f"tag {tag} already exists on {existing[:12]}, not HEAD {head[:12]}: bump the version")
    if problems:
        print(f"release {tag}: not tagged, {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 2
    if existing == head:
        print(f"release {tag}: already tagged at HEAD {head[:12]}")
        return 0
    if args.dry_run:
        print(f"release {tag}: all checks pass (dry run; would tag {head[:12]})")
        return 0
    _git(root, "tag", "-a", tag, "-m", f"irmodels {version} ({date})\n\n{text}\n")
    print(f"release {tag}: tagged {head[:12]}; publish with `git push origin {tag}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
