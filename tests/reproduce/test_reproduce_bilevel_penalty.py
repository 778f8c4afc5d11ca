"""The bilevel-penalty reproduction: cells run, tuning is shared and disjoint from evaluation, the verdict
computes from stored numbers, and the broken variants (the penalty gradient without its lower-level part;
σ fixed too large) make it FAIL."""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from guardopt.reproduce.spec import Outcome, Record, Results, Status
from guardopt.reproduce.tuning import TUNING_SEED_OFFSET, TuningResult

mod: Any = importlib.import_module("guardopt.reproduce.papers.bilevel_penalty")
REP = mod.REPRODUCTION


def _fixed(lr: float) -> TuningResult:
    """A stand-in tuning result for tests that exercise the verdict only."""
    return TuningResult({"lr_x": lr}, (({"lr_x": lr}, 0.0),), (TUNING_SEED_OFFSET,), False)


FIXED_LR = {mod.IMPLICIT: 30.0, mod.DOUBLE: 30.0, mod.SINGLE: 1.5, mod.CONTROL: 30.0}


def _results(pairs: list[tuple[str, str]], seeds: int, settings: dict[str, Any]) -> Results:
    recs = []
    for task, method in pairs:
        for seed in range(seeds):
            cell = replace(REP.cells("quick")[0], task=task, method=method, seed=seed, settings=settings)
            r = REP.run_cell(cell)
            recs.append(Record(task, method, seed, "done", r.metrics, r.curves))
    return Results(recs, REP.tasks, REP.methods)


SETTINGS = {"toy_outer_steps": 60, "ridge_steps": 20, "tuning_seeds": 1, "sensitivity": False}


@pytest.fixture(scope="module")
def small_results() -> Results:
    mp = pytest.MonkeyPatch()
    mp.setattr(mod, "tuned_lr", lambda rtask, method, steps, n: _fixed(FIXED_LR[method]))
    try:
        pairs = [(t, m) for t in mod.TOYS for m in (mod.LANDSCAPE, mod.DOUBLE, mod.SINGLE, mod.CONTROL)]
        pairs += [(r, m) for r in mod.RIDGES for m in (mod.DOUBLE, mod.SINGLE, mod.IMPLICIT, mod.CONTROL)]
        return _results(pairs, 1, SETTINGS)
    finally:
        mp.undo()


def test_grid_and_scales() -> None:
    cells = REP.cells("quick")
    assert {c.task for c in cells} == set(mod.TASKS)
    assert not any(c.task in mod.RIDGES and c.method == mod.LANDSCAPE for c in cells)
    assert not any(c.task in mod.TOYS and c.method == mod.IMPLICIT for c in cells)
    assert REP.scales["full"].seeds >= 10 and REP.scales["full"].settings["sensitivity"] is True


def test_verdict_lines_on_honest_cells(small_results: Results) -> None:
    v = REP.verdict(small_results)
    by = {e.check: e for e in v.evidence}
    for task in mod.TOYS:
        for check in (f"{task}: slope of |ψ_σ − ψ| in σ (σ = 0.3 … 0.01)",
                      f"{task}: slope of ‖∇ψ_σ − ∇ψ‖ in σ (σ = 0.3 … 0.01)",
                      f"{task}: double-loop max over σ of ‖x̂ − x*‖ / (2σ‖x*‖)",
                      f"{task}: single-loop max over σ of ‖x̂ − x*‖ / (2σ‖x*‖)",
                      f"{task}: max |x̂_single − x̂_double| over σ and seeds"):
            assert by[check].outcome is Outcome.PASS, (check, by[check])
        # the slopes of σ/(c + σ) over [0.01, 0.3] are below 1, as computed by hand
        assert 0.9 < by[f"{task}: slope of |ψ_σ − ψ| in σ (σ = 0.3 … 0.01)"].value < 0.97
    for rtask in mod.RIDGES:
        for m in mod.PENALTY:
            assert by[f"{rtask}: {m} second-order oracle calls (Hessians, HVPs, linear solves)"].value == 0.0
    implicit_calls = small_results.metric("second_order_calls", mod.PER_FEATURE, mod.IMPLICIT)
    assert np.all(implicit_calls == 4 * SETTINGS["ridge_steps"])  # 2 solves, 1 Hessian, 1 cross-Jacobian per step
    shared = by[f"{mod.SHARED}: double-loop validation loss / implicit differentiation's − 1 (each tuned alike)"]
    assert shared.outcome is Outcome.PASS and abs(shared.value) < 1e-3  # same step size: the same path
    assert v.evidence[-1].outcome is Outcome.INCONCLUSIVE  # complexity rates


