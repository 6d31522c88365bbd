"""Run every analysis script in order (``make reproduce``), skipping the ones that are up to date.

Scripts are ``analyses/NN_name.py``; each writes one product. A failing script stops the run
with its name and exit status (its own output is atomic).

A script is **up to date** when nothing it can read has changed since it last ran: its own
source, ``analyses/paths.py``, every source file of the ``irmodels`` package, every file
under ``data/raw/``, ``validation/`` and ``waves/`` (inputs), and every output the earlier scripts
wrote (``data/derived/``, ``paper/generated/``, ``figures/``, ``results/``; a file counts as a
script's output when the script rewrote it, same bytes or not), and when the outputs it wrote
then are still there with the same content. The record is a content hash (sha256) per
script in ``.cache/steps/<script>.json`` listing the hash of its inputs and of the files it
wrote. A change to one script therefore reruns it and every later script whose inputs its
outputs changed; with nothing changed the run only hashes files. ``--force`` reruns all.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STEPS = ROOT / ".cache" / "steps"
INPUT_DIRS = ("irmodels", "data/raw", "validation", "waves")
OUTPUT_DIRS = ("data/derived", "paper/generated", "figures", "paper", "results")
SKIP_SUFFIXES = (".pyc", ".aux", ".log", ".out", ".toc")
# written by this runner after the scripts (provenance: they change with the commit), so they are
# neither a script's input nor its output
PROVENANCE_FILES = ("data/derived/manifest.json", "paper/generated/version.tex")


def _files(dirs: tuple[str, ...]) -> list[Path]:
    out = []
    for d in dirs:
        base = ROOT / d
        if base.is_file():
            out.append(base)
            continue
        for p in sorted(base.rglob("*")):
            rel = p.relative_to(ROOT)
            if p.is_file() and "__pycache__" not in p.parts and not any(part.startswith(".") for part in rel.parts) \
                    and not p.name.endswith(SKIP_SUFFIXES) and "studies" not in rel.parts[:2] \
                    and str(rel) not in PROVENANCE_FILES:
                out.append(p)
    return out


_SHA_MEMO: dict[tuple[str, int, int], str] = {}


def _sha(p: Path) -> str:
    st = p.stat()
    k = (str(p), st.st_size, st.st_mtime_ns)
    if k not in _SHA_MEMO:  # within one run a file is hashed again only when it changed
        _SHA_MEMO[k] = hashlib.sha256(p.read_bytes()).hexdigest()
    return _SHA_MEMO[k]


def _snapshot(dirs: tuple[str, ...]) -> dict[str, str]:
    return {str(p.relative_to(ROOT)): _sha(p) for p in _files(dirs)}


def _stamps(dirs: tuple[str, ...]) -> dict[str, int]:
    """Modification time of every output file: a script that rewrites a file (atomic writers
    replace it, same bytes or not) is the file's writer, even when the content is unchanged."""
    return {str(p.relative_to(ROOT)): p.stat().st_mtime_ns for p in _files(dirs)}


def _input_key(script: Path, outputs_now: dict[str, str]) -> str:
    h = hashlib.sha256()
    for p in [script, HERE / "paths.py", *_files(INPUT_DIRS)]:
        h.update(str(p.relative_to(ROOT)).encode() + b"\0" + _sha(p).encode() + b"\n")
    for k in sorted(outputs_now):
        h.update(k.encode() + b"\0" + outputs_now[k].encode() + b"\n")
    h.update(sys.version.encode())
    return h.hexdigest()


