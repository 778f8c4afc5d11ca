"""The `neur2ro` reproduction: cells run and score exactly, the verdict follows its stored numbers, the
tuning is on disjoint instances, and an untrained value network makes the verdict FAIL."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.reproduce.papers import neur2ro as mod
from guardopt.reproduce.spec import Cell, Outcome, Record, Results, Status
from guardopt.reproduce.tuning import TUNING_SEED_OFFSET

TINY = {"torch_threads": 1, "train_instances": 6, "first_stage_samples": 4, "scenario_samples": 5, "epochs": 2,
        "batch_size": 64, "lr": 1e-3, "n8_instances": 3, "n10_instances": 1, "cross_check_pairs": 2}


def _cell(method: str, task: str = "n8", seed: int = 0, **over: object) -> Cell:
    return Cell("neur2ro", task, method, seed, "quick", {**TINY, **over})


def _record(method: str, gaps: list[float], nominal: list[float], task: str = "n8", seed: int = 0,
            converged: float = 1.0) -> Record:
    return Record(task, method, seed, "done", {"mean_gap": float(np.mean(gaps))},
                  {"gaps": gaps, "nominal_gaps": nominal, "converged": [converged] * len(gaps),
                   "iterations": [3.0] * len(gaps)})


NOMINAL = [0.0, 0.05, 0.04, 0.06, 0.03, 0.07, 0.0, 0.02, 0.05, 0.04]


def test_verdict_from_hand_built_records() -> None:
    good = [0.0, 0.01, 0.0, 0.02, 0.0, 0.01, 0.0, 0.0, 0.03, 0.0]  # mean 0.007, better on 8/8 beatable
    res = Results([_record(mod.ML, good, NOMINAL)], mod.TASKS, mod.METHODS)
    v = mod.verdict(res)
    assert v.status is Status.INCONCLUSIVE  # the untestable claims keep it from HOLDS
    ev = mod.method_evidence(res, mod.ML)
    assert [e.outcome for e in ev] == [Outcome.PASS] * 6
    assert ev[0].value == pytest.approx(0.007)
    assert ev[2].value == pytest.approx(0.8) and "8/10" in ev[2].detail  # as stated: all ten instances
    assert ev[3].value == pytest.approx(1.0) and "8/8" in ev[3].detail and "2 pair(s)" in ev[3].detail
    assert sum(e.outcome is Outcome.INCONCLUSIVE for e in v.evidence) == 3
    # One instance worse than nominal and a mean above 3%: the gap checks and the count fail.
    bad = [0.0, 0.2, 0.0, 0.02, 0.0, 0.01, 0.0, 0.0, 0.09, 0.0]
    ev = mod.method_evidence(Results([_record(mod.ML, bad, NOMINAL)], mod.TASKS, mod.METHODS), mod.ML)
    assert ev[1].outcome is Outcome.FAIL and ev[1].value == pytest.approx(0.032)
    assert ev[2].value == pytest.approx(6 / 10) and ev[2].outcome is Outcome.FAIL
    assert ev[3].value == pytest.approx(6 / 8) and ev[3].outcome is Outcome.FAIL
    # A run that hit the iteration cap fails the convergence check.
    ev = mod.method_evidence(Results([_record(mod.ML, good, NOMINAL, converged=0.0)], mod.TASKS, mod.METHODS),
                             mod.ML)
    assert ev[5].outcome is Outcome.FAIL
    assert mod.verdict(Results([_record(mod.ML, bad, NOMINAL)], mod.TASKS, mod.METHODS)).status is Status.FAILS


def test_empty_verdict_is_inconclusive_and_nominal_optimal_everywhere_is_inconclusive() -> None:
    assert mod.verdict(Results([], mod.TASKS, mod.METHODS)).status is Status.INCONCLUSIVE
    zeros = [0.0] * 4
    ev = mod.method_evidence(Results([_record(mod.ML, zeros, zeros)], mod.TASKS, mod.METHODS), mod.ML)
    assert ev[3].outcome is Outcome.INCONCLUSIVE
    assert ev[2].outcome is Outcome.FAIL  # as stated, nothing beats an optimal nominal solution


def test_baseline_and_exact_cells_score_exactly() -> None:
    exact = mod.run_cell(_cell("exact"))
    assert exact.curves["gaps"] == [0.0, 0.0, 0.0]
    assert exact.metrics["milp_cross_check"] < 1e-6  # enumeration agrees with HiGHS
    nominal = mod.run_cell(_cell("nominal"))
    assert nominal.curves["gaps"] == nominal.curves["nominal_gaps"]
    assert all(g >= 0 for g in nominal.curves["gaps"])
    # The held-out instance set is fixed: instance 0's nominal solution is optimal, instance 1's is not.
    assert nominal.curves["gaps"][0] == pytest.approx(0.0, abs=1e-9)
    assert nominal.curves["gaps"][1] > 0.01


def test_tuning_instances_are_disjoint_from_the_evaluation_instances() -> None:
    from guardopt.reproduce.tuning import tuning_seeds

    eval_seeds = {mod.EVAL_SEED["n8"] + i for i in range(10)} | {mod.EVAL_SEED["n10"] + i for i in range(10)}
    train_seeds = {mod.TRAIN_SEED + 100_000 * s + i for s in range(3) for i in range(200)}
    tune = set(tuning_seeds(mod.TUNING_INSTANCES))
    assert not eval_seeds & tune and not train_seeds & tune and not train_seeds & eval_seeds


@pytest.mark.slow
def test_scenario_baseline_is_tuned_on_disjoint_instances() -> None:
    tuning = mod.tuned_scenarios()
    assert min(tuning.seeds) >= TUNING_SEED_OFFSET
    assert tuning.chosen["n_scenarios"] in mod.SCENARIO_GRID["n_scenarios"]
    assert len(tuning.scores) == len(mod.SCENARIO_GRID["n_scenarios"])
    eval_seeds = {mod.EVAL_SEED["n8"] + i for i in range(10)} | {mod.EVAL_SEED["n10"] + i for i in range(10)}
    assert not eval_seeds & set(tuning.seeds)


def test_negative_control_untrained_network_fails_the_verdict() -> None:
    pytest.importorskip("torch")
    out = mod.run_cell(_cell(mod.UNTRAINED, n8_instances=1))
    assert out.metrics["encoding_error"] < 1e-6
    # Relabel the untrained run as the verdict's method: the same checks must say FAILS.
    rec = Record("n8", mod.ML, 0, "done", out.metrics, out.curves)
    v = mod.verdict(Results([rec], mod.TASKS, mod.METHODS))
    assert v.status is Status.FAILS
    assert any(e.outcome is Outcome.FAIL for e in mod.method_evidence(Results([rec], mod.TASKS, mod.METHODS)))
    assert not math.isnan(out.metrics["mean_gap"])


@pytest.mark.slow
def test_quick_scale_end_to_end(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from guardopt.reproduce.runner import run

    summary = run([mod.REPRODUCTION], store=tmp_path / "r.db", scale="quick")
    assert not summary.has_errors
    rep = summary.reproductions[0]
    assert rep.done == rep.total == len(mod.grid("quick")) and rep.failed == 0
