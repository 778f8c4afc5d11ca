"""Streaming bandits: the stream's rules (memory, no re-read, budget) and the algorithms' behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.bandits.streaming import (
    ArmStream,
    GameOfArms,
    NaiveEpsBest,
    StreamMemoryError,
    TowerEpsBest,
    UniformExploration,
    epsilon_for,
    simulate,
)
from guardopt.core.errors import InvalidParameterError
from guardopt.problems.streams import make_instance

ALGOS = [UniformExploration(), NaiveEpsBest(), TowerEpsBest("log"), TowerEpsBest("logstar"), GameOfArms()]


def test_memory_limit_is_enforced() -> None:
    stream = ArmStream(np.array([0.1, 0.2, 0.3]), horizon=100, memory=2, seed=0)
    a = stream.read()
    b = stream.read()
    assert a is not None and b is not None
    with pytest.raises(StreamMemoryError, match="memory limit is 2"):
        stream.read()
    stream.discard(a)
    c = stream.read()
    assert c is not None and c.index == 2
    assert stream.peak_memory == 2


def test_discarded_arm_cannot_be_reread() -> None:
    stream = ArmStream(np.array([0.5, 0.6]), horizon=100, memory=2, seed=0)
    a = stream.read()
    assert a is not None
    stream.pull(a, 3)
    stream.discard(a)
    with pytest.raises(StreamMemoryError, match="cannot re-read"):
        stream.pull(a, 1)
    with pytest.raises(StreamMemoryError):
        stream.discard(a)


def test_stream_ends_and_budget_is_enforced() -> None:
    stream = ArmStream(np.array([1.0]), horizon=10, memory=1, seed=0)
    a = stream.read()
    assert a is not None
    assert stream.read() is None  # end of the stream, no exception
    assert stream.pull(a, 4) == 4  # mean 1: every pull succeeds
    with pytest.raises(StreamMemoryError, match="remain"):
        stream.pull(a, 7)
    assert stream.commit(a) == 6
    assert stream.remaining == 0


def test_pseudo_regret_is_analytic() -> None:
    stream = ArmStream(np.array([0.9, 0.5, 0.2]), horizon=100, memory=3, seed=0)
    arms = [stream.read() for _ in range(3)]
    stream.pull(arms[1], 10)  # type: ignore[arg-type]
    stream.pull(arms[2], 5)  # type: ignore[arg-type]
    assert stream.pseudo_regret() == pytest.approx(10 * 0.4 + 5 * 0.7)


def test_handles_do_not_expose_means() -> None:
    stream = ArmStream(np.array([0.3, 0.7]), horizon=10, memory=2)
    arm = stream.read()
    assert arm is not None
    assert not hasattr(arm, "mean") and not hasattr(arm, "p")


def test_invalid_stream_parameters() -> None:
    with pytest.raises(InvalidParameterError):
        ArmStream(np.array([1.5]), horizon=10, memory=1)
    with pytest.raises(InvalidParameterError):
        ArmStream(np.array([0.5]), horizon=0, memory=1)
    with pytest.raises(InvalidParameterError):
        TowerEpsBest(kind="loglog")


def test_epsilon_and_batches_hand_computed() -> None:
    assert epsilon_for(1000, 10**6) == pytest.approx(0.1)
    # uniform: (T/K)^{2/3} ln^{1/3} T = 100 * 13.8155^{1/3} = 240.0...
    assert UniformExploration().batch(1000, 10**6) == math.ceil(100 * math.log(10**6) ** (1 / 3))
    assert NaiveEpsBest().batch(1000, 10**6) == math.ceil(math.log(1000) / 0.01)
    levels = TowerEpsBest("log").levels(1000, 10**6)
    assert len(levels) == 6  # floor(ln 1000)
    assert [lv.batch for lv in levels[:3]] == [100, 120, 144]
    assert levels[-1].arms_per_level is None
    star = TowerEpsBest("logstar").levels(1000, 10**6)
    assert [lv.batch for lv in star[:3]] == [200, 400, 1600]
    assert [lv.arms_per_level for lv in star[:2]] == [4, 4]


@pytest.mark.parametrize("algo", ALGOS, ids=lambda a: type(a).__name__ + getattr(a, "kind", ""))
def test_algorithms_respect_memory_and_budget(algo: object) -> None:
    means = make_instance("clear-cut", 200, seed=1)
    run = simulate(algo, means, 200 * 1000, seed=2)  # type: ignore[arg-type]
    assert run.pulls.sum() == 200 * 1000
    assert run.result.peak_memory <= algo.memory_needed(200, 200 * 1000)  # type: ignore[attr-defined]
    assert run.result.committed is not None
    # The committed arm got every pull left after exploration, and the regret is the pull-weighted gap.
    assert run.pulls[run.result.committed] >= 200 * 1000 - run.result.exploration_pulls
    assert run.regret == pytest.approx(float(np.dot(run.pulls, means.max() - means)), rel=1e-9)


@pytest.mark.parametrize("algo", ALGOS, ids=lambda a: type(a).__name__ + getattr(a, "kind", ""))
def test_algorithms_fail_with_less_memory(algo: object) -> None:
    means = make_instance("uniform-means", 200, seed=0)
    peak = simulate(algo, means, 10**5, seed=0).result.peak_memory  # type: ignore[arg-type]
    assert peak >= 2
    stream = ArmStream(means, 10**5, peak - 1, seed=0)
    with pytest.raises(StreamMemoryError):
        algo.run(stream)  # type: ignore[attr-defined]


def test_easy_instance_finds_best_arm() -> None:
    means = np.full(100, 0.2)
    means[37] = 0.9
    for algo in ALGOS:
        run = simulate(algo, means, 100 * 2000, seed=0)  # type: ignore[arg-type]
        assert run.result.committed == 37, type(algo).__name__


def test_same_seed_same_run() -> None:
    means = make_instance("uniform-means", 300, seed=4)
    a = simulate(TowerEpsBest(), means, 300 * 1000, seed=9)
    b = simulate(TowerEpsBest(), means, 300 * 1000, seed=9)
    assert a.regret == b.regret and np.array_equal(a.pulls, b.pulls)


def test_tower_beats_uniform_on_uniform_means() -> None:
    k, horizon = 500, 500 * 10_000
    regs = {"tower": [], "uniform": []}
    for s in range(5):
        means = make_instance("uniform-means", k, seed=s)
        regs["tower"].append(simulate(TowerEpsBest(), means, horizon, seed=s).regret)
        regs["uniform"].append(simulate(UniformExploration(), means, horizon, seed=s).regret)
    assert np.mean(regs["tower"]) < 0.7 * np.mean(regs["uniform"])
