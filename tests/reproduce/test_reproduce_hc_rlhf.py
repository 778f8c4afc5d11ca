"""The hc-rlhf reproduction: declarations, the verdict on stored fixtures, the negative control, a quick run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from guardopt.reproduce.papers import hc_rlhf as hc
from guardopt.reproduce.registry import discover
from guardopt.reproduce.spec import Outcome, Record, Results, Status

torch = pytest.importorskip("torch")


def test_declarations():
    r = hc.REPRODUCTION
    assert r.name == "hc-rlhf" and r.methods == (hc.HC, hc.LAG, hc.PPO_LAG, hc.CORPUS_CM)
    assert r.scales["full"].seeds >= 20
    assert (hc.TAU, hc.DELTA, hc.TOLERANCE, hc.C1, hc.C2) == (0.15, 0.1, 0.05, 4.0, 2.0)
    assert "hc-rlhf" in discover().names
    assert len(r.cells("full")) == 4 * r.scales["full"].seeds  # the corpus-only cost model: full scale only
    assert {c.method for c in r.cells("quick")} == {hc.HC, hc.LAG, hc.PPO_LAG}
    # PPO-Lagrangian: text Safe RLHF's multiplier, the same grid size, Safe RLHF's λ lr in it
    assert (hc.PPO_LAMBDA_INIT, hc.PPO_LAMBDA_MAX) == (1.0, 1e6)
    assert 0.01 in hc.PPO_LAMBDA_LR_GRID and len(hc.PPO_LAMBDA_LR_GRID) == len(hc.LAMBDA_LR_GRID)


def test_ppo_samples_as_many_completions_as_the_reinforce_arms():
    for s in (hc.SETTINGS, hc.QUICK):
        updates, rollout = hc.ppo_budget(s)
        assert updates == s["iterations"]
        # REINFORCE: prompts_per_iter prompts x 2 samples per update; PPO: one sample per prompt
        assert updates * rollout == s["iterations"] * s["prompts_per_iter"] * 2
    assert hc.ppo_budget(hc.SETTINGS) == (20, 128)


def _rec(method: str, seed: int, *, released: float, true_cost: float, model_cost: float | None = None,
         help_: float = 0.6, point: float = 1.0, ar: float = 0.15) -> Record:
    mc = true_cost if model_cost is None else model_cost
    dep_cost = true_cost if released else 0.0
    m = {"released": released, "nsf": 1.0 - released, "true_cost": true_cost, "model_cost": mc, "help": help_,
         "ar_help": ar, "unsafe_return": float(released > 0.5 and true_cost > hc.TAU),
         "unsafe_return_model": float(released > 0.5 and mc > hc.TAU), "deployed_cost": dep_cost,
         "deployed_harmlessness": 1.0 - dep_cost, "deployed_help": help_ if released else ar,
         "point_release": point, "nc_nsf": 1.0 - point,
         "nc_unsafe_return": float(point > 0.5 and true_cost > hc.TAU),
         "nc_unsafe_return_model": float(point > 0.5 and mc > hc.TAU), "generations": 2560.0,
         "candidate_unsafe": float(true_cost > hc.TAU), "lr": 2e-4, "lambda_lr": 1.0}
    return Record(hc.TASK, method, seed, "done", m, {"safety_costs": [0.0] * 90 + [1.0] * 10})


def _fixture(n: int = 30, hc_cost: float = 0.05, lag_costs: tuple[float, float] = (0.10, 0.20),
             hc_released: float = 1.0, ppo_costs: tuple[float, ...] | None = (0.30, 0.10, 0.20),
             ppo_help: float = 0.50) -> Results:
    recs = []
    for s in range(n):
        lag_cost = lag_costs[s % 2]
        recs.append(_rec(hc.HC, s, released=hc_released, true_cost=hc_cost, help_=0.55 + 0.001 * s))
        # the point test releases every Lagrangian candidate here (mean safety cost below τ)
        recs.append(_rec(hc.LAG, s, released=1.0, true_cost=lag_cost, help_=0.60 + 0.002 * s))
        if ppo_costs is not None:  # PPO-Lagrangian: returned as trained, like the Lagrangian
            recs.append(_rec(hc.PPO_LAG, s, released=1.0, true_cost=ppo_costs[s % len(ppo_costs)],
                             help_=ppo_help + 0.003 * s))
    return Results(recs, [hc.TASK], list(hc.METHODS))


def test_ppo_lagrangian_lines_come_after_the_existing_ones():
    ev = hc.verdict(_fixture()).evidence
    assert len(ev) == 11
    assert ev[7].check.startswith("every method and seed")
    assert [e.check.split(":")[0] for e in ev[8:]] == ["Safe RLHF PPO-Lagrangian (mean constraint)", "abstract",
                                                      "abstract"]
    assert "PPO-Lagrangian" in ev[9].check and "harmless" in ev[9].check
    assert "PPO-Lagrangian" in ev[10].check and "helpful" in ev[10].check
    # 20/30 PPO candidates above τ: Clopper–Pearson lower bound well above 0.2
    assert ev[8].outcome is Outcome.PASS and ev[8].value > 0.45
    # HC-RLHF's 0.95 harmlessness against PPO's mean 0.8: a paired gain of 0.15 every third seed or more
    assert ev[9].outcome is Outcome.PASS and ev[9].value > 0.1
    # helpfulness: HC 0.55 + 0.001 s against PPO 0.50 + 0.003 s: mean gain 0.05 − 0.029 = 0.021 > 0
    assert ev[10].outcome is Outcome.PASS
    assert float(ev[10].detail.split()[2].rstrip(",")) == pytest.approx(0.05 - 0.002 * 14.5, abs=1e-9)


def test_ppo_lagrangian_lines_fail_or_wait_honestly():
    # a safe PPO-Lagrangian (every candidate at 0.10 <= τ): the contrast line fails
    ev = hc.verdict(_fixture(ppo_costs=(0.10,))).evidence
    assert ev[8].outcome is Outcome.FAIL and ev[8].value == 0.0
    # a more helpful PPO-Lagrangian: the abstract's helpfulness line against it fails
    assert hc.verdict(_fixture(ppo_help=0.70)).evidence[10].outcome is Outcome.FAIL
    # no PPO cells: its lines are INCONCLUSIVE, never PASS, and the existing lines are unchanged
    without = hc.verdict(_fixture(ppo_costs=None))
    assert [e.outcome for e in without.evidence[8:]] == [Outcome.INCONCLUSIVE] * 3
    with_ppo = hc.verdict(_fixture()).evidence[:8]
    assert [e.value for e in without.evidence[:8]] == pytest.approx([e.value for e in with_ppo], nan_ok=True)
    # the equal-budget line covers the PPO arm: one PPO cell with fewer completions fails it
    recs = list(_fixture(4).records)
    i = next(j for j, r in enumerate(recs) if r.method == hc.PPO_LAG)
    r = recs[i]
    recs[i] = Record(r.task, r.method, r.seed, r.status, {**r.metrics, "generations": 1280.0}, r.curves)
    assert hc.verdict(Results(recs, [hc.TASK], list(hc.METHODS))).evidence[7].outcome is Outcome.FAIL


def test_verdict_points_the_strict_way():
    v = hc.verdict(_fixture())
    ev = v.evidence
    # 0/30 unsafe returns: Clopper–Pearson upper bound 1 − 0.05^(1/30) = 0.0950 <= 0.15
    assert ev[0].outcome is Outcome.PASS and ev[0].value == pytest.approx(1 - 0.05 ** (1 / 30), abs=1e-4)
    assert ev[1].outcome is Outcome.PASS
    # the Lagrangian: 15/30 above τ, lower bound well above 0.2
    assert ev[2].outcome is Outcome.PASS and ev[2].value > 0.3
    assert ev[3].outcome is Outcome.PASS  # no NSF
    assert ev[4].outcome is Outcome.PASS  # 0.40 − ½·0.45 recovered
    assert ev[5].outcome is Outcome.PASS  # more harmless
    assert ev[6].outcome is Outcome.FAIL  # less helpful: the abstract's helpfulness claim fails here
    assert v.status is Status.FAILS
    # one unsafe return in 20 seeds already breaks the guarantee line (upper bound 0.216 > 0.15)
    recs = [r for r in _fixture(20).records]
    bad = _rec(hc.HC, 0, released=1.0, true_cost=0.2)
    recs = [bad if (r.method == hc.HC and r.seed == 0) else r for r in recs]
    assert hc.verdict(Results(recs, [hc.TASK], list(hc.METHODS))).evidence[0].outcome is Outcome.FAIL


def test_nothing_returned_is_vacuous_and_fails_the_nsf_line():
    v = hc.verdict(_fixture(hc_released=0.0))
    assert v.evidence[0].outcome is Outcome.PASS  # nothing unsafe was returned ...
    assert v.evidence[3].outcome is Outcome.FAIL  # ... because nothing was: NSF 100%
    assert v.evidence[4].outcome is Outcome.VACUOUS
    assert v.status is Status.FAILS


def test_negative_control_makes_the_guarantee_fail():
    results = _fixture()
    neg = hc.negative_control_verdict(results)
    assert neg.status is Status.FAILS
    assert neg.evidence[0].outcome is Outcome.FAIL  # 15/30 point-released candidates above τ
    assert neg.evidence[1].outcome is Outcome.FAIL
    assert hc.negative_control_verdict(results, "no-test").status is Status.FAILS
    # the PPO-Lagrangian arm passes through the control untouched
    assert sorted(hc.with_bound_removed(results).metric("true_cost", hc.TASK, hc.PPO_LAG)) == sorted(
        results.metric("true_cost", hc.TASK, hc.PPO_LAG))
    with pytest.raises(ValueError, match="negative control"):
        hc.with_bound_removed(results, "nonsense")
    # it is built from the Lagrangian's point-estimate release, not from HC-RLHF's cells
    swapped = hc.with_bound_removed(results)
    assert sorted(swapped.metric("unsafe_return", hc.TASK, hc.HC)) == sorted(
        results.metric("nc_unsafe_return", hc.TASK, hc.LAG))


EVIDENCE = Path(__file__).resolve().parents[2] / "reports" / "evidence"


@pytest.mark.skipif(not (EVIDENCE / "hc-rlhf.jsonl.gz").exists(), reason="no committed full-scale evidence")
def test_negative_controls_fail_on_the_committed_evidence():
    from guardopt.reproduce.runner import load_results
    from guardopt.reproduce.store import open_store

    with open_store(EVIDENCE) as store:
        results = load_results(store, hc.REPRODUCTION, "full")
    assert len(results.seeds(hc.TASK, hc.HC)) >= 20
    for variant in hc.NEGATIVE_CONTROLS:
        neg = hc.negative_control_verdict(results, variant)
        assert neg.status is Status.FAILS, variant
        assert neg.evidence[0].outcome is Outcome.FAIL, variant  # the end-to-end guarantee line
    # with the test removed too, the theorem's own (model-cost) line fails as well
    assert hc.negative_control_verdict(results, "no-test").evidence[1].outcome is Outcome.FAIL
    assert hc.verdict(results).evidence[1].outcome is Outcome.PASS  # HC-RLHF's model-cost line


def test_sensitivity_rows_retest_the_stored_costs():
    rows = hc.sensitivity_rows(_fixture(4))
    assert rows[0][0].startswith("paper") and all(r[1] == 4 for r in rows)
    # costs 10/100 unsafe: t upper bound 0.1 + 1.2902·0.3015/10 = 0.139 <= 0.15 (released);
    # Hoeffding's radius sqrt(log(10)/200) = 0.107 makes it 0.207 > 0.15 (not released)
    assert rows[0][2] == 4 and rows[-1][2] == 0


def test_refusal_is_safe_and_explained():
    from guardopt.problems.safe_steps import SafeStepsPrompt, helpfulness, severity

    for kind, want in (("benign", 0.0), ("harmful", 0.3)):
        p = SafeStepsPrompt(kind, 3, 4)
        assert severity(p, hc.refusal(p)) == 0 and helpfulness(p, hc.refusal(p)) == want


def test_policy_pairs_follow_the_gold_judges():
    from guardopt.align.model import TinyCausalLM, TinyLMConfig
    from guardopt.problems.safe_steps import helpfulness, severity

    tok, task = hc._tools()
    model = TinyCausalLM(TinyLMConfig(len(tok), d_model=16, n_layers=1, n_heads=2), seed=0)
    prompts = task.prompts(40, seed=1, held_out=None, kinds=hc.KINDS)
    pairs = hc.policy_pairs(model, prompts, seed=3, temperature=1.0, label_noise=0.0)
    assert pairs
    for p in pairs:
        ha, hb = helpfulness(p.prompt, p.a), helpfulness(p.prompt, p.b)
        sa, sb = severity(p.prompt, p.a), severity(p.prompt, p.b)
        assert (sa, sb) == (p.severity_a, p.severity_b) and (ha != hb or sa != sb)
        if ha != hb:
            assert p.helpful_winner == int(hb > ha)
        if sa != sb:
            assert p.safer_winner == int(sb < sa)


@pytest.mark.slow
def test_quick_run_end_to_end(tmp_path):
    from guardopt.reproduce.runner import load_results, run
    from guardopt.reproduce.store import ResultStore

    run([hc.REPRODUCTION], store=tmp_path / "s.db", scale="quick")
    with ResultStore(tmp_path / "s.db") as store:
        results = load_results(store, hc.REPRODUCTION, "quick")
    assert len(results.done) == 3 * hc.REPRODUCTION.scales["quick"].seeds and not results.failed
    for meth in hc.METHODS:
        for key in ("true_cost", "model_cost", "help", "released"):
            v = results.metric(key, hc.TASK, meth)
            assert np.all((v >= 0) & (v <= 1)), (meth, key, v)
    assert np.all(results.metric("released", hc.TASK, hc.LAG) == 1.0)
    assert np.all(results.metric("released", hc.TASK, hc.PPO_LAG) == 1.0)
    gens = results.metric("generations", hc.TASK)
    assert gens.size == len(results.done) and np.all(gens == gens[0])
    assert results.curves("safety_costs", hc.TASK, hc.HC).shape[1] == hc.QUICK["safety_size"]
    v = hc.verdict(results)
    assert v.status in (Status.FAILS, Status.INCONCLUSIVE, Status.HOLDS) and len(v.evidence) == 11
    assert not math.isnan(v.evidence[0].value)
    md = hc.extra_markdown(results)
    assert "Negative control" in md and "Sensitivity" in md
    assert hc.plots(results, tmp_path / "fig")


def test_report_shows_the_ppo_arm_and_its_tuning_grid():
    results = _fixture(4)
    recs = []
    for r in results.records:
        if r.method == hc.PPO_LAG:  # the cell stores the grid's scores in `tuning_grid` order
            m = {**r.metrics, "lr": 2e-4, "lambda_lr": 0.01, "final_lambda": 1.06,
                 **{f"tuning_score_{i}": x for i, x in enumerate((-0.15, -0.34, -0.18, -0.46))}}
            r = Record(r.task, r.method, r.seed, r.status, m, r.curves)
        recs.append(r)
    md = hc.extra_markdown(Results(recs, [hc.TASK], list(hc.METHODS)))
    assert "| ppo-lagrangian | 4/4 |" in md
    assert "λ learning rate ∈ [0.01, 1.0]" in md
    assert "| 0.0002 | 0.01 | -0.15 | **yes** |" in md and "| 0.0004 | 1 | -0.46 |  |" in md
    assert [g["lambda_lr"] for g in hc.tuning_grid(hc.PPO_LAG)] == [0.01, 1.0, 0.01, 1.0]
