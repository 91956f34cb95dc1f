"""How fast gdsolve is: multi-start throughput, scaling with size, start-up.

Prints, in one run:

* throughput: 1000 starts on small systems (2-3 unknowns) in one gdsolve call
  against a Python loop of ``scipy.optimize.root`` (hybr, exact Jacobian) over
  the same 1000 points; and nanoseconds per start per iteration of the descent
  at N = 10 000 starts, ``gd`` with a fixed learning rate, polishing off;
* scale: set-up (parse + differentiate + compile) and solve time of Broyden
  tridiagonal and the discrete boundary-value problem at n = 10, 100, 1000;
* start-up: wall time of ``gdsolve solve``, ``gdsolve --help`` and
  ``gdsolve methods`` as fresh processes, against ``python -c "import sympy, numpy"``;
  whether ``--help`` imports SymPy or NumPy; peak memory of each process.

Each figure is printed next to its target. ``--skip`` leaves out sections
(``throughput``, ``scale``, ``startup``); ``--sizes`` changes the scale sizes.

Usage::

    python -m benchmarks.speed
    python -m benchmarks.speed --skip scale
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.problems import broyden_tridiagonal, discrete_bvp, parse_problem

PYTHON = sys.executable
GDSOLVE = shutil.which("gdsolve", path=str(Path(PYTHON).parent)) or shutil.which("gdsolve")

#: Targets.
THROUGHPUT_RATIO = 10.0
NS_PER_START_ITER = 25.0
BROYDEN_1000_SECONDS = 10.0
STARTUP_RATIO = 1.5
HELP_SECONDS = 0.3

SMALL_SYSTEMS = {
    "circle_hyperbola (2)": (["x^2 + y^2 = 4", "x*y = 1"], ["x", "y"], (-3.0, 3.0)),
    "rosenbrock (2)": (["10*(y - x^2)", "1 - x"], ["x", "y"], (-3.0, 3.0)),
    "conics_rotated (2)": (
        ["x^2 + x*y + y^2 = 3", "x^2 - 3*x*y + 2*y^2 + x = 1"], ["x", "y"], (-3.0, 3.0)
    ),
    "product_3var (3)": (
        [
            "(x + y + z - 1)*(x + y + z + 1)",
            "(x - y)*(x - y - 2)*(x - y + 2)",
            "(y - 2*z)*(y - 2*z - 1)",
        ],
        ["x", "y", "z"],
        (-3.0, 3.0),
    ),
}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def distinct_count(points: np.ndarray) -> int:
    out: list[np.ndarray] = []
    for x in points:
        if not any(np.all(np.abs(x - y) <= 1e-6 * np.maximum(1, np.abs(y))) for y in out):
            out.append(x)
    return len(out)


# -- throughput ---------------------------------------------------------------------


def throughput(starts: int = 1000, seed: int = 0) -> list[str]:
    """gdsolve's one call against a SciPy loop over the same starting points."""
    from scipy.optimize import root

    from gdsolve.api import Settings, prepare, solve_system

    lines = [(f"== multi-start throughput: {starts} starts, gdsolve (one call, default gd) "
              "vs a Python loop of scipy.optimize.root(hybr, exact Jacobian) ==")]
    lines.append(f"{'system':22} {'setup':>7} {'gdsolve':>9} {'roots':>5} {'conv':>6} "
                 f"{'iters med/max':>13} | {'scipy loop':>10} {'roots':>5} {'conv':>6} | "
                 f"{'ratio':>6} {'ratio incl. setup':>17}")
    ratios = []
    for name, (equations, names, box) in SMALL_SYSTEMS.items():
        system = prepare(equations, variables=names)
        rng = np.random.default_rng(seed)
        x0 = box[0] + (box[1] - box[0]) * rng.random((starts, len(names)))
        points = [dict(zip(names, row)) for row in x0]
        settings = Settings(start_points=points, starts=0, box=box, seed=seed)
        solve_system(system, Settings(starts=8, box=box, seed=seed))  # warm-up
        gd_seconds = math.inf
        for _ in range(3):  # best of 3: the machine may be shared
            began = time.perf_counter()
            result = solve_system(system, settings)
            gd_seconds = min(gd_seconds, time.perf_counter() - began)
        converged = result.starts["converged"]
        its = np.asarray(result.extra.get("start_iterations", [result.iterations]))
        iters = f"{int(np.median(its))}/{int(its.max())}"

        def fun(x, system=system):
            return system.residuals(x.reshape(1, -1))[0]

        def jac(x, system=system):
            return system.dense(system.evaluate(x.reshape(1, -1))[1])[0]

        sp_seconds = math.inf
        for _ in range(2):  # best of 2
            ends = []
            began = time.perf_counter()
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                for row in x0:
                    sol = root(fun, row, jac=jac, method="hybr")
                    ends.append(sol.x)
            sp_seconds = min(sp_seconds, time.perf_counter() - began)
        ends = np.array(ends)
        good = np.array([np.abs(fun(x)).max() < 1e-10 for x in ends])
        sp_roots = distinct_count(ends[good])
        ratio = sp_seconds / gd_seconds
        ratio_setup = sp_seconds / (gd_seconds + system.setup_seconds)
        ratios.append(ratio)
        lines.append(
            f"{name:22} {system.setup_seconds:>6.2f}s {gd_seconds:>8.3f}s {len(result.roots):>5} "
            f"{converged:>6} {iters:>13} | {sp_seconds:>9.3f}s {sp_roots:>5} "
            f"{int(good.sum()):>6} | "
            f"{ratio:>5.1f}x {ratio_setup:>16.1f}x"
        )
    worst = min(ratios)
    lines.append(
        f"[{verdict(worst >= THROUGHPUT_RATIO)}] >= {THROUGHPUT_RATIO:g}x faster than the "
        f"SciPy loop at N={starts}: {worst:.1f}x on the least favourable system "
        f"(median {float(np.median(ratios)):.1f}x; set-up excluded, 'incl. setup' beside)"
    )
    return lines


