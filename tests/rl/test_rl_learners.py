"""The learners' shared contract: fit / act / save / load, configs, logs, seeding, and small sanity checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.problems.safe_control import PointRobot, collect_dataset
from guardopt.rl import (
    BC,
    CPQ,
    FISOR,
    IQL,
    BCConfig,
    CPQConfig,
    FISORConfig,
    IQLConfig,
    IQLLag,
    IQLLagConfig,
    evaluate,
    reward_range,
)

DATA = collect_dataset("PointRobot", episodes=12, seed=0)
LEARNERS = [
    (BC, BCConfig(steps=5, hidden=16)),
    (BC, BCConfig(mode="safe", cost_limit=2.0, steps=5, hidden=16)),
    (CPQ, CPQConfig(steps=5, hidden=16, cost_limit=2.0)),
    (IQL, IQLConfig(steps=5, hidden=16)),
    (IQLLag, IQLLagConfig(steps=5, hidden=16, cost_limit=2.0)),
    (FISOR, FISORConfig(steps=5, hidden=16, candidates=4, constraint="h", with_ablation=True)),
]


@pytest.mark.parametrize(("cls", "cfg"), LEARNERS, ids=lambda x: getattr(x, "__name__", type(x).__name__))
def test_fit_act_save_load_round_trip(cls, cfg, tmp_path):
    state = torch.random.get_rng_state()
    learner = cls(cfg).fit(DATA, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's global torch state is untouched
    assert learner.log and learner.log[-1]["step"] == cfg.steps - 1
    obs = DATA["observations"][:7]
    a = learner.act(obs, seed=1)
    assert a.shape == (7, 2) and np.all(np.abs(a) <= 1.0)
    assert learner.act(obs[0], seed=1).shape == (2,)
    back = cls.load(learner.save(tmp_path / "m.pt"))
    np.testing.assert_allclose(back.act(obs, seed=1), a, atol=1e-6)
    again = cls(cfg).fit(DATA, seed=3)  # the same seed gives the same policy
    np.testing.assert_allclose(again.act(obs, seed=1), a, atol=1e-6)


def test_act_refuses_bad_observations_and_unfitted_learners():
    learner = BC(BCConfig(steps=2, hidden=8)).fit(DATA)
    with pytest.raises(InputDataError, match="'obs'"):
        learner.act(np.zeros((2, 3)))
    with pytest.raises(InputDataError, match="finite"):
        learner.act(np.full((2, 5), np.nan))
    with pytest.raises(InvalidParameterError, match="fit"):
        BC().act(np.zeros((1, 5)))


def test_config_errors_have_the_library_shape():
    with pytest.raises(InvalidParameterError, match=r"The 'steps' parameter of FISORConfig must be"):
        FISORConfig(steps=0)
    with pytest.raises(InvalidParameterError, match="'mode'"):
        BCConfig(mode="some")
    with pytest.raises(InvalidParameterError, match="'expectile'"):
        IQLConfig(expectile=1.5)
    with pytest.raises(InvalidParameterError, match="'selection'"):
        FISORConfig(selection="best")
    with pytest.raises(InvalidParameterError, match="'config'"):
        FISOR(BCConfig())


def test_fisor_needs_h_when_asked_and_actions_in_range():
    d = {k: v for k, v in DATA.items() if k != "h"}
    with pytest.raises(InputDataError, match="'h'"):
        FISOR(FISORConfig(steps=1, constraint="h")).fit(d)
    d = dict(DATA)
    d["actions"] = d["actions"] * 3
    with pytest.raises(InputDataError, match="actions"):
        BC(BCConfig(steps=1)).fit(d)


def test_fisor_variants_share_networks_and_refuse_training_settings():
    f = FISOR(FISORConfig(steps=3, hidden=16, candidates=4, constraint="h", with_ablation=True)).fit(DATA)
    obs = DATA["observations"][:5]
    assert f.variant(selection="random").actor is f.actor
    assert f.ablation().actor is f.ablation_actor and not f.ablation().config.feasibility
    np.testing.assert_allclose(f.variant(candidates=4).act(obs, seed=2), f.act(obs, seed=2))
    with pytest.raises(InvalidParameterError, match="changes"):
        f.variant(steps=10)
    assert f.feasibility_value(obs).shape == (5,)
    with pytest.raises(GuardoptError):
        FISOR(FISORConfig(steps=1, hidden=8, constraint="h")).fit(DATA).ablation()


def test_fisor_selection_picks_the_candidate_with_the_lowest_qh():
    f = FISOR(FISORConfig(steps=3, hidden=16, candidates=8, constraint="h")).fit(DATA)
    obs = torch.as_tensor(f._norm_t(torch.as_tensor(DATA["observations"][:4], dtype=torch.float32)))
    gen = torch.Generator().manual_seed(5)
    chosen = f._act(obs, gen)
    rep = obs.repeat_interleave(8, 0)
    cand = f.actor.sample(rep, torch.Generator().manual_seed(5))
    qh = f.q_h_targ(torch.cat([rep, cand], -1)).max(0).values.view(4, 8)
    q_chosen = f.q_h_targ(torch.cat([obs, chosen], -1)).max(0).values
    torch.testing.assert_close(q_chosen, qh.min(1).values)


def test_bc_learns_a_deterministic_behaviour():
    rng = np.random.default_rng(0)
    obs = rng.uniform(-1, 1, (600, 2))
    act = np.tanh(obs @ np.array([[1.0], [-0.5]]))
    d = {"observations": obs, "actions": act, "rewards": np.zeros(600), "costs": np.zeros(600),
         "next_observations": obs, "terminals": np.zeros(600), "timeouts": (np.arange(600) % 50) == 49}
    bc = BC(BCConfig(steps=300, hidden=32, lr=3e-3, batch_size=128)).fit(d)
    assert np.mean((bc.act(obs) - act) ** 2) < 0.01


def test_evaluate_reports_dsrl_normalized_numbers():
    env_cls = PointRobot
    stop = lambda obs: np.zeros((len(obs), 2))  # noqa: E731 - v starts ≤ 0.5 and brakes: little progress
    ev = evaluate(stop, lambda n: env_cls(num_envs=n), 6, seed=0, reward_range=reward_range(DATA),
                  cost_limit=env_cls.cost_limit)
    assert ev.returns.shape == (6,) and np.all(ev.costs == 0)
    lo, hi = reward_range(DATA)
    np.testing.assert_allclose(ev.normalized_rewards, (ev.returns - lo) / (hi - lo))
    assert ev.cost == 0.0
