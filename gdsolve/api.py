"""The library call under the command line: text in, solutions out.

    >>> from gdsolve import solve
    >>> result = solve(["x^2 + y^2 = 4", "x*y = 1"], seed=1)
    >>> result.status, len(result.roots)
    ('solved', 4)

The flow is: :func:`prepare` parses the equations and compiles residuals and
Jacobian (:mod:`gdsolve.parsing`, :mod:`gdsolve.system`); :func:`solve_system`
draws the starts, runs the descent (:mod:`gdsolve.search`), polishes, groups and
classifies the end points (:mod:`gdsolve.refine`) and packages a
:class:`~gdsolve.result.SolveResult`.
"""

from __future__ import annotations

import math
import operator
import secrets
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping, Sequence

import numpy as np

from gdsolve.deflation import DeflatedSystem, missed_root_estimate
from gdsolve.errors import InputError, OptionError
from gdsolve.methods import METHODS, make_method
from gdsolve.parsing import parse_system
from gdsolve.refine import (
    FEW_POINTS,
    chunks,
    classify,
    group,
    merge_connected,
    polish,
    step_estimate,
)
from gdsolve.result import NO_ROOT_REASONS, STATUSES, Solution, SolveResult
from gdsolve.search import (
    BUDGET,
    CONVERGED,
    DIVERGED,
    REASONS,
    STATIONARY,
    UNDEFINED,
    Descent,
    Progress,
    descend,
)
from gdsolve.system import (
    SETUP_SECONDS,
    Balanced,
    System,
    build_system,
    equation_weights,
)

Interval = tuple[float, float]

#: Most random starts in one solve.
MAX_STARTS = 1_000_000

#: With polishing on, the descent hands a start over to the polishing steps
#: once every residual is within this; they take it the rest of the way.
HANDOFF = 1e-6
#: The later rounds of an ``all_roots`` search also draw starts from the
#: search box shrunk about its centre, by turns to this many smaller scales.
SHRUNK_BOXES = 3
#: An ``all_roots`` search starts no new round once the round's starts times
#: the roots known (each start is repelled from each root at every step)
#: would pass this: a periodic system found hundreds of new roots per round
#: with two thousand starts, and each round took minutes more than the last.
MOST_DEFLATION_WORK = 2_000_000


