"""Suggest-style (define-by-run) objectives: the trial object an Optuna-style objective receives.

`Study.optimize` hands every objective one `RunningTrial`. It is a ``dict`` of the parameters the
optimizer proposed, so an objective written for guardopt (``params -> value``) reads it as before,
and it has Optuna's trial methods (`suggest_float`, `suggest_int`, `suggest_categorical`, `report`,
`should_prune`, `set_user_attr`), so an objective written for Optuna runs unchanged. Which form an
objective takes is decided by what it does, not by its name or signature: a trial whose objective
called a ``suggest_*`` method records exactly the parameters it suggested; otherwise it records the
whole proposal.

With a declared space every suggest call is checked against it (the name must be declared, the
range, scale and options must be the declared ones). Without one (``Study(space=None)``) the calls
define the space as they go; see `infer_space` for how conditional parameters are recognised.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError, check_int
from guardopt.core.seeding import derive_seed
from guardopt.core.space import Choice, Integer, Parameter, Params, Real, Space
from guardopt.core.trial import Trial, TrialState, is_finite_number

if TYPE_CHECKING:
    from guardopt.core.pruners import Pruner
    from guardopt.core.storage import Storage

logger = logging.getLogger("guardopt")


class TrialPruned(GuardoptError):
    """Raise it in an objective to end the trial as PRUNED (after `RunningTrial.should_prune`).

    ``optuna.TrialPruned`` raised by an unchanged Optuna objective is recognised too.
    """


def is_pruned(exc: BaseException) -> bool:
    """True for guardopt's `TrialPruned` and for any exception class named ``TrialPruned`` (Optuna's)."""
    return any(cls.__name__ == "TrialPruned" for cls in type(exc).__mro__)


def domain(p: Parameter) -> Parameter:
    """The parameter without its condition (what a suggest call can state)."""
    return replace(p, when=None) if getattr(p, "when", None) is not None else p


def same_domain(a: Parameter, b: Parameter) -> bool:
    """Whether two parameters have the same kind, range, scale and options (conditions ignored)."""
    return domain(a) == domain(b)


@dataclass
class Evaluation:
    """What one evaluation of an objective produced (it travels back from a worker process)."""

    result: Any
    params: Params
    distributions: dict[str, Parameter]
    user_attrs: dict[str, Any]
    intermediate_values: dict[int, float]
    suggested: bool
    elapsed: float = 0.0


class RunningTrial(dict[str, Any]):
    """The live trial an objective receives: the proposed parameters (a dict) and Optuna's trial API.

    Do not build one yourself: `Study.optimize` does.

    Attributes:
        number: The trial's number in the study.
        datetime_start: When the trial was asked.
    """

    def __init__(self, record: Trial, proposal: Params, *, study_name: str, storage: Storage | None,
                 space: Space | None, declared: bool, pruner: Pruner | None, direction: str,
                 seed: int, fixed: Mapping[str, Any] | None = None) -> None:
        super().__init__(proposal)
        self.number = record.number
        self.datetime_start: datetime | None = record.datetime_start
        self._study_name = study_name
        self._storage = storage
        self._space = space
        self._declared = declared
        self._pruner = pruner
        self._direction = direction
        self._seed = seed
        self._fixed = dict(fixed or {})
        self._proposal = dict(proposal)
        self._suggested: Params = {}
        self._dists: dict[str, Parameter] = {}
        self._user_attrs: dict[str, Any] = {}
        self._values: dict[int, float] = {}
        self._context = record.context

    # -- Optuna's read-only views ---------------------------------------------------------------

    @property
    def params(self) -> Params:
        """The parameters suggested so far in this trial."""
        return dict(self._suggested)

    @property
    def distributions(self) -> dict[str, Parameter]:
        """The parameter (range, scale, options) of each suggested name."""
        return dict(self._dists)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._user_attrs)

    @property
    def intermediate_values(self) -> dict[int, float]:
        return dict(self._values)

    # -- suggest --------------------------------------------------------------------------------

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None,
                      log: bool = False) -> float:
        """A real value in ``[low, high]`` (log-uniform when ``log``; on the grid ``low + k*step`` when
        ``step`` is given, Optuna's convention; ``step`` and ``log`` exclude each other). ``low == high``
        fixes the value, as in Optuna (its domain is then the one-option ``Choice([low])``)."""
        if _fixed_range(low, high, log, "suggest_float"):
            return float(self._suggest(name, Choice([float(low)]), "suggest_float"))
        param = Real(low, high, log=bool(log))
        if step is not None:
            if log:
                raise InvalidParameterError("step", "suggest_float", "None when log=True", step)
            if isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0 or not math.isfinite(step):
                raise InvalidParameterError("step", "suggest_float", "a positive number or None", step)
        value = float(self._suggest(name, param, "suggest_float"))
        if step is not None:
            k = math.floor((high - low) / step + 1e-9)
            value = float(low + min(max(round((value - low) / step), 0), k) * step)
            self._suggested[name] = value
        return value

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        """An integer in ``[low, high]`` (log-scaled when ``log``; on the grid ``low + k*step``).
        ``low == high`` fixes the value, as in Optuna (its domain is then ``Choice([low])``)."""
        step = check_int(step, "step", "suggest_int", low=1)
        if _fixed_range(low, high, log, "suggest_int"):
            check_int(low, "low", "suggest_int")
            return int(self._suggest(name, Choice([int(low)]), "suggest_int"))
        param = Integer(low, high, log=bool(log))
        if step > 1 and log:
            raise InvalidParameterError("step", "suggest_int", "1 when log=True", step)
        value = int(self._suggest(name, param, "suggest_int"))
        if step > 1:
            k = (high - low) // step
            value = int(low + min(max(round((value - low) / step), 0), k) * step)
            self._suggested[name] = value
        return value

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """One of ``choices``."""
        return self._suggest(name, Choice(choices), "suggest_categorical")

    def _suggest(self, name: str, param: Parameter, owner: str) -> Any:
        if not isinstance(name, str) or not name:
            raise InvalidParameterError("name", owner, "a non-empty string", name)
        if name in self._dists:  # asked twice in one trial: the same value, if the same domain
            if not same_domain(self._dists[name], param):
                raise InputDataError(f"The {name!r} parameter was suggested twice in trial {self.number} with "
                                     f"different domains: {self._dists[name]!r}, then {param!r}.")
            return self._suggested[name]
        known = self._space.params.get(name) if self._space is not None else None
        if known is None and self._declared:
            names = self._space.names if self._space is not None else []
            raise InputDataError(f"The {name!r} parameter of {owner} is not in the study's declared space "
                                 f"{names}. Declare it, or create the study with space=None.")
        if known is not None and not same_domain(known, param):
            raise InputDataError(f"The {name!r} parameter of {owner} must match the study's "
                                 f"{domain(known)!r}. Got {param!r} instead.")
        if name in self._fixed:
            value = self._fixed[name]
            if not param.contains(value):
                raise InputDataError(f"The enqueued value of the {name!r} parameter must lie in {param!r}. "
                                     f"Got {value!r} instead.")
        elif name in self._proposal and param.contains(self._proposal[name]):
            value = self._proposal[name]
        else:
            # A name the optimizer did not propose (new, or inactive in its view): sampled alone,
            # from a stream fixed by the study's seed, the trial number and the name.
            rng = np.random.default_rng(derive_seed(self._seed, self.number, name))
            value = Space({name: domain(param)}).sample(1, rng)[0][name]
        value = float(value) if isinstance(param, Real) else int(value) if isinstance(param, Integer) else value
        self._dists[name] = domain(param)
        self._suggested[name] = value
        return value

    # -- intermediate values and pruning --------------------------------------------------------

    def report(self, value: float, step: int) -> None:
        """Record an intermediate value (e.g. the validation loss after epoch ``step``).

        Optuna's argument order. A NaN or infinite value is stored as the worst possible value (so
        a diverging run is pruned first); a step reported twice keeps its first value.
        """
        step = check_int(step, "step", "report", low=0)
        try:
            x = float(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidParameterError("value", "report", "a real number", value) from exc
        if not math.isfinite(x):
            x = math.inf if self._direction == "minimize" else -math.inf
        if step in self._values:
            logger.warning("Trial %d reported step %d twice; the first value is kept.", self.number, step)
            return
        self._values[step] = x
        if self._storage is not None:  # None: a worker process without a shared storage (values travel back)
            self._storage.report(self._study_name, self.number, step, x)

    def should_prune(self) -> bool:
        """Whether the study's pruner stops this trial now (always False without a pruner)."""
        if self._pruner is None or not self._values:
            return False
        me = Trial(self.number, dict(self._suggested or self._proposal), state=TrialState.RUNNING,
                   datetime_start=self.datetime_start, intermediate_values=dict(self._values))
        trials = self._storage.trials(self._study_name) if self._storage is not None else []
        others = [t for t in trials if t.number != self.number]
        return bool(self._pruner.prune(me, others, self._direction))

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON value to the trial (stored with it)."""
        from guardopt.core.storage import dumps

        if not isinstance(key, str) or not key:
            raise InvalidParameterError("key", "set_user_attr", "a non-empty string", key)
        try:
            dumps(value)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError("value", "set_user_attr", "a JSON value", value) from exc
        self._user_attrs[key] = value

    # -- what the study records ------------------------------------------------------------------

    def evaluation(self, result: Any, elapsed: float = 0.0) -> Evaluation:
        suggested = bool(self._dists)
        return Evaluation(result=result, params=dict(self._suggested) if suggested else dict(self._proposal),
                          distributions=dict(self._dists), user_attrs=dict(self._user_attrs),
                          intermediate_values=dict(self._values), suggested=suggested, elapsed=elapsed)

    def __repr__(self) -> str:
        return f"RunningTrial(number={self.number}, params={self.params if self._dists else dict(self)!r})"

    def __reduce__(self) -> Any:
        # dict subclasses pickle their items and __dict__; spelled out so that a worker gets both.
        return (_rebuild, (dict(self), self.__dict__))


def _rebuild(items: dict[str, Any], state: dict[str, Any]) -> RunningTrial:
    t = RunningTrial.__new__(RunningTrial)
    dict.update(t, items)
    t.__dict__.update(state)
    return t


def evaluate(fn: Any, trial: RunningTrial) -> Evaluation:
    """Run ``fn(trial)`` and return what it produced; an exception is returned, not raised (workers)."""
    import time

    start = time.monotonic()
    try:
        result: Any = fn(trial)
    except Exception as exc:  # returned so the parent also gets the suggested params and attrs
        result = exc
    return trial.evaluation(result, time.monotonic() - start)


def infer_space(distributions: Mapping[str, Parameter], trials: Sequence[Trial]) -> tuple[Space | None, list[str]]:
    """The space a model-based optimizer sees for a study whose objective defines its space.

    Only COMPLETE and PRUNED trials count (a trial that failed half-way suggested only some of its
    parameters). A parameter present in every such trial is unconditional. One present in only some is made
    conditional on the closest earlier `Choice` or `Integer` parent whose values separate the trials
    exactly (present whenever the parent takes one of the values seen with it, absent otherwise):
    ``when={parent: those values}``. A parameter no parent explains is left out of the model's
    space (the optimizer never proposes it; each trial samples it on its own).

    Args:
        distributions: Each name's domain, in the order names were first suggested.
        trials: The study's finished trials with their recorded params.

    Returns:
        The space (None when no name is known) and the names left out of it.
    """
    with_params = [t for t in trials if t.params and t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    params: dict[str, Parameter] = {}
    left_out: list[str] = []
    for name, dist in distributions.items():
        having = [t for t in with_params if name in t.params]
        if len(having) == len(with_params):
            params[name] = dist
            continue
        parent = _parent(name, params, having, with_params)
        if parent is None:
            left_out.append(name)
            continue
        pname, values = parent
        try:
            params[name] = replace(dist, when={pname: values})
        except TypeError:  # a Space without conditional parameters
            left_out.append(name)
    if not params:
        return None, left_out
    try:
        return Space(params), left_out
    except GuardoptError:  # an inferred condition the Space refuses: fall back to the plain parameters
        plain = {n: p for n, p in params.items() if getattr(p, "when", None) is None}
        dropped = [n for n in params if n not in plain]
        return (Space(plain) if plain else None), left_out + dropped


def _parent(name: str, known: Mapping[str, Parameter], having: Sequence[Trial],
            all_trials: Sequence[Trial]) -> tuple[str, list[Any]] | None:
    for pname in reversed(list(known)):
        p = known[pname]
        if not isinstance(p, (Choice, Integer)):
            continue
        if not all(pname in t.params for t in having):
            continue
        seen = [t.params[pname] for t in having]
        values = [v for v in (p.options if isinstance(p, Choice) else sorted(set(seen))) if v in seen]
        separates = all(pname not in t.params or t.params[pname] not in values
                        for t in all_trials if name not in t.params)
        if separates and values:
            return pname, values
    return None


def _fixed_range(low: Any, high: Any, log: Any, owner: str) -> bool:
    """Whether ``[low, high]`` is one point (Optuna accepts it as a fixed value); checks that point."""
    if not (is_finite_number(low) and is_finite_number(high)) or float(low) != float(high):
        return False  # the Real / Integer constructor names whatever is wrong
    if log and not float(low) > 0:
        raise InvalidParameterError("low", owner, "positive when log=True", low)
    return True
