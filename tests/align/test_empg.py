"""EMPG: the modulation and the clarity bonus on hand-computed values, the reduction to GRPO, the trainer."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from guardopt.align.empg import (  # noqa: E402
    AgentGRPOConfig,
    EMPGConfig,
    agent_grpo_train,
    empg_advantages,
    evaluate_success,
    rollout,
    step_entropies,
    token_entropies,
)
from guardopt.align.losses import grpo_advantages  # noqa: E402
from guardopt.align.model import TinyCausalLM, TinyLMConfig  # noqa: E402
from guardopt.align.tokenizer import Tokenizer  # noqa: E402
from guardopt.align.trainers import frozen_copy  # noqa: E402
from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError  # noqa: E402
from guardopt.problems.key_door import KEY_DOOR_VOCAB, KeyDoor  # noqa: E402
from guardopt.testing.contracts import adversarial_floats, assert_contract, contract_settings  # noqa: E402

A = torch.tensor([1.0, -1.0])
H = torch.tensor([[0.0, 1.0], [0.5, 0.0]])


def test_hand_computed_modulation_and_bonus() -> None:
    # H̃ = H (min 0, max 1); exp(−H̃) = [[1, e⁻¹], [e^−½, 1]]; g = exp(−H̃) / its mean.
    e1, eh = math.exp(-1.0), math.exp(-0.5)
    mean = (1 + e1 + eh + 1) / 4
    g = [[1 / mean, e1 / mean], [eh / mean, 1 / mean]]
    # Bonus ζ·exp(−H̃ of the next step) on step 0 only: row 0 → ζ·e⁻¹, row 1 → ζ·e⁰.
    mod = [[g[0][0] * 1 + 0.1 * e1, g[0][1] * 1], [g[1][0] * -1 + 0.1 * 1.0, g[1][1] * -1]]
    raw = empg_advantages(A, H, EMPGConfig(center=False))
    assert torch.allclose(raw, torch.tensor(mod), atol=1e-6)
    m = sum(sum(r) for r in mod) / 4
    centred = empg_advantages(A, H, EMPGConfig())
    assert torch.allclose(centred, torch.tensor(mod) - m, atol=1e-6)
    # Pinned: 1.427629, 0.540765, −0.669628, −1.298765.
    assert torch.allclose(centred, torch.tensor([[1.427629, 0.540765], [-0.669628, -1.298765]]), atol=1e-5)
    assert abs(float(centred.mean())) < 1e-6


def test_mean_of_g_is_one_and_confident_steps_get_more_credit() -> None:
    ent = torch.tensor([[0.1, 0.9, 0.4], [2.0, 0.0, 0.7]])
    g = empg_advantages(torch.ones(2), ent, EMPGConfig(zeta=0.0, center=False))
    assert abs(float(g.mean()) - 1.0) < 1e-6
    # Lower entropy ⇒ larger weight, across the whole batch.
    order = torch.argsort(ent.reshape(-1))
    assert bool((g.reshape(-1)[order].diff() < 0).all())
    # A larger k spreads the weights further.
    g3 = empg_advantages(torch.ones(2), ent, EMPGConfig(k=3.0, zeta=0.0, center=False))
    assert float(g3.max()) > float(g.max()) and float(g3.min()) < float(g.min())


def test_bonus_only_on_non_final_steps() -> None:
    ent = torch.tensor([[0.0, 1.0, 0.5], [1.0, 0.25, 0.0]])
    b = empg_advantages(torch.zeros(2), ent, EMPGConfig(k=1.0, k_future=2.0, zeta=0.5, center=False))
    assert bool((b[:, -1] == 0).all())
    expected = 0.5 * torch.exp(-2.0 * ent[:, 1:])  # H̃ = H here (min 0, max 1)
    assert torch.allclose(b[:, :-1], expected, atol=1e-6)


def test_k0_zeta0_is_exactly_the_trajectory_advantage() -> None:
    ent = torch.rand(4, 12, generator=torch.Generator().manual_seed(0))
    traj = torch.tensor([0.5, -1.5, 2.0, 0.25])
    out = empg_advantages(traj, ent, EMPGConfig(k=0.0, zeta=0.0, center=False))
    assert torch.equal(out, traj[:, None].expand(-1, 12))


def test_negative_control_advantages_equal_grpo() -> None:
    # GRPO's group-normalized advantages have a zero batch mean over fixed-length episodes, so the
    # zero-mean normalization changes them by float rounding only.
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    traj = grpo_advantages(rewards).reshape(-1)
    ent = torch.rand(12, 12, generator=torch.Generator().manual_seed(1)) * 2
    control = empg_advantages(traj, ent, EMPGConfig(k=0.0, zeta=0.0))
    assert torch.allclose(control, traj[:, None].expand(-1, 12), rtol=0.0, atol=1e-6)
    paper = empg_advantages(traj, ent, EMPGConfig())
    assert not torch.allclose(paper, traj[:, None].expand(-1, 12), atol=1e-2)


def test_equal_entropies_give_g_one() -> None:
    out = empg_advantages(A, torch.full((2, 3), 0.7), EMPGConfig(zeta=0.0, center=False))
    assert torch.allclose(out, A[:, None].expand(-1, 3), atol=1e-6)


def test_bad_inputs_raise_library_errors() -> None:
    with pytest.raises(InputDataError, match="step_entropy"):
        empg_advantages(A, torch.tensor([[0.0, float("nan")], [0.0, 1.0]]))
    with pytest.raises(InputDataError, match="non-negative"):
        empg_advantages(A, torch.tensor([[0.0, -1.0], [0.0, 1.0]]))
    with pytest.raises(InputDataError, match="traj_advantages"):
        empg_advantages(torch.ones(3), H)
    with pytest.raises(InputDataError, match="step_entropy"):
        empg_advantages(A, torch.ones(2))
    with pytest.raises(InvalidParameterError, match="The 'zeta' parameter of EMPGConfig"):
        EMPGConfig(zeta=-0.1)
    with pytest.raises(InvalidParameterError, match="The 'k' parameter of EMPGConfig"):
        EMPGConfig(k=float("nan"))
    with pytest.raises(InvalidParameterError, match="'group_size' parameter of AgentGRPOConfig"):
        AgentGRPOConfig(group_size=1)


def test_token_and_step_entropies() -> None:
    model = TinyCausalLM(TinyLMConfig(5, d_model=8, n_layers=1, n_heads=2, max_len=6))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()  # zero logits: uniform next-token distributions
    ids = torch.tensor([[1, 2, 3, 4]])
    logps, ent = token_entropies(model, ids)
    assert torch.allclose(ent, torch.full((1, 3), math.log(5)), atol=1e-6)
    assert torch.allclose(logps, torch.full((1, 3), -math.log(5)), atol=1e-6)
    e = torch.tensor([[1.0, 2.0, 4.0], [3.0, 0.0, 0.0]])
    mask = torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    assert torch.allclose(step_entropies(e, mask), torch.tensor([3.0, 0.0]))


@contract_settings()
@given(st.lists(adversarial_floats(), min_size=2, max_size=2),
       st.lists(st.lists(adversarial_floats(), min_size=3, max_size=3), min_size=2, max_size=2),
       st.one_of(adversarial_floats(), st.just(1.0)))
def test_empg_advantages_are_finite_or_refuse(adv, ent, k) -> None:
    def call() -> torch.Tensor:
        return empg_advantages(torch.tensor(adv), torch.tensor(ent), EMPGConfig(k=k))

    out = assert_contract(call, names=("traj_advantages", "step_entropy", "k"))
    if out.ok:
        assert bool(torch.isfinite(out.result).all())


def _setup() -> tuple[KeyDoor, Tokenizer, TinyCausalLM]:
    env = KeyDoor(length=4, horizon=5, slack=1)
    tok = Tokenizer(KEY_DOOR_VOCAB)
    return env, tok, TinyCausalLM(TinyLMConfig(len(tok), d_model=16, n_layers=1, n_heads=2, max_len=8), seed=3)


def test_rollout_shapes_and_rewards() -> None:
    env, tok, model = _setup()
    tasks = env.tasks()[:3]
    ro = rollout(model, env, tok, tasks, torch.Generator().manual_seed(0))
    assert len(ro.prefixes) == len(ro.answers) == 3 * env.horizon and ro.n_steps == env.horizon
    assert ro.rewards.shape == (3,) and set(ro.rewards.tolist()) <= {0.0, 1.0}
    assert all(p[0] == tok.bos_id and len(p) == 3 for p in ro.prefixes)
    assert all(1 <= len(a) <= 2 for a in ro.answers)
    with pytest.raises(InputDataError, match="no tasks"):
        rollout(model, env, tok, [], torch.Generator())


def test_grpo_and_constant_empg_train_alike_and_empg_differs() -> None:
    env, tok, model = _setup()
    tasks = env.tasks()
    cfg = AgentGRPOConfig(updates=3, tasks_per_update=2, group_size=4, lr=3e-3)
    start = {k: v.clone() for k, v in model.state_dict().items()}

    def train(empg: EMPGConfig | None) -> dict[str, torch.Tensor]:
        model.load_state_dict(start)
        log = agent_grpo_train(model, frozen_copy(model), env, tok, tasks, cfg, seed=5, empg=empg)
        assert len(log.rows) == 3 and log.generations == 3 * 2 * 4 * env.horizon
        assert all(r["update_kl"] >= 0 and math.isfinite(r["ref_kl"]) for r in log.rows)
        return {k: v.clone() for k, v in model.state_dict().items()}

    grpo, control, paper = train(None), train(EMPGConfig(k=0.0, zeta=0.0)), train(EMPGConfig())
    assert max(float((grpo[k] - control[k]).abs().max()) for k in grpo) < 1e-5
    assert max(float((grpo[k] - paper[k]).abs().max()) for k in grpo) > 1e-5


def test_trainer_refuses_bad_arguments_and_evaluates() -> None:
    env, tok, model = _setup()
    with pytest.raises(GuardoptError, match="no tasks"):
        agent_grpo_train(model, frozen_copy(model), env, tok, [], AgentGRPOConfig(updates=1), seed=0)
    with pytest.raises(InvalidParameterError, match="'empg' parameter"):
        agent_grpo_train(model, frozen_copy(model), env, tok, env.tasks(), AgentGRPOConfig(updates=1), seed=0,
                         empg="paper")  # type: ignore[arg-type]
    a = evaluate_success(model, env, tok, env.tasks(), 2, seed=9)
    b = evaluate_success(model, env, tok, env.tasks(), 2, seed=9)
    assert a == b and 0.0 <= a <= 1.0
