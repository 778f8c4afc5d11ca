"""Reward, cost and moderation models on the tiny transformer backbone: Bradley–Terry, Safe RLHF's cost loss.

Safe RLHF (Dai et al., 2024, arXiv 2310.12773), Safe RLHF-V (arXiv 2503.17682) and HC-RLHF
(arXiv 2506.08266) decouple human preferences into helpfulness and harmlessness and learn one model
for each: a reward model ``R`` fitted with the Bradley–Terry loss on helpfulness comparisons, and a
cost model ``C`` fitted on harmlessness comparisons plus a sign term per response, so that ``C > 0``
means unsafe and ``C < 0`` safe. A guardrail (Safe RLHF-V's multi-level Beaver-Guard-V) is a
classifier of the response into severity levels. All three are a `ScoreModel`: the `TinyCausalLM`
backbone with a linear head read at each sequence's last real token, initialized from the SFT
policy's backbone as these papers do.

The losses are pure functions (hand-checked in ``tests/align/test_score_models.py``):

* `bradley_terry_loss`: ``mean(−log σ(s_chosen − s_rejected))``.
* `cost_model_loss`: ``mean(−log σ(c_unsafer − c_safer) − log σ(y_unsafer·c_unsafer)
  − log σ(y_safer·c_safer))`` with ``y = +1`` for an unsafe response and ``−1`` for a safe one.

Image-conditioned models (Safe RLHF-V's multimodal reward and cost models) use the same classes and
trainers: a `ScoreModel` built on an `guardopt.align.multimodal.ImagePrefixLM` backbone, with one
image per example passed as ``images``; the trainers and `score_completions` bind each minibatch's
images around its forward passes.

Shapes: ``B`` sequences, ``T`` positions, ``K`` outputs of the head, ``d`` image features.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from guardopt.align.model import TinyCausalLM, TinyLMConfig, pad_right
from guardopt.align.multimodal import check_images
from guardopt.align.trainers import TrainLog, _step
from guardopt.core.errors import InputDataError, InvalidParameterError, check_in_range, check_int


class Comparison(Protocol):
    """Two completions of one prompt with helpfulness and safety labels.

    `guardopt.problems.safe_steps.SafetyPreference` is one; any object with these attributes will do
    (e.g. one whose prompt also carries an image).
    """

    @property
    def prompt(self) -> Any: ...
    @property
    def a(self) -> Sequence[str]: ...
    @property
    def b(self) -> Sequence[str]: ...
    @property
    def helpful_winner(self) -> int: ...
    @property
    def safer_winner(self) -> int: ...
    @property
    def severity_a(self) -> int: ...
    @property
    def severity_b(self) -> int: ...

__all__ = [
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


class ScoreModel(nn.Module):
    """A transformer backbone with a linear head on the last real token: a reward, cost or classifier model.

    Args:
        config: The backbone's architecture (the same as a `TinyCausalLM`'s).
        n_outputs: Outputs of the head: 1 for a scalar score, ``K`` for a ``K``-class classifier.
        seed: Seed of the initial weights.
        backbone: A backbone to use instead of a new `TinyCausalLM` of ``config`` (any module with
            ``hidden_states(ids) -> (B, T, d_model)``, e.g. an image-conditioned
            `guardopt.align.multimodal.ImagePrefixLM`); it is used as given, not copied.
    """

    def __init__(self, config: TinyLMConfig, n_outputs: int = 1, seed: int = 0, backbone: nn.Module | None = None
                 ) -> None:
        super().__init__()
        self.n_outputs = check_int(n_outputs, "n_outputs", "ScoreModel", 1)
        if backbone is not None and not callable(getattr(backbone, "hidden_states", None)):
            raise InvalidParameterError("backbone", "ScoreModel", "a module with a hidden_states(ids) method",
                                        type(backbone).__name__)
        self.backbone: Any = TinyCausalLM(config, seed=seed) if backbone is None else backbone
        self.head = nn.Linear(config.d_model, self.n_outputs)
        gen = torch.Generator().manual_seed(int(seed) + 1)
        with torch.no_grad():
            self.head.weight.copy_(torch.randn(self.head.weight.shape, generator=gen) * 0.02)
            self.head.bias.zero_()

    @classmethod
    def from_policy(cls, policy: TinyCausalLM, n_outputs: int = 1, seed: int = 0) -> ScoreModel:
        """A score model whose backbone is a copy of a (pre-trained) policy's; only the head is new."""
        if not isinstance(policy, TinyCausalLM):
            raise InvalidParameterError("policy", "ScoreModel.from_policy", "a TinyCausalLM", type(policy).__name__)
        model = cls(policy.config, n_outputs, seed)
        model.backbone.load_state_dict(policy.state_dict())
        return model

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Scores ``(B,)`` (one output) or logits ``(B, K)`` read at position ``lengths − 1`` of ``ids (B, T)``."""
        lengths = torch.as_tensor(lengths, dtype=torch.long)
        if lengths.shape != (ids.shape[0],) or bool((lengths < 1).any()) or bool((lengths > ids.shape[1]).any()):
            raise InputDataError(f"ScoreModel: 'lengths' must hold one length in [1, {ids.shape[1]}] per "
                                 f"sequence. Got {lengths.tolist()}.")
        h = self.backbone.hidden_states(ids)
        last = h[torch.arange(ids.shape[0]), lengths - 1]
        out = self.head(last)
        return out[:, 0] if self.n_outputs == 1 else out


def _sequences(prefixes: Sequence[Sequence[int]], completions: Sequence[Sequence[int]]
               ) -> tuple[torch.Tensor, torch.Tensor]:
    if len(prefixes) != len(completions):
        raise InputDataError(f"score_models: {len(prefixes)} prefixes but {len(completions)} completions.")
    if not prefixes:
        raise InputDataError("score_models: no sequences.")
    seqs = [list(p) + list(c) for p, c in zip(prefixes, completions)]
    if any(not s for s in seqs):
        raise InputDataError("score_models: an empty sequence cannot be scored.")
    return pad_right(seqs), torch.tensor([len(s) for s in seqs])


def score_completions(model: ScoreModel, prefixes: Sequence[Sequence[int]], completions: Sequence[Sequence[int]],
                      batch_size: int = 256, images: Any = None) -> torch.Tensor:
    """Scores ``(B,)`` (or logits ``(B, K)``) of ``prefix ⊕ completion`` id lists, without gradient.

    ``images`` ``(B, d)``: one image per sequence, for an image-conditioned backbone.
    """
    batch_size = check_int(batch_size, "batch_size", "score_completions", 1)
    ids, lengths = _sequences(prefixes, completions)
    imgs = _images(model, images, len(ids), "score_completions")
    model.eval()
    with torch.no_grad():
        parts = []
        for i in range(0, len(ids), batch_size):
            with _bound(model, imgs, list(range(i, min(i + batch_size, len(ids))))):
                parts.append(model(ids[i: i + batch_size], lengths[i: i + batch_size]))
    return torch.cat(parts)


def _images(model: ScoreModel, images: Any, n: int, owner: str) -> torch.Tensor | None:
    """``images`` checked against the backbone (one ``(d,)`` row per example), or None for a text-only run."""
    if images is None:
        return None
    d = getattr(model.backbone, "d_image", None)
    if d is None or not callable(getattr(model.backbone, "conditioned", None)):
        raise InvalidParameterError("images", owner, "None for a backbone that reads no images",
                                    type(model.backbone).__name__)
    imgs = check_images(images, int(d), owner)
    if imgs.shape[0] != n:
        raise InputDataError(f"{owner}: 'images' holds {imgs.shape[0]} rows for {n} examples.")
    return imgs


def _bound(model: ScoreModel, images: torch.Tensor | None, idx: list[int]) -> contextlib.AbstractContextManager[Any]:
    """The minibatch's images bound to the backbone for the passes inside the block (nothing without images)."""
    return contextlib.nullcontext() if images is None else model.backbone.conditioned(images[idx])


