"""The conformance kit every online optimizer must pass.

Use it from a test module::

    from guardopt.testing import check_optimizer

    def test_my_optimizer_conforms():
        check_optimizer(lambda seed: MyOptimizer(seed=seed))

or run the checks one by one with `OptimizerChecks`. The checks are: asked parameters are valid
points of the space; the same seed gives the same sequence of asks (also in another process); a
different seed gives a different one (where the optimizer is random at all); failed trials are
tolerated (an exception or a NaN value); a fresh optimizer told a stored history resumes; batch
asks are distinct; constraints are accepted (including a missing constraint value).
"""

from __future__ import annotations

import math
import multiprocessing as mp
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

from guardopt.core.optimizer import Optimizer
from guardopt.core.space import Choice, Integer, Real, Space
from guardopt.core.storage import InMemoryStorage
from guardopt.core.study import Study
from guardopt.core.trial import TrialState

OptimizerFactory = Callable[[int], Optimizer]


def default_space() -> Space:
    """A small mixed space: two reals (one log-scaled), an integer and a choice."""
    return Space({"x": Real(-2.0, 2.0), "y": Real(1e-2, 1e2, log=True), "n": Integer(1, 8), "k": Choice(["a", "b"])})


def default_objective(p: Mapping[str, Any]) -> float:
    """A smooth bowl with a categorical offset; cheap and deterministic."""
    return (p["x"] - 0.3) ** 2 + (math.log10(p["y"]) - 0.5) ** 2 + 0.1 * (p["n"] - 3) ** 2 + (p["k"] == "b") * 0.2


def default_objectives(p: Mapping[str, Any]) -> list[float]:
    """Two conflicting bowls (a multi-objective variant of `default_objective`), minimized both."""
    second = (p["x"] + 0.7) ** 2 + (math.log10(p["y"]) + 0.5) ** 2 + 0.1 * (p["n"] - 6) ** 2 + (p["k"] == "a") * 0.2
    return [default_objective(p), second]


