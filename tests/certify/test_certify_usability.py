"""Certify usability: trivial certificates flagged, any hashable group label, any scikit-learn
classifier, and the certifiable-gap / minimum-n planning helpers (hand-computed)."""

from __future__ import annotations

import doctest
import math
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from guardopt.certify import (
    CallableModel,
    Certified,
    ClassifierModel,
    EstimatorModel,
    NoSolutionFound,
    Seldonian,
    ThresholdDecision,
    certifiable_gap,
    demographic_parity,
    minimum_n,
)
from guardopt.certify import estimators as estimators_module
from guardopt.certify.columns import as_column, distinct, equal_mask
from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.testing.contracts import adversarial_scalars, assert_contract, contract_settings

IDENTITY = CallableModel(lambda p, d: d["v"], x0=[0.0])
# The worked example of the certify guide: group a outputs mean 0.75 (8 rows), group b 0.5 (6 rows);
# delta = 0.1, each one-sided bound at 0.05: U = max(1 - 0.0494, 0.9506 - 0.4399) = 0.9505785141.
A_OUT, B_OUT = [1, 1, 1, 0, 1, 1, 0, 1], [1, 0, 0, 1, 0, 1]
WORKED_UB = 0.9505785141


# ------------------------------------------------------------------------------ trivial certificates


def test_a_threshold_that_approves_everyone_is_flagged() -> None:
    rng = np.random.default_rng(0)
    data = {"score": rng.random(400), "group": np.arange(400) % 2}
    s = Seldonian(delta=0.05)
    everyone = s.test(ThresholdDecision(), [-1.0], data, demographic_parity(0.05))
    assert isinstance(everyone, Certified) and everyone.trivial == "approves everyone" and everyone.is_trivial
    assert "TRIVIAL certificate: the model approves everyone" in everyone.reason
    nobody = s.test(ThresholdDecision(), [2.0], data, demographic_parity(0.05))
    assert isinstance(nobody, Certified) and nobody.trivial == "approves nobody"
    # a real decision (about half approved in each group; gap bound 0.19 at n = 200 per group) is
    # either refused or certified without the flag, never flagged
    real = s.test(ThresholdDecision(), [0.5], data, demographic_parity(0.3))
    assert isinstance(real, Certified) and real.trivial is None and "TRIVIAL" not in real.reason


def test_run_keeps_the_flag_and_weights_count() -> None:
    rng = np.random.default_rng(1)
    data = {"score": rng.random(600), "group": np.arange(600) % 2}
    # thresholds that all approve everyone: the only certificate possible is trivial
    res = Seldonian().run(ThresholdDecision(thresholds=(-2.0, -1.0)), data, demographic_parity(0.02), seed=0)
    assert isinstance(res, Certified) and res.trivial == "approves everyone"
    # rows of weight 0 do not count: the rows actually counted are all approved
    w = {"v": np.array([1.0, 1.0, 0.0, 1.0]), "group": np.array([0, 1, 0, 1]), "sample_weight": np.array([3, 3, 0, 3])}
    res = Seldonian(delta=0.1).test(IDENTITY, [0.0], w, demographic_parity(0.5))
    assert isinstance(res, Certified) and res.trivial == "approves everyone"


# ------------------------------------------------------------------------------ hashable group labels


@pytest.mark.parametrize(
    ("a", "b"),
    [("F", "M"), (("age", 1), ("age", 2)), (None, "known"), (1, "1"), (True, False), (0, 1), (2.5, -1.0)],
)
def test_group_labels_of_any_hashable_type_give_the_hand_computed_bound(a: Any, b: Any) -> None:
    groups = [a] * 8 + [b] * 6
    data = {"v": np.array(A_OUT + B_OUT, dtype=float), "group": groups}
    res = Seldonian(delta=0.1).test(IDENTITY, [0.0], data, demographic_parity(0.05, groups=(a, b)))
    assert res.reports[0].upper_bound == pytest.approx(WORKED_UB, abs=1e-9)
    assert res.reports[0].estimate == pytest.approx(0.25)


def test_columns_keep_labels_numpy_would_mangle() -> None:
    mixed = as_column([1, "1", None, ("a", 1)])
    assert mixed.dtype == object and mixed.shape == (4,)
    assert equal_mask(mixed, 1).tolist() == [True, False, False, False]
    assert equal_mask(mixed, ("a", 1)).tolist() == [False, False, False, True]
    assert equal_mask(np.array([0, 1, 1]), True).tolist() == [False, False, False]  # True is not the label 1
    assert equal_mask([("a", 1), ("b", 2)], ("b", 2)).tolist() == [False, True]
    assert distinct(["x", ("t", 1), "x", None, ("t", 1)]) == ["x", ("t", 1), None]
    assert as_column(np.arange(3)).dtype.kind == "i" and as_column([[1.0, 2.0], [3.0, 4.0]]).shape == (2, 2)


