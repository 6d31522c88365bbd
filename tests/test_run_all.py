"""analyses/run_all.py (``make reproduce``): the scripts as a Dask graph of declared inputs.

Checked on a toy project of five scripts: independent scripts run at the same time with two
workers (their run intervals overlap) and one after the other with one; a second run does
nothing; a changed script reruns alone when its outputs come out the same; a failing script
stops the scripts that depend on it and only them; an undeclared read of another script's
output is reported with the file and its writer.
"""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("run_all", HERE.parent / "analyses" / "run_all.py")
run_all = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_all)

WRITE = """
import os, sys, time
from pathlib import Path
from paths import ROOT

def write(rel, text):
    p = ROOT / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name("." + p.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, p)

def stamp(name):
    (ROOT / "stamps").mkdir(exist_ok=True)
    (ROOT / "stamps" / f"{name}.start").write_text(repr(time.time()))
    time.sleep(0.6)
    (ROOT / "stamps" / f"{name}.end").write_text(repr(time.time()))
"""

SCRIPTS = {
    "10_a": 'stamp("a"); write("data/derived/a.csv", "x\\n1\\n")',
    "11_b": 'stamp("b"); write("data/derived/b.csv", "y\\n2\\n")',
    "20_c": 'write("data/derived/c.csv", (ROOT / "data/derived/a.csv").read_text() + "3\\n")',
    "30_fail": 'sys.exit("this script fails")',
    "40_after_fail": 'write("results/d.csv", "never\\n")',
}
DEPENDS = {"20_c": ("10_a",), "40_after_fail": ("30_fail",)}


def _project(tmp_path: Path, scripts: dict[str, str] = SCRIPTS) -> Path:
    an = tmp_path / "analyses"
    an.mkdir()
    (an / "paths.py").write_text("from pathlib import Path\nROOT = Path(__file__).resolve().parents[1]\n")
    for name, body in scripts.items():
        (an / f"{name}.py").write_text(textwrap.dedent(WRITE) + "\nif __name__ == '__main__':\n    " + body + "\n")
    return an


def _run(tmp_path: Path, workers: int, depends=None, **kw) -> tuple[dict, object, list[str]]:
    lines: list[str] = []
    names = {p.stem for p in (tmp_path / "analyses").glob("[0-9]*.py")}
    depends = {k: v for k, v in DEPENDS.items() if k in names} if depends is None else depends
    r = run_all.Runner(tmp_path, tmp_path / "analyses", depends, log=lines.append, **kw)
    return r.run(workers), r, lines


def _interval(tmp_path: Path, name: str) -> tuple[float, float]:
    return tuple(float((tmp_path / "stamps" / f"{name}.{e}").read_text()) for e in ("start", "end"))


@pytest.mark.parametrize("workers", [1, 2])
def test_graph_runs_declared_order_in_parallel_and_stops_only_dependents(tmp_path, workers):
    _project(tmp_path)
    status, runner, lines = _run(tmp_path, workers)
    assert status == {"10_a": "ran", "11_b": "ran", "20_c": "ran", "30_fail": "failed", "40_after_fail": "skipped"}
    assert (tmp_path / "data/derived/c.csv").read_text() == "x\n1\n3\n"  # 20_c ran after 10_a
    assert not (tmp_path / "results/d.csv").exists()
    assert any("FAILED: 30_fail.py (exit 1)" in m and "this script fails" in m for m in lines)
    (a0, a1), (b0, b1) = _interval(tmp_path, "a"), _interval(tmp_path, "b")
    overlap = min(a1, b1) > max(a0, b0)
    assert overlap == (workers == 2)  # independent scripts side by side only with two workers
    rec = json.loads((tmp_path / ".cache/steps/20_c.json").read_text())
    assert list(rec["outputs"]) == ["data/derived/c.csv"] and rec["reads"] == ["data/derived/a.csv"]
    assert runner.undeclared_reads() == []


def test_second_run_is_up_to_date_and_a_change_reruns_what_it_affects(tmp_path):
    an = _project(tmp_path, {k: v for k, v in SCRIPTS.items() if "fail" not in k})
    _run(tmp_path, 2)
    status, _, _ = _run(tmp_path, 2)
    assert set(status.values()) == {"up to date"}
    # same outputs: only the edited script reruns
    (an / "10_a.py").write_text((an / "10_a.py").read_text() + "# a comment\n")
    status, _, _ = _run(tmp_path, 2)
    assert status == {"10_a": "ran", "11_b": "up to date", "20_c": "up to date"}
    # changed outputs: the script that reads them reruns too
    (an / "10_a.py").write_text((an / "10_a.py").read_text().replace('"x\\n1\\n"', '"x\\n5\\n"'))
    status, _, _ = _run(tmp_path, 2)
    assert status == {"10_a": "ran", "11_b": "up to date", "20_c": "ran"}
    assert (tmp_path / "data/derived/c.csv").read_text() == "x\n5\n3\n"
    # a deleted or edited output makes its script rerun
    (tmp_path / "data/derived/b.csv").write_text("tampered\n")
    status, _, _ = _run(tmp_path, 2)
    assert status["11_b"] == "ran" and (tmp_path / "data/derived/b.csv").read_text() == "y\n2\n"


