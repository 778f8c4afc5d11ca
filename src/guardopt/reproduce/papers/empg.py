"""Reproduction ``empg``: entropy-modulated policy gradients against GRPO on a key–door text agent.

Paper: Wang, Liu, Fu, Li, Wang, Lin, Yue, Zhang, Wang & Wang (2025), "Harnessing Uncertainty:
Entropy-Modulated Policy Gradients for Long-Horizon LLM Agents", arXiv 2509.09265 (ICLR 2026). The
abstract's claim: EMPG — re-calibrating each step's learning signal by its entropy and the final
outcome, plus a future-clarity bonus — "achieves substantial performance gains and significantly
outperforms strong policy gradient baselines" on long-horizon agent tasks (WebShop, ALFWorld, Deep
Search). Its body adds that EMPG keeps training stable where the baseline's KL oscillates.

Substrate: `guardopt.problems.key_door` (a 7-cell corridor, 12-step horizon, success reward only at
the end) and a 1-layer, d = 32 causal transformer (`guardopt.align.model`) warm-started per seed by
SFT on a noisy scripted demonstrator that is confidently wrong in two kinds of state (it walks past
the key, and it walks toward the door when the key is behind). The same warm start is shared by every
arm of a seed. GRPO (`guardopt.align.empg.agent_grpo_train` with ``empg=None``: one group-normalized
advantage per episode, on every step) is the baseline; EMPG changes only the advantages.

How the verdict follows the rules of ``docs/reproduce.md``:

1. *The claim as stated*, at 300 updates, 3 seeds: (a) "significantly outperforms": held-out
   success of EMPG ≥ GRPO's + 5 points, as a paired one-sided 95% lower bound over the seeds
   (`paired_gain`, margin 0.05; common random numbers in the evaluation); (b) the stability claim:
   the largest per-update KL(π_old ‖ π_new) over training is lower for EMPG than for GRPO (paired
   lower bound of the reduction > 0); (c) equal budgets: every arm sampled the same number of
   answers.
2. *The paper's settings*: k = k′ = 1, ζ = 0.1, ε = 1e-8, zero-mean final normalization (the
   authors' pseudocode); GRPO with clip 0.2, k3 KL 0.04, group size 8. Our choices (ζ = 0.05 as a
   third-party benchmark configures it; the gradient scaling alone, ζ = 0) are in the sensitivity
   table, never in the verdict.
3. *Baselines tuned with the same budget*: GRPO's and EMPG's learning rates are each chosen from
   the same grid on tuning seeds disjoint from the evaluation seeds (`guardopt.reproduce.tuning`),
   by final success at the full update budget.
4. *No best-of*: one EMPG arm (the paper's settings) decides; the sensitivity variants are reported
   beside it.
5. *Strict criteria*: paired t lower bounds over seeds, not point estimates.
6. *Negative control*: ``empg-constant`` (k = 0, ζ = 0: every step weighted 1, no bonus) is GRPO in
   disguise — a test shows its advantages equal GRPO's — and runs as its own arm with EMPG's learning
   rate; the report shows the success line computed with it in place of EMPG, and a test shows that
   line does not pass on the stored cells.

No third-party implementation of EMPG installs (the authors released pseudocode only; TRL has no
EMPG), so there is no cross-check. Deviations: the paper's agents are 1.5B–32B LLMs on WebShop /
ALFWorld / Deep Search; here a 30k-parameter transformer on a corridor; "KL spike" is read as the
size of each update (exact KL between the sampling policy and the updated one on the batch's answer
tokens), since the paper's KL plots are not reproducible at this scale; one optimizer step per round.
"""

from __future__ import annotations

import functools
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from guardopt.core.seeding import derive_seed
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
from guardopt.reproduce.threads import torch_threads as _torch_threads
from guardopt.reproduce.tuning import TuningResult, tune, tuning_seeds

