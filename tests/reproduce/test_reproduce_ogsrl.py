"""Reproduction `ogsrl`: the verdict's criteria on constructed cells, the negative control (a guardian
that admits everything makes criterion (1) FAIL), one real cell, the committed evidence."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from guardopt.reproduce.papers import ogsrl
from guardopt.reproduce.registry import discover
from guardopt.reproduce.spec import Cell, Record, Results

ROOT = Path(__file__).resolve().parents[2]
EVIDENCE = ROOT / "reports" / "evidence" / "ogsrl.jsonl.gz"
DAYS = 20


def _record(method: str, seed: int, ood: float, cost: float, tir: float, gap: float | None) -> Record:
    rng = np.random.default_rng(100 * seed + len(method))
    steps = DAYS * 48
    cost_days = np.clip(np.round(cost * 48 + rng.normal(0, 0.5, DAYS)), 0, 48)
    tir_days = np.clip(tir + rng.normal(0, 0.01, DAYS), 0, 1)
    curves = {"cost_steps": cost_days.tolist(), "tir": tir_days.tolist(),
              "return": (-15 + rng.normal(0, 1, DAYS)).tolist()}
    metrics = {"ood_steps": float(round(ood * steps)), "cost_steps": float(cost_days.sum()), "steps": float(steps),
               "ood_rate": ood, "cost_rate": float(cost_days.sum() / steps), "tir": float(tir_days.mean())}
    if gap is not None:
        curves["abs_gap"] = np.abs(gap + rng.normal(0, 0.2, DAYS)).tolist()
    return Record(ogsrl.TASK, method, seed, "done", metrics, curves)


def _results(guarded_ood: float = 0.04, admit_all_ood: float = 0.4, guarded_cost: float = 0.03,
             guarded_tir: float = 0.85) -> Results:
    recs = []
    for s in range(3):
        recs.append(_record("clinician", s, 0.05, 0.08, 0.78, None))
        recs.append(_record("bc", s, 0.04, 0.02, 0.84, 1.0))
        recs.append(_record(ogsrl.UNGUARDED, s, 0.4, 0.12, 0.80, 3.0))
        recs.append(_record(ogsrl.GUARDED, s, guarded_ood, guarded_cost, guarded_tir, 1.0))
        recs.append(_record(ogsrl.ADMIT_ALL, s, admit_all_ood, 0.12, 0.80, 3.0))
    return Results(recs, ogsrl.TASKS, ogsrl.METHODS)


def test_registered_under_its_name():
    assert "ogsrl" in discover().names


def test_verdict_holds_on_cells_that_meet_every_criterion():
    v = ogsrl.verdict(_results())
    assert v.status.value == "HOLDS", [(e.check, e.value, e.detail) for e in v.evidence]


def test_each_criterion_fails_on_its_own():
    failed = [e.check[:3] for e in ogsrl.verdict(_results(guarded_ood=0.095)).evidence if not e.counts_as_pass]
    assert failed == ["(1)"]  # a point rate of 9.5% whose upper bound (10.5%) exceeds 10% does not pass
    failed = [e.check[:3] for e in ogsrl.verdict(_results(guarded_cost=0.10)).evidence if not e.counts_as_pass]
    assert failed == ["(3)", "(4)"]
    failed = [e.check[:3] for e in ogsrl.verdict(_results(guarded_tir=0.74)).evidence if not e.counts_as_pass]
    assert failed == ["(5)"]


def test_negative_control_admit_all_guardian_fails_criterion_one():
    assert ogsrl.negative_control(_results(admit_all_ood=0.4)).status.value == "FAILS"
    assert ogsrl.negative_control(_results(admit_all_ood=0.03)).status.value == "HOLDS"


def test_missing_cells_are_vacuous_not_passes():
    empty = Results([], ogsrl.TASKS, ogsrl.METHODS)
    assert all(not e.counts_as_pass for e in ogsrl.verdict(empty).evidence)


def test_a_tiny_guarded_cell_records_every_metric(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    settings = {"days": 6, "model_epochs": 1, "model_members": 2, "model_elites": 1, "model_hidden": 16,
                "guardian_points": 200, "iterations": 1, "episodes": 4, "ppo_epochs": 1, "warm_start_steps": 5,
                "bc_steps": 5, "eval_days": 2}
    out = ogsrl.run_cell(Cell("ogsrl", ogsrl.TASK, ogsrl.GUARDED, 0, "quick", settings))
    for k in ("return", "cost_rate", "tir", "ood_rate", "model_return", "abs_gap", "ood_penalty"):
        assert math.isfinite(out.metrics[k]), k
    assert len(out.curves["abs_gap"]) == 2 and len(out.curves["trace_g"]) == 48
    assert out.metrics["steps"] == 2 * 48


@pytest.mark.skipif(not EVIDENCE.exists(), reason="full-scale evidence not generated")
def test_negative_control_fails_on_the_committed_full_run():
    from guardopt.reproduce.runner import load_results
    from guardopt.reproduce.store import open_store

    with open_store(EVIDENCE.parent) as db:
        res = load_results(db, ogsrl.REPRODUCTION, "full")
    assert res.done, "no stored full-scale cells"
    assert ogsrl.negative_control(res).status.value == "FAILS"


@pytest.mark.slow
def test_quick_scale_end_to_end(tmp_path):
    from guardopt.reproduce.runner import load_results, run
    from guardopt.reproduce.store import ResultStore

    run([ogsrl.REPRODUCTION], scale="quick", store=tmp_path / "s.db")
    with ResultStore(tmp_path / "s.db") as db:
        res = load_results(db, ogsrl.REPRODUCTION, "quick")
    assert len(res.done) == len(ogsrl.grid("quick"))
    assert ogsrl.verdict(res).status.value in ("HOLDS", "FAILS", "INCONCLUSIVE")
    assert ogsrl.plots(res, tmp_path)
