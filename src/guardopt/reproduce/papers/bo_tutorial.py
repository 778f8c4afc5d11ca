"""Reproduction ``bo-tutorial``: the claims of Frazier (2018), "A Tutorial on Bayesian Optimization".

The tutorial has no benchmark tables; its claims are qualitative. We check them with
`guardopt.bo.GPOptimizer` at its documented defaults (a numpy GP: Matérn-5/2 ARD, MAP
hyperparameters; acquisitions maximized over Sobol + local candidates and polished by L-BFGS-B), each
against a declared criterion:

1. EI beats random search. Branin after 40 evaluations (5 Sobol + 35 EI): EI's median regret below
   0.05 (the share of seeds below it has a 95% Clopper–Pearson lower bound above 1/2) and EI at
   least 10x below random search (paired log10 regret difference > 1); Hartmann6 after 80 (10 + 70):
   median below 0.5 the same way and EI below random search (paired log10 difference > 0).
2. Noise (Hartmann6 observed with N(0, 0.1^2) noise): the tutorial's noisy EI and KG, which report
   the evaluated point with the best posterior mean, have lower true regret than plain EI that
   reports the best *noisy* observation (paired over seeds, the same noise stream; one line each).
3. Batches: q = 4 points per round (fantasies) is within 1.25x of sequential EI's regret with the
   same number of evaluations in a quarter of the rounds (paired log10 non-inferiority bound).
4. Constraints: Branin outside a disc of radius 2 around its minimizer (π, 2.275), so the other two
   global minima are the constrained optima. EI x P(feasible), with one GP per constraint, recommends
   (pessimistic guard: the constraint GP's upper bound <= 0) a feasible point within 5% of the
   constrained optimum in most seeds (CP lower bound above 1/2), and does so more often than EI that
   ignores the constraint (paired over seeds). An optimizer that ignores the constraint can land in
   the excluded basin, so this check can fail; a recommendation that never passed the guard is
   VACUOUS, not a pass.
5. Multi-fidelity (Branin with a fidelity parameter s, cost 0.1 + 0.9 s): cost-aware KG, stopped at
   0.6x single-fidelity EI's cost, is within 1.25x of EI's final regret (paired log10 bound).

How it follows the rules of ``docs/reproduce.md``: every BO method runs at `GPOptimizer`'s
documented defaults at full scale (no constant is tuned, so there is no tuning table); every
comparison is paired over seeds with a one-sided 95% interval (`guardopt.reproduce.criteria`); each
acquisition has its own line. Multi-fidelity KG's two modelling choices (the learned power of the
fidelity kernel, the continuous minimizers in KG's inner maximum) each have a sensitivity line on
the same seeds (`mf-kg-p1`, `mf-kg-discrete`), which the verdict does not read.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from guardopt.bo.optimizer import GPOptimizer
from guardopt.core.optimizer import RandomSearch
from guardopt.core.study import Study
from guardopt.problems.synthetic import BRANIN, HARTMANN6, MF_BRANIN, ConstrainedFunction
from guardopt.reproduce.criteria import paired_gain, rate_above, vacuous
from guardopt.reproduce.spec import Cell, CellResult, Evidence, Paper, Reproduction, Results, Scale, Verdict

TASKS = ("branin", "hartmann6", "hartmann6-noisy", "hartmann6-batch", "constrained-branin", "mf-branin")
METHODS = ("ei", "random", "nei", "kg", "qei4", "ei-unconstrained", "mf-kg", "mf-kg-p1", "mf-kg-discrete")
NOISE = 0.1
GRID = {
    "branin": ("ei", "random"),
    "hartmann6": ("ei", "random"),
    "hartmann6-noisy": ("ei", "nei", "kg"),
    # q = 4 is compared with the `hartmann6` EI cells: the same seeds, initial design and budget.
    "hartmann6-batch": ("qei4",),
    "constrained-branin": ("ei", "ei-unconstrained"),
    # mf-kg is the verdict's method (continuous inner max, learned power); the other two are its
    # sensitivity lines: the power held at 1, and the previous version (discrete inner max, power 1).
    "mf-branin": ("ei", "mf-kg", "mf-kg-p1", "mf-kg-discrete"),
}
MF_VARIANTS: dict[str, dict[str, Any]] = {
    "mf-kg": {},
    "mf-kg-p1": {"fidelity_power": 1.0},
    "mf-kg-discrete": {"fidelity_power": 1.0, "kg_inner": "discrete"},
}
FULL = {"branin": 40, "hartmann6": 80, "hartmann6-noisy": 50, "hartmann6-batch": 80, "constrained-branin": 40,
        "mf-branin": 30}
QUICK = {"branin": 20, "hartmann6": 24, "hartmann6-noisy": 20, "hartmann6-batch": 24, "constrained-branin": 20,
         "mf-branin": 12}
MF_COST_FRACTION = 0.6
BRANIN_LEVEL = 0.05  # declared level: EI's median Branin regret after 40 evaluations below this
HARTMANN_LEVEL = 0.5  # ... and Hartmann6's after 80
BATCH_FACTOR = 1.25  # non-inferiority factor of the batch (and multi-fidelity) comparison
REGRET_FLOOR = 1e-12  # regrets are floored here before taking log10
KEEPOUT_CENTER = (math.pi, 2.275)  # one of Branin's three global minimizers
KEEPOUT_RADIUS = 2.0


def keepout_constraint(x: np.ndarray) -> np.ndarray:
    """``r^2 - |x - c|^2`` for the disc of radius 2 around Branin's minimizer (π, 2.275); feasible when ``<= 0``."""
    x = np.asarray(x, dtype=float)
    return np.asarray(KEEPOUT_RADIUS**2 - (x[..., 0] - KEEPOUT_CENTER[0]) ** 2 - (x[..., 1] - KEEPOUT_CENTER[1]) ** 2)


