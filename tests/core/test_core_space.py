"""Space: encode/decode round trips (property tests), validation, sampling and the Sobol design."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import guardopt as go
from guardopt.core import InputDataError, InvalidParameterError

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def real_params(draw: st.DrawFn) -> tuple[go.Real, float]:
    log = draw(st.booleans())
    if log:
        low = draw(st.floats(min_value=1e-6, max_value=1e3))
        high = low * draw(st.floats(min_value=1.001, max_value=1e6))
    else:
        low = draw(finite)
        high = low + draw(st.floats(min_value=1e-3, max_value=1e6))
    x = draw(st.floats(min_value=low, max_value=high))
    return go.Real(low, high, log=log), x


@st.composite
def integer_params(draw: st.DrawFn) -> tuple[go.Integer, int]:
    log = draw(st.booleans())
    low = draw(st.integers(min_value=1 if log else -1000, max_value=1000))
    high = low + draw(st.integers(min_value=1, max_value=10_000))
    return go.Integer(low, high, log=log), draw(st.integers(min_value=low, max_value=high))


@given(real_params())
@settings(max_examples=200, deadline=None)
def test_real_round_trip_is_close_and_inside(pair: tuple[go.Real, float]) -> None:
    p, x = pair
    space = go.Space({"x": p})
    u = space.encode({"x": x})
    assert u.shape == (1,) and -1e-9 <= u[0] <= 1 + 1e-9
    back = space.decode(u)["x"]
    assert p.low <= back <= p.high
    assert math.isclose(back, x, rel_tol=1e-9, abs_tol=1e-9 * (p.high - p.low))


@given(integer_params())
@settings(max_examples=200, deadline=None)
def test_integer_round_trip_is_exact(pair: tuple[go.Integer, int]) -> None:
    p, k = pair
    space = go.Space({"n": p})
    back = space.decode(space.encode({"n": k}))["n"]
    assert back == k and isinstance(back, int)


@given(st.lists(st.one_of(st.text(max_size=5), st.integers(), st.booleans()), min_size=1, max_size=6, unique=True),
       st.data())
@settings(max_examples=100, deadline=None)
def test_choice_round_trip_is_exact(options: list[object], data: st.DataObject) -> None:
    space = go.Space({"k": go.Choice(options)})
    value = data.draw(st.sampled_from(options))
    u = space.encode({"k": value})
    assert u.sum() == 1.0 and u.shape == (len(options),)
    assert space.decode(u)["k"] == value


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=6, max_size=6))
@settings(max_examples=200, deadline=None)
def test_decode_of_any_vector_is_a_valid_point(u: list[float]) -> None:
    space = go.Space({"x": go.Real(-1, 1), "n": go.Integer(1, 50, log=True), "k": go.Choice(["a", "b", "c"]),
                      "y": go.Real(1e-3, 10, log=True)})
    assert space.dim == 6
    space.validate(space.decode(np.asarray(u)))


@given(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_sample_and_sobol_are_valid_and_reproducible(n: int, seed: int) -> None:
    space = go.Space({"x": go.Real(-1, 1), "n": go.Integer(-3, 3), "k": go.Choice(["a", "b"])})
    for draw in (space.sample, space.sobol):
        pts = draw(n, seed)
        assert len(pts) == n
        for p in pts:
            space.validate(p)
        assert draw(n, seed) == pts


def test_log_integer_covers_both_ends_and_favours_small_values() -> None:
    space = go.Space({"n": go.Integer(1, 100, log=True)})
    assert space.decode(np.array([0.0]))["n"] == 1
    assert space.decode(np.array([1.0]))["n"] == 100
    counts = Counter(p["n"] for p in space.sample(4000, seed=0))
    # log-uniform over [0.5, 100.5]: P(n = 1) = log(1.5 / 0.5) / log(100.5 / 0.5) = 1.0986 / 5.3033 = 0.2072
    assert abs(counts[1] / 4000 - 0.2072) < 0.03
    # P(n = 100) = log(100.5 / 99.5) / 5.3033 = 0.00188
    assert counts[100] / 4000 < 0.01


def test_sobol_balances_integers_and_choices() -> None:
    space = go.Space({"n": go.Integer(0, 3), "k": go.Choice(["a", "b", "c", "d"]), "x": go.Real(0, 1)})
    pts = space.sobol(64, seed=3)
    # A scrambled Sobol column of 64 = 2^6 points puts exactly 16 points in each quarter of [0, 1].
    assert Counter(p["n"] for p in pts) == {0: 16, 1: 16, 2: 16, 3: 16}
    assert Counter(p["k"] for p in pts) == {"a": 16, "b": 16, "c": 16, "d": 16}
    assert space.sobol(0) == []


def test_validate_messages_name_parameter_expected_and_given() -> None:
    space = go.Space({"x": go.Real(-5, 5), "k": go.Choice(["a", "b"])})
    with pytest.raises(InputDataError, match=r"'params'.*'x'.*Real.*Got 7"):
        space.validate({"x": 7, "k": "a"})
    with pytest.raises(InputDataError, match=r"exactly the names \['x', 'k'\].*missing \['k'\]"):
        space.validate({"x": 0.0})
    with pytest.raises(InputDataError, match=r"unexpected \['z'\]"):
        space.validate({"x": 0.0, "k": "a", "z": 1})
    with pytest.raises(InputDataError, match=r"'k'.*Got 'c'"):
        space.validate({"x": 0.0, "k": "c"})
    with pytest.raises(InputDataError, match="Got nan"):
        space.validate({"x": float("nan"), "k": "a"})
    with pytest.raises(InputDataError, match="mapping"):
        space.validate([0.0, "a"])  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match=r"shape \(3,\)"):
        space.decode(np.zeros(2))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: go.Real(1, 1), r"'high' parameter of Real must be greater than low=1. Got 1 instead"),
        (lambda: go.Real(0, 1, log=True), r"'low' parameter of Real must be > 0 when log=True. Got 0"),
        (lambda: go.Real(float("nan"), 1), r"'low' parameter of Real must be a finite number"),
        (lambda: go.Integer(0.5, 3), r"'low' parameter of Integer must be an integer. Got 0.5"),  # type: ignore[arg-type]
        (lambda: go.Choice([]), r"'options' parameter of Choice must be a non-empty sequence"),
        (lambda: go.Choice(["a", "a"]), r"'options' parameter of Choice must be distinct values"),
        (lambda: go.Space({}), r"'params' parameter of Space"),
        (lambda: go.Space({"x": (0, 1)}), r"params\[.x.\]. parameter of Space must be a Real, Integer or Choice"),  # type: ignore[dict-item]
    ],
)
def test_parameter_errors(make: object, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        make()  # type: ignore[operator]


def test_bool_is_not_a_number_and_integers_reject_floats() -> None:
    space = go.Space({"x": go.Real(0, 1), "n": go.Integer(0, 3)})
    with pytest.raises(InputDataError):
        space.validate({"x": True, "n": 1})
    with pytest.raises(InputDataError):
        space.validate({"x": 0.5, "n": 1.0})
    space.validate({"x": np.float64(0.5), "n": np.int64(2)})


def test_to_dict_round_trip() -> None:
    space = go.Space({"x": go.Real(1e-2, 1, log=True), "n": go.Integer(1, 9, log=True), "k": go.Choice([1, "b"])})
    assert go.Space.from_dict(space.to_dict()) == space
