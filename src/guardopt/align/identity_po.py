"""Identity Preference Optimization (IPO), the squared preference loss, as a pure function.

Azar et al. (2023), "A General Theoretical Paradigm to Understand Learning from Human Preferences",
arXiv 2310.12036. With ``h = (log πθ(y_w) − log π_ref(y_w)) − (log πθ(y_l) − log π_ref(y_l))``
the loss per pair is ``(h − 1/(2τ))²``: it regresses the log-ratio margin onto a fixed target
instead of pushing it to infinity, which is IPO's answer to DPO's over-fitting on deterministic
preferences. This is TRL's ``DPOConfig(loss_type="ipo")`` with ``beta = τ`` (TRL divides ``h`` by
the sequence lengths first; pass length-normalized log-probabilities for that variant).

Not to be confused with Intervened Preference Optimization (a different method, with another name
in guardopt).
"""

from __future__ import annotations

import torch

from guardopt.align.losses import _check_finite, _check_same_shape
from guardopt.core.errors import check_in_range

__all__ = ["ipo_loss"]


def ipo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    tau: float = 0.1,
) -> torch.Tensor:
    """The IPO loss per pair.

    Args:
        policy_chosen, policy_rejected: ``(B,)`` sequence log-probabilities under the policy.
        ref_chosen, ref_rejected: ``(B,)`` the same under the reference policy.
        tau: Regularization τ > 0; the target margin is ``1/(2τ)``.

    Returns:
        ``(B,)`` losses ``(h − 1/(2τ))²``.
    """
    tau = check_in_range(tau, "tau", "ipo_loss", 0.0)
    # The shared checks of the DPO loss, so both losses refuse the same bad input the same way.
    given = {"policy_chosen": policy_chosen, "policy_rejected": policy_rejected,
             "ref_chosen": ref_chosen, "ref_rejected": ref_rejected}
    _check_same_shape("ipo_loss", **given)
    _check_finite("ipo_loss", **given)
    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    return (margin - 1.0 / (2.0 * tau)) ** 2
