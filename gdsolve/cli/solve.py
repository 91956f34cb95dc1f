"""``gdsolve solve`` and ``gdsolve methods``."""

from __future__ import annotations

import sys
from typing import Any

import typer

from gdsolve.cli import options as o
from gdsolve.cli.app import app, guarded, modules_loaded, stderr, stdout
from gdsolve.cli.quick import Command
from gdsolve.errors import ExitCode, InputError, ParseError

#: Most bytes read from stdin for one system.
STDIN_LIMIT = 1_000_000


def read_equation_lines(text: str) -> list[str]:
    """Return the equations in text: one per line, '#' comments and blanks skipped."""
    return [line for _, line in numbered_lines(text)]


def numbered_lines(text: str) -> list[tuple[int, str]]:
    """Return ``(line number, text)`` of each line that holds equations."""
    out = []
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            out.append((number, line))
    return out


def line_of_equation(lines: list[tuple[int, str]], index: int) -> int | None:
    """Return the line that holds equation ``index`` (1-based, after ';' splits)."""
    from gdsolve.parsing import split_equations

    count = 0
    for number, line in lines:
        count += len(split_equations([line]))
        if index <= count:
            return number
    return None


def gather_equations(equations: list[str] | None) -> list[str]:
    """Take equations from the arguments, or from stdin for '-' or a pipe."""
    return gather_numbered(equations)[0]


def gather_numbered(
    equations: list[str] | None,
) -> tuple[list[str], list[tuple[int, str]]]:
    """Like :func:`gather_equations`, with the numbered lines read from stdin."""
    equations, lines = list(equations or []), []
    if sys.stdin is None and (not equations or equations == ["-"]):
        raise InputError("no equations given and no stdin to read them from")
    if equations == ["-"] or (not equations and not sys.stdin.isatty()):
        data = sys.stdin.buffer.read(STDIN_LIMIT + 1)
        if len(data) > STDIN_LIMIT:
            raise InputError(f"stdin holds more than {STDIN_LIMIT} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError(
                f"stdin is not UTF-8 text (byte {error.start + 1} is not valid)"
            ) from None
        lines = numbered_lines(text)
        equations = [line for _, line in lines]
        if not equations:
            raise InputError("no equations on stdin")
    elif not equations:
        stderr().print(
            'usage: gdsolve solve "x^2 + y^2 = 4" "x*y = 1"   (or pipe equations in; '
            "gdsolve solve --help)",
            highlight=False,
        )
        raise typer.Exit(ExitCode.BAD_INPUT)
    elif "-" in equations:
        raise InputError("'-' (read stdin) must be the only equation argument")
    return equations, lines


def method_settings(
    method: o.MethodName,
    lr: float | None,
    line_search: bool | None,
    momentum: float | None,
    beta1: float | None,
    beta2: float | None,
    eps: float | None,
    batch_size: int | None,
) -> dict[str, Any]:
    """Collect the method options into settings."""
    return {
        "method": method.value,
        "lr": lr,
        "line_search": line_search,
        "momentum": momentum,
        "beta1": beta1,
        "beta2": beta2,
        "eps": eps,
        "batch_size": batch_size,
    }


@app.command(cls=Command)
def solve(
    equations: o.Equations = None,
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
    starts: o.Starts = 64,
    box: o.Box = None,
    start: o.Start = None,
    bounds: o.Bounds = None,
    max_iter: o.MaxIter = 500,
    tol: o.Tol = 1e-10,
    seed: o.Seed = None,
    noise: o.Noise = 0.01,
    polish: o.Polish = True,
    all_roots: o.AllRoots = False,
    patience: o.Patience = 5,
    max_rounds: o.MaxRounds = 20,
    output: o.OutputFormat = o.Format.table,
    quiet: o.Quiet = False,
    trace: o.Trace = 0,
    setup_timeout: o.SetupTimeout = 20.0,
) -> None:
    """Find every real solution of a system of equations.

    Example: gdsolve solve "x^2 + y^2 = 4" "x*y = 1"
    """
    json_output = output in (o.Format.json, o.Format.jsonl)

    def run() -> ExitCode:
        from gdsolve.api import solve as solve_equations

        modules_loaded()
        texts, lines = gather_numbered(equations)
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
                all_roots=all_roots,
                patience=patience,
                max_rounds=max_rounds,
            )
        )
        with _progress(quiet) as progress, _name_lines(lines):
            result = solve_equations(
                texts,
                variables=o.split_names(vars),
                params=o.parameters(param),
                setup_timeout=setup_timeout,
                progress=progress,
                trace=trace,
                **settings,
            )
        _emit(result, output, quiet)
        return result.exit_code

    raise typer.Exit(guarded(run, json_output))


def _emit(result, output: o.Format, quiet: bool) -> None:
    from gdsolve import report

    if output in (o.Format.json, o.Format.jsonl):
        print(report.dumps(result.to_dict()), flush=True)
    elif output == o.Format.csv:
        rows = report.csv_rows("", result.to_dict(), result.variables)
        print(
            report.to_csv(rows, report.CSV_HEAD + result.variables), end="", flush=True
        )
    else:
        report.print_table(result, stdout(), stderr(), quiet)
    if not quiet:
        report.print_search(result, stderr())
        if result.extra.get("trace"):
            report.print_trace(result, stderr())


class _name_lines:
    """Name the stdin line of an equation with an error, not its number."""

    def __init__(self, lines: list[tuple[int, str]]) -> None:
        self.lines = lines

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, trace) -> None:
        if isinstance(error, ParseError) and error.equation and self.lines:
            error.line = line_of_equation(self.lines, error.equation)


class _progress:
    """A status line on stderr while the descent runs, only on a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.console = stderr()
        self.live = not quiet and self.console.is_terminal
        self.status = None

    def __enter__(self):
        if not self.live:
            return None
        self.status = self.console.status("preparing the system…")
        self.status.start()
        return self.update

    def update(self, iteration: int, best: float, running: int, converged: int) -> None:
        self.status.update(
            f"iteration {iteration} · best objective {best:.3g} · "
            f"{running} starts running · {converged} at a root"
        )

    def __exit__(self, *exc) -> None:
        if self.status is not None:
            self.status.stop()


@app.command(cls=Command)
def methods() -> None:
    """List the descent methods, what each does and its settings."""
    from gdsolve.methods import METHODS

    def show() -> None:
        console = stdout()
        for info in METHODS.values():
            console.print(f"[bold]{info.name:<9}[/]{info.summary}", highlight=False)
            shown = "  ".join(
                f"--{k.replace('_', '-')} {'auto' if v is None else v}"
                for k, v in info.defaults.items()
            )
            console.print(f"{'':9}{shown}", highlight=False, markup=False)

    guarded(show)
