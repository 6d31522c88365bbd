"""irmodels.core.yamlio: YAML 1.2 core scalars, and files that could be misread are errors with lines."""

import pytest

from irmodels.core.errors import ConfigError
from irmodels.core.yamlio import MAX_DEPTH, key_lines, load_yaml, load_yaml_text


def test_yaml11_booleans_stay_strings():
    d = load_yaml_text("Norway: NO\na: yes\nb: on\nc: Off\nd: y\nYes: 1\nt: true\nf: FALSE\n")
    assert d == {"Norway": "NO", "a": "yes", "b": "on", "c": "Off", "d": "y", "Yes": 1, "t": True, "f": False}


def test_numbers_and_nulls():
    d = load_yaml_text("a: 010\nb: 1.5\nc: ~\nd:\ne: 1e3\nf: -3\ng: '12'\nh: 0x1F\ni: 1_000\n")
    assert d == {"a": 10, "b": 1.5, "c": None, "d": None, "e": 1000.0, "f": -3, "g": "12", "h": "0x1F", "i": "1_000"}


@pytest.mark.parametrize("text, rule, line", [
    ("a: 1\nb: 2\na: 3\n", "duplicate key (first on line 1)", 3),
    ("a: &x [1, 2]\nb: *x\n", "aliases", 2),
    ("a: !!python/object/apply:os.system [ls]\n", "explicit YAML tags", 1),
    ("a: !custom x\n", "explicit YAML tags", 1),
    ("a: [1, 2\nb: 3\n", "not valid YAML", None),
])
def test_misreadable_files_are_errors_with_line(text, rule, line):
    with pytest.raises(ConfigError) as e:
        load_yaml_text(text, "cfg.yaml")
    probs = [p for p in e.value.problems if rule in p.rule]
    assert probs, str(e.value)
    assert probs[0].file == "cfg.yaml"
    if line is not None:
        assert probs[0].row == line


def test_billion_laughs_refused_before_expansion():
    text = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    with pytest.raises(ConfigError) as e:
        load_yaml_text(text, "bomb.yaml")
    assert len(e.value.problems) >= 9


def test_depth_limit():
    text = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    with pytest.raises(ConfigError, match="nesting deeper"):
        load_yaml_text(text)


def test_all_problems_at_once():
    with pytest.raises(ConfigError) as e:
        load_yaml_text("a: 1\na: 2\nb:\n  c: 1\n  c: 2\n", "x.yaml")
    assert [p.row for p in e.value.problems] == [2, 5]


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read file"):
        load_yaml(tmp_path / "missing.yaml")
    p = tmp_path / "latin1.yaml"
    p.write_bytes("a: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_yaml(p)
    q = tmp_path / "bom.yaml"
    q.write_bytes("\ufeffa: NO\n".encode("utf-8"))
    assert load_yaml(q) == {"a": "NO"}


def test_key_lines():
    assert key_lines("a:\n  b: 1\n  c:\n    - x\n") == {("a",): 1, ("a", "b"): 2, ("a", "c"): 3, ("a", "c", 0): 4}


def test_line_of_and_dotted_path_name_where_a_schema_error_is():
    from irmodels.core.yamlio import dotted_path, line_of

    text = "models:\n  specs:\n    - outcome: cover_24_7\n      engines: [pymc]\n"
    lines = key_lines(text)
    assert line_of(lines, ("models", "specs", 0, "engines", 0)) == 4  # the list item has no line: its key's
    assert line_of(lines, ("models", "specs")) == 2
    assert line_of(lines, ("nope",)) is None
    assert dotted_path(("models", "specs", 0, "engines")) == "models.specs[0].engines"
    assert dotted_path((True, "x")) == "True.x"  # a boolean key is not a list index
