"""Single-pass streaming multi-armed bandits: a memory-enforcing stream and explore-then-commit algorithms.

Setting (Wang, "Tight Regret Bounds for Single-pass Streaming Multi-armed Bandits", ICML 2023,
arXiv 2306.02208): ``K`` Bernoulli arms arrive one at a time; an algorithm may hold at most ``M``
arms in memory; an arm that has been discarded (or has passed) can never be pulled again; ``T``
pulls in all. Regret is against the best arm. Any algorithm with ``o(K)`` memory has regret
``Ω(K^{1/3} T^{2/3})``; uniform exploration gets ``O(K^{1/3} T^{2/3} log^{1/3} T)``; running a
single-pass ε-best-arm algorithm with ``ε = (K/T)^{1/3}`` and committing to its answer gets
``O(K^{1/3} T^{2/3})``.

`ArmStream` is the contract: it hands out opaque `ArmHandle`s (no means), counts the arms held,
raises `StreamMemoryError` when a read would exceed the memory limit or when a discarded arm is
pulled, and draws pulls as one binomial count per call, so ``T = 10^7`` pulls cost microseconds.
Its pseudo-regret ``Σ_i n_i (μ* − μ_i)`` is for evaluation only; no algorithm here reads a mean or a
gap.

Algorithms (each a frozen config with ``run(stream) -> StreamResult``):

* `UniformExploration`: ``b = (T/K)^{2/3} ln^{1/3} T`` pulls per arm, keep the empirical best
  ("king"), commit. Memory 2.
* `NaiveEpsBest`: ``ln(K)/ε²`` pulls per arm, king, commit. Memory 2. It pays a ``ln K`` factor;
  a prototype measured it 2.5x worse than uniform exploration at K = 1000.
* `TowerEpsBest`: levels of kings with growing per-level sample sizes ("selective promotion",
  Assadi & Wang 2020, as run in the paper's experiments); ``kind="log"`` has ``⌊ln K⌋`` levels with
  ``⌈1.2^ℓ/ε²⌉`` pulls and 6 arms per level before promotion; ``kind="logstar"`` has
  ``r_0 = 2, r_{ℓ+1} = 2^{r_ℓ}``, ``⌈r_ℓ/ε²⌉`` pulls and ``2^{r_ℓ − r_{ℓ−1}}`` arms per level (4 at
  level 0). Memory: levels + 1.
* `GameOfArms`: single-arm memory (Jin et al. 2021 style): a king with a sample budget; a challenger
  is sampled in rounds of ``2^ℓ/ε²`` pulls and discarded as soon as its mean falls ``ε/5`` below the
  king's; it dethrones the king when it outlasts the king's budget. Memory 2 (king + arriving arm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from guardopt.core.errors import (
    GuardoptError,
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_choice,
    check_in_range,
    check_int,
)
from guardopt.core.seeding import SeedLike, make_rng

__all__ = [
    "ArmHandle",
    "ArmStream",
    "GameOfArms",
    "NaiveEpsBest",
    "StreamMemoryError",
    "StreamResult",
    "StreamingAlgorithm",
    "TowerEpsBest",
    "UniformExploration",
    "epsilon_for",
    "simulate",
]


class StreamMemoryError(GuardoptError, RuntimeError):
    """A streaming algorithm broke the stream's rules (memory limit, re-reading an arm, budget)."""


@dataclass(frozen=True)
class ArmHandle:
    """An arm held in memory. It carries the arm's stream position, never its mean."""

    index: int


