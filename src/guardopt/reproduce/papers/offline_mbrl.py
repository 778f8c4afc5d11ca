"""Reproduction `offline-mbrl`: uncertainty heuristics of offline model-based RL, and MOPO tuned by BO.

Paper: C. Lu, P. J. Ball, J. Parker-Holder, M. A. Osborne & S. J. Roberts, "Revisiting Design
Choices in Offline Model-Based Reinforcement Learning", ICLR 2022 (arXiv 2110.04135). The
abstract's claim: selecting the key hyperparameters (heuristic, number of models, rollout horizon,
penalty weight) "using Bayesian Optimization produces superior configurations that are vastly
different to those currently used in existing hand-tuned state-of-the-art methods, and result in
drastically stronger performance"; on the way it compares the heuristics under "the specific
covariate shift induced by model-based RL" and their interaction with the number of models.

D4RL cannot be downloaded here, so the task is `VelocityPendulum` (gymnasium's Pendulum-v1
dynamics, 100 steps; its velocity cost is not used) with two datasets of our own, 100 episodes
(10,000 transitions) each: **random** (uniform random actions; D4RL's "random") and **mixed**
(`collect_dataset`'s scripted swing-up controllers, careless to careful, two noise levels, 20%
random episodes: a spread of behaviour quality like D4RL's "medium-replay", but scripted, not a
replay buffer). Because the simulator's state can be set, the TRUE next state of any model-visited
(s, a) is computed exactly (θ = atan2(sin θ, cos θ), θ̇ = 8·obs₃ from the observation).

Evidence lines (criteria declared before the full run; thresholds are the designed ones):

1. Calibration under model-induced covariate shift, per dataset and policy (BC and an
   out-of-distribution policy, `ood_policy`, full torque along the motion): every
   heuristic's Spearman ρ with the true model error ‖s'_true − μ̄‖₂ on the (s, a) pairs of 10-step
   model rollouts of that policy is > 0, judged by the smallest (over heuristics and seeds) 95%
   Fisher-z lower bound with the number of independent rollouts (200) as the sample size (the steps
   of one rollout are correlated, so counting them would overstate the evidence).
2. Under the OOD policy at least one disagreement heuristic (max pairwise diff, ensemble std,
   ensemble var, LL variance) has ρ ≥ 0.5, by the same lower bound (smallest over seeds), per dataset.
3. The interaction finding: the mean max pairwise difference on the OOD rollouts grows strictly
   with N ∈ {2, 5, 10} (first N members of one 10-member ensemble), every seed, per dataset.
4. "Drastically stronger": the BO-tuned configuration's TRUE return beats the default
   configuration's (MOPO's hand-tuned max aleatoric, N = 7, h = 5, λ = 1) and BC's, on both
   datasets: paired over 2 seeds × 20 evaluation episodes from the same initial states, one-sided
   95% lower bound of the mean gain > 0 (strict superiority, not non-inferiority).
5. "Vastly different": at least 2 of the 4 choices differ vastly from the default (another
   heuristic; N, h or log₁₀ λ apart by ≥ 25% of the searched range), per dataset.

How the rules of ``docs/reproduce.md`` are met. *Claim as stated*: lines 4–5 are the abstract's
sentence, 1–3 its protocol and interaction finding. *Paper's protocol*: the BO is a `guardopt.Study`
with the library's GP (`GPOptimizer`, expected improvement, 5 Sobol points then the GP) over
(heuristic ∈ 5, N ∈ [2, 10], h ∈ [1, 20], λ ∈ [0.01, 10] log), as the paper's space; its objective is
the TRUE environment return of the trained policy, the paper's oracle protocol (stated openly: it
is tuning on the environment, which an offline user cannot do). *Budget*: the paper runs 16 trials
of full MOPO; here 10 trials per dataset of a 2,000-update MOPO (about 16 s each on one idle core);
the default configuration and BC get no tuning budget at all — the comparison the claim makes is
BO against the hand-tuned values, so that is the test, and the report says so. *Disjoint seeds*:
BO trials train the ensemble and SAC on tuning seed 1,000,000 and score 10 episodes from their own
initial states; the verdict's cells use seeds 0 and 1, other ensembles, other evaluation states.
*No best-of*: one BO configuration per dataset (the study's best trial) enters the verdict, beside
the default and BC; the sensitivity lines (heuristics on [s', r]) never do. *Strict
criteria*: lower bounds everywhere. *Negative control*: a heuristic that is pure noise (u ~ U(0,1),
independent of (s, a)) is scored in every calibration cell; `tests/reproduce/test_reproduce_offline_mbrl.py`
shows that it makes criterion 1 FAIL. *Cross-check*: d3rlpy's BC beside ours at full scale (d3rlpy
has no MOPO, and OfflineRL-Kit, which has, is not on PyPI).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
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
from guardopt.reproduce.tuning import tuning_seeds

TASKS = ("random", "mixed")
ENV = "VelocityPendulum"
HEURISTIC_NAMES = ("max_aleatoric", "max_pairwise_diff", "ensemble_std", "ensemble_var", "ll_variance")
DISAGREEMENT = ("max_pairwise_diff", "ensemble_std", "ensemble_var", "ll_variance")
POLICIES = ("bc", "ood")
METHODS = ("mopo-bo", "mopo-default", "bc", "calibration", "d3rlpy-bc")
DEFAULT = {"heuristic": "max_aleatoric", "members": 7, "horizon": 5, "penalty": 1.0}
# Declared before the full run.
RHO_OOD_MIN = 0.5
VAST_FRACTION = 0.25
VAST_COUNT = 2
SEARCH: dict[str, tuple[float, float]] = {"members": (2, 10), "horizon": (1, 20), "penalty": (0.01, 10.0)}

SETTINGS: dict[str, Any] = {
    "episodes_data": 100,
    "data_seed": 0,
    "max_members": 10,
    "sizes": [2, 5, 10],
    "ens_hidden": 128,
    "ens_epochs": 15,
    "steps": 2000,
    "batch_size": 256,
    "hidden": 64,
    "lr": 1e-3,
    "rollout_batch": 400,
    "rollout_every": 250,
    "bc_steps": 1000,
    "calib_starts": 200,
    "calib_horizon": 10,
    "eval_episodes": 20,
    "bo_trials": 10,
    "bo_initial": 5,
    "bo_episodes": 10,
    "scatter_points": 300,
    "torch_threads": 1,
}



def _seed(seed: int, *parts: str) -> int:
    return int(derive_seed(seed, *parts) or 0)


# --------------------------------------------------------------------------------------------------
# Data, true dynamics, models
# --------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def dataset(task: str, episodes: int, seed: int) -> dict[str, np.ndarray]:
    """``"random"``: uniform random actions; ``"mixed"``: the scripted behaviour family with 20% random episodes."""
    from guardopt.problems.safe_control import collect_dataset

    if task not in TASKS:
        raise KeyError(task)
    return collect_dataset(ENV, episodes=episodes, seed=seed, random_fraction=1.0 if task == "random" else 0.2)


def true_next_obs(obs: np.ndarray, act: np.ndarray) -> np.ndarray:
    """The simulator's next observation from any observation (the model may leave cos² + sin² = 1:
    the state is read back as θ = atan2(sin, cos), θ̇ = 8·obs₃)."""
    from guardopt.problems.safe_control import VelocityPendulum

    obs = np.asarray(obs, dtype=float)
    env = VelocityPendulum(num_envs=obs.shape[0])
    env.reset(seed=0)
    env.state = np.column_stack([np.arctan2(obs[:, 1], obs[:, 0]), 8.0 * obs[:, 2]])
    nxt, *_ = env.step(np.clip(np.asarray(act, dtype=float), -1.0, 1.0))
    return np.asarray(nxt)


@functools.lru_cache(maxsize=8)
def _ensemble(task: str, seed: int, settings_json: str) -> Any:
    from guardopt.rl import DynamicsConfig, GaussianEnsemble

    s = json.loads(settings_json)
    data = dataset(task, int(s["episodes_data"]), int(s["data_seed"]))
    cfg = DynamicsConfig(members=int(s["max_members"]), elites=5, hidden=int(s["ens_hidden"]),
                         max_epochs=int(s["ens_epochs"]))
    return GaussianEnsemble(cfg).fit(data, seed=_seed(seed, "ensemble"))


@functools.lru_cache(maxsize=8)
def _bc(task: str, seed: int, settings_json: str) -> Any:
    from guardopt.rl import BC, BCConfig

    s = json.loads(settings_json)
    data = dataset(task, int(s["episodes_data"]), int(s["data_seed"]))
    return BC(BCConfig(steps=int(s["bc_steps"]), hidden=int(s["hidden"]), lr=float(s["lr"]))).fit(data, seed=seed)


def _mopo(task: str, seed: int, settings_json: str, params: dict[str, Any]) -> Any:
    from guardopt.rl.mopo import MOPO, MOPOConfig, MOPOSACConfig

    s = json.loads(settings_json)
    data = dataset(task, int(s["episodes_data"]), int(s["data_seed"]))
    cfg = MOPOConfig(heuristic=str(params["heuristic"]), members=int(params["members"]),
                     horizon=int(params["horizon"]), penalty=float(params["penalty"]), batch_size=int(s["batch_size"]),
                     with_reward=bool(params.get("with_reward", False)), steps=int(s["steps"]),
                     rollout_batch=int(s["rollout_batch"]), rollout_every=int(s["rollout_every"]),
                     sac=MOPOSACConfig(hidden=int(s["hidden"]), lr=float(s["lr"])))
    return MOPO(cfg).fit(data, seed=seed, model=_ensemble(task, seed, settings_json))


def ood_policy(obs: np.ndarray) -> np.ndarray:
    """The out-of-distribution policy: full torque along the motion (θ̇ ≥ 0 → +1), which pumps
    energy until the speed hits the simulator's clip at 8 rad/s: speeds and phase-space regions
    that neither dataset visits much (the random data hardly leaves |θ̇| < 4; the scripted
    controllers stop pumping at the upright energy)."""
    obs = np.asarray(obs, dtype=float)
    return np.where(obs[:, 2:3] >= 0.0, 1.0, -1.0)


def _returns(policy: Any, task: str, episodes: int, seed: int, s: dict[str, Any]) -> np.ndarray:
    from guardopt.problems.safe_control import VelocityPendulum
    from guardopt.rl import evaluate, reward_range

    data = dataset(task, int(s["episodes_data"]), int(s["data_seed"]))
    ev = evaluate(policy, lambda n: VelocityPendulum(num_envs=n), episodes, seed, reward_range(data),
                  VelocityPendulum.cost_limit)
    return np.asarray(ev.returns, dtype=float)


# --------------------------------------------------------------------------------------------------
# Bayesian optimization of the design choices (a guardopt Study)
# --------------------------------------------------------------------------------------------------


def _space(max_members: int) -> Any:
    import guardopt as go

    lo, hi = SEARCH["penalty"]
    return go.Space({"heuristic": go.Choice(list(HEURISTIC_NAMES)),
                     "members": go.Integer(int(SEARCH["members"][0]), max_members),
                     "horizon": go.Integer(int(SEARCH["horizon"][0]), int(SEARCH["horizon"][1])),
                     "penalty": go.Real(lo, hi, log=True)})


@functools.lru_cache(maxsize=4)
def _run_bo(task: str, settings_json: str) -> dict[str, Any]:
    """The study: each trial trains MOPO on the tuning seed and scores its true mean return."""
    import guardopt as go
    from guardopt.bo import GPOptimizer

    s = json.loads(settings_json)
    seed = tuning_seeds(1)[0]
    episodes = int(s["bo_episodes"])

    def objective(params: Any) -> float:
        t0 = time.process_time()
        learner = _mopo(task, seed, settings_json, dict(params))
        value = float(_returns(learner, task, episodes, _seed(seed, "bo-eval"), s).mean())
        cpu.append(time.process_time() - t0)
        return value

    cpu: list[float] = []
    study = go.Study(_space(int(s["max_members"])), direction="maximize",
                     optimizer=GPOptimizer("ei", seed=0, n_initial=int(s["bo_initial"])))
    study.optimize(objective, n_trials=int(s["bo_trials"]))
    trials = [{"params": dict(t.params), "value": float(t.value) if t.value is not None else math.nan}
              for t in study.trials]
    return {"best": dict(study.best_params), "trials": trials, "cpu": cpu, "seed": seed}


BO_VERSION = 1


def _bo(task: str, settings_json: str) -> dict[str, Any]:
    """The BO result, computed once per machine (a file lock lets parallel workers share it)."""
    import fcntl
    import tempfile

    # The code is part of the key, so an edited learner never reuses a stale study.
    import guardopt.rl.dynamics
    import guardopt.rl.model_uncertainty
    import guardopt.rl.mopo

    code = b"".join(Path(m.__file__).read_bytes() for m in (guardopt.rl.dynamics, guardopt.rl.model_uncertainty,
                                                             guardopt.rl.mopo) if m.__file__)
    code += Path(__file__).read_bytes()
    key = hashlib.sha256(f"{BO_VERSION}|{task}|{settings_json}|".encode() + code).hexdigest()[:20]
    folder = Path(tempfile.gettempdir()) / "guardopt-offline-mbrl-bo"
    folder.mkdir(exist_ok=True)
    path = folder / f"{key}.json"
    with open(folder / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return dict(json.loads(path.read_text()))
        res = _run_bo(task, settings_json)
        path.write_text(json.dumps(res))
        return res


# --------------------------------------------------------------------------------------------------
# Calibration of the heuristics
# --------------------------------------------------------------------------------------------------


def calibration(model: Any, policy: Any, starts: np.ndarray, horizon: int, rng: np.random.Generator,
                sizes: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Model rollouts of ``policy`` from ``starts``; every heuristic and the true error at each visited pair.

    Returns arrays over the visited pairs: ``error`` ‖s'_true − μ̄‖₂ (μ̄: mean of all members'
    means), one array per heuristic (all members), ``noise`` (the negative control, U(0, 1)),
    ``<heuristic>_r`` (on [s', r]) and ``pwd_<N>`` (max pairwise diff of the first N members).
    """
    from guardopt.rl.model_uncertainty import HEURISTICS, max_pairwise_diff, subset
    from guardopt.rl.mopo import model_rollout

    roll = model_rollout(model, policy, starts, horizon, "max_aleatoric", 0.0, rng, elites=5)
    s, a = roll["observations"], roll["actions"]
    pred = model.predict(s, a)
    # The sampled next state the rollout used is the one LL variance scores.
    s2, r = roll["next_observations"], roll["raw_rewards"]
    err = np.linalg.norm(true_next_obs(s, a) - pred.next_obs_mean.mean(0), axis=1)
    out: dict[str, np.ndarray] = {"error": err, "noise": rng.uniform(0.0, 1.0, err.shape[0])}
    for name in HEURISTIC_NAMES:
        out[name] = HEURISTICS[name](pred, s2, r, False)
        out[f"{name}_r"] = HEURISTICS[name](pred, s2, r, True)
    for n in sizes:
        out[f"pwd_{n}"] = max_pairwise_diff(subset(pred, n))
    return out


