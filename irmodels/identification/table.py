"""What the published 2017 data identify, bound, or leave to an assumption set.

Every estimand irmodels reports about the 2017 respondents gets one of three labels:

``identified``
    The published counts determine it (e.g. the share of respondents with 24/7 IR cover,
    60/97; the chair profiles of the CIRSE-only members). Every reconstruction gives the
    same value.
``bounded``
    The published margins restrict it to an interval but do not fix it: the joint
    distribution of two published margins lies between the Fréchet bounds. ``lower`` and
    ``upper`` give the sharp bounds over all joint tables consistent with the margins
    (and the item non-response).
``assumption``
    The published data do not restrict it in a useful way (the bounds are the whole
    parameter space, e.g. an odds ratio whose bounds are 0 and infinity); its value comes
    from the assumption set of the reconstruction (:mod:`irmodels.identification.reconstruction`).

Estimand names (results downstream join on them)
------------------------------------------------
``prevalence:<variable>=<category>``
    Share of answering respondents in a category (booleans: ``true``/``false``).
    ``lower``/``upper`` are worst-case bounds for all 98 respondents (non-respondents all
    out / all in).
``rd:<outcome>=<level>|<predictor>=<level>``
    Difference in proportions of ``outcome == level`` between respondents with
    ``predictor == level`` and all other respondents (answering both items).
``or:<outcome>=<level>|<predictor>=<level>``
    The corresponding odds ratio.
``share:<variable>=<category>|<condition>``
    A conditional share fixed by a stated joint fact.
``<outcome>~<predictor>``
    Any association between two variables (what a regression term of ``predictor`` in a
    model of ``outcome`` estimates): :func:`identification_status` returns the status of
    the odds ratio when it is tabulated, and ``assumption`` for other pairs of 2017
    variables (the paper publishes no cross-tabulation).
"""

from __future__ import annotations

import functools
import math
from typing import Iterable

import numpy as np
import pandas as pd

from irmodels.core.errors import Problem, SchemaError
from irmodels.identification.checks import check_reconstruction
from irmodels.identification.targets import N_RESPONDENTS, _margin, _stated, published_targets

__all__ = [
    "identification_table",
    "identification_status",
    "frechet_bounds",
    "association_by_replicate",
    "summarise_ensemble",
    "DEFAULT_PAIRS",
    "STATUSES",
]

STATUSES = ("identified", "bounded", "assumption")

#: (outcome, outcome level, predictor, predictor level) pairs tabulated by default: the
#: associations the models use that the paper does not publish.
DEFAULT_PAIRS: tuple[tuple[str, str, str, str], ...] = (
    ("cover_24_7", "true", "beds_class", ">=800"),
    ("cover_24_7", "true", "teaching", "true"),
    ("cover_24_7", "true", "chair_profile", "IR_mostly"),
    ("cover_24_7", "true", "ir_unit", "true"),
    ("cover_24_7", "true", "procedure_volume_class", ">500"),
    ("female_ir_share_class", "0", "beds_class", ">=800"),
    ("female_ir_share_class", "0", "teaching", "true"),
    ("female_ir_share_class", "0", "chair_profile", "IR_mostly"),
    ("female_ir_share_class", "0", "chair_profile", "DR"),
    ("ir_specialised", "true", "procedure_volume_class", ">500"),
    ("ward_rounds", "true", "ir_unit", "true"),
    ("day_case_beds", "true", "ir_unit", "true"),
    ("member_cirse", "true", "chair_profile", "IR_mostly"),
)


# Published joint facts that sharpen the Fréchet bounds: (outcome, level, predictor, level) ->
# minimum joint count: the CIRSE-only members include the IR_mostly and DR_IR_equal chairs of
# statements R2-10 and R2-11.
def _joint_min() -> dict[tuple[str, str, str, str], int]:
    return {
        ("member_cirse", "true", "chair_profile", "IR_mostly"): _stated("R2-10"),
        ("member_cirse", "true", "chair_profile", "DR_IR_equal"): _stated("R2-11"),
    }


def _counts() -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    t = published_targets()
    counts = {(r.variable, r.category): int(r.count) for r in t.itertuples(index=False)}
    item_n = {v: int(g["item_n"].iloc[0]) for v, g in t.groupby("variable")}
    return counts, item_n


def _discrepancies_of_statements() -> dict[str, list[str]]:
    """statement_id -> the audit's discrepancy ids it is part of (``audit()['discrepancy_id']``)."""
    from irmodels.published.audit import audit

    a = audit()
    out: dict[str, list[str]] = {}
    for sid, d in zip(a["statement_id"], a["discrepancy_id"]):
        ids = [x for x in str(d).split(";") if x]
        if ids:
            out[str(sid)] = ids
    return out


