"""Pruning an epoch-wise training: time saved at equal final quality.

A linear classifier (scikit-learn's SGDClassifier, trained epoch by epoch with ``partial_fit``) on
the digits data that scikit-learn ships. The objective is written Optuna-style: it suggests its
hyperparameters, reports the validation accuracy after each epoch and stops when the pruner says so.

The same seeded random search proposes the same configurations with and without a pruner, so the
comparison isolates what pruning does: how much training time it saves, and whether the best
configuration found (judged on a test split it never saw) is as good.

    python examples/pruning.py                           # one seed, 10 trials (about 15 s of CPU)
    python examples/pruning.py --seeds 3 --trials 40     # the table in docs/studies.md
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import guardopt as go
from guardopt.core.define_by_run import TrialPruned
from guardopt.core.pruners import HyperbandPruner, MedianPruner, SuccessiveHalvingPruner

EPOCHS = 27

X, y = load_digits(return_X_y=True)
X_trval, X_test, y_trval, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
X_train, X_val, y_train, y_val = train_test_split(X_trval, y_trval, test_size=0.33, random_state=0, stratify=y_trval)
scaler = StandardScaler().fit(X_train)
X_train, X_val, X_test = scaler.transform(X_train), scaler.transform(X_val), scaler.transform(X_test)
CLASSES = np.unique(y)


def make_model(params: dict) -> SGDClassifier:
    return SGDClassifier(loss=params["loss"], alpha=params["alpha"], learning_rate="constant",
                         eta0=params["eta0"], random_state=0)


def train_epoch(model: SGDClassifier, epoch: int) -> None:
    order = np.random.default_rng(epoch).permutation(len(X_train))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.partial_fit(X_train[order], y_train[order], classes=CLASSES)


def objective(trial):  # an Optuna-style objective: it runs unchanged under Optuna too
    params = {
        "loss": trial.suggest_categorical("loss", ["hinge", "log_loss", "modified_huber"]),
        "alpha": trial.suggest_float("alpha", 1e-6, 1e-1, log=True),
        "eta0": trial.suggest_float("eta0", 1e-5, 1.0, log=True),
    }
    model = make_model(params)
    accuracy = 0.0
    for epoch in range(1, EPOCHS + 1):
        train_epoch(model, epoch)
        accuracy = model.score(X_val, y_val)
        trial.report(accuracy, epoch)
        if trial.should_prune():
            raise TrialPruned()
    return accuracy


def test_accuracy(params: dict) -> float:
    model = make_model(params)
    for epoch in range(1, EPOCHS + 1):
        train_epoch(model, epoch)
    return float(model.score(X_test, y_test))


def run(pruner, seed: int, n_trials: int) -> dict:
    study = go.Study(direction="maximize", optimizer=go.RandomSearch(seed=seed), pruner=pruner)
    start, cpu = time.perf_counter(), time.process_time()
    study.optimize(objective, n_trials=n_trials)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    epochs = sum(t.last_step or 0 for t in study.trials)
    return {"seconds": seconds, "cpu": cpu, "epochs": epochs, "val": study.best_value,
            "test": test_accuracy(study.best_params),
            "pruned": sum(t.state is go.TrialState.PRUNED for t in study.trials)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    pruners = {
        "none": lambda: None,
        "median": lambda: MedianPruner(n_startup_trials=5, n_warmup_steps=3),
        "ASHA": lambda: SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, max_resource=EPOCHS),
        "Hyperband": lambda: HyperbandPruner(min_resource=1, max_resource=EPOCHS, reduction_factor=3),
    }
    rows = {name: [run(make(), seed, args.trials) for seed in range(args.seeds)] for name, make in pruners.items()}
    base = rows["none"]
    print(f"{args.trials} trials x {EPOCHS} epochs, {args.seeds} seed(s) of random search; means over seeds")
    print("| pruner | wall s | CPU s | CPU time saved | epochs trained | epochs saved | pruned trials "
          "| best val acc | test acc of best |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, rs in rows.items():
        saved = 1 - sum(r["cpu"] for r in rs) / sum(r["cpu"] for r in base)
        e_saved = 1 - sum(r["epochs"] for r in rs) / sum(r["epochs"] for r in base)
        mean = {k: np.mean([r[k] for r in rs]) for k in rs[0]}
        print(f"| {name} | {mean['seconds']:.1f} | {mean['cpu']:.1f} | {saved:.0%} "
              f"| {mean['epochs']:.0f} | {e_saved:.0%} | {mean['pruned']:.1f} "
              f"| {mean['val']:.4f} | {mean['test']:.4f} |")


if __name__ == "__main__":
    main()
