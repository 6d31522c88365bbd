"""The canonical respondent-level table: columns, types, categories, cross-field rules.

One row per radiology department. :func:`validate` is the single gate every
table passes before modelling: it returns the typed table or raises
:class:`irmodels.core.errors.SchemaError` listing *every* problem found (row,
column, value, rule), never only the first one.

Types come from ``irmodels/data/codebook.yaml`` (the single source of truth):

============  =========================================================
codebook      pandas dtype of the validated column
============  =========================================================
``string``    ``string`` (``pd.StringDtype()``)
``bool``      ``boolean`` (nullable)
``int``       ``Int64`` (nullable), values >= 0
``ordered``   ordered ``CategoricalDtype`` in codebook order
``category``  unordered ``CategoricalDtype`` in codebook order
============  =========================================================

A missing answer is ``<NA>`` (item non-response); no row is ever dropped.

Share classes and counts
------------------------
When both a share class and the counts it summarises are present they must
agree. The percentage is ``100 * numerator / denominator``; it is rounded *up*
to a whole percent (so 25.3% falls in ``26-50`` and any share strictly between
0% and 1% falls in ``1-25``), and the class is the one whose inclusive
``[lower, upper]`` (codebook) contains it. The arithmetic is exact integer
arithmetic (``ceil(100*num/den) = -(-100*num // den)``), so no floating-point
edge case decides a class.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal

import numpy as np
import pandas as pd

from irmodels.core.errors import Problem, SchemaError

__all__ = [
    "validate",
    "column_dtypes",
    "canonical_columns",
    "REQUIRED_COLUMNS",
    "SHARE_RULES",
    "ISO_3166_ALPHA2",
    "share_class",
]

#: Columns every table must have (values may still be missing, except the ids).
REQUIRED_COLUMNS: tuple[str, ...] = (
    "respondent_id",
    "wave",
    "country",
    "beds_class",
    "teaching",
    "chair_profile",
    "cover_24_7",
    "female_ir_share_class",
)

#: share class column -> (numerator count, denominator count)
SHARE_RULES: dict[str, tuple[str, str]] = {
    "ir_share_class": ("n_ir", "n_radiologists"),
    "female_radiologist_share_class": ("n_female_radiologists", "n_radiologists"),
    "female_ir_share_class": ("n_female_ir", "n_ir"),
}

# (child column, parent boolean column): the child is answered only when the parent is true.
_CONDITIONAL: tuple[tuple[str, str], ...] = (
    ("day_case_beds_management", "day_case_beds"),
    ("outpatient_location", "outpatient_service"),
    ("neuro_provider", "neuro_performed"),
    ("cardiac_provider", "cardiac_performed"),
)

# (smaller, larger): smaller <= larger whenever both are present.
_COUNT_ORDER: tuple[tuple[str, str], ...] = (
    ("n_female_ir", "n_ir"),
    ("n_ir", "n_radiologists"),
    ("n_female_radiologists", "n_radiologists"),
    ("n_female_ir", "n_female_radiologists"),
)

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


@functools.cache
def _codebook() -> dict[str, dict[str, Any]]:
    try:
        from irmodels.data.codebook import load_codebook
    except ImportError:  # pragma: no cover - the codebook module ships with the package
        import yaml
        from importlib import resources

        text = resources.files("irmodels.data").joinpath("codebook.yaml").read_text(encoding="utf-8")
        return yaml.safe_load(text)["variables"]
    return load_codebook()


def canonical_columns() -> list[str]:
    """All canonical column names, in codebook order."""
    return list(_codebook())


@functools.cache
def _dtypes() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in _codebook().items():
        t = spec["type"]
        if t == "string":
            out[name] = pd.StringDtype()
        elif t == "bool":
            out[name] = pd.BooleanDtype()
        elif t == "int":
            out[name] = pd.Int64Dtype()
        elif t in ("ordered", "category"):
            cats = [str(c["code"]) for c in spec["categories"]]
            out[name] = pd.CategoricalDtype(cats, ordered=(t == "ordered"))
        else:  # pragma: no cover - guarded by the codebook test
            raise SchemaError(f"codebook: variable {name!r} has unknown type {t!r}", what="codebook")
    return out


def column_dtypes() -> dict[str, Any]:
    """Return ``{column: pandas dtype}`` of the validated table (codebook order)."""
    return dict(_dtypes())


@functools.cache
def _bins(column: str) -> tuple[tuple[str, float, float], ...]:
    spec = _codebook()[column]
    out = []
    for c in spec["categories"]:
        lo = c.get("lower")
        hi = c.get("upper")
        out.append((str(c["code"]), float(lo), math.inf if hi is None else float(hi)))
    return tuple(out)


def share_class(column: str, numerator: int, denominator: int) -> str | None:
    """The share class of ``numerator / denominator`` under the codebook bins of ``column``.

    Parameters
    ----------
    column : str
        A share-class column with ``lower``/``upper`` bin edges in the codebook
        (e.g. ``"female_ir_share_class"``).
    numerator, denominator : int
        Counts; ``denominator`` must be positive.

    Returns
    -------
    str or None
        The class code, or None when ``denominator`` is 0 (share undefined).

    Notes
    -----
    The percentage ``100*numerator/denominator`` is rounded up to a whole
    percent, then the inclusive bin that contains it is chosen (see the module
    docstring).

    Examples
    --------
    >>> share_class("female_ir_share_class", 1, 4), share_class("female_ir_share_class", 1, 3)
    ('1-25', '26-50')
    """
    if denominator == 0:
        return None
    pct = -(-100 * int(numerator) // int(denominator))
    for code, lo, hi in _bins(column):
        if lo <= pct <= hi:
            return code
    return None


def _share_class_vec(column: str, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Vectorised :func:`share_class`; ``den > 0`` assumed. Returns object array of codes."""
    pct = -(-100 * num.astype(np.int64) // den.astype(np.int64))
    out = np.full(pct.shape, None, dtype=object)
    for code, lo, hi in _bins(column):
        out[(pct >= lo) & (pct <= hi)] = code
    return out


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
    converted: list[Any] = []
    bad: dict[int, str] = {}
    for i, u in enumerate(uniques):
        if isinstance(u, str) and u.strip() == "":
            converted.append(pd.NA)  # an empty cell in a CSV is a missing answer
            continue
        if isinstance(dtype, pd.StringDtype):
            converted.append(_norm_scalar(u))
        elif isinstance(dtype, pd.BooleanDtype):
            if isinstance(u, (bool, np.bool_)):
                converted.append(bool(u))
            elif isinstance(u, (int, float, np.integer, np.floating)) and u in (0, 1):
                converted.append(bool(u))
            elif isinstance(u, str) and u.strip().lower() in _TRUE | _FALSE:
                converted.append(u.strip().lower() in _TRUE)
            else:
                converted.append(pd.NA)
                bad[i] = "must be boolean (true/false)"
        elif isinstance(dtype, pd.Int64Dtype):
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
            if val is None:
                converted.append(pd.NA)
                bad[i] = "must be a whole number (count)"
            elif val > _INT64_MAX:
                converted.append(pd.NA)
                bad[i] = f"count too large (more than {_INT64_MAX}, the largest storable count)"
            elif val < 0:
                converted.append(pd.NA)
                bad[i] = "count must be >= 0"
            else:
                converted.append(val)
        else:  # categorical
            code = _norm_scalar(u)
            if code in dtype.categories:
                converted.append(code)
            else:
                converted.append(pd.NA)
                bad[i] = f"unknown category; valid codes: {list(dtype.categories)}"
    if name == "country":
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
    if bad:
        idx = s.index
        for i, rule in bad.items():
            for r in idx[codes == i]:
                problems.append(Problem(rule=rule, file=file, row=_py(r), column=name, value=_py(uniques[i])))
    lookup = np.array(converted + [pd.NA], dtype=object)
    values = lookup[codes]  # sentinel -1 picks the trailing NA
    out = pd.Series(pd.array(values, dtype=dtype), index=s.index, name=name)
    return out, problems


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


def _rows(mask: pd.Series) -> list[Any]:
    return [_py(x) for x in mask.index[mask.fillna(False).to_numpy(dtype=bool)]]


def _cross_field(df: pd.DataFrame, file: str | None) -> list[Problem]:
    problems: list[Problem] = []
    cols = set(df.columns)

    # ids
    if {"respondent_id", "wave"} <= cols:
        for c in ("respondent_id", "wave"):
            for r in _rows(df[c].isna()):
                problems.append(Problem("must not be missing", file, _py(r), c, None))
        # An ensemble of reconstructed datasets repeats the ids once per replicate.
        keycols = ["wave", "respondent_id"] + (["replicate"] if "replicate" in df.columns else [])
        key = df[keycols]
        dup = key.duplicated(keep=False) & key.notna().all(axis=1)
        for r in _rows(dup):
            problems.append(
                Problem("respondent_id must be unique within a wave", file, r, "respondent_id", _py(df.at[r, "respondent_id"]))
            )

    # count ordering
    for small, large in _COUNT_ORDER:
        if {small, large} <= cols:
            bad = df[small] > df[large]
            for r in _rows(bad):
                problems.append(
                    Problem(
                        f"{small} <= {large} (here {df.at[r, small]} > {df.at[r, large]})",
                        file, r, small, _py(df.at[r, small]),
                    )
                )

    # share classes agree with counts
    for cls, (num, den) in SHARE_RULES.items():
        if not {cls, num, den} <= cols:
            continue
        # num > den is reported by the count-order rule; the class is not checked then.
        both = df[cls].notna() & df[num].notna() & df[den].notna() & (df[num] <= df[den])
        zero = both & (df[den] == 0)
        for r in _rows(zero):
            problems.append(
                Problem(f"{cls} must be missing when {den} is 0 (share undefined)", file, r, cls, _py(df.at[r, cls]))
            )
        ok = (both & (df[den] > 0)).fillna(False).to_numpy(dtype=bool)
        if ok.any():
            sub = df.loc[ok]
            expect = _share_class_vec(cls, sub[num].to_numpy(dtype=np.int64), sub[den].to_numpy(dtype=np.int64))
            got = sub[cls].astype(object).to_numpy()
            for r, e, g, n_, d_ in zip(sub.index, expect, got, sub[num], sub[den]):
                if e != g:
                    problems.append(
                        Problem(
                            f"{cls} must agree with the counts: {num}/{den} = {n_}/{d_} "
                            f"= {100 * n_ / d_:.1f}% -> class {e!r} (percent rounded up, inclusive bins)",
                            file, r, cls, _py(g),
                        )
                    )

    # female IR share undefined without IRs
    if "female_ir_share_class" in cols:
        f = df["female_ir_share_class"].notna()
        if "n_ir" in cols:
            for r in _rows(f & (df["n_ir"] == 0)):
                problems.append(
                    Problem("female_ir_share_class must be missing when n_ir is 0", file, r,
                            "female_ir_share_class", _py(df.at[r, "female_ir_share_class"]))
                )
        if "ir_share_class" in cols:
            for r in _rows(f & (df["ir_share_class"] == "0")):
                problems.append(
                    Problem('female_ir_share_class must be missing when ir_share_class is "0" (no IRs)', file, r,
                            "female_ir_share_class", _py(df.at[r, "female_ir_share_class"]))
                )

    # conditional questions
    for child, parent in _CONDITIONAL:
        if child in cols and parent not in cols and df[child].notna().any():
            problems.append(
                Problem(f"{child} is answered only when {parent} is true, but column {parent} is missing",
                        file, None, child, None)
            )
        if {child, parent} <= cols:
            bad = df[child].notna() & ~(df[parent].fillna(False).astype(bool))
            for r in _rows(bad):
                problems.append(
                    Problem(f"{child} is answered only when {parent} is true (here {df.at[r, parent]})",
                            file, r, child, _py(df.at[r, child]))
                )

    if {"procedure_volume_class", "ir_share_class"} <= cols:
        bad = (df["procedure_volume_class"] == "0") & df["ir_share_class"].notna() & (df["ir_share_class"] != "0")
        for r in _rows(bad):
            problems.append(
                Problem('procedure_volume_class "0" (no interventions) implies ir_share_class "0" or missing',
                        file, r, "ir_share_class", _py(df.at[r, "ir_share_class"]))
            )
    return problems


def validate(
    df: pd.DataFrame,
    *,
    source: str | None = None,
    extra: Literal["forbid", "allow"] = "forbid",
    extras: dict[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Validate a respondent-level table and return it typed.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per department, canonical column names (``irmodels/data/codebook.yaml``).
        Values may be typed already or raw (strings from a CSV; ``"true"``/``"false"``
        or 0/1 for booleans; numbers for category codes such as ``0``).
    source : str, optional
        File name reported in every problem.
    extra : {"forbid", "allow"}
        Whether columns not in the codebook are an error (default) or kept as
        they are after the canonical columns.
    extras : dict, optional
        Wave-specific variables declared in an import mapping (:mod:`irmodels.data.mapping`,
        ``extra:``): ``{name: {"type": "integer"|"number"|"boolean"|"category"|"text",
        "levels": [...], "ordered": bool}}``. They are not in the codebook but are not
        unknown either: each is typed (``Int64``, ``Float64``, ``boolean``, categorical with
        its levels, ``string``), checked cell by cell and placed after the canonical columns,
        in declared order.

    Returns
    -------
    pandas.DataFrame
        Same rows and index; canonical columns in codebook order with the
        dtypes of :func:`column_dtypes` (``string``, ``boolean``, ``Int64``,
        ``CategoricalDtype``); missing answers are ``<NA>``.

    Raises
    ------
    SchemaError
        Listing every problem (row = index label, column, value, rule): unknown
        or missing required columns, values of the wrong type, unknown category
        codes, invalid country codes, negative counts, duplicate
        ``respondent_id`` within a wave, and the cross-field rules
        ``n_female_ir <= n_ir <= n_radiologists``,
        ``n_female_radiologists <= n_radiologists``,
        ``n_female_ir <= n_female_radiologists``; share classes agree with
        counts; ``female_ir_share_class`` missing when there are no IRs;
        conditional questions (``day_case_beds_management`` only if
        ``day_case_beds``; ``outpatient_location`` only if
        ``outpatient_service``; ``neuro_provider`` only if ``neuro_performed``;
        ``cardiac_provider`` only if ``cardiac_performed``); and
        ``procedure_volume_class == "0"`` implies ``ir_share_class`` in
        ``{"0", NA}``.

    Examples
    --------
    >>> import pandas as pd
    >>> row = dict(respondent_id="a1", wave="w", country="DE", beds_class=">=800", teaching=True,
    ...            chair_profile="DR", cover_24_7=None, female_ir_share_class="0")
    >>> validate(pd.DataFrame([row]))["beds_class"].cat.ordered
    True
    """
    what = source or "table"
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"expected a pandas DataFrame, got {type(df).__name__}", what=what)
    problems: list[Problem] = []
    dtypes = _dtypes()
    cols = [str(c) for c in df.columns]
    dupcols = sorted({c for c in cols if cols.count(c) > 1})
    for c in dupcols:
        problems.append(Problem("column name appears more than once", source, None, c, None))
    if dupcols:
        raise SchemaError(problems, what=what)
    extras = dict(extras or {})
    for c in extras:
        if c in dtypes:
            problems.append(Problem("a declared extra variable must not have a codebook name", source, None, c, None))
    unknown = [c for c in cols if c not in dtypes and c not in extras]
    if unknown and extra != "allow":
        for c in unknown:
            problems.append(
                Problem("column is not in the codebook (pass extra='allow' to keep it)", source, None, c, None)
            )
    for c in REQUIRED_COLUMNS:
        if c not in cols:
            problems.append(Problem("required column is missing", source, None, c, None))
    if len(df) == 0:
        problems.append(Problem("table has no rows", source, None, None, None))
    out: dict[str, pd.Series] = {}
    for c in dtypes:
        if c in cols:
            series, probs = _coerce(c, df[c], dtypes[c], source)
            out[c] = series
            problems += probs
    typed = pd.DataFrame(out, index=df.index)
    for c, spec in extras.items():
        if c in cols and c not in dtypes:
            series, probs = _coerce_extra(c, df[c], spec, source)
            typed[c] = series
            problems += probs
    if "replicate" in cols:  # ensembles: uniqueness of ids is checked per replicate
        typed["replicate"] = df["replicate"]
    # Cross-field rules run on the readable cells even when some cells are bad, so that one
    # run reports everything.
    problems += _cross_field(typed, source)
    if problems:
        raise SchemaError(problems, what=what)
    if "replicate" in cols:
        typed = typed.drop(columns="replicate")
    if unknown and extra == "allow":
        typed = pd.concat([typed, df[unknown]], axis=1)
    return typed
