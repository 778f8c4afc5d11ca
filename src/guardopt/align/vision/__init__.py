"""A tiny from-scratch CLIP-style dual encoder and its few-shot tuning by LoRA and by GLAD.

Peng, Wang, Liu & Chen, "GLAD: Generalizable Tuning for Vision-Language Models" (arXiv 2507.13089):
LoRA on the attention projections of both towers, tuned few-shot, with a gradient regularizer that
steers each gradient towards SAM's (`guardopt.optim.glad`). Here the towers are tiny (a small CNN
and a 2-layer text transformer, `guardopt.align.vision.model`) and pre-trained from scratch on the
synthetic `guardopt.problems.shapes_clip` images, since no CLIP weights are available.

The configs are importable without torch; the model and training names load torch (and peft, for
tuning) on first access. Install with ``pip install guardopt[vision]``.
"""

from __future__ import annotations

import importlib
from typing import Any

from guardopt.align.vision.config import DualEncoderConfig, GLADTuningConfig, LoRATuningConfig, PretrainConfig

__all__ = [
    "LORA_TARGETS",
    "DualEncoder",
    "DualEncoderConfig",
    "GLADTuningConfig",
    "LoRATuningConfig",
    "PretrainConfig",
    "accuracy",
    "add_lora",
    "clip_loss",
    "pretrain",
    "tokenize",
    "tune",
    "zero_shot_accuracy",
]

_LAZY = {
    "DualEncoder": "guardopt.align.vision.model",
    "LORA_TARGETS": "guardopt.align.vision.training",
    "accuracy": "guardopt.align.vision.training",
    "add_lora": "guardopt.align.vision.training",
    "clip_loss": "guardopt.align.vision.training",
    "pretrain": "guardopt.align.vision.training",
    "tokenize": "guardopt.align.vision.training",
    "tune": "guardopt.align.vision.training",
    "zero_shot_accuracy": "guardopt.align.vision.training",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'guardopt.align.vision' has no attribute {name!r}")