@dataclass(frozen=True)
class Settings:
    """Every setting of a solve, checked when made.

    Attributes:
        method: One of :data:`gdsolve.methods.METHODS`.
        lr: Learning rate; ``None`` takes the method's default (for ``gd``,
            ``None`` means the line search).
        line_search: Armijo backtracking for ``gd``; ``None`` means "unless
            ``lr`` is given".
        momentum: β of ``momentum`` and ``nesterov``.
        beta1: Adam's first-moment decay.
        beta2: Adam's second-moment decay.
        eps: Adam's ε.
        batch_size: Equations per step for ``sgd`` (default: half, at least 1).
        starts: Number of random starts.
        box: Interval the random starts are drawn from, for every unknown.
        boxes: Per-unknown intervals that override ``box``.
        start_points: Explicit starting points, each a mapping name → value;
            unknowns left out are drawn from the box.
        bounds: Per-unknown ``(lower, upper)`` limits the search never leaves
            (``None`` for an open end).
        max_iter: Iteration budget of the descent.
        tol: A root has every ``|Fᵢ|`` within ``tol`` (relative to the
            equation's scale when that is above one).
        noise: Random kick for a start stuck on a flat region that is not a
            root, relative to the box width; 0 turns kicks off.
        scale: Divide the gradient by the diagonal of ``2·JᵀJ``.
        polish: Refine end points by Levenberg-Marquardt steps.
        polish_early: With ``polish``, also polish a start still walking after
            a few iterations where it is (see :mod:`gdsolve.search`); it leaves
            the descent if that reaches a root. Off, every start walks as its
            method takes it until it converges, as ``compare`` and ``plot``
            show it.
        seed: Seed of all randomness; ``None`` draws one and records it.
        all_roots: Keep searching in rounds, each repelled from the roots
            already known (deflation), until ``patience`` rounds in a row find
            no new root or ``max_rounds`` rounds have run.
        patience: Rounds without a new root that end an ``all_roots`` search.
        max_rounds: Most rounds of an ``all_roots`` search.
    """

    method: str = "gd"
    lr: float | None = None
    line_search: bool | None = None
    momentum: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    eps: float | None = None
    batch_size: int | None = None
    starts: int = 64
    box: Interval = (-10.0, 10.0)
    boxes: Mapping[str, Interval] = field(default_factory=dict)
    start_points: Sequence[Mapping[str, float]] = ()
    bounds: Mapping[str, tuple[float | None, float | None]] = field(
        default_factory=dict
    )
    max_iter: int = 500
    tol: float = 1e-10
    noise: float = 0.01
    scale: bool = True
    polish: bool = True
    polish_early: bool = True
    seed: int | None = None
    all_roots: bool = False
    patience: int = 5
    max_rounds: int = 20

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            choices = ", ".join(METHODS)
            raise OptionError(
                f"unknown method {self.method!r}; choose one of {choices}"
            )
        if self.starts < 0 or (self.starts == 0 and not self.start_points):
            raise OptionError(f"starts must be at least 1, got {self.starts}")
        if self.starts > MAX_STARTS:
            raise OptionError(f"starts must be at most {MAX_STARTS}, got {self.starts}")
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise OptionError(f"seed must be between 0 and 2**63 - 1, got {self.seed}")
        if not math.isfinite(self.tol) or not math.isfinite(self.noise):
            raise OptionError("tol and noise must be finite numbers")
        if self.max_iter < 0:
            raise OptionError(f"max-iter must not be negative, got {self.max_iter}")
        if not self.tol > 0:  # also refuses NaN
            raise OptionError(f"tol must be positive, got {self.tol}")
        if not self.noise >= 0:
            raise OptionError(f"noise must not be negative, got {self.noise}")
        self._check_method_settings()
        if self.patience < 1 or self.max_rounds < 1:
            raise OptionError("patience and max-rounds must be at least 1")
        if self.batch_size is not None and self.batch_size < 1:
            raise OptionError(f"batch size must be at least 1, got {self.batch_size}")
        _check_interval("every unknown", self.box)
        for name, interval in self.boxes.items():
            _check_interval(name, interval)
        for k, point in enumerate(self.start_points, 1):
            for name, value in point.items():
                if not _finite(value):
                    raise OptionError(
                        f"start point {k}: {name} = {value} is not a finite number"
                    )

    def _check_method_settings(self) -> None:
        """Refuse settings the chosen method does not use, rather than ignore them."""
        own = METHODS[self.method].defaults
        for key in ("lr", "momentum", "beta1", "beta2", "eps", "batch_size"):
            if getattr(self, key) is not None and key not in own:
                option = "--" + key.replace("_", "-")
                raise OptionError(
                    f"{option} does not apply to method {self.method} "
                    "(see 'gdsolve methods')"
                )
        if self.line_search is not None and self.method != "gd":
            raise OptionError(f"--line-search applies to gd, not {self.method}")
        if self.line_search and self.lr is not None:
            raise OptionError("--lr sets a fixed step; leave out --line-search")

    def resolved(self) -> dict[str, Any]:
        """Return the method's settings with its defaults filled in."""
        own = dict(METHODS[self.method].defaults)
        for key in own:
            value = getattr(self, key, None)
            if value is not None:
                own[key] = value
        if self.method == "gd":
            own["line_search"] = (
                self.line_search if self.line_search is not None else self.lr is None
            )
            if own["line_search"]:
                own["lr"] = None
            elif own["lr"] is None:
                own["lr"] = 0.5
        return own


def _finite(value: object) -> bool:
    """Whether ``value`` is a finite real number."""
    try:
        return math.isfinite(value)  # type: ignore[arg-type]
    except TypeError:
        return False


def _check_interval(name: str, interval: Interval) -> None:
    low, high = interval
    if not (abs(low) <= MAX_BOX and abs(high) <= MAX_BOX and low < high):
        raise OptionError(
            f"box for {name} must be LO:HI with LO < HI and both within "
            f"±{MAX_BOX:g}, got {low}:{high}"
        )


#: Largest magnitude of a box limit, far from float64 overflow.
MAX_BOX = 1e100


