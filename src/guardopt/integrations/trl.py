"""TRL integration: run guardopt's preference losses on a real Hugging Face causal LM.

Thin subclasses of TRL's trainers whose loss is one of the pure functions of
`guardopt.align.losses`, so a user with a GPU and a real model runs the same objective the
minute-scale reproductions use (needs ``guardopt[trl]``: trl, transformers, peft; TRL is imported
only when a class here is first used).

* `IntervenedPOTrainer` (a ``trl.DPOTrainer``): Intervened PO, i.e. `intervened_po_loss` =
  DPO on the completion tokens + λ_SFT · their token-mean NLL. Build the data set the way TRL
  expects, with the *shared prefix inside the prompt*: ``prompt = x ⊕ z^{<h}``, ``chosen = τ ⊕
  z̃^{>τ}``, ``rejected = cue ⊕ z^{>cue}`` (`intervened_pairs_to_records` does this from
  `PreferencePair` s), so TRL's completion mask is exactly the post-divergence mask. With
  ``sft_weight=0`` the loss equals TRL's own ``loss_type="sigmoid"`` (a test checks this). Never
  use TRL's ``loss_type="ipo"`` for it: that is Identity PO, another method.
* `GuardoptGRPOTrainer` (a ``trl.GRPOTrainer``): the clipped surrogate with a k3 KL of
  `guardopt.align.losses.grpo_loss` (TRL's ``loss_type="grpo"`` aggregation: per-sequence token
  mean, then batch mean).

Both need ``ref_model`` passed explicitly for an in-memory model (TRL would otherwise try to load
the reference from the model's empty name).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from guardopt.core.errors import InvalidParameterError, UnsupportedError, check_in_range

__all__ = ["GuardoptGRPOTrainer", "IntervenedPOTrainer", "VPOTrainer", "intervened_pairs_to_records"]


def intervened_pairs_to_records(pairs: Sequence[Any], decode: Any) -> list[dict[str, str]]:
    """TRL preference records from `guardopt.align.trainers.PreferencePair` s, the shared prefix in the prompt.

    TRL tokenizes the text ``prompt + chosen``, so each completion starts with a space (the last prompt
    word and the first completion word stay two words).

    Args:
        pairs: Pairs whose ``start`` is the divergence index h.
        decode: Maps a list of ids to words joined by spaces, *keeping* BOS/EOS (e.g.
            ``lambda ids: tok.decode(ids, skip_special=False)`` for a `guardopt.align.tokenizer.Tokenizer`;
            its default drops the prompt's BOS).

    Returns:
        ``[{"prompt": x ⊕ z^{<h}, "chosen": " " + z̃^{≥h}, "rejected": " " + z^{≥h}}, ...]``.
    """
    out = []
    for p in pairs:
        h = int(p.start)
        out.append({"prompt": decode(list(p.prompt) + list(p.chosen[:h])),
                    "chosen": " " + decode(list(p.chosen[h:])), "rejected": " " + decode(list(p.rejected[h:]))})
    return out


def _dpo_unsupported(trainer: Any, owner: str) -> None:
    """Raise `UnsupportedError` for TRL DPO settings that a guardopt loss would silently ignore."""
    if list(trainer.loss_types) != ["sigmoid"]:
        raise UnsupportedError(f"{owner}: loss_type must be ['sigmoid'] (DPO). Got {trainer.loss_types}.")
    if (trainer.f_divergence_type != "reverse_kl" or trainer.ld_alpha is not None or trainer.use_weighting
            or float(trainer.label_smoothing) != 0.0):
        raise UnsupportedError(f"{owner} supports the reverse-KL DPO loss only (no f-divergence, ld_alpha, "
                               "label_smoothing or WPO weighting).")
    if trainer.aux_loss_enabled:
        raise UnsupportedError(f"{owner} does not support a mixture-of-experts auxiliary loss.")


def _per_token_logps(model: Any, input_ids: Any, attention_mask: Any) -> Any:
    import torch

    logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits[:, :-1]
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)


def _dpo_base() -> type:
    from trl import DPOTrainer

    return DPOTrainer


def _grpo_base() -> type:
    from trl import GRPOTrainer

    return GRPOTrainer


class _LazySubclass(type):
    """Builds the real subclass of a TRL trainer on first instantiation, so importing this module needs no TRL."""

    _built: ClassVar[dict[str, type]] = {}

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        real = _LazySubclass._built.get(cls.__name__)
        if real is None:
            real = cls._build()  # type: ignore[attr-defined]
            _LazySubclass._built[cls.__name__] = real
        return real(*args, **kwargs)


class IntervenedPOTrainer(metaclass=_LazySubclass):
    """``trl.DPOTrainer`` whose loss is `guardopt.align.losses.intervened_po_loss`.

    Args:
        *args, **kwargs: Those of ``trl.DPOTrainer`` (pass ``ref_model`` explicitly).
        sft_weight: λ_SFT ≥ 0 (0.2 in the paper); β is TRL's ``DPOConfig.beta``.

    Only TRL's reverse-KL sigmoid loss is replaced (``loss_type=["sigmoid"]``, no ``label_smoothing``,
    ``ld_alpha``, f-divergence or WPO weighting); other settings raise `UnsupportedError`.
    """

    @staticmethod
    def _build() -> type:
        base = _dpo_base()

        class _IntervenedPOTrainer(base):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, sft_weight: float = 0.2, **kwargs: Any) -> None:
                self.sft_weight = check_in_range(sft_weight, "sft_weight", "IntervenedPOTrainer", 0.0,
                                                 low_open=False)
                if kwargs.get("ref_model") is None:
                    raise InvalidParameterError("ref_model", "IntervenedPOTrainer", "a model (pass a frozen copy)",
                                                None)
                super().__init__(*args, **kwargs)
                _dpo_unsupported(self, "IntervenedPOTrainer")

            def _compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool) -> Any:
                import torch

                from guardopt.align.losses import intervened_po_loss

                ids, att = inputs["input_ids"], inputs["attention_mask"]
                mask = inputs["completion_mask"][:, 1:].float()
                lp = _per_token_logps(model, ids, att)
                with torch.no_grad():
                    ref = _per_token_logps(self.ref_model, ids, att)
                pc, pr = lp.chunk(2, dim=0)  # TRL's batch is [chosen; rejected]
                rc, rr = ref.chunk(2, dim=0)
                mc, mr = mask.chunk(2, dim=0)
                loss = intervened_po_loss(pc, pr, rc, rr, mc, mr, beta=float(self.beta),
                                          sft_weight=self.sft_weight).mean()
                return (loss, None) if return_outputs else loss

        _IntervenedPOTrainer.__name__ = "IntervenedPOTrainer"
        return _IntervenedPOTrainer


class VPOTrainer(metaclass=_LazySubclass):
    """``trl.DPOTrainer`` with VPO's value term (`guardopt.align.vpo.vpo_loss`).

    Args:
        *args, **kwargs: Those of ``trl.DPOTrainer`` (pass ``ref_model`` explicitly).
        vpo_alpha: α ≥ 0, the weight of the value term.
        vpo_sign: ``"pessimistic"`` (offline) or ``"optimistic"`` (online).
        vpo_calibration: ``"chosen"`` or ``"both"``: the responses the value term is computed on.

    The same class `guardopt.integrations.trl_vpo.make_vpo_trainer_class` returns.
    """

    @staticmethod
    def _build() -> type:
        from guardopt.integrations.trl_vpo import make_vpo_trainer_class

        return make_vpo_trainer_class()


class GuardoptGRPOTrainer(metaclass=_LazySubclass):
    """``trl.GRPOTrainer`` whose loss is `guardopt.align.losses.grpo_loss`.

    ε and ε_high are TRL's ``epsilon`` and ``epsilon_high``, β_KL its ``beta``. The loss is TRL's
    ``loss_type="grpo"`` (per-sequence mean, then batch mean); a test checks the two agree. Pass
    ``GRPOConfig(loss_type="grpo")`` (TRL's default is ``"dapo"``): another loss type, sequence-level
    ratios, ``delta``, an off-policy mask or entropy masking raise `UnsupportedError` instead of being
    ignored.
    """

    @staticmethod
    def _build() -> type:
        base = _grpo_base()

        class _GuardoptGRPOTrainer(base):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                owner = "GuardoptGRPOTrainer"
                if self.loss_type != "grpo":
                    raise UnsupportedError(f"{owner}: loss_type must be 'grpo' (its loss is grpo_loss: sequence "
                                           f"mean, then batch mean). Got {self.loss_type!r}.")
                a = self.args
                if (self.importance_sampling_level != "token" or getattr(a, "delta", None) is not None
                        or getattr(a, "off_policy_mask_threshold", None) is not None
                        or float(getattr(a, "top_entropy_quantile", 1.0)) < 1.0
                        or (getattr(a, "use_vllm", False) and getattr(a, "vllm_importance_sampling_correction",
                                                                      False))):
                    raise UnsupportedError(f"{owner} supports token-level ratios with the plain clip only (no "
                                           "importance_sampling_level='sequence', delta, off_policy_mask_threshold, "
                                           "top_entropy_quantile < 1 or vLLM importance-sampling correction).")

            def _compute_loss(self, model: Any, inputs: dict[str, Any]) -> Any:
                import torch

                from guardopt.align.losses import grpo_loss

                prompt_ids, prompt_mask = inputs["prompt_ids"], inputs["prompt_mask"]
                completion_ids, completion_mask = inputs["completion_ids"], inputs["completion_mask"]
                input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
                attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
                per_token_logps, _, _ = self._get_per_token_logps_and_entropies(
                    model, input_ids, attention_mask, completion_ids.size(1))
                old = inputs.get("old_per_token_logps")
                old = per_token_logps.detach() if old is None else old
                ref = inputs.get("ref_per_token_logps") if self.beta != 0.0 else None
                ref = per_token_logps.detach() if ref is None else ref
                adv = inputs["advantages"]
                adv = adv if adv.dim() == 1 else adv[:, 0]
                loss = grpo_loss(per_token_logps, old, ref, adv, completion_mask, clip_eps=float(self.epsilon_low),
                                 kl_beta=float(self.beta), clip_eps_high=float(self.epsilon_high),
                                 kl_ratio_weighted=bool(getattr(self.args, "use_bias_correction_kl", False)))
                if self.model.training:  # as TRL does: the loss of one micro-batch of an accumulated step
                    loss = loss / getattr(self, "current_gradient_accumulation_steps", 1)
                return loss

        _GuardoptGRPOTrainer.__name__ = "GuardoptGRPOTrainer"
        return _GuardoptGRPOTrainer
