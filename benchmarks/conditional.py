"""Benchmark: the GP on conditional spaces against Optuna's TPE and random search, same budget and seeds.

Three conditional tasks, each run for ``--budget`` trials (default 30) on ``--seeds`` seeds (default 10):

* ``svc-digits``: scikit-learn's SVC on the digits data (pixels scaled to [0, 1]), ``kernel`` in
  {linear, rbf, poly, sigmoid}, ``C`` (log), ``gamma`` (log; rbf/poly/sigmoid), ``degree`` (poly),
  ``coef0`` (poly/sigmoid); maximize the mean accuracy of a stratified ``--folds``-fold CV (default 3,
  one fixed split for every method and seed, so the objective is a deterministic function).
* ``cash-cancer``: model choice on the breast-cancer data (standardized): logistic regression (``C``),
  k-NN (``k``, ``weights``), SVM (``kernel``, ``C``, and ``gamma`` only for the rbf kernel: a
  condition on a conditional parameter) or a decision tree (``max_depth``, ``min_samples_leaf``);
  maximize the CV accuracy.
* ``jenatton``: the tree-structured synthetic function of Jenatton, Archambeau, González & Seeger
  (2017), "Bayesian Optimization with Tree-structured Dependencies" (two levels of binary choices,
  one active real per leaf plus a shared real per branch); minimize, optimum 0.1.

Methods: ``gp`` (guardopt's `GPOptimizer` on the conditional space, default settings), ``gp-flat``
(the same GP on the flat space that drops every ``when``: all parameters are always sampled, the
objective ignores the inactive ones: what a user without conditional spaces runs), ``tpe``
(Optuna's `TPESampler(seed=seed)` with its defaults, the same parameters suggested under the same
conditions, define-by-run) and ``random`` (`Space.sample`).

A reference, run with ``--methods optuna-gp``: Optuna's `GPSampler(seed=seed)` with its defaults on the
same define-by-run objective as ``tpe`` (parameters outside the intersection of the trials' spaces are
sampled independently, as Optuna does), to show where another GP stands against TPE on these tasks.

Ablations, reported beside the others and never the GP of the headline comparison: ``gp-yj`` (the
GP with ``output_transform="yeo-johnson"``, run with ``--methods gp-yj``), ``gp-tpe-start`` (a swap
test: the GP started from TPE's own 10 random startup points instead of its Sobol design, run with
``--methods gp-tpe-start``), and any `GPOptimizer` options given as JSON with ``--gp-options`` and
named by ``--label``. Ablations are developed on seeds disjoint from the headline's (``--seed-start
100``, written to ``conditional-dev``), so that no choice is fitted to the seeds it is judged on.

Writes ``benchmarks/results/conditional.json`` (every run, its best-so-far curve, and what was run)
and ``conditional.md`` (per task and method: median, mean and quartiles of the best value at the
budget; GP vs TPE per seed). Runs are appended as they finish, so an interrupted run resumes
(``--fresh`` starts over).

Example::

    python benchmarks/conditional.py                       # 3 tasks x 4 methods x 10 seeds
    python benchmarks/conditional.py --tasks jenatton --seeds 3 --out /tmp/cond
    python benchmarks/conditional.py --tasks svc-digits --seed-start 100 --gp-options '{"n_initial": 16}' \\
        --label gp-n16 --out benchmarks/results/conditional-dev
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

import guardopt as go
from guardopt.bo.optimizer import GPOptimizer

if str(Path(__file__).resolve().parent) not in sys.path:  # the shared statistics, when imported by path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_runs import median_difference_interval

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
METHODS = ("gp", "gp-flat", "tpe", "random")
# ablations, run only when asked for: not part of the headline comparison
EXTRA_METHODS = ("gp-yj", "gp-tpe-start", "optuna-gp")


@dataclass
class Task:
    name: str
    space: go.Space
    objective: Callable[[dict[str, Any]], float]
    direction: str  # "minimize" or "maximize"


def _cv(model: Any, x: np.ndarray, y: np.ndarray, folds: int) -> float:
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    return float(np.mean(cross_val_score(model, x, y, cv=cv)))


def svc_digits(folds: int) -> Task:
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    space = go.Space({
        "kernel": go.Choice(["linear", "rbf", "poly", "sigmoid"]),
        "C": go.Real(1e-3, 1e3, log=True),
        "gamma": go.Real(1e-5, 1.0, log=True, when={"kernel": ["rbf", "poly", "sigmoid"]}),
        "degree": go.Integer(2, 5, when={"kernel": ["poly"]}),
        "coef0": go.Real(0.0, 1.0, when={"kernel": ["poly", "sigmoid"]}),
    })

    def objective(p: dict[str, Any]) -> float:
        return _cv(SVC(**p), x, y, folds)

    return Task("svc-digits", space, objective, "maximize")


def cash_cancer(folds: int) -> Task:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    x, y = load_breast_cancer(return_X_y=True)
    space = go.Space({
        "model": go.Choice(["logreg", "knn", "svm", "tree"]),
        "lr_C": go.Real(1e-4, 1e3, log=True, when={"model": "logreg"}),
        "knn_k": go.Integer(1, 60, log=True, when={"model": "knn"}),
        "knn_weights": go.Choice(["uniform", "distance"], when={"model": "knn"}),
        "svm_kernel": go.Choice(["linear", "rbf"], when={"model": "svm"}),
        "svm_C": go.Real(1e-3, 1e3, log=True, when={"model": "svm"}),
        "svm_gamma": go.Real(1e-5, 1.0, log=True, when={"svm_kernel": "rbf"}),
        "tree_depth": go.Integer(1, 20, when={"model": "tree"}),
        "tree_leaf": go.Integer(1, 30, when={"model": "tree"}),
    })

    def objective(p: dict[str, Any]) -> float:
        m = p["model"]
        est: Any
        if m == "logreg":
            est = LogisticRegression(C=p["lr_C"], max_iter=2000)
        elif m == "knn":
            est = KNeighborsClassifier(n_neighbors=p["knn_k"], weights=p["knn_weights"])
        elif m == "svm":
            est = SVC(kernel=p["svm_kernel"], C=p["svm_C"], gamma=p.get("svm_gamma", "scale"))
        else:
            est = DecisionTreeClassifier(max_depth=p["tree_depth"], min_samples_leaf=p["tree_leaf"], random_state=0)
        return _cv(make_pipeline(StandardScaler(), est), x, y, folds)

    return Task("cash-cancer", space, objective, "maximize")


def jenatton(folds: int) -> Task:
    del folds
    space = go.Space({
        "x1": go.Choice([0, 1]),
        "x2": go.Choice([0, 1], when={"x1": [0]}),
        "x3": go.Choice([0, 1], when={"x1": [1]}),
        "x4": go.Real(-1.0, 1.0, when={"x2": [0]}),
        "x5": go.Real(-1.0, 1.0, when={"x2": [1]}),
        "x6": go.Real(-1.0, 1.0, when={"x3": [0]}),
        "x7": go.Real(-1.0, 1.0, when={"x3": [1]}),
        "r8": go.Real(0.0, 1.0, when={"x1": [0]}),
        "r9": go.Real(0.0, 1.0, when={"x1": [1]}),
    })

    def objective(p: dict[str, Any]) -> float:
        if p["x1"] == 0:
            return p["x4"] ** 2 + 0.1 + p["r8"] if p["x2"] == 0 else p["x5"] ** 2 + 0.2 + p["r8"]
        return p["x6"] ** 2 + 0.3 + p["r9"] if p["x3"] == 0 else p["x7"] ** 2 + 0.4 + p["r9"]

    return Task("jenatton", space, objective, "minimize")


TASKS: dict[str, Callable[[int], Task]] = {"svc-digits": svc_digits, "cash-cancer": cash_cancer, "jenatton": jenatton}


def flat(space: go.Space) -> go.Space:
    """The same parameters without their conditions."""
    params: dict[str, Any] = {}
    for name, p in space.params.items():
        if isinstance(p, go.Choice):
            params[name] = go.Choice(list(p.options))
        elif isinstance(p, go.Integer):
            params[name] = go.Integer(p.low, p.high, p.log)
        else:
            params[name] = go.Real(p.low, p.high, p.log)
    return go.Space(params)


def optuna_params(space: go.Space, trial: Any) -> dict[str, Any]:
    """Suggest the space's parameters define-by-run: a parameter only when its conditions hold."""
    out: dict[str, Any] = {}
    for name in space.order:
        if not space.is_active(name, out):
            continue
        p = space.params[name]
        if isinstance(p, go.Choice):
            out[name] = trial.suggest_categorical(name, list(p.options))
        elif isinstance(p, go.Integer):
            out[name] = trial.suggest_int(name, p.low, p.high, log=p.log)
        else:
            out[name] = trial.suggest_float(name, p.low, p.high, log=p.log)
    return {n: out[n] for n in space.names if n in out}


