"""Pre-training, zero-shot classification and few-shot LoRA / GLAD tuning of the tiny dual encoder.

* `pretrain`: the CLIP contrastive loss (symmetric cross-entropy over a batch's image–caption
  similarities) on pre-training pairs.
* `zero_shot_accuracy`: classify images by their nearest class prompt ("a photo of a red circle").
* `tune`: few-shot tuning of LoRA adapters (peft ``LoraConfig`` / ``get_peft_model`` on the ``q``,
  ``k``, ``v`` projections of both towers; everything else frozen) with the CLIP-LoRA objective, the
  cross-entropy of the image-to-prompt logits over the tuning classes. A `LoRATuningConfig` steps
  AdamW on the plain gradient; a `GLADTuningConfig` wraps the same AdamW in `guardopt.optim.glad.GLAD`.

peft is imported inside `add_lora` only (``pip install guardopt[vision]``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from guardopt.align.vision.config import DualEncoderConfig, GLADTuningConfig, LoRATuningConfig, PretrainConfig
from guardopt.align.vision.model import DualEncoder
from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_int
from guardopt.optim.glad import GLAD, GLADConfig

__all__ = ["LORA_TARGETS", "accuracy", "add_lora", "clip_loss", "pretrain", "tokenize", "tune",
           "zero_shot_accuracy"]

#: The modules LoRA adapts: the query, key and value projections of every attention block.
LORA_TARGETS = ("q", "k", "v")


def tokenize(config: DualEncoderConfig, texts: Sequence[str]) -> torch.Tensor:
    """Token ids of captions under the encoder's vocabulary, ``(n, max_tokens)`` int64, right-padded with 0."""
    if not config.vocab:
        raise InvalidParameterError("vocab", "DualEncoderConfig", "the caption vocabulary to tokenize captions",
                                    config.vocab)
    index = {w: i for i, w in enumerate(config.vocab)}
    out = np.zeros((len(texts), config.max_tokens), dtype=np.int64)
    for i, text in enumerate(texts):
        words = str(text).split()
        # An empty caption (or one of padding words only) would be all padding: its attention rows are all
        # masked and its embedding NaN.
        if (not words or len(words) > config.max_tokens or any(w not in index for w in words)
                or all(index[w] == 0 for w in words)):
            raise InvalidParameterError("texts", "tokenize", f"captions of 1 to {config.max_tokens} words of "
                                        "the encoder's vocabulary (not only padding)", text)
        out[i, : len(words)] = [index[w] for w in words]
    return torch.from_numpy(out)


def _encoder_config(model: torch.nn.Module) -> DualEncoderConfig:
    # A peft wrapper forwards attribute access to the encoder it wraps.
    cfg = getattr(model, "cfg", None)
    if not isinstance(cfg, DualEncoderConfig):
        raise InvalidParameterError("model", "accuracy", "a DualEncoder (or a peft model around one)",
                                    type(model).__name__)
    return cfg


def _images(x: Any, owner: str) -> torch.Tensor:
    arr = as_float_array(x, "images", owner, finite=True)
    if arr.ndim != 4 or arr.shape[1:] != (3, 16, 16) or arr.shape[0] == 0:
        raise InputDataError(f"The 'images' argument of {owner} must have shape (n, 3, 16, 16) with n ≥ 1. "
                             f"Got shape {arr.shape} instead.")
    return torch.from_numpy(arr.astype(np.float32))


def _labels(y: Any, n: int, k: int, owner: str) -> torch.Tensor:
    arr = as_float_array(y, "labels", owner, finite=True).ravel()
    if arr.shape[0] != n or (arr.size and (np.any(arr != np.round(arr)) or arr.min() < 0 or arr.max() >= k)):
        raise InputDataError(f"The 'labels' argument of {owner} must be {n} whole numbers in [0, {k - 1}] "
                             f"(one per image, indexing the prompts). Got {arr.size} values instead.")
    return torch.from_numpy(arr.astype(np.int64))


def clip_loss(logits: torch.Tensor, caption_ids: torch.Tensor) -> torch.Tensor:
    """Symmetric contrastive loss of a batch's ``(B, B)`` image–caption logits.

    ``caption_ids``: ``(B,)``; pairs with the same caption id count as positives for each other
    (a grammar repeats captions), with the target mass spread evenly over them.
    """
    same = (caption_ids[:, None] == caption_ids[None, :]).to(logits.dtype)
    target = same / same.sum(1, keepdim=True)
    li = -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
    lt = -(target * F.log_softmax(logits.T, dim=1)).sum(1).mean()
    return 0.5 * (li + lt)


