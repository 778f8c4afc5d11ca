"""Fail-closed contract of PPO-Lagrangian, the image wrapper and the guardrail: adversarial input gives a
finite result or a GuardoptError naming the parameter."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import example, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from guardopt.align.guardrail import GuardrailConfig  # noqa: E402
from guardopt.align.model import TinyCausalLM, TinyLMConfig  # noqa: E402
from guardopt.align.multimodal import ImagePrefixLM, check_images  # noqa: E402
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
)
from guardopt.testing.contracts import adversarial_floats, assert_contract, contract_settings  # noqa: E402

ROWS = st.lists(st.lists(adversarial_floats(), min_size=3, max_size=3), min_size=1, max_size=3)


def _t(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def _finite(x: torch.Tensor) -> bool:
    return bool(torch.isfinite(x).all())


@contract_settings()
@given(ROWS, ROWS)
def test_gae_is_finite_or_refuses(r, v) -> None:
    a, b = _t(r), _t(v)
    if a.shape != b.shape:
        b = torch.zeros_like(a) + b.flatten()[0]
    out = assert_contract(gae, a, b, torch.ones_like(a), names=("NaN", "one shape"))
    if out.ok:
        adv, ret = out.result
        # float32 may overflow on 1e308-scale inputs only if they passed the finiteness check; they cannot
        assert adv.shape == a.shape and ret.shape == a.shape


@contract_settings()
@given(ROWS, st.one_of(adversarial_floats(), st.just(0.2)))
def test_actor_and_critic_losses_are_finite_or_refuse(rows, eps) -> None:
    x = _t(rows).clamp(-50, 50) if _finite(_t(rows)) else _t(rows)
    m = torch.ones_like(x)
    out = assert_contract(ppo_actor_loss, x.clamp(-5, 0) if _finite(x) else x, torch.full_like(x, -1.0), x, m,
                          clip_eps=eps, names=("NaN", "clip_eps"))
    if out.ok:
        assert _finite(out.result)
    out = assert_contract(critic_loss, torch.zeros_like(x), torch.zeros_like(x), x, m, clip_value=eps,
                          names=("NaN", "clip_value"))
    if out.ok:
        assert math.isfinite(float(out.result))


@contract_settings()
@given(adversarial_floats(), ROWS, st.one_of(adversarial_floats(), st.just(0.02)))
def test_kl_shaped_rewards_are_finite_or_refuse(score, rows, beta) -> None:
    x = _t(rows)
    scores = torch.tensor([float(score)] * x.shape[0], dtype=torch.float64)
    out = assert_contract(kl_shaped_rewards, scores, x, x, torch.ones_like(x), beta,
                          names=("NaN", "kl_coef"))
    if out.ok:
        assert out.result.shape == x.shape


@contract_settings()
@given(adversarial_floats(), adversarial_floats(), adversarial_floats(), adversarial_floats(),
       st.one_of(st.none(), adversarial_floats()))
def test_lagrange_step_and_multiplier_fail_closed(log_lam, cost, limit, lr, lam_max) -> None:
    out = assert_contract(lagrange_step, log_lam, cost, limit, lr, lam_max,
                          names=("log_lambda", "mean_cost", "limit", "lr", "lambda_max"))
    if out.ok:
        assert not math.isnan(out.result)
        if lam_max is not None:
            assert out.result <= math.log(lam_max) + 1e-12
    mult = assert_contract(LagrangeMultiplier, 1.0, 0.1, limit, lam_max, 0, 4,
                           names=("limit", "lambda_max", "init"))
    if mult.ok:
        res = assert_contract(mult.result.update, [cost], names=("episode_costs", "lambda_max"))
        if res.ok:
            assert res.result >= 0 and (lam_max is None or res.result <= lam_max * (1 + 1e-12))


@contract_settings()
@given(ROWS, st.one_of(adversarial_floats(), st.just(1.0)))
@example(rows=[[1e-300, 1e-300, 1e-300]], lam=1e308)  # λ beyond float32 once made inf · 0 = NaN
def test_lagrangian_advantages_fail_closed(rows, lam) -> None:
    x = _t(rows)
    out = assert_contract(lagrangian_advantages, x, x, lam, names=("NaN", "lam"))
    if out.ok:
        assert _finite(out.result)


@contract_settings(scale=0.4)
@given(st.lists(st.lists(adversarial_floats(), min_size=0, max_size=4), min_size=0, max_size=3))
def test_image_binding_fails_closed(rows) -> None:
    model = ImagePrefixLM(TinyCausalLM(TinyLMConfig(vocab_size=6, d_model=8, n_heads=2, n_layers=1, max_len=8)),
                          d_image=3)
    try:
        imgs = np.asarray(rows, dtype=float)
    except ValueError:
        imgs = rows  # ragged: the wrapper must refuse it
    out = assert_contract(check_images, imgs, 3, "test", names=("images",))
    if out.ok:
        with model.conditioned(out.result):
            logits = model(torch.ones(out.result.shape[0], 4, dtype=torch.long))
        assert _finite(logits)


def test_image_wrapper_refuses_unbound_or_mismatched_calls() -> None:
    from guardopt.core.errors import GuardoptError

    model = ImagePrefixLM(TinyCausalLM(TinyLMConfig(vocab_size=6, d_model=8, n_heads=2, n_layers=1, max_len=8)),
                          d_image=3)
    ids = torch.ones(2, 3, dtype=torch.long)
    with pytest.raises(GuardoptError, match="no images"):
        model(ids)
    with pytest.raises(GuardoptError, match="images"), model.conditioned(torch.zeros(3, 3)):
        model(ids)
    with pytest.raises(GuardoptError, match="max_len"), model.conditioned(torch.zeros(2, 3)):
        model(torch.ones(2, 8, dtype=torch.long))  # 8 text tokens + 1 image > 8
    with pytest.raises(GuardoptError, match="backbone"):
        ValueModel(torch.nn.Linear(2, 2))


@contract_settings()
@given(st.dictionaries(st.sampled_from(["updates", "rollout_size", "clip_eps", "kl_coef", "cost_limit",
                                        "lambda_init", "lambda_lr", "lambda_max", "cost_window", "gae_lambda"]),
                       st.one_of(adversarial_floats(), st.integers(-3, 3), st.none(), st.text(max_size=2)),
                       max_size=3))
def test_configs_validate_on_creation(kw) -> None:
    out = assert_contract(PPOLagConfig, names=[*list(kw), "lambda_init"], **kw)
    if out.ok:
        cfg = out.result
        assert isinstance(cfg, PPOConfig) and cfg.generations >= 0
        assert cfg.lambda_max is None or cfg.lambda_init <= cfg.lambda_max


@contract_settings()
@given(st.dictionaries(st.sampled_from(["max_rounds", "flag_level", "fallback", "temperature", "max_new"]),
                       st.one_of(adversarial_floats(), st.integers(-2, 6), st.sampled_from(["last", "refuse", ""])),
                       max_size=3))
def test_guardrail_config_validates_on_creation(kw) -> None:
    out = assert_contract(GuardrailConfig, names=[*list(kw), "refusal"], **kw)
    if out.ok:
        assert 1 <= out.result.max_rounds and 1 <= out.result.flag_level <= 3
