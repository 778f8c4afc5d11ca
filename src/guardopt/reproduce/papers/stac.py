"""Reproduction `stac`: one distributional critic with pessimism μ − β·σ and dropout, against SAC.

Paper: Özalp, "Stochastic Actor-Critic: Mitigating Overestimation via Temporal Aleatoric
Uncertainty", arXiv 2601.00737 (2026). The abstract's claims: "pessimism based on a distributional
critic alone suffices to mitigate overestimation, and naturally leads to risk-averse behavior in
stochastic environments. Introducing dropout further improves training stability and performance
[...] STAC achieves improved computational efficiency using a single distributional critic network."

Tasks (online RL, our numpy environments, `guardopt.problems.safe_control`): ``Pendulum-noise``
(`VelocityPendulum` — Pendulum-v1's dynamics — with Gaussian reward noise σ = 0.1, which is σ = 1
on Pendulum-v1's reward scale; its speed-limit cost is not used) and ``RiskyPointMass`` (after
CODAC's, as in the paper: a −10 penalty fires at random inside a disc on the way to the goal).
Methods: STAC at β = 0.25, dropout 0.01 (the paper's dropout; the paper's most common non-zero β),
SAC with twin critics, SAC with one critic, STAC without dropout (the ablation), and on
RiskyPointMass STAC at β = 0 (no pessimism; also the negative control) and β = 0.5.

Verdict lines, per task unless said (declared before the full run; all on the 3 training seeds,
which are the unit of every interval; 95% one-sided Student-t bounds via `paired_gain`):

1. Single-critic SAC overestimates: its value bias — mean of Q̂(s, a) − G over the states of 10
   evaluation episodes, G the Monte-Carlo discounted soft return of the same policy
   (`guardopt.rl.online.monte_carlo_value_bias`) — is > 0 (lower bound).
2. STAC's value bias is below single-critic SAC's (paired by seed; lower bound of the gain > 0).
3. STAC's return is ≥ 0.9× twin-critic SAC's. Returns are negative here, so "0.9×" is applied to
   the return above a uniform-random policy's from the same 10 initial states (score = R − R_rand):
   the paired gain score_STAC − 0.9·score_twin has lower bound > 0.
4. (RiskyPointMass) Risk aversion: the share of evaluation steps inside the risky disc at β = 0.5 is
   ≤ 0.5× that at β = 0 (paired gain 0.5·occ(β=0) − occ(β=0.5), lower bound > 0; INCONCLUSIVE when
   β = 0 never enters the disc).
5. (Both tasks together) Cheaper: STAC's CPU time per gradient update (`time.process_time`) is ≤ 0.75×
   twin-critic SAC's. Measured inside each STAC cell, interleaved block by block on the same replay
   buffer against our twin-critic SAC (`guardopt.rl.online.time_updates`), so machine load hits both
   alike; the 6 ratios' mean has upper bound ≤ 0.75.
6. Dropout improves stability: the variance of the final return across seeds of STAC is smaller than
   without dropout. One-sided F test at 95%: HOLDS when var(no dropout)/var(STAC) exceeds F(0.95;
   2, 2), FAILS when var(STAC)/var(no dropout) does, INCONCLUSIVE otherwise (three seeds give the F
   test little power; the line says so rather than guessing).

How the rules of ``docs/reproduce.md`` are met. *Claim as stated*: lines 1–2 ("mitigate
overestimation", against the overestimating single critic), 3 (no loss of return against the usual
twin-critic SAC), 4 ("risk-averse behaviour in stochastic environments", the paper's own
RiskyPointMass test), 5 ("computational efficiency"), 6 ("dropout improves stability", tested as
the variance of returns across seeds). *Paper's settings*: STAC runs at the paper's dropout 0.01,
learning rate 3e-4, batch 256, LayerNorm, evaluation by the mean of 10 sampled actions, untuned; our
scale-downs (width 64, thousands instead of millions of steps, and with them γ = 0.95 and τ = 0.01)
apply to every method alike and are said in the notes; β = 0 and 0.5 are the sensitivity table.
*Baselines tuned*: both SACs search their learning rate over {3e-4, 1e-3} per task on a tuning
seed disjoint from the evaluation seeds, at half the steps, scored by the final return; STAC gets
no tuning. *No best-of*: every variant has its own row; the verdict uses STAC at β = 0.25 only.
*Strict criteria*: lower bounds for gains and for "positive", upper bounds for "at most".
*Negative control*: STAC with β = 0 (no pessimism in target or actor) in place of STAC in line 2;
`tests/reproduce/test_reproduce_stac.py` shows that it makes line 2 FAIL, and the report shows what it
did in the run. *Cross-check*: d3rlpy's online SAC (twin critics) at the same steps, width and
learning rate on Pendulum-noise, the same 3 seeds, full scale only, beside our twin SAC.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from guardopt.core.seeding import derive_seed
from guardopt.reproduce.criteria import inconclusive, paired_gain, vacuous
from guardopt.reproduce.spec import Cell, CellResult, Evidence, Outcome, Paper, Reproduction, Results, Scale, Verdict
from guardopt.reproduce.tables import format_mean_se
from guardopt.reproduce.threads import torch_threads as _torch_threads
from guardopt.reproduce.tuning import TuningResult, tune, tuning_seeds

TASKS = ("Pendulum-noise", "RiskyPointMass")
MAIN = "stac"
BASELINES = ("sac-twin", "sac-single")
VARIANTS = ("stac-nodropout", "stac-beta0", "stac-beta0.5")
CROSS_CHECK = ("d3rlpy-sac",)
METHODS = (MAIN, *BASELINES, *VARIANTS, *CROSS_CHECK)
NEGATIVE_CONTROL = "stac-beta0"
BETA = {"stac": 0.25, "stac-nodropout": 0.25, "stac-beta0": 0.0, "stac-beta0.5": 0.5}
RETURN_FRACTION = 0.9
OCCUPANCY_FRACTION = 0.5
TIME_RATIO = 0.75
TUNING_GRIDS: dict[str, dict[str, list[float]]] = {"sac-twin": {"lr": [3e-4, 1e-3]},
                                                   "sac-single": {"lr": [3e-4, 1e-3]}}
TUNING_VERSION = 1
PENALTY = -5.0  # RiskyPointMass rewards below this are the −10 penalty events (the base reward is ≥ −1.6)

SETTINGS: dict[str, Any] = {
    "steps_pendulum": 4000,
    "steps_rpm": 2400,
    "start_steps": 200,
    "hidden": 64,
    "batch_size": 256,
    "gamma": 0.95,
    "tau": 0.01,
    "lr": 3e-4,
    "reward_noise": 0.1,
    "eval_episodes": 10,
    "curve_points": 6,
    "curve_episodes": 5,
    "bias_tail": 100,
    "timing_updates": 40,
    "timing_blocks": 4,
    "tuning_seeds": 1,
    "tuning_fraction": 0.5,
    "torch_threads": 1,
}



def _seed(seed: int, *parts: str) -> int:
    return int(derive_seed(seed, *parts) or 0)


def make_env(task: str, num_envs: int, s: dict[str, Any]) -> Any:
    """The task's vectorized environment."""
    from guardopt.problems.safe_control import RiskyPointMass, VelocityPendulum

    if task == "Pendulum-noise":
        return VelocityPendulum(num_envs=num_envs, reward_noise=float(s["reward_noise"]))
    if task == "RiskyPointMass":
        return RiskyPointMass(num_envs=num_envs)
    raise KeyError(task)


