"""Intervened Preference Optimization: substitute a safety trigger for the first compliance step.

Paper: "Towards Safe Reasoning in Large Reasoning Models via Corrective Intervention" (arXiv
2509.24393, ICLR 2026). Named ``intervened_po`` everywhere in guardopt: TRL's ``loss_type="ipo"`` is
a different method (Identity PO, Azar et al. 2023).

The method, as the paper states it:

1. a *cue detector* finds the first compliance step of an unsafe reasoning trace z (the paper uses
   an LLM judge; `ProgramCueDetector` is the exact program for tasks whose cues are known words, and
   any object with a ``first_cue`` method fits the `CueDetector` protocol);
2. that step is replaced by a safety trigger τ from a pool 𝒯 and the policy continues,
   ``z̃^{≥h} ∼ π(· | x, z^{<h}, τ)``, re-sampling the continuation while it is still unsafe (up to
   ``max_rounds`` times) — `build_intervened_pairs`;
3. the pair ``(x, z̃ ≻ z, h)`` shares the prefix ``z^{<h}``; the loss is DPO on the tokens from h on
   plus λ_SFT·NLL of the chosen ones (`guardopt.align.losses.intervened_po_loss`, λ_SFT = 0.2 as in
   the paper's second stage) — `intervened_po`.

`continuation_safety` estimates the paper's continuation-safety ratio of a prefix (the share of
sampled continuations that are safe), the statistic from which it mines triggers and cues.

Because the chosen and rejected traces share ``z^{<h}`` exactly, the prefix's log-ratios cancel in
the DPO margin: DPO on the full intervened traces has the same margin as DPO on the diverging part;
only the SFT term differs. The ablation "DPO on full traces" is therefore DPO on independently
sampled full traces (safe ≻ unsafe samples of the same prompt), which is what an on-policy DPO
baseline without intervention can build.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import torch
from torch import nn

from guardopt.align.model import sample
from guardopt.align.tokenizer import Tokenizer
from guardopt.align.trainers import Callback, DPOConfig, PreferencePair, TrainLog, dpo_train
from guardopt.core.errors import InvalidParameterError, check_bool, check_in_range, check_int

__all__ = [
    "CueDetector",
    "IntervenedPOConfig",
    "InterventionStats",
    "ProgramCueDetector",
    "build_benign_pairs",
    "build_intervened_pairs",
    "continuation_safety",
    "intervened_po",
]

P = TypeVar("P")


class CueDetector(Protocol):
    """Finds the first compliance step of a completion (its words)."""

    def first_cue(self, completion: Sequence[str]) -> int | None:
        """Index of the first word of the first compliance step, or None when there is none."""
        ...


@dataclass(frozen=True)
class ProgramCueDetector:
    """Exact cue detector: the first step (words between separators) that equals a known cue.

    Args:
        cues: The compliance steps, each a tuple of words.
        sep: The step separator.
    """

    cues: tuple[tuple[str, ...], ...]
    sep: str = ";"

    def __post_init__(self) -> None:
        if (not isinstance(self.cues, (tuple, list)) or not self.cues
                or any(isinstance(c, str) or not isinstance(c, (tuple, list)) or not c
                       or any(not isinstance(w, str) for w in c) for c in self.cues)):
            raise InvalidParameterError("cues", "ProgramCueDetector", "a non-empty tuple of word tuples", self.cues)
        if not isinstance(self.sep, str) or not self.sep:
            raise InvalidParameterError("sep", "ProgramCueDetector", "a non-empty word", self.sep)
        # Steps are compared as tuples: store lists as tuples, so a cue given as a list still matches.
        object.__setattr__(self, "cues", tuple(tuple(c) for c in self.cues))

    def first_cue(self, completion: Sequence[str]) -> int | None:
        """Index of the first word of the first step that is a cue (None: no cue)."""
        words = list(completion)
        start = 0
        for i in range(len(words) + 1):
            if i == len(words) or words[i] == self.sep:
                if tuple(words[start:i]) in self.cues:
                    return start
                start = i + 1
        return None


@dataclass(frozen=True)
class IntervenedPOConfig:
    """Intervened PO: the intervention sampler and the partial-DPO + SFT loss.

    Args:
        beta: DPO inverse temperature β (not given in the paper; 0.1, TRL's default).
        sft_weight: λ_SFT (0.2 in the paper's second stage).
        max_rounds: Continuations sampled per unsafe trace until one is safe.
        require_safe: Keep a pair only when the intervened trace is judged safe (the paper iterates
            until it is). ``False`` keeps every intervened trace (used by negative controls).
        max_new: Most tokens per sampled completion.
        temperature: Sampling temperature.
        epochs, batch_size, lr, grad_clip, progress: The DPO run (see `DPOConfig`).
    """

    beta: float = 0.1
    sft_weight: float = 0.2
    max_rounds: int = 3
    require_safe: bool = True
    max_new: int = 24
    temperature: float = 1.0
    epochs: int = 4
    batch_size: int = 32
    lr: float = 1e-3
    grad_clip: float = 1.0
    progress: bool = False

    def __post_init__(self) -> None:
        check_int(self.max_rounds, "max_rounds", "IntervenedPOConfig", 1)
        check_int(self.max_new, "max_new", "IntervenedPOConfig", 1)
        check_in_range(self.temperature, "temperature", "IntervenedPOConfig", 0.0)
        check_bool(self.require_safe, "require_safe", "IntervenedPOConfig")
        self.dpo()  # validates beta, sft_weight, epochs, batch_size, lr, grad_clip

    def dpo(self) -> DPOConfig:
        """The `DPOConfig` of the training run."""
        try:
            return DPOConfig(beta=self.beta, sft_weight=self.sft_weight, epochs=self.epochs,
                             batch_size=self.batch_size, lr=self.lr, grad_clip=self.grad_clip, progress=self.progress)
        except InvalidParameterError as exc:
            raise InvalidParameterError(exc.param, "IntervenedPOConfig", exc.expected, exc.got) from None


@dataclass
class InterventionStats:
    """Counts of the pair construction."""

    generations: int = 0
    traces: int = 0
    unsafe: int = 0
    with_cue: int = 0
    pairs: int = 0
    rounds: list[int] = field(default_factory=list)


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def build_intervened_pairs(model: nn.Module, prompts: Sequence[P], encode: Callable[[P], list[int]],
                           is_safe: Callable[[P, list[int]], bool], tokenizer: Tokenizer, detector: CueDetector,
                           triggers: Sequence[Sequence[str]], config: IntervenedPOConfig, seed: int,
                           budget: int | None = None, chunk: int = 64
                           ) -> tuple[list[PreferencePair], InterventionStats]:
    """Sample a trace per prompt; for each unsafe one with a cue, intervene and build a pair.

    Args:
        model: The policy that samples (not trained here).
        prompts: Prompt objects, visited in order (cycled while budget remains).
        encode: Prompt → ids (with BOS).
        is_safe: ``(prompt, completion ids) -> bool`` (the program judge).
        tokenizer: Maps ids to words for the detector and triggers to ids.
        detector: Finds the first compliance step.
        triggers: The trigger pool 𝒯 (each a word sequence; one is drawn at random per intervention).
        config: Rounds, filtering and sampling.
        seed: Seed of the sampling and the trigger draws.
        budget: Most generations in all (first traces plus continuations); None: one pass.
        chunk: Prompts per sampling batch.

    Returns:
        The pairs (``chosen[:start] == rejected[:start]``, ``start`` = divergence index h) and the counts.
    """
    if budget is not None:
        budget = check_int(budget, "budget", "build_intervened_pairs", 0)
    chunk = check_int(chunk, "chunk", "build_intervened_pairs", 1)
    if not prompts:
        return [], InterventionStats()
    if not triggers:
        raise InvalidParameterError("triggers", "build_intervened_pairs", "a non-empty pool", triggers)
    trig_ids = [tokenizer.encode(list(t)) for t in triggers]
    sep = getattr(detector, "sep", ";")
    sep_id = tokenizer.id(sep) if sep in tokenizer.vocab else None
    gen = torch.Generator().manual_seed(int(seed))
    limit = budget if budget is not None else len(prompts) * (1 + config.max_rounds)
    stats = InterventionStats()
    pairs: list[PreferencePair] = []
    pos = 0
    one_pass = budget is None
    while stats.generations < limit and (not one_pass or pos < len(prompts)):
        n = min(chunk, limit - stats.generations, (len(prompts) - pos) if one_pass else chunk)
        batch = [prompts[(pos + k) % len(prompts)] for k in range(n)]
        pos += n
        pids = [encode(p) for p in batch]
        first = sample(model, pids, config.max_new, tokenizer.eos_id, gen, config.temperature)
        stats.generations += n
        stats.traces += n
        todo = []  # (batch index, h, rejected)
        for k, (p, z) in enumerate(zip(batch, first)):
            if is_safe(p, z):
                continue
            stats.unsafe += 1
            h = detector.first_cue(tokenizer.tokens(z))
            if h is None:
                continue
            stats.with_cue += 1
            todo.append((k, h, z))
        for rnd in range(1, config.max_rounds + 1):
            if not todo or stats.generations >= limit:
                break
            todo = todo[: limit - stats.generations]
            picks = torch.randint(len(trig_ids), (len(todo),), generator=gen).tolist()
            heads = []
            for (_, h, z), t in zip(todo, picks):
                tail = [sep_id] if sep_id is not None else []
                heads.append(z[:h] + trig_ids[t] + tail)
            conts = sample(model, [pids[k] + hd for (k, _, _), hd in zip(todo, heads)],
                           config.max_new, tokenizer.eos_id, gen, config.temperature)
            stats.generations += len(todo)
            left = []
            for (k, h, z), hd, c in zip(todo, heads, conts):
                chosen = hd + c
                ok = is_safe(batch[k], chosen)
                start = _common_prefix(chosen, z)
                if (ok or not config.require_safe) and start < min(len(chosen), len(z)):
                    pairs.append(PreferencePair(tuple(pids[k]), tuple(chosen), tuple(z), start))
                    stats.pairs += 1
                    stats.rounds.append(rnd)
                elif not ok:
                    left.append((k, h, z))
            todo = left
    return pairs, stats


def build_benign_pairs(model: nn.Module, prompts: Sequence[P], encode: Callable[[P], list[int]],
                       is_good: Callable[[P, list[int]], bool], tokenizer: Tokenizer,
                       triggers: Sequence[Sequence[str]], config: IntervenedPOConfig, seed: int, budget: int,
                       sep: str = ";", chunk: int = 64) -> tuple[list[PreferencePair], InterventionStats]:
    """Pairs against over-refusal on benign prompts: a good answer ≻ the same trace with a trigger inserted.

    The paper's second stage mixes benign pairs (normal answer ≻ refusal) into the harmful ones. Here a
    benign trace z is sampled; when ``is_good`` accepts it, a trigger is inserted after its first step
    (position h) and the policy continues, ``z̄^{≥h} ∼ π(· | x, z^{<h}, τ)``; the pair is ``(z ≻ z̄, h)``.

    Args:
        model, prompts, encode, tokenizer, triggers, config, seed, chunk: As in `build_intervened_pairs`.
        is_good: ``(prompt, completion ids) -> bool`` (e.g. a correct, non-refusing answer).
        budget: Most generations in all (traces plus continuations).
        sep: The step separator.
    """
    budget = check_int(budget, "budget", "build_benign_pairs", 0)
    chunk = check_int(chunk, "chunk", "build_benign_pairs", 1)
    if not triggers:
        raise InvalidParameterError("triggers", "build_benign_pairs", "a non-empty pool", triggers)
    stats = InterventionStats()
    pairs: list[PreferencePair] = []
    if not prompts or budget <= 0:
        return pairs, stats
    trig_ids = [tokenizer.encode(list(t)) for t in triggers]
    sep_id = tokenizer.id(sep)
    gen = torch.Generator().manual_seed(int(seed))
    pos = 0
    while stats.generations < budget:
        n = max(1, min(chunk, (budget - stats.generations) // 2))
        batch = [prompts[(pos + k) % len(prompts)] for k in range(n)]
        pos += n
        pids = [encode(p) for p in batch]
        first = sample(model, pids, config.max_new, tokenizer.eos_id, gen, config.temperature)
        stats.generations += n
        stats.traces += n
        todo = [(k, z.index(sep_id) + 1, z) for k, z in enumerate(first)
                if is_good(batch[k], z) and sep_id in z[:-1]]
        todo = todo[: max(0, budget - stats.generations)]
        if not todo:
            continue
        picks = torch.randint(len(trig_ids), (len(todo),), generator=gen).tolist()
        heads = [z[:h] + trig_ids[t] + [sep_id] for (_, h, z), t in zip(todo, picks)]
        conts = sample(model, [pids[k] + hd for (k, _, _), hd in zip(todo, heads)], config.max_new,
                       tokenizer.eos_id, gen, config.temperature)
        stats.generations += len(todo)
        for (k, _, z), hd, c in zip(todo, heads, conts):
            worse = hd + c
            start = _common_prefix(worse, z)
            if not is_good(batch[k], worse) and start < min(len(worse), len(z)):
                pairs.append(PreferencePair(tuple(pids[k]), tuple(z), tuple(worse), start))
                stats.pairs += 1
    return pairs, stats


def intervened_po(model: nn.Module, ref_model: nn.Module, pairs: Sequence[PreferencePair],
                  config: IntervenedPOConfig, seed: int, callback: Callback | None = None,
                  every: int = 0) -> TrainLog:
    """Train on intervened pairs: DPO on the tokens from each pair's divergence index, plus λ_SFT·NLL.

    Args:
        model: The policy (trained in place).
        ref_model: The frozen reference π_ref.
        pairs: From `build_intervened_pairs` (each pair's ``start`` is its h).
        config: The loss and the optimizer settings.
        seed: Seed of the minibatch order.
        callback, every: As in `guardopt.align.trainers.dpo_train`.
    """
    return dpo_train(model, ref_model, pairs, config.dpo(), seed, callback, every)


@torch.no_grad()
def continuation_safety(model: nn.Module, prefix: Sequence[int], is_safe: Callable[[list[int]], bool],
                        eos_id: int, n: int = 32, max_new: int = 24, seed: int = 0) -> float:
    """The continuation-safety ratio of a prefix: the share of ``n`` sampled continuations judged safe.

    Args:
        model: The policy.
        prefix: Ids of ``x ⊕ z^{≤i}``.
        is_safe: Judges a continuation's ids (the words after ``prefix``).
        eos_id: End token.
        n: Continuations (32 in the paper).
        max_new: Most tokens per continuation.
        seed: Sampling seed.
    """
    n = check_int(n, "n", "continuation_safety", 1)
    gen = torch.Generator().manual_seed(int(seed))
    conts = sample(model, [list(prefix)] * n, max_new, eos_id, gen)
    return sum(bool(is_safe(c)) for c in conts) / n
