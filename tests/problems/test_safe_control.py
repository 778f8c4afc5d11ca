"""Safe-control environments: dynamics, cost signals, the avoidable set, scripted datasets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.problems.glucose import GlucoseInsulin, basal_bolus_action
from guardopt.problems.safe_control import (
    SAFE_ENVS,
    PointCircle,
    PointRobot,
    RiskyPointMass,
    VelocityPendulum,
    collect_dataset,
    make_safe_env,
)


def test_point_robot_one_step_by_hand():
    env = PointRobot(num_envs=1)
    env.reset(seed=0)
    env.state = np.array([[0.0, -2.0, 1.0, 0.0]])
    obs, r, term, trunc, info = env.step(np.array([[0.5, 1.0]]))
    # x += v cos θ dt = 0.1; v += 2·0.5·0.1 = 1.1; θ += 2·1·0.1 = 0.2
    np.testing.assert_allclose(env.state, [[0.1, -2.0, 1.1, 0.2]], atol=1e-12)
    np.testing.assert_allclose(obs, [[0.1, -2.0, 1.1, math.cos(0.2), math.sin(0.2)]], atol=1e-12)
    d0, d1 = math.hypot(3.0, 2.0), math.hypot(2.9, 2.0)
    assert r[0] == pytest.approx(d0 - d1)
    assert info["cost"][0] == 0.0 and not term[0] and not trunc[0]


def test_point_robot_cost_and_h_inside_and_outside_a_hazard():
    centre = PointRobot.hazards[0]
    inside = np.array([[centre[0] + 0.1, centre[1], 0.0, 0.0]])
    outside = np.array([[-3.0, -1.5, 0.0, 0.0]])
    assert PointRobot.constraint_value(inside)[0] == pytest.approx(centre[2] - 0.1)
    assert PointRobot.constraint_value(outside)[0] < 0
    env = PointRobot(num_envs=2)
    env.reset(seed=1)
    env.state = np.vstack([inside, outside])
    _, _, _, _, info = env.step(np.zeros((2, 2)))  # v = 0: nobody moves
    np.testing.assert_array_equal(info["cost"], [1.0, 0.0])
    assert info["h"][0] > 0 > info["h"][1]


def test_episodes_truncate_at_max_steps_and_reset_is_seeded():
    env = PointCircle(num_envs=3)
    a, _ = env.reset(seed=7)
    b, _ = PointCircle(num_envs=3).reset(seed=7)
    np.testing.assert_array_equal(a, b)
    for t in range(env.max_episode_steps):
        _, _, term, trunc, _ = env.step(np.zeros((3, 2)))
        assert trunc.all() == (t == env.max_episode_steps - 1)
        assert not term.any()


def test_point_circle_rewards_counter_clockwise_motion_and_flags_the_walls():
    env = PointCircle(num_envs=2)
    env.reset(seed=0)
    env.state = np.array([[0.0, 1.0, -1.0, 0.0], [0.0, 1.0, 1.0, 0.0]])  # CCW and CW at the top
    _, r, _, _, _ = env.step(np.zeros((2, 2)))
    assert r[0] > 0 > r[1]
    assert PointCircle.constraint_value(np.array([[0.8, 0.0, 0, 0]]))[0] == pytest.approx(0.1)


def test_velocity_pendulum_matches_gymnasium_dynamics_and_flags_speed():
    env = VelocityPendulum(num_envs=1)
    env.reset(seed=0)
    env.state = np.array([[0.3, 1.0]])
    _, r, _, _, info = env.step(np.array([[0.5]]))
    w = 1.0 + (15.0 * math.sin(0.3) + 3.0 * 1.0) * 0.05  # Pendulum-v1: 3g/(2l) sin θ + 3/(ml²) u
    np.testing.assert_allclose(env.state, [[0.3 + w * 0.05, w]], atol=1e-12)
    assert r[0] == pytest.approx(-(0.09 + 0.1 + 0.001) / 10.0)
    assert info["cost"][0] == 0.0
    env.state = np.array([[0.0, 4.5]])
    assert env.step(np.zeros((1, 1)))[4]["cost"][0] == 1.0


def test_risky_point_mass_cost_inside_the_disc():
    assert RiskyPointMass.constraint_value(np.array([[0.5, 0.5]]))[0] == pytest.approx(0.3)
    assert RiskyPointMass.constraint_value(np.array([[0.0, 0.0]]))[0] < 0
    env = RiskyPointMass(num_envs=4)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 2) and np.all(obs <= 1.0)


def test_avoidable_set_by_construction():
    cx, cy, rad = PointRobot.hazards[0]
    xs = np.array([cx, cx - rad - 0.05, -3.5])
    ys = np.array([cy])
    ok = PointRobot.avoidable_set(xs, ys, v=2.5, theta=0.0)[0]
    # inside: no; just in front of the hazard at full speed: no (braking takes 1.56 m); far away: yes
    assert ok.tolist() == [False, False, True]
    # standing still just outside the hazard is avoidable
    assert PointRobot.avoidable_set(np.array([cx - rad - 0.05]), ys, v=0.0, theta=0.0)[0, 0]


def test_bad_actions_and_names_raise_guardopt_errors():
    env = PointRobot(num_envs=2)
    env.reset(seed=0)
    with pytest.raises(InputDataError, match="'action'"):
        env.step(np.zeros((3, 2)))
    with pytest.raises(InputDataError, match="finite"):
        env.step(np.full((2, 2), np.nan))
    with pytest.raises(InvalidParameterError, match="'name'"):
        make_safe_env("Nope")
    with pytest.raises(GuardoptError, match="'num_envs'"):
        PointRobot(num_envs=0)


def test_gymnasium_spaces_when_installed():
    pytest.importorskip("gymnasium")
    env = make_safe_env("PointRobot", num_envs=3)
    assert env.action_space.shape == (3, 2) and env.observation_space.shape == (3, 5)


@pytest.mark.parametrize("name", sorted(SAFE_ENVS))
def test_collect_dataset_layout_and_cost_spread(name):
    data = collect_dataset(name, episodes=40, seed=0)
    env_cls = SAFE_ENVS[name]
    n = 40 * env_cls.max_episode_steps
    assert data["observations"].shape == (n, env_cls.obs_dim)
    assert data["actions"].shape == (n, env_cls.action_dim)
    assert np.abs(data["actions"]).max() <= 1.0
    for k in ("rewards", "costs", "terminals", "timeouts", "h", "care"):
        assert data[k].shape == (n,)
    assert data["timeouts"].sum() == 40
    # consecutive rows chain: next_observations[t] == observations[t + 1] inside an episode
    inner = ~data["timeouts"][:-1]
    np.testing.assert_allclose(data["next_observations"][:-1][inner], data["observations"][1:][inner])
    np.testing.assert_array_equal(data["costs"], (data["h"] > 0).astype(float))
    ep_cost = data["costs"].reshape(40, -1).sum(1)
    assert ep_cost.min() < env_cls.cost_limit < ep_cost.max()  # safe and unsafe episodes both present


def test_careless_behaviour_costs_more_than_careful_on_point_robot():
    data = collect_dataset("PointRobot", episodes=200, seed=3, random_fraction=0.0)
    care = data["care"].reshape(200, -1)[:, 0]
    cost = data["costs"].reshape(200, -1).sum(1)
    assert cost[care == 0.0].mean() > 2 * PointRobot.cost_limit > cost[care == 1.0].mean()


def test_glucose_meals_raise_and_insulin_lowers_glucose():
    env = GlucoseInsulin(num_envs=2)
    env.reset(seed=0)
    env.state[:, 0] = 120.0
    env.state[:, 7:] = 60.0  # the same meals for both patients
    env.t = GlucoseInsulin.meal_times[0]
    _, _, _, _, _ = env.step(np.array([[-1.0], [1.0]]))  # no insulin vs the maximum bolus
    for _ in range(3):
        env.step(np.array([[-1.0], [-1.0]]))
    g = env.state[:, 0]
    assert g[0] > 150.0 and g[1] < g[0]
    assert GlucoseInsulin.constraint_value(np.array([[60.0]]))[0] == pytest.approx(10.0)
    assert GlucoseInsulin.constraint_value(np.array([[260.0]]))[0] == pytest.approx(10.0)
    a = basal_bolus_action(np.array([[1.2, 0, 0, 0, 1, 0.6]]), np.array([1.0]))
    assert -1.0 <= a[0, 0] <= 1.0 and a[0, 0] > -1.0  # a 60 g meal gets a bolus