class ArmStream:
    """A single pass over Bernoulli arms that enforces a memory limit and a pull budget.

    Args:
        means: Arm means in stream order, shape ``(K,)``, each in [0, 1]. Kept private.
        horizon: Total number of pulls ``T``.
        memory: Most arms held at once (the arm just read counts).
        seed: Seed or Generator for the pulls.

    Raises:
        StreamMemoryError: from `read` when ``memory`` arms are already held; from `pull` /
            `discard` on an arm not held (discarded arms cannot be re-read); from `pull` beyond the
            budget.
    """

    def __init__(self, means: np.ndarray, horizon: int, memory: int, seed: SeedLike = None) -> None:
        try:
            mu = as_float_array(means, "means", "ArmStream")
        except InputDataError as exc:  # strings, objects, ragged lists: numpy would raise its own error
            raise InvalidParameterError("means", "ArmStream", "a 1-D array of values in [0, 1]", means) from exc
        if mu.ndim != 1 or mu.size < 1 or np.any(~np.isfinite(mu)) or np.any((mu < 0) | (mu > 1)):
            raise InvalidParameterError("means", "ArmStream", "a 1-D array of values in [0, 1]", means)
        self._means = mu
        self._best = float(mu.max())
        self.horizon = check_int(horizon, "horizon", "ArmStream", low=1)
        self.memory = check_int(memory, "memory", "ArmStream", low=1)
        self._rng = make_rng(seed)
        self._next = 0
        self._held: set[int] = set()
        self._pulls = np.zeros(mu.size, dtype=np.int64)
        self.used = 0
        self.peak_memory = 0

    @property
    def n_arms(self) -> int:
        """``K``, the stream length (known to the algorithms, as in the paper)."""
        return int(self._means.size)

    @property
    def remaining(self) -> int:
        """Pulls left in the budget."""
        return self.horizon - self.used

    @property
    def held(self) -> int:
        """Number of arms currently in memory."""
        return len(self._held)

    def read(self) -> ArmHandle | None:
        """Read the next arm into memory, or return None at the end of the stream."""
        if self._next >= self._means.size:
            return None
        if len(self._held) >= self.memory:
            raise StreamMemoryError(
                f"Reading arm {self._next} would hold {len(self._held) + 1} arms; the memory limit is "
                f"{self.memory}. Discard an arm first."
            )
        arm = ArmHandle(self._next)
        self._next += 1
        self._held.add(arm.index)
        self.peak_memory = max(self.peak_memory, len(self._held))
        return arm

    def discard(self, arm: ArmHandle) -> None:
        """Drop an arm from memory for good."""
        self._check_held(arm)
        self._held.remove(arm.index)

    def pull(self, arm: ArmHandle, n: int) -> int:
        """Pull a held arm ``n`` times; return the number of successes (one binomial draw)."""
        self._check_held(arm)
        n = check_int(n, "n", "ArmStream.pull", low=0)
        if n > self.remaining:
            raise StreamMemoryError(f"{n} pulls requested but only {self.remaining} remain in the budget.")
        self.used += n
        self._pulls[arm.index] += n
        return int(self._rng.binomial(n, self._means[arm.index]))

    def commit(self, arm: ArmHandle) -> int:
        """Spend every remaining pull on ``arm``; return the number of successes."""
        return self.pull(arm, self.remaining)

    def pseudo_regret(self) -> float:
        """``Σ_i n_i (μ* − μ_i)`` so far. For evaluation only: algorithms must not call it."""
        return float(np.dot(self._pulls, self._best - self._means))

    def pulls(self) -> np.ndarray:
        """Pull counts per arm so far, shape ``(K,)`` (evaluation only)."""
        return self._pulls.copy()

    def _check_held(self, arm: ArmHandle) -> None:
        if arm.index not in self._held:
            raise StreamMemoryError(
                f"Arm {arm.index} is not in memory: it was discarded or never read, and a single-pass "
                "stream cannot re-read it."
            )


@dataclass(frozen=True)
class StreamResult:
    """What a streaming algorithm did: the arm it committed to and its exploration cost."""

    committed: int | None
    exploration_pulls: int
    peak_memory: int
    levels_used: int = 1


class StreamingAlgorithm(Protocol):
    """What `simulate` needs: a declared memory and a single pass over a stream."""

    def memory_needed(self, n_arms: int, horizon: int) -> int:
        """Most arms held at once (the stream enforces it)."""
        ...

    def run(self, stream: ArmStream) -> StreamResult:
        """One pass over the stream, then commit the remaining budget."""
        ...


