"""HC-RLHF: the pessimistic bound, its surrogate's gradient, the dual step, the release test, contracts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from guardopt.align.hc_rlhf import (  # noqa: E402
    HCRLHFConfig,
    HCRLHFResult,
    PolicyNotReleasedError,
    cost_upper_bound,
    dual_update,
    hc_rlhf,
    hc_rlhf_train,
    pessimism_coefficient,
    pessimistic_costs,
    reinforce_loo_loss,
    safety_test_policy,
)
from guardopt.align.model import TinyCausalLM, TinyLMConfig  # noqa: E402
from guardopt.align.trainers import frozen_copy  # noqa: E402
from guardopt.core.errors import InputDataError, InvalidParameterError  # noqa: E402
from guardopt.testing.contracts import (  # noqa: E402
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    contract_settings,
    float_arrays,
    wrong_types,
)

# Student-t quantiles from a printed table (t_{0.90, ν}): ν = 4: 1.5332, ν = 9: 1.3830, ν = 99: 1.2902.
T90_4, T90_9, T90_99 = 1.533206, 1.383029, 1.290161


# ------------------------------------------------------------------------------ k, U and the surrogate


def test_k_matches_hand_computed_t_quantiles():
    # k = 4·t_{0.9,9}/√10 + 2·t_{0.9,99}/√100 = 1.749397 + 0.258032
    assert pessimism_coefficient(10, 100, 0.1, 4.0, 2.0) == pytest.approx(4 * T90_9 / math.sqrt(10)
                                                                          + 2 * T90_99 / 10, abs=1e-5)
    assert pessimism_coefficient(10, 100, 0.1, 4.0, 2.0) == pytest.approx(2.007441, abs=1e-5)
    assert pessimism_coefficient(5, 5, 0.1, 1.0, 0.0) == pytest.approx(T90_4 / math.sqrt(5), abs=1e-6)
    assert pessimism_coefficient(10, 100, 0.1, 0.0, 0.0) == 0.0  # the mean constraint
    # the config uses the same formula with its own δ, C1, C2 and m
    assert HCRLHFConfig(safety_size=100).coefficient(10) == pytest.approx(2.007441, abs=1e-5)
    assert HCRLHFConfig(c1=0.0, c2=0.0).mean_constrained


def test_upper_bound_is_mean_plus_k_bessel_std():
    x = np.array([0.0, 0.1, 0.2, 0.3, 0.4])  # mean 0.2, std (ddof=1) 0.1581139
    u, mu, sd = cost_upper_bound(x, 2.0)
    assert (mu, sd) == pytest.approx((0.2, 0.1581139), abs=1e-7)
    assert u == pytest.approx(0.2 + 2 * 0.1581139, abs=1e-7)
    assert cost_upper_bound(x, 0.0)[0] == pytest.approx(0.2)
    assert math.isnan(cost_upper_bound([0.1, math.nan, 0.2], 1.0)[0])  # non-finite costs: no bound


def _exact_moments(theta: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    p = torch.softmax(theta, dim=0)
    mu = (p * c).sum()
    return mu, ((p * c * c).sum() - mu * mu).sqrt()


@pytest.mark.parametrize("k", [0.0, 0.58, 2.0])
def test_surrogate_gradient_equals_the_bound_gradient_by_finite_differences(k):
    # A softmax policy over 5 answers with fixed costs: E_p[c̃] with μ, σ held at their current
    # values must have the gradient of μ(θ) + k·σ(θ), checked against central finite differences.
    torch.manual_seed(0)
    theta = torch.tensor([0.3, -0.2, 0.5, 0.0, -0.7], dtype=torch.float64, requires_grad=True)
    c = torch.tensor([0.0, 0.2, 1.0, 0.4, 0.9], dtype=torch.float64)
    mu, sd = _exact_moments(theta.detach(), c)
    c_tilde = pessimistic_costs(c, float(mu), float(sd), k)
    (torch.softmax(theta, dim=0) * c_tilde).sum().backward()
    assert theta.grad is not None
    eps = 1e-6
    fd = np.zeros(5)
    for i in range(5):
        e = torch.zeros(5, dtype=torch.float64)
        e[i] = eps
        hi = sum(_exact_moments(theta.detach() + e, c)[j] * w for j, w in ((0, 1.0), (1, k)))
        lo = sum(_exact_moments(theta.detach() - e, c)[j] * w for j, w in ((0, 1.0), (1, k)))
        fd[i] = float(hi - lo) / (2 * eps)
    np.testing.assert_allclose(theta.grad.numpy(), fd, atol=1e-7)


def test_reinforce_with_the_surrogate_follows_the_bound_gradient_in_expectation():
    # The same check through the trainer's loss: all ordered pairs of answers of a G = 2 group,
    # weighted by their probabilities, give the exact expected REINFORCE-LOO gradient.
    theta = torch.tensor([0.3, -0.2, 0.5, 0.0, -0.7], dtype=torch.float64, requires_grad=True)
    c = torch.tensor([0.0, 0.2, 1.0, 0.4, 0.9], dtype=torch.float64)
    k = 0.7
    mu, sd = _exact_moments(theta.detach(), c)
    c_tilde = pessimistic_costs(c, float(mu), float(sd), k)
    logp = torch.log_softmax(theta, dim=0)
    p = logp.detach().exp()
    i, j = torch.meshgrid(torch.arange(5), torch.arange(5), indexing="ij")
    i, j = i.reshape(-1), j.reshape(-1)
    seq = torch.stack([logp[i], logp[j]], dim=1).reshape(-1)
    ret = -torch.stack([c_tilde[i], c_tilde[j]], dim=1).reshape(-1)  # maximise −c̃
    w = (p[i] * p[j]).repeat_interleave(2)
    # reinforce_loo_loss averages over prompts; weight each pair by its probability instead
    losses = torch.stack([reinforce_loo_loss(seq[2 * q: 2 * q + 2], ret[2 * q: 2 * q + 2], 2)
                          for q in range(25)])
    (losses * w[::2]).sum().backward()
    assert theta.grad is not None
    mu_t, sd_t = _exact_moments(theta, c)
    want = torch.autograd.grad(mu_t + k * sd_t, theta)[0]
    np.testing.assert_allclose(theta.grad.numpy(), want.numpy(), atol=1e-10)


def test_surrogate_is_the_cost_when_there_is_no_spread_or_no_pessimism():
    c = torch.tensor([0.2, 0.5])
    assert torch.equal(pessimistic_costs(c, 0.3, 0.0, 2.0), c)
    assert torch.equal(pessimistic_costs(c, 0.3, 0.1, 0.0), c)
    # hand value: 0.5 + 2·(0.25 − 2·0.5·0.3)/(2·0.1) = 0.5 + 2·(−0.05)/0.2 = 0.0
    assert float(pessimistic_costs(c, 0.3, 0.1, 2.0)[1]) == pytest.approx(0.0, abs=1e-6)


def test_leave_one_out_loss_on_a_hand_example():
    # G = 3, returns (1, 2, 6): mean 3, advantages (−2, −1, 3); loss = −Σ adv·logp / 2
    logp = torch.tensor([-1.0, -2.0, -0.5], requires_grad=True)
    loss = reinforce_loo_loss(logp, torch.tensor([1.0, 2.0, 6.0]), 3)
    assert float(loss.detach()) == pytest.approx(-(2.0 + 2.0 - 1.5) / 2)
    loss.backward()
    assert logp.grad is not None
    np.testing.assert_allclose(logp.grad.numpy(), [1.0, 0.5, -1.5])
    # equals each return minus the mean of the *other* returns, over G: (1 − 4, 2 − 3.5, 6 − 1.5)/3
    np.testing.assert_allclose(-logp.grad.numpy(), np.array([-3.0, -1.5, 4.5]) / 3)
    with pytest.raises(InputDataError, match="group_size"):
        reinforce_loo_loss(torch.zeros(5), torch.zeros(5), 2)


# ------------------------------------------------------------------------------------------ the dual


def test_dual_step_on_hand_numbers():
    # log λ ← log λ + lr·(U − τ)·λ
    assert dual_update(0.0, 0.5, 0.1, 0.1, 1e6) == pytest.approx(0.04)
    assert dual_update(math.log(2.0), 0.5, 0.1, 0.1, 1e6) == pytest.approx(math.log(2.0) + 0.08)
    assert dual_update(0.0, 0.05, 0.1, 0.1, 1e6) == pytest.approx(-0.005)  # inside: λ shrinks
    assert dual_update(0.0, 0.5, 0.1, 0.0, 1e6) == 0.0  # lr 0: frozen
    assert dual_update(math.log(9.0), 10.0, 0.0, 1.0, 10.0) == pytest.approx(math.log(10.0))  # clamped
    assert dual_update(0.0, math.nan, 0.1, 0.1, 50.0) == pytest.approx(math.log(50.0))  # NaN: fail closed


# ------------------------------------------------------------------------------------------ release


def _tiny_model(seed: int = 0) -> TinyCausalLM:
    return TinyCausalLM(TinyLMConfig(vocab_size=6, d_model=8, n_layers=1, n_heads=2, max_len=12), seed=seed)


def _fixed_costs(values):
    def cost(prefixes, comps):
        return torch.tensor(values[: len(comps)], dtype=torch.float32)
    return cost


@pytest.mark.parametrize("tau, released", [(0.31, True), (0.30, False)])
def test_release_decision_on_a_hand_example(tau, released):
    # costs (0, .1, .2, .3, .4): U = 0.2 + t_{0.9,4}·0.1581139/√5 = 0.2 + 0.108414 = 0.308414
    cfg = HCRLHFConfig(threshold=tau, max_new=3)
    res = safety_test_policy(_tiny_model(), [0] * 5, lambda p: [1, 3], _fixed_costs([0.0, 0.1, 0.2, 0.3, 0.4]),
                             cfg, seed=0, eos_id=2)
    assert res.verdict.upper_bound == pytest.approx(0.2 + T90_4 * 0.1581139 / math.sqrt(5), abs=1e-5)
    assert res.solution_found is released and bool(res) is released
    assert (res.policy is res.candidate) is released
    if released:
        assert res.unwrap() is res.candidate
    else:
        assert res.policy is None
        with pytest.raises(PolicyNotReleasedError, match="No solution found"):
            res.unwrap()


def test_hoeffding_release_uses_the_unit_range():
    # radius sqrt(log(1/0.1) / (2·5)) = 0.479853: U = 0.2 + 0.479853 > 0.31, no solution found
    cfg = HCRLHFConfig(threshold=0.31, max_new=3, bound="hoeffding")
    res = safety_test_policy(_tiny_model(), [0] * 5, lambda p: [1, 3], _fixed_costs([0.0, 0.1, 0.2, 0.3, 0.4]),
                             cfg, seed=0, eos_id=2)
    assert res.verdict.upper_bound == pytest.approx(0.2 + math.sqrt(math.log(10) / 10), abs=1e-6)
    assert not res.solution_found


def test_non_finite_safety_costs_fail_closed():
    cfg = HCRLHFConfig(threshold=10.0, max_new=3)
    res = safety_test_policy(_tiny_model(), [0] * 4, lambda p: [1, 3], _fixed_costs([0.0, math.nan, 0.1, 0.2]),
                             cfg, seed=0, eos_id=2)
    assert not res.solution_found and math.isnan(res.verdict.upper_bound)


def test_training_raises_lambda_while_the_bound_exceeds_the_threshold_and_logs_each_update():
    model = _tiny_model()
    ref = frozen_copy(model)
    cfg = HCRLHFConfig(threshold=0.1, iterations=3, prompts_per_iter=4, samples_per_prompt=2, lambda_lr=0.5,
                       max_new=4, cost_window=16)

    def reward(prefixes, comps):
        return torch.tensor([float(len(c)) for c in comps])

    def cost(prefixes, comps):
        return torch.tensor([0.5 + 0.1 * (c[0] % 2) for c in comps])

    log = hc_rlhf_train(model, ref, [0, 1], lambda p: [1, 3 + p], reward, cost, cfg, seed=1, eos_id=2)
    assert [r["step"] for r in log.rows] == [1.0, 2.0, 3.0]
    assert log.generations == cfg.generations == 24
    lams = [r["lambda"] for r in log.rows]
    assert lams[0] > 1.0 and lams == sorted(lams)
    assert all(r["k"] == pytest.approx(cfg.coefficient(int(min(8 * r["step"], 16)))) for r in log.rows)
    assert log.extra["k_batch"] == pytest.approx(cfg.coefficient(8))
    # the mean constraint is the same trainer with k = 0
    log0 = hc_rlhf_train(_tiny_model(), ref, [0, 1], lambda p: [1, 3 + p], reward, cost,
                         HCRLHFConfig(threshold=0.1, c1=0.0, c2=0.0, iterations=2, prompts_per_iter=4, max_new=4),
                         seed=1, eos_id=2)
    assert all(r["k"] == 0.0 and r["upper"] == pytest.approx(r["window_mean"]) for r in log0.rows)


def test_end_to_end_returns_a_typed_result_and_respects_the_safety_size():
    model = _tiny_model()
    seen = []

    def cost(prefixes, comps):
        seen.append(len(comps))
        return torch.full((len(comps),), 0.05)

    cfg = HCRLHFConfig(threshold=0.1, iterations=1, prompts_per_iter=2, max_new=3, safety_size=3)
    res = hc_rlhf(model, frozen_copy(model), [0], [0] * 10, lambda p: [1, 3], cost, cost, cfg, seed=0, eos_id=2)
    assert isinstance(res, HCRLHFResult) and res.solution_found  # constant costs 0.05: U = 0.05 <= 0.1
    assert seen == [4, 4, 3]  # reward, cost, then the test
    assert res.safety_costs.shape == (3,) and len(res.log.rows) == 1


def test_bad_scorers_are_named():
    model = _tiny_model()
    cfg = HCRLHFConfig(iterations=1, prompts_per_iter=2, max_new=3)
    with pytest.raises(InputDataError, match="cost scorer"):
        hc_rlhf_train(model, frozen_copy(model), [0], lambda p: [1, 3], lambda a, b: torch.zeros(len(b)),
                      lambda a, b: torch.zeros(1), cfg, seed=0, eos_id=2)
    with pytest.raises(InputDataError, match="NaN"):
        hc_rlhf_train(model, frozen_copy(model), [0], lambda p: [1, 3], lambda a, b: torch.zeros(len(b)),
                      lambda a, b: torch.full((len(b),), math.nan), cfg, seed=0, eos_id=2)
    with pytest.raises(InputDataError, match="prompts"):
        hc_rlhf_train(model, frozen_copy(model), [], lambda p: [1, 3], lambda a, b: torch.zeros(len(b)),
                      lambda a, b: torch.zeros(len(b)), cfg, seed=0, eos_id=2)


# ------------------------------------------------------------------------------------------ contracts

_NUM = st.one_of(adversarial_floats(), adversarial_scalars())


def test_config_error_shape():
    with pytest.raises(InvalidParameterError, match=r"The 'delta' parameter of HCRLHFConfig must be"):
        HCRLHFConfig(delta=1.5)
    with pytest.raises(InvalidParameterError, match="lambda_init"):
        HCRLHFConfig(lambda_init=10.0, lambda_max=5.0)
    with pytest.raises(InvalidParameterError, match="samples_per_prompt"):
        HCRLHFConfig(samples_per_prompt=1)


@contract_settings()
@given(_NUM, _NUM, _NUM, _NUM, st.one_of(st.integers(-3, 300), adversarial_scalars()),
       st.one_of(st.integers(-3, 5), adversarial_scalars()))
def test_config_validates_every_field(threshold, delta, c1, lambda_lr, safety_size, samples):
    assert_contract(HCRLHFConfig, threshold=threshold, delta=delta, c1=c1, lambda_lr=lambda_lr,
                    safety_size=safety_size, samples_per_prompt=samples,
                    names=("threshold", "delta", "c1", "lambda_lr", "safety_size", "samples_per_prompt"))


@contract_settings()
@given(st.one_of(st.integers(-3, 10_000), adversarial_scalars()), st.one_of(st.integers(-3, 10_000),
                                                                              adversarial_scalars()), _NUM, _NUM, _NUM)
def test_pessimism_coefficient_is_finite_and_non_negative_or_names_the_problem(n, m, delta, c1, c2):
    assert_contract(pessimism_coefficient, n, m, delta, c1, c2, names=("n", "m", "delta", "c1", "c2"),
                    check=lambda k: math.isfinite(k) and k >= 0)


@contract_settings()
@given(adversarial_arrays(max_dims=2), _NUM)
def test_cost_upper_bound_never_bounds_non_finite_costs(costs, k):
    def check(out):
        u, mu, _sd = out
        finite = np.isfinite(np.asarray(costs, dtype=float)).all()
        return (math.isnan(u) or (math.isfinite(u) and u >= mu - 1e-9 * (1 + abs(mu)))) and (finite or math.isnan(u))

    assert_contract(cost_upper_bound, costs, k, names=("costs", "k"), check=check)


_TENSORS = st.one_of(float_arrays(max_dims=1, max_side=6).map(torch.as_tensor), wrong_types(),
                     adversarial_arrays(max_dims=1))


@contract_settings()
@given(_TENSORS, _NUM, _NUM, _NUM)
def test_pessimistic_costs_are_finite_or_name_the_problem(costs, mean, std, k):
    def check(out):
        return out.shape == costs.shape and bool(torch.isfinite(out).all())

    assert_contract(pessimistic_costs, costs, mean, std, k, names=("costs", "mean", "std", "k"), check=check)


@contract_settings()
@given(_NUM, _NUM, _NUM, _NUM, _NUM)
def test_dual_update_is_finite_and_clamped_or_names_the_problem(log_lambda, upper, threshold, lr, lambda_max):
    def check(new):
        return math.isfinite(new) and new <= math.log(float(lambda_max)) + 1e-12

    assert_contract(dual_update, log_lambda, upper, threshold, lr, lambda_max,
                    names=("log_lambda", "threshold", "lr", "lambda_max"), check=check)


@contract_settings()
@given(_TENSORS, st.one_of(st.integers(-2, 4), adversarial_scalars()))
def test_reinforce_loo_loss_is_finite_or_names_the_problem(returns, group):
    logp = torch.zeros(returns.shape, dtype=torch.float64) if isinstance(returns, torch.Tensor) else returns
    assert_contract(reinforce_loo_loss, logp, returns, group, names=("group_size", "returns", "seq_logps"),
                    check=lambda loss: bool(torch.isfinite(loss)))
