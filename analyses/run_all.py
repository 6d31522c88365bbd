"""Run every analysis script (``make reproduce``), in parallel where the scripts' declared inputs allow,
skipping the ones that are up to date.

Scripts are ``analyses/NN_name.py``; each writes one product. :data:`DEPENDS` declares, per script,
the scripts whose outputs it reads (or whose cached fits it re-uses); a script with no entry reads
only the package, ``data/raw/``, ``validation/`` and ``waves/``. The scripts form a graph that
**Dask** executes (``dask.delayed``, threaded scheduler: each task is one script in its own Python
process), ``--workers N`` at a time (default: the machine's cores). A failing script stops the
scripts that depend on it; the independent ones finish; the run then exits with the failure.

A script is **up to date** when nothing it can read has changed since it last ran: its own source,
``analyses/paths.py``, every source file of the ``irmodels`` package, every file under
``data/raw/``, ``validation/`` and ``waves/``, and the outputs of the scripts it depends on; and
when the outputs it wrote then are still there with the same content. The record is a content hash
(sha256) per script in ``.cache/steps/<script>.json``. A change to one script therefore reruns it
and the scripts whose inputs its outputs changed; with nothing changed the run only hashes files.
``--force`` reruns all. A script that fails or is killed leaves no record and none of the files it
wrote under the output folders (its writes are logged as they happen; like make's ``.DELETE_ON_ERROR``),
so the next run redoes it; a damaged record only makes its script rerun; an interrupted runner kills the
scripts it started.

**What a script read and wrote is traced**, not guessed: each runs under a Python audit hook
(:data:`_BOOT`) that records the files it opened and the targets of its ``os.replace`` calls. Its
outputs are the files under ``data/derived/``, ``paper/``, ``figures/`` and ``results/`` it wrote;
reading a file that another script writes without declaring that script in :data:`DEPENDS` fails
the run, naming the file and its writer (reads in C libraries or subprocesses, e.g. pdflatex, are
not traced: their scripts declare what they need).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
INPUT_DIRS = ("irmodels", "data/raw", "validation", "waves")
OUTPUT_DIRS = ("data/derived", "paper", "figures", "results")
SKIP_SUFFIXES = (".pyc", ".aux", ".log", ".out", ".toc")
# written by this runner after the scripts (provenance: they change with the commit), so they are
# neither a script's input nor its output
PROVENANCE_FILES = ("data/derived/manifest.json", "paper/generated/version.tex")

#: a script that depends on every script before it (the paper: its numbers, tables and figures)
EVERY_EARLIER = ("*",)
#: Per script, the scripts it must follow: it reads their outputs, or re-uses the Bayesian fits they
#: cache under .cache/models (the fits are not files the scripts declare; running after the script
#: that fits them saves fitting them twice at once). Checked on every run against the traced reads.
DEPENDS: dict[str, tuple[str, ...]] = {
    "25_tipping_point_summary": ("23_tipping_point_curves",),
    "26_tipping_point_figure": ("23_tipping_point_curves", "25_tipping_point_summary"),
    "31_forest_plot": ("30_model_results",),
    "32_country_caterpillar": ("30_model_results",),
    "33_mrp_estimates": ("21_weighted_coverage", "30_model_results"),
    "34_ppc_figure": ("30_model_results",),
    "35_sensitivity_curves_figure": ("14_association_curves",),
    "36_coverage_curve_figure": ("27_coverage_curve",),
    "40_waves": ("30_model_results", "13_association_bounds"),
    "41_wave_comparison": ("40_waves",),
    "90_paper_numbers": EVERY_EARLIER,
    "91_audit_table": ("01_audit",),
    "99_paper_pdf": EVERY_EARLIER,
}

#: The child process of every script: records the files it opens and the targets of os.replace /
#: os.rename (atomic writers) through a Python audit hook, then runs the script as __main__.
_BOOT = r"""
import json, os, runpy, sys
script, trace = sys.argv[1], os.environ.pop("IRMODELS_TRACE")
reads, writes = set(), set()
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# every write is logged as it happens (one JSON string a line), so a killed script's writes are known
wlog = os.open(trace + ".writes", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
def _wrote(p):
    if p not in writes:
        writes.add(p)
        os.write(wlog, (json.dumps(p) + "\n").encode())
def _hook(event, args):
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int):
            return
        p = os.path.abspath(os.fsdecode(path))
        if (mode is not None and any(c in mode for c in "wax+")) or (mode is None and flags & WRITE_FLAGS):
            _wrote(p)
        else:
            reads.add(p)
    elif event == "os.rename":
        _wrote(os.path.abspath(os.fsdecode(args[1])))
