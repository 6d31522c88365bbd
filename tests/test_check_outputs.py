"""tools/check_outputs.py (make check): MCMC summaries compared within 3 MCSE, the rest exactly."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("check_outputs", ROOT / "tools/check_outputs.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "data": ["w", "w"], "engine": ["pymc", "statsmodels"], "spec_id": ["s", "s"], "term": ["x", "x"],
        "estimate": [0.5, 0.4], "std_error": [0.2, 0.19], "lower": [0.1, 0.03], "upper": [0.9, 0.77],
        "r_hat": [1.001, None], "ess_bulk": [400.0, None], "ess_tail": [400.0, None]})


def test_identical_tables_pass():
    assert check._mcse_ok(_table(), _table()) == []


def test_bayesian_mean_within_and_beyond_three_mcse():
    mcse = 0.2 / 400 ** 0.5  # 0.01
    near, far = _table(), _table()
    near.loc[0, "estimate"] += 2.9 * mcse
    far.loc[0, "estimate"] += 3.1 * mcse
    assert check._mcse_ok(near, _table()) == []
    bad = check._mcse_ok(far, _table())
    assert len(bad) == 1 and "estimate" in bad[0] and "3 MCSE" in bad[0]


def test_bayesian_quantile_tolerance_is_wider_than_the_mean():
    t = _table()
    t.loc[0, "lower"] += 0.05  # 3 MCSE of the 2.5% quantile at sd 0.2, tail ESS 400: 0.080
    assert check._mcse_ok(t, _table()) == []
    t.loc[0, "lower"] += 0.04
    assert len(check._mcse_ok(t, _table())) == 1


def test_stored_mcse_is_the_tolerance():
    old = _table()
    old["mcse_estimate"], old["mcse_lower"], old["mcse_upper"] = [0.002, None], [0.01, None], [0.02, None]
    new = old.copy()
    new.loc[0, "estimate"] += 2.9 * 0.002
    new.loc[0, "upper"] += 2.9 * 0.02
    assert check._mcse_ok(new, old) == []
    new.loc[0, "lower"] += 3.1 * 0.01
    bad = check._mcse_ok(new, old)
    assert len(bad) == 1 and "lower" in bad[0] and "3 MCSE = 0.03" in bad[0]


def test_frequentist_rows_must_match_and_rows_must_not_vanish():
    t = _table()
    t.loc[1, "estimate"] = 0.41
    assert any("frequentist" in b for b in check._mcse_ok(t, _table()))
    assert any("only in committed" in b for b in check._mcse_ok(_table().iloc[:1], _table()))
