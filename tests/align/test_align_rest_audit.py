"""Audit fixes of the tokenizer, the tiny LM's sampler, CALM, Intervened PO, the flow model, the image prefix LM
and the vision dual encoder: bad input raises guardopt's own errors, nothing silently hangs or returns NaN."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from guardopt.align.calm import CALMConfig, Intervention, ProgramIntervener, build_calm_traces  # noqa: E402
from guardopt.align.flow import FlowConfig, fit_rectified_flow  # noqa: E402
from guardopt.align.intervened import (  # noqa: E402
    IntervenedPOConfig,
    ProgramCueDetector,
    build_benign_pairs,
    build_intervened_pairs,
)
from guardopt.align.model import TinyCausalLM, TinyLMConfig, sample  # noqa: E402
from guardopt.align.multimodal import ImagePrefixLM, check_images  # noqa: E402
from guardopt.align.tokenizer import Tokenizer  # noqa: E402
from guardopt.core.errors import InputDataError, InvalidParameterError  # noqa: E402

VOCAB = ["<pad>", "<bos>", "<eos>", "a", "b", ";", "hint:x", "SAFE"]


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer(VOCAB)


@pytest.fixture(scope="module")
def lm() -> TinyCausalLM:
    torch.set_num_threads(1)
    return TinyCausalLM(TinyLMConfig(len(VOCAB), d_model=8, n_heads=2, n_layers=1, max_len=20), seed=0)


# --- tokenizer -------------------------------------------------------------------------------------


def test_tokenizer_rejects_words_with_any_whitespace() -> None:
    # "a\tb" could never be encoded back (encode splits on every whitespace).
    with pytest.raises(InvalidParameterError, match="'vocab'"):
        Tokenizer(["<pad>", "<bos>", "<eos>", "a\tb"])


def test_tokenizer_rejects_fractional_ids_and_odd_words(tok: Tokenizer) -> None:
    with pytest.raises(InputDataError, match="whole numbers"):
        tok.tokens([1.7])  # was silently read as id 1
    assert tok.decode([np.int64(3), torch.tensor(4)]) == "a b"
    with pytest.raises(InputDataError):
        tok.id(["a"])  # type: ignore[arg-type]  # was a TypeError (unhashable)


# --- model / sampler -------------------------------------------------------------------------------


def test_sample_checks_batch_size_temperature_and_ids(tok: Tokenizer, lm: TinyCausalLM) -> None:
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(InvalidParameterError, match="'batch_size'"):
        sample(lm, [[1]], 3, tok.eos_id, gen, batch_size=-1)  # returned empty continuations
    with pytest.raises(InvalidParameterError, match="'batch_size'"):
        sample(lm, [[1]], 3, tok.eos_id, gen, batch_size=0)  # ValueError from range()
    for bad in (float("inf"), True):
        with pytest.raises(InvalidParameterError, match="'temperature'"):
            sample(lm, [[1]], 3, tok.eos_id, gen, temperature=bad)
    with pytest.raises(InvalidParameterError, match="'eos_id'"):
        sample(lm, [[1]], 3, 99, gen)
    with pytest.raises(InputDataError, match="ids"):
        sample(lm, [[99]], 3, tok.eos_id, gen)  # IndexError inside the embedding
    with pytest.raises(InputDataError, match="ids"):
        lm(torch.tensor([[1.0, 2.0]]))


# --- CALM ------------------------------------------------------------------------------------------


def test_intervention_rejects_a_bare_string_hint() -> None:
    with pytest.raises(InvalidParameterError, match="'hint'"):
        Intervention(1, "hint:x")  # type: ignore[arg-type]  # was split into characters
    assert Intervention(1, ("hint:x",)).hint == ("hint:x",)


def test_build_calm_traces_checks_the_intervener_result_and_seed(tok: Tokenizer, lm: TinyCausalLM) -> None:
    class Bad:
        def intervene(self, prompt, words):
            return (0, "x")

    cfg = CALMConfig(max_new=4)
    args = (lm, ["p"], lambda p: [1], lambda p, c: True)
    with pytest.raises(InputDataError, match="Intervention"):
        build_calm_traces(*args, Bad(), tok, cfg, 0, 2)
    ok = ProgramIntervener(lambda p, w: None)
    for bad in (1.5, True, "x"):
        with pytest.raises(InvalidParameterError, match="'seed'"):
            build_calm_traces(*args, ok, tok, cfg, bad, 2)


def test_calm_docs_snippet_prints_no_nan_share() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "calm.md").read_text()
    assert "hint share {stats.hint_fraction:.2%}" not in text


# --- Intervened PO ---------------------------------------------------------------------------------


def test_build_intervened_pairs_rejects_a_zero_chunk_instead_of_looping(tok: Tokenizer, lm: TinyCausalLM) -> None:
    cfg = IntervenedPOConfig(max_new=4)
    det = ProgramCueDetector((("a",),))
    args = (lm, ["p"], lambda p: [1], lambda p, c: False, tok, det, [["SAFE"]], cfg, 0)
    with pytest.raises(InvalidParameterError, match="'chunk'"):
        build_intervened_pairs(*args, chunk=0)  # looped forever
    for bad in (-3, True):
        with pytest.raises(InvalidParameterError, match="'budget'"):
            build_intervened_pairs(*args, budget=bad)


def test_build_benign_pairs_checks_triggers_budget_and_chunk(tok: Tokenizer, lm: TinyCausalLM) -> None:
    cfg = IntervenedPOConfig(max_new=4)
    args = (lm, ["p"], lambda p: [1], lambda p, c: True, tok)
    with pytest.raises(InvalidParameterError, match="'triggers'"):
        build_benign_pairs(*args, [], cfg, 0, budget=40)  # RuntimeError inside torch.randint
    with pytest.raises(InvalidParameterError, match="'budget'"):
        build_benign_pairs(*args, [["SAFE"]], cfg, 0, budget="4")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'chunk'"):
        build_benign_pairs(*args, [["SAFE"]], cfg, 0, budget=4, chunk=0)


def test_program_cue_detector_rejects_bare_string_cues_and_accepts_lists() -> None:
    with pytest.raises(InvalidParameterError, match="'cues'"):
        ProgramCueDetector(("OK",))  # type: ignore[arg-type]  # never matched any step
    with pytest.raises(InvalidParameterError, match="'sep'"):
        ProgramCueDetector((("OK",),), sep=5)  # type: ignore[arg-type]
    det = ProgramCueDetector([["OK"]])  # type: ignore[arg-type]  # a list cue never matched
    assert det.first_cue(["a", ";", "OK", ";"]) == 2


# --- flow / multimodal -----------------------------------------------------------------------------


def test_fit_rectified_flow_refuses_a_non_finite_loss() -> None:
    torch.set_num_threads(1)
    with pytest.raises(InputDataError, match="not finite"):  # returned a model with NaN weights
        fit_rectified_flow([[1e30, 1e30], [1.0, 1.0]], FlowConfig(steps=3, batch_size=2, hidden=4))
    with pytest.raises(InvalidParameterError, match="'seed'"):
        fit_rectified_flow([[0.0, 0.0]], FlowConfig(steps=1, batch_size=1, hidden=4), seed=1.5)


def test_check_images_rejects_complex_and_image_prefix_lm_rejects_non_lms() -> None:
    with pytest.raises(InputDataError, match="real"):
        check_images(torch.zeros(1, 2, dtype=torch.complex64), 2, "o")  # imaginary part silently dropped
    with pytest.raises(InvalidParameterError, match="'lm'"):
        ImagePrefixLM(object(), d_image=2)  # type: ignore[arg-type]


# --- vision ----------------------------------------------------------------------------------------


def _vision():
    pytest.importorskip("peft")
    from guardopt.align.vision import DualEncoder, DualEncoderConfig
    from guardopt.problems.shapes_clip import VOCAB as SV

    cfg = DualEncoderConfig(width=8, embed_dim=8, text_layers=1, image_channels=(2, 2, 2), heads=2,
                            vocab_size=len(SV), vocab=tuple(SV), max_tokens=8)
    torch.manual_seed(0)
    return cfg, DualEncoder(cfg), SV


def test_vision_tokenize_rejects_empty_captions() -> None:
    from guardopt.align.vision import accuracy, tokenize

    cfg, enc, sv = _vision()
    for bad in ("", sv[0]):
        with pytest.raises(InvalidParameterError, match="'texts'"):
            tokenize(cfg, [bad])  # embedded as NaN
    images = np.random.default_rng(0).random((2, 3, 16, 16))
    with pytest.raises(InvalidParameterError, match="'texts'"):
        accuracy(enc, images, [0, 1], ["", sv[1]])  # a silent 0.5 from a NaN row


def test_vision_config_add_lora_and_seeds_are_checked() -> None:
    from guardopt.align.vision import DualEncoderConfig, LoRATuningConfig, PretrainConfig, add_lora, pretrain, tune

    with pytest.raises(InvalidParameterError, match="'vocab'"):
        DualEncoderConfig(vocab=("<pad>", "b c"))
    cfg, enc, sv = _vision()
    with pytest.raises(InvalidParameterError, match="'rank'"):
        add_lora(enc, 0, 4)  # ValueError from peft
    with pytest.raises(InvalidParameterError, match="'rank'"):
        add_lora(enc, 2.7, 4)  # type: ignore[arg-type]  # silently rank 2
    images = np.random.default_rng(0).random((2, 3, 16, 16))
    with pytest.raises(InvalidParameterError, match="'seed'"):
        pretrain(images, [sv[1], sv[2]], PretrainConfig(steps=1, batch_size=2, pairs=2, encoder=cfg), seed=1.5)
    with pytest.raises(InvalidParameterError, match="'seed'"):
        tune(enc, images, [0, 1], [sv[1], sv[2]], LoRATuningConfig(epochs=1, batch_size=2), seed=1.5)
