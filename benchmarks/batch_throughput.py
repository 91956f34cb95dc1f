"""Systems per second of the batch runner, with one worker and with two.

Generates a batch of small systems (two or three unknowns, several shapes,
varied coefficients), solves it with :class:`gdsolve.batch.BatchRunner` at
default settings for each ``--jobs`` value, and prints the throughput and the
speed-up over one worker.

Also printed: systems per CPU-second (workers and the set-up processes they
fork included), which stays meaningful on a busy machine, and the time inside
the solves (the records' ``seconds``); the rest of the wall time is the batch's
own cost (dispatch and pipes).

    python benchmarks/batch_throughput.py            # 1000 systems, jobs 1 and 2
    python benchmarks/batch_throughput.py -n 200 -j 1 2 4
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import statistics
import time
from collections import Counter
from typing import Callable

from gdsolve.batch import BatchRunner, read_batch


def _circle_line(r: random.Random) -> list[str]:
    slope, shift = r.randint(1, 3), r.randint(-2, 2)
    return [f"x^2 + y^2 = {r.randint(1, 9)}", f"{slope}*x - y = {shift}"]


def _circle_hyperbola(r: random.Random) -> list[str]:
    return [f"x^2 + y^2 = {r.randint(3, 9)}", f"x*y = {r.choice([0.5, 1, 1.5])}"]


def _parabolas(r: random.Random) -> list[str]:
    return [f"x^2 - y = {r.randint(-2, 1)}", f"y^2 - x = {r.randint(-2, 1)}"]


def _exponential(r: random.Random) -> list[str]:
    a = r.choice([0.5, 1, 2])
    return [f"exp({a}*x) + y = {r.randint(2, 5)}", f"x - y = {r.randint(-1, 1)}"]


def _trigonometric(r: random.Random) -> list[str]:
    return [f"sin(x) + y = {r.choice([0.5, 1])}", f"x^2 - y = {r.randint(1, 3)}"]


def _linear3(r: random.Random) -> list[str]:
    rows = []
    for i in range(3):
        # A heavy diagonal keeps the matrix well away from singular.
        a, b, c = (r.randint(-3, 3) + (9 if j == i else 0) for j in range(3))
        rows.append(f"{a}*x + {b}*y + {c}*z = {r.randint(-5, 5)}")
    return rows


def _sphere_planes(r: random.Random) -> list[str]:
    return [
        f"x^2 + y^2 + z^2 = {r.randint(4, 16)}",
        f"x + y + z = {r.randint(-2, 2)}",
        f"x - {r.randint(1, 3)}*y = 0",
    ]


SHAPES: list[tuple[str, Callable[[random.Random], list[str]]]] = [
    ("circle-line", _circle_line),
    ("circle-hyperbola", _circle_hyperbola),
    ("parabolas", _parabolas),
    ("exponential", _exponential),
    ("trigonometric", _trigonometric),
    ("linear3", _linear3),
    ("sphere-planes", _sphere_planes),
]


def batch_text(count: int, seed: int) -> str:
    """Return a batch file of ``count`` generated systems."""
    rng = random.Random(seed)
    blocks = []
    for i in range(count):
        shape, make = SHAPES[i % len(SHAPES)]
        blocks.append(f"@name {shape}-{i}\n" + "\n".join(make(rng)) + "\n")
    return "\n".join(blocks)


def cpu_seconds() -> float:
    """CPU time used so far by this process and its collected children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(text: str, jobs: int, seed: int) -> tuple[float, float, list[dict]]:
    """Solve the batch with ``jobs`` workers.

    Returns:
        The wall time, the CPU time (workers and the processes they started
        included) and the records.
    """
    systems = list(read_batch(io.BytesIO(text.encode()), "generated"))
    began, cpu = time.perf_counter(), cpu_seconds()
    with BatchRunner({}, batch_seed=seed, jobs=jobs) as runner:
        records = list(runner.run(systems))
    return time.perf_counter() - began, cpu_seconds() - cpu, records


def main() -> None:
    """Run the benchmark and print one line per ``--jobs`` value."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=1000, help="systems")
    parser.add_argument("-j", "--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import gdsolve.api  # noqa: F401  (load SymPy before timing, as the CLI does)

    text = batch_text(args.count, args.seed)
    print(f"{args.count} systems, {os.cpu_count()} CPUs, default settings")
    rates = {}
    for jobs in args.jobs:
        wall, cpu, records = measure(text, jobs, args.seed)
        rates[jobs] = len(records) / wall
        inside = sum(r["seconds"] for r in records)
        median = statistics.median(r["seconds"] for r in records)
        statuses = Counter(r["status"] for r in records)
        print(
            f"jobs {jobs}: {rates[jobs]:6.1f} systems/s wall, "
            f"{len(records) / cpu:6.1f} per CPU-second  ({wall:.1f} s wall, "
            f"{cpu:.1f} s CPU, {inside:.1f} s inside solves, median "
            f"{median * 1000:.0f} ms)  "
            + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
        )
    first = args.jobs[0]
    for jobs in args.jobs[1:]:
        print(f"speed-up jobs {jobs} / jobs {first}: {rates[jobs] / rates[first]:.2f}")


if __name__ == "__main__":
    main()
