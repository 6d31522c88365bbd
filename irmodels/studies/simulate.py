"""A SIMULATED survey wave with known generating parameters (wave ``simulated_demo``).

Nothing here is real data. The simulated wave shows the new-wave workflow end to end
(``tools/make_simulated_wave.py`` turns it into a raw survey-tool export) and gives the
model tests a truth to recover (:data:`DEFAULT_PARAMS`, :func:`truth`).

Generating model (one row per department ``i`` in country ``c[i]``)
-------------------------------------------------------------------
* ``country`` ~ Categorical, probabilities proportional to Table 1 of the 2017 paper.
* ``beds_class`` ~ Categorical(``beds_probs``); ``chair_profile`` ~ Categorical(``chair_probs``).
* ``teaching`` ~ Bernoulli(logit^-1(``teaching_intercept`` + ``teaching_per_beds_step`` * beds
  index)).
* ``n_radiologists`` = max(3, round(exp(log(median[beds]) + ``radiologists_sdlog`` * z))).
* ``n_residents`` ~ Poisson(``residents_per_radiologist`` * n_radiologists) if teaching, else 0.
* ``n_ir`` ~ Binomial(n_radiologists, logit^-1(``ir_intercept`` + ``ir_per_chair_step`` * chair
  index)).
* ``n_female_radiologists`` ~ BetaBinomial(n_radiologists, mean ``female_radiologist_mean``,
  precision ``female_radiologist_phi``).
* ``n_female_ir`` ~ BetaBinomial(n_ir, mean logit^-1(eta_f), precision ``female_ir.phi``) with
  eta_f = ``female_ir.intercept`` + sum of treatment-coded coefficients (``female_ir.coef``)
  + ``female_ir.country_scale`` * u[c] - the same predictors as 24/7 cover.
* ``cover_24_7`` ~ Bernoulli(logit^-1(eta)), eta = ``cover_24_7.intercept`` + u[c] +
  ``cover_24_7.coef`` (treatment coding: references ``<200``, ``teaching`` false, ``DR``),
  u[c] = ``country_effects[c]`` (one draw from N(0, 0.5^2), centred to sum 0).
* ``procedure_volume_class`` from ``n_ir * volume_per_ir * lognormal(0, 0.5)`` ("0" iff no IR);
  ``ir_unit`` ~ Bernoulli(logit^-1(-1 + 0.5 n_ir)).
* Share classes are derived from the counts (:func:`irmodels.data.schema.share_class`).
* Item non-response, missing completely at random: ``cover_24_7`` with probability
  ``missing.cover_24_7``; ``n_female_ir`` (and so its share class) with ``missing.n_female_ir``.

:func:`simulate_share_departments` simulates the female-IR share alone, as the latent-proportion
model has it (recovery checks of that model; also SIMULATED).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from irmodels.core.errors import Problem, SchemaError

__all__ = ["simulate_wave", "simulate_share_departments", "truth", "DEFAULT_PARAMS", "SHARE_TRUTH", "WAVE"]

WAVE = "simulated_demo"

_TABLE1 = {
    "DE": 15, "TR": 9, "AT": 8, "HR": 8, "FR": 8, "ES": 7, "IE": 5, "IT": 5, "GB": 4, "BG": 4, "CH": 3,
    "RO": 3, "IL": 2, "KZ": 2, "NL": 2, "SE": 2, "SI": 2, "DK": 2, "EE": 2, "FI": 1, "SK": 1, "BY": 1,
    "LT": 1, "RU": 1,
}

#: The generating parameters (SIMULATED; see the module docstring for the model).
DEFAULT_PARAMS: dict[str, Any] = {
    "country_weights": dict(_TABLE1),
    "country_sd": 0.5,
    # one draw from N(0, 0.5^2) per country (numpy default_rng(20170517)), centred to sum 0
    "country_effects": {
        "DE": 0.17, "TR": 0.075, "AT": -0.048, "HR": 0.752, "FR": -0.305, "ES": -0.121, "IE": -0.221,
        "IT": -0.597, "GB": 0.453, "BG": 0.301, "CH": 0.32, "RO": 0.115, "IL": -0.26, "KZ": 0.086,
        "NL": 0.265, "SE": 0.0, "SI": 0.267, "DK": 0.087, "EE": 0.01, "FI": 0.041, "SK": 0.36,
        "BY": -0.856, "LT": -0.387, "RU": -0.506,
    },
    "beds_probs": {"<200": 0.10, "200-399": 0.22, "400-799": 0.33, ">=800": 0.35},
    "chair_probs": {"DR": 0.30, "DR_some_IR": 0.30, "DR_IR_equal": 0.25, "IR_mostly": 0.15},
    "teaching_intercept": -0.5,
    "teaching_per_beds_step": 1.0,
    "radiologists_median": {"<200": 7, "200-399": 12, "400-799": 20, ">=800": 35},
    "radiologists_sdlog": 0.35,
    "residents_per_radiologist": 0.3,
    "ir_intercept": -1.7,
    "ir_per_chair_step": 0.25,
    "female_radiologist_mean": 0.45,
    "female_radiologist_phi": 30.0,
    "cover_24_7": {
        "intercept": -1.0,
        "coef": {
            "beds_class[200-399]": 0.4,
            "beds_class[400-799]": 0.9,
            "beds_class[>=800]": 1.5,
            "teaching[True]": 0.5,
            "chair_profile[DR_some_IR]": 0.1,
            "chair_profile[DR_IR_equal]": 0.3,
            "chair_profile[IR_mostly]": 0.6,
        },
    },
    "female_ir": {
        "intercept": -2.3,
        "coef": {
            "beds_class[200-399]": 0.1,
            "beds_class[400-799]": 0.2,
            "beds_class[>=800]": 0.3,
            "teaching[True]": 0.2,
            "chair_profile[DR_some_IR]": 0.0,
            "chair_profile[DR_IR_equal]": 0.1,
            "chair_profile[IR_mostly]": -0.2,
        },
        "phi": 20.0,
        "country_scale": 0.5,
    },
    "volume_per_ir": 150.0,
    "missing": {"cover_24_7": 0.02, "n_female_ir": 0.03},
}

_BEDS = ["<200", "200-399", "400-799", ">=800"]
_CHAIR = ["DR", "DR_some_IR", "DR_IR_equal", "IR_mostly"]


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if k not in out:
            raise SchemaError([Problem(f"unknown parameter; valid: {sorted(base)}", column=k)], what="simulate_wave params")
        if isinstance(v, dict) and isinstance(out[k], dict) and k not in ("country_effects", "country_weights"):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def truth(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The generating parameters used by :func:`simulate_wave` (defaults merged with ``params``)."""
    return _merge(DEFAULT_PARAMS, params or {})


