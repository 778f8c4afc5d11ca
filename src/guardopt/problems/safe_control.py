"""Safe-control environments and scripted behaviour policies for safe offline RL.

Vectorized numpy environments with the gymnasium API (``reset(seed=)`` and ``step`` returning
``obs, reward, terminated, truncated, info``) in which ``info["cost"]`` holds the per-step safety
cost (1 when the constraint is violated, else 0) and ``info["h"]`` the signed constraint value
h(s) (> 0 exactly when violated), the quantity that Hamilton–Jacobi reachability works with
(Zheng et al., "Safe Offline Reinforcement Learning with Feasibility-Guided Diffusion Model",
ICLR 2024). All actions are normalized to ``[-1, 1]^action_dim`` and scaled inside the
environment. Every environment steps ``num_envs`` copies at once; arrays are ``(num_envs, ...)``.
Episodes have a fixed length (``max_episode_steps``): ``truncated`` becomes True at the last step,
and ``terminated`` is always False (no environment here ends an episode early).

* `PointRobot`: a unicycle (x, y, v, θ) driving to a goal past two circular hazards; cost =
  1[inside a hazard]. `PointRobot.avoidable_set` computes, on a slice (v, θ fixed), whether some
  full-brake escape manoeuvre keeps the robot out of the hazards (the reference for the learned
  feasible set).
* `PointCircle`: a double integrator rewarded for running counter-clockwise on the unit circle;
  cost = 1[|x| > x_lim] (like Safety-Gym's Circle tasks).
* `VelocityPendulum`: gymnasium's Pendulum dynamics; cost = 1[|θ̇| > v_max] (like the Velocity tasks).
* `RiskyPointMass`: a point in [0, 1]² driven to the origin past a risky disc (after CODAC's).

`collect_dataset` runs a family of scripted behaviour policies (careless to careful, two noise
levels, plus random episodes) and returns the D4RL/DSRL dictionary layout (observations, actions,
rewards, costs, next_observations, terminals, timeouts, plus ``h``). The policies are scripted
controllers, not learned: they only make data with a spread of episode costs.

`gymnasium` is optional: ``observation_space`` / ``action_space`` import it lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_in_range, check_int

__all__ = [
    "SAFE_ENVS",
    "PointCircle",
    "PointRobot",
    "RiskyPointMass",
    "SafeControlEnv",
    "VelocityPendulum",
    "behaviour_policy",
    "collect_dataset",
    "make_safe_env",
]


class SafeControlEnv:
    """Base class: ``num_envs`` copies stepped together, costs in ``info``.

    Subclasses set ``obs_dim``, ``action_dim``, ``max_episode_steps``, ``cost_limit`` (κ, the
    episode cost limit used by the DSRL normalization) and implement ``_reset_state``, ``_obs``,
    ``_dynamics`` and ``constraint_value``.
    """

    obs_dim: int = 0
    action_dim: int = 0
    max_episode_steps: int = 100
    cost_limit: float = 10.0
    name: str = "SafeControlEnv"

    def __init__(self, num_envs: int = 1) -> None:
        self.num_envs = check_int(num_envs, "num_envs", type(self).__name__, low=1, high=1_000_000)
        self._rng = np.random.default_rng(0)
        self.state = np.zeros((self.num_envs, self._state_dim()))
        self.t = 0

    # --- gymnasium-compatible API ------------------------------------------------------------
    @property
    def observation_space(self) -> Any:
        """A gymnasium ``Box`` of shape ``(num_envs, obs_dim)`` (imports gymnasium)."""
        from gymnasium import spaces

        return spaces.Box(-np.inf, np.inf, shape=(self.num_envs, self.obs_dim), dtype=np.float64)

    @property
    def action_space(self) -> Any:
        """A gymnasium ``Box`` in ``[-1, 1]`` of shape ``(num_envs, action_dim)`` (imports gymnasium)."""
        from gymnasium import spaces

        return spaces.Box(-1.0, 1.0, shape=(self.num_envs, self.action_dim), dtype=np.float64)

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start ``num_envs`` new episodes; returns ``obs (num_envs, obs_dim)`` and an info dict."""
        if seed is not None:
            self._rng = np.random.default_rng(check_int(seed, "seed", type(self).__name__, low=0))
        self.state = self._reset_state(self._rng)
        self.t = 0
        return self._obs(), {"h": self.constraint_value(self.state)}

    def step(self, action: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Apply ``action (num_envs, action_dim)`` in ``[-1, 1]`` (clipped; NaN is refused).

        Returns ``obs, reward (num_envs,), terminated, truncated, info`` with ``info["cost"]``
        (num_envs,) and ``info["h"]`` (num_envs,) evaluated at the new state.
        """
        owner = f"{type(self).__name__}.step"
        a = as_float_array(action, "action", owner)
        if a.ndim == 1 and self.num_envs == 1 and a.shape[0] == self.action_dim:
            a = a[None, :]
        if a.shape != (self.num_envs, self.action_dim):
            raise InputDataError(f"The 'action' argument of {owner} must have shape "
                                 f"({self.num_envs}, {self.action_dim}). Got shape {a.shape} instead.")
        if not np.isfinite(a).all():
            raise InputDataError(f"The 'action' argument of {owner} must be finite. Got NaN or infinity instead.")
        a = np.clip(a, -1.0, 1.0)
        reward = self._dynamics(a)
        self.t += 1
        h = self.constraint_value(self.state)
        cost = (h > 0).astype(float)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.full(self.num_envs, self.t >= self.max_episode_steps)
        return self._obs(), reward, terminated, truncated, {"cost": cost, "h": h}

    # --- to implement --------------------------------------------------------------------------
    def _state_dim(self) -> int:
        raise NotImplementedError

    def _reset_state(self, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _obs(self) -> np.ndarray:
        raise NotImplementedError

    def _dynamics(self, a: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def constraint_value(self, state: np.ndarray) -> np.ndarray:
        """Signed constraint value h(s) of states ``(n, state_dim)``: > 0 exactly when violated."""
        raise NotImplementedError

    def scripted_action(self, obs: np.ndarray, care: np.ndarray) -> np.ndarray:
        """A scripted controller: ``care`` (num_envs,) in [0, 1] from careless (0) to careful (1)."""
        raise NotImplementedError


# --------------------------------------------------------------------------------------------------
# PointRobot
# --------------------------------------------------------------------------------------------------


class PointRobot(SafeControlEnv):
    """Unicycle point robot: state (x, y, v, θ), action (acceleration, turn rate) in [-1, 1]².

    Dynamics with dt = 0.1: ẋ = v cos θ, ẏ = v sin θ, v̇ = 2a (v clipped to [0, 2.5]), θ̇ = 2ω.
    Starts at x ∈ [-3.5, -2.5], y ∈ [-0.6, 0.6], heading ≈ 0, v ∈ [0, 0.5]; the goal is (3, 0).
    Reward: progress toward the goal (decrease of the distance); 40 steps per episode, so a
    detour costs return. Hazards: discs at (-0.4, 0) radius 0.7 and (1.6, 0.9) radius 0.6;
    h(s) = max_k (r_k − ‖p − c_k‖), cost = 1[h > 0]. Observation (x, y, v, cos θ, sin θ).
    """

    obs_dim = 5
    action_dim = 2
    max_episode_steps = 40
    cost_limit = 2.0
    name = "PointRobot"
    dt = 0.1
    v_max = 2.5
    accel = 2.0
    turn = 2.0
    goal = np.array([3.0, 0.0])
    hazards = np.array([[-0.4, 0.0, 0.7], [1.6, 0.9, 0.6]])

    def _state_dim(self) -> int:
        return 4

    def _reset_state(self, rng: np.random.Generator) -> np.ndarray:
        n = self.num_envs
        return np.column_stack([rng.uniform(-3.5, -2.5, n), rng.uniform(-0.6, 0.6, n),
                                rng.uniform(0.0, 0.5, n), rng.uniform(-0.3, 0.3, n)])

    def _obs(self) -> np.ndarray:
        s = self.state
        return np.column_stack([s[:, 0], s[:, 1], s[:, 2], np.cos(s[:, 3]), np.sin(s[:, 3])])

    @classmethod
    def _advance(cls, s: np.ndarray, a: np.ndarray) -> np.ndarray:
        x, y, v, th = s[..., 0], s[..., 1], s[..., 2], s[..., 3]
        x = x + v * np.cos(th) * cls.dt
        y = y + v * np.sin(th) * cls.dt
        v = np.clip(v + cls.accel * a[..., 0] * cls.dt, 0.0, cls.v_max)
        th = th + cls.turn * a[..., 1] * cls.dt
        return np.stack([x, y, v, th], axis=-1)

    def _dynamics(self, a: np.ndarray) -> np.ndarray:
        d0 = np.linalg.norm(self.state[:, :2] - self.goal, axis=1)
        self.state = self._advance(self.state, a)
        d1 = np.linalg.norm(self.state[:, :2] - self.goal, axis=1)
        return d0 - d1

    @classmethod
    def constraint_value(cls, state: np.ndarray) -> np.ndarray:
        """h(s) = max over hazards of (radius − distance to the centre); > 0 inside a hazard."""
        p = np.asarray(state, dtype=float)[..., None, :2]
        d = np.linalg.norm(p - cls.hazards[:, :2], axis=-1)
        return np.max(cls.hazards[:, 2] - d, axis=-1)

    @classmethod
    def avoidable_set(cls, xs: np.ndarray, ys: np.ndarray, v: float, theta: float,
                      horizon: int = 40) -> np.ndarray:
        """Boolean map ``(len(ys), len(xs))``: True where the state (x, y, v, θ) can avoid the hazards.

        A state is counted avoidable when at least one of the escape manoeuvres "full brake while
        turning left / straight / right at full rate" keeps h ≤ 0 at every step until the robot
        stops (it then stays put forever). These bang-bang manoeuvres are an inner approximation
        of the true avoidable set; on this robot (braking from 2.5 takes 13 steps) they are the
        extreme controls, so the approximation is tight in practice.
        """
        gx, gy = np.meshgrid(np.asarray(xs, float), np.asarray(ys, float))
        ok = np.zeros(gx.shape, dtype=bool)
        for turn in (-1.0, 0.0, 1.0):
            s = np.stack([gx, gy, np.full_like(gx, v), np.full_like(gx, theta)], axis=-1)
            safe = cls.constraint_value(s) <= 0
            a = np.broadcast_to(np.array([-1.0, turn]), (*s.shape[:-1], 2))
            for _ in range(horizon):
                s = cls._advance(s, a)
                safe &= cls.constraint_value(s) <= 0
            ok |= safe
        return ok

    def scripted_action(self, obs: np.ndarray, care: np.ndarray) -> np.ndarray:
        """Steer to the goal at full speed; a careful driver also steers away from nearby hazards
        (a repulsive field whose gain and reach grow with ``care``) and slows down near them."""
        p, v = obs[:, :2], obs[:, 2]
        th = np.arctan2(obs[:, 4], obs[:, 3])
        to_goal = self.goal - p
        direction = to_goal / np.maximum(np.linalg.norm(to_goal, axis=1, keepdims=True), 1e-9)
        slow = np.zeros(len(p))
        for cx, cy, r in self.hazards:
            off = p - np.array([cx, cy])
            dist = np.maximum(np.linalg.norm(off, axis=1), 1e-9)
            reach = r + 0.3 + 1.2 * care
            push = np.clip((reach - dist) / np.maximum(reach - r, 1e-9), 0.0, 1.0) * 3.0 * care
            direction = direction + push[:, None] * off / dist[:, None]
            slow = np.maximum(slow, push)
        want = np.arctan2(direction[:, 1], direction[:, 0])
        err = (want - th + np.pi) % (2 * np.pi) - np.pi
        target_v = np.minimum(self.v_max * (1.0 - 0.4 * np.clip(slow, 0.0, 1.0)),
                              1.5 * np.linalg.norm(to_goal, axis=1))
        return np.column_stack([np.clip(2.0 * (target_v - v), -1, 1), np.clip(2.0 * err, -1, 1)])


# --------------------------------------------------------------------------------------------------
# PointCircle
# --------------------------------------------------------------------------------------------------


class PointCircle(SafeControlEnv):
    """Double integrator (x, y, vx, vy), action = acceleration in [-1, 1]² (×2), dt = 0.1, drag 0.2.

    Reward (x·vy − y·vx) / (1 + |r − 1|) · dt: counter-clockwise speed along the unit circle.
    Cost 1[|x| > 0.7]: two walls cut the circle, so the best safe path flattens it. 100 steps.
    Observation (x, y, vx, vy).
    """

    obs_dim = 4
    action_dim = 2
    max_episode_steps = 100
    cost_limit = 5.0
    name = "PointCircle"
    dt = 0.1
    x_lim = 0.7

    def _state_dim(self) -> int:
        return 4

    def _reset_state(self, rng: np.random.Generator) -> np.ndarray:
        n = self.num_envs
        ang = rng.uniform(-np.pi, np.pi, n)
        rad = rng.uniform(0.0, 0.5, n)
        return np.column_stack([rad * np.cos(ang) * 0.6, rad * np.sin(ang), rng.normal(0, 0.1, n),
                                rng.normal(0, 0.1, n)])

    def _obs(self) -> np.ndarray:
        return self.state.copy()

    def _dynamics(self, a: np.ndarray) -> np.ndarray:
        s = self.state
        vel = s[:, 2:] * (1.0 - 0.2 * self.dt) + 2.0 * a * self.dt
        pos = s[:, :2] + vel * self.dt
        self.state = np.column_stack([pos, vel])
        r = np.linalg.norm(pos, axis=1)
        return (pos[:, 0] * vel[:, 1] - pos[:, 1] * vel[:, 0]) / (1.0 + np.abs(r - 1.0)) * self.dt

    @classmethod
    def constraint_value(cls, state: np.ndarray) -> np.ndarray:
        """h(s) = |x| − x_lim."""
        return np.abs(np.asarray(state, dtype=float)[..., 0]) - cls.x_lim

    def scripted_action(self, obs: np.ndarray, care: np.ndarray) -> np.ndarray:
        """Track the unit circle counter-clockwise at speed 1.2; a careful controller pulls x
        back toward the allowed band before it reaches the wall (gain and margin grow with care)."""
        pos, vel = obs[:, :2], obs[:, 2:]
        r = np.maximum(np.linalg.norm(pos, axis=1, keepdims=True), 1e-6)
        radial = pos / r
        tangent = np.column_stack([-radial[:, 1], radial[:, 0]])
        v_des = 1.2 * tangent - 1.5 * (r - 1.0) * radial
        margin = self.x_lim - 0.35 * care
        over = np.clip(np.abs(pos[:, 0]) - margin, 0.0, None)
        v_des[:, 0] = v_des[:, 0] - np.sign(pos[:, 0]) * 6.0 * care * over
        v_des[:, 0] = np.where(care * (np.abs(pos[:, 0]) > margin) > 0.3, np.clip(v_des[:, 0], -0.3, 0.3)
                               - np.sign(pos[:, 0]) * 0.3, v_des[:, 0])
        return np.clip(2.0 * (v_des - vel), -1, 1)


# --------------------------------------------------------------------------------------------------
# VelocityPendulum
# --------------------------------------------------------------------------------------------------


class VelocityPendulum(SafeControlEnv):
    """gymnasium's Pendulum-v1 dynamics (g = 10, m = l = 1, dt = 0.05, torque ±2) with a speed limit.

    Reward −(θ² + 0.1 θ̇² + 0.001 u²) / 10 (θ wrapped to [−π, π], upright is 0); cost 1[|θ̇| > 4].
    A swing-up from below needs more than the allowed speed, so reward and cost conflict.
    Observation (cos θ, sin θ, θ̇ / 8). 100 steps.

    ``reward_noise`` (default 0, off) adds zero-mean Gaussian noise of that standard deviation to
    every reward, drawn from the environment's seeded generator: aleatoric reward uncertainty with
    an unchanged expected return (0.1 here is σ = 1 on Pendulum-v1's reward scale, 10× larger).
    """

    obs_dim = 3
    action_dim = 1
    max_episode_steps = 100
    cost_limit = 5.0
    name = "VelocityPendulum"
    dt = 0.05
    v_limit = 4.0

    def __init__(self, num_envs: int = 1, reward_noise: float = 0.0) -> None:
        super().__init__(num_envs)
        self.reward_noise = check_in_range(reward_noise, "reward_noise", "VelocityPendulum", 0.0, 1e6,
                                           low_open=False)

    def _state_dim(self) -> int:
        return 2

    def _reset_state(self, rng: np.random.Generator) -> np.ndarray:
        n = self.num_envs
        return np.column_stack([rng.uniform(-np.pi, np.pi, n), rng.uniform(-1.0, 1.0, n)])

    def _obs(self) -> np.ndarray:
        th, w = self.state[:, 0], self.state[:, 1]
        return np.column_stack([np.cos(th), np.sin(th), w / 8.0])

    def _dynamics(self, a: np.ndarray) -> np.ndarray:
        th, w = self.state[:, 0], self.state[:, 1]
        u = 2.0 * a[:, 0]
        ang = (th + np.pi) % (2 * np.pi) - np.pi
        reward = -(ang**2 + 0.1 * w**2 + 0.001 * u**2) / 10.0
        w = np.clip(w + (15.0 * np.sin(th) + 3.0 * u) * self.dt, -8.0, 8.0)
        th = th + w * self.dt
        self.state = np.column_stack([th, w])
        if self.reward_noise > 0:
            reward = reward + self.reward_noise * self._rng.standard_normal(self.num_envs)
        return reward

    @classmethod
    def constraint_value(cls, state: np.ndarray) -> np.ndarray:
        """h(s) = |θ̇| − v_limit."""
        return np.abs(np.asarray(state, dtype=float)[..., 1]) - cls.v_limit

    def scripted_action(self, obs: np.ndarray, care: np.ndarray) -> np.ndarray:
        """Energy-pumping swing-up with a PD balance near the top; a careful controller pumps only
        up to a lower energy (a full-care one stays below the speed limit at the bottom)."""
        th = np.arctan2(obs[:, 1], obs[:, 0])
        w = obs[:, 2] * 8.0
        energy = 0.5 * w**2 / 15.0 + np.cos(th)  # 1 at rest upright, -1 at rest hanging
        target = 1.0 - 1.7 * care
        pump = np.sign(w + 1e-9) * (target - energy)
        balance = -(4.0 * th + 1.0 * w) / 2.0
        u = np.where((np.cos(th) > 0.85) & (care < 0.5), balance, 3.0 * pump)
        return np.clip(u, -1, 1)[:, None]


# --------------------------------------------------------------------------------------------------
# RiskyPointMass
# --------------------------------------------------------------------------------------------------


class RiskyPointMass(SafeControlEnv):
    """A point in [0, 1]², action = velocity in [-1, 1]² (×0.05 per step), goal at the origin.

    Starts near (1, 1); reward −‖p‖ − 0.1 per step, and inside the risky disc (centre (0.5, 0.5),
    radius 0.3) a −10 penalty fires with probability 0.1·exp(−4 d² / r²) (d: distance to the
    centre), after CODAC's RiskyPointMass. Cost 1[inside the disc]. Observation (x, y). 40 steps.
    """

    obs_dim = 2
    action_dim = 2
    max_episode_steps = 40
    cost_limit = 2.0
    name = "RiskyPointMass"
    centre = np.array([0.5, 0.5])
    radius = 0.3

    def _state_dim(self) -> int:
        return 2

    def _reset_state(self, rng: np.random.Generator) -> np.ndarray:
        return np.clip(1.0 - rng.uniform(0.0, 0.15, (self.num_envs, 2)), 0.0, 1.0)

    def _obs(self) -> np.ndarray:
        return self.state.copy()

    def _dynamics(self, a: np.ndarray) -> np.ndarray:
        self.state = np.clip(self.state + 0.05 * a, 0.0, 1.0)
        d = np.linalg.norm(self.state - self.centre, axis=1)
        inside = d < self.radius
        fire = inside & (self._rng.random(self.num_envs) < 0.1 * np.exp(-4 * d**2 / self.radius**2))
        return -np.linalg.norm(self.state, axis=1) - 0.1 - 10.0 * fire

    @classmethod
    def constraint_value(cls, state: np.ndarray) -> np.ndarray:
        """h(s) = radius − distance to the disc centre."""
        return cls.radius - np.linalg.norm(np.asarray(state, dtype=float)[..., :2] - cls.centre, axis=-1)

    def scripted_action(self, obs: np.ndarray, care: np.ndarray) -> np.ndarray:
        """Head for the origin; a careful controller bends around the disc."""
        direction = -obs / np.maximum(np.linalg.norm(obs, axis=1, keepdims=True), 1e-9)
        off = obs - self.centre
        dist = np.maximum(np.linalg.norm(off, axis=1, keepdims=True), 1e-9)
        push = np.clip((self.radius + 0.15 - dist) / 0.15, 0.0, 1.0) * 3.0 * care[:, None]
        tangent = np.column_stack([off[:, 1], -off[:, 0]]) / dist
        return np.clip(direction + push * (off / dist + tangent), -1, 1)


SAFE_ENVS: dict[str, type[SafeControlEnv]] = {
    "PointRobot": PointRobot,
    "PointCircle": PointCircle,
    "VelocityPendulum": VelocityPendulum,
    "RiskyPointMass": RiskyPointMass,
}


def make_safe_env(name: str, num_envs: int = 1) -> SafeControlEnv:
    """Registered-style constructor: ``make_safe_env("PointRobot", num_envs=16)``."""
    if name not in SAFE_ENVS:
        raise InvalidParameterError("name", "make_safe_env", f"one of {sorted(SAFE_ENVS)}", name)
    return SAFE_ENVS[name](num_envs=num_envs)


def behaviour_policy(env: SafeControlEnv, care: np.ndarray, noise: float,
                     rng: np.random.Generator, random_mask: np.ndarray | None = None
                     ) -> Callable[[np.ndarray], np.ndarray]:
    """A batch behaviour policy: the scripted controller at per-copy ``care`` plus Gaussian noise.

    Copies where ``random_mask`` is True act uniformly at random in [-1, 1].
    """
    care = np.asarray(care, dtype=float)
    mask = np.zeros(env.num_envs, dtype=bool) if random_mask is None else np.asarray(random_mask, bool)

    def act(obs: np.ndarray) -> np.ndarray:
        a = env.scripted_action(obs, care) + noise * rng.standard_normal((env.num_envs, env.action_dim))
        a = np.where(mask[:, None], rng.uniform(-1, 1, (env.num_envs, env.action_dim)), a)
        return np.clip(a, -1.0, 1.0)

    return act


def collect_dataset(name: str, episodes: int = 200, seed: int = 0, noise_levels: tuple[float, ...] = (0.1, 0.3),
                    cares: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0), random_fraction: float = 0.2
                    ) -> dict[str, np.ndarray]:
    """Offline data from the scripted behaviour family, in the D4RL/DSRL dictionary layout.

    Each episode draws a care level from ``cares`` (each in ``[0, 1]``) and a noise level (a
    non-negative standard deviation) from ``noise_levels``; a
    ``random_fraction`` of the episodes act uniformly at random (FISOR's "expert + random" mix).

    Returns:
        ``observations (N, obs_dim)``, ``actions (N, action_dim)``, ``rewards (N,)``, ``costs (N,)``,
        ``next_observations (N, obs_dim)``, ``terminals (N,)``, ``timeouts (N,)`` (True at each
        episode's last step), ``h (N,)`` (the signed constraint value at the next state) and
        ``care (N,)`` (the behaviour's care level, −1 for random episodes), with
        N = episodes × max_episode_steps, episode after episode.
    """
    episodes = check_int(episodes, "episodes", "collect_dataset", low=1, high=1_000_000)
    seed = check_int(seed, "seed", "collect_dataset", low=0)
    check_in_range(random_fraction, "random_fraction", "collect_dataset", 0.0, 1.0, low_open=False, high_open=False)
    if not noise_levels or not cares:
        raise InvalidParameterError("noise_levels", "collect_dataset", "non-empty tuples of noise and care levels",
                                    (noise_levels, cares))
    for level in noise_levels:
        check_in_range(level, "noise_levels", "collect_dataset", 0.0, low_open=False)
    for level in cares:
        check_in_range(level, "cares", "collect_dataset", 0.0, 1.0, low_open=False, high_open=False)
    env = make_safe_env(name, num_envs=episodes)
    rng = np.random.default_rng(seed)
    care = rng.choice(np.asarray(cares, float), episodes)
    noise = rng.choice(np.asarray(noise_levels, float), episodes)
    random_mask = rng.random(episodes) < random_fraction
    care_rec = np.where(random_mask, -1.0, care)
    obs, _ = env.reset(seed=int(rng.integers(2**31)))
    steps = env.max_episode_steps
    buf: dict[str, list[np.ndarray]] = {k: [] for k in ("observations", "actions", "rewards", "costs",
                                                        "next_observations", "terminals", "timeouts", "h")}
    for t in range(steps):
        a = env.scripted_action(obs, care) + noise[:, None] * rng.standard_normal((episodes, env.action_dim))
        a = np.where(random_mask[:, None], rng.uniform(-1, 1, (episodes, env.action_dim)), a)
        a = np.clip(a, -1.0, 1.0)
        nxt, r, term, trunc, info = env.step(a)
        for k, v in (("observations", obs), ("actions", a), ("rewards", r), ("costs", info["cost"]),
                     ("next_observations", nxt), ("terminals", term), ("timeouts", trunc), ("h", info["h"])):
            buf[k].append(v)
        obs = nxt
        if t == steps - 1:
            break
    # (T, E, ...) -> episode-major (E*T, ...)
    out = {k: np.swapaxes(np.stack(v), 0, 1).reshape((episodes * steps, *np.stack(v).shape[2:]))
           for k, v in buf.items()}
    out["terminals"] = out["terminals"].astype(bool)
    out["timeouts"] = out["timeouts"].astype(bool)
    out["care"] = np.repeat(care_rec, steps)
    return out

