"""The streaming-bandits, optimistic-omd and lion-k reproductions: cells run, tuning is shared and
disjoint from evaluation, verdicts compute, and a deliberately broken variant makes each verdict FAIL."""

from __future__ import annotations

import importlib
import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from guardopt.reproduce.spec import Outcome, Record, Results, Status
from guardopt.reproduce.tuning import TUNING_SEED_OFFSET, TuningResult

ROOT = Path(__file__).resolve().parents[2]


def _results(module: str, scale: str, keep: int | None = None) -> tuple[Any, Results]:
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


def _fixed(name: str, value: float) -> TuningResult:
    """A stand-in tuning result (the paper's constant) for tests that exercise the verdict only."""
    return TuningResult({name: value}, (({name: value}, 0.0),), (TUNING_SEED_OFFSET,), False)


def _records(rep: Any, cells: list[Any]) -> Results:
    recs = []
    for c in cells:
        r = rep.run_cell(c)
        recs.append(Record(c.task, c.method, c.seed, "done", r.metrics, r.curves))
    return Results(recs, rep.tasks, rep.methods)


# --- streaming-bandits -------------------------------------------------------------------------------

def test_streaming_tuning_is_on_disjoint_seeds_and_stored() -> None:
    mod = importlib.import_module("guardopt.reproduce.papers.streaming_bandits")
    res = mod.tuned("tower-log", "uniform-means", 1)
    assert min(res.seeds) >= TUNING_SEED_OFFSET
    assert [s["budget"] for s, _ in res.scores] == list(mod.BUDGET_GRID["budget"])
    best = min(res.scores, key=lambda item: item[1])
    assert res.chosen == best[0]
    cell = next(c for c in mod.REPRODUCTION.cells("quick") if c.method == "tower-log"
                and c.task == "uniform-means/T=1e3K" and c.seed == 0)
    m = mod.REPRODUCTION.run_cell(type(cell)(**{**cell.__dict__, "settings": {"tuning_seeds": 1}}))
    assert m.metrics["tuned_budget"] == res.chosen["budget"]
    assert m.metrics[f"tuning_score[budget={res.chosen['budget']}]"] == pytest.approx(best[1], rel=1e-9)
    assert m.metrics["peak_memory"] <= m.metrics["memory_limit"] < mod.N_ARMS


