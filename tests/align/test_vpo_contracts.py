"""Fail-closed contract of the VPO package: loss, value, config, bandit policy and problem never crash raw."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from guardopt.align.bandit_policy import LinearSoftmaxPolicy  # noqa: E402
from guardopt.align.vpo import VPOConfig, vpo_loss, vpo_value  # noqa: E402
from guardopt.problems.feature_bandit import FeatureBandit  # noqa: E402
from guardopt.testing.contracts import (  # noqa: E402
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    contract_settings,
)

GOOD = [-1.0, -2.0]


def _finite_scalar(out):
    return out.ndim == 0 and math.isfinite(float(out))


@contract_settings()
@given(adversarial_arrays(max_dims=2), adversarial_arrays(max_dims=2), st.one_of(adversarial_floats(),
                                                                                  adversarial_scalars()))
def test_vpo_value_returns_a_finite_scalar_or_names_the_problem(policy_cal, ref_cal, beta):
    assert_contract(vpo_value, policy_cal, ref_cal, beta, names=("policy_cal", "ref_cal", "beta"),
                    check=_finite_scalar)


@contract_settings()
@given(adversarial_arrays(max_dims=2), adversarial_arrays(max_dims=1), st.one_of(adversarial_floats(),
                                                                                  adversarial_scalars()),
       st.one_of(st.sampled_from(["pessimistic", "optimistic", 1, -1, 0, "x"]), adversarial_scalars()))
def test_vpo_loss_returns_a_finite_scalar_or_names_the_problem(pairs, cal, alpha, sign):
    names = ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected", "policy_cal", "ref_cal", "alpha",
             "sign", "one shape", "NaN")
    assert_contract(vpo_loss, pairs, pairs, pairs, pairs, cal, cal, alpha=alpha,
                    sign=sign, beta=0.1, names=names, check=_finite_scalar)


@contract_settings()
@given(st.one_of(adversarial_floats(), adversarial_scalars()), st.one_of(adversarial_floats(), adversarial_scalars()),
       st.one_of(st.integers(-3, 5), adversarial_scalars()))
def test_config_validates_every_field(beta, lr, steps):
    assert_contract(VPOConfig, beta=beta, lr=lr, steps=steps, names=("beta", "lr", "steps"))


@contract_settings()
@given(st.one_of(st.integers(-2, 30), adversarial_scalars()), st.one_of(st.integers(-1, 5), adversarial_scalars()),
       st.one_of(adversarial_floats(), adversarial_scalars()))
def test_feature_bandit_validates_every_field(n, dim, curvature):
    def check(fb):
        return bool(np.all(np.isfinite(fb.gold_rewards)) and abs(np.exp(fb.ref_log_probs).sum() - 1) < 1e-9)

    assert_contract(FeatureBandit, n_responses=n, dim=dim, curvature=curvature,
                    names=("n_responses", "dim", "curvature"), check=check)


@contract_settings()
@given(adversarial_arrays(max_dims=2), adversarial_arrays(max_dims=1))
def test_bandit_policy_refuses_bad_features(features, ref):
    def check(pol):
        logp = pol()
        return bool(torch.isfinite(logp).all()) and abs(float(logp.exp().sum()) - 1.0) < 1e-9

    assert_contract(LinearSoftmaxPolicy, features, ref, names=("features", "ref_log_probs"), check=check)


def test_bandit_policy_indices_fail_closed():
    pol = LinearSoftmaxPolicy(np.eye(3), np.zeros(3))
    for bad in ([0.5], [3], [-1], ["a"], [True]):
        assert_contract(pol.log_prob, bad, names=("indices",))
    assert pol.log_prob([0, 2]).shape == (2,)
