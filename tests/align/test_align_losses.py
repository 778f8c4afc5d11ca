"""Hand-computed values of the shared preference losses."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from guardopt.align.losses import dpo_loss, masked_nll, sequence_logps  # noqa: E402
from guardopt.core.errors import GuardoptError  # noqa: E402


def test_sequence_logps_sums_only_masked_tokens_and_ignores_masked_minus_inf() -> None:
    logps = torch.tensor([[-1.0, -2.0, -float("inf")], [-0.5, -0.5, -0.5]])
    mask = torch.tensor([[1, 1, 0], [0, 1, 1]])
    assert sequence_logps(logps, mask).tolist() == [-3.0, -1.0]


def test_dpo_loss_matches_hand_computed_value() -> None:
    # margin = (-1 - -2) - (-3 - -2.5) = 1 + 0.5 = 1.5; beta = 0.5 -> h = 0.75
    loss = dpo_loss(torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([-2.0]), torch.tensor([-2.5]), beta=0.5)
    assert loss.item() == pytest.approx(math.log1p(math.exp(-0.75)), rel=1e-6)


def test_dpo_loss_at_reference_is_log_two_and_its_gradient_points_to_the_chosen() -> None:
    pc = torch.tensor([-2.0], requires_grad=True)
    pr = torch.tensor([-2.0], requires_grad=True)
    loss = dpo_loss(pc, pr, torch.tensor([-2.0]), torch.tensor([-2.0]), beta=0.1)
    assert loss.item() == pytest.approx(math.log(2.0))
    loss.sum().backward()
    assert pc.grad is not None and pr.grad is not None
    assert pc.grad.item() == pytest.approx(-0.05)  # -beta * (1 - sigmoid(0))
    assert pr.grad.item() == pytest.approx(0.05)


def test_masked_nll_averages_over_selected_tokens() -> None:
    logps = torch.tensor([[-1.0, -3.0], [-2.0, -4.0]])
    mask = torch.tensor([[1, 1], [0, 0]])
    assert masked_nll(logps, mask).tolist() == [2.0, 0.0]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_dpo_loss_refuses_non_finite_log_probabilities(bad: float) -> None:
    with pytest.raises(GuardoptError):
        dpo_loss(torch.tensor([bad]), torch.tensor([-1.0]), torch.tensor([-1.0]), torch.tensor([-1.0]))


def test_dpo_loss_names_beta_and_shapes() -> None:
    one = torch.tensor([-1.0])
    with pytest.raises(GuardoptError, match="'beta'"):
        dpo_loss(one, one, one, one, beta=0.0)
    with pytest.raises(GuardoptError, match="one shape"):
        dpo_loss(one, torch.tensor([-1.0, -2.0]), one, one)


# ------------------------------------------------------------------ Intervened PO and GRPO (hand-computed)

from guardopt.align.losses import (  # noqa: E402
    divergence_mask,
    grpo_advantages,
    grpo_loss,
    intervened_po_loss,
)


def test_intervened_po_loss_scores_only_post_divergence_tokens_plus_sft() -> None:
    # Two tokens each; the mask keeps only the second (the divergence index h = 1).
    pc = torch.tensor([[-5.0, -1.0]])
    pr = torch.tensor([[-5.0, -2.0]])
    rc = torch.tensor([[-7.0, -1.5]])
    rr = torch.tensor([[-7.0, -1.5]])
    mask = torch.tensor([[0.0, 1.0]])
    # margin = (-1 - -1.5) - (-2 - -1.5) = 0.5 + 0.5 = 1.0; beta = 0.5 -> h = 0.5; NLL(chosen part) = 1.0
    loss = intervened_po_loss(pc, pr, rc, rr, mask, mask, beta=0.5, sft_weight=0.2)
    assert loss.item() == pytest.approx(math.log1p(math.exp(-0.5)) + 0.2 * 1.0, rel=1e-6)
    # the shared first token never matters, however different its log-probabilities under the policy
    pc2 = pc.clone()
    pc2[0, 0] = -50.0
    pr2 = pr.clone()
    pr2[0, 0] = -50.0
    assert intervened_po_loss(pc2, pr2, rc, rr, mask, mask, beta=0.5, sft_weight=0.2).item() == pytest.approx(
        loss.item(), rel=1e-6)


def test_intervened_po_without_sft_is_dpo_on_the_masked_sums() -> None:
    pc, pr = torch.tensor([[-1.0, -2.0]]), torch.tensor([[-3.0, -1.0]])
    rc, rr = torch.tensor([[-1.5, -2.0]]), torch.tensor([[-2.0, -1.0]])
    full = torch.ones(1, 2)
    got = intervened_po_loss(pc, pr, rc, rr, full, full, beta=0.1, sft_weight=0.0)
    want = dpo_loss(pc.sum(1), pr.sum(1), rc.sum(1), rr.sum(1), beta=0.1)
    assert got.item() == pytest.approx(want.item(), rel=1e-6)
    with pytest.raises(GuardoptError, match="'sft_weight'"):
        intervened_po_loss(pc, pr, rc, rr, full, full, sft_weight=-1.0)


def test_divergence_mask() -> None:
    m = divergence_mask(torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1]]), torch.tensor([2, 0]))
    assert m.tolist() == [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]]


def test_grpo_advantages_by_hand_and_zero_variance_groups() -> None:
    adv = grpo_advantages(torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]), eps=0.0 + 1e-12)
    # group 1: mean 0.5, population std 0.5 -> (+1, -1, -1, +1); group 2: no signal
    assert adv[0].tolist() == pytest.approx([1.0, -1.0, -1.0, 1.0], abs=1e-6)
    assert adv[1].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert grpo_advantages(torch.tensor([[2.0, 0.0]]), scale=False).tolist() == [[1.0, -1.0]]


def test_grpo_loss_by_hand() -> None:
    # One sequence, two tokens; ratio exp(0.5) on token 1 (clipped at 1.2 for A > 0), 1 on token 2.
    lp = torch.tensor([[-1.0, -2.0]])
    old = torch.tensor([[-1.5, -2.0]])
    ref = torch.tensor([[-1.0, -1.0]])
    adv = torch.tensor([2.0])
    mask = torch.ones(1, 2)
    # token 1: -min(e^.5*2, 1.2*2) = -2.4, KL k3 with delta 0 -> 0
    # token 2: -min(1*2, 1*2) = -2; delta = -1 - -2 = 1 -> k3 = e^1 - 1 - 1
    want = ((-2.4) + (-2.0 + 0.1 * (math.e - 2.0))) / 2
    assert grpo_loss(lp, old, ref, adv, mask, clip_eps=0.2, kl_beta=0.1).item() == pytest.approx(want, rel=1e-6)
    with pytest.raises(GuardoptError, match="'clip_eps'"):
        grpo_loss(lp, old, ref, adv, mask, clip_eps=1.5)


def test_grpo_loss_asymmetric_clip_and_ratio_weighted_kl_by_hand() -> None:
    lp = torch.tensor([[-1.0, -2.0]])
    old = torch.tensor([[-1.5, -2.5]])  # ratio e^0.5 = 1.6487 on both tokens
    ref = torch.tensor([[-1.0, -1.0]])
    adv = torch.tensor([1.0])
    mask = torch.ones(1, 2)
    r = math.exp(0.5)
    # upper clip 1.3: surrogate -1.3 on both tokens; KL k3: token 1 delta 0 -> 0, token 2 delta 1 -> e - 2
    want = (-1.3 + (-1.3 + 0.1 * (math.e - 2.0))) / 2
    got = grpo_loss(lp, old, ref, adv, mask, clip_eps=0.2, kl_beta=0.1, clip_eps_high=0.3)
    assert got.item() == pytest.approx(want, rel=1e-6)
    want_w = (-1.3 + (-1.3 + 0.1 * r * (math.e - 2.0))) / 2
    got_w = grpo_loss(lp, old, ref, adv, mask, clip_eps=0.2, kl_beta=0.1, clip_eps_high=0.3, kl_ratio_weighted=True)
    assert got_w.item() == pytest.approx(want_w, rel=1e-6)
