"""Preference and policy optimization for language models, on tiny from-scratch models or real ones.

Every objective here is a pure function of tensors (per-token log-probabilities, masks, rewards), so
the same code serves the minute-scale torch loops of the reproductions and thin subclasses of TRL's
trainers on a real Hugging Face causal LM. This package needs torch (``pip install guardopt[torch]``).
"""

# Substrate, trainers and Intervened PO (guardopt.align.{tokenizer,model,trainers,intervened}).
from guardopt.align.intervened import (
    CueDetector,
    IntervenedPOConfig,
    InterventionStats,
    ProgramCueDetector,
    build_benign_pairs,
    build_intervened_pairs,
    continuation_safety,
    intervened_po,
)
from guardopt.align.losses import (
    divergence_mask,
    dpo_loss,
    grpo_advantages,
    grpo_loss,
    intervened_po_loss,
    masked_nll,
    sequence_logps,
)
from guardopt.align.model import TinyCausalLM, TinyLMConfig, pad_right, sample, step_logps, token_logps
from guardopt.align.tokenizer import Tokenizer
from guardopt.align.trainers import (
    DPOConfig,
    GRPOConfig,
    PreferencePair,
    RejectionSamplingConfig,
    SFTConfig,
    TrainLog,
    completion_batch,
    dpo_train,
    frozen_copy,
    grpo_train,
    rejection_sampling_sft,
    sft_train,
)

