"""The streaming-bandits, optimistic-omd and lion-k reproductions: cells run, verdicts compute; the
examples run with tiny budgets."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

from guardopt.reproduce.spec import Record, Results, Status

ROOT = Path(__file__).resolve().parents[2]


def _results(module: str, scale: str, keep: int | None = None) -> tuple[object, Results]:
    mod = importlib.import_module(f"guardopt.reproduce.papers.{module}")
    rep = mod.REPRODUCTION
    cells = rep.cells(scale)
    if keep is not None:
        cells = [c for c in cells if c.seed < keep]
    recs = []
    for c in cells:
        r = rep.run_cell(c)
        recs.append(Record(c.task, c.method, c.seed, "done", r.metrics, r.curves))
    return rep, Results(recs, rep.tasks, rep.methods)




def test_streaming_bandits_quick_verdict(tmp_path: Path) -> None:
    rep, res = _results("streaming_bandits", "quick", keep=2)
    verdict = rep.verdict(res)  # type: ignore[attr-defined]
    assert verdict.status in (Status.HOLDS, Status.FAILS)
    assert any("memory" in e.check and e.passed for e in verdict.evidence)
    assert rep.plots(res, tmp_path)  # type: ignore[attr-defined]
    assert "tower-log" in rep.extra_markdown(res)  # type: ignore[attr-defined]


def test_optimistic_omd_cells_and_empty_verdict() -> None:
    mod = importlib.import_module("guardopt.reproduce.papers.optimistic_omd")
    rep = mod.REPRODUCTION
    cell = next(c for c in rep.cells("quick") if c.task == "strongly-convex/T=500" and c.method == "oomd")
    assert rep.run_cell(cell).metrics["regret"] > 0
    assert rep.verdict(Results([], rep.tasks, rep.methods)).status == Status.INCONCLUSIVE


def test_lion_k_quadratic_cell() -> None:
    mod = importlib.import_module("guardopt.reproduce.papers.lion_k")
    rep = mod.REPRODUCTION
    cell = next(c for c in rep.cells("quick") if c.task == "quadratic/K=l1/lambda=1.0")
    m = rep.run_cell(cell).metrics
    assert m["tail_violation"] <= 0.02 and m["objective_gap"] <= 1e-3 and m["phase1_excess"] <= 0


@pytest.mark.slow
@pytest.mark.parametrize("module", ["streaming_bandits", "optimistic_omd", "lion_k"])
def test_quick_scale_holds(module: str) -> None:
    rep, res = _results(module, "quick")
    assert rep.verdict(res).status == Status.HOLDS  # type: ignore[attr-defined]


def _load_example(name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_examples_run() -> None:
    out = _load_example("streaming_bandits").main(arms=100, multiple=100)  # type: ignore[attr-defined]
    assert set(out) == {"tower-log", "uniform"}
    out = _load_example("optimistic_omd").main(horizon=200)  # type: ignore[attr-defined]
    assert set(out) == {"oomd", "ogd"}
    pytest.importorskip("torch")
    out = _load_example("lion_k").main(epochs=2)  # type: ignore[attr-defined]
    assert out["max_norm"] <= 2.0 + 2 * 3e-2
