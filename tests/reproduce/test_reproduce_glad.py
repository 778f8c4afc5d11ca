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
    assert r.scales["full"].seeds >= 5 and r.scales["quick"].seeds >= 2
    # the same tuning budget: both arms start from grids with as many settings, at both scales
    assert math.prod(map(len, G.LORA_GRID.values())) == math.prod(map(len, G.GLAD_GRID.values())) == 18
    assert math.prod(map(len, G.QUICK_LORA_GRID.values())) == math.prod(map(len, G.QUICK_GLAD_GRID.values()))
    assert G.LORA_GRID["epochs"] == G.GLAD_GRID["epochs"]
    assert 1.0 not in G.GLAD_GRID["gamma"] and 0.0 not in G.GLAD_GRID["gamma"]  # SAM and LoRA are their own arms
    assert G.BROKEN_GAMMA < 0
    assert G.SETTINGS["shots"] == 16 and G.SETTINGS["grids"] == "full"
    assert r.scales["quick"].settings["grids"] == "quick"


def test_extension_rules_stay_inside_their_limits() -> None:
    up = G.EXTEND["gamma"]
    g, seen = 0.5, []
    while (g := up(g, 1)) is not None:
        seen.append(g)
    assert seen == [0.75, 0.875, 0.9375] and all(0 < x < 1 for x in seen)  # γ never reaches SAM's 1
    assert G.EXTEND["gamma"](0.1, -1) == 0.05 and G.EXTEND["gamma"](0.05, -1) is None  # nor LoRA's 0
    assert G.EXTEND["lr"](3e-2, 1) == pytest.approx(9e-2) and G.EXTEND["lr"](3e-3, -1) == pytest.approx(1e-3)
    assert G.EXTEND["epochs"](10, 1) == 20 and G.EXTEND["epochs"](20, 1) is None and G.EXTEND["epochs"](5, -1) == 2
    assert G.EXTEND["rank"](4, 1) == 8 and G.EXTEND["rank"](1, -1) is None
    assert G.EXTEND["rho"](0.1, 1) == pytest.approx(0.2) and G.EXTEND["rho"](0.02, -1) == pytest.approx(0.01)


def test_tune_extending_grows_an_edge_until_the_choice_is_interior() -> None:
    from guardopt.reproduce.tuning import tuning_seeds

    calls: list[float] = []

    def make_score(grid):
        def score(st, seed):
            calls.append(st["lr"])
            return -(math.log(st["lr"]) - math.log(0.1)) ** 2  # peak at lr = 0.1
        return score

    grid = {"lr": [1e-3, 3e-3, 1e-2]}
    res, final, edges = G.tune_extending(make_score, grid, tuning_seeds(1), rounds=3)
    # 1e-2 (edge) → add 0.03; 0.03 (edge) → add 0.09; 0.09 (edge) → add 0.27; 0.09 is then interior
    assert final["lr"] == pytest.approx([1e-3, 3e-3, 1e-2, 3e-2, 9e-2, 0.27])
    assert res.chosen["lr"] == pytest.approx(0.09) and edges == []
    res2, final2, edges2 = G.tune_extending(make_score, grid, tuning_seeds(1), rounds=2)
    assert res2.chosen["lr"] == pytest.approx(0.09) and final2["lr"][-1] == pytest.approx(0.09) and edges2 == ["lr"]
    res0, final0, edges0 = G.tune_extending(make_score, grid, tuning_seeds(1), rounds=0)
    assert final0 == grid and res0.chosen["lr"] == 1e-2 and edges0 == ["lr"]
    assert grid == {"lr": [1e-3, 3e-3, 1e-2]}  # the caller's grid is not modified


TINY = {"pretrain_pairs": 200, "pretrain_steps": 4, "pretrain_batch": 32, "shots": 2, "val_per_class": 2,
        "test_per_class": 2, "tuning_seeds": 1, "grids": "quick", "torch_threads": 1}


def test_tuning_never_draws_a_novel_class(monkeypatch) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    import json

    from guardopt.problems import shapes_clip

    def forbidden(*args, **kwargs):
        raise AssertionError("the tuning drew a view outside the base classes' shots and validation split")

    monkeypatch.setattr(shapes_clip.ShapesCLIP, "novel_test", forbidden)
    monkeypatch.setattr(shapes_clip.ShapesCLIP, "base_test", forbidden)
    monkeypatch.setattr(shapes_clip.ShapesCLIP, "shifted", forbidden)
    monkeypatch.setattr(shapes_clip.ShapesTextures, "test", forbidden)
    sj = json.dumps({**G.SETTINGS, **TINY}, sort_keys=True)
    G._tuning.cache_clear()
    try:
        lora, glad = G._tuning(sj)
    finally:
        G._tuning.cache_clear()
    assert len(lora[0].scores) == len(glad[0].scores) == 2  # equal budget at this scale
    for seed in lora[0].seeds:
        views = G.tuning_views(seed, sj)
        assert set(views) == {"few_shot", "val"}
        base = set(shapes_clip.ShapesCLIP(seed % 2**31).base_classes)
        for v in views.values():
            assert {tuple(c.split()) for c in v.classes} == base
        curve = G.validation_curve(seed, sj, 1e-2, 2, None, None, 4)
        assert len(curve) == 4 and all(0 <= x <= 100 for x in curve)
        # the tuning score of (lr 0.01, rank 2, epochs 2) is that curve's second entry, on base classes only
        assert dict(lora[0].scores[0][0]) == {"epochs": 2, "lr": 1e-2, "rank": 2}
        assert lora[0].scores[0][1] == pytest.approx(curve[1])


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


def test_tuning_tables_show_the_final_grid_and_name_an_edge() -> None:
    curves = {"tune_lora_lr": [0.01, 0.01, 0.03, 0.03], "tune_lora_rank": [2, 2, 2, 2],
              "tune_lora_epochs": [10, 20, 10, 20], "tune_lora_score": [50.0, 55.0, 52.0, 54.0],
              "tune_lora_edges": [0.0, 1.0, 1.0],
              "tune_glad_rho": [0.02, 0.05, 0.1], "tune_glad_gamma": [0.5, 0.5, 0.5],
              "tune_glad_epochs": [20, 20, 20], "tune_glad_score": [53.0, 56.0, 51.0],
              "tune_glad_edges": [0.0, 0.0, 0.0]}
    recs = [Record(G.TASK, "lora", s, "done", {**{k: v[s] for k, v in LORA.items()}, "tuning_seeds": 2.0}, curves)
            for s in range(3)]
    md = "\n".join(G._tuning_tables(Results(recs, [G.TASK], ["lora"])))
    assert "4 settings searched on 2 tuning seeds" in md and "3 settings searched" in md
    assert "lr ∈ {0.01, 0.03}" in md and "BASE classes" in md
    assert "still on an edge: rank, epochs" in md and "epochs are capped at 20" in md
    assert "every choice is interior to the final grid" in md
    assert "| 0.01 | 2 | 20 | 55.00 | **yes** |" in md and "| 0.05 | 0.5 | 20 | 56.00 | **yes** |" in md


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
