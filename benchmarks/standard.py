"""gdsolve on the standard test problems, next to SciPy's hybr and lm.

For each problem (``benchmarks/problems/`` and the generated families of
:mod:`benchmarks.problems`) this runs

(a) ``gd``     gdsolve's default method from the standard start only
               (``start_points=[start], starts=0``);
(b) ``hybr``   ``scipy.optimize.root(method="hybr")`` from the same start;
(c) ``lm``     ``scipy.optimize.root(method="lm")`` from the same start;
(d) ``multi``  gdsolve with its default multi-start settings (64 starts) in the
               problem's box;
(e) ``all``    gdsolve with ``all_roots=True`` in the same box, when
               :class:`gdsolve.api.Settings` has that field (problems with at
               most 10 unknowns; ``--all-max-n`` changes that).

SciPy gets the residuals and the exact Jacobian compiled by gdsolve, so both
sides evaluate the same code and the times compare the algorithms; the set-up
(differentiating and compiling) is shown in its own column and counted only in
the multi-start end-to-end time. A point counts as a root when every residual
evaluated there is below 1e-8 in absolute value (``ROOT_TOL``), whatever the
solver said about it. Times of (a)-(c) are the best of up to 15 repeats,
taken for every problem before any of (d) and (e) runs.

Usage::

    python -m benchmarks.standard            # every problem (a few minutes)
    python -m benchmarks.standard --quick    # a smoke run on a small subset
    python -m benchmarks.standard --filter broyden --json out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
import os
import signal
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from benchmarks.problems import Problem, all_problems

#: A point is a root when max |Fᵢ| is below this.
ROOT_TOL = 1e-8
#: The problems of ``--quick``.
QUICK = (
    "rosenbrock", "powell_badly_scaled", "helical_valley", "freudenstein_roth",
    "jennrich_sampson_m2", "conics_4", "product_3var", "scaled_three",
    "broyden_tridiagonal_10", "chebyquad_3", "katsura_3",
)
#: Polynomial problems up to this many unknowns are held to "find every root".
ALL_ROOTS_MAX_N = 5
#: Wall-time cap for one problem (all its runs); beyond it the problem is cut.
PROBLEM_LIMIT = 120.0
#: The ``all_roots`` column runs on problems up to this many unknowns (it takes
#: seconds per problem; its target concerns n <= ALL_ROOTS_MAX_N only).
ALL_COLUMN_MAX_N = 10
#: Targets.
MULTI_SHARE = 0.95
MEDIAN_RATIO = 3.0
MULTI_SECONDS = 10.0


def has_all_roots() -> bool:
    """Whether this gdsolve's Settings accepts ``all_roots``."""
    from gdsolve.api import Settings

    return "all_roots" in inspect.signature(Settings).parameters


@dataclass
class Run:
    """One solver run on one problem."""

    ok: bool = False  # reached a point with max|F| < ROOT_TOL
    seconds: float = math.nan
    residual: float = math.inf  # smallest max|F| among returned points
    roots: int = 0  # distinct roots (multi-start runs)
    false_roots: int = 0  # points reported as roots with max|F| >= ROOT_TOL
    listed: int = 0  # roots as gdsolve listed them (before our merging)
    worst_false: float = 0.0
    status: str = ""
    note: str = ""


@dataclass
class Row:
    """Everything measured on one problem."""

    name: str
    n: int
    known: int | None
    has_root: bool | None
    polynomial: bool
    setup: float = math.nan
    runs: dict[str, Run] = field(default_factory=dict)
    error: str = ""


class _Limit(Exception):
    pass


def _alarm(*_):
    raise _Limit


def max_residual(system, x: np.ndarray) -> float:
    """max |Fᵢ(x)|, or inf where the system is undefined."""
    f = system.residuals(np.asarray(x, dtype=float).reshape(1, -1))[0]
    value = float(np.abs(f).max(initial=0.0))
    return value if math.isfinite(value) else math.inf


