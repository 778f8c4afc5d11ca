from __future__ import annotations

import numpy as np
import pytest

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.problems.offline_tasks import (
    BUDGET,
    CONTINUOUS_TASKS,
    OfflineTask,
    ackley,
    all_sequences,
    continuous_task,
    dna_task,
    levy,
    make_task,
    rastrigin,
    rosenbrock,
    styblinski_tang,
)


def test_known_optima() -> None:
    z = np.zeros((1, 5))
    one = np.ones((1, 5))
    assert ackley(z)[0] == pytest.approx(0.0, abs=1e-12)
    assert rastrigin(z)[0] == pytest.approx(0.0)
    assert rosenbrock(one)[0] == pytest.approx(0.0)
    assert levy(one)[0] == pytest.approx(0.0, abs=1e-12)
    assert styblinski_tang(np.full((1, 5), -2.903534))[0] == pytest.approx(-39.16617 * 5, rel=1e-6)
    # Hand-computed: Rosenbrock at (0, 0) is 1, Rastrigin at (1, 0) is 1.
    assert rosenbrock(np.zeros((1, 2)))[0] == pytest.approx(1.0)
    assert rastrigin(np.array([[1.0, 0.0]]))[0] == pytest.approx(1.0)


@pytest.mark.parametrize("name", CONTINUOUS_TASKS)
def test_continuous_tasks_hide_the_top_and_normalize_by_the_full_range(name: str) -> None:
    task = continuous_task(name, dim=60, n_samples=2500)
    assert task.x.shape == (1000, 60) and task.y.shape == (1000,)
    assert task.budget == BUDGET == 128
    # The visible data lies below every hidden design, so its best normalized score is < 1.
    norm = task.normalize(task.y)
    assert norm.min() == pytest.approx(0.0) and norm.max() < 1.0
    np.testing.assert_allclose(task.predict(task.x[:5]), task.y[:5])
    assert np.all(task.x >= task.lower) and np.all(task.x <= task.upper)


def test_dna_task_is_enumerable_and_exact() -> None:
    task = dna_task(length=8)
    assert task.x.shape == (4**8 // 2, 8)
    every = all_sequences(8)
    ys = task.predict(every)
    assert task.y_min == ys.min() and task.y_max == ys.max()
    assert task.normalize(ys).max() == pytest.approx(1.0)
    assert task.y.max() <= np.median(ys)
    assert len(np.unique(task.x, axis=0)) == len(task.x)
    with pytest.raises(InputDataError):
        task.predict(np.full((1, 8), 4))


def test_score_reports_percentiles() -> None:
    task = continuous_task("sphere", dim=3, n_samples=100)
    s = task.score(task.x[:10])
    assert s["p100"] == pytest.approx(float(task.normalize(task.y[:10]).max()))
    assert s["p50"] == pytest.approx(float(np.percentile(task.normalize(task.y[:10]), 50)))
    with pytest.raises(InputDataError):
        task.score(np.zeros((BUDGET + 1, 3)))


def test_from_arrays_and_errors() -> None:
    x = np.arange(6.0).reshape(3, 2)
    t = OfflineTask.from_arrays(x, [0.0, 1.0, 2.0], name="mine", lower=0, upper=5)
    assert t.y_min == 0.0 and t.y_max == 2.0 and t.lower.shape == (2,)
    with pytest.raises(InputDataError, match="no oracle"):
        t.predict(x)
    with pytest.raises(InputDataError):
        OfflineTask.from_arrays(x, [0.0, 1.0])
    with pytest.raises(InvalidParameterError):
        make_task("ant")
    assert make_task("dna5").dim == 5


def test_task_is_fixed_by_its_seed() -> None:
    a, b = continuous_task("levy", dim=4, n_samples=50), continuous_task("levy", dim=4, n_samples=50)
    np.testing.assert_array_equal(a.x, b.x)
