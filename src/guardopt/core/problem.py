"""What an optimizer is told about the problem: the space, the direction and the constraints."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from guardopt.core.errors import InvalidParameterError, UnsupportedError
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

    A multi-objective problem gives ``directions`` (two or more entries); its trials carry
    `Trial.values` and `losses` replaces `loss` (which then raises). ``direction`` is then the
    first entry. A single-entry ``directions`` is a single-objective problem.
    """

    space: Space
    direction: Direction = "minimize"
    constraints: Mapping[str, ConstraintSpec] = field(default_factory=dict)
    directions: tuple[Direction, ...] | None = None

    def __post_init__(self) -> None:
        if self.directions is not None:
            dirs = self.directions
            if isinstance(dirs, str) or not isinstance(dirs, (list, tuple)) or len(dirs) == 0 \
                    or any(d not in ("minimize", "maximize") for d in dirs):
                raise InvalidParameterError("directions", "Study", "None or a non-empty list of 'minimize' / "
                                            "'maximize'", dirs)
            object.__setattr__(self, "direction", dirs[0])
            object.__setattr__(self, "directions", tuple(dirs) if len(dirs) > 1 else None)
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

    @property
    def n_objectives(self) -> int:
        """How many objectives (1 unless ``directions`` has two or more entries)."""
        return 1 if self.directions is None else len(self.directions)

    @property
    def is_multi_objective(self) -> bool:
        return self.directions is not None

    @property
    def signs(self) -> np.ndarray:
        """Per objective +1 (minimize) or -1 (maximize), shape ``(n_objectives,)``."""
        dirs = self.directions if self.directions is not None else (self.direction,)
        return np.array([1.0 if d == "minimize" else -1.0 for d in dirs])

    def loss(self, trial: Trial) -> float:
        """The objective in minimization form; NaN for a trial that did not complete.

        Raises:
            UnsupportedError: the problem has several objectives (use `losses`).
        """
        if self.directions is not None:
            raise UnsupportedError(f"This problem has {len(self.directions)} objectives {list(self.directions)}: "
                                   "a single loss is undefined; use losses(trial) (an optimizer for one objective "
                                   "cannot run it; use guardopt.bo.multiobjective.MultiObjectiveGP or RandomSearch).")
        if trial.state is not TrialState.COMPLETE or trial.value is None:
            return math.nan
        return self.sign * float(trial.value)

    def losses(self, trial: Trial) -> np.ndarray:
        """Every objective in minimization form, shape ``(n_objectives,)``; NaN for a trial that did not complete.

        On a single-objective problem this is ``[loss(trial)]``.
        """
        k = self.n_objectives
        if trial.state is not TrialState.COMPLETE:
            return np.full(k, math.nan)
        if self.directions is None:
            return np.array([self.loss(trial)])
        if trial.values is None or len(trial.values) != k:
            return np.full(k, math.nan)
        return self.signs * np.asarray(trial.values, dtype=float)

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
        out: dict[str, object] = {
            "space": self.space.to_dict(),
            "direction": self.direction,
            "constraints": {k: list(v) for k, v in self.constraints.items()},
        }
        if self.directions is not None:  # absent for one objective: old stored specs stay equal
            out["directions"] = list(self.directions)
        return out

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
        dirs = d.get("directions")
        return ProblemSpec(
            Space.from_dict(d["space"]),  # type: ignore[arg-type]
            d.get("direction"),  # type: ignore[arg-type]
            {k: (v[0], v[1]) for k, v in cons.items()},
            tuple(dirs) if isinstance(dirs, (list, tuple)) else None,
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
