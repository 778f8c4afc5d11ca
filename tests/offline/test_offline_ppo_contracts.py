"""Fail-closed contract of guardopt.offline.ppo: bad input gives a GuardoptError naming it, never a raw crash
or a policy learned from non-finite rewards."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from guardopt.offline.ppo import (
    PPOConfig,
    PPOResult,
    ensemble_reward,
    gaussian_kl,
    gaussian_log_prob,
    ppo_clip_grad,
    ppo_clip_loss,
    ppo_optimize,
)
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    contract_settings,
)

FIELDS = ("updates", "batch_size", "minibatches", "epochs", "clip", "kl_coef", "lr", "whiten", "learn_scale",
          "eval_samples", "eval_every")
TINY = PPOConfig(updates=2, batch_size=8, minibatches=2, epochs=1, eval_samples=4)


def _finite_result(res: PPOResult) -> bool:
    h = res.history
    return bool(np.all(np.isfinite(res.mean)) and np.all(np.isfinite(res.std)) and np.all(res.std > 0)
                and np.all(np.isfinite(h.proxy)) and np.all(np.isfinite(h.kl)) and np.all(h.kl >= -1e-9))


@contract_settings()
@given(st.sampled_from(FIELDS), st.one_of(adversarial_floats(), adversarial_scalars()))
def test_config_is_valid_or_names_the_field(field, value):
    assert_contract(PPOConfig, names=(field,), **{field: value})


@contract_settings()
@given(adversarial_arrays(max_dims=2), st.one_of(adversarial_floats(), adversarial_scalars()))
def test_optimize_reference_is_checked(ref_mean, ref_std):
    assert_contract(ppo_optimize, lambda z: -np.sum(z**2, axis=-1), 2, TINY, ref_mean=ref_mean, ref_std=ref_std,
                    names=("ref_mean", "ref_std"), check=_finite_result)


@contract_settings()
@given(st.one_of(adversarial_scalars(), st.integers(-3, 3), st.integers(10**6, 10**12)))
def test_optimize_dimension_is_checked(dim):
    assert_contract(ppo_optimize, lambda z: z.sum(-1) * 0.0, dim, TINY, names=("dim",), check=_finite_result)


@contract_settings()
@given(adversarial_arrays(max_dims=2, max_side=8))
def test_optimize_fails_closed_on_whatever_the_proxy_returns(values):
    # The proxy returns arbitrary data: the run must end in a GuardoptError (non-finite, wrong shape, or a
    # policy the data drove to non-finite values) or in a finite policy; never a raw numpy/torch crash.
    def proxy(z: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=object)
        return np.resize(v, z.shape[0]) if v.size and v.ndim == 1 and v.size == 8 else v

    out = assert_contract(ppo_optimize, proxy, 2, TINY, names=("proxy", "policy", "ppo_optimize"),
                          check=_finite_result)
    arr = np.asarray(values, dtype=float) if out.ok else None
    if out.ok:
        assert arr is not None and np.all(np.isfinite(arr))  # a finite policy only from finite rewards


@contract_settings()
@given(adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1),
       adversarial_arrays(max_dims=1))
def test_kl_is_finite_and_nonnegative_or_names_the_argument(mean, log_std, ref_mean, ref_log_std):
    def check(kl: float) -> bool:
        # Finite inputs can still overflow exp(2·log σ): then the KL is +inf (never NaN, never negative).
        return not math.isnan(kl) and kl >= -1e-9

    assert_contract(gaussian_kl, mean, log_std, ref_mean, ref_log_std,
                    names=("mean", "log_std", "ref_mean", "ref_log_std"), check=check)


@contract_settings()
@given(adversarial_arrays(max_dims=2), adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1))
def test_log_prob_is_checked(z, mean, log_std):
    assert_contract(gaussian_log_prob, z, mean, log_std, names=("z", "mean", "log_std"),
                    check=lambda lp: lp.ndim == 1 and not np.any(np.isnan(lp)))


@contract_settings()
@given(adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1),
       st.one_of(adversarial_floats(), adversarial_scalars()))
def test_clip_loss_is_checked(lp, old, adv, clip):
    assert_contract(ppo_clip_loss, lp, old, adv, clip, names=("log_prob", "old_log_prob", "advantage", "clip"),
                    check=lambda out: not math.isnan(out[0]) or not np.all(np.isfinite(lp - old)))


@contract_settings()
@given(adversarial_arrays(max_dims=2), adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1),
       st.one_of(adversarial_floats(), adversarial_scalars()))
def test_clip_grad_is_checked(z, mean, adv, clip):
    names = ("z", "mean", "log_std", "old_log_prob", "advantage", "clip")
    assert_contract(ppo_clip_grad, z, mean, mean, adv, adv, clip, names=names)


@contract_settings()
@given(st.one_of(st.sampled_from(["single", "mean", "wco", "uwo", "max", ""]), adversarial_scalars()),
       st.one_of(adversarial_floats(), adversarial_scalars()), st.one_of(st.integers(-2, 5), adversarial_scalars()))
def test_ensemble_reward_is_checked(combiner, lam, member):
    class Two:
        size = 2

        def predict(self, z: np.ndarray) -> np.ndarray:
            return np.stack([z[..., 0], -z[..., 0]])

    out = assert_contract(ensemble_reward, Two(), combiner, lam, member, names=("combiner", "lam", "member"))
    if out.ok:
        assert np.all(np.isfinite(out.result(np.ones((3, 2)))))
