"""The multiplicity reproduction: declarations, real cells on a tiny scale, the negative control FAILS."""

from __future__ import annotations

import dataclasses

import pytest

from guardopt.reproduce.papers import multiplicity as mp
from guardopt.reproduce.spec import Cell, Outcome, Record, Results, Status

TINY = {"n_train": 120, "per_stratum": 1, "sweep_points": 2, "eps_grid": mp.QUICK_EPS, "n_models": 20,
        "tune_seeds": 1}


def test_declarations():
    r = mp.REPRODUCTION
    assert r.name == "multiplicity" and r.methods == ("convex", "sampling")
    assert mp.NEGATIVE_CONTROL not in r.methods
    assert mp.EPSILON in mp.QUICK_EPS and mp.EPSILON in mp.FULL_EPS
    assert len(r.cells("quick")) == 6


def test_query_points_are_stratified_and_weighted():
    X, _y, minority = mp.task_data("synthetic", 0, 200)
    index, mi, ou, w = mp.query_points("synthetic", 0, X, minority, 3)
    assert index.size == 12 and set(zip(mi.tolist(), ou.tolist())) == set(mp.STRATA)
    assert w.sum() == pytest.approx(1.0)  # the stratum shares add up to the whole
    assert mp.outliers(X).sum() == 20


@pytest.fixture(scope="module")
def tiny_results() -> Results:
    recs = []
    for method in ("convex", "sampling", mp.NEGATIVE_CONTROL):
        cell = Cell("multiplicity", "synthetic", method, 0, "quick", TINY)
        res = mp.run_cell(cell)
        recs.append(Record("synthetic", method, 0, "done", dict(res.metrics), dict(res.curves)))
    return Results(recs, ["synthetic"], ["convex", "sampling"])


def _outcome(verdict, prefix: str) -> Outcome:
    [e] = [e for e in verdict.evidence if e.check.startswith(prefix)]
    assert e.outcome is not None
    return e.outcome


def test_real_cells_pass_the_exact_checks(tiny_results):
    v = mp.verdict(tiny_results)
    for prefix in ("synthetic: (1)", "synthetic: (2) points", "synthetic: (3) width", "synthetic: (4)",
                   "synthetic: (5)"):
        assert _outcome(v, prefix) is Outcome.PASS, prefix
    convex = next(r for r in tiny_results.records if r.method == "convex")
    assert convex.metrics["discrepancy_bound"] <= convex.metrics["ambiguity"]
    assert v.status is not Status.HOLDS  # one seed and the 'efficiently' line: never a HOLDS here


def test_negative_control_fails(tiny_results):
    v = mp.verdict(tiny_results, method=mp.NEGATIVE_CONTROL)
    assert v.status is Status.FAILS
    assert _outcome(v, "synthetic: (1)") is Outcome.FAIL  # sampled models fall outside a point "range"


def test_no_sampled_model_inside_is_vacuous(tiny_results):
    recs = []
    for r in tiny_results.records:
        curves = dict(r.curves)
        if r.method == "sampling":
            curves["lower"] = [float("nan")] * len(curves["lower"])
            curves["upper"] = [float("nan")] * len(curves["upper"])
        recs.append(dataclasses.replace(r, curves=curves))
    v = mp.verdict(Results(recs, ["synthetic"], ["convex", "sampling"]))
    assert _outcome(v, "synthetic: (1)") is Outcome.VACUOUS


def test_prevalence_needs_seeds_and_points_the_strict_way():
    def fake(amb: list[float]) -> Results:
        recs = [Record("german", "convex", s, "done", {"ambiguity": a, "discrepancy_bound": 0.0, "infeasible": 0.0,
                                                        "n_query": 4.0},
                       {"lower": [0.1], "upper": [0.2], "minority": [0], "outlier": [0], "weight": [1.0]})
                for s, a in enumerate(amb)]
        return Results(recs, ["german"], ["convex", "sampling"])

    assert _outcome(mp.verdict(fake([0.3, 0.32, 0.31])), "german: (6)") is Outcome.PASS
    assert _outcome(mp.verdict(fake([0.04, 0.06, 0.05])), "german: (6)") is Outcome.FAIL
    assert _outcome(mp.verdict(fake([0.3])), "german: (6)") is Outcome.INCONCLUSIVE
    assert _outcome(mp.verdict(fake([0.3, 0.3])), "(7) 'efficiently'") is Outcome.INCONCLUSIVE
