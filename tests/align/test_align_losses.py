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
