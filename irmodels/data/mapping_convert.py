"""Coding the answers of one export column into the values of one variable (used by
:func:`irmodels.data.mapping.apply_mapping`).

The rules of a mapped column (module docstring of :mod:`irmodels.data.mapping`) are applied
to each answer in this order: ``recode`` (reported), ``missing``, ``other`` (free text kept
in the report), then ``codes``, country names (``names: auto``), ``bins``, or the raw
value; a column with declared ``classes`` is finally harmonised to the canonical classes.
An answer that cannot be coded becomes missing and is one problem (file, row, column, value,
rule); every change is a report row (:class:`_Ctx`).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from irmodels.core.errors import Problem
from irmodels.data.readers import cell_text, parse_number

_s = cell_text  # canonical string form of a YAML key/value or cell ("Y", "1", "true")

#: An answer that could not be coded (already reported as a problem): the cell becomes missing.
_UNCODED = object()


class _Ctx:
    """What one import collects: report rows and answer problems."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.report: list[tuple[Any, ...]] = []
        self.probs = problems

    def rep(self, row: Any, column: Any, value: Any, action: str, reason: str) -> None:
        self.report.append((row, column, value, action, reason))

    def bad(self, rule: str, row: Any, column: str, value: Any) -> None:
        self.probs.append(Problem(rule, file=self.source, row=row, column=column, value=value))


def _missing_set(c: dict[str, Any], ci: bool) -> set[str]:
    """The answers that mean "no answer" for a column (the empty answer always does)."""
    f = str.casefold if ci else (lambda x: x)
    return {f(_s(x)) for x in c.get("missing", [""])} | {""}


def _convert(name: str, c: dict[str, Any], raw: pd.DataFrame, ctx: _Ctx, *, case_insensitive: bool,
             bins: list[tuple[str, float, float, bool, bool]] | None, decimal: str,
             extra_type: str | None = None) -> pd.Series:
    """Map one export column to the values of variable ``name`` (rules: module docstring)."""
    rules = _Answers(name, c, case_insensitive=case_insensitive, bins=bins, decimal=decimal, extra_type=extra_type)
    vals = [rules.value(line, v, raw, ctx) for line, v in raw[c["column"]].items()]
    rules.report_harmonised(ctx)
    return pd.Series(vals, index=raw.index, dtype=object)


