"""Random linear structural-equation (SEM) bandit instances with soft interventions and a change event.

The causal-bandit setting of Peng, Zhang & Mitra, "Asymmetric Graph Error Control with Low Complexity
in Causal Bandits" (arXiv 2408.11240; IEEE TSP 73, 2025). There are ``N`` nodes in topological order
``0, ..., N-1``; node ``N-1`` is the reward. An action ``a ∈ {0, 1}^N`` softly intervenes on the nodes
with ``a_n = 1``: node ``n`` then takes its incoming weights from the interventional matrix ``BI``
instead of the observational ``B``. With ``B_a[:, n] = BI[:, n] if a_n else B[:, n]``,

    X = B_aᵀ X + ε,   ε ~ N(ν, Σ),   so   X = (I - B_aᵀ)^{-1} ε  and  E[X_{N-1} | a] = [(I - B_aᵀ)^{-1} ν]_{N-1}.

Action indices ``0 .. 2^N - 1`` encode ``a`` in binary with node ``n`` on bit ``n``
(``a_n = (index >> n) & 1``); index 0 is the purely observational action and ``2^N - 1`` intervenes
on every node.

Random instances follow the paper's simulations: every forward edge ``p → n`` (``p < n``) exists with
probability 1/2, in each regime independently, with a random sign and a magnitude uniform on
[0.5, 2]; ``ν = 1``, ``Σ = I``; the draw is repeated until every non-root node's two weight columns
differ (so every intervention changes something). `LinearSEMBandit.with_change` redraws one weight
column used by the optimal action until that action is no longer optimal, the paper's change event.

This module holds the problem only: the method (`guardopt.bandits.causal`) never sees ``B``, ``BI``
or the expected rewards, only the sampled node values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_in_range, check_int
from guardopt.core.seeding import SeedLike, make_rng

__all__ = ["LinearSEMBandit", "sem_action_bits"]

#: Two actions whose expected rewards differ by less than this are both optimal (the paper's 1e-2).
OPTIMAL_TOLERANCE = 1e-2


def sem_action_bits(n_nodes: int) -> np.ndarray:
    """Every action as a 0/1 matrix of shape ``(2^N, N)``: row ``i`` has ``a_n = (i >> n) & 1``."""
    n = check_int(n_nodes, "n_nodes", "sem_action_bits", low=1, high=20)
    idx = np.arange(2**n)
    return ((idx[:, None] >> np.arange(n)[None, :]) & 1).astype(np.int8)


def _check_weights(w: object, name: str, n: int | None) -> np.ndarray:
    arr = as_float_array(w, name, "LinearSEMBandit", finite=True)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1 or (n is not None and arr.shape[0] != n):
        raise InputDataError(f"The {name!r} argument of LinearSEMBandit must be a square (N, N) matrix"
                             f"{'' if n is None else f' with N = {n}'}. Got shape {arr.shape} instead.")
    if np.any(np.tril(arr) != 0):
        raise InputDataError(f"The {name!r} argument of LinearSEMBandit must be strictly upper triangular "
                             "(nodes in topological order, B[p, n] = weight of the edge p -> n with p < n).")
    return arr


@dataclass(frozen=True)
class LinearSEMBandit:
    """A linear-SEM causal bandit with soft interventions; the reward is the last node.

    Args:
        B: Observational weights, shape ``(N, N)``, strictly upper triangular (``B[p, n]`` is the
            weight of ``p → n``).
        BI: Interventional weights, same shape.
        noise_mean: ``ν``, shape ``(N,)`` (the paper: all ones).
        noise_std: Standard deviation of every exogenous input (the paper: 1, i.e. ``Σ = I``).

    Example:
        >>> bandit = LinearSEMBandit.random(4, seed=0)
        >>> bandit.expected_rewards().shape
        (16,)
        >>> x = bandit.sample(bandit.optimal_action, seed=1)
        >>> x.shape
        (4,)
    """

    B: np.ndarray
    BI: np.ndarray
    noise_mean: np.ndarray
    noise_std: float = 1.0

    def __post_init__(self) -> None:
        B = _check_weights(self.B, "B", None)
        BI = _check_weights(self.BI, "BI", B.shape[0])
        nu = as_float_array(self.noise_mean, "noise_mean", "LinearSEMBandit", finite=True).reshape(-1)
        if nu.shape != (B.shape[0],):
            raise InputDataError(f"The 'noise_mean' argument of LinearSEMBandit must have shape ({B.shape[0]},). "
                                 f"Got {nu.shape} instead.")
        check_in_range(self.noise_std, "noise_std", "LinearSEMBandit", 0.0, math.inf)
        if B.shape[0] > 16:
            raise InvalidParameterError("B", "LinearSEMBandit", "at most 16 nodes (2^N actions are enumerated)",
                                        f"{B.shape[0]} nodes")
        for name, value in (("B", B), ("BI", BI), ("noise_mean", nu)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "noise_std", float(self.noise_std))
        object.__setattr__(self, "_means", self._compute_means())

    # ------------------------------------------------------------------ construction
    @classmethod
    def random(cls, n_nodes: int, seed: SeedLike = None, edge_prob: float = 0.5, weight_low: float = 0.5,
               weight_high: float = 2.0) -> LinearSEMBandit:
        """A random instance as in the paper's simulations (see the module docstring).

        Args:
            n_nodes: ``N`` (the paper's reproduction: 6 or 10); ``2^N`` actions.
            seed: Seed or Generator.
            edge_prob: Probability of each forward edge, per regime.
            weight_low, weight_high: Range of the weight magnitudes.
        """
        n = check_int(n_nodes, "n_nodes", "LinearSEMBandit.random", low=2, high=16)
        p = check_in_range(edge_prob, "edge_prob", "LinearSEMBandit.random", 0.0, 1.0, high_open=False)
        lo = check_in_range(weight_low, "weight_low", "LinearSEMBandit.random", 0.0, math.inf)
        hi = check_in_range(weight_high, "weight_high", "LinearSEMBandit.random", lo, math.inf, low_open=False)
        rng = make_rng(seed, "LinearSEMBandit.random")
        for _ in range(10_000):
            B, BI = (_random_columns(rng, n, p, lo, hi) for _ in range(2))
            if all(not np.array_equal(B[:, j], BI[:, j]) for j in range(1, n)):
                return cls(B, BI, np.ones(n))
        raise InvalidParameterError("edge_prob", "LinearSEMBandit.random",  # pragma: no cover - p = 0 only
                                    "large enough that interventions change every node", p)

    def with_change(self, n_columns: int = 1, seed: SeedLike = None) -> LinearSEMBandit:
        """The instance after the paper's change event: a used weight column is redrawn.

        Among the nodes whose regime is the same in every optimal action, ``n_columns`` are drawn;
        each gets a fresh random column (in the regime the optimal action uses), and the draw is
        repeated until no previously optimal action is still optimal.
        """
        k = check_int(n_columns, "n_columns", "LinearSEMBandit.with_change", low=1)
        rng = make_rng(seed, "LinearSEMBandit.with_change")
        means = self.expected_rewards()
        best = self.optimal_actions
        bits = sem_action_bits(self.n_nodes)[best]
        fixed = np.flatnonzero((bits.min(axis=0) == bits.max(axis=0)) & (np.arange(self.n_nodes) > 0))
        if fixed.size == 0:
            raise InvalidParameterError("self", "LinearSEMBandit.with_change",
                                        "an instance whose optimal actions agree on some non-root node", "none")
        for _ in range(10_000):
            B, BI = np.array(self.B), np.array(self.BI)
            for n in rng.choice(fixed, size=min(k, fixed.size), replace=False):
                col = _random_columns(rng, self.n_nodes, 0.5, 0.5, 2.0)[:, n]
                (BI if bits[0, n] else B)[:, n] = col
            changed = LinearSEMBandit(B, BI, self.noise_mean, self.noise_std)
            new = changed.expected_rewards()
            if np.max(new[best]) < np.max(new) - OPTIMAL_TOLERANCE and not np.allclose(new, means):
                return changed
        raise InvalidParameterError("self", "LinearSEMBandit.with_change",  # pragma: no cover
                                    "an instance whose optimum can be moved by one column", "none found")

    # ------------------------------------------------------------------ properties
    @property
    def n_nodes(self) -> int:
        """``N``."""
        return int(self.B.shape[0])

    @property
    def n_actions(self) -> int:
        """``2^N``."""
        return 2**self.n_nodes

    def _compute_means(self) -> np.ndarray:
        bits = sem_action_bits(self.n_nodes).astype(bool)
        Ba = np.where(bits[:, None, :], self.BI[None], self.B[None])  # (A, N, N), column n from the regime of a_n
        eye = np.eye(self.n_nodes)
        rhs = np.broadcast_to(self.noise_mean, (len(bits), self.n_nodes))[..., None]
        mu = np.linalg.solve(eye[None] - np.transpose(Ba, (0, 2, 1)), rhs)[..., 0]
        return np.asarray(mu)

    def expected_nodes(self) -> np.ndarray:
        """``E[X | a]`` for every action, shape ``(2^N, N)``."""
        return np.array(self._means)  # type: ignore[attr-defined]

    def expected_rewards(self) -> np.ndarray:
        """``E[X_{N-1} | a]`` for every action, shape ``(2^N,)``."""
        return np.array(self._means[:, -1])  # type: ignore[attr-defined]

    @property
    def optimal_value(self) -> float:
        """The largest expected reward."""
        return float(self.expected_rewards().max())

    @property
    def optimal_action(self) -> int:
        """The index of an optimal action (the first)."""
        return int(np.argmax(self.expected_rewards()))

    @property
    def optimal_actions(self) -> np.ndarray:
        """Indices of every action within `OPTIMAL_TOLERANCE` of the optimum."""
        r = self.expected_rewards()
        return np.flatnonzero(r > r.max() - OPTIMAL_TOLERANCE)

    def is_optimal(self, action: int) -> bool:
        """Whether ``action`` is within `OPTIMAL_TOLERANCE` of the optimum."""
        r = self.expected_rewards()
        return bool(r[self._check_action(action)] > r.max() - OPTIMAL_TOLERANCE)

    def parents(self, regime: int) -> np.ndarray:
        """True adjacency of one regime (0: observational, 1: interventional), shape ``(N, N)`` of 0/1."""
        if regime not in (0, 1):
            raise InvalidParameterError("regime", "LinearSEMBandit.parents", "0 or 1", regime)
        return ((self.BI if regime else self.B) != 0).astype(np.int8)

    # ------------------------------------------------------------------ sampling
    def _check_action(self, action: object) -> int:
        if isinstance(action, bool) or not isinstance(action, (int, np.integer)) or not 0 <= action < self.n_actions:
            raise InvalidParameterError("action", "LinearSEMBandit", f"an integer in [0, {self.n_actions - 1}]",
                                        action)
        return int(action)

    def respond(self, action: int, noise: object) -> np.ndarray:
        """Node values under ``action`` for given standard-normal draws ``noise`` ``(N,)``: shape ``(N,)``.

        ``ε = ν + σ·noise``; passing the same draws to several policies gives them common random numbers.
        """
        a = self._check_action(action)
        z = as_float_array(noise, "noise", "LinearSEMBandit.respond", finite=True).reshape(-1)
        if z.shape != (self.n_nodes,):
            raise InputDataError(f"The 'noise' argument of LinearSEMBandit.respond must have shape ({self.n_nodes},). "
                                 f"Got {z.shape} instead.")
        bits = ((a >> np.arange(self.n_nodes)) & 1).astype(bool)
        Ba = np.where(bits[None, :], self.BI, self.B)
        return np.asarray(np.linalg.solve(np.eye(self.n_nodes) - Ba.T, self.noise_mean + self.noise_std * z))

    def sample(self, action: int, seed: SeedLike = None, size: int | None = None) -> np.ndarray:
        """Node values under an action: shape ``(N,)``, or ``(size, N)`` when ``size`` is given."""
        a = self._check_action(action)
        rng = make_rng(seed, "LinearSEMBandit.sample")
        m = 1 if size is None else check_int(size, "size", "LinearSEMBandit.sample", low=1)
        bits = (a >> np.arange(self.n_nodes)) & 1
        Ba = np.where(bits[None, :].astype(bool), self.BI, self.B)
        eps = self.noise_mean + self.noise_std * rng.standard_normal((m, self.n_nodes))
        # X = B_aᵀ X + ε  ⇔  Xᵀ (I - B_a) = εᵀ for each row
        x = np.linalg.solve((np.eye(self.n_nodes) - Ba).T, eps.T).T
        return x[0] if size is None else x


def _random_columns(rng: np.random.Generator, n: int, p: float, lo: float, hi: float) -> np.ndarray:
    exist = rng.random((n, n)) < p
    sign = np.where(rng.random((n, n)) < 0.5, -1.0, 1.0)
    return np.triu(rng.uniform(lo, hi, size=(n, n)) * exist * sign, k=1)
