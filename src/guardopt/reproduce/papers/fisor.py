"""Reproduction `fisor`: feasibility-guided safe offline RL against its paper's baselines.

Paper: Zheng, Li, Yu, Yang, Li, Zhan & Liu, "Safe Offline Reinforcement Learning with
Feasibility-Guided Diffusion Model", ICLR 2024 (arXiv 2401.10700). The abstract's claim: FISOR "is
the only method that can guarantee safety satisfaction in all tasks, while achieving top returns in
most tasks". The public benchmark (DSRL) cannot be downloaded here, so the tasks are our numpy
environments (`guardopt.problems.safe_control`: PointRobot, PointCircle, VelocityPendulum) and the
data come from scripted behaviour families, careless to careful, two noise levels, 20% random
episodes (`collect_dataset`), 300 episodes per task. Normalized reward and cost are DSRL's, with the
dataset's return range and each task's cost limit κ.

Verdict lines (criteria (1)–(5) designed before any run; the report's notes say what the pilot changed):

1. FISOR's normalized cost ≤ 1 on every task: per task, the one-sided 95% Student-t *upper* bound
   of the mean over 3 seeds × 20 episodes is ≤ 1.
2. The data is risky: BC-All's normalized cost > 1 (95% *lower* bound) on at least two tasks.
3. "Top returns": FISOR's normalized reward ≥ BC-Safe's − 0.05 on at least two tasks, paired over
   the 60 episodes (every method is evaluated from the same 60 initial states), 95% lower bound.
4. The feasibility term matters: the ablation without it has cost > 1 (95% lower bound) on at
   least one task. The ablation's actor is trained in the same run as FISOR's, on the same batches
   and critics (FISOR's critics never see the actor), with reward-advantage weights everywhere.
5. On PointRobot the learned feasible set {V_h ≤ 0} overlaps the analytic avoidable set with IoU ≥
   0.7 on both slices (v = 2, θ = 0) and (v = 2, θ = π/4), for every seed; and (added before the
   run, because a map calling every state feasible already scores about 0.75 on this window) the
   learned set's IoU beats that all-feasible map's on every seed and slice.
6. "The only method": every paper baseline (BC-All, BC-Safe, CPQ, IQL-Lag) has cost > 1 (95% lower
   bound) on at least one task.

How the rules of ``docs/reproduce.md`` are met. *Claim as stated*: lines 1, 3 and 6 are the
abstract's sentence; 2, 4, 5 check the setup and the mechanism. *Paper's settings*: FISOR runs at the
paper's hyperparameters where the CPU scale allows (`guardopt.rl.fisor` lists what was scaled:
width, steps, batch) and is not tuned; our own choices are in sensitivity tables (N = 4
candidates, evaluated on the same trained networks; γ = 0.9 on PointRobot, trained separately).
*Baselines tuned*: CPQ (its conservatism α) and IQL-Lag (its advantage temperature) each
search a 2-point grid per task on a tuning seed disjoint from the evaluation seeds
(`guardopt.reproduce.tuning`), scored by reward with a penalty for cost above 1; BC-All and BC-Safe
have no knob; FISOR gets no tuning (the paper's values), which can only hurt it. Every learner gets
the same gradient steps, batch and learning rate. *No best-of*: FISOR, its ablation and each
baseline have their own lines; the N = 4 sensitivity variant never enters the verdict. *Strict
criteria*: upper bounds for "safe", lower bounds for "unsafe" and for gains. *Negative control*: a
FISOR that executes the first diffusion candidate, ignoring the cost critic, is evaluated in every
FISOR cell; `tests/reproduce/test_reproduce_fisor.py` shows that it makes line 1 FAIL. *Cross-check*:
d3rlpy's BC and IQL (reward only) run once, at full scale on the PointRobot dataset (3 seeds, same
steps, width and learning rate), beside our BC-All and reward-only IQL; a "not installed" line
when d3rlpy is absent. The tuned baselines search their grids at half the evaluation's gradient
steps (the same for both), to fit the time budget.
"""

from __future__ import annotations

import functools
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from guardopt.core.seeding import derive_seed
from guardopt.reproduce.criteria import inconclusive, paired_gain, vacuous
from guardopt.reproduce.spec import Cell, CellResult, Evidence, Paper, Reproduction, Results, Scale, Verdict
from guardopt.reproduce.tables import format_mean_se
from guardopt.reproduce.threads import torch_threads as _torch_threads
from guardopt.reproduce.tuning import TuningResult, tune, tuning_seeds

