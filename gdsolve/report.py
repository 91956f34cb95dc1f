"""Show results: Rich tables for people, JSON and CSV for programs.

Results go to stdout; progress, notes and errors go to stderr. JSON never holds
NaN or Infinity (they become ``null``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING, Any, Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from gdsolve.result import SolveResult

KIND_STYLE = {"root": "green", "local-minimum": "yellow"}


def number(value: float | None, digits: int = 12) -> str:
    """Format a number for a table: ``digits`` significant digits, '-' if missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}g}"


def supported_digits(value: float, error: float, most: int = 12) -> int:
    """Significant digits of ``value`` that an estimated ``error`` leaves true.

    A root polished to rounding keeps all ``most`` digits; a valley floor
    located to 1e-10 shows about ten, not digits that another seed changes.
    """
    if not (math.isfinite(error) and error > 0 and math.isfinite(value) and value):
        return most
    # the last digit shown stands for a unit no smaller than the error
    leading = math.floor(math.log10(abs(value)))
    return max(1, min(most, math.floor(leading + 1 - math.log10(error))))


def solution_table(result: SolveResult) -> Table:
    """Return the table of distinct solutions, one row each."""
    table = Table(title=result.message, title_justify="left", expand=False)
    table.add_column("#", justify="right")
    table.add_column("kind")
    for name in result.variables:  # digits wrap rather than being cut off
        table.add_column(name, justify="right", overflow="fold")
    table.add_column("residual", justify="right")
    table.add_column("starts", justify="right")
    shown = result.solutions or ([result.best] if result.best else [])
    for i, s in enumerate(shown, 1):
        kind = Text(s.kind, style=KIND_STYLE.get(s.kind, ""))
        cells = [number(v, supported_digits(v, s.error)) for v in s.values.values()]
        table.add_row(str(i), kind, *cells, number(s.residual, 3), str(s.starts))
    return table


def summary_line(result: SolveResult) -> str:
    """One line on the method, the time, and how the starts ended.

    The descent's counts say where each start stopped; the counts after
    polishing say how many ended on saddles or still moving, which are not
    reported as solutions.
    """
    st = result.starts
    labels = {"budget": "out of iterations", "stationary": "stationary"}
    descent = [f"{st['used']} starts", f"{st['converged']} converged"]
    for key in ("stationary", "budget", "diverged", "undefined"):
        if st.get(key):
            descent.append(f"{st[key]} {labels.get(key, key)}")
    after = [f"{st[k]} {k}" for k in ("saddle", "moving") if st.get(k)]
    line = (
        f"method {result.method}, seed {result.seed}, {result.iterations} "
        f"iterations, {result.seconds:.2f} s; descent: " + ", ".join(descent)
    )
    if after:
        judged = "after polishing" if result.settings.get("polish", True) else "judged"
        line += f"; {judged}, not reported: " + ", ".join(after)
    return line


def print_table(result: SolveResult, out: Console, err: Console, quiet: bool) -> None:
    """Print the solutions table on ``out`` and the summary and notes on ``err``.

    With no point to show (no start could be evaluated), the message alone
    stands for the table, which would have no rows.
    """
    table = solution_table(result) if result.solutions or result.best else None
    if table is None:
        out.print(result.message, highlight=False)
    else:
        out.print(table)
    if quiet:
        return
    err.print(summary_line(result), style="dim", highlight=False)
    for note in result.warnings:
        err.print(f"note: {note}", style="yellow", highlight=False)
    if table is None:
        return
    unwrapped = out.measure(table, options=out.options.update_width(1_000_000))
    if unwrapped.maximum > out.width:
        err.print(
            f"note: the table is wider than the {out.width} columns it was given, "
            "so values were wrapped; -f csv or -f json shows each in full",
            style="yellow",
            highlight=False,
        )


def dumps(data: Any) -> str:
    """Serialise to JSON with non-finite numbers as ``null``."""
    return json.dumps(_clean(data), allow_nan=False)


