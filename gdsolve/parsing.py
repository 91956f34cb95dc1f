"""Read equations typed as text into SymPy residuals, evaluating nothing.

An equation is ``left = right`` (``==`` means the same as ``=``); an equation
without ``=`` means ``left = 0``. Several equations in one text are separated by
``;``. Each equation becomes the residual ``left - right``.

Syntax:

* **Numbers**, in decimal: ``12``, ``1.5``, ``.5``, ``1.``, ``1e-3``,
  ``2.5E+4``. A number above 1e300 is refused.
* **Names**: a letter (any alphabet: ``x``, ``α``, ``Δt``) followed by letters,
  digits 0-9 and ``_``. A name is never split: ``xy``, ``sinx`` and ``alpha1``
  are single names. ``π`` always stands alone, so ``2πr`` is ``2·π·r``.
* **Operators**, loosest first: ``+ -``; ``* /`` and implicit multiplication,
  left to right (``1/2x`` is ``(1/2)·x``); unary ``+ -``; power ``^`` or ``**``,
  right to left (``2^3^2`` is ``2^9``). Power binds tighter than unary minus:
  ``-x^2`` is ``-(x^2)``, and an exponent may carry a sign: ``2^-1``. An exponent
  is a single factor: ``x^2y`` is ``x^2·y``; write ``x^(2y)`` for the other.
* **Implicit multiplication**: a name, a function call or ``(`` directly after a
  number, a name, ``)`` or a superscript multiplies: ``2x``, ``3(x+1)``,
  ``(x+1)(x-1)``, ``2 pi r``, ``x y``, ``2sin(x)``. A number never multiplies
  implicitly from the right (``x 2`` and ``2 3`` are errors), and a name
  followed by ``(`` is a function call, so write ``x*(y+1)``, not ``x(y+1)``.
  ``2e3`` is the number 2000; ``2e`` is 2 times Euler's number.
* **Unicode**: ``−`` and ``–`` are minus; ``×``, ``·``, ``⋅`` and ``∗`` are ``*``;
  ``÷`` is ``/``; superscripts are powers (``x²``, ``x¹⁰``, ``x⁻¹``) of the item
  just before them; ``π`` is pi. Any whitespace separates tokens; a leading byte
  order mark is ignored.
* **Constants**: ``pi`` (also ``π``) and ``e`` (Euler's number), unless listed
  as unknowns. Every other name is an unknown or, if given a value, a parameter;
  ``E``, ``I``, ``N``, ``S``, ``beta``, ``gamma`` or ``lambda`` are plain names.
* **Functions** (argument in parentheses, always real-valued):
  ``sin cos tan asin acos atan atan2(y, x) sinh cosh tanh asinh acosh atanh
  exp log ln log10 log2 sqrt cbrt abs``. ``log`` and ``ln`` are the natural
  logarithm; ``cbrt`` is the real cube root (``cbrt(-8) = -2``), while
  ``x^(1/3)`` is undefined for negative ``x``. Function names are reserved.

Numbers are computed in float64 while reading: ``2^10`` becomes 1024 and
``sqrt(2)/3`` becomes 0.4714045207910317; a constant that overflows, falls
below float64's normal range (``exp(-1000)``, the 3^-1000 of ``(x/3)^1000``)
or leaves a function's domain (``log(-1)``, ``1/0``) is an error that points
at the place. Limits (see :data:`LIMITS`): 10 000 characters per equation and 100 000
in all, 5 000 equations, 5 000 unknowns, nesting 80 levels deep (parentheses,
calls, powers, and the expression they build: ``sin(1 + 2x sin(...))`` adds
three levels per call), exponents of an expression with unknowns up to 1 000.

The unknowns are ordered as listed by the caller, or else by name ignoring case,
with digit runs compared as numbers (``x2`` before ``x10``) and exact spelling
breaking ties (``A`` before ``a``).
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Union

import sympy

from gdsolve.errors import InputError, LimitError, ParseError


@dataclass(frozen=True)
class Limits:
    """Largest input accepted; generous for real systems, bounded for safety.

    Attributes:
        equation_chars: Characters in one equation.
        total_chars: Characters in all the texts together.
        depth: Nesting of parentheses, function calls and powers, and the depth
            of the expression tree built from them. Differentiating recurses
            about ten Python frames per level of the tree, so this bound keeps
            it within Python's default recursion limit.
        equations: Equations in one system.
        unknowns: Unknowns in one system.
        power: Size of a number exponent applied to an expression with unknowns.
        literal: Size of a number as written, and of a parameter's value.
            Constants computed from them need only stay finite in float64.
    """

    equation_chars: int = 10_000
    total_chars: int = 100_000
    depth: int = 80
    equations: int = 5_000
    unknowns: int = 5_000
    power: int = 1_000
    literal: float = 1e300


LIMITS = Limits()


@dataclass(frozen=True)
class ParsedSystem:
    """A system of equations read from text.

    Attributes:
        residuals: One expression per equation, ``left - right``, written in
            the internal symbols.
        names: The unknowns as the user wrote them, in order.
        symbols: The internal symbols ``v0, v1, ...`` (real), in the same order.
        equations: The text of each equation, split on ``;`` and stripped.
    """

    residuals: tuple[sympy.Expr, ...]
    names: tuple[str, ...]
    symbols: tuple[sympy.Symbol, ...]
    equations: tuple[str, ...]


class PositionedLimitError(ParseError, LimitError):
    """A number or exponent too large, at a known place in an equation."""


# A value while reading: a float for a constant, a SymPy expression otherwise.
Value = Union[float, sympy.Expr]

_EXACT = 2**53  # integers below this stay exact SymPy integers


class RealCubeRoot(sympy.Function):
    """Real cube root, negative for a negative argument; written ``cbrt``."""

    nargs = 1

    @classmethod
    def eval(cls, arg: sympy.Expr) -> sympy.Expr | None:
        """Evaluate at a finite real number; stay symbolic otherwise."""
        if arg.is_Number and arg.is_finite and arg.is_real:
            return _sym(math.cbrt(float(arg)))
        return None

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        """Return the derivative with respect to the argument."""
        return 1 / (3 * self**2)

    def _eval_is_extended_real(self) -> bool | None:
        """Real for a real argument."""
        return self.args[0].is_extended_real

    def _eval_is_finite(self) -> bool | None:
        """Finite for a finite argument."""
        return self.args[0].is_finite

    def _eval_evalf(self, prec: int) -> sympy.Expr | None:
        """Evaluate numerically to ``prec`` bits, keeping the sign."""
        arg = self.args[0]._eval_evalf(prec)
        if arg is None or not arg.is_Number:
            return None
        return (sympy.sign(arg) * abs(arg) ** sympy.Rational(1, 3))._eval_evalf(prec)

    def _sympystr(self, printer: object) -> str:
        """Print as ``cbrt(...)``, the way it is written."""
        return f"cbrt({printer._print(self.args[0])})"

    def _numpycode(self, printer: object) -> str:
        """Print as ``numpy.cbrt``, which is the real cube root."""
        func = printer._module_format(f"{printer._module}.cbrt")
        return f"{func}({printer._print(self.args[0])})"

    _scipycode = _numpycode

    def _pythoncode(self, printer: object) -> str:
        """Print as ``math.cbrt``, which is the real cube root."""
        func = printer._module_format("math.cbrt")
        return f"{func}({printer._print(self.args[0])})"

    def _mpmathcode(self, printer: object) -> str:
        """Print for mpmath, whose ``cbrt`` of a negative number is complex."""
        arg = printer._print(self.args[0])
        sign, cbrt = (printer._module_format(f"mpmath.{f}") for f in ("sign", "cbrt"))
        return f"({sign}({arg})*{cbrt}(abs({arg})))"


def _plain(func: Callable[..., sympy.Expr]) -> Callable[..., sympy.Expr]:
    """Return a builder of ``func`` calls that skips SymPy's automatic rewriting.

    The rewriting queries assumptions through the whole argument, which can
    take seconds on a long or deeply nested one; the call is kept as written.
    """
    return lambda *args: func(*args, evaluate=False)


def _log_base(base: float) -> Callable[[sympy.Expr], sympy.Expr]:
    """Return a builder of the logarithm to ``base``, with a float factor."""
    factor = sympy.Float(1 / math.log(base))
    return lambda arg: factor * sympy.log(arg, evaluate=False)


#: The functions an equation may call: name -> (number of arguments, builder of
#: the SymPy expression). Every one is real-valued on its real domain.
FUNCTIONS: dict[str, tuple[int, Callable[..., sympy.Expr]]] = {
    "sin": (1, _plain(sympy.sin)),
    "cos": (1, _plain(sympy.cos)),
    "tan": (1, _plain(sympy.tan)),
    "asin": (1, _plain(sympy.asin)),
    "acos": (1, _plain(sympy.acos)),
    "atan": (1, _plain(sympy.atan)),
    "atan2": (2, _plain(sympy.atan2)),
    "sinh": (1, _plain(sympy.sinh)),
    "cosh": (1, _plain(sympy.cosh)),
    "tanh": (1, _plain(sympy.tanh)),
    "asinh": (1, _plain(sympy.asinh)),
    "acosh": (1, _plain(sympy.acosh)),
    "atanh": (1, _plain(sympy.atanh)),
    "exp": (1, _plain(sympy.exp)),
    "log": (1, _plain(sympy.log)),
    "ln": (1, _plain(sympy.log)),
    "log10": (1, _log_base(10.0)),
    "log2": (1, _log_base(2.0)),
    "sqrt": (1, lambda arg: _sym(_raise(arg, 0.5, sympy.S.Half))),
    "cbrt": (1, _plain(RealCubeRoot)),
    "abs": (1, _plain(sympy.Abs)),
}

# The same functions on floats, for arguments that are all constants.
_FOLD: dict[str, Callable[..., float]] = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "atan2": math.atan2,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "asinh": math.asinh,
    "acosh": math.acosh,
    "atanh": math.atanh,
    "exp": math.exp,
    "log": math.log,
    "ln": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sqrt": math.sqrt,
    "cbrt": math.cbrt,
    "abs": abs,
}

_CONSTANTS: dict[str, float] = {"e": math.e, "pi": math.pi, "π": math.pi}


def natural_key(name: str) -> tuple:
    """Return a sort key that compares digit runs as numbers.

    Letters compare ignoring case, digit runs by value (``x2`` before
    ``x10``), and the exact spelling breaks ties (``A`` before ``a``).

    Args:
        name: A name of an unknown.
    """
    parts = re.split(r"([0-9]+)", name)
    key = []
    for index, part in enumerate(parts):
        if index % 2:
            digits = part.lstrip("0")
            key.append((len(digits), digits, len(part)))
        else:
            key.append(part.casefold())
    return (tuple(key), name)


def split_equations(texts: Sequence[str]) -> list[str]:
    """Split texts on ``;`` into stripped equations.

    A leading byte order mark is removed and empty parts at the end of each
    text are dropped; an empty part before a later equation is kept, so that
    reading it reports an empty equation.

    Args:
        texts: Texts holding one or more equations each.
    """
    equations: list[str] = []
    for text in texts:
        parts = [part.strip() for part in text.removeprefix("\ufeff").split(";")]
        while parts and not parts[-1]:
            parts.pop()
        equations.extend(parts)
    return equations


def parse_system(
    texts: Sequence[str],
    variables: Sequence[str] | None = None,
    params: Mapping[str, float] | None = None,
) -> ParsedSystem:
    """Read a system of equations from text.

    Args:
        texts: Texts of equations; each may hold several, separated by ``;``.
        variables: The unknowns in the order wanted. Every name in the
            equations must then be one of them, a parameter or a constant;
            listing ``e`` or ``pi`` makes it an unknown. ``None`` or empty:
            every other name is an unknown, in :func:`natural_key` order.
        params: Values of names that are fixed, substituted while reading.
            A parameter named ``e`` or ``pi`` replaces the constant.

    Raises:
        ParseError: An equation is not valid; the error knows where.
        LimitError: The input is larger or deeper than :data:`LIMITS`.
        InputError: The unknowns or parameters do not match the equations.
    """
    if isinstance(texts, str):
        texts = [texts]
    if isinstance(variables, str):
        variables = [variables]
    listed = _check_variables(variables or ())
    values = _check_params(params or {}, listed)
    equations = _split_checked(texts)
    tokens = [_tokenize_checked(text, i + 1) for i, text in enumerate(equations)]
    used = _names_used(tokens)
    names = _order_unknowns(used, listed, values)
    symbols = tuple(sympy.Symbol(f"v{i}", real=True) for i in range(len(names)))
    bindings: dict[str, Value] = {**_CONSTANTS, **values, **dict(zip(names, symbols))}

    residuals = []
    for index, (text, stream) in enumerate(zip(equations, tokens)):
        residuals.append(_parse_checked(_Source(text, index + 1), stream, bindings))
    _check_occurrences(used, listed, values, names)
    return ParsedSystem(tuple(residuals), names, symbols, tuple(equations))


# ---------------------------------------------------------------------------
# Checks on the caller's unknowns and parameters, and on the system's size.


def _check_variables(variables: Sequence[str]) -> tuple[str, ...]:
    """Return the listed unknowns, refusing repeats and function names."""
    listed = tuple(str(name).strip() for name in variables)
    seen: set[str] = set()
    for name in listed:
        if not name:
            raise InputError("empty name in --vars")
        if name in FUNCTIONS:
            raise InputError(f"{name} is a function and cannot be an unknown")
        if name in seen:
            raise InputError(f"unknown listed more than once in --vars: {name}")
        seen.add(name)
    return listed


def _check_params(params: Mapping[str, float], listed: Sequence[str]) -> dict:
    """Return the parameters as floats, refusing bad names and values."""
    values: dict[str, float] = {}
    for name, value in params.items():
        if name in FUNCTIONS:
            raise InputError(f"{name} is a function and cannot be a parameter")
        if name in listed:
            raise InputError(f"{name} is given both as an unknown and a parameter")
        try:
            number = float(value)
        except (TypeError, ValueError):
            message = f"parameter {name} must be a number, got {value!r}"
            raise InputError(message) from None
        if not math.isfinite(number):
            raise InputError(f"parameter {name} must be finite, got {number}")
        if abs(number) > LIMITS.literal:
            raise LimitError(
                f"parameter {name} is too large (more than {LIMITS.literal:g})"
            )
        values[name] = number
    return values


def _split_checked(texts: Sequence[str]) -> list[str]:
    """Split the texts into equations within the size limits."""
    if sum(len(text) for text in texts) > LIMITS.total_chars:
        raise LimitError(
            f"the equations are too long in total "
            f"(more than {LIMITS.total_chars} characters)"
        )
    equations = split_equations(texts)
    if not equations:
        raise InputError("no equations given")
    if len(equations) > LIMITS.equations:
        raise LimitError(f"too many equations (more than {LIMITS.equations})")
    return equations


def _order_unknowns(
    used: set[str], listed: Sequence[str], values: Mapping[str, float]
) -> tuple[str, ...]:
    """Return the unknowns: the listed ones first, then the rest sorted."""
    fixed = set(values) | set(_CONSTANTS)
    rest = sorted(used - set(listed) - fixed, key=natural_key)
    names = tuple(listed) + tuple(rest)
    if len(names) > LIMITS.unknowns:
        raise LimitError(f"too many unknowns (more than {LIMITS.unknowns})")
    return names


def _check_occurrences(
    used: set[str],
    listed: Sequence[str],
    values: Mapping[str, float],
    names: Sequence[str],
) -> None:
    """Refuse listed names that do not occur, and names not listed."""
    absent = [name for name in listed if name not in used]
    if absent:
        raise InputError(_plural(absent, "unknown in --vars", "occur in the equations"))
    absent = [name for name in values if name not in used]
    if absent:
        raise InputError(_plural(absent, "parameter", "occur in the equations"))
    if listed and len(names) > len(listed):
        extra = ", ".join(names[len(listed) :])
        raise InputError(
            f"names in the equations missing from --vars: {extra} "
            "(list every unknown, or give it a value as a parameter)"
        )
    if not names:
        raise InputError("no unknowns: every name is a constant or a parameter")


def _plural(names: Sequence[str], what: str, verb: str) -> str:
    """Return ``<what> does not <verb>: a`` or ``<what>s do not <verb>: a, b``."""
    if len(names) == 1:
        return f"{what} does not {verb}: {names[0]}"
    head, _, tail = what.partition(" ")
    plural = f"{head}s {tail}".rstrip()
    return f"{plural} do not {verb}: {', '.join(names)}"


# ---------------------------------------------------------------------------
# Tokens.


class _Token(NamedTuple):
    """One piece of an equation.

    Attributes:
        kind: ``num``, ``name``, ``op``, ``sup`` (a superscript exponent) or
            ``end``.
        text: The characters as typed.
        pos: 0-based index of the first character in the equation.
        value: The number for ``num`` and ``sup``, the operator in ASCII for
            ``op`` (``+ - * / ^ ( ) , =``), the name for ``name``.
    """

    kind: str
    text: str
    pos: int
    value: float | str | None


@dataclass(frozen=True)
class _Source:
    """An equation's text and number, for error messages."""

    text: str
    number: int

    def error(self, message: str, pos: int | None, limit: bool = False) -> ParseError:
        """Return the error to raise at ``pos`` in this equation."""
        kind = PositionedLimitError if limit else ParseError
        return kind(message, text=self.text, position=pos, equation=self.number)

    def too_deep(self, pos: int | None = None) -> LimitError:
        """Return the error for nesting deeper than the limit, at ``pos`` if known."""
        message = f"nested too deeply (more than {LIMITS.depth} levels)"
        if pos is None:
            return LimitError(f"equation {self.number} is {message}")
        return self.error(message, pos, limit=True)