def _spearman(u: np.ndarray, err: np.ndarray) -> float:
    if u.size < 3 or np.ptp(u) == 0 or np.ptp(err) == 0:
        return math.nan
    return float(stats.spearmanr(u, err).statistic)


def fisher_lower(rho: float, n: int) -> float:
    """One-sided 95% lower bound of a rank correlation by Fisher's z with ``n`` independent units."""
    if not math.isfinite(rho) or n < 4:
        return math.nan
    z = math.atanh(max(min(rho, 1 - 1e-12), -1 + 1e-12)) - stats.norm.ppf(0.95) / math.sqrt(n - 3)
    return float(math.tanh(z))


def _calibration_cell(cell: Cell, s: dict[str, Any], sj: str) -> CellResult:
    model = _ensemble(cell.task, cell.seed, sj)
    data = dataset(cell.task, int(s["episodes_data"]), int(s["data_seed"]))
    rng = np.random.default_rng(_seed(cell.seed, "calibration"))
    n_starts = int(s["calib_starts"])
    starts = data["observations"][rng.integers(0, data["observations"].shape[0], n_starts)]
    sizes = tuple(int(n) for n in s["sizes"])
    ep_len = int(data["timeouts"].nonzero()[0][0]) + 1
    metrics: dict[str, float] = {"n_starts": float(n_starts),
                                 "data_return": float(data["rewards"].reshape(-1, ep_len).sum(1).mean())}
    curves: dict[str, list[float]] = {}
    policies = {"bc": _bc(cell.task, cell.seed, sj).act, "ood": ood_policy}
    for pname, policy in policies.items():
        cal = calibration(model, policy, starts, int(s["calib_horizon"]), rng, sizes)
        for h in (*HEURISTIC_NAMES, "noise"):
            metrics[f"rho_{pname}_{h}"] = _spearman(cal[h], cal["error"])
        for h in HEURISTIC_NAMES:
            metrics[f"rho_{pname}_{h}_r"] = _spearman(cal[f"{h}_r"], cal["error"])
        for n in sizes:
            metrics[f"pwd_{pname}_{n}"] = float(cal[f"pwd_{n}"].mean())
        metrics[f"pairs_{pname}"] = float(cal["error"].size)
        metrics[f"error_{pname}"] = float(cal["error"].mean())
        pick = rng.choice(cal["error"].size, min(int(s["scatter_points"]), cal["error"].size), replace=False)
        curves[f"scatter_{pname}_error"] = cal["error"][pick].tolist()
        for h in HEURISTIC_NAMES:
            curves[f"scatter_{pname}_{h}"] = cal[h][pick].tolist()
    return CellResult(metrics=metrics, curves=curves)


