"""Sphinx configuration of the irmodels API reference (``make docs``; rendered numpydoc)."""

import importlib.metadata

project = "irmodels"
author = "irmodels developers"
release = importlib.metadata.version("irmodels")
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "numpydoc"]
autosummary_generate = False
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
html_theme = "alabaster"
exclude_patterns = ["_build"]
nitpicky = False
