"""Fail-closed contract of the vision package: adversarial images, labels and configs give a valid
result or a GuardoptError naming the parameter, never a raw error or an accuracy from non-finite pixels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from guardopt.align.vision import DualEncoder, DualEncoderConfig, GLADTuningConfig, LoRATuningConfig, accuracy  # noqa: E402
from guardopt.optim import GLADConfig  # noqa: E402
from guardopt.problems.shapes_clip import VOCAB  # noqa: E402
from guardopt.testing.contracts import (  # noqa: E402
    adversarial_arrays,
    adversarial_scalars,
    assert_contract,
    contract_settings,
    is_finite_data,
)

TINY = DualEncoderConfig(width=8, embed_dim=8, text_layers=1, image_channels=(4, 4, 4), heads=2,
                         vocab=VOCAB)
torch.manual_seed(0)
MODEL = DualEncoder(TINY).eval()
PROMPTS = ("a photo of a red circle", "a photo of a blue ring")


@contract_settings(0.5)
@given(st.one_of(adversarial_arrays(max_dims=2), st.builds(lambda v: np.full((2, 3, 16, 16), v),
                                                           st.floats(allow_nan=True, allow_infinity=True))),
       adversarial_arrays(max_dims=1))
def test_accuracy_takes_any_images_and_labels(images, labels) -> None:
    out = assert_contract(accuracy, MODEL, images, labels, PROMPTS, names=("images", "labels", "accuracy"))
    if out.ok:
        assert is_finite_data(images)
        assert 0.0 <= out.result <= 1.0


@contract_settings()
@given(adversarial_scalars(), adversarial_scalars())
def test_glad_configs_take_any_numbers(rho, gamma) -> None:
    for cls in (GLADConfig, GLADTuningConfig):
        out = assert_contract(cls, rho=rho, gamma=gamma, names=("rho", "gamma"))
        if out.ok:
            assert out.result.rho > 0 and np.isfinite(out.result.gamma)


@contract_settings()
@given(adversarial_scalars(), adversarial_scalars(), adversarial_scalars())
def test_lora_config_takes_any_numbers(rank, lr, epochs) -> None:
    out = assert_contract(LoRATuningConfig, rank=rank, lr=lr, epochs=epochs, names=("rank", "lr", "epochs"))
    if out.ok:
        assert out.result.rank >= 1 and out.result.lr > 0 and out.result.epochs >= 1
