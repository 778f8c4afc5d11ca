"""The user example runs, and the reproduction's quick grid runs end to end (one seed)."""

import importlib.util
from pathlib import Path

import pytest

from guardopt.reproduce.spec import Record, Results, Status

ROOT = Path(__file__).resolve().parents[2]


def test_example_runs():
    spec = importlib.util.spec_from_file_location("bo_quickstart", ROOT / "examples" / "bo_quickstart.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    best = module.main(n_trials=10)
    assert best is None or best.constraints["c"] <= 8.0


@pytest.mark.slow
def test_reproduction_quick_grid_one_seed():
    from guardopt.reproduce.papers.bo_tutorial import REPRODUCTION as R

    recs = []
    for c in R.cells("quick", seeds=1):
        r = R.run_cell(c)
        recs.append(Record(c.task, c.method, c.seed, "done", r.metrics, r.curves))
    v = R.verdict(Results(recs, R.tasks, R.methods))
    assert v.status in (Status.HOLDS, Status.FAILS)
    assert len(v.evidence) == 10
    assert "| branin | ei |" in R.extra_markdown(Results(recs, R.tasks, R.methods))
