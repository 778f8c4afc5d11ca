"""Reproduction `neur2ro`: Neur2RO's ML-CCG on two-stage robust knapsack, checked against exact optima.

Paper: Dumouchelle, Julien, Kurtz & Khalil (2024), "Neur2RO: Neural Two-Stage Robust Optimization",
ICLR 2024, https://openreview.net/forum?id=SyOz6K8tQL (arXiv 2310.04345). The abstract's knapsack
claim: "Neur2RO finds solutions that are within roughly 2% of the best-known values in a few seconds
compared to the three hours of the state-of-the-art exact branch-and-price algorithm; for larger and
more complex instances, Neur2RO finds even better solutions."

At n = 8 and 10 items every instance is solved *exactly* here (`exact_robust_solution`: CCG with an
enumerated master, `guardopt.problems.knapsack`), so each solution's gap is exact, not relative to a
best-known value.

How the verdict follows the rules of ``docs/reproduce.md``:

1. *The claim as stated.* "Within roughly 2%" is checked as a mean exact gap ≤ 2% on the held-out
   n = 8 instances. Our acceptance checks are added beside it: mean exact gap ≤ 3%; a lower gap than
   the nominal (ξ = 0) solution's on at least 80% of the held-out instances, as stated, and beside it
   on at least 80% of those where the nominal solution is not already optimal (the paired gap
   reduction is also shown with its interval); ML-CCG converges
   (tolerance or repeated scenario) within 20 iterations on every instance. "In a few seconds
   compared to three hours" and "even better on larger instances" are about n = 20–80 against
   branch-and-price and cannot be tested where enumeration is exact: they stay INCONCLUSIVE, with
   our wall times at n = 10 beside the enumeration's. The capital-budgeting claim is not reproduced
   (INCONCLUSIVE).
2. *The paper's settings.* The network has the paper's widths (embed 32-16, post-aggregation 64-8,
   value 8); ML-CCG the paper's code defaults (tolerance 1e-4, at most 20 scenarios) and its
   projected-gradient adversary's defaults (5 restarts, 100 Adam steps, learning rate 1e-3).
   Training is scaled down for a CPU (fewer instances and epochs: see the notes); a larger adversary
   step (0.05, our choice) is a sensitivity column only.
3. *Baselines tuned like the method.* The sampled-scenario baseline's one knob (the number of
   scenarios) is tuned on instances drawn with tuning seeds, disjoint from the evaluation instances;
   the nominal solution and the exact reference have no knob; ML-CCG runs at the paper's settings,
   untuned. The report lists the grid and the choice.
4. *No best-of.* ML-CCG, its sensitivity variant and the baselines each have their own rows; only
   the paper's setting enters the verdict.
5. *Strict criteria.* The gap checks use means over every (training seed, instance) pair; the
   comparison with the nominal solution is paired per instance with its interval (`paired_gain`).
6. *Negative control.* An untrained (random-weight) value network run through the same verdict
   FAILS (a unit test, and a row of the full report).

Third-party cross-check: the enumerated second-stage values are compared with scipy's HiGHS MILP
(`scipy.optimize.milp`) on sampled (x, ξ) pairs in every `exact` cell, and the big-M encoding's
prediction with the network's forward pass at every master solution.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from guardopt.problems.knapsack import CORRELATIONS, KnapsackInstance, exact_robust_solution, sample_instance
from guardopt.reproduce.criteria import inconclusive, paired_gain
from guardopt.reproduce.spec import Cell, CellResult, Evidence, Paper, Reproduction, Results, Scale, Verdict
from guardopt.reproduce.tables import format_mean_se, metric_mean
from guardopt.reproduce.tuning import TuningResult, tune, tuning_seeds

TASKS = ("n8", "n10")
ML = "ml-ccg"
SENSITIVITY = "ml-ccg-pga0.05"
UNTRAINED = "ml-ccg-untrained"
METHODS = (ML, SENSITIVITY, "nominal", "scenarios", "exact", UNTRAINED)
ML_METHODS = (ML, SENSITIVITY, UNTRAINED)

PAPER_GAP = 0.02  # "within roughly 2%"
ACCEPT_GAP = 0.03
BETTER_FRACTION = 0.8  # "better than nominal on >= 8/10"
MAX_ITERATIONS = 20
SENSITIVITY_LR = 0.05
# Held-out instances: the note's CPU setting h = 80, δ = 0.5, Γ = 0.2 n, correlation types in turn.
EVAL_SEED = {"n8": 10_000, "n10": 20_000}
EVAL_N = {"n8": 8, "n10": 10}
TRAIN_SEED = 2_000_000
SCENARIO_GRID: dict[str, list[Any]] = {"n_scenarios": [10, 100, 1000]}
TUNING_INSTANCES = 5
ADVERSARY_PAPER: dict[str, Any] = {"restarts": 5, "steps": 100, "lr": 1e-3}
NETWORK_PAPER: dict[str, Any] = {"embed": [32, 16], "post": [64], "embedding_dim": 8, "value": [8]}


def _threads(settings: dict[str, Any]) -> int:
    return int(os.environ.get("GUARDOPT_TORCH_THREADS", settings.get("torch_threads", 1)))


def eval_instance(task: str, i: int) -> KnapsackInstance:
    """The ``i``-th held-out instance of a task (fixed seeds, independent of the training seed)."""
    return sample_instance(EVAL_N[task], CORRELATIONS[i % 4], delta=0.5, h=80, budget_factor=0.2,
                           seed=EVAL_SEED[task] + i)


def training_instances(seed: int, count: int) -> list[KnapsackInstance]:
    """Training instances of one training seed: n ∈ {6..10}, every generator setting at random."""
    rng = np.random.default_rng([seed, 11])
    out = []
    for i in range(count):
        out.append(sample_instance(int(rng.integers(6, 11)), str(rng.choice(CORRELATIONS)),
                                   delta=float(rng.choice([0.1, 0.5, 1.0])), h=int(rng.choice([40, 80])),
                                   budget_factor=float(rng.choice([0.1, 0.15, 0.2])),
                                   seed=TRAIN_SEED + 100_000 * seed + i))
    return out


@functools.lru_cache(maxsize=64)
def exact_solution(task: str, i: int) -> tuple[float, float, int, np.ndarray]:
    """``(optimal value, seconds, iterations, x*)`` of a held-out instance (cached per process)."""
    inst = eval_instance(task, i)
    t0 = time.perf_counter()
    sol = exact_robust_solution(inst)
    return sol.value, time.perf_counter() - t0, sol.iterations, sol.x


def gap_of(inst: KnapsackInstance, x: np.ndarray, optimum: float) -> float:
    """Exact relative gap ``(worst case of x − optimum) / |optimum|`` (0 for an optimal x)."""
    return (inst.worst_case(x).value - optimum) / abs(optimum)


@functools.lru_cache(maxsize=8)
def trained_network(seed: int, settings_json: str) -> Any:
    """Train the value network of one training seed (cached; epochs = 0 gives the untrained one)."""
    import torch

    from guardopt.robust.config import SetEncoderConfig
    from guardopt.robust.data import make_value_dataset
    from guardopt.robust.set_encoder import train_value_network

    s = json.loads(settings_json)
    torch.set_num_threads(_threads(s))
    t0 = time.perf_counter()
    problems = training_instances(seed, int(s["train_instances"]))
    data = make_value_dataset(problems, int(s["first_stage_samples"]), int(s["scenario_samples"]), seed=seed)
    t_data = time.perf_counter() - t0
    cfg = SetEncoderConfig(embed=tuple(NETWORK_PAPER["embed"]), post=tuple(NETWORK_PAPER["post"]),
                           embedding_dim=int(NETWORK_PAPER["embedding_dim"]), value=tuple(NETWORK_PAPER["value"]),
                           epochs=int(s["epochs"]), batch_size=int(s["batch_size"]), lr=float(s["lr"]))
    model = train_value_network(data, cfg, seed=seed)
    return model, t_data, len(data)


def _train_key(settings: dict[str, Any], untrained: bool) -> str:
    keys = ("train_instances", "first_stage_samples", "scenario_samples", "epochs", "batch_size", "lr")
    s = {k: settings[k] for k in keys}
    if untrained:
        s["epochs"] = 0
    return json.dumps(s, sort_keys=True)


@functools.lru_cache(maxsize=16)
def _tuning_instance(seed: int) -> tuple[KnapsackInstance, float]:
    inst = sample_instance(8, CORRELATIONS[seed % 4], delta=0.5, h=80, budget_factor=0.2, seed=seed)
    return inst, exact_robust_solution(inst).value


def _scenario_score(setting: Any, seed: int) -> float:
    from guardopt.robust.baselines import scenario_solution

    inst, opt = _tuning_instance(seed)
    sol = scenario_solution(inst, int(setting["n_scenarios"]), np.random.default_rng([seed, 5]))
    return -gap_of(inst, sol.x, opt)


@functools.lru_cache(maxsize=2)
def tuned_scenarios() -> TuningResult:
    """Tune the sampled-scenario baseline's scenario count on tuning instances (score: −exact gap)."""
    return tune(_scenario_score, SCENARIO_GRID, tuning_seeds(TUNING_INSTANCES))