_OPERATORS = {
    "+": "+",
    "-": "-",
    "\u2212": "-",  # minus sign
    "\u2013": "-",  # en dash
    "*": "*",
    "\u00d7": "*",  # multiplication sign
    "\u00b7": "*",  # middle dot
    "\u22c5": "*",  # dot operator
    "\u2217": "*",  # asterisk operator
    "/": "/",
    "\u00f7": "/",  # division sign
    "^": "^",
    "(": "(",
    ")": ")",
    ",": ",",
    "=": "=",
}
_DOUBLE = {"**": "^", "==": "="}
_SUPERSCRIPTS = {ch: str(i) for i, ch in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}
_SUPERSCRIPT_MINUS = "\u207b"
_ASCII_NAME_PART = re.compile(r"[A-Za-z0-9_]*")
_BASE_PREFIX = re.compile(r"0[xXoObB][0-9a-fA-F]")
_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: A number followed straight by ``e`` and no letter (``1e``, ``2e+x``) is a
#: number whose exponent lost its digits, not a product with the constant e.
_EXPONENT_WITHOUT_DIGITS = re.compile(r"[eE](?![A-Za-z_0-9])")
_HINTS = {
    "_": "names start with a letter",
    "'": "text in quotes is not part of an equation",
    '"': "text in quotes is not part of an equation",
    "[": "group with ( and )",
    "]": "group with ( and )",
    "{": "group with ( and )",
    "}": "group with ( and )",
    "√": "write sqrt(...)",
}


