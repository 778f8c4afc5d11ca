"""PPO against a proxy reward (guardopt.offline.ppo): loss, gradient, KL, Adam, combiners, the loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.offline.ppo import (
    PPOConfig,
    _Adam,
    ensemble_reward,
    gaussian_kl,
    gaussian_log_prob,
    ppo_clip_grad,
    ppo_clip_loss,
    ppo_optimize,
)


def test_clip_loss_by_hand() -> None:
    # ratios e^{log 1.5}=1.5, 0.5, 1.1, 0.7 with advantages +1, +1, -2, -1 and ε = 0.2:
    # min(1.5, 1.2)=1.2; min(0.5, 0.8)=0.5; min(-2.2, -2.2)=-2.2; min(-0.7, -0.8)=-0.8.
    ratio = np.array([1.5, 0.5, 1.1, 0.7])
    adv = np.array([1.0, 1.0, -2.0, -1.0])
    loss, active = ppo_clip_loss(np.log(ratio), np.zeros(4), adv, 0.2)
    assert loss == pytest.approx(-(1.2 + 0.5 - 2.2 - 0.8) / 4)
    # Sample 0 (A > 0, ρ > 1 + ε) and 3 (A < 0, ρ < 1 − ε) are clipped: no gradient through them.
    assert active.tolist() == [False, True, True, False]


def test_log_prob_and_kl_against_closed_forms() -> None:
    from scipy import stats

    rng = np.random.default_rng(0)
    mean, log_std = rng.normal(size=3), rng.normal(scale=0.3, size=3)
    z = rng.normal(size=(5, 3))
    ref = stats.multivariate_normal(mean, np.diag(np.exp(2 * log_std))).logpdf(z)
    np.testing.assert_allclose(gaussian_log_prob(z, mean, log_std), ref, rtol=1e-10)
    # KL(N(1, 2²) ‖ N(0, 1)) in one dimension = log(1/2) + (4 + 1)/2 − 1/2 = 2 − log 2.
    assert gaussian_kl(np.array([1.0]), np.array([math.log(2.0)]), np.zeros(1), np.zeros(1)) == pytest.approx(
        2.0 - math.log(2.0))
    # Against Monte Carlo of E_π[log π − log π_ref] (the quantity the per-sample KL penalty estimates).
    m0, s0 = np.zeros(3), np.full(3, math.log(1.3))
    zz = mean + np.exp(log_std) * rng.standard_normal((200_000, 3))
    mc = np.mean(gaussian_log_prob(zz, mean, log_std) - gaussian_log_prob(zz, m0, s0))
    assert mc == pytest.approx(gaussian_kl(mean, log_std, m0, s0), abs=0.02)
    assert gaussian_kl(m0, s0, m0, s0) == 0.0


def test_clip_gradient_matches_torch_autograd() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    mean, log_std = rng.normal(size=4), rng.normal(scale=0.2, size=4)
    z = mean + np.exp(log_std) * rng.standard_normal((64, 4))
    # An old policy a little away from the current one, so that some ratios are clipped.
    old = gaussian_log_prob(z, mean + 0.15, log_std - 0.05)
    adv = rng.standard_normal(64)
    loss, g_mean, g_log_std, frac = ppo_clip_grad(z, mean, log_std, old, adv, 0.2)
    assert 0.0 < frac < 1.0
    mt = torch.tensor(mean, requires_grad=True)
    lt = torch.tensor(log_std, requires_grad=True)
    zt = torch.tensor(z)
    lp = (-0.5 * (((zt - mt) * torch.exp(-lt)) ** 2).sum(-1) - lt.sum() - 2 * math.log(2 * math.pi))
    ratio = torch.exp(lp - torch.tensor(old))
    at = torch.tensor(adv)
    lt_loss = -torch.minimum(ratio * at, torch.clamp(ratio, 0.8, 1.2) * at).mean()
    lt_loss.backward()
    assert loss == pytest.approx(float(lt_loss.detach()), rel=1e-10)
    np.testing.assert_allclose(g_mean, mt.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(g_log_std, lt.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_adam_by_hand() -> None:
    # Step 1: m̂ = g, v̂ = g², so θ moves by lr·g/|g| = lr·sign(g) (up to eps).
    opt = _Adam(2, 0.1)
    theta = opt.step(np.array([1.0, 1.0]), np.array([4.0, -0.5]))
    np.testing.assert_allclose(theta, [0.9, 1.1], rtol=1e-7)
    first = theta.copy()
    # Step 2 with g = (0, 1): m = (0.36, -0.045 + 0.1), v = (0.999·0.016, 0.999·0.00025 + 0.001).
    theta = opt.step(theta, np.array([0.0, 1.0]))
    m = np.array([0.9 * 0.4, 0.9 * -0.05 + 0.1])
    v = np.array([0.999 * 0.016, 0.999 * 0.00025 + 0.001])
    step = 0.1 * (m / (1 - 0.81)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    np.testing.assert_allclose(theta, first - step, rtol=1e-10)


def test_ppo_climbs_a_linear_reward_and_kl_penalty_holds_it_back() -> None:
    w = np.array([1.0, 0.0])
    free = ppo_optimize(lambda z: z @ w, 2, PPOConfig(updates=40, batch_size=64, lr=0.02, eval_samples=64), seed=0)
    held = ppo_optimize(lambda z: z @ w, 2, PPOConfig(updates=40, batch_size=64, lr=0.02, eval_samples=64,
                                                      kl_coef=2.0), seed=0)
    h = free.history
    assert h.update[0] == 0 and h.update[-1] == 40 and h.kl[0] == 0.0
    assert h.proxy[-1] > h.proxy[0] + 0.5 and free.mean[0] > 0.5
    assert np.isnan(h.gold).all()  # no gold given: logged as NaN, never invented
    # With r = μ₁ and β = 2 the KL-regularized optimum is μ₁ = 1/β = 0.5 (σ fixed at 1 there): PPO must
    # stop short of the unpenalized run and near that point.
    assert held.history.kl[-1] < h.kl[-1]
    assert 0.2 < held.mean[0] < 0.9


def test_learn_scale_false_keeps_the_reference_scale() -> None:
    res = ppo_optimize(lambda z: -np.abs(z).sum(-1), 3, PPOConfig(updates=5, batch_size=32, learn_scale=False),
                       ref_std=1.3)
    np.testing.assert_allclose(res.std, 1.3)
    np.testing.assert_allclose(res.history.scale, 1.3)


class _Members:
    """A stand-in ensemble: member i scores z by (i + 1)·z₀, so min, mean and variance are known."""

    size = 3

    def predict(self, z: np.ndarray) -> np.ndarray:
        return np.stack([(i + 1) * z[..., 0] for i in range(self.size)])


def test_ensemble_reward_uses_the_right_objective() -> None:
    z = np.array([[1.0, 0.0], [-2.0, 5.0]])
    ens = _Members()
    np.testing.assert_allclose(ensemble_reward(ens, "single", member=2)(z), [3.0, -6.0])
    np.testing.assert_allclose(ensemble_reward(ens, "mean")(z), [2.0, -4.0])
    np.testing.assert_allclose(ensemble_reward(ens, "wco")(z), [1.0, -6.0])  # the minimum member
    # UWO: mean − λ·population variance; scores (1, 2, 3)·z₀ have variance 2/3·z₀².
    np.testing.assert_allclose(ensemble_reward(ens, "uwo", lam=0.3)(z), [2.0 - 0.2, -4.0 - 0.8])
    with pytest.raises(InvalidParameterError, match="member"):
        ensemble_reward(ens, "single", member=3)
    with pytest.raises(InvalidParameterError, match="combiner"):
        ensemble_reward(ens, "max")


def test_ppo_optimizes_the_objective_it_is_given() -> None:
    # Members agree on the sign of z₀ only for z₀ > 0 ... here: member scores (i+1)·z₀ for the first
    # coordinate; WCO = z₀ where z₀ > 0 but 3·z₀ where z₀ < 0, so every objective pushes z₀ up, and
    # UWO with a large λ penalizes |z₀| and must hold the mean near 0.
    cfg = PPOConfig(updates=30, batch_size=64, lr=0.02, eval_samples=64)
    up = ppo_optimize(ensemble_reward(_Members(), "wco"), 2, cfg, seed=0)
    uwo = ppo_optimize(ensemble_reward(_Members(), "uwo", lam=5.0), 2, cfg, seed=0)
    assert up.mean[0] > 0.3
    assert abs(uwo.mean[0]) < 0.3 and uwo.history.proxy[-1] > uwo.history.proxy[0]


def test_bad_rewards_fail_closed() -> None:
    cfg = PPOConfig(updates=2, batch_size=8, eval_samples=4)
    with pytest.raises(InputDataError, match="non-finite"):
        ppo_optimize(lambda z: np.full(z.shape[0], np.nan), 2, cfg)
    with pytest.raises(InputDataError, match="one value per response"):
        ppo_optimize(lambda z: np.zeros(3), 2, cfg)
    with pytest.raises(InputDataError, match="gold"):
        ppo_optimize(lambda z: z[:, 0], 2, cfg, gold=lambda z: np.full(z.shape[0], np.inf))
    with pytest.raises(InputDataError, match="ref_mean"):
        ppo_optimize(lambda z: z[:, 0], 2, cfg, ref_mean=np.array([0.0, np.nan]))
    with pytest.raises(GuardoptError):
        ppo_optimize(lambda z: z[:, 0], 2, "fast")  # type: ignore[arg-type]


@pytest.mark.parametrize("field,value", [("updates", 0), ("batch_size", 1), ("minibatches", 0), ("epochs", 0),
                                         ("clip", 0.0), ("clip", 1.0), ("kl_coef", -0.1), ("kl_coef", math.nan),
                                         ("lr", 0.0), ("lr", math.inf), ("whiten", "yes"), ("eval_samples", 0),
                                         ("eval_every", 0), ("updates", 2.5), ("learn_scale", 1),
                                         ("batch_size", 10**9)])
def test_config_rejects_bad_values(field: str, value: object) -> None:
    with pytest.raises(InvalidParameterError, match=f"'{field}' parameter of PPOConfig"):
        PPOConfig(**{field: value})  # type: ignore[arg-type]


def test_config_minibatches_must_divide_the_batch() -> None:
    with pytest.raises(InvalidParameterError, match="'minibatches' parameter of PPOConfig must be a divisor"):
        PPOConfig(batch_size=10, minibatches=3)
    assert PPOConfig(batch_size=10, minibatches=5).minibatches == 5


def test_public_helpers_name_bad_arguments() -> None:
    with pytest.raises(InputDataError, match="'log_std'"):
        gaussian_kl(np.zeros(2), np.zeros(3), np.zeros(2), np.zeros(2))
    with pytest.raises(InputDataError, match="'z'"):
        gaussian_log_prob(np.zeros((4, 3)), np.zeros(2), np.zeros(2))
    with pytest.raises(InputDataError, match="'advantage'"):
        ppo_clip_loss(np.zeros(3), np.zeros(3), np.array([0.0, np.nan, 1.0]), 0.2)
    with pytest.raises(InvalidParameterError, match="'clip'"):
        ppo_clip_grad(np.zeros((2, 1)), np.zeros(1), np.zeros(1), np.zeros(2), np.zeros(2), 1.5)
    with pytest.raises(InputDataError, match="'advantage'"):
        ppo_clip_grad(np.zeros((2, 1)), np.zeros(1), np.zeros(1), np.zeros(3), np.zeros(3), 0.2)
