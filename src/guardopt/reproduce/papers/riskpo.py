"""Reproduction ``riskpo``: the mixed value-at-risk objective with question bundling against GRPO.

Paper: "RiskPO: Risk-based Policy Optimization via Verifiable Reward for LLM Post-Training" (arXiv
2510.00911, ICLR 2026). The abstract's claims: mean-based methods such as GRPO "suffer from entropy
collapse and limited reasoning gains"; the risk-averse update "alleviates entropy collapse and
promotes exploration"; RiskPO surpasses GRPO "on both Pass@1 and Pass@k".

Substrate: carry addition (`guardopt.problems.carry_addition`, two 2-digit operands, the hard split
is every prompt with a carry) and a 2-layer, d = 64 causal transformer (`guardopt.align.model`)
pre-trained from scratch per seed on a corpus in which 70% of the carry prompts are answered with the
no-carry shortcut, so the base policy has the shortcut as its dominant mode on hard prompts. Every
arm of a seed starts from that seed's base. Rewards are exact (`verify`).

How the verdict follows the rules of ``docs/reproduce.md``:

1. *The claim as stated*, each its own line: (a) entropy after N updates: the token entropy of
   RiskPO's rollouts on held-out hard prompts is at least 2× GRPO's (paired over seeds: the 95% lower
   bound of mean(H_RiskPO − 2·H_GRPO) above 0); (b) the mechanism of the paper's theorem (ΔH ≈
   −η·Cov(log π, A)): the batch covariance of sequence log-probability and advantage is smaller for
   RiskPO than for GRPO in at least 80% of batches (batch t of RiskPO against batch t of GRPO on the
   same seed, pooled; Clopper–Pearson lower bound, `rate_above`); (c) Pass@1 on the hard split
   RiskPO > GRPO (paired over seeds, `paired_gain`); (d) Pass@k on the hard split, k = 16 (the
   paper's pass@k curves go to larger k on real benchmarks; scaled to 16 samples per prompt here),
   RiskPO > GRPO (paired).
2. *The paper's settings*: α = 0.2, β = 0.9, ω = 1.5, bundle size 5, 5 rollouts per question, lr_q =
   0.1, tracked quantiles, per-question standard-deviation credit, no KL, no entropy bonus — the
   authors' released training script; both arms share sampling, clipped surrogate (ε = 0.2), batch
   (20 questions × 5 rollouts) and number of updates.
3. *Tuning with the same budget on disjoint seeds*: the learning rate of GRPO and of RiskPO is chosen
   from the same grid on tuning seeds (`guardopt.reproduce.tuning`) by held-out hard-split pass@1;
   the negative control uses RiskPO's. Our choices (β = 0.8 and ω = 0.5, the setting the paper's text
   reports as its best ablation; no bundling; batch quantiles) are in a sensitivity table, never in
   the verdict.
4. *No best-of*: one RiskPO arm decides; the sensitivity variants are reported only.
5. *Strict criteria*: paired one-sided bounds over seeds; Clopper–Pearson for the batch share.
6. *Negative control*: RiskPO with the risk band covering the whole distribution (α = 0, β = 1,
   ω = 0: with tracked quantiles at the extremes the advantage is S − q_max, the mean objective with
   a constant baseline) runs as its own arm; a unit test shows that its numbers in RiskPO's place
   make the entropy line FAIL.

Third-party cross-check: TRL's ``GRPOTrainer`` is the maintained GRPO; its loss is checked against
ours in tests/align/test_align_trl.py (an existing test); the RiskPO advantages plug into the same
loss through `guardopt.align.trainers.grpo_train`'s ``advantage_fn``. A TRL run on this substrate is
not part of this reproduction (a Hugging Face model pre-trained on the carry corpus did not fit the
time budget).
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
from guardopt.reproduce.criteria import equal_budget, paired_gain, rate_above
from guardopt.reproduce.spec import Cell, CellResult, Evidence, Paper, Reproduction, Results, Scale, Verdict
from guardopt.reproduce.threads import torch_threads as _torch_threads
from guardopt.reproduce.tuning import TuningResult, tune, tuning_seeds

TASK = "carry-addition"
METHODS = ("riskpo", "grpo", "riskpo-mean", "base")
TRAINED = ("riskpo", "grpo", "riskpo-mean")
ENTROPY_RATIO = 2.0
COV_SHARE = 0.80
LR_GRID = (1e-4, 3e-4)
#: Our choices, reported beside the verdict: name -> RiskPOConfig overrides.
SENSITIVITY: dict[str, dict[str, Any]] = {
    "beta0.8-omega0.5": {"beta": 0.8, "omega": 0.5},
    "no-bundling": {"bundle_size": 1},
    "batch-quantiles": {"quantile_mode": "batch"},
}
#: The paper's settings (the released script) for the verdict arm.
PAPER_RISKPO: dict[str, Any] = {"alpha": 0.2, "beta": 0.9, "omega": 1.5, "bundle_size": 5, "lr_q": 0.1,
                                "quantile_mode": "track", "credit": "std"}
CONTROL_RISKPO: dict[str, Any] = {**PAPER_RISKPO, "alpha": 0.0, "beta": 1.0, "omega": 0.0}

SETTINGS: dict[str, Any] = {
    "digits": 2,
    "shortcut": 0.7,
    "corpus": 20000,
    "pretrain_steps": 600,
    "pretrain_batch": 128,
    "pretrain_lr": 3e-3,
    "iterations": 150,
    "prompts_per_iter": 20,
    "group_size": 5,
    "clip_eps": 0.2,
    "eval_hard": 200,
    "eval_easy": 100,
    "k_max": 16,
    "curve_points": 6,
    "curve_prompts": 50,
    "curve_samples": 4,
    "tuning_seeds": 1,
    "tuning_eval": 100,
    "sensitivity": True,
    "torch_threads": 1,
}



def k_values(k_max: int) -> list[int]:
    """Powers of two up to ``k_max`` (and ``k_max`` itself)."""
    ks = [1]
    while ks[-1] * 2 <= k_max:
        ks.append(ks[-1] * 2)
    return ks if ks[-1] == k_max else [*ks, k_max]


def pass_at_k(correct: int, n: int, k: int) -> float:
    """The unbiased pass@k estimator ``1 − C(n−c, k) / C(n, k)`` from ``c`` correct of ``n`` samples (k ≤ n)."""
    if not 0 <= correct <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= correct <= n and 1 <= k <= n; got c={correct}, n={n}, k={k}")
    if n - correct < k:
        return 1.0
    return 1.0 - math.comb(n - correct, k) / math.comb(n, k)


# --------------------------------------------------------------------------------------------------
# Substrate
# --------------------------------------------------------------------------------------------------


def _tools(s: dict[str, Any]) -> tuple[Any, Any]:
    from guardopt.align.tokenizer import Tokenizer
    from guardopt.problems.carry_addition import CARRY_ADDITION_VOCAB, CarryAddition

    return Tokenizer(CARRY_ADDITION_VOCAB), CarryAddition(digits=int(s["digits"]), shortcut=float(s["shortcut"]))


@functools.lru_cache(maxsize=8)
def _base_state(seed: int, settings_json: str) -> tuple[dict[str, Any], float]:
    """Pre-train the base policy of a seed (cached in the process: every arm of the seed shares it)."""
    from guardopt.align.model import TinyCausalLM, TinyLMConfig
    from guardopt.align.trainers import SFTConfig, sft_train

    s = json.loads(settings_json)
    tok, task = _tools(s)
    t0 = time.process_time()
    corpus = task.base_corpus(int(s["corpus"]), seed=derive_seed(seed, "corpus") or 0)
    model = TinyCausalLM(TinyLMConfig(len(tok), max_len=task.max_len), seed=derive_seed(seed, "init") or 0)
    sft_train(model, [tok.encode(p.tokens(), bos=True) for p, _ in corpus], [tok.encode(c) for _, c in corpus],
              SFTConfig(steps=int(s["pretrain_steps"]), batch_size=int(s["pretrain_batch"]),
                        lr=float(s["pretrain_lr"])),
              seed=derive_seed(seed, "pretrain") or 0)
    return {k: v.clone() for k, v in model.state_dict().items()}, time.process_time() - t0


def _fresh_model(seed: int, s: dict[str, Any]) -> Any:
    from guardopt.align.model import TinyCausalLM, TinyLMConfig

    tok, task = _tools(s)
    state, _ = _base_state(seed, json.dumps(s, sort_keys=True))
    model = TinyCausalLM(TinyLMConfig(len(tok), max_len=task.max_len))
    model.load_state_dict(state)
    return model


def _sample_split(model: Any, s: dict[str, Any], seed: int, split: str, n: int, k: int, salt: str
                  ) -> tuple[np.ndarray, float, float]:
    """``k`` samples per held-out prompt: correctness ``(n, k)``, token entropy, shortcut share."""
    import torch

    from guardopt.align.model import sample
    from guardopt.align.riskpo import token_entropy
    from guardopt.problems.carry_addition import verify

    tok, task = _tools(s)
    ps = task.prompts(n, seed=derive_seed(seed, salt, split) or 0, split=split)
    pre = [tok.encode(p.tokens(), bos=True) for p in ps for _ in range(k)]
    gen = torch.Generator().manual_seed(derive_seed(seed, salt, split, "sample") or 0)
    comps = sample(model, pre, int(s["digits"]) + 2, tok.eos_id, gen)
    words = [tok.tokens(c) for c in comps]
    ok = np.array([verify(ps[i // k], w) for i, w in enumerate(words)]).reshape(n, k)
    short = float(np.mean([w == ps[i // k].shortcut() and ps[i // k].carries > 0 for i, w in enumerate(words)]))
    return ok, token_entropy(model, pre, comps), short


def _reward_fn(s: dict[str, Any]) -> Any:
    from guardopt.problems.carry_addition import verify

    tok, _ = _tools(s)
    return lambda p, c: verify(p, tok.tokens(c))


def train_arm(method: str, seed: int, s: dict[str, Any], lr: float, overrides: dict[str, Any] | None = None,
              curves: bool = True, eval_hard: int | None = None) -> dict[str, Any]:
    """Train one arm from the seed's base policy (same batch and number of updates), then evaluate it."""
    import torch

    from guardopt.align.riskpo import RiskPOConfig, riskpo_train
    from guardopt.align.trainers import GRPOConfig, frozen_copy, grpo_train

    torch.set_num_threads(_torch_threads(s))
    tok, task = _tools(s)
    model = _fresh_model(seed, s)
    ref = frozen_copy(model)
    n_curve, k_curve = int(s["curve_prompts"]), int(s["curve_samples"])

    def callback(step: int, m: Any) -> dict[str, float]:
        ok, ent, _ = _sample_split(m, s, seed, "hard", n_curve, k_curve, "curve")
        return {"entropy": ent, "hard_pass1": float(ok.mean())}

    iters = int(s["iterations"])
    gcfg = GRPOConfig(iterations=iters, prompts_per_iter=int(s["prompts_per_iter"]), group_size=int(s["group_size"]),
                      lr=lr, clip_eps=float(s["clip_eps"]), kl_beta=0.0, max_new=int(s["digits"]) + 2)
    train_prompts = task.prompts(20 * iters * gcfg.prompts_per_iter // 10 + 100,
                                 seed=derive_seed(seed, "train-prompts") or 0)
    encode = lambda p: tok.encode(p.tokens(), bos=True)  # noqa: E731
    cb = callback if curves else None
    every = max(1, iters // max(1, int(s["curve_points"]) - 1))
    log = None
    t0 = time.process_time()
    if method == "grpo":
        log = grpo_train(model, ref, train_prompts, encode, _reward_fn(s), gcfg, seed=derive_seed(seed, "rl") or 0,
                         eos_id=tok.eos_id, callback=cb, every=every)
    elif method in ("riskpo", "riskpo-mean"):
        kw = {**(PAPER_RISKPO if method == "riskpo" else CONTROL_RISKPO), **(overrides or {})}
        rcfg = RiskPOConfig(grpo=gcfg, **kw)
        log = riskpo_train(model, ref, train_prompts, encode, _reward_fn(s), rcfg, seed=derive_seed(seed, "rl") or 0,
                           eos_id=tok.eos_id, callback=cb, every=every)
    elif method != "base":
        raise ValueError(f"unknown method {method!r}")
    cpu = time.process_time() - t0
    k_max = int(s["k_max"])
    n_hard = int(s["eval_hard"]) if eval_hard is None else int(eval_hard)
    ok, ent, short = _sample_split(model, s, seed, "hard", n_hard, k_max, "eval")
    ok_easy, ent_easy, _ = _sample_split(model, s, seed, "easy", int(s["eval_easy"]), k_max, "eval")
    c = ok.sum(axis=1).astype(int)
    metrics: dict[str, float] = {
        "hard_pass1": float(ok.mean()),
        f"hard_pass{k_max}": float(np.mean([pass_at_k(int(ci), k_max, k_max) for ci in c])),
        "easy_pass1": float(ok_easy.mean()),
        "entropy": ent,
        "entropy_easy": ent_easy,
        "shortcut_share": short,
        "lr": float(lr),
        "cpu_seconds_train": cpu,
        "generations": float(log.generations) if log is not None else 0.0,
    }
    out_curves: dict[str, list[float]] = {
        "pass_at_k": [float(np.mean([pass_at_k(int(ci), k_max, k) for ci in c])) for k in k_values(k_max)],
    }
    if log is not None:
        out_curves["cov_logp_adv"] = [r["cov_logp_adv"] for r in log.rows]
        out_curves["train_reward"] = [r["reward"] for r in log.rows]
        if log.evals:
            out_curves["entropy_curve"] = [r["entropy"] for r in log.evals]
            out_curves["hard_pass1_curve"] = [r["hard_pass1"] for r in log.evals]
            out_curves["curve_step"] = [r["step"] for r in log.evals]
        metrics["mean_cov_logp_adv"] = float(np.mean(out_curves["cov_logp_adv"]))
    return {"metrics": metrics, "curves": out_curves}


@functools.lru_cache(maxsize=16)
def tuned_lr(method: str, settings_json: str) -> TuningResult:
    """Learning rate of an arm from `LR_GRID` on tuning seeds (same grid and budget for both arms)."""
    s = json.loads(settings_json)
    n = int(s["tuning_seeds"])
    if n < 1:
        return TuningResult({"lr": LR_GRID[-1]}, (({"lr": LR_GRID[-1]}, math.nan),), (tuning_seeds(1)[0],), True)
    return tune(lambda setting, seed: train_arm(method, seed, s, float(setting["lr"]), curves=False,
                                                eval_hard=int(s["tuning_eval"]))["metrics"]["hard_pass1"],
                {"lr": list(LR_GRID)}, tuning_seeds(n))


def run_cell(cell: Cell) -> CellResult:
    """Train one arm on one seed's base policy and evaluate it on held-out prompts."""
    s = {**SETTINGS, **dict(cell.settings)}
    import torch

    torch.set_num_threads(_torch_threads(s))
    sj = json.dumps(s, sort_keys=True)
    t0 = time.perf_counter()
    if cell.method == "base":
        res = train_arm("base", cell.seed, s, lr=LR_GRID[0], curves=False)
        res["metrics"]["cpu_seconds_pretrain"] = _base_state(cell.seed, sj)[1]
        res["metrics"]["seconds"] = time.perf_counter() - t0
        return CellResult(metrics=res["metrics"], curves=res["curves"])
    tuning = tuned_lr("riskpo" if cell.method == "riskpo-mean" else cell.method, sj)
    lr = float(tuning.chosen["lr"])
    res = train_arm(cell.method, cell.seed, s, lr)
    metrics = dict(res["metrics"])
    for setting, score in tuning.scores:
        metrics[f"tune_score_lr_{setting['lr']:g}"] = score
    if s.get("sensitivity") and cell.method == "riskpo":
        k_max = int(s["k_max"])
        for name, over in SENSITIVITY.items():
            r = train_arm("riskpo", cell.seed, s, lr, overrides=over, curves=False)
            for key in ("hard_pass1", f"hard_pass{k_max}", "entropy", "mean_cov_logp_adv"):
                metrics[f"sens_{name}_{key}"] = r["metrics"][key]
    metrics["seconds"] = time.perf_counter() - t0
    return CellResult(metrics=metrics, curves=res["curves"])


# --------------------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------------------


def _k_max(results: Results) -> int:
    for r in results.done:
        for key in r.metrics:
            if key.startswith("hard_pass") and key != "hard_pass1" and key[9:].isdigit():
                return int(key[9:])
    return int(SETTINGS["k_max"])


def entropy_check(results: Results, method: str = "riskpo") -> Evidence:
    """Entropy of ``method`` after N updates ≥ 2× GRPO's: 95% lower bound of mean(H − 2·H_GRPO) > 0."""
    a, b = results.paired("entropy", (TASK, method), (TASK, "grpo"))
    return paired_gain(f"entropy after N updates of {method} ≥ {ENTROPY_RATIO:g}× GRPO's (held-out hard prompts; "
                       "paired over seeds, 95% lower bound of H − 2·H_GRPO)", a, ENTROPY_RATIO * b)


def covariance_check(results: Results, method: str = "riskpo") -> Evidence:
    """Cov(log π, A) of ``method``'s batch t below GRPO's batch t (same seed) in > 80% of batches (CP lower bound)."""
    k = n = 0
    for seed in results.seeds(TASK, method):
        a = [r for r in results.done if r.method == method and r.seed == seed and "cov_logp_adv" in r.curves]
        b = [r for r in results.done if r.method == "grpo" and r.seed == seed and "cov_logp_adv" in r.curves]
        if not a or not b:
            continue
        ca, cb = np.asarray(a[0].curves["cov_logp_adv"], float), np.asarray(b[0].curves["cov_logp_adv"], float)
        m = min(ca.size, cb.size)
        ok = np.isfinite(ca[:m]) & np.isfinite(cb[:m])
        k += int((ca[:m][ok] < cb[:m][ok]).sum())
        n += int(ok.sum())
    return rate_above(f"batch Cov(log π, A) of {method} below GRPO's in ≥ {COV_SHARE:.0%} of batches "
                      "(batch t vs batch t, same seed)", k, n, COV_SHARE)


def pass_check(results: Results, metric: str, label: str, method: str = "riskpo") -> Evidence:
    """``metric`` of ``method`` above GRPO's, paired over seeds (95% lower bound of the gain > 0)."""
    a, b = results.paired(metric, (TASK, method), (TASK, "grpo"))
    return paired_gain(f"{label} on the hard split: {method} > GRPO (paired over seeds)", a, b)


def budget_check(results: Results) -> Evidence:
    """Every trained arm sampled the same number of completions per seed."""
    counts = [results.metric("generations", TASK, m) for m in TRAINED if m in results.methods]
    return equal_budget("equal budget: max / min completions sampled per trained arm and seed",
                        np.concatenate(counts) if counts else [])


def verdict(results: Results) -> Verdict:
    """The paper's claims at the released settings (see the module docstring)."""
    k = _k_max(results)
    return Verdict.from_evidence([
        entropy_check(results),
        covariance_check(results),
        pass_check(results, "hard_pass1", "Pass@1"),
        pass_check(results, f"hard_pass{k}", f"Pass@{k}"),
        budget_check(results),
    ])


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _mean(results: Results, name: str, m: str, fmt: str = ".3f") -> str:
    v = results.metric(name, TASK, m)
    v = v[np.isfinite(v)]
    if not v.size:
        return "–"
    if v.size == 1:
        return format(float(v[0]), fmt)
    return f"{format(float(v.mean()), fmt)} ± {format(float(v.std(ddof=1) / math.sqrt(v.size)), fmt)}"


def extra_markdown(results: Results) -> str:
    """Per-arm table beside the paper's numbers, negative control, sensitivity, tuning, cross-check."""
    k = _k_max(results)
    methods = [m for m in METHODS if m in results.methods]
    lines = ["### Held-out numbers per arm (mean ± standard error over seeds)", "",
             f"| arm | hard Pass@1 | hard Pass@{k} | easy Pass@1 | entropy (hard) | no-carry shortcut share (hard) | "
             "mean batch Cov(log π, A) | completions per seed |", "|---|---|---|---|---|---|---|---|"]
    for m in methods:
        lines.append(f"| {m} | {_mean(results, 'hard_pass1', m)} | {_mean(results, f'hard_pass{k}', m)} | "
                     f"{_mean(results, 'easy_pass1', m)} | {_mean(results, 'entropy', m)} | "
                     f"{_mean(results, 'shortcut_share', m)} | {_mean(results, 'mean_cov_logp_adv', m, '.4f')} | "
                     f"{_mean(results, 'generations', m, '.0f')} |")
    lines += ["", "The paper (DeepSeek-R1-Distill-Qwen-1.5B on DAPO-Math-17K, as summarized secondhand): hard-math "
              "average Pass@1 46.65 (RiskPO) vs 40.41 (GRPO), AIME24 33.3 vs 26.6, a Pass@k gap that grows with k, "
              "and an entropy that stays higher during training.", ""]
    neg = entropy_check(results, "riskpo-mean")
    lines += ["### Negative control", "",
              "RiskPO with the risk band covering the whole distribution (α = 0, β = 1, ω = 0: the mean objective "
              f"with a constant baseline), at RiskPO's learning rate: its entropy line reads "
              f"**{neg.outcome.value if neg.outcome else '?'}** — {neg.check}: {neg.value:.4f} vs "
              f"{neg.threshold if neg.threshold is not None else math.nan:.4f} ({neg.detail}).", ""]
    lines += ["### Sensitivity to our choices (not in the verdict)", "",
              f"| variant | hard Pass@1 | hard Pass@{k} | entropy | mean batch Cov(log π, A) |",
              "|---|---|---|---|---|",
              f"| released settings (verdict) | {_mean(results, 'hard_pass1', 'riskpo')} | "
              f"{_mean(results, f'hard_pass{k}', 'riskpo')} | {_mean(results, 'entropy', 'riskpo')} | "
              f"{_mean(results, 'mean_cov_logp_adv', 'riskpo', '.4f')} |"]
    for name in SENSITIVITY:
        lines.append(f"| {name} | {_mean(results, f'sens_{name}_hard_pass1', 'riskpo')} | "
                     f"{_mean(results, f'sens_{name}_hard_pass{k}', 'riskpo')} | "
                     f"{_mean(results, f'sens_{name}_entropy', 'riskpo')} | "
                     f"{_mean(results, f'sens_{name}_mean_cov_logp_adv', 'riskpo', '.4f')} |")
    lines += ["", "Variants: `beta0.8-omega0.5` is the setting the paper's text reports as its best ablation; "
              "`no-bundling` scores every question on its own (B = 1); `batch-quantiles` uses each bundle's "
              "sample quantiles instead of the tracked ones.", ""]
    lines += ["### Tuning (learning rate; same grid, batch and number of updates for both arms)", "",
              "| arm | " + " | ".join(f"hard Pass@1 at lr={lr:g}" for lr in LR_GRID) + " | chosen lr |",
              "|---|" + "---|" * (len(LR_GRID) + 1)]
    for m in [x for x in methods if x != "base"]:
        scores = [_mean(results, f"tune_score_lr_{lr:g}", m) for lr in LR_GRID]
        lines.append(f"| {m} | " + " | ".join(scores) + f" | {_mean(results, 'lr', m, 'g')} |")
    lines += ["", "Tuning seeds start at 1,000,000 (disjoint from the evaluation seeds); `riskpo-mean` reuses "
              "RiskPO's choice. A choice at the edge of the grid means the grid was narrow for that arm.", ""]
    lines += ["### Third-party cross-check: TRL's GRPOTrainer", "",
              "Not run on this substrate. The clipped surrogate both arms train with is the one "
              "tests/align/test_align_trl.py checks against TRL's own `GRPOTrainer` loss on a tiny random "
              "Llama (offline); RiskPO changes only the advantages fed to it.", ""]
    lines += ["Settings: `" + json.dumps(SETTINGS) + "`", ""]
    return "\n".join(lines)


def plots(results: Results, outdir: Path) -> list[Path]:
    """Entropy of held-out hard rollouts during training, and pass@k against k, one line per arm."""
    from guardopt.reproduce.plotting import learning_curves

    out = Path(outdir)
    arms = [m for m in METHODS if m in results.methods]
    trained = [m for m in arms if m != "base"]
    if not results.done:
        return []
    paths = []
    steps = results.curves("curve_step", TASK, "grpo")
    if steps.size:
        paths.append(learning_curves(results, "entropy_curve", out / "riskpo_entropy.png", methods=trained,
                                     x=[float(v) for v in steps[0]], xlabel="RL update",
                                     ylabel="token entropy of held-out hard rollouts (nats)",
                                     title="Entropy during training"))
    paths.append(learning_curves(results, "pass_at_k", out / "riskpo_pass_at_k.png", methods=arms,
                                 x=[float(k) for k in k_values(_k_max(results))], xlabel="k",
                                 ylabel="Pass@k on the hard split", title="Pass@k after training"))
    return paths


NOTES = """\
**Task.** Carry addition (`guardopt.problems.carry_addition`): prompts `a₁ a₂ + b₁ b₂ =` with uniform
2-digit operands, completions the three digits of the sum and `<eos>`; easy = no carry, hard = at
least one carry (about 70% of uniform prompts). The verifier checks the exact answer.

**Base policy.** A 2-layer, d = 64, 4-head causal transformer (~100k parameters, vocabulary 15)
pre-trained from scratch per seed (600 steps of 128 sequences) on 20,000 generated examples in which a
carry prompt is answered with the no-carry shortcut with probability 0.7, right otherwise.

**Arms, at one budget per seed.** GRPO (group-relative advantages, 20 questions × 5 rollouts per
update, clip 0.2, no KL); RiskPO at the released settings (bundles of 5 consecutive questions, paper
scores, MVaR advantages with tracked quantiles, per-question standard-deviation credit); the negative
control `riskpo-mean` (α = 0, β = 1, ω = 0); the base policy. Every trained arm makes the same number of
updates on the same number of sampled completions. Evaluation: 200 fresh hard prompts × 16 samples
(Pass@1 = mean correctness, Pass@16 by the unbiased estimator, entropy = mean token entropy of those
rollouts) and 100 easy prompts × 16 samples, with common random numbers across the arms of a seed.

**Deviations from the paper.** The settings of the verdict arm are the authors' released training
script (α = 0.2, β = 0.9, ω = 1.5, B = 5); the paper's text, read secondhand, reports α = 0.2, β = 0.8,
ω = 0.5 as its best ablation: that setting is in the sensitivity table. A bundle whose papers all score
the same is divided by 1 instead of the released code's 0 + 1e-6 (which gives advantages of order
10⁶). Both arms use guardopt's token-level clipped surrogate averaged per sequence; the released script
uses verl's default token-mean aggregation. The learning rate grid has two values (the time budget); both arms
chose an edge of it. Pass@k uses k = 16 (16 samples per prompt), smaller than the paper's k. The quick scale
pre-trains the base for only 100 steps: it is a smoke test of the pipeline, and its verdict means
nothing.
"""

REPRODUCTION = Reproduction(
    name="riskpo",
    paper=Paper(
        title="RiskPO: Risk-based Policy Optimization via Verifiable Reward for LLM Post-Training",
        year=2025,
        url="https://arxiv.org/abs/2510.00911",
    ),
    claim=("Replacing GRPO's mean objective by a mixed value-at-risk objective over question bundles "
           "alleviates entropy collapse and surpasses GRPO on both Pass@1 and Pass@k."),
    tasks=(TASK,),
    methods=METHODS,
    metrics=("hard_pass1", "hard_pass16", "easy_pass1", "entropy", "shortcut_share", "mean_cov_logp_adv",
             "generations", "lr", "seconds"),
    scales={
        "quick": Scale(seeds=2, settings={"corpus": 4000, "pretrain_steps": 100, "pretrain_batch": 64,
                                          "iterations": 12, "eval_hard": 60, "eval_easy": 30,
                                          "curve_points": 2, "curve_prompts": 20, "tuning_seeds": 0,
                                          "sensitivity": False}),
        "full": Scale(seeds=3, settings={}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    notes=NOTES,
)
