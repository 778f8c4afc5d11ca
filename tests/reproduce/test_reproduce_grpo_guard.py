"""The grpo-guard reproduction: declarations, helpers, the verdict on hand-made records, the negative control."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from guardopt.reproduce.papers import grpo_guard as rg
from guardopt.reproduce.registry import discover
from guardopt.reproduce.spec import Outcome, Record, Results, Status

TINY = {"n_data": 500, "pretrain_steps": 60, "iterations": 6, "groups": 2, "group_size": 8, "minibatches": 2,
        "lr": 1e-3, "eval_every": 3, "diag_every": 3, "eval_points": 100, "eval_ode_steps": 5, "n_steps": 5,
        "sample_points": 10}


def _metrics(**over: float) -> dict[str, float]:
    base = {"z_used": 0.3, "z_raw": -5.0, "spread_used": 3.0, "spread_raw": 30.0, "pos_clip_high": 0.2,
            "grad_maxmin": 2.0, "drop_at_1": 0.1, "modes_at_1": 6.5, "clip_eps": 1e-3, "base_gold": -3.4}
    return {**base, **over}


def _records(n: int = 5, guard: dict[str, float] | None = None, flow: dict[str, float] | None = None,
             control: dict[str, float] | None = None) -> Results:
    rng = np.random.default_rng(0)
    recs = []
    for seed in range(n):
        def e() -> float:
            return float(rng.normal(0.0, 0.003))

        g = _metrics(**(guard or {}))
        f = _metrics(**{"z_used": -6.0, "z_raw": -6.0, "spread_used": 30.0, "pos_clip_high": 0.01,
                        "grad_maxmin": 25.0, "drop_at_1": 0.4, "modes_at_1": 6.4, **(flow or {})})
        c = _metrics(**{"z_used": -5.0, "z_raw": -5.0, "spread_used": 30.0, **(control or {})})
        for method, m in ((rg.GUARD, g), (rg.FLOW, f), (rg.CONTROL, c)):
            recs.append(Record(rg.TASK, method, seed, "done", {k: v + e() for k, v in m.items()}, {}))
    return Results(recs, [rg.TASK], list(rg.METHODS))


def test_declarations_and_registry() -> None:
    (rep,) = discover().select(["grpo-guard"])
    assert rep.name == "grpo-guard" and rep.methods == rg.METHODS
    assert rep.scales["full"].seeds >= 5
    assert {c.method for c in rep.cells("quick")} == set(rg.METHODS)
    assert rg.DROP_RATIO == 0.5 and rg.TARGET_GAIN in rg.GAINS


def test_interpolate_at_gain_hand_values() -> None:
    gain = np.array([0.0, 0.4, 1.2, 2.0])
    vals = np.array([-3.0, -3.2, -4.0, -6.0])
    # Gain 1.0 lies 3/4 of the way from 0.4 to 1.2: −3.2 + 0.75·(−0.8) = −3.8.
    assert rg.interpolate_at_gain(gain, vals, 1.0) == pytest.approx(-3.8)
    assert rg.interpolate_at_gain(gain, vals, 0.0) == pytest.approx(-3.0)
    assert math.isnan(rg.interpolate_at_gain(gain, vals, 2.5))


def test_step_statistics_hand_values() -> None:
    # Two steps with n = 4: means 0.5 and −0.5, standard deviations 1 and 2.
    n = np.array([4.0, 4.0])
    sums = np.array([2.0, -2.0])
    sq = np.array([4 * (1.0 + 0.25), 4 * (4.0 + 0.25)])
    z1, z2 = 0.5 / (1.0 / 2.0), -0.5 / (2.0 / 2.0)
    assert rg.pooled_z(sums, sq, n) == pytest.approx((z1 + z2) / math.sqrt(2))
    assert rg.mean_abs_shift(sums, sq, n) == pytest.approx((0.5 + 0.25) / 2)
    assert rg.spread_ratio(sums, sq, n) == pytest.approx(2.0)
    assert math.isnan(rg.pooled_z(sums, sq, np.zeros(2)))


def test_verdict_holds_when_every_line_passes() -> None:
    v = rg.verdict(_records())
    assert v.status is Status.HOLDS, [(e.check, e.value, e.outcome) for e in v.evidence]
    assert len(v.evidence) == 7


def test_outcome_fails_when_the_drop_is_not_halved() -> None:
    v = rg.verdict(_records(guard={"drop_at_1": 0.3}))
    outcome = next(e for e in v.evidence if e.check.startswith("(4)"))
    assert outcome.outcome is Outcome.FAIL and v.status is Status.FAILS


def test_diversity_tolerance_is_a_non_inferiority_margin() -> None:
    ok = next(e for e in rg.verdict(_records(guard={"modes_at_1": 6.3})).evidence if e.check.startswith("(5)"))
    bad = next(e for e in rg.verdict(_records(guard={"modes_at_1": 5.9})).evidence if e.check.startswith("(5)"))
    assert ok.counts_as_pass and bad.outcome is Outcome.FAIL


def test_unreached_gain_is_inconclusive_not_a_pass() -> None:
    v = rg.verdict(_records(guard={"drop_at_1": math.nan}))
    outcome = next(e for e in v.evidence if e.check.startswith("(4)"))
    assert outcome.outcome is Outcome.INCONCLUSIVE and v.status is not Status.HOLDS


def test_negative_control_fails_check_one_on_hand_made_records() -> None:
    res = _records()
    assert rg.bias_removed(res).counts_as_pass
    neg = rg.negative_control_check(res)
    assert neg.outcome is Outcome.FAIL
    assert "Negative control" in rg.extra_markdown(res)


def test_negative_control_fails_check_one_on_real_training() -> None:
    """Normalization disabled: the clipped ratio keeps the raw ratio's step-dependent spread, so (1) FAILS."""
    pytest.importorskip("torch")
    sj = json.dumps({**rg.SETTINGS, **TINY}, sort_keys=True)
    recs = []
    for method in (rg.GUARD, rg.CONTROL):
        out = rg._run(method, 0.01, 0, sj)
        recs.append(Record(rg.TASK, method, 0, "done", dict(out["metrics"]), dict(out["curves"])))
    res = Results(recs, [rg.TASK], list(rg.METHODS))
    guard = rg.bias_removed(res)
    control = rg.negative_control_check(res)
    assert control.outcome is Outcome.FAIL and control.value == pytest.approx(1.0)
    assert guard.value < rg.SPREAD_REDUCTION  # the normalized ratio's spread is s_t-free
    m = out["metrics"]
    assert np.isfinite(m["base_gold"]) and m["iterations_run"] >= 3


@pytest.mark.slow
def test_quick_scale_end_to_end() -> None:
    rep = rg.REPRODUCTION
    recs = []
    for cell in rep.cells("quick"):
        out = rg.run_cell(cell)
        recs.append(Record(cell.task, cell.method, cell.seed, "done", dict(out.metrics), dict(out.curves)))
    res = Results(recs, [rg.TASK], list(rg.METHODS))
    v = rg.verdict(res)
    assert len(v.evidence) == 7
    assert rg.negative_control_check(res).outcome is Outcome.FAIL
    assert "Tuning" in rg.extra_markdown(res)
