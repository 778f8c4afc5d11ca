"""The seldonian-fairness reproduction: real cells, the tuning, and the verdict logic on made-up records."""

from __future__ import annotations

import math

import pytest

from guardopt.reproduce.papers import seldonian_fairness as sf
from guardopt.reproduce.papers.seldonian_fairness import REPRODUCTION, run_cell
from guardopt.reproduce.spec import Cell, Outcome, Record, Results, Status
from guardopt.reproduce.tuning import TUNING_SEED_OFFSET

SIZES = (100, 1000, 30000)
TINY = {"eg_splits": 0, "eg_max_size": 0, "tune_size": 200, "tune_seeds": 1}


def test_one_cell_runs_with_its_tuned_l2():
    cell = Cell("seldonian-fairness", "sex", "logreg", 0, "quick", {"sizes": (30000,), **TINY})
    out = run_cell(cell)
    assert out.curves["size"] == [30000.0]
    assert out.curves["returned"] == [1.0]
    tuning = sf.tuned("sex", "logreg", 200, 1)
    assert out.metrics["tuned_l2"] == tuning.chosen["l2"] and tuning.chosen["l2"] in sf.L2_GRID
    assert min(tuning.seeds) >= TUNING_SEED_OFFSET  # disjoint from the evaluation splits
    assert [out.metrics[f"tune_score_{i}"] for i in range(len(sf.L2_GRID))] == [s for _, s in tuning.scores]
    skipped = run_cell(Cell("seldonian-fairness", "sex", "fairlearn-eg", 3, "quick",
                            {"sizes": (300,), **TINY, "eg_splits": 1}))
    assert skipped.metrics == {"skipped": 1.0}


def test_every_method_gets_the_same_grid_and_seeds():
    results = {m: sf.tuned("age", m, 200, 1) for m in ("seldonian", "logreg", "lagrangian")}
    for res in results.values():
        assert [s["l2"] for s, _ in res.scores] == list(sf.L2_GRID)
        assert res.seeds == results["seldonian"].seeds
    # logreg is scored on accuracy only (a score in [0, 1]); constrained methods lose 1 when infeasible.
    assert all(0.0 <= s <= 1.0 for _, s in results["logreg"].scores)


def _records(sel_violated: list[float], sel_returned: list[float], seeds: int = 30,
             base_violated: tuple[float, ...] = (1.0, 0.0, 1.0)) -> list[Record]:
    recs = []
    for seed in range(seeds):
        for task in ("sex", "age"):
            recs.append(Record(task, "seldonian", seed, "done", {}, {
                "size": list(SIZES), "returned": sel_returned, "violated": sel_violated,
                "gap": [0.0] * 3, "accuracy": [0.7] * 3}))
            for m in ("logreg", "lagrangian"):
                recs.append(Record(task, m, seed, "done", {}, {
                    "size": list(SIZES), "returned": [1.0] * 3, "violated": list(base_violated),
                    "gap": [0.1] * 3, "accuracy": [0.7] * 3}))
    return recs


def _verdict(recs: list[Record], method: str = "seldonian"):
    return sf.verdict(Results(recs, ("sex", "age"), REPRODUCTION.methods), method)


def _outcome(v, fragment: str, task: str = "sex") -> Outcome:
    [e] = [e for e in v.evidence if e.check.startswith(f"{task}: ") and fragment in e.check]
    return e.outcome


def test_verdict_holds_and_fails_from_numbers():
    # 30 splits x 3 sizes = 90 trials (60 returned), 0 violations: CP upper 1 - 0.05 ** (1/90) <= 0.05.
    good = _verdict(_records([0.0, 0.0, 0.0], [0.0, 1.0, 1.0]))
    assert good.status is Status.HOLDS
    [e] = [e for e in good.evidence if e.check.startswith("sex: (1)") and "over all trials" in e.check]
    assert math.isclose(e.value, 1 - 0.05 ** (1 / 90), rel_tol=1e-6)
    # Seldonian returning only violating classifiers: claims (1) and (2) fail.
    bad = _verdict(_records([0.0, 1.0, 1.0], [0.0, 1.0, 1.0]))
    assert bad.status is Status.FAILS
    assert _outcome(bad, "over all trials") is Outcome.FAIL
    assert _outcome(bad, "logreg violates more often") is Outcome.FAIL
    # No growth of the solution rate: claim (3) fails.
    flat = _verdict(_records([0.0] * 3, [1.0, 1.0, 1.0]))
    assert _outcome(flat, "(3)") is Outcome.FAIL
    # A baseline that violates rarely is not "more often than delta": its lower bound is below delta.
    mild = _verdict(_records([0.0] * 3, [0.0, 1.0, 1.0], base_violated=(0.0, 0.0, 0.0)))
    assert _outcome(mild, "logreg violation rate > delta") is Outcome.FAIL


