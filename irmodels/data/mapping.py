"""Mapping a survey-tool export (LimeSurvey, Qualtrics, SurveyMonkey) onto the canonical table.

A mapping is a YAML file a user writes once per questionnaire; ``docs/mapping.md`` is the
full reference (every field, the three tool presets, worked examples under
``data/raw/examples/``). In short:

``wave`` (required), ``description``
    The wave identifier written to every row; free text.
``source``
    ``limesurvey`` | ``qualtrics`` | ``surveymonkey``: the header layout and defaults of that
    tool's standard export (:data:`irmodels.data.readers.PRESETS`); any reader option below
    overrides the preset.
``format``, ``sheet``, ``delimiter``, ``encoding``, ``decimal``, ``header_row``, ``text_row``, ``import_id_row``, ``subheader_row``, ``skip_rows``
    Reader options (:mod:`irmodels.data.readers`): csv/xlsx, sheet, ``,``/``;``/tab/``auto``,
    encoding (default ``utf-8-sig``), decimal separator ``.`` or ``,``, the 1-based rows of
    the column codes, question texts, Qualtrics ImportId JSON, SurveyMonkey sub-answers, and
    other non-response rows.
``respondent_id``
    ``{column: <export column>}``.
``exclude``
    Rules that remove whole responses, each ``{column, reason}`` plus one of ``equals``,
    ``in`` or ``missing: true``; every excluded response is reported.
``deduplicate``
    ``{key: <column or columns>, rule: keep_last_complete, order_by: {column, format},
    complete: [names]}``: responses sharing the key are one department; among them the last
    submitted *complete* one is kept (complete: every mapped variable, or those listed,
    answered; last: latest ``order_by`` time, ties and no ``order_by`` by file order; when
    none is complete the last submitted is kept). Every dropped response is reported
    (``dropped_duplicate``, naming the kept row).
``case_insensitive``
    ``true``: answer codes, recodes, missing values, "other" codes and exclusion values are
    compared ignoring case (top level, or per column). Codes that differ only in case are
    then an error.
``columns``
    ``<canonical name>: {column, codes, recode, missing, other, bins, classes, harmonise,
    names, languages, case_insensitive}``: ``codes`` maps answers to values; ``recode`` maps
    dirty answers to codes (reported); ``missing`` lists "no answer" values; ``other``
    ``{code, text_column}`` keeps the free text in the report; ``bins`` (``codebook`` or
    ``{edges, labels, closed}``) bins free numbers into classes; ``classes`` declares the
    wave's own answer classes and ``harmonise`` maps each to one canonical class (a class
    that straddles canonical classes must say so: ``{to, straddling: <reason>}``);
    ``names: auto`` resolves country names and ISO codes (:mod:`irmodels.data.countries`).
``extra``
    Wave-specific variables: ``<name>: {column, type: integer|number|boolean|category|text,
    levels, ordered, label}`` plus the column fields above; they are typed and validated
    (:func:`irmodels.data.schema.validate` ``extras=``) and follow the canonical columns.
``derive_share_classes``, ``free_text``, ``ignore``
    Share classes from the counts; free-text columns copied to the report; export columns
    deliberately unused (every other unused column is reported ``unmapped``).

The YAML is read by :func:`irmodels.core.yamlio.load_yaml` (YAML 1.2: ``NO``, ``yes``, ``on``
stay strings) and checked against :data:`MAPPING_SCHEMA` (:mod:`irmodels.data.mapping_check`; JSON Schema, Draft 2020-12); a
boolean or number where an answer code is expected (``codes: {true: x}``, ``{1: x}``) is an
error naming its line. Every problem of the file is reported at once, each with its line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from irmodels.core.errors import ConfigError, MappingError, Problem
from irmodels.data.mapping_check import mapping_problems
from irmodels.data.mapping_convert import _convert, _Ctx, _missing_set
from irmodels.data.readers import ReaderOptions, cell_text
from irmodels.data.readers import read_export as _read_export

__all__ = ["Mapping", "load_mapping", "read_export", "apply_mapping", "REPORT_COLUMNS"]

REPORT_COLUMNS = ["row", "column", "value", "action", "reason"]

_s = cell_text  # canonical string form of a YAML key/value or cell ("Y", "1", "true")

@dataclass
class Mapping:
    """A parsed and checked import mapping (see the module docstring for the fields)."""

    path: str
    wave: str
    format: str | None = None
    sheet: str | int | None = None
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    header_row: int = 1
    skip_rows: list[int] = field(default_factory=list)
    respondent_id: str = ""
    exclude: list[dict[str, Any]] = field(default_factory=list)
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    derive_share_classes: bool = False
    free_text: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    reader: ReaderOptions = field(default_factory=ReaderOptions)
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    deduplicate: dict[str, Any] | None = None
    case_insensitive: bool = False
    #: canonical name -> [(label, low, high, low_closed, high_closed)] of its ``bins``
    bins: dict[str, list[tuple[str, float, float, bool, bool]]] = field(default_factory=dict)

    def extra_types(self) -> dict[str, dict[str, Any]]:
        """``{name: {type, levels, ordered}}`` of the declared extras (for :func:`irmodels.data.schema.validate`)."""
        return {n: {"type": e["type"], "levels": list(e.get("levels") or []), "ordered": bool(e.get("ordered"))}
                for n, e in self.extra.items()}

    def export_column(self, name: str) -> str | None:
        """The export column a canonical or extra variable comes from."""
        if name == "respondent_id":
            return self.respondent_id
        spec = self.columns.get(name) or self.extra.get(name)
        return spec["column"] if spec else None


def load_mapping(path: str | os.PathLike) -> Mapping:
    """Read and check a mapping YAML.

    Parameters
    ----------
    path : path-like
        The mapping file (fields: module docstring and ``docs/mapping.md``).

    Returns
    -------
    Mapping

    Raises
    ------
    MappingError
        Listing every problem of the file at once, each with its line: YAML errors
        (duplicate keys, aliases, tags), JSON-Schema violations (unknown or missing fields,
        wrong types), boolean/number answer codes, non-canonical column names, bins that do
        not match the codebook classes, declared classes without (or with an inconsistent)
        harmonisation, case-insensitive code collisions.
    """
    from irmodels.core.yamlio import key_lines, load_yaml

    p = Path(path)
    where = str(p)
    if not p.is_file():
        raise MappingError([Problem("mapping file not found", file=where)], what=where)
    try:
        spec = load_yaml(p)
    except ConfigError as exc:
        raise MappingError(exc.problems, what=where) from None
    text = p.read_text(encoding="utf-8-sig")
    if not isinstance(spec, dict):
        raise MappingError([Problem("the mapping must be a YAML mapping (key: value)", file=where)], what=where)
    lines = key_lines(text)
    m = Mapping(path=where, wave=str(spec.get("wave", "")))
    probs = mapping_problems(spec, text, lines, where, m.bins)
    if probs:
        raise MappingError(probs, what=where)
    reader = ReaderOptions.from_spec(spec)
    m.reader = reader
    m.format, m.sheet, m.delimiter, m.encoding = reader.format, reader.sheet, reader.delimiter, reader.encoding
    m.header_row, m.skip_rows = reader.header_row, list(reader.skip_rows)
    m.respondent_id = str(spec["respondent_id"]["column"])
    m.exclude = list(spec.get("exclude") or [])
    m.columns = dict(spec["columns"] or {})
    m.extra = dict(spec.get("extra") or {})
    m.deduplicate = spec.get("deduplicate")
    m.case_insensitive = bool(spec.get("case_insensitive", False))
    m.derive_share_classes = bool(spec.get("derive_share_classes", False))
    m.free_text = list(spec.get("free_text") or [])
    m.ignore = list(spec.get("ignore") or [])
    return m


def read_export(path: str | os.PathLike, mapping: Mapping) -> pd.DataFrame:
    """Read a CSV/XLSX export as strings with the mapping's reader options.

    See :func:`irmodels.data.readers.read_export` (index: 1-based file row of each response).
    """
    return _read_export(path, mapping.reader)


def _key_list(k: str | list[str]) -> list[str]:
    return [k] if isinstance(k, str) else list(k)


def _deduplicate(raw: pd.DataFrame, m: Mapping, ctx: _Ctx) -> pd.Series:
    """Keep-mask of the ``keep_last_complete`` rule (module docstring); reports every drop."""
    dd = m.deduplicate or {}
    keys = _key_list(dd["key"])
    keep = pd.Series(True, index=raw.index)
    kv = raw[keys].astype(str).apply(lambda s: s.str.strip())
    if m.case_insensitive:
        kv = kv.apply(lambda s: s.str.casefold())
    has_key = (kv != "").all(axis=1)
    joined = kv[has_key].agg("\x1f".join, axis=1)  # one key, even for several key columns
    groups = joined.groupby(joined, sort=False).groups
    specs = {**m.columns, **m.extra}
    names = dd.get("complete") or list(specs)
    order = dd.get("order_by")
    for _, idx in groups.items():
        if len(idx) < 2:
            continue
        rows = list(idx)
        when: dict[Any, Any] = {}
        if order:
            oc, fmt = order["column"], order.get("format")
            ok = True
            for r in rows:
                t = str(raw.at[r, oc]).strip()
                try:
                    when[r] = pd.to_datetime(t, format=fmt or "ISO8601")
                except (ValueError, TypeError):
                    ctx.bad(f"submission time needed to order duplicate responses is not a time"
                            f"{f' of format {fmt!r}' if fmt else ' (ISO 8601)'}", r, oc, t)
                    ok = False
            if not ok:
                continue

        def complete(r: Any) -> bool:
            for n in names:
                c = specs[n]
                ci = bool(c.get("case_insensitive", m.case_insensitive))
                v = str(raw.at[r, c["column"]]).strip()
                if (v.casefold() if ci else v) in _missing_set(c, ci):
                    return False
            return True

        done = {r: complete(r) for r in rows}
        pos = {r: i for i, r in enumerate(rows)}
        rank = sorted(rows, key=lambda r: (done[r], when.get(r, 0) if order else 0, pos[r]))
        kept = rank[-1]
        key_txt = ", ".join(f"{k}={raw.at[kept, k]!s}" for k in keys)
        for r in rows:
            if r == kept:
                continue
            keep[r] = False
            if done[kept] and not done[r]:
                why = "this response is incomplete"
            elif done[kept]:
                why = "a complete response submitted later (or later in the file at the same time) was kept"
            else:
                why = "no duplicate is complete; the last submitted was kept"
            ctx.rep(r, ", ".join(keys), ", ".join(str(raw.at[r, k]) for k in keys), "dropped_duplicate",
                    f"duplicate of row {kept} ({key_txt}); kept row {kept} by rule keep_last_complete "
                    f"(the last submitted complete response; ties by file order): {why}")
    return keep


def apply_mapping(
    raw: pd.DataFrame, mapping: Mapping, *, source: str, problems: list[Problem] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map an export (from :func:`read_export`) to canonical columns; return (table, report).

    The table still has the file rows as index and raw (string/bool/number) values: it is
    validated by the caller (:func:`irmodels.data.importing.import_wave`). Extras follow the canonical
    columns.

    Parameters
    ----------
    raw : pandas.DataFrame
        The export as read by :func:`read_export`.
    mapping : Mapping
        The parsed mapping.
    source : str
        File name reported in every problem.
    problems : list of Problem, optional
        If given, answers that cannot be mapped (not a code, not a number for ``bins``, out
        of the bins, unknown or ambiguous country, not a declared class, an unreadable
        submission time of a duplicate) are appended here (their cell becomes missing)
        instead of raising, so that the caller can validate the rest of the table and
        report every problem of the export in one error.

    Returns
    -------
    table : pandas.DataFrame
        ``respondent_id``, ``wave``, the mapped columns, derived share classes, extras.
    report : pandas.DataFrame
        :data:`REPORT_COLUMNS`; actions ``unmapped``, ``excluded``, ``dropped_duplicate``,
        ``recoded``, ``other_text``, ``country_resolved``, ``binned``, ``harmonised``,
        ``free_text``.

    Raises
    ------
    MappingError
        The mapping names export columns that do not exist (always raised); answers that
        cannot be mapped (only when ``problems`` is None). Every problem is listed.
    """
    from irmodels.data.schema import SHARE_RULES, _share_class_vec

    used = _check_export_columns(raw, mapping, source)
    ctx = _Ctx(source, problems if problems is not None else [])
    for col in raw.columns:
        if col not in used:
            ctx.rep(None, col, None, "unmapped", "export column not used by the mapping (add it to ignore to silence)")
    raw = raw.loc[_exclude(raw, mapping, ctx)]
    if mapping.deduplicate:
        raw = raw.loc[_deduplicate(raw, mapping, ctx)]

    def convert(name: str, c: dict[str, Any], extra_type: str | None = None) -> pd.Series:
        return _convert(name, c, raw, ctx, case_insensitive=mapping.case_insensitive, bins=mapping.bins.get(name),
                        decimal=mapping.reader.decimal, extra_type=extra_type)

    out = pd.DataFrame(index=raw.index)
    out["respondent_id"] = raw[mapping.respondent_id].astype(str).str.strip()
    out["wave"] = mapping.wave
    for name, c in mapping.columns.items():
        out[name] = convert(name, c)
    for f in mapping.free_text:
        for line, v in raw[f].items():
            if str(v).strip():
                ctx.rep(line, f, v, "free_text", "free-text answer (not mapped; kept in the report)")
    if problems is None and ctx.probs:
        raise MappingError(ctx.probs, what=source)
    if mapping.derive_share_classes:
        for cls, (num, den) in SHARE_RULES.items():
            if cls in out.columns or num not in out.columns or den not in out.columns:
                continue
            n_ = pd.to_numeric(out[num], errors="coerce")
            d_ = pd.to_numeric(out[den], errors="coerce")
            ok = n_.notna() & d_.notna() & (d_ > 0) & (n_ >= 0) & (n_ <= d_)
            vals = pd.Series(None, index=out.index, dtype=object)
            if ok.any():
                vals[ok] = _share_class_vec(cls, n_[ok].astype(int).to_numpy(), d_[ok].astype(int).to_numpy())
            out[cls] = vals
    for name, c in mapping.extra.items():
        out[name] = convert(name, c, extra_type=c["type"])
    if problems is None and ctx.probs:
        raise MappingError(ctx.probs, what=source)
    rep = pd.DataFrame(ctx.report, columns=REPORT_COLUMNS)
    return out, rep


