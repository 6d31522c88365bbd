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

A missing answer is ``<NA>`` (item non-response); no row is ever dropped. Cells are typed
by :mod:`irmodels.data.coercion` (one rule per codebook type); the cross-field rules are
here, one function per rule family.

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
from irmodels.data.coercion import _coerce, _coerce_extra, _py

__all__ = ["validate", "column_dtypes", "canonical_columns", "REQUIRED_COLUMNS", "SHARE_RULES",
           "share_class"]

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


def _rows(mask: pd.Series) -> list[Any]:
    """Index labels (plain scalars) where ``mask`` is true; missing counts as false."""
    return [_py(x) for x in mask.index[mask.fillna(False).to_numpy(dtype=bool)]]


def _cross_field(df: pd.DataFrame, file: str | None) -> list[Problem]:
    """Every cross-field problem of a typed table, rule family by rule family (order as listed in :func:`validate`)."""
    cols = set(df.columns)
    return [*_id_problems(df, cols, file), *_count_order_problems(df, cols, file),
            *_share_class_problems(df, cols, file), *_no_ir_problems(df, cols, file),
            *_conditional_problems(df, cols, file), *_volume_problems(df, cols, file)]


def _id_problems(df: pd.DataFrame, cols: set, file: str | None) -> list[Problem]:
    """Ids present, and ``respondent_id`` unique within a wave (and replicate)."""
    problems: list[Problem] = []
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
    return problems


def _count_order_problems(df: pd.DataFrame, cols: set, file: str | None) -> list[Problem]:
    """Count ordering: each smaller count of :data:`_COUNT_ORDER` at most its larger one."""
    problems: list[Problem] = []
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
    return problems


def _share_class_problems(df: pd.DataFrame, cols: set, file: str | None) -> list[Problem]:
    """Share classes agree with the counts they summarise (:data:`SHARE_RULES`, :func:`share_class`)."""
    problems: list[Problem] = []
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
    return problems


def _no_ir_problems(df: pd.DataFrame, cols: set, file: str | None) -> list[Problem]:
    """The female IR share is undefined without IRs (``n_ir == 0`` or ``ir_share_class == "0"``)."""
    problems: list[Problem] = []
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
    return problems


def _conditional_problems(df: pd.DataFrame, cols: set, file: str | None) -> list[Problem]:
    """Conditional questions (:data:`_CONDITIONAL`): the child is answered only when its parent is true."""
    problems: list[Problem] = []
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
    return problems


def _volume_problems(df: pd.DataFrame, cols: set, file: str | None) -> list[Problem]:
    """No interventions (``procedure_volume_class == "0"``) implies no IR share."""
    problems: list[Problem] = []
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
