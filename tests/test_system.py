"""Compiled residuals and Jacobians: values, both symbolic backends, limits."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from gdsolve.api import prepare
from gdsolve.errors import SetupError
from gdsolve.parsing import parse_system
from gdsolve.system import build_system, equation_weights, numpy_code

SYSTEMS = [
    ["x^2 + y^2 = 4", "x*y = 1"],
    ["sin(x) + cos(x*y) = exp(-y)", "atan(x) - y*log(1 + x^2) = tanh(y)"],
    ["sqrt(x^2 + 1) + asinh(y) = 2", "atan2(y, x) = 0.5", "x^3 - y^(-2) = 1"],
    ["abs(x - 1) + cbrt(y) = 3", "x*y = 2"],
]


def numeric_jacobian(system, x, h=1e-6):
    cols = []
    for j in range(x.shape[1]):
        step = np.zeros_like(x)
        step[:, j] = h
        cols.append((system.residuals(x + step) - system.residuals(x - step)) / (2 * h))
    return np.stack(cols, axis=2)


@pytest.mark.parametrize("equations", SYSTEMS)
def test_jacobian_matches_finite_differences(equations):
    system = prepare(equations)
    x = np.random.default_rng(0).uniform(0.3, 2.0, (7, system.n_unknowns))
    f, jac = system.evaluate(x)
    assert f == pytest.approx(system.residuals(x))
    assert system.dense(jac) == pytest.approx(
        numeric_jacobian(system, x), rel=1e-5, abs=1e-6
    )


@pytest.mark.parametrize("equations", SYSTEMS[:3])
def test_symengine_and_sympy_compile_the_same_functions(equations):
    parsed = parse_system(equations)
    fast = build_system(parsed, timeout=None, backend="symengine")
    reference = build_system(parsed, timeout=None, backend="sympy")
    x = np.random.default_rng(1).uniform(0.3, 2.0, (5, len(parsed.names)))
    f1, j1 = fast.evaluate(x)
    f2, j2 = reference.evaluate(x)
    assert f1 == pytest.approx(f2, rel=1e-13)
    assert fast.dense(j1) == pytest.approx(reference.dense(j2), rel=1e-12)


def test_constant_entries_broadcast_over_starts():
    system = prepare(["2*x + 3*y = 1", "x - y = 4"])
    f, jac = system.evaluate(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]]))
    assert f.tolist() == [[-1.0, -4.0], [4.0, -4.0], [0.0, -1.0]]
    assert system.dense(jac)[2].tolist() == [[2.0, 3.0], [1.0, -1.0]]


def test_gradient_is_twice_jacobian_transpose_times_residuals():
    system = prepare(["x^2 + y^2 = 4", "x*y = 1"])
    x = np.array([[1.0, 3.0]])
    f, jac = system.evaluate(x)
    assert (2 * system.jt_times(jac, f)).tolist() == [
        [2 * (6 * 2 + 2 * 3), 2 * (6 * 6 + 2 * 1)]
    ]


def test_jacobian_is_stored_sparse():
    names = [f"x{i}" for i in range(1, 51)]
    equations = [f"{a}^2 + {b} = 1" for a, b in zip(names, names[1:] + names[:1])]
    system = prepare(equations)
    assert system.nnz == 100
    assert system.n_unknowns == 50


def test_equations_of_very_different_scales_get_balancing_weights():
    system = prepare(["1e8*(x - 1) = 0", "1e-6*(y - 2) = 0"])
    weights = equation_weights(system, np.zeros((3, 2)))
    assert weights.tolist() == pytest.approx([1e-8, 1e6])


def test_unknown_node_types_never_reach_the_compiled_code():
    import sympy

    with pytest.raises(SetupError, match="cannot evaluate"):
        numpy_code(sympy.gamma(sympy.Symbol("v0")))


def test_slow_symbolic_work_is_stopped_by_the_time_limit():
    parsed = parse_system(["abs(cos(x^z)^1000) = 0"])
    began = time.perf_counter()
    with pytest.raises(SetupError, match="longer than 0.5 s"):
        build_system(parsed, timeout=0.5)
    assert time.perf_counter() - began < 3.0


def chain(n: int) -> list[str]:
    """A chain of n equations of three shapes: first, middle and last rows,
    with a middle row that holds its unknowns in scrambled order once."""
    eqs = [f"(3 - 2*u{i})*u{i} - {'u' + str(i - 1) if i else '0'} - "
           f"{'2*u' + str(i + 1) if i < n - 1 else '0'} + 1 = 0" for i in range(n)]
    eqs[n // 2] = f"exp(u{n // 2 + 1}) - u{n // 2 - 1}*u{n // 2} = 0"
    return eqs


@pytest.mark.parametrize("backend", ["sympy", "symengine"])
def test_equations_of_one_shape_are_evaluated_together_with_the_same_values(
    backend, monkeypatch
):
    parsed = parse_system(chain(120), variables=[f"u{i}" for i in range(120)])
    together = build_system(parsed, timeout=None, backend=backend)
    # the middle rows but the odd one out are one group: a list of indices
    assert "g0 = x[[0, 1, 2," in together.source
    monkeypatch.setattr("gdsolve.system._SHAPES_FROM", 10**9)
    alone = build_system(parsed, timeout=None, backend=backend)
    assert "g0" not in alone.source
    assert len(together.source) < len(alone.source) / 2
    assert (together.rows.tolist(), together.cols.tolist()) == (
        alone.rows.tolist(), alone.cols.tolist()
    )
    x = np.random.default_rng(2).uniform(-2.0, 2.0, (4, 120))
    f1, j1 = together.evaluate(x)
    f2, j2 = alone.evaluate(x)
    # the same arithmetic, up to the order of a few operations
    assert f1 == pytest.approx(f2, rel=1e-13, abs=1e-14)
    assert j1 == pytest.approx(j2, rel=1e-13, abs=1e-14)


def test_evenly_spaced_unknowns_of_a_group_are_a_slice():
    n = 150
    equations = [f"u{i}^2 + u{i + 1} = 1" for i in range(n - 1)] + [f"u{n - 1} = 1"]
    system = prepare(equations, variables=[f"u{i}" for i in range(n)])
    assert "g0 = x[0:149:1]" in system.source and "g1 = x[1:150:1]" in system.source
    x = np.full((1, n), 0.5)
    f, _ = system.evaluate(x)
    assert f[0].tolist() == [-0.25] * (n - 1) + [-0.5]


@pytest.mark.parametrize(
    "equations, lower, upper",
    [
        (["sqrt(x) + sqrt(y) = 0"], [0.0, 0.0], [math.inf, math.inf]),
        (["acos(2*x - 1) = y", "sqrt(5 - y) = x"], [0.0, -math.inf], [1.0, 5.0]),
        (["asin(x/4) + acosh(y + 1) = 1"], [-4.0, 0.0], [4.0, math.inf]),
        (["x^1.5 + y^(3/2) = 1"], [0.0, 0.0], [math.inf, math.inf]),
        # several unknowns under one root, open edges (log, 1/sqrt), an odd
        # root defined everywhere: no edge is taken
        (["sqrt(x + y) = 1", "log(x) = y"], [-math.inf] * 2, [math.inf] * 2),
        (["1/sqrt(x) = 2", "cbrt(y) = x^2"], [-math.inf] * 2, [math.inf] * 2),
        # a domain of one point has no inside to step along
        (["sqrt(x - 1) + sqrt(1 - x) = y"], [-math.inf] * 2, [math.inf] * 2),
    ],
)
def test_the_edges_of_the_domain_of_single_unknowns(equations, lower, upper):
    system = prepare(equations)
    assert system.domain[0].tolist() == lower
    assert system.domain[1].tolist() == upper


def test_an_edge_that_is_no_float_lies_just_inside_the_domain():
    (edge,) = prepare(["sqrt(3*x - 1) = 0"]).domain[0]
    assert 3 * edge - 1 >= 0 and edge == pytest.approx(1 / 3, rel=1e-15)
