"""VPO: hand-computed loss values (both signs), the value's closed form against its definition, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from guardopt.align.identity_po import ipo_loss  # noqa: E402
from guardopt.align.losses import dpo_loss  # noqa: E402
from guardopt.align.vpo import VPOConfig, sign_value, vpo_loss, vpo_value  # noqa: E402
from guardopt.core.errors import GuardoptError  # noqa: E402

T = torch.tensor
PAIR = (T([-1.0]), T([-3.0]), T([-2.0]), T([-2.5]))  # margin (−1+2) − (−3+2.5) = 1.5
CAL = (T([-1.0, -2.0]), T([-2.0, -2.5]))             # log-ratios 1.0 and 0.5, mean 0.75


def test_vpo_value_hand_computed():
    # −β·mean(log π − log π_ref) = −0.5·0.75
    assert float(vpo_value(*CAL, beta=0.5)) == pytest.approx(-0.375)
    # weights 3:1 -> weighted mean ratio (3·1.0 + 0.5)/4 = 0.875
    assert float(vpo_value(*CAL, beta=0.5, cal_weights=T([3.0, 1.0]))) == pytest.approx(-0.4375)


@pytest.mark.parametrize(("sign", "expected_shift"), [("pessimistic", -0.15), ("optimistic", +0.15), (-1, -0.15),
                                                        (1.0, 0.15)])
def test_vpo_loss_hand_computed_both_signs(sign, expected_shift):
    dpo = math.log1p(math.exp(-0.75))  # β = 0.5, margin 1.5
    # L = DPO − sign·α·J*, J* = −0.375, α = 0.4: pessimistic (−1) gives DPO − 0.15, optimistic DPO + 0.15.
    loss = vpo_loss(*PAIR, *CAL, sign=sign, alpha=0.4, beta=0.5)
    assert float(loss) == pytest.approx(dpo + expected_shift, rel=1e-6)


def test_alpha_zero_is_dpo_and_ipo_base_is_ipo():
    loss = vpo_loss(*PAIR, *CAL, alpha=0.0, beta=0.5)
    assert float(loss) == pytest.approx(float(dpo_loss(*PAIR, beta=0.5).mean()))
    # IPO: (h − 1/(2τ))² with h = 1.5, τ = 0.5 -> 0.25
    assert float(ipo_loss(*PAIR, tau=0.5)) == pytest.approx(0.25)
    assert float(vpo_loss(*PAIR, *CAL, alpha=0.0, beta=0.5, base_loss="ipo")) == pytest.approx(0.25)


def test_value_closed_form_matches_the_definition_of_the_optimal_value():
    """J*(r) = max_π E_π[r] − β·KL(π‖π_ref) = β·log Σ π_ref·exp(r/β), for the calibrated implicit reward."""
    rng = np.random.default_rng(3)
    k, beta = 7, 0.3
    log_ref = np.log(rng.dirichlet(np.ones(k)))
    log_pi = np.log(rng.dirichlet(np.ones(k)))
    cal = rng.dirichlet(np.ones(k))  # an arbitrary calibration distribution
    ratio = log_pi - log_ref
    reward = beta * ratio - beta * float(cal @ ratio)  # r_π with the shift fixed by E_cal[r] = 0
    assert float(cal @ reward) == pytest.approx(0.0, abs=1e-12)
    j_star = beta * math.log(float(np.sum(np.exp(log_ref + reward / beta))))
    # The maximizer is π itself: J(r, π) equals J*, and any other policy does worse.
    pi = np.exp(log_pi)
    assert float(pi @ reward) - beta * float(pi @ ratio) == pytest.approx(j_star, abs=1e-10)
    for _ in range(20):
        other = rng.dirichlet(np.ones(k))
        kl = float(other @ (np.log(other) - log_ref))
        assert float(other @ reward) - beta * kl <= j_star + 1e-10
    got = vpo_value(T(log_pi), T(log_ref), beta=beta, cal_weights=T(cal))
    assert float(got) == pytest.approx(j_star, abs=1e-10)


@pytest.mark.parametrize(("sign", "direction"), [("pessimistic", +1.0), ("optimistic", -1.0)])
def test_value_term_gradient_raises_or_lowers_the_calibration_likelihood(sign, direction):
    cal = T([-1.0, -2.0], requires_grad=True)
    loss = vpo_loss(*PAIR, cal, CAL[1], sign=sign, alpha=0.4, beta=0.5)
    loss.backward()
    assert cal.grad is not None
    # A gradient step moves log π(cal) by −grad: up for pessimism, down for optimism, by α·β/C each.
    assert (-cal.grad * direction > 0).all()
    assert cal.grad.abs().tolist() == pytest.approx([0.1, 0.1])


def test_bad_inputs_name_the_parameter():
    with pytest.raises(GuardoptError, match="'sign'"):
        vpo_loss(*PAIR, *CAL, sign="neutral")
    with pytest.raises(GuardoptError, match="'alpha'"):
        vpo_loss(*PAIR, *CAL, alpha=-0.1)
    with pytest.raises(GuardoptError, match="'beta'"):
        vpo_value(*CAL, beta=0.0)
    with pytest.raises(GuardoptError, match="base_loss"):
        vpo_loss(*PAIR, *CAL, base_loss="hinge")
    with pytest.raises(GuardoptError, match="policy_cal"):
        vpo_value(T([]), T([]))
    with pytest.raises(GuardoptError, match="one shape"):
        vpo_value(T([-1.0]), T([-1.0, -2.0]))
    with pytest.raises(GuardoptError, match="NaN"):
        vpo_value(T([float("nan")]), T([-1.0]))
    with pytest.raises(GuardoptError, match="cal_weights"):
        vpo_value(*CAL, cal_weights=T([1.0, -1.0]))
    with pytest.raises(GuardoptError, match="'tau'"):
        ipo_loss(*PAIR, tau=-1.0)
    assert sign_value("optimistic") == 1.0 and sign_value(-1) == -1.0


def test_config_validates_on_creation():
    with pytest.raises(GuardoptError, match="The 'beta' parameter of VPOConfig must be"):
        VPOConfig(beta=0.0)
    with pytest.raises(GuardoptError, match="'sign' parameter of VPOConfig"):
        VPOConfig(sign="both")
    with pytest.raises(GuardoptError, match="'steps'"):
        VPOConfig(steps=0)
    cfg = VPOConfig(alpha=0, beta=1)
    assert cfg.alpha == 0.0 and isinstance(cfg.beta, float)
    with pytest.raises(AttributeError):
        cfg.alpha = 1.0  # type: ignore[misc]
