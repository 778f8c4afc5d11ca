"""Quick start: a constrained 30-trial study in SQLite that survives being killed.

Run it, interrupt it (Ctrl-C, or even ``kill -9``), and run it again: the second run loads the
stored trials and continues until the study holds 30 trials.

    python examples/quickstart.py
"""

import time

import guardopt as go


def objective(p: dict) -> dict:
    time.sleep(0.1)  # stands in for an expensive evaluation
    return {"value": (p["x"] - 1) ** 2 + p["y"] ** 2, "c": p["x"] + p["y"] - 2}


if __name__ == "__main__":
    space = go.Space({"x": go.Real(-5, 5), "y": go.Real(-5, 5), "kind": go.Choice(["a", "b"])})
    study = go.Study(space, name="demo", direction="minimize", constraints={"c": ("<=", 0.0)},
                     optimizer=go.RandomSearch(seed=0), storage="sqlite:///runs.db")
    study.optimize(objective, until=30, n_jobs=4)   # a rerun continues to 30 trials in total
    print(study.best(guard="pessimistic"))          # a Trial, or None when nothing is feasible

    study = go.Study.load("demo", storage="sqlite:///runs.db")  # resumes where it stopped
    print(f"{len(study.trials)} trials stored")
