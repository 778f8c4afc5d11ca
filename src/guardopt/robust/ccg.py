"""ML-CCG: column-and-constraint generation with a learned second-stage value (Neur2RO, ICLR 2024, Alg. 1).

Classical CCG for ``min_x max_{ξ ∈ Ξ} c·x + Q(x, ξ)`` alternates a *master* over a finite scenario
set and an *adversary* that finds the worst scenario of the master's decision. Neur2RO replaces
``Q`` by the set-encoder network in both:

1. master: ``min_x c·x + max_{ξ ∈ S} s·NN(x, ξ)``, a MILP (`guardopt.robust.milp_encoding`);
2. adversary: ``ξ̂ ∈ argmax_{ξ ∈ Ξ} NN(x̂, ξ)`` by projected gradient ascent
   (`guardopt.robust.adversary`);
3. stop when the adversary's predicted worst case exceeds the master's ``θ`` by at most ``tol``
   (relative to the master's objective), when ``ξ̂`` repeats a scenario of ``S`` (L1 distance
   below ``repeat_tol``), or after ``max_iterations`` masters; otherwise add ``ξ̂`` to ``S``.

``S`` starts with the nominal scenario ``ξ = 0``. The paper's stopping test compares the absolute
gap; here it is one-sided (an adversary that finds nothing worse than the master's own worst case
has certified the master's decision, for the network), which can only stop earlier, never later.
The returned decision is the last master's. Its true worst case must be evaluated by the problem
(e.g. `guardopt.problems.knapsack.KnapsackInstance.worst_case`): the loop only knows the network.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import InvalidParameterError, check_int
from guardopt.robust.adversary import pga_worst_case
from guardopt.robust.config import MLCCGConfig
from guardopt.robust.milp_encoding import predict, solve_master
from guardopt.robust.problem import TwoStageProblem, check_problem
from guardopt.robust.set_encoder import SetEncoder, TrainedValueNetwork

__all__ = ["MLCCGResult", "ml_ccg"]


@dataclass(frozen=True)
class MLCCGResult:
    """What ML-CCG returned.

    Attributes:
        x: The decision of the last master, shape ``(n,)``.
        objective: The last master's objective ``c·x + θ`` (a prediction, not a true value).
        scenarios: The scenario set ``S``, shape ``(k, n)``.
        iterations: Masters solved.
        converged: Whether it stopped by the tolerance or a repeated scenario (not the cap).
        reason: ``"tol"``, ``"repeat"`` or ``"max_iterations"``.
        gaps: Relative gap (adversary − master θ) / |master objective| after each master.
        encoding_error: Largest |MILP's prediction − numpy forward pass| at the masters' decisions,
            in scaled units: the big-M encoding's self-check.
        master_seconds, adversary_seconds: Time spent in each part.
        seconds: Total wall time.
    """

    x: np.ndarray
    objective: float
    scenarios: np.ndarray
    iterations: int
    converged: bool
    reason: str
    gaps: tuple[float, ...]
    encoding_error: float
    master_seconds: float
    adversary_seconds: float
    seconds: float


def ml_ccg(problem: TwoStageProblem, model: TrainedValueNetwork | SetEncoder, config: MLCCGConfig | None = None,
           seed: int = 0) -> MLCCGResult:
    """Run Neur2RO's ML-CCG on one problem.

    Args:
        problem: A `TwoStageProblem` (binary first stage, budgeted-box Ξ).
        model: The trained value network (or a bare `SetEncoder`).
        config: Iteration cap, tolerances, adversary.
        seed: Seeds the adversary's random starts (a non-negative integer).
    """
    cfg = config or MLCCGConfig()
    if not isinstance(cfg, MLCCGConfig):
        raise InvalidParameterError("config", "ml_ccg", "an MLCCGConfig", type(config).__name__)
    if isinstance(model, TrainedValueNetwork):
        net = model.net
    elif isinstance(model, SetEncoder):
        net = model
    else:
        raise InvalidParameterError("model", "ml_ccg", "a TrainedValueNetwork or SetEncoder", type(model).__name__)
    seed = check_int(seed, "seed", "ml_ccg", 0)  # numpy's SeedSequence refuses negative seeds
    n, cost, feats, budget, scale = check_problem(problem, "ml_ccg")
    if feats.shape[1] != net.feature_dim:
        raise InvalidParameterError("problem.features", "ml_ccg", f"{net.feature_dim} features per item (the "
                                    "network's)", feats.shape[1])
    weights = net.weights()
    rng = np.random.default_rng([seed, 2024])
    t0 = time.perf_counter()
    scenarios = [np.zeros(n)]
    gaps: list[float] = []
    enc_err = 0.0
    t_master = t_adv = 0.0
    reason = "max_iterations"
    master = None
    for _ in range(cfg.max_iterations):
        master = solve_master(weights, feats, cost, scale, np.array(scenarios), mip_gap=cfg.master_gap,
                              time_limit=cfg.master_time_limit)
        t_master += master.seconds
        direct = scale * predict(weights, master.x, np.array(scenarios), feats)
        enc_err = max(enc_err, float(np.max(np.abs(direct - master.predicted))))
        ta = time.perf_counter()
        adv = pga_worst_case(net, feats, master.x, budget, cfg.adversary, rng)
        t_adv += time.perf_counter() - ta
        # The master's own worst case at its decision, from the forward pass (θ can sit above it
        # only by the MIP tolerance).
        worst_in_master = float(direct.max())
        gap = (scale * adv.value - worst_in_master) / max(abs(master.objective), 1e-12)
        gaps.append(gap)
        if gap <= cfg.tol:
            reason = "tol"
            break
        if min(float(np.abs(adv.xi - s).sum()) for s in scenarios) < cfg.repeat_tol:
            reason = "repeat"
            break
        scenarios.append(adv.xi)
    assert master is not None
    return MLCCGResult(x=master.x, objective=master.objective, scenarios=np.array(scenarios), iterations=len(gaps),
                       converged=reason != "max_iterations", reason=reason, gaps=tuple(gaps), encoding_error=enc_err,
                       master_seconds=t_master, adversary_seconds=t_adv, seconds=time.perf_counter() - t0)