def _show(ch: str) -> str:
    """Return a character quoted for a message, or its code point if unseen."""
    if ch == "'":
        return '"\'"'
    if ch.isprintable() and not ch.isspace():
        return f"'{ch}'"
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({name.lower()})" if name else "")


def _is_name_part(ch: str) -> bool:
    """Tell whether ``ch`` may continue a name: a letter, 0-9, ``_`` or an accent."""
    if ch.isascii():
        return ch.isalnum() or ch == "_"
    if ch == "π" or _is_raised_letter(ch):
        return False
    return ch.isalpha() or unicodedata.category(ch).startswith("M")


def _is_raised_letter(ch: str) -> bool:
    """Tell whether ``ch`` is a superscript, subscript or modifier letter
    (``ⁿ``, ``ₓ``, ``ᵃ``): written as an exponent or index, never a name."""
    name = unicodedata.name(ch, "")
    return ch.isalpha() and (
        "SUPERSCRIPT" in name or "SUBSCRIPT" in name or "MODIFIER LETTER" in name
    )


def _tokenize(text: str, source: _Source) -> list[_Token]:
    """Split an equation into tokens, ending with an ``end`` token.

    Args:
        text: One equation.
        source: Where the equation came from, for error messages.

    Raises:
        ParseError: A character that is not part of the syntax, or a number
            written wrong.
        LimitError: A number above the limit.
    """
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch.isspace():
            pos += 1
            continue
        token = _next_token(text, pos, source)
        tokens.append(token)
        pos += len(token.text)
    tokens.append(_Token("end", "", len(text), None))
    return tokens