def test_split_and_two_step_run_with_string_and_tuple_groups() -> None:
    rng = np.random.default_rng(2)
    n = 3000
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(float)
    for labels in (np.where(rng.random(n) < 0.5, "F", "M").tolist(),
                   [("region", int(k)) for k in rng.integers(0, 2, n)]):
        data = {"X": X, "y": y, "group": labels}
        ab = tuple(distinct(labels))
        res = Seldonian().run(ClassifierModel(penalty_group="group"), data,
                              demographic_parity(0.1, groups=ab), seed=0)
        assert isinstance(res, (Certified, NoSolutionFound))
        assert res.n_safety == 1800 and math.isfinite(res.reports[0].upper_bound)


# ------------------------------------------------------------------------------ scikit-learn classifiers


class RecordingTree:
    """A scikit-learn-compatible classifier stub that records the sizes it was fitted on."""

    sizes: ClassVar[list[int]] = []

    def __init__(self, depth: int = 2) -> None:
        self.depth = depth

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"depth": self.depth}

    def set_params(self, **kw: Any) -> RecordingTree:
        self.depth = kw.get("depth", self.depth)
        return self

    def fit(self, X: np.ndarray, y: np.ndarray) -> RecordingTree:
        RecordingTree.sizes.append(len(y))
        self.cut_ = float(np.median(X[:, 0]))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.depth * (X[:, 0] - self.cut_)))
        return np.stack([1 - p, p], axis=1)


def test_estimator_model_fits_on_the_candidate_split_only() -> None:
    rng = np.random.default_rng(3)
    n = 1000
    X = rng.normal(size=(n, 2))
    data = {"X": X, "y": (X[:, 0] > 0).astype(int), "group": rng.integers(0, 2, n)}
    RecordingTree.sizes = []
    model = EstimatorModel(RecordingTree(), refits=[{"depth": 1}, {"depth": 4}], n_thresholds=5)
    res = Seldonian(safety_fraction=0.6).run(model, data, demographic_parity(0.3), seed=0)
    assert RecordingTree.sizes == [400, 400]  # one fit per refit, each on the 40% candidate split
    assert len(model.fits_) == 2 and model.estimator.depth == 2  # the given estimator is never fitted
    assert isinstance(res, Certified) and res.trivial is None
    fit, threshold = model.fitted(res.params)
    assert fit in model.fits_ and 0.0 <= threshold <= 1.0
    assert res.candidate is not None and res.candidate.n_considered == 2 * 5  # 5 quantiles (the median is the 0.5 cut)


def test_estimator_model_with_real_sklearn_classifiers_and_labels() -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    X, y = load_breast_cancer(return_X_y=True)
    labels = np.where(y == 1, "benign", "malignant")
    group = np.where(X[:, 0] > np.median(X[:, 0]), "large", "small")
    data = {"X": X, "y": labels, "group": group}
    lr = EstimatorModel(make_pipeline(StandardScaler(), LogisticRegression()), positive="benign",
                        refits=[{"logisticregression__C": c} for c in (0.01, 1.0)], thresholds="default")
    res = Seldonian().run(lr, data, demographic_parity(0.9, groups=("large", "small")), seed=0)
    assert isinstance(res, Certified) and res.candidate is not None and res.candidate.loss < 0.1
    svc = EstimatorModel(make_pipeline(StandardScaler(), LinearSVC()), positive="benign", thresholds="default")
    res2 = Seldonian().run(svc, data, demographic_parity(0.9, groups=("large", "small")), seed=0)
    assert isinstance(res2, Certified) and res2.params[1] == 0.0  # the decision function's own cut


def test_estimator_model_flags_the_trivial_path() -> None:
    # A tree whose group gap (0.04 on the candidate split) cannot be certified at 0.1 with this n:
    # the only candidate predicted to pass approves everyone, and the result says so.
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 3))
    data = {"X": X, "y": (X[:, 0] > 0).astype(int), "group": rng.integers(0, 2, 4000)}
    res = Seldonian().run(EstimatorModel(DecisionTreeClassifier(max_depth=3, random_state=0)), data,
                          demographic_parity(0.1), seed=0)
    assert isinstance(res, Certified) and res.trivial == "approves everyone"


def test_estimator_model_errors_name_the_parameter() -> None:
    with pytest.raises(InvalidParameterError, match=r"'estimator' parameter of EstimatorModel"):
        EstimatorModel(object())
    with pytest.raises(InvalidParameterError, match=r"'refits' parameter of EstimatorModel"):
        EstimatorModel(RecordingTree(), refits=[])
    with pytest.raises(InvalidParameterError, match=r"'thresholds' parameter of EstimatorModel"):
        EstimatorModel(RecordingTree(), thresholds="best")
    m = EstimatorModel(RecordingTree())
    d = {"X": np.zeros((4, 1)), "y": np.array([0, 1, 0, 1])}
    with pytest.raises(InputDataError, match="no fitted estimator yet"):
        m.predict(np.array([0.0, 0.5]), d)
    m.candidate_params(d)
    for bad in ([0.0], [1.0, 0.5], [0.5, 0.5], [0.0, math.nan]):
        with pytest.raises(InvalidParameterError, match=r"'params' parameter of EstimatorModel"):
            m.predict(np.array(bad), d)
    with pytest.raises(InputDataError, match="both classes"):
        m.candidate_params({"X": np.zeros((3, 1)), "y": np.array([1, 1, 1])})


