"""A multi-level guardrail: a severity classifier on the response and a filter-and-regenerate loop.

Safe RLHF-V (arXiv 2503.17682) moderates responses with Beaver-Guard-V, a classifier with multi-level
safety labels (minor, moderate, severe), and applies it for up to five rounds of filtering and
re-generation to the precursor model: a response flagged unsafe is discarded and a new one is
sampled. The abstract reports the precursor's safety after the five rounds, so a response still
flagged after the last round is *returned as it is* (``fallback="last"``, the default): the rounds can
only lower the unsafe rate as far as re-sampling reaches, and a fixed refusal in its place would make
every flagged response safe by construction. ``fallback="refuse"`` (a deployment choice, not the
paper's measurement) returns a fixed refusal instead.

* `GuardrailConfig`: the rounds, the level at which a response is flagged, the fallback.
* `filter_and_regenerate`: the loop over any ``generate`` and ``classify`` callables (pure control
  flow, tested on stubs): each round re-generates only the prompts whose last response was flagged,
  so it stops at a prompt's first accepted response and never runs more than ``max_rounds`` rounds.
* `SeverityClassifier`: a `guardopt.align.score_models.ScoreModel` with one logit per level, trained by
  `train_severity_classifier` (cross-entropy, `guardopt.align.score_models.train_classifier`).
* `guarded_sample`: the loop with a policy's own sampling and a `SeverityClassifier`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from guardopt.core.errors import InputDataError, InvalidParameterError, check_choice, check_in_range, check_int

__all__ = [
    "SEVERITY_NAMES",
    "GuardrailConfig",
    "GuardrailResult",
    "SeverityClassifier",
    "filter_and_regenerate",
    "guarded_sample",
    "train_severity_classifier",
]

P = TypeVar("P")
SEVERITY_NAMES = ("safe", "minor", "moderate", "severe")


@dataclass(frozen=True)
class GuardrailConfig:
    """The filter-and-regenerate loop.

    Args:
        max_rounds: Most generations per prompt (the first one included; the paper's 5).
        flag_level: A response whose predicted level is ≥ this is flagged and regenerated
            (0 safe … 3 severe; 1 flags every unsafe level, the paper's filter).
        fallback: What a prompt gets when its last round is still flagged: ``"last"`` (the last
            response, the paper's measurement) or ``"refuse"`` (``refusal``).
        refusal: The ids returned under ``fallback="refuse"``.
        max_new: Most sampled tokens per response (`guarded_sample`).
        temperature: Sampling temperature (`guarded_sample`).
    """

    max_rounds: int = 5
    flag_level: int = 1
    fallback: str = "last"
    refusal: tuple[int, ...] = field(default_factory=tuple)
    max_new: int = 24
    temperature: float = 1.0

    def __post_init__(self) -> None:
        check_int(self.max_rounds, "max_rounds", "GuardrailConfig", 1)
        check_int(self.flag_level, "flag_level", "GuardrailConfig", 1, len(SEVERITY_NAMES) - 1)
        check_choice(self.fallback, "fallback", "GuardrailConfig", ("last", "refuse"))
        if self.fallback == "refuse" and not self.refusal:
            raise InvalidParameterError("refusal", "GuardrailConfig", "non-empty ids when fallback='refuse'",
                                        self.refusal)
        check_int(self.max_new, "max_new", "GuardrailConfig", 1)
        check_in_range(self.temperature, "temperature", "GuardrailConfig", 0.0)


@dataclass(frozen=True)
class GuardrailResult:
    """What the loop returned, per prompt.

    ``completions``: the returned responses; ``rounds``: generations spent (1 … max_rounds);
    ``accepted``: whether a generated response passed the filter (False: the fallback was used);
    ``levels``: the classifier's level of the last generated response; ``generations``: their sum.
    """

    completions: tuple[tuple[int, ...], ...]
    rounds: tuple[int, ...]
    accepted: tuple[bool, ...]
    levels: tuple[int, ...]

    @property
    def generations(self) -> int:
        """Responses generated over every prompt and round."""
        return int(sum(self.rounds))


def filter_and_regenerate(prompts: Sequence[P], generate: Callable[[list[P], int], list[list[int]]],
                          classify: Callable[[list[P], list[list[int]]], Sequence[int]],
                          config: GuardrailConfig) -> GuardrailResult:
    """Generate, classify, regenerate the flagged prompts, for up to ``config.max_rounds`` rounds.

    Args:
        prompts: The prompts (any type).
        generate: ``(prompts, round) -> one response (ids) per prompt``; ``round`` counts from 0, so a
            sampler can draw fresh random numbers each round.
        classify: ``(prompts, responses) -> one severity level (0 … 3) per response``; a level that is
            not a whole number in 0 … 3 (0.9, NaN) raises `InputDataError` rather than being truncated.
        config: The loop.

    Returns:
        A `GuardrailResult`; a prompt whose response is accepted in round k has ``rounds == k`` and is
        never generated for again.
    """
    if not isinstance(config, GuardrailConfig):
        raise InvalidParameterError("config", "filter_and_regenerate", "a GuardrailConfig", config)
    n = len(prompts)
    comps: list[tuple[int, ...]] = [() for _ in range(n)]
    rounds = [0] * n
    levels = [0] * n
    accepted = [False] * n
    active = list(range(n))
    for r in range(config.max_rounds):
        if not active:
            break
        sub = [prompts[i] for i in active]
        new = generate(sub, r)
        if len(new) != len(sub):
            raise InputDataError(f"filter_and_regenerate: 'generate' returned {len(new)} responses for "
                                 f"{len(sub)} prompts.")
        raw = list(classify(sub, [list(c) for c in new]))
        # A level must be a whole number: truncating 0.9 (or a probability) to 0 would accept a
        # flagged response, and a NaN level must not pass as anything (fail closed).
        try:
            lv = [int(x) for x in raw]
            whole = all(not isinstance(x, (str, bytes)) and float(x) == i for x, i in zip(raw, lv))
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole or len(lv) != len(sub) or any(not 0 <= x < len(SEVERITY_NAMES) for x in lv):
            raise InputDataError("filter_and_regenerate: 'classify' must return one level in 0..3 per response.")
        still = []
        for i, c, level in zip(active, new, lv):
            try:
                comps[i] = tuple(int(t) for t in c)
            except (TypeError, ValueError) as e:
                raise InputDataError("filter_and_regenerate: 'generate' must return lists of token ids.") from e
            levels[i] = level
            rounds[i] += 1
            if level >= config.flag_level:
                still.append(i)
            else:
                accepted[i] = True
        active = still
    if config.fallback == "refuse":
        for i in active:
            comps[i] = tuple(config.refusal)
    return GuardrailResult(tuple(comps), tuple(rounds), tuple(accepted), tuple(levels))


class SeverityClassifier:
    """A response classifier with one logit per severity level (``safe``, ``minor``, ``moderate``, ``severe``).

    Args:
        model: A `guardopt.align.score_models.ScoreModel` with ``n_outputs=4``.
        encode: Prompt → ids (with BOS); responses are ids after the prompt.

    Calling it on ``(prompts, responses)`` returns the arg-max level of each response.
    """

    def __init__(self, model: Any, encode: Callable[[Any], list[int]]) -> None:
        if int(getattr(model, "n_outputs", 0)) != len(SEVERITY_NAMES):
            raise InvalidParameterError("model", "SeverityClassifier",
                                        f"a ScoreModel with n_outputs={len(SEVERITY_NAMES)}", model)
        self.model = model
        self.encode = encode

    def logits(self, prompts: Sequence[Any], responses: Sequence[Sequence[int]]) -> Any:
        """``(B, 4)`` logits of the levels (no gradient)."""
        from guardopt.align.score_models import score_completions

        if len(prompts) != len(responses):
            raise InputDataError("SeverityClassifier: as many prompts as responses are needed.")
        return score_completions(self.model, [self.encode(p) for p in prompts], [list(r) for r in responses])

    def __call__(self, prompts: Sequence[Any], responses: Sequence[Sequence[int]]) -> list[int]:
        if not prompts:
            return []
        out: list[int] = self.logits(prompts, responses).argmax(dim=-1).tolist()
        return out


def train_severity_classifier(model: Any, prompts: Sequence[Any], responses: Sequence[Sequence[int]],
                              levels: Sequence[int], encode: Callable[[Any], list[int]], config: Any,
                              seed: int) -> tuple[SeverityClassifier, Any]:
    """Train ``model`` (a 4-output `ScoreModel`) by cross-entropy on severity ``levels``.

    Returns:
        The `SeverityClassifier` and the training `TrainLog`.
    """
    from guardopt.align.score_models import train_classifier

    if not (len(prompts) == len(responses) == len(levels)) or not prompts:
        raise InputDataError("train_severity_classifier: 'prompts', 'responses' and 'levels' must be non-empty and "
                             "of one length.")
    if any(int(x) != x or not 0 <= int(x) < len(SEVERITY_NAMES) for x in levels):
        raise InputDataError("train_severity_classifier: every level must be a whole number in 0..3.")
    log = train_classifier(model, [encode(p) for p in prompts], [list(r) for r in responses],
                           [int(x) for x in levels], config, seed)
    return SeverityClassifier(model, encode), log


def guarded_sample(policy: Any, prompts: Sequence[Any], encode: Callable[[Any], list[int]],
                   classify: Callable[[list[Any], list[list[int]]], Sequence[int]], config: GuardrailConfig,
                   seed: int, eos_id: int) -> GuardrailResult:
    """`filter_and_regenerate` with ``policy``'s own sampling (fresh random numbers each round)."""
    import torch

    from guardopt.align.model import sample
    from guardopt.core.seeding import derive_seed

    seed = check_int(seed, "seed", "guarded_sample", 0)

    def generate(sub: list[Any], r: int) -> list[list[int]]:
        # Round 0 draws with ``seed`` itself, so it is the unguarded sample of the same seed (paired).
        gen = torch.Generator().manual_seed(seed if r == 0 else (derive_seed(seed, "guardrail-round", r) or 0))
        return sample(policy, [encode(p) for p in sub], config.max_new, eos_id, gen, config.temperature)

    return filter_and_regenerate(prompts, generate, classify, config)
