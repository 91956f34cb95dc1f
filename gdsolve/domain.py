"""Where the equations are defined: the edges single unknowns must not cross.

A square root or other fractional power, ``asin``, ``acos`` or ``acosh`` of
an expression in one unknown, ``a·x + b``, is defined on one side of a point
or between two, and a root often lies right on such an edge
(``sqrt(x) + sqrt(y) = 0`` at the origin, ``acos(x) = 0`` at 1). The search
treats these edges as bounds: a step that would cross one stops on it, where
otherwise it would be halved again and again, short of the edge, and an
unknown close to its edge would hold every other unknown back.

Edges of expressions in several unknowns (``sqrt(x + y)``) and the open edges
of ``log`` and negative powers, where the equations are infinite, are not
taken as bounds: steps that leave the domain there are halved.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
import sympy


def domain_bounds(
    residuals: tuple[sympy.Expr, ...], symbols: tuple[sympy.Symbol, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Return the lower and upper edge of each unknown's domain (``∓inf`` if
    none is known), each a float just inside the edge."""
    lower = np.full(len(symbols), -np.inf)
    upper = np.full(len(symbols), np.inf)
    index = {symbol: j for j, symbol in enumerate(symbols)}
    try:
        for expr in residuals:
            for argument, low, high in _limited(expr):
                affine = _affine(argument, index)
                if affine is None:
                    continue
                j, a, b = affine
                for edge, side in _edges(a, b, low, high):
                    if side > 0:
                        lower[j] = max(lower[j], edge)
                    else:
                        upper[j] = min(upper[j], edge)
    except RecursionError:  # an expression too deep to walk: no edges from it
        pass
    # a domain with no inside (sqrt(x - 1) + sqrt(1 - x): the one point 1) has
    # no edges to step along
    empty = ~(lower < upper)
    lower[empty], upper[empty] = -np.inf, np.inf
    return lower, upper


def _limited(expr: sympy.Expr) -> Iterator[tuple[sympy.Expr, float, float]]:
    """Yield each argument that must lie within limits, with the limits."""
    for node in sympy.preorder_traversal(expr):
        if node.is_Pow:
            base, exponent = node.args
            if exponent.is_Number and not exponent.is_Integer and exponent > 0:
                yield base, 0.0, math.inf
        elif isinstance(node, (sympy.asin, sympy.acos)):
            yield node.args[0], -1.0, 1.0
        elif isinstance(node, sympy.acosh):
            yield node.args[0], 1.0, math.inf


def _affine(argument: sympy.Expr, index: dict) -> tuple[int, float, float] | None:
    """Return ``(j, a, b)`` when ``argument`` is ``a·x_j + b``, else ``None``."""
    free = argument.free_symbols
    if len(free) != 1:
        return None
    (symbol,) = free
    if symbol not in index:
        return None
    a = sympy.diff(argument, symbol)
    if not a.is_Number or a == 0:
        return None
    b = argument.subs(symbol, 0)
    if not b.is_Number:
        return None
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b)):
        return None
    return index[symbol], a, b


def _edges(a: float, b: float, low: float, high: float) -> Iterator[tuple[float, int]]:
    """Yield the edges of ``low <= a·x + b <= high`` in ``x``, each with its
    side (+1: ``x`` must stay above it, -1: below), moved inwards until
    ``a·x + b`` computed in floating point is within the limits there."""
    for limit, rising in ((low, a > 0), (high, a < 0)):
        if not math.isfinite(limit):
            continue
        edge = (limit - b) / a
        if not math.isfinite(edge):
            continue
        inward = math.inf if rising else -math.inf
        for _ in range(4):
            if low <= a * edge + b <= high:
                yield edge, 1 if rising else -1
                break
            edge = math.nextafter(edge, inward)
