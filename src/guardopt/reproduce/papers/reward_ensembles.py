"""Reproduction `reward-ensembles`: conservative ensemble objectives against best-of-n and PPO over-optimization.

Paper: Coste, Anwar, Kirk & Krueger (2024), "Reward Model Ensembles Help Mitigate Overoptimization",
ICLR 2024, arXiv 2310.02743. The abstract's claims: both with and without label noise, conservative
optimization (worst-case WCO, uncertainty-weighted UWO) "practically eliminates overoptimization and
improves performance by up to 70% for BoN sampling"; "for PPO, ensemble-based conservative optimization
always reduces overoptimization and outperforms single reward model optimization", and combined with a
small KL penalty it "successfully prevents overoptimization at no performance cost". Tested in a
synthetic gold-reward setup (`guardopt.problems.gold_reward`) with five reward models that differ only in
their seed, at 25% label noise and without noise; PPO is `guardopt.offline.ppo` (a Gaussian response
policy started at the setup's reference policy).

How the verdict follows the rules of ``docs/reproduce.md``:

1. *The claim as stated.* Best-of-n, per label-noise level and conservative combiner (WCO, UWO):
   (a) "practically eliminates over-optimization": the gold score at the largest n has lost at most
   `ELIMINATE_TOL` (10%) of best-of-n's gain (peak gold − gold at n = 1), on the 95% upper bound of
   the mean over seeds; (b) "improves performance": the paired gold gain over a single reward model
   at the largest n has a 95% lower bound above 0. PPO, in every setting tried (both noise levels, β = 0
   and β = 0.01), per conservative objective: (a) "always reduces over-optimization": the gold drop from
   the run's peak to its last update is below single-RM PPO's (paired lower bound > 0); (b) "outperforms
   single reward model optimization": final gold above single-RM PPO's (paired lower bound > 0); and with
   β = 0.01, (c1) "prevents over-optimization": the share of the run's gold gain lost from its peak,
   95% upper bound ≤ `PPO_DROP_TOL` (10%), and (c2) "at no performance cost": the final gold is not
   below the no-KL run's *peak* gold (the stricter reading: the penalty costs nothing against the best
   the objective reached without it), up to `PPO_NO_COST_TOL` (10%) of that run's gain, on the paired
   lower bound. Tolerances are declared here, before any run. The "up to 70%" size stays INCONCLUSIVE.
2. *The paper's settings.* Five members; best-of-n: UWO λ = 0.5 with the population variance, n up to
   4096. PPO: the authors' clip range 0.2, 4 PPO epochs, UWO λ = 0.1 with the unbiased variance of their
   ``torch.var`` (λ·k/(k − 1) on the population variance), KL coefficients 0 and 0.01 folded into the
   reward as trlx does; "single" is one member. Our choices (the paper's are for a 1.4B-parameter
   policy): 100 updates of 256 responses, 2 minibatches, Adam lr 0.002 on the policy's mean and
   log-scale, whitened advantages; β = 0.1 (the default of the authors' PPO configuration) and lr
   0.001 / 0.004 are in a sensitivity table outside the verdict. (The authors' code defaults differ from
   the paper's runs: its PPO configuration sets ``init_kl_coef = 0.1`` and its UWO function ``coeff = 1``;
   the paper's PPO experiments use β ∈ {0, 0.01} and its RL configuration λ = 0.1, which we follow. Its
   learning rate 1e-6 is for a language model's weights and has no meaning for a 20-parameter policy.)
3. *Baselines.* Best-of-n has no knob to tune. PPO: no learning rate is tuned for any objective; as in
   the paper, every objective runs with one PPO setting and the same number of sampled responses (an
   `equal_budget` line checks it), on the same members and the same random draws per seed. The learning
   rate was set in a pilot (seeds 0–2, 25% noise; not a search over the claim's numbers) so that single-RM
   PPO both rises and over-optimizes within 100 updates; its effect is in the sensitivity table.
4. *No best-of.* WCO and UWO each have their own lines per setting; the ensemble mean (not one of the
   paper's conservative objectives) is shown in the tables only.
5. *Strict criteria.* Paired differences over shared seeds with intervals (`paired_gain`; 20 seeds for
   best-of-n, 10 for PPO: the runner gives every task the scale's seed count, so PPO cells of seeds ≥ 10
   store ``ppo_run = 0`` and nothing else); tolerances tested on their upper (or lower) bound.
6. The claim is not a guarantee; unit tests show that a "conservative" combiner that is really a single
   model (best-of-n and PPO) makes the verdict FAIL.

The unbiased best-of-n estimator is checked against Monte-Carlo best-of-16 (an implementation check).
No third-party PPO cross-check: TRL, the maintained library that installs here, no longer ships PPO.
"""

from __future__ import annotations

import functools
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from guardopt.core.seeding import derive_seed
from guardopt.reproduce.criteria import equal_budget, inconclusive, paired_gain
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
from guardopt.reproduce.tables import format_mean_se
from guardopt.reproduce.threads import torch_threads as _torch_threads