def _next_token(text: str, pos: int, source: _Source) -> _Token:
    """Read the token that starts at ``pos``."""
    ch = text[pos]
    pair = text[pos : pos + 2]
    if pair in _DOUBLE:
        return _Token("op", pair, pos, _DOUBLE[pair])
    if ch in _OPERATORS:
        return _Token("op", ch, pos, _OPERATORS[ch])
    if "0" <= ch <= "9" or (ch == "." and _NUMBER.match(text, pos)):
        return _number_token(text, pos, source)
    if ch == "π":
        return _Token("name", ch, pos, ch)
    if _is_raised_letter(ch):
        raise source.error(
            f"{_show(ch)} is a raised or lowered letter, not a name or an "
            "exponent: write x^n for a power, x_n for a name",
            pos,
        )
    if ch.isalpha():
        end = _ASCII_NAME_PART.match(text, pos + 1).end()
        while end < len(text) and _is_name_part(text[end]):
            end = _ASCII_NAME_PART.match(text, end + 1).end()
        return _Token("name", text[pos:end], pos, text[pos:end])
    if ch in _SUPERSCRIPTS or ch == _SUPERSCRIPT_MINUS:
        return _superscript_token(text, pos, source)
    hint = f": {_HINTS[ch]}" if ch in _HINTS else ""
    raise source.error(f"unexpected character {_show(ch)}{hint}", pos)


