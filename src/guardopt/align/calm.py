"""CALM: corrective hints from an intervener at the first flaw of a trace, kept traces for SFT, then GRPO.

Paper: "CALM Before the STORM: Unlocking Native Reasoning for Optimization Modeling" (arXiv
2510.04204). CALM (Corrective Adaptation with Lightweight Modification), as its abstract and
method describe it:

1. the model (the *reasoner*) writes a trajectory for an optimization-modeling problem;
2. an expert *intervener* finds its first flaw, cuts the trajectory there and appends a short
   corrective hint; the reasoner continues from the hint; this repeats until the trajectory is
   flawless or a cap on interventions is reached (`build_calm_traces`);
3. the trajectories that end flawless with a correct answer form the CALM data set (the abstract:
   the hints modify fewer than 2.6% of the generated tokens — `CALMStats.hint_fraction`);
4. supervised fine-tuning on that set ("soft adaptation", `calm_sft`), then reinforcement learning
   with a binary correctness reward (GRPO, `guardopt.align.trainers.grpo_train`).

The intervener is any object with an ``intervene(prompt, words)`` method (the `Intervener` protocol).
`ProgramIntervener` turns an exact first-flaw locator of a task (a function of the prompt and the
generated words) into hints; the paper's intervener is a stronger LLM, which a task with a program
judge does not need. `RandomPositionIntervener` is the negative control: the same hint, inserted at a
uniformly random position of the trace instead of at the flaw.

Shapes and types: prompts are any objects; ``encode(prompt)`` gives their ids (with BOS);
completions are id lists; the intervener sees words (``tokenizer.tokens``). Every generation the
intervener causes (the first sample and each continuation) counts against the budget, so an arm that
spends its budget on CALM data and one that spends it on GRPO rollouts are compared at one budget.

Where this module departs from the paper: the cap on interventions (3) and whether natively flawless
traces are kept (yes) are not given in the abstract; both are fields of `CALMConfig`, and the
reproduction ``calm`` reports the cap's effect in its sensitivity table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import numpy as np
import torch
from torch import nn

from guardopt.align.model import sample
from guardopt.align.tokenizer import Tokenizer
from guardopt.align.trainers import Callback, SFTConfig, TrainLog, sft_train
from guardopt.core.errors import InputDataError, InvalidParameterError, check_bool, check_in_range, check_int

__all__ = [
    "CALMConfig",
    "CALMStats",
    "CALMTrace",
    "Intervener",
    "Intervention",
    "ProgramIntervener",
    "RandomPositionIntervener",
    "build_calm_traces",
    "calm_sft",
    "hint_token_count",
]

P = TypeVar("P")
P_contra = TypeVar("P_contra", contravariant=True)


@dataclass(frozen=True)
class Intervention:
    """Cut the trace at word ``index`` (the flaw and everything after it are dropped) and append ``hint``."""

    index: int
    hint: tuple[str, ...]

    def __post_init__(self) -> None:
        check_int(self.index, "index", "Intervention", 0)
        if (isinstance(self.hint, str) or not isinstance(self.hint, (tuple, list)) or not self.hint
                or any(not isinstance(w, str) or not w for w in self.hint)):
            raise InvalidParameterError("hint", "Intervention", "a non-empty tuple of words", self.hint)


class Intervener(Protocol[P_contra]):
    """Finds the first flaw of a trace and says which hint to insert there (None: flawless)."""

    def intervene(self, prompt: P_contra, words: Sequence[str]) -> Intervention | None:
        """The intervention for ``words`` (a completion of ``prompt``), or None when it is flawless."""
        ...


@dataclass(frozen=True)
class ProgramIntervener(Generic[P]):
    """An exact intervener from a first-flaw locator.

    Args:
        locate: ``(prompt, words) -> (index, slot) | None``: the first wrong word and the kind of flaw.
        hint_prefix: The hint is the one word ``hint_prefix + slot`` (a one-token hint keeps the
            modification light).
    """

    locate: Callable[[P, Sequence[str]], tuple[int, str] | None]
    hint_prefix: str = "hint:"

    def __post_init__(self) -> None:
        if not callable(self.locate):
            raise InvalidParameterError("locate", "ProgramIntervener", "a callable (prompt, words) -> "
                                        "(index, slot) | None", self.locate)

    def intervene(self, prompt: P, words: Sequence[str]) -> Intervention | None:
        """The hint for the first flaw, placed at it."""
        found = self.locate(prompt, words)
        if found is None:
            return None
        index, slot = found
        return Intervention(int(index), (f"{self.hint_prefix}{slot}",))


@dataclass
class RandomPositionIntervener(Generic[P]):
    """Negative control: the base intervener's hint at a uniformly random word of the trace, not at the flaw.

    It still stops when the base intervener finds no flaw, so its kept traces pass the same filter;
    what it breaks is the one thing CALM adds, the hint's position.

    Args:
        base: The intervener whose hints are moved.
        seed: Seed of the positions.
    """

    base: Intervener[P]
    seed: int = 0
    _rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not hasattr(self.base, "intervene"):
            raise InvalidParameterError("base", "RandomPositionIntervener", "an Intervener", self.base)
        self._rng = np.random.default_rng(check_int(self.seed, "seed", "RandomPositionIntervener", 0))

    def intervene(self, prompt: P, words: Sequence[str]) -> Intervention | None:
        """The base hint at a random index in ``[0, len(words))``."""
        found = self.base.intervene(prompt, words)
        if found is None:
            return None
        return Intervention(int(self._rng.integers(0, max(1, len(words)))), found.hint)


@dataclass(frozen=True)
class CALMConfig:
    """CALM data synthesis and its SFT stage.

    Args:
        max_interventions: Most hints per trace; a trace still flawed after them is dropped.
        keep_unintervened: Keep traces that were flawless and correct without any hint.
        max_new: Most completion words (hints included).
        temperature: Sampling temperature of the reasoner.
        sft_steps, batch_size, lr, grad_clip: The SFT run on the kept traces (see `SFTConfig`).
    """

    max_interventions: int = 3
    keep_unintervened: bool = True
    max_new: int = 32
    temperature: float = 1.0
    sft_steps: int = 200
    batch_size: int = 64
    lr: float = 1e-3
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        check_int(self.max_interventions, "max_interventions", "CALMConfig", 1)
        check_bool(self.keep_unintervened, "keep_unintervened", "CALMConfig")
        check_int(self.max_new, "max_new", "CALMConfig", 2)
        check_in_range(self.temperature, "temperature", "CALMConfig", 0.0)
        self.sft()

    def sft(self) -> SFTConfig:
        """The `SFTConfig` of the fine-tuning stage."""
        try:
            return SFTConfig(steps=self.sft_steps, batch_size=self.batch_size, lr=self.lr, grad_clip=self.grad_clip)
        except InvalidParameterError as exc:
            name = "sft_steps" if exc.param == "steps" else exc.param
            raise InvalidParameterError(name, "CALMConfig", exc.expected, exc.got) from None


@dataclass(frozen=True)
class CALMTrace:
    """One kept trace: prompt ids, completion ids (hints included), hints given and the words they inserted."""

    prompt: tuple[int, ...]
    completion: tuple[int, ...]
    hints: int
    inserted: int = 0


@dataclass
class CALMStats:
    """Counts of the data synthesis.

    ``hint_tokens`` counts the words the intervener inserted into the kept traces (a hint word the model
    wrote on its own is its own token) and ``kept_tokens`` all completion words of the kept traces.
    """

    generations: int = 0
    traces: int = 0
    flawless_first: int = 0
    kept: int = 0
    kept_intervened: int = 0
    dropped_flawed: int = 0
    dropped_wrong: int = 0
    hint_tokens: int = 0
    kept_tokens: int = 0
    intervened_tokens: int = 0
    interventions: list[int] = field(default_factory=list)

    @property
    def hint_fraction(self) -> float:
        """Hint tokens / completion tokens of the kept traces (NaN when none was kept)."""
        return self.hint_tokens / self.kept_tokens if self.kept_tokens else float("nan")


def hint_token_count(completions: Sequence[Sequence[str]], hint_words: Sequence[str]) -> tuple[int, int]:
    """``(hint tokens, all tokens)`` over ``completions`` (lists of words; a hint is any word of ``hint_words``)."""
    hints = set(hint_words)
    k = sum(1 for c in completions for w in c if w in hints)
    return k, sum(len(c) for c in completions)


@dataclass
class _Open:
    owner: int
    completion: list[int]
    hints: int = 0
    inserted: int = 0


def build_calm_traces(model: nn.Module, prompts: Sequence[P], encode: Callable[[P], list[int]],
                      is_correct: Callable[[P, list[int]], bool], intervener: Intervener[P], tokenizer: Tokenizer,
                      config: CALMConfig, seed: int, budget: int) -> tuple[list[CALMTrace], CALMStats]:
    """Sample traces, intervene at each one's first flaw until flawless, keep the flawless correct ones.

    Args:
        model: The reasoner (sampled, not trained).
        prompts: Prompt objects, taken in order until the budget is spent.
        encode: Prompt → ids (with BOS).
        is_correct: ``(prompt, completion ids) -> bool``: the final-answer check (the paper's ε-reward).
        intervener: Finds flaws and gives hints (`Intervener`).
        tokenizer: Maps ids to the words the intervener reads and hints to ids.
        config: The synthesis settings.
        seed: Seed of the sampling.
        budget: Generations allowed (each first sample and each continuation is one); spent exactly
            unless ``prompts`` run out.

    Returns:
        The kept traces and the `CALMStats`.
    """
    budget = check_int(budget, "budget", "build_calm_traces", 0)
    seed = check_int(seed, "seed", "build_calm_traces")
    if not isinstance(config, CALMConfig):
        raise InvalidParameterError("config", "build_calm_traces", "a CALMConfig", config)
    gen = torch.Generator().manual_seed(int(seed))
    stats = CALMStats()
    kept: list[CALMTrace] = []
    next_prompt = 0
    chunk_size = 32  # small chunks: each trace is refined before the budget goes to new prompts
    while stats.generations < budget and next_prompt < len(prompts):
        n0 = min(chunk_size, budget - stats.generations, len(prompts) - next_prompt)
        owners = list(range(next_prompt, next_prompt + n0))
        next_prompt += n0
        pids = {i: encode(prompts[i]) for i in owners}
        first = sample(model, [pids[i] for i in owners], config.max_new, tokenizer.eos_id, gen, config.temperature)
        stats.generations += n0
        stats.traces += n0
        open_ = [_Open(i, list(c)) for i, c in zip(owners, first)]
        for round_ in range(config.max_interventions + 1):
            todo: list[tuple[_Open, list[int], int]] = []
            for tr in open_:
                words = tokenizer.tokens(tr.completion)
                iv = intervener.intervene(prompts[tr.owner], words)
                if iv is not None and not isinstance(iv, Intervention):
                    raise InputDataError("build_calm_traces: 'intervener.intervene' must return an Intervention "
                                         f"or None. Got {type(iv).__name__}.")
                if iv is None:
                    if round_ == 0:
                        stats.flawless_first += 1
                    if not is_correct(prompts[tr.owner], tr.completion):
                        stats.dropped_wrong += 1
                    elif tr.hints or config.keep_unintervened:
                        kept.append(CALMTrace(tuple(pids[tr.owner]), tuple(tr.completion), tr.hints, tr.inserted))
                    continue
                if round_ == config.max_interventions:
                    stats.dropped_flawed += 1
                    continue
                prefix = tr.completion[: min(iv.index, len(tr.completion))] + tokenizer.encode(list(iv.hint))
                if len(prefix) >= config.max_new:
                    stats.dropped_flawed += 1
                    continue
                todo.append((tr, prefix, len(iv.hint)))
            allowed = max(0, budget - stats.generations)
            stats.dropped_flawed += max(0, len(todo) - allowed)  # no budget left to continue these
            todo = todo[:allowed]
            if not todo:
                break
            conts = sample(model, [pids[tr.owner] + prefix for tr, prefix, _ in todo],
                           max(1, config.max_new - min(len(p) for _, p, _ in todo)), tokenizer.eos_id, gen,
                           config.temperature)
            stats.generations += len(todo)
            open_ = [_Open(tr.owner, (prefix + list(cont))[: config.max_new], tr.hints + 1, tr.inserted + k)
                     for (tr, prefix, k), cont in zip(todo, conts)]
    for t in kept:
        stats.kept += 1
        stats.hint_tokens += t.inserted  # words the intervener wrote (hints the model wrote itself are its own)
        stats.kept_tokens += len(t.completion)
        stats.interventions.append(t.hints)
        if t.hints:
            stats.kept_intervened += 1
            stats.intervened_tokens += len(t.completion)
    return kept, stats


def calm_sft(model: nn.Module, traces: Sequence[CALMTrace], config: CALMConfig, seed: int,
             callback: Callback | None = None, every: int = 0) -> TrainLog:
    """Fine-tune ``model`` in place on the kept traces (hints included, as the paper trains on them)."""
    if not isinstance(config, CALMConfig):
        raise InvalidParameterError("config", "calm_sft", "a CALMConfig", config)
    if any(not isinstance(t, CALMTrace) for t in traces):
        raise InputDataError("calm_sft: 'traces' must be CALMTrace objects (from build_calm_traces).")
    return sft_train(model, [t.prompt for t in traces], [t.completion for t in traces], config.sft(), seed,
                     callback, every)