# --------------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------------


def _encode(params: dict[str, Any]) -> dict[str, float]:
    return {"heuristic_index": float(HEURISTIC_NAMES.index(str(params["heuristic"]))),
            "members": float(params["members"]), "horizon": float(params["horizon"]),
            "log10_penalty": float(math.log10(float(params["penalty"])))}


def run_cell(cell: Cell) -> CellResult:
    """One (dataset, method, seed): calibration, BC, MOPO at the default or at the BO configuration."""
    import torch

    s = {**SETTINGS, **dict(cell.settings)}
    torch.set_num_threads(_torch_threads(s))
    sj = json.dumps(s, sort_keys=True)
    eval_seed = _seed(cell.seed, "eval")  # the same initial states for every method of this seed
    episodes = int(s["eval_episodes"])
    if cell.method == "calibration":
        return _calibration_cell(cell, s, sj)
    metrics: dict[str, float] = {}
    curves: dict[str, list[float]] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    if cell.method == "bc":
        policy: Any = _bc(cell.task, cell.seed, sj)
    elif cell.method == "d3rlpy-bc":
        from guardopt.rl.d3rlpy_check import fit_d3rlpy

        data = dataset(cell.task, int(s["episodes_data"]), int(s["data_seed"]))
        try:
            policy = fit_d3rlpy("bc", data, steps=int(s["bc_steps"]), seed=cell.seed, hidden=int(s["hidden"]),
                                lr=float(s["lr"]))
        except ImportError:
            return CellResult(metrics={"return": math.nan, "installed": 0.0})
        metrics["installed"] = 1.0
    else:
        if cell.method == "mopo-bo":
            bo = _bo(cell.task, sj)
            params = dict(bo["best"])
            curves["bo_values"] = [t["value"] for t in bo["trials"]]
            for k in ("heuristic_index", "members", "horizon", "log10_penalty"):
                curves[f"bo_{k}"] = [_encode(t["params"])[k] for t in bo["trials"]]
            curves["bo_cpu_seconds"] = list(bo["cpu"])
        elif cell.method == "mopo-default":
            params = dict(DEFAULT)
        else:
            raise KeyError(cell.method)
        metrics.update(_encode(params))
        c1 = time.process_time()
        _ensemble(cell.task, cell.seed, sj)
        metrics["ensemble_cpu_seconds"] = time.process_time() - c1
        c0 = time.process_time()
        policy = _mopo(cell.task, cell.seed, sj, params)
        metrics["final_model_uncertainty"] = float(policy.log[-2]["model_uncertainty"]) if len(policy.log) > 1 \
            else math.nan
    metrics["fit_seconds"] = time.perf_counter() - t0
    metrics["fit_cpu_seconds"] = time.process_time() - c0
    ret = _returns(policy, cell.task, episodes, eval_seed, s)
    metrics["return"] = float(ret.mean())
    curves["episode_return"] = ret.tolist()
    return CellResult(metrics=metrics, curves=curves)


