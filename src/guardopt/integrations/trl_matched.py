"""TRL's own ``DPOTrainer`` and ``GRPOTrainer``, configured like guardopt's `dpo_train` and `grpo_train`.

A third-party cross-check of a trainer compares *trained outcomes*: the same model, data, steps and
hyperparameters, trained once by guardopt and once by TRL, then judged alike. These functions take
guardopt's own frozen configs (`guardopt.align.trainers.DPOConfig`, `GRPOConfig`) and translate
every setting into TRL's, overriding each TRL default that differs from guardopt's trainer:

===========================  ======================  =====================================
setting                      TRL default             set to (guardopt's trainer)
===========================  ======================  =====================================
learning rate                1e-6                    ``config.lr``
schedule                     linear decay            ``constant`` (no warm-up)
weight decay                 0                       0 (AdamW with no decay = Adam)
precision                    bf16 when not fp16      float32 (``bf16=False``)
DPO loss                     sigmoid                 sigmoid, ``beta = config.beta``
DPO ``max_length``           1024 (truncation)       None (no truncation)
GRPO KL weight ``beta``      0                       ``config.kl_beta``
GRPO loss aggregation        ``dapo``                ``grpo`` (sequence mean, batch mean)
GRPO clip                    ε = 0.2, ε_high = ε     ``config.clip_eps`` both
GRPO KL ratio weighting      on                      off (``use_bias_correction_kl=False``)
GRPO completion length       512                     ``config.max_new``
GRPO batch                   8 per device            prompts_per_iter × group_size
logging                      every 10 steps          every step
===========================  ======================  =====================================

What cannot be matched, and stays TRL's: the minibatch order (TRL's seeded sampler; guardopt draws
its own), GRPO's prompt draws (TRL shuffles the data set and walks it; guardopt draws with
replacement), GRPO's sampling (``model.generate``; guardopt's inverse-CDF sampler) and its reward
standard deviation (TRL's is the unbiased one, guardopt's the population one: TRL's advantages are
``sqrt((G−1)/G)`` of guardopt's, 0.94 for G = 8). TRL appends EOS to DPO completions that lack
it; pass completions that end in EOS so both trainers see the same tokens.

Both functions train ``policy.lm`` (a `guardopt.integrations.hf_policy.HFPolicy`) in place, run
offline (the GRPO reference is saved to and reloaded from a local folder, TRL's own way of building
it) and import TRL lazily (``guardopt[trl]``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from guardopt.core.errors import InputDataError, check_int

__all__ = ["dpo_records", "trl_dpo_args", "trl_dpo_train", "trl_grpo_args", "trl_grpo_train"]

P = TypeVar("P")


def dpo_records(pairs: Sequence[Any], decode: Callable[[list[int]], str]) -> list[dict[str, str]]:
    """TRL preference records from whole-completion `guardopt.align.trainers.PreferencePair` s.

    ``decode`` maps ids to words joined by spaces *keeping* BOS/EOS (e.g. ``Tokenizer.decode(ids,
    skip_special=False)``): the prompt carries its BOS and each completion starts with a space, so
    TRL's ``prompt + chosen`` tokenizes to exactly guardopt's ``prompt ⊕ chosen`` ids.
    """
    out = []
    for p in pairs:
        if int(p.start) != 0:
            raise InputDataError("dpo_records: pairs must score the whole completion (start = 0); use "
                                 "guardopt.integrations.trl.intervened_pairs_to_records for intervened pairs.")
        out.append({"prompt": decode(list(p.prompt)), "chosen": " " + decode(list(p.chosen)),
                    "rejected": " " + decode(list(p.rejected))})
    return out


@contextmanager
def _quiet() -> Iterator[None]:
    """No per-step log prints or progress bars from TRL, transformers and datasets (restored afterwards)."""
    import datasets
    from transformers.utils import logging as hf_logging

    bars_off = datasets.are_progress_bars_disabled()
    hf_bars = hf_logging.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if not bars_off:
            datasets.enable_progress_bars()
        if hf_bars:
            hf_logging.enable_progress_bar()


def _silent(trainer: Any) -> Any:
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # added because tqdm is off; it prints every logged row
    return trainer


def _common_args(config: Any, seed: int, workdir: str) -> dict[str, Any]:
    return {"output_dir": workdir, "learning_rate": float(config.lr), "lr_scheduler_type": "constant",
            "warmup_steps": 0, "weight_decay": 0.0, "max_grad_norm": float(config.grad_clip),
            "optim": "adamw_torch", "adam_beta1": 0.9, "adam_beta2": 0.999, "adam_epsilon": 1e-8,
            "gradient_accumulation_steps": 1, "bf16": False, "fp16": False, "use_cpu": True,
            "report_to": "none", "save_strategy": "no", "logging_steps": 1, "disable_tqdm": True,
            "seed": int(seed), "data_seed": int(seed), "dataloader_drop_last": False}


def trl_dpo_args(config: Any, seed: int, workdir: str) -> Any:
    """TRL's ``DPOConfig`` equivalent to guardopt's `DPOConfig` ``config`` (sigmoid loss, see the table above)."""
    from trl import DPOConfig as TRLDPOConfig

    return TRLDPOConfig(**_common_args(config, seed, workdir), per_device_train_batch_size=config.batch_size,
                        num_train_epochs=config.epochs, beta=float(config.beta), loss_type=["sigmoid"],
                        max_length=None, disable_dropout=True, precompute_ref_log_probs=False)


def trl_grpo_args(config: Any, seed: int, workdir: str) -> Any:
    """TRL's ``GRPOConfig`` equivalent to guardopt's `GRPOConfig` ``config`` (see the table above)."""
    from trl import GRPOConfig as TRLGRPOConfig

    return TRLGRPOConfig(**_common_args(config, seed, workdir),
                         per_device_train_batch_size=config.prompts_per_iter * config.group_size,
                         num_generations=config.group_size, steps_per_generation=1,
                         num_iterations=config.inner_steps, max_steps=config.iterations,
                         beta=float(config.kl_beta), epsilon=float(config.clip_eps),
                         epsilon_high=float(config.clip_eps), use_bias_correction_kl=False,
                         loss_type="grpo", scale_rewards="group",
                         temperature=float(config.temperature), top_p=1.0, top_k=0,
                         max_completion_length=config.max_new, mask_truncated_completions=False,
                         disable_dropout=True, shuffle_dataset=True, log_completions=False)


def trl_dpo_train(policy: Any, ref: Any, pairs: Sequence[Any], config: Any, seed: int, tokenizer: Any,
                  decode: Callable[[list[int]], str], workdir: str | None = None) -> list[dict[str, float]]:
    """Train ``policy.lm`` with TRL's ``DPOTrainer(loss_type="sigmoid")`` as `dpo_train` would.

    Args:
        policy: The `HFPolicy` to train (its ``lm`` is what TRL trains).
        ref: The frozen reference `HFPolicy` (TRL's ``ref_model``).
        pairs: Whole-completion preference pairs (``start = 0``), completions ending in EOS.
        config: guardopt's `DPOConfig` (``sft_weight`` must be 0: this is plain DPO).
        seed: TRL's ``seed`` and ``data_seed``.
        tokenizer: A ``PreTrainedTokenizerFast`` with guardopt's ids (`word_tokenizer`).
        decode: Ids → words, keeping BOS/EOS (see `dpo_records`).
        workdir: TRL's ``output_dir`` (a temporary folder when None; nothing is saved).

    Returns:
        TRL's log history (one row per step with its ``loss``).
    """
    from datasets import Dataset
    from trl import DPOTrainer

    if float(config.sft_weight) != 0.0:
        raise InputDataError("trl_dpo_train: TRL's sigmoid DPO has no SFT term; use sft_weight=0.")
    check_int(seed, "seed", "trl_dpo_train", 0)
    if not pairs:
        return []
    with tempfile.TemporaryDirectory(prefix="guardopt-trl-dpo-") as tmp:
        args = trl_dpo_args(config, seed, workdir or tmp)
        with _quiet():
            trainer = _silent(DPOTrainer(model=policy.lm, ref_model=ref.lm, args=args,
                                         train_dataset=Dataset.from_list(dpo_records(pairs, decode)),
                                         processing_class=tokenizer))
            data = trainer.train_dataset
            if len(data) != len(pairs):
                raise InputDataError(f"trl_dpo_train: TRL kept {len(data)} of {len(pairs)} pairs.")
            for p, a, c, r in zip(pairs, data["prompt_ids"], data["chosen_ids"], data["rejected_ids"]):
                if (list(p.prompt), list(p.chosen), list(p.rejected)) != (list(a), list(c), list(r)):
                    raise InputDataError("trl_dpo_train: TRL tokenized a pair into other ids than guardopt's "
                                         f"({list(p.prompt)} + {list(p.chosen)} became {list(a)} + {list(c)}); "
                                         "check the tokenizer and that completions end in EOS.")
            trainer.train()
        history = [dict(r) for r in trainer.state.log_history]
    policy.lm.eval()
    return history


def trl_grpo_train(policy: Any, prompts: Sequence[P], encode: Callable[[P], list[int]],
                   reward: Callable[[P, list[int]], float], config: Any, seed: int, tokenizer: Any,
                   decode: Callable[[list[int]], str], workdir: str | None = None) -> list[dict[str, float]]:
    """Train ``policy.lm`` with TRL's ``GRPOTrainer`` (a programmatic reward) as `grpo_train` would.

    The reference of the KL term is the policy as passed (saved to a local folder that TRL reloads
    it from, so nothing is downloaded).

    Args:
        policy: The `HFPolicy` to train.
        prompts: Prompt objects; TRL walks a seeded shuffle of them.
        encode: Prompt → ids (with BOS).
        reward: ``(prompt, completion ids) -> float`` (the same function `grpo_train` gets).
        config: guardopt's `GRPOConfig`: ``iterations`` optimizer steps of ``prompts_per_iter``
            prompts × ``group_size`` samples, ``inner_steps`` TRL's ``num_iterations``.
        seed: TRL's ``seed`` and ``data_seed``.
        tokenizer: A ``PreTrainedTokenizerFast`` with guardopt's ids (`word_tokenizer`).
        decode: Ids → words, keeping BOS (the prompt text TRL tokenizes back to ``encode(p)``).
        workdir: TRL's ``output_dir`` (a temporary folder when None).

    Returns:
        TRL's log history (one row per step; ``reward`` is the step's mean reward).
    """
    from datasets import Dataset
    from trl import GRPOTrainer

    check_int(seed, "seed", "trl_grpo_train", 0)
    if not prompts:
        raise InputDataError("trl_grpo_train: no prompts.")
    items = list(prompts)

    def reward_fn(prompts: list[Any], completions: list[Any], completion_ids: list[list[int]], index: list[int],
                  **_: Any) -> list[float | None]:
        return [float(reward(items[int(i)], list(map(int, c)))) for i, c in zip(index, completion_ids)]

    reward_fn.__name__ = "guardopt_reward"
    records = [{"prompt": decode(encode(p)), "index": i} for i, p in enumerate(items)]
    ids = tokenizer([r["prompt"] for r in records])["input_ids"]
    for p, got in zip(items, ids):
        if list(got) != list(encode(p)):
            raise InputDataError(f"trl_grpo_train: the tokenizer maps a prompt to {list(got)}, guardopt to "
                                 f"{list(encode(p))}.")
    data = Dataset.from_list(records)
    with tempfile.TemporaryDirectory(prefix="guardopt-trl-grpo-") as tmp:
        ref_dir = Path(tmp) / "reference"
        with _quiet():
            policy.lm.save_pretrained(ref_dir)  # TRL builds its reference from the model's path
        policy.lm.config._name_or_path = str(ref_dir)
        args = trl_grpo_args(config, seed, workdir or tmp)
        with _quiet():
            trainer = _silent(GRPOTrainer(model=policy.lm, reward_funcs=reward_fn, args=args, train_dataset=data,
                                          processing_class=tokenizer))
            trainer.train()
        history = [dict(r) for r in trainer.state.log_history]
        policy.lm.config._name_or_path = ""
    policy.lm.eval()
    return history
