"""Neur2RO's set-encoder value network in torch, and its training (Dumouchelle et al., ICLR 2024, Sec. 4).

``NN(x, ξ) ≈ Q(x, ξ) / s`` for a problem with per-item features ``φ_i`` (shape ``(n, F)``):

    e_x = P_x( mean_i E_x([x_i, φ_i]) ),   e_ξ = P_ξ( mean_i E_ξ([ξ_i, φ_i]) ),   NN = V([e_x, e_ξ]),

with ReLU networks ``E`` (every layer, the per-item embedding), ``P`` (post-aggregation, linear
output) and ``V`` (value, linear output). The mean over items makes one network serve every problem
size, and, because ``x_i`` is binary, makes ``mean_i E_x`` affine in ``x`` (see
`guardopt.robust.milp_encoding`), which keeps the master MILP small.

torch is imported here only; this module needs ``guardopt[torch]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from guardopt.core.errors import InputDataError, InvalidParameterError, check_in_range, check_int
from guardopt.robust.config import SetEncoderConfig
from guardopt.robust.data import ValueDataset
from guardopt.robust.milp_encoding import Layer, NetworkWeights

__all__ = ["SetEncoder", "TrainedValueNetwork", "train_value_network"]


def _mlp(dims: list[int], relu_last: bool) -> nn.Sequential:
    mods: list[nn.Module] = []
    for j in range(len(dims) - 1):
        mods.append(nn.Linear(dims[j], dims[j + 1]))
        if relu_last or j < len(dims) - 2:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


class SetEncoder(nn.Module):
    """The value network; ``forward(x, xi, features, mask) -> (B,)``.

    Args:
        feature_dim: ``F``, the width of the per-item features.
        config: Widths (`SetEncoderConfig`).

    Shapes: ``x, xi, mask``: ``(B, n)``; ``features``: ``(B, n, F)``; padding items have mask 0.
    """

    def __init__(self, feature_dim: int, config: SetEncoderConfig | None = None) -> None:
        super().__init__()
        cfg = config if config is not None else SetEncoderConfig()
        if not isinstance(cfg, SetEncoderConfig):
            raise InvalidParameterError("config", "SetEncoder", "a SetEncoderConfig", type(config).__name__)
        feature_dim = check_int(feature_dim, "feature_dim", "SetEncoder", 0)
        self.config = cfg
        self.feature_dim = feature_dim
        embed = [1 + feature_dim, *cfg.embed]
        post = [cfg.embed[-1], *cfg.post, cfg.embedding_dim]
        self.x_embed = _mlp(embed, relu_last=True)
        self.xi_embed = _mlp(embed, relu_last=True)
        self.x_post = _mlp(post, relu_last=False)
        self.xi_post = _mlp(post, relu_last=False)
        self.value = _mlp([2 * cfg.embedding_dim, *cfg.value, 1], relu_last=False)

    @staticmethod
    def _set(embed: nn.Module, post: nn.Module, v: torch.Tensor, feats: torch.Tensor, mask: torch.Tensor,
             ) -> torch.Tensor:
        h = embed(torch.cat([v.unsqueeze(-1), feats], dim=-1))  # (B, n, d)
        m = mask.unsqueeze(-1)
        pooled = (h * m).sum(dim=-2) / m.sum(dim=-2).clamp_min(1.0)
        return post(pooled)

    def forward(self, x: torch.Tensor, xi: torch.Tensor, features: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            mask = torch.ones_like(x)
        ex = self._set(self.x_embed, self.x_post, x, features, mask)
        exi = self._set(self.xi_embed, self.xi_post, xi, features, mask)
        return self.value(torch.cat([ex, exi], dim=-1)).squeeze(-1)

    def weights(self) -> NetworkWeights:
        """The weights as numpy arrays, for the MILP encoding."""

        def layers(seq: nn.Sequential) -> tuple[Layer, ...]:
            return tuple((m.weight.detach().cpu().double().numpy().copy(),
                          m.bias.detach().cpu().double().numpy().copy()) for m in seq if isinstance(m, nn.Linear))

        return NetworkWeights(layers(self.x_embed), layers(self.x_post), layers(self.xi_embed), layers(self.xi_post),
                              layers(self.value))


@dataclass(frozen=True)
class TrainedValueNetwork:
    """A trained `SetEncoder` with its training record.

    Attributes:
        net: The network (eval mode).
        weights: Its numpy weights (for the MILP).
        train_mse, val_mse: Final mean squared errors (normalized units) on the training split and a
            held-out 10% of the problems.
        loss_curve: Training MSE per epoch.
        seconds: Training wall time.
    """

    net: SetEncoder
    weights: NetworkWeights
    train_mse: float
    val_mse: float
    loss_curve: tuple[float, ...]
    seconds: float


def train_value_network(data: ValueDataset, config: SetEncoderConfig | None = None, seed: int = 0,
                        val_fraction: float = 0.1) -> TrainedValueNetwork:
    """Fit a `SetEncoder` to ``data`` by Adam on the mean squared error.

    The validation split holds out whole problems (``val_fraction ∈ [0, 1)`` of them, at least one
    and never all when there are two or more), so ``val_mse`` measures generalization to new
    instances. ``epochs = 0``
    returns the untrained (randomly initialized) network, the negative control of the reproduction.
    Seeds torch's generator locally (``torch.Generator``) and never the global one.
    """
    import time

    owner = "train_value_network"
    cfg = config if config is not None else SetEncoderConfig()
    if not isinstance(cfg, SetEncoderConfig):
        raise InvalidParameterError("config", owner, "a SetEncoderConfig", type(config).__name__)
    if not isinstance(data, ValueDataset) or len(data) == 0:
        raise InvalidParameterError("data", owner, "a non-empty ValueDataset", type(data).__name__)
    if not np.all(np.isfinite(data.target)):
        raise InputDataError("The 'data' argument of train_value_network has non-finite targets.")
    for name in ("x", "xi", "features", "mask"):  # NaN inputs train a NaN network
        if not np.all(np.isfinite(getattr(data, name))):
            raise InputDataError(f"The 'data' argument of train_value_network has non-finite {name!r}.")
    seed = check_int(seed, "seed", owner, -(2**63), 2**64 - 1)  # the range torch's manual_seed takes
    val_fraction = check_in_range(val_fraction, "val_fraction", owner, 0.0, 1.0, low_open=False)
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = SetEncoder(int(data.features.shape[-1]), cfg)
    n_problems = int(data.problem.max()) + 1
    perm = torch.randperm(n_problems, generator=gen).numpy()
    # At least one problem on each side when there are two or more (else training would see no data).
    n_val = min(max(1, round(val_fraction * n_problems)), n_problems - 1) if n_problems >= 2 else 0
    val_set = set(perm[:n_val].tolist())
    is_val = np.array([p in val_set for p in data.problem])
    arrays = (data.x, data.xi, data.features, data.mask, data.target)
    tensors = [torch.as_tensor(a, dtype=torch.float32) for a in arrays]
    tr = [t[torch.as_tensor(~is_val)] for t in tensors]
    va = [t[torch.as_tensor(is_val)] for t in tensors]
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n_tr = int(tr[-1].shape[0])
    curve: list[float] = []
    for _ in range(cfg.epochs):
        order = torch.randperm(n_tr, generator=gen)
        total = 0.0
        for s in range(0, n_tr, cfg.batch_size):
            idx = order[s:s + cfg.batch_size]
            pred = net(tr[0][idx], tr[1][idx], tr[2][idx], tr[3][idx])
            loss = torch.mean((pred - tr[4][idx]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * int(idx.numel())
        curve.append(total / max(n_tr, 1))
    net.eval()
    with torch.no_grad():
        train_mse = float(torch.mean((net(*tr[:4]) - tr[4]) ** 2)) if n_tr else math.nan
        val_mse = float(torch.mean((net(*va[:4]) - va[4]) ** 2)) if int(va[-1].shape[0]) else math.nan
    return TrainedValueNetwork(net, net.weights(), train_mse, val_mse, tuple(curve), time.perf_counter() - t0)
