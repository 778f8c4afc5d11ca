"""Proposers: what an OPTO optimizer does with a trace and feedback, behind one interface.

A `Proposer` receives a `ProposalContext` (the parameters, the feedback on the last output, the
history of earlier values and feedback, and, for a trace-aware proposer only, the executed
subgraph) and returns a `Proposal`: new values for some parameters and the reasoning. The paper's
OptoPrime is one proposer (`guardopt.workflow.optoprime`, an LLM); the rule-based ones here run
offline and make the comparison of the paper's numerical experiment checkable without an LLM
(Cheng et al., 2024, Sec. 5.1: OptoPrime with the trace against OPRO, which sees only the history):

- `TraceAwareProposer` reads the trace: it inverts the chain of operations from the output back to a
  parameter by solving each recorded operation locally (target propagation), and where the graph
  is not a chain it takes a Newton step on the reverse-mode chain of local finite differences
  (`guardopt.workflow.propagation.sensitivities`).
- `TraceBlindProposer` (OPRO-like) sees only the scored history: it samples around the best values so
  far with a step size that grows after an improvement and shrinks otherwise, as a language model
  shown a ranked trajectory of (solution, score) pairs is asked to do.
- `SecantProposer` is a stronger trace-blind rule that also uses the sign of the error: it fits a
  linear model of the output to the history and steps to its root.
- `AdamProposer` is the specialised optimizer of the paper's comparison: Adam on the squared error,
  with the gradient taken through the trace.

Every proposer changes only numeric parameters, except OptoPrime, which may change any.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from guardopt.core.errors import InvalidParameterError, check_bool, check_in_range, check_int
from guardopt.workflow.graph import Node, is_number
from guardopt.workflow.propagation import TraceGraph, sensitivities

__all__ = [
    "AdamConfig",
    "AdamProposer",
    "HistoryEntry",
    "Proposal",
    "ProposalContext",
    "Proposer",
    "SecantConfig",
    "SecantProposer",
    "TraceAwareConfig",
    "TraceAwareProposer",
    "TraceBlindConfig",
    "TraceBlindProposer",
    "cast_like",
    "parse_signed_error",
    "solve_local",
]

_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_HIGH = re.compile(r"too\s+high\s+by\s+" + _NUMBER, re.IGNORECASE)
_LOW = re.compile(r"too\s+low\s+by\s+" + _NUMBER, re.IGNORECASE)
_EXACT = re.compile(r"\b(correct|exact|solved)\b", re.IGNORECASE)
# "not correct", "isn't solved", "never exact", "not yet solved": a negated verdict states no error.
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever)\s+(?:\w+\s+)?(?:correct|exact|solved)\b", re.IGNORECASE)


def parse_signed_error(feedback: Any) -> float | None:
    """The signed error ``output - target`` stated by a feedback text, or None.

    "too high by 0.5" gives 0.5, "too low by 2" gives -2.0, "correct" gives 0.0 (a negated one,
    "not correct", does not); anything else (including a non-finite number or a non-string) gives None.

    Example:
        >>> parse_signed_error("The output is too low by 1.5e-2.")
        -0.015
    """
    if not isinstance(feedback, str):
        return None
    for pattern, sign in ((_HIGH, 1.0), (_LOW, -1.0)):
        m = pattern.search(feedback)
        if m:
            d = float(m.group(1))
            return sign * d if math.isfinite(d) else None
    return 0.0 if _EXACT.search(feedback) and not _NEGATED.search(feedback) else None


def cast_like(value: Any, like: Any) -> Any:
    """``value`` converted to the type of ``like`` (float, int, bool, str), or raise ValueError.

    This is how a proposal (an LLM reply is text) becomes a parameter value of the right type. A bool
    takes only a bool, ``"true"``/``"false"`` or the numbers 0 and 1; a number never takes a bool.
    """
    if isinstance(like, (bool, np.bool_)):
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("true", "false"):
                return low == "true"
            raise ValueError(f"{value!r} is not a bool")
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if is_number(value) and float(value) in (0.0, 1.0):
            return float(value) == 1.0
        raise ValueError(f"{value!r} is not a bool")
    if isinstance(value, (bool, np.bool_)) and (isinstance(like, (int, float)) or is_number(like)):
        raise ValueError(f"{value!r} is a bool, not a number")
    if isinstance(like, (int, np.integer)):
        f = float(value)
        if not math.isfinite(f) or f != round(f):
            raise ValueError(f"{value!r} is not an integer")
        return round(f)
    if isinstance(like, float) or is_number(like):
        f = float(value)
        if not math.isfinite(f):
            raise ValueError(f"{value!r} is not a finite number")
        return f
    if isinstance(like, str):
        return value if isinstance(value, str) else str(value)
    return value


@dataclass(frozen=True)
class HistoryEntry:
    """One past iteration: the parameter values, the output and its feedback."""

    values: Mapping[str, Any]
    output: Any
    feedback: str


@dataclass(frozen=True)
class ProposalContext:
    """What a proposer sees in one step.

    Attributes:
        parameters: The trainable nodes the optimizer owns (current values in ``.value``).
        feedback: The feedback text on the last output.
        history: Earlier iterations, oldest first, the last one included.
        graph: The executed subgraph (None for a proposer that does not use the trace).
    """

    parameters: tuple[Node, ...]
    feedback: str
    history: tuple[HistoryEntry, ...] = ()
    graph: TraceGraph | None = None

    @property
    def values(self) -> dict[str, Any]:
        """``{name: current value}``."""
        return {p.name: p.value for p in self.parameters}


@dataclass(frozen=True)
class Proposal:
    """New values for some parameters (``{name: value}``) and why."""

    updates: Mapping[str, Any] = field(default_factory=dict)
    reasoning: str = ""


@runtime_checkable
class Proposer(Protocol):
    """The optimizer interface: a context in, a proposal out.

    ``uses_trace`` says whether the proposer is given the executed graph (`ProposalContext.graph`).
    """

    uses_trace: bool

    def propose(self, context: ProposalContext) -> Proposal:
        """New parameter values from the feedback (and the trace, when ``uses_trace``)."""
        ...


def _numeric(params: Sequence[Node]) -> list[Node]:
    return [p for p in params if is_number(p.value)]


def _clip_vector(delta: np.ndarray, max_step: float) -> np.ndarray:
    """Scale ``delta`` so its largest entry is at most ``max_step`` (direction kept)."""
    m = float(np.max(np.abs(delta))) if delta.size else 0.0
    return delta * (max_step / m) if m > max_step else delta


# ----------------------------------------------------------------------------------- trace-aware


@dataclass(frozen=True)
class TraceAwareConfig:
    """Settings of `TraceAwareProposer`.

    Args:
        max_step: Largest change of one parameter in one step (a trust region), > 0.
        fd_eps: Relative step of the graph-local finite differences, in (0, 0.1).
        invert: Solve the chain of operations backwards where the graph is a chain (else Newton only).
    """

    max_step: float = 2.0
    fd_eps: float = 1e-6
    invert: bool = True

    def __post_init__(self) -> None:
        check_in_range(self.max_step, "max_step", "TraceAwareConfig", 0.0, math.inf)
        check_in_range(self.fd_eps, "fd_eps", "TraceAwareConfig", 0.0, 0.1)
        check_bool(self.invert, "invert", "TraceAwareConfig")


# Offsets at which a local equation is scanned for a sign change: geometric in both directions.
_SCAN = np.concatenate([-np.logspace(3, -4, 22), [0.0], np.logspace(-4, 3, 22)])


def solve_local(f: Callable[[float], Any], x0: float, target: float) -> tuple[float, bool]:
    """The root of ``f(x) = target`` nearest ``x0``, for one recorded operation ``f``.

    Scans ``x0 + s * offsets`` (``s = max(1, |x0|)``, offsets geometric from 1e-4 to 1e3 on both
    sides) for sign changes and refines each bracket with Brent's method. Returns ``(x, exact)``;
    without a sign change (the target is out of the operation's range, e.g. a negative square) it
    returns the scanned point closest to the target and ``exact=False``.
    """
    from scipy.optimize import brentq

    def g(x: float) -> float:
        try:
            v = float(f(x)) - target
        except (ArithmeticError, TypeError, ValueError):
            return math.nan
        return v if math.isfinite(v) else math.nan

    g0 = g(x0)
    if g0 == 0.0:
        return x0, True
    xs = x0 + max(1.0, abs(x0)) * _SCAN
    gs = np.array([g(float(x)) for x in xs])
    roots: list[float] = []
    for i in range(xs.size - 1):
        a, b = gs[i], gs[i + 1]
        if not (math.isfinite(a) and math.isfinite(b)):
            continue
        if a == 0.0:
            roots.append(float(xs[i]))
        elif a * b < 0.0:
            roots.append(float(brentq(g, float(xs[i]), float(xs[i + 1]), xtol=1e-15, rtol=4 * np.finfo(float).eps)))
    if roots:
        return min(roots, key=lambda r: abs(r - x0)), True
    finite = np.isfinite(gs)
    if not finite.any():
        return x0, False
    cand = np.where(finite, np.abs(gs), np.inf)
    best = np.flatnonzero(cand == cand.min())
    i = int(best[np.argmin(np.abs(xs[best] - x0))])
    return float(xs[i]), False


class TraceAwareProposer:
    """Rule-based OPTO optimizer that uses the trace (offline stand-in for OptoPrime's reading of it).

    From the feedback's signed error ``e`` (`parse_signed_error`) the wanted output is ``y - e``.
    Where the output depends on a parameter through a chain (every operation has one input that
    depends on a parameter), each operation is solved locally for the input that gives the wanted
    value, from the output back to the parameter (`solve_local`; only single operations are
    re-evaluated, never the workflow). Elsewhere it takes the minimum-norm Newton step
    ``-e g / |g|^2`` with ``g`` the chained local derivatives. Steps are limited to ``max_step``.
    """

    uses_trace = True

    def __init__(self, config: TraceAwareConfig | None = None) -> None:
        self.config = config if config is not None else TraceAwareConfig()
        if not isinstance(self.config, TraceAwareConfig):
            raise InvalidParameterError("config", "TraceAwareProposer", "a TraceAwareConfig", config)

    def _invert(self, graph: TraceGraph, wanted: float) -> tuple[Node, float, bool] | None:
        """Target propagation: the parameter value that gives ``wanted``, solving one operation at a time.

        At an operation with several inputs that depend on parameters, the others are held at their
        recorded values and the inputs are tried in order (depth first) until a path solves exactly;
        otherwise the first path's closest value is returned with ``exact=False``.
        """
        budget = [8 * len(graph.nodes) + 8]  # local solves allowed (reconvergent graphs branch)

        def walk(n: Node, t: float) -> tuple[Node, float, bool] | None:
            if n.trainable:
                return (n, t, True) if is_number(n.value) else None
            if n.is_leaf or n.fn is None or budget[0] <= 0:
                return None
            active = [i for i, p in enumerate(n.parents) if graph.depends_on_parameter(p) and is_number(p.value)]
            fallback: tuple[Node, float, bool] | None = None
            vals = [p.value for p in n.parents]
            for i in active:
                budget[0] -= 1
                fn = n.fn

                def f(x: float, i: int = i, fn: Callable[..., Any] = fn) -> Any:
                    v = list(vals)
                    v[i] = x
                    return fn(*v)

                x, ok = solve_local(f, float(vals[i]), t)
                found = walk(n.parents[i], x)
                if found is not None:
                    if ok and found[2]:
                        return found
                    if fallback is None:
                        fallback = (found[0], found[1], False)
            return fallback

        return walk(graph.output, wanted)

    @staticmethod
    def _path_counts(graph: TraceGraph) -> dict[int, int]:
        """Number of distinct paths from each node to the output (1 for a parameter used once)."""
        paths: dict[int, int] = {graph.output.uid: 1}
        for n in reversed(graph.nodes):
            c = paths.get(n.uid, 0)
            if c:
                for p in n.parents:
                    paths[p.uid] = paths.get(p.uid, 0) + c
        return paths

    def propose(self, context: ProposalContext) -> Proposal:
        """One step from the trace (``context.graph`` is required)."""
        graph = context.graph
        if graph is None:
            raise InvalidParameterError("context", "TraceAwareProposer.propose", "a context with a graph", None)
        e = parse_signed_error(context.feedback)
        y = graph.output.value
        if e is None or not is_number(y):
            return Proposal({}, "the feedback states no numeric error; parameters kept")
        if e == 0.0:
            return Proposal({}, "the output is correct; parameters kept")
        wanted = float(y) - e
        cfg = self.config
        inv = self._invert(graph, wanted) if cfg.invert else None
        grads = sensitivities(graph, cfg.fd_eps)
        params = [p for p in _numeric(graph.parameters) if math.isfinite(grads.get(p.name, math.nan))]
        g = np.array([grads[p.name] for p in params])
        norm2 = float(g @ g) if params else 0.0
        # An exact inversion is the solution when the parameter reaches the output by one path only;
        # through a reconvergent graph the other paths move too, so Newton's step is used there.
        use_inv = inv is not None and ((inv[2] and self._path_counts(graph).get(inv[0].uid, 0) == 1)
                                       or norm2 <= 1e-300)
        if inv is not None and use_inv:
            p, x, exact = inv
            step = float(np.clip(x - float(p.value), -cfg.max_step, cfg.max_step))
            how = "solved" if exact else "moved towards the closest reachable value of"
            return Proposal({p.name: float(p.value) + step},
                            f"output {float(y):.6g} should be {wanted:.6g}; {how} the operations "
                            f"back to {p.name} (change {step:+.6g})")
        if not params:
            return Proposal({}, "no numeric parameter with a finite derivative; parameters kept")
        if norm2 <= 1e-300:
            # Flat in every direction and nothing to invert: probe, alternating the side each iteration.
            sign = 1.0 if len(context.history) % 2 == 0 else -1.0
            delta = np.full(len(params), sign * cfg.max_step / 2.0)
            why = "the output is flat in every parameter here; probing"
        else:
            delta = _clip_vector(-e * g / norm2, cfg.max_step)
            why = "Newton step on the chained local derivatives " + ", ".join(
                f"d{graph.output.name}/d{p.name}={float(d):.6g}" for p, d in zip(params, g))
        return Proposal({p.name: float(p.value) + float(d) for p, d in zip(params, delta)}, why)


# ----------------------------------------------------------------------------------- trace-blind


def _errors(history: Sequence[HistoryEntry]) -> np.ndarray:
    return np.array([math.nan if (e := parse_signed_error(h.feedback)) is None else e for h in history])


@dataclass(frozen=True)
class TraceBlindConfig:
    """Settings of `TraceBlindProposer` (OPRO-like).

    Args:
        step: Initial sampling scale around the best values, > 0.
        grow: Scale multiplier after an improvement, >= 1.
        shrink: Scale multiplier after no improvement, in (0, 1].
        seed: Seed of the sampling (each step derives its own stream from it).
    """

    step: float = 0.5
    grow: float = 1.5
    shrink: float = 0.7
    seed: int = 0

    def __post_init__(self) -> None:
        check_in_range(self.step, "step", "TraceBlindConfig", 0.0, math.inf)
        check_in_range(self.grow, "grow", "TraceBlindConfig", 1.0, math.inf, low_open=False)
        check_in_range(self.shrink, "shrink", "TraceBlindConfig", 0.0, 1.0, high_open=False)
        check_int(self.seed, "seed", "TraceBlindConfig", 0)


class TraceBlindProposer:
    """OPRO-like: sample around the best-scoring values of the history; no trace.

    The score of an iteration is ``|e|`` from its feedback. The scale starts at ``step`` and is
    multiplied by ``grow`` after each iteration that improved on the best so far and by ``shrink``
    after each that did not (a success rule, replayed from the history so the proposer is stateless).
    """

    uses_trace = False

    def __init__(self, config: TraceBlindConfig | None = None) -> None:
        self.config = config if config is not None else TraceBlindConfig()
        if not isinstance(self.config, TraceBlindConfig):
            raise InvalidParameterError("config", "TraceBlindProposer", "a TraceBlindConfig", config)

    def propose(self, context: ProposalContext) -> Proposal:
        cfg = self.config
        params = _numeric(context.parameters)
        errs = np.abs(_errors(context.history))
        if not params or not context.history or not np.isfinite(errs).any():
            return Proposal({}, "no scored history of numeric parameters; parameters kept")
        if np.nanmin(errs) == 0.0:
            return Proposal({}, "a past iteration was correct; parameters kept")
        scale, best = cfg.step, math.inf
        best_i = 0
        for i, err in enumerate(errs):
            if not math.isfinite(err):
                continue
            if err < best:
                if math.isfinite(best):
                    scale *= cfg.grow
                best, best_i = float(err), i
            else:
                scale *= cfg.shrink
        rng = np.random.default_rng([cfg.seed, len(context.history)])  # one stream per step, replayable
        base = context.history[best_i].values
        out = {}
        for p in params:
            v = base.get(p.name, p.value)
            out[p.name] = float(v if is_number(v) else p.value) + scale * float(rng.standard_normal())
        return Proposal(out, f"sampling around the best iteration so far (|error| {best:.6g}) at scale {scale:.4g}")


@dataclass(frozen=True)
class SecantConfig:
    """Settings of `SecantProposer`.

    Args:
        probe: Size of the coordinate probes that start the linear model, > 0.
        max_step: Largest change of one parameter in one step, > 0.
    """

    probe: float = 0.1
    max_step: float = 2.0

    def __post_init__(self) -> None:
        check_in_range(self.probe, "probe", "SecantConfig", 0.0, math.inf)
        check_in_range(self.max_step, "max_step", "SecantConfig", 0.0, math.inf)


class SecantProposer:
    """Trace-blind secant: fit ``output ≈ a + b·θ`` to the last ``d + 1`` iterations, step to its root.

    Uses the history and the signed error only. Until ``d + 1`` iterations exist it probes one
    coordinate at a time by ``probe``; afterwards the least-squares fit over the last ``d + 1``
    iterations gives ``b`` and the step is ``-e b / |b|^2`` from the best iteration, limited to
    ``max_step``. A degenerate fit falls back to a probe.
    """

    uses_trace = False

    def __init__(self, config: SecantConfig | None = None) -> None:
        self.config = config if config is not None else SecantConfig()
        if not isinstance(self.config, SecantConfig):
            raise InvalidParameterError("config", "SecantProposer", "a SecantConfig", config)

    def propose(self, context: ProposalContext) -> Proposal:
        cfg = self.config
        params = _numeric(context.parameters)
        errs = _errors(context.history)
        ok = np.isfinite(errs)
        if not params or not ok.any():
            return Proposal({}, "no scored history of numeric parameters; parameters kept")
        names = [p.name for p in params]
        rows = [i for i in range(len(context.history)) if ok[i]]
        X = np.array([[float(context.history[i].values.get(n, math.nan)) for n in names] for i in rows])
        e = errs[rows]
        best = int(np.argmin(np.abs(e)))
        if e[best] == 0.0:
            return Proposal({}, "a past iteration was correct; parameters kept")
        d = len(names)
        last = slice(max(0, len(rows) - (d + 1)), len(rows))
        Xl, el = X[last], e[last]
        b = None
        if Xl.shape[0] >= d + 1 and np.isfinite(Xl).all():
            A = np.column_stack([np.ones(Xl.shape[0]), Xl])
            coef, *_ = np.linalg.lstsq(A, el, rcond=None)
            if np.linalg.matrix_rank(A) == d + 1 and float(coef[1:] @ coef[1:]) > 1e-24:
                b = coef[1:]
        if b is None:
            k = len(rows) - 1  # probes so far: coordinates in turn, the side alternating each round
            j = k % d
            step = np.zeros(d)
            step[j] = cfg.probe * (1.0 if (k // d) % 2 == 0 else -1.0)
            return Proposal({n: float(X[-1, k] + step[k]) for k, n in enumerate(names)},
                            f"probing {names[j]} to fit a linear model of the output")
        delta = _clip_vector(-e[best] * b / float(b @ b), cfg.max_step)
        return Proposal({n: float(X[best, k] + delta[k]) for k, n in enumerate(names)},
                        f"secant step from the best iteration (|error| {abs(e[best]):.6g})")


# ----------------------------------------------------------------------------------- Adam


@dataclass(frozen=True)
class AdamConfig:
    """Settings of `AdamProposer` (Kingma & Ba, 2015).

    Args:
        lr: Learning rate, > 0.
        beta1, beta2: Moment decay rates, in [0, 1).
        eps: Denominator guard, > 0.
        fd_eps: Relative step of the graph-local finite differences, in (0, 0.1).
    """

    lr: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    fd_eps: float = 1e-6

    def __post_init__(self) -> None:
        check_in_range(self.lr, "lr", "AdamConfig", 0.0, math.inf)
        check_in_range(self.beta1, "beta1", "AdamConfig", 0.0, 1.0, low_open=False)
        check_in_range(self.beta2, "beta2", "AdamConfig", 0.0, 1.0, low_open=False)
        check_in_range(self.eps, "eps", "AdamConfig", 0.0, math.inf)
        check_in_range(self.fd_eps, "fd_eps", "AdamConfig", 0.0, 0.1)


class AdamProposer:
    """Adam on ``e² / 2``, the gradient ``e · dy/dθ`` taken through the trace (stateful)."""

    uses_trace = True

    def __init__(self, config: AdamConfig | None = None) -> None:
        self.config = config if config is not None else AdamConfig()
        if not isinstance(self.config, AdamConfig):
            raise InvalidParameterError("config", "AdamProposer", "an AdamConfig", config)
        self._m: dict[str, float] = {}
        self._v: dict[str, float] = {}
        self._t = 0

    def propose(self, context: ProposalContext) -> Proposal:
        graph = context.graph
        if graph is None:
            raise InvalidParameterError("context", "AdamProposer.propose", "a context with a graph", None)
        e = parse_signed_error(context.feedback)
        if e is None or e == 0.0:
            return Proposal({}, "no error to descend; parameters kept")
        cfg = self.config
        grads = sensitivities(graph, cfg.fd_eps)
        self._t += 1
        out: dict[str, float] = {}
        for p in _numeric(graph.parameters):
            g = e * grads.get(p.name, math.nan)
            if not math.isfinite(g):
                continue
            m = cfg.beta1 * self._m.get(p.name, 0.0) + (1 - cfg.beta1) * g
            v = cfg.beta2 * self._v.get(p.name, 0.0) + (1 - cfg.beta2) * g * g
            self._m[p.name], self._v[p.name] = m, v
            m_hat, v_hat = m / (1 - cfg.beta1**self._t), v / (1 - cfg.beta2**self._t)
            out[p.name] = float(p.value) - cfg.lr * m_hat / (math.sqrt(v_hat) + cfg.eps)
        return Proposal(out, "Adam step on the squared error")
