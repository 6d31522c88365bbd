"""Consistency audit of a published survey paper.

Every printed percentage is recomputed from its count and denominator with
exact rational arithmetic; the item denominator each printed value implies is
inferred; each statement is classified as

``ok``
    the printed value is the count over the stated (or, when none is stated,
    a plausible implied) denominator, rounded half-up to the printed decimals;
``truncated``
    it is reproduced only when the decimals are cut off instead of rounded;
``inconsistent``
    no reading of the stated numbers gives the printed value, or the
    statement restates another with a different number, or its printed number
    is the reading rejected by a documented discrepancy.

Cross-passage contradictions and the reading irmodels adopts are listed by
:func:`discrepancies`; arithmetic identities between statements (parts
summing to their total) by :func:`identity_checks`.
"""

from __future__ import annotations

import pandas as pd

from irmodels.published.audit_checks import _check_restatement, _classify, _item_sums

__all__ = ["audit", "discrepancies", "identity_checks", "AUDIT_COLUMNS"]

AUDIT_COLUMNS: tuple[str, ...] = (
    "statement_id",
    "section",
    "variable",
    "category",
    "condition",
    "use",
    "count",
    "denominator",
    "percent_printed",
    "percent_recomputed",
    "implied_denominator",
    "implied_count",
    "status",
    "reason",
    "alternative_reading",
    "discrepancy_id",
    "quote",
)

_WAVES = ("esr_cirse_2017",)


def _unknown_wave(wave: str) -> Exception:
    """The error for a wave without published aggregates (a SchemaError, hence also a ValueError)."""
    from irmodels.core.errors import Problem, SchemaError

    return SchemaError([Problem(f"unknown wave {wave!r}; waves with published aggregates: {list(_WAVES)}",
                                column="wave", value=wave)], what="audit")


def audit(wave: str = "esr_cirse_2017", statements: pd.DataFrame | None = None) -> pd.DataFrame:
    """Audit every quantitative statement of a wave's paper.

    Parameters
    ----------
    wave : str
        Only ``"esr_cirse_2017"`` has published aggregates.
    statements : DataFrame, optional
        A statements table as returned by
        :func:`irmodels.data.waves.esr_cirse_2017.load_statements` (loaded when
        omitted); lets you audit an edited copy.

    Returns
    -------
    pandas.DataFrame
        One row per statement, columns :data:`AUDIT_COLUMNS`:

        - ``statement_id, section, variable, category, condition, use, quote``:
          as in the statements file;
        - ``count``, ``denominator`` (Int64): as printed (``denominator``
          empty when the paper states none);
        - ``percent_printed`` (str): exactly as printed;
        - ``percent_recomputed`` (str): the count over the stated denominator
          (else the implied one) at the printed number of decimals;
        - ``implied_denominator`` (Int64): the denominator that reproduces the
          printed percentage (rounding preferred to truncation; the stated
          denominator, the adopted item denominator and 98 are tried first,
          then every value down to the item's printed total);
        - ``implied_count`` (Int64): for percentages printed without a count;
        - ``status``: ``ok``, ``truncated`` or ``inconsistent``;
        - ``reason``: why, in words;
        - ``alternative_reading``: for inconsistent percentages, a nearby
          count that would give the printed value with the stated denominator;
        - ``discrepancy_id``: the :func:`discrepancies` entry the statement is in.

    Raises
    ------
    ValueError
        For an unknown wave (the message lists the known ones).
    irmodels.core.errors.SchemaError
        If the statements file is malformed.

    Examples
    --------
    >>> a = audit()
    >>> a.set_index("statement_id").status.value_counts().index.tolist()  # doctest: +SKIP
    ['ok', 'inconsistent', 'truncated']
    """
    if wave not in _WAVES:
        raise _unknown_wave(wave)
    from irmodels.data.waves import esr_cirse_2017 as w

    st = w.load_statements() if statements is None else statements
    res = w.load_resolutions()
    item_n: dict[str, int] = res["item_n"]
    sums = _item_sums(st)
    by_id = st.set_index("statement_id")
    disc_of, rejected = _discrepancy_index(res)

    rows = []
    for r in st.itertuples(index=False):
        count = None if pd.isna(r.count) else int(r.count)
        stated = None if pd.isna(r.denominator) else int(r.denominator)
        v = _classify(r, count, stated, by_id=by_id, res=res, item_n=item_n, sums=sums,
                      n_respondents=w.N_RESPONDENTS)
        _check_restatement(v, r, count, by_id)
        if r.statement_id in rejected:
            v.status = "inconsistent"
            v.reasons.append(rejected[r.statement_id])
        rows.append(
            {
                "statement_id": r.statement_id,
                "section": r.section,
                "variable": r.variable,
                "category": r.category,
                "condition": r.condition,
                "use": r.use,
                "count": count,
                "denominator": stated,
                "percent_printed": r.percent_printed,
                "percent_recomputed": v.recomputed or "",
                "implied_denominator": v.implied_den,
                "implied_count": v.implied_count,
                "status": v.status,
                "reason": "; ".join(v.reasons),
                "alternative_reading": v.alternative,
                "discrepancy_id": ";".join(disc_of.get(r.statement_id, [])),
                "quote": r.quote,
            }
        )
    out = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    for col in ("count", "denominator", "implied_denominator", "implied_count"):
        out[col] = out[col].astype("Int64")
    return out


