"""SIGTERM and SIGINT during a write leave no temporary file and no half-written output (issue 12, item 4).

A child process runs the ``irmodels`` command (or :func:`irmodels.figures.style.save_figure`) with
a slow writer monkeypatched in: it writes half of the file, says where (the temporary file, which
the parent checks exists and is partial), and sleeps. The parent then sends the signal and checks
the exit status (128 + signal), the message, that no temporary file remains, and that the target
is absent (or, when it existed before, still holds its previous complete content). A control run
without a signal completes, so the harness itself is shown to write the file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

ROOT = Path(__file__).resolve().parents[1]

SLOW_OPEN = textwrap.dedent("""
    import builtins, sys, time
    import irmodels.core.io

    _open = builtins.open

    class _Slow:
        # a file whose write() writes half, reports the (temporary) path, then sleeps
        def __init__(self, fh, path):
            self.fh, self.path = fh, path
        def write(self, text):
            half = len(text) // 2
            self.fh.write(text[:half])
            self.fh.flush()
            print("WRITING", self.path, half, flush=True)
            time.sleep(float(sys.argv[1]))
            return self.fh.write(text[half:]) + half
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.fh.__exit__(*exc)

    def slow_open(file, mode="r", *a, **k):
        fh = _open(file, mode, *a, **k)
        return _Slow(fh, file) if "w" in mode else fh

    irmodels.core.io.open = slow_open  # the name write_text_atomic looks up
""")

CLI_CHILD = SLOW_OPEN + textwrap.dedent("""
    from irmodels.cli import main
    sys.exit(main(sys.argv[2:]))
""")

FIGURE_CHILD = textwrap.dedent("""
    import sys, time
    from matplotlib.figure import Figure
    from irmodels.cli import signals_as_exceptions
    from irmodels.figures.style import save_figure

    real = Figure.savefig

    def slow_savefig(self, fname, *a, **k):
        real(self, fname, *a, **k)           # the complete bytes of this format ...
        with open(fname, "r+b") as fh:       # ... cut in half: a partial file, as mid-write
            data = fh.read()
            fh.seek(0); fh.truncate(); fh.write(data[: len(data) // 2]); fh.flush()
        print("WRITING", fname, len(data) // 2, flush=True)
        time.sleep(float(sys.argv[1]))
        real(self, fname, *a, **k)

    Figure.savefig = slow_savefig
    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    with signals_as_exceptions():
        try:
            save_figure(fig, sys.argv[2])
        except BaseException as exc:
            print("STOPPED", type(exc).__name__, flush=True)
            sys.exit(143)
""")


def _restore_sigint() -> None:
    # a job started in the background by a non-interactive shell (CI, nohup ... &) inherits SIGINT
    # ignored, and Python keeps it ignored; the child of these tests stands for a terminal user
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _start(script: str, sleep: float, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    return subprocess.Popen([sys.executable, "-c", script, str(sleep), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_restore_sigint)


def _wait_for_write(proc: subprocess.Popen) -> tuple[Path, int]:
    line = proc.stdout.readline()
    assert line.startswith("WRITING"), (line, proc.stderr.read() if proc.poll() is not None else "")
    _, path, size = line.split()
    return Path(path), int(size)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp"))


@pytest.mark.parametrize("sig,status,word", [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "interrupted")])
def test_signal_during_a_cli_write_leaves_no_temp_file(tmp_path, sig, status, word):
    out = tmp_path / "ens.csv"
    proc = _start(CLI_CHILD, 60, "reconstruct", "--k", "3", "--seed", "1", "--out", str(out))
    tmp, half = _wait_for_write(proc)
    # mid-write: a partial temporary file next to the target, no target yet
    assert tmp.parent == tmp_path and tmp.name.startswith(".ens.csv.") and tmp.name.endswith(".tmp")
    assert tmp.stat().st_size == half > 0 and not out.exists()
    proc.send_signal(sig)
    rc = proc.wait(timeout=60)
    err = proc.stderr.read()
    assert rc == status, err
    assert word in err and "Traceback" not in err, err
    assert _leftovers(tmp_path) == [] and not out.exists()


def test_sigterm_during_an_overwrite_keeps_the_previous_file(tmp_path):
    out = tmp_path / "ens.csv"
    out.write_text("previous,complete\n1,2\n", encoding="utf-8")
    proc = _start(CLI_CHILD, 60, "reconstruct", "--k", "3", "--seed", "1", "--out", str(out))
    _wait_for_write(proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    assert _leftovers(tmp_path) == []
    assert out.read_text(encoding="utf-8") == "previous,complete\n1,2\n"


def test_control_without_a_signal_writes_the_complete_file(tmp_path):
    import pandas as pd

    from irmodels.core.io import write_table_atomic
    from irmodels.identification.reconstruction import reconstruct

    out = tmp_path / "ens.csv"
    proc = _start(CLI_CHILD, 0, "reconstruct", "--k", "3", "--seed", "1", "--out", str(out))
    _wait_for_write(proc)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    assert _leftovers(tmp_path) == []
    got = pd.read_csv(out)
    assert len(got) == 3 * 98 and list(got["replicate"].unique()) == [0, 1, 2]
    # the same bytes as the library's own table written without the slow writer (same seed)
    ref = write_table_atomic(reconstruct(3, 1), tmp_path / "ref.csv")
    assert out.read_bytes() == ref.read_bytes()


@pytest.mark.parametrize("sleep,status", [(60, 143), (0, 0)])
def test_sigterm_during_save_figure_leaves_no_temp_file(tmp_path, sleep, status):
    target = tmp_path / "fig"
    proc = _start(FIGURE_CHILD, sleep, str(target))
    tmp, half = _wait_for_write(proc)
    assert tmp.parent == tmp_path and tmp.name.startswith(".fig.pdf.") and tmp.name.endswith(".tmp")
    if sleep:
        assert tmp.stat().st_size == half > 0  # a partial temporary file, mid-write
        proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=120)
    out = proc.stdout.read()
    assert rc == status, proc.stderr.read()
    assert _leftovers(tmp_path) == []
    if status:
        assert "STOPPED Terminated" in out
        assert not (tmp_path / "fig.pdf").exists() and not (tmp_path / "fig.png").exists()
    else:  # control: both formats complete (the PNG run also reports its half-write)
        assert (tmp_path / "fig.pdf").read_bytes().startswith(b"%PDF") and (tmp_path / "fig.pdf").read_bytes(
        ).rstrip().endswith(b"%%EOF")
        assert (tmp_path / "fig.png").read_bytes().startswith(b"\x89PNG")