def _provenance(source: str, statement_id: str, disc: dict[str, list[str]]) -> str:
    """Where a published count comes from, in words, for the ``note`` column.

    ``source`` and ``statement_id`` are the columns of
    :func:`irmodels.data.waves.esr_cirse_2017.published_margins`; ``disc`` maps a statement to the
    audit's discrepancies (``audit()['discrepancy_id']``). Examples: ``"printed in R4-16
    (discrepancy D02)"``, ``"residual of R4-13;R4-14 (discrepancy D08)"``.
    """
    ids = [x for x in str(statement_id).split(";") if x]
    ds = sorted({d for i in ids for d in disc.get(i, [])})
    what = {
        "printed": "printed in",
        "implied": "implied by the printed percentage of",
        "residual": "residual of",
        "resolution": "resolution of a contradiction, from",
    }.get(source, f"{source} from")
    text = f"{what} {';'.join(ids)}" if ids else what
    if ds:
        text += f" (discrepancy {', '.join(ds)})"
    return text


def frechet_bounds(n_a: int, n_y: int, n_resp_y: int, n_miss_y: int, x_min: int = 0) -> dict[str, float]:
    """Sharp bounds of the difference in proportions and the odds ratio from two margins.

    Parameters
    ----------
    n_a : int
        Respondents with the predictor level, among all ``n_resp_y + n_miss_y``.
    n_y : int
        Respondents with the outcome level, among the ``n_resp_y`` who answered the outcome.
    n_resp_y, n_miss_y : int
        Number answering / not answering the outcome (the predictor is fully answered).
    x_min : int
        A published lower bound on the joint count (e.g. 7 CIRSE members among the 15
        IR_mostly chairs), sharpening the Fréchet lower limit.

    Returns
    -------
    dict
        ``rd_lower``, ``rd_upper`` (difference in proportions ``P(y|a) - P(y|not a)``
        among outcome respondents) and ``or_lower``, ``or_upper`` (0 and ``inf`` when a cell
        can be empty), over every joint table consistent with the margins: ``m`` of the
        non-respondents have the predictor level (``0..min(n_miss_y, n_a)``) and ``x``
        respondents have both levels, ``max(0, a + n_y - n) <= x <= min(a, n_y)`` with
        ``a = n_a - m`` (Fréchet 1951).
    """
    n = n_resp_y
    rd_lo, rd_hi, or_lo, or_hi = math.inf, -math.inf, math.inf, -math.inf
    for m in range(0, min(n_miss_y, n_a) + 1):
        a = n_a - m
        if a <= 0 or a >= n:
            continue
        lo_x, hi_x = max(0, a + n_y - n, x_min), min(a, n_y)
        if lo_x > hi_x:
            continue
        for x in (lo_x, hi_x):
            rd = x / a - (n_y - x) / (n - a)
            rd_lo, rd_hi = min(rd_lo, rd), max(rd_hi, rd)
            c11, c10, c01, c00 = x, a - x, n_y - x, n - a - n_y + x
            num, den = c11 * c00, c10 * c01
            orv = math.inf if den == 0 and num > 0 else (float("nan") if den == 0 else num / den)
            if not math.isnan(orv):
                or_lo, or_hi = min(or_lo, orv), max(or_hi, orv)
    return {"rd_lower": rd_lo, "rd_upper": rd_hi, "or_lower": or_lo, "or_upper": or_hi}


def _printed_denominator(statement_id: str) -> int:
    """The denominator a statement of the paper prints (e.g. R2-10: "7 out of 9")."""
    from irmodels.data.waves.esr_cirse_2017 import load_statements

    st = load_statements().set_index("statement_id")
    return int(st.loc[statement_id, "denominator"])


@functools.cache
def _table(pairs: tuple[tuple[str, str, str, str], ...]) -> pd.DataFrame:
    counts, item_n = _counts()
    rows = _prevalence_rows(counts, item_n) + _joint_fact_rows() + _pair_rows(pairs, counts, item_n)
    out = pd.DataFrame(rows, columns=["estimand", "status", "estimate", "lower", "upper", "note"])
    return out


