"""Behavioural constraints as expressions over means of per-sample statistics.

A constraint reads ``expr <= threshold``, where ``expr`` combines *base variables* — each the mean of
a per-sample statistic over a subset of rows (a group, or the negatives of a group) — with ``+``,
``-``, multiplication by a constant, ``abs`` and ``max``. Examples::

    mean_cost(0.1)                     # E[cost] <= 0.1
    demographic_parity(0.05)           # |P(yhat=1 | g=0) - P(yhat=1 | g=1)| <= 0.05
    false_positive_rate_gap(0.05)      # |P(yhat=1 | g=0, y=0) - P(yhat=1 | g=1, y=0)| <= 0.05

The high-confidence upper bound of an expression is computed by interval arithmetic from one-sided
confidence bounds on its base variables: the propagation over a constraint's parse tree that Thomas
et al. (2019, Science 366:999) and the Seldonian toolkit use. Each one-sided base bound that the
propagation *needs* is an event that may fail; the constraint's ``delta`` is split evenly over the
largest number of events that can be needed at once (`Expr.n_events`). For ``|a - b|`` that number
is 2, not 4: if the true ``a - b`` is positive, only the upper bound of ``a`` and the lower bound of
``b`` must hold for the propagated bound ``max(U_a - L_b, U_b - L_a)`` to cover it (and
symmetrically), so each side of each rate is bounded at ``delta / 2``. This is a union bound over
the sides of the difference that can matter, tighter than the toolkit's split over all four sides,
and still valid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from guardopt.certify.columns import equal_mask
from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_in_range

Data = Mapping[str, np.ndarray]
"""Named per-row arrays sharing their first dimension ``n`` (e.g. ``{"X": (n, d), "y": (n,)}``)."""

Statistic = Callable[[np.ndarray, Data], np.ndarray]
"""``(predictions (n,), data) -> per-sample values (n,)``."""

Selector = Callable[[Data], np.ndarray]
"""``data -> boolean mask (n,)``: which rows a base variable averages over. Reads data only, never
the model's predictions, so a subset's size is known before any model is chosen."""

Side = Literal["upper", "lower"]

WEIGHT_KEY = "sample_weight"
"""Reserved data key: non-negative integer *frequency* weights; a row of weight k stands for k
i.i.d. samples (so bootstrap samples can be stored as counts over distinct rows)."""

Oracle = Callable[["Mean", Side, float], float]
"""``(base variable, side, delta) -> one-sided bound`` at miscoverage ``delta``."""


def _flip(side: Side) -> Side:
    return "lower" if side == "upper" else "upper"


class Expr:
    """A real-valued expression of base variables (means of per-sample statistics).

    Subclasses implement `bound` (interval arithmetic), `plug_in` (the point estimate) and
    `n_events` (how many one-sided base bounds the bound on one side can need at once).
    """

    def bound(self, side: Side, oracle: Oracle, delta: float) -> float:
        """Upper or lower bound of the expression from base bounds, each at miscoverage ``delta``."""
        raise NotImplementedError

    def plug_in(self, means: Callable[[Mean], float]) -> float:
        """Point estimate from base means."""
        raise NotImplementedError

    def n_events(self, side: Side) -> int:
        """Largest number of base one-sided bounds that must all hold for the ``side`` bound to hold."""
        raise NotImplementedError

    def bases(self) -> list[Mean]:
        """Base variables, in order of first appearance."""
        raise NotImplementedError

    # Operator sugar: expressions compose like numbers.
    def __add__(self, other: Expr | float) -> Expr:
        return Sum(self, _as_expr(other))

    def __radd__(self, other: float) -> Expr:
        return Sum(_as_expr(other), self)

    def __sub__(self, other: Expr | float) -> Expr:
        return Sum(self, Scale(-1.0, _as_expr(other)))

    def __rsub__(self, other: float) -> Expr:
        return Sum(_as_expr(other), Scale(-1.0, self))

    def __neg__(self) -> Expr:
        return Scale(-1.0, self)

    def __mul__(self, c: float) -> Expr:
        return Scale(float(c), self)

    def __rmul__(self, c: float) -> Expr:
        return Scale(float(c), self)

    def __abs__(self) -> Expr:
        return Abs(self)


def _as_expr(x: Expr | float) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, (int, float, np.floating, np.integer)) and not isinstance(x, bool):
        return Const(float(x))
    raise InputDataError(f"Constraint expressions combine expressions and numbers. Got {x!r} instead.")


@dataclass(frozen=True, eq=False)
class Mean(Expr):
    """Base variable: the mean of a per-sample statistic over the rows a selector picks.

    Args:
        name: Shown in reports.
        statistic: ``(predictions, data) -> (n,)`` values; ``None`` uses the predictions themselves.
        where: ``data -> (n,)`` boolean mask; ``None`` uses every row.
        low, high: Known range of one value (needed by Hoeffding; also clips the bounds).
    """

    name: str
    statistic: Statistic | None = None
    where: Selector | None = None
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        for param in ("statistic", "where"):  # a non-function would only fail (TypeError) inside the test
            fn = getattr(self, param)
            if fn is not None and not callable(fn):
                raise InvalidParameterError(param, f"Mean {self.name!r}", "None or a function", fn)
        if (self.low is None) != (self.high is None):
            raise InputDataError(f"Mean {self.name!r}: give both low and high, or neither.")
        if self.low is not None and self.high is not None:
            low = check_in_range(self.low, "low", f"Mean {self.name!r}")
            high = check_in_range(self.high, "high", f"Mean {self.name!r}")
            if not high > low:
                raise InputDataError(f"Mean {self.name!r}: needs high > low. Got low={self.low}, high={self.high}.")

    def mask(self, data: Data, n: int) -> np.ndarray:
        """Boolean mask of the rows this variable averages over, shape ``(n,)``."""
        if self.where is None:
            return np.ones(n, dtype=bool)
        m = np.asarray(self.where(data))
        if m.shape != (n,):
            raise InputDataError(f"The selector of {self.name!r} returned shape {m.shape}; expected ({n},).")
        return m.astype(bool)

    def values(self, predictions: np.ndarray, data: Data) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample values and frequency weights of the selected rows, each of shape ``(m,)``."""
        pred = np.asarray(predictions, dtype=float)
        n = pred.shape[0]
        v = pred if self.statistic is None else as_float_array(self.statistic(pred, data), "statistic",
                                                                  f"Mean {self.name!r}")
        if v.shape != (n,):
            raise InputDataError(f"The statistic of {self.name!r} returned shape {v.shape}; expected ({n},).")
        w = weights_of(data, n)
        m = self.mask(data, n)
        return v[m], w[m]

    def count(self, data: Data, n: int) -> float:
        """Number of samples (sum of frequency weights) this variable averages over."""
        return float(weights_of(data, n)[self.mask(data, n)].sum())

    def bound(self, side: Side, oracle: Oracle, delta: float) -> float:
        return oracle(self, side, delta)

    def plug_in(self, means: Callable[[Mean], float]) -> float:
        return means(self)

    def n_events(self, side: Side) -> int:
        return 1

    def bases(self) -> list[Mean]:
        return [self]


