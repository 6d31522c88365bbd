"""The identification coverage study's populations: a 2017-like frame, its survey and what was published.

The design (frame in the bed classes of a frame scenario; teaching and 24/7 cover from a
log-linear model with known odds ratios; response at random given bed class; item
non-response completely at random; one-way margins published) is described in
:mod:`irmodels.studies.identification_coverage`. :func:`simulate_published_survey` checks its
arguments (every problem at once) and draws one survey from a generator.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from irmodels.core.errors import Problem, SchemaError

BEDS: tuple[str, ...] = ("<200", "200-399", "400-799", ">=800")
_NA = "<NA>"
_SAFE = {"<200": "lt200", "200-399": "200_399", "400-799": "400_799", ">=800": "ge800"}  # in column names
_FRAME_SCENARIO = "radiologists"

#: Defaults of the generator (see :mod:`irmodels.studies.identification_coverage`); ``frame_shares`` and
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
