"""The protocol every online method implements, and the simplest one: random search."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from guardopt.core.errors import GuardoptError, InvalidParameterError, check_int
from guardopt.core.problem import ProblemSpec
from guardopt.core.space import Params
from guardopt.core.trial import Trial


@runtime_checkable
class Optimizer(Protocol):
    """An online method that a `Study` drives.

    The study calls `setup` once, then alternates `ask` and `tell`. `tell` receives every finished
    trial, COMPLETE or FAILED, in the order they finished; resuming a stored study means telling a
    fresh optimizer every stored finished trial, in order. With the same seed and the same tells,
    an optimizer must ask the same parameters, also in another process.
    """

    def setup(self, problem: ProblemSpec) -> None:
        """Receive the problem (space, direction, constraints) before the first ask."""

    def ask(self, n: int = 1, context: Mapping[str, Any] | None = None) -> list[Params]:
        """Return ``n`` distinct parameter sets to evaluate next."""

    def tell(self, trial: Trial) -> None:
        """Receive a finished trial (COMPLETE or FAILED)."""


class OptimizerBase:
    """Shared bookkeeping: the problem, and an error if `ask` comes before `setup`."""

    _problem: ProblemSpec | None = None

    def setup(self, problem: ProblemSpec) -> None:
        self._problem = problem

    @property
    def problem(self) -> ProblemSpec:
        if self._problem is None:
            raise GuardoptError(f"{type(self).__name__}.setup(problem) must be called before ask().")
        return self._problem

    @staticmethod
    def _check_n(n: int, owner: str) -> int:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidParameterError("n", f"{owner}.ask", "a positive integer", n)
        return n


class RandomSearch(OptimizerBase):
    """Uniform random search over the space (the floor every method is compared with).

    Point ``i`` of the sequence depends only on the seed and ``i``. A fresh search that is told the
    ``N`` finished trials of a stored study (what `Study.load` does) therefore continues with point
    ``N`` instead of repeating the first points.

    Args:
        seed: Seed of the random stream (a non-negative integer); the same seed gives the same
            sequence of asks, also in another process. None draws one from the OS.
        n_sobol: How many initial points come from a scrambled Sobol design before sampling
            uniformly (0 for plain uniform sampling).

    Example:
        >>> import guardopt as go
        >>> opt = go.RandomSearch(seed=0)
        >>> opt.setup(go.ProblemSpec(go.Space({"x": go.Real(0, 1)})))
        >>> len(opt.ask(3))
        3
    """

    def __init__(self, seed: int | None = None, n_sobol: int = 0) -> None:
        if seed is not None:
            check_int(seed, "seed", "RandomSearch", low=0)
        self.seed = seed
        self.n_sobol = check_int(n_sobol, "n_sobol", "RandomSearch", low=0)
        self._base = int(seed) if seed is not None else int(np.random.default_rng().integers(2**63))
        self._index = 0
        self._told = 0
        self._design: list[Params] = []

    def setup(self, problem: ProblemSpec) -> None:
        super().setup(problem)
        self._design = problem.space.sobol(self.n_sobol, seed=self._base) if self.n_sobol else []

    def _point(self, i: int) -> Params:
        if i < len(self._design):
            return self._design[i]
        return self.problem.space.sample(1, np.random.default_rng([self._base, i]))[0]

    def ask(self, n: int = 1, context: Mapping[str, Any] | None = None) -> list[Params]:
        self._check_n(n, "RandomSearch")
        self.problem  # noqa: B018 - raises a clear error before setup
        # Normally every told trial was asked here first; after a resume the told ones come first.
        index = max(self._index, self._told)
        out: list[Params] = []
        attempts = 0
        while len(out) < n:
            p = self._point(index)
            index += 1
            attempts += 1
            # Batch asks are distinct (matters for small discrete spaces); a space with fewer
            # points than the batch cannot be, so repeats are allowed after many tries.
            if p not in out or attempts > 100 * n:
                out.append(p)
        self._index = index
        return out

    def tell(self, trial: Trial) -> None:
        """Random search learns nothing from results; it only counts them (for resuming)."""
        self._told += 1
