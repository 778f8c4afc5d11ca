"""Fail-closed contract of the bandits (issue 13): grid bandits, Tsallis-INF, ChebCB, helpers.

Updates take adversarial rewards, residuals, arms and losses without a raw error; a non-finite
residual is recorded as a violation, and a pessimistic recommendation is never an arm whose
residual upper bounds are unknown or positive.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from guardopt.bandits import (
    ChebCB,
    ChebCBConfig,
    OFSBandit,
    PrimalDualBandit,
    TsallisINF,
    TsallisINFConfig,
    UCBBandit,
    UCBConfig,
    best_feasible_arm,
    chebyshev_features,
    epsilon_for,
    tsallis_inf_probabilities,
)
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    contract_settings,
)

ROUNDS = st.lists(st.tuples(st.one_of(st.integers(-1, 3), adversarial_scalars()),
                            st.one_of(adversarial_floats(), adversarial_scalars()),
                            st.one_of(st.lists(adversarial_floats(), min_size=1, max_size=1), adversarial_arrays())),
                  min_size=1, max_size=12)


# ------------------------------------------------------------------------------------ properties


@contract_settings()
@given(ROUNDS, st.sampled_from([OFSBandit, UCBBandit, PrimalDualBandit]))
def test_grid_bandits_take_any_round_and_recommend_fail_closed(rounds, cls) -> None:
    b = cls(3, 1)
    for arm, reward, residuals in rounds:
        assert_contract(b.update, arm, reward, residuals, names=("arm", "reward", "residuals"))
    arm = assert_contract(b.select).result
    assert 0 <= arm < 3
    for guard in ("pessimistic", "optimistic"):
        rec = assert_contract(b.recommend, guard).result
        if rec is not None and guard == "pessimistic":
            _, residuals = b.estimates()
            assert np.all(np.asarray(residuals.upper)[rec] <= 0.0)


@contract_settings()
@given(adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=2), st.one_of(st.just(0.0), adversarial_scalars()))
def test_best_feasible_arm(reward, residuals, margin) -> None:
    out = assert_contract(best_feasible_arm, reward, residuals, margin, names=("reward", "residuals", "margin"))
    if out.ok and out.result is not None:
        g = np.asarray(residuals, dtype=float).reshape(np.size(reward), -1)
        assert np.all(g[out.result] <= -margin)


@contract_settings()
@given(adversarial_arrays(max_dims=2), st.one_of(st.just(1.0), adversarial_scalars()))
def test_tsallis_probabilities_are_a_distribution(cum_losses, eta) -> None:
    out = assert_contract(tsallis_inf_probabilities, cum_losses, eta, names=("cum_losses", "eta"))
    if out.ok:
        p = out.result
        assert np.isfinite(p).all() and (p >= 0).all() and abs(p.sum() - 1.0) < 1e-9


@contract_settings()
@given(st.lists(st.tuples(st.one_of(st.integers(-1, 3), adversarial_scalars()), adversarial_scalars(),
                          st.one_of(st.none(), st.floats(0.01, 1.0), adversarial_scalars())), max_size=8))
def test_tsallis_updates(rounds) -> None:
    b = TsallisINF(TsallisINFConfig(n_arms=3, seed=0))
    for arm, loss, p in rounds:
        assert_contract(b.update, arm, loss, p, names=("arm", "loss", "probability"))
        probs = b.probabilities()
        assert np.isfinite(probs).all() and abs(probs.sum() - 1.0) < 1e-9


@contract_settings()
@given(st.lists(st.tuples(st.one_of(st.integers(-1, 3), adversarial_scalars()), adversarial_scalars(),
                          st.one_of(st.floats(0.0, 1.0), adversarial_scalars())), max_size=8))
def test_chebcb_updates(rounds) -> None:
    b = ChebCB(ChebCBConfig(n_arms=3, context_low=0.0, context_high=1.0, seed=0))
    for arm, loss, context in rounds:
        assert_contract(b.update, arm, loss, context, names=("arm", "loss", "context"))
        assert_contract(b.sample, context, names=("context",))
    assert np.isfinite(b.theta).all()


@contract_settings()
@given(adversarial_scalars(), adversarial_scalars(), adversarial_scalars())
def test_small_helpers(u, m, scale) -> None:
    out = assert_contract(chebyshev_features, u, m, names=("u", "m"))
    if out.ok:
        assert np.isfinite(out.result).all() and (np.abs(out.result) <= 1.0).all()
    out = assert_contract(epsilon_for, m, m, scale, names=("n_arms", "horizon", "scale"))
    if out.ok:
        assert 0.0 < out.result <= 1.0


# ------------------------------------------------------------------------------------ regressions


def test_issue13_grid_bandit_string_reward_is_fail_closed_not_a_crash() -> None:
    b = OFSBandit(2, 1, None)
    b.update(0, 1.0, [-1.0])
    b.update(1, "lots", [math.nan])  # type: ignore[arg-type]
    assert b.stats.mean[1, 0] == 1.0 and b.stats.mean[1, 1] > 0  # worst reward; a violation


def test_issue13_grid_delta_above_half_claims_no_coverage() -> None:
    b = UCBBandit(2, 0, UCBConfig(delta=0.7))
    b.update(0, 1.0)
    reward, _ = b.estimates()
    assert reward.confidence == 0.0


def test_tsallis_subnormal_losses_keep_a_distribution() -> None:
    # Found by the long profile: a subnormal loss made the running loss scale so small that the
    # rate eta_t / scale overflowed to inf and every probability became NaN.
    b = TsallisINF(TsallisINFConfig(n_arms=3, seed=0))
    b.update(0, 5e-324)
    probs = b.probabilities()
    assert np.isfinite(probs).all() and abs(probs.sum() - 1.0) < 1e-9
    assert probs[0] < probs[1] == probs[2]  # the arm with a positive loss is played less