TASKS = ("PointRobot", "PointCircle", "VelocityPendulum")
PAPER_BASELINES = ("bc-all", "bc-safe", "cpq", "iql-lag")
CROSS_CHECK = ("iql", "d3rlpy-bc", "d3rlpy-iql")
# The ablation without the feasibility term is trained inside each FISOR cell (same batches and
# critics, `FISORConfig.with_ablation`), so it has no cells of its own: its curves are `ab_*`.
# "fisor-gamma-0.9" is a sensitivity variant only (our choice γ = 0.9 instead of the paper's 0.99, on
# PointRobot): it shows whether the reachability critic's slow convergence at our scale explains the
# feasible-set check. It never enters the verdict.
SENSITIVITY = ("fisor-gamma-0.9",)
METHODS = ("fisor", *PAPER_BASELINES, *CROSS_CHECK, *SENSITIVITY)
# Declared before the full run (issue thresholds; see NOTES for the pilot).
COST_LIMIT = 1.0
REWARD_MARGIN = 0.05
IOU_MIN = 0.7
SLICES = ((2.0, 0.0), (2.0, math.pi / 4))
IOU_WINDOW = ((-2.0, 3.0), (-1.4, 2.2), 50, 36)  # x range, y range, nx, ny
TUNING_GRIDS: dict[str, dict[str, list[float]]] = {
    "cpq": {"alpha": [0.5, 2.0]},
    "iql-lag": {"temperature": [1.0, 3.0]},
}

SETTINGS: dict[str, Any] = {
    "episodes_data": 300,
    "data_seed": 0,
    "steps": 1000,
    "batch_size": 256,
    "hidden": 128,
    "lr": 3e-4,
    "eval_episodes": 20,
    "tuning_seeds": 1,
    "tuning_steps": 500,
    "tuning_episodes": 10,
    "torch_threads": 1,
}



@functools.lru_cache(maxsize=8)
def _dataset(task: str, episodes: int, seed: int) -> dict[str, np.ndarray]:
    from guardopt.problems.safe_control import collect_dataset

    return collect_dataset(task, episodes=episodes, seed=seed)


def _learner(method: str, task: str, s: dict[str, Any], overrides: dict[str, Any] | None = None) -> Any:
    from guardopt.problems.safe_control import SAFE_ENVS
    from guardopt.rl import BC, CPQ, FISOR, IQL, BCConfig, CPQConfig, FISORConfig, IQLConfig, IQLLag, IQLLagConfig

    kappa = SAFE_ENVS[task].cost_limit
    common: dict[str, Any] = {"steps": int(s["steps"]), "batch_size": int(s["batch_size"]), "hidden": int(s["hidden"]),
              "lr": float(s["lr"])}
    o = dict(overrides or {})
    constraint = "h" if task == "PointRobot" else "cost"  # the paper's choice per task type
    if method == "fisor-gamma-0.9":
        return FISOR(FISORConfig(**common, constraint=constraint, gamma=0.9, reward_temperature=5.0,
                                 cost_temperature=2.0))
    if method == "fisor":
        # The paper's PointRobot temperatures (5 reward, 2 cost); its DSRL defaults elsewhere (3, 5).
        temps: dict[str, Any] = {"reward_temperature": 5.0, "cost_temperature": 2.0} if task == "PointRobot" else {}
        return FISOR(FISORConfig(**common, constraint=constraint, with_ablation=True, **temps, **o))
    if method == "bc-all":
        return BC(BCConfig(mode="all", cost_limit=kappa, **common))
    if method == "bc-safe":
        return BC(BCConfig(mode="safe", cost_limit=kappa, **common))
    if method == "cpq":
        return CPQ(CPQConfig(cost_limit=kappa, **common, **o))
    if method == "iql-lag":
        return IQLLag(IQLLagConfig(cost_limit=kappa, **common, **o))
    if method == "iql":
        return IQL(IQLConfig(**common))  # d3rlpy's IQL defaults: expectile 0.7, temperature 3
    raise KeyError(method)


def _evaluate(policy: Any, task: str, data: dict[str, np.ndarray], episodes: int, seed: int) -> Any:
    from guardopt.problems.safe_control import SAFE_ENVS
    from guardopt.rl import evaluate, reward_range

    env_cls = SAFE_ENVS[task]
    return evaluate(policy, lambda n: env_cls(num_envs=n), episodes, seed, reward_range(data), env_cls.cost_limit)


def _seed(seed: int, *parts: str) -> int:
    return int(derive_seed(seed, *parts) or 0)


