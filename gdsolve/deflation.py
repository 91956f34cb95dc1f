"""Deflation: a system whose known roots repel the descent.

Once roots ``r₁ … r_k`` are known, the starts of a new round descend on

    F̃(x) = M(x) · F(x),   M(x) = Πⱼ (1 / ‖(x − rⱼ) / u‖² + 1),

where ``u`` is :data:`REACH` times the width of the search box per unknown:
the distance within which a known root repels. ``F̃`` has the same
roots as ``F`` except the known ones, near which it grows without bound, so a
start that would have slid into a known root's basin is pushed elsewhere.
End points are then polished on the original ``F``.

Reference: Farrell, Birkisson and Funke (2015), "Deflation techniques for
finding distinct solutions of nonlinear partial differential equations".

The deflated Jacobian ``M·J + F·∇Mᵀ`` is dense, so this is meant for systems of
up to a few hundred unknowns.
"""

from __future__ import annotations

import numpy as np

from gdsolve.system import EntrySums, System

#: How far a known root repels, as a fraction of the search box's width. With
#: the whole width, every known root repels everywhere and their product
#: flattens the landscape; a fiftieth leaves the other basins as they were.
REACH = 0.02
#: Most floats of offsets from the known roots held at once.
PART_FLOATS = 4_000_000


class DeflatedSystem:
    """A :class:`~gdsolve.system.System` look-alike that repels known roots.

    It offers what the descent uses: ``residuals``, ``evaluate``, ``jt_times``,
    ``column_norms2``, the sizes and the pattern of its (dense) Jacobian.

    Args:
        system: The original system.
        roots: Known roots, shape ``(k, unknowns)``.
        width: Width of the search box per unknown, which sets the distance
            a known root repels over.
    """

    def __init__(self, system: System, roots: np.ndarray, width: np.ndarray) -> None:
        self.system = system
        self.roots = np.asarray(roots, dtype=float).reshape(-1, system.n_unknowns)
        self.unit = width * REACH
        self.n_equations, self.n_unknowns = system.n_equations, system.n_unknowns
        self.rows = np.repeat(np.arange(self.n_equations), self.n_unknowns)
        self.cols = np.tile(np.arange(self.n_unknowns), self.n_equations)
        self.nnz = len(self.rows)
        self.sums = EntrySums(self.rows, self.cols, self.n_equations, self.n_unknowns)

    def _factor(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``M(x)`` and ``∇M(x)`` for each point, a few points at a
        time: each holds its offset from every known root."""
        size = max(1, PART_FLOATS // max(1, self.roots.size))
        if len(x) <= size:
            return self._factor_part(x)
        parts = [self._factor_part(x[i : i + size]) for i in range(0, len(x), size)]
        return (np.concatenate([p[0] for p in parts]),
                np.concatenate([p[1] for p in parts]))

    def _factor_part(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        diff = (x[:, None, :] - self.roots[None]) / self.unit
        dist2 = np.maximum(np.einsum("skn,skn->sk", diff, diff), 1e-300)
        terms = 1.0 / dist2 + 1.0
        factor = np.prod(terms, axis=1)
        # d/dx log(1/d² + 1) = −2·diff / (w·d⁴·(1/d² + 1))
        dlog = -2.0 * diff / (self.unit * (dist2**2 * terms)[..., None])
        return factor, factor[:, None] * dlog.sum(axis=1)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Evaluate the deflated residuals at each row of ``x``."""
        factor, _ = self._factor(x)
        with np.errstate(all="ignore"):
            return self.system.residuals(x) * factor[:, None]

    def evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate deflated residuals and the dense deflated Jacobian (flattened)."""
        f, jv = self.system.evaluate(x)
        factor, grad = self._factor(x)
        with np.errstate(all="ignore"):
            jac = self.system.dense(jv) * factor[:, None, None]
            jac += f[:, :, None] * grad[:, None, :]
            return f * factor[:, None], jac.reshape(len(x), -1)

    def jt_times(self, jac: np.ndarray, f: np.ndarray) -> np.ndarray:
        """Return Jᵀf for each start."""
        return (self.dense(jac).transpose(0, 2, 1) @ f[..., None])[..., 0]

    def column_norms2(self, jac: np.ndarray) -> np.ndarray:
        """Return the squared norm of each Jacobian column, for each start."""
        dense = self.dense(jac)
        return np.einsum("smn,smn->sn", dense, dense)

    def dense(self, jac: np.ndarray) -> np.ndarray:
        """Return the dense Jacobian, shape ``(starts, equations, unknowns)``."""
        return jac.reshape(len(jac), self.n_equations, self.n_unknowns)


def missed_root_estimate(counts: list[int]) -> tuple[float, float]:
    """Estimate what a search may have missed from how often each root was hit.

    Args:
        counts: For each root found, how many starts reached it.

    Returns:
        ``(unseen, chance)``: the estimated number of roots not yet found
        (Chao's estimator, from the roots reached by exactly one and exactly
        two starts) and the chance that one more start would reach a new root
        (Good-Turing: the share of starts that found a root nobody else found).
        Both assume starts are independent draws; deflation rounds make roots
        easier to reach than that, so the figures err on the cautious side.
        Both are NaN when no start reached a root.
    """
    total = sum(counts)
    if total == 0:  # nothing to go by
        return float("nan"), float("nan")
    once = sum(1 for c in counts if c == 1)
    twice = sum(1 for c in counts if c == 2)
    unseen = once * once / (2 * twice) if twice else once * (once - 1) / 2
    return float(unseen), once / total