def distinct(points: list[np.ndarray], width: np.ndarray) -> list[np.ndarray]:
    """Merge points that agree to 1e-6 relative plus 1e-4 of the box width.

    The absolute part is loose on purpose: near a singular root (Powell's) every
    point within ~1e-4 has max|F| < 1e-8, and such points are one root.
    """
    out: list[np.ndarray] = []
    for x in points:
        for y in out:
            tol = 1e-6 * np.maximum(np.abs(x), np.abs(y)) + 1e-4 * width
            if np.all(np.abs(x - y) <= tol):
                break
        else:
            out.append(x)
    return out


def timed(fn, budget: float = 0.3, repeats: int = 15):
    """Run ``fn`` at least once; repeat while cheap; return (result, best seconds).

    A solve of a few milliseconds is repeated up to ``repeats`` times within
    ``budget`` seconds, so that one pause of the machine does not decide its
    time (the same for every solver).
    """
    best, spent, result = math.inf, 0.0, None
    for _ in range(repeats):
        began = time.perf_counter()
        result = fn()
        took = time.perf_counter() - began
        best, spent = min(best, took), spent + took
        if spent > budget:
            break
    return result, best


def box_width(problem: Problem, system) -> np.ndarray:
    width = np.full(system.n_unknowns, problem.box[1] - problem.box[0])
    for j, name in enumerate(system.names):
        if name in problem.boxes:
            low, high = problem.boxes[name]
            width[j] = high - low
    return width


def gdsolve_run(system, problem: Problem, settings, multi: bool) -> Run:
    from gdsolve.api import solve_system

    def go():
        return solve_system(system, settings)

    if multi:
        began = time.perf_counter()
        result = go()
        seconds = time.perf_counter() - began
    else:
        result, seconds = timed(go)
    run = Run(seconds=seconds, status=result.status, listed=len(result.roots))
    values = [np.array([s.values[v] for v in system.names]) for s in result.solutions]
    residuals = [max_residual(system, x) for x in values]
    run.residual = min(residuals, default=math.inf)
    if result.best is not None:  # the best point counts even when not classified
        best = np.array([result.best.values[v] for v in system.names])
        run.residual = min(run.residual, max_residual(system, best))
    run.ok = run.residual < ROOT_TOL
    good = []
    for s, x, r in zip(result.solutions, values, residuals):
        if s.kind == "root":
            if r < ROOT_TOL:
                good.append(x)
            else:
                run.false_roots += 1
                run.worst_false = max(run.worst_false, r)
    run.roots = len(distinct(good, box_width(problem, system)))
    if result.status == "not-isolated":
        run.note = "not-isolated"
    return run


def scipy_run(system, problem: Problem, method: str) -> Run:
    from scipy.optimize import root

    def fun(x):
        return system.residuals(x.reshape(1, -1))[0]

    def jac(x):
        return system.dense(system.evaluate(x.reshape(1, -1))[1])[0]

    x0 = np.array([problem.start[v] for v in system.names])

    def go():
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                return root(fun, x0, jac=jac, method=method)
            except Exception as error:  # noqa: BLE001 - a failed run, not a crash
                return error

    sol, seconds = timed(go)
    if isinstance(sol, Exception):
        return Run(seconds=seconds, status=f"error: {type(sol).__name__}")
    residual = max_residual(system, sol.x) if np.all(np.isfinite(sol.x)) else math.inf
    return Run(
        ok=residual < ROOT_TOL,
        seconds=seconds,
        residual=residual,
        roots=int(residual < ROOT_TOL),
        status="success" if sol.success else "fail",
    )


class _Guarded:
    """Cut what runs inside after ``PROBLEM_LIMIT`` seconds; a cut or a
    failure is written into the row, for the table, and goes no further."""

    def __init__(self, row: Row) -> None:
        self.row = row

    def __enter__(self) -> None:
        self.old = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(int(PROBLEM_LIMIT))

    def __exit__(self, kind, error, _) -> bool:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old)
        if kind is not None and issubclass(kind, _Limit):
            self.row.error = f"cut after {PROBLEM_LIMIT:g} s"
        elif kind is not None and issubclass(kind, Exception):
            self.row.error = f"{kind.__name__}: {error}"[:200]
        else:
            return False
        return True


