"""The trainers: configs refuse bad values by name, SFT fits, GRPO counts zero-variance groups, budgets add up."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from guardopt.align.model import TinyCausalLM, TinyLMConfig, sample  # noqa: E402
from guardopt.align.tokenizer import Tokenizer  # noqa: E402
from guardopt.align.trainers import (  # noqa: E402
    DPOConfig,
    GRPOConfig,
    PreferencePair,
    RejectionSamplingConfig,
    SFTConfig,
    completion_batch,
    dpo_train,
    frozen_copy,
    grpo_train,
    rejection_sampling_sft,
    sft_train,
)
from guardopt.core.errors import GuardoptError  # noqa: E402

TOK = Tokenizer(["<pad>", "<bos>", "<eos>", "a", "b", "c"])


def _model() -> TinyCausalLM:
    torch.set_num_threads(1)
    return TinyCausalLM(TinyLMConfig(len(TOK), d_model=16, n_heads=2, max_len=8), seed=0)


def test_completion_batch_masks_completion_tokens_from_start() -> None:
    ids, mask = completion_batch([[1, 3]], [[4, 5, 2]], starts=[1])
    assert ids.tolist() == [[1, 3, 4, 5, 2]]
    # mask entry t scores ids[t + 1]: completion tokens are ids[2..4]; start 1 drops ids[2]
    assert mask.tolist() == [[0.0, 0.0, 1.0, 1.0]]


def test_sft_learns_a_deterministic_continuation() -> None:
    m = _model()
    log = sft_train(m, [[1, 3]] * 8, [[4, 5, 2]] * 8, SFTConfig(steps=60, batch_size=8, lr=1e-2), seed=0)
    assert log.rows[-1]["loss"] < 0.1 < log.rows[0]["loss"]
    out = sample(m, [[1, 3]], 5, TOK.eos_id, torch.Generator().manual_seed(0))
    assert out == [[4, 5, 2]]


def test_dpo_prefers_the_chosen_and_logs_evaluations() -> None:
    m = _model()
    ref = frozen_copy(m)
    pairs = [PreferencePair((1, 3), (4, 2), (5, 2))] * 8
    seen = []
    log = dpo_train(m, ref, pairs, DPOConfig(epochs=10, batch_size=8, lr=1e-2), seed=0,
                    callback=lambda s, mod: seen.append(s) or {"x": 1.0}, every=5)
    assert log.rows[-1]["loss"] < log.rows[0]["loss"] and seen == [0, 5, 10]
    with torch.no_grad():
        p = torch.softmax(m(torch.tensor([[1, 3]]))[0, -1], -1)
    assert p[4] > p[5]


def test_grpo_records_zero_variance_groups_and_counts_generations() -> None:
    m = _model()
    ref = frozen_copy(m)
    prompts = ["constant", "varies"]

    def reward(p: str, c: list[int]) -> float:
        return 0.0 if p == "constant" else float(4 in c)

    cfg = GRPOConfig(iterations=3, prompts_per_iter=4, group_size=4, max_new=4)
    log = grpo_train(m, ref, prompts, lambda p: [1, 3], reward, cfg, seed=0, eos_id=TOK.eos_id)
    assert log.generations == cfg.generations == 48
    groups = log.extra["groups"]
    assert len(groups) == 12
    assert all(z for i, z in groups if prompts[i] == "constant")


def test_rejection_sampling_keeps_only_rewarded_samples() -> None:
    m = _model()
    cfg = RejectionSamplingConfig(samples_per_prompt=8, max_new=4, sft=SFTConfig(steps=5, batch_size=4))
    log = rejection_sampling_sft(m, ["p"] * 4, lambda p: [1, 3], lambda p, c: float(c[:1] == [4]), cfg, seed=0,
                                 eos_id=TOK.eos_id)
    assert log.generations == 32 and 0 <= log.extra["kept"] <= 32


@pytest.mark.parametrize(("cls", "kw", "name"), [
    (SFTConfig, {"lr": 0.0}, "lr"), (SFTConfig, {"steps": -1}, "steps"), (DPOConfig, {"beta": -1.0}, "beta"),
    (DPOConfig, {"batch_size": 0}, "batch_size"), (GRPOConfig, {"group_size": 1}, "group_size"),
    (GRPOConfig, {"clip_eps": 1.0}, "clip_eps"), (RejectionSamplingConfig, {"samples_per_prompt": 0},
                                                 "samples_per_prompt"),
])
def test_configs_name_the_bad_parameter(cls, kw, name) -> None:
    with pytest.raises(GuardoptError, match=f"'{name}' parameter of {cls.__name__}"):
        cls(**kw)


def test_pair_validation() -> None:
    with pytest.raises(GuardoptError, match="'start'"):
        PreferencePair((1,), (4, 2), (5, 2), start=2)
    with pytest.raises(GuardoptError):
        PreferencePair((1,), (), (5,))
