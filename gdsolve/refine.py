"""Polish end points, group them into distinct solutions and say what each is.

Polishing takes a few Levenberg-Marquardt steps from every end point at once, so
a simple root is reported to about machine precision. Grouping merges end points
closer than their own accuracy or a small relative tolerance (never by rounding).
Classification then looks at each distinct point:

- ``root``: every residual within the tolerance, and the Gauss-Newton step is
  small, so the residual is small because the point is at a root and not because
  every term fades away (``2^s + 3^s = 5^s`` as ``s → −∞``);
- ``local-minimum``: not a root, but no downhill direction is left and the
  objective's Hessian has no negative eigenvalue (a valley floor above zero);
- saddle points and points still moving are not answers and are not reported.

Where the Jacobian at a root has a null direction along which the solutions
continue (a curve or surface), the root is not isolated; its dimension is found
by stepping along the null directions and polishing back.

Large systems with a sparse Jacobian do this linear algebra with sparse
matrices (:mod:`gdsolve.sparse`); the others with dense Jacobians.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from gdsolve.sparse import (
    WEAK_LIMIT,
    gram_pattern,
    is_sparse,
    newton_step,
    solve_damped,
    weak_directions,
)
from gdsolve.system import System

#: Most floats of dense Jacobians and their products polished in one batch.
DENSE_BUDGET = 32_000_000
#: Most Levenberg-Marquardt iterations when polishing (most points need a few).
POLISH_STEPS = 100
#: The damping λ of the first step, relative to ``diag(JᵀJ)``. A step taken
#: lowers it by Nielsen's rule and, when it is at most ``CLOSING`` times as
#: long as the step before, also in proportion to the fall of the residuals
#: (as in Fan and Yuan's λ ∝ ‖F‖): near a root, even a multiple one, the
#: steps shrink and become Gauss-Newton steps even where ``JᵀJ`` is nearly
#: singular. Along a fading tail (``x/(x+1) = 1`` as x grows) the steps do not
#: shrink, and the damping does not let polishing follow it to infinity.
#: Two steps taken in a row, the second at most ``CLOSING`` times as long as
#: the first, foretell the next one as ``length·(length/last)²`` (the steps of
#: a quadratically converging iteration); when that is below the precision of
#: the point, polishing stops there without taking it.
FIRST_DAMPING = 1e-5
CLOSING = 0.9
#: For large sparse systems, polishing looks at each point's progress every
#: this many steps; a point whose objective fell by less than ``STALL_DROP`` of
#: itself over the last look while its steps did not shrink to half stops:
#: it is creeping along a curved valley far from any root or valley floor (one
#: converging shrinks its steps) and is judged where it is, mostly as still
#: moving. Some such points would reach a root after many more steps; there
#: each step evaluates every equation and factorises a large matrix, so they
#: are given up. Small systems take every step of ``POLISH_STEPS``.
STALL_STEPS = 10
STALL_DROP = 1e-3
#: Relative tolerance for merging two end points into one solution.
MERGE_RTOL = 1e-9
#: A Gauss-Newton step longer than this (relative to the point), or than the
#: tolerance when that is looser, means the point is not at a root even if
#: its residual is small.
STEP_RTOL = 1e-4
#: The rounding error of an equation's value, relative to the size of its
#: terms (eight units in the last place).
ROUNDING = 8 * np.finfo(float).eps
#: Most Gauss-Newton steps taken from a root candidate to confirm it (a
#: double root halves its residuals per step: from 1e-10 to rounding in 20).
CONFIRM_STEPS = 60
#: A point is stationary when moving each unknown by its own size (or a
#: hundredth of the box width) would change the objective by less than this
#: fraction, to first order.
STATIONARY_REL = 1e-6
#: A direction along which the Jacobian's singular value is at most this share
#: of the largest (or of one, if that is smaller) is nearly null at a root.
WEAK_RELATIVE = 1e-3


@dataclass
class Polished:
    """End points after polishing, with what the last step said about them.

    Attributes:
        x: The polished points, shape ``(starts, unknowns)``.
        f: Residuals at the points, shape ``(starts, equations)``.
        error: Length of the last proposed step per unknown: an estimate of
            how far each point is from where the iteration would settle.
        settled: Whether each point's polishing ended because it had
            settled (or could not start), not because the steps ran out.
    """

    x: np.ndarray
    f: np.ndarray
    error: np.ndarray
    settled: np.ndarray


def chunks(system: System, count: int) -> int:
    """Return how many points are polished in one batch.

    A large sparse system takes every point at once (its matrices hold only
    the nonzeros); otherwise batches are sized so that their dense Jacobians
    fit in memory.
    """
    if is_sparse(system):
        return max(1, count)
    # the Jacobian, and JᵀJ with the copies a damped solve makes of it
    m, n = system.n_equations, system.n_unknowns
    per_point = max(1, n * (m + 3 * n))
    return max(1, min(count, DENSE_BUDGET // per_point))


def polish(
    system: System,
    x: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    steps: int = POLISH_STEPS,
    values: tuple[np.ndarray, np.ndarray] | None = None,
) -> Polished:
    """Refine points by Levenberg-Marquardt steps, all points at once.

    Points where the system cannot be evaluated are returned unchanged with
    ``inf`` residuals. Batches are sized by :func:`chunks`; a few points of a
    system that is not large and sparse are polished one by one (see
    :func:`_polish_point`). ``values``, when given, are the residuals and
    Jacobian entries at ``x`` already known.
    """
    solver = _Solver(system)
    one_by_one = len(x) <= FEW_POINTS and solver.gram is None
    size = 1 if one_by_one else chunks(system, len(x))
    polish_part = _polish_point if one_by_one else _polish_batch
    parts = []
    for i in range(0, len(x), size):
        part = slice(i, i + size)
        known = None if values is None else (values[0][part], values[1][part])
        parts.append(polish_part(system, solver, x[part], lower, upper, steps, known))
    if len(parts) == 1:
        return parts[0]
    if not parts:
        n, m = system.n_unknowns, system.n_equations
        empty = np.empty((0, n))
        return Polished(empty, np.empty((0, m)), empty, np.empty(0, dtype=bool))
    return Polished(*(np.concatenate([getattr(p, f.name) for p in parts])
                      for f in fields(Polished)))


class _Solver:
    """The linear algebra of Levenberg-Marquardt steps, dense or sparse.

    Jacobians are held in the form the solver works with: for a large sparse
    system (see :func:`gdsolve.sparse.is_sparse`) the nonzero entries, solved
    with a sparse factorisation; for any other system the dense
    ``(points, equations, unknowns)`` matrix, whose products cost a few
    array operations however few the points.
    """

    def __init__(self, system: System) -> None:
        self.system = system
        self.gram = None
        if is_sparse(system):
            self.gram = gram_pattern(system.rows, system.cols, system.n_unknowns)

    def jacobian(self, jac: np.ndarray) -> np.ndarray:
        """Return the working form of the Jacobians with nonzero entries ``jac``."""
        return jac if self.gram is not None else self.system.dense(jac)

    def jt_times(self, j: np.ndarray, f: np.ndarray) -> np.ndarray:
        """Return ``Jᵀf`` for each point."""
        if self.gram is not None:
            return self.system.jt_times(j, f)
        return np.einsum("smn,sm->sn", j, f)

    def times(self, j: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Return ``J·v`` for each point."""
        if self.gram is not None:
            return _times(self.system, j, v)
        return np.einsum("smn,sn->sm", j, v)

    def holding(self, j: np.ndarray, held: np.ndarray) -> np.ndarray:
        """Return the Jacobians with the columns of the ``held`` unknowns
        (per point) zero: a step solved with them leaves those unknowns be."""
        if self.gram is not None:
            return j * ~held[:, self.system.cols]
        return j * ~held[:, None, :]

    def column_scale(self, j: np.ndarray) -> np.ndarray:
        """Return ``diag(JᵀJ)`` for each point, floored away from zero."""
        if self.gram is not None:
            return _column_scale(self.system, j)
        return _floored(np.einsum("smn,smn->sn", j, j))

    def step(
        self, j: np.ndarray, f: np.ndarray, damping: np.ndarray, scale: np.ndarray
    ) -> np.ndarray:
        """Return the step ``δ`` of ``(JᵀJ + λ·D) δ = −Jᵀf`` for each point.

        Args:
            j: The Jacobians, in working form.
            f: The residuals per point.
            damping: λ per point.
            scale: ``D``, the damping's diagonal per point.
        """
        if self.gram is not None:
            g = self.system.jt_times(j, f)
            return solve_damped(self.gram, j, g, damping, scale)
        return _lm_step(j, f, damping, scale)


