"""The safety-test reproduction: declarations, cells, and the verdict on stored fixtures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.guards import safety_test
from guardopt.reproduce.papers import safety_test as st
from guardopt.reproduce.spec import Cell, Outcome, Record, Results, Status


def test_declared_assumptions():
    assert st.assumptions_hold("normal/n=20", "ttest")
    assert st.assumptions_hold("student-t4/n=20", "ttest")  # symmetric: skew 0
    assert not st.assumptions_hold("lognormal/n=100", "ttest")
    assert not st.assumptions_hold("pareto-2.5/n=100", "ttest")  # no third moment
    assert not st.assumptions_hold("bernoulli/n=20", "ttest")
    assert st.assumptions_hold("bernoulli/n=20", "hoeffding")
    assert not st.assumptions_hold("normal/n=20", "hoeffding")
    assert not st.assumptions_hold("normal/n=20", "naive")
    assert not st.assumptions_hold("normal/n=20", st.NEGATIVE_CONTROL)
    pairs = st.REPRODUCTION.cells("quick")
    assert not any(c.method == "hoeffding" and st.TASKS[c.task][0].bounded is None for c in pairs)


def test_hoeffding_is_checked_only_where_it_can_release():
    # Bernoulli and beta at tau = 0.1: Hoeffding's radius at n = 100 is 0.107 > tau, nothing can pass.
    assert math.isclose(st.hoeffding_radius_on("bernoulli/n=100"), math.sqrt(math.log(10) / 200), rel_tol=1e-9)
    checked = [t for t in st.TASKS if st.in_verdict(t, "hoeffding")]
    assert checked == ["uniform/n=100/wide"]
    assert st.SPREAD["uniform/n=100/wide"] == st.WIDE_SPREAD_SE and st.SPREAD["uniform/n=100"] == st.SPREAD_SE
    ttest_checked = [t for t in st.TASKS if st.in_verdict(t, "ttest")]
    assert "beta-skewed/n=100" in ttest_checked and "beta-skewed/n=20" not in ttest_checked
    assert len(ttest_checked) == 8


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
    assert 0 < sum(single) or method == "hoeffding"


def _cell(method: str, seed: int = 0, task: str = "normal/n=20", pools: int = 200) -> Cell:
    return Cell("safety-test", task, method, seed, "quick", {"pools": pools})


def test_run_cell_metrics_and_common_random_numbers():
    a = st.run_cell(_cell("ttest")).metrics
    assert a == st.run_cell(_cell("ttest")).metrics  # deterministic
    assert a != st.run_cell(_cell("ttest", 1)).metrics
    for key in ("unsafe_rate", "nsf_rate", "boundary_pass_rate"):
        assert 0.0 <= a[key] <= 1.0
    assert a["pools"] == 200 and a["unsafe"] == round(a["unsafe_rate"] * 200)
    assert a["nsf"] + a["returned"] == 200
    # Helpfulness counts a no-solution pool at the refusal utility.
    assert a["helpfulness"] == pytest.approx((a["utility"] * a["returned"] + st.REFUSE_UTILITY * a["nsf"]) / 200,
                                             rel=1e-9)
    naive = st.run_cell(_cell("naive")).metrics
    assert naive["unsafe_rate"] > a["unsafe_rate"] + 0.2
    assert naive["boundary_pass_rate"] > 0.3  # a point estimate passes a boundary candidate ~half the time
    control = st.run_cell(_cell(st.NEGATIVE_CONTROL)).metrics
    assert control["boundary_pass_rate"] > 0.3 and control["unsafe_rate"] > 0.1


def test_hoeffding_releases_on_the_wide_task():
    m = st.run_cell(_cell("hoeffding", task="uniform/n=100/wide")).metrics
    assert m["returned"] > 100 and m["unsafe"] == 0


def _fixture(rates: dict[str, float], pools: int = 2000, boundary: dict[str, float] | None = None,
             returned: float = 0.7, seeds: int = 4) -> Results:
    """Per-method unsafe and boundary-pass rates on every task, spread over ``seeds`` seeds."""
    boundary = boundary or {"ttest": 0.09, "hoeffding": 0.0, "naive": 0.5, st.NEGATIVE_CONTROL: 0.5}
    utility = {"ttest": 0.0, "hoeffding": 0.0, "naive": 0.5, st.NEGATIVE_CONTROL: 0.4}
    recs = []
    for task in st.TASKS:
        for method in st.METHODS:
            for seed in range(seeds):
                unsafe = round(rates[method] * pools) + (seed % 2) * 2 - 1  # a little spread over seeds
                unsafe = max(unsafe, 0)
                ret = round(returned * pools)
                recs.append(Record(task, method, seed, "done", {
                    "unsafe": unsafe, "pools": pools, "unsafe_rate": unsafe / pools,
                    "boundary_pass": round(boundary[method] * pools), "returned": ret, "nsf": pools - ret,
                    "utility": utility[method] + 0.01 * seed, "helpfulness": 0.0}, {}))
    return Results(recs, list(st.TASKS), list(st.METHODS))


def _outcome(verdict, prefix: str) -> Outcome:
    [e] = [e for e in verdict.evidence if e.check.startswith(prefix)]
    return e.outcome


def test_verdict_points_the_strict_way():
    good = st.verdict(_fixture({"ttest": 0.05, "hoeffding": 0.0, "naive": 0.4, st.NEGATIVE_CONTROL: 0.3}))
    # Everything but the abstract's "more helpful than naive" passes: it is INCONCLUSIVE by design.
    assert good.status is Status.INCONCLUSIVE
    not_passed = [e.check for e in good.evidence if not e.counts_as_pass]
    assert all("helpfulness above naive" in c for c in not_passed) and len(not_passed) == 2
    assert _outcome(good, "ttest on normal/n=20: unsafe") is Outcome.PASS
    assert _outcome(good, "ttest on normal/n=20: stress") is Outcome.PASS
    assert _outcome(good, "hoeffding on uniform/n=100/wide: unsafe") is Outcome.PASS
    # 0.105 with an exact bound (Hoeffding, no tolerance): its upper bound is above delta, so it FAILS.
    hoeff = st.verdict(_fixture({"ttest": 0.0, "hoeffding": 0.105, "naive": 0.4, st.NEGATIVE_CONTROL: 0.3}))
    assert hoeff.status is Status.FAILS
    assert _outcome(hoeff, "hoeffding on uniform/n=100/wide: unsafe") is Outcome.FAIL
    # The t bound gets the declared tolerance, and no more: 0.12 over 8000 pools has upper bound > 0.125.
    t_fail = st.verdict(_fixture({"ttest": 0.12, "hoeffding": 0.0, "naive": 0.4, st.NEGATIVE_CONTROL: 0.3}))
    assert _outcome(t_fail, "ttest on normal/n=20: unsafe") is Outcome.FAIL
    assert _outcome(t_fail, "ttest: harmlessness") is Outcome.PASS
    # A stress-test pass rate above the tolerance fails even when the pool rate is fine.
    stressed = st.verdict(_fixture({"ttest": 0.0, "hoeffding": 0.0, "naive": 0.4, st.NEGATIVE_CONTROL: 0.3},
                                   boundary={"ttest": 0.13, "hoeffding": 0.0, "naive": 0.5,
                                             st.NEGATIVE_CONTROL: 0.5}))
    assert stressed.status is Status.FAILS
    assert _outcome(stressed, "ttest on normal/n=20: stress") is Outcome.FAIL
    # A naive baseline that is not clearly unsafe fails the contrast.
    weak = st.verdict(_fixture({"ttest": 0.0, "hoeffding": 0.0, "naive": 0.1, st.NEGATIVE_CONTROL: 0.3}))
    assert _outcome(weak, "naive on normal/n=20") is Outcome.FAIL
    empty = st.verdict(Results([], list(st.TASKS), list(st.METHODS)))
    assert empty.status is Status.INCONCLUSIVE


def test_nothing_returned_is_vacuous_and_nsf_fails():
    v = st.verdict(_fixture({"ttest": 0.0, "hoeffding": 0.0, "naive": 0.4, st.NEGATIVE_CONTROL: 0.3},
                            returned=0.0))
    assert _outcome(v, "ttest on normal/n=20: unsafe") is Outcome.VACUOUS
    assert _outcome(v, "hoeffding on uniform/n=100/wide: stress") is Outcome.VACUOUS
    assert _outcome(v, "ttest: no-solution rate") is Outcome.FAIL
    assert v.status is Status.FAILS


def test_negative_control_makes_the_verdict_fail():
    """The release test without a bound, run for real and judged in ttest's place, FAILS."""
    tasks = ["normal/n=20", "uniform/n=100"]
    recs = []
    for task in tasks:
        for method in ("ttest", "naive", st.NEGATIVE_CONTROL):
            for seed in range(2):
                out = st.run_cell(_cell(method, seed, task, pools=2000))
                recs.append(Record(task, method, seed, "done", out.metrics, {}))
    results = Results(recs, list(st.TASKS), list(st.METHODS))
    honest = st.verdict(results)
    control = st.negative_control_verdict(results)
    assert control.status is Status.FAILS
    for task in tasks:
        assert _outcome(honest, f"ttest on {task}: stress") is Outcome.PASS
        assert _outcome(control, f"ttest on {task}: stress") is Outcome.FAIL
        assert _outcome(honest, f"ttest on {task}: unsafe") is Outcome.PASS
    assert _outcome(control, "ttest on normal/n=20: unsafe") is Outcome.FAIL


def test_extra_markdown_and_plots(tmp_path):
    results = _fixture({"ttest": 0.2, "hoeffding": 0.0, "naive": 0.4, st.NEGATIVE_CONTROL: 0.3})
    text = st.extra_markdown(results)
    assert "Where the Student-t bound breaks" in text and "lognormal/n=20" in text
    assert "Negative control" in text and "**FAILS**" in text
    assert "| bernoulli/n=100 | hoeffding | no (cannot release) |" in text
    paths = st.plots(results, tmp_path)
    assert [p.name for p in paths] == ["unsafe_rate.png", "nsf_rate.png", "helpfulness.png",
                                        "boundary_pass_rate.png"]
    assert all(p.exists() for p in paths)