def prepare(
    equations: Sequence[str] | str,
    variables: Sequence[str] | None = None,
    params: Mapping[str, float] | None = None,
    setup_timeout: float | None = SETUP_SECONDS,
) -> System:
    """Parse equations and compile their residuals and Jacobian.

    Args:
        equations: Equation texts (``lhs = rhs`` or an expression meaning
            ``= 0``); one string may hold several separated by ``;``.
        variables: The unknowns and their order; found automatically if omitted.
        params: Values substituted for names that are not unknowns.
        setup_timeout: Seconds allowed for differentiating and compiling.

    Raises:
        InputError: The text is not a valid system.
        SetupError: Preparing the system failed or ran out of time.
    """
    if isinstance(equations, str):
        equations = [equations]
    if setup_timeout is not None and not 0 < setup_timeout < math.inf:
        raise OptionError(
            f"setup timeout must be a positive number, got {setup_timeout}"
        )
    parsed = parse_system(list(equations), variables=variables, params=params)
    return build_system(parsed, timeout=setup_timeout)


def solve(
    equations: Sequence[str] | str,
    *,
    variables: Sequence[str] | None = None,
    params: Mapping[str, float] | None = None,
    setup_timeout: float | None = SETUP_SECONDS,
    record_paths: bool = False,
    trace: int = 0,
    progress: Progress | None = None,
    **settings: Any,
) -> SolveResult:
    """Find every real root of a system of equations by multi-start descent.

    Args:
        equations: Equation texts, e.g. ``["x^2 + y^2 = 4", "x*y = 1"]``.
        variables: The unknowns and their order (default: every name, sorted).
        params: Values for names that are parameters, e.g. ``{"a": 2}``.
        setup_timeout: Seconds allowed for differentiating and compiling.
        record_paths: Keep every start's path (for plots).
        trace: Record a per-iteration trace of this many first starts.
        progress: Called as ``progress(iteration, best objective, running,
            converged)`` during the descent.
        **settings: Any field of :class:`Settings` (``method``, ``lr``,
            ``starts``, ``box``, ``seed``...).

    Returns:
        The distinct solutions and the outcome; see :class:`SolveResult`.

    Raises:
        InputError: The equations or the settings are invalid.
        SetupError: Preparing the system failed or ran out of time.
    """
    began = time.perf_counter()
    chosen = Settings(**settings)
    system = prepare(equations, variables, params, setup_timeout)
    return solve_system(
        system,
        chosen,
        record_paths=record_paths,
        trace=trace,
        progress=progress,
        began=began,
    )


def solve_system(
    system: System,
    settings: Settings,
    record_paths: bool = False,
    trace: int = 0,
    progress: Progress | None = None,
    began: float | None = None,
) -> SolveResult:
    """Solve an already prepared system; see :func:`solve`."""
    began = time.perf_counter() if began is None else began
    if trace < 0:
        raise OptionError(f"--trace must be 0 or more, got {trace}")
    if settings.seed is None:
        settings = replace(settings, seed=secrets.randbelow(2**32))
    rng = np.random.default_rng(settings.seed)
    own = settings.resolved()
    # the later rounds of an all-roots search take more starts (_round_size)
    more = _round_size(settings.starts) if settings.all_roots else 0
    _check_memory(system, max(more, settings.starts + len(settings.start_points)))
    lower, upper = _bounds(system, settings)
    low, high = _box(system, settings, lower, upper)

    with np.errstate(all="ignore"):  # non-finite values are handled as they come
        # a given start outside the bounds starts on them (a note says so)
        x0 = np.clip(_starting_points(system, settings, low, high, rng), lower, upper)
        values = system.evaluate(x0)
        balanced = Balanced(system, equation_weights(system, x0, values))
        search = _Search(system, balanced, settings, own, lower, upper, low, high)
        walk = search.round(balanced, x0, rng, record_paths, trace, progress,
                            start_values=balanced.weigh(*values))
        if settings.all_roots:
            result = search.more_rounds(rng, progress)
        else:
            result = search.package()
    result.seconds = time.perf_counter() - began
    result.extra.update(
        {
            "best_history": walk.best,
            "trace": walk.trace,
            "paths": walk.paths,
            "reasons": walk.reason,
            "start_iterations": walk.iterations,
        }
    )
    if record_paths:
        result.extra["ends"] = walk.x
        result.extra["ended"] = _ended(walk.reason)
    return result


#: End states whose points are polished and classified.
ENDED = (CONVERGED, STATIONARY, BUDGET)
_IS_ENDED = np.isin(np.arange(len(REASONS)), ENDED)


def _ended(reasons: np.ndarray) -> np.ndarray:
    """Tell which starts ended in one of the states of :data:`ENDED`."""
    return _IS_ENDED[reasons]