def per_iteration(starts: int = 10_000, max_iter: int = 100, lr: float = 0.01,
                  seed: int = 0, repeats: int = 3) -> list[str]:
    """Nanoseconds per start per iteration of the descent alone."""
    from gdsolve.api import Settings, prepare, solve_system
    from gdsolve.methods import make_method
    from gdsolve.search import Descent, descend

    equations, names, box = SMALL_SYSTEMS["circle_hyperbola (2)"]
    system = prepare(equations, variables=names)
    settings = Settings(method="gd", lr=lr, polish=False, max_iter=max_iter,
                        starts=starts, box=box, seed=seed)
    own = settings.resolved()
    n = system.n_unknowns
    descent = Descent(
        method=make_method("gd", own),
        line_search=False,
        scale=settings.scale if isinstance(settings.scale, bool) else True,
        max_iter=max_iter,
        tol=settings.tol,
        noise=settings.noise,
        batch_size=None,
        lower=np.full(n, -np.inf),
        upper=np.full(n, np.inf),
        width=np.full(n, box[1] - box[0]),
    )
    best, walk = math.inf, None
    for k in range(repeats):
        rng = np.random.default_rng(seed + k)
        x0 = box[0] + (box[1] - box[0]) * rng.random((starts, n))
        began = time.perf_counter()
        walk = descend(system, descent, x0, rng)
        best = min(best, time.perf_counter() - began)
    work = int(walk.iterations.sum())
    ran = int(walk.iterations.max())
    nominal = best / (starts * ran) * 1e9
    actual = best / max(work, 1) * 1e9
    began = time.perf_counter()
    solve_system(system, settings)
    whole = time.perf_counter() - began
    lines = [
        (f"== descent cost: N={starts} starts, circle_hyperbola (2 unknowns), gd lr={lr}, "
         f"polish off, max_iter={max_iter} (gdsolve.search.descend on a prepared system, "
         f"best of {repeats}) =="),
        (f"descent {best:.3f} s for {ran} iterations; start-iterations actually run: {work} "
         f"({work / (starts * ran):.0%} of N x iterations; converged {walk.count(0)}, "
         f"stationary {walk.count(1)})"),
        (f"ns per start per iteration: {nominal:.1f} (time / (N x iterations)), "
         f"{actual:.1f} (time / start-iterations actually run)"),
        (f"whole solve_system with these settings: {whole:.3f} s "
         f"(descent + grouping + classification of {starts} end points)"),
        (f"[{verdict(actual < NS_PER_START_ITER)}] < {NS_PER_START_ITER:g} ns per start per "
         f"iteration at N={starts}: {actual:.1f} ns"),
    ]
    return lines


# -- scale --------------------------------------------------------------------------


