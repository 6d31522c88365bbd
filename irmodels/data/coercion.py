"""Typing the cells of the canonical table, one column at a time (used by :func:`irmodels.data.schema.validate`).

Each distinct value of a column is converted once by the rule of its codebook type: text
(:func:`_to_string`), boolean (:func:`_to_bool`), count (:func:`_to_count`: a whole number
>= 0 that fits ``Int64``), category code (:func:`_to_category`); country codes are then
checked against ISO 3166-1 alpha-2 (:data:`ISO_3166_ALPHA2`). A cell that cannot be typed
becomes missing and gives one :class:`~irmodels.core.errors.Problem` naming its row, column,
value and rule. Declared extra variables of a mapping are typed by :func:`_coerce_extra`.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np
import pandas as pd

from irmodels.core.errors import Problem

__all__ = ["ISO_3166_ALPHA2"]

#: ISO 3166-1 alpha-2 officially assigned codes (249), plus XK (Kosovo, user-assigned but in
#: common use by the EU and survey tools).
ISO_3166_ALPHA2: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW XK
    """.split()
)

_COUNTRY_HINTS = {"UK": "the United Kingdom is GB", "EL": "Greece is GR (EL is the EU code)"}

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _norm_scalar(v: Any) -> Any:
    """A category code read from a file may be a number (``0`` for ``"0"``)."""
    if isinstance(v, (bool, np.bool_)):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


_INT64_MAX = int(np.iinfo(np.int64).max)


def _coerce(name: str, s: pd.Series, dtype: Any, file: str | None) -> tuple[pd.Series, list[Problem]]:
    """Coerce one column to its canonical dtype, collecting one Problem per bad cell."""
    problems: list[Problem] = []
    # Already typed: categories and booleans are valid by construction; counts and country
    # codes still need their value checks (vectorised, so ensembles stay fast).
    if s.dtype == dtype and name != "country" and not isinstance(dtype, pd.Int64Dtype):
        return s, problems
    if s.dtype == dtype and isinstance(dtype, pd.Int64Dtype):
        for r in s.index[(s < 0).fillna(False).to_numpy(dtype=bool)]:
            problems.append(Problem("count must be >= 0", file, _py(r), name, _py(s.at[r])))
        return s, problems
    obj = s.astype(object)
    codes, uniques = pd.factorize(obj, use_na_sentinel=True)
    convert = _converter(dtype)
    converted: list[Any] = []
    bad: dict[int, str] = {}
    for i, u in enumerate(uniques):
        if isinstance(u, str) and u.strip() == "":
            converted.append(pd.NA)  # an empty cell in a CSV is a missing answer
            continue
        val, rule = convert(u)
        converted.append(val)
        if rule is not None:
            bad[i] = rule
    if name == "country":
        _check_country(converted, bad)
    if bad:
        idx = s.index
        for i, rule in bad.items():
            for r in idx[codes == i]:
                problems.append(Problem(rule=rule, file=file, row=_py(r), column=name, value=_py(uniques[i])))
    lookup = np.array(converted + [pd.NA], dtype=object)
    values = lookup[codes]  # sentinel -1 picks the trailing NA
    out = pd.Series(pd.array(values, dtype=dtype), index=s.index, name=name)
    return out, problems


def _converter(dtype: Any) -> Callable[[Any], tuple[Any, str | None]]:
    """The cell rule of a dtype: ``value -> (typed value or NA, rule broken or None)``."""
    if isinstance(dtype, pd.StringDtype):
        return _to_string
    if isinstance(dtype, pd.BooleanDtype):
        return _to_bool
    if isinstance(dtype, pd.Int64Dtype):
        return _to_count
    return functools.partial(_to_category, categories=dtype.categories)


def _to_string(u: Any) -> tuple[Any, str | None]:
    """Text: a code read as a number keeps its integer spelling."""
    return _norm_scalar(u), None


def _to_bool(u: Any) -> tuple[Any, str | None]:
    """Boolean: True/False, 0/1, or true/t/yes/y/1 and false/f/no/n/0 in any case."""
    if isinstance(u, (bool, np.bool_)):
        return bool(u), None
    if isinstance(u, (int, float, np.integer, np.floating)) and u in (0, 1):
        return bool(u), None
    if isinstance(u, str) and u.strip().lower() in _TRUE | _FALSE:
        return u.strip().lower() in _TRUE, None
    return pd.NA, "must be boolean (true/false)"


