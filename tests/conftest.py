"""Shared helpers: run the command line in-process and compare points."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pytest
from typer.testing import CliRunner

from gdsolve.cli import app, protect_equations


@pytest.fixture
def cli() -> Callable:
    """Run ``gdsolve ARGS...`` in-process; stdout and stderr come apart."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, protect_equations(list(args)), input=input)

    return run


def same_points(
    got: Sequence[Sequence[float]], want: Sequence[Sequence[float]], tol: float = 1e-7
) -> bool:
    """True when both lists hold the same points (in any order) within ``tol``."""
    if len(got) != len(want):
        return False
    left = [np.asarray(p, dtype=float) for p in got]
    for point in want:
        hits = [
            i for i, g in enumerate(left) if np.allclose(g, point, atol=tol, rtol=tol)
        ]
        if not hits:
            return False
        left.pop(hits[0])
    return True
