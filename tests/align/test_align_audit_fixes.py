"""Regression tests of defects found by auditing `guardopt.align` as a new user (one test per fix)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from guardopt.align.grpo_guard import clipped_objective, grpo_guard_loss, normalized_log_ratio  # noqa: E402
from guardopt.align.guardrail import GuardrailConfig, filter_and_regenerate  # noqa: E402
from guardopt.align.hc_rlhf import dual_update  # noqa: E402
from guardopt.align.losses import dpo_loss, grpo_advantages, grpo_loss  # noqa: E402
from guardopt.align.ppo import LagrangeMultiplier, PPOConfig, PPOLagConfig, ppo_actor_loss  # noqa: E402
from guardopt.align.riskpo import (  # noqa: E402
    QuantileTracker,
    RiskPOConfig,
    bundle_scores,
    mvar_advantages,
    riskpo_advantages,
)
from guardopt.align.score_models import cost_model_loss  # noqa: E402
from guardopt.align.trainers import DPOConfig, GRPOConfig, PreferencePair, SFTConfig  # noqa: E402
from guardopt.align.vpo import vpo_value  # noqa: E402
from guardopt.core.errors import InputDataError, InvalidParameterError  # noqa: E402
from guardopt.testing.contracts import assert_contract  # noqa: E402


def _grpo_inputs() -> tuple[torch.Tensor, ...]:
    lp = torch.tensor([[-1.0, -2.0]])
    return lp, torch.tensor([[-1.5, -1.0]]), torch.tensor([[-1.2, -2.2]]), torch.tensor([1.0]), torch.ones(1, 2)


@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize("bad", [math.nan, -math.inf])
def test_grpo_loss_refuses_non_finite_logps_on_the_mask(which: int, bad: float) -> None:
    # Before: NaN gave a NaN loss, and -inf old log-probabilities a finite loss from a clipped ratio.
    args = list(_grpo_inputs())
    args[which] = args[which].clone()
    args[which][0, 0] = bad
    with pytest.raises(InputDataError, match="logps"):
        grpo_loss(*args)
    # Padding outside the mask may hold anything.
    args[4] = torch.tensor([[0.0, 1.0]])
    assert math.isfinite(float(grpo_loss(*args)))


def test_grpo_flags_must_be_bools() -> None:
    lp, old, ref, adv, mask = _grpo_inputs()
    with pytest.raises(InvalidParameterError, match="kl_ratio_weighted"):
        grpo_loss(lp, old, ref, adv, mask, kl_ratio_weighted="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="scale"):
        grpo_advantages(torch.tensor([[1.0, 0.0]]), scale="no")  # type: ignore[arg-type]


def test_losses_refuse_non_tensors_with_the_librarys_error() -> None:
    # Before: AttributeError: 'list' object has no attribute 'shape'.
    assert not assert_contract(dpo_loss, [1.0], [1.0], [1.0], [1.0], names=("policy_chosen",)).ok
    assert not assert_contract(grpo_advantages, [[1.0, 2.0]], names=("rewards",)).ok
    assert not assert_contract(bundle_scores, [[1.0]], 1, names=("rewards",)).ok


def test_ppo_actor_loss_refuses_non_finite_current_logps_on_the_mask() -> None:
    zeros, ones = torch.zeros(1, 2), torch.ones(1, 2)
    for bad in (math.nan, -math.inf):
        with pytest.raises(InputDataError, match="logps"):
            ppo_actor_loss(torch.tensor([[bad, 0.0]]), zeros, ones, ones)
    assert math.isfinite(float(ppo_actor_loss(torch.tensor([[math.nan, 0.0]]), zeros, ones,
                                              torch.tensor([[0.0, 1.0]]))))


def test_vpo_value_refuses_weights_whose_sum_overflows() -> None:
    # Before: the sum overflowed to inf and the value came out as 0 instead of −β·mean.
    pol, ref = torch.tensor([-1.0, -2.0], dtype=torch.float64), torch.tensor([-1.5, -1.5], dtype=torch.float64)
    with pytest.raises(InputDataError, match="cal_weights"):
        vpo_value(pol, ref, 0.1, cal_weights=torch.tensor([1e308, 1e308], dtype=torch.float64))


@pytest.mark.parametrize("upper", [np.float32(0.5), torch.tensor(0.5), np.array(0.5)])
def test_dual_update_reads_any_real_scalar_bound(upper: object) -> None:
    # Before: a numpy float32 or 0-d tensor bound counted as NaN and λ jumped to λ_max.
    assert dual_update(0.0, upper, 0.1, 0.1, 1e6) == pytest.approx(0.04)  # type: ignore[arg-type]


@pytest.mark.parametrize("upper", [True, np.bool_(True), "0.5", np.array([0.5, 0.6]), None, math.nan])
def test_dual_update_still_fails_closed_on_non_bounds(upper: object) -> None:
    assert dual_update(0.0, upper, 0.1, 0.1, 1e6) == pytest.approx(math.log(1e6))  # type: ignore[arg-type]


@pytest.mark.parametrize("config", [SFTConfig, DPOConfig, GRPOConfig, PPOConfig, PPOLagConfig])
def test_progress_flag_must_be_a_bool(config: type) -> None:
    with pytest.raises(InvalidParameterError, match="progress"):
        config(progress=1)


@pytest.mark.parametrize("ids", ["ab", (-1,), (1.5,), (True,)])
def test_preference_pair_refuses_non_token_ids(ids: object) -> None:
    # Before: (1.5,) trained silently (truncated to id 1), (-1,) crashed inside torch's gather.
    with pytest.raises(InputDataError, match="chosen"):
        PreferencePair((1,), ids, (2, 3))  # type: ignore[arg-type]
    assert PreferencePair((np.int64(1),), (2,), (3,)).chosen == (2,)


def test_grpo_guard_functions_refuse_bad_shapes_and_types_by_name() -> None:
    z, m = torch.zeros(2, 3), torch.zeros(2, 3, 2)
    std, dt, adv = torch.ones(2), torch.full((2,), 0.5), torch.tensor([1.0, 0.0, -1.0])
    # Before: RuntimeError from torch broadcasting, TypeError from indexing a list.
    assert not assert_contract(grpo_guard_loss, z, z, m, m, std, torch.full((3,), 0.5), adv, names=("dt",)).ok
    assert not assert_contract(clipped_objective, torch.zeros(1, 3), torch.ones(2), 0.2, names=("advantages",)).ok
    assert not assert_contract(normalized_log_ratio, z, z, m, m, [1.0, 1.0], names=("std",)).ok
    with pytest.raises(InvalidParameterError, match="ratio_norm"):
        grpo_guard_loss(z, z, m, m, std, dt, adv, ratio_norm="no")  # type: ignore[arg-type]


def test_riskpo_functions_refuse_bad_arguments_by_name() -> None:
    r = torch.tensor([[1.0, 0.0]])
    # Before: AttributeError on a wrong config or tracker, ValueError on strings.
    assert not assert_contract(riskpo_advantages, r, "cfg", names=("config",)).ok
    cfg = RiskPOConfig(bundle_size=1, grpo=GRPOConfig(prompts_per_iter=1))
    assert not assert_contract(riskpo_advantages, r, cfg, "x", names=("tracker",)).ok
    assert not assert_contract(mvar_advantages, ["a"], 0.5, 2.0, 0.2, 0.9, 1.5, names=("scores",)).ok
    assert not assert_contract(mvar_advantages, [1.0], "x", 2.0, 0.2, 0.9, 1.5, names=("q_alpha",)).ok
    assert not assert_contract(QuantileTracker(0.2, 0.9, 0.1).update, ["a"], names=("scores",)).ok


def test_lagrange_multiplier_refuses_non_numeric_costs() -> None:
    lm = LagrangeMultiplier(1.0, 0.1, 0.0, delay=0)
    assert not assert_contract(lm.update, ["a"], names=("episode_costs",)).ok


@pytest.mark.parametrize("level", [0.9, math.nan, "a", 1.5])
def test_guardrail_refuses_non_integer_levels_instead_of_accepting(level: object) -> None:
    # Before: a level of 0.9 was truncated to 0 ("safe") and the flagged response was accepted.
    def classify(sub: list[int], comps: list[list[int]]) -> list[object]:
        return [level] * len(sub)

    with pytest.raises(InputDataError, match="classify"):
        filter_and_regenerate([1, 2], lambda s, r: [[1]] * len(s), classify, GuardrailConfig())
    ok = filter_and_regenerate([1], lambda s, r: [[1]], lambda s, c: [np.int64(0)], GuardrailConfig())
    assert ok.accepted == (True,)


@pytest.mark.parametrize("label", [0.5, math.nan, 2.0])
def test_cost_model_loss_refuses_non_boolean_labels(label: float) -> None:
    # Before: 0.5 silently removed the sign term, NaN gave a NaN loss.
    c = torch.tensor([1.0, 2.0])
    with pytest.raises(InputDataError, match="unsafer_unsafe"):
        cost_model_loss(c, c, torch.tensor([label, 1.0]), torch.tensor([False, True]))
    assert math.isfinite(float(cost_model_loss(c, c, torch.tensor([True, False]), torch.tensor([0.0, 1.0]))))
