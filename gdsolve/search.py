"""The multi-start descent: many starts ("hikers") walking downhill together.

All starts advance together, in arrays with one column per start (points are
``(unknowns, starts)``), so every NumPy operation runs over all starts in one
contiguous row. A start leaves when it has converged (every residual within
the tolerance), when it is stationary (no downhill direction left, even after
its random kicks), when it diverges, or when its point can no longer be
evaluated. When polishing follows the descent, a start still walking after a
few iterations is polished where it is and leaves if that reaches a root: the
descent finds the valley, Levenberg-Marquardt steps find its bottom. The rest
keep going until the iteration budget is spent. No Python loop runs over starts.

The objective is ``f(x) = Σ Fᵢ(x)²`` and its gradient ``g = 2·J(x)ᵀF(x)``. With
scaling on (the default for every method but Adam), ``g`` is divided coordinate
by coordinate by the diagonal of the Gauss-Newton curvature ``2·JᵀJ``, so
unknowns and equations of very different magnitudes share one step size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from gdsolve.methods import Method
from gdsolve.refine import held_at_bounds, polish
from gdsolve.sparse import is_sparse
from gdsolve.system import FEW_ENTRIES, System

#: Why a start left the descent.
CONVERGED, STATIONARY, BUDGET, DIVERGED, UNDEFINED = range(5)
REASONS = ("converged", "stationary", "budget", "diverged", "undefined")

#: Armijo's sufficient-decrease constant and the most halvings of one step.
ARMIJO = 1e-4
HALVINGS = 40
#: The line search tries this many halvings of a rejected step in one
#: evaluation (t/2, t/4, ...), so most starts need one round, not several.
FAN = 4
_FAN_FACTORS = 0.5 ** np.arange(1, FAN + 1)[:, None]
#: A start whose objective grew this many times in a row while far above its
#: start value is taken to diverge.
GROWTH_STREAK = 6
#: With a fixed step, a start whose objective grew this many times above its
#: starting value diverges: the learning rate is too large for it.
GROWTH_LIMIT = 100.0
#: Progress is checked over this many iterations; less than
#: ``STALL_RATIO`` relative decrease over them means the start is stationary.
STALL_WINDOW = 50
STALL_RATIO = 1e-10
#: Random kicks allowed per start on a flat region or saddle.
MAX_KICKS = 5
#: A step shorter than this, relative to the point, leaves a start where it was.
STILL = 1e-14
#: Objective values remembered by the non-monotone line search.
MEMORY = 8
#: Up to this many unknowns, or for large sparse systems, a start still
#: walking is polished where it is (see ``Descent.polish_early``), with at most
#: this many Levenberg-Marquardt steps; dense polishing of more unknowns costs
#: more than it saves.
EARLY_UNKNOWNS = 200
EARLY_STEPS = 20
#: Starts still walking are polished after this many iterations, and again
#: each time the count of iterations has doubled (4, 8, 16, ...): the
#: further a start has walked, the likelier polishing is to finish it.
EARLY_WINDOW = 2


def _polish_now(iterations: int) -> bool:
    """Tell whether starts still walking after ``iterations`` are polished."""
    rounds, rest = divmod(iterations, EARLY_WINDOW)
    return rest == 0 and rounds & (rounds - 1) == 0

Progress = Callable[[int, float, int, int], None]


@dataclass(frozen=True)
class Descent:
    """How the starts walk: the method and the rules for stopping.

    Attributes:
        method: The descent method (see :mod:`gdsolve.methods`).
        line_search: Choose each step by Armijo backtracking instead of a
            fixed learning rate.
        scale: Divide the gradient by the diagonal of ``2·JᵀJ``.
        max_iter: Iteration budget.
        tol: A start has converged when every ``|Fᵢ| ≤ tol``.
        noise: Size of the random kick given to a stationary start that is not
            at a root, relative to the width of the search box.
        batch_size: Equations per step for stochastic descent (``None``: all).
        lower: Lower bound of each unknown (``-inf`` when free).
        upper: Upper bound of each unknown (``inf`` when free).
        width: Width of the search box per unknown; also the largest step.
        weights: The factor each equation of the descended system carries
            (see :class:`gdsolve.system.Balanced`); convergence is judged on
            the residuals as written.
        polish_early: Polishing follows the descent, so a start still walking
            after :data:`EARLY_WINDOW` iterations, and after twice, four
            times ... as many, is polished where it is; if that reaches a root
            it has converged. Without it, the descent alone brings every start
            to the tolerance.
    """

    method: Method
    line_search: bool
    scale: bool
    max_iter: int
    tol: float
    noise: float
    batch_size: int | None
    lower: np.ndarray
    upper: np.ndarray
    width: np.ndarray
    weights: np.ndarray | None = None
    polish_early: bool = False


@dataclass
class Walk:
    """Where the starts ended and how they got there.

    Attributes:
        x: End point of each start, shape ``(starts, unknowns)``.
        objective: ``Σ Fᵢ²`` at each end point (``inf`` if undefined there).
        reason: Why each start stopped, an index into :data:`REASONS`.
        iterations: Iterations each start took.
        kicks: Random kicks each start received.
        polished: Starts that reached a root by polishing during the descent
            and settled there, so polishing them again would not move them.
        error: For those starts, the length of the last polishing step per
            unknown (NaN for the others).
        best: Lowest objective over all starts after each iteration.
        paths: When recorded, the point of every start after every iteration,
            shape ``(iterations + 1, starts, unknowns)``.
        trace: When asked for, per start traced: rows of
            ``(iteration, objective, gradient norm, step size)``.
    """

    x: np.ndarray
    objective: np.ndarray
    reason: np.ndarray
    iterations: np.ndarray
    kicks: np.ndarray
    polished: np.ndarray
    error: np.ndarray
    best: list[float] = field(default_factory=list)
    paths: np.ndarray | None = None
    trace: list[list[tuple[int, float, float, float]]] = field(default_factory=list)

    def count(self, reason: int) -> int:
        """Number of starts that stopped for ``reason``."""
        return int(np.count_nonzero(self.reason == reason))


#: The walker's arrays with one column per running start, compacted together.
_PER_START = (
    "idx",
    "x",
    "f",
    "jac",
    "obj",
    "limit",
    "still",
    "step",
    "growth",
    "window",
    "last_x",
    "last_gradient",
    "recent",
)

#: From this many starts on, column sums over few entries run entry by entry
#: (see :data:`gdsolve.system.FEW_ENTRIES`).
_MANY_STARTS = 32


def _objective(f: np.ndarray) -> np.ndarray:
    """Return ``Σ Fᵢ²`` per start (one per column), ``inf`` where not finite."""
    obj = np.einsum("ij,ij->j", f, f) if len(f) > 1 else f[0] * f[0]
    return np.fmin(obj, np.inf, out=obj)  # NaN becomes inf


#: Up to this many rows, column-wise maxima over many starts run row by row.
_NARROW = 8


def _row_by_row(a: np.ndarray) -> bool:
    """Tell whether a column-wise maximum of ``a`` runs row by row: few rows
    of many starts each, where one call per row beats one reduction."""
    return len(a) <= _NARROW and a.shape[1] >= _MANY_STARTS


def _abs_max(a: np.ndarray) -> np.ndarray:
    """Return the largest absolute entry of each column (NaN where one is NaN)."""
    if len(a) == 0:
        return np.zeros(a.shape[1])
    if not _row_by_row(a):
        return np.abs(a).max(axis=0)
    out = np.abs(a[0])
    for row in a[1:]:
        np.maximum(out, np.abs(row), out=out)
    return out


def _column_max(a: np.ndarray) -> np.ndarray:
    """Return the largest entry of each column of a non-empty array."""
    if not _row_by_row(a):
        return a.max(axis=0)
    out = a[0].copy()
    for row in a[1:]:
        np.maximum(out, row, out=out)
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the dot product of matching columns."""
    return np.einsum("ij,ij->j", a, b)


