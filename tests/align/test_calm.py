"""CALM: interveners, the data synthesis on a scripted reasoner, the hint-fraction count, the config, contracts."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

torch = pytest.importorskip("torch")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from guardopt.align.calm import (  # noqa: E402
    CALMConfig,
    CALMStats,
    CALMTrace,
    Intervention,
    ProgramIntervener,
    RandomPositionIntervener,
    build_calm_traces,
    calm_sft,
    hint_token_count,
)
from guardopt.align.model import TinyCausalLM, TinyLMConfig  # noqa: E402
from guardopt.align.tokenizer import Tokenizer  # noqa: E402
from guardopt.core.errors import GuardoptError, InvalidParameterError  # noqa: E402
from guardopt.testing.contracts import adversarial_scalars, assert_contract, contract_settings  # noqa: E402

VOCAB = ["<pad>", "<bos>", "<eos>", "p", "a", "b", "c", "z", "hint:b"]
TOK = Tokenizer(VOCAB)
REF = ["a", "b", "c", "<eos>"]


class Scripted(torch.nn.Module):
    """A deterministic reasoner: the next word depends on the last one only.

    It writes ``a z c <eos>`` (the flaw: ``z`` where ``b`` is due), and ``b`` right after a hint.
    """

    NEXT: ClassVar[dict[str, str]] = {"p": "a", "a": "z", "z": "c", "hint:b": "b", "b": "c", "c": "<eos>"}

    def __init__(self) -> None:
        super().__init__()
        self.config = TinyLMConfig(len(VOCAB), max_len=16)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward_cached(self, ids: torch.Tensor, cache: Any) -> tuple[torch.Tensor, Any]:
        logits = torch.full((ids.shape[0], ids.shape[1], len(VOCAB)), -1e4)
        for i, last in enumerate(ids[:, -1].tolist()):
            logits[i, -1, TOK.id(self.NEXT.get(VOCAB[last], "<eos>"))] = 0.0
        return logits, cache

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.forward_cached(ids, None)[0]


def locate(prompt: str, words: Any) -> tuple[int, str] | None:
    """Exact locator for the scripted task: the first word off ``a b c <eos>`` (hints skipped)."""
    j = 0
    for i, word in enumerate(words):
        if word.startswith("hint:"):
            continue
        if j >= len(REF) or word != REF[j]:
            return i, "b"
        j += 1
    return None if j == len(REF) else (len(words), "b")


def encode(prompt: str) -> list[int]:
    return TOK.encode(prompt, bos=True)


def always(prompt: str, completion: list[int]) -> bool:
    return True


def test_program_intervener_cuts_at_the_first_flaw() -> None:
    iv = ProgramIntervener(locate)
    assert iv.intervene("p", ["a", "z", "c", "<eos>"]) == Intervention(1, ("hint:b",))
    assert iv.intervene("p", REF) is None
    assert iv.intervene("p", ["a", "hint:b", "b", "c", "<eos>"]) is None


def test_random_position_intervener_moves_the_hint_but_not_the_stop() -> None:
    rnd = RandomPositionIntervener(ProgramIntervener(locate), seed=0)
    assert rnd.intervene("p", REF) is None
    positions = {rnd.intervene("p", ["a", "z", "c", "<eos>"]).index for _ in range(60)}  # type: ignore[union-attr]
    assert positions == {0, 1, 2, 3}  # uniform over the trace, the flaw (1) only one of them


def test_build_calm_traces_on_a_scripted_reasoner() -> None:
    cfg = CALMConfig(max_interventions=2, max_new=8)
    traces, st_ = build_calm_traces(Scripted(), ["p", "p"], encode, always, ProgramIntervener(locate), TOK, cfg,
                                    seed=0, budget=10)
    # each trace: sampled once (a z c <eos>), cut at z, hint, continued (b c <eos>): 2 generations per prompt
    assert st_.generations == 4 and st_.traces == 2 and st_.flawless_first == 0
    assert [TOK.tokens(t.completion) for t in traces] == [["a", "hint:b", "b", "c", "<eos>"]] * 2
    assert all(t.hints == 1 and t.inserted == 1 for t in traces)
    assert (st_.kept, st_.kept_intervened, st_.hint_tokens, st_.kept_tokens) == (2, 2, 2, 10)
    assert st_.hint_fraction == pytest.approx(0.2)
    # the budget is spent exactly: 2 first samples, then only 1 continuation fits
    traces, st_ = build_calm_traces(Scripted(), ["p", "p"], encode, always, ProgramIntervener(locate), TOK, cfg,
                                    seed=0, budget=3)
    assert st_.generations == 3 and st_.kept == 1 and st_.dropped_flawed == 1
    # the final-answer check filters
    traces, st_ = build_calm_traces(Scripted(), ["p"], encode, lambda p, c: False, ProgramIntervener(locate), TOK,
                                    cfg, seed=0, budget=10)
    assert traces == [] and st_.dropped_wrong == 1 and st_.hint_fraction != st_.hint_fraction  # NaN


def test_random_position_control_cannot_fix_a_flaw_it_keeps() -> None:
    # a hint placed after the flaw leaves the flaw in the prefix; such traces are never kept
    cfg = CALMConfig(max_interventions=3, max_new=8)
    traces, st_ = build_calm_traces(Scripted(), ["p"] * 40, encode, always,
                                    RandomPositionIntervener(ProgramIntervener(locate), seed=1), TOK, cfg, seed=0,
                                    budget=400)
    assert st_.kept + st_.dropped_flawed == 40
    for t in traces:
        assert locate("p", TOK.tokens(t.completion)) is None
    assert 0 < st_.kept < 40


def test_hint_fraction_count_on_a_hand_built_trace() -> None:
    trace = "max hint:coef 3 2 ; 1 1 hint:dir >= 4 <eos>".split()
    assert hint_token_count([trace], ["hint:coef", "hint:dir"]) == (2, 11)
    assert hint_token_count([trace, "max 3 2 <eos>".split()], ["hint:coef"]) == (1, 15)
    assert hint_token_count([], ["hint:dir"]) == (0, 0)
    s = CALMStats(hint_tokens=2, kept_tokens=11)
    assert s.hint_fraction == pytest.approx(2 / 11)


def test_calm_sft_trains_on_kept_traces() -> None:
    model = TinyCausalLM(TinyLMConfig(len(VOCAB), d_model=16, n_heads=2, max_len=16), seed=0)
    traces = [CALMTrace(tuple(encode("p")), tuple(TOK.encode(["a", "hint:b", "b", "c", "<eos>"])), 1, 1)] * 4
    log = calm_sft(model, traces, CALMConfig(sft_steps=8, batch_size=4, lr=1e-2), seed=0)
    assert len(log.rows) == 8 and log.rows[-1]["loss"] < log.rows[0]["loss"]
    with pytest.raises(GuardoptError, match="traces"):
        calm_sft(model, [("p", "a")], CALMConfig(), seed=0)  # type: ignore[list-item]


def test_config_errors_name_the_parameter() -> None:
    with pytest.raises(InvalidParameterError, match="The 'max_interventions' parameter of CALMConfig"):
        CALMConfig(max_interventions=0)
    with pytest.raises(InvalidParameterError, match="The 'lr' parameter of CALMConfig"):
        CALMConfig(lr=-1.0)
    with pytest.raises(InvalidParameterError, match="keep_unintervened"):
        CALMConfig(keep_unintervened="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="hint"):
        Intervention(0, ())
    with pytest.raises(InvalidParameterError, match="locate"):
        ProgramIntervener(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="budget"):
        build_calm_traces(Scripted(), ["p"], encode, always, ProgramIntervener(locate), TOK, CALMConfig(), 0, -1)


FIELDS = ("max_interventions", "max_new", "temperature", "sft_steps", "batch_size", "lr", "grad_clip")


@contract_settings(0.3)
@given(st.sampled_from(FIELDS), adversarial_scalars())
def test_config_contract(name, value) -> None:
    out = assert_contract(CALMConfig, **{name: value}, names=(name,))
    if out.ok:
        assert getattr(out.result, name) == value


@contract_settings(0.3)
@given(adversarial_scalars())
def test_intervention_and_intervener_contract(value) -> None:
    assert_contract(Intervention, value, ("hint:b",), names=("index",))
    assert_contract(RandomPositionIntervener, ProgramIntervener(locate), value, names=("seed",))
