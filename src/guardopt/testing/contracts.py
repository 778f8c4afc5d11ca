"""Property-test helpers for the fail-closed contract of every public function.

The contract: called with any value, a public function either returns a result that satisfies its
documented invariants, or raises a `GuardoptError` whose message names the offending parameter. It
never raises another exception type (numpy's ``ValueError`` deep inside a bound, a ``KeyError``,
an ``IndexError``), and it never certifies, passes or calls feasible anything computed from
non-finite data.

Every family's contract tests build on this module, so new families reuse these strategies and
assertions rather than writing their own::

    from hypothesis import given
    from guardopt.testing.contracts import adversarial_arrays, assert_contract, contract_settings

    @contract_settings()
    @given(adversarial_arrays())
    def test_my_bound(x):
        out = assert_contract(my_bound, x, 0.1, names=("samples", "delta"))
        if out.ok:
            check_estimate(out.result)

This module imports hypothesis (a dev dependency); ``import guardopt`` and ``guardopt.testing`` do
not. The number of examples follows the ``GUARDOPT_CONTRACT_PROFILE`` environment variable:
``"default"`` (small and derandomized, for ``make test``) or ``"slow"`` (many more random examples,
for ``make test-slow``).
"""

from __future__ import annotations

import math
import os
import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from guardopt.core.errors import GuardoptError
from guardopt.uncertainty.estimate import Estimate

#: Environment variable that selects the profile: ``"default"`` or ``"slow"``.
PROFILE_ENV = "GUARDOPT_CONTRACT_PROFILE"
#: Examples per property test in each profile, before a test's own ``scale``.
PROFILE_EXAMPLES = {"default": 25, "slow": 200}

#: Floats that break naive numerics: NaN, infinities, the float64 limits, subnormals, signed zero.
SPECIAL_FLOATS: tuple[float, ...] = (
    math.nan, math.inf, -math.inf, 1e308, -1e308, 1.7976931348623157e308, -1.7976931348623157e308,
    1e-300, -1e-300, 5e-324, 0.0, -0.0, 1.0, -1.0, 0.5, 1e-17, 1.0 - 1e-16, 1e16,
)


def profile() -> str:
    """The active profile name (``GUARDOPT_CONTRACT_PROFILE``, default ``"default"``)."""
    name = os.environ.get(PROFILE_ENV, "default")
    if name not in PROFILE_EXAMPLES:
        raise ValueError(f"{PROFILE_ENV} must be one of {sorted(PROFILE_EXAMPLES)}. Got {name!r} instead.")
    return name


def contract_settings(scale: float = 1.0) -> settings:
    """Hypothesis settings for a contract test under the active profile.

    Args:
        scale: Multiplier of the profile's example count (below 1 for expensive functions).

    The default profile is derandomized (the same examples on every run, so ``make test`` is
    reproducible) and keeps no example database; neither profile has a deadline, since timings on
    a shared machine are noise.
    """
    name = profile()
    n = max(1, round(PROFILE_EXAMPLES[name] * scale))
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=name == "default",
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        print_blob=name != "default",
    )


# ------------------------------------------------------------------------------------ strategies


def adversarial_floats(allow_nan: bool = True, allow_infinity: bool = True) -> st.SearchStrategy[float]:
    """Any float64, with the special values (`SPECIAL_FLOATS`) drawn often."""
    special = [x for x in SPECIAL_FLOATS if (allow_nan or not math.isnan(x)) and (allow_infinity or not math.isinf(x))]
    return st.one_of(st.sampled_from(special), st.floats(allow_nan=allow_nan, allow_infinity=allow_infinity))


def finite_floats(low: float | None = None, high: float | None = None) -> st.SearchStrategy[float]:
    """Finite floats in ``[low, high]`` (the whole float64 line by default)."""
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


def wrong_types() -> st.SearchStrategy[Any]:
    """Values of the wrong kind for a number or an array: strings, None, containers, objects."""
    return st.one_of(
        st.none(), st.booleans(), st.text(max_size=4), st.binary(max_size=4), st.just(1j),
        st.just(10**400), st.just(-(10**400)), st.lists(st.text(max_size=2), min_size=1, max_size=3),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2), st.just(object()),
        st.just([[1.0, 2.0], [3.0]]),
    )


