"""``gdsolve batch``: solve every system in batch files (see :mod:`gdsolve.batch`)."""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from contextlib import contextmanager
from typing import Annotated, Any, Iterator, Optional

import typer

from gdsolve.cli import options as o
from gdsolve.cli.app import app, guarded, modules_loaded, stderr, stdout
from gdsolve.cli.quick import Command
from gdsolve.cli.solve import method_settings
from gdsolve.errors import ExitCode, OptionError

RUN = "Run"

Files = Annotated[
    Optional[list[str]],
    typer.Argument(
        help="Batch files: systems separated by blank lines or '---', with "
        "'@name', '@vars', '@param', '@box'... lines per system. '-' reads stdin.",
        show_default=False,
    ),
]
Jobs = Annotated[
    int,
    typer.Option(
        "--jobs",
        "-j",
        help="Worker processes; 0 means one per CPU.",
        rich_help_panel=RUN,
    ),
]
Timeout = Annotated[
    Optional[float],
    typer.Option(
        "--timeout",
        help="Seconds allowed per system; a system that runs longer is stopped "
        "and recorded with status 'timeout'.",
        rich_help_panel=RUN,
        show_default=False,
    ),
]

_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@app.command(cls=Command)
def batch(
    files: Files = None,
    jobs: Jobs = 1,
    timeout: Timeout = None,
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
    setup_timeout: o.SetupTimeout = 20.0,
) -> None:
    """Solve every system in batch files, one record per system in input order.

    Exit code 0: every system has a root; 1: some have none; 2: some failed or
    timed out; 130: interrupted. Example: gdsolve batch systems.txt -f jsonl -j 4
    """
    json_output = output in (o.Format.json, o.Format.jsonl)

    def run() -> ExitCode:
        modules_loaded()  # SymPy loads only if some system is to be solved
        paths = _paths(files)
        settings = method_settings(
            method, lr, line_search, momentum, beta1, beta2, eps, batch_size
        )
        settings.update(
            o.search_settings(
                box,
                None,
                bounds,
                starts=starts,
                max_iter=max_iter,
                tol=tol,
                noise=noise,
                polish=polish,
                scale=scale,
                all_roots=all_roots,
                patience=patience,
                max_rounds=max_rounds,
            )
        )
        workers = _jobs(jobs)
        batch_seed = seed if seed is not None else secrets.randbelow(2**32)
        session = _Session(output, quiet, batch_seed)
        return session.run(paths, settings, workers, timeout, setup_timeout)

    raise typer.Exit(guarded(run, json_output))


def _paths(files: list[str] | None) -> list[str]:
    """Check the batch files, or take stdin when it is a pipe."""
    paths = list(files or [])
    if not paths:
        if sys.stdin.isatty():
            stderr().print(
                "usage: gdsolve batch FILE... (or pipe a batch file in; "
                "gdsolve batch --help)",
                highlight=False,
            )
            raise typer.Exit(ExitCode.BAD_INPUT)
        paths = ["-"]
    if paths.count("-") > 1:
        raise OptionError("'-' (read stdin) may be given only once")
    for path in paths:
        if path != "-" and not os.path.exists(path):
            raise OptionError(f"no such batch file: {path}")
        if os.path.isdir(path):
            raise OptionError(f"{path} is a directory, not a batch file")
    return paths


def _jobs(jobs: int) -> int:
    if jobs < 0:
        raise OptionError(f"--jobs must not be negative, got {jobs}")
    return jobs or os.cpu_count() or 1


class _Interrupts:
    """Ctrl-C and SIGTERM stop the batch, but never in the middle of a record.

    While installed, either signal raises ``KeyboardInterrupt`` at once inside
    an :meth:`allowed` block (the runner's waits for input and for workers);
    anywhere else the stop is noted and raised at the next such block or at
    :meth:`check`. Masking the signals would not do: they would go to one of
    NumPy's threads, and Python would still raise in the main thread.
    """

    def __init__(self) -> None:
        self.open = 0
        self.pending = False
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _Interrupts:
        for number in _SIGNALS:
            self.previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.open:
            raise KeyboardInterrupt
        self.pending = True

    @contextmanager
    def allowed(self) -> Iterator[None]:
        """Let a stop happen at once inside the block."""
        self.check()
        self.open += 1
        try:
            yield
        finally:
            self.open -= 1

    def check(self) -> None:
        """Stop now if a stop was asked for."""
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


