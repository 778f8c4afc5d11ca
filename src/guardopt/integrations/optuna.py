"""Two-way Optuna interop: Optuna's samplers in guardopt, guardopt's constrained GP in Optuna.

* `OptunaOptimizer` runs any Optuna sampler (TPE, CMA-ES, NSGA-II, QMC, GP, random, ...) as a guardopt
  `Optimizer`, so these methods come from the library that maintains them rather than from a rewrite.
  It keeps a private in-memory Optuna study: each ``ask`` is ``study.ask(fixed_distributions)`` and
  each ``tell`` is ``study.tell`` (or ``study.add_trial`` for a trial that was not asked here, e.g.
  when a stored guardopt study resumes). Outcome constraints reach the sampler as Optuna constraint
  values (``trial.set_constraint``), in residual form (``<= 0`` feasible); a missing or NaN
  constraint value is sent as a large violation (fail closed).
* `GuardoptSampler` is an Optuna ``BaseSampler`` whose relative sampling is guardopt's
  `guardopt.bo.GPOptimizer` (Matérn-5/2 GP, EI × probability of feasibility). It reads Optuna's
  constraint values (``trial.constraints``, Optuna's ``<= 0`` convention) and falls back to Optuna's
  `RandomSampler` for parameters outside the intersection search space, as Optuna's own GPSampler does.
* `certify_best_trial` applies the high-confidence safety test (`guardopt.guards.safety_test`, the
  last step of the Seldonian framework, Thomas et al., 2019) to an Optuna study's best trial on
  held-out data.
* `import_optuna_study` copies an Optuna study's finished trials into a guardopt `Study` (a warm
  start).

Optuna (>= 5.0, for constraint values stored on trials) is an optional dependency (``pip install
guardopt[optuna]``); this module imports it, ``import guardopt`` never does.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError, UnsupportedError, check_int
from guardopt.core.optimizer import OptimizerBase
from guardopt.core.problem import Direction, ProblemSpec
from guardopt.core.space import Choice, Integer, Params, Real, Space
from guardopt.core.trial import Trial, TrialState, is_finite_number

try:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler
    from optuna.trial import FrozenTrial
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise UnsupportedError("guardopt.integrations.optuna needs Optuna: pip install 'guardopt[optuna]'") from _exc
if int(optuna.__version__.split(".")[0]) < 5:  # pragma: no cover - depends on the environment
    # Constraint values as trial attributes (trial.set_constraint, FrozenTrial.constraints) came with 5.0.
    raise UnsupportedError(f"guardopt.integrations.optuna needs Optuna >= 5.0; found {optuna.__version__}. "
                           "pip install -U 'optuna>=5'")

if TYPE_CHECKING:
    from guardopt.core.study import Study
    from guardopt.guards.safety import BoundKind, Verdict

__all__ = [
    "SAMPLERS",
    "GuardoptSampler",
    "OptunaOptimizer",
    "TrialCertificate",
    "certify_best_trial",
    "distributions_of",
    "import_optuna_study",
    "space_from_distributions",
]

#: The constraint value sent to an Optuna sampler for a missing or non-finite measurement.
MISSING_VIOLATION = 1e12
#: Samplers `OptunaOptimizer` builds by name (``seed -> sampler``); any other sampler can be passed as a factory.
SAMPLERS = ("tpe", "cmaes", "nsga2", "qmc", "random", "gp")
_OWNER = "OptunaOptimizer"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # Optuna logs every created study and finished trial at INFO; guardopt is a quiet library. The
    # level is restored afterwards, so a user's own Optuna logging is untouched.
    log = logging.getLogger("optuna")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


# ------------------------------------------------------------------------------------- spaces


def distributions_of(space: Space) -> dict[str, BaseDistribution]:
    """The Optuna distribution of every parameter of a guardopt space.

    ``Real`` → ``FloatDistribution``, ``Integer`` → ``IntDistribution``, ``Choice`` →
    ``CategoricalDistribution`` (log scales kept).
    """
    d = optuna.distributions
    out: dict[str, BaseDistribution] = {}
    for name, p in space.params.items():
        if isinstance(p, Real):
            out[name] = d.FloatDistribution(float(p.low), float(p.high), log=p.log)
        elif isinstance(p, Integer):
            out[name] = d.IntDistribution(int(p.low), int(p.high), log=p.log)
        else:
            out[name] = d.CategoricalDistribution(list(p.options))
    return out


@dataclass(frozen=True)
class _Column:
    """How one Optuna distribution is represented in a guardopt space (stepped ones as an index)."""

    name: str
    distribution: Any
    step: float | None = None  # set for a stepped Float/Int distribution: guardopt sees an index

    def to_guardopt(self, value: Any) -> Any:
        if self.step is not None:
            return round((float(value) - self.distribution.low) / self.step)
        return value

    def to_optuna(self, value: Any) -> Any:
        dist = self.distribution
        if self.step is not None:
            x = dist.low + int(value) * self.step
            return int(x) if _is_int_distribution(dist) else float(min(x, dist.high))
        if _is_int_distribution(dist):
            return int(value)
        if _is_float_distribution(dist):
            return float(value)
        return value


def _is_int_distribution(dist: Any) -> bool:
    return isinstance(dist, optuna.distributions.IntDistribution)


def _is_float_distribution(dist: Any) -> bool:
    return isinstance(dist, optuna.distributions.FloatDistribution)


def _columns(distributions: Mapping[str, Any]) -> list[_Column]:
    cols = []
    for name, dist in distributions.items():
        if dist.single():
            continue  # nothing to choose
        step = getattr(dist, "step", None)
        if _is_int_distribution(dist) and step == 1 and not dist.log:
            step = None
        cols.append(_Column(name, dist, None if step is None else float(step)))
    return cols


def _space_of(cols: Sequence[_Column]) -> Space:
    params: dict[str, Real | Integer | Choice] = {}
    for c in cols:
        dist = c.distribution
        if c.step is not None:
            params[c.name] = Integer(0, round((dist.high - dist.low) / c.step))
        elif _is_float_distribution(dist):
            params[c.name] = Real(float(dist.low), float(dist.high), log=bool(dist.log))
        elif _is_int_distribution(dist):
            params[c.name] = Integer(int(dist.low), int(dist.high), log=bool(dist.log))
        else:
            params[c.name] = Choice(list(dist.choices))
    return Space(params)


def space_from_distributions(distributions: Mapping[str, Any]) -> Space:
    """A guardopt `Space` from Optuna distributions (the inverse of `distributions_of`).

    Stepped distributions (``step=0.1``, an ``IntDistribution`` with ``step > 1``) become an
    `Integer` grid index, since guardopt's `Real` has no step; single-valued ones are dropped.

    Raises:
        InvalidParameterError: no distribution has more than one value.
    """
    cols = _columns(distributions)
    if not cols:
        raise InvalidParameterError("distributions", "space_from_distributions",
                                    "at least one distribution with more than one value", dict(distributions))
    return _space_of(cols)


# ------------------------------------------------------------------------ Optuna → guardopt


def _make_sampler(name: str, seed: int) -> BaseSampler:
    s = optuna.samplers
    if name == "tpe":
        return s.TPESampler(seed=seed)
    if name == "cmaes":
        return s.CmaEsSampler(seed=seed)
    if name == "nsga2":
        return s.NSGAIISampler(seed=seed)
    if name == "qmc":
        with warnings.catch_warnings():  # chosen by name: the user asked for it, experimental or not
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return s.QMCSampler(seed=seed, scramble=True)
    if name == "random":
        return s.RandomSampler(seed=seed)
    return s.GPSampler(seed=seed)


class OptunaOptimizer(OptimizerBase):
    """Any Optuna sampler as a guardopt `Optimizer` (ask/tell, resumable, constraint-aware).

    Args:
        sampler: A name in `SAMPLERS` (``"tpe"``, ``"cmaes"``, ``"nsga2"``, ``"qmc"``, ``"random"``,
            ``"gp"``) or a factory ``seed -> optuna.samplers.BaseSampler`` (e.g.
            ``lambda s: optuna.samplers.TPESampler(seed=s, multivariate=True)``). An instance is not
            accepted: a sampler carries state, and a fresh one is needed to resume reproducibly.
        seed: Non-negative integer seed handed to the factory; the same seed and the same tells give
            the same asks (for the samplers Optuna makes deterministic under a seed). None draws one.

    The sampler is told the loss (the objective in minimization form) and, for each declared outcome
    constraint, its residual (``<= 0`` feasible) as an Optuna constraint value. CMA-ES needs the
    ``cmaes`` package, GP needs torch; Optuna says so when they are missing.

    Example:
        >>> import guardopt as go
        >>> from guardopt.integrations.optuna import OptunaOptimizer
        >>> study = go.Study(go.Space({"x": go.Real(-2, 2)}), optimizer=OptunaOptimizer("tpe", seed=0))
        >>> study.optimize(lambda p: (p["x"] - 0.5) ** 2, n_trials=20)
        >>> study.best().value < 0.1
        True
    """

    def __init__(self, sampler: str | Callable[[int], BaseSampler] = "tpe", seed: int | None = None) -> None:
        if isinstance(sampler, str):
            if sampler not in SAMPLERS:
                raise InvalidParameterError("sampler", _OWNER, f"one of {SAMPLERS} or a factory seed -> sampler",
                                            sampler)
        elif not callable(sampler) or hasattr(sampler, "sample_relative"):
            raise InvalidParameterError("sampler", _OWNER,
                                        f"one of {SAMPLERS} or a factory seed -> sampler (not a sampler instance)",
                                        sampler)
        if seed is not None:
            check_int(seed, "seed", _OWNER, low=0)
        self.sampler = sampler
        self.seed = seed
        self._seed = int(seed) if seed is not None else int(np.random.default_rng().integers(2**31))
        self._study: Any = None
        self._pending: list[tuple[Params, Any]] = []

    def setup(self, problem: ProblemSpec) -> None:
        super().setup(problem)
        made = _make_sampler(self.sampler, self._seed) if isinstance(self.sampler, str) else self.sampler(self._seed)
        if not isinstance(made, optuna.samplers.BaseSampler):
            raise InvalidParameterError("sampler", _OWNER, "a factory that returns an Optuna sampler", made)
        with _quiet():
            self._study = optuna.create_study(sampler=made, direction="minimize")
        self._distributions = distributions_of(problem.space)
        self._pending = []

    def ask(self, n: int = 1, context: Mapping[str, Any] | None = None) -> list[Params]:
        self._check_n(n, _OWNER)
        space = self.problem.space
        out: list[Params] = []
        attempts = 0
        with _quiet():
            while len(out) < n:
                trial = self._study.ask()
                params = space.validate(_suggest_all(trial, space, self._distributions))
                attempts += 1
                if params in out and attempts <= 100 * n:
                    # A batch must be distinct; the repeat is told as failed so the sampler moves on.
                    self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    continue
                out.append(params)
                self._pending.append((params, trial))
        return out

    def tell(self, trial: Trial) -> None:
        problem = self.problem
        try:
            params = problem.space.validate(trial.params)
        except GuardoptError:  # a stored trial from another version of the space: nothing to learn
            return
        match = next((i for i, (p, _) in enumerate(self._pending) if p == params), None)
        loss = problem.loss(trial)
        complete = trial.state is TrialState.COMPLETE and math.isfinite(loss)
        residuals = {name: _finite_residual(r) for name, r in zip(problem.constraints, problem.residuals(trial))}
        with _quiet():
            if match is None:
                # Not asked here (a resumed study, a trial added from elsewhere): add it as finished.
                state = optuna.trial.TrialState.COMPLETE if complete else optuna.trial.TrialState.FAIL
                self._study.add_trial(optuna.trial.create_trial(
                    state=state, value=loss if complete else None, params=params,
                    distributions={k: self._distributions[k] for k in params},
                    constraints=residuals if complete else None))
                return
            _, otrial = self._pending.pop(match)
            if not complete:
                self._study.tell(otrial, state=optuna.trial.TrialState.FAIL)
                return
            for name, r in residuals.items():
                otrial.set_constraint(name, r)
            self._study.tell(otrial, loss)

    @property
    def optuna_study(self) -> optuna.Study:
        """The private Optuna study the sampler sees (losses, residual constraints)."""
        self.problem  # noqa: B018 - raises a clear error before setup
        study: optuna.Study = self._study
        return study


def _suggest_all(trial: optuna.Trial, space: Space, distributions: Mapping[str, BaseDistribution]) -> Params:
    """Suggest every parameter of ``space`` that is active given those suggested so far (define-by-run).

    A conditional parameter (``when=...``) is suggested only once its parents make it active, so
    Optuna sees the same conditional structure as an Optuna objective would create.
    """
    active = getattr(space, "active_names", None)
    values: Params = {}
    while True:
        names = [n for n in (active(values) if callable(active) else space.names) if n not in values]
        if not names:
            return values
        for name in names:
            d = distributions[name]
            if isinstance(d, optuna.distributions.FloatDistribution):
                values[name] = trial.suggest_float(name, d.low, d.high, log=d.log)
            elif isinstance(d, optuna.distributions.IntDistribution):
                values[name] = trial.suggest_int(name, d.low, d.high, log=d.log)
            else:
                assert isinstance(d, optuna.distributions.CategoricalDistribution)
                values[name] = trial.suggest_categorical(name, d.choices)


def _finite_residual(r: float) -> float:
    return float(r) if math.isfinite(r) else MISSING_VIOLATION


# ------------------------------------------------------------------------ guardopt → Optuna


class GuardoptSampler(BaseSampler):
    """guardopt's constrained GP (`guardopt.bo.GPOptimizer`) as an Optuna sampler.

    Args:
        seed: Non-negative integer seed of the GP's initial design and of the fallback random sampler.
        n_startup_trials: Sobol design size of the GP before the model is used (None: the GP's default,
            ``clip(2 * dim, 5, 10)``).
        **gp_options: Other `guardopt.bo.GPConfig` fields (``acquisition``, ``n_candidates``, ...).

    Relative sampling covers Optuna's intersection search space (parameters suggested with the same
    distribution in every finished trial); the rest is sampled by ``RandomSampler(seed)``. Constraint
    values set on trials (``trial.set_constraint``, Optuna's ``<= 0`` convention) are modelled by one
    GP each; failed trials are not modelled but never proposed again. Single-objective only.
    """

    def __init__(self, seed: int | None = None, n_startup_trials: int | None = None, **gp_options: Any) -> None:
        from guardopt.bo import GPConfig

        owner = "GuardoptSampler"
        if seed is not None:
            check_int(seed, "seed", owner, low=0)
        if n_startup_trials is not None:
            check_int(n_startup_trials, "n_startup_trials", owner, low=1)
        self._config = GPConfig(n_initial=n_startup_trials, **gp_options)  # validated here, once
        self._seed = int(seed) if seed is not None else int(np.random.default_rng().integers(2**31))
        self._independent = optuna.samplers.RandomSampler(seed=self._seed)
        self._lock = threading.Lock()

    def reseed_rng(self) -> None:
        self._seed = int(np.random.default_rng().integers(2**31))
        self._independent.reseed_rng()

    def _single(self, study: Any) -> None:
        if len(study.directions) != 1:
            raise ValueError("GuardoptSampler supports single-objective studies only; this study has "
                             f"{len(study.directions)} objectives.")

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, BaseDistribution]:
        trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        space = optuna.search_space.intersection_search_space(trials)
        return {k: v for k, v in space.items() if not v.single()}

    def sample_relative(self, study: Any, trial: Any, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        self._single(study)
        if not search_space:
            return {}
        from guardopt.bo import GPOptimizer

        cols = _columns(search_space)
        if not cols:
            return {}
        space = _space_of(cols)
        finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                            optuna.trial.TrialState.FAIL))
        finished = [t for t in finished if all(c.name in t.params for c in cols)]
        names = sorted({k for t in finished for k in t.constraints})
        direction: Direction = "maximize" if study.direction == optuna.study.StudyDirection.MAXIMIZE else "minimize"
        problem = ProblemSpec(space, direction, {n: ("<=", 0.0) for n in names})
        # A fresh GP per call, told every finished trial in number order: the ask depends only on
        # the seed and the trials, so parallel workers and a resumed study agree.
        gp = GPOptimizer(seed=self._seed, config=self._config)
        gp.setup(problem)
        for t in sorted(finished, key=lambda t: t.number):
            gp.tell(_as_guardopt_trial(t, cols, names))
        with self._lock:
            params = gp.ask(1)[0]
        return {c.name: c.to_optuna(params[c.name]) for c in cols}

    def sample_independent(self, study: Any, trial: Any, param_name: str, param_distribution: Any) -> Any:
        self._single(study)
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Any, trial: Any) -> None:
        self._independent.before_trial(study, trial)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Sequence[float] | None) -> None:
        self._independent.after_trial(study, trial, state, values)


def _as_guardopt_trial(t: FrozenTrial, cols: Sequence[_Column], names: Sequence[str]) -> Trial:
    params = {c.name: c.to_guardopt(t.params[c.name]) for c in cols}
    cons = {n: float(t.constraints[n]) for n in names if n in t.constraints and is_finite_number(t.constraints[n])}
    value = t.value if t.state == optuna.trial.TrialState.COMPLETE else None
    if value is None or not is_finite_number(value):
        return Trial(t.number, params, state=TrialState.FAILED, constraints=cons)
    return Trial(t.number, params, state=TrialState.COMPLETE, value=float(value), constraints=cons)


# ------------------------------------------------------------------------------- certify


@dataclass(frozen=True)
class TrialCertificate:
    """The outcome of `certify_best_trial`.

    Attributes:
        passed: True when every constraint's upper confidence bound met its threshold.
        trial_number: The Optuna trial tested.
        params: Its parameters.
        verdicts: One `guardopt.guards.safety.Verdict` per constraint, by name.
        delta: The overall miscoverage (each of the ``k`` constraints was tested at ``delta / k``).
    """

    passed: bool
    trial_number: int
    params: Mapping[str, Any]
    verdicts: Mapping[str, Verdict]
    delta: float

    def __bool__(self) -> bool:
        return self.passed

    @property
    def reason(self) -> str:
        """Every constraint's bound against its threshold, in words."""
        return "; ".join(f"{name}: {v.reason}" for name, v in self.verdicts.items())


def certify_best_trial(study: optuna.Study, costs: Callable[[Mapping[str, Any]], Mapping[str, Any]],
                       thresholds: Mapping[str, float], delta: float = 0.05, bound: BoundKind = "ttest",
                       ranges: Mapping[str, tuple[float, float]] | None = None) -> TrialCertificate:
    """Test an Optuna study's best trial with a high-confidence upper bound on held-out data.

    Args:
        study: A finished single-objective Optuna study.
        costs: ``params -> {name: per-sample costs}``: evaluates the trial's parameters on held-out
            data that the study never saw (e.g. per-example error indicators, latencies), each an
            array of shape ``(n,)``.
        thresholds: ``{name: largest acceptable mean cost}``; every name must be returned by ``costs``.
        delta: Allowed probability of passing a trial that violates some constraint, in (0, 1); split
            evenly over the constraints (union bound).
        bound: ``"ttest"`` (Student-t, approximate), ``"hoeffding"`` or ``"bernstein"`` (exact; need
            ``ranges``).
        ranges: ``{name: (low, high)}``, the costs' known ranges for Hoeffding or Bernstein.

    Returns:
        A `TrialCertificate`; ``passed=False`` means the best trial is not certified (fail closed:
        NaN costs never pass).

    Raises:
        InvalidParameterError: no finished trial, or empty thresholds, or a bad ``delta``.
        InputDataError: ``costs`` did not return every named constraint.
    """
    from guardopt.core.errors import check_in_range
    from guardopt.guards.safety import safety_test

    owner = "certify_best_trial"
    if not isinstance(study, optuna.Study):
        raise InvalidParameterError("study", owner, "an optuna.Study", study)
    check_in_range(delta, "delta", owner, 0.0, 1.0)
    if not isinstance(thresholds, Mapping) or not thresholds:
        raise InvalidParameterError("thresholds", owner, "a non-empty mapping of name -> threshold", thresholds)
    try:
        best = study.best_trial
    except ValueError as exc:
        raise InvalidParameterError("study", owner, "a study with a completed trial", study.study_name) from exc
    measured = costs(dict(best.params))
    if not isinstance(measured, Mapping):
        raise InputDataError(f"The 'costs' argument of {owner} must return a mapping name -> costs. "
                             f"Got {type(measured).__name__} instead.")
    missing = [n for n in thresholds if n not in measured]
    if missing:
        raise InputDataError(f"The 'costs' argument of {owner} must return every constraint of 'thresholds'. "
                             f"Missing {missing}; got {sorted(map(str, measured))}.")
    each = float(delta) / len(thresholds)
    verdicts = {}
    for name, thr in thresholds.items():
        low, high = (ranges or {}).get(name, (None, None))
        verdicts[name] = safety_test(measured[name], thr, each, bound=bound, low=low, high=high)
    return TrialCertificate(all(v.passed for v in verdicts.values()), best.number, dict(best.params),
                            verdicts, float(delta))


# ------------------------------------------------------------------------------ import


def import_optuna_study(source: optuna.Study, study: Study, constraint_names: Mapping[str, str] | None = None) -> int:
    """Copy an Optuna study's finished trials into a guardopt `Study` (a warm start).

    Args:
        source: The Optuna study (single-objective).
        study: The guardopt study to fill (through `Study.add_trial`); with a declared space every
            imported trial must lie in it, without one the domains come from the Optuna
            distributions. Its direction must match the Optuna study's.
        constraint_names: ``{optuna constraint key: guardopt constraint name}`` for trials that carry
            Optuna constraint values (``<= 0`` feasible); the value is stored as measured, so the
            guardopt constraint should be declared ``(name, ("<=", 0.0))``. Unlisted keys are ignored.

    Returns:
        How many trials were imported: COMPLETE ones with their value (and mapped constraint values),
        FAIL and PRUNED ones in those states, each with its user attributes and intermediate values;
        running and waiting trials are skipped.

    Raises:
        InvalidParameterError: a multi-objective source, or a direction that differs.
        InputDataError: a trial's parameters do not fit the guardopt space.
    """
    owner = "import_optuna_study"
    if not isinstance(source, optuna.Study):
        raise InvalidParameterError("source", owner, "an optuna.Study", source)
    if len(source.directions) != 1:
        raise InvalidParameterError("source", owner, "a single-objective Optuna study",
                                    f"{len(source.directions)} objectives")
    direction = "maximize" if source.direction == optuna.study.StudyDirection.MAXIMIZE else "minimize"
    if direction != study.direction:
        raise InvalidParameterError("study", owner, f"a study with direction {direction!r} (as the Optuna study)",
                                    study.direction)
    names = dict(constraint_names or {})
    unknown = [g for g in names.values() if g not in study.constraints]
    if unknown:
        raise InvalidParameterError("constraint_names", owner, f"names of the study's constraints "
                                    f"{sorted(study.constraints)}", unknown)
    state = optuna.trial.TrialState
    n = 0
    for t in source.get_trials(deepcopy=False, states=(state.COMPLETE, state.FAIL, state.PRUNED)):
        # A study whose objective defines its space learns each domain from the Optuna distribution.
        dists = None if study.space is not None else {k: _param_of(d) for k, d in t.distributions.items()}
        inter = {int(k): float(v) for k, v in t.intermediate_values.items() if is_finite_number(v)}
        attrs = {str(k): v for k, v in t.user_attrs.items()}
        # Optuna stores an infinite value as COMPLETE; guardopt keeps no non-finite value, so it arrives FAILED.
        finite = t.state == state.COMPLETE and all(is_finite_number(v) for v in (t.values or [None]))
        if finite:
            result = {"value": t.value, **{g: t.constraints[k] for k, g in names.items() if k in t.constraints}}
            study.add_trial(t.params, result, user_attrs=attrs, intermediate_values=inter, distributions=dists)
        else:
            what = "COMPLETE with a non-finite value" if t.state == state.COMPLETE else t.state.name
            study.add_trial(t.params, RuntimeError(f"{what} in Optuna study {source.study_name!r} "
                                                   f"(trial {t.number})"),
                            state="PRUNED" if t.state == state.PRUNED else "FAILED", user_attrs=attrs,
                            intermediate_values=inter, distributions=dists)
        n += 1
    return n


def _param_of(dist: BaseDistribution) -> Real | Integer | Choice:
    # A stepped distribution becomes its plain range: the imported values lie on the grid anyway.
    if isinstance(dist, optuna.distributions.FloatDistribution):
        return Real(dist.low, dist.high, log=dist.log)
    if isinstance(dist, optuna.distributions.IntDistribution):
        return Integer(dist.low, dist.high, log=dist.log)
    assert isinstance(dist, optuna.distributions.CategoricalDistribution)
    return Choice(list(dist.choices))
