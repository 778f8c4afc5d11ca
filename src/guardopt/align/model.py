"""A tiny causal transformer policy in plain torch: sampling, per-token and per-step log-probabilities.

No causal-LM weights can be downloaded or installed offline, so the reproductions of
`guardopt.align` pre-train this model from scratch on a synthetic task (a few thousand steps on one
CPU core). Its interface is the part of a Hugging Face causal LM that the losses need: ``model(ids)``
returns next-token logits ``(B, T, V)``. The same losses run on a real model through
`guardopt.integrations.trl`.

Shapes: ``B`` sequences, ``T`` positions, ``V`` vocabulary words. Sequences are right-padded with
id 0; with causal attention, right padding never changes the logits of the positions before it, so
no attention mask is needed for training. Sampling groups prefixes of equal length and keeps a
key/value cache, so no padding is ever attended to and each new token costs one position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from guardopt.core.errors import InputDataError, InvalidParameterError, check_in_range, check_int

__all__ = ["TinyCausalLM", "TinyLMConfig", "pad_right", "sample", "step_logps", "token_logps"]


@dataclass(frozen=True)
class TinyLMConfig:
    """Architecture of `TinyCausalLM`.

    Args:
        vocab_size: Number of words (≥ 2).
        d_model: Width of the residual stream (divisible by ``n_heads``).
        n_layers: Transformer blocks.
        n_heads: Attention heads.
        max_len: Longest sequence (prompt + completion) the position table holds.
        d_ff: Width of the feed-forward layer (default ``4·d_model``).
    """

    vocab_size: int
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    max_len: int = 40
    d_ff: int | None = None

    def __post_init__(self) -> None:
        check_int(self.vocab_size, "vocab_size", "TinyLMConfig", 2)
        check_int(self.d_model, "d_model", "TinyLMConfig", 1)
        check_int(self.n_layers, "n_layers", "TinyLMConfig", 1)
        check_int(self.n_heads, "n_heads", "TinyLMConfig", 1)
        check_int(self.max_len, "max_len", "TinyLMConfig", 2)
        if self.d_ff is not None:
            check_int(self.d_ff, "d_ff", "TinyLMConfig", 1)
        if self.d_model % self.n_heads:
            raise InvalidParameterError("n_heads", "TinyLMConfig", f"a divisor of d_model={self.d_model}",
                                        self.n_heads)


class _Block(nn.Module):
    """Pre-LayerNorm block: causal self-attention and a GELU MLP, with an optional key/value cache."""

    def __init__(self, d: int, heads: int, d_ff: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, d_ff), nn.GELU(), nn.Linear(d_ff, d))

    def forward(self, h: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        B, T, D = h.shape
        q, k, v = self.qkv(self.ln1(h)).split(D, dim=-1)
        q, k, v = (t.view(B, T, self.heads, D // self.heads).transpose(1, 2) for t in (q, k, v))
        if cache is not None:  # new positions attend to every cached one, so no mask is needed for T = 1
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=cache is None)
        h = h + self.proj(att.transpose(1, 2).reshape(B, T, D))
        return h + self.mlp(self.ln2(h)), (k, v)


class TinyCausalLM(nn.Module):
    """Pre-LayerNorm decoder-only transformer with learned positions and tied input/output embeddings.

    Args:
        config: The architecture.
        seed: Seed of the initial weights.
    """

    def __init__(self, config: TinyLMConfig, seed: int = 0) -> None:
        super().__init__()
        self.config = config
        gen = torch.Generator().manual_seed(int(seed))
        self.tok = nn.Embedding(config.vocab_size, config.d_model)
        self.pos = nn.Embedding(config.max_len, config.d_model)
        self.blocks = nn.ModuleList(_Block(config.d_model, config.n_heads, config.d_ff or 4 * config.d_model)
                                    for _ in range(config.n_layers))
        self.norm = nn.LayerNorm(config.d_model)
        with torch.no_grad():  # seeded init, independent of the global torch RNG
            for name, p in self.named_parameters():
                if p.ndim >= 2:
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
                elif name.endswith("bias"):
                    p.zero_()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``(B, T, V)`` of ids ``(B, T)``."""
        return self.forward_cached(ids, None)[0]

    def forward_cached(self, ids: torch.Tensor, cache: list[tuple[torch.Tensor, torch.Tensor]] | None
                       ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Logits of ``ids`` that follow the cached positions, and the extended cache (for sampling)."""
        h, new_cache = self.hidden_cached(ids, cache)
        return h @ self.tok.weight.T, new_cache

    def hidden_states(self, ids: torch.Tensor) -> torch.Tensor:
        """The final-LayerNorm hidden states ``(B, T, d_model)`` of ``ids`` (what score heads read)."""
        return self.hidden_cached(ids, None)[0]

    def hidden_cached(self, ids: torch.Tensor, cache: list[tuple[torch.Tensor, torch.Tensor]] | None,
                      prefix: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Hidden states of ``ids`` that follow the cached positions, and the extended cache.

        ``prefix`` ``(B, P, d_model)``: embeddings placed before the tokens (e.g. a projected image), at
        the first ``P`` positions; the returned states then cover the ``P + T`` positions. Only on a
        call without a cache (later calls find the prefix in it).
        """
        if ids.ndim != 2:
            raise InputDataError(f"TinyCausalLM: 'ids' must have shape (B, T). Got {tuple(ids.shape)}.")
        if prefix is not None and cache is not None:
            raise InputDataError("TinyCausalLM: a prefix goes in the first call; the cache already holds it.")
        V = self.config.vocab_size
        if ids.dtype not in (torch.int64, torch.int32) or (ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= V)):
            raise InputDataError(f"TinyCausalLM: 'ids' must be integer ids in [0, {V}).")
        start = 0 if cache is None else cache[0][0].shape[2]
        h = self.tok(ids)
        if prefix is not None:
            h = torch.cat([prefix, h], dim=1)
        T = h.shape[1]
        if start + T > self.config.max_len:
            raise InputDataError(f"TinyCausalLM: sequences of {start + T} tokens exceed "
                                 f"max_len={self.config.max_len}.")
        h = h + self.pos(torch.arange(start, start + T, device=ids.device))[None]
        new_cache = []
        for i, block in enumerate(self.blocks):
            h, kv = block(h, None if cache is None else cache[i])
            new_cache.append(kv)
        return self.norm(h), new_cache


