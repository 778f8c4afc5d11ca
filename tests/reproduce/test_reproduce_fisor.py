"""Reproduction `fisor`: the verdict's criteria on constructed cells, the negative control, one real cell."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from guardopt.reproduce.papers import fisor
from guardopt.reproduce.registry import discover
from guardopt.reproduce.spec import Cell, Record, Results

ROOT = Path(__file__).resolve().parents[2]
EVIDENCE = ROOT / "reports" / "evidence" / "fisor.jsonl.gz"


def _record(task: str, method: str, seed: int, cost: float, reward: float, **extra: float) -> Record:
    rng = np.random.default_rng(seed + 17 * len(method))
    ep_cost = np.clip(cost + 0.05 * rng.standard_normal(20), 0, None)
    ep_reward = reward + 0.02 * rng.standard_normal(20)
    curves = {"episode_cost": ep_cost.tolist(), "episode_reward": ep_reward.tolist()}
    for k in ("ab", "nc", "n4"):
        if f"{k}_cost" in extra:
            curves[f"{k}_episode_cost"] = np.clip(extra[f"{k}_cost"] + 0.05 * rng.standard_normal(20), 0, None).tolist()
            curves[f"{k}_episode_reward"] = (extra.get(f"{k}_reward", reward) + 0.02 * rng.standard_normal(20)).tolist()
    metrics = {"reward": float(ep_reward.mean()), "cost": float(ep_cost.mean()), **extra}
    return Record(task, method, seed, "done", metrics, curves)


def _results(fisor_cost: float = 0.2, nc_cost: float = 3.0, iou: float = 0.9) -> Results:
    recs = []
    for t in fisor.TASKS:
        for s in range(3):
            extra = {"ab_cost": 2.0, "ab_reward": 0.7, "nc_cost": nc_cost, "n4_cost": 0.3}
            if t == "PointRobot":
                extra.update({"iou_0": iou, "iou_1": iou, "iou_trivial_0": 0.79, "iou_trivial_1": 0.79})
            recs.append(_record(t, "fisor", s, fisor_cost, 0.6, **extra))
            recs.append(_record(t, "bc-all", s, 2.5, 0.8))
            recs.append(_record(t, "bc-safe", s, 0.5 if t != "PointCircle" else 1.6, 0.5))
            recs.append(_record(t, "cpq", s, 3.0, 0.2))
            recs.append(_record(t, "iql-lag", s, 1.5, 0.6))
    return Results(recs, fisor.TASKS, fisor.METHODS)


def test_registered_under_its_name():
    assert "fisor" in discover().names


def test_verdict_holds_on_cells_that_meet_every_criterion():
    v = fisor.verdict(_results())
    assert v.status.value == "HOLDS", [(e.check, e.value, e.counts_as_pass) for e in v.evidence]


def test_verdict_fails_when_fisor_is_unsafe_on_one_task():
    res = _results()
    for r in res.records:
        if r.method == "fisor" and r.task == "VelocityPendulum":
            r.curves["episode_cost"] = [1.3] * 20
    v = fisor.verdict(res)
    assert v.status.value == "FAILS"
    failed = [e.check for e in v.evidence if not e.counts_as_pass]
    assert failed == ["VelocityPendulum: fisor normalized cost <= 1 (95% upper bound over episodes)"]


def test_a_cost_just_under_one_with_wide_spread_does_not_pass():
    # mean 0.95 but episodes spread 0–1.9: the upper bound exceeds 1 (strict direction)
    res = _results()
    for r in res.records:
        if r.method == "fisor" and r.task == "PointRobot":
            r.curves["episode_cost"] = [0.0, 1.9] * 10
    assert not fisor.safe_on(res, "PointRobot", "fisor").counts_as_pass


def test_negative_control_fails_criterion_one_on_constructed_cells():
    assert fisor.negative_control(_results(nc_cost=3.0)).status.value == "FAILS"
    assert fisor.negative_control(_results(nc_cost=0.1)).status.value == "HOLDS"


@pytest.mark.skipif(not EVIDENCE.exists(), reason="full-scale evidence not generated")
def test_negative_control_fails_on_the_committed_full_run():
    from guardopt.reproduce.runner import load_results
    from guardopt.reproduce.store import open_store

    with open_store(EVIDENCE.parent) as db:
        res = load_results(db, fisor.REPRODUCTION, "full")
    assert res.done, "no stored full-scale cells"
    assert fisor.negative_control(res).status.value == "FAILS"


def test_iou_criteria_need_a_real_map():
    assert fisor.iou_check(_results(iou=0.69)).counts_as_pass is False
    # a map at 0.75 passes the 0.7 threshold but does not beat the all-feasible map (0.79)
    res = _results(iou=0.75)
    assert fisor.iou_check(res).counts_as_pass and not fisor.iou_beats_trivial(res).counts_as_pass
    assert fisor.iou_check(Results([], fisor.TASKS, fisor.METHODS)).outcome.value == "VACUOUS"


def test_feasible_iou_of_the_analytic_map_is_one():
    from guardopt.problems.safe_control import PointRobot

    (x0, x1), (y0, y1), nx, ny = fisor.IOU_WINDOW
    xs, ys = np.linspace(x0, x1, nx), np.linspace(y0, y1, ny)

    class Oracle:
        def feasibility_value(self, obs: np.ndarray) -> np.ndarray:
            v, th = obs[0, 2], math.atan2(obs[0, 4], obs[0, 3])
            ok = PointRobot.avoidable_set(xs, ys, v, th).ravel()
            return np.where(ok, -1.0, 1.0)

    iou, learned, _ = fisor.feasible_iou(Oracle(), 2.0, 0.0)
    assert iou == 1.0 and learned.shape == (ny, nx)


def test_one_quick_fisor_cell_records_every_metric():
    settings = {"steps": 5, "episodes_data": 20, "eval_episodes": 3, "tuning_seeds": 0, "hidden": 16}
    out = fisor.run_cell(Cell("fisor", "PointRobot", "fisor", 0, "quick", settings))
    for k in ("reward", "cost", "ab_cost", "nc_cost", "n4_cost", "iou_0", "iou_1", "iou_trivial_0"):
        assert math.isfinite(out.metrics[k]), k
    assert len(out.curves["episode_cost"]) == 3 and len(out.curves["ab_episode_cost"]) == 3


@pytest.mark.slow
def test_quick_scale_end_to_end(tmp_path):
    from guardopt.reproduce.runner import load_results, run
    from guardopt.reproduce.store import ResultStore

    run([fisor.REPRODUCTION], scale="quick", store=tmp_path / "s.db")
    with ResultStore(tmp_path / "s.db") as db:
        res = load_results(db, fisor.REPRODUCTION, "quick")
    assert len(res.done) == len(fisor.grid("quick"))
    assert fisor.verdict(res).status.value in ("HOLDS", "FAILS", "INCONCLUSIVE")
    assert fisor.plots(res, tmp_path)