def _milp_cross_check(inst: KnapsackInstance, rng: np.random.Generator, pairs: int) -> float:
    """Largest |enumerated Q − HiGHS MILP Q| over sampled (x, ξ) pairs (scipy.optimize.milp)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    from guardopt.robust.problem import sample_budgeted_box

    n = inst.n
    worst = 0.0
    for _ in range(pairs):
        x = (rng.uniform(size=n) < 0.7).astype(float)
        xi = sample_budgeted_box(n, inst.budget, 1, rng)[0]
        c = np.concatenate([inst.p_hat * xi - inst.f, -inst.p_hat * xi])  # variables (y, r)
        a = np.vstack([np.concatenate([inst.c, inst.t]), np.hstack([-np.eye(n), np.eye(n)])])
        res = milp(c, integrality=np.ones(2 * n), bounds=Bounds(np.zeros(2 * n), np.concatenate([x, x])),
                   constraints=LinearConstraint(a, -np.inf, np.concatenate([[inst.capacity], np.zeros(n)])),
                   options={"mip_rel_gap": 0.0})
        worst = max(worst, abs(float(res.fun) - float(inst.second_stage_value(x, xi)[0])))
    return worst


def run_cell(cell: Cell) -> CellResult:
    """Solve every held-out instance of the task with one method and score it exactly."""
    s = dict(cell.settings)
    count = int(s[f"{cell.task}_instances"])
    t0 = time.perf_counter()
    instances = [eval_instance(cell.task, i) for i in range(count)]
    optima = [exact_solution(cell.task, i) for i in range(count)]
    nominal_gaps: list[float] = []
    from guardopt.robust.baselines import nominal_solution, scenario_solution

    for inst, opt in zip(instances, optima):
        nominal_gaps.append(gap_of(inst, nominal_solution(inst).x, opt[0]))
    metrics: dict[str, float] = {}
    curves: dict[str, list[float]] = {"nominal_gaps": nominal_gaps}
    gaps: list[float] = []
    seconds: list[float] = []
    if cell.method in ML_METHODS:
        import torch

        from guardopt.robust.ccg import ml_ccg
        from guardopt.robust.config import AdversaryConfig, MLCCGConfig

        torch.set_num_threads(_threads(s))
        model, t_data, n_samples = trained_network(cell.seed, _train_key(s, cell.method == UNTRAINED))
        lr = SENSITIVITY_LR if cell.method == SENSITIVITY else float(ADVERSARY_PAPER["lr"])
        cfg = MLCCGConfig(max_iterations=MAX_ITERATIONS, adversary=AdversaryConfig(
            restarts=int(ADVERSARY_PAPER["restarts"]), steps=int(ADVERSARY_PAPER["steps"]), lr=lr))
        iters, conv, enc = [], [], []
        for i, (inst, opt) in enumerate(zip(instances, optima)):
            res = ml_ccg(inst, model, cfg, seed=1000 * cell.seed + i)
            gaps.append(gap_of(inst, res.x, opt[0]))
            seconds.append(res.seconds)
            iters.append(float(res.iterations))
            conv.append(float(res.converged))
            enc.append(res.encoding_error)
        curves |= {"iterations": iters, "converged": conv}
        metrics |= {"max_iterations": max(iters), "converged_fraction": float(np.mean(conv)),
                    "encoding_error": max(enc), "train_mse": model.train_mse, "val_mse": model.val_mse,
                    "train_seconds": model.seconds + t_data, "train_samples": float(n_samples)}
    elif cell.method == "nominal":
        gaps = list(nominal_gaps)
        seconds = [math.nan] * count
    elif cell.method == "scenarios":
        tuning = tuned_scenarios()
        n_scen = int(tuning.chosen["n_scenarios"])
        for i, (inst, opt) in enumerate(zip(instances, optima)):
            ts = time.perf_counter()
            sol = scenario_solution(inst, n_scen, np.random.default_rng([cell.seed, i, 5]))
            seconds.append(time.perf_counter() - ts)
            gaps.append(gap_of(inst, sol.x, opt[0]))
        metrics["tuned_n_scenarios"] = float(n_scen)
        curves["tuning_scores"] = [v for _, v in tuning.scores]
    elif cell.method == "exact":
        gaps = [0.0] * count
        seconds = [opt[1] for opt in optima]
        rng = np.random.default_rng([cell.seed, 17])
        metrics["milp_cross_check"] = max(_milp_cross_check(inst, rng, int(s["cross_check_pairs"]))
                                          for inst in instances[:2])
        metrics["exact_iterations"] = float(np.mean([opt[2] for opt in optima]))
    else:
        raise ValueError(f"unknown method {cell.method!r}; expected one of {METHODS}")
    beatable = [g > 1e-9 for g in nominal_gaps]
    better = [g < gn - 1e-9 for g, gn in zip(gaps, nominal_gaps)]
    metrics |= {"mean_gap": float(np.mean(gaps)), "max_gap": float(np.max(gaps)),
                "optimal_fraction": float(np.mean([g <= 1e-9 for g in gaps])),
                "better_than_nominal": float(sum(b for b, ok in zip(better, beatable) if ok)),
                "nominal_beatable": float(sum(beatable)),
                "mean_seconds": float(np.nanmean(seconds)) if not all(math.isnan(t) for t in seconds) else math.nan,
                "instances": float(count), "cell_seconds": time.perf_counter() - t0}
    curves |= {"gaps": gaps, "seconds": seconds}
    return CellResult(metrics, curves)


# --------------------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------------------


def _pooled(results: Results, curve: str, task: str, method: str) -> tuple[list[int], np.ndarray]:
    """Seeds and their curves (``(seeds, instances)``) of one (task, method)."""
    return results.seeds(task, method), results.curves(curve, task, method)


def method_evidence(results: Results, method: str = ML, task: str = "n8") -> list[Evidence]:
    """The checks of one ML-CCG variant on one task (the verdict uses ``ML`` on ``n8``)."""
    seeds, gaps = _pooled(results, "gaps", task, method)
    _, nominal = _pooled(results, "nominal_gaps", task, method)
    _, conv = _pooled(results, "converged", task, method)
    _, iters = _pooled(results, "iterations", task, method)
    if not seeds or gaps.size == 0:
        nan = math.nan
        return [Evidence(f"{method}: mean exact gap ≤ {PAPER_GAP:.0%} (abstract: 'within roughly 2%')", nan,
                         PAPER_GAP, False),
                Evidence(f"{method}: mean exact gap ≤ {ACCEPT_GAP:.0%}", nan, ACCEPT_GAP, False),
                Evidence(f"{method}: lower gap than the nominal solution's (as stated)", nan, BETTER_FRACTION, False),
                Evidence(f"{method}: lower gap than the nominal solution's", nan, BETTER_FRACTION, False),
                Evidence(f"{method}: converges within {MAX_ITERATIONS} iterations", nan, 1.0, False)]
    g = gaps[np.isfinite(gaps)]
    mean_gap = float(g.mean())
    per_seed = ", ".join(f"seed {s}: {float(np.nanmean(row)):.4f}" for s, row in zip(seeds, gaps))
    detail = f"{g.size} (seed, instance) pairs; per seed {per_seed}"
    beat = nominal > 1e-9
    better = (gaps < nominal - 1e-9) & beat
    k, m = int(better.sum()), int(beat.sum())
    frac = k / m if m else math.nan
    ties = int((~beat).sum())
    ev = [
        Evidence(f"{method}: mean exact gap ≤ {PAPER_GAP:.0%} (abstract: 'within roughly 2%' of the best value)",
                 mean_gap, PAPER_GAP, mean_gap <= PAPER_GAP, detail=detail),
        Evidence(f"{method}: mean exact gap ≤ {ACCEPT_GAP:.0%} on the held-out instances", mean_gap, ACCEPT_GAP,
                 mean_gap <= ACCEPT_GAP, detail=detail),
    ]
    # As stated: strictly better on >= 80% of all held-out (seed, instance) pairs. Where the nominal solution is
    # already optimal nothing can beat it, so this line can fail on instances alone; the line after it (added
    # once that was seen, never instead of this one) leaves those pairs out.
    strict = gaps < nominal - 1e-9
    ks, ms = int(strict.sum()), int(np.isfinite(gaps).sum())
    fs = ks / ms if ms else math.nan
    ev.append(Evidence(f"{method}: lower exact gap than the nominal (ξ = 0) solution on ≥ {BETTER_FRACTION:.0%} of "
                       "the held-out instances (as stated)", fs, BETTER_FRACTION, fs >= BETTER_FRACTION,
                       detail=f"{ks}/{ms} (seed, instance) pairs; the nominal solution is already optimal on {ties}"))
    check = (f"{method}: lower exact gap than the nominal (ξ = 0) solution on ≥ {BETTER_FRACTION:.0%} of the "
             "instances where the nominal solution is not optimal")
    if m == 0:
        ev.append(inconclusive(check, "the nominal solution is optimal on every instance"))
    else:
        ev.append(Evidence(check, frac, BETTER_FRACTION, frac >= BETTER_FRACTION,
                           detail=f"{k}/{m}; {ties} pair(s) where the nominal solution is already optimal left out"))
    ev.append(paired_gain(f"{method}: gap reduction over the nominal solution, paired per (seed, instance)",
                          gaps.ravel(), nominal.ravel(), higher_is_better=False))
    cf = float(np.nanmean(conv)) if conv.size else math.nan
    ev.append(Evidence(f"{method}: converges (tolerance or repeated scenario) within {MAX_ITERATIONS} iterations "
                       "on every instance", cf, 1.0, cf >= 1.0,
                       detail=f"iterations: max {int(np.nanmax(iters))}, mean {float(np.nanmean(iters)):.2f}"))
    return ev


def verdict(results: Results) -> Verdict:
    """Checks of ML-CCG at the paper's settings on the held-out n = 8 instances, plus the untestable claims."""
    ev = method_evidence(results, ML, "n8")
    ml_t = metric_mean(results, "mean_seconds", "n10", ML)
    ex_t = metric_mean(results, "mean_seconds", "n10", "exact")
    ev.append(inconclusive(
        "'in a few seconds compared to the three hours of' exact branch-and-price (ML-CCG seconds at n = 10 shown; "
        "threshold: exact enumeration's seconds)",
        f"at n = 10 the exact enumeration takes {ex_t:.2f} s and ML-CCG {ml_t:.2f} s; the paper's speed-up is at "
        "n = 20–80 against branch-and-price, which enumeration cannot reach", ml_t, ex_t))
    ev.append(inconclusive("'for larger and more complex instances, Neur2RO finds even better solutions'",
                           "needs instances where the exact method times out; every instance here is solved exactly"))
    ev.append(inconclusive("capital budgeting: beats k-adaptability with a 10 to 100-fold reduction in solution time",
                           "the capital-budgeting benchmark is not reproduced"))
    head = ev[1]
    return Verdict.from_evidence(ev, f"ML-CCG mean exact gap {head.value:.4f} on n = 8 ({head.detail.split(';')[0]})"
                                 if not math.isnan(head.value) else "")


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _present(results: Results, task: str) -> list[str]:
    return [m for m in METHODS if results.seeds(task, m)]


