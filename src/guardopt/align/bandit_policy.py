"""A linear-softmax policy over a finite set of responses described by features.

``log πθ(y) = log π_ref(y) + θ·φ(y) − log Σ_y' π_ref(y') exp(θ·φ(y'))``

At ``θ = 0`` the policy is the reference policy. Its implicit DPO reward ``β·log πθ/π_ref`` is linear
in the features, ``β·θ·φ(y)`` up to a constant, which is the setting in which a misspecified
(linear) reward over-optimizes a concave gold reward. Because the response set is finite, every
expectation under the policy is an exact sum, and the log-probabilities of any response indices feed
the same preference losses (`guardopt.align.losses.dpo_loss`, `guardopt.align.vpo.vpo_loss`) that a
language model's sequence log-probabilities feed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from guardopt.core.errors import InputDataError

__all__ = ["LinearSoftmaxPolicy"]


class LinearSoftmaxPolicy(nn.Module):
    """``πθ(y) ∝ π_ref(y)·exp(θ·φ(y))`` over ``K`` responses.

    Args:
        features: ``(K, d)`` response features.
        ref_log_probs: ``(K,)`` log π_ref (normalized or not; it is normalized here).
    """

    features: torch.Tensor
    ref_log_probs: torch.Tensor

    def __init__(self, features: Any, ref_log_probs: Any) -> None:
        super().__init__()
        try:
            phi = torch.as_tensor(np.asarray(features, dtype=np.float64))
            ref = torch.as_tensor(np.asarray(ref_log_probs, dtype=np.float64))
        except (TypeError, ValueError, OverflowError, RuntimeError) as exc:
            raise InputDataError("LinearSoftmaxPolicy: 'features' and 'ref_log_probs' must be arrays of real "
                                 "numbers.") from exc
        if phi.ndim != 2 or phi.shape[0] < 1 or phi.shape[1] < 1:
            raise InputDataError(f"LinearSoftmaxPolicy: 'features' must have shape (K, d). Got {tuple(phi.shape)}.")
        if ref.shape != (phi.shape[0],):
            raise InputDataError(f"LinearSoftmaxPolicy: 'ref_log_probs' must have shape ({phi.shape[0]},). "
                                 f"Got {tuple(ref.shape)} instead.")
        if not bool(torch.isfinite(phi).all()) or not bool(torch.isfinite(ref).all()):
            raise InputDataError("LinearSoftmaxPolicy: 'features' and 'ref_log_probs' must be finite.")
        self.register_buffer("features", phi)
        self.register_buffer("ref_log_probs", torch.log_softmax(ref, dim=0))
        self.theta = nn.Parameter(torch.zeros(phi.shape[1], dtype=torch.float64))

    def forward(self) -> torch.Tensor:
        """``(K,)`` log πθ of every response."""
        return torch.log_softmax(self.ref_log_probs + self.features @ self.theta, dim=0)

    def log_prob(self, index: torch.Tensor | Any) -> torch.Tensor:
        """Log-probabilities of response indices (any shape) under the policy."""
        return self.forward()[self._index(index)]

    def ref_log_prob(self, index: torch.Tensor | Any) -> torch.Tensor:
        """Log-probabilities of response indices under the reference policy."""
        return self.ref_log_probs[self._index(index)]

    def probs(self) -> torch.Tensor:
        """``(K,)`` πθ, detached."""
        return self.forward().detach().exp()

    def _index(self, index: torch.Tensor | Any) -> torch.Tensor:
        try:
            idx = index if isinstance(index, torch.Tensor) else torch.as_tensor(np.asarray(index))
        except (TypeError, ValueError, RuntimeError) as exc:
            raise InputDataError("LinearSoftmaxPolicy: response indices must be integers.") from exc
        if idx.dtype in (torch.float16, torch.float32, torch.float64, torch.bool) or idx.is_complex():
            raise InputDataError("LinearSoftmaxPolicy: response indices must be integers.")
        k = self.features.shape[0]
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= k):
            raise InputDataError(f"LinearSoftmaxPolicy: response indices must lie in [0, {k}).")
        return idx.long()
