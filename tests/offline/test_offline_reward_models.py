from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from guardopt.offline.ensembles import combine  # noqa: E402
from guardopt.offline.nets import MLPConfig  # noqa: E402
from guardopt.offline.reward_models import RewardEnsemble, RewardModelConfig, train_reward_model  # noqa: E402
from guardopt.problems.gold_reward import GoldRewardSetup  # noqa: E402

CFG = RewardModelConfig(mlp=MLPConfig(hidden=(16,)), epochs=20)


def test_reward_model_learns_the_gold_direction() -> None:
    setup = GoldRewardSetup(dim=3, label_noise=0.0)
    chosen, rejected, _ = setup.preference_pairs(400, seed=0)
    model = train_reward_model(chosen, rejected, CFG, seed=0)
    z = setup.policy_samples(1, 200, seed=1)[0]
    with torch.no_grad():
        r = model(torch.as_tensor(z, dtype=torch.float32)).numpy()
    assert np.corrcoef(r, setup.gold(z))[0, 1] > 0.8


def test_ensemble_members_differ_by_seed_and_are_standardized() -> None:
    setup = GoldRewardSetup(dim=3)
    chosen, rejected, _ = setup.preference_pairs(300, seed=0)
    ens = RewardEnsemble.fit(chosen, rejected, k=3, config=RewardModelConfig(mlp=MLPConfig(hidden=(8,)), epochs=2),
                             seed=0)
    ref = np.concatenate([chosen, rejected])
    s = ens.predict(ref)
    assert s.shape == (3, 600)
    np.testing.assert_allclose(s.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(s.std(axis=1), 1.0, atol=1e-5)
    assert not np.allclose(s[0], s[1])
    z = setup.policy_samples(2, 5, seed=1)
    assert ens.predict(z).shape == (3, 2, 5)
    np.testing.assert_allclose(ens.score(z, "wco"), combine(ens.predict(z), "wco"))
    est = ens.estimate(z)
    np.testing.assert_allclose(est.mean, ens.predict(z).mean(axis=0))
    np.testing.assert_allclose(est.upper - est.mean, ens.predict(z).std(axis=0))


def test_gold_setup_label_noise_rate() -> None:
    setup = GoldRewardSetup()
    chosen, rejected, flipped = setup.preference_pairs(4000, seed=0)
    assert flipped.mean() == pytest.approx(0.25, abs=0.02)
    agree = setup.gold(chosen) >= setup.gold(rejected)
    np.testing.assert_array_equal(agree[~flipped], True)
    # Hand-computed gold: on the ball's surface the penalty is 0; outside it is quadratic.
    z = np.zeros((2, 10))
    z[1] = setup.w * 6.5
    np.testing.assert_allclose(setup.gold(z), [0.0, 6.5 - 4.0])
