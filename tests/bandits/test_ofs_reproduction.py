"""The `ofs` reproduction: cells run, the verdict is computed from stored numbers, plots are written."""

from __future__ import annotations

import dataclasses

import numpy as np

from guardopt.reproduce.papers.ofs import REPRODUCTION as R
from guardopt.reproduce.spec import Record, Results, Status


def _results(horizon: int = 150, seeds: int = 1) -> Results:
    recs = []
    for cell in R.cells("quick", seeds=seeds):
        cell = dataclasses.replace(cell, settings={"horizon": horizon})
        r = R.run_cell(cell)
        recs.append(Record(cell.task, cell.method, cell.seed, "done", r.metrics, r.curves, wall_time=0.1))
    return Results(recs, R.tasks, R.methods)


def test_cells_verdict_report_and_plots(tmp_path) -> None:
    res = _results()
    v = R.verdict(res)
    assert v.status in (Status.HOLDS, Status.FAILS)
    assert len(v.evidence) == 9 and all(np.isfinite(e.value) for e in v.evidence)
    md = R.extra_markdown(res)
    assert "| synthetic | ofs |" in md and "oracle threshold" in md
    paths = R.plots(res, tmp_path)
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    # the oracle reads its threshold off the sweep and is feasible by construction
    for task in R.tasks:
        assert res.metric("oracle_margin", task, "oracle")[0] > 0
        assert res.metric("cum_violation", task, "ofs")[0] < res.metric("cum_violation", task, "ucb")[0]


def test_missing_cells_make_the_verdict_inconclusive() -> None:
    res = Results([], R.tasks, R.methods)
    assert R.verdict(res).status is Status.INCONCLUSIVE


def test_cells_are_deterministic() -> None:
    cell = dataclasses.replace(R.cells("quick", seeds=1)[0], settings={"horizon": 200})
    assert R.run_cell(cell).metrics == R.run_cell(cell).metrics
