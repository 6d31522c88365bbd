"""The paper's model specifications, as data (one list, :data:`SPECS`).

Every fitter loops over :data:`SPECS`; no model is copied per outcome. A spec
names the outcome, the predictors, the family, the grouping, survey weights,
priors and family options; :func:`fit_spec` turns a spec into one
:func:`irmodels.fit` call per engine.

Outcomes
--------
* ``cover_24_7`` -- 24/7 IR emergency coverage (bernoulli).
* Female IR representation, three views of one quantity:

  - ``female_ir_share_class`` -- the 2017 share class as an ordinal outcome
    (cumulative logit);
  - ``female_ir_share`` -- the latent proportion of female IRs per
    department, observed as counts ``n_female_ir`` of ``n_ir`` where a wave has
    them and as the share class otherwise (one likelihood; engine ``pymc``);
  - ``female_ir_counts`` -- counts only (beta-binomial; waves with counts).

Predictors: :data:`CORE_PREDICTORS` (``beds_class``, ``teaching``,
``chair_profile``); :func:`with_predictors` adds optional ones
(:data:`OPTIONAL_PREDICTORS`: ``procedure_volume_class``, ``ir_unit``) to
every spec without copying.

Frequentist fits of grouped specs
---------------------------------
``statsmodels`` has no maximum-likelihood binomial random-intercept model, so
:func:`fit_spec` fits grouped specs with engine ``statsmodels`` **without**
the country intercepts (pooled over countries) and with Firth's penalty for
the bernoulli family (small cells separate); the Bayesian engine carries the
country partial pooling.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

import numpy as np
import pandas as pd

from irmodels.core.errors import ModelSpecError

__all__ = ["ModelSpec", "SPECS", "CORE_PREDICTORS", "OPTIONAL_PREDICTORS", "make_spec", "get_spec",
           "with_predictors", "fit_spec", "applicable", "identification_labels", "fit_all", "fit_all_ensemble",
           "ANALYSIS"]

CORE_PREDICTORS: tuple[str, ...] = ("beds_class", "teaching", "chair_profile")
OPTIONAL_PREDICTORS: tuple[str, ...] = ("procedure_volume_class", "ir_unit")


@dataclass(frozen=True)
class ModelSpec:
    """One model of the paper.

    Attributes
    ----------
    spec_id : str
        Unique identifier, used as ``spec_id`` in every results table.
    outcome : str
        Outcome column (success count for binomial families).
    formula : str
        ``outcome ~ predictors`` (built from ``outcome`` and ``predictors``).
    family : str
        ``bernoulli``, ``binomial``, ``beta_binomial`` or ``ordinal``.
    group : str or None
        Column of partially pooled intercepts (``"country"``).
    weights : str or None
        Survey-weight column (engine ``statsmodels`` only).
    priors : dict
        Prior scales for engine ``pymc`` (empty: :data:`irmodels.models.bayes.DEFAULT_PRIORS`).
    predictors : tuple of str
    engines : tuple of str
        Engines that fit this spec.
    options : dict
        Family options passed to :func:`irmodels.fit` (``trials``, ``share_class``, ``firth``).
    label : str
        Human-readable description for tables and figures.
    """

    spec_id: str
    outcome: str
    formula: str
    family: str
    group: str | None
    weights: str | None
    priors: dict = field(default_factory=dict)
    predictors: tuple[str, ...] = CORE_PREDICTORS
    engines: tuple[str, ...] = ("statsmodels", "pymc")
    options: dict = field(default_factory=dict)
    label: str = ""

    def __post_init__(self) -> None:
        from irmodels.models.design import ENGINES, FAMILIES

        if self.family not in FAMILIES:
            raise ModelSpecError(f"spec {self.spec_id!r}: family {self.family!r} not in {list(FAMILIES)}")
        bad = [e for e in self.engines if e not in ENGINES]
        if bad:
            raise ModelSpecError(f"spec {self.spec_id!r}: engines {bad} not in {list(ENGINES)}")
        if self.formula != _formula(self.outcome, self.predictors):
            raise ModelSpecError(f"spec {self.spec_id!r}: formula {self.formula!r} does not match outcome and "
                                 f"predictors; build specs with make_spec()")

    @property
    def required_columns(self) -> list[str]:
        """Columns a data set needs for this spec."""
        cols = [self.outcome, *self.predictors]
        for c in (self.group, self.weights, self.options.get("trials"), self.options.get("share_class")):
            if c:
                cols.append(c)
        return list(dict.fromkeys(cols))


def _formula(outcome: str, predictors: Iterable[str]) -> str:
    return f"{outcome} ~ " + " + ".join(predictors)


def make_spec(spec_id: str, outcome: str, family: str, *, predictors: tuple[str, ...] = CORE_PREDICTORS,
              group: str | None = "country", weights: str | None = None, priors: dict | None = None,
              engines: tuple[str, ...] = ("statsmodels", "pymc"), options: dict | None = None,
              label: str = "") -> ModelSpec:
    """Build a :class:`ModelSpec` (the formula is derived from outcome and predictors)."""
    return ModelSpec(spec_id=spec_id, outcome=outcome, formula=_formula(outcome, predictors), family=family,
                     group=group, weights=weights, priors=dict(priors or {}), predictors=tuple(predictors),
                     engines=tuple(engines), options=dict(options or {}), label=label)


#: The 2017 paper publishes the female-IR share classes only as 0 / 1-25 / above 25 (25 / 47 / 18
#: of 90; the split of the 18 is not in the text), so the models use these three classes: the
#: finer split would come from the reconstruction's assumption set alone. Merging is reported.
MERGE_25: dict[str, dict[str, list[str]]] = {"female_ir_share_class": {">25": ["26-50", "51-75", ">75"]}}

#: The paper's models. Add a model here, never by copying fitting code.
SPECS: list[ModelSpec] = [
    make_spec("cover_24_7", "cover_24_7", "bernoulli", options={"firth": True},
              label="24/7 IR emergency coverage"),
    make_spec("female_ir_share_class", "female_ir_share_class", "ordinal", options={"merge_categories": MERGE_25},
              label="Female IR share class (cumulative logit)"),
    make_spec("female_ir_share", "n_female_ir", "binomial", engines=("pymc",),
              options={"trials": "n_ir", "share_class": "female_ir_share_class", "merge_categories": MERGE_25},
              label="Female IR share, latent proportion (counts or class)"),
    make_spec("female_ir_counts", "n_female_ir", "beta_binomial",
              options={"trials": "n_ir"}, label="Female IRs of all IRs (beta-binomial counts)"),
]


def get_spec(spec_id: str, specs: list[ModelSpec] | None = None) -> ModelSpec:
    """The spec with ``spec_id`` (raises :class:`ModelSpecError` listing the valid ids)."""
    specs = SPECS if specs is None else specs
    for s in specs:
        if s.spec_id == spec_id:
            return s
    raise ModelSpecError(f"unknown spec_id {spec_id!r}; valid: {[s.spec_id for s in specs]}")


def with_predictors(extra: Iterable[str], specs: list[ModelSpec] | None = None, *, suffix: str = "") -> list[ModelSpec]:
    """Every spec with ``extra`` predictors appended (e.g. ``OPTIONAL_PREDICTORS``).

    ``suffix`` is appended to each ``spec_id`` (default: ``"+" + "+".join(extra)``).
    """
    extra = tuple(extra)
    suffix = suffix or ("+" + "+".join(extra))
    out = []
    for s in SPECS if specs is None else specs:
        preds = s.predictors + tuple(p for p in extra if p not in s.predictors)
        out.append(replace(s, spec_id=s.spec_id + suffix, predictors=preds, formula=_formula(s.outcome, preds)))
    return out


def applicable(spec: ModelSpec, data: pd.DataFrame) -> tuple[bool, str]:
    """Whether ``data`` can fit ``spec``: (ok, reason if not).

    A spec is not applicable when a required column is absent or has no
    observed value at all (e.g. counts of female IRs in the 2017 wave). For
    the counts-or-class spec either the counts or the class suffices, given the
    team sizes (observed somewhere in the data, or ``trials_distribution``).
    """
    cols = spec.required_columns
    absent = [c for c in cols if c not in data.columns]
    sc = spec.options.get("share_class")
    if sc:
        counts_cols = [spec.outcome, spec.options["trials"]]
        has_counts = all(c in data.columns and data[c].notna().any() for c in counts_cols)
        has_class = sc in data.columns and data[sc].notna().any()
        if not (has_counts or has_class):
            return False, f"neither counts {counts_cols} nor {sc!r} observed"
        trials = spec.options["trials"]
        has_n = trials in data.columns and data[trials].notna().any()
        if not has_n and "trials_distribution" not in spec.options:
            # the binomial measurement model needs the team size n: observed, or its distribution
            return False, (f"share classes without any observed {trials!r}: the measurement model needs the IR team "
                           "sizes or their distribution (option trials_distribution); none is published for 2017")
        absent = [c for c in absent if c not in counts_cols + [sc]]
    if absent:
        return False, f"columns {absent} not in the data"
    empty = [c for c in cols if c in data.columns and data[c].isna().all() and not (sc and c in
             (spec.outcome, spec.options.get("trials"), sc))]
    if empty:
        return False, f"columns {empty} have no observed value"
    return True, ""


def fit_spec(spec: ModelSpec, data: pd.DataFrame, *, engine: str, seed: int = 0, **options: Any):
    """Fit one spec with one engine through :func:`irmodels.fit`.

    Engine ``statsmodels`` drops the spec's ``group`` (no ML random intercepts
    for binomial models; see the module notes) and its priors; engine ``pymc``
    drops ``weights`` and ``firth``. ``options`` override the spec's options
    (e.g. ``missing="drop"``, MCMC settings, ``cache_dir``); each engine takes
    the options it knows (MCMC settings are not passed to statsmodels).

    Returns
    -------
    irmodels.models.fit.Fit
    """
    from irmodels.models.fit import fit

    if engine not in spec.engines:
        raise ModelSpecError(f"spec {spec.spec_id!r} is fitted with engines {list(spec.engines)}, not {engine!r}")
    from irmodels.models import bayes, frequentist

    # one option set serves both engines: each engine takes the options it knows
    # (MCMC settings are meaningless for statsmodels, firth for PyMC)
    valid = (frequentist.OPTIONS if engine == "statsmodels" else bayes.OPTIONS) | {
        "trials", "missing", "share_class", "merge_categories"}
    opts = {k: v for k, v in {**spec.options, **options}.items() if k in valid}
    opts["spec_id"] = spec.spec_id
    if engine == "statsmodels":
        opts.pop("share_class", None)
        return fit(spec.formula, data, family=spec.family, engine=engine, group=None, weights=spec.weights,
                   seed=seed, **opts)
    opts.pop("firth", None)
    return fit(spec.formula, data, family=spec.family, engine=engine, group=spec.group, weights=None, seed=seed,
               priors=spec.priors or None, **opts)


def _predictor_of(term: str, predictors: Iterable[str]) -> str | None:
    for p in predictors:
        if term == p or term.startswith(p + "["):
            return p
    return None


def identification_labels(tidy: pd.DataFrame, spec: ModelSpec) -> pd.Series:
    """Identification status of every term of a 2017 fit (``identified``/``bounded``/``assumption``).

    A regression term of predictor ``x`` in a model of ``y`` estimates the
    association ``y~x`` (:func:`irmodels.identification.table.identification_status`;
    ``y`` is the 2017 variable observed: the share class for the
    female-representation specs). The intercept, thresholds and the country
    sd depend on joint distributions the paper does not publish: ``assumption``.
    """
    from irmodels.identification import identification_status

    y = spec.options.get("share_class") or spec.outcome
    out = []
    for term in tidy["term"]:
        p = _predictor_of(str(term), spec.predictors)
        out.append(identification_status(f"{y}~{p}") if p else "assumption")
    return pd.Series(out, index=tidy.index, name="identification")


def _jobs(specs: list[ModelSpec] | None, engines: tuple[str, ...], data: pd.DataFrame,
          skipped: list[dict]):
    """Yield (spec, engine) for every spec x engine that applies to ``data``.

    Specs that do not apply are appended to ``skipped`` with the reason, so that
    nothing is skipped silently.
    """
    for spec in SPECS if specs is None else specs:
        ok, reason = applicable(spec, data)
        for engine in engines:
            if engine not in spec.engines:
                continue
            if not ok:
                skipped.append({"spec_id": spec.spec_id, "engine": engine, "reason": reason})
                continue
            yield spec, engine


def fit_all(data: pd.DataFrame, *, specs: list[ModelSpec] | None = None,
            engines: tuple[str, ...] = ("statsmodels", "pymc"), seed: int = 0,
            **options: Any) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Fit every applicable spec with every engine on one data set.

    Returns
    -------
    tidy : DataFrame
        Stacked :meth:`Fit.tidy` rows plus ``engine``.
    fits : dict
        ``(spec_id, engine) -> Fit``.
    skipped : DataFrame
        ``spec_id``, ``engine``, ``reason`` for every spec x engine not fitted
        (not applicable to these data) or not reported; nothing is skipped silently.

    Notes
    -----
    Convergence policy: with ``on_fail="warn"`` a Bayesian fit that fails the gate is kept
    in ``fits`` for inspection but its rows are **not** in ``tidy`` (a non-converged fit
    never enters a reported number); it is listed in ``skipped`` with the gate's reason.
    Any other irmodels error of one spec (e.g. a spec the data cannot fit) is recorded the
    same way and the loop goes on, unless ``on_fail="raise"`` (the default), which
    re-raises.
    """
    from irmodels.core.errors import IrmodelsError

    on_fail = options.get("on_fail", "raise")
    rows, fits, skipped = [], {}, []
    for spec, engine in _jobs(specs, engines, data, skipped):
        try:
            f = fit_spec(spec, data, engine=engine, seed=seed, **options)
        except IrmodelsError as exc:
            if on_fail == "raise":
                raise
            skipped.append({"spec_id": spec.spec_id, "engine": engine, "reason": f"failed: {exc}"})
            continue
        fits[(spec.spec_id, engine)] = f
        conv = f.extra.get("convergence") if isinstance(getattr(f, "extra", None), dict) else None
        if engine == "pymc" and conv is not None and not conv.get("converged", True):
            skipped.append({"spec_id": spec.spec_id, "engine": engine,
                            "reason": "failed the convergence gate, not reported: max R-hat "
                                      f"{conv['r_hat_max']:.3f}, min bulk ESS {conv['ess_bulk_min']:.0f}, min tail "
                                      f"ESS {conv['ess_tail_min']:.0f}, {conv['n_divergent']} divergences"})
            continue
        t = f.tidy()
        t.insert(0, "engine", engine)
        rows.append(t)
    tidy = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return tidy, fits, pd.DataFrame(skipped, columns=["spec_id", "engine", "reason"])


