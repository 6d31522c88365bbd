"""Non-response weighting: one interface, a registry of methods, diagnostics.

Every method has the same signature and returns a :class:`WeightingResult`::

    res = weight(data, "rake", margins=frame_margins("radiologists"))
    res.weights        # pandas Series indexed like ``data``
    res.diagnostics    # dict: summary, margins (before/after vs targets), collapsed, ...

Methods (:data:`METHODS`): ``base`` (base weights), ``cell`` (weighting-class
adjustment), ``propensity`` (logistic response-propensity model on frame
variables), ``rake`` (iterative proportional fitting), ``linear`` (linear /
GREG calibration) and ``logit`` (bounded logit calibration, bounds L, U). A new
method is one function decorated with :func:`register_method`.

Sparse categories are never collapsed silently: ``collapse=`` states the rule
(e.g. ``{"country": {"min_n": 5, "into": "region"}}``) and the diagnostics list
every merged category (a :class:`~irmodels.core.errors.DataDroppedWarning` is also
issued).

The calibration structure (which margins, which method) travels with the weights
so that :mod:`irmodels.nonresponse.survey` can compute a linearisation variance that
accounts for calibration exactly as R's ``survey`` package does.

This module owns the one interface (:func:`weight`, :class:`WeightingResult`), the
registry (:data:`METHODS`, :func:`register_method`) and :class:`WarningLog`. The built-in
methods are in :mod:`irmodels.nonresponse.weighting_methods`, raking on the cell table in
:mod:`irmodels.nonresponse.raking`, collapse rules in :mod:`irmodels.nonresponse.collapse`,
trimming and diagnostics in :mod:`irmodels.nonresponse.weighting_diagnostics`, input checks
in :mod:`irmodels.nonresponse.weighting_checks`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from irmodels.core.errors import WeightingError
from irmodels.nonresponse.collapse import collapse_categories
from irmodels.nonresponse.weighting_checks import _FRAME_NON_KEYS, Margins, _check_weights, _frame_keys
from irmodels.nonresponse.weighting_diagnostics import margin_table, weight_summary
from irmodels.nonresponse.weighting_diagnostics import trim as _trim_weights  # `weight(..., trim=...)` shadows the name
from irmodels.nonresponse.weighting_methods import BUILTIN_METHODS

__all__ = [
    "COLLAPSE_BEDS_400",
    "WarningLog",
    "WeightingResult",
    "METHODS",
    "register_method",
    "weight",
]

#: Explicit collapse rule used by the analyses: the two small beds classes
#: (4 and 15 respondents in 2017) are merged into ``"<400"``, which makes raking to
#: region x beds margins feasible in every reconstruction replicate.
COLLAPSE_BEDS_400: dict = {"beds_class": {"merge": {"<200": "<400", "200-399": "<400"}}}


class WarningLog:
    """Record every warning issued in a block; summarise distinct messages with counts.

    Used by the analysis scripts instead of silencing warnings: the summary goes
    into the product (a ``notes`` column) and to stdout.

    Examples
    --------
    >>> import warnings
    >>> from irmodels.core.errors import DataDroppedWarning
    >>> with WarningLog() as log:
    ...     for _ in range(3):
    ...         warnings.warn("x merged", DataDroppedWarning)
    >>> log.text()
    'DataDroppedWarning x3: x merged'
    """

    def __init__(self) -> None:
        self.records: list = []
        self._cm: warnings.catch_warnings | None = None

    def __enter__(self) -> "WarningLog":
        self._cm = warnings.catch_warnings(record=True)
        self.records = self._cm.__enter__()
        warnings.simplefilter("always")  # count every occurrence, not one per code location
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._cm is not None
        self._cm.__exit__(*exc)

    def summary(self) -> pd.DataFrame:
        """``category, message, count``: one row per distinct warning, in order of first occurrence."""
        counts: dict[tuple[str, str], int] = {}
        for w in self.records:
            key = (w.category.__name__, str(w.message))
            counts[key] = counts.get(key, 0) + 1
        return pd.DataFrame([{"category": c, "message": m, "count": n} for (c, m), n in counts.items()],
                            columns=["category", "message", "count"])

    def text(self, sep: str = " | ") -> str:
        """Each distinct warning as ``"<Category> x<count>: <message>"``, joined by ``sep`` ('' if none)."""
        return sep.join(f"{r.category} x{r.count}: {r.message}" for r in self.summary().itertuples())


@dataclass
class WeightingResult:
    """Weights and the record of how they were made.

    Attributes
    ----------
    weights : Series
        Final weights, indexed like the input data (float, finite, >= 0).
    method : str
        Registry name of the method.
    diagnostics : dict
        ``summary`` (dict, :func:`~irmodels.nonresponse.weighting_diagnostics.weight_summary`),
        ``margins`` (DataFrame, :func:`~irmodels.nonresponse.weighting_diagnostics.margin_table`,
        or None), ``collapsed`` (list of merged categories),
        ``trimmed`` (dict or None) and method-specific entries (``iterations``,
        ``propensity_model`` ...).
    calibration : dict or None
        What the variance must account for: ``{"kind": "raking" | "greg" |
        "poststrat", ...}``; None for weights treated as fixed.
    data : DataFrame
        The (collapsed) weighting variables the weights were computed on.
    """

    weights: pd.Series
    method: str
    diagnostics: dict = field(default_factory=dict)
    calibration: dict | None = None
    data: pd.DataFrame | None = None

    def __repr__(self) -> str:  # concise: the weights Series can be long
        s = self.diagnostics.get("summary", {})
        return (
            f"WeightingResult(method={self.method!r}, n={s.get('n')}, sum={s.get('sum', float('nan')):.6g}, "
            f"deff={s.get('deff_kish', float('nan')):.3f}, n_eff={s.get('n_eff', float('nan')):.1f})"
        )


#: Registry of weighting methods: name -> function(data, *, margins, frame, base, **options).
METHODS: dict[str, Callable[..., tuple[np.ndarray, dict]]] = {}


def register_method(name: str) -> Callable:
    """Decorator adding a weighting method to :data:`METHODS`.

    The function takes ``(data, *, margins, frame, base, **options)`` where ``base``
    is a float ndarray of base weights, and returns ``(weights ndarray, info dict)``.
    ``info`` may hold ``calibration`` (see :class:`WeightingResult`) and any
    diagnostics entries.
    """

    def deco(fn: Callable) -> Callable:
        METHODS[name] = fn
        return fn

    return deco


for _name, _fn in BUILTIN_METHODS.items():
    register_method(_name)(_fn)


# ---------------------------------------------------------------------------
# the one interface


def weight(
    data: pd.DataFrame,
    method: str,
    *,
    margins: Margins | None = None,
    frame: pd.DataFrame | None = None,
    base_weight: pd.Series | np.ndarray | str | None = None,
    collapse: Mapping[str, Mapping[str, Any]] | None = None,
    trim: Mapping[str, Any] | None = None,
    **options: Any,
) -> WeightingResult:
    """Compute weights with any registered method.

    Parameters
    ----------
    data : DataFrame
        Respondents (canonical schema), one row each.
    method : str
        A key of :data:`METHODS`: ``base``, ``cell``, ``propensity``, ``rake``,
        ``linear``, ``logit``.
    margins : dict, optional
        ``{column: {category: population total}}`` (rake, linear, logit; also used
        for the before/after margin diagnostics). For rake, linear and logit without
        ``margins``, the one-way margins of ``frame`` over the frame variables present
        in the data (or ``cells=[...]``) are used.
    frame : DataFrame, optional
        Population cells with ``N`` (``cell``, ``propensity``), e.g.
        :func:`irmodels.nonresponse.frame.frame_cells`.
    base_weight : Series, array, column name or None
        Base (design) weights, finite and >= 0; default 1 for every respondent.
    collapse : dict, optional
        Explicit rules for merging sparse categories (:func:`~irmodels.nonresponse.collapse.collapse_categories`);
        applied to data, margins and frame; reported in ``diagnostics["collapsed"]``.
    trim : dict, optional
        ``{"upper": ..., "lower": ..., "relative": True}`` passed to
        :func:`~irmodels.nonresponse.weighting_diagnostics.trim`
        after the method.
    **options
        Method options: ``max_iter``, ``tol`` (rake, logit), ``bounds`` (logit),
        ``cells`` (cell), ``covariates``, ``normalize`` (propensity), ``total`` (base).

    Returns
    -------
    WeightingResult

    Raises
    ------
    WeightingError
        Unknown method, invalid weights, margins or frame (see :func:`~irmodels.nonresponse.raking.rake`).
    ConvergenceError
        An iterative method did not converge.
    """
    if method not in METHODS:
        raise WeightingError(f"unknown weighting method {method!r}; registered: {sorted(METHODS)}")
    if not isinstance(data, pd.DataFrame):
        raise WeightingError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if not data.index.is_unique:
        raise WeightingError("data index has duplicate labels; weights are indexed like the data")
    if isinstance(base_weight, str):
        if base_weight not in data.columns:
            raise WeightingError(f"base_weight column {base_weight!r} not in the data")
        base_weight = data[base_weight]
    base = np.ones(len(data)) if base_weight is None else _check_weights(base_weight, data.index)
    if margins is None and frame is not None and method in ("rake", "linear", "logit"):
        # calibration to a frame: its one-way margins over the frame variables the data have
        keys = _frame_keys(frame, data, options.pop("cells", None))
        margins = {k: {str(c): float(v) for c, v in frame.groupby(frame[k].astype(str), observed=True)["N"].sum().items()} for k in keys}
    report: list[dict] = []
    work = data
    if collapse:
        work, margins, frame, report = collapse_categories(data, collapse, margins=margins, frame=frame)
    w, info = METHODS[method](work, margins=margins, frame=frame, base=base, **options)
    w = np.asarray(w, dtype=float)
    calibration = info.pop("calibration", None)
    weights = pd.Series(w, index=data.index, name="weight")
    trimmed = None
    if trim:
        weights = _trim_weights(weights, **dict(trim))
        trimmed = {"n_trimmed": weights.attrs["n_trimmed"], "bounds": weights.attrs["bounds"], **dict(trim)}
        calibration = None  # trimmed weights are no longer calibrated
    if not np.all(np.isfinite(weights.to_numpy())):
        raise WeightingError(f"method {method!r} produced non-finite weights")
    diag_margins = margins
    if diag_margins is None and frame is not None:
        keys = [c for c in frame.columns if c not in _FRAME_NON_KEYS and c in work.columns]
        diag_margins = {k: frame.groupby(frame[k].astype(str), observed=True)["N"].sum().to_dict() for k in keys}
    mt = margin_table(work, diag_margins, weights, base) if diag_margins else None
    diagnostics = {
        "summary": weight_summary(weights),
        "margins": mt,
        "collapsed": report,
        "frame_below_sample": [] if mt is None else [
            f"{r.variable}={r.category}: frame {r.target:.1f} < {r.n} respondents" for r in mt.itertuples() if r.target_below_n
        ],
        "trimmed": trimmed,
        **info,
    }
    cols = list(margins) if margins else [c for c in (info.get("cells") or info.get("covariates") or [])]
    return WeightingResult(weights=weights, method=method, diagnostics=diagnostics, calibration=calibration, data=work[cols].copy() if cols else None)
