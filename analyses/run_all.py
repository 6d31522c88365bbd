"""Run every analysis script in order (``make reproduce``).

Scripts are ``analyses/NN_name.py``; each writes one product. A failing script
stops the run with its name and exit status (its own output is atomic).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))
    for script in scripts:
        t0 = time.perf_counter()
        print(f"[reproduce] {script.name} ...", flush=True)
        proc = subprocess.run([sys.executable, str(script)], cwd=HERE.parent)
        dt = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"[reproduce] FAILED: {script.name} (exit {proc.returncode}) after {dt:.1f} s", file=sys.stderr)
            return proc.returncode
        print(f"[reproduce] {script.name} done in {dt:.1f} s", flush=True)
    print(f"[reproduce] {len(scripts)} scripts ran; outputs in data/derived/, figures/, paper/generated/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