def epsilon_for(n_arms: int, horizon: int, scale: float = 1.0) -> float:
    """The ε of ε-best-arm-then-commit: ``scale · (K/T)^{1/3}`` (Wang 2023, Sec. 3), capped at 1."""
    k = check_int(n_arms, "n_arms", "epsilon_for", low=1)
    t = check_int(horizon, "horizon", "epsilon_for", low=1)
    c = check_in_range(scale, "scale", "epsilon_for", 0.0)
    return min(1.0, c * (k / t) ** (1.0 / 3.0))


def _sample_mean(stream: ArmStream, arm: ArmHandle, n: int) -> float:
    """Mean of ``min(n, remaining)`` fresh pulls; NaN when the budget is spent."""
    n = min(int(n), stream.remaining)
    if n <= 0:
        return math.nan
    return stream.pull(arm, n) / n


def _finish(stream: ArmStream, king: ArmHandle | None, explored: int, levels: int = 1) -> StreamResult:
    if king is not None and stream.remaining > 0:
        stream.commit(king)
    return StreamResult(None if king is None else king.index, explored, stream.peak_memory, levels)


def _king_vs_stream(stream: ArmStream, batch: int) -> StreamResult:
    """Shared loop of uniform exploration and the naive ε-best arm: one king, fixed batch per arm."""
    king = stream.read()
    if king is None:
        return StreamResult(None, 0, stream.peak_memory)
    king_mean = _sample_mean(stream, king, batch)
    while stream.remaining > 0:
        arm = stream.read()
        if arm is None:
            break
        mean = _sample_mean(stream, arm, batch)
        # Fail closed on NaN (budget ran out mid-sample): the challenger does not replace the king.
        if mean > king_mean:
            stream.discard(king)
            king, king_mean = arm, mean
        else:
            stream.discard(arm)
    return _finish(stream, king, stream.used)


@dataclass(frozen=True)
class UniformExploration:
    """Pull every arm ``b = scale · (T/K)^{2/3} ln^{1/3} T`` times, keep the best, commit.

    Regret ``O(K^{1/3} T^{2/3} log^{1/3} T)`` (Wang 2023, the baseline). Memory 2.
    """

    scale: float = 1.0

    def memory_needed(self, n_arms: int, horizon: int) -> int:
        """The king and the arriving arm."""
        return 2

    def __post_init__(self) -> None:
        check_in_range(self.scale, "scale", "UniformExploration", 0.0)

    def batch(self, n_arms: int, horizon: int) -> int:
        """Pulls per arm."""
        return max(1, math.ceil(self.scale * (horizon / n_arms) ** (2 / 3) * math.log(horizon) ** (1 / 3)))

    def run(self, stream: ArmStream) -> StreamResult:
        """Run on a stream (memory >= 2) and commit the remaining budget."""
        return _king_vs_stream(stream, self.batch(stream.n_arms, stream.horizon))


@dataclass(frozen=True)
class NaiveEpsBest:
    """ε-best arm by ``ln(K)/ε²`` pulls per arm with a single king, then commit. Memory 2."""

    eps_scale: float = 1.0

    def memory_needed(self, n_arms: int, horizon: int) -> int:
        """The king and the arriving arm."""
        return 2

    def __post_init__(self) -> None:
        check_in_range(self.eps_scale, "eps_scale", "NaiveEpsBest", 0.0)

    def batch(self, n_arms: int, horizon: int) -> int:
        """Pulls per arm."""
        eps = epsilon_for(n_arms, horizon, self.eps_scale)
        return max(1, math.ceil(math.log(max(n_arms, 2)) / eps**2))

    def run(self, stream: ArmStream) -> StreamResult:
        """Run on a stream (memory >= 2) and commit the remaining budget."""
        return _king_vs_stream(stream, self.batch(stream.n_arms, stream.horizon))


@dataclass(frozen=True)
class _Level:
    batch: int
    arms_per_level: int | None  # None: the top level never promotes


