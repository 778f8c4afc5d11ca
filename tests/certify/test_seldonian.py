"""The Seldonian two-step: candidate selection, safety test, NoSolutionFound, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.certify import (
    CallableModel,
    ClassifierModel,
    NoSolutionFound,
    NoSolutionFoundError,
    Seldonian,
    ThresholdDecision,
    demographic_parity,
    false_positive_rate_gap,
    mean_cost,
)
from guardopt.core.errors import InputDataError, InsufficientDataError, InvalidParameterError


def shifted_costs(n: int = 400, seed: int = 0) -> dict[str, np.ndarray]:
    return {"noise": np.random.default_rng(seed).normal(0.0, 1.0, n)}


# Cost of parameter t is t + noise (true mean t); the loss rewards a large t.
SHIFT = CallableModel(lambda p, d: p[0] + d["noise"], x0=[0.0], loss_fn=lambda p, d: -float(p[0]))


def test_continuous_search_finds_a_certified_margin():
    res = Seldonian(delta=0.05).run(SHIFT, shifted_costs(2000), mean_cost(1.0), seed=1)
    assert res.solution_found
    t = float(res.unwrap()[0])
    # Predicted bound at n_s = 1200 with inflation 2: t <= 1 - 2 * 1.646 / sqrt(1200) ~ 0.905.
    assert 0.8 < t < 1.0
    assert res.reports[0].upper_bound <= 1.0
    assert res.candidate is not None and res.candidate.predicted_feasible


@pytest.mark.parametrize("search", ["powell", "nelder-mead", "slsqp"])
def test_every_search_method_respects_the_prediction(search):
    res = Seldonian(search=search, max_iter=100).run(SHIFT, shifted_costs(1000), mean_cost(1.0), seed=2)
    assert res.candidate is not None and res.candidate.predicted_feasible
    assert res.candidate.predicted_upper_bounds[0] <= 1.0 + 1e-6


def test_no_solution_found_path():
    # Every parameter has cost 5 + noise: nothing can pass tau = 0.
    model = CallableModel(lambda p, d: 5.0 + p[0] ** 2 + d["noise"], x0=[0.0])
    res = Seldonian().run(model, shifted_costs(200), mean_cost(0.0, name="harm"), seed=0)
    assert isinstance(res, NoSolutionFound)
    assert not res
    assert res.failed[0].constraint == "harm"
    assert res.failed[0].upper_bound > 0.0
    assert "harm" in res.reason and "upper bound" in res.reason
    assert res.rejected_params is not None
    assert not res.candidate.predicted_feasible
    with pytest.raises(NoSolutionFoundError, match="No solution found: harm"):
        res.unwrap()


def test_failing_constraint_is_named_among_several():
    data = shifted_costs(600)
    ok = mean_cost(10.0, name="loose")
    bad = mean_cost(-10.0, statistic=lambda pred, d: np.abs(pred), name="impossible")  # |cost| > -10
    res = Seldonian().run(SHIFT, data, [ok, bad], seed=0)
    assert not res
    assert [r.constraint for r in res.failed] == ["impossible"]
    assert [r.passed for r in res.reports] == [True, False]


def test_delta_allocation():
    cons = [mean_cost(1.0), mean_cost(1.0, delta=0.01), mean_cost(1.0)]
    assert Seldonian(delta=0.06).constraint_deltas(cons) == [0.06, 0.01, 0.06]
    assert Seldonian(delta=0.06, delta_allocation="split").constraint_deltas(cons) == pytest.approx(
        [0.02, 0.01 / 3, 0.02])


def test_split_sizes_and_determinism():
    data = {"x": np.arange(100.0)}
    c1, s1 = Seldonian(safety_fraction=0.6).split(data, seed=3)
    _, s2 = Seldonian(safety_fraction=0.6).split(data, seed=3)
    assert len(s1["x"]) == 60 and len(c1["x"]) == 40
    assert np.array_equal(s1["x"], s2["x"])
    assert sorted(np.concatenate([c1["x"], s1["x"]]).tolist()) == list(range(100))


def test_weighted_split_splits_counts():
    data = {"x": np.arange(5.0), "sample_weight": np.array([10, 0, 5, 3, 2])}
    c, s = Seldonian(safety_fraction=0.5).split(data, seed=0)
    assert c["sample_weight"].sum() + s["sample_weight"].sum() == 20
    assert s["sample_weight"].sum() == 10
    total = np.zeros(5)
    for part in (c, s):
        total[part["x"].astype(int)] += part["sample_weight"]
    assert total.tolist() == [10, 0, 5, 3, 2]


def test_threshold_decision_certifies_a_given_threshold():
    rng = np.random.default_rng(0)
    n = 3000
    g = rng.integers(0, 2, n)
    score = rng.random(n) + 0.02 * g
    safety = {"score": score, "group": g}
    model = ThresholdDecision(score="score")
    res = Seldonian(delta=0.05).test(model, [0.5], safety, demographic_parity(0.1))
    assert res.solution_found
    res_tight = Seldonian(delta=0.05).test(model, [0.5], safety, demographic_parity(0.001))
    assert not res_tight.solution_found


def test_threshold_decision_run_picks_a_threshold():
    rng = np.random.default_rng(1)
    n = 4000
    g = rng.integers(0, 2, n)
    score = np.where(g == 1, rng.random(n) ** 1.5, rng.random(n))
    data = {"score": score, "group": g, "utility": np.ones(n)}
    model = ThresholdDecision(score="score", utility="utility", n_grid=51)
    res = Seldonian().run(model, data, demographic_parity(0.05), seed=0)
    assert res.solution_found
    t = float(res.unwrap()[0])
    gap = abs((1 - t) - (1 - t ** (1 / 1.5)))  # exact rates: P(U >= t) and P(U^1.5 >= t)
    assert gap <= 0.05


def synthetic_credit(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 3))
    X[:, 0] += 0.8 * g
    logit = 1.5 * X[:, 0] + X[:, 1] - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return {"X": X, "y": y, "group": g}


def test_classifier_model_certified_on_synthetic_data():
    data = synthetic_credit(6000, 0)
    model = ClassifierModel(penalty_group="group", penalties=(0.0, 10.0, 100.0, 1000.0))
    res = Seldonian().run(model, data, demographic_parity(0.1), seed=0)
    assert res.solution_found
    pred = model.predict(res.unwrap(), data)
    gap = abs(pred[data["group"] == 0].mean() - pred[data["group"] == 1].mean())
    assert gap < 0.1
    assert 1 - model.loss(res.unwrap(), data) > 0.6
    # Unconstrained logistic regression has a large gap here.
    plain = model.predict(model.initial_params(data), data)
    assert abs(plain[data["group"] == 0].mean() - plain[data["group"] == 1].mean()) > 0.1


def test_false_positive_rate_gap_and_probability_output():
    data = synthetic_credit(3000, 1)
    model = ClassifierModel(output="probability", penalty_group="group", penalties=(0.0, 100.0))
    res = Seldonian().run(model, data, [demographic_parity(0.2), false_positive_rate_gap(0.2)], seed=0)
    assert len(res.reports) == 2
    assert all(0.0 <= r.estimate <= 1.0 for r in res.reports)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("delta", [0.0, 1.0, 1.5, -0.1, float("nan")])
def test_bad_delta(delta):
    with pytest.raises(InvalidParameterError, match=r"The 'delta' parameter of Seldonian must be"):
        Seldonian(delta=delta)


@pytest.mark.parametrize(("field", "value"), [("safety_fraction", 1.0), ("bound", "bernoulli"),
                                             ("inflation", -1.0), ("search", "adam"), ("max_iter", 0),
                                             ("delta_allocation", "none")])
def test_bad_config(field, value):
    with pytest.raises(InvalidParameterError, match=field):
        Seldonian(**{field: value})


def test_constraint_delta_checked():
    with pytest.raises(InvalidParameterError, match="delta"):
        mean_cost(1.0, delta=2.0)


def test_nan_in_data_is_an_error():
    data = {"noise": np.array([0.1, np.nan] + [0.0] * 10)}
    with pytest.raises(InputDataError, match="NaN"):
        Seldonian().run(SHIFT, data, mean_cost(1.0), seed=0)


def test_mismatched_columns_are_an_error():
    with pytest.raises(InputDataError, match="rows"):
        Seldonian().run(SHIFT, {"noise": np.zeros(10), "g": np.zeros(9)}, mean_cost(1.0), seed=0)


def test_too_few_samples():
    with pytest.raises(InsufficientDataError, match="candidate set"):
        Seldonian().run(SHIFT, {"noise": np.zeros(3)}, mean_cost(1.0), seed=0)
    # A group with a single safety sample cannot be bounded by Student-t.
    data = {"noise": np.zeros(20), "group": np.array([0] * 19 + [1])}
    model = CallableModel(lambda p, d: np.zeros(len(d["group"])), x0=[0.0])
    with pytest.raises(InsufficientDataError, match="needs at least 2"):
        Seldonian().run(model, data, demographic_parity(0.1), seed=0)


def test_hoeffding_needs_a_range():
    with pytest.raises(InputDataError, match="range"):
        Seldonian(bound="hoeffding").run(SHIFT, shifted_costs(100), mean_cost(1.0), seed=0)


def test_nan_predictions_fail_closed_in_run():
    model = CallableModel(lambda p, d: np.full(len(d["noise"]), np.nan), x0=[0.0])
    res = Seldonian().run(model, shifted_costs(100), mean_cost(1.0), seed=0)
    assert not res.solution_found
    assert not res.candidate.predicted_feasible
