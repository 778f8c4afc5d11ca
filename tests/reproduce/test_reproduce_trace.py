"""The `trace` reproduction: declarations, the traced programs, cells, and the verdict on fixtures."""

from __future__ import annotations

import itertools
import math

import pytest

from guardopt.problems.numeric_programs import make_numeric_programs
from guardopt.reproduce.papers import trace as tr
from guardopt.reproduce.spec import Cell, Outcome, Record, Results, Status
from guardopt.reproduce.tuning import TUNING_SEED_OFFSET, TuningResult
from guardopt.workflow import TraceAwareProposer, minimal_subgraph, node


def test_declarations() -> None:
    pairs = {(c.task, c.method) for c in tr.REPRODUCTION.cells("quick")}
    assert pairs == {("exact", m) for m in tr.EXACT_METHODS} | {("noisy", m) for m in tr.NOISY_METHODS}
    assert {len(next(iter(g.values()))) for g in tr.GRIDS.values()} == {4}  # the same tuning budget for each
    assert all(len(g) == 1 for g in tr.GRIDS.values())
    assert tr.REPRODUCTION.scales["quick"].seeds * tr.PROGRAMS_PER_CELL >= 29  # enough for a 0.9 lower bound
    assert tr.REPRODUCTION.name == "trace"


def test_traced_programs_record_the_programs_own_values() -> None:
    # The graph built through bundled operations carries exactly the values the problem computes.
    for prog in make_numeric_programs(10, seed=3):
        params = [node(float(v), name=f"theta{i}", trainable=True) for i, v in enumerate(prog.theta0)]
        out = tr.build(prog, params)
        g = minimal_subgraph(out)
        slots = prog.run(prog.theta0)
        ops = [n for n in out.ancestors() if not n.is_leaf]
        recorded = sorted((n.op, n.value) for n in ops)
        assert recorded == sorted(zip((op.kind for op in prog.ops), slots[prog.n_params:]))
        assert out.value == slots[-1]
        for n in ops:  # each recorded operation reproduces its value from its recorded inputs
            assert n.fn(*(p.value for p in n.parents)) == n.value
        assert set(g.parameters) == set(params)


def test_solve_respects_the_budget_and_stops_when_solved() -> None:
    prog = make_numeric_programs(1, seed=11)[0]
    ok, used, curve = tr.solve(prog, TraceAwareProposer(), budget=20)
    assert used <= 20 and len(curve) == 20 and all(a >= b for a, b in itertools.pairwise(curve))
    assert ok == (curve[-1] < tr.TOL)
    _ok1, used1, _ = tr.solve(prog, TraceAwareProposer(), budget=1)
    assert used1 == 1


def _rec(task, method, seed, **metrics):
    return Record(task, method, seed, "done", metrics, {})


def _fixture(aware_solved=20, blind_solved=2, guarded_aw=1, unguarded_aw=150, seeds=3):
    recs = []
    for s in range(seeds):
        for m, k in (("trace-aware", aware_solved), ("trace-blind", blind_solved), ("secant", 15), ("adam", 1),
                     ("trace-aware-newton", 19)):
            kk = k - (s % 2 if m == "secant" else 0)
            recs.append(_rec("exact", m, s, solved=kk, programs=20, solve_rate=kk / 20, budget=20,
                             max_executions=20))
        recs.append(_rec("noisy", "guarded", s, steps=400, worse_proposals=200, accepted=100,
                         accepted_worse=guarded_aw))
        recs.append(_rec("noisy", "unguarded", s, steps=400, worse_proposals=160, accepted=400,
                         accepted_worse=unguarded_aw))
    return Results(recs, list(tr.TASKS), list(tr.METHODS))


def test_verdict_on_fixtures_is_inconclusive_only_because_of_the_llm_claim() -> None:
    v = tr.verdict(_fixture())
    fails = [e.check for e in v.evidence if e.outcome is Outcome.FAIL]
    assert not fails, fails
    assert v.status is Status.INCONCLUSIVE
    assert [e.outcome for e in v.evidence].count(Outcome.INCONCLUSIVE) == 1
    first = v.evidence[0]
    assert first.value == pytest.approx(0.05 ** (1 / 60), rel=1e-9)  # 60/60: the CP lower bound