# Branin outside a disc that holds one of its three global minima: the other two, (-π, 12.275) and
# (9.42478, 2.475), stay feasible and are the constrained optima (value 0.397887), while an optimizer
# that ignores the constraint may well settle in the excluded basin.
KEEPOUT_BRANIN = ConstrainedFunction(BRANIN, {"keepout": (keepout_constraint, 0.0)}, optimal_value=0.397887,
                                     optimizer=(9.42478, 2.475), name="keepout-branin")


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
        return _run_multifidelity(method, budget, seed, fast, int(cell.settings.get("mf_max_evaluations", 200)))
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
    cb = KEEPOUT_BRANIN
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


def _run_multifidelity(method: str, budget: int, seed: int, fast: dict[str, Any],
                       max_evaluations: int = 200) -> CellResult:
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
    mopt = GPOptimizer("kg", seed=seed, n_initial=5, fidelity="fidelity", fidelity_cost=mf.cost,
                       **{**fast, **MF_VARIANTS[method]})
    study = Study(mf.space(), optimizer=mopt)
    spent = 0.0
    objective = mf.objective()
    n_evals = 0
    while n_evals < max_evaluations:
        t = study.ask()
        cost = mf.cost(t.params["fidelity"])
        if spent + cost > limit:  # never spend more than the limit: the asked point is not evaluated
            break
        study.tell(t, objective(t.params))
        spent += cost
        n_evals += 1
    rec = mopt.recommend_target()
    fids = np.array([t.params["fidelity"] for t in study.trials])
    near_target = fids >= 0.95  # KG's polish seldom lands exactly on s = 1
    # Where the model stands at the recommendation: its posterior mean there (original units) against
    # the true target value, i.e. how much of the regret is the model's error rather than the search's.
    mean, sd = mopt.predict([rec])
    mean_rec, sd_rec = float(mean[0]), float(sd[0])
    true_rec = float(BRANIN.fn(BRANIN.to_array(rec)))
    power = mopt.fidelity_power()
    high_cost = float(sum(mf.cost(float(f)) for f in fids[near_target]))
    return CellResult({"regret": float(mf.regret(rec)), "cost": float(spent), "evaluations": float(n_evals),
                       "mean_fidelity": float(np.mean(fids)), "high_fidelity_evaluations": float(np.sum(near_target)),
                       "high_fidelity_cost_share": high_cost / max(spent, 1e-12),
                       "power": math.nan if power is None else power,
                       "mean_error_at_rec": abs(mean_rec - true_rec),
                       "sd_at_rec": sd_rec, "z_error_at_rec": abs(mean_rec - true_rec) / max(sd_rec, 1e-300)})