def pad_right(seqs: Sequence[Sequence[int]], pad_id: int = 0) -> torch.Tensor:
    """Stack id lists into a ``(B, T_max)`` long tensor, right-padded with ``pad_id``."""
    if not seqs:
        raise InputDataError("pad_right: no sequences.")
    T = max(len(s) for s in seqs)
    out = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
    return out


def token_logps(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """Log-probability of each token given the ones before it: ``(B, T−1)``, entry t is ``log p(ids[:, t+1])``."""
    logits = model(ids[:, :-1])
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)


def step_logps(tok_logps: torch.Tensor, step_ids: torch.Tensor, n_steps: int) -> torch.Tensor:
    """Sum per-token log-probabilities within each reasoning step.

    Args:
        tok_logps: ``(B, T)`` per-token log-probabilities.
        step_ids: ``(B, T)`` the step index of each token (``-1`` for tokens outside every step).
        n_steps: Number of steps ``S`` to return.

    Returns:
        ``(B, S)``: entry ``s`` is the log-probability of step ``s`` (0 for steps a sequence lacks).
    """
    if tok_logps.shape != step_ids.shape:
        raise InputDataError("step_logps: 'tok_logps' and 'step_ids' must share one shape.")
    n_steps = check_int(n_steps, "n_steps", "step_logps", 1)
    keep = (step_ids >= 0) & (step_ids < n_steps)
    idx = torch.where(keep, step_ids, torch.zeros_like(step_ids)).long()
    vals = torch.where(keep, tok_logps, torch.zeros_like(tok_logps))
    return torch.zeros(tok_logps.shape[0], n_steps, dtype=tok_logps.dtype).scatter_add(1, idx, vals)