def _check_finite(owner: str, **tensors: torch.Tensor) -> None:
    for name, t in tensors.items():
        if not bool(torch.isfinite(t).all()):
            raise InputDataError(f"{owner}: '{name}' holds non-finite scores.")


def bradley_terry_loss(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    """Mean ``−log σ(chosen − rejected)`` over pairs (scores of shape ``(B,)``)."""
    if chosen.shape != rejected.shape or chosen.ndim != 1 or chosen.numel() == 0:
        raise InputDataError(f"bradley_terry_loss: 'chosen' and 'rejected' must be non-empty (B,) tensors of "
                             f"one shape. Got {tuple(chosen.shape)} and {tuple(rejected.shape)}.")
    _check_finite("bradley_terry_loss", chosen=chosen, rejected=rejected)
    return -F.logsigmoid(chosen - rejected).mean()


def cost_model_loss(c_unsafer: torch.Tensor, c_safer: torch.Tensor, unsafer_unsafe: torch.Tensor,
                    safer_unsafe: torch.Tensor) -> torch.Tensor:
    """Safe RLHF's cost-model loss: the pairwise term plus a sign term per response.

    Args:
        c_unsafer: Costs ``(B,)`` of the response labelled less safe.
        c_safer: Costs ``(B,)`` of the response labelled safer.
        unsafer_unsafe: Booleans ``(B,)``: whether the less safe response is unsafe.
        safer_unsafe: Booleans ``(B,)``: whether the safer response is unsafe.

    Returns:
        ``mean(−log σ(c_unsafer − c_safer) − log σ(y_u·c_unsafer) − log σ(y_s·c_safer))``, with
        ``y = +1`` for an unsafe response and ``−1`` for a safe one (so ``C > 0`` means unsafe).
    """
    shapes = {tuple(t.shape) for t in (c_unsafer, c_safer, unsafer_unsafe, safer_unsafe)}
    if len(shapes) != 1 or c_unsafer.ndim != 1 or c_unsafer.numel() == 0:
        raise InputDataError("cost_model_loss: all four arguments must be non-empty (B,) tensors of one shape.")
    _check_finite("cost_model_loss", c_unsafer=c_unsafer, c_safer=c_safer)
    for name, lab in (("unsafer_unsafe", unsafer_unsafe), ("safer_unsafe", safer_unsafe)):
        # A label is unsafe or safe: 0.5 would silently drop the sign term, NaN would poison the loss.
        if not bool(((lab == 0) | (lab == 1)).all()):
            raise InputDataError(f"cost_model_loss: '{name}' must hold booleans (or 0/1).")
    y_u = unsafer_unsafe.to(c_unsafer.dtype) * 2.0 - 1.0
    y_s = safer_unsafe.to(c_safer.dtype) * 2.0 - 1.0
    return (-F.logsigmoid(c_unsafer - c_safer) - F.logsigmoid(y_u * c_unsafer)
            - F.logsigmoid(y_s * c_safer)).mean()


@dataclass(frozen=True)
class ScoreTrainConfig:
    """Training of a `ScoreModel` (Adam on shuffled minibatches).

    Args:
        epochs: Passes over the data.
        batch_size: Examples (pairs, for the pairwise losses) per step.
        lr: Adam learning rate.
        weight_decay: Adam's (L2) weight decay.
        grad_clip: Gradient-norm clip.
    """

    epochs: int = 3
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        check_int(self.epochs, "epochs", "ScoreTrainConfig", 1)
        check_int(self.batch_size, "batch_size", "ScoreTrainConfig", 1)
        check_in_range(self.lr, "lr", "ScoreTrainConfig", 0.0)
        check_in_range(self.weight_decay, "weight_decay", "ScoreTrainConfig", 0.0, low_open=False)
        check_in_range(self.grad_clip, "grad_clip", "ScoreTrainConfig", 0.0)


def _batches(n: int, config: ScoreTrainConfig, gen: torch.Generator) -> list[list[int]]:
    out = []
    for _ in range(config.epochs):
        order = torch.randperm(n, generator=gen).tolist()
        out += [order[i: i + config.batch_size] for i in range(0, n, config.batch_size)]
    return out


def _fit(model: ScoreModel, n: int, loss_of: Callable[[list[int]], torch.Tensor], config: ScoreTrainConfig,
         seed: int, images: torch.Tensor | None = None) -> TrainLog:
    if n == 0:
        raise InputDataError("score_models: no training examples.")
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    log = TrainLog()
    model.train()
    for step, idx in enumerate(_batches(n, config, gen), start=1):
        with _bound(model, images, idx):
            log.rows.append({"step": float(step), "loss": _step(model, opt, loss_of(idx), config.grad_clip)})
    model.eval()
    return log


def _pair_tensors(pairs: Sequence[Comparison], encode: Callable[[Any], list[int]],
                  word_ids: Callable[[Sequence[str]], list[int]]
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    prefixes = [encode(p.prompt) for p in pairs]
    a_ids, a_len = _sequences(prefixes, [word_ids(p.a) for p in pairs])
    b_ids, b_len = _sequences(prefixes, [word_ids(p.b) for p in pairs])
    return a_ids, a_len, b_ids, b_len


def train_reward_model(model: ScoreModel, pairs: Sequence[Comparison],
                       encode: Callable[[Any], list[int]], word_ids: Callable[[Sequence[str]], list[int]],
                       config: ScoreTrainConfig, seed: int, images: Any = None) -> TrainLog:
    """Fit a reward model on the pairs' helpfulness labels with the Bradley–Terry loss.

    Args:
        model: A one-output `ScoreModel` (trained in place).
        pairs: `Comparison` s, e.g. `SafetyPreference` s (``helpful_winner`` is the label).
        encode: Prompt → ids (with BOS).
        word_ids: Completion words → ids (e.g. ``Tokenizer.encode``).
        config: The run.
        seed: Seed of the minibatch order.
        images: ``(N, d)``: one image per pair, for an image-conditioned backbone (None: text only).
    """
    if model.n_outputs != 1:
        raise InvalidParameterError("model", "train_reward_model", "a one-output ScoreModel", model.n_outputs)
    a_ids, a_len, b_ids, b_len = _pair_tensors(pairs, encode, word_ids)
    b_wins = torch.tensor([p.helpful_winner == 1 for p in pairs])

    def loss(idx: list[int]) -> torch.Tensor:
        sa, sb = model(a_ids[idx], a_len[idx]), model(b_ids[idx], b_len[idx])
        w = b_wins[idx]
        return bradley_terry_loss(torch.where(w, sb, sa), torch.where(w, sa, sb))

    return _fit(model, len(pairs), loss, config, seed, _images(model, images, len(pairs), "train_reward_model"))


def train_cost_model(model: ScoreModel, pairs: Sequence[Comparison],
                     encode: Callable[[Any], list[int]], word_ids: Callable[[Sequence[str]], list[int]],
                     config: ScoreTrainConfig, seed: int, unsafe_from: int = 1, images: Any = None) -> TrainLog:
    """Fit a cost model on the pairs' safety labels with `cost_model_loss`.

    A response counts as unsafe when its severity is at least ``unsafe_from`` (1: any harm). The
    sign labels come from the stored severities; the pairwise label is ``safer_winner`` (which
    carries the annotators' noise). ``images`` as in `train_reward_model`.
    """
    if model.n_outputs != 1:
        raise InvalidParameterError("model", "train_cost_model", "a one-output ScoreModel", model.n_outputs)
    unsafe_from = check_int(unsafe_from, "unsafe_from", "train_cost_model", 1)
    a_ids, a_len, b_ids, b_len = _pair_tensors(pairs, encode, word_ids)
    a_safer = torch.tensor([p.safer_winner == 0 for p in pairs])
    a_unsafe = torch.tensor([p.severity_a >= unsafe_from for p in pairs])
    b_unsafe = torch.tensor([p.severity_b >= unsafe_from for p in pairs])

    def loss(idx: list[int]) -> torch.Tensor:
        ca, cb = model(a_ids[idx], a_len[idx]), model(b_ids[idx], b_len[idx])
        s = a_safer[idx]
        return cost_model_loss(torch.where(s, cb, ca), torch.where(s, ca, cb),
                               torch.where(s, b_unsafe[idx], a_unsafe[idx]),
                               torch.where(s, a_unsafe[idx], b_unsafe[idx]))

    return _fit(model, len(pairs), loss, config, seed, _images(model, images, len(pairs), "train_cost_model"))


def train_classifier(model: ScoreModel, prefixes: Sequence[Sequence[int]], completions: Sequence[Sequence[int]],
                     labels: Sequence[int], config: ScoreTrainConfig, seed: int, images: Any = None) -> TrainLog:
    """Fit a ``K``-class `ScoreModel` (e.g. severity levels) with cross-entropy on ``prefix ⊕ completion``.

    ``images`` ``(N, d)``: one image per sequence, for an image-conditioned backbone.
    """
    if model.n_outputs < 2:
        raise InvalidParameterError("model", "train_classifier", "a ScoreModel with n_outputs ≥ 2", model.n_outputs)
    ids, lengths = _sequences(prefixes, completions)
    y = torch.as_tensor(list(labels), dtype=torch.long)
    if y.shape != (len(ids),) or bool((y < 0).any()) or bool((y >= model.n_outputs).any()):
        raise InputDataError(f"train_classifier: 'labels' must hold one class in [0, {model.n_outputs}) per "
                             "sequence.")
    counts = torch.bincount(y, minlength=model.n_outputs).clamp_min(1).to(torch.float32)
    # Class-balanced weights: severe harm is the rare class, and a guardrail must not ignore it.
    weight = counts.sum() / (model.n_outputs * counts)

    def loss(idx: list[int]) -> torch.Tensor:
        return F.cross_entropy(model(ids[idx], lengths[idx]), y[idx], weight=weight)

    return _fit(model, len(ids), loss, config, seed, _images(model, images, len(ids), "train_classifier"))

