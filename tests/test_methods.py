"""Every descent method, checked against the others and against known answers."""

from __future__ import annotations

import numpy as np
import pytest

from gdsolve import solve
from gdsolve.api import Settings, prepare
from gdsolve.errors import OptionError
from gdsolve.methods import (
    METHODS,
    adam,
    gradient_descent,
    heavy_ball,
    make_method,
    nesterov,
)
from gdsolve.search import CONVERGED, EARLY_WINDOW, Descent, descend
from gdsolve.system import Balanced, equation_weights

from conftest import same_points

R1, R2 = 1.9318516525781366, 0.5176380902050415
FOUR_ROOTS = [(R1, R2), (R2, R1), (-R1, -R2), (-R2, -R1)]


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_finds_the_four_roots_of_circle_and_hyperbola(method):
    result = solve(["x^2 + y^2 = 4", "x*y = 1"], method=method, seed=7)
    assert result.status == "solved"
    assert same_points([r.x for r in result.roots], FOUR_ROOTS, tol=1e-12)
    assert all(r.residual < 1e-12 for r in result.roots)
    assert sum(r.starts for r in result.roots) == 64


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_descends_to_a_root_without_polishing(method):
    result = solve(
        ["x^2 + y^2 = 4", "x*y = 1"], method=method, seed=3, polish=False, max_iter=3000
    )
    assert result.status == "solved"
    assert same_points([r.x for r in result.roots], FOUR_ROOTS, tol=1e-5)


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_reports_no_real_root_for_line_and_hyperbola(method):
    result = solve(["2*x + y = 1", "x*y = 1"], method=method, seed=2)
    assert result.status == "no-root-found"
    assert result.exit_code == 1
    assert result.best.x == pytest.approx([0.3129084, 0.6258168], abs=1e-6)
    assert result.best.objective == pytest.approx(0.71001958, abs=1e-7)


def test_nesterov_takes_the_gradient_at_the_look_ahead_point():
    method = nesterov(lr=0.1, momentum=0.5)
    x = np.array([[1.0, 2.0]])
    state = method.init(x)._replace(velocity=np.array([[0.2, -0.4]]))
    assert method.lookahead(x, state) == pytest.approx(np.array([[1.1, 1.8]]))
    step, new = method.update(np.array([[1.0, 1.0]]), state)
    assert step == pytest.approx(np.array([[0.0, -0.3]]))
    assert new.velocity == pytest.approx(step)


def test_adam_first_step_is_learning_rate_times_sign():
    method = adam(lr=0.05, beta1=0.9, beta2=0.999, eps=1e-8)
    step, _ = method.update(np.array([[3.0, -0.2]]), method.init(np.zeros((1, 2))))
    assert step == pytest.approx(np.array([[-0.05, 0.05]]), rel=1e-6)


def test_heavy_ball_keeps_a_fraction_of_the_last_step():
    method = heavy_ball(lr=0.5, momentum=0.9)
    state = method.init(np.zeros((1, 1)))
    first, state = method.update(np.array([[1.0]]), state)
    second, _ = method.update(np.array([[1.0]]), state)
    assert first[0, 0] == pytest.approx(-0.5)
    assert second[0, 0] == pytest.approx(-0.5 * 0.9 - 0.5)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: gradient_descent(lr=-0.1), "learning rate must be positive, got -0.1"),
        (
            lambda: heavy_ball(lr=0.1, momentum=1.5),
            "momentum must be in [0, 1), got 1.5",
        ),
        (lambda: adam(0.1, 0.9, 0.999, eps=0.0), "eps must be positive, got 0.0"),
        (lambda: make_method("newton", {}), "unknown method 'newton'"),
        (lambda: Settings(starts=0), "starts must be at least 1, got 0"),
        (lambda: Settings(box=(3.0, 1.0)), "LO < HI"),
        (
            lambda: Settings(start_points=[{"x": 1.0}, {"x": 2.0, "y": float("inf")}]),
            "start point 2: y = inf is not a finite number",
        ),
        (
            lambda: Settings(start_points=[{"x": "one"}]),
            "start point 1: x = one is not a finite number",
        ),
    ],
)
def test_bad_settings_are_rejected_with_the_value(build, message):
    with pytest.raises(
        OptionError,
        match=message.replace("[", r"\[").replace(")", r"\)").replace("(", r"\("),
    ):
        build()


