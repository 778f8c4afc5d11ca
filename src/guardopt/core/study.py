"""`Study`: ask/tell over a stored set of trials, with `optimize` on top.

The study owns the bookkeeping (trial numbers, storage, validation of what an objective returns) and
drives an `Optimizer`. It never lets a bad value through silently: a NaN or infinite objective
makes the trial FAILED with its reason, and a missing constraint value counts as a violation.

Failures are loud: every FAILED trial is logged as a warning on the ``guardopt`` logger with its
exception, and `optimize` raises `TrialsFailedError` (the first exception chained) when the first
``max_initial_failures`` trials of a call all failed, the sign of an objective that can never work
(a typo, an Optuna objective given a dict). Nothing is logged while nothing goes wrong.

Objectives take either form (see `guardopt.core.define_by_run`): ``params -> value`` on a declared
space, or Optuna's ``trial -> value`` with ``trial.suggest_*`` calls, which may also define the
space as they go (``Study(space=None)``). Trials can report intermediate values that a pruner
(`guardopt.core.pruners`) uses to stop them early (state PRUNED); callbacks and stop rules
(`guardopt.core.callbacks`) run after each trial; `enqueue` and `add_trial` warm-start a study.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from guardopt.core.define_by_run import Evaluation, RunningTrial, evaluate, infer_space, is_pruned, same_domain
from guardopt.core.errors import (
    GuardoptError,
    InputDataError,
    InsufficientDataError,
    InvalidParameterError,
    UnsupportedError,
    check_bool,
    check_int,
)
from guardopt.core.executors import make_executor
from guardopt.core.optimizer import Optimizer, RandomSearch
from guardopt.core.problem import ConstraintSpec, Direction, ProblemSpec
from guardopt.core.space import Integer, Parameter, Params, Real, Space
from guardopt.core.storage import InMemoryStorage, Storage, dumps, make_storage
from guardopt.core.trial import INTERRUPTED_PREFIX, Observation, Trial, TrialState, is_finite_number

if TYPE_CHECKING:
    import pandas as pd

    from guardopt.core.callbacks import Callback
    from guardopt.core.pruners import Pruner

logger = logging.getLogger("guardopt")

Guard = Literal["none", "pessimistic", "optimistic"]
Objective = Callable[..., Any]
# Loss and feasibility do not depend on the space: a study whose objective defines its space uses
# this stand-in until the first parameter is seen. It is never stored nor given to an optimizer.
_NO_SPACE = Space({"_": Real(0.0, 1.0)})
_resume_quietly = threading.local()


class TrialsFailedError(GuardoptError, RuntimeError):
    """The first trials of a `Study.optimize` call all FAILED: the objective most likely cannot work.

    The first trial's exception is chained (``__cause__``), with its traceback.

    Attributes:
        trials: The failed trials.
    """

    def __init__(self, message: str, trials: Sequence[Trial]) -> None:
        super().__init__(message)
        self.trials = list(trials)


class Study:
    """A named optimization study: a space, a direction, outcome constraints and an optimizer.

    Args:
        space: The search space, or None to let a suggest-style objective define it as it runs
            (each ``trial.suggest_*`` call adds its parameter; parameters seen in only some trials
            become conditional, see `guardopt.core.define_by_run.infer_space`).
        name: The study's name (needed to resume from a persistent storage).
        direction: ``"minimize"`` (the default) or ``"maximize"``.
        directions: For a multi-objective study, one ``"minimize"`` / ``"maximize"`` per objective
            (give ``direction`` or ``directions``, not both). Its objective returns a sequence of
            values (or a mapping with ``"values"`` and the constraints); trials carry
            `Trial.values`; `pareto_front` replaces `best` (``best_*`` raise). See
            ``docs/multiobjective.md``.
        constraints: Named outcome constraints, e.g. ``{"latency_ms": ("<=", 50.0)}``.
        optimizer: The online method that asks parameters (default: `RandomSearch`).
        storage: None (in memory), a `Storage`, or ``"sqlite:///path.db"``.
        pruner: Decides `RunningTrial.should_prune` from reported intermediate values (default:
            never prune). See `guardopt.core.pruners`.
        load_if_exists: What to do when the storage already holds a study of this name: True (the
            default) resumes it (its finished trials are told to the optimizer; a warning says so
            when it has trials); False raises `InvalidParameterError` naming ``name``. A stored
            study with a different problem is refused either way.

    Example:
        >>> import guardopt as go
        >>> space = go.Space({"x": go.Real(-5, 5)})
        >>> study = go.Study(space, optimizer=go.RandomSearch(seed=0))
        >>> study.optimize(lambda p: (p["x"] - 1) ** 2, n_trials=20)
        >>> study.best_value < 1.0
        True
    """

    def __init__(
        self,
        space: Space | None = None,
        name: str | None = None,
        direction: Direction | None = None,
        constraints: Mapping[str, ConstraintSpec] | None = None,
        optimizer: Optimizer | None = None,
        storage: Storage | str | None = None,
        *,
        pruner: Pruner | None = None,
        load_if_exists: bool = True,
        directions: Sequence[Direction] | None = None,
    ) -> None:
        if space is not None and not isinstance(space, Space):
            raise InvalidParameterError("space", "Study", "a guardopt Space or None", space)
        if name is not None and (not isinstance(name, str) or not name):
            raise InvalidParameterError("name", "Study", "a non-empty string or None", name)
        check_bool(load_if_exists, "load_if_exists", "Study")
        if pruner is not None and (not callable(getattr(pruner, "prune", None)) or not _takes_args(pruner.prune, 3)):
            hint = (" (Optuna's pruners prune(study, trial) need an Optuna study: use the same-named ones of "
                    "guardopt.core.pruners)") if type(pruner).__module__.startswith("optuna") else ""
            raise InvalidParameterError("pruner", "Study", "None or an object with prune(trial, trials, direction)"
                                        + hint, pruner)
        if direction is not None and directions is not None:
            raise InvalidParameterError("directions", "Study", "None when 'direction' is given (pass one of the two)",
                                        directions)
        if directions is not None and (isinstance(directions, str) or not isinstance(directions, Sequence)):
            raise InvalidParameterError("directions", "Study", "None or a list of 'minimize' / 'maximize'",
                                        directions)
        self._goal = ProblemSpec(space if space is not None else _NO_SPACE, direction or "minimize",
                                 dict(constraints or {}), tuple(directions) if directions is not None else None)
        self._declared: Space | None = space
        # A random suffix: two unnamed studies in one storage must never resume each other.
        self.name = name or f"study-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self.storage = make_storage(storage)
        self.pruner = pruner
        optimizer = optimizer if optimizer is not None else RandomSearch()
        for method in ("setup", "ask", "tell"):
            if not callable(getattr(optimizer, method, None)):
                raise InvalidParameterError("optimizer", "Study", "an object with setup/ask/tell", optimizer)
        # A study whose space grows rebuilds its optimizer from this untouched copy.
        self._template: Optimizer | None = copy.deepcopy(optimizer) if space is None else None
        self.optimizer: Optimizer = optimizer
        seed = getattr(optimizer, "seed", None)
        self._seed = int(seed) if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0 \
            else int(np.random.default_rng().integers(2**62))
        try:
            given = _normalize(self._spec_dict())
        except TypeError as exc:
            raise InvalidParameterError(
                "space", "Study", "Choice options that are JSON values (str, int, float, bool or None)",
                str(exc)) from exc
        existed = self.storage.get_spec(self.name) is not None
        if existed and not load_if_exists:
            raise InvalidParameterError(
                "name", "Study", f"a study name not yet in {self.storage!r} (load_if_exists=False); pass "
                "load_if_exists=True to resume it, or choose another name", self.name)
        stored = self.storage.create_or_get(self.name, given)
        self._check_stored(stored, given)
        # One study object may be driven from several threads; the optimizer need not be thread-safe.
        self._lock = threading.RLock()
        # Trials below the watermark are all finished and told; `_told` holds told numbers above it.
        self._watermark = 0
        self._told: set[int] = set()
        self._queue: list[Params] = []
        self._fixed: dict[int, Params] = {}
        self._stop = False
        self._traceback_logged = False
        # Define-by-run: every name's domain in first-seen order, and the space the optimizer sees.
        self._dists: dict[str, Parameter] = {}
        self._model: Space | None = space
        self._left_out: list[str] = []
        # Define-by-run: the finished trials told so far, by number (what the space is inferred from).
        self._seen: dict[int, Trial] = {}
        if space is None:
            self._merge_stored_space(stored)
            self._model, self._left_out = infer_space(self._dists, self.storage.trials(self.name))
        if self._model is not None:
            self.optimizer.setup(self._problem_of(self._model))
        # A trial left RUNNING by a process that died (kill -9, a crash) will never finish.
        for t in self.storage.fail_orphans(self.name):
            logger.info("Trial %d was interrupted: %s", t.number, t.failure_reason)
            if self.storage.retry_failed:
                self._queue.append(dict(t.params))
        self._sync()
        if existed:
            n = len(self.storage.trials(self.name))
            quiet = getattr(_resume_quietly, "on", False)
            log = logger.info if quiet or n == 0 else logger.warning
            log("Study %r resumes from %r: %d trials already stored (load_if_exists=True).",
                self.name, self.storage, n)

    # -- construction helpers -------------------------------------------------------------------

    def _spec_dict(self) -> dict[str, Any]:
        spec = self._goal.to_dict()
        if self._declared is None:
            spec["space"] = {}
            spec["space_from"] = "objective"
        return spec

    def _check_stored(self, stored: Mapping[str, Any], given: Mapping[str, Any]) -> None:
        keys = ("direction", "directions", "constraints") if self._declared is None else \
            ("space", "direction", "directions", "constraints")
        mismatch = [k for k in keys if stored.get(k) != given.get(k)]
        if stored.get("space_from") != given.get("space_from"):
            mismatch.insert(0, "space")
        if mismatch:
            key = mismatch[0]
            shown = "a space defined by its objective" if key == "space" and stored.get("space_from") else \
                repr(stored.get(key))
            raise InvalidParameterError(
                key, "Study",
                f"the {key} stored for study {self.name!r} ({shown}); use Study.load(name, storage) "
                "to resume it, or another name",
                None if key == "space" and self._declared is None else given.get(key),
            )

    def _merge_stored_space(self, stored: Mapping[str, Any]) -> None:
        data = stored.get("space") or {}
        if data:
            for name, p in Space.from_dict(data).params.items():
                self._dists.setdefault(name, p)

    def _problem_of(self, space: Space) -> ProblemSpec:
        return ProblemSpec(space, self._goal.direction, self._goal.constraints, self._goal.directions)

    @classmethod
    def load(cls, name: str, storage: Storage | str, optimizer: Optimizer | None = None, *,
             pruner: Pruner | None = None) -> Study:
        """Resume a stored study: its problem is read from the storage, its trials told to ``optimizer``."""
        store = make_storage(storage)
        spec = store.get_spec(name)
        if spec is None:
            raise InvalidParameterError("name", "Study.load", f"one of {store.study_names()}", name)
        if spec.get("space_from") == "objective":
            space = None
            dirs = spec.get("directions")
            problem = ProblemSpec(_NO_SPACE, spec.get("direction"),  # type: ignore[arg-type]
                                  {k: (v[0], v[1]) for k, v in (spec.get("constraints") or {}).items()},
                                  tuple(dirs) if isinstance(dirs, list) else None)
        else:
            problem = ProblemSpec.from_dict(spec)
            space = problem.space
        _resume_quietly.on = True
        try:
            one = problem.directions is None
            return cls(space, name=name, direction=problem.direction if one else None,
                       constraints=problem.constraints, optimizer=optimizer, storage=store, pruner=pruner,
                       directions=None if one else list(problem.directions or ()))
        finally:
            _resume_quietly.on = False

    # -- the problem ----------------------------------------------------------------------------

    @property
    def problem(self) -> ProblemSpec:
        """The space (as the optimizer sees it), the direction and the constraints.

        Raises:
            InsufficientDataError: the space is defined by the objective and no trial suggested a
                parameter yet.
        """
        if self._model is None:
            raise InsufficientDataError(f"Study {self.name!r} has no space yet: its objective defines it, and no "
                                        "trial has suggested a parameter.")
        return self._problem_of(self._model)

    @property
    def space(self) -> Space | None:
        """The declared space; for a study whose objective defines it, the space seen so far (or None)."""
        return self._model

    @property
    def direction(self) -> Direction:
        """``"minimize"`` or ``"maximize"``.

        Raises:
            UnsupportedError: a multi-objective study (read `directions`).
        """
        if self._goal.directions is not None:
            raise UnsupportedError(f"Study {self.name!r} has {self._goal.n_objectives} objectives: read "
                                   "study.directions instead of study.direction.")
        return self._goal.direction

    @property
    def directions(self) -> list[Direction]:
        """The direction of each objective (one entry for a single-objective study)."""
        return list(self._goal.directions) if self._goal.directions is not None else [self._goal.direction]

    @property
    def is_multi_objective(self) -> bool:
        return self._goal.directions is not None

    @property
    def constraints(self) -> Mapping[str, ConstraintSpec]:
        return self._goal.constraints

    @property
    def trials(self) -> list[Trial]:
        """Every trial in the storage (also those written by other processes), by number."""
        return self.storage.trials(self.name)

    @property
    def study_name(self) -> str:
        """Optuna's name for `name`."""
        return self.name

    def get_trials(self, deepcopy: bool = True, states: Iterable[TrialState | str] | None = None) -> list[Trial]:
        """Optuna's ``get_trials``: the trials, optionally only those in ``states`` (trials are immutable,
        so ``deepcopy`` changes nothing and is accepted for compatibility).

        Raises:
            InvalidParameterError: a state that is not a `TrialState` or its name.
        """
        check_bool(deepcopy, "deepcopy", "Study.get_trials")
        trials = self.trials
        if states is None:
            return trials
        if isinstance(states, (str, TrialState)) or not isinstance(states, Iterable):
            states = [states]
        wanted = set()
        for st in states:
            try:
                # Optuna's TrialState members and names are read too (its FAIL is our FAILED).
                key = str(getattr(st, "name", st)).upper()
                wanted.add(st if isinstance(st, TrialState) else TrialState("FAILED" if key == "FAIL" else key))
            except ValueError as exc:
                raise InvalidParameterError("states", "Study.get_trials", "TrialState values or their names "
                                            f"{[m.value for m in TrialState]}", st) from exc
        return [t for t in trials if t.state in wanted]

    # -- ask / tell -----------------------------------------------------------------------------

    def _sync(self) -> None:
        # Tell the optimizer, in number order, trials that finished elsewhere (another process, an
        # earlier run); reading from the watermark keeps this cheap for long studies.
        if self._declared is None:
            grown = len(self._dists)
            self._merge_stored_space(self.storage.get_spec(self.name) or {})
            if len(self._dists) != grown:
                self._refresh_model()
        new = [t for t in self.storage.trials(self.name, from_number=self._watermark)
               if t.state is not TrialState.RUNNING and not self._is_told(t.number)]
        if self._declared is None and new:
            # One re-inference for the whole batch (a resumed study may bring thousands of trials).
            self._told.update(t.number for t in new)
            self._seen.update((t.number, t) for t in new)
            if not self._refresh_model() and self._model is not None:
                for t in new:
                    self._tell_optimizer(t)
        else:
            for t in new:
                self._mark_told(t)
        while self._watermark in self._told:
            self._told.discard(self._watermark)
            self._watermark += 1

    def _is_told(self, number: int) -> bool:
        return number < self._watermark or number in self._told

    def _mark_told(self, trial: Trial) -> None:
        self._told.add(trial.number)
        if self._declared is None:
            self._seen[trial.number] = trial
            if self._refresh_model():
                return  # the rebuilt optimizer was told every finished trial, this one included
            if self._model is None:
                return
        self._tell_optimizer(trial)

    def _tell_optimizer(self, trial: Trial) -> None:
        if self._declared is None and self._model is not None:
            # The optimizer sees only the names of its space (a name no condition explains is left out).
            trial = replace(trial, params={k: v for k, v in trial.params.items() if k in self._model.params})
        self.optimizer.tell(trial)

    def _refresh_model(self) -> bool:
        """Re-infer a define-by-run study's space; on a change rebuild the optimizer. True if rebuilt."""
        finished = [self._seen[n] for n in sorted(self._seen)]
        model, left_out = infer_space(self._dists, finished)
        if model == self._model and left_out == self._left_out:
            return False
        self._model, self._left_out = model, left_out
        if model is None:
            return False
        assert self._template is not None
        self.optimizer = copy.deepcopy(self._template)
        self.optimizer.setup(self._problem_of(model))
        for t in finished:
            self._tell_optimizer(t)
        return True

    def enqueue(self, params: Mapping[str, Any], skip_if_exists: bool = False) -> None:
        """Evaluate ``params`` next (before anything the optimizer proposes); Optuna's ``enqueue_trial``.

        ``params`` may name only some parameters: the others come from the optimizer (or, for a
        suggest-style objective, from its suggest calls). The queue lives in this `Study` object.
        ``skip_if_exists=True`` enqueues nothing when a stored trial (in any state) or a queued entry
        already has exactly these parameters, so a rerun of a script does not evaluate them twice.

        Raises:
            InputDataError: a name the declared space lacks, or a value outside its parameter.
        """
        if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
            raise InvalidParameterError("params", "Study.enqueue", "a mapping of parameter name -> value", params)
        _check_json(params, "params", "Study.enqueue")
        check_bool(skip_if_exists, "skip_if_exists", "Study.enqueue")
        checked = dict(params)
        if self._declared is not None:
            checked = self._check_partial(params, "Study.enqueue")
        with self._lock:
            if skip_if_exists and (checked in self._queue or any(dict(t.params) == checked for t in self.trials)):
                return
            self._queue.append(checked)

    enqueue_trial = enqueue

    def _check_partial(self, params: Mapping[str, Any], owner: str) -> Params:
        space = self._declared if self._declared is not None else self._model
        out: Params = {}
        for k, v in params.items():
            p = space.params.get(k) if space is not None else None
            if p is None:
                names = space.names if space is not None else []
                raise InputDataError(f"The 'params' argument of {owner} names {k!r}, which is not in the "
                                     f"study's space {names}.")
            if not p.contains(v):
                raise InputDataError(f"The 'params' argument of {owner}: {k!r} must lie in {p!r}. Got {v!r} instead.")
            out[k] = _plain(p, v)
        return out

    def ask(self, context: Mapping[str, Any] | None = None) -> Trial:
        """Ask the optimizer for parameters and register a RUNNING trial."""
        return self.ask_batch(1, context)[0]

    def ask_batch(self, n: int, context: Mapping[str, Any] | None = None) -> list[Trial]:
        """Ask for ``n`` distinct parameter sets at once (a batch for parallel evaluation).

        Enqueued parameters (`enqueue`) come first.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidParameterError("n", "Study.ask_batch", "a positive integer", n)
        if context is not None:
            # Checked before anything is stored: a context a storage cannot hold would otherwise
            # fail inside the storage, after the optimizer has already been asked.
            if not isinstance(context, Mapping):
                raise InvalidParameterError("context", "Study.ask", "None or a mapping of name -> JSON value",
                                            context)
            _check_json(context, "context", "Study.ask")
        with self._lock:
            self._reclaim_stale()
            self._sync()
            fixed = self._queue[:n]
            space = self._model
            complete = [f for f in fixed if space is not None and self._declared is not None
                        and _is_complete(space, f)]
            partial = [f for f in fixed if not any(f is c for c in complete)]
            k = n - len(complete)
            params = self._ask_optimizer(k, context) if k and space is not None else [{} for _ in range(k)]
            proposals: list[Params] = []
            for f in complete:
                proposals.append(space.validate(f) if space is not None else dict(f))
            for i, p in enumerate(params):
                if i < len(partial):
                    merged = {**p, **partial[i]}
                    if self._declared is not None:
                        merged = _complete_conditional(self._declared, merged, self._seed)
                    p = merged
                elif self._declared is not None:
                    p = self._declared.validate(p)
                proposals.append(p)
            trials = [self.storage.new_trial(self.name, p, context) for p in proposals]
            del self._queue[:len(fixed)]
            for t, f in zip(trials, complete + partial, strict=False):
                self._fixed[t.number] = dict(f)
            return trials

    def _reclaim_stale(self) -> None:
        """Mark trials whose heartbeat stopped as interrupted (and queue them again with ``retry_failed``).

        Checked at most once per heartbeat interval: whichever process asks first claims a trial.
        """
        interval = self.storage.heartbeat_interval
        if interval is None:
            return
        now = time.monotonic()
        if now - getattr(self, "_last_reclaim", -float("inf")) < interval:
            return
        self._last_reclaim = now
        for t in self.storage.fail_stale(self.name):
            logger.warning("Trial %d was interrupted: %s", t.number, t.failure_reason)
            if self.storage.retry_failed:
                logger.info("Trial %d's parameters are evaluated again (retry_failed=True).", t.number)
                self._queue.append(dict(t.params))

    def _ask_optimizer(self, k: int, context: Mapping[str, Any] | None) -> list[Params]:
        params = self.optimizer.ask(k, context)
        if not isinstance(params, (list, tuple)) or len(params) != k:
            got = f"{len(params)} points" if isinstance(params, (list, tuple)) else repr(params)
            raise InvalidParameterError(
                "optimizer", "Study.ask", f"an optimizer whose ask({k}) returns a list of {k} parameter "
                f"mappings ({type(self.optimizer).__name__}.ask returned {got})", type(self.optimizer).__name__)
        assert self._model is not None
        return [self._model.validate(p) for p in params]  # all valid before any is stored

    def tell(self, trial: Trial | int, result: Any) -> Trial:
        """Record the result of a trial.

        Args:
            trial: The trial (or its number) returned by `ask`.
            result: A float, an `Observation`, a mapping with ``"value"`` and one entry per declared
                constraint, an exception raised by the objective (the trial becomes FAILED), or a
                `TrialPruned` exception (the trial becomes PRUNED).

        Returns:
            The finished trial (COMPLETE, FAILED with its reason, or PRUNED).

        Raises:
            InputDataError: the mapping names a constraint the study did not declare, or the trial
                is unknown or already finished.
        """
        number = trial.number if isinstance(trial, Trial) else trial
        with self._lock:
            current = self._find_running(number)
            return self._tell_checked(current, result)

    def _tell_checked(self, current: Trial, result: Any, exc: BaseException | None = None) -> Trial:
        try:
            finished = self._finish(current, result)
        except InputDataError as bad:
            # A malformed result is the caller's bug: say so, but never leave the trial dangling.
            self._store_finished(current.finished(state=TrialState.FAILED, failure_reason=str(bad)), bad)
            raise
        return self._store_finished(finished, exc if exc is not None else
                                    result if isinstance(result, BaseException) else None)

    def _store_finished(self, finished: Trial, exc: BaseException | None = None) -> Trial:
        self.storage.finish_trial(self.name, finished)
        self._fixed.pop(finished.number, None)
        if not self._is_told(finished.number):
            self._mark_told(finished)
        if finished.state is TrialState.FAILED:
            if finished.interrupted:
                logger.info("Trial %d was interrupted: %s", finished.number, finished.failure_reason)
            else:
                # The first failure of this study object carries its traceback; later ones one line each.
                first = isinstance(exc, Exception) and not self._traceback_logged
                self._traceback_logged = self._traceback_logged or first
                logger.warning("Trial %d failed with parameters %s: %s", finished.number, dict(finished.params),
                               finished.failure_reason, exc_info=exc if first else None)
        return finished

    def _interrupt(self, trial: Trial, why: str) -> None:
        """Record a trial that will never get a result (the loop was interrupted) as FAILED."""
        with self._lock:
            stored = self.storage.get_trial(self.name, trial.number)
            if stored is not None and stored.state is TrialState.RUNNING:
                self._store_finished(stored.finished(state=TrialState.FAILED,
                                                     failure_reason=f"{INTERRUPTED_PREFIX} {why}"))

    def _find_running(self, number: int) -> Trial:
        if isinstance(number, bool) or not isinstance(number, (int, np.integer)):
            raise InvalidParameterError("trial", "Study.tell", "a Trial or a trial number", number)
        t = self.storage.get_trial(self.name, int(number))
        if t is None:
            raise InvalidParameterError("trial", "Study.tell", f"a trial of study {self.name!r}", number)
        if t.state is not TrialState.RUNNING:
            raise InvalidParameterError("trial", "Study.tell", "a RUNNING trial (each trial is told once)",
                                        f"trial {number} in state {t.state.value}")
        return t

    def _finish(self, trial: Trial, result: Any) -> Trial:
        if isinstance(result, BaseException):
            if is_pruned(result):
                return trial.finished(state=TrialState.PRUNED)
            return trial.finished(state=TrialState.FAILED,
                                  failure_reason=f"{type(result).__name__}: {result}")
        obs = self._to_observation(result)
        if not isinstance(obs.user_attrs, Mapping):
            raise InputDataError(f"The 'user_attrs' of a Study.tell result must be a mapping. Got {obs.user_attrs!r}.")
        _check_json(obs.user_attrs, "user_attrs", "Study.tell")
        attrs = {**trial.user_attrs, **obs.user_attrs}
        if self._goal.directions is not None:
            return self._finish_multi(trial, obs, attrs)
        if _is_sequence(obs.value):
            # Not a number: the trial FAILS as for any other non-number, with a hint on the cause.
            return trial.finished(state=TrialState.FAILED, constraints={k: float(v) for k, v in obs.constraints.items()
                                                                         if is_finite_number(v)},
                                  user_attrs=attrs,
                                  failure_reason=f"objective value is not a finite number: {obs.value!r} (a "
                                                 "single-objective study; pass directions=[...] to Study for several "
                                                 "objectives)")
        if not is_finite_number(obs.value):
            return trial.finished(state=TrialState.FAILED, constraints=dict(obs.constraints),
                                  user_attrs=attrs,
                                  failure_reason=f"objective value is not a finite number: {obs.value!r}")
        bad = {k: v for k, v in obs.constraints.items() if not is_finite_number(v)}
        if bad:
            return trial.finished(state=TrialState.FAILED, user_attrs=attrs,
                                  constraints={k: float(v) for k, v in obs.constraints.items()
                                               if is_finite_number(v)},
                                  failure_reason=f"constraint values are not finite numbers: {bad!r}")
        return trial.finished(state=TrialState.COMPLETE, value=float(obs.value),
                              constraints={k: float(v) for k, v in obs.constraints.items()},
                              user_attrs=attrs)

    def _finish_multi(self, trial: Trial, obs: Observation, attrs: dict[str, Any]) -> Trial:
        """A multi-objective result: exactly one finite value per objective, or the trial FAILS."""
        k = self._goal.n_objectives
        if not _is_sequence(obs.value) and not isinstance(obs.value, (str, bytes)) and obs.value is not None \
                and not is_finite_number(obs.value) and isinstance(obs.value, (int, float, np.number)):
            # One NaN or infinity for the whole vector: the objective failed, as in a single-objective study.
            return trial.finished(state=TrialState.FAILED, user_attrs=attrs,
                                  failure_reason=f"objective value is not a finite number: {obs.value!r}")
        if not _is_sequence(obs.value) or len(obs.value) != k:
            raise InputDataError(f"The 'result' argument of Study.tell must hold {k} objective values (one per "
                                 f"direction {self.directions}). Got {obs.value!r} instead.")
        raw = list(obs.value)
        bad_values = [v for v in raw if not is_finite_number(v)]
        if bad_values:
            return trial.finished(state=TrialState.FAILED, constraints={k_: float(v) for k_, v in
                                                                       obs.constraints.items() if is_finite_number(v)},
                                  user_attrs=attrs,
                                  failure_reason=f"objective values are not all finite numbers: {raw!r}")
        bad = {k_: v for k_, v in obs.constraints.items() if not is_finite_number(v)}
        if bad:
            return trial.finished(state=TrialState.FAILED, user_attrs=attrs,
                                  constraints={k_: float(v) for k_, v in obs.constraints.items()
                                               if is_finite_number(v)},
                                  failure_reason=f"constraint values are not finite numbers: {bad!r}")
        return trial.finished(state=TrialState.COMPLETE, value=None, values=tuple(float(v) for v in raw),
                              constraints={k_: float(v) for k_, v in obs.constraints.items()},
                              user_attrs=attrs)

    def _to_observation(self, result: Any) -> Observation:
        if isinstance(result, Observation):
            obs = result
        elif isinstance(result, Mapping) and "values" in result and self._goal.directions is not None:
            obs = Observation(result["values"], {k: v for k, v in result.items() if k != "values"})
        elif isinstance(result, Mapping):
            if "value" not in result:
                raise InputDataError(
                    "The 'result' argument of Study.tell must be a mapping with a 'value' entry and one entry "
                    f"per declared constraint. Got keys {sorted(map(str, result))} instead."
                )
            obs = Observation(result["value"], {k: v for k, v in result.items() if k != "value"})
        else:
            obs = Observation(result)
        unknown = [k for k in obs.constraints if k not in self._goal.constraints]
        if unknown:
            raise InputDataError(
                f"The 'result' argument of Study.tell must name only the declared constraints "
                f"{self._goal.constraint_names}. Got undeclared {unknown} instead."
            )
        return obs

    # -- warm starts ----------------------------------------------------------------------------

    def add_trial(
        self,
        params: Mapping[str, Any],
        result: Any = None,
        *,
        state: Literal["COMPLETE", "FAILED", "PRUNED"] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        intermediate_values: Mapping[int, float] | None = None,
        distributions: Mapping[str, Parameter] | None = None,
    ) -> Trial:
        """Record a trial evaluated elsewhere (another tool, an earlier experiment) and tell the optimizer.

        Args:
            params: The parameters evaluated. With a declared space each must lie in it (names of
                inactive conditional parameters absent); otherwise their domains come from the
                study's seen space or ``distributions``.
            result: What `tell` accepts (a value, a mapping with constraints, an `Observation`);
                None for a FAILED or PRUNED trial.
            state: None (COMPLETE when ``result`` is given, else FAILED), or the state to record.
            user_attrs: Attributes to store with it.
            intermediate_values: ``step -> value`` reported by the trial (pruners use them).
            distributions: For a study whose objective defines its space: the domain of each name
                not seen yet (e.g. ``{"lr": go.Real(1e-5, 1e-1, log=True)}``).

        Returns:
            The stored trial.
        """
        if state not in (None, "COMPLETE", "FAILED", "PRUNED"):
            raise InvalidParameterError("state", "Study.add_trial", "None, 'COMPLETE', 'FAILED' or 'PRUNED'", state)
        if not isinstance(params, Mapping):
            raise InvalidParameterError("params", "Study.add_trial", "a mapping of parameter name -> value", params)
        if user_attrs is not None:
            if not isinstance(user_attrs, Mapping):
                raise InvalidParameterError("user_attrs", "Study.add_trial", "None or a mapping", user_attrs)
            _check_json(user_attrs, "user_attrs", "Study.add_trial")
        values: dict[int, float] = {}
        for k, v in (intermediate_values or {}).items():
            step = check_int(k, "intermediate_values", "Study.add_trial", low=0)
            if not is_finite_number(v):
                raise InvalidParameterError(f"intermediate_values[{k!r}]", "Study.add_trial", "a finite number", v)
            values[step] = float(v)
        with self._lock:
            self._sync()
            if self._declared is None:
                for name, p in (distributions or {}).items():
                    self._learn(name, p)
                unknown = [k for k in params if k not in self._dists]
                if unknown:
                    raise InvalidParameterError("distributions", "Study.add_trial",
                                                f"the domain of every parameter not seen yet ({unknown})",
                                                dict(distributions or {}))
                checked = self._check_against(params, self._dists)
            else:
                checked = self._check_partial(params, "Study.add_trial")
                try:
                    checked = self._declared.validate(checked)
                except InputDataError as exc:
                    raise InputDataError(f"Study.add_trial: {exc}") from exc
            if (state in (None, "COMPLETE")) and result is None:
                if state == "COMPLETE":
                    raise InvalidParameterError("result", "Study.add_trial", "a value for a COMPLETE trial", None)
                state = "FAILED"
            if state in (None, "COMPLETE") and not isinstance(result, BaseException):
                # A given result means a COMPLETE trial: refuse one that would be stored FAILED (a
                # string, NaN, a missing constraint value) before anything is written.
                dry = self._finish(Trial(number=-1, params=checked), result)
                if dry.state is not TrialState.COMPLETE:
                    raise InvalidParameterError("result", "Study.add_trial", "a result of a COMPLETE trial (finite "
                                                f"numbers; {dry.failure_reason})", result)
            trial = self.storage.new_trial(self.name, checked, None)
            for step, v in sorted(values.items()):
                self.storage.report(self.name, trial.number, step, v)
            trial = replace(trial, user_attrs=dict(user_attrs or {}), intermediate_values=values)
            if state == "PRUNED":
                return self._store_finished(trial.finished(state=TrialState.PRUNED))
            if state == "FAILED":
                reason = str(result) if isinstance(result, BaseException) else "added as FAILED"
                return self._store_finished(trial.finished(state=TrialState.FAILED, failure_reason=reason))
            return self._tell_checked(trial, result)

    def add_trials_from(self, source: pd.DataFrame | str | Path, **options: Any) -> list[Trial]:
        """Add the rows of a DataFrame or a CSV file as finished trials (see `guardopt.core.warm_start`)."""
        from guardopt.core.warm_start import add_trials_from_dataframe, read_table

        return add_trials_from_dataframe(self, read_table(source), **options)

    def _learn(self, name: str, p: Parameter) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidParameterError("distributions", "Study.add_trial", "names that are non-empty strings", name)
        known = self._dists.get(name)
        if known is None:
            from guardopt.core.define_by_run import domain

            self._dists[name] = domain(p)
        elif not same_domain(known, p):
            raise InputDataError(f"The {name!r} parameter was seen with {known!r}; it cannot become {p!r}.")

    def _check_against(self, params: Mapping[str, Any], dists: Mapping[str, Parameter]) -> Params:
        out: Params = {}
        for k, v in params.items():
            p = dists[k]
            if not p.contains(v):
                raise InputDataError(f"The 'params' argument's {k!r} must lie in {p!r}. Got {v!r} instead.")
            out[k] = _plain(p, v)
        return out

    # -- the loop -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask `optimize` to start no new trial (running ones finish); for callbacks."""
        self._stop = True

    def optimize(
        self,
        fn: Objective,
        n_trials: int | None = None,
        *,
        until: int | None = None,
        n_jobs: int = 1,
        executor: Executor | str | None = None,
        address: str | None = None,
        timeout: float | None = None,
        catch: type[BaseException] | Iterable[type[BaseException]] = (Exception,),
        callbacks: Sequence[Callback] | Callback | None = None,
        max_initial_failures: int | None = 5,
        show_progress: bool = False,
    ) -> None:
        """Evaluate ``fn`` on asked parameters until a budget is spent.

        Args:
            fn: The objective, in either form: ``params -> result`` (``params`` is a dict) or
                Optuna's ``trial -> result`` calling ``trial.suggest_*`` (the same object is both;
                see `guardopt.core.define_by_run.RunningTrial`). A result is a float, a mapping with
                ``"value"`` and the declared constraints, or an `Observation`; raising `TrialPruned`
                (or ``optuna.TrialPruned``) ends the trial as PRUNED.
            n_trials: How many new trials to run in this call (with neither this nor ``until``,
                ``timeout`` alone bounds the run, as in Optuna).
            until: Alternatively, run until the study holds this many trials (a rerun of the same
                script after a crash continues to the same total). Finished and running trials
                count, also those of other processes sharing the storage; trials interrupted by a
                crash (`Trial.interrupted`) do not, since they have no result. Counting and asking
                are two steps, so several processes racing to the same total may overshoot it by
                up to ``n_jobs`` trials per extra process.
            n_jobs: Trials evaluated in parallel. With ``n_jobs > 1`` and no ``executor`` local
                processes are used (``fn`` travels with cloudpickle, so lambdas work). Pruners in
                worker processes see the other trials' intermediate values through the storage: share
                an SQLite storage (or use ``executor="thread"``) for them to see running trials; with
                the in-memory storage a process worker sees the trials as they were when it started.
            executor: An executor kind (``"process"``, ``"thread"``, ``"ray"``, ``"dask"``) or a
                `concurrent.futures.Executor`.
            address: With ``executor="ray"`` or ``"dask"``, the existing cluster to run on (Ray:
                ``"auto"`` or ``"ray://host:10001"``; Dask: ``"tcp://host:8786"``); see
                `guardopt.core.executors.make_executor`.
            timeout: Stop asking new trials after this many seconds (running ones finish).
            catch: An exception class or a list of them: exceptions of these types make the trial
                FAILED and the study goes on; others are recorded (the trial FAILED with its reason)
                and re-raised once the trials already running have finished. A
                ``KeyboardInterrupt`` marks the running trials as interrupted.
            callbacks: Callables ``(study, trial)`` (a list, or one) run after each finished trial
                (in this process); one may call ``study.stop()``. See `guardopt.core.callbacks` for stop rules.
            max_initial_failures: Raise `TrialsFailedError` when the first this many trials of this
                call all FAILED (none COMPLETE or PRUNED), with the first exception chained; None
                tolerates any number of failures. Every failure is also logged as a warning.
            show_progress: Show a progress bar (rich) with the best feasible value so far.
        """
        if n_trials is not None and until is not None:
            raise InvalidParameterError("n_trials", "Study.optimize", "left out when 'until' is given (one budget)",
                                        n_trials)
        if n_trials is None and until is None and timeout is None:
            raise InvalidParameterError("n_trials", "Study.optimize", "given, or else 'until' or 'timeout'", n_trials)
        if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0):
            raise InvalidParameterError("n_trials", "Study.optimize", "a non-negative integer", n_trials)
        if until is not None and (isinstance(until, bool) or not isinstance(until, int) or until < 0):
            raise InvalidParameterError("until", "Study.optimize", "a non-negative integer", until)
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise InvalidParameterError("n_jobs", "Study.optimize", "a positive integer", n_jobs)
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
            raise InvalidParameterError("timeout", "Study.optimize", "a positive number of seconds", timeout)
        if max_initial_failures is not None:
            check_int(max_initial_failures, "max_initial_failures", "Study.optimize", low=1)
        if not callable(fn):
            raise InvalidParameterError("fn", "Study.optimize", "a callable objective", fn)
        if address is not None and executor not in ("ray", "dask"):
            raise InvalidParameterError("address", "Study.optimize", "None unless executor is 'ray' or 'dask'",
                                        address)
        catch = _exception_types(catch)
        # One callable is one callback (Optuna wants a list; a lone StopAtValue(...) is unambiguous).
        cbs = [callbacks] if callable(callbacks) else callbacks or []
        if isinstance(cbs, (str, bytes, Mapping)) or not isinstance(cbs, Iterable):
            raise InvalidParameterError("callbacks", "Study.optimize", "a list of callables (study, trial)", callbacks)
        cbs = list(cbs)
        for cb in cbs:
            if not callable(cb):
                raise InvalidParameterError("callbacks", "Study.optimize", "a list of callables (study, trial)", cb)
        self._stop = False
        deadline = None if timeout is None else time.monotonic() + timeout
        budget = _Budget(self, n_trials, until, deadline)
        failures = _FailureWatch(self.name, max_initial_failures)
        with _Progress(show_progress, budget.total(), self.name) as advance:
            def after(trial: Trial, exc: BaseException | None) -> None:
                if show_progress:  # the best value reads every trial: only for a bar that shows it
                    advance(self._best_text())
                failures.record(trial, exc)
                for cb in cbs:
                    cb(self, trial)

            if n_jobs == 1 and executor is None:
                self._optimize_serial(fn, budget, catch, after)
            else:
                own = not isinstance(executor, Executor)
                pool = executor if isinstance(executor, Executor) else \
                    make_executor(executor or "process", n_jobs, address)
                try:
                    self._optimize_parallel(fn, budget, n_jobs, pool, catch, after)
                finally:
                    if own:
                        pool.shutdown(wait=True, cancel_futures=True)

    def _best_text(self) -> str:
        if self._goal.directions is not None:
            return f"front of {len(self.pareto_front())}"
        best = self.best()
        return "-" if best is None or best.value is None else f"{best.value:.6g}"

    def _running(self, trial: Trial, remote: bool = False) -> RunningTrial:
        storage: Storage | None = self.storage
        if remote and self.pruner is None and isinstance(storage, InMemoryStorage):
            # Nothing in a worker reads the store without a pruner: do not ship a copy of every trial.
            storage = None
        return RunningTrial(trial, dict(trial.params), study_name=self.name, storage=storage,
                            space=self._declared if self._declared is not None else self._model_or_seen(),
                            declared=self._declared is not None, pruner=self.pruner, direction=self._goal.direction,
                            seed=self._seed, fixed=self._fixed.get(trial.number))

    def _model_or_seen(self) -> Space | None:
        # Suggest calls are checked against every domain seen, also names left out of the model.
        return Space(dict(self._dists)) if self._dists else None

    def _tell_evaluation(self, trial: Trial, ev: Evaluation) -> Trial:
        """Record what a (define-by-run or dict) evaluation produced."""
        with self._lock:
            current = self._find_running(trial.number)
            if ev.suggested:
                if self._declared is None:
                    for name, p in ev.distributions.items():
                        self._learn(name, p)
                    self._store_seen_space()
                current = replace(current, params=dict(ev.params))
            current = replace(current, user_attrs={**current.user_attrs, **ev.user_attrs},
                              intermediate_values={**current.intermediate_values, **ev.intermediate_values})
            exc = ev.result if isinstance(ev.result, BaseException) else None
            if isinstance(exc, KeyError) and self._declared is None and not ev.suggested:
                # A dict-style objective on a study without a space gets an empty dict: say why.
                return self._store_finished(current.finished(
                    state=TrialState.FAILED,
                    failure_reason=f"KeyError: {exc} (the study declares no space, so the objective receives "
                                   "no parameters: pass a Space to Study, or call trial.suggest_* in the objective)"),
                    exc)
            return self._tell_checked(current, ev.result, exc)

    def _store_seen_space(self) -> None:
        stored = self.storage.get_spec(self.name) or {}
        self._merge_stored_space(stored)
        spec = dict(stored)
        spec["space"] = json.loads(dumps(Space(dict(self._dists)).to_dict()))
        if spec != stored:
            self.storage.set_spec(self.name, spec)

    def _optimize_serial(self, fn: Objective, budget: _Budget, catch: tuple[type[BaseException], ...],
                         after: Callable[[Trial, BaseException | None], None]) -> None:
        while not self._stop and budget.allow(1):
            trial = self.ask()
            budget.submitted += 1
            running = self._running(trial)
            start = time.monotonic()
            try:
                result: Any = fn(running)
            except Exception as exc:
                if not is_pruned(exc) and not isinstance(exc, catch):
                    # Not in `catch`: record it, then let it propagate.
                    self._tell_evaluation(trial, running.evaluation(exc))
                    raise
                result = exc
            except BaseException as exc:  # KeyboardInterrupt, SystemExit: no result at all
                self._interrupt(trial, f"optimize stopped by {type(exc).__name__}")
                raise
            finished = self._tell_evaluation(trial, running.evaluation(result, time.monotonic() - start))
            after(finished, result if isinstance(result, BaseException) else None)

    def _optimize_parallel(self, fn: Objective, budget: _Budget, n_jobs: int, pool: Executor,
                           catch: tuple[type[BaseException], ...],
                           after: Callable[[Trial, BaseException | None], None]) -> None:
        running: dict[Future[Any], Trial] = {}
        error: BaseException | None = None
        task = functools.partial(evaluate, fn)
        remote = not isinstance(pool, ThreadPoolExecutor)
        try:
            while True:
                k = budget.allow(n_jobs - len(running)) if error is None and not self._stop else 0
                if k > 0:
                    # One batch ask for all free workers: batch-aware optimizers spread the points.
                    batch = self.ask_batch(k)
                    for i, trial in enumerate(batch):
                        try:
                            fut = pool.submit(task, self._running(trial, remote))
                        except BaseException as submit_error:  # e.g. an objective that cannot be pickled
                            why = f"could not be submitted: {type(submit_error).__name__}: {submit_error}"
                            for t in batch[i:]:
                                self._interrupt(t, why)
                            raise
                        running[fut] = trial
                        budget.submitted += 1
                if not running:
                    break
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    trial = running.pop(fut)
                    raised = fut.exception()
                    if raised is not None and not isinstance(raised, Exception):
                        # KeyboardInterrupt / SystemExit in the objective: no result, as in the serial
                        # loop (not counted by `until`, redone by a rerun); stop asking, then re-raise.
                        self._interrupt(trial, f"optimize stopped by {type(raised).__name__}")
                        error = error or raised
                        continue
                    if raised is not None:  # the worker itself failed (a result that cannot be pickled, ...)
                        if not isinstance(raised, catch):
                            error = error or raised
                        finished = self._tell_checked(self._find_running(trial.number), raised)
                        after(finished, raised)
                        continue
                    ev: Evaluation = fut.result()
                    exc = ev.result if isinstance(ev.result, BaseException) else None
                    if exc is not None and not is_pruned(exc) and not isinstance(exc, catch):
                        # Record it; finish the trials already running, then re-raise.
                        error = error or exc
                    finished = self._tell_evaluation(trial, ev)
                    after(finished, exc)
        except BaseException as stop:  # KeyboardInterrupt while waiting, a storage error, ...
            for fut, trial in running.items():
                fut.cancel()
                self._interrupt(trial, f"optimize stopped by {type(stop).__name__}")
            raise
        if error is not None:
            raise error

    # -- results --------------------------------------------------------------------------------

    def best(self, guard: Guard = "none") -> Trial | None:
        """The recommended trial, or None when no completed trial is feasible.

        Args:
            guard: ``"none"``: the best completed trial whose measured constraint values all hold.
                ``"pessimistic"`` / ``"optimistic"``: ask the optimizer for its guarded
                recommendation when it has one (``recommend(guard)``; e.g. a GP optimizer returns
                only points feasible under an upper confidence bound); an optimizer without a model
                treats measurements as exact, so this equals ``"none"``. A missing constraint value
                is a violation.
        """
        if guard not in ("none", "pessimistic", "optimistic"):
            raise InvalidParameterError("guard", "Study.best", "'none', 'pessimistic' or 'optimistic'", guard)
        self._single_objective("best")
        trials = self.trials
        with self._lock:
            self._sync()
        if guard != "none" and self._model is not None:
            by_number = getattr(self.optimizer, "recommend_trial_number", None)
            if callable(by_number):
                # The optimizer names the evaluation it chose: with a configuration evaluated more
                # than once, matching by parameters could report another evaluation of it.
                number = by_number(guard)
                return next((t for t in trials if t.number == number and t.state is TrialState.COMPLETE), None)
            recommend = getattr(self.optimizer, "recommend", None)
            if callable(recommend):
                params = recommend(guard)
                if params is None:
                    return None
                matches = [t for t in trials if t.state is TrialState.COMPLETE and dict(t.params) == params]
                if matches:
                    return matches[-1]
                return None
        feasible = [t for t in trials if self._goal.is_feasible(t)]
        if not feasible:
            return None
        losses = np.array([self._goal.loss(t) for t in feasible])
        return feasible[int(np.nanargmin(losses))]

    def _single_objective(self, what: str) -> None:
        if self._goal.directions is not None:
            raise UnsupportedError(f"Study.{what} is undefined for the multi-objective study {self.name!r} "
                                   f"({self._goal.n_objectives} objectives {self.directions}): no single trial is "
                                   "best. Use study.pareto_front() (the non-dominated feasible trials).")

    def pareto_front(self, guard: Guard = "none") -> list[Trial]:
        """The non-dominated feasible COMPLETE trials of a multi-objective study, by number.

        Fail closed: a trial that is not COMPLETE, violates a constraint, lacks a constraint value
        or holds a non-finite objective value is never on the front (nor does it dominate anything).

        Args:
            guard: ``"none"``: dominance and feasibility as measured. ``"pessimistic"`` /
                ``"optimistic"``: ask the optimizer for its guarded front when it has one
                (``recommend_front(guard)``; `guardopt.bo.multiobjective.MultiObjectiveGP` ranks the
                evaluated points by each objective's confidence bound and keeps only points feasible
                under the constraints' bounds); an optimizer without a model treats measurements as
                exact, so this equals ``"none"``.

        Returns:
            The trials on the front (empty when no trial is feasible yet). A single-objective study
            returns its best feasible trials (all that tie).
        """
        if guard not in ("none", "pessimistic", "optimistic"):
            raise InvalidParameterError("guard", "Study.pareto_front", "'none', 'pessimistic' or 'optimistic'", guard)
        from guardopt.core.pareto import is_non_dominated

        trials = self.trials
        with self._lock:
            self._sync()
        if guard != "none" and self._model is not None:
            by_number = getattr(self.optimizer, "recommend_front_numbers", None)
            if callable(by_number):  # the evaluations chosen, not every trial sharing their parameters
                numbers = set(by_number(guard))
                return [t for t in trials if t.number in numbers and t.state is TrialState.COMPLETE
                        and self._goal.is_feasible(t)]
            recommend = getattr(self.optimizer, "recommend_front", None)
            if callable(recommend):
                chosen = recommend(guard)
                picked = [t for t in trials if t.state is TrialState.COMPLETE and self._goal.is_feasible(t)
                          and dict(t.params) in chosen]
                return picked
        feasible = [t for t in trials if self._goal.is_feasible(t)]
        if not feasible:
            return []
        losses = np.array([self._goal.losses(t) for t in feasible]).reshape(len(feasible), -1)
        keep = is_non_dominated(losses)
        return [t for t, k in zip(feasible, keep, strict=True) if k]

    @property
    def best_trials(self) -> list[Trial]:
        """Optuna's name for `pareto_front` (the non-dominated feasible trials)."""
        return self.pareto_front()

    @property
    def best_trial(self) -> Trial:
        """The best feasible completed trial (Optuna's name for ``best()``).

        Raises:
            InsufficientDataError: no completed trial is feasible yet.
            UnsupportedError: a multi-objective study (use `pareto_front`).
        """
        self._single_objective("best_trial")
        best = self.best()
        if best is None:
            n = len(self.trials)
            raise InsufficientDataError(f"Study {self.name!r} has no feasible completed trial yet ({n} trials); "
                                        "best() returns None in that case.")
        return best

    @property
    def best_value(self) -> float:
        """The value of `best_trial`."""
        self._single_objective("best_value")
        value = self.best_trial.value
        assert value is not None
        return value

    @property
    def best_params(self) -> Params:
        """The parameters of `best_trial`."""
        self._single_objective("best_params")
        return dict(self.best_trial.params)

    def to_dataframe(self) -> pd.DataFrame:
        """The trials as a pandas DataFrame (one row per trial; params and constraints as columns)."""
        import pandas as pd

        rows = []
        for t in self.trials:
            row: dict[str, Any] = {"number": t.number, "state": t.state.value, "value": t.value,
                                   **{f"values_{j}": (t.values[j] if t.values is not None else math.nan)
                                      for j in range(self._goal.n_objectives if self._goal.directions else 0)},
                                   "datetime_start": t.datetime_start,
                                   "datetime_complete": t.datetime_complete,
                                   "duration": t.duration, "failure_reason": t.failure_reason}
            row.update({f"params_{k}": v for k, v in t.params.items()})
            row.update({f"user_attrs_{k}": v for k, v in t.user_attrs.items()})
            row.update({f"constraints_{k}": t.constraints.get(k, math.nan) for k in self._goal.constraints})
            if self._goal.constraints:
                row["feasible"] = self._goal.is_feasible(t)
            if t.intermediate_values:
                row["last_step"] = t.last_step
            rows.append(row)
        return pd.DataFrame(rows)

    def trials_dataframe(self) -> pd.DataFrame:
        """Optuna's name for `to_dataframe`."""
        return self.to_dataframe()

    def __repr__(self) -> str:
        n = len(self.trials)
        if self._goal.directions is not None:
            return f"Study(name={self.name!r}, directions={self.directions!r}, trials={n})"
        return f"Study(name={self.name!r}, direction={self.direction!r}, trials={n})"


