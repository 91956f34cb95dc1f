"""The benchmark problem files are honest: they parse, and their stated roots are roots.

Every problem of ``benchmarks/problems/`` and every generated family size up to
20 unknowns (all sizes with ``GDSOLVE_BENCH_ALL=1``) is prepared with
:func:`gdsolve.api.prepare`; each ``# root:`` line must make every
residual smaller than 1e-8, and each ``# start:`` must name exactly the unknowns.
Needs neither SciPy nor a solve, so it stays fast.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.problems import (
    FAMILIES,
    PROBLEM_DIR,
    all_problems,
    chebyquad_nodes,
    parse_problem,
)
from gdsolve.api import prepare

PROBLEMS = all_problems()
BY_NAME = {p.name: p for p in PROBLEMS}
#: Generated sizes above this are left to ``benchmarks/standard.py`` (preparing
#: them takes seconds each: parsing discrete_integral_50 alone takes ~6 s) unless
#: GDSOLVE_BENCH_ALL=1; their generators are checked below at the smallest size.
LARGEST = 10**9 if os.environ.get("GDSOLVE_BENCH_ALL") else 20
CHECKED = sorted(p.name for p in PROBLEMS if p.n <= LARGEST or p.family == p.name)


def test_there_are_problems_of_every_kind():
    assert len(list(PROBLEM_DIR.glob("*.txt"))) >= 15
    families = {p.family for p in PROBLEMS}
    assert set(FAMILIES) <= families
    assert any(p.roots == 0 for p in PROBLEMS)  # some have no real root
    assert any(p.roots is None for p in PROBLEMS)  # some counts are unknown
    assert sum(p.polynomial and p.n <= 5 and p.roots is not None for p in PROBLEMS) >= 10


@pytest.mark.parametrize("name", CHECKED)
def test_problem_parses_and_stated_roots_are_roots(name):
    problem = BY_NAME[name]
    assert problem.source, "every problem says where it comes from"
    assert problem.equations
    system = prepare(problem.equations, variables=problem.variables, setup_timeout=60.0)
    assert list(system.names) == problem.variables
    assert system.n_equations == system.n_unknowns == problem.n  # square systems
    start = np.array([[problem.start[v] for v in problem.variables]])
    assert np.isfinite(system.residuals(start)).all(), "the standard start is in the domain"
    if problem.roots:
        assert problem.exact_roots, "a problem with known roots states one of them"
    for root in problem.exact_roots:
        x = np.array([[root[v] for v in problem.variables]])
        residual = np.abs(system.residuals(x)).max()
        assert residual < 1e-8, f"{name}: stated root {root} has max|F| = {residual:.3g}"
    low, high = problem.box
    assert low < high
    for low, high in problem.boxes.values():
        assert low < high


def test_problems_parse_without_a_setup_child():
    # The same equations prepared in-process (no time limit) give the same values.
    problem = BY_NAME["wood"]
    a = prepare(problem.equations, variables=problem.variables, setup_timeout=None)
    b = prepare(problem.equations, variables=problem.variables, setup_timeout=60.0)
    x = np.random.default_rng(0).normal(size=(5, 4))
    assert np.allclose(a.residuals(x), b.residuals(x))


def test_chebyquad_counts():
    nodes, real = chebyquad_nodes(3)
    assert real and np.allclose(nodes, [0.5 - 0.5 / math.sqrt(2), 0.5, 0.5 + 0.5 / math.sqrt(2)])
    assert chebyquad_nodes(8)[1] is False  # no equal-weight 8-point rule
    assert BY_NAME["chebyquad_8"].roots == 0
    assert BY_NAME["chebyquad_5"].roots == 120


def test_header_parsing():
    text = (
        "# free text\n# source: somewhere\n# start: a=1, b=-2.5\n# roots: 3 (by hand)\n"
        "# root: a=1, b=2\n# root: a=2, b=1\n# box: -3:4\n# boxes: b=0:1e-3\n"
        "# class: polynomial\na + b = 3\na*b = 2\n"
    )
    p = parse_problem(text, "t")
    assert p.variables == ["a", "b"] and p.start == {"a": 1.0, "b": -2.5}
    assert p.roots == 3 and len(p.exact_roots) == 2
    assert p.box == (-3.0, 4.0) and p.boxes == {"b": (0.0, 1e-3)}
    assert p.polynomial and p.equations == ["a + b = 3", "a*b = 2"]
    unknown = parse_problem("# source: s\n# start: x=0\n# roots: unknown\nx\n", "u")
    assert unknown.roots is None and unknown.has_root is None


# -- the generated families against direct NumPy definitions ----------------------


def _direct(family: str, x: np.ndarray) -> np.ndarray:
    """The residuals of each family, written straight from their definitions."""
    n = len(x)
    i = np.arange(1, n + 1)
    pad = np.concatenate([[0.0], x, [0.0]])
    h = 1 / (n + 1)
    t = i * h
    if family == "extended_rosenbrock":
        f = np.empty(n)
        f[0::2], f[1::2] = 10 * (x[1::2] - x[0::2] ** 2), 1 - x[0::2]
        return f
    if family == "extended_powell":
        a, b, c, d = x[0::4], x[1::4], x[2::4], x[3::4]
        f = np.empty(n)
        f[0::4], f[1::4] = a + 10 * b, math.sqrt(5) * (c - d)
        f[2::4], f[3::4] = (b - 2 * c) ** 2, math.sqrt(10) * (a - d) ** 2
        return f
    if family == "broyden_tridiagonal":
        return (3 - 2 * x) * x - pad[:-2] - 2 * pad[2:] + 1
    if family == "broyden_banded":
        f = x * (2 + 5 * x**2) + 1
        for k in range(n):
            for j in range(max(0, k - 5), min(n, k + 2)):
                if j != k:
                    f[k] -= x[j] * (1 + x[j])
        return f
    if family == "discrete_bvp":
        return 2 * x - pad[:-2] - pad[2:] + h * h * (x + t + 1) ** 3 / 2
    if family == "discrete_integral":
        c = (x + t + 1) ** 3
        return np.array([
            x[k] + h / 2 * ((1 - t[k]) * np.sum(t[: k + 1] * c[: k + 1])
                            + t[k] * np.sum((1 - t[k + 1:]) * c[k + 1:]))
            for k in range(n)
        ])
    if family == "trigonometric":
        return n - np.cos(x).sum() + i * (1 - np.cos(x)) - np.sin(x)
    if family == "variably_dimensioned":
        s = np.sum(i * (x - 1))
        return x - 1 + i * s * (1 + 2 * s**2)
    if family == "brown_almost_linear":
        f = x + x.sum() - (n + 1)
        f[-1] = np.prod(x) - 1
        return f
    if family == "chebyquad":
        y = 2 * x - 1
        f = np.empty(n)
        for k in range(1, n + 1):
            f[k - 1] = np.mean(np.cos(k * np.arccos(y)))
            if k % 2 == 0:
                f[k - 1] += 1 / (k * k - 1)
        return f
    if family == "katsura":
        m = n - 1
        u = lambda k: x[abs(k)] if abs(k) <= m else 0.0
        f = [x[0] + 2 * x[1:].sum() - 1]
        for r in range(m):
            f.append(sum(u(k) * u(r - k) for k in range(-m, m + 1)) - x[r])
        return np.array(f)
    raise KeyError(family)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_generated_family_matches_its_definition(family):
    make, sizes = FAMILIES[family]
    size = sizes[0]
    problem = parse_problem(make(size), f"{family}_{size}", family)
    system = prepare(problem.equations, variables=problem.variables, setup_timeout=60.0)
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.uniform(0.05, 0.95, problem.n)  # inside [0, 1] for Chebyquad's arccos
        got = system.residuals(x[None])[0]
        assert np.allclose(got, _direct(family, x), rtol=1e-12, atol=1e-12), family