def fit_all_ensemble(ensemble: pd.DataFrame, *, specs: list[ModelSpec] | None = None,
                     engines: tuple[str, ...] = ("statsmodels", "pymc"), seed: int = 0,
                     replicate_col: str = "replicate", **options: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit every applicable spec on every replicate of an ensemble and pool, labelled.

    Only for quantities the data identify (e.g. multiple imputations of item non-response
    in a respondent-level wave). A spec with a term the data do not identify (every 2017
    association: :func:`identification_labels`) is refused before any fitting: pooling
    reconstructions would present the assumption's spread as sampling variance; report
    such terms with :func:`irmodels.bounds` and :func:`irmodels.association_curve`.

    Frequentist estimates are pooled with Rubin's rules
    (:func:`irmodels.core.pooling.pool`); Bayesian posteriors are pooled by
    stacking equal numbers of draws per replicate
    (:func:`irmodels.core.stacking.pool_draws`, :func:`irmodels.core.stacking.summarise_draws`).
    Each row carries ``identification`` (:func:`identification_labels`).

    Returns
    -------
    pooled : DataFrame
        ``engine``, ``spec_id``, ``term``, ``estimate``, ``std_error``, ``lower``,
        ``upper``, ``method``, ``frac_var_reconstruction``, ``n_replicates``,
        ``identification`` (+ ``n_failed`` and ``converged_share`` for pymc: the
        number of replicate posteriors that failed the gate and were left out of the
        stack, and the share
        replicates whose posterior passed the convergence gate; ``note`` for
        statsmodels: terms whose ML estimate diverges in some replicate are
        not pooled but reported as not estimable, with the count).
    skipped : DataFrame
        ``spec_id``, ``engine``, ``reason``.

    Raises
    ------
    IdentificationError
        If a spec's predictors are not identified by the data (checked before fitting).
    """
    from irmodels.core.errors import IdentificationError
    from irmodels.models.posterior import _reported
    from irmodels.models.ensemble import fit_ensemble
    from irmodels.core.pooling import pool
    from irmodels.core.stacking import pool_draws, summarise_draws

    first = ensemble[ensemble[replicate_col] == ensemble[replicate_col].min()]
    wave = str(first["wave"].iloc[0]) if "wave" in first.columns and len(first) else ""
    if wave == "esr_cirse_2017":
        bad = []
        for spec in SPECS if specs is None else specs:
            terms = pd.DataFrame({"term": list(spec.predictors)})
            labels = identification_labels(terms, spec)
            bad += [f"{spec.spec_id}: {p} ({lab})" for p, lab in zip(spec.predictors, labels) if lab != "identified"]
        if bad:
            raise IdentificationError(
                "fit_all_ensemble: the 2017 published data do not identify these terms, so pooling reconstructions "
                f"would manufacture their intervals: {bad}. Use irmodels.bounds(predictor, outcome) and "
                "irmodels.association_curve(outcome, predictor) instead.")
    parts, skipped = [], []
    for spec, engine in _jobs(specs, engines, first, skipped):
        if engine == "statsmodels":
            per = []
            for r, rep in ensemble.groupby(replicate_col, sort=True):
                data = rep.drop(columns=replicate_col).reset_index(drop=True)
                t = fit_spec(spec, data, engine=engine, seed=seed, **options).tidy()
                t.insert(0, replicate_col, r)
                per.append(t)
            stacked = pd.concat(per, ignore_index=True)
            # a term whose ML estimate diverges (separation) in any replicate is reported as not
            # estimable, with the count, instead of pooling infinities or dropping replicates
            ok_rep = np.isfinite(stacked["std_error"]) & (stacked["estimate"].abs() <= 15)
            n_bad = (~ok_rep).groupby(stacked["term"], sort=False).sum()
            good_terms = list(n_bad.index[n_bad == 0])
            pooled = pool(stacked[stacked["term"].isin(good_terms)], by=("term",), replicate_col=replicate_col)
            pooled["note"] = ""
            bad_rows = [{"term": t, "estimate": np.nan, "std_error": np.nan, "lower": np.nan, "upper": np.nan,
                         "n_replicates": stacked[replicate_col].nunique(),
                         "note": f"not estimable: ML diverges (separation) in {int(n)} of "
                                 f"{stacked[replicate_col].nunique()} replicates"}
                        for t, n in n_bad.items() if n > 0]
            if bad_rows:
                pooled = pd.concat([pooled, pd.DataFrame(bad_rows)], ignore_index=True)
            order = {t: i for i, t in enumerate(n_bad.index)}
            pooled = pooled.sort_values("term", key=lambda c: c.map(order)).reset_index(drop=True)
            pooled["method"] = stacked["method"].iloc[0] + "+rubin"
        else:
            opts = {**spec.options, **options}
            opts.pop("firth", None)
            fits = fit_ensemble(spec.formula, ensemble, family=spec.family, group=spec.group,
                                replicate_col=replicate_col, seed=seed, priors=spec.priors or None,
                                spec_id=spec.spec_id, **opts)
            draws = []
            for f in fits:
                cols = {term: d.ravel() for term, d in _reported(f)}
                df = pd.DataFrame(cols)
                df.insert(0, replicate_col, f.extra["replicate"])
                draws.append(df)
            stacked = pool_draws(pd.concat(draws, ignore_index=True), replicate_col=replicate_col,
                                 diagnostics={f.extra["replicate"]: f.idata for f in fits},
                                 on_fail="exclude" if opts.get("on_fail", "raise") == "warn" else "raise")
            pooled = summarise_draws(stacked, columns=list(cols), replicate_col=replicate_col)
            pooled["method"] = fits[0].tidy()["method"].iloc[0] + "+stacked"
            # convergence policy: failed replicates are excluded from the stack (pool_draws), counted here
            pooled["n_failed"] = int(stacked.attrs.get("n_failed", 0))
            pooled["converged_share"] = float(np.mean([f.extra["convergence"]["converged"] for f in fits]))
        pooled["spec_id"] = spec.spec_id
        pooled.insert(0, "engine", engine)
        pooled["identification"] = identification_labels(pooled, spec).to_numpy()
        parts.append(pooled)
    return pd.concat(parts, ignore_index=True), pd.DataFrame(skipped, columns=["spec_id", "engine", "reason"])


#: Settings of the paper's model runs (analyses/30-35 share them, so their cached fits match).
ANALYSIS: dict[str, Any] = {
    "seed": 20170517,
    "k_2017": 20,  # reconstruction replicates for the Bayesian/Rubin pooling
    "assumption_sets": ("informed", "independent"),
    "mcmc": {"draws": 1000, "tune": 1000, "chains": 4, "on_fail": "warn"},
    "missing": "drop",  # item non-response: rows dropped explicitly, counts reported
}
