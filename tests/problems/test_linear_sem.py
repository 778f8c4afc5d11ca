"""Random linear-SEM bandit instances: structure, expected rewards, sampling, the change event."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.problems.linear_sem import LinearSEMBandit, sem_action_bits


def test_random_instances_follow_the_paper() -> None:
    for seed in range(5):
        env = LinearSEMBandit.random(6, seed=seed)
        for W in (env.B, env.BI):
            assert np.all(np.tril(W) == 0)
            nz = np.abs(W[W != 0])
            assert np.all((nz >= 0.5) & (nz <= 2.0))
        assert all(not np.array_equal(env.B[:, j], env.BI[:, j]) for j in range(1, 6))
        assert env.n_actions == 64 and env.expected_rewards().shape == (64,)
    a, b = LinearSEMBandit.random(6, seed=3), LinearSEMBandit.random(6, seed=3)
    np.testing.assert_array_equal(a.B, b.B)


def test_expected_rewards_hand_computed() -> None:
    # 0 -> 1 (weight 2, observational; -1 interventional), nu = 1: E[X1] = 1 + b
    B = np.array([[0.0, 2.0], [0.0, 0.0]])
    BI = np.array([[0.0, -1.0], [0.0, 0.0]])
    env = LinearSEMBandit(B, BI, np.ones(2))
    # actions: 0 (none), 1 (node 0), 2 (node 1), 3 (both); node 0 has no parents
    np.testing.assert_allclose(env.expected_rewards(), [3.0, 3.0, 0.0, 0.0])
    assert env.optimal_value == 3.0 and list(env.optimal_actions) == [0, 1]
    assert env.is_optimal(1) and not env.is_optimal(2)
    np.testing.assert_array_equal(sem_action_bits(2), [[0, 0], [1, 0], [0, 1], [1, 1]])


def test_samples_have_the_expected_mean_and_respond_is_consistent() -> None:
    env = LinearSEMBandit.random(5, seed=1)
    a = env.optimal_action
    X = env.sample(a, seed=0, size=20000)
    np.testing.assert_allclose(X.mean(axis=0), env.expected_nodes()[a], atol=0.1)
    z = np.random.default_rng(2).standard_normal(5)
    x = env.respond(a, z)
    # X = B_aᵀ X + ε with ε = ν + z
    bits = (a >> np.arange(5)) & 1
    Ba = np.where(bits[None, :].astype(bool), env.BI, env.B)
    np.testing.assert_allclose(x, Ba.T @ x + 1.0 + z, atol=1e-10)


def test_change_event_moves_the_optimum() -> None:
    for seed in range(4):
        env = LinearSEMBandit.random(6, seed=seed)
        new = env.with_change(1, seed=seed)
        assert not any(new.is_optimal(int(a)) for a in env.optimal_actions)
        changed = [j for j in range(6) if not (np.array_equal(env.B[:, j], new.B[:, j])
                                               and np.array_equal(env.BI[:, j], new.BI[:, j]))]
        assert len(changed) == 1


def test_validation() -> None:
    with pytest.raises(InputDataError, match="'B'"):
        LinearSEMBandit(np.ones((2, 2)), np.zeros((2, 2)), np.ones(2))  # not upper triangular
    with pytest.raises(InputDataError, match="'BI'"):
        LinearSEMBandit(np.zeros((2, 2)), np.zeros((3, 3)), np.ones(2))
    with pytest.raises(InputDataError, match="'noise_mean'"):
        LinearSEMBandit(np.zeros((2, 2)), np.zeros((2, 2)), np.ones(3))
    with pytest.raises(InputDataError, match="'B'"):
        LinearSEMBandit(np.array([[0.0, math.nan], [0.0, 0.0]]), np.zeros((2, 2)), np.ones(2))
    with pytest.raises(InvalidParameterError, match="'noise_std'"):
        LinearSEMBandit(np.zeros((2, 2)), np.zeros((2, 2)), np.ones(2), noise_std=0.0)
    env = LinearSEMBandit.random(3, seed=0)
    with pytest.raises(InvalidParameterError, match="'action'"):
        env.sample(8)
    with pytest.raises(InvalidParameterError, match="'action'"):
        env.is_optimal(True)  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="'noise'"):
        env.respond(0, [0.0, 1.0])
    with pytest.raises(InvalidParameterError, match="'n_nodes'"):
        LinearSEMBandit.random(1)
