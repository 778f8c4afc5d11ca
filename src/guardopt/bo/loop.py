"""The ask/tell bookkeeping every GP optimizer in `guardopt.bo` shares.

A scrambled Sobol initial design, then model-based suggestions; points handed out but not yet told
are *pending* (the model fantasizes them, and they are never proposed twice), failed points are
remembered so they are never proposed again, and a batch computed at once is handed out over the
next asks. `GPOptimizer` (one objective) and `MultiObjectiveGP` (several) differ only in what one
observation is and in how a suggestion is computed: `_observed_loss` and `_suggest`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from guardopt.bo.encoding import EncodedSpace
from guardopt.core.errors import check_int
from guardopt.core.optimizer import OptimizerBase
from guardopt.core.problem import ProblemSpec
from guardopt.core.space import Params
from guardopt.core.trial import Trial

__all__ = ["GPLoop"]


class GPLoop(OptimizerBase):
    """Initial design, pending and failed points, batches: the loop around a GP's suggestions.

    Subclasses set ``self.config`` (with ``n_initial`` and ``batch_size``) before calling
    ``__init__``'s bookkeeping through `_init_loop`, and implement `_observed_loss` and `_suggest`.
    """

    _owner = "GPLoop"
    config: Any  # the subclass's frozen config (read: ``n_initial``, ``batch_size``)

    def _init_loop(self, seed: int | None) -> None:
        if seed is not None:
            check_int(seed, "seed", self._owner, low=0)
        self.seed = seed
        self._base = int(seed) if seed is not None else int(np.random.default_rng().integers(2**63))
        self._reset_observations()

    def _reset_observations(self) -> None:
        self._x: list[np.ndarray] = []
        self._params: list[Params] = []
        self._numbers: list[int] = []  # the told trial's number, per row of ``_x``
        self._loss: list[Any] = []
        self._resid: list[np.ndarray] = []
        self._failed: list[np.ndarray] = []
        self._pending: list[np.ndarray] = []
        self._queue: list[Params] = []
        self._told = 0
        self._index = 0

    def _setup_design(self, problem: ProblemSpec) -> None:
        # A setup starts a new problem: what was told for another one must not leak into this model
        # (one optimizer object handed to a second study would otherwise model both studies' data).
        self._reset_observations()
        self._enc = EncodedSpace(problem.space)
        n_initial = getattr(self.config, "n_initial", None)
        self._n_initial = n_initial if n_initial is not None else int(np.clip(2 * problem.space.dim, 5, 10))
        self._design = problem.space.sobol(self._n_initial, seed=self._base % (2**32))

    # -- hooks ----------------------------------------------------------------------------------

    def _observed_loss(self, trial: Trial) -> Any | None:
        """The loss to model for a told trial, or None when it failed (its point is then avoided)."""
        raise NotImplementedError

    def _suggest(self, q: int, chosen: list[Params]) -> list[Params]:
        """``q`` new points given the ones already ``chosen`` in this ask."""
        raise NotImplementedError

    # -- protocol -------------------------------------------------------------------------------

    def ask(self, n: int = 1, context: Mapping[str, Any] | None = None) -> list[Params]:
        self._check_n(n, self._owner)
        space = self.problem.space
        out: list[Params] = []
        while len(out) < n and self._queue:
            out.append(self._queue.pop(0))
        while len(out) < n:
            index = max(self._index, self._told)
            if index < self._n_initial:
                p = self._design[index]
                self._index = index + 1
                if self._is_new(space.encode(p), out):
                    out.append(p)
                continue
            if len(self._loss) < 2:
                # Too few values for a GP (the design failed): random points not tried before.
                rng = np.random.default_rng([self._base, 1, index])
                self._index = index + 1
                draws = [space.decode(u) for u in self._enc.random(64, rng)]
                fresh = [p for p in draws if self._is_new(space.encode(p), out)]
                out.append(fresh[0] if fresh else draws[0])
                continue
            q = max(n - len(out), int(getattr(self.config, "batch_size", 1)))
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                # Losses or residuals near the float64 limit overflow inside the acquisitions to
                # infinite scores, which still rank; the library stays quiet about it.
                batch = self._suggest(q, out)
            take = n - len(out)
            out.extend(batch[:take])
            self._queue.extend(batch[take:])
        for p in out:
            self._pending.append(space.encode(p))
        return out

    def tell(self, trial: Trial) -> None:
        self._told += 1
        space = self.problem.space
        try:
            u = space.encode(trial.params)
        except Exception:  # a stored trial from a different space version: nothing to learn
            return
        for i, pu in enumerate(self._pending):
            if np.array_equal(pu, u):
                del self._pending[i]
                break
        loss = self._observed_loss(trial)
        if loss is None:
            self._failed.append(u)
            return
        self._x.append(u)
        self._params.append(dict(trial.params))
        self._numbers.append(trial.number)
        self._loss.append(loss)
        self._resid.append(self.problem.residuals(trial))

    def _is_new(self, u: np.ndarray, chosen: list[Params]) -> bool:
        space = self.problem.space
        others = self._x + self._failed + self._pending + [space.encode(p) for p in chosen]
        return not any(np.max(np.abs(u - o)) < 1e-9 for o in others)
