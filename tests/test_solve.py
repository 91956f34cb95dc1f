"""Grouping, classification, bounds, shapes of systems and the result record."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdsolve import solve
from gdsolve.api import prepare
from gdsolve.refine import group, polish

from conftest import same_points


def test_same_seed_gives_the_same_result():
    first = solve(["x^2 + y^2 = 4", "x*y = 1"], seed=42).to_dict()
    again = solve(["x^2 + y^2 = 4", "x*y = 1"], seed=42).to_dict()
    first.pop("seconds"), again.pop("seconds")
    assert first == again


def test_without_a_seed_the_seed_used_is_recorded_and_replays():
    first = solve(["x^2 = 2"])
    again = solve(["x^2 = 2"], seed=first.seed)
    assert [s.to_dict() for s in first.solutions] == [
        s.to_dict() for s in again.solutions
    ]


def test_json_record_has_the_documented_fields():
    record = solve(["x^2 + y^2 = 4", "x*y = 1"], seed=1).to_dict()
    assert {
        "variables",
        "status",
        "solutions",
        "method",
        "settings",
        "seed",
        "iterations",
        "seconds",
    } <= set(record)
    assert record["variables"] == ["x", "y"]
    assert record["status"] == "solved"
    assert record["method"] == "gd" and record["settings"]["line_search"] is True
    first = record["solutions"][0]
    assert set(first) >= {"values", "residual", "kind", "starts"}
    assert first["kind"] == "root" and set(first["values"]) == {"x", "y"}


def test_grouping_merges_by_relative_distance_not_by_rounding():
    points = np.array(
        [[1e6, 1.0], [1e6 + 5e-4, 1.0], [1e6 + 0.5, 1.0], [0.0, 1e-9], [0.0, 0.0]]
    )
    groups = group(
        points, np.zeros_like(points), np.arange(5.0), width=np.full(2, 20.0)
    )
    members = sorted(sorted(g.tolist()) for g in groups)
    # near zero only the points' own accuracy merges them: roots of x² = 1e-20
    # are 2e-10 apart and distinct
    assert members == [[0, 1], [2], [3], [4]]
    error = np.zeros_like(points)
    error[3] = [0.0, 1e-9]  # a point known only to 1e-9 is the one at zero
    groups = group(points, error, np.arange(5.0), width=np.full(2, 20.0))
    assert sorted(sorted(g.tolist()) for g in groups) == [[0, 1], [2], [3, 4]]


def test_grouping_trusts_each_points_own_accuracy():
    points = np.array([[1.41421], [1.414215], [-1.41421]])
    error = np.array([[1e-5], [1e-5], [1e-5]])
    groups = group(points, error, np.zeros(3), width=np.full(1, 20.0))
    assert sorted(len(g) for g in groups) == [1, 2]


def test_double_roots_are_not_split_and_report_their_accuracy():
    result = solve(["(y^2 - 2)^2 = 0"], seed=3)
    assert same_points(
        [r.x for r in result.roots], [(-math.sqrt(2),), (math.sqrt(2),)], 1e-6
    )
    assert all(r.error < 1e-5 for r in result.roots)


def test_a_start_on_a_stationary_point_that_is_not_a_root_is_not_reported():
    result = solve(
        ["(s - 1)^2 = 1"], start_points=[{"s": 1.0}], starts=0, noise=0.0, seed=1
    )
    assert result.roots == []
    assert result.starts["saddle"] == 1
    assert result.status == "no-root-found"


def test_noise_kicks_a_start_off_a_stationary_point():
    result = solve(["(s - 1)^2 = 1"], start_points=[{"s": 1.0}], starts=0, seed=1)
    assert len(result.roots) == 1
    assert result.roots[0].x[0] in (pytest.approx(0.0, abs=1e-12), pytest.approx(2.0))


def test_roots_at_infinity_are_rejected():
    result = solve(["2^s + 3^s = 5^s"], start_points=[{"s": -60.0}], starts=0, seed=1)
    assert result.roots == []
    assert solve(["2^s + 3^s = 5^s"], seed=1).roots[0].x == pytest.approx([1.0])


def test_bounds_keep_the_search_inside():
    result = solve(["x^2 = 4"], bounds={"x": (0.0, None)}, seed=1)
    assert [r.x for r in result.roots] == [pytest.approx([2.0])]


def test_a_point_stuck_on_a_bound_is_never_a_root():
    result = solve(["x + 1 = 0"], bounds={"x": (0.0, 5.0)}, seed=1)
    assert result.status == "no-root-found"
    assert result.best.x == pytest.approx([0.0])
    assert result.best.objective == pytest.approx(1.0)


def test_more_equations_than_unknowns_is_least_squares():
    consistent = solve(["x + y = 2", "x - y = 0", "2*x + y = 3"], seed=1)
    assert same_points([r.x for r in consistent.roots], [(1.0, 1.0)], 1e-10)
    contradictory = solve(["x = 1", "x = 2"], seed=1)
    assert contradictory.status == "no-root-found"
    assert contradictory.best.x == pytest.approx([1.5])
    assert contradictory.best.objective == pytest.approx(0.5)


def test_fewer_equations_than_unknowns_is_a_curve_not_isolated_roots():
    result = solve(["x^2 + y^2 = 1"], seed=1)
    assert result.status == "not-isolated"
    assert result.dimension == 1
    assert result.exit_code == 0
    assert 2 <= len(result.solutions) <= 8
    for s in result.solutions:
        assert s.x[0] ** 2 + s.x[1] ** 2 == pytest.approx(1.0, abs=1e-10)


def test_unknowns_of_very_different_sizes():
    result = solve(["1e-6*x = 1", "1e6*y = 2", "x*y = 2"], seed=1)
    assert same_points([r.x for r in result.roots], [(1e6, 2e-6)], tol=1e-9)


def test_equations_of_very_different_sizes():
    result = solve(["1e8*(x^2 + y^2 - 4) = 0", "1e-6*(x*y - 1) = 0"], seed=1)
    assert len(result.roots) == 4


def test_log_from_a_far_start_backtracks_out_of_the_undefined_region():
    result = solve(
        ["log(x) = 2"],
        start_points=[{"x": 50.0}],
        starts=0,
        lr=0.5,
        method="gd",
        seed=1,
    )
    assert result.roots[0].x == pytest.approx([math.exp(2)], rel=1e-12)


def test_starts_where_the_equations_are_undefined_are_redrawn_and_counted():
    result = solve(["sqrt(x - 3) = 1"], seed=1)
    assert result.roots[0].x == pytest.approx([4.0])
    assert result.starts["undefined"] == 0
    stuck = solve(["log(x - 30) = 1"], seed=1, box=(-10.0, 10.0))
    assert stuck.starts["undefined"] == 64
    assert stuck.status == "no-root-found"
    assert any("undefined" in w for w in stuck.warnings)


def test_no_start_that_cannot_be_evaluated_crashes():
    result = solve(["1/x = 0"], seed=1)
    assert result.roots == []


def test_all_mode_reports_how_complete_the_search_is():
    result = solve(["z^2 = 2^z"], all_roots=True, starts=8, seed=2)
    assert same_points(
        [r.x for r in result.roots], [(-0.766664695962123,), (2.0,), (4.0,)], 1e-10
    )
    search = result.search
    assert search["rounds_without_new_root"] == 5  # the default patience
    # later rounds add a quarter more starts from a shrunk box
    assert search["starts_used"] == 8 + 10 * (search["rounds"] - 1)
    assert 0.0 <= search["chance_next_start_finds_new_root"] <= 1.0


WOOD = [  # the gradient of Wood's function: its three stationary points
    "-400*a*(b - a^2) - 2*(1 - a)",
    "200*(b - a^2) + 20.2*(b - 1) + 19.8*(d - 1)",
    "-360*c*(d - c^2) - 2*(1 - c)",
    "180*(d - c^2) + 20.2*(d - 1) + 19.8*(b - 1)",
]


def test_all_mode_reaches_a_root_whose_basin_is_a_sliver_of_the_box():
    # The saddle near (-0.03, 0.17, -0.03, 0.18) draws about one start in 250
    # from the default box; the shrunk boxes of later rounds draw far more.
    result = solve(WOOD, variables=["a", "b", "c", "d"], all_roots=True, seed=0)
    assert same_points(
        [r.x for r in result.roots],
        [(-0.9679740249374782, 0.94713914081762, -0.9695163103317064,
          0.951247665792548),
         (-0.03125102339433596, 0.1659713868557831, -0.031258171023264066,
          0.18426393469672842),
         (1.0, 1.0, 1.0, 1.0)],
        1e-9,
    )


def test_no_root_outcomes_say_why():
    assert solve(["2*x + y = 1", "x*y = 1"], seed=1).reason == "valley-floor"
    assert solve(["log(x - 30) = 1"], seed=1).reason == "undefined"
    budget = solve(["x^2 + y^2 = 4", "x*y = 1"], seed=1, max_iter=1, polish=False)
    assert budget.status == "no-root-found" and budget.reason == "budget"
    assert budget.to_dict()["reason"] == "budget"
    assert solve(["x^2 = 4"], seed=1).reason is None


def test_a_singular_root_is_one_root_not_a_cloud_of_them():
    result = solve(["x*y = 0", "x - y = 0"], seed=1)
    assert len(result.roots) == 1
    assert result.roots[0].x == pytest.approx([0.0, 0.0], abs=1e-6)
    assert result.roots[0].starts == 64


def test_a_root_where_the_jacobian_vanishes_is_reached():
    result = solve(["(x-1)^2 + (y-1)^2 = 0"], seed=1)
    assert result.status == "solved"
    assert [r.x for r in result.roots] == [pytest.approx([1.0, 1.0], abs=1e-6)]


def test_a_valley_floor_in_one_unknown_is_found():
    result = solve(["x^3 - 2x - 5 = 0"], seed=1)
    assert [r.x for r in result.roots] == [pytest.approx([2.0945514815423265])]
    floor = next(s for s in result.solutions if s.kind == "local-minimum")
    assert floor.x == pytest.approx([-math.sqrt(2 / 3)], abs=1e-6)
    assert floor.residual == pytest.approx(5 - 4 * math.sqrt(2 / 3) / 3, abs=1e-9)


def test_equations_that_fade_to_a_constant_have_no_root_there():
    result = solve(["tanh(x) = 1"], seed=1)
    assert result.roots == []
    assert result.status == "no-root-found"


def test_a_line_of_least_squares_points_is_one_valley_floor():
    result = solve(["x + y = 1", "x + y = 2"], seed=1)
    assert len(result.solutions) == 1
    assert result.solutions[0].objective == pytest.approx(0.5)
    assert any("not isolated" in w for w in result.warnings)


@pytest.mark.parametrize("equation", ["sqrt(x) = 0", "2*sqrt(x) = 0", "x^0.5 = 0"])
def test_a_root_where_the_derivative_is_infinite_is_a_root(equation):
    # At x = 0 the derivative of √x is infinite and its term √x is zero:
    # the size of the terms is zero, not infinity times zero.
    result = solve([equation], seed=1)
    assert [r.x for r in result.roots] == [[0.0]]
    assert result.status == "solved"


@pytest.mark.parametrize("method", ["gd", "momentum", "adam"])
@pytest.mark.parametrize(
    "equations, start",
    [(["sqrt(x) + sqrt(y) = 0"], {"x": 0.0, "y": 0.0}),
     (["sqrt(x - 1) + sqrt(1 - x) = 0"], {"x": 1.0})],
)
def test_a_start_on_a_root_where_the_derivative_is_infinite_is_that_root(
    equations, start, method
):
    # The residuals there are zero and defined; only the derivative is not.
    # Such a start is no undefined point: it is converged where it stands.
    result = solve(equations, start_points=[start], starts=0, method=method, seed=1)
    assert result.status == "solved"
    assert [r.x for r in result.roots] == [list(start.values())]
    assert result.starts["converged"] == 1 and result.starts["undefined"] == 0


def test_a_line_of_least_squares_points_is_one_valley_floor_with_all_as_well():
    # --all ends with more distinct points than are compared pair by pair;
    # they are merged run by run, then the runs with one another.
    result = solve(["x + y = 1", "x + y = 2"], all_roots=True, seed=1)
    (floor,) = result.solutions
    assert floor.kind == "local-minimum" and floor.objective == pytest.approx(0.5)
    assert floor.starts == result.starts["used"] > 400


def test_a_large_unknown_does_not_loosen_the_root_test_of_another_equation():
    result = solve(["p = 1e7", "q^2 + 1 = 0"], seed=1, box=(-10.0, 10.0))
    assert result.status == "no-root-found"


def test_equally_spaced_roots_stay_apart():
    result = solve(["(x - 2)*x*(x + 2) = 0"], seed=1)
    assert [r.x for r in result.roots] == [
        pytest.approx([-2.0]), pytest.approx([0.0], abs=1e-12), pytest.approx([2.0])
    ]
    plane_roots = solve(["(x - y)*(x - y - 2)*(x - y + 2) = 0", "x + y = 0"], seed=1)
    assert len(plane_roots.roots) == 3


def test_all_mode_finds_every_root_of_a_product_system():
    equations = ["(a + b - 1)*(a + b + 1)", "(b + c - 2)*(b + c)", "(c - 1)*(c + 2)"]
    result = solve(equations, all_roots=True, seed=0, box=(-6.0, 6.0))
    assert len(result.roots) == 8
    for root in result.roots:
        assert root.residual < 1e-10


@pytest.mark.parametrize("start", [(1.3, 0.6), (0.2, 1.9), (1.0 + 3e-9, 1.0 - 2e-9)])
def test_polishing_locates_a_valley_floor_to_full_precision(start):
    # The least-squares point of x + y = 1, x + y = 3, x - y = 0 is (1, 1) with
    # objective 2; the objective stops changing in floating point about 1e-8
    # away from it, the gradient does not.
    system = prepare(["x + y = 1", "x + y = 3", "x - y = 0"])
    free = np.full(2, np.inf)
    done = polish(system, np.array([start]), -free, free)
    assert done.x[0] == pytest.approx([1.0, 1.0], abs=1e-14)
    assert (done.f[0] ** 2).sum() == pytest.approx(2.0, rel=1e-15)


def test_polishing_stops_once_the_residuals_are_down_to_rounding():
    # Brown's almost-linear system of 8 unknowns from (0.5, ..., 0.5): after
    # about ten steps every residual is within the rounding of its terms,
    # and a step that cannot lower them further ends the polishing instead
    # of ten more that each double the damping.
    names = [f"x{i}" for i in range(1, 9)]
    total = " + ".join(names)
    equations = [f"{v} + {total} = 9" for v in names[:-1]] + ["*".join(names) + " = 1"]
    system = prepare(equations, variables=names)
    evaluate, calls = system.evaluate, []
    system.evaluate = lambda x: calls.append(1) or evaluate(x)
    free = np.full(8, np.inf)
    done = polish(system, np.full((1, 8), 0.5), -free, free)
    assert done.settled[0]
    assert np.abs(done.f).max() < 1e-14
    assert len(calls) <= 12


@pytest.mark.parametrize(
    "equations, roots",
    [
        (["x^2 = 1e-10"], [(-1e-5,), (1e-5,)]),
        (["x^2 = 1e-20"], [(-1e-10,), (1e-10,)]),
        (["(x - 1e-6)*(x + 1e-6) = 0"], [(-1e-6,), (1e-6,)]),
        (["x^2 = 2e-12"], [(-math.sqrt(2e-12),), (math.sqrt(2e-12),)]),
        (
            ["1e-12*(x^2 + y^2 - 4) = 0", "1e-12*(x*y - 1) = 0"],
            [(1.9318516525781366, 0.5176380902050415),
             (0.5176380902050415, 1.9318516525781366),
             (-1.9318516525781366, -0.5176380902050415),
             (-0.5176380902050415, -1.9318516525781366)],
        ),
    ],
)
def test_roots_of_equations_with_tiny_values_stay_apart(equations, roots):
    # Every point near these roots is within the absolute tolerance, yet the
    # ground between two roots is far above the roots' own residuals.
    result = solve(equations, seed=1)
    assert result.status == "solved"
    found = [r.x for r in result.roots]
    scale = min(abs(v) for root in roots for v in root)
    assert same_points(found, roots, tol=1e-6 * scale)


def test_a_root_reached_by_one_start_prompts_a_wider_search():
    # The basin of x = 0 is narrow next to those of x = ±1.
    result = solve(["x^3 - x = 0"], seed=6)
    assert sorted(r.starts for r in result.roots) == [1, 31, 32]
    assert (
        "1 of 3 roots were reached by a single start, so roots with small basins "
        "may have been missed; --all keeps searching" in " ".join(result.warnings)
    )
    assert not any("single start" in w for w in solve(["x^3 - x = 0"], seed=1).warnings)
    alone = solve(["x^3 - x = 0"], start_points=[{"x": 0.1}], starts=0, seed=1)
    assert [r.starts for r in alone.roots] == [1] and alone.warnings == []


def test_residuals_too_large_to_square_are_named_as_overflow():
    result = solve(["x = 1e155"], seed=1)
    assert result.status == "no-root-found" and result.reason == "undefined"
    assert "the equations are undefined or overflow at every start" in result.message
    assert any("their values overflow" in w for w in result.warnings)


@pytest.mark.parametrize("root", [1e-12, -3e-9, 2.5e-100])
def test_small_roots_come_out_to_full_relative_precision(root):
    result = solve([f"x - ({root!r}) = 0"], seed=1)
    assert [r.x[0] for r in result.roots] == [pytest.approx(root, rel=1e-14, abs=0)]


@pytest.mark.parametrize(
    "equation, roots",
    [
        ("6/x = 3", [2.0]),  # the objective creeps down towards 9 as x → −∞
        ("x^23 = 4", [4 ** (1 / 23)]),  # a plateau around zero
        ("exp(x) = -1", []),  # creeps down towards 1 as x → −∞
    ],
)
def test_plateaus_and_asymptotes_are_not_valley_floors(equation, roots):
    result = solve([equation], seed=1)
    assert [r.x[0] for r in result.roots] == [pytest.approx(r) for r in roots]
    assert [s for s in result.solutions if s.kind == "local-minimum"] == []


@pytest.mark.parametrize("seed", [8, 9, 10])
def test_a_start_outside_the_bounds_is_kicked_back_inside_off_a_hilltop(seed):
    # The start is projected onto x = 0, a hilltop of the objective on the
    # bound; kicks past the bound are reflected inside, towards the root.
    result = solve(["x^2 = 4"], bounds={"x": (0.0, math.inf)},
                   start_points=[{"x": -5.0}], starts=0, seed=seed)
    assert [r.x for r in result.roots] == [[pytest.approx(2.0)]]


def test_a_valley_floor_reports_its_distance_to_the_true_minimum():
    # The floor of 2x + y = 1, xy = 1 lies at x = 0.3129084094792...; the
    # Jacobian is singular there, so the error comes from the objective's
    # Newton step, not from a Gauss-Newton one.
    result = solve(["2*x + y = 1", "x*y = 1"], seed=1)
    (floor,) = result.solutions
    assert floor.kind == "local-minimum"
    assert 0 < floor.error < 1e-8
    assert abs(floor.x[0] - 0.3129084094792) <= 10 * floor.error


@pytest.mark.parametrize(
    "value, error, digits",
    [(0.3129084094792, 4.4e-10, 9), (1.9318516525781366, 9e-17, 12),
     (2e-7, 5e-8, 1), (0.0, 1e-3, 12), (5.0, math.inf, 12),
     (0.499950622278927, 3.96e-5, 4), (1.4142107606093608, 2.79e-6, 6)],
)
def test_tables_show_the_digits_the_error_supports(value, error, digits):
    from gdsolve.report import supported_digits

    assert supported_digits(value, error) == digits


@pytest.mark.parametrize(
    "equations, dimension",
    [
        (["x = x"], 1),
        (["0*x = 0"], 1),
        (["x + y = x + y"], 2),
        (["0*x = 0", "y = 2"], 1),
    ],
)
def test_an_identity_is_solved_by_every_point(equations, dimension):
    result = solve(equations, seed=1)
    assert result.status == "not-isolated" and result.exit_code == 0
    assert result.dimension == dimension
    assert all(r.residual == 0 for r in result.roots) and len(result.roots) > 1


def test_an_equation_without_unknowns_that_fails_has_no_root():
    result = solve(["0*x = 1"], seed=1)
    assert result.status == "no-root-found"
    assert result.best.objective == 1.0


def test_no_root_in_the_box_suggests_a_wider_one():
    # The root x = 1e10 is far outside the default box; inside a box that
    # holds it, it is found.
    result = solve(["x^3 = 1e30"], seed=1)
    assert result.status == "no-root-found"
    assert any("between -10 and 10" in w and "--box" in w for w in result.warnings)
    wide = solve(["x^3 = 1e30"], seed=1, box=(0.0, 1e11))
    assert [r.x[0] for r in wide.roots] == [pytest.approx(1e10, rel=1e-12)]


@pytest.mark.parametrize(
    "equations",
    [["x^2 + y^2 + 1e-14 = 0"], ["x^2 + y^2 + z^2 + 1e-14 = 0"], ["x^2 + 1e-12 = 0"]],
)
def test_a_valley_floor_lower_than_the_tolerance_is_not_a_root(equations):
    # The residual at the bottom, 1e-14, is within the tolerance; but Newton
    # steps from there cannot shrink it, as they would near a root.
    result = solve(equations, seed=1)
    assert result.status == "no-root-found"
    assert result.roots == []


def test_roots_whose_residuals_round_far_above_their_terms_are_roots():
    # The Chebyshev polynomial T7(2x - 1) in Horner form: at its exact roots
    # the large coefficients leave residuals of about 1e-14 of rounding,
    # which Newton steps cannot shrink; they are still roots, not floors.
    t7 = "((((((8192*x - 28672)*x + 39424)*x - 26880)*x + 9408)*x - 1568)*x + 98)*x - 1"
    result = solve([f"{t7} = 0"], seed=1, box=(0.0, 1.0))
    exact = sorted((1 + math.cos((2 * k - 1) * math.pi / 14)) / 2 for k in range(1, 8))
    assert result.status == "solved"
    assert [s.kind for s in result.solutions] == ["root"] * 7
    assert [r.x[0] for r in result.roots] == [pytest.approx(e, abs=1e-13) for e in exact]


@pytest.mark.parametrize("extra", [[], ["y = x"]])
def test_two_roots_a_thousandth_apart_are_two_isolated_roots(extra):
    result = solve(["(x-1)(x-1.001) = 0", *extra], seed=1)
    assert result.status == "solved"
    assert result.dimension == 0
    assert [r.x[0] for r in result.roots] == [pytest.approx(1.0, abs=1e-12),
                                             pytest.approx(1.001, abs=1e-12)]


def test_a_lonely_root_is_noted_even_when_the_starts_are_few_for_the_roots():
    # 64 starts for 10 roots: x = 10 is missed and x = 8 is reached only once
    result = solve(["(x-1)(x-2)(x-3)(x-4)(x-5)(x-6)(x-7)(x-8)(x-9)(x-10)=0"], seed=3)
    assert [round(r.x[0]) for r in result.roots] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert "1 of 9 roots were reached by a single start" in " ".join(result.warnings)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_circle_of_lowest_points_is_one_valley_floor(seed):
    # x² + y² = 1 and x² + y² = 4 disagree everywhere; the least-squares
    # points form the circle x² + y² = 2.5, of height 2·1.5² = 4.5.
    result = solve(["x^2+y^2=1", "x^2+y^2=4"], seed=seed)
    assert result.status == "no-root-found"
    [floor] = result.solutions
    assert floor.kind == "local-minimum" and floor.starts == 64
    assert floor.objective == pytest.approx(4.5, rel=1e-12)
    assert floor.x[0] ** 2 + floor.x[1] ** 2 == pytest.approx(2.5, rel=1e-9)
    assert sum("is not isolated" in w for w in result.warnings) == 1


def test_two_separate_floors_of_one_height_stay_two():
    # (x² - 1)² + 1 has its two lowest points at x = ±1, with higher ground between
    result = solve(["x^2 - 1 = 0", "1 = 0"], variables=["x"], seed=1)
    floors = sorted(s.x[0] for s in result.solutions)
    assert floors == [pytest.approx(-1.0), pytest.approx(1.0)]


def test_an_isolated_floor_reached_twice_is_not_called_flat():
    # The floor at (0, -0.8846) has the Hessian diag(0.67, 7.39): isolated.
    result = solve(["x^2+y^2=1", "x^2-y=0.5"], seed=1)
    floor = next(s for s in result.solutions if s.kind == "local-minimum")
    assert floor.x == pytest.approx([0.0, -0.8846461755792312], abs=1e-7)
    assert not any("is not isolated" in w for w in result.warnings)


@pytest.mark.parametrize("seed", [1, 3, 4])
def test_copies_of_a_floor_polishing_closes_in_on_slowly_are_not_a_flat_floor(seed):
    # x² + y² + 1 has its lowest point at the origin, with the Hessian 4·I.
    # Levenberg-Marquardt steps near a floor above zero shrink slowly, so the
    # copies end up to 1e-4 apart, no farther than their estimated distance
    # to the lowest point: that is no line of lowest points.
    result = solve(["x^2 + y^2 + 1 = 0"], seed=seed)
    (floor,) = result.solutions
    assert floor.kind == "local-minimum" and floor.starts == 64
    assert floor.x == pytest.approx([0.0, 0.0], abs=1e-3)
    assert floor.objective == pytest.approx(1.0, rel=1e-6)
    assert not any("is not isolated" in w for w in result.warnings)


def test_the_error_of_a_triple_root_counts_every_newton_step_to_it():
    # Each Gauss-Newton step covers a third of the way left to a triple root,
    # so the first step alone would claim three times the true accuracy.
    result = solve(["(x-0.5)^3 = 0", "y = x"], seed=1)
    (root,) = result.roots
    distance = abs(root.x[0] - 0.5)
    assert 0.5 * distance <= root.error <= 2 * distance


def test_no_root_suggests_a_wider_box_only_where_one_could_reach_further():
    wider = "a root far outside that box is rarely reached: widen it with --box"
    # x = 1 lies below the bounds 2:3, which the box already spans
    spanned = solve(["x = 1"], bounds={"x": (2.0, 3.0)}, seed=1)
    assert spanned.status == "no-root-found"
    assert not any(wider in w for w in spanned.warnings)
    # x^2 + 1 = 0 has no real root; a root beyond the box -10:10 could exist
    open_ended = solve(["x^2 + 1 = 0"], seed=1)
    assert [w for w in open_ended.warnings if wider in w] == [
        f"random starts were drawn between -10 and 10; {wider} if one may be there"
    ]


def test_a_box_outside_the_bounds_is_noted_with_where_starts_were_drawn():
    result = solve(["x^2 = 0.25"], box=(5.0, 6.0), bounds={"x": (0.0, 1.0)}, seed=1)
    assert [r.x for r in result.roots] == [pytest.approx([0.5])]
    assert ("the box 5:6 for x lies outside its bounds 0:1, so its starts were "
            "drawn between 0 and 1") in result.warnings
    inside = solve(["x^2 = 0.25"], bounds={"x": (0.0, None)}, seed=1)
    assert not any("outside its bounds" in w for w in inside.warnings)


def test_squares_that_underflow_are_not_called_a_sum_of_zero():
    result = solve(["1e-200*x = 1e-200"], seed=1)
    assert result.status == "no-root-found"
    assert "the smallest sum of squared residuals is too small for float64 " in (
        result.message)
    assert "is 0 at" not in result.message


@pytest.mark.parametrize("gap", [1e-6, 1e-8])
def test_exact_roots_a_millionth_apart_stay_two(gap):
    result = solve([f"(x-1)*(x-1-{gap})=0"], seed=1)
    assert [r.x[0] for r in result.roots] == [1.0, 1.0 + gap]


@pytest.mark.parametrize("power, reach", [(2, 2e-8), (7, 2e-3)])
def test_a_root_of_high_multiplicity_reports_how_far_its_residuals_stay_flat(
    power, reach
):
    # Within about (1e-15)^(1/k) of 1 every residual of (x-1)^k is below
    # rounding: no digit beyond that is sure, whatever the point found.
    (root,) = solve([f"(x-1)^{power}=0"], seed=1).roots
    assert root.error == pytest.approx(reach, rel=1e-4)
    assert abs(root.x[0] - 1) <= root.error


@pytest.mark.parametrize(
    "equations, bottom, height",
    [(["x^2 + 1e-8 = 0"], [0.0], 1e-16),
     (["(x-1)^2 + (y-2)^2 + 1e-14 = 0"], [1.0, 2.0], 1e-28)],
)
def test_a_low_valley_floor_is_reported_as_one(equations, bottom, height):
    # The gradient there is tiny but not against the box; no step along it
    # goes lower, so the point is the floor, not a start still moving.
    result = solve(equations, seed=1)
    assert result.status == "no-root-found" and result.reason == "valley-floor"
    floor = result.solutions[0]
    assert floor.kind == "local-minimum"
    assert floor.x == pytest.approx(bottom, abs=1e-6)
    assert floor.objective == pytest.approx(height, rel=1e-6)


@pytest.mark.parametrize("tol", [0.01, 0.1, 0.5])
def test_a_loose_tolerance_without_polishing_still_reports_the_roots(tol):
    # The descent stops once |x² - 2| <= tol, well away from ±√2; Newton steps
    # from there reach the roots, and the error says how far they went.
    result = solve(["x^2 = 2"], polish=False, tol=tol, seed=1)
    assert result.status == "solved"
    assert len(result.roots) == 2
    for root, exact in zip(result.roots, (-math.sqrt(2), math.sqrt(2))):
        assert abs(root.x[0] - exact) <= 1.01 * root.error
        assert root.residual <= tol


def test_a_loose_tolerance_does_not_make_a_fading_asymptote_a_root():
    # 2^s + 3^s - 5^s fades to 1e-19 by s = -60 without a root there
    result = solve(["2^s + 3^s = 5^s"], tol=0.5, seed=1)
    assert [r.x[0] for r in result.roots] == [pytest.approx(1.0, abs=1e-12)]


def test_each_group_is_led_by_its_best_point():
    x = np.array([[1.0005], [1.0], [1.0003]])
    groups = group(x, np.full((3, 1), 1e-3), np.array([3e-6, 0.0, 1e-6]), np.ones(1))
    assert [g.tolist() for g in groups] == [[1, 0, 2]]


@pytest.mark.parametrize(
    "equations, roots",
    [(["2^s + 3^s = 5^s"], [1.0]), (["exp(-x^2) = 0"], [])],
)
def test_a_search_for_every_root_does_not_call_fading_tails_valley_floors(
    equations, roots
):
    # Deflation sends starts hundreds of units out, where the objective is
    # 1e-250 and its gradient so small that its squares underflow; still
    # there is a way down, so they are not valley floors.
    result = solve(equations, seed=1, all_roots=True)
    assert [s.kind for s in result.solutions] == ["root"] * len(roots)
    assert [r.x[0] for r in result.roots] == [pytest.approx(v, abs=1e-12) for v in roots]
    assert result.reason in (None, "unsettled")


def test_equations_of_very_different_scales_leave_no_nearly_null_direction():
    # The Jacobian at (1, 1) has singular values 2.2e8 and 0.45; weighed
    # equation by equation, neither direction is nearly null, so the root is
    # exact and says so (its error was 2e-8, read off the small one).
    (root,) = solve(["1e8*(y - x^2) = 0", "1 - x = 0"], seed=1).roots
    assert root.x == [1.0, 1.0]
    assert root.error <= 1e-15


@pytest.mark.parametrize(
    "equations, roots",
    [(["exp(-x^2) = 0", "y = 1"], []),
     (["tanh(x) = 1", "y = 2"], []),
     (["2^s + 3^s = 5^s", "t = 0"], [(1.0, 0.0)])],
)
def test_a_fading_equation_beside_a_plain_one_has_no_roots_in_its_tail(equations, roots):
    # The plain equation's row dwarfs the fading one's, whose residual is
    # then small only because it fades: not a root, and not a curve of them.
    result = solve(equations, seed=1)
    assert result.dimension == 0
    assert same_points([r.x for r in result.roots], roots, tol=1e-12)


def test_a_plain_equation_beside_one_that_rounds_to_zero_has_no_roots_there():
    # Past x = 19, tanh(x) rounds to 1 and its derivative 1 - tanh(x)² to 0:
    # every such point solves the system in floating point, but only because
    # the equation has faded, so none is a root.
    result = solve(["tanh(x) = 1", "y = 2"], box=(14.0, 18.0), seed=1)
    assert result.roots == []
    assert result.status == "no-root-found"
    assert result.best.x[0] > 19 and result.best.residual == 0


@pytest.mark.parametrize(
    "equation, roots",
    [("x/(x+1) = 1", []), ("atan(x) = atan(2*x)", [0.0]), ("exp(1/y) = 1", [])],
)
def test_polishing_does_not_follow_a_fading_tail_to_where_it_rounds_to_a_root(
    equation, roots
):
    # Along these tails each Newton step is as long as the last or longer
    # (x/(x+1) = 1 doubles x), and far enough out the residual rounds to
    # zero: 1e16 is no root, and the points there are no curve of roots.
    result = solve([equation], seed=1)
    assert result.dimension == 0
    assert same_points([r.x for r in result.roots], [(r,) for r in roots], tol=1e-9)
    # nor are points out there, with residuals within rounding, valley floors
    assert [s.kind for s in result.solutions] == ["root"] * len(roots)


def test_the_slopes_of_a_curved_valley_are_not_valley_floors():
    # The gradient system of Rosenbrock's function: its only root is (1, 1),
    # and its curved valley has no floor above zero anywhere.
    result = solve(["-2*(1-p)-400*p*(q-p^2) = 0", "200*(q-p^2) = 0"], seed=1)
    assert [s.kind for s in result.solutions] == ["root"]
    assert result.roots[0].x == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize("equation", ["exp(-x^2) = 0", "tanh(x) = 1"])
def test_a_loose_tolerance_without_polishing_finds_no_root_in_a_fading_tail(equation):
    # Newton steps from the tail bring the residual below rounding, but each
    # step is as long as the last: they run off, they do not arrive.
    result = solve([equation], polish=False, tol=0.5, seed=1)
    assert result.roots == []


def test_an_equation_far_larger_at_the_root_than_at_the_start_makes_no_weak_direction(
    monkeypatch,
):
    # The product of 30 unknowns is 1e-9 at the start (all 0.5) and 1 at the
    # root (all 1): judged by its size at the start it would dwarf the other
    # rows there and leave 29 spurious nearly null directions to test.
    from gdsolve import refine
    from gdsolve.system import equation_weights

    names = [f"x{i}" for i in range(1, 31)]
    total = " + ".join(names)
    equations = [f"{v} + {total} = 31" for v in names[:-1]] + ["*".join(names) + " = 1"]
    system = prepare(equations, variables=names)
    weights = equation_weights(system, np.full((1, 30), 0.5))
    tested = []
    monkeypatch.setattr(refine, "polish", lambda *a, **k: tested.append(a[1]) or None)
    free = np.full(30, np.inf)
    (verdict,) = refine.classify(system, np.ones((1, 30)), 1e-10, -free, free,
                                 np.full(30, 20.0), weights)
    assert verdict.kind == "root" and verdict.dimension == 0
    assert tested == []


def test_notes_speak_of_what_happened_and_count_in_good_grammar():
    # one given start and no random ones: no note about where random starts
    # were drawn; one root from one of many starts; one sample of a line
    alone = solve(["x^2 + 1 = 0"], start_points=[{"x": 1.0}], starts=0, seed=1)
    assert alone.status == "no-root-found"
    assert not any("random starts were drawn" in w for w in alone.warnings)
    once = solve(["(x-1)^2 = 0"], polish=False, tol=0.01, seed=1)
    assert "the root was reached by a single start" in " ".join(once.warnings)
    line = solve(["x + y = 1"], start_points=[{"x": 1.0, "y": 0.0}], starts=0, seed=1)
    assert line.message.endswith("1 sample point is listed")


def test_a_point_whose_scaled_jacobian_overflows_is_judged_not_crashed_on():
    # The derivative of this cube root overflows near y = 1 and y = -3.7,
    # where the classification used to stop with "SVD did not converge".
    result = solve(["((3.7+y)^(1/(1-y)))^(1/3) = -1"], seed=1)
    assert result.status == "no-root-found"
    assert result.roots == []


@pytest.mark.parametrize(
    "equations, root",
    [
        (["sqrt(x) + sqrt(y) = 0"], [0.0, 0.0]),
        (["sqrt(x - 1) + sqrt(2 - y) = 0"], [1.0, 2.0]),
        (["acos(x) = 0"], [1.0]),
        (["asin(x) = -pi/2"], [-1.0]),
        # the other unknown still has its way to go when x reaches the edge
        (["sqrt(x) + y = 1", "y = 1"], [0.0, 1.0]),
        (["sqrt(x) + (y - 2)^2 = 0", "x + y = 2"], [0.0, 2.0]),
        # a root inside, reached by starts that touch the edge on their way
        (["sqrt(x) + y = 0.5", "y = 0"], [0.25, 0.0]),
    ],
)
def test_a_root_on_the_edge_of_the_domain_is_reached_exactly(equations, root):
    # the derivative is infinite there: steps that cross the edge stop on it,
    # and move on from it with the slope just inside
    result = solve(equations, seed=1)
    assert result.status == "solved"
    assert [r.x for r in result.roots] == [root]
    assert result.roots[0].residual == 0.0
    assert result.starts["converged"] == 64


def test_starts_are_drawn_where_the_equations_are_defined():
    result = solve(["sqrt(x - 30) = 1"], seed=1, box=(-10.0, 10.0))
    assert [r.x for r in result.roots] == [pytest.approx([31.0], abs=1e-12)]
    assert result.starts["undefined"] == 0
    assert result.warnings == [
        "the box -10:10 for x lies outside where the equations are defined, "
        "30:inf, so its starts were drawn between 30 and 40"
    ]


def test_a_valley_floor_held_by_a_bound_is_shown_where_it_is():
    result = solve(["sqrt(x - 30) = 1"], seed=1, bounds={"x": (31.5, None)})
    (floor,) = result.solutions
    assert floor.kind == "local-minimum" and floor.x == [31.5]
    assert floor.error == 0.0
    assert floor.residual == pytest.approx(math.sqrt(1.5) - 1)


def test_a_valley_floor_on_the_edge_of_the_domain_is_exactly_there():
    result = solve(["sqrt(x) + 1 = 0"], seed=1)
    assert result.status == "no-root-found" and result.reason == "valley-floor"
    (floor,) = result.solutions
    assert (floor.kind, floor.x, floor.residual, floor.error) == (
        "local-minimum", [0.0], 1.0, 0.0
    )


def test_a_valley_floor_on_a_bound_is_the_lowest_point_along_it():
    # on x = 2 the objective (3 + y²)² + (y - 1)² is lowest where
    # 4y³ + 14y = 2; steps leave x on its bound and move y alone
    result = solve(["x^2 + y^2 = 1", "x + y = 3"], seed=1, bounds={"x": (2.0, None)})
    (floor,) = result.solutions
    x, y = floor.x
    assert floor.kind == "local-minimum" and x == 2.0
    assert 4 * y**3 + 14 * y - 2 == pytest.approx(0.0, abs=1e-7)
    assert floor.error < 1e-8
    assert result.starts["budget"] == 0


def test_a_huge_tolerance_is_a_tolerance_not_an_overflow():
    result = solve(["x^2 = 4"], seed=1, tol=1e300)
    assert [r.x for r in result.roots] == [[-2.0], [2.0]]


@pytest.mark.parametrize(
    "equations, dimension",
    [
        (["+".join(f"x{i}" for i in range(10)) + " = 1"], 9),
        ([f"x{i}^2 + y{i}^2 = 1" for i in range(10)], 10),
        (["x^2 + y^2 + z^2 = 1"], 2),
    ],
)
def test_the_dimension_of_a_set_of_solutions_is_not_capped(equations, dimension):
    # more nearly null directions than are tested one by one: when every
    # one tested continues, so do the others
    result = solve(equations, seed=1)
    assert result.status == "not-isolated"
    assert result.dimension == dimension


def test_points_that_can_still_go_down_along_one_unknown_are_no_valley_floors():
    # Next to y = 0, where y^x is defined only for y >= 0 (no bound marks
    # it), every step along the gradient leaves the domain; along x alone
    # the objective still falls towards x = 2.
    # (The third real root, y = -0.7666646959621231, is missed: for y < 0,
    # y^x is defined only where x is an integer, so no step reaches it.)
    result = solve(["x^y = y^x", "x = 2"], seed=1)
    assert result.status == "solved"
    assert [r.x for r in result.roots] == [[2.0, 2.0], [2.0, 4.0]]
    assert [s.kind for s in result.solutions] == ["root", "root"]


def test_an_all_search_without_a_root_estimates_nothing():
    result = solve(["x^2 + 1 = 0"], all_roots=True, seed=1)
    record = result.to_dict()["search"]
    # NaN here, null in JSON
    assert math.isnan(record["estimated_unseen_roots"])
    assert math.isnan(record["chance_next_start_finds_new_root"])
    assert record["rounds_without_new_root"] == 5
    assert record["starts_at_no_solution"] == 0


def test_a_no_root_message_spells_out_six_unknowns_at_most():
    result = solve([f"x{i}^2 + 1 = 0" for i in range(10)], seed=1)
    assert result.status == "no-root-found"
    head, rest = result.message.split(" at ")
    assert head.endswith("the smallest sum of squared residuals is 10")
    assert rest.count(" = ") == 6
    assert rest.endswith(", x5 = " + f"{result.best.values['x5']:.6g}"
                         + " and 4 more unknowns (see the best point)")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_points_on_a_line_of_double_roots_are_no_valley_floors(seed):
    # (x - y)² written out rounds to about 1e-14 on its line of roots x = y:
    # within the rounding of its terms, so no floor above zero
    result = solve(["x^2 - 2*x*y + y^2 = 0"], seed=seed)
    assert result.status == "not-isolated" and result.dimension == 1
    assert {s.kind for s in result.solutions} == {"root"}
    assert all(abs(s.x[0] - s.x[1]) < 1e-6 for s in result.solutions)


def test_a_given_start_outside_the_bounds_starts_on_them_with_a_note():
    result = solve(["x^2 = 4"], start_points=[{"x": -3.0}], starts=0,
                   bounds={"x": (0.0, None)}, seed=1)
    assert [r.x for r in result.roots] == [[2.0]]
    assert result.warnings == ["start point 1: x = -3 lies outside its bounds 0:inf, "
                               "so it started at 0"]
    # outside the domain sqrt implies, where the equations are undefined
    edge = solve(["sqrt(x) + y = 1", "y = 1"], start_points=[{"x": -3.0, "y": 5.0}],
                 starts=0, seed=1)
    assert [r.x for r in edge.roots] == [[0.0, 1.0]]
    assert edge.starts["undefined"] == 0
    assert edge.warnings == ["start point 1: x = -3 lies outside where the equations "
                             "are defined, 0:inf, so it started at 0"]


def test_an_all_search_stops_before_a_round_too_costly_to_run():
    # periodic: infinitely many roots, and every further round would repel
    # each known one from each start
    from gdsolve.api import MOST_DEFLATION_WORK

    result = solve(["sin(x*y) = 0", "cos(x + y) = 0"], all_roots=True, starts=2000,
                   seed=1)
    assert result.status == "solved"
    assert result.search["rounds"] == 2
    known = len(result.roots)
    assert known * 2500 > MOST_DEFLATION_WORK
    assert result.warnings[-1] == (
        f"the search stopped after 2 rounds: the next would repel each of the "
        f"{known} roots known from each of its 2500 starts; with fewer --starts "
        "it searches on"
    )
    assert all(abs(math.sin(x * y)) < 1e-9 and abs(math.cos(x + y)) < 1e-9
               for x, y in (r.x for r in result.roots))


def test_deflation_in_parts_is_deflation_at_once(monkeypatch):
    from gdsolve import deflation

    system = prepare(["x^2 + y^2 = 4", "x*y = 1"])
    roots = np.random.default_rng(2).uniform(-3, 3, (40, 2))
    points = np.random.default_rng(3).uniform(-3, 3, (25, 2))
    whole = deflation.DeflatedSystem(system, roots, np.full(2, 20.0)).evaluate(points)
    monkeypatch.setattr(deflation, "PART_FLOATS", 3 * roots.size)
    parts = deflation.DeflatedSystem(system, roots, np.full(2, 20.0)).evaluate(points)
    assert np.array_equal(whole[0], parts[0]) and np.array_equal(whole[1], parts[1])


def test_a_point_on_a_bound_that_can_still_go_down_along_it_is_no_floor():
    # 1 + x² + xy is 1 at (0, 0) on the bound y = 0, but falls towards
    # (-t, 2t), inside the bounds: a saddle. The floor is (-0.5, 1), at 0.75.
    result = solve(["1 + x^2 + x*y = 0"], seed=1, bounds={"y": (0.0, 1.0)})
    assert result.status == "no-root-found"
    (floor,) = result.solutions
    assert floor.kind == "local-minimum"
    assert floor.x == [pytest.approx(-0.5, abs=1e-8), 1.0]
    assert floor.residual == pytest.approx(0.75)
    assert result.starts["saddle"] > 0
