"""The flat public API: every exported name resolves; import has no side effects."""

from __future__ import annotations

import subprocess
import sys

import irmodels


def test_every_export_resolves():
    for name in irmodels.__all__:
        assert getattr(irmodels, name) is not None, name


def test_import_is_light_and_silent():
    code = "import sys, irmodels; print('pymc' in sys.modules, 'matplotlib' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.split() == ["False", "False"] and proc.stderr == ""