def _take(state: Any, keep: np.ndarray) -> Any:
    """Keep the starts ``keep`` of every array in a method's state."""
    if state is None:
        return None
    return type(state)(*(a[..., keep] for a in state))


def _reset(state: Any, starts: np.ndarray) -> Any:
    """Zero the state of the given starts (after a kick the old velocity is stale)."""
    if state is None or not starts.any():
        return state
    return type(state)(*(np.where(starts, 0.0, a) for a in state))


class _Columns:
    """A system evaluated on points stored one start per column.

    Points have shape ``(unknowns, starts)``, residuals ``(equations, starts)``
    and the Jacobian's nonzero values ``(nnz, starts)``: every row of these
    arrays is contiguous, so each NumPy operation runs over all starts at
    once. Systems that evaluate one start per row are transposed on the way.
    """

    def __init__(self, system: System) -> None:
        self.system = system
        self.n_equations, self.n = system.n_equations, system.n_unknowns
        self.rows, self.cols = system.rows, system.cols
        self._own = hasattr(system, "evaluate_columns")
        self._few = len(self.rows) <= FEW_ENTRIES
        self._plan: list[tuple[int, int, int, bool]] | None = None
        self._empty: list[int] = []  # unknowns without entries, found with the plan

    def residuals(self, x: np.ndarray) -> np.ndarray:
        if self._own:
            return self.system.residuals_columns(x)
        return np.ascontiguousarray(self.system.residuals(x.T).T)

    def evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._own:
            return self.system.evaluate_columns(x)
        f, jac = self.system.evaluate(x.T)
        return np.ascontiguousarray(f.T), np.ascontiguousarray(jac.T)

    def jt_times(self, jac: np.ndarray, f: np.ndarray) -> np.ndarray:
        """Return ``Jᵀf`` for each start, summing only the nonzero entries."""
        if self._entry_by_entry(jac):
            return self._sum_entries(jac, f, by_entry=False)
        return self.system.sums.by_column(jac * f[self.rows], columns=True)

    def column_norms2(self, jac: np.ndarray) -> np.ndarray:
        """Return the squared norm of each Jacobian column, for each start."""
        if self._entry_by_entry(jac):
            return self._sum_entries(jac, jac, by_entry=True)
        return self.system.sums.by_column(jac * jac, columns=True)

    def _entry_by_entry(self, jac: np.ndarray) -> bool:
        """Sum entry by entry when there are few entries and many starts: one
        operation per entry beats gathering, unless each operation is tiny."""
        return self._few and jac.shape[1] >= _MANY_STARTS

    def _sum_entries(self, jac: np.ndarray, other: np.ndarray, by_entry: bool):
        """Sum ``jac[k]·other[k or its equation]`` into each entry's column."""
        if self._plan is None:  # (entry, its equation, its unknown, first in column)
            seen: set[int] = set()
            self._plan = []
            for k, (i, j) in enumerate(zip(self.rows.tolist(), self.cols.tolist())):
                self._plan.append((k, i, j, j not in seen))
                seen.add(j)
            self._empty = [j for j in range(self.n) if j not in seen]
        out = np.empty((self.n, jac.shape[1]))
        for k, i, j, first in self._plan:
            factor = other[k] if by_entry else other[i]
            if first:
                np.multiply(jac[k], factor, out=out[j])
            else:
                out[j] += jac[k] * factor
        if self._empty:
            out[self._empty] = 0.0
        return out


