"""Pick a linear solver's relaxation parameter ω for each system in a sequence, from iteration counts.

`SolverTuner` is the drop-in tool for a simulation loop::

    tuner = SolverTuner(SolverTunerConfig(learner="tsallis-inf", seed=0))
    for step in range(n_steps):
        A, b = assemble(step)
        omega = tuner.ask()                      # or tuner.ask(context=c) for "chebcb"
        result = sor_solve(A, b, omega)          # any solver with a parameter in [ω_low, ω_high]
        tuner.tell(omega, result.iterations)

Learners (Khodak et al., 2024):

* ``"tsallis-inf"``: 1/2-Tsallis-INF over a grid of ω (`guardopt.bandits.tsallis`); its total cost
  approaches that of the best fixed ω in hindsight. Needs no context.
* ``"chebcb"``: ChebCB (`guardopt.bandits.chebcb`); uses a scalar context per system (e.g. a diagonal
  shift or a diffusion coefficient) and approaches the instance-optimal policy.
* Comparators: ``"fixed"`` (always `SolverTunerConfig.fixed_omega`), ``"gauss-seidel"`` (ω = 1), and
  ``"oracle"`` (ω from a user function of the context, e.g. the instance-optimal ω from the Jacobi
  spectral radius, `guardopt.problems.linear_systems.optimal_sor_omega`).

`SolverTunerOptimizer` runs the same learners as an `Optimizer` inside a `Study` over a one-parameter
space (``Space({"omega": Choice(grid)})`` or ``Real(low, high)``), with the context passed to
``Study.ask(context=...)``.

Reference:
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. "Learning to Relax: Setting Solver Parameters
    Across a Sequence of Linear System Instances." ICLR 2024, arXiv:2310.02246.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from guardopt.bandits.chebcb import ChebCB, ChebCBConfig
from guardopt.bandits.tsallis import TsallisINF, TsallisINFConfig
from guardopt.core.errors import (
    GuardoptError,
    InputDataError,
    InvalidParameterError,
    check_choice,
    check_in_range,
    check_int,
    to_float,
)
from guardopt.core.optimizer import OptimizerBase
from guardopt.core.problem import ProblemSpec
from guardopt.core.space import Choice, Params, Real
from guardopt.core.trial import Trial, TrialState

__all__ = ["LEARNERS", "SolverTuner", "SolverTunerConfig", "SolverTunerOptimizer"]

Learner = Literal["tsallis-inf", "chebcb", "fixed", "gauss-seidel", "oracle"]
LEARNERS: tuple[str, ...] = ("tsallis-inf", "chebcb", "fixed", "gauss-seidel", "oracle")
ContextLike = float | Mapping[str, Any] | None


@dataclass(frozen=True)
class SolverTunerConfig:
    """Configuration of `SolverTuner` / `SolverTunerOptimizer`.

    Attributes:
        learner: "tsallis-inf", "chebcb", "fixed", "gauss-seidel" or "oracle".
        omega_low, omega_high, n_omegas: The grid ``linspace(omega_low, omega_high, n_omegas)``
            (the paper: 20 values in [1, 1.95]). `SolverTunerOptimizer` takes the grid from a
            ``Choice`` space instead.
        fixed_omega: The ω of the "fixed" policy.
        context_low, context_high: Range of the scalar context (required by "chebcb").
        n_features: Chebyshev features of ChebCB (the paper: 6).
        min_cost: The smallest possible cost, subtracted before learning (1 for iteration counts).
        cost_scale: Tsallis-INF's cost scale; ``None`` = running mean of observed costs (paper's code).
        eta_scale: Tsallis-INF's learning rate ``η_t = eta_scale / sqrt(t)``.
        exploration: ChebCB's multiplier on its inverse-gap weight.
        context_key: Key of the scalar context when contexts are mappings.
        seed: Seed of the learner's sampling stream.
    """

    learner: Learner = "tsallis-inf"
    omega_low: float = 1.0
    omega_high: float = 1.95
    n_omegas: int = 20
    fixed_omega: float = 1.5
    context_low: float | None = None
    context_high: float | None = None
    n_features: int = 6
    min_cost: float = 1.0
    cost_scale: float | None = None
    eta_scale: float = 2.0
    exploration: float = 1.0
    context_key: str = "context"
    seed: int | None = None

    def __post_init__(self) -> None:
        owner = "SolverTunerConfig"
        check_choice(self.learner, "learner", owner, LEARNERS)
        low = check_in_range(self.omega_low, "omega_low", owner, 0.0, 2.0)
        high = check_in_range(self.omega_high, "omega_high", owner, 0.0, 2.0)
        n = check_int(self.n_omegas, "n_omegas", owner, low=1)
        if high < low or (n > 1 and high == low):
            raise InvalidParameterError("omega_high", owner, f"greater than omega_low={low!r}", high)
        check_in_range(self.fixed_omega, "fixed_omega", owner, 0.0, 2.0)
        check_int(self.n_features, "n_features", owner, low=1)
        check_in_range(self.min_cost, "min_cost", owner)
        if self.cost_scale is not None:
            check_in_range(self.cost_scale, "cost_scale", owner, 0.0)
        check_in_range(self.eta_scale, "eta_scale", owner, 0.0)
        check_in_range(self.exploration, "exploration", owner, 0.0)
        if not isinstance(self.context_key, str):
            raise InvalidParameterError("context_key", owner, "a string", self.context_key)
        for name in ("context_low", "context_high"):
            if getattr(self, name) is not None:
                check_in_range(getattr(self, name), name, owner)
        if self.learner == "chebcb":
            if self.context_low is None or self.context_high is None:
                raise InvalidParameterError("context_low", owner, "set (with context_high) for learner='chebcb'",
                                            self.context_low)
            if not check_in_range(self.context_high, "context_high", owner) > check_in_range(
                self.context_low, "context_low", owner
            ):
                raise InvalidParameterError("context_high", owner, f"greater than context_low={self.context_low!r}",
                                            self.context_high)

    @property
    def grid(self) -> np.ndarray:
        """The grid of ω, shape ``(n_omegas,)``."""
        return np.linspace(self.omega_low, self.omega_high, self.n_omegas)


class _Policy:
    """A learner over grid indices (or a fixed / oracle rule): draw, then learn from the cost."""

    def __init__(self, config: SolverTunerConfig, grid: np.ndarray,
                 oracle: Callable[[Any], float] | None) -> None:
        if not isinstance(config, SolverTunerConfig):
            raise InvalidParameterError("config", "SolverTuner", "a SolverTunerConfig", config)
        if oracle is not None and not callable(oracle):
            raise InvalidParameterError("oracle", "SolverTuner", "a function context -> omega", oracle)
        self.config = config
        self.grid = grid
        self._grid_values = [float(w) for w in grid]  # ω per arm as Python floats (read every round)
        self.oracle = oracle
        k = grid.size
        self.tsallis: TsallisINF | None = None
        self.chebcb: ChebCB | None = None
        if config.learner == "tsallis-inf":
            self.tsallis = TsallisINF(TsallisINFConfig(k, config.eta_scale, config.min_cost, config.cost_scale,
                                                       config.seed))
        elif config.learner == "chebcb":
            assert config.context_low is not None and config.context_high is not None
            self.chebcb = ChebCB(ChebCBConfig(k, config.context_low, config.context_high, config.n_features,
                                              config.min_cost, config.exploration, config.seed))
        elif config.learner == "oracle" and oracle is None:
            raise InvalidParameterError("oracle", "SolverTuner", "a function context -> omega for learner='oracle'",
                                        oracle)

    @property
    def learns(self) -> bool:
        return self.tsallis is not None or self.chebcb is not None

    def scalar(self, context: ContextLike) -> float | None:
        if type(context) is float and math.isfinite(context):  # the common case, checked cheaply
            return context
        if context is None:
            return None
        if isinstance(context, Mapping):
            if self.config.context_key in context:
                value = context[self.config.context_key]
            elif len(context) == 1:
                value = next(iter(context.values()))
            else:
                raise InputDataError(f"The context has no {self.config.context_key!r} entry: {dict(context)!r}.")
        else:
            value = context
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InputDataError(f"The context must be a real number. Got {value!r} instead.")
        if not math.isfinite(float(value)):
            raise InputDataError(f"The context must be finite. Got {value!r} instead.")
        return float(value)

    def draw(self, context: ContextLike) -> tuple[float, int | None, float]:
        """ω to use, its grid index (None off-grid) and the probability it was drawn with."""
        learner = self.config.learner
        if self.tsallis is not None:
            arm = self.tsallis.sample()
            return self._grid_values[arm], arm, self.tsallis.last_probability
        if self.chebcb is not None:
            x = self.scalar(context)
            if x is None:
                raise InputDataError("learner='chebcb' needs a context in ask(context=...).")
            arm = self.chebcb.sample(x)
            return self._grid_values[arm], arm, math.nan
        if learner == "gauss-seidel":
            return 1.0, None, 1.0
        if learner == "fixed":
            return self.config.fixed_omega, None, 1.0
        assert self.oracle is not None
        raw = self.oracle(context)
        omega = to_float(raw)  # NaN for a string, None or an array: refused below
        if isinstance(raw, bool) or not 0.0 < omega < 2.0:
            raise InputDataError(f"The oracle must return an omega in (0, 2). Got {raw!r} instead.")
        return omega, None, 1.0

    def arm_of(self, omega: float) -> int:
        arm = int(np.argmin(np.abs(self.grid - float(omega))))
        if not math.isclose(float(self.grid[arm]), float(omega), rel_tol=1e-9, abs_tol=1e-12):
            raise InputDataError(f"omega={omega!r} is not on the learner's grid {self.grid.tolist()}.")
        return arm

    def learn(self, arm: int | None, cost: float, probability: float | None, context: ContextLike) -> None:
        if self.tsallis is not None and arm is not None:
            p = probability if probability is not None else float(self.tsallis.probabilities()[arm])
            self.tsallis.update(arm, cost, p)
        elif self.chebcb is not None and arm is not None:
            x = self.scalar(context)
            if x is None:
                raise InputDataError("learner='chebcb' needs the context of the round it learns from.")
            self.chebcb.update(arm, cost, x)


class SolverTuner:
    """Chooses ω for each linear system of a sequence and learns from the iteration counts.

    Args:
        config: The learner and its settings.
        oracle: For ``learner="oracle"`` only: a function ``context -> ω``.

    Example:
        >>> tuner = SolverTuner(SolverTunerConfig(learner="tsallis-inf", seed=0))
        >>> omega = tuner.ask()
        >>> tuner.tell(omega, iterations=120)
        >>> tuner.n_told
        1
    """

    def __init__(self, config: SolverTunerConfig | None = None,
                 oracle: Callable[[Any], float] | None = None) -> None:
        self.config = config if config is not None else SolverTunerConfig()
        if not isinstance(self.config, SolverTunerConfig):
            raise InvalidParameterError("config", "SolverTuner", "a SolverTunerConfig", config)
        self._policy = _Policy(self.config, self.config.grid, oracle)
        self._pending: dict[float, list[tuple[int | None, float, ContextLike]]] = {}
        self.n_told = 0
        self.total_cost = 0.0

    @property
    def grid(self) -> np.ndarray:
        """The grid of ω the learners choose from, shape ``(n_omegas,)``."""
        return self._policy.grid.copy()

    def probabilities(self, context: ContextLike = None) -> np.ndarray | None:
        """The learner's current distribution over the grid (None for fixed / oracle policies)."""
        if self._policy.tsallis is not None:
            return self._policy.tsallis.probabilities()
        if self._policy.chebcb is not None:
            x = self._policy.scalar(context)
            if x is None:
                raise InputDataError("learner='chebcb' needs a context.")
            return self._policy.chebcb.probabilities(x)
        return None

    def ask(self, context: ContextLike = None) -> float:
        """The ω to use for the next system.

        Args:
            context: A scalar describing the system (or a mapping holding it under
                `SolverTunerConfig.context_key`); required by "chebcb" and passed to an oracle.
        """
        omega, arm, p = self._policy.draw(context)
        self._pending.setdefault(omega, []).append((arm, p, context))
        return omega

    def tell(self, omega: float, iterations: float, context: ContextLike = None) -> None:
        """Report the cost (iterations, or seconds) of solving with ``omega``.

        Args:
            omega: The ω that was used (normally the value `ask` returned).
            iterations: Its cost; must be finite (report the iteration cap for a failed solve).
            context: The system's context, when ``omega`` was not returned by `ask` (replaying a log).
        """
        if isinstance(iterations, bool) or not math.isfinite(to_float(iterations)):
            raise InputDataError(f"The 'iterations' argument of SolverTuner.tell (the cost) must be a finite number. "
                                 f"Got {iterations!r} instead.")
        if isinstance(omega, bool) or not math.isfinite(to_float(omega)):
            raise InputDataError(f"The 'omega' argument of SolverTuner.tell must be a finite number. Got {omega!r}.")
        queue = self._pending.get(float(omega))
        if queue:
            arm, p, ctx = queue.pop(0)
            prob: float | None = p
            if context is not None:
                ctx = context
        else:
            arm = self._policy.arm_of(omega) if self._policy.learns else None
            prob, ctx = None, context
        self._policy.learn(arm, float(iterations), prob, ctx)
        self.n_told += 1
        self.total_cost += float(iterations)