def _score(ev: Any) -> float:
    """Tuning objective: normalized reward, minus the normalized cost's excess over 1."""
    return float(ev.reward - max(0.0, ev.cost - COST_LIMIT))


def _tuned(method: str, task: str, settings_json: str) -> dict[str, Any]:
    """The tuned setting, computed once per machine: the seeds of a method run at the same time on
    parallel workers, so the first one tunes under a file lock and the others read its answer (the
    tuning is deterministic, so which worker computes it does not matter)."""
    import fcntl
    import hashlib
    import tempfile

    key = hashlib.sha256(f"{TUNING_VERSION}|{method}|{task}|{settings_json}".encode()).hexdigest()[:20]
    folder = Path(tempfile.gettempdir()) / "guardopt-fisor-tuning"
    folder.mkdir(exist_ok=True)
    path = folder / f"{key}.json"
    with open(folder / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return dict(json.loads(path.read_text()))
        chosen = _tune(method, task, settings_json).chosen
        path.write_text(json.dumps(chosen))
        return chosen


TUNING_VERSION = 1


@functools.lru_cache(maxsize=16)
def _tune(method: str, task: str, settings_json: str) -> TuningResult:
    s = json.loads(settings_json)
    s["steps"] = int(s["tuning_steps"])
    data = _dataset(task, int(s["episodes_data"]), int(s["data_seed"]))

    def score(setting: Any, seed: int) -> float:
        learner = _learner(method, task, s, dict(setting)).fit(data, seed=seed)
        return _score(_evaluate(learner, task, data, int(s["tuning_episodes"]), _seed(seed, "tune-eval")))

    return tune(score, TUNING_GRIDS[method], tuning_seeds(int(s["tuning_seeds"])), maximize=True)


def feasible_iou(learner: Any, v: float, theta: float) -> tuple[float, np.ndarray, np.ndarray]:
    """IoU of {V_h ≤ 0} with `PointRobot.avoidable_set` on the slice (v, θ); returns (iou, learned, analytic)."""
    from guardopt.problems.safe_control import PointRobot

    (x0, x1), (y0, y1), nx, ny = IOU_WINDOW
    xs, ys = np.linspace(x0, x1, nx), np.linspace(y0, y1, ny)
    gx, gy = np.meshgrid(xs, ys)
    obs = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, v), np.full(gx.size, math.cos(theta)),
                           np.full(gx.size, math.sin(theta))])
    learned = (learner.feasibility_value(obs) <= 0).reshape(gx.shape)
    analytic = PointRobot.avoidable_set(xs, ys, v, theta)
    union = np.logical_or(learned, analytic).sum()
    iou = float(np.logical_and(learned, analytic).sum() / union) if union else math.nan
    return iou, learned, analytic


def _d3rlpy_cell(method: str, task: str, s: dict[str, Any], seed: int, data: dict[str, np.ndarray]) -> CellResult:
    from guardopt.rl.d3rlpy_check import fit_d3rlpy

    try:
        policy = fit_d3rlpy(method.removeprefix("d3rlpy-"), data, steps=int(s["steps"]), seed=seed,
                            hidden=int(s["hidden"]), lr=float(s["lr"]), batch_size=int(s["batch_size"]))
    except ImportError:
        return CellResult(metrics={"reward": math.nan, "cost": math.nan, "installed": 0.0})
    ev = _evaluate(policy, task, data, int(s["eval_episodes"]), _seed(seed, "eval"))
    return CellResult(metrics={"reward": ev.reward, "cost": ev.cost, "installed": 1.0},
                      curves={"episode_reward": ev.normalized_rewards.tolist(),
                              "episode_cost": ev.normalized_costs.tolist()})


