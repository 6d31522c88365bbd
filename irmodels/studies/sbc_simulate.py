"""SBC's simulated data sets: the 2017-like design and a prior draw per Bayesian family.

The design (countries with their 2017 numbers of respondents; ``beds_class``, ``teaching`` and
``chair_profile`` with exactly the 2017 published counts, assigned by independent random
permutations) and the parameters drawn from each family's priors are described in
:mod:`irmodels.studies.sbc`; :func:`simulate_family` returns one data set, the true values and
the arguments of :func:`irmodels.fit` for the family.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import special

from irmodels.core.errors import IrmodelsError

#: Bayesian families of the study (name -> description).
FAMILIES: dict[str, str] = {
    "logit": "hierarchical logistic (bernoulli, country intercepts): cover_24_7",
    "ordinal": "cumulative logit, 3 classes (female_ir_share_class 0 / 1-25 / >25), country intercepts",
    "beta_binomial": "beta-binomial counts n_female_ir of n_ir, country intercepts",
    "share": "female-IR share: binomial measurement model (counts or share class), country intercepts",
}


#: The likelihood (``irmodels.models.likelihood_data._Prepared.kind``, the key of
#: :data:`irmodels.models.bayes.TARGET_ACCEPT`) each family's model has.
FAMILY_KIND: dict[str, str] = {"logit": "logistic", "ordinal": "ordinal", "beta_binomial": "beta_binomial",
                               "share": "latent"}


#: Design of the simulated data sets (see :mod:`irmodels.studies.sbc`).
DEFAULT_DESIGN: dict[str, Any] = {
    "n_ir_max": 10,          # IRs per department ~ U{1..n_ir_max} (beta-binomial, share)
    "count_fraction": 0.3,   # share family: departments reporting counts (a fixed number, random rows)
}

_PREDICTORS = ("beds_class", "teaching", "chair_profile")
_OUTCOME = {"logit": "cover_24_7", "ordinal": "female_ir_share_class", "beta_binomial": "n_female_ir",
            "share": "n_female_ir"}


# --------------------------------------------------------------------------- design


@functools.cache
def _margins_2017() -> dict[str, tuple[tuple[str, ...], tuple[int, ...]]]:
    """2017 published counts of country and the predictors: ``{variable: (levels, counts)}``."""
    from irmodels.data.codebook import categories
    from irmodels.data.waves.esr_cirse_2017 import published_margins

    m = published_margins()
    out: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}
    for var in ("country", *_PREDICTORS):
        rows = m[m["variable"] == var]
        if rows.empty:
            raise IrmodelsError(f"the 2017 published margins have no {var!r}: cannot build the 2017-like design")
        counts = dict(zip(rows["category"].astype(str), rows["count"].astype(int)))
        if var == "country":
            levels = tuple(counts)  # published order (largest first)
        elif var == "teaching":
            levels = ("false", "true")
        else:
            levels = tuple(c for c in categories(var) if c in counts)
        out[var] = (levels, tuple(int(counts[lv]) for lv in levels))
    n = {v: sum(c) for v, (_, c) in out.items()}
    if len(set(n.values())) != 1:
        raise IrmodelsError(f"2017 margins of different totals {n}: the 2017-like design needs one respondent count")
    return out


def _share_levels() -> tuple[list[str], dict[str, list[str]]]:
    """Ordinal / share class levels after the specs' merge (``0``, ``1-25``, ``>25``) and the merge."""
    from irmodels.data.codebook import categories
    from irmodels.models.specs import MERGE_25

    merge = {k: list(v) for k, v in MERGE_25["female_ir_share_class"].items()}
    merged = {o for olds in merge.values() for o in olds}
    levels: list[str] = []
    for c in categories("female_ir_share_class"):
        if c not in merged:
            levels.append(c)
        else:
            new = next(k for k, olds in merge.items() if c in olds)
            if new not in levels:
                levels.append(new)
    return levels, merge


def design_2017(rng: np.random.Generator) -> pd.DataFrame:
    """One 2017-like set of departments: countries, bed class, teaching status and chair profile.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    pandas.DataFrame
        98 rows (the 2017 respondents): ``country`` (the 24 published countries with their
        published numbers of respondents), ``beds_class`` and ``chair_profile`` (ordered
        categoricals, codebook levels), ``teaching`` (bool); each predictor takes exactly its
        2017 published counts, assigned by an independent random permutation.
    """
    mg = _margins_2017()
    levels, counts = mg["country"]
    out: dict[str, Any] = {"country": np.repeat(np.array(levels, dtype=object), counts)}
    for var in _PREDICTORS:
        lv, cn = mg[var]
        codes = rng.permutation(np.repeat(np.arange(len(lv)), cn))
        if var == "teaching":
            out[var] = np.asarray(lv, dtype=object)[codes] == "true"
        else:
            out[var] = pd.Categorical.from_codes(codes, categories=list(lv), ordered=True)
    return pd.DataFrame(out)


def _design_matrix(d: pd.DataFrame, intercept: bool) -> tuple[np.ndarray, list[str]]:
    """Treatment-coded design matrix with irmodels' term names (checked against the model's own)."""
    cols, names = [], []
    if intercept:
        cols.append(np.ones(len(d)))
        names.append("Intercept")
    for var in _PREDICTORS:
        if var == "teaching":
            cols.append(d[var].to_numpy(dtype=float))
            names.append("teaching")
            continue
        cat = d[var].cat
        for j, lev in enumerate(cat.categories[1:], start=1):
            cols.append((cat.codes.to_numpy() == j).astype(float))
            names.append(f"{var}[T.{lev}]")
    return np.column_stack(cols), names


