"""What an optimizer is told about the problem: the space, the direction and the constraints."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from guardopt.core.errors import InvalidParameterError
from guardopt.core.space import Space
from guardopt.core.trial import Trial, TrialState, is_finite_number

Direction = Literal["minimize", "maximize"]
ConstraintSpec = tuple[Literal["<=", ">="], float]


@dataclass(frozen=True)
class ProblemSpec:
    """The space, the direction and the named outcome constraints of a study.

    A constraint ``{"latency_ms": ("<=", 50.0)}`` is satisfied when the measured value is at most
    50. Optimizers see constraints as *residuals*: ``value - 50`` for ``<=`` and ``50 - value`` for
    ``>=``, so that a residual ``<= 0`` means satisfied. A missing or NaN constraint value gives a
    residual of ``+inf`` (fail closed).
    """

    space: Space
    direction: Direction = "minimize"
    constraints: Mapping[str, ConstraintSpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.direction not in ("minimize", "maximize"):
            raise InvalidParameterError("direction", "Study", "'minimize' or 'maximize'", self.direction)
        checked: dict[str, ConstraintSpec] = {}
        if not isinstance(self.constraints, Mapping):
            raise InvalidParameterError("constraints", "Study", "a mapping of name -> (op, threshold)",
                                        self.constraints)
        for name, spec in dict(self.constraints).items():
            # Names are JSON object keys in a storage: a non-string name would come back as a string
            # after Study.load, so the live and the reloaded study would disagree.
            if not isinstance(name, str) or not name:
                raise InvalidParameterError("constraints", "Study", "names that are non-empty strings", name)
            if name == "value":
                raise InvalidParameterError("constraints", "Study", "names other than 'value'", name)
            ok = isinstance(spec, (tuple, list)) and len(spec) == 2 and spec[0] in ("<=", ">=")
            if not ok or isinstance(spec[1], bool) or not is_finite_number(spec[1]) or not isinstance(
                spec[1], (int, float)
            ):
                raise InvalidParameterError(
                    f"constraints[{name!r}]", "Study", "a pair ('<=' or '>=', finite threshold)", spec
                )
            checked[name] = (spec[0], float(spec[1]))
        object.__setattr__(self, "constraints", checked)

    @property
    def constraint_names(self) -> list[str]:
        return list(self.constraints)

    @property
    def sign(self) -> float:
        """+1 when minimizing, -1 when maximizing: ``loss = sign * value``."""
        return 1.0 if self.direction == "minimize" else -1.0

    def loss(self, trial: Trial) -> float:
        """The objective in minimization form; NaN for a trial that did not complete."""
        if trial.state is not TrialState.COMPLETE or trial.value is None:
            return math.nan
        return self.sign * float(trial.value)

    def residual(self, name: str, value: float | None) -> float:
        """Residual of one constraint value (``<= 0`` satisfied; missing or NaN -> ``+inf``)."""
        op, threshold = self.constraints[name]
        if value is None or not math.isfinite(float(value)):
            return math.inf
        return float(value) - threshold if op == "<=" else threshold - float(value)

    def residuals(self, trial: Trial) -> np.ndarray:
        """Residuals of every declared constraint for a trial, shape ``(n_constraints,)``."""
        return np.array([self.residual(n, trial.constraints.get(n)) for n in self.constraints], dtype=float)

    def is_feasible(self, trial: Trial) -> bool:
        """Whether a completed trial satisfied every declared constraint as measured."""
        return trial.state is TrialState.COMPLETE and bool(np.all(self.residuals(trial) <= 0.0))

    def to_dict(self) -> dict[str, object]:
        return {
            "space": self.space.to_dict(),
            "direction": self.direction,
            "constraints": {k: list(v) for k, v in self.constraints.items()},
        }

    @staticmethod
    def from_dict(d: Mapping[str, object]) -> ProblemSpec:
        """Inverse of `to_dict`.

        Raises:
            InvalidParameterError: ``d`` is not such a description (naming the entry).
        """
        if not isinstance(d, Mapping) or "space" not in d:
            raise InvalidParameterError("d", "ProblemSpec.from_dict", "a mapping with 'space' and 'direction'", d)
        cons = d.get("constraints") or {}
        if not isinstance(cons, Mapping) or not all(isinstance(v, (list, tuple)) and len(v) == 2
                                                    for v in cons.values()):
            raise InvalidParameterError("constraints", "ProblemSpec.from_dict",
                                        "a mapping of name -> [op, threshold]", cons)
        return ProblemSpec(
            Space.from_dict(d["space"]),  # type: ignore[arg-type]
            d.get("direction"),  # type: ignore[arg-type]
            {k: (v[0], v[1]) for k, v in cons.items()},
        )


def meets_constraints(trial: Trial, constraints: Mapping[str, tuple[str, float]]) -> bool:
    """Whether ``trial`` is COMPLETE with every constraint in ``constraints`` measured, finite and satisfied.

    The fail-closed reading of a stored study's constraint declarations (name -> (op, limit), op
    ``"<="`` or ``">="``) for code that has the declarations but no `ProblemSpec`, such as the CLI's
    table and the dashboard: a missing or non-finite value is a violation.
    """
    if trial.state is not TrialState.COMPLETE:
        return False
    for name, (op, limit) in constraints.items():
        v = trial.constraints.get(name)
        if v is None or not math.isfinite(v) or not (v <= limit if op == "<=" else v >= limit):
            return False
    return True
