"""Offline model-based optimization on an `OfflineTask`: train surrogates, ascend, propose 128.

Methods (``OfflineConfig.method``):

- ``"grad"``: one MLP, gradient ascent from the top-128 visible designs (Design-Bench's Grad);
- ``"grad-mean"`` / ``"grad-min"``: an ensemble of ``ensemble_size`` MLPs (different seeds),
  ascent on their mean or their minimum (Grad Mean / Grad Min; the minimum is the worst-case guard);
- ``"coms"``: one MLP trained with the COMs conservative term (`guardopt.offline.coms`);
- ``"ignite"``: one MLP trained with IGNITE's adaptive multiplier (`guardopt.offline.ignite`);
- ``"ignite-fixed"``: IGNITE with a fixed multiplier (the paper's IGNITE-2);
- ``"coms-ignite"``: COMs with IGNITE's regularizer on top (IGNITE is model-agnostic: the same hook
  is added to the COMs surrogate's training).

Designs are normalized as Design-Bench's baselines do: discrete tokens become soft one-hot
log-probabilities (0.6 on the token), then every input column and the targets are standardized with
the visible data's mean and standard deviation. Continuous proposals are clipped to the task's box;
discrete proposals are the per-position argmax of the ascended logits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import torch

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_choice,
    check_in_range,
    check_int,
)
from guardopt.core.seeding import derive_seed
from guardopt.offline.coms import ConservativeConfig, ConservativePenalty
from guardopt.offline.ignite import IgniteConfig, SharpnessPenalty, prediction_gradient
from guardopt.offline.nets import MLP, MLPConfig, make_mlp
from guardopt.offline.search import ensemble_score, gradient_ascent
from guardopt.offline.training import TrainConfig, TrainHistory, train_regressor


class OfflineTask(Protocol):
    """What a method needs from an offline task (``guardopt.problems.offline_tasks.OfflineTask`` is one).

    A structural type, so that this family does not import the problems layer above it: any object
    with the visible data and these attributes works, including a user's own dataset wrapper.
    """

    @property
    def name(self) -> str: ...

    @property
    def x(self) -> np.ndarray: ...

    @property
    def y(self) -> np.ndarray: ...

    @property
    def is_discrete(self) -> bool: ...

    @property
    def num_classes(self) -> int: ...

    @property
    def lower(self) -> np.ndarray | None: ...

    @property
    def upper(self) -> np.ndarray | None: ...

    @property
    def budget(self) -> int: ...

    @property
    def dim(self) -> int: ...

    def score(self, proposals: np.ndarray) -> dict[str, float]: ...


METHODS = ("grad", "grad-mean", "grad-min", "coms", "ignite", "ignite-fixed", "coms-ignite")


@dataclass(frozen=True)
class DesignCodec:
    """Maps task designs to standardized surrogate inputs and back.

    Attributes:
        is_discrete: Token designs.
        num_classes: Alphabet size of token designs.
        length: Sequence length (discrete) or dimension (continuous).
        mean, std: Per-column standardization of the (logit) inputs, shape ``(width,)``.
        lower, upper: Box of continuous designs, or ``None``.
    """

    is_discrete: bool
    num_classes: int
    length: int
    mean: np.ndarray
    std: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None

    @staticmethod
    def fit(task: OfflineTask, soft: float = 0.6) -> DesignCodec:
        """Fit the standardization to the task's visible designs."""
        x, _ = _task_data(task, "DesignCodec.fit")
        check_in_range(soft, "soft", "DesignCodec.fit", 0.0, 1.0)  # 1 would put log(0) = -inf in the inputs
        raw = _to_logits(x, task.num_classes, soft) if task.is_discrete else x
        std = raw.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        return DesignCodec(task.is_discrete, task.num_classes, int(x.shape[1]), raw.mean(axis=0), std, task.lower,
                           task.upper)

    @property
    def width(self) -> int:
        """Surrogate input width."""
        return int(self.mean.shape[0])

    def encode(self, x: np.ndarray, soft: float = 0.6) -> np.ndarray:
        """Designs ``(n, length)`` -> standardized inputs ``(n, width)`` (float32)."""
        arr = as_float_array(x, "x", "DesignCodec.encode", finite=True)
        if arr.ndim != 2 or arr.shape[1] != self.length:
            raise InputDataError(f"The 'x' argument of DesignCodec.encode must have shape (n, {self.length}). Got "
                                 f"{arr.shape} instead.")
        if self.is_discrete:
            check_in_range(soft, "soft", "DesignCodec.encode", 0.0, 1.0)
            _check_tokens(arr, self.num_classes, "DesignCodec.encode")
        raw = _to_logits(arr, self.num_classes, soft) if self.is_discrete else arr
        return ((raw - self.mean) / self.std).astype(np.float32)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Standardized inputs -> designs (argmax tokens, or values clipped to the box)."""
        arr = as_float_array(z, "z", "DesignCodec.decode", finite=True)
        if arr.ndim != 2 or arr.shape[1] != self.width:
            raise InputDataError(f"The 'z' argument of DesignCodec.decode must have shape (n, {self.width}). Got "
                                 f"{arr.shape} instead.")
        raw = arr * self.std + self.mean
        if self.is_discrete:
            return np.asarray(raw.reshape(len(raw), self.length, self.num_classes).argmax(axis=2), dtype=np.int64)
        if self.lower is not None or self.upper is not None:
            raw = np.clip(raw, self.lower, self.upper)
        return np.asarray(raw)


def _check_tokens(x: np.ndarray, num_classes: int, owner: str) -> None:
    # A token of -1 would silently index the last class and 1.7 would be truncated to 1.
    if np.any(x != np.round(x)) or np.any(x < 0) or np.any(x >= num_classes):
        raise InputDataError(f"{owner}: discrete designs must be integer tokens in [0, {num_classes}).")


def _task_data(task: OfflineTask, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """The task's visible designs ``(n, d)`` and scores ``(n,)``, finite, or an `InputDataError`.

    `OfflineTask` is structural, so a user's own wrapper may hold anything: NaN, a ``(n, 1)`` score
    column, designs and scores of different lengths.
    """
    x = as_float_array(task.x, "task.x", owner, finite=True)
    y = as_float_array(task.y, "task.y", owner, finite=True)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if x.ndim != 2 or x.shape[1] == 0 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise InputDataError(f"{owner} needs task.x of shape (n, d) and task.y of shape (n,), n >= 1; got {x.shape} "
                             f"and {y.shape}.")
    if task.is_discrete:
        check_int(task.num_classes, "num_classes", owner, low=2)
        _check_tokens(x, task.num_classes, owner)
    return x, y


def _to_logits(tokens: np.ndarray, num_classes: int, soft: float) -> np.ndarray:
    t = np.asarray(tokens, dtype=np.int64)
    probs = np.full((*t.shape, num_classes), (1.0 - soft) / (num_classes - 1))
    np.put_along_axis(probs, t[..., None], soft, axis=-1)
    return np.log(probs).reshape(len(t), -1)


@dataclass(frozen=True)
class OfflineConfig:
    """Everything an offline run needs besides the task and the seed.

    Attributes:
        method: One of `METHODS`.
        mlp: Surrogate architecture.
        train: Surrogate training.
        ascent_steps: Gradient-ascent steps on the designs.
        ascent_lr: Step size, multiplied by ``sqrt(width)`` (design-baselines' convention).
        ensemble_size: Members for ``grad-mean`` / ``grad-min``.
        ignite: IGNITE's settings (``ignite-fixed`` uses them with ``adaptive=False``).
        coms: COMs' settings.
    """

    method: str = "grad"
    mlp: MLPConfig = field(default_factory=MLPConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    ascent_steps: int = 200
    ascent_lr: float = 0.01
    ensemble_size: int = 5
    ignite: IgniteConfig = field(default_factory=IgniteConfig)
    coms: ConservativeConfig = field(default_factory=ConservativeConfig)

    def __post_init__(self) -> None:
        check_choice(self.method, "method", "OfflineConfig", METHODS)
        check_int(self.ascent_steps, "ascent_steps", "OfflineConfig", low=0)
        check_in_range(self.ascent_lr, "ascent_lr", "OfflineConfig", 0.0, math.inf)
        check_int(self.ensemble_size, "ensemble_size", "OfflineConfig", low=1)
        for name, kind, article in (("mlp", MLPConfig, "an"), ("train", TrainConfig, "a"),
                                    ("ignite", IgniteConfig, "an"), ("coms", ConservativeConfig, "a")):
            if not isinstance(getattr(self, name), kind):
                raise InvalidParameterError(name, "OfflineConfig", f"{article} {kind.__name__}", getattr(self, name))


@dataclass
class OfflineResult:
    """Proposals and what the surrogate(s) believed about them.

    Attributes:
        proposals: Designs, shape ``(budget, dim)``.
        predicted: The guarded surrogate score of each proposal in the task's ``y`` units, ``(budget,)``.
        starts: The visible designs the ascent started from, ``(budget, dim)``.
        models: The trained surrogate(s).
        codec: The input normalization.
        history: Training history of each model.
        grad_norm: ``‖∇_β G‖`` of the (first) surrogate over the whole visible set after training.
    """

    proposals: np.ndarray
    predicted: np.ndarray
    starts: np.ndarray
    models: list[MLP]
    codec: DesignCodec
    history: list[TrainHistory]
    grad_norm: float


def top_k(task: OfflineTask, k: int) -> np.ndarray:
    """The ``k`` best visible designs (ties broken by index), shape ``(min(k, n), dim)``."""
    check_int(k, "k", "top_k", low=0)
    _, y = _task_data(task, "top_k")
    order = np.argsort(-y, kind="stable")[:k]
    return np.asarray(np.asarray(task.x)[order])


def run_offline(task: OfflineTask, config: OfflineConfig | None = None, seed: int | None = 0) -> OfflineResult:
    """Train the surrogate(s) of ``config.method`` on the visible data and propose ``task.budget`` designs.

    The oracle is never called; score the proposals with ``task.score(result.proposals)``.

    Args:
        task: The offline task.
        config: `OfflineConfig`.
        seed: Seed of the surrogates' initialization and batch order.

    Returns:
        An `OfflineResult`.
    """
    cfg = config or OfflineConfig()
    if not isinstance(cfg, OfflineConfig):
        raise InputDataError(f"The 'config' argument of run_offline must be an OfflineConfig. Got "
                             f"{type(cfg).__name__} instead.")
    if seed is not None:
        check_int(seed, "seed", "run_offline", low=0)
    check_int(task.budget, "budget", "run_offline", low=1)
    task_x, task_y = _task_data(task, "run_offline")
    codec = DesignCodec.fit(task)
    x = codec.encode(task_x)
    y_mean, y_std = float(task_y.mean()), float(task_y.std())
    if not (math.isfinite(y_mean) and math.isfinite(y_std)):
        raise InputDataError(f"Task {task.name!r}: the visible scores overflow when standardized.")
    if y_std == 0.0:
        raise InputDataError(f"Task {task.name!r}: every visible score is equal; nothing to learn.")
    y = ((task_y - y_mean) / y_std).astype(np.float32)

    n_models = cfg.ensemble_size if cfg.method in ("grad-mean", "grad-min") else 1
    models: list[MLP] = []
    histories: list[TrainHistory] = []
    for k in range(n_models):
        s = derive_seed(seed, "member", k) if n_models > 1 else seed
        model = make_mlp(codec.width, cfg.mlp, seed=s)
        sharp = cons = None
        if cfg.method in ("ignite", "coms-ignite"):
            sharp = SharpnessPenalty(model, cfg.ignite)
        elif cfg.method == "ignite-fixed":
            sharp = SharpnessPenalty(model, replace(cfg.ignite, adaptive=False))
        if cfg.method in ("coms", "coms-ignite"):
            cons = ConservativePenalty(model, cfg.coms)
        histories.append(train_regressor(model, x, y, cfg.train, seed=s, sharpness=sharp, conservative=cons))
        models.append(model)

    combiner = "wco" if cfg.method == "grad-min" else "mean"
    score = ensemble_score(models, combiner)
    starts = top_k(task, task.budget)
    z = gradient_ascent(score, codec.encode(starts), steps=cfg.ascent_steps,
                        lr=cfg.ascent_lr * math.sqrt(codec.width))
    proposals = codec.decode(z.numpy())
    with torch.no_grad():
        pred = score(torch.as_tensor(codec.encode(proposals))).numpy() * y_std + y_mean
    gnorm = float(np.sqrt(sum(float((g**2).sum()) for g in prediction_gradient(models[0], torch.as_tensor(x)))))
    return OfflineResult(proposals, pred, starts, models, codec, histories, gnorm)
