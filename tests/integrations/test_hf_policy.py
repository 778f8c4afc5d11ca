"""`HFPolicy`: a tiny random Llama driven by guardopt's `token_logps`, `sample` and trainers, offline."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from guardopt.align.model import pad_right, sample, token_logps
from guardopt.align.tokenizer import Tokenizer
from guardopt.core.errors import GuardoptError
from guardopt.integrations.hf_policy import HFPolicy, tiny_llama, word_tokenizer
from guardopt.problems.safe_steps import SAFE_STEPS_VOCAB

TOK = Tokenizer(SAFE_STEPS_VOCAB)


@pytest.fixture(scope="module")
def policy() -> HFPolicy:
    return HFPolicy(tiny_llama(len(TOK), seed=0, hidden_size=32, layers=1, heads=2, intermediate_size=48,
                               max_len=32)).eval()


def _ids() -> torch.Tensor:
    return pad_right([TOK.encode("Q H 3 4 3 + 4 = 7 ; SAFE ; R <eos>", bos=True), TOK.encode("Q B 1 2", bos=True)])


def test_logits_shape_and_token_logps_equal_a_direct_computation(policy: HFPolicy) -> None:
    ids = _ids()
    logits = policy(ids)
    assert logits.shape == (2, ids.shape[1], len(TOK)) and logits.dtype == torch.float32
    with torch.no_grad():
        direct = torch.log_softmax(policy.lm(input_ids=ids[:, :-1]).logits.float(), -1)
        expect = direct.gather(-1, ids[:, 1:, None]).squeeze(-1)
        got = token_logps(policy, ids)
    assert got.shape == (2, ids.shape[1] - 1)
    torch.testing.assert_close(got, expect, rtol=1e-5, atol=1e-6)
    # Right padding does not change the real positions of the short row (causal attention).
    with torch.no_grad():
        alone = token_logps(policy, ids[1:, :5])
    torch.testing.assert_close(got[1, :4], alone[0], rtol=1e-5, atol=1e-5)


def test_cached_continuation_equals_the_full_forward(policy: HFPolicy) -> None:
    ids = _ids()[:1]
    with torch.no_grad():
        full = policy(ids)
        first, cache = policy.forward_cached(ids[:, :5], None)
        rest, _ = policy.forward_cached(ids[:, 5:], cache)
    torch.testing.assert_close(torch.cat([first, rest], 1), full, rtol=1e-4, atol=1e-5)


def test_guardopt_sampler_drives_the_policy_reproducibly(policy: HFPolicy) -> None:
    prefixes = [TOK.encode("Q H 3 4", bos=True)] * 3 + [TOK.encode("Q H J 1 2", bos=True)] * 2
    a = sample(policy, prefixes, 6, TOK.eos_id, torch.Generator().manual_seed(1))
    b = sample(policy, prefixes, 6, TOK.eos_id, torch.Generator().manual_seed(1))
    assert a == b and len(a) == 5 and all(1 <= len(c) <= 6 for c in a)


def test_bad_inputs_raise_guardopt_errors(policy: HFPolicy) -> None:
    with pytest.raises(GuardoptError, match="shape"):
        policy(torch.zeros(3, dtype=torch.long))
    for bad in (torch.tensor([[1, -1]]), torch.tensor([[1, len(TOK)]]), torch.tensor([[1.0, 2.0]])):
        with pytest.raises(GuardoptError, match="integer ids"):
            policy(bad)
    with pytest.raises(GuardoptError, match="max_len"):
        policy(torch.zeros(1, 40, dtype=torch.long))
    with pytest.raises(GuardoptError, match="'lm'"):
        HFPolicy("a model name")  # type: ignore[arg-type]
    with pytest.raises(GuardoptError, match="'eos'"):
        word_tokenizer(["<pad>", "<bos>", "a"])


def test_word_tokenizer_has_guardopt_ids_and_the_init_is_seeded() -> None:
    hf = word_tokenizer(SAFE_STEPS_VOCAB)
    text = "<bos> Q H J 3 4 3 + 4 = 7 ; OK ; X 2 ; A 7 <eos>"
    assert hf(text)["input_ids"] == TOK.encode(text.replace("<bos> ", ""), bos=True)
    a, b = (tiny_llama(len(TOK), seed=5, hidden_size=16, layers=1, heads=2, intermediate_size=16) for _ in range(2))
    state = torch.random.get_rng_state()
    c = tiny_llama(len(TOK), seed=6, hidden_size=16, layers=1, heads=2, intermediate_size=16)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is untouched
    wa, wb, wc = (m.model.embed_tokens.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