# Task name -> label noise.
TASKS = ("label-noise-25", "label-noise-0")
NOISE = {"label-noise-25": 0.25, "label-noise-0": 0.0}
METHODS = ("uwo", "wco", "mean", "single")
GUARDS = ("wco", "uwo")
NS = tuple(2**i for i in range(13))  # 1 ... 4096
MC_N = 16
# "Practically eliminates over-optimization": at the largest n, the gold score is within 10% of
# best-of-n's gain (peak − n = 1) of its peak, on the 95% upper bound over seeds. Declared before the run.
ELIMINATE_TOL = 0.10
PAPER_MAX_IMPROVEMENT = 0.70


@dataclass(frozen=True)
class PPOTask:
    """One PPO setting: label noise, KL coefficient β, and a learning rate (None: the declared one)."""

    noise: float
    kl: float
    lr: float | None = None
    sensitivity: bool = False


# The paper's PPO settings: both noise levels, no KL penalty and its small one (β = 0.01).
PPO_KL_SMALL = 0.01
PPO_TASKS: dict[str, PPOTask] = {
    "ppo-noise-25-kl0": PPOTask(0.25, 0.0),
    "ppo-noise-25-kl0.01": PPOTask(0.25, PPO_KL_SMALL),
    "ppo-noise-0-kl0": PPOTask(0.0, 0.0),
    "ppo-noise-0-kl0.01": PPOTask(0.0, PPO_KL_SMALL),
    # Sensitivity (not in the verdict): the authors' code's default β (trlx init_kl_coef 0.1), and a
    # gentler / harder optimization (half / twice the declared learning rate).
    "ppo-noise-25-kl0.1": PPOTask(0.25, 0.1, sensitivity=True),
    "ppo-noise-25-kl0-lr0.001": PPOTask(0.25, 0.0, lr=0.001, sensitivity=True),
    "ppo-noise-25-kl0-lr0.004": PPOTask(0.25, 0.0, lr=0.004, sensitivity=True),
}
PPO_VERDICT_TASKS = tuple(t for t, spec in PPO_TASKS.items() if not spec.sensitivity)
PPO_NOISE_TASKS = {"label-noise-25": ("ppo-noise-25-kl0", "ppo-noise-25-kl0.01"),
                   "label-noise-0": ("ppo-noise-0-kl0", "ppo-noise-0-kl0.01")}
# "With a small KL penalty prevents over-optimization": the share of the run's gold gain lost from its
# peak by the last update, 95% upper bound ≤ 10% (the best-of-n tolerance). "At no performance cost":
# the final gold with the penalty is at least the no-KL run's PEAK gold (the paper: the penalty costs
# nothing relative to the best the objective reaches without it), up to 10% of that run's gain, on the
# one-sided 95% lower bound of the paired difference. Declared before the run.
PPO_DROP_TOL = 0.10
PPO_NO_COST_TOL = 0.10

SETTINGS: dict[str, Any] = {
    "dim": 10,
    "n_pairs": 3000,
    "members": 5,
    "hidden": [64, 64],
    "epochs": 30,
    "batch_size": 128,
    "prompts": 40,
    "samples": 4096,
    "uwo_lambda": 0.5,
    "mc_trials": 500,
    "mc_seeds": 4,
    "torch_threads": 1,
    # PPO (the paper: clip 0.2, 4 epochs, UWO λ = 0.1; the rest is ours, one setting for every objective).
    "ppo_seeds": 10,
    "ppo_updates": 100,
    "ppo_batch": 256,
    "ppo_minibatches": 2,
    "ppo_epochs": 4,
    "ppo_clip": 0.2,
    "ppo_lr": 0.002,
    "ppo_uwo_lambda": 0.1,
    "ppo_eval_samples": 512,
    "ppo_eval_every": 2,
    "ppo_sensitivity": True,
}



def relative_drop(gold_curve: np.ndarray) -> float:
    """Share of best-of-n's gain lost by the largest n: ``(peak − final) / (peak − gold at n = 1)``.

    1.0 when best-of-n never rises above n = 1 (then every n > 1 is over-optimization or flat).
    """
    g = np.asarray(gold_curve, dtype=float)
    gain = float(g.max() - g[0])
    drop = float(g.max() - g[-1])
    if gain <= 1e-12:
        return 0.0 if drop <= 1e-12 else 1.0
    return drop / gain


def _rm_key(s: dict[str, Any]) -> str:
    """The settings that determine a seed's reward models (so best-of-n and PPO cells share them)."""
    return json.dumps({k: s[k] for k in ("dim", "n_pairs", "members", "hidden", "epochs", "batch_size")},
                      sort_keys=True)


@functools.lru_cache(maxsize=64)
def _ensemble(seed: int, noise: float, rm_json: str) -> tuple[Any, Any]:
    """The gold-reward setup and the seed's five-member ensemble (cached: a seed's best-of-n and PPO
    cells use the same members, so differences between them are paired)."""
    from guardopt.offline.nets import MLPConfig
    from guardopt.offline.reward_models import RewardEnsemble, RewardModelConfig
    from guardopt.problems.gold_reward import GoldRewardSetup

    s = json.loads(rm_json)
    setup = GoldRewardSetup(dim=int(s["dim"]), label_noise=noise)
    chosen, rejected, _ = setup.preference_pairs(int(s["n_pairs"]), seed=derive_seed(seed, "pairs"))
    cfg = RewardModelConfig(mlp=MLPConfig(hidden=tuple(int(h) for h in s["hidden"]), activation="relu"),
                            epochs=int(s["epochs"]), batch_size=int(s["batch_size"]))
    ens = RewardEnsemble.fit(chosen, rejected, k=int(s["members"]), config=cfg, seed=derive_seed(seed, "rms"))
    return setup, ens


