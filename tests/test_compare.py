"""``compare``: every method from the same starts, numbers equal to ``solve``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from gdsolve.api import Settings, prepare, solve
from gdsolve.compare import compare, compare_equations, start_outcomes
from gdsolve.methods import METHODS

CIRCLE = ["x^2 + y^2 = 4", "x*y = 1"]
#: One root and a valley floor above zero: not every start reaches the root.
VALLEY = ["x^3 - 3x + 3 = 0", "y = x + 1"]
SEED = 7
STARTS = 24


@pytest.fixture(scope="module")
def valley():
    system = prepare(VALLEY, None, None, 20.0)
    return system, compare(system, Settings(starts=STARTS, seed=SEED))


def at_root(result) -> int:
    return sum(s.starts for s in result.roots)


def test_one_row_per_method_in_table_order(valley) -> None:
    _, table = valley
    assert [row.method for row in table.rows] == list(METHODS)
    assert len(table.rows) == 5
    assert table.seed == SEED


@pytest.mark.parametrize("method", list(METHODS))
def test_each_row_matches_solve_with_that_method_and_seed(valley, method) -> None:
    _, table = valley
    row = next(r for r in table.rows if r.method == method)
    alone = solve(VALLEY, method=method, seed=SEED, starts=STARTS, polish_early=False)
    assert row.roots == len(alone.roots)
    assert row.at_root == at_root(alone)
    assert row.fraction == at_root(alone) / alone.starts["used"]
    assert row.used == alone.starts["used"] == STARTS
    for key in ("converged", "diverged", "budget", "undefined"):
        assert getattr(row, key) == alone.starts[key]
    assert row.stalled == alone.starts["stationary"]
    assert [s.values for s in row.result.solutions] == [
        s.values for s in alone.solutions
    ]


def test_the_valley_floor_keeps_some_starts_from_the_root(valley) -> None:
    _, table = valley
    gd = table.rows[0]
    assert gd.roots == 1
    assert 0 < gd.at_root < gd.used
    assert 0 < gd.fraction < 1


def test_every_method_starts_from_the_same_points(valley) -> None:
    _, table = valley
    first = [row.result.extra["paths"][0] for row in table.rows]
    for points in first[1:]:
        assert np.array_equal(points, first[0])


def test_median_iterations_are_over_the_converged_starts(valley) -> None:
    system, table = valley
    for row in table.rows:
        outcome = start_outcomes(system, row.result)
        assert outcome.converged.sum() == row.converged
        if row.converged:
            expected = float(np.median(outcome.iterations[outcome.converged]))
            assert row.median_iterations == expected
            assert 1 <= row.median_iterations <= row.result.iterations
        else:
            assert row.median_iterations is None


def test_best_start_curve_falls_from_start_to_end(valley) -> None:
    _, table = valley
    for row in table.rows:
        assert row.curve is not None and len(row.curve) >= 1
        assert row.curve[-1] <= row.curve[0]


def test_without_a_seed_one_is_drawn_and_shared() -> None:
    table = compare_equations(CIRCLE, starts=4, methods=["gd", "adam"])
    assert isinstance(table.seed, int)
    assert {row.result.seed for row in table.rows} == {table.seed}


def test_compare_json_has_a_row_per_method(cli) -> None:
    run = cli("compare", *CIRCLE, "--seed", "3", "-n", "12", "-f", "json")
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert [m["method"] for m in data["methods"]] == list(METHODS)
    assert data["seed"] == 3
    for entry in data["methods"]:
        alone = solve(CIRCLE, method=entry["method"], seed=3, starts=12)
        assert entry["roots"] == len(alone.roots) == 4
        assert entry["fraction"] == round(at_root(alone) / 12, 6)
    assert "fraction" in data["definitions"]


def test_compare_csv_and_table(cli) -> None:
    run = cli("compare", *VALLEY, "--seed", "2", "-n", "8", "-f", "csv")
    assert run.exit_code == 0, run.output
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert [r["method"] for r in rows] == list(METHODS)
    assert all(r["starts"] == "8" for r in rows)
    run = cli("compare", *VALLEY, "--seed", "2", "-n", "8")
    assert run.exit_code == 0, run.output
    for method in METHODS:
        assert method in run.stdout
    assert "at a" in run.stdout and "median" in run.stdout


def test_compare_without_any_root_exits_1(cli) -> None:
    run = cli("compare", "2*x + y = 1", "x*y = 1", "--seed", "1", "-n", "6",
              "-f", "json")
    assert run.exit_code == 1
    data = json.loads(run.stdout)
    assert all(m["roots"] == 0 for m in data["methods"])


def test_compare_plot_draws_one_chart(cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "methods.png"
    run = cli("compare", *CIRCLE, "--seed", "1", "-n", "8", "--plot", str(target))
    assert run.exit_code == 0, run.output
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


def test_compare_plot_with_a_bad_suffix_exits_2_before_solving(cli, tmp_path) -> None:
    run = cli("compare", *CIRCLE, "--plot", str(tmp_path / "chart.jpg"))
    assert run.exit_code == 2
    assert ".png or .svg" in run.stderr
