"""The ``gdsolve`` command line: a thin layer over :mod:`gdsolve.api`."""

from __future__ import annotations

import errno
import gc
import io
import os
import re
import signal
import sys

# Typer and Rich make many objects that live until the end; collecting garbage
# while they load would only walk them again and again (see main()).
_collecting = gc.isenabled()
gc.disable()
try:
    from gdsolve.cli.app import BODY_STARTED, app, modules_loaded
    from gdsolve.cli import solve as _solve  # noqa: F401  (registers commands)
    from gdsolve.cli import batch as _batch  # noqa: F401  (registers commands)
    from gdsolve.cli import plot as _plot  # noqa: F401  (registers commands)
finally:
    if _collecting:
        gc.enable()

#: An argument that starts with '-' and holds an operator or a space is an
#: equation (no option of gdsolve looks like that), and so is one that starts
#: with a single '-' and holds '=' or another '-' (``-x-1``). ``--name=value``
#: stays an option.
_EQUATION_LIKE = re.compile(r"^-(.*[\s+*/^()\u2212]|(?!-).*[=-])")


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


def _terminate(number: int, frame: object) -> None:
    """SIGTERM stops a command the way Ctrl-C does: a message and exit 130."""
    raise KeyboardInterrupt


def main() -> None:
    """Entry point of the ``gdsolve`` console script.

    The linear algebra runs on many small matrices at once, where BLAS threads
    cost more than they give (and fight over a busy machine), so one thread is
    the default; set ``OPENBLAS_NUM_THREADS`` (or ``OMP_NUM_THREADS``) to
    override it.

    The cyclic garbage collector is off while the modules load: they make
    hundreds of thousands of objects that live until the end, and collecting
    meanwhile would only walk them again and again. A command turns it back on
    once its modules are in (:func:`gdsolve.cli.app.modules_loaded`).
    """
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    signal.signal(signal.SIGTERM, _terminate)
    if sys.stdout is None:  # started with its standard output closed
        sys.stdout = _ClosedOutput()
    gc.disable()
    args = protect_equations(sys.argv[1:])
    try:
        app(args=args, prog_name="gdsolve")
    except OSError as error:  # help, version or an error message not written
        _unwritable(error)
    except SystemExit as done:
        if done.code == 2 and _wants_json(args) and not BODY_STARTED:
            _usage_error_as_json()
        raise
    finally:
        modules_loaded()


_JSON_FORMAT = re.compile(r"^(--format=?|-f)(jsonl?)$")


def _wants_json(args: list[str]) -> bool:
    """Whether the command line asks for JSON output (``-f json``,
    ``--format=jsonl``...)."""
    joined = [a + b for a, b in zip(args, args[1:] + [""]) if a in ("-f", "--format")]
    return any(_JSON_FORMAT.match(a) for a in args + joined)


def _usage_error_as_json() -> None:
    """Write the JSON error object for a command line the parser refused
    (its message is on stderr already)."""
    from gdsolve.report import dumps

    error = "the command line is not valid: see the message on standard error"
    try:
        print(dumps({"status": "error", "error": error}), flush=True)
    except OSError:
        pass


class _ClosedOutput(io.TextIOBase):
    """Standard output when the process was started without one: writing to
    it fails the way writing to a closed file does, so a command that has
    something to print says it cannot, instead of losing it quietly."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def _unwritable(error: OSError) -> None:
    """Say that the output could not be written, and exit 2 (bad usage)."""
    try:  # what stdout still holds cannot be written either
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError:
        pass
    try:
        print(f"gdsolve: error: cannot write the output: {error.strerror or error}",
              file=sys.stderr)
    except OSError:
        pass
    raise SystemExit(2)
