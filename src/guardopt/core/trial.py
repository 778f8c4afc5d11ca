"""The record of one evaluation, and what an objective may return."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

#: How the failure reason of a trial cut short by a crash or an interrupt begins (see `Trial.interrupted`).
INTERRUPTED_PREFIX = "interrupted:"


class TrialState(str, enum.Enum):
    """Lifecycle of a trial: asked (RUNNING), then COMPLETE, FAILED or PRUNED.

    PRUNED: a pruner stopped the trial early on its intermediate values; it has no final value,
    its intermediate values are kept, and it is neither a failure nor a candidate for `Study.best`.
    """

    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    PRUNED = "PRUNED"


@dataclass(frozen=True)
class Observation:
    """What an evaluation measured: the objective value and one value per declared constraint.

    ``value`` is a float, or for a multi-objective study a sequence with one value per objective.
    """

    value: Any
    constraints: Mapping[str, float] = field(default_factory=dict)
    user_attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Trial:
    """A frozen record of one trial.

    Attributes:
        number: Position in the study, unique, from 0.
        params: The parameters evaluated.
        state: RUNNING, COMPLETE or FAILED.
        value: The objective value (None unless COMPLETE; None in a multi-objective study).
        constraints: Measured constraint values by name (raw values, not residuals).
        failure_reason: Why the trial FAILED (an exception's text, a NaN value, ...).
        datetime_start, datetime_complete: Wall-clock times.
        user_attrs: Free-form attributes the objective returned.
        context: Context the trial was asked with (e.g. an instance feature for contextual bandits).
        intermediate_values: Values reported during the trial (``step -> value``, e.g. the
            validation loss after each epoch), the input of pruners.
        values: A multi-objective study's objective values, one per objective in the study's
            order (None unless COMPLETE, and None in a single-objective study).
    """

    number: int
    params: Mapping[str, Any]
    state: TrialState = TrialState.RUNNING
    value: float | None = None
    constraints: Mapping[str, float] = field(default_factory=dict)
    failure_reason: str | None = None
    datetime_start: datetime | None = None
    datetime_complete: datetime | None = None
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] | None = None
    intermediate_values: Mapping[int, float] = field(default_factory=dict)
    values: tuple[float, ...] | None = None

    @property
    def last_step(self) -> int | None:
        """The largest step reported so far, or None."""
        return max(self.intermediate_values) if self.intermediate_values else None

    @property
    def duration(self) -> float | None:
        """Seconds between start and completion, or None while running."""
        if self.datetime_start is None or self.datetime_complete is None:
            return None
        return (self.datetime_complete - self.datetime_start).total_seconds()

    @property
    def interrupted(self) -> bool:
        """True for a FAILED trial that never got a result (its process died or was interrupted).

        Such trials say nothing about the objective; ``Study.optimize(until=...)`` does not count
        them toward its total.
        """
        return self.state is TrialState.FAILED and (self.failure_reason or "").startswith(INTERRUPTED_PREFIX)

    def finished(self, **changes: Any) -> Trial:
        """A copy with ``changes`` applied and the completion time set."""
        return replace(self, datetime_complete=datetime.now(), **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable form (datetimes as ISO strings)."""
        return {
            "number": self.number,
            "params": dict(self.params),
            "state": self.state.value,
            "value": self.value,
            "constraints": dict(self.constraints),
            "failure_reason": self.failure_reason,
            "datetime_start": self.datetime_start.isoformat() if self.datetime_start else None,
            "datetime_complete": self.datetime_complete.isoformat() if self.datetime_complete else None,
            "user_attrs": dict(self.user_attrs),
            "context": dict(self.context) if self.context is not None else None,
            # JSON object keys are strings; `from_dict` turns them back into ints.
            "intermediate_values": {str(k): v for k, v in sorted(self.intermediate_values.items())},
            # Written only for multi-objective trials: a single-objective record keeps its old form.
            **({"values": list(self.values)} if self.values is not None else {}),
        }

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Trial:
        """Inverse of `to_dict`."""
        return Trial(
            number=int(d["number"]),
            params=dict(d["params"]),
            state=TrialState(d["state"]),
            value=None if d.get("value") is None else float(d["value"]),
            constraints={k: float(v) for k, v in (d.get("constraints") or {}).items()},
            failure_reason=d.get("failure_reason"),
            datetime_start=_parse_dt(d.get("datetime_start")),
            datetime_complete=_parse_dt(d.get("datetime_complete")),
            user_attrs=dict(d.get("user_attrs") or {}),
            context=d.get("context"),
            intermediate_values={int(k): float(v) for k, v in (d.get("intermediate_values") or {}).items()},
            values=None if d.get("values") is None else tuple(float(v) for v in d["values"]),
        )


def _parse_dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def is_finite_number(x: Any) -> bool:
    """True for a real number that is neither NaN nor infinite (bools and strings excluded)."""
    if isinstance(x, (bool, str, bytes)):
        return False
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond float64
        return False
