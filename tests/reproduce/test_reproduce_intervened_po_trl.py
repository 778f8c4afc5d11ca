"""The TRL cross-check cells of `intervened-po`: full scale only, outside the verdict, reported with a tolerance."""

from __future__ import annotations

import pytest

from guardopt.reproduce.papers import intervened_po as ipo
from guardopt.reproduce.spec import Record, Results


def _results() -> Results:
    """The verdict's arms with clear numbers (as in test_reproduce_intervened_po)."""
    rates = {"intervened-po": (50, 20), "grpo": (400, 300), "rs-sft": (450, 200), "dpo-full": (300, 250),
             "dpo-part": (60, 30), "intervened-po-cue": (800, 500), "base": (800, 650)}
    recs = []
    for seed in range(3):
        for m, (ah, rh) in rates.items():
            correct, refusal = [1.0] * 400 + [0.0] * 100, [0.0] * 490 + [1.0] * 10
            metrics = {"n_harm": 1000.0, "answer_harm_k": float(ah), "reasoning_harm_k": float(rh),
                       "n_benign": 500.0, "correct_k": sum(correct), "refusal_k": sum(refusal),
                       "generations": 4096.0 if m != "base" else 0.0, "answer_harm_jailbreak": 0.5,
                       **({"jb_groups": 100.0, "jb_zero_var_k": 90.0} if m == "grpo" else {})}
            recs.append(Record(ipo.TASK, m, seed, "done", metrics,
                               {"benign_correct": correct, "benign_refusal": refusal}))
    return Results(recs, [ipo.TASK], list(ipo.METHODS))


def _xc(method: str, seed: int, **metrics: float) -> Record:
    base = {"answer_harm": 0.2, "reasoning_harm": 0.1, "benign_accuracy": 0.6, "over_refusal": 0.02,
            "heldout_reward": 0.7, "train_reward": 0.5, "zero_variance_share": 0.4}
    return Record(ipo.TASK, method, seed, "done", {**base, **metrics}, {})


def _with_xc(**trl: float) -> Results:
    res = _results()
    recs = list(res.done)
    for seed in range(3):
        recs += [_xc(m, seed) for m in ("llama-base", "llama-dpo", "llama-grpo")]
        shifted = {k: v + 0.01 * seed for k, v in trl.items()}
        recs += [_xc(m, seed, **shifted) for m in ("llama-dpo-trl", "llama-grpo-trl")]
    return Results(recs, [ipo.TASK], list(ipo.REPRODUCTION.methods))


def test_the_cross_check_runs_at_full_scale_only_and_leaves_the_old_cells_alone() -> None:
    quick = {c.method for c in ipo.REPRODUCTION.cells("quick")}
    full = ipo.REPRODUCTION.cells("full")
    assert quick == set(ipo.METHODS)
    assert {c.method for c in full} == set(ipo.METHODS) | set(ipo.XC_METHODS)
    assert all(dict(c.settings) == {} for c in full)  # the stored cells' settings key is unchanged
    assert not set(ipo.XC_METHODS) & (set(ipo.METHODS) | set(ipo.TRAINED))


def test_cross_check_cells_do_not_enter_the_verdict() -> None:
    without = ipo.verdict(_results())
    with_xc = ipo.verdict(_with_xc(answer_harm=0.9))
    assert with_xc.status is without.status
    assert [(e.value, e.threshold, e.passed) for e in with_xc.evidence] == \
        [(e.value, e.threshold, e.passed) for e in without.evidence]


def test_agreement_is_the_mean_seed_difference_within_the_declared_tolerance() -> None:
    rows = {(r["trainer"], r["metric"]): r for r in ipo.crosscheck_rows(_with_xc(answer_harm=0.29))}
    r = rows[("llama-dpo", "answer_harm")]
    # ours 0.2 on every seed, TRL 0.29, 0.30, 0.31: difference −0.10 on average, exactly at the tolerance.
    assert r["diff"] == pytest.approx(-0.10) and r["agree"] and r["seeds"] == 3
    assert r["lo"] < r["diff"] < r["hi"]
    assert ("llama-grpo", "train_reward") in rows and ("llama-dpo", "train_reward") not in rows
    md = "\n".join(ipo.crosscheck_markdown(_with_xc(answer_harm=0.29)))
    assert "agree on all 12 metrics" in md and "**no**" not in md

    bad = ipo.crosscheck_rows(_with_xc(benign_accuracy=0.75))
    assert [(r["trainer"], r["metric"]) for r in bad if not r["agree"]] == \
        [("llama-dpo", "benign_accuracy"), ("llama-grpo", "benign_accuracy")]
    md = "\n".join(ipo.crosscheck_markdown(_with_xc(benign_accuracy=0.75)))
    assert "**Ours and TRL disagree** on 2 of 12 metrics" in md


def test_without_cross_check_cells_the_report_says_it_runs_at_full_scale() -> None:
    md = ipo.extra_markdown(_results())
    assert "Runs at full scale only" in md and "Not run" not in md
