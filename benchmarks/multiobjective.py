"""Benchmark: guardopt's multi-objective GP (EHVI and ParEGO) against BoTorch, Optuna and random search.

Writes ``benchmarks/results/multiobjective.json`` (every run, plus exactly what was run) and
``multiobjective.md`` (median and quartiles of the hypervolume at the budget, and of seconds per
suggestion). Runs are appended to the JSON as they finish, so an interrupted run resumes
(``--fresh`` starts over).

Example (what made the committed results; see the command in the .md)::

    python benchmarks/multiobjective.py --workers 1

Problems (`guardopt.problems.multiobjective`): ZDT1 and ZDT2 (6 inputs), DTLZ2 (6 inputs, 3
objectives), BNH (2 inputs, 2 constraints) and HistGradientBoosting on breast-cancer (validation
error vs log10 of the number of leaves). Hypervolume: of the *feasible* evaluated points w.r.t. the
problem's reference point; ``hv/max`` divides by the true front's hypervolume where it is known.

Tools:

* ``guardopt-ehvi`` / ``guardopt-parego``: `guardopt.bo.multiobjective.MultiObjectiveGP` with its
  defaults and the problem's reference point.
* ``botorch-qlognehvi``: BoTorch's qLogNoisyExpectedHypervolumeImprovement on a ModelListGP of
  SingleTaskGPs (one per objective and per constraint, BoTorch's default priors), Sobol initial
  design of ``2 (d + 1)`` points, ``optimize_acqf`` with ``num_restarts=10, raw_samples=512`` (the
  values of BoTorch's multi-objective tutorial; ``optimize_acqf`` has no defaults for them).
* ``optuna-nsga2``: Optuna's NSGAIISampler with ``population_size=10``: its default of 50 is
  larger than the budgets here, which would make it random search.
* ``optuna-gp``: Optuna's GPSampler (multi-objective, with ``constraints_func`` where needed).
* ``random``: uniform random search.

Seconds per suggestion: wall-clock seconds spent in the tool per trial (objective time excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent
if str(Path(__file__).resolve().parent) not in sys.path:  # the shared statistics, when imported by path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_runs import median_difference_interval  # noqa: E402

RESULTS = ROOT / "results"
PROBLEMS = ("zdt1", "zdt2", "dtlz2", "bnh", "hgb")
BUDGETS = {"zdt1": 30, "zdt2": 30, "dtlz2": 30, "bnh": 30, "hgb": 30}
TOOLS = ("guardopt-ehvi", "guardopt-parego", "botorch-qlognehvi", "optuna-nsga2", "optuna-gp", "random")
_HGB: Any = None


def _problem(name: str) -> Any:
    global _HGB
    from guardopt.problems import multiobjective as mo

    if name == "hgb":
        if _HGB is None:  # one cache of fits for every run of this process
            _HGB = mo.hgb_accuracy_vs_size()
        return _HGB
    return {"zdt1": mo.zdt1, "zdt2": mo.zdt2, "dtlz2": mo.dtlz2, "bnh": mo.bnh}[name]()


class _Timer:
    """Objective time, to subtract from the tool's wall time."""

    def __init__(self) -> None:
        self.obj = 0.0

    def call(self, fn: Any, *args: Any) -> Any:
        t = time.perf_counter()
        out = fn(*args)
        self.obj += time.perf_counter() - t
        return out


def _split(result: Any) -> tuple[list[float], dict[str, float]]:
    if isinstance(result, dict):
        return list(result["values"]), {k: v for k, v in result.items() if k != "values"}
    return list(result), {}


def _feasible(prob: Any, cons: dict[str, float]) -> bool:
    for name, (op, thr) in prob.constraints.items():
        v = cons.get(name)
        if v is None or not (v <= thr if op == "<=" else v >= thr):
            return False
    return True