TASK = "key-door"
METHODS = ("empg", "grpo", "empg-constant")
CONTROL = "empg-constant"
SUCCESS_MARGIN = 0.05  # "≥ GRPO + 5 points", declared before the run
LR_GRID = (3e-4, 1e-3)
# The paper's settings (the authors' pseudocode); our variants for the sensitivity table.
PAPER_EMPG = {"k": 1.0, "k_future": 1.0, "zeta": 0.1}
CONSTANT_EMPG = {"k": 0.0, "k_future": 1.0, "zeta": 0.0}
SENSITIVITY: dict[str, dict[str, float]] = {
    "zeta=0.05": {"k": 1.0, "k_future": 1.0, "zeta": 0.05},
    "scaling only (zeta=0)": {"k": 1.0, "k_future": 1.0, "zeta": 0.0},
}

SETTINGS: dict[str, Any] = {
    "length": 7,
    "horizon": 12,
    "slack": 2,
    "skip_key": 0.9,
    "door_first": 0.9,
    "noise": 0.1,
    "demo_episodes": 400,
    "sft_steps": 300,
    "sft_batch": 64,
    "sft_lr": 3e-3,
    "d_model": 32,
    "n_layers": 1,
    "n_heads": 2,
    "updates": 300,
    "tasks_per_update": 4,
    "group_size": 8,
    "clip_eps": 0.2,
    "kl_beta": 0.04,
    "eval_episodes": 2,
    "curve_every": 50,
    "curve_episodes": 1,
    "tuning_seeds": 1,
    "sensitivity_seeds": 1,
    "torch_threads": 1,
}



def _tools(s: dict[str, Any]) -> tuple[Any, Any, Any]:
    from guardopt.align.tokenizer import Tokenizer
    from guardopt.problems.key_door import KEY_DOOR_VOCAB, KeyDoor, NoisyDemonstrator

    env = KeyDoor(int(s["length"]), int(s["horizon"]), int(s["slack"]))
    demo = NoisyDemonstrator(env, float(s["skip_key"]), float(s["door_first"]), float(s["noise"]))
    return Tokenizer(KEY_DOOR_VOCAB), env, demo


def _lm_config(s: dict[str, Any], vocab: int) -> Any:
    from guardopt.align.model import TinyLMConfig

    return TinyLMConfig(vocab, d_model=int(s["d_model"]), n_layers=int(s["n_layers"]), n_heads=int(s["n_heads"]),
                        max_len=8)


@functools.lru_cache(maxsize=8)
def _warm_start(seed: int, settings_json: str) -> tuple[dict[str, Any], float]:
    """SFT on the demonstrator's episodes (cached: every arm of a seed starts from the same weights)."""
    from guardopt.align.model import TinyCausalLM
    from guardopt.align.trainers import SFTConfig, sft_train

    s = json.loads(settings_json)
    tok, _, demo = _tools(s)
    t0 = time.process_time()
    pairs = demo.demonstrations(int(s["demo_episodes"]), seed=derive_seed(seed, "demos") or 0)
    model = TinyCausalLM(_lm_config(s, len(tok)), seed=derive_seed(seed, "init") or 0)
    sft_train(model, [tok.encode(list(o), bos=True) for o, _ in pairs], [tok.encode(list(a)) for _, a in pairs],
              SFTConfig(steps=int(s["sft_steps"]), batch_size=int(s["sft_batch"]), lr=float(s["sft_lr"])),
              seed=derive_seed(seed, "sft") or 0)
    return {k: v.clone() for k, v in model.state_dict().items()}, time.process_time() - t0