def adversarial_scalars() -> st.SearchStrategy[Any]:
    """Numbers that are out of range, non-finite, huge or tiny, negative integers, and wrong types."""
    return st.one_of(adversarial_floats(), st.integers(min_value=-(2**70), max_value=2**70), wrong_types())


def bad_probabilities() -> st.SearchStrategy[Any]:
    """Values that are not a probability in (0, 1): 0, 1, outside, NaN, infinities, wrong types."""
    return st.one_of(
        st.sampled_from([0.0, 1.0, -0.0, -1e-300, 1.0 + 1e-16, 1.5, -0.5, math.nan, math.inf, -math.inf, 0, 1, 2]),
        wrong_types(),
    )


def shapes(min_dims: int = 0, max_dims: int = 2, min_side: int = 0, max_side: int = 4) -> st.SearchStrategy[Any]:
    """Array shapes, empty ones (a zero side) included by default."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def float_arrays(shape: Any = None, elements: st.SearchStrategy[float] | None = None, **shape_kw: Any,
                 ) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape`` (or of `shapes` ``**shape_kw``) whose entries are adversarial floats."""
    return hnp.arrays(np.float64, shape if shape is not None else shapes(**shape_kw),
                      elements=elements if elements is not None else adversarial_floats())


def wrong_dtype_arrays(max_side: int = 4) -> st.SearchStrategy[Any]:
    """Arrays and lists numpy cannot read as real numbers: strings, bytes, complex, dates, objects, ragged."""
    side = st.integers(1, max_side)
    return st.one_of(
        side.map(lambda n: np.array(["a"] * n)),
        side.map(lambda n: np.array([b"x"] * n)),
        side.map(lambda n: np.full(n, 1 + 2j)),
        side.map(lambda n: np.array(["2020-01-01"] * n, dtype="datetime64[D]")),
        side.map(lambda n: np.array([object()] * n, dtype=object)),
        side.map(lambda n: ["x"] * n),
        st.just([[1.0, 2.0], [3.0]]),
        st.just([1.0, None, 2.0]),
    )


def adversarial_arrays(min_dims: int = 0, max_dims: int = 2, max_side: int = 4) -> st.SearchStrategy[Any]:
    """Everything an array argument may be handed: adversarial floats in any shape (empty too), and
    wrong dtypes, wrong types and plain lists."""
    floats = float_arrays(min_dims=min_dims, max_dims=max_dims, max_side=max_side)
    return st.one_of(floats, floats.map(lambda a: a.tolist()), wrong_dtype_arrays(max_side), wrong_types())


def wrong_shapes(shape: tuple[int, ...], max_side: int = 4) -> st.SearchStrategy[np.ndarray]:
    """Finite float arrays of any shape other than ``shape``."""
    return float_arrays(shapes(max_dims=max(2, len(shape) + 1), max_side=max_side),
                        elements=finite_floats(-10, 10)).filter(lambda a: a.shape != tuple(shape))