# --------------------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------------------


def _rho_bounds(results: Results, task: str, policy: str, heuristic: str, suffix: str = "") -> list[float]:
    rhos = results.metric(f"rho_{policy}_{heuristic}{suffix}", task, "calibration")
    ns = results.metric("n_starts", task, "calibration")
    return [fisher_lower(float(r), int(n)) for r, n in zip(rhos, ns)]


def positive_correlation(results: Results, task: str, policy: str, heuristics: tuple[str, ...] = HEURISTIC_NAMES,
                         suffix: str = "") -> Evidence:
    """Criterion 1: the smallest Fisher lower bound over heuristics and seeds is > 0."""
    check = (f"{task}: every heuristic's Spearman ρ with the true model error > 0 under {policy.upper()} model "
             f"rollouts (smallest 95% lower bound over {len(heuristics)} heuristics and seeds)")
    lows = {h: _rho_bounds(results, task, policy, h, suffix) for h in heuristics}
    vals = [v for b in lows.values() for v in b]
    if not vals:
        return vacuous(check, "no calibration cell stored", threshold=0.0)
    if not all(math.isfinite(v) for v in vals):
        return inconclusive(check, "a correlation could not be computed", threshold=0.0)
    point = {h: results.metric(f"rho_{policy}_{h}{suffix}", task, "calibration") for h in heuristics}
    detail = "; ".join(f"{h} ρ {np.mean(point[h]):.3f} (lower {min(lows[h]):.3f})" for h in heuristics)
    return Evidence(check, min(vals), 0.0, min(vals) > 0.0, detail=detail)


def strong_disagreement(results: Results, task: str) -> Evidence:
    """Criterion 2: the best disagreement heuristic's smallest-over-seeds lower bound ≥ 0.5 (OOD policy)."""
    check = (f"{task}: some disagreement heuristic has Spearman ρ >= {RHO_OOD_MIN:g} under OOD model rollouts "
             "(95% lower bound, smallest over seeds)")
    lows = {h: _rho_bounds(results, task, "ood", h) for h in DISAGREEMENT}
    if not any(lows.values()):
        return vacuous(check, "no calibration cell stored", threshold=RHO_OOD_MIN)
    per = {h: (min(b) if b and all(math.isfinite(v) for v in b) else math.nan) for h, b in lows.items()}
    best = max(per, key=lambda h: per[h] if math.isfinite(per[h]) else -math.inf)
    val = per[best]
    if not math.isfinite(val):
        return inconclusive(check, "no correlation could be computed", threshold=RHO_OOD_MIN)
    return Evidence(check, val, RHO_OOD_MIN, val >= RHO_OOD_MIN,
                    detail=f"best {best}; " + "; ".join(f"{h} {v:.3f}" for h, v in per.items()))