sys.addaudithook(_hook)
sys.argv = [script]
sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
try:
    runpy.run_path(script, run_name="__main__")
finally:
    record = {"reads": sorted(reads), "writes": sorted(writes)}
    with open(trace, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
"""


def _write_json_atomic(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _load_record(path: Path) -> tuple[dict | None, str | None]:
    """A script's record, or None and why it cannot be used (a damaged record only makes its script rerun)."""
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"
    ok = (isinstance(rec, dict) and isinstance(rec.get("inputs"), str) and isinstance(rec.get("outputs"), dict)
          and all(isinstance(k, str) and isinstance(v, str) for k, v in rec["outputs"].items())
          and isinstance(rec.get("reads", []), list) and all(isinstance(r, str) for r in rec.get("reads", [])))
    if not ok:
        return None, "not a record of this runner (inputs: str, outputs: {file: sha256}, reads: [file])"
    return rec, None


def parse_workers(value: object, source: str) -> int:
    """``value`` (from ``source``: the option or the environment variable) as a number of workers >= 1."""
    try:
        n = int(str(value).strip(), 10)
    except ValueError:
        n = None
    if n is None or n < 1:
        raise ValueError(f"{source}={value!r}: the number of scripts run at once must be a whole number >= 1")
    return n


class Runner:
    """The scripts of ``scripts_dir`` as a Dask graph over ``root`` (see the module notes)."""

    def __init__(self, root: Path, scripts_dir: Path, depends: dict[str, tuple[str, ...]], *, force: bool = False,
                 log=print) -> None:
        self.root, self.force, self.log = Path(root), force, log
        self.steps = self.root / ".cache" / "steps"
        self.scripts = sorted(Path(scripts_dir).glob("[0-9][0-9]_*.py"))
        self.paths_py = Path(scripts_dir) / "paths.py"
        names = [s.stem for s in self.scripts]
        unknown = {k: [d for d in v if d not in names and v != EVERY_EARLIER] for k, v in depends.items()}
        unknown = {k: v for k, v in unknown.items() if v or k not in names}
        if unknown:
            raise ValueError(f"DEPENDS names scripts that do not exist: {unknown} (scripts: {names})")
        self.depends = {s: (names[:i] if depends.get(s) == EVERY_EARLIER else list(depends.get(s, ())))
                        for i, s in enumerate(names)}
        late = {s: [d for d in ds if names.index(d) >= names.index(s)] for s, ds in self.depends.items()}
        late = {s: d for s, d in late.items() if d}
        if late:
            raise ValueError(f"a script may depend only on scripts numbered before it: {late}")
        self.records = {}
        for s in self.scripts:
            path = self.steps / f"{s.stem}.json"
            if path.is_dir() and not path.is_symlink():  # a folder in a record's place: moved aside
                aside = path.with_name(f".{path.name}.moved-aside-{os.getpid()}")
                os.replace(path, aside)
                self.log(f"[reproduce] WARNING: record {path} is a directory: moved to {aside}, {s.name} reruns")
            elif os.path.lexists(path):
                rec, why = _load_record(path)
                if rec is None:
                    self.log(f"[reproduce] WARNING: record {path} {why}: not used, {s.name} reruns")
                else:
                    self.records[s.stem] = rec
        self._procs: set[subprocess.Popen] = set()
        self._procs_lock = threading.Lock()
        self._sha_memo: dict[tuple[str, int, int], str] = {}
        self._base = self._base_hash()

    # -- hashing -------------------------------------------------------------------------------
    def _sha(self, p: Path) -> str:
        st = p.stat()
        k = (str(p), st.st_size, st.st_mtime_ns)
        if k not in self._sha_memo:  # within one run a file is hashed again only when it changed
            self._sha_memo[k] = hashlib.sha256(p.read_bytes()).hexdigest()
        return self._sha_memo[k]

    def _files(self, dirs: tuple[str, ...]) -> list[Path]:
        out = []
        for d in dirs:
            base = self.root / d
            for p in sorted(base.rglob("*")) if base.is_dir() else ([base] if base.is_file() else []):
                rel = p.relative_to(self.root)
                if p.is_file() and "__pycache__" not in p.parts and not any(x.startswith(".") for x in rel.parts) \
                        and not p.name.endswith(SKIP_SUFFIXES) and "studies" not in rel.parts[:2] \
                        and str(rel) not in PROVENANCE_FILES:
                    out.append(p)
        return out

    def _base_hash(self) -> str:
        """What every script reads: paths.py, the package, raw data, validation outputs, wave configs."""
        h = hashlib.sha256(sys.version.encode())
        for p in [self.paths_py, *self._files(INPUT_DIRS)]:
            if p.is_file():
                h.update(str(p.relative_to(self.root)).encode() + b"\0" + self._sha(p).encode() + b"\n")
        return h.hexdigest()

    def _key(self, stem: str) -> str:
        script = next(s for s in self.scripts if s.stem == stem)
        h = hashlib.sha256((self._base + "\n" + self._sha(script)).encode())
        for dep in self.depends[stem]:
            for rel in sorted(self.records.get(dep, {}).get("outputs", {})):
                p = self.root / rel
                h.update(f"{dep}\0{rel}\0{self._sha(p) if p.is_file() else 'missing'}\n".encode())
        return h.hexdigest()

    def _current(self, rel: str) -> str | None:
        p = self.root / rel
        return self._sha(p) if p.is_file() else None

    def _rel_output(self, p: str) -> str | None:
        """``p`` relative to the root when it is an output file (under OUTPUT_DIRS, not provenance)."""
        try:
            rel = Path(p).resolve().relative_to(self.root.resolve())
        except ValueError:
            return None
        r = rel.as_posix()
        if not any(r == d or r.startswith(d + "/") for d in OUTPUT_DIRS) or r in PROVENANCE_FILES \
                or any(x.startswith(".") for x in rel.parts) or r.endswith(SKIP_SUFFIXES):
            return None
        return r if (self.root / rel).is_file() else None

    # -- one script ----------------------------------------------------------------------------
    def _spawn(self, script: Path) -> tuple[int, str, dict]:
        self.steps.mkdir(parents=True, exist_ok=True)
        fd, trace = tempfile.mkstemp(prefix=f".{script.stem}.", suffix=".trace.json", dir=self.steps)
        os.close(fd)
        wlog = Path(trace + ".writes")
        try:
            proc = subprocess.Popen([sys.executable, "-c", _BOOT, str(script)], cwd=self.root, text=True,
                                    env=dict(os.environ, IRMODELS_TRACE=trace), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            with self._procs_lock:
                self._procs.add(proc)
            try:
                out, err = proc.communicate()
            finally:
                with self._procs_lock:
                    self._procs.discard(proc)
            text = Path(trace).read_text(encoding="utf-8")
            traced = json.loads(text) if text.strip() else {"reads": [], "writes": []}
            # the write log survives a killed script (its trace does not): what it wrote before dying
            lines = wlog.read_text(encoding="utf-8").splitlines() if wlog.is_file() else []
            traced["writes"] = sorted(set(traced["writes"]) | {json.loads(x) for x in lines if x.strip()})
        finally:
            Path(trace).unlink(missing_ok=True)
            wlog.unlink(missing_ok=True)
        return proc.returncode, (out + err).rstrip(), traced

    def kill_children(self) -> None:
        """Kill the scripts still running (the runner was interrupted): none writes on after it."""
        with self._procs_lock:
            procs = list(self._procs)
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()

    def _discard_failed_writes(self, writes: list[str]) -> list[str]:
        """Remove what a failed script wrote under the output folders (like make's .DELETE_ON_ERROR)."""
        removed = []
        root = self.root.resolve()
        for p in writes:
            try:
                rel = Path(p).resolve().relative_to(root).as_posix()
            except ValueError:
                continue
            if any(rel.startswith(d + "/") for d in OUTPUT_DIRS) and rel not in PROVENANCE_FILES \
                    and (self.root / rel).is_file():
                (self.root / rel).unlink()
                removed.append(rel)
        return removed

    def step(self, stem: str, *upstream: str) -> str:
        """Run ``stem`` unless it is up to date or an input script failed; its status."""
        if any(u in ("failed", "skipped") for u in upstream):
            self.log(f"[reproduce] {stem}.py: skipped (a script it depends on failed)")
            return "skipped"
        rec = self.records.get(stem, {})
        key = self._key(stem)
        outputs_ok = all(self._current(k) == v for k, v in rec.get("outputs", {}).items())
        if not self.force and rec.get("inputs") == key and outputs_ok:
            self.log(f"[reproduce] {stem}.py: up to date")
            return "up to date"
        self.log(f"[reproduce] {stem}.py ...")
        t0 = time.perf_counter()
        rc, text, traced = self._spawn(next(s for s in self.scripts if s.stem == stem))
        dt = time.perf_counter() - t0
        body = "\n".join(f"  {line}" for line in text.splitlines())
        if rc != 0:
            (self.steps / f"{stem}.json").unlink(missing_ok=True)
            self.records.pop(stem, None)
            removed = self._discard_failed_writes(traced["writes"])
            how = f"killed by signal {-rc}" if rc < 0 else f"exit {rc}"
            self.log(f"[reproduce] FAILED: {stem}.py ({how}) after {dt:.1f} s"
                     + (f"; removed what it wrote: {', '.join(removed)}" if removed else "") + f"\n{body}")
            return "failed"
        writes = {r for p in traced["writes"] if (r := self._rel_output(p))}
        # a rerun keeps on record the earlier outputs it did not rewrite (e.g. the PDF without pdflatex)
        outputs = {k: c for k in sorted(set(rec.get("outputs", {})) | writes) if (c := self._current(k))}
        reads = sorted({r for p in traced["reads"] if (r := self._rel_output(p)) and r not in writes})
        self.records[stem] = {"inputs": key, "outputs": outputs, "reads": reads, "seconds": round(dt, 1)}
        _write_json_atomic(self.steps / f"{stem}.json", self.records[stem])
        self.log(f"[reproduce] {stem}.py done in {dt:.1f} s" + (f"\n{body}" if body else ""))
        return "ran"

    # -- the graph -----------------------------------------------------------------------------
    def run(self, workers: int) -> dict[str, str]:
        """Every script through Dask's threaded scheduler, ``workers`` at a time; status per script."""
        import dask

        tasks: dict[str, object] = {}
        for s in self.scripts:
            tasks[s.stem] = dask.delayed(self.step, pure=False, name=f"reproduce-{s.stem}")(
                s.stem, *[tasks[d] for d in self.depends[s.stem]])
        workers = parse_workers(workers, "workers")
        try:
            done = dask.compute(*tasks.values(), scheduler="threads", num_workers=min(workers, len(tasks) or 1))
        except BaseException:  # interrupted (Ctrl-C) or a bug in the runner: no script goes on writing
            self.kill_children()
            raise
        return dict(zip(tasks, done))

    def undeclared_reads(self) -> list[str]:
        """Reads of another script's outputs by a script that does not declare it (:data:`DEPENDS`)."""
        writer = {o: s for s, r in self.records.items() for o in r.get("outputs", {})}
        bad = []
        for s, r in sorted(self.records.items()):
            for f in r.get("reads", []):
                w = writer.get(f)
                if w and w != s and w not in self.depends.get(s, []):
                    bad.append(f"analyses/{s}.py reads {f}, written by analyses/{w}.py, which is not in "
                               f"DEPENDS[{s!r}] (analyses/run_all.py)")
        return bad


def exit_on_sigterm() -> None:
    """SIGTERM (a job scheduler, ``kill``) becomes SystemExit in the main thread, so that
    :meth:`Runner.run` kills the running scripts and removes what they wrote, as on Ctrl-C."""
    import signal

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="Run the analysis scripts (make reproduce).")
    ap.add_argument("--force", action="store_true", help="rerun every script")
    ap.add_argument("--workers", default=None, help="scripts run at once, a whole number >= 1 (default: the "
                    "environment variable IRMODELS_REPRODUCE_WORKERS, else the machine's cores)")
    args = ap.parse_args(argv)
    env = os.environ.get("IRMODELS_REPRODUCE_WORKERS", "")
    try:
        args.workers = (parse_workers(args.workers, "--workers") if args.workers is not None
                        else parse_workers(env, "IRMODELS_REPRODUCE_WORKERS") if env.strip() else os.cpu_count() or 1)
    except ValueError as exc:
        ap.error(str(exc))
    lock = threading.Lock()

    def log(msg: str) -> None:
        with lock:
            print(msg, flush=True)

    t_all = time.perf_counter()
    exit_on_sigterm()
    runner = Runner(ROOT, HERE, DEPENDS, force=args.force, log=log)
    status = runner.run(args.workers)
    total = time.perf_counter() - t_all
    failed = [s for s, v in status.items() if v == "failed"]
    bad = runner.undeclared_reads()
    for b in bad:
        log(f"[reproduce] UNDECLARED INPUT: {b}")
    counts = {v: sum(1 for x in status.values() if x == v) for v in ("ran", "up to date", "failed", "skipped")}
    if failed or bad:
        log(f"[reproduce] {counts}, {total:.1f} s; failed: {failed}")
        return 1
    # every script is now up to date with this code, so the outputs are this commit's: the manifest
    # is rewritten when anything ran or when it names another commit, version or dirty state
    stale = True
    if MANIFEST.is_file() and VERSION_TEX.is_file():
        try:
            old = json.loads(MANIFEST.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            old = None  # a damaged manifest is rewritten
        stale = not isinstance(old, dict) or any(old.get(k) != v for k, v in provenance().items())
    if counts["ran"] or args.force or stale:
        _write_manifest(runner.scripts)
    log(f"[reproduce] {len(status)} scripts, {counts['ran']} run, {counts['up to date']} up to date, {total:.1f} s "
        f"({args.workers} at a time); outputs in data/derived/, figures/, paper/generated/, results/; "
        f"provenance in {MANIFEST.relative_to(ROOT)}")
    return 0


MANIFEST = ROOT / "data" / "derived" / "manifest.json"
VERSION_TEX = ROOT / "paper" / "generated" / "version.tex"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


CODE_PATHS = ("irmodels", "analyses", "data/raw", "waves", "pyproject.toml")


def provenance() -> dict:
    """irmodels version, and the commit of the code that made the outputs: the last commit that
    changed the package, the analyses, the raw data, the wave configs or pyproject.toml (so that
    committing the outputs, or docs, does not make the provenance stale), ``dirty`` if the working
    tree differs from it there."""
    import importlib.metadata

    commit = (_git("log", "-1", "--format=%H", "--", *CODE_PATHS) or "unknown")[:12]
    dirty = bool(_git("status", "--porcelain", "--", *CODE_PATHS))
    return {"irmodels_version": importlib.metadata.version("irmodels"), "commit": commit, "dirty": dirty}


def _write_manifest(scripts: list[Path]) -> None:
    """data/derived/manifest.json: for every output, the script that wrote it, its sha256 and the hash of
    the script's inputs (source, package, raw data, earlier outputs), with version and commit; and
    paper/generated/version.tex (the paper prints both). These two files are provenance, not results:
    they change with the commit and are left out of `make check`'s comparison."""
    prov = provenance()
    steps = {}
    for script in scripts:
        rec, _ = _load_record(ROOT / ".cache" / "steps" / f"{script.stem}.json")
        if rec is not None:
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