def extra_markdown(results: Results) -> str:
    """Gap tables beside the baselines, sensitivity, tuning, negative control, timing, cross-checks."""
    lines = ["### Exact gaps of the solutions (mean ± SE over training seeds of the per-seed mean)", "",
             "| task | method | mean gap | max gap | optimal | better than nominal | iterations (max) | "
             "seconds per instance |", "|---|---|---|---|---|---|---|---|"]
    for task in TASKS:
        for m in _present(results, task):
            it = results.metric("max_iterations", task, m)
            k = results.metric("better_than_nominal", task, m)
            b = results.metric("nominal_beatable", task, m)
            lines.append(f"| {task} | {m} | {format_mean_se(results.metric('mean_gap', task, m), 4)} | "
                         f"{np.nanmax(results.metric('max_gap', task, m)):.4f} | "
                         f"{np.nanmean(results.metric('optimal_fraction', task, m)):.0%} | "
                         f"{int(np.nansum(k))}/{int(np.nansum(b))} | "
                         + (f"{int(np.nanmax(it))}" if np.isfinite(it).any() else "–") + " | "
                         + format_mean_se(results.metric("mean_seconds", task, m), 3) + " |")
    if results.seeds("n8", ML) and results.seeds("n8", "scenarios"):
        ours = results.curves("gaps", "n8", ML).ravel()
        scen = results.curves("gaps", "n8", "scenarios").ravel()
        nom = results.curves("gaps", "n8", "nominal").ravel()
        if ours.size == scen.size:
            lines += ["", "Paired per (seed, instance) on n = 8 (gap reduction of ML-CCG; positive favours ML-CCG): "
                      f"against `scenarios`, {paired_gain('s', ours, scen, higher_is_better=False).detail}"
                      + (f"; against `nominal`, {paired_gain('n', ours, nom, higher_is_better=False).detail}"
                         if nom.size == ours.size else "") + "."]
    lines += ["", "`exact` is CCG with an enumerated master (the reference; gap 0 by definition); `nominal` "
              "plans for ξ = 0; `scenarios` is robust against sampled scenarios (count tuned); "
              f"`{UNTRAINED}` is the negative control (random weights), never in the verdict.", ""]
    lines += ["### Sensitivity to our choices (not in the verdict)", "",
              f"Adversary step: the paper's code default 1e-3 (verdict) against {SENSITIVITY_LR} (`{SENSITIVITY}`), "
              "same trained networks, same instances.", ""]
    for task in TASKS:
        if results.seeds(task, ML) and results.seeds(task, SENSITIVITY):
            a, b = results.paired("mean_gap", (task, SENSITIVITY), (task, ML))
            ev = paired_gain("sens", a, b, higher_is_better=False)
            lines.append(f"- {task}: mean gap {np.mean(b):.4f} (lr 1e-3) vs {np.mean(a):.4f} (lr {SENSITIVITY_LR}); "
                         f"gap reduction of lr {SENSITIVITY_LR}: {ev.detail}")
    lines.append("")
    lines += ["### Tuning (sampled-scenario baseline)", ""]
    scen = results.curves("tuning_scores", None, "scenarios")
    if scen.size:
        chosen = results.metric("tuned_n_scenarios", None, "scenarios")
        scores = tuple(({"n_scenarios": v}, float(sc)) for v, sc in zip(SCENARIO_GRID["n_scenarios"], scen[0]))
        res = TuningResult({"n_scenarios": int(chosen[0])}, scores, tuple(tuning_seeds(TUNING_INSTANCES)), True)
        lines += [res.markdown("scenarios: −(mean exact gap) on tuning instances (n = 8, h = 80, δ = 0.5, Γ = 0.2n)"),
                  ""]
    lines += ["ML-CCG runs at the paper's settings (not tuned): network widths "
              + json.dumps(NETWORK_PAPER) + ", adversary " + json.dumps(ADVERSARY_PAPER)
              + f", tolerance 1e-4, at most {MAX_ITERATIONS} scenarios. `nominal` and `exact` have no knob.", ""]
    lines += ["### Negative control", ""]
    if results.seeds("n8", UNTRAINED):
        neg = Verdict.from_evidence(method_evidence(results, UNTRAINED, "n8"))
        lines.append(f"The same checks on `{UNTRAINED}` (random weights, n = 8): **{neg.status.value}** "
                     f"({neg.summary}); mean gap {metric_mean(results, 'mean_gap', 'n8', UNTRAINED):.4f}.")
    else:
        lines.append(f"`{UNTRAINED}` runs at full scale only; a unit test runs it through the verdict and "
                     "requires FAILS.")
    lines += ["", "### Timing at n = 10 (seconds per instance; load-dependent)", "",
              "| method | n = 8 | n = 10 |", "|---|---|---|"]
    def secs(task: str, m: str) -> str:
        v = metric_mean(results, "mean_seconds", task, m)
        return "–" if math.isnan(v) else f"{v:.3f}"

    for m in (ML, SENSITIVITY, "scenarios", "exact"):
        lines.append(f"| {m} | {secs('n8', m)} | {secs('n10', m)} |")
    lines += ["", "Wall times were measured on a shared 2-core machine under heavy load from other jobs (load "
              "average 7–12 during the full run), so they are several times the unloaded ones; the ratio "
              "between methods is the informative part."]
    lines += ["", "### Cross-checks and training", ""]
    cc = results.metric("milp_cross_check", None, "exact")
    if cc.size:
        lines.append(f"- Enumerated second-stage values vs scipy's HiGHS MILP (`scipy.optimize.milp`) on sampled "
                     f"(x, ξ) pairs: largest difference {np.nanmax(cc):.3g}.")
    enc = results.metric("encoding_error", None, ML)
    if enc.size:
        lines.append(f"- Big-M encoding vs the network's forward pass at every master solution: largest difference "
                     f"{np.nanmax(enc):.3g} (scaled units).")
    for m in (ML,):
        tm = results.metric("train_mse", "n8", m)
        if tm.size:
            lines.append(f"- Value network ({m}): {int(np.nanmean(results.metric('train_samples', 'n8', m)))} training "
                         f"samples, train MSE {np.nanmean(tm):.2e}, held-out-instance MSE "
                         f"{np.nanmean(results.metric('val_mse', 'n8', m)):.2e} (normalized units), "
                         f"{np.nanmean(results.metric('train_seconds', 'n8', m)):.1f} s to generate and train.")
    lines.append("")
    return "\n".join(lines)