def samples_in(low: float, high: float, min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[np.ndarray]:
    """Valid 1-D samples in ``[low, high]``, with the ends and subnormal steps drawn often."""
    ends = st.sampled_from([low, high, low + (high - low) * 1e-300, (low + high) / 2])
    return hnp.arrays(np.float64, st.integers(min_size, max_size), elements=st.one_of(ends, finite_floats(low, high)))


# ------------------------------------------------------------------------------------ assertions


@dataclass(frozen=True)
class Outcome:
    """What a call under `assert_contract` did: returned ``result`` (``ok``) or raised ``error``."""

    result: Any = None
    error: GuardoptError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def names_parameter(error: BaseException, names: Iterable[str]) -> bool:
    """Whether the message of ``error`` mentions one of ``names`` (as a whole word)."""
    message = str(error)
    return any(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", message) for n in names)


def assert_contract(fn: Callable[..., Any], *args: Any, names: Iterable[str] | None = None,
                    check: Callable[[Any], Any] | None = None, **kwargs: Any) -> Outcome:
    """Call ``fn(*args, **kwargs)`` and assert the fail-closed contract.

    Args:
        fn: The public function (or class) under test.
        names: The parameters the call may legitimately complain about; a `GuardoptError` must name
            one of them. ``None`` only requires a non-empty message.
        check: Called on a returned result; it asserts the documented invariants (raise or return
            False to fail).

    Returns:
        The `Outcome`, so a test can assert more about a result or an error.

    Raises:
        AssertionError: ``fn`` raised an exception that is not a `GuardoptError` (its traceback is
            in the message), a `GuardoptError` that names none of ``names``, or a result that
            ``check`` rejected.
    """
    try:
        result = fn(*args, **kwargs)
    except GuardoptError as exc:
        message = str(exc)
        assert message.strip(), f"{_name(fn)} raised {type(exc).__name__} with an empty message"
        if names is not None:
            wanted = list(names)
            assert names_parameter(exc, wanted), (
                f"{_name(fn)} raised {type(exc).__name__} naming none of {wanted}: {message}")
        return Outcome(error=exc)
    except Exception as exc:  # the contract: nothing but the library's own errors
        raise AssertionError(
            f"{_name(fn)}{_show(args, kwargs)} raised {type(exc).__name__} (not a GuardoptError): {exc}\n"
            + "".join(traceback.format_exception(exc))
        ) from exc
    if check is not None:
        verdict = check(result)
        assert verdict is None or verdict, (
            f"{_name(fn)}{_show(args, kwargs)} returned {result!r}, which breaks its contract")
    return Outcome(result=result)


def assert_fails_closed(fn: Callable[..., Any], *args: Any, names: Iterable[str] | None = None,
                        **kwargs: Any) -> Outcome:
    """`assert_contract` for a call on non-finite or invalid data that could certify or pass.

    The call must raise a `GuardoptError` or return something falsy: ``bool(result)`` is False for a
    `Verdict`, a `NoSolutionFound` or ``False``; for an array of flags, none may be True.
    """

    def closed(result: Any) -> bool:
        if isinstance(result, np.ndarray):
            return not bool(np.any(result))
        return not bool(result)

    return assert_contract(fn, *args, names=names, check=closed, **kwargs)


def check_estimate(est: Any) -> bool:
    """Assert the invariants of an `Estimate`: one shape; a finite or NaN mean; ``lower <= mean <=
    upper`` where defined; no bound on the wrong infinity; a confidence in [0, 1] or NaN; counts >= 0.

    Returns True, so it can serve as ``check=`` of `assert_contract`.
    """
    assert isinstance(est, Estimate), f"expected an Estimate, got {type(est).__name__}"
    m, lo, hi = (np.asarray(v, dtype=float) for v in (est.mean, est.lower, est.upper))
    assert m.shape == lo.shape == hi.shape, (m.shape, lo.shape, hi.shape)
    assert not np.isinf(m).any(), f"infinite mean {m}"
    assert not (lo == np.inf).any() and not (hi == -np.inf).any(), f"bound on the wrong infinity: {lo}, {hi}"
    with np.errstate(invalid="ignore"):
        tol = 1e-9 * (1 + np.abs(m))
        assert not (lo > m + tol).any() and not (m > hi + tol).any(), f"order broken: {lo} <= {m} <= {hi}"
    c = est.confidence
    assert math.isnan(c) or 0.0 <= c <= 1.0, f"confidence {c}"
    assert (np.asarray(est.n) >= 0).all(), f"negative n {est.n}"
    return True


def is_finite_data(value: Any) -> bool:
    """Whether ``value`` reads as a non-empty array of finite real numbers (what a bound may use)."""
    try:
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            return False
        arr = arr.astype(float)
    except (TypeError, ValueError):
        return False
    return arr.size > 0 and bool(np.isfinite(arr).all())


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _show(args: tuple[Any, ...], kwargs: dict[str, Any], limit: int = 300) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    text = "(" + ", ".join(parts) + ")"
    return text if len(text) <= limit else text[: limit - 4] + "...)"
