"""Entropy-Modulated Policy Gradients (EMPG) for multi-step text agents trained with GRPO.

Paper: Wang, Liu, Fu, Li, Wang, Lin, Yue, Zhang, Wang & Wang (2025), "Harnessing Uncertainty:
Entropy-Modulated Policy Gradients for Long-Horizon LLM Agents", arXiv 2509.09265 (ICLR 2026).

An agent's episode is a sequence of steps, each a short generated answer (think words and an
action), and only the episode's outcome is rewarded. GRPO gives every token of trajectory ``i`` the
same group-normalized advantage ``A(τ_i)``. EMPG re-weights it per step with the step's uncertainty:

* step entropy ``H_{i,t}``: the mean next-token entropy over the tokens of step ``t`` (under the
  sampling policy);
* batch min–max normalization ``H̃ = (H − min H) / (max H − min H + ε)`` over every step of the batch;
* self-calibrating gradient scaling ``g(H̃) = exp(−k·H̃) / mean_batch exp(−k·H̃)`` (its batch mean is
  1, so it moves credit between steps without changing the total): confident steps get more of the
  trajectory's credit (or blame), uncertain ones less;
* the future-clarity bonus ``f(H̃_{i,t+1}) = exp(−k′·H̃_{i,t+1})``, zero for the last step: a step
  that leads to a confident next step earns ``ζ·f``;
* ``A_mod(i,t) = g(H̃_{i,t})·A(τ_i) + ζ·f(H̃_{i,t+1})``, then a batch-level zero-mean normalization
  (``A_mod − mean_batch A_mod``); every token of step ``t`` gets ``A_mod(i,t)``.

The defaults ``k = k′ = 1`` and ``ζ = 0.1`` and ``ε = 1e-8`` are those of the authors' published
pseudocode (project page, ``compute_empg_advantage``). One published third-party benchmark configures
``ζ = 0.05``; it is a sensitivity setting of the reproduction, not the default. The final
normalization subtracts the batch mean only, as the paper states it ("zero-mean"); dividing by the
standard deviation as well is not part of the method. Unlike the pseudocode, ``g`` is divided by the
batch mean without an added ε: the mean of ``exp(−k·H̃)`` is at least ``exp(−k)`` > 0, and the exact
division makes ``k = 0`` give ``g ≡ 1`` exactly, so EMPG with ``k = 0, ζ = 0`` is GRPO (its
advantages equal GRPO's up to the float rounding of a zero batch mean; a test checks it).

This module holds the advantage formula (`empg_advantages`, a pure function of tensors), the step
entropies (`token_entropies`, `step_entropies`), an episode sampler for any word-level text
environment (`rollout`, `TextEnv`), and the trainer (`agent_grpo_train`): GRPO on the steps of
whole episodes with trajectory-level advantages (``empg=None``, the baseline) or EMPG's step-level
ones. The clipped surrogate and the k3 KL term are `guardopt.align.losses.grpo_loss`, applied to one
row per step.

Shapes: ``N`` episodes, ``S`` steps per episode, ``B = N·S`` step rows, ``T`` token positions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import torch
from torch import nn

from guardopt.align.losses import grpo_advantages, grpo_loss
from guardopt.align.model import sample, token_logps
from guardopt.align.tokenizer import Tokenizer
from guardopt.align.trainers import TrainLog, completion_batch
from guardopt.core.errors import InputDataError, InvalidParameterError, check_bool, check_in_range, check_int

__all__ = [
    "AgentGRPOConfig",
    "EMPGConfig",
    "Rollout",
    "TextEnv",
    "agent_grpo_train",
    "empg_advantages",
    "evaluate_success",
    "rollout",
    "step_entropies",
    "token_entropies",
]

S = TypeVar("S")
Task = TypeVar("Task", contravariant=True)


@dataclass(frozen=True)
class EMPGConfig:
    """The entropy modulation of EMPG.

    Args:
        k: Sharpness ``k ≥ 0`` of the self-calibrating gradient scaling ``g`` (0: every step weighs 1).
        k_future: Sharpness ``k′ ≥ 0`` of the future-clarity bonus ``f``.
        zeta: Weight ``ζ ≥ 0`` of the future-clarity bonus (0: no bonus).
        eps: ``ε > 0`` of the min–max normalization of step entropies.
        center: Subtract the batch mean of the modulated advantages (the paper's final normalization).
    """

    k: float = 1.0
    k_future: float = 1.0
    zeta: float = 0.1
    eps: float = 1e-8
    center: bool = True

    def __post_init__(self) -> None:
        check_in_range(self.k, "k", "EMPGConfig", 0.0, 50.0, low_open=False)
        check_in_range(self.k_future, "k_future", "EMPGConfig", 0.0, 50.0, low_open=False)
        check_in_range(self.zeta, "zeta", "EMPGConfig", 0.0, 1e6, low_open=False)
        check_in_range(self.eps, "eps", "EMPGConfig", 0.0, 1.0)
        check_bool(self.center, "center", "EMPGConfig")


def empg_advantages(traj_advantages: torch.Tensor, step_entropy: torch.Tensor,
                    config: EMPGConfig | None = None) -> torch.Tensor:
    """EMPG's step-level advantages from trajectory advantages and step entropies.

    Args:
        traj_advantages: ``(N,)`` the advantage ``A(τ_i)`` of each episode (e.g. GRPO's
            group-normalized reward, `guardopt.align.losses.grpo_advantages` flattened).
        step_entropy: ``(N, S)`` the mean token entropy ``H_{i,t}`` of each step (≥ 0).
        config: The modulation (default `EMPGConfig()`).

    Returns:
        ``(N, S)`` the advantages ``A_mod(i,t)`` (after the zero-mean normalization when ``center``).

    Example:
        >>> A = torch.tensor([1.0, -1.0])
        >>> H = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
        >>> empg_advantages(A, H, EMPGConfig(k=0.0, zeta=0.0))
        tensor([[ 1.,  1.],
                [-1., -1.]])
    """
    cfg = EMPGConfig() if config is None else config
    if not isinstance(cfg, EMPGConfig):
        raise InvalidParameterError("config", "empg_advantages", "an EMPGConfig", config)
    if not isinstance(traj_advantages, torch.Tensor) or not isinstance(step_entropy, torch.Tensor):
        raise InputDataError("empg_advantages: 'traj_advantages' and 'step_entropy' must be tensors.")
    if step_entropy.ndim != 2 or step_entropy.shape[0] < 1 or step_entropy.shape[1] < 1:
        raise InputDataError(f"empg_advantages: 'step_entropy' must have shape (N, S) with N, S ≥ 1. "
                             f"Got {tuple(step_entropy.shape)}.")
    if traj_advantages.shape != step_entropy.shape[:1]:
        raise InputDataError(f"empg_advantages: 'traj_advantages' must have shape (N,) = "
                             f"({step_entropy.shape[0]},). Got {tuple(traj_advantages.shape)}.")
    for name, t in (("traj_advantages", traj_advantages), ("step_entropy", step_entropy)):
        if not bool(torch.isfinite(t).all()):
            raise InputDataError(f"empg_advantages: {name!r} holds NaN or infinite values.")
    if bool((step_entropy < 0).any()):
        raise InputDataError("empg_advantages: 'step_entropy' must be non-negative (an entropy).")
    H = step_entropy.to(torch.float64)
    A = traj_advantages.to(torch.float64)
    h_norm = (H - H.min()) / (H.max() - H.min() + cfg.eps)
    scale = torch.exp(-cfg.k * h_norm)
    g = scale / scale.mean()  # mean ≥ exp(−k) > 0; exactly 1 everywhere when k = 0
    bonus = torch.zeros_like(H)
    bonus[:, :-1] = torch.exp(-cfg.k_future * h_norm[:, 1:])  # f(H̃ of the next step); the last step has none
    mod = g * A[:, None] + cfg.zeta * bonus
    if cfg.center:
        mod = mod - mod.mean()
    return mod.to(traj_advantages.dtype if traj_advantages.is_floating_point() else torch.float32)


def token_entropies(model: nn.Module, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token log-probabilities and entropies of a batch, from one forward pass.

    Args:
        model: A causal LM mapping ids ``(B, T)`` to logits ``(B, T, V)``.
        ids: ``(B, T)`` token ids.

    Returns:
        ``(logps, entropy)``: ``(B, T−1)`` the log-probability of each next token and ``(B, T−1)``
        the entropy (nats) of the next-token distribution at each position.
    """
    logp = torch.log_softmax(model(ids[:, :-1]).float(), dim=-1)
    tok = logp.gather(-1, ids[:, 1:, None]).squeeze(-1)
    ent = -(logp.exp() * logp).sum(-1)
    return tok, ent


def step_entropies(entropy: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean entropy over the masked tokens of each row (one row per step).

    Args:
        entropy: ``(B, T)`` per-token entropies.
        mask: ``(B, T)`` 1 on the tokens of the step.

    Returns:
        ``(B,)`` the masked mean (0 for a row without tokens).
    """
    if not isinstance(entropy, torch.Tensor) or not isinstance(mask, torch.Tensor) or entropy.shape != mask.shape \
            or entropy.ndim != 2:
        raise InputDataError("step_entropies: 'entropy' and 'mask' must share one (B, T) shape.")
    m = mask.to(entropy.dtype)
    return (torch.where(m > 0, entropy, torch.zeros_like(entropy)) * m).sum(-1) / m.sum(-1).clamp_min(1.0)


class TextEnv(Protocol[S, Task]):
    """What `rollout` needs of an environment whose observations and actions are words."""

    horizon: int

    def reset(self, task: Task) -> S: ...

    def observe(self, state: S) -> Sequence[str]: ...

    def step(self, state: S, words: Sequence[str]) -> S: ...

    def reward(self, state: S) -> float: ...


@dataclass
class Rollout:
    """Sampled episodes, flattened to one row per step (episode-major: row ``i·S + t``).

    Attributes:
        prefixes: ``B`` prompt id lists (BOS + the observation words of the step).
        answers: ``B`` answer id lists (the generated tokens, EOS included when generated).
        rewards: ``(N,)`` the reward of each episode.
        n_steps: ``S``, the horizon.
    """

    prefixes: list[list[int]]
    answers: list[list[int]]
    rewards: torch.Tensor
    n_steps: int


def rollout(model: nn.Module, env: TextEnv[Any, Any], tokenizer: Tokenizer, tasks: Sequence[Any],
            generator: torch.Generator, max_answer: int = 2, temperature: float = 1.0) -> Rollout:
    """Play one episode of each task with ``model`` as the agent.

    Each step the prompt is BOS plus the current observation (the agent is Markov in its
    observation); the model samples up to ``max_answer`` tokens, the environment reads the words.

    Args:
        model: The policy (`guardopt.align.model.TinyCausalLM` or compatible with `sample`).
        env: The environment (`TextEnv`).
        tokenizer: Words ↔ ids.
        tasks: ``N`` tasks, one episode each.
        generator: The only source of randomness.
        max_answer: Most tokens per answer.
        temperature: Sampling temperature.
    """
    if not tasks:
        raise InputDataError("rollout: no tasks.")
    states = [env.reset(t) for t in tasks]
    steps_p: list[list[list[int]]] = []
    steps_a: list[list[list[int]]] = []
    for _ in range(env.horizon):
        prefixes = [tokenizer.encode(list(env.observe(s)), bos=True) for s in states]
        answers = sample(model, prefixes, max_answer, tokenizer.eos_id, generator, temperature)
        states = [env.step(s, [w for w in tokenizer.tokens(a) if w != tokenizer.vocab[tokenizer.eos_id]])
                  for s, a in zip(states, answers)]
        steps_p.append(prefixes)
        steps_a.append(answers)
    n, h = len(tasks), env.horizon
    return Rollout(prefixes=[steps_p[t][i] for i in range(n) for t in range(h)],
                   answers=[steps_a[t][i] for i in range(n) for t in range(h)],
                   rewards=torch.tensor([float(env.reward(s)) for s in states]), n_steps=h)


@torch.no_grad()
def evaluate_success(model: nn.Module, env: TextEnv[Any, Any], tokenizer: Tokenizer, tasks: Sequence[Any],
                     episodes_per_task: int, seed: int, max_answer: int = 2, temperature: float = 1.0) -> float:
    """The mean reward (the success rate for a 0/1 reward) over ``episodes_per_task`` episodes of each task.

    The seed fixes the random numbers, so two policies evaluated with one seed are compared on
    common random numbers.
    """
    episodes_per_task = check_int(episodes_per_task, "episodes_per_task", "evaluate_success", 1)
    gen = torch.Generator().manual_seed(int(seed))
    ro = rollout(model, env, tokenizer, [t for t in tasks for _ in range(episodes_per_task)], gen, max_answer,
                 temperature)
    return float(ro.rewards.mean())


@dataclass(frozen=True)
class AgentGRPOConfig:
    """GRPO on multi-step episodes (and, with an `EMPGConfig`, EMPG).

    Args:
        updates: Sampling rounds, one optimizer step each.
        tasks_per_update: Tasks drawn (with replacement) per round.
        group_size: Episodes per task (``G``); the trajectory advantage is normalized in the group.
        lr: Adam learning rate.
        clip_eps: PPO clip ε.
        kl_beta: Weight of the k3 KL to the reference policy.
        max_answer: Most tokens per answer.
        temperature: Sampling temperature.
        grad_clip: Gradient-norm clip.
    """

    updates: int = 300
    tasks_per_update: int = 4
    group_size: int = 8
    lr: float = 1e-3
    clip_eps: float = 0.2
    kl_beta: float = 0.04
    max_answer: int = 2
    temperature: float = 1.0
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        check_int(self.updates, "updates", "AgentGRPOConfig", 0)
        check_int(self.tasks_per_update, "tasks_per_update", "AgentGRPOConfig", 1)
        check_int(self.group_size, "group_size", "AgentGRPOConfig", 2)
        check_in_range(self.lr, "lr", "AgentGRPOConfig", 0.0, 1.0)
        check_in_range(self.clip_eps, "clip_eps", "AgentGRPOConfig", 0.0, 1.0)
        check_in_range(self.kl_beta, "kl_beta", "AgentGRPOConfig", 0.0, 1e6, low_open=False)
        check_int(self.max_answer, "max_answer", "AgentGRPOConfig", 1)
        check_in_range(self.temperature, "temperature", "AgentGRPOConfig", 0.0, 1e3)
        check_in_range(self.grad_clip, "grad_clip", "AgentGRPOConfig", 0.0)


@dataclass
class _Batch:
    ids: torch.Tensor
    mask: torch.Tensor
    old: torch.Tensor
    old_logp_full: torch.Tensor
    ref: torch.Tensor
    entropy: torch.Tensor  # (N, S) step entropies
    rewards: torch.Tensor  # (P, G)


def _prepare(model: nn.Module, ref_model: nn.Module, ro: Rollout, groups: int) -> _Batch:
    ids, mask = completion_batch(ro.prefixes, ro.answers)
    with torch.no_grad():
        logp_full = torch.log_softmax(model(ids[:, :-1]).float(), dim=-1)
        old = logp_full.gather(-1, ids[:, 1:, None]).squeeze(-1)
        ent = -(logp_full.exp() * logp_full).sum(-1)
        ref = torch.log_softmax(ref_model(ids[:, :-1]).float(), dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    n = ro.rewards.shape[0]
    H = step_entropies(ent, mask).view(n, ro.n_steps)
    return _Batch(ids, mask, old, logp_full, ref, H, ro.rewards.view(groups, -1))


def _update_kl(model: nn.Module, batch: _Batch) -> float:
    """Exact mean KL(π_old ‖ π_new) over the answer tokens of the batch (full next-token distributions)."""
    with torch.no_grad():
        new = torch.log_softmax(model(batch.ids[:, :-1]).float(), dim=-1)
        kl = (batch.old_logp_full.exp() * (batch.old_logp_full - new)).sum(-1)
    m = batch.mask
    return float((kl * m).sum() / m.sum().clamp_min(1.0))


Callback = Callable[[int, nn.Module], dict[str, float]]


def agent_grpo_train(model: nn.Module, ref_model: nn.Module, env: TextEnv[Any, Any], tokenizer: Tokenizer,
                     tasks: Sequence[Any], config: AgentGRPOConfig, seed: int, empg: EMPGConfig | None = None,
                     callback: Callback | None = None, every: int = 0) -> TrainLog:
    """GRPO on whole episodes; with ``empg`` the step-level advantages of EMPG replace the trajectory's.

    Every round draws ``tasks_per_update`` tasks, plays ``group_size`` episodes of each, normalizes
    the episode rewards within each group (`grpo_advantages`), and takes one optimizer step of
    `grpo_loss` on one row per step. Without ``empg`` every step of an episode gets the episode's
    advantage (GRPO); with it, `empg_advantages` from the sampling policy's step entropies.

    Args:
        model: The policy (trained in place).
        ref_model: The frozen reference of the KL term.
        env: The environment (`TextEnv`).
        tokenizer: Words ↔ ids.
        tasks: The task pool.
        config: The run.
        seed: Seed of the task draws and the sampling.
        empg: The modulation, or None for GRPO.
        callback: Optional ``(update, model) -> metrics`` run every ``every`` updates (and at the end).
        every: Callback period in updates (0: never).

    Returns:
        A `TrainLog` with one row per update: ``reward`` (mean episode reward of the round),
        ``update_kl`` (exact KL(π_old ‖ π_new) on the round's answer tokens, the size of the step),
        ``ref_kl`` (the k3 estimate of KL(π_new ‖ π_ref) before the step), ``step_entropy`` (mean)
        and ``loss``.
    """
    if not tasks:
        raise InputDataError("agent_grpo_train: no tasks.")
    if not isinstance(config, AgentGRPOConfig):
        raise InvalidParameterError("config", "agent_grpo_train", "an AgentGRPOConfig", config)
    if empg is not None and not isinstance(empg, EMPGConfig):
        raise InvalidParameterError("empg", "agent_grpo_train", "an EMPGConfig or None", empg)
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    ref_model.eval()
    log = TrainLog()
    G = config.group_size

    def _eval(step: int) -> None:
        if callback is not None and every > 0 and (step % every == 0 or step == config.updates):
            log.evals.append({"step": float(step), "generations": float(log.generations), **callback(step, model)})

    _eval(0)
    for it in range(1, config.updates + 1):
        pick = torch.randint(len(tasks), (config.tasks_per_update,), generator=gen).tolist()
        ro = rollout(model, env, tokenizer, [tasks[i] for i in pick for _ in range(G)], gen, config.max_answer,
                     config.temperature)
        log.generations += len(ro.answers)
        batch = _prepare(model, ref_model, ro, config.tasks_per_update)
        traj = grpo_advantages(batch.rewards).reshape(-1)
        if empg is None:
            adv = traj[:, None].expand(-1, ro.n_steps).reshape(-1)
        else:
            adv = empg_advantages(traj, batch.entropy, empg).reshape(-1)
        model.train()
        loss = grpo_loss(token_logps(model, batch.ids), batch.old, batch.ref, adv, batch.mask, config.clip_eps,
                         config.kl_beta)
        if not bool(torch.isfinite(loss)):
            raise InputDataError("agent_grpo_train: the loss became non-finite; lower the learning rate.")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        opt.step()
        m = batch.mask
        delta = torch.where(m > 0, batch.ref - batch.old, torch.zeros_like(m))
        ref_kl = float(((torch.exp(delta) - delta - 1.0) * m).sum() / m.sum().clamp_min(1.0))
        log.rows.append({"step": float(it), "loss": float(loss.detach()), "reward": float(batch.rewards.mean()),
                         "update_kl": _update_kl(model, batch), "ref_kl": ref_kl,
                         "step_entropy": float(batch.entropy.mean()),
                         "zero_variance_share": float((batch.rewards.max(1).values == batch.rewards.min(1).values)
                                                      .float().mean())})
        _eval(it)
    return log

