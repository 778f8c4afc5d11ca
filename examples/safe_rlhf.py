"""Safe RLHF on your own assistant: PPO vs PPO-Lagrangian under a harm budget, then a 5-round guardrail.

The task is yours: a help desk whose prompts ask about ``weather``, ``recipe`` or ``weapon``. A response
is ``answer details``, ``answer`` or ``sorry refuse``. Your helpfulness score prefers details; your
harm score (a severity 0–3) says details about a weapon are severe (3), a bare answer about it minor
(1), and anything else safe. The base model (SFT on your logs) gives weapon details 70% of the time.

1. PPO with the helpfulness score alone learns to give weapon details.
2. PPO-Lagrangian with the harm score as its cost and a limit of 0.15 (mean severity / 3), with
   Safe RLHF-V's budget bound λ ≤ 20, trades some helpfulness for less harm (λ rises to its bound
   while the harm is above the limit).
3. The guardrail: a severity check on each response, up to 5 rounds of regeneration.

Here the scores are your own functions; in a real pipeline they are learned reward / cost models
(`guardopt.align.score_models`). Run: ``python examples/safe_rlhf.py`` (about 10 s on one core).
"""

from __future__ import annotations

import numpy as np
import torch

from guardopt.align import (
    GuardrailConfig,
    PPOConfig,
    PPOLagConfig,
    SFTConfig,
    TinyCausalLM,
    TinyLMConfig,
    Tokenizer,
    ValueModel,
    frozen_copy,
    guarded_sample,
    ppo_train,
    sample,
    sft_train,
)

VOCAB = ["<pad>", "<bos>", "<eos>", "Q", "weather", "recipe", "weapon", "answer", "details", "sorry", "refuse"]
TOPICS = ["weather", "recipe", "weapon"]
RESPONSES = {"full": ["answer", "details"], "short": ["answer"], "refuse": ["sorry", "refuse"]}
tok = Tokenizer(VOCAB)


def words(ids: list[int]) -> list[str]:
    return [w for w in tok.tokens(ids) if w != "<eos>"]


def helpfulness(topic: str, ids: list[int]) -> float:
    w = words(ids)
    return {("answer", "details"): 1.0, ("answer",): 0.6, ("sorry", "refuse"): 0.3}.get(tuple(w), 0.0)


def severity(topic: str, ids: list[int]) -> int:
    w = words(ids)
    if topic != "weapon" or "answer" not in w:
        return 0
    return 3 if "details" in w else 1


def encode(topic: str) -> list[int]:
    return tok.encode(["Q", topic], bos=True)


def evaluate(policy: torch.nn.Module, seed: int) -> tuple[float, float]:
    prompts = TOPICS * 100
    comps = sample(policy, [encode(t) for t in prompts], 4, tok.eos_id, torch.Generator().manual_seed(seed))
    return (float(np.mean([helpfulness(t, c) for t, c in zip(prompts, comps)])),
            float(np.mean([severity(t, c) / 3 for t, c in zip(prompts, comps)])))


def main() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    logs = []
    for _ in range(2000):
        topic = TOPICS[rng.integers(3)]
        kind = rng.choice(["full", "short", "refuse"], p=[0.7, 0.2, 0.1])
        logs.append((topic, RESPONSES[str(kind)] + ["<eos>"]))
    base = TinyCausalLM(TinyLMConfig(len(tok), d_model=32, n_heads=2, n_layers=1, max_len=8), seed=0)
    sft_train(base, [encode(t) for t, _ in logs], [tok.encode(r) for _, r in logs], SFTConfig(steps=150), seed=0)
    help0, cost0 = evaluate(base, 1)
    print(f"base:     helpfulness {help0:.2f}, harm {cost0:.2f}")

    def reward(prompts, comps):  # your helpfulness score, batched
        return torch.tensor([helpfulness(t, c) for t, c in zip(prompts, comps)])

    def cost(prompts, comps):  # your harm score: severity / 3
        return torch.tensor([severity(t, c) / 3 for t, c in zip(prompts, comps)])

    common = {"updates": 40, "rollout_size": 48, "actor_lr": 1e-3, "critic_lr": 3e-3, "max_new": 4}
    for name, cfg in (("PPO", PPOConfig(**common)),
                      ("PPO-Lag", PPOLagConfig(**common, cost_limit=0.15, lambda_init=1.0, lambda_lr=2.0,
                                               lambda_max=20.0))):
        policy = TinyCausalLM(base.config)
        policy.load_state_dict(base.state_dict())
        lag = isinstance(cfg, PPOLagConfig)
        log = ppo_train(policy, frozen_copy(policy), ValueModel.from_policy(policy), TOPICS, encode, reward, cfg,
                        seed=0, eos_id=tok.eos_id, cost=cost if lag else None,
                        cost_critic=ValueModel.from_policy(policy) if lag else None)
        h, c = evaluate(policy, 1)
        print(f"{name:8s}: helpfulness {h:.2f}, harm {c:.2f} (limit 0.15), peak λ {max(log.extra['lambda']):.2f}")

    # The guardrail on the base: regenerate any response your severity check flags (≥ minor), 5 rounds.
    res = guarded_sample(base, ["weapon"] * 200, encode, lambda ps, cs: [severity(t, c) for t, c in zip(ps, cs)],
                         GuardrailConfig(max_rounds=5, max_new=4), seed=1, eos_id=tok.eos_id)
    unsafe = np.mean([severity("weapon", list(c)) >= 1 for c in res.completions])
    print(f"guardrail on weapon prompts: unsafe {unsafe:.2f} after up to 5 rounds "
          f"(mean {np.mean(res.rounds):.2f} rounds)")


if __name__ == "__main__":
    main()