def _prevalence_rows(counts: dict, item_n: dict) -> list[tuple]:
    """One row per published category (exact among respondents) and the bounded female-IR classes."""
    targets = published_targets()  # = published_margins() rows of canonical categories
    prov = {(r.variable, r.category): (r.source, r.statement_id) for r in targets.itertuples(index=False)}
    disc = _discrepancies_of_statements()
    N = N_RESPONDENTS
    rows = []
    for (var, cat), c in counts.items():
        if cat == "false" and (var, "true") in counts:
            continue  # a boolean's "false" share is 1 minus its "true" share: one estimand, not two
        n = item_n[var]
        miss = N - n
        note = f"{c} of {n} answers ({_provenance(*prov[(var, cat)], disc)}): exact among respondents"
        if miss:
            note += f"; {miss} missing: bounds for all {N} put every non-respondent out / in"
        rows.append((f"prevalence:{var}={cat}", "identified", c / n, c / N, (c + miss) / N, note))
    # female IR share above 25%: only the total of the three classes is published
    from irmodels.data.waves.esr_cirse_2017 import published_margins

    pm = published_margins()
    up = pm.loc[(pm["variable"] == "female_ir_share_class") & (pm["category"] == ">25")].iloc[0]
    f_up, f_n = int(up["count"]), int(up["item_n"])
    for cat in ("26-50", "51-75", ">75"):
        rows.append((f"prevalence:female_ir_share_class={cat}", "bounded", np.nan, 0.0, f_up / f_n,
                     f"the {f_up} of {f_n} departments above 25% ({_provenance(up['source'], up['statement_id'], disc)}) "
                     "are split by the assumption set (Fig. 2 not in the text)"))
    return rows


def _joint_fact_rows() -> list[tuple]:
    """The joint facts the text states (identified or bounded), from statements.csv and the margins."""
    N = N_RESPONDENTS
    # identified joint facts stated in the text: every number read from statements.csv
    # (by statement id) or from the adopted margins, as the reconstruction does
    n_co = _margin("member_esr_cirse", "cirse_only")  # 10 (audit D01; printed 9)
    co_ir, co_eq = _stated("R2-10"), _stated("R2-11")
    co_printed = _printed_denominator("R2-10")
    ch_eq, ch_ir = _margin("chair_profile", "DR_IR_equal"), _margin("chair_profile", "IR_mostly")
    involved = _stated("DIS-02")
    if involved != ch_eq + ch_ir:
        raise SchemaError([Problem(f"DIS-02 states {involved} chairs involved in IR; the chair margins give "
                                   f"{ch_eq} + {ch_ir}", column="chair_profile")], what="identification_table")
    n22, mid12 = _margin("n_residents", ">21"), _stated("R3-11")
    res0, res0_nt = _margin("n_residents", "0"), _stated("R3-06")
    no_ir, no_ir_small = _margin("ir_share_class", "0"), _stated("R3-14")
    vol0, vol0_teach = _margin("procedure_volume_class", "0"), _stated("DIS-04")
    return [
        ("share:chair_profile=IR_mostly|membership=cirse_only", "identified", co_ir / n_co, co_ir / n_co,
         co_ir / n_co, f"{co_ir} of the {n_co} CIRSE-only members (audit: {n_co}, printed {co_printed}) work mostly in IR (R2-10)"),
        ("share:chair_profile=DR_IR_equal|membership=cirse_only", "identified", co_eq / n_co, co_eq / n_co,
         co_eq / n_co, f"{co_eq} of the {n_co} CIRSE-only members works 50% DR / 50% IR (R2-11)"),
        ("prevalence:chair_ir_involved=true", "identified", involved / N, involved / N, involved / N,
         f"DR_IR_equal + IR_mostly = {ch_eq} + {ch_ir} (Discussion, DIS-02: {involved} of {N})"),
        ("share:beds_class=>=800|n_residents>21", "bounded", np.nan, (n22 - mid12) / n22, 1.0,
         f"more than 12 residents => >=800 beds except {mid12} teaching 400-799 hospitals (R3-11); "
         f"{n22} departments have more than 21"),
        ("share:teaching=false|n_residents=0", "identified", res0_nt / res0, res0_nt / res0, res0_nt / res0,
         f"the {res0} hospitals without residents have no teaching duties (R3-06)"),
        ("share:beds_class=<200_or_200-399|ir_share_class=0", "identified", no_ir_small / no_ir,
         no_ir_small / no_ir, no_ir_small / no_ir, f"the {no_ir} hospitals without IR are small (R3-14)"),
        ("share:teaching=true|procedure_volume_class=0", "identified", vol0_teach / vol0, vol0_teach / vol0,
         vol0_teach / vol0, f"of the {vol0} hospitals without interventions {vol0_teach} has teaching duties (DIS-04)"),
    ]


