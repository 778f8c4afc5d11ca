"""Fail-closed contract of `guardopt.rl` and the safe-control environments: adversarial data, configs,
observations and actions give a valid result or a GuardoptError naming the parameter."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from guardopt.problems.safe_control import PointRobot, collect_dataset
from guardopt.rl import (
    BC,
    BCConfig,
    FISORConfig,
    IQLLagConfig,
    Lagrangian,
    PIDLagrangian,
    normalized_cost,
    normalized_reward,
    safe_episodes,
    validate_dataset,
)
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    contract_settings,
)

DATA = collect_dataset("PointRobot", episodes=4, seed=0)
FITTED = BC(BCConfig(steps=2, hidden=8)).fit(DATA)
KEYS = ("observations", "actions", "rewards", "costs", "next_observations", "terminals", "timeouts")


def _finite_result(out: object) -> bool:
    return all(np.isfinite(np.asarray(v, dtype=float)).all() for v in dict(out).values()
               if np.asarray(v).dtype.kind in "biuf")


@contract_settings()
@given(st.sampled_from(KEYS), adversarial_arrays())
def test_validate_dataset_on_adversarial_columns(key, arr):
    data = dict(DATA)
    data[key] = arr
    out = assert_contract(validate_dataset, data, names=(f"dataset[{key!r}]", "dataset"), check=_finite_result)
    if out.ok:  # a replaced column that validates has the right length and is finite
        assert len(out.result[key]) == len(DATA["rewards"])


@contract_settings()
@given(adversarial_arrays(), st.one_of(adversarial_floats(), adversarial_scalars()))
def test_normalizations(values, limit):
    out = assert_contract(normalized_cost, values, limit, names=("costs", "cost_limit"))
    if out.ok:
        assert out.result.shape == np.asarray(values, dtype=float).shape
    assert_contract(normalized_reward, values, 0.0, limit, names=("returns", "r_min", "r_max"))


@contract_settings()
@given(st.one_of(adversarial_floats(), adversarial_scalars()))
def test_safe_episodes_limits(limit):
    assert_contract(safe_episodes, DATA, limit, names=("cost_limit", "BC-Safe"))


@contract_settings()
@given(st.lists(st.one_of(adversarial_floats(), adversarial_scalars()), min_size=1, max_size=5))
def test_multipliers_stay_finite_and_non_negative(costs):
    for lag in (Lagrangian(limit=1.0, lr=0.1), PIDLagrangian(limit=1.0)):
        for c in costs:
            out = assert_contract(lag.update, c, names=("cost",))
            if out.ok:
                assert np.isfinite(out.result) and 0.0 <= out.result <= lag.max_value


@contract_settings()
@given(st.sampled_from(["steps", "batch_size", "hidden", "lr", "gamma", "expectile", "candidates",
                        "cost_temperature"]), st.one_of(adversarial_floats(), adversarial_scalars()))
def test_fisor_config_fields(name, value):
    assert_contract(FISORConfig, **{name: value}, names=(name,))


@contract_settings()
@given(st.sampled_from(["cost_limit", "kp", "ki", "kd", "horizon", "temperature"]),
       st.one_of(adversarial_floats(), adversarial_scalars()))
def test_iql_lag_config_fields(name, value):
    assert_contract(IQLLagConfig, **{name: value}, names=(name,))


@contract_settings()
@given(adversarial_arrays())
def test_act_on_adversarial_observations(obs):
    def check(a: np.ndarray) -> bool:
        return bool(np.all(np.abs(a) <= 1.0))

    assert_contract(FITTED.act, obs, names=("obs",), check=check)


@contract_settings()
@given(adversarial_arrays())
def test_env_step_on_adversarial_actions(action):
    env = PointRobot(num_envs=2)
    env.reset(seed=0)

    def check(out: tuple) -> bool:
        obs, r, _, _, info = out
        return bool(np.isfinite(obs).all() and np.isfinite(r).all() and set(np.unique(info["cost"])) <= {0.0, 1.0})

    assert_contract(env.step, action, names=("action",), check=check)
