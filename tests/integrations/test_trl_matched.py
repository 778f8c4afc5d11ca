"""TRL's own DPOTrainer / GRPOTrainer configured like guardopt's trainers, on the SafeSteps substrate (slow)."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("transformers")
pytest.importorskip("datasets")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from guardopt.align.tokenizer import Tokenizer
from guardopt.align.trainers import DPOConfig, GRPOConfig, PreferencePair, dpo_train, frozen_copy
from guardopt.core.errors import GuardoptError
from guardopt.problems.safe_steps import SAFE_STEPS_VOCAB, SafeSteps, reward

pytestmark = pytest.mark.slow

TOK = Tokenizer(SAFE_STEPS_VOCAB)


def _policy(seed: int = 0):
    from guardopt.integrations.hf_policy import HFPolicy, tiny_llama

    return HFPolicy(tiny_llama(len(TOK), seed=seed, hidden_size=32, layers=1, heads=2, intermediate_size=48))


def _pairs(n: int = 8) -> list[PreferencePair]:
    corpus = SafeSteps().base_corpus(4 * n, seed=3)
    out = []
    for (p, c1), (_, c2) in zip(corpus[0::2], corpus[1::2]):
        out.append(PreferencePair(tuple(TOK.encode(p.tokens(), bos=True)), tuple(TOK.encode(c1)),
                                  tuple(TOK.encode(c2))))
    return out[:n]


def _decode(ids: list[int]) -> str:
    return TOK.decode(ids, skip_special=False)


def test_one_full_batch_dpo_step_of_trl_equals_ours() -> None:
    from guardopt.integrations.hf_policy import word_tokenizer
    from guardopt.integrations.trl_matched import trl_dpo_train

    pairs = _pairs()
    cfg = DPOConfig(beta=0.1, epochs=1, batch_size=len(pairs), lr=1e-3)
    ours, theirs = _policy(), _policy()
    ours.lm.load_state_dict(theirs.lm.state_dict())
    ref = frozen_copy(_policy(1))  # another reference, so the first step's gradient is not trivial
    before = {k: v.clone() for k, v in ours.lm.state_dict().items()}
    log = dpo_train(ours, ref, pairs, cfg, seed=0)
    hist = trl_dpo_train(theirs, ref, pairs, cfg, 0, word_tokenizer(SAFE_STEPS_VOCAB), _decode)
    trl_loss = [r["loss"] for r in hist if "loss" in r]
    assert len(trl_loss) == len(log.rows) == 1
    assert trl_loss[0] == pytest.approx(log.rows[0]["loss"], rel=1e-4, abs=1e-5)
    # One full batch: the minibatch order cannot differ, so both Adam steps move the weights alike.
    moved = 0.0
    for k, v in ours.lm.state_dict().items():
        moved = max(moved, float((v - before[k]).abs().max()))
        torch.testing.assert_close(theirs.lm.state_dict()[k], v, rtol=0, atol=2e-4 * cfg.lr / 1e-3)
    assert moved > 0.5 * cfg.lr


def test_trl_dpo_refuses_pairs_it_would_tokenize_differently() -> None:
    from guardopt.integrations.hf_policy import word_tokenizer
    from guardopt.integrations.trl_matched import trl_dpo_train

    p = _pairs(2)
    cut = [PreferencePair(x.prompt, x.chosen[:-1], x.rejected) for x in p]  # no EOS: TRL would append one
    with pytest.raises(GuardoptError, match="other ids"):
        trl_dpo_train(_policy(), frozen_copy(_policy()), cut, DPOConfig(epochs=1, batch_size=2), 0,
                      word_tokenizer(SAFE_STEPS_VOCAB), _decode)
    with pytest.raises(GuardoptError, match="sft_weight"):
        trl_dpo_train(_policy(), frozen_copy(_policy()), p, DPOConfig(sft_weight=0.2), 0,
                      word_tokenizer(SAFE_STEPS_VOCAB), _decode)


def test_trl_grpo_runs_one_step_on_the_substrate_with_the_judge_reward() -> None:
    from guardopt.integrations.hf_policy import word_tokenizer
    from guardopt.integrations.trl_matched import trl_grpo_train

    policy = _policy()
    prompts = SafeSteps().prompts(16, seed=0, held_out=None)
    seen: list[float] = []

    def judge_reward(p, ids):
        r = reward(p, TOK.tokens(ids))
        seen.append(r)
        return r

    cfg = GRPOConfig(iterations=1, prompts_per_iter=2, group_size=4, max_new=8, lr=1e-3)
    hist = trl_grpo_train(policy, prompts, lambda p: TOK.encode(p.tokens(), bos=True), judge_reward, cfg, 0,
                          word_tokenizer(SAFE_STEPS_VOCAB), _decode)
    steps = [r for r in hist if "reward" in r]
    assert len(steps) == 1 and len(seen) == 8
    assert float(steps[0]["reward"]) == pytest.approx(sum(seen) / 8)
    assert policy.lm.config._name_or_path == ""  # the temporary reference folder is not left behind


def test_trl_configs_override_every_default_that_differs_from_ours(tmp_path) -> None:
    from guardopt.integrations.trl_matched import trl_dpo_args, trl_grpo_args

    d = trl_dpo_args(DPOConfig(beta=0.2, epochs=3, batch_size=16, lr=5e-4, grad_clip=0.5), 7, str(tmp_path))
    assert (d.learning_rate, d.beta, d.num_train_epochs, d.per_device_train_batch_size, d.max_grad_norm) == \
        (5e-4, 0.2, 3, 16, 0.5)
    assert getattr(d.lr_scheduler_type, "value", d.lr_scheduler_type) == "constant"
    assert d.warmup_steps == 0 and d.weight_decay == 0.0
    assert not d.bf16 and not d.fp16 and d.loss_type == ["sigmoid"] and d.max_length is None
    assert d.gradient_accumulation_steps == 1 and (d.seed, d.data_seed) == (7, 7)
    g = trl_grpo_args(GRPOConfig(iterations=5, prompts_per_iter=4, group_size=6, lr=2e-4, clip_eps=0.3,
                                 kl_beta=0.05, max_new=12), 3, str(tmp_path))
    assert (g.per_device_train_batch_size, g.num_generations, g.max_steps, g.num_iterations) == (24, 6, 5, 1)
    assert (g.beta, g.epsilon, g.epsilon_high, g.max_completion_length) == (0.05, 0.3, 0.3, 12)
    assert g.loss_type == "grpo" and g.scale_rewards == "group" and not g.use_bias_correction_kl
    assert getattr(g.lr_scheduler_type, "value", g.lr_scheduler_type) == "constant"
    assert g.learning_rate == 2e-4 and not g.bf16
    assert g.temperature == 1.0 and g.top_p == 1.0 and g.top_k == 0 and g.steps_per_generation == 1
