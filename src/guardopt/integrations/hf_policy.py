"""A Hugging Face causal LM driven by guardopt's own trainers and sampler, and tiny offline Llamas.

`HFPolicy` wraps any ``transformers`` causal LM so that it has the interface
`guardopt.align.trainers` and `guardopt.align.model.sample` use: ``policy(ids)`` returns
next-token logits ``(B, T, V)`` (float32) and ``policy.forward_cached(ids, cache)`` continues from
a key/value cache (the model's own ``cache``). The wrapped model stays an ordinary
``PreTrainedModel`` (``policy.lm``), so the *same weights* can be handed to TRL's trainers and to
guardopt's, which is what a cross-check of the two needs.

`tiny_llama` builds a small random ``LlamaForCausalLM`` (seeded, never downloaded) and
`word_tokenizer` a ``PreTrainedTokenizerFast`` over a word vocabulary (one id per
whitespace-separated word, the ids of `guardopt.align.tokenizer.Tokenizer`), so TRL can tokenize
the SafeSteps task offline. Needs ``guardopt[trl]`` (transformers, tokenizers); imported lazily.

Shapes: ``B`` sequences, ``T`` positions, ``V`` vocabulary words. Like `TinyCausalLM`, the policy is
called without an attention mask on right-padded ids: with causal attention the padding never
changes the logits of the positions before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from guardopt.core.errors import InputDataError, InvalidParameterError, check_int

__all__ = ["HFPolicy", "PolicyShape", "tiny_llama", "word_tokenizer"]


@dataclass(frozen=True)
class PolicyShape:
    """What `guardopt.align.model.sample` reads from ``model.config``: the longest sequence and the vocabulary."""

    max_len: int
    vocab_size: int


class HFPolicy(nn.Module):
    """A Hugging Face causal LM with the interface of `guardopt.align.model.TinyCausalLM`.

    Args:
        lm: A ``transformers`` causal LM (``lm(input_ids=...).logits`` is ``(B, T, V)``); trained in
            place by whichever trainer gets it.
        max_len: Longest sequence sampling may build (default: the model's
            ``max_position_embeddings``).
    """

    def __init__(self, lm: Any, max_len: int | None = None) -> None:
        super().__init__()
        if not isinstance(lm, nn.Module) or not hasattr(lm, "config"):
            raise InvalidParameterError("lm", "HFPolicy", "a transformers causal LM (an nn.Module with a config)",
                                        type(lm).__name__)
        self.lm = lm
        hf_config: Any = lm.config
        limit = int(getattr(hf_config, "max_position_embeddings", 0) or 0)
        max_len = limit if max_len is None else check_int(max_len, "max_len", "HFPolicy", 2)
        if max_len < 2:
            raise InvalidParameterError("max_len", "HFPolicy", "an integer ≥ 2 (the model has no "
                                        "max_position_embeddings; pass it)", max_len)
        self.config = PolicyShape(int(max_len), int(hf_config.vocab_size))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``(B, T, V)`` (float32) of ids ``(B, T)``."""
        self._check(ids, 0)
        return self.lm(input_ids=ids, use_cache=False).logits.float()

    def forward_cached(self, ids: torch.Tensor, cache: Any) -> tuple[torch.Tensor, Any]:
        """Logits of ``ids`` that follow the cached positions, and the extended cache (for sampling).

        ``cache`` is None or what the previous call returned (the model's own key/value cache).
        """
        self._check(ids, 0 if cache is None else int(cache.get_seq_length()))
        out = self.lm(input_ids=ids, cache=cache, use_cache=True)
        return out.logits.float(), out.cache

    def _check(self, ids: Any, start: int) -> None:
        if not isinstance(ids, torch.Tensor) or ids.ndim != 2:
            shape = tuple(ids.shape) if isinstance(ids, torch.Tensor) else type(ids).__name__
            raise InputDataError(f"HFPolicy: 'ids' must be a tensor of shape (B, T). Got {shape}.")
        if ids.dtype not in (torch.int64, torch.int32) or (ids.numel() and (int(ids.min()) < 0 or
                                                                           int(ids.max()) >= self.config.vocab_size)):
            raise InputDataError(f"HFPolicy: 'ids' must be integer ids in [0, {self.config.vocab_size}).")
        if start + ids.shape[1] > self.config.max_len:
            raise InputDataError(f"HFPolicy: sequences of {start + ids.shape[1]} tokens exceed "
                                 f"max_len={self.config.max_len}.")


