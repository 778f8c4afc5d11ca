"""Audit fixes of the TRL / transformers adapters: records that TRL tokenizes back into guardopt's ids,
TRL settings the guardopt losses would ignore raise, and the tiny-Llama / word-tokenizer builders check input."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("transformers")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from guardopt.core.errors import InvalidParameterError, UnsupportedError

VOCAB = ["<pad>", "<bos>", "<eos>", "a", "b", ";", "SAFE"]


def _pairs():
    from guardopt.align.trainers import PreferencePair

    return [PreferencePair((1, 3), (4, 5, 6, 2), (4, 5, 3, 2), start=2)] * 2


def test_intervened_records_tokenize_back_to_guardopt_ids() -> None:
    from guardopt.align.tokenizer import Tokenizer
    from guardopt.integrations.hf_policy import word_tokenizer
    from guardopt.integrations.trl import intervened_pairs_to_records

    tok, hf = Tokenizer(VOCAB), word_tokenizer(VOCAB)
    r = intervened_pairs_to_records(_pairs(), lambda ids: tok.decode(ids, skip_special=False))[0]
    # TRL tokenizes prompt + chosen as one text: ";SAFE" used to merge into one unknown word (the pad id).
    assert hf(r["prompt"] + r["chosen"])["input_ids"] == [1, 3, 4, 5, 6, 2]
    assert hf(r["prompt"] + r["rejected"])["input_ids"] == [1, 3, 4, 5, 3, 2]


def _dpo(cls, tmp_path, **args):
    from datasets import Dataset
    from trl import DPOConfig

    from guardopt.align.tokenizer import Tokenizer
    from guardopt.integrations.hf_policy import tiny_llama, word_tokenizer
    from guardopt.integrations.trl import intervened_pairs_to_records

    tok = Tokenizer(VOCAB)
    recs = intervened_pairs_to_records(_pairs(), lambda ids: tok.decode(ids, skip_special=False))
    kw = dict(hidden_size=16, layers=1, heads=2, intermediate_size=16, max_len=16)
    cfg = DPOConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, per_device_train_batch_size=2,
                    max_steps=1, save_strategy="no", **args)
    return cls(model=tiny_llama(len(VOCAB), 0, **kw), ref_model=tiny_llama(len(VOCAB), 1, **kw), args=cfg,
               train_dataset=Dataset.from_list(recs), processing_class=word_tokenizer(VOCAB))


@pytest.mark.parametrize("args", [{"loss_type": ["ipo"]}, {"label_smoothing": 0.1}])
def test_intervened_po_trainer_refuses_settings_it_would_ignore(tmp_path, args) -> None:
    from guardopt.integrations.trl import IntervenedPOTrainer

    with pytest.raises(UnsupportedError):
        _dpo(IntervenedPOTrainer, tmp_path, **args)
    assert _dpo(IntervenedPOTrainer, tmp_path / "ok").sft_weight == 0.2


def test_vpo_trainer_refuses_label_smoothing(tmp_path) -> None:
    from guardopt.integrations.trl import VPOTrainer

    with pytest.raises(UnsupportedError):
        _dpo(VPOTrainer, tmp_path, label_smoothing=0.1)


@pytest.mark.parametrize("args", [{}, {"loss_type": "grpo", "importance_sampling_level": "sequence"},
                                  {"loss_type": "grpo", "delta": 2.0}])
def test_guardopt_grpo_trainer_refuses_settings_it_would_ignore(tmp_path, args) -> None:
    from datasets import Dataset
    from trl import GRPOConfig

    from guardopt.integrations.hf_policy import tiny_llama, word_tokenizer
    from guardopt.integrations.trl import GuardoptGRPOTrainer

    cfg = GRPOConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, per_device_train_batch_size=2,
                     num_generations=2, max_steps=1, max_completion_length=3, save_strategy="no", **args)
    with pytest.raises(UnsupportedError):  # TRL's default loss_type is "dapo"; grpo_loss is "grpo"
        GuardoptGRPOTrainer(model=tiny_llama(len(VOCAB), 0, hidden_size=16, layers=1, heads=2,
                                             intermediate_size=16, max_len=16),
                            reward_funcs=lambda completions, **_: [0.0] * len(completions), args=cfg,
                            train_dataset=Dataset.from_list([{"prompt": "<bos> a"}] * 2),
                            processing_class=word_tokenizer(VOCAB))


@pytest.mark.parametrize("kw", [{"hidden_size": 30, "heads": 4}, {"layers": 0}, {"max_len": True},
                                {"pad_id": 99}, {"intermediate_size": 2.5}])
def test_tiny_llama_checks_its_architecture(kw) -> None:
    from guardopt.integrations.hf_policy import tiny_llama

    with pytest.raises(InvalidParameterError):
        tiny_llama(len(VOCAB), 0, **kw)


def test_word_tokenizer_rejects_duplicate_or_spaced_words() -> None:
    from guardopt.integrations.hf_policy import word_tokenizer

    with pytest.raises(InvalidParameterError, match="'vocab'"):
        word_tokenizer(["<pad>", "<bos>", "<eos>", "a", "a", "b"])  # ids shifted silently
    with pytest.raises(InvalidParameterError, match="'vocab'"):
        word_tokenizer(["<pad>", "<bos>", "<eos>", "a b"])  # "a b" became two pad ids
