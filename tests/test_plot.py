"""Recorded paths and the ``plot`` command: real pictures of real solves."""

from __future__ import annotations

import struct
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest

from gdsolve.api import Settings, prepare, solve, solve_system
from gdsolve.plotting import INSTALL_HINT, PlotError, picture_format, plot_result

CIRCLE = ["x^2 + y^2 = 4", "x*y = 1"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG file's IHDR chunk, checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def circle():
    return prepare(CIRCLE, None, None, 20.0)


# -- recorded paths -----------------------------------------------------------


def test_paths_run_from_the_given_starts_to_the_end_points(circle) -> None:
    starts = [{"x": 3.0, "y": 1.0}, {"x": -2.5, "y": 0.5}, {"x": 0.2, "y": -3.0}]
    settings = Settings(starts=0, start_points=starts, seed=4)
    result = solve_system(circle, settings, record_paths=True)
    paths = result.extra["paths"]
    assert paths.shape == (result.iterations + 1, 3, 2)
    assert np.array_equal(paths[0], [[3.0, 1.0], [-2.5, 0.5], [0.2, -3.0]])
    assert np.array_equal(paths[-1], result.extra["ends"])


def test_random_starts_are_recorded_inside_the_box_and_repeat_with_the_seed() -> None:
    first = solve(CIRCLE, starts=6, seed=11, box=(-3, 3), record_paths=True)
    again = solve(CIRCLE, starts=6, seed=11, box=(-3, 3), record_paths=True)
    paths = first.extra["paths"]
    assert paths.shape == (first.iterations + 1, 6, 2)
    assert ((paths[0] >= -3) & (paths[0] <= 3)).all()
    assert np.array_equal(paths[-1], first.extra["ends"])
    assert np.array_equal(paths, again.extra["paths"])


def test_paths_are_kept_only_when_asked_for(circle) -> None:
    result = solve_system(circle, Settings(starts=4, seed=1))
    assert result.extra.get("paths") is None
    assert "ends" not in result.extra


def test_a_stopped_start_keeps_its_last_point(circle) -> None:
    result = solve_system(circle, Settings(starts=8, seed=2), record_paths=True)
    paths = result.extra["paths"]
    for start, stop in enumerate(result.extra["start_iterations"]):
        assert (paths[stop:, start] == paths[-1, start]).all()


# -- pictures -----------------------------------------------------------------


def test_two_unknowns_make_a_png_of_800_by_600(cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "landscape.png"
    run = cli("plot", *CIRCLE, "-o", str(target), "--seed", "1", "--box", "-3:3")
    assert run.exit_code == 0, run.output
    assert png_size(target) == (800, 600)
    assert "4 real roots" in run.stderr


def test_svg_is_well_formed_xml_with_an_svg_root(cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "landscape.svg"
    run = cli("plot", *CIRCLE, "-o", str(target), "--seed", "1", "-n", "6", "-q")
    assert run.exit_code == 0, run.output
    root = ElementTree.parse(target).getroot()
    assert root.tag.endswith("svg")
    assert target.read_text().lstrip().startswith("<?xml")


def test_one_unknown_draws_the_objective_curve(cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "curve.png"
    run = cli("plot", "x^3 - 2x = 1", "-o", str(target), "--seed", "3", "-q")
    assert run.exit_code == 0, run.output
    assert png_size(target) == (800, 600)


def test_three_unknowns_draw_convergence_curves(cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.image

    target = tmp_path / "curves.png"
    equations = ["2x + y - z = 8", "-3x - y + 2z = -11", "-2x + y + 2z = -3"]
    run = cli("plot", *equations, "-o", str(target), "--seed", "1", "-q")
    assert run.exit_code == 0, run.output
    pixels = matplotlib.image.imread(target)
    assert pixels.shape[:2] == (600, 800)
    assert pixels.std() > 0.01  # something was drawn


def test_a_system_without_roots_is_still_drawn(cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "none.png"
    run = cli("plot", "2*x + y = 1", "x*y = 1", "-o", str(target), "--seed", "1")
    assert run.exit_code == 0, run.output
    assert png_size(target) == (800, 600)
    assert "no real root" in run.stderr


@pytest.mark.parametrize("name", ["picture.gif", "picture", "picture.png.txt"])
def test_an_unknown_picture_suffix_exits_2(cli, tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    run = cli("plot", *CIRCLE, "-o", str(target))
    assert run.exit_code == 2
    assert ".png or .svg" in run.stderr
    assert not target.exists()


@pytest.mark.parametrize(
    "command", [["plot", *CIRCLE, "-o"], ["compare", *CIRCLE, "--plot"]]
)
def test_a_missing_folder_exits_2_before_any_solving(cli, tmp_path, command) -> None:
    target = tmp_path / "no-such-folder" / "picture.png"
    run = cli(*command, str(target), "-n", "4", "--seed", "1")
    assert run.exit_code == 2
    assert f"there is no folder '{target.parent}'" in run.stderr
    assert run.stdout == ""


def test_the_output_file_is_required(cli) -> None:
    run = cli("plot", *CIRCLE)
    assert run.exit_code == 2


def test_without_matplotlib_plot_says_what_to_install(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    target = tmp_path / "landscape.png"
    run = cli("plot", *CIRCLE, "-o", str(target))
    assert run.exit_code == 2
    assert INSTALL_HINT in run.stderr
    assert 'pip install "gdsolve[plot]"' in run.stderr
    assert not target.exists()


def test_without_matplotlib_compare_plot_says_what_to_install(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    run = cli("compare", *CIRCLE, "--plot", str(tmp_path / "chart.png"))
    assert run.exit_code == 2
    assert INSTALL_HINT in run.stderr


def test_plot_result_needs_recorded_paths(circle, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = solve_system(circle, Settings(starts=4, seed=1))
    with pytest.raises(PlotError, match="record_paths"):
        plot_result(circle, result, tmp_path / "x.png")


def test_picture_format_follows_the_suffix() -> None:
    assert picture_format("a.png") == "png"
    assert picture_format("A.SVG") == "svg"
    with pytest.raises(PlotError):
        picture_format("a.pdf")
