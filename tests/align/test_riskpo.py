"""RiskPO: the mixed value-at-risk objective, bundling, the tracker and the trainer, on hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from guardopt.align.riskpo import (  # noqa: E402
    QuantileTracker,
    RiskPOConfig,
    bundle_scores,
    mvar,
    mvar_advantages,
    riskpo_advantages,
    riskpo_train,
    token_entropy,
)
from guardopt.align.trainers import GRPOConfig, grpo_train  # noqa: E402
from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError  # noqa: E402
from guardopt.testing.contracts import adversarial_floats, assert_contract, contract_settings  # noqa: E402


def _cfg(**kw) -> RiskPOConfig:
    g = kw.pop("grpo", GRPOConfig(prompts_per_iter=2, group_size=3))
    return RiskPOConfig(grpo=g, **kw)


# ------------------------------------------------------------------------------------------ the objective


def test_mvar_on_hand_computed_values() -> None:
    x = [4.0, 0.0, 2.0, 1.0, 3.0]  # each sample holds mass 0.2
    # CVaR_0.2 = 0 (the lowest fifth); RVaR_0.2:0.9 = (1·0.2 + 2·0.2 + 3·0.2 + 4·0.1) / 0.7 = 1.6 / 0.7
    assert mvar(x, 0.2, 0.9, 0.0) == pytest.approx(1.6 / 0.7)
    assert mvar(x, 0.2, 0.9, 1.5) == pytest.approx((1.5 * 0.0 + 1.6 / 0.7) / 2.5)
    # β = 0.8, ω = 0.5: RVaR_0.2:0.8 = (1 + 2 + 3) / 3 = 2; CVaR_0.2 = 0
    assert mvar(x, 0.2, 0.8, 0.5) == pytest.approx(2.0 / 1.5)
    # a level inside a sample's mass: CVaR_0.3 of [0, 10] = (0·0.3) / 0.3 = 0; RVaR_0.3:0.9 = (0·0.2 + 10·0.4)/0.6
    assert mvar([10.0, 0.0], 0.3, 0.9, 1.0) == pytest.approx((0.0 + 4.0 / 0.6) / 2.0)


def test_mvar_covering_the_whole_distribution_is_the_mean() -> None:
    x = np.array([3.0, 1.0, 2.0, 7.0])
    assert mvar(x, 0.0, 1.0, 0.0) == pytest.approx(x.mean())


def test_mvar_advantages_on_hand_computed_values() -> None:
    s = np.array([1.0, 0.0, 2.0])
    q_a, q_b = 0.4, 1.8  # the linear-interpolation quantiles 0.2 and 0.9 of [0, 1, 2]
    # A_RVaR = [(S−0.4)⁺ − (S−1.8)⁺ − 1.4] / 0.7 = [−0.8/0.7, −2, 0]; A_CVaR = −(0.4 − S)⁺ / 0.2 = [0, −2, 0]
    a = mvar_advantages(s, q_a, q_b, 0.2, 0.9, 1.5)
    assert a == pytest.approx([(-0.8 / 0.7) / 2.5, (1.5 * -2.0 - 2.0) / 2.5, 0.0], abs=1e-5)
    t = mvar_advantages(torch.tensor(s), q_a, q_b, 0.2, 0.9, 1.5)
    assert isinstance(t, torch.Tensor) and t.numpy() == pytest.approx(a, abs=1e-12)
    # papers above q_β get no more credit than one at q_β
    hi = mvar_advantages(np.array([1.8, 5.0]), q_a, q_b, 0.2, 0.9, 1.5)
    assert hi[0] == pytest.approx(hi[1])


def test_bundle_scores_sum_the_jth_rollout_of_each_question() -> None:
    r = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])
    assert bundle_scores(r, 2).tolist() == [[1.0, 0.0, 2.0], [1.0, 2.0, 1.0]]
    assert bundle_scores(r, 1).tolist() == r.tolist()
    with pytest.raises(InvalidParameterError, match="bundle_size"):
        bundle_scores(r, 3)


def test_riskpo_advantages_batch_quantiles_hand_computed() -> None:
    r = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])  # one bundle of 2 questions; papers S = [1, 0, 2]
    adv = riskpo_advantages(r, _cfg(bundle_size=2, quantile_mode="batch"))
    # per paper (before the credit): mixed advantage / unbiased std of S (= 1); then / each question's std
    per_paper = np.array([(-0.8 / 0.7) / 2.5, -2.0, 0.0])
    q_std = float(np.std([1.0, 0.0, 1.0], ddof=1))
    assert adv[0].numpy() == pytest.approx(per_paper / q_std, rel=1e-5)
    assert adv[1].numpy() == pytest.approx(per_paper / q_std, rel=1e-5)  # every rollout of a paper shares it
    uni = riskpo_advantages(r, _cfg(bundle_size=2, quantile_mode="batch", credit="uniform"))
    assert uni[0].numpy() == pytest.approx(per_paper, rel=1e-5, abs=1e-9)


def test_quantile_tracker_warm_start_then_pinball_steps() -> None:
    tr = QuantileTracker(0.2, 0.9, lr_q=0.1)
    assert tr.update(np.array([0.0, 1.0, 2.0])) == pytest.approx((0.4, 1.8))
    # shares below (0.4, 1.8) of [3, 3, 0]: 1/3 and 1/3 -> q += 0.1·(level − share)
    q = tr.update(np.array([3.0, 3.0, 0.0]))
    assert q == pytest.approx((0.4 + 0.1 * (0.2 - 1 / 3), 1.8 + 0.1 * (0.9 - 1 / 3)))
    assert len(tr.history) == 2
    with pytest.raises(InputDataError):
        QuantileTracker(0.2, 0.9, 0.1).value()


def test_tracked_and_mixed_quantiles_use_the_tracker() -> None:
    r = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    cfg = _cfg(bundle_size=2, quantile_mode="track", credit="uniform")
    tr = QuantileTracker(cfg.alpha, cfg.beta, cfg.lr_q)
    first = riskpo_advantages(r, cfg, tr)  # warm start = the batch quantiles
    assert first.numpy() == pytest.approx(riskpo_advantages(r, _cfg(bundle_size=2, quantile_mode="batch",
                                                                     credit="uniform")).numpy(), abs=1e-6)
    riskpo_advantages(r, cfg, tr)
    assert tr.history[1] == pytest.approx((0.4 + 0.1 * (0.2 - 1 / 3), 1.8 + 0.1 * (0.9 - 2 / 3)))
    with pytest.raises(InvalidParameterError, match="tracker"):
        riskpo_advantages(r, cfg, None)


def test_zero_variance_bundle_is_not_blown_up() -> None:
    # all papers score 0 while the tracked quantiles sit above: the released code's 1/(0 + 1e-6) would give ~1e6
    cfg = _cfg(bundle_size=2, quantile_mode="track", credit="uniform")
    tr = QuantileTracker(cfg.alpha, cfg.beta, cfg.lr_q)
    tr.update(np.array([0.0, 1.0, 2.0]))
    adv = riskpo_advantages(torch.zeros(2, 3), cfg, tr)
    assert float(adv.abs().max()) < 20.0 and bool(torch.isfinite(adv).all())


def test_whole_distribution_band_reduces_to_the_mean_objective() -> None:
    # α = 0, β = 1, ω = 0 with batch quantiles (min, max): A = (S − max) / std(S), a constant shift of S
    r = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    adv = riskpo_advantages(r, _cfg(alpha=0.0, beta=1.0, omega=0.0, bundle_size=2, quantile_mode="batch",
                                    credit="uniform", grpo=GRPOConfig(prompts_per_iter=2, group_size=4)))
    s = np.array([1.0, 0.0, 2.0, 2.0])
    assert adv[0].numpy() == pytest.approx((s - s.max()) / np.std(s, ddof=1), abs=1e-5)


def test_config_validation_names_the_parameter() -> None:
    with pytest.raises(InvalidParameterError, match=r"The 'alpha' parameter of RiskPOConfig must be"):
        RiskPOConfig(alpha=1.5)
    with pytest.raises(InvalidParameterError, match="'beta'"):
        RiskPOConfig(alpha=0.5, beta=0.4)
    with pytest.raises(InvalidParameterError, match="'omega'"):
        RiskPOConfig(alpha=0.0, omega=1.0)
    with pytest.raises(InvalidParameterError, match="'bundle_size'"):
        RiskPOConfig(bundle_size=3)  # does not divide the default 20 questions per round
    with pytest.raises(InvalidParameterError, match="'quantile_mode'"):
        RiskPOConfig(quantile_mode="median")
    with pytest.raises(InvalidParameterError, match="'grpo'"):
        RiskPOConfig(grpo={"lr": 1e-3})
    c = RiskPOConfig()
    assert (c.alpha, c.beta, c.omega, c.bundle_size, c.grpo.group_size, c.grpo.kl_beta) == (0.2, 0.9, 1.5, 5, 5, 0.0)
    with pytest.raises(AttributeError):
        c.alpha = 0.3  # type: ignore[misc]


# ------------------------------------------------------------------------------------------ the trainer


class _Uniform(torch.nn.Module):
    """Logits 0 everywhere: every next-token distribution is uniform (entropy log V)."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.zeros(ids.shape[0], ids.shape[1], self.vocab) * self.w


