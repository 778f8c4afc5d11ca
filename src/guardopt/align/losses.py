"""The preference losses every trainer in `guardopt.align` shares, as pure functions of tensors.

Direct Preference Optimization (Rafailov et al., 2023, "Direct Preference Optimization: Your
Language Model is Secretly a Reward Model", arXiv 2305.18290): with implicit rewards
``h = β·[(log πθ(y_w) − log π_ref(y_w)) − (log πθ(y_l) − log π_ref(y_l))]`` the loss per pair is
``−log σ(h)``. Methods that change which tokens count (a post-divergence mask) or add a term (an SFT
anchor, a value regulariser) build on these functions rather than re-deriving them, so there is one
implementation of each loss for the torch loops here and for the TRL subclasses.

Intervened Preference Optimization (arXiv 2509.24393, "Towards Safe Reasoning in Large Reasoning
Models via Corrective Intervention") is DPO restricted to the tokens after the divergence index h
of a pair that shares its prefix, plus λ_SFT times the NLL of the chosen post-divergence tokens
(`intervened_po_loss`). GRPO (Shao et al., 2024, "DeepSeekMath", arXiv 2402.03300) normalizes each
reward within its group of samples of one prompt (`grpo_advantages`) and maximizes a clipped
importance-weighted surrogate with a k3 KL estimate to the reference (`grpo_loss`).

Shapes: ``B`` pairs or sequences, ``T`` tokens. Log-probabilities are natural logs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from guardopt.core.errors import InputDataError, check_bool, check_in_range

__all__ = [
    "divergence_mask",
    "dpo_loss",
    "grpo_advantages",
    "grpo_loss",
    "intervened_po_loss",
    "masked_nll",
    "sequence_logps",
]


def _check_same_shape(owner: str, **tensors: torch.Tensor) -> None:
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise InputDataError(f"{owner}: {name!r} must be a torch tensor. Got {type(t).__name__} instead.")
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
    loss = -F.logsigmoid(beta * margin)
    if not bool(torch.isfinite(loss).all()):
        # the margin overflowed the dtype, or beta does not fit it (inf · 0 is NaN)
        raise InputDataError(f"dpo_loss: beta × margin is NaN or infinite in {loss.dtype} (beta = {beta!r}); "
                             "the log-probabilities or beta are too large.")
    return loss


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


def divergence_mask(completion_mask: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """Keep the completion tokens at or after each row's divergence position.

    Args:
        completion_mask: ``(B, T)`` 1 on completion tokens.
        start: ``(B,)`` the first position (column index) that counts in each row.

    Returns:
        ``(B, T)`` float mask ``completion_mask · 1[t ≥ start]``.
    """
    if completion_mask.ndim != 2 or start.shape != completion_mask.shape[:1]:
        raise InputDataError("divergence_mask: expected 'completion_mask' (B, T) and 'start' (B,).")
    cols = torch.arange(completion_mask.shape[1], device=completion_mask.device)[None]
    return completion_mask.to(torch.float32) * (cols >= start[:, None]).to(torch.float32)


def intervened_po_loss(
    policy_chosen_tokens: torch.Tensor,
    policy_rejected_tokens: torch.Tensor,
    ref_chosen_tokens: torch.Tensor,
    ref_rejected_tokens: torch.Tensor,
    chosen_mask: torch.Tensor,
    rejected_mask: torch.Tensor,
    beta: float = 0.1,
    sft_weight: float = 0.2,
) -> torch.Tensor:
    """Intervened PO: DPO on the post-divergence tokens plus ``sft_weight`` × their chosen NLL.

    ``L = −log σ(β·[(log πθ − log π_ref)(z̃^{≥h}) − (log πθ − log π_ref)(z^{≥h})]) + λ_SFT·NLL(z̃^{≥h})``,
    where the masks select the tokens at and after the divergence index h of each pair (the shared
    prefix ``z^{<h}`` is conditioned on, never scored). With full-completion masks this is DPO on
    full traces (plus the SFT term); with ``sft_weight = 0`` it is DPO on the diverging part.

    Args:
        policy_chosen_tokens, policy_rejected_tokens: ``(B, T)`` per-token log-probabilities under πθ.
        ref_chosen_tokens, ref_rejected_tokens: ``(B, T)`` the same under π_ref.
        chosen_mask, rejected_mask: ``(B, T)`` 1 on the tokens that count.
        beta: DPO inverse temperature β > 0.
        sft_weight: λ_SFT ≥ 0, the weight of the token-mean NLL of the chosen masked tokens.

    Returns:
        ``(B,)`` losses per pair.
    """
    sft_weight = check_in_range(sft_weight, "sft_weight", "intervened_po_loss", 0.0, low_open=False)
    pc = sequence_logps(policy_chosen_tokens, chosen_mask)
    pr = sequence_logps(policy_rejected_tokens, rejected_mask)
    rc = sequence_logps(ref_chosen_tokens, chosen_mask)
    rr = sequence_logps(ref_rejected_tokens, rejected_mask)
    loss = dpo_loss(pc, pr, rc, rr, beta=beta)
    if sft_weight > 0:
        loss = loss + sft_weight * masked_nll(policy_chosen_tokens, chosen_mask)
        if not bool(torch.isfinite(loss).all()):
            # λ beyond the tensors' float range becomes inf there (inf · 0 is NaN), or λ·NLL overflows
            raise InputDataError(f"intervened_po_loss: sft_weight × NLL is NaN or infinite in {loss.dtype} "
                                 f"(sft_weight = {sft_weight!r}); lower sft_weight.")
    return loss


def grpo_advantages(rewards: torch.Tensor, scale: bool = True, eps: float = 1e-4) -> torch.Tensor:
    """Group-relative advantages ``(r − mean_g r) / (std_g r + eps)`` (no division when ``scale=False``).

    Args:
        rewards: ``(P, G)`` rewards of ``G`` samples for each of ``P`` prompts.
        scale: Divide by the group's standard deviation (population, as in DeepSeekMath's GRPO).
        eps: Added to the standard deviation, so a zero-variance group gives zero advantages.

    Returns:
        ``(P, G)`` advantages; every entry of a zero-variance group is 0 (no learning signal).
    """
    if not isinstance(rewards, torch.Tensor):
        raise InputDataError(f"grpo_advantages: 'rewards' must be a torch tensor. Got {type(rewards).__name__}.")
    check_bool(scale, "scale", "grpo_advantages")
    if rewards.ndim != 2 or rewards.shape[1] < 1:
        raise InputDataError(f"grpo_advantages: 'rewards' must have shape (P, G). Got {tuple(rewards.shape)}.")
    _check_finite("grpo_advantages", rewards=rewards)
    eps = check_in_range(eps, "eps", "grpo_advantages", 0.0)
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    if not scale:
        return centred
    return centred / (rewards.std(dim=1, unbiased=False, keepdim=True) + eps)


def grpo_loss(
    token_logps: torch.Tensor,
    old_token_logps: torch.Tensor,
    ref_token_logps: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float = 0.2,
    kl_beta: float = 0.04,
    clip_eps_high: float | None = None,
    kl_ratio_weighted: bool = False,
) -> torch.Tensor:
    """The GRPO clipped surrogate with a k3 KL penalty, averaged per sequence then over the batch.

    Per token: ``−min(ρ·A, clip(ρ, 1−ε, 1+ε_high)·A) + β_KL·(e^{Δ} − Δ − 1)`` with ``ρ = e^{logπθ − logπ_old}``
    and ``Δ = logπ_ref − logπθ`` (the k3 estimator, DeepSeekMath eq. 4), averaged over the sequence's
    masked tokens, then over sequences.

    Args:
        token_logps: ``(B, T)`` per-token log-probabilities under the current policy.
        old_token_logps: ``(B, T)`` the same under the sampling policy (no gradient).
        ref_token_logps: ``(B, T)`` the same under the reference policy (no gradient).
        advantages: ``(B,)`` one advantage per sequence (from `grpo_advantages`).
        mask: ``(B, T)`` 1 on completion tokens.
        clip_eps: ε ∈ (0, 1).
        kl_beta: β_KL ≥ 0.
        clip_eps_high: The upper clip ε_high > 0 (DAPO's asymmetric clipping); None: ε.
        kl_ratio_weighted: Multiply each token's KL term by ``ρ`` (an importance-sampling correction
            of the KL estimate for samples drawn from π_old, TRL's ``use_bias_correction_kl``).

    Returns:
        The scalar loss.

    Raises:
        InputDataError: a NaN or infinite log-probability on a masked token (off the mask, padding
            may hold anything), non-finite advantages, or mismatched shapes.
    """
    _check_same_shape("grpo_loss", token_logps=token_logps, old_token_logps=old_token_logps,
                      ref_token_logps=ref_token_logps, mask=mask)
    if advantages.shape != token_logps.shape[:1]:
        raise InputDataError("grpo_loss: 'advantages' must have shape (B,).")
    clip_eps = check_in_range(clip_eps, "clip_eps", "grpo_loss", 0.0, 1.0)
    kl_beta = check_in_range(kl_beta, "kl_beta", "grpo_loss", 0.0, low_open=False)
    high = clip_eps if clip_eps_high is None else check_in_range(clip_eps_high, "clip_eps_high", "grpo_loss", 0.0)
    check_bool(kl_ratio_weighted, "kl_ratio_weighted", "grpo_loss")
    _check_finite("grpo_loss", advantages=advantages, mask=mask)
    m = mask.to(token_logps.dtype)
    lp = torch.where(m > 0, token_logps, torch.zeros_like(token_logps))
    old = torch.where(m > 0, old_token_logps, torch.zeros_like(old_token_logps))
    ref = torch.where(m > 0, ref_token_logps, torch.zeros_like(ref_token_logps))
    # Only the masked tokens count: a NaN or -inf log-probability there would give a NaN loss, or a
    # finite but meaningless one once the ratio is clipped (padding outside the mask may be anything).
    _check_finite("grpo_loss", token_logps=lp, old_token_logps=old, ref_token_logps=ref)
    ratio = torch.exp(lp - old)
    adv = advantages[:, None]
    surrogate = torch.minimum(ratio * adv, ratio.clamp(1.0 - clip_eps, 1.0 + high) * adv)
    delta = ref - lp
    kl = torch.exp(delta) - delta - 1.0
    if kl_ratio_weighted:
        kl = kl * ratio
    per_token = -surrogate + kl_beta * kl
    per_seq = (per_token * m).sum(dim=-1) / m.sum(dim=-1).clamp_min(1.0)
    return per_seq.mean()
