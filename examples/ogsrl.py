"""Guarded model-based policy optimization (OGSRL) on your own logged dosing decisions.

Your system: a drug whose concentration decays by 20% per step, c' = 0.8·c + 0.5·dose, dose in
[0, 2] (the action a ∈ [−1, 1] maps to dose = a + 1). The goal is c ≈ 1 (reward −|c − 1|); above 2 it
is toxic (cost 1). You only have a log of a noisy proportional controller. This example learns a
dynamics model and a guardian from the log, trains a guarded and an unguarded policy in the model,
and checks both on the true system: how often they leave the data's support, their toxic steps and
their return. Runs in about 15 seconds on one core.
"""

from __future__ import annotations

import numpy as np
import torch

from guardopt.rl import OGSRL, DynamicsConfig, GaussianEnsemble, Guardian, GuardianConfig, OGSRLConfig

STEPS = 20


def true_step(c: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nxt = 0.8 * c + 0.5 * (a[:, 0] + 1.0)
    return nxt, -np.abs(nxt - 1.0), (nxt > 2.0).astype(float)


def logged_data(episodes: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The log: a controller dosing 0.4 + 0.8·(1 − c) with noise, from random starting levels."""
    c = rng.uniform(0.0, 1.5, episodes)
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("observations", "actions", "rewards", "costs",
                                                         "next_observations", "terminals", "timeouts")}
    for t in range(STEPS):
        dose = np.clip(0.4 + 0.8 * (1.0 - c) + 0.15 * rng.standard_normal(episodes), 0.0, 2.0)
        a = (dose - 1.0)[:, None]
        nxt, r, cost = true_step(c, a)
        for k, v in (("observations", c[:, None]), ("actions", a), ("rewards", r), ("costs", cost),
                     ("next_observations", nxt[:, None]), ("terminals", np.zeros(episodes, bool)),
                     ("timeouts", np.full(episodes, t == STEPS - 1))):
            rows[k].append(v)
        c = nxt
    out = {}
    for k, v in rows.items():  # (time, episode, ...) -> episode after episode
        arr = np.swapaxes(np.stack(v), 0, 1)
        out[k] = arr.reshape(episodes * STEPS, -1) if arr.ndim == 3 else arr.reshape(-1)
    return out


def main() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    data = logged_data(200, rng)
    model = GaussianEnsemble(DynamicsConfig(members=3, elites=2, hidden=32, max_epochs=20)).fit(data, seed=0)
    guardian = Guardian(GuardianConfig(alpha=0.05)).fit(data["observations"], data["actions"])

    def model_step(obs: np.ndarray, act: np.ndarray, r: np.random.Generator):
        nxt, reward, _, _ = model.step(obs, act, r, deterministic=True)
        return nxt, reward, (nxt[:, 0] > 2.0).astype(float)  # the toxicity boundary, known a priori

    starts = data["observations"][::STEPS]
    config = OGSRLConfig(iterations=30, episodes=32, horizon=STEPS, hidden=32, epochs=4, cost_limit=1.0,
                         ood_penalty=2.0, warm_start_steps=200)
    for name, guard in (("guarded (OGSRL)", guardian), ("unguarded (MB-PPO-Lag)", None)):
        policy = OGSRL(config).fit(model_step, starts, guardian=guard, seed=0, reference_obs=data["observations"],
                                   behaviour=(data["observations"], data["actions"]))
        c = np.random.default_rng(1).uniform(0.0, 1.5, 100)
        ret = cost = outside = 0.0
        for _ in range(STEPS):
            a = policy.act(c[:, None])
            outside += float((~guardian.contains(c[:, None], a)).mean())
            c, r, k = true_step(c, a)
            ret += float(r.mean())
            cost += float(k.mean())
        print(f"{name:24s} return {ret:7.2f}  toxic steps/episode {cost:5.2f}  "
              f"outside the data's support {outside / STEPS:6.1%}")


if __name__ == "__main__":
    main()