def _write_json_atomic(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    force = "--force" in argv
    scripts = sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))
    t_all = time.perf_counter()
    ran = 0
    records = {s: json.loads((STEPS / f"{s.stem}.json").read_text(encoding="utf-8"))
               for s in scripts if (STEPS / f"{s.stem}.json").is_file()}
    for i, script in enumerate(scripts):
        before = _snapshot(OUTPUT_DIRS)
        record_path = STEPS / f"{script.stem}.json"
        record = records.get(script, {})
        # inputs: what the earlier scripts wrote (their records are current: each was run or found
        # up to date before this one); files no earlier script wrote are not its inputs
        earlier = {k for s in scripts[:i] for k in records.get(s, {}).get("outputs", {})}
        key = _input_key(script, {k: v for k, v in before.items() if k in earlier})
        outputs_ok = all(before.get(k) == v for k, v in record.get("outputs", {}).items())
        if not force and record.get("inputs") == key and outputs_ok:
            print(f"[reproduce] {script.name}: up to date", flush=True)
            continue
        t0 = time.perf_counter()
        stamps = _stamps(OUTPUT_DIRS)
        print(f"[reproduce] {script.name} ...", flush=True)
        proc = subprocess.run([sys.executable, str(script)], cwd=ROOT)
        dt = time.perf_counter() - t0
        if proc.returncode != 0:
            record_path.unlink(missing_ok=True)
            print(f"[reproduce] FAILED: {script.name} (exit {proc.returncode}) after {dt:.1f} s", file=sys.stderr)
            return proc.returncode
        after = _snapshot(OUTPUT_DIRS)
        restamped = _stamps(OUTPUT_DIRS)
        written = {k: v for k, v in after.items() if before.get(k) != v or stamps.get(k) != restamped.get(k)}
        # a rerun that rewrote identical bytes keeps its earlier outputs on record
        outputs = {**{k: after[k] for k in record.get("outputs", {}) if k in after}, **written}
        key = _input_key(script, {k: v for k, v in before.items() if k in earlier and k not in outputs})
        records[script] = {"inputs": key, "outputs": outputs, "seconds": round(dt, 1)}
        _write_json_atomic(record_path, records[script])
        ran += 1
        print(f"[reproduce] {script.name} done in {dt:.1f} s", flush=True)
    # every script is now up to date with this code, so the outputs are this commit's: the manifest
    # is rewritten when anything ran or when it names another commit, version or dirty state
    stale = True
    if MANIFEST.is_file() and VERSION_TEX.is_file():
        old = json.loads(MANIFEST.read_text(encoding="utf-8"))
        stale = any(old.get(k) != v for k, v in provenance().items())
    if ran or force or stale:
        _write_manifest(scripts)
    total = time.perf_counter() - t_all
    print(f"[reproduce] {len(scripts)} scripts, {ran} run, {len(scripts) - ran} up to date, {total:.1f} s; "
          "outputs in data/derived/, figures/, paper/generated/, results/; provenance in "
          f"{MANIFEST.relative_to(ROOT)}")
    return 0


MANIFEST = ROOT / "data" / "derived" / "manifest.json"
VERSION_TEX = ROOT / "paper" / "generated" / "version.tex"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def provenance() -> dict:
    """irmodels version, and the commit of the code that made the outputs (``dirty`` if the package,
    the analyses, the raw data or the wave configs differ from it)."""
    import importlib.metadata

    commit = _git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = bool(_git("status", "--porcelain", "--", "irmodels", "analyses", "data/raw", "waves", "pyproject.toml"))
    return {"irmodels_version": importlib.metadata.version("irmodels"), "commit": commit, "dirty": dirty}


def _write_manifest(scripts: list[Path]) -> None:
    """data/derived/manifest.json: for every output, the script that wrote it, its sha256 and the hash of
    the script's inputs (source, package, raw data, earlier outputs), with version and commit; and
    paper/generated/version.tex (the paper prints both). These two files are provenance, not results:
    they change with the commit and are left out of `make check`'s comparison."""
    prov = provenance()
    steps = {}
    for script in scripts:
        rec_path = STEPS / f"{script.stem}.json"
        if rec_path.is_file():
            rec = json.loads(rec_path.read_text(encoding="utf-8"))
            steps[script.name] = {"inputs_sha256": rec.get("inputs"), "outputs": dict(sorted(rec.get("outputs", {}).items()))}
    _write_json_atomic(MANIFEST, {**prov, "python": sys.version.split()[0], "scripts": steps,
                                  "seeds": "stated in each script (analyses/*.py) and wave config (waves/*.yaml)"})
    commit = prov["commit"] + ("+dirty" if prov["dirty"] else "")
    tex = ("% written by analyses/run_all.py: the code that made this paper's numbers\n"
           f"\\newcommand{{\\irmodelsVersion}}{{{prov['irmodels_version']}}}\n"
           f"\\newcommand{{\\irmodelsCommit}}{{{commit}}}\n")
    VERSION_TEX.parent.mkdir(parents=True, exist_ok=True)
    tmp = VERSION_TEX.with_name(f".{VERSION_TEX.name}.{os.getpid()}.tmp")
    tmp.write_text(tex, encoding="utf-8")
    os.replace(tmp, VERSION_TEX)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
