"""The offline and online VPO trainers on the linear-softmax bandit policy."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from guardopt.align.bandit_policy import LinearSoftmaxPolicy  # noqa: E402
from guardopt.align.vpo import OfflineVPOTrainer, OnlineVPOTrainer, VPOConfig  # noqa: E402
from guardopt.core.errors import GuardoptError  # noqa: E402
from guardopt.problems.feature_bandit import FeatureBandit  # noqa: E402

BANDIT = FeatureBandit(n_responses=60, dim=4, seed=3)


def _policy():
    return LinearSoftmaxPolicy(BANDIT.features, BANDIT.ref_log_probs)


def test_policy_starts_at_the_reference_and_normalizes():
    pol = _policy()
    assert torch.allclose(pol(), pol.ref_log_probs)
    assert float(pol.probs().sum()) == pytest.approx(1.0)


def test_pessimism_keeps_more_mass_on_the_chosen_responses_than_dpo_and_optimism_less():
    chosen, rejected = BANDIT.preference_pairs(80, seed=0)
    mass = {}
    for name, cfg in [("dpo", VPOConfig(alpha=0.0, steps=60)), ("pess", VPOConfig(alpha=1.0, steps=60)),
                      ("opt", VPOConfig(alpha=1.0, sign="optimistic", steps=60))]:
        pol = _policy()
        hist = OfflineVPOTrainer(cfg).fit(pol, chosen, rejected, eval_every=20)
        assert hist.column("step").tolist() == [0.0, 20.0, 40.0, 60.0]
        mass[name] = float(pol.log_prob(chosen).detach().mean())
    assert mass["pess"] > mass["dpo"] > mass["opt"]


def test_online_trainer_is_seeded_and_records_every_round():
    def run(seed):
        pol = _policy()
        hist = OnlineVPOTrainer(VPOConfig(sign="optimistic", alpha=0.1, rounds=4, pairs_per_round=3,
                                          steps_per_round=2)).run(
            pol, BANDIT.label, seed=seed, callback=lambda t, p: {"gold": BANDIT.expected_gold(p.probs().numpy())})
        return hist.column("gold"), pol.theta.detach().clone()

    g1, t1 = run(5)
    g2, t2 = run(5)
    g3, _ = run(6)
    assert g1.shape == (5,) and np.array_equal(g1, g2) and torch.equal(t1, t2)
    assert not np.array_equal(g1, g3)
    assert g1[0] == pytest.approx(BANDIT.ref_gold)


def test_trainers_refuse_bad_data():
    pol = _policy()
    with pytest.raises(GuardoptError, match="chosen"):
        OfflineVPOTrainer().fit(pol, np.array([0.5]), np.array([1]))
    with pytest.raises(GuardoptError, match="rejected"):
        OfflineVPOTrainer().fit(pol, np.array([0]), np.array([99]))
    with pytest.raises(GuardoptError, match="eval_every"):
        OfflineVPOTrainer().fit(pol, np.array([0]), np.array([1]), eval_every=0)