def grows_with_members(results: Results, task: str, sizes: tuple[int, ...] | None = None) -> Evidence:
    """Criterion 3: mean max pairwise diff strictly increasing in N on the OOD rollouts, every seed."""
    recs = [r for r in results.done if r.task == task and r.method == "calibration"]
    if sizes is None:
        keys = sorted({int(k.rsplit("_", 1)[1]) for r in recs for k in r.metrics if k.startswith("pwd_ood_")})
        sizes = tuple(keys)
    check = f"{task}: mean max pairwise diff grows with N ∈ {{{', '.join(map(str, sizes))}}} (OOD rollouts, every seed)"
    if not recs or len(sizes) < 2:
        return vacuous(check, "no calibration cell stored", threshold=0.0)
    steps = np.array([[r.metrics[f"pwd_ood_{b}"] - r.metrics[f"pwd_ood_{a}"] for a, b in itertools.pairwise(sizes)]
                      for r in recs])
    means = np.mean([[r.metrics[f"pwd_ood_{n}"] for n in sizes] for r in recs], axis=0)
    val = float(steps.min())
    return Evidence(check, val, 0.0, val > 0.0, detail="mean over seeds: " + ", ".join(
        f"N={n}: {m:.4f}" for n, m in zip(sizes, means)) + "; value = smallest increase")


def _episodes(results: Results, task: str, method: str) -> np.ndarray:
    c = results.curves("episode_return", task, method)
    return c.ravel() if c.size else np.zeros(0)


def beats(results: Results, task: str, base: str, method: str = "mopo-bo") -> Evidence:
    """Criterion 4: paired gain in true return over ``base`` (same seeds and initial states), lower bound > 0."""
    check = f"{task}: {method} true return > {base}'s (paired over seeds × episodes, 95% lower bound of the gain)"
    a, b = _episodes(results, task, method), _episodes(results, task, base)
    if a.size == 0 or b.size == 0:
        return vacuous(check, "no episodes stored", threshold=0.0)
    if a.size != b.size:
        return inconclusive(check, f"unequal episode counts ({a.size} vs {b.size})", threshold=0.0)
    return paired_gain(check, a, b)


def difference(results: Results, task: str) -> tuple[int, list[str]]:
    """How many of the four choices of the BO configuration differ vastly from the default, and how."""
    recs = [r for r in results.done if r.task == task and r.method == "mopo-bo"]
    if not recs:
        return 0, []
    m = recs[0].metrics
    d = _encode(DEFAULT)
    parts, count = [], 0
    h = HEURISTIC_NAMES[int(m["heuristic_index"])]
    if h != DEFAULT["heuristic"]:
        count += 1
    parts.append(f"heuristic {h} (default {DEFAULT['heuristic']})")
    ranges = {"members": SEARCH["members"], "horizon": SEARCH["horizon"],
              "log10_penalty": tuple(math.log10(v) for v in SEARCH["penalty"])}
    for k, (lo, hi) in ranges.items():
        frac = abs(m[k] - d[k]) / (hi - lo)
        count += frac >= VAST_FRACTION
        parts.append(f"{k} {m[k]:g} vs {d[k]:g} ({frac:.0%} of the range)")
    return count, parts


def vastly_different(results: Results, task: str) -> Evidence:
    """Criterion 5: at least 2 of the 4 choices differ vastly from the default."""
    check = (f"{task}: BO configuration vastly different from the default (>= {VAST_COUNT} of 4 choices: another "
             f"heuristic, or >= {VAST_FRACTION:.0%} of the searched range apart)")
    count, parts = difference(results, task)
    if not parts:
        return vacuous(check, "no BO cell stored", threshold=float(VAST_COUNT))
    return Evidence(check, float(count), float(VAST_COUNT), count >= VAST_COUNT, detail="; ".join(parts))


def verdict(results: Results) -> Verdict:
    """Criteria 1–5 of the module docstring."""
    ev: list[Evidence] = []
    for t in TASKS:
        ev += [positive_correlation(results, t, p) for p in POLICIES]
    ev += [strong_disagreement(results, t) for t in TASKS]
    ev += [grows_with_members(results, t) for t in TASKS]
    for t in TASKS:
        ev += [beats(results, t, "mopo-default"), beats(results, t, "bc")]
    ev += [vastly_different(results, t) for t in TASKS]
    claim = ev[-6:]
    summary = (f"BO claim: {sum(e.counts_as_pass for e in claim)} of {len(claim)} lines pass; "
               f"{sum(e.counts_as_pass for e in ev)} of {len(ev)} checks pass")
    return Verdict.from_evidence(ev, summary)


def negative_control(results: Results) -> Verdict:
    """Criterion 1 with the pure-noise heuristic in place of the five (must FAIL)."""
    return Verdict.from_evidence([positive_correlation(results, t, p, ("noise",)) for t in TASKS for p in POLICIES],
                                 "a heuristic that is pure noise")


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _ms(v: np.ndarray, digits: int = 2) -> str:
    return format_mean_se(np.asarray(v, dtype=float), digits)


def _bo_rec(results: Results, task: str) -> Any:
    return next((r for r in results.done if r.task == task and r.method == "mopo-bo" and "bo_values" in r.curves),
                None)