def test_token_entropy_of_a_uniform_policy_is_log_v() -> None:
    assert token_entropy(_Uniform(7), [[1, 3], [1]], [[4, 2], [5, 5, 2]]) == pytest.approx(math.log(7))
    assert math.isnan(token_entropy(_Uniform(7), [[1]], [[]]))


def _tiny():
    from guardopt.align.model import TinyCausalLM, TinyLMConfig
    from guardopt.align.tokenizer import Tokenizer
    from guardopt.problems.carry_addition import CARRY_ADDITION_VOCAB, CarryAddition, verify

    tok = Tokenizer(CARRY_ADDITION_VOCAB)
    task = CarryAddition(digits=1)
    model = TinyCausalLM(TinyLMConfig(len(tok), d_model=16, n_layers=1, n_heads=2, max_len=task.max_len), seed=0)
    prompts = task.prompts(20, seed=0)
    return model, prompts, (lambda p: tok.encode(p.tokens(), bos=True)), (lambda p, c: verify(p, tok.tokens(c))), tok


def test_riskpo_train_runs_through_grpo_train_and_logs_quantiles() -> None:
    from guardopt.align.trainers import frozen_copy

    model, prompts, enc, rew, tok = _tiny()
    cfg = RiskPOConfig(bundle_size=2, grpo=GRPOConfig(iterations=2, prompts_per_iter=4, group_size=3, kl_beta=0.0,
                                                       max_new=3))
    log = riskpo_train(model, frozen_copy(model), prompts, enc, rew, cfg, seed=0, eos_id=tok.eos_id)
    assert len(log.rows) == 2 and log.generations == 2 * 4 * 3
    assert all(math.isfinite(r["cov_logp_adv"]) for r in log.rows)
    assert len(log.extra["quantiles"]) == 2
    with pytest.raises(InvalidParameterError, match="config"):
        riskpo_train(model, model, prompts, enc, rew, cfg.grpo, seed=0, eos_id=tok.eos_id)  # type: ignore[arg-type]