def tiny_llama(vocab_size: int, seed: int, hidden_size: int = 64, layers: int = 2, heads: int = 4,
               intermediate_size: int = 176, max_len: int = 64, pad_id: int = 0, bos_id: int = 1,
               eos_id: int = 2) -> Any:
    """A small random ``LlamaForCausalLM`` (tied embeddings, no dropout), built offline from a seed.

    The defaults give about the parameter count of guardopt's ``TinyCausalLM(TinyLMConfig(27))``
    (width 64, 2 layers, 4 heads; the gated MLP's three matrices of width 176 hold as many weights
    as a plain MLP of width 256). The global torch RNG is left as it was.

    Args:
        vocab_size: Number of words.
        seed: Seed of the initial weights.
        hidden_size, layers, heads, intermediate_size: The architecture.
        max_len: ``max_position_embeddings``.
        pad_id, bos_id, eos_id: The special ids (those of `guardopt.align.tokenizer.Tokenizer`).
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    owner = "tiny_llama"
    check_int(vocab_size, "vocab_size", owner, 2)
    check_int(seed, "seed", owner, 0)
    for name, value in (("hidden_size", hidden_size), ("layers", layers), ("heads", heads),
                        ("intermediate_size", intermediate_size)):
        check_int(value, name, owner, 1)
    check_int(max_len, "max_len", owner, 2)
    if hidden_size % heads:
        raise InvalidParameterError("heads", owner, f"a divisor of hidden_size={hidden_size}", heads)
    for name, value in (("pad_id", pad_id), ("bos_id", bos_id), ("eos_id", eos_id)):
        check_int(value, name, owner, 0, vocab_size - 1)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=intermediate_size,
                      num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                      max_position_embeddings=max_len, tie_word_embeddings=True, pad_token_id=pad_id,
                      bos_token_id=bos_id, eos_token_id=eos_id, attention_dropout=0.0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = LlamaForCausalLM(cfg)
    return model


def word_tokenizer(vocab: Sequence[str], pad: str = "<pad>", bos: str = "<bos>", eos: str = "<eos>") -> Any:
    """A ``PreTrainedTokenizerFast`` with one id per whitespace-separated word of ``vocab`` (no BOS added).

    Ids equal `guardopt.align.tokenizer.Tokenizer` 's, so a text ``"<bos> Q H 3 4"`` tokenizes to
    ``Tokenizer.encode("Q H 3 4", bos=True)``. A word outside ``vocab`` becomes the ``pad`` id (the
    tokenizer's unknown token), so compare ids when the text may hold other words.
    """
    from tokenizers import Tokenizer as RawTokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit
    from transformers import PreTrainedTokenizerFast

    words = list(vocab)
    if any(not isinstance(w, str) or not w or any(c.isspace() for c in w) for w in words):
        raise InvalidParameterError("vocab", "word_tokenizer", "non-empty words without whitespace", vocab)
    if len(set(words)) != len(words):
        raise InvalidParameterError("vocab", "word_tokenizer", "words without duplicates", vocab)
    for name, w in (("pad", pad), ("bos", bos), ("eos", eos)):
        if w not in words:
            raise InvalidParameterError(name, "word_tokenizer", "a word of the vocabulary", w)
    raw = RawTokenizer(WordLevel({w: i for i, w in enumerate(words)}, unk_token=pad))
    raw.pre_tokenizer = WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=raw, pad_token=pad, bos_token=bos, eos_token=eos)
