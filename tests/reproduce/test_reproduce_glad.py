"""The GLAD reproduction: declarations, the verdict on fixtures, the negative control, a quick end-to-end run."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from guardopt.reproduce.papers import glad as G
from guardopt.reproduce.spec import Outcome, Record, Results, Status


def test_declarations() -> None:
    r = G.REPRODUCTION
    assert r.name == "glad" and r.methods[0] == "glad" and "lora" in r.methods
    assert {"sam", "zero-shot", "glad-broken"} <= set(r.methods)
    assert r.scales["full"].seeds == 3 and r.scales["quick"].seeds >= 2
    # the same tuning budget: as many LoRA learning rates as GLAD (ρ, γ) pairs
    assert len(G.LORA_GRID["lr"]) == len(G.GLAD_GRID["rho"]) * len(G.GLAD_GRID["gamma"])
    assert 1.0 not in G.GLAD_GRID["gamma"]  # SAM is its own line, never a GLAD choice
    assert G.BROKEN_GAMMA < 0
    assert len(G.SENSITIVITY_METHODS) == 4 and all(m in r.methods for m in G.SENSITIVITY_METHODS)
    assert G.SETTINGS["shots"] == 16 and G.SETTINGS["rank"] == 2


def test_harmonic_mean_reference_values() -> None:
    assert G.harmonic_mean(80.0, 60.0) == pytest.approx(2 * 80 * 60 / 140)  # 68.571...
    assert G.harmonic_mean(50.0, 50.0) == 50.0
    assert G.harmonic_mean(0.0, 0.0) == 0.0


def _results(per_method: dict[str, dict[str, list[float]]]) -> Results:
    recs = []
    for method, metrics in per_method.items():
        n = len(next(iter(metrics.values())))
        for s in range(n):
            recs.append(Record(G.TASK, method, s, "done", {k: v[s] for k, v in metrics.items()}, {}))
    return Results(recs, [G.TASK], list(per_method))


def _arm(base: list[float], novel: list[float], shifted: list[float], cross: list[float]) -> dict[str, list[float]]:
    return {"base_acc": base, "novel_acc": novel, "H": [G.harmonic_mean(b, n) for b, n in zip(base, novel)],
            "shifted_acc": shifted, "cross_acc": cross}


ZERO_SHOT = _arm([40.0, 41.0, 39.0], [35.0, 36.0, 34.0], [30.0, 31.0, 29.0], [15.0, 16.0, 14.0])
LORA = _arm([60.0, 62.0, 61.0], [40.0, 41.0, 39.0], [45.0, 46.0, 44.0], [16.0, 17.0, 15.0])


def test_verdict_holds_when_glad_is_clearly_better() -> None:
    glad = _arm([61.0, 63.0, 62.0], [45.0, 46.5, 44.0], [47.0, 48.5, 46.0], [18.0, 19.5, 17.0])
    v = G.verdict(_results({"glad": glad, "lora": LORA, "zero-shot": ZERO_SHOT}))
    assert v.status is Status.HOLDS, v.evidence
    assert [e.outcome for e in v.evidence] == [Outcome.PASS] * 5


def test_verdict_fails_on_a_gain_below_the_one_point_margin() -> None:
    glad = _arm([60.5, 62.5, 61.5], [40.5, 41.5, 39.5], [45.5, 46.5, 44.5], [16.5, 17.5, 15.5])  # +0.5 each
    v = G.verdict(_results({"glad": glad, "lora": LORA, "zero-shot": ZERO_SHOT}))
    assert v.status is Status.FAILS
    assert v.evidence[0].outcome is Outcome.FAIL and v.evidence[1].outcome is Outcome.PASS


def test_negative_control_in_glads_place_fails() -> None:
    broken = _arm([50.0, 52.0, 49.0], [30.0, 29.0, 31.0], [35.0, 36.0, 33.0], [12.0, 13.0, 11.0])
    res = _results({"glad-broken": broken, "lora": LORA, "zero-shot": ZERO_SHOT})
    v = G.verdict(res, "glad-broken")
    assert v.status is Status.FAILS and not v.evidence[0].counts_as_pass


def test_sanity_failure_fails_the_verdict() -> None:
    glad = _arm([61.0, 63.0, 62.0], [45.0, 46.5, 44.0], [47.0, 48.5, 46.0], [18.0, 19.5, 17.0])
    weak_zs = _arm([55.0, 57.0, 56.0], [35.0, 36.0, 34.0], [30.0, 31.0, 29.0], [15.0, 16.0, 14.0])
    v = G.verdict(_results({"glad": glad, "lora": LORA, "zero-shot": weak_zs}))
    assert v.status is Status.FAILS and v.evidence[4].outcome is Outcome.FAIL


def test_missing_arms_are_inconclusive_not_a_pass() -> None:
    v = G.verdict(_results({"lora": LORA, "zero-shot": ZERO_SHOT}))
    assert v.status is Status.INCONCLUSIVE
    assert math.isnan(v.evidence[0].value)


def test_report_renders_from_fixtures() -> None:
    glad = _arm([61.0, 63.0, 62.0], [45.0, 46.5, 44.0], [47.0, 48.5, 46.0], [18.0, 19.5, 17.0])
    md = G.extra_markdown(_results({"glad": glad, "lora": LORA, "zero-shot": ZERO_SHOT}))
    assert "Accuracy per arm" in md and "Negative control" in md and "| glad |" in md


@pytest.mark.slow
def test_quick_scale_end_to_end(tmp_path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    from guardopt.reproduce.runner import load_results, run
    from guardopt.reproduce.store import ResultStore

    store = tmp_path / "glad.db"
    run([G.REPRODUCTION], scale="quick", store=store)
    res = load_results(ResultStore(store), G.REPRODUCTION, "quick")
    assert not res.failed and len(res.done) == len(G.REPRODUCTION.cells("quick"))
    for m in ("glad", "lora", "zero-shot"):
        for metric in ("base_acc", "novel_acc", "H", "shifted_acc", "cross_acc"):
            v = res.metric(metric, G.TASK, m)
            assert np.all((0 <= v) & (v <= 100))
    v = G.verdict(res)
    assert v.status in (Status.HOLDS, Status.FAILS, Status.INCONCLUSIVE) and len(v.evidence) == 5
    # arms of a seed share the checkpoint: the zero-shot numbers every arm stores are the same
    assert np.array_equal(res.metric("zs_base_acc", G.TASK, "glad"), res.metric("base_acc", G.TASK, "zero-shot"))


EVIDENCE = Path(__file__).resolve().parents[2] / "reports" / "evidence" / "glad.jsonl.gz"


@pytest.mark.skipif(not EVIDENCE.exists(), reason="no committed evidence for glad yet")
def test_committed_evidence_negative_control_fails_and_is_below_lora(tmp_path) -> None:
    from guardopt.reproduce.runner import load_results
    from guardopt.reproduce.store import open_store

    (tmp_path / "ev").mkdir()
    shutil.copy(EVIDENCE, tmp_path / "ev" / EVIDENCE.name)
    with open_store(tmp_path / "ev") as db:
        res = load_results(db, G.REPRODUCTION, "full")
    assert len(res.seeds(G.TASK, "glad-broken")) == G.REPRODUCTION.scales["full"].seeds
    broken = G.verdict(res, "glad-broken")
    assert broken.status is Status.FAILS and not broken.evidence[0].counts_as_pass
    a, b = res.paired("H", (G.TASK, "glad-broken"), (G.TASK, "lora"))
    assert float(np.mean(a - b)) < 0  # the broken variant is below plain LoRA on H
