"""Batch files: many systems of equations in one plain-text file.

``gdsolve batch FILE...`` solves every system in one or more batch files
(``-`` reads stdin). :func:`read_batch` reads the format and
:class:`BatchRunner` solves the systems in worker processes.

File format
-----------
A batch file is UTF-8 text; a leading byte order mark and CRLF line ends are
accepted. It holds systems one after another:

* A system is a run of lines. A blank line, or a line of three or more dashes
  (``---``), ends it; several in a row count as one break.
* ``#`` starts a comment that runs to the end of the line. A line holding only
  a comment is skipped and does not end a system.
* A line starting with ``@`` is a directive for its own system. Every other
  line holds one equation, or several separated by ``;``, written as for
  ``gdsolve solve``. An equation never contains ``@`` and is never made of
  dashes alone, so directives, separators and equations cannot be mistaken
  for one another.

Directives, each on its own line, anywhere among the system's lines::

    @name circle          the system's name in the output (default: system-N,
                          N its position in the batch, counting from 1)
    @vars x, y            the unknowns and their order
    @param a=2, b=0.5     values for names that are not unknowns
    @box -5:5             where random starts are drawn, for every unknown
    @box x=0:1, y=-1:1    ... or for the unknowns named
    @bounds x=0:          limits the search never leaves; an end may be open
    @start x=1, y=2       an explicit starting point
    @seed 7               seed of this system's random starts
    @starts 32            number of random starts (0: only the @start points)
    @max-iter 2000        iteration budget of the descent
    @tol 1e-12            a root has every |residual| within this
    @method adam          descent method (see ``gdsolve methods``)
    @lr 0.01              learning rate
    @noise 0              random kick for starts stuck on a flat region
    @polish off           refine end points (on or off)

``@param``, ``@box``, ``@bounds`` and ``@start`` may be repeated; the others
may appear once per system. A directive overrides the command-line option of
the same name for its system. A named ``--box`` or ``--bounds`` on the command
line applies to every system that has an unknown of that name.

An example with two systems::

    # Unit circle meets a line.
    @name circle-line
    x^2 + y^2 = 1
    y = x

    @name growth
    @param k=0.3
    @box 0:10
    exp(k*t) = 2

Limits: a line may hold at most 1 MiB, a system 2 Mi characters. A longer line
or system is an error for its system ("line 3 too long"); reading goes on
after it, so the other systems are still solved.

Records
-------
Each system gives one record, in input order: the JSON of ``gdsolve solve
--format json`` with ``name``, ``file``, ``line`` (the system's first line in
its file, counting from 1) and ``lines`` (its first and last line) in front. A
system that cannot be read, set up or solved gives a record with ``status``
``"error"`` and ``error`` (the message); its ``line`` is the offending line
when one is to blame (the bad equation or directive), else the system's first
line. A system stopped by ``--timeout`` gives ``status`` ``"timeout"``; one
whose set-up (reading, differentiating, compiling) outlasts ``--setup-timeout``
is stopped too and gives an error record.

Seeds: each system's seed is derived from the batch seed (``--seed``, or one
drawn at random and reported) and the system's position in the batch, with
``numpy.random.SeedSequence``; so the results do not depend on ``--jobs``.
``@seed`` fixes a system's seed. A record's ``seed`` reproduces that system
alone: ``gdsolve solve ... --seed SEED`` with the same settings.

Running: ``--jobs N`` solves N systems at a time, each in a worker process;
the records still come in input order, each as soon as it and those before it
are done. Results go to stdout; a progress bar (on a terminal), a line per
failed system and a closing summary go to stderr (``--quiet`` keeps stderr for
errors of the command itself).

Output formats (``--format``):

* ``table`` (default): for each system, its name and a table of solutions (or
  the error), as each is done.
* ``jsonl``: one record per line, each written as soon as it is done.
* ``json``: one object ``{"seed": batch seed, "interrupted": bool, "counts":
  {...}, "systems": [records]}`` written at the end.
* ``csv``: a header, then one row per solution: ``system`` (name),
  ``solution`` (its number), ``kind``, ``residual``, ``starts`` and one column
  per unknown, the union over the batch in first-seen order. A system without
  solutions gets one row whose ``kind`` is its status. Written at the end.

``counts`` holds ``systems``, ``with_roots`` (``solved`` or ``not-isolated``),
``without_roots`` (``no-root-found``), ``errors`` and ``timeouts``.

Exit codes: 0 every system has a root; 1 some system has no real root and none
failed; 2 some system is an error or timed out, the batch holds no system, or
the command line is wrong; 130 interrupted by Ctrl-C or SIGTERM.

An interrupt stops the workers and writes the record of every system that was
done: ``jsonl`` has written those in turn already and adds any finished ahead
of their turn (so the input order holds, with the unfinished systems left
out); ``json`` and ``csv`` are written with what is done (``json`` with
``"interrupted": true``). A summary goes to stderr. A closed stdout (``| head``)
ends the batch quietly.
"""