def train_arm(method: str, seed: int, s: dict[str, Any], lr: float, empg: dict[str, float] | None = None,
              curves: bool = True) -> dict[str, Any]:
    """Train one arm from the seed's warm start; return its metrics and curves.

    ``method`` is ``"grpo"`` (trajectory advantages) or an EMPG arm; ``empg`` overrides the
    modulation (default: the paper's settings for ``"empg"``, the constant one for the control).
    """
    from guardopt.align.empg import AgentGRPOConfig, EMPGConfig, agent_grpo_train, evaluate_success
    from guardopt.align.model import TinyCausalLM
    from guardopt.align.trainers import frozen_copy

    tok, env, _ = _tools(s)
    tasks = env.tasks()
    state, _ = _warm_start(seed, json.dumps(s, sort_keys=True))
    model = TinyCausalLM(_lm_config(s, len(tok)))
    model.load_state_dict(state)
    ref = frozen_copy(model)
    eval_seed = derive_seed(seed, "eval") or 0
    n_eval = int(s["eval_episodes"])
    base_success = evaluate_success(model, env, tok, tasks, n_eval, eval_seed)
    if method == "grpo":
        em = None
    else:
        p = empg or (CONSTANT_EMPG if method == CONTROL else PAPER_EMPG)
        em = EMPGConfig(k=float(p["k"]), k_future=float(p["k_future"]), zeta=float(p["zeta"]))
    cfg = AgentGRPOConfig(updates=int(s["updates"]), tasks_per_update=int(s["tasks_per_update"]),
                          group_size=int(s["group_size"]), lr=float(lr), clip_eps=float(s["clip_eps"]),
                          kl_beta=float(s["kl_beta"]))
    curve_seed = derive_seed(seed, "curve") or 0

    def callback(step: int, m: Any) -> dict[str, float]:
        return {"success": evaluate_success(m, env, tok, tasks, int(s["curve_episodes"]), curve_seed)}

    t0 = time.process_time()
    log = agent_grpo_train(model, ref, env, tok, tasks, cfg, seed=derive_seed(seed, "rl") or 0, empg=em,
                           callback=callback if curves else None, every=int(s["curve_every"]) if curves else 0)
    cpu = time.process_time() - t0
    success = evaluate_success(model, env, tok, tasks, n_eval, eval_seed)
    kl = np.array([r["update_kl"] for r in log.rows], dtype=float)
    ref_kl = np.array([r["ref_kl"] for r in log.rows], dtype=float)
    metrics = {
        "success": success,
        "base_success": base_success,
        "max_update_kl": float(kl.max()) if kl.size else math.nan,
        "mean_update_kl": float(kl.mean()) if kl.size else math.nan,
        "final_ref_kl": float(ref_kl[-1]) if ref_kl.size else math.nan,
        "final_step_entropy": float(log.rows[-1]["step_entropy"]) if log.rows else math.nan,
        "generations": float(log.generations),
        "eval_episodes_total": float(n_eval * len(tasks)),
        "lr": float(lr),
        "cpu_seconds_rl": cpu,
    }
    out_curves: dict[str, list[float]] = {}
    if curves:
        out_curves = {
            "success": [e["success"] for e in log.evals],
            "success_step": [e["step"] for e in log.evals],
            "update_kl": kl.tolist(),
            "ref_kl": ref_kl.tolist(),
            "train_reward": [r["reward"] for r in log.rows],
        }
    return {"metrics": metrics, "curves": out_curves}


@functools.lru_cache(maxsize=8)
def tuned_lr(method: str, settings_json: str) -> TuningResult:
    """A learning rate chosen from `LR_GRID` on tuning seeds by final success (the same grid and budget
    for GRPO and EMPG; the negative control takes EMPG's)."""
    if method == CONTROL:
        return tuned_lr("empg", settings_json)
    s = json.loads(settings_json)
    n = int(s["tuning_seeds"])
    if n < 1:
        return TuningResult({"lr": LR_GRID[-1]}, (({"lr": LR_GRID[-1]}, math.nan),), (tuning_seeds(1)[0],), True)

    def score(setting: Any, seed: int) -> float:
        return float(train_arm(method, seed, s, float(setting["lr"]), curves=False)["metrics"]["success"])

    return tune(score, {"lr": list(LR_GRID)}, tuning_seeds(n))


