"""The tokenizer and the tiny causal LM: round trips, normalized log-probabilities, cached sampling."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from guardopt.align.model import TinyCausalLM, TinyLMConfig, pad_right, sample, step_logps, token_logps  # noqa: E402
from guardopt.align.tokenizer import Tokenizer  # noqa: E402
from guardopt.core.errors import GuardoptError  # noqa: E402
from guardopt.problems.safe_steps import SAFE_STEPS_VOCAB  # noqa: E402

TOK = Tokenizer(SAFE_STEPS_VOCAB)


def _model(seed: int = 0) -> TinyCausalLM:
    torch.set_num_threads(1)
    return TinyCausalLM(TinyLMConfig(len(TOK), d_model=32, max_len=24), seed=seed)


def test_tokenizer_round_trip_and_errors() -> None:
    text = "Q H J 3 4 3 + 4 = 7 ; OK ; X 2 ; A 7 <eos>"
    ids = TOK.encode(text, bos=True)
    assert ids[0] == TOK.bos_id and TOK.decode(ids) == text
    assert len(TOK) == len(SAFE_STEPS_VOCAB) <= 48
    with pytest.raises(GuardoptError, match="not in the vocabulary"):
        TOK.encode("Q nope")
    with pytest.raises(GuardoptError, match="'vocab'"):
        Tokenizer(["<pad>", "<bos>", "<bos>", "<eos>"])


def test_log_probabilities_sum_to_one_over_the_vocabulary() -> None:
    m = _model()
    ids = pad_right([TOK.encode("Q B 1 2", bos=True), TOK.encode("Q H 3", bos=True)])
    probs = torch.softmax(m(ids), dim=-1).sum(-1)
    assert torch.allclose(probs, torch.ones_like(probs), atol=1e-5)
    lp = token_logps(m, ids)
    assert lp.shape == (2, ids.shape[1] - 1) and bool((lp <= 0).all())


def test_right_padding_does_not_change_earlier_log_probabilities() -> None:
    m = _model()
    a = TOK.encode("Q B 1 2 1 + 2", bos=True)
    alone = token_logps(m, pad_right([a]))
    padded = token_logps(m, pad_right([a, a + TOK.encode("= 3 ; A 3")]))[0, : alone.shape[1]]
    assert torch.allclose(alone[0], padded, atol=1e-5)


def test_cache_matches_the_full_forward_pass() -> None:
    m = _model()
    ids = pad_right([TOK.encode("Q B 1 2 1 + 2 =", bos=True)])
    full = m(ids)
    _, cache = m.forward_cached(ids[:, :5], None)
    step, _ = m.forward_cached(ids[:, 5:6], cache)
    assert torch.allclose(full[:, 5], step[:, 0], atol=1e-5)


def test_sampling_is_seeded_and_stops_at_eos() -> None:
    m = _model()
    prefixes = [TOK.encode("Q B 1 2", bos=True), TOK.encode("Q H J 1 2", bos=True)] * 3
    a = sample(m, prefixes, 10, TOK.eos_id, torch.Generator().manual_seed(3))
    b = sample(m, prefixes, 10, TOK.eos_id, torch.Generator().manual_seed(3))
    assert a == b and len(a) == 6
    assert all(len(s) <= 10 and (TOK.eos_id not in s[:-1]) for s in a)
    with pytest.raises(GuardoptError, match="'temperature'"):
        sample(m, prefixes, 5, TOK.eos_id, torch.Generator(), temperature=0.0)


def test_step_log_probabilities_sum_tokens_within_steps() -> None:
    lp = torch.tensor([[-1.0, -2.0, -3.0, -4.0]])
    steps = torch.tensor([[0, 0, 1, -1]])
    assert step_logps(lp, steps, 2).tolist() == [[-3.0, -3.0]]


def test_config_validation_names_parameters() -> None:
    with pytest.raises(GuardoptError, match="'n_heads'"):
        TinyLMConfig(27, d_model=30, n_heads=4)
    with pytest.raises(GuardoptError, match="'vocab_size'"):
        TinyLMConfig(1)
    with pytest.raises(GuardoptError, match="max_len"):
        _model()(torch.zeros(1, 30, dtype=torch.long))


def test_a_prefix_sits_before_the_tokens_and_only_in_the_first_call() -> None:
    m = TinyCausalLM(TinyLMConfig(vocab_size=8, d_model=16, n_heads=2, max_len=10), seed=0)
    ids = torch.tensor([[1, 3, 4]])
    prefix = m.tok(torch.tensor([[5, 6]])).detach()
    h, cache = m.hidden_cached(ids, None, prefix=prefix)
    # A prefix of token embeddings is the same as those tokens in front.
    assert torch.allclose(h, m.hidden_states(torch.tensor([[5, 6, 1, 3, 4]])), atol=1e-6)
    assert cache[0][0].shape[2] == 5
    with pytest.raises(GuardoptError, match="prefix"):
        m.hidden_cached(ids, cache, prefix=prefix)
    with pytest.raises(GuardoptError, match="max_len"):
        m.hidden_cached(torch.ones(1, 9, dtype=torch.long), None, prefix=prefix)