@torch.no_grad()
def sample(model: nn.Module, prefixes: Sequence[Sequence[int]], max_new: int, eos_id: int,
           generator: torch.Generator, temperature: float = 1.0, batch_size: int = 1024) -> list[list[int]]:
    """Sample a continuation of each prefix until EOS or ``max_new`` tokens.

    Sampling is by inverse CDF from one uniform per (prefix, position), drawn up front in prefix
    order: two policies sampled with equal generator states on the same prefixes use common random
    numbers, so differences between them are paired (and have far less variance than independent
    draws).

    Args:
        model: A `TinyCausalLM`, or any module with its ``forward_cached(ids, cache) -> (logits, cache)``
            and ``config.max_len`` (the key/value cache makes each new token cost one position).
        prefixes: Id lists (any lengths; each group of equal length is sampled as one batch).
        max_new: Most new tokens per continuation.
        eos_id: The end token (kept at the end of a finished continuation).
        generator: Torch random generator (the only source of randomness).
        temperature: Softmax temperature (> 0).
        batch_size: Most prefixes per forward pass.

    Returns:
        The new tokens of each prefix, in the order of ``prefixes``.
    """
    max_new = check_int(max_new, "max_new", "sample", 1)
    check_in_range(temperature, "temperature", "sample", 0.0)
    batch_size = check_int(batch_size, "batch_size", "sample", 1)
    if any(len(p) == 0 for p in prefixes):
        raise InputDataError("sample: every prefix needs at least one token (e.g. BOS).")
    lm: Any = model
    vocab_size = getattr(getattr(lm, "config", None), "vocab_size", None)
    if vocab_size is not None:
        check_int(eos_id, "eos_id", "sample", 0, int(vocab_size) - 1)
    uniforms = torch.rand(len(prefixes), max_new, generator=generator)
    was_training = model.training
    model.eval()
    out: list[list[int]] = [[] for _ in prefixes]
    by_len: dict[int, list[int]] = {}
    for i, p in enumerate(prefixes):
        by_len.setdefault(len(p), []).append(i)
    for length, idx_all in sorted(by_len.items()):
        steps = min(max_new, lm.config.max_len - length)
        if steps < 1:
            raise InputDataError(f"sample: a prefix of {length} tokens leaves no room under "
                                 f"max_len={lm.config.max_len}.")
        for start in range(0, len(idx_all), batch_size):
            idx = idx_all[start: start + batch_size]
            ids = torch.as_tensor([list(prefixes[i]) for i in idx], dtype=torch.long)
            u = uniforms[idx]
            logits, cache = lm.forward_cached(ids, None)
            last = logits[:, -1]
            done = torch.zeros(len(idx), dtype=torch.bool)
            new = []
            for t in range(steps):
                cdf = torch.softmax(last.float() / temperature, dim=-1).cumsum(-1)
                nxt = torch.searchsorted(cdf, (u[:, t:t + 1] * cdf[:, -1:]).contiguous()).squeeze(-1)
                nxt = nxt.clamp_max(cdf.shape[-1] - 1)
                nxt = torch.where(done, torch.full_like(nxt, eos_id), nxt)
                new.append(nxt)
                done |= nxt == eos_id
                if bool(done.all()) or t == steps - 1:
                    break
                logits, cache = lm.forward_cached(nxt[:, None], cache)
                last = logits[:, -1]
            rows = torch.stack(new, dim=1).tolist()
            for j, i in enumerate(idx):
                seq = rows[j]
                out[i] = seq[: seq.index(eos_id) + 1] if eos_id in seq else seq
    model.train(was_training)
    return out