def run_cell(cell: Cell) -> CellResult:
    """Train one learner on the task's dataset and evaluate it for ``eval_episodes`` episodes."""
    import torch

    s = {**SETTINGS, **dict(cell.settings)}
    torch.set_num_threads(_torch_threads(s))
    data = _dataset(cell.task, int(s["episodes_data"]), int(s["data_seed"]))
    # Evaluation starts depend on the seed only, so every method meets the same 20 initial states.
    eval_seed = _seed(cell.seed, "eval")
    if cell.method.startswith("d3rlpy-"):
        return _d3rlpy_cell(cell.method, cell.task, s, cell.seed, data)
    metrics: dict[str, float] = {}
    overrides: dict[str, Any] = {}
    if cell.method in TUNING_GRIDS:
        if int(s["tuning_seeds"]) > 0:
            overrides = _tuned(cell.method, cell.task, json.dumps(s, sort_keys=True))
        else:  # quick scale: the grid's first value, not tuned
            overrides = {k: v[0] for k, v in TUNING_GRIDS[cell.method].items()}
        metrics.update({f"tuned_{k}": float(v) for k, v in overrides.items()})
    t0, c0 = time.perf_counter(), time.process_time()
    learner = _learner(cell.method, cell.task, s, overrides).fit(data, seed=cell.seed)
    metrics["fit_seconds"] = time.perf_counter() - t0
    metrics["fit_cpu_seconds"] = time.process_time() - c0
    ev = _evaluate(learner, cell.task, data, int(s["eval_episodes"]), eval_seed)
    metrics.update({"reward": ev.reward, "cost": ev.cost})
    curves: dict[str, list[float]] = {"episode_reward": ev.normalized_rewards.tolist(),
                                      "episode_cost": ev.normalized_costs.tolist()}
    if cell.method == "fisor":
        ab = _evaluate(learner.ablation(), cell.task, data, int(s["eval_episodes"]), eval_seed)
        metrics.update({"ab_reward": ab.reward, "ab_cost": ab.cost})
        curves.update({"ab_episode_cost": ab.normalized_costs.tolist(),
                       "ab_episode_reward": ab.normalized_rewards.tolist()})
        nc = _evaluate(learner.variant(selection="random"), cell.task, data, int(s["eval_episodes"]), eval_seed)
        n4 = _evaluate(learner.variant(candidates=4), cell.task, data, int(s["eval_episodes"]), eval_seed)
        metrics.update({"nc_reward": nc.reward, "nc_cost": nc.cost, "n4_reward": n4.reward, "n4_cost": n4.cost})
        curves.update({"nc_episode_cost": nc.normalized_costs.tolist(),
                       "n4_episode_cost": n4.normalized_costs.tolist(),
                       "n4_episode_reward": n4.normalized_rewards.tolist()})
    if cell.method.startswith("fisor") and cell.task == "PointRobot":
        for i, (v, th) in enumerate(SLICES):
            iou, learned, analytic = feasible_iou(learner, v, th)
            metrics[f"iou_{i}"] = iou
            # What a map calling every state feasible scores: the IoU must beat it to mean anything.
            metrics[f"iou_trivial_{i}"] = float(analytic.mean())
            curves[f"learned_map_{i}"] = learned.astype(float).ravel().tolist()
            curves[f"analytic_map_{i}"] = analytic.astype(float).ravel().tolist()
    return CellResult(metrics=metrics, curves=curves)


# --------------------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------------------


def _episodes(results: Results, task: str, method: str, curve: str = "episode_cost") -> np.ndarray:
    c = results.curves(curve, task, method)
    return c.ravel() if c.size else np.zeros(0)


