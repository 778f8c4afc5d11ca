"""`Study`: ask/tell over a stored set of trials, with `optimize` on top.

The study owns the bookkeeping (trial numbers, storage, validation of what an objective returns) and
drives an `Optimizer`. It never lets a bad value through silently: a NaN or infinite objective
makes the trial FAILED with its reason, and a missing constraint value counts as a violation.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.core.executors import make_executor
from guardopt.core.optimizer import Optimizer, RandomSearch
from guardopt.core.problem import ConstraintSpec, Direction, ProblemSpec
from guardopt.core.space import Params, Space
from guardopt.core.storage import Storage, dumps, make_storage
from guardopt.core.trial import INTERRUPTED_PREFIX, Observation, Trial, TrialState, is_finite_number

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("guardopt")

Guard = Literal["none", "pessimistic", "optimistic"]
Objective = Callable[[Params], Any]


class Study:
    """A named optimization study: a space, a direction, outcome constraints and an optimizer.

    Args:
        space: The search space.
        name: The study's name (needed to resume from a persistent storage).
        direction: ``"minimize"`` or ``"maximize"``.
        constraints: Named outcome constraints, e.g. ``{"latency_ms": ("<=", 50.0)}``.
        optimizer: The online method that asks parameters (default: `RandomSearch`).
        storage: None (in memory), a `Storage`, or ``"sqlite:///path.db"``. When the storage already
            holds a study of this name with the same problem, its finished trials are told to the
            optimizer and the study continues where it stopped.

    Example:
        >>> import guardopt as go
        >>> space = go.Space({"x": go.Real(-5, 5)})
        >>> study = go.Study(space, optimizer=go.RandomSearch(seed=0))
        >>> study.optimize(lambda p: (p["x"] - 1) ** 2, n_trials=20)
        >>> study.best().value < 1.0
        True
    """

    def __init__(
        self,
        space: Space,
        name: str | None = None,
        direction: Direction = "minimize",
        constraints: Mapping[str, ConstraintSpec] | None = None,
        optimizer: Optimizer | None = None,
        storage: Storage | str | None = None,
    ) -> None:
        if not isinstance(space, Space):
            raise InvalidParameterError("space", "Study", "a guardopt Space", space)
        if name is not None and (not isinstance(name, str) or not name):
            raise InvalidParameterError("name", "Study", "a non-empty string or None", name)
        self.problem = ProblemSpec(space, direction, dict(constraints or {}))
        # A random suffix: two unnamed studies in one storage must never resume each other.
        self.name = name or f"study-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self.storage = make_storage(storage)
        self.optimizer: Optimizer = optimizer if optimizer is not None else RandomSearch()
        for method in ("setup", "ask", "tell"):
            if not callable(getattr(self.optimizer, method, None)):
                raise InvalidParameterError("optimizer", "Study", "an object with setup/ask/tell", optimizer)
        try:
            given = _normalize(self.problem.to_dict())
        except TypeError as exc:
            raise InvalidParameterError(
                "space", "Study", "Choice options that are JSON values (str, int, float, bool or None)",
                str(exc)) from exc
        stored = self.storage.create_or_get(self.name, given)
        if stored != given:
            key = next((k for k in ("space", "direction", "constraints") if stored.get(k) != given.get(k)), "space")
            raise InvalidParameterError(
                key, "Study",
                f"the {key} stored for study {self.name!r} ({stored.get(key)!r}); use Study.load(name, storage) "
                "to resume it, or another name",
                given.get(key),
            )
        self.optimizer.setup(self.problem)
        # One study object may be driven from several threads; the optimizer need not be thread-safe.
        self._lock = threading.RLock()
        # Trials below the watermark are all finished and told; `_told` holds told numbers above it.
        self._watermark = 0
        self._told: set[int] = set()
        # A trial left RUNNING by a process that died (kill -9, a crash) will never finish.
        for t in self.storage.fail_orphans(self.name):
            logger.info("Trial %d was interrupted: %s", t.number, t.failure_reason)
        self._sync()

    # -- construction helpers -------------------------------------------------------------------

    @classmethod
    def load(cls, name: str, storage: Storage | str, optimizer: Optimizer | None = None) -> Study:
        """Resume a stored study: its problem is read from the storage, its trials told to ``optimizer``."""
        store = make_storage(storage)
        spec = store.get_spec(name)
        if spec is None:
            raise InvalidParameterError("name", "Study.load", f"one of {store.study_names()}", name)
        problem = ProblemSpec.from_dict(spec)
        return cls(problem.space, name=name, direction=problem.direction,
                   constraints=problem.constraints, optimizer=optimizer, storage=store)

    # -- ask / tell -----------------------------------------------------------------------------

    @property
    def space(self) -> Space:
        return self.problem.space

    @property
    def direction(self) -> Direction:
        return self.problem.direction

    @property
    def constraints(self) -> Mapping[str, ConstraintSpec]:
        return self.problem.constraints

    @property
    def trials(self) -> list[Trial]:
        """Every trial in the storage (also those written by other processes), by number."""
        return self.storage.trials(self.name)

    def _sync(self) -> None:
        # Tell the optimizer, in number order, trials that finished elsewhere (another process, an
        # earlier run); reading from the watermark keeps this cheap for long studies.
        for t in self.storage.trials(self.name, from_number=self._watermark):
            if t.state is not TrialState.RUNNING and not self._is_told(t.number):
                self._mark_told(t)
        while self._watermark in self._told:
            self._told.discard(self._watermark)
            self._watermark += 1

    def _is_told(self, number: int) -> bool:
        return number < self._watermark or number in self._told

    def _mark_told(self, trial: Trial) -> None:
        self._told.add(trial.number)
        self.optimizer.tell(trial)

    def ask(self, context: Mapping[str, Any] | None = None) -> Trial:
        """Ask the optimizer for parameters and register a RUNNING trial."""
        return self.ask_batch(1, context)[0]

    def ask_batch(self, n: int, context: Mapping[str, Any] | None = None) -> list[Trial]:
        """Ask for ``n`` distinct parameter sets at once (a batch for parallel evaluation)."""
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
            self._sync()
            params = self.optimizer.ask(n, context)
            if not isinstance(params, (list, tuple)) or len(params) != n:
                got = f"{len(params)} points" if isinstance(params, (list, tuple)) else repr(params)
                raise InvalidParameterError(
                    "optimizer", "Study.ask", f"an optimizer whose ask({n}) returns a list of {n} parameter "
                    f"mappings ({type(self.optimizer).__name__}.ask returned {got})", type(self.optimizer).__name__)
            checked = [self.space.validate(p) for p in params]  # all valid before any is stored
            return [self.storage.new_trial(self.name, p, context) for p in checked]

    def tell(self, trial: Trial | int, result: Any) -> Trial:
        """Record the result of a trial.

        Args:
            trial: The trial (or its number) returned by `ask`.
            result: A float, an `Observation`, a mapping with ``"value"`` and one entry per declared
                constraint, or an exception raised by the objective (the trial becomes FAILED).

        Returns:
            The finished trial (COMPLETE, or FAILED with its reason).

        Raises:
            InputDataError: the mapping names a constraint the study did not declare, or the trial
                is unknown or already finished.
        """
        number = trial.number if isinstance(trial, Trial) else trial
        with self._lock:
            current = self._find_running(number)
            try:
                finished = self._finish(current, result)
            except InputDataError as exc:
                # A malformed result is the caller's bug: say so, but never leave the trial dangling.
                self._store_finished(current.finished(state=TrialState.FAILED, failure_reason=str(exc)))
                raise
            return self._store_finished(finished)

    def _store_finished(self, finished: Trial) -> Trial:
        self.storage.finish_trial(self.name, finished)
        if not self._is_told(finished.number):
            self._mark_told(finished)
        if finished.state is TrialState.FAILED:
            logger.info("Trial %d failed: %s", finished.number, finished.failure_reason)
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
            return trial.finished(state=TrialState.FAILED,
                                  failure_reason=f"{type(result).__name__}: {result}")
        obs = self._to_observation(result)
        if not isinstance(obs.user_attrs, Mapping):
            raise InputDataError(f"The 'user_attrs' of a Study.tell result must be a mapping. Got {obs.user_attrs!r}.")
        _check_json(obs.user_attrs, "user_attrs", "Study.tell")
        if not is_finite_number(obs.value):
            return trial.finished(state=TrialState.FAILED, constraints=dict(obs.constraints),
                                  user_attrs=dict(obs.user_attrs),
                                  failure_reason=f"objective value is not a finite number: {obs.value!r}")
        bad = {k: v for k, v in obs.constraints.items() if not is_finite_number(v)}
        if bad:
            return trial.finished(state=TrialState.FAILED, user_attrs=dict(obs.user_attrs),
                                  constraints={k: float(v) for k, v in obs.constraints.items()
                                               if is_finite_number(v)},
                                  failure_reason=f"constraint values are not finite numbers: {bad!r}")
        return trial.finished(state=TrialState.COMPLETE, value=float(obs.value),
                              constraints={k: float(v) for k, v in obs.constraints.items()},
                              user_attrs=dict(obs.user_attrs))

    def _to_observation(self, result: Any) -> Observation:
        if isinstance(result, Observation):
            obs = result
        elif isinstance(result, Mapping):
            if "value" not in result:
                raise InputDataError(
                    "The 'result' argument of Study.tell must be a mapping with a 'value' entry and one entry "
                    f"per declared constraint. Got keys {sorted(map(str, result))} instead."
                )
            obs = Observation(result["value"], {k: v for k, v in result.items() if k != "value"})
        else:
            obs = Observation(result)
        unknown = [k for k in obs.constraints if k not in self.problem.constraints]
        if unknown:
            raise InputDataError(
                f"The 'result' argument of Study.tell must name only the declared constraints "
                f"{self.problem.constraint_names}. Got undeclared {unknown} instead."
            )
        return obs

    # -- the loop -------------------------------------------------------------------------------

    def optimize(
        self,
        fn: Objective,
        n_trials: int | None = None,
        *,
        until: int | None = None,
        n_jobs: int = 1,
        executor: Executor | str | None = None,
        timeout: float | None = None,
        catch: tuple[type[BaseException], ...] = (Exception,),
        show_progress: bool = False,
    ) -> None:
        """Evaluate ``fn`` on asked parameters until a budget is spent.

        Args:
            fn: Objective ``params -> float | Mapping | Observation``.
            n_trials: How many new trials to run in this call.
            until: Alternatively, run until the study holds this many trials (a rerun of the same
                script after a crash continues to the same total). Finished and running trials
                count, also those of other processes sharing the storage; trials interrupted by a
                crash (`Trial.interrupted`) do not, since they have no result. Counting and asking
                are two steps, so several processes racing to the same total may overshoot it by
                up to ``n_jobs`` trials per extra process.
            n_jobs: Trials evaluated in parallel. With ``n_jobs > 1`` and no ``executor`` local
                processes are used (``fn`` travels with cloudpickle, so lambdas work).
            executor: An executor kind (``"process"``, ``"thread"``, ``"ray"``, ``"dask"``) or a
                `concurrent.futures.Executor`.
            timeout: Stop asking new trials after this many seconds (running ones finish).
            catch: Exceptions of these types make the trial FAILED and the study goes on; others
                are recorded (the trial FAILED with its reason) and re-raised once the trials
                already running have finished. A ``KeyboardInterrupt`` marks the running trials
                as interrupted.
            show_progress: Show a progress bar (rich).
        """
        if (n_trials is None) == (until is None):
            raise InvalidParameterError("n_trials", "Study.optimize", "given, or else 'until' (exactly one)",
                                        n_trials)
        if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0):
            raise InvalidParameterError("n_trials", "Study.optimize", "a non-negative integer", n_trials)
        if until is not None and (isinstance(until, bool) or not isinstance(until, int) or until < 0):
            raise InvalidParameterError("until", "Study.optimize", "a non-negative integer", until)
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise InvalidParameterError("n_jobs", "Study.optimize", "a positive integer", n_jobs)
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
            raise InvalidParameterError("timeout", "Study.optimize", "a positive number of seconds", timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        budget = _Budget(self, n_trials, until, deadline)
        with _progress(show_progress, budget.total(), self.name) as advance:
            if n_jobs == 1 and executor is None:
                self._optimize_serial(fn, budget, catch, advance)
            else:
                own = not isinstance(executor, Executor)
                pool = executor if isinstance(executor, Executor) else make_executor(executor or "process", n_jobs)
                try:
                    self._optimize_parallel(fn, budget, n_jobs, pool, catch, advance)
                finally:
                    if own:
                        pool.shutdown(wait=True, cancel_futures=True)

    def _optimize_serial(self, fn: Objective, budget: _Budget, catch: tuple[type[BaseException], ...],
                         advance: Callable[[], None]) -> None:
        while budget.allow(1):
            trial = self.ask()
            budget.submitted += 1
            try:
                result = fn(dict(trial.params))
            except catch as exc:
                result = exc
            except Exception as exc:  # not in `catch`: record it, then let it propagate
                self.tell(trial, exc)
                raise
            except BaseException as exc:  # KeyboardInterrupt, SystemExit: no result at all
                self._interrupt(trial, f"optimize stopped by {type(exc).__name__}")
                raise
            self.tell(trial, result)
            advance()

    def _optimize_parallel(self, fn: Objective, budget: _Budget, n_jobs: int, pool: Executor,
                           catch: tuple[type[BaseException], ...], advance: Callable[[], None]) -> None:
        running: dict[Future[Any], Trial] = {}
        error: BaseException | None = None
        try:
            while True:
                k = budget.allow(n_jobs - len(running)) if error is None else 0
                if k > 0:
                    # One batch ask for all free workers: batch-aware optimizers spread the points.
                    batch = self.ask_batch(k)
                    for i, trial in enumerate(batch):
                        try:
                            fut = pool.submit(fn, dict(trial.params))
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
                    if raised is not None and not isinstance(raised, catch):
                        # Record it; finish the trials already running, then re-raise.
                        error = error or raised
                    self.tell(trial, raised if raised is not None else fut.result())
                    advance()
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
        trials = self.trials
        with self._lock:
            self._sync()
        if guard != "none":
            recommend = getattr(self.optimizer, "recommend", None)
            if callable(recommend):
                params = recommend(guard)
                if params is None:
                    return None
                matches = [t for t in trials if t.state is TrialState.COMPLETE and dict(t.params) == params]
                if matches:
                    return matches[-1]
                return None
        feasible = [t for t in trials if self.problem.is_feasible(t)]
        if not feasible:
            return None
        losses = np.array([self.problem.loss(t) for t in feasible])
        return feasible[int(np.nanargmin(losses))]

    def to_dataframe(self) -> pd.DataFrame:
        """The trials as a pandas DataFrame (one row per trial; params and constraints as columns)."""
        import pandas as pd

        rows = []
        for t in self.trials:
            row: dict[str, Any] = {"number": t.number, "state": t.state.value, "value": t.value,
                                   "datetime_start": t.datetime_start,
                                   "datetime_complete": t.datetime_complete,
                                   "duration": t.duration, "failure_reason": t.failure_reason}
            row.update({f"params_{k}": v for k, v in t.params.items()})
            row.update({f"user_attrs_{k}": v for k, v in t.user_attrs.items()})
            row.update({f"constraints_{k}": t.constraints.get(k, math.nan) for k in self.problem.constraints})
            if self.problem.constraints:
                row["feasible"] = self.problem.is_feasible(t)
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        n = len(self.trials)
        return f"Study(name={self.name!r}, direction={self.direction!r}, trials={n})"


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

    def total(self) -> int:
        if self.n_trials is not None:
            return self.n_trials
        assert self.until is not None
        return max(0, self.until - self._used())

    def allow(self, wanted: int) -> int:
        """How many of ``wanted`` new trials may start now (0: stop asking)."""
        if wanted <= 0 or (self.deadline is not None and time.monotonic() > self.deadline):
            return 0
        if self.n_trials is not None:
            return max(0, min(wanted, self.n_trials - self.submitted))
        assert self.until is not None
        return max(0, min(wanted, self.until - self._used()))


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
    def __init__(self, enabled: bool, total: int, name: str) -> None:
        self.enabled = enabled
        self.total = total
        self.name = name
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Callable[[], None]:
        if not self.enabled:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeRemainingColumn())
        self._progress.__enter__()
        self._task = self._progress.add_task(self.name, total=self.total)
        return lambda: self._progress.advance(self._task)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)


def _progress(enabled: bool, total: int, name: str) -> _Progress:
    return _Progress(enabled, total, name)
