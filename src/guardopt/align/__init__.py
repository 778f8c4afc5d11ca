"""Preference and policy optimization for language models, on tiny from-scratch models or real ones.

Every objective here is a pure function of tensors (per-token log-probabilities, masks, rewards), so
the same code serves the minute-scale torch loops of the reproductions and thin subclasses of TRL's
trainers on a real Hugging Face causal LM. This package needs torch (``pip install guardopt[torch]``).
"""

from guardopt.align.losses import dpo_loss, masked_nll, sequence_logps

__all__ = [
    "dpo_loss",
    "masked_nll",
    "sequence_logps",
]

# VPO (value-incentivized preference optimization), IPO's squared loss, the linear-softmax bandit policy.
from guardopt.align.bandit_policy import LinearSoftmaxPolicy
from guardopt.align.identity_po import ipo_loss
from guardopt.align.vpo import (
    OfflineVPOTrainer,
    OnlineVPOTrainer,
    VPOConfig,
    VPOHistory,
    vpo_loss,
    vpo_value,
)

__all__ += [
    "LinearSoftmaxPolicy",
    "OfflineVPOTrainer",
    "OnlineVPOTrainer",
    "VPOConfig",
    "VPOHistory",
    "ipo_loss",
    "vpo_loss",
    "vpo_value",
]
