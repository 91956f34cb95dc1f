"""Pictures of a solve: the objective landscape and how the starts walked it.

Matplotlib is an optional extra (``pip install "gdsolve[plot]"``); it is
imported only when a picture is drawn, and only through its object interface
with the Agg canvas, so no window ever opens and no global state is touched.

What is drawn depends on the number of unknowns:

- two: filled contours of ``Σ Fᵢ²`` on a log scale over the search box, each
  start's path from its start (a dot) to its end, roots as stars and valley
  floors that are not roots as crosses;
- one: the curve of ``Σ Fᵢ²`` (log scale) with each path along it;
- more: the objective after each iteration, one line per start, coloured by
  the solution the start ended at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from gdsolve.compare import objective_along, start_outcomes
from gdsolve.errors import GdsolveError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from gdsolve.result import Solution, SolveResult
    from gdsolve.system import System

#: The command that installs what plotting needs.
INSTALL_HINT = 'pip install "gdsolve[plot]"'
#: Picture formats, by file suffix.
FORMATS = {".png": "png", ".svg": "svg"}
#: Size of a picture in inches, and dots per inch (800 × 600 pixels).
SIZE = (8.0, 6.0)
DPI = 100
#: Points per side of the grid the landscape is drawn on.
GRID_2D = 240
GRID_1D = 1200
#: The colour scale spans at most this many decades below the highest value.
DECADES = 12
#: Smallest objective drawn on a log axis; lower values sit on this floor.
FLOOR = 1e-30
#: Paths drawn at most; more would hide the landscape.
MAX_PATHS = 200
#: Solutions named one by one in the legend; the rest are only marked.
LEGEND_SOLUTIONS = 8
#: A descent end this close to a solution (relative to the view) belongs to it.
NEAR = 0.02
#: Colour map of the landscape: dark valleys, light hills.
LANDSCAPE_COLOURS = "bone"
#: Colour of a path that ended at no reported solution.
ASTRAY = "#8c8c8c"
ASTRAY_LABEL = "ended away from any solution"
#: Background where the equations are undefined (log or sqrt of a negative...).
UNDEFINED = "#d9d9d9"
#: Colours of the solutions (colour-blind friendly, readable on the landscape).
PALETTE = (
    "#e69f00",
    "#0072b2",
    "#cc79a7",
    "#009e73",
    "#d55e00",
    "#56b4e9",
    "#a6761d",
    "#7f3c8d",
)


class PlotError(GdsolveError):
    """A picture cannot be drawn or written."""


class MissingPlotting(PlotError):
    """Matplotlib, which plotting needs, is not installed."""


def require_matplotlib() -> None:
    """Check that Matplotlib can be imported.

    Raises:
        MissingPlotting: It cannot; the message says what to install.
    """
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        raise MissingPlotting(
            f"drawing pictures needs matplotlib, which is not installed; "
            f"install it with: {INSTALL_HINT}"
        ) from None


def picture_format(path: str | Path) -> str:
    """Return the picture format a file name asks for.

    Raises:
        PlotError: The suffix is neither ``.png`` nor ``.svg``, or the
            folder the file would go in does not exist.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        shown = suffix or "no suffix"
        raise PlotError(
            f"cannot draw {str(path)!r}: the file name must end in .png or .svg "
            f"(got {shown})"
        )
    folder = Path(path).parent
    if not folder.is_dir():
        raise PlotError(
            f"cannot draw {str(path)!r}: there is no folder {str(folder)!r}"
        )
    return FORMATS[suffix]


# -- the pictures ------------------------------------------------------------


def plot_result(
    system: System,
    result: SolveResult,
    path: str | Path,
    title: str | None = None,
) -> Path:
    """Draw a solve's landscape and paths and write the picture.

    Args:
        system: The system that was solved.
        result: Its result, from a solve run with ``record_paths=True``.
        path: Where to write; ``.png`` or ``.svg``.
        title: First title line (default: the equations).

    Returns:
        The path written.

    Raises:
        MissingPlotting: Matplotlib is not installed.
        PlotError: The suffix is not supported or the file cannot be written.
    """
    kind = picture_format(path)
    require_matplotlib()
    if result.extra.get("paths") is None:
        raise PlotError("the solve did not record its paths (record_paths=True)")
    figure = _figure()
    axes = figure.add_subplot()
    scene = _scene(system, result)
    if system.n_unknowns == 2:
        _landscape(figure, axes, system, scene)
    elif system.n_unknowns == 1:
        _curve(axes, system, scene)
    else:
        _convergence(axes, system, scene)
    heading = title or ",   ".join(system.equations)
    axes.set_title(f"{_shorten(heading)}\n{_subtitle(result, len(scene.drawn))}", fontsize=11)
    _legend(figure, axes, scene)
    return _save(figure, path, kind)