from __future__ import annotations

import codecs
import math
import os
import re
import resource
import signal
import sys
import time
from collections import deque
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from multiprocessing import Pipe
from multiprocessing.connection import Connection, wait
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping, Sequence

from gdsolve.errors import ExitCode, GdsolveError, OptionError, ParseError
from gdsolve.values import read_number

#: Most bytes in one line of a batch file (without its line end).
LINE_BYTES = 1 << 20
#: Most characters of equations and directives in one system.
SYSTEM_CHARS = 2 << 20
#: Bytes read at a time while skipping the rest of an overlong line.
_SKIP_BYTES = 1 << 20
#: Most bytes of one overlong line skipped before the file is given up on.
_SKIP_LIMIT = 256 << 20

_SEPARATOR = re.compile(r"-{3,}")
_DIRECTIVE = re.compile(r"@([A-Za-z][A-Za-z0-9_-]*)(?:\s+(.*))?")


@dataclass
class BatchSystem:
    """One system read from a batch file, with its settings.

    Attributes:
        index: Position in the batch, counting from 0 across all files.
        file: The file it came from (``-`` for stdin).
        line: Its first line in the file, counting from 1.
        last_line: Its last line in the file.
        name: Its name (``@name``, or ``system-N``).
        texts: The equation lines, comments removed.
        text_lines: The file line of each text.
        variables: The unknowns given by ``@vars``, or ``None``.
        params: Parameter values given by ``@param``.
        settings: Fields of :class:`gdsolve.api.Settings` set by directives.
        boxes: Per-unknown start intervals from ``@box NAME=LO:HI``.
        bounds: Per-unknown limits from ``@bounds``.
        start_points: Starting points from ``@start``.
        named: ``(directive, unknown, line)`` for each unknown a directive
            names, checked once the unknowns are known.
        vars_line: The line of ``@vars``, if any.
        error: Why the system cannot be solved, found while reading.
        error_line: The line the error is about.
    """

    index: int
    file: str
    line: int
    last_line: int
    name: str
    texts: list[str] = field(default_factory=list)
    text_lines: list[int] = field(default_factory=list)
    variables: list[str] | None = None
    params: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    boxes: dict[str, tuple[float, float]] = field(default_factory=dict)
    bounds: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    start_points: list[dict[str, float]] = field(default_factory=list)
    named: list[tuple[str, str, int]] = field(default_factory=list)
    vars_line: int | None = None
    error: str | None = None
    error_line: int | None = None

    def head(self) -> dict[str, Any]:
        """Return the fields that start this system's record."""
        return {
            "name": self.name,
            "file": self.file,
            "line": self.line,
            "lines": [self.line, self.last_line],
        }

    def equation_line(self, number: int | None) -> int:
        """Return the file line of equation ``number`` (1-based) of the system."""
        from gdsolve.parsing import split_equations

        if number is None or number < 1:
            return self.line
        seen = 0
        for text, line in zip(self.texts, self.text_lines):
            seen += len(split_equations([text]))
            if number <= seen:
                return line
        return self.line


# ---------------------------------------------------------------------------
# Reading.


class DirectiveError(GdsolveError):
    """A directive line of a batch file is not valid."""


