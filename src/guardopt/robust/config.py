"""Frozen, validated configurations of Neur2RO's parts (Dumouchelle et al., ICLR 2024).

Defaults are the paper's where it gives one (its code ``khalil-research/Neur2RO``, knapsack):
set-encoder widths embed 32-16, post-aggregation 64-8, value 8; ML-CCG tolerance 1e-4, at most 20
scenarios; projected-gradient adversary with 5 restarts of 100 Adam steps at learning rate 1e-3.
The paper trains 500 epochs; `SetEncoderConfig.epochs` defaults to far fewer, for a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from guardopt.core.errors import InvalidParameterError, check_in_range, check_int

__all__ = ["AdversaryConfig", "MLCCGConfig", "SetEncoderConfig"]


def _check_widths(value: object, param: str, owner: str, allow_empty: bool) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or (not value and not allow_empty):
        raise InvalidParameterError(param, owner, "a " + ("" if allow_empty else "non-empty ")
                                    + "tuple of positive integers", value)
    return tuple(check_int(w, param, owner, 1, 4096) for w in value)


@dataclass(frozen=True)
class SetEncoderConfig:
    """The value network ``NN(x, ξ) ≈ Q(x, ξ) / scale`` and how it is trained.

    Attributes:
        embed: Widths of the per-item ReLU network applied to ``[x_i, features_i]`` (and, with its
            own weights, to ``[ξ_i, features_i]``); every layer has a ReLU. Paper: (32, 16).
        post: Hidden widths of the network after the mean over items (ReLU). Paper: (64,).
        embedding_dim: Output width of each set embedding (linear). Paper: 8.
        value: Hidden widths of the value network on the two concatenated embeddings. Paper: (8,).
        epochs: Training epochs (paper: 500).
        batch_size: Minibatch size.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
    """

    embed: tuple[int, ...] = (32, 16)
    post: tuple[int, ...] = (64,)
    embedding_dim: int = 8
    value: tuple[int, ...] = (8,)
    epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        owner = "SetEncoderConfig"
        object.__setattr__(self, "embed", _check_widths(self.embed, "embed", owner, False))
        object.__setattr__(self, "post", _check_widths(self.post, "post", owner, True))
        object.__setattr__(self, "value", _check_widths(self.value, "value", owner, True))
        check_int(self.embedding_dim, "embedding_dim", owner, 1, 4096)
        check_int(self.epochs, "epochs", owner, 0, 100_000)
        check_int(self.batch_size, "batch_size", owner, 1, 1_000_000)
        check_in_range(self.lr, "lr", owner, 0.0, 10.0)
        check_in_range(self.weight_decay, "weight_decay", owner, 0.0, 1.0, low_open=False)


@dataclass(frozen=True)
class AdversaryConfig:
    """Projected gradient ascent on ``ξ ↦ NN(x̂, ξ)`` over Ξ = {ξ ∈ [0,1]^n : Σξ ≤ Γ}.

    Attributes:
        restarts: Random starting scenarios (paper's ``pga_samples``: 5).
        steps: Adam steps per restart (paper's ``pga_epochs``: 100).
        lr: Adam learning rate (paper's ``pga_lr``: 1e-3).
    """

    restarts: int = 5
    steps: int = 100
    lr: float = 1e-3

    def __post_init__(self) -> None:
        check_int(self.restarts, "restarts", "AdversaryConfig", 1, 10_000)
        check_int(self.steps, "steps", "AdversaryConfig", 0, 1_000_000)
        check_in_range(self.lr, "lr", "AdversaryConfig", 0.0, 10.0)


@dataclass(frozen=True)
class MLCCGConfig:
    """Column-and-constraint generation with the learned value function (Neur2RO's ML-CCG).

    Attributes:
        max_iterations: Most master problems solved (paper's ``max_n_models``: 20).
        tol: Stop when the adversary's predicted worst case exceeds the master's by at most this
            fraction of the master's objective (paper: 1e-4).
        repeat_tol: Stop when the adversary returns a scenario within this L1 distance of one
            already in the master (paper: 1e-3).
        master_gap: Relative MIP gap of each master solve (paper: 1e-3).
        master_time_limit: Seconds per master solve.
        adversary: The projected-gradient adversary.
    """

    max_iterations: int = 20
    tol: float = 1e-4
    repeat_tol: float = 1e-3
    master_gap: float = 1e-3
    master_time_limit: float = 60.0
    adversary: AdversaryConfig = field(default_factory=AdversaryConfig)

    def __post_init__(self) -> None:
        owner = "MLCCGConfig"
        check_int(self.max_iterations, "max_iterations", owner, 1, 10_000)
        check_in_range(self.tol, "tol", owner, 0.0, 1.0, low_open=False)
        check_in_range(self.repeat_tol, "repeat_tol", owner, 0.0, 1e6, low_open=False)
        check_in_range(self.master_gap, "master_gap", owner, 0.0, 1.0, low_open=False)
        check_in_range(self.master_time_limit, "master_time_limit", owner, 0.0, 1e6)
        if not isinstance(self.adversary, AdversaryConfig):
            raise InvalidParameterError("adversary", owner, "an AdversaryConfig", self.adversary)