def _linpred(block: dict[str, Any], beds: np.ndarray, teaching: np.ndarray, chair: np.ndarray) -> np.ndarray:
    coef = block["coef"]
    eta = np.full(beds.shape, float(block["intercept"]))
    for j, b in enumerate(_BEDS[1:], start=1):
        eta += coef.get(f"beds_class[{b}]", 0.0) * (beds == j)
    eta += coef.get("teaching[True]", 0.0) * teaching
    for j, c in enumerate(_CHAIR[1:], start=1):
        eta += coef.get(f"chair_profile[{c}]", 0.0) * (chair == j)
    return eta


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _beta_binomial(rng: np.random.Generator, n: np.ndarray, mean: np.ndarray, phi: float) -> np.ndarray:
    p = rng.beta(mean * phi, (1 - mean) * phi)
    return rng.binomial(n, p)


def simulate_wave(n: int, seed: int, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Simulate a canonical respondent-level table (wave ``"simulated_demo"``; SIMULATED).

    Parameters
    ----------
    n : int
        Number of departments (>= 1).
    seed : int
        Seed of the :class:`numpy.random.Generator`; same seed, same table.
    params : dict, optional
        Overrides of :data:`DEFAULT_PARAMS` (nested dicts are merged).

    Returns
    -------
    pandas.DataFrame
        Validated canonical table (:func:`irmodels.data.schema.validate`) with ``respondent_id``
        ``S0001``..., ``wave`` ``"simulated_demo"``, ``country``, ``beds_class``,
        ``teaching``, ``chair_profile``, the counts ``n_radiologists``, ``n_residents``,
        ``n_ir``, ``n_female_radiologists``, ``n_female_ir``, the share classes derived from
        them, ``procedure_volume_class``, ``ir_unit``, ``cover_24_7``. ``attrs["truth"]``
        holds the parameters and ``attrs["country_effects"]`` the country effects.

    Examples
    --------
    >>> df = simulate_wave(50, seed=1)
    >>> df["wave"].unique().tolist(), len(df)
    (['simulated_demo'], 50)
    """
    from irmodels.data.schema import _share_class_vec, validate

    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise SchemaError([Problem("n must be a positive integer", column="n", value=n)], what="simulate_wave")
    p = truth(params)
    rng = np.random.default_rng(seed)
    cc = list(p["country_weights"])
    w = np.array([p["country_weights"][c] for c in cc], float)
    country = rng.choice(len(cc), size=n, p=w / w.sum())
    u = np.array([p["country_effects"].get(c, 0.0) for c in cc])[country]
    beds = rng.choice(4, size=n, p=np.array([p["beds_probs"][b] for b in _BEDS]))
    chair = rng.choice(4, size=n, p=np.array([p["chair_probs"][c] for c in _CHAIR]))
    teaching = rng.random(n) < _expit(p["teaching_intercept"] + p["teaching_per_beds_step"] * beds)
    med = np.array([p["radiologists_median"][b] for b in _BEDS], float)[beds]
    n_rad = np.maximum(3, np.rint(np.exp(np.log(med) + p["radiologists_sdlog"] * rng.standard_normal(n)))).astype(np.int64)
    n_res = np.where(teaching, rng.poisson(p["residents_per_radiologist"] * n_rad), 0)
    n_ir = rng.binomial(n_rad, _expit(p["ir_intercept"] + p["ir_per_chair_step"] * chair))
    n_frad = _beta_binomial(rng, n_rad, np.full(n, p["female_radiologist_mean"]), p["female_radiologist_phi"])
    fi = p["female_ir"]
    mu_f = _expit(_linpred(fi, beds, teaching, chair) + fi["country_scale"] * u)
    n_fir = _beta_binomial(rng, n_ir, mu_f, fi["phi"])
    # female IRs cannot outnumber female radiologists: the IR women are among the radiologist women
    n_frad = np.maximum(n_frad, n_fir)
    cover = rng.random(n) < _expit(_linpred(p["cover_24_7"], beds, teaching, chair) + u)
    vol = n_ir * p["volume_per_ir"] * np.exp(0.5 * rng.standard_normal(n))
    vol_cls = np.select([n_ir == 0, vol <= 200, vol <= 500], ["0", "1-200", "201-500"], default=">500")
    ir_unit = rng.random(n) < _expit(-1.0 + 0.5 * n_ir)
    miss_cover = rng.random(n) < p["missing"]["cover_24_7"]
    miss_fir = rng.random(n) < p["missing"]["n_female_ir"]

    ir_share = _share_class_vec("ir_share_class", n_ir, n_rad)
    frad_share = _share_class_vec("female_radiologist_share_class", n_frad, n_rad)
    fir_share = np.full(n, None, dtype=object)
    has_ir = n_ir > 0
    fir_share[has_ir] = _share_class_vec("female_ir_share_class", n_fir[has_ir], n_ir[has_ir])
    fir_share[miss_fir] = None
    df = pd.DataFrame({
        "respondent_id": [f"S{i:04d}" for i in range(1, n + 1)],
        "wave": WAVE,
        "country": np.asarray(cc, dtype=object)[country],
        "beds_class": np.asarray(_BEDS, dtype=object)[beds],
        "teaching": teaching,
        "chair_profile": np.asarray(_CHAIR, dtype=object)[chair],
        "n_radiologists": n_rad,
        "n_residents": n_res,
        "n_ir": n_ir,
        "n_female_radiologists": n_frad,
        "n_female_ir": pd.array(np.where(miss_fir, 0, n_fir), dtype="Int64"),
        "ir_share_class": ir_share,
        "female_radiologist_share_class": frad_share,
        "female_ir_share_class": fir_share,
        "procedure_volume_class": vol_cls,
        "ir_unit": ir_unit,
        "cover_24_7": pd.array(cover, dtype="boolean"),
    })
    df.loc[miss_fir, "n_female_ir"] = pd.NA
    df.loc[miss_cover, "cover_24_7"] = pd.NA
    out = validate(df, source="simulate_wave")
    out.attrs["truth"] = p
    out.attrs["country_effects"] = dict(p["country_effects"])
    return out


#: Generating values of :func:`simulate_share_departments` (logit scale; SIMULATED): female share
#: p between expit(-2) = 0.12 (under 200 beds, not teaching) and expit(-1) = 0.27.
SHARE_TRUTH: dict[str, float] = {"Intercept": -2.0, "beds_step": 0.2, "teaching": 0.4}


def simulate_share_departments(n: int, seed: int, *, sd_department: float, count_fraction: float = 0.3,
                               n_ir_max: int = 10, coef: dict[str, float] | None = None) -> pd.DataFrame:
    """Departments with a latent female-IR share, observed as counts or as the share class (SIMULATED).

    ``n_ir ~ U{1..n_ir_max}``; ``beds_class`` ~ Categorical(``beds_probs`` of
    :data:`DEFAULT_PARAMS`), ``beds_step`` its index 0..3; ``teaching`` ~ Bernoulli(0.6);
    ``logit p_i = Intercept + beds_step * beds_step_i + teaching * teaching_i + sd_department * u_i``,
    ``u_i ~ N(0, 1)``; ``n_female_ir ~ Binomial(n_ir, p_i)``; the share class is the schema's
    class of ``n_female_ir / n_ir`` (:func:`irmodels.data.schema.share_class`). A random
    ``count_fraction`` of the departments report their counts; the others only their share class
    (``n_ir`` and ``n_female_ir`` missing, as in 2017).

    Parameters
    ----------
    n : int
        Number of departments.
    seed : int
        Seed of the :class:`numpy.random.Generator`.
    sd_department : float
        True between-department sd of the latent logit share (0: no heterogeneity, every
        department's share is given by its covariates).
    count_fraction : float
        Share of departments that report counts.
    n_ir_max : int
        Largest IR team.
    coef : dict, optional
        Overrides of :data:`SHARE_TRUTH`.

    Returns
    -------
    pandas.DataFrame
        ``beds_class`` (ordered), ``beds_step``, ``teaching``, ``n_ir``, ``n_female_ir`` (``Int64``,
        missing where only the class is reported), ``female_ir_share_class`` (ordered, codebook
        codes, every row), ``p`` (the latent share); ``attrs["truth"]`` holds the coefficients
        and ``sd_department``.
    """
    from irmodels.data.codebook import categories
    from irmodels.data.schema import _share_class_vec

    c = {**SHARE_TRUTH, **(coef or {})}
    rng = np.random.default_rng(seed)
    beds = rng.choice(4, size=n, p=np.array([DEFAULT_PARAMS["beds_probs"][b] for b in _BEDS]))
    teaching = rng.random(n) < 0.6
    eta = c["Intercept"] + c["beds_step"] * beds + c["teaching"] * teaching
    p = _expit(eta + sd_department * rng.standard_normal(n))
    n_ir = rng.integers(1, n_ir_max + 1, size=n)
    k = rng.binomial(n_ir, p)
    counted = rng.random(n) < count_fraction
    share = categories("female_ir_share_class")
    df = pd.DataFrame({
        "beds_class": pd.Categorical(np.asarray(_BEDS, dtype=object)[beds], categories=_BEDS, ordered=True),
        "beds_step": beds.astype(float),
        "teaching": teaching,
        "n_ir": pd.array(np.where(counted, n_ir, 0), dtype="Int64"),
        "n_female_ir": pd.array(np.where(counted, k, 0), dtype="Int64"),
        "female_ir_share_class": pd.Categorical(_share_class_vec("female_ir_share_class", k, n_ir),
                                                categories=share, ordered=True),
        "p": p,
    })
    df.loc[~counted, ["n_ir", "n_female_ir"]] = pd.NA
    df.attrs["truth"] = {**c, "sd_department": float(sd_department)}
    return df
