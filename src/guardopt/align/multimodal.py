"""Image-conditioned tiny LMs: a feature vector through a linear projector into prefix embeddings.

Safe RLHF-V (arXiv 2503.17682) aligns multimodal models whose policy, reward model and cost model all
read the image. At CPU scale the "image" is a feature vector ``(d_image,)`` (no vision tower): a
linear projector maps it to ``n_prefix`` embeddings that are placed before the text tokens, at the
first positions of the position table, so every text token can attend to them. This exercises the
multimodal path of the trainers (images bound per row, through sampling, log-probabilities, critics
and scorers) without a vision model.

The images of a batch are *bound* for the duration of a ``with model.conditioned(images):`` block,
so the wrapped model keeps the ``model(ids) -> logits`` and ``forward_cached`` interfaces that
`guardopt.align.model.sample` and `token_logps` use. Every forward pass checks that exactly one image
is bound per row; a pass without images fails (an unconditioned call is a bug, never a silent zero image).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from guardopt.core.errors import InputDataError, InvalidParameterError, check_int

__all__ = ["ImagePrefixLM", "check_images", "image_score_model"]

#: Largest accepted magnitude of an image feature: beyond it the projected prefix's squares (in the
#: layer norms) overflow float32 and the logits turn NaN (features are unit-scale in practice).
MAX_IMAGE_ABS = 1e6


def check_images(images: Any, d_image: int, owner: str) -> torch.Tensor:
    """``images`` as a finite float tensor ``(B, d_image)``, or an `InputDataError` naming ``owner``."""
    if not isinstance(images, torch.Tensor):
        try:
            images = torch.as_tensor(images, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError) as e:
            raise InputDataError(f"{owner}: 'images' must be a (B, {d_image}) array of numbers.") from e
    if images.ndim != 2 or images.shape[1] != d_image or images.shape[0] == 0:
        raise InputDataError(f"{owner}: 'images' must have shape (B, {d_image}) with B ≥ 1. "
                             f"Got {tuple(images.shape)} instead.")
    if images.is_complex():
        raise InputDataError(f"{owner}: 'images' must be real numbers. Got a {images.dtype} tensor.")
    images = images.float()
    if not bool(torch.isfinite(images).all()):
        raise InputDataError(f"{owner}: 'images' holds NaN or infinite values.")
    if bool((images.abs() > MAX_IMAGE_ABS).any()):
        raise InputDataError(f"{owner}: 'images' must have entries within ±{MAX_IMAGE_ABS:g} (larger features "
                             f"overflow float32 in the model). Got a largest magnitude of "
                             f"{float(images.abs().max()):g}; rescale the features.")
    return images


class ImagePrefixLM(nn.Module):
    """A `TinyCausalLM` that reads ``n_prefix`` projected image embeddings before its tokens.

    Args:
        lm: The language model (its modules are used, not copied).
        d_image: Width of the image feature vector.
        n_prefix: Prefix embeddings per image.
        seed: Seed of the projector's initial weights.

    ``config`` is the wrapped model's with ``max_len`` reduced by ``n_prefix`` (the room left for text).

    Example:
        >>> import torch
        >>> from guardopt.align.model import TinyCausalLM, TinyLMConfig
        >>> m = ImagePrefixLM(TinyCausalLM(TinyLMConfig(vocab_size=8, d_model=16, n_heads=2)), d_image=3)
        >>> with m.conditioned(torch.zeros(2, 3)):
        ...     tuple(m(torch.ones(2, 5, dtype=torch.long)).shape)
        (2, 5, 8)
    """

    def __init__(self, lm: nn.Module, d_image: int = 8, n_prefix: int = 1, seed: int = 0) -> None:
        super().__init__()
        self.d_image = check_int(d_image, "d_image", "ImagePrefixLM", 1)
        self.n_prefix = check_int(n_prefix, "n_prefix", "ImagePrefixLM", 1)
        base: Any = lm
        if not isinstance(lm, nn.Module) or not hasattr(lm, "hidden_cached") or not hasattr(lm, "config"):
            raise InvalidParameterError("lm", "ImagePrefixLM", "a TinyCausalLM", type(lm).__name__)
        if self.n_prefix >= base.config.max_len - 1:
            raise InputDataError(f"ImagePrefixLM: n_prefix={n_prefix} leaves no room under max_len="
                                 f"{base.config.max_len}.")
        self.lm = lm
        self.config = dataclasses.replace(base.config, max_len=base.config.max_len - self.n_prefix)
        d = int(base.config.d_model)
        self.projector = nn.Linear(self.d_image, self.n_prefix * d)
        gen = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            # Unit-scale prefix embeddings, like a token embedding's after pre-training (a 0.02 init would keep
            # the image invisible to a pre-trained LM for many steps).
            self.projector.weight.copy_(torch.randn(self.projector.weight.shape, generator=gen) / self.d_image ** 0.5)
            self.projector.bias.zero_()
        self._images: torch.Tensor | None = None

    @contextlib.contextmanager
    def conditioned(self, images: Any) -> Iterator[ImagePrefixLM]:
        """Bind one image per row ``(B, d_image)`` for the forward passes inside the block."""
        imgs = check_images(images, self.d_image, "ImagePrefixLM.conditioned")
        prev, self._images = self._images, imgs
        try:
            yield self
        finally:
            self._images = prev

    def _prefix(self, B: int) -> torch.Tensor:
        if self._images is None:
            raise InputDataError("ImagePrefixLM: no images are bound; call the model inside "
                                 "`with model.conditioned(images):`.")
        if self._images.shape[0] != B:
            raise InputDataError(f"ImagePrefixLM: {self._images.shape[0]} images are bound for a batch of {B} rows.")
        lm: Any = self.lm
        return self.projector(self._images).view(B, self.n_prefix, lm.config.d_model)

    def _run(self, ids: torch.Tensor, cache: list[tuple[torch.Tensor, torch.Tensor]] | None
             ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        if ids.ndim != 2:
            raise InputDataError(f"ImagePrefixLM: 'ids' must have shape (B, T). Got {tuple(ids.shape)} instead.")
        lm: Any = self.lm
        B, T = ids.shape
        text_start = 0 if cache is None else cache[0][0].shape[2] - self.n_prefix
        if text_start + T > self.config.max_len:
            raise InputDataError(f"ImagePrefixLM: sequences of {text_start + T} tokens exceed "
                                 f"max_len={self.config.max_len}.")
        # The first call puts the image prefix at the first positions; later calls find it in the cache.
        h, new_cache = lm.hidden_cached(ids, cache, prefix=self._prefix(B) if cache is None else None)
        return (h[:, self.n_prefix:] if cache is None else h), new_cache

    def hidden_states(self, ids: torch.Tensor) -> torch.Tensor:
        """Final hidden states ``(B, T, D)`` of the text positions (the prefix positions dropped)."""
        return self._run(ids, None)[0]

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``(B, T, V)`` of the text positions, given the bound images."""
        return self.forward_cached(ids, None)[0]

    def forward_cached(self, ids: torch.Tensor, cache: list[tuple[torch.Tensor, torch.Tensor]] | None
                       ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Logits of ``ids`` after the cached positions (the first call puts the image prefix in the cache)."""
        h, new_cache = self._run(ids, cache)
        lm: Any = self.lm
        return h @ lm.tok.weight.T, new_cache


# --------------------------------------------------------------------------------------------------
# Image-conditioned reward and cost models
# --------------------------------------------------------------------------------------------------


def image_score_model(policy: ImagePrefixLM, n_outputs: int = 1, seed: int = 0) -> Any:
    """A `guardopt.align.score_models.ScoreModel` whose backbone is a copy of an image-conditioned policy.

    The copy keeps the policy's language model and projector (Safe RLHF-V initializes its reward and
    cost models from the SFT model); only the head is new. The trainers and `score_completions` of
    `guardopt.align.score_models` take one image per example as ``images``.
    """
    import copy

    from guardopt.align.score_models import ScoreModel

    if not isinstance(policy, ImagePrefixLM):
        raise InputDataError(f"image_score_model: 'policy' must be an ImagePrefixLM. Got {type(policy).__name__}.")
    lm: Any = policy.lm
    backbone = copy.deepcopy(policy)
    for p in backbone.parameters():
        p.requires_grad_(True)
    return ScoreModel(lm.config, n_outputs, seed, backbone=backbone)
