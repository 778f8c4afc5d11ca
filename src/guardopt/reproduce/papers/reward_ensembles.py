"""Reproduction `reward-ensembles`: conservative ensemble objectives against best-of-n over-optimization.

Paper: Coste, Anwar, Kirk & Krueger (2024), "Reward Model Ensembles Help Mitigate Overoptimization",
ICLR 2024, arXiv 2310.02743. The abstract's claims: both with and without label noise, conservative
optimization (worst-case WCO, uncertainty-weighted UWO) "practically eliminates overoptimization and
improves performance by up to 70% for BoN sampling"; for PPO it always reduces over-optimization and
beats a single reward model, and with a small KL penalty prevents over-optimization at no cost.
Tested in a synthetic gold-reward setup (`guardopt.problems.gold_reward`) with five reward models
that differ only in their seed, at 25% label noise and without noise.

How the verdict follows the rules of ``docs/reproduce.md``:

1. *The claim as stated.* Per label-noise level and per conservative combiner (WCO, UWO):
   (a) "practically eliminates over-optimization": the gold score at the largest n has lost at most
   `ELIMINATE_TOL` (10%) of best-of-n's gain (peak gold − gold at n = 1), on the 95% upper bound of
   the mean over seeds; (b) "improves performance": the paired gold gain over a single reward model
   at the largest n has a 95% lower bound above 0. The "up to 70%" size and the two PPO claims cannot
   be tested here (a synthetic gold reward; no PPO) and stay as INCONCLUSIVE lines.
2. *The paper's settings.* Five members; UWO λ = 0.5 with the population variance (the paper's
   best-of-n setting); 25% label noise; n up to 4096 on a log2 grid.
3. *Baselines.* Best-of-n has no knob to tune; the single reward model and the combiners share the
   members, the samples and the seeds.
4. *No best-of.* WCO and UWO each have their own lines per noise level; the ensemble mean (not one of
   the paper's conservative objectives) has its own line in the report's table.
5. *Strict criteria.* Paired differences over 20 shared seeds with intervals (`paired_gain`); the
   drop tolerance is declared here, before the run, and tested on its upper bound.
6. The claim is not a guarantee; a unit test shows that a combiner that over-optimizes like a single
   model makes the verdict FAIL.

The unbiased best-of-n estimator is checked against Monte-Carlo best-of-16 (an implementation check).
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
from guardopt.reproduce.criteria import inconclusive, paired_gain
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
    from guardopt.offline.nets import MLPConfig
    from guardopt.offline.reward_models import RewardEnsemble, RewardModelConfig
    from guardopt.problems.gold_reward import GoldRewardSetup

    s = json.loads(settings_json)
    torch.set_num_threads(_torch_threads(s))
    t0, c0 = time.perf_counter(), time.process_time()
    setup = GoldRewardSetup(dim=int(s["dim"]), label_noise=NOISE[task])
    chosen, rejected, _ = setup.preference_pairs(int(s["n_pairs"]), seed=derive_seed(seed, "pairs"))
    cfg = RewardModelConfig(mlp=MLPConfig(hidden=tuple(int(h) for h in s["hidden"]), activation="relu"),
                            epochs=int(s["epochs"]), batch_size=int(s["batch_size"]))
    ens = RewardEnsemble.fit(chosen, rejected, k=int(s["members"]), config=cfg, seed=derive_seed(seed, "rms"))
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


def run_cell(cell: Cell) -> CellResult:
    """Best-of-n with one combiner of a seed's five-member ensemble, at the task's label noise."""
    settings = {**SETTINGS, **dict(cell.settings)}
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
    ev.append(inconclusive("PPO: conservative optimization always reduces over-optimization and beats a single "
                           "reward model", "not run: this reproduction has no PPO"))
    ev.append(inconclusive("PPO: with a small KL penalty it prevents over-optimization at no performance cost",
                           "not run: this reproduction has no PPO"))
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
               "per noise level and combiner) pass; the 70% size and PPO are not testable here")
    return Verdict.from_evidence(ev, summary)


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
    return "\n".join(lines)


def plots(results: Results, outdir: Path) -> list[Path]:
    """Gold and proxy score against KL(n) = log n − (n − 1)/n, one line per combiner (as in the paper)."""
    from guardopt.reproduce.plotting import learning_curves

    out = Path(outdir)
    kl = next((r.curves["kl"] for r in results.done if "kl" in r.curves), None)
    tasks = [t for t in TASKS if results.seeds(t, "single")]
    return [
        learning_curves(results, "gold", out / "reward_ensembles_gold.png", tasks=tasks, x=kl,
                        xlabel="KL(n) = log n − (n−1)/n", ylabel="gold score", title="Best-of-n: gold score"),
        learning_curves(results, "proxy", out / "reward_ensembles_proxy.png", tasks=tasks, x=kl,
                        xlabel="KL(n) = log n − (n−1)/n", ylabel="proxy score (combined, standardized)",
                        title="Best-of-n: proxy score"),
    ]


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

**Verdict.** Per noise level, WCO and UWO each: the share of best-of-n's gain lost from the peak by
n = 4096 (95% upper bound ≤ 10%, declared before the run) and the paired gold gain over a single model
at n = 4096 (95% lower bound > 0). The "up to 70%" size and the PPO claims are INCONCLUSIVE here.

**Deviations.** A known function replaces the 7B AlpacaFarm gold reward model and vectors replace text;
no PPO.
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
           "(by up to 70% in the paper); for PPO it reduces over-optimization, and with a small KL penalty "
           "prevents it at no cost."),
    tasks=TASKS,
    methods=METHODS,
    metrics=("gold_final", "gold_peak", "drop_from_peak", "rel_drop", "n_peak", "proxy_final", "gold_n1",
             "est_n16", "mc_n16", "mc_se_n16", "seconds_seed", "cpu_seconds_seed"),
    scales={
        "quick": Scale(seeds=3, settings={"torch_threads": 1, "n_pairs": 1000, "epochs": 10, "prompts": 20,
                                          "samples": 1024, "mc_trials": 200, "mc_seeds": 1}),
        "full": Scale(seeds=20, settings={"torch_threads": 1}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    notes=NOTES,
)