def _lines(stream: BinaryIO) -> Iterator[tuple[int, str | None, str | None]]:
    """Yield ``(number, text, problem)`` for each line, reading at most a cap.

    ``text`` is the decoded line without its line end, or ``None`` when the
    line is too long or not UTF-8; then ``problem`` says so.
    """
    number = 0
    while True:
        raw = stream.readline(LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if len(raw) > LINE_BYTES and not raw.endswith(b"\n"):
            ended = _skip_line(stream)
            problem = f"line {number} too long (more than {LINE_BYTES} bytes)"
            if not ended:
                problem += f"; nothing after its first {_SKIP_LIMIT} bytes is read"
            yield number, None, problem
            if not ended:
                return
            continue
        raw = raw.rstrip(b"\n").rstrip(b"\r")
        try:
            yield number, raw.decode("utf-8"), None
        except UnicodeDecodeError as error:
            problem = f"line {number} is not UTF-8 text (byte {error.start + 1})"
            yield number, None, problem


def _skip_line(stream: BinaryIO) -> bool:
    """Read and drop the rest of the current line, a bounded piece at a time.

    Returns:
        Whether the line ended within :data:`_SKIP_LIMIT` bytes (a stream
        without line ends, such as ``/dev/zero``, is given up on).
    """
    skipped = 0
    while skipped < _SKIP_LIMIT:
        piece = stream.readline(_SKIP_BYTES)
        if not piece or piece.endswith(b"\n"):
            return True
        skipped += len(piece)
    return False


def _kind(text: str) -> tuple[str, str]:
    """Return what a line is (blank, comment, separator, directive, equation)."""
    if not text.strip():
        return "blank", ""
    content = text.split("#", 1)[0].strip()
    if not content:
        return "comment", ""
    if _SEPARATOR.fullmatch(content):
        return "separator", ""
    if content.startswith("@"):
        return "directive", content
    return "equation", content


def read_batch(
    stream: BinaryIO, file: str = "-", first_index: int = 0
) -> Iterator[BatchSystem]:
    """Read the systems of a batch file one at a time.

    Problems in a system (an overlong line, a bad directive) do not stop the
    reading: the system is yielded with ``error`` set.

    Args:
        stream: The file, opened in binary mode.
        file: Its name, recorded in each system.
        first_index: The batch position of its first system.
    """
    block: _Block | None = None
    index = first_index
    for number, text, problem in _lines(stream):
        kind, content = ("equation", "") if text is None else _kind(text)
        if kind in ("blank", "separator"):
            if block is not None:
                yield block.finish()
                index, block = index + 1, None
            continue
        if kind == "comment":
            continue
        if block is None:
            system = BatchSystem(index, file, number, number, f"system-{index + 1}")
            block = _Block(system)
        block.add(number, kind, content, problem)
    if block is not None:
        yield block.finish()


def read_files(
    paths: Sequence[str], stdin: BinaryIO | None = None
) -> Iterator[BatchSystem]:
    """Read the systems of several batch files in turn (``-`` is ``stdin``).

    A file that cannot be opened gives one system with ``error`` set.
    """
    index = 0
    for path in paths:
        try:
            stream = stdin if path == "-" else open(path, "rb", 1 << 16)  # noqa: SIM115
        except OSError as error:
            reason = error.strerror or str(error)
            yield _failed(index, path, f"cannot read {path}: {reason}")
            index += 1
            continue
        try:
            for system in read_batch(stream, path, index):
                index = system.index + 1
                yield system
        finally:
            if path != "-":
                stream.close()


def count_systems(paths: Sequence[str]) -> int | None:
    """Count the systems in batch files, or ``None`` if one is stdin."""
    if "-" in paths:
        return None
    return sum(1 for _ in read_files(paths))


def _failed(index: int, path: str, message: str) -> BatchSystem:
    system = BatchSystem(index, path, 0, 0, f"system-{index + 1}")
    system.error, system.error_line = message, None
    return system


class _Block:
    """A system while its lines are read."""

    def __init__(self, system: BatchSystem) -> None:
        self.system = system
        self.size = 0
        self.once: dict[str, int] = {}

    def add(self, number: int, kind: str, content: str, problem: str | None) -> None:
        """Take one line of the system."""
        self.system.last_line = number
        if problem is not None:
            self.fail(number, problem)
            return
        self.size += len(content)
        if self.size > SYSTEM_CHARS:
            message = f"line {number}: the system is too long (more than "
            self.fail(number, message + f"{SYSTEM_CHARS} characters)")
            return
        if kind == "directive":
            try:
                self.directive(number, content)
            except DirectiveError as error:
                self.fail(number, f"line {number}: {error}")
        elif self.system.error is None:
            self.system.texts.append(content)
            self.system.text_lines.append(number)

    def fail(self, number: int, message: str) -> None:
        """Record the system's first problem and drop what it holds."""
        if self.system.error is None:
            self.system.error, self.system.error_line = message, number
            self.system.texts, self.system.text_lines = [], []

    def directive(self, number: int, content: str) -> None:
        """Apply one ``@key value`` line to the system."""
        match = _DIRECTIVE.fullmatch(content)
        if not match:
            raise DirectiveError(
                f"expected a directive like '@name circle', got {content!r}"
            )
        key, value = match.group(1).lower(), (match.group(2) or "").strip()
        if key not in _DIRECTIVES:
            known = ", ".join("@" + k for k in _DIRECTIVES)
            raise DirectiveError(f"unknown directive @{key} (known: {known})")
        if key not in _REPEATABLE:
            if key in self.once:
                first = self.once[key]
                raise DirectiveError(f"@{key} given twice (first on line {first})")
            self.once[key] = number
        if not value:
            raise DirectiveError(f"@{key} needs a value")
        _DIRECTIVES[key](self.system, value, number)

    def finish(self) -> BatchSystem:
        """Return the system, checking that it has equations."""
        first = self.system.line
        if self.system.error is None and not self.system.texts:
            message = f"line {first}: the system has no equations (only directives)"
            self.fail(first, message)
        return self.system


# ---------------------------------------------------------------------------
# Directives: each reads its value into the system or raises DirectiveError.


def _number(text: str, what: str, allow_open: bool = False) -> float | None:
    return read_number(text, what, DirectiveError, allow_open)


def _integer(text: str, what: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise DirectiveError(f"{what}: {text!r} is not a whole number") from None
    if value < least:
        raise DirectiveError(f"{what} must be at least {least}, got {value}")
    return value


def _interval(text: str, what: str, allow_open: bool = False) -> tuple[Any, Any]:
    low, sep, high = text.partition(":")
    if not sep:
        raise DirectiveError(f"{what}: expected LO:HI, got {text!r}")
    lo, hi = _number(low, what, allow_open), _number(high, what, allow_open)
    if lo is not None and hi is not None and not lo < hi:
        raise DirectiveError(f"{what}: LO must be below HI, got {text!r}")
    return lo, hi


def _pairs(text: str, what: str) -> list[tuple[str, str]]:
    """Read ``name=value, name=value``."""
    out = []
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise DirectiveError(f"{what}: expected NAME=VALUE, got {part.strip()!r}")
        out.append((name.strip(), value.strip()))
    return out


def _name(system: BatchSystem, value: str, line: int) -> None:
    system.name = value


def _vars(system: BatchSystem, value: str, line: int) -> None:
    names = [n.strip() for n in value.split(",")]
    if not all(names):
        raise DirectiveError(
            f"@vars: expected names separated by commas, got {value!r}"
        )
    system.variables, system.vars_line = names, line


def _param(system: BatchSystem, value: str, line: int) -> None:
    for name, number in _pairs(value, "@param"):
        system.params[name] = _number(number, f"@param {name}")


def _box(system: BatchSystem, value: str, line: int) -> None:
    if "=" not in value:
        system.settings["box"] = _interval(value, "@box")
        return
    for name, interval in _pairs(value, "@box"):
        system.boxes[name] = _interval(interval, f"@box {name}")
        system.named.append(("box", name, line))


def _bounds(system: BatchSystem, value: str, line: int) -> None:
    for name, interval in _pairs(value, "@bounds"):
        system.bounds[name] = _interval(interval, f"@bounds {name}", allow_open=True)
        system.named.append(("bounds", name, line))


def _start(system: BatchSystem, value: str, line: int) -> None:
    point = {name: _number(v, f"@start {name}") for name, v in _pairs(value, "@start")}
    system.start_points.append(point)
    system.named.extend(("start", name, line) for name in point)


def _seed(system: BatchSystem, value: str, line: int) -> None:
    system.settings["seed"] = _integer(value, "@seed", 0)


def _starts(system: BatchSystem, value: str, line: int) -> None:
    system.settings["starts"] = _integer(value, "@starts", 0)  # 0 needs an @start


def _max_iter(system: BatchSystem, value: str, line: int) -> None:
    system.settings["max_iter"] = _integer(value, "@max-iter", 0)


def _tol(system: BatchSystem, value: str, line: int) -> None:
    tol = _number(value, "@tol")
    if not tol > 0:
        raise DirectiveError(f"@tol must be positive, got {value}")
    system.settings["tol"] = tol


def _method(system: BatchSystem, value: str, line: int) -> None:
    from gdsolve.methods import METHODS

    if value not in METHODS:
        choices = ", ".join(METHODS)
        message = f"@method: unknown method {value!r}; choose one of {choices}"
        raise DirectiveError(message)
    system.settings["method"] = value


def _lr(system: BatchSystem, value: str, line: int) -> None:
    lr = _number(value, "@lr")
    if not lr > 0:
        raise DirectiveError(f"@lr must be positive, got {value}")
    system.settings["lr"] = lr


def _noise(system: BatchSystem, value: str, line: int) -> None:
    noise = _number(value, "@noise")
    if noise < 0:
        raise DirectiveError(f"@noise must not be negative, got {value}")
    system.settings["noise"] = noise


def _polish(system: BatchSystem, value: str, line: int) -> None:
    choices = {"on": True, "off": False, "yes": True, "no": False}
    if value.lower() not in choices:
        raise DirectiveError(f"@polish: expected on or off, got {value!r}")
    system.settings["polish"] = choices[value.lower()]


_DIRECTIVES = {
    "name": _name,
    "vars": _vars,
    "param": _param,
    "box": _box,
    "bounds": _bounds,
    "start": _start,
    "seed": _seed,
    "starts": _starts,
    "max-iter": _max_iter,
    "tol": _tol,
    "method": _method,
    "lr": _lr,
    "noise": _noise,
    "polish": _polish,
}
_REPEATABLE = {"param", "box", "bounds", "start"}


# ---------------------------------------------------------------------------
# Solving one system into a record.


def system_seed(batch_seed: int, index: int) -> int:
    """Return the seed of the system at ``index``, derived from the batch seed.

    The same as ``SeedSequence(batch_seed).spawn(n)[index]``, for any ``n``.
    """
    import numpy as np

    child = np.random.SeedSequence(batch_seed, spawn_key=(index,))
    return int(child.generate_state(1, np.uint32)[0])


class _Located(GdsolveError):
    """An error in a batch system that belongs to a known line."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def solve_record(
    system: BatchSystem,
    defaults: Mapping[str, Any],
    batch_seed: int,
    setup_timeout: float | None = 20.0,
    prepared: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Solve one system and return its record; failures become error records.

    Args:
        system: The system, as read by :func:`read_batch`.
        defaults: Settings for every system (fields of :class:`Settings`);
            directives override them.
        batch_seed: The seed the system's own seed is derived from.
        setup_timeout: Seconds allowed for differentiating and compiling.
        prepared: Called once the system is parsed and compiled. Giving it
            means the caller enforces ``setup_timeout`` itself (a batch worker
            is killed when it is late), so the set-up runs in this process
            under the memory limit of :data:`gdsolve.system.SETUP_MEMORY`,
            without a child process of its own.
    """
    began = time.perf_counter()
    if system.error is not None:
        return error_record(system, system.error, system.error_line, began)
    try:
        result = _solve(system, defaults, batch_seed, setup_timeout, prepared, began)
    except _Located as error:
        return error_record(system, f"line {error.line}: {error}", error.line, began)
    except ParseError as error:
        line = system.equation_line(error.equation)
        return error_record(system, _parse_message(error, line), line, began)
    except GdsolveError as error:
        line = _blamed_line(system, error)
        message = f"line {line}: {error}".replace("--vars", "@vars")
        return error_record(system, message, line, began)
    except MemoryError:
        return error_record(system, "ran out of memory", None, began)
    except Exception as error:  # noqa: BLE001 - one system must not end the batch
        message = f"internal error: {type(error).__name__}: {error}"
        return error_record(system, message, None, began)
    return {**system.head(), **result}


def error_record(
    system: BatchSystem,
    message: str,
    line: int | None,
    began: float | None = None,
    status: str = "error",
) -> dict[str, Any]:
    """Return the record of a system that failed (``status`` error or timeout)."""
    record = system.head()
    record.update(status=status, error=message)
    record["line"] = line if line is not None else system.line or None
    elapsed = 0.0 if began is None else time.perf_counter() - began
    record["seconds"] = round(elapsed, 4)
    return record


def _solve(
    system: BatchSystem,
    defaults: Mapping[str, Any],
    batch_seed: int,
    setup_timeout: float | None,
    prepared: Callable[[], None] | None,
    began: float,
) -> dict[str, Any]:
    from gdsolve.api import Settings, prepare, solve_system

    texts, names, params = system.texts, system.variables, system.params
    if prepared is None:
        compiled = prepare(texts, names, params, setup_timeout)
    else:
        with _memory_limit():
            compiled = prepare(texts, names, params, setup_timeout=None)
        prepared()
    settings = settings_for(system, defaults, compiled.names, batch_seed)
    result = solve_system(compiled, Settings(**settings), began=began)
    return result.to_dict()


@contextmanager
def _memory_limit() -> Iterator[None]:
    """Cap this process's address space as the set-up child would be capped."""
    from gdsolve.system import SETUP_MEMORY

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = SETUP_MEMORY if hard == resource.RLIM_INFINITY else min(SETUP_MEMORY, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def settings_for(
    system: BatchSystem,
    defaults: Mapping[str, Any],
    unknowns: Sequence[str],
    batch_seed: int,
) -> dict[str, Any]:
    """Combine the batch settings with the system's directives.

    Named boxes and bounds of the batch apply to the unknowns the system has;
    those of the system must name its unknowns.
    """
    for directive, name, line in system.named:
        if name not in unknowns:
            known = ", ".join(unknowns)
            message = f"@{directive} names {name!r}, which is not an unknown ({known})"
            raise _Located(message, line)
    settings = {**defaults, **system.settings}
    settings["boxes"] = _only(defaults.get("boxes", {}), unknowns) | system.boxes
    settings["bounds"] = _only(defaults.get("bounds", {}), unknowns) | system.bounds
    settings["start_points"] = list(system.start_points)
    if "seed" not in system.settings:
        settings["seed"] = system_seed(batch_seed, system.index)
    return settings


def _only(mapping: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k in names}


def _parse_message(error: ParseError, line: int) -> str:
    """Render a parse error with the file line in place of the equation number."""
    message = f"line {line}: {error.message}"
    if not error.text or error.position is None:
        return message
    shown = error.text.replace("\t", " ").replace("\n", " ")
    return f"{message}\n  {shown}\n  {' ' * error.position}^"


def _blamed_line(system: BatchSystem, error: GdsolveError) -> int:
    """Return the line an error without a position is most likely about."""
    if system.vars_line is not None and "--vars" in str(error):
        return system.vars_line
    return system.line


# ---------------------------------------------------------------------------
# Running a batch in worker processes.


def batch_exit_code(counts: Mapping[str, int]) -> ExitCode:
    """Return the exit code for a batch's counts (see the module docstring)."""
    if not counts.get("systems") or counts.get("errors") or counts.get("timeouts"):
        return ExitCode.BAD_INPUT
    if counts.get("without_roots"):
        return ExitCode.NO_ROOT
    return ExitCode.OK


def new_counts() -> dict[str, int]:
    """Return zeroed counts of a batch's outcomes."""
    keys = ("systems", "with_roots", "without_roots", "errors", "timeouts")
    return dict.fromkeys(keys, 0)


def tally(counts: dict[str, int], record: Mapping[str, Any]) -> None:
    """Count one record into ``counts``."""
    counts["systems"] += 1
    status = record.get("status")
    if status in ("solved", "not-isolated"):
        counts["with_roots"] += 1
    elif status == "no-root-found":
        counts["without_roots"] += 1
    elif status == "timeout":
        counts["timeouts"] += 1
    else:
        counts["errors"] += 1


@dataclass(eq=False)
class _Worker:
    """A worker process and the parent's ends of its two pipes."""

    pid: int
    tasks: Connection
    results: Connection
    position: int = -1
    system: BatchSystem | None = None
    started: float = 0.0
    prepared: bool = False

    def close(self) -> None:
        """Close the parent's pipe ends."""
        self.tasks.close()
        self.results.close()


class BatchRunner:
    """Solve batch systems in worker processes, yielding records in input order.

    Each worker is a forked process in a process group of its own, so a system
    that runs past ``timeout`` is stopped for real (with any child it started)
    and its worker replaced. The worker differentiates and compiles each system
    in its own process and reports when that is done; a set-up that runs past
    ``setup_timeout`` is stopped the same way. (Forking a set-up process per
    system, as a single solve does, would cost more than most small solves.)
    Use it as a context manager: leaving the block, normally or by an exception
    such as ``KeyboardInterrupt``, stops every worker.

        >>> with BatchRunner({}, batch_seed=1) as runner:  # doctest: +SKIP
        ...     for record in runner.run(read_files(["systems.txt"])):
        ...         print(record["name"], record["status"])

    Args:
        defaults: Settings for every system (fields of ``Settings``).
        batch_seed: The seed each system's seed is derived from.
        jobs: Number of worker processes.
        timeout: Seconds allowed per system, or ``None`` for no limit.
        setup_timeout: Seconds allowed for differentiating and compiling.
        waiting: Makes the context entered around each wait for the next
            system or for the workers; the command line lets Ctrl-C in there
            and only there.
    """

    def __init__(
        self,
        defaults: Mapping[str, Any],
        batch_seed: int,
        jobs: int = 1,
        timeout: float | None = None,
        setup_timeout: float | None = 20.0,
        waiting: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> None:
        if jobs < 1:
            raise OptionError(f"jobs must be at least 1, got {jobs}")
        if timeout is not None and not timeout > 0:
            raise OptionError(f"timeout must be positive, got {timeout}")
        self.defaults = dict(defaults)
        self.batch_seed = batch_seed
        self.jobs = jobs
        self.timeout = timeout
        self.setup_timeout = setup_timeout
        self.waiting = waiting
        self.window = 8 * jobs + 8
        self._workers: list[_Worker] = []
        self._done: dict[int, dict[str, Any]] = {}
        self._ready = False

    def __enter__(self) -> BatchRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, systems: Iterable[BatchSystem]) -> Iterator[dict[str, Any]]:
        """Solve the systems; yield each record as soon as those before it are out.

        If the run stops early (an interrupt), the records finished but not yet
        handled are kept; see :meth:`unreported`.
        """
        source = iter(systems)
        waiting: deque[tuple[int, BatchSystem]] = deque()
        read = emitted = 0
        exhausted = False
        while True:
            while not exhausted and read - emitted < self.window:
                with self.waiting():
                    system = next(source, None)
                exhausted = system is None
                if system is not None:
                    self._take(read, system, waiting)
                    read += 1
            self._dispatch(waiting)
            while emitted in self._done:
                yield self._done[emitted]
                del self._done[emitted]  # kept until taken: see unreported()
                emitted += 1
            if exhausted and emitted == read:
                return
            if self._busy():
                self._collect()

    def _take(
        self,
        position: int,
        system: BatchSystem,
        waiting: deque[tuple[int, BatchSystem]],
    ) -> None:
        """Queue a system, or record it at once if it failed while being read."""
        if system.error is not None:
            self._done[position] = solve_record(system, {}, self.batch_seed)
        else:
            waiting.append((position, system))

    def unreported(self, taken: int) -> list[dict[str, Any]]:
        """Return the finished records after the first ``taken``, in input order.

        After an interruption, these are the records the caller has not yet
        handled: the one being yielded and those finished ahead of their turn.
        """
        return [self._done[k] for k in sorted(self._done) if k >= taken]

    def close(self) -> None:
        """Keep any record already sent, then stop every worker and its children."""
        for worker in self._busy():
            while worker.system is not None and worker.results.poll(0):
                self._receive(worker)
        while self._workers:
            self._stop(self._workers[-1])

    def _busy(self) -> list[_Worker]:
        return [w for w in self._workers if w.system is not None]

    def _dispatch(self, waiting: deque[tuple[int, BatchSystem]]) -> None:
        """Hand waiting systems to idle workers, starting workers as needed."""
        while waiting:
            idle = [w for w in self._workers if w.system is None]
            if not idle and len(self._workers) >= self.jobs:
                return
            worker = idle[0] if idle else self._spawn()
            position, system = waiting.popleft()
            worker.tasks.send(system)
            worker.position, worker.system = position, system
            worker.started, worker.prepared = time.monotonic(), False

    def _deadline(self, worker: _Worker) -> float:
        """Return when a busy worker is late: past the timeout or the set-up's."""
        limits = [math.inf]
        if self.timeout is not None:
            limits.append(worker.started + self.timeout)
        if self.setup_timeout is not None and not worker.prepared:
            limits.append(worker.started + self.setup_timeout)
        return min(limits)

    def _collect(self) -> None:
        """Wait for a message or a deadline, and act on what happened."""
        busy = self._busy()
        deadline = min(self._deadline(w) for w in busy)
        left = None if deadline == math.inf else max(0.0, deadline - time.monotonic())
        with self.waiting():
            ready = wait([w.results for w in busy], left)
        for worker in busy:
            if worker.results in ready:
                self._receive(worker)
            elif time.monotonic() >= self._deadline(worker):
                self._give_up(worker)

    def _receive(self, worker: _Worker) -> None:
        try:
            kind, record = worker.results.recv()
        except (EOFError, OSError):
            status = self._stop(worker)
            message = f"the worker process solving this system died ({status})"
            kind, record = "record", error_record(worker.system, message, None)
        if kind == "prepared":
            worker.prepared = True
            return
        self._done[worker.position] = record
        worker.system = None

    def _give_up(self, worker: _Worker) -> None:
        """Stop a worker that is late and record why."""
        system = worker.system
        self._stop(worker)
        elapsed = time.monotonic() - worker.started
        if self.timeout is not None and elapsed >= self.timeout:
            message = (
                f"no answer within {self.timeout:g} s; the system was stopped "
                "(raise --timeout to allow more time)"
            )
            record = error_record(system, message, None, status="timeout")
        else:
            message = (
                f"line {system.line}: preparing the system took longer than "
                f"{self.setup_timeout:g} s (differentiating and compiling); raise "
                "the limit with --setup-timeout if the system is really this large"
            )
            record = error_record(system, message, None)
        record["seconds"] = round(elapsed, 4)
        self._done[worker.position] = record

    def _prepare(self) -> None:
        """Load the solver once, before the first fork, and check the settings.

        Done only when a system is to be solved, so a batch whose systems all
        fail while being read is answered without loading SymPy.
        """
        if not self._ready:
            from gdsolve.api import Settings

            Settings(**self.defaults)
            self._ready = True

    def _spawn(self) -> _Worker:
        """Fork a worker that solves the systems sent to it."""
        self._prepare()
        task_read, task_write = Pipe(duplex=False)
        result_read, result_write = Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:
            for other in self._workers:
                other.close()
            task_write.close()
            result_read.close()
            _serve(task_read, result_write, self)
        task_read.close()
        result_write.close()
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child already did it
        worker = _Worker(pid, task_write, result_read)
        self._workers.append(worker)
        return worker

    def _stop(self, worker: _Worker) -> str:
        """Kill a worker's process group, collect it and say how it ended."""
        self._workers.remove(worker)
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except OSError:
            pass
        worker.close()
        try:
            _, status = os.waitpid(worker.pid, 0)
        except ChildProcessError:
            return "unknown status"
        if os.WIFSIGNALED(status):
            return f"signal {os.WTERMSIG(status)}"
        return f"exit code {os.WEXITSTATUS(status)}"


def _serve(tasks: Connection, results: Connection, runner: BatchRunner) -> None:
    """Run in a worker: solve each system received and send its record back."""
    code = 1
    try:
        os.setpgid(0, 0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _own_stdio()
        while True:
            try:
                system = tasks.recv()
            except EOFError:
                code = 0
                break
            record = solve_record(
                system,
                runner.defaults,
                runner.batch_seed,
                runner.setup_timeout,
                lambda: results.send(("prepared", None)),
            )
            results.send(("record", record))
    finally:
        os._exit(code)


def _own_stdio() -> None:
    """Give a worker stdio of its own.

    Stdin and stdout go to the null device: stdout carries records only, and
    the parent writes them. Stderr gets a fresh file object, since a thread of
    the parent (the progress bar) may have held the old one's lock at the fork.
    """
    quiet = os.open(os.devnull, os.O_RDWR)
    os.dup2(quiet, 0)
    os.dup2(quiet, 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
