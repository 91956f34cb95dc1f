"""Residuals and Jacobian of a parsed system, compiled to vectorised NumPy code.

The symbolic preparation (differentiate, eliminate common subexpressions, print
code) runs in a child process with a hard time and memory limit, because SymPy's
automatic evaluation can take very long on small, well-formed input. The child
returns plain source text over a pipe; the parent compiles it into functions that
take a whole array of points of shape ``(starts, unknowns)`` at once.

The generated code contains only internal names (``v0``, ``v1``... for the
unknowns, ``x0``, ``x1``... for common subexpressions), float literals and NumPy
functions: no text the user typed reaches it.

The Jacobian is kept sparse, as a list of its structurally nonzero entries
(``rows``, ``cols``), so a system with thousands of unknowns costs work in
proportion to its nonzeros. A dense ``(starts, equations, unknowns)`` Jacobian is
built only for the polishing steps and classification (see :meth:`System.dense`).
"""

from __future__ import annotations

import os
import pickle
import resource
import signal
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from gdsolve.domain import domain_bounds
from gdsolve.errors import SetupError
from gdsolve.parsing import ParsedSystem

#: Default wall-clock limit, in seconds, for differentiating and compiling.
SETUP_SECONDS = 20.0
#: Default address-space limit, in bytes, of the child that prepares the system.
SETUP_MEMORY = 4 * 1024**3

EvalFn = Callable[..., None]

#: How far inside an edge of its domain, relative to ``1 + |x|``, a derivative
#: that is infinite on the edge is taken instead (``√x`` has slope 5e5 there).
EDGE_NUDGE = 1e-12

#: Up to this many Jacobian entries, the descent of many starts sums over the
#: entries entry by entry (one operation each over all starts).
FEW_ENTRIES = 64
#: Up to this many entries in the 0/1 matrix that maps each Jacobian entry to
#: its equation (or unknown), sums over the entries are one product with it.
GATHER_LIMIT = 1 << 16


class EntrySums:
    """Adds up one value per Jacobian entry into its equation or its unknown.

    Values come one row per point, ``(points, entries)``, or one column per
    point, ``(entries, points)``. A small pattern is summed by one product
    with a 0/1 matrix; should a value not be finite, the sums are taken
    again segment by segment, so that it spoils only its own point's sums.
    A large pattern is always summed by segments.

    Args:
        rows: The equation of each entry.
        cols: The unknown of each entry.
        n_equations: Number of equations.
        n_unknowns: Number of unknowns.
    """

    def __init__(self, rows, cols, n_equations: int, n_unknowns: int) -> None:
        self._parts = {}
        small = len(rows) * max(n_equations, n_unknowns) <= GATHER_LIMIT
        parts = (("row", rows, n_equations), ("col", cols, n_unknowns))
        for name, index, size in parts:
            order = np.argsort(index, kind="stable")
            ids, starts = np.unique(index[order], return_index=True)
            gather = None
            if small:
                gather = np.zeros((len(index), size))
                gather[np.arange(len(index)), index] = 1.0
            self._parts[name] = (size, order, ids, starts, gather)

    def by_row(self, values: np.ndarray, columns: bool = False) -> np.ndarray:
        """Sum each point's values into their equations."""
        return self._sum(values, "row", columns)

    def by_column(self, values: np.ndarray, columns: bool = False) -> np.ndarray:
        """Sum each point's values into their unknowns."""
        return self._sum(values, "col", columns)

    def _sum(self, values: np.ndarray, name: str, columns: bool) -> np.ndarray:
        size, order, ids, starts, gather = self._parts[name]
        if gather is not None:
            out = gather.T @ values if columns else values @ gather
            if np.isfinite(out).all():
                return out
        if columns:
            out = np.zeros((size, values.shape[1]))
            if len(ids) and values.shape[1]:
                out[ids] = np.add.reduceat(values[order], starts, axis=0)
        else:
            out = np.zeros((values.shape[0], size))
            if len(ids) and values.shape[0]:
                out[:, ids] = np.add.reduceat(values[:, order], starts, axis=1)
        return out


