"""Fail-closed contract of guardopt.offline outside PPO: bad input gives a GuardoptError naming it, never a raw
numpy/torch crash, an endless loop, or a model, score or proposal computed from non-finite data."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import InputDataError, InsufficientDataError, InvalidParameterError
from guardopt.offline.bon import best_of_n, kl_best_of_n, monte_carlo_best_of_n
from guardopt.offline.ensembles import combine
from guardopt.testing.contracts import adversarial_arrays, adversarial_scalars, assert_contract, contract_settings

torch = pytest.importorskip("torch")

from guardopt.offline.coms import ConservativePenalty  # noqa: E402
from guardopt.offline.ignite import IgniteConfig, SharpnessPenalty, finite_difference_sharpness_grad  # noqa: E402
from guardopt.offline.mbo import DesignCodec, OfflineConfig, run_offline, top_k  # noqa: E402
from guardopt.offline.nets import MLPConfig, make_mlp  # noqa: E402
from guardopt.offline.reward_models import RewardEnsemble, RewardModelConfig, train_reward_model  # noqa: E402
from guardopt.offline.search import ensemble_score, gradient_ascent  # noqa: E402
from guardopt.offline.training import TrainConfig, train_regressor  # noqa: E402
from guardopt.problems.offline_tasks import dna_task  # noqa: E402

SCORES = np.array([[1.0, 4.0], [2.0, 0.0], [3.0, 2.0]])
TINY_RM = RewardModelConfig(mlp=MLPConfig(hidden=(4,)), epochs=1)
TINY_OFF = OfflineConfig(mlp=MLPConfig(hidden=(8,)), train=TrainConfig(steps=3), ascent_steps=2, ensemble_size=2)


def _pairs(n: int = 12, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d))


def _duck_task(x: np.ndarray, y: np.ndarray, **kw: object) -> SimpleNamespace:
    fields: dict[str, object] = {"name": "duck", "x": x, "y": y, "is_discrete": False, "num_classes": 0,
                                 "lower": None, "upper": None, "budget": 4, "dim": 3, "score": lambda p: {}}
    fields.update(kw)
    return SimpleNamespace(**fields)


# ------------------------------------------------------------------------------------ best-of-n


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_best_of_n_refuses_infinite_scores(bad: float) -> None:
    # Before: an infinite proxy or gold score gave an infinite (or, times a zero weight, NaN) estimate.
    p = np.array([1.0, bad, 3.0])
    with pytest.raises(InputDataError, match="proxy"):
        best_of_n(p, np.ones(3), [1, 2])
    with pytest.raises(InputDataError, match="gold"):
        best_of_n(np.ones(3), p, [1, 2])
    with pytest.raises(InputDataError, match="proxy"):
        monte_carlo_best_of_n(p, np.ones(3), 2, n_trials=4, seed=0)


def test_best_of_n_checks_ns_and_shapes() -> None:
    proxy, gold = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0])
    for ns in ([], 1, [1.5], [True], [0], [4]):  # before: ValueError/TypeError, or 1.5 and True read as 1
        with pytest.raises(InvalidParameterError, match="'ns'"):
            best_of_n(proxy, gold, ns)  # type: ignore[arg-type]
    with pytest.raises(InputDataError):
        best_of_n(np.ones((2, 2, 2)), np.ones((2, 2, 2)), [1])  # before: a meaningless result
    with pytest.raises(InsufficientDataError):
        best_of_n(np.ones((0, 3)), np.ones((0, 3)), [1])  # before: NaN with a RuntimeWarning
    with pytest.raises(InputDataError, match="proxy"):
        best_of_n(["a", "b"], [1, 2], [1])  # type: ignore[arg-type]
    # The valid case still agrees with the hand computation: subsets {1,2}, {1,3}, {2,3} -> 20, 30, 30.
    np.testing.assert_allclose(best_of_n(proxy, gold, [2])[0], [80 / 3])


def test_monte_carlo_chunk_must_be_positive() -> None:
    # Before: chunk=0 looped forever and chunk=-1 crashed inside numpy.
    for chunk in (0, -1):
        with pytest.raises(InvalidParameterError, match="'chunk'"):
            monte_carlo_best_of_n(np.arange(3.0), np.arange(3.0), 2, n_trials=4, seed=0, chunk=chunk)


@pytest.mark.parametrize("n", [math.nan, math.inf, "a"])
def test_kl_best_of_n_refuses_non_finite_n(n: object) -> None:
    with pytest.raises(InputDataError, match="'n'"):  # before: NaN returned, or a raw ValueError
        kl_best_of_n(n)  # type: ignore[arg-type]


@contract_settings()
@given(adversarial_arrays(max_dims=2), adversarial_arrays(max_dims=2))
def test_best_of_n_contract(proxy: object, gold: object) -> None:
    def finite(res: tuple[np.ndarray, np.ndarray]) -> bool:
        return bool(np.all(np.isfinite(res[0])) and np.all(np.isfinite(res[1])))

    assert_contract(best_of_n, proxy, gold, [1], names=("proxy", "gold", "ns"), check=finite)


# ------------------------------------------------------------------------------------ combine


def test_combine_single_member_is_checked() -> None:
    # Before: 5 raised IndexError; -1, True and 0.5 silently picked the last, the second and the first member.
    for member in (5, 3, -1, True, 0.5):
        with pytest.raises(InvalidParameterError, match="'member'"):
            combine(SCORES, "single", member=member)  # type: ignore[arg-type]
    np.testing.assert_allclose(combine(SCORES, "single", member=2), [3.0, 2.0])


def test_combine_axis_and_dtype_are_checked() -> None:
    with pytest.raises(InvalidParameterError, match="'axis'"):
        combine(SCORES, "mean", axis=2)  # before: IndexError
    with pytest.raises(InputDataError, match="'scores'"):
        combine(["a"], "mean")  # type: ignore[arg-type]


@contract_settings()
@given(adversarial_arrays(max_dims=2), st.sampled_from(["mean", "wco", "uwo", "single"]),
       st.one_of(st.integers(-3, 3), adversarial_scalars()))
def test_combine_contract(scores: object, combiner: str, member: object) -> None:
    assert_contract(combine, scores, combiner, member=member, names=("scores", "member", "axis", "samples"))


# ------------------------------------------------------------------------------------ torch search


def test_ensemble_score_refuses_a_weight_that_rewards_disagreement() -> None:
    models = [make_mlp(2, MLPConfig(hidden=(3,)), seed=i) for i in range(2)]
    for lam in (-1.0, math.nan):  # before: accepted; a negative λ ranks disagreement *up* (fails open)
        with pytest.raises(InvalidParameterError, match="'lam'"):
            ensemble_score(models, "uwo", lam=lam)
    with pytest.raises(InputDataError, match="models"):
        ensemble_score([], "mean")  # before: RuntimeError at the first call


def test_gradient_ascent_checks_its_inputs_and_fails_closed() -> None:
    score = lambda z: -(z**2).sum(dim=1)  # noqa: E731
    with pytest.raises(InputDataError, match="x0"):
        gradient_ascent(score, np.array([[np.nan, 1.0]]), steps=2, lr=0.1)  # before: NaN designs returned
    with pytest.raises(InputDataError, match="x0"):
        gradient_ascent(score, np.ones(2), steps=2, lr=0.1)  # before: IndexError
    with pytest.raises(InputDataError, match="lower"):
        gradient_ascent(score, np.ones((2, 2)), steps=2, lr=0.1, lower=np.ones(2), upper=-np.ones(2))
    with pytest.raises(InputDataError, match="lower"):
        gradient_ascent(score, np.ones((2, 2)), steps=2, lr=0.1, lower=np.zeros(3))  # before: RuntimeError
    with pytest.raises(InputDataError, match="upper"):
        gradient_ascent(score, np.ones((2, 2)), steps=2, lr=0.1, upper=np.full(2, np.nan))
    with pytest.raises(InputDataError, match="non-finite"):
        gradient_ascent(lambda z: z.sum(dim=1) * math.nan, np.ones((2, 2)), steps=1, lr=0.1)
    # Hand computation: x + 0.25 · ∇(−‖x‖²) = x − 0.5 x; a scalar bound still applies to every coordinate.
    np.testing.assert_allclose(gradient_ascent(score, np.ones((2, 2)), steps=1, lr=0.25).numpy(), 0.5)
    out = gradient_ascent(lambda z: z.sum(dim=1), torch.zeros(2, 2), steps=3, lr=1.0, upper=1.0)
    np.testing.assert_allclose(out.numpy(), 1.0)


# ------------------------------------------------------------------------------------ configs


@pytest.mark.parametrize("value", ["no", 0, 1, None])
def test_ignite_adaptive_must_be_a_bool(value: object) -> None:
    # Before: "no" was accepted and, being truthy, ran the adaptive multiplier.
    with pytest.raises(InvalidParameterError, match="'adaptive'"):
        IgniteConfig(adaptive=value)  # type: ignore[arg-type]


def test_nested_configs_must_have_their_types() -> None:
    # Before: accepted, then AttributeError deep inside training.
    for field in ("mlp", "train", "ignite", "coms"):
        with pytest.raises(InvalidParameterError, match=f"'{field}'"):
            OfflineConfig(**{field: None})  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'mlp'"):
        RewardModelConfig(mlp="x")  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="config"):
        train_regressor(make_mlp(2, MLPConfig(hidden=(2,)), seed=0), np.ones((3, 2)), np.arange(3.0),
                        config=IgniteConfig())  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="config"):
        SharpnessPenalty(torch.nn.Linear(2, 1), TrainConfig())  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="config"):
        ConservativePenalty(torch.nn.Linear(2, 1), TrainConfig())  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="config"):
        run_offline(_duck_task(np.eye(3), np.arange(3.0)), TrainConfig())  # type: ignore[arg-type]


def test_mlp_hidden_is_a_tuple_of_positive_integers() -> None:
    with pytest.raises(InvalidParameterError, match="'hidden'"):
        MLPConfig(hidden=5)  # type: ignore[arg-type]  # before: TypeError
    with pytest.raises(InvalidParameterError, match="'hidden'"):
        MLPConfig(hidden="44")  # type: ignore[arg-type]
    cfg = MLPConfig(hidden=[4, 2])  # type: ignore[arg-type]
    assert cfg.hidden == (4, 2) and hash(cfg) == hash(MLPConfig(hidden=(4, 2)))  # before: unhashable


@pytest.mark.parametrize("seed", [-1, "a", True, 1.5])
def test_seeds_are_checked(seed: object) -> None:
    a, b = _pairs()
    with pytest.raises(InvalidParameterError, match="'seed'"):
        make_mlp(2, MLPConfig(hidden=(2,)), seed=seed)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'seed'"):
        train_regressor(make_mlp(2, MLPConfig(hidden=(2,)), seed=0), np.ones((3, 2)), np.arange(3.0),
                        TrainConfig(steps=1), seed=seed)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'seed'"):
        train_reward_model(a, b, TINY_RM, seed=seed)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'seed'"):
        RewardEnsemble.fit(a, b, k=1, config=TINY_RM, seed=seed)  # type: ignore[arg-type]


def test_finite_difference_radius_and_inputs_are_checked() -> None:
    net = torch.nn.Linear(2, 1)
    for r in (0.0, -0.1, math.nan):  # before: division by zero, NaN or a sign-flipped term
        with pytest.raises(InvalidParameterError, match="'r'"):
            finite_difference_sharpness_grad(net, torch.ones(2, 2), r)
    with pytest.raises(InputDataError, match="'x'"):
        SharpnessPenalty(net).add_to_grad(np.ones((2, 2)))  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="trainable"):
        SharpnessPenalty(torch.nn.Identity()).add_to_grad(torch.ones(2, 2))


# ------------------------------------------------------------------------------------ training data


@pytest.mark.parametrize("where", ["x", "y"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_train_regressor_refuses_non_finite_data(where: str, bad: float) -> None:
    # Before: a "trained" model whose every loss was NaN.
    x, y = np.ones((4, 2)), np.arange(4.0)
    (x if where == "x" else y).flat[0] = bad
    with pytest.raises(InputDataError, match=f"'{where}'"):
        train_regressor(make_mlp(2, MLPConfig(hidden=(2,)), seed=0), x, y, TrainConfig(steps=2))


def test_train_regressor_checks_the_models_input_width() -> None:
    with pytest.raises(InputDataError, match="columns"):  # before: RuntimeError from a matmul
        train_regressor(make_mlp(2, MLPConfig(hidden=(2,)), seed=0), np.ones((3, 5)), np.arange(3.0))


def test_reward_models_refuse_non_finite_pairs_and_references() -> None:
    a, b = _pairs()
    bad = a.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InputDataError, match="chosen"):
        train_reward_model(bad, b, TINY_RM, seed=0)  # before: a model with NaN weights
    with pytest.raises(InputDataError, match="rejected"):
        RewardEnsemble.fit(a, bad, k=1, config=TINY_RM)  # before: NaN offsets
    with pytest.raises(InputDataError, match="reference"):
        RewardEnsemble.fit(a, b, k=1, config=TINY_RM, reference=np.full((3, 3), np.nan))
    with pytest.raises(InputDataError, match="reference"):
        RewardEnsemble.fit(a, b, k=1, config=TINY_RM, reference=np.ones((3, 4)))  # before: RuntimeError
    with pytest.raises(InsufficientDataError, match="reference"):
        RewardEnsemble.fit(a, b, k=1, config=TINY_RM, reference=np.ones((0, 3)))  # before: NaN offsets


def test_reward_ensemble_standardization_and_predict_are_checked() -> None:
    a, b = _pairs()
    ens = RewardEnsemble.fit(a, b, k=2, config=TINY_RM, seed=0)
    # Before: a negative scale flipped a member's ranking (its worst case became its best), a zero one gave inf.
    for scales in ([-1.0, 1.0], [0.0, 1.0], [np.nan, 1.0]):
        with pytest.raises(InputDataError, match="scales"):
            RewardEnsemble(ens.models, ens.offsets, np.array(scales))
    with pytest.raises(InputDataError, match="offsets"):
        RewardEnsemble(ens.models, np.array([np.nan, 0.0]), ens.scales)
    with pytest.raises(InputDataError, match="'z'"):
        ens.predict(np.ones((2, 4)))  # before: RuntimeError
    with pytest.raises(InputDataError, match="'z'"):
        ens.predict(np.full((2, 3), np.nan))  # before: NaN scores
    with pytest.raises(InputDataError, match="'z'"):
        ens.predict(1.0)  # type: ignore[arg-type]  # before: IndexError
    with pytest.raises(InvalidParameterError, match="'chunk'"):
        ens.predict(np.ones((2, 3)), chunk=0)
    assert ens.predict(np.ones((2, 3))).shape == (2, 2)


# ------------------------------------------------------------------------------------ MBO


@pytest.mark.parametrize("where", ["x", "y"])
def test_run_offline_refuses_non_finite_task_data(where: str) -> None:
    # `OfflineTask` is a protocol: a user's wrapper may hold NaN. Before: NaN "predicted" scores came back.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3))
    y = x.sum(axis=1)
    (x if where == "x" else y).flat[0] = np.nan
    with pytest.raises(InputDataError, match=f"task.{where}"):
        run_offline(_duck_task(x, y), TINY_OFF)


def test_run_offline_and_top_k_use_a_score_column_correctly() -> None:
    # Before: with y of shape (n, 1) top_k sorted each one-element row, so every start was x[0].
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3))
    y = x.sum(axis=1)
    np.testing.assert_array_equal(top_k(_duck_task(x, y[:, None]), 4), x[np.argsort(-y)[:4]])
    res = run_offline(_duck_task(x, y[:, None]), TINY_OFF)
    assert res.starts.shape == (4, 3) and res.predicted.shape == (4,)


def test_run_offline_and_top_k_check_their_arguments() -> None:
    x = np.random.default_rng(0).normal(size=(20, 3))
    task = _duck_task(x, x.sum(axis=1))
    for k in (-1, 1.5, True):  # before: -1 returned n - 1 rows, 1.5 a TypeError, True one row
        with pytest.raises(InvalidParameterError, match="'k'"):
            top_k(task, k)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'budget'"):
        run_offline(_duck_task(x, x.sum(axis=1), budget=0), TINY_OFF)  # before: an empty "result"
    with pytest.raises(InvalidParameterError, match="'seed'"):
        run_offline(task, TINY_OFF, seed="a")  # type: ignore[arg-type]
    with pytest.raises(InputDataError):
        run_offline(_duck_task(x, x.sum(axis=1)[:5]), TINY_OFF)


def test_codec_refuses_invalid_tokens_and_shapes() -> None:
    dna = dna_task(length=4)
    codec = DesignCodec.fit(dna)
    # Before: token 7 raised IndexError, -1 was encoded as the last class and 1.7 as class 1.
    for token in (7, -1, 1.7):
        with pytest.raises(InputDataError, match="tokens"):
            codec.encode(np.full((1, 4), token))
    with pytest.raises(InputDataError, match="'x'"):
        codec.encode(np.zeros((1, 5), dtype=int))
    with pytest.raises(InputDataError, match="'z'"):
        codec.decode(np.zeros((1, 5)))
    with pytest.raises(InvalidParameterError, match="'soft'"):
        DesignCodec.fit(dna, soft=1.0)  # before: log(0) = -inf inputs and NaN standardization