def _pair_rows(pairs: tuple[tuple[str, str, str, str], ...], counts: dict, item_n: dict) -> list[tuple]:
    """Exact bounds on the risk difference and odds ratio of each (outcome, level, predictor, level)."""
    from irmodels.identification.bounds import bounds

    N = N_RESPONDENTS
    rows: list[tuple] = []
    for y, yl, a, al in pairs:
        for v, lv in ((y, yl), (a, al)):
            if (v, lv) not in counts:
                raise SchemaError([Problem("no published count for this level", column=v, value=lv)],
                                  what="identification_table")
        if item_n[a] != N:
            raise SchemaError([Problem(f"predictor must be answered by all {N} respondents (it has {item_n[a]})",
                                       column=a)], what="identification_table")
        b = bounds(a, y, event=yl)
        contrast = f"{a}: true vs false" if al == "true" and (a, "false") in counts else f"{a}: {al} vs rest"
        b = b[b["contrast"] == contrast].set_index("scale")
        src = f"{y}={yl}: {counts[(y, yl)]}/{item_n[y]}; {a}={al}: {counts[(a, al)]}/{N}"
        facts = str(b.loc["risk_difference", "note"])
        rd_lo, rd_hi = float(b.loc["risk_difference", "lower"]), float(b.loc["risk_difference", "upper"])
        or_lo, or_hi = float(b.loc["odds_ratio", "lower"]), float(b.loc["odds_ratio", "upper"])
        sign = "identified" if rd_lo > 0 or rd_hi < 0 else "not identified"
        rd_status = "identified" if rd_hi - rd_lo < 1e-12 else ("assumption" if sign == "not identified" and
                                                                rd_lo <= -1 + 1e-12 and rd_hi >= 1 - 1e-12 else "bounded")
        rows.append((f"rd:{y}={yl}|{a}={al}", rd_status, rd_lo if rd_status == "identified" else np.nan, rd_lo, rd_hi,
                     f"exact bounds (irmodels.bounds: {src}; {facts}); the sign is {sign}"))
        trivial_or = or_lo == 0 and math.isinf(or_hi)
        or_status = "identified" if or_hi - or_lo < 1e-12 else ("assumption" if trivial_or else "bounded")
        rows.append((f"or:{y}={yl}|{a}={al}", or_status, or_lo if or_status == "identified" else np.nan, or_lo, or_hi,
                     "odds ratio " + ("unrestricted (a cell can be empty): only an assumption gives it a value"
                                      if trivial_or else "restricted by the published numbers") + f" ({src})"))
    return rows


def identification_table(pairs: Iterable[tuple[str, str, str, str]] | None = None) -> pd.DataFrame:
    """The identification status of every estimand reported about the 2017 respondents.

    Parameters
    ----------
    pairs : iterable of (outcome, outcome_level, predictor, predictor_level), optional
        Associations to tabulate (default :data:`DEFAULT_PAIRS`). Predictors must be answered
        by all respondents.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimand`` (naming convention in the module docstring), ``status``
        (``identified``, ``bounded`` or ``assumption``), ``estimate`` (the identified value
        among answering respondents; NaN otherwise), ``lower``, ``upper`` (sharp bounds;
        for prevalences, worst-case bounds over all 98 departments), ``note`` (the
        published counts it rests on).

    Examples
    --------
    >>> t = identification_table().set_index("estimand")
    >>> t.loc["prevalence:cover_24_7=true", "status"], round(float(t.loc["prevalence:cover_24_7=true", "estimate"]), 4)
    ('identified', 0.6186)
    """
    p = DEFAULT_PAIRS if pairs is None else tuple(tuple(x) for x in pairs)
    return _table(p).copy()  # type: ignore[arg-type]


