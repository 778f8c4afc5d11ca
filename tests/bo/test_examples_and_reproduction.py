"""The user example runs; the reproduction's verdict is computed as declared and can fail."""

import importlib.util
import math
from pathlib import Path

import pytest

from guardopt.reproduce.spec import Outcome, Record, Results, Status

ROOT = Path(__file__).resolve().parents[2]


def test_example_runs():
    spec = importlib.util.spec_from_file_location("bo_quickstart", ROOT / "examples" / "bo_quickstart.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    best = module.main(n_trials=10)
    # The guard certifies one of the ten evaluated points (a Sobol point of the initial design).
    assert best is not None
    assert best.constraints["c"] <= 8.0
    assert best.number == 3


def _records(overrides=None, seeds=10):
    """Stored-looking cells in which every claim holds clearly; ``overrides[(task, method)]`` replaces metrics."""
    from guardopt.reproduce.papers.bo_tutorial import GRID

    good = {
        ("branin", "ei"): {"regret": 1e-4}, ("branin", "random"): {"regret": 1.0},
        ("hartmann6", "ei"): {"regret": 0.1}, ("hartmann6", "random"): {"regret": 1.5},
        ("hartmann6-noisy", "ei"): {"regret": 0.2, "reported_regret": 0.3},
        ("hartmann6-noisy", "nei"): {"regret": 0.15, "reported_regret": 0.15},
        ("hartmann6-noisy", "kg"): {"regret": 0.15, "reported_regret": 0.12},
        ("hartmann6-batch", "qei4"): {"regret": 0.11},
        ("constrained-branin", "ei"): {"found": 1.0, "feasible": 1.0, "within_5pct": 1.0, "regret": 1e-3},
        ("constrained-branin", "ei-unconstrained"): {"found": 1.0, "feasible": 0.0, "within_5pct": 0.0,
                                                     "regret": 0.0},
        ("mf-branin", "ei"): {"regret": 2e-3, "cost": 30.0}, ("mf-branin", "mf-kg"): {"regret": 1e-3, "cost": 18.0},
        # sensitivity lines only: the verdict never reads them
        ("mf-branin", "mf-kg-p1"): {"regret": 1.0, "cost": 18.0},
        ("mf-branin", "mf-kg-discrete"): {"regret": 1.0, "cost": 18.0},
    }
    good.update(overrides or {})
    recs = []
    for task, methods in GRID.items():
        for method in methods:
            for seed in range(seeds):
                m = dict(good[(task, method)])
                # a little seed-to-seed spread, so that paired intervals have a width
                m = {k: (v * (1.0 + 0.01 * seed) if k in ("regret", "reported_regret") else v) for k, v in m.items()}
                recs.append(Record(task, method, seed, "done", m, {}))
    return recs


def test_verdict_holds_when_every_claim_holds_and_each_check_can_fail():
    from guardopt.reproduce.papers.bo_tutorial import REPRODUCTION as R

    v = R.verdict(Results(_records(), R.tasks, R.methods))
    assert [e.outcome for e in v.evidence] == [Outcome.PASS] * 10
    assert v.status is Status.HOLDS
    # The multi-fidelity check fails when KG ends 10x above EI's final regret.
    v = R.verdict(Results(_records({("mf-branin", "mf-kg"): {"regret": 2e-2}}), R.tasks, R.methods))
    assert [e.check.startswith("5 ") for e in v.evidence if e.outcome is Outcome.FAIL] == [True]
    assert v.status is Status.FAILS


def test_constraint_checks_fail_for_a_method_that_ignores_the_constraint():
    """Negative control: unconstrained EI's cells in the EI x PoF slot make checks 4a and 4b fail."""
    from guardopt.reproduce.papers.bo_tutorial import REPRODUCTION as R

    unconstrained = {"found": 1.0, "feasible": 0.0, "within_5pct": 0.0, "regret": 0.0}
    v = R.verdict(Results(_records({("constrained-branin", "ei"): unconstrained}), R.tasks, R.methods))
    failed = [e.check[:2] for e in v.evidence if e.outcome is Outcome.FAIL]
    assert failed == ["4a", "4b"]
    assert v.status is Status.FAILS


def test_constraint_check_is_vacuous_when_nothing_is_recommended():
    from guardopt.reproduce.papers.bo_tutorial import REPRODUCTION as R

    nothing = {"found": 0.0, "feasible": 0.0, "within_5pct": 0.0, "regret": math.nan}
    v = R.verdict(Results(_records({("constrained-branin", "ei"): nothing}), R.tasks, R.methods))
    by_name = {e.check[:2]: e.outcome for e in v.evidence}
    assert by_name["4a"] is Outcome.VACUOUS
    assert v.status is Status.FAILS  # 4b still fails: EI x PoF is no better than ignoring the constraint


def test_keepout_constraint_excludes_exactly_one_global_minimum():
    from guardopt.problems.synthetic import BRANIN
    from guardopt.reproduce.papers.bo_tutorial import KEEPOUT_BRANIN as cb

    minima = [(-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475)]
    feasible = [cb.is_feasible({"x0": a, "x1": b}) for a, b in minima]
    assert feasible == [True, False, True]
    assert cb.regret({"x0": 9.42478, "x1": 2.475}) == pytest.approx(0.0, abs=1e-5)
    assert cb.optimal_value == BRANIN.optimal_value


@pytest.mark.slow
def test_reproduction_quick_grid_one_seed():
    from guardopt.reproduce.papers.bo_tutorial import REPRODUCTION as R

    recs = []
    for c in R.cells("quick", seeds=1):
        r = R.run_cell(c)
        recs.append(Record(c.task, c.method, c.seed, "done", r.metrics, r.curves))
    res = Results(recs, R.tasks, R.methods)
    v = R.verdict(res)
    # One seed: a share has a CP lower bound of at most 0.05 (FAIL), a paired check has no interval
    # (INCONCLUSIVE), whatever the regrets were.
    outcomes = {e.check[:2]: e.outcome for e in v.evidence}
    assert len(v.evidence) == 10
    assert outcomes["1a"] is Outcome.FAIL and outcomes["1c"] is Outcome.FAIL
    assert outcomes["1b"] is Outcome.INCONCLUSIVE and outcomes["5 "] is Outcome.INCONCLUSIVE
    assert v.status is Status.FAILS
    assert "| branin | ei |" in R.extra_markdown(res)
    assert all(math.isfinite(r.metrics["regret"]) for r in recs if r.task != "constrained-branin")