def _steps(task: str, s: dict[str, Any]) -> int:
    return int(s["steps_pendulum"] if task == "Pendulum-noise" else s["steps_rpm"])


def make_agent(method: str, s: dict[str, Any], overrides: dict[str, Any] | None = None) -> Any:
    """The agent of ``method`` at the settings ``s`` (``overrides``: the tuned fields of a baseline)."""
    from guardopt.rl import SAC, STAC, SACConfig, STACConfig

    common: dict[str, Any] = {"hidden": int(s["hidden"]), "batch_size": int(s["batch_size"]),
                              "gamma": float(s["gamma"]), "tau": float(s["tau"]), "lr": float(s["lr"]),
                              "start_steps": int(s["start_steps"]), "log_every": 500}
    common.update(overrides or {})
    if method == "sac-twin":
        return SAC(SACConfig(twin=True, **common))
    if method == "sac-single":
        return SAC(SACConfig(twin=False, **common))
    if method in BETA:
        dropout = 0.0 if method == "stac-nodropout" else 0.01
        return STAC(STACConfig(beta=BETA[method], dropout=dropout, **common))
    raise KeyError(method)


def rollout(policy: Any, task: str, episodes: int, seed: int, s: dict[str, Any]) -> dict[str, np.ndarray]:
    """Run ``policy(obs) -> actions`` for one episode in ``episodes`` copies: per-episode return,
    share of steps in the risky region (info cost) and count of penalty events."""
    env = make_env(task, episodes, s)
    obs, _ = env.reset(seed=seed)
    ret, occ, events = np.zeros(episodes), np.zeros(episodes), np.zeros(episodes)
    for _ in range(env.max_episode_steps):
        obs, r, _, _, info = env.step(policy(obs))
        ret += r
        occ += info["cost"]
        events += r < PENALTY
    return {"return": ret, "occupancy": occ / env.max_episode_steps, "events": events}