def scale(sizes=(10, 100, 1000), starts: int = 4, seed: int = 0) -> list[str]:
    """Set-up and solve time against the number of unknowns."""
    from gdsolve.api import Settings, prepare, solve_system
    from gdsolve.parsing import parse_system

    lines = [(f"== scale: set-up and solve at n = {', '.join(map(str, sizes))} "
              f"({starts} random starts + the standard start, seed {seed}) ==")]
    lines.append("parse = reading the text; build = System.setup_seconds (differentiate and "
                 "compile, in a child); prepare = both, as gdsolve.api.prepare; best of 2-3")
    lines.append(f"{'problem':22} {'n':>5} {'chars':>7} {'parse':>8} {'build':>8} "
                 f"{'prepare':>8} {'solve':>8} {'total':>8} {'max|F|':>9} {'<=1e-10':>7}")
    verdicts = []
    for family, make in (("broyden_tridiagonal", broyden_tridiagonal),
                         ("discrete_bvp", discrete_bvp)):
        prepare_times, build_times = {}, {}
        for n in sizes:
            problem = parse_problem(make(n), f"{family}_{n}", family)
            chars = sum(len(e) for e in problem.equations)
            repeats = 3 if n <= 100 else 2  # best of: the machine may be shared
            parse_seconds = prep = build = math.inf
            for _ in range(repeats):
                began = time.perf_counter()
                parse_system(problem.equations, variables=problem.variables)
                parse_seconds = min(parse_seconds, time.perf_counter() - began)
                began = time.perf_counter()
                system = prepare(problem.equations, variables=problem.variables,
                                 setup_timeout=600.0)
                prep = min(prep, time.perf_counter() - began)
                build = min(build, system.setup_seconds)
            settings = Settings(start_points=[problem.start], starts=starts,
                                box=problem.box, seed=seed)
            began = time.perf_counter()
            result = solve_system(system, settings)
            solve_seconds = time.perf_counter() - began
            best = min(
                (np.abs(system.residuals(np.array([[s.values[v] for v in system.names]]))).max()
                 for s in result.solutions),
                default=math.inf,
            )
            prepare_times[n], build_times[n] = prep, build
            total = prep + solve_seconds
            lines.append(
                f"{family:22} {n:>5} {chars:>7} {parse_seconds:>7.2f}s "
                f"{build:>7.2f}s {prep:>7.2f}s {solve_seconds:>7.2f}s "
                f"{total:>7.2f}s {best:>9.1e} {'yes' if best <= 1e-10 else 'no':>7}"
            )
            if family == "broyden_tridiagonal" and n == 1000:
                ok = best <= 1e-10 and total < BROYDEN_1000_SECONDS
                verdicts.append(
                    f"[{verdict(ok)}] n=1000 Broyden tridiagonal solved to 1e-10 in < "
                    f"{BROYDEN_1000_SECONDS:g} s end to end: {total:.2f} s, max|F| {best:.1e}"
                )
        if 100 in prepare_times and 1000 in prepare_times:
            nlogn = (1000 * math.log(1000)) / (100 * math.log(100))
            growth = prepare_times[1000] / prepare_times[100]
            growth_build = build_times[1000] / build_times[100]
            verdicts.append(
                f"[{verdict(growth <= nlogn * 1.2)}] {family}: set-up grows no faster than "
                f"n log n from 100 to 1000: prepare x{growth:.1f} (build alone "
                f"x{growth_build:.1f}) vs n log n x{nlogn:.1f} (linear x10)"
            )
    return lines + verdicts


# -- start-up -----------------------------------------------------------------------

_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "t = time.perf_counter() - t\n"
    "print(t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)\n"
)


