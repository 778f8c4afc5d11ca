"""VPO on a real Hugging Face causal LM through TRL: a thin subclass of TRL's ``DPOTrainer``.

Needs ``trl`` (``pip install guardopt[trl]``, which brings transformers and accelerate); imported
lazily, so importing this module costs nothing until `make_vpo_trainer_class` runs.

The method is `guardopt.align.vpo` (Cen et al., "Value-Incentivized Preference Optimization",
arXiv 2405.19320): the subclass lets TRL do what it does well (tokenization, batching, the forward
passes of the policy and the reference) and computes the whole loss with the one implementation,
`guardopt.align.vpo.vpo_loss`, from the sequence log-probabilities of the batch. The calibration
samples are the batch's chosen completions (``vpo_calibration="chosen"``, the offline choice) or all
its completions (``"both"``, for data sampled from the reference policy, the online choice).

Supported: ``loss_type=["sigmoid"]`` (DPO as the preference term), the reverse-KL divergence, no
length-desensitization (``ld_alpha``), no label smoothing and no WPO weighting; an explicit ``ref_model`` or
precomputed reference log-probabilities. Anything else raises `UnsupportedError` when the trainer
is built, rather than silently computing another loss.

Example (a tiny random model, offline)::

    VPOTrainer = make_vpo_trainer_class()
    trainer = VPOTrainer(model=model, ref_model=copy.deepcopy(model), args=DPOConfig(..., report_to="none"),
                         train_dataset=pairs, processing_class=tokenizer, vpo_alpha=0.1, vpo_sign="pessimistic")
    trainer.train()
"""

from __future__ import annotations

import functools
from typing import Any

from guardopt.core.errors import UnsupportedError, check_choice, check_in_range

__all__ = ["make_vpo_trainer_class"]

CALIBRATIONS = ("chosen", "both")


class _Recorder:
    """Calls a model and keeps its last output, so the subclass reads the log-probabilities TRL computed."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.outputs: Any = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self._model(*args, **kwargs)
        if "labels" in kwargs:  # the loss forward; a later plain forward (return_outputs) is not recorded
            self.outputs = out
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


@functools.lru_cache(maxsize=1)
def make_vpo_trainer_class() -> type:
    """Build (once) and return ``VPOTrainer``, a subclass of ``trl.DPOTrainer``.

    Its constructor takes TRL's arguments plus ``vpo_alpha`` (α ≥ 0), ``vpo_sign``
    (``"pessimistic"`` / ``"optimistic"``) and ``vpo_calibration`` (``"chosen"`` / ``"both"``); β is
    the ``DPOConfig``'s ``beta``.
    """
    import torch
    from trl import DPOTrainer

    from guardopt.align.vpo import SIGNS, vpo_loss

    class VPOTrainer(DPOTrainer):
        """TRL's DPOTrainer with the VPO value term (`guardopt.align.vpo.vpo_loss`)."""

        def __init__(self, *args: Any, vpo_alpha: float = 0.1, vpo_sign: str = "pessimistic",
                     vpo_calibration: str = "chosen", **kwargs: Any) -> None:
            owner = "VPOTrainer"
            self.vpo_alpha = check_in_range(vpo_alpha, "vpo_alpha", owner, 0.0, 1e6, low_open=False)
            self.vpo_sign = check_choice(vpo_sign, "vpo_sign", owner, tuple(SIGNS))
            self.vpo_calibration = check_choice(vpo_calibration, "vpo_calibration", owner, CALIBRATIONS)
            super().__init__(*args, **kwargs)
            if list(self.loss_types) != ["sigmoid"]:
                raise UnsupportedError(f"VPOTrainer: loss_type must be ['sigmoid'] (DPO). Got {self.loss_types}.")
            if (self.f_divergence_type != "reverse_kl" or self.ld_alpha is not None or self.use_weighting
                    or float(self.label_smoothing) != 0.0):
                raise UnsupportedError("VPOTrainer supports the reverse-KL DPO loss only (no f-divergence, "
                                       "ld_alpha, label_smoothing or WPO weighting).")
            if self.aux_loss_enabled:
                raise UnsupportedError("VPOTrainer does not support a mixture-of-experts auxiliary loss.")
            if self.ref_model is None and not self.precompute_ref_logps:
                raise UnsupportedError("VPOTrainer needs an explicit 'ref_model' or precompute_ref_log_probs=True.")

        def _compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool) -> Any:
            policy_rec = _Recorder(model)
            ref_model = self.ref_model
            ref_rec = _Recorder(ref_model) if ref_model is not None else None
            if ref_rec is not None:
                self.ref_model = ref_rec  # type: ignore[assignment]  # a call-through wrapper of the model
            try:
                result = super()._compute_loss(policy_rec, inputs, return_outputs)
            finally:
                self.ref_model = ref_model
            dpo_value, extra = (result if return_outputs else (result, None))
            del dpo_value  # recomputed below by the one implementation, with the value term
            shift_mask = inputs["completion_mask"][..., 1:]
            seq_len = shift_mask.size(1)
            logps = policy_rec.outputs.log_probs[:, -seq_len:].mul(shift_mask).sum(dim=1)
            chosen, rejected = logps.chunk(2, dim=0)
            if self.precompute_ref_logps:
                ref_chosen, ref_rejected = inputs["ref_chosen_logps"], inputs["ref_rejected_logps"]
            else:
                assert ref_rec is not None and ref_rec.outputs is not None
                ref_logps = ref_rec.outputs.log_probs[:, -seq_len:].mul(shift_mask).sum(dim=1)
                ref_chosen, ref_rejected = ref_logps.detach().chunk(2, dim=0)
            if self.vpo_calibration == "chosen":
                cal, ref_cal = chosen, ref_chosen
            else:
                cal, ref_cal = torch.cat([chosen, rejected]), torch.cat([ref_chosen, ref_rejected])
            loss = vpo_loss(chosen, rejected, ref_chosen, ref_rejected, cal, ref_cal, sign=self.vpo_sign,
                            alpha=self.vpo_alpha, beta=float(self.beta))
            mode = "train" if model.training else "eval"
            self._metrics[mode]["vpo/value"].append(float(-float(self.beta) * (cal - ref_cal).mean().detach()))
            return (loss, extra) if return_outputs else loss

    return VPOTrainer
