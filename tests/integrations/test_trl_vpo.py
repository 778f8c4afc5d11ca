"""TRL cross-check: our DPO loss against TRL's DPOTrainer, and the VPO subclass, on a tiny random Llama."""

from __future__ import annotations

import copy
import math
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

torch = pytest.importorskip("torch")
trl = pytest.importorskip("trl")
transformers = pytest.importorskip("transformers")
datasets = pytest.importorskip("datasets")
tokenizers = pytest.importorskip("tokenizers")

from guardopt.align.losses import dpo_loss  # noqa: E402
from guardopt.align.vpo import vpo_value  # noqa: E402
from guardopt.core.errors import GuardoptError  # noqa: E402
from guardopt.integrations.trl_vpo import make_vpo_trainer_class  # noqa: E402

pytestmark = pytest.mark.slow

WORDS = ["<pad>", "<eos>", "<unk>", "q", "a", "b", "c", "good", "bad", "yes", "no", "x", "y"]


def _tokenizer():
    vocab = {w: i for i, w in enumerate(WORDS)}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>",
                                                unk_token="<unk>")
    return fast


def _model():
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(vocab_size=len(WORDS), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                   num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32,
                                   pad_token_id=0, eos_token_id=1, bos_token_id=None)
    return transformers.LlamaForCausalLM(cfg)


def _data():
    return datasets.Dataset.from_dict({
        "prompt": ["q a", "q b", "q c", "q a b"],
        "chosen": [" good yes", " good", " yes x", " good y"],
        "rejected": [" bad no", " bad bad", " no", " bad"],
    })


def _args(tmp_path, **kw):
    return trl.DPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, max_steps=2, learning_rate=1e-2,
                         report_to="none", use_cpu=True, logging_steps=1, save_strategy="no", beta=0.5,
                         seed=0, **kw)


def _trainer(cls, tmp_path, **kw):
    model = _model()
    return cls(model=model, ref_model=copy.deepcopy(model), args=_args(tmp_path), train_dataset=_data(),
               processing_class=_tokenizer(), **kw)


def _independent_logps(model, batch):
    """Sequence log-probabilities of the completions, from plain logits (not TRL's fused head)."""
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    tokens = batch["input_ids"][:, 1:]
    per_token = logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    mask = batch["completion_mask"][:, 1:].float()
    return (per_token * mask).sum(dim=1).chunk(2)


def _batch(trainer):
    batch = next(iter(trainer.get_train_dataloader()))
    return {k: v for k, v in batch.items()}


def _perturb(model):
    """Move the policy off the reference (at π = π_ref every DPO loss is log 2, whatever the log-probs)."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen, dtype=p.dtype))


def test_our_dpo_loss_equals_trl_dpo_trainer_loss_on_one_batch(tmp_path):
    trainer = _trainer(trl.DPOTrainer, tmp_path)
    batch = _batch(trainer)
    trainer.model.eval()
    _perturb(trainer.model)
    with torch.no_grad():
        trl_loss = float(trainer.compute_loss(trainer.model, batch))
    pc, pr = _independent_logps(trainer.model, batch)
    rc, rr = _independent_logps(trainer.ref_model, batch)
    ours = float(dpo_loss(pc, pr, rc, rr, beta=0.5).mean())
    assert abs(ours - math.log(2.0)) > 1e-3  # the check is not the trivial one at π = π_ref
    assert ours == pytest.approx(trl_loss, abs=1e-5)


@pytest.mark.parametrize("sign", ["pessimistic", "optimistic"])
def test_vpo_trainer_adds_exactly_the_value_term(tmp_path, sign):
    cls = make_vpo_trainer_class()
    trainer = _trainer(cls, tmp_path, vpo_alpha=0.7, vpo_sign=sign)
    batch = _batch(trainer)
    trainer.model.eval()
    _perturb(trainer.model)  # so that log π ≠ log π_ref and the value term is not zero
    with torch.no_grad():
        loss = float(trainer.compute_loss(trainer.model, batch))
    pc, pr = _independent_logps(trainer.model, batch)
    rc, rr = _independent_logps(trainer.ref_model, batch)
    s = 1.0 if sign == "optimistic" else -1.0
    value = vpo_value(pc, rc, beta=0.5)
    assert abs(float(value)) > 1e-4
    expected = float(dpo_loss(pc, pr, rc, rr, beta=0.5).mean() - s * 0.7 * value)
    assert loss == pytest.approx(expected, abs=1e-5)


def test_vpo_trainer_trains_and_refuses_bad_settings(tmp_path):
    cls = make_vpo_trainer_class()
    trainer = _trainer(cls, tmp_path, vpo_alpha=0.5)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train()
    changed = [not torch.equal(b, p.detach()) for b, p in zip(before, trainer.model.parameters())]
    assert any(changed)
    with pytest.raises(GuardoptError, match="vpo_alpha"):
        _trainer(cls, tmp_path, vpo_alpha=-1.0)
    with pytest.raises(GuardoptError, match="vpo_sign"):
        _trainer(cls, tmp_path, vpo_sign="neutral")
    model = _model()
    with pytest.raises(GuardoptError, match="loss_type"):
        cls(model=model, ref_model=copy.deepcopy(model), args=_args(tmp_path / "ipo", loss_type=["ipo"]),
            train_dataset=_data(), processing_class=_tokenizer())


def test_the_trl_module_exposes_the_same_vpo_trainer_class() -> None:
    from guardopt.integrations.trl import VPOTrainer

    assert VPOTrainer._build() is make_vpo_trainer_class()  # type: ignore[attr-defined]