@dataclass(frozen=True, eq=False)
class Const(Expr):
    """A known constant."""

    value: float

    def bound(self, side: Side, oracle: Oracle, delta: float) -> float:
        return self.value

    def plug_in(self, means: Callable[[Mean], float]) -> float:
        return self.value

    def n_events(self, side: Side) -> int:
        return 0

    def bases(self) -> list[Mean]:
        return []


@dataclass(frozen=True, eq=False)
class Sum(Expr):
    """``a + b``: bounds add side by side; both operands' events are needed."""

    a: Expr
    b: Expr

    def bound(self, side: Side, oracle: Oracle, delta: float) -> float:
        return self.a.bound(side, oracle, delta) + self.b.bound(side, oracle, delta)

    def plug_in(self, means: Callable[[Mean], float]) -> float:
        return self.a.plug_in(means) + self.b.plug_in(means)

    def n_events(self, side: Side) -> int:
        return self.a.n_events(side) + self.b.n_events(side)

    def bases(self) -> list[Mean]:
        return _unique(self.a.bases() + self.b.bases())


@dataclass(frozen=True, eq=False)
class Scale(Expr):
    """``c * a``: a negative factor swaps the operand's sides."""

    c: float
    a: Expr

    def bound(self, side: Side, oracle: Oracle, delta: float) -> float:
        if self.c == 0.0:
            return 0.0
        inner = side if self.c > 0 else _flip(side)
        return self.c * self.a.bound(inner, oracle, delta)

    def plug_in(self, means: Callable[[Mean], float]) -> float:
        return self.c * self.a.plug_in(means)

    def n_events(self, side: Side) -> int:
        if self.c == 0.0:
            return 0
        return self.a.n_events(side if self.c > 0 else _flip(side))

    def bases(self) -> list[Mean]:
        return self.a.bases()