def test_undeclared_read_of_another_scripts_output_is_reported(tmp_path):
    an = _project(tmp_path, {k: v for k, v in SCRIPTS.items() if "fail" not in k})
    _run(tmp_path, 1)
    (an / "20_c.py").write_text((an / "20_c.py").read_text() + "# edited\n")
    status, runner, _ = _run(tmp_path, 1, depends={})  # 20_c reads a.csv without declaring 10_a
    assert status == {"10_a": "up to date", "11_b": "up to date", "20_c": "ran"}
    assert runner.undeclared_reads() == [
        "analyses/20_c.py reads data/derived/a.csv, written by analyses/10_a.py, which is not in "
        "DEPENDS['20_c'] (analyses/run_all.py)"]


def test_depends_must_name_earlier_existing_scripts(tmp_path):
    _project(tmp_path, {k: v for k, v in SCRIPTS.items() if "fail" not in k})
    with pytest.raises(ValueError, match="do not exist.*'20_c': \\['09_missing'\\]"):
        run_all.Runner(tmp_path, tmp_path / "analyses", {"20_c": ("09_missing",)})
    with pytest.raises(ValueError, match="numbered before it"):
        run_all.Runner(tmp_path, tmp_path / "analyses", {"10_a": ("20_c",)})


def test_the_shipped_graph_is_valid_and_the_paper_comes_last():
    r = run_all.Runner(run_all.ROOT, run_all.HERE, run_all.DEPENDS, log=lambda m: None)
    names = [s.stem for s in r.scripts]
    assert r.depends["99_paper_pdf"] == names[:-1]  # the paper waits for every other script
    assert "30_model_results" in r.depends["40_waves"]  # the waves re-use the cached fits of 30


# -- hostile input: worker counts, damaged records, killed scripts -------------------------------------------------

@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5", "", "2 workers", "1e9"])
def test_bad_worker_counts_are_refused_naming_value_and_rule(value, monkeypatch, capsys):
    def must_not_run(*a, **k):  # were the value accepted, main() would run the real analyses: fail instead
        raise AssertionError(f"main() accepted workers {value!r} and started the runner")

    monkeypatch.setattr(run_all, "Runner", must_not_run)
    monkeypatch.delenv("IRMODELS_REPRODUCE_WORKERS", raising=False)
    with pytest.raises(SystemExit) as exc:  # refused before any script is looked at
        run_all.main(["--workers", value])
    assert exc.value.code == 2
    assert f"--workers={value!r}: the number of scripts run at once must be a whole number >= 1" in \
        capsys.readouterr().err
    monkeypatch.setenv("IRMODELS_REPRODUCE_WORKERS", value)
    if value.strip():  # an empty variable means unset
        with pytest.raises(SystemExit):
            run_all.main([])
        assert f"IRMODELS_REPRODUCE_WORKERS={value!r}: the number" in capsys.readouterr().err


def test_worker_counts_accepted_and_capped(tmp_path):
    assert [run_all.parse_workers(v, "w") for v in ("1", " 2 ", 3, "10000000000000")] == [1, 2, 3, 10**13]
    for bad in (0, -1, True, 2.5, None):
        with pytest.raises(ValueError, match=f"w={bad!r}: the number of scripts run at once must be a whole"):
            run_all.parse_workers(bad, "w")
    _project(tmp_path, {k: v for k, v in SCRIPTS.items() if k in ("10_a", "11_b")})
    status, _, _ = _run(tmp_path, 10**13)  # a huge count runs as many scripts at once as there are
    assert status == {"10_a": "ran", "11_b": "ran"}
    (a0, a1), (b0, b1) = _interval(tmp_path, "a"), _interval(tmp_path, "b")
    assert min(a1, b1) > max(a0, b0)
    with pytest.raises(ValueError, match="workers=0: the number"):
        _run(tmp_path, 0)


@pytest.mark.parametrize("damage", ["{not json", "", "\xff\xfe", '["a list"]', '{"inputs": 1, "outputs": {}}',
                                    '{"inputs": "k", "outputs": ["data/derived/a.csv"]}', "directory"])
def test_damaged_record_makes_only_its_script_rerun(tmp_path, damage):
    _project(tmp_path, {k: v for k, v in SCRIPTS.items() if "fail" not in k})
    _run(tmp_path, 1)
    rec = tmp_path / ".cache/steps/10_a.json"
    if damage == "directory":
        rec.unlink()
        (rec / "x").mkdir(parents=True)
    else:
        rec.write_bytes(damage.encode("latin-1"))
    status, _, lines = _run(tmp_path, 1)
    assert status == {"10_a": "ran", "11_b": "up to date", "20_c": "up to date"}  # same output: 20_c stays
    assert any(f"record {rec}" in m and "10_a.py reruns" in m for m in lines)
    assert json.loads(rec.read_text())["outputs"] == {"data/derived/a.csv": run_all.hashlib.sha256(b"x\n1\n").hexdigest()}
    assert set(_run(tmp_path, 1)[0].values()) == {"up to date"}


