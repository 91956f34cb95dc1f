"""Large sparse systems are polished and classified without dense Jacobians."""

import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import root as scipy_root

from gdsolve import refine, solve, sparse
from gdsolve.api import prepare
from gdsolve.system import System

N = 250
NAMES = [f"x{i}" for i in range(1, N + 1)]
CHAIN = [f"x{i + 1} - x{i}" for i in range(1, N)]


def broyden(n: int) -> list[str]:
    """Broyden's tridiagonal system, (3 - 2xᵢ)xᵢ - xᵢ₋₁ - 2xᵢ₊₁ + 1 = 0."""
    equations = []
    for i in range(1, n + 1):
        left = f" - x{i - 1}" if i > 1 else ""
        right = f" - 2*x{i + 1}" if i < n else ""
        equations.append(f"(3 - 2*x{i})*x{i}{left}{right} + 1")
    return equations


def broyden_residuals(x: np.ndarray) -> np.ndarray:
    padded = np.concatenate([[0.0], x, [0.0]])
    return (3 - 2 * x) * x - padded[:-2] - 2 * padded[2:] + 1


@pytest.fixture
def no_dense(monkeypatch):
    """Make building a dense Jacobian an error."""

    def refuse(self, jac):
        raise AssertionError("a dense Jacobian was built")

    monkeypatch.setattr(System, "dense", refuse)


def test_large_sparse_system_is_solved_without_dense_jacobians(no_dense):
    result = solve(
        broyden(N),
        variables=NAMES,
        start_points=[{v: -1.0 for v in NAMES}],
        starts=2,
        max_iter=50,
        seed=1,
    )

    assert result.status == "solved"
    assert len(result.roots) == 1
    x = np.array(result.roots[0].x)
    assert np.abs(broyden_residuals(x)).max() <= 1e-10
    start = np.full(N, -1.0)
    reference = scipy_root(broyden_residuals, start, method="hybr", tol=1e-14).x
    assert x == pytest.approx(reference, abs=1e-9)
    assert result.roots[0].error < 1e-12


def test_sparse_polishing_and_classification_match_the_dense_ones(monkeypatch):
    system = prepare(broyden(N), variables=NAMES)
    rng = np.random.default_rng(3)
    points = -0.57 + 0.05 * rng.standard_normal((3, N))
    lower, upper, width = np.full(N, -np.inf), np.full(N, np.inf), np.full(N, 20.0)

    fast = refine.polish(system, points, lower, upper)
    fast_verdicts = refine.classify(system, fast.x, 1e-10, lower, upper, width)
    monkeypatch.setattr(sparse, "SPARSE_FROM", 10**9)
    slow = refine.polish(system, points, lower, upper)
    slow_verdicts = refine.classify(system, slow.x, 1e-10, lower, upper, width)

    assert fast.x == pytest.approx(slow.x, abs=1e-12)
    assert [v.kind for v in fast_verdicts] == ["root"] * 3
    assert [v.kind for v in slow_verdicts] == ["root"] * 3
    assert [v.dimension for v in fast_verdicts] == [0, 0, 0]


def test_large_least_squares_floor_is_found_with_its_height(no_dense):
    # x1 = 1, x250 = 3 and every neighbour equal: the mismatch of 2 is shared
    # equally by the 251 equations, so each residual is 2/251.
    result = solve(
        ["x1 - 1"] + CHAIN + [f"x{N} - 3"],
        variables=NAMES,
        starts=2,
        max_iter=50,
        seed=1,
    )

    assert result.status == "no-root-found"
    assert result.reason == "valley-floor"
    assert [s.kind for s in result.solutions] == ["local-minimum"]
    step = 2 / (N + 1)
    assert result.best.objective == pytest.approx(4 / (N + 1), rel=1e-9)
    assert result.best.x == pytest.approx(1 + step * np.arange(1, N + 1), abs=1e-6)


@pytest.mark.parametrize("n", [30, N])
def test_a_line_of_solutions_through_many_unknowns_is_not_isolated(n):
    names = [f"y{i}" for i in range(1, n + 1)]
    chain = [f"y{i + 1} - y{i}" for i in range(1, n)]

    result = solve(chain, variables=names, starts=3, max_iter=50, seed=1)

    assert result.status == "not-isolated"
    assert result.dimension == 1
    for r in result.roots:
        assert np.ptp(r.x) <= 1e-9  # every unknown equal


def test_large_double_root_is_isolated_and_reports_its_accuracy(no_dense):
    result = solve(
        ["(x1 - 1)^2"] + CHAIN, variables=NAMES, starts=2, max_iter=50, seed=1
    )

    assert result.status == "solved"
    assert result.dimension == 0
    (found,) = result.roots
    distance = np.abs(np.array(found.x) - 1).max()
    assert distance <= 1e-6
    assert found.error >= 0.1 * distance  # no claim of more accuracy than reached


def test_small_systems_do_not_import_scipy():
    code = (
        "import sys\n"
        "from gdsolve import solve\n"
        "solve(['x^2 + y^2 = 4', 'x*y = 1'], seed=1)\n"
        "print('scipy' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_polishing_batches_of_a_wide_system_hold_their_normal_matrices_in_budget():
    # one equation in 600 unknowns: each point's JᵀJ is 600 × 600, 600 times
    # its Jacobian, and the damped solve copies it
    from gdsolve.refine import DENSE_BUDGET, chunks

    system = prepare(["+".join(f"x{i}" for i in range(600)) + " = 1"])
    size = chunks(system, 512)
    assert size == DENSE_BUDGET // (600 * (1 + 3 * 600)) == 29