def test_twenty_programs_cannot_show_ninety_percent() -> None:
    v = tr.verdict(_fixture(seeds=1))
    assert v.evidence[0].outcome is Outcome.FAIL and v.evidence[0].value == pytest.approx(0.05 ** (1 / 20))


def test_verdict_fails_when_trace_blind_solves_too_many_or_the_guard_leaks() -> None:
    v = tr.verdict(_fixture(blind_solved=14))
    assert v.status is Status.FAILS
    v = tr.verdict(_fixture(guarded_aw=30))
    assert v.status is Status.FAILS
    assert any("guarded applies" in e.check and e.outcome is Outcome.FAIL for e in v.evidence)


def test_negative_control_fails_on_fixtures() -> None:
    assert tr.negative_control_verdict(_fixture()).status is Status.FAILS


def _noisy_results(programs: int) -> Results:
    cells = [Cell("trace", "noisy", m, 0, "quick", {"n_heldout": 10, "programs": programs})
             for m in ("guarded", "unguarded")]
    recs = [Record(c.task, c.method, c.seed, "done", dict(tr.run_cell(c).metrics), {}) for c in cells]
    return Results(recs, list(tr.TASKS), list(tr.METHODS))


def test_negative_control_fails_on_real_cells(monkeypatch) -> None:
    # Six programs with noisy feedback at a fixed step size (no tuning run, to keep this fast): the
    # guard that always accepts (the unguarded rows) fails the checks the real guard passes.
    fixed = TuningResult({"max_step": 2.0}, (({"max_step": 2.0}, 1.0),), (TUNING_SEED_OFFSET,), True)
    monkeypatch.setattr(tr, "tuning", lambda method: fixed)
    res = _noisy_results(6)
    assert tr.negative_control_verdict(res).status is Status.FAILS
    assert all(e.outcome is Outcome.PASS for e in tr.guarded_checks(res))


@pytest.mark.slow
def test_negative_control_fails_for_real() -> None:
    # One draw of twenty programs with noisy feedback, tuned as in the reproduction: the real guard
    # passes its checks, a guard that always accepts (the unguarded rows) fails the same checks.
    cells = [Cell("trace", "noisy", m, 0, "quick", {"n_heldout": 10}) for m in ("guarded", "unguarded")]
    recs = [Record(c.task, c.method, c.seed, "done", dict(tr.run_cell(c).metrics), {}) for c in cells]
    res = Results(recs, list(tr.TASKS), list(tr.METHODS))
    assert tr.negative_control_verdict(res).status is Status.FAILS
    guarded = tr.guarded_checks(res)
    assert all(e.outcome is Outcome.PASS for e in guarded), [(e.check, e.value) for e in guarded]
    assert res.metric("steps", "noisy", "guarded")[0] == res.metric("steps", "noisy", "unguarded")[0]


def test_exact_cell_metrics(monkeypatch) -> None:
    fixed = TuningResult({"max_step": 2.0}, (({"max_step": 2.0}, 1.0),), (TUNING_SEED_OFFSET,), True)
    monkeypatch.setattr(tr, "tuning", lambda method: fixed)
    m = tr.run_cell(Cell("trace", "exact", "trace-aware", 0, "quick", {})).metrics
    assert m["programs"] == 20 and m["budget"] == 20 and m["max_executions"] <= 20
    assert 0 <= m["solved"] <= 20 and m["solve_rate"] == m["solved"] / 20
    assert m["tuned_max_step"] == 2.0
    assert math.isfinite(m["mean_executions_solved"]) or m["solved"] == 0


@pytest.mark.slow
def test_quick_scale_verdict_has_data_for_every_check() -> None:
    rep = tr.REPRODUCTION
    recs = []
    for c in rep.cells("quick"):
        r = rep.run_cell(c)
        recs.append(Record(c.task, c.method, c.seed, "done", r.metrics, r.curves))
    v = rep.verdict(Results(recs, rep.tasks, rep.methods))
    computed = [e for e in v.evidence if e.outcome is not Outcome.INCONCLUSIVE]
    assert len(computed) == len(v.evidence) - 1 and all(math.isfinite(e.value) for e in computed)
    assert v.status in (Status.INCONCLUSIVE, Status.FAILS)  # the LLM claim is never tested offline
