"""Training data for Neur2RO's value network: sampled (problem, x, ξ) with exact second-stage labels.

Following Neur2RO's data generation (Dumouchelle et al., ICLR 2024, Sec. 5; knapsack: 500 instances
× 10 first-stage decisions × 50 scenarios), each problem contributes ``n_first_stage`` decisions
``x ~ Bernoulli(1 − p)`` with ``p ~ U(0, 1)`` per decision (so sparse and dense decisions both
appear), each paired with ``n_scenarios`` scenarios from `sample_budgeted_box`. The label is the
problem's second-stage value divided by its value scale. Problems of different sizes are padded to
the largest ``n`` with a mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, check_int
from guardopt.robust.problem import TwoStageProblem, check_problem, sample_budgeted_box

__all__ = ["ValueDataset", "make_value_dataset"]


@dataclass(frozen=True)
class ValueDataset:
    """Padded samples for the set encoder (``N`` samples, items padded to ``n_max``).

    Attributes:
        x: First-stage decisions, ``(N, n_max)``. xi: scenarios, ``(N, n_max)``.
        features: ``(N, n_max, F)``. mask: 1 for real items, 0 for padding, ``(N, n_max)``.
        target: ``Q(x, ξ) / scale``, ``(N,)``. problem: index of the sample's problem, ``(N,)``.
    """

    x: np.ndarray
    xi: np.ndarray
    features: np.ndarray
    mask: np.ndarray
    target: np.ndarray
    problem: np.ndarray

    def __len__(self) -> int:
        return int(self.target.size)


def make_value_dataset(problems: Sequence[TwoStageProblem], n_first_stage: int, n_scenarios: int,
                       seed: int | np.random.Generator | None = 0) -> ValueDataset:
    """Sample decisions and scenarios for each problem and label them exactly.

    Args:
        problems: The training problems (any sizes, the same feature width).
        n_first_stage: Decisions per problem.
        n_scenarios: Scenarios per decision.
        seed: Seed or generator.
    """
    owner = "make_value_dataset"
    n_first_stage = check_int(n_first_stage, "n_first_stage", owner, 1)
    n_scenarios = check_int(n_scenarios, "n_scenarios", owner, 1)
    if not isinstance(problems, Sequence) or len(problems) == 0:
        raise InvalidParameterError("problems", owner, "a non-empty sequence of problems", problems)
    if not (seed is None or isinstance(seed, np.random.Generator)):
        seed = check_int(seed, "seed", owner, 0)  # numpy would raise its own ValueError or TypeError
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    checked = [check_problem(p, owner) for p in problems]
    n_max = max(c[0] for c in checked)
    width = {c[2].shape[1] for c in checked}
    if len(width) != 1:
        raise InputDataError(f"The 'problems' argument of {owner} must share one feature width. Got {sorted(width)}.")
    f_dim = width.pop()
    m = n_first_stage * n_scenarios
    total = m * len(problems)
    xs = np.zeros((total, n_max))
    xis = np.zeros((total, n_max))
    feats = np.zeros((total, n_max, f_dim))
    mask = np.zeros((total, n_max))
    target = np.zeros(total)
    owner_idx = np.zeros(total, dtype=np.int64)
    for k, (prob, (n, _, f, budget, scale)) in enumerate(zip(problems, checked)):
        p = rng.uniform(0.0, 1.0, size=(n_first_stage, 1))
        x = (rng.uniform(0.0, 1.0, size=(n_first_stage, n)) >= p).astype(float)
        x = np.repeat(x, n_scenarios, axis=0)
        xi = sample_budgeted_box(n, budget, m, rng)
        try:
            q = np.asarray(prob.second_stage_value(x, xi), dtype=float)
        except (TypeError, ValueError, OverflowError) as exc:  # strings, None, ragged lists
            raise InputDataError(f"{owner}: problem {k} returned second-stage values that are not real "
                                 f"numbers: {exc}") from exc
        if q.shape != (m,) or not np.all(np.isfinite(q)):
            raise InputDataError(f"{owner}: problem {k} returned second-stage values of shape {q.shape} "
                                 "or non-finite ones.")
        sl = slice(k * m, (k + 1) * m)
        xs[sl, :n] = x
        xis[sl, :n] = xi
        feats[sl, :n] = f[None]
        mask[sl, :n] = 1.0
        target[sl] = q / scale
        owner_idx[sl] = k
    return ValueDataset(xs, xis, feats, mask, target, owner_idx)
