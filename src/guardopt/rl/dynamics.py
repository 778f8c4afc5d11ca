"""A probabilistic ensemble of Gaussian dynamics models for offline model-based RL (torch).

Each of ``members`` MLPs maps a normalized ``(s, a)`` to the mean and log-variance of a diagonal
Gaussian over the target ``[s' − s, r, (c)]``, as in PETS/MBPO/MOPO (Chua et al. 2018; Janner et al.
2019; Yu et al. 2020). Training follows MOPO and OfflineRL-Kit: Gaussian negative log-likelihood with
learned soft bounds on the log-variance (the bounds enter the loss with weight
``logvar_bound_weight``, 0.01), weight decay, a held-out split with early stopping, and the
``elites`` members with the lowest held-out error are the ones `step` samples from.

All members are trained in one batched forward pass (``torch.baddbmm`` over stacked weights): on
2 CPU cores that is 4–6× faster than looping over ``members`` separate ``nn.Sequential`` modules of
the same size. Members see independently resampled (bootstrap) minibatches.

The predictions (`predict`) are returned in the original units, so the uncertainty heuristics of
offline MBRL (max aleatoric, max pairwise difference, ensemble std or variance, log-likelihood
variance) are simple functions of ``(mean, std)`` and live with the methods that use them.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_bool,
    check_in_range,
    check_int,
)
from guardopt.rl.base import _progress
from guardopt.rl.data import validate_dataset
from guardopt.rl.persistence import load_state, save_state

__all__ = ["DynamicsConfig", "EnsemblePrediction", "GaussianEnsemble"]


@dataclass(frozen=True)
class DynamicsConfig:
    """Config of `GaussianEnsemble` (defaults: MOPO's, except the 2×200 width noted below).

    Args:
        members: Ensemble size N (MOPO: 7).
        elites: Members kept for sampling, the best on held-out error (MOPO: 5); ≤ ``members``.
        hidden, layers: MLP width and number of hidden layers (MOPO: 4×200; 2×200 here by default
            because our state spaces have 2–6 dimensions, not MuJoCo's 11–17).
        lr, weight_decay: Adam learning rate and L2 weight decay.
        batch_size: Minibatch per member.
        max_epochs: Upper bound on passes over the training split.
        patience: Epochs without a 1% held-out improvement before stopping (MOPO: 5).
        holdout: Fraction of transitions held out for early stopping and elite selection (at most
            1000 transitions, as in MOPO).
        logvar_bound_weight: Weight of the learned log-variance bounds in the loss (MOPO: 0.01).
        predict_cost: Also model the cost signal (``dataset["costs"]``) as a target.
    """

    members: int = 7
    elites: int = 5
    hidden: int = 200
    layers: int = 2
    lr: float = 1e-3
    weight_decay: float = 5e-5
    batch_size: int = 256
    max_epochs: int = 200
    patience: int = 5
    holdout: float = 0.1
    logvar_bound_weight: float = 0.01
    predict_cost: bool = False

    def __post_init__(self) -> None:
        owner = "DynamicsConfig"
        check_int(self.members, "members", owner, low=1, high=100)
        check_int(self.elites, "elites", owner, low=1, high=self.members)
        check_int(self.hidden, "hidden", owner, low=1, high=65_536)
        check_int(self.layers, "layers", owner, low=1, high=16)
        check_in_range(self.lr, "lr", owner, 0.0, 1.0)
        check_in_range(self.weight_decay, "weight_decay", owner, 0.0, 1.0, low_open=False)
        check_int(self.batch_size, "batch_size", owner, low=1, high=1_000_000)
        check_int(self.max_epochs, "max_epochs", owner, low=1, high=100_000)
        check_int(self.patience, "patience", owner, low=1, high=100_000)
        check_in_range(self.holdout, "holdout", owner, 0.0, 0.5, low_open=True, high_open=False)
        check_in_range(self.logvar_bound_weight, "logvar_bound_weight", owner, 0.0, 1.0, low_open=False)
        check_bool(self.predict_cost, "predict_cost", owner)


@dataclass(frozen=True)
class EnsemblePrediction:
    """Per-member Gaussian predictions in original units.

    Attributes:
        next_obs_mean, next_obs_std: ``(N, B, obs_dim)``; the mean already includes ``s``.
        reward_mean, reward_std: ``(N, B)``.
        cost_mean, cost_std: ``(N, B)``, or ``None`` when the ensemble does not model cost.
    """

    next_obs_mean: np.ndarray
    next_obs_std: np.ndarray
    reward_mean: np.ndarray
    reward_std: np.ndarray
    cost_mean: np.ndarray | None
    cost_std: np.ndarray | None


class _BatchedGaussianMLP(nn.Module):
    """``k`` MLPs held as stacked weights; input ``(k, B, inp)``, outputs mean and log-variance."""

    def __init__(self, k: int, inp: int, out: int, hidden: int, layers: int) -> None:
        super().__init__()
        dims = [inp] + [hidden] * layers + [2 * out]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for d_in, d_out in itertools.pairwise(dims):
            bound = 1.0 / math.sqrt(d_in)
            self.weights.append(nn.Parameter(torch.empty(k, d_in, d_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.zeros(k, 1, d_out)))
        # Soft log-variance bounds learned with the model (MOPO): start wide, in normalized units.
        self.max_logvar = nn.Parameter(torch.full((1, 1, out), 0.5))
        self.min_logvar = nn.Parameter(torch.full((1, 1, out), -10.0))
        self.out = out

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = torch.baddbmm(b, z, w)
            if i < last:
                z = z * torch.sigmoid(z)  # swish, as PETS/MBPO
        mean, logvar = z[..., : self.out], z[..., self.out :]
        logvar = self.max_logvar - nn.functional.softplus(self.max_logvar - logvar)
        logvar = self.min_logvar + nn.functional.softplus(logvar - self.min_logvar)
        return mean, logvar

    def decay_terms(self) -> torch.Tensor:
        return sum((w**2).sum() for w in self.weights) * 0.5


class GaussianEnsemble:
    """An ensemble of Gaussian dynamics models trained on an offline dataset.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> s = rng.normal(size=(400, 2)); a = rng.uniform(-1, 1, (400, 1))
        >>> data = {"observations": s, "actions": a, "next_observations": s + 0.1 * a,
        ...         "rewards": -np.abs(s[:, 0]), "costs": np.zeros(400),
        ...         "terminals": np.zeros(400, bool), "timeouts": np.arange(400) % 50 == 49}
        >>> model = GaussianEnsemble(DynamicsConfig(members=3, elites=2, hidden=32, max_epochs=5))
        >>> _ = model.fit(data, seed=0)
        >>> model.predict(s[:4], a[:4]).next_obs_mean.shape
        (3, 4, 2)
    """

    def __init__(self, config: DynamicsConfig | None = None) -> None:
        config = DynamicsConfig() if config is None else config
        if not isinstance(config, DynamicsConfig):
            raise InvalidParameterError("config", "GaussianEnsemble", "a DynamicsConfig", config)
        self.config = config
        self.log: list[dict[str, float]] = []
        self.elites: tuple[int, ...] = ()
        self.holdout_mse: np.ndarray = np.zeros(0)
        self.obs_dim = 0
        self.act_dim = 0
        self._net: _BatchedGaussianMLP | None = None
        self._in_mean = self._in_std = self._out_mean = self._out_std = np.zeros(0)

    @property
    def fitted(self) -> bool:
        return self._net is not None

    @property
    def target_dim(self) -> int:
        return self.obs_dim + 1 + int(self.config.predict_cost)

    # --- training ---------------------------------------------------------------------------------
    def fit(self, dataset: dict[str, np.ndarray], seed: int = 0, progress: bool = False) -> GaussianEnsemble:
        """Train every member on ``dataset`` (D4RL/DSRL layout) until the held-out loss stalls."""
        owner = "GaussianEnsemble.fit"
        seed = check_int(seed, "seed", owner, low=0)
        data = validate_dataset(dataset, owner)
        x, y = self._io(data)
        n = x.shape[0]
        n_hold = min(1000, max(1, round(self.config.holdout * n)))
        if n - n_hold < 2:
            raise InputDataError(f"The 'dataset' argument of {owner} needs at least {n_hold + 2} transitions. "
                                 f"Got {n} instead.")
        rng = np.random.default_rng(seed)
        perm = rng.permutation(n)
        hold, train = perm[:n_hold], perm[n_hold:]
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused just below, by name
            self._in_mean, self._in_std = x[train].mean(0), x[train].std(0) + 1e-6
            self._out_mean, self._out_std = y[train].mean(0), y[train].std(0) + 1e-6
            xt = torch.as_tensor((x - self._in_mean) / self._in_std, dtype=torch.float32)
            yt = torch.as_tensor((y - self._out_mean) / self._out_std, dtype=torch.float32)
        norms = (self._in_mean, self._in_std, self._out_mean, self._out_std)
        if not all(np.isfinite(v).all() for v in norms) or not bool(torch.isfinite(xt).all() and
                                                                     torch.isfinite(yt).all()):
            raise InputDataError(f"The 'dataset' argument of {owner} must hold values whose means and standard "
                                 "deviations are finite (|x| well below 1e308). Got values too large instead.")
        cfg = self.config
        k = cfg.members
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            gen = torch.Generator().manual_seed(seed)
            net = _BatchedGaussianMLP(k, x.shape[1], y.shape[1], cfg.hidden, cfg.layers)
            opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
            train_t = torch.as_tensor(train)
            hx, hy = xt[hold].expand(k, -1, -1), yt[hold].expand(k, -1, -1)
            best = np.full(k, np.inf)
            best_state = {key: v.detach().clone() for key, v in net.state_dict().items()}
            stall = 0
            per_epoch = max(1, len(train) // cfg.batch_size)
            bar = _progress(progress, "dynamics ensemble", cfg.max_epochs)
            try:
                for epoch in range(cfg.max_epochs):
                    for _ in range(per_epoch):
                        # Bootstrap: each member draws its own minibatch with replacement.
                        idx = train_t[torch.randint(0, len(train), (k, cfg.batch_size), generator=gen)]
                        mean, logvar = net(xt[idx])
                        nll = (((mean - yt[idx]) ** 2) * torch.exp(-logvar) + logvar).mean()
                        bounds = cfg.logvar_bound_weight * (net.max_logvar.sum() - net.min_logvar.sum())
                        loss = nll + bounds + cfg.weight_decay * net.decay_terms()
                        opt.zero_grad()
                        loss.backward()
                        opt.step()
                    with torch.no_grad():
                        hmean, _ = net(hx)
                        mse = ((hmean - hy) ** 2).mean(dim=(1, 2)).numpy().astype(float)
                    if not np.all(np.isfinite(mse)):
                        raise InputDataError(f"The 'dataset' argument of {owner} made the held-out error "
                                             "non-finite (check for extreme values).")
                    improved = mse < 0.99 * best  # a 1% improvement (always true against inf)
                    if improved.any():
                        stall = 0
                        state = net.state_dict()
                        for key, v in state.items():
                            if key.startswith(("weights", "biases")):
                                mask = torch.as_tensor(improved)
                                best_state[key][mask] = v.detach()[mask]
                            else:
                                best_state[key] = v.detach().clone()
                        best = np.where(improved, mse, best)
                    else:
                        stall += 1
                    self.log.append({"epoch": float(epoch), "loss": float(loss.detach()),
                                     "holdout_mse": float(mse.mean())})
                    if bar is not None:
                        bar[0].advance(bar[1])
                    if stall >= cfg.patience:
                        break
            finally:
                if bar is not None:
                    bar[0].stop()
            net.load_state_dict(best_state)
        self._net = net
        self.holdout_mse = best
        self.elites = tuple(int(i) for i in np.argsort(best, kind="stable")[: cfg.elites])
        return self

    def _io(self, data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        s, a, s2 = data["observations"], data["actions"], data["next_observations"]
        cols = [s2 - s, data["rewards"][:, None]]
        if self.config.predict_cost:
            cols.append(data["costs"][:, None])
        self.obs_dim, self.act_dim = s.shape[1], a.shape[1]
        return np.concatenate([s, a], 1), np.concatenate(cols, 1)

    # --- prediction -------------------------------------------------------------------------------
    def predict(self, obs: Any, act: Any) -> EnsemblePrediction:
        """Every member's Gaussian at ``(obs, act)``: ``obs (B, obs_dim)``, ``act (B, act_dim)``."""
        x = self._check_input(obs, act, "GaussianEnsemble.predict")
        assert self._net is not None
        with torch.no_grad():
            xt = torch.as_tensor((x - self._in_mean) / self._in_std, dtype=torch.float32)
            mean, logvar = self._net(xt.expand(self.config.members, -1, -1))
        mu = mean.numpy().astype(float) * self._out_std + self._out_mean
        sd = np.exp(0.5 * logvar.numpy().astype(float)) * self._out_std
        d = self.obs_dim
        cost = self.config.predict_cost
        return EnsemblePrediction(
            next_obs_mean=mu[..., :d] + x[None, :, :d], next_obs_std=sd[..., :d],
            reward_mean=mu[..., d], reward_std=sd[..., d],
            cost_mean=mu[..., d + 1] if cost else None, cost_std=sd[..., d + 1] if cost else None)

    def step(self, obs: Any, act: Any, rng: np.random.Generator,
             deterministic: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, EnsemblePrediction]:
        """One model transition per row: a random elite member, then a draw from its Gaussian.

        Returns ``(next_obs (B, obs_dim), reward (B,), cost (B,) or None, prediction)``; the
        prediction holds every member's Gaussian so the caller can compute an uncertainty penalty.
        ``deterministic=True`` returns the chosen elite's mean instead of a draw.
        """
        if not isinstance(rng, np.random.Generator):
            raise InvalidParameterError("rng", "GaussianEnsemble.step", "a numpy Generator", rng)
        check_bool(deterministic, "deterministic", "GaussianEnsemble.step")
        pred = self.predict(obs, act)
        b = pred.reward_mean.shape[1]
        member = np.asarray(self.elites)[rng.integers(0, len(self.elites), b)]
        rows = np.arange(b)

        def draw(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
            m, s = mean[member, rows], std[member, rows]
            return m if deterministic else m + s * rng.standard_normal(m.shape)

        s2 = draw(pred.next_obs_mean, pred.next_obs_std)
        r = draw(pred.reward_mean, pred.reward_std)
        c = draw(pred.cost_mean, pred.cost_std) if pred.cost_mean is not None and pred.cost_std is not None else None
        return s2, r, c, pred

    def _check_input(self, obs: Any, act: Any, owner: str) -> np.ndarray:
        if not self.fitted:
            raise InvalidParameterError("self", owner, "a fitted ensemble (call fit first)", "an unfitted ensemble")
        s = as_float_array(obs, "obs", owner, finite=True, min_size=1)
        a = as_float_array(act, "act", owner, finite=True, min_size=1)
        if s.ndim == 1:
            s = s[None]
        if a.ndim == 1:
            a = a[None]
        if s.ndim != 2 or s.shape[1] != self.obs_dim:
            raise InputDataError(f"The 'obs' argument of {owner} must have shape (B, {self.obs_dim}). "
                                 f"Got shape {s.shape} instead.")
        if a.ndim != 2 or a.shape != (s.shape[0], self.act_dim):
            raise InputDataError(f"The 'act' argument of {owner} must have shape ({s.shape[0]}, {self.act_dim}). "
                                 f"Got shape {a.shape} instead.")
        return np.concatenate([s, a], 1)

    # --- persistence ------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write config, normalizers, elites and weights to ``path`` (torch format)."""
        if self._net is None:
            raise InvalidParameterError("self", "GaussianEnsemble.save", "a fitted ensemble", "an unfitted ensemble")
        state = {"config": dataclasses.asdict(self.config), "obs_dim": self.obs_dim, "act_dim": self.act_dim,
                 "norm": [self._in_mean, self._in_std, self._out_mean, self._out_std], "elites": self.elites,
                 "holdout_mse": self.holdout_mse, "weights": self._net.state_dict(), "log": self.log}
        return save_state(state, path)

    @classmethod
    def load(cls, path: str | Path) -> GaussianEnsemble:
        """Rebuild an ensemble saved by `save` (read with ``weights_only=True``: a file cannot run code)."""
        state = load_state(path, "GaussianEnsemble.load")
        if not {"config", "weights", "norm", "elites"} <= set(state):
            raise InvalidParameterError("path", "GaussianEnsemble.load", "a file saved by GaussianEnsemble.save",
                                        str(path))
        self = cls(DynamicsConfig(**state["config"]))
        self.obs_dim, self.act_dim = int(state["obs_dim"]), int(state["act_dim"])
        self._in_mean, self._in_std, self._out_mean, self._out_std = (np.asarray(v) for v in state["norm"])
        self.elites = tuple(state["elites"])
        self.holdout_mse = np.asarray(state["holdout_mse"])
        cfg = self.config
        net = _BatchedGaussianMLP(cfg.members, self.obs_dim + self.act_dim, self.target_dim, cfg.hidden, cfg.layers)
        net.load_state_dict(state["weights"])
        self._net = net
        self.log = list(state["log"])
        return self

