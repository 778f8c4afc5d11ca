"""PPO and PPO-Lagrangian (`guardopt.align.ppo`): hand-computed GAE, surrogate, critic loss and multiplier steps."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from guardopt.align.model import TinyCausalLM, TinyLMConfig  # noqa: E402
from guardopt.align.multimodal import ImagePrefixLM  # noqa: E402
from guardopt.align.ppo import (  # noqa: E402
    LagrangeMultiplier,
    PPOConfig,
    PPOLagConfig,
    ValueModel,
    critic_loss,
    gae,
    kl_shaped_rewards,
    lagrange_step,
    lagrangian_advantages,
    ppo_actor_loss,
    ppo_train,
)
from guardopt.align.trainers import frozen_copy  # noqa: E402
from guardopt.core.errors import GuardoptError, InvalidParameterError  # noqa: E402

T = torch.tensor


def test_gae_matches_a_hand_computed_example() -> None:
    # δ2 = 1 − 0.4 = 0.6; δ1 = 0.4 − 0.2 = 0.2; δ0 = 0.2 − 0.5 = −0.3; A = δ + γλ·A_next with γ = 1, λ = 0.5.
    adv, ret = gae(T([[0.0, 0.0, 1.0]]), T([[0.5, 0.2, 0.4]]), T([[1.0, 1.0, 1.0]]), gamma=1.0, lam=0.5)
    assert adv.tolist()[0] == pytest.approx([-0.05, 0.5, 0.6], abs=1e-6)
    assert ret.tolist()[0] == pytest.approx([0.45, 0.7, 1.0], abs=1e-6)
    # λ = 1, γ = 1: the Monte Carlo return minus the value.
    adv1, _ = gae(T([[0.0, 0.0, 1.0]]), T([[0.5, 0.2, 0.4]]), T([[1.0, 1.0, 1.0]]), gamma=1.0, lam=1.0)
    assert adv1.tolist()[0] == pytest.approx([0.5, 0.8, 0.6], abs=1e-6)


def test_gae_skips_positions_off_the_mask() -> None:
    # A prompt position (mask 0) gets 0 and its huge value never leaks into the completion's advantages.
    adv, ret = gae(T([[0.0, 0.0, 1.0, 0.0]]), T([[9.0, 0.2, 0.4, 7.0]]), T([[0.0, 1.0, 1.0, 0.0]]), 1.0, 0.5)
    assert adv.tolist()[0] == pytest.approx([0.0, 0.5, 0.6, 0.0], abs=1e-6)
    assert ret.tolist()[0] == pytest.approx([0.0, 0.7, 1.0, 0.0], abs=1e-6)


def test_kl_shaped_rewards_put_the_score_on_the_last_completion_token() -> None:
    old, ref, mask = T([[-1.0, -1.0, -2.0]]), T([[-1.5, -1.0, -1.0]]), T([[0.0, 1.0, 1.0]])
    r = kl_shaped_rewards(T([2.0]), old, ref, mask, kl_coef=0.1, sign=-1.0)
    assert r.tolist()[0] == pytest.approx([0.0, 0.0, 2.1], abs=1e-6)
    c = kl_shaped_rewards(T([2.0]), old, ref, mask, kl_coef=0.1, sign=+1.0)
    assert c.tolist()[0] == pytest.approx([0.0, 0.0, 1.9], abs=1e-6)


def test_clipped_surrogate_value() -> None:
    # ratios 1.5, 0.5, 0.5 with advantages +1, +1, −1 and ε = 0.2: min terms 1.2, 0.5, −0.8; loss = −mean.
    old = T([[-1.0, -1.0, -1.0]])
    new = old + T([[math.log(1.5), math.log(0.5), math.log(0.5)]])
    loss = ppo_actor_loss(new, old, T([[1.0, 1.0, -1.0]]), T([[1.0, 1.0, 1.0]]), clip_eps=0.2)
    assert float(loss) == pytest.approx(-(1.2 + 0.5 - 0.8) / 3, abs=1e-6)
    # A masked-out token changes nothing.
    loss2 = ppo_actor_loss(torch.cat([new, T([[5.0]])], 1), torch.cat([old, T([[-5.0]])], 1),
                           T([[1.0, 1.0, -1.0, 100.0]]), T([[1.0, 1.0, 1.0, 0.0]]), clip_eps=0.2)
    assert float(loss2) == pytest.approx(float(loss), abs=1e-6)


def test_critic_loss_takes_the_worse_of_clipped_and_unclipped() -> None:
    # unclipped (1 − 2)² = 1; clipped V = 0.5 + 0.2 = 0.7 → (0.7 − 2)² = 1.69; ½·max = 0.845.
    assert float(critic_loss(T([[1.0]]), T([[0.5]]), T([[2.0]]), T([[1.0]]), 0.2)) == pytest.approx(0.845)


def test_lagrangian_advantage() -> None:
    assert lagrangian_advantages(T([1.0]), T([0.5]), 2.0).tolist() == pytest.approx([0.0])
    assert lagrangian_advantages(T([1.0]), T([-1.0]), 1.0).tolist() == pytest.approx([1.0])
    assert lagrangian_advantages(T([1.0]), T([3.0]), 0.0).tolist() == pytest.approx([1.0])


def test_lagrange_step_by_hand_and_its_bound() -> None:
    # log λ ← log λ + lr·λ·(J − d): λ = 10, J − d = 0.5, lr = 0.1 → log λ + 0.5.
    assert lagrange_step(math.log(10.0), 0.5, 0.0, 0.1) == pytest.approx(math.log(10.0) + 0.5)
    # Under the limit λ shrinks; the cap λ_max holds.
    assert lagrange_step(0.0, -1.0, 0.0, 0.1) == pytest.approx(-0.1)
    assert lagrange_step(math.log(19.0), 10.0, 0.0, 0.1, lambda_max=20.0) == pytest.approx(math.log(20.0))


def test_multiplier_waits_for_its_delay_averages_its_window_and_never_exceeds_its_bound() -> None:
    lm = LagrangeMultiplier(init=10.0, lr=0.1, limit=0.0, lambda_max=20.0, delay=1, window=4)
    assert lm.update([0.5, 0.5]) == pytest.approx(10.0)  # the delay: no step on the first update
    assert lm.update([0.5, 0.5]) == pytest.approx(10.0 * math.exp(0.5))  # J̄ = 0.5 over the window
    for _ in range(5):
        assert lm.update([3.0, 3.0]) <= 20.0 + 1e-9
    assert lm.value == pytest.approx(20.0)
    assert lm.mean_cost == pytest.approx(3.0)  # the window of 4 holds only the last costs
    frozen = LagrangeMultiplier(init=1.0, lr=0.0, limit=0.0, delay=0)
    assert frozen.update([100.0]) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [{"lambda_init": 30.0}, {"lambda_lr": -1.0}, {"cost_limit": math.nan},
                                 {"lambda_max": 0.0}, {"cost_window": 0}, {"clip_eps": 1.5}, {"gamma": 2.0},
                                 {"updates": -1}, {"minibatches": 1000}])
def test_configs_refuse_bad_values_by_name(bad: dict[str, float]) -> None:
    with pytest.raises(InvalidParameterError, match=next(iter(bad))):
        PPOLagConfig(**bad)


def test_config_error_message_shape() -> None:
    with pytest.raises(InvalidParameterError, match=r"The 'clip_eps' parameter of PPOConfig"):
        PPOConfig(clip_eps=1.5)


# ------------------------------------------------------------------------------------------ end to end

V = 5  # pad, bos, eos, "a", "b"


def _tiny(seed: int = 0) -> TinyCausalLM:
    return TinyCausalLM(TinyLMConfig(vocab_size=V, d_model=16, n_heads=2, n_layers=1, max_len=8), seed=seed)


def _reward_b(prompts, comps):  # 1 when the first token is "b" (id 4)
    return torch.tensor([float(bool(c) and c[0] == 4) for c in comps])


def test_ppo_raises_the_reward_of_a_one_token_task() -> None:
    torch.manual_seed(0)
    pol = _tiny()
    cfg = PPOConfig(updates=20, rollout_size=32, actor_lr=3e-2, critic_lr=3e-2, max_new=2, kl_coef=0.0)
    log = ppo_train(pol, frozen_copy(pol), ValueModel.from_policy(pol), [0], lambda p: [1], _reward_b, cfg, 0,
                    eos_id=2)
    first, last = log.rows[0]["reward"], sum(r["reward"] for r in log.rows[-5:]) / 5
    assert last > first + 0.3
    assert log.generations == 20 * 32
    assert {"reward", "kl", "lambda", "actor_loss", "reward_value_loss"} <= set(log.rows[-1])


def test_ppo_lagrangian_keeps_lambda_under_its_bound_and_trades_reward_for_cost() -> None:
    pol = _tiny()
    # Token "b" is rewarded and costed: with the limit 0.1 the multiplier rises and must stay ≤ λ_max.
    cfg = PPOLagConfig(updates=20, rollout_size=32, actor_lr=3e-2, critic_lr=3e-2, max_new=2, kl_coef=0.0,
                       cost_limit=0.1, lambda_init=1.0, lambda_lr=0.5, lambda_max=3.0, lambda_delay=0)
    log = ppo_train(pol, frozen_copy(pol), ValueModel.from_policy(pol), [0], lambda p: [1], _reward_b, cfg, 0,
                    eos_id=2, cost=_reward_b, cost_critic=ValueModel.from_policy(pol))
    lams = log.extra["lambda"]
    assert max(lams) <= 3.0 + 1e-9 and max(lams) > 1.0
    assert all("cost" in r and "cost_value_loss" in r and "episode_cost" in r for r in log.rows)


def test_the_image_reaches_the_policy() -> None:
    # The rewarded token is the one the image names; only an image-conditioned policy can learn both.
    torch.manual_seed(0)
    pol = ImagePrefixLM(_tiny(), d_image=2)

    def reward(prompts, comps):
        return torch.tensor([float(bool(c) and c[0] == (4 if p else 3)) for p, c in zip(prompts, comps)])

    cfg = PPOConfig(updates=40, rollout_size=32, actor_lr=1e-2, critic_lr=3e-2, max_new=2, kl_coef=0.0)
    log = ppo_train(pol, frozen_copy(pol), ValueModel.from_policy(pol), [0, 1], lambda p: [1], reward, cfg, 0,
                    eos_id=2, image=lambda p: [float(p), 1.0 - float(p)])
    assert sum(r["reward"] for r in log.rows[-5:]) / 5 > 0.8  # a text-only policy tops out at 0.5


def test_trainer_refuses_mismatched_arguments() -> None:
    pol = _tiny()
    with pytest.raises(GuardoptError, match="cost"):
        ppo_train(pol, frozen_copy(pol), ValueModel.from_policy(pol), [0], lambda p: [1], _reward_b,
                  PPOLagConfig(updates=1), 0, eos_id=2)
    with pytest.raises(GuardoptError, match="prompts"):
        ppo_train(pol, frozen_copy(pol), ValueModel.from_policy(pol), [], lambda p: [1], _reward_b,
                  PPOConfig(updates=1), 0, eos_id=2)
    with pytest.raises(GuardoptError, match="reward"):
        ppo_train(pol, frozen_copy(pol), ValueModel.from_policy(pol), [0], lambda p: [1],
                  lambda p, c: torch.full((len(c),), math.nan), PPOConfig(updates=1, max_new=2), 0, eos_id=2)