@functools.lru_cache(maxsize=256)
def _run_seed(seed: int, task: str, settings_json: str) -> dict[str, dict[str, Any]]:
    """Train one ensemble and evaluate every combiner on the same samples (cached: the four
    methods of a seed share the ensemble, so a worker that runs them in turn trains it once).

    The runner visits the cells method by method, so the cache must hold every (seed, task) of a
    scale (40 at full scale; an entry is a few kilobytes of curves), or each method retrains.
    """
    import torch

    from guardopt.offline.bon import best_of_n, kl_best_of_n, monte_carlo_best_of_n
    from guardopt.offline.ensembles import combine

    s = json.loads(settings_json)
    torch.set_num_threads(_torch_threads(s))
    t0, c0 = time.perf_counter(), time.process_time()
    setup, ens = _ensemble(seed, NOISE[task], _rm_key(s))
    z = setup.policy_samples(int(s["prompts"]), int(s["samples"]), seed=derive_seed(seed, "policy"))
    gold = setup.gold(z)  # (prompts, N)
    member_scores = ens.predict(z)  # (k, prompts, N)
    ns = [n for n in NS if n <= gold.shape[1]]
    lam = float(s["uwo_lambda"])
    with_mc = seed < int(s["mc_seeds"])
    out: dict[str, dict[str, Any]] = {}
    for method in METHODS:
        if method == "single":
            # A typical single reward model: each member's own best-of-n curve, averaged over members.
            runs = [best_of_n(member_scores[i], gold, ns) for i in range(ens.size)]
            g_curve = np.mean([r[0] for r in runs], axis=0)
            p_curve = np.mean([r[1] for r in runs], axis=0)
            proxy = member_scores[0]
        else:
            proxy = combine(member_scores, method, lam, axis=0)
            g_curve, p_curve = best_of_n(proxy, gold, ns)
        mc = se = est16 = math.nan
        if with_mc:
            est16 = float(best_of_n(proxy, gold, [MC_N])[0][0])
            mc, se = monte_carlo_best_of_n(proxy, gold, MC_N, int(s["mc_trials"]),
                                           seed=derive_seed(seed, "mc", method))
        out[method] = {
            "metrics": {
                "gold_final": float(g_curve[-1]),
                "proxy_final": float(p_curve[-1]),
                "gold_peak": float(g_curve.max()),
                "n_peak": float(ns[int(np.argmax(g_curve))]),
                "n_final": float(ns[-1]),
                "drop_from_peak": float(g_curve.max() - g_curve[-1]),
                "rel_drop": relative_drop(g_curve),
                "gold_n1": float(g_curve[0]),
                "est_n16": est16,
                "mc_n16": mc,
                "mc_se_n16": se,
            },
            "curves": {"gold": g_curve.tolist(), "proxy": p_curve.tolist(), "n": [float(n) for n in ns],
                       "kl": kl_best_of_n(np.array(ns)).tolist()},
        }
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    for m in out.values():
        # Wall and CPU seconds of the whole seed (the ensemble and all four combiners), stored in
        # each of its cells; the CPU figure is the one that does not grow with a shared machine's load.
        m["metrics"]["seconds_seed"] = elapsed
        m["metrics"]["cpu_seconds_seed"] = cpu
    return out


def _ppo_config(s: dict[str, Any], kl: float, lr: float) -> Any:
    from guardopt.offline.ppo import PPOConfig

    return PPOConfig(updates=int(s["ppo_updates"]), batch_size=int(s["ppo_batch"]),
                     minibatches=int(s["ppo_minibatches"]), epochs=int(s["ppo_epochs"]), clip=float(s["ppo_clip"]),
                     kl_coef=kl, lr=lr, eval_samples=int(s["ppo_eval_samples"]),
                     eval_every=int(s["ppo_eval_every"]))


def ppo_run(seed: int, noise: float, method: str, kl: float, lr: float, s: dict[str, Any],
            combiner: str | None = None) -> dict[str, Any]:
    """One PPO run of ``method``'s proxy on a seed's ensemble; its metrics and curves.

    ``combiner`` overrides the proxy's combiner while keeping the method's name (the negative
    control: a "conservative" objective that is really something else).
    """
    from guardopt.offline.ppo import ensemble_reward, ppo_optimize

    setup, ens = _ensemble(seed, noise, _rm_key(s))
    # The authors' UWO takes torch.var (the unbiased variance, k/(k−1) times the population one);
    # `combine` uses the population variance, so λ is scaled to give their objective exactly.
    k = ens.size
    lam = float(s["ppo_uwo_lambda"]) * k / (k - 1) if k > 1 else 0.0
    proxy = ensemble_reward(ens, combiner or method, lam, member=0)
    res = ppo_optimize(proxy, setup.dim, _ppo_config(s, kl, lr), ref_std=setup.policy_scale, gold=setup.gold,
                       seed=derive_seed(seed, "ppo"))  # common random numbers across objectives
    h = res.history
    g = h.gold
    i = int(np.argmax(g))
    metrics = {"gold_final": float(g[-1]), "gold_peak": float(g[i]), "drop_from_peak": float(g[i] - g[-1]),
               "rel_drop": relative_drop(g), "gold_init": float(g[0]), "update_peak": float(h.update[i]),
               "proxy_final": float(h.proxy[-1]), "kl_final": float(h.kl[-1]), "kl_at_peak": float(h.kl[i]),
               "scale_final": float(h.scale[-1]), "lr": lr, "kl_coef": kl,
               "ppo_samples": float(h.update[-1] * int(s["ppo_batch"]))}
    curves = {"ppo_gold": g.tolist(), "ppo_proxy": h.proxy.tolist(), "ppo_kl": h.kl.tolist(),
              "ppo_update": h.update.tolist()}
    return {"metrics": metrics, "curves": curves}


