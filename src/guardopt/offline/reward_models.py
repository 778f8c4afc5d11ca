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

from guardopt.core.errors import InputDataError, check_in_range, check_int
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
    a = torch.as_tensor(np.asarray(chosen), dtype=torch.float32)
    b = torch.as_tensor(np.asarray(rejected), dtype=torch.float32)
    if a.ndim != 2 or a.shape != b.shape or a.shape[0] == 0:
        raise InputDataError(f"chosen and rejected must both be (n, d); got {tuple(a.shape)}, {tuple(b.shape)}.")
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
        if len(models) == 0 or len(offsets) != len(models) or len(scales) != len(models):
            raise InputDataError("RewardEnsemble needs one offset and one scale per member.")
        self.models = list(models)
        self.offsets = np.asarray(offsets, dtype=float)
        self.scales = np.asarray(scales, dtype=float)

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
        check_int(k, "k", "RewardEnsemble.fit", low=1)
        models = [train_reward_model(chosen, rejected, config, seed=derive_seed(seed, "rm", i)) for i in range(k)]
        ref = np.concatenate([chosen, rejected]) if reference is None else np.asarray(reference)
        raw = _raw_predict(models, ref)
        scales = raw.std(axis=1)
        return RewardEnsemble(models, raw.mean(axis=1), np.where(scales > 0, scales, 1.0))

    def predict(self, z: np.ndarray, chunk: int = 65536) -> np.ndarray:
        """Standardized member scores of responses ``(..., d)``; returns ``(k, ...)``."""
        z = np.asarray(z)
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


def _raw_predict(models: Sequence[MLP], z: np.ndarray, chunk: int = 65536) -> np.ndarray:
    zt = torch.as_tensor(np.asarray(z), dtype=torch.float32)
    out = np.empty((len(models), zt.shape[0]))
    with torch.no_grad():
        for i, m in enumerate(models):
            for s in range(0, zt.shape[0], chunk):
                out[i, s : s + chunk] = m(zt[s : s + chunk]).numpy()
    return out
