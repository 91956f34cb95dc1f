"""Run every descent method on one system, from the same starts, and compare.

    >>> from gdsolve.compare import compare_equations
    >>> table = compare_equations(["x^2 + y^2 = 4", "x*y = 1"], seed=1, starts=16)
    >>> [row.method for row in table.rows]
    ['gd', 'momentum', 'nesterov', 'adam', 'sgd']

The system is prepared once and solved once per method with the same settings
and seed, hence the same random starting points. Every start walks as its
method takes it, without early polishing, so the methods' own speeds show.
Each method's row holds the very numbers
``solve(..., method=m, seed=s, polish_early=False)`` reports, plus a few
per-start figures the descent recorded:

- ``roots``: distinct roots found;
- ``at_root``: starts whose polished end point is a root; ``fraction`` is
  ``at_root / used``, the share of the starts used that reached a root;
- ``median_iterations``: median number of descent iterations over the starts
  that converged (every residual within the descent's tolerance);
- ``diverged``, ``stalled`` (stationary away from a root after their kicks),
  ``budget`` (still moving when the iteration budget ran out);
- ``seconds``: wall time of the solve, preparing the system excluded.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from gdsolve.api import Settings, prepare, solve_system
from gdsolve.methods import METHODS
from gdsolve.result import SolveResult
from gdsolve.search import CONVERGED
from gdsolve.system import SETUP_SECONDS, System

#: Called with a method's name just before it runs.
Announce = Callable[[str], None]


@dataclass
class MethodRow:
    """How one method did on the shared starts.

    Attributes:
        method: The method's name.
        status: The solve's status (``solved``, ``no-root-found``...).
        roots: Distinct roots found.
        at_root: Starts whose polished end point is a root.
        used: Starts used.
        median_iterations: Median iterations of the starts that converged,
            ``None`` when none did.
        converged: Starts that converged during the descent.
        diverged: Starts that diverged.
        stalled: Starts that stopped away from a root (stationary).
        budget: Starts still moving when the iteration budget ran out.
        undefined: Starts dropped where the equations are undefined.
        seconds: Wall time of the solve.
        result: The full result of the solve.
        curve: ``Σ Fᵢ²`` after each iteration of the method's best start
            (see :func:`best_start`), for the convergence chart.
    """

    method: str
    status: str
    roots: int
    at_root: int
    used: int
    median_iterations: float | None
    converged: int
    diverged: int
    stalled: int
    budget: int
    undefined: int
    seconds: float
    result: SolveResult = field(repr=False, compare=False)
    curve: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def fraction(self) -> float:
        """Share of the starts used whose polished end point is a root."""
        return self.at_root / self.used if self.used else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the row as JSON-ready data."""
        return {
            "method": self.method,
            "status": self.status,
            "roots": self.roots,
            "at_root": self.at_root,
            "starts": self.used,
            "fraction": round(self.fraction, 6),
            "median_iterations": self.median_iterations,
            "converged": self.converged,
            "diverged": self.diverged,
            "stalled": self.stalled,
            "budget": self.budget,
            "undefined": self.undefined,
            "seconds": round(self.seconds, 4),
        }


