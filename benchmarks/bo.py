"""Benchmark: guardopt's GP optimizer (each acquisition) against other BO tools on synthetic functions.

Writes ``<out>.json`` (every run, plus exactly what was run) and ``<out>.md`` (median and quartiles of
log10 simple regret at the budget, median seconds per suggestion, the targets met or missed). Runs
are appended to the JSON as they finish, so an interrupted benchmark resumes (``--fresh`` starts over).

Examples::

    python benchmarks/bo.py                                  # everything, 10 seeds (slow: ~hours of CPU)
    python benchmarks/bo.py --seeds 10 --tools guardopt-ei,optuna-gp,optuna-tpe,random \\
        --problems branin,hartmann6 --workers 2
    python benchmarks/bo.py --seeds 10 --tool-seeds botorch-qlognei=2 --out benchmarks/results/bo-botorch

The tools, each with its own documented defaults:

* ``guardopt-<acq>``: `GPOptimizer(<acq>)`;
* ``optuna-gp`` / ``optuna-tpe``: Optuna's ``GPSampler`` / ``TPESampler`` (constraints through
  ``constraints_func``);
* ``skopt-gp``: scikit-optimize's ``gp_minimize`` (its defaults: 10 initial points, ``gp_hedge``,
  L-BFGS acquisition optimizer); it has no constraints, so an infeasible point is told its value
  plus 100 (a common workaround);
* ``botorch-qlognei``: BoTorch's ``SingleTaskGP`` with its default priors and transforms
  (``Normalize`` inputs, ``Standardize`` outputs), fitted by ``fit_gpytorch_mll``;
  ``qLogNoisyExpectedImprovement`` (``prune_baseline=True``); ``optimize_acqf`` with
  ``num_restarts=10, raw_samples=512`` (the settings of BoTorch's tutorials, e.g. "closed-loop
  batch, constrained BO"); a Sobol design of ``2 (d + 1)`` points. Constraints are modelled by the
  same multi-output GP and passed as ``constraints=`` to the acquisition (BoTorch's feasibility
  weighting); under noise the reported point is the evaluated one with the lowest posterior mean;
* ``random``: uniform random search.

Simple regret is the true (noise-free) regret of the best observed point (for the noisy problems: of
the point each tool would report: guardopt's `recommend`, BoTorch's lowest posterior mean, the
others' best noisy observation); for the constrained problems, of the best feasible observed point (a
run with no feasible point gets the regret of the worst observed value). Seconds per suggestion are
wall-clock seconds spent in the tool per trial (the objectives are cheap); CPU seconds are the
process's CPU time for the whole run, objective included (negligible), on whatever machine runs this.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
PROBLEMS = ("branin", "hartmann6", "ackley5", "levy4", "rosenbrock4", "michalewicz5", "shekel4",
            "constrained-branin", "constrained-gramacy", "hartmann6-noisy0.1", "branin-noisy1")
UNCONSTRAINED = ("branin", "hartmann6", "ackley5", "levy4", "rosenbrock4", "michalewicz5", "shekel4")
BUDGETS = {"branin": 40, "hartmann6": 60, "ackley5": 60, "levy4": 50, "rosenbrock4": 50, "michalewicz5": 60,
           "shekel4": 50, "constrained-branin": 40, "constrained-gramacy": 40, "hartmann6-noisy0.1": 60,
           "branin-noisy1": 40}
GUARDOPT = ("guardopt-ei", "guardopt-ucb", "guardopt-nei", "guardopt-kg", "guardopt-mes")
TOOLS = (*GUARDOPT, "optuna-gp", "optuna-tpe", "skopt-gp", "botorch-qlognei", "random")


def _problem(name: str) -> tuple[Any, Any]:
    from guardopt.problems.synthetic import CONSTRAINED_BRANIN, CONSTRAINED_GRAMACY, get_function

    constrained = {"constrained-branin": CONSTRAINED_BRANIN, "constrained-gramacy": CONSTRAINED_GRAMACY}
    if name in constrained:
        return constrained[name].base, constrained[name]
    return get_function(name), None


def run_one(tool: str, problem: str, seed: int, budget: int) -> dict[str, Any]:
    """One run; returns its record (final regret, seconds per suggestion)."""
    fn, cons = _problem(problem)
    rng = np.random.default_rng([seed, 7])  # noise stream, the same for every tool

    def evaluate(x: np.ndarray) -> tuple[float, float]:
        value = float(fn(x))
        noisy = value + (float(rng.normal(0.0, fn.noise_std)) if fn.noise_std > 0 else 0.0)
        return value, noisy

    runner = _RUNNERS[tool.split("-")[0]]
    _warm_imports(tool)
    t0, c0 = time.perf_counter(), time.process_time()
    hist, reported, obj_time = runner(tool, fn, cons, evaluate, seed, budget)
    wall = time.perf_counter() - t0 - obj_time
    cpu = time.process_time() - c0
    f_star = cons.optimal_value if cons is not None else fn.optimal_value
    if reported is not None:
        regret = float(fn(reported)) - f_star
    else:
        feas = [h for h in hist if h["feasible"]]
        pool = feas if feas else hist
        if fn.noise_std > 0:
            best = min(pool, key=lambda h: h["observed"])
        else:
            best = min(pool, key=lambda h: h["value"])
        regret = best["value"] - f_star if feas or cons is None else max(h["value"] for h in hist) - f_star
    return {"tool": tool, "problem": problem, "seed": seed, "budget": budget, "regret": max(regret, 0.0),
            "seconds_per_suggestion": wall / budget, "cpu_seconds": cpu, "n": len(hist)}


def _warm_imports(tool: str) -> None:
    # Import time is not suggestion time: load each tool's modules before the clock starts.
    import scipy.optimize
    import scipy.stats.qmc  # noqa: F401

    if tool.startswith("guardopt"):
        import guardopt.bo.optimizer  # noqa: F401
    elif tool.startswith("optuna"):
        import optuna
        import optuna._gp.gp  # noqa: F401
        import torch  # noqa: F401
    elif tool.startswith("skopt"):
        import skopt  # noqa: F401
    elif tool.startswith("botorch"):
        import botorch  # noqa: F401


def _constraint_value(cons: Any, x: np.ndarray) -> dict[str, float]:
    if cons is None:
        return {}
    return {name: float(g(x)) for name, (g, _) in cons.constraints.items()}


def _feasible(cons: Any, cvals: dict[str, float]) -> bool:
    return cons is None or all(cvals[n] <= thr for n, (_, thr) in cons.constraints.items())


def _run_guardopt(tool: str, fn: Any, cons: Any, evaluate: Callable, seed: int, budget: int):
    import guardopt as go
    from guardopt.bo.optimizer import GPOptimizer

    opt = GPOptimizer(tool.split("-", 1)[1], seed=seed)
    study = go.Study(fn.space(), optimizer=opt, constraints=cons.study_constraints() if cons else None)
    hist, obj_time = [], 0.0
    for _ in range(budget):
        t = study.ask()
        t1 = time.perf_counter()
        x = fn.to_array(t.params)
        value, noisy = evaluate(x)
        cvals = _constraint_value(cons, x)
        obj_time += time.perf_counter() - t1
        study.tell(t, {"value": noisy, **cvals})
        hist.append({"value": value, "observed": noisy, "feasible": _feasible(cons, cvals)})
    reported = None
    if fn.noise_std > 0:
        rec = opt.recommend("none")
        reported = fn.to_array(rec) if rec is not None else None
    return hist, reported, obj_time


def _run_optuna(tool: str, fn: Any, cons: Any, evaluate: Callable, seed: int, budget: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    cfunc = (lambda ft: ft.user_attrs["c"]) if cons is not None else None
    if tool == "optuna-gp":
        sampler = optuna.samplers.GPSampler(seed=seed, constraints_func=cfunc)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed, constraints_func=cfunc)
    study = optuna.create_study(sampler=sampler)
    hist, obj_time = [], 0.0

    def objective(trial: Any) -> float:
        nonlocal obj_time
        x = np.array([trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(fn.bounds)])
        t1 = time.perf_counter()
        value, noisy = evaluate(x)
        cvals = _constraint_value(cons, x)
        if cons is not None:
            trial.set_user_attr("c", [cvals[n] - thr for n, (_, thr) in cons.constraints.items()])
        hist.append({"value": value, "observed": noisy, "feasible": _feasible(cons, cvals)})
        obj_time += time.perf_counter() - t1
        return noisy

    study.optimize(objective, n_trials=budget)
    return hist, None, obj_time


def _run_skopt(tool: str, fn: Any, cons: Any, evaluate: Callable, seed: int, budget: int):
    from skopt import gp_minimize

    hist, obj_time = [], 0.0

    def objective(xs: list[float]) -> float:
        nonlocal obj_time
        x = np.array(xs, dtype=float)
        t1 = time.perf_counter()
        value, noisy = evaluate(x)
        cvals = _constraint_value(cons, x)
        feasible = _feasible(cons, cvals)
        hist.append({"value": value, "observed": noisy, "feasible": feasible})
        obj_time += time.perf_counter() - t1
        # skopt has no constraints: infeasible points get a penalty (a common workaround).
        return noisy if feasible else noisy + 100.0

    gp_minimize(objective, [tuple(b) for b in fn.bounds], n_calls=budget, n_initial_points=min(10, budget),
                random_state=seed)
    return hist, None, obj_time


def _run_botorch(tool: str, fn: Any, cons: Any, evaluate: Callable, seed: int, budget: int):
    import torch
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.acquisition.objective import GenericMCObjective
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood
    from scipy.stats import qmc

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    bounds = torch.tensor(np.array(fn.bounds).T, dtype=torch.double)
    d = fn.dim
    n0 = min(2 * (d + 1), budget)
    x0 = qmc.Sobol(d, scramble=True, seed=seed).random(n0)
    lo, hi = np.array(fn.bounds).T
    pending = [lo + u * (hi - lo) for u in x0]
    names = list(cons.constraints) if cons is not None else []
    hist, obj_time = [], 0.0
    xs: list[np.ndarray] = []
    ys: list[list[float]] = []  # per point: -observed (BoTorch maximizes), then each constraint residual
    model = None
    while len(hist) < budget:
        if pending:
            x = pending.pop(0)
        else:
            train_x = torch.tensor(np.array(xs), dtype=torch.double)
            train_y = torch.tensor(ys, dtype=torch.double)
            model = SingleTaskGP(train_x, train_y, input_transform=Normalize(d, bounds=bounds),
                                 outcome_transform=Standardize(train_y.shape[-1]))
            fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
            if names:
                # BoTorch's constrained (q)NEI: outcome 0 is the objective, the others are residuals <= 0.
                acqf = qLogNoisyExpectedImprovement(
                    model, train_x, objective=GenericMCObjective(lambda z, X=None: z[..., 0]),
                    constraints=[(lambda z, j=j: z[..., j]) for j in range(1, len(names) + 1)],
                    prune_baseline=True)
            else:
                acqf = qLogNoisyExpectedImprovement(model, train_x, prune_baseline=True)
            cand, _ = optimize_acqf(acqf, bounds=bounds, q=1, num_restarts=10, raw_samples=512)
            x = cand[0].detach().numpy()
        t1 = time.perf_counter()
        value, noisy = evaluate(x)
        cvals = _constraint_value(cons, x)
        hist.append({"value": value, "observed": noisy, "feasible": _feasible(cons, cvals)})
        xs.append(np.asarray(x, dtype=float))
        ys.append([-noisy, *[cvals[n] - cons.constraints[n][1] for n in names]])
        obj_time += time.perf_counter() - t1
    reported = None
    if fn.noise_std > 0 and model is not None:
        # Under noise, report the evaluated point with the best posterior mean (as guardopt's recommend).
        with torch.no_grad():
            mean = model.posterior(torch.tensor(np.array(xs), dtype=torch.double)).mean[..., 0].numpy()
        reported = xs[int(np.argmax(mean))]
    return hist, reported, obj_time


def _run_random(tool: str, fn: Any, cons: Any, evaluate: Callable, seed: int, budget: int):
    rng = np.random.default_rng(seed)
    lo, hi = np.array(fn.bounds).T
    hist, obj_time = [], 0.0
    for _ in range(budget):
        x = lo + rng.random(len(lo)) * (hi - lo)
        t1 = time.perf_counter()
        value, noisy = evaluate(x)
        cvals = _constraint_value(cons, x)
        hist.append({"value": value, "observed": noisy, "feasible": _feasible(cons, cvals)})
        obj_time += time.perf_counter() - t1
    return hist, None, obj_time


_RUNNERS: dict[str, Callable] = {"guardopt": _run_guardopt, "optuna": _run_optuna, "skopt": _run_skopt,
                                 "botorch": _run_botorch, "random": _run_random}


def summarize(records: list[dict[str, Any]], config: dict[str, Any],
              history: list[dict[str, Any]] | None = None) -> str:
    """The Markdown table: per problem and tool, log10 regret quartiles and median s/suggestion."""
    lines = ["# BO benchmark", "", "Runs stored here came from these invocations (later ones add or replace runs):", ""]
    for h in history or [config]:
        fewer = "".join(f", {t}: seeds 0..{n - 1}" for t, n in h.get("tool_seeds", {}).items())
        lines.append(f"- `{h['command']}` on {h['machine']} ({h['date']}); seeds {h['seeds']}{fewer}, "
                     f"budgets {h['budgets']}")
    lines += [
        "",
        "log10 simple regret at the budget (median [q25, q75]; regret floored at 1e-8) and median seconds per "
        "suggestion.",
        "",
        "| problem | tool | runs | log10 regret median | q25 | q75 | s/suggestion |",
        "|---|---|---|---|---|---|---|",
    ]
    problems = list(dict.fromkeys(q for h in history or [config] for q in h["problems"]))
    tools = list(dict.fromkeys(t for h in history or [config] for t in h["tools"]))
    for problem in problems:
        for tool in tools:
            rows = [r for r in records if r["problem"] == problem and r["tool"] == tool]
            if not rows:
                continue
            lr = np.log10(np.maximum([r["regret"] for r in rows], 1e-8))
            sec = np.median([r["seconds_per_suggestion"] for r in rows])
            q25, med, q75 = np.percentile(lr, [25, 50, 75])
            lines.append(f"| {problem} | {tool} | {len(rows)} | {med:.2f} | {q25:.2f} | {q75:.2f} | {sec:.3f} |")
    lines += ["", "## Headline: median log10 regret (runs)", "", *headline(records, problems, tools), ""]
    lines += targets(records, tools)
    cpu = {t: sum(r.get("cpu_seconds", 0.0) for r in records if r["tool"] == t) for t in tools}
    lines += ["", "CPU seconds spent per tool (all stored runs): "
              + ", ".join(f"{t} {c:.0f}" for t, c in cpu.items()) + f"; total {sum(cpu.values()):.0f}."]
    return "\n".join(lines) + "\n"


def headline(records: list[dict[str, Any]], problems: list[str], tools: list[str]) -> list[str]:
    """One row per problem, one column per tool: median log10 regret (runs); last row: median s/suggestion."""
    out = ["| problem | " + " | ".join(tools) + " |", "|---|" + "---|" * len(tools)]
    for problem in problems:
        cells = []
        for tool in tools:
            rows = [r["regret"] for r in records if r["problem"] == problem and r["tool"] == tool]
            cells.append(f"{np.median(np.log10(np.maximum(rows, 1e-8))):.2f} ({len(rows)})" if rows else "-")
        out.append(f"| {problem} | " + " | ".join(cells) + " |")
    secs = []
    for tool in tools:
        rows = [r["seconds_per_suggestion"] for r in records if r["tool"] == tool]
        secs.append(f"{np.median(rows):.3f}" if rows else "-")
    out.append("| s/suggestion (median, all problems) | " + " | ".join(secs) + " |")
    return out


def _median(records: list[dict[str, Any]], key: str, seeds: set[int] | None = None) -> float:
    vals = [r[key] for r in records if seeds is None or r["seed"] in seeds]
    return float(np.median(vals)) if vals else float("nan")


def targets(records: list[dict[str, Any]], tools: list[str], mine: str = "guardopt-ei") -> list[str]:
    """The targets, each met or missed with its numbers: regret <= GPSampler's on every unconstrained
    function and <= BoTorch's on >= 5 of 7 (BoTorch compared on the seeds it ran, guardopt on the same
    seeds); seconds per suggestion <= 0.3x GPSampler's and <= 0.1x BoTorch's."""
    if mine not in tools:
        return []
    out = ["## Targets", "",
           f"`{mine}` against each reference; regret medians compared on the seeds both ran (floored at 1e-8).", "",
           "Time ratio: guardopt's median seconds per suggestion over the reference's (wall clock, the target's "
           "measure); the CPU ratio (process CPU seconds per run, which the machine's load inflates less) "
           "beside it.", "",
           "| problem | reference | seeds | log10 regret: guardopt | reference | regret met | wall ratio | "
           "CPU ratio | ratio target | time met |", "|---|---|---|---|---|---|---|---|---|---|"]
    summary = []
    for ref, ratio_target, need in (("optuna-gp", 0.3, None), ("botorch-qlognei", 0.1, 5)):
        if ref not in tools:
            continue
        met_regret, met_time, total = 0, 0, 0
        for problem in UNCONSTRAINED:
            ours = [r for r in records if r["problem"] == problem and r["tool"] == mine]
            theirs = [r for r in records if r["problem"] == problem and r["tool"] == ref]
            seeds = {r["seed"] for r in ours} & {r["seed"] for r in theirs}
            if not seeds:
                continue
            total += 1
            # median of log10 regret (as in the tables; with an even count it differs from log10 of the median)
            a, b = (float(np.median([math.log10(max(r["regret"], 1e-8)) for r in x if r["seed"] in seeds]))
                    for x in (ours, theirs))
            ratio = _median(ours, "seconds_per_suggestion", seeds) / _median(theirs, "seconds_per_suggestion", seeds)
            cpu = (_median(ours, "cpu_seconds", seeds) / _median(theirs, "cpu_seconds", seeds)
                   if all("cpu_seconds" in r for r in ours + theirs) else float("nan"))
            ok_r, ok_t = a <= b, ratio <= ratio_target
            met_regret += ok_r
            met_time += ok_t
            out.append(f"| {problem} | {ref} | {len(seeds)} | {a:.2f} | {b:.2f} | {'met' if ok_r else 'MISSED'} | "
                       f"{ratio:.3f} | {cpu:.3f} | <= {ratio_target} | {'met' if ok_t else 'MISSED'} |")
        if total:
            want = total if need is None else need
            summary.append(f"- regret <= {ref}'s on {'every' if need is None else f'>= {need} of 7'} unconstrained "
                           f"function: {met_regret} of {total} -> {'met' if met_regret >= want else 'MISSED'}"
                           + ("" if total == 7 else f" (only {total} of 7 functions ran)"))
            summary.append(f"- seconds per suggestion <= {ratio_target}x {ref}'s: {met_time} of {total} functions -> "
                           f"{'met' if met_time == total else 'MISSED'}")
    return [*out, "", *summary]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--tools", default=",".join(TOOLS))
    p.add_argument("--problems", default=",".join(PROBLEMS))
    p.add_argument("--budget", action="append", default=[], help="override, e.g. --budget hartmann6=80")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--tool-seeds", action="append", default=[],
                   help="fewer seeds for a slow tool, e.g. --tool-seeds botorch-qlognei=2 (seeds 0..k-1)")
    p.add_argument("--slow-start", type=int, default=3, help="fast tools' seeds to run before a slow tool's first")
    p.add_argument("--out", default=str(RESULTS / "bo"))
    p.add_argument("--fresh", action="store_true", help="ignore stored runs")
    p.add_argument("--replace", action="store_true",
                   help="drop the stored runs of the given tools on the given problems first (the other problems' "
                   "runs are kept)")
    p.add_argument("--summarize-only", action="store_true", help="rewrite the Markdown from the stored JSON")
    args = p.parse_args(argv)
    if args.summarize_only:
        out = Path(args.out)
        stored = json.loads((out.parent / (out.name + ".json")).read_text())
        (out.parent / (out.name + ".md")).write_text(summarize(stored["records"], stored["config"], stored["history"]))
        return
    tools = [t for t in args.tools.split(",") if t]
    problems = [q for q in args.problems.split(",") if q]
    budgets = dict(BUDGETS)
    for item in args.budget:
        k, v = item.split("=")
        budgets[k] = int(v)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    json_path = out.parent / (out.name + ".json")
    stored: dict[str, Any] = {"records": []}
    if json_path.exists() and not args.fresh:
        stored = json.loads(json_path.read_text())
    records = stored["records"]
    if args.replace:
        records = [r for r in records if not (r["tool"] in tools and r["problem"] in problems)]
    done = {(r["tool"], r["problem"], r["seed"], r["budget"]) for r in records}
    n_seeds = {t: args.seeds for t in tools}
    for item in args.tool_seeds:
        k, v = item.split("=")
        n_seeds[k] = int(v)
    # Seed by seed, so that an interrupted run has every tool on as many seeds as it can: the tools
    # with all seeds run seed s at rank s; a slow tool with k < seeds seeds runs its seed i at rank
    # slow_start + i * seeds / k (after the first few seeds of the fast tools, spread over the rest).
    def rank(tool: str, s: int) -> float:
        k = n_seeds[tool]
        return float(s) if k >= args.seeds else args.slow_start + s * args.seeds / k - 0.5

    cells = [(t, q, s, budgets[q]) for t in tools for s in range(min(n_seeds[t], args.seeds)) for q in problems]
    jobs = sorted(cells, key=lambda j: (rank(j[0], j[2]), tools.index(j[0])))
    jobs = [j for j in jobs if j not in done]
    config = {"command": "python benchmarks/bo.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "machine": f"{platform.machine()} {os.cpu_count()} CPUs, workers={args.workers}",
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seeds": args.seeds,
              "tool_seeds": {t: n for t, n in n_seeds.items() if n != args.seeds}, "tools": tools,
              "problems": problems, "budgets": {q: budgets[q] for q in problems}}

    history = [*stored.get("history", []), config]  # every invocation that added runs

    def save() -> None:
        json_path.write_text(json.dumps({"config": config, "history": history, "records": records}, indent=1))
        (out.parent / (out.name + ".md")).write_text(summarize(records, config, history))

    print(f"{len(jobs)} runs to do", flush=True)
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            futs = [pool.submit(run_one, *j) for j in jobs]
            for f in as_completed(futs):
                records.append(f.result())
                print(records[-1], flush=True)
                save()
    else:
        for j in jobs:
            records.append(run_one(*j))
            print(records[-1], flush=True)
            save()
    save()
    print((out.parent / (out.name + ".md")).read_text())


if __name__ == "__main__":
    main()
