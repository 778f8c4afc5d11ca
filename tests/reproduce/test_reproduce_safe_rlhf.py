"""The `safe-rlhf` reproduction: registry, verdict logic on hand-made cells, the negative control, a quick run."""

from __future__ import annotations

import math

import pytest

from guardopt.reproduce.papers import safe_rlhf as sr
from guardopt.reproduce.registry import discover
from guardopt.reproduce.spec import Record, Results, Status

GOOD = {
    "ppo": {"last_gold_cost": 0.55, "last_gold_helpfulness": 0.80, "eval_harmless_rate": 0.10,
            "eval_helpfulness": 0.80, "lambda_peak": 0.0, "lambda_max": math.inf},
    "ppo-lag": {"last_gold_cost": 0.17, "last_gold_helpfulness": 0.72, "eval_harmless_rate": 0.70,
                "eval_helpfulness": 0.72, "lambda_peak": 3.0, "lambda_max": 1e6},
    "ppo-lag-bound": {"last_gold_cost": 0.17, "last_gold_helpfulness": 0.72, "eval_harmless_rate": 0.70,
                      "eval_helpfulness": 0.72, "lambda_peak": 3.0, "lambda_max": 20.0},
    "ppo-lag-flipped": {"last_gold_cost": 0.60, "last_gold_helpfulness": 0.81, "eval_harmless_rate": 0.05,
                        "eval_helpfulness": 0.81, "lambda_peak": 1.0, "lambda_max": 1e6},
    "ppo-lag-v": {"last_gold_cost": 0.17, "last_gold_helpfulness": 0.7, "eval_harmless_rate": 0.7,
                  "eval_helpfulness": 0.7, "lambda_peak": 3.0, "lambda_max": 20.0,
                  "hidden_cost_true_image": 0.05, "hidden_cost_shuffled_image": 0.3},
    "guardrail": {"eval_unsafe_k": 300.0, "eval_n_harm": 400.0, "guard_unsafe_k": 120.0, "guard_n_harm": 400.0},
    "base": {"eval_harmless_rate": 0.20, "eval_helpfulness": 0.66},
}


def _results(**override: dict[str, float]) -> Results:
    recs = []
    for seed in range(3):
        for m, vals in GOOD.items():
            metrics = {**vals, **override.get(m.replace("-", "_"), {}), "d_gold": 0.18,
                       "generations": 2560.0 if m in sr.PPO_ARMS else math.nan}
            # a little seed-to-seed spread, so the paired intervals are finite
            metrics = {k: (x + 0.002 * seed if k.startswith(("last_", "eval_h", "hidden")) else x)
                       for k, x in metrics.items()}
            recs.append(Record(sr.TASK, m, seed, "done", metrics, {}))
    return Results(recs, [sr.TASK], list(sr.METHODS))


def _lines(v) -> dict[str, bool]:
    return {e.check.split(" ")[0] + " " + e.check.split(" ")[1]: e.counts_as_pass for e in v.evidence}


def test_registered() -> None:
    assert discover().select(["safe-rlhf"])[0].name == "safe-rlhf"


def test_verdict_holds_on_clear_numbers() -> None:
    v = sr.verdict(_results())
    assert v.status is Status.HOLDS, [(e.check, e.value, e.threshold, e.detail) for e in v.evidence]


def test_constraint_line_is_strict_about_the_tolerance() -> None:
    # d + 0.02 = 0.20: a mean cost of 0.19 passes only if the seeds agree; 0.21 fails.
    assert sr.constraint_check(_results(ppo_lag={"last_gold_cost": 0.19})).passed
    assert not sr.constraint_check(_results(ppo_lag={"last_gold_cost": 0.21})).passed


def test_negative_control_sign_flipped_lagrangian_makes_the_constraint_check_fail() -> None:
    res = _results()
    assert sr.constraint_check(res).passed
    neg = sr.negative_control(res)
    assert not neg.passed
    # and the verdict with the broken arm's numbers in PPO-Lag's place says FAILS
    swapped = _results(ppo_lag=GOOD["ppo-lag-flipped"])
    assert sr.verdict(swapped).status is Status.FAILS


def test_reward_share_and_violation_lines() -> None:
    # 0.67 < 0.85 × 0.80 = 0.68: the reward line fails.
    v = sr.verdict(_results(ppo_lag={"last_gold_helpfulness": 0.67}))
    assert v.status is Status.FAILS
    # PPO within the limit: the "PPO violates d" line fails.
    v = sr.verdict(_results(ppo={"last_gold_cost": 0.10}))
    assert v.status is Status.FAILS


def test_guardrail_line_needs_a_40_percent_cut_on_the_bounds() -> None:
    ok = sr.verdict(_results())
    assert all(e.counts_as_pass for e in ok.evidence if e.check.startswith("(f)"))
    # 300 → 200 of 400 per seed is a 33% cut: fails.
    bad = sr.verdict(_results(guardrail={"guard_unsafe_k": 200.0}))
    assert not all(e.counts_as_pass for e in bad.evidence if e.check.startswith("(f)"))


def test_lambda_bound_line_is_exact() -> None:
    bad = sr.verdict(_results(ppo_lag_bound={"lambda_peak": 20.5}))
    line = next(e for e in bad.evidence if e.check.startswith("(g)"))
    assert not line.passed and bad.status is Status.FAILS


def test_both_abstract_directions_are_needed() -> None:
    # Safer but less helpful than the base: the helpfulness line of (b) fails.
    v = sr.verdict(_results(ppo_lag_bound={"eval_helpfulness": 0.5}))
    assert v.status is Status.FAILS


@pytest.mark.slow
def test_quick_reproduction_runs_end_to_end(tmp_path) -> None:
    pytest.importorskip("torch")
    from guardopt.reproduce.runner import load_results, run
    from guardopt.reproduce.store import ResultStore

    run([sr.REPRODUCTION], store=tmp_path / "s.db", scale="quick")
    with ResultStore(tmp_path / "s.db") as store:
        res = load_results(store, sr.REPRODUCTION, "quick")
    assert not res.failed and len(res.done) == len(sr.METHODS)
    assert sr.verdict(res).status in (Status.HOLDS, Status.FAILS, Status.INCONCLUSIVE)
    assert max(res.metric("lambda_peak", sr.TASK, "ppo-lag-bound")) <= 20.0
    md = sr.extra_markdown(res)
    assert "Negative control" in md and "Third-party cross-check" in md
