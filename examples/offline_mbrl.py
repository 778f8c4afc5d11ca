"""Offline model-based RL on your own logged data: heuristics, MOPO, and a small BO over its design choices.

The "plant" is a room heater: the temperature x (in units of 10 °C above outside) moves by
x' = x + 0.1·(u − 0.3·x) with heating u ∈ [−1, 1] (cooling when negative), and the reward is
−(x − 1)² (hold 10 °C above outside). The log comes from a cautious operator who only ever used
heating in [−0.3, 0.5]. We

1. fit a Gaussian dynamics ensemble on the log;
2. compare the five uncertainty heuristics on logged actions and on actions the operator never
   took (full heating), where the model should be less sure;
3. train MOPO at its hand-tuned default and tune (heuristic, N, h, λ) with guardopt's GP-BO,
   scoring each trial in the plant (possible here because we own a simulator; with real logs only,
   use an off-policy estimate instead).

Run: ``PYTHONPATH=src python examples/offline_mbrl.py`` (about 15 s on one core).
"""

from __future__ import annotations

import numpy as np
import torch

import guardopt as go
from guardopt.bo import GPOptimizer
from guardopt.rl import HEURISTICS, MOPO, DynamicsConfig, GaussianEnsemble, MOPOConfig, MOPOSACConfig

EPISODES, STEPS = 40, 50


def plant(x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One step of the heater: next temperature and reward."""
    return x + 0.1 * (u - 0.3 * x), -((x - 1.0) ** 2)


def logged_data(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.5, 0.5, EPISODES)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("observations", "actions", "rewards", "next_observations")}
    for _ in range(STEPS):
        u = np.clip(0.1 + 0.2 * rng.standard_normal(EPISODES), -0.3, 0.5)
        x2, r = plant(x, u)
        for k, v in zip(cols, (x, u, r, x2)):
            cols[k].append(v)
        x = x2
    out = {k: np.swapaxes(np.stack(v), 0, 1).reshape(EPISODES * STEPS, -1) for k, v in cols.items()}
    out["rewards"] = out["rewards"].ravel()
    n = EPISODES * STEPS
    out.update(costs=np.zeros(n), terminals=np.zeros(n, bool), timeouts=np.arange(n) % STEPS == STEPS - 1)
    return out


def true_return(policy: MOPO, episodes: int = 20, seed: int = 123) -> float:
    x = np.random.default_rng(seed).uniform(-0.5, 0.5, episodes)
    total = np.zeros(episodes)
    for _ in range(STEPS):
        u = policy.act(x[:, None])[:, 0]
        x, r = plant(x, u)
        total += r
    return float(total.mean())


def main() -> None:
    torch.set_num_threads(1)
    data = logged_data()
    model = GaussianEnsemble(DynamicsConfig(members=7, elites=5, hidden=32, max_epochs=8)).fit(data, seed=0)

    # 2. Heuristics where the operator acted versus where it never did.
    x = np.linspace(-0.5, 1.5, 50)[:, None]
    for label, u in (("logged actions (u = 0.1)", 0.1), ("never-taken actions (u = 1)", 1.0)):
        a = np.full_like(x, u)
        pred = model.predict(x, a)
        sample = pred.next_obs_mean[0]
        scores = {name: float(fn(pred, sample).mean()) for name, fn in HEURISTICS.items()}
        print(f"{label:28s}", "  ".join(f"{k} {v:.2e}" for k, v in scores.items()))

    # 3. MOPO at the default, then a 4-trial GP-BO over the design choices.
    sac = MOPOSACConfig(hidden=32, lr=1e-3)
    schedule = {"steps": 200, "batch_size": 128, "rollout_every": 100, "rollout_batch": 200, "sac": sac}
    default = MOPO(MOPOConfig(**schedule)).fit(data, seed=0, model=model)
    print(f"default MOPO (max aleatoric, N=7, h=5, λ=1): true return {true_return(default):.2f}")

    space = go.Space({"heuristic": go.Choice(sorted(HEURISTICS)), "members": go.Integer(2, 7),
                      "horizon": go.Integer(1, 15), "penalty": go.Real(0.01, 10.0, log=True)})

    def objective(params: dict) -> float:
        learner = MOPO(MOPOConfig(heuristic=params["heuristic"], members=params["members"],
                                  horizon=params["horizon"], penalty=params["penalty"], **schedule))
        return true_return(learner.fit(data, seed=1, model=model), seed=7)  # tuning seeds

    study = go.Study(space, direction="maximize", optimizer=GPOptimizer(seed=0, n_initial=3))
    study.optimize(objective, n_trials=4)
    best = study.best_params
    tuned = MOPO(MOPOConfig(**best, **schedule)).fit(data, seed=0, model=model)
    print(f"BO-tuned {best}: true return {true_return(tuned):.2f} (fresh evaluation states)")


if __name__ == "__main__":
    main()
