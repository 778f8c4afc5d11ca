"""Pareto dominance and hypervolume (guardopt.core.pareto) against hand-computed fronts and volumes."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.core.pareto import (
    _hvi_boxes,
    hypervolume,
    hypervolume_improvement,
    improvement_boxes,
    is_non_dominated,
    pareto_front,
    to_losses,
)
from guardopt.testing.contracts import adversarial_arrays, adversarial_floats, assert_contract, contract_settings


def _inclusion_exclusion(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume of a small set (minimization): sum over subsets of the intersections' boxes."""
    pts = [p for p in points if np.all(p < ref)]
    total = 0.0
    for size in range(1, len(pts) + 1):
        for subset in itertools.combinations(pts, size):
            corner = np.max(np.array(subset), axis=0)
            total += (-1) ** (size + 1) * float(np.prod(ref - corner))
    return total


# ------------------------------------------------------------------- dominance, by hand


def test_non_dominated_hand_front() -> None:
    # (2, 2) and (3, 3) are dominated by (2, 1); (1, 3) and (2, 1) are not.
    assert is_non_dominated([[1, 3], [2, 2], [3, 3], [2, 1]]).tolist() == [True, False, False, True]


def test_non_dominated_mixed_directions() -> None:
    # Minimize the first, maximize the second: (1, 5) beats (2, 4); (3, 6) trades off with (1, 5).
    v = [[1, 5], [2, 4], [3, 6]]
    assert is_non_dominated(v, ["minimize", "maximize"]).tolist() == [True, False, True]
    assert is_non_dominated(v, ["maximize", "maximize"]).tolist() == [False, False, True]
    assert to_losses(v, ["minimize", "maximize"]).tolist() == [[1, -5], [2, -4], [3, -6]]


def test_duplicates_are_all_kept_and_weak_dominance_counts() -> None:
    assert is_non_dominated([[1, 1], [1, 1], [1, 2]]).tolist() == [True, True, False]
    # Three objectives, general path (the two-objective path is a sort).
    assert is_non_dominated([[1, 1, 1], [1, 1, 1], [1, 1, 2], [0, 2, 2]]).tolist() == [True, True, False, True]


def test_nan_and_inf_are_never_on_the_front_nor_dominate() -> None:
    v = [[np.nan, 0.0], [1.0, 1.0], [-np.inf, -np.inf], [2.0, 0.5], [0.0, np.inf]]
    assert is_non_dominated(v).tolist() == [False, True, False, True, False]
    assert pareto_front(v).tolist() == [[1.0, 1.0], [2.0, 0.5]]


def test_empty_sets() -> None:
    assert is_non_dominated(np.empty((0, 2))).tolist() == []
    assert hypervolume(np.empty((0, 3)), [1, 1, 1]) == 0.0
    assert hypervolume([], [1.0, 1.0]) == 0.0
    assert hypervolume_improvement([[0.5, 0.5]], [], [1.0, 1.0]).tolist() == [0.25]


def test_two_objective_sort_agrees_with_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    for _ in range(100):
        x = rng.integers(0, 4, (rng.integers(1, 20), 2)).astype(float)
        le = np.all(x[None] <= x[:, None], axis=2)
        lt = np.any(x[None] < x[:, None], axis=2)
        assert is_non_dominated(x).tolist() == (~np.any(le & lt, axis=1)).tolist()


# ------------------------------------------------------------------- hypervolume, by hand


def test_hypervolume_2d_staircase() -> None:
    # Three steps of width 1 and heights 3, 2, 1 below the reference (4, 4): 3 + 2 + 1.
    assert hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) == pytest.approx(6.0, abs=1e-12)
    # A dominated point changes nothing.
    assert hypervolume([[1, 3], [2, 2], [3, 1], [3, 3]], [4, 4]) == pytest.approx(6.0, abs=1e-12)


def test_hypervolume_maximize_and_mixed() -> None:
    assert hypervolume([[-1, -3], [-2, -2], [-3, -1]], [-4, -4], ["maximize", "maximize"]) == pytest.approx(6.0)
    # Minimize f1, maximize v: {f1 in [1, 3], v in [0, 2]} U {f1 in [2, 3], v in [0, 3]}: 2*2 + 1*1 = 5.
    assert hypervolume([[1, 2], [2, 3]], [3, 0], ["minimize", "maximize"]) == pytest.approx(5.0)


def test_hypervolume_3d_by_inclusion_exclusion() -> None:
    # Three boxes of volume 4 whose pairwise intersections are 2 and triple intersection 1: 12 - 6 + 1.
    assert hypervolume([[0, 0, 1], [1, 0, 0], [0, 1, 0]], [2, 2, 2]) == pytest.approx(7.0, abs=1e-12)
    assert hypervolume([[1, 1, 1]], [2, 2, 2]) == pytest.approx(1.0)
    assert hypervolume([[0, 0, 0]], [2, 2, 2]) == pytest.approx(8.0)


def test_hypervolume_4d() -> None:
    # Two boxes of 0.5 in [0, 1]^4 that overlap in [0.5, 1]^2 x [0, 1]^2: 0.5 + 0.5 - 0.25.
    assert hypervolume([[0.5, 0, 0, 0], [0, 0.5, 0, 0]], [1, 1, 1, 1]) == pytest.approx(0.75)


