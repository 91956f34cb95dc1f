"""The benchmark problems: equation files in ``problems/`` plus generated families.

A problem file holds one gdsolve equation per line. Its ``#`` header says where
the problem comes from and what is known about it, one ``# key: value`` line
each (any other ``#`` line is free text):

``source``
    Where the problem is published, e.g. "Moré, Garbow, Hillstrom 1981, problem 1".
``start``
    The standard starting point, ``x1=-1.2, x2=1``. Its names, in order, are the
    unknowns (every problem lists all of them).
``roots``
    The number of real roots when known, else ``unknown``; text after the
    number says how it was found when it is not from the literature.
``root``
    An exact (or correctly rounded) real root; may be repeated.
``box``
    The interval random starts are drawn from, ``LO:HI`` (default ``-10:10``).
``boxes``
    Intervals for single unknowns, ``a=-5e6:5e6, b=-5e-6:5e-6``.
``class``
    ``polynomial`` when every equation is a polynomial.

The families whose size is a parameter (extended Rosenbrock, Broyden
tridiagonal, Chebyquad, Katsura...) are written by the generators below in the
same format, so one parser reads every problem. ``python -m benchmarks.problems``
lists them all; ``--write DIR`` writes the generated ones to files.
"""

from __future__ import annotations

import itertools
import math
import re
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROBLEM_DIR = HERE / "problems"
DEFAULT_BOX = (-10.0, 10.0)

_KEYS = ("source", "start", "roots", "root", "box", "boxes", "class")
_HEADER = re.compile(r"^#\s*({})\s*:\s*(.*)$".format("|".join(_KEYS)))


@dataclass
class Problem:
    """One benchmark problem.

    Attributes:
        name: Short identifier, e.g. ``broyden_tridiagonal_20``.
        family: The problem without its size, e.g. ``broyden_tridiagonal``.
        equations: gdsolve equation texts.
        variables: The unknowns in order (the names of the start line).
        start: The standard starting point.
        roots: Number of real roots, or ``None`` when unknown.
        exact_roots: Known real roots.
        box: Interval for random starts.
        boxes: Per-unknown intervals for random starts.
        source: Where the problem comes from.
        polynomial: Every equation is a polynomial.
        text: The whole problem file.
    """

    name: str
    family: str
    equations: list[str]
    variables: list[str]
    start: dict[str, float]
    roots: int | None
    exact_roots: list[dict[str, float]] = field(default_factory=list)
    box: tuple[float, float] = DEFAULT_BOX
    boxes: dict[str, tuple[float, float]] = field(default_factory=dict)
    source: str = ""
    polynomial: bool = False
    text: str = ""

    @property
    def n(self) -> int:
        """Number of unknowns."""
        return len(self.variables)

    @property
    def has_root(self) -> bool | None:
        """Whether a real root exists: ``None`` when that is not known."""
        if self.exact_roots or (self.roots is not None and self.roots > 0):
            return True
        if self.roots == 0:
            return False
        return None