class _Walker:
    """The state of one descent run: active starts and their bookkeeping.

    Every per-start array holds one column per running start: points are
    ``(unknowns, starts)``, so the arithmetic of one iteration is a few dozen
    NumPy operations over contiguous rows, whatever the number of starts.
    """

    def __init__(
        self,
        system: System,
        settings: Descent,
        x0: np.ndarray,
        rng: np.random.Generator,
        record_paths: bool,
        trace_starts: int,
        start_values: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        self.system, self.s, self.rng = _Columns(system), settings, rng
        count = len(x0)
        self.walk = Walk(
            x=x0.copy(),
            objective=np.full(count, np.inf),
            reason=np.full(count, BUDGET),
            iterations=np.zeros(count, dtype=int),
            kicks=np.zeros(count, dtype=int),
            polished=np.zeros(count, dtype=bool),
            error=np.full(x0.shape, np.nan),
        )
        self.paths = [x0.copy()] if record_paths else None
        self.walk.trace = [[] for _ in range(min(trace_starts, count))]
        self.bounded = bool(
            np.isfinite(settings.lower).any() or np.isfinite(settings.upper).any()
        )
        self.lower, self.upper = settings.lower[:, None], settings.upper[:, None]
        self.width = settings.width[:, None]
        self.narrowest = float(settings.width.min())
        #: A start whose every residual is within the tolerance has an objective
        #: below this; only then are its residuals checked one by one.
        self.near = 1.0001 * system.n_equations * (settings.tol * settings.tol)
        if settings.weights is not None:
            self.near *= float(np.max(settings.weights)) ** 2

        x = np.ascontiguousarray(x0.T)
        if start_values is None:
            f, jac = self.system.evaluate(x)
        else:
            f, jac = (np.ascontiguousarray(v.T) for v in start_values)
        obj = _objective(f)
        # a start exactly at a root needs no derivative there (√x at 0 has
        # none): it is kept, and retires at once as converged
        defined = np.isfinite(obj) & (np.isfinite(_abs_max(jac)) | (obj == 0))
        self.walk.objective[defined] = obj[defined]
        self.walk.reason[~defined] = UNDEFINED
        self.idx = np.flatnonzero(defined)
        self.x, self.f, self.jac = x[:, defined], f[:, defined], jac[:, defined]
        self.obj = obj[defined]
        #: The objective above which a start counts as diverging.
        first = self.obj
        if settings.line_search:
            self.limit = 1e6 * (first + 1)
        else:
            self.limit = GROWTH_LIMIT * (first + 1e-12)
        self.state = settings.method.init(self.x)
        self.step = np.ones(len(self.idx))
        self.growth = np.zeros(len(self.idx), dtype=int)
        self.window = self.obj.copy()
        self.last_x = self.x.copy()
        self.last_gradient = np.zeros_like(self.x)
        self.recent = np.repeat(self.obj[None], MEMORY, axis=0)
        self.slot = 0  # the row of ``recent`` written last
        self.polish_affordable = (
            system.n_unknowns <= EARLY_UNKNOWNS or is_sparse(system)
        )
        self.lowest = np.inf
        self.still = self._still(self.x)

    # -- one iteration -----------------------------------------------------

    def direction(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Return the step direction, the gradient and the scaling.

        The direction is the gradient ``2·JᵀF`` at each start's look-ahead
        point, divided coordinate by coordinate by the curvature ``2·Σ J²``
        when scaling is on (the factors 2 cancel). The gradient itself is
        returned only when the line search or a trace needs it; the scaling
        (half the curvature, floored) only when it is on.
        """
        s, system = self.s, self.system
        f, jac = self.f, self.jac
        if s.method.lookahead is not None:
            ahead = self._inside(s.method.lookahead(self.x, self.state))
            f, jac = system.evaluate(ahead)
            bad = ~(np.isfinite(_abs_max(f)) & np.isfinite(_abs_max(jac)))
            f[:, bad], jac[:, bad] = self.f[:, bad], self.jac[:, bad]
        if s.batch_size is not None and s.batch_size < system.n_equations:
            chosen = self.rng.choice(system.n_equations, s.batch_size, replace=False)
            mask = np.zeros((system.n_equations, 1))
            mask[chosen] = system.n_equations / s.batch_size
            f = f * mask
        half = system.jt_times(jac, f)
        if self.bounded:
            self._hold_at_bounds(half)
        gradient = 2.0 * half if s.line_search or self.walk.trace else None
        if not s.scale:
            return (gradient if gradient is not None else 2.0 * half), gradient, None
        curvature = system.column_norms2(jac)
        floor = _column_max(curvature)
        floor *= 1e-12
        floor += 1e-300
        np.maximum(curvature, floor, out=curvature)
        return np.divide(half, curvature, out=half), gradient, curvature

    def _hold_at_bounds(self, half: np.ndarray) -> None:
        """Zero the gradient's components that point out of a bound the start
        is on: the unknown stays there, and the line search judges the step
        by the descent the other unknowns can make."""
        half[held_at_bounds(self.x, half, self.lower, self.upper)] = 0.0

    def advance(self, iteration: int) -> None:
        """Move every active start one step and retire those that are done."""
        d, gradient, scaling = self.direction()
        if self.s.line_search:
            new_x, new_f, new_obj, new_jac, taken = self._line_search(
                d, gradient, scaling
            )
        else:
            new_x, new_f, new_obj, new_jac, taken = self._fixed_step(d)

        moved = taken > 0
        # a fixed step that needed no halving moves every start
        everywhere = (new_jac is not None and not self.s.line_search) or moved.all()
        if self.s.line_search:  # counts rises in a row, see _retire
            rose = new_obj > self.obj
            if not everywhere:
                rose &= moved
            self.growth += 1
            self.growth *= rose
        if everywhere:
            self.x, self.f, self.obj = new_x, new_f, new_obj
        else:
            self.x[:, moved], self.f[:, moved] = new_x[:, moved], new_f[:, moved]
            self.obj[moved] = new_obj[moved]
        if new_jac is None and moved.any():
            new_jac = self.system.evaluate(self.x)[1]
        if new_jac is not None and everywhere:
            self.jac = new_jac
        elif new_jac is not None:
            self.jac[:, moved] = new_jac[:, moved]
        if self.walk.trace:
            self._record_trace(iteration, gradient, taken)
        self._retire(iteration, taken <= self.still)

    def _fixed_step(self, d: np.ndarray) -> tuple:
        """Take the method's own step, halving it only where it leaves the domain."""
        step, self.state = self.s.method.update(d, self.state)
        length = _abs_max(step)
        if length.max() > self.narrowest:
            step = self._limit(step)
            length = _abs_max(step)
        trial = self._inside(self.x + step)
        new_f, new_jac = self.system.evaluate(trial)
        new_obj = _objective(new_f)
        if new_obj.sum() < np.inf:  # every trial point is defined
            return trial, new_f, new_obj, new_jac, length
        bad = new_obj == np.inf
        scale = np.ones(len(new_obj))
        for _ in range(HALVINGS):
            scale[bad] *= 0.5
            tried = self._try(step[:, bad], scale[bad], bad)
            trial[:, bad], new_f[:, bad], new_obj[bad] = tried
            bad = new_obj == np.inf
            if not bad.any():
                break
        scale[bad] = 0.0
        return trial, new_f, new_obj, None, scale * length  # Jacobians are stale

    def _line_search(
        self, d: np.ndarray, gradient: np.ndarray, scaling: np.ndarray | None
    ) -> tuple:
        """Backtrack along ``−d`` from a Barzilai-Borwein step.

        The first trial step is ``sᵀPs / sᵀy`` from the last move ``s``, the
        change ``y`` of the gradient and the scaling ``P`` (``d = P⁻¹g``); it is
        halved until the objective falls below the
        largest of the last few values by Armijo's margin (a non-monotone
        search, which lets the Barzilai-Borwein steps do their work).
        """
        slope = _dot(gradient, d)
        moved, changed = self.x - self.last_x, gradient - self.last_gradient
        curvature = _dot(moved, changed)
        moved *= moved
        length = _dot(moved, scaling) * 2.0 if scaling is not None else moved.sum(0)
        bb = length / np.where(curvature > 0, curvature, np.inf)
        t = np.where(bb > 0, bb, np.minimum(self.step * 2.0, 1.0))
        t = np.clip(t, 1e-10, 1e6, out=t)
        self.last_x, self.last_gradient = self.x.copy(), gradient

        step = self._limit(-d)
        reference = self.recent.max(axis=0)
        drop = ARMIJO * slope
        # The first trial is usually taken, so its Jacobian comes along; the
        # halved trials evaluate residuals only.
        new_x = self._inside(self.x + t * step)
        new_f, new_jac = self.system.evaluate(new_x)
        new_obj = _objective(new_f)
        bad = ~(new_obj <= reference - drop * t)
        failed = bool(bad.any())
        if failed:
            halved = bad.copy()
            for _ in range(HALVINGS // FAN):
                cols = np.flatnonzero(bad)
                ends = self._halvings(cols, t, step, reference, drop)
                new_x[:, cols], new_f[:, cols], new_obj[cols], found = ends
                bad[cols] = ~found
                failed = bool(bad.any())
                if not failed:
                    break
            halved &= ~bad
            if halved.any():
                new_jac[:, halved] = self.system.evaluate(new_x[:, halved])[1]
        self.slot = (self.slot + 1) % MEMORY
        if failed:  # these starts found no step down
            t[bad] = 0.0
            self.step = np.where(bad, self.step, t)
            self.recent[self.slot] = np.where(bad, self.obj, new_obj)
        else:
            self.step = t
            self.recent[self.slot] = new_obj
        return new_x, new_f, new_obj, new_jac, t * _abs_max(step)

    def _halvings(
        self,
        cols: np.ndarray,
        t: np.ndarray,
        step: np.ndarray,
        reference: np.ndarray,
        drop: np.ndarray,
    ) -> tuple:
        """Try the next :data:`FAN` halvings of ``t`` for the starts ``cols`` at once.

        Each start takes the longest of them that passes Armijo's test, the
        one halving one by one would reach, or else the shortest. ``t`` is
        updated in place; returns the new points, residuals, objectives and
        whether each start found its step.
        """
        k = len(cols)
        tried = t[cols] * _FAN_FACTORS  # (FAN, k)
        trial = self.x[:, None, cols] + tried * step[:, None, cols]  # (n, FAN, k)
        trial = self._inside(trial.reshape(len(trial), FAN * k))
        f = self.system.residuals(trial)
        obj = _objective(f).reshape(FAN, k)
        passed = obj <= reference[cols] - drop[cols] * tried
        found = passed.any(axis=0)
        pick = np.where(found, passed.argmax(axis=0), FAN - 1)
        chosen = pick * k + np.arange(k)
        t[cols] = tried.ravel()[chosen]
        return trial[:, chosen], f[:, chosen], obj.ravel()[chosen], found

    def _polish(self, which: np.ndarray, steps: int) -> np.ndarray:
        """Polish the given starts where they are; tell which reached a root.

        Those that did move to the root; the others walk on unchanged.
        """
        s = self.s
        known = self.f[:, which].T, self.jac[:, which].T
        done = polish(self.system.system, self.x[:, which].T, s.lower, s.upper,
                      steps=steps, values=known)
        f = done.f if s.weights is None else done.f / s.weights
        reached = np.abs(f).max(axis=1) <= s.tol  # NaN and inf fail
        ids = np.flatnonzero(which)[reached]
        self.x[:, ids], self.f[:, ids] = done.x[reached].T, done.f[reached].T
        self.obj[ids] = np.einsum("sm,sm->s", done.f[reached], done.f[reached])
        starts = self.idx[ids]
        self.walk.polished[starts] = done.settled[reached]
        self.walk.error[starts] = done.error[reached]
        out = np.zeros_like(which)
        out[ids] = True
        return out

    @staticmethod
    def _still(x: np.ndarray) -> np.ndarray:
        """The step length below which a start at ``x`` is not moving.

        It is relative to the size of the point, refreshed every
        :data:`STALL_WINDOW` iterations (points far out diverge at 1e150).
        """
        return STILL * (1 + _abs_max(x))

    def _limit(self, step: np.ndarray) -> np.ndarray:
        """Cap each coordinate of a step at the width of the search box."""
        return np.clip(step, -self.width, self.width)

    def _inside(self, x: np.ndarray) -> np.ndarray:
        """Project points onto the bounds (only when there are any)."""
        return np.clip(x, self.lower, self.upper) if self.bounded else x

    def _try(self, step: np.ndarray, t: np.ndarray, starts: np.ndarray | None = None):
        x = self.x if starts is None else self.x[:, starts]
        trial = self._inside(x + t * step)
        f = self.system.residuals(trial)
        return trial, f, _objective(f)

    # -- bookkeeping -------------------------------------------------------

    def _retire(self, iteration: int, still: np.ndarray) -> None:
        """Decide which starts are done, kick stuck ones, compact the arrays."""
        s = self.s
        if self.obj.min(initial=np.inf) <= self.near:
            converged = self.obj <= self.near
            f = self.f if s.weights is None else self.f / s.weights[:, None]
            converged &= _abs_max(f) <= s.tol
        else:
            converged = np.zeros(len(self.obj), dtype=bool)
        diverged = self.obj > self.limit  # inf is above every limit
        if s.line_search:
            diverged &= self.growth >= GROWTH_STREAK
            diverged |= self.obj == np.inf
        stuck = still
        early = s.polish_early and self.polish_affordable
        if early and _polish_now(iteration + 1):
            walking = ~(converged | diverged)
            if walking.any():
                converged |= self._polish(walking, EARLY_STEPS)
        if (iteration + 1) % STALL_WINDOW == 0:
            stuck |= self.window - self.obj <= STALL_RATIO * self.window
            self.window = self.obj.copy()
            self.still = self._still(self.x)
            diverged |= self.still > STILL * 1e150
        if stuck.any():
            stuck &= ~(converged | diverged)
            kicked = stuck & (self.kicks < MAX_KICKS) if s.noise > 0 else stuck & False
            if kicked.any():
                self._kick(kicked)
                stuck &= ~kicked

        done = converged | diverged
        done |= stuck
        if done.any():
            reason = np.where(
                converged, CONVERGED, np.where(diverged, DIVERGED, STATIONARY)
            )
            self._leave(done, reason[done], iteration + 1)
        if self.paths is not None:
            self.walk.x[self.idx] = self.x.T
            self.paths.append(self.walk.x.copy())

    def _leave(self, done: np.ndarray, reasons: np.ndarray, iterations: int) -> None:
        """Record where the starts in ``done`` ended and drop them from the arrays."""
        w, ids = self.walk, self.idx[done]
        w.x[ids], w.objective[ids] = self.x[:, done].T, self.obj[done]
        w.iterations[ids], w.reason[ids] = iterations, reasons
        self.lowest = min(self.lowest, float(self.obj[done].min()))
        keep = ~done
        if not keep.any():  # the last starts left: empty views will do
            keep = slice(0, 0)
        for name in _PER_START:
            setattr(self, name, getattr(self, name)[..., keep])
        self.state = _take(self.state, keep)

    def finish(self, iterations: int) -> None:
        """Record the starts still running when the budget ran out."""
        w = self.walk
        w.x[self.idx], w.objective[self.idx] = self.x.T, self.obj
        w.iterations[self.idx] = iterations

    def best(self) -> float:
        """The lowest objective over every start so far."""
        running = float(self.obj.min()) if self.obj.size else np.inf
        return min(self.lowest, running)

    @property
    def kicks(self) -> np.ndarray:
        return self.walk.kicks[self.idx]

    def _kick(self, starts: np.ndarray) -> None:
        """Jump stuck starts by a random amount, the way off a flat saddle region.

        A jump past a bound is reflected back inside, so a start stuck on a
        bound always gets a chance to move away from it.
        """
        s = self.s
        jump = self.rng.standard_normal((int(starts.sum()), self.x.shape[0])).T
        trial = self.x[:, starts] + s.noise * self.width * jump
        if self.bounded:
            trial = np.where(trial < self.lower, 2 * self.lower - trial, trial)
            trial = np.where(trial > self.upper, 2 * self.upper - trial, trial)
            trial = np.clip(trial, self.lower, self.upper)
        f, jac = self.system.evaluate(trial)
        obj = _objective(f)
        ok = np.isfinite(obj) & np.isfinite(_abs_max(jac))
        where = np.flatnonzero(starts)[ok]
        self.x[:, where], self.f[:, where] = trial[:, ok], f[:, ok]
        self.jac[:, where], self.obj[where] = jac[:, ok], obj[ok]
        self.window[where] = obj[ok]
        self.step[where] = 1.0
        self.last_x[:, where], self.last_gradient[:, where] = trial[:, ok], 0.0
        self.recent[:, where] = obj[ok]
        self.still[where] = self._still(trial[:, ok])
        self.walk.kicks[self.idx[starts]] += 1
        self.state = _reset(self.state, starts)

    def _record_trace(
        self, iteration: int, gradient: np.ndarray, taken: np.ndarray
    ) -> None:
        for k, rows in enumerate(self.walk.trace):
            hit = np.flatnonzero(self.idx == k)
            if hit.size:
                i = hit[0]
                norm = float(np.linalg.norm(gradient[:, i]))
                rows.append((iteration + 1, float(self.obj[i]), norm, float(taken[i])))


def descend(
    system: System,
    settings: Descent,
    x0: np.ndarray,
    rng: np.random.Generator,
    record_paths: bool = False,
    trace_starts: int = 0,
    progress: Progress | None = None,
    start_values: tuple[np.ndarray, np.ndarray] | None = None,
) -> Walk:
    """Run every start downhill until it stops or the budget is spent.

    Args:
        system: The compiled system.
        settings: Method and stopping rules.
        x0: Starting points, shape ``(starts, unknowns)``.
        rng: Source of randomness for kicks and equation subsets.
        record_paths: Keep every start's point after every iteration.
        trace_starts: Record a per-iteration trace of this many first starts.
        progress: Called as ``progress(iteration, best objective, running,
            converged)`` every few iterations.
        start_values: The residuals and Jacobian entries of ``system`` at
            ``x0`` (one row per start), when already known.

    Returns:
        Where each start ended and why.
    """
    with np.errstate(all="ignore"):  # undefined points are handled as they come
        walker = _Walker(
            system, settings, x0, rng, record_paths, trace_starts, start_values
        )
        walk = walker.walk
        iteration = 0
        for iteration in range(settings.max_iter):
            if walker.idx.size == 0:
                break
            walker.advance(iteration)
            walk.best.append(walker.best())
            if progress is not None and iteration % 10 == 0:
                converged = walk.count(CONVERGED)
                progress(iteration + 1, walk.best[-1], walker.idx.size, converged)
        else:
            iteration = settings.max_iter
        walker.finish(iteration)
    if walker.paths is not None:
        walk.paths = np.stack(walker.paths)
    return walk