def _number_token(text: str, pos: int, source: _Source) -> _Token:
    """Read a number written in decimal, with an optional exponent."""
    written = _NUMBER.match(text, pos).group()
    if _BASE_PREFIX.match(text, pos):
        message = "numbers in base 16, 8 or 2 (0x, 0o, 0b) are not supported"
        raise source.error(message, pos)
    end = pos + len(written)
    if _EXPONENT_WITHOUT_DIGITS.match(text, end):
        shown = text[pos : end + 1]
        raise source.error(
            f"malformed number {shown!r}: an exponent needs digits (write "
            f"{written}e3), and a product with the constant e needs * "
            f"({written}*e)",
            end,
        )
    value = float(written)
    shown = written if len(written) <= 24 else written[:20] + "..."
    if not abs(value) <= LIMITS.literal:
        raise source.error(
            f"number {shown} is too large (more than {LIMITS.literal:g})",
            pos,
            limit=True,
        )
    if abs(value) < sys.float_info.min and re.match(r"[0.]*[1-9]", written):
        raise source.error(
            f"number {shown} is too small (below {sys.float_info.min:.1e}, where "
            "float64 rounds it to 0 or loses its digits)",
            pos,
            limit=True,
        )
    return _Token("num", written, pos, value)


def _superscript_token(text: str, pos: int, source: _Source) -> _Token:
    """Read a superscript exponent such as ``²``, ``¹⁰`` or ``⁻¹``."""
    end = pos + (text[pos] == _SUPERSCRIPT_MINUS)
    digits = ""
    while end < len(text) and text[end] in _SUPERSCRIPTS:
        digits += _SUPERSCRIPTS[text[end]]
        end += 1
    if not digits:
        message = "superscript minus must be followed by superscript digits"
        raise source.error(message, pos)
    value = float(digits) * (-1 if text[pos] == _SUPERSCRIPT_MINUS else 1)
    if abs(value) > LIMITS.literal:
        raise source.error("superscript exponent is too large", pos, limit=True)
    return _Token("sup", text[pos:end], pos, value)


def _tokenize_checked(text: str, number: int) -> list[_Token]:
    """Tokenize one equation and check its length, ``=`` and nesting."""
    source = _Source(text, number)
    if not text:
        raise source.error("empty equation", None)
    if len(text) > LIMITS.equation_chars:
        raise LimitError(
            f"equation {number} is too long "
            f"(more than {LIMITS.equation_chars} characters)"
        )
    tokens = _tokenize(text, source)
    equals = [token for token in tokens if token.value == "=" and token.kind == "op"]
    if len(equals) > 1:
        raise source.error("more than one '=' in equation", equals[1].pos)
    depth = 0
    for token in tokens:
        if token.kind == "op" and token.value in ("(", ")"):
            depth += 1 if token.value == "(" else -1
            if depth > LIMITS.depth:
                raise source.too_deep(token.pos)
    return tokens