__all__ = [
    # Substrate, trainers and Intervened PO.
    "CueDetector",
    "DPOConfig",
    "GRPOConfig",
    "IntervenedPOConfig",
    "InterventionStats",
    "PreferencePair",
    "ProgramCueDetector",
    "RejectionSamplingConfig",
    "SFTConfig",
    "TinyCausalLM",
    "TinyLMConfig",
    "Tokenizer",
    "TrainLog",
    "build_benign_pairs",
    "build_intervened_pairs",
    "completion_batch",
    "continuation_safety",
    "divergence_mask",
    "dpo_loss",
    "dpo_train",
    "frozen_copy",
    "grpo_advantages",
    "grpo_loss",
    "grpo_train",
    "intervened_po",
    "intervened_po_loss",
    "masked_nll",
    "pad_right",
    "rejection_sampling_sft",
    "sample",
    "sequence_logps",
    "sft_train",
    "step_logps",
    "token_logps",
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

# GRPO-Guard and Flow-GRPO on a rectified-flow policy (guardopt.align.{flow,grpo_guard}).
from guardopt.align.flow import (  # noqa: E402
    FlowConfig,
    SDETrajectory,
    VelocityMLP,
    fit_rectified_flow,
    gaussian_step_logp,
    ode_sample,
    sde_sample,
    sde_sigmas,
    sde_step_mean,
    time_grid,
)
from guardopt.align.grpo_guard import (  # noqa: E402
    FlowGRPOConfig,
    FlowPolicyLog,
    GRPOGuardConfig,
    clipped_objective,
    flow_grpo_loss,
    grpo_guard_loss,
    normalized_log_ratio,
    ratio_bias,
    step_weights,
    train_flow_policy,
)

__all__ += [
    "FlowConfig",
    "FlowGRPOConfig",
    "FlowPolicyLog",
    "GRPOGuardConfig",
    "SDETrajectory",
    "VelocityMLP",
    "clipped_objective",
    "fit_rectified_flow",
    "flow_grpo_loss",
    "gaussian_step_logp",
    "grpo_guard_loss",
    "normalized_log_ratio",
    "ode_sample",
    "ratio_bias",
    "sde_sample",
    "sde_sigmas",
    "sde_step_mean",
    "step_weights",
    "time_grid",
    "train_flow_policy",
]

# RiskPO (mixed value-at-risk objective with question bundling).
from guardopt.align.riskpo import (  # noqa: E402  (after the blocks above)
    QuantileTracker,
    RiskPOConfig,
    bundle_scores,
    mvar,
    mvar_advantages,
    riskpo_advantages,
    riskpo_train,
    token_entropy,
)

__all__ += [
    "QuantileTracker",
    "RiskPOConfig",
    "bundle_scores",
    "mvar",
    "mvar_advantages",
    "riskpo_advantages",
    "riskpo_train",
    "token_entropy",
]

# EMPG (entropy-modulated policy gradients) and GRPO on multi-step text agents.
from guardopt.align.empg import (  # noqa: E402 (one block per family, appended)
    AgentGRPOConfig,
    EMPGConfig,
    Rollout,
    TextEnv,
    agent_grpo_train,
    empg_advantages,
    evaluate_success,
    rollout,
    step_entropies,
    token_entropies,
)

__all__ += [
    "AgentGRPOConfig",
    "EMPGConfig",
    "Rollout",
    "TextEnv",
    "agent_grpo_train",
    "empg_advantages",
    "evaluate_success",
    "rollout",
    "step_entropies",
    "token_entropies",
]

# CALM (corrective hints at the first flaw, kept traces for SFT, then GRPO).
from guardopt.align.calm import (  # noqa: E402
    CALMConfig,
    CALMStats,
    CALMTrace,
    Intervener,
    Intervention,
    ProgramIntervener,
    RandomPositionIntervener,
    build_calm_traces,
    calm_sft,
    hint_token_count,
)

__all__ += [
    "CALMConfig",
    "CALMStats",
    "CALMTrace",
    "Intervener",
    "Intervention",
    "ProgramIntervener",
    "RandomPositionIntervener",
    "build_calm_traces",
    "calm_sft",
    "hint_token_count",
]

# Safe RLHF(-V): PPO and PPO-Lagrangian, the image-conditioned wrapper, the multi-level guardrail.
from guardopt.align.guardrail import (  # noqa: E402
    SEVERITY_NAMES,
    GuardrailConfig,
    GuardrailResult,
    SeverityClassifier,
    filter_and_regenerate,
    guarded_sample,
    train_severity_classifier,
)
from guardopt.align.multimodal import (  # noqa: E402
    ImagePrefixLM,
    check_images,
    image_score_model,
)
from guardopt.align.ppo import (  # noqa: E402
    LagrangeMultiplier,
    PPOConfig,
    PPOLagConfig,
    ValueModel,
    critic_loss,
    gae,
    kl_shaped_rewards,
    lagrange_step,
    lagrangian_advantages,
    ppo_actor_loss,
    ppo_train,
)

__all__ += [
    "SEVERITY_NAMES",
    "GuardrailConfig",
    "GuardrailResult",
    "ImagePrefixLM",
    "LagrangeMultiplier",
    "PPOConfig",
    "PPOLagConfig",
    "SeverityClassifier",
    "ValueModel",
    "check_images",
    "critic_loss",
    "filter_and_regenerate",
    "gae",
    "guarded_sample",
    "image_score_model",
    "kl_shaped_rewards",
    "lagrange_step",
    "lagrangian_advantages",
    "ppo_actor_loss",
    "ppo_train",
    "train_severity_classifier",
]

# HC-RLHF (pessimistic cost bound in training, then the high-confidence safety test).
from guardopt.align.hc_rlhf import (  # noqa: E402
    HCRLHFConfig,
    HCRLHFResult,
    PolicyNotReleasedError,
    Scorer,
    cost_upper_bound,
    dual_update,
    hc_rlhf,
    hc_rlhf_train,
    pessimism_coefficient,
    pessimistic_costs,
    reinforce_loo_loss,
    safety_test_policy,
)

__all__ += [
    "HCRLHFConfig",
    "HCRLHFResult",
    "PolicyNotReleasedError",
    "Scorer",
    "cost_upper_bound",
    "dual_update",
    "hc_rlhf",
    "hc_rlhf_train",
    "pessimism_coefficient",
    "pessimistic_costs",
    "reinforce_loo_loss",
    "safety_test_policy",
]

# Reward, cost and moderation models (Bradley–Terry, Safe RLHF's cost loss, severity classifiers).
from guardopt.align.score_models import (  # noqa: E402
    Comparison,
    ScoreModel,
    ScoreTrainConfig,
    bradley_terry_loss,
    cost_model_loss,
    score_completions,
    train_classifier,
    train_cost_model,
    train_reward_model,
)

__all__ += [
    "Comparison",
    "ScoreModel",
    "ScoreTrainConfig",
    "bradley_terry_loss",
    "cost_model_loss",
    "score_completions",
    "train_classifier",
    "train_cost_model",
    "train_reward_model",
]