KILLED = """
if (ROOT / "kill").exists():
        write("data/derived/k1.csv", "complete\\n")
        with open(ROOT / "results/half.csv", "w") as fh:
            fh.write("x,y\\n1,")
            fh.flush()
        (ROOT / "data/derived/.k2.csv.tmp").write_text("half")  # an atomic writer's temporary file
        os.kill(os.getpid(), 9)
    write("data/derived/k1.csv", "complete\\n")
    write("results/half.csv", "x,y\\n1,2\\n")"""


def test_killed_script_leaves_nothing_half_written_and_reruns(tmp_path):
    _project(tmp_path, {"10_a": SCRIPTS["10_a"], "12_k": KILLED.strip(), "20_c": SCRIPTS["20_c"]})
    (tmp_path / "results").mkdir()
    status, _, _ = _run(tmp_path, 2, depends={"20_c": ("10_a",)})
    assert status == {"10_a": "ran", "12_k": "ran", "20_c": "ran"}
    (tmp_path / "kill").write_text("")
    (tmp_path / "analyses/12_k.py").write_text((tmp_path / "analyses/12_k.py").read_text() + "# edited\n")
    status, _, lines = _run(tmp_path, 2, depends={"20_c": ("10_a",)})
    assert status == {"10_a": "up to date", "12_k": "failed", "20_c": "up to date"}
    msg = next(m for m in lines if "FAILED: 12_k.py" in m)
    assert "killed by signal 9" in msg and "removed what it wrote: " in msg
    for rel in ("data/derived/k1.csv", "results/half.csv", "data/derived/.k2.csv.tmp"):
        assert not (tmp_path / rel).exists(), rel
    assert not (tmp_path / ".cache/steps/12_k.json").exists()
    assert not [p for p in (tmp_path / ".cache/steps").iterdir() if p.name.startswith(".")]  # no trace left
    (tmp_path / "kill").unlink()
    status, _, _ = _run(tmp_path, 2, depends={"20_c": ("10_a",)})
    assert status == {"10_a": "up to date", "12_k": "ran", "20_c": "up to date"}
    assert (tmp_path / "results/half.csv").read_text() == "x,y\n1,2\n"
    assert set(_run(tmp_path, 2, depends={"20_c": ("10_a",)})[0].values()) == {"up to date"}


def test_interrupted_runner_kills_its_scripts(tmp_path):
    import threading
    import time

    _project(tmp_path, {"10_slow": 'write("results/s.csv", "a\\n"); time.sleep(60); write("results/s.csv", "b\\n")'})
    lines: list[str] = []
    runner = run_all.Runner(tmp_path, tmp_path / "analyses", {}, log=lines.append)
    out: dict = {}
    t = threading.Thread(target=lambda: out.update(runner.run(1)))
    t.start()
    for _ in range(200):
        if (tmp_path / "results/s.csv").exists():
            break
        time.sleep(0.05)
    t0 = time.perf_counter()
    runner.kill_children()
    t.join(30)
    assert time.perf_counter() - t0 < 10 and out == {"10_slow": "failed"}
    assert not (tmp_path / "results/s.csv").exists()


def test_sigterm_kills_the_scripts_and_removes_their_writes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    _project(tmp_path, {"10_slow": 'Path(ROOT / "pid").write_text(str(os.getpid())); write("results/s.csv", "a\\n"); '
                                   'time.sleep(60); write("results/s.csv", "b\\n")'})
    driver = (f"import importlib.util, sys; spec = importlib.util.spec_from_file_location('run_all', "
              f"{str(HERE.parent / 'analyses' / 'run_all.py')!r}); m = importlib.util.module_from_spec(spec); "
              f"spec.loader.exec_module(m); m.exit_on_sigterm(); from pathlib import Path; "
              f"m.Runner(Path({str(tmp_path)!r}), Path({str(tmp_path / 'analyses')!r}), {{}}).run(1)")
    proc = subprocess.Popen([sys.executable, "-c", driver], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(400):
        if (tmp_path / "results/s.csv").exists() and (tmp_path / "pid").exists():
            break
        time.sleep(0.05)
    child = int((tmp_path / "pid").read_text())
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    for _ in range(100):  # the script was killed with the runner, and what it wrote was removed
        if not Path(f"/proc/{child}").exists():
            break
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists()
    assert not (tmp_path / "results/s.csv").exists()
    assert not (tmp_path / ".cache/steps/10_slow.json").exists()