def _assignments(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, value = item.partition("=")
        if not value:
            raise ValueError(f"expected NAME=VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def _interval(text: str) -> tuple[float, float]:
    low, _, high = text.strip().partition(":")
    return float(low), float(high)


def parse_problem(text: str, name: str, family: str | None = None) -> Problem:
    """Read a problem from the text of a problem file."""
    fields: dict[str, list[str]] = {key: [] for key in _KEYS}
    equations = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = _HEADER.match(line)
            if match:
                fields[match.group(1)].append(match.group(2).strip())
            continue
        equations.append(line.split("#", 1)[0].strip())
    if len(fields["start"]) != 1:
        raise ValueError(f"{name}: needs exactly one '# start:' line")
    start = {k: float(v) for k, v in _assignments(fields["start"][0]).items()}
    roots_text = fields["roots"][0] if fields["roots"] else "unknown"
    count = re.match(r"\d+", roots_text)
    roots = int(count.group()) if count else None
    exact = [
        {k: float(v) for k, v in _assignments(line).items()} for line in fields["root"]
    ]
    for root in exact:
        if set(root) != set(start):
            raise ValueError(f"{name}: a root names {sorted(root)}, the start {sorted(start)}")
    box = _interval(fields["box"][0]) if fields["box"] else DEFAULT_BOX
    boxes = {}
    for line in fields["boxes"]:
        boxes.update({k: _interval(v) for k, v in _assignments(line).items()})
    return Problem(
        name=name,
        family=family or name,
        equations=equations,
        variables=list(start),
        start=start,
        roots=roots,
        exact_roots=exact,
        box=box,
        boxes=boxes,
        source=fields["source"][0] if fields["source"] else "",
        polynomial=bool(fields["class"]) and fields["class"][0] == "polynomial",
        text=text,
    )


def file_problems(directory: Path = PROBLEM_DIR) -> list[Problem]:
    """Read every ``*.txt`` problem file of ``directory``."""
    return [
        parse_problem(path.read_text(), path.stem)
        for path in sorted(directory.glob("*.txt"))
    ]


# -- writing equations ------------------------------------------------------------


def num(value: float | Fraction) -> str:
    """A number as gdsolve reads it back exactly (shortest round-trip form)."""
    value = float(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def linear(terms: list[tuple[float, str]], constant: float = 0.0) -> str:
    """Write ``Σ c·name + constant`` with signs merged (``x1 - 2*x2 + 1``)."""
    parts = []
    for c, name in terms:
        if c == 0:
            continue
        sign = "-" if c < 0 else "+"
        mag = abs(c)
        body = name if mag == 1 else f"{num(mag)}*{name}"
        parts.append((sign, body))
    if constant:
        parts.append(("-" if constant < 0 else "+", num(abs(constant))))
    if not parts:
        return "0"
    first_sign, first = parts[0]
    out = ("-" if first_sign == "-" else "") + first
    for sign, body in parts[1:]:
        out += f" {sign} {body}"
    return out


def horner(coeffs: list[int | float], var: str) -> str:
    """Write the polynomial ``Σ coeffs[k]·var^k`` in Horner form."""
    degree = len(coeffs) - 1
    text = num(coeffs[degree])
    for k in range(degree - 1, -1, -1):
        c = coeffs[k]
        product = f"{text}*{var}" if k == degree - 1 else f"({text})*{var}"
        text = product if c == 0 else f"{product} {'-' if c < 0 else '+'} {num(abs(c))}"
    return text


def _header(lines: list[str], start: dict[str, float], roots: str,
            exact: list[dict[str, float]] = (), box: str | None = None,
            polynomial: bool = False) -> list[str]:
    out = [f"# {line}" if line else "#" for line in lines]
    out.append("# start: " + ", ".join(f"{k}={num(v)}" for k, v in start.items()))
    out.append(f"# roots: {roots}")
    for root in exact:
        out.append("# root: " + ", ".join(f"{k}={num(v)}" for k, v in root.items()))
    if box:
        out.append(f"# box: {box}")
    if polynomial:
        out.append("# class: polynomial")
    return out


def _names(n: int, prefix: str = "x", first: int = 1) -> list[str]:
    return [f"{prefix}{i}" for i in range(first, first + n)]


MGH = "Moré, Garbow, Hillstrom 1981"


def extended_rosenbrock(n: int) -> str:
    """Rosenbrock's two equations repeated on pairs of unknowns (``n`` even)."""
    x = _names(n)
    start = {v: (-1.2 if i % 2 == 0 else 1.0) for i, v in enumerate(x)}
    lines = _header(
        [f"Extended Rosenbrock function, n = {n}: Rosenbrock's two equations on",
         "each pair of unknowns; the only root is all ones.",
         f"source: {MGH}, problem 21"],
        start, "1", [{v: 1.0 for v in x}], polynomial=True,
    )
    for i in range(0, n, 2):
        lines.append(f"10*({x[i + 1]} - {x[i]}^2)")
        lines.append(f"1 - {x[i]}")
    return "\n".join(lines) + "\n"


def extended_powell(n: int) -> str:
    """Powell's singular function on blocks of four unknowns (``n`` divisible by 4)."""
    x = _names(n)
    start = {v: (3.0, -1.0, 0.0, 1.0)[i % 4] for i, v in enumerate(x)}
    lines = _header(
        [f"Extended Powell singular function, n = {n}: Powell's four equations on",
         "each block of four unknowns; the only root is 0, where the Jacobian is",
         "singular.",
         f"source: {MGH}, problem 22"],
        start, "1", [{v: 0.0 for v in x}], polynomial=True,
    )
    for i in range(0, n, 4):
        a, b, c, d = x[i : i + 4]
        lines += [
            f"{a} + 10*{b}",
            f"sqrt(5)*({c} - {d})",
            f"({b} - 2*{c})^2",
            f"sqrt(10)*({a} - {d})^2",
        ]
    return "\n".join(lines) + "\n"


def broyden_tridiagonal(n: int) -> str:
    """Broyden's tridiagonal system: ``(3 - 2xᵢ)xᵢ - xᵢ₋₁ - 2xᵢ₊₁ + 1 = 0``."""
    x = _names(n)
    lines = _header(
        [f"Broyden tridiagonal function, n = {n}:",
         "(3 - 2*x_i)*x_i - x_(i-1) - 2*x_(i+1) + 1 = 0 with x_0 = x_(n+1) = 0.",
         f"source: {MGH}, problem 30; MINPACK hybrd test set, problem 13"],
        {v: -1.0 for v in x}, "unknown", polynomial=True,
    )
    for i in range(n):
        terms = [(-1.0, x[i - 1])] if i > 0 else []
        if i < n - 1:
            terms.append((-2.0, x[i + 1]))
        lines.append(f"(3 - 2*{x[i]})*{x[i]} " + _tail(linear(terms, 1.0)))
    return "\n".join(lines) + "\n"


def _tail(expr: str) -> str:
    """Continue an expression with ``expr``: ``+ a`` or ``- a``."""
    return f"- {expr[1:]}" if expr.startswith("-") else f"+ {expr}"


def broyden_banded(n: int, lower: int = 5, upper: int = 1) -> str:
    """Broyden's banded system with ``lower`` sub- and ``upper`` superdiagonals."""
    x = _names(n)
    lines = _header(
        [f"Broyden banded function, n = {n}:",
         "x_i*(2 + 5*x_i^2) + 1 - sum of x_j*(1 + x_j) over j != i with",
         f"i - {lower} <= j <= i + {upper}.",
         f"source: {MGH}, problem 31; MINPACK hybrd test set, problem 14"],
        {v: -1.0 for v in x}, "unknown", polynomial=True,
    )
    for i in range(n):
        band = [j for j in range(max(0, i - lower), min(n, i + upper + 1)) if j != i]
        rest = "".join(f" - {x[j]}*(1 + {x[j]})" for j in band)
        lines.append(f"{x[i]}*(2 + 5*{x[i]}^2) + 1{rest}")
    return "\n".join(lines) + "\n"


def discrete_bvp(n: int) -> str:
    """The discrete boundary value problem ``u'' = (u + t + 1)³/2`` on a grid."""
    x = _names(n)
    h = 1.0 / (n + 1)
    t = [(i + 1) * h for i in range(n)]
    lines = _header(
        [f"Discrete boundary value function, n = {n}: central differences for",
         "u'' = (u + t + 1)^3/2, u(0) = u(1) = 0, on the grid t_i = i/(n+1).",
         f"source: {MGH}, problem 28; MINPACK hybrd test set, problem 9"],
        {v: ti * (ti - 1) for v, ti in zip(x, t)}, "unknown",
        box="-2:2", polynomial=True,
    )
    for i in range(n):
        terms = [(-1.0, x[i - 1])] if i > 0 else []
        if i < n - 1:
            terms.append((-1.0, x[i + 1]))
        neighbours = _tail(linear(terms)) + " " if terms else ""
        lines.append(
            f"2*{x[i]} {neighbours}+ {num(h * h / 2)}*({x[i]} + {num(t[i] + 1)})^3"
        )
    return "\n".join(lines) + "\n"


def discrete_integral(n: int) -> str:
    """The discrete integral equation: the trapezoid rule for a Green's function.

    With h = 1/(n+1) and t_j = j·h the coefficient h/2·(1 − t_i)·t_j is
    (n+1−i)·j / (2(n+1)³), written with integers to keep the text short (the
    naive form of n = 50 exceeds gdsolve's 100 000-character limit).
    """
    x = _names(n)
    m = n + 1
    t = [(i + 1) / m for i in range(n)]
    lines = _header(
        [f"Discrete integral equation function, n = {n}:",
         "x_i + h/2*((1 - t_i)*sum_{j<=i} t_j*(x_j + t_j + 1)^3",
         "          + t_i*sum_{j>i} (1 - t_j)*(x_j + t_j + 1)^3) = 0,",
         "h = 1/(n+1), t_j = j*h; written as x_i + ((n+1-i)*sum_(j<=i) j*(...)^3",
         "+ i*sum_(j>i) (n+1-j)*(...)^3)/(2*(n+1)^3).",
         f"source: {MGH}, problem 29; MINPACK hybrd test set, problem 10"],
        {v: ti * (ti - 1) for v, ti in zip(x, t)}, "unknown",
        box="-2:2", polynomial=True,
    )

    def cube(j: int) -> str:  # (x_j + t_j + 1)^3 for j = 1..n
        return f"({x[j - 1]} + 1 + {j}/{m})^3"

    for i in range(1, n + 1):
        left = " + ".join(f"{j}*{cube(j)}" for j in range(1, i + 1))
        text = f"{x[i - 1]} + ({m - i}*({left})"
        if i < n:
            right = " + ".join(f"{m - j}*{cube(j)}" for j in range(i + 1, n + 1))
            text += f" + {i}*({right})"
        lines.append(text + f")/{2 * m**3}")
    return "\n".join(lines) + "\n"


def trigonometric(n: int) -> str:
    """The trigonometric system; 0 is a root, and so is every 2π shift of it."""
    x = _names(n)
    cosines = " - ".join(f"cos({v})" for v in x)
    lines = _header(
        [f"Trigonometric function, n = {n}:",
         "n - sum_j cos(x_j) + i*(1 - cos(x_i)) - sin(x_i) = 0.",
         "x = 0 is a root, and so is every shift of it by multiples of 2*pi: there",
         "are infinitely many real roots (the count in a box is not known).",
         f"source: {MGH}, problem 26; MINPACK hybrd test set, problem 11"],
        {v: 1.0 / n for v in x}, "unknown", [{v: 0.0 for v in x}], box="-3:3",
    )
    for i, v in enumerate(x, start=1):
        lines.append(f"{n} - {cosines} + {i}*(1 - cos({v})) - sin({v})")
    return "\n".join(lines) + "\n"


def variably_dimensioned(n: int) -> str:
    """The variably dimensioned system in the square form of the hybrd test set."""
    x = _names(n)
    s = "(" + " + ".join(f"{j}*({v} - 1)" for j, v in enumerate(x, start=1)) + ")"
    lines = _header(
        [f"Variably dimensioned function, n = {n}, square form: with",
         "s = sum_j j*(x_j - 1), x_i - 1 + i*s*(1 + 2*s^2) = 0. Multiplying",
         "equation i by i and adding gives s*(1 + (1 + 2*s^2)*sum i^2) = 0, so s = 0",
         "and all ones is the only root.",
         f"source: {MGH}, problem 25; MINPACK hybrd test set, problem 12"],
        {v: 1 - j / n for j, v in enumerate(x, start=1)}, "1",
        [{v: 1.0 for v in x}], polynomial=True,
    )
    for i, v in enumerate(x, start=1):
        lines.append(f"{v} - 1 + {i}*{s}*(1 + 2*{s}^2)")
    return "\n".join(lines) + "\n"


def _brown_alpha(n: int) -> list[float]:
    """Real roots α ≠ 0 of n·αⁿ − (n+1)·αⁿ⁻¹ + 1, by bisection on sign changes."""
    def p(a: float) -> float:
        return n * a**n - (n + 1) * a ** (n - 1) + 1

    grid = [-3 + 6 * k / 60000 for k in range(60001)]
    roots = []
    for a, b in itertools.pairwise(grid):
        if p(a) == 0:
            roots.append(a)
        elif p(a) * p(b) < 0:
            for _ in range(200):
                m = 0.5 * (a + b)
                if p(a) * p(m) <= 0:
                    b = m
                else:
                    a = m
            roots.append(0.5 * (a + b))
    return roots


def brown_almost_linear(n: int) -> str:
    """Brown's almost-linear system: n−1 linear equations and one product."""
    x = _names(n)
    count = 2 if n % 2 == 0 else 3
    exact = [{v: 1.0 for v in x}]
    lines = _header(
        [f"Brown almost-linear function, n = {n}: x_i + sum_j x_j = n + 1 for",
         "i < n and the product of all x_j = 1. The linear equations force",
         "x_1 = ... = x_(n-1) = a with n*a^n - (n+1)*a^(n-1) + 1 = 0, which has",
         "two real roots a for even n and three for odd n (Descartes' rule).",
         f"source: {MGH}, problem 27; MINPACK hybrd test set, problem 8"],
        {v: 0.5 for v in x}, str(count), exact, polynomial=True,
    )
    assert len(_brown_alpha(n)) == count
    total = " + ".join(x)
    for v in x[:-1]:
        lines.append(f"{v} + {total} - {n + 1}")
    lines.append("*".join(x) + " - 1")
    return "\n".join(lines) + "\n"


def _shifted_chebyshev(degree: int) -> list[int]:
    """Integer coefficients (ascending) of T_degree(2x − 1)."""
    prev, cur = [1], [-1, 2]
    if degree == 0:
        return prev
    for _ in range(degree - 1):
        nxt = [0] * (len(cur) + 1)
        for k, c in enumerate(cur):  # 2*(2x - 1)*cur
            nxt[k + 1] += 4 * c
            nxt[k] -= 2 * c
        for k, c in enumerate(prev):
            nxt[k] -= c
        prev, cur = cur, nxt
    return cur


def chebyquad_nodes(n: int) -> tuple[list[float], bool]:
    """The nodes of n-point equal-weight quadrature on [0, 1], and whether real.

    The equations hold exactly when the power sums of the nodes equal
    ``n/(k+1)`` for k = 1..n, which fixes the polynomial with the nodes as roots
    (Newton's identities); its real roots are counted exactly with SymPy.
    """
    import sympy

    p = [Fraction(n, k + 1) for k in range(n + 1)]
    e = [Fraction(1)]
    for k in range(1, n + 1):
        e.append(sum((-1) ** (i - 1) * e[k - i] * p[i] for i in range(1, k + 1)) / k)
    z = sympy.Symbol("z")
    poly = sympy.Poly(
        sum((-1) ** k * sympy.Rational(e[k].numerator, e[k].denominator) * z ** (n - k)
            for k in range(n + 1)),
        z,
    )
    real = sympy.real_roots(poly)
    all_real = len(real) == n and len(set(real)) == n
    nodes = sorted(float(r.evalf(30)) for r in real) if all_real else []
    return nodes, all_real


def chebyquad(n: int) -> str:
    """Chebyquad: equal-weight (Chebyshev) quadrature nodes on [0, 1]."""
    x = _names(n)
    nodes, real = chebyquad_nodes(n)
    count = math.factorial(n) if real else 0
    exact = [dict(zip(x, nodes))] if real else []
    why = (
        f"the {n} nodes are real and distinct, so the roots are their {count}"
        " orderings" if real else
        "the node polynomial has complex roots, so there is no real root"
    )
    lines = _header(
        [f"Chebyquad, n = {n}: the mean of T_i(2*x_j - 1) over j equals the",
         "integral of T_i(2t - 1) over [0, 1] (0 for odd i, -1/(i^2 - 1) for even",
         "i), i = 1..n. The conditions fix the power sums of the x_j and hence the",
         f"polynomial whose roots the x_j are (Newton's identities); {why}",
         "(root count by exact real-root isolation of that polynomial).",
         f"source: {MGH}, problem 35; MINPACK hybrd test set, problem 7"],
        {v: j / (n + 1) for j, v in enumerate(x, start=1)}, str(count), exact,
        box="0:1", polynomial=True,
    )
    for i in range(1, n + 1):
        coeffs = _shifted_chebyshev(i)
        total = " + ".join(horner(coeffs, v) for v in x)
        constant = "" if i % 2 else f" + {num(1 / (i * i - 1))}"
        lines.append(f"({total})/{n}{constant}")
    return "\n".join(lines) + "\n"


#: Real roots of Katsura-n, n = number of unknowns − 1, counted by
#: ``benchmarks/count_roots.py`` (lex Groebner basis in shape position, exact
#: real-root isolation of the eliminant, cross-checked by 4000 hybr starts).
KATSURA_ROOTS = {2: 4, 3: 6, 4: 12}


def katsura(n: int) -> str:
    """Katsura-n: unknowns x0..xn with x₋ᵢ = xᵢ and xₖ = 0 for |k| > n."""
    x = _names(n + 1, first=0)
    count = KATSURA_ROOTS.get(n)

    def u(k: int) -> str | None:
        k = abs(k)
        return x[k] if k <= n else None

    start = {v: 0.5 if i == 0 else 0.1 for i, v in enumerate(x)}
    lines = _header(
        [f"Katsura-{n} ({n + 1} unknowns x0..x{n}; x_(-i) = x_i, x_k = 0 for |k| > {n}):",
         f"sum_(i=-{n}..{n}) x_i = 1 and sum_(i=-{n}..{n}) x_i*x_(m-i) = x_m for m = 0..{n - 1}.",
         "The Bezout bound 2^n is the number of complex roots.",
         "source: Katsura's mean-field spin model; a standard benchmark of polynomial",
         "system solvers (PoSSo test suite, PHCpack demonstration systems)",
         "root count: found by a lex Groebner basis in shape position and confirmed",
         "by 4000 hybr starts (python -m benchmarks.count_roots)"],
        start, str(count) if count is not None else "unknown",
        [{v: 1.0 if i == 0 else 0.0 for i, v in enumerate(x)}], box="-1:1",
        polynomial=True,
    )
    lines.append(" + ".join([x[0]] + [f"2*{v}" for v in x[1:]]) + " - 1")
    for m in range(n):
        products = []
        for i in range(-n, n + 1):
            a, b = u(i), u(m - i)
            if b is not None:
                products.append(f"{a}*{b}")
        lines.append(" + ".join(products) + f" - {x[m]}")
    return "\n".join(lines) + "\n"


#: Generated families and their sizes.
FAMILIES = {
    "extended_rosenbrock": (extended_rosenbrock, (4, 10, 50)),
    "extended_powell": (extended_powell, (8, 20, 40)),
    "broyden_tridiagonal": (broyden_tridiagonal, (10, 20, 50)),
    "broyden_banded": (broyden_banded, (10, 20, 50)),
    "discrete_bvp": (discrete_bvp, (10, 20, 50)),
    "discrete_integral": (discrete_integral, (10, 20, 50)),
    "trigonometric": (trigonometric, (10, 20, 50)),
    "variably_dimensioned": (variably_dimensioned, (10, 20, 50)),
    "brown_almost_linear": (brown_almost_linear, (5, 10, 30)),
    "chebyquad": (chebyquad, (2, 3, 4, 5, 6, 7, 8, 9)),
    "katsura": (katsura, (2, 3, 4)),
}


def generated_problems(families: dict = FAMILIES) -> list[Problem]:
    """Every generated problem at every size."""
    out = []
    for family, (make, sizes) in families.items():
        for n in sizes:
            out.append(parse_problem(make(n), f"{family}_{n}", family))
    return out


def all_problems() -> list[Problem]:
    """Problem files first, then the generated families."""
    return file_problems() + generated_problems()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--write"]:
        target = Path(argv[1] if len(argv) > 1 else "generated")
        target.mkdir(parents=True, exist_ok=True)
        for family, (make, sizes) in FAMILIES.items():
            for n in sizes:
                (target / f"{family}_{n}.txt").write_text(make(n))
        print(f"wrote the generated problems to {target}")
        return 0
    print(f"{'problem':28} {'n':>3} {'roots':>7}  source")
    for p in all_problems():
        roots = "?" if p.roots is None else str(p.roots)
        print(f"{p.name:28} {p.n:>3} {roots:>7}  {p.source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