def _median(results: Results, metric: str, task: str, method: str) -> float:
    v = results.metric(metric, task, method)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else math.nan


def _mean(results: Results, metric: str, task: str, method: str) -> float:
    v = results.metric(metric, task, method)
    return float(np.nanmean(v)) if v.size else math.nan


def _paired(results: Results, metric: str, a: tuple[str, str], b: tuple[str, str],
            log: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``metric`` of (task, method) ``a`` and ``b`` on their common seeds (log10 of it when ``log``)."""
    x, y = results.paired(metric, a, b)
    if log:
        x, y = np.log10(np.maximum(x, REGRET_FLOOR)), np.log10(np.maximum(y, REGRET_FLOOR))
    return x, y


def _share_below(check: str, results: Results, task: str, method: str, level: float) -> Evidence:
    """The median is below ``level`` with 95% confidence: the share of seeds below it has CP lower bound > 1/2."""
    v = results.metric("regret", task, method)
    v = v[np.isfinite(v)]
    return rate_above(check, int(np.sum(v < level)), int(v.size), 0.5)


def verdict(results: Results) -> Verdict:
    """Ten checks over the tutorial's claims; each comparison is paired over seeds with a 95% interval."""
    ev: list[Evidence] = []
    ev.append(_share_below(f"1a Branin: share of seeds with EI regret < {BRANIN_LEVEL} (median below it: > 0.5)",
                           results, "branin", "ei", BRANIN_LEVEL))
    ev.append(paired_gain("1b Branin: log10 regret, random minus EI (10x better: > 1)",
                          *_paired(results, "regret", ("branin", "ei"), ("branin", "random"), log=True),
                          margin=1.0, higher_is_better=False))
    ev.append(_share_below(f"1c Hartmann6: share of seeds with EI regret < {HARTMANN_LEVEL} (median below it: > 0.5)",
                           results, "hartmann6", "ei", HARTMANN_LEVEL))
    ev.append(paired_gain("1d Hartmann6: log10 regret, random minus EI (> 0)",
                          *_paired(results, "regret", ("hartmann6", "ei"), ("hartmann6", "random"), log=True),
                          higher_is_better=False))
    for m in ("nei", "kg"):
        ev.append(paired_gain(f"2 noisy Hartmann6: reported regret, EI (best noisy observation) minus {m} (> 0)",
                              *_paired(results, "reported_regret", ("hartmann6-noisy", m), ("hartmann6-noisy", "ei")),
                              higher_is_better=False))
    ev.append(paired_gain(f"3 log10 regret, sequential EI minus q=4 (same evaluations, 1/4 rounds; "
                          f"within {BATCH_FACTOR}x: > {-math.log10(BATCH_FACTOR):.3f})",
                          *_paired(results, "regret", ("hartmann6-batch", "qei4"), ("hartmann6", "ei"), log=True),
                          margin=-math.log10(BATCH_FACTOR), higher_is_better=False))
    found = results.metric("found", "constrained-branin", "ei")
    within = results.metric("within_5pct", "constrained-branin", "ei")
    check_4a = "4a EI x PoF: share of seeds with a feasible recommendation within 5% of the constrained optimum (> 0.5)"
    if found.size and np.nansum(found) == 0:
        ev.append(vacuous(check_4a, "no seed returned a recommendation that passed the pessimistic guard"))
    else:
        ev.append(rate_above(check_4a, int(np.nansum(within)), int(np.sum(np.isfinite(within))), 0.5))
    ev.append(paired_gain("4b within 5% and feasible: EI x PoF minus unconstrained EI (share of seeds, > 0)",
                          *_paired(results, "within_5pct", ("constrained-branin", "ei"),
                                   ("constrained-branin", "ei-unconstrained"))))
    ev.append(paired_gain(f"5 log10 regret, EI's final minus cost-aware KG at {MF_COST_FRACTION}x the cost "
                          f"(within {BATCH_FACTOR}x: > {-math.log10(BATCH_FACTOR):.3f})",
                          *_paired(results, "regret", ("mf-branin", "mf-kg"), ("mf-branin", "ei"), log=True),
                          margin=-math.log10(BATCH_FACTOR), higher_is_better=False))
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
            if method.startswith("mf-kg"):
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
    lines += _multifidelity_markdown(results)
    return "\n".join(lines)


def _multifidelity_markdown(results: Results) -> list[str]:
    """The multi-fidelity sensitivity table (our two choices) and the per-seed evidence behind claim 5."""
    if not results.metric("regret", "mf-branin", "mf-kg").size:
        return []
    lines = ["", "### Multi-fidelity KG: sensitivity to our choices (not the verdict)", "",
             "| variant | cells | median regret | log10 regret minus mf-kg's (paired mean ± se) | median power | "
             "median evaluations | median mean fidelity | cost share at s >= 0.95 | median abs. mean error at "
             "the recommendation | median error / posterior sd |", "|---|---|---|---|---|---|---|---|---|---|"]
    labels = {"mf-kg": "mf-kg: continuous inner max, learned power (the verdict's)",
              "mf-kg-p1": "mf-kg-p1: continuous inner max, power 1",
              "mf-kg-discrete": "mf-kg-discrete: discrete inner max, power 1 (the previous acquisition)"}
    for method, label in labels.items():
        r = results.metric("regret", "mf-branin", method)
        if not r.size:
            continue
        if method == "mf-kg":
            rel = "—"
        else:
            a, b = _paired(results, "regret", ("mf-branin", method), ("mf-branin", "mf-kg"), log=True)
            d = a - b
            rel = f"{np.mean(d):+.3f} ± {np.std(d, ddof=1) / math.sqrt(d.size):.3f}" if d.size > 1 else "—"
        lines.append(f"| {label} | {r.size} | {np.median(r):.4g} | {rel} | "
                     f"{_median(results, 'power', 'mf-branin', method):.3g} | "
                     f"{_median(results, 'evaluations', 'mf-branin', method):.0f} | "
                     f"{_median(results, 'mean_fidelity', 'mf-branin', method):.2f} | "
                     f"{_median(results, 'high_fidelity_cost_share', 'mf-branin', method):.2f} | "
                     f"{_median(results, 'mean_error_at_rec', 'mf-branin', method):.3g} | "
                     f"{_median(results, 'z_error_at_rec', 'mf-branin', method):.3g} |")
    lines += ["", "Per seed (claim 5's pairs; KG's columns are those of mf-kg):", "",
              "| seed | EI regret (30 at s = 1) | KG regret | learned power | KG evaluations | evaluations at "
              "s >= 0.95 | KG's abs. mean error at its recommendation | posterior sd there |",
              "|---|---|---|---|---|---|---|---|"]
    ei = dict(zip(results.seeds("mf-branin", "ei"), results.metric("regret", "mf-branin", "ei"), strict=True))
    cols = ("regret", "power", "evaluations", "high_fidelity_evaluations", "mean_error_at_rec", "sd_at_rec")
    kg = {c: dict(zip(results.seeds("mf-branin", "mf-kg"), results.metric(c, "mf-branin", "mf-kg"), strict=True))
          for c in cols}
    for seed in sorted(kg["regret"]):
        row = [kg[c].get(seed, math.nan) for c in cols]
        lines.append(f"| {seed} | {ei.get(seed, math.nan):.3g} | {row[0]:.3g} | {row[1]:.3g} | {row[2]:.0f} | "
                     f"{row[3]:.0f} | {row[4]:.3g} | {row[5]:.3g} |")
    return lines


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
    out.append(_save(fig, outdir, "bo_tutorial_regret.png"))
    methods = [m for m in GRID["mf-branin"] if results.metric("regret", "mf-branin", m).size]
    if methods:
        # Claim 5 per seed: each seed's final target regret, one line per seed across the methods.
        fig, ax = plt.subplots(figsize=(7, 4))
        per_seed: dict[int, list[float]] = {}
        for j, m in enumerate(methods):
            for seed, r in zip(results.seeds("mf-branin", m), results.metric("regret", "mf-branin", m), strict=True):
                per_seed.setdefault(seed, [math.nan] * len(methods))[j] = math.log10(max(r, REGRET_FLOOR))
        for vals in per_seed.values():
            ax.plot(range(len(methods)), vals, color="0.7", marker="o", lw=0.8)
        med = [np.nanmedian([v[j] for v in per_seed.values()]) for j in range(len(methods))]
        ax.plot(range(len(methods)), med, color="C3", marker="s", lw=2, label="median")
        ei_cost = _median(results, "cost", "mf-branin", "ei")
        ax.set_xticks(range(len(methods)), [f"EI (cost {ei_cost:.0f})"] + [
            f"{m} (cost <= {MF_COST_FRACTION * ei_cost:.3g})" for m in methods[1:]], fontsize=8)
        ax.set_ylabel("log10 final regret at s = 1")
        ax.set_title("mf-branin: per-seed regret (grey lines join one seed)")
        ax.legend()
        out.append(_save(fig, outdir, "bo_tutorial_multifidelity.png"))
    return out


def _save(fig: Any, outdir: str | Path, name: str) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(outdir) / name
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


NOTES = """
**Design.** Every method is `guardopt.bo.GPOptimizer` at its documented defaults (numpy GP:
Matérn-5/2 ARD, GLS constant mean, MAP hyperparameters refit each step; acquisitions maximized over
2048 Sobol + local candidates with an L-BFGS-B polish), run through a `Study`. Regret is always the
*true* (noise-free) regret. Branin uses 5 Sobol initial points, Hartmann6 10. The noisy task draws
the noise from a stream that depends only on the seed, so all methods see the same noise sequence.
`qei4` asks batches of 4 (sequential greedy with Kriging-believer fantasies) after the same initial
design as the `hartmann6` EI run of the same seed, with which it is paired (one EI run serves both
claims). The constrained problem is Branin subject to (x1 − π)² + (x2 − 2.275)² ≥ 4, a disc that
excludes one of the three global minima; the constrained optimum is the other two (0.397887), so
"within 5%" means regret ≤ 0.0199 at a feasible point. The multi-fidelity problem is BoTorch's
augmented Branin, fidelity s in [0, 1], cost 0.1 + 0.9 s; cost-aware KG runs while the next
evaluation keeps its total cost within 0.6x single-fidelity EI's budget (the asked point that would
exceed it is not evaluated), and reports the minimizer of the posterior mean at s = 1; its regret is
that of the true Branin (s = 1) at the reported design. Its GP uses the linear truncated fidelity
kernel (Wu et al. 2019; BoTorch's `LinearTruncatedFidelityKernel`):
k0(x, x') + (1 − s)(1 − s')(1 + s s')^p k1(x, x'), i.e. the target function plus a discrepancy that
vanishes at s = 1, with the power p learned with the other hyperparameters (MAP, BoTorch's
Gamma(3, 3) prior). KG's inner maximum, the best posterior mean at s = 1 before and after the
fantasy observation, is taken over the evaluated designs and Sobol points moved to s = 1, the
candidate's own design at s = 1, and the continuous minimizers of the current posterior mean
(L-BFGS-B), so that its baseline is the current optimum for every candidate. Two sensitivity lines
run on the same seeds and are not part of the verdict: `mf-kg-p1` (the power held at 1) and
`mf-kg-discrete` (the previous version's acquisition: the discrete set without the continuous
minimizers, power 1; its recommendation goes through this version's polish of the posterior mean, so
it is not bit-identical to the previous version's run).

**Checks.** Levels (0.05 on Branin, 0.5 on Hartmann6, 10x against random search, 1.25x for batches
and multi-fidelity, 5% for the constrained optimum) are declared criteria, fixed in
the code. A median below a level is tested by the share of seeds below it (a 95% Clopper–Pearson
lower bound above 1/2); comparisons are paired over seeds with a one-sided 95% t bound, on log10
regret where the regrets span orders of magnitude. With 9 seeds a share needs 8 of 9 to pass.

**Claim 5 (multi-fidelity), what we see.** With a plain Matérn kernel over (x, s) (the first
version), a cheap evaluation was only weakly informative about s = 1 (augmented Branin's bias grows
like x1^2 and vanishes at s = 1, which a stationary kernel cannot express). The fidelity kernel
fixed the model: KG spends most evaluations near s = 0 (cost 0.1; mean fidelity below 0.3). The
version before this one then reached a median target regret of 0.0094 at 0.6x the cost against EI's
0.0022 (check value −1.47). This version changes the two things a referee would object to in it:
KG's inner maximum now holds the continuous minimizers of the current posterior mean, so its
baseline is the current optimum rather than a discrete set's best, and the kernel's power is
learned. Neither helped, and the check fails by more: mf-kg's median regret is 0.076 (check value
−2.15; the 95% interval of the paired log10 difference, [−2.34, −0.36], lies wholly below zero, so
KG at 0.6x the cost is worse than EI, not merely not shown within 1.25x). On the same seeds, holding
the power at 1 gives a median of 0.033 (lower than mf-kg on 8 of 9 seeds) and the previous version
(discrete set, power 1) 0.0059 (lower on 8 of 9); both are sensitivity lines, not the verdict, and
no default was changed on these seeds. On disjoint seeds 1000-1015 at quick acquisition sizes the
default was also worse than the previous version (paired log10 difference +0.39, standard error
0.24; lower regret on 6 of 16 seeds), while holding the power at 1 was not better there (seeds
1000-1007: median 0.029 against 0.016; `guardopt.bo.optimizer`'s module docstring). Where the regret
comes from: on 7 of 9 seeds the posterior mean's error at KG's recommendation exceeds the regret,
and the model knows it: the posterior standard deviation there has median 0.37 (Branin units; 0.26
for the previous version), larger than the errors (median error / sd 0.32). The model is not
overconfident; after spending the budget mostly at s ≈ 0 the target function is still uncertain at
its believed optimum, which EI's 30 target evaluations pin down to 1e-3. The learned power ends near
1 (median 0.99); on the two seeds where it fell (0.71 and 0.65, seeds 4 and 8) the discrepancy's
variance near s = 1 shrinks, and on seed 8 the model claims a standard deviation of 7e-5 where its
error is 2.9. With the learned power KG put a larger share of its cost at s ≥ 0.95 (median 0.44
against 0.28 and 0.23). We have no confirmed mechanism for why putting the current optimum into KG's
set does worse here than the discrete set alone; on this smooth 2-d problem single-fidelity EI is
already very efficient.

**Deviations.** 9 seeds instead of 20 at full scale, and the noisy budget is 50 evaluations instead
of 80, to keep the full grid within about ten minutes of one core (the noisy task, with
NEI and KG, and multi-fidelity KG dominate). KG uses a discretization of the domain (evaluated points
+ 64 best-mean candidates + 64 Sobol points), as in Frazier et al. (2009), with a 48-node
Gauss-Hermite rule for the expectation. Multi-fidelity KG's set at s = 1 (evaluated designs and
Sobol points) also holds the continuous minimizers of the current posterior mean, but the fantasized
means are not optimized continuously for every candidate, as BoTorch's one-shot KG does; our cheap
version of that (`kg_inner="fantasy"`: the three best candidates re-scored with the minimizers of
their fantasized means) did worse on disjoint seeds 1000-1007 (median regret 0.042 against 0.016)
and is not used. The fidelity kernel's power is learned, as in BoTorch. The quick scale uses cheaper
acquisition settings and caps multi-fidelity KG at 16 evaluations; it is a smoke test, not a verdict.
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
        "quick": Scale(seeds=2, settings={"budgets": QUICK, "mf_max_evaluations": 16,
                                          "options": {"n_candidates": 256, "n_local": 16, "n_restarts": 2,
                                                      "kg_points": 32}}),
        "full": Scale(seeds=9, settings={"budgets": FULL, "options": {}}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    grid=_grid,
    notes=NOTES,
)
