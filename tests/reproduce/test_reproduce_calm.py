"""The `calm` reproduction: registry, verdict logic on hand-made cells, the negative control, a quick run."""

from __future__ import annotations

import pytest
from scipy import stats

from guardopt.reproduce.papers import calm
from guardopt.reproduce.registry import discover
from guardopt.reproduce.spec import Outcome, Record, Results, Status

# hard-split accuracy per seed
GOOD = {"calm-grpo": (0.60, 0.62, 0.61), "sft-grpo": (0.40, 0.43, 0.41), "grpo": (0.50, 0.52, 0.49),
        "calm-random-grpo": (0.41, 0.40, 0.44), "base": (0.10, 0.12, 0.11)}


def _results(acc: dict[str, tuple[float, ...]] | None = None, hints: tuple[int, int] = (20, 4000),
             gens: float = 1920.0) -> Results:
    acc = {**GOOD, **(acc or {})}
    recs = []
    for m, values in acc.items():
        for seed, a in enumerate(values):
            metrics = {"acc_hard": a, "acc_easy": 0.8, "generations": gens if m != "base" else 0.0}
            if m in ("calm-grpo", "calm-random-grpo"):
                metrics.update(hint_tokens=float(hints[0]), kept_tokens=float(hints[1]))
            if m == "sft-grpo":
                metrics["generations"] = gens - 384.0  # direct SFT samples nothing in stage 1
            recs.append(Record(calm.TASK, m, seed, "done", metrics, {}))
    return Results(recs, [calm.TASK], list(calm.METHODS))


def test_registered() -> None:
    assert discover().select(["calm"])[0].name == "calm"


def test_verdict_holds_on_clear_numbers() -> None:
    v = calm.verdict(_results())
    assert v.status is Status.HOLDS, [(e.check, e.value, e.threshold) for e in v.evidence]


def test_hint_line_uses_the_upper_bound_at_the_abstracts_number() -> None:
    e = calm.hint_check(_results(hints=(60, 3000)))  # 3 seeds: 180/9000 = 2.0%
    assert e.value == pytest.approx(stats.beta.ppf(0.95, 181, 8820), rel=1e-6)
    assert e.threshold == pytest.approx(0.026) and e.passed
    # 2.4% passes as a point estimate but not on the upper bound of 9000 tokens
    assert not calm.hint_check(_results(hints=(72, 3000))).passed
    assert calm.hint_check(_results(hints=(72, 3000)), limit=0.05).passed
    # nothing kept: vacuous, never a pass
    e0 = calm.hint_check(_results(hints=(0, 0)))
    assert e0.outcome is Outcome.VACUOUS and not e0.passed


def test_gain_line_is_paired_over_seeds_with_a_strict_lower_bound() -> None:
    res = _results()
    e = calm.gain_check(res, "sft-grpo", 0.05)
    gains = [0.20, 0.19, 0.20]
    mean = sum(gains) / 3
    sd = stats.tstd(gains)
    assert e.value == pytest.approx(mean - stats.t.ppf(0.95, 2) * sd / 3 ** 0.5, rel=1e-6) and e.passed
    # a mean gain of 6 points with seed-to-seed noise is not a strict +5
    noisy = _results({"calm-grpo": (0.47, 0.53, 0.41)})
    assert not calm.gain_check(noisy, "sft-grpo", 0.05).passed
    assert calm.gain_check(_results({"calm-grpo": (0.50, 0.52, 0.49)}), "grpo", 0.0).outcome is not Outcome.PASS


def test_negative_control_random_hint_positions_make_the_gain_line_fail() -> None:
    res = _results()
    assert calm.gain_check(res, "sft-grpo", 0.05).passed
    neg = calm.gain_check(res, "sft-grpo", 0.05, method="calm-random-grpo")
    assert not neg.passed
    swapped = _results({"calm-grpo": GOOD["calm-random-grpo"]})
    assert calm.verdict(swapped).status is Status.FAILS


def test_budget_line_and_empty_results() -> None:
    assert calm.budget_check(_results()).passed
    recs = [r for r in _results().records if r.method != "grpo"]
    recs += [Record(calm.TASK, "grpo", s, "done", {"acc_hard": 0.5, "generations": 2500.0}, {}) for s in range(3)]
    assert not calm.budget_check(Results(recs, [calm.TASK], list(calm.METHODS))).passed
    v = calm.verdict(Results([], [calm.TASK], list(calm.METHODS)))
    assert v.status is not Status.HOLDS


def test_report_sections_render() -> None:
    md = calm.extra_markdown(_results())
    for part in ("Held-out accuracy per arm", "Hint tokens", "Negative control", "Tuning", "Sensitivity",
                 "Third-party cross-check"):
        assert part in md


@pytest.mark.slow
def test_quick_scale_runs_end_to_end(tmp_path) -> None:
    pytest.importorskip("torch")
    from guardopt.reproduce.runner import load_results, run
    from guardopt.reproduce.store import ResultStore

    run([calm.REPRODUCTION], store=tmp_path / "r.db", scale="quick")
    with ResultStore(tmp_path / "r.db") as store:
        res = load_results(store, calm.REPRODUCTION, "quick")
    assert not res.failed and len(res.done) == len(calm.METHODS) * 2
    assert calm.budget_check(res).passed
    assert calm.verdict(res).status in (Status.HOLDS, Status.FAILS, Status.INCONCLUSIVE)
    assert calm.plots(res, tmp_path)


def test_disk_cache_is_opt_in_and_keyed(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GUARDOPT_CALM_CACHE", raising=False)
    assert calm._disk_cache("base", 0, {"a": 1}) is None
    monkeypatch.setenv("GUARDOPT_CALM_CACHE", str(tmp_path / "c"))
    a = calm._disk_cache("base", 0, {"a": 1})
    assert a is not None and a.parent == tmp_path / "c"
    assert calm._disk_cache("base", 0, {"a": 1}) == a
    assert calm._disk_cache("base", 1, {"a": 1}) != a and calm._disk_cache("tuning", 0, {"a": 1}) != a