@contextmanager
def _signals_dropped() -> Iterator[None]:
    """Ignore further Ctrl-C and SIGTERM while the batch winds down."""
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in _SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class _Session:
    """One run of the command: solve, write records, count, report."""

    def __init__(self, output: o.Format, quiet: bool, batch_seed: int) -> None:
        self.output = output
        self.quiet = quiet
        self.batch_seed = batch_seed
        self.writer = _writer(output, batch_seed)
        self.written = 0
        self.progress: _Progress | None = None

    def run(
        self,
        paths: list[str],
        settings: dict[str, Any],
        jobs: int,
        timeout: float | None,
        setup_timeout: float,
    ) -> ExitCode:
        """Solve the systems in ``paths`` and write their records."""
        from gdsolve import batch as b

        began = time.perf_counter()
        interrupts = _Interrupts()
        runner = b.BatchRunner(
            settings, self.batch_seed, jobs, timeout, setup_timeout, interrupts.allowed
        )
        live = not self.quiet and stderr().is_terminal
        try:
            total = _total(paths) if live else None
            with interrupts, _Progress(live, total) as progress:
                self.progress = progress
                with runner:
                    systems = b.read_files(paths, sys.stdin.buffer)
                    for record in runner.run(systems):
                        self._take(record)
                        interrupts.check()
                self.writer.finish(interrupted=False)
        except KeyboardInterrupt:
            with _signals_dropped():
                return self._interrupted(runner, began)
        if not self.quiet:
            stderr().print(self._summary(began), markup=False, highlight=False)
        if not self.writer.counts["systems"]:
            stderr().print("gdsolve: error: no systems in the batch", highlight=False)
        return b.batch_exit_code(self.writer.counts)

    def _take(self, record: dict[str, Any]) -> None:
        """Write and count one record."""
        self.writer.add(record)
        self.written += 1
        if self.progress is not None:
            self.progress.show(self.writer.counts)
        if not self.quiet and self.output != o.Format.table:
            _note_failure(record)

    def _interrupted(self, runner: Any, began: float) -> ExitCode:
        """Write what is finished, report, and return the interrupt exit code."""
        try:
            for record in runner.unreported(self.written):
                self.writer.add(record)
            self.writer.finish(interrupted=True)
            sys.stdout.flush()
        except BrokenPipeError:  # the reader is gone: drop what is left unsaid
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        summary = self._summary(began, interrupted=True)
        stderr().print(summary, markup=False, highlight=False)
        return ExitCode.INTERRUPTED

    def _summary(self, began: float, interrupted: bool = False) -> str:
        counts = self.writer.counts
        seconds = time.perf_counter() - began
        parts = [
            f"{counts['with_roots']} with roots",
            f"{counts['without_roots']} without",
            f"{counts['errors']} error{'s' if counts['errors'] != 1 else ''}",
        ]
        if counts["timeouts"]:
            parts.append(f"{counts['timeouts']} timed out")
        done = counts["systems"]
        head = f"interrupted after {done}" if interrupted else f"{done}"
        return (
            f"gdsolve: {head} system{'s' if done != 1 else ''} in {seconds:.2f} s: "
            + ", ".join(parts)
            + f"; batch seed {self.batch_seed}"
        )


def _note_failure(record: dict[str, Any]) -> None:
    """Tell stderr about a system that failed, in one line."""
    if record.get("status") not in ("error", "timeout"):
        return
    first = str(record.get("error", "")).split("\n", 1)[0]
    where = f"{record.get('file')}:{record.get('line') or '?'}"
    stderr().print(
        f"gdsolve: {record.get('name')} ({where}): {record['status']}: {first}",
        markup=False,
        highlight=False,
    )


# ---------------------------------------------------------------------------
# Writers: one per output format. Each counts the records it takes.


class _Writer:
    """Write records to stdout in one format."""

    def __init__(self, batch_seed: int) -> None:
        from gdsolve.batch import new_counts

        self.batch_seed = batch_seed
        self.counts = new_counts()

    def add(self, record: dict[str, Any]) -> None:
        """Take one record, in input order."""
        from gdsolve.batch import tally

        tally(self.counts, record)
        self.write(record)

    def write(self, record: dict[str, Any]) -> None:
        """Write or keep one record."""

    def finish(self, interrupted: bool) -> None:
        """Write what is kept until the end."""


def _writer(output: o.Format, batch_seed: int) -> _Writer:
    kinds = {
        o.Format.jsonl: _JsonLines,
        o.Format.json: _Json,
        o.Format.csv: _Csv,
        o.Format.table: _Tables,
    }
    return kinds[output](batch_seed)