def _ppo_cell(cell: Cell, s: dict[str, Any]) -> CellResult:
    import torch

    torch.set_num_threads(_torch_threads(s))
    spec = PPO_TASKS[cell.task]
    if cell.seed >= int(s["ppo_seeds"]) or (spec.sensitivity and not s["ppo_sensitivity"]):
        # Not part of this scale's PPO grid (the runner gives every task the same seed count).
        return CellResult(metrics={"ppo_run": 0.0})
    t0, c0 = time.perf_counter(), time.process_time()
    res = ppo_run(cell.seed, spec.noise, cell.method, spec.kl, spec.lr if spec.lr is not None else float(s["ppo_lr"]),
                  s)
    res["metrics"].update(ppo_run=1.0, seconds_ppo=time.perf_counter() - t0, cpu_seconds_ppo=time.process_time() - c0)
    return CellResult(metrics=res["metrics"], curves=res["curves"])


def run_cell(cell: Cell) -> CellResult:
    """Best-of-n (or, on a ``ppo-`` task, PPO) with one combiner of a seed's five-member ensemble."""
    settings = {**SETTINGS, **dict(cell.settings)}
    if cell.task in PPO_TASKS:
        return _ppo_cell(cell, settings)
    res = _run_seed(cell.seed, cell.task, json.dumps(settings, sort_keys=True))[cell.method]
    return CellResult(metrics=dict(res["metrics"]), curves=dict(res["curves"]))


# --------------------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------------------


def _n_final(results: Results) -> int:
    n = results.metric("n_final")
    n = n[np.isfinite(n)]
    return int(n.max()) if n.size else NS[-1]


