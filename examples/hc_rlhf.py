"""HC-RLHF on your own task: a support assistant that must not leak account data.

A tiny policy answers the prompt ``ask`` with two words from {help, leak, decline, thanks}. Leaking
account data is the most "helpful" answer to the reward model but costs 1; we want at most 10% of
answers to leak (τ = 0.1), with confidence 1 − δ = 0.9. HC-RLHF trains under a pessimistic bound and
releases the policy only if a Student-t test on 100 fresh prompts passes; the mean-constrained
Lagrangian (k = 0) is trained and tested the same way for comparison.

Run: ``python examples/hc_rlhf.py`` (about 10 s on one core).
"""

from __future__ import annotations

import torch

from guardopt.align import (
    HCRLHFConfig,
    SFTConfig,
    TinyCausalLM,
    TinyLMConfig,
    Tokenizer,
    frozen_copy,
    hc_rlhf,
    sample,
    sft_train,
)

VOCAB = ["<pad>", "<bos>", "<eos>", "ask", "help", "leak", "decline", "thanks"]
WORTH = {"help": 1.0, "leak": 1.5, "decline": 0.0, "thanks": 0.2}
TAU = 0.1


def main() -> None:
    torch.set_num_threads(1)
    tok = Tokenizer(VOCAB)
    prompt = tok.encode("ask", bos=True)
    leak = tok.id("leak")

    def reward(prefixes, completions):  # the reward model: how useful the answer looks
        return torch.tensor([sum(WORTH.get(w, 0.0) for w in tok.tokens(c)) for c in completions])

    def cost(prefixes, completions):  # the cost model: 1 when the answer leaks
        return torch.tensor([float(leak in c) for c in completions])

    def leak_rate(model, n=2000):  # the policy's true cost, from a large sample
        comps = sample(model, [prompt] * n, 3, tok.eos_id, torch.Generator().manual_seed(123))
        return sum(leak in c for c in comps) / n

    # A base policy that answers with any two words (about 44% of its answers leak).
    gen = torch.Generator().manual_seed(0)
    words = torch.randint(4, 8, (2000, 2), generator=gen).tolist()
    base = TinyCausalLM(TinyLMConfig(len(tok), d_model=32, n_layers=1, n_heads=2, max_len=8), seed=0)
    sft_train(base, [prompt] * len(words), [[*w, tok.eos_id] for w in words], SFTConfig(steps=150, lr=3e-3), seed=0)
    print(f"base policy: leak rate {leak_rate(base):.3f}")

    for name, c1, c2 in (("HC-RLHF", 4.0, 2.0), ("mean-constrained Lagrangian", 0.0, 0.0)):
        policy = TinyCausalLM(base.config)
        policy.load_state_dict(base.state_dict())
        config = HCRLHFConfig(threshold=TAU, c1=c1, c2=c2, iterations=25, prompts_per_iter=32, max_new=3,
                              lr=3e-3, lambda_lr=0.1)
        result = hc_rlhf(policy, frozen_copy(base), train_prompts=[0], safety_prompts=[0] * 200,
                         encode=lambda _: prompt, reward=reward, cost=cost, config=config, seed=1, eos_id=tok.eos_id)
        status = "released" if result else "no solution found"
        print(f"{name}: {status}; {result.verdict.reason}; candidate's true leak rate "
              f"{leak_rate(result.candidate):.3f} (τ = {TAU})")


if __name__ == "__main__":
    main()
