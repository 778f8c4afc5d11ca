"""The seldonian-fairness reproduction: one real cell, and the verdict logic on made-up records."""

from __future__ import annotations

from guardopt.reproduce.papers.seldonian_fairness import REPRODUCTION, run_cell
from guardopt.reproduce.spec import Cell, Record, Results, Status

SIZES = (100, 1000, 30000)


def test_one_cell_runs():
    cell = Cell("seldonian-fairness", "sex", "seldonian", 0, "quick", {"sizes": (30000,), "eg_splits": 0,
                                                                      "eg_max_size": 0})
    out = run_cell(cell)
    assert out.curves["size"] == [30000.0]
    assert out.curves["returned"][0] in (0.0, 1.0)
    skipped = run_cell(Cell("seldonian-fairness", "sex", "fairlearn-eg", 3, "quick",
                            {"sizes": (300,), "eg_splits": 1, "eg_max_size": 0}))
    assert skipped.metrics == {"skipped": 1.0}


def _records(sel_violated: list[float], sel_returned: list[float]) -> list[Record]:
    recs = []
    for seed in range(20):
        for task in ("sex", "age"):
            recs.append(Record(task, "seldonian", seed, "done", {}, {
                "size": list(SIZES), "returned": sel_returned, "violated": sel_violated,
                "gap": [0.0] * 3, "accuracy": [0.7] * 3}))
            for m in ("logreg", "lagrangian"):
                recs.append(Record(task, m, seed, "done", {}, {
                    "size": list(SIZES), "returned": [1.0] * 3, "violated": [1.0, 0.0, 1.0],
                    "gap": [0.1] * 3, "accuracy": [0.7] * 3}))
    return recs


def test_verdict_holds_and_fails_from_numbers():
    good = REPRODUCTION.verdict(Results(_records([0.0, 0.0, 0.0], [0.0, 1.0, 1.0]), ("sex", "age"),
                                        REPRODUCTION.methods))
    assert good.status is Status.HOLDS
    # Seldonian returning only violating classifiers: claims (1) and (2) fail.
    bad = REPRODUCTION.verdict(Results(_records([0.0, 1.0, 1.0], [0.0, 1.0, 1.0]), ("sex", "age"),
                                       REPRODUCTION.methods))
    assert bad.status is Status.FAILS
    failed = [e.check for e in bad.evidence if not e.passed]
    assert any("(1)" in c for c in failed) and any("(2)" in c for c in failed)
    # No growth of the solution rate: claim (3) fails.
    flat = REPRODUCTION.verdict(Results(_records([0.0] * 3, [1.0, 1.0, 1.0]), ("sex", "age"),
                                        REPRODUCTION.methods))
    assert any("(3)" in e.check and not e.passed for e in flat.evidence)
