"""Tests of irmodels.models.formula: formulas are parsed against a small grammar, never evaluated
as Python (issue 12, item 1). The exploit of the hardening review and its variants are refused
with a message naming the offending token, and nothing they contain is executed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import irmodels
from irmodels.core.errors import ModelSpecError
from irmodels.models.formula import TRANSFORMS, check_formula, safe_model_matrix


def hostile_table(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    d = pd.DataFrame({
        "cover_24_7": pd.array(rng.random(n) < 0.6, dtype="boolean"),
        "teaching": pd.array(rng.random(n) < 0.8, dtype="boolean"),
        "x": rng.normal(size=n) + 3,
    })
    # columns named like Python internals: they must not give a formula access to Python
    for c in ("__builtins__", "exec", "bytes", "decode", "eval", "open", "np"):
        d[c] = 1.0
    return d


EXPLOITS = [
    "cover_24_7 ~ teaching + {np.__builtins__['exec']('open(MARK, \"w\").write(\"x\")')}",
    "cover_24_7 ~ teaching + exec('open(MARK, \"w\").write(\"x\")')",
    "cover_24_7 ~ teaching + x.__class__",
    "cover_24_7 ~ teaching + x.__globals__",
    "cover_24_7 ~ teaching + np.log(x)",
    "cover_24_7 ~ teaching + x[0]",
    "cover_24_7 ~ teaching + (lambda: 1)()",
    "cover_24_7 ~ teaching + __import__('os').system('true')",
    "cover_24_7 ~ teaching + eval('1')",
    "cover_24_7 ~ teaching + open(MARK)",
    "cover_24_7 ~ teaching + bytes.fromhex('00').decode()",
    "cover_24_7 ~ teaching + C(x, __import__('os'))",
    "cover_24_7 ~ teaching + C(x, Treatment(__import__('os')))",
    "cover_24_7 ~ teaching + log(x).real",
    "cover_24_7 ~ teaching + `x`",
    "cover_24_7 ~ teaching + \\x61",
    "cover_24_7 ~ teaching + [x for x in ()]",
    "cover_24_7 ~ teaching + x if x else x",
]


@pytest.mark.parametrize("formula", EXPLOITS)
def test_exploits_are_refused_before_evaluation_and_nothing_runs(formula, tmp_path):
    mark = tmp_path / "pwned"
    f = formula.replace("MARK", repr(str(mark)))
    with pytest.raises(ModelSpecError, match="formula"):
        irmodels.fit(f, hostile_table(), family="bernoulli", engine="statsmodels")
    with pytest.raises(ModelSpecError):
        check_formula(f, hostile_table().columns)
    assert not mark.exists()


def test_the_message_names_the_offending_token():
    with pytest.raises(ModelSpecError, match=r"token .\{np.__builtins__"):
        check_formula("y ~ a + {np.__builtins__['exec']('1')}", ["y", "a", "np"])
    with pytest.raises(ModelSpecError, match="'exec'.*not an allowed call"):
        check_formula("y ~ exec(a)", ["y", "a", "exec"])
    with pytest.raises(ModelSpecError, match="'__builtins__'.*starting with '_'"):
        check_formula("y ~ __builtins__", ["y", "__builtins__"])
    with pytest.raises(ModelSpecError, match="a term is missing"):
        check_formula("y ~ a +", ["y", "a"])
    for cut in ("y ~ C(", "y ~ log(", "y ~ a + C("):  # a call cut off at the end (was an IndexError)
        with pytest.raises(ModelSpecError, match=r"ends after '(C|log)\('"):
            check_formula(cut, ["y", "a"])
    with pytest.raises(ModelSpecError, match=r"token '\| b'"):
        check_formula("y ~ a | b", ["y", "a", "b"])


def test_the_grammar_accepts_what_the_models_need():
    cols = ["y", "beds_class", "teaching", "chair_profile", "x"]
    for f in ("y ~ beds_class + teaching + chair_profile", "y ~ 1", "y ~ 0 + x", "y ~ beds_class:teaching",
              "y ~ beds_class * teaching", "y ~ C(beds_class, Treatment('400-799'))", "y ~ log(x) + sqrt(x) - 1",
              "y ~ C(chair_profile)"):
        assert check_formula(f, cols).outcome == "y"
    assert set(TRANSFORMS) == {"log", "log1p", "exp", "sqrt"}


def test_a_column_named_like_a_builtin_is_just_data():
    """A data column called ``exec`` is a predictor like any other: evaluated from the data only."""
    d = hostile_table()
    d["exec"] = np.arange(len(d), dtype=float)
    mm = safe_model_matrix("teaching + exec", d)
    assert list(mm.columns)[0] == "Intercept" and list(mm.columns)[-1] == "exec" and len(mm.columns) == 3
    np.testing.assert_array_equal(np.asarray(mm["exec"]), d["exec"].to_numpy())
    fit = irmodels.fit("cover_24_7 ~ teaching + x", d, family="bernoulli", engine="statsmodels")
    assert len(fit.tidy()) == 3 and fit.tidy()["term"].iloc[-1] == "x"