def _names_used(streams: Sequence[Sequence[_Token]]) -> set[str]:
    """Return the names that are not function names nor called as functions."""
    used: set[str] = set()
    for tokens in streams:
        for token, after in zip(tokens, tokens[1:]):
            if token.kind != "name" or token.text in FUNCTIONS:
                continue
            if not (after.kind == "op" and after.value == "("):
                used.add(token.text)
    return used


# ---------------------------------------------------------------------------
# Building expressions; constants are folded in float64.


class _Fault(Exception):
    """A value that cannot be built; the parser adds where it happened."""

    def __init__(self, message: str, limit: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.limit = limit


def _fmt(value: float) -> str:
    """Return a float as short text: ``2``, ``0.5``, ``1e+300``."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _sym(value: Value) -> sympy.Expr:
    """Return a value as a SymPy expression; whole floats become integers."""
    return _number(value) if isinstance(value, float) else value


@functools.lru_cache(maxsize=4096)
def _number(value: float) -> sympy.Number:
    """Return a float as a SymPy number: an integer if whole and exact."""
    if value.is_integer() and abs(value) < _EXACT:
        return sympy.Integer(int(value))
    return sympy.Float(value)


def _finite(value: float, what: str) -> float:
    """Return ``value`` if it is finite; else fail naming ``what``."""
    if math.isinf(value):
        raise _Fault(f"{what} is too large", limit=True)
    if math.isnan(value):
        raise _Fault(f"{what} is undefined")
    return value


def _kept(value: float, what: str) -> float:
    """Return ``value``, a result of nonzero numbers, unless it fell below the
    normal range of float64 (about 2.2e-308): rounded to 0, or to a number
    with few digits left, it would be a different equation
    (``(x/3)^1000 = 1`` would read ``0 = 1``)."""
    if abs(value) < sys.float_info.min:
        raise _Fault(
            f"{what} is too small (below {sys.float_info.min:.1e}, where float64 "
            "rounds it to 0 or loses its digits)",
            limit=True,
        )
    return value


def _settle(expr: sympy.Expr) -> Value:
    """Return a float if the expression came out a number, else the expression."""
    if not expr.is_Atom or isinstance(expr, sympy.Symbol):
        return expr
    try:
        value = float(expr)
    except OverflowError:
        raise _Fault("a constant here is too large", limit=True) from None
    except TypeError:
        raise _Fault("the value here is not a real number") from None
    return _finite(value, "a constant here")


def _real(expr: sympy.Expr) -> Value:
    """Settle an expression, refusing one that became complex."""
    if expr.has(sympy.I):
        raise _Fault(
            "the value here is not a real number "
            "(a root or fractional power of a negative quantity)"
        )
    return _settle(expr)


def _negate(value: Value) -> Value:
    """Return ``-value``."""
    return -value if isinstance(value, float) else _settle(-value)


def _add(terms: Sequence[Value]) -> Value:
    """Return the sum of the terms, constants added in float."""
    constant = 0.0
    symbolic = []
    for term in terms:
        if isinstance(term, float):
            constant += term
        else:
            symbolic.append(term)
    _finite(constant, "the sum of the constants")
    if not symbolic:
        return constant
    if constant:
        symbolic.append(_sym(constant))
    return symbolic[0] if len(symbolic) == 1 else _settle(sympy.Add(*symbolic))


def _mul(coefficient: float, factor: Value, divide: bool) -> tuple[float, Value]:
    """Split a factor into a float coefficient (folded in) and the rest."""
    if isinstance(factor, float):
        value, rest = factor, None
    else:
        number, rest = factor.as_coeff_Mul()
        value = _settle(number)
    if divide and value == 0:
        raise _Fault("division by zero")
    result = coefficient / value if divide else coefficient * value
    lost = coefficient and value and not abs(result) >= sys.float_info.min
    if lost or not math.isfinite(result):
        shown = f"{_fmt(coefficient)}{'/' if divide else '*'}{_fmt(value)}"
        _kept(_finite(result, f"constant {shown}"), f"constant {shown}")
    if rest is not None and divide:
        rest = sympy.Pow(rest, -1)
    return result, rest


def _product(coefficient: float, factors: Sequence[sympy.Expr]) -> Value:
    """Return ``coefficient`` times the symbolic factors."""
    if not factors or coefficient == 0:
        return coefficient
    if coefficient == 1 and len(factors) == 1:
        return factors[0]
    return _settle(sympy.Mul(_sym(coefficient), *factors))


def _scale(coefficient: float, value: Value) -> Value:
    """Return ``coefficient * value``."""
    if isinstance(value, float):
        return _finite(coefficient * value, "the product of the constants")
    return _product(coefficient, [value])


def _fold_power(base: float, exponent: float) -> float:
    """Return ``base ** exponent`` in float, refusing non-real results."""
    shown = f"({_fmt(base)})" if base < 0 else _fmt(base)
    shown += f"^{_fmt(exponent)}" if exponent >= 0 else f"^({_fmt(exponent)})"
    if base == 0 and exponent < 0:
        raise _Fault(f"division by zero in {shown}")
    if base < 0 and not exponent.is_integer():
        raise _Fault(f"{shown} is not a real number")
    try:
        result = math.exp(exponent) if base == math.e else math.pow(base, exponent)
    except OverflowError:
        raise _Fault(f"constant {shown} is too large", limit=True) from None
    if base:
        _kept(result, f"constant {shown}")
    return _finite(result, f"constant {shown}")


def _raise(base: sympy.Expr, exponent: float, written: sympy.Expr) -> Value:
    """Return ``base ** written`` with the base's number factor folded in float.

    Args:
        base: An expression with unknowns.
        exponent: The exponent as a float.
        written: The same exponent as a SymPy number.
    """
    number, rest = base.as_coeff_Mul()
    coefficient = _settle(number)
    if coefficient < 0 and not exponent.is_integer():
        coefficient, rest = -coefficient, -rest
    folded = _fold_power(coefficient, exponent) if coefficient != 1 else 1.0
    power = sympy.Pow(rest, written)
    return _scale(folded, _settle(power) if exponent.is_integer() else _real(power))


def _power(base: Value, exponent: Value) -> Value:
    """Return ``base ^ exponent``."""
    if isinstance(exponent, float):
        if isinstance(base, float):
            return _fold_power(base, exponent)
        if abs(exponent) > LIMITS.power:
            raise _Fault(
                f"exponent {_fmt(exponent)} is too large "
                f"(at most {LIMITS.power} on an expression with unknowns)",
                limit=True,
            )
        return _raise(base, exponent, _sym(exponent))
    if isinstance(base, float) and base == math.e:
        return sympy.exp(exponent, evaluate=False)
    return _real(sympy.Pow(_sym(base), exponent))


def _call(name: str, args: Sequence[Value]) -> Value:
    """Return the function ``name`` applied to the arguments."""
    if all(isinstance(arg, float) for arg in args):
        shown = f"{name}({', '.join(_fmt(arg) for arg in args)})"
        try:
            value = _finite(float(_FOLD[name](*args)), f"constant {shown}")
            if value or name == "exp":  # exp is never 0: a 0 is lost digits
                _kept(value, f"constant {shown}")
            return value
        except OverflowError:
            raise _Fault(f"constant {shown} is too large", limit=True) from None
        except (ValueError, ZeroDivisionError):
            message = f"{shown} is undefined: outside the domain of {name}"
            raise _Fault(message) from None
    return _settle(FUNCTIONS[name][1](*(_sym(arg) for arg in args)))


# ---------------------------------------------------------------------------
# The parser: recursive descent with loops for sums and products.

_OPERAND = "a number, a name or '('"


class _Parser:
    """Turn the tokens of one equation into its residual."""

    def __init__(
        self, source: _Source, tokens: Sequence[_Token], bindings: Mapping[str, Value]
    ) -> None:
        self.source = source
        self.tokens = tokens
        self.bindings = bindings
        self.index = 0
        self.depth = 0
        self.deepest = 0
        self.where: int | None = None  # place of the operation being built

    # Token access.

    @property
    def peek(self) -> _Token:
        """The next token, not consumed."""
        return self.tokens[self.index]

    def advance(self) -> _Token:
        """Consume and return the next token."""
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_op(self, *ops: str) -> bool:
        """Tell whether the next token is one of the operators ``ops``."""
        token = self.tokens[self.index]
        return token.kind == "op" and token.value in ops

    def unexpected(self, token: _Token, expected: str) -> ParseError:
        """Return the error for ``token`` where ``expected`` should be."""
        described = {
            "end": "end of equation",
            "num": f"number '{token.text}'",
            "name": f"name '{token.text}'",
        }.get(token.kind, f"'{token.text}'")
        message = f"unexpected {described}: expected {expected}"
        return self.source.error(message, token.pos)

    def build(self, pos: int, func: Callable[..., Value], *args: object) -> Value:
        """Return ``func(*args)``, remembering ``pos`` as the place of a fault."""
        self.where = pos
        return func(*args)

    def descend(self) -> None:
        """Count one more level of nesting, refusing more than the limit."""
        self.depth += 1
        self.deepest = max(self.deepest, self.depth)
        if self.depth > LIMITS.depth:
            raise self.source.too_deep(self.peek.pos)

    # Grammar.

    def equation(self) -> Value:
        """equation := terms ['=' terms] end, read as one sum: left - right."""
        terms = self.terms()
        if self.at_op("="):
            equals = self.advance()
            right = self.terms()
            terms += [self.build(equals.pos, _negate, term) for term in right]
        token = self.peek
        if token.kind == "end":
            return self.build(token.pos, _add, terms)
        if token.kind == "op" and token.value == ")":
            raise self.source.error("unmatched ')'", token.pos)
        raise self.unexpected(token, "an operator or the end of the equation")

    def terms(self) -> list[Value]:
        """terms := term (('+' | '-') term)*, returned as a list to add."""
        terms = [self.term()]
        while self.at_op("+", "-"):
            sign = self.advance()
            term = self.term()
            if sign.value == "-":
                term = self.build(sign.pos, _negate, term)
            terms.append(term)
        return terms

    def term(self) -> Value:
        """term := factor (('*' | '/') factor | power)*, the bare power implicit.

        factor := ('+' | '-')* power
        """
        first = token = self.peek
        coefficient, factors, divide = 1.0, [], False
        negative = self.signs()
        while True:
            value = self.power()
            if negative:
                value = self.build(token.pos, _negate, value)
            coefficient, rest = self.build(token.pos, _mul, coefficient, value, divide)
            if rest is not None:
                factors.append(rest)
            token = self.peek
            if self.at_op("*", "/"):
                divide = self.advance().value == "/"
                negative = self.signs()
            elif token.kind == "name" or self.at_op("("):
                divide = negative = False
            else:
                break
        return self.build(first.pos, _product, coefficient, factors)

    def signs(self) -> bool:
        """Consume unary signs; tell whether they make a minus."""
        negative = False
        while self.at_op("+", "-"):
            negative ^= self.advance().value == "-"
        return negative

    def power(self) -> Value:
        """power := atom superscript* ['^' ('+' | '-')* power]"""
        base = self.atom()
        while self.peek.kind == "sup":
            token = self.advance()
            base = self.build(token.pos, _power, base, token.value)
        if self.at_op("^"):
            caret = self.advance()
            self.descend()
            negative = self.signs()
            exponent = self.power()
            if negative:
                exponent = self.build(caret.pos, _negate, exponent)
            self.depth -= 1
            base = self.build(caret.pos, _power, base, exponent)
        return base

    def atom(self) -> Value:
        """atom := number | name | function '(' arguments ')' | '(' terms ')'"""
        token = self.advance()
        if token.kind == "num":
            return token.value
        if token.kind == "name":
            return self.name(token)
        if token.kind == "op" and token.value == "(":
            self.descend()
            terms = self.terms()
            self.depth -= 1
            self.close(token)
            return self.build(token.pos, _add, terms)
        raise self.unexpected(token, _OPERAND)

    def name(self, token: _Token) -> Value:
        """Return the value of a name, or of the function call it starts."""
        if token.text in FUNCTIONS:
            return self.call(token)
        if self.at_op("("):
            raise self.source.error(_unknown_function(token.text), token.pos)
        return self.bindings[token.text]

    def call(self, token: _Token) -> Value:
        """Read the arguments of a call of the function ``token`` and apply it."""
        name = token.text
        if not self.at_op("("):
            raise self.source.error(
                f"function '{name}' needs its argument in parentheses: {name}(...)",
                token.pos,
            )
        opening = self.advance()
        parts = []  # the terms of each argument, with where it starts
        self.descend()
        if not self.at_op(")"):
            parts.append((self.peek.pos, self.terms()))
            while self.at_op(","):
                self.advance()
                parts.append((self.peek.pos, self.terms()))
        self.depth -= 1
        self.close(opening)
        args = [self.build(pos, _add, terms) for pos, terms in parts]
        arity = FUNCTIONS[name][0]
        if len(args) != arity:
            noun = "argument" if arity == 1 else "arguments"
            message = f"{name} takes {arity} {noun}, got {len(args)}"
            raise self.source.error(message, token.pos)
        return self.build(token.pos, _call, name, args)

    def close(self, opening: _Token) -> None:
        """Consume the ``)`` that closes ``opening``."""
        token = self.peek
        if self.at_op(")"):
            self.advance()
        elif token.kind == "end":
            raise self.source.error("unclosed '(': expected ')'", opening.pos)
        else:
            raise self.unexpected(token, "')'")


def _unknown_function(name: str) -> str:
    """Return the message for a call of a function that does not exist."""
    close = difflib.get_close_matches(name, FUNCTIONS, n=1)
    if close:
        return f"unknown function '{name}' (did you mean '{close[0]}'?)"
    if len(name) <= 3:  # most likely an unknown times a bracket: x(y + 1)
        return f"unknown function '{name}' (to multiply, write '{name}*(')"
    return f"unknown function '{name}'"


def _parse_checked(
    source: _Source, tokens: Sequence[_Token], bindings: Mapping[str, Value]
) -> sympy.Expr:
    """Parse one equation, turning any failure of the builder into an InputError."""
    parser = _Parser(source, tokens, bindings)
    try:
        residual = _sym(parser.equation())
        # Each level of nesting read adds at most five levels to the tree (sum,
        # product, power, call, sign), so shallow equations need no count.
        shallow = 5 * (parser.deepest + 1) + 2 <= LIMITS.depth
        if not shallow and _deeper_than(residual, LIMITS.depth):
            raise source.too_deep()
        return residual
    except RecursionError:
        raise source.too_deep() from None
    except _Fault as fault:
        raise source.error(fault.message, parser.where, fault.limit) from None
    except (ArithmeticError, ValueError, TypeError) as exc:
        message = f"cannot read this equation: {exc}"
        raise source.error(message, None) from None


def _deeper_than(expr: sympy.Expr, limit: int) -> bool:
    """Tell whether the expression tree has more than ``limit`` levels.

    Parentheses alone add no level, but calls, powers and products of sums do.
    """
    depth: dict[sympy.Basic, int] = {}
    stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if ready or not node.args:
            depth[node] = 1 + max((depth[arg] for arg in node.args), default=0)
            if depth[node] > limit:
                return True
        elif node not in depth:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if arg not in depth)
    return False
