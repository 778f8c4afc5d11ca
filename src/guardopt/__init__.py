"""guardopt: optimization under uncertainty that stays safe.

Optimism to explore, pessimism to stay inside constraints, and a high-confidence test before
anything is released. Importing guardopt is cheap and quiet: it never imports torch, pandas, ray or
dask, and never touches global random state.
"""

from guardopt.core import (
    Choice,
    GuardoptError,
    HyperbandPruner,
    InputDataError,
    InsufficientDataError,
    Integer,
    InvalidParameterError,
    MedianPruner,
    Observation,
    Optimizer,
    ProblemSpec,
    RandomSearch,
    Real,
    RunningTrial,
    Space,
    StopAtValue,
    StopOnPlateau,
    Study,
    SuccessiveHalvingPruner,
    TimeBudget,
    Trial,
    TrialPruned,
    TrialsFailedError,
    TrialState,
    UnsupportedError,
)

__version__ = "0.1.0"

# No handler is attached to the "guardopt" logger: with logging unconfigured, Python's last-resort
# handler prints WARNING and above (a failed trial, a resumed study) to stderr, and nothing else.

__all__ = [
    "Choice",
    "GuardoptError",
    "HyperbandPruner",
    "InputDataError",
    "InsufficientDataError",
    "Integer",
    "InvalidParameterError",
    "MedianPruner",
    "Observation",
    "Optimizer",
    "ProblemSpec",
    "RandomSearch",
    "Real",
    "RunningTrial",
    "Space",
    "StopAtValue",
    "StopOnPlateau",
    "Study",
    "SuccessiveHalvingPruner",
    "TimeBudget",
    "Trial",
    "TrialPruned",
    "TrialState",
    "TrialsFailedError",
    "UnsupportedError",
    "__version__",
]
