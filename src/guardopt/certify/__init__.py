"""guardopt.certify: release a solution only when a high-confidence test says its constraints hold.

The Seldonian two-step (Thomas et al., 2019; HC-RLHF, Chittepu et al., 2025): select a candidate on
one part of the data under a *predicted* pessimistic bound, then test it on held-out data and
return `NoSolutionFound` when an upper confidence bound exceeds its threshold.
"""

from guardopt.certify.constraints import (
    Constraint,
    Expr,
    Mean,
    demographic_parity,
    false_positive_rate_gap,
    maximum,
    mean_cost,
    positive_rate,
)
from guardopt.certify.logistic import LogisticRegression
from guardopt.certify.models import CallableModel, CertifiableModel, ClassifierModel, ThresholdDecision
from guardopt.certify.seldonian import (
    BoundReport,
    Candidate,
    Certified,
    NoSolutionFound,
    NoSolutionFoundError,
    Seldonian,
    SeldonianResult,
)

__all__ = [
    "BoundReport",
    "CallableModel",
    "Candidate",
    "CertifiableModel",
    "Certified",
    "ClassifierModel",
    "Constraint",
    "Expr",
    "LogisticRegression",
    "Mean",
    "NoSolutionFound",
    "NoSolutionFoundError",
    "Seldonian",
    "SeldonianResult",
    "ThresholdDecision",
    "demographic_parity",
    "false_positive_rate_gap",
    "maximum",
    "mean_cost",
    "positive_rate",
]
