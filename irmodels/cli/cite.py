"""``irmodels cite``: how to cite the package and the source survey (BibTeX or RIS)."""

from __future__ import annotations

import argparse

from irmodels.core.version import __version__

SURVEY = {
    "key": "esr2019",
    "authors": ["European Society of Radiology (ESR)",
                "Cardiovascular and Interventional Radiological Society of Europe (CIRSE)"],
    "title": "Interventional radiology in European radiology departments: a joint survey from the European "
             "Society of Radiology (ESR) and the Cardiovascular and Interventional Radiological Society of "
             "Europe (CIRSE)",
    "journal": "Insights into Imaging", "year": "2019", "volume": "10", "pages": "16",
    "doi": "10.1186/s13244-019-0698-6",
}
PACKAGE_TITLE = "irmodels: survey models of interventional radiology services in European radiology departments"


def bibtex() -> str:
    """BibTeX entries for the installed irmodels version and the source survey."""
    v = __version__
    au = " and ".join("{" + a + "}" for a in SURVEY["authors"])
    return (
        f"@software{{irmodels,\n  author = {{{{irmodels developers}}}},\n  title = {{{PACKAGE_TITLE}}},\n"
        f"  version = {{{v}}},\n  note = {{Python package, version {v}}}\n}}\n\n"
        f"@article{{{SURVEY['key']},\n  author = {{{au}}},\n  title = {{{SURVEY['title']}}},\n"
        f"  journal = {{{SURVEY['journal']}}},\n  year = {{{SURVEY['year']}}},\n  volume = {{{SURVEY['volume']}}},\n"
        f"  pages = {{{SURVEY['pages']}}},\n  doi = {{{SURVEY['doi']}}}\n}}\n"
    )


def ris() -> str:
    """RIS records for the installed irmodels version and the source survey."""
    v = __version__
    lines = ["TY  - COMP", "AU  - irmodels developers", f"TI  - {PACKAGE_TITLE}", f"ET  - {v}", "ER  - ", "",
             "TY  - JOUR", *[f"AU  - {a}" for a in SURVEY["authors"]], f"TI  - {SURVEY['title']}",
             f"JO  - {SURVEY['journal']}", f"PY  - {SURVEY['year']}", f"VL  - {SURVEY['volume']}",
             f"SP  - {SURVEY['pages']}", f"DO  - {SURVEY['doi']}", "ER  - ", ""]
    return "\n".join(lines)


def _cite(args: argparse.Namespace) -> int:
    print(bibtex() if args.format == "bibtex" else ris(), end="")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``cite``."""
    p = sub.add_parser("cite", help="how to cite irmodels and the 2017 ESR/CIRSE survey (BibTeX or RIS)")
    p.add_argument("--format", choices=["bibtex", "ris"], default="bibtex")
    p.set_defaults(func=_cite)
