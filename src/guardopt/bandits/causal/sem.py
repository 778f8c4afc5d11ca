"""Linear-SEM algebra shared by the causal bandits: action encoding and model-implied means.

An action ``a ∈ {0, 1}^N`` has index ``Σ_n a_n 2^n`` (node ``n`` on bit ``n``). Under ``a`` node ``n``
takes its incoming weights from ``BI[:, n]`` if ``a_n = 1`` else from ``B[:, n]`` (``B_a``), and with
exogenous means ``ν`` the node means are ``μ_a = (I - B_aᵀ)^{-1} ν`` (Peng, Zhang & Mitra, arXiv
2408.11240, eq. 1).
"""

from __future__ import annotations

import numpy as np

from guardopt.core.errors import check_int

#: Largest ``N`` of `action_bits` (``2^N`` actions).
MAX_ACTION_NODES = 20

__all__ = ["action_bits", "action_weights", "sem_means"]


def action_bits(n_nodes: int) -> np.ndarray:
    """Every action's regimes, shape ``(2^N, N)`` of 0/1 (row ``i``: ``a_n = (i >> n) & 1``); ``1 <= N <= 20``."""
    # At most 2^20 actions: beyond that the table alone (and every per-action solve) is out of reach.
    n_nodes = check_int(n_nodes, "n_nodes", "action_bits", low=1, high=MAX_ACTION_NODES)
    idx = np.arange(2**n_nodes)
    return ((idx[:, None] >> np.arange(n_nodes)[None, :]) & 1).astype(np.int8)


def action_weights(bits: np.ndarray, B: np.ndarray, BI: np.ndarray) -> np.ndarray:
    """``B_a`` for every action row of ``bits`` ``(A, N)``: shape ``(A, N, N)``."""
    return np.where(bits.astype(bool)[:, None, :], BI[None], B[None])


def sem_means(bits: np.ndarray, B: np.ndarray, BI: np.ndarray, noise_mean: np.ndarray) -> np.ndarray:
    """Node means ``μ_a = (I - B_aᵀ)^{-1} ν`` for every action row, shape ``(A, N)``.

    A singular ``I - B_a`` (impossible for an acyclic ``B_a``) gives NaN rows instead of raising.
    """
    Ba = action_weights(bits, B, BI)
    n = B.shape[0]
    lhs = np.eye(n)[None] - np.transpose(Ba, (0, 2, 1))
    rhs = np.broadcast_to(noise_mean, (Ba.shape[0], n))[..., None]
    try:
        return np.asarray(np.linalg.solve(lhs, rhs)[..., 0])
    except np.linalg.LinAlgError:
        out = np.full((Ba.shape[0], n), np.nan)
        for i in range(Ba.shape[0]):
            try:
                out[i] = np.linalg.solve(lhs[i], rhs[i, :, 0])
            except np.linalg.LinAlgError:
                pass
        return out