@dataclass(frozen=True, eq=False)
class Abs(Expr):
    """``|a|``. Upper bound ``max(U_a, -L_a)``; only the side matching the true sign is needed."""

    a: Expr

    def bound(self, side: Side, oracle: Oracle, delta: float) -> float:
        hi = self.a.bound("upper", oracle, delta)
        lo = self.a.bound("lower", oracle, delta)
        if side == "upper":
            return _max(hi, -lo)
        return _max(0.0, lo, -hi)

    def plug_in(self, means: Callable[[Mean], float]) -> float:
        return abs(self.a.plug_in(means))

    def n_events(self, side: Side) -> int:
        if side == "upper":
            # |x| <= max(U, -L) holds when U >= x (if x >= 0) or L <= x (if x < 0): one side at a time.
            return max(self.a.n_events("upper"), self.a.n_events("lower"))
        return self.a.n_events("upper") + self.a.n_events("lower")

    def bases(self) -> list[Mean]:
        return self.a.bases()


@dataclass(frozen=True, eq=False)
class Max(Expr):
    """``max(a, b)``. Its upper bound needs only the larger operand's events."""

    a: Expr
    b: Expr

    def bound(self, side: Side, oracle: Oracle, delta: float) -> float:
        return _max(self.a.bound(side, oracle, delta), self.b.bound(side, oracle, delta))

    def plug_in(self, means: Callable[[Mean], float]) -> float:
        return max(self.a.plug_in(means), self.b.plug_in(means))

    def n_events(self, side: Side) -> int:
        if side == "upper":
            return max(self.a.n_events("upper"), self.b.n_events("upper"))
        return self.a.n_events("lower") + self.b.n_events("lower")

    def bases(self) -> list[Mean]:
        return _unique(self.a.bases() + self.b.bases())


def _max(*values: float) -> float:
    # Python's max() drops a NaN that is not its first argument; a NaN bound must never pass.
    return math.nan if any(math.isnan(v) for v in values) else max(values)


def maximum(a: Expr | float, b: Expr | float) -> Expr:
    """``max(a, b)`` as an expression."""
    return Max(_as_expr(a), _as_expr(b))


def _unique(items: list[Mean]) -> list[Mean]:
    seen: set[int] = set()
    out = []
    for m in items:
        if id(m) not in seen:
            seen.add(id(m))
            out.append(m)
    return out


@dataclass(frozen=True, eq=False)
class Constraint:
    """``expr <= threshold``, to hold with probability at least ``1 - delta``.

    Args:
        expr: The constrained expression.
        threshold: Largest acceptable value.
        name: Shown in reports and in `NoSolutionFound`.
        delta: This constraint's miscoverage; ``None`` takes the `Seldonian` config's.
    """

    expr: Expr
    threshold: float
    name: str = "constraint"
    delta: float | None = None

    def __post_init__(self) -> None:
        check_in_range(self.threshold, "threshold", f"Constraint {self.name!r}")
        if self.delta is not None:
            check_in_range(self.delta, "delta", f"Constraint {self.name!r}", 0.0, 1.0)
        if not isinstance(self.expr, Expr):
            raise InputDataError(f"Constraint {self.name!r} needs an Expr. Got {type(self.expr).__name__}.")

    @property
    def n_events(self) -> int:
        """Number of one-sided base bounds the upper bound can need at once (>= 1)."""
        return max(self.expr.n_events("upper"), 1)

    def upper_bound(self, oracle: Oracle, delta: float) -> float:
        """The ``1 - delta`` upper bound of ``expr`` (each needed base event at ``delta / n_events``).

        NaN propagates through every operation, so a NaN base bound never turns into a pass.
        """
        value = self.expr.bound("upper", oracle, delta / self.n_events)
        return float(value) if not math.isnan(value) else math.nan

    def pieces(self, oracle: Oracle, delta: float) -> list[float]:
        """Smooth pieces whose maximum is the upper bound (splits a top-level ``abs``/``max``).

        Gradient-based candidate search treats each piece as its own inequality.
        """
        d = delta / self.n_events
        return [float(p) for p in _pieces(self.expr, oracle, d)]


def _pieces(expr: Expr, oracle: Oracle, delta: float) -> list[float]:
    if isinstance(expr, Abs):
        return [expr.a.bound("upper", oracle, delta), -expr.a.bound("lower", oracle, delta)]
    if isinstance(expr, Max):
        return _pieces(expr.a, oracle, delta) + _pieces(expr.b, oracle, delta)
    return [expr.bound("upper", oracle, delta)]


