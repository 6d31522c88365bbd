"""The one model entry point, :func:`fit`, and the fit object it returns.

Every engine (``statsmodels``, ``pymc``) and family (``bernoulli``,
``binomial``, ``beta_binomial``, ``ordinal``) goes through :func:`fit`; the
returned :class:`Fit` has one :meth:`Fit.tidy` layout for all of them, so
frequentist and Bayesian tables concatenate.

Conventions
-----------
* The design matrix is built once, here, with ``formulaic`` (treatment
  contrasts, first category the reference; booleans enter as 0/1 columns
  named after the variable), and handed as arrays to either engine, so term
  names are identical across engines.
* Binomial and beta-binomial outcomes: the formula's left-hand side names the
  success count and the ``trials`` option names the column with the number of
  trials, e.g. ``fit("n_female_ir ~ beds_class", df, family="binomial",
  engine="pymc", trials="n_ir")``.
* Missing values in any column the model uses raise a
  :class:`~irmodels.errors.SchemaError` listing every missing cell;
  ``missing="drop"`` drops those rows and issues a
  :class:`~irmodels.errors.DataDroppedWarning` with the count.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from irmodels.errors import DataDroppedWarning, ModelSpecError, Problem, SchemaError

__all__ = ["fit", "Fit", "merge_categories", "FAMILIES", "ENGINES", "TIDY_COLUMNS", "MCMC_COLUMNS",
           "FREQUENTIST_COLUMNS", "data_hash", "Design"]

FAMILIES = ("bernoulli", "binomial", "beta_binomial", "ordinal")
ENGINES = ("statsmodels", "pymc")
TIDY_COLUMNS = ["term", "estimate", "std_error", "lower", "upper", "method", "spec_id"]
MCMC_COLUMNS = ["r_hat", "ess_bulk", "ess_tail", "n_divergent", "converged"]
#: Columns of engine ``statsmodels`` after :data:`TIDY_COLUMNS`: the p-value and the
#: complete-data degrees of freedom ``n - p`` (used by :func:`irmodels.pooling.pool`).
FREQUENTIST_COLUMNS = ["p_value", "df_resid"]

# Terms that are regression coefficients (exponentiated to odds ratios on request);
# thresholds, standard deviations and dispersions are reported on their own scale.
COEF_PREFIXES_NOT = ("threshold[", "sd(", "phi", "sd_department")
_NOT_HASHED = ("cache_dir", "spec_id", "on_fail", "progressbar", "cores", "_defer_sampling")


def _code_hash() -> str:
    """Hash of the model code: a cached fit made by other model code is never reused."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in ("fit.py", "bayes.py", "frequentist.py", "nutpie_cache.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()


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


@dataclass
class Fit:
    """A fitted model; :meth:`tidy` gives the common results table.

    Attributes
    ----------
    formula, family, engine, group, weights, seed, priors, options
        The arguments :func:`fit` was called with.
    spec_id : str
        The spec identifier (option ``spec_id``, else a short hash of the call).
    design : Design
    result : object
        ``statsmodels`` results object (engine ``statsmodels``) or the ArviZ
        ``DataTree`` of the posterior (engine ``pymc``).
    data_hash : str
        sha256 of the canonical CSV bytes of the columns used.
    """

    formula: str
    family: str
    engine: str
    group: str | None
    weights: str | None
    seed: int
    priors: dict
    options: dict
    spec_id: str
    design: Design
    result: Any
    data_hash: str
    extra: dict = field(default_factory=dict)

    @property
    def idata(self):
        """The posterior ``DataTree`` (engine ``pymc`` only)."""
        if self.engine != "pymc":
            raise ModelSpecError(f"fit {self.spec_id!r} used engine {self.engine!r}; idata exists only for 'pymc'")
        return self.result

    def tidy(self, ci_prob: float = 0.95, exponentiate: bool = False) -> pd.DataFrame:
        """One row per term: estimate, standard error and interval.

        Parameters
        ----------
        ci_prob : float
            Interval probability (``statsmodels``: Wald interval, or the profile
            penalised-likelihood interval of a Firth fit, see option ``ci_method``;
            ``pymc``: equal-tailed posterior interval).
        exponentiate : bool
            If True, ``estimate``, ``lower`` and ``upper`` of regression
            coefficients are exponentiated (odds ratios; odds for the
            intercept). Thresholds, standard deviations and dispersion
            parameters stay on their own scale. ``std_error`` always stays on
            the link (log-odds) scale.

        Returns
        -------
        DataFrame
            ``term`` (str), ``estimate`` (MLE or posterior mean), ``std_error``
            (SE or posterior sd), ``lower``, ``upper``, ``method`` (estimator
            label, e.g. ``"glm_ml"``, ``"firth (profile penalised likelihood CI)"``,
            ``"pymc_nuts"``), ``spec_id``; engine ``statsmodels`` adds ``p_value``
            (Wald z test; penalised likelihood-ratio test for a Firth fit with
            profile intervals; missing for thresholds and ``phi``) and ``df_resid``
            (``n - p``: rows used minus estimated parameters); engine ``pymc``
            adds ``r_hat``, ``ess_bulk``, ``ess_tail``, ``n_divergent`` (count
            over the whole fit) and ``converged`` (the
            gate of :func:`irmodels.models.bayes.check_convergence`).
        """
        if not 0 < ci_prob < 1:
            raise ModelSpecError(f"ci_prob={ci_prob}: must be in (0, 1)")
        if self.engine == "statsmodels":
            from irmodels.models.frequentist import tidy_statsmodels

            out = tidy_statsmodels(self, ci_prob)
        else:
            from irmodels.models.bayes import tidy_pymc

            out = tidy_pymc(self, ci_prob)
        out["spec_id"] = self.spec_id
        if exponentiate:
            is_coef = ~out["term"].str.startswith(COEF_PREFIXES_NOT)
            for col in ("estimate", "lower", "upper"):
                out.loc[is_coef, col] = np.exp(out.loc[is_coef, col].to_numpy(dtype=float))
        cols = TIDY_COLUMNS + [c for c in MCMC_COLUMNS + FREQUENTIST_COLUMNS if c in out.columns]
        return out[cols].reset_index(drop=True)


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


