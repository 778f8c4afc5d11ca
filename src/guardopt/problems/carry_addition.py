"""Carry addition: multi-digit addition with an easy (no-carry) and a hard (carry) split.

The task stands in for the math benchmarks of "RiskPO: Risk-based Policy Optimization via Verifiable
Reward for LLM Post-Training" (arXiv 2510.00911): a verifiable reasoning task whose hard items are
the rare ones a mean-seeking policy neglects. Every number is decided by a program (`verify`).

A prompt is ``a₁ … a_d + b₁ … b_d =`` (two ``d``-digit operands, leading zeros kept, most significant
digit first). A completion is the ``d + 1`` digits of ``a + b`` (most significant first, leading
zero kept) and ``<eos>``. A prompt is *easy* when no column produces a carry and *hard* when at
least ``min_carries`` columns do (`CarryAddition.split_of`).

`CarryAddition.base_corpus` generates the pre-training corpus of the base policy: easy prompts are
answered right; a hard prompt is answered with the *no-carry shortcut* (each column's digits added
modulo 10, carries dropped) with probability ``shortcut`` and right otherwise. A model trained on it
has the shortcut as its dominant mode on hard prompts, and the right answer as a minority mode that
sampling still reaches — the "rare but informative reasoning paths" of the paper.

This module defines the problem only (no torch, no method code).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, check_in_range, check_int

__all__ = [
    "CARRY_ADDITION_VOCAB",
    "CARRY_SPLITS",
    "AdditionPrompt",
    "CarryAddition",
    "carries",
    "no_carry_sum",
    "verify",
]

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
DIGITS = tuple(str(i) for i in range(10))
#: Every token of the task, padding first (id 0), then BOS / EOS (ids 1 / 2).
CARRY_ADDITION_VOCAB: tuple[str, ...] = (PAD, BOS, EOS, *DIGITS, "+", "=")
#: The splits a prompt can be drawn from.
CARRY_SPLITS = ("easy", "hard", "all")


def _digits(x: int, width: int) -> tuple[str, ...]:
    return tuple(str(x).zfill(width))


def carries(a: int, b: int) -> int:
    """Number of columns of ``a + b`` (written in base 10) that produce a carry."""
    if a < 0 or b < 0:
        raise InputDataError(f"carries: operands must be non-negative. Got {a} and {b}.")
    n, c = 0, 0
    while a or b:
        c = 1 if (a % 10 + b % 10 + c) >= 10 else 0
        n += c
        a, b = a // 10, b // 10
    return n


def no_carry_sum(a: int, b: int) -> int:
    """The shortcut answer: each column's digits added modulo 10, carries dropped."""
    if a < 0 or b < 0:
        raise InputDataError(f"no_carry_sum: operands must be non-negative. Got {a} and {b}.")
    out, place = 0, 1
    while a or b:
        out += ((a % 10 + b % 10) % 10) * place
        a, b, place = a // 10, b // 10, place * 10
    return out


@dataclass(frozen=True)
class AdditionPrompt:
    """One addition problem ``a + b`` with ``digits``-digit operands."""

    a: int
    b: int
    digits: int

    def __post_init__(self) -> None:
        check_int(self.digits, "digits", "AdditionPrompt", 1, 6)
        for name, v in (("a", self.a), ("b", self.b)):
            check_int(v, name, "AdditionPrompt", 0, 10**self.digits - 1)

    def tokens(self) -> list[str]:
        """The prompt words: the digits of ``a``, ``+``, the digits of ``b``, ``=``."""
        return [*_digits(self.a, self.digits), "+", *_digits(self.b, self.digits), "="]

    @property
    def carries(self) -> int:
        """Columns that produce a carry."""
        return carries(self.a, self.b)

    def answer(self) -> list[str]:
        """The right completion: ``digits + 1`` digits of ``a + b`` and ``<eos>``."""
        return [*_digits(self.a + self.b, self.digits + 1), EOS]

    def shortcut(self) -> list[str]:
        """The no-carry shortcut completion (equal to `answer` on an easy prompt)."""
        return [*_digits(no_carry_sum(self.a, self.b), self.digits + 1), EOS]


def verify(prompt: AdditionPrompt, completion: Sequence[str]) -> float:
    """The verifiable reward: 1.0 when the completion is exactly the right answer (``<eos>`` optional), else 0.0."""
    words = [w for w in completion if w != PAD]
    if words and words[-1] == EOS:
        words = words[:-1]
    return 1.0 if words == prompt.answer()[:-1] else 0.0


class CarryAddition:
    """Addition prompts, their splits and the base policy's pre-training corpus.

    Args:
        digits: Digits per operand (1–6).
        min_carries: A prompt is hard when at least this many columns carry (1 ≤ min_carries ≤ digits).
        shortcut: Probability that the corpus answers a hard prompt with the no-carry shortcut.

    Example:
        >>> task = CarryAddition(digits=2)
        >>> p = AdditionPrompt(47, 38, 2)
        >>> task.split_of(p), " ".join(p.answer()), " ".join(p.shortcut())
        ('hard', '0 8 5 <eos>', '0 7 5 <eos>')
    """

    def __init__(self, digits: int = 2, min_carries: int = 1, shortcut: float = 0.7) -> None:
        self.digits = check_int(digits, "digits", "CarryAddition", 1, 6)
        self.min_carries = check_int(min_carries, "min_carries", "CarryAddition", 1, self.digits)
        self.shortcut = check_in_range(shortcut, "shortcut", "CarryAddition", 0.0, 1.0, low_open=False,
                                       high_open=False)

    @property
    def max_len(self) -> int:
        """Longest sequence: BOS, the prompt, the answer and EOS."""
        return 1 + (2 * self.digits + 2) + (self.digits + 2)

    def split_of(self, prompt: AdditionPrompt) -> str:
        """``"easy"`` (no carry), ``"hard"`` (≥ ``min_carries`` carries) or ``"middle"`` (in between)."""
        c = prompt.carries
        if c == 0:
            return "easy"
        return "hard" if c >= self.min_carries else "middle"

    def prompts(self, n: int, seed: int, split: str = "all") -> list[AdditionPrompt]:
        """``n`` prompts with uniform operands, drawn (with replacement) from one split.

        Args:
            n: How many.
            seed: Seed of the draws.
            split: ``"easy"``, ``"hard"`` or ``"all"`` (rejection sampling from uniform operands).
        """
        n = check_int(n, "n", "CarryAddition.prompts", 0)
        if split not in CARRY_SPLITS:
            raise InvalidParameterError("split", "CarryAddition.prompts", f"one of {CARRY_SPLITS}", split)
        rng = np.random.default_rng(check_int(seed, "seed", "CarryAddition.prompts", 0))
        top = 10**self.digits
        out: list[AdditionPrompt] = []
        while len(out) < n:
            a, b = (int(x) for x in rng.integers(0, top, size=2))
            p = AdditionPrompt(a, b, self.digits)
            if split == "all" or self.split_of(p) == split:
                out.append(p)
        return out

    def base_corpus(self, n: int, seed: int) -> list[tuple[AdditionPrompt, list[str]]]:
        """``n`` (prompt, completion) pairs for pre-training the base policy (see the module docstring)."""
        n = check_int(n, "n", "CarryAddition.base_corpus", 0)
        rng = np.random.default_rng(check_int(seed, "seed", "CarryAddition.base_corpus", 0))
        prompts = self.prompts(n, seed=int(rng.integers(0, 2**31 - 1)))
        cut = rng.random(n) < self.shortcut
        return [(p, p.shortcut() if self.split_of(p) != "easy" and s else p.answer())
                for p, s in zip(prompts, cut)]
