"""Neur2RO on your own two-stage robust knapsack: learn the second-stage value, then solve by ML-CCG.

The decision: which of 8 orders to accept today (each costs its penalty-minus-profit if it later
has to be outsourced); tomorrow, after the profit losses ξ are known, pack, repair or outsource
them. Γ bounds how many orders can go wrong at once.

The gaps printed are exact (the instance is small enough to solve exactly): a learned value function
is an estimate, and a small, briefly trained one can lose to the nominal decision, so check it where
you can before trusting it where you cannot.

Run: ``python examples/robust_knapsack.py`` (add ``--quick`` for a seconds-long smoke run).
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from guardopt.problems.knapsack import KnapsackInstance, exact_robust_solution, sample_instance
from guardopt.robust import (
    MLCCGConfig,
    SetEncoderConfig,
    make_value_dataset,
    ml_ccg,
    nominal_solution,
    train_value_network,
)


def main(quick: bool = False) -> dict[str, float]:
    torch.set_num_threads(1)  # small networks are fastest on one thread

    # 1. Your instance: weights, profits, profit losses, outsourcing penalties, repair weights.
    mine = KnapsackInstance(
        c=[120.0, 340.0, 90.0, 410.0, 260.0, 180.0, 300.0, 75.0],
        p_bar=[200.0, 420.0, 150.0, 380.0, 330.0, 240.0, 310.0, 130.0],
        p_hat=[80.0, 210.0, 40.0, 190.0, 150.0, 100.0, 160.0, 60.0],
        f=[250.0, 520.0, 190.0, 470.0, 420.0, 300.0, 390.0, 160.0],
        t=[40.0, 150.0, 30.0, 160.0, 90.0, 60.0, 110.0, 25.0],
        capacity=1400.0,
        budget=2.0,
        meta={"R": 1000.0},
    )

    # 2. Training data from instances like yours (labels are exact second-stage values), then the net.
    rng = np.random.default_rng(0)
    train = [sample_instance(int(rng.integers(6, 11)), str(rng.choice(["UN", "WC", "ASC", "SC"])),
                             seed=int(s)) for s in rng.integers(0, 10**6, size=15 if quick else 40)]
    data = make_value_dataset(train, n_first_stage=10, n_scenarios=10 if quick else 20, seed=0)
    model = train_value_network(data, SetEncoderConfig(epochs=3 if quick else 15), seed=0)
    print(f"value network: {len(data)} samples, held-out-instance MSE {model.val_mse:.2e}")

    # 3. ML-CCG, and the exact check that only a small instance allows.
    result = ml_ccg(mine, model, MLCCGConfig(), seed=0)
    exact = exact_robust_solution(mine)
    nominal = nominal_solution(mine)
    out = {}
    for name, x in (("ML-CCG", result.x), ("nominal", nominal.x), ("exact", exact.x)):
        wc = mine.worst_case(x).value
        out[name] = (wc - exact.value) / abs(exact.value)
        print(f"{name:8s} accepts {x.astype(int)}  worst-case profit {-wc:8.1f}  gap {out[name]:.2%}")
    print(f"ML-CCG: {result.iterations} iterations ({result.reason}), {result.seconds:.2f} s")
    return out


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
