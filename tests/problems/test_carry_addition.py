"""Carry addition: carries, the shortcut, the verifier, the splits and the base corpus."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.problems.carry_addition import (
    CARRY_ADDITION_VOCAB,
    AdditionPrompt,
    CarryAddition,
    carries,
    no_carry_sum,
    verify,
)
from guardopt.testing.contracts import assert_contract, contract_settings


def test_carries_and_shortcut_on_hand_values() -> None:
    assert carries(47, 38) == 1 and carries(12, 34) == 0 and carries(99, 1) == 2 and carries(55, 45) == 2
    assert no_carry_sum(47, 38) == 75 and no_carry_sum(99, 1) == 90 and no_carry_sum(12, 34) == 46
    with pytest.raises(InputDataError):
        carries(-1, 2)


def test_prompt_words_answer_and_shortcut() -> None:
    p = AdditionPrompt(7, 95, 2)
    assert p.tokens() == ["0", "7", "+", "9", "5", "="]
    assert p.answer() == ["1", "0", "2", "<eos>"] and p.shortcut() == ["0", "9", "2", "<eos>"]
    assert set(p.tokens() + p.answer()) <= set(CARRY_ADDITION_VOCAB)
    easy = AdditionPrompt(12, 34, 2)
    assert easy.answer() == easy.shortcut()
    with pytest.raises(InvalidParameterError, match="'a'"):
        AdditionPrompt(100, 3, 2)


def test_verify_is_exact() -> None:
    p = AdditionPrompt(47, 38, 2)
    assert verify(p, ["0", "8", "5", "<eos>"]) == 1.0
    assert verify(p, ["0", "8", "5"]) == 1.0
    assert verify(p, ["0", "7", "5", "<eos>"]) == 0.0  # the shortcut
    assert verify(p, ["0", "8", "5", "5", "<eos>"]) == 0.0
    assert verify(p, []) == 0.0


def test_splits_and_draws() -> None:
    task = CarryAddition(digits=2)
    assert task.max_len == 1 + 6 + 4
    hard = task.prompts(200, seed=1, split="hard")
    easy = task.prompts(200, seed=1, split="easy")
    assert all(p.carries >= 1 for p in hard) and all(p.carries == 0 for p in easy)
    assert task.prompts(50, seed=3) == task.prompts(50, seed=3)
    # share of carry prompts under uniform 2-digit operands: 1 − (55/100)² = 0.6975
    share = np.mean([p.carries > 0 for p in task.prompts(4000, seed=2)])
    assert share == pytest.approx(0.6975, abs=0.03)
    assert CarryAddition(digits=2, min_carries=2).split_of(AdditionPrompt(47, 38, 2)) == "middle"
    with pytest.raises(InvalidParameterError, match="'split'"):
        task.prompts(3, seed=0, split="medium")


def test_base_corpus_has_the_shortcut_on_hard_prompts_only() -> None:
    task = CarryAddition(digits=2, shortcut=0.7)
    corpus = task.base_corpus(4000, seed=0)
    hard = [(p, c) for p, c in corpus if p.carries > 0]
    easy = [(p, c) for p, c in corpus if p.carries == 0]
    assert all(c == p.answer() for p, c in easy)
    cut = np.mean([c == p.shortcut() for p, c in hard])
    assert cut == pytest.approx(0.7, abs=0.03)
    assert all(c in (p.answer(), p.shortcut()) for p, c in hard)


def test_config_validation_names_the_parameter() -> None:
    with pytest.raises(InvalidParameterError, match="The 'shortcut' parameter of CarryAddition must be"):
        CarryAddition(shortcut=1.5)
    with pytest.raises(InvalidParameterError, match="'min_carries'"):
        CarryAddition(digits=2, min_carries=3)
    with pytest.raises(InvalidParameterError, match="'digits'"):
        CarryAddition(digits=0)


@contract_settings()
@given(st.lists(st.sampled_from([*CARRY_ADDITION_VOCAB, "x"]), max_size=8),
       st.one_of(st.integers(-5, 120), st.floats(allow_nan=True)), st.integers(0, 99))
def test_verify_and_prompts_never_crash(words, a, b) -> None:
    out = assert_contract(AdditionPrompt, a, b, 2, names=("a", "b"))
    if out.ok:
        r = verify(out.result, words)
        assert r in (0.0, 1.0)
