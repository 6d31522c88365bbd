"""The model frame shared by every engine: response, design matrix, grouping, missing data.

:func:`build_design` builds the design once with ``formulaic`` (treatment contrasts, first
category the reference; booleans enter as 0/1 columns named after the variable) and hands
it as arrays to either engine, so term names are identical across engines. Missing values in
any column the model uses raise a :class:`~irmodels.core.errors.SchemaError` listing every
missing cell; ``missing="drop"`` drops those rows and issues a
:class:`~irmodels.core.errors.DataDroppedWarning` with the count. Formulas are checked by
:mod:`irmodels.models.formula` before anything is evaluated.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from irmodels.core.errors import DataDroppedWarning, ModelSpecError, Problem, SchemaError

__all__ = ["Design", "build_design", "merge_categories", "data_hash", "FAMILIES", "ENGINES"]

FAMILIES = ("bernoulli", "binomial", "beta_binomial", "ordinal")
ENGINES = ("statsmodels", "pymc")


@dataclass
class Design:
    """The model frame of one fit: response, design matrix and grouping.

    Attributes
    ----------
    data : DataFrame
        The rows used (after an explicit ``missing="drop"``), original index.
    X : DataFrame
        Design matrix (float), columns are the term names.
    y : ndarray
        Response: 0/1 (bernoulli), success counts (binomial, beta-binomial),
        category codes 0..K-1 (ordinal), or -1 where only a share class is known.
    trials : ndarray or None
        Number of trials (binomial, beta-binomial).
    group : ndarray or None
        Integer group codes; ``group_levels`` holds the labels.
    weights : ndarray or None
    categories : list of str or None
        Ordinal outcome categories in order.
    model_spec : object
        formulaic model spec of the right-hand side, to build X for new data.
    """

    data: pd.DataFrame
    X: pd.DataFrame
    y: np.ndarray
    trials: np.ndarray | None
    group: np.ndarray | None
    group_levels: list[str] | None
    weights: np.ndarray | None
    categories: list[str] | None
    model_spec: Any
    outcome: str
    share_class: np.ndarray | None = None
    share_class_levels: list[str] | None = None

    def new_X(self, newdata: pd.DataFrame) -> pd.DataFrame:
        """Design matrix for new rows with the same columns as the fitted one."""
        mm = self.model_spec.get_model_matrix(newdata)
        out = pd.DataFrame(np.asarray(mm, dtype=float), columns=list(mm.columns), index=newdata.index)
        return out.reindex(columns=self.X.columns, fill_value=0.0)


def data_hash(data: pd.DataFrame) -> str:
    """sha256 of the canonical CSV bytes of ``data`` (no index, ``\\n`` line ends)."""
    csv = data.to_csv(index=False, lineterminator="\n", float_format="%.17g")
    return hashlib.sha256(csv.encode("utf-8")).hexdigest()


def _outcome_of(formula: str) -> tuple[str, str]:
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise ModelSpecError(f"formula {formula!r}: needs exactly one '~' (outcome ~ predictors)")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if not lhs or not lhs.isidentifier():
        raise ModelSpecError(
            f"formula {formula!r}: the left-hand side must be one column name (for counts name the success "
            "column and pass trials='n_...'), got {lhs!r}"
        )
    return lhs, rhs


def _rhs_variables(rhs: str, data: pd.DataFrame) -> list[str]:
    """The data columns a right-hand side uses, after the formula grammar check
    (:func:`irmodels.models.formula.check_formula`: parsed, never evaluated)."""
    from irmodels.models.formula import check_formula

    return list(check_formula(f"y_ ~ {rhs}", [*map(str, data.columns), "y_"]).columns)


def _check_missing(data: pd.DataFrame, columns: list[str], missing: str, *, allow_na: tuple) -> pd.DataFrame:
    if missing not in ("raise", "drop"):
        raise ModelSpecError(f"missing={missing!r}: valid values are 'raise' and 'drop'")
    sub = data[columns]
    isna = sub.isna()
    neither = None
    if allow_na:
        # counts-or-class rows: a row is missing only when neither the counts nor the class are there
        outcome, trials, share_class = allow_na
        neither = (isna[outcome] | isna[trials]) & isna[share_class]
        for c in allow_na:
            isna[c] = False
        isna[share_class] = neither
    bad = isna.any(axis=1)
    if not bad.any():
        return data
    if missing == "raise":
        problems = [
            Problem(rule="missing value in a model column (pass missing='drop' to drop these rows explicitly)",
                    row=idx, column=col, value=None)
            for idx, row in isna[bad].iterrows() for col in columns if row[col]
        ]
        raise SchemaError(problems, what="model data")
    n = int(bad.sum())
    warnings.warn(
        f"missing='drop': {n} of {len(data)} rows dropped for missing values in {[c for c in columns if isna[c].any()]}",
        DataDroppedWarning,
        stacklevel=3,
    )
    return data.loc[~bad]


def merge_categories(data: pd.DataFrame, merges: dict[str, dict[str, list[str]]]) -> pd.DataFrame:
    """Merge categories of ordered categorical columns explicitly (reported, never silent).

    Parameters
    ----------
    data : DataFrame
    merges : dict
        ``{column: {new_label: [old labels, adjacent, in order]}}``, e.g.
        ``{"female_ir_share_class": {">25": ["26-50", "51-75", ">75"]}}``. The
        new category takes the place of the first merged one.

    Returns
    -------
    DataFrame
        A copy with the merged columns; a :class:`DataDroppedWarning` gives the
        number of rows recoded per column.
    """
    out = data.copy()
    for col, spec in merges.items():
        if col not in out.columns or not isinstance(out[col].dtype, pd.CategoricalDtype):
            raise ModelSpecError(f"merge_categories: {col!r} is not a categorical column of the data")
        cats = [str(c) for c in out[col].cat.categories]
        mapping = {c: c for c in cats}
        for new, olds in spec.items():
            bad = [o for o in olds if o not in cats]
            if bad:
                raise ModelSpecError(f"merge_categories: {bad} are not categories of {col!r} ({cats})")
            pos = sorted(cats.index(o) for o in olds)
            if pos != list(range(pos[0], pos[0] + len(pos))):
                raise ModelSpecError(f"merge_categories: {olds} are not adjacent categories of {col!r}")
            for o in olds:
                mapping[o] = new
        new_cats = list(dict.fromkeys(mapping[c] for c in cats))
        vals = out[col].astype("object").map(lambda v: mapping.get(str(v)) if pd.notna(v) else v)
        n = int(out[col].astype("object").isin([o for olds in spec.values() for o in olds]).sum())
        out[col] = pd.Categorical(vals, categories=new_cats, ordered=out[col].cat.ordered)
        warnings.warn(f"merge_categories: {col!r} categories merged {spec} ({n} rows recoded)",
                      DataDroppedWarning, stacklevel=3)
    return out


def _model_columns(formula: str, data: pd.DataFrame, *, group: str | None, weights: str | None,
                   trials: str | None, share_class: str | None) -> tuple[str, str, pd.DataFrame, list[str], tuple]:
    """Check the formula and that every column the model uses is in the data.

    Returns the outcome, the right-hand side, the data (with all-missing count columns
    added when a wave is observed through the share class alone), the columns needed
    and the ``allow_na`` triple of :func:`_check_missing`.
    """
    from irmodels.models.formula import check_formula

    outcome, rhs = _outcome_of(formula)
    # parse, don't evaluate: the grammar check runs before formulaic sees the text (Input safety)
    check_formula(formula, [*map(str, data.columns), outcome])
    rhs_vars = _rhs_variables(rhs, data)
    if share_class and share_class in data.columns:
        # a wave without counts (2017) is observed through the share class alone
        absent_counts = [c for c in (outcome, trials) if c and c not in data.columns]
        if absent_counts:
            data = data.assign(**{c: pd.array([pd.NA] * len(data), dtype="Int64") for c in absent_counts})
    needed = [outcome] + rhs_vars + [c for c in (group, weights, trials, share_class) if c]
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise ModelSpecError(f"columns {absent} are not in the data; available: {sorted(map(str, data.columns))}")
    allow_na: tuple = ()
    if share_class:
        # rows observed only as a share class have no counts: that is the point of the model
        allow_na = (outcome, trials, share_class)
    return outcome, rhs, data, needed, allow_na


def _drop_zero_trials(data: pd.DataFrame, family: str, trials: str | None, share_class: str | None) -> pd.DataFrame:
    """Rows with zero trials (and no share class) excluded, with a :class:`DataDroppedWarning`."""
    if trials and family in ("binomial", "beta_binomial"):
        zero = (pd.to_numeric(data[trials], errors="coerce") == 0).fillna(False).to_numpy(dtype=bool)
        if share_class:
            zero &= data[share_class].isna().to_numpy()
        if zero.any():
            # a share of zero trials is undefined: such rows carry no information about it
            warnings.warn(f"{int(zero.sum())} of {len(data)} rows with {trials} = 0 excluded (the share is "
                          "undefined)", DataDroppedWarning, stacklevel=4)
            data = data.loc[~zero]
    return data


def _binary_response(data: pd.DataFrame, outcome: str, problems: list[Problem]) -> np.ndarray:
    """0/1 codes of a bernoulli outcome; other values are listed in ``problems`` (coded -1)."""
    col = data[outcome]
    if pd.api.types.is_bool_dtype(col.dtype) or (pd.api.types.is_numeric_dtype(col.dtype)
                                                   and not pd.api.types.is_complex_dtype(col.dtype)):
        # vectorised (missing values were refused or dropped before): a 0/1 or boolean column
        v = col.to_numpy(dtype=float, na_value=np.nan)
        if np.all((v == 0) | (v == 1)):
            return v.astype(int)
    # anything else, or values to report: element by element, each bad value named
    yv = col.astype("object")
    ok = yv.isin([0, 1, True, False])
    for idx in yv.index[~ok.to_numpy()]:
        problems.append(Problem(rule="bernoulli outcome must be 0/1 or True/False", row=idx, column=outcome,
                                value=yv[idx]))
    return np.where(ok, yv.map(lambda v: int(bool(v)) if v in (0, 1, True, False) else -1), -1).astype(int)


def _count_response(data: pd.DataFrame, outcome: str, trials: str, share_class: str | None,
                    problems: list[Problem]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[str] | None]:
    """Successes, trials (-1 where only a share class is known), share-class codes and levels."""
    y_raw = data[outcome]
    k = pd.to_numeric(y_raw, errors="coerce").to_numpy(dtype=float)
    n = pd.to_numeric(data[trials], errors="coerce").to_numpy(dtype=float)
    has = ~np.isnan(k) & ~np.isnan(n)
    bad_k = has & ((k < 0) | (k != np.round(k)))
    bad_n = has & ((n < k) | (n != np.round(n)))
    for i in np.flatnonzero(bad_k | bad_n):  # the bad rows only, in row order
        idx = data.index[i]
        if bad_k[i]:
            problems.append(Problem(rule="count must be a non-negative integer", row=idx, column=outcome,
                                    value=y_raw.iloc[i]))
        if bad_n[i]:
            problems.append(Problem(rule=f"trials must be an integer >= {outcome}", row=idx, column=trials,
                                    value=data[trials].iloc[i]))
    y = np.where(has, k, -1).astype(int)
    trials_arr = np.where(has, n, -1).astype(int)
    sc_arr = sc_levels = None
    if share_class:
        cat = data[share_class]
        levels = list(cat.cat.categories) if isinstance(cat.dtype, pd.CategoricalDtype) else None
        if levels is None:
            raise ModelSpecError(f"share_class column {share_class!r} must be an ordered categorical")
        sc_levels = [str(c) for c in levels]
        codes = cat.cat.codes.to_numpy()
        for idx in data.index[~has & (codes < 0)]:
            problems.append(Problem(rule=f"neither counts ({outcome}, {trials}) nor {share_class} observed",
                                    row=idx, column=share_class, value=None))
        sc_arr = np.where(has, -1, codes).astype(int)
    elif (~has).any():  # pragma: no cover - caught by _check_missing
        raise ModelSpecError("missing counts")
    return y, trials_arr, sc_arr, sc_levels


def _ordinal_response(data: pd.DataFrame, outcome: str) -> tuple[np.ndarray, list[str]]:
    """Category codes 0..K-1 of an ordered categorical outcome and its categories."""
    y_raw = data[outcome]
    if not isinstance(y_raw.dtype, pd.CategoricalDtype) or not y_raw.cat.ordered:
        raise ModelSpecError(f"family 'ordinal' needs an ordered categorical outcome; {outcome!r} is {y_raw.dtype}")
    categories = [str(c) for c in y_raw.cat.categories]
    y = y_raw.cat.codes.to_numpy().astype(int)
    used = np.unique(y)
    if len(used) < 2:
        raise ModelSpecError(f"ordinal outcome {outcome!r} has fewer than two observed categories")
    return y, categories


def _weights(data: pd.DataFrame, weights: str | None, problems: list[Problem]) -> np.ndarray | None:
    """Survey weights as floats; values that are not finite and > 0 are listed in ``problems``."""
    w = None
    if weights:
        w = pd.to_numeric(data[weights], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        for i in np.flatnonzero(~(np.isfinite(w) & (w > 0))):  # the bad rows only, in row order
            problems.append(Problem(rule="weights must be finite and > 0", row=data.index[i], column=weights,
                                    value=data[weights].iloc[i]))
    return w


def build_design(formula: str, data: pd.DataFrame, *, family: str, group: str | None, weights: str | None,
                 trials: str | None, share_class: str | None, missing: str, drop_intercept: bool,
                 merges: dict | None = None) -> Design:
    """Validate inputs and build the :class:`Design` (shared by all engines)."""
    from irmodels.models.formula import safe_model_matrix

    if not isinstance(data, pd.DataFrame):
        raise ModelSpecError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if merges:
        data = merge_categories(data, merges)
    outcome, rhs, data, needed, allow_na = _model_columns(formula, data, group=group, weights=weights, trials=trials,
                                                          share_class=share_class)
    # group levels come from all rows given, so that a level whose rows are all dropped for
    # missing values keeps its (prior-identified) intercept and replicates share one set of levels
    all_levels = sorted(data[group].dropna().astype(str).unique()) if group else None
    data = _check_missing(data, list(dict.fromkeys(needed)), missing, allow_na=allow_na)
    data = _drop_zero_trials(data, family, trials, share_class)
    if len(data) == 0:
        raise ModelSpecError("no rows left to fit")
    mm = safe_model_matrix(rhs, data)
    X = pd.DataFrame(np.asarray(mm, dtype=float), columns=list(mm.columns), index=data.index)
    if drop_intercept and "Intercept" in X.columns:
        X = X.drop(columns="Intercept")
    problems: list[Problem] = []
    categories = None
    trials_arr = None
    sc_arr = sc_levels = None
    if family == "bernoulli":
        y = _binary_response(data, outcome, problems)
    elif family in ("binomial", "beta_binomial"):
        if trials is None:
            raise ModelSpecError(f"family {family!r} needs the option trials='<column with the number of trials>'")
        y, trials_arr, sc_arr, sc_levels = _count_response(data, outcome, trials, share_class, problems)
    elif family == "ordinal":
        y, categories = _ordinal_response(data, outcome)
    else:
        raise ModelSpecError(f"family={family!r}: valid families are {list(FAMILIES)}")
    w = _weights(data, weights, problems)
    g = levels_g = None
    if group:
        gcat = data[group].astype(str)
        levels_g = all_levels
        g = pd.Categorical(gcat, categories=levels_g).codes.astype(int)
    if problems:
        raise SchemaError(problems, what="model data")
    return Design(data=data, X=X, y=y, trials=trials_arr, group=g, group_levels=levels_g, weights=w,
                  categories=categories, model_spec=mm.model_spec, outcome=outcome, share_class=sc_arr,
                  share_class_levels=sc_levels)
