"""The safety-test reproduction: declarations, cells, and the verdict on stored fixtures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.guards import safety_test
from guardopt.reproduce.papers import safety_test as st
from guardopt.reproduce.spec import Cell, Record, Results, Status


def test_declared_assumptions():
    assert st.assumptions_hold("normal/n=20", "ttest")
    assert st.assumptions_hold("student-t4/n=20", "ttest")  # symmetric: skew 0
    assert not st.assumptions_hold("lognormal/n=100", "ttest")
    assert not st.assumptions_hold("pareto-2.5/n=100", "ttest")  # no third moment
    assert not st.assumptions_hold("bernoulli/n=20", "ttest")
    assert st.assumptions_hold("bernoulli/n=20", "hoeffding")
    assert not st.assumptions_hold("normal/n=20", "hoeffding")
    assert not st.assumptions_hold("normal/n=20", "naive")
    pairs = st.REPRODUCTION.cells("quick")
    assert not any(c.method == "hoeffding" and st.TASKS[c.task][0].bounded is None for c in pairs)


def test_edgeworth_reference_value():
    # |γ| (2 z² + 1) φ(z) / (6 √n) with z = Φ⁻¹(0.9) = 1.2815516, φ(z) = 0.1754983.
    z, phi = 1.2815515655446004, 0.17549833193248685
    assert math.isclose(st.t_edgeworth_error(2.0, 25), 2.0 * (2 * z * z + 1) * phi / 30, rel_tol=1e-9)


@pytest.mark.parametrize("name", list(st.DISTRIBUTIONS))
def test_samplers_have_the_declared_mean(name):
    dist = st.DISTRIBUTIONS[name]
    rng = np.random.default_rng(0)
    m = np.array([[dist.threshold]])
    x = dist.sample(rng, m, 200_000)
    assert x.shape == (1, 1, 200_000)
    tol = 6 * dist.sd / math.sqrt(200_000) if name != "pareto-2.5" else 0.05
    assert abs(x.mean() - dist.threshold) < tol
    if dist.bounded is not None:
        assert x.min() >= dist.bounded[0] and x.max() <= dist.bounded[1]


@pytest.mark.parametrize("method", ["ttest", "hoeffding"])
def test_batch_test_agrees_with_guards_safety_test(method):
    dist = st.DISTRIBUTIONS["beta-skewed"]
    x = dist.sample(np.random.default_rng(1), np.full(300, 0.08), 20)
    batch = st._passes_batch(method, x, dist)
    single = [safety_test(r, dist.threshold, st.DELTA, bound=method, low=0.0, high=1.0).passed for r in x]
    assert batch.tolist() == single


def test_run_cell_metrics_and_common_random_numbers():
    def cell(method: str, seed: int = 0) -> Cell:
        return Cell("safety-test", "normal/n=20", method, seed, "quick", {"pools": 200})

    a = st.run_cell(cell("ttest")).metrics
    assert a == st.run_cell(cell("ttest")).metrics  # deterministic
    assert a != st.run_cell(cell("ttest", 1)).metrics
    for key in ("unsafe_rate", "nsf_rate", "boundary_pass_rate"):
        assert 0.0 <= a[key] <= 1.0
    assert a["pools"] == 200 and a["unsafe"] == round(a["unsafe_rate"] * 200)
    naive = st.run_cell(cell("naive")).metrics
    assert naive["unsafe_rate"] > a["unsafe_rate"]
    assert naive["boundary_pass_rate"] > 0.3  # a point estimate passes a boundary candidate ~half the time


def _fixture(rates: dict[str, float], pools: int = 2000) -> Results:
    recs = []
    for task in st.TASKS:
        for method in st.METHODS:
            unsafe = round(rates[method] * pools)
            recs.append(Record(task, method, 0, "done", {"unsafe": unsafe, "pools": pools,
                                                         "unsafe_rate": unsafe / pools}, {}))
    return Results(recs, list(st.TASKS), list(st.METHODS))


def test_verdict_on_stored_fixtures():
    holds = st.verdict(_fixture({"ttest": 0.05, "hoeffding": 0.0, "naive": 0.4}))
    assert holds.status is Status.HOLDS
    assert all(e.threshold == st.DELTA for e in holds.evidence)
    # An unsafe rate of 0.115 over 2000 pools has a 95% CP lower bound above 0.1: FAILS.
    fails = st.verdict(_fixture({"ttest": 0.115, "hoeffding": 0.0, "naive": 0.4}))
    assert fails.status is Status.FAILS
    assert any(not e.passed and e.check.startswith("ttest") for e in fails.evidence)
    # 0.105 is within sampling error of 0.1 over 2000 pools.
    assert st.verdict(_fixture({"ttest": 0.105, "hoeffding": 0.0, "naive": 0.4})).status is Status.HOLDS
    # A naive baseline that is not clearly unsafe fails the comparison.
    assert st.verdict(_fixture({"ttest": 0.0, "hoeffding": 0.0, "naive": 0.1})).status is Status.FAILS
    empty = st.verdict(Results([], list(st.TASKS), list(st.METHODS)))
    assert empty.status is Status.INCONCLUSIVE


def test_extra_markdown_and_plots(tmp_path):
    results = _fixture({"ttest": 0.2, "hoeffding": 0.0, "naive": 0.4})
    text = st.extra_markdown(results)
    assert "Where the Student-t bound breaks" in text and "lognormal/n=20" in text
    paths = st.plots(results, tmp_path)
    assert [p.name for p in paths] == ["unsafe_rate.png", "nsf_rate.png", "utility.png",
                                        "boundary_pass_rate.png"]
    assert all(p.exists() for p in paths)
