"""Random numeric programs with textual feedback, the numerical task of the Trace paper.

Cheng, Nie, Swaminathan (2024), "Trace is the New AutoDiff", Sec. 5.1: a program is a small random
graph of scalar operations over 1-3 trainable inputs; the optimizer only hears how far the output is
from a target, in words ("The output is too high by 0.25."). Here the operations are ``add``, ``mul``
(with another value or a constant), ``abs``, ``square`` and ``clip`` to a symmetric interval. Every
parameter reaches the output; one binary operation in five reuses an earlier value, so some graphs
are not trees. The target is the program's output at a random ``theta_star``, so it is reachable.

A program is data (a list of `Op`), evaluated by `NumericProgram.evaluate`; method code (tracing,
optimizers) builds its own executable form from ``ops`` and `OP_FUNCTIONS`. Everything is seeded:
`numeric_program(seed)` and `make_numeric_programs(n, seed)` return the same programs in every process.

Example:
    >>> p = numeric_program(3)
    >>> round(p.evaluate(p.theta_star) - p.target, 12)
    0.0
    >>> p.feedback(p.target + 0.25)
    'The output is too high by 0.25.'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_in_range,
    check_int,
    to_float,
)
from guardopt.core.seeding import derive_seed

__all__ = [
    "OP_DOCS",
    "OP_FUNCTIONS",
    "NumericProgram",
    "Op",
    "make_numeric_programs",
    "noisy_errors",
    "numeric_program",
]


def _clip(a: float, low: float, high: float) -> float:
    return min(max(a, low), high)


#: The operations a program may use, as plain functions of floats.
OP_FUNCTIONS: dict[str, Callable[..., float]] = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "abs": lambda a: abs(a),
    "square": lambda a: a * a,
    "clip": _clip,
}

#: One-line documentation of each operation (what a trace shows an optimizer).
OP_DOCS: dict[str, str] = {
    "add": "add(a, b) returns a + b.",
    "mul": "mul(a, b) returns a * b.",
    "abs": "abs(a) returns the absolute value of a.",
    "square": "square(a) returns a * a.",
    "clip": "clip(a, low, high) returns a limited to the interval [low, high].",
}


@dataclass(frozen=True)
class Op:
    """One operation: ``kind`` applied to earlier slots and constants.

    Attributes:
        kind: One of `OP_FUNCTIONS`.
        args: Slot indices of the inputs (slots ``0 .. k-1`` are the parameters; slot ``k + j`` is the
            output of op ``j``).
        consts: Constant arguments after the slot arguments (``mul``/``add`` by a constant, the clip
            interval).
    """

    kind: str
    args: tuple[int, ...]
    consts: tuple[float, ...] = ()


@dataclass(frozen=True)
class NumericProgram:
    """A random program ``y = P(theta)`` with a reachable target and a start point.

    Attributes:
        ops: The operations, in execution order; the last one's output is ``y``.
        n_params: Number of parameters ``k`` (1-3).
        theta0: Start values, shape ``(k,)`` as a tuple.
        theta_star: A solution: ``P(theta_star) == target``.
        target: The output the feedback asks for.
        seed: The seed the program was drawn from.
    """

    ops: tuple[Op, ...]
    n_params: int
    theta0: tuple[float, ...]
    theta_star: tuple[float, ...]
    target: float
    seed: int

    def evaluate(self, theta: Sequence[float] | np.ndarray) -> float:
        """``P(theta)``; ``theta`` has shape ``(n_params,)``."""
        return self.run(theta)[-1]

    def run(self, theta: Sequence[float] | np.ndarray) -> list[float]:
        """Every slot's value: the parameters, then each op's output (length ``n_params + len(ops)``)."""
        x = as_float_array(theta, "theta", "NumericProgram.run").ravel()
        if x.size != self.n_params:
            raise InputDataError(f"The 'theta' argument of NumericProgram.run must have {self.n_params} entries. "
                                 f"Got {x.size} instead.")
        slots = [float(v) for v in x]
        for op in self.ops:
            slots.append(float(OP_FUNCTIONS[op.kind](*(slots[i] for i in op.args), *op.consts)))
        return slots

    def error(self, y: float) -> float:
        """The signed error ``y - target`` (NaN when ``y`` is not a real number)."""
        return to_float(y) - self.target

    def feedback(self, y: float) -> str:
        """The textual feedback on output ``y``: "too high by d", "too low by d" or "correct"."""
        d = self.error(y)
        if not math.isfinite(d):
            return "The output is not a finite number."
        if d == 0.0:
            return "The output is correct."
        return f"The output is too {'high' if d > 0 else 'low'} by {abs(d):.10g}."

    def source(self) -> str:
        """The program as readable pseudo-code, one operation a line."""
        names = [f"theta{i}" for i in range(self.n_params)] + [f"v{j}" for j in range(len(self.ops))]
        lines = []
        for j, op in enumerate(self.ops):
            args = [names[i] for i in op.args] + [f"{c:.4g}" for c in op.consts]
            lines.append(f"{names[self.n_params + j]} = {op.kind}({', '.join(args)})")
        return "\n".join(lines)


def _draw_ops(rng: np.random.Generator, k: int) -> list[Op]:
    """A random graph in which every parameter reaches the output (tree, with occasional reuse)."""
    frontier = list(range(k))  # slots not yet consumed
    consumed: list[int] = []
    ops: list[Op] = []
    n_min = int(rng.integers(max(k, 2), k + 4))
    slot = k
    while len(frontier) > 1 or len(ops) < n_min:
        kind = str(rng.choice(["add", "mul", "abs", "square", "clip"], p=[0.3, 0.25, 0.15, 0.15, 0.15]))
        a = frontier.pop(int(rng.integers(len(frontier))))
        if kind in ("add", "mul"):
            if len(frontier) >= 1 and rng.random() < 0.7:
                b = frontier.pop(int(rng.integers(len(frontier))))
                op = Op(kind, (a, b))
                consumed.append(b)
            elif consumed and rng.random() < 0.2:
                op = Op(kind, (a, int(rng.choice(consumed))))  # reuse: the graph is no longer a tree
            elif kind == "add":
                op = Op(kind, (a,), (float(np.round(rng.uniform(-2, 2), 3)),))
            else:
                op = Op(kind, (a,), (float(np.round(rng.choice([-1, 1]) * rng.uniform(0.5, 2.0), 3)),))
        elif kind == "clip":
            c = float(np.round(rng.uniform(1.0, 4.0), 3))
            op = Op(kind, (a,), (-c, c))
        else:
            op = Op(kind, (a,))
        consumed.append(a)
        ops.append(op)
        frontier.append(slot)
        slot += 1
    return ops


def numeric_program(seed: int) -> NumericProgram:
    """The random program drawn from ``seed`` (a non-negative integer).

    Draws until the program is well posed: the output at ``theta_star`` and at ``theta0`` is finite
    and at most 100 in size, and ``theta0`` starts at least 0.1 away from the target.
    """
    seed = check_int(seed, "seed", "numeric_program", 0)
    for attempt in range(1000):
        rng = np.random.default_rng(derive_seed(seed, "numeric-program", attempt))
        k = int(rng.integers(1, 4))
        ops = _draw_ops(rng, k)
        star = tuple(float(v) for v in np.round(rng.uniform(-2, 2, k), 6))
        start = tuple(float(v) for v in np.round(rng.uniform(-2, 2, k), 6))
        prog = NumericProgram(tuple(ops), k, start, star, 0.0, seed)
        target = prog.evaluate(star)
        y0 = prog.evaluate(start)
        finite = math.isfinite(target) and math.isfinite(y0)
        if finite and max(abs(target), abs(y0)) <= 100 and abs(y0 - target) >= 0.1:
            return NumericProgram(tuple(ops), k, start, star, target, seed)
    raise InvalidParameterError("seed", "numeric_program", "a well-posed seed", seed)  # pragma: no cover


def make_numeric_programs(n: int = 20, seed: int = 0) -> list[NumericProgram]:
    """``n`` programs, the ``i``-th drawn from ``derive_seed(seed, i)`` (the paper uses 20)."""
    n = check_int(n, "n", "numeric_programs", 1)
    seed = check_int(seed, "seed", "numeric_programs", 0)
    out = []
    for i in range(n):
        s = derive_seed(seed, "numeric-programs", i)
        assert s is not None
        out.append(numeric_program(s % (2**31)))
    return out


def noisy_errors(program: NumericProgram, y: float, noise: np.ndarray | Sequence[float], sigma: float) -> np.ndarray:
    """Signed errors ``y + sigma * noise - target`` of noisy feedback, shape of ``noise``."""
    sigma = check_in_range(sigma, "sigma", "noisy_errors", 0.0, math.inf, low_open=False)
    return program.error(y) + sigma * as_float_array(noise, "noise", "noisy_errors")