def test_streaming_verdict_lines_and_negative_control(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 'tower' that is really uniform exploration must FAIL its reduction lines (rule 6)."""
    mod = importlib.import_module("guardopt.reproduce.papers.streaming_bandits")
    rep = mod.REPRODUCTION
    monkeypatch.setattr(mod, "tuned", lambda method, inst, n: _fixed("budget", 1.0))
    cells = [c for c in rep.cells("quick", seeds=4) if c.method in ("tower-log", "uniform-exploration")]
    honest = rep.verdict(_records(rep, cells))
    by_check = {e.check: e for e in honest.evidence}
    assert honest.evidence[0].outcome is Outcome.INCONCLUSIVE  # the lower bound
    assert by_check["uniform-means/T=1e4K: tower-log regret reduction vs uniform (fraction of uniform's)"] \
        .outcome is Outcome.PASS
    assert by_check["o(K) memory: cells that broke the stream's memory rule (raised or over)"].outcome \
        is Outcome.PASS
    uniform = mod.UniformExploration
    monkeypatch.setattr(mod, "_algorithm", lambda method, budget=1.0: uniform(scale=budget))
    broken = rep.verdict(_records(rep, cells))
    assert broken.status is Status.FAILS
    reductions = [e for e in broken.evidence if "tower-log regret reduction" in e.check]
    assert len(reductions) == 4 and all(e.outcome is Outcome.FAIL for e in reductions)


def test_streaming_growth_bound_hand_computed() -> None:
    mod = importlib.import_module("guardopt.reproduce.papers.streaming_bandits")
    lo, hi = [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]
    recs = [Record("clear-cut/T=1e3K", "tower-log", s, "done", {"normalized_regret": v}, {}) for s, v in enumerate(lo)]
    recs += [Record("clear-cut/T=1e4K", "tower-log", s, "done", {"normalized_regret": 1.1 * v}, {})
             for s, v in enumerate(hi)]
    ratio, upper, n = mod.growth_bound(Results(recs, mod.TASKS, mod.METHODS), "clear-cut", "tower-log")
    # hi = 1.1 * lo exactly: ratio 1.1 with zero spread, so the upper bound equals it.
    assert n == 3 and ratio == pytest.approx(1.1) and upper == pytest.approx(1.1)


# --- optimistic-omd ----------------------------------------------------------------------------------

def test_optimistic_omd_empty_verdict_is_inconclusive() -> None:
    mod = importlib.import_module("guardopt.reproduce.papers.optimistic_omd")
    rep = mod.REPRODUCTION
    assert rep.verdict(Results([], rep.tasks, rep.methods)).status == Status.INCONCLUSIVE


def test_optimistic_omd_slope_hand_computed() -> None:
    mod = importlib.import_module("guardopt.reproduce.papers.optimistic_omd")
    xs = [math.log(v) for v in mod.S_LEVELS.values()]
    per_task = [{s: (2.0 + 0.1 * s) * v ** 0.5 for s in range(4)} for v in mod.S_LEVELS.values()]
    slope, lower, upper, n = mod._slope_interval(xs, per_task)
    assert n == 4
    assert slope == pytest.approx(0.5, rel=1e-9)
    assert lower == pytest.approx(0.5, rel=1e-9) and upper == pytest.approx(0.5, rel=1e-9)


def test_optimistic_omd_cell_uses_tuned_step() -> None:
    mod = importlib.import_module("guardopt.reproduce.papers.optimistic_omd")
    rep = mod.REPRODUCTION
    cell = next(c for c in rep.cells("quick") if c.task == "strongly-convex/T=500" and c.method == "oomd")
    m = rep.run_cell(cell).metrics
    assert m["tuned_c"] in mod.STEP_GRID["c"]
    assert min(mod.tuned_sc("oomd", tuple(cell.settings["sc_horizons"]), 1).seeds) >= TUNING_SEED_OFFSET
    assert math.isfinite(m["regret"]) and m["horizon"] == 500.0


def test_optimistic_omd_negative_control_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A learner with a constant step (no adaptivity) has regret linear in sigma^2_{1:T}: the verdict FAILS."""
    mod = importlib.import_module("guardopt.reproduce.papers.optimistic_omd")
    rep = mod.REPRODUCTION
    monkeypatch.setattr(mod, "tuned_convex", lambda method, horizon, n: _fixed("c", 1.0))
    monkeypatch.setattr(mod, "tuned_sc", lambda method, horizons, n: _fixed("c", 1.0))
    cells = [c for c in rep.cells("quick", seeds=3) if c.method == "oomd" and c.task.startswith("convex/")]
    cells = [type(c)(**{**c.__dict__, "settings": {**c.settings, "horizon": 300}}) for c in cells]
    honest = rep.verdict(_records(rep, cells))
    stoch = [e for e in honest.evidence if e.check.startswith("convex/stochastic")]
    assert [e.outcome for e in stoch] == [Outcome.PASS, Outcome.PASS]
    domain_cls, cfg_cls, learner_cls = mod.EuclideanBall, mod.OOMDConfig, mod.OptimisticOMD
    monkeypatch.setattr(mod, "_learner", lambda method, cfg, c: learner_cls(
        domain_cls(cfg.dim, cfg.radius), cfg_cls(step="fixed", lr=1.0)))
    broken = rep.verdict(_records(rep, cells))
    assert broken.status is Status.FAILS
    upper = {e.check.split(":")[0]: e for e in broken.evidence if "upper 95% bound" in e.check
             and e.check.startswith("convex/")}
    assert upper["convex/stochastic"].outcome is Outcome.FAIL and upper["convex/stochastic"].value > 0.65


# --- lion-k ------------------------------------------------------------------------------------------

def test_lion_k_quadratic_cell() -> None:
    mod = importlib.import_module("guardopt.reproduce.papers.lion_k")
    m = mod.quadratic_cell("l1", 1.0, 0).metrics
    assert m["violation_after_entry"] <= 0.02 and abs(m["final_norm_minus_radius"]) <= 0.02
    assert m["objective_gap"] <= 1e-3 and m["unconstrained_excess"] == pytest.approx(2.0)
    assert mod.composite_cell(1.0, 0).metrics["composite_gap"] == pytest.approx(0.0, abs=1e-9)


def test_lion_k_negative_control_coupled_decay_fails() -> None:
    """Weight decay coupled into the gradient is an L2 penalty, not a constraint: the verdict FAILS."""
    mod = importlib.import_module("guardopt.reproduce.papers.lion_k")
    rep = mod.REPRODUCTION
    task = "quadratic/K=l1/lambda=1.0"

    def results(coupled: bool) -> Results:
        recs = [Record(task, "lion-l1", s, "done", mod.quadratic_cell("l1", 1.0, s, coupled=coupled).metrics, {})
                for s in range(2)]
        return Results(recs, rep.tasks, rep.methods)

    honest = {e.check: e for e in rep.verdict(results(False)).evidence if e.check.startswith(task)}
    assert all(e.outcome is Outcome.PASS for e in honest.values()) and len(honest) == 3
    broken = rep.verdict(results(True))
    assert broken.status is Status.FAILS
    lines = {e.check: e for e in broken.evidence if e.check.startswith(task)}
    assert lines[f"{task}: max (norm − 1/λ) after entering (dist ≤ lr)"].outcome is Outcome.FAIL


def test_lion_k_ball_check_is_vacuous_when_the_constraint_is_inactive() -> None:
    mod = importlib.import_module("guardopt.reproduce.papers.lion_k")
    assert mod._feasible("x", -0.5, 0.002, active=-0.1, n=3).outcome is Outcome.VACUOUS
    assert mod._feasible("x", -0.5, 0.002, active=0.2, n=3).outcome is Outcome.PASS
    assert mod._feasible("x", 0.01, 0.002, active=0.2, n=3).outcome is Outcome.FAIL


def test_lion_k_mlp_ball_cell_tuned_and_active() -> None:
    pytest.importorskip("torch")
    mod = importlib.import_module("guardopt.reproduce.papers.lion_k")
    cell = next(c for c in mod.REPRODUCTION.cells("quick") if c.task == "mlp-ball" and c.method == "lion-l1")
    cell = type(cell)(**{**cell.__dict__, "settings": {"epochs": 1, "tuning_seeds": 1}})
    m = mod.REPRODUCTION.run_cell(cell).metrics
    assert m["tuned_lr"] in mod.MLP_GRIDS["lion-l1"]["lr"]
    assert m["max_weight_violation"] <= 2 * m["tuned_lr"]
    assert m["lambda"] == mod.BALL_LAMBDA["lion-l1"]
    assert min(mod.tuned_mlp("lion-l1", 1, 1).seeds) >= TUNING_SEED_OFFSET


# --- whole quick scale (slow) ------------------------------------------------------------------------

QUICK_STATUS = {"streaming_bandits": Status.FAILS, "optimistic_omd": Status.FAILS, "lion_k": Status.FAILS}


@pytest.mark.slow
@pytest.mark.parametrize("module", ["streaming_bandits", "optimistic_omd", "lion_k"])
def test_quick_scale_verdict(module: str) -> None:
    """The quick scale's verdict as recorded: every declared check has data, and the status is pinned."""
    rep, res = _results(module, "quick")
    verdict = rep.verdict(res)
    computed = [e for e in verdict.evidence if e.outcome is not Outcome.INCONCLUSIVE]
    assert computed and all(np.isfinite(e.value) for e in computed)
    assert verdict.status is QUICK_STATUS[module]


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