@dataclass(frozen=True)
class TowerEpsBest:
    """ε-best arm by a tower of kings ("selective promotion"), then commit.

    Each level ℓ keeps one king and its empirical mean from ``b_ℓ`` pulls. An arm arriving at level ℓ
    gets ``b_ℓ`` fresh pulls and replaces the king if its mean is higher. After ``n_ℓ`` arms have
    reached level ℓ, its king is promoted to level ℓ+1 (where it is sampled afresh) and level ℓ
    starts over. At the end of the stream every remaining king gets ``b`` of the highest level
    reached in fresh pulls and the best of them is committed to.

    Args:
        kind: ``"log"`` — ``⌊ln K⌋`` levels, ``b_ℓ = ⌈1.2^ℓ/ε²⌉``, ``n_ℓ = arms_per_level`` (6);
            ``"logstar"`` — ``r_0 = 2, r_{ℓ+1} = 2^{r_ℓ}`` for ``log* K + 1`` levels,
            ``b_ℓ = ⌈r_ℓ/ε²⌉``, ``n_0 = 4``, ``n_ℓ = 2^{r_ℓ − r_{ℓ−1}}``. Both follow the level
            schedules of the paper's experiments (Wang 2023, Sec. 5).
        eps_scale: ε = eps_scale · (K/T)^{1/3}.
        arms_per_level: ``n_ℓ`` of the ``"log"`` tower.
    """

    kind: str = "log"
    eps_scale: float = 1.0
    arms_per_level: int = 6

    def __post_init__(self) -> None:
        check_choice(self.kind, "kind", "TowerEpsBest", ("log", "logstar"))
        check_in_range(self.eps_scale, "eps_scale", "TowerEpsBest", 0.0)
        check_int(self.arms_per_level, "arms_per_level", "TowerEpsBest", low=2)

    def levels(self, n_arms: int, horizon: int) -> list[_Level]:
        """The level schedule for ``K`` arms and horizon ``T``."""
        eps2 = epsilon_for(n_arms, horizon, self.eps_scale) ** 2
        if self.kind == "log":
            n_levels = max(1, int(math.log(n_arms)))
            return [
                _Level(min(horizon, math.ceil(1.2**lv / eps2)), self.arms_per_level if lv < n_levels - 1 else None)
                for lv in range(n_levels)
            ]
        n_levels, x = 1, float(n_arms)
        while x >= 1.0:  # log* K + 1 levels
            n_levels += 1
            x = math.log(x) if x > 1.0 else 0.0
        r = [2]
        for _ in range(n_levels - 1):
            r.append(2 ** min(r[-1], 62))
        out = []
        for lv in range(n_levels):
            per = 4 if lv == 0 else 2 ** min(r[lv] - r[lv - 1], 62)
            out.append(_Level(min(horizon, math.ceil(r[lv] / eps2)), per if lv < n_levels - 1 else None))
        return out

    def memory_needed(self, n_arms: int, horizon: int) -> int:
        """One king per level plus the arriving arm."""
        return len(self.levels(n_arms, horizon)) + 1

    def run(self, stream: ArmStream) -> StreamResult:
        """Run on a stream with ``memory >= memory_needed(K, T)`` and commit."""
        levels = self.levels(stream.n_arms, stream.horizon)
        kings: list[ArmHandle | None] = [None] * len(levels)
        means = [math.nan] * len(levels)
        counts = [0] * len(levels)
        top = 0

        def offer(arm: ArmHandle, lv: int) -> None:
            nonlocal top
            top = max(top, lv)
            mean = _sample_mean(stream, arm, levels[lv].batch)
            king = kings[lv]
            if king is None:
                kings[lv], means[lv] = arm, mean
            elif mean > means[lv]:
                stream.discard(king)
                kings[lv], means[lv] = arm, mean
            else:
                stream.discard(arm)
            counts[lv] += 1
            cap = levels[lv].arms_per_level
            if cap is not None and counts[lv] >= cap:
                promoted = kings[lv]
                kings[lv], means[lv], counts[lv] = None, math.nan, 0
                assert promoted is not None
                offer(promoted, lv + 1)

        while stream.remaining > 0:
            arm = stream.read()
            if arm is None:
                break
            offer(arm, 0)
        explored = stream.used
        alive = [k for k in kings if k is not None]
        if not alive:
            return StreamResult(None, explored, stream.peak_memory, top + 1)
        # Final play-off between the surviving kings with fresh samples of the top level's size.
        best, best_mean = alive[-1], -math.inf
        for king in reversed(alive):
            mean = _sample_mean(stream, king, levels[top].batch) if len(alive) > 1 else 0.0
            if mean > best_mean:
                best, best_mean = king, mean
        return _finish(stream, best, stream.used, top + 1)


