"""Trade a classifier's accuracy against its size with multi-objective Bayesian optimization.

A HistGradientBoosting classifier on scikit-learn's breast-cancer data: minimize the validation
error and the model's size (its total number of leaves, a proxy for memory and latency), subject to
an accuracy floor. The study returns the Pareto front: the models no other evaluated model beats in
both, among those that meet the floor.

    python examples/multiobjective.py [out.png]
"""

from __future__ import annotations

import sys

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

import guardopt as go
from guardopt.bo.multiobjective import MultiObjectiveGP
from guardopt.core.pareto import hypervolume
from guardopt.viz import plot_pareto_front

X, y = load_breast_cancer(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def evaluate(params: dict) -> dict:
    model = HistGradientBoostingClassifier(max_leaf_nodes=params["max_leaf_nodes"], max_iter=params["max_iter"],
                                           learning_rate=params["learning_rate"], early_stopping=False,
                                           random_state=0).fit(X_train, y_train)
    error = float(np.mean(model.predict(X_val) != y_val))
    leaves = sum(int(p.nodes["is_leaf"].sum()) for it in model._predictors for p in it)
    # Two objectives (both minimized) and one outcome constraint, measured on the same fit.
    return {"values": [error, float(leaves)], "accuracy": 1.0 - error}


def main(out: str | None = None) -> None:
    space = go.Space({
        "max_leaf_nodes": go.Integer(2, 16, log=True),
        "max_iter": go.Integer(5, 60, log=True),
        "learning_rate": go.Real(0.03, 1.0, log=True),
    })
    study = go.Study(space, name="accuracy-vs-size", directions=["minimize", "minimize"],
                     constraints={"accuracy": (">=", 0.9)},
                     optimizer=MultiObjectiveGP(seed=0, n_initial=8, reference_point=(0.1, 1000.0)))
    study.optimize(evaluate, n_trials=24)

    front = sorted(study.pareto_front(), key=lambda t: t.values[1])
    print(f"{len(front)} models on the Pareto front (of {len(study.trials)} evaluated):")
    for t in front:
        error, leaves = t.values
        print(f"  error {error:.3f}  leaves {leaves:5.0f}  {dict(t.params)}")
    hv = hypervolume([t.values for t in front], ref=[0.1, 1000.0])
    print(f"hypervolume w.r.t. (error 0.1, 1000 leaves): {hv:.2f}")
    # The pessimistic front: each objective at its GP upper confidence bound, the constraint too.
    print(f"pessimistic front: {len(study.pareto_front(guard='pessimistic'))} models")
    if out:
        fig = plot_pareto_front(study)
        fig.axes[0].set_xlabel("validation error")
        fig.axes[0].set_ylabel("number of leaves")
        fig.savefig(out, dpi=110)
        print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