def _is_sequence(v: Any) -> bool:
    """A list, tuple or 1-D array of values (what a multi-objective objective returns)."""
    if isinstance(v, np.ndarray):
        return v.ndim == 1
    return isinstance(v, (list, tuple))


def _plain(p: Parameter, v: Any) -> Any:
    return float(v) if isinstance(p, Real) else int(v) if isinstance(p, Integer) else v


def _is_complete(space: Space, params: Mapping[str, Any]) -> bool:
    try:
        space.validate(params)
    except InputDataError:
        return False
    return True


def _complete_conditional(space: Space, merged: Params, seed: int) -> Params:
    """Enqueued values over an asked point: keep the active names, fill active ones still missing."""
    active = getattr(space, "active_names", None)
    if not callable(active):
        return space.validate(merged)
    for i in range(50):
        names = active(merged)
        out = {n: merged[n] for n in names if n in merged}
        missing = [n for n in names if n not in out]
        if not missing:
            return space.validate(out)
        # A parent value from the queue activated names the optimizer did not propose: draw them.
        extra = space.sample(1, np.random.default_rng([seed, i]))[0]
        merged = {**{n: extra[n] for n in missing if n in extra}, **out}
    return space.validate(merged)


class _FailureWatch:
    """Raise `TrialsFailedError` when the first ``k`` finished trials of an `optimize` call all failed."""

    def __init__(self, name: str, k: int | None) -> None:
        self.name = name
        self.k = k
        self.failed: list[Trial] = []
        self.first: BaseException | None = None
        self.armed = k is not None

    def record(self, trial: Trial, exc: BaseException | None) -> None:
        if not self.armed or self.k is None:
            return
        if trial.state is not TrialState.FAILED:
            self.armed = False
            return
        self.failed.append(trial)
        if self.first is None and isinstance(exc, BaseException):
            self.first = exc
        if len(self.failed) >= self.k:
            self.armed = False
            first = self.failed[0]
            reason = (first.failure_reason or "").rstrip(".")
            message = (f"The first {self.k} trials of study {self.name!r} all failed; the first failed with "
                       f"{reason}. Fix the objective, or pass max_initial_failures=None to "
                       "tolerate failures.")
            if self.first is not None:
                raise TrialsFailedError(message, self.failed) from self.first
            raise TrialsFailedError(message, self.failed)


