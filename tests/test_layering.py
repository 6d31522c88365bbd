"""The package layout of ARCHITECTURE.md: layers, no import cycles, units a reader can hold.

* Layers and cycles are import-linter contracts (``[tool.importlinter]`` in ``pyproject.toml``):
  lower layers never import higher ones, and no two modules of any package import each other
  (directly or through others). Function-level imports count. The checker is checked too: a
  copy of the package with one upward import, and one with a cycle, must break the contracts.
* Size limits: no module over :data:`MAX_MODULE_LINES` lines and no function over
  :data:`MAX_FUNCTION_LINES` lines of code (its docstring not counted); any exception is named
  in :data:`SIZE_EXCEPTIONS` and justified in ``ARCHITECTURE.md`` ("Size exceptions").
* Every subpackage's ``__init__`` docstring says what it owns; nothing in the package imports
  the root ``irmodels`` (the lazy public API is for users, not for the layers).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "irmodels"
LINT = Path(sys.executable).with_name("lint-imports")

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

#: ``"module path"`` or ``"module path::function"`` -> current size; each is named and justified
#: in ARCHITECTURE.md. The test fails when an entry is no longer over its limit (remove it then).
SIZE_EXCEPTIONS: dict[str, int] = {}


def _lint(cwd: Path, env_path: Path | None = None) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ)
    if env_path is not None:
        env["PYTHONPATH"] = str(env_path)
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True, env=env)


def test_contracts_kept():
    proc = _lint(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A copy of the package and its contracts in a folder of its own (put first on the path)."""
    shutil.copytree(PKG, tmp_path / "irmodels", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _append(path: Path, code: str) -> None:
    path.write_text(path.read_text() + "\n\n" + code + "\n")


def test_checker_fails_on_upward_import(package_copy: Path):
    # a function-level import from the base layer into the command line: the highest layer
    _append(package_copy / "irmodels" / "core" / "errors.py",
            "def _bad():\n    from irmodels.cli import main\n    return main")
    proc = _lint(package_copy, env_path=package_copy)
    assert proc.returncode != 0
    assert "lower layers never import higher ones BROKEN" in proc.stdout
    assert "irmodels.core.errors -> irmodels.cli" in proc.stdout


def test_checker_fails_on_cycle(package_copy: Path):
    # schema is imported by mapping; an import back from schema closes a cycle inside irmodels.data
    _append(package_copy / "irmodels" / "data" / "schema.py",
            "def _bad():\n    from irmodels.data.mapping import load_mapping\n    return load_mapping")
    proc = _lint(package_copy, env_path=package_copy)
    assert proc.returncode != 0
    assert "no import cycles between the modules of any package BROKEN" in proc.stdout
    assert "irmodels.data" in proc.stdout


def _code_lines(node: ast.AST) -> int:
    n = node.end_lineno - node.lineno + 1
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        n -= body[0].end_lineno - body[0].lineno + 1
    return n


def size_problems(root: Path, package: str = "irmodels") -> dict[str, int]:
    """Every module over MAX_MODULE_LINES and function over MAX_FUNCTION_LINES (code lines)."""
    out: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        text = path.read_text(encoding="utf-8")
        n = len(text.splitlines())
        if n > MAX_MODULE_LINES:
            out[rel] = n
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                k = _code_lines(node)
                if k > MAX_FUNCTION_LINES:
                    out[f"{rel}::{node.name}"] = k
    return out


def test_size_limits():
    found = size_problems(PKG)
    new = {k: v for k, v in found.items() if k not in SIZE_EXCEPTIONS}
    assert not new, f"over the size limits (split along a seam, or name and justify in ARCHITECTURE.md): {new}"
    stale = [k for k in SIZE_EXCEPTIONS if k not in found]
    assert not stale, f"no longer over the limit, remove from SIZE_EXCEPTIONS: {stale}"
    arch = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    unnamed = [k for k in SIZE_EXCEPTIONS if f"`{k}`" not in arch]
    assert not unnamed, f"size exceptions not justified in ARCHITECTURE.md: {unnamed}"


def test_size_checker_finds_long_units(tmp_path: Path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))  # + def line = limit + 1
    (pkg / "long.py").write_text(f'def f():\n    """Doc.\n\n    More.\n    """\n{body}\n')
    (pkg / "ok.py").write_text('def g():\n    """Doc."""\n' + "\n".join(f"    y{i} = {i}" for i in range(10)) + "\n")
    (pkg / "big.py").write_text("\n".join(f"z{i} = {i}" for i in range(MAX_MODULE_LINES + 1)) + "\n")
    found = size_problems(pkg, "pkg")
    assert found == {"pkg/long.py::f": MAX_FUNCTION_LINES + 1, "pkg/big.py": MAX_MODULE_LINES + 1}


def test_no_package_module_imports_the_root():
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        if path == PKG / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(a.name == "irmodels" for a in node.names):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "irmodels":
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders, offenders


def test_every_subpackage_says_what_it_owns():
    subpackages = sorted(p.parent for p in PKG.rglob("__init__.py") if p.parent != PKG)
    assert {p.name for p in subpackages} >= {"core", "data", "published", "nonresponse", "identification",
                                            "models", "studies", "figures", "pipeline", "cli"}
    arch = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for p in subpackages:
        doc = ast.get_docstring(ast.parse((p / "__init__.py").read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"{p.relative_to(REPO)}/__init__.py has no docstring saying what it owns"
        assert f"irmodels/{p.relative_to(PKG).as_posix()}/" in arch, f"{p.name} missing from ARCHITECTURE.md"