def run_cell(cell: Cell) -> CellResult:
    """Train one arm on one seed's warm start and evaluate its success on fresh episodes."""
    s = {**SETTINGS, **dict(cell.settings)}
    threads = _torch_threads(s)
    import torch

    torch.set_num_threads(threads)
    sj = json.dumps(s, sort_keys=True)
    t0 = time.perf_counter()
    tuning = tuned_lr(cell.method, sj)
    lr = float(tuning.chosen["lr"])
    res = train_arm(cell.method, cell.seed, s, lr)
    metrics = dict(res["metrics"])
    metrics["cpu_seconds_sft"] = _warm_start(cell.seed, sj)[1]
    for setting, score in tuning.scores:
        metrics[f"tune_score_lr_{setting['lr']:g}"] = score
    if cell.method == "empg" and cell.seed < int(s["sensitivity_seeds"]):
        for i, (_, params) in enumerate(SENSITIVITY.items()):
            r = train_arm("empg", cell.seed, s, lr, empg=params, curves=False)["metrics"]
            metrics[f"sens_{i}_success"] = r["success"]
            metrics[f"sens_{i}_max_update_kl"] = r["max_update_kl"]
    metrics["seconds"] = time.perf_counter() - t0
    return CellResult(metrics=metrics, curves=res["curves"])


# --------------------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------------------


def success_check(results: Results, method: str = "empg", baseline: str = "grpo") -> Evidence:
    """Held-out success of ``method`` ≥ ``baseline`` + 5 points (paired one-sided 95% lower bound over seeds)."""
    ours, base = results.paired("success", (TASK, method), (TASK, baseline))
    return paired_gain(f"success({method}) − success({baseline}) ≥ {SUCCESS_MARGIN:g} at the update budget",
                       ours, base, margin=SUCCESS_MARGIN)


def kl_check(results: Results, method: str = "empg", baseline: str = "grpo") -> Evidence:
    """The largest per-update KL over training is lower for ``method`` (paired lower bound of the reduction > 0)."""
    ours, base = results.paired("max_update_kl", (TASK, method), (TASK, baseline))
    return paired_gain(f"max per-update KL: {baseline} − {method} > 0", ours, base, margin=0.0,
                       higher_is_better=False)


def budget_check(results: Results) -> Evidence:
    """Every arm sampled the same number of answers (the same budget)."""
    gens = {m: results.metric("generations", TASK, m) for m in ("empg", "grpo")}
    vals = np.concatenate([g[np.isfinite(g)] for g in gens.values()])
    if vals.size == 0:
        return Evidence("equal generation budget (EMPG vs GRPO)", math.nan, 0.0, False)
    spread = float(vals.max() - vals.min())
    return Evidence("equal generation budget (EMPG vs GRPO): max − min answers sampled", spread, 0.0,
                    spread <= 0.0, detail=f"{int(vals.max())} answers per arm and seed")


def verdict(results: Results) -> Verdict:
    """HOLDS when EMPG beats GRPO by 5 points, its largest update is smaller, and the budgets are equal."""
    return Verdict.from_evidence([success_check(results), kl_check(results), budget_check(results)])


def _mean(results: Results, name: str, m: str, fmt: str = ".3f") -> str:
    from guardopt.reproduce.tables import format_mean_se

    v = results.metric(name, TASK, m)
    v = v[np.isfinite(v)]
    return format_mean_se(v, digits=int(fmt[1])) if v.size else "–"


def _sens_paper(results: Results, name: str, fmt: str = ".3f") -> str:
    """The paper-setting EMPG arm on the seeds that ran the sensitivity variants."""
    from guardopt.reproduce.tables import format_mean_se

    seeds = results.seeds(TASK, "empg")
    flags = results.metric("sens_0_success", TASK, "empg")
    v = results.metric(name, TASK, "empg")
    keep = np.array([np.isfinite(f) for f in flags], dtype=bool) if len(seeds) else np.zeros(0, bool)
    v = v[keep & np.isfinite(v)]
    return format_mean_se(v, digits=int(fmt[1])) if v.size else "–"


