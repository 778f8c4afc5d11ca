"""Offline model-based optimization tasks with exact oracles and a Design-Bench-like interface.

An offline task hands an optimizer a *visible* dataset ``(x, y)`` of designs below some percentile
of a larger dataset, hides the rest, and scores whatever the optimizer proposes with an exact oracle.
Scores are normalized by the min and max of the *full* dataset (visible plus hidden), as in
Design-Bench (Trabucco et al., 2022, "Design-Bench: Benchmarks for Data-Driven Offline Model-Based
Optimization"), so a normalized score above 1 means the proposal beats every design in the full
dataset. Every method gets the same budget of 128 proposals.

Design-Bench itself downloads its data on import, so the built-in suite here is synthetic:

- six continuous test functions in 60 dimensions (Ackley, Rastrigin, Rosenbrock, Styblinski-Tang,
  Levy, a shifted sphere), each sampled uniformly at 2,500 points with the top 60% hidden;
- an enumerable length-8 DNA task (4^8 = 65,536 sequences) scored by a position-weight matrix plus
  nearest-neighbour epistasis, with the top 50% hidden (a TF-Bind-8 analogue).

Your own data plugs in with `OfflineTask.from_arrays`; installed Design-Bench tasks with
`design_bench_task` (untested here: design_bench cannot be installed offline).

Functions are minimized in their usual form; tasks maximize ``y = -f(x)``.

Example:
    >>> task = continuous_task("sphere", dim=4, n_samples=200)
    >>> task.x.shape, task.y.shape
    ((80, 4), (80,))
    >>> float(task.normalize(task.y).max()) < 1.0
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, check_in_range, check_int

__all__ = [
    "BUDGET",
    "CONTINUOUS_TASKS",
    "DNA_ALPHABET",
    "DNALandscape",
    "OfflineTask",
    "ackley",
    "all_sequences",
    "continuous_task",
    "design_bench_task",
    "dna_task",
    "levy",
    "make_task",
    "rastrigin",
    "rosenbrock",
    "styblinski_tang",
]

BUDGET = 128
"""The number of designs every method proposes (Design-Bench protocol)."""

CONTINUOUS_TASKS = ("ackley", "rastrigin", "rosenbrock", "styblinski_tang", "levy", "sphere")
"""Names of the built-in continuous tasks."""

DNA_ALPHABET = "ACGT"


# --------------------------------------------------------------------------------------------------
# Test functions (minimized). Each takes x of shape (n, d) and returns f of shape (n,).
# --------------------------------------------------------------------------------------------------


def ackley(x: np.ndarray) -> np.ndarray:
    """Ackley function; global minimum 0 at the origin. Shape (n, d) -> (n,)."""
    d = x.shape[1]
    a = -20.0 * np.exp(-0.2 * np.sqrt(np.sum(x**2, axis=1) / d))
    b = -np.exp(np.sum(np.cos(2 * np.pi * x), axis=1) / d)
    return np.asarray(a + b + 20.0 + np.e)


def rastrigin(x: np.ndarray) -> np.ndarray:
    """Rastrigin function; global minimum 0 at the origin. Shape (n, d) -> (n,)."""
    return np.asarray(10.0 * x.shape[1] + np.sum(x**2 - 10.0 * np.cos(2 * np.pi * x), axis=1))


def rosenbrock(x: np.ndarray) -> np.ndarray:
    """Rosenbrock function; global minimum 0 at (1, ..., 1). Shape (n, d) -> (n,)."""
    return np.asarray(np.sum(100.0 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1.0 - x[:, :-1]) ** 2, axis=1))


def styblinski_tang(x: np.ndarray) -> np.ndarray:
    """Styblinski-Tang function; minimum ≈ -39.166·d at x_i ≈ -2.9035. Shape (n, d) -> (n,)."""
    return np.asarray(0.5 * np.sum(x**4 - 16.0 * x**2 + 5.0 * x, axis=1))


def levy(x: np.ndarray) -> np.ndarray:
    """Levy function; global minimum 0 at (1, ..., 1). Shape (n, d) -> (n,)."""
    w = 1.0 + (x - 1.0) / 4.0
    head = np.sin(np.pi * w[:, 0]) ** 2
    mid = np.sum((w[:, :-1] - 1.0) ** 2 * (1.0 + 10.0 * np.sin(np.pi * w[:, :-1] + 1.0) ** 2), axis=1)
    tail = (w[:, -1] - 1.0) ** 2 * (1.0 + np.sin(2 * np.pi * w[:, -1]) ** 2)
    return np.asarray(head + mid + tail)


def _shifted_sphere(shift: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    def sphere(x: np.ndarray) -> np.ndarray:
        return np.asarray(np.sum((x - shift) ** 2, axis=1))

    return sphere


# The search boxes: the usual benchmark domains, narrowed for Ackley and Levy so that a uniform sample
# in 60 dimensions is not flat (on the full Ackley box every uniform point scores ≈ 21.3).
_DOMAINS: dict[str, tuple[float, float]] = {
    "ackley": (-5.0, 5.0),
    "rastrigin": (-5.12, 5.12),
    "rosenbrock": (-2.048, 2.048),
    "styblinski_tang": (-5.0, 5.0),
    "levy": (-5.0, 5.0),
    "sphere": (-5.0, 5.0),
}


# --------------------------------------------------------------------------------------------------
# The task
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineTask:
    """A visible dataset, a hidden exact oracle and the full dataset's score range.

    Continuous tasks have ``x`` of shape ``(n, d)`` (floats) and box bounds ``lower``/``upper``
    of shape ``(d,)``. Discrete tasks have ``x`` of shape ``(n, length)`` holding integer tokens in
    ``[0, num_classes)``. ``y`` has shape ``(n,)`` and is maximized.

    Attributes:
        name: Task name.
        x: Visible designs.
        y: Their scores.
        oracle: Exact score of any design array of the same kind, ``(m, ...) -> (m,)``; ``None``
            when the task has no oracle (a user dataset without one cannot score proposals).
        y_min: Minimum score over the full dataset (the normalizer's 0).
        y_max: Maximum score over the full dataset (the normalizer's 1).
        is_discrete: Whether designs are token sequences.
        num_classes: Alphabet size of a discrete task (0 for continuous tasks).
        lower, upper: Box bounds of a continuous task (``None`` when unbounded or discrete).
        budget: Number of proposals a method may make.
        info: Free-form metadata (hidden fraction, full-dataset size, the best visible score, ...).
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    oracle: Callable[[np.ndarray], np.ndarray] | None
    y_min: float
    y_max: float
    is_discrete: bool = False
    num_classes: int = 0
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    budget: int = BUDGET
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        x = np.asarray(self.x)
        y = np.asarray(self.y, dtype=float).reshape(-1)
        if x.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
            raise InputDataError(f"OfflineTask needs x of shape (n, d) and y of shape (n,); got {x.shape} and "
                                 f"{np.shape(self.y)}.")
        if not np.all(np.isfinite(y)):
            raise InputDataError("OfflineTask: y contains NaN or inf.")
        if not (np.isfinite(self.y_min) and np.isfinite(self.y_max)) or self.y_max <= self.y_min:
            raise InputDataError(f"OfflineTask needs finite y_min < y_max; got {self.y_min}, {self.y_max}.")
        if self.is_discrete:
            check_int(self.num_classes, "num_classes", "OfflineTask", low=2)
            if x.min() < 0 or x.max() >= self.num_classes:
                raise InputDataError("OfflineTask: discrete tokens must lie in [0, num_classes).")
        check_int(self.budget, "budget", "OfflineTask", low=1)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    @property
    def dim(self) -> int:
        """Design width: ``d`` for continuous tasks, the sequence length for discrete ones."""
        return int(self.x.shape[1])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Exact (hidden) score of designs ``x`` of shape ``(m, dim)``; returns ``(m,)``.

        Raises:
            InputDataError: When the task has no oracle or ``x`` has the wrong width.
        """
        if self.oracle is None:
            raise InputDataError(f"Task {self.name!r} has no oracle; proposals cannot be scored.")
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise InputDataError(f"Task {self.name!r} expects designs of shape (m, {self.dim}); got {x.shape}.")
        return np.asarray(self.oracle(x), dtype=float).reshape(-1)

    def normalize(self, y: np.ndarray) -> np.ndarray:
        """Map scores to ``(y - y_min) / (y_max - y_min)`` with the *full* dataset's range."""
        return (np.asarray(y, dtype=float) - self.y_min) / (self.y_max - self.y_min)

    def score(self, proposals: np.ndarray) -> dict[str, float]:
        """Oracle-score a batch of proposals: 100th, 80th and 50th percentile normalized scores.

        Args:
            proposals: Designs, shape ``(budget, dim)`` (fewer is allowed; more is an error).

        Returns:
            ``{"p100": ..., "p80": ..., "p50": ..., "best_visible": ...}``, all normalized.
        """
        proposals = np.asarray(proposals)
        if proposals.shape[0] > self.budget:
            raise InputDataError(f"Task {self.name!r} allows {self.budget} proposals; got {proposals.shape[0]}.")
        s = self.normalize(self.predict(proposals))
        return {
            "p100": float(np.max(s)),
            "p80": float(np.percentile(s, 80)),
            "p50": float(np.percentile(s, 50)),
            "best_visible": float(self.normalize(np.max(self.y))),
        }

    @staticmethod
    def from_arrays(
        x: np.ndarray,
        y: np.ndarray,
        oracle: Callable[[np.ndarray], np.ndarray] | None = None,
        *,
        name: str = "user",
        y_min: float | None = None,
        y_max: float | None = None,
        is_discrete: bool = False,
        num_classes: int = 0,
        lower: np.ndarray | None = None,
        upper: np.ndarray | None = None,
        budget: int = BUDGET,
    ) -> OfflineTask:
        """Wrap your own dataset as a task.

        Args:
            x: Visible designs, shape ``(n, d)``.
            y: Their scores, shape ``(n,)`` or ``(n, 1)``; maximized.
            oracle: Optional exact scorer for proposals.
            name: Task name.
            y_min, y_max: Normalizer range; defaults to the visible data's range (Design-Bench uses
                the full dataset's, which only you know).
            is_discrete, num_classes: For token-sequence designs.
            lower, upper: Optional box bounds (scalars or shape ``(d,)``) for continuous designs.
            budget: Number of proposals.
        """
        yy = np.asarray(y, dtype=float).reshape(-1)
        d = np.asarray(x).shape[1] if np.asarray(x).ndim == 2 else 0
        lo = None if lower is None else np.broadcast_to(np.asarray(lower, dtype=float), (d,)).copy()
        hi = None if upper is None else np.broadcast_to(np.asarray(upper, dtype=float), (d,)).copy()
        return OfflineTask(
            name=name,
            x=np.asarray(x),
            y=yy,
            oracle=oracle,
            y_min=float(np.min(yy)) if y_min is None else float(y_min),
            y_max=float(np.max(yy)) if y_max is None else float(y_max),
            is_discrete=is_discrete,
            num_classes=num_classes,
            lower=lo,
            upper=hi,
            budget=budget,
        )


def _hide_top(y: np.ndarray, hidden_fraction: float) -> np.ndarray:
    """Indices of the visible part: the designs below the (1 - hidden_fraction) quantile."""
    order = np.argsort(y, kind="stable")
    n_visible = round(len(y) * (1.0 - hidden_fraction))
    return np.sort(order[:n_visible])


def continuous_task(
    name: str,
    dim: int = 60,
    n_samples: int = 2500,
    hidden_fraction: float = 0.6,
    seed: int = 0,
) -> OfflineTask:
    """One of the six synthetic continuous tasks.

    Args:
        name: One of `CONTINUOUS_TASKS`.
        dim: Input dimension (60 mimics Ant's size).
        n_samples: Size of the full uniform sample whose min/max define the normalizer.
        hidden_fraction: Fraction of the best designs hidden from the optimizer.
        seed: Seed of the task itself (the sample, and the sphere's shift); the benchmark uses 0.

    Returns:
        The task; ``info`` holds ``hidden_fraction``, ``n_full`` and ``domain``.
    """
    if name not in CONTINUOUS_TASKS:
        raise InvalidParameterError("name", "continuous_task", f"one of {CONTINUOUS_TASKS}", name)
    check_int(dim, "dim", "continuous_task", low=2)
    check_int(n_samples, "n_samples", "continuous_task", low=10)
    check_in_range(hidden_fraction, "hidden_fraction", "continuous_task", 0.0, 1.0, low_open=False)
    rng = np.random.default_rng(seed)
    lo, hi = _DOMAINS[name]
    fn: Callable[[np.ndarray], np.ndarray]
    if name == "sphere":
        # The shift keeps the optimum away from the box centre, where a mean-reverting surrogate
        # would find it by accident.
        fn = _shifted_sphere(rng.uniform(0.3 * lo, 0.3 * hi, size=dim))
    else:
        fn = {"ackley": ackley, "rastrigin": rastrigin, "rosenbrock": rosenbrock,
              "styblinski_tang": styblinski_tang, "levy": levy}[name]
    x_full = rng.uniform(lo, hi, size=(n_samples, dim))
    y_full = -fn(x_full)
    keep = _hide_top(y_full, hidden_fraction)
    lower = np.full(dim, lo)
    upper = np.full(dim, hi)

    def oracle(x: np.ndarray) -> np.ndarray:
        # Proposals outside the box are clipped: the box is part of the task, as in Design-Bench's
        # continuous tasks where a design outside the simulator's range is not evaluable.
        return -fn(np.clip(np.asarray(x, dtype=float), lower, upper))

    return OfflineTask(
        name=name,
        x=x_full[keep],
        y=y_full[keep],
        oracle=oracle,
        y_min=float(y_full.min()),
        y_max=float(y_full.max()),
        lower=lower,
        upper=upper,
        info={"hidden_fraction": hidden_fraction, "n_full": n_samples, "domain": (lo, hi), "seed": seed},
    )


@dataclass(frozen=True)
class DNALandscape:
    """A position-weight matrix plus nearest-neighbour epistasis over DNA sequences.

    ``score(s) = sum_i pwm[i, s_i] + sum_i epi[i, s_i, s_{i+1}, s_{i+2}]`` for ``i`` up to
    ``length - 3`` (an NK landscape with K = 2 on top of additive effects).

    Attributes:
        pwm: Additive effects, shape ``(length, 4)``.
        epistasis: Interaction tables, shape ``(length - 2, 4, 4, 4)``.
    """

    pwm: np.ndarray
    epistasis: np.ndarray

    def __call__(self, seqs: np.ndarray) -> np.ndarray:
        """Score integer sequences of shape ``(m, length)`` with tokens in ``{0, 1, 2, 3}``."""
        s = np.asarray(seqs)
        if s.ndim != 2 or s.shape[1] != self.pwm.shape[0]:
            raise InputDataError(f"DNALandscape expects shape (m, {self.pwm.shape[0]}); got {s.shape}.")
        if not np.issubdtype(s.dtype, np.integer) or s.min(initial=0) < 0 or s.max(initial=0) > 3:
            raise InputDataError("DNALandscape expects integer tokens in {0, 1, 2, 3}.")
        pos = np.arange(s.shape[1])
        out = self.pwm[pos, s].sum(axis=1)
        k = np.arange(self.epistasis.shape[0])
        out = out + self.epistasis[k, s[:, :-2], s[:, 1:-1], s[:, 2:]].sum(axis=1)
        return np.asarray(out, dtype=float)


def all_sequences(length: int, num_classes: int = 4) -> np.ndarray:
    """Every sequence of a given length, shape ``(num_classes**length, length)``, lexicographic."""
    check_int(length, "length", "all_sequences", low=1, high=12)
    grids = np.indices((num_classes,) * length).reshape(length, -1).T
    return np.ascontiguousarray(grids, dtype=np.int64)


def dna_task(length: int = 8, hidden_fraction: float = 0.5, epistasis_scale: float = 0.5,
             seed: int = 0) -> OfflineTask:
    """The enumerable DNA task (a TF-Bind-8 analogue).

    The full dataset is every sequence of the given length, so the normalizer's min and max are
    exact. The top ``hidden_fraction`` is hidden.

    Args:
        length: Sequence length (8 gives 65,536 sequences).
        hidden_fraction: Fraction of the best sequences hidden.
        epistasis_scale: Standard deviation of the epistatic terms relative to the PWM's (1).
        seed: Seed of the landscape.
    """
    check_int(length, "length", "dna_task", low=3, high=10)
    check_in_range(hidden_fraction, "hidden_fraction", "dna_task", 0.0, 1.0, low_open=False)
    check_in_range(epistasis_scale, "epistasis_scale", "dna_task", 0.0, low_open=False)
    rng = np.random.default_rng(seed)
    landscape = DNALandscape(
        pwm=rng.normal(size=(length, 4)),
        epistasis=epistasis_scale * rng.normal(size=(length - 2, 4, 4, 4)),
    )
    x_full = all_sequences(length)
    y_full = landscape(x_full)
    keep = _hide_top(y_full, hidden_fraction)
    return OfflineTask(
        name=f"dna{length}",
        x=x_full[keep],
        y=y_full[keep],
        oracle=landscape,
        y_min=float(y_full.min()),
        y_max=float(y_full.max()),
        is_discrete=True,
        num_classes=4,
        info={"hidden_fraction": hidden_fraction, "n_full": len(y_full), "seed": seed},
    )


def make_task(name: str, **kwargs: Any) -> OfflineTask:
    """A built-in task by name: one of `CONTINUOUS_TASKS`, or ``"dna8"`` / ``"dna10"``."""
    if name in CONTINUOUS_TASKS:
        return continuous_task(name, **kwargs)
    if name.startswith("dna") and name[3:].isdigit():
        return dna_task(length=int(name[3:]), **kwargs)
    raise InvalidParameterError("name", "make_task", f"one of {(*CONTINUOUS_TASKS, 'dna8', 'dna10')}", name)


def design_bench_task(name: str, **make_kwargs: Any) -> OfflineTask:  # pragma: no cover - needs design_bench
    """Wrap an installed Design-Bench task (untested here: design_bench downloads its data).

    The wrapper uses Design-Bench's visible ``x``/``y`` and oracle. Design-Bench does not expose the
    full dataset's range through its public API in every version, so ``y_min``/``y_max`` come from
    ``task.dataset`` when present and otherwise from the visible data (check against the published
    normalizers before comparing numbers).

    Args:
        name: A Design-Bench task id, e.g. ``"TFBind8-Exact-v0"``.
        **make_kwargs: Passed to ``design_bench.make``.
    """
    try:
        import design_bench  # optional, and it downloads its data on first use
    except ImportError as exc:
        raise ImportError("design_bench_task needs the 'design-bench' package (pip install design-bench); "
                          "it downloads its datasets on first use.") from exc
    task = design_bench.make(name, **make_kwargs)
    x = np.asarray(task.x)
    y = np.asarray(task.y, dtype=float).reshape(-1)
    full_y = y
    dataset = getattr(task, "dataset", None)
    if dataset is not None and hasattr(dataset, "y"):
        full_y = np.asarray(dataset.y, dtype=float).reshape(-1)
    discrete = bool(task.is_discrete)
    num_classes = int(getattr(task, "num_classes", 0)) if discrete else 0

    def oracle(z: np.ndarray) -> np.ndarray:
        return np.asarray(task.predict(z), dtype=float).reshape(-1)

    return OfflineTask(name=name, x=x.reshape(len(x), -1) if not discrete else x, y=y, oracle=oracle,
                       y_min=float(full_y.min()), y_max=float(full_y.max()), is_discrete=discrete,
                       num_classes=num_classes, info={"design_bench": True})