def _lm_step(
    j: np.ndarray, f: np.ndarray, damping: np.ndarray, scale: np.ndarray | None = None
) -> np.ndarray:
    """Solve ``(JᵀJ + λ·D) δ = −Jᵀf`` for each point, with dense ``j``.

    ``D`` is ``scale`` when given (the largest ``diag(JᵀJ)`` seen so far, as in
    MINPACK, so an unknown whose column fades near the solution keeps its
    damping), else ``diag(JᵀJ)`` with a small floor.
    """
    if len(j) >= MANY_SMALL and j.shape[2] <= SMALL_UNKNOWNS and scale is not None:
        return _small_lm_step(j, f, damping, scale)
    return _lapack_lm_step(j, f, damping, scale)


def _lapack_lm_step(
    j: np.ndarray, f: np.ndarray, damping: np.ndarray, scale: np.ndarray | None
) -> np.ndarray:
    """:func:`_lm_step` by one LAPACK solve per point."""
    jt = j.transpose(0, 2, 1)
    a = jt @ j
    g = (jt @ f[..., None])[..., 0]
    if scale is None:
        scale = _floored(np.diagonal(a, axis1=1, axis2=2))
    idx = np.arange(a.shape[1])
    a[:, idx, idx] += damping[:, None] * scale
    try:
        return -np.linalg.solve(a, g[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return -(np.linalg.pinv(a) @ g[..., None])[..., 0]


#: From this many points on, systems of at most this many unknowns take their
#: damped steps from :func:`_small_lm_step`.
MANY_SMALL = 32
SMALL_UNKNOWNS = 4


def _small_lm_step(
    j: np.ndarray, f: np.ndarray, damping: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """Solve ``(JᵀJ + λ·D) δ = −Jᵀf`` for many points of a small system.

    The Cholesky factorisation is written out entry by entry, each entry one
    array operation over all points: for a few unknowns this is several
    times cheaper than one LAPACK call per point. Points whose matrix is not
    numerically positive definite are solved by :func:`_lapack_lm_step`.
    """
    n = j.shape[2]
    cols = np.ascontiguousarray(j.transpose(2, 1, 0))  # (unknowns, equations, points)
    ft = np.ascontiguousarray(f.T)
    a = [[None] * n for _ in range(n)]
    for p in range(n):
        for q in range(p + 1):
            a[p][q] = np.einsum("ms,ms->s", cols[p], cols[q])
        a[p][p] = a[p][p] + damping * scale[:, p]
    g = [np.einsum("ms,ms->s", cols[p], ft) for p in range(n)]
    # a = L·Lᵀ, then L·y = −g and Lᵀ·δ = y; a pivot that is not positive
    # leaves NaN in its point's step
    low = [[None] * n for _ in range(n)]
    y = [None] * n
    delta = np.empty((len(j), n))
    with np.errstate(all="ignore"):
        for q in range(n):
            pivot = a[q][q] - sum((low[q][k] ** 2 for k in range(q)), 0.0)
            low[q][q] = np.sqrt(pivot)
            for p in range(q + 1, n):
                dot = sum((low[p][k] * low[q][k] for k in range(q)), 0.0)
                low[p][q] = (a[p][q] - dot) / low[q][q]
        for p in range(n):
            y[p] = (-g[p] - sum((low[p][k] * y[k] for k in range(p)), 0.0)) / low[p][p]
        for p in reversed(range(n)):
            rest = sum((low[k][p] * delta[:, k] for k in range(p + 1, n)), 0.0)
            delta[:, p] = (y[p] - rest) / low[p][p]
    failed = ~np.isfinite(delta).all(axis=1)
    if failed.any():
        rows = np.flatnonzero(failed)
        delta[rows] = _lapack_lm_step(j[rows], f[rows], damping[rows], scale[rows])
    return delta


def _column_scale(system: System, jac: np.ndarray) -> np.ndarray:
    """Return ``diag(JᵀJ)`` from the nonzero entries, floored away from zero."""
    return _floored(system.column_norms2(jac))


def _floored(diag: np.ndarray) -> np.ndarray:
    return np.maximum(diag, 1e-12 * diag.max(axis=1, keepdims=True) + 1e-200)


def _times(system: System, jac: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Return ``J·v`` for each point from the nonzero entries."""
    return system.row_sums(jac * v[:, system.cols])


def _polish_batch(system, solver, x, lower, upper, steps, values) -> Polished:
    """Levenberg-Marquardt steps for all points at once (see :data:`FIRST_DAMPING`
    for the damping)."""
    x = x.copy()
    if values is None:
        f, jac = system.evaluate(x)
    else:
        f, jac = values[0].copy(), values[1].copy()
    ok = np.isfinite(jac).all(axis=1)
    j = solver.jacobian(jac)
    obj = np.einsum("sm,sm->s", f, f)
    ok &= np.isfinite(obj)
    obj[~ok] = np.inf
    error = np.full(x.shape, np.inf)
    damping, growth = np.full(len(x), FIRST_DAMPING), np.full(len(x), 2.0)
    last = np.full(len(x), np.inf)  # the length of each point's last step taken
    scale = np.ones(x.shape)
    scale[ok] = solver.column_scale(j[ok])
    bounded = bool(np.isfinite(lower).any() or np.isfinite(upper).any())
    progress = _Progress(obj) if solver.gram is not None else None
    active = np.flatnonzero(ok)
    done = ~ok
    rejected = np.empty(x.shape)  # the step last rejected from each point ...
    retry = np.zeros(len(x), dtype=bool)  # ... where it has not moved since
    finishing = []  # points whose last step is taken after the loop, see there

    def step(xr, fr, jr, rows):
        """The Jacobians the steps are solved with (unknowns held on a bound
        left out), and the steps."""
        js = jr
        if bounded:
            held = held_at_bounds(xr, solver.jt_times(jr, fr), lower, upper)
            if held.any():
                js = solver.holding(jr, held)
        return js, solver.step(js, fr, damping[rows], scale[rows])

    for k in range(steps):
        if not active.size:
            break
        # While every point is active, whole arrays stand in for the rows.
        rows = slice(None) if active.size == len(x) else active
        xr, fr, jr, objr = x[rows], f[rows], j[rows], obj[rows]
        js, delta = step(xr, fr, jr, rows)
        sub = np.flatnonzero(retry[rows])
        while sub.size:  # see SAME_STEP
            ids = active[sub]
            alike = _alike(delta[sub], rejected[ids]) & (damping[ids] <= 1e16)
            sub, ids = sub[alike], ids[alike]
            if sub.size:
                damping[ids] *= growth[ids]
                growth[ids] *= 2
                delta[sub] = solver.step(js[sub], fr[sub], damping[ids], scale[ids])
        moves = np.abs(delta)
        error[rows] = moves
        trial = xr + delta
        if bounded:
            trial = np.minimum(np.maximum(trial, lower), upper)
        ft, jact = system.evaluate(trial)
        jt = solver.jacobian(jact)
        ot = np.einsum("sm,sm->s", ft, ft)
        linear = fr + solver.times(jr, trial - xr)
        predicted = objr - np.einsum("sm,sm->s", linear, linear)
        ratio = (objr - ot) / np.where(predicted > 0, predicted, np.inf)
        better = ot < objr
        # Near a valley floor above zero the objective stops changing in
        # floating point before the point stops moving; there a step that
        # makes the gradient smaller is still progress.
        level = ot == objr
        if level.any():
            flatter = _gradient_size(solver, jt, ft) < _gradient_size(solver, jr, fr)
            better |= level & flatter
        better &= np.isfinite(ot) & np.isfinite(jact).all(axis=1)

        shrink = np.maximum(1 / 3, 1 - (2 * np.clip(ratio, 0, 1) - 1) ** 3)
        length = moves.max(axis=1)
        closing = better & (length <= CLOSING * last[rows])
        shrink *= np.sqrt(np.divide(ot, objr, out=np.ones_like(ot), where=closing))
        # two steps taken in a row (see FIRST_DAMPING): the pace of the second
        ahead = np.flatnonzero(closing & (growth[rows] == 2.0) & np.isfinite(last[rows]))
        pace = length[ahead] / last[rows][ahead]
        last[rows] = np.where(better, length, last[rows])
        damping[rows] *= np.where(better, shrink, growth[rows])
        growth[rows] = np.where(better, 2.0, growth[rows] * 2)
        retry[rows] = ~better
        if better.all():
            acc, took = rows, slice(None)
        else:
            acc, took = active[better], better
            rejected[active[~better]] = delta[~better]
        x[acc], f[acc], obj[acc], j[acc] = trial[took], ft[took], ot[took], jt[took]
        scale[acc] = np.maximum(scale[acc], solver.column_scale(jt[took]))

        # Each coordinate is refined to its own relative precision, so a root
        # at 1e-12 is as accurate as one at 1.
        tiny = (moves <= 1e-15 * np.abs(x[rows]) + 1e-300).all(axis=1)
        if ahead.size:
            coming = moves[ahead] * (pace**2)[:, None]
            arrived = (coming <= 1e-15 * np.abs(x[active[ahead]]) + 1e-300).all(axis=1)
            tiny[ahead] |= arrived
            error[active[ahead[arrived]]] = coming[arrived]
            ids = active[ahead[arrived]]
            finishing.append(
                ids[(obj[ids] > 0) & _moves_a_digit(coming[arrived], x[ids])]
            )
        settled = (obj[rows] == 0) | tiny | (damping[rows] > 1e16)
        if not better.all():
            stay = active[~better]
            settled[~better] |= _at_rounding(solver, j[stay], f[stay], x[stay])
        if progress is not None:
            settled |= progress.stalled(k, active, obj[active], length)
        done[active[settled]] = True
        active = active[~settled]
    # The coming step of the points that arrived, too short to change more
    # than the last digits, is taken without evaluating it (the residuals
    # kept are those just before it): x = 300 ends at 300, not at
    # 299.99999999999994.
    ids = np.concatenate(finishing) if finishing else np.empty(0, dtype=int)
    if ids.size:
        x[ids] += step(x[ids], f[ids], j[ids], ids)[1]
        if bounded:
            x[ids] = np.minimum(np.maximum(x[ids], lower), upper)
    f[~ok] = np.inf
    return Polished(x, f, error, done)


def _moves_a_digit(step: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Tell, per point (row), whether a step of these lengths would change
    the last digit of some unknown: only then is it worth taking."""
    return (step >= 0.5 * np.spacing(np.abs(x))).any(axis=-1)


#: Up to this many points, polishing takes them one by one.
FEW_POINTS = 4
#: A step that differs from the step just rejected by at most this share of
#: that step's length would end near the same rejected point, so it is not
#: tried: the damping grows until the step differs. Where the damping is
#: far below the curvature that spoiled the step (a product of 30 unknowns,
#: weighted up to rows of one), growing it alone would leave the step as it
#: was for several evaluations.
SAME_STEP = 0.1


def _alike(delta: np.ndarray, rejected: np.ndarray) -> np.ndarray:
    """Tell, per point (row), whether a step is within :data:`SAME_STEP` of
    the step rejected there."""
    apart = np.abs(delta - rejected).max(axis=-1)
    return apart <= SAME_STEP * np.abs(rejected).max(axis=-1)


def _polish_point(system, solver, x, lower, upper, steps, values) -> Polished:
    """:func:`_polish_batch` for one point of a system with a dense Jacobian.

    The steps are the same; the point's own numbers (its objective, damping,
    the step's quality) are Python floats instead of arrays of one element,
    which makes a step several times cheaper.
    """
    x = x[0].copy()
    f, jac = system.evaluate(x[None]) if values is None else values
    f, jac = f[0].copy(), jac[0]
    error = np.full(len(x), np.inf)
    obj = float(f @ f)
    if not (math.isfinite(obj) and np.isfinite(jac).all()):
        f[:] = np.inf
        return Polished(x[None], f[None], error[None], np.ones(1, dtype=bool))
    j = solver.jacobian(jac[None])[0]
    scale = np.zeros(len(x))
    damping, growth = FIRST_DAMPING, 2.0
    last = math.inf  # the length of the last step taken
    bounded = bool(np.isfinite(lower).any() or np.isfinite(upper).any())
    settled = False
    foretold = False  # the coming step is below the unknowns' precision
    rejected = None  # the step last rejected from x
    for _ in range(steps):
        normal = j.T @ j
        # the floored diag(JᵀJ), as in _Solver.column_scale, raises the scale
        columns = normal.diagonal()
        np.maximum(scale, columns, out=scale)
        np.maximum(scale, 1e-12 * columns.max(initial=0.0) + 1e-200, out=scale)
        g = j.T @ f
        solved = normal, g  # JᵀJ and Jᵀf of the step
        if bounded:
            held = held_at_bounds(x, g, lower, upper)
            if held.any():
                js = j * ~held
                solved = js.T @ js, js.T @ f
        while True:  # see SAME_STEP
            a = solved[0].copy()
            a.flat[:: len(x) + 1] += damping * scale
            try:
                delta = -np.linalg.solve(a, solved[1])
            except np.linalg.LinAlgError:
                delta = -(np.linalg.pinv(a) @ solved[1])
            if rejected is None or damping > 1e16 or not _alike(delta, rejected):
                break
            damping *= growth
            growth *= 2
        trial = x + delta
        if bounded:
            trial = np.minimum(np.maximum(trial, lower), upper)
        if foretold:  # see _polish_batch: taken without evaluating it
            x = trial
            break
        error = np.abs(delta)
        ft, jact = system.evaluate(trial[None])
        ft, jact = ft[0], jact[0]
        ot = float(ft @ ft)
        linear = f + j @ (trial - x)
        predicted = obj - float(linear @ linear)
        ratio = (obj - ot) / predicted if predicted > 0 else 0.0
        better = ot < obj
        jt = None
        if ot == obj:  # see _polish_batch: a flatter point is progress too
            jt = solver.jacobian(jact[None])[0]
            better = np.abs(jt.T @ ft).max(initial=0.0) < np.abs(g).max(initial=0.0)
        if better and math.isfinite(ot) and np.isfinite(jact).all():
            jt = solver.jacobian(jact[None])[0] if jt is None else jt
            damping *= max(1 / 3, 1 - (2 * min(max(ratio, 0.0), 1.0) - 1) ** 3)
            length = float(error.max(initial=0.0))
            if length <= CLOSING * last:
                damping *= math.sqrt(ot / obj)
                if growth == 2.0 and math.isfinite(last):  # two in a row
                    coming = error * (length / last) ** 2
                    if (coming <= 1e-15 * np.abs(trial) + 1e-300).all():
                        foretold = ot > 0 and bool(_moves_a_digit(coming, trial))
                        error, settled = coming, True
            last = length
            x, f, obj, j = trial, ft, ot, jt
            growth, rejected = 2.0, None
        else:
            damping *= growth
            growth *= 2
            rejected = delta
            if _at_rounding(solver, j[None], f[None], x[None])[0]:
                settled = True
                break
        if foretold:
            continue
        tiny = bool((error <= 1e-15 * np.abs(x) + 1e-300).all())
        if obj == 0 or tiny or settled or damping > 1e16:
            settled = True
            break
    return Polished(x[None], f[None], error[None], np.array([settled]))


def _at_rounding(solver: _Solver, j: np.ndarray, f: np.ndarray, x: np.ndarray):
    """Tell which points have every residual within the rounding of its
    equation's values: a step from there can only move within that rounding,
    so a point whose step was just rejected has settled.

    The rounding is that of the equation's terms, or, for residuals a little
    above it, the rounding measured by nudging the point (see :func:`_noise`):
    a polynomial with large coefficients rounds to far more than its terms
    near a root.
    """
    scale = ROUNDING * np.maximum(1.0, solver.times(np.abs(j), np.abs(x)))
    size = np.abs(f)
    out = (size <= scale).all(axis=1)
    near = ~out & (size <= NOISY * scale).all(axis=1)
    if near.any():
        noise = _noise(solver.system, x[near], f[near])
        out[near] = size[near].max(axis=1) <= 2 * noise
    return out


def _gradient_size(solver: _Solver, j: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Return the largest entry of ``|Jᵀf|`` at each point."""
    return np.abs(solver.jt_times(j, f)).max(axis=1, initial=0.0)


class _Progress:
    """Tells creeping points from converging ones (see :data:`STALL_STEPS`).

    Args:
        obj: The objective of each point at the start.
    """

    def __init__(self, obj: np.ndarray) -> None:
        self.mark = obj.copy()  # the objective at the last look
        self.longest = np.zeros(len(obj))  # longest step since the last look
        self.before = np.full(len(obj), np.inf)  # ... and in the look before

    def stalled(
        self, k: int, rows: np.ndarray, obj: np.ndarray, length: np.ndarray
    ) -> np.ndarray:
        """Record step ``k`` of the points ``rows`` (values ``obj`` and step
        lengths ``length``); say which have stalled."""
        self.longest[rows] = np.maximum(self.longest[rows], np.nan_to_num(length))
        if (k + 1) % STALL_STEPS:
            return np.zeros(len(obj), dtype=bool)
        slow = obj >= (1 - STALL_DROP) * self.mark[rows]
        steady = self.longest[rows] >= 0.5 * self.before[rows]
        self.mark[rows], self.before[rows] = obj, self.longest[rows]
        self.longest[rows] = 0.0
        return slow & steady


def step_estimate(system: System, x: np.ndarray) -> np.ndarray:
    """Return the length, per unknown, of one nearly undamped Gauss-Newton step."""
    size = chunks(system, len(x))
    solver = _Solver(system)
    out = []
    for i in range(0, len(x), size):
        f, jac = system.evaluate(x[i : i + size])
        out.append(np.abs(_gauss_newton(system, solver, jac, f)))
    return np.concatenate(out) if out else np.empty_like(x)


def _gauss_newton(system: System, solver: _Solver, jac, f) -> np.ndarray:
    """Return a Gauss-Newton step from each point.

    A large sparse square system takes the Newton step itself (see
    :func:`gdsolve.sparse.newton_step`) where its Jacobian is not exactly
    singular; otherwise the step is damped by a billionth of ``diag(JᵀJ)``.
    """
    with np.errstate(all="ignore"):
        n = system.n_unknowns
        step = np.full((len(f), n), np.nan)
        if solver.gram is not None and system.n_equations == n:
            step = newton_step(system.rows, system.cols, n, jac, f)
        left = np.flatnonzero(~np.isfinite(step).all(axis=1))
        if len(left):
            j = solver.jacobian(jac[left])
            damping = np.full(len(left), 1e-9)
            step[left] = solver.step(j, f[left], damping, solver.column_scale(j))
        return step


def group(
    x: np.ndarray, error: np.ndarray, objective: np.ndarray, width: np.ndarray
) -> list[np.ndarray]:
    """Merge end points that are the same solution; return member indices.

    Two points are the same when every coordinate differs by less than
    ``MERGE_RTOL`` of its size (plus 1e-15 of the box width, for points at
    zero), or by less than the points' own accuracy, capped at a thousandth of
    their size. Near zero only that accuracy merges points: the roots ±1e-10
    of ``x² = 1e-20`` are distinct. Groups come best objective first, and
    each group's best point first. The loop runs over groups, each step
    vectorised over points.
    """
    if len(x) == 1:
        return [np.zeros(1, dtype=int)]
    error = np.where(np.isfinite(error), error, 0.0)
    error = np.minimum(error, 1e-3 * (1 + np.abs(x)))
    left = np.ones(len(x), dtype=bool)
    groups = []
    while left.any():
        candidates = np.flatnonzero(left)
        best = candidates[np.argmin(objective[candidates])]
        size = np.maximum(np.abs(x[best]), np.abs(x[candidates]))
        own = 10 * (error[best] + error[candidates])
        tol = MERGE_RTOL * size + 1e-15 * width + own
        members = candidates[(np.abs(x[candidates] - x[best]) <= tol).all(axis=1)]
        left[members] = False
        groups.append(np.concatenate([[best], members[members != best]]))
    return groups


@dataclass
class Verdict:
    """What a distinct point is.

    Attributes:
        kind: ``"root"``, ``"local-minimum"``, ``"saddle"`` or ``"moving"``.
        residual: Largest ``|Fᵢ|``.
        objective: ``Σ Fᵢ²``.
        error: Estimated distance to the exact solution (largest coordinate).
        dimension: For a root, the dimension of the solution set through it
            (0 when isolated).
        flat: For a valley floor, whether it is a whole line or surface of
            least-squares points rather than one.
    """

    kind: str
    residual: float
    objective: float
    error: float
    dimension: int = 0
    flat: bool = False


def classify(
    system: System,
    x: np.ndarray,
    tol: float,
    lower: np.ndarray,
    upper: np.ndarray,
    width: np.ndarray,
    weights: np.ndarray | None = None,
    values: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[Verdict]:
    """Say what each distinct point is: root, valley floor, saddle or moving.

    A root has every ``|Fᵢ|`` within ``tol`` times the size of the terms of
    equation ``i`` (``Σⱼ |∂Fᵢ/∂xⱼ · xⱼ|`` when that is above one), and a
    Gauss-Newton step from it that moves no unknown by more than
    ``STEP_RTOL`` (or ``tol``, if larger) of its size, or of a hundredth of
    the box width for an unknown near zero. A loose tolerance lets the
    descent stop that much farther from the root.

    ``weights`` (one per equation, see :func:`gdsolve.system.equation_weights`)
    give every equation the same say in which directions are nearly null at
    a root: ``1e8·(y - x²) = 0, 1 - x = 0`` has none, though its Jacobian's
    singular values are 1e8 apart. An equation's row at the point, when
    larger than its typical size, counts instead (the weights come from the
    starts, where a product of 30 unknowns of 0.5 is a billion times smaller
    than at its root). ``values`` are the residuals and Jacobian entries at
    ``x``, when known.
    """
    f, jv = system.evaluate(x) if values is None else values
    if system.nnz == 0:  # no equation has an unknown left: F is one constant
        return _constant(system, f)
    sensitivity = np.sqrt(system.row_sums(jv * jv))  # ‖∂Fᵢ‖ per equation
    if is_sparse(system):
        solver = _Solver(system)
        move = _gauss_newton(system, solver, jv, f)

        def weak(i: int) -> np.ndarray:
            if not np.isfinite(jv[i]).all():
                return np.empty((0, system.n_unknowns))
            return weak_directions(solver.gram, jv[i], WEAK_RELATIVE)

        nullity = None  # ARPACK finds at most WEAK_LIMIT weak directions
    else:
        # an equation's size is its typical one, or its size here if larger:
        # a row that vanishes here (a double root) stays small
        size = np.ones_like(f)
        if weights is not None:
            size = np.maximum(1.0 / weights, sensitivity)
            size = np.where(np.isfinite(size) & (size > 0), size, 1.0)
        move, weak, nullity = _svd_step(system.dense(jv) / size[:, :, None], f / size)
    weak = _remembered(weak)
    step = np.abs(move)
    # a point on a bound is not farther from a root than the move along it
    along = np.where(held_at_bounds(x, -move, lower, upper), 0.0, move)
    gn = np.abs(along).max(axis=1, initial=0.0)

    # the size of each equation's terms; a term whose unknown is zero has
    # none, even where its derivative is infinite (√x at 0)
    size_of = np.abs(x)[:, system.cols]
    row_scale = system.row_sums(np.where(size_of == 0, 0.0, np.abs(jv) * size_of))
    residual = np.abs(f).max(axis=1, initial=0.0)
    is_root = (np.abs(f) <= tol * np.maximum(1.0, row_scale)).all(axis=1)
    near = np.abs(x) + 0.01 * width
    close = (step <= STEP_RTOL * near).all(axis=1)
    # A tolerance looser than STEP_RTOL lets the descent stop farther out; such
    # a point is a root only if Newton steps from it take its residuals down to
    # rounding within that tolerance (a fading asymptote, 2^s + 3^s = 5^s at
    # s = -60, has residuals at rounding and a long step: it is not).
    loose = max(STEP_RTOL, tol) * near
    is_root &= (step <= loose).all(axis=1)
    # Each equation on its own must be as close to holding: one whose value
    # is small only because it fades with its whole row (exp(-x²) at x = 7,
    # beside y = 1) is |Fᵢ| / ‖∂Fᵢ‖ = 1/14 away from its zeros, a distance
    # the step above hides, the smallest singular values being dropped.
    with np.errstate(all="ignore"):
        away = np.where(f == 0, 0.0, np.abs(f) / sensitivity)
    is_root &= (away <= loose.max(axis=1, keepdims=True)).all(axis=1)
    # The rounding in the residuals: that of the terms, or the one measured
    # (see _noise) where it matters: at candidate roots with residuals above
    # the terms' rounding, or with weak directions to measure the reach along.
    slack = ROUNDING * np.maximum(1.0, row_scale).max(axis=1)
    measure = is_root.copy()
    for i in np.flatnonzero(is_root):
        measure[i] = residual[i] > slack[i] or len(weak(i)) > 0
    if measure.any():
        noise = _noise(system, x[measure], f[measure])
        slack[measure] = np.maximum(slack[measure], 2 * noise)
    confirmed, down, reached = _newton_confirms(system, x, move, f, slack, is_root)
    moved = np.abs(reached - x)
    moved = np.where(np.isfinite(moved), moved, 0.0)
    is_root &= confirmed & (close | (down & (moved <= loose).all(axis=1)))
    gn = np.where(is_root, np.maximum(gn, moved.max(axis=1, initial=0.0)), gn)
    # A valley floor stands above the rounding of the residuals: where they
    # are within a little of the terms' rounding, it is measured (a point on
    # the line of double roots of x² - 2xy + y² = 0 rounds to 1e-14).
    low = ~is_root & (residual > slack) & (residual <= NOISY * slack)
    if low.any():
        slack[low] = np.maximum(slack[low], 2 * _noise(system, x[low], f[low]))
    fnorm = np.linalg.norm(f, axis=1)
    stationary = np.zeros(len(x), dtype=bool)  # of the points that are no root
    if not is_root.all():
        downhill = -2 * system.jt_times(jv, f)
        # along the bounds a point is on: a floor there need not be level
        # across them, but must be along them
        downhill = np.where(held_at_bounds(x, -downhill, lower, upper), 0.0, downhill)
        slope = np.abs(downhill)
        stationary = (slope * near).sum(axis=1) <= STATIONARY_REL * fnorm**2
        stationary |= _no_way_down(system, x, downhill, near, fnorm**2, ~is_root)

    verdicts = []
    for i in range(len(x)):
        objective = float(fnorm[i] ** 2)
        if is_root[i]:
            kind = "root"
        elif residual[i] > slack[i] and stationary[i]:
            # a floor above zero stands above the rounding of the residuals:
            # one within it that is no root is the way to an asymptote
            kind = "local-minimum"
        else:
            kind = "moving"
        verdicts.append(Verdict(kind, float(residual[i]), objective, float(gn[i])))
    _find_saddles(system, x, verdicts, lower, upper)
    _find_dimensions(system, x, weak, verdicts, lower, upper, nullity)
    for i, verdict in enumerate(verdicts):
        if verdict.kind == "root" and verdict.dimension == 0:
            level = max(2 * verdict.residual, slack[i])
            reach = _flat_reach(system, x[i], weak(i), level)
            verdict.error = max(verdict.error, reach)
    return verdicts


def _remembered(find: Callable[[int], np.ndarray]) -> Callable[[int], np.ndarray]:
    """Return ``find`` with each point's answer worked out once."""
    known: dict[int, np.ndarray] = {}

    def recall(i: int) -> np.ndarray:
        if i not in known:
            known[i] = find(i)
        return known[i]

    return recall


def _flat_reach(system, x, directions, level) -> float:
    """How far from a root ``x`` the residuals stay within ``level`` along
    its nearly null ``directions``: the accuracy a root with a singular
    Jacobian can have. Near ``(x-1)^7`` every point within 0.007 of 1 has
    residuals below 1e-15, so no digit past the third is sure."""
    if not len(directions):
        return 0.0
    lengths = (1 + np.abs(x).max()) * 10.0 ** np.arange(-12.0, 0.0)
    signed = np.concatenate([lengths, -lengths])
    probes = x + signed[None, :, None] * directions[:, None, :]  # (dirs, 24, n)
    f = system.residuals(probes.reshape(-1, len(x)))
    within = (np.abs(f) <= level).all(axis=1).reshape(len(directions), 2, -1)
    # the reach on each side is the last length before the first one outside
    first_out = np.where(within.all(axis=2), len(lengths), (~within).argmax(axis=2))
    reach = np.where(first_out > 0, lengths[np.maximum(first_out - 1, 0)], 0.0)
    return float(reach.min(axis=1).max())


def _no_way_down(system, x, downhill, reach, objective, candidates) -> np.ndarray:
    """Tell, for the ``candidates``, whether no step along the gradient,
    from ``reach`` down to a trillionth of it, lowers the objective by
    :data:`STATIONARY_REL` of itself: the bottom of a valley whose gradient
    is small but not small against the width of the box (``x² + 1e-8`` at
    x = 1e-14)."""
    out = np.zeros(len(x), dtype=bool)
    rows = np.flatnonzero(candidates & np.isfinite(objective) & (objective > 0))
    if not rows.size:
        return out
    # scaled to its largest entry first: the squares of a gradient of 1e-200
    # underflow, and its norm with them
    unit = downhill[rows] / np.abs(downhill[rows]).max(axis=1, keepdims=True)
    size = np.linalg.norm(unit, axis=1)
    unit = np.where(size[:, None] > 0, unit / size[:, None], 0.0)
    tenths = 10.0 ** -np.arange(13.0)  # reach, a tenth of it, ... a trillionth
    lengths = np.linalg.norm(reach[rows], axis=1)[:, None] * tenths
    probes = x[rows, None, :] + lengths[:, :, None] * unit[:, None, :]
    f = system.residuals(probes.reshape(-1, x.shape[1]))
    f = f.reshape(len(rows), len(tenths), -1)
    defined = np.isfinite(f).all(axis=2)
    squares = np.where(defined, np.einsum("pkm,pkm->pk", f, f), np.inf)
    lowest = np.nanmin(squares, axis=1)
    out[rows] = lowest >= (1 - STATIONARY_REL) * objective[rows]
    # Where every step along the gradient leaves the domain (next to an edge
    # the equations imply but no bound marks, y ≥ 0 of y^x), that proves
    # nothing: steps along one unknown at a time may still go down.
    blind = rows[~defined.any(axis=1)]
    if x.shape[1] <= AXIS_PROBES_UNKNOWNS:
        for p in blind:
            out[p] = _no_way_down_by_axes(system, x[p], downhill[p], reach[p],
                                          objective[p], tenths)
    return out


#: Up to this many unknowns, a point whose every probe along the gradient
#: left the domain is probed along each unknown on its own.
AXIS_PROBES_UNKNOWNS = 50


def _no_way_down_by_axes(system, x, downhill, reach, objective, tenths) -> bool:
    """Tell whether no step along any one unknown, downhill, from ``reach``
    of that unknown down to a trillionth of it, lowers the objective."""
    axes = np.flatnonzero(downhill)
    if not axes.size:
        return True
    moves = np.zeros((axes.size, len(tenths), len(x)))
    signed = np.sign(downhill[axes]) * reach[axes]
    moves[np.arange(axes.size), :, axes] = signed[:, None] * tenths
    f = system.residuals((x + moves).reshape(-1, len(x)))
    squares = np.where(np.isfinite(f).all(axis=1), np.einsum("pm,pm->p", f, f), np.inf)
    return bool(squares.min() >= (1 - STATIONARY_REL) * objective)


def _newton_confirms(system, x, move, f, slack, candidates):
    """Tell, for the ``candidates``, whether Gauss-Newton steps from them,
    the first being ``move``, take the largest residual down to the rounding
    in the equations' values (``slack`` per point), each step halving it;
    and how far those steps went.

    From near a root they do: each step shrinks the residuals by a factor
    ``e`` or more, even at a root of high multiplicity. Near a valley floor
    whose height is within the tolerance (``x² + y² + 1e-14``) the residuals
    cannot shrink below that height, and at last a step overshoots. A step
    that leaves the domain of the equations proves nothing either way, and a
    point still halving its residuals after :data:`CONFIRM_STEPS` passes.

    At a root of multiplicity ``k`` each step covers only ``1/k`` of the way
    left, so the distance all the steps went, not the first one, tells how
    far the point is from the root.

    Returns:
        Whether each point is confirmed; whether its steps brought the
        residuals down to rounding from above it and then came to rest (the
        step from where they landed is less than half the first: on the way
        along a fading tail, such as ``exp(-x²)`` as ``x`` grows, every step
        is as long as the last); and the point they reached (the point
        itself where no step was taken).
    """
    ok = np.ones(len(x), dtype=bool)
    down = np.zeros(len(x), dtype=bool)
    reached = x.copy()
    rows = np.flatnonzero(candidates & np.isfinite(move).all(axis=1))
    before = np.abs(f[rows]).max(axis=1)
    keep = before > slack[rows]  # at rounding already: nothing to confirm
    if not keep.any():
        return ok, down, reached
    rows, slack, before = rows[keep], slack[rows[keep]], before[keep]
    point, step = x[rows], move[rows]
    first = np.abs(step).max(axis=1)
    with np.errstate(all="ignore"):
        for _ in range(CONFIRM_STEPS):
            if not rows.size:
                break
            point = point + step
            now, jv = system.evaluate(point)
            size = np.abs(now).max(axis=1)
            ok[rows] = (size <= 0.5 * before + slack) | ~np.isfinite(size)
            landed = ok[rows] & np.isfinite(size)
            reached[rows[landed]] = point[landed]
            step = _gauss_newton_move(system, jv, now)
            going = ok[rows] & (size > slack)  # halving, not yet down to rounding
            rest = landed & ~going
            down[rows[rest]] = np.abs(step[rest]).max(axis=1) <= 0.5 * first[rest]
            rows, point, slack = rows[going], point[going], slack[going]
            before, first, step = size[going], first[going], step[going]
    return ok, down, reached


#: Residuals up to this many times the rounding of their terms may be
#: rounding all the same, which polishing measures before it goes on.
NOISY = 64
#: Points nudged by a few units in the last place to see the rounding in
#: the residuals: each unknown of nudge ``k`` is multiplied by ``1 + s·ε``
#: with ``s`` between −3 and 3, in a different pattern for each unknown.
NUDGES = 8


@functools.cache
def _nudges(n: int) -> np.ndarray:
    """The factors of :data:`NUDGES` nudged points of ``n`` unknowns."""
    k, j = np.arange(NUDGES)[:, None], np.arange(n)[None, :]
    return 1 + ((3 * k + 5 * j) % 7 - 3) * np.finfo(float).eps


def _noise(system: System, x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """How far the residuals ``f`` at each point move when its unknowns move
    by a few units in the last place: the rounding in the equations' values.

    That rounding can be far above the rounding of the terms' sizes when a
    value is the small difference of large parts, as a polynomial with large
    coefficients near its root (Chebyshev polynomials of degree 7 leave
    residuals of 2e-14 at their exact roots).
    """
    count, n = x.shape
    nudged = (x[:, None, :] * _nudges(n)).reshape(-1, n)
    around = system.residuals(nudged)
    moved = np.abs(around.reshape(count, NUDGES, -1) - f[:, None, :])
    moved = np.where(np.isfinite(moved), moved, 0.0)
    return moved.max(axis=(1, 2), initial=0.0)


def _gauss_newton_move(system: System, jv: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Return the Gauss-Newton step to take from each point (NaN where the
    system is not finite)."""
    move = np.full((len(f), system.n_unknowns), np.nan)
    rows = np.flatnonzero(np.isfinite(jv).all(axis=1) & np.isfinite(f).all(axis=1))
    if rows.size and is_sparse(system):
        move[rows] = _gauss_newton(system, _Solver(system), jv[rows], f[rows])
    elif rows.size:
        move[rows] = _svd_step(system.dense(jv[rows]), f[rows])[0]
    return move


def _constant(system: System, f: np.ndarray) -> list[Verdict]:
    """Classify points of a system whose equations hold no unknown (``x = x``,
    ``0*x = 1``): every point solves it, in all its unknowns, or none does."""
    verdicts = []
    for row in f:
        residual = float(np.abs(row).max(initial=0.0))
        objective = float(row @ row)
        if residual == 0:
            verdicts.append(Verdict("root", 0.0, 0.0, 0.0, system.n_unknowns))
        else:
            floor = Verdict("local-minimum", residual, objective, 0.0, flat=True)
            verdicts.append(floor)
    return verdicts


def _svd_step(j: np.ndarray, f: np.ndarray):
    """Return the minimum-norm Gauss-Newton step from a dense Jacobian, the
    function giving each point's weak directions (at most
    :data:`WEAK_LIMIT` of them), and how many there are in all.

    A point whose Jacobian or residuals are not finite (a derivative that is
    infinite, as that of √x at 0) has no weak directions, and no step: none
    is needed where every residual is zero, else it is NaN.
    """
    bad = ~(np.isfinite(j).all(axis=(1, 2)) & np.isfinite(f).all(axis=1))
    held = (f == 0).all(axis=1)
    if bad.any():
        j, f = np.where(bad[:, None, None], 0.0, j), np.where(bad[:, None], 0.0, f)
    u, s, vt = np.linalg.svd(j, full_matrices=True)
    k = s.shape[1]
    s_max = s[:, :1] if k else np.zeros((len(f), 1))
    inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > 1e-12 * s_max)
    coeff = (f[:, None, :] @ u[:, :, :k])[:, 0] * inv
    step = -(coeff[:, None, :] @ vt[:, :k, :])[:, 0]
    step[bad & ~held] = np.nan

    n = j.shape[2]
    strong = s > WEAK_RELATIVE * np.maximum(s.max(axis=1, initial=0.0), 1.0)[:, None]
    nullity = np.where(bad, 0, n - strong.sum(axis=1))

    def weak(i: int) -> np.ndarray:
        if bad[i]:
            return np.empty((0, n))
        return vt[i, n - nullity[i]:][:WEAK_LIMIT]

    return step, weak, nullity


def held_at_bounds(x, slope, lower, upper) -> np.ndarray:
    """Tell which unknowns lie on a bound that the objective falls across
    (``slope`` is its gradient, or any positive multiple; the opposite of a
    step): steps leave them on the bound and are made by the other unknowns."""
    return ((x <= lower) & (slope > 0)) | ((x >= upper) & (slope < 0))


def _on_bound(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> bool:
    return bool(((x <= lower) | (x >= upper)).any())


def gradient(system: System, x: np.ndarray) -> np.ndarray:
    """Return the objective's gradient ``2·JᵀF`` at each row of ``x``."""
    f, jv = system.evaluate(x)
    return 2.0 * system.jt_times(jv, f)


def _find_saddles(system, x, verdicts, lower, upper) -> None:
    """Mark valley floors whose objective Hessian has a negative eigenvalue
    (saddles) or a zero one (a line or surface of least-squares points), and
    those with no curvature to speak of (still moving: a plateau or the way
    to an asymptote)."""
    rows = [i for i, v in enumerate(verdicts) if v.kind == "local-minimum"]
    n = x.shape[1]
    if not rows or n > 200:
        return
    pts = x[rows]
    h = 1e-5 * (1 + np.abs(pts))
    eye = np.eye(n)
    plus = (pts[:, None, :] + h[:, None, :] * eye).reshape(-1, n)
    minus = (pts[:, None, :] - h[:, None, :] * eye).reshape(-1, n)
    diff = (gradient(system, plus) - gradient(system, minus)).reshape(len(rows), n, n)
    hess = diff / (2 * h[:, :, None])
    hess = 0.5 * (hess + hess.transpose(0, 2, 1))
    if not np.isfinite(hess).all():
        return
    eig = np.linalg.eigvalsh(hess)
    scale = np.abs(eig).max(axis=1)
    # The change of the objective that curvature makes over a step as long
    # as the point's own size: next to nothing on a plateau, or on the way to
    # an asymptote (6/x = 3 as x → −∞), where the objective only creeps down.
    bend = scale * ((1 + np.abs(pts)) ** 2).max(axis=1)
    # At a valley floor the Gauss-Newton step says nothing (J is singular
    # there); a Newton step on the objective estimates the distance instead.
    # (with the unknowns held on a bound left out: a floor there is where it is)
    slope = gradient(system, pts)
    # (held: the objective falls across the bound more than by rounding)
    objective = np.array([verdicts[r].objective for r in rows])
    steep = np.abs(slope) * (1 + np.abs(pts)) > STATIONARY_REL * objective[:, None]
    held = held_at_bounds(pts, slope, lower, upper) & steep
    free = ~held
    within = hess * free[:, :, None] * free[:, None, :]
    newton = np.abs(np.linalg.pinv(within) @ (slope * free)[..., None])[..., 0]
    for k, r in enumerate(rows):
        verdicts[r].error = float(newton[k].max(initial=0.0))
    # The curvature along the unknowns free to move: one held on a bound is
    # given more than any other, so that it hides no saddle and makes none
    # (1 + x² + xy = 0 with y >= 0 falls from (0, 0) towards (-t, 2t)).
    within += held[:, :, None] * np.eye(n) * (scale + 1.0)[:, None, None]
    lowest_free = np.linalg.eigvalsh(within)[:, 0]
    for r, lowest, top, change in zip(rows, lowest_free, scale, bend):
        inside = not _on_bound(x[r], lower, upper)
        if inside and change <= 1e-10 * verdicts[r].objective:
            verdicts[r].kind = "moving"
        elif lowest < -1e-6 * top:
            verdicts[r].kind = "saddle"
        elif abs(lowest) <= 1e-8 * top:  # a direction along which nothing changes
            verdicts[r].flat = True


#: Most Levenberg-Marquardt steps polishing a point stepped off a root back:
#: onto a curve of solutions they return in a few, and even where the curve is
#: singular (``(x - y)^2 = 0``) each step halves the way left, so 15 bring a
#: step of 1e-3 within 3e-8, where the residuals are down to 1e-15; toward an
#: isolated singular root they crawl, and need not arrive.
DIMENSION_STEPS = 15


def _find_dimensions(system, x, weak, verdicts, lower, upper, nullity=None) -> None:
    """For roots with a nearly singular Jacobian, test whether solutions continue.

    Along each nearly null direction (``weak(i)`` gives those of point ``i``)
    the root is stepped away and polished back: if polishing stays away, the
    solutions continue in that direction. Where solutions continue along
    every direction tested and there are more weak directions than were
    tested (``nullity[i]`` in all), they are taken to continue along those
    too: ``x0 + ... + x9 = 1`` is a set of dimension 9.
    """
    tests, owners = [], []
    for i, v in enumerate(verdicts):
        if v.kind != "root":
            continue
        h = 1e-3 * (1 + np.abs(x[i]).max())
        for direction in weak(i):
            tests.append(x[i] + h * direction)
            owners.append((i, h))
    if not tests:
        return
    back = polish(system, np.array(tests), lower, upper, steps=DIMENSION_STEPS)
    # An equation that has faded to rounding (tanh(x) - 1 for large x, whose
    # derivative 1 - tanh(x)² rounds to zero) holds there without pinning
    # anything: its row is zero at the root and at every test point around it.
    # (An equation holding no unknown at all, as 0*x = 0, is an identity.)
    roots = sorted({i for i, _ in owners})
    _, jv = system.evaluate(np.concatenate([x[roots], tests]))
    zero = system.row_sums(np.abs(jv)) == 0
    zero &= np.bincount(system.rows, minlength=system.n_equations) > 0
    faded = dict(zip(roots, zero[: len(roots)]))
    for (i, _), row in zip(owners, zero[len(roots):]):
        faded[i] = faded[i] & row
    for (i, h), test, point, f in zip(owners, tests, back.x, back.f):
        # The test stepped h along a unit vector. On a curve of solutions
        # polishing brings it back to the curve right beside it; to another
        # root nearby (the other root of (x-1)(x-1.001)) it has to travel.
        moved = np.linalg.norm(point - x[i])
        beside = np.linalg.norm(point - test) <= 0.1 * h
        level = 1e3 * max(verdicts[i].residual, 1e-12)
        stays_root = np.isfinite(f).all() and np.abs(f).max() <= level
        stays_root &= bool(beside)
        if stays_root and moved >= 0.3 * h and faded[i].any():
            # the equation holds only because it has faded: not a root
            verdicts[i].kind, verdicts[i].dimension = "moving", 0
        elif stays_root and moved >= 0.3 * h and verdicts[i].kind == "root":
            verdicts[i].dimension += 1
    if nullity is not None:
        for i in {i for i, _ in owners}:
            tested = len(weak(i))
            if verdicts[i].dimension == tested == WEAK_LIMIT < nullity[i]:
                verdicts[i].dimension = int(nullity[i])


#: Where between two points the landscape is looked at, as fractions of the
#: way; uneven, so that the middle root of three equally spaced ones does not
#: join the outer two.
_BETWEEN = (0.29, 0.5, 0.73)
#: Most distinct points compared pairwise when merging connected ones.
MERGE_PAIRS_LIMIT = 400
#: Valley floor points merged into one are a flat floor when they lie farther
#: apart than this, relative to their size.
FLAT_SPREAD = 1e-5
#: Most pairs of valley floors looked at for a curved floor joining them.
CURVED_PAIRS_LIMIT = 2000


def _floor_between(system, a, b, height, level) -> np.ndarray:
    """Tell, for each pair of valley floors of one height, whether the floor
    curves from one to the other: the point halfway, polished, falls back
    to the same height close beside where it was (not all the way down to
    one of the two, as between two separate floors)."""
    halfway = (a + b) / 2
    free = np.full(system.n_unknowns, np.inf)
    back = polish(system, halfway, -free, free)
    fallen = np.einsum("ij,ij->i", back.f, back.f)
    moved = np.linalg.norm(back.x - halfway, axis=1)
    beside = moved <= 0.4 * np.linalg.norm(a - b, axis=1)
    return (np.abs(fallen - height) <= level) & beside


def merge_connected(
    system: System, items: list[tuple[int, np.ndarray, Verdict]], tol: float
) -> list[tuple[int, np.ndarray, Verdict]]:
    """Merge distinct points that lie in one flat stretch of the landscape.

    Near a singular root every point within rounding of it passes as a root,
    and a least-squares minimum may be a whole line of points: grouping by
    distance then lists one "solution" per start. Two isolated roots with
    roots at several places between them, or two valley floors of the same
    height with equally low ground between them (along a straight line, or
    a curve: see :func:`_floor_between`), are taken to be one.
    Distinct roots or minima have higher ground between them. "Roots between"
    means within the tolerance and also no higher than ten times the two
    roots' own residuals (or rounding of the equations' terms): equations whose
    values are all tiny, such as ``x² = 1e-10``, pass the tolerance
    everywhere, yet their roots ``±1e-5`` are distinct.

    Args:
        system: The system as written.
        items: ``(starts, point, verdict)`` per distinct point.
        tol: The root tolerance.

    Returns:
        The merged items; a merged valley floor is marked ``flat``.
    """
    count = len(items)
    if count > MERGE_PAIRS_LIMIT:
        # Too many for every pair: merge runs of points of like kind and
        # height, then, if few are left, what is left of them.
        ordered = sorted(items, key=lambda item: (item[2].kind, item[2].objective))
        runs = [ordered[k:k + MERGE_PAIRS_LIMIT]
                for k in range(0, count, MERGE_PAIRS_LIMIT)]
        merged = [item for run in runs for item in merge_connected(system, run, tol)]
        if len(merged) <= MERGE_PAIRS_LIMIT:
            return merge_connected(system, merged, tol)
        return merged
    if count < 2:
        return items
    points = np.array([x for _, x, _ in items])
    i, j = np.triu_indices(count, 1)
    kind = np.array([v.kind for _, _, v in items])
    isolated = np.array([v.dimension == 0 for _, _, v in items])
    height = np.array([v.objective for _, _, v in items])
    residual = np.array([v.residual for _, _, v in items])
    own = 10.0 * np.maximum(residual[i], residual[j])[:, None]
    level = np.maximum(height[i], height[j]) * 1e-6 + 1e-300
    roots = (kind[i] == "root") & (kind[j] == "root") & isolated[i] & isolated[j]
    floors = (kind[i] != "root") & (kind[j] != "root")
    floors &= np.abs(height[i] - height[j]) <= level
    straight = floors.copy()  # the floor runs straight from one to the other
    for t in _BETWEEN:  # several places, so equally spaced roots stay apart
        between = points[i] + t * (points[j] - points[i])
        f, jv = system.evaluate(between)
        scale = system.row_sums(np.abs(jv) * np.abs(between)[:, system.cols])
        low = np.abs(f) <= tol * np.maximum(1.0, scale)
        low &= np.abs(f) <= np.maximum(own, 1e-13 * scale)
        roots &= low.all(axis=1)
        straight &= np.abs(np.einsum("ij,ij->i", f, f) - height[i]) <= level
    joined = roots | straight
    curved = floors & ~straight
    if 0 < np.count_nonzero(curved) <= CURVED_PAIRS_LIMIT:
        joined[curved] = _floor_between(system, points[i[curved]], points[j[curved]],
                                        height[i[curved]], level[curved])

    parent = list(range(count))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in zip(i[joined], j[joined]):
        parent[find(a)] = find(b)
    merged: dict[int, list[int]] = {}
    for a in range(count):
        merged.setdefault(find(a), []).append(a)
    out = []
    for members in merged.values():
        best = min(members, key=lambda m: (items[m][2].residual, -items[m][0]))
        verdict = items[best][2]
        # copies of one isolated floor differ in their last digits, or as far
        # as their estimated distance to its lowest point (polishing closes
        # in on a floor above zero slowly); a flat floor spreads wider
        size = 1.0 + np.abs(points[best]).max()
        errors = np.array([items[m][2].error for m in members])
        reach = np.fmax.reduce(errors, initial=0.0)  # NaN: not known
        spread = np.abs(points[members] - points[best]).max()
        wide = spread > max(FLAT_SPREAD * size, 10.0 * min(reach, 1e-3 * size))
        verdict.flat = verdict.flat or (verdict.kind != "root" and bool(wide))
        out.append((sum(items[m][0] for m in members), items[best][1], verdict))
    return out
