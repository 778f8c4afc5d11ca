"""Bradley-Terry reward models and seed ensembles of them (torch).

Reference: Coste et al. (2024), "Reward Model Ensembles Help Mitigate Overoptimization"
(ICLR 2024, arXiv 2310.02743). Each member is trained on the same preference pairs with the
Bradley-Terry loss ``-log σ(r(chosen) - r(rejected))`` and differs from the others only in its seed
(initialization and batch order). A Bradley-Terry reward is identified only up to a shift (and its
scale is arbitrary), so before combining, each member is standardized to mean 0 and standard
deviation 1 on a reference set of responses (by default the training responses); without this, the
minimum and the variance across members would mostly measure offsets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from guardopt.core.errors import (
    InputDataError,
    InsufficientDataError,
    InvalidParameterError,
    as_float_array,
    check_in_range,
    check_int,
)
from guardopt.core.seeding import derive_seed
from guardopt.offline.ensembles import combine
from guardopt.offline.nets import MLP, MLPConfig, make_mlp
from guardopt.uncertainty import Estimate, ensemble


@dataclass(frozen=True)
class RewardModelConfig:
    """How each member is built and trained.

    Attributes:
        mlp: Architecture (``(64, 64)`` by default).
        epochs: Passes over the pairs.
        batch_size: Pairs per step.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
    """

    mlp: MLPConfig = field(default_factory=lambda: MLPConfig(hidden=(64, 64), activation="relu"))
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.mlp, MLPConfig):
            raise InvalidParameterError("mlp", "RewardModelConfig", "an MLPConfig", self.mlp)
        check_int(self.epochs, "epochs", "RewardModelConfig", low=1)
        check_int(self.batch_size, "batch_size", "RewardModelConfig", low=1)
        check_in_range(self.lr, "lr", "RewardModelConfig", 0.0, math.inf)
        check_in_range(self.weight_decay, "weight_decay", "RewardModelConfig", 0.0, math.inf, low_open=False)


def train_reward_model(chosen: np.ndarray, rejected: np.ndarray, config: RewardModelConfig | None = None,
                       seed: int | None = None) -> MLP:
    """Fit one Bradley-Terry reward model.

    Args:
        chosen: Preferred responses, shape ``(n, d)``.
        rejected: The other responses, shape ``(n, d)``.
        config: `RewardModelConfig`.
        seed: Seed of the initialization and the batch order.

    Returns:
        The trained model, ``(m, d) -> (m,)``, in eval mode.
    """
    cfg = config or RewardModelConfig()
    if not isinstance(cfg, RewardModelConfig):
        raise InputDataError(f"The 'config' argument of train_reward_model must be a RewardModelConfig. Got "
                             f"{type(cfg).__name__} instead.")
    if seed is not None:
        check_int(seed, "seed", "train_reward_model", low=0)
    a, b = _pairs(chosen, rejected, "train_reward_model")
    model = make_mlp(a.shape[1], cfg.mlp, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(seed)
    n = a.shape[0]
    model.train()
    for _ in range(cfg.epochs):
        order = torch.from_numpy(rng.permutation(n))
        for start in range(0, n, cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            opt.zero_grad()
            loss = -F.logsigmoid(model(a[idx]) - model(b[idx])).mean()
            loss.backward()
            opt.step()
    model.eval()
    return model


class RewardEnsemble:
    """``k`` reward models that differ only in their seed, each standardized on a reference set.

    Args:
        models: The members.
        offsets, scales: Per-member standardization (``(r - offset) / scale``), shape ``(k,)``.
    """

    def __init__(self, models: Sequence[MLP], offsets: np.ndarray, scales: np.ndarray) -> None:
        off = as_float_array(offsets, "offsets", "RewardEnsemble", finite=True)
        sc = as_float_array(scales, "scales", "RewardEnsemble", finite=True)
        if len(models) == 0 or off.shape != (len(models),) or sc.shape != (len(models),):
            raise InputDataError("RewardEnsemble needs one offset and one scale per member.")
        if not np.all(sc > 0):
            # A zero scale gives infinite scores and a negative one flips a member's ranking (its
            # worst case would become its best).
            raise InputDataError(f"The 'scales' argument of RewardEnsemble must be positive. Got {sc} instead.")
        self.models = list(models)
        self.offsets = off
        self.scales = sc

    @property
    def size(self) -> int:
        """Number of members."""
        return len(self.models)

    @staticmethod
    def fit(chosen: np.ndarray, rejected: np.ndarray, k: int = 5, config: RewardModelConfig | None = None,
            seed: int | None = 0, reference: np.ndarray | None = None) -> RewardEnsemble:
        """Train ``k`` members on the same pairs with seeds derived from ``seed``.

        Args:
            chosen, rejected: Preference pairs, ``(n, d)`` each.
            k: Ensemble size (the paper uses 5).
            config: `RewardModelConfig`.
            seed: Base seed.
            reference: Responses ``(m, d)`` on which each member is standardized; defaults to the
                training responses.
        """
        owner = "RewardEnsemble.fit"
        check_int(k, "k", owner, low=1)
        if seed is not None:
            check_int(seed, "seed", owner, low=0)
        a, b = _pairs(chosen, rejected, owner)
        if reference is None:
            ref = np.concatenate([a.numpy(), b.numpy()])
        else:
            ref = as_float_array(reference, "reference", owner, finite=True)
            if ref.ndim != 2 or ref.shape[1] != a.shape[1]:
                raise InputDataError(f"The 'reference' argument of {owner} must have shape (m, {a.shape[1]}). Got "
                                     f"{ref.shape} instead.")
            if ref.shape[0] < 2:
                raise InsufficientDataError(f"The 'reference' argument of {owner} needs at least 2 responses to "
                                            f"standardize on. Got {ref.shape[0]}.")
        models = [train_reward_model(chosen, rejected, config, seed=derive_seed(seed, "rm", i)) for i in range(k)]
        raw = _raw_predict(models, ref)
        scales = raw.std(axis=1)
        return RewardEnsemble(models, raw.mean(axis=1), np.where(scales > 0, scales, 1.0))

    def predict(self, z: np.ndarray, chunk: int = 65536) -> np.ndarray:
        """Standardized member scores of finite responses ``(..., d)``; returns ``(k, ...)``."""
        z = as_float_array(z, "z", "RewardEnsemble.predict", finite=True)
        d = getattr(self.models[0], "in_dim", None)
        if z.ndim == 0 or (d is not None and z.shape[-1] != d):
            raise InputDataError(f"The 'z' argument of RewardEnsemble.predict must have shape (..., {d}). Got "
                                 f"{z.shape} instead.")
        check_int(chunk, "chunk", "RewardEnsemble.predict", low=1)
        flat = z.reshape(-1, z.shape[-1])
        raw = _raw_predict(self.models, flat, chunk)
        out = (raw - self.offsets[:, None]) / self.scales[:, None]
        return out.reshape(self.size, *z.shape[:-1])

    def estimate(self, z: np.ndarray) -> Estimate:
        """Ensemble mean ± one (population) standard deviation per response, as an `Estimate`."""
        return ensemble(self.predict(z), axis=0)

    def score(self, z: np.ndarray, combiner: str = "wco", lam: float = 0.5) -> np.ndarray:
        """Combined score of responses ``(..., d)`` (see `guardopt.offline.ensembles.combine`)."""
        return combine(self.predict(z), combiner, lam, axis=0)


def _pairs(chosen: np.ndarray, rejected: np.ndarray, owner: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Finite preference pairs ``(n, d)`` each, as float32 tensors, or an `InputDataError`."""
    a = as_float_array(chosen, "chosen", owner, finite=True)
    b = as_float_array(rejected, "rejected", owner, finite=True)
    if a.ndim != 2 or a.shape != b.shape or a.shape[0] == 0 or a.shape[1] == 0:
        raise InputDataError(f"chosen and rejected must both be (n, d); got {a.shape}, {b.shape}.")
    at, bt = torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32)
    if not (bool(torch.isfinite(at).all()) and bool(torch.isfinite(bt).all())):
        raise InputDataError(f"{owner}: chosen and rejected must lie within float32's range.")
    return at, bt


def _raw_predict(models: Sequence[MLP], z: np.ndarray, chunk: int = 65536) -> np.ndarray:
    zt = torch.as_tensor(np.asarray(z), dtype=torch.float32)
    out = np.empty((len(models), zt.shape[0]))
    with torch.no_grad():
        for i, m in enumerate(models):
            for s in range(0, zt.shape[0], chunk):
                out[i, s : s + chunk] = m(zt[s : s + chunk]).numpy()
    return out