def _random_policy(task: str, s: dict[str, Any], seed: int) -> Any:
    rng = np.random.default_rng(seed)
    dim = make_env(task, 1, s).action_dim
    return lambda obs: rng.uniform(-1.0, 1.0, (obs.shape[0], dim))


def _tuned(method: str, task: str, settings_json: str) -> dict[str, Any]:
    """The tuned setting, computed once per machine under a file lock (the tuning is deterministic,
    so which worker computes it does not matter); the other seeds' cells read it."""
    key = hashlib.sha256(f"{TUNING_VERSION}|{method}|{task}|{settings_json}".encode()).hexdigest()[:20]
    folder = Path(tempfile.gettempdir()) / "guardopt-stac-tuning"
    folder.mkdir(exist_ok=True)
    path = folder / f"{key}.json"
    with open(folder / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return dict(json.loads(path.read_text()))
        result = _tune(method, task, settings_json)
        path.write_text(json.dumps({**result.chosen, "_scores": [sc for _, sc in result.scores]}))
        return {**result.chosen, "_scores": [sc for _, sc in result.scores]}


@functools.lru_cache(maxsize=8)
def _tune(method: str, task: str, settings_json: str) -> TuningResult:
    s = json.loads(settings_json)
    steps = max(1, int(_steps(task, s) * float(s["tuning_fraction"])))

    def score(setting: Any, seed: int) -> float:
        agent = make_agent(method, s, dict(setting)).learn(make_env(task, 1, s), steps, seed=seed)
        out = rollout(agent.act, task, int(s["eval_episodes"]), _seed(seed, "tune-eval"), s)
        return float(out["return"].mean())

    return tune(score, TUNING_GRIDS[method], tuning_seeds(int(s["tuning_seeds"])), maximize=True)


def _d3rlpy_cell(cell: Cell, s: dict[str, Any]) -> CellResult:
    from guardopt.rl.d3rlpy_online import fit_d3rlpy_sac

    t0 = time.process_time()
    try:
        policy = fit_d3rlpy_sac(make_env(cell.task, 1, s), _steps(cell.task, s), seed=cell.seed,
                                hidden=int(s["hidden"]), lr=float(s["lr"]), batch_size=int(s["batch_size"]),
                                gamma=float(s["gamma"]), tau=float(s["tau"]), start_steps=int(s["start_steps"]))
    except ImportError:
        return CellResult(metrics={"return": math.nan, "installed": 0.0})
    cpu = time.process_time() - t0
    ev_seed = _seed(cell.seed, "eval")
    out = rollout(policy, cell.task, int(s["eval_episodes"]), ev_seed, s)
    rand = rollout(_random_policy(cell.task, s, ev_seed), cell.task, int(s["eval_episodes"]), ev_seed, s)
    return CellResult(metrics={"return": float(out["return"].mean()), "random_return": float(rand["return"].mean()),
                               "score": float(out["return"].mean() - rand["return"].mean()),
                               "installed": 1.0, "fit_cpu_seconds": cpu},
                      curves={"episode_return": out["return"].tolist()})


def run_cell(cell: Cell) -> CellResult:
    """Train one agent online, then measure return, occupancy, value bias and (STAC) update time."""
    import torch

    s = {**SETTINGS, **dict(cell.settings)}
    torch.set_num_threads(_torch_threads(s))
    if cell.method in CROSS_CHECK:
        return _d3rlpy_cell(cell, s)
    metrics: dict[str, float] = {}
    overrides: dict[str, Any] = {}
    if cell.method in TUNING_GRIDS:
        if int(s["tuning_seeds"]) > 0:
            tuned = _tuned(cell.method, cell.task, json.dumps(s, sort_keys=True))
            scores = tuned.pop("_scores", [])
            overrides = tuned
            metrics.update({f"tuning_score_{i}": float(v) for i, v in enumerate(scores)})
        else:  # quick scale: the grid's first value, not tuned
            overrides = {k: v[0] for k, v in TUNING_GRIDS[cell.method].items()}
        metrics.update({f"tuned_{k}": float(v) for k, v in overrides.items()})
    ev_seed = _seed(cell.seed, "eval")
    episodes = int(s["eval_episodes"])
    steps = _steps(cell.task, s)
    agent = make_agent(cell.method, s, overrides)
    curve_seed = _seed(cell.seed, "curve")

    def eval_fn(a: Any) -> dict[str, float]:
        out = rollout(a.act, cell.task, int(s["curve_episodes"]), curve_seed, s)
        return {"eval_return": float(out["return"].mean())}

    t0, c0 = time.perf_counter(), time.process_time()
    agent.learn(make_env(cell.task, 1, s), steps, seed=cell.seed, eval_fn=eval_fn,
                eval_every=max(1, steps // int(s["curve_points"])))
    metrics["fit_seconds"] = time.perf_counter() - t0
    metrics["fit_cpu_seconds"] = time.process_time() - c0
    metrics["cpu_ms_per_update"] = 1e3 * agent.cpu_seconds_per_update
    out = rollout(agent.act, cell.task, episodes, ev_seed, s)
    rand = rollout(_random_policy(cell.task, s, ev_seed), cell.task, episodes, ev_seed, s)
    bias = agent_bias(agent, cell.task, s, _seed(cell.seed, "bias"))
    metrics.update({"return": float(out["return"].mean()), "random_return": float(rand["return"].mean()),
                    "score": float(out["return"].mean() - rand["return"].mean()),
                    "occupancy": float(out["occupancy"].mean()), "events": float(out["events"].mean()),
                    "bias": bias["bias"], "q": bias["q"], "mc": bias["mc"], "bias_se": bias["bias_se"],
                    "final_alpha": agent.alpha})
    curves = {"episode_return": out["return"].tolist(), "episode_occupancy": out["occupancy"].tolist(),
              "curve_step": [r["step"] for r in agent.log if "eval_return" in r],
              "curve_return": [r["eval_return"] for r in agent.log if "eval_return" in r]}
    if cell.method == MAIN:
        metrics.update(update_timing(agent, s, cell.seed))
    return CellResult(metrics=metrics, curves=curves)


def agent_bias(agent: Any, task: str, s: dict[str, Any], seed: int) -> dict[str, float]:
    """Monte-Carlo value bias of ``agent`` over ``eval_episodes`` episodes of the task."""
    from guardopt.rl.online import monte_carlo_value_bias

    env = make_env(task, int(s["eval_episodes"]), s)
    return monte_carlo_value_bias(agent, env, env.max_episode_steps, int(s["bias_tail"]), seed=seed)


def update_timing(stac: Any, s: dict[str, Any], seed: int) -> dict[str, float]:
    """CPU ms per update of STAC, twin SAC (batched and separate critics) and single SAC, interleaved
    on STAC's replay buffer (fresh agents of the same width, batch and dimensions)."""
    from guardopt.rl import SAC, STAC, SACConfig
    from guardopt.rl.online import time_updates

    cfg = stac.config
    common = {"hidden": cfg.hidden, "batch_size": cfg.batch_size, "gamma": cfg.gamma, "tau": cfg.tau}
    agents = [STAC(cfg).build(stac.obs_dim, stac.act_dim, seed),
              SAC(SACConfig(twin=True, **common)).build(stac.obs_dim, stac.act_dim, seed),
              SAC(SACConfig(twin=True, separate_critics=True, **common)).build(stac.obs_dim, stac.act_dim, seed),
              SAC(SACConfig(twin=False, **common)).build(stac.obs_dim, stac.act_dim, seed)]
    ms = [1e3 * t for t in time_updates(agents, stac.buffer, int(s["timing_updates"]), int(s["timing_blocks"]),
                                         seed=seed)]
    return {"t_stac": ms[0], "t_twin": ms[1], "t_twin_separate": ms[2], "t_single": ms[3],
            "time_ratio": ms[0] / ms[1], "time_ratio_separate": ms[0] / ms[2]}


# --------------------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------------------


def overestimates(results: Results, task: str, method: str = "sac-single") -> Evidence:
    """(1) ``method``'s value bias > 0 (lower bound over seeds)."""
    b = results.metric("bias", task, method)
    check = f"(1) {task}: {method} value bias > 0 (95% lower bound over seeds)"
    if b.size == 0:
        return vacuous(check, "no cells", threshold=0.0)
    return paired_gain(check, b, np.zeros_like(b))


def bias_below(results: Results, task: str, method: str = MAIN, baseline: str = "sac-single") -> Evidence:
    """(2) ``method``'s value bias below ``baseline``'s, paired by seed."""
    a, b = results.paired("bias", (task, method), (task, baseline))
    return paired_gain(f"(2) {task}: {method} value bias < {baseline}'s (paired by seed, 95% lower bound of the gap)",
                       a, b, higher_is_better=False)


def return_ok(results: Results, task: str, method: str = MAIN) -> Evidence:
    """(3) score(method) ≥ 0.9 × score(twin SAC), score = return − random policy's return."""
    a, b = results.paired("score", (task, method), (task, "sac-twin"))
    return paired_gain(f"(3) {task}: {method} return above random >= {RETURN_FRACTION:g}x twin-critic SAC's "
                       "(paired, 95% lower bound)", a, RETURN_FRACTION * b)


def occupancy_falls(results: Results, task: str = "RiskyPointMass") -> Evidence:
    """(4) occupancy at β = 0.5 ≤ 0.5 × occupancy at β = 0, paired by seed."""
    check = f"(4) {task}: risky-region occupancy at beta=0.5 <= {OCCUPANCY_FRACTION:g}x at beta=0 (paired, 95%)"
    high, low = results.paired("occupancy", (task, "stac-beta0.5"), (task, "stac-beta0"))
    if low.size and np.all(low == 0):
        return inconclusive(check, "beta = 0 never entered the risky region: nothing to reduce", threshold=0.0)
    return paired_gain(check, high, OCCUPANCY_FRACTION * low, higher_is_better=False)


def cheaper(results: Results, key: str = "time_ratio") -> Evidence:
    """(5) mean STAC/twin-SAC CPU-time ratio per update ≤ 0.75 (upper bound over the STAC cells)."""
    r = results.metric(key, None, MAIN)
    r = r[np.isfinite(r)]
    check = f"(5) STAC CPU time per update <= {TIME_RATIO:g}x twin-critic SAC's (95% upper bound of the mean ratio)"
    if r.size == 0:
        return vacuous(check, "no timing stored", threshold=TIME_RATIO)
    ev = paired_gain(check, r, np.full_like(r, TIME_RATIO), higher_is_better=False)
    upper = TIME_RATIO - ev.value if math.isfinite(ev.value) else math.nan
    return Evidence(check, upper, TIME_RATIO, ev.counts_as_pass, ev.outcome if ev.outcome is Outcome.INCONCLUSIVE
                    else None, detail=f"mean ratio {r.mean():.3f} over {r.size} cells; {ev.detail}")


def dropout_stability(results: Results, task: str) -> Evidence:
    """(6) variance of final returns across seeds, STAC vs STAC without dropout (one-sided F tests)."""
    a = results.metric("return", task, MAIN)
    b = results.metric("return", task, "stac-nodropout")
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    check = f"(6) {task}: dropout lowers the across-seed variance of returns (F test, 95%)"
    if a.size < 2 or b.size < 2:
        return inconclusive(check, "fewer than two seeds", threshold=1.0)
    va, vb = float(a.var(ddof=1)), float(b.var(ddof=1))
    ratio = vb / va if va > 0 else math.inf
    crit_hi = float(stats.f.ppf(0.95, b.size - 1, a.size - 1))
    crit_lo = 1.0 / float(stats.f.ppf(0.95, a.size - 1, b.size - 1))
    detail = (f"var without dropout {vb:.4g}, with {va:.4g}; ratio {ratio:.3g}; "
              f"HOLDS above {crit_hi:.3g}, FAILS below {crit_lo:.3g}")
    if ratio > crit_hi:
        return Evidence(check, ratio, crit_hi, True, detail=detail)
    if ratio < crit_lo:
        return Evidence(check, ratio, crit_hi, False, detail=detail)
    return inconclusive(check, "the F test cannot tell at this many seeds: " + detail, value=ratio, threshold=crit_hi)


def verdict(results: Results) -> Verdict:
    """Criteria (1)–(6) of the module docstring."""
    ev: list[Evidence] = []
    for t in TASKS:
        ev += [overestimates(results, t), bias_below(results, t), return_ok(results, t)]
    ev.append(occupancy_falls(results))
    ev.append(cheaper(results))
    ev += [dropout_stability(results, t) for t in TASKS]
    n_ok = sum(e.counts_as_pass for e in ev)
    return Verdict.from_evidence(ev, f"{n_ok} of {len(ev)} checks pass")


def negative_control(results: Results) -> Verdict:
    """Criterion (2) with STAC at β = 0 (no pessimism) in STAC's place."""
    tasks = [t for t in TASKS if results.seeds(t, NEGATIVE_CONTROL)] or list(TASKS)
    return Verdict.from_evidence([bias_below(results, t, NEGATIVE_CONTROL) for t in tasks],
                                 "STAC without pessimism (beta = 0) in criterion (2)")


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _ms(v: np.ndarray, digits: int = 3) -> str:
    return format_mean_se(v, digits)


def extra_markdown(results: Results) -> str:
    """Per-method table, β sensitivity, timing, tuning, negative control, cross-check."""
    cols = ("return", "score", "bias", "q", "mc", "occupancy", "events", "cpu_ms_per_update", "final_alpha")
    lines = ["### Per task and method (mean ± SE over seeds)", "",
             "score = return − uniform-random policy's return from the same initial states; bias = mean "
             "Q̂ − Monte-Carlo soft return; occupancy = share of evaluation steps in the risky region "
             "(RiskyPointMass's disc; Pendulum's speed band |θ̇| > 4, reported only); events = −10 penalties "
             "per episode.", "",
             "| task | method | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for t in TASKS:
        for m in METHODS:
            if not results.seeds(t, m):
                continue
            lines.append(f"| {t} | {m} | " + " | ".join(_ms(results.metric(c, t, m)) for c in cols) + " |")
    lines += ["", "### Sensitivity to β (RiskyPointMass; the verdict uses β = 0.25 for lines 2–3)", "",
              "| β | return | occupancy | events per episode | value bias |", "|---|---|---|---|---|"]
    for m in ("stac-beta0", "stac", "stac-beta0.5"):
        f = results.metric
        lines.append(f"| {BETA[m]:g} | {_ms(f('return', 'RiskyPointMass', m))} | "
                     f"{_ms(f('occupancy', 'RiskyPointMass', m))} | {_ms(f('events', 'RiskyPointMass', m))} | "
                     f"{_ms(f('bias', 'RiskyPointMass', m))} |")
    lines += ["", "### Update time (CPU ms per update, interleaved on the same buffer inside each STAC cell)", "",
              "| task | STAC | twin SAC (batched critics) | twin SAC (two MLPs) | single SAC | STAC / twin | "
              "STAC / twin (two MLPs) |", "|---|---|---|---|---|---|---|"]
    for t in TASKS:
        f = results.metric
        lines.append(f"| {t} | {_ms(f('t_stac', t, MAIN))} | {_ms(f('t_twin', t, MAIN))} | "
                     f"{_ms(f('t_twin_separate', t, MAIN))} | {_ms(f('t_single', t, MAIN))} | "
                     f"{_ms(f('time_ratio', t, MAIN))} | {_ms(f('time_ratio_separate', t, MAIN))} |")
    sep = cheaper(results, "time_ratio_separate")
    lines += ["", f"Line (5) against twin SAC built as two separate MLPs (sensitivity, not in the verdict): "
              f"{'pass' if sep.counts_as_pass else 'fail'}, upper bound {sep.value:.3f} ({sep.detail}).", ""]
    nc = negative_control(results)
    lines += [f"**Negative control** (STAC at β = 0, no pessimism, in criterion (2)): **{nc.status.value}** — "
              + "; ".join(f"{e.check.split(':')[0].removeprefix('(2) ')}: lower bound {e.value:.3f} "
                          f"({e.detail})" for e in nc.evidence), ""]
    lines += ["### Tuning of the baselines (tuning seed, disjoint from the evaluation seeds)", ""]
    for m, grid in TUNING_GRIDS.items():
        for t in TASKS:
            chosen = results.metric("tuned_lr", t, m)
            chosen = chosen[np.isfinite(chosen)]
            scores = [results.metric(f"tuning_score_{i}", t, m) for i in range(len(grid["lr"]))]
            shown = ", ".join(f"lr {v:g}: {sc[0]:.2f}" if sc.size and np.isfinite(sc[0]) else f"lr {v:g}: –"
                              for v, sc in zip(grid["lr"], scores))
            lines.append(f"- {m} on {t}: final return per setting ({shown}); chosen "
                         f"{chosen[0]:g}" if chosen.size else f"- {m} on {t}: no cell")
    lines += ["", "Score: mean final return over 10 evaluation episodes, one tuning seed, "
              f"{SETTINGS['tuning_fraction']:g}× the evaluation's steps. STAC and its variants run untuned.", ""]
    lines += ["### Cross-check with d3rlpy's online SAC (twin critics, same steps, width, learning rate)", ""]
    inst = results.metric("installed")
    if inst.size == 0 or not np.any(inst > 0):
        lines.append("VACUOUS: d3rlpy not installed or not run at this scale.")
    else:
        for t in TASKS:
            d = results.metric("return", t, "d3rlpy-sac")
            if d.size:
                lines.append(f"- {t}: d3rlpy SAC return {_ms(d)} (seeds {results.seeds(t, 'd3rlpy-sac')}), "
                             f"our twin SAC {_ms(results.metric('return', t, 'sac-twin'))}, our single SAC "
                             f"{_ms(results.metric('return', t, 'sac-single'))}, random policy "
                             f"{_ms(results.metric('random_return', t, 'sac-twin'))}.")
    lines += ["", "Settings: `" + json.dumps(SETTINGS) + "`", ""]
    return "\n".join(lines)


def plots(results: Results, outdir: Path) -> list[Path]:
    """Learning curves per method, value-bias bars, occupancy against β."""
    from guardopt.reproduce.plotting import pyplot, save_figure

    plt = pyplot()
    out = Path(outdir)
    paths = []
    fig, axes = plt.subplots(1, len(TASKS), figsize=(5.2 * len(TASKS), 3.6), squeeze=False)
    for ax, t in zip(axes.flat, TASKS):
        for m in METHODS:
            ys = results.curves("curve_return", t, m)
            xs = results.curves("curve_step", t, m)
            if ys.size == 0:
                continue
            mean = np.nanmean(ys, 0)
            ax.plot(np.nanmean(xs, 0), mean, label=m, lw=2.0 if m == MAIN else 1.0)
            if ys.shape[0] > 1:
                se = np.nanstd(ys, 0, ddof=1) / math.sqrt(ys.shape[0])
                ax.fill_between(np.nanmean(xs, 0), mean - se, mean + se, alpha=0.15)
        ax.set_title(t, fontsize=9)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("evaluation return")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Learning curves (mean ± SE over seeds)")
    paths.append(save_figure(fig, out / "stac_learning_curves.png"))

    fig, axes = plt.subplots(1, len(TASKS), figsize=(5.2 * len(TASKS), 3.4), squeeze=False)
    for ax, t in zip(axes.flat, TASKS):
        ms = [m for m in METHODS if results.seeds(t, m) and np.isfinite(results.metric("bias", t, m)).any()]
        vals = [results.metric("bias", t, m) for m in ms]
        ax.bar(range(len(ms)), [v.mean() for v in vals],
               yerr=[v.std(ddof=1) / math.sqrt(v.size) if v.size > 1 else 0 for v in vals], capsize=3)
        for i, v in enumerate(vals):
            ax.scatter(np.full(v.size, i), v, color="k", s=8, zorder=3)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(range(len(ms)), ms, rotation=30, fontsize=7)
        ax.set_title(f"{t}: value bias Q̂ − MC return", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    paths.append(save_figure(fig, out / "stac_value_bias.png"))

    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    betas = [BETA[m] for m in ("stac-beta0", "stac", "stac-beta0.5")]
    occ = [results.metric("occupancy", "RiskyPointMass", m) for m in ("stac-beta0", "stac", "stac-beta0.5")]
    if any(o.size for o in occ):
        ax.errorbar(betas, [o.mean() if o.size else np.nan for o in occ],
                    yerr=[o.std(ddof=1) / math.sqrt(o.size) if o.size > 1 else 0 for o in occ], marker="o", capsize=3)
        for b, o in zip(betas, occ):
            ax.scatter(np.full(o.size, b), o, color="k", s=8)
    ax.set_xlabel("β (pessimism)")
    ax.set_ylabel("share of steps in the risky disc")
    ax.set_title("RiskyPointMass: occupancy vs β", fontsize=9)
    ax.grid(alpha=0.3)
    paths.append(save_figure(fig, out / "stac_occupancy_vs_beta.png"))
    return paths


def grid(scale: str) -> list[tuple[str, str]]:
    """β = 0 and 0.5 on RiskyPointMass only; the d3rlpy cross-check on Pendulum-noise, at full scale only."""
    pairs = [(t, m) for t in TASKS for m in (MAIN, *BASELINES, "stac-nodropout")]
    pairs += [("RiskyPointMass", "stac-beta0"), ("RiskyPointMass", "stac-beta0.5")]
    if scale == "full":
        pairs.append(("Pendulum-noise", "d3rlpy-sac"))
    return pairs


NOTES = """\
**Setup.** Online RL on two numpy tasks. Pendulum-noise: Pendulum-v1's dynamics (`VelocityPendulum`,
rewards −(θ² + 0.1θ̇² + 0.001u²)/10, 100-step episodes from a random angle) plus Gaussian reward noise
σ = 0.1 (σ = 1 on Pendulum-v1's reward scale); RiskyPointMass (40-step episodes from near (1, 1) to the
origin; a disc of radius 0.3 at (0.5, 0.5) fires a −10 penalty with probability 0.1·exp(−4d²/r²)).
Every agent: two hidden layers of 64, Adam 3e-4 (tuned for the SACs), batch 256, 200 random steps,
then one update per step; 4,000 steps on Pendulum-noise, 2,400 on RiskyPointMass; one torch thread.
Evaluation: 10 episodes from the same 10 initial states per seed for every method (STAC acts with the
mean of 10 sampled actions, as in the paper; SAC with tanh of its mean). Value bias: the critic's
estimate Q̂(s, a) at the states and sampled actions of 10 further episodes against the discounted
soft return that followed (tail of 100 extra steps; γ^100 ≈ 0.006).

**Scale-downs and why.** The paper trains for 1–3 million steps at width 256; here each agent gets
2,400–4,000 steps at width 64 so that the 33 runs (and the tuning runs) fit in minutes on a 2-core CPU. At that budget a
discount of 0.99 (effective horizon 100) cannot propagate values: in a pilot at γ = 0.99, τ = 0.005
and 3,000 steps on Pendulum-noise, every method's bias was +33 to +45 (Q̂ ≈ −5 against Monte-Carlo
returns ≈ −40), i.e. the critics had not yet learned the value at all, and the bias comparison would
measure propagation speed, not overestimation. We therefore use γ = 0.95 and τ = 0.01 for every
method (pilot at 4,000 steps: twin SAC's bias +0.15 against a return of −24, i.e. converged values).
This is our choice, not the paper's; the bias lines are about this setting. β for STAC: the paper sets
it per environment (0 to 0.5); 0.25 is its most common non-zero value; β = 0 and 0.5 are reported.

**Reading the result.** A first full run on a heavily loaded machine had to be cut to 1,000 / 600
steps; there no agent had learned (returns near the random policy's, every critic far above its
Monte-Carlo return), so its bias lines measured values not yet learned rather than overestimation.
That run was discarded before this one, for that reason only, and the grid rerun unchanged except
for the step counts of the pilot (4,000 on Pendulum-noise, and the same 4× on RiskyPointMass); the
evidence here is that rerun's, all of it. At these budgets the SACs reach returns far above random
(the score column) and their critics sit close to the Monte-Carlo return (columns q and mc), so the
bias lines speak to the regime the paper addresses, at a small scale: whether a single critic
overestimates at all here is line (1). The timing line does not depend on convergence: at width 64
a step's cost is mostly per-operation overhead, and STAC's Dropout and LayerNorm layers in both
networks add more operations than the second critic it saves (the batched twin critics cost one
matrix product per layer for both). The verdict is the paper's claims tested at this budget; it says
nothing about STAC at the paper's scale of millions of steps.

**Thresholds.** Fraction 0.9 (return), 0.5 (occupancy) and 0.75 (time) are the designed ones; none was
changed after the pilot. "0.9× the return" is applied to the return above the random policy's because
every return here is negative.

**Deviations.** Our SAC keeps the twin critics as one batched network (one matrix product per layer
for both), the cheapest form on a CPU; the timing table also shows twin critics as two separate MLPs
(the layout of most SAC code). The temperature step is SAC's (gradient on log α) for STAC too; the
authors' code scales α multiplicatively. Target critics are Polyak averages; dropout stays on in the
target critic during training, as in the authors' code.
"""

REPRODUCTION = Reproduction(
    name="stac",
    paper=Paper(
        title="Stochastic Actor-Critic: Mitigating Overestimation via Temporal Aleatoric Uncertainty",
        year=2026,
        url="https://arxiv.org/abs/2601.00737",
    ),
    claim=("Pessimism based on a distributional critic alone suffices to mitigate overestimation and naturally "
           "leads to risk-averse behavior in stochastic environments; dropout further improves training stability "
           "and performance; a single distributional critic improves computational efficiency."),
    tasks=TASKS,
    methods=METHODS,
    metrics=("return", "score", "bias", "occupancy", "cpu_ms_per_update", "fit_cpu_seconds"),
    scales={
        "quick": Scale(seeds=2, settings={"steps_pendulum": 150, "steps_rpm": 100, "start_steps": 50,
                                          "batch_size": 32, "hidden": 16, "eval_episodes": 4, "curve_points": 2,
                                          "curve_episodes": 2, "bias_tail": 20, "timing_updates": 8,
                                          "timing_blocks": 2, "tuning_seeds": 0}),
        "full": Scale(seeds=3, settings={}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    grid=grid,
    notes=NOTES,
)
