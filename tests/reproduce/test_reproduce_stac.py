"""Reproduction `stac`: the verdict's criteria on constructed cells, the negative control, one real cell."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.reproduce.papers import stac
from guardopt.reproduce.registry import discover
from guardopt.reproduce.spec import Cell, Record, Results

SEEDS = range(3)


def _cells(bias: dict[str, float], score: dict[str, float], occ: dict[str, float], ratio: float = 0.5,
           returns_spread: dict[str, float] | None = None) -> Results:
    spread = returns_spread or {"stac": 0.1, "stac-nodropout": 30.0}
    recs = []
    for t in stac.TASKS:
        for m in stac.METHODS:
            if (t, m) not in stac.grid("full"):
                continue
            rng = np.random.default_rng(sum(map(ord, t + m)))  # each method its own seed-to-seed noise
            for s in SEEDS:
                noise = rng.standard_normal(3)
                ret = -20.0 + spread.get(m, 1.0) * (s - 1)
                metrics = {"bias": bias.get(m, 0.0) + 0.2 * noise[0], "score": score.get(m, 20.0) + 0.2 * noise[1],
                           "occupancy": occ.get(m, 0.2) * (1 + 0.05 * noise[2]), "return": ret}
                if m == "stac":
                    metrics.update({"time_ratio": ratio + 0.01 * noise[0], "time_ratio_separate": ratio / 2})
                recs.append(Record(t, m, s, "done", metrics, {}))
    return Results(recs, stac.TASKS, stac.METHODS)


GOOD = {"bias": {"sac-single": 3.0, "stac": -0.5, "stac-beta0": 2.9, "sac-twin": 0.2},
        "score": {"stac": 20.0, "sac-twin": 20.5},
        "occ": {"stac-beta0": 0.4, "stac": 0.2, "stac-beta0.5": 0.1}}


def _good(**kw: object) -> Results:
    args = {**GOOD, **kw}
    return _cells(args["bias"], args["score"], args["occ"], **{k: v for k, v in kw.items() if k not in GOOD})


def test_registered_under_its_name():
    assert "stac" in discover().names


def test_verdict_holds_on_cells_that_meet_every_criterion():
    v = stac.verdict(_good())
    assert v.status.value == "HOLDS", [(e.check, e.value, e.counts_as_pass) for e in v.evidence]
    assert len(v.evidence) == 10


def test_verdict_fails_when_the_single_critic_does_not_overestimate():
    v = stac.verdict(_good(bias={**GOOD["bias"], "sac-single": -1.0}))
    failed = {e.check.split(":")[0] for e in v.evidence if not e.counts_as_pass}
    assert v.status.value == "FAILS" and "(1) Pendulum-noise" in failed and "(1) RiskyPointMass" in failed


def test_return_criterion_uses_ninety_percent_of_twin_sac_above_random():
    # 18.5 ≥ 0.9 × 20 = 18 passes; 17 does not
    assert stac.return_ok(_good(score={"stac": 18.5, "sac-twin": 20.0}), "RiskyPointMass").counts_as_pass
    assert not stac.return_ok(_good(score={"stac": 17.0, "sac-twin": 20.0}), "RiskyPointMass").counts_as_pass


def test_occupancy_criterion_and_its_inconclusive_case():
    assert stac.occupancy_falls(_good()).counts_as_pass
    assert not stac.occupancy_falls(_good(occ={"stac-beta0": 0.3, "stac-beta0.5": 0.2})).counts_as_pass
    none = stac.occupancy_falls(_cells(GOOD["bias"], GOOD["score"], {"stac-beta0": 0.0, "stac-beta0.5": 0.0}))
    assert none.outcome is not None and none.outcome.value == "INCONCLUSIVE"


def test_time_criterion_on_the_upper_bound():
    assert stac.cheaper(_good(ratio=0.5)).counts_as_pass
    # a mean ratio just under 0.75 still fails when its upper bound is above 0.75
    spread = _good(ratio=0.74)
    for r in spread.records:
        if r.method == "stac":
            r.metrics["time_ratio"] = 0.74 + 0.1 * (r.seed - 1)
    assert not stac.cheaper(spread).counts_as_pass
    assert not stac.cheaper(_good(ratio=1.3)).counts_as_pass


def test_dropout_line_holds_fails_or_says_it_cannot_tell():
    assert stac.dropout_stability(_good(), "Pendulum-noise").counts_as_pass
    worse = stac.dropout_stability(_good(returns_spread={"stac": 30.0, "stac-nodropout": 0.1}), "Pendulum-noise")
    assert worse.outcome is not None and worse.outcome.value == "FAIL"
    same = stac.dropout_stability(_good(returns_spread={"stac": 1.0, "stac-nodropout": 1.5}), "Pendulum-noise")
    assert same.outcome is not None and same.outcome.value == "INCONCLUSIVE"


def test_negative_control_makes_the_bias_criterion_fail():
    # STAC without pessimism overestimates like the single critic: criterion (2) must FAIL for it
    assert stac.negative_control(_good()).status.value == "FAILS"
    # ... and the same check passes for a variant whose bias really is lower (the check can pass)
    assert stac.negative_control(_good(bias={**GOOD["bias"], "stac-beta0": -1.0})).status.value == "HOLDS"


def test_a_real_cell_runs_at_a_tiny_scale():
    settings = {**stac.REPRODUCTION.scales["quick"].settings, "steps_rpm": 40, "start_steps": 20,
                "batch_size": 8, "hidden": 8, "eval_episodes": 2, "bias_tail": 5, "timing_updates": 2,
                "timing_blocks": 1}
    out = stac.run_cell(Cell("stac", "RiskyPointMass", "stac", 0, "quick", settings))
    m = out.metrics
    for key in ("return", "score", "bias", "occupancy", "cpu_ms_per_update", "time_ratio"):
        assert np.isfinite(m[key]), key
    assert 0.0 <= m["occupancy"] <= 1.0 and m["t_stac"] > 0


@pytest.mark.slow
def test_quick_scale_end_to_end(tmp_path):
    from guardopt.reproduce.runner import load_results, run
    from guardopt.reproduce.store import ResultStore

    run([stac.REPRODUCTION], scale="quick", store=tmp_path / "s.db")
    with ResultStore(tmp_path / "s.db") as db:
        res = load_results(db, stac.REPRODUCTION, "quick")
    assert len(res.done) == len(stac.grid("quick")) * stac.REPRODUCTION.scales["quick"].seeds
    assert stac.verdict(res).status.value in ("HOLDS", "FAILS", "INCONCLUSIVE")
    assert stac.plots(res, tmp_path)
    assert "Negative control" in stac.extra_markdown(res)
