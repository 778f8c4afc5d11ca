"""Baselines of the causal-bandit experiments: vanilla UCB, LinSEM-TS with the true parents, and a
full-graph explore-then-commit learner.

Reference: Peng, Zhang & Mitra, arXiv 2408.11240, which compares CSL-UCB with

* **vanilla UCB** over the ``2^N`` actions treated as unrelated arms (`VanillaUCB`): each arm once,
  then ``argmax mean + c sqrt(log t / n)``; in non-stationary runs the mean is over the arm's last
  ``window`` rewards (the authors' code: ``c = 1``, window 10);
* **LinSEM-TS** (Varici, Shanmugam, Sattigeri & Tajer, "Causal Bandits for Linear Structural
  Equation Models", JMLR 2023), which is told the **true parent sets** (`LinSEMTS`): per node and
  regime a Bayesian linear regression on the true parents, a Thompson draw of every weight, then
  the action whose drawn model has the largest reward mean. It is an upper reference, not a
  competitor: no learner of the structure can know the parents;
* a causal bandit **without sub-graph learning** (`FullGraphETC`), the role GOLEM-MAB plays in the
  paper: ``n_learn`` purely observational rounds and ``n_learn`` purely interventional rounds, a
  full graph per regime learned from them, then commitment to the best action of that model. GOLEM
  (equal-variance likelihood, weights cut at 0.3) needs TensorFlow; we learn each full graph under
  the same equal-variance assumption with `equal_variance_dag` (top-down ordering by conditional
  variance, least squares, the same 0.3 cut).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from guardopt.bandits.causal.sem import action_bits, sem_means
from guardopt.bandits.causal.structure import equal_variance_dag
from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_in_range, check_int
from guardopt.core.seeding import SeedLike, make_rng

__all__ = ["FullGraphETC", "LinSEMTS", "VanillaUCB"]


def _check_action(action: object, n_actions: int, owner: str) -> int:
    if isinstance(action, bool) or not isinstance(action, (int, np.integer)) or not 0 <= action < n_actions:
        raise InputDataError(f"The 'action' argument of {owner} must be an action index in [0, {n_actions - 1}]. "
                             f"Got {action!r} instead.")
    return int(action)


class VanillaUCB:
    """UCB over ``K`` unrelated arms, optionally with a sliding window per arm.

    Args:
        n_actions: ``K``.
        coef: ``c`` of the bonus ``c sqrt(log t / n)``.
        window: Mean over each arm's last ``window`` rewards (None: all of them).
    """

    def __init__(self, n_actions: int, coef: float = 1.0, window: int | None = None) -> None:
        self.n_actions = check_int(n_actions, "n_actions", "VanillaUCB", low=1)
        self.coef = check_in_range(coef, "coef", "VanillaUCB", 0.0, math.inf, low_open=False)
        self.window = None if window is None else check_int(window, "window", "VanillaUCB", low=1)
        self._n = np.zeros(self.n_actions)
        self._mean = np.zeros(self.n_actions)
        self._recent: list[deque[float]] = [deque(maxlen=self.window) for _ in range(self.n_actions)]
        self._t = 0

    def ask(self) -> int:
        """The next arm: an unplayed arm (lowest index first) while fewer than ``K`` rewards were told,
        then the largest upper confidence bound.

        Asked and told in turn, this plays each arm once, then by UCB (UCB1's initialisation). Rewards
        told for arms that were not asked can leave an arm unplayed after ``K`` rewards: from then on it
        is not preferred, its bound is that of one play with mean 0 (``c sqrt(log t)``).
        """
        if self._t < self.n_actions and (self._n == 0).any():
            return int(np.flatnonzero(self._n == 0)[0])
        ucb = self._mean + self.coef * np.sqrt(math.log(max(self._t, 1)) / np.maximum(self._n, 1))
        return int(np.argmax(ucb))

    def tell(self, action: object, reward: object) -> None:
        """Record a reward (finite) for an arm."""
        a = _check_action(action, self.n_actions, "VanillaUCB.tell")
        arr = as_float_array(reward, "reward", "VanillaUCB.tell", finite=True)
        if arr.size != 1:
            raise InputDataError(f"The 'reward' argument of VanillaUCB.tell must be one finite number. "
                                 f"Got shape {arr.shape} instead.")
        r = float(arr.reshape(-1)[0])
        self._t += 1
        self._n[a] += 1
        if self.window is None:
            self._mean[a] += (r - self._mean[a]) / self._n[a]
        else:
            self._recent[a].append(r)
            self._mean[a] = float(np.mean(self._recent[a]))


# Largest condition number of a posterior precision LinSEMTS accepts (float64 keeps ~4 digits beyond it).
MAX_PRECISION_CONDITION = 1e12


class LinSEMTS:
    """Thompson sampling on a linear SEM whose parent sets are known (an upper reference).

    Args:
        parents: True adjacency per regime, shape ``(2, N, N)`` of 0/1 (``[r, p, n] = 1`` for ``p → n``).
        noise_mean: ``ν`` of every node.
        noise_std: ``σ`` (also the posterior scale, as in Varici et al.).
        rng: Seed or Generator of the posterior draws.
    """

    def __init__(self, parents: object, noise_mean: float = 1.0, noise_std: float = 1.0, rng: SeedLike = None) -> None:
        pa = as_float_array(parents, "parents", "LinSEMTS", finite=True)
        if pa.ndim != 3 or pa.shape[0] != 2 or pa.shape[1] != pa.shape[2] or pa.shape[1] < 2:
            raise InputDataError(f"The 'parents' argument of LinSEMTS must have shape (2, N, N). Got {pa.shape}.")
        if not np.all((pa == 0) | (pa == 1)):
            raise InputDataError("The 'parents' argument of LinSEMTS must hold 0/1 entries (1 for an edge p -> n).")
        self.n_nodes = int(pa.shape[1])
        self.bits = action_bits(self.n_nodes)
        self._parents = [[np.flatnonzero(pa[r][:, n]) for n in range(self.n_nodes)] for r in (0, 1)]
        self._nu = np.full(self.n_nodes, check_in_range(noise_mean, "noise_mean", "LinSEMTS"))
        self._var = check_in_range(noise_std, "noise_std", "LinSEMTS", 0.0, math.inf) ** 2
        self._rng = make_rng(rng, "LinSEMTS")
        self._V = [[np.eye(p.size) for p in self._parents[r]] for r in (0, 1)]
        self._g = [[np.zeros(p.size) for p in self._parents[r]] for r in (0, 1)]

    def ask(self) -> int:
        """Draw every weight from its posterior and play the best action of the drawn model."""
        n = self.n_nodes
        W = np.zeros((2, n, n))
        for r in (0, 1):
            for node, pa in enumerate(self._parents[r]):
                if pa.size:
                    # b̃ ~ N(V^{-1} g, σ² V^{-1}): with V = L Lᵀ, b̃ = V^{-1} g + σ L^{-ᵀ} z
                    V = self._V[r][node]
                    L = np.linalg.cholesky(V)
                    mean = np.linalg.solve(V, self._g[r][node])
                    z = self._rng.standard_normal(pa.size)
                    W[r][pa, node] = mean + math.sqrt(self._var) * np.linalg.solve(L.T, z)
        mu = sem_means(self.bits, W[0], W[1], self._nu)[:, -1]
        return int(np.argmax(np.where(np.isnan(mu), -np.inf, mu)))

    def tell(self, action: object, nodes: object) -> None:
        """Update each node's posterior in the regime it was in."""
        a = _check_action(action, self.bits.shape[0], "LinSEMTS.tell")
        x = as_float_array(nodes, "nodes", "LinSEMTS.tell", finite=True).reshape(-1)
        if x.shape != (self.n_nodes,):
            raise InputDataError(f"The 'nodes' argument of LinSEMTS.tell must hold {self.n_nodes} values.")
        updates = []
        for node, r in enumerate(self.bits[a]):
            pa = self._parents[r][node]
            if pa.size:
                xp = x[pa]
                V = self._V[r][node] + np.outer(xp, xp)
                # ask() factors and solves V: values whose squares swamp the unit prior leave it
                # numerically singular in float64 (condition number near 1 / machine epsilon).
                if not np.linalg.cond(V) < MAX_PRECISION_CONDITION:
                    raise InputDataError(f"The 'nodes' argument of LinSEMTS.tell is too large in magnitude: node "
                                         f"{node}'s posterior precision would be numerically singular; rescale "
                                         "the values. Nothing was updated.")
                updates.append((r, node, V, self._g[r][node] + xp * (x[node] - self._nu[node])))
        for r, node, V, g in updates:  # all or nothing, so a refused round leaves the posterior as it was
            self._V[r][node] = V
            self._g[r][node] = g


class FullGraphETC:
    """Learn a full graph per regime from pure-regime rounds, then commit (no sub-graph learning).

    Args:
        n_nodes: ``N``.
        n_learn: Rounds of each pure action (all-observational, then all-interventional).
        noise_mean: ``ν``.
        threshold: Weight magnitude below which the full-graph learner cuts an edge (GOLEM's 0.3).
    """

    def __init__(self, n_nodes: int, n_learn: int = 300, noise_mean: float = 1.0, threshold: float = 0.3) -> None:
        self.n_nodes = check_int(n_nodes, "n_nodes", "FullGraphETC", low=2, high=12)
        self.n_learn = check_int(n_learn, "n_learn", "FullGraphETC", low=self.n_nodes + 1)
        self.bits = action_bits(self.n_nodes)
        self._nu = np.full(self.n_nodes, check_in_range(noise_mean, "noise_mean", "FullGraphETC"))
        self.threshold = check_in_range(threshold, "threshold", "FullGraphETC", 0.0, math.inf, low_open=False)
        self._X: list[np.ndarray] = []
        self.committed: int | None = None
        self.graphs: tuple[np.ndarray, np.ndarray] | None = None

    def ask(self) -> int:
        """Action 0 for ``n_learn`` rounds, all-ones for ``n_learn`` rounds, then the committed action."""
        t = len(self._X)
        if t < self.n_learn:
            return 0
        if t < 2 * self.n_learn:
            return self.bits.shape[0] - 1
        if self.committed is None:
            X = np.array(self._X)
            g0 = equal_variance_dag(X[: self.n_learn], self._nu, self.threshold)
            g1 = equal_variance_dag(X[self.n_learn:], self._nu, self.threshold)
            self.graphs = (g0.adjacency, g1.adjacency)
            mu = sem_means(self.bits, g0.weights, g1.weights, self._nu)[:, -1]
            self.committed = int(np.argmax(np.where(np.isnan(mu), -np.inf, mu)))
        return self.committed

    def tell(self, action: object, nodes: object) -> None:
        """Record a round (only the learning rounds are used)."""
        _check_action(action, self.bits.shape[0], "FullGraphETC.tell")
        x = as_float_array(nodes, "nodes", "FullGraphETC.tell", finite=True).reshape(-1)
        if x.shape != (self.n_nodes,):
            raise InvalidParameterError("nodes", "FullGraphETC.tell", f"{self.n_nodes} values", x.shape)
        if len(self._X) < 2 * self.n_learn:
            self._X.append(x)