def plots(results: Results, outdir: Path) -> list[Path]:
    """Per-instance exact gaps of each method on n = 8."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    # The untrained control (gap 1 everywhere) is left out: it would flatten the other bars.
    methods = [m for m in (ML, SENSITIVITY, "scenarios", "nominal") if results.seeds("n8", m)]
    if not methods:
        return []
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(methods)
    for j, m in enumerate(methods):
        g = np.nanmean(results.curves("gaps", "n8", m), axis=0)
        ax.bar(np.arange(g.size) + j * width, g, width, label=m)
    ax.axhline(ACCEPT_GAP, color="k", ls="--", lw=0.8, label=f"{ACCEPT_GAP:.0%}")
    ax.set_xlabel("held-out instance (n = 8)")
    ax.set_ylabel("exact gap (mean over training seeds)")
    ax.set_title("Neur2RO ML-CCG vs baselines: exact optimality gap per instance")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out / "neur2ro_gaps.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def grid(scale: str) -> list[tuple[str, str]]:
    """Full: every method on n = 8, the timing methods on n = 10; quick: the verdict methods only."""
    if scale == "full":
        return [("n8", m) for m in METHODS] + [("n10", m) for m in (ML, "nominal", "exact")]
    return [("n8", m) for m in (ML, "nominal", "scenarios", "exact")] + [("n10", m) for m in (ML, "exact")]


NOTES = """\
**Problem.** The two-stage robust knapsack with repairs (Arslan & Detienne), generated as in the paper:
committing to item i costs f_i − p̄_i; after ξ is revealed each committed item is packed (profit
p̄_i − p̂_i ξ_i), packed and repaired (full profit, extra weight t_i) or outsourced (penalty f_i);
Ξ = {ξ ∈ [0,1]^n : Σξ ≤ Γ}. Values are costs (negative profits). Held-out instances: 10 at n = 8 and
(full scale) 3 at n = 10, with h = 80, δ = 0.5, Γ = 0.2n and the four correlation types in turn,
seeds fixed in code before any run. The exact optimum of each comes from CCG with an enumerated
master; gaps are (worst case of the solution − optimum)/|optimum|, each worst case computed exactly by
a cutting-plane LP over the 3^n second-stage patterns.

