"""What a solve returns: the distinct solutions and one stated outcome.

Field names follow what numerical users know from ``scipy.optimize`` where they
fit (``x``, ``fun``, ``nit``, ``success``, ``status``, ``message``); gdsolve's own
(``kind``, ``starts``, ``residual``) are added plainly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from gdsolve.errors import ExitCode

#: Every outcome of a solve, with its exit code and what it means.
STATUSES: dict[str, tuple[ExitCode, str]] = {
    "solved": (ExitCode.OK, "at least one real root was found"),
    "not-isolated": (
        ExitCode.OK,
        "the solutions form a curve or surface; sample points are listed",
    ),
    "no-root-found": (
        ExitCode.NO_ROOT,
        "no real root was found; the best least-squares point is reported",
    ),
}

#: Why no root was found, for the ``reason`` of a ``no-root-found`` outcome.
NO_ROOT_REASONS: dict[str, str] = {
    "valley-floor": "every start ended in a valley floor above zero",
    "budget": "the iteration budget ran out before any start reached a root",
    "unsettled": "no start settled at a root",
    "undefined": "no start could be evaluated (the equations are undefined or "
    "overflow at every start)",
}

#: The kinds of point a solution can be.
KINDS = ("root", "local-minimum")


@dataclass
class Solution:
    """One distinct solution, or one valley floor that is not a root.

    Attributes:
        values: The unknowns by name.
        kind: ``"root"`` or ``"local-minimum"`` (a valley floor above zero); the
            ``best`` point of a search that settled nowhere is a
            ``"best-point"``: the lowest objective any start reached.
        residual: The largest absolute residual ``max |Fᵢ|``.
        objective: The sum of squared residuals ``Σ Fᵢ²``.
        starts: How many starts ended here.
        error: Estimated distance from the exact solution (largest unknown).
    """

    values: dict[str, float]
    kind: str
    residual: float
    objective: float
    starts: int
    error: float

    @property
    def x(self) -> list[float]:
        """The values in the order of the unknowns."""
        return list(self.values.values())

    def to_dict(self) -> dict[str, Any]:
        """Return the solution as JSON-ready data (non-finite numbers as None)."""
        return {
            "values": {k: _finite(v) for k, v in self.values.items()},
            "residual": _finite(self.residual),
            "objective": _finite(self.objective),
            "kind": self.kind,
            "starts": self.starts,
            "error": _finite(self.error),
        }


@dataclass
class SolveResult:
    """The outcome of a solve.

    Attributes:
        variables: The unknowns, in order.
        status: One of :data:`STATUSES`.
        message: One sentence saying what was found, for people.
        solutions: Roots first (sorted by value), then valley floors (best
            first). For ``not-isolated``, sample points of the solution set.
        best: The point with the smallest objective (a root if one was found).
        dimension: For ``not-isolated``, the dimension of the solution set.
        reason: For ``no-root-found``, why: a key of :data:`NO_ROOT_REASONS`.
        method: The descent method used.
        settings: Every setting that shaped the run, with defaults filled in.
        seed: The seed of the random starts; the same seed gives the same result.
        iterations: Iterations run by the longest-running start.
        seconds: Wall time of the whole solve, set-up included.
        starts: How many starts were used, and how each ended.
        warnings: Things the user should know (a diverging learning rate...).
        search: For an ``all_roots`` search, how complete it is: rounds,
            rounds without a new root, starts used, and the estimated chance
            that a root was missed.
        extra: Data recorded on request: ``paths``, ``trace``, ``best_history``.
    """

    variables: list[str]
    status: str
    message: str
    solutions: list[Solution]
    best: Solution | None
    method: str
    settings: dict[str, Any]
    seed: int
    iterations: int
    seconds: float
    starts: dict[str, int]
    dimension: int = 0
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    search: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def roots(self) -> list[Solution]:
        """The solutions that are roots."""
        return [s for s in self.solutions if s.kind == "root"]

    @property
    def success(self) -> bool:
        """True when at least one real root was found."""
        return STATUSES[self.status][0] == ExitCode.OK

    @property
    def x(self) -> list[float] | None:
        """The best point's values, in the order of the unknowns."""
        return self.best.x if self.best else None

    @property
    def fun(self) -> float | None:
        """The best point's objective ``Σ Fᵢ²``."""
        return self.best.objective if self.best else None

    @property
    def nit(self) -> int:
        """Iterations run (same as ``iterations``)."""
        return self.iterations

    @property
    def exit_code(self) -> ExitCode:
        """The process exit code for this outcome."""
        return STATUSES[self.status][0]

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        return {
            "variables": self.variables,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "solutions": [s.to_dict() for s in self.solutions],
            "best": self.best.to_dict() if self.best else None,
            "dimension": self.dimension,
            "method": self.method,
            "settings": self.settings,
            "seed": self.seed,
            "iterations": self.iterations,
            "seconds": round(self.seconds, 4),
            "starts": self.starts,
            "warnings": self.warnings,
            "search": self.search,
        }


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