def _check_export_columns(raw: pd.DataFrame, mapping: Mapping, source: str) -> set[str]:
    """The export columns the mapping uses; a MappingError when it names one the export lacks."""
    probs: list[Problem] = []
    used: set[str] = {mapping.respondent_id, *mapping.free_text, *mapping.ignore}
    needed = [("respondent_id", mapping.respondent_id)]
    for group, table in (("columns", mapping.columns), ("extra", mapping.extra)):
        for name, c in table.items():
            needed.append((f"{group}.{name}", c["column"]))
            used.add(c["column"])
            oth = c.get("other") or {}
            if oth.get("text_column"):
                needed.append((f"{group}.{name}.other.text_column", oth["text_column"]))
                used.add(oth["text_column"])
    for i, r in enumerate(mapping.exclude):
        needed.append((f"exclude[{i}]", r["column"]))
        used.add(r["column"])
    if mapping.deduplicate:
        for k in _key_list(mapping.deduplicate["key"]):
            needed.append(("deduplicate.key", k))
            used.add(k)
        if mapping.deduplicate.get("order_by"):
            needed.append(("deduplicate.order_by", mapping.deduplicate["order_by"]["column"]))
            used.add(mapping.deduplicate["order_by"]["column"])
    for f in mapping.free_text:
        needed.append(("free_text", f))
    for where, col in needed:
        if col not in raw.columns:
            probs.append(Problem(f"the mapping ({where}) names an export column that does not exist; "
                                 f"export columns: {list(raw.columns)}", file=mapping.path, column=col))
    if probs:
        raise MappingError(probs, what=source)
    return used


def _exclude(raw: pd.DataFrame, mapping: Mapping, ctx: _Ctx) -> pd.Series:
    """Keep-mask of the ``exclude`` rules; every excluded response is reported with its rule's reason."""
    keep = pd.Series(True, index=raw.index)
    for r in mapping.exclude:
        ci = mapping.case_insensitive
        f = str.casefold if ci else (lambda x: x)
        v = raw[r["column"]].astype(str).str.strip()
        if ci:
            v = v.str.casefold()
        if "equals" in r:
            hit = v == f(_s(r["equals"]))
        elif "in" in r:
            hit = v.isin([f(_s(x)) for x in r["in"]])
        else:
            hit = v == "" if r["missing"] else v != ""
        hit &= keep
        for line in raw.index[hit]:
            ctx.rep(line, r["column"], raw.at[line, r["column"]], "excluded", str(r["reason"]))
        keep &= ~hit
    return keep
