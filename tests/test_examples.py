"""Every example file gives its known answer, through the API and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gdsolve import solve
from gdsolve.cli.solve import read_equation_lines

from conftest import same_points

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
S2 = 2**0.5

#: file -> (roots, local minima that are not roots, exit code)
ANSWERS = {
    "circle_hyperbola.txt": (
        [
            (1.9318516525781366, 0.5176380902050415),
            (0.5176380902050415, 1.9318516525781366),
            (-1.9318516525781366, -0.5176380902050415),
            (-0.5176380902050415, -1.9318516525781366),
        ],
        [],
        0,
    ),
    "no_real_solution.txt": ([], [(0.31290841, 0.62581682)], 1),
    "circle_cubic.txt": (
        [(S2, S2), (-S2, -S2)],
        [(0.6789783, -1.7726291), (-0.6789783, 1.7726291)],
        0,
    ),
    "linear_3x3.txt": ([(2.0, 3.0, -1.0)], [], 0),
    "local_minimum.txt": (
        [(-2.1038034027355375, -1.1038034027355375)],
        [(1.0, 2.0)],
        0,
    ),
    "rosenbrock.txt": ([(1.0, 1.0)], [], 0),
    "trigonometric.txt": (
        [
            (0.7390851332151607, 0.6736120291832148),
            (-0.7390851332151607, -0.6736120291832148),
        ],
        [],
        0,
    ),
    "exponential.txt": (
        [
            (0.6190612867359452, 0.6190612867359452),
            (1.5121345516578424, 1.5121345516578424),
        ],
        [],
        0,
    ),
}


def test_every_example_file_has_an_answer():
    assert sorted(
        p.name for p in EXAMPLES.glob("*.txt") if p.name in ANSWERS
    ) == sorted(ANSWERS)


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_example_gives_its_roots_and_valley_floors(name):
    roots, floors, code = ANSWERS[name]
    equations = read_equation_lines((EXAMPLES / name).read_text())
    result = solve(equations, seed=11)
    assert result.exit_code == code
    assert same_points([r.x for r in result.roots], roots, tol=1e-9)
    found = [s.x for s in result.solutions if s.kind == "local-minimum"]
    assert same_points(found, floors, tol=1e-5)


def test_local_minimum_example_reports_the_valley_floor_height():
    equations = read_equation_lines((EXAMPLES / "local_minimum.txt").read_text())
    result = solve(equations, seed=11)
    floor = next(s for s in result.solutions if s.kind == "local-minimum")
    assert floor.objective == pytest.approx(1.0, abs=1e-9)
    assert floor.residual == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_example_runs_from_stdin_on_the_command_line(cli, name):
    roots, _, code = ANSWERS[name]
    result = cli(
        "solve", "--seed", "5", "--format", "json", input=(EXAMPLES / name).read_text()
    )
    assert result.exit_code == code
    record = json.loads(result.stdout)
    got = [
        list(s["values"].values()) for s in record["solutions"] if s["kind"] == "root"
    ]
    assert same_points(got, roots, tol=1e-9)
