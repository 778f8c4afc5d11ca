from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from guardopt.core.errors import InputDataError
from guardopt.offline.bon import best_of_n, bon_weights, kl_best_of_n, log_binom, monte_carlo_best_of_n


def _brute_force(proxy: np.ndarray, gold: np.ndarray, n: int) -> tuple[float, float]:
    golds, proxies = [], []
    for subset in itertools.combinations(range(len(proxy)), n):
        best = max(subset, key=lambda i: proxy[i])
        golds.append(gold[best])
        proxies.append(proxy[best])
    return float(np.mean(golds)), float(np.mean(proxies))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 9])
def test_estimator_matches_brute_force_over_all_subsets(n: int) -> None:
    rng = np.random.default_rng(n)
    proxy = rng.normal(size=9)
    gold = rng.normal(size=9)
    g, p = best_of_n(proxy, gold, [n])
    bg, bp = _brute_force(proxy, gold, n)
    assert g[0] == pytest.approx(bg, abs=1e-12)
    assert p[0] == pytest.approx(bp, abs=1e-12)


def test_hand_computed_small_case() -> None:
    # N = 3, n = 2: the best of a random pair is rank 2 w.p. 1/3 and rank 3 w.p. 2/3.
    np.testing.assert_allclose(bon_weights(2, 3), [0.0, 1 / 3, 2 / 3])
    gold, _ = best_of_n(np.array([0.1, 0.3, 0.2]), np.array([10.0, 30.0, 20.0]), [1, 2, 3])
    np.testing.assert_allclose(gold, [20.0, (20.0 + 2 * 30.0) / 3, 30.0])


def test_weights_do_not_overflow_at_large_n() -> None:
    # math.comb-as-float overflows here; the log-space weights must stay finite and sum to 1.
    for n in (512, 1024, 4096):
        w = bon_weights(n, 4096)
        assert np.all(np.isfinite(w))
        assert w.sum() == pytest.approx(1.0, abs=1e-9)
    assert float(log_binom(4095.0, 511.0)) == pytest.approx(math.lgamma(4096) - math.lgamma(512) - math.lgamma(3585))
    assert bon_weights(4096, 4096)[-1] == pytest.approx(1.0)


def test_estimator_matches_monte_carlo() -> None:
    rng = np.random.default_rng(0)
    proxy = rng.normal(size=(4, 300))
    gold = proxy + rng.normal(size=(4, 300))
    est, _ = best_of_n(proxy, gold, [16])
    mc, se = monte_carlo_best_of_n(proxy, gold, 16, n_trials=2000, seed=1)
    assert abs(mc - est[0]) < 3 * se


def test_per_prompt_shapes_and_kl() -> None:
    g, p = best_of_n(np.zeros((3, 5)), np.ones((3, 5)), [1, 5], per_prompt=True)
    assert g.shape == (2, 3) and p.shape == (2, 3)
    np.testing.assert_allclose(kl_best_of_n(np.array([1, 2, 4])), [0.0, math.log(2) - 0.5, math.log(4) - 0.75])


def test_bad_inputs() -> None:
    with pytest.raises(InputDataError):
        best_of_n(np.zeros(3), np.zeros(4), [1])
    with pytest.raises(InputDataError):
        best_of_n(np.array([np.nan, 1.0]), np.zeros(2), [1])
    with pytest.raises(ValueError):
        bon_weights(5, 4)
