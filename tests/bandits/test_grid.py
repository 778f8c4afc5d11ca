"""The grid bandit core: statistics, radii, warm-up, failures, recommendation and the adapter."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from guardopt.bandits.grid import GridBandit, GridConfig, arms_from_space, order_by
from guardopt.bandits.ofs import OFSBandit, OFSConfig
from guardopt.core.errors import GuardoptError, InvalidParameterError
from guardopt.core.space import Choice, Integer, Real


class _FirstArm(GridBandit):
    def _rule_ranking(self) -> np.ndarray:
        return np.arange(self.n_arms)


def test_config_validation_messages() -> None:
    with pytest.raises(InvalidParameterError, match="The 'bound' parameter of GridConfig"):
        GridConfig(bound="gauss")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="The 'width' parameter of GridConfig"):
        GridConfig(bound="hoeffding")
    msg = r"The 'delta' parameter of OFSConfig must be a real number in \(0, 1\)"
    with pytest.raises(InvalidParameterError, match=msg):
        OFSConfig(delta=1.5)
    with pytest.raises(InvalidParameterError, match="The 'mode' parameter of OFSConfig"):
        OFSConfig(mode="safe")  # type: ignore[arg-type]


def test_student_t_radius_matches_hand_computation() -> None:
    b = _FirstArm(3, 1, GridConfig(delta=0.05, warmup_passes=0))
    b.update(0, 1.0, [0.0])
    b.update(0, 3.0, [0.5])
    rad = b.radii()
    q = stats.t.ppf(0.95, 1)  # 6.3138
    # reward: std = sqrt(2), n = 2 -> sqrt(2)/sqrt(2) * q
    assert rad[0, 0] == pytest.approx(q, rel=1e-9)
    # residual: values 0, 0.5 -> std = 0.5/sqrt(2)
    assert rad[0, 1] == pytest.approx(0.5 / math.sqrt(2) / math.sqrt(2) * q, rel=1e-9)
    assert np.all(np.isinf(rad[1:]))  # unplayed arms
    reward, residuals = b.estimates()
    assert reward.upper[0] == pytest.approx(2.0 + q)
    assert residuals.shape == (3, 1)
    assert np.isnan(reward.mean[1]) and reward.lower[1] == -np.inf and reward.upper[1] == np.inf


def test_radius_scale_and_hoeffding() -> None:
    b = _FirstArm(2, 0, GridConfig(bound="hoeffding", width=2.0, delta=0.1, radius_scale=0.5, warmup_passes=0))
    for v in (0.0, 1.0, 0.5, 0.25):
        b.update(1, v)
    expected = 0.5 * 2.0 * math.sqrt(math.log(1 / 0.1) / (2 * 4))
    assert b.radii()[1, 0] == pytest.approx(expected)


def test_radius_adapts_to_variance() -> None:
    quiet, noisy = _FirstArm(1, 0, GridConfig(delta=0.05)), _FirstArm(1, 0, GridConfig(delta=0.05))
    rng = np.random.default_rng(0)
    for _ in range(50):
        quiet.update(0, rng.normal(0, 0.01))
        noisy.update(0, rng.normal(0, 1.0))
    assert quiet.radii()[0, 0] < 0.05 * noisy.radii()[0, 0]


def test_anytime_level_is_close_to_one_over_t() -> None:
    b = _FirstArm(2, 0, GridConfig(warmup_passes=0))
    for t in range(1, 300):
        lvl = b.level()
        assert 0.8 / max(t, 2) <= lvl <= 1.0 / max(t, 2) + 1e-12
        b.update(t % 2, 0.0)


def test_warmup_is_round_robin() -> None:
    b = OFSBandit(4, 1, OFSConfig(warmup_passes=2))
    played = []
    for _ in range(8):
        a = b.select()
        played.append(a)
        b.update(a, 0.0, [0.0])
    assert played == [0, 1, 2, 3, 0, 1, 2, 3]
    assert not b.in_warmup


def test_failures_fail_closed() -> None:
    b = _FirstArm(2, 2, GridConfig(failure_residual=3.0, warmup_passes=0))
    b.update(0, 2.0, [0.0, -1.0])
    b.update(1, math.nan, [math.inf, math.nan])
    assert b.stats.mean[1, 0] == 2.0  # the worst reward seen so far
    assert b.stats.mean[1, 1:].tolist() == [3.0, 3.0]
    with pytest.raises(Exception, match="Expected 2 residuals"):
        b.update(0, 1.0, [0.0])
    with pytest.raises(GuardoptError, match="'arm' parameter"):
        b.update(5, 1.0, [0.0, 0.0])


def test_recommend_guards() -> None:
    b = _FirstArm(3, 1, GridConfig(delta=0.05, warmup_passes=0))
    # arm 0: low reward, surely feasible; arm 1: high reward, residual near 0 and noisy; arm 2: one pull
    for r, g in [(0.1, -0.5), (0.1, -0.5), (0.12, -0.5)]:
        b.update(0, r, [g])
    for r, g in [(0.9, -0.1), (1.0, 0.08), (0.95, -0.05)]:
        b.update(1, r, [g])
    b.update(2, 5.0, [-1.0])
    assert b.recommend("pessimistic") == 0
    assert b.recommend("optimistic") == 1
    empty = _FirstArm(2, 1)
    assert empty.recommend("pessimistic") is None


def test_order_by_breaks_ties_by_index_and_puts_nan_last() -> None:
    assert order_by(np.array([1.0, 3.0, 3.0, np.nan, 0.0])).tolist() == [1, 2, 0, 4, 3]
    assert order_by(np.array([2.0, 1.0, 1.0]), descending=False).tolist() == [1, 2, 0]


def test_arms_from_space() -> None:
    arms = arms_from_space({"t": Real(0.0, 1.0)}, 5)
    assert [a["t"] for a in arms] == [0.0, 0.25, 0.5, 0.75, 1.0]
    arms = arms_from_space({"n": Integer(1, 3), "k": Choice(["a", "b"])}, 21)
    assert len(arms) == 6 and arms[0] == {"n": 1, "k": "a"}
    big = arms_from_space({"n": Integer(0, 100)}, 11)
    assert [a["n"] for a in big] == list(range(0, 101, 10))
