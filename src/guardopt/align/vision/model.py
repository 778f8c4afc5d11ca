"""A tiny CLIP-style dual encoder: a small CNN image tower and a small text transformer.

Both towers end in attention blocks whose query, key and value projections are ``nn.Linear``
modules named ``q``, ``k`` and ``v``, so peft's LoRA can target them by name in both towers (the
CLIP-LoRA convention GLAD builds on). Embeddings are L2-normalized; similarities are scaled by a
learned inverse temperature ``logit_scale``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from guardopt.align.vision.config import DualEncoderConfig

__all__ = ["Attention", "Block", "DualEncoder", "ImageTower", "TextTower"]


class Attention(nn.Module):
    """Multi-head self-attention with separate ``q``, ``k``, ``v`` and ``o`` linear layers."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.k = nn.Linear(width, width)
        self.v = nn.Linear(width, width)
        self.o = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        """``x``: ``(B, T, d)``; ``pad``: ``(B, T)`` True where a token is padding. Returns ``(B, T, d)``."""
        b, t, d = x.shape
        h = self.heads

        def split(z: torch.Tensor) -> torch.Tensor:
            return z.view(b, t, h, d // h).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // h)  # (B, h, T, T)
        if pad is not None:
            scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v
        return self.o(out.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    """Pre-norm transformer block: attention and a 2-layer MLP, each with a residual."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), pad)
        return x + self.mlp(self.ln2(x))


class TextTower(nn.Module):
    """Token + position embeddings, transformer blocks, masked mean pooling, linear projection."""

    def __init__(self, cfg: DualEncoderConfig) -> None:
        super().__init__()
        self.tok = nn.Embedding(cfg.vocab_size, cfg.width, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(cfg.max_tokens, cfg.width) * 0.02)
        self.blocks = nn.ModuleList(Block(cfg.width, cfg.heads) for _ in range(cfg.text_layers))
        self.ln = nn.LayerNorm(cfg.width)
        self.proj = nn.Linear(cfg.width, cfg.embed_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens``: ``(B, T)`` int64, 0 = padding. Returns ``(B, embed_dim)``."""
        pad = tokens == 0
        x = self.tok(tokens) + self.pos[: tokens.shape[1]]
        for blk in self.blocks:
            x = blk(x, pad)
        keep = (~pad).unsqueeze(-1).to(x.dtype)
        pooled = (self.ln(x) * keep).sum(1) / keep.sum(1).clamp_min(1.0)
        return self.proj(pooled)


class ImageTower(nn.Module):
    """Three convolutions (16 → 8 → 4 → 4 pixels), one attention block over the 16 cells, mean pool, projection."""

    def __init__(self, cfg: DualEncoderConfig) -> None:
        super().__init__()
        c1, c2, c3 = cfg.image_channels
        self.conv = nn.Sequential(
            nn.Conv2d(3, c1, 4, padding=1, stride=2), nn.ReLU(),
            nn.Conv2d(c1, c2, 3, padding=1, stride=2), nn.ReLU(),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
        )
        self.embed = nn.Linear(c3, cfg.width)
        self.pos = nn.Parameter(torch.randn(16, cfg.width) * 0.02)
        self.block = Block(cfg.width, cfg.heads)
        self.ln = nn.LayerNorm(cfg.width)
        self.proj = nn.Linear(cfg.width, cfg.embed_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``images``: ``(B, 3, 16, 16)``. Returns ``(B, embed_dim)``."""
        f = self.conv(images)  # (B, c3, 4, 4)
        x = self.embed(f.flatten(2).transpose(1, 2)) + self.pos  # (B, 16, d)
        x = self.block(x)
        return self.proj(self.ln(x).mean(1))


class DualEncoder(nn.Module):
    """Image and text towers with a shared, normalized embedding space."""

    def __init__(self, cfg: DualEncoderConfig, temperature: float = 0.1) -> None:
        super().__init__()
        self.cfg = cfg
        self.image = ImageTower(cfg)
        self.text = TextTower(cfg)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)))

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """Unit-norm image embeddings, ``(B, embed_dim)``."""
        return F.normalize(self.image(images), dim=-1)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """Unit-norm caption embeddings, ``(B, embed_dim)``."""
        return F.normalize(self.text(tokens), dim=-1)

    def logits(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Scaled cosine similarities, ``(n_images, n_captions)``."""
        scale = self.logit_scale.clamp(max=math.log(100.0)).exp()
        return scale * self.encode_image(images) @ self.encode_text(tokens).T

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return self.logits(images, tokens)