class _Budget:
    """How many more trials `Study.optimize` may ask: a count, a study total, and a deadline."""

    def __init__(self, study: Study, n_trials: int | None, until: int | None, deadline: float | None) -> None:
        self.study = study
        self.n_trials = n_trials
        self.until = until
        self.deadline = deadline
        self.submitted = 0

    def _used(self) -> int:
        # Every trial of the study counts toward `until` (also RUNNING ones, possibly in another
        # process sharing the storage), except those interrupted by a crash: they have no result.
        return self.study.storage.count_trials(self.study.name)

    def total(self) -> int | None:
        """Trials this call will run at most (None: only the deadline limits it)."""
        if self.n_trials is not None:
            return self.n_trials
        if self.until is None:
            return None
        return max(0, self.until - self._used())

    def allow(self, wanted: int) -> int:
        """How many of ``wanted`` new trials may start now (0: stop asking)."""
        if wanted <= 0 or (self.deadline is not None and time.monotonic() > self.deadline):
            return 0
        if self.n_trials is not None:
            return max(0, min(wanted, self.n_trials - self.submitted))
        if self.until is None:  # a time budget alone
            return wanted
        return max(0, min(wanted, self.until - self._used()))


def _takes_args(fn: Callable[..., Any], n: int) -> bool:
    """Whether ``fn`` accepts ``n`` positional arguments (True when its signature cannot be read)."""
    try:
        inspect.signature(fn).bind(*([None] * n))
    except TypeError:
        return False
    except ValueError:  # a builtin without a signature
        return True
    return True


