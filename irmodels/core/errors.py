"""Exception and warning classes of irmodels.

One small hierarchy: every error the package raises on purpose is an
:class:`IrmodelsError`, so callers can catch the family with one clause.
Data problems carry a list of :class:`Problem` records (file, row, column,
value, rule) so that *all* problems are reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

__all__ = [
    "Problem",
    "IrmodelsError",
    "SchemaError",
    "MappingError",
    "ConfigError",
    "ReconstructionError",
    "WeightingError",
    "FrameError",
    "ConvergenceError",
    "IdentificationError",
    "CacheWarning",
    "ModelSpecError",
    "IrmodelsWarning",
    "ConvergenceWarning",
    "SeparationWarning",
    "IdentificationWarning",
    "DataDroppedWarning",
]


@dataclass(frozen=True)
class Problem:
    """One problem found in an input.

    Attributes
    ----------
    rule : str
        The rule that was broken, in words (e.g. ``"count <= denominator"``).
    file : str or None
        The file the value came from, when there is one.
    row : int or str or None
        The row: 1-based line number in a file (header is line 1), or the index
        label of a DataFrame row.
    column : str or None
        The column name.
    value : Any
        The offending value, as read.
    """

    rule: str
    file: str | None = None
    row: int | str | None = None
    column: str | None = None
    value: Any = None

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        loc = ", ".join(where) if where else "input"
        val = "" if self.value is None else f": value {self.value!r}"
        return f"{loc}{val}: {self.rule}"


class IrmodelsError(Exception):
    """Base class of all errors raised by irmodels."""


class SchemaError(IrmodelsError, ValueError):
    """A table breaks the schema; ``problems`` lists every problem found.

    The message names file, row, column, value and rule for each problem.
    """

    def __init__(self, problems: Iterable[Problem] | str, *, what: str = "input") -> None:
        if isinstance(problems, str):
            problems = [Problem(rule=problems)]
        self.problems: list[Problem] = list(problems)
        n = len(self.problems)
        lines = [f"{what}: {n} problem{'s' if n != 1 else ''} found"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class MappingError(SchemaError):
    """An import mapping (YAML) is malformed or does not fit the export."""


class ConfigError(SchemaError):
    """A configuration file (YAML mapping, wave config, assumption set) cannot be read as given.

    ``problems`` lists every problem found, each with file and line.
    """

    def __init__(self, problems: Iterable[Problem] | str, *, what: str = "configuration") -> None:
        super().__init__(problems, what=what)


class ReconstructionError(IrmodelsError):
    """No respondent-level dataset satisfies the published margins and constraints."""


class WeightingError(IrmodelsError, ValueError):
    """Weighting inputs are invalid or a weighting method did not converge."""


class FrameError(SchemaError):
    """A population-frame file is malformed or incomplete."""


class ConvergenceError(IrmodelsError, RuntimeError):
    """An iterative fit (raking, MCMC, optimiser) failed its convergence gate."""


class IdentificationError(IrmodelsError, ValueError):
    """A combining rule (Rubin's rules, stacking) was asked to pool what an assumption supplies.

    Rubin's rules, degrees of freedom, the fraction of missing information and the share of
    variance due to the reconstruction describe quantities the data inform; an association
    the published data leave unrestricted is reported as a bound and a curve over its
    assumption parameter instead (:func:`irmodels.bounds`, :func:`irmodels.association_curve`).
    """


class ModelSpecError(IrmodelsError, ValueError):
    """A model specification is invalid (unknown family, engine, term or prior)."""


class IrmodelsWarning(UserWarning):
    """Base class of warnings issued by irmodels."""


class ConvergenceWarning(IrmodelsWarning):
    """A fit passed with caveats or was explicitly allowed to fail the gate."""


class CacheWarning(IrmodelsWarning):
    """A cached result could not be trusted (unreadable, or made by another spec, data or code):
    it was moved aside and recomputed."""


class SeparationWarning(IrmodelsWarning):
    """(Quasi-)complete separation detected in a binary regression."""


class IdentificationWarning(IrmodelsWarning):
    """A result depends on an assumption set, not on the published data alone."""


class DataDroppedWarning(IrmodelsWarning):
    """Rows or categories were explicitly excluded or merged (with counts)."""


class DegenerateCellWarning(IrmodelsWarning):
    """A weighting class with much of the weight has no variation in the outcome: the design
    variance (linearisation or bootstrap) gives it zero variance and the interval is too narrow."""


class BootstrapFailureWarning(DataDroppedWarning):
    """Bootstrap replicates whose weighting failed were left out (count and share in the message).

    Failed replicates are not missing at random (they are the resamples whose weighting
    cannot be solved, e.g. a margin category with no unit drawn), so leaving them out
    biases the bootstrap variance downwards; the count is reported and bounded
    (:class:`BootstrapFailureError`).
    """


class BootstrapFailureError(WeightingError):
    """More bootstrap replicates failed than the stated share allows (``max_failed_share``)."""


__all__ += ["BootstrapFailureWarning", "BootstrapFailureError"]
