"""Tests of irmodels.identification: labels, Fréchet bounds checked by brute force over every
joint table, and every reconstruction falling inside the bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from irmodels.core.errors import SchemaError
from irmodels.identification import (
    DEFAULT_PAIRS,
    STATUSES,
    association_by_replicate,
    frechet_bounds,
    identification_status,
    identification_table,
)
from irmodels.identification.reconstruction import reconstruct

EXACT = 1e-12


def brute_force_rd(n_a, n_y, n_resp, n_miss, x_min=0):
    """Every 2x2 table of the n_resp outcome respondents consistent with the margins."""
    vals = []
    for m in range(0, n_miss + 1):  # non-respondents with the predictor level
        a = n_a - m
        if not 0 < a < n_resp:
            continue
        for x in range(0, n_resp + 1):
            cells = (x, a - x, n_y - x, n_resp - a - n_y + x)
            if min(cells) < 0 or x < x_min:
                continue
            vals.append(x / a - (n_y - x) / (n_resp - a))
    return min(vals), max(vals)


@pytest.mark.parametrize("n_a,n_y,n_resp,n_miss,x_min", [(51, 60, 97, 1, 0), (15, 25, 90, 8, 0), (15, 49, 98, 0, 7), (93, 60, 97, 1, 0)])
def test_frechet_bounds_equal_brute_force(n_a, n_y, n_resp, n_miss, x_min):
    b = frechet_bounds(n_a, n_y, n_resp, n_miss, x_min=x_min)
    lo, hi = brute_force_rd(n_a, n_y, n_resp, n_miss, x_min)
    assert b["rd_lower"] == pytest.approx(lo, abs=EXACT)
    assert b["rd_upper"] == pytest.approx(hi, abs=EXACT)


def test_hand_computed_beds_24_7_bounds():
    # 51 departments >=800 beds; 60 of 97 with 24/7 cover; 1 missing.
    # If the missing one is not >=800 (m = 0): x in [14, 51]: rd = 14/51 - 46/46 and 51/51 - 9/46.
    b = frechet_bounds(51, 60, 97, 1)
    assert b["rd_upper"] == pytest.approx(1 - 9 / 46, abs=EXACT)
    # m = 1 (a = 50): x >= 13: 13/50 - 47/47 = -0.74 is lower than 14/51 - 1
    assert b["rd_lower"] == pytest.approx(13 / 50 - 1, abs=EXACT)
    assert b["or_lower"] == 0 and math.isinf(b["or_upper"])


def test_table_labels_and_examples():
    t = identification_table().set_index("estimand")
    assert set(t["status"]) <= set(STATUSES)
    r = t.loc["prevalence:cover_24_7=true"]
    assert r["status"] == "identified"
    assert r["estimate"] == pytest.approx(60 / 97, abs=EXACT)
    assert (r["lower"], r["upper"]) == (pytest.approx(60 / 98), pytest.approx(61 / 98))
    assert t.loc["or:cover_24_7=true|beds_class=>=800", "status"] == "assumption"
    assert t.loc["rd:cover_24_7=true|beds_class=>=800", "status"] == "bounded"
    assert t.loc["share:chair_profile=IR_mostly|membership=cirse_only", "status"] == "identified"
    assert t.loc["share:chair_profile=IR_mostly|membership=cirse_only", "estimate"] == pytest.approx(0.7)
    assert t.loc["prevalence:female_ir_share_class=26-50", "status"] == "bounded"
    # a published joint fact sharpens the odds-ratio bounds away from 0
    assert t.loc["or:member_cirse=true|chair_profile=IR_mostly", "lower"] > 0
    for y, yl, a, al in DEFAULT_PAIRS:
        assert f"rd:{y}={yl}|{a}={al}" in t.index and f"or:{y}={yl}|{a}={al}" in t.index


def test_status_lookup():
    assert identification_status("prevalence:cover_24_7=true") == "identified"
    assert identification_status("cover_24_7~beds_class") == "assumption"
    assert identification_status("member_cirse~chair_profile") == "assumption"  # least identified level decides
    assert identification_status("female_ir_share_class~country") == "assumption"
    with pytest.raises(KeyError, match="unknown estimand"):
        identification_status("nonsense")
    with pytest.raises(KeyError, match="codebook"):
        identification_status("cover~beds")


def test_bad_pairs():
    with pytest.raises(SchemaError, match="answered by all"):
        identification_table([("cover_24_7", "true", "ir_share_class", "26-50")])
    with pytest.raises(SchemaError, match="no published count"):
        identification_table([("cover_24_7", "yes", "beds_class", ">=800")])


@pytest.mark.parametrize("assumptions", ["independent", "informed"])
def test_reconstructions_respect_identification(assumptions):
    ens = reconstruct(k=100, seed=8, assumptions=assumptions)
    t = identification_table().set_index("estimand")
    rd = association_by_replicate(ens)
    for est, g in rd.groupby("estimand"):
        lo, hi = t.loc[est, ["lower", "upper"]]
        assert len(g) == 100
        assert g["value"].between(lo - EXACT, hi + EXACT).all(), est
    # identified quantities do not vary over replicates
    share = ens.groupby("replicate").apply(
        lambda r: ((~r.member_esr & r.member_cirse) & (r.chair_profile == "IR_mostly")).sum(), include_groups=False)
    assert set(share) == {7}


def test_assumption_labelled_association_varies_identified_does_not():
    ens = reconstruct(k=50, seed=2, assumptions="informed")
    prev = ens.groupby("replicate")["cover_24_7"].mean()
    assert prev.nunique() == 1
    rd = ens.dropna(subset=["cover_24_7"]).groupby(["replicate", ens["beds_class"] == ">=800"], observed=True)["cover_24_7"].mean().unstack()
    assert (rd[True] - rd[False]).nunique() > 5


def test_association_by_replicate_matches_direct_computation():
    ens = reconstruct(k=20, seed=6, assumptions="informed")
    rd = association_by_replicate(ens, [("cover_24_7", "true", "beds_class", ">=800")])
    x = ens.dropna(subset=["cover_24_7"])
    direct = []
    for _, r in x.groupby("replicate"):
        big = (r["beds_class"] == ">=800").to_numpy()
        y = r["cover_24_7"].to_numpy(dtype=float)
        direct.append(y[big].mean() - y[~big].mean())
    assert np.allclose(rd["value"].to_numpy(), direct, atol=EXACT, rtol=0)


def test_notes_give_the_provenance_of_each_count():
    """Each prevalence note names how the count was obtained (printed / implied / residual /
    resolution) and the statement(s) and audit discrepancy it rests on, as recorded in
    published_margins() and audit(); a residual is never called "published"."""
    from irmodels.published.audit import audit
    from irmodels.data.waves.esr_cirse_2017 import published_margins

    t = identification_table().set_index("estimand")
    pm = published_margins()
    disc = {}
    for sid, d in zip(audit()["statement_id"], audit()["discrepancy_id"]):
        disc[sid] = [x for x in d.split(";") if x]
    word = {"printed": "printed in", "implied": "implied by the printed percentage of", "residual": "residual of",
            "resolution": "resolution of a contradiction, from"}
    checked = 0
    for r in pm.itertuples(index=False):
        est = f"prevalence:{r.variable}={r.category}"
        if est not in t.index:
            continue  # pseudo-categories (membership combinations, count classes) are not prevalences here
        note = t.loc[est, "note"]
        assert note.startswith(f"{r.count} of {r.item_n} answers ({word[r.source]} {r.statement_id}"), note
        ds = sorted({d for s in r.statement_id.split(";") for d in disc.get(s, [])})
        if ds:
            assert f"(discrepancy {', '.join(ds)})" in note, note
        assert "published" not in note
        checked += 1
    # every published category is one estimand; a boolean's "false" share is its complement
    booleans_false = int(((pm["category"] == "false")).sum())
    assert checked == int(t.index.str.startswith("prevalence:").sum()) - 1 - 3  # minus chair_ir_involved, the 3 bounded >25 classes
    assert booleans_false > 0 and not t.index.str.endswith("=false").any()
    assert t.loc["prevalence:admission_under_ir=mixed", "note"].startswith(
        "20 of 97 answers (residual of R4-13;R4-14 (discrepancy D08))")
    assert t.loc["prevalence:outpatient_location=elsewhere", "note"].startswith("22 of 56 answers (residual of R4-08)")
    assert t.loc["prevalence:cover_24_7=true", "note"].startswith("60 of 97 answers (printed in R4-16 (discrepancy D02))")
    assert t.loc["prevalence:teaching=true", "note"].startswith(
        "93 of 98 answers (implied by the printed percentage of R1-06 (discrepancy D05))")
    assert "residual of R3-27;R3-28" in t.loc["prevalence:female_ir_share_class=26-50", "note"]
