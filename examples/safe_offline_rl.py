"""Safe offline RL on your own logged data: BC-Safe and FISOR from a log of a risky controller.

The "log" here is made by a scripted speed controller on the velocity-limited pendulum; replace
`make_log` with your own arrays in the same dictionary layout (observations, actions in [-1, 1],
rewards, costs, next_observations, terminals, timeouts) and the rest runs unchanged.

Training is kept short so that the example runs in seconds; FISOR's reachability critic needs
thousands of gradient steps to converge (see docs/safe_offline_rl.md), so its numbers here are not
the method's. Run: python examples/safe_offline_rl.py   (about 10 s of CPU)
"""

from __future__ import annotations

import numpy as np
import torch

from guardopt.problems.safe_control import VelocityPendulum, collect_dataset
from guardopt.rl import BC, FISOR, BCConfig, FISORConfig, episode_sums, evaluate, reward_range, validate_dataset


def make_log() -> dict[str, np.ndarray]:
    """Stand-in for a user's logs: 150 pendulum episodes from careless to careful controllers."""
    raw = collect_dataset("VelocityPendulum", episodes=150, seed=1)
    keys = ("observations", "actions", "rewards", "costs", "next_observations", "terminals", "timeouts")
    return {k: raw[k] for k in keys}


def main() -> None:
    torch.set_num_threads(1)
    data = validate_dataset(make_log())
    kappa = VelocityPendulum.cost_limit
    costs = episode_sums(data, "costs")
    print(f"log: {len(costs)} episodes, {np.mean(costs > kappa):.0%} exceed the cost limit {kappa:g}")
    learners = {
        "BC-All": BC(BCConfig(mode="all", steps=300, hidden=64)),
        "BC-Safe": BC(BCConfig(mode="safe", cost_limit=kappa, steps=300, hidden=64)),
        "FISOR": FISOR(FISORConfig(steps=150, hidden=64, candidates=8, constraint="cost")),
    }
    for name, learner in learners.items():
        learner.fit(data, seed=0)
        ev = evaluate(learner, lambda n: VelocityPendulum(num_envs=n), episodes=10, seed=5,
                      reward_range=reward_range(data), cost_limit=kappa)
        print(f"{name:8s} normalized reward {ev.reward:5.2f}   normalized cost {ev.cost:5.2f}")


if __name__ == "__main__":
    main()