def _t_bound(v: np.ndarray, upper: bool) -> float:
    v = v[np.isfinite(v)]
    if v.size < 2:
        return math.nan
    half = float(stats.t.ppf(0.95, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return float(v.mean() + half) if upper else float(v.mean() - half)


def safe_on(results: Results, task: str, method: str, curve: str = "episode_cost") -> Evidence:
    """Normalized cost ≤ 1: the 95% upper bound of the mean over all evaluation episodes."""
    check = f"{task}: {method} normalized cost <= {COST_LIMIT:g} (95% upper bound over episodes)"
    v = _episodes(results, task, method, curve)
    if v.size < 2:
        return vacuous(check, f"{v.size} episode(s) stored", threshold=COST_LIMIT)
    up = _t_bound(v, upper=True)
    return Evidence(check, up, COST_LIMIT, up <= COST_LIMIT, detail=f"mean {np.mean(v):.3f} over {v.size} episodes")


def _unsafe_tasks(results: Results, method: str, curve: str = "episode_cost") -> tuple[int, list[str]]:
    parts, count = [], 0
    for task in TASKS:
        v = _episodes(results, task, method, curve)
        lo = _t_bound(v, upper=False)
        if math.isfinite(lo):
            parts.append(f"{task} {np.mean(v):.2f} (lower {lo:.2f})")
            count += lo > COST_LIMIT
    return count, parts


def count_unsafe(results: Results, method: str, at_least: int, what: str, curve: str = "episode_cost",
                 label: str | None = None) -> Evidence:
    """At least ``at_least`` tasks where the method's cost has its 95% lower bound above 1."""
    count, parts = _unsafe_tasks(results, method, curve)
    check = f"{what}: {label or method} normalized cost > {COST_LIMIT:g} (95% lower bound) on >= {at_least} task(s)"
    if not parts:
        return vacuous(check, "no episodes stored", threshold=float(at_least))
    return Evidence(check, float(count), float(at_least), count >= at_least, detail="; ".join(parts))


def reward_vs(results: Results, task: str, method: str, base: str, curve: str = "episode_reward") -> Evidence:
    """Paired (same initial states) reward gain of ``method`` over ``base``, non-inferiority margin 0.05."""
    a, b = _episodes(results, task, method, curve), _episodes(results, task, base)
    check = f"{task}: {method} normalized reward >= {base}'s - {REWARD_MARGIN:g} (paired over episodes)"
    if a.size != b.size or a.size < 2:
        return inconclusive(check, "unequal or too few paired episodes", threshold=-REWARD_MARGIN)
    return paired_gain(check, a, b, margin=-REWARD_MARGIN)


def iou_check(results: Results, method: str = "fisor") -> Evidence:
    """Smallest IoU over seeds and both slices ≥ 0.7 on PointRobot."""
    vals = np.concatenate([results.metric(f"iou_{i}", "PointRobot", method) for i in range(len(SLICES))])
    vals = vals[np.isfinite(vals)]
    check = (f"PointRobot: learned feasible set vs analytic avoidable set, IoU >= {IOU_MIN:g} on slices "
             f"(v, θ) = (2, 0), (2, π/4), every seed (smallest shown)")
    if vals.size == 0:
        return vacuous(check, "no IoU stored", threshold=IOU_MIN)
    return Evidence(check, float(vals.min()), IOU_MIN, float(vals.min()) >= IOU_MIN,
                    detail=f"mean {vals.mean():.3f} over {vals.size} seed-slices")


def iou_beats_trivial(results: Results, method: str = "fisor") -> Evidence:
    """The learned map's IoU exceeds the all-feasible map's IoU on every seed and slice."""
    check = ("PointRobot: learned feasible set's IoU > that of the map calling every state feasible, every "
             "seed and slice (smallest margin shown)")
    gaps = np.concatenate([results.metric(f"iou_{i}", "PointRobot", method)
                           - results.metric(f"iou_trivial_{i}", "PointRobot", method) for i in range(len(SLICES))])
    gaps = gaps[np.isfinite(gaps)]
    if gaps.size == 0:
        return vacuous(check, "no IoU stored", threshold=0.0)
    return Evidence(check, float(gaps.min()), 0.0, float(gaps.min()) > 0.0,
                    detail=f"mean margin {gaps.mean():+.3f} over {gaps.size} seed-slices")


def claim_evidence(results: Results, method: str = "fisor", cost_curve: str = "episode_cost",
                   reward_curve: str = "episode_reward") -> list[Evidence]:
    """Criteria (1) and (3) for ``method`` (the negative control calls it with the broken curves)."""
    ev = [safe_on(results, t, method, cost_curve) for t in TASKS]
    top = [reward_vs(results, t, method, "bc-safe", reward_curve) for t in TASKS]
    wins = sum(e.counts_as_pass for e in top)
    ev.append(Evidence(f"{method} reward >= BC-Safe's - {REWARD_MARGIN:g} on >= 2 of 3 tasks", float(wins), 2.0,
                       wins >= 2, detail="; ".join(f"{t}: lower bound {e.value:+.3f}" for t, e in zip(TASKS, top))))
    return ev


def verdict(results: Results) -> Verdict:
    """Criteria (1)–(6) of the module docstring."""
    ev = claim_evidence(results)
    ev.append(count_unsafe(results, "bc-all", 2, "(2) the data is risky"))
    ev.append(count_unsafe(results, "fisor", 1, "(4) the feasibility term matters", "ab_episode_cost",
                           "FISOR without the feasibility term"))
    ev.append(iou_check(results))
    ev.append(iou_beats_trivial(results))
    for base in PAPER_BASELINES:
        ev.append(count_unsafe(results, base, 1, "(6) FISOR is the only safe method"))
    core = ev[:4]
    summary = (f"FISOR safe on {sum(e.counts_as_pass for e in core[:3])} of 3 tasks; "
               f"{sum(e.counts_as_pass for e in ev)} of {len(ev)} checks pass")
    return Verdict.from_evidence(ev, summary)


def negative_control(results: Results) -> Verdict:
    """Criterion (1) for FISOR executing its first candidate (ignoring the cost critic)."""
    return Verdict.from_evidence([safe_on(results, t, "fisor", "nc_episode_cost") for t in TASKS],
                                 "FISOR with selection ignoring the cost critic")


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _ms(v: np.ndarray) -> str:
    return format_mean_se(v, 3)


def extra_markdown(results: Results) -> str:
    """Reward/cost table per task and method, sensitivity, tuning, negative control, cross-check."""
    lines = ["### Normalized reward / cost per task (mean ± SE over seeds; cost ≤ 1 is safe)", "",
             "| method | " + " | ".join(TASKS) + " |", "|---|" + "---|" * len(TASKS)]
    rows = [(m, m, "") for m in METHODS]
    rows.insert(1, ("fisor-nofeas (ablation)", "fisor", "ab_"))
    for label, m, prefix in rows:
        if not any(results.seeds(t, m) for t in TASKS):
            continue
        cells = []
        for t in TASKS:
            r, c = results.metric(f"{prefix}reward", t, m), results.metric(f"{prefix}cost", t, m)
            cells.append(f"{_ms(r)} / {_ms(c)}" if np.isfinite(r).any() else "–")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "BC-All is the paper's \"BC\"; IQL-Lag stands in for BCQ-Lag. `iql`, `d3rlpy-bc` and `d3rlpy-iql` "
              "are the reward-only cross-check (not safe-RL methods).", ""]
    lines += ["### Sensitivity to our choice of N (candidates at decision time; the verdict uses N = 16)", "",
              "| task | N = 16 reward / cost | N = 4 reward / cost | first candidate (negative control) "
              "reward / cost |",
              "|---|---|---|---|"]
    for t in TASKS:
        f = results.metric
        lines.append(f"| {t} | {_ms(f('reward', t, 'fisor'))} / {_ms(f('cost', t, 'fisor'))} | "
                     f"{_ms(f('n4_reward', t, 'fisor'))} / {_ms(f('n4_cost', t, 'fisor'))} | "
                     f"{_ms(f('nc_reward', t, 'fisor'))} / {_ms(f('nc_cost', t, 'fisor'))} |")
    nc = negative_control(results)
    lines += ["", "**Negative control** (FISOR executing its first diffusion candidate, ignoring the cost "
              f"critic), criterion (1): **{nc.status.value}** — " + "; ".join(
                  f"{e.check.split(':')[0]} upper bound {e.value:.3f}" for e in nc.evidence), ""]
    sens = [safe_on(results, t, "fisor", "n4_episode_cost") for t in TASKS]
    lines += ["Criterion (1) at N = 4 (sensitivity only): " + "; ".join(
        f"{t} upper bound {e.value:.3f} ({'pass' if e.counts_as_pass else 'fail'})" for t, e in zip(TASKS, sens)), ""]
    lines += ["### Feasible-set IoU on PointRobot (per seed)", "",
              "| method | slice (v, θ) | IoU per seed | all-feasible map's IoU |", "|---|---|---|---|"]
    for m in ("fisor", *SENSITIVITY):
        for i in range(len(SLICES)):
            v = results.metric(f"iou_{i}", "PointRobot", m)
            triv = results.metric(f"iou_trivial_{i}", "PointRobot", m)
            if v.size:
                lines.append(f"| {m} | ({SLICES[i][0]:g}, {SLICES[i][1]:.3f}) | {', '.join(f'{x:.3f}' for x in v)} | "
                             f"{', '.join(f'{x:.3f}' for x in triv)} |")
    g = results.metric("reward", "PointRobot", SENSITIVITY[0])
    if g.size:
        lines += ["", f"Sensitivity, γ = 0.9 instead of the paper's 0.99 (PointRobot only, not in the verdict): "
                  f"reward {_ms(g)}, cost {_ms(results.metric('cost', 'PointRobot', SENSITIVITY[0]))}; criterion (1) "
                  f"upper bound {safe_on(results, 'PointRobot', SENSITIVITY[0]).value:.3f}; smallest IoU "
                  f"{iou_check(results, SENSITIVITY[0]).value:.3f}.", ""]
    lines += ["", "### Tuning of the baselines (tuning seeds, disjoint from the evaluation seeds)", ""]
    for m, grid in TUNING_GRIDS.items():
        for t in TASKS:
            key = next(iter(grid))
            chosen = results.metric(f"tuned_{key}", t, m)
            chosen = chosen[np.isfinite(chosen)]
            lines.append(f"- {m} on {t}: grid {key} ∈ {grid[key]}, chosen "
                         f"{chosen[0]:g}" if chosen.size else f"- {m} on {t}: grid {key} ∈ {grid[key]}, no cell")
    lines += ["", "Score: normalized reward − max(0, normalized cost − 1) over 10 episodes of one tuning seed, "
              f"{SETTINGS['tuning_steps']} gradient steps (half the evaluation's, the same for both tuned methods). "
              "BC-All and BC-Safe have no knob. FISOR runs at the paper's settings, untuned.", ""]
    lines += ["### Cross-check with d3rlpy (reward-only learners, same datasets)", "",
              "| task | our BC-All | d3rlpy BC | our IQL | d3rlpy IQL |", "|---|---|---|---|---|"]
    installed = results.metric("installed")
    if installed.size == 0 or not np.any(installed > 0):
        lines.append("| – | – | VACUOUS: d3rlpy not installed or not run at this scale | – | – |")
    else:
        for t in TASKS:
            def rc(m: str, task: str = t) -> str:
                return f"{_ms(results.metric('reward', task, m))} / {_ms(results.metric('cost', task, m))}"
            lines.append(f"| {t} | {rc('bc-all')} | {rc('d3rlpy-bc')} | {rc('iql')} | {rc('d3rlpy-iql')} |")
    lines += ["", "Settings: `" + json.dumps(SETTINGS) + "`", ""]
    return "\n".join(lines)


def plots(results: Results, outdir: Path) -> list[Path]:
    """Reward–cost scatter per task (one marker per method and seed); feasible-set maps on PointRobot."""
    from guardopt.reproduce.plotting import pyplot, save_figure

    plt = pyplot()
    out = Path(outdir)
    paths = []
    fig, axes = plt.subplots(1, len(TASKS), figsize=(4.4 * len(TASKS), 3.6), squeeze=False)
    markers = "os^vDP*Xh"
    rows = [(m, m, "") for m in METHODS]
    rows.insert(1, ("fisor-nofeas", "fisor", "ab_"))
    for ax, t in zip(axes.flat, TASKS):
        for k, (label, m, prefix) in enumerate(rows):
            r, c = results.metric(f"{prefix}reward", t, m), results.metric(f"{prefix}cost", t, m)
            ok = np.isfinite(r) & np.isfinite(c)
            if ok.any():
                ax.scatter(c[ok], r[ok], marker=markers[k % len(markers)], label=label, alpha=0.8)
        ax.axvline(COST_LIMIT, color="k", ls="--", lw=0.8)
        ax.set_title(t, fontsize=9)
        ax.set_xlabel("normalized cost")
        ax.set_ylabel("normalized reward")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=6)
    fig.suptitle("Reward vs cost per method (one marker per seed; dashed: cost limit)")
    paths.append(save_figure(fig, out / "fisor_reward_cost.png"))
    (x0, x1), (y0, y1), nx, ny = IOU_WINDOW
    rec = next((r for r in results.done if r.task == "PointRobot" and r.method == "fisor"
                and "learned_map_0" in r.curves), None)
    if rec is not None:
        from guardopt.problems.safe_control import PointRobot

        fig, axes = plt.subplots(1, len(SLICES), figsize=(5.0 * len(SLICES), 3.8), squeeze=False)
        for i, ax in enumerate(axes.flat):
            learned = np.asarray(rec.curves[f"learned_map_{i}"]).reshape(ny, nx)
            analytic = np.asarray(rec.curves[f"analytic_map_{i}"]).reshape(ny, nx)
            ax.imshow(learned, origin="lower", extent=(x0, x1, y0, y1), cmap="Greens", alpha=0.6, vmin=0, vmax=1)
            ax.contour(np.linspace(x0, x1, nx), np.linspace(y0, y1, ny), analytic, levels=[0.5], colors="r")
            for cx, cy, rad in PointRobot.hazards:
                ax.add_patch(plt.Circle((cx, cy), rad, fill=False, color="k", lw=1))
            ax.set_title(f"v = {SLICES[i][0]:g}, θ = {SLICES[i][1]:.2f}: green learned V_h ≤ 0, red analytic",
                         fontsize=8)
            ax.set_xlabel("x")
            ax.set_ylabel("y")
        fig.suptitle(f"PointRobot feasible sets (FISOR, seed {rec.seed})")
        paths.append(save_figure(fig, out / "fisor_feasible_sets.png"))
    return paths


