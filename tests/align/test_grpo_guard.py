"""Flow-GRPO and GRPO-Guard objectives: hand-computed ratios, weights and losses; the trainer; contracts."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from guardopt.align.flow import FlowConfig, VelocityMLP, gaussian_step_logp  # noqa: E402
from guardopt.align.grpo_guard import (  # noqa: E402
    FlowGRPOConfig,
    GRPOGuardConfig,
    clipped_objective,
    flow_grpo_loss,
    grpo_guard_loss,
    normalized_log_ratio,
    ratio_bias,
    step_weights,
    train_flow_policy,
)
from guardopt.core.errors import InputDataError, InvalidParameterError  # noqa: E402
from guardopt.testing.contracts import adversarial_floats, assert_contract, contract_settings  # noqa: E402


def _old_policy_sample(seed: int = 0, t_steps: int = 3, n: int = 4) -> dict[str, torch.Tensor]:
    """Means of an old and a new policy, step stds, and next states drawn from the old policy."""
    g = torch.Generator().manual_seed(seed)
    mean_old = torch.randn((t_steps, n, 2), generator=g, dtype=torch.float64)
    mean = mean_old + 0.05 * torch.randn((t_steps, n, 2), generator=g, dtype=torch.float64)
    std = torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64)[:t_steps]
    eps = torch.randn((t_steps, n, 2), generator=g, dtype=torch.float64)
    x_next = mean_old + std[:, None, None] * eps
    return {"mean_old": mean_old, "mean": mean, "std": std, "eps": eps,
            "logp": gaussian_step_logp(x_next, mean, std[:, None]),
            "logp_old": gaussian_step_logp(x_next, mean_old, std[:, None])}


def test_ratio_bias_hand_value() -> None:
    # ‖(1, 0) − (0, 0)‖² / (2 · 0.5²) = 2.
    b = ratio_bias(torch.tensor([[[1.0, 0.0]]]), torch.zeros(1, 1, 2), torch.tensor([0.5]))
    assert b.item() == pytest.approx(2.0)


def test_normalized_log_ratio_hand_value() -> None:
    # s · (log p − log p_old + bias) = 0.5 · (−1 + 0.5 + 2) = 0.75.
    out = normalized_log_ratio(torch.tensor([[-1.0]]), torch.tensor([[-0.5]]), torch.tensor([[[1.0, 0.0]]]),
                               torch.zeros(1, 1, 2), torch.tensor([0.5]))
    assert out.item() == pytest.approx(0.75)


def test_raw_log_ratio_is_left_shifted_by_exactly_the_bias() -> None:
    # log r = −‖Δμ‖²/(2s²) − Δμ·ε/s with Δμ = μ_old − μ (the identity behind the paper's left shift).
    d = _old_policy_sample()
    dmu = d["mean_old"] - d["mean"]
    expect = -(dmu**2).sum(-1) / (2 * d["std"][:, None] ** 2) - (dmu * d["eps"]).sum(-1) / d["std"][:, None]
    assert torch.allclose(d["logp"] - d["logp_old"], expect, atol=1e-10)


def test_normalized_log_ratio_equals_mean_shift_dot_noise() -> None:
    # log r̂ = (μ − μ_old)·ε: mean zero, spread independent of s_t.
    d = _old_policy_sample()
    out = normalized_log_ratio(d["logp"], d["logp_old"], d["mean"], d["mean_old"], d["std"])
    assert torch.allclose(out, ((d["mean"] - d["mean_old"]) * d["eps"]).sum(-1), atol=1e-10)


def test_normalized_log_ratio_gradient_wrt_mean_is_the_noise() -> None:
    d = _old_policy_sample()
    mean = d["mean"].clone().requires_grad_(True)
    x_next = d["mean_old"] + d["std"][:, None, None] * d["eps"]
    logp = gaussian_step_logp(x_next, mean, d["std"][:, None])
    normalized_log_ratio(logp, d["logp_old"], mean, d["mean_old"], d["std"]).sum().backward()
    assert mean.grad is not None
    assert torch.allclose(mean.grad, d["eps"], atol=1e-10)


def test_step_weights_are_inverse_step_lengths() -> None:
    assert step_weights(torch.tensor([-0.1, -0.25])).tolist() == pytest.approx([10.0, 4.0])


def test_clipped_objective_hand_values() -> None:
    lr = torch.log(torch.tensor([[1.5, 1.5, 0.5, 0.5]]))
    adv = torch.tensor([1.0, -1.0, 1.0, -1.0])
    # A > 0 and r = 1.5: clipped at 1.2; A < 0 and r = 1.5: −1.5; A > 0 and r = 0.5: 0.5; A < 0 and r = 0.5: −0.8.
    assert clipped_objective(lr, adv, 0.2)[0].tolist() == pytest.approx([1.2, -1.5, 0.5, -0.8], abs=1e-6)


def test_flow_grpo_loss_hand_value() -> None:
    # T = 2, N = 2: objectives (1.2, 0.5; −1.5, 1.0) → loss −mean = −0.3.
    logp = torch.log(torch.tensor([[1.5, 0.5], [1.5, 1.0]]))
    adv = torch.tensor([1.0, 1.0])
    obj = torch.tensor([[1.2, 0.5], [1.2, 1.0]])
    assert flow_grpo_loss(logp, torch.zeros(2, 2), adv, 0.2).item() == pytest.approx(-obj.mean().item(), abs=1e-6)


def test_grpo_guard_loss_hand_value_and_ablations() -> None:
    d = _old_policy_sample()
    adv = torch.tensor([1.0, -0.5, 0.25, -0.75], dtype=torch.float64)
    dt = torch.tensor([-0.2, -0.3, -0.5], dtype=torch.float64)
    lr_hat = ((d["mean"] - d["mean_old"]) * d["eps"]).sum(-1)
    r = torch.exp(lr_hat)
    obj = torch.minimum(r * adv, torch.clamp(r, 0.99, 1.01) * adv) / dt.abs()[:, None]
    got = grpo_guard_loss(d["logp"], d["logp_old"], d["mean"], d["mean_old"], d["std"], dt, adv, clip_eps=0.01)
    assert got.item() == pytest.approx(-obj.mean().item(), rel=1e-9)
    # Without normalization and reweighting it is exactly Flow-GRPO's loss.
    plain = grpo_guard_loss(d["logp"], d["logp_old"], d["mean"], d["mean_old"], d["std"], dt, adv, 0.01,
                            ratio_norm=False, reweight=False)
    assert plain.item() == pytest.approx(flow_grpo_loss(d["logp"], d["logp_old"], adv, 0.01).item(), rel=1e-12)
    # Reweighting alone multiplies each step's term by 1/|dt|.
    rw = grpo_guard_loss(d["logp"], d["logp_old"], d["mean"], d["mean_old"], d["std"], dt, adv, 0.01,
                         ratio_norm=False)
    raw_obj = clipped_objective(d["logp"] - d["logp_old"], adv, 0.01) / dt.abs()[:, None]
    assert rw.item() == pytest.approx(-raw_obj.mean().item(), rel=1e-9)


def test_shapes_and_values_are_validated() -> None:
    d = _old_policy_sample()
    adv = torch.zeros(4, dtype=torch.float64)
    with pytest.raises(InputDataError, match="advantages"):
        flow_grpo_loss(d["logp"], d["logp_old"], torch.zeros(3), 0.2)
    with pytest.raises(InputDataError, match="logp"):
        flow_grpo_loss(d["logp"], d["logp_old"][:2], adv, 0.2)
    with pytest.raises(InputDataError, match="NaN"):
        flow_grpo_loss(d["logp"] * float("nan"), d["logp_old"], adv, 0.2)
    with pytest.raises(InputDataError, match="std"):
        grpo_guard_loss(d["logp"], d["logp_old"], d["mean"], d["mean_old"], -d["std"], -d["std"], adv)
    with pytest.raises(InputDataError, match="dt"):
        step_weights(torch.tensor([0.0, -0.1]))
    with pytest.raises(InvalidParameterError, match="'clip_eps' parameter of clipped_objective"):
        clipped_objective(d["logp"], adv, 1.5)


def test_configs_are_frozen_and_validated() -> None:
    with pytest.raises(InvalidParameterError, match="'clip_eps' parameter of FlowGRPOConfig must be"):
        FlowGRPOConfig(clip_eps=0.0)
    with pytest.raises(InvalidParameterError, match="'group_size' parameter of GRPOGuardConfig"):
        GRPOGuardConfig(group_size=1)
    with pytest.raises(InvalidParameterError, match="'ratio_norm' parameter of GRPOGuardConfig"):
        GRPOGuardConfig(ratio_norm="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'minibatches'"):
        FlowGRPOConfig(groups=1, group_size=4, minibatches=5)
    cfg = GRPOGuardConfig()
    with pytest.raises(AttributeError):
        cfg.lr = 1.0  # type: ignore[misc]
    assert cfg.ratio_norm and cfg.reweight and not FlowGRPOConfig().ratio_norm


def _tiny_run(config: FlowGRPOConfig | GRPOGuardConfig, seed: int = 0):
    torch.manual_seed(0)
    model = VelocityMLP(FlowConfig(hidden=16, time_features=2))
    evals: list[float] = []

    def evaluate(m):
        evals.append(1.0)
        return {"n": float(len(evals))}

    log = train_flow_policy(model, lambda x: x[:, 0], config, seed=seed, evaluate=evaluate)
    return model, log


def test_trainer_records_diagnostics_and_is_deterministic() -> None:
    cfg = GRPOGuardConfig(iterations=3, groups=2, group_size=4, minibatches=2, n_steps=4, lr=1e-2,
                          clip_eps=0.01, eval_every=1, diag_every=2)
    m1, log1 = _tiny_run(cfg)
    m2, _ = _tiny_run(cfg)
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)
    assert [e["iteration"] for e in log1.evals] == [0.0, 1.0, 2.0, 3.0]
    assert log1.grad_norms.shape == (2, 4)  # iterations 0 and 2, four steps
    assert log1.steps_stats["n"].tolist() == [12.0] * 4  # 3 iterations × the second minibatch of 4
    mean, std = log1.log_ratio_moments("norm")
    assert mean.shape == (4,) and bool(np.all(std >= 0))
    # The clipped ratio of GRPO-Guard is the normalized one.
    assert np.allclose(log1.steps_stats["used"], log1.steps_stats["norm"])


def test_trainer_stop_callback_and_bad_reward() -> None:
    cfg = FlowGRPOConfig(iterations=10, groups=1, group_size=4, minibatches=1, n_steps=3, eval_every=1)
    model = VelocityMLP(FlowConfig(hidden=8, time_features=0))
    log = train_flow_policy(model, lambda x: x[:, 0], cfg, evaluate=lambda m: {"v": 0.0},
                            stop=lambda row: row["iteration"] >= 2)
    assert log.evals[-1]["iteration"] == 2.0 and len(log.rewards) == 2
    with pytest.raises(InputDataError, match="reward"):
        train_flow_policy(model, lambda x: np.full(len(x), np.nan), cfg)
    with pytest.raises(InputDataError, match="config"):
        train_flow_policy(model, lambda x: x[:, 0], {"lr": 1.0})  # type: ignore[arg-type]


@contract_settings()
@given(st.lists(adversarial_floats(), min_size=4, max_size=4), st.lists(adversarial_floats(), min_size=2, max_size=2),
       st.one_of(adversarial_floats(), st.just(0.2)))
def test_losses_are_finite_or_refuse(vals, adv, eps) -> None:
    logp = torch.tensor(vals, dtype=torch.float64).reshape(2, 2).clamp(-1e300, 1e300)
    a = torch.tensor(adv, dtype=torch.float64)
    mean = torch.zeros(2, 2, 2, dtype=torch.float64)
    std = torch.tensor([0.5, 0.1], dtype=torch.float64)
    dt = torch.tensor([-0.5, -0.5], dtype=torch.float64)
    names = ("logp", "logp_old", "advantages", "clip_eps", "NaN")
    out = assert_contract(flow_grpo_loss, logp, torch.zeros_like(logp), a, eps, names=names)
    if out.ok:
        assert not math.isnan(out.result.item())
    out = assert_contract(grpo_guard_loss, logp, torch.zeros_like(logp), mean, mean, std, dt, a, eps, names=names)
    if out.ok:
        assert not math.isnan(out.result.item())
