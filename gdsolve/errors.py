"""Errors raised for invalid input, and the exit codes the command line uses.

Outcomes of a solve (no root, a continuum, a diverged start) are results, not
exceptions: see :mod:`gdsolve.result`. Exceptions are for input that cannot be
solved at all, and they become messages in one place, the command line.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the ``gdsolve`` command."""

    OK = 0
    NO_ROOT = 1
    BAD_INPUT = 2
    INTERRUPTED = 130


class GdsolveError(Exception):
    """Base class of every error gdsolve reports to the user."""


class InputError(GdsolveError):
    """The input cannot be turned into a system of equations."""


class ParseError(InputError):
    """An equation's text is not valid; it knows where the problem is.

    Args:
        message: What is wrong and what was expected.
        text: The equation as the user wrote it.
        position: 0-based index in ``text`` of the offending character.
        equation: 1-based number of the equation in the system, if known.
    """

    def __init__(
        self,
        message: str,
        text: str = "",
        position: int | None = None,
        equation: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.position = position
        self.equation = equation
        self.line: int | None = None  # set when the equation came from a file

    def __str__(self) -> str:
        where = f"equation {self.equation}: " if self.equation else ""
        if self.line:
            where = f"line {self.line}: "
        if not self.text or self.position is None:
            return where + self.message
        shown = self.text.replace("\t", " ").replace("\n", " ")
        return f"{where}{self.message}\n  {shown}\n  {' ' * self.position}^"


class LimitError(InputError):
    """The input is larger or deeper than gdsolve accepts."""


class SetupError(GdsolveError):
    """Preparing the system (differentiate, compile) failed or ran too long."""


class OptionError(GdsolveError):
    """A setting has an invalid value."""
