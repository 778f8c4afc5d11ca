"""The shared shape of every offline learner: a frozen config, ``fit``, ``act``, ``save``/``load``.

Learners normalize observations with the dataset's mean and standard deviation, sample minibatches
with their own seeded generator (no global torch or numpy state is touched), record a training log
(``learner.log``: a list of dicts, one every ``log_every`` steps) and show a rich progress bar when
``fit(..., progress=True)``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_int
from guardopt.rl.data import validate_dataset
from guardopt.rl.persistence import load_state, save_state

__all__ = ["OfflineLearner"]

_TENSOR_KEYS = ("observations", "actions", "rewards", "costs", "next_observations", "terminals")


class OfflineLearner:
    """Base class. Subclasses set ``config_cls`` and implement ``_build``, ``_update`` and ``_act``."""

    config_cls: ClassVar[type]
    name: ClassVar[str] = "OfflineLearner"

    def __init__(self, config: Any = None) -> None:
        if config is None:
            config = self.config_cls()
        if not isinstance(config, self.config_cls):
            raise InvalidParameterError("config", type(self).__name__, f"a {self.config_cls.__name__}", config)
        self.config: Any = config
        self.log: list[dict[str, float]] = []
        self.obs_dim = 0
        self.act_dim = 0
        self._mean = np.zeros(0)
        self._std = np.ones(0)
        self._fitted = False
        self.modules: dict[str, nn.Module] = {}

    # --- subclass hooks ----------------------------------------------------------------------------
    def _prepare(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Transform the validated dataset before training (filters, extra keys)."""
        return data

    def _build(self, data: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def _update(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        raise NotImplementedError

    def _act(self, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra(self, state: dict[str, Any]) -> None:
        return None

    # --- public API ------------------------------------------------------------------------------
    def fit(self, dataset: dict[str, np.ndarray], seed: int = 0, progress: bool = False) -> OfflineLearner:
        """Train on an offline dataset (D4RL/DSRL layout) for ``config.steps`` gradient steps."""
        seed = check_int(seed, "seed", f"{type(self).__name__}.fit", low=0)
        data = self._prepare(validate_dataset(dataset, f"{type(self).__name__}.fit"))
        self.obs_dim = data["observations"].shape[1]
        self.act_dim = data["actions"].shape[1]
        if np.abs(data["actions"]).max() > 1.0 + 1e-6:
            raise InputDataError(f"The 'dataset[\"actions\"]' argument of {type(self).__name__}.fit must lie in "
                                 "[-1, 1] (normalize actions first).")
        self._mean = data["observations"].mean(0)
        self._std = data["observations"].std(0) + 1e-3
        # Network initialization and the learners' own noise draw from torch's global generator inside
        # fork_rng, so the caller's global state is restored afterwards and the run is seeded.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            gen = torch.Generator().manual_seed(seed)
            tensors = {k: torch.as_tensor(data[k], dtype=torch.float32) for k in _TENSOR_KEYS}
            tensors["observations"] = self._norm_t(tensors["observations"])
            tensors["next_observations"] = self._norm_t(tensors["next_observations"])
            tensors.update({k: torch.as_tensor(v, dtype=torch.float32) for k, v in data.items()
                            if k not in tensors and np.asarray(v).dtype.kind in "biuf"})
            # Finite float64 data can still overflow float32 (|x| > 3.4e38) or its normalizers: training
            # on it would log NaN losses and return a "fitted" learner whose actions are NaN.
            norms_ok = bool(np.isfinite(self._mean).all() and np.isfinite(self._std).all())
            for k in _TENSOR_KEYS:  # the normalizers come from the observations, the first key
                if not (norms_ok and bool(torch.isfinite(tensors[k]).all())):
                    raise InputDataError(f"The 'dataset[{k!r}]' argument of {type(self).__name__}.fit must hold "
                                         "values that stay finite in float32 after normalization (|x| below about "
                                         "1e38). Got values too large instead.")
            self._data = data
            self._build(data)
            n = tensors["rewards"].shape[0]
            steps = int(self.config.steps)
            every = max(1, steps // 20)
            bar = _progress(progress, f"{type(self).__name__}", steps)
            try:
                for step in range(steps):
                    idx = torch.randint(0, n, (int(self.config.batch_size),), generator=gen)
                    batch = {k: v[idx] for k, v in tensors.items()}
                    info = self._update(batch, step)
                    if step % every == 0 or step == steps - 1:
                        self.log.append({"step": float(step), **{k: float(v) for k, v in info.items()}})
                    if bar is not None:
                        bar[0].advance(bar[1])
            finally:
                if bar is not None:
                    bar[0].stop()
        self._fitted = True
        del self._data
        return self

    def act(self, obs: Any, seed: int | None = None) -> np.ndarray:
        """Actions ``(B, act_dim)`` in [-1, 1] for observations ``(B, obs_dim)`` (or one ``(obs_dim,)``)."""
        if not self._fitted:
            raise InvalidParameterError("self", f"{type(self).__name__}.act", "a fitted learner (call fit first)",
                                        "an unfitted learner")
        owner = f"{type(self).__name__}.act"
        x = as_float_array(obs, "obs", owner, finite=True, min_size=1)
        single = x.ndim == 1
        if single:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != self.obs_dim:
            raise InputDataError(f"The 'obs' argument of {owner} must have shape (B, {self.obs_dim}). "
                                 f"Got shape {x.shape} instead.")
        seed = 0 if seed is None else check_int(seed, "seed", owner, low=0)
        gen = torch.Generator().manual_seed(seed)
        xt = self._norm_t(torch.as_tensor(x, dtype=torch.float32))
        if not bool(torch.isfinite(xt).all()):
            raise InputDataError(f"The 'obs' argument of {owner} must stay finite in float32 after normalization "
                                 "(|x| below about 1e38). Got values too large instead.")
        with torch.no_grad():
            a = self._act(xt, gen).numpy().astype(float)
        return a[0] if single else a

    def save(self, path: str | Path) -> Path:
        """Write config, normalizers and weights to ``path`` (torch format)."""
        state = {"learner": type(self).__name__, "config": dataclasses.asdict(self.config),
                 "obs_dim": self.obs_dim, "act_dim": self.act_dim, "mean": self._mean, "std": self._std,
                 "modules": {k: m.state_dict() for k, m in self.modules.items()}, "log": self.log,
                 "extra": self._extra_state()}
        return save_state(state, path)

    @classmethod
    def load(cls, path: str | Path) -> OfflineLearner:
        """Rebuild a learner saved by `save` (read with ``weights_only=True``: a file cannot run code)."""
        state = load_state(path, f"{cls.__name__}.load")
        if state.get("learner") != cls.__name__:
            raise InvalidParameterError("path", f"{cls.__name__}.load", f"a file saved by {cls.__name__}",
                                        state.get("learner"))
        cfg = state["config"]
        cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
        self = cls(cls.config_cls(**cfg))
        self.obs_dim, self.act_dim = int(state["obs_dim"]), int(state["act_dim"])
        self._mean, self._std = np.asarray(state["mean"]), np.asarray(state["std"])
        self._load_extra(state["extra"])
        self._build_empty()
        for k, m in self.modules.items():
            m.load_state_dict(state["modules"][k])
        self.log = list(state["log"])
        self._fitted = True
        return self

    def _build_empty(self) -> None:
        """Build the networks with the saved dimensions (for `load`)."""
        fake = {"observations": np.zeros((2, self.obs_dim)), "actions": np.zeros((2, self.act_dim)),
                "rewards": np.zeros(2), "costs": np.zeros(2), "next_observations": np.zeros((2, self.obs_dim)),
                "terminals": np.zeros(2, bool), "timeouts": np.array([False, True])}
        self._build(fake)

    def _norm_t(self, x: torch.Tensor) -> torch.Tensor:
        return (x - torch.as_tensor(self._mean, dtype=torch.float32)) / torch.as_tensor(self._std, dtype=torch.float32)


def _progress(on: bool, label: str, total: int) -> tuple[Any, Any] | None:
    if not on:
        return None
    from rich.progress import Progress

    bar = Progress(transient=True)
    task = bar.add_task(label, total=total)
    bar.start()
    return bar, task


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """Polyak averaging target ← (1 − τ)·target + τ·source."""
    with torch.no_grad():
        torch._foreach_lerp_(list(target.parameters()), list(source.parameters()), tau)


def check_common(cfg: Any, owner: str) -> None:
    """Validate the fields every learner config shares (steps, batch_size, hidden, lr, gamma)."""
    from guardopt.core.errors import check_in_range

    check_int(cfg.steps, "steps", owner, low=1, high=10_000_000)
    check_int(cfg.batch_size, "batch_size", owner, low=1, high=1_000_000)
    check_int(cfg.hidden, "hidden", owner, low=1, high=65_536)
    check_in_range(cfg.lr, "lr", owner, 0.0, 1.0)
    if hasattr(cfg, "gamma"):
        check_in_range(cfg.gamma, "gamma", owner, 0.0, 1.0, high_open=True, low_open=False)
    if hasattr(cfg, "tau"):
        check_in_range(cfg.tau, "tau", owner, 0.0, 1.0, high_open=False)


def cost_threshold(cost_limit: float, gamma: float, horizon: int) -> float:
    """Episode cost limit κ as a per-step discounted cost value: κ(1 − γ^T) / ((1 − γ)·T) (OSRL's qc_thres)."""
    return float(cost_limit * (1 - gamma**horizon) / (1 - gamma) / horizon)