def _prior_scales(priors: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The prior scales the models use (``bayes._priors``: defaults merged with ``priors``)."""
    from irmodels.models import bayes

    return bayes._priors(SimpleNamespace(priors=dict(priors or {}), options={}))


# --------------------------------------------------------------------------- simulation


def simulate_family(family: str, rng: np.random.Generator, *, design: Mapping[str, Any] | None = None,
                    priors: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, dict[str, float], dict[str, Any]]:
    """Draw parameters from the prior of ``family`` and simulate one 2017-like data set.

    Parameters
    ----------
    family : {"logit", "ordinal", "beta_binomial", "share"}
    rng : numpy.random.Generator
    design : dict, optional
        Overrides of :data:`DEFAULT_DESIGN`.
    priors : dict, optional
        Prior scales (as ``irmodels.fit(priors=...)``); default the package's.

    Returns
    -------
    data : DataFrame
        The departments (:func:`design_2017`) with the outcome columns of the family.
    truth : dict
        ``{parameter: true value}``, parameter names as in the ranks table (``b[<term>]``,
        ``sd(country)``, ``a[<country>]``, ``threshold[<lo>|<hi>]``, ``phi``, ``sd_department``).
    fit_args : dict
        Arguments of :func:`irmodels.fit` for the family (formula, family, group, options).
    """
    if family not in FAMILIES:
        raise IrmodelsError(f"family={family!r}: valid families are {sorted(FAMILIES)}")
    des = {**DEFAULT_DESIGN, **dict(design or {})}
    unknown = sorted(set(des) - set(DEFAULT_DESIGN))
    if unknown:
        raise IrmodelsError(f"unknown design keys {unknown}; valid: {sorted(DEFAULT_DESIGN)}")
    pri = _prior_scales(priors)
    d = design_2017(rng)
    n = len(d)
    X, terms = _design_matrix(d, intercept=family != "ordinal")
    scales = np.array([pri["intercept"] if t == "Intercept" else pri["b"] for t in terms])
    b = rng.normal(0.0, scales)
    sd = abs(rng.normal(0.0, pri["sd_group"]))
    countries = list(_margins_2017()["country"][0])
    g = pd.Categorical(d["country"], categories=sorted(countries)).codes  # irmodels sorts group levels
    z = rng.normal(0.0, 1.0, len(countries))
    a = sd * z
    eta = X @ b + a[g]
    truth: dict[str, float] = {f"b[{t}]": float(v) for t, v in zip(terms, b)}
    truth["sd(country)"] = float(sd)
    # two country intercepts are ranked: the largest and the last (smallest) country in the published order
    for c in (countries[0], countries[-1]):
        truth[f"a[{c}]"] = float(a[sorted(countries).index(c)])
    formula = f"{_OUTCOME[family]} ~ " + " + ".join(_PREDICTORS)
    args: dict[str, Any] = {"formula": formula, "group": "country", "options": {}}
    if family == "logit":
        d["cover_24_7"] = rng.random(n) < special.expit(eta)
        args["family"] = "bernoulli"
    elif family == "ordinal":
        levels, _ = _share_levels()
        cut = np.sort(rng.normal(0.0, pri["cutpoints"], len(levels) - 1))
        # latent-variable form of the cumulative logit: P(Y <= j) = expit(theta_j - eta)
        y = (cut[None, :] < (eta + rng.logistic(size=n))[:, None]).sum(axis=1)
        d["female_ir_share_class"] = pd.Categorical.from_codes(y, categories=levels, ordered=True)
        for j in range(len(cut)):
            truth[f"threshold[{levels[j]}|{levels[j + 1]}]"] = float(cut[j])
        args["family"] = "ordinal"
    elif family == "beta_binomial":
        alpha, rate = pri["phi"]
        phi = rng.gamma(alpha, 1.0 / rate)
        n_ir = rng.integers(1, int(des["n_ir_max"]) + 1, size=n)
        mu = special.expit(eta)
        p = rng.beta(mu * phi, (1 - mu) * phi)
        d["n_ir"] = n_ir
        d["n_female_ir"] = rng.binomial(n_ir, p)
        truth["phi"] = float(phi)
        args["family"] = "beta_binomial"
        args["options"] = {"trials": "n_ir"}
    else:  # share
        from irmodels.data.codebook import categories
        from irmodels.data.schema import share_class

        sd_dep = abs(rng.normal(0.0, pri["sd_department"]))
        nmax = int(des["n_ir_max"])
        n_ir = rng.integers(1, nmax + 1, size=n)
        p = special.expit(eta + sd_dep * rng.normal(0.0, 1.0, n))
        k = rng.binomial(n_ir, p)
        n_count = int(round(float(des["count_fraction"]) * n))
        counted = np.zeros(n, dtype=bool)
        counted[rng.choice(n, size=n_count, replace=False)] = True
        codes = categories("female_ir_share_class")
        cls = [None if c else share_class("female_ir_share_class", int(kk), int(nn))
               for c, kk, nn in zip(counted, k, n_ir)]
        d["n_ir"] = pd.array(np.where(counted, n_ir, 0), dtype="Int64")
        d["n_female_ir"] = pd.array(np.where(counted, k, 0), dtype="Int64")
        d.loc[~counted, ["n_ir", "n_female_ir"]] = pd.NA
        d["female_ir_share_class"] = pd.Categorical(cls, categories=codes, ordered=True)
        truth["sd_department"] = float(sd_dep)
        _, merge = _share_levels()
        args["family"] = "binomial"
        args["options"] = {"trials": "n_ir", "share_class": "female_ir_share_class",
                           "merge_categories": {"female_ir_share_class": merge},
                           "trials_distribution": {int(v): 1.0 / nmax for v in range(1, nmax + 1)}}
    return d, truth, args
