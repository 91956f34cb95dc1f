"""The ``gdsolve`` command line: a thin layer over :mod:`gdsolve.api`."""

from __future__ import annotations

import re
import sys

from gdsolve.cli.app import app
from gdsolve.cli import solve as _solve  # noqa: F401  (registers commands)
from gdsolve.cli import batch as _batch  # noqa: F401  (registers commands)
from gdsolve.cli import plot as _plot  # noqa: F401  (registers commands)

#: An argument that starts with a single '-' and holds an operator, a space or
#: '=' is an equation: no short option of gdsolve looks like that.
_EQUATION_LIKE = re.compile(r"^-(?!-)(.*)[\s=+*/^()\u2212]")


def protect_equations(argv: list[str]) -> list[str]:
    """Let equations that begin with a minus sign pass as arguments.

    ``gdsolve solve "-x + y = 1"`` would otherwise be read as an unknown
    option. Such an argument is given a leading space, which the equation
    reader ignores.
    """
    out = []
    for arg in argv:
        if _EQUATION_LIKE.match(arg):
            arg = " " + arg
        out.append(arg)
    return out


def main() -> None:
    """Entry point of the ``gdsolve`` console script."""
    app(args=protect_equations(sys.argv[1:]), prog_name="gdsolve")