def extra_markdown(results: Results) -> str:
    """Arms beside the paper's numbers, the negative control, the sensitivity and tuning tables."""
    arms = [m for m in METHODS if m in results.methods]
    lines = ["### Arms (mean ± SE over seeds)", "",
             "| arm | success | warm-start success | max update KL | mean update KL | final KL to ref | "
             "final step entropy | answers sampled | lr |", "|---|---|---|---|---|---|---|---|---|"]
    for m in arms:
        lines.append(f"| {m} | {_mean(results, 'success', m)} | {_mean(results, 'base_success', m)} | "
                     f"{_mean(results, 'max_update_kl', m, '.4f')} | {_mean(results, 'mean_update_kl', m, '.5f')} | "
                     f"{_mean(results, 'final_ref_kl', m, '.4f')} | {_mean(results, 'final_step_entropy', m)} | "
                     f"{_mean(results, 'generations', m, '.0f')} | {_mean(results, 'lr', m, '.4f')} |")
    lines += ["", "The paper's own numbers, for scale (success %, Qwen2.5-1.5B, GRPO → GRPO+EMPG): ALFWorld "
              "65.6 → 73.7 (+8.1), WebShop 58.2 → 60.8 (+2.6); DAPO+EMPG on 7B: ALFWorld 90.0 → 91.6, "
              "WebShop 79.6 → 82.7.", ""]
    neg = success_check(results, CONTROL)
    neg_kl = kl_check(results, CONTROL)
    lines += ["### Negative control", "",
              f"`{CONTROL}` (k = 0, ζ = 0: every step weighted 1, no bonus — GRPO's advantages) in place of "
              "EMPG:", "",
              f"- success line: {neg.outcome.value if neg.outcome else ''} — value {neg.value:.4g} vs "
              f"threshold {SUCCESS_MARGIN:g} ({neg.detail})",
              f"- KL line: {neg_kl.outcome.value if neg_kl.outcome else ''} — value {neg_kl.value:.4g} "
              f"({neg_kl.detail})", ""]
    same_lr = success_check(results, "empg", CONTROL)
    same_lr_kl = kl_check(results, "empg", CONTROL)
    lines += ["### Diagnostic: EMPG against GRPO's advantages at EMPG's learning rate (not in the verdict)", "",
              "The tuned learning rates can differ between GRPO and EMPG, and the size of an update grows with "
              f"the learning rate. `{CONTROL}` trains GRPO's advantages with EMPG's learning rate from the same "
              "warm starts, so EMPG against it isolates the modulation:", "",
              f"- success gain of EMPG: {same_lr.detail}",
              f"- reduction of the largest per-update KL by EMPG: {same_lr_kl.detail}", ""]
    sens_rows = []
    for i, name in enumerate(SENSITIVITY):
        succ = results.metric(f"sens_{i}_success", TASK, "empg")
        if not np.isfinite(succ).any():
            continue
        sens_rows.append(f"| {name} | {_mean(results, f'sens_{i}_success', 'empg')} | "
                         f"{_mean(results, f'sens_{i}_max_update_kl', 'empg', '.4f')} |")
    if sens_rows:
        lines += ["### Sensitivity (our choices; not in the verdict)", "",
                  "EMPG variants trained from the same warm start with EMPG's tuned learning rate, on the "
                  f"first {int(SETTINGS['sensitivity_seeds'])} evaluation seed(s) (the paper row: the same seeds):",
                  "",
                  "| variant | success | max update KL |", "|---|---|---|",
                  f"| paper (k = k′ = 1, ζ = 0.1) | {_sens_paper(results, 'success')} | "
                  f"{_sens_paper(results, 'max_update_kl', '.4f')} |", *sens_rows, ""]
    lines += ["### Learning-rate tuning", "",
              f"Grid {list(LR_GRID)}, one full-budget run per learning rate on tuning seeds (disjoint from the "
              "evaluation seeds), scored by final success; the negative control takes EMPG's rate.", "",
              "| arm | " + " | ".join(f"lr {lr:g}" for lr in LR_GRID) + " | chosen |",
              "|---|" + "---|" * (len(LR_GRID) + 1)]
    for m in ("empg", "grpo"):
        if m not in arms:
            continue
        scores = [_mean(results, f"tune_score_lr_{lr:g}", m) for lr in LR_GRID]
        lines.append(f"| {m} | " + " | ".join(scores) + f" | {_mean(results, 'lr', m, '.4f')} |")
    lines += ["", "Settings: `" + json.dumps(SETTINGS) + "`", ""]
    return "\n".join(lines)