@dataclass(frozen=True)
class GameOfArms:
    """Single-arm-memory ε-best arm ("game of arms", Jin et al. ICML 2021), then commit.

    The king starts with a budget of ``king_budget/ε²`` pulls, which grows by ``1/ε²`` per arriving
    arm. A challenger is sampled in rounds ℓ = 0, 1, … of ``2^ℓ/ε²`` pulls (charged to the king's
    budget) and discarded as soon as its round mean is at most ``king_mean − ε/5``; if a round
    would overdraw the budget, the challenger becomes king and is sampled ``king_budget/ε²`` times
    to set its reference mean. Exploration stops at ``sample_cap · K/ε²`` pulls.

    Deviation: the authors' experiment code raises the new king's reference with the true gap; we
    use the new king's own empirical mean (no oracle), and we drop the fractional-stream fallback.
    Memory 2: the king and the arriving arm.
    """

    eps_scale: float = 1.0
    king_budget: float = 1.2
    sample_cap: float = 10.0

    def memory_needed(self, n_arms: int, horizon: int) -> int:
        """The king and the arriving arm."""
        return 2

    def __post_init__(self) -> None:
        check_in_range(self.eps_scale, "eps_scale", "GameOfArms", 0.0)
        check_in_range(self.king_budget, "king_budget", "GameOfArms", 0.0)
        check_in_range(self.sample_cap, "sample_cap", "GameOfArms", 0.0)

    def run(self, stream: ArmStream) -> StreamResult:
        """Run on a stream (memory >= 2) and commit."""
        eps = epsilon_for(stream.n_arms, stream.horizon, self.eps_scale)
        unit = 1.0 / eps**2
        cap = self.sample_cap * stream.n_arms * unit
        king = stream.read()
        if king is None:
            return StreamResult(None, 0, stream.peak_memory)
        king_mean = _sample_mean(stream, king, math.ceil(self.king_budget * unit))
        budget = self.king_budget * unit
        max_round = 0
        while stream.remaining > 0 and stream.used < cap:
            arm = stream.read()
            if arm is None:
                break
            budget += unit
            rnd = 0
            while True:
                size = (2**rnd) * unit
                if budget < size:  # the challenger outlasted the king
                    stream.discard(king)
                    king = arm
                    king_mean = _sample_mean(stream, king, math.ceil(self.king_budget * unit))
                    budget = self.king_budget * unit
                    break
                mean = _sample_mean(stream, arm, math.ceil(size))
                budget -= size
                if not mean > king_mean - eps / 5:  # NaN (budget spent) also discards
                    stream.discard(arm)
                    break
                rnd += 1
            max_round = max(max_round, rnd)
        return _finish(stream, king, stream.used, max_round + 1)


@dataclass(frozen=True)
class StreamingRun:
    """One simulated run: an algorithm on an instance, with its regret (a convenience for experiments)."""

    regret: float
    result: StreamResult
    pulls: np.ndarray = field(repr=False)


def simulate(algorithm: StreamingAlgorithm, means: np.ndarray, horizon: int, seed: SeedLike = None) -> StreamingRun:
    """Run ``algorithm`` on a fresh `ArmStream` whose memory is the algorithm's declared need.

    Args:
        algorithm: A streaming algorithm config.
        means: Arm means in stream order, shape ``(K,)``.
        horizon: ``T``.
        seed: Seed or Generator for the pulls.

    Returns:
        The pseudo-regret, the algorithm's result and the pull counts.
    """
    if not (callable(getattr(algorithm, "memory_needed", None)) and callable(getattr(algorithm, "run", None))):
        raise InvalidParameterError("algorithm", "simulate", "a streaming algorithm (memory_needed and run)",
                                    algorithm)
    k = ArmStream(means, 1, 1).n_arms  # validates the means before the algorithm sizes its memory
    stream = ArmStream(means, horizon, algorithm.memory_needed(k, horizon), seed)
    result = algorithm.run(stream)
    return StreamingRun(stream.pseudo_regret(), result, stream.pulls())