def build_design(formula: str, data: pd.DataFrame, *, family: str, group: str | None, weights: str | None,
                 trials: str | None, share_class: str | None, missing: str, drop_intercept: bool,
                 merges: dict | None = None) -> Design:
    """Validate inputs and build the :class:`Design` (shared by all engines)."""
    from irmodels.models.formula import check_formula, safe_model_matrix

    if not isinstance(data, pd.DataFrame):
        raise ModelSpecError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if merges:
        data = merge_categories(data, merges)
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
    # group levels come from all rows given, so that a level whose rows are all dropped for
    # missing values keeps its (prior-identified) intercept and replicates share one set of levels
    all_levels = sorted(data[group].dropna().astype(str).unique()) if group else None
    data = _check_missing(data, list(dict.fromkeys(needed)), missing, allow_na=allow_na)
    if trials and family in ("binomial", "beta_binomial"):
        zero = (pd.to_numeric(data[trials], errors="coerce") == 0).fillna(False).to_numpy(dtype=bool)
        if share_class:
            zero &= data[share_class].isna().to_numpy()
        if zero.any():
            # a share of zero trials is undefined: such rows carry no information about it
            warnings.warn(f"{int(zero.sum())} of {len(data)} rows with {trials} = 0 excluded (the share is "
                          "undefined)", DataDroppedWarning, stacklevel=3)
            data = data.loc[~zero]
    if len(data) == 0:
        raise ModelSpecError("no rows left to fit")
    mm = safe_model_matrix(rhs, data)
    X = pd.DataFrame(np.asarray(mm, dtype=float), columns=list(mm.columns), index=data.index)
    if drop_intercept and "Intercept" in X.columns:
        X = X.drop(columns="Intercept")
    problems: list[Problem] = []
    y_raw = data[outcome]
    categories = None
    trials_arr = None
    sc_arr = sc_levels = None
    if family == "bernoulli":
        yv = y_raw.astype("object")
        ok = yv.isin([0, 1, True, False])
        for idx in yv.index[~ok.to_numpy()]:
            problems.append(Problem(rule="bernoulli outcome must be 0/1 or True/False", row=idx, column=outcome,
                                    value=yv[idx]))
        y = np.where(ok, yv.map(lambda v: int(bool(v)) if v in (0, 1, True, False) else -1), -1).astype(int)
    elif family in ("binomial", "beta_binomial"):
        if trials is None:
            raise ModelSpecError(f"family {family!r} needs the option trials='<column with the number of trials>'")
        k = pd.to_numeric(y_raw, errors="coerce").to_numpy(dtype=float)
        n = pd.to_numeric(data[trials], errors="coerce").to_numpy(dtype=float)
        has = ~np.isnan(k) & ~np.isnan(n)
        for i, idx in enumerate(data.index):
            if not has[i]:
                continue
            if k[i] < 0 or k[i] != np.round(k[i]):
                problems.append(Problem(rule="count must be a non-negative integer", row=idx, column=outcome,
                                        value=y_raw.iloc[i]))
            if n[i] < k[i] or n[i] != np.round(n[i]):
                problems.append(Problem(rule=f"trials must be an integer >= {outcome}", row=idx, column=trials,
                                        value=data[trials].iloc[i]))
        y = np.where(has, k, -1).astype(int)
        trials_arr = np.where(has, n, -1).astype(int)
        if share_class:
            cat = data[share_class]
            levels = list(cat.cat.categories) if isinstance(cat.dtype, pd.CategoricalDtype) else None
            if levels is None:
                raise ModelSpecError(f"share_class column {share_class!r} must be an ordered categorical")
            sc_levels = [str(c) for c in levels]
            codes = cat.cat.codes.to_numpy()
            for i, idx in enumerate(data.index):
                if not has[i] and codes[i] < 0:
                    problems.append(Problem(rule=f"neither counts ({outcome}, {trials}) nor {share_class} observed",
                                            row=idx, column=share_class, value=None))
            sc_arr = np.where(has, -1, codes).astype(int)
        elif (~has).any():  # pragma: no cover - caught by _check_missing
            raise ModelSpecError("missing counts")
    elif family == "ordinal":
        if not isinstance(y_raw.dtype, pd.CategoricalDtype) or not y_raw.cat.ordered:
            raise ModelSpecError(f"family 'ordinal' needs an ordered categorical outcome; {outcome!r} is {y_raw.dtype}")
        categories = [str(c) for c in y_raw.cat.categories]
        y = y_raw.cat.codes.to_numpy().astype(int)
        used = np.unique(y)
        if len(used) < 2:
            raise ModelSpecError(f"ordinal outcome {outcome!r} has fewer than two observed categories")
    else:
        raise ModelSpecError(f"family={family!r}: valid families are {list(FAMILIES)}")
    w = None
    if weights:
        w = pd.to_numeric(data[weights], errors="coerce").to_numpy(dtype=float)
        for i, idx in enumerate(data.index):
            if not np.isfinite(w[i]) or w[i] <= 0:
                problems.append(Problem(rule="weights must be finite and > 0", row=idx, column=weights,
                                        value=data[weights].iloc[i]))
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


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def fit(
    formula: str,
    data: pd.DataFrame,
    *,
    family: str,
    engine: str,
    group: str | None = None,
    weights: str | None = None,
    seed: int = 0,
    priors: dict | None = None,
    **options: Any,
) -> Fit:
    """Fit one regression model; the same call for every engine and family.

    Parameters
    ----------
    formula : str
        ``"outcome ~ x1 + x2"``. Categorical predictors use treatment
        contrasts with the first category as reference.
    data : DataFrame
        One row per department (canonical column names of the codebook).
    family : {"bernoulli", "binomial", "beta_binomial", "ordinal"}
    engine : {"statsmodels", "pymc"}
    group : str, optional
        Grouping column for random (partially pooled) intercepts, e.g.
        ``"country"``. Engine ``pymc`` only: statsmodels has no maximum
        likelihood binomial mixed model (its ``BinomialBayesMixedGLM`` is a
        variational approximation, not ``glmer``), so grouped models go to the
        Bayesian engine; engine ``statsmodels`` raises.
    weights : str, optional
        Survey-weight column. Engine ``statsmodels`` (pseudo-likelihood with
        sandwich SEs); engine ``pymc`` raises: population estimates from
        the Bayesian models come from MRP (:func:`irmodels.models.mrp.poststratify`).
    seed : int
        Seed of every random step (MCMC).
    priors : dict, optional
        Prior scales for engine ``pymc``; see :data:`irmodels.models.bayes.DEFAULT_PRIORS`.
    **options
        ``trials`` (column of trial counts; binomial, beta-binomial),
        ``share_class`` (ordered categorical share column used where counts are
        missing; ``binomial``/``pymc`` only), ``merge_categories``
        (``{column: {new: [old, ...]}}``, see :func:`merge_categories`), ``missing`` ("raise" default or
        "drop"), ``spec_id``, ``firth`` (bool, bernoulli/statsmodels),
        ``ci_method`` (Firth intervals: "profile", the default, profile penalised
        likelihood; or "wald"; with survey weights and the sandwich only "wald"),
        ``cov_type`` ("sandwich" default with weights, else "model"),
        MCMC settings ``draws``, ``tune``, ``chains``, ``nuts_sampler``
        ("nutpie" default, or "pymc"), ``target_accept``, ``on_fail``
        ("raise" default or "warn"), ``cache_dir`` (path: reuse a posterior
        with the same content hash), ``prior_scale`` (multiplies every prior scale).

    Returns
    -------
    Fit
        Call :meth:`Fit.tidy` for the results table.

    Raises
    ------
    ModelSpecError
        Unknown family/engine/option, unknown columns, unsupported combination.
    SchemaError
        Missing values (with ``missing="raise"``) or invalid outcome, trials or
        weight values, all listed at once.
    ConvergenceError
        MCMC failed the convergence gate (engine ``pymc``, ``on_fail="raise"``).

    Examples
    --------
    >>> f = fit("cover_24_7 ~ beds_class + teaching", df, family="bernoulli",
    ...         engine="pymc", group="country", seed=1)  # doctest: +SKIP
    >>> f.tidy(exponentiate=True)  # doctest: +SKIP
    """
    if family not in FAMILIES:
        raise ModelSpecError(f"family={family!r}: valid families are {list(FAMILIES)}")
    if engine not in ENGINES:
        raise ModelSpecError(f"engine={engine!r}: valid engines are {list(ENGINES)}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ModelSpecError(f"seed={seed!r}: must be an int")
    priors = dict(priors or {})
    from irmodels.models import bayes, frequentist

    allowed = frequentist.OPTIONS if engine == "statsmodels" else bayes.OPTIONS
    allowed = allowed | {"trials", "missing", "spec_id", "share_class", "merge_categories"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ModelSpecError(f"unknown options {unknown} for engine {engine!r}; valid: {sorted(allowed)}")
    share_class = options.get("share_class")
    if share_class and (engine != "pymc" or family != "binomial"):
        raise ModelSpecError("share_class (counts-or-class likelihood) needs family='binomial', engine='pymc'")
    if engine == "statsmodels" and group:
        raise ModelSpecError(
            f"group={group!r}: engine 'statsmodels' has no binomial random-intercept model; use engine='pymc' "
            "(hierarchical, non-centred) or add the grouping as a fixed effect in the formula"
        )
    if engine == "pymc" and weights:
        raise ModelSpecError(
            f"weights={weights!r}: engine 'pymc' does not take survey weights; population estimates from the "
            "Bayesian models come from MRP (irmodels.models.mrp.poststratify)"
        )
    if engine == "statsmodels" and priors:
        raise ModelSpecError("priors are only used by engine 'pymc'")
    design = build_design(
        formula, data, family=family, group=group, weights=weights, trials=options.get("trials"),
        share_class=share_class, missing=options.get("missing", "raise"), drop_intercept=(family == "ordinal"),
        merges=options.get("merge_categories"),
    )
    used_cols = list(dict.fromkeys([design.outcome] + list(_rhs_variables(_outcome_of(formula)[1], data))
                                   + [c for c in (group, weights, options.get("trials"), share_class) if c]))
    dh = data_hash(design.data[used_cols])
    call = {"formula": formula, "family": family, "engine": engine, "group": group, "weights": weights,
            "seed": int(seed), "priors": priors,
            # options that cannot change the estimates are left out of the content hash
            "options": {k: v for k, v in options.items() if k not in _NOT_HASHED}}
    spec_id = options.get("spec_id") or "fit_" + hashlib.sha256(_canonical(call).encode()).hexdigest()[:10]
    f = Fit(formula=formula, family=family, engine=engine, group=group, weights=weights, seed=int(seed),
            priors=priors, options=dict(options), spec_id=spec_id, design=design, result=None, data_hash=dh)
    # spec, data and seed, plus the model code, so that a cache never outlives a change of the model
    f.extra["content_hash"] = hashlib.sha256((_canonical(call) + dh + _code_hash()).encode()).hexdigest()
    if engine == "statsmodels":
        frequentist.fit_statsmodels(f)
    elif options.get("_defer_sampling"):
        # used by irmodels.models.bayes.fit_ensemble: build the model, sample later
        f.extra["model"], f.extra["prepared"] = bayes.build_model(f)
    else:
        bayes.fit_pymc(f, cache_dir=Path(options["cache_dir"]) if options.get("cache_dir") else None)
    return f