def plot_convergence(
    curves: Mapping[str, Sequence[float]],
    path: str | Path,
    title: str = "",
) -> Path:
    """Draw objective-per-iteration curves, one line per label, and write them.

    Args:
        curves: For each label (a method), ``Σ Fᵢ²`` after each iteration.
        path: Where to write; ``.png`` or ``.svg``.
        title: The chart's title.

    Returns:
        The path written.
    """
    kind = picture_format(path)
    require_matplotlib()
    figure = _figure()
    axes = figure.add_subplot()
    colours = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9")
    for i, (label, values) in enumerate(curves.items()):
        values = _floored(np.asarray(values, dtype=float))
        steps = max(len(values) - 1, 0)
        axes.plot(
            np.arange(len(values)),
            values,
            color=colours[i % len(colours)],
            linewidth=1.8,
            label=f"{label} ({steps} iterations)",
        )
    axes.set_yscale("log")
    axes.set_xlabel("iteration")
    axes.set_ylabel("Σ F² of the best start (log scale)")
    axes.grid(True, which="major", alpha=0.3)
    lines = [_shorten(line) for line in title.splitlines()]
    axes.set_title("\n".join(lines), fontsize=11)
    axes.legend(loc="upper right", fontsize=9)
    return _save(figure, path, kind)


# -- what every picture shares ---------------------------------------------


@dataclass
class _Scene:
    """The data a picture is drawn from.

    Attributes:
        paths: Points after each iteration, ``(iterations + 1, starts, n)``.
        stops: Iterations until each start's last move.
        ended_at: Index into ``solutions`` of each start's end, -1 for none.
        solutions: The solutions to mark.
        low: Lower corner of the view, per unknown.
        high: Upper corner of the view, per unknown.
        undefined: Part of the view is where the equations are undefined.
    """

    paths: np.ndarray
    stops: np.ndarray
    ended_at: np.ndarray
    solutions: list[Solution]
    low: np.ndarray
    high: np.ndarray
    undefined: bool = False

    def colour(self, start: int) -> str:
        """The colour of a start's path: that of the solution it ended at."""
        at = self.ended_at[start]
        return ASTRAY if at < 0 else PALETTE[at % len(PALETTE)]

    @property
    def drawn(self) -> range:
        """The starts whose paths are drawn: the first :data:`MAX_PATHS`."""
        return range(min(self.paths.shape[1], MAX_PATHS))

    def walked(self, start: int) -> np.ndarray:
        """A start's points from its start to where it stopped."""
        return self.paths[: self.stops[start] + 1, start]


def _scene(system: System, result: SolveResult) -> _Scene:
    paths = np.asarray(result.extra["paths"], dtype=float)
    outcome = start_outcomes(system, result)
    solutions = list(result.solutions)
    low, high = _view(system, result, paths[0], solutions)
    ended_at = _ended_at(result, solutions, high - low)
    return _Scene(paths, outcome.iterations, ended_at, solutions, low, high)


def _view(
    system: System,
    result: SolveResult,
    starts: np.ndarray,
    solutions: list[Solution],
) -> tuple[np.ndarray, np.ndarray]:
    """Return the region drawn: the search box, widened to hold starts and answers."""
    settings = result.settings
    box, boxes = settings["box"], settings.get("boxes", {})
    low = np.array([float(boxes.get(n, box)[0]) for n in system.names])
    high = np.array([float(boxes.get(n, box)[1]) for n in system.names])
    seen = [starts] + [np.array([s.x]) for s in solutions]
    points = np.vstack(seen)
    points = points[np.isfinite(points).all(axis=1)]
    if len(points):
        low = np.minimum(low, points.min(axis=0))
        high = np.maximum(high, points.max(axis=0))
    margin = 0.04 * (high - low)
    return low - margin, high + margin


def _ended_at(
    result: SolveResult, solutions: list[Solution], width: np.ndarray
) -> np.ndarray:
    """Match each start's descent end to the nearest solution, if near enough."""
    ends = np.asarray(result.extra["ends"], dtype=float)
    ended = np.asarray(result.extra["ended"], dtype=bool)
    at = np.full(len(ends), -1)
    if not solutions:
        return at
    marks = np.array([s.x for s in solutions])
    with np.errstate(invalid="ignore", over="ignore"):
        gaps = (ends[:, None, :] - marks[None, :, :]) / width
        distance = np.sqrt((gaps**2).sum(axis=2))
    distance[~np.isfinite(distance)] = np.inf
    nearest = distance.argmin(axis=1)
    close = distance[np.arange(len(ends)), nearest] <= NEAR
    at[close & ended] = nearest[close & ended]
    return at