def time_single_starts(problem: Problem, seed: int) -> tuple[Row, object]:
    """Prepare one problem and time every solver from its standard start.

    Returns the row and the prepared system (``None`` if preparing failed).
    """
    from gdsolve.api import Settings, prepare

    row = Row(problem.name, problem.n, problem.roots, problem.has_root, problem.polynomial)
    system = None
    with _Guarded(row):
        system = prepare(problem.equations, variables=problem.variables,
                         setup_timeout=120.0)
        row.setup = system.setup_seconds
        start = Settings(start_points=[problem.start], starts=0, seed=seed)
        row.runs["gd"] = gdsolve_run(system, problem, start, multi=False)
        row.runs["hybr"] = scipy_run(system, problem, "hybr")
        row.runs["lm"] = scipy_run(system, problem, "lm")
    return row, system


def run_multi_start(row: Row, system, problem: Problem, seed: int, all_roots: bool,
                    all_max_n: int = ALL_COLUMN_MAX_N) -> Row:
    """Run gdsolve's multi-start (and ``all_roots``) columns on a prepared problem."""
    from gdsolve.api import Settings

    if system is not None and not row.error:
        with _Guarded(row):
            multi = Settings(box=problem.box, boxes=problem.boxes, seed=seed)
            row.runs["multi"] = gdsolve_run(system, problem, multi, multi=True)
            if all_roots and problem.n <= all_max_n:
                every = Settings(box=problem.box, boxes=problem.boxes, seed=seed,
                                 all_roots=True)
                row.runs["all"] = gdsolve_run(system, problem, every, multi=True)
    if row.has_root is None and any(r.ok for r in row.runs.values()):
        row.has_root = True
    return row


# -- printing ---------------------------------------------------------------------


def _t(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.1f}ms"
    return f"{seconds:.2f}s"


def _ok(run: Run | None) -> str:
    if run is None:
        return "-"
    return "yes" if run.ok else ("no" if math.isfinite(run.residual) else "no*")


def _roots(run: Run | None, known: int | None) -> str:
    if run is None:
        return "-"
    text = f"{run.roots}/{'?' if known is None else known}"
    if run.false_roots:
        text += f" !{run.false_roots}"
    return text


HEADER = (
    f"{'problem':26} {'n':>3} {'known':>6} {'setup':>8} | "
    f"{'gd':>3} {'time':>8} | {'hybr':>4} {'time':>8} | {'lm':>3} {'time':>8} | "
    f"{'gd/hybr':>7} | {'multi':>9} {'time':>8} | {'all':>9} {'time':>8}"
)


def format_row(row: Row) -> str:
    r = row.runs
    known = "?" if row.known is None else str(row.known)
    ratio = _ratio(row)
    text = (
        f"{row.name:26} {row.n:>3} {known:>6} {_t(row.setup):>8} | "
        f"{_ok(r.get('gd')):>3} {_t(_sec(r, 'gd')):>8} | "
        f"{_ok(r.get('hybr')):>4} {_t(_sec(r, 'hybr')):>8} | "
        f"{_ok(r.get('lm')):>3} {_t(_sec(r, 'lm')):>8} | "
        f"{'-' if ratio is None else f'{ratio:.1f}':>7} | "
        f"{_roots(r.get('multi'), row.known):>9} {_t(_sec(r, 'multi')):>8} | "
        f"{_roots(r.get('all'), row.known):>9} {_t(_sec(r, 'all')):>8}"
    )
    notes = [row.error] if row.error else []
    for key in ("multi", "all"):
        run = r.get(key)
        if run and run.false_roots:
            notes.append(f"{key}: {run.false_roots} reported root(s) with max|F| up to "
                         f"{run.worst_false:.2g}")
        if run and run.note:
            notes.append(f"{key}: {run.note}")
        if run and run.listed > run.roots + run.false_roots:
            notes.append(f"{key}: gdsolve listed {run.listed} roots")
    if notes:
        text += "   <- " + "; ".join(notes)
    return text


def _sec(runs: dict[str, Run], key: str) -> float:
    run = runs.get(key)
    return run.seconds if run else math.nan


def _ratio(row: Row) -> float | None:
    gd, hybr = row.runs.get("gd"), row.runs.get("hybr")
    if not gd or not hybr or not hybr.seconds > 0:
        return None
    return gd.seconds / hybr.seconds


