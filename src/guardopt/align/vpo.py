"""Value-Incentivized Preference Optimization (VPO): DPO plus the implicit reward's optimal value, with a sign.

Cen, Mei, Goshvadi, Dai, Yang, Yang, Schuurmans, Chi & Dai (2025), "Value-Incentivized Preference
Optimization: A Unified Approach to Online and Offline RLHF", ICLR 2025, arXiv 2405.19320.

**The principle (the paper's abstract).** VPO "regularizes the maximum-likelihood estimate of the
reward function with the corresponding value function, modulated by a sign to indicate whether the
optimism or pessimism is chosen", and optimizes the policy directly through the implicit reward, as
DPO does. Written out::

    r̂ = argmin_r  ℓ_BT(r; D) − sign · α · J*(r),     J*(r) = max_π E_{x, y∼π}[r(x, y)] − β·KL(π ‖ π_ref)

with ``sign = +1`` (optimism: among rewards that explain the data about equally well, prefer one
whose best policy is worth more; for exploring, online) and ``sign = −1`` (pessimism: prefer one
whose best policy is worth less; for offline data, against over-optimization).

**From the reward to a policy loss.** With the DPO reparametrization ``r_π = β·log π/π_ref +
β·log Z(x)``, the Bradley–Terry likelihood is DPO's loss and does not see the prompt-dependent
shift ``β·log Z(x)`` (BT's shift ambiguity). The shift is fixed by *calibration*: the reward's mean
under a calibration distribution ``π_cal`` is zero, ``E_{x, y∼π_cal}[r(x, y)] = 0``. The optimal
policy of ``r_π`` is π itself, so ``J*(r_π) = E_x[β·log Z(x)]``, and the calibration gives
``β·log Z(x) = −β·E_{y∼π_cal}[log π(y|x)/π_ref(y|x)]``. Hence::

    J*(r_π) = −β · E_{x, y∼π_cal}[log π(y|x) − log π_ref(y|x)]                  (`vpo_value`)
    L_VPO(π) = L_DPO(π; D) − sign · α · J*(r_π)
             = L_DPO(π; D) + sign · α · β · E_{x, y∼π_cal}[log π/π_ref]          (`vpo_loss`)

* optimistic (online, ``π_cal = π_ref``): the extra term *lowers* the likelihood of what the
  reference policy would say, pushing the policy to explore away from it;
* pessimistic (offline, ``π_cal`` = the chosen responses of the data): the extra term *raises* the
  likelihood of the data's chosen responses, an SFT-like anchor on the data's support.

**How the signs and the calibration were checked.** (1) The sign convention follows from the
abstract's statement and the meaning of optimism / pessimism (a larger / smaller optimal value for
the selected reward); the full text of the paper could not be retrieved from this environment's
stored copies (only its abstract and third-party summaries, which confirm that VPO exploits BT's
shift ambiguity through a calibration of the reward, and that pessimistic VPO avoids the accuracy
collapse of DPO and IPO offline), so the equations above are our derivation from that principle,
not a transcription. (2) The closed form of ``J*`` is checked numerically against its definition:
`tests/align/test_vpo_loss.py` computes ``max_π E_π[r] − β·KL(π‖π_ref) = β·log Σ_y π_ref(y)
exp(r(y)/β)`` by brute force on a finite response set for the calibrated implicit reward of a
random policy and compares it with `vpo_value` (both signs then follow mechanically). (3) A test
checks the gradient direction: the pessimistic term raises, the optimistic term lowers, the
log-probability of the calibration samples. (4) The reproduction's negative control flips the sign
offline (optimism on offline data) and must make the drop-from-peak criterion fail.

**Choices that are ours.** α is not in the abstract; it is tuned on disjoint seeds with the same
budget as DPO's β (`guardopt.reproduce.papers.vpo`). The offline calibration distribution is the
chosen responses of the data; the online one is π_ref, whose expectation this module takes exactly
when the caller passes weights (the feature bandit) or by samples (a language model).

Shapes: ``B`` preference pairs, ``C`` calibration samples. Log-probabilities are sequence
log-probabilities (`guardopt.align.losses.sequence_logps`), natural logs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from guardopt.align.bandit_policy import LinearSoftmaxPolicy
from guardopt.align.identity_po import ipo_loss
from guardopt.align.losses import _check_finite, _check_same_shape, dpo_loss
from guardopt.core.errors import InputDataError, check_choice, check_in_range, check_int
from guardopt.core.seeding import SeedLike, make_rng

__all__ = [
    "SIGNS",
    "OfflineVPOTrainer",
    "OnlineVPOTrainer",
    "VPOConfig",
    "VPOHistory",
    "sign_value",
    "vpo_loss",
    "vpo_value",
]

SIGNS = {"optimistic": 1.0, "pessimistic": -1.0}
BASE_LOSSES = ("sigmoid", "ipo")


def sign_value(sign: str | float) -> float:
    """``+1.0`` for ``"optimistic"`` (or +1), ``−1.0`` for ``"pessimistic"`` (or −1)."""
    if isinstance(sign, str):
        return SIGNS[check_choice(sign, "sign", "VPO", tuple(SIGNS))]
    if isinstance(sign, (int, float)) and not isinstance(sign, bool) and sign in (1, -1):
        return float(sign)
    return SIGNS[check_choice(sign, "sign", "VPO", tuple(SIGNS))]


def _tensor(x: Any, name: str, owner: str) -> torch.Tensor:
    """A floating tensor from a tensor (kept, with its graph) or array-like data, else `InputDataError`."""
    if isinstance(x, torch.Tensor):
        if not (x.is_floating_point() or x.dtype in (torch.int32, torch.int64)):
            raise InputDataError(f"{owner}: {name!r} must hold real numbers. Got dtype {x.dtype} instead.")
        return x if x.is_floating_point() else x.to(torch.float64)
    try:
        raw = np.asarray(x)
        if raw.dtype.kind not in "biuf":  # strings, objects, complex numbers, dates
            raise TypeError(raw.dtype)
        arr = raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputDataError(f"{owner}: {name!r} must be a tensor or an array of real numbers.") from exc
    return torch.as_tensor(arr)


def vpo_value(
    policy_cal: torch.Tensor,
    ref_cal: torch.Tensor,
    beta: float = 0.1,
    cal_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """The calibrated optimal value ``J*(r_π) = −β·E_{y∼π_cal}[log π(y) − log π_ref(y)]`` of the implicit reward.

    Args:
        policy_cal: ``(C,)`` log πθ of the calibration samples.
        ref_cal: ``(C,)`` log π_ref of the same samples.
        beta: β > 0 of the implicit reward.
        cal_weights: Optional ``(C,)`` non-negative weights of the samples (e.g. ``π_cal(y)`` when the
            samples are the whole response set, for an exact expectation); uniform when omitted.

    Returns:
        A scalar tensor.
    """
    beta = check_in_range(beta, "beta", "vpo_value", 0.0)
    policy_cal = _tensor(policy_cal, "policy_cal", "vpo_value")
    ref_cal = _tensor(ref_cal, "ref_cal", "vpo_value")
    if policy_cal.ndim != 1 or policy_cal.numel() == 0:
        raise InputDataError(f"vpo_value: 'policy_cal' must have shape (C,) with C >= 1. "
                             f"Got {tuple(policy_cal.shape)} instead.")
    _check_same_shape("vpo_value", policy_cal=policy_cal, ref_cal=ref_cal)
    _check_finite("vpo_value", policy_cal=policy_cal, ref_cal=ref_cal)
    ratio = policy_cal - ref_cal
    if cal_weights is None:
        return -beta * ratio.mean()
    w = _tensor(cal_weights, "cal_weights", "vpo_value").to(ratio.dtype)
    _check_same_shape("vpo_value", policy_cal=policy_cal, cal_weights=w)
    _check_finite("vpo_value", cal_weights=w)
    total = w.sum()
    # A sum that overflows to inf would turn the weighted mean into 0 (or NaN) without a word.
    if bool((w < 0).any()) or not 0.0 < float(total) < float("inf"):
        raise InputDataError("vpo_value: 'cal_weights' must be non-negative with a positive, finite sum.")
    return -beta * (w * ratio).sum() / total


def vpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    policy_cal: torch.Tensor,
    ref_cal: torch.Tensor,
    *,
    sign: str | float = "pessimistic",
    alpha: float = 0.1,
    beta: float = 0.1,
    cal_weights: torch.Tensor | None = None,
    base_loss: str = "sigmoid",
) -> torch.Tensor:
    """The VPO batch loss ``mean_B L_pref − sign·α·J*(r_π)``.

    Args:
        policy_chosen, policy_rejected, ref_chosen, ref_rejected: ``(B,)`` sequence log-probabilities
            of the pairs under the policy and the reference (as in `guardopt.align.losses.dpo_loss`).
        policy_cal, ref_cal: ``(C,)`` log-probabilities of the calibration samples.
        sign: ``"pessimistic"`` (offline) or ``"optimistic"`` (online), or −1 / +1.
        alpha: Weight α ≥ 0 of the value term (0 gives the base loss: DPO).
        beta: β > 0 of the implicit reward, shared by the preference loss and the value.
        cal_weights: Optional ``(C,)`` weights of the calibration samples (see `vpo_value`).
        base_loss: ``"sigmoid"`` (DPO, the paper's) or ``"ipo"`` (squared loss with ``τ = β``).

    Returns:
        A scalar tensor.
    """
    s = sign_value(sign)
    alpha = check_in_range(alpha, "alpha", "vpo_loss", 0.0, 1e6, low_open=False)
    check_choice(base_loss, "base_loss", "vpo_loss", BASE_LOSSES)
    policy_chosen, policy_rejected, ref_chosen, ref_rejected = (
        _tensor(x, n, "vpo_loss") for x, n in ((policy_chosen, "policy_chosen"), (policy_rejected, "policy_rejected"),
                                               (ref_chosen, "ref_chosen"), (ref_rejected, "ref_rejected")))
    if policy_chosen.ndim != 1 or policy_chosen.numel() == 0:
        raise InputDataError(f"vpo_loss: 'policy_chosen' must have shape (B,) with B >= 1. "
                             f"Got {tuple(policy_chosen.shape)} instead.")
    if base_loss == "sigmoid":
        pref = dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=beta)
    else:
        pref = ipo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, tau=beta)
    value = vpo_value(policy_cal, ref_cal, beta=beta, cal_weights=cal_weights)
    return pref.mean() - s * alpha * value


# --------------------------------------------------------------------------------------------------
# Configuration and trainers (a finite response set: the linear-softmax bandit policy)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VPOConfig:
    """Settings of VPO training, validated on creation.

    Attributes:
        beta: β > 0 of the implicit reward.
        alpha: α ≥ 0, weight of the value term (0: plain DPO / IPO).
        sign: ``"pessimistic"`` (offline) or ``"optimistic"`` (online).
        base_loss: ``"sigmoid"`` (DPO) or ``"ipo"``.
        lr: Adam learning rate.
        steps: Offline: full-batch Adam steps.
        rounds: Online: rounds of (sample pairs from the current policy, label, update).
        pairs_per_round: Online: new labelled pairs per round.
        steps_per_round: Online: Adam steps on all pairs so far, per round.
    """

    beta: float = 0.1
    alpha: float = 0.1
    sign: str = "pessimistic"
    base_loss: str = "sigmoid"
    lr: float = 0.05
    steps: int = 300
    rounds: int = 50
    pairs_per_round: int = 8
    steps_per_round: int = 10

    def __post_init__(self) -> None:
        owner = "VPOConfig"
        object.__setattr__(self, "beta", check_in_range(self.beta, "beta", owner, 0.0, 1e6))
        object.__setattr__(self, "alpha", check_in_range(self.alpha, "alpha", owner, 0.0, 1e6, low_open=False))
        check_choice(self.sign, "sign", owner, tuple(SIGNS))
        check_choice(self.base_loss, "base_loss", owner, BASE_LOSSES)
        object.__setattr__(self, "lr", check_in_range(self.lr, "lr", owner, 0.0, 1e3))
        check_int(self.steps, "steps", owner, low=1)
        check_int(self.rounds, "rounds", owner, low=1)
        check_int(self.pairs_per_round, "pairs_per_round", owner, low=1)
        check_int(self.steps_per_round, "steps_per_round", owner, low=1)


Callback = Callable[[int, LinearSoftmaxPolicy], Mapping[str, float]]


@dataclass
class VPOHistory:
    """What a trainer recorded: one row per evaluation (the callback's numbers plus the loss)."""

    rows: list[dict[str, float]] = field(default_factory=list)

    def column(self, name: str) -> np.ndarray:
        """``(n_rows,)`` one recorded quantity over training (NaN where a row lacks it)."""
        return np.array([r.get(name, np.nan) for r in self.rows], dtype=float)


def _as_index(x: Any, name: str, owner: str, k: int) -> torch.Tensor:
    arr = np.asarray(x)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise InputDataError(f"{owner}: {name!r} must be a non-empty 1-d array of integer response indices.")
    if arr.min() < 0 or arr.max() >= k:
        raise InputDataError(f"{owner}: {name!r} indices must lie in [0, {k}).")
    return torch.as_tensor(arr, dtype=torch.long)


def _batch_loss(policy: LinearSoftmaxPolicy, cfg: VPOConfig, chosen: torch.Tensor, rejected: torch.Tensor,
                cal: torch.Tensor, cal_weights: torch.Tensor | None) -> torch.Tensor:
    logp = policy()
    ref = policy.ref_log_probs
    return vpo_loss(logp[chosen], logp[rejected], ref[chosen], ref[rejected], logp[cal], ref[cal],
                    sign=cfg.sign, alpha=cfg.alpha, beta=cfg.beta, cal_weights=cal_weights,
                    base_loss=cfg.base_loss)


class OfflineVPOTrainer:
    """Full-batch Adam on a fixed preference data set, with ``π_cal`` = its chosen responses by default.

    Args:
        config: The settings (``sign="pessimistic"`` is the paper's offline choice).
    """

    def __init__(self, config: VPOConfig | None = None) -> None:
        self.config = config or VPOConfig()

    def fit(self, policy: LinearSoftmaxPolicy, chosen: Any, rejected: Any, *, cal: Any = None,
            cal_weights: Any = None, callback: Callback | None = None, eval_every: int = 1) -> VPOHistory:
        """Train ``policy`` in place and return what ``callback(step, policy)`` reported.

        Args:
            policy: The policy to train (its ``θ``).
            chosen, rejected: ``(B,)`` response indices of the pairs.
            cal: ``(C,)`` calibration response indices (default: ``chosen``).
            cal_weights: Optional ``(C,)`` weights of ``cal``.
            callback: Called at step 0 and every ``eval_every`` steps.
        """
        cfg = self.config
        k = policy.features.shape[0]
        c = _as_index(chosen, "chosen", "OfflineVPOTrainer.fit", k)
        r = _as_index(rejected, "rejected", "OfflineVPOTrainer.fit", k)
        if c.shape != r.shape:
            raise InputDataError("OfflineVPOTrainer.fit: 'chosen' and 'rejected' must have one shape.")
        cal_t = c if cal is None else _as_index(cal, "cal", "OfflineVPOTrainer.fit", k)
        w = None if cal_weights is None else torch.as_tensor(np.asarray(cal_weights, dtype=float))
        every = check_int(eval_every, "eval_every", "OfflineVPOTrainer.fit", low=1)
        opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
        history = VPOHistory()

        def record(step: int, loss: float) -> None:
            row = {"step": float(step), "loss": loss}
            if callback is not None:
                row.update({key: float(v) for key, v in callback(step, policy).items()})
            history.rows.append(row)

        with torch.no_grad():
            record(0, float(_batch_loss(policy, cfg, c, r, cal_t, w)))
        for step in range(1, cfg.steps + 1):
            opt.zero_grad()
            loss = _batch_loss(policy, cfg, c, r, cal_t, w)
            loss.backward()
            opt.step()
            if step % every == 0 or step == cfg.steps:
                record(step, float(loss.detach()))
        return history


Labeler = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]


class OnlineVPOTrainer:
    """Online (iterative) VPO: each round samples pairs from the current policy, labels them, and updates.

    Every round draws ``pairs_per_round`` pairs of responses independently from the current policy,
    asks ``labeler(a, b, rng)`` for ``(chosen, rejected)``, appends them to the data, and takes
    ``steps_per_round`` full-batch Adam steps on all data so far. ``π_cal`` defaults to π_ref, taken
    exactly over the response set (weights ``π_ref(y)``), the paper's online choice.

    Args:
        config: The settings (``sign="optimistic"`` is the paper's online choice).
    """

    def __init__(self, config: VPOConfig | None = None) -> None:
        self.config = config or VPOConfig(sign="optimistic")

    def run(self, policy: LinearSoftmaxPolicy, labeler: Labeler, *, seed: SeedLike = None,
            cal: Any = None, cal_weights: Any = None, callback: Callback | None = None) -> VPOHistory:
        """Train ``policy`` in place; ``callback(round, policy)`` is called before round 1 and after each round.

        Each row also records ``sampled_gold`` when the callback returns ``gold`` (the expected gold
        of the policy that sampled that round's pairs).
        """
        cfg = self.config
        rng = make_rng(seed, "OnlineVPOTrainer.run")
        k = policy.features.shape[0]
        if cal is None:
            cal_t = torch.arange(k)
            w: torch.Tensor | None = policy.ref_log_probs.exp() if cal_weights is None else \
                torch.as_tensor(np.asarray(cal_weights, dtype=float))
        else:
            cal_t = _as_index(cal, "cal", "OnlineVPOTrainer.run", k)
            w = None if cal_weights is None else torch.as_tensor(np.asarray(cal_weights, dtype=float))
        opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
        history = VPOHistory()
        chosen: list[np.ndarray] = []
        rejected: list[np.ndarray] = []

        def record(t: int, loss: float) -> None:
            row = {"round": float(t), "loss": loss}
            if callback is not None:
                row.update({key: float(v) for key, v in callback(t, policy).items()})
            history.rows.append(row)

        record(0, float("nan"))
        for t in range(1, cfg.rounds + 1):
            p = policy.probs().numpy()
            p = p / p.sum()
            a = rng.choice(k, size=cfg.pairs_per_round, p=p)
            b = rng.choice(k, size=cfg.pairs_per_round, p=p)
            c_new, r_new = labeler(a, b, rng)
            chosen.append(np.asarray(c_new))
            rejected.append(np.asarray(r_new))
            c = _as_index(np.concatenate(chosen), "chosen", "OnlineVPOTrainer.run", k)
            r = _as_index(np.concatenate(rejected), "rejected", "OnlineVPOTrainer.run", k)
            loss = torch.tensor(float("nan"))
            for _ in range(cfg.steps_per_round):
                opt.zero_grad()
                loss = _batch_loss(policy, cfg, c, r, cal_t, w)
                loss.backward()
                opt.step()
            record(t, float(loss.detach()))
        return history
