"""Layer 3: guards — optimistic and pessimistic scores, feasibility, risk measures, safety tests."""

from guardopt.guards.safety import Verdict, safety_test
from guardopt.guards.scores import (
    cvar,
    feasible,
    mixed_var,
    optimistic,
    pessimistic,
    uncertainty_weighted,
    value_at_risk,
    worst_case,
)

__all__ = [
    "Verdict",
    "cvar",
    "feasible",
    "mixed_var",
    "optimistic",
    "pessimistic",
    "safety_test",
    "uncertainty_weighted",
    "value_at_risk",
    "worst_case",
]
