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
    recs = intervened_pairs_to_records(pairs, lambda ids: t.decode(ids, skip_special=False))
    assert recs[0]["prompt"] == "<bos> Q H 3 4 3 + 4 = 7 ;" and recs[0]["chosen"] == " SAFE ; R <eos>"
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


def _grpo_trainer(cls, tmp_path, model, tok, beta: float):
    from datasets import Dataset
    from trl import GRPOConfig

    def reward(completions, **kwargs):  # varies within a group: the number of "SAFE" tokens
        return [float(str(c).count("SAFE")) + 0.1 * len(str(c)) for c in completions]

    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4, max_steps=1,
                      max_completion_length=6, report_to="none", use_cpu=True, beta=beta, loss_type="grpo",
                      logging_steps=1, save_strategy="no", epsilon=0.2, epsilon_high=0.28, seed=0)
    data = Dataset.from_list([{"prompt": "Q H 3 4"}, {"prompt": "Q B 2 5"}] * 4)
    return cls(model=model, reward_funcs=reward, args=args, train_dataset=data, processing_class=tok)


@pytest.mark.slow
@pytest.mark.parametrize("beta", [0.0, 0.04])
def test_guardopt_grpo_trainer_matches_trl_grpo_loss(tmp_path, beta: float) -> None:
    from trl import GRPOTrainer

    from guardopt.integrations.trl import GuardoptGRPOTrainer

    model, tok = _tiny(0)
    # Built with beta = 0 (TRL would otherwise load a reference model by name); the KL term is then
    # switched on with an explicit reference's log-probabilities in the batch.
    theirs = _grpo_trainer(GRPOTrainer, tmp_path / "a", model, tok, 0.0)
    ours = _grpo_trainer(GuardoptGRPOTrainer, tmp_path / "b", model, tok, 0.0)
    batch = next(iter(theirs.get_train_dataloader()))
    inputs = theirs._generate_and_score_completions(batch)
    assert float(inputs["advantages"].abs().sum()) > 0  # rewards varied within the groups
    torch.manual_seed(3)
    with torch.no_grad():
        ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1)
        att = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
        before, _, _ = theirs._get_per_token_logps_and_entropies(model, ids, att, inputs["completion_ids"].size(1))
        # The sampling policy's log-probabilities, then the policy moved off it: the ratio and the
        # clip are exercised (with no old log-probabilities both trainers take ratio = 1).
        inputs["old_per_token_logps"] = before
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
        if beta:
            inputs["ref_per_token_logps"] = before  # the KL to the unmoved policy
            theirs.beta = ours.beta = beta
        model.eval()
        a = ours._compute_loss(model, inputs)
        b = theirs._compute_loss(model, inputs)
    assert float(a) == pytest.approx(float(b), rel=1e-4, abs=1e-6)
    assert float(a) != pytest.approx(0.0, abs=1e-6)
