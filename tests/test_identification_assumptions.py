"""Assumption sets are checked against a JSON Schema (irmodels.identification.assumption_sets).

Each bad file below is written by hand, so the expected line, key and value of every problem
are read off the file itself; a problem must name the file, the line (as its row, or inside
an entry of ``associations`` / ``odds_ratios`` as ``(line N)`` with the entry as its row), the
key (column) and the value as read. Both loaders (:func:`load_assumptions` for the
reconstruction, :func:`load_odds_ratios` for the curves) report the same problems.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from irmodels.core import yamlio
from irmodels.core.errors import ConfigError, SchemaError
from irmodels.identification.assumption_sets import (
    ASSUMPTION_SCHEMA,
    load_assumptions,
    read_assumption_set,
    shipped_assumption_sets,
)
from irmodels.identification.odds_ratios import load_odds_ratios
from irmodels.identification.reconstruction import reconstruct

from problems import one

BAD = """\
name: true
description: 12
colour: red
associations:
  - target: cover_24_7
    predictor: beds_class
    latent_coefficient: {distribution: normal, mean: "0.5", sd: 0.1}
    source: 5
  - target: yes
    predictor: teaching
    latent_coefficient: {distribution: normal, mean: 0.5, sd: 0.1, shape: 2}
    source: x
odds_ratios:
  - parameter: cover_24_7~teaching
    odds_ratio: "2"
    range: [1, 3]
    source: s
unpublished_margins:
  n_residents_13_21: {low: 10.0, high: 25}
  female_ir_share_upper:
    dirichlet_alpha: [1, 2]
counts:
  n_radiologists:
    sdlog: wide
    median_by_beds: {"<200": 8, "200-399": 12, "400-799": 20, true: 35}
"""


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(BAD, encoding="utf-8")
    return p


def test_shipped_sets_fit_the_schema():
    import yaml

    assert set(shipped_assumption_sets()) >= {"independent", "informed"}
    jsonschema.Draft202012Validator.check_schema(ASSUMPTION_SCHEMA)
    root = Path(__file__).parents[1] / "irmodels" / "identification" / "assumptions"
    for name in shipped_assumption_sets():
        spec = yaml.safe_load((root / f"{name}.yaml").read_text(encoding="utf-8"))
        assert list(jsonschema.Draft202012Validator(ASSUMPTION_SCHEMA).iter_errors(spec)) == []
        assert read_assumption_set(name).problems == []


@pytest.mark.parametrize("loader", [load_assumptions, load_odds_ratios])
def test_every_schema_problem_names_file_line_key_and_value(bad: Path, loader):
    with pytest.raises(SchemaError) as ei:
        loader(bad)
    f = str(bad)
    assert all(p.file == f for p in ei.value.problems)
    # top-level keys: the line is the row, the dotted key the column
    one(ei, row=1, column="name", value=True, rule="must be text")
    one(ei, row=2, column="description", value=12, rule="must be text")
    one(ei, row=3, column="colour", rule="unknown field")
    one(ei, row=24, column="counts.n_radiologists.sdlog", value="wide", rule="sdlog must be a number")
    one(ei, row=25, column="counts.n_radiologists.median_by_beds.true", value=True, rule="a key must be text")
    one(ei, row=25, column="counts.n_radiologists.median_by_beds.>=800", rule="missing field")
    one(ei, row=21, column="unpublished_margins.female_ir_share_upper.dirichlet_alpha", value=[1, 2],
        rule="3 positive numbers")
    one(ei, row=19, column="unpublished_margins.n_residents_13_21.low", value=10.0, rule="need integers")
    # inside an entry: the entry is the row, the line is in the rule
    one(ei, row="associations[0]", column="latent_coefficient.mean", value="0.5", rule="mean must be a number (line 7)")
    one(ei, row="associations[0]", column="source", value=5, rule="must be text (quote it if it is meant as text), "
                                                                   "not a number (line 8)")
    one(ei, row="associations[1]", column="target", value="yes", rule="(line 9)")  # YAML 1.2: yes stays text
    one(ei, row="associations[1]", column="latent_coefficient.shape", rule="unknown field")
    one(ei, row="odds_ratios[0]", column="odds_ratio", value="2", rule="positive number (line 15)")
    assert len(ei.value.problems) == 13


def test_numbers_where_text_is_meant_and_text_where_numbers_are(tmp_path: Path):
    p = tmp_path / "a.yaml"
    p.write_text("name: 2024\nodds_ratios:\n  - parameter: cover_24_7~teaching\n    odds_ratio: 1.5\n"
                 "    range: [0.5, '3']\n    source: false\n", encoding="utf-8")
    with pytest.raises(SchemaError) as ei:
        load_odds_ratios(p)
    one(ei, row=1, column="name", value=2024, rule="not a number")
    one(ei, row="odds_ratios[0]", column="source", value=False, rule="not a boolean (line 6)")
    one(ei, row="odds_ratios[0]", column="range[1]", value="3", rule="[low, high] with 0 < low < high (line 5)")
    assert len(ei.value.problems) == 3


def test_reconstruct_refuses_a_bad_user_file_before_generating(tmp_path: Path):
    p = tmp_path / "a.yaml"
    p.write_text("name: x\ncounts:\n  n_residents: {tail_mean_above_21: -1}\n", encoding="utf-8")
    with pytest.raises(SchemaError) as ei:
        reconstruct(k=1, seed=1, assumptions=p)
    one(ei, row=3, column="counts.n_residents.tail_mean_above_21", value=-1, rule=">= 0")


def test_odds_ratio_rules_a_schema_cannot_state(tmp_path: Path):
    p = tmp_path / "a.yaml"
    p.write_text("odds_ratios:\n  - parameter: cover_24_7~country\n    odds_ratio: .inf\n    range: [1, 3]\n"
                 "    source: s\n  - parameter: teaching~beds_class\n    odds_ratio: 5\n    range: [1, 3]\n"
                 "    source: s\n", encoding="utf-8")
    for loader in (load_assumptions, load_odds_ratios):
        with pytest.raises(SchemaError) as ei:
            loader(p)
        one(ei, row="odds_ratios[0]", column="parameter", value="cover_24_7~country", rule="predictor must be one of")
        one(ei, row="odds_ratios[0]", column="odds_ratio", rule="positive number (line 3)")
        one(ei, row="odds_ratios[1]", column="odds_ratio", value=5, rule="inside its range (line 7)")
        assert len(ei.value.problems) == 3


def test_yaml_rules_apply_to_assumption_files(tmp_path: Path, monkeypatch):
    p = tmp_path / "a.yaml"
    p.write_text("name: &n x\ndescription: *n\n", encoding="utf-8")
    with pytest.raises(ConfigError) as ei:
        load_assumptions(p)
    one(ei, row=1, value="&n", rule="anchors")
    one(ei, row=2, value="*n", rule="aliases")
    q = tmp_path / "big.yaml"
    q.write_text("name: x\n" + "# padding\n" * 20, encoding="utf-8")
    monkeypatch.setattr(yamlio, "MAX_BYTES", 100)
    with pytest.raises(ConfigError, match="larger than 100 bytes"):
        load_odds_ratios(q)