def unbounded_descent(method, line_search, max_iter, tol, noise, width, **more):
    """Descent settings for two unknowns with no bounds."""
    return Descent(
        method=method,
        line_search=line_search,
        scale=True,
        max_iter=max_iter,
        tol=tol,
        noise=noise,
        batch_size=None,
        lower=np.full(2, -np.inf),
        upper=np.full(2, np.inf),
        width=np.full(2, width),
        **more,
    )


@pytest.mark.parametrize("line_search", [True, False])
def test_many_starts_together_equal_each_start_alone(line_search):
    system = prepare(["x^2 + y^2 = 4", "x*y = 1"])
    descent = unbounded_descent(
        gradient_descent(0.3), line_search, 2000, 1e-10, 0.0, 20.0
    )
    starts = np.random.default_rng(0).uniform(-5, 5, (6, 2))
    together = descend(system, descent, starts, np.random.default_rng(1))
    for i, start in enumerate(starts):
        alone = descend(system, descent, start[None], np.random.default_rng(1))
        assert alone.x[0] == pytest.approx(together.x[i], abs=1e-13)
        assert alone.iterations[0] == together.iterations[i]
    assert (together.reason == CONVERGED).sum() >= 5
    assert all(
        same_points([p], [min(FOUR_ROOTS, key=lambda r: np.hypot(*(p - r)))], 1e-6)
        for p in together.x
    )


def test_a_diverging_learning_rate_is_detected_and_named():
    result = solve(
        ["x^2 + y^2 = 4", "x*y = 1"], method="momentum", lr=50.0, scale=False, seed=1
    )
    assert result.starts["diverged"] > 0
    assert any("--lr" in w and "too large" in w for w in result.warnings)


def test_sgd_uses_a_subset_of_the_equations():
    result = solve(
        ["x + y + z = 6", "x - y = -1", "2*x + z = 5", "y + z = 5"],
        method="sgd",
        batch_size=2,
        seed=4,
    )
    assert result.settings["batch_size"] == 2
    assert same_points([r.x for r in result.roots], [(1.0, 2.0, 3.0)], tol=1e-10)


def test_a_batch_larger_than_the_system_is_refused():
    refused = "--batch-size 5 is more than the 2 equations"
    with pytest.raises(OptionError, match=refused):
        solve(["x + y = 3", "x - y = 1"], method="sgd", batch_size=5, seed=1)


@pytest.mark.parametrize("polish_early", [False, True])
def test_starts_still_walking_after_a_few_steps_are_polished_there(polish_early):
    # The two conics cross twice close together, at (1, 1) and near
    # (1.16497, 0.82539); between them the valley is long and nearly flat.
    system = prepare(["x^2 + x*y + y^2 = 3", "x^2 - 3*x*y + 2*y^2 + x = 1"])
    starts = np.random.default_rng(0).uniform(-3, 3, (1000, 2))
    balanced = Balanced(system, equation_weights(system, starts))
    descent = unbounded_descent(
        gradient_descent(1.0), True, 500, 1e-6, 0.05, 6.0,
        weights=balanced.weights, polish_early=polish_early,
    )
    walk = descend(balanced, descent, starts, np.random.default_rng(0))
    if polish_early:
        assert walk.count(CONVERGED) == 1000
        assert walk.iterations.max() == EARLY_WINDOW
        ends = walk.x[np.abs(walk.x - [1.0, 1.0]).max(axis=1) < 1e-5]
        assert len(ends) > 0
    else:  # the crawl alone runs some starts to the end of the budget
        assert walk.iterations.max() == 500


