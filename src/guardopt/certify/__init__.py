"""guardopt.certify: release a solution only when a high-confidence test says its constraints hold.

The Seldonian two-step (Thomas et al., 2019; HC-RLHF, Chittepu et al., 2025): select a candidate on
one part of the data under a *predicted* pessimistic bound, then test it on held-out data and
return `NoSolutionFound` when an upper confidence bound exceeds its threshold.

`EstimatorModel` certifies any scikit-learn classifier; `certifiable_gap` / `minimum_n` say before a
run how small a gap the test can certify at a sample size; `Certified.trivial` flags a certificate
of a model that approves everyone or nobody.
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
from guardopt.certify.estimators import EstimatorModel
from guardopt.certify.logistic import LogisticRegression
from guardopt.certify.models import CallableModel, CertifiableModel, ClassifierModel, ThresholdDecision
from guardopt.certify.planning import certifiable_gap, minimum_n
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
    "EstimatorModel",
    "Expr",
    "LogisticRegression",
    "Mean",
    "NoSolutionFound",
    "NoSolutionFoundError",
    "Seldonian",
    "SeldonianResult",
    "ThresholdDecision",
    "certifiable_gap",
    "demographic_parity",
    "false_positive_rate_gap",
    "maximum",
    "mean_cost",
    "minimum_n",
    "positive_rate",
]
