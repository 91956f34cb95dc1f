"""Descent methods, each a pair of small functions over arrays of starts.

A method is built by a factory that checks its settings and returns a
:class:`Method`: ``init(x)`` makes the state for the starting points ``x`` (shape
``(unknowns, starts)``), ``lookahead(x, state)`` says where the gradient is to be
taken, and ``update(gradient, state)`` returns the step to add to ``x`` and the
next state. Every array carries the starts on its last axis, so one start and a
thousand run the same code.

The gradient handed to ``update`` is that of the objective ``f(x) = Σ Fᵢ(x)²``,
i.e. ``2·J(x)ᵀF(x)``, optionally divided coordinate by coordinate by the
diagonal of the Gauss-Newton curvature (see :mod:`gdsolve.search`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from gdsolve.errors import OptionError

if TYPE_CHECKING:  # the methods use only array arithmetic, so NumPy loads lazily
    import numpy as np


class Method(NamedTuple):
    """A descent method as pure functions over arrays of starts."""

    name: str
    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any], tuple[np.ndarray, Any]]
    lookahead: Callable[[np.ndarray, Any], np.ndarray] | None = None


class Velocity(NamedTuple):
    """State of the momentum methods: the running velocity of each start."""

    velocity: np.ndarray


class Moments(NamedTuple):
    """State of Adam: step count and first and second moment estimates."""

    count: np.ndarray
    mu: np.ndarray
    nu: np.ndarray


def _positive(name: str, value: float) -> float:
    if not value > 0 or not math.isfinite(value):
        raise OptionError(f"{name} must be positive, got {value}")
    return float(value)


def _fraction(name: str, value: float) -> float:
    if not 0 <= value < 1:
        raise OptionError(f"{name} must be in [0, 1), got {value}")
    return float(value)


def gradient_descent(lr: float) -> Method:
    """Plain gradient descent, ``x ← x − η·g``.

    Args:
        lr: The learning rate η (a fixed step size).

    Example:
        >>> method = gradient_descent(lr=0.1)

    Reference: Cauchy (1847), with a fixed step.
    """
    lr = _positive("learning rate", lr)
    return Method("gd", init=lambda x: None, update=lambda g, state: (-lr * g, state))


def heavy_ball(lr: float, momentum: float) -> Method:
    """Gradient descent with momentum, ``v ← β·v − η·g``, ``x ← x + v``.

    Args:
        lr: The learning rate η.
        momentum: The momentum β, the fraction of the last step kept.

    Example:
        >>> method = heavy_ball(lr=0.05, momentum=0.9)

    Reference: Polyak (1964).
    """
    lr, beta = _positive("learning rate", lr), _fraction("momentum", momentum)

    def update(g: np.ndarray, state: Velocity) -> tuple[np.ndarray, Velocity]:
        velocity = beta * state.velocity - lr * g
        return velocity, Velocity(velocity)

    return Method("momentum", init=lambda x: Velocity(x * 0.0), update=update)


def nesterov(lr: float, momentum: float) -> Method:
    """Nesterov's accelerated gradient: the gradient is taken at ``x + β·v``.

    ``v ← β·v − η·g(x + β·v)``, ``x ← x + v``.

    Args:
        lr: The learning rate η.
        momentum: The momentum β.

    Example:
        >>> method = nesterov(lr=0.05, momentum=0.9)

    Reference: Nesterov (1983); Sutskever et al. (2013) for this form.
    """
    base = heavy_ball(lr, momentum)
    beta = float(momentum)
    return base._replace(
        name="nesterov", lookahead=lambda x, state: x + beta * state.velocity
    )


def adam(lr: float, beta1: float, beta2: float, eps: float) -> Method:
    """Adam: steps scaled by running estimates of the gradient's moments.

    ``m ← β₁m + (1−β₁)g``, ``s ← β₂s + (1−β₂)g²``,
    ``x ← x − η·m̂/(√ŝ + ε)`` with bias-corrected ``m̂``, ``ŝ``.

    Args:
        lr: The learning rate η.
        beta1: Decay β₁ of the first moment (the mean of the gradient).
        beta2: Decay β₂ of the second moment (the mean of its square).
        eps: ε, added to the denominator for stability.

    Example:
        >>> method = adam(lr=0.05, beta1=0.9, beta2=0.999, eps=1e-8)

    Reference: Kingma and Ba (2015).
    """
    lr, eps = _positive("learning rate", lr), _positive("eps", eps)
    beta1, beta2 = _fraction("beta1", beta1), _fraction("beta2", beta2)

    def init(x: np.ndarray) -> Moments:
        return Moments(x[:1] * 0.0, x * 0.0, x * 0.0)

    def update(g: np.ndarray, state: Moments) -> tuple[np.ndarray, Moments]:
        count = state.count + 1
        mu = beta1 * state.mu + (1 - beta1) * g
        nu = beta2 * state.nu + (1 - beta2) * g * g
        mu_hat, nu_hat = mu / (1 - beta1**count), nu / (1 - beta2**count)
        return -lr * mu_hat / (nu_hat**0.5 + eps), Moments(count, mu, nu)

    return Method("adam", init=init, update=update)


@dataclass(frozen=True)
class MethodInfo:
    """How a method is described and what settings it takes, with defaults."""

    name: str
    summary: str
    defaults: dict[str, Any] = field(default_factory=dict)


#: Every method the solver offers, in the order ``gdsolve methods`` lists them.
METHODS: dict[str, MethodInfo] = {
    info.name: info
    for info in (
        MethodInfo(
            "gd",
            "gradient descent; Barzilai-Borwein steps with backtracking, "
            "unless --lr is given",
            {"lr": None, "line_search": True},
        ),
        MethodInfo(
            "momentum",
            "heavy ball: each step keeps a fraction of the last one",
            {"lr": 0.1, "momentum": 0.5},
        ),
        MethodInfo(
            "nesterov",
            "momentum with the gradient taken at the look-ahead point",
            {"lr": 0.1, "momentum": 0.5},
        ),
        MethodInfo(
            "adam",
            "per-unknown steps from running moments of the gradient",
            {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        ),
        MethodInfo(
            "sgd",
            "each step uses the gradient of a random subset of the equations",
            {"lr": 0.2, "batch_size": None},
        ),
    )
}


def make_method(name: str, settings: dict[str, Any]) -> Method:
    """Build the method ``name`` from its settings (defaults already filled)."""
    if name == "gd":
        return gradient_descent(settings["lr"] if settings["lr"] is not None else 1.0)
    if name == "momentum":
        return heavy_ball(settings["lr"], settings["momentum"])
    if name == "nesterov":
        return nesterov(settings["lr"], settings["momentum"])
    if name == "adam":
        return adam(
            settings["lr"], settings["beta1"], settings["beta2"], settings["eps"]
        )
    if name == "sgd":
        return gradient_descent(settings["lr"])._replace(name="sgd")
    raise OptionError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
