"""Numbers written in options and batch-file directives."""

from __future__ import annotations

import math

from gdsolve.errors import GdsolveError


def read_number(
    text: str, what: str, error: type[GdsolveError], allow_open: bool = False
) -> float | None:
    """Read a finite number; with ``allow_open`` an empty text is an open end.

    Args:
        text: The written value.
        what: Where it was written (``--box``, ``@tol``), for the message.
        error: The error class to raise for a value that is not a number.
        allow_open: Read ``""`` and ``inf`` as an open end (``None``).
    """
    text = text.strip()
    if allow_open and text in ("", "inf", "+inf", "-inf"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise error(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise error(f"{what}: {text!r} is not a finite number")
    return value