def extra_markdown(results: Results) -> str:
    """Returns, configurations, calibration, interaction, BO trace, sensitivity, control, cross-check."""
    lines = ["### True return per dataset (mean ± SE over evaluation episodes of all seeds; higher is better)", "",
             "| method | " + " | ".join(TASKS) + " |", "|---|" + "---|" * len(TASKS)]
    labels = {"mopo-bo": "MOPO, BO-tuned", "mopo-default": "MOPO, default (max aleatoric, N=7, h=5, λ=1)",
              "bc": "BC", "d3rlpy-bc": "d3rlpy BC (cross-check)"}
    for m, label in labels.items():
        if any(_episodes(results, t, m).size for t in TASKS):
            lines.append(f"| {label} | " + " | ".join(_ms(_episodes(results, t, m)) for t in TASKS) + " |")
    behaviour = [f"{np.mean(results.metric('data_return', t, 'calibration')):.2f}"
                 if results.metric("data_return", t, "calibration").size else "–" for t in TASKS]
    lines.append("| (behaviour data: mean episode return) | " + " | ".join(behaviour) + " |")
    lines += ["", "### The BO configuration against the default (how different)", "",
              "| dataset | heuristic | N | h | λ | BO trials | tuning CPU s |", "|---|---|---|---|---|---|---|"]
    lines.append(f"| default (MOPO, hand-tuned) | {DEFAULT['heuristic']} | {DEFAULT['members']} | "
                 f"{DEFAULT['horizon']} | {DEFAULT['penalty']:g} | none | 0 |")
    for t in TASKS:
        rec = _bo_rec(results, t)
        if rec is None:
            continue
        m = rec.metrics
        lines.append(f"| {t} | {HEURISTIC_NAMES[int(m['heuristic_index'])]} | {m['members']:g} | {m['horizon']:g} | "
                     f"{10 ** m['log10_penalty']:.3g} | {len(rec.curves['bo_values'])} | "
                     f"{sum(rec.curves['bo_cpu_seconds']):.0f} |")
    for t in TASKS:
        count, parts = difference(results, t)
        if parts:
            lines.append(f"\n{t}: {count} of 4 choices vastly different — " + "; ".join(parts) + ".")
    lines += ["", "### Tuning table: every BO trial (tuning seed 1000000, 10 episodes each; true mean return)", ""]
    for t in TASKS:
        rec = _bo_rec(results, t)
        if rec is None:
            continue
        c = rec.curves
        lines += [f"**{t}**", "", "| trial | heuristic | N | h | λ | true return |", "|---|---|---|---|---|---|"]
        best = int(np.nanargmax(c["bo_values"]))
        for i, v in enumerate(c["bo_values"]):
            mark = " (chosen)" if i == best else ""
            lines.append(f"| {i}{mark} | {HEURISTIC_NAMES[int(c['bo_heuristic_index'][i])]} | {c['bo_members'][i]:g} | "
                         f"{c['bo_horizon'][i]:g} | {10 ** c['bo_log10_penalty'][i]:.3g} | {v:.2f} |")
        lines.append("")
    lines += ["The default configuration and BC get no tuning budget (the claim compares BO with hand-tuned "
              "values). The objective is the true environment return: the paper's oracle protocol.", ""]
    lines += ["### Calibration: Spearman ρ of each heuristic with the true model error (mean over seeds)", "",
              "| dataset | policy | " + " | ".join(HEURISTIC_NAMES) + " | noise (control) | pairs | mean error |",
              "|---|---|" + "---|" * (len(HEURISTIC_NAMES) + 3)]
    for t in TASKS:
        for p in POLICIES:
            f = results.metric
            if not f(f"rho_{p}_max_aleatoric", t, "calibration").size:
                continue
            lines.append(f"| {t} | {p} | " + " | ".join(f"{np.mean(f(f'rho_{p}_{h}', t, 'calibration')):.3f}"
                                                         for h in (*HEURISTIC_NAMES, "noise"))
                         + f" | {np.mean(f(f'pairs_{p}', t, 'calibration')):.0f} | "
                           f"{np.mean(f(f'error_{p}', t, 'calibration')):.4f} |")
    lines += ["", "### Interaction: mean max pairwise difference by ensemble size N (first N members)", "",
              "| dataset | policy | " + " | ".join(f"N = {n}" for n in SETTINGS["sizes"]) + " |",
              "|---|---|" + "---|" * len(SETTINGS["sizes"])]
    for t in TASKS:
        recs = [r for r in results.done if r.task == t and r.method == "calibration"]
        if not recs:
            continue
        sizes = sorted({int(k.rsplit("_", 1)[1]) for k in recs[0].metrics if k.startswith("pwd_ood_")})
        for p in POLICIES:
            lines.append(f"| {t} | {p} | " + " | ".join(
                f"{np.mean([r.metrics[f'pwd_{p}_{n}'] for r in recs]):.4f}" for n in sizes) + " |")
    lines += ["", "### Sensitivity to our choices (never in the verdict)", "",
              "Heuristics computed on [s', r] (MOPO's code) instead of s' (the paper's formulas): Spearman ρ, "
              "mean over seeds.", "", "| dataset | policy | " + " | ".join(HEURISTIC_NAMES) + " |",
              "|---|---|" + "---|" * len(HEURISTIC_NAMES)]
    for t in TASKS:
        for p in POLICIES:
            v = [results.metric(f"rho_{p}_{h}_r", t, "calibration") for h in HEURISTIC_NAMES]
            if v[0].size:
                lines.append(f"| {t} | {p} | " + " | ".join(f"{np.mean(x):.3f}" for x in v) + " |")
    sens = [positive_correlation(results, t, p, suffix="_r") for t in TASKS for p in POLICIES]
    lines += ["", "Criterion 1 on [s', r]: " + "; ".join(
        f"{e.check.split(':')[0]} {p.upper()} lower {e.value:.3f} ({'pass' if e.counts_as_pass else 'fail'})"
        for e, p in zip(sens, POLICIES * len(TASKS))), ""]
    nc = negative_control(results)
    lines += [f"**Negative control** (a heuristic that is pure noise, u ~ U(0, 1)), criterion 1: "
              f"**{nc.status.value}** — " + "; ".join(
                  f"{t} {p.upper()} lower bound {e.value:.3f}"
                  for (t, p), e in zip([(t, p) for t in TASKS for p in POLICIES], nc.evidence)), ""]
    lines += ["### Cross-check with d3rlpy", "",
              "d3rlpy has no MOPO (nor any model-based offline learner), and OfflineRL-Kit, which has MOPO, is not on "
              "PyPI; d3rlpy's BC runs beside ours on the same data (same steps, width, learning rate)."]
    inst = results.metric("installed")
    if inst.size == 0 or not np.any(inst > 0):
        lines.append("VACUOUS: d3rlpy not installed or not run at this scale.")
    else:
        lines.append("| dataset | our BC | d3rlpy BC |")
        lines.append("|---|---|---|")
        for t in TASKS:
            lines.append(f"| {t} | {_ms(_episodes(results, t, 'bc'))} | {_ms(_episodes(results, t, 'd3rlpy-bc'))} |")
    lines += ["", "Settings: `" + json.dumps(SETTINGS) + "`", ""]
    return "\n".join(lines)


