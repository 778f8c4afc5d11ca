"""CALM on your own task: turn a model's flawed attempts into fine-tuning data with one-word hints.

The setting: your model writes a structured answer that a program can check token by token. Here
the task is small on purpose — sort four digits — but the recipe is the one for any task with an exact
locator of the first wrong token (the LP modeling task of `guardopt.problems.lp_language` is another):

1. write the locator: ``(prompt, words) -> (index of the first wrong word, kind of flaw) | None``;
2. wrap it in `ProgramIntervener`: it cuts an attempt at the flaw and appends ``hint:<kind>``;
3. `build_calm_traces` samples attempts, intervenes, lets the model continue, and keeps the attempts
   that end flawless and correct; `calm_sft` fine-tunes on them.

The model has seen a few hints in its pre-training data (a hint word followed by the right digit), the
way the paper's reasoning models can take a hint. Hints the model writes on its own are its tokens;
only the intervener's count as modifications.

Run: ``python examples/calm.py`` (a few seconds of CPU).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from guardopt.align import SFTConfig, TinyCausalLM, TinyLMConfig, Tokenizer, sft_train
from guardopt.align.calm import CALMConfig, ProgramIntervener, build_calm_traces, calm_sft
from guardopt.align.model import sample

torch.set_num_threads(1)
DIGITS = [str(d) for d in range(6)]
tok = Tokenizer(["<pad>", "<bos>", "<eos>", "sort", *DIGITS, "hint:digit"])
rng = np.random.default_rng(0)


def task(n: int) -> list[tuple[str, ...]]:
    return [tuple(str(d) for d in rng.integers(0, 6, 4)) for _ in range(n)]


def answer(prompt: tuple[str, ...]) -> list[str]:
    return [*sorted(prompt), "<eos>"]


# --- your checker and your locator -------------------------------------------------------------------
def correct(prompt: tuple[str, ...], completion: list[int]) -> bool:
    words = [w for w in tok.tokens(completion) if not w.startswith("hint:")]
    return words == answer(prompt)


def locate(prompt: tuple[str, ...], words: Sequence[str]) -> tuple[int, str] | None:
    ref, j = answer(prompt), 0
    for i, w in enumerate(words):
        if w.startswith("hint:"):
            continue
        if j >= len(ref) or w != ref[j]:
            return i, "digit"
        if w == "<eos>":
            return None
        j += 1
    return (len(words), "digit") if j < len(ref) else None


def encode(prompt: tuple[str, ...]) -> list[int]:
    return tok.encode(["sort", *prompt], bos=True)


# --- your model: pre-trained on attempts that get a digit wrong 12% of the time ---------------------------
def noisy(prompt: tuple[str, ...]) -> list[str]:
    out = []
    for w in answer(prompt):
        if w != "<eos>" and rng.random() < 0.12:
            out += ["hint:digit", w] if rng.random() < 0.3 else [str(rng.integers(0, 6))]
        else:
            out.append(w)
    return out


corpus = task(3000)
model = TinyCausalLM(TinyLMConfig(len(tok), d_model=32, n_heads=2, max_len=16), seed=0)
sft_train(model, [encode(p) for p in corpus], [tok.encode(noisy(p)) for p in corpus],
          SFTConfig(steps=300, batch_size=64, lr=5e-3), seed=0)


def accuracy(problems: list[tuple[str, ...]]) -> float:
    comps = sample(model, [encode(p) for p in problems], 8, tok.eos_id, torch.Generator().manual_seed(1))
    return float(np.mean([correct(p, c) for p, c in zip(problems, comps)]))


held_out = task(400)
print(f"before CALM: held-out accuracy {accuracy(held_out):.3f}")
config = CALMConfig(max_interventions=3, max_new=10, sft_steps=60, batch_size=64, lr=1e-3)
traces, stats = build_calm_traces(model, task(400), encode, correct, ProgramIntervener(locate), tok, config,
                                  seed=2, budget=500)
share = f"{stats.hint_fraction:.2%}" if stats.kept else "n/a (nothing kept)"
print(f"CALM data: {stats.generations} generations, {stats.traces} attempts, {stats.kept} kept "
      f"({stats.kept_intervened} after a hint); the intervener wrote {share} of the kept tokens")
calm_sft(model, traces, config, seed=3)
print(f"after CALM-SFT: held-out accuracy {accuracy(held_out):.3f}")