def plots(results: Results, outdir: Path) -> list[Path]:
    """Held-out success against updates, and the per-update KL, one line per arm."""
    from guardopt.reproduce.plotting import learning_curves

    out = Path(outdir)
    arms = [m for m in METHODS if m in results.methods]
    if not results.done:
        return []
    steps = results.curves("success_step", TASK, arms[0])
    x = steps[0].tolist() if steps.size else None
    paths = [learning_curves(results, "success", out / "empg_success.png", methods=arms, x=x, xlabel="update",
                             ylabel="success rate (fresh episodes)", title="Success during training")]
    paths.append(learning_curves(results, "update_kl", out / "empg_update_kl.png", methods=arms, xlabel="update",
                                 ylabel="KL(π_old ‖ π_new) of the update", title="Per-update KL", logy=True))
    return paths


NOTES = """\
**Task.** KeyDoor (`guardopt.problems.key_door`): a 7-cell corridor; the agent sees two words (the
key's offset or `kh`, the door's offset), answers a think word and an action word, and must pick the
key and open the door within 12 steps; reward 1 at the end on success, else 0; every episode lasts 12
steps. 190 placements of agent, key and door whose shortest solution takes ≤ 10 steps.

**Warm start.** A 1-layer, d = 32, 2-head causal transformer fitted per seed (300 SFT steps) to 400
episodes of a scripted demonstrator that walks past the key w.p. 0.9, walks toward the door when the
key is behind w.p. 0.9, and otherwise takes a random action w.p. 0.1 — confidently wrong in two kinds
of state. All arms of a seed start from the same weights.

**Arms, at one budget.** Each update plays 8 episodes of each of 4 tasks (32 episodes, 384 step
answers) with the current policy, normalizes the rewards within each task's group, and takes one Adam
step of the GRPO surrogate (clip 0.2, k3 KL to the warm start 0.04) over one row per step. GRPO gives
every step its episode's advantage; EMPG the step-modulated one; the negative control EMPG with k = 0,
ζ = 0. Success is measured after the last update on 2 fresh episodes of each of the 190 tasks (common
random numbers across arms); the curves on 1 episode per task every 50 updates.
"""

REPRODUCTION = Reproduction(
    name="empg",
    paper=Paper(
        title="Harnessing Uncertainty: Entropy-Modulated Policy Gradients for Long-Horizon LLM Agents",
        year=2025,
        url="https://arxiv.org/abs/2509.09265",
    ),
    claim=("EMPG (step-level entropy modulation of the policy gradient plus a future-clarity bonus) achieves "
           "substantial performance gains and significantly outperforms strong policy-gradient baselines "
           "(GRPO) on long-horizon agent tasks, with more stable training."),
    tasks=(TASK,),
    methods=METHODS,
    metrics=("success", "base_success", "max_update_kl", "mean_update_kl", "final_ref_kl", "final_step_entropy",
             "generations", "lr", "seconds"),
    scales={
        "quick": Scale(seeds=1, settings={"updates": 30, "demo_episodes": 200, "sft_steps": 200, "eval_episodes": 1,
                                          "curve_every": 15, "tuning_seeds": 0, "sensitivity_seeds": 0}),
        "full": Scale(seeds=3, settings={}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    notes=NOTES,
)