def pretrain(images: Any, captions: Sequence[str], config: PretrainConfig, seed: int) -> DualEncoder:
    """Pre-train a `DualEncoder` from scratch on image–caption pairs.

    Args:
        images: ``(n, 3, 16, 16)`` float pixels.
        captions: ``n`` captions in the words of ``config.encoder.vocab``.
        config: Sizes and optimizer settings.
        seed: Seed of the initialization and the batch order.
    """
    if not isinstance(config, PretrainConfig):
        raise InvalidParameterError("config", "pretrain", "a PretrainConfig", type(config).__name__)
    seed = check_int(seed, "seed", "pretrain", 0)
    x = _images(images, "pretrain")
    if len(captions) != x.shape[0]:
        raise InputDataError(f"The 'captions' argument of pretrain must hold one caption per image ({x.shape[0]}). "
                             f"Got {len(captions)} instead.")
    tok = tokenize(config.encoder, list(captions))
    _, cap_ids = np.unique(np.asarray(captions), return_inverse=True)
    ids = torch.from_numpy(cap_ids.astype(np.int64))
    with torch.random.fork_rng(devices=[]):  # seeded initialization without touching the global generator
        torch.manual_seed(seed)
        model = DualEncoder(config.encoder, config.temperature)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=max(config.steps, 1),
                                                pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    bs = min(config.batch_size, n)
    model.train()
    for _ in range(config.steps):
        idx = torch.randint(0, n, (bs,), generator=gen)
        loss = clip_loss(model.logits(x[idx], tok[idx]), ids[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return model


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: Any, labels: Any, prompts: Sequence[str]) -> float:
    """Share of images whose most similar prompt is their class's; labels index ``prompts``."""
    x = _images(images, "accuracy")
    y = _labels(labels, x.shape[0], len(prompts), "accuracy").numpy()
    tok = tokenize(_encoder_config(model), list(prompts))
    was = model.training
    model.eval()
    pred = model.logits(x, tok).argmax(1).numpy()  # type: ignore[operator]
    model.train(was)
    return float((pred == y).mean())


def zero_shot_accuracy(model: torch.nn.Module, data: Any) -> float:
    """`accuracy` on a `guardopt.problems.shapes_clip.LabelledImages` (its own prompts)."""
    return accuracy(model, data.images, data.labels, data.prompts)


def add_lora(model: DualEncoder, rank: int, alpha: int) -> torch.nn.Module:
    """A copy of ``model`` with peft LoRA adapters on every ``q``/``k``/``v``; base weights frozen.

    The adapters' ``B`` factors start at zero (peft's default), so the copy computes exactly what
    ``model`` does until it is tuned.
    """
    from peft import LoraConfig, get_peft_model

    rank = check_int(rank, "rank", "add_lora", 1)
    alpha = check_int(alpha, "alpha", "add_lora", 1)
    cfg = LoraConfig(r=int(rank), lora_alpha=int(alpha), target_modules=list(LORA_TARGETS), lora_dropout=0.0,
                     bias="none")
    return get_peft_model(copy.deepcopy(model), cfg)


def tune(model: DualEncoder, images: Any, labels: Any, prompts: Sequence[str],
         config: LoRATuningConfig, seed: int,
         on_epoch: Callable[[int, torch.nn.Module], None] | None = None) -> torch.nn.Module:
    """Few-shot LoRA tuning of a copy of ``model``; plain AdamW, or GLAD when ``config`` is a `GLADTuningConfig`.

    Args:
        model: The pre-trained encoder (left unchanged).
        images: ``(n, 3, 16, 16)`` tuning images; labels: ``(n,)`` indices into ``prompts``.
        prompts: One prompt per tuning class.
        config: `LoRATuningConfig` (plain LoRA) or `GLADTuningConfig` (LoRA + GLAD).
        seed: Seed of the LoRA initialization (shared by arms tuned with the same seed) and the batch order.
        on_epoch: Called as ``on_epoch(e, model)`` after epoch ``e`` (1-based), model in eval mode; the
            learning rate is constant, so the model after epoch ``e`` is the one ``epochs = e`` returns
            (hyper-parameter search over ``epochs`` can read every value off one run).

    Returns:
        The tuned peft model (callable like the encoder: ``.logits``, ``.encode_image``, ...).
    """
    if on_epoch is not None and not callable(on_epoch):
        raise InvalidParameterError("on_epoch", "tune", "a callable (epoch, model) or None", on_epoch)
    if not isinstance(config, LoRATuningConfig):
        raise InvalidParameterError("config", "tune", "a LoRATuningConfig or GLADTuningConfig",
                                    type(config).__name__)
    seed = check_int(seed, "seed", "tune", 0)
    x = _images(images, "tune")
    y = _labels(labels, x.shape[0], len(prompts), "tune")
    tok = tokenize(_encoder_config(model), list(prompts))
    # peft draws the LoRA A factors from torch's global generator: seed it, so every arm tuned with
    # the same seed starts from the same adapters (paired comparisons differ by the optimizer only).
    with torch.random.fork_rng(devices=[]):  # leave the caller's global generator as it was
        torch.manual_seed(seed)
        peft_model = add_lora(model, config.rank, config.alpha)
    params = [p for p in peft_model.parameters() if p.requires_grad]
    base = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    glad = (GLAD(base, GLADConfig(rho=config.rho, gamma=config.gamma))
            if isinstance(config, GLADTuningConfig) else None)
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    bs = min(config.batch_size, n)
    peft_model.train()
    for epoch in range(1, config.epochs + 1):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n - bs + 1, bs):
            idx = order[start:start + bs]
            xb, yb = x[idx], y[idx]

            def closure(xb: torch.Tensor = xb, yb: torch.Tensor = yb) -> torch.Tensor:
                loss = F.cross_entropy(peft_model.logits(xb, tok), yb)  # type: ignore[operator]
                loss.backward()
                return loss

            if glad is not None:
                glad.step(closure)
            else:
                base.zero_grad(set_to_none=True)
                loss = closure()
                if not torch.isfinite(loss):
                    raise InputDataError("tune: the loss is not finite")
                base.step()
        if on_epoch is not None:
            peft_model.eval()
            on_epoch(epoch, peft_model)
            peft_model.train()
    peft_model.eval()
    return peft_model
