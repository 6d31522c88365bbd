"""The codebook: the canonical variables, their types and category codes.

``irmodels/data/codebook.yaml`` is the single source of truth; the schema, the
published-data loader and the generated ``docs/codebook.md`` all read it.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

__all__ = ["load_codebook", "categories", "codebook_markdown", "COUNTRY_NAMES"]

# English short names of the 2017 (Table 1) countries, for display (ISO 3166-1 alpha-2 keys).
COUNTRY_NAMES: dict[str, str] = {
    "DE": "Germany", "TR": "Turkey", "AT": "Austria", "HR": "Croatia", "FR": "France", "ES": "Spain",
    "IE": "Ireland", "IT": "Italy", "GB": "United Kingdom", "BG": "Bulgaria", "CH": "Switzerland",
    "RO": "Romania", "IL": "Israel", "KZ": "Kazakhstan", "NL": "Netherlands", "SE": "Sweden",
    "SI": "Slovenia", "DK": "Denmark", "EE": "Estonia", "FI": "Finland", "SK": "Slovakia",
    "BY": "Belarus", "LT": "Lithuania", "RU": "Russia",
}


@functools.cache
def _load() -> dict[str, Any]:
    text = resources.files("irmodels.data").joinpath("codebook.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_codebook() -> dict[str, dict[str, Any]]:
    """Return the codebook as ``{variable: {group, type, label, categories, ...}}``.

    Returns
    -------
    dict
        A deep copy of ``irmodels/data/codebook.yaml``'s ``variables`` mapping, in
        codebook order. ``categories`` (when present) is a list of dicts with
        keys ``code``, ``label`` and optionally ``lower``/``upper``.

    Examples
    --------
    >>> cb = load_codebook()
    >>> [c["code"] for c in cb["beds_class"]["categories"]]
    ['<200', '200-399', '400-799', '>=800']
    """
    import copy

    return copy.deepcopy(_load()["variables"])


def categories(variable: str) -> list[str]:
    """Category codes of a categorical variable, in codebook order.

    Raises
    ------
    KeyError
        If ``variable`` is not in the codebook or has no categories; the
        message lists the valid names.
    """
    cb = _load()["variables"]
    if variable not in cb:
        raise KeyError(f"{variable!r} is not a codebook variable; valid: {sorted(cb)}")
    if "categories" not in cb[variable]:
        if cb[variable]["type"] == "bool":
            return ["true", "false"]
        raise KeyError(f"{variable!r} ({cb[variable]['type']}) has no categories")
    return [str(c["code"]) for c in cb[variable]["categories"]]


def codebook_markdown() -> str:
    """Render the codebook as Markdown (written to ``docs/codebook.md``)."""
    cb = _load()["variables"]
    groups = {
        0: "Bookkeeping",
        1: "Group 1: hospital",
        2: "Group 2: the department head",
        3: "Group 3: medical personnel",
        4: "Group 4: IR organisation",
        5: "Group 5: IR outside radiology",
    }
    out = [
        "# Codebook",
        "",
        "Generated from `irmodels/data/codebook.yaml` by `analyses/00_codebook.py`; do not edit by hand.",
        "One row per radiology department. Missing answers are missing values (item non-response).",
        "",
    ]
    for g, title in groups.items():
        rows = [(k, v) for k, v in cb.items() if v["group"] == g]
        if not rows:
            continue
        out += [f"## {title}", "", "| variable | type | meaning | categories | waves | 2017 publication |", "|---|---|---|---|---|---|"]
        for name, v in rows:
            cats = "; ".join(f"`{c['code']}` {c['label']}" for c in v.get("categories", []))
            if v["type"] == "bool":
                cats = "`true` / `false`"
            out.append(
                f"| `{name}` | {v['type']} | {v['label']} | {cats} | {', '.join(v.get('waves', []))} | {v.get('published_2017', '')} |"
            )
        out.append("")
    return "\n".join(out) + "\n"