class SolverTunerOptimizer(OptimizerBase):
    """The solver-tuning learners as an `Optimizer` for a `Study` over one parameter (ω).

    The space must hold exactly one parameter: a ``Choice`` of numbers (the grid) or a ``Real``
    (gridded with `SolverTunerConfig.n_omegas` points). The study's objective returns the cost
    (iterations); the context of ``Study.ask(context={...})`` reaches the learner. A FAILED trial
    is learned as the largest cost seen so far (fail closed), or skipped when nothing was seen yet.

    Batches (``ask(n > 1)``) draw distinct grid points by successive sampling without replacement;
    the importance weight of each then uses its single-draw probability, an approximation.
    """

    def __init__(self, config: SolverTunerConfig | None = None,
                 oracle: Callable[[Any], float] | None = None) -> None:
        self.config = config if config is not None else SolverTunerConfig()
        if not isinstance(self.config, SolverTunerConfig):
            raise InvalidParameterError("config", "SolverTunerOptimizer", "a SolverTunerConfig", config)
        if oracle is not None and not callable(oracle):
            raise InvalidParameterError("oracle", "SolverTunerOptimizer", "a function context -> omega", oracle)
        self.oracle = oracle
        self._policy: _Policy | None = None
        self._name = "omega"
        self._pending: dict[tuple[float, Any], list[float]] = {}
        self._max_cost = -math.inf

    def setup(self, problem: ProblemSpec) -> None:
        super().setup(problem)
        space = problem.space
        if len(space.names) != 1:
            raise InvalidParameterError("space", "SolverTunerOptimizer", "a space with exactly one parameter (ω)",
                                        space.names)
        self._name = space.names[0]
        param = space.params[self._name]
        if isinstance(param, Choice):
            try:
                grid = np.array([float(o) for o in param.options])
            except (TypeError, ValueError) as exc:
                raise InvalidParameterError("space", "SolverTunerOptimizer", "a Choice of numbers", param) from exc
        elif isinstance(param, Real) and not param.log:
            grid = np.linspace(param.low, param.high, self.config.n_omegas)
        else:
            raise InvalidParameterError("space", "SolverTunerOptimizer", "a Choice of numbers or a linear Real",
                                        param)
        self._options = list(param.options) if isinstance(param, Choice) else None
        self._policy = _Policy(self.config, grid, self.oracle)

    @property
    def policy(self) -> _Policy:
        if self._policy is None:
            raise GuardoptError("SolverTunerOptimizer.setup(problem) must be called before ask().")
        return self._policy

    def _value(self, arm: int | None, omega: float) -> Any:
        if self._options is not None:
            if arm is None:
                arm = int(np.argmin(np.abs(self.policy.grid - omega)))
            return self._options[arm]
        return float(omega)

    def ask(self, n: int = 1, context: Mapping[str, Any] | None = None) -> list[Params]:
        n = self._check_n(n, "SolverTunerOptimizer")
        policy = self.policy
        out: list[Params] = []
        seen: set[float] = set()
        for _ in range(100 * n):
            omega, arm, p = policy.draw(context)
            if omega in seen and len(seen) < policy.grid.size:
                continue
            seen.add(omega)
            self._pending.setdefault((omega, _context_key(context)), []).append(p)
            out.append({self._name: self._value(arm, omega)})
            if len(out) == n:
                break
        while len(out) < n:  # more points asked than the grid has: repeats are unavoidable
            out.append(dict(out[len(out) % len(seen)]))
        return out

    def tell(self, trial: Trial) -> None:
        policy = self.policy
        omega = float(trial.params[self._name])
        probs = self._pending.get((omega, _context_key(trial.context)))
        prob = probs.pop(0) if probs else None
        loss = self.problem.loss(trial) if trial.state is TrialState.COMPLETE else math.nan
        if not math.isfinite(loss):
            if not math.isfinite(self._max_cost):
                return
            loss = self._max_cost  # fail closed: a failed solve costs as much as the worst one seen
        self._max_cost = max(self._max_cost, loss)
        arm = policy.arm_of(omega) if policy.learns else None
        policy.learn(arm, loss, None if prob is None or math.isnan(prob) else prob, trial.context)


def _context_key(context: Mapping[str, Any] | None) -> Any:
    if context is None:
        return None
    try:
        return tuple(sorted((str(k), repr(v)) for k, v in context.items()))
    except AttributeError:
        return repr(context)