class _Search:
    """The end points of every round so far, and how to run one more round."""

    def __init__(
        self, system, balanced, settings, own, lower, upper, low, high
    ) -> None:
        self.system, self.balanced = system, balanced
        self.settings, self.own = settings, own
        self.lower, self.upper, self.low, self.high = lower, upper, low, high
        self.width = high - low
        n = system.n_unknowns
        self.points, self.error = np.empty((0, n)), np.empty((0, n))
        self.reasons = np.empty(0, dtype=int)
        self.iterations = 0
        self.rounds = 0
        self.quiet_rounds = 0

    def descent(self, weights: np.ndarray | None = None) -> Descent:
        s, own = self.settings, self.own
        return Descent(
            method=make_method(s.method, own),
            line_search=bool(own.get("line_search", False)),
            scale=s.scale,
            max_iter=s.max_iter,
            tol=max(s.tol, HANDOFF) if s.polish else s.tol,
            noise=s.noise,
            batch_size=_batch_size(self.system, s) if s.method == "sgd" else None,
            lower=self.lower,
            upper=self.upper,
            width=self.width,
            weights=weights,
            polish_early=s.polish and s.polish_early,
        )

    def round(self, target, x0, rng, record_paths=False, trace=0, progress=None,
              start_values=None):
        """Descend from ``x0`` on ``target``, polish on the original system.
        ``start_values`` are the residuals and Jacobian entries of ``target``
        at ``x0``, when known."""
        weights = target.weights if isinstance(target, Balanced) else None
        walk = descend(
            target, self.descent(weights), x0, rng, record_paths, trace, progress,
            start_values,
        )
        ended = _ended(walk.reason)
        if self.settings.polish:
            # starts polished to a root on this very system are done already
            again = ended & ~walk.polished if target is self.balanced else ended
            if again.any():
                polished = polish(self.balanced, walk.x[again], self.lower, self.upper)
                walk.x[again], walk.error[again] = polished.x, polished.error
            ended, error = walk.x[ended], walk.error[ended]
        else:
            ended = walk.x[ended]
            error = step_estimate(self.balanced, ended)
        self.points = np.vstack([self.points, ended])
        self.error = np.vstack([self.error, error])
        self.reasons = np.concatenate([self.reasons, walk.reason])
        self.iterations = max(self.iterations, int(walk.iterations.max(initial=0)))
        self.rounds += 1
        return walk

    def more_rounds(self, rng, progress) -> SolveResult:
        """Keep searching with deflated rounds until some find no new root."""
        s = self.settings
        result = self.package()
        while self.quiet_rounds < s.patience and self.rounds < s.max_rounds:
            starts = _round_size(s.starts or 1)
            if starts * len(result.roots) > MOST_DEFLATION_WORK:
                result.warnings.append(
                    f"the search stopped after {_count(self.rounds, 'round')}: the "
                    f"next would repel each of the {len(result.roots)} roots known "
                    f"from each of its {starts} starts; with fewer --starts it "
                    "searches on"
                )
                break
            roots = np.array([r.x for r in result.roots])
            target = self.balanced
            if len(roots):
                target = DeflatedSystem(self.balanced, roots, self.width)
            x0 = self._draw_at_scales(s.starts or 1, rng)
            self.round(target, x0, rng, progress=progress)
            known, result = len(result.roots), self.package()
            more = len(result.roots) > known
            self.quiet_rounds = 0 if more else self.quiet_rounds + 1
        if result.search is not None:  # counted after the last package
            result.search["rounds_without_new_root"] = self.quiet_rounds
        return result

    def _draw_at_scales(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Starts for one more round: ``count`` from the search box, and a
        quarter as many more from the box shrunk about its centre by 1/2, 1/4
        or 1/8 in turn, so roots much smaller than the box (whose basins fill
        little of it) are reached too."""
        shrink = 0.5 ** (1 + self.rounds % SHRUNK_BOXES)
        centre, half = (self.low + self.high) / 2, (self.high - self.low) / 2
        low, high = centre - shrink * half, centre + shrink * half
        return np.vstack([
            _draw(self.system, count, self.low, self.high, rng),
            _draw(self.system, _shrunk_count(count), low, high, rng),
        ])

    def package(self) -> SolveResult:
        return _package(self, self.points, self.error)


def _round_size(count: int) -> int:
    """Starts in a later round of an ``all_roots`` search: ``count`` from the
    search box and a quarter as many from a shrunk box."""
    return count + _shrunk_count(count)


def _shrunk_count(count: int) -> int:
    return max(1, count // 4)


def _batch_size(system: System, settings: Settings) -> int:
    size = settings.batch_size or max(1, system.n_equations // 2)
    if size > system.n_equations:
        raise OptionError(
            f"--batch-size {size} is more than the {system.n_equations} "
            "equations of the system"
        )
    return size


#: Memory the arrays of one descent may take, in bytes.
MEMORY_BUDGET = 2 * 1024**3


def _check_memory(system: System, starts: int) -> None:
    """Refuse more starts than the descent's arrays can hold in memory."""
    n, m, nnz = system.n_unknowns, system.n_equations, system.nnz
    per_start = 8 * 3 * (8 * n + 4 * m + 3 * nnz + 16)  # arrays and temporaries
    most = max(1, MEMORY_BUDGET // per_start)
    if starts > most:
        raise OptionError(
            f"{starts} starts need more than {MEMORY_BUDGET // 1024**3} GiB for "
            f"this system of {n} unknowns; use at most {most} starts"
        )


def _bounds(system: System, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The limits of each unknown: its ``--bounds``, narrowed to the edges of
    the domain the equations imply, where the two overlap."""
    lower = np.full(system.n_unknowns, -np.inf)
    upper = np.full(system.n_unknowns, np.inf)
    for name, (low, high) in settings.bounds.items():
        j = _index(system, name, "--bounds")
        lower[j] = -np.inf if low is None else low
        upper[j] = np.inf if high is None else high
        if not lower[j] < upper[j]:
            raise OptionError(f"bounds for {name} are empty: {low}:{high}")
    if system.domain is not None:
        low = np.maximum(lower, system.domain[0])
        high = np.minimum(upper, system.domain[1])
        overlap = low < high
        lower[overlap], upper[overlap] = low[overlap], high[overlap]
    return lower, upper


def _box(
    system: System, settings: Settings, lower, upper
) -> tuple[np.ndarray, np.ndarray]:
    """Return the interval starts are drawn from, kept inside the bounds."""
    low = np.full(system.n_unknowns, float(settings.box[0]))
    high = np.full(system.n_unknowns, float(settings.box[1]))
    for name, (lo, hi) in settings.boxes.items():
        j = _index(system, name, "--box")
        low[j], high[j] = lo, hi
    low, high = np.maximum(low, lower), np.minimum(high, upper)
    for j in np.flatnonzero(~(low < high)):  # the box lies outside the bounds
        finite = lower[j] if np.isfinite(lower[j]) else upper[j] - 10.0
        low[j], high[j] = finite, finite + 10.0
        low[j], high[j] = max(low[j], lower[j]), min(high[j], upper[j])
    return low, high


def _boxes_outside_bounds(search: _Search) -> list[str]:
    """Say where a box asked for lies wholly outside its unknown's bounds or
    domain (the starts were then drawn next to them instead)."""
    settings, notes = search.settings, []
    for j, name in enumerate(search.system.names):
        lo, hi = settings.boxes.get(name, settings.box)
        if hi <= search.lower[j] or lo >= search.upper[j]:
            notes.append(
                f"the box {lo:g}:{hi:g} for {name} lies outside "
                f"{_limits(search, j)}, so its starts were "
                f"drawn between {search.low[j]:g} and {search.high[j]:g}"
            )
    return notes


def _starts_outside_bounds(search: _Search) -> list[str]:
    """Say which given starting points lay outside the bounds or the domain
    (they were moved onto them)."""
    notes = []
    for k, point in enumerate(search.settings.start_points, 1):
        for name, value in point.items():
            j = search.system.names.index(name)
            low, high = search.lower[j], search.upper[j]
            if not low <= value <= high:
                notes.append(
                    f"start point {k}: {name} = {value:g} lies outside "
                    f"{_limits(search, j)}, so it started at "
                    f"{min(max(value, low), high):g}"
                )
    return notes


def _limits(search: _Search, j: int) -> str:
    """Name the limits of unknown ``j``: its bounds, or the edges of the
    domain of the equations (within its bounds), with their values."""
    name, settings = search.system.names[j], search.settings
    given = settings.bounds.get(name, (None, None))
    limits = (search.lower[j], search.upper[j])
    own = all(b == v or (b is None and math.isinf(v)) for b, v in zip(given, limits))
    if own:
        where = "its bounds"
    elif name in settings.bounds:
        where = "where the equations are defined within its bounds,"
    else:
        where = "where the equations are defined,"
    return f"{where} {limits[0]:g}:{limits[1]:g}"


def _index(system: System, name: str, option: str) -> int:
    if name not in system.names:
        known = ", ".join(system.names)
        raise InputError(f"{option} names {name!r}, which is not an unknown ({known})")
    return system.names.index(name)


#: Rounds of redrawing for random starts where the equations are undefined.
REDRAWS = 30


def _draw(
    system: System, count: int, low, high, rng: np.random.Generator
) -> np.ndarray:
    """Draw random points in the box, redrawing those where the system is undefined."""
    n = system.n_unknowns
    points = low + (high - low) * rng.random((count, n))
    pending = np.arange(count)
    for _ in range(REDRAWS):
        undefined = ~np.isfinite(system.residuals(points[pending])).all(axis=1)
        pending = pending[undefined]
        if not pending.size:
            break
        points[pending] = low + (high - low) * rng.random((pending.size, n))
    return points


def _starting_points(
    system: System, settings: Settings, low, high, rng: np.random.Generator
) -> np.ndarray:
    """The explicit starting points, then the random starts."""
    points = settings.start_points
    if not settings.starts:
        random = np.empty((0, system.n_unknowns))
    else:
        random = _draw(system, settings.starts, low, high, rng)
    given = low + (high - low) * rng.random((len(points), system.n_unknowns))
    for name in set().union(*points):
        _index(system, name, "--start")
    names = system.names
    whole = operator.itemgetter(*names)
    for k, point in enumerate(points):
        if len(point) == len(names):
            given[k] = whole(point)
        else:  # unknowns a point leaves out keep their random value
            given[k] = [point.get(name, r) for name, r in zip(names, given[k])]
    return np.vstack([given, random])


def _package(search: _Search, points: np.ndarray, error: np.ndarray) -> SolveResult:
    """Group, classify and describe the end points of every round.

    Points are judged on the system as written. End points that are not roots
    (they were polished on the balanced system, whose valley floors differ) are
    polished again on the system as written, so a reported valley floor is a
    minimum of the objective the user wrote, then grouped and judged again.
    """
    system, settings = search.system, search.settings
    kinds, counts = _judge(search, system, points, error)
    found = [item for item in kinds if item[2].kind == "root"]
    others = [x for c, x, v in kinds for _ in range(c) if v.kind != "root"]
    floors, flat = [], []
    judged = [item for item in kinds if item[2].kind != "root"]
    if others and settings.polish:
        again = polish(system, np.array(others), search.lower, search.upper)
        judged, more = _judge(search, system, again.x, again.error)
        counts["saddle"] += more["saddle"]
        counts["moving"] = more["moving"]
        late = [item for item in judged if item[2].kind == "root"]
        if late:
            found = merge_connected(system, found + late, settings.tol)
    for c, x, v in judged:
        if v.kind not in ("root", "moving"):
            floors.append(_solution(system, x, v, c))
            if v.flat:
                flat.append(floors[-1])
    roots = [(v, _solution(system, x, v, c)) for c, x, v in found]

    dimension = max((v.dimension for v, _ in roots), default=0)
    roots = sorted((s for _, s in roots), key=lambda s: s.x)
    floors.sort(key=lambda s: s.objective)
    best = _best(system, points, roots, floors)

    status = "solved" if roots else "no-root-found"
    if dimension > 0:
        status = "not-isolated"
        roots = _spread(roots, 8)
    starts = _start_counts(search.reasons, counts)
    result = SolveResult(
        variables=list(system.names),
        status=status,
        message="",
        solutions=roots + floors,
        best=best,
        dimension=dimension,
        method=settings.method,
        settings=_settings_record(settings, search.own),
        seed=int(settings.seed),
        iterations=search.iterations,
        seconds=0.0,
        starts=starts,
    )
    if status == "no-root-found":
        result.reason = _reason(result, floors, starts)
    result.message = _message(result)
    result.warnings = _warnings(search.own, starts, result.reason)
    result.warnings += _boxes_outside_bounds(search)
    result.warnings += _starts_outside_bounds(search)
    for floor in flat:
        result.warnings.append(
            f"the valley floor with sum of squared residuals {floor.objective:.6g} "
            "is not isolated: its lowest points form a line or surface, of which "
            "one is shown"
        )
    batch = chunks(system, max(len(points), 1))
    if batch < len(points):
        result.warnings.append(
            f"polishing takes {batch} starts at a time so that their dense "
            f"{system.n_equations}x{system.n_unknowns} Jacobians fit in memory"
        )
    drawn = settings.starts or settings.all_roots  # some starts were random
    boxed = np.isfinite(search.high - search.low).all()
    # where the box already spans every unknown's bounds, a wider one adds nothing
    widens = ((search.low > search.lower) | (search.high < search.upper)).any()
    if status == "no-root-found" and drawn and boxed and widens:
        low, high = search.low.min(), search.high.max()
        result.warnings.append(
            f"random starts were drawn between {low:g} and {high:g}; a root far "
            "outside that box is rarely reached: widen it with --box if one may "
            "be there"
        )
    if settings.all_roots:
        result.search = _completeness(search, roots, floors)
    elif status == "solved" and starts["used"] > len(roots):
        # a root that only one of the starts found hints at others with
        # basins too small for any start to have landed in
        lonely = sum(1 for r in roots if r.starts == 1)
        if lonely:
            which = f"{lonely} of {len(roots)} roots were"
            if len(roots) == 1:
                which = "the root was"
            result.warnings.append(
                f"{which} reached by a single start, so roots with small basins "
                "may have been missed; --all keeps searching until rounds find "
                "nothing new"
            )
    return result


def _completeness(
    search: _Search, roots: list[Solution], floors: list[Solution]
) -> dict[str, Any]:
    """How complete an ``--all`` search is, from how often each root was hit."""
    unseen, chance = missed_root_estimate([r.starts for r in roots])
    settled = sum(s.starts for s in roots + floors)
    return {
        "rounds": search.rounds,
        "rounds_without_new_root": search.quiet_rounds,
        "starts_used": int(len(search.reasons)),
        "roots_reached_once": sum(1 for r in roots if r.starts == 1),
        "roots_reached_twice": sum(1 for r in roots if r.starts == 2),
        "estimated_unseen_roots": unseen,
        "chance_next_start_finds_new_root": chance,
        "starts_at_no_solution": max(0, int(len(search.reasons)) - settled),
    }


def _judge(search: _Search, system, points: np.ndarray, error: np.ndarray):
    """Group points and classify each group on ``system``.

    Returns:
        ``(count, point, verdict)`` for each group that is a root, a valley
        floor or still moving (roots and floors in one flat stretch merged),
        and how many starts ended on saddles or were still moving.
    """
    counts = {"saddle": 0, "moving": 0}
    if not len(points):
        return [], counts
    # a few points are evaluated in full at once, for classifying them too
    few = len(points) <= FEW_POINTS
    f, jac = system.evaluate(points) if few else (system.residuals(points), None)
    objective = np.einsum("ij,ij->i", f, f)
    usable = np.isfinite(objective)
    points, error, objective = points[usable], error[usable], objective[usable]
    groups = group(points, error, objective, search.width) if len(points) else []
    firsts = [g[0] for g in groups]
    reps = points[firsts].reshape(-1, system.n_unknowns)
    values = None if jac is None else (f[usable][firsts], jac[usable][firsts])
    tol, lower, upper = search.settings.tol, search.lower, search.upper
    weights = search.balanced.weights
    verdicts = (
        classify(system, reps, tol, lower, upper, search.width, weights, values)
        if len(reps)
        else []
    )
    kept = []
    for members, rep, verdict in zip(groups, reps, verdicts):
        if verdict.kind == "saddle":
            counts["saddle"] += len(members)
        else:
            if verdict.kind == "moving":
                counts["moving"] += len(members)
            kept.append((len(members), rep, verdict))
    settled = [item for item in kept if item[2].kind != "moving"]
    moving = [item for item in kept if item[2].kind == "moving"]
    return merge_connected(system, settled, tol) + moving, counts


def _solution(system: System, x: np.ndarray, verdict, count: int) -> Solution:
    """Describe a point judged on the equations as written."""
    return Solution(
        values={name: float(v) for name, v in zip(system.names, x)},
        kind="root" if verdict.kind == "root" else "local-minimum",
        residual=verdict.residual,
        objective=verdict.objective,
        starts=count,
        error=verdict.error,
    )


def _best(system, points, roots, floors) -> Solution | None:
    """The best point: the first root, else the lowest valley floor or end point."""
    if roots:
        return roots[0]
    if floors:
        return floors[0]
    f = system.residuals(points) if len(points) else np.empty((0, 0))
    objective = np.einsum("ij,ij->i", f, f) if len(points) else np.empty(0)
    objective[~np.isfinite(objective)] = np.inf
    if not len(points) or not np.isfinite(objective).any():
        return None
    i = int(np.argmin(objective))
    f = f[i]
    return Solution(
        values={n: float(v) for n, v in zip(system.names, points[i])},
        kind="best-point",
        residual=float(np.abs(f).max(initial=0.0)),
        objective=float(objective[i]),
        starts=1,
        error=float("nan"),
    )


def _spread(points: list[Solution], count: int) -> list[Solution]:
    """Pick up to ``count`` points far from each other (farthest-point sampling)."""
    if len(points) <= count:
        return points
    xs = np.array([p.x for p in points])
    chosen = [0]
    distance = np.linalg.norm(xs - xs[0], axis=1)
    while len(chosen) < count:
        chosen.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.linalg.norm(xs - xs[chosen[-1]], axis=1))
    return [points[i] for i in sorted(chosen)]


def _start_counts(reasons: np.ndarray, counts: dict[str, int]) -> dict[str, int]:
    each = np.bincount(reasons, minlength=len(REASONS)).tolist()
    return {
        "used": int(len(reasons)),
        "converged": each[CONVERGED],
        "stationary": each[STATIONARY],
        "budget": each[BUDGET],
        "diverged": each[DIVERGED],
        "undefined": each[UNDEFINED],
        "saddle": counts["saddle"],
        "moving": counts["moving"],
    }


_SETTING_NAMES = tuple(f.name for f in fields(Settings))


def _settings_record(settings: Settings, own: dict[str, Any]) -> dict[str, Any]:
    """Every setting as JSON-ready data, the method's defaults filled in."""
    record = {name: getattr(settings, name) for name in _SETTING_NAMES}
    record.update(own)
    record["start_points"] = [dict(p) for p in settings.start_points]
    record["box"] = list(settings.box)
    record["boxes"] = {k: list(v) for k, v in settings.boxes.items()}
    record["bounds"] = {k: list(v) for k, v in settings.bounds.items()}
    return record


def _message(result: SolveResult) -> str:
    """One sentence for people saying what was found."""
    if result.status == "solved":
        count = len(result.roots)
        return f"found {count} real root{'s' if count != 1 else ''}"
    if result.status == "not-isolated":
        return (
            f"the solutions are not isolated: they form a set of dimension "
            f"{result.dimension}; {_count(len(result.roots), 'sample point')} "
            f"{'is' if len(result.roots) == 1 else 'are'} listed"
        )
    best = result.best
    why = NO_ROOT_REASONS[result.reason]
    if best is None:
        return f"no real root found: {why}"
    shown = list(best.values.items())
    at = ", ".join(f"{k} = {v:.6g}" for k, v in shown[:SHOWN_UNKNOWNS])
    if len(shown) > SHOWN_UNKNOWNS:  # the whole point is in the results
        at += f" and {len(shown) - SHOWN_UNKNOWNS} more unknowns (see the best point)"
    height = f"{best.objective:.6g}"
    if best.objective == 0 < best.residual:  # squares below the smallest double
        height = f"too small for float64 (largest residual {best.residual:.3g})"
    return (
        f"no real root found: {why}; the smallest sum of squared residuals is "
        f"{height} at {at}"
    )


#: Most unknowns whose values a message spells out.
SHOWN_UNKNOWNS = 6


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _reason(result: SolveResult, floors: list[Solution], starts: dict[str, int]) -> str:
    """Why no root was found, as a key of :data:`NO_ROOT_REASONS`."""
    if result.best is None:
        return "undefined"
    if floors:
        return "valley-floor"
    return "budget" if starts["budget"] else "unsettled"


def _warnings(
    own: dict[str, Any], starts: dict[str, int], reason: str | None
) -> list[str]:
    notes = []
    used = max(starts["used"], 1)
    if starts["diverged"] and not own.get("line_search"):
        notes.append(
            f"{starts['diverged']} of {used} starts diverged: the learning rate "
            f"{own.get('lr')} is too large for this system; try a smaller --lr "
            "or the line search (--method gd without --lr)"
        )
    if starts["undefined"]:
        notes.append(
            f"{starts['undefined']} of {used} starts were dropped: the equations "
            "are undefined there (log or sqrt of a negative, division by zero) "
            "or their values overflow (beyond about 1e154 once squared)"
        )
    if starts["budget"] > used // 2 and reason == "budget":
        notes.append(
            f"{starts['budget']} of {used} starts used the whole iteration budget; "
            "raise --max-iter or try another method"
        )
    return notes


__all__ = ["Settings", "prepare", "solve", "solve_system", "STATUSES", "REASONS"]
