"""``gdsolve plot`` and ``gdsolve compare``."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Iterator, Optional

import typer

from gdsolve.cli import options as o
from gdsolve.cli.app import app, guarded, modules_loaded, stderr, stdout
from gdsolve.cli.quick import Command
from gdsolve.cli.solve import gather_equations, method_settings
from gdsolve.errors import ExitCode

OutputFile = Annotated[
    Path,
    typer.Option(
        "--output",
        "-o",
        help="Picture to write; the suffix chooses the format: .png or .svg.",
        rich_help_panel=o.OUTPUT,
        show_default=False,
    ),
]
ChartFile = Annotated[
    Optional[Path],
    typer.Option(
        "--plot",
        help="Also draw the convergence of each method's best start to this "
        "picture (.png or .svg).",
        rich_help_panel=o.OUTPUT,
        show_default=False,
    ),
]
PlotStarts = Annotated[
    int,
    typer.Option(
        "--starts",
        "-n",
        help="Number of random starts (fewer than for solve, so paths stay readable).",
        rich_help_panel=o.SEARCH,
    ),
]

#: Columns of ``compare --format csv``, also the keys of each JSON row.
COMPARE_COLUMNS = [
    "method",
    "status",
    "roots",
    "at_root",
    "starts",
    "fraction",
    "median_iterations",
    "converged",
    "diverged",
    "stalled",
    "budget",
    "undefined",
    "seconds",
]


@app.command(cls=Command)
def plot(
    equations: o.Equations = None,
    output: OutputFile = ...,
    vars: o.Vars = None,
    param: o.Params = None,
    method: o.Method = o.MethodName.gd,
    lr: o.LearningRate = None,
    line_search: o.LineSearch = None,
    momentum: o.Momentum = None,
    beta1: o.Beta1 = None,
    beta2: o.Beta2 = None,
    eps: o.Eps = None,
    batch_size: o.BatchSize = None,
    scale: o.Scale = True,
    starts: PlotStarts = 16,
    box: o.Box = None,
    start: o.Start = None,
    bounds: o.Bounds = None,
    max_iter: o.MaxIter = 500,
    tol: o.Tol = 1e-10,
    seed: o.Seed = None,
    noise: o.Noise = 0.01,
    polish: o.Polish = True,
    quiet: o.Quiet = False,
    setup_timeout: o.SetupTimeout = 20.0,
) -> None:
    """Draw the objective landscape and every start's path to a PNG or SVG file.

    Two unknowns: contours and paths. One: the objective curve. More:
    the objective per iteration of each start. Exits 0 once the picture is
    written, whether or not a root was found.

    Example: gdsolve plot "x^2 + y^2 = 4" "x*y = 1" -o landscape.png
    """

    def run() -> ExitCode:
        from gdsolve import plotting
        from gdsolve.api import Settings, prepare, solve_system

        modules_loaded()
        plotting.picture_format(output)
        plotting.require_matplotlib()
        texts = gather_equations(equations)
        settings = method_settings(
            method, lr, line_search, momentum, beta1, beta2, eps, batch_size
        )
        settings.update(
            o.search_settings(
                box,
                start,
                bounds,
                starts=starts,
                max_iter=max_iter,
                tol=tol,
                seed=seed,
                noise=noise,
                polish=polish,
                scale=scale,
            )
        )
        chosen = Settings(**settings, polish_early=False)  # draw the method's own paths
        with _status(quiet, "solving…"):
            names, values = o.split_names(vars), o.parameters(param)
            system = prepare(texts, names, values, setup_timeout)
            result = solve_system(system, chosen, record_paths=True)
            written = plotting.plot_result(system, result, output)
        if not quiet:
            stderr().print(
                f"wrote {written}: {result.message}; method {result.method}, "
                f"seed {result.seed}, {result.starts['used']} starts",
                style="dim",
                highlight=False,
                markup=False,
            )
        return ExitCode.OK

    raise typer.Exit(guarded(run))


@app.command(cls=Command)
def compare(
    equations: o.Equations = None,
    vars: o.Vars = None,
    param: o.Params = None,
    scale: o.Scale = True,
    starts: o.Starts = 64,
    box: o.Box = None,
    start: o.Start = None,
    bounds: o.Bounds = None,
    max_iter: o.MaxIter = 500,
    tol: o.Tol = 1e-10,
    seed: o.Seed = None,
    noise: o.Noise = 0.01,
    polish: o.Polish = True,
    output: o.OutputFormat = o.Format.table,
    chart: ChartFile = None,
    quiet: o.Quiet = False,
    setup_timeout: o.SetupTimeout = 20.0,
) -> None:
    """Run every descent method from the same starts and seed; one row per method.

    Columns: distinct roots; starts at a root (starts whose polished end point
    is a root / starts used); median iterations of the starts that converged;
    diverged, stalled and out-of-budget starts; time. Each method uses its
    default settings (see 'gdsolve methods').

    Example: gdsolve compare "x^2 + y^2 = 4" "x*y = 1" --seed 1
    """
    json_output = output in (o.Format.json, o.Format.jsonl)

    def run() -> ExitCode:
        from gdsolve.compare import compare_equations

        if chart is not None:
            from gdsolve import plotting

            plotting.picture_format(chart)
            plotting.require_matplotlib()
        modules_loaded()
        texts = gather_equations(equations)
        settings = o.search_settings(
            box,
            start,
            bounds,
            starts=starts,
            max_iter=max_iter,
            tol=tol,
            seed=seed,
            noise=noise,
            polish=polish,
            scale=scale,
        )
        with _status(quiet, "preparing the system…") as status:
            table = compare_equations(
                texts,
                variables=o.split_names(vars),
                params=o.parameters(param),
                setup_timeout=setup_timeout,
                announce=lambda name: status(f"running {name}…"),
                **settings,
            )
        _emit_comparison(table, output)
        if chart is not None:
            _draw_chart(table, texts, chart, quiet)
        return ExitCode.OK if table.success else ExitCode.NO_ROOT

    raise typer.Exit(guarded(run, json_output))


def _emit_comparison(table: Any, output: o.Format) -> None:
    from gdsolve import report

    if output == o.Format.json:
        print(report.dumps(table.to_dict()), flush=True)
    elif output == o.Format.jsonl:
        for row in table.rows:
            record = {"seed": table.seed, **row.to_dict()}
            print(report.dumps(record), flush=True)
    elif output == o.Format.csv:
        rows = [
            [_csv_cell(row.to_dict()[key]) for key in COMPARE_COLUMNS]
            for row in table.rows
        ]
        print(report.to_csv(rows, COMPARE_COLUMNS), end="", flush=True)
    else:
        stdout().print(_comparison_table(table))


def _csv_cell(value: Any) -> Any:
    return "" if value is None else value


#: Column heads of the comparison table.
COLUMN_HEADS = (
    "method",
    "roots",
    "at a\nroot",
    "median\niter",
    "diverged",
    "stalled",
    "budget",
    "time",
)


def _comparison_table(table: Any) -> Any:
    """A Rich table with one row per method."""
    from rich import box
    from rich.table import Table

    used = table.rows[0].used if table.rows else 0
    view = Table(
        title=f"{used} starts, seed {table.seed}: the same starting points for "
        "every method",
        title_justify="left",
        caption="at a root: starts whose polished end point is a root / starts "
        "used\nmedian iter: over the starts that converged\nstalled: stopped "
        "away from a root; budget: still moving at --max-iter",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for name in COLUMN_HEADS:
        justify = "left" if name == "method" else "right"
        view.add_column(name, justify=justify, no_wrap=True)
    for row in table.rows:
        median = "-" if row.median_iterations is None else f"{row.median_iterations:g}"
        view.add_row(
            row.method,
            str(row.roots),
            f"{row.at_root}/{row.used} {row.fraction:.0%}",
            median,
            str(row.diverged),
            str(row.stalled),
            str(row.budget),
            f"{row.seconds:.2f} s",
        )
    return view


def _draw_chart(table: Any, texts: list[str], chart: Path, quiet: bool) -> None:
    from gdsolve import plotting

    curves = {row.method: row.curve for row in table.rows if row.curve is not None}
    title = f"{',   '.join(texts)}\nbest start of each method · seed {table.seed}"
    written = plotting.plot_convergence(curves, chart, title)
    if not quiet:
        stderr().print(f"wrote {written}", style="dim", highlight=False, markup=False)


@contextmanager
def _status(quiet: bool, text: str) -> Iterator[Any]:
    """A status line on stderr while work runs, only on a terminal."""
    console = stderr()
    if quiet or not console.is_terminal:
        yield lambda message: None
        return
    with console.status(text) as status:
        yield lambda message: status.update(message)
