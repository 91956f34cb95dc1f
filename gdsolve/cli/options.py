"""Command-line options shared by several commands, defined once.

Each option is an ``Annotated`` alias so ``solve``, ``compare``, ``plot`` and
``batch`` show the same help text. The helpers below turn option strings such
as ``x=0:5`` into settings; they import nothing heavy, so ``gdsolve --help``
stays fast.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Optional

import typer

from gdsolve.errors import OptionError
from gdsolve.values import read_number


class MethodName(str, Enum):
    """The descent methods, as the command line spells them."""

    gd = "gd"
    momentum = "momentum"
    nesterov = "nesterov"
    adam = "adam"
    sgd = "sgd"


class Format(str, Enum):
    """Output formats."""

    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


SYSTEM = "System"
SEARCH = "Search"
METHOD = "Method"
OUTPUT = "Output"

Equations = Annotated[
    Optional[list[str]],
    typer.Argument(
        help="Equations, each 'lhs = rhs' or an expression meaning '= 0'; "
        "several may share one argument separated by ';'. '-' reads stdin.",
        show_default=False,
    ),
]
Vars = Annotated[
    Optional[str],
    typer.Option(
        "--vars", help="The unknowns and their order, e.g. x,y.", rich_help_panel=SYSTEM
    ),
]
Params = Annotated[
    Optional[list[str]],
    typer.Option(
        "--param",
        "-p",
        help="Give a name a value instead of solving for it, e.g. a=2 (repeatable).",
        rich_help_panel=SYSTEM,
    ),
]
SetupTimeout = Annotated[
    float,
    typer.Option(
        "--setup-timeout",
        help="Seconds allowed for differentiating and compiling the system.",
        rich_help_panel=SYSTEM,
    ),
]
Method = Annotated[
    MethodName,
    typer.Option(
        "--method",
        "-m",
        help="Descent method (see 'gdsolve methods').",
        rich_help_panel=METHOD,
    ),
]
LearningRate = Annotated[
    Optional[float],
    typer.Option(
        "--lr",
        help="Learning rate (fixed step). For gd, giving it turns the line search off.",
        rich_help_panel=METHOD,
    ),
]
LineSearch = Annotated[
    Optional[bool],
    typer.Option(
        "--line-search/--fixed-step",
        help="gd: Barzilai-Borwein steps with backtracking (default unless --lr).",
        rich_help_panel=METHOD,
        show_default=False,
    ),
]
Momentum = Annotated[
    Optional[float],
    typer.Option(
        "--momentum",
        help="β of momentum and nesterov: the part of the last step kept.",
        rich_help_panel=METHOD,
    ),
]
Beta1 = Annotated[
    Optional[float],
    typer.Option(
        "--beta1", help="Adam: decay of the gradient's mean.", rich_help_panel=METHOD
    ),
]
Beta2 = Annotated[
    Optional[float],
    typer.Option(
        "--beta2",
        help="Adam: decay of the gradient's mean square.",
        rich_help_panel=METHOD,
    ),
]
Eps = Annotated[
    Optional[float],
    typer.Option(
        "--eps", help="Adam: ε added to the denominator.", rich_help_panel=METHOD
    ),
]
BatchSize = Annotated[
    Optional[int],
    typer.Option(
        "--batch-size",
        help="sgd: equations per step (default: half of them).",
        rich_help_panel=METHOD,
    ),
]
Scale = Annotated[
    bool,
    typer.Option(
        "--scale/--no-scale",
        help="Divide the gradient by the curvature of each unknown.",
        rich_help_panel=METHOD,
    ),
]
Starts = Annotated[
    int,
    typer.Option(
        "--starts", "-n", help="Number of random starts.", rich_help_panel=SEARCH
    ),
]
Box = Annotated[
    Optional[list[str]],
    typer.Option(
        "--box",
        help="Where random starts are drawn: LO:HI for every unknown, "
        "or NAME=LO:HI (repeatable).",
        rich_help_panel=SEARCH,
    ),
]
Start = Annotated[
    Optional[list[str]],
    typer.Option(
        "--start",
        help="An explicit starting point, e.g. x=1,y=2 (repeatable).",
        rich_help_panel=SEARCH,
    ),
]
Bounds = Annotated[
    Optional[list[str]],
    typer.Option(
        "--bounds",
        help="Keep an unknown inside limits, e.g. x=0: or x=-1:1 (repeatable).",
        rich_help_panel=SEARCH,
    ),
]
MaxIter = Annotated[
    int,
    typer.Option(
        "--max-iter", help="Iteration budget of the descent.", rich_help_panel=SEARCH
    ),
]
Tol = Annotated[
    float,
    typer.Option(
        "--tol", help="A root has every |residual| within this.", rich_help_panel=SEARCH
    ),
]
Seed = Annotated[
    Optional[int],
    typer.Option(
        "--seed",
        help="Seed of the random starts; the same seed gives the same output.",
        rich_help_panel=SEARCH,
    ),
]
Noise = Annotated[
    float,
    typer.Option(
        "--noise",
        help="Random kick for a start stuck on a flat region, relative to the "
        "box width; 0 turns it off.",
        rich_help_panel=SEARCH,
    ),
]
Polish = Annotated[
    bool,
    typer.Option(
        "--polish/--no-polish",
        help="Refine end points by Levenberg-Marquardt steps.",
        rich_help_panel=SEARCH,
    ),
]
AllRoots = Annotated[
    bool,
    typer.Option(
        "--all",
        help="Keep searching in rounds repelled from the roots found (deflation) "
        "until --patience rounds find nothing new.",
        rich_help_panel=SEARCH,
    ),
]
Patience = Annotated[
    int,
    typer.Option(
        "--patience",
        help="--all: rounds without a new root that end the search.",
        rich_help_panel=SEARCH,
    ),
]
MaxRounds = Annotated[
    int,
    typer.Option("--max-rounds", help="--all: most rounds.", rich_help_panel=SEARCH),
]
Trace = Annotated[
    int,
    typer.Option(
        "--trace",
        help="Print the iterations of this many first starts, and a sparkline "
        "of the best objective.",
        rich_help_panel=OUTPUT,
    ),
]
OutputFormat = Annotated[
    Format,
    typer.Option("--format", "-f", help="Output format.", rich_help_panel=OUTPUT),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No progress or notes on stderr.", rich_help_panel=OUTPUT
    ),
]


def split_names(text: str | None) -> list[str] | None:
    """Split ``x,y`` into names; ``None`` stays ``None``."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise OptionError("--vars needs at least one name, e.g. --vars x,y")
    return names


