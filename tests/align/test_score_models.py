"""Reward, cost and classifier models: hand-computed losses, training on SafeSteps, fail-closed contracts."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from guardopt.align.model import TinyCausalLM, TinyLMConfig  # noqa: E402
from guardopt.align.score_models import (  # noqa: E402
    ScoreModel,
    ScoreTrainConfig,
    bradley_terry_loss,
    cost_model_loss,
    score_completions,
    train_classifier,
    train_cost_model,
    train_reward_model,
)
from guardopt.align.tokenizer import Tokenizer  # noqa: E402
from guardopt.core.errors import InputDataError, InvalidParameterError  # noqa: E402
from guardopt.problems.safe_steps import SAFE_STEPS_VOCAB, SafeSteps, SafeStepsPrompt, helpfulness, severity  # noqa: E402
from guardopt.testing.contracts import adversarial_floats, assert_contract, contract_settings  # noqa: E402

TOK = Tokenizer(SAFE_STEPS_VOCAB)
CFG = TinyLMConfig(vocab_size=len(SAFE_STEPS_VOCAB), d_model=32, n_layers=1, n_heads=2, max_len=32)


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_bradley_terry_loss_by_hand() -> None:
    got = bradley_terry_loss(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]))
    want = (-math.log(_sig(1.0)) - math.log(_sig(-2.0))) / 2
    assert float(got) == pytest.approx(want, rel=1e-6)


def test_cost_model_loss_by_hand() -> None:
    # Pair 1: unsafer is unsafe (y=+1, c=2), safer is safe (y=-1, c=-1).
    # Pair 2: both unsafe (y=+1), c_unsafer=0.5, c_safer=1.0 (the pairwise term is mis-ordered).
    got = cost_model_loss(torch.tensor([2.0, 0.5]), torch.tensor([-1.0, 1.0]),
                          torch.tensor([True, True]), torch.tensor([False, True]))
    p1 = -math.log(_sig(3.0)) - math.log(_sig(2.0)) - math.log(_sig(1.0))
    p2 = -math.log(_sig(-0.5)) - math.log(_sig(0.5)) - math.log(_sig(1.0))
    assert float(got) == pytest.approx((p1 + p2) / 2, rel=1e-6)


def test_cost_loss_gradient_pushes_unsafe_up_and_safe_down() -> None:
    cu = torch.tensor([0.0], requires_grad=True)
    cs = torch.tensor([0.0], requires_grad=True)
    cost_model_loss(cu, cs, torch.tensor([True]), torch.tensor([False])).backward()
    assert float(cu.grad) < 0 < float(cs.grad)  # descent raises c_unsafer, lowers c_safer


def test_score_model_reads_the_last_real_token() -> None:
    m = ScoreModel(CFG, seed=1)
    ids = torch.tensor([[1, 5, 7, 0, 0], [1, 5, 7, 9, 2]])
    with torch.no_grad():
        full = m(ids, torch.tensor([3, 5]))
        alone = m(ids[:1, :3], torch.tensor([3]))
    assert full.shape == (2,)
    assert float(full[0]) == pytest.approx(float(alone[0]), abs=1e-5)  # right padding changes nothing
    with pytest.raises(InputDataError, match="lengths"):
        m(ids, torch.tensor([0, 5]))
    with pytest.raises(InputDataError, match="lengths"):
        m(ids, torch.tensor([3, 6]))


def test_from_policy_copies_the_backbone_only() -> None:
    policy = TinyCausalLM(CFG, seed=3)
    m = ScoreModel.from_policy(policy, n_outputs=4, seed=0)
    for (k, v), (_, w) in zip(policy.state_dict().items(), m.backbone.state_dict().items()):
        assert torch.equal(v, w), k
    assert m.head.out_features == 4
    with pytest.raises(InvalidParameterError, match="policy"):
        ScoreModel.from_policy(m)  # type: ignore[arg-type]


def _encode(p: SafeStepsPrompt) -> list[int]:
    return TOK.encode(p.tokens(), bos=True)


def test_reward_and_cost_models_learn_the_gold_judges() -> None:
    torch.manual_seed(0)
    task = SafeSteps()
    pairs = task.preference_pairs(200, seed=1)
    test = task.preference_pairs(200, seed=2)
    cfg = ScoreTrainConfig(epochs=3, batch_size=32, lr=3e-3)
    rm, cm = ScoreModel(CFG, seed=0), ScoreModel(CFG, seed=1)
    log = train_reward_model(rm, pairs, _encode, TOK.encode, cfg, seed=0)
    train_cost_model(cm, pairs, _encode, TOK.encode, cfg, seed=0)
    assert log.rows[-1]["loss"] < log.rows[0]["loss"]
    pre = [_encode(p.prompt) for p in test]
    ra, rb = (score_completions(rm, pre, [TOK.encode(getattr(p, k)) for p in test]) for k in ("a", "b"))
    ca = score_completions(cm, pre, [TOK.encode(p.a) for p in test])
    strict = [i for i, p in enumerate(test) if helpfulness(p.prompt, p.a) != helpfulness(p.prompt, p.b)]
    agree = [bool((rb[i] > ra[i]) == (helpfulness(test[i].prompt, test[i].b) > helpfulness(test[i].prompt, test[i].a)))
             for i in strict]
    assert sum(agree) / len(agree) > 0.7  # held-out agreement with the gold helpfulness order (chance: 0.5)
    unsafe_a = torch.tensor([p.severity_a >= 1 for p in test])
    sign_acc = float(((ca > 0) == unsafe_a).float().mean())
    assert sign_acc > 0.9  # C > 0 exactly on unsafe completions, mostly


def test_classifier_learns_severity_levels() -> None:
    task = SafeSteps()
    data = task.base_corpus(400, seed=4)
    pre = [_encode(p) for p, _ in data]
    comp = [TOK.encode(c) for _, c in data]
    y = [severity(p, c) for p, c in data]
    m = ScoreModel(CFG, n_outputs=4, seed=2)
    train_classifier(m, pre, comp, y, ScoreTrainConfig(epochs=4, lr=3e-3), seed=0)
    pred = score_completions(m, pre, comp).argmax(dim=-1)
    assert float((pred == torch.tensor(y)).float().mean()) > 0.8
    with pytest.raises(InputDataError, match="labels"):
        train_classifier(m, pre[:2], comp[:2], [0, 4], ScoreTrainConfig(), seed=0)
    with pytest.raises(InvalidParameterError, match="model"):
        train_classifier(ScoreModel(CFG), pre[:2], comp[:2], [0, 1], ScoreTrainConfig(), seed=0)


def test_bad_configs_and_inputs_are_refused_by_name() -> None:
    for kw, name in [({"epochs": 0}, "epochs"), ({"lr": -1.0}, "lr"), ({"lr": float("nan")}, "lr"),
                     ({"batch_size": 1.5}, "batch_size"), ({"grad_clip": 0.0}, "grad_clip"),
                     ({"weight_decay": -1.0}, "weight_decay")]:
        with pytest.raises(InvalidParameterError, match=name):
            ScoreTrainConfig(**kw)
    with pytest.raises(InvalidParameterError, match="n_outputs"):
        ScoreModel(CFG, n_outputs=0)
    with pytest.raises(InputDataError):
        score_completions(ScoreModel(CFG), [[1]], [[2], [3]])
    with pytest.raises(InputDataError):
        score_completions(ScoreModel(CFG), [], [])
    with pytest.raises(InputDataError):
        train_reward_model(ScoreModel(CFG), [], _encode, TOK.encode, ScoreTrainConfig(), seed=0)


VALUES = st.lists(adversarial_floats(), min_size=0, max_size=5)


@contract_settings()
@given(VALUES, VALUES)
def test_bradley_terry_loss_is_finite_or_refuses(a, b) -> None:
    out = assert_contract(bradley_terry_loss, torch.tensor(a), torch.tensor(b),
                          names=("chosen", "rejected"))
    if out.ok:
        assert math.isfinite(float(out.result)) and float(out.result) >= 0


@contract_settings()
@given(VALUES, VALUES, st.lists(st.booleans(), min_size=0, max_size=5))
def test_cost_model_loss_is_finite_or_refuses(a, b, flags) -> None:
    f = torch.tensor(flags, dtype=torch.bool)
    out = assert_contract(cost_model_loss, torch.tensor(a), torch.tensor(b), f, f,
                          names=("c_unsafer", "c_safer", "shape"))
    if out.ok:
        assert math.isfinite(float(out.result)) and float(out.result) >= 0


def test_image_conditioned_models_train_and_score_through_the_same_functions() -> None:
    from guardopt.align.multimodal import ImagePrefixLM, image_score_model

    policy = ImagePrefixLM(TinyCausalLM(CFG, seed=0), d_image=3, seed=0)
    task = SafeSteps()
    half = task.preference_pairs(24, seed=6)
    # Each pair appears twice, with opposite labels and different images: only the image can tell
    # which completion wins.
    imgs = torch.zeros(48, 3)
    imgs[:24, 0] = 3.0
    pairs = [type(p)(p.prompt, p.a, p.b, k, p.safer_winner, p.severity_a, p.severity_b)
             for k in (0, 1) for p in half]
    rm = image_score_model(policy, 1, seed=1)
    cfg = ScoreTrainConfig(epochs=40, batch_size=16, lr=3e-3)
    log = train_reward_model(rm, pairs, _encode, TOK.encode, cfg, seed=0, images=imgs)
    assert log.rows[-1]["loss"] < log.rows[0]["loss"]
    pre = [_encode(p.prompt) for p in pairs]
    ra = score_completions(rm, pre, [TOK.encode(p.a) for p in pairs], images=imgs, batch_size=7)
    rb = score_completions(rm, pre, [TOK.encode(p.b) for p in pairs], images=imgs, batch_size=7)
    # A scorer blind to the image agrees with exactly half of these labels.
    agree = float(((ra > rb) == torch.arange(48).lt(24)).float().mean())
    assert agree > 0.6
    whole = score_completions(rm, pre, [TOK.encode(p.a) for p in pairs], images=imgs)
    assert torch.allclose(whole, ra, atol=1e-5)  # chunking binds each chunk's own images
    with pytest.raises(InputDataError, match="images"):
        score_completions(rm, pre, [TOK.encode(p.a) for p in pairs], images=imgs[:5])
    with pytest.raises(InputDataError, match="images"):
        score_completions(rm, pre[:1], [TOK.encode(pairs[0].a)])  # an image backbone needs its image
    with pytest.raises(InvalidParameterError, match="images"):
        score_completions(ScoreModel(CFG), pre[:1], [TOK.encode(pairs[0].a)], images=imgs[:1])
    with pytest.raises(InvalidParameterError, match="backbone"):
        ScoreModel(CFG, backbone=torch.nn.Linear(2, 2))