@dataclass
class System:
    """A system of equations ready for numerical work.

    Attributes:
        names: The unknowns as the user named them, in order.
        equations: The text of each equation.
        rows: Equation index of each structurally nonzero Jacobian entry.
        cols: Unknown index of each structurally nonzero Jacobian entry.
        setup_seconds: Wall time spent differentiating and compiling.
        domain: The lower and upper edge of each unknown's domain, where the
            equations imply one (see :mod:`gdsolve.domain`), else ``∓inf``.
    """

    names: tuple[str, ...]
    equations: tuple[str, ...]
    rows: np.ndarray
    cols: np.ndarray
    source: str
    setup_seconds: float = 0.0
    domain: tuple[np.ndarray, np.ndarray] | None = None
    _residual_fn: EvalFn = field(init=False, repr=False)
    _full_fn: EvalFn = field(init=False, repr=False)

    def __post_init__(self) -> None:
        namespace: dict = {"numpy": np, "abs": np.abs, "__builtins__": {}}
        exec(compile(self.source, "<gdsolve-system>", "exec"), namespace)
        self._residual_fn = namespace["residuals"]
        self._full_fn = namespace["residuals_and_jacobian"]
        self.sums = EntrySums(self.rows, self.cols, self.n_equations, self.n_unknowns)
        #: Whether some unknown has an edge of its domain (see _slopes_inside).
        self._edged = self.domain is not None and bool(
            np.isfinite(self.domain[0]).any() or np.isfinite(self.domain[1]).any()
        )
        m, n = self.n_equations, self.n_unknowns
        #: Every entry is structurally nonzero, row by row: the entries are
        #: the dense Jacobian already.
        self._full = bool(
            self.nnz == m * n and np.array_equal(self.rows * n + self.cols, np.arange(m * n))
        )

    @property
    def n_equations(self) -> int:
        """Number of equations (residuals)."""
        return len(self.equations)

    @property
    def n_unknowns(self) -> int:
        """Number of unknowns."""
        return len(self.names)

    @property
    def nnz(self) -> int:
        """Number of structurally nonzero Jacobian entries."""
        return len(self.rows)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Evaluate F at each row of ``x`` (shape ``(starts, unknowns)``)."""
        out = np.empty((x.shape[0], self.n_equations))
        with np.errstate(all="ignore"):
            self._residual_fn(x.T, out.T)
        return out

    def evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate F and the nonzero Jacobian entries at each row of ``x``.

        Returns:
            ``F`` of shape ``(starts, equations)`` and the Jacobian's nonzero
            values of shape ``(starts, nnz)``, in the order of ``rows``/``cols``.
        """
        f = np.empty((x.shape[0], self.n_equations))
        jac = np.empty((x.shape[0], self.nnz))
        with np.errstate(all="ignore"):
            self._full_fn(x.T, f.T, jac.T)
            if self._edged:
                self._slopes_inside(x.T, jac.T)
        return f, jac

    def residuals_columns(self, x: np.ndarray) -> np.ndarray:
        """Evaluate F at points stored one per column, shape ``(unknowns, starts)``.

        Returns ``F`` of shape ``(equations, starts)``; with every row
        contiguous this is the fastest way to evaluate many points. Unlike
        :meth:`residuals`, it leaves NumPy's floating-point warnings to the
        caller (the descent silences them once for all its iterations).
        """
        out = np.empty((self.n_equations, x.shape[1]))
        self._residual_fn(x, out)
        return out

    def evaluate_columns(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate F and the nonzero Jacobian entries at points stored one per
        column: ``F`` is ``(equations, starts)``, the entries ``(nnz, starts)``.
        Floating-point warnings are left to the caller, as in
        :meth:`residuals_columns`."""
        f = np.empty((self.n_equations, x.shape[1]))
        jac = np.empty((self.nnz, x.shape[1]))
        self._full_fn(x, f, jac)
        if self._edged:
            self._slopes_inside(x, jac)
        return f, jac

    def _slopes_inside(self, x: np.ndarray, jac: np.ndarray) -> None:
        """Where a point lies on an edge of the domain and a derivative is
        infinite there (√x at 0), put the derivative a hair inside the edge
        in its place (points and entries one per column).

        Steps from the edge then move along it, or back inside, instead of
        stopping: the finite slope is steep enough that the unknown on the
        edge barely moves while the others go their way.
        """
        infinite = ~np.isfinite(jac)
        if not infinite.any():
            return
        starts = np.flatnonzero(infinite.any(axis=0))
        at = x[:, starts]
        lower, upper = (edge[:, None] for edge in self.domain)
        low, high = at <= lower, at >= upper
        if not (low | high).any():
            return
        nudge = EDGE_NUDGE * (1 + np.abs(at))
        inside = np.where(low, lower + nudge, np.where(high, upper - nudge, at))
        f = np.empty((self.n_equations, len(starts)))
        slopes = np.empty((self.nnz, len(starts)))
        self._full_fn(inside, f, slopes)
        better = infinite[:, starts] & np.isfinite(slopes)
        jac[:, starts] = np.where(better, slopes, jac[:, starts])

    def jt_times(self, jac: np.ndarray, f: np.ndarray) -> np.ndarray:
        """Return Jᵀf for each start, summing only the nonzero entries."""
        return self.sums.by_column(jac * f[:, self.rows])

    def column_norms2(self, jac: np.ndarray) -> np.ndarray:
        """Return the squared norm of each Jacobian column, for each start."""
        return self.sums.by_column(jac * jac)

    def row_sums(self, values: np.ndarray) -> np.ndarray:
        """Sum per-entry values into their equation's row, for each start."""
        return self.sums.by_row(values)

    def dense(self, jac: np.ndarray) -> np.ndarray:
        """Return the dense Jacobian, shape ``(starts, equations, unknowns)``
        (a view of ``jac`` when every entry is structurally nonzero)."""
        if self._full:
            return jac.reshape(len(jac), self.n_equations, self.n_unknowns)
        out = np.zeros((jac.shape[0], self.n_equations, self.n_unknowns))
        out[:, self.rows, self.cols] = jac
        return out


def build_system(
    parsed: ParsedSystem,
    timeout: float | None = SETUP_SECONDS,
    memory: int | None = SETUP_MEMORY,
    backend: str = "auto",
) -> System:
    """Differentiate and compile a parsed system under a time and memory limit.

    Args:
        parsed: The residuals and unknowns from :func:`gdsolve.parsing.parse_system`.
        timeout: Wall-clock limit in seconds; ``None`` prepares in this process
            with no limit.
        memory: Address-space limit in bytes for the preparing process.
        backend: Symbolic library, see :func:`generate_source`.

    Raises:
        SetupError: The preparation failed, ran out of time or out of memory.
    """
    import time

    began = time.perf_counter()
    if timeout is None:
        rows, cols, source = generate_source(parsed, backend)
    else:
        rows, cols, source = _in_child(parsed, timeout, memory, backend)
    return System(
        names=parsed.names,
        equations=parsed.equations,
        rows=np.asarray(rows, dtype=np.intp),
        cols=np.asarray(cols, dtype=np.intp),
        source=source,
        setup_seconds=time.perf_counter() - began,
        domain=domain_bounds(parsed.residuals, parsed.symbols),
    )


def generate_source(
    parsed: ParsedSystem, backend: str = "auto"
) -> tuple[list[int], list[int], str]:
    """Differentiate each residual and print the NumPy code that evaluates it.

    Each residual is differentiated only with respect to the unknowns it
    contains, so the work grows with the number of nonzeros, not with n².
    Common subexpressions are shared within an equation and its derivatives;
    small systems share them across all equations. In large systems, many
    equations of one shape (see :func:`_same_shapes`) are differentiated once
    and evaluated together.

    Args:
        parsed: The system.
        backend: ``"sympy"``, ``"symengine"`` or ``"auto"``: for systems with
            more than a few hundred Jacobian entries or a thousand characters
            of equations, SymEngine (much faster)
            when it is installed and handles every function in the system,
            SymPy otherwise. SymPy is the reference.
    """
    library = _backend(parsed, backend)
    residuals = [library.convert(r) for r in parsed.residuals]
    symbols = [library.convert(s) for s in parsed.symbols]
    index = {symbol: j for j, symbol in enumerate(symbols)}
    present = [
        sorted(index[s] for s in residual.free_symbols if s in index)
        for residual in residuals
    ]
    rows = [i for i, js in enumerate(present) for _ in js]
    cols = [j for js in present for j in js]
    offsets = np.cumsum([0] + [len(js) for js in present])

    groups = _same_shapes(library, residuals, symbols, present)
    grouped = {i for _, ids in groups for i in ids}
    alone = [i for i in range(len(residuals)) if i not in grouped]
    derivatives = {
        int(offsets[i]) + q: residuals[i].diff(symbols[j])
        for i in alone
        for q, j in enumerate(present[i])
    }

    unpack = "".join(f"    v{j} = x[{j}]\n" for j in range(len(symbols)))
    residual_lines = _print_block(
        library, [residuals[i] for i in alone], [f"f[{i}]" for i in alone]
    )
    full_lines = []
    for residual_ids, derivative_ids in _cse_blocks(alone, present, offsets):
        exprs = [residuals[i] for i in residual_ids]
        exprs += [derivatives[k] for k in derivative_ids]
        targets = [f"f[{i}]" for i in residual_ids]
        targets += [f"jac[{k}]" for k in derivative_ids]
        full_lines += _print_block(library, exprs, targets)
    for shape, ids in groups:
        residual_lines += _group_lines(library, shape, ids, present, offsets, False)
        full_lines += _group_lines(library, shape, ids, present, offsets, True)
    source = (
        "def residuals(x, f):\n"
        + unpack
        + "".join(residual_lines)
        + "    return None\n"
        "\n"
        "def residuals_and_jacobian(x, f, jac):\n"
        + unpack
        + "".join(full_lines)
        + "    return None\n"
    )
    return rows, cols, source


#: From this many equations on, equations of one shape (the same expression
#: with other unknowns, as the rows of a discretised model are) are evaluated
#: together, when at least this many share it: one NumPy operation then serves
#: a whole group instead of one equation, and each shape is differentiated once.
_SHAPES_FROM = 100
_SHAPE_ROWS = 8


def _same_shapes(
    library, residuals, symbols, present
) -> list[tuple[object, list[int]]]:
    """Group equations that are one expression of different unknowns.

    Each equation's unknowns, in order of their index, are renamed ``g0``,
    ``g1``...; equations whose renamed expressions print the same share a
    shape. Returns ``(shape, equation indices)`` per group large enough.
    """
    if len(residuals) < _SHAPES_FROM:
        return []
    most = max((len(js) for js in present), default=0)
    holders = [library.symbol(f"g{q}") for q in range(most)]
    shapes: dict[str, tuple[object, list[int]]] = {}
    for i, residual in enumerate(residuals):
        renamed = library.rename(
            residual, {symbols[j]: holders[q] for q, j in enumerate(present[i])}
        )
        shapes.setdefault(str(renamed), (renamed, []))[1].append(i)
    return [(shape, ids) for shape, ids in shapes.values() if len(ids) >= _SHAPE_ROWS]


def _group_lines(library, shape, ids, present, offsets, jacobian: bool) -> list[str]:
    """Print the code that evaluates a group of equations of one shape at once.

    Unknown ``g{q}`` of the shape is gathered for every equation of the group
    (a slice when the indices are evenly spaced), so each operation works on
    arrays of shape ``(equations in the group, starts)``.
    """
    count = len(present[ids[0]])
    lines = [
        f"    g{q} = x[{_indexer([present[i][q] for i in ids])}]\n"
        for q in range(count)
    ]
    exprs, targets = [shape], [f"f[{_indexer(ids)}]"]
    if jacobian:
        for q in range(count):
            exprs.append(shape.diff(library.symbol(f"g{q}")))
            targets.append(f"jac[{_indexer([int(offsets[i]) + q for i in ids])}]")
    return lines + _print_block(library, exprs, targets)


def _indexer(indices: list[int]) -> str:
    """Print an index into the first axis: a slice if evenly spaced, else a list."""
    first, step = indices[0], (indices[1] - indices[0] if len(indices) > 1 else 1)
    if step > 0 and all(b - a == step for a, b in zip(indices, indices[1:])):
        return f"{first}:{indices[-1] + 1}:{step}"
    return "[" + ", ".join(map(str, indices)) + "]"


class _Library:
    """The symbolic library that differentiates and shares subexpressions."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "symengine":
            import symengine

            self.convert, self.cse = symengine.sympify, symengine.cse
            self.symbol = symengine.Symbol
            self.rename = lambda expr, mapping: expr.subs(mapping)
        else:
            import sympy

            self.convert = lambda expr: expr
            self.cse = lambda exprs: sympy.cse(
                exprs, symbols=sympy.numbered_symbols("t"), order="none"
            )
            self.symbol = lambda name: sympy.Symbol(name, real=True)
            self.rename = lambda expr, mapping: expr.xreplace(mapping)


def _backend(parsed: ParsedSystem, choice: str) -> _Library:
    """Pick the symbolic library for this system (see :func:`generate_source`)."""
    if choice not in ("auto", "sympy", "symengine"):
        raise SetupError(f"unknown symbolic backend {choice!r}")
    if choice == "sympy":
        return _Library("sympy")
    small = sum(len(r.free_symbols) for r in parsed.residuals) < 200
    if choice == "auto" and small and sum(map(len, parsed.equations)) < 1000:
        return _Library("sympy")  # quick enough, and no SymEngine start-up cost
    try:
        import symengine  # noqa: F401
    except ImportError:
        if choice == "symengine":
            raise SetupError("the symengine backend is not installed") from None
        return _Library("sympy")
    # SymEngine leaves derivatives of abs, sign and the real cube root
    # unevaluated for real unknowns; such systems go through SymPy.
    import sympy

    from gdsolve.parsing import RealCubeRoot

    special = (sympy.Abs, sympy.sign, RealCubeRoot)
    if any(r.has(*special) for r in parsed.residuals):
        if choice == "symengine":
            raise SetupError("symengine cannot differentiate abs or cbrt; use sympy")
        return _Library("sympy")
    return _Library("symengine")


#: Up to this many equations, common subexpressions are shared across all of
#: them; above it, within each equation, so the cost stays linear in its size,
#: unless the unknowns appear in this many equations each on average: then the
#: equations share most of their terms (sin(xⱼ) in every row, say) and
#: evaluating them once for all rows is worth the slower preparation.
_GLOBAL_CSE_LIMIT = 40
_SHARED_COLUMN = 8


def _cse_blocks(
    ids: list[int], present: list[list[int]], offsets: np.ndarray
) -> list[tuple[list[int], list[int]]]:
    """Group residuals with their derivatives for common-subexpression sharing.

    Returns ``(equations, Jacobian entries)`` per block, for the equations
    ``ids``; ``present[i]`` lists the unknowns of equation ``i`` and its
    entries start at ``offsets[i]``.
    """
    entries = {i: list(range(int(offsets[i]), int(offsets[i]) + len(present[i])))
               for i in ids}
    nnz = sum(len(ks) for ks in entries.values())
    unknowns = len({j for i in ids for j in present[i]})
    if len(ids) <= _GLOBAL_CSE_LIMIT or nnz >= _SHARED_COLUMN * unknowns:
        return [(list(ids), [k for i in ids for k in entries[i]])]
    return [([i], entries[i]) for i in ids]


def _print_block(library: _Library, exprs: list, targets: list[str]) -> list[str]:
    """Print assignments of ``exprs`` into ``targets`` with shared subexpressions.

    The temporaries of one block are used up before the next block starts, so
    blocks may reuse their names.
    """
    shared, reduced = library.cse(exprs)
    lines = [f"    {name} = {numpy_code(value)}\n" for name, value in shared]
    lines += [f"    {t} = {numpy_code(e)}\n" for t, e in zip(targets, reduced)]
    return lines


#: SymPy functions and the NumPy function that evaluates each.
_NUMPY_FUNCTIONS = {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "atan2": "arctan2",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "asinh": "arcsinh",
    "acosh": "arccosh",
    "atanh": "arctanh",
    "exp": "exp",
    "log": "log",
    "Abs": "abs",
    "sign": "sign",
    "RealCubeRoot": "cbrt",
}


def numpy_code(expr) -> str:
    """Print a SymPy or SymEngine expression as NumPy code over internal names.

    Only the node types gdsolve's equations can produce are accepted (numbers,
    the internal symbols, ``+ * **`` and the whitelisted functions); anything
    else is refused, so nothing unexpected can reach the compiled code.
    Every operand that is not a single name or number is parenthesised.
    """
    name = type(expr).__name__
    if expr.is_Symbol:
        return str(expr.name)
    if expr.is_Number or name in _CONSTANTS:
        return _number_code(complex(expr))
    if expr.is_Add:
        return "(" + " + ".join(numpy_code(a) for a in expr.args) + ")"
    if expr.is_Mul:
        return "(" + "*".join(numpy_code(a) for a in expr.args) + ")"
    if expr.is_Pow:
        return _power_code(*expr.args)
    if name == "DiracDelta":  # derivative of sign(x): zero away from x = 0
        return "0.0"
    function = _NUMPY_FUNCTIONS.get(name) or _NUMPY_FUNCTIONS.get(name.lower())
    if function and expr.is_Function:
        args = ", ".join(numpy_code(a) for a in expr.args)
        return f"numpy.{function}({args})"
    raise SetupError(f"cannot evaluate {name} numerically")


#: Named constants a derivative may contain.
_CONSTANTS = ("Pi", "Exp1", "E", "pi", "exp1")


def _number_code(value: complex) -> str:
    if value.imag != 0:
        raise SetupError("the equations take complex values")
    real = value.real
    if real != real:
        return "numpy.nan"
    if real in (float("inf"), float("-inf")):
        return "numpy.inf" if real > 0 else "(-numpy.inf)"
    return repr(real)


def _power_code(base, exponent) -> str:
    """Print ``base ** exponent``, with square roots and small integer powers."""
    if type(base).__name__ in ("Exp1", "exp1"):
        return f"numpy.exp({numpy_code(exponent)})"
    b = numpy_code(base)
    if exponent.is_Integer:
        return f"({b}**{int(exponent)})"
    if exponent.is_Number and float(exponent) == 0.5:
        return f"numpy.sqrt({b})"
    if exponent.is_Number and float(exponent) == -0.5:
        return f"(1.0/numpy.sqrt({b}))"
    return f"({b}**{numpy_code(exponent)})"


def _in_child(
    parsed: ParsedSystem, timeout: float, memory: int | None, backend: str
) -> tuple[list[int], list[int], str]:
    """Run :func:`generate_source` in a forked child with hard limits."""
    import select
    import time

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: prepare, send, exit without running any cleanup
        os.close(read_end)
        status = 0
        try:
            if memory:  # never above a limit the user already set
                _, hard = resource.getrlimit(resource.RLIMIT_AS)
                if hard != resource.RLIM_INFINITY:
                    memory = min(memory, hard)
                resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            payload = pickle.dumps(("ok", generate_source(parsed, backend)))
        except MemoryError:
            payload = pickle.dumps(("error", "ran out of memory"))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            payload = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"[:500]))
        try:
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
        except BaseException:  # noqa: BLE001
            status = 1
        os._exit(status)

    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        with os.fdopen(read_end, "rb") as pipe:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([pipe], [], [], left)[0]:
                    raise SetupError(
                        f"preparing the system took longer than {timeout:g} s "
                        "(differentiating and compiling); raise the limit with "
                        "--setup-timeout if the system is really this large"
                    )
                chunk = os.read(pipe.fileno(), 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        _reap(pid)
    if not chunks:
        raise SetupError("preparing the system failed: the worker process died")
    kind, value = pickle.loads(b"".join(chunks))
    if kind != "ok":
        raise SetupError(f"preparing the system failed: {value}")
    return value


def _reap(pid: int) -> None:
    """Kill the child if it still runs and collect its exit status."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass


