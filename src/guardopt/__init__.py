"""guardopt: optimization under uncertainty that stays safe.

Optimism to explore, pessimism to stay inside constraints, and a high-confidence test before
anything is released. Importing guardopt is cheap and quiet: it never imports torch, pandas, ray or
dask, and never touches global random state.
"""

import logging

from guardopt.core import (
    Choice,
    GuardoptError,
    InputDataError,
    InsufficientDataError,
    Integer,
    InvalidParameterError,
    Observation,
    Optimizer,
    ProblemSpec,
    RandomSearch,
    Real,
    Space,
    Study,
    Trial,
    TrialState,
    UnsupportedError,
)

__version__ = "0.1.0"

logging.getLogger("guardopt").addHandler(logging.NullHandler())

__all__ = [
    "Choice",
    "GuardoptError",
    "InputDataError",
    "InsufficientDataError",
    "Integer",
    "InvalidParameterError",
    "Observation",
    "Optimizer",
    "ProblemSpec",
    "RandomSearch",
    "Real",
    "Space",
    "Study",
    "Trial",
    "TrialState",
    "UnsupportedError",
    "__version__",
]