@contract_settings(0.5)
@given(adversarial_scalars(), st.sampled_from([0, 1]))
def test_estimator_model_contract_on_adversarial_thresholds(t: Any, idx: int) -> None:
    m = EstimatorModel(RecordingTree())
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 1))
    d = {"X": X, "y": (X[:, 0] > 0).astype(int), "group": np.arange(60) % 2}
    m.candidate_params(d)
    out = assert_contract(Seldonian().test, m, [idx, t], d, demographic_parity(0.5),
                          names=("params", "thresholds", "Data column"))
    if out.ok and isinstance(out.result, Certified):
        assert math.isfinite(float(np.asarray(out.result.params, dtype=float)[1]))


def test_estimators_docstring_example_runs() -> None:
    failures, tried = doctest.testmod(estimators_module, verbose=False)
    assert tried > 0 and failures == 0


# ------------------------------------------------------------------------------ planning helpers


def _t_radius(m: int, rate: float, delta: float) -> float:
    return stats.t.ppf(1 - delta, m - 1) * math.sqrt(rate * (1 - rate) * m / (m - 1)) / math.sqrt(m)


def test_certifiable_gap_at_569_by_hand() -> None:
    # n = 569, 60% held out: n_s = round(341.4) = 341, groups round(170.5) = 170 and 171; each group
    # bound at delta / 2 = 0.025; rate 0.5: r = t_{0.975, m-1} * sqrt(0.25 m / (m - 1)) / sqrt(m).
    r170, r171 = _t_radius(170, 0.5, 0.025), _t_radius(171, 0.5, 0.025)
    assert r170 == pytest.approx(0.075927, abs=1e-6) and r171 == pytest.approx(0.075700, abs=1e-6)
    gap = certifiable_gap(569, 0.05)
    assert gap == pytest.approx(r170 + r171, rel=1e-12) and gap == pytest.approx(0.151627, abs=1e-6)
    assert gap > 0.1  # a 0.1 parity gap cannot be certified at n = 569, even for a truly fair classifier
    # Hoeffding (width 1): sqrt(ln(1/0.025) / (2 m)) per group
    h = math.sqrt(math.log(40) / 340) + math.sqrt(math.log(40) / 342)
    assert certifiable_gap(569, 0.05, bound="hoeffding") == pytest.approx(h, rel=1e-12)
    # a lower positive rate narrows the Student-t radii (sd sqrt(p(1-p)))
    assert certifiable_gap(569, rate=0.2) == pytest.approx(_t_radius(170, 0.2, 0.025) + _t_radius(171, 0.2, 0.025))


def test_certifiable_gap_equals_what_the_safety_test_computes() -> None:
    # n = 600: the safety set has 360 rows, 180 per group, 90 approvals in each (observed gap 0)
    v = np.array(([1.0] * 90 + [0.0] * 90) * 2)
    data = {"v": v, "group": np.array([0] * 180 + [1] * 180)}
    ub = Seldonian(delta=0.05).test(IDENTITY, [0.0], data, demographic_parity(0.5)).reports[0].upper_bound
    assert ub == pytest.approx(certifiable_gap(600, 0.05), rel=1e-12)


def test_minimum_n_inverts_the_floor() -> None:
    n = minimum_n(0.1)
    assert n == 1293
    assert certifiable_gap(n) <= 0.1 < certifiable_gap(n - 1)
    assert minimum_n(0.05) > 4 * minimum_n(0.1) * 0.9  # the floor shrinks like 1 / sqrt(n)
    assert minimum_n(0.1, bound="hoeffding") > n  # Hoeffding is wider


@pytest.mark.parametrize(
    ("call", "name"),
    [(lambda: certifiable_gap(0), "n"), (lambda: certifiable_gap(100, 1.5), "delta"),
     (lambda: certifiable_gap(100, rate=-0.1), "rate"), (lambda: certifiable_gap(100, bound="z"), "bound"),
     (lambda: certifiable_gap(100, safety_fraction=1.0), "safety_fraction"), (lambda: minimum_n(0.0), "epsilon"),
     (lambda: minimum_n(math.nan), "epsilon")],
)
def test_planning_errors_name_the_parameter(call: Any, name: str) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{name}' parameter"):
        call()


def test_certifiable_gap_with_tiny_groups_is_infinite_not_an_error() -> None:
    assert certifiable_gap(2) == math.inf
    assert certifiable_gap(3, group_share=0.01) == math.inf
    with pytest.raises(GuardoptError):
        minimum_n(1e-9)