**Method.** Set-encoder value network at the paper's widths; training data in the paper's format
(instances × 10 first-stage decisions × scenarios) with exact labels by enumeration, on instances
with n ∈ {6, …, 10} and every generator setting drawn at random (the paper trains on n = 20–80);
Adam, MSE on Q/Σp̄. ML-CCG: master MILP in scipy's HiGHS with the affine-in-x embedding and big-M
ReLUs with interval bounds; projected-gradient adversary; ξ = 0 as the first scenario.

**Scales.** Quick: 1 training seed, 40 training instances × 10 × 20 (8,000 samples), 20 epochs;
5 instances at n = 8 and 1 at n = 10. Full: 3 training seeds, 150 instances × 10 × 50 (75,000
samples), 30 epochs of batch 512; 10 instances at n = 8, 3 at n = 10. The paper uses 500 instances ×
10 × 50 and 500 epochs.

**Deviations.** (1) PGA adversary instead of the paper's default MILP adversary (the paper's code offers
both). (2) The master's worst case over scenarios is the exact epigraph θ ≥ s·NN_k instead of the
paper's binary argmax selector (equivalent for a min–max objective). (3) One-sided stopping test (stop
when the adversary finds nothing worse than the master's own worst case). (4) Smaller training set,
fewer epochs and smaller instances than the paper, for one CPU core. (5) "Better than nominal" is
counted as stated, over all held-out instances, and, as an added line, over the instances where the
nominal solution is not already optimal (three of the ten held-out instances have a nominal solution
that is exactly optimal, which no method can beat; the added line came after that was seen, so it
never replaces the line as stated).
(6) Training scenarios: uniform directions rescaled to a total drawn uniformly in [0, Γ]
(`sample_budgeted_box`); the paper's code rescales to a random budget with its own range.
(7) The sampled-scenario baseline is ours (the paper's knapsack baseline is branch-and-price, whose
role the exact enumeration plays here); it enumerates the first stage, so it exists only at small n.
"""

REPRODUCTION = Reproduction(
    name="neur2ro",
    paper=Paper(title="Neur2RO: Neural Two-Stage Robust Optimization", year=2024,
                url="https://openreview.net/forum?id=SyOz6K8tQL"),
    claim=("For knapsack, Neur2RO finds solutions that are within roughly 2% of the best-known values in a few "
           "seconds compared to the three hours of the state-of-the-art exact branch-and-price algorithm; for larger "
           "and more complex instances, Neur2RO finds even better solutions. (Tested at n = 8 against exact optima: "
           "mean gap ≤ 2% and ≤ 3%, better than the nominal solution, convergence within 20 iterations.)"),
    tasks=TASKS,
    methods=METHODS,
    metrics=("mean_gap", "max_gap", "optimal_fraction", "better_than_nominal", "nominal_beatable", "max_iterations",
             "converged_fraction", "mean_seconds", "encoding_error", "milp_cross_check", "tuned_n_scenarios",
             "train_mse", "val_mse", "train_seconds"),
    scales={
        "quick": Scale(seeds=1, settings={"torch_threads": 1, "train_instances": 40, "first_stage_samples": 10,
                                          "scenario_samples": 20, "epochs": 20, "batch_size": 256, "lr": 1e-3,
                                          "n8_instances": 5, "n10_instances": 1, "cross_check_pairs": 5}),
        "full": Scale(seeds=3, settings={"torch_threads": 1, "train_instances": 150, "first_stage_samples": 10,
                                         "scenario_samples": 50, "epochs": 30, "batch_size": 512, "lr": 1e-3,
                                         "n8_instances": 10, "n10_instances": 3, "cross_check_pairs": 20}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    grid=grid,
    notes=NOTES,
)