def _figure() -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: str | Path, kind: str) -> Path:
    target = Path(path)
    try:
        figure.savefig(target, format=kind, dpi=DPI, metadata=_metadata(kind))
    except OSError as error:
        raise PlotError(f"cannot write {str(target)!r}: {error.strerror or error}")
    return target


def _metadata(kind: str) -> dict[str, Any]:
    """Picture metadata without dates, so the same solve gives the same file."""
    if kind == "svg":
        return {"Date": None, "Creator": "gdsolve"}
    return {"Software": "gdsolve"}


def _subtitle(result: SolveResult, drawn: int) -> str:
    roots = len(result.roots)
    floors = len(result.solutions) - roots
    found = f"{roots} root{'s' if roots != 1 else ''}"
    if floors:
        found += f", {floors} local minim{'a' if floors != 1 else 'um'}"
    used = result.starts["used"]
    starts = f"{used} starts" if drawn >= used else f"{drawn} of {used} starts shown"
    return f"method {result.method} · {starts} · seed {result.seed} · {found}"


def _shorten(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _floored(values: np.ndarray) -> np.ndarray:
    """Values ready for a log axis: at least :data:`FLOOR`, undefined as NaN."""
    values = np.where(np.isfinite(values), values, np.nan)
    return np.maximum(values, FLOOR, where=~np.isnan(values), out=values.copy())


def _label(solution: Solution, number: int) -> str:
    kind = "root" if solution.kind == "root" else "local minimum"
    values = list(solution.values.items())
    if len(values) > 4:
        return f"{kind} {number} · {solution.starts} starts"
    shown = ", ".join(f"{v:.4g}" for _, v in values)
    return f"{kind} ({shown})"


def _legend(figure: Figure, axes: Axes, scene: _Scene) -> None:
    """Legend beside the plot: solutions, the start marker and strays."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = []
    for i, solution in enumerate(scene.solutions[:LEGEND_SOLUTIONS]):
        handles.append(_marker_handle(solution, PALETTE[i % len(PALETTE)], i + 1))
    hidden = len(scene.solutions) - LEGEND_SOLUTIONS
    if hidden > 0:
        handles.append(Line2D([], [], linestyle="none", label=f"+ {hidden} more"))
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            markersize=5,
            markerfacecolor="white",
            markeredgecolor="black",
            linestyle="none",
            label="start",
        )
    )
    if (scene.ended_at < 0).any():
        handles.append(Line2D([], [], color=ASTRAY, linewidth=1.2, label=ASTRAY_LABEL))
    if scene.undefined:
        handles.append(Patch(facecolor=UNDEFINED, label="equations undefined"))
    figure.legend(
        handles=handles,
        loc="outside right upper",
        ncols=1,
        fontsize=9,
        frameon=False,
    )


def _marker_handle(solution: Solution, colour: str, number: int) -> Any:
    from matplotlib.lines import Line2D

    root = solution.kind == "root"
    return Line2D(
        [],
        [],
        marker="*" if root else "X",
        markersize=13 if root else 10,
        markerfacecolor=colour,
        markeredgecolor="black",
        linestyle="none",
        label=_label(solution, number),
    )


def _mark_solutions(axes: Axes, scene: _Scene, points: np.ndarray) -> None:
    """Mark each solution: a star for a root, a cross for a local minimum."""
    for i, (solution, point) in enumerate(zip(scene.solutions, points)):
        root = solution.kind == "root"
        axes.plot(
            *point,
            marker="*" if root else "X",
            markersize=17 if root else 12,
            markerfacecolor=PALETTE[i % len(PALETTE)],
            markeredgecolor="black",
            markeredgewidth=1.0,
            linestyle="none",
            zorder=5,
        )


def _outline(width: float) -> list[Any]:
    """A dark outline that keeps a light line visible on any background."""
    from matplotlib import patheffects

    stroke = patheffects.Stroke(linewidth=width + 1.6, foreground="black", alpha=0.55)
    return [stroke, patheffects.Normal()]


# -- two unknowns: contours and paths ----------------------------------------


def _landscape(figure: Figure, axes: Axes, system: System, scene: _Scene) -> None:
    from matplotlib import colors, ticker

    xs = np.linspace(scene.low[0], scene.high[0], GRID_2D)
    ys = np.linspace(scene.low[1], scene.high[1], GRID_2D)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    values = objective_along(system, grid).reshape(gx.shape)
    bottom, top = _log_range(values)
    scene.undefined = bool(np.isnan(values).any())
    axes.set_facecolor(UNDEFINED)
    levels = np.logspace(math.log10(bottom), math.log10(top), 25)
    shown = np.ma.masked_invalid(np.clip(values, bottom, top))
    filled = axes.contourf(
        gx,
        gy,
        shown,
        levels=levels,
        norm=colors.LogNorm(bottom, top),
        cmap=LANDSCAPE_COLOURS,
    )
    bar = figure.colorbar(filled, ax=axes, pad=0.02)
    bar.set_label("Σ F²  (log scale)")
    bar.locator = ticker.LogLocator(numticks=8)
    bar.update_ticks()
    for start in scene.drawn:
        _path_2d(axes, scene, start)
    _mark_solutions(axes, scene, np.array([s.x for s in scene.solutions]))
    axes.set_xlim(scene.low[0], scene.high[0])
    axes.set_ylim(scene.low[1], scene.high[1])
    axes.set_xlabel(system.names[0])
    axes.set_ylabel(system.names[1])


def _path_2d(axes: Axes, scene: _Scene, start: int) -> None:
    points = scene.walked(start)
    points = points[np.isfinite(points).all(axis=1)]
    if not len(points):
        return
    axes.plot(
        points[:, 0],
        points[:, 1],
        color=scene.colour(start),
        linewidth=1.1,
        alpha=0.95,
        path_effects=_outline(1.1),
        zorder=3,
    )
    _start_marker(axes, points[0, 0], points[0, 1])


def _start_marker(axes: Axes, x: float, y: float) -> None:
    axes.plot(
        x,
        y,
        marker="o",
        markersize=4.5,
        markerfacecolor="white",
        markeredgecolor="black",
        markeredgewidth=0.8,
        linestyle="none",
        zorder=4,
    )


def _log_range(values: np.ndarray) -> tuple[float, float]:
    """The span of the colour scale: the positive values, at most DECADES deep."""
    positive = values[np.isfinite(values) & (values > 0)]
    if not positive.size:
        return 1e-3, 1.0
    top = float(positive.max())
    bottom = max(float(positive.min()), top * 10.0**-DECADES, FLOOR)
    if not bottom < top:
        bottom = top / 10.0
    return bottom, top


# -- one unknown: the objective curve ---------------------------------------


def _curve(axes: Axes, system: System, scene: _Scene) -> None:
    xs = np.linspace(scene.low[0], scene.high[0], GRID_1D)
    values = objective_along(system, xs[:, None])
    bottom, top = _log_range(values)
    scene.undefined = bool(np.isnan(values).any())
    if scene.undefined:
        axes.fill_between(
            xs,
            0,
            1,
            where=np.isnan(values),
            color=UNDEFINED,
            transform=axes.get_xaxis_transform(),
            linewidth=0,
        )
    curve = np.clip(values, bottom, None)
    axes.plot(xs, curve, color="#1f3b73", linewidth=2.0, zorder=2)
    for start in scene.drawn:
        points = scene.walked(start)[:, 0]
        heights = np.clip(objective_along(system, points[:, None]), bottom, None)
        axes.plot(
            points,
            heights,
            color=scene.colour(start),
            linewidth=1.0,
            alpha=0.9,
            path_effects=_outline(1.0),
            zorder=3,
        )
        _start_marker(axes, points[0], heights[0])
    marks = [(s.x[0], max(s.objective, bottom)) for s in scene.solutions]
    _mark_solutions(axes, scene, np.array(marks).reshape(-1, 2))
    axes.set_yscale("log")
    axes.set_xlim(scene.low[0], scene.high[0])
    axes.set_xlabel(system.names[0])
    axes.set_ylabel("Σ F²  (log scale)")
    axes.grid(True, which="major", alpha=0.3)


# -- more unknowns: convergence curves --------------------------------------


def _convergence(axes: Axes, system: System, scene: _Scene) -> None:
    drawn = scene.paths[:, scene.drawn]
    count, starts, n = drawn.shape
    every = objective_along(system, drawn.reshape(-1, n)).reshape(count, starts)
    for start in scene.drawn:
        values = _floored(every[: scene.stops[start] + 1, start])
        iterations = np.arange(len(values))
        axes.plot(iterations, values, color=scene.colour(start), linewidth=1.0)
        _start_marker(axes, 0, values[0])
    axes.set_yscale("log")
    axes.set_facecolor("#f4f4f4")
    axes.set_xlabel("iteration")
    axes.set_ylabel("Σ F²  (log scale)")
    axes.grid(True, which="major", alpha=0.4)


__all__ = [
    "INSTALL_HINT",
    "MissingPlotting",
    "PlotError",
    "picture_format",
    "plot_convergence",
    "plot_result",
    "require_matplotlib",
]
