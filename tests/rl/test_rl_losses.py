"""Expectile and reachability targets, FISOR's weights, the VP schedule and the multipliers, by hand."""

from __future__ import annotations

import math

import pytest
import torch

from guardopt.core.errors import InvalidParameterError
from guardopt.rl.lagrangian import Lagrangian, PIDLagrangian
from guardopt.rl.losses import expectile_loss, fisor_weights, lower_expectile_loss, reachability_target, td_target
from guardopt.rl.nets import vp_betas


def test_expectile_loss_by_hand():
    diff = torch.tensor([2.0, -1.0])  # target − prediction
    # upper τ = 0.9: 0.9·4 for the positive residual, 0.1·1 for the negative → mean 1.85
    assert float(expectile_loss(diff, 0.9)) == pytest.approx((0.9 * 4 + 0.1 * 1) / 2)
    # lower: weights swap → (0.1·4 + 0.9·1) / 2
    assert float(lower_expectile_loss(diff, 0.9)) == pytest.approx((0.1 * 4 + 0.9 * 1) / 2)
    assert float(expectile_loss(diff, 0.5)) == pytest.approx(0.5 * (4 + 1) / 2)


def test_expectile_minimizer_is_above_the_mean_for_upper_and_below_for_lower():
    targets = torch.tensor([0.0, 0.0, 0.0, 1.0])
    grid = torch.linspace(-0.5, 1.5, 2001)
    up = [float(expectile_loss(targets - v, 0.9)) for v in grid]
    lo = [float(lower_expectile_loss(targets - v, 0.9)) for v in grid]
    v_up, v_lo = float(grid[int(torch.tensor(up).argmin())]), float(grid[int(torch.tensor(lo).argmin())])
    # closed form: the τ-expectile of {0,0,0,1} solves τ(1 − v) = (1 − τ)·3v → v = τ / (3 − 2τ)
    assert v_up == pytest.approx(0.9 / (3 - 1.8), abs=1e-3)
    assert v_lo == pytest.approx(0.1 / (3 - 0.2), abs=1e-3)
    assert v_lo < 0.25 < v_up


def test_reachability_target_by_hand():
    h = torch.tensor([-1.0, -1.0, 2.0, 0.5])
    v_next = torch.tensor([-3.0, 1.0, 0.0, 9.0])
    term = torch.tensor([0.0, 0.0, 0.0, 1.0])
    y = reachability_target(h, v_next, term, gamma=0.9)
    # (1−γ)h + γ max(h, V'): −0.1 − 0.9; −0.1 + 0.9; 0.2 + 1.8; terminal → h
    torch.testing.assert_close(y, torch.tensor([-1.0, 0.8, 2.0, 0.5]))


def test_td_target_by_hand():
    y = td_target(torch.tensor([1.0, 1.0]), torch.tensor([2.0, 2.0]), torch.tensor([0.0, 1.0]), 0.5)
    torch.testing.assert_close(y, torch.tensor([2.0, 1.0]))


def test_fisor_weights_by_hand():
    q_r = torch.tensor([1.0, 1.0, 0.0])
    v_r = torch.tensor([0.5, 0.5, 0.0])
    q_h = torch.tensor([-1.0, 0.5, 1.0])
    v_h = torch.tensor([-1.0, -1.0, 2.0])
    w = fisor_weights(q_r, v_r, q_h, v_h, reward_temperature=2.0, cost_temperature=1.0)
    # feasible state, safe action: exp(2·0.5); feasible state, unsafe action: 0; infeasible: exp(1·(2 − 1))
    torch.testing.assert_close(w, torch.tensor([math.e, 0.0, math.e]))
    w_ab = fisor_weights(q_r, v_r, q_h, v_h, 2.0, 1.0, feasibility=False)
    torch.testing.assert_close(w_ab, torch.tensor([math.e, math.e, 1.0]))
    clipped = fisor_weights(torch.tensor([100.0]), torch.tensor([0.0]), torch.tensor([-1.0]), torch.tensor([-1.0]),
                            3.0, 5.0)
    assert float(clipped) == 100.0


def test_vp_schedule_matches_the_formula():
    b = vp_betas(5)
    t = 3
    expected = 1 - math.exp(-0.1 / 5 - 0.5 * 19.9 * (2 * t - 1) / 25)
    assert float(b[t - 1]) == pytest.approx(expected, rel=1e-6)
    assert bool(torch.all(b[1:] > b[:-1]))


def test_lagrangian_steps_by_hand():
    lag = Lagrangian(limit=1.0, lr=0.5)
    assert lag.update(3.0) == pytest.approx(1.0)  # 0 + 0.5·2
    assert lag.update(0.0) == pytest.approx(0.5)  # 1 − 0.5·1
    assert lag.update(-10.0) == 0.0  # projected
    with pytest.raises(InvalidParameterError, match="'lr'"):
        Lagrangian(limit=1.0, lr=-1.0)
    with pytest.raises(InvalidParameterError, match="'cost'"):
        lag.update(float("nan"))


def test_pid_lagrangian_steps_by_hand():
    pid = PIDLagrangian(limit=1.0, kp=1.0, ki=0.5, kd=2.0, ema=0.0)
    # e = 2: P 2, I 1, D 0 (first step) → 3
    assert pid.update(3.0) == pytest.approx(3.0)
    # e = 3: P 3, I 1 + 1.5 = 2.5, D 2·(4 − 3) = 2 → 7.5
    assert pid.update(4.0) == pytest.approx(7.5)
    # e = −1: P −1, I 2.5 − 0.5 = 2, D 0 (falling) → 1
    assert pid.update(0.0) == pytest.approx(1.0)
    with pytest.raises(InvalidParameterError, match="'ema'"):
        PIDLagrangian(limit=1.0, ema=1.0)
