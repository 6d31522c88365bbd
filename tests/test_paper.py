"""The paper never contains a typed estimate: every number is a generated macro or table.

Checks paper/irmodels_2017.tex against paper/generated/numbers.tex (written by
analyses/90_paper_numbers.py from the derived tables).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from irmodels.pipeline.paper import read_macros

# Digit strings that may appear in the paper's own text, each with the reason it is not an estimate.
ALLOWED = {
    "24/7": "the name of the outcome (round-the-clock coverage)",
    "2017": "the survey's year, part of its name",
    "2019": "publication year in the reference",
    "95": "confidence level of every interval (95% CI)",
    "800": "category definition (hospitals with 800 or more beds)",
    "200": "category definition / frame scenario name (hospitals of 200 or more beds)",
    "1--25": "category definition (1-25% women among IRs)",
    "0": "the bound 0 of an unrestricted odds ratio, in the identification caption",
    "85mm": "figure width (journal single column)",
    "170mm": "figure width (journal double column)",
    "25mm": "page margin",
    "11pt": "font size",
    "1": "figure number of the original paper (Fig. 1) / odds ratio 1 = missing at random",
    "2": "figure number of the original paper (Fig. 2)",
    "9": "size of the bibliography label",
}


@pytest.fixture(scope="module")
def paper(repo_root) -> str:
    return (repo_root / "paper" / "irmodels_2017.tex").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def macros(repo_root) -> dict:
    return read_macros(repo_root / "paper" / "generated" / "numbers.tex")


def _body_text(tex: str) -> str:
    tex = re.sub(r"(?<!\\)%.*", "", tex)  # comments
    tex = re.sub(r"\\begin\{thebibliography\}.*?\\end\{thebibliography\}", "", tex, flags=re.S)
    tex = re.sub(r"\\(input|includegraphics|label|ref|cite|graphicspath|IfFileExists|usepackage|documentclass)(\[[^\]]*\])?\{[^}]*\}", "", tex)
    tex = re.sub(r"\\texttt\{[^}]*\}", "", tex)  # code names such as lme4::glmer
    tex = re.sub(r"\\ir[A-Za-z]+", "", tex)
    return tex


def test_every_macro_is_generated(paper, macros):
    # \irmodelsVersion and \irmodelsCommit come from generated/version.tex (analyses/run_all.py)
    paper = paper.replace("\\irmodelsVersion", "").replace("\\irmodelsCommit", "")
    used = set(re.findall(r"\\ir([A-Za-z]+)", paper))
    assert used, "the paper uses no generated numbers"
    missing = sorted(used - set(macros))
    assert not missing, f"macros used in the paper but not generated: {missing}"


def test_no_typed_numbers(paper):
    body = _body_text(paper)
    tokens = re.findall(r"\d+(?:[./-]+\d+)*(?:mm|pt)?", body)
    typed = sorted({t for t in tokens if t not in ALLOWED})
    assert not typed, f"numbers typed into the paper (use a generated macro): {typed}"


def test_generated_numbers_are_current(repo_root, tmp_path, macros):
    """Regenerating the macros from the committed derived tables gives the committed file."""
    code = (
        "import runpy, sys; sys.path.insert(0, 'analyses');"
        "ns = runpy.run_path('analyses/90_paper_numbers.py', run_name='check');"
        "from irmodels.pipeline.paper import write_macros;"
        "v = {}; [v.update(f()) for f in ns['PARTS']];"
        f"write_macros(v, {str(tmp_path / 'numbers.tex')!r}, source='test')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo_root)
    assert proc.returncode == 0, proc.stderr
    assert read_macros(tmp_path / "numbers.tex") == macros


def test_abstract_states_assumption_dependent_numbers_with_their_alternative(paper):
    """Issue 9: the abstract and conclusions carry only what is identified, bounds, or an
    assumption-dependent number together with its alternative (the other assumption set)."""
    import re

    tex = paper
    abstract = tex[tex.index(r"\begin{abstract}"):tex.index(r"\end{abstract}")]
    macros = set(re.findall(r"\\ir([A-Z][A-Za-z]*)", abstract))
    dependent = {m for m in macros if re.search(r"(Independent|Informed)", m)}
    assert dependent, "the abstract gives no assumption-dependent number at all"
    for m in dependent:
        other = m.replace("Independent", "\0").replace("Informed", "Independent").replace("\0", "Informed")
        assert other in macros, f"\\ir{m} appears in the abstract without its alternative \\ir{other}"
    # nothing pooled over reconstructions and no 2017 model odds ratio in the abstract
    assert not {m for m in macros if m.startswith(("CoverWt", "OrBedsLarge", "Mrp", "Ac"))}
    assert "ManskiLoPct" in macros and "ManskiHiPct" in macros