def weights_of(data: Data, n: int) -> np.ndarray:
    """Frequency weights of ``data`` (ones when it has no ``sample_weight``), shape ``(n,)``."""
    if WEIGHT_KEY not in data:
        return np.ones(n)
    w = np.asarray(data[WEIGHT_KEY], dtype=float)
    if w.shape != (n,):
        raise InputDataError(f"{WEIGHT_KEY!r} must have shape ({n},). Got {w.shape} instead.")
    return w


# ----------------------------------------------------------------------------- common constraints


def _eq(key: str, value: Any) -> Selector:
    def select(data: Data) -> np.ndarray:
        if key not in data:
            raise InputDataError(f"The data has no {key!r} column (needed by a constraint).")
        # Any hashable label: strings, tuples, None, mixed types (numpy alone would mangle these).
        return equal_mask(data[key], value)

    return select


def _and(*selectors: Selector) -> Selector:
    def select(data: Data) -> np.ndarray:
        out = np.asarray(selectors[0](data), dtype=bool)
        for s in selectors[1:]:
            out = out & np.asarray(s(data), dtype=bool)
        return out

    return select


def positive_rate(group: str | None = None, value: Any = 1, label: str | None = None,
                  label_value: Any = 0, name: str | None = None) -> Mean:
    """Mean prediction (a positive rate for 0/1 predictions) in a group, optionally within a label.

    Args:
        group: Data key of the group column; ``None`` for all rows.
        value: The group's value in that column.
        label: Data key of the true label to condition on (e.g. ``"y"`` for a false-positive rate).
        label_value: Which label value to condition on (0: negatives).
        name: Display name.
    """
    selectors = []
    if group is not None:
        selectors.append(_eq(group, value))
    if label is not None:
        selectors.append(_eq(label, label_value))
    where = None if not selectors else (selectors[0] if len(selectors) == 1 else _and(*selectors))
    if name is None:
        parts = ([f"{group}={value}"] if group else []) + ([f"{label}={label_value}"] if label else [])
        name = "P(yhat=1" + (" | " + ", ".join(parts) if parts else "") + ")"
    return Mean(name, None, where, 0.0, 1.0)


def mean_cost(threshold: float, statistic: Statistic | None = None, low: float | None = None,
              high: float | None = None, where: Selector | None = None, name: str = "mean cost",
              delta: float | None = None) -> Constraint:
    """``E[cost] <= threshold`` for a per-sample cost (the HC-RLHF constraint).

    Args:
        threshold: Largest acceptable mean cost (``tau``).
        statistic: ``(predictions, data) -> (n,)`` costs; ``None`` uses the predictions as costs.
        low, high: Known range of one cost (needed for Hoeffding).
        where: Optional row selector.
        name: Display name.
        delta: Optional per-constraint miscoverage.
    """
    return Constraint(Mean(name, statistic, where, low, high), threshold, name, delta)


def demographic_parity(epsilon: float, group: str = "group", groups: Sequence[Any] = (0, 1),
                       delta: float | None = None) -> Constraint:
    """``|P(yhat=1 | g=a) - P(yhat=1 | g=b)| <= epsilon`` for predictions in [0, 1].

    Args:
        epsilon: Largest acceptable gap in positive rates.
        group: Data key of the group column.
        groups: The two group values ``(a, b)``: any hashable labels (``("F", "M")``, tuples, ``None``).
        delta: Optional per-constraint miscoverage.
    """
    a, b = _two(groups)
    expr = abs(positive_rate(group, a) - positive_rate(group, b))
    return Constraint(expr, epsilon, f"demographic parity gap ({group})", delta)


def false_positive_rate_gap(epsilon: float, group: str = "group", label: str = "y",
                            groups: Sequence[Any] = (0, 1), delta: float | None = None) -> Constraint:
    """``|P(yhat=1 | g=a, y=0) - P(yhat=1 | g=b, y=0)| <= epsilon`` (predictive equality).

    Args:
        epsilon: Largest acceptable gap in false-positive rates.
        group: Data key of the group column.
        label: Data key of the true 0/1 label.
        groups: The two group values ``(a, b)``.
        delta: Optional per-constraint miscoverage.
    """
    a, b = _two(groups)
    expr = abs(positive_rate(group, a, label, 0) - positive_rate(group, b, label, 0))
    return Constraint(expr, epsilon, f"false-positive rate gap ({group})", delta)


def _two(groups: Sequence[Any]) -> tuple[Any, Any]:
    g = list(groups)
    if len(g) != 2 or g[0] == g[1]:
        raise InputDataError(f"A gap constraint compares two distinct groups. Got {groups!r} instead.")
    return g[0], g[1]