def _discrepancy_index(res: dict) -> tuple[dict[str, list[str]], dict[str, str]]:
    """``(discrepancy ids of each statement, why each rejected statement's printed number is not used)``."""
    disc_of: dict[str, list[str]] = {}
    rejected: dict[str, str] = {}
    for d in res.get("discrepancies", []):
        for sid in d.get("statements", []):
            disc_of.setdefault(sid, []).append(d["id"])
        # a discrepancy whose readings are records says which printed field the adopted one overrides
        fields: dict[str, list[str]] = {}
        adopted = [rd for rd in d.get("readings", []) if isinstance(rd, dict) and rd.get("adopted") is True]
        for pair in (adopted[0].get("contradicts", []) if adopted else []):
            sid, _, field = str(pair).partition(":")
            fields.setdefault(sid, []).append(field)
        for sid in d.get("rejected", []):
            if sid in fields:
                rejected[sid] = (
                    f"printed {' and '.join(fields[sid])} not used as printed under the adopted reading "
                    f"{adopted[0].get('id')!r} of discrepancy {d['id']}"
                )
            else:
                rejected[sid] = f"printed reading rejected by discrepancy {d['id']}"
    return disc_of, rejected


def _reading_text(reading: object) -> str:
    """One reading as text: plain text, or ``id: text`` for a record (``(default)`` when adopted)."""
    if isinstance(reading, dict):
        label = f"{reading.get('id', '')}{' (default)' if reading.get('adopted') is True else ''}"
        return f"{label}: {reading.get('text', '')}"
    return str(reading)


def discrepancies(wave: str = "esr_cirse_2017") -> pd.DataFrame:
    """Places where passages of the paper give different numbers or words for the same thing.

    Parameters
    ----------
    wave : str
        Only ``"esr_cirse_2017"`` has published aggregates.

    Returns
    -------
    pandas.DataFrame
        One row per discrepancy of the wave's resolutions, columns:

        - ``discrepancy_id``, ``topic`` (str);
        - ``status`` (str): ``contradiction`` (the numbers cannot all hold;
          one is not used as printed), ``tension`` (the wording conflicts but
          one stated reading keeps every printed number) or ``open`` (several
          readings fit equally; the default is a convention, the others are
          named assumptions, e.g. :func:`irmodels.data.waves.esr_cirse_2017.membership_readings`);
        - ``statement_ids`` (str, ``;``-separated);
        - ``reading_a``, ``reading_b`` (str): the first two readings;
          ``other_readings`` (str): any further readings, ``" | "``-separated
          (``""`` when there are two); a reading that is a record is written
          ``id: text``, ``(default)`` marking the adopted one;
        - ``adopted`` (str): the resolution irmodels uses in margins and
          reconstructions; ``reason`` (str): why;
        - ``rejected_ids`` (str): statements whose printed number is not used as printed;
        - ``quotes`` (str): verbatim passages of the paper the discrepancy rests
          on, ``" | "``-separated (``""`` when the statements' quotes suffice).

    Raises
    ------
    ValueError
        For an unknown wave (the message lists the known ones).
    irmodels.core.errors.SchemaError
        If a discrepancy has fewer than two readings or an unknown status
        (the problem names the discrepancy and lists the valid statuses).

    Examples
    --------
    >>> d = discrepancies().set_index("discrepancy_id")
    >>> d.loc["D01", "status"]
    'open'
    """
    if wave not in _WAVES:
        raise _unknown_wave(wave)
    from irmodels.core.errors import Problem, SchemaError
    from irmodels.data.waves import esr_cirse_2017 as w

    res = w.load_resolutions()
    problems = []
    for d in res.get("discrepancies", []):
        if d.get("status") not in w.DISCREPANCY_STATUSES:
            problems.append(Problem(rule=f"status must be one of {list(w.DISCREPANCY_STATUSES)}", row=d.get("id"),
                                    column="status", value=d.get("status")))
        if len(d.get("readings", [])) < 2:
            problems.append(Problem(rule="a discrepancy needs at least two readings", row=d.get("id"), column="readings",
                                    value=d.get("readings")))
    if problems:
        raise SchemaError(problems, what="discrepancies in the resolutions")
    rows = []
    for d in res.get("discrepancies", []):
        readings = [_reading_text(rd) for rd in d["readings"]]
        rows.append(
            {
                "discrepancy_id": d["id"],
                "topic": d["topic"],
                "status": d["status"],
                "statement_ids": ";".join(d.get("statements", [])),
                "reading_a": readings[0],
                "reading_b": readings[1],
                "other_readings": " | ".join(readings[2:]),
                "adopted": d["adopted"],
                "reason": d["reason"],
                "rejected_ids": ";".join(d.get("rejected", [])),
                "quotes": " | ".join(d.get("quotes", [])),
            }
        )
    return pd.DataFrame(rows)


def identity_checks(wave: str = "esr_cirse_2017", statements: pd.DataFrame | None = None) -> pd.DataFrame:
    """Check arithmetic identities between statements (parts sum to their total).

    Returns
    -------
    pandas.DataFrame
        Columns ``identity_id, description, total`` (the printed or stated
        total), ``parts_sum`` (sum of the printed parts), ``holds`` (bool),
        ``statement_ids``.
    """
    if wave not in _WAVES:
        raise _unknown_wave(wave)
    from irmodels.data.waves import esr_cirse_2017 as w

    st = w.load_statements() if statements is None else statements
    counts = st.set_index("statement_id")["count"]
    rows = []
    for ident in w.load_resolutions().get("identities", []):
        total = ident["total"]
        total_val = int(counts[total]) if isinstance(total, str) else int(total)
        parts = ident["parts"]
        parts_sum = int(sum(int(counts[p]) for p in parts))
        rows.append(
            {
                "identity_id": ident["id"],
                "description": ident["description"],
                "total": total_val,
                "parts_sum": parts_sum,
                "holds": total_val == parts_sum,
                "statement_ids": ";".join(([total] if isinstance(total, str) else []) + list(parts)),
            }
        )
    return pd.DataFrame(rows)