def number(text: str, option: str, allow_open: bool = False) -> float | None:
    """Read a number from an option value; an empty text is an open end."""
    return read_number(text, option, OptionError, allow_open)


def assignments(items: list[str] | None, option: str) -> dict[str, str]:
    """Read ``name=value`` items (commas may join several) into a mapping."""
    out: dict[str, str] = {}
    for item in items or []:
        for part in item.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise OptionError(f"{option}: expected NAME=VALUE, got {part!r}")
            if name.strip() in out:
                raise OptionError(f"{option} gives {name.strip()} twice")
            out[name.strip()] = value.strip()
    return out


def interval(text: str, option: str, allow_open: bool = False) -> tuple[Any, Any]:
    """Read ``LO:HI``; with ``allow_open`` either end may be left empty."""
    low, sep, high = text.partition(":")
    if not sep:
        raise OptionError(f"{option}: expected LO:HI, got {text!r}")
    return number(low, option, allow_open), number(high, option, allow_open)


def search_settings(
    box: list[str] | None,
    start: list[str] | None,
    bounds: list[str] | None,
    **values: Any,
) -> dict[str, Any]:
    """Turn the ``--box``, ``--start`` and ``--bounds`` strings into settings.

    Other settings given as ``values`` (``starts``, ``tol``...) are added as
    they are.
    """
    settings: dict[str, Any] = dict(values)
    boxes: dict[str, tuple[float, float]] = {}
    for item in box or []:
        if "=" in item:
            name, _, value = item.partition("=")
            if name.strip() in boxes:
                raise OptionError(f"--box gives {name.strip()} twice")
            boxes[name.strip()] = interval(value, "--box")
        else:
            settings["box"] = interval(item, "--box")
    settings["boxes"] = boxes
    settings["start_points"] = [
        {k: number(v, "--start") for k, v in assignments([item], "--start").items()}
        for item in start or []
    ]
    settings["bounds"] = {
        name: interval(value, "--bounds", allow_open=True)
        for name, value in assignments(bounds, "--bounds").items()
    }
    return settings


def parameters(items: list[str] | None) -> dict[str, float]:
    """Turn ``--param a=2`` items into a mapping of values."""
    return {k: number(v, "--param") for k, v in assignments(items, "--param").items()}
