"""The package version, defined once: the package metadata (``pyproject.toml``).

Shown by ``irmodels --version``, written into every manifest and printed in the paper; a test
checks that ``CITATION.cff``, ``.zenodo.json``, the paper's macro and the manifest agree with it.
"""

from __future__ import annotations

import importlib.metadata

__all__ = ["__version__"]

try:
    __version__ = importlib.metadata.version("irmodels")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree not installed
    __version__ = "0+unknown"
