"""The exception family and the one shape every validation message takes.

Every error guardopt raises on bad input is a `GuardoptError`, and every parameter check produces
the same message shape, so users can read what went wrong without opening the source::

    The 'delta' parameter of SafetyTest must be in (0, 1). Got 1.5 instead.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


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
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError) as exc:  # an array of several numbers, a huge int
        raise InvalidParameterError(param, owner, expected, value) from exc
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


def check_bool(value: Any, param: str, owner: str) -> bool:
    """Check that a flag is ``True`` or ``False`` (a numpy bool too) and return it as a `bool`.

    A truthy stand-in such as ``"no"``, ``1`` or ``None`` is refused: it would switch an option
    on or off without saying so.
    """
    import numpy as np

    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(param, owner, "True or False", value)
    return bool(value)


def check_choice(value: Any, param: str, owner: str, options: Collection[Any]) -> Any:
    """Check that a value is one of ``options`` and return it."""
    if value not in options:
        shown = ", ".join(repr(o) for o in options)
        raise InvalidParameterError(param, owner, f"one of {{{shown}}}", value)
    return value


def as_float_array(value: Any, param: str, owner: str, *, finite: bool = False, min_size: int = 0) -> np.ndarray:
    """Convert array-like data to a float array, or raise `InputDataError` naming ``param``.

    Numbers and booleans convert; strings, bytes, complex numbers, dates, ragged nestings and
    objects that are not numbers do not (numpy would raise its own ``ValueError`` deep inside a
    bound, or silently drop an imaginary part).

    Args:
        value: The data.
        param: The argument's name, for the message.
        owner: The function that owns it, for the message.
        finite: Also refuse NaN and infinite entries.
        min_size: Refuse arrays with fewer entries.
    """
    import numpy as np

    def fail(why: str) -> InputDataError:
        return InputDataError(f"The {param!r} argument of {owner} must be {why}. Got {_short(value)} instead.")

    try:
        raw = np.asarray(value)
    except (TypeError, ValueError, OverflowError) as exc:  # ragged nesting, objects numpy cannot hold
        raise fail("an array of real numbers") from exc
    if raw.dtype.kind not in "biufO":
        raise fail("an array of real numbers")
    try:
        arr = raw.astype(float)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: an int beyond float64
        raise fail("an array of real numbers") from exc
    if arr.size < min_size:
        raise fail(f"an array of at least {min_size} real numbers")
    if finite and not np.isfinite(arr).all():
        raise fail("an array of finite real numbers (no NaN or infinity)")
    return arr


def to_float(value: Any) -> float:
    """``float(value)``, or NaN when ``value`` is not a real number (a string, None, an array of several).

    For hot paths that check finiteness next anyway: the NaN then takes the usual error path
    instead of ``float()`` raising its own ``TypeError`` or ``ValueError``.
    """
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