def test_early_polishing_cuts_the_descent_short_and_finds_the_same_roots():
    quick = solve(["x^2 + y^2 = 4", "x*y = 1"], seed=1)
    walked = solve(["x^2 + y^2 = 4", "x*y = 1"], seed=1, polish_early=False)
    assert quick.iterations == EARLY_WINDOW
    assert walked.iterations > 4 * EARLY_WINDOW
    assert quick.starts["converged"] == walked.starts["converged"] == 64
    expected = [(-1.9318516525781366, -0.5176380902050415),
                (-0.5176380902050415, -1.9318516525781366),
                (0.5176380902050415, 1.9318516525781366),
                (1.9318516525781366, 0.5176380902050415)]
    for result in (quick, walked):
        assert same_points([r.x for r in result.roots], expected, tol=1e-12)


@pytest.mark.parametrize("n, m", [(1, 1), (2, 2), (3, 5), (4, 4)])
def test_damped_steps_of_many_small_systems_match_one_solve_per_point(n, m):
    from gdsolve.refine import _lapack_lm_step, _small_lm_step

    rng = np.random.default_rng(n)
    j = rng.standard_normal((200, m, n))
    j[7] = 0.0  # no curvature and no damping: not positive definite
    j[8, :, 0] = j[8, :, -1]  # singular JᵀJ, made definite by the damping
    f = rng.standard_normal((200, m))
    damping = rng.uniform(1e-6, 1e-2, 200)
    scale = rng.uniform(0.5, 2.0, (200, n))
    scale[7] = 0.0
    quick = _small_lm_step(j, f, damping, scale)
    each = _lapack_lm_step(j, f, damping, scale)
    assert np.isfinite(quick[8]).all()
    assert np.allclose(quick, each, rtol=1e-8, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize(
    "equations, bounds",
    [
        (["10*(y - x^2) = 0", "1 - x = 0"], None),  # Rosenbrock's curved valley
        (["x^2 + y^2 = 4", "x*y = 1"], None),
        (["x^2 + y^2 = 1", "x^2 + y^2 = 4"], None),  # a valley floor, no root
        (["(x - 1)^2 = 0", "y = 2"], None),  # a double root: slow settling
        (["x^2 + y^2 = 4", "x*y = 1"], (np.array([0.5, -np.inf]), np.array([np.inf, 1.0]))),
    ],
)
def test_polishing_one_point_at_a_time_takes_the_batch_steps(equations, bounds):
    from gdsolve.refine import _polish_batch, _polish_point, _Solver

    system = prepare(equations)
    lower, upper = bounds or (np.full(2, -np.inf), np.full(2, np.inf))
    starts = np.random.default_rng(4).uniform(-3, 3, (12, 2))
    solver = _Solver(system)
    together = _polish_batch(system, solver, starts, lower, upper, 30, None)
    for k, start in enumerate(starts):
        alone = _polish_point(system, solver, start[None], lower, upper, 30, None)
        assert alone.x[0] == pytest.approx(together.x[k], rel=1e-9, abs=1e-12)
        assert alone.f[0] == pytest.approx(together.f[k], rel=1e-6, abs=1e-12)
        assert alone.settled[0] == together.settled[k]


def _counting_evaluations(system):
    """Wrap ``system.evaluate`` so that it counts its calls."""
    calls = []
    evaluate = system.evaluate

    def counted(x):
        calls.append(len(x))
        return evaluate(x)

    system.evaluate = counted
    return calls


@pytest.mark.parametrize(
    "equations, root",
    [(["x + y = 2", "x + 1.0001*y = 2.0001"], [1.0, 1.0]),
     (["x + y + z = 3", "x + 1.001*y + z = 3.001", "x + y + 1.01*z = 3.01"],
      [1.0, 1.0, 1.0])],
)
@pytest.mark.parametrize("start", [0.0, 5.0])
def test_polishing_solves_a_nearly_singular_linear_system_in_a_few_steps(
    equations, root, start
):
    # The damping shrinks with the residuals, so once the strong directions
    # are solved the weak one is no longer held back (it took 13-16
    # evaluations while the damping only shrank by thirds).
    from gdsolve.refine import polish

    system = prepare(equations)
    n = system.n_unknowns
    calls = _counting_evaluations(system)
    free = np.full(n, np.inf)
    done = polish(system, np.full((1, n), start), -free, free, steps=100)
    assert done.x[0] == pytest.approx(root, abs=1e-10)  # condition 4e4: 1e-11
    assert done.settled[0]
    assert len(calls) <= 5


@pytest.mark.parametrize("one_by_one", [True, False])
def test_polishing_stops_when_the_next_step_would_be_below_precision(one_by_one):
    # Near a simple root the steps shrink quadratically: after steps of
    # about 1e-8 and 1e-15 the next would be about 1e-29, far below the
    # precision of the point, so it is not taken (taking it costs a sixth
    # evaluation and changes no digit).
    import math

    from gdsolve.refine import _polish_batch, _polish_point, _Solver

    system = prepare(["x^2 + y^2 = 4", "x*y = 1"])
    calls = _counting_evaluations(system)
    free = np.full(2, np.inf)
    polish = _polish_point if one_by_one else _polish_batch
    done = polish(system, _Solver(system), np.array([[2.0, 0.6]]), -free, free, 100, None)
    x = math.sqrt(2 + math.sqrt(3))
    assert done.settled[0]
    assert done.x[0] == pytest.approx([x, 1 / x], rel=1e-15)
    assert len(calls) == 5
    assert done.error[0].max() < 1e-20  # the foretold step, not the last one


@pytest.mark.parametrize("one_by_one", [True, False])
@pytest.mark.parametrize(
    "equations, start, root, most",
    [(["x^10 = 1"], [0.5], [1.0], 16),
     (["exp(x) = 2", "y^3 + y = 2"], [0.0, 0.0], [0.6931471805599453, 1.0], 11)],
)
def test_polishing_does_not_retry_a_step_like_the_one_rejected(
    one_by_one, equations, start, root, most
):
    # The Newton step from x = 0.5 overshoots x^10 = 1 to x = 52. Doubling a
    # damping of 1e-5 would leave it that long for four more evaluations (20
    # in all); such a step is solved again with more damping, not tried.
    from gdsolve.refine import _polish_batch, _polish_point, _Solver

    system = prepare(equations)
    calls = _counting_evaluations(system)
    free = np.full(len(start), np.inf)
    polish = _polish_point if one_by_one else _polish_batch
    done = polish(system, _Solver(system), np.array([start]), -free, free, 100, None)
    assert done.settled[0]
    assert done.x[0] == pytest.approx(root, rel=1e-15)
    assert len(calls) == most


def test_polishing_stops_at_roots_whose_residuals_round_above_their_terms():
    # In expanded form T9's values are small differences of terms up to 576:
    # at its exact roots they round to a few times the terms' rounding, which
    # polishing now measures instead of taking up to 8 futile steps.
    import math

    from gdsolve.refine import polish

    system = prepare(["256*x^9 - 576*x^7 + 432*x^5 - 120*x^3 + 9*x = 0"])
    calls = _counting_evaluations(system)
    free = np.full(1, np.inf)
    for k in range(1, 10):
        root = math.cos((2 * k - 1) * math.pi / 18)
        calls.clear()
        done = polish(system, np.array([[root]]), -free, free, steps=100)
        assert done.settled[0]
        assert done.x[0, 0] == pytest.approx(root, abs=1e-14)
        assert len(calls) <= 4


@pytest.mark.parametrize("target", [300.0, 512.0, 1e12, -7.25e-5])
def test_polishing_lands_on_the_root_of_a_linear_equation_exactly(target):
    # the last step, shorter than the last digits, is taken without
    # evaluating it, one point at a time and in a batch
    from gdsolve.refine import polish

    system = prepare([f"x = {target!r}"])
    free = np.full(1, -np.inf), np.full(1, np.inf)
    starts = np.random.default_rng(1).uniform(-10, 10, (12, 1))
    alone = polish(system, starts[:1], *free)
    together = polish(system, starts, *free)
    assert alone.x[0, 0] == target
    assert together.x[:, 0].tolist() == [target] * 12
    assert solve([f"x = {target!r}"], seed=1).roots[0].x == [target]
