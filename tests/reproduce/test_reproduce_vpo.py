"""The vpo reproduction: declarations, the verdict on hand-made records, the negative control, a tiny run."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.reproduce.papers import vpo as rv
from guardopt.reproduce.registry import discover
from guardopt.reproduce.spec import Cell, Record, Results, Status

TINY = {"n_responses": 60, "dim": 4, "n_pairs": 60, "steps": 40, "eval_every": 5, "rounds": 2,
        "pairs_per_round": 4, "steps_per_round": 2, "tuning_seeds": 1}


def _records(n=8, vpo_gold=-0.1, dpo_gold=-0.5, vpo_drop=0.01, dpo_drop=0.4, ref=-0.2, vpo_regret=0.5,
             dpo_regret=0.6, control_drop=1.0):
    rng = np.random.default_rng(0)
    recs = []
    for seed in range(n):
        e = lambda: float(rng.normal(0.0, 0.005))  # noqa: E731
        recs += [
            Record(rv.OFFLINE, rv.VPO, seed, "done", {"gold_final": vpo_gold + e(), "drop_from_peak": vpo_drop + e(),
                                                      "ref_gold": ref}, {}),
            Record(rv.OFFLINE, rv.DPO, seed, "done", {"gold_final": dpo_gold + e(), "drop_from_peak": dpo_drop + e(),
                                                      "ref_gold": ref}, {}),
            Record(rv.OFFLINE, rv.CONTROL, seed, "done",
                   {"gold_final": -1.5 + e(), "drop_from_peak": control_drop + e(), "ref_gold": ref}, {}),
            Record(rv.ONLINE, rv.VPO, seed, "done", {"regret": vpo_regret + e()}, {}),
            Record(rv.ONLINE, rv.DPO, seed, "done", {"regret": dpo_regret + e()}, {}),
        ]
    return Results(recs, list(rv.TASKS), list(rv.METHODS))


def test_declarations_and_registry():
    (rep,) = discover().select(["vpo"])
    assert rep.name == "vpo" and rep.methods == rv.METHODS
    pairs = {(c.task, c.method) for c in rv.REPRODUCTION.cells("full")}
    assert pairs == set(rv.GRID_PAIRS)
    assert rep.scales["full"].seeds == 20
    assert len(rv.ALPHA_GRID) == len(rv.BETA_GRID)  # the same tuning budget for α and β
    assert rv._config_kwargs(rv.OFFLINE, rv.VPO, 0.1)["sign"] == "pessimistic"
    assert rv._config_kwargs(rv.OFFLINE, rv.CONTROL, 0.1)["sign"] == "optimistic"
    assert rv._config_kwargs(rv.ONLINE, rv.VPO, 0.1)["sign"] == "optimistic"
    assert rv._config_kwargs(rv.OFFLINE, rv.IPO, 0.3) == {"alpha": 0.0, "beta": 0.3, "base_loss": "ipo"}


def test_verdict_holds_when_vpo_wins_every_check():
    v = rv.verdict(_records())
    assert v.status is Status.HOLDS, v.evidence


def test_verdict_fails_when_the_drop_is_not_halved_or_online_regret_is_worse():
    v = rv.verdict(_records(vpo_drop=0.3))
    assert v.status is Status.FAILS
    assert [e.counts_as_pass for e in v.evidence] == [True, False, True, True]
    v = rv.verdict(_records(vpo_regret=0.7))
    assert v.status is Status.FAILS and not v.evidence[3].counts_as_pass


def test_verdict_is_inconclusive_without_data():
    empty = Results([], list(rv.TASKS), list(rv.METHODS))
    assert rv.verdict(empty).status is Status.INCONCLUSIVE


def test_negative_control_fails_the_drop_check():
    v = rv.negative_control_verdict(_records())
    assert v.status is Status.FAILS
    assert not v.evidence[1].counts_as_pass  # the drop check


def test_tiny_end_to_end_cells_and_negative_control_on_real_numbers(monkeypatch):
    # One grid value each keeps this fast; the tuning and sensitivity paths still run.
    monkeypatch.setattr(rv, "ALPHA_GRID", (0.1,))
    monkeypatch.setattr(rv, "BETA_GRID", (0.1,))
    recs = []
    for task, method in ((rv.OFFLINE, rv.VPO), (rv.OFFLINE, rv.CONTROL), (rv.OFFLINE, rv.DPO), (rv.ONLINE, rv.VPO)):
        for seed in range(2):
            out = rv.run_cell(Cell("vpo", task, method, seed, "quick", TINY))
            assert all(np.isfinite(v) for k, v in out.metrics.items() if not k.startswith("sens_"))
            recs.append(Record(task, method, seed, "done", dict(out.metrics), dict(out.curves)))
    res = Results(recs, list(rv.TASKS), list(rv.METHODS))
    assert rv.verdict(res).status in (Status.HOLDS, Status.FAILS, Status.INCONCLUSIVE)
    # Optimism on offline data over-optimizes: the sign-flipped control ends with less gold than VPO.
    ctrl = res.metric("gold_final", rv.OFFLINE, rv.CONTROL)
    vpo = res.metric("gold_final", rv.OFFLINE, rv.VPO)
    assert np.all(ctrl < vpo)
    assert res.metric("regret", rv.ONLINE, rv.VPO).shape == (2,)
    assert "Negative control" in rv.extra_markdown(res)
    off = res.metric("gold_final", rv.OFFLINE, rv.VPO)
    assert off.shape == (2,)


@pytest.mark.slow
def test_quick_scale_negative_control_fails_on_real_numbers():
    rep = rv.REPRODUCTION
    recs = []
    for cell in rep.cells("quick"):
        out = rv.run_cell(cell)
        recs.append(Record(cell.task, cell.method, cell.seed, "done", dict(out.metrics), dict(out.curves)))
    res = Results(recs, list(rv.TASKS), list(rv.METHODS))
    neg = rv.negative_control_verdict(res)
    assert neg.status is Status.FAILS and not neg.evidence[1].counts_as_pass