def _clean(data: Any) -> Any:
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {str(k): _clean(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_clean(v) for v in data]
    if hasattr(data, "item"):  # a NumPy scalar
        return _clean(data.item())
    return data


CSV_HEAD = ["system", "status", "solution", "kind", "residual", "starts"]


def csv_rows(
    name: str, record: dict[str, Any], unknowns: Iterable[str]
) -> list[list[Any]]:
    """Return CSV rows (one per solution) for one system's JSON record.

    Every row carries its system's status, so that the sample points of a
    curve of solutions (``not-isolated``) are not read as isolated roots. A
    system without solutions gets one row with its best least-squares point,
    if any; one that failed gets a row with empty values.
    """
    unknowns = list(unknowns)
    status = record.get("status", "error")
    solutions = record.get("solutions") or []
    rows = []
    for i, point in enumerate(solutions or [record.get("best")], 1):
        if not point:
            rows.append([name, status, "", "", "", ""] + [""] * len(unknowns))
            continue
        values = [_cell(point["values"].get(u)) for u in unknowns]
        rows.append([name, status, i if solutions else "", point["kind"],
                     _cell(point["residual"]), point.get("starts", ""), *values])
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return repr(float(value))


def to_csv(rows: list[list[Any]], head: list[str]) -> str:
    """Write a header and rows as CSV text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(head)
    writer.writerows(rows)
    return buffer.getvalue()


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 60) -> str:
    """Draw values on a log scale as one line of block characters.

    Non-positive and non-finite values are drawn at the bottom. Long series are
    sampled down to ``width`` characters, keeping the first and last value.
    """
    finite = [v for v in values if v > 0 and math.isfinite(v)]
    if not finite:
        return ""
    if len(values) > width:
        step = (len(values) - 1) / (width - 1)
        values = [values[round(i * step)] for i in range(width)]
    low, high = math.log10(min(finite)), math.log10(max(finite))
    span = high - low or 1.0
    out = []
    for v in values:
        level = (math.log10(v) - low) / span if v > 0 and math.isfinite(v) else 0.0
        out.append(SPARKS[min(len(SPARKS) - 1, int(level * len(SPARKS)))])
    return "".join(out)


def trace_table(
    index: int,
    rows: list[tuple[int, float, float, float]],
    head: int = 25,
    tail: int = 5,
) -> Table:
    """Return one start's iterations as a table, eliding the middle of long runs."""
    table = Table(
        title=f"start {index + 1} (objective of the balanced equations)",
        title_justify="left",
    )
    for name in ("iteration", "objective", "|gradient|", "step"):
        table.add_column(name, justify="right")
    shown = rows if len(rows) <= head + tail else rows[:head] + [None] + rows[-tail:]
    for row in shown:
        if row is None:
            table.add_row("…", "", "", "")
            continue
        it, obj, grad, step = row
        table.add_row(str(it), number(obj, 6), number(grad, 3), number(step, 3))
    return table


def print_trace(result: SolveResult, err: Console) -> None:
    """Print the traced starts' iterations and a sparkline of the best objective."""
    for i, rows in enumerate(result.extra.get("trace") or []):
        err.print(trace_table(i, rows))
    history = result.extra.get("best_history") or []
    if history:
        err.print(
            f"best objective {number(history[0], 3)} {sparkline(history)} "
            f"{number(history[-1], 3)} over {len(history)} iterations",
            highlight=False,
        )


def print_search(result: SolveResult, err: Console) -> None:
    """Print how complete an ``--all`` search is."""
    s = result.search
    if not s:
        return
    if result.roots:
        estimate = (
            f"{s['roots_reached_once']} roots were reached by one start and "
            f"{s['roots_reached_twice']} by two, so about "
            f"{s['estimated_unseen_roots']:.2g} roots may be unseen (chance the "
            f"next start finds a new one: {s['chance_next_start_finds_new_root']:.2g})"
        )
    else:
        estimate = "no start reached a root, so nothing tells how many may be unseen"
    err.print(
        f"search: {s['rounds']} rounds, {s['starts_used']} starts, the last "
        f"{s['rounds_without_new_root']} rounds found no new root; {estimate}"
        + (
            f"; but {s['starts_at_no_solution']} starts settled nowhere, so "
            "these figures understate what may be missing"
            if 2 * s["starts_at_no_solution"] > s["starts_used"]
            else ""
        ),
        highlight=False,
    )