def test_one_violation_in_ninety_fails_the_strict_bound():
    recs = _records([0.0, 0.0, 0.0], [0.0, 1.0, 1.0])
    recs[0] = Record("sex", "seldonian", 0, "done", {}, {"size": list(SIZES), "returned": [0.0, 1.0, 1.0],
                                                        "violated": [0.0, 1.0, 0.0], "gap": [0.0] * 3,
                                                        "accuracy": [0.7] * 3})
    v = _verdict(recs)  # 1/90 = 0.011 < delta, but its CP upper bound (0.052) is above delta
    assert _outcome(v, "over all trials") is Outcome.FAIL
    assert _outcome(v, "over all trials", task="age") is Outcome.PASS
    assert v.status is Status.FAILS


def test_baseline_comparison_is_paired_on_the_sizes_both_ran():
    recs = _records([0.0, 0.0, 1.0], [0.0, 1.0, 1.0])  # Seldonian violates only at n = 30000
    for seed in range(10):
        for task in ("sex", "age"):  # fairlearn-eg ran on 10 splits, not at n = 30000
            recs.append(Record(task, "fairlearn-eg", seed, "done", {}, {
                "size": list(SIZES), "returned": [1.0, 1.0, math.nan], "violated": [1.0, 0.0, math.nan],
                "gap": [0.1, 0.0, math.nan], "accuracy": [0.7, 0.7, math.nan]}))
    v = _verdict(recs)
    [e] = [e for e in v.evidence if e.check.startswith("sex: (2) fairlearn-eg violates more often")]
    # On n = 100 and 1000: Seldonian 0 violations, fairlearn 1 of 2 per split: mean gain 0.5, 10 pairs.
    assert e.outcome is Outcome.PASS and "mean gain 0.5," in e.detail and "10 pairs" in e.detail
    assert _outcome(v, "fairlearn-eg violation rate > delta") is Outcome.PASS  # 10/20, lower bound 0.30


def test_too_few_trials_is_inconclusive_and_nothing_returned_is_vacuous():
    few = _verdict(_records([0.0] * 3, [0.0, 1.0, 1.0], seeds=5))  # 15 trials: 0 events can't pass
    assert _outcome(few, "over all trials") is Outcome.INCONCLUSIVE
    assert few.status is Status.INCONCLUSIVE
    none = _verdict(_records([0.0] * 3, [0.0, 0.0, 0.0]))
    assert _outcome(none, "over all trials") is Outcome.VACUOUS
    assert _outcome(none, "among the returned") is Outcome.VACUOUS
    assert none.status is not Status.HOLDS


def test_negative_control_point_estimate_release_fails_the_verdict():
    """The two-step without a confidence bound, run for real and judged in the Seldonian method's place."""
    settings = {"sizes": (100, 300), **TINY}
    recs = []
    for seed in range(10):
        for method in (sf.NEGATIVE_CONTROL, "seldonian"):
            out = run_cell(Cell("seldonian-fairness", "sex", method, seed, "quick", settings))
            recs.append(Record("sex", method, seed, "done", out.metrics, out.curves))
    results = Results(recs, ("sex",), REPRODUCTION.methods)
    control = sf.verdict(results, sf.NEGATIVE_CONTROL)
    assert control.status is Status.FAILS
    assert _outcome(control, "among the returned") is Outcome.FAIL
    honest = sf.verdict(results)
    assert _outcome(honest, "among the returned") is not Outcome.FAIL


@pytest.mark.parametrize("scale", ["quick", "full"])
def test_scales_declare_tuning(scale):
    settings = REPRODUCTION.scales[scale].settings
    assert settings["tune_seeds"] >= 1 and settings["tune_size"] in (300, 1000)
