"""Reproduction `ogsrl`: an out-of-distribution guardian for model-based safe offline RL, on a glucose model.

Paper: Yan, Shen, Wachi, Gros, Zhao & Hu, "Offline Guarded Safe Reinforcement Learning for Medical
Treatment Optimization Strategies", NeurIPS 2025 (arXiv 2505.16242). The abstract claims that the OOD
guardian lets the policy "safely improve ... beyond clinician recommendations while ensuring that
state-action trajectories remain in-distribution", with a safety-cost constraint on physiological
boundaries. The paper's data (MIMIC-III sepsis) is credentialed and cannot be used here, so the task
is our glucose–insulin patient (`guardopt.problems.glucose.GlucoseInsulin`, insulin dosing every 30
minutes for a day, cost = hypo- or hyperglycaemia) with a noisy "clinician" dataset
(`collect_clinician_dataset`: 300 patient-days, noise 0.1, 20% of the days over-bolus or skipped
bolus). Unlike MIMIC, the true simulator is available, so every policy is evaluated in it.

Methods: the clinician (the behaviour policy itself, with its 20% mis-dosing days), BC (behaviour
cloning of the whole dataset), MB-PPO-Lag (model-based PPO-Lagrangian in a learned Gaussian ensemble,
no guardian) and GMB-PPO-Lag (the same with the KDE guardian: OGSRL, `guardopt.rl.OGSRL`). The
paper's optimizer is CPO; PPO-Lagrangian replaces it (allowed by the task's design; see
`guardopt.rl.ogsrl`). Both model-based methods use the same learned model, initial states, settings
and seeds; the guardian is the only difference.

Verdict lines (thresholds designed before any run; every line its own):

1. The guarded policy leaves the guardian's region (the reference KDE guardian, α = 0.05, fitted on
   the data) in ≤ 10% of its steps in the true simulator: Clopper–Pearson 95% *upper* bound over all
   steps of 3 seeds × 20 days.
2. The unguarded policy does so in ≥ 25% of its steps: Clopper–Pearson 95% *lower* bound.
3. The guarded policy's true cost rate (steps in hypo- or hyperglycaemia) ≤ the limit κ/48 = 5/48
   (the patient's episode cost limit per step): Clopper–Pearson upper bound.
4. Its cost rate ≤ the clinician's: paired over the same 60 days (same initial glucose and meals),
   95% lower bound of (clinician − guarded) above −0.01 (a declared non-inferiority margin of one
   percentage point of steps).
5. Its time in range (70–180 mg/dL) ≥ the clinician's: paired over the 60 days, 95% lower bound of
   (guarded − clinician) above −0.02.
6. Its gap between the model-estimated and the true return is smaller than the unguarded policy's:
   per day, |model return − true return| from the same initial state; paired over the 60 days,
   95% lower bound of (unguarded gap − guarded gap) above 0.

Steps within a day are correlated, so the Clopper–Pearson bounds over steps are narrower than a
day-level bound would be; the report also gives the per-seed rates.

How the rules of ``docs/reproduce.md`` are met. *Claim as stated*: lines 1–2 are "remain
in-distribution", 3–4 the safety constraint and "safe", 5 "improve beyond clinician
recommendations", 6 the reason the abstract gives (no drift into unsupported trajectories where the
model is wrong). *Paper's settings*: the released code's guardian (Gaussian KDE on features scaled
to [−1, 1], σ = 0.535, 5th-percentile threshold), its networks (2×128 tanh, log-std −0.5, value lr
1e-3), GAE (0.95, 0.99), 32 simulated episodes per iteration from real initial states, and its guard
(penalty and freeze; the penalty is twice the worst per-step reward of the data, as the code's 25 is
twice its worst clipped reward 12.5). Our choices, listed in the report: PPO-Lag for CPO, a Gaussian
ensemble's elite means for the code's nearest-neighbour model, a behaviour-cloning warm start for
both model-based policies (the code's 20k iterations do not fit), the OOD cost charged once per
guarded episode, 40 iterations. The PSoS guardian (the paper's text) runs as a sensitivity line and
never enters the verdict. *Baselines tuned*: nothing is tuned — MB-PPO-Lag shares every setting with
GMB-PPO-Lag, and BC and the clinician have no knob — so every method has the same (zero) tuning
budget (the tuning table says so). *No best-of*: one configuration per method. *Strict criteria*:
upper bounds for "at most", lower bounds for "at least" and for gains. *Negative control*: GMB-PPO-Lag
with a guardian that admits everything (α = 0) is trained in its own cells, and
`tests/reproduce/test_reproduce_ogsrl.py` shows that line 1 FAILS for it. *Third-party
cross-check*: at full scale each method's seed-0 policy is also run on three adult patients of
simglucose (the UVA/Padova simulator, a model nobody here wrote), reporting time in range and
hypo/hyperglycaemia; "not run" when simglucose is not importable.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.resources
import importlib.util
import json
import math
import os
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from guardopt.core.seeding import derive_seed
from guardopt.reproduce.criteria import paired_gain, rate_above, rate_at_most, vacuous
from guardopt.reproduce.spec import Cell, CellResult, Evidence, Paper, Reproduction, Results, Scale, Verdict
from guardopt.reproduce.tables import format_mean_se
from guardopt.reproduce.threads import torch_threads as _torch_threads

TASK = "GlucoseInsulin"
TASKS = (TASK,)
GUARDED = "gmb-ppo-lag"
UNGUARDED = "mb-ppo-lag"
ADMIT_ALL = "gmb-ppo-lag-admit-all"  # negative control: a guardian with α = 0
PSOS = "gmb-ppo-lag-psos"  # sensitivity: the paper's polynomial sublevel set instead of the code's KDE
METHODS = ("clinician", "bc", UNGUARDED, GUARDED, ADMIT_ALL, PSOS)
STEPS_PER_DAY = 48
COST_RATE_LIMIT = 5.0 / STEPS_PER_DAY  # GlucoseInsulin.cost_limit per day, as a rate per step
OOD_GUARDED_MAX = 0.10
OOD_UNGUARDED_MIN = 0.25
COST_MARGIN = 0.01
TIR_MARGIN = 0.02
SIMGLUCOSE_PATIENTS = ("adult#001", "adult#002", "adult#003")

SETTINGS: dict[str, Any] = {
    "days": 300,
    "data_seed": 0,
    "misdosing_fraction": 0.2,
    "noise": 0.1,
    "model_members": 5,
    "model_elites": 3,
    "model_hidden": 128,
    "model_epochs": 20,
    "guardian_points": 5000,
    "iterations": 40,
    "episodes": 32,
    "ppo_epochs": 4,
    "minibatch": 512,
    "warm_start_steps": 500,
    "bc_steps": 1000,
    "eval_days": 20,
    "simglucose": False,
    "torch_threads": 1,
}



def _seed(seed: int, *parts: str) -> int:
    return int(derive_seed(seed, *parts) or 0)


@functools.lru_cache(maxsize=4)
def _dataset(days: int, seed: int, misdosing: float, noise: float) -> dict[str, np.ndarray]:
    from guardopt.problems.glucose import collect_clinician_dataset

    return collect_clinician_dataset(days, seed, misdosing, noise)


def _data(s: dict[str, Any]) -> dict[str, np.ndarray]:
    return _dataset(int(s["days"]), int(s["data_seed"]), float(s["misdosing_fraction"]), float(s["noise"]))


@functools.lru_cache(maxsize=8)
def _guardian_cached(kind: str, alpha: float, points: int, key: str) -> Any:
    from guardopt.rl.guardian import Guardian, GuardianConfig

    s = json.loads(key)
    d = _data(s)
    return Guardian(GuardianConfig(kind=kind, alpha=alpha, max_points=points)).fit(d["observations"], d["actions"])


def _guardian(s: dict[str, Any], kind: str = "kde", alpha: float = 0.05) -> Any:
    key = json.dumps({k: s[k] for k in ("days", "data_seed", "misdosing_fraction", "noise")}, sort_keys=True)
    return _guardian_cached(kind, alpha, int(s["guardian_points"]), key)


def _model(s: dict[str, Any], seed: int) -> Any:
    """The seed's dynamics ensemble, trained once per machine (the model-based methods of one seed
    run in parallel workers: the first trains it under a file lock, the others load it)."""
    from guardopt.rl import DynamicsConfig, GaussianEnsemble

    cfg = DynamicsConfig(members=int(s["model_members"]), elites=int(s["model_elites"]),
                         hidden=int(s["model_hidden"]), max_epochs=int(s["model_epochs"]))
    key_src = json.dumps({k: s[k] for k in ("days", "data_seed", "misdosing_fraction", "noise", "model_members",
                                            "model_elites", "model_hidden", "model_epochs")}, sort_keys=True)
    key = hashlib.sha256(f"{MODEL_VERSION}|{seed}|{key_src}".encode()).hexdigest()[:20]
    folder = Path(tempfile.gettempdir()) / "guardopt-ogsrl-models"
    folder.mkdir(exist_ok=True)
    path = folder / f"{key}.pt"
    with open(folder / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            try:
                return GaussianEnsemble.load(path)
            except Exception:  # a truncated file from a killed run: retrain
                path.unlink(missing_ok=True)
        model = GaussianEnsemble(cfg).fit(_data(s), seed=_seed(seed, "model"))
        tmp = path.with_suffix(".tmp")
        model.save(tmp)
        tmp.replace(path)
        return model


MODEL_VERSION = 1


def model_step_fn(model: Any) -> Callable[[np.ndarray, np.ndarray, np.random.Generator],
                                          tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The learned E-CMDP step: a random elite's mean next observation and reward; the clock features
    (sin, cos of the time of day) advance exactly, glucose stays ≥ 10 mg/dL as in the simulator, and
    the cost is the physiological boundary 1[G < 70 or G > 250] applied to the predicted glucose."""
    step = 2.0 * np.pi / STEPS_PER_DAY

    def model_step(obs: np.ndarray, act: np.ndarray, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s2, r, _, _ = model.step(obs, act, rng, deterministic=True)
        phase = np.arctan2(obs[:, 3], obs[:, 4]) + step
        s2[:, 3], s2[:, 4] = np.sin(phase), np.cos(phase)
        s2[:, 0] = np.maximum(s2[:, 0], 0.1)
        s2[:, 5] = np.maximum(s2[:, 5], 0.0)
        g = s2[:, 0] * 100.0
        return s2, r, ((g < 70.0) | (g > 250.0)).astype(float)

    return model_step


def _behaviours(days: int, fraction: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mis = rng.random(days) < fraction
    return np.where(mis, 1 + (rng.random(days) < 0.5), 0)


def true_evaluation(policy: Callable[[np.ndarray], np.ndarray], days: int, seed: int, guardian: Any
                    ) -> dict[str, np.ndarray]:
    """Run ``policy`` for ``days`` days in the true `GlucoseInsulin`; per-day arrays and day 0's trace."""
    from guardopt.problems.glucose import GlucoseInsulin

    env = GlucoseInsulin(num_envs=days)
    obs, _ = env.reset(seed=seed)
    out: dict[str, Any] = {"initial_obs": obs.copy()}
    ret, cost, ood, tir, hypo, hyper = (np.zeros(days) for _ in range(6))
    trace_g, trace_u = [], []
    for _ in range(env.max_episode_steps):
        a = np.clip(np.asarray(policy(obs), dtype=float).reshape(days, 1), -1.0, 1.0)
        ood += ~guardian.contains(obs, a)
        obs, r, _, _, info = env.step(a)
        g = obs[:, 0] * 100.0
        ret += r
        cost += info["cost"]
        tir += (g >= 70.0) & (g <= 180.0)
        hypo += g < 70.0
        hyper += g > 250.0
        trace_g.append(float(g[0]))
        trace_u.append(float((a[0, 0] + 1.0) / 2.0 * env.u_max))
    out.update({"return": ret, "cost_steps": cost, "ood_steps": ood, "tir": tir / STEPS_PER_DAY,
                "hypo": hypo / STEPS_PER_DAY, "hyper": hyper / STEPS_PER_DAY,
                "trace_g": np.array(trace_g), "trace_u": np.array(trace_u)})
    return out


# --------------------------------------------------------------------------------------------------
# simglucose (third-party simulator) check
# --------------------------------------------------------------------------------------------------


def _import_simglucose() -> Any:
    """Import simglucose's patient model, or return None. simglucose 0.2.11 imports the removed
    ``pkg_resources`` only for ``resource_filename``; a stand-in is put in place during the import
    when setuptools no longer ships it. ``GUARDOPT_SIMGLUCOSE_PATH`` names a private install
    (``pip install --no-deps --target DIR simglucose pathos pox ppft``), so its pinned dependencies
    never touch this environment."""
    extra = os.environ.get("GUARDOPT_SIMGLUCOSE_PATH", "")
    added = bool(extra) and Path(extra).is_dir() and extra not in sys.path
    if added:
        sys.path.append(extra)
    shim = importlib.util.find_spec("pkg_resources") is None
    try:
        if importlib.util.find_spec("simglucose") is None:
            return None
        if shim:
            mod = types.ModuleType("pkg_resources")
            mod.resource_filename = lambda pkg, rel: str(importlib.resources.files(pkg).joinpath(rel))  # type: ignore[attr-defined]
            sys.modules["pkg_resources"] = mod
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from simglucose.patient import t1dpatient
        return t1dpatient
    except Exception:
        return None
    finally:
        if shim:
            sys.modules.pop("pkg_resources", None)


def simglucose_day(policy: Callable[[np.ndarray], np.ndarray], patient_name: str, seed: int,
                   module: Any, u_max: float = 6.0) -> dict[str, float]:
    """One day (48 decisions of 30 minutes) of ``policy`` on a simglucose patient.

    Feature map from the UVA/Padova patient to our observation: G = the subcutaneous glucose
    ``Gsub`` (mg/dL; a noise-free CGM), ΔG = its change over the last 30 minutes, insulin on board =
    our boluses decayed with the same 2-hour constant as in `GlucoseInsulin`, the clock features,
    and the grams of the meal announced for the next step (meals at 7:00, 12:00, 18:00, 40–80 g,
    drawn from ``seed``). The action (a bolus of 0–``u_max`` units) is delivered during the first
    minute of the step on top of the patient's own basal rate (u2ss·BW/6000 U/min, as simglucose's
    basal-bolus controller). The ODE runs minute by minute while the patient eats and in one
    integration for the rest of the step.
    """
    rng = np.random.default_rng(seed)
    meals = rng.uniform(40.0, 80.0, 3)
    meal_steps = (14, 24, 36)
    patient = module.T1DPatient.withName(patient_name)
    action_cls = module.Action
    basal = float(patient._params.u2ss) * float(patient._params.BW) / 6000.0
    g_prev = g = float(patient.observation.Gsub)
    iob = 0.0
    readings = []
    for t in range(STEPS_PER_DAY):
        phase = 2 * np.pi * t / STEPS_PER_DAY
        announced = next((meals[j] for j, m in enumerate(meal_steps) if t + 1 == m), 0.0)
        obs = np.array([[g / 100.0, (g - g_prev) / 100.0, iob, math.sin(phase), math.cos(phase), announced / 100.0]])
        a = float(np.clip(np.asarray(policy(obs), dtype=float).reshape(-1)[0], -1.0, 1.0))
        u = (a + 1.0) / 2.0 * u_max
        meal = next((float(meals[j]) for j, m in enumerate(meal_steps) if t == m), 0.0)
        minutes = 0
        patient.SAMPLE_TIME = 1
        patient.step(action_cls(CHO=meal, insulin=basal + u))  # pass floats: arrays crash its ODE
        minutes += 1
        while (patient.is_eating or patient.planned_meal > 0) and minutes < 30:
            patient.step(action_cls(CHO=0.0, insulin=basal))
            minutes += 1
        if minutes < 30:
            patient.SAMPLE_TIME = 30 - minutes
            patient.step(action_cls(CHO=0.0, insulin=basal))
        patient.SAMPLE_TIME = 1
        iob = iob * math.exp(-30.0 / 120.0) + u
        g_prev, g = g, float(patient.observation.Gsub)
        readings.append(g)
    r = np.asarray(readings)
    return {"tir": float(((r >= 70) & (r <= 180)).mean()), "hypo": float((r < 70).mean()),
            "hyper": float((r > 250).mean()), "mean_g": float(r.mean())}


def _simglucose_metrics(policy: Callable[[np.ndarray], np.ndarray], seed: int) -> tuple[dict[str, float],
                                                                                          dict[str, list[float]]]:
    module = _import_simglucose()
    if module is None:
        return {"sg_installed": 0.0}, {}
    rows = [simglucose_day(policy, p, _seed(seed, "simglucose", p), module) for p in SIMGLUCOSE_PATIENTS]
    metrics = {"sg_installed": 1.0}
    curves = {}
    for k in ("tir", "hypo", "hyper", "mean_g"):
        metrics[f"sg_{k}"] = float(np.mean([r[k] for r in rows]))
        curves[f"sg_{k}"] = [r[k] for r in rows]
    return metrics, curves


# --------------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------------


def run_cell(cell: Cell) -> CellResult:
    """Train one method on the clinician dataset and evaluate it for ``eval_days`` days in the true model."""
    import torch

    from guardopt.rl import BC, BCConfig
    from guardopt.rl.guardian import Guardian, GuardianConfig
    from guardopt.rl.ogsrl import OGSRL, OGSRLConfig

    s = {**SETTINGS, **dict(cell.settings)}
    torch.set_num_threads(_torch_threads(s))
    data = _data(s)
    reference = _guardian(s)
    eval_seed = _seed(cell.seed, "eval")
    days = int(s["eval_days"])
    metrics: dict[str, float] = {}
    curves: dict[str, list[float]] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    learner: Any = None
    policy: Callable[[np.ndarray], np.ndarray]
    if cell.method == "clinician":
        from guardopt.problems.glucose import clinician_action

        beh = _behaviours(days, float(s["misdosing_fraction"]), _seed(cell.seed, "behaviour"))
        rng = np.random.default_rng(_seed(cell.seed, "clinician-noise"))
        noise = float(s["noise"])

        def policy(obs: np.ndarray) -> np.ndarray:
            b = beh if len(obs) == len(beh) else np.zeros(len(obs), dtype=int)  # simglucose: careful days
            return clinician_action(obs, b, noise, rng)
    elif cell.method == "bc":
        learner = BC(BCConfig(mode="all", steps=int(s["bc_steps"]), hidden=128, lr=1e-3)).fit(data, seed=cell.seed)

        def policy(obs: np.ndarray) -> np.ndarray:
            return np.asarray(learner.act(obs))
    else:
        model = _model(s, cell.seed)
        step = model_step_fn(model)
        guardian: Any = None
        if cell.method == GUARDED:
            guardian = reference
        elif cell.method == ADMIT_ALL:
            guardian = Guardian(GuardianConfig(alpha=0.0, max_points=int(s["guardian_points"])))
            guardian.fit(data["observations"], data["actions"])
        elif cell.method == PSOS:
            guardian = _guardian(s, kind="psos")
        elif cell.method != UNGUARDED:
            raise KeyError(cell.method)
        penalty = 2.0 * float(np.abs(data["rewards"]).max())
        cfg = OGSRLConfig(iterations=int(s["iterations"]), episodes=int(s["episodes"]), epochs=int(s["ppo_epochs"]),
                          minibatch=int(s["minibatch"]), warm_start_steps=int(s["warm_start_steps"]),
                          ood_penalty=penalty, cost_limit=5.0)
        starts = data["observations"][:: STEPS_PER_DAY]  # the real initial states (one per patient-day)
        learner = OGSRL(cfg).fit(step, starts, act_dim=1, guardian=guardian, seed=_seed(cell.seed, "ppo"),
                                 reference_obs=data["observations"],
                                 behaviour=(data["observations"], data["actions"]))
        metrics["ood_penalty"] = penalty
        for k in ("model_return", "episode_cost", "guarded_episodes", "multiplier"):
            curves[f"train_{k}"] = [row[k] for row in learner.log]

        def policy(obs: np.ndarray) -> np.ndarray:
            return np.asarray(learner.act(obs))
    metrics["fit_seconds"] = time.perf_counter() - t0
    metrics["fit_cpu_seconds"] = time.process_time() - c0
    ev = true_evaluation(policy, days, eval_seed, reference)
    steps = days * STEPS_PER_DAY
    metrics.update({"return": float(ev["return"].mean()), "cost_rate": float(ev["cost_steps"].sum() / steps),
                    "tir": float(ev["tir"].mean()), "hypo": float(ev["hypo"].mean()),
                    "hyper": float(ev["hyper"].mean()), "ood_rate": float(ev["ood_steps"].sum() / steps),
                    "cost_steps": float(ev["cost_steps"].sum()), "ood_steps": float(ev["ood_steps"].sum()),
                    "steps": float(steps)})
    for k in ("return", "cost_steps", "ood_steps", "tir", "trace_g", "trace_u"):
        curves[k] = np.asarray(ev[k], dtype=float).tolist()
    if cell.method not in ("clinician",):
        model = _model(s, cell.seed)
        from guardopt.rl.ogsrl import guarded_rollout

        ro = guarded_rollout(lambda o, r: policy(o), model_step_fn(model), ev["initial_obs"], STEPS_PER_DAY,
                             np.random.default_rng(_seed(cell.seed, "model-eval")))
        model_ret = ro.rewards.sum(0)
        curves["model_return"] = model_ret.tolist()
        curves["abs_gap"] = np.abs(model_ret - ev["return"]).tolist()
        metrics["model_return"] = float(model_ret.mean())
        metrics["abs_gap"] = float(np.abs(model_ret - ev["return"]).mean())
    if bool(s["simglucose"]) and cell.seed == 0:
        m, c = _simglucose_metrics(policy, cell.seed)
        metrics.update(m)
        curves.update(c)
    return CellResult(metrics=metrics, curves=curves)


# --------------------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------------------


def _count(results: Results, method: str, metric: str) -> tuple[int, int]:
    k = results.metric(metric, TASK, method)
    n = results.metric("steps", TASK, method)
    ok = np.isfinite(k) & np.isfinite(n)
    return int(k[ok].sum()), int(n[ok].sum())


def _days(results: Results, method: str, curve: str) -> np.ndarray:
    c = results.curves(curve, TASK, method)
    return c.ravel() if c.size else np.zeros(0)


def ood_at_most(results: Results, method: str = GUARDED) -> Evidence:
    """(1) Fraction of true-simulator steps outside the reference guardian ≤ 10% (CP upper bound)."""
    k, n = _count(results, method, "ood_steps")
    check = f"(1) {method} leaves the guardian's region in <= {OOD_GUARDED_MAX:.0%} of steps (95% upper bound)"
    return rate_at_most(check, k, n, OOD_GUARDED_MAX)


def ood_above(results: Results, method: str = UNGUARDED) -> Evidence:
    """(2) The unguarded policy's fraction ≥ 25% (CP lower bound)."""
    k, n = _count(results, method, "ood_steps")
    check = f"(2) {method} leaves the guardian's region in >= {OOD_UNGUARDED_MIN:.0%} of steps (95% lower bound)"
    return rate_above(check, k, n, OOD_UNGUARDED_MIN)


def cost_at_most(results: Results, method: str = GUARDED) -> Evidence:
    """(3) True cost rate ≤ 5/48 per step (CP upper bound)."""
    k, n = _count(results, method, "cost_steps")
    return rate_at_most(f"(3) {method} true cost rate <= the limit 5/48 = {COST_RATE_LIMIT:.4f} (95% upper bound)",
                        k, n, COST_RATE_LIMIT)


def _paired_days(results: Results, ours: str, base: str, curve: str, check: str, margin: float,
                 higher_is_better: bool, scale: float = 1.0) -> Evidence:
    a, b = _days(results, ours, curve) * scale, _days(results, base, curve) * scale
    sa, sb = results.seeds(TASK, ours), results.seeds(TASK, base)
    if a.size == 0 or b.size == 0:
        return vacuous(check, "no days stored", threshold=margin)
    if sa != sb or a.size != b.size:
        return vacuous(check, f"unpaired days ({a.size} vs {b.size}; seeds {sa} vs {sb})", threshold=margin)
    return paired_gain(check, a, b, margin=margin, higher_is_better=higher_is_better)


def cost_vs_clinician(results: Results, method: str = GUARDED) -> Evidence:
    """(4) Paired per-day cost rate, clinician − ours, lower bound > −0.01."""
    return _paired_days(results, method, "clinician", "cost_steps",
                        f"(4) {method} cost rate <= the clinician's (paired days, margin {COST_MARGIN:g})",
                        -COST_MARGIN, higher_is_better=False, scale=1.0 / STEPS_PER_DAY)


def tir_vs_clinician(results: Results, method: str = GUARDED) -> Evidence:
    """(5) Paired per-day time in range, ours − clinician, lower bound > −0.02."""
    return _paired_days(results, method, "clinician", "tir",
                        f"(5) {method} time in range >= the clinician's (paired days, margin {TIR_MARGIN:g})",
                        -TIR_MARGIN, higher_is_better=True)


def gap_vs_unguarded(results: Results, method: str = GUARDED) -> Evidence:
    """(6) Paired per-day |model − true return|, unguarded − ours, lower bound > 0."""
    return _paired_days(results, method, UNGUARDED, "abs_gap",
                        f"(6) {method} |model-estimated - true return| smaller than {UNGUARDED}'s (paired days)",
                        0.0, higher_is_better=False)


def verdict(results: Results) -> Verdict:
    """Criteria (1)–(6) of the module docstring."""
    ev = [ood_at_most(results), ood_above(results), cost_at_most(results), cost_vs_clinician(results),
          tir_vs_clinician(results), gap_vs_unguarded(results)]
    passed = sum(e.counts_as_pass for e in ev)
    return Verdict.from_evidence(ev, f"{passed} of {len(ev)} checks pass")


def negative_control(results: Results) -> Verdict:
    """Criterion (1) for the policy trained with a guardian that admits everything (α = 0)."""
    return Verdict.from_evidence([ood_at_most(results, ADMIT_ALL)], "GMB-PPO-Lag with an admit-all guardian")


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _ms(v: np.ndarray, digits: int = 3) -> str:
    return format_mean_se(v, digits)


LABELS = {"clinician": "clinician (behaviour)", "bc": "BC", UNGUARDED: "MB-PPO-Lag (unguarded)",
          GUARDED: "GMB-PPO-Lag (OGSRL, KDE guardian)", ADMIT_ALL: "negative control: admit-all guardian (α = 0)",
          PSOS: "sensitivity: PSoS guardian (degree 2)"}


def extra_markdown(results: Results) -> str:
    """Main table, negative control, sensitivity, tuning, simglucose, settings."""
    f = results.metric
    lines = ["### True-simulator results per method (mean ± SE over seeds; 20 days per seed)", "",
             "| method | return | cost rate | time in range | hypo | hyper | outside guardian | model return | "
             "|model − true| per day |",
             "|---|---|---|---|---|---|---|---|---|"]
    for m in METHODS:
        if not results.seeds(TASK, m):
            continue
        lines.append(f"| {LABELS[m]} | {_ms(f('return', TASK, m), 2)} | {_ms(f('cost_rate', TASK, m))} | "
                     f"{_ms(f('tir', TASK, m))} | {_ms(f('hypo', TASK, m))} | {_ms(f('hyper', TASK, m))} | "
                     f"{_ms(f('ood_rate', TASK, m))} | {_ms(f('model_return', TASK, m), 2)} | "
                     f"{_ms(f('abs_gap', TASK, m), 2)} |")
    lines += ["", f"Cost limit {COST_RATE_LIMIT:.4f} per step (5 per day). \"Outside guardian\" uses the reference "
              "KDE guardian (α = 0.05) for every method, the clinician's own data included (5% of the data is outside "
              "by construction).", ""]
    per_seed = ["| method | seed | outside guardian | cost rate | time in range | mean bolus on day 1 [U/step] | "
                "simulated days guarded, last iteration |", "|---|---|---|---|---|---|---|"]
    for m in METHODS:
        for rec in (r for r in results.done if r.method == m):
            mt = rec.metrics
            dose = float(np.mean(rec.curves["trace_u"])) if "trace_u" in rec.curves else math.nan
            guarded = rec.curves.get("train_guarded_episodes", [])
            g_last = f"{guarded[-1]:.2f}" if len(guarded) else "–"
            per_seed.append(f"| {m} | {rec.seed} | {mt.get('ood_rate', math.nan):.3f} | "
                            f"{mt.get('cost_rate', math.nan):.3f} | {mt.get('tir', math.nan):.3f} | {dose:.2f} | "
                            f"{g_last} |")
    lines += ["### Per seed", "", *per_seed, ""]
    nc = negative_control(results)
    e = nc.evidence[0] if nc.evidence else None
    lines += [f"**Negative control** (GMB-PPO-Lag trained with a guardian whose threshold admits everything, α = 0; "
              f"criterion (1) measured with the reference guardian): **{nc.status.value}**"
              + (f" — upper bound {e.value:.3f} vs {OOD_GUARDED_MAX:g} ({e.detail})" if e is not None else ""), ""]
    lines += ["### Sensitivity to our choices (never in the verdict)", "",
              "| variant | outside guardian | cost rate | time in range | return |", "|---|---|---|---|---|"]
    for m in (GUARDED, PSOS):
        if results.seeds(TASK, m):
            lines.append(f"| {LABELS[m]} | {_ms(f('ood_rate', TASK, m))} | {_ms(f('cost_rate', TASK, m))} | "
                         f"{_ms(f('tir', TASK, m))} | {_ms(f('return', TASK, m), 2)} |")
    if results.seeds(TASK, PSOS):
        lines += ["", "Criterion (1) with the PSoS guardian's policy (measured with the reference KDE guardian): "
                  f"{ood_at_most(results, PSOS).value:.3f} (upper bound)."]
    lines += ["", "Other choices of ours, fixed and not varied here: PPO-Lagrangian for CPO; the ensemble's elite "
              "means (a random elite per step) instead of Gaussian draws — in a pilot the drawn meal-announcement "
              "noise put 6% "
              "of the behaviour-cloned policy's model steps outside the guardian against 0% with the means; a "
              "behaviour-cloning warm start of both model-based policies; the OOD cost charged once per guarded "
              "episode (repeating it on every frozen step pinned the multiplier at its cap in a pilot).", ""]
    lines += ["### Tuning", "", "| method | knob | budget |", "|---|---|---|",
              "| clinician | none (the behaviour policy) | 0 |", "| BC | none | 0 |",
              "| MB-PPO-Lag | none: every setting shared with GMB-PPO-Lag | 0 |",
              "| GMB-PPO-Lag | none: the released code's settings | 0 |", ""]
    lines += ["### simglucose cross-check (UVA/Padova adult patients #001–#003, one day each, seed-0 policies)", "",
              "| method | time in range | hypo (< 70) | hyper (> 250) | mean glucose |", "|---|---|---|---|---|"]
    installed = f("sg_installed")
    if installed.size == 0 or not np.any(installed > 0):
        why = ("not run at this scale" if installed.size == 0 else "not run: simglucose is not importable here")
        lines.append(f"| – | {why} | – | – | – |")
    else:
        for m in METHODS:
            r = [x for x in results.done if x.method == m and "sg_tir" in x.metrics]
            if r:
                mt = r[0].metrics
                lines.append(f"| {LABELS[m]} | {mt['sg_tir']:.3f} | {mt['sg_hypo']:.3f} | {mt['sg_hyper']:.3f} | "
                             f"{mt['sg_mean_g']:.1f} |")
        lines += ["", "Every policy was trained on our minimal model only. Feature map: G = subcutaneous glucose, ΔG "
                  "over 30 min, our insulin-on-board bookkeeping, clock, announced meal; the bolus is given in the "
                  "first minute of each 30-minute step on top of the patient's basal rate. The clinician runs its "
                  "careful rule (with its dosing noise) there, without mis-dosing days."]
    scales = {k: dict(v.settings) for k, v in REPRODUCTION.scales.items()}
    lines += ["", "Settings: `" + json.dumps(SETTINGS) + "`; per scale: `" + json.dumps(scales) + "`", ""]
    return "\n".join(lines)


def plots(results: Results, outdir: Path) -> list[Path]:
    """Glucose traces of one day per method, OOD and cost bars, model-vs-true return."""
    from guardopt.reproduce.plotting import pyplot, save_figure

    plt = pyplot()
    out = Path(outdir)
    paths = []
    shown = [m for m in METHODS if results.seeds(TASK, m)]
    fig, ax = plt.subplots(figsize=(8, 4))
    hours = np.arange(1, STEPS_PER_DAY + 1) / 2.0
    for m in shown:
        rec = next((r for r in results.done if r.method == m and "trace_g" in r.curves), None)
        if rec is not None:
            ax.plot(hours, rec.curves["trace_g"], label=LABELS[m], lw=1.2)
    ax.axhspan(70, 180, color="g", alpha=0.08)
    ax.axhline(70, color="r", ls="--", lw=0.8)
    ax.axhline(250, color="r", ls="--", lw=0.8)
    ax.set_xlabel("hour of the day")
    ax.set_ylabel("glucose [mg/dL]")
    ax.set_title("Day 1 of the first seed, true simulator (green: range 70–180; red: cost boundaries)", fontsize=9)
    ax.legend(fontsize=6)
    paths.append(save_figure(fig, out / "ogsrl_glucose_traces.png"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    x = np.arange(len(shown))
    for ax, metric, limit, title in ((axes[0], "ood_rate", OOD_GUARDED_MAX, "fraction of steps outside the guardian"),
                                     (axes[1], "cost_rate", COST_RATE_LIMIT, "true cost rate (hypo or hyper)")):
        vals = [results.metric(metric, TASK, m) for m in shown]
        ax.bar(x, [np.nanmean(v) for v in vals], yerr=[np.nanstd(v) for v in vals], color="tab:blue", alpha=0.7)
        ax.axhline(limit, color="k", ls="--", lw=0.8)
        ax.set_xticks(x)
        ax.set_xticklabels(shown, rotation=30, ha="right", fontsize=7)
        ax.set_title(title, fontsize=9)
    paths.append(save_figure(fig, out / "ogsrl_ood_cost.png"))
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for m in shown:
        mr, tr = _days(results, m, "model_return"), _days(results, m, "return")
        if mr.size and mr.size == tr.size:
            ax.scatter(tr, mr, s=10, alpha=0.6, label=LABELS[m])
    lo, hi = ax.get_xlim()
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
    ax.set_xlabel("true return (one day)")
    ax.set_ylabel("model-estimated return (same initial state)")
    ax.set_title("Model vs true return per day (diagonal: no gap)", fontsize=9)
    ax.legend(fontsize=6)
    paths.append(save_figure(fig, out / "ogsrl_model_vs_true.png"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for m in (UNGUARDED, GUARDED, PSOS):
        for curve, ax in (("train_guarded_episodes", axes[0]), ("train_model_return", axes[1])):
            c = results.curves(curve, TASK, m)
            if c.size:
                ax.plot(np.nanmean(c, axis=0), label=LABELS[m])
    axes[0].set_title("share of simulated days the guard froze", fontsize=9)
    axes[1].set_title("simulated return with the guard's penalties", fontsize=9)
    for ax in axes:
        ax.set_xlabel("policy iteration")
        ax.legend(fontsize=6)
    paths.append(save_figure(fig, out / "ogsrl_training.png"))
    return paths


def grid(scale: str) -> list[tuple[str, str]]:
    """The PSoS sensitivity variant runs at full scale only."""
    return [(TASK, m) for m in METHODS if scale == "full" or m != PSOS]


NOTES = """\
**Setup.** `GlucoseInsulin` (Bergman minimal model, 48 decisions of 30 minutes a day, insulin bolus
0–6 U, reward −|G − 110|/100, cost 1[G < 70 or G > 250]). Data: 300 patient-days of the noisy
clinician (careful basal-bolus rule on 80% of the days, over-bolus or skipped bolus on 20%, noise 0.1
on the normalized dose), 14,400 transitions. Model: a Gaussian ensemble (5 members, 3 elites, 2×128)
trained once per seed and shared by every model-based method of that seed. Guardian: Gaussian KDE on
(s, a) scaled to [−1, 1], σ = 0.535, threshold at the 5th percentile of 5,000 training points'
log-densities. Policy optimization: 40 iterations × 32 simulated days from real initial states, PPO
(4 passes, minibatch 512, clip 0.2) with a Lagrange multiplier on the expected day cost (limit 5),
warm-started by 500 behaviour-cloning steps. Evaluation: 20 days per seed in the true simulator, the
same initial states and meals for every method of a seed; 3 seeds.

**Calibration.** The thresholds (10%, 25%, 5/48, the 0.01 and 0.02 non-inferiority margins, gap
gain > 0) were set before the runs. Pilots (one seed) changed our own choices, not thresholds: the
model steps use the elite means (drawn Gaussian noise on the meal announcement pushed 6% of a
behaviour-cloned policy's model steps outside the guardian, 0% with means); the OOD cost is charged
once per guarded day (repeating it on every frozen step pinned the multiplier at its cap, and the
policy then optimized the guard alone); a behaviour-cloning warm start (from a random policy, 80
iterations left 75–100% of simulated days guarded). The pilot also showed why the guard is hard to
satisfy over a day: the threshold leaves 5% of the data's own steps outside, so even the clinician
trips it at least once on most simulated days; only a policy that stays in the data's dense core
escapes the freeze.

**Reading the result.** The per-seed table and the training figure show the mechanism. The guard's
penalty (twice the worst per-step reward, repeated on every frozen step) outweighs the reward, so the
guarded policy's first goal is not to trip the guard, and the surest way is the action the data holds
most often: no bolus (the careful clinician gives none between meals). The guarded policy gives
little insulin (on day 1, about 0.05 U per step on two seeds and 0.75 on the third, against the
clinician's 0.9–1.05 and the unguarded policy's about 2); in the model this looks acceptable
(the share of guarded simulated days falls from about 60–70% at the start to 0–16% at the last
iteration, and the model return approaches the clinician's), but the model is optimistic about
days without insulin, which are rare in the data (the skipped-bolus days), and in the true patient
the policy is hyperglycaemic. Those hyperglycaemic states are also beyond the
data, so it leaves the guardian's region more in the true patient than in the model. The unguarded
policy doses more than the clinician, leaves the guardian's region often and exploits the model
mildly. The admit-all control is identical to the unguarded policy, as it must be (a guardian that
admits everything never fires, and the seeds are shared): criterion (1) FAILS for it. The PSoS
guardian (degree 2) froze nearly every simulated day throughout training. All of this is at 40
policy iterations, 500 times fewer than the released code's 20,000; the verdict says nothing about
OGSRL at that scale.

**Deviations.** MIMIC-III sepsis is replaced by a simulated patient; PPO-Lagrangian replaces CPO; a
Gaussian ensemble replaces the released code's nearest-neighbour model; one multiplier for the
safety and OOD costs together (as the code; the paper writes two constraints); 40 iterations instead
of 20,000. The clinician's mis-dosing days are part of "the clinician" in criteria (4) and (5), as
the paper compares with the recorded clinician decisions.
"""

REPRODUCTION = Reproduction(
    name="ogsrl",
    paper=Paper(
        title="Offline Guarded Safe Reinforcement Learning for Medical Treatment Optimization Strategies",
        year=2025,
        url="https://arxiv.org/abs/2505.16242",
    ),
    claim=("To safely improve policy beyond clinician recommendations while ensuring that state-action trajectories "
           "remain in-distribution, OGSRL introduces an OOD guardian that constrains optimization within clinically "
           "validated regions, and a safety cost constraint that encodes physiological safety boundaries."),
    tasks=TASKS,
    methods=METHODS,
    metrics=("return", "cost_rate", "tir", "ood_rate", "abs_gap", "fit_seconds"),
    scales={
        "quick": Scale(seeds=1, settings={"days": 60, "model_epochs": 3, "model_members": 3, "model_elites": 2,
                                          "model_hidden": 64, "guardian_points": 800, "iterations": 2,
                                          "episodes": 8, "ppo_epochs": 1, "warm_start_steps": 50, "bc_steps": 100,
                                          "eval_days": 5}),
        "full": Scale(seeds=3, settings={"simglucose": True}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    grid=grid,
    notes=NOTES,
)
