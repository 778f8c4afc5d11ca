"""The metric-pluralism reproduction: shifts, a real joint cell, the count rule, the negative control."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.reproduce.papers import metric_pluralism as mpl
from guardopt.reproduce.spec import Cell, Outcome, Record, Results, Status


def test_declarations_and_shifts():
    r = mpl.REPRODUCTION
    assert r.name == "metric-pluralism" and len(mpl.SHIFTS) == 10 and mpl.NEEDED == 7
    data = mpl.split("synthetic", 0)
    w = mpl.shift_weights(data["test"])
    assert len(w) == 10 and all(np.all(x > 0) for x in w)
    g = data["test"]["g"]
    assert np.all(w[0][g == 1] == 2.0) and np.all(w[0][g == 0] == 1.0)


@pytest.fixture(scope="module")
def joint_record() -> Record:
    res = mpl.run_cell(Cell("metric-pluralism", "synthetic", "joint", 0, "quick", {"tune_seeds": 1}))
    return Record("synthetic", "joint", 0, "done", dict(res.metrics), dict(res.curves))


def _fixture(joint: Record, worst: dict[str, list[float]], seeds: int = 4) -> Results:
    recs = []
    for s in range(seeds):
        for method in mpl.OURS:
            noise = 0.001 * s
            wv = [v + noise for v in worst[method]]
            curves = {"worst_violation": wv, "dp": [v + mpl.TAU for v in wv], "eo": [v + mpl.TAU for v in wv],
                      "accuracy": [0.7 - 0.01 * (method == "joint")] * 10}
            metrics = dict(joint.metrics) if method == "joint" else {}
            metrics["worst_shift_accuracy"] = min(curves["accuracy"]) + noise
            recs.append(Record("synthetic", method, s, "done", metrics, curves))
    return Results(recs, ["synthetic"], list(mpl.METHODS))


def _outcome(verdict, prefix: str) -> Outcome:
    [e] = [e for e in verdict.evidence if e.check.startswith(prefix)]
    assert e.outcome is not None
    return e.outcome


def test_real_joint_cell_checks_one_and_two(joint_record):
    m = joint_record.metrics
    assert m["cal_gap_0"] > mpl.TAU  # base rates 0.3 vs 0.5: calibration + equal error rates infeasible
    assert m["cal_gap_equal_base_rates"] <= mpl.TAU
    assert m["cal_gap_ignored"] == pytest.approx(0.0, abs=1e-6)
    assert m["solved"] == 1.0 and m["accuracy_cost"] >= -1e-9
    assert m["test_dp"] < 0.1 and m["test_eo"] < 0.1


def test_shift_count_rule(joint_record):
    better = {"joint": [0.0] * 10, "dp-only": [0.1] * 10, "eo-only": [0.2] * 10, "unconstrained": [0.3] * 10}
    v = mpl.verdict(_fixture(joint_record, better))
    assert _outcome(v, "synthetic: (1) calibration") is Outcome.PASS
    assert _outcome(v, "synthetic: (3) shifts") is Outcome.PASS
    ties = dict(better, **{"dp-only": [0.0] * 10})  # dp-only as good as joint: no shift counts
    v = mpl.verdict(_fixture(joint_record, ties))
    assert _outcome(v, "synthetic: (3) shifts") is Outcome.FAIL
    assert v.status is Status.FAILS


def test_negative_control_fails(joint_record):
    better = {"joint": [0.0] * 10, "dp-only": [0.1] * 10, "eo-only": [0.2] * 10, "unconstrained": [0.3] * 10}
    v = mpl.negative_control_verdict(_fixture(joint_record, better))
    assert _outcome(v, "synthetic: (1) calibration") is Outcome.FAIL
    assert v.status is Status.FAILS
