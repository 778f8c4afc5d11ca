"""Reproduction `offline-mbrl`: the criteria on constructed cells, the negative control (a heuristic
that is pure noise fails criterion 1) on real calibration numbers, the true dynamics, a quick run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.reproduce.papers import offline_mbrl as om
from guardopt.reproduce.registry import discover
from guardopt.reproduce.spec import Record, Results, Status


def _calib(task: str, seed: int, rho: float, noise: float, pwd: tuple[float, ...] = (1.0, 2.0, 3.0)) -> Record:
    metrics = {"n_starts": 200.0, "data_return": -50.0}
    for p in om.POLICIES:
        for h in om.HEURISTIC_NAMES:
            metrics[f"rho_{p}_{h}"] = rho
            metrics[f"rho_{p}_{h}_r"] = rho
        metrics[f"rho_{p}_noise"] = noise
        for n, v in zip((2, 5, 10), pwd):
            metrics[f"pwd_{p}_{n}"] = v
        metrics[f"pairs_{p}"] = 2000.0
        metrics[f"error_{p}"] = 0.01
    return Record(task, "calibration", seed, "done", metrics, {})


def _method(task: str, method: str, seed: int, ret: float, **metrics: float) -> Record:
    rng = np.random.default_rng(seed + 31 * len(method))
    ep = ret + rng.standard_normal(20)
    return Record(task, method, seed, "done", {"return": float(ep.mean()), **metrics}, {"episode_return": ep.tolist()})


BO = {"heuristic_index": 2.0, "members": 3.0, "horizon": 15.0, "log10_penalty": -1.0}


def _results(rho: float = 0.7, noise: float = 0.0, bo_gain: float = 10.0, pwd=(1.0, 2.0, 3.0)) -> Results:
    recs = []
    for t in om.TASKS:
        for s in (0, 1):
            recs.append(_calib(t, s, rho, noise, pwd))
            recs.append(_method(t, "mopo-bo", s, -40.0 + bo_gain, **BO))
            recs.append(_method(t, "mopo-default", s, -40.0, **om._encode(om.DEFAULT)))
            recs.append(_method(t, "bc", s, -45.0))
    return Results(recs, om.TASKS, om.METHODS)


def test_fisher_lower_by_hand():
    # atanh(0.5) = 0.549306; minus z_0.95 / sqrt(100) = 0.164485 gives 0.384821, tanh → 0.366900.
    assert om.fisher_lower(0.5, 103) == pytest.approx(math.tanh(math.atanh(0.5) - 1.6448536269514722 / 10.0),
                                                      rel=1e-9)
    assert om.fisher_lower(0.5, 103) == pytest.approx(0.3669, abs=1e-4)
    assert math.isnan(om.fisher_lower(0.5, 3))


def test_all_criteria_pass_on_planted_good_results():
    v = om.verdict(_results())
    assert v.status is Status.HOLDS, [(e.check, e.value) for e in v.evidence if not e.counts_as_pass]
    assert len(v.evidence) == 14


def test_each_criterion_can_fail():
    bad = om.verdict(_results(rho=0.05, bo_gain=-1.0, pwd=(3.0, 2.0, 1.0)))
    assert bad.status is Status.FAILS
    # 4 calibration + 2 strong-disagreement + 2 interaction + 2 BO-vs-default lines fail; BO at −41 still
    # beats BC at −45, and the configuration is still vastly different.
    passing = [e.check for e in bad.evidence if e.counts_as_pass]
    assert len(passing) == 4
    assert all("bc's" in c or "vastly" in c for c in passing)
    same = _results()
    for r in same.records:
        if r.method == "mopo-bo":
            r.metrics.update(om._encode(om.DEFAULT))  # type: ignore[attr-defined]
    ev = om.vastly_different(same, "random")
    assert ev.value == 0.0 and not ev.passed


def test_vastly_different_counts_by_hand():
    # BO: ensemble_std (another heuristic: 1), N 3 vs 7 (4/8 = 50%: 1), h 15 vs 5 (10/19 = 53%: 1),
    # log10 λ −1 vs 0 (1/3 = 33%: 1) → 4 of 4.
    count, parts = om.difference(_results(), "mixed")
    assert count == 4 and len(parts) == 4


def test_negative_control_on_real_calibration_numbers():
    """A heuristic that is pure noise, scored on real model rollouts, makes criterion 1 FAIL."""
    import torch

    from guardopt.rl import DynamicsConfig, GaussianEnsemble

    torch.set_num_threads(1)
    data = om.dataset("random", 4, 0)
    model = GaussianEnsemble(DynamicsConfig(members=3, elites=2, hidden=8, max_epochs=1)).fit(data, seed=0)
    rng = np.random.default_rng(0)
    starts = data["observations"][rng.integers(0, data["observations"].shape[0], 50)]
    cals = {(s, p): om.calibration(model, om.ood_policy if p == "ood" else (lambda o: np.zeros((o.shape[0], 1))),
                                   starts, 4, np.random.default_rng(s), (2, 3))
            for s in (0, 1) for p in om.POLICIES}
    recs = []
    for t in om.TASKS:
        for s in (0, 1):
            metrics: dict[str, float] = {"n_starts": 50.0}
            for p in om.POLICIES:
                cal = cals[s, p]
                noise = rng.uniform(0.0, 1.0, cal["error"].size)  # a fresh noise heuristic per cell
                metrics[f"rho_{p}_noise"] = om._spearman(noise, cal["error"])
                for h in om.HEURISTIC_NAMES:
                    metrics[f"rho_{p}_{h}"] = om._spearman(cal[h], cal["error"])
            recs.append(Record(t, "calibration", s, "done", metrics, {}))
    res = Results(recs, om.TASKS, om.METHODS)
    nc = om.negative_control(res)
    assert nc.status is Status.FAILS
    assert not any(e.counts_as_pass for e in nc.evidence)
    # The noise's rank correlation is near 0 on 200 pairs, as it should be.
    assert all(abs(r.metrics["rho_ood_noise"]) < 0.3 for r in recs)


def test_negative_control_on_constructed_cells():
    assert om.negative_control(_results(noise=0.02)).status is Status.FAILS
    # Criterion 1 itself is not broken: the same cells pass it with the real heuristics.
    assert all(e.counts_as_pass for e in (om.positive_correlation(_results(), t, p) for t in om.TASKS
                                          for p in om.POLICIES))


def test_true_next_obs_is_the_simulator_step():
    from guardopt.problems.safe_control import VelocityPendulum

    env = VelocityPendulum(num_envs=6)
    obs, _ = env.reset(seed=3)
    act = np.linspace(-1, 1, 6)[:, None]
    nxt, *_ = env.step(act)
    np.testing.assert_allclose(om.true_next_obs(obs, act), nxt, atol=1e-12)


def test_ood_policy_pumps_along_the_motion():
    np.testing.assert_array_equal(om.ood_policy(np.array([[1.0, 0.0, 0.2], [1.0, 0.0, -0.1]])), [[1.0], [-1.0]])


def test_registered():
    assert "offline-mbrl" in discover().reproductions


@pytest.mark.slow
def test_quick_scale_end_to_end(tmp_path):
    from guardopt.reproduce.runner import run

    summary = run([om.REPRODUCTION], scale="quick", store=tmp_path / "s.db")
    rep = summary.reproductions[0]
    assert rep.failed_now == 0 and rep.done == rep.total
