"""Reading the YAML files a user writes (mappings, wave configs, assumption sets), safely.

PyYAML's ``safe_load`` follows YAML 1.1, where ``NO`` (Norway), ``yes``, ``on`` and ``off``
are booleans and ``010`` is octal: ``Norway: NO`` silently becomes ``False``. User files are
read here with **YAML 1.2 core-schema scalars** instead: only ``true``/``false`` (any case
of those two words) are booleans, ``null``/``~``/empty are null, decimal integers and floats
are numbers, and everything else (``NO``, ``yes``, ``on``, ``Off``, ``y``) stays a string.

Three further rules make a file that could be misread an error, naming file and line:

* **duplicate keys** in one mapping (PyYAML keeps the last silently);
* **aliases and anchors** (``&a`` / ``*a``): not needed in configuration, and the way to
  write a "billion laughs" file that expands to gigabytes;
* files larger than :data:`MAX_BYTES` (10 MB) and nesting deeper than :data:`MAX_DEPTH`.

Nothing is ever constructed from a tag (``!!python/object`` and friends are errors): input
never becomes code.

:func:`load_yaml` returns plain Python data; :func:`key_lines` gives the line of each key,
so that later checks (e.g. "a boolean key where a code is expected") can name the line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from irmodels.core.errors import ConfigError, Problem

__all__ = ["line_of", "dotted_path", "load_yaml", "load_yaml_text", "key_lines", "MAX_BYTES", "MAX_DEPTH"]

MAX_BYTES = 10_000_000
MAX_DEPTH = 50

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")


_CORE_TAGS = {"!", "?"} | {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema implicit resolvers (see the module docstring)."""


# replace every implicit resolver by the core-schema ones
_Loader.yaml_implicit_resolvers = {}
for _tag, _rx, _first in [
    ("tag:yaml.org,2002:bool", _BOOL, list("tTfF")),
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789")),
    ("tag:yaml.org,2002:float", _INF, list("-+.")),
    ("tag:yaml.org,2002:float", _NAN, ["."]),
]:
    _Loader.add_implicit_resolver(_tag, _rx, _first)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    return int(loader.construct_scalar(node))  # decimal only: "010" is 10, never octal


def _construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)


def _where(name: str, node: yaml.Node) -> dict[str, Any]:
    return {"file": name, "row": node.start_mark.line + 1}


def _check_tree(node: yaml.Node, name: str, problems: list[Problem], depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        problems.append(Problem(f"nesting deeper than {MAX_DEPTH} levels", **_where(name, node)))
        return
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                if k.value in seen:
                    problems.append(Problem(
                        f"duplicate key (first on line {seen[k.value]}); YAML would keep only the last",
                        value=k.value, **_where(name, k)))
                else:
                    seen[k.value] = k.start_mark.line + 1
            _check_tree(k, name, problems, depth + 1)
            _check_tree(v, name, problems, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            _check_tree(v, name, problems, depth + 1)


def _events_check(text: str, name: str) -> list[Problem]:
    problems: list[Problem] = []
    for ev in yaml.parse(text, Loader=_Loader):
        if isinstance(ev, yaml.AliasEvent):
            problems.append(Problem("YAML aliases (*name) are not allowed in configuration files",
                                    value=f"*{ev.anchor}", file=name, row=ev.start_mark.line + 1))
        elif getattr(ev, "anchor", None):
            problems.append(Problem("YAML anchors (&name) are not allowed in configuration files",
                                    value=f"&{ev.anchor}", file=name, row=ev.start_mark.line + 1))
        tag = getattr(ev, "tag", None)
        if tag and tag not in _CORE_TAGS:
            problems.append(Problem("explicit YAML tags are not allowed (input never becomes code)",
                                    value=tag, file=name, row=ev.start_mark.line + 1))
    return problems


def load_yaml_text(text: str, name: str = "<string>") -> Any:
    """Parse YAML text with the rules of the module docstring.

    Parameters
    ----------
    text : str
        The YAML document.
    name : str
        The file name used in error messages.

    Returns
    -------
    Any
        Plain Python data (dict, list, str, int, float, bool, None).

    Raises
    ------
    ConfigError
        For a syntax error, a duplicate key, an alias or anchor, an explicit tag, a document
        larger than :data:`MAX_BYTES` or deeper than :data:`MAX_DEPTH`; every problem of the
        file at once, each with its line.
    """
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise ConfigError([Problem(f"file larger than {MAX_BYTES} bytes", file=name)])
    try:
        problems = _events_check(text, name)
        if problems:
            raise ConfigError(problems)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError([Problem(f"not valid YAML: {getattr(e, 'problem', None) or e}", file=name,
                                   row=None if mark is None else mark.line + 1)]) from None
    if node is None:
        return None
    _check_tree(node, name, problems)
    if problems:
        raise ConfigError(problems)
    loader = _Loader("")
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError([Problem(f"cannot read value: {getattr(e, 'problem', None) or e}", file=name,
                                   row=None if mark is None else mark.line + 1)]) from None
    finally:
        loader.dispose()


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file with the rules of the module docstring (see :func:`load_yaml_text`)."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise ConfigError([Problem(f"cannot read file: {e.strerror}", file=str(p))]) from None
    if size > MAX_BYTES:
        raise ConfigError([Problem(f"file larger than {MAX_BYTES} bytes", file=str(p), value=size)])
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError([Problem(f"not UTF-8 text ({e.reason} at byte {e.start})", file=str(p))]) from None
    return load_yaml_text(text, str(p))


def key_lines(text: str) -> dict[tuple, int]:
    """Line (1-based) of every mapping key, by its path of keys from the root.

    Parameters
    ----------
    text : str
        The YAML document (already accepted by :func:`load_yaml_text`).

    Returns
    -------
    dict
        ``{("columns", "country", "codes", "NO"): 12, ...}``; list items are path elements
        given by their index.
    """
    out: dict[tuple, int] = {}
    root = yaml.compose(text, Loader=_Loader)

    def walk(node: yaml.Node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else str(k)
                out[path + (key,)] = k.start_mark.line + 1
                walk(v, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                out[path + (i,)] = v.start_mark.line + 1
                walk(v, path + (i,))

    if root is not None:
        walk(root, ())
    return out


def line_of(lines: dict[tuple, int], path: tuple | list) -> int | None:
    """The line of the innermost key of ``path`` that :func:`key_lines` knows (walking up the path).

    A JSON-Schema error's ``absolute_path`` often ends below the last key with a line (a list
    item, a missing key); its nearest ancestor is the line to show. None when no ancestor has one.
    """
    path = tuple(path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def dotted_path(path: tuple | list) -> str:
    """A key path as a reader writes it: ``models.specs[0].outcome`` (list indexes in brackets)."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) and not isinstance(p, bool) else (f".{p}" if out else str(p))
    return out

