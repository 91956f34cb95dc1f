"""The Typer application and the one place where errors become messages."""

from __future__ import annotations

import gc
import os
import sys
from typing import Any, Callable, NoReturn

import typer
from rich.console import Console

from gdsolve import __version__
from gdsolve.cli.quick import Group
from gdsolve.errors import ExitCode, GdsolveError

app = typer.Typer(
    name="gdsolve",
    help="Solve systems of equations by gradient descent from many starts.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    cls=Group,
)


class _Results(Console):
    """A console for results whose reader may go away (``| head``): that is
    left to the command, which stops quietly with exit code 0, instead of
    Rich's own exit code 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def stdout() -> Console:
    """The console for results."""
    return _Results(soft_wrap=True)


def stderr() -> Console:
    """The console for progress, notes and errors."""
    return Console(stderr=True, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        print(f"gdsolve {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Solve systems of equations by gradient descent from many starts."""


def modules_loaded() -> None:
    """Collect garbage again, looking only at objects made from now on.

    Everything alive now (the loaded modules, mostly) is moved out of the
    collector's sight: it lives until the end, so walking it again in every
    full collection, at exit, or while a forked child copies the pages it
    touches would be wasted work.
    """
    gc.freeze()
    gc.enable()


def fail(error: BaseException, json_output: bool = False) -> NoReturn:
    """Report an input or setup error and exit with code 2.

    With ``json_output`` the error is also written to stdout as a JSON object,
    so a pipeline reading JSON sees it.
    """
    message = str(error)
    first, *rest = message.split("\n")
    console = stderr()
    console.print(f"gdsolve: error: {first}", markup=False, highlight=False)
    for line in rest:
        console.print(line, markup=False, highlight=False)
    if json_output:
        from gdsolve.report import dumps

        print(dumps({"status": "error", "error": message}), flush=True)
    raise typer.Exit(ExitCode.BAD_INPUT)


#: Set once a command's body has started (see :func:`guarded`): from then on
#: the command reports its own errors; before, the parser refused the line.
BODY_STARTED: list[bool] = []


def guarded(run: Callable[[], Any], json_output: bool = False) -> Any:
    """Run a command body; errors become messages, Ctrl-C exits 130."""
    BODY_STARTED.append(True)
    try:
        return run()
    except GdsolveError as error:
        fail(error, json_output)
    except typer.Exit:  # the command chose its exit code (a usage line said why)
        raise
    except KeyboardInterrupt:
        stderr().print("gdsolve: interrupted", highlight=False)
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except BrokenPipeError:
        _quiet_broken_pipe()
    except OSError as error:  # stdout or a file could not be written
        fail(GdsolveError(f"cannot write the output: {error.strerror or error}"))
    except Exception as error:  # a fault of gdsolve itself, not of the input
        if os.environ.get("GDSOLVE_DEBUG"):
            raise
        fail(
            GdsolveError(
                f"internal error ({type(error).__name__}: {error}); "
                "set GDSOLVE_DEBUG=1 to see where, and please report it"
            ),
            json_output,
        )


def _quiet_broken_pipe() -> NoReturn:
    """Stop quietly when the reader of stdout went away (``| head``)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise typer.Exit(ExitCode.OK)
