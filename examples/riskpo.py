"""RiskPO on your own verifiable task: a parity checker whose base model has a shortcut.

The task is yours: its words, its verifier, its corpus. A prompt is four bits ``b b b b ?``; the right
answer is ``even`` or ``odd`` (the parity of the number of ones). The pre-training corpus answers the
"hard" prompts (exactly two ones) with the shortcut "odd iff the first bit is 1" 70% of the time, so
the base model's dominant mode on them is wrong. GRPO and RiskPO (the mixed value-at-risk objective
over bundles of 5 questions) then train from the same base with the same batch and number of
updates; the script prints the hard-prompt accuracy and the token entropy of each.

Run: ``python examples/riskpo.py`` (about 15 s on one core).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from guardopt.align import (
    GRPOConfig,
    RiskPOConfig,
    SFTConfig,
    TinyCausalLM,
    TinyLMConfig,
    Tokenizer,
    frozen_copy,
    grpo_train,
    riskpo_train,
    sample,
    sft_train,
    token_entropy,
)

VOCAB = ["<pad>", "<bos>", "<eos>", "0", "1", "?", "even", "odd"]
PROMPTS = [tuple(bits) for bits in itertools.product("01", repeat=4)]


def answer(bits: tuple[str, ...]) -> str:
    return "odd" if bits.count("1") % 2 else "even"


def is_hard(bits: tuple[str, ...]) -> bool:
    return bits.count("1") == 2


def corpus(n: int, rng: np.random.Generator) -> list[tuple[tuple[str, ...], str]]:
    """(prompt, answer) pairs; hard prompts take the first-bit shortcut w.p. 0.7."""
    out = []
    for _ in range(n):
        bits = PROMPTS[rng.integers(len(PROMPTS))]
        shortcut = "odd" if bits[0] == "1" else "even"
        out.append((bits, shortcut if is_hard(bits) and rng.random() < 0.7 else answer(bits)))
    return out


def main() -> None:
    torch.set_num_threads(1)
    tok = Tokenizer(VOCAB)
    encode = lambda bits: tok.encode([*bits, "?"], bos=True)  # noqa: E731
    reward = lambda bits, c: float(tok.tokens(c)[:1] == [answer(bits)])  # noqa: E731

    base = TinyCausalLM(TinyLMConfig(len(tok), d_model=32, n_layers=2, n_heads=2, max_len=8), seed=0)
    data = corpus(4000, np.random.default_rng(0))
    sft_train(base, [encode(b) for b, _ in data], [tok.encode([a, "<eos>"]) for _, a in data],
              SFTConfig(steps=300, batch_size=64, lr=3e-3), seed=0)

    hard = [b for b in PROMPTS if is_hard(b)]

    def report(name: str, model: TinyCausalLM) -> None:
        prefixes = [encode(b) for b in hard for _ in range(64)]
        comps = sample(model, prefixes, 2, tok.eos_id, torch.Generator().manual_seed(1))
        acc = np.mean([reward(hard[i // 64], c) for i, c in enumerate(comps)])
        print(f"{name:7s} hard-prompt accuracy {acc:.2f}, token entropy {token_entropy(model, prefixes, comps):.3f}")

    report("base", base)
    rl = GRPOConfig(iterations=60, prompts_per_iter=20, group_size=5, kl_beta=0.0, max_new=2, lr=3e-4)
    prompts = PROMPTS * 4
    grpo = TinyCausalLM(base.config)
    grpo.load_state_dict(base.state_dict())
    grpo_train(grpo, frozen_copy(base), prompts, encode, reward, rl, seed=1, eos_id=tok.eos_id)
    report("GRPO", grpo)
    risk = TinyCausalLM(base.config)
    risk.load_state_dict(base.state_dict())
    # The released settings: α = 0.2, β = 0.9, ω = 1.5, bundles of 5 questions, tracked quantiles.
    log = riskpo_train(risk, frozen_copy(base), prompts, encode, reward, RiskPOConfig(grpo=rl), seed=1,
                       eos_id=tok.eos_id)
    report("RiskPO", risk)
    q_a, q_b = log.extra["quantiles"][-1]
    print(f"tracked paper-score quantiles after training: q_0.2 = {q_a:.2f}, q_0.9 = {q_b:.2f} (of 5)")


if __name__ == "__main__":
    main()