def plots(results: Results, outdir: Path) -> list[Path]:
    """Heuristic vs true error scatter (OOD rollouts), the BO trace, and the returns bars."""
    from guardopt.reproduce.plotting import pyplot, save_figure

    plt = pyplot()
    from matplotlib.ticker import NullFormatter

    out = Path(outdir)
    paths = []
    recs = {t: next((r for r in results.done if r.task == t and r.method == "calibration"), None) for t in TASKS}
    if any(recs.values()):
        fig, axes = plt.subplots(len(TASKS), len(HEURISTIC_NAMES), figsize=(3.2 * len(HEURISTIC_NAMES),
                                                                             2.9 * len(TASKS)), squeeze=False)
        for i, t in enumerate(TASKS):
            rec = recs[t]
            for j, h in enumerate(HEURISTIC_NAMES):
                ax = axes[i, j]
                if rec is None:
                    continue
                for p, col in (("bc", "tab:blue"), ("ood", "tab:red")):
                    ax.scatter(rec.curves[f"scatter_{p}_{h}"], rec.curves[f"scatter_{p}_error"], s=4, alpha=0.4,
                               color=col, label=f"{p} ρ={rec.metrics[f'rho_{p}_{h}']:.2f}")
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())  # the minor labels overlap on narrow ranges
                ax.set_title(f"{t}: {h}", fontsize=8)
                ax.set_xlabel("heuristic u", fontsize=7)
                ax.set_ylabel("true error", fontsize=7)
                ax.legend(fontsize=6)
        seed = next(r for r in recs.values() if r is not None).seed
        fig.suptitle(f"Uncertainty heuristic vs true model error on model-rollout pairs (seed {seed})")
        paths.append(save_figure(fig, out / "offline_mbrl_calibration.png"))
    bo = {t: _bo_rec(results, t) for t in TASKS}
    if any(bo.values()):
        fig, axes = plt.subplots(1, len(TASKS), figsize=(5.0 * len(TASKS), 3.6), squeeze=False)
        for ax, t in zip(axes.flat, TASKS):
            rec = bo[t]
            if rec is None:
                continue
            v = np.asarray(rec.curves["bo_values"], dtype=float)
            ax.plot(np.arange(v.size), v, "o", label="trial (tuning seed)")
            ax.plot(np.arange(v.size), np.fmax.accumulate(v), "-", label="best so far")
            for m, ls in (("mopo-default", "--"), ("bc", ":")):
                e = _episodes(results, t, m)
                if e.size:
                    ax.axhline(e.mean(), ls=ls, color="k", lw=0.9, label=f"{m} (evaluation seeds)")
            ax.axvline(int(SETTINGS["bo_initial"]) - 0.5, color="grey", lw=0.6)
            ax.set_title(f"{t}: GP-BO trace (grey line: end of the Sobol design)", fontsize=8)
            ax.set_xlabel("trial")
            ax.set_ylabel("true mean return")
            ax.legend(fontsize=6)
        paths.append(save_figure(fig, out / "offline_mbrl_bo_trace.png"))
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    methods = [m for m in ("mopo-bo", "mopo-default", "bc", "d3rlpy-bc") if any(_episodes(results, t, m).size
                                                                               for t in TASKS)]
    width = 0.8 / max(1, len(methods))
    for k, m in enumerate(methods):
        means, ses = [], []
        for t in TASKS:
            e = _episodes(results, t, m)
            means.append(e.mean() if e.size else math.nan)
            ses.append(e.std(ddof=1) / math.sqrt(e.size) if e.size > 1 else 0.0)
        ax.bar(np.arange(len(TASKS)) + k * width, means, width, yerr=ses, label=m)
    ax.set_xticks(np.arange(len(TASKS)) + width * (len(methods) - 1) / 2, TASKS)
    ax.set_ylabel("true return (higher is better)")
    ax.legend(fontsize=7)
    ax.set_title("True return per dataset (evaluation seeds)")
    paths.append(save_figure(fig, out / "offline_mbrl_returns.png"))
    return paths


def grid(scale: str) -> list[tuple[str, str]]:
    """The d3rlpy cross-check runs at full scale only."""
    return [(t, m) for t in TASKS for m in METHODS if scale == "full" or m != "d3rlpy-bc"]