def _exception_types(catch: Any) -> tuple[type[BaseException], ...]:
    """``catch`` as a tuple of exception classes: one class, or any iterable of them (as Optuna takes)."""
    items = (catch,) if isinstance(catch, type) else catch
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise InvalidParameterError("catch", "Study.optimize", "an exception class or a list of them", catch)
    out = tuple(items)
    if not all(isinstance(c, type) and issubclass(c, BaseException) for c in out):
        raise InvalidParameterError("catch", "Study.optimize", "an exception class or a list of them", catch)
    return out


def _check_json(value: Mapping[str, Any], param: str, owner: str) -> None:
    """Raise `InputDataError` naming ``param`` when a storage could not hold ``value`` as JSON.

    Every storage is held to what SQLite can store, so a study behaves the same in memory and on
    disk, and after `Study.load`.
    """
    try:
        dumps(dict(value))
    except (TypeError, ValueError) as exc:  # unknown types, circular references
        raise InputDataError(f"The {param!r} argument of {owner} must hold JSON values only: {exc}") from exc
    if not all(isinstance(k, str) for k in value):
        raise InputDataError(f"The {param!r} argument of {owner} must have string keys. Got {list(value)!r}.")


def _normalize(d: Mapping[str, Any]) -> dict[str, Any]:
    # The problem as a storage will hold it (tuples become lists, numpy scalars numbers).
    return dict(json.loads(dumps(d)))


class _Progress:
    """A rich progress bar showing the best feasible value so far (off unless asked)."""

    def __init__(self, enabled: bool, total: int | None, name: str) -> None:
        self.enabled = enabled
        self.total = total
        self.name = name
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Callable[[str], None]:
        if not self.enabled:
            return lambda best: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("best feasible: {task.fields[best]}"), TimeRemainingColumn())
        self._progress.__enter__()
        self._task = self._progress.add_task(self.name, total=self.total, best="-")
        return lambda best: self._progress.update(self._task, advance=1, best=best)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