def _put(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


class _JsonLines(_Writer):
    """One JSON object per line, flushed as each system is done."""

    def write(self, record: dict[str, Any]) -> None:
        from gdsolve.report import dumps

        _put(dumps(record) + "\n")


class _Json(_Writer):
    """One JSON object holding every record, written at the end."""

    def __init__(self, batch_seed: int) -> None:
        super().__init__(batch_seed)
        self.records: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    def finish(self, interrupted: bool) -> None:
        from gdsolve.report import dumps

        document = {
            "seed": self.batch_seed,
            "interrupted": interrupted,
            "counts": self.counts,
            "systems": self.records,
        }
        _put(dumps(document) + "\n")


class _Csv(_Writer):
    """A header and one row per solution; the columns are known at the end."""

    def __init__(self, batch_seed: int) -> None:
        super().__init__(batch_seed)
        self.kept: list[tuple[str, dict[str, Any]]] = []
        self.unknowns: dict[str, None] = {}

    def write(self, record: dict[str, Any]) -> None:
        for name in record.get("variables") or []:
            self.unknowns.setdefault(name, None)
        brief = {key: record.get(key) for key in ("status", "solutions", "best")}
        self.kept.append((str(record.get("name", "")), brief))

    def finish(self, interrupted: bool) -> None:
        from gdsolve import report

        unknowns = list(self.unknowns)
        rows = []
        for name, kept in self.kept:
            rows += report.csv_rows(name, kept, unknowns)
        _put(report.to_csv(rows, report.CSV_HEAD + unknowns))


class _Tables(_Writer):
    """For each system, its name and a table of solutions, or its error."""

    def __init__(self, batch_seed: int) -> None:
        super().__init__(batch_seed)
        self.console = stdout()

    def write(self, record: dict[str, Any]) -> None:
        from rich.text import Text

        with self.console.capture() as captured:
            where = f"{record.get('file')}:{record.get('line') or '?'}"
            heading = Text.assemble((str(record.get("name")), "bold"), f"  ({where})")
            self.console.print(heading)
            if record.get("status") in ("error", "timeout"):
                failure = f"{record['status']}: {record['error']}"
                self.console.print(Text(failure, "red"))
            elif record["solutions"] or record.get("best"):
                self.console.print(_solution_table(record))
            else:  # no point to show: the message alone, not an empty table
                self.console.print(Text(record["message"]))
        _put(captured.get())


def _solution_table(record: dict[str, Any]) -> Any:
    """Return the table of a record's solutions, one row each."""
    from rich.table import Table
    from rich.text import Text

    from gdsolve.report import KIND_STYLE, number

    table = Table(title=Text(record["message"]), title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("kind")
    for name in record["variables"]:
        table.add_column(name, justify="right")
    table.add_column("residual", justify="right")
    table.add_column("starts", justify="right")
    shown = record["solutions"] or ([record["best"]] if record.get("best") else [])
    for i, s in enumerate(shown, 1):
        cells = [number(s["values"].get(v)) for v in record["variables"]]
        kind = Text(s["kind"], KIND_STYLE.get(s["kind"], ""))
        table.add_row(str(i), kind, *cells, number(s["residual"], 3), str(s["starts"]))
    return table


# ---------------------------------------------------------------------------
# Progress on stderr.


class _Progress:
    """A progress bar over the systems on stderr; nothing unless ``live``."""

    def __init__(self, live: bool, total: int | None) -> None:
        self.live = live
        self.total = total
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _Progress | None:
        if not self.live:
            return None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("systems"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[green]{task.fields[roots]} with roots"),
            TextColumn("[yellow]{task.fields[none]} without"),
            TextColumn("[red]{task.fields[errors]} errors"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=stderr(),
            transient=True,
            redirect_stdout=sys.stdout.isatty(),  # results stay on a piped stdout
            redirect_stderr=False,
        )
        self.bar.start()
        self.task = self.bar.add_task("systems", total=self.total, **self._fields({}))
        return self

    def show(self, counts: dict[str, int]) -> None:
        """Show the counts of the systems done so far."""
        done = counts["systems"]
        self.bar.update(self.task, completed=done, **self._fields(counts))

    @staticmethod
    def _fields(counts: dict[str, int]) -> dict[str, int]:
        failed = counts.get("errors", 0) + counts.get("timeouts", 0)
        return {
            "roots": counts.get("with_roots", 0),
            "none": counts.get("without_roots", 0),
            "errors": failed,
        }

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _total(paths: list[str]) -> int | None:
    """Count the systems ahead of time when every input is a regular file."""
    from gdsolve.batch import count_systems

    if not all(p != "-" and os.path.isfile(p) for p in paths):
        return None
    return count_systems(paths)
