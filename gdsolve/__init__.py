"""gdsolve: solve systems of equations by finding the bottom of a valley.

The heavy modules (SymPy, NumPy) load on first use of :func:`solve`, so the
command line answers ``--help`` quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gdsolve.api import Settings, prepare, solve, solve_system
    from gdsolve.result import Solution, SolveResult

_LAZY = {
    "solve": "gdsolve.api",
    "solve_system": "gdsolve.api",
    "prepare": "gdsolve.api",
    "Settings": "gdsolve.api",
    "Solution": "gdsolve.result",
    "SolveResult": "gdsolve.result",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gdsolve' has no attribute {name!r}")
