"""Minute-scale trainers for tiny causal LMs: SFT, DPO, GRPO with a verifiable reward, rejection-sampling SFT.

Each trainer takes one frozen config (validated on creation), an explicit seed, and a model that maps
ids ``(B, T)`` to logits ``(B, T, V)`` (`guardopt.align.model.TinyCausalLM`); each returns a
`TrainLog` (one row per step or iteration, the number of sampled generations, and what an optional
callback measured). The losses are the pure functions of `guardopt.align.losses`, the same ones the
TRL subclasses of `guardopt.integrations.trl` call.

* `sft_train`: token-mean NLL of completions given prompts.
* `dpo_train`: DPO (Rafailov et al., 2023) on `PreferencePair` s; a pair's ``start`` restricts the
  loss to the tokens from the divergence index on, and ``sft_weight`` adds the chosen NLL, which
  makes it Intervened PO (`guardopt.align.intervened`).
* `grpo_train`: GRPO (Shao et al., 2024, arXiv 2402.03300) with a verifiable reward; it records, per
  group, whether all rewards were equal (such a group has no learning signal).
* `rejection_sampling_sft`: sample, keep the samples whose reward reaches a threshold, SFT on them.

A progress bar (rich) is off by default.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import nn

from guardopt.align.losses import grpo_advantages, grpo_loss, intervened_po_loss, masked_nll
from guardopt.align.model import pad_right, sample, token_logps
from guardopt.core.errors import InputDataError, InvalidParameterError, check_bool, check_in_range, check_int

__all__ = [
    "DPOConfig",
    "GRPOConfig",
    "PreferencePair",
    "RejectionSamplingConfig",
    "SFTConfig",
    "TrainLog",
    "completion_batch",
    "dpo_train",
    "frozen_copy",
    "grpo_train",
    "rejection_sampling_sft",
    "sft_train",
]

P = TypeVar("P")
Callback = Callable[[int, nn.Module], dict[str, float]]


@dataclass
class TrainLog:
    """What a trainer did: one row per step, generations sampled, and the callback's rows."""

    rows: list[dict[str, float]] = field(default_factory=list)
    generations: int = 0
    evals: list[dict[str, float]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _check_common(owner: str, lr: float, grad_clip: float, batch_size: int, progress: bool = False) -> None:
    check_in_range(lr, "lr", owner, 0.0)
    check_in_range(grad_clip, "grad_clip", owner, 0.0)
    check_int(batch_size, "batch_size", owner, 1)
    check_bool(progress, "progress", owner)


@dataclass(frozen=True)
class SFTConfig:
    """Supervised fine-tuning.

    Args:
        steps: Optimizer steps.
        batch_size: Sequences per step.
        lr: Adam learning rate (cosine-decayed to 10% over ``steps``).
        grad_clip: Gradient-norm clip.
        progress: Show a progress bar.
    """

    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-3
    grad_clip: float = 1.0
    progress: bool = False

    def __post_init__(self) -> None:
        check_int(self.steps, "steps", "SFTConfig", 0)
        _check_common("SFTConfig", self.lr, self.grad_clip, self.batch_size, self.progress)


@dataclass(frozen=True)
class DPOConfig:
    """DPO on preference pairs (and, with pairs' ``start`` and ``sft_weight``, Intervened PO).

    Args:
        beta: Inverse temperature β > 0 of the implicit reward.
        sft_weight: λ_SFT ≥ 0, weight of the chosen tokens' NLL.
        epochs: Passes over the pairs.
        batch_size: Pairs per step.
        lr: Adam learning rate.
        grad_clip: Gradient-norm clip.
        progress: Show a progress bar.
    """

    beta: float = 0.1
    sft_weight: float = 0.0
    epochs: int = 4
    batch_size: int = 32
    lr: float = 1e-3
    grad_clip: float = 1.0
    progress: bool = False

    def __post_init__(self) -> None:
        check_in_range(self.beta, "beta", "DPOConfig", 0.0)
        check_in_range(self.sft_weight, "sft_weight", "DPOConfig", 0.0, low_open=False)
        check_int(self.epochs, "epochs", "DPOConfig", 0)
        _check_common("DPOConfig", self.lr, self.grad_clip, self.batch_size, self.progress)


@dataclass(frozen=True)
class GRPOConfig:
    """GRPO with a verifiable reward.

    Args:
        iterations: Sampling rounds (one optimizer step each per inner step).
        prompts_per_iter: Prompts per round.
        group_size: Samples per prompt (``G``).
        inner_steps: Optimizer steps per round on the same samples (the ratio departs from 1 after the first).
        lr: Adam learning rate.
        clip_eps: PPO clip ε.
        kl_beta: Weight of the k3 KL to the reference.
        max_new: Most sampled tokens per completion.
        temperature: Sampling temperature.
        grad_clip: Gradient-norm clip.
        progress: Show a progress bar.
    """

    iterations: int = 100
    prompts_per_iter: int = 8
    group_size: int = 8
    inner_steps: int = 1
    lr: float = 1e-3
    clip_eps: float = 0.2
    kl_beta: float = 0.04
    max_new: int = 24
    temperature: float = 1.0
    grad_clip: float = 1.0
    progress: bool = False

    def __post_init__(self) -> None:
        check_int(self.iterations, "iterations", "GRPOConfig", 0)
        check_int(self.prompts_per_iter, "prompts_per_iter", "GRPOConfig", 1)
        check_int(self.group_size, "group_size", "GRPOConfig", 2)
        check_int(self.inner_steps, "inner_steps", "GRPOConfig", 1)
        check_in_range(self.clip_eps, "clip_eps", "GRPOConfig", 0.0, 1.0)
        check_in_range(self.kl_beta, "kl_beta", "GRPOConfig", 0.0, low_open=False)
        check_int(self.max_new, "max_new", "GRPOConfig", 1)
        check_in_range(self.temperature, "temperature", "GRPOConfig", 0.0)
        _check_common("GRPOConfig", self.lr, self.grad_clip, self.prompts_per_iter, self.progress)

    @property
    def generations(self) -> int:
        """Completions sampled over the whole run."""
        return self.iterations * self.prompts_per_iter * self.group_size


@dataclass(frozen=True)
class RejectionSamplingConfig:
    """Rejection-sampling SFT: sample, keep the good samples, fine-tune on them.

    Args:
        samples_per_prompt: Completions sampled per prompt.
        threshold: Keep a sample when its reward is at least this.
        max_new: Most sampled tokens per completion.
        temperature: Sampling temperature.
        sft: The fine-tuning run on the kept samples.
    """

    samples_per_prompt: int = 4
    threshold: float = 1.0
    max_new: int = 24
    temperature: float = 1.0
    sft: SFTConfig = field(default_factory=lambda: SFTConfig(steps=200, lr=1e-3))

    def __post_init__(self) -> None:
        check_int(self.samples_per_prompt, "samples_per_prompt", "RejectionSamplingConfig", 1)
        check_in_range(self.threshold, "threshold", "RejectionSamplingConfig")
        check_int(self.max_new, "max_new", "RejectionSamplingConfig", 1)
        check_in_range(self.temperature, "temperature", "RejectionSamplingConfig", 0.0)
        if not isinstance(self.sft, SFTConfig):
            raise InvalidParameterError("sft", "RejectionSamplingConfig", "an SFTConfig", self.sft)


@dataclass(frozen=True)
class PreferencePair:
    """A preference pair over completions of one prompt (ids).

    ``start`` is the divergence index h: the first completion position the loss scores (0 scores the
    whole completion). For an intervened pair, ``chosen[:start] == rejected[:start]``.
    """

    prompt: tuple[int, ...]
    chosen: tuple[int, ...]
    rejected: tuple[int, ...]
    start: int = 0

    def __post_init__(self) -> None:
        if not self.prompt or not self.chosen or not self.rejected:
            raise InputDataError("PreferencePair: prompt, chosen and rejected must be non-empty.")
        for name in ("prompt", "chosen", "rejected"):
            ids = getattr(self, name)
            if isinstance(ids, (str, bytes)) or not all(
                    isinstance(i, numbers.Integral) and not isinstance(i, bool) and int(i) >= 0 for i in ids):
                raise InputDataError(f"PreferencePair: {name!r} must be a sequence of non-negative integer token "
                                     f"ids. Got {ids!r}.")
        check_int(self.start, "start", "PreferencePair", 0, min(len(self.chosen), len(self.rejected)) - 1)


# ------------------------------------------------------------------------------------------ helpers


def completion_batch(prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]],
                     starts: Sequence[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ``prompt ⊕ completion`` ids ``(B, T)`` and the mask ``(B, T−1)`` aligned with
    `token_logps`: 1 where the predicted token is a completion token at index ≥ ``starts[i]``."""
    if len(prompts) != len(completions):
        raise InputDataError("completion_batch: as many prompts as completions are needed.")
    seqs = [list(p) + list(c) for p, c in zip(prompts, completions)]
    ids = pad_right(seqs)
    mask = torch.zeros(ids.shape[0], ids.shape[1] - 1)
    for i, (p, c) in enumerate(zip(prompts, completions)):
        s = 0 if starts is None else int(starts[i])
        mask[i, len(p) - 1 + s: len(p) - 1 + len(c)] = 1.0
    return ids, mask


def _progress(enabled: bool, total: int, what: str) -> Any:
    if not enabled:
        return None
    from rich.progress import Progress

    bar = Progress(transient=True)
    bar.start()
    bar.add_task(what, total=total)
    return bar


def _advance(bar: Any) -> None:
    if bar is not None:
        bar.advance(bar.task_ids[0])


def _stop(bar: Any) -> None:
    if bar is not None:
        bar.stop()


def _step(model: nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor, clip: float) -> float:
    if not bool(torch.isfinite(loss)):
        raise InputDataError("trainer: the loss became non-finite; lower the learning rate.")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return float(loss.detach())


def _maybe_eval(callback: Callback | None, every: int, step: int, model: nn.Module, log: TrainLog,
                last: bool = False) -> None:
    if callback is None or every <= 0 or (step % every and not last):
        return
    if log.evals and log.evals[-1].get("step") == step:
        return
    row = {"step": float(step), "generations": float(log.generations), **callback(step, model)}
    log.evals.append(row)


# ------------------------------------------------------------------------------------------ trainers


def sft_train(model: nn.Module, prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]],
              config: SFTConfig, seed: int, callback: Callback | None = None, every: int = 0) -> TrainLog:
    """Fine-tune ``model`` in place on ``completions`` given ``prompts`` (token-mean NLL).

    Args:
        model: The policy (trained in place).
        prompts, completions: Id lists, one pair per example.
        config: The run.
        seed: Seed of the minibatch order.
        callback: Optional ``(step, model) -> metrics`` run every ``every`` steps (and at the end).
        every: Callback period in steps (0: never).
    """
    if not prompts:
        return TrainLog()
    gen = torch.Generator().manual_seed(int(seed))
    ids, mask = completion_batch(prompts, completions)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s, config.steps) / max(1, config.steps))))
    log = TrainLog()
    bar = _progress(config.progress, config.steps, "SFT")
    model.train()
    _maybe_eval(callback, every, 0, model, log)
    for step in range(1, config.steps + 1):
        b = torch.randint(ids.shape[0], (min(config.batch_size, ids.shape[0]),), generator=gen)
        x, m = ids[b], mask[b]
        T = int(torch.nonzero(x.sum(0)).max()) + 1  # trim columns that are padding in every row
        loss = masked_nll(token_logps(model, x[:, :T]), m[:, : T - 1]).mean()
        log.rows.append({"step": float(step), "loss": _step(model, opt, loss, config.grad_clip)})
        sched.step()
        _advance(bar)
        _maybe_eval(callback, every, step, model, log, last=step == config.steps)
    _stop(bar)
    return log


def dpo_train(model: nn.Module, ref_model: nn.Module, pairs: Sequence[PreferencePair], config: DPOConfig,
              seed: int, callback: Callback | None = None, every: int = 0) -> TrainLog:
    """DPO / Intervened PO on ``pairs``: `intervened_po_loss` with masks from each pair's ``start``.

    Args:
        model: The policy (trained in place).
        ref_model: The frozen reference π_ref (usually a copy of the model before training).
        pairs: Preference pairs.
        config: The run (``sft_weight`` > 0 adds the chosen NLL).
        seed: Seed of the minibatch order.
        callback: Optional ``(step, model) -> metrics`` run every ``every`` steps (and at the end).
        every: Callback period in steps (0: never).
    """
    log = TrainLog()
    if not pairs:
        _maybe_eval(callback, every, 0, model, log, last=True)
        return log
    gen = torch.Generator().manual_seed(int(seed))
    pr = [p.prompt for p in pairs]
    starts = [p.start for p in pairs]
    c_ids, c_mask = completion_batch(pr, [p.chosen for p in pairs], starts)
    r_ids, r_mask = completion_batch(pr, [p.rejected for p in pairs], starts)
    ref_model.eval()
    with torch.no_grad():
        ref_c, ref_r = token_logps(ref_model, c_ids), token_logps(ref_model, r_ids)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    n = len(pairs)
    steps_per_epoch = max(1, math.ceil(n / config.batch_size))
    total = config.epochs * steps_per_epoch
    bar = _progress(config.progress, total, "DPO")
    model.train()
    _maybe_eval(callback, every, 0, model, log)
    step = 0
    for _ in range(config.epochs):
        order = torch.randperm(n, generator=gen)
        for k in range(steps_per_epoch):
            b = order[k * config.batch_size: (k + 1) * config.batch_size]
            loss = intervened_po_loss(token_logps(model, c_ids[b]), token_logps(model, r_ids[b]), ref_c[b], ref_r[b],
                                      c_mask[b], r_mask[b], beta=config.beta, sft_weight=config.sft_weight).mean()
            step += 1
            log.rows.append({"step": float(step), "loss": _step(model, opt, loss, config.grad_clip)})
            _advance(bar)
            _maybe_eval(callback, every, step, model, log, last=step == total)
    _stop(bar)
    return log


def grpo_train(model: nn.Module, ref_model: nn.Module, prompts: Sequence[P], encode: Callable[[P], list[int]],
               reward: Callable[[P, list[int]], float], config: GRPOConfig, seed: int, eos_id: int,
               callback: Callback | None = None, every: int = 0,
               advantage_fn: Callable[[torch.Tensor], torch.Tensor] | None = None) -> TrainLog:
    """GRPO on prompts drawn with replacement from ``prompts``, with a verifiable reward.

    Args:
        model: The policy (trained in place; it samples its own groups, on-policy).
        ref_model: The frozen reference of the KL term.
        prompts: Prompt objects (any type); ``encode`` maps one to its ids (with BOS).
        encode: Prompt → ids.
        reward: ``(prompt, completion ids) -> float``.
        config: The run.
        seed: Seed of the prompt draws and the sampling.
        eos_id: End token of completions.
        callback: Optional ``(step, model) -> metrics`` run every ``every`` iterations (and at the end).
        every: Callback period in iterations (0: never).
        advantage_fn: Maps the round's rewards ``(P, G)`` (rows in draw order) to advantages
            ``(P, G)``; None: `grpo_advantages`. Another objective on the same sampling, clipped
            surrogate and KL term (e.g. `guardopt.align.riskpo`) plugs in here.

    Returns:
        A `TrainLog`; ``extra["groups"]`` lists ``(prompt index, zero reward variance)`` per group.
        Each row also holds ``cov_logp_adv``: the covariance over the round's completions of the
        sequence log-probability under the sampling policy and the advantage (the quantity whose
        sign drives the one-step entropy change of a softmax policy).
    """
    if not prompts:
        raise InputDataError("grpo_train: no prompts.")
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    ref_model.eval()
    log = TrainLog(extra={"groups": []})
    bar = _progress(config.progress, config.iterations, "GRPO")
    G = config.group_size
    _maybe_eval(callback, every, 0, model, log)
    for it in range(1, config.iterations + 1):
        pick = torch.randint(len(prompts), (config.prompts_per_iter,), generator=gen).tolist()
        pids = [encode(prompts[i]) for i in pick]
        prefixes = [p for p in pids for _ in range(G)]
        comps = sample(model, prefixes, config.max_new, eos_id, gen, config.temperature)
        log.generations += len(comps)
        r = torch.tensor([reward(prompts[pick[k // G]], c) for k, c in enumerate(comps)]).view(-1, G)
        zero = (r.max(dim=1).values == r.min(dim=1).values).tolist()
        log.extra["groups"] += [(i, bool(z)) for i, z in zip(pick, zero)]
        adv = (grpo_advantages(r) if advantage_fn is None else _checked_advantages(advantage_fn(r), r)).reshape(-1)
        keep = [k for k in range(len(comps)) if len(comps[k]) > 0]
        ids, mask = completion_batch([prefixes[k] for k in keep], [comps[k] for k in keep])
        adv = adv[keep]
        with torch.no_grad():
            old, ref = token_logps(model, ids), token_logps(ref_model, ids)
        seq_lp = (old * mask).sum(dim=-1)
        cov = float(((seq_lp - seq_lp.mean()) * (adv - adv.mean())).mean()) if len(keep) else 0.0
        model.train()
        loss_v = 0.0
        for _ in range(config.inner_steps):
            loss = grpo_loss(token_logps(model, ids), old, ref, adv, mask, config.clip_eps, config.kl_beta)
            loss_v = _step(model, opt, loss, config.grad_clip)
        log.rows.append({"step": float(it), "loss": loss_v, "reward": float(r.mean()),
                         "zero_variance_share": float(sum(zero) / len(zero)), "cov_logp_adv": cov})
        _advance(bar)
        _maybe_eval(callback, every, it, model, log, last=it == config.iterations)
    _stop(bar)
    return log


def _checked_advantages(adv: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    if not isinstance(adv, torch.Tensor) or adv.shape != rewards.shape:
        raise InputDataError("grpo_train: 'advantage_fn' must return a tensor of the rewards' shape "
                             f"{tuple(rewards.shape)}.")
    if not bool(torch.isfinite(adv).all()):
        raise InputDataError("grpo_train: 'advantage_fn' returned non-finite advantages.")
    return adv.to(rewards.dtype)


def rejection_sampling_sft(model: nn.Module, prompts: Sequence[P], encode: Callable[[P], list[int]],
                           reward: Callable[[P, list[int]], float], config: RejectionSamplingConfig, seed: int,
                           eos_id: int, callback: Callback | None = None, every: int = 0) -> TrainLog:
    """Sample ``samples_per_prompt`` completions per prompt, keep those with reward ≥ threshold, SFT on them.

    Returns:
        The SFT run's `TrainLog`, with ``generations`` and ``extra["kept"]`` (samples kept).
    """
    gen = torch.Generator().manual_seed(int(seed))
    pids = [encode(p) for p in prompts for _ in range(config.samples_per_prompt)]
    owners = [p for p in prompts for _ in range(config.samples_per_prompt)]
    comps = sample(model, pids, config.max_new, eos_id, gen, config.temperature)
    kept = [(p, c) for p, c, o in zip(pids, comps, owners) if c and reward(o, c) >= config.threshold]
    log = sft_train(model, [p for p, _ in kept], [c for _, c in kept], config.sft, seed + 1, callback, every)
    if not kept:
        _maybe_eval(callback, every, 0, model, log, last=True)
    log.generations = len(comps)
    log.extra["kept"] = len(kept)
    return log


def frozen_copy(model: nn.Module) -> nn.Module:
    """A deep copy with gradients off, for use as a reference policy."""
    ref = copy.deepcopy(model)
    for p in ref.parameters():
        p.requires_grad_(False)
    return ref.eval()