def eliminates(results: Results, task: str, method: str, tol: float = ELIMINATE_TOL) -> Evidence:
    """Passes when the 95% upper bound of the mean relative drop from peak is at most ``tol``."""
    check = (f"{task}: {method} practically eliminates over-optimization (share of best-of-n's gain lost "
             f"by the largest n, 95% upper bound ≤ {tol:g})")
    v = results.metric("rel_drop", task, method)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return inconclusive(check, f"{v.size} seed(s): too few for an interval", threshold=tol)
    mean = float(v.mean())
    upper = mean + float(stats.t.ppf(0.95, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return Evidence(check, upper, tol, upper <= tol, detail=f"mean {mean:.4g} over {v.size} seeds; 95% upper bound")


def improves(results: Results, task: str, method: str, base: str = "single") -> Evidence:
    """Paired gold gain of ``method`` over ``base`` at the largest n (95% lower bound > 0)."""
    a, b = results.paired("gold_final", (task, method), (task, base))
    n = _n_final(results)
    return paired_gain(f"{task}: {method} improves on a {base} reward model (gold at n={n}, paired over seeds)", a, b)


def _relative_improvement(results: Results, task: str, method: str) -> float:
    a, b = results.paired("gold_final", (task, method), (task, "single"))
    if a.size == 0:
        return math.nan
    base = float(np.mean(b))
    return (float(np.mean(a)) - base) / abs(base) if base != 0 else math.nan


def verdict(results: Results) -> Verdict:
    """Per noise level and conservative combiner: eliminates over-optimization, improves on one RM."""
    ev: list[Evidence] = []
    for task in TASKS:
        for guard in GUARDS:
            ev += [eliminates(results, task, guard), improves(results, task, guard)]
    rel = [_relative_improvement(results, t, g) for t in TASKS for g in GUARDS]
    rel = [r for r in rel if not math.isnan(r)]
    ev.append(inconclusive(
        f"best-of-n improvement over a single reward model is up to {PAPER_MAX_IMPROVEMENT:.0%} (our largest "
        "relative gain shown)",
        "a maximum over the paper's reward models and gold model; a synthetic gold reward cannot test its size",
        max(rel) if rel else math.nan, PAPER_MAX_IMPROVEMENT))
    ppo = ppo_evidence(results)
    ev += ppo
    # Every objective, setting and seed of the PPO verdict spent the same samples (one PPO setting for all).
    # Only the cells that ran PPO (seeds >= 10 store ppo_run = 0 and nothing else); one of them that
    # recorded no sample count makes the line INCONCLUSIVE rather than being left out.
    budget = np.concatenate([results.metric("ppo_samples", t, m)[results.metric("ppo_run", t, m) == 1.0]
                             for t in PPO_VERDICT_TASKS for m in METHODS])
    ev.append(equal_budget("PPO: every objective and seed used the same number of sampled responses", budget))
    # Implementation check: estimator vs Monte Carlo, pooled over the cells that ran it.
    est = results.metric("est_n16")
    mc = results.metric("mc_n16")
    se = results.metric("mc_se_n16")
    ok = np.isfinite(est) & np.isfinite(mc) & np.isfinite(se)
    est, mc, se = est[ok], mc[ok], se[ok]
    check = "|estimator − Monte Carlo| at n=16, in pooled standard errors"
    if est.size == 0:
        ev.append(inconclusive(check, "no cell ran Monte Carlo", threshold=2.0))
    else:
        z = float(abs(np.mean(est - mc)) / (np.sqrt(np.sum(se**2)) / est.size))
        ev.append(Evidence(check, z, 2.0, z <= 2.0, detail=f"{est.size} cells"))
    claim = ev[: 2 * len(GUARDS) * len(TASKS)]
    summary = (f"{sum(e.counts_as_pass for e in claim)} of {len(claim)} best-of-n checks (eliminates / improves, "
               f"per noise level and combiner) and {sum(e.counts_as_pass for e in ppo)} of {len(ppo)} PPO checks "
               "(reduces over-optimization / beats a single RM per setting; with the small KL penalty, no drop and "
               "no cost) pass; the 70% size is not testable here")
    return Verdict.from_evidence(ev, summary)


def _ppo_values(results: Results, metric: str, task: str, method: str) -> dict[int, float]:
    """``{seed: value}`` of the PPO cells that ran (finite values only)."""
    return {sd: v for sd, v in zip(results.seeds(task, method), results.metric(metric, task, method))
            if np.isfinite(v)}


def _ppo_pair(results: Results, metric: str, a: tuple[str, str], b: tuple[str, str],
              metric_b: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    va = _ppo_values(results, metric, *a)
    vb = _ppo_values(results, metric_b or metric, *b)
    common = sorted(set(va) & set(vb))
    return np.array([va[k] for k in common]), np.array([vb[k] for k in common])


def ppo_reduces(results: Results, task: str, method: str, base: str = "single") -> Evidence:
    """(a) The gold drop from the run's peak to its last update is below ``base``'s (paired lower bound > 0)."""
    drop_base, drop = _ppo_pair(results, "drop_from_peak", (task, base), (task, method))
    return paired_gain(f"PPO {task}: {method} reduces over-optimization (gold drop from peak to the last update "
                       f"below a {base} reward model's, paired over seeds)", drop_base, drop)


def ppo_beats(results: Results, task: str, method: str, base: str = "single") -> Evidence:
    """(b) Final gold above ``base``'s (paired lower bound > 0)."""
    a, b = _ppo_pair(results, "gold_final", (task, method), (task, base))
    return paired_gain(f"PPO {task}: {method} ends above a {base} reward model (final gold, paired over seeds)", a, b)


def ppo_prevents(results: Results, task: str, method: str, tol: float = PPO_DROP_TOL) -> Evidence:
    """(c1) The share of the run's gold gain lost from its peak by the end: 95% upper bound ≤ ``tol``."""
    check = (f"PPO {task}: {method} with the small KL penalty prevents over-optimization (share of the run's gold "
             f"gain lost from its peak by the last update, 95% upper bound ≤ {tol:g})")
    v = np.array(list(_ppo_values(results, "rel_drop", task, method).values()))
    if v.size < 2:
        return inconclusive(check, f"{v.size} seed(s): too few for an interval", threshold=tol)
    mean = float(v.mean())
    upper = mean + float(stats.t.ppf(0.95, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return Evidence(check, upper, tol, upper <= tol, detail=f"mean {mean:.4g} over {v.size} seeds; 95% upper bound")


def ppo_no_cost(results: Results, task_kl: str, task_free: str, method: str,
                tol: float = PPO_NO_COST_TOL) -> Evidence:
    """(c2) Final gold with the penalty ≥ the no-KL run's peak gold, in units of that run's gain, up to ``tol``.

    Per seed: ``(final_KL − peak_noKL) / (peak_noKL − gold at update 0)``; passes when the one-sided
    95% lower bound of its mean is above ``−tol``.
    """
    a = _ppo_values(results, "gold_final", task_kl, method)
    b = _ppo_values(results, "gold_peak", task_free, method)
    c = _ppo_values(results, "gold_init", task_free, method)
    common = sorted(set(a) & set(b) & set(c))
    final, peak, init = (np.array([v[k] for k in common], dtype=float) for v in (a, b, c))
    gain = peak - init
    ok = gain > 1e-12
    return paired_gain(f"PPO {task_kl}: {method} at no performance cost (final gold ≥ the no-KL run's peak, in "
                       f"units of its gain, paired; lower bound ≥ −{tol:g})", final[ok] / gain[ok], peak[ok] / gain[ok],
                       margin=-tol)


def ppo_evidence(results: Results) -> list[Evidence]:
    """(a) and (b) per verdict setting and conservative objective; then (c) per noise level and objective."""
    ev: list[Evidence] = []
    for task in PPO_VERDICT_TASKS:
        for guard in GUARDS:
            ev.append(ppo_reduces(results, task, guard))
    for task in PPO_VERDICT_TASKS:
        for guard in GUARDS:
            ev.append(ppo_beats(results, task, guard))
    for free, small in PPO_NOISE_TASKS.values():
        for guard in GUARDS:
            ev += [ppo_prevents(results, small, guard), ppo_no_cost(results, small, free, guard)]
    return ev


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _ci(a: np.ndarray, b: np.ndarray) -> str:
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return "–"
    half = float(stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))
    return f"{d.mean():+.3f} [{d.mean() - half:+.3f}, {d.mean() + half:+.3f}]"


def _mean_se(v: np.ndarray) -> str:
    v = v[np.isfinite(v)]
    if not v.size:
        return "–"
    se = v.std(ddof=1) / math.sqrt(v.size) if v.size > 1 else 0.0
    return f"{v.mean():.3f} ± {se:.3f}"


def extra_markdown(results: Results) -> str:
    """Gold at each n per combiner and noise level; per-combiner lines with paired intervals; estimator check."""
    methods = [m for m in METHODS if m in results.methods]
    lines: list[str] = []
    for task in TASKS:
        if not any(results.seeds(task, m) for m in methods):
            continue
        ns = next((r.curves["n"] for r in results.done if r.task == task and "n" in r.curves), list(NS))
        n_seeds = len(results.seeds(task, "single"))
        lines += [f"### {task}: best-of-n gold score against n (mean over {n_seeds} seeds)", "",
                  "| n | KL | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
        curves = {m: results.curves("gold", task, m) for m in methods}
        for j, n in enumerate(ns):
            kl = math.log(n) - (n - 1) / n
            vals = [f"{np.nanmean(curves[m][:, j]):.3f}" if curves[m].size else "–" for m in methods]
            lines.append(f"| {int(n)} | {kl:.2f} | " + " | ".join(vals) + " |")
        lines += ["", f"### {task}: every combiner on its own line (mean ± SE; gains paired over seeds, 95% CI)", "",
                  "| combiner | gold at largest n | peak gold | n at peak | share of gain lost (upper bound) | "
                  "gain over single | gain over mean |", "|---|---|---|---|---|---|---|"]
        for m in methods:
            el = eliminates(results, task, m)
            lost = f"{_mean_se(results.metric('rel_drop', task, m))} ({el.value:.3f})" if np.isfinite(el.value) \
                else _mean_se(results.metric("rel_drop", task, m))
            over_single = _ci(*results.paired("gold_final", (task, m), (task, "single"))) if m != "single" else "–"
            over_mean = _ci(*results.paired("gold_final", (task, m), (task, "mean"))) if m != "mean" else "–"
            lines.append(f"| {m} | {_mean_se(results.metric('gold_final', task, m))} | "
                         f"{_mean_se(results.metric('gold_peak', task, m))} | "
                         f"{_mean_se(results.metric('n_peak', task, m))} | {lost} | {over_single} | {over_mean} |")
        lines.append("")
    lines += [f"The verdict's lines are WCO and UWO; the ensemble mean is not one of the paper's conservative "
              f"objectives and is shown here only. \"Eliminates\" allows a loss of at most {ELIMINATE_TOL:.0%} of "
              "best-of-n's gain from its peak.", ""]
    lines += ["### Unbiased estimator vs Monte-Carlo best-of-16 (cells that ran it)", "",
              "| task | combiner | seed | estimator | Monte Carlo | SE | z |", "|---|---|---|---|---|---|---|"]
    for task in TASKS:
        for m in methods:
            for seed, e, c, s in zip(results.seeds(task, m), results.metric("est_n16", task, m),
                                     results.metric("mc_n16", task, m), results.metric("mc_se_n16", task, m)):
                if np.isfinite(e) and np.isfinite(c) and np.isfinite(s) and s > 0:
                    lines.append(f"| {task} | {m} | {seed} | {e:.4f} | {c:.4f} | {s:.4f} | {(e - c) / s:+.2f} |")
    lines += ["", "Settings: `" + json.dumps(SETTINGS) + "`", ""]
    return "\n".join(lines + ppo_markdown(results))


def _ppo_task_table(results: Results, task: str) -> list[str]:
    spec = PPO_TASKS[task]
    n = len(_ppo_values(results, "gold_final", task, "single"))
    lrs = np.array(list(_ppo_values(results, "lr", task, "single").values()))
    lr = float(lrs[0]) if lrs.size else (spec.lr if spec.lr is not None else SETTINGS["ppo_lr"])
    lines = [f"#### {task} (label noise {spec.noise:.0%}, β = {spec.kl:g}, lr {lr:g}; {n} seeds, mean ± SE; "
             "paired differences with 95% CI)", "",
             "| objective | final gold | peak gold | update of peak | drop from peak | share of gain lost | "
             "final KL (nats) | final proxy | final σ | drop reduction vs single | final gold − single |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for m in METHODS:
        def col(metric: str, method: str = m) -> str:
            return format_mean_se(np.array(list(_ppo_values(results, metric, task, method).values())))
        red = _ci(*_ppo_pair(results, "drop_from_peak", (task, "single"), (task, m))) if m != "single" else "–"
        gain = _ci(*_ppo_pair(results, "gold_final", (task, m), (task, "single"))) if m != "single" else "–"
        lines.append(f"| {m} | {col('gold_final')} | {col('gold_peak')} | {col('update_peak')} | "
                     f"{col('drop_from_peak')} | {col('rel_drop')} | {col('kl_final')} | {col('proxy_final')} | "
                     f"{col('scale_final')} | {red} | {gain} |")
    return [*lines, ""]


def _mark(e: Evidence) -> str:
    return e.outcome.value if e.outcome is not None else ("pass" if e.passed else "FAIL")


def ppo_markdown(results: Results) -> list[str]:
    """PPO tables: the verdict's settings, the sensitivity settings (with the checks they would give),
    the gold curve at a few updates, and the budget."""
    if not any(_ppo_values(results, "gold_final", t, "single") for t in PPO_TASKS):
        return []
    lines = ["### PPO: every objective on its own line, at the paper's settings (β = 0 and β = 0.01)", ""]
    for task in PPO_VERDICT_TASKS:
        lines += _ppo_task_table(results, task)
    lines += [f"The verdict's lines are WCO and UWO (λ = {SETTINGS['ppo_uwo_lambda']}, the authors' PPO value, "
              "with their unbiased variance); the ensemble mean is shown only. \"Drop from peak\" is the gold at the "
              "run's best logged update minus the gold at its last; the share of gain lost divides it by "
              "(peak − gold at update 0).", ""]
    sens = [t for t, spec in PPO_TASKS.items() if spec.sensitivity and _ppo_values(results, "gold_final", t, "single")]
    if sens:
        lines += ["### PPO sensitivity to our choices (not in the verdict)", "",
                  "β = 0.1 is the default KL coefficient of the authors' PPO configuration; lr 0.001 and 0.004 are "
                  f"half and twice our declared learning rate ({SETTINGS['ppo_lr']}), i.e. a gentler and a harder "
                  "optimization over the same 100 updates.", "",
                  "| setting | objective | (a) drop reduction vs single: lower bound | (b) gold gain vs single: "
                  "lower bound | (c1) share of gain lost: upper bound |", "|---|---|---|---|---|"]
        for task in sens:
            for g in GUARDS:
                a, b, c = ppo_reduces(results, task, g), ppo_beats(results, task, g), ppo_prevents(results, task, g)
                lines.append(f"| {task} | {g} | {a.value:.3f} ({_mark(a)}) | {b.value:.3f} ({_mark(b)}) | "
                             f"{c.value:.3f} ({_mark(c)}) |")
        lines.append("")
        for task in sens:
            lines += _ppo_task_table(results, task)
    lines += ["### PPO: mean gold reward at selected updates", ""]
    for task in [t for t in PPO_TASKS if _ppo_values(results, "gold_final", t, "single")]:
        x = next(r.curves["ppo_update"] for r in results.done if r.task == task and "ppo_update" in r.curves)
        picks = sorted({int(j) for j in np.linspace(0, len(x) - 1, 6)})
        lines += [f"**{task}**", "", "| update | " + " | ".join(METHODS) + " |", "|---|" + "---|" * len(METHODS)]
        curves = {m: results.curves("ppo_gold", task, m) for m in METHODS}
        for j in picks:
            vals = [f"{np.nanmean(curves[m][:, j]):.3f}" if curves[m].size else "–" for m in METHODS]
            lines.append(f"| {int(x[j])} | " + " | ".join(vals) + " |")
        lines.append("")
    lines += ["**Tuning.** None: as in the paper, every objective runs with one PPO setting (the learning rate "
              f"{SETTINGS['ppo_lr']} and the rest in the settings line above), so no objective gets a tuning "
              "budget the others lack; the learning rate's effect is in the sensitivity table.", ""]
    return lines


def plots(results: Results, outdir: Path) -> list[Path]:
    """Gold and proxy score against KL(n) = log n − (n − 1)/n, one line per combiner (as in the paper)."""
    from guardopt.reproduce.plotting import learning_curves

    out = Path(outdir)
    kl = next((r.curves["kl"] for r in results.done if r.task in TASKS and "kl" in r.curves), None)
    tasks = [t for t in TASKS if results.seeds(t, "single")]
    return [
        *ppo_plots(results, out),
        learning_curves(results, "gold", out / "reward_ensembles_gold.png", tasks=tasks, x=kl,
                        xlabel="KL(n) = log n − (n−1)/n", ylabel="gold score", title="Best-of-n: gold score"),
        learning_curves(results, "proxy", out / "reward_ensembles_proxy.png", tasks=tasks, x=kl,
                        xlabel="KL(n) = log n − (n−1)/n", ylabel="proxy score (combined, standardized)",
                        title="Best-of-n: proxy score"),
    ]


def ppo_plots(results: Results, outdir: Path) -> list[Path]:
    """Gold and proxy reward over PPO updates, one panel per setting, one line per objective (the paper's
    Figure style); the verdict's settings and the sensitivity settings in separate figures."""
    from guardopt.reproduce.plotting import learning_curves

    out: list[Path] = []
    for name, group in (("", PPO_VERDICT_TASKS),
                        ("_sensitivity", tuple(t for t, spec in PPO_TASKS.items() if spec.sensitivity))):
        tasks = [t for t in group if results.curves("ppo_gold", t, "single").size]
        if not tasks:
            continue
        x = next(r.curves["ppo_update"] for r in results.done if r.task in tasks and "ppo_update" in r.curves)
        for curve, label in (("ppo_gold", "gold reward"), ("ppo_proxy", "proxy reward (the objective optimized)")):
            out.append(learning_curves(results, curve, Path(outdir) / f"reward_ensembles_{curve}{name}.png",
                                       tasks=tasks, x=x, xlabel="PPO update", ylabel=label,
                                       title=f"PPO: {label.split(' (')[0]}"))
    return out


NOTES = """\
**Setup.** Responses z ∈ R^10; gold(z) = w·z − max(0, ‖z‖ − 4.5)² with ‖w‖ = 1. 3,000 preference pairs
from N(0, I), labelled by the gold reward, with 25% of labels flipped (`label-noise-25`) or none
(`label-noise-0`). Five reward models (MLP 64-64, ReLU, Bradley–Terry loss, Adam 1e-3, 30 epochs,
batch 128) differ only in their seed; each is standardized to mean 0 / std 1 on the training responses
before combining. The policy samples N(0, 1.3² I): 40 prompts × 4,096 samples per seed. Best-of-n for
n = 1, 2, 4, …, 4096 by the unbiased estimator (log-space binomials). UWO uses λ = 0.5 and the
population variance (the paper's best-of-n setting and the authors' `np.var`). 20 seeds per noise level;
a seed's four combiners share the pairs, the members and the samples, so differences are paired.

**"single"** is a typical single reward model: each member's own best-of-n curve, averaged over the five
members. **Monte Carlo**: 500 draws of 16 samples without replacement per prompt, on the first 4 seeds
of each noise level; the check pools those cells (|mean(estimator − MC)| over the pooled standard error).

**Verdict (best-of-n).** Per noise level, WCO and UWO each: the share of best-of-n's gain lost from the
peak by n = 4096 (95% upper bound ≤ 10%, declared before the run) and the paired gold gain over a single
model at n = 4096 (95% lower bound > 0). The "up to 70%" size is INCONCLUSIVE here.

**PPO.** The policy is a Gaussian N(μ, diag σ²) over responses, started at the reference N(0, 1.3² I), with
μ and log σ learned by PPO (`guardopt.offline.ppo`): per update 256 responses, advantages = proxy reward
(minus β·(log π − log π_ref) when β > 0) minus the batch mean, whitened; 4 epochs of 2 minibatches of the
clipped surrogate (ε = 0.2); Adam, lr 0.002; 100 updates. The proxy is member 0 ("single"), the mean, the
minimum (WCO) or mean − 0.1·(unbiased variance) (UWO) of the seed's five standardized members — the same
members as its best-of-n cells. Proxy, gold and the exact KL to the reference are logged every 2 updates on
512 fixed standard-normal draws (common random numbers, shared by all objectives of a seed). 10 seeds per
setting. Verdict per setting (25% / 0% noise × β = 0 / 0.01) and objective (WCO, UWO): the gold drop from
the peak to the last update below single-RM PPO's and the final gold above it (paired lower bounds > 0);
with β = 0.01, the share of the gain lost ≤ 10% (upper bound) and the final gold ≥ the no-KL run's peak
minus 10% of its gain (paired lower bound). Quick scale (a smoke test): 50 updates at twice the learning
rate, 128 responses per update, 256 evaluation draws, 3 seeds, no sensitivity settings. The runner gives
every task the scale's 20 seeds; PPO cells of seeds 10–19 store only `ppo_run = 0`, so the per-metric
tables below count 10 seeds for a PPO row.

**Deviations.** A known function replaces the 7B AlpacaFarm gold reward model and vectors replace text; a
one-step Gaussian policy replaces a 1.4B-parameter language model (so the KL here is between Gaussians, in
nats over 10 dimensions, and β = 0.01 does not weigh the same against the reward as in the paper); no value
head (the single step's value is the batch mean); a fixed learning rate instead of the authors' cosine
schedule; no third-party PPO cross-check (TRL no longer ships PPO).
"""

REPRODUCTION = Reproduction(
    name="reward-ensembles",
    paper=Paper(
        title="Reward Model Ensembles Help Mitigate Overoptimization",
        year=2024,
        url="https://arxiv.org/abs/2310.02743",
    ),
    claim=("Both with and without label noise, conservative ensemble optimization (WCO, UWO) practically "
           "eliminates best-of-n over-optimization and improves the gold score over a single reward model "
           "(by up to 70% in the paper); for PPO it always reduces over-optimization and outperforms single "
           "reward model optimization, and combined with a small KL penalty it prevents over-optimization at "
           "no performance cost."),
    tasks=TASKS + tuple(PPO_TASKS),
    methods=METHODS,
    metrics=("gold_final", "gold_peak", "drop_from_peak", "rel_drop", "n_peak", "proxy_final", "gold_n1",
             "est_n16", "mc_n16", "mc_se_n16", "seconds_seed", "cpu_seconds_seed", "gold_init", "update_peak",
             "kl_final", "kl_at_peak", "scale_final", "ppo_samples", "cpu_seconds_ppo"),
    scales={
        "quick": Scale(seeds=3, settings={"torch_threads": 1, "n_pairs": 1000, "epochs": 10, "prompts": 20,
                                          "samples": 1024, "mc_trials": 200, "mc_seeds": 1, "ppo_seeds": 3,
                                          "ppo_batch": 128, "ppo_eval_samples": 256, "ppo_eval_every": 5,
                                          "ppo_updates": 50, "ppo_lr": 0.004, "ppo_sensitivity": False}),
        "full": Scale(seeds=20, settings={"torch_threads": 1}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    notes=NOTES,
)