class Balanced:
    """A view of a system with every equation multiplied by a positive weight.

    The roots are those of the system itself; only the objective's landscape
    changes, so that an equation written a billion times larger than another
    does not hide it from the descent. Valley floors that are not roots are
    judged on the system as written.

    Args:
        system: The system as the user wrote it.
        weights: One positive weight per equation.
    """

    def __init__(self, system: System, weights: np.ndarray) -> None:
        self.system, self.weights = system, weights
        self.names, self.equations = system.names, system.equations
        self.rows, self.cols, self.nnz = system.rows, system.cols, system.nnz
        self.n_equations, self.n_unknowns = system.n_equations, system.n_unknowns
        self._jac_weights = weights[system.rows]
        self.sums = system.sums
        self.jt_times = system.jt_times
        self.column_norms2 = system.column_norms2
        self.row_sums = system.row_sums
        self.dense = system.dense

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Evaluate the weighted residuals at each row of ``x``."""
        return self.system.residuals(x) * self.weights

    def evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate weighted residuals and Jacobian entries at each row of ``x``."""
        return self.weigh(*self.system.evaluate(x))

    def weigh(self, f: np.ndarray, jac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weigh residuals and Jacobian entries of the system, one row per point."""
        return f * self.weights, jac * self._jac_weights

    def residuals_columns(self, x: np.ndarray) -> np.ndarray:
        """Weighted residuals at points stored one per column."""
        return self.system.residuals_columns(x) * self.weights[:, None]

    def evaluate_columns(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted residuals and Jacobian entries at points stored one per column."""
        f, jac = self.system.evaluate_columns(x)
        f *= self.weights[:, None]
        jac *= self._jac_weights[:, None]
        return f, jac


def equation_weights(
    system: System, x: np.ndarray, values: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """Return weights that give every equation a Jacobian row of typical size one.

    The size of each row is its median norm over the points ``x`` where it is
    defined; rows that are zero or undefined everywhere keep weight one.
    ``values`` are the residuals and Jacobian entries at ``x``, when known.
    """
    f, jac = system.evaluate(x) if values is None else values
    squares = system.row_sums(jac * jac)
    squares[~np.isfinite(squares)] = np.nan
    if len(x) == 1:
        size = np.sqrt(squares[0])
    elif len(x):
        ordered = np.sort(squares, axis=0)  # undefined values sort last
        defined = np.count_nonzero(np.isfinite(squares), axis=0)
        middle = np.maximum(defined - 1, 0) // 2
        size = np.sqrt(ordered[middle, np.arange(system.n_equations)])
    else:
        size = np.zeros(system.n_equations)
    usable = np.isfinite(size) & (size > 0)
    weights = np.ones(system.n_equations)
    weights[usable] = np.minimum(np.maximum(1.0 / size[usable], 1e-8), 1e8)
    return weights
