"""pyproject.toml and the package's imports agree: every declared dependency is used, and every
third-party module the package imports is declared (issue 11, item 6)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: distribution name -> modules it provides (where they differ)
MODULES = {"pyyaml": {"yaml"}, "dask": {"dask", "distributed"}}
#: dependencies used without an import statement, with the line of code that uses them
USED_BY_NAME = {"h5netcdf": 'engine="h5netcdf"',
                "h5py": 'engine="h5netcdf"'}  # h5netcdf's backend; h5netcdf does not require it
#: modules imported by the package that come with a declared dependency (not declared themselves)
TRANSITIVE = {"xarray": "arviz and pymc (their results are xarray objects)",
              "pytensor": "pymc (its tensor library)"}


def _declared() -> dict[str, set[str]]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    out = {}
    for req in meta["dependencies"]:
        name = re.split(r"[\[<>=!~ ;]", req, maxsplit=1)[0].strip().lower()
        out[name] = MODULES.get(name, {name.replace("-", "_")})
    return out


def _imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for p in sorted((ROOT / "irmodels").rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for n in names:
                found.setdefault(n.split(".")[0], set()).add(str(p.relative_to(ROOT)))
    return found


def test_every_declared_dependency_is_used():
    imports = _imports()
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "irmodels").rglob("*.py"))
    unused = []
    for dist, mods in _declared().items():
        if dist in USED_BY_NAME:
            assert USED_BY_NAME[dist] in source, f"{dist}: expected {USED_BY_NAME[dist]!r} in the package"
            continue
        if not mods & set(imports):
            unused.append(dist)
    assert not unused, f"declared in pyproject.toml but imported nowhere in irmodels/: {unused}"


def test_every_third_party_import_is_declared():
    declared = set().union(*_declared().values())
    third = {m for m in _imports() if m not in sys.stdlib_module_names and m != "irmodels"}
    undeclared = sorted(third - declared - set(TRANSITIVE))
    assert not undeclared, f"imported by irmodels/ but not declared in pyproject.toml: {undeclared}"
