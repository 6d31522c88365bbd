"""Tests of irmodels.identification.bounds: exact identification regions.

Compared with: (1) brute-force enumeration of every integer table on small problems
(Fréchet bounds known by hand), (2) a stated joint fact that tightens them, (3) every
reconstruction of the 2017 respondents, which must lie inside the region of every pair.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from irmodels.core.errors import SchemaError
from irmodels.identification.bounds import NA, Group, Rule, _contrast_bounds, _Pair, bounds, pair_table_feasible
from irmodels.identification.reconstruction import reconstruct

EXACT = 1e-12


def _brute(row: dict, col: dict, s1: set, s0: set, event: str, cond=lambda t: True):
    """RD and OR ranges over every integer table with the given margins (2 outcome levels + NA)."""
    rows, cols = list(row), list(col)
    rds, ors = [], []
    # enumerate rows one by one: each row is a composition of its total over the columns
    def comps(total, k):
        if k == 1:
            yield (total,)
            return
        for i in range(total + 1):
            for rest in comps(total - i, k - 1):
                yield (i,) + rest
    for cells in itertools.product(*[list(comps(row[r], len(cols))) for r in rows]):
        t = pd.DataFrame(cells, index=rows, columns=cols)
        if not all(t[c].sum() == col[c] for c in cols) or not cond(t):
            continue
        ans = [c for c in cols if c != NA]
        x1, d1 = t.loc[list(s1), event].sum(), t.loc[list(s1), ans].to_numpy().sum()
        x0, d0 = t.loc[list(s0), event].sum(), t.loc[list(s0), ans].to_numpy().sum()
        if d1 == 0 or d0 == 0:
            continue
        rds.append(x1 / d1 - x0 / d0)
        num, den = x1 * (d0 - x0), (d1 - x1) * x0
        if den == 0 and num == 0:
            continue
        ors.append(math.inf if den == 0 else num / den)
    return min(rds), max(rds), min(ors), max(ors)


@pytest.mark.parametrize("row,col,s1,s0", [
    ({"a": 3, "b": 4}, {"true": 4, "false": 3}, {"a"}, {"b"}),  # Fréchet, no missing
    ({"a": 3, "b": 4}, {"true": 3, "false": 2, NA: 2}, {"a"}, {"b"}),  # outcome item non-response
    ({"a": 2, "b": 3, "c": 3}, {"true": 4, "false": 3, NA: 1}, {"c"}, {"a"}),  # level vs reference
    ({"a": 2, "b": 3, "c": 3}, {"true": 4, "false": 3, NA: 1}, {"c"}, {"a", "b"}),  # level vs rest
])
def test_bounds_equal_brute_force_enumeration(row, col, s1, s0):
    p = _Pair("A", "Y", "published", margins={"A": row, "Y": col}, groups=(), joint={})
    b = _contrast_bounds(p, s1, s0, {"true"})
    lo, hi, olo, ohi = _brute(row, col, s1, s0, "true")
    assert b["rd_lower"] == pytest.approx(lo, abs=EXACT)
    assert b["rd_upper"] == pytest.approx(hi, abs=EXACT)
    assert b["or_lower"] == pytest.approx(olo, abs=EXACT)
    assert b["or_upper"] == pytest.approx(ohi, abs=EXACT) if math.isfinite(ohi) else math.isinf(b["or_upper"])


def test_frechet_bounds_known_by_hand():
    # 2 x 2, 3 of 7 with the level, 4 events, no missing: x in [0, 3];
    # rd in [0/3 - 4/4, 3/3 - 1/4] = [-1, 0.75]; OR in [0, inf]
    p = _Pair("A", "Y", "published", margins={"A": {"a": 3, "b": 4}, "Y": {"true": 4, "false": 3}}, groups=(), joint={})
    b = _contrast_bounds(p, {"a"}, {"b"}, {"true"})
    assert (b["rd_lower"], b["rd_upper"]) == (pytest.approx(-1.0), pytest.approx(0.75))
    assert b["or_lower"] == 0 and math.isinf(b["or_upper"])


def test_a_stated_joint_fact_tightens_the_bounds():
    # group of 3 members all in level "a" with exactly 2 events among them: x1 >= 2
    margins = {"A": {"a": 3, "b": 4}, "Y": {"true": 4, "false": 3}}
    g = Group("g", 3, None, (Rule("A", "in", ("a",), None, "published", "test"),
                             Rule("Y", "count", ("true",), 2, "published", "test")), "test group")
    p = _Pair("A", "Y", "published", margins=margins, groups=(g,), joint={})
    b = _contrast_bounds(p, {"a"}, {"b"}, {"true"})
    lo, hi, olo, ohi = _brute(margins["A"], margins["Y"], {"a"}, {"b"}, "true", cond=lambda t: t.loc["a", "true"] == 2)
    assert b["rd_lower"] == pytest.approx(lo) == pytest.approx(2 / 3 - 2 / 4)
    assert b["rd_upper"] == pytest.approx(hi)
    assert b["or_lower"] == pytest.approx(olo) and b["or_upper"] == pytest.approx(ohi) == pytest.approx(2.0)
    free = _contrast_bounds(_Pair("A", "Y", "published", margins=margins, groups=(), joint={}), {"a"}, {"b"}, {"true"})
    assert free["rd_lower"] < b["rd_lower"]


def test_2017_teaching_cover_by_hand():
    # 93 teaching / 5 not; 60 of 97 cover 24/7; 1 missing answer.
    b = bounds("teaching", "cover_24_7").set_index("scale")
    assert b.loc["risk_difference", "upper"] == pytest.approx(60 / 92 - 0 / 5, abs=EXACT)
    assert b.loc["risk_difference", "lower"] == pytest.approx(55 / 92 - 5 / 5, abs=EXACT)
    assert b.loc["odds_ratio", "status"] == "unrestricted"


def test_2017_published_facts_identify_or_tighten():
    # the membership combination table is published (audit D01): identified
    b = bounds("member_esr", "member_cirse").set_index("scale")
    assert b.loc["risk_difference", "status"] == "identified"
    # 39/82 both among ESR members vs 10/16 CIRSE-only among non-ESR members
    assert b.loc["risk_difference", "lower"] == pytest.approx(39 / 82 - 10 / 16, abs=EXACT)
    # DIS-04 and R4-04: one of the 2 departments without procedures teaches
    v = bounds("teaching", "procedure_volume_class", event="0").set_index("scale")
    assert v.loc["odds_ratio", "lower"] == pytest.approx((1 * 4) / (92 * 1), abs=EXACT)
    # R2-10: at least 7 of the 15 IR_mostly chairs are CIRSE members -> lower bound above Fréchet's
    c = bounds("chair_profile", "member_cirse")
    r = c[(c.contrast == "chair_profile: IR_mostly vs rest") & (c.scale == "risk_difference")].iloc[0]
    assert r["lower"] == pytest.approx(7 / 15 - 42 / 83, abs=EXACT)


def test_plausibility_facts_only_tighten():
    a = bounds("beds_class", "cover_24_7").set_index(["contrast", "scale"])
    b = bounds("beds_class", "cover_24_7", facts="plausibility").set_index(["contrast", "scale"])
    assert (b["lower"] >= a["lower"] - EXACT).all() and (b["upper"] <= a["upper"] + EXACT).all()
    assert (b["lower"] > a["lower"] + 1e-9).any() or (b["upper"] < a["upper"] - 1e-9).any()


@pytest.mark.parametrize("pred,out", [("beds_class", "cover_24_7"), ("teaching", "cover_24_7"),
                                      ("chair_profile", "cover_24_7"), ("chair_profile", "member_cirse"),
                                      ("teaching", "procedure_volume_class")])
def test_every_reconstruction_lies_inside_the_region(pred, out):
    ens = reconstruct(30, seed=11, assumptions="informed")
    b = bounds(pred, out)
    for _, rep in ens.groupby("replicate"):
        y = rep[out].astype(object).where(rep[out].notna(), NA).astype(str).str.lower().replace({"<na>": NA})
        a = rep[pred].astype(object).astype(str).str.lower() if str(rep[pred].dtype) == "boolean" else rep[pred].astype(str)
        tab = pd.crosstab(a, y)
        assert pair_table_feasible(tab, pred, out, facts="plausibility")
        for _, r in b.iterrows():
            lev, comp = r["contrast"].split(": ", 1)[1].split(" vs ")
            s1 = {lev}
            s0 = set(tab.index) - {lev} if comp == "rest" else {comp}
            ans = [c for c in tab.columns if c != NA]
            x1 = tab.reindex(index=list(s1), fill_value=0).get(r["event"], pd.Series(0)).sum()
            x0 = tab.reindex(index=list(s0), fill_value=0).get(r["event"], pd.Series(0)).sum()
            d1 = tab.reindex(index=list(s1), columns=ans, fill_value=0).to_numpy().sum()
            d0 = tab.reindex(index=list(s0), columns=ans, fill_value=0).to_numpy().sum()
            if r["scale"] == "risk_difference":
                v = x1 / d1 - x0 / d0
            else:
                num, den = x1 * (d0 - x0), (d1 - x1) * x0
                if den == 0 and num == 0:
                    continue
                v = math.inf if den == 0 else num / den
            assert r["lower"] - 1e-9 <= v <= r["upper"] + 1e-9, (r["contrast"], r["scale"], v)


def test_bad_arguments_are_listed_together():
    with pytest.raises(SchemaError) as e:
        bounds("nope", "cover_24_7", wave="wave_2025", facts="x")
    msg = str(e.value)
    assert "nope" in msg and "wave_2025" in msg and "facts" in msg
    with pytest.raises(SchemaError, match="valid"):
        bounds("teaching", "female_ir_share_class", event="26-50")