def grid(scale: str) -> list[tuple[str, str]]:
    """The d3rlpy cross-check runs once, at full scale, on PointRobot (its IQL is the slowest learner)."""
    ours = [(t, m) for t in TASKS for m in METHODS if not m.startswith("d3rlpy") and m not in SENSITIVITY]
    extra = [("PointRobot", m) for m in METHODS if m.startswith("d3rlpy")] + [("PointRobot", m) for m in SENSITIVITY]
    return ours + (extra if scale == "full" else [])


NOTES = """\
**Setup.** Three numpy tasks (`guardopt.problems.safe_control`): PointRobot (unicycle, two hazards,
40 steps, κ = 2, signed constraint h(s) as in the paper's PointRobot), PointCircle (double integrator
on the unit circle, walls at |x| = 0.7, 100 steps, κ = 5, DSRL's cost transform h = 25 / −1) and
VelocityPendulum (Pendulum-v1 dynamics, |θ̇| ≤ 4, 100 steps, κ = 5, cost transform). One dataset per
task (300 episodes: scripted controllers with care ∈ {0, .25, .5, .75, 1}, noise ∈ {0.1, 0.3}, 20%
uniform-random episodes). Each learner: 1000 gradient steps, batch 256, width 128, Adam 3e-4, one torch
thread; 3 training seeds × 20 evaluation episodes from the same 20 initial states per seed for every
method. Normalized reward uses the dataset's return range, normalized cost is C/κ.

**Calibration.** The thresholds (cost 1, margin 0.05, IoU 0.7, "at least two"/"at least one") are the
designed ones, unchanged by the pilots. Pilots (PointRobot, seed 0, one dataset): 1500 steps at the
paper's learning rate 3e-4 gave FISOR 0.70 / 0.28 (reward / cost), BC-All 0.73 / 1.90, BC-Safe
0.49 / 0.42, the ablation 0.68 / 1.62 and the first-candidate control 0.78 / 2.38; 500 steps at 1e-3
gave FISOR 0.005 / 0.28 (it had not learned to move), 1000 steps at 1e-3 gave 0.49 / 0.93. The full run
uses 1000 steps at 3e-4 for every learner (the time budget). The pilots changed: the IoU slices
θ ∈ {0, π/4} instead of {π/4, π/2} (the robot drives rightwards; the data hardly holds θ = π/2 at
v = 2), and an added IoU check against the all-feasible map (which already scores about 0.75 here).
Neither change makes FISOR pass more easily: the first moves the check to where the data is, the
second makes criterion (5) stricter.

**Reading the result.** Every learner gets 1,000 gradient steps, about a thousandth of the paper's
million, because the whole grid must fit in minutes on a shared two-core machine. Two diagnostics in
the tables show what that does to FISOR. The learned feasible set on PointRobot is small and in the
wrong place (IoU table, figure): the discounted reachability target moves V_h from its initial value
by only (1 − γ)·|h| ≈ 0.01–0.03 per backup, which after 1,000 steps is smaller than the critic's
approximation noise, so the sign of V_h — the feasible set — is mostly noise. The γ = 0.9 line
(sensitivity, PointRobot) tests that reading. And on the tasks with DSRL's cost transform the
diffusion policy's own samples (the first-candidate column) are far from the data's behaviour, so
selecting the lowest-Q_h candidate among them cannot make it safe. Where IQL-Lag's numbers equal
IQL's, its multiplier never left 0: the batch-mean cost value of its policy stayed under the
threshold (OSRL's Lagrangian baselines estimate the constraint the same way). The d3rlpy lines use
the PointRobot dataset only (their IQL is the slowest learner here). The verdict is the paper's claim
tested at this budget; it says nothing about FISOR at the paper's scale.

**Deviations.** N = 16 candidates on every task (the authors' PointRobot configuration is reported
to use 8; not verified, not used). Our tasks and data replace DSRL; the scale is thousands of times smaller than the
paper's 1M steps; IQL-Lag replaces BCQ-Lag; CPQ has no VAE (see `guardopt.rl.cpq`); FISOR selects the
lowest-Q_h candidate as the authors' code does; the ε-network is an MLP, not the paper's ResNet.
"""

REPRODUCTION = Reproduction(
    name="fisor",
    paper=Paper(
        title="Safe Offline Reinforcement Learning with Feasibility-Guided Diffusion Model",
        year=2024,
        url="https://arxiv.org/abs/2401.10700",
    ),
    claim=("FISOR is the only method that can guarantee safety satisfaction in all tasks, while achieving top "
           "returns in most tasks."),
    tasks=TASKS,
    methods=METHODS,
    # The report's generic tables; the other metrics (ablation, control, N = 4, IoU, tuning) are in
    # the tables of `extra_markdown`.
    metrics=("reward", "cost", "fit_cpu_seconds", "fit_seconds"),
    scales={
        "quick": Scale(seeds=1, settings={"steps": 40, "episodes_data": 100, "eval_episodes": 5, "tuning_seeds": 0,
                                          "hidden": 64}),
        "full": Scale(seeds=3, settings={}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    grid=grid,
    notes=NOTES,
)
