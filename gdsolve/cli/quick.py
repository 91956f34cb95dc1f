"""Option values that need no conversion skip Typer's converter.

Typer turns every option value into its declared type with Pydantic, which it
loads the first time any option is processed, given or not: about 80 ms, more
than a tenth of a whole ``gdsolve solve``. Most values need nothing of the
kind: the defaults already have their type, and a plain integer (``64``), a
decimal number (``1e-10``, ``-3.5``), a text, or a choice spelled exactly as
listed (``adam``) has one obvious value. Those are taken as they are. Anything
else (``1_000``, a number with spaces around it, ``nan``, a choice in other
letter case, a path, a wrong value) goes to Typer's converter, built when first
needed, so values and error messages stay Typer's.

Typer builds each parameter's converter when it is first needed and keeps it
on the parameter (``_runtime_param``, not a public attribute). The group and
the commands of the application are made with :class:`Group` and
:class:`Command`, which put a :class:`QuickConversion` there before parsing.
With a Typer that keeps no such converter, nothing changes.
"""

from __future__ import annotations

import math
import re
from enum import Enum
from typing import Any, get_args, get_origin

from typer.core import TyperCommand, TyperGroup

#: Integers and decimal numbers that convert the same with ``int`` or ``float``
#: as with Typer's converter; other spellings go to Typer.
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_DECIMAL = re.compile(
    r"[+-]?(?:[0-9]{1,30}\.?[0-9]{0,30}|\.[0-9]{1,30})(?:[eE][+-]?[0-9]{1,3})?"
)

#: Returned by :func:`quick_value` when Typer's converter must decide.
UNSURE = object()


def quick_value(value: Any, annotation: Any, case_sensitive: bool = True) -> Any:
    """Return ``value`` as ``annotation`` when the conversion is obvious.

    Args:
        value: A default, or what was typed (a text, or a tuple of texts for
            an option given several times).
        annotation: The declared type: ``str``, ``int``, ``float``, ``bool``,
            an ``Enum`` of texts, or ``list`` of one of these.
        case_sensitive: Whether a choice must match its letter case.

    Returns:
        The converted value, or :data:`UNSURE` when it is not obvious.
    """
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (Any,)
        if not isinstance(value, (list, tuple)):
            return UNSURE
        items = [quick_value(v, item, case_sensitive) for v in value]
        return UNSURE if any(v is UNSURE for v in items) else items
    if annotation in (str, int, float, bool) and type(value) is annotation:
        return value
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(value, annotation, case_sensitive)
    if type(value) is not str:
        return UNSURE
    if annotation is int and _INTEGER.fullmatch(value):
        return int(value)
    if annotation is float and _DECIMAL.fullmatch(value):
        number = float(value)
        return number if math.isfinite(number) else UNSURE
    return UNSURE


def _choice(value: Any, choices: type[Enum], case_sensitive: bool) -> Any:
    """Return the member of ``choices`` that ``value`` is or spells exactly."""
    if isinstance(value, choices):
        return value
    if type(value) is not str or not case_sensitive:
        return UNSURE
    for member in choices:
        if str(member.value) == value:
            return member
    return UNSURE


class QuickConversion:
    """A parameter's converter: obvious values at once, the rest by Typer."""

    def __init__(self, descriptor: Any) -> None:
        self.descriptor = descriptor
        self.typer_conversion: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        """Convert ``value`` for ``param`` (the interface of Typer's converter)."""
        multiple = param.multiple or param.nargs == -1
        if value is None:
            return () if multiple else None
        plain = ctx.token_normalize_func is None  # no rewriting of choices
        if plain and not (multiple and isinstance(value, str)):
            info = self.descriptor.parameter_info
            quick = quick_value(value, self.descriptor.annotation, info.case_sensitive)
            if quick is not UNSURE:
                return quick
        if self.typer_conversion is None:
            from typer._coercion import build_runtime_param

            self.typer_conversion = build_runtime_param(self.descriptor)
        return self.typer_conversion.coerce(value, param=param, ctx=ctx)


def _plain(descriptor: Any) -> bool:
    """Whether a parameter's type is one :func:`quick_value` knows."""
    info = descriptor.parameter_info
    special = (
        descriptor.is_file
        or descriptor.is_path
        or descriptor.is_ranged
        or getattr(info, "parser", None) is not None
    )
    return not special


def quicken(params: list[Any]) -> None:
    """Give each parameter whose converter is not built yet a quick one."""
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        unbuilt = getattr(param, "_runtime_param", UNSURE) is None
        if unbuilt and descriptor is not None and _plain(descriptor):
            param._runtime_param = QuickConversion(descriptor)


class _QuickParameters:
    """Parse with quick converters on every parameter."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        quicken(self.get_params(ctx))  # type: ignore[attr-defined]
        return super().parse_args(ctx, args)  # type: ignore[misc]


class Group(_QuickParameters, TyperGroup):
    """Typer's group, with quick conversion of option values."""


class Command(_QuickParameters, TyperCommand):
    """Typer's command, with quick conversion of option values."""
