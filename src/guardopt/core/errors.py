"""The exception family and the one shape every validation message takes.

Every error guardopt raises on bad input is a `GuardoptError`, and every parameter check produces
the same message shape, so users can read what went wrong without opening the source::

    The 'delta' parameter of SafetyTest must be in (0, 1). Got 1.5 instead.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any


class GuardoptError(Exception):
    """Root of every error guardopt raises on purpose."""


class InvalidParameterError(GuardoptError, ValueError):
    """A configuration or call argument is outside what is accepted."""

    def __init__(self, param: str, owner: str, expected: str, got: Any) -> None:
        self.param = param
        self.owner = owner
        self.expected = expected
        self.got = got
        super().__init__(f"The {param!r} parameter of {owner} must be {expected}. Got {got!r} instead.")


class InputDataError(GuardoptError, ValueError):
    """Data handed to guardopt (samples, parameters, observations) is malformed."""


class InsufficientDataError(GuardoptError, ValueError):
    """Too few samples for the requested bound or test."""


class UnsupportedError(GuardoptError, NotImplementedError):
    """A combination of options guardopt does not support."""


class StorageError(GuardoptError, RuntimeError):
    """A storage could not be read or written; the cause is chained, never swallowed."""


def check_in_range(
    value: Any,
    param: str,
    owner: str,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = True,
    high_open: bool = True,
) -> float:
    """Check that a real number lies in an interval and return it as a float.

    Args:
        value: The value to check.
        param: The parameter's name, for the message.
        owner: The class or function that owns it, for the message.
        low, high: The interval's ends.
        low_open, high_open: Whether each end is excluded.
    """
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    expected = f"a real number in {left}{_fmt(low)}, {_fmt(high)}{right}"
    if isinstance(value, bool) or (not isinstance(value, (int, float)) and not hasattr(value, "__float__")):
        raise InvalidParameterError(param, owner, expected, value)
    x = float(value)
    if math.isnan(x):
        raise InvalidParameterError(param, owner, expected, value)
    too_low = x <= low if low_open else x < low
    too_high = x >= high if high_open else x > high
    if too_low or too_high:
        raise InvalidParameterError(param, owner, expected, value)
    return x


def check_int(value: Any, param: str, owner: str, low: int | None = None, high: int | None = None) -> int:
    """Check that a value is an integer in ``[low, high]`` and return it."""
    bounds = f" in [{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
    expected = "an integer" + (bounds if (low is not None or high is not None) else "")
    if isinstance(value, bool) or (not isinstance(value, int) and not _is_integral(value)):
        raise InvalidParameterError(param, owner, expected, value)
    x = int(value)
    if (low is not None and x < low) or (high is not None and x > high):
        raise InvalidParameterError(param, owner, expected, value)
    return x


def check_choice(value: Any, param: str, owner: str, options: Collection[Any]) -> Any:
    """Check that a value is one of ``options`` and return it."""
    if value not in options:
        shown = ", ".join(repr(o) for o in options)
        raise InvalidParameterError(param, owner, f"one of {{{shown}}}", value)
    return value


def _is_integral(value: Any) -> bool:
    try:
        import numpy as np

        return isinstance(value, np.integer)
    except ImportError:  # pragma: no cover - numpy is a dependency
        return False


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}"