def test_grpo_train_hook_is_backwards_compatible_and_checked() -> None:
    from guardopt.align.losses import grpo_advantages
    from guardopt.align.trainers import frozen_copy

    g = GRPOConfig(iterations=2, prompts_per_iter=2, group_size=3, max_new=3)
    m1, prompts, enc, rew, tok = _tiny()
    m2, *_ = _tiny()
    l1 = grpo_train(m1, frozen_copy(m1), prompts, enc, rew, g, seed=1, eos_id=tok.eos_id)
    l2 = grpo_train(m2, frozen_copy(m2), prompts, enc, rew, g, seed=1, eos_id=tok.eos_id, advantage_fn=grpo_advantages)
    assert [r["loss"] for r in l1.rows] == [r["loss"] for r in l2.rows]
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)
    m3, *_ = _tiny()
    with pytest.raises(InputDataError, match="advantage_fn"):
        grpo_train(m3, frozen_copy(m3), prompts, enc, rew, g, seed=1, eos_id=tok.eos_id,
                   advantage_fn=lambda r: r.reshape(-1))


# ------------------------------------------------------------------------------------------ contracts

VALUES = st.lists(adversarial_floats(), min_size=1, max_size=6)


@contract_settings()
@given(VALUES, st.one_of(adversarial_floats(), st.sampled_from([0.0, 0.2, 0.9, 1.0])),
       st.one_of(adversarial_floats(), st.sampled_from([0.5, 0.9, 1.0])), st.one_of(adversarial_floats(), st.just(1.5)))
def test_mvar_is_finite_or_refuses(x, alpha, beta, omega) -> None:
    out = assert_contract(mvar, x, alpha, beta, omega, names=("scores", "alpha", "beta", "omega"))
    if out.ok:
        assert math.isfinite(out.result)
        assert min(x) - 1e-9 * abs(min(x)) <= out.result <= max(x) + 1e-9 * abs(max(x))


@contract_settings()
@given(VALUES, st.one_of(adversarial_floats(), st.just(0.4)), st.one_of(adversarial_floats(), st.just(1.8)))
def test_mvar_advantages_are_finite_or_refuse(s, qa, qb) -> None:
    out = assert_contract(mvar_advantages, np.array(s), qa, qb, 0.2, 0.9, 1.5,
                          names=("scores", "q_alpha", "q_beta"))
    if out.ok:
        assert bool(np.all(np.isfinite(out.result)))


@contract_settings()
@given(st.lists(st.lists(adversarial_floats(), min_size=3, max_size=3), min_size=2, max_size=2),
       st.sampled_from(["track", "batch", "mix"]))
def test_riskpo_advantages_are_finite_or_refuse(rows, mode) -> None:
    cfg = _cfg(bundle_size=2, quantile_mode=mode)
    tr = QuantileTracker(cfg.alpha, cfg.beta, cfg.lr_q)
    out = assert_contract(riskpo_advantages, torch.tensor(rows, dtype=torch.float64), cfg, tr,
                          names=("rewards", "scores", "q_alpha", "q_beta"))
    if out.ok:
        assert bool(torch.isfinite(out.result).all())


def test_wrong_inputs_are_refused_by_name() -> None:
    for fn, args in [(mvar, ([], 0.2, 0.9, 1.5)), (mvar, ([[1.0]], 0.2, 0.9, 1.5)), (mvar, ("ab", 0.2, 0.9, 0.0)),
                     (bundle_scores, (torch.zeros(3), 1)), (riskpo_advantages, (np.zeros((2, 3)), RiskPOConfig())),
                     (QuantileTracker(0.2, 0.9, 0.1).update, (np.array([np.nan]),))]:
        out = assert_contract(fn, *args, names=("scores", "rewards"))
        assert not out.ok and isinstance(out.error, GuardoptError)
