"""The PPO half of the `reward-ensembles` reproduction: its verdict lines, negative controls, a quick run.

(The best-of-n half is tested in tests/offline/test_offline_reproductions.py.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.reproduce.spec import Outcome, Record, Results, Status

N_BON = 8  # best-of-n lines (2 noise levels × 2 guards × eliminates / improves), then the 70% line
N_PPO = 24  # (a) 8, (b) 8, (c) 8


def _ppo_results(drop: dict[str, float], final: dict[str, float], peak: dict[str, float] | None = None,
                 kl_drop: dict[str, float] | None = None, seeds: int = 10, extra_seeds: int = 0) -> Results:
    """Synthetic PPO cells (no best-of-n cells): per objective its drop from peak and final gold."""
    from guardopt.reproduce.papers.reward_ensembles import PPO_TASKS, REPRODUCTION

    rng = np.random.default_rng(3)
    recs = []
    for task, spec in PPO_TASKS.items():
        for seed in range(seeds + extra_seeds):
            shared = 0.05 * rng.standard_normal()
            for m in REPRODUCTION.methods:
                if seed >= seeds:  # a cell outside the PPO seed count stores only ppo_run = 0
                    recs.append(Record(task, m, seed, "done", {"ppo_run": 0.0}, {}))
                    continue
                d = (kl_drop or drop)[m] if spec.kl > 0 else drop[m]
                d = max(0.0, d + 0.01 * rng.standard_normal())
                fin = final[m] + shared + 0.01 * rng.standard_normal()
                pk = (peak or {}).get(m, fin + d)
                init = -0.2
                rel = (pk - fin) / (pk - init)
                metrics = {"drop_from_peak": pk - fin, "gold_final": fin, "gold_peak": pk, "gold_init": init,
                           "rel_drop": rel, "ppo_samples": 25600.0, "ppo_run": 1.0, "update_peak": 50.0,
                           "kl_final": 5.0, "proxy_final": 3.0, "scale_final": 1.0}
                curves = {"ppo_gold": [init, pk, fin], "ppo_proxy": [0.0, 1.0, 2.0], "ppo_kl": [0.0, 1.0, 2.0],
                          "ppo_update": [0.0, 50.0, 100.0]}
                recs.append(Record(task, m, seed, "done", metrics, curves))
    return Results(recs, REPRODUCTION.tasks, REPRODUCTION.methods)


GOOD_DROP = {"uwo": 0.1, "wco": 0.05, "mean": 1.0, "single": 2.0}
GOOD_FINAL = {"uwo": 1.8, "wco": 2.0, "mean": 1.0, "single": 0.5}


def _ppo_lines(results: Results) -> list[Outcome]:
    from guardopt.reproduce.papers.reward_ensembles import REPRODUCTION

    ev = REPRODUCTION.verdict(results).evidence
    return [e.outcome for e in ev[N_BON + 1 : N_BON + 1 + N_PPO]]


def test_declaration_tasks_and_paper_values() -> None:
    from guardopt.reproduce.papers.reward_ensembles import (
        PPO_KL_SMALL,
        PPO_TASKS,
        PPO_VERDICT_TASKS,
        REPRODUCTION,
        SETTINGS,
    )

    assert REPRODUCTION.name == "reward-ensembles"
    assert REPRODUCTION.tasks[:2] == ("label-noise-25", "label-noise-0")  # best-of-n first, unchanged
    assert set(PPO_TASKS) <= set(REPRODUCTION.tasks)
    # The paper's PPO settings: both noise levels, β = 0 and its small 0.01; clip 0.2, 4 epochs, UWO λ 0.1.
    assert {(PPO_TASKS[t].noise, PPO_TASKS[t].kl) for t in PPO_VERDICT_TASKS} == {
        (0.25, 0.0), (0.25, 0.01), (0.0, 0.0), (0.0, 0.01)}
    assert PPO_KL_SMALL == 0.01
    assert (SETTINGS["ppo_clip"], SETTINGS["ppo_epochs"], SETTINGS["ppo_uwo_lambda"]) == (0.2, 4, 0.1)
    assert SETTINGS["ppo_seeds"] == 10 and REPRODUCTION.scales["full"].seeds >= 10


def test_ppo_verdict_lines_pass_on_a_good_run() -> None:
    good = _ppo_results(GOOD_DROP, GOOD_FINAL, kl_drop={"uwo": 0.0, "wco": 0.0, "mean": 0.5, "single": 1.0},
                        extra_seeds=3)
    assert _ppo_lines(good) == [Outcome.PASS] * N_PPO
    from guardopt.reproduce.papers.reward_ensembles import REPRODUCTION

    v = REPRODUCTION.verdict(good)
    assert v.evidence[N_BON + 1 + N_PPO].outcome is Outcome.PASS  # equal budget
    assert "PPO ppo-noise-25-kl0: wco reduces over-optimization" in v.evidence[N_BON + 1].check
    # The skipped seeds (ppo_run = 0) are not pairs: 10 pairs, not 13.
    assert "10 pairs" in v.evidence[N_BON + 1].detail
    md = REPRODUCTION.extra_markdown(good)  # type: ignore[misc]
    assert "#### ppo-noise-0-kl0.01" in md and "PPO sensitivity" in md and "**Tuning.** None" in md


def test_negative_control_single_model_in_disguise_fails_a() -> None:
    # "WCO" that is really the single reward model: the same drop and gold as single on every seed.
    bad = _ppo_results(dict(GOOD_DROP, wco=GOOD_DROP["single"]), dict(GOOD_FINAL, wco=GOOD_FINAL["single"]))
    lines = _ppo_lines(bad)
    # (a) per setting: wco, uwo, wco, uwo, ... -> every wco line FAILS, every uwo line passes.
    assert lines[:8] == [Outcome.FAIL, Outcome.PASS] * 4
    assert lines[8:16] == [Outcome.FAIL, Outcome.PASS] * 4


def test_negative_control_identical_runs_fail_exactly() -> None:
    # A copy of the single cells (zero paired difference, zero spread) must FAIL, not pass at 0 > 0.
    from guardopt.reproduce.papers.reward_ensembles import ppo_beats, ppo_reduces

    base = _ppo_results(GOOD_DROP, GOOD_FINAL)
    recs = [r for r in base.records if r.method != "wco"]
    recs += [Record(r.task, "wco", r.seed, r.status, r.metrics, r.curves) for r in base.records if r.method == "single"]
    res = Results(recs, base.tasks, base.methods)
    assert ppo_reduces(res, "ppo-noise-25-kl0", "wco").outcome is Outcome.FAIL
    assert ppo_beats(res, "ppo-noise-25-kl0", "wco").outcome is Outcome.FAIL


def test_small_kl_lines_are_strict() -> None:
    from guardopt.reproduce.papers.reward_ensembles import PPO_DROP_TOL, ppo_no_cost, ppo_prevents

    # With β = 0.01 the conservative runs still lose ~0.5 of their gain: (c1) fails on its upper bound.
    res = _ppo_results(GOOD_DROP, GOOD_FINAL, kl_drop={"uwo": 1.0, "wco": 1.0, "mean": 1.0, "single": 1.0})
    e = ppo_prevents(res, "ppo-noise-25-kl0.01", "wco")
    assert e.outcome is Outcome.FAIL and e.value > PPO_DROP_TOL and e.threshold == PPO_DROP_TOL
    # (c2) compares the final gold with the penalty to the no-KL run's PEAK: a no-KL peak far above the
    # penalized run's final gold is a cost.
    costly = _ppo_results(GOOD_DROP, GOOD_FINAL, peak={"wco": 4.0, "uwo": 4.0})
    c2 = ppo_no_cost(costly, "ppo-noise-25-kl0.01", "ppo-noise-25-kl0", "wco")
    assert c2.outcome is Outcome.FAIL and c2.threshold == pytest.approx(-0.1)
    # By hand: final 2.0, no-KL peak 4.0, gold at update 0 −0.2 -> (2 − 4)/4.2 ≈ −0.476 per seed.
    assert c2.value == pytest.approx(-2.0 / 4.2, abs=0.02)


def test_no_ppo_cells_is_inconclusive_not_pass() -> None:
    from guardopt.reproduce.papers.reward_ensembles import REPRODUCTION

    v = REPRODUCTION.verdict(Results([], REPRODUCTION.tasks, REPRODUCTION.methods))
    assert v.status == Status.INCONCLUSIVE
    assert all(o is Outcome.INCONCLUSIVE for o in _ppo_lines(Results([], REPRODUCTION.tasks, REPRODUCTION.methods)))


@pytest.mark.slow
def test_real_negative_control_wco_that_is_the_single_model_fails_a() -> None:
    # Real PPO runs at the quick scale: "wco" whose proxy is member 0 alone reproduces single-RM PPO
    # exactly (same members, same draws), so its drop is not below single's and (a) FAILS.
    from guardopt.reproduce.papers.reward_ensembles import REPRODUCTION, SETTINGS, ppo_reduces, ppo_run

    s = {**SETTINGS, **dict(REPRODUCTION.scales["quick"].settings)}
    recs = []
    for seed in range(3):
        for method, combiner in (("single", None), ("wco", "single")):
            r = ppo_run(seed, 0.25, method, 0.0, float(s["ppo_lr"]), s, combiner=combiner)
            recs.append(Record("ppo-noise-25-kl0", method, seed, "done", r["metrics"], r["curves"]))
    res = Results(recs, REPRODUCTION.tasks, REPRODUCTION.methods)
    e = ppo_reduces(res, "ppo-noise-25-kl0", "wco")
    assert e.outcome is Outcome.FAIL and e.value == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
def test_quick_ppo_cells_run_and_are_consistent() -> None:
    from guardopt.reproduce.papers.reward_ensembles import PPO_TASKS, REPRODUCTION

    recs = []
    for c in REPRODUCTION.cells("quick"):
        if c.task not in PPO_TASKS:
            continue
        r = REPRODUCTION.run_cell(c)
        if PPO_TASKS[c.task].sensitivity:
            assert r.metrics == {"ppo_run": 0.0}  # not run at the quick scale
            continue
        gold = np.asarray(r.curves["ppo_gold"])
        assert r.metrics["gold_peak"] == pytest.approx(gold.max())
        assert r.metrics["drop_from_peak"] == pytest.approx(gold.max() - gold[-1])
        assert r.metrics["gold_init"] == pytest.approx(gold[0]) and r.curves["ppo_kl"][0] == 0.0
        assert math.isfinite(r.metrics["proxy_final"]) and r.metrics["kl_final"] > 0
        recs.append(Record(c.task, c.method, c.seed, "done", r.metrics, r.curves))
    # All objectives of a seed start from the same reference policy on the same draws (paired).
    res = Results(recs, REPRODUCTION.tasks, REPRODUCTION.methods)
    init = res.metric("gold_init", "ppo-noise-25-kl0")
    assert np.allclose(init.reshape(4, -1), init.reshape(4, -1)[0])
    assert len(_ppo_lines(res)) == N_PPO
