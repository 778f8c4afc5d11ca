"""Reproduction `ofs`: Optimistic Feasible Search on three closed-loop fair-threshold benchmarks.

Paper: Du (2025), "Optimistic Feasible Search for Closed-Loop Fair Threshold Decision-Making",
arXiv 2512.22313. The abstract's headline: across all environments OFS "achieves higher reward with
smaller cumulative constraint violation than unconstrained and primal-dual bandit baselines, and is
near-oracle relative to the best feasible fixed threshold". How the verdict follows the rules of
``docs/reproduce.md``:

1. *The claim as stated.* Per environment, four paired checks over the evaluation seeds: OFS's mean
   reward per round above the primal-dual bandit's and above unconstrained UCB's, and OFS's
   cumulative violation below each of theirs; plus the near-oracle check (steady-state reward gap to
   the best feasible fixed threshold above -0.003, the paper's figure), and, as extra checks, the
   declared "≤ 0.5× primal-dual's / ≤ 0.25× UCB's violation".
2. *The paper's settings first.* OFS runs at the paper's rule with the confidence bounds as stated
   (radius scale 1, δ_t = 1/t): no constant of OFS or UCB is tuned.
3. *Baselines tuned like the method.* The primal-dual bandit's two constants (dual step η and
   initial multiplier λ0) have no published values, so they are searched on a declared grid, on
   tuning seeds (≥ 1,000,000) disjoint from the evaluation seeds, with two declared objectives:
   ``primal-dual`` maximizes reward minus violation per round (unit price on violation);
   ``primal-dual-matched`` maximizes reward among settings whose cumulative violation is at most
   OFS's on the same tuning seeds ("reward at matched violation", the fair comparison). The chosen
   values and every grid point's tuning score are stored in each cell and shown in the report.
4. *No best-of selection.* Each baseline variant has its own verdict lines.
5. *Strict criteria.* Every comparison is a paired difference over shared seeds with a one-sided
   95% t lower bound (`guardopt.reproduce.criteria.paired_gain`); the detail shows mean and interval.

A claim that the numbers do not support FAILS, and is reported as such.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from guardopt.bandits.baselines import (
    PrimalDualBandit,
    PrimalDualConfig,
    UCBBandit,
    UCBConfig,
    best_feasible_arm,
)
from guardopt.bandits.grid import GridBandit
from guardopt.bandits.ofs import OFSBandit, OFSConfig
from guardopt.core.seeding import derive_seed
from guardopt.problems.fairness import THRESHOLD_GRID, FairThresholdEnv, GridLoops, make_env, sweep_fixed_thresholds
from guardopt.reproduce.criteria import paired_gain
from guardopt.reproduce.spec import (
    Cell,
    CellResult,
    Evidence,
    Paper,
    Reproduction,
    Results,
    Scale,
    Verdict,
)
from guardopt.reproduce.tables import format_mean_se, metric_mean
from guardopt.reproduce.tuning import TuningResult, tune, tuning_seeds

TASKS = ("synthetic", "german", "compas")
METHODS = ("ofs", "primal-dual", "primal-dual-matched", "ucb", "oracle")
PD_METHODS = ("primal-dual", "primal-dual-matched")
TAIL = 0.2  # the "last 20% of rounds"
CURVE_POINTS = 200  # curves are stored at this many evenly spaced rounds
MA_WINDOW = 100  # moving-average window of the reward curve
VIOLATION_RATIO_PD = 0.5  # declared reading of "dramatically smaller" (extra checks)
VIOLATION_RATIO_UCB = 0.25
ORACLE_GAP = 0.003  # the paper's steady-state reward gap to the best feasible fixed threshold
# Tuning of the primal-dual baseline (declared before any evaluation run).
PD_GRID_FULL: dict[str, list[float]] = {"dual_step": [0.03, 0.3, 1.0], "dual_init": [0.0, 10.0, 30.0]}
PD_GRID_QUICK: dict[str, list[float]] = {"dual_step": [0.03, 1.0], "dual_init": [0.0, 30.0]}
VIOLATION_PRICE = 1.0  # `primal-dual`'s tuning objective: reward - price * violation, per round
INADMISSIBLE = -10.0  # `primal-dual-matched`: score offset of a setting that violates more than OFS


def make_learner(method: str, n_arms: int, n_constraints: int,
                 pd_config: PrimalDualConfig | None = None) -> GridBandit:
    """The learner behind a method name (all share the grid core's default Student-t radii)."""
    if method == "ofs":
        return OFSBandit(n_arms, n_constraints, OFSConfig())
    if method == "ucb":
        return UCBBandit(n_arms, n_constraints, UCBConfig())
    if method in PD_METHODS:
        return PrimalDualBandit(n_arms, n_constraints, pd_config if pd_config is not None else PrimalDualConfig())
    raise ValueError(f"unknown method {method!r}")


def _violation(expected_residuals: np.ndarray) -> np.ndarray:
    """Population-level violation per round: ``sum_j max(0, g_j)``; shape ``(..., m) -> (...)``."""
    return np.maximum(expected_residuals, 0.0).sum(axis=-1)


def _moving_average(x: np.ndarray, window: int) -> np.ndarray:
    c = np.cumsum(np.concatenate([[0.0], x]))
    idx = np.arange(1, x.size + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def _summarize(reward: np.ndarray, expected_reward: np.ndarray, violation: np.ndarray, arms: np.ndarray,
               grid: np.ndarray, extra: Mapping[str, float]) -> CellResult:
    horizon = reward.size
    tail = slice(horizon - max(1, round(TAIL * horizon)), horizon)
    cum = np.cumsum(violation)
    pts = np.unique(np.linspace(0, horizon - 1, min(CURVE_POINTS, horizon)).round().astype(int))
    ma = _moving_average(reward, MA_WINDOW)
    final_arm = int(np.bincount(arms[tail], minlength=grid.size).argmax())
    metrics = {
        "cum_violation": float(cum[-1]),
        "reward_mean": float(reward.mean()),
        "reward_last20": float(reward[tail].mean()),
        "expected_reward_last20": float(expected_reward[tail].mean()),
        "violation_rounds_frac": float(np.mean(violation > 0)),
        "modal_threshold_last20": float(grid[final_arm]),
        "horizon": float(horizon),
        **extra,
    }
    curves = {
        "round": (pts + 1).astype(float).tolist(),
        "cum_violation": cum[pts].tolist(),
        "reward_ma": ma[pts].tolist(),
    }
    return CellResult(metrics, curves)


def run_learner(env: FairThresholdEnv, method: str, horizon: int, seed: int | None,
                pd_config: PrimalDualConfig | None = None) -> CellResult:
    """One learner for ``horizon`` rounds in one closed loop."""
    grid = THRESHOLD_GRID
    loops = GridLoops(env, grid, n_loops=1, seed=seed)
    learner = make_learner(method, grid.size, env.n_constraints, pd_config)
    reward = np.empty(horizon)
    exp_reward = np.empty(horizon)
    violation = np.empty(horizon)
    arms = np.empty(horizon, dtype=np.intp)
    chosen = np.zeros(1, dtype=np.intp)
    for t in range(horizon):
        arm = learner.select()
        chosen[0] = arm
        res = loops.step(chosen)
        learner.update(arm, res.reward[0], res.residuals[0])
        reward[t], exp_reward[t], arms[t] = res.reward[0], res.expected_reward[0], arm
        violation[t] = _violation(res.expected_residuals[0])
    return _summarize(reward, exp_reward, violation, arms, grid, {})


GridKey = tuple[tuple[str, tuple[float, ...]], ...]


def _grid_key(grid: Mapping[str, Sequence[float]]) -> GridKey:
    return tuple((k, tuple(float(v) for v in vals)) for k, vals in grid.items())


def _settings(key: GridKey) -> list[dict[str, float]]:
    names = [k for k, _ in key]
    return [dict(zip(names, vals)) for vals in itertools.product(*(v for _, v in key))]


def _env_seed(seed: int, task: str) -> int | None:
    """The closed loop's noise stream: a function of (seed, task) only, shared by every method."""
    return derive_seed(seed, "ofs", task)


@functools.lru_cache(maxsize=8)
def _tuning_runs(task: str, horizon: int, key: GridKey, n_seeds: int) -> dict[str, Any]:
    """OFS and every primal-dual grid setting on the tuning seeds (computed once per process)."""
    env = make_env(task)
    seeds = tuning_seeds(n_seeds)
    ofs_runs = {s: run_learner(env, "ofs", horizon, _env_seed(s, task)).metrics for s in seeds}
    pd_runs = {}
    for setting in _settings(key):
        cfg = PrimalDualConfig(dual_step=setting["dual_step"], dual_init=setting["dual_init"])
        for s in seeds:
            pd_runs[(tuple(setting.items()), s)] = run_learner(env, "primal-dual", horizon, _env_seed(s, task),
                                                               cfg).metrics
    return {"seeds": seeds, "ofs": ofs_runs, "pd": pd_runs}


@functools.lru_cache(maxsize=16)
def tuned_primal_dual(task: str, horizon: int, key: GridKey, n_seeds: int, method: str) -> TuningResult:
    """The grid search behind ``primal-dual`` (reward - price x violation) or ``primal-dual-matched``.

    ``primal-dual-matched`` keeps the settings whose mean cumulative violation over the tuning seeds
    is at most OFS's mean on the same seeds and, among them, maximizes mean reward per round; if no
    setting qualifies, the least-violating one wins (its score is ``INADMISSIBLE - violation``).
    """
    runs = _tuning_runs(task, horizon, key, n_seeds)
    seeds = runs["seeds"]

    def pd(setting: Mapping[str, Any], s: int) -> Mapping[str, float]:
        return runs["pd"][(tuple(setting.items()), s)]

    if method == "primal-dual":
        def score(setting: Mapping[str, Any], s: int) -> float:
            m = pd(setting, s)
            return m["reward_mean"] - VIOLATION_PRICE * m["cum_violation"] / horizon
    elif method == "primal-dual-matched":
        ofs_cv = float(np.mean([runs["ofs"][s]["cum_violation"] for s in seeds]))

        def admissible(setting: Mapping[str, Any]) -> bool:
            return float(np.mean([pd(setting, s)["cum_violation"] for s in seeds])) <= ofs_cv

        def score(setting: Mapping[str, Any], s: int) -> float:
            m = pd(setting, s)
            return m["reward_mean"] if admissible(setting) else INADMISSIBLE - m["cum_violation"] / horizon
    else:
        raise ValueError(f"no tuning for method {method!r}")
    return tune(score, {k: list(v) for k, v in key}, seeds, maximize=True)


def _tuning_metrics(task: str, horizon: int, key: GridKey, n_seeds: int, method: str) -> dict[str, float]:
    """The chosen values and the whole grid's tuning numbers, stored in every primal-dual cell."""
    res = tuned_primal_dual(task, horizon, key, n_seeds, method)
    runs = _tuning_runs(task, horizon, key, n_seeds)
    seeds = runs["seeds"]
    out = {"tuned_dual_step": float(res.chosen["dual_step"]), "tuned_dual_init": float(res.chosen["dual_init"]),
           "tuning_seeds": float(len(seeds)),
           "tuning_ofs_cum_violation": float(np.mean([runs["ofs"][s]["cum_violation"] for s in seeds])),
           "tuning_ofs_reward_mean": float(np.mean([runs["ofs"][s]["reward_mean"] for s in seeds]))}
    for i, (setting, sc) in enumerate(res.scores):
        rows = [runs["pd"][(tuple(setting.items()), s)] for s in seeds]
        out[f"tuning_{i}_dual_step"] = float(setting["dual_step"])
        out[f"tuning_{i}_dual_init"] = float(setting["dual_init"])
        out[f"tuning_{i}_score"] = float(sc)
        out[f"tuning_{i}_cum_violation"] = float(np.mean([m["cum_violation"] for m in rows]))
        out[f"tuning_{i}_reward_mean"] = float(np.mean([m["reward_mean"] for m in rows]))
    return out


def run_oracle(env: FairThresholdEnv, horizon: int, seed: int | None) -> CellResult:
    """Best feasible fixed threshold, read off a sweep of every grid threshold in the same loop.

    Feasibility and reward are both judged on the last 20% of rounds (the steady state): the
    threshold is feasible when its mean population-level residuals there are ``<= 0``.
    """
    grid = THRESHOLD_GRID
    sweep = sweep_fixed_thresholds(env, grid, horizon, seed=seed)
    tail = slice(horizon - max(1, round(TAIL * horizon)), horizon)
    steady_res = sweep.expected_residuals[tail].mean(axis=0)  # (K, m)
    steady_rew = sweep.reward[tail].mean(axis=0)  # (K,)
    k = best_feasible_arm(steady_rew, steady_res)
    if k is None:
        raise RuntimeError(f"no fixed threshold is feasible in {env.name}")
    margin = float(-steady_res[k].max())
    best_unconstrained = int(np.argmax(steady_rew))
    extra = {
        "oracle_threshold": float(grid[k]),
        "oracle_margin": margin,
        "unconstrained_threshold": float(grid[best_unconstrained]),
        "unconstrained_reward_last20": float(steady_rew[best_unconstrained]),
    }
    arms = np.full(horizon, k)
    return _summarize(sweep.reward[:, k], sweep.expected_reward[:, k],
                      _violation(sweep.expected_residuals[:, k]), arms, grid, extra)


def run_cell(cell: Cell) -> CellResult:
    """One (environment, method, seed) cell; the environment's noise depends on (seed, task) only."""
    horizon = int(cell.settings.get("horizon", 2000))
    env = make_env(cell.task)
    seed = _env_seed(cell.seed, cell.task)
    if cell.method == "oracle":
        return run_oracle(env, horizon, seed)
    if cell.method in PD_METHODS:
        key = _grid_key(cell.settings.get("pd_grid", PD_GRID_FULL))
        n_tune = int(cell.settings.get("tuning_seeds", 2))
        chosen = tuned_primal_dual(cell.task, horizon, key, n_tune, cell.method).chosen
        cfg = PrimalDualConfig(dual_step=chosen["dual_step"], dual_init=chosen["dual_init"])
        res = run_learner(env, cell.method, horizon, seed, cfg)
        return CellResult({**res.metrics, **_tuning_metrics(cell.task, horizon, key, n_tune, cell.method)},
                          res.curves)
    return run_learner(env, cell.method, horizon, seed)


# ------------------------------------------------------------------------------------------------
# Verdict, report and plots
# ------------------------------------------------------------------------------------------------


def _fmt(v: np.ndarray, digits: int = 2) -> str:
    return format_mean_se(v, digits, empty="n/a")


def _paired(results: Results, metric: str, task: str, a: str, b: str,
            scale_b: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``metric`` of methods ``a`` and ``b`` on the seeds both finished, aligned by seed."""
    x, y = results.paired(metric, (task, a), (task, b))
    return x, scale_b * y


def _with_detail(ev: Evidence, extra: str) -> Evidence:
    return dataclasses.replace(ev, detail=f"{ev.detail}; {extra}" if ev.detail else extra)


def verdict(results: Results) -> Verdict:
    """Per environment: the abstract's four comparisons, the near-oracle gap, the declared ratios, matched reward."""
    evidence: list[Evidence] = []
    for task in TASKS:
        for base, name in (("primal-dual", "primal-dual"), ("ucb", "UCB")):
            evidence.append(paired_gain(f"{task}: OFS - {name} mean reward per round (claim: > 0)",
                                        *_paired(results, "reward_mean", task, "ofs", base)))
            evidence.append(paired_gain(f"{task}: {name} - OFS cumulative violation (claim: > 0)",
                                        *_paired(results, "cum_violation", task, "ofs", base),
                                        higher_is_better=False))
        evidence.append(paired_gain(f"{task}: OFS - oracle reward, last 20% of rounds (paper: gap < {ORACLE_GAP})",
                                    *_paired(results, "reward_last20", task, "ofs", "oracle"), margin=-ORACLE_GAP))
        for base, name, ratio in (("primal-dual", "primal-dual", VIOLATION_RATIO_PD),
                                  ("ucb", "UCB", VIOLATION_RATIO_UCB)):
            evidence.append(paired_gain(f"{task}: {ratio:g} x {name}'s - OFS cumulative violation (level: > 0)",
                                        *_paired(results, "cum_violation", task, "ofs", base, ratio),
                                        higher_is_better=False))
        matched = paired_gain(f"{task}: OFS - primal-dual-matched mean reward per round (> 0)",
                              *_paired(results, "reward_mean", task, "ofs", "primal-dual-matched"))
        ofs_cv, pdm_cv = _paired(results, "cum_violation", task, "ofs", "primal-dual-matched")
        if ofs_cv.size:
            matched = _with_detail(matched, f"cumulative violation OFS {ofs_cv.mean():.3g} vs "
                                            f"primal-dual-matched {pdm_cv.mean():.3g}")
        evidence.append(matched)
    ev = tuple(evidence)
    n_ok = sum(e.passed for e in ev)
    gaps = [metric_mean(results, "reward_last20", t, "oracle") - metric_mean(results, "reward_last20", t, "ofs")
            for t in TASKS]
    worst_gap = max((g for g in gaps if math.isfinite(g)), default=math.nan)
    summary = (f"{n_ok} of {len(ev)} checks passed; largest mean OFS reward gap to the oracle {worst_gap:.4f} "
               f"(paper: < {ORACLE_GAP})")
    return Verdict.from_evidence(ev, summary)


def _tuning_table(results: Results, task: str, method: str) -> list[str]:
    """The grid search of one primal-dual variant in one environment, read from its stored cells."""
    rows = [r for r in results.done if r.task == task and r.method == method and "tuned_dual_step" in r.metrics]
    if not rows:
        return []
    m = rows[0].metrics
    n = int(m["tuning_seeds"])
    seeds = tuning_seeds(n)
    objective = ("mean reward - violation per round" if method == "primal-dual" else
                 f"mean reward, among settings with cumulative violation <= OFS's "
                 f"({m['tuning_ofs_cum_violation']:.3g} on these seeds)")
    lines = [f"**{task}, `{method}`** — objective: {objective}; tuning seeds {seeds[0]}–{seeds[-1]} "
             f"({n} seeds, disjoint from the evaluation seeds); OFS on them: reward {m['tuning_ofs_reward_mean']:.4f}, "
             f"violation {m['tuning_ofs_cum_violation']:.3g}.", "",
             "| dual step η | initial multiplier λ0 | cumulative violation | mean reward | score | chosen |",
             "|---|---|---|---|---|---|"]
    i = 0
    while f"tuning_{i}_score" in m:
        step, init = m[f"tuning_{i}_dual_step"], m[f"tuning_{i}_dual_init"]
        mark = "**yes**" if (step, init) == (m["tuned_dual_step"], m["tuned_dual_init"]) else ""
        lines.append(f"| {step:g} | {init:g} | {m[f'tuning_{i}_cum_violation']:.4g} | "
                     f"{m[f'tuning_{i}_reward_mean']:.4f} | {m[f'tuning_{i}_score']:.4f} | {mark} |")
        i += 1
    return [*lines, ""]


def extra_markdown(results: Results) -> str:
    """Per-environment table of every method's violation and reward, the oracle's margin, tuning, timing."""
    lines = ["### Per-environment results (mean ± SE over seeds)", "",
             "| environment | method | cumulative violation | mean reward | reward, last 20% | rounds violating | "
             "modal threshold, last 20% |",
             "|---|---|---|---|---|---|---|"]
    for task in results.tasks:
        for method in results.methods:
            cv = results.metric("cum_violation", task, method)
            if cv.size == 0:
                continue
            rm = results.metric("reward_mean", task, method)
            rw = results.metric("reward_last20", task, method)
            fr = results.metric("violation_rounds_frac", task, method)
            th = results.metric("modal_threshold_last20", task, method)
            lines.append(f"| {task} | {method} | {_fmt(cv)} | {_fmt(rm, 4)} | {_fmt(rw, 4)} | {_fmt(fr, 3)} | "
                         f"{np.median(th):.2f} (median) |")
    lines += ["", "### Oracle (best feasible fixed threshold, from the sweep)", "",
              "| environment | oracle threshold | steady-state margin | oracle reward | unconstrained best "
              "threshold | its reward | OFS gap to oracle |",
              "|---|---|---|---|---|---|---|"]
    for task in results.tasks:
        th = results.metric("oracle_threshold", task, "oracle")
        if th.size == 0:
            continue
        gap = metric_mean(results, "reward_last20", task, "oracle") - metric_mean(results, "reward_last20", task, "ofs")
        lines.append(
            f"| {task} | {np.median(th):.2f} | {_fmt(results.metric('oracle_margin', task, 'oracle'), 3)} | "
            f"{_fmt(results.metric('reward_last20', task, 'oracle'), 4)} | "
            f"{np.median(results.metric('unconstrained_threshold', task, 'oracle')):.2f} | "
            f"{_fmt(results.metric('unconstrained_reward_last20', task, 'oracle'), 4)} | {gap:.4f} |")
    tuning = [line for task in results.tasks for method in PD_METHODS for line in _tuning_table(results, task, method)]
    if tuning:
        lines += ["", "### Tuning of the primal-dual baseline (grid, tuning scores, choice)", "",
                  "Means over the tuning seeds at the evaluation horizon; OFS and UCB have no tuned constant.", "",
                  *tuning]
    times = [r.wall_time for r in results.done if not math.isnan(r.wall_time)]
    if times:
        lines += ["", f"Compute: {len(times)} cells, {sum(times):.1f} s of cell time in total "
                      f"(mean {np.mean(times):.2f} s per cell), i.e. about {sum(times) / 2 / 60:.1f} min of "
                      "wall-clock time with 2 workers; cell times include any contention from other jobs "
                      "on the machine."]
    return "\n".join(lines)


def plots(results: Results, outdir: Path) -> list[Path]:
    """Cumulative violation and moving-average reward over rounds, per method, with ± SE bands."""
    from guardopt.reproduce.plotting import learning_curves

    out = Path(outdir)
    rounds = next((r.curves["round"] for r in results.done if "round" in r.curves), None)
    return [
        learning_curves(results, "cum_violation", out / "ofs_cum_violation.png", x=rounds,
                        ylabel="cumulative violation", title="OFS: cumulative constraint violation"),
        learning_curves(results, "cum_violation", out / "ofs_cum_violation_low.png", x=rounds,
                        methods=[m for m in ("ofs", "primal-dual", "primal-dual-matched", "oracle")
                                 if m in results.methods],
                        ylabel="cumulative violation",
                        title="OFS: cumulative violation (without UCB)"),
        learning_curves(results, "reward_ma", out / "ofs_reward_ma.png", x=rounds,
                        ylabel=f"reward ({MA_WINDOW}-round moving average)",
                        title="OFS: reward over rounds"),
    ]


NOTES = """\
**Setting.** Three closed loops from `guardopt.problems.fairness` (synthetic Beta scores; German
Credit with a cross-fitted logistic-regression score and applicants aged ≤ 25 as the protected
group; COMPAS with a logistic-regression "no recidivism" score, African-American vs Caucasian).
Each round 500 individuals arrive (one multinomial draw over group × accepted-good /
accepted-bad / rejected); the protected group's share follows the contraction
p ← 0.95 p + 0.05 clip(p0 + (A1 − A0), 0.05, 0.95). Thresholds: 21-point grid on [0, 1].
Constraints: demographic parity |A0 − A1| ≤ ε (as two one-sided residuals, each unbiased per
round) and a service rate (overall acceptance ≥ ρ_min). ε was calibrated per environment on the
noise-free steady states so that the oracle threshold is feasible by ≥ 0.02 (see the oracle table).

**Metrics.** Cumulative violation = Σ_t Σ_j max(0, g_j(τ_t, p_t)) with population-level residuals at
the round's state (noise in a feasible threshold's batch is not counted). Reward = realized reward
per arrival; "last 20%" = the last 400 of 2000 rounds. The oracle plays every grid threshold in its
own copy of the same closed loop (same seed) and keeps the best one whose steady-state (last 20%)
residuals are ≤ 0.

**Methods.** All learners share the grid core: per-arm Student-t radii at level δ_t = 1/t (variance
adaptive), two round-robin warm-up passes. `ofs` = the paper's optimistic rule (feasible under the
residuals' lower bounds, then the largest reward upper bound); `ucb` ignores the constraints;
`primal-dual` / `primal-dual-matched` = argmax UCB reward − λ·LCB residual with projected dual
ascent λ ← clip(λ + η g, 0, 100). OFS and UCB run with the bounds as stated (nothing tuned).

**Tuning of the primal-dual baseline.** The paper gives no η or λ0, so both are searched on the grid
η ∈ {0.03, 0.3, 1} × λ0 ∈ {0, 10, 30} (quick scale: {0.03, 1} × {0, 30}), each setting run on 2
tuning seeds (1 at quick scale) at the evaluation horizon; tuning seeds start at 1,000,000, so they
never coincide with an evaluation seed. Two declared objectives pick two baselines from the same
runs: `primal-dual` maximizes mean reward minus mean violation per round (a unit price on
violation); `primal-dual-matched` maximizes mean reward among the settings whose mean cumulative
violation is at most OFS's on the same tuning seeds (the least-violating setting if none is),
which makes "reward at matched violation" a fair comparison. The tuning tables list every setting's
tuning score and the choice.

**Checks.** Per environment, the abstract's sentence as four paired checks (OFS's mean reward per
round above the primal-dual bandit's and UCB's; OFS's cumulative violation below each), the paper's
near-oracle figure (OFS's last-20% reward at most 0.003 below the oracle's, as a paired
non-inferiority bound), a declared stricter reading of "dramatically smaller violation"
(OFS ≤ 0.5× primal-dual's and ≤ 0.25× UCB's), and OFS's reward against `primal-dual-matched`. Each
is a one-sided 95% t bound on paired differences over the evaluation seeds.

**Deviations.** The paper's environment constants, score models and baseline settings were not
available (only its abstract and introduction); everything above is our design, consistent with
the abstract. The pessimistic mode (`OFSConfig(mode="pessimistic")`) and the fixed-radius ablation
are library features, not part of this reproduction's grid.
"""


REPRODUCTION = Reproduction(
    name="ofs",
    paper=Paper(
        title="Optimistic Feasible Search for Closed-Loop Fair Threshold Decision-Making",
        year=2025,
        url="https://arxiv.org/abs/2512.22313",
    ),
    claim=("Across the synthetic, German Credit and COMPAS closed loops, OFS achieves higher reward with smaller "
           "cumulative constraint violation than unconstrained (UCB) and primal-dual bandit baselines, and is "
           "near-oracle (steady-state reward gap < 0.003) relative to the best feasible fixed threshold."),
    tasks=TASKS,
    methods=METHODS,
    metrics=("cum_violation", "reward_mean", "reward_last20", "expected_reward_last20", "violation_rounds_frac"),
    scales={
        "quick": Scale(seeds=2, settings={"horizon": 1000, "pd_grid": PD_GRID_QUICK, "tuning_seeds": 1}),
        "full": Scale(seeds=20, settings={"horizon": 2000, "pd_grid": PD_GRID_FULL, "tuning_seeds": 2}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    notes=NOTES,
)

