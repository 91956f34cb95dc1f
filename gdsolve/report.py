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

if TYPE_CHECKING:
    from gdsolve.result import SolveResult

KIND_STYLE = {"root": "green", "local-minimum": "yellow"}


def number(value: float | None, digits: int = 12) -> str:
    """Format a number for a table: ``digits`` significant digits, '-' if missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}g}"


def solution_table(result: SolveResult) -> Table:
    """Return the table of distinct solutions, one row each."""
    table = Table(title=result.message, title_justify="left", expand=False)
    table.add_column("#", justify="right")
    table.add_column("kind")
    for name in result.variables:
        table.add_column(name, justify="right")
    table.add_column("residual", justify="right")
    table.add_column("starts", justify="right")
    shown = result.solutions or ([result.best] if result.best else [])
    for i, s in enumerate(shown, 1):
        style = KIND_STYLE.get(s.kind, "")
        cells = [number(v) for v in s.values.values()]
        table.add_row(
            str(i), f"[{style}]{s.kind}[/]", *cells, number(s.residual, 3), str(s.starts)
        )
    return table


def summary_line(result: SolveResult) -> str:
    """One line on how the starts ended, the method and the time."""
    st = result.starts
    parts = [f"{st['used']} starts", f"{st['converged']} converged"]
    for key in ("stationary", "budget", "diverged", "undefined", "saddle", "moving"):
        if st.get(key):
            label = {"budget": "out of iterations", "undefined": "undefined"}.get(key, key)
            parts.append(f"{st[key]} {label}")
    return (
        f"method {result.method}, seed {result.seed}, {result.iterations} iterations, "
        f"{result.seconds:.2f} s; " + ", ".join(parts)
    )


def print_table(result: SolveResult, out: Console, err: Console, quiet: bool) -> None:
    """Print the solutions table on ``out`` and the summary and notes on ``err``."""
    out.print(solution_table(result))
    if quiet:
        return
    err.print(summary_line(result), style="dim", highlight=False)
    for note in result.warnings:
        err.print(f"note: {note}", style="yellow", highlight=False)


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


CSV_HEAD = ["system", "solution", "kind", "residual", "starts"]


def csv_rows(
    name: str, record: dict[str, Any], unknowns: Iterable[str]
) -> list[list[Any]]:
    """Return CSV rows (one per solution) for one system's JSON record.

    A system without solutions, or one that failed, gets one row that says so
    in the ``kind`` column and leaves the values empty.
    """
    unknowns = list(unknowns)
    solutions = record.get("solutions") or []
    if not solutions:
        kind = record.get("status", "error")
        return [[name, "", kind, "", ""] + [""] * len(unknowns)]
    rows = []
    for i, s in enumerate(solutions, 1):
        values = [_cell(s["values"].get(u)) for u in unknowns]
        rows.append([name, i, s["kind"], _cell(s["residual"]), s["starts"], *values])
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
