"""The `empg` reproduction: registry, verdict logic on hand-made cells, the negative control, a quick run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from scipy import stats

from guardopt.reproduce.papers import empg
from guardopt.reproduce.registry import discover
from guardopt.reproduce.spec import Outcome, Record, Results, Status

ROOT = Path(__file__).resolve().parents[2]
EVIDENCE = ROOT / "reports" / "evidence" / "empg.jsonl.gz"


def _results(success: dict[str, list[float]], kl: dict[str, list[float]] | None = None,
             gens: float = 115200.0) -> Results:
    kl = kl or {"empg": [0.01, 0.012, 0.011], "grpo": [0.03, 0.02, 0.04], "empg-constant": [0.03, 0.02, 0.04]}
    recs = [Record(empg.TASK, m, seed, "done", {"success": success[m][seed], "max_update_kl": kl[m][seed],
                                                "generations": gens}, {})
            for m in success for seed in range(len(success[m]))]
    return Results(recs, [empg.TASK], list(empg.METHODS))


CLEAR = {"empg": [0.80, 0.82, 0.85], "grpo": [0.60, 0.61, 0.66], "empg-constant": [0.60, 0.61, 0.66]}


def test_registered() -> None:
    rep = discover().select(["empg"])[0]
    assert rep.name == "empg" and rep.methods[0] == "empg" and "grpo" in rep.methods
    assert rep.scales["full"].seeds == 3 and empg.SETTINGS["updates"] == 300


def test_verdict_holds_on_clear_numbers() -> None:
    v = empg.verdict(_results(CLEAR))
    assert v.status is Status.HOLDS, [(e.check, e.value, e.threshold) for e in v.evidence]


def test_success_line_is_a_paired_lower_bound_with_a_five_point_margin() -> None:
    e = empg.success_check(_results(CLEAR))
    gains = [0.20, 0.21, 0.19]
    mean, se = sum(gains) / 3, stats.tstd(gains) / math.sqrt(3)
    assert e.value == pytest.approx(mean - stats.t.ppf(0.95, 2) * se, rel=1e-6)
    assert e.threshold == 0.05 and e.passed
    # A 4-point gain, however consistent, is below "+5 points".
    small = {**CLEAR, "empg": [0.64, 0.65, 0.70]}
    assert not empg.success_check(_results(small)).passed


def test_kl_line_direction() -> None:
    res = _results(CLEAR, kl={"empg": [0.03, 0.04, 0.05], "grpo": [0.01, 0.02, 0.02],
                              "empg-constant": [0.01, 0.02, 0.02]})
    assert not empg.kl_check(res).passed
    assert empg.verdict(res).status is Status.FAILS


def test_unequal_budgets_fail() -> None:
    recs = _results(CLEAR).records
    recs[0] = Record(recs[0].task, recs[0].method, recs[0].seed, "done", {**recs[0].metrics, "generations": 1.0}, {})
    assert empg.budget_check(Results(recs, [empg.TASK], list(empg.METHODS))).outcome is Outcome.FAIL


def test_missing_cells_are_inconclusive() -> None:
    res = _results({"empg": [0.8], "grpo": [0.6], "empg-constant": [0.6]})
    assert empg.verdict(res).status is Status.INCONCLUSIVE


def test_negative_control_makes_the_success_line_fail() -> None:
    # The control's advantages are GRPO's (tests/align/test_empg.py), so its cells track GRPO's.
    res = _results(CLEAR)
    assert empg.success_check(res).passed
    neg = empg.success_check(res, empg.CONTROL)
    assert neg.outcome is Outcome.FAIL and not neg.counts_as_pass


def test_negative_control_fails_on_the_stored_cells(tmp_path) -> None:
    from guardopt.reproduce.store import ResultStore

    if not EVIDENCE.exists():
        pytest.skip("no committed evidence for empg")
    with ResultStore(tmp_path / "ev.db") as db:
        db.import_jsonl(EVIDENCE)
        recs = [r.to_record() for r in db.load("empg", "full")]
    if not recs:
        pytest.skip("no full-scale cells in the committed evidence")
    res = Results(recs, [empg.TASK], list(empg.METHODS))
    neg = empg.success_check(res, empg.CONTROL)
    assert not neg.counts_as_pass, (neg.value, neg.detail)


def test_report_markdown_renders() -> None:
    md = empg.extra_markdown(_results(CLEAR))
    assert "Negative control" in md and "Learning-rate tuning" in md and "ALFWorld" in md


@pytest.mark.slow
def test_quick_reproduction_runs(tmp_path) -> None:
    from guardopt.reproduce.runner import run
    from guardopt.reproduce.store import ResultStore

    run([empg.REPRODUCTION], scale="quick", store=tmp_path / "q.db")
    with ResultStore(tmp_path / "q.db") as db:
        recs = [r.to_record() for r in db.load("empg", "quick")]
    assert {r.method for r in recs} == set(empg.METHODS) and all(r.status == "done" for r in recs)
    res = Results(recs, [empg.TASK], list(empg.METHODS))
    # One seed: too few pairs for an interval, so the verdict cannot hold at the quick scale.
    assert empg.verdict(res).status is not Status.HOLDS
    grpo, control = res.metric("success", empg.TASK, "grpo"), res.metric("success", empg.TASK, empg.CONTROL)
    assert abs(float(grpo[0]) - float(control[0])) <= 0.05
