"""Layer 1: spaces, trials, studies, optimizers, storages, executors, seeding and errors."""

from guardopt.core.callbacks import StopAtValue, StopOnPlateau, TimeBudget
from guardopt.core.define_by_run import RunningTrial, TrialPruned
from guardopt.core.errors import (
    GuardoptError,
    InputDataError,
    InsufficientDataError,
    InvalidParameterError,
    StorageError,
    UnsupportedError,
    check_bool,
    check_choice,
    check_in_range,
    check_int,
)
from guardopt.core.executors import make_executor
from guardopt.core.optimizer import Optimizer, OptimizerBase, RandomSearch
from guardopt.core.problem import ProblemSpec
from guardopt.core.pruners import HyperbandPruner, MedianPruner, SuccessiveHalvingPruner
from guardopt.core.seeding import derive_seed, make_rng
from guardopt.core.space import Choice, Integer, Params, Real, Space
from guardopt.core.storage import InMemoryStorage, SQLiteStorage, Storage, make_storage
from guardopt.core.study import Study, TrialsFailedError
from guardopt.core.trial import Observation, Trial, TrialState

__all__ = [
    "Choice",
    "GuardoptError",
    "HyperbandPruner",
    "InMemoryStorage",
    "InputDataError",
    "InsufficientDataError",
    "Integer",
    "InvalidParameterError",
    "MedianPruner",
    "Observation",
    "Optimizer",
    "OptimizerBase",
    "Params",
    "ProblemSpec",
    "RandomSearch",
    "Real",
    "RunningTrial",
    "SQLiteStorage",
    "Space",
    "StopAtValue",
    "StopOnPlateau",
    "Storage",
    "StorageError",
    "Study",
    "SuccessiveHalvingPruner",
    "TimeBudget",
    "Trial",
    "TrialPruned",
    "TrialState",
    "TrialsFailedError",
    "UnsupportedError",
    "check_bool",
    "check_choice",
    "check_in_range",
    "check_int",
    "derive_seed",
    "make_executor",
    "make_rng",
    "make_storage",
]
