"""Frozen, validated configurations of the tiny dual encoder, its pre-training and its few-shot tuning.

One config per method: `LoRATuningConfig` (plain LoRA) and `GLADTuningConfig` (the same LoRA tuning
plus GLAD's regularized gradient, `guardopt.optim.glad`). No torch is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from guardopt.core.errors import InvalidParameterError, check_in_range, check_int

__all__ = ["DualEncoderConfig", "GLADTuningConfig", "LoRATuningConfig", "PretrainConfig"]


@dataclass(frozen=True)
class DualEncoderConfig:
    """Sizes of the two towers.

    Args:
        width: Model width d of both towers (the attention layers' q/k/v are ``d → d``).
        embed_dim: Size of the shared image–text embedding.
        text_layers: Transformer blocks of the text tower.
        image_channels: Channels of the three convolutions of the image tower (one attention
            block over its 4×4 feature map follows).
        heads: Attention heads (must divide ``width``).
        vocab_size, max_tokens: Token vocabulary size and caption length.
        vocab: The words of the caption language, index 0 the padding token (for example
            `guardopt.problems.shapes_clip.VOCAB`); captions are tokenized word by word with it.
    """

    width: int = 32
    embed_dim: int = 32
    text_layers: int = 2
    image_channels: tuple[int, int, int] = (16, 32, 32)
    heads: int = 2
    vocab_size: int = 64
    max_tokens: int = 8
    vocab: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        owner = "DualEncoderConfig"
        check_int(self.width, "width", owner, 2, 1024)
        check_int(self.embed_dim, "embed_dim", owner, 2, 1024)
        check_int(self.text_layers, "text_layers", owner, 1, 12)
        check_int(self.heads, "heads", owner, 1, 16)
        if self.width % self.heads:
            raise InvalidParameterError("heads", owner, f"a divisor of width ({self.width})", self.heads)
        if not (isinstance(self.image_channels, tuple) and len(self.image_channels) == 3):
            raise InvalidParameterError("image_channels", owner, "a tuple of three channel counts",
                                        self.image_channels)
        for c in self.image_channels:
            check_int(c, "image_channels", owner, 1, 1024)
        check_int(self.vocab_size, "vocab_size", owner, 2)
        check_int(self.max_tokens, "max_tokens", owner, 1, 256)
        if (not isinstance(self.vocab, tuple)
                or not all(isinstance(w, str) and w and not any(c.isspace() for c in w) for w in self.vocab)
                or len(set(self.vocab)) != len(self.vocab) or len(self.vocab) > self.vocab_size):
            raise InvalidParameterError("vocab", owner, f"a tuple of at most {self.vocab_size} distinct words "
                                        "without whitespace",
                                        self.vocab)


@dataclass(frozen=True)
class PretrainConfig:
    """Contrastive (CLIP) pre-training on image–caption pairs.

    Args:
        pairs: Number of pre-training pairs drawn.
        steps: Optimizer steps (Adam).
        batch_size: Pairs per step; the contrastive loss uses the other captions of the batch as
            negatives (duplicate captions in a batch are treated as positives).
        lr: Adam learning rate.
        temperature: Initial softmax temperature of the similarity logits (learned after).
    """

    pairs: int = 6000
    steps: int = 1200
    batch_size: int = 128
    lr: float = 3e-3
    temperature: float = 0.1
    encoder: DualEncoderConfig = field(default_factory=DualEncoderConfig)

    def __post_init__(self) -> None:
        owner = "PretrainConfig"
        check_int(self.pairs, "pairs", owner, 2)
        check_int(self.steps, "steps", owner, 0)
        check_int(self.batch_size, "batch_size", owner, 2)
        check_in_range(self.lr, "lr", owner, 0.0, 10.0)
        check_in_range(self.temperature, "temperature", owner, 0.0, 10.0)
        if not isinstance(self.encoder, DualEncoderConfig):
            raise InvalidParameterError("encoder", owner, "a DualEncoderConfig", type(self.encoder).__name__)


@dataclass(frozen=True)
class LoRATuningConfig:
    """Few-shot LoRA tuning (peft) on the q/k/v projections of both towers.

    Args:
        rank: LoRA rank r.
        alpha: LoRA scaling α (the update is ``(α / r) B A``).
        lr: AdamW learning rate of the LoRA factors.
        epochs: Passes over the few-shot set.
        batch_size: Images per step.
        weight_decay: AdamW weight decay.
    """

    rank: int = 2
    alpha: int = 4
    lr: float = 3e-3
    epochs: int = 20
    batch_size: int = 32
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_int(self.rank, "rank", owner, 1, 64)
        check_int(self.alpha, "alpha", owner, 1, 10_000)
        check_in_range(self.lr, "lr", owner, 0.0, 10.0)
        check_int(self.epochs, "epochs", owner, 1, 10_000)
        check_int(self.batch_size, "batch_size", owner, 1)
        check_in_range(self.weight_decay, "weight_decay", owner, 0.0, 10.0, low_open=False)


@dataclass(frozen=True)
class GLADTuningConfig(LoRATuningConfig):
    """`LoRATuningConfig` plus GLAD's ρ (ascent radius) and γ (steering strength towards SAM's gradient).

    γ = 1 is LoRA + SAM; a negative γ (a broken variant) is accepted for negative controls.
    """

    rho: float = 0.05
    gamma: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        check_in_range(self.rho, "rho", "GLADTuningConfig", 0.0, 10.0)
        check_in_range(self.gamma, "gamma", "GLADTuningConfig", -10.0, 10.0, low_open=False, high_open=False)
