"""Online off-policy actor-critic machinery shared by `SAC` and `STAC`: a replay buffer, a squashed
Gaussian actor, the training loop with automatic entropy tuning, and Monte-Carlo value-bias rollouts.

The loop follows Haarnoja et al., "Soft Actor-Critic Algorithms and Applications" (2018): uniform
random actions for ``start_steps`` environment steps, then one gradient update per environment step
(``updates_per_step``), each a critic step on r + γ(1 − d)(V'(s', a') − α log π(a'|s')) with
a' ~ π(·|s'), a Polyak-averaged target critic, an actor step on E[α log π(ã|s) − V(s, ã)] with ã
reparameterized, and a temperature step on −log α·(log π + H̄) (H̄ = −action_dim by default). What
V is — the twin minimum, one critic, or the distributional critic's μ − β·σ — is the subclass's
choice (`_target`, `_actor_value`, `_critic_loss`).

Environments are vectorized (``num_envs`` copies, gymnasium API: ``reset(seed=)`` → ``(obs, info)``,
``step(actions)`` → ``(obs, reward, terminated, truncated, info)`` with arrays over copies), such as
`guardopt.problems.safe_control.SafeControlEnv`. Actions are in [-1, 1]. ``terminated`` ends
bootstrapping, ``truncated`` does not (time limits are not part of the task). When any copy ends,
all copies are reset (every environment here ends its copies together).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_bool, check_int
from guardopt.rl.base import _progress, soft_update

__all__ = ["OnlineAgent", "OnlineConfig", "ReplayBuffer", "SquashedGaussianActor", "monte_carlo_value_bias",
           "time_updates", "trunk"]

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


def trunk(inp: int, out: int, hidden: int, layers: int = 2, dropout: float = 0.0,
          layer_norm: bool = False) -> nn.Sequential:
    """MLP with ``layers`` hidden blocks Linear → Dropout → LayerNorm → ReLU (STAC's block order;
    Dropout and LayerNorm are left out when off), then a Linear head of width ``out``."""
    mods: list[nn.Module] = []
    d = inp
    for _ in range(layers):
        mods.append(nn.Linear(d, hidden))
        if dropout > 0:
            mods.append(nn.Dropout(dropout))
        if layer_norm:
            mods.append(nn.LayerNorm(hidden))
        mods.append(nn.ReLU())
        d = hidden
    mods.append(nn.Linear(d, out))
    return nn.Sequential(*mods)


class SquashedGaussianActor(nn.Module):
    """π(a|s) = tanh(u), u ~ N(μ(s), σ(s)²): ``forward(obs (B, obs_dim))`` → ``(μ, log σ)`` of shape
    ``(B, act_dim)``, log σ clipped to [−5, 2]."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: int, layers: int = 2, dropout: float = 0.0,
                 layer_norm: bool = False) -> None:
        super().__init__()
        self.net = trunk(obs_dim, 2 * act_dim, hidden, layers, dropout, layer_norm)
        self.act_dim = act_dim

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_std = self.net(obs).split(self.act_dim, dim=-1)
        return mu, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(self, obs: torch.Tensor, generator: torch.Generator | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterized action ``(B, act_dim)`` and its log-density ``(B,)`` (tanh-corrected)."""
        mu, log_std = self(obs)
        std = log_std.exp()
        eps = torch.randn(mu.shape, generator=generator) if generator is not None else torch.randn_like(mu)
        u = mu + std * eps
        a = torch.tanh(u)
        # log N(u; μ, σ) − Σ log(1 − tanh(u)²), the latter in the stable form 2(log 2 − u − softplus(−2u)).
        logp = (-0.5 * eps.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        logp = logp - (2.0 * (math.log(2.0) - u - nn.functional.softplus(-2.0 * u))).sum(-1)
        return a, logp


class ReplayBuffer:
    """A ring buffer of transitions (float32 tensors): ``add`` a batch, ``sample`` a minibatch."""

    def __init__(self, obs_dim: int, act_dim: int, capacity: int) -> None:
        self.capacity = check_int(capacity, "capacity", "ReplayBuffer", low=1, high=100_000_000)
        obs_dim = check_int(obs_dim, "obs_dim", "ReplayBuffer", low=1, high=1_000_000)
        act_dim = check_int(act_dim, "act_dim", "ReplayBuffer", low=1, high=1_000_000)
        self.obs = torch.zeros(self.capacity, obs_dim)
        self.act = torch.zeros(self.capacity, act_dim)
        self.rew = torch.zeros(self.capacity)
        self.next_obs = torch.zeros(self.capacity, obs_dim)
        self.done = torch.zeros(self.capacity)
        self.size = 0
        self._pos = 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs: np.ndarray, act: np.ndarray, rew: np.ndarray, next_obs: np.ndarray,
            done: np.ndarray) -> None:
        """Append ``n`` transitions: ``obs (n, obs_dim)``, ``act (n, act_dim)``, ``rew (n,)``,
        ``next_obs (n, obs_dim)``, ``done (n,)`` (1 where the episode terminated, not truncated)."""
        n = len(rew)
        idx = (self._pos + np.arange(n)) % self.capacity
        t = torch.as_tensor
        self.obs[idx] = t(obs, dtype=torch.float32)
        self.act[idx] = t(act, dtype=torch.float32)
        self.rew[idx] = t(rew, dtype=torch.float32)
        self.next_obs[idx] = t(next_obs, dtype=torch.float32)
        self.done[idx] = t(done, dtype=torch.float32)
        self._pos = int((self._pos + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """A uniform minibatch with replacement: a dict of ``(batch_size, ...)`` tensors."""
        if self.size == 0:
            raise InvalidParameterError("self", "ReplayBuffer.sample", "a buffer holding transitions",
                                        "an empty buffer")
        idx = torch.randint(0, self.size, (batch_size,), generator=generator)
        return {"obs": self.obs[idx], "act": self.act[idx], "rew": self.rew[idx],
                "next_obs": self.next_obs[idx], "done": self.done[idx]}


class OnlineAgent:
    """Base of the online soft actor-critics. Subclasses set ``config_cls`` and implement
    ``_build_critic``, ``_target``, ``_critic_loss``, ``_actor_value`` and ``q_value``.

    After `learn`: ``log`` (a list of dicts, one every ``config.log_every`` environment steps:
    step, mean training-episode return since the last row, losses, α, and whatever the evaluation
    hook returned), ``updates`` and ``update_cpu_seconds`` (CPU time of the gradient updates alone,
    `time.process_time`), ``buffer`` (the replay buffer).
    """

    config_cls: ClassVar[type]
    actor: SquashedGaussianActor
    actor_opt: torch.optim.Optimizer
    critic: nn.Module
    critic_target: nn.Module
    critic_opt: torch.optim.Optimizer

    def __init__(self, config: Any = None) -> None:
        if config is None:
            config = self.config_cls()
        if not isinstance(config, self.config_cls):
            raise InvalidParameterError("config", type(self).__name__, f"a {self.config_cls.__name__}", config)
        self.config: Any = config
        self.log: list[dict[str, float]] = []
        self.obs_dim = 0
        self.act_dim = 0
        self.updates = 0
        self.update_cpu_seconds = 0.0
        self.env_steps = 0
        self.buffer: ReplayBuffer | None = None
        self._gen = torch.Generator().manual_seed(0)
        self._built = False

    # --- subclass hooks ----------------------------------------------------------------------------
    def _build_critic(self) -> None:
        """Create ``self.critic``, ``self.critic_target`` and ``self.critic_opt``."""
        raise NotImplementedError

    def _actor_kwargs(self) -> dict[str, Any]:
        return {}

    def _target(self, batch: dict[str, torch.Tensor], next_act: torch.Tensor, next_log_prob: torch.Tensor,
                alpha: float) -> torch.Tensor:
        """The soft Bellman target ``(B,)`` for the batch, a' ~ π(·|s') already sampled."""
        raise NotImplementedError

    def _critic_loss(self, obs: torch.Tensor, act: torch.Tensor, target: torch.Tensor
                     ) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def _actor_value(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        """Critic's value of (s, ã) ``(B,)`` that the actor maximizes (besides the entropy)."""
        raise NotImplementedError

    def _q_value_t(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _deterministic_action(self, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The evaluation action: tanh of the mean."""
        return torch.tanh(self.actor(obs)[0])

    # --- building -------------------------------------------------------------------------------
    def build(self, obs_dim: int, act_dim: int, seed: int = 0) -> OnlineAgent:
        """Create networks, optimizers and the replay buffer for these dimensions (`learn` calls it)."""
        owner = f"{type(self).__name__}.build"
        self.obs_dim = check_int(obs_dim, "obs_dim", owner, low=1, high=1_000_000)
        self.act_dim = check_int(act_dim, "act_dim", owner, low=1, high=1_000_000)
        seed = check_int(seed, "seed", owner, low=0)
        c = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.actor = SquashedGaussianActor(self.obs_dim, self.act_dim, c.hidden, c.layers, **self._actor_kwargs())
            self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=c.lr)
            self._build_critic()
        self.log_alpha = torch.tensor(math.log(c.init_alpha), requires_grad=True)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=c.lr)
        self.target_entropy = -float(self.act_dim) if c.target_entropy is None else float(c.target_entropy)
        self.buffer = ReplayBuffer(self.obs_dim, self.act_dim, c.buffer_size)
        self._gen = torch.Generator().manual_seed(seed)
        self._built = True
        return self

    @property
    def alpha(self) -> float:
        """Current entropy temperature α."""
        return float(self.log_alpha.detach().exp()) if self._built else float(self.config.init_alpha)

    # --- one gradient update --------------------------------------------------------------------
    def update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One critic, target, actor and temperature step on ``batch`` (a `ReplayBuffer.sample`)."""
        c = self.config
        alpha = self.log_alpha.detach().exp()
        with torch.no_grad():
            next_a, next_logp = self.actor.sample(batch["next_obs"], self._gen)
            target = self._target(batch, next_a, next_logp, float(alpha))
        critic_loss, info = self._critic_loss(batch["obs"], batch["act"], target)
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()
        soft_update(self.critic_target, self.critic, c.tau)

        a, logp = self.actor.sample(batch["obs"], self._gen)
        actor_loss = (alpha * logp - self._actor_value(batch["obs"], a)).mean()
        self.actor_opt.zero_grad(set_to_none=True)
        # Gradients for the actor only: the critic's weights take no part in this step.
        actor_loss.backward(inputs=list(self.actor.parameters()))
        self.actor_opt.step()

        alpha_loss = -(self.log_alpha * (logp.detach() + self.target_entropy)).mean()
        self.alpha_opt.zero_grad(set_to_none=True)
        alpha_loss.backward()
        self.alpha_opt.step()
        return {"critic_loss": float(critic_loss.detach()), "actor_loss": float(actor_loss.detach()),
                "alpha": float(alpha), "entropy": float(-logp.detach().mean()), **info}

    # --- training loop --------------------------------------------------------------------------
    def learn(self, env: Any, steps: int, seed: int = 0,
              eval_fn: Callable[[OnlineAgent], dict[str, float]] | None = None, eval_every: int = 0,
              progress: bool = False) -> OnlineAgent:
        """Interact with ``env`` for ``steps`` environment transitions (summed over copies) and train.

        Args:
            env: A vectorized environment (see the module docstring), actions in [-1, 1].
            steps: Environment transitions to collect (``num_envs`` per vector step).
            seed: Seeds the networks, the exploration noise, the minibatches and the resets.
            eval_fn: Optional hook ``agent -> dict of floats``, called every ``eval_every``
                transitions; its values join that step's ``log`` row.
            eval_every: Transitions between calls of ``eval_fn`` (0: never).
            progress: Show a progress bar.

        Returns:
            ``self``, trained. A second call continues training (same buffer and optimizers).
        """
        owner = f"{type(self).__name__}.learn"
        steps = check_int(steps, "steps", owner, low=1, high=100_000_000)
        seed = check_int(seed, "seed", owner, low=0)
        eval_every = check_int(eval_every, "eval_every", owner, low=0, high=100_000_000)
        if eval_fn is not None and not callable(eval_fn):
            raise InvalidParameterError("eval_fn", owner, "a callable agent -> dict or None", eval_fn)
        for attr in ("reset", "step"):
            if not callable(getattr(env, attr, None)):
                raise InvalidParameterError("env", owner, "a vectorized environment with reset() and step()", env)
        obs = self._check_obs(env.reset(seed=seed)[0], "env.reset()", owner, width=False)
        n_envs = obs.shape[0]
        act_dim = int(getattr(env, "action_dim", 0) or np.prod(env.action_space.shape[1:]))
        if not self._built:
            self.build(obs.shape[1], act_dim, seed)
        elif obs.shape[1] != self.obs_dim or act_dim != self.act_dim:
            raise InvalidParameterError("env", owner, f"observations of width {self.obs_dim} and actions of width "
                                        f"{self.act_dim} (as in the first call)", (obs.shape[1], act_dim))
        assert self.buffer is not None
        c = self.config
        rng = np.random.default_rng(seed)
        ep_ret = np.zeros(n_envs)
        finished: list[float] = []
        last: dict[str, float] = {}
        done_steps = 0
        next_log = c.log_every
        next_eval = eval_every
        bar = _progress(progress, type(self).__name__, steps)
        self.actor.train()
        # Dropout draws from torch's global generator: seed it inside fork_rng, so the run repeats and
        # the caller's global state is restored afterwards.
        rng_scope = torch.random.fork_rng(devices=[])
        rng_scope.__enter__()
        torch.manual_seed(seed)
        try:
            while done_steps < steps:
                if self.env_steps < c.start_steps:
                    action = rng.uniform(-1.0, 1.0, (n_envs, self.act_dim))
                else:
                    with torch.no_grad():
                        action = self.actor.sample(torch.as_tensor(obs, dtype=torch.float32), self._gen)[0].numpy()
                nxt, rew, term, trunc, _ = env.step(action)
                nxt = self._check_obs(nxt, "env.step()", owner)
                rew, term, trunc = (_per_copy(v, name, n_envs, owner) for v, name in
                                    ((rew, "reward"), (term, "terminated"), (trunc, "truncated")))
                if not np.isfinite(rew).all():
                    raise InputDataError(f"The 'env' argument of {owner} returned a non-finite reward.")
                term = term.astype(bool)
                ended = term | trunc.astype(bool)
                self.buffer.add(obs, action, rew, nxt, term.astype(float))
                ep_ret += rew
                self.env_steps += n_envs
                done_steps += n_envs
                if ended.any():
                    finished.extend(ep_ret.tolist())
                    ep_ret[:] = 0.0
                    nxt = self._check_obs(env.reset()[0], "env.reset()", owner)
                obs = nxt
                if self.env_steps >= c.start_steps and len(self.buffer) >= c.batch_size:
                    for _ in range(n_envs * c.updates_per_step):
                        batch = self.buffer.sample(c.batch_size, self._gen)
                        t0 = time.process_time()
                        last = self.update(batch)
                        self.update_cpu_seconds += time.process_time() - t0
                        self.updates += 1
                row: dict[str, float] = {}
                if eval_fn is not None and eval_every and done_steps >= next_eval:
                    next_eval += eval_every
                    self.actor.eval()
                    scores = eval_fn(self)
                    if not isinstance(scores, dict):
                        raise InvalidParameterError("eval_fn", owner, "a callable returning a dict of floats",
                                                    type(scores).__name__)
                    row.update({k: float(v) for k, v in scores.items()})
                    self.actor.train()
                if done_steps >= next_log or row or done_steps >= steps:
                    while next_log <= done_steps:
                        next_log += c.log_every
                    row = {"step": float(self.env_steps),
                           "train_return": float(np.mean(finished)) if finished else math.nan, **last, **row}
                    finished = []
                    self.log.append(row)
                if bar is not None:
                    bar[0].update(bar[1], completed=min(done_steps, steps))
        finally:
            rng_scope.__exit__(None, None, None)
            if bar is not None:
                bar[0].stop()
        return self

    # --- acting and values ----------------------------------------------------------------------
    def _check_built(self, owner: str) -> None:
        if not self._built:
            raise InvalidParameterError("self", owner, "a trained agent (call learn first)", "an untrained agent")

    def _check_obs(self, obs: Any, param: str, owner: str, width: bool = True) -> np.ndarray:
        x = as_float_array(obs, param, owner, finite=True, min_size=1)
        if x.ndim != 2 or (width and self._built and x.shape[1] != self.obs_dim):
            shown = self.obs_dim if self._built else "obs_dim"
            raise InputDataError(f"The '{param}' argument of {owner} must have shape (num_envs, {shown}). "
                                 f"Got shape {x.shape} instead.")
        return x

    def _obs_tensor(self, obs: Any, owner: str) -> tuple[torch.Tensor, bool]:
        self._check_built(owner)
        x = as_float_array(obs, "obs", owner, finite=True, min_size=1)
        single = x.ndim == 1
        if single:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != self.obs_dim:
            raise InputDataError(f"The 'obs' argument of {owner} must have shape (B, {self.obs_dim}). "
                                 f"Got shape {x.shape} instead.")
        xt = torch.as_tensor(x, dtype=torch.float32)
        if not bool(torch.isfinite(xt).all()):
            raise InputDataError(f"The 'obs' argument of {owner} must stay finite in float32 (|x| below about "
                                 "3.4e38). Got values too large instead.")
        return xt, single

    def act(self, obs: Any, deterministic: bool = True, seed: int | None = None) -> np.ndarray:
        """Actions ``(B, act_dim)`` in [-1, 1] for ``obs (B, obs_dim)`` (or one ``(obs_dim,)``).

        ``deterministic`` gives the evaluation action (dropout off); otherwise a sample of π.
        """
        owner = f"{type(self).__name__}.act"
        x, single = self._obs_tensor(obs, owner)
        check_bool(deterministic, "deterministic", owner)
        gen = torch.Generator().manual_seed(0 if seed is None else check_int(seed, "seed", owner, low=0))
        self.actor.eval()
        with torch.no_grad():
            a = self._deterministic_action(x, gen) if deterministic else self.actor.sample(x, gen)[0]
        self.actor.train()
        out = a.numpy().astype(float)
        return out[0] if single else out

    def sample_with_log_prob(self, obs: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """A sample of π for ``obs (B, obs_dim)`` and its log-density: ``(B, act_dim)``, ``(B,)``."""
        owner = f"{type(self).__name__}.sample_with_log_prob"
        x, _ = self._obs_tensor(obs, owner)
        gen = torch.Generator().manual_seed(check_int(seed, "seed", owner, low=0))
        self.actor.eval()
        with torch.no_grad():
            a, logp = self.actor.sample(x, gen)
        self.actor.train()
        return a.numpy().astype(float), logp.numpy().astype(float)

    def q_value(self, obs: Any, actions: Any) -> np.ndarray:
        """The critic's point estimate Q̂(s, a) ``(B,)`` (dropout off): the twin minimum for twin SAC,
        the mean μ for STAC."""
        owner = f"{type(self).__name__}.q_value"
        x, single = self._obs_tensor(obs, owner)
        a = self._actions(actions, x.shape[0], owner)
        self.critic.eval()
        with torch.no_grad():
            q = self._q_value_t(x, torch.as_tensor(a, dtype=torch.float32)).numpy().astype(float)
        self.critic.train()
        return q[:1] if single else q

    def _actions(self, actions: Any, rows: int, owner: str) -> np.ndarray:
        """``actions`` as a ``(rows, act_dim)`` float array, or `InputDataError` naming it."""
        a = as_float_array(actions, "actions", owner, finite=True, min_size=1)
        if a.size != rows * self.act_dim:
            raise InputDataError(f"The 'actions' argument of {owner} must have shape ({rows}, {self.act_dim}). "
                                 f"Got shape {a.shape} instead.")
        return a.reshape(rows, self.act_dim)

    @property
    def cpu_seconds_per_update(self) -> float:
        """Mean CPU time of one gradient update so far (NaN before the first)."""
        return self.update_cpu_seconds / self.updates if self.updates else math.nan


def _per_copy(value: Any, name: str, n_envs: int, owner: str) -> np.ndarray:
    """One finite-or-not number per environment copy, ``(n_envs,)``, or `InputDataError`."""
    arr = as_float_array(value, f"env.step() {name}", owner)
    if arr.size != n_envs:
        raise InputDataError(f"The 'env' argument of {owner} must return one {name} per copy ({n_envs}). "
                             f"Got shape {arr.shape} instead.")
    return arr.reshape(n_envs)


def _copy_frozen(module: nn.Module) -> nn.Module:
    target = copy.deepcopy(module)
    for p in target.parameters():
        p.requires_grad_(False)
    return target


def time_updates(agents: list[OnlineAgent], buffer: ReplayBuffer, updates: int, blocks: int = 4,
                 seed: int = 0) -> list[float]:
    """CPU seconds per update of each agent, measured interleaved on the same replay buffer.

    Each agent must be built with the buffer's dimensions; it trains on ``buffer`` for ``blocks``
    blocks of ``updates // blocks`` updates, the agents taking turns block by block, so that a
    change of machine load hits all of them alike. Returns one mean per agent.
    """
    updates = check_int(updates, "updates", "time_updates", low=1, high=10_000_000)
    blocks = check_int(blocks, "blocks", "time_updates", low=1, high=updates)
    seed = check_int(seed, "seed", "time_updates", low=0)
    if not isinstance(buffer, ReplayBuffer) or len(buffer) == 0:
        raise InvalidParameterError("buffer", "time_updates", "a non-empty ReplayBuffer", buffer)
    per = updates // blocks
    gen = torch.Generator().manual_seed(seed)
    spent = [0.0] * len(agents)
    for _ in range(blocks):
        for i, agent in enumerate(agents):
            batches = [buffer.sample(agent.config.batch_size, gen) for _ in range(per)]
            t0 = time.process_time()
            for b in batches:
                agent.update(b)
            spent[i] += time.process_time() - t0
    return [s / (per * blocks) for s in spent]


def monte_carlo_value_bias(agent: OnlineAgent, env: Any, steps: int, tail: int, seed: int = 0) -> dict[str, float]:
    """Mean of Q̂(s_t, a_t) − G_t over the first ``steps`` states of ``env.num_envs`` episodes.

    The policy acts by sampling (the policy whose soft value the critic estimates); G_t is the
    discounted soft return r_t + Σ_{k≥1} γ^k (r_{t+k} − α log π(a_{t+k}|s_{t+k})) — the quantity
    the soft Bellman target bootstraps — summed over ``tail`` further steps beyond the scored
    window (the discount makes the rest negligible: γ^tail). The environment must keep stepping
    past its time limit (every `SafeControlEnv` does), since the critic bootstraps through it.

    Returns ``bias`` (the mean), ``q`` (mean Q̂), ``mc`` (mean G) and ``bias_se`` (standard error
    over episodes).
    """
    owner = "monte_carlo_value_bias"
    steps = check_int(steps, "steps", owner, low=1, high=10_000_000)
    tail = check_int(tail, "tail", owner, low=0, high=10_000_000)
    seed = check_int(seed, "seed", owner, low=0)
    for attr in ("reset", "step"):
        if not callable(getattr(env, attr, None)):
            raise InvalidParameterError("env", owner, "a vectorized environment with reset() and step()", env)
    gamma, alpha = float(agent.config.gamma), agent.alpha
    obs, _ = env.reset(seed=seed)
    horizon = steps + tail
    qs, rews, logps = [], [], []
    for t in range(horizon):
        a, logp = agent.sample_with_log_prob(obs, seed=seed * 100_003 + t)
        if t < steps:
            qs.append(agent.q_value(obs, a))
        obs, r, *_ = env.step(a)
        rews.append(np.asarray(r, dtype=float))
        logps.append(logp)
    rew, lp = np.stack(rews), np.stack(logps)  # (H, n)
    soft = rew - alpha * lp
    g = np.zeros(rew.shape[1])
    ret = np.zeros((steps, rew.shape[1]))
    for t in reversed(range(horizon)):
        g = soft[t] + gamma * g
        if t < steps:
            ret[t] = g + alpha * lp[t]  # the first action's entropy is not part of Q(s_t, a_t)
    q = np.stack(qs)
    per_episode = (q - ret).mean(0)
    se = float(per_episode.std(ddof=1) / math.sqrt(per_episode.size)) if per_episode.size > 1 else math.nan
    return {"bias": float(per_episode.mean()), "q": float(q.mean()), "mc": float(ret.mean()), "bias_se": se}


@dataclass(frozen=True)
class OnlineConfig:
    """The fields every online agent's config shares (`SACConfig` and `STACConfig` extend it).

    Args:
        hidden, layers: Width and depth of every MLP (actor and critics).
        lr: Adam learning rate of actor, critics and temperature.
        batch_size: Minibatch size.
        gamma: Discount γ.
        tau: Polyak rate of the target critics.
        buffer_size: Replay capacity (transitions).
        start_steps: Environment steps with uniform random actions before the first update.
        updates_per_step: Gradient updates per environment transition.
        init_alpha: Initial entropy temperature α.
        target_entropy: Entropy target H̄ of the temperature step (None: −action_dim).
        log_every: Environment steps between training-log rows.
    """

    hidden: int = 64
    layers: int = 2
    lr: float = 3e-4
    batch_size: int = 256
    gamma: float = 0.99
    tau: float = 0.005
    buffer_size: int = 100_000
    start_steps: int = 1000
    updates_per_step: int = 1
    init_alpha: float = 0.2
    target_entropy: float | None = None
    log_every: int = 1000

    def __post_init__(self) -> None:
        check_online_config(self, type(self).__name__)


def check_online_config(cfg: Any, owner: str) -> None:
    """Validate the fields every online agent's config shares."""
    from guardopt.core.errors import check_in_range

    check_int(cfg.hidden, "hidden", owner, low=1, high=65_536)
    check_int(cfg.layers, "layers", owner, low=1, high=64)
    check_in_range(cfg.lr, "lr", owner, 0.0, 1.0)
    check_int(cfg.batch_size, "batch_size", owner, low=1, high=1_000_000)
    check_in_range(cfg.gamma, "gamma", owner, 0.0, 1.0, low_open=False)
    check_in_range(cfg.tau, "tau", owner, 0.0, 1.0, high_open=False)
    check_int(cfg.buffer_size, "buffer_size", owner, low=1, high=100_000_000)
    # Updates start once the buffer holds a minibatch: a smaller buffer would never train.
    if cfg.buffer_size < cfg.batch_size:
        raise InvalidParameterError("buffer_size", owner, f"at least batch_size = {cfg.batch_size}", cfg.buffer_size)
    check_int(cfg.start_steps, "start_steps", owner, low=0, high=100_000_000)
    check_int(cfg.updates_per_step, "updates_per_step", owner, low=1, high=1000)
    check_in_range(cfg.init_alpha, "init_alpha", owner, 0.0, 1e6)
    if cfg.target_entropy is not None:
        check_in_range(cfg.target_entropy, "target_entropy", owner, -1e6, 1e6)
    check_int(cfg.log_every, "log_every", owner, low=1, high=100_000_000)