class _Answers:
    """The coding rules of one mapped column, and the wave classes it has used so far."""

    def __init__(self, name: str, c: dict[str, Any], *, case_insensitive: bool,
                 bins: list[tuple[str, float, float, bool, bool]] | None, decimal: str,
                 extra_type: str | None) -> None:
        self.name, self.c, self.col = name, c, c["column"]
        ci = bool(c.get("case_insensitive", case_insensitive))
        f = self.f = str.casefold if ci else (lambda x: x)
        self.codes = {f(_s(k)): v for k, v in (c.get("codes") or {}).items()}
        self.recode = {f(_s(k)): _s(v) for k, v in (c.get("recode") or {}).items()}
        self.missing = _missing_set(c, ci)
        self.oth = c.get("other") or {}
        self.oth_code = f(_s(self.oth["code"])) if self.oth else None
        self.bins = bins
        self.names_auto = c.get("names") == "auto"
        self.langs = tuple(c["languages"]) if c.get("languages") else None
        classes = c.get("classes")
        self.class_codes = [_s(x["code"]) if isinstance(x, dict) else _s(x) for x in classes] if classes else None
        self.harm = {_s(k): (v["to"] if isinstance(v, dict) else v) for k, v in (c.get("harmonise") or {}).items()}
        self.decimal = decimal
        self.extra_type = extra_type
        self.used_classes: dict[str, int] = {}

    def value(self, line: Any, v: Any, raw: pd.DataFrame, ctx: _Ctx) -> Any:
        """The value of one answer (None when missing or not codable)."""
        f, name, col = self.f, self.name, self.col
        v0 = "" if v is None else str(v).strip()
        v1 = v0
        if f(v1) in self.recode:
            v1 = self.recode[f(v1)]
            ctx.rep(line, col, v0, "recoded", f"{v0!r} -> {v1!r} before coding ({name})")
        if f(v1) in self.missing:
            if v1 != "":
                ctx.rep(line, col, v0, "recoded", f"{v0!r} means no answer: missing ({name})")
            return None
        if self.oth_code is not None and f(v1) == self.oth_code:
            oth = self.oth
            text = raw.at[line, oth["text_column"]] if oth.get("text_column") else ""
            ctx.rep(line, oth.get("text_column", col), text, "other_text",
                    f"answer 'other' for {name}: kept as missing; free text kept here")
            return None
        val = self._code(line, v0, v1, ctx)
        if val is _UNCODED:
            return None
        if self.class_codes is not None:
            sv = _s(val)
            if sv not in self.class_codes:
                ctx.bad(f"not one of the declared classes of {name}: {self.class_codes}", line, col, v0)
                return None
            self.used_classes[sv] = self.used_classes.get(sv, 0) + 1
            val = self.harm.get(sv, sv)
        return val

    def _code(self, line: Any, v0: str, v1: str, ctx: _Ctx) -> Any:
        """An answer that is not missing: by ``codes``, country name, ``bins``, number or text."""
        if self.f(v1) in self.codes:
            return self.codes[self.f(v1)]
        if self.names_auto:
            return self._country(line, v0, v1, ctx)
        if self.bins is not None:
            return self._bin(line, v0, v1, ctx)
        if self.codes:
            ctx.bad(f"answer is not a code of {self.name}; valid codes: {sorted({_s(k) for k in self.c['codes']})} "
                    "(add it to codes or recode in the mapping)", line, self.col, v0)
            return _UNCODED
        if self.extra_type in ("integer", "number"):
            x = parse_number(v1, self.decimal)
            return v1 if x is None else x  # a non-number is reported by validation, with its row
        return v1

    def _country(self, line: Any, v0: str, v1: str, ctx: _Ctx) -> Any:
        """A country name or code resolved to ISO alpha-2 (pycountry); ambiguous or unknown names are problems."""
        from irmodels.data.countries import DEFAULT_LANGUAGES, resolve_country

        r = resolve_country(v1, languages=self.langs or DEFAULT_LANGUAGES)
        if r.code is None:
            if r.how == "ambiguous":
                rule = (f"ambiguous country name: it names {list(r.candidates)} in pycountry's names; "
                        "add it to codes (explicit codes win)")
            else:
                rule = ("unknown country name or code (English or local-language name, ISO alpha-2/alpha-3)"
                        + (f"; did you mean {r.suggestion!r}?" if r.suggestion else "") + "; or add it to codes")
            ctx.bad(rule, line, self.col, v0)
            return _UNCODED
        if v1 != r.code:
            ctx.rep(line, self.col, v0, "country_resolved", f"{v1!r} -> {r.code} ({r.how}; pycountry)")
        return r.code

    def _bin(self, line: Any, v0: str, v1: str, ctx: _Ctx) -> Any:
        """A free number put into the class of the bin that holds it."""
        name, col, bins, decimal = self.name, self.col, self.bins, self.decimal
        x = parse_number(v1, decimal)
        if x is None or math.isnan(x):
            ctx.bad(f"not a number (decimal separator {decimal!r}), and not a code of {name}; bins need a number",
                    line, col, v0)
            return _UNCODED
        hit = [lab for lab, lo, hi, lc, hc in bins
               if (lo < x or (lc and lo == x)) and (x < hi or (hc and x == hi))]
        if not hit:
            lo_all, hi_all = bins[0][1], bins[-1][2]
            why = "outside the bins" if (x < lo_all or x > hi_all) else "between two bins (no class holds it)"
            ctx.bad(f"{x:g} is {why} of {name}: " + ", ".join(
                f"{lab} {'[' if lc else '('}{lo:g}, {hi:g}{']' if hc else ')'}" for lab, lo, hi, lc, hc in bins),
                line, col, v0)
            return _UNCODED
        val = hit[0]
        ctx.rep(line, col, v0, "binned", f"{v0} -> {val!r} ({name} bins)")
        return val

    def report_harmonised(self, ctx: _Ctx) -> None:
        """One report row per harmonised wave class, with the number of responses in it."""
        c, name, col = self.c, self.name, self.col
        if self.class_codes is not None and self.harm:
            for k, v in (c.get("harmonise") or {}).items():
                to = v["to"] if isinstance(v, dict) else v
                note = f"; straddles canonical classes, declared: {v['straddling']}" if isinstance(v, dict) else ""
                ctx.rep(None, col, _s(k), "harmonised",
                        f"{name}: wave class {_s(k)!r} -> canonical class {to!r} "
                        f"({self.used_classes.get(_s(k), 0)} responses){note}")