def run_one(tool: str, problem: str, seed: int, budget: int) -> dict[str, Any]:
    from guardopt.core.pareto import hypervolume

    prob = _problem(problem)
    timer = _Timer()
    t0 = time.perf_counter()
    runner = {"guardopt": _run_guardopt, "botorch": _run_botorch, "optuna": _run_optuna,
              "random": _run_random}[tool.split("-")[0]]
    hist = runner(tool, prob, seed, budget, timer)
    wall = time.perf_counter() - t0
    feas = [h["values"] for h in hist if h["feasible"]]
    hv = hypervolume(np.array(feas).reshape(-1, prob.n_objectives), prob.ref_point)
    return {"tool": tool, "problem": problem, "seed": seed, "budget": budget, "hv": hv,
            "hv_norm": hv / prob.max_hv if np.isfinite(prob.max_hv) else None,
            "n_feasible": len(feas), "sec_per_suggestion": (wall - timer.obj) / budget,
            "values": [h["values"] for h in hist], "feasible": [h["feasible"] for h in hist]}


def _run_guardopt(tool: str, prob: Any, seed: int, budget: int, timer: _Timer) -> list[dict[str, Any]]:
    import guardopt as go
    from guardopt.bo.multiobjective import MultiObjectiveGP

    opt = MultiObjectiveGP(tool.split("-")[1], seed=seed, reference_point=tuple(float(v) for v in prob.ref_point))
    study = go.Study(prob.space(), directions=prob.directions, constraints=dict(prob.constraints), optimizer=opt)
    hist = []
    for _ in range(budget):
        t = study.ask()
        values, cons = _split(timer.call(prob.objective, t.params))
        study.tell(t, {"values": values, **cons} if cons else values)
        hist.append({"values": values, "feasible": _feasible(prob, cons)})
    return hist


def _optuna_space(prob: Any) -> dict[str, Any]:
    import optuna

    from guardopt.core.space import Integer

    out: dict[str, Any] = {}
    for name, p in prob.space().params.items():
        if isinstance(p, Integer):
            out[name] = optuna.distributions.IntDistribution(p.low, p.high, log=p.log)
        else:
            out[name] = optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)
    return out


