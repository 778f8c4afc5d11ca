"""Reproduction ``bo-tutorial``: the claims of Frazier (2018), "A Tutorial on Bayesian Optimization".

The tutorial has no benchmark tables; its claims are qualitative. We check five of them with
`guardopt.bo.GPOptimizer` (a numpy GP: Matérn-5/2 ARD, MAP hyperparameters; acquisitions maximized
over Sobol + local candidates and polished by L-BFGS-B), each against a concrete threshold:

1. EI beats random search: Branin after 40 evaluations (5 Sobol + 35 EI) has median simple regret
   < 0.05 and >= 10x below random search's; Hartmann6 after 80 (10 + 70) < 0.5 and below random
   search's 25th percentile.
2. Noise (Hartmann6 observed with N(0, 0.1^2) noise): the tutorial's noisy EI and KG, which report
   the evaluated point with the best posterior mean, have true regret <= plain EI that reports the
   best *noisy* observation.
3. Batches: q = 4 points per round (fantasies) reaches within 1.25x of sequential EI's median
   regret in a quarter of the rounds (the same number of evaluations).
4. Constraints: EI x P(feasible), with one GP per constraint, recommends (pessimistic guard: the
   constraint GP's upper bound <= 0) a feasible point within 5% of the constrained optimum in >= 80%
   of seeds, while unconstrained EI's recommendation is infeasible (in >= 80% of seeds).
5. Multi-fidelity (Branin with a fidelity parameter s, cost 0.1 + 0.9 s): cost-aware KG reaches
   single-fidelity EI's final median regret (after a cost of B) by a cost of 0.6 B.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from guardopt.bo.optimizer import GPOptimizer
from guardopt.core.optimizer import RandomSearch
from guardopt.core.study import Study
from guardopt.problems.synthetic import BRANIN, CONSTRAINED_BRANIN, HARTMANN6, MF_BRANIN
from guardopt.reproduce.spec import Cell, CellResult, Evidence, Paper, Reproduction, Results, Scale, Verdict

TASKS = ("branin", "hartmann6", "hartmann6-noisy", "hartmann6-batch", "constrained-branin", "mf-branin")
METHODS = ("ei", "random", "nei", "kg", "qei4", "ei-unconstrained", "mf-kg")
NOISE = 0.1
GRID = {
    "branin": ("ei", "random"),
    "hartmann6": ("ei", "random"),
    "hartmann6-noisy": ("ei", "nei", "kg"),
    "hartmann6-batch": ("ei", "qei4"),
    "constrained-branin": ("ei", "ei-unconstrained"),
    "mf-branin": ("ei", "mf-kg"),
}
FULL = {"branin": 40, "hartmann6": 80, "hartmann6-noisy": 60, "hartmann6-batch": 80, "constrained-branin": 40,
        "mf-branin": 30}
QUICK = {"branin": 20, "hartmann6": 24, "hartmann6-noisy": 20, "hartmann6-batch": 24, "constrained-branin": 20,
         "mf-branin": 12}
MF_COST_FRACTION = 0.6


def _grid(scale: str) -> list[tuple[str, str]]:
    return [(t, m) for t in TASKS for m in GRID[t]]


def _n_initial(task: str) -> int:
    return 10 if task.startswith("hartmann6") else 5


def run_cell(cell: Cell) -> CellResult:
    """One task x method x seed; metrics are true (noise-free) regrets of what the method reports."""
    budget = int(cell.settings["budgets"][cell.task])
    fast: dict[str, Any] = dict(cell.settings.get("options", {}))
    seed = cell.seed
    task, method = cell.task, cell.method
    if task == "constrained-branin":
        return _run_constrained(method, budget, seed, fast)
    if task == "mf-branin":
        return _run_multifidelity(method, budget, seed, fast)
    fn = BRANIN if task == "branin" else HARTMANN6
    noisy = task == "hartmann6-noisy"
    rng = np.random.default_rng([seed, 99])  # the noise stream, the same for every method
    objective = fn.with_noise(NOISE).objective(rng) if noisy else fn.objective()
    if method == "random":
        opt: RandomSearch | GPOptimizer = RandomSearch(seed=seed)
    else:
        acq = "ei" if method == "qei4" else method
        opt = GPOptimizer(acq, seed=seed, n_initial=_n_initial(task), **fast)
    study = Study(fn.space(), optimizer=opt)
    curve: list[float] = []
    if method == "qei4":
        study.optimize(objective, n_trials=_n_initial(task))
        while len(study.trials) < budget:
            batch = study.ask_batch(min(4, budget - len(study.trials)))
            for t in batch:
                study.tell(t, objective(t.params))
    else:
        study.optimize(objective, n_trials=budget)
    trials = study.trials
    curve = list(np.minimum.accumulate([fn.regret(t.params) for t in trials]))
    metrics = {"regret": float(curve[-1])}
    if noisy:
        # What each method *reports*: plain EI the best noisy observation; NEI/KG the evaluated
        # point with the lowest posterior mean (GPOptimizer.recommend).
        best_obs = min(trials, key=lambda t: float(t.value if t.value is not None else math.inf))
        if method == "ei":
            rec = dict(best_obs.params)
        else:
            assert isinstance(opt, GPOptimizer)
            rec = opt.recommend("none") or dict(best_obs.params)
        metrics["reported_regret"] = fn.regret(rec)
    return CellResult(metrics, {"best_regret": [float(c) for c in curve]})


def _run_constrained(method: str, budget: int, seed: int, fast: dict[str, Any]) -> CellResult:
    cb = CONSTRAINED_BRANIN
    opt = GPOptimizer("ei", seed=seed, n_initial=5, **fast)
    if method == "ei":
        study = Study(cb.space(), constraints=cb.study_constraints(), optimizer=opt)
        study.optimize(cb.objective(), n_trials=budget)
        best = study.best(guard="pessimistic")
        rec = None if best is None else dict(best.params)
    else:  # unconstrained EI on the objective alone; its recommendation is its best observed point
        study = Study(cb.space(), optimizer=opt)
        study.optimize(lambda p: cb.objective()(p)["value"], n_trials=budget)
        best = study.best()
        rec = None if best is None else dict(best.params)
    found = rec is not None
    feasible = rec is not None and cb.is_feasible(rec)
    gap = cb.regret(rec) if rec is not None else math.inf
    within = feasible and gap <= 0.05 * abs(cb.optimal_value)
    return CellResult({"found": float(found), "feasible": float(feasible), "within_5pct": float(within),
                       "regret": float(gap) if math.isfinite(gap) else math.nan})


def _run_multifidelity(method: str, budget: int, seed: int, fast: dict[str, Any]) -> CellResult:
    mf = MF_BRANIN
    if method == "ei":
        # Single-fidelity EI on the target fidelity: cost 1 per evaluation, `budget` evaluations.
        opt = GPOptimizer("ei", seed=seed, n_initial=5, **fast)
        study = Study(BRANIN.space(), optimizer=opt)
        study.optimize(BRANIN.objective(), n_trials=budget)
        regrets = np.minimum.accumulate([BRANIN.regret(t.params) for t in study.trials])
        return CellResult({"regret": float(regrets[-1]), "cost": float(budget)},
                          {"regret_by_cost": [float(r) for r in regrets]})
    # Cost-aware KG, run until it has spent MF_COST_FRACTION of EI's budget.
    limit = MF_COST_FRACTION * budget
    mopt = GPOptimizer("kg", seed=seed, n_initial=5, fidelity="fidelity", fidelity_cost=mf.cost, **fast)
    study = Study(mf.space(), optimizer=mopt)
    spent = 0.0
    objective = mf.objective()
    n_evals = 0
    while n_evals < 200:
        t = study.ask()
        cost = mf.cost(t.params["fidelity"])
        if spent + cost > limit:  # never spend more than the limit: the asked point is not evaluated
            break
        study.tell(t, objective(t.params))
        spent += cost
        n_evals += 1
    rec = mopt.recommend_target()
    fids = [t.params["fidelity"] for t in study.trials]
    return CellResult({"regret": float(mf.regret(rec)), "cost": float(spent), "evaluations": float(n_evals),
                       "mean_fidelity": float(np.mean(fids))})


def _median(results: Results, metric: str, task: str, method: str) -> float:
    v = results.metric(metric, task, method)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else math.nan


def _mean(results: Results, metric: str, task: str, method: str) -> float:
    v = results.metric(metric, task, method)
    return float(np.nanmean(v)) if v.size else math.nan


def verdict(results: Results) -> Verdict:
    ev: list[Evidence] = []
    b_ei, b_rs = _median(results, "regret", "branin", "ei"), _median(results, "regret", "branin", "random")
    ev.append(Evidence("1a Branin EI median regret @budget < 0.05", b_ei, 0.05, b_ei < 0.05))
    ev.append(Evidence("1b Branin random/EI median regret ratio >= 10", b_rs / max(b_ei, 1e-12), 10.0,
                       b_rs / max(b_ei, 1e-12) >= 10))
    h_ei = _median(results, "regret", "hartmann6", "ei")
    rs = results.metric("regret", "hartmann6", "random")
    q25 = float(np.percentile(rs, 25)) if rs.size else math.nan
    ev.append(Evidence("1c Hartmann6 EI median regret @budget < 0.5", h_ei, 0.5, h_ei < 0.5))
    ev.append(Evidence("1d Hartmann6 EI median regret < random's 25th percentile", h_ei, q25, h_ei < q25))
    n_ei = _median(results, "reported_regret", "hartmann6-noisy", "ei")
    for m in ("nei", "kg"):
        v = _median(results, "reported_regret", "hartmann6-noisy", m)
        ev.append(Evidence(f"2 noisy Hartmann6: {m} reported regret <= EI's (best noisy observation)", v, n_ei,
                           v <= n_ei))
    seq = _median(results, "regret", "hartmann6-batch", "ei")
    q4 = _median(results, "regret", "hartmann6-batch", "qei4")
    ev.append(Evidence("3 q=4 median regret <= 1.25x sequential EI's (same evaluations, 1/4 rounds)",
                       q4, 1.25 * seq, q4 <= 1.25 * seq))
    c_ok = _mean(results, "within_5pct", "constrained-branin", "ei")
    u_inf = 1.0 - _mean(results, "feasible", "constrained-branin", "ei-unconstrained")
    ev.append(Evidence("4a EI x PoF: feasible and within 5% of the constrained optimum (share of seeds)",
                       c_ok, 0.8, c_ok >= 0.8))
    ev.append(Evidence("4b unconstrained EI's recommendation infeasible (share of seeds)", u_inf, 0.8,
                       u_inf >= 0.8))
    mf_ei = _median(results, "regret", "mf-branin", "ei")
    mf_kg = _median(results, "regret", "mf-branin", "mf-kg")
    ev.append(Evidence(f"5 cost-aware KG median regret at {MF_COST_FRACTION}x cost <= EI's final", mf_kg, mf_ei,
                       mf_kg <= mf_ei))
    return Verdict.from_evidence(ev)


def extra_markdown(results: Results) -> str:
    lines = ["| task | method | cells | median regret | q25 | q75 | extra |", "|---|---|---|---|---|---|---|"]
    for task, method in _grid("full"):
        r = results.metric("regret", task, method)
        r = r[np.isfinite(r)]
        if not r.size:
            continue
        extra = ""
        if task == "hartmann6-noisy":
            extra = f"reported regret median {_median(results, 'reported_regret', task, method):.4g}"
        elif task == "constrained-branin":
            extra = (f"feasible {_mean(results, 'feasible', task, method):.2f}, "
                     f"within 5% {_mean(results, 'within_5pct', task, method):.2f}")
        elif task == "mf-branin":
            extra = f"cost {_median(results, 'cost', task, method):.1f}"
            if method == "mf-kg":
                extra += f", mean fidelity {_median(results, 'mean_fidelity', task, method):.2f}"
        q25, q75 = np.percentile(r, [25, 75])
        lines.append(f"| {task} | {method} | {r.size} | {np.median(r):.4g} | {q25:.4g} | {q75:.4g} | {extra} |")
    kg = results.metric("regret", "mf-branin", "mf-kg")
    ei_final = _median(results, "regret", "mf-branin", "ei")
    if kg.size and math.isfinite(ei_final):
        evals = results.metric("evaluations", "mf-branin", "mf-kg")
        lines += ["", f"Multi-fidelity: cost-aware KG reached EI's final median regret ({ei_final:.3g}) within "
                  f"{MF_COST_FRACTION}x the cost on {int(np.sum(kg <= ei_final))} of {kg.size} seeds; median "
                  f"{np.median(evals):.0f} evaluations."]
    return "\n".join(lines)


def plots(results: Results, outdir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: list[Path] = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, task in zip(axes, ("branin", "hartmann6"), strict=True):
        for method in GRID[task]:
            c = results.curves("best_regret", task, method)
            if c.size:
                ax.plot(np.arange(1, c.shape[1] + 1), np.log10(np.nanmedian(np.maximum(c, 1e-8), 0)), label=method)
        ax.set_title(task)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("log10 median simple regret")
        ax.legend()
    fig.tight_layout()
    path = Path(outdir) / "bo_tutorial_regret.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    out.append(path)
    return out


NOTES = """
**Design.** Every method is `guardopt.bo.GPOptimizer` (numpy GP: Matérn-5/2 ARD, GLS constant mean,
MAP hyperparameters refit each step; acquisitions maximized over 2048 Sobol + local candidates with
an L-BFGS-B polish), run through a `Study`. Regret is always the *true* (noise-free) regret.
Branin uses 5 Sobol initial points, Hartmann6 10. The noisy task draws the noise from a stream that
depends only on the seed, so all methods see the same noise sequence. `qei4` asks batches of 4
(sequential greedy with Kriging-believer fantasies) after the same initial design. The constrained
problem is Branin subject to ``(x1 - 2.5)^2 + (x2 - 7.5)^2 <= 20``, a disc that excludes all three
global minima (constrained optimum 0.93948 at (3.0102, 3.0571)). The multi-fidelity problem is
BoTorch's augmented Branin, fidelity s in [0, 1], cost 0.1 + 0.9 s; cost-aware KG runs while the next
evaluation keeps its total cost within 0.6x single-fidelity EI's budget (the asked point that would
exceed it is not evaluated), and reports the minimizer of the posterior mean at s = 1; its regret is
that of the true Branin (s = 1) at the reported design. Its GP uses the linear truncated fidelity
kernel (Wu et al. 2019; BoTorch's `LinearTruncatedFidelityKernel`, power 1):
k0(x, x') + (1 - s)(1 - s')(1 + s s') k1(x, x'), i.e. the target function plus a discrepancy that
vanishes at s = 1. KG's max over the target fidelity includes the candidate's own design at s = 1.

**Claim 5 (multi-fidelity), what we see.** With a plain Matérn kernel over (x, s) (the first
version), a cheap evaluation was only weakly informative about s = 1 (augmented Branin's bias grows
like x1^2 and vanishes at s = 1, which a stationary kernel cannot express); the median regret at 0.6x
the cost was 0.10 and the mean fidelity 0.54. The fidelity kernel fixes the model: KG now spends most
evaluations at s = 0 (cost 0.1; mean fidelity below 0.3) and reaches a median target regret an order
of magnitude lower (see the table). What remains is the last digits: EI, with 30 target evaluations,
refines a basin down to regret ~1e-3; KG's recommendation, the minimizer of a posterior mean built
mostly from biased cheap data and a handful of target evaluations, is typically a few 1e-3 to a few
1e-2 away, and a median over 10 seeds at or below EI's final is not reached on this smooth 2-d
problem, where single-fidelity EI is already very efficient. The recommendation is also fragile: on
seeds with only one or two evaluations at s = 1 it can sit at a boundary point the biased model
likes (on two seeds, stopping one evaluation earlier to respect the cost cap moved it from regret
~1e-3 and 0.3 to 0.19 and 1.5).

**Deviations.** 10 seeds instead of 20 at full scale, and the noisy budget is 60 evaluations instead
of 80: the full grid at 20 seeds needed about 30 minutes of one core on the 2-core machine shared
with other jobs (the noisy task, with NEI and KG, dominates). KG uses a discretization of
the domain (evaluated points + 64 best-mean candidates + 64 Sobol points), as in Frazier et al.
(2009), with a 48-node Gauss-Hermite rule for the expectation; multi-fidelity KG likewise (the
target-fidelity set is the evaluated designs and Sobol points at s = 1), not BoTorch's one-shot KG.
The fidelity kernel's power is fixed at 1 (BoTorch learns it).
"""


REPRODUCTION = Reproduction(
    name="bo-tutorial",
    paper=Paper("A Tutorial on Bayesian Optimization", 2018, "https://arxiv.org/abs/1807.02811"),
    claim=("GP-based Bayesian optimization with EI beats random search; with noise, reporting the best posterior "
           "mean among evaluated points (noisy EI / KG) beats reporting the best observation; batches, "
           "constraints (EI x P(feasible)) and cost-aware multi-fidelity KG extend it."),
    tasks=TASKS,
    methods=METHODS,
    metrics=("regret", "reported_regret", "feasible", "within_5pct", "cost"),
    scales={
        "quick": Scale(seeds=2, settings={"budgets": QUICK,
                                          "options": {"n_candidates": 256, "n_local": 16, "n_restarts": 2,
                                                      "kg_points": 32}}),
        "full": Scale(seeds=10, settings={"budgets": FULL, "options": {}}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    grid=_grid,
    notes=NOTES,
)
