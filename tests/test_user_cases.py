"""Systems that tripped other solvers, as users reported them, with the right answers.

Each test names the kind of fault. The systems are restated here; where a fault
is about syntax, a second system of the same kind with other numbers checks
that the whole kind is handled, not the one input.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdsolve import solve

from conftest import same_points

#: name -> (equations, unknowns, every real root (or a sample when not complete), complete)
CASES = {
    "log_domain_is_respected_during_descent": (
        ["w^2 = log(w + 1)"],
        ["w"],
        [(0.0,), (0.7468817423085287,)],
        True,
    ),
    "flat_high_power_residual": (["(1 - q)^30 = 1"], ["q"], [(0.0,), (2.0,)], True),
    "stationary_start_is_not_taken_for_a_root": (
        ["(s - 1)^2 = 1"],
        ["s"],
        [(0.0,), (2.0,)],
        True,
    ),
    "periodic_trigonometric_system": (
        ["sin(a) + (b - a)*cos(a) = 0", "-1.5*(b - a)*sin(1.5*a) + cos(1.5*a) = 2"],
        ["a", "b"],
        [
            (0.8778867858478986, -0.3265851467233766),
            (-0.8778867858478986, 0.3265851467233766),
            (4.359625107147002, 1.6434429006627207),
            (-4.359625107147002, -1.6434429006627207),
        ],
        False,
    ),
    "names_that_are_special_in_sympy_or_python": (
        ["beta + gamma + lambda = 6", "beta - gamma = 1", "beta*lambda = 6"],
        ["beta", "gamma", "lambda"],
        [(2.0, 1.0, 3.0), (1.5, 0.5, 4.0)],
        True,
    ),
    "special_names_with_other_values": (
        ["E + I = 5", "E*I = 6", "lambda_ = zeta + 1", "zeta = E"],
        ["E", "I", "zeta", "lambda_"],
        [(2.0, 3.0, 2.0, 3.0), (3.0, 2.0, 3.0, 4.0)],
        True,
    ),
    "implicit_multiplication_and_caret": (
        ["p^2+q^2+6p-14q=-38", "q=-2p+9"],
        ["p", "q"],
        [(1.4, 6.2), (-1.0, 11.0)],
        True,
    ),
    "implicit_multiplication_with_other_numbers": (
        ["2u^2 + 3(v - 1) = 5", "v = 2u"],
        ["u", "v"],
        [(1.0, 2.0), (-4.0, -8.0)],
        True,
    ),
    "double_equals_and_unicode_minus": (
        ["g*k == 2", "g \u2212 k == \u22121"],
        ["g", "k"],
        [(1.0, 2.0), (-2.0, -1.0)],
        True,
    ),
    "unicode_minus_with_other_values": (
        ["m \u2212 n == 4", "m*n = \u22123"],
        ["m", "n"],
        [(1.0, -3.0), (3.0, -1.0)],
        True,
    ),
    "power_on_both_sides": (
        ["z^2 = 2^z"],
        ["z"],
        [(-0.766664695962123,), (2.0,), (4.0,)],
        True,
    ),
    "line_crossing_circle_twice": (
        ["s^2 + t^2 = 1", "135*s + 226*t = -3.075"],
        ["s", "t"],
        [
            (0.8524480721207746, -0.5228119014880732),
            (-0.8644284187247196, 0.5027559138399874),
        ],
        True,
    ),
    "line_through_circle_from_a_singular_start": (
        ["s^2 + t^2 = 1", "s + t = 1"],
        ["s", "t"],
        [(1.0, 0.0), (0.0, 1.0)],
        True,
    ),
    "root_on_the_edge_of_the_sqrt_domain": (
        ["2*sqrt(v + 5) = 0"],
        ["v"],
        [(-5.0,)],
        True,
    ),
    "rosenbrock_stationarity_conditions": (
        ["-2*(1 - p) - 400*p*(q - p^2) = 0", "200*(q - p^2) = 0"],
        ["p", "q"],
        [(1.0, 1.0)],
        True,
    ),
    "unevenly_scaled_tutorial_system": (
        [
            "3*a - cos(b*c) = 3/2",
            "4*a^2 - 625*b^2 + 2*b = 1",
            "exp(-a*b) + 20*c = -(10*pi - 3)/3",
        ],
        ["a", "b", "c"],
        [
            (0.8332099653239772, -0.05174499617037359, -0.525801644432757),
            (0.8331965818634386, 0.05494365830897871, -0.5213614343781646),
        ],
        True,
    ),
    "double_roots": (
        ["(y^2 - 2)^2 = 0"],
        ["y"],
        [(-math.sqrt(2),), (math.sqrt(2),)],
        True,
    ),
    "double_root_with_a_large_coefficient": (
        ["4567*(y - 1)^2 = 0"],
        ["y"],
        [(1.0,)],
        True,
    ),
    "false_root_at_minus_infinity": (["2^s + 3^s = 5^s"], ["s"], [(1.0,)], True),
}

#: Looser agreement for double roots, whose accuracy is limited by nature.
TOLERANCE = {"double_roots": 1e-6, "double_root_with_a_large_coefficient": 1e-6}
#: At the edge of the sqrt domain an error of 1e-14 in v leaves a residual of
#: 2·sqrt(1e-14) = 2e-7: the point is exact to rounding, the residual cannot be.
RESIDUAL = {"root_on_the_edge_of_the_sqrt_domain": 1e-6}


@pytest.mark.parametrize("name", sorted(CASES))
def test_user_reported_system(name):
    equations, unknowns, roots, complete = CASES[name]
    result = solve(equations, variables=unknowns, seed=2024)
    assert result.status == "solved"
    got = [r.x for r in result.roots]
    tol = TOLERANCE.get(name, 1e-9)
    if complete:
        assert same_points(got, roots, tol)
    else:
        assert all(any(np.allclose(g, r, atol=tol) for g in got) for r in roots[:2])
    for root in result.roots:
        assert root.residual <= RESIDUAL.get(name, 1e-10)


def test_periodic_roots_beyond_the_listed_ones_are_true_shifts():
    equations, unknowns, listed, _ = CASES["periodic_trigonometric_system"]
    result = solve(equations, variables=unknowns, seed=2024)
    for a, b in (r.x for r in result.roots):
        shifts = [
            (a - la) / (4 * math.pi)
            for la, lb in listed
            if abs((a - la) - (b - lb)) < 1e-8
        ]
        assert any(abs(k - round(k)) < 1e-8 for k in shifts)


def test_inconsistent_linear_system_reports_its_least_squares_minimum():
    result = solve(
        [
            "6*a + 12*b + 12*c = -2",
            "d + f + 2*g/3 + k = 1",
            "2*d + 2*f + 4*g/3 + 2*m = -2",
            "d + 2*f + 2*g + k = 1",
            "2*d + 4*f + 4*g + 2*m = -3",
        ],
        variables=["a", "b", "c", "d", "f", "g", "k", "m"],
        seed=5,
    )
    assert result.status == "no-root-found"
    assert result.exit_code == 1
    assert result.roots == []
    assert result.best.objective == pytest.approx(0.1, abs=1e-9)
    assert "valley floor above zero" in result.message


def test_another_inconsistent_system():
    result = solve(["x + y = 1", "x + y = 3", "x - y = 0"], seed=5)
    assert result.status == "no-root-found"
    assert result.best.objective == pytest.approx(2.0, abs=1e-9)
    assert result.best.x == pytest.approx([1.0, 1.0], abs=1e-9)


def test_underdetermined_linear_system_is_a_plane_not_many_roots():
    equations = [
        "a + 2*b + 4*c + d - f = 1",
        "2*a + 4*b + 8*c + 3*d - 4*f = 2",
        "a + 3*b + 7*c + 3*f = -2",
    ]
    result = solve(equations, variables=["a", "b", "c", "d", "f"], seed=5)
    assert result.status == "not-isolated"
    assert result.dimension == 2
    for s in result.solutions:
        a, b, c, d, f = s.x
        # every sample lies on the two-parameter family c = s, f = t, d = 2t
        assert d == pytest.approx(2 * f, abs=1e-8)
        assert a == pytest.approx(2 * c + 3 * f + 7, abs=1e-8)
        assert b == pytest.approx(-3 * c - 2 * f - 3, abs=1e-8)


def test_far_start_in_the_flat_tail_does_not_stop_the_search():
    result = solve(["2^s + 3^s = 5^s"], start_points=[{"s": -53.5}], starts=0, seed=1)
    assert result.roots == []
    assert result.status == "no-root-found"