def test_negative_control_fails(small_results: Results) -> None:
    """Rule 6: the gradient without its lower-level part (toys) and σ = 1 (ridge) must make the verdict FAIL."""
    v = mod.negative_control_verdict(small_results)
    assert v.status is Status.FAILS
    by = {e.check: e for e in v.evidence}
    for task in mod.TOYS:
        assert by[f"{task}: slope of ‖∇ψ_σ − ∇ψ‖ in σ (σ = 0.3 … 0.01)"].outcome is Outcome.FAIL
        assert by[f"{task}: double-loop max over σ of ‖x̂ − x*‖ / (2σ‖x*‖)"].outcome is Outcome.FAIL
    # the value lines do not depend on the gradient, so they still pass: the failure is the gradient's
    assert by["toy/box: slope of |ψ_σ − ψ| in σ (σ = 0.3 … 0.01)"].outcome is Outcome.PASS


def test_sigma_too_large_fails_the_ridge_line() -> None:
    """σ = 1 instead of 0.01 on the per-feature ridge task: the validation loss misses implicit
    differentiation's by more than 1% on this instance (same step size for both)."""
    task = mod.make_ridge(mod.PER_FEATURE, 1)
    x_ref, _, _ = mod._ridge_run(mod.IMPLICIT, task, 30.0, 150)
    x_pen, counter, _ = mod._ridge_run(mod.DOUBLE, task, 30.0, 150)
    x_big, _, _ = mod._ridge_run(mod.DOUBLE, task, 30.0, 150, mod.CONTROL_SIGMA)
    ref = task.psi(x_ref)
    assert task.psi(x_pen) / ref - 1.0 <= mod.RIDGE_TOL
    assert task.psi(x_big) / ref - 1.0 > mod.RIDGE_TOL
    assert counter.second_order_calls == 0 and counter.counts["grad_g"] > 0


def test_tuning_is_on_disjoint_seeds_and_stored() -> None:
    res = mod.tuned_lr(mod.SHARED, mod.DOUBLE, 20, 1)
    assert min(res.seeds) >= TUNING_SEED_OFFSET
    assert [s["lr_x"] for s, _ in res.scores] == list(mod.LR_GRIDS[mod.DOUBLE])
    assert mod.LR_GRIDS[mod.SINGLE] == tuple(v / mod.INNER_STEPS for v in mod.LR_GRIDS[mod.DOUBLE])
    best = min(res.scores, key=lambda item: item[1])
    assert res.chosen == best[0]
    cell = mod.ridge_cell(mod.SHARED, mod.DOUBLE, 0, 20, 1)
    assert cell.metrics["tuned_lr"] == res.chosen["lr_x"]
    assert cell.metrics[f"tuning_score[lr_x={res.chosen['lr_x']}]"] == pytest.approx(best[1], rel=1e-12)
    ref = mod.ridge_cell(mod.SHARED, mod.IMPLICIT, 0, 20, 1)
    # third-party cross-check: scipy's L-BFGS-B optimum is at most any run's end point
    assert ref.metrics["val_loss_scipy_lbfgsb"] <= min(ref.metrics["val_loss"], cell.metrics["val_loss"]) + 1e-9


def test_report_extras_render(small_results: Results) -> None:
    text = REP.extra_markdown(small_results)
    for heading in ("## Toys: errors per σ", "## ridge/per-feature", "## ridge/shared", "## Tuning",
                    "## Sensitivity", "## Negative control"):
        assert heading in text
    assert "**FAILS**" in text.split("## Negative control")[1]


@pytest.mark.slow
def test_quick_scale_end_to_end_with_report(tmp_path) -> None:
    from guardopt.reproduce.report import report_one
    from guardopt.reproduce.runner import run
    from guardopt.reproduce.store import open_store

    summary = run([REP], store=tmp_path / "r.db", scale="quick")
    assert not summary.has_errors
    (tmp_path / "reports").mkdir()
    with open_store(tmp_path / "r.db") as store:
        entry = report_one(store, REP, "quick", tmp_path / "reports")
    text = (tmp_path / "reports" / "bilevel-penalty.md").read_text()
    assert "## Negative control" in text and entry is not None
    assert len(list((tmp_path / "reports" / "figures" / "bilevel-penalty").glob("*.png"))) == 2