def _run_optuna(tool: str, prob: Any, seed: int, budget: int, timer: _Timer) -> list[dict[str, Any]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cons_func = None
    if prob.constraints:
        def cons_func(trial: Any) -> list[float]:
            return list(trial.user_attrs["violations"])
    if tool == "optuna-nsga2":
        sampler: Any = optuna.samplers.NSGAIISampler(population_size=10, seed=seed, constraints_func=cons_func)
    else:
        sampler = optuna.samplers.GPSampler(seed=seed, constraints_func=cons_func)
    study = optuna.create_study(directions=prob.directions, sampler=sampler)
    dists = _optuna_space(prob)
    hist = []
    for _ in range(budget):
        trial = study.ask(dists)
        values, cons = _split(timer.call(prob.objective, trial.params))
        if prob.constraints:
            viol = [(cons[n] - thr) if op == "<=" else (thr - cons[n]) for n, (op, thr) in prob.constraints.items()]
            trial.set_user_attr("violations", viol)
        study.tell(trial, values)
        hist.append({"values": values, "feasible": _feasible(prob, cons)})
    return hist


def _run_random(tool: str, prob: Any, seed: int, budget: int, timer: _Timer) -> list[dict[str, Any]]:
    space = prob.space()
    rng = np.random.default_rng(seed)
    hist = []
    for p in space.sample(budget, rng):
        values, cons = _split(timer.call(prob.objective, p))
        hist.append({"values": values, "feasible": _feasible(prob, cons)})
    return hist


def _run_botorch(tool: str, prob: Any, seed: int, budget: int, timer: _Timer) -> list[dict[str, Any]]:
    import torch
    from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import ModelListGP, SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import SumMarginalLogLikelihood
    from scipy.stats import qmc

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    space = prob.space()
    names = list(space.params)
    d = len(names)
    k = prob.n_objectives
    unit = torch.stack([torch.zeros(d), torch.ones(d)]).double()

    def decode(u: np.ndarray) -> dict[str, Any]:
        # The unit cube through guardopt's encoding (log scales, integer rounding), as every tool sees it.
        return space.decode(np.asarray(u, dtype=float))

    n0 = min(2 * (d + 1), budget)
    us = list(qmc.Sobol(d, scramble=True, seed=seed).random(n0))
    hist: list[dict[str, Any]] = []
    ys: list[list[float]] = []

    def evaluate(u: np.ndarray) -> None:
        values, cons = _split(timer.call(prob.objective, decode(u)))
        hist.append({"values": values, "feasible": _feasible(prob, cons)})
        # BoTorch maximizes: objectives negated; constraints as "<= 0" slacks.
        slack = [(cons[n] - thr) if op == "<=" else (thr - cons[n]) for n, (op, thr) in prob.constraints.items()]
        ys.append([-v for v in values] + slack)

    for u in us:
        evaluate(u)
    ref = torch.tensor([-float(r) for r in prob.ref_point], dtype=torch.double)
    n_c = len(prob.constraints)
    while len(hist) < budget:
        tx = torch.tensor(np.array(us), dtype=torch.double)
        ty = torch.tensor(np.array(ys), dtype=torch.double)
        models = [SingleTaskGP(tx, ty[:, j:j + 1], input_transform=Normalize(d, bounds=unit),
                               outcome_transform=Standardize(1)) for j in range(k + n_c)]
        model = ModelListGP(*models)
        fit_gpytorch_mll(SumMarginalLogLikelihood(model.likelihood, model))
        constraints = [(lambda z, j=j: z[..., k + j]) for j in range(n_c)] or None
        from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective

        acqf = qLogNoisyExpectedHypervolumeImprovement(
            model=model, ref_point=ref, X_baseline=tx, prune_baseline=True,
            objective=IdentityMCMultiOutputObjective(outcomes=list(range(k))) if n_c else None,
            constraints=constraints)
        cand, _ = optimize_acqf(acqf, bounds=unit, q=1, num_restarts=10, raw_samples=512)
        u = cand[0].detach().numpy()
        us.append(u)
        evaluate(u)
    return hist


def _q(values: list[float]) -> str:
    a = np.array(values, dtype=float)
    if a.size == 0:
        return "-"
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return f"{med:.4g} [{q1:.4g}, {q3:.4g}]"


def summarize(records: list[dict[str, Any]], config: dict[str, Any], history: list[dict[str, Any]]) -> str:
    problems = [p for p in PROBLEMS if any(r["problem"] == p for r in records)]
    tools = [t for t in TOOLS if any(r["tool"] == t for r in records)]
    lines = ["# Multi-objective Bayesian optimization benchmark", "",
             "Hypervolume of the feasible evaluated points at the budget (higher is better), median "
             "[quartiles] over seeds; `n` = seeds run. Generated by `benchmarks/multiobjective.py`.", ""]
    for h in history:
        lines.append(f"- `{h['command']}` ({h['date']}, {h['machine']})")
    lines += ["", "## Hypervolume", "", "| problem (budget) | " + " | ".join(tools) + " |",
              "|---|" + "---|" * len(tools)]
    med: dict[tuple[str, str], float] = {}
    for p in problems:
        row = []
        for t in tools:
            hv = [r["hv"] for r in records if r["problem"] == p and r["tool"] == t]
            if hv:
                med[(p, t)] = float(np.median(hv))
            row.append(f"{_q(hv)} (n={len(hv)})" if hv else "-")
        budget = next(r["budget"] for r in records if r["problem"] == p)
        lines.append(f"| {p} ({budget}) | " + " | ".join(row) + " |")
    lines += ["", "## Hypervolume / true front's hypervolume", "", "| problem | " + " | ".join(tools) + " |",
              "|---|" + "---|" * len(tools)]
    for p in problems:
        row = []
        for t in tools:
            v = [r["hv_norm"] for r in records if r["problem"] == p and r["tool"] == t and r["hv_norm"] is not None]
            row.append(_q(v) if v else "-")
        lines.append(f"| {p} | " + " | ".join(row) + " |")
    lines += ["", "## Seconds per suggestion", "", "| problem | " + " | ".join(tools) + " |",
              "|---|" + "---|" * len(tools)]
    for p in problems:
        row = [_q([r["sec_per_suggestion"] for r in records if r["problem"] == p and r["tool"] == t]) for t in tools]
        lines.append(f"| {p} | " + " | ".join(row) + " |")
    lines += ["", "## Targets", "",
              "Target 1: guardopt's median hypervolume >= NSGA-II's on every problem. "
              "Target 2: within 2% of qLogNEHVI's median (ratio >= 0.98) on at least 3 of the problems.", "",
              "| problem | tool | vs NSGA-II (ratio) | target 1 | vs qLogNEHVI (ratio) | within 2% |",
              "|---|---|---|---|---|---|"]
    for t in ("guardopt-ehvi", "guardopt-parego"):
        hits = 0
        for p in problems:
            if (p, t) not in med:
                continue
            ours = med[(p, t)]
            ns, bt = med.get((p, "optuna-nsga2")), med.get((p, "botorch-qlognehvi"))
            r1 = "-" if ns is None else (f"{ours / ns:.3f}" if ns > 0 else "inf (theirs: 0)" if ours > 0 else "0 / 0")
            ok1 = "-" if ns is None else ("met" if ours >= ns else "MISSED")
            r2 = "-" if bt is None else (f"{ours / bt:.3f}" if bt > 0 else "inf (theirs: 0)" if ours > 0 else "0 / 0")
            ok2 = "-" if bt is None else ("met" if ours >= 0.98 * bt else "MISSED")
            hits += ok2 == "met"
            lines.append(f"| {p} | {t} | {r1} | {ok1} | {r2} | {ok2} |")
        run = sum((p, "botorch-qlognehvi") in med for p in problems)
        lines.append(f"| all | {t} | | | within 2% on {hits} of the {run} problems qLogNEHVI ran | "
                     f"{'met' if hits >= 3 else 'MISSED'} |")
    lines += _against_nsga2(records, problems)
    lines += _dtlz2_distances(records, tools)
    lines.append("")
    return "\n".join(lines)


def _against_nsga2(records: list[dict[str, Any]], problems: list[str]) -> list[str]:
    """How sure each comparison with NSGA-II is: the median difference, its interval, a rank test."""
    from scipy.stats import mannwhitneyu

    rows = []
    for p in problems:
        ns = [r["hv"] for r in records if r["problem"] == p and r["tool"] == "optuna-nsga2"]
        for t in ("guardopt-ehvi", "guardopt-parego"):
            ours = [r["hv"] for r in records if r["problem"] == p and r["tool"] == t]
            if len(ns) < 2 or len(ours) < 2:
                continue
            diff, lo, hi = median_difference_interval(ours, ns)
            pval = float(mannwhitneyu(ours, ns, alternative="two-sided").pvalue)
            rows.append(f"| {p} | {t} | {len(ours)} / {len(ns)} | {diff:+.4g} | [{lo:+.4g}, {hi:+.4g}] | "
                        f"{pval:.3g} |")
    if not rows:
        return []
    return ["", "## How sure: against NSGA-II", "",
            "Median hypervolume minus NSGA-II's, with a 95% percentile-bootstrap interval (20000 "
            "resamples of each tool's runs, independently) and the two-sided Mann-Whitney U p-value. "
            "An interval that holds 0 means the runs cannot tell the two apart at this number of seeds.", "",
            "| problem | tool | runs (ours / NSGA-II) | median difference | 95% interval | Mann-Whitney p |",
            "|---|---|---|---|---|---|", *rows]


def _dtlz2_distances(records: list[dict[str, Any]], tools: list[str]) -> list[str]:
    """Where each tool searched on DTLZ2: the distance of its objective vectors from the origin.

    On DTLZ2 that distance is ``1 + g(x)`` (``g`` the squared distance of the last coordinates from
    0.5): the front is at 1, the reference point's box reaches 1.1 per objective, and a corner of the
    cube is at 2. Computed from the stored values of every run: the median over a tool's runs of the
    median distance in the first 10 evaluations (the initial designs) and in the rest.
    """
    rows = []
    for t in tools:
        rs = [r for r in records if r["problem"] == "dtlz2" and r["tool"] == t and len(r["values"]) > 10]
        if not rs:
            continue
        first = [float(np.median(np.linalg.norm(np.array(r["values"][:10]), axis=1))) for r in rs]
        rest = [float(np.median(np.linalg.norm(np.array(r["values"][10:]), axis=1))) for r in rs]
        rows.append(f"| {t} | {len(rs)} | {np.median(first):.2f} | {np.median(rest):.2f} |")
    if not rows:
        return []
    return ["", "## Where the search went on DTLZ2", "",
            "Median distance from the origin of the objective vectors, `1 + g(x)` (front: 1; the reference "
            "box reaches 1.1; a corner of the cube: 2), in the first 10 evaluations and in evaluations "
            "11-30 (median over runs):", "", "| tool | runs | evaluations 1-10 | evaluations 11-30 |",
            "|---|---|---|---|", *rows]


def rewrite(out: Path = RESULTS / "multiobjective") -> None:
    """Regenerate the .md from the stored .json (after a change to the summary's layout)."""
    data = json.loads((out.parent / (out.name + ".json")).read_text())
    (out.parent / (out.name + ".md")).write_text(summarize(data["records"], data["config"], data["history"]))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--seeds-for", action="append", default=[], help="fewer seeds for a tool, e.g. botorch-qlognehvi=3")
    p.add_argument("--tools", default=",".join(TOOLS))
    p.add_argument("--problems", default=",".join(PROBLEMS))
    p.add_argument("--budget", action="append", default=[], help="override, e.g. --budget zdt1=60")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", default=str(RESULTS / "multiobjective"))
    p.add_argument("--fresh", action="store_true", help="ignore stored runs")
    args = p.parse_args(argv)
    if args.workers != 1:
        raise SystemExit("--workers 1 only: the machine is shared (runs are sequential in one process).")
    tools = [t for t in args.tools.split(",") if t]
    problems = [q for q in args.problems.split(",") if q]
    seeds_for = {kv.split("=")[0]: int(kv.split("=")[1]) for kv in args.seeds_for}
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
    done = {(r["tool"], r["problem"], r["seed"], r["budget"]) for r in records}
    # Order: every tool on seed 0 first; then the cheap tools on the other seeds; then Optuna's
    # GPSampler and BoTorch (the slowest) on theirs. A run stopped by its time or CPU limit has a
    # complete first seed and as many more as fitted, tool by tool (the tables give n per cell).
    jobs = [(t, q, s, budgets[q]) for s in range(args.seeds) for q in problems for t in tools
            if s < seeds_for.get(t, args.seeds) and (t, q, s, budgets[q]) not in done]
    slow = {"optuna-gp": 2, "botorch-qlognehvi": 3}
    jobs.sort(key=lambda j: (0 if j[2] == 0 else slow.get(j[0], 1), j[2]))
    config = {"command": "python benchmarks/multiobjective.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "machine": f"{platform.machine()} {os.cpu_count()} CPUs, workers={args.workers}",
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seeds": args.seeds,
              "seeds_for": seeds_for, "tools": tools, "problems": problems,
              "budgets": {q: budgets[q] for q in problems}}
    history = [*stored.get("history", []), config]

    def save() -> None:
        json_path.write_text(json.dumps({"config": config, "history": history, "records": records}, indent=1))
        (out.parent / (out.name + ".md")).write_text(summarize(records, config, history))

    print(f"{len(jobs)} runs to do", flush=True)
    for j in jobs:
        records.append(run_one(*j))
        r = records[-1]
        print({k: r[k] for k in ("tool", "problem", "seed", "hv", "hv_norm", "sec_per_suggestion")}, flush=True)
        save()
    save()
    print((out.parent / (out.name + ".md")).read_text())


if __name__ == "__main__":
    main()