def test_points_outside_or_on_the_reference_add_nothing() -> None:
    assert hypervolume([[5, 0]], [4, 4]) == 0.0
    assert hypervolume([[4, 1]], [4, 4]) == 0.0  # on the boundary: a set of measure zero
    assert hypervolume([[1, 3], [5, 0]], [4, 4]) == pytest.approx(3.0)


def test_hypervolume_ignores_non_finite_rows() -> None:
    # Only (1, 3) and (2, 2) count: 1 * 1 + 2 * 2.
    hv = hypervolume([[1, 3], [np.nan, 0], [-np.inf, -1], [2, 2]], [4, 4])
    assert hv == pytest.approx(5.0)


def test_random_sets_match_inclusion_exclusion_2d_3d_4d() -> None:
    rng = np.random.default_rng(1)
    for k in (2, 3, 4):
        for _ in range(10):
            pts = rng.random((rng.integers(1, 7), k))
            ref = np.full(k, 1.05)
            assert hypervolume(pts, ref) == pytest.approx(_inclusion_exclusion(pts, ref), rel=1e-10, abs=1e-12)


def test_hypervolume_improvement_by_hand() -> None:
    # Front (1, 3), (3, 1) under (4, 4) has 2*1 + 1*3 = 5; with (1, 1) the whole 3x3 square: +4.
    hvi = hypervolume_improvement([[1, 1], [3, 3], [np.nan, 0]], [[1, 3], [3, 1]], [4, 4])
    assert hvi.tolist() == pytest.approx([4.0, 0.0, 0.0])


def test_improvement_boxes_are_the_undominated_region() -> None:
    rng = np.random.default_rng(2)
    for k in (2, 3):
        front = rng.random((6, k))
        ref = np.full(k, 1.1)
        lower, upper = improvement_boxes(front, ref)
        new = rng.random((20, k))
        want = [hypervolume(np.vstack([front, y]), ref) - hypervolume(front, ref) for y in new]
        assert _hvi_boxes(new, lower, upper) == pytest.approx(want, rel=1e-9, abs=1e-12)


@pytest.mark.slow  # imports torch and BoTorch (seconds)
def test_botorch_hypervolume_as_an_oracle() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("botorch")
    from botorch.utils.multi_objective.hypervolume import Hypervolume

    rng = np.random.default_rng(3)
    pts = rng.random((25, 3))
    ref = np.full(3, 1.1)
    # BoTorch maximizes: negate both.
    theirs = Hypervolume(torch.tensor(-ref)).compute(torch.tensor(-pts))
    assert hypervolume(pts, ref) == pytest.approx(float(theirs), rel=1e-9)


# ------------------------------------------------------------------- errors


def test_errors_name_the_argument() -> None:
    with pytest.raises(InvalidParameterError, match="ref"):
        hypervolume([[1, 2]], [np.nan, 1])
    with pytest.raises(InputDataError, match=r"'values'.*3 columns"):
        hypervolume([[1, 2]], [1, 2, 3])
    with pytest.raises(InputDataError, match="values"):
        hypervolume([1, 2, 3], [1, 1])
    with pytest.raises(InvalidParameterError, match="directions"):
        is_non_dominated([[1, 2]], ["minimise", "maximize"])
    with pytest.raises(InvalidParameterError, match="directions"):
        is_non_dominated([[1, 2]], "minimize")
    with pytest.raises(InputDataError, match="values"):
        is_non_dominated([["a", "b"]])


# ------------------------------------------------------------------- contracts


def _valid_mask(n: int) -> object:
    def check(mask: np.ndarray) -> bool:
        return mask.dtype == bool and mask.shape == (n,)
    return check


@contract_settings()
@given(adversarial_arrays(min_dims=0, max_dims=3, max_side=4))
def test_non_dominated_takes_anything(values: object) -> None:
    out = assert_contract(is_non_dominated, values, names=("values", "directions"))
    if out.ok:
        a = np.asarray(values, dtype=float)
        mask = out.result
        assert mask.shape == (a.shape[0],)
        # Fail closed: a row with a non-finite entry is never on the front.
        assert not np.any(mask & ~np.all(np.isfinite(a), axis=1))


@contract_settings()
@given(adversarial_arrays(min_dims=0, max_dims=3, max_side=4),
       st.lists(adversarial_floats(), min_size=0, max_size=3))
def test_hypervolume_takes_anything(values: object, ref: list[float]) -> None:
    def finite_non_negative(hv: float) -> bool:
        return (math.isfinite(hv) and hv >= 0.0) or hv == math.inf

    out = assert_contract(hypervolume, values, ref, names=("values", "ref", "directions"), check=finite_non_negative)
    if out.ok:
        assert all(math.isfinite(r) for r in ref)


def test_a_guardopt_error_for_wrong_types() -> None:
    for bad in (None, "front", object(), [[1, "x"]]):
        with pytest.raises(GuardoptError):
            hypervolume(bad, [1.0, 1.0])