def identification_status(estimand: str) -> str:
    """The identification status of one estimand.

    Parameters
    ----------
    estimand : str
        A name from :func:`identification_table`, or ``"<outcome>~<predictor>"`` for any
        association between two variables.

    Returns
    -------
    str
        ``identified``, ``bounded`` or ``assumption``.

    Raises
    ------
    KeyError
        Unknown estimand (the message gives the naming convention).

    Examples
    --------
    >>> identification_status("cover_24_7~beds_class")
    'assumption'
    """
    t = _table(DEFAULT_PAIRS).set_index("estimand")["status"]
    if estimand in t.index:
        return str(t[estimand])
    if "~" in estimand:
        y, a = (s.strip() for s in estimand.split("~", 1))
        from irmodels.data.schema import canonical_columns

        cols = set(canonical_columns())
        bad = [v for v in (y, a) if v not in cols]
        if bad:
            raise KeyError(f"{bad} not codebook variables; use '<outcome>~<predictor>' with codebook names")
        ors = {e.split(f"|{a}=", 1)[1]: s for e, s in t.items() if e.startswith(f"or:{y}=") and f"|{a}=" in e}
        if not ors:
            return "assumption"
        from irmodels.data.schema import column_dtypes

        dt = column_dtypes()[a]
        n_levels = len(dt.categories) if isinstance(dt, pd.CategoricalDtype) else 2
        statuses = list(ors.values())
        if len(ors) < n_levels - 1:  # untabulated contrasts of the predictor: no published joint
            statuses.append("assumption")
        # the least identified contrast decides (a model term uses every level)
        return max(statuses, key=STATUSES.index)
    raise KeyError(
        f"unknown estimand {estimand!r}; use a name from identification_table() "
        "(prevalence:<var>=<cat>, rd:/or:<outcome>=<level>|<predictor>=<level>, share:...) "
        "or '<outcome>~<predictor>'"
    )


def _level_mask(s: pd.Series, level: str) -> pd.Series:
    if str(s.dtype) == "boolean":
        return s == (level == "true")
    return s.astype(object) == level


def association_by_replicate(
    ensemble: pd.DataFrame, pairs: Iterable[tuple[str, str, str, str]] | None = None
) -> pd.DataFrame:
    """The difference in proportions of each pair in every replicate of an ensemble.

    Parameters
    ----------
    ensemble : pandas.DataFrame
        Output of :func:`irmodels.identification.reconstruction.reconstruct`.
    pairs : iterable of (outcome, outcome_level, predictor, predictor_level), optional
        Default :data:`DEFAULT_PAIRS`.

    Returns
    -------
    pandas.DataFrame
        ``estimand`` (``rd:...`` names of :func:`identification_table`), ``replicate``,
        ``value`` (``P(outcome | predictor level) - P(outcome | other levels)`` among
        departments answering the outcome).
    """
    p = DEFAULT_PAIRS if pairs is None else tuple(tuple(x) for x in pairs)
    parts = []
    for y, yl, a, al in p:
        d = ensemble.loc[ensemble[y].notna()]
        yy = _level_mask(d[y], yl).astype(float)
        aa = _level_mask(d[a], al).fillna(False).astype(bool)
        g = yy.groupby([d["replicate"], aa]).mean().unstack()
        parts.append(pd.DataFrame({"estimand": f"rd:{y}={yl}|{a}={al}", "replicate": g.index,
                                   "value": (g[True] - g[False]).to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def summarise_ensemble(ensemble: pd.DataFrame) -> pd.DataFrame:
    """Summarise an ensemble: exactness of every check, and unpublished associations.

    Parameters
    ----------
    ensemble : pandas.DataFrame
        Output of :func:`irmodels.identification.reconstruction.reconstruct`.

    Returns
    -------
    pandas.DataFrame
        One row per quantity: ``quantity`` (``all_checks_exact``, ``checks_per_replicate``,
        ``replicates``, then each ``rd:`` estimand of
        :func:`irmodels.identification.table.association_by_replicate`), ``status`` (the
        identification label), ``mean``, ``sd``, ``q025``, ``q500``, ``q975`` over replicates
        (for the checks: ``mean`` is 1 for "yes" and 0 for "no"), ``lower_bound``,
        ``upper_bound`` (identification bounds, where any).
    """
    chk = check_reconstruction(ensemble)
    k = int(ensemble["replicate"].nunique())
    rows = [
        {"quantity": "all_checks_exact", "status": "identified", "mean": float(chk["ok"].all())},
        {"quantity": "checks_per_replicate", "status": "identified", "mean": float(len(chk) / k)},
        {"quantity": "replicates", "status": "identified", "mean": float(k)},
    ]
    ident = identification_table().set_index("estimand")
    rd = association_by_replicate(ensemble)
    for est, g in rd.groupby("estimand", sort=False):
        v = g["value"].to_numpy()
        rows.append({
            "quantity": est, "status": ident.loc[est, "status"], "mean": float(v.mean()), "sd": float(v.std(ddof=1)),
            "q025": float(np.quantile(v, 0.025)), "q500": float(np.quantile(v, 0.5)), "q975": float(np.quantile(v, 0.975)),
            "lower_bound": float(ident.loc[est, "lower"]), "upper_bound": float(ident.loc[est, "upper"]),
        })
    cols = ["quantity", "status", "mean", "sd", "q025", "q500", "q975", "lower_bound", "upper_bound"]
    return pd.DataFrame(rows).reindex(columns=cols)
