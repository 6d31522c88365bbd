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
  :class:`~irmodels.core.errors.SchemaError` listing every missing cell;
  ``missing="drop"`` drops those rows and issues a
  :class:`~irmodels.core.errors.DataDroppedWarning` with the count.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from irmodels.core.errors import ModelSpecError
from irmodels.models.design import (
    ENGINES,
    FAMILIES,
    Design,
    _outcome_of,
    _rhs_variables,
    build_design,
    data_hash,
)

__all__ = ["fit", "Fit", "TIDY_COLUMNS", "MCMC_COLUMNS", "FREQUENTIST_COLUMNS"]

TIDY_COLUMNS = ["term", "estimate", "std_error", "lower", "upper", "method", "spec_id"]
#: Columns of engine ``pymc`` after :data:`TIDY_COLUMNS`: convergence diagnostics, then the Monte
#: Carlo standard error of ``estimate``, ``lower`` and ``upper`` (on the reported scale).
MCMC_COLUMNS = ["r_hat", "ess_bulk", "ess_tail", "n_divergent", "converged", "mcse_estimate", "mcse_lower",
                "mcse_upper"]
#: Columns of engine ``statsmodels`` after :data:`TIDY_COLUMNS`: the p-value and the
#: complete-data degrees of freedom ``n - p`` (used by :func:`irmodels.core.pooling.pool`).
FREQUENTIST_COLUMNS = ["p_value", "df_resid"]

# Terms that are regression coefficients (exponentiated to odds ratios on request);
# thresholds, standard deviations and dispersions are reported on their own scale.
COEF_PREFIXES_NOT = ("threshold[", "sd(", "phi", "sd_department")
_NOT_HASHED = ("cache_dir", "spec_id", "on_fail", "progressbar", "cores", "_defer_sampling")


class _LazyDataHash:
    """``Fit.data_hash``, computed on first read.

    Hashing writes the used columns as CSV (about 2 s per 10^6 rows); only the PyMC engine's
    cache keys on it, so :func:`fit` computes it at once for ``engine="pymc"`` and leaves it to
    the first read otherwise, from a snapshot of the used columns taken at fit time (a
    copy-on-write selection: later edits of the caller's frame do not reach it).
    """

    def __get__(self, obj, owner=None):
        if obj is None:  # the dataclass default: computed lazily
            return None
        value = obj.__dict__.get("_data_hash")
        if value is None and obj.__dict__.get("_hash_source") is not None:
            value = obj.__dict__["_data_hash"] = data_hash(obj.__dict__["_hash_source"])
            del obj.__dict__["_hash_source"]  # hashed: the snapshot is not needed any more
        return value

    def __set__(self, obj, value) -> None:
        obj.__dict__["_data_hash"] = value


def _code_hash() -> str:
    """Hash of the model code: a cached fit made by other model code is never reused."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(here.glob("*.py")):  # every module of irmodels.models, whatever the layout
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


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
        sha256 of the canonical CSV bytes of the columns used (computed on first read for
        engine ``statsmodels``, which caches nothing; see :attr:`content_hash`).
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
    data_hash: str | None = _LazyDataHash()  # type: ignore[assignment]
    extra: dict = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """sha256 of the call (spec, options that change estimates, seed), the data hash and the model code.

        The key of the posterior cache (:mod:`irmodels.models.cache`); also in
        ``extra["content_hash"]`` once computed (at fit time for engine ``pymc``).
        """
        if "content_hash" not in self.extra:
            call = self.__dict__.get("_call") or _canonical(_call_record(self))
            self.extra["content_hash"] = hashlib.sha256((call + self.data_hash + _code_hash()).encode()).hexdigest()
        return self.extra["content_hash"]

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
            gate of :func:`irmodels.models.posterior.check_convergence`).
        """
        if not 0 < ci_prob < 1:
            raise ModelSpecError(f"ci_prob={ci_prob}: must be in (0, 1)")
        if self.engine == "statsmodels":
            from irmodels.models.frequentist import tidy_statsmodels

            out = tidy_statsmodels(self, ci_prob)
        else:
            from irmodels.models.posterior import tidy_pymc

            out = tidy_pymc(self, ci_prob)
        out["spec_id"] = self.spec_id
        if exponentiate:
            is_coef = ~out["term"].str.startswith(COEF_PREFIXES_NOT)
            for col in ("estimate", "lower", "upper"):
                value = np.exp(out.loc[is_coef, col].to_numpy(dtype=float))
                mcse = f"mcse_{col}"
                if mcse in out.columns:  # delta method: d exp(x) = exp(x) dx (exact scaling for quantiles)
                    out.loc[is_coef, mcse] = value * out.loc[is_coef, mcse].to_numpy(dtype=float)
                out.loc[is_coef, col] = value
        cols = TIDY_COLUMNS + [c for c in MCMC_COLUMNS + FREQUENTIST_COLUMNS if c in out.columns]
        return out[cols].reset_index(drop=True)


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def _call_record(f: Fit) -> dict:
    """The arguments of a fit that identify it (content hash and default ``spec_id``)."""
    return {"formula": f.formula, "family": f.family, "engine": f.engine, "group": f.group, "weights": f.weights,
            "seed": int(f.seed), "priors": f.priors,
            # options that cannot change the estimates are left out of the content hash
            "options": {k: v for k, v in f.options.items() if k not in _NOT_HASHED}}


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
        ("nutpie" default, or "pymc"), ``target_accept`` (default 0.99 for
        ``beta_binomial``, 0.9 otherwise: ``irmodels.models.bayes.TARGET_ACCEPT``), ``on_fail``
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
    from irmodels.models import frequentist

    if engine == "pymc":  # imports PyMC: only when it is used
        from irmodels.models import bayes

        allowed = bayes.OPTIONS
    else:
        allowed = frequentist.OPTIONS
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
    f = Fit(formula=formula, family=family, engine=engine, group=group, weights=weights, seed=int(seed),
            priors=priors, options=dict(options), spec_id="", design=design, result=None)
    call = _canonical(_call_record(f))
    f.spec_id = options.get("spec_id") or "fit_" + hashlib.sha256(call.encode()).hexdigest()[:10]
    f.__dict__["_call"] = call
    f.__dict__["_hash_source"] = design.data[used_cols]  # copy-on-write snapshot; hashed on first read
    if engine == "statsmodels":
        frequentist.fit_statsmodels(f)
        return f
    # spec, data and seed, plus the model code, so that a cache never outlives a change of the model
    f.content_hash  # noqa: B018 - computed now: the posterior cache is keyed on it
    if options.get("_defer_sampling"):
        # used by irmodels.models.ensemble.fit_ensemble: build the model, sample later
        f.extra["model"], f.extra["prepared"] = bayes.build_model(f)
    else:
        bayes.fit_pymc(f, cache_dir=Path(options["cache_dir"]) if options.get("cache_dir") else None)
    return f
