"""Regression tests of an audit of `guardopt.rl`: each one is a defect a user saw (a crash inside
numpy/torch, a silently wrong result, a flag or guard that accepted nonsense) and the library's
own error that replaces it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.problems.safe_control import PointRobot, RiskyPointMass, collect_dataset
from guardopt.rl import (
    BC,
    FISOR,
    OGSRL,
    STAC,
    BCConfig,
    DynamicsConfig,
    EnsemblePrediction,
    FISORConfig,
    GaussianEnsemble,
    OGSRLConfig,
    ReplayBuffer,
    SACConfig,
    STACConfig,
    combined_advantage,
    episode_sums,
    evaluate,
    gae,
    guarded_rollout,
    max_aleatoric,
    model_rollout,
    monte_carlo_value_bias,
    time_updates,
    uncertainty,
)
from guardopt.rl.model_uncertainty import ll_variance, subset
from guardopt.testing.contracts import assert_contract

torch.set_num_threads(1)
DATA = collect_dataset("PointRobot", episodes=4, seed=0)
FISOR_FIT = FISOR(FISORConfig(steps=2, hidden=8, candidates=2)).fit(DATA)


# --- offline learners ----------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["feasibility", "with_ablation"])
@pytest.mark.parametrize("value", [1, 0, 1.0, 0.0, "yes", None])
def test_fisor_flags_refuse_non_booleans(flag, value):
    # check_choice(v, (True, False)) let 1 and 0.0 through (1 == True)
    with pytest.raises(InvalidParameterError, match=f"'{flag}'"):
        FISORConfig(**{flag: value})


def test_fisor_refuses_non_finite_or_misshaped_h():
    bad = dict(DATA)
    bad["h"] = DATA["h"].copy()
    bad["h"][3] = np.nan  # used to train on NaN losses and return a "fitted" learner
    with pytest.raises(InputDataError, match="h"):
        FISOR(FISORConfig(steps=2, hidden=8, candidates=2, constraint="h")).fit(bad)
    column = dict(DATA)
    column["h"] = DATA["h"][:, None]  # (N, 1) broadcast against (B,) targets
    learner = FISOR(FISORConfig(steps=2, hidden=8, candidates=2, constraint="h")).fit(column)
    assert np.isfinite(learner.log[-1]["q_loss"])


def test_fisor_feasibility_value_checks_its_input():
    unfitted = FISOR(FISORConfig(steps=2, hidden=8, candidates=2))
    with pytest.raises(InvalidParameterError, match="'self'"):  # was AttributeError
        unfitted.feasibility_value(DATA["observations"][:2])
    for obs in (np.zeros((2, 1)), np.full((2, 5), np.nan), "a"):  # (2, 1) broadcast to garbage values
        with pytest.raises(InputDataError, match="'obs'"):
            FISOR_FIT.feasibility_value(obs)
    assert FISOR_FIT.feasibility_value(DATA["observations"][0]).shape == (1,)


def test_fit_refuses_data_that_overflows_float32():
    big = dict(DATA)
    big["observations"] = DATA["observations"] * 1e38
    big["next_observations"] = DATA["next_observations"] * 1e38
    with pytest.raises(InputDataError, match="observations"):  # was: NaN losses, NaN actions
        BC(BCConfig(steps=2, hidden=8)).fit(big)
    learner = BC(BCConfig(steps=2, hidden=8)).fit(DATA)
    with pytest.raises(InputDataError, match="'obs'"):
        learner.act(np.full(5, 1e39))
    with pytest.raises(InputDataError, match="too large"):
        GaussianEnsemble(DynamicsConfig(members=2, elites=1, hidden=8, max_epochs=1)).fit(
            {**big, "observations": DATA["observations"] * 1e300, "next_observations": DATA["observations"] * 1e300})


def test_load_of_a_missing_file_is_named(tmp_path):
    for cls in (BC, GaussianEnsemble):
        with pytest.raises(InvalidParameterError, match="'path'"):  # was FileNotFoundError
            cls.load(tmp_path / "missing.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(InvalidParameterError, match="'path'"):  # was AttributeError
        BC.load(tmp_path / "list.pt")


def test_evaluate_checks_arguments_before_running():
    def env(n):
        return PointRobot(num_envs=n)

    with pytest.raises(InvalidParameterError, match="'seed'"):  # was TypeError: None + int
        evaluate(FISOR_FIT, env, 2, None, (0.0, 1.0), 1.0)
    with pytest.raises(InvalidParameterError, match="'reward_range'"):
        evaluate(FISOR_FIT, env, 2, 0, 1.0, 1.0)
    with pytest.raises(InvalidParameterError, match="'policy'"):
        evaluate(3, env, 2, 0, (0.0, 1.0), 1.0)
    ran = []

    def counting(n):
        ran.append(n)
        return env(n)

    with pytest.raises(InvalidParameterError, match="'cost_limit'"):
        evaluate(FISOR_FIT, counting, 2, 0, (0.0, 1.0), -1.0)
    assert ran == []  # refused before any episode ran


def test_episode_helpers_name_missing_keys():
    with pytest.raises(InputDataError, match="nope"):  # was KeyError
        episode_sums(DATA, "nope")


# --- online agents -------------------------------------------------------------------------------

SMALL = {"hidden": 8, "batch_size": 8, "start_steps": 5, "log_every": 10}
STAC_FIT = STAC(STACConfig(**SMALL)).learn(RiskyPointMass(num_envs=1), steps=12, seed=0)


def test_buffer_smaller_than_a_minibatch_is_refused():
    # learn never trained (0 updates) and returned the agent as if trained
    with pytest.raises(InvalidParameterError, match="'buffer_size'"):
        SACConfig(batch_size=64, buffer_size=10)
    with pytest.raises(InvalidParameterError, match="'buffer_size'"):
        STACConfig(batch_size=64, buffer_size=10)


def test_q_value_and_q_std_check_the_actions():
    obs = np.array([[0.9, 0.9], [0.5, 0.2]])
    for actions in (np.zeros(3), np.zeros((2, 3))):  # numpy reshape / torch matmul errors before
        for fn in (STAC_FIT.q_value, STAC_FIT.q_std):
            with pytest.raises(InputDataError, match="'actions'"):
                fn(obs, actions)
    assert STAC_FIT.q_std(obs, np.zeros((2, 2))).shape == (2,)
    with pytest.raises(InvalidParameterError, match="'deterministic'"):
        STAC_FIT.act(obs, deterministic="no")


def test_learn_names_a_malformed_environment():
    class WrongShapes:
        num_envs, action_dim = 1, 2

        def reset(self, seed=None):
            return np.zeros((1, 2)), {}

        def step(self, a):
            return np.zeros((1, 2)), np.zeros(1), np.zeros(3, bool), np.zeros(1, bool), {}

    with pytest.raises(InputDataError, match="terminated"):
        STAC(STACConfig(**SMALL)).learn(WrongShapes(), steps=2)

    class Fine(WrongShapes):
        def step(self, a):
            return np.zeros((1, 2)), np.zeros(1), np.zeros(1, bool), np.zeros(1, bool), {}

    with pytest.raises(InvalidParameterError, match="'eval_fn'"):
        STAC(STACConfig(**SMALL)).learn(Fine(), steps=2, eval_fn=lambda agent: 3.0, eval_every=1)


def test_online_helpers_refuse_bad_arguments():
    with pytest.raises(InvalidParameterError, match="'obs_dim'"):
        ReplayBuffer(-1, 2, 10)
    with pytest.raises(InvalidParameterError, match="'buffer'"):
        time_updates([STAC_FIT], ReplayBuffer(2, 2, 10), 2, 1)
    with pytest.raises(InvalidParameterError, match="'env'"):
        monte_carlo_value_bias(STAC_FIT, None, 2, 1)
    with pytest.raises(InvalidParameterError, match="'seed'"):
        monte_carlo_value_bias(STAC_FIT, RiskyPointMass(num_envs=2), 2, 1, seed=-1)


# --- model-based pieces --------------------------------------------------------------------------

PEND = collect_dataset("VelocityPendulum", episodes=2, seed=0, random_fraction=1.0)
MODEL = GaussianEnsemble(DynamicsConfig(members=3, elites=2, hidden=8, max_epochs=1)).fit(PEND, seed=0)
S, A = PEND["observations"][:4], PEND["actions"][:4]
PRED = MODEL.predict(S, A)


def test_model_rollout_checks_policy_bounds_and_flags():
    rng = np.random.default_rng(0)
    with pytest.raises(InputDataError, match="'policy'"):  # was a numpy reshape error
        model_rollout(MODEL, lambda o: np.zeros(3), S, 2, "max_aleatoric", 1.0, rng)
    with pytest.raises(InvalidParameterError, match="'bounds'"):  # was IndexError
        model_rollout(MODEL, lambda o: np.zeros((len(o), 1)), S, 2, "max_aleatoric", 1.0, rng, bounds=(1,))
    with pytest.raises(InvalidParameterError, match="'with_reward'"):
        model_rollout(MODEL, lambda o: np.zeros((len(o), 1)), S, 2, "max_aleatoric", 1.0, rng, with_reward="yes")
    with pytest.raises(InvalidParameterError, match="'deterministic'"):
        MODEL.step(S, A, rng, deterministic="no")
    out = model_rollout(MODEL, lambda o: np.zeros((len(o), 1)), S, 2, "max_aleatoric", 1.0, rng,
                        bounds=(PEND["observations"].min(0), PEND["observations"].max(0)))
    assert np.isfinite(out["rewards"]).all()


def test_heuristics_refuse_negative_reward_std_and_non_integer_members():
    neg = EnsemblePrediction(PRED.next_obs_mean, PRED.next_obs_std, PRED.reward_mean, -PRED.reward_std, None, None)
    with pytest.raises(InputDataError, match="reward_std"):  # was accepted silently
        max_aleatoric(neg, with_reward=True)
    with pytest.raises(InvalidParameterError, match="'with_reward'"):
        uncertainty("ensemble_std", PRED, with_reward="no")
    for members in (2.0, [0.7]):  # 2.0 meant "member 2", 0.7 was truncated to member 0
        with pytest.raises(InvalidParameterError, match="'members'"):
            subset(PRED, members)
    assert subset(PRED, 2).next_obs_mean.shape[0] == 2 and subset(PRED, [2]).next_obs_mean.shape[0] == 1
    with pytest.raises(InputDataError, match="'next_obs'"):  # the message blamed 'reward'
        ll_variance(PRED, np.zeros(3), np.zeros(4), with_reward=True)


# --- OGSRL ---------------------------------------------------------------------------------------


class _BelowOne:
    def contains(self, obs, act):
        return obs[:, 0] <= 1.0


def _walk(obs, act, rng):
    return obs + act, (obs + act)[:, 0], np.zeros(len(obs))


def _ones(obs, rng):
    return np.ones((len(obs), 1))


R0 = np.zeros((2, 1))


@pytest.mark.parametrize("name", ["ood_penalty", "ood_cost"])
@pytest.mark.parametrize("value", [-5.0, np.nan, np.inf, "5"])
def test_guarded_rollout_refuses_a_penalty_that_is_not_one(name, value):
    # a negative ood_penalty made leaving the guardian a bonus (rewards +5)
    with pytest.raises(InvalidParameterError, match=f"'{name}'"):
        guarded_rollout(_ones, _walk, R0, 4, np.random.default_rng(0), _BelowOne(), **{name: value})


def test_guarded_rollout_checks_its_callables_and_fails_closed():
    rng = np.random.default_rng(0)
    cases = [
        ({"rng": None}, InvalidParameterError, "'rng'"),
        ({"guardian": object()}, InvalidParameterError, "'guardian'"),
        ({"repeat_ood_cost": "no"}, InvalidParameterError, "'repeat_ood_cost'"),
        ({"policy": lambda o, r: np.ones(3)}, InputDataError, "'policy'"),
        ({"policy": lambda o, r: np.full((len(o), 1), np.nan)}, InputDataError, "'policy'"),
        ({"model_step": lambda o, a, r: (o * np.nan, o[:, 0], np.zeros(len(o)))}, InputDataError, "model_step"),
        ({"model_step": lambda o, a, r: (np.zeros(5), np.zeros(5), np.zeros(5))}, InputDataError, "model_step"),
        ({"model_step": lambda o, a, r: (o, o[:, 0])}, InputDataError, "model_step"),
        # a guardian answering with scores (or NaN) instead of booleans read as "inside"
        ({"guardian": type("G", (), {"contains": lambda self, o, a: np.full(len(o), 0.3)})()}, InputDataError,
         "'guardian'"),
        ({"guardian": type("G", (), {"contains": lambda self, o, a: np.ones(5, bool)})()}, InputDataError,
         "'guardian'"),
    ]
    for changes, error, match in cases:
        kw = {"policy": _ones, "model_step": _walk, "initial_obs": R0, "horizon": 3, "rng": rng,
              "guardian": _BelowOne(), **changes}
        with pytest.raises(error, match=match):
            guarded_rollout(**kw)
    ro = guarded_rollout(_ones, _walk, np.zeros((1, 1)), 4, rng, _BelowOne(), ood_penalty=5.0)
    np.testing.assert_allclose(ro.rewards[:, 0], [1, 2, -5, -5])  # the docs example still holds


def test_gae_and_combined_advantage_check_shapes():
    with pytest.raises(InputDataError, match="'last_value'"):
        gae([[1.0, 1.0]], [[0.5, 0.5]], 0.5, 1.0, last_value=[1, 2, 3])
    with pytest.raises(InputDataError, match="'mask'"):
        combined_advantage(np.zeros((2, 2)), np.zeros((2, 2)), 1.0, mask=np.ones(3, bool))
    with pytest.raises(InputDataError, match="'adv_c'"):
        combined_advantage(np.zeros(2), np.zeros(3), 1.0)
    with pytest.raises(InputDataError, match="'adv_r'"):  # NaN advantages returned as NaN before
        combined_advantage(np.array([np.nan, 1.0]), np.zeros(2), 1.0)


def test_ogsrl_fit_and_act_check_their_arguments():
    cfg = OGSRLConfig(iterations=1, episodes=2, horizon=3, epochs=1, hidden=8, minibatch=8, warm_start_steps=2)
    init = np.zeros((4, 2))
    with pytest.raises(InputDataError, match="'reference_obs'"):  # silently reshaped to width 2 before
        OGSRL(cfg).fit(_walk, init, reference_obs=np.zeros((3, 4)))
    with pytest.raises(InvalidParameterError, match="'behaviour'"):  # rows 0 and 1 were read as the pair
        OGSRL(cfg).fit(_walk, init, behaviour=np.zeros((5, 2)))
    with pytest.raises(InputDataError, match="'behaviour'"):
        OGSRL(cfg).fit(_walk, init, behaviour=(np.zeros((5, 3)), np.zeros(5)))
    learner = OGSRL(cfg).fit(lambda o, a, r: (o, np.zeros(len(o)), np.zeros(len(o))), init)
    for call in (lambda: learner.act(init, seed=-1, deterministic=False),
                 lambda: learner.model_returns(_walk, init, seed=-1)):
        with pytest.raises(InvalidParameterError, match="'seed'"):  # numpy ValueError before
            call()
    with pytest.raises(InvalidParameterError, match="'deterministic'"):
        learner.act(init, deterministic="no")


def test_every_new_check_is_a_guardopt_error():
    out = assert_contract(FISOR_FIT.feasibility_value, np.zeros((2, 1)), names=("obs",))
    assert not out.ok and isinstance(out.error, GuardoptError)
