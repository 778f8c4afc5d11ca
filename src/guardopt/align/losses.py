"""The preference losses every trainer in `guardopt.align` shares, as pure functions of tensors.

Direct Preference Optimization (Rafailov et al., 2023, "Direct Preference Optimization: Your
Language Model is Secretly a Reward Model", arXiv 2305.18290): with implicit rewards
``h = β·[(log πθ(y_w) − log π_ref(y_w)) − (log πθ(y_l) − log π_ref(y_l))]`` the loss per pair is
``−log σ(h)``. Methods that change which tokens count (a post-divergence mask) or add a term (an SFT
anchor, a value regulariser) build on these functions rather than re-deriving them, so there is one
implementation of each loss for the torch loops here and for the TRL subclasses.

Shapes: ``B`` pairs or sequences, ``T`` tokens. Log-probabilities are natural logs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from guardopt.core.errors import InputDataError, check_in_range

__all__ = ["dpo_loss", "masked_nll", "sequence_logps"]


def _check_same_shape(owner: str, **tensors: torch.Tensor) -> None:
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) != 1:
        raise InputDataError(f"{owner}: the tensors must share one shape. Got {shapes} instead.")


def _check_finite(owner: str, **tensors: torch.Tensor) -> None:
    for name, t in tensors.items():
        if not bool(torch.isfinite(t).all()):
            raise InputDataError(f"{owner}: {name!r} holds NaN or infinite values.")


def sequence_logps(token_logps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum per-token log-probabilities over the tokens a mask selects.

    Args:
        token_logps: ``(B, T)`` log-probability of each generated token.
        mask: ``(B, T)`` 1 for tokens that count (bool or 0/1 float), 0 elsewhere.

    Returns:
        ``(B,)`` the masked sum ``Σ_t mask·logp``.
    """
    if token_logps.ndim != 2:
        raise InputDataError(f"sequence_logps: 'token_logps' must have shape (B, T). Got {tuple(token_logps.shape)}.")
    _check_same_shape("sequence_logps", token_logps=token_logps, mask=mask)
    m = mask.to(token_logps.dtype)
    # torch.where, not a product: a masked-out -inf (a padding token's log-probability) must not
    # turn the sum into NaN.
    return torch.where(m > 0, token_logps, torch.zeros_like(token_logps)).mul(m).sum(dim=-1)


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float = 0.1,
) -> torch.Tensor:
    """The DPO (sigmoid) loss per pair.

    Args:
        policy_chosen, policy_rejected: ``(B,)`` sequence log-probabilities under the policy.
        ref_chosen, ref_rejected: ``(B,)`` the same under the reference policy (no gradient needed).
        beta: Inverse temperature β > 0 of the implicit reward.

    Returns:
        ``(B,)`` losses ``−log σ(β·[(πc − rc) − (πr − rr)])``; take ``.mean()`` for the batch loss.
    """
    beta = check_in_range(beta, "beta", "dpo_loss", 0.0)
    _check_same_shape(
        "dpo_loss",
        policy_chosen=policy_chosen,
        policy_rejected=policy_rejected,
        ref_chosen=ref_chosen,
        ref_rejected=ref_rejected,
    )
    _check_finite(
        "dpo_loss",
        policy_chosen=policy_chosen,
        policy_rejected=policy_rejected,
        ref_chosen=ref_chosen,
        ref_rejected=ref_rejected,
    )
    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    # logsigmoid is the numerically stable −softplus(−x); log(sigmoid(x)) underflows for x ≪ 0.
    return -F.logsigmoid(beta * margin)


def masked_nll(token_logps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The negative log-likelihood per sequence, averaged over its selected tokens.

    Args:
        token_logps: ``(B, T)`` log-probability of each token.
        mask: ``(B, T)`` 1 for tokens that count.

    Returns:
        ``(B,)`` ``−Σ_t mask·logp / max(1, Σ_t mask)`` (a sequence with no selected token gives 0).
    """
    total = sequence_logps(token_logps, mask)
    count = mask.to(token_logps.dtype).sum(dim=-1).clamp_min(1.0)
    return -total / count
