"""Sparse linear algebra for the polishing and classification of large systems.

A system with many unknowns and few Jacobian entries per equation (a banded or
otherwise sparse Jacobian) is never made dense: the Gauss-Newton matrix
``JᵀJ`` is summed straight from the nonzero entries, the Levenberg-Marquardt
equations of every start are factorised together as one block-diagonal sparse
matrix (SciPy's SuperLU), and the nearly null directions of ``J`` at a root are
the smallest eigenvalues of ``JᵀJ`` found by shift-invert Lanczos (ARPACK).
The work then grows with the nonzeros and their fill-in, not with n³.

SciPy is imported only when a large system is polished, so small systems never
pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: From this many unknowns on, a sparse Jacobian is never made dense.
SPARSE_FROM = 200
#: ... provided at most this share of the Jacobian's entries are nonzero.
SPARSE_DENSITY = 0.05


def is_sparse(system) -> bool:
    """Say whether ``system`` is large and sparse enough for sparse algebra."""
    n, m = system.n_unknowns, system.n_equations
    return n >= SPARSE_FROM and len(system.rows) <= SPARSE_DENSITY * m * n


@dataclass(frozen=True)
class Gram:
    """Where each product of two Jacobian entries lands in ``JᵀJ``.

    ``JᵀJ`` is stored column by column (CSC) with the pattern ``indptr``,
    ``indices``; every diagonal entry is present. Entry ``t`` of the data is the
    sum of ``jac[first] * jac[second]`` over the pairs whose ``target`` is
    ``t``; the pairs are sorted by target and ``segments`` marks where each
    present target's pairs begin.

    Attributes:
        n: Number of unknowns.
        indptr: CSC column pointers, length ``n + 1``.
        indices: CSC row index of each stored entry.
        first: Jacobian entry of the left factor of each pair.
        second: Jacobian entry of the right factor of each pair.
        segments: Index of the first pair of each target that has pairs.
        filled: The targets that have pairs, one per segment.
        diagonal: Position of each diagonal entry ``(j, j)`` in the data.
    """

    n: int
    indptr: np.ndarray
    indices: np.ndarray
    first: np.ndarray
    second: np.ndarray
    segments: np.ndarray
    filled: np.ndarray
    diagonal: np.ndarray

    @property
    def size(self) -> int:
        """Number of stored entries of ``JᵀJ``."""
        return len(self.indices)

    def values(self, jac: np.ndarray) -> np.ndarray:
        """Return the stored entries of ``JᵀJ`` for each start, ``(starts, size)``."""
        out = np.zeros((len(jac), self.size))
        if len(self.first):
            products = jac[:, self.first] * jac[:, self.second]
            out[:, self.filled] = np.add.reduceat(products, self.segments, axis=1)
        return out


def gram_pattern(rows: np.ndarray, cols: np.ndarray, n: int) -> Gram:
    """Find the pattern of ``JᵀJ`` and which entry products sum into it.

    Two entries of the Jacobian in the same row ``i`` give the term
    ``J[i, a]·J[i, b]`` of ``(JᵀJ)[a, b]``; there are ``Σᵢ (entries in row i)²``
    such pairs.
    """
    order = np.argsort(rows, kind="stable")
    by_row = rows[order]
    counts = np.bincount(by_row, minlength=int(rows.max(initial=-1)) + 1)
    row_start = np.cumsum(counts) - counts
    partners = counts[by_row]
    left = np.repeat(np.arange(len(order)), partners)
    offset = np.arange(len(left)) - np.repeat(np.cumsum(partners) - partners, partners)
    right = row_start[by_row[left]] + offset
    first, second = order[left], order[right]

    keys = cols[second].astype(np.int64) * n + cols[first]  # column-major
    diagonal_keys = np.arange(n, dtype=np.int64) * (n + 1)
    stored, where = np.unique(
        np.concatenate([keys, diagonal_keys]), return_inverse=True
    )
    target, diagonal = where[: len(keys)], where[len(keys) :]
    by_target = np.argsort(target, kind="stable")
    first, second, target = first[by_target], second[by_target], target[by_target]
    segments = np.flatnonzero(np.diff(target, prepend=-1))  # where a target begins
    return Gram(
        n=n,
        indptr=np.searchsorted(stored // n, np.arange(n + 1)),
        indices=(stored % n).astype(np.int32),
        first=first,
        second=second,
        segments=segments,
        filled=target[segments],
        diagonal=diagonal,
    )


def _block_diagonal(gram: Gram, data: np.ndarray):
    """Return the block-diagonal CSC matrix with one ``n×n`` block per row of ``data``."""
    from scipy.sparse import csc_matrix

    count, n, size = len(data), gram.n, gram.size
    blocks = np.arange(count)
    indices = (gram.indices[None, :] + n * blocks[:, None]).ravel()
    indptr = np.append(
        (gram.indptr[None, :-1] + size * blocks[:, None]).ravel(), count * size
    )
    return csc_matrix((data.ravel(), indices, indptr), shape=(count * n, count * n))


def solve_damped(
    gram: Gram, jac: np.ndarray, g: np.ndarray, damping: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """Solve ``(JᵀJ + λ·diag(scale)) δ = −g`` for every start at once.

    The systems of all starts are factorised together as one block-diagonal
    matrix. When that factorisation fails (an exactly singular block) each
    start is solved alone, and a start whose matrix is singular gets a ``nan``
    step, which the caller rejects as it would any failed step.

    Args:
        gram: The pattern of ``JᵀJ``.
        jac: The Jacobian's nonzero entries per start, ``(starts, nnz)``.
        g: ``Jᵀf`` per start, ``(starts, unknowns)``.
        damping: λ per start.
        scale: The damping's diagonal per start, ``(starts, unknowns)``.
    """
    from scipy.sparse.linalg import splu

    data = gram.values(jac)
    data[:, gram.diagonal] += damping[:, None] * scale
    try:
        return -splu(_block_diagonal(gram, data)).solve(g.ravel()).reshape(g.shape)
    except RuntimeError:  # a singular block; find which
        pass
    out = np.full(g.shape, np.nan)
    for s in range(len(g)):
        try:
            out[s] = -splu(_block_diagonal(gram, data[s : s + 1])).solve(g[s])
        except RuntimeError:
            continue
    return out


def newton_step(
    rows: np.ndarray, cols: np.ndarray, n: int, jac: np.ndarray, f: np.ndarray
) -> np.ndarray:
    """Solve ``J δ = −f`` for every start of a square system at once.

    Nearly singular Jacobians give the long steps they should (a double root
    is that far from where the iteration would settle). A start whose
    Jacobian is exactly singular or not finite gets a ``nan`` step.

    Args:
        rows: Equation index of each nonzero entry.
        cols: Unknown index of each nonzero entry.
        n: Number of unknowns (and equations).
        jac: The nonzero entries per start, ``(starts, nnz)``.
        f: The residuals per start, ``(starts, n)``.
    """
    from scipy.sparse import csc_matrix
    from scipy.sparse.linalg import splu

    out = np.full(f.shape, np.nan)
    good = np.flatnonzero(np.isfinite(jac).all(axis=1) & np.isfinite(f).all(axis=1))

    def solve(chosen: np.ndarray) -> np.ndarray:
        shift = n * np.arange(len(chosen))[:, None]
        where = ((rows[None] + shift).ravel(), (cols[None] + shift).ravel())
        matrix = csc_matrix((jac[chosen].ravel(), where), shape=(n * len(chosen),) * 2)
        return -splu(matrix).solve(f[chosen].ravel()).reshape(len(chosen), n)

    try:
        out[good] = solve(good)
    except RuntimeError:  # an exactly singular Jacobian; find which
        for s in good:
            try:
                out[s] = solve(np.array([s]))[0]
            except RuntimeError:
                continue
    return out


#: Most nearly null directions looked at per root.
WEAK_LIMIT = 8


def weak_directions(
    gram: Gram, jac: np.ndarray, relative: float, limit: int = WEAK_LIMIT
) -> np.ndarray:
    """Return the directions along which ``J`` is nearly singular.

    A direction is weak when its singular value is at most ``relative`` times
    the largest singular value (or times one, if that is smaller). The largest
    is bounded from above by the largest absolute row sum of ``JᵀJ``, so no
    weak direction is missed for want of an exact figure. The smallest
    eigenvalues of ``JᵀJ`` (squared singular values) come from shift-invert
    Lanczos just below zero.

    Args:
        gram: The pattern of ``JᵀJ``.
        jac: The Jacobian's nonzero entries at one point, ``(nnz,)``.
        relative: The share of the largest singular value below which a
            direction is weak.
        limit: Most directions returned, the weakest first.

    Returns:
        The weak directions as rows of unit length, shape ``(k, unknowns)``.
    """
    from scipy.sparse.linalg import ArpackNoConvergence, eigsh

    a = _block_diagonal(gram, gram.values(jac[None]))
    top = float(abs(a).sum(axis=0).max()) if a.nnz else 0.0
    level = (relative * max(np.sqrt(top), 1.0)) ** 2
    k = min(limit, gram.n - 1)
    if top == 0.0 or k < 1:  # nothing varies: every direction is weak
        return np.eye(gram.n)[:limit]
    try:
        values, vectors = eigsh(a, k=k, sigma=-1e-12 * top, which="LM")
    except ArpackNoConvergence as exc:  # keep what converged
        values, vectors = exc.eigenvalues, exc.eigenvectors
    order = np.argsort(values)
    values, vectors = values[order], vectors[:, order]
    return vectors[:, values <= level].T
