"""EMPG on your own multi-step text environment: a combination lock opened one button per step.

The environment is yours: anything with ``horizon``, ``reset(task)``, ``observe(state) -> words``,
``step(state, words) -> state`` and ``reward(state)`` (the `guardopt.align.TextEnv` protocol). Here a
lock shows its stage (``s0``, ``s1``, ``s2``, then ``open``); the right buttons are ``a``, ``b``, ``c``
in turn, a wrong button resets it to ``s0``, and the episode lasts 6 steps with reward 1 only if the
lock is open at the end. The teacher the policy imitates presses ``a`` again at stage ``s1`` most of
the time — confidently wrong — so the warm-started policy rarely opens the lock. GRPO with EMPG's
step-level advantages (confident steps get more of the episode's credit or blame, uncertain ones
less, plus a bonus for steps that lead to confident next steps) fixes it from the end reward alone.

Run: ``python examples/empg.py`` (about 10 s on one core).
"""

from __future__ import annotations

import numpy as np
import torch

from guardopt.align import (
    AgentGRPOConfig,
    EMPGConfig,
    SFTConfig,
    TinyCausalLM,
    TinyLMConfig,
    Tokenizer,
    agent_grpo_train,
    empg_advantages,
    evaluate_success,
    frozen_copy,
    sft_train,
)

VOCAB = ["<pad>", "<bos>", "<eos>", "s0", "s1", "s2", "open", "a", "b", "c"]
BUTTONS = {"s0": "a", "s1": "b", "s2": "c"}


class Lock:
    """A 3-stage combination lock; the state is the stage index (3 = open)."""

    horizon = 6

    def reset(self, task: int) -> int:
        return 0

    def observe(self, state: int) -> list[str]:
        return ["open" if state == 3 else f"s{state}"]

    def step(self, state: int, words: list[str]) -> int:
        if state == 3:
            return 3
        right = BUTTONS[f"s{state}"]
        return state + 1 if words[:1] == [right] else 0

    def reward(self, state: int) -> float:
        return float(state == 3)


def teacher(n_episodes: int, rng: np.random.Generator) -> list[tuple[list[str], list[str]]]:
    """Demonstrations: right button except at ``s1``, where it presses ``a`` w.p. 0.75."""
    env, out = Lock(), []
    for _ in range(n_episodes):
        s = env.reset(0)
        for _ in range(env.horizon):
            obs = env.observe(s)
            if s == 3:
                ans = ["a"]
            elif s == 1 and rng.random() < 0.75:
                ans = ["a"]
            else:
                ans = [BUTTONS[obs[0]]]
            out.append((obs, ans))
            s = env.step(s, ans)
    return out


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    tok, env = Tokenizer(VOCAB), Lock()
    demos = teacher(200, np.random.default_rng(0))
    policy = TinyCausalLM(TinyLMConfig(len(tok), d_model=16, n_layers=1, n_heads=2, max_len=6), seed=0)
    sft_train(policy, [tok.encode(o, bos=True) for o, _ in demos], [tok.encode(a) for _, a in demos],
              SFTConfig(steps=150, batch_size=64, lr=3e-3), seed=0)
    tasks = [0]
    before = evaluate_success(policy, env, tok, tasks, 200, seed=1, max_answer=1)
    print(f"warm start: success {before:.2f}")

    # The modulation itself, on four episodes of three steps: the confident (low-entropy) steps of
    # the successful episode get the largest share of its credit.
    adv = torch.tensor([1.0, -1.0, 1.0, -1.0])
    ent = torch.tensor([[0.1, 0.9, 0.2], [0.1, 0.1, 0.8], [0.5, 0.5, 0.5], [0.9, 0.2, 0.1]])
    print("EMPG step advantages:\n", empg_advantages(adv, ent, EMPGConfig()).numpy().round(2))

    cfg = AgentGRPOConfig(updates=40, tasks_per_update=4, group_size=8, lr=1e-3, max_answer=1)
    log = agent_grpo_train(policy, frozen_copy(policy), env, tok, tasks, cfg, seed=0, empg=EMPGConfig())
    after = evaluate_success(policy, env, tok, tasks, 200, seed=1, max_answer=1)
    print(f"after 40 EMPG updates: success {after:.2f} "
          f"(largest per-update KL {max(r['update_kl'] for r in log.rows):.4f})")


if __name__ == "__main__":
    main()
