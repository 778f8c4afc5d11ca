"""CSL-UCB: a causal bandit on a linear SEM with sub-graph learning, a tailored UCB and change detection.

Reference: Y. Peng, Y. Zhang, U. Mitra, "Asymmetric Graph Error Control with Low Complexity in Causal
Bandits", arXiv 2408.11240 (IEEE Trans. Signal Processing 73:1792-1807, 2025). Each round the
learner `ask`s for an intervention ``a ∈ {0, 1}^N`` (an action index, node ``n`` on bit ``n``) and is
`tell`-ed every node's value; the reward is the last node. Nothing about the graph is known except
the node order's reward node, the exogenous means ``ν`` and the noise level ``σ``.

The loop, with the defaults of the authors' code (`CSLUCBConfig`):

1. **Warm-up.** Uniformly random actions until every node has ``n_warmup = 20`` samples in both
   regimes (since its window start).
2. **Sub-graph learning** (`guardopt.bandits.causal.structure.learn_subgraph`), per regime, from at
   most ``n_max = 100`` samples per node: regression, a KSG mutual-information score and DAG repair
   that deletes edges only until the graph is acyclic (asymmetric error control). Relearned every
   ``graph_every = 50`` rounds; weights refitted by least squares every ``weights_every = 20``.
3. **UCB.** For every action, ``μ̂_a = [(I - B̂_aᵀ)^{-1} ν]_{N-1}`` and the width

       U_a = ‖Ĉ_a[:, N-1]‖ · sqrt(4 Σ_n sqrt(p_n (p_n + 2)) · λ_max(σ² (X_paᵀ X_pa)^{-1}) · log(2N/δ)) · ‖Ĉ_aᵀ ν‖,

   ``Ĉ_a = (I - B̂_a)^{-1}``, ``p_n`` the learned parent count of node ``n`` in the regime ``a_n`` and
   ``X_pa`` its regression design; play ``argmax μ̂_a + c_t U_a`` with ``c_0 = 0.5 |max μ̂| / max U``
   (at the first fit) and the cosine schedule ``c_t = c_0 (1 + cos(π (t - t_i) / (T - t_i))) / 2``,
   ``t_i`` the latest window start. The chosen action is held between refits, as in the authors' code.
4. **Change detection** (``detect_changes=True``), from round ``detect_after = 200``: for each node
   and regime, the likelihood-ratio statistic (`guardopt.bandits.causal.change.change_statistic`) of
   its last ``change_window = 20`` residuals; above ``change_threshold = 2`` that node's window
   restarts (fresh samples only), warm-up resumes until it has ``n_warmup`` samples, and the
   sub-graphs are relearned.

Deviations from the authors' code (read, not copied; it has no licence): ``c_0`` uses ``|max μ̂|``
(their ``max μ̂`` makes the bonus negative, i.e. pessimistic, when every estimated reward is
negative); a restarted window holds only rounds after the detection (theirs also takes the detecting
round, while its sample counter starts at zero); a relearn whose windows did not change reuses the
previous sub-graphs (the same result, computed once). Where a version of the authors' code uses
``c_0 = 0.2 max μ̂ / max U`` without the ``/2``, we follow the version with 0.5 and ``/2``. The steps and
defaults above were checked against the authors' code and the abstract; the full paper text was not
available to us, so a detail that only the paper states may differ.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from guardopt.bandits.causal.change import change_statistics
from guardopt.bandits.causal.sem import action_bits, action_weights, sem_means
from guardopt.bandits.causal.structure import Subgraph, fit_weights, learn_subgraph, window_rows
from guardopt.core.errors import (
    GuardoptError,
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_bool,
    check_in_range,
    check_int,
)
from guardopt.core.optimizer import OptimizerBase
from guardopt.core.problem import ProblemSpec
from guardopt.core.seeding import SeedLike, make_rng
from guardopt.core.space import Choice, Integer, Params
from guardopt.core.trial import Trial, TrialState

__all__ = ["CSLUCB", "CSLUCBConfig", "CSLUCBOptimizer", "ucb_widths", "width_terms"]

MAX_NODES = 12


@dataclass(frozen=True)
class CSLUCBConfig:
    """Settings of `CSLUCB` (defaults: the authors' code).

    Attributes:
        horizon: ``T``, the number of rounds planned (the cosine schedule ends there).
        n_warmup: Samples per node and regime before the first fit (``N_ES``).
        n_max: Samples per node and regime that sub-graph learning and weight fits use.
        graph_every: Rounds between sub-graph relearns (``F_graph``).
        weights_every: Rounds between weight refits and UCB updates (``F_est``).
        k_neighbors: KSG neighbours.
        mi_weight: ``w`` of the edge score ``Î - w log|b̂|``.
        delta: Confidence level ``δ`` of the width's ``log(2N/δ)``.
        coef_scale: ``c_0 = coef_scale · |max μ̂| / max U`` (0 switches exploration off).
        noise_mean: The exogenous mean ``ν`` of every node (known; the paper: 1).
        noise_std: The exogenous standard deviation ``σ`` (known; the paper: 1).
        detect_changes: Run the change detector (the paper's non-stationary variant).
        change_window: Residuals per node and regime the detector looks at.
        change_threshold: Detection threshold on the statistic (``inf``: never fires).
        detect_after: First round at which the detector runs.
        seed: Seed of the warm-up draws.
    """

    horizon: int = 1000
    n_warmup: int = 20
    n_max: int = 100
    graph_every: int = 50
    weights_every: int = 20
    k_neighbors: int = 5
    mi_weight: float = 1.0
    delta: float = 0.05
    coef_scale: float = 0.5
    noise_mean: float = 1.0
    noise_std: float = 1.0
    detect_changes: bool = False
    change_window: int = 20
    change_threshold: float = 2.0
    detect_after: int = 200
    seed: int | None = None

    def __post_init__(self) -> None:
        owner = "CSLUCBConfig"
        check_int(self.horizon, "horizon", owner, low=1)
        check_int(self.n_warmup, "n_warmup", owner, low=2)
        check_int(self.n_max, "n_max", owner, low=self.n_warmup)
        check_int(self.graph_every, "graph_every", owner, low=1)
        check_int(self.weights_every, "weights_every", owner, low=1)
        check_int(self.k_neighbors, "k_neighbors", owner, low=1, high=self.n_warmup - 1)
        check_in_range(self.mi_weight, "mi_weight", owner, 0.0, math.inf, low_open=False)
        check_in_range(self.delta, "delta", owner, 0.0, 1.0)
        check_in_range(self.coef_scale, "coef_scale", owner, 0.0, math.inf, low_open=False)
        check_in_range(self.noise_mean, "noise_mean", owner)
        check_in_range(self.noise_std, "noise_std", owner, 0.0, math.inf)
        check_bool(self.detect_changes, "detect_changes", owner)
        check_int(self.change_window, "change_window", owner, low=2)
        check_in_range(self.change_threshold, "change_threshold", owner, 0.0, math.inf, high_open=False)
        check_int(self.detect_after, "detect_after", owner, low=0)
        if self.seed is not None:
            check_int(self.seed, "seed", owner, low=0)


def width_terms(X: np.ndarray, actions: np.ndarray, graphs: tuple[Subgraph, Subgraph], starts: np.ndarray,
                n_max: int, noise_std: float) -> np.ndarray:
    """Per node and regime, ``sqrt(p (p + 2)) · λ_max(σ² (X_paᵀ X_pa)^{-1})``, shape ``(2, N)``.

    ``X``, ``actions`` ``(T, N)``; ``starts`` ``(2, N)``; a node without learned parents contributes 0;
    a singular design contributes ``+inf`` (nothing is known about that weight).
    """
    n = X.shape[1]
    out = np.zeros((2, n))
    for r in (0, 1):
        adj = graphs[r].adjacency
        for node in range(n):
            parents = np.flatnonzero(adj[:, node])
            if parents.size == 0:
                continue
            rows = window_rows(actions, node, r, int(starts[r, node]), n_max)
            design = X[np.ix_(rows, parents)]
            lam_min = float(np.linalg.eigvalsh(design.T @ design)[0]) if rows.size else 0.0
            p = parents.size
            out[r, node] = math.sqrt(p * (p + 2)) * (noise_std**2 / lam_min if lam_min > 1e-12 else math.inf)
    return out


def ucb_widths(bits: np.ndarray, terms: np.ndarray, B: np.ndarray, BI: np.ndarray, noise_mean: np.ndarray,
               delta: float) -> np.ndarray:
    """The tailored width ``U_a`` of every action row of ``bits`` ``(A, N)``, shape ``(A,)`` (see module doc)."""
    n = B.shape[0]
    s = terms[bits, np.arange(n)[None, :]].sum(axis=1)  # Σ_n term[a_n, n]
    with np.errstate(invalid="ignore", over="ignore"):
        sv = np.sqrt(4.0 * s * math.log(2.0 * n / delta))
    Ba = action_weights(bits, B, BI)
    try:
        C = np.linalg.inv(np.eye(n)[None] - Ba)  # Ĉ_a = (I - B̂_a)^{-1}
    except np.linalg.LinAlgError:
        return np.full(bits.shape[0], math.inf)
    mu = np.einsum("aij,i->aj", C, noise_mean)  # Ĉ_aᵀ ν
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(np.linalg.norm(C[:, :, -1], axis=1) * sv * np.linalg.norm(mu, axis=1))


class CSLUCB:
    """The CSL-UCB learner: `ask` an action index, `tell` the node values it produced.

    Args:
        n_nodes: ``N ≥ 2`` (``2^N`` actions; at most 12); node ``N - 1`` is the reward.
        config: `CSLUCBConfig`.
        rng: Seed or Generator of the warm-up draws (default: ``config.seed``).

    Example:
        >>> from guardopt.problems.linear_sem import LinearSEMBandit
        >>> env = LinearSEMBandit.random(3, seed=0)
        >>> bandit = CSLUCB(3, CSLUCBConfig(horizon=200, seed=0))
        >>> rng = np.random.default_rng(1)
        >>> for t in range(200):
        ...     a = bandit.ask()
        ...     bandit.tell(a, env.sample(a, rng))
        >>> bandit.n_rounds
        200
    """

    def __init__(self, n_nodes: int, config: CSLUCBConfig | None = None, rng: SeedLike = None) -> None:
        self.n_nodes = check_int(n_nodes, "n_nodes", "CSLUCB", low=2, high=MAX_NODES)
        self.config = config if config is not None else CSLUCBConfig()
        if not isinstance(self.config, CSLUCBConfig):
            raise InvalidParameterError("config", "CSLUCB", "a CSLUCBConfig", self.config)
        self._rng = make_rng(self.config.seed if rng is None else rng, "CSLUCB")
        n = self.n_nodes
        self.bits = action_bits(n)
        self._nu = np.full(n, float(self.config.noise_mean))
        self._X = np.empty((256, n))
        self._A = np.empty((256, n), dtype=np.int8)
        self._t = 0
        self._starts = np.zeros((2, n), dtype=int)
        self._counts = np.zeros((2, n), dtype=int)
        self._pending = np.ones((2, n), dtype=bool)
        self._graphs: tuple[Subgraph, Subgraph] | None = None
        self._graph_keys: list[tuple[Any, ...] | None] = [None, None]
        self._B = np.zeros((n, n))
        self._BI = np.zeros((n, n))
        self._fitted = False
        self._mu = np.full(self.bits.shape[0], np.nan)
        self._U = np.full(self.bits.shape[0], np.nan)
        self._coef0: float | None = None
        self._coef = 0.0
        self._held: int | None = None
        self._structure_round: int | None = None
        self.changes: list[tuple[int, int, int]] = []  # (round, regime, node) of every detection
        # the change detector's windows: the last rounds of each (regime, node), kept as rounds are told
        self._recent: list[list[deque[int]]] = [[deque(maxlen=self.config.change_window) for _ in range(n)]
                                                for _ in (0, 1)]

    # ------------------------------------------------------------------ read-only state
    @property
    def n_rounds(self) -> int:
        """Rounds told so far."""
        return self._t

    @property
    def n_actions(self) -> int:
        """``2^N``."""
        return int(self.bits.shape[0])

    @property
    def in_warmup(self) -> bool:
        """Whether the next action is a warm-up draw (some node-regime has fewer than ``n_warmup`` samples)."""
        return bool(self._counts.min() < self.config.n_warmup)

    @property
    def estimated_rewards(self) -> np.ndarray:
        """``μ̂_a`` of every action at the last refit, shape ``(2^N,)`` (NaN before the first)."""
        return self._mu.copy()

    @property
    def widths(self) -> np.ndarray:
        """``U_a`` of every action at the last refit, shape ``(2^N,)``."""
        return self._U.copy()

    @property
    def coefficient(self) -> float:
        """The exploration coefficient ``c_t`` of the last refit."""
        return self._coef

    @property
    def graphs(self) -> tuple[Subgraph, Subgraph] | None:
        """The learned (observational, interventional) sub-graphs, or None before the first fit."""
        return self._graphs

    @property
    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """The current weight estimates ``(B̂, B̂I)``, each ``(N, N)`` (copies)."""
        return self._B.copy(), self._BI.copy()

    @property
    def structure_round(self) -> int | None:
        """The round by which every node-regime window first held ``n_max`` samples (None until then).

        Sub-graph learning never uses a sample beyond its window, so this is the number of rounds of
        data the structure was learned from.
        """
        return self._structure_round

    def structure_rounds(self) -> np.ndarray:
        """The rounds whose samples the current sub-graphs and weights are learned from, sorted.

        The union over nodes and regimes of the learning windows (the first ``n_max`` rounds of each
        window); its size is the number of samples the structure cost.
        """
        _, A = self._data()
        rows = [window_rows(A, node, r, int(self._starts[r, node]), self.config.n_max)
                for r in (0, 1) for node in range(self.n_nodes)]
        return np.unique(np.concatenate(rows)) if rows else np.zeros(0, dtype=int)

    def scores(self) -> np.ndarray | None:
        """``μ̂_a + c_t U_a`` of every action at the last refit, or None before the first."""
        if not self._fitted:
            return None
        u = np.where(np.isnan(self._U), np.inf, self._U)
        # an unknown width is optimism about the unknown (+inf bonus), unless exploration is off
        bonus = np.where(np.isinf(u), np.inf if self._coef > 0 else 0.0, self._coef * np.where(np.isinf(u), 0.0, u))
        s = self._mu + bonus
        return np.where(np.isnan(s), -np.inf, s)

    # ------------------------------------------------------------------ the loop
    def ask(self) -> int:
        """The next action index in ``[0, 2^N)``."""
        cfg = self.config
        t = self._t
        if cfg.detect_changes and self._fitted and t > cfg.detect_after:
            self._detect(t)
        if self.in_warmup:
            return int(self._rng.integers(self.n_actions))
        pending = bool(self._pending.any())
        if pending or self._graphs is None or t % cfg.graph_every == 0:
            self._learn_graphs()
        if pending or not self._fitted or t % cfg.weights_every == 0:
            self._refit(t)
            self._pending[:] = False
        assert self._held is not None
        return self._held

    def tell(self, action: object, nodes: object) -> None:
        """Record one round: the action index played and every node's value, shape ``(N,)``.

        Raises:
            InputDataError: ``action`` is not an index of this bandit, or ``nodes`` is not ``N``
                finite numbers (a round with a missing node value cannot be used, and is refused
                rather than guessed).
        """
        if isinstance(action, bool) or not isinstance(action, (int, np.integer)) or not 0 <= action < self.n_actions:
            raise InputDataError(f"The 'action' argument of CSLUCB.tell must be an action index in "
                                 f"[0, {self.n_actions - 1}]. Got {action!r} instead.")
        x = as_float_array(nodes, "nodes", "CSLUCB.tell", finite=True).reshape(-1)
        if x.shape != (self.n_nodes,):
            raise InputDataError(f"The 'nodes' argument of CSLUCB.tell must hold {self.n_nodes} node values. "
                                 f"Got shape {x.shape} instead.")
        if self._t == self._X.shape[0]:
            self._X = np.concatenate([self._X, np.empty_like(self._X)])
            self._A = np.concatenate([self._A, np.empty_like(self._A)])
        bits = self.bits[int(action)]
        self._X[self._t] = x
        self._A[self._t] = bits
        self._counts[bits, np.arange(self.n_nodes)] += 1
        for node, r in enumerate(bits):
            self._recent[r][node].append(self._t)
        self._t += 1
        if self._structure_round is None and self._counts.min() >= self.config.n_max:
            self._structure_round = self._t

    # ------------------------------------------------------------------ internals
    def _data(self) -> tuple[np.ndarray, np.ndarray]:
        return self._X[: self._t], self._A[: self._t]

    def _learn_graphs(self) -> None:
        cfg = self.config
        X, A = self._data()
        graphs: list[Subgraph | None] = list(self._graphs) if self._graphs is not None else [None, None]
        for r in (0, 1):
            key = (tuple(self._starts[r]), tuple(np.minimum(self._counts[r], cfg.n_max)))
            if graphs[r] is None or key != self._graph_keys[r]:
                graphs[r] = learn_subgraph(X, A, r, self._nu, starts=self._starts[r], n_max=cfg.n_max,
                                           k=cfg.k_neighbors, mi_weight=cfg.mi_weight)
                self._graph_keys[r] = key
        self._graphs = (graphs[0], graphs[1])  # type: ignore[assignment]

    def _refit(self, t: int) -> None:
        cfg = self.config
        X, A = self._data()
        assert self._graphs is not None
        self._B = fit_weights(X, A, 0, self._nu, self._graphs[0].adjacency, starts=self._starts[0], n_max=cfg.n_max)
        self._BI = fit_weights(X, A, 1, self._nu, self._graphs[1].adjacency, starts=self._starts[1],
                               n_max=cfg.n_max)
        self._mu = sem_means(self.bits, self._B, self._BI, self._nu)[:, -1]
        terms = width_terms(X, A, self._graphs, self._starts, cfg.n_max, cfg.noise_std)
        self._U = ucb_widths(self.bits, terms, self._B, self._BI, self._nu, cfg.delta)
        finite_u = self._U[np.isfinite(self._U)]
        if self._coef0 is None:
            max_u = float(finite_u.max()) if finite_u.size else 0.0
            max_mu = float(np.nanmax(self._mu)) if np.isfinite(self._mu).any() else 0.0
            self._coef0 = cfg.coef_scale * abs(max_mu) / max_u if max_u > 0 and math.isfinite(max_mu) else 0.0
            self._coef = self._coef0
        else:
            t_i = int(self._starts.max())
            span = cfg.horizon - t_i
            frac = min(max((t - t_i) / span, 0.0), 1.0) if span > 0 else 1.0
            self._coef = self._coef0 * (1.0 + math.cos(math.pi * frac)) / 2.0
        self._fitted = True
        scores = self.scores()
        assert scores is not None
        self._held = int(np.argmax(scores))

    def _detect(self, t: int) -> None:
        cfg = self.config
        X = self._X
        full = [(r, node) for r in (0, 1) for node in range(self.n_nodes)
                if len(self._recent[r][node]) == cfg.change_window]
        if not full:
            return
        rows = np.array([list(self._recent[r][node]) for r, node in full])  # (K, w)
        weights = np.stack([(self._BI if r else self._B)[:, node] for r, node in full])  # (K, N)
        nodes = np.array([node for _, node in full])
        # ε̂ = X_n - Σ_p B̂_r[p, n] X_p - ν_n on each window's rounds
        resid = X[rows, nodes[:, None]] - np.einsum("kwn,kn->kw", X[rows], weights) - self._nu[nodes][:, None]
        stats = change_statistics(resid, cfg.noise_std)
        for (r, node), stat in zip(full, stats):
            if stat > cfg.change_threshold and not self._pending[r, node]:
                self._starts[r, node] = t
                self._counts[r, node] = 0
                self._pending[r, node] = True
                self.changes.append((t, r, node))


class CSLUCBOptimizer(OptimizerBase):
    """CSL-UCB as a guardopt `Optimizer`: a `Study` over ``N`` binary intervention parameters.

    The space must hold ``N ≥ 2`` parameters, each a ``Choice`` of two options or an ``Integer`` with
    two values; parameter ``n`` (in the space's order) is node ``n``'s regime (its second option or
    larger value: intervene). The objective measures every node and returns them in the trial's user
    attributes as ``{"nodes": [x_0, ..., x_{N-1}]}`` (e.g. ``Observation(value=x[-1],
    user_attrs={"nodes": list(x)})``). A trial that FAILED, or lacks finite node values, teaches the
    learner nothing: it is counted by the study but never guessed into the model.

    Batches (``ask(n > 1)``): the learner's choice first, then the next-best actions by their upper
    confidence score (random distinct actions during the warm-up).
    """

    def __init__(self, config: CSLUCBConfig | None = None) -> None:
        self.config = config if config is not None else CSLUCBConfig()
        self._learner: CSLUCB | None = None
        self._names: list[str] = []
        self._options: list[list[Any]] = []

    def setup(self, problem: ProblemSpec) -> None:
        super().setup(problem)
        space = problem.space
        names = list(space.names)
        options: list[list[Any]] = []
        for name in names:
            param = space.params[name]
            if isinstance(param, Choice) and len(param.options) == 2:
                options.append(list(param.options))
            elif isinstance(param, Integer) and param.high - param.low == 1 and not param.log:
                options.append([param.low, param.high])
            else:
                raise InvalidParameterError("space", "CSLUCBOptimizer", "binary parameters only (a Choice of 2 "
                                            "options or an Integer with two values)", f"{name}: {param!r}")
        if not 2 <= len(names) <= MAX_NODES:
            raise InvalidParameterError("space", "CSLUCBOptimizer", f"between 2 and {MAX_NODES} parameters",
                                        len(names))
        self._names, self._options = names, options
        self._learner = CSLUCB(len(names), self.config)

    @property
    def learner(self) -> CSLUCB:
        """The underlying `CSLUCB`."""
        if self._learner is None:
            raise GuardoptError("CSLUCBOptimizer.setup(problem) must be called before ask().")
        return self._learner

    def _params(self, index: int) -> Params:
        bits = self.learner.bits[index]
        return {name: opts[int(b)] for name, opts, b in zip(self._names, self._options, bits)}

    def _index(self, params: Mapping[str, Any]) -> int | None:
        index = 0
        for n, (name, opts) in enumerate(zip(self._names, self._options)):
            if name not in params or params[name] not in opts:
                return None
            index |= opts.index(params[name]) << n
        return index

    def ask(self, n: int = 1, context: Mapping[str, Any] | None = None) -> list[Params]:
        n = self._check_n(n, "CSLUCBOptimizer")
        learner = self.learner
        chosen = [learner.ask()]
        scores = learner.scores()
        if scores is not None and not learner.in_warmup:
            for a in np.argsort(-scores, kind="stable"):
                if len(chosen) >= min(n, learner.n_actions):
                    break
                if int(a) not in chosen:
                    chosen.append(int(a))
        else:
            rest = [a for a in learner._rng.permutation(learner.n_actions).tolist() if a != chosen[0]]
            chosen += rest[: max(0, min(n, learner.n_actions) - 1)]
        while len(chosen) < n:  # more points than actions: repeats are unavoidable
            chosen.append(chosen[len(chosen) % learner.n_actions])
        return [self._params(a) for a in chosen]

    def tell(self, trial: Trial) -> None:
        learner = self.learner
        if trial.state is not TrialState.COMPLETE:
            return
        nodes = trial.user_attrs.get("nodes") if trial.user_attrs else None
        index = self._index(trial.params)
        if nodes is None or index is None:
            return
        try:
            learner.tell(index, nodes)
        except InputDataError:
            return  # non-finite or malformed measurements teach nothing (fail closed)
