"""The `riskpo` reproduction: registry, verdict logic on hand-made cells, negative control, quick run."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from guardopt.reproduce.papers import riskpo as rp
from guardopt.reproduce.registry import discover
from guardopt.reproduce.spec import Record, Results, Status

N_BATCHES = 50


def _rec(method: str, seed: int, *, entropy: float, p1: float, pk: float, cov: list[float] | None = None) -> Record:
    metrics = {"entropy": entropy, "hard_pass1": p1, "hard_pass16": pk, "easy_pass1": 0.9,
               "generations": 0.0 if method == "base" else 5000.0, "lr": 3e-4}
    curves = {"pass_at_k": [p1, pk]}
    if cov is not None:
        curves["cov_logp_adv"] = cov
    return Record(rp.TASK, method, seed, "done", metrics, curves)


def _results(riskpo: dict | None = None, control: dict | None = None, seeds: int = 3) -> Results:
    arms = {
        "grpo": {"entropy": 0.10, "p1": 0.50, "pk": 0.80, "cov": 1.0},
        "riskpo": {"entropy": 0.30, "p1": 0.60, "pk": 0.90, "cov": 0.2},
        "riskpo-mean": {"entropy": 0.11, "p1": 0.50, "pk": 0.80, "cov": 1.0},
        "base": {"entropy": 0.40, "p1": 0.20, "pk": 0.90, "cov": None},
    }
    arms["riskpo"].update(riskpo or {})
    arms["riskpo-mean"].update(control or {})
    recs = []
    for seed in range(seeds):
        for m, a in arms.items():
            jitter = 0.01 * seed
            cov = None if a["cov"] is None else [a["cov"] + 0.01 * i for i in range(N_BATCHES)]
            recs.append(_rec(m, seed, entropy=a["entropy"] + jitter, p1=a["p1"] + jitter, pk=a["pk"] + jitter, cov=cov))
    return Results(recs, [rp.TASK], list(rp.METHODS))


def test_registered() -> None:
    r = discover().select(["riskpo"])[0]
    assert r.name == "riskpo" and r.methods[0] == "riskpo"


def test_pass_at_k_estimator_on_hand_values() -> None:
    assert rp.pass_at_k(0, 16, 4) == 0.0
    assert rp.pass_at_k(16, 16, 1) == 1.0
    assert rp.pass_at_k(4, 16, 1) == pytest.approx(0.25)
    assert rp.pass_at_k(1, 4, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(4, 2))  # 0.5
    assert rp.pass_at_k(2, 16, 16) == 1.0
    assert rp.k_values(16) == [1, 2, 4, 8, 16] and rp.k_values(12) == [1, 2, 4, 8, 12]
    with pytest.raises(ValueError):
        rp.pass_at_k(3, 2, 1)


def test_verdict_holds_on_clear_numbers() -> None:
    v = rp.verdict(_results())
    assert v.status is Status.HOLDS, [(e.check, e.value, e.threshold) for e in v.evidence]


def test_entropy_line_is_paired_against_twice_grpo() -> None:
    # H_riskpo − 2·H_grpo per seed: 0.30 + 0.01 s − 2 (0.10 + 0.01 s) = 0.10 − 0.01 s -> [0.10, 0.09, 0.08]
    e = rp.entropy_check(_results())
    d = np.array([0.10, 0.09, 0.08])
    lower = d.mean() - stats.t.ppf(0.95, 2) * d.std(ddof=1) / math.sqrt(3)
    assert e.passed and e.value == pytest.approx(lower, rel=1e-6)
    # 1.9× GRPO is not 2×
    assert not rp.entropy_check(_results(riskpo={"entropy": 0.19})).passed


def test_covariance_line_counts_batches_and_uses_the_lower_bound() -> None:
    e = rp.covariance_check(_results())
    assert e.passed and "150/150" in e.detail
    # 125 of 150 batches below (83%): the point rate is above 0.8 but the 95% lower bound is not
    res = _results()
    recs = []
    for r in res.records:
        if r.method == "riskpo":
            cov = [0.2] * 42 + [5.0] * 8 if r.seed < 2 else [0.2] * 41 + [5.0] * 9
            r = Record(r.task, r.method, r.seed, r.status, r.metrics, {**r.curves, "cov_logp_adv": cov})
        recs.append(r)
    e2 = rp.covariance_check(Results(recs, [rp.TASK], list(rp.METHODS)))
    assert "125/150" in e2.detail and not e2.passed
    assert e2.value == pytest.approx(stats.beta.ppf(0.05, 125, 26), rel=1e-6)


def test_pass_lines_are_paired_and_strict() -> None:
    assert rp.pass_check(_results(), "hard_pass1", "Pass@1").passed
    # GRPO ahead (the prototype's finding) makes both pass lines fail
    behind = _results(riskpo={"p1": 0.45, "pk": 0.70})
    v = rp.verdict(behind)
    assert v.status is Status.FAILS
    assert not rp.pass_check(behind, "hard_pass1", "Pass@1").passed
    assert not rp.pass_check(behind, "hard_pass16", "Pass@16").passed


def test_negative_control_mean_objective_makes_the_entropy_line_fail() -> None:
    res = _results()
    assert rp.entropy_check(res).passed
    assert not rp.entropy_check(res, "riskpo-mean").passed
    # and the verdict with the control's numbers in RiskPO's place says FAILS
    swapped = _results(riskpo={"entropy": 0.11, "cov": 1.0})
    v = rp.verdict(swapped)
    assert v.status is Status.FAILS
    assert not v.evidence[0].passed and not v.evidence[1].passed


def test_one_seed_is_inconclusive_not_a_pass() -> None:
    v = rp.verdict(_results(seeds=1))
    assert v.status is not Status.HOLDS
    assert not rp.entropy_check(_results(seeds=1)).passed


def test_report_pieces_render_on_hand_made_cells(tmp_path) -> None:
    md = rp.extra_markdown(_results())
    assert "Negative control" in md and "Sensitivity" in md and "Tuning" in md
    assert rp.plots(_results(), tmp_path)  # the pass@k plot at least


@pytest.mark.slow
def test_quick_scale_runs_end_to_end(tmp_path) -> None:
    pytest.importorskip("torch")
    from guardopt.reproduce.runner import load_results, run
    from guardopt.reproduce.store import ResultStore

    run([rp.REPRODUCTION], store=tmp_path / "r.db", scale="quick")
    with ResultStore(tmp_path / "r.db") as store:
        res = load_results(store, rp.REPRODUCTION, "quick")
    assert not res.failed and len(res.done) == 2 * len(rp.METHODS)
    assert rp.budget_check(res).passed
    assert rp.verdict(res).status in (Status.HOLDS, Status.FAILS, Status.INCONCLUSIVE)
    assert "Negative control" in rp.extra_markdown(res)
    assert len(rp.plots(res, tmp_path)) == 2
