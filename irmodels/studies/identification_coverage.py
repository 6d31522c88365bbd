r"""Coverage of exact identification regions and assumption-conditional intervals (issue 9).

The 2017 survey (98 respondents of 1180 invited departments) was published only as
one-way margins. :mod:`irmodels.identification.bounds` reports the **identification
region** of an association (its range over every integer table with those margins) and
:mod:`irmodels.identification.curves` reports estimates **at fixed assumption
parameters** (odds ratios) with sampling intervals. This study checks both end to end on
simulated populations with a known truth:

known truth -> publish one-way margins like the paper -> reconstruct -> estimate -> compare.

Design (2017-like; every default read from the package's data, never typed here)
-------------------------------------------------------------------------------
* **Frame**: ``n_frame`` = 1180 departments in the four bed classes, in the shares of the
  ``"radiologists"`` frame scenario (:func:`irmodels.nonresponse.frame.frame_margins`), rounded to
  whole departments by largest remainders (the same frame in every simulation).
* **Teaching status and 24/7 cover**: within bed class :math:`b` (score
  :math:`s_b` = 0, 1, 2, 3 as in :data:`irmodels.identification.curves.SCORES`) the pair
  (teaching :math:`t`, cover :math:`c`) follows the log-linear model

  .. math:: P(t, c \mid b) \propto \exp(\alpha_t t + \alpha_c c + \theta_{tb} t s_b
            + \theta_{cb} c s_b + \theta_{ct} c t),

  with :math:`\theta_{cb} = \log\psi` (``psi``: the per-bed-class odds ratio of cover),
  :math:`\theta_{ct} = \log` ``or_teaching`` and :math:`\theta_{tb} = \log`
  ``or_teaching_beds``. Then cover given bed class and teaching is exactly logistic,
  :math:`\mathrm{logit}\,P(c=1 \mid b, t) = \alpha_c + s_b\log\psi + t\log OR_t`, so the
  true log odds ratio of cover for >= 800 vs < 200 beds (adjusted for teaching) is
  :math:`3\log\psi`; and the population is exactly the linear-by-linear log-linear model
  :func:`~irmodels.identification.curves.expected_table` fits, with ``teaching~beds_class``
  = ``or_teaching_beds``. When ``or_teaching`` = 1 (the default) teaching given bed class
  is logistic in the bed-class score with per-step odds ratio ``or_teaching_beds`` and the
  cover-size association is the same with and without teaching in the model.
* **Response**: missing at random given bed class, with the 2017 response rate of each
  class by default (the 2017 respondents per class, 4/15/28/51, over the frame's
  departments in the class: 98 respondents expected, larger hospitals responding more).
* **Item non-response**: each respondent leaves 24/7 cover unanswered with probability
  ``item_missing`` (1%; 2017: 1 of 98), completely at random.
* **Publication**: the respondents' one-way margins of ``beds_class``, ``teaching`` and
  ``cover_24_7`` (with ``"<NA>"``), nothing else, as the paper did.

Per simulation (one row of :func:`coverage_study`)
---------------------------------------------------
1. *Identification regions* (``region_*``): the respondents' true risk difference and
   odds ratio of cover (>= 800 vs < 200 beds; teaching vs not), among departments that
   answered, and the exact region from the published margins alone (``_Pair`` with
   ``groups=()``, ``joint={}``; :func:`~irmodels.identification.bounds._contrast_bounds`).
   The truth must lie inside in every simulation.
2. *Identified quantity* (``share_*``, ``manski_*``): the respondents' share with cover,
   read from the margins, equals the truth among respondents; the Manski bound
   (:func:`irmodels.nonresponse.sensitivity.manski_bounds`) contains the frame-wide prevalence.
   Both must hold in every simulation.
3. *Assumption-conditional estimates at the true parameter* (``poststrat_*``,
   ``regression_*``):

   (i) frame-wide prevalence post-stratified to the frame's bed classes,
   :func:`~irmodels.identification.curves.coverage_curve` at ``grid=[psi]``: does its
   interval cover the finite-population prevalence of the simulated frame?

   (ii) the regression term ``beds_class[T.>=800]`` of
   :func:`~irmodels.identification.curves.fit_expected` on the expected table at the true
   odds ratios. Its estimate *is* the assumption (:math:`3\log\psi`), so its interval
   always covers the true log odds ratio (``regression_covers_truth``, reported as a
   check). In what sense it is a sampling interval: does it cover the maximum-likelihood
   estimate of the same term from the simulated respondent-level data (logistic
   regression of cover on bed class and teaching)? Expected: at the nominal rate.

   A benchmark, not a property of the identification layer: does the Wald interval of
   that respondent-level fit cover :math:`3\log\psi` (what respondent-level data would give)?

Quantities that do not exist in a simulation are missing (``NaN``), never dropped: an
association with an empty comparison group, a post-stratified estimate with a bed class
without answering respondents, a regression with a level without respondents.
A respondent-level ML estimate that is infinite (separation: e.g. all of the few
< 200-bed respondents without cover) is recorded as infinite, and a finite interval does
not cover it. :func:`summarise_coverage` reports how many simulations each quantity was
undefined in.

Randomness: simulation ``i`` draws from ``numpy.random.default_rng`` seeded with the
``i``-th child of ``numpy.random.SeedSequence(seed)`` (``spawn_key=(i,)``), so its result
does not depend on ``n_sims`` nor on the order simulations are run in.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import optimize, stats

from irmodels.core.errors import Problem, SchemaError

__all__ = [
    "BEDS",
    "DEFAULT_DESIGN",
    "PublishedSurvey",
    "simulate_published_survey",
    "simulation_rng",
    "simulate_one",
    "coverage_study",
    "summarise_coverage",
    "QUANTITIES",
]

BEDS: tuple[str, ...] = ("<200", "200-399", "400-799", ">=800")
_NA = "<NA>"
_SAFE = {"<200": "lt200", "200-399": "200_399", "400-799": "400_799", ">=800": "ge800"}  # in column names
_FRAME_SCENARIO = "radiologists"

#: Defaults of the generator (see the module docstring); ``frame_shares`` and
#: ``response_rates`` of None mean: the ``"radiologists"`` frame scenario and the 2017
#: response rate per bed class.
DEFAULT_DESIGN: dict[str, Any] = {
    "n_frame": 1180,
    "psi": 1.5,
    "or_teaching": 1.0,
    "or_teaching_beds": 2.0,
    "teaching_intercept": 1.0,
    "cover_intercept": -0.45,
    "frame_shares": None,
    "response_rates": None,
    "item_missing": 0.01,
}

#: The summary's quantities: (quantity, column of the per-simulation table, kind, nominal
#: (None: the intervals' level), condition (column, value) restricting the simulations or
#: None, description).
QUANTITIES: tuple[tuple[str, str, str, float | None, tuple[str, str] | None, str], ...] = (
    ("region_contains_rd_beds", "region_rd_beds_inside", "always", 1.0, None,
     "identification region (margins only) contains the respondents' risk difference, >=800 vs <200 beds"),
    ("region_contains_or_beds", "region_or_beds_inside", "always", 1.0, None,
     "identification region (margins only) contains the respondents' odds ratio, >=800 vs <200 beds"),
    ("region_contains_rd_teaching", "region_rd_teaching_inside", "always", 1.0, None,
     "identification region (margins only) contains the respondents' risk difference, teaching vs not"),
    ("region_contains_or_teaching", "region_or_teaching_inside", "always", 1.0, None,
     "identification region (margins only) contains the respondents' odds ratio, teaching vs not"),
    ("respondent_share_exact", "share_exact", "always", 1.0, None,
     "identified: the respondents' share with cover read from the margins equals the truth among respondents"),
    ("manski_contains_frame_prevalence", "manski_contains", "always", 1.0, None,
     "bounded: the Manski bound contains the frame-wide prevalence"),
    ("regression_covers_true_log_or", "regression_covers_truth", "always (by construction)", 1.0, None,
     "assumption: the interval of beds_class[T.>=800] on the expected table at the true odds ratios contains "
     "3 log(psi) (its estimate is the assumption)"),
    ("poststratified_covers_frame_prevalence", "poststrat_covers", "sampling", None, None,
     "assumption (psi = true value; frame scenario; MAR within bed class): the post-stratified interval "
     "covers the frame-wide prevalence"),
    ("regression_covers_respondent_ml", "regression_covers_ml", "diagnostic", None, None,
     "assumption (odds ratios = true values): the interval of beds_class[T.>=800] on the expected table "
     "covers the respondent-level ML estimate of that term (an infinite ML estimate, under separation, "
     "is not covered). A diagnostic of the asymptotic (Wald) interval at n ~ 98 with ~4 respondents "
     "under 200 beds, not a coverage guarantee: the estimand is 3 log(psi), covered by construction"),
    ("regression_covers_respondent_ml_given_finite_ml", "regression_covers_ml", "diagnostic (conditional)", None,
     ("ml_status", "finite"),
     "as regression_covers_respondent_ml, among simulations whose respondent-level ML estimate is finite "
     "(conditions on the data: a diagnostic, not a coverage guarantee)"),
    ("respondent_ml_covers_true_log_or", "ml_covers_truth", "benchmark", None, None,
     "respondent-level data (not published): the Wald interval of the ML estimate covers 3 log(psi) "
     "(an infinite ML estimate has no interval: not covered)"),
    ("respondent_ml_covers_true_log_or_given_finite_ml", "ml_covers_truth", "benchmark (conditional)", None,
     ("ml_status", "finite"),
     "as respondent_ml_covers_true_log_or, among simulations whose ML estimate is finite"),
)


# --------------------------------------------------------------------------- design


@dataclass(frozen=True)
class _Design:
    n_frame: int
    psi: float
    or_teaching: float
    or_teaching_beds: float
    teaching_intercept: float
    cover_intercept: float
    frame_counts: dict[str, int]
    response_rates: dict[str, float]
    item_missing: float

    @property
    def frame_shares(self) -> dict[str, float]:
        return {b: self.frame_counts[b] / self.n_frame for b in BEDS}


def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(float(x))


def _largest_remainder(shares: Mapping[str, float], total: int) -> dict[str, int]:
    raw = np.array([float(shares[b]) for b in BEDS])
    raw = raw / raw.sum() * total
    base = np.floor(raw).astype(int)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: total - int(base.sum())]] += 1
    return {b: int(n) for b, n in zip(BEDS, base)}


def _default_frame_shares(n_frame: int) -> dict[str, float]:
    from irmodels.nonresponse.frame import frame_margins

    return dict(frame_margins(_FRAME_SCENARIO, variables=("beds_class",), total=n_frame)["beds_class"])


def _default_response_rates(frame_counts: Mapping[str, int]) -> dict[str, float]:
    """The 2017 response rate of each bed class: published respondents over frame departments."""
    from irmodels.identification.bounds import _margins

    resp = _margins()["beds_class"]
    return {b: min(1.0, resp[b] / frame_counts[b]) if frame_counts[b] else 0.0 for b in BEDS}


def _resolve_design(_problems: list[Problem] | None = None, _what: str = "identification coverage design",
                    **kw: Any) -> _Design:
    """Check every design argument (all problems at once, after ``_problems``) and fill in the defaults."""
    unknown = sorted(set(kw) - set(DEFAULT_DESIGN))
    problems: list[Problem] = list(_problems or [])
    problems += [Problem(f"unknown design argument; valid: {sorted(DEFAULT_DESIGN)}", column=k) for k in unknown]
    d = {**DEFAULT_DESIGN, **{k: v for k, v in kw.items() if k in DEFAULT_DESIGN}}
    n_frame = d["n_frame"]
    if not (isinstance(n_frame, numbers.Integral) and not isinstance(n_frame, bool) and n_frame >= len(BEDS)):
        problems.append(Problem(f"must be an integer >= {len(BEDS)}", column="n_frame", value=n_frame))
    for k in ("psi", "or_teaching", "or_teaching_beds"):
        if not (_is_real(d[k]) and d[k] > 0):
            problems.append(Problem("odds ratio must be a positive finite number", column=k, value=d[k]))
    for k in ("teaching_intercept", "cover_intercept"):
        if not _is_real(d[k]):
            problems.append(Problem("must be a finite number (log odds)", column=k, value=d[k]))
    if not (_is_real(d["item_missing"]) and 0 <= d["item_missing"] < 1):
        problems.append(Problem("must be a probability in [0, 1)", column="item_missing", value=d["item_missing"]))
    for k in ("frame_shares", "response_rates"):
        v = d[k]
        if v is None:
            continue
        if not isinstance(v, Mapping) or set(v) != set(BEDS):
            problems.append(Problem(f"must map exactly the bed classes {list(BEDS)}", column=k,
                                    value=None if not isinstance(v, Mapping) else sorted(map(str, v))))
            continue
        for b in BEDS:
            x = v[b]
            ok = _is_real(x) and (0 <= x if k == "frame_shares" else 0 <= x <= 1)
            if not ok:
                rule = "share must be a finite number >= 0" if k == "frame_shares" else "rate must be in [0, 1]"
                problems.append(Problem(rule, column=f"{k}[{b}]", value=x))
        if k == "frame_shares" and all(_is_real(v[b]) for b in BEDS) and sum(float(v[b]) for b in BEDS) <= 0:
            problems.append(Problem("shares must not all be zero", column=k, value=dict(v)))
    if problems:
        raise SchemaError(problems, what=_what)
    shares = d["frame_shares"] if d["frame_shares"] is not None else _default_frame_shares(int(n_frame))
    counts = _largest_remainder(shares, int(n_frame))
    rates = dict(d["response_rates"]) if d["response_rates"] is not None else _default_response_rates(counts)
    return _Design(n_frame=int(n_frame), psi=float(d["psi"]), or_teaching=float(d["or_teaching"]),
                   or_teaching_beds=float(d["or_teaching_beds"]), teaching_intercept=float(d["teaching_intercept"]),
                   cover_intercept=float(d["cover_intercept"]), frame_counts=counts,
                   response_rates={b: float(rates[b]) for b in BEDS}, item_missing=float(d["item_missing"]))


# --------------------------------------------------------------------------- simulation


@dataclass
class PublishedSurvey:
    """One simulated 2017-like survey: the frame (the truth) and what was published.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per invited department: ``beds_class`` (str), ``teaching`` (bool),
        ``cover_24_7`` (bool, the true value), ``responded`` (bool), ``answered`` (bool:
        responded and answered the cover item).
    margins : dict
        The published one-way margins of the respondents,
        ``{"beds_class": {level: n}, "teaching": {"true": n, "false": n},
        "cover_24_7": {"true": n, "false": n, "<NA>": n}}`` (every level listed, zeros
        included), in the form ``margins=`` of :mod:`irmodels.identification` accepts.
    frame_shares : dict
        Share of the frame in each bed class (the post-stratification weights).
    design : dict
        The generator's parameters (odds ratios, intercepts, response rates, frame counts).
    """

    frame: pd.DataFrame
    margins: dict[str, dict[str, int]]
    frame_shares: dict[str, float]
    design: dict[str, Any] = field(default_factory=dict)

    @property
    def respondents(self) -> pd.DataFrame:
        """The respondents as published would have them: cover missing (``<NA>``) when not answered."""
        r = self.frame.loc[self.frame["responded"], ["beds_class", "teaching", "cover_24_7", "answered"]].copy()
        cover = r["cover_24_7"].astype("boolean")
        cover[~r["answered"]] = pd.NA
        r["cover_24_7"] = cover
        return r.drop(columns="answered").reset_index(drop=True)


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _simulate(rng: np.random.Generator, d: _Design) -> PublishedSurvey:
    beds = np.repeat(np.arange(len(BEDS)), [d.frame_counts[b] for b in BEDS])
    s = beds.astype(float)
    lt, lc = math.log(d.or_teaching_beds), math.log(d.psi)
    lct = math.log(d.or_teaching)
    # P(t = 1 | b) of the log-linear model: cover summed out (logistic in s when or_teaching = 1)
    w1 = np.exp(d.teaching_intercept + lt * s) * (1 + np.exp(d.cover_intercept + lc * s + lct))
    w0 = 1 + np.exp(d.cover_intercept + lc * s)
    teaching = rng.random(d.n_frame) < w1 / (w0 + w1)
    cover = rng.random(d.n_frame) < _expit(d.cover_intercept + lc * s + lct * teaching)
    rates = np.array([d.response_rates[b] for b in BEDS])[beds]
    responded = rng.random(d.n_frame) < rates
    answered = responded & (rng.random(d.n_frame) >= d.item_missing)
    frame = pd.DataFrame({"beds_class": np.array(BEDS, dtype=object)[beds], "teaching": teaching,
                          "cover_24_7": cover, "responded": responded, "answered": answered})
    r = frame[responded]
    margins = {
        "beds_class": {b: int((r["beds_class"] == b).sum()) for b in BEDS},
        "teaching": {"true": int(r["teaching"].sum()), "false": int((~r["teaching"]).sum())},
        "cover_24_7": {"true": int((r["answered"] & r["cover_24_7"]).sum()),
                       "false": int((r["answered"] & ~r["cover_24_7"]).sum()),
                       _NA: int((~r["answered"]).sum())},
    }
    design = {"n_frame": d.n_frame, "psi": d.psi, "or_teaching": d.or_teaching,
              "or_teaching_beds": d.or_teaching_beds, "teaching_intercept": d.teaching_intercept,
              "cover_intercept": d.cover_intercept, "item_missing": d.item_missing,
              "frame_counts": dict(d.frame_counts), "response_rates": dict(d.response_rates)}
    return PublishedSurvey(frame=frame, margins=margins, frame_shares=d.frame_shares, design=design)


def simulate_published_survey(rng: np.random.Generator, *, n_frame: int = 1180, psi: float = 1.5,
                              or_teaching: float = 1.0, or_teaching_beds: float = 2.0,
                              teaching_intercept: float = 1.0, cover_intercept: float = -0.45,
                              frame_shares: Mapping[str, float] | None = None,
                              response_rates: Mapping[str, float] | None = None,
                              item_missing: float = 0.01) -> PublishedSurvey:
    r"""Simulate a frame of departments, a 2017-like survey of it, and its published margins.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    n_frame : int
        Invited departments (1180 in 2017).
    psi : float
        True odds ratio of 24/7 cover per bed class (one class up), given teaching status.
    or_teaching : float
        True odds ratio of cover, teaching vs not, given bed class.
    or_teaching_beds : float
        True odds ratio of teaching per bed class (the log-linear ``teaching~beds_class``
        parameter; teaching given bed class is logistic in the bed-class score with this
        per-step odds ratio when ``or_teaching`` = 1).
    teaching_intercept, cover_intercept : float
        Log odds of teaching and of cover in the smallest bed class (non-teaching for
        cover). The defaults give about 92% teaching and 62% with cover among
        respondents (2017: 93/98 and 60/97).
    frame_shares : mapping, optional
        Share of the frame in each bed class (default: the ``"radiologists"`` frame
        scenario, :func:`irmodels.nonresponse.frame.frame_margins`); rounded to whole departments.
    response_rates : mapping, optional
        Response probability of each bed class (default: the 2017 respondents of the class
        over the frame's departments in it; 98 respondents expected).
    item_missing : float
        Probability that a respondent leaves 24/7 cover unanswered (completely at random).

    Returns
    -------
    PublishedSurvey
        The frame with the true values, the published margins, the frame shares and the
        design.

    Raises
    ------
    SchemaError
        Listing every invalid argument.

    Examples
    --------
    >>> s = simulate_published_survey(np.random.default_rng(1))
    >>> sorted(s.margins), sum(s.margins["beds_class"].values()) == int(s.frame["responded"].sum())
    (['beds_class', 'cover_24_7', 'teaching'], True)
    """
    problems = [] if isinstance(rng, np.random.Generator) else [
        Problem("must be a numpy.random.Generator (no global random state)", column="rng", value=type(rng).__name__)]
    d = _resolve_design(problems, "simulate_published_survey", n_frame=n_frame, psi=psi, or_teaching=or_teaching, or_teaching_beds=or_teaching_beds,
                        teaching_intercept=teaching_intercept, cover_intercept=cover_intercept,
                        frame_shares=frame_shares, response_rates=response_rates, item_missing=item_missing)
    return _simulate(rng, d)


# --------------------------------------------------------------------------- estimates


def _contrast(x1: float, d1: float, x0: float, d0: float) -> tuple[float, float]:
    """Risk difference and odds ratio (inf when a denominator cell is empty; NaN when 0/0)."""
    if d1 == 0 or d0 == 0:
        return math.nan, math.nan
    rd = x1 / d1 - x0 / d0
    num, den = x1 * (d0 - x0), (d1 - x1) * x0
    if den == 0:
        return rd, (math.inf if num > 0 else math.nan)
    return rd, num / den


def _inside(v: float, lo: float, hi: float, tol: float = 1e-9) -> float:
    """1.0/0.0 whether ``v`` lies in ``[lo, hi]`` (relative tolerance for odds ratios); NaN when undefined."""
    if math.isnan(v):
        return math.nan
    if math.isinf(v):
        return float(math.isinf(hi) and v > 0 or math.isinf(lo) and v < 0)
    t = tol * max(1.0, abs(v))
    return float(lo - t <= v <= hi + t)


def _region_checks(s: PublishedSurvey) -> dict[str, float]:
    from irmodels.identification.bounds import _contrast_bounds, _Pair

    out: dict[str, float] = {}
    a = s.frame[s.frame["answered"]]
    y = a["cover_24_7"].to_numpy()
    for name, pred, s1, s0, g1, g0 in (
        ("beds", "beds_class", {">=800"}, {"<200"}, (a["beds_class"] == ">=800").to_numpy(),
         (a["beds_class"] == "<200").to_numpy()),
        ("teaching", "teaching", {"true"}, {"false"}, a["teaching"].to_numpy(), ~a["teaching"].to_numpy()),
    ):
        rd, orr = _contrast(float(y[g1].sum()), float(g1.sum()), float(y[g0].sum()), float(g0.sum()))
        p = _Pair(pred, "cover_24_7", "published", margins=s.margins, groups=(), joint={})
        b = _contrast_bounds(p, s1, s0, {"true"})
        # a region is empty (inf, -inf) only when a compared group has no answering department
        rd_lo, rd_hi = (b["rd_lower"], b["rd_upper"]) if b["rd_lower"] <= b["rd_upper"] else (math.nan, math.nan)
        or_lo, or_hi = (b["or_lower"], b["or_upper"]) if b["or_lower"] <= b["or_upper"] else (math.nan, math.nan)
        out.update({
            f"region_rd_{name}_true": rd, f"region_rd_{name}_lower": rd_lo, f"region_rd_{name}_upper": rd_hi,
            f"region_rd_{name}_inside": _inside(rd, rd_lo, rd_hi) if not math.isnan(rd_lo) or math.isnan(rd)
            else 0.0,
            f"region_or_{name}_true": orr, f"region_or_{name}_lower": or_lo, f"region_or_{name}_upper": or_hi,
            f"region_or_{name}_inside": _inside(orr, or_lo, or_hi) if not math.isnan(or_lo) or math.isnan(orr)
            else 0.0,
        })
    return out


def _identified_checks(s: PublishedSurvey) -> dict[str, float]:
    from irmodels.nonresponse.sensitivity import manski_bounds

    m = s.margins["cover_24_7"]
    y, n = m["true"], m["true"] + m["false"]
    a = s.frame[s.frame["answered"]]
    share_true = float(a["cover_24_7"].mean()) if len(a) else math.nan
    share_pub = y / n if n else math.nan
    prev = float(s.frame["cover_24_7"].mean())
    mb = manski_bounds(n_positive=y, n_answered=n, frame_size=s.design["n_frame"]).iloc[0]
    return {
        "frame_prevalence": prev, "share_published": share_pub, "share_true": share_true,
        "share_exact": math.nan if n == 0 else float(abs(share_pub - share_true) < 1e-12),
        "manski_lower": float(mb["lower"]), "manski_upper": float(mb["upper"]),
        "manski_contains": _inside(prev, float(mb["lower"]), float(mb["upper"]), tol=1e-12),
    }


def _poststrat(s: PublishedSurvey, level: float) -> dict[str, float]:
    from irmodels.identification.curves import coverage_curve

    psi = s.design["psi"]
    a = s.frame[s.frame["answered"]]
    nan = {"poststrat_estimate": math.nan, "poststrat_std_error": math.nan, "poststrat_lower": math.nan,
           "poststrat_upper": math.nan, "poststrat_covers": math.nan}
    # post-stratification needs an answering department in every bed class (an empty class has no estimate)
    if any((a["beds_class"] == b).sum() == 0 for b in BEDS):
        return nan
    cc = coverage_curve(s.frame_shares, s.design["n_frame"], grid=[psi], margins=s.margins, structure=False,
                        level=level).iloc[0]
    prev = float(s.frame["cover_24_7"].mean())
    return {"poststrat_estimate": float(cc["estimate"]), "poststrat_std_error": float(cc["std_error"]),
            "poststrat_lower": float(cc["lower"]), "poststrat_upper": float(cc["upper"]),
            "poststrat_covers": _inside(prev, float(cc["lower"]), float(cc["upper"]), tol=0.0)}


_TERM = "beds_class[T.>=800]"


def _design_matrix(cells: pd.DataFrame) -> pd.DataFrame:
    X = pd.DataFrame({"Intercept": 1.0}, index=cells.index)
    for b in BEDS[1:]:
        X[f"beds_class[T.{b}]"] = (cells["beds_class"] == b).astype(float)
    X["teaching"] = cells["teaching"].astype(float)
    return X


def _separable_rows(X: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """Rows (cell x outcome) that some separating direction fits perfectly (one LP).

    Maximise the number of rows ``i`` with ``sign_i x_i b >= 1`` over directions ``b`` of
    the recession cone ``{b: sign_i x_i b >= 0 for all i}`` (Konis 2007); the MLE exists
    when no row is separable.
    """
    n, p = X.shape
    A = sign[:, None] * X
    # variables [b (p, bounded), t (n, in [0, 1])]; t_i <= A_i b; A_i b >= 0
    c = np.concatenate([np.zeros(p), -np.ones(n)])
    A_ub = np.vstack([np.hstack([-A, np.eye(n)]), np.hstack([-A, np.zeros((n, n))])])
    b_ub = np.zeros(2 * n)
    bounds = [(-1e3, 1e3)] * p + [(0.0, 1.0)] * n
    res = optimize.linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - the LP is feasible (b = 0) and bounded
        raise RuntimeError(f"separation LP failed: {res.message}")
    return res.x[p:] > 0.5


def _term_direction(X: np.ndarray, sign: np.ndarray, k: int) -> tuple[float, float]:
    """Range of component ``k`` over the recession cone scaled to ``|b| <= 1``."""
    A = sign[:, None] * X
    out = []
    for direction in (1.0, -1.0):
        c = np.zeros(X.shape[1])
        c[k] = -direction
        res = optimize.linprog(c, A_ub=-A, b_ub=np.zeros(len(A)), bounds=[(-1.0, 1.0)] * X.shape[1], method="highs")
        out.append(-res.fun * direction)
    return out[1], out[0]


def _respondent_ml(s: PublishedSurvey) -> dict[str, Any]:
    """ML logistic regression of cover on bed class and teaching, on the answering respondents.

    Returns the estimate of ``beds_class[T.>=800]`` (``inf``/``-inf`` when it diverges under
    separation; the extended MLE of the other cells otherwise), its Wald standard error and a
    status: ``finite``, ``infinite`` or ``undefined`` (a level without answering respondents).
    """
    import statsmodels.api as sm

    a = s.frame[s.frame["answered"]]
    cells = (a.groupby(["beds_class", "teaching"])["cover_24_7"].agg(events="sum", n="size").reset_index())
    cells["events"] = cells["events"].astype(float)
    cells["n"] = cells["n"].astype(float)
    if set(cells["beds_class"]) != set(BEDS) or cells["teaching"].nunique() < 2:
        return {"ml_estimate": math.nan, "ml_std_error": math.nan, "ml_status": "undefined"}
    X = _design_matrix(cells)
    k = list(X.columns).index(_TERM)
    # one LP row per cell and outcome present
    rows = [(i, 1.0) for i in range(len(cells)) if cells["events"].iloc[i] > 0]
    rows += [(i, -1.0) for i in range(len(cells)) if cells["events"].iloc[i] < cells["n"].iloc[i]]
    Xr = X.to_numpy()[[i for i, _ in rows]]
    sign = np.array([sg for _, sg in rows])
    sep = _separable_rows(Xr, sign)
    keep_cells = np.ones(len(cells), dtype=bool)
    if sep.any():
        lo, hi = _term_direction(Xr, sign, k)
        if hi > 1e-9 or lo < -1e-9:
            est = math.inf if hi > 1e-9 and lo >= -1e-9 else (-math.inf if lo < -1e-9 and hi <= 1e-9 else math.nan)
            return {"ml_estimate": est, "ml_std_error": math.nan, "ml_status": "infinite"}
        for (i, _), v in zip(rows, sep):
            if v:
                keep_cells[i] = False  # a separable cell is fitted perfectly in the limit
    cols = _independent_columns(X[keep_cells])
    if _TERM not in cols:  # pragma: no cover - the term's cells are kept when its estimate is finite
        return {"ml_estimate": math.nan, "ml_std_error": math.nan, "ml_status": "undefined"}
    # the fit itself on the respondent-level rows of the cells kept (all of them without separation)
    kept = cells.loc[keep_cells, ["beds_class", "teaching"]]
    d = a.merge(kept, on=["beds_class", "teaching"], how="inner")
    Xd = _design_matrix(d)[cols].to_numpy()
    res = sm.GLM(d["cover_24_7"].astype(float).to_numpy(), Xd, family=sm.families.Binomial()).fit(tol=1e-12,
                                                                                                  maxiter=200)
    j = cols.index(_TERM)
    return {"ml_estimate": float(res.params[j]), "ml_std_error": float(res.bse[j]), "ml_status": "finite"}


def _independent_columns(X: pd.DataFrame) -> list[str]:
    """Columns kept in order while each adds rank (drops e.g. a level left without cells)."""
    keep: list[str] = []
    for c in X.columns:
        trial = keep + [c]
        if np.linalg.matrix_rank(X[trial].to_numpy()) == len(trial):
            keep = trial
    return keep


def _regression(s: PublishedSurvey, ml: Mapping[str, Any], level: float) -> dict[str, float]:
    from irmodels.identification.curves import expected_table, fit_expected

    d = s.design
    truth = 3.0 * math.log(d["psi"])
    out = {"regression_truth": truth, "regression_estimate": math.nan, "regression_std_error": math.nan,
           "regression_lower": math.nan, "regression_upper": math.nan, "regression_covers_truth": math.nan,
           "regression_covers_ml": math.nan}
    m = s.margins
    if any(m["beds_class"][b] == 0 for b in BEDS) or min(m["teaching"].values()) == 0 or \
            m["cover_24_7"]["true"] == 0 or m["cover_24_7"]["false"] == 0:
        return out  # a level without respondents: the model's term does not exist
    ors = {"cover_24_7~beds_class": d["psi"], "cover_24_7~teaching": d["or_teaching"],
           "teaching~beds_class": d["or_teaching_beds"]}
    tab = expected_table("cover_24_7", ("beds_class", "teaching"), ors, margins=m, structure=False)
    f = fit_expected(tab, ("beds_class", "teaching"), level=level).set_index("term").loc[_TERM]
    lo, hi = float(f["lower"]), float(f["upper"])
    out.update({"regression_estimate": float(f["estimate"]), "regression_std_error": float(f["std_error"]),
                "regression_lower": lo, "regression_upper": hi,
                "regression_covers_truth": _inside(truth, lo, hi, tol=0.0)})
    if ml["ml_status"] != "undefined":
        est = ml["ml_estimate"]  # infinite (or indeterminate) under separation: a finite interval misses it
        out["regression_covers_ml"] = 0.0 if math.isnan(est) else _inside(est, lo, hi, tol=0.0)
    return out


# --------------------------------------------------------------------------- the study


def simulation_rng(seed: int, sim: int) -> np.random.Generator:
    """Generator of simulation ``sim``: the ``sim``-th child of ``SeedSequence(seed)``.

    Identical to ``numpy.random.default_rng(numpy.random.SeedSequence(seed).spawn(n)[sim])``
    for any ``n > sim``, so a simulation's draws do not depend on how many are run.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(sim,)))


def simulate_one(sim: int, seed: int, *, level: float = 0.95, **design: Any) -> dict[str, Any]:
    """Run simulation ``sim`` of the study seeded by ``seed``: simulate, publish, estimate, compare.

    Parameters
    ----------
    sim : int
        Index of the simulation (its child seed).
    seed : int
        Seed of the study.
    level : float
        Level of the sampling intervals.
    **design
        Arguments of :func:`simulate_published_survey` (defaults: :data:`DEFAULT_DESIGN`).

    Returns
    -------
    dict
        One row of :func:`coverage_study`.
    """
    problems = _study_arg_problems(1, seed, level)
    if not (isinstance(sim, numbers.Integral) and not isinstance(sim, bool) and sim >= 0):
        problems.append(Problem("must be a non-negative integer", column="sim", value=sim))
    d = _resolve_design(problems, "simulate_one", **design)
    return _run(int(sim), int(seed), d, float(level))


def _run(sim: int, seed: int, d: _Design, level: float) -> dict[str, Any]:
    s = _simulate(simulation_rng(seed, sim), d)
    mb, mt, mc = s.margins["beds_class"], s.margins["teaching"], s.margins["cover_24_7"]
    row: dict[str, Any] = {
        "sim": sim, "seed": seed, "psi": d.psi, "or_teaching": d.or_teaching, "or_teaching_beds": d.or_teaching_beds,
        "n_respondents": int(sum(mb.values())), "n_answered": mc["true"] + mc["false"], "n_cover": mc["true"],
        "n_cover_missing": mc[_NA],
        **{f"n_beds_{_SAFE[b]}": mb[b] for b in BEDS}, "n_teaching": mt["true"], "n_not_teaching": mt["false"],
    }
    row.update(_region_checks(s))
    row.update(_identified_checks(s))
    row.update(_poststrat(s, level))
    ml = _respondent_ml(s)
    row.update(_regression(s, ml, level))
    z = stats.norm.ppf(0.5 + level / 2)
    truth = 3.0 * math.log(d.psi)
    est, se = ml["ml_estimate"], ml["ml_std_error"]
    row.update({"ml_estimate": est, "ml_std_error": se, "ml_status": ml["ml_status"],
                "ml_covers_truth": (math.nan if ml["ml_status"] == "undefined" else
                                    0.0 if ml["ml_status"] == "infinite" else
                                    float(est - z * se <= truth <= est + z * se))})
    return row


def _study_arg_problems(n_sims: Any, seed: Any, level: Any) -> list[Problem]:
    problems = []
    if not (isinstance(n_sims, numbers.Integral) and not isinstance(n_sims, bool) and n_sims >= 1):
        problems.append(Problem("must be an integer >= 1", column="n_sims", value=n_sims))
    if not (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0):
        problems.append(Problem("must be a non-negative integer (the SeedSequence entropy)", column="seed", value=seed))
    if not (_is_real(level) and 0 < level < 1):
        problems.append(Problem("must be in (0, 1)", column="level", value=level))
    return problems


def coverage_study(n_sims: int, seed: int, *, level: float = 0.95, **design: Any) -> pd.DataFrame:
    """Simulate ``n_sims`` published surveys and check regions and intervals against the truth.

    Parameters
    ----------
    n_sims : int
        Number of simulations (>= 500 for the issue's check).
    seed : int
        Entropy of the study's :class:`numpy.random.SeedSequence`; simulation ``i`` uses
        its ``i``-th child (:func:`simulation_rng`).
    level : float
        Level of every sampling interval (the nominal coverage).
    **design
        Arguments of :func:`simulate_published_survey` (``psi``, ``or_teaching``,
        ``or_teaching_beds``, intercepts, ``frame_shares``, ``response_rates``,
        ``item_missing``, ``n_frame``); defaults in :data:`DEFAULT_DESIGN`.

    Returns
    -------
    pandas.DataFrame
        One row per simulation, sorted by ``sim``. Counts of the published margins
        (``n_respondents``, ``n_answered``, ``n_cover``, ``n_cover_missing``,
        ``n_beds_lt200``, ``n_beds_200_399``, ``n_beds_400_799``, ``n_beds_ge800``, ``n_teaching``, ``n_not_teaching``); for each association
        (``beds``: >= 800 vs < 200 beds; ``teaching``: teaching vs not) and scale
        (``rd``, ``or``) ``region_<scale>_<assoc>_true`` (among respondents answering),
        ``_lower``, ``_upper`` (exact region from the margins) and ``_inside``;
        ``frame_prevalence`` (finite-population truth), ``share_published``,
        ``share_true``, ``share_exact``, ``manski_lower``, ``manski_upper``,
        ``manski_contains``; ``poststrat_estimate``, ``_std_error``, ``_lower``,
        ``_upper``, ``_covers`` (frame prevalence at the true ``psi``);
        ``regression_truth`` (``3 log psi``), ``regression_estimate``, ``_std_error``,
        ``_lower``, ``_upper``, ``regression_covers_truth``, ``regression_covers_ml``;
        ``ml_estimate``, ``ml_std_error``, ``ml_status`` (``finite``, ``infinite`` under
        separation, ``undefined``), ``ml_covers_truth``. Checks are 1.0/0.0, NaN where the
        quantity does not exist in that simulation.

    Raises
    ------
    SchemaError
        Listing every invalid argument.
    """
    # every problem of the arguments and the design before any simulation runs
    d = _resolve_design(_study_arg_problems(n_sims, seed, level), "coverage_study", **design)
    rows = [_run(i, int(seed), d, float(level)) for i in range(int(n_sims))]
    return pd.DataFrame(rows)


def summarise_coverage(results: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Coverage of each checked quantity with its Monte Carlo standard error.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`coverage_study`.
    level : float
        Nominal coverage of the sampling intervals (the study's ``level``).

    Returns
    -------
    pandas.DataFrame
        One row per quantity of :data:`QUANTITIES`: ``quantity``, ``kind`` (``always``:
        must hold in every simulation; ``sampling``: an interval at its nominal level;
        ``diagnostic``: how the asymptotic interval behaves, not a coverage claim;
        ``benchmark``: respondent-level data, for comparison; ``(conditional)``: among the
        simulations with a finite respondent-level ML estimate), ``n_sims`` (simulations
        in which the quantity exists, within the condition), ``n_undefined``, ``covered``, ``coverage``,
        ``mc_se`` (``sqrt(p (1 - p) / n_sims)``; 0 when every simulation is covered),
        ``cp_lower``, ``cp_upper`` (exact 95% Clopper-Pearson interval of the coverage,
        informative where ``mc_se`` is 0), ``nominal``, ``within_mc_error``
        (``|coverage - nominal| <= 2 mc_se``; for ``always`` checks ``coverage == 1``),
        ``description``.

    Raises
    ------
    SchemaError
        When a column of the study is missing.
    """
    needed = {col for _, col, *_ in QUANTITIES} | {c[0] for *_, c, _ in QUANTITIES if c is not None}
    missing = sorted(needed - set(results.columns))
    problems = [Problem("column of coverage_study missing", column=c) for c in missing]
    if not (_is_real(level) and 0 < level < 1):
        problems.append(Problem("must be in (0, 1)", column="level", value=level))
    if problems:
        raise SchemaError(problems, what="summarise_coverage")
    rows = []
    for name, col, kind, nominal, cond, desc in QUANTITIES:
        sub = results if cond is None else results[results[cond[0]] == cond[1]]
        v = pd.to_numeric(sub[col], errors="coerce")
        ok = v.dropna()
        n = int(len(ok))
        p = float(ok.mean()) if n else math.nan
        se = math.sqrt(p * (1 - p) / n) if n else math.nan
        nom = float(level) if nominal is None else float(nominal)
        within = (p == 1.0) if kind.startswith("always") else (abs(p - nom) <= 2 * se if n else False)
        k = int(ok.sum())
        cp_lo = float(stats.beta.ppf(0.025, k, n - k + 1)) if 0 < k else 0.0
        cp_hi = float(stats.beta.ppf(0.975, k + 1, n - k)) if k < n else 1.0
        rows.append({"quantity": name, "kind": kind, "n_sims": n, "n_undefined": int(v.isna().sum()),
                     "covered": k, "coverage": p, "mc_se": se, "cp_lower": cp_lo if n else math.nan,
                     "cp_upper": cp_hi if n else math.nan, "nominal": nom,
                     "within_mc_error": bool(within), "description": desc})
    return pd.DataFrame(rows)
