"""Sub-graph learning with asymmetric error control: regression, a kNN-MI edge score, DAG repair.

Peng, Zhang & Mitra (arXiv 2408.11240) learn, for each regime ``r`` (0: observational, 1:
interventional) and each node ``n``, the parents of ``n`` in that regime, using only the rounds in
which node ``n`` was in regime ``r`` (whatever the other nodes did). That is the *sub-graph*: one
column of ``B`` or ``BI`` learned from the samples that inform it, rather than a whole graph from
rounds in which every node shares one regime.

For one regime:

1. start from the complete directed graph (every other node is a candidate parent of ``n``);
2. for each node ``n``, regress ``X_n - ν_n`` by least squares on its candidate parents, over at
   most ``n_max`` of its samples in that regime (the first ones after the node's window start);
3. score each candidate edge ``p → n`` by ``Î_KSG(residual_n; X_p) - w·log|b̂_pn|`` (a residual
   that still depends on ``X_p``, or a tiny coefficient, marks a doubtful edge);
4. while the graph has a cycle (`networkx.is_directed_acyclic_graph`), delete the edge with the
   largest score and refit that node.

Edges are deleted only until the graph is acyclic: the learner keeps spurious edges (false positives
only add a near-zero weight to estimate) rather than risk dropping a true one (a false negative
biases every reward estimate downstream). That asymmetry is the paper's "graph error control".

networkx is imported inside the functions, so ``import guardopt.bandits`` needs numpy and scipy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from guardopt.bandits.causal.mutual_information import ksg_mutual_information
from guardopt.core.errors import (
    InputDataError,
    UnsupportedError,
    as_float_array,
    check_in_range,
    check_int,
    to_float,
)

__all__ = [
    "Subgraph",
    "edge_scores",
    "equal_variance_dag",
    "fit_weights",
    "is_dag",
    "learn_subgraph",
    "repair_to_dag",
    "window_rows",
]


@dataclass(frozen=True)
class Subgraph:
    """The learned structure of one regime.

    Attributes:
        adjacency: ``(N, N)`` 0/1, ``adjacency[p, n] = 1`` for a learned edge ``p → n``; acyclic.
        weights: ``(N, N)`` least-squares weights on the learned edges (0 elsewhere).
        n_samples: ``(N,)`` samples each node's regression used.
        deleted: How many edges the repair deleted.
    """

    adjacency: np.ndarray
    weights: np.ndarray
    n_samples: np.ndarray
    deleted: int


def is_dag(adjacency: np.ndarray) -> bool:
    """Whether a 0/1 adjacency matrix ``(N, N)`` is a directed acyclic graph (networkx)."""
    try:
        import networkx as nx
    except ImportError as exc:  # pragma: no cover - networkx ships with the 'causal' extra
        raise UnsupportedError("Sub-graph learning needs networkx: pip install 'guardopt[causal]'.") from exc

    adj = _check_adjacency(adjacency, "is_dag")
    return bool(nx.is_directed_acyclic_graph(nx.from_numpy_array(adj, create_using=nx.DiGraph)))


def _check_adjacency(adjacency: object, owner: str, n: int | None = None) -> np.ndarray:
    """A square (``(n, n)`` when given) finite adjacency matrix, or `InputDataError` (not networkx's error)."""
    adj = as_float_array(adjacency, "adjacency", owner, finite=True)
    if adj.ndim != 2 or adj.shape[0] != adj.shape[1] or (n is not None and adj.shape[0] != n):
        want = f"({n}, {n})" if n is not None else "(N, N)"
        raise InputDataError(f"The 'adjacency' argument of {owner} must be a square matrix of shape {want}. "
                             f"Got shape {adj.shape} instead.")
    return adj


def window_rows(actions: np.ndarray, node: int, regime: int, start: int = 0, n_max: int | None = None,
                last: bool = False) -> np.ndarray:
    """Rounds (row indices) at or after ``start`` in which ``node`` was in ``regime``.

    Args:
        actions: ``(T, N)`` 0/1 regimes of every round.
        node, regime: The node and its regime.
        start: First round of the node's window (after a detected change).
        n_max: Keep at most this many rows: the first ones (``last=False``, the paper's learning
            windows) or the most recent ones (``last=True``, the change detector's window).
    """
    shape = np.shape(actions)
    if (len(shape) != 2 or isinstance(node, bool) or not isinstance(node, (int, np.integer))
            or not 0 <= node < shape[1]):
        raise InputDataError(f"The 'node' argument of window_rows must be a column index of the (T, N) 'actions'. "
                             f"Got node={node!r} for actions of shape {shape}.")
    rows = start + np.flatnonzero(actions[start:, node] == regime)
    if n_max is not None and rows.size > n_max:
        rows = rows[-n_max:] if last else rows[:n_max]
    return rows


def _lstsq(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    if design.shape[1] == 0:
        return np.zeros(0)
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return np.asarray(coef)


def edge_scores(residual: np.ndarray, parents_values: np.ndarray, coefs: np.ndarray, k: int = 5,
                mi_weight: float = 1.0) -> np.ndarray:
    """Scores ``Î_KSG(residual; X_p) - w·log|b̂_p|`` of a node's candidate parents, shape ``(P,)``.

    Args:
        residual: The node's regression residual, shape ``(M,)``.
        parents_values: The candidates' values on the same rounds, shape ``(M, P)``.
        coefs: Their fitted weights, shape ``(P,)``; a zero weight scores ``+inf`` (deleted first).
        k: KSG neighbours.
        mi_weight: ``w``.
    """
    out = np.empty(coefs.size)
    for j in range(coefs.size):
        mag = abs(float(coefs[j]))
        penalty = math.inf if mag == 0.0 else -mi_weight * math.log(mag)
        if residual.size <= k:  # too few samples for a kNN estimate: the coefficient alone decides
            mi = 0.0
        else:
            mi = ksg_mutual_information(residual, parents_values[:, j], k=k)
        out[j] = mi + penalty
    return out


def repair_to_dag(adjacency: np.ndarray, rescore: Callable[[int, np.ndarray], np.ndarray]) -> tuple[np.ndarray, int]:
    """Delete the highest-scoring edges, one at a time, until the graph is acyclic.

    Args:
        adjacency: ``(N, N)`` 0/1 start graph (e.g. complete).
        rescore: ``(node, parents) -> scores`` for that node's current candidate parents (the
            node is refitted on them); higher means more doubtful.

    Returns:
        The acyclic adjacency and the number of deleted edges. Edges of an already acyclic graph are
        all kept: the repair deletes no more than acyclicity needs, one edge per step.
    """
    start = _check_adjacency(adjacency, "repair_to_dag")
    if not np.all((start == 0) | (start == 1)):
        raise InputDataError("The 'adjacency' argument of repair_to_dag must hold 0/1 entries.")
    adj = start.astype(np.int8)
    n = adj.shape[0]
    scores = np.full((n, n), -math.inf)

    def scored(node: int, parents: np.ndarray) -> np.ndarray:
        out = as_float_array(rescore(node, parents), "rescore", "repair_to_dag").reshape(-1)
        if out.size != parents.size:
            raise InputDataError(f"The 'rescore' function of repair_to_dag must return one score per parent "
                                 f"({parents.size} for node {node}). Got {out.size}.")
        return out

    for node in range(n):
        parents = np.flatnonzero(adj[:, node])
        if parents.size:
            scores[parents, node] = scored(node, parents)
    deleted = 0
    while not is_dag(adj):
        # NaN scores (never expected) are treated as the most doubtful: fail towards deletion
        masked = np.where(adj == 1, np.nan_to_num(scores, nan=math.inf), -math.inf)
        p, node = (int(i) for i in np.unravel_index(int(np.argmax(masked)), masked.shape))
        adj[p, node] = 0
        deleted += 1
        scores[:, node] = -math.inf
        parents = np.flatnonzero(adj[:, node])
        if parents.size:
            scores[parents, node] = scored(node, parents)
    return adj, deleted


def _check_data(X: object, actions: object, owner: str) -> tuple[np.ndarray, np.ndarray]:
    x = as_float_array(X, "X", owner, finite=True)
    a = as_float_array(actions, "actions", owner, finite=True)
    if x.ndim != 2 or a.shape != x.shape:
        raise InputDataError(f"The 'X' and 'actions' arguments of {owner} must both have shape (T, N). "
                             f"Got {x.shape} and {a.shape} instead.")
    if not np.all((a == 0) | (a == 1)):
        raise InputDataError(f"The 'actions' argument of {owner} must hold 0/1 regimes.")
    return x, a.astype(np.int8)


def _starts(starts: object, n: int, owner: str) -> np.ndarray:
    if starts is None:
        return np.zeros(n, dtype=int)
    s = as_float_array(starts, "starts", owner, finite=True).reshape(-1)
    if s.shape != (n,) or np.any(s < 0) or np.any(s != np.round(s)):
        raise InputDataError(f"The 'starts' argument of {owner} must be ({n},) non-negative integers.")
    return s.astype(int)


def _check_regime(regime: object, owner: str) -> None:
    if isinstance(regime, bool) or not isinstance(regime, (int, np.integer)) or regime not in (0, 1):
        raise InputDataError(f"The 'regime' argument of {owner} must be 0 or 1. Got {regime!r} instead.")


def learn_subgraph(X: object, actions: object, regime: int, noise_mean: object, *, starts: object = None,
                   n_max: int = 100, k: int = 5, mi_weight: float = 1.0) -> Subgraph:
    """Learn one regime's graph from sub-graph samples, with asymmetric error control.

    Args:
        X: Node values of every round, shape ``(T, N)``.
        actions: Regimes of every round, shape ``(T, N)`` of 0/1.
        regime: 0 (observational weights ``B``) or 1 (interventional weights ``BI``).
        noise_mean: ``ν``, shape ``(N,)``.
        starts: First round of each node's window, shape ``(N,)`` (default: all 0).
        n_max: Samples per node (the first ``n_max`` of its window).
        k: KSG neighbours.
        mi_weight: ``w`` of the score.

    Returns:
        The `Subgraph` (acyclic adjacency, weights refitted on the learned parents, sample counts).
    """
    owner = "learn_subgraph"
    x, a = _check_data(X, actions, owner)
    n = x.shape[1]
    nu = as_float_array(noise_mean, "noise_mean", owner, finite=True).reshape(-1)
    if nu.shape != (n,):
        raise InputDataError(f"The 'noise_mean' argument of {owner} must have shape ({n},). Got {nu.shape}.")
    _check_regime(regime, owner)
    n_max = check_int(n_max, "n_max", owner, low=1)
    k = check_int(k, "k", owner, low=1)
    mi_weight = check_in_range(mi_weight, "mi_weight", owner, 0.0, math.inf, low_open=False)
    st = _starts(starts, n, owner)
    rows = [window_rows(a, j, regime, int(st[j]), n_max) for j in range(n)]

    def rescore(node: int, parents: np.ndarray) -> np.ndarray:
        r = rows[node]
        design = x[np.ix_(r, parents)]
        target = x[r, node] - nu[node]
        coefs = _lstsq(design, target)
        return edge_scores(target - design @ coefs, design, coefs, k=k, mi_weight=mi_weight)

    complete = np.ones((n, n), dtype=np.int8) - np.eye(n, dtype=np.int8)
    adj, deleted = repair_to_dag(complete, rescore)
    weights = fit_weights(x, a, regime, nu, adj, starts=st, n_max=n_max)
    return Subgraph(adj, weights, np.array([r.size for r in rows]), deleted)


def fit_weights(X: np.ndarray, actions: np.ndarray, regime: int, noise_mean: np.ndarray, adjacency: np.ndarray,
                *, starts: np.ndarray | None = None, n_max: int = 100) -> np.ndarray:
    """Least-squares weights of one regime on given parent sets, shape ``(N, N)``.

    ``X``, ``actions`` ``(T, N)``; ``adjacency`` ``(N, N)`` 0/1; node ``n``'s column is fitted on its
    first ``n_max`` samples in ``regime`` after ``starts[n]`` (a node without samples keeps zeros).
    """
    owner = "fit_weights"
    X, actions = _check_data(X, actions, owner)
    n = X.shape[1]
    _check_regime(regime, owner)
    noise_mean = as_float_array(noise_mean, "noise_mean", owner, finite=True).reshape(-1)
    if noise_mean.shape != (n,):
        raise InputDataError(f"The 'noise_mean' argument of {owner} must have shape ({n},). Got {noise_mean.shape}.")
    adjacency = _check_adjacency(adjacency, owner, n)
    n_max = check_int(n_max, "n_max", owner, low=1)
    st = _starts(starts, n, owner)
    W = np.zeros((n, n))
    for node in range(n):
        parents = np.flatnonzero(adjacency[:, node])
        rows = window_rows(actions, node, regime, int(st[node]), n_max)
        if parents.size == 0 or rows.size == 0:
            continue
        W[parents, node] = _lstsq(X[np.ix_(rows, parents)], X[rows, node] - noise_mean[node])
    return W


def equal_variance_dag(X: object, noise_mean: object, threshold: float = 0.3) -> Subgraph:
    """A full graph from one regime's i.i.d. samples, for linear SEMs with equal noise variances.

    The full-graph learner of the baseline without sub-graph learning. With equal exogenous
    variances the linear-Gaussian SEM is identifiable (Peters & Bühlmann, Biometrika 2014); the
    top-down search of Chen, Drton & Wang (Biometrika 2019) orders the nodes by picking, at each step,
    the node with the smallest residual variance given those already ordered. Each node is then
    regressed (least squares, on ``X - ν``) on all its predecessors, and weights below
    ``threshold`` in magnitude are cut, as GOLEM's post-processing does (threshold 0.3), the learner
    the paper's full-graph baseline uses.

    Args:
        X: Samples, shape ``(M, N)``, all from one regime, finite, ``M > N``.
        noise_mean: ``ν``, shape ``(N,)``.
        threshold: Weights with ``|b| < threshold`` are not edges.

    Returns:
        A `Subgraph` (``n_samples`` is ``M`` for every node; ``deleted`` counts the cut weights).
    """
    owner = "equal_variance_dag"
    x = as_float_array(X, "X", owner, finite=True)
    if x.ndim != 2 or x.shape[0] <= x.shape[1] or x.shape[1] < 1:
        raise InputDataError(f"The 'X' argument of {owner} must have shape (M, N) with M > N. Got {x.shape}.")
    m, n = x.shape
    nu = as_float_array(noise_mean, "noise_mean", owner, finite=True).reshape(-1)
    if nu.shape != (n,):
        raise InputDataError(f"The 'noise_mean' argument of {owner} must have shape ({n},). Got {nu.shape}.")
    thr = to_float(threshold)  # NaN for a string or None: refused below
    if isinstance(threshold, bool) or not math.isfinite(thr) or thr < 0:
        raise InputDataError(f"The 'threshold' argument of {owner} must be a finite number >= 0. Got {threshold!r}.")
    y = x - nu  # X_n - ν_n = Σ_p b_pn X_p + noise: regress without intercept, on the raw parents
    order: list[int] = []
    left = list(range(n))
    W = np.zeros((n, n))
    while left:
        best, best_var, best_coef = left[0], math.inf, np.zeros(0)
        for j in left:
            design = x[:, order]
            coef = _lstsq(design, y[:, j])
            var = float(np.mean((y[:, j] - design @ coef) ** 2))
            if var < best_var:
                best, best_var, best_coef = j, var, coef
        W[order, best] = best_coef
        order.append(best)
        left.remove(best)
    cut = int(np.sum((np.abs(W) < thr) & (W != 0)))
    adj = (np.abs(W) >= thr).astype(np.int8)
    weights = np.zeros((n, n))
    for node in range(n):  # refit on the kept parents
        parents = np.flatnonzero(adj[:, node])
        if parents.size:
            weights[parents, node] = _lstsq(x[:, parents], y[:, node])
    return Subgraph(adj, weights, np.full(n, m), cut)