def summary(rows: list[Row], all_roots: bool) -> list[str]:
    """Totals and the verdict on each target."""
    lines = []
    done = [r for r in rows if not r.error]
    count = {k: sum(1 for r in done if r.runs.get(k) and r.runs[k].ok)
             for k in ("gd", "hybr", "lm", "multi", "all")}
    lines.append(f"problems: {len(rows)} ({len(rows) - len(done)} cut or failed)")
    lines.append(
        "root found from the standard start: "
        f"gd {count['gd']}, hybr {count['hybr']}, lm {count['lm']} (of {len(done)})"
    )
    only_gd = [r.name for r in done if r.runs["gd"].ok and not r.runs["hybr"].ok]
    only_hybr = [r.name for r in done if r.runs["hybr"].ok and not r.runs["gd"].ok]
    lines.append(f"  solved by gd but not hybr: {', '.join(only_gd) or 'none'}")
    lines.append(f"  solved by hybr but not gd: {', '.join(only_hybr) or 'none'}")

    with_root = [r for r in rows if r.has_root]
    multi_ok = [r for r in with_root if r.runs.get("multi") and r.runs["multi"].ok]
    share = len(multi_ok) / len(with_root) if with_root else math.nan
    missed = [r.name for r in with_root if r not in multi_ok]
    lines.append(
        f"multi-start found a root on {len(multi_ok)} of {len(with_root)} problems that "
        f"have one ({share:.0%}); missed: {', '.join(missed) or 'none'}"
    )
    false = [(r.name, k) for r in done for k in ("multi", "all")
             if r.runs.get(k) and r.runs[k].false_roots]
    lines.append(
        "reported a non-root as a root: "
        + (", ".join(f"{n} ({k})" for n, k in false) or "never")
    )

    ratios = [x for x in (_ratio(r) for r in done) if x is not None]
    gd_times = [r.runs["gd"].seconds for r in done]
    hybr_times = [r.runs["hybr"].seconds for r in done]
    lm_times = [r.runs["lm"].seconds for r in done]
    median_ratio = statistics.median(ratios) if ratios else math.nan
    lines.append(
        f"median time from the standard start: gd {_t(statistics.median(gd_times))}, "
        f"hybr {_t(statistics.median(hybr_times))}, lm {_t(statistics.median(lm_times))}; "
        f"median per-problem ratio gd/hybr {median_ratio:.1f}x, "
        f"gd/lm {statistics.median([g / l for g, l in zip(gd_times, lm_times)]):.1f}x"
    )
    end_to_end = [r.setup + r.runs["multi"].seconds for r in done if "multi" in r.runs]
    slowest = max(done, key=lambda r: r.setup + r.runs["multi"].seconds) if done else None
    lines.append(
        f"multi-start end to end (set-up + solve): median {_t(statistics.median(end_to_end))}, "
        f"max {_t(max(end_to_end))} ({slowest.name if slowest else '-'})"
        if end_to_end else "multi-start: no run"
    )
    lines.append(f"set-up: median {_t(statistics.median([r.setup for r in done]))}, "
                 f"max {_t(max(r.setup for r in done))}" if done else "set-up: -")

    lines.append("")
    lines.append("targets:")
    passed = count["gd"] >= count["hybr"]
    lines.append(
        f"  [{'PASS' if passed else 'FAIL'}] from the standard start gdsolve solves at "
        f"least as many as hybr: {count['gd']} vs {count['hybr']}"
    )
    passed = share >= MULTI_SHARE
    lines.append(
        f"  [{'PASS' if passed else 'FAIL'}] multi-start finds a root for >= 95% of "
        f"problems that have one: {share:.1%} ({len(multi_ok)}/{len(with_root)})"
    )
    if all_roots:
        poly = [r for r in done if r.polynomial and r.n <= ALL_ROOTS_MAX_N
                and r.known is not None and "all" in r.runs]
        complete = [r for r in poly if r.runs["all"].roots == r.known]
        false_all = [r.name for r in done if "all" in r.runs and r.runs["all"].false_roots]
        incomplete = [f"{r.name} {r.runs['all'].roots}/{r.known}" for r in poly
                      if r not in complete]
        passed = len(complete) == len(poly) and not false_all
        lines.append(
            f"  [{'PASS' if passed else 'FAIL'}] --all finds every real root on polynomial "
            f"systems (n <= {ALL_ROOTS_MAX_N}) and never reports a non-root: "
            f"{len(complete)}/{len(poly)} complete"
            + (f"; incomplete: {', '.join(incomplete)}" if incomplete else "")
            + (f"; non-roots reported on: {', '.join(false_all)}" if false_all else "")
        )
    else:
        poly = [r for r in done if r.polynomial and r.n <= ALL_ROOTS_MAX_N
                and r.known is not None and "multi" in r.runs]
        complete = [r for r in poly if r.runs["multi"].roots == r.known]
        why = ("--no-all was given" if has_all_roots()
               else "gdsolve.api.Settings has no 'all_roots' field yet")
        lines.append(
            f"  [SKIP] --all finds every real root ...: {why} (for reference, default "
            f"multi-start found every real root on {len(complete)}/{len(poly)} polynomial "
            f"systems with n <= {ALL_ROOTS_MAX_N})"
        )
    passed = median_ratio <= MEDIAN_RATIO
    lines.append(
        f"  [{'PASS' if passed else 'FAIL'}] median time per problem within 3x of scipy "
        f"from the same start: median gd/hybr ratio {median_ratio:.1f}x"
    )
    worst = max(end_to_end) if end_to_end else math.inf
    passed = worst <= MULTI_SECONDS and len(done) == len(rows)
    lines.append(
        f"  [{'PASS' if passed else 'FAIL'}] multi-start within 10 s per problem: "
        f"max {_t(worst)} end to end"
        + ("" if len(done) == len(rows) else f" ({len(rows) - len(done)} problem(s) cut)")
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="gdsolve versus SciPy on standard problems")
    parser.add_argument("--quick", action="store_true", help="a small subset (smoke run)")
    parser.add_argument("--filter", metavar="NAME", help="problems whose name contains NAME")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-all", action="store_true", help="skip the all_roots column")
    parser.add_argument("--all-max-n", type=int, default=ALL_COLUMN_MAX_N,
                        help="run the all_roots column up to this many unknowns")
    parser.add_argument("--json", metavar="PATH", help="also write the measurements as JSON")
    args = parser.parse_args(argv)

    try:
        import scipy  # noqa: F401
    except ImportError:
        print("benchmarks need SciPy: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    problems = all_problems()
    if args.quick:
        problems = [p for p in problems if p.name in QUICK]
    if args.filter:
        problems = [p for p in problems if args.filter in p.name]
    if not problems:
        print("no problem matches", file=sys.stderr)
        return 2
    all_roots = has_all_roots() and not args.no_all
    if not all_roots:
        why = "--no-all" if args.no_all else "gdsolve.api.Settings has no all_roots field"
        print(f"note: the 'all' column is skipped ({why})")
    print(f"root: max|F| < {ROOT_TOL:g}; gd/hybr: time ratio from the standard start "
          "(both solve only; set-up apart); multi/all: distinct roots found/known, "
          "'!k' = k reported roots that are not roots; no* = no finite point")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} at start; "
          f"seed {args.seed}")
    print("every problem is timed from its standard start first; the rows follow "
          "with the multi-start runs", flush=True)
    print(HEADER)
    print("-" * len(HEADER))
    rows = []
    began = time.perf_counter()
    # Every single start is timed first, while the process is small: after
    # the large multi-start runs, each set-up (a forked child) leaves the
    # process's pages to be copied on the next writes, which slows whatever
    # runs next by up to twice, SciPy and gdsolve alike but not evenly.
    single = [time_single_starts(problem, args.seed) for problem in problems]
    for problem, (row, system) in zip(problems, single):
        row = run_multi_start(row, system, problem, args.seed, all_roots, args.all_max_n)
        rows.append(row)
        print(format_row(row), flush=True)
    print("-" * len(HEADER))
    for line in summary(rows, all_roots):
        print(line)
    print(f"benchmark wall time {time.perf_counter() - began:.1f} s")
    if args.json:
        with open(args.json, "w") as out:
            json.dump([dataclasses.asdict(r) for r in rows], out, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