NOTES = """\
**Setup.** VelocityPendulum (Pendulum-v1 dynamics, 100 steps, start angle uniform, speed in
[−1, 1]); two datasets of 100 episodes (10,000 transitions): *random* (uniform random actions) and
*mixed* (scripted swing-up controllers, careless to careful, noise 0.1 or 0.3, 20% random
episodes). One ensemble of 10 Gaussian members (2×128 swish, MOPO's loss and learned log-variance
bounds, bootstrap minibatches, at most 15 epochs with held-out early stopping, 5 elites) per
dataset and seed; a configuration with N members uses the first N and the 5 best of them (held-out
error) as elites, so N varies without refitting. MOPO: 2,000 SAC updates (2×64 networks, Adam 1e-3,
batch 256, 5% real data), 400 rollouts from dataset states every 250 updates, the last 4 rounds
kept. BC: 1,000 steps, same width and rate. True returns: the undiscounted 100-step return in the
simulator, 20 episodes per seed from the seed's initial states (every method meets the same ones),
2 seeds (0, 1). Calibration: 200 model rollouts of 10 steps under BC and under an out-of-distribution
policy (full torque along the motion: it pumps the pendulum to the speed clip, far from both
datasets), the heuristics over all 10 members,
the error ‖s'_true − μ̄‖₂ with μ̄ the mean of the 10 member means.

**Scale.** The paper tunes with 16 trials of full MOPO runs on D4RL; here 10 trials of about 16 s
(one idle core) per dataset, 5 of them the Sobol initial design, then expected improvement under
the GP. The quick scale (3 trials, a 7-member 2×16 ensemble, 100 updates) checks that the pipeline
runs; its verdict means nothing.

**Pilots and what they changed** (thresholds unchanged throughout). (a) The first design used the
unpenalized MBPO policy (λ = 0, trained in the same model) as the out-of-distribution policy, as the
paper's protocol does. Its model rollouts were not out of distribution here: their mean true error
equalled BC's (0.007 on *random*, 0.011 vs 0.010 on *mixed*) and the disagreement heuristics' ρ
was 0.03–0.39. The OOD policy became the scripted energy pump (true error about twice BC's), which
is an openly stated change made after seeing pilot numbers; it makes criterion 2 easier to meet
for the disagreement heuristics and did not help max aleatoric (ρ −0.08 on *mixed* in the pilot).
(b) Scale. A pilot at 2,000 SAC updates with batch 256 and a 2×128 ensemble (seed 0) gave
MOPO's default a true return of −37 (*random*) and −34 (*mixed*) against BC's −63 and −62: MOPO
learns the swing-up at that budget, so it is the full scale. A first full run, made while the
machine's load average was 13–17, was cut to 1,200 updates, batch 128 and a 2×64 ensemble (about
3× cheaper); there no MOPO configuration learned the swing-up (every BO trial returned −68 to −88
on the tuning seed), and the BO lines failed: true returns BO / default / BC −65.1 / −65.6 / −62.5
on *random* and −76.4 / −66.2 / −62.2 on *mixed* (7 of 14 checks passed). That run was replaced by
this one at the pilot's scale on an idle machine, with nothing else changed (designs, thresholds,
seeds and the search space are the same); both are reported so that the change is visible. The
claim's BO lines evidently depend on MOPO being trained long enough for its hyperparameters to matter.

**Reading the result.** Three things in the tables matter for what the verdict means. First, at
2,000 updates MOPO learns the swing-up (compare its returns with BC's), and the BO configurations
use rollouts of 17–18 steps where MOPO's default uses 5, the paper's finding that tuned rollouts are
longer; at the smaller budget of the first full run (above) the BO lines failed, so the claim is
about a MOPO trained long enough. Second, the study's best trial is the maximum of ten noisy
values, so its tuning-seed return can overstate what the configuration earns on fresh seeds and
states (compare the tuning table with the returns table): the disjoint evaluation is what the
verdict uses. Third, the calibration result does not depend on the policy budget: under the
out-of-distribution policy the disagreement heuristics rank the true error well (ρ ≈ 0.6) while
MOPO's max aleatoric ranks it less well or not at all (it measures the noise the model believes is
in the data, which is not where it is wrong), and under BC rollouts, which stay near the data,
every heuristic's ρ is small — on in-distribution pairs the error is mostly irreducible fit noise
that no ensemble statistic predicts. Adding the reward column (MOPO's code) hurts most heuristics
(sensitivity table).

**Deviations.** Our task and datasets replace D4RL MuJoCo; the heuristics use the next state only
([s', r] in the sensitivity table); ensemble var is averaged over dimensions; max pairwise diff is
exact (OfflineRL-Kit's code takes the largest deviation from the mean). LL variance scores the next
state the rollout moved to. Rollout rows that leave the dataset's observation box widened by its
range stop early (our tasks have no termination function). Criterion 1's lower bound counts the 200
rollouts, not the correlated steps, as independent units.
"""

REPRODUCTION = Reproduction(
    name="offline-mbrl",
    paper=Paper(
        title="Revisiting Design Choices in Offline Model-Based Reinforcement Learning",
        year=2022,
        url="https://arxiv.org/abs/2110.04135",
    ),
    claim=("Selecting these key hyperparameters using Bayesian Optimization produces superior configurations that "
           "are vastly different to those currently used in existing hand-tuned state-of-the-art methods, and "
           "result in drastically stronger performance."),
    tasks=TASKS,
    methods=METHODS,
    metrics=("return", "fit_cpu_seconds", "fit_seconds"),
    scales={
        "quick": Scale(seeds=1, settings={"episodes_data": 20, "max_members": 7, "sizes": [2, 4, 7], "ens_hidden": 16,
                                          "ens_epochs": 3, "steps": 60, "rollout_batch": 50, "rollout_every": 30,
                                          "bc_steps": 50, "calib_starts": 40, "calib_horizon": 5,
                                          "eval_episodes": 5, "bo_trials": 3, "bo_initial": 2, "bo_episodes": 3,
                                          "scatter_points": 50, "hidden": 16}),
        "full": Scale(seeds=2, settings={}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    grid=grid,
    notes=NOTES,
)
