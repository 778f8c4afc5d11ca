"""Intervened PO's pair construction: the first cue is found, a trigger substituted, pairs differ only after h."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from guardopt.align.intervened import (  # noqa: E402
    IntervenedPOConfig,
    ProgramCueDetector,
    build_intervened_pairs,
    continuation_safety,
    intervened_po,
)
from guardopt.align.model import TinyCausalLM, TinyLMConfig  # noqa: E402
from guardopt.align.tokenizer import Tokenizer  # noqa: E402
from guardopt.align.trainers import frozen_copy  # noqa: E402
from guardopt.core.errors import GuardoptError  # noqa: E402
from guardopt.problems.safe_steps import (  # noqa: E402
    COMPLIANCE_CUES,
    SAFE_STEPS_VOCAB,
    SAFETY_TRIGGERS,
    SafeSteps,
    reward,
)

TOK = Tokenizer(SAFE_STEPS_VOCAB)
DET = ProgramCueDetector(COMPLIANCE_CUES)


def test_program_detector_finds_the_first_cue_step() -> None:
    assert DET.first_cue("1 + 2 = 3 ; SAFE ; SURE ; OK ; A 3".split()) == 8
    assert DET.first_cue("1 + 2 = 3 ; OK ; X 1".split()) == 6
    assert DET.first_cue("1 + 2 = 3 ; SAFE ; R".split()) is None
    assert DET.first_cue("OK".split()) == 0
    assert DET.first_cue("OKAY ; X".split()) is None  # a step must equal a cue, not contain one
    with pytest.raises(GuardoptError, match="'cues'"):
        ProgramCueDetector(())


class BigramLM(torch.nn.Module):
    """A scripted policy whose next word depends only on the last one (SafeSteps-shaped traces)."""

    def __init__(self) -> None:
        super().__init__()
        self.config = TinyLMConfig(len(TOK), max_len=40)
        table = torch.full((len(TOK), len(TOK)), 1e-6)
        rules = {"digit": {";": 0.7, "<eos>": 0.3}, ";": {"OK": 0.4, "X": 0.2, "A": 0.2, "R": 0.1, "SAFE": 0.1},
                 "OK": {";": 1.0}, "SURE": {";": 1.0}, "SAFE": {";": 0.5, "CHECK": 0.5}, "CHECK": {";": 1.0},
                 "X": {"1": 1.0}, "A": {"3": 1.0}, "R": {"<eos>": 1.0}}
        for word, nxt in rules.items():
            rows = [str(d) for d in range(10)] if word == "digit" else [word]
            for r in rows:
                for w, p in nxt.items():
                    table[TOK.id(r), TOK.id(w)] = p
        self.logits = torch.nn.Parameter(table.log())

    def forward_cached(self, ids, cache):
        return self.logits[ids], cache

    def forward(self, ids):
        return self.logits[ids]


def _setup():
    torch.set_num_threads(1)
    model = BigramLM()
    prompts = SafeSteps().prompts(24, seed=0, kinds=["harmful", "jailbreak"])

    def encode(p):
        return TOK.encode(p.tokens(), bos=True)

    return model, prompts, encode


def test_pairs_share_the_prefix_and_differ_from_h_on() -> None:
    model, prompts, encode = _setup()
    # Accept every intervened trace, to check the construction itself.
    cfg = IntervenedPOConfig(require_safe=False, max_rounds=1, max_new=12)
    pairs, stats = build_intervened_pairs(model, prompts, encode, lambda p, c: reward(p, TOK.tokens(c)) >= 1, TOK,
                                          DET, SAFETY_TRIGGERS, cfg, seed=0, budget=400, chunk=200)
    assert stats.generations <= 400 and stats.pairs == len(pairs) > 0
    for pair in pairs:
        h = pair.start
        assert pair.chosen[:h] == pair.rejected[:h]
        assert pair.chosen[h] != pair.rejected[h]
        words = TOK.tokens(pair.rejected)
        cue_at = DET.first_cue(words)
        assert cue_at is not None and h >= cue_at
        chosen_words = TOK.tokens(pair.chosen)
        assert any(tuple(chosen_words[cue_at: cue_at + len(t)]) == t for t in SAFETY_TRIGGERS)


def test_safety_filter_keeps_only_safe_chosen_traces() -> None:
    model, prompts, encode = _setup()
    cfg = IntervenedPOConfig(require_safe=True, max_rounds=2, max_new=12)

    def safe(p, c):
        return reward(p, TOK.tokens(c)) >= 1

    pairs, _ = build_intervened_pairs(model, prompts, encode, safe, TOK, DET, SAFETY_TRIGGERS, cfg, seed=1,
                                      budget=300, chunk=150)
    owner = {tuple(encode(p)): p for p in prompts}
    for pair in pairs:
        p = owner[pair.prompt]
        assert safe(p, list(pair.chosen)) and not safe(p, list(pair.rejected))


def test_training_on_pairs_moves_the_margin_toward_the_chosen() -> None:
    from guardopt.align.model import token_logps
    from guardopt.align.trainers import completion_batch

    sampler, prompts, encode = _setup()
    model = TinyCausalLM(TinyLMConfig(len(TOK), d_model=16, n_heads=2, max_len=40), seed=0)
    cfg = IntervenedPOConfig(require_safe=False, max_rounds=1, max_new=12, epochs=3, lr=1e-2, batch_size=16)
    pairs, _ = build_intervened_pairs(sampler, prompts, encode, lambda p, c: False, TOK, DET, SAFETY_TRIGGERS, cfg,
                                      seed=0, budget=400, chunk=200)
    pairs = pairs[:32]
    assert pairs
    ref = frozen_copy(model)

    def margin(m):
        pr = [p.prompt for p in pairs]
        st = [p.start for p in pairs]
        c, cm = completion_batch(pr, [p.chosen for p in pairs], st)
        r, rm = completion_batch(pr, [p.rejected for p in pairs], st)
        with torch.no_grad():
            return float(((token_logps(m, c) * cm).sum(1) - (token_logps(m, r) * rm).sum(1)).mean())

    before = margin(model)
    log = intervened_po(model, ref, pairs, cfg, seed=0)
    assert len(log.rows) == 3 * 2 and margin(model) > before + 0.5


def test_continuation_safety_is_a_share() -> None:
    model, prompts, encode = _setup()
    v = continuation_safety(model, encode(prompts[0]), lambda c: TOK.eos_id in c, TOK.eos_id, n=8, max_new=6)
    assert 0.0 <= v <= 1.0 and v * 8 == int(v * 8)


def test_config_names_bad_parameters() -> None:
    with pytest.raises(GuardoptError, match="'beta'"):
        IntervenedPOConfig(beta=0.0)
    with pytest.raises(GuardoptError, match="'max_rounds'"):
        IntervenedPOConfig(max_rounds=0)
    with pytest.raises(GuardoptError, match=r"'sft_weight'.*IntervenedPOConfig"):
        IntervenedPOConfig(sft_weight=-0.1)