def tpe_startup(task: Task, seed: int, n: int = 10) -> list[dict[str, Any]]:
    """The first ``n`` points of ``TPESampler(seed=seed)`` (its random startup: they do not depend on the values)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    st = optuna.create_study(direction=task.direction, sampler=optuna.samplers.TPESampler(seed=seed))
    points: list[dict[str, Any]] = []
    st.optimize(lambda tr: points.append(optuna_params(task.space, tr)) or 0.0, n_trials=n)
    return points


def run_one(task: Task, method: str, seed: int, budget: int,
            gp_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """One run of ``method`` on ``task``: values in trial order, best-so-far curve, seconds."""
    values: list[float] = []
    params: list[dict[str, Any]] = []
    eval_s = 0.0

    def evaluate(p: dict[str, Any]) -> float:
        nonlocal eval_s
        active = {n: p[n] for n in task.space.active_names(p)}  # gp-flat hands every parameter
        t = time.perf_counter()
        v = task.objective(active)
        eval_s += time.perf_counter() - t
        values.append(v)
        params.append(active)
        return v

    t0 = time.perf_counter()
    if method in ("gp", "gp-flat", "gp-yj", "gp-tpe-start") or gp_options is not None:
        space = flat(task.space) if method == "gp-flat" else task.space
        options = {"output_transform": "yeo-johnson"} if method == "gp-yj" else dict(gp_options or {})
        study = go.Study(space, direction=task.direction,  # type: ignore[arg-type]
                         optimizer=GPOptimizer(seed=seed, **options))
        if method == "gp-tpe-start":  # a swap test: the GP from TPE's own 10 random startup points
            for p in tpe_startup(task, seed):
                study.enqueue(p)
        study.optimize(evaluate, n_trials=budget)
    elif method == "tpe":
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        st = optuna.create_study(direction=task.direction, sampler=optuna.samplers.TPESampler(seed=seed))
        st.optimize(lambda tr: evaluate(optuna_params(task.space, tr)), n_trials=budget)
    elif method == "optuna-gp":  # a reference: the GP an Optuna user has, on the same define-by-run objective
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        st = optuna.create_study(direction=task.direction, sampler=optuna.samplers.GPSampler(
            seed=seed, warn_independent_sampling=False))
        st.optimize(lambda tr: evaluate(optuna_params(task.space, tr)), n_trials=budget)
    elif method == "random":
        for p in task.space.sample(budget, seed=seed):
            evaluate(p)
    else:
        raise ValueError(method)
    total = time.perf_counter() - t0
    sign = 1.0 if task.direction == "minimize" else -1.0
    best = list(sign * np.minimum.accumulate(sign * np.array(values)))
    return {"task": task.name, "method": method, "seed": seed, "budget": budget, "values": values,
            "best_curve": best, "best": best[-1], "params": params,
            "overhead_s_per_trial": (total - eval_s) / budget, "eval_s": eval_s}


def summarize(records: list[dict[str, Any]], tasks: list[str], methods: list[str],
              meta: dict[str, Any]) -> str:
    from scipy.stats import wilcoxon

    seeds_run = sorted({int(r["seed"]) for r in records})
    lines = ["# Conditional spaces: GP vs Optuna TPE vs random", "",
             f"Budget {meta['budget']} trials, seeds {seeds_run[0]}..{seeds_run[-1]} ({len(seeds_run)} seeds), "
             f"CV folds {meta['folds']}; "
             f"wall time {meta.get('wall_s', float('nan')):.0f} s on {meta['machine']}. "
             "Best value at the budget (accuracy: higher is better; jenatton: lower is better).", "",
             "| task | method | median | mean | q25 | q75 | s overhead / trial |", "|---|---|---|---|---|---|---|"]
    for t in tasks:
        for m in methods:
            rs = [r for r in records if r["task"] == t and r["method"] == m]
            if not rs:
                continue
            b = np.array([r["best"] for r in rs])
            ov = float(np.median([r["overhead_s_per_trial"] for r in rs]))
            lines.append(f"| {t} | {m} | {np.median(b):.4f} | {b.mean():.4f} | {np.quantile(b, 0.25):.4f} | "
                         f"{np.quantile(b, 0.75):.4f} | {ov:.3f} |")
    lines += ["", "GP vs TPE, paired by seed (wins / ties / losses for the GP; Wilcoxon signed-rank two-sided p, "
              "ties dropped):", "", "| task | GP | n seeds | GP median - TPE median | wins | ties | losses | p | "
              "GP at or above TPE (median) |", "|---|---|---|---|---|---|---|---|---|"]
    for t in tasks:
        tpe = {r["seed"]: r["best"] for r in records if r["task"] == t and r["method"] == "tpe"}
        variants = _compared_with_tpe(records, t)
        for variant in variants:
            gp = {r["seed"]: r["best"] for r in records if r["task"] == t and r["method"] == variant}
            seeds = sorted(set(gp) & set(tpe))
            if not seeds:
                continue
            sign = -1.0 if t == "jenatton" else 1.0  # positive = GP better
            d = np.array([sign * (gp[s] - tpe[s]) for s in seeds])
            wins, ties, losses = int((d > 1e-12).sum()), int((np.abs(d) <= 1e-12).sum()), int((d < -1e-12).sum())
            nz = d[np.abs(d) > 1e-12]
            p = float(wilcoxon(nz).pvalue) if nz.size >= 1 and np.any(nz != 0) else float("nan")
            med = sign * (np.median([gp[s] for s in seeds]) - np.median([tpe[s] for s in seeds]))
            lines.append(f"| {t} | {variant} | {len(seeds)} | {med:+.4f} | {wins} | {ties} | {losses} | {p:.3f} | "
                         f"{'yes' if med >= 0 else 'no'} |")
    lines += ["", "(the difference column is signed so that positive means the GP is better)", ""]
    lines += _how_sure(records, tasks)
    ablations = {r["method"]: r["gp_options"] for r in records if "gp_options" in r}
    if ablations:
        lines += ["Ablations (GPOptimizer options; the headline `gp` uses the defaults):", ""]
        lines += [f"- `{m}`: `{json.dumps(o, sort_keys=True)}`" for m, o in sorted(ablations.items())]
        lines.append("")
    return "\n".join(lines)


def _compared_with_tpe(records: list[dict[str, Any]], task: str) -> list[str]:
    """The methods set against TPE on ``task``: the GP, its ablations, then Optuna's GP."""
    ablations = sorted({r["method"] for r in records
                        if r["task"] == task and r["method"].startswith("gp-") and r["method"] != "gp-flat"})
    return ["gp", *ablations, "optuna-gp"]