@dataclass
class OptimizerChecks:
    """The checks, parametrized by an optimizer factory ``seed -> Optimizer``.

    Args:
        factory: Builds a fresh optimizer for a seed (must be picklable by cloudpickle for the
            cross-process check).
        space: The space to test on (default: `default_space`).
        objective: The objective (default: `default_objective`), ``params -> float``.
        n_trials: Trials per run; keep it small for expensive optimizers.
        batch_size: Size of the batch ask that must be distinct.
        constraints: Whether the optimizer is checked with a declared outcome constraint.
        deterministic_only: Skip the "different seed differs" check for optimizers with no
            randomness (e.g. a deterministic grid).
        directions: Run the checks on a multi-objective study with these directions (the
            objective then returns one value per direction; default for two: `default_objectives`).
    """

    factory: OptimizerFactory
    space: Space = field(default_factory=default_space)
    objective: Callable[[Mapping[str, Any]], Any] = default_objective
    n_trials: int = 12
    batch_size: int = 4
    constraints: bool = True
    deterministic_only: bool = False
    directions: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.directions is not None and self.objective is default_objective:
            self.objective = default_objectives

    def _study(self, optimizer: Optimizer, **kwargs: Any) -> Study:
        if self.directions is not None:
            return Study(self.space, optimizer=optimizer, directions=list(self.directions),  # type: ignore[arg-type]
                         **kwargs)
        return Study(self.space, optimizer=optimizer, **kwargs)

    def _run(self, seed: int, fail_every: int = 0) -> list[dict[str, Any]]:
        study = self._study(self.factory(seed))
        for i in range(self.n_trials):
            t = study.ask()
            if fail_every and i % fail_every == fail_every - 1:
                # alternate the two ways a trial fails: an exception, and a NaN objective value
                study.tell(t, RuntimeError("injected failure") if (i // fail_every) % 2 == 0 else math.nan)
            else:
                study.tell(t, self.objective(t.params))
        return [dict(t.params) for t in study.trials]

    def check_valid_params(self) -> None:
        """Every asked point lies in the space."""
        for p in self._run(0):
            self.space.validate(p)

    def check_same_seed_same_sequence(self) -> None:
        """Two runs with one seed ask the same points."""
        a, b = self._run(7), self._run(7)
        assert a == b, "the same seed gave different sequences of asks"

    def check_different_seed_differs(self) -> None:
        """Two seeds give different sequences (skipped for deterministic optimizers)."""
        if self.deterministic_only:
            return
        assert self._run(1) != self._run(2), "different seeds gave identical sequences"

    def check_same_sequence_in_other_process(self) -> None:
        """A spawned process (fresh hash seed, fresh imports) asks the same points."""
        here = self._run(11)
        ctx = mp.get_context("spawn")
        with ctx.Pool(1) as pool:
            there = pool.apply(_run_pickled, (cloudpickle.dumps(self), 11))
        assert here == there, "the same seed gave a different sequence in another process"

    def check_failed_trials_tolerated(self) -> None:
        """Failed trials (an exception, a NaN value) do not break the optimizer; it keeps asking valid points."""
        params = self._run(3, fail_every=3)
        assert len(params) == self.n_trials
        for p in params:
            self.space.validate(p)

    def check_resume(self) -> None:
        """A fresh optimizer told a stored history (as `Study.load` does) goes on asking valid points."""
        storage = InMemoryStorage()
        first = self._study(self.factory(9), name="resume", storage=storage)
        for i in range(max(self.n_trials // 2, 3)):
            t = first.ask()
            first.tell(t, RuntimeError("injected failure") if i == 1 else self.objective(t.params))
        first.ask()  # left RUNNING, as after a crash: pending, never told
        resumed = self._study(self.factory(9), name="resume", storage=storage)
        for _ in range(3):
            t = resumed.ask()
            self.space.validate(t.params)
            resumed.tell(t, self.objective(t.params))
        numbers = [t.number for t in resumed.trials]
        assert numbers == list(range(len(numbers))), "trial numbers are not contiguous after a resume"

    def check_batch_distinct(self) -> None:
        """A batch ask returns distinct points, also after some history."""
        study = self._study(self.factory(5))
        for _ in range(max(self.batch_size, 4)):
            t = study.ask()
            study.tell(t, self.objective(t.params))
        batch = study.ask_batch(self.batch_size)
        keys = {tuple(sorted((k, repr(v)) for k, v in t.params.items())) for t in batch}
        assert len(keys) == self.batch_size, "a batch ask returned duplicate points"
        for t in batch:
            study.tell(t, self.objective(t.params))

    def check_constraints_accepted(self) -> None:
        """With a declared constraint (sometimes violated, sometimes missing) it runs and stays valid."""
        if not self.constraints:
            return
        study = self._study(self.factory(4), constraints={"c": ("<=", 0.0)})
        key = "values" if self.directions is not None else "value"
        for i in range(self.n_trials):
            t = study.ask()
            value = self.objective(t.params)
            if i % 4 == 3:
                study.tell(t, {key: value})  # missing constraint value: counts as violated
            else:
                # violated on about half of the space, whatever its parameter names
                study.tell(t, {key: value, "c": float(self.space.encode(t.params)[0]) - 0.5})
        done = [t for t in study.trials if t.state is TrialState.COMPLETE]
        assert len(done) == self.n_trials
        chosen = study.pareto_front() if self.directions is not None else [b for b in [study.best()] if b]
        for best in chosen:
            assert best.constraints.get("c") is not None and best.constraints["c"] <= 0.0

    def run_all(self, cross_process: bool = True) -> None:
        """Run every check (the cross-process one spawns a Python process: ~1-2 s)."""
        self.check_valid_params()
        self.check_same_seed_same_sequence()
        self.check_different_seed_differs()
        self.check_failed_trials_tolerated()
        self.check_resume()
        self.check_batch_distinct()
        self.check_constraints_accepted()
        if cross_process:
            self.check_same_sequence_in_other_process()


def _run_pickled(payload: bytes, seed: int) -> list[dict[str, Any]]:
    checks: OptimizerChecks = cloudpickle.loads(payload)
    return checks._run(seed)


def check_optimizer(factory: OptimizerFactory, **options: Any) -> None:
    """Run the whole conformance kit on ``factory`` (see `OptimizerChecks` for options)."""
    OptimizerChecks(factory, **options).run_all()