def run_child(argv: list[str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (KiB, largest descendant) and exit code of ``argv``."""
    out = subprocess.run([PYTHON, "-c", _MEASURE, *argv], capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def best_of(argv: list[str], repeats: int = 5) -> tuple[float, int, int]:
    runs = [run_child(argv) for _ in range(repeats)]
    return min(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2]


def help_imports() -> tuple[bool, bool, list[tuple[int, str]]]:
    """Whether ``gdsolve --help`` loads sympy / numpy, and its costliest imports."""
    probe = (
        "import sys\n"
        "sys.argv = ['gdsolve', '--help']\n"
        "from gdsolve.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('MODULES %d %d\\n' % ('sympy' in sys.modules, 'numpy' in sys.modules))\n"
    )
    env = dict(os.environ, COLUMNS="100")
    res = subprocess.run([PYTHON, "-X", "importtime", "-c", probe], capture_output=True,
                         text=True, env=env, check=False)
    sympy_loaded = numpy_loaded = None
    costs = []
    for line in res.stderr.splitlines():
        if line.startswith("MODULES"):
            _, s, n = line.split()
            sympy_loaded, numpy_loaded = s == "1", n == "1"
        elif line.startswith("import time:") and "|" in line:
            parts = [p.strip() for p in line[len("import time:"):].split("|")]
            if parts[0].isdigit():
                costs.append((int(parts[1]), parts[2]))
    top = [c for c in sorted(costs, reverse=True) if not c[1].startswith(" ")][:8]
    return bool(sympy_loaded), bool(numpy_loaded), top


def solve_imports() -> list[tuple[int, str]]:
    """The costliest imports (cumulative us) of ``gdsolve solve`` in one process."""
    probe = (
        "import sys\n"
        "sys.argv = ['gdsolve', 'solve', 'x**2+y**2=4', 'x*y=1']\n"
        "from gdsolve.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
    )
    res = subprocess.run([PYTHON, "-X", "importtime", "-c", probe], capture_output=True,
                         text=True, check=False)
    costs = []
    for line in res.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            parts = line[len("import time:"):].split("|")
            if parts[0].strip().isdigit():
                name = parts[2].rstrip()
                depth = (len(name) - len(name.lstrip())) // 2
                if depth <= 1:
                    costs.append((int(parts[1]), name.strip()))
    return sorted(costs, reverse=True)[:8]


def startup(repeats: int = 5) -> list[str]:
    if GDSOLVE is None:
        return ["== start-up: the gdsolve script is not on PATH; skipped =="]
    lines = [(f"== start-up: fresh processes, best of {repeats} wall time; peak RSS is "
              "the largest of the process and its children ==")]
    cases = {
        'gdsolve solve "x**2+y**2=4" "x*y=1"': [GDSOLVE, "solve", "x**2+y**2=4", "x*y=1"],
        'python -c "import sympy, numpy"': [PYTHON, "-c", "import sympy, numpy"],
        'python -c "import numpy"': [PYTHON, "-c", "import numpy"],
        'python -c "pass"': [PYTHON, "-c", "pass"],
        "gdsolve --help": [GDSOLVE, "--help"],
        "gdsolve methods": [GDSOLVE, "methods"],
    }
    times = {}
    for label, argv in cases.items():
        seconds, rss, code = best_of(argv, repeats)
        times[label] = seconds
        lines.append(f"{label:40} {seconds:>7.3f} s  peak {rss / 1024:>6.1f} MiB  exit {code}")
    sympy_loaded, numpy_loaded, top = help_imports()
    lines.append(f"gdsolve --help imports sympy: {'yes' if sympy_loaded else 'no'}, "
                 f"numpy: {'yes' if numpy_loaded else 'no'}")
    lines.append("costliest top-level imports of gdsolve --help (cumulative us): "
                 + ", ".join(f"{name.strip()} {us}" for us, name in top))
    lines.append("costliest imports of gdsolve solve (cumulative us, depth <= 1): "
                 + ", ".join(f"{name} {us}" for us, name in solve_imports()))
    solve_t = times['gdsolve solve "x**2+y**2=4" "x*y=1"']
    base = times['python -c "import sympy, numpy"']
    ratio = solve_t / base
    lines.append(f"[{verdict(ratio <= STARTUP_RATIO)}] gdsolve solve within "
                 f"{STARTUP_RATIO:g}x the import cost of sympy+numpy: {solve_t:.3f} s / "
                 f"{base:.3f} s = {ratio:.2f}x")
    help_t = times["gdsolve --help"]
    lines.append(f"[{verdict(help_t < HELP_SECONDS)}] gdsolve --help < {HELP_SECONDS:g} s: "
                 f"{help_t:.3f} s (gdsolve methods {times['gdsolve methods']:.3f} s)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="gdsolve speed benchmark")
    parser.add_argument("--skip", action="append", default=[],
                        choices=("throughput", "scale", "startup"))
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--starts", type=int, default=1000)
    parser.add_argument("--big", type=int, default=10_000, help="N for the ns figure")
    args = parser.parse_args(argv)
    try:
        import scipy  # noqa: F401
    except ImportError:
        print("benchmarks need SciPy: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    began = time.perf_counter()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} at start (other work on the machine slows every figure)\n")
    sections = []
    if "throughput" not in args.skip:
        sections += [lambda: throughput(args.starts), lambda: per_iteration(args.big)]
    if "scale" not in args.skip:
        sizes = tuple(int(s) for s in args.sizes.split(","))
        sections.append(lambda: scale(sizes))
    if "startup" not in args.skip:
        sections.append(startup)
    for section in sections:
        for line in section():
            print(line, flush=True)
        print()
    print(f"speed benchmark wall time {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