@dataclass
class Comparison:
    """Every method's row for one system.

    Attributes:
        variables: The unknowns, in order.
        seed: The seed shared by every method.
        setup_seconds: Time spent preparing the system (once for all rows).
        rows: One row per method, in the order they ran.
    """

    variables: list[str]
    seed: int
    setup_seconds: float
    rows: list[MethodRow]

    @property
    def success(self) -> bool:
        """True when at least one method found a root."""
        return any(row.roots for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """Return the comparison as JSON-ready data."""
        return {
            "variables": self.variables,
            "seed": self.seed,
            "setup_seconds": round(self.setup_seconds, 4),
            "definitions": DEFINITIONS,
            "methods": [row.to_dict() for row in self.rows],
        }


#: What the less obvious columns mean, repeated in JSON output.
DEFINITIONS = {
    "fraction": "starts whose polished end point is a root / starts used",
    "median_iterations": "median descent iterations over the starts that converged",
    "stalled": "starts that stopped (stationary) away from a root",
    "budget": "starts still moving when the iteration budget ran out",
}


def compare(
    system: System,
    settings: Settings | None = None,
    methods: Sequence[str] | None = None,
    announce: Announce | None = None,
) -> Comparison:
    """Solve a prepared system once per method, with the same starts and seed.

    Args:
        system: The prepared system (see :func:`gdsolve.api.prepare`).
        settings: Settings shared by every method; its ``method`` is replaced
            and its ``polish_early`` turned off.
            Method settings such as ``lr`` apply to each method that has them.
            Without a seed, one is drawn and shared.
        methods: Methods to run (default: every one, in table order).
        announce: Called with each method's name before it runs.

    Returns:
        One row per method.
    """
    base = settings or Settings()
    if base.seed is None:
        base = replace(base, seed=secrets.randbelow(2**32))
    rows = []
    for name in methods or tuple(METHODS):
        if announce is not None:
            announce(name)
        chosen = replace(base, method=name, polish_early=False)
        result = solve_system(system, chosen, record_paths=True)
        rows.append(method_row(system, result))
    return Comparison(
        variables=list(system.names),
        seed=int(base.seed),
        setup_seconds=system.setup_seconds,
        rows=rows,
    )


def compare_equations(
    equations: Sequence[str] | str,
    *,
    variables: Sequence[str] | None = None,
    params: Mapping[str, float] | None = None,
    setup_timeout: float | None = SETUP_SECONDS,
    methods: Sequence[str] | None = None,
    announce: Announce | None = None,
    **settings: Any,
) -> Comparison:
    """Prepare equations once and compare every method on them.

    Args:
        equations: Equation texts, as for :func:`gdsolve.api.solve`.
        variables: The unknowns and their order.
        params: Values for names that are parameters.
        setup_timeout: Seconds allowed for differentiating and compiling.
        methods: Methods to run (default: every one).
        announce: Called with each method's name before it runs.
        **settings: Fields of :class:`~gdsolve.api.Settings` shared by all.

    Returns:
        One row per method.
    """
    chosen = Settings(**settings)
    began = time.perf_counter()
    system = prepare(equations, variables, params, setup_timeout)
    table = compare(system, chosen, methods, announce)
    table.setup_seconds = time.perf_counter() - began
    return table


def method_row(system: System, result: SolveResult) -> MethodRow:
    """Summarise one solve, run with ``record_paths=True``, as a row."""
    starts = result.starts
    outcome = start_outcomes(system, result)
    converged = outcome.converged
    median = (
        float(np.median(outcome.iterations[converged])) if converged.any() else None
    )
    best = best_start(outcome)
    path = result.extra["paths"][: outcome.iterations[best] + 1, best]
    return MethodRow(
        method=result.method,
        status=result.status,
        roots=len(result.roots),
        at_root=starts_at_roots(result),
        used=starts["used"],
        median_iterations=median,
        converged=starts["converged"],
        diverged=starts["diverged"],
        stalled=starts["stationary"],
        budget=starts["budget"],
        undefined=starts["undefined"],
        seconds=result.seconds,
        result=result,
        curve=objective_along(system, path),
    )


def starts_at_roots(result: SolveResult) -> int:
    """Count the starts whose polished end point is a root.

    Every start that ended (converged, stationary or out of budget) is polished
    and grouped; the groups that are roots hold the starts counted here. When
    the roots are not isolated only sample points are listed, so the count is
    the ended starts less those in valley floors, saddles or still moving.
    """
    if result.status != "not-isolated":
        return sum(s.starts for s in result.roots)
    st = result.starts
    ended = st["converged"] + st["stationary"] + st["budget"]
    floors = sum(s.starts for s in result.solutions if s.kind != "root")
    return max(0, ended - floors - st["saddle"] - st["moving"])


@dataclass
class StartOutcomes:
    """Per-start facts read from a solve's recorded paths and end points.

    Attributes:
        iterations: Iterations each start took before it stopped.
        converged: Whether each start converged during the descent.
        objective: ``Σ Fᵢ²`` at each start's descent end (``nan`` if undefined).
    """

    iterations: np.ndarray
    converged: np.ndarray
    objective: np.ndarray


def start_outcomes(system: System, result: SolveResult) -> StartOutcomes:
    """Read per-start iterations and convergence from a solve with paths.

    Args:
        system: The system that was solved.
        result: A result of a solve run with ``record_paths=True``.
    """
    return StartOutcomes(
        iterations=np.asarray(result.extra["start_iterations"]),
        converged=np.asarray(result.extra["reasons"]) == CONVERGED,
        objective=objective_along(system, result.extra["ends"]),
    )


def best_start(outcome: StartOutcomes) -> int:
    """Pick the start that shows a method at its best.

    That is the converged start with the fewest iterations, or when none
    converged, the start with the lowest objective at its end.
    """
    if outcome.converged.any():
        candidates = np.flatnonzero(outcome.converged)
        return int(candidates[np.argmin(outcome.iterations[candidates])])
    if np.isfinite(outcome.objective).any():
        return int(np.nanargmin(outcome.objective))
    return 0


def objective_along(system: System, points: np.ndarray) -> np.ndarray:
    """Return ``Σ Fᵢ²`` at each point of ``(k, n)``, ``nan`` where undefined."""
    if not len(points):
        return np.empty(0)
    residuals = system.residuals(np.asarray(points, dtype=float))
    with np.errstate(invalid="ignore", over="ignore"):
        objective = np.einsum("ij,ij->i", residuals, residuals)
    return np.where(np.isfinite(objective), objective, np.nan)


__all__ = [
    "Comparison",
    "MethodRow",
    "compare",
    "compare_equations",
    "start_outcomes",
]
