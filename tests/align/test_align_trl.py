"""The TRL subclasses on a tiny random Llama, fully offline: our loss equals TRL's sigmoid loss at λ_SFT = 0."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("transformers")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch


def _tiny(seed: int):
    from tokenizers import Tokenizer as HFTok
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from guardopt.problems.safe_steps import SAFE_STEPS_VOCAB

    vocab = {w: i for i, w in enumerate(SAFE_STEPS_VOCAB)}
    raw = HFTok(WordLevel(vocab, unk_token="<pad>"))
    raw.pre_tokenizer = WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<pad>", bos_token="<bos>", eos_token="<eos>")
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                      pad_token_id=0, bos_token_id=1, eos_token_id=2)
    return LlamaForCausalLM(cfg), tok


def _records():
    from guardopt.align.tokenizer import Tokenizer
    from guardopt.align.trainers import PreferencePair
    from guardopt.integrations.trl import intervened_pairs_to_records
    from guardopt.problems.safe_steps import SAFE_STEPS_VOCAB

    t = Tokenizer(SAFE_STEPS_VOCAB)
    pre = t.encode("Q H 3 4", bos=True)
    shared = t.encode("3 + 4 = 7 ;")
    pairs = [PreferencePair(tuple(pre), tuple(shared + t.encode("SAFE ; R <eos>")),
                            tuple(shared + t.encode("OK ; X 2 ; A 7 <eos>")), start=len(shared))] * 4
    recs = intervened_pairs_to_records(pairs, lambda ids: t.decode(ids))
    assert recs[0]["prompt"] == "Q H 3 4 3 + 4 = 7 ;" and recs[0]["chosen"].startswith("SAFE")
    return recs


def _trainer(cls, tmp_path, **kw):
    from datasets import Dataset
    from trl import DPOConfig

    model, tok = _tiny(0)
    ref, _ = _tiny(1)  # a different reference, so the loss is not trivially log 2
    args = DPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, max_steps=1, report_to="none",
                     use_cpu=True, beta=0.1, loss_type=["sigmoid"], logging_steps=1, save_strategy="no")
    return cls(model=model, ref_model=ref, args=args, train_dataset=Dataset.from_list(_records()),
               processing_class=tok, **kw)


@pytest.mark.slow
def test_intervened_po_trainer_matches_trl_sigmoid_loss_at_zero_sft(tmp_path) -> None:
    from trl import DPOTrainer

    from guardopt.integrations.trl import IntervenedPOTrainer

    ours = _trainer(IntervenedPOTrainer, tmp_path / "a", sft_weight=0.0)
    theirs = _trainer(DPOTrainer, tmp_path / "b")
    batch = next(iter(theirs.get_train_dataloader()))
    with torch.no_grad():
        a = ours.compute_loss(ours.model, batch)
        b = theirs.compute_loss(theirs.model, batch)
        c = _trainer(IntervenedPOTrainer, tmp_path / "c", sft_weight=0.2).compute_loss(ours.model, batch)
    assert float(a) == pytest.approx(float(b), rel=1e-4, abs=1e-5)
    assert float(c) > float(a)  # the SFT term adds a positive NLL
    ours.train()  # one optimizer step runs end to end


@pytest.mark.slow
def test_trainer_needs_an_explicit_reference(tmp_path) -> None:
    from datasets import Dataset
    from trl import DPOConfig

    from guardopt.core.errors import GuardoptError
    from guardopt.integrations.trl import IntervenedPOTrainer

    model, tok = _tiny(0)
    args = DPOConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True)
    with pytest.raises(GuardoptError, match="'ref_model'"):
        IntervenedPOTrainer(model=model, args=args, train_dataset=Dataset.from_list(_records()), processing_class=tok)
