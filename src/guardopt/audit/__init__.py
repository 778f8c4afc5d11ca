"""guardopt.audit: what a single "best" model hides.

* Predictive multiplicity (Watson-Daniels, Parkes and Ustun, AAAI 2023): viable prediction ranges of
  logistic regression over the ε-level set of near-optimal models, by two convex programs per point
  (`viable_prediction_ranges`), ambiguity and a discrepancy bound, and the sampling baseline
  (`sampled_ranges`).
* Plural responsible-AI metrics (Dai and Xiao, 2025, "Embracing Contradiction"): `MetricSuite` keeps
  fairness and performance metrics side by side with per-metric thresholds, measures their conflicts,
  checks by linear program whether thresholds can be met together (`fair_postprocess`,
  `calibration_error_rate_gap`) and sweeps the accuracy they cost.

cvxpy is needed by the programs (the optional ``audit`` extra) and is imported only when one runs.
"""

from guardopt.audit.feasibility import (
    CalibrationGapResult,
    PostProcessConfig,
    PostProcessResult,
    calibration_error_rate_gap,
    fair_postprocess,
)
from guardopt.audit.metrics import (
    METRICS,
    accuracy,
    calibration_gap,
    demographic_parity_difference,
    equal_opportunity_difference,
    equalized_odds_difference,
    false_negative_rate_difference,
    false_positive_rate_difference,
    group_rates,
    predictive_parity_difference,
)
from guardopt.audit.multiplicity import (
    LevelSet,
    MultiplicityConfig,
    PredictionRanges,
    SampledRanges,
    SamplingConfig,
    ambiguity,
    discrepancy_bound,
    sampled_ranges,
    viable_prediction_ranges,
)
from guardopt.audit.suite import MetricSuite, SuiteReport

__all__ = [
    "METRICS",
    "CalibrationGapResult",
    "LevelSet",
    "MetricSuite",
    "MultiplicityConfig",
    "PostProcessConfig",
    "PostProcessResult",
    "PredictionRanges",
    "SampledRanges",
    "SamplingConfig",
    "SuiteReport",
    "accuracy",
    "ambiguity",
    "calibration_error_rate_gap",
    "calibration_gap",
    "demographic_parity_difference",
    "discrepancy_bound",
    "equal_opportunity_difference",
    "equalized_odds_difference",
    "fair_postprocess",
    "false_negative_rate_difference",
    "false_positive_rate_difference",
    "group_rates",
    "predictive_parity_difference",
    "sampled_ranges",
    "viable_prediction_ranges",
]