def _how_sure(records: list[dict[str, Any]], tasks: list[str]) -> list[str]:
    """Median difference to TPE (positive = the GP better) with its 95% percentile-bootstrap interval."""
    lines = ["How sure: median best value minus TPE's (signed so that positive means the GP is better), with a "
             "95% percentile-bootstrap interval (20000 resamples of each method's runs, independently). An "
             "interval that holds 0 means the runs cannot tell the two apart at this number of seeds.", "",
             "| task | GP | runs (GP / TPE) | median difference | 95% interval |", "|---|---|---|---|---|"]
    for t in tasks:
        sign = -1.0 if t == "jenatton" else 1.0
        tpe = [sign * r["best"] for r in records if r["task"] == t and r["method"] == "tpe"]
        variants = _compared_with_tpe(records, t)
        for variant in variants:
            gp = [sign * r["best"] for r in records if r["task"] == t and r["method"] == variant]
            if not gp or not tpe:
                continue
            d, lo, hi = median_difference_interval(gp, tpe)
            lines.append(f"| {t} | {variant} | {len(gp)} / {len(tpe)} | {d:+.4f} | [{lo:+.4f}, {hi:+.4f}] |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=30)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--seed-start", type=int, default=0,
                    help="first seed (seeds seed-start .. seed-start + seeds - 1); ablations are developed on "
                         "seeds disjoint from the headline's 0..9")
    ap.add_argument("--gp-options", default=None,
                    help='an ablation: GPOptimizer options as JSON (e.g. \'{"n_initial": 16}\'), run as the method '
                         "named by --label")
    ap.add_argument("--label", default=None, help="the method name of a --gp-options ablation (e.g. gp-n16)")
    ap.add_argument("--out", default=str(RESULTS / "conditional"))
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--compare-with", default=None,
                    help="other results JSONs (comma-separated) whose records join the Markdown summary (not the "
                         "stored JSON)")
    ap.add_argument("--report-only", action="store_true", help="rewrite the Markdown from the stored JSON")
    args = ap.parse_args(argv)
    tasks, methods = args.tasks.split(","), args.methods.split(",")
    gp_options = json.loads(args.gp_options) if args.gp_options else None
    if gp_options is not None:
        if not args.label or not args.label.startswith("gp-") or args.label in (*METHODS, *EXTRA_METHODS):
            ap.error("--gp-options needs a new --label starting with 'gp-'")
        methods = [args.label]
    out_json, out_md = Path(args.out + ".json"), Path(args.out + ".md")
    out_json.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"records": []}
    if out_json.exists() and not args.fresh:
        data = json.loads(out_json.read_text())
    done = {(r["task"], r["method"], r["seed"]) for r in data["records"]}
    meta = {"budget": args.budget, "seeds": args.seeds, "seed_start": args.seed_start, "folds": args.folds,
            "tasks": tasks, "methods": methods,
            "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus".strip(),
            "python": sys.version.split()[0],
            "commands": [*data.get("meta", {}).get("commands", [data["meta"]["command"]] if "command" in data.get(
                "meta", {}) else []),
                         " ".join(["python", "benchmarks/conditional.py", *sys.argv[1:]])],
            "wall_s_per_command": list(data.get("meta", {}).get("wall_s_per_command", []))}
    if args.report_only:
        _write_report(data, args.compare_with, out_md)
        return
    t_start = time.perf_counter()
    wall_before = float(data.get("meta", {}).get("wall_s", 0.0))
    for tname in tasks:
        task = TASKS[tname](args.folds)
        for seed in range(args.seed_start, args.seed_start + args.seeds):
            for m in methods:
                if (tname, m, seed) in done:
                    continue
                rec = run_one(task, m, seed, args.budget, gp_options if m == args.label else None)
                if m == args.label:
                    rec["gp_options"] = gp_options
                data["records"].append(rec)
                meta["wall_s"] = wall_before + time.perf_counter() - t_start
                data["meta"] = meta
                out_json.write_text(json.dumps(data))
                print(f"{tname} {m} seed {seed}: best {rec['best']:.4f} "
                      f"({rec['overhead_s_per_trial']:.3f} s/trial overhead)", flush=True)
    meta["wall_s"] = wall_before + time.perf_counter() - t_start
    meta["wall_s_per_command"].append(round(time.perf_counter() - t_start, 1))
    data["meta"] = meta
    out_json.write_text(json.dumps(data))
    _write_report(data, args.compare_with, out_md)


def _write_report(data: dict[str, Any], compare_with: str | None, out_md: Path) -> None:
    records = list(data["records"])
    joined = [Path(f) for f in compare_with.split(",")] if compare_with else []
    for path in joined:
        records += json.loads(path.read_text())["records"]
    present = [m for m in (*METHODS, *EXTRA_METHODS) if any(r["method"] == m for r in records)]
    present += sorted({r["method"] for r in records} - set(present))  # --gp-options ablations
    present_tasks = [t for t in TASKS if any(r["task"] == t for r in records)]
    text = summarize(records, present_tasks, present, data["meta"])
    if joined:
        text += f"\n(records of {', '.join(p.name for p in joined)} joined for this summary)\n"
    out_md.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
