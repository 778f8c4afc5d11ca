"""The tiny dual encoder, its contrastive loss, and few-shot LoRA / GLAD tuning through peft."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from guardopt.align.vision import (  # noqa: E402
    LORA_TARGETS,
    DualEncoder,
    DualEncoderConfig,
    GLADTuningConfig,
    LoRATuningConfig,
    PretrainConfig,
    accuracy,
    add_lora,
    clip_loss,
    pretrain,
    tune,
    zero_shot_accuracy,
)
from guardopt.core.errors import InputDataError, InvalidParameterError  # noqa: E402
from guardopt.problems.shapes_clip import VOCAB, ShapesCLIP, pretraining_pairs, tokenize  # noqa: E402

TINY = DualEncoderConfig(width=8, embed_dim=8, text_layers=1, image_channels=(4, 8, 8), heads=2, vocab=VOCAB)


@pytest.fixture(scope="module")
def encoder() -> DualEncoder:
    torch.manual_seed(0)
    return DualEncoder(TINY).eval()


@pytest.fixture(scope="module")
def few_shot():
    return ShapesCLIP(0).few_shot(2, seed=0)


def test_clip_loss_matches_the_hand_computed_value() -> None:
    # Distinct captions: each direction is the cross-entropy of [[1, 0], [0, 1]] = log(1 + e^-1).
    logits = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert float(clip_loss(logits, torch.tensor([0, 1]))) == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)
    # Two copies of one caption: the targets are uniform over the pair, so the loss is log 2 here.
    assert float(clip_loss(torch.zeros(2, 2), torch.tensor([3, 3]))) == pytest.approx(math.log(2), abs=1e-6)


def test_towers_give_unit_embeddings(encoder: DualEncoder, few_shot) -> None:
    x = torch.from_numpy(few_shot.images[:5])
    tok = torch.from_numpy(tokenize(few_shot.prompts))
    assert encoder.encode_image(x).shape == (5, 8)
    assert torch.allclose(encoder.encode_text(tok).norm(dim=-1), torch.ones(len(few_shot.prompts)), atol=1e-5)
    assert encoder.logits(x, tok).shape == (5, 20)


def test_lora_targets_qkv_of_both_towers_and_starts_as_the_base(encoder: DualEncoder, few_shot) -> None:
    peft_model = add_lora(encoder, rank=2, alpha=4)
    names = [n for n, _ in peft_model.named_parameters() if "lora_A" in n]
    assert any(".text." in n for n in names) and any(".image." in n for n in names)
    assert {n.split(".lora_A")[0].rsplit(".", 1)[-1] for n in names} == set(LORA_TARGETS)
    assert len(names) == 3 * (TINY.text_layers + 1)
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    x = torch.from_numpy(few_shot.images[:4])
    tok = torch.from_numpy(tokenize(few_shot.prompts))
    with torch.no_grad():
        assert torch.allclose(peft_model.logits(x, tok), encoder.logits(x, tok), atol=1e-6)


def test_tuning_leaves_the_base_weights_frozen(encoder: DualEncoder, few_shot) -> None:
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    tuned = tune(encoder, few_shot.images, few_shot.labels, few_shot.prompts,
                 LoRATuningConfig(lr=5e-2, epochs=2, batch_size=20), seed=0)
    for k, v in encoder.state_dict().items():  # the pre-trained model is untouched
        assert torch.equal(v, before[k])
    base_in_tuned = {n.replace("base_model.model.", "").replace(".base_layer", ""): p
                     for n, p in tuned.named_parameters() if "lora_" not in n}
    for k, v in base_in_tuned.items():  # and so are the frozen weights inside the tuned copy
        assert torch.equal(v.detach(), before[k]), k
    lora_b = [p for n, p in tuned.named_parameters() if "lora_B" in n]
    assert any(float(p.abs().sum()) > 0 for p in lora_b)  # while the adapters moved


def test_glad_with_gamma_zero_is_plain_lora(encoder: DualEncoder, few_shot) -> None:
    common = {"lr": 5e-2, "epochs": 2, "batch_size": 20}
    a = tune(encoder, few_shot.images, few_shot.labels, few_shot.prompts, LoRATuningConfig(**common), seed=1)
    b = tune(encoder, few_shot.images, few_shot.labels, few_shot.prompts,
             GLADTuningConfig(**common, rho=0.1, gamma=0.0), seed=1)
    c = tune(encoder, few_shot.images, few_shot.labels, few_shot.prompts,
             GLADTuningConfig(**common, rho=0.1, gamma=1.0), seed=1)
    x = torch.from_numpy(few_shot.images)
    tok = torch.from_numpy(tokenize(few_shot.prompts))
    with torch.no_grad():
        assert torch.equal(a.logits(x, tok), b.logits(x, tok))
        assert not torch.equal(a.logits(x, tok), c.logits(x, tok))


def test_pretraining_learns_something() -> None:
    images, captions = pretraining_pairs(600, seed=0)
    cfg = PretrainConfig(pairs=600, steps=60, batch_size=64, lr=1e-2, encoder=TINY)
    model = pretrain(images, captions, cfg, seed=0)
    tok = torch.from_numpy(tokenize(captions[:64]))
    with torch.no_grad():
        logits = model.logits(torch.from_numpy(images[:64]), tok)
    ids = torch.from_numpy(np.unique(np.asarray(captions[:64]), return_inverse=True)[1])
    untrained = DualEncoder(TINY, cfg.temperature)
    with torch.no_grad():
        before = clip_loss(untrained.logits(torch.from_numpy(images[:64]), tok), ids)
    assert float(clip_loss(logits, ids)) < float(before)


def test_accuracy_is_a_share_and_zero_shot_uses_the_views_prompts(encoder: DualEncoder, few_shot) -> None:
    acc = zero_shot_accuracy(encoder, few_shot)
    assert 0.0 <= acc <= 1.0
    assert acc == accuracy(encoder, few_shot.images, few_shot.labels, few_shot.prompts)


def test_bad_inputs_get_the_library_errors(encoder: DualEncoder, few_shot) -> None:
    nan = few_shot.images.copy()
    nan[0, 0, 0, 0] = np.nan
    with pytest.raises(InputDataError, match="NaN"):
        accuracy(encoder, nan, few_shot.labels, few_shot.prompts)
    with pytest.raises(InputDataError, match="shape"):
        accuracy(encoder, few_shot.images[:, :1], few_shot.labels, few_shot.prompts)
    with pytest.raises(InputDataError, match="labels"):
        tune(encoder, few_shot.images, few_shot.labels + 100, few_shot.prompts, LoRATuningConfig(), seed=0)
    with pytest.raises(InvalidParameterError, match="'config' parameter of tune"):
        tune(encoder, few_shot.images, few_shot.labels, few_shot.prompts, {"lr": 1e-3}, seed=0)  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="captions"):
        pretrain(few_shot.images, ["a red circle"], PretrainConfig(encoder=TINY), seed=0)


@pytest.mark.parametrize("make, param", [
    (lambda: DualEncoderConfig(width=7, heads=2), "heads"),
    (lambda: DualEncoderConfig(image_channels=(4, 8)), "image_channels"),
    (lambda: PretrainConfig(lr=0.0), "lr"),
    (lambda: PretrainConfig(encoder="big"), "encoder"),
    (lambda: LoRATuningConfig(rank=0), "rank"),
    (lambda: LoRATuningConfig(epochs=float("nan")), "epochs"),
    (lambda: GLADTuningConfig(rho=0.0), "rho"),
    (lambda: GLADTuningConfig(gamma=float("inf")), "gamma"),
])
def test_configs_are_validated_on_creation(make, param: str) -> None:
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter"):
        make()


def test_on_epoch_sees_the_model_that_a_shorter_run_returns(encoder: DualEncoder, few_shot) -> None:
    # Constant learning rate, batch order drawn per epoch: epoch e of a long run is the e-epoch run,
    # so the reproduction's search over epochs can read every epoch count off one run.
    x, tok = torch.from_numpy(few_shot.images[:6]), torch.from_numpy(tokenize(few_shot.prompts))

    def total(m: torch.nn.Module) -> float:
        with torch.no_grad():
            return float(m.logits(x, tok).sum())  # type: ignore[operator]

    seen: list[float] = []
    cfg3 = LoRATuningConfig(rank=2, alpha=4, lr=3e-2, epochs=3, batch_size=8)
    tune(encoder, few_shot.images, few_shot.labels, few_shot.prompts, cfg3, seed=4,
         on_epoch=lambda e, m: seen.append(total(m)))
    assert len(seen) == 3
    cfg2 = LoRATuningConfig(rank=2, alpha=4, lr=3e-2, epochs=2, batch_size=8)
    short = tune(encoder, few_shot.images, few_shot.labels, few_shot.prompts, cfg2, seed=4)
    assert total(short) == pytest.approx(seen[1], rel=1e-5, abs=1e-5)
    assert seen[2] != pytest.approx(seen[1], rel=1e-6)  # the third epoch moved the adapters
    with pytest.raises(InvalidParameterError, match="on_epoch"):
        tune(encoder, few_shot.images, few_shot.labels, few_shot.prompts, cfg2, seed=4, on_epoch=3)  # type: ignore[arg-type]