def _whole_number(u: Any) -> int | None:
    """The whole number ``u`` spells (int, integral float, ASCII digits or an integral number text), else None."""
    val: Any = None
    if isinstance(u, (bool, np.bool_)):
        val = None
    elif isinstance(u, (int, np.integer)):
        val = int(u)
    elif isinstance(u, (float, np.floating)) and float(u).is_integer():
        val = int(u)
    elif isinstance(u, str):
        t = u.strip()
        if not t.isascii():  # int()/float() accept other scripts' digits ("٣"); "²" is isdigit() but not int()
            val = None
        elif t.lstrip("+-").isdigit():
            val = int(t)
        else:
            try:
                f = float(t)
                val = int(f) if f.is_integer() else None
            except ValueError:
                val = None
    return val


def _to_count(u: Any) -> tuple[Any, str | None]:
    """Count: a whole number >= 0 that ``Int64`` can store."""
    val = _whole_number(u)
    if val is None:
        return pd.NA, "must be a whole number (count)"
    if val > _INT64_MAX:
        return pd.NA, f"count too large (more than {_INT64_MAX}, the largest storable count)"
    if val < 0:
        return pd.NA, "count must be >= 0"
    return val, None


def _to_category(u: Any, *, categories: Any) -> tuple[Any, str | None]:
    """Category: one of the codebook codes (a number read from a file is its code's spelling)."""
    code = _norm_scalar(u)
    if code in categories:
        return code, None
    return pd.NA, f"unknown category; valid codes: {list(categories)}"


def _check_country(converted: list[Any], bad: dict[int, str]) -> None:
    """Country codes must be ISO 3166-1 alpha-2 in upper case; the bad ones become missing, with a hint."""
    for i, u in enumerate(converted):
        if u is pd.NA or i in bad:
            continue
        if u not in ISO_3166_ALPHA2:
            hint = _COUNTRY_HINTS.get(str(u).upper())
            rule = "must be an ISO 3166-1 alpha-2 code in upper case (e.g. DE, GB)"
            if hint:
                rule += f"; {hint}"
            bad[i] = rule
            converted[i] = pd.NA


_EXTRA_DTYPES = {"integer": pd.Int64Dtype(), "number": pd.Float64Dtype(), "boolean": pd.BooleanDtype(),
                 "text": pd.StringDtype()}


def _coerce_extra(name: str, s: pd.Series, spec: dict[str, Any], file: str | None) -> tuple[pd.Series, list[Problem]]:
    """Type a declared extra variable (``validate(extras=...)``), one Problem per bad cell."""
    t = spec.get("type")
    if t == "category":
        levels = [str(x) for x in spec.get("levels") or []]
        return _coerce(name, s, pd.CategoricalDtype(levels, ordered=bool(spec.get("ordered"))), file)
    if t == "number":
        problems: list[Problem] = []
        vals: list[Any] = []
        for r, u in s.items():
            if u is None or u is pd.NA or (isinstance(u, float) and math.isnan(u)) or (isinstance(u, str) and not u.strip()):
                vals.append(pd.NA)
                continue
            try:
                if isinstance(u, (bool, np.bool_)):
                    raise ValueError
                x = float(u)
                if not math.isfinite(x):
                    raise ValueError
                vals.append(x)
            except (TypeError, ValueError):
                vals.append(pd.NA)
                problems.append(Problem("must be a number", file, _py(r), name, _py(u)))
        return pd.Series(pd.array(vals, dtype="Float64"), index=s.index, name=name), problems
    if t == "integer":
        out, problems = _coerce(name, s, pd.Int64Dtype(), file)
        # extras are not counts: a negative whole number is allowed
        neg = [p for p in problems if p.rule == "count must be >= 0"]
        if neg:
            problems = [p for p in problems if p.rule != "count must be >= 0"]
            fixed = out.astype(object)
            for p in neg:
                fixed[p.row] = int(p.value)
            out = pd.Series(pd.array(list(fixed), dtype="Int64"), index=s.index, name=name)
        return out, [p if p.rule != "must be a whole number (count)" else
                     Problem("must be a whole number", p.file, p.row, p.column, p.value) for p in problems]
    if t in _EXTRA_DTYPES:
        return _coerce(name, s, _EXTRA_DTYPES[t], file)
    return s, [Problem(f"unknown extra type {t!r}; valid: integer, number, boolean, category, text", file, None, name, None)]


def _py(v: Any) -> Any:
    """Plain Python scalar for messages (``3`` rather than ``np.int64(3)``)."""
    if v is pd.NA or v is None:
        return None
    return v.item() if hasattr(v, "item") else v

