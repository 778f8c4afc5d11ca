"""Bad input to the robust package raises the library's own error, naming the parameter, instead of a
numpy, torch or HiGHS failure deep inside, a silently ignored option, or a NaN "optimum"."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.problems.knapsack import sample_instance
from guardopt.robust.baselines import nominal_solution, scenario_solution
from guardopt.robust.data import make_value_dataset
from guardopt.robust.problem import check_problem, project_budgeted_box, sample_budgeted_box
from guardopt.testing.contracts import adversarial_scalars, assert_contract, contract_settings

torch = pytest.importorskip("torch")

from guardopt.robust.adversary import pga_worst_case  # noqa: E402
from guardopt.robust.ccg import ml_ccg  # noqa: E402
from guardopt.robust.config import AdversaryConfig, MLCCGConfig, SetEncoderConfig  # noqa: E402
from guardopt.robust.milp_encoding import NetworkWeights, predict, solve_master  # noqa: E402
from guardopt.robust.set_encoder import SetEncoder, train_value_network  # noqa: E402

INSTANCE = sample_instance(4, "UN", seed=0)
TINY = SetEncoderConfig(embed=(4,), post=(4,), embedding_dim=2, value=(3,), epochs=1, batch_size=8)


def _net() -> SetEncoder:
    torch.manual_seed(0)
    return SetEncoder(INSTANCE.features.shape[1], TINY)


class _Problem:
    """A tiny enumerable problem whose attributes a test overrides."""

    n = 2
    first_stage_cost = np.zeros(2)
    features = np.zeros((2, 1))
    budget: object = 1.0
    value_scale: object = 1.0
    fill = 0.0

    def second_stage_value(self, x, xi):  # type: ignore[no-untyped-def]
        return np.zeros(len(x))

    def first_stage_decisions(self) -> np.ndarray:
        return np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=float)

    def first_stage_values(self, xi):  # type: ignore[no-untyped-def]
        rows = np.atleast_2d(xi).shape[0]
        out = np.tile([3.0, 2.0, 1.0, 4.0], (rows, 1))
        out[:, 0] = self.fill
        return out


@pytest.mark.parametrize("attr", ["budget", "value_scale"])
@pytest.mark.parametrize("value", ["x", None, True, [1.0, 2.0], math.nan, math.inf, -1.0])
def test_problem_scalars_are_checked_by_the_library(attr: str, value: object) -> None:
    # Before: float() raised its own TypeError/ValueError, and True was taken for 1.0.
    prob = _Problem()
    setattr(prob, attr, value)
    with pytest.raises(InvalidParameterError, match=f"problem.{attr}"):
        check_problem(prob, "owner")


@pytest.mark.parametrize("seed", [-1, "a", 1.5, True])
def test_dataset_seed_is_checked(seed: object) -> None:
    # Before: numpy's SeedSequence raised ValueError/TypeError (and True passed as seed 1).
    with pytest.raises(InvalidParameterError, match="'seed'"):
        make_value_dataset([INSTANCE], 1, 1, seed=seed)  # type: ignore[arg-type]


def test_dataset_refuses_labels_that_are_not_numbers() -> None:
    class Strings(_Problem):
        def second_stage_value(self, x, xi):  # type: ignore[no-untyped-def]
            return ["a"] * len(x)

    with pytest.raises(InputDataError, match="problem 0"):
        make_value_dataset([Strings()], 1, 2)


@pytest.mark.parametrize("fill", [math.nan, -math.inf, math.inf])
def test_baselines_never_return_a_non_finite_optimum(fill: float) -> None:
    # Before: argmin picked the NaN entry and returned BaselineSolution(x=..., objective=nan).
    prob = _Problem()
    prob.fill = fill
    with pytest.raises(InputDataError, match="'problem'"):
        nominal_solution(prob)  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="'problem'"):
        scenario_solution(prob, 3, np.random.default_rng(0))  # type: ignore[arg-type]
    prob.fill = 0.0
    assert nominal_solution(prob).objective == 0.0  # type: ignore[arg-type]


def test_numpy_integer_budgets_are_accepted() -> None:
    # Before: np.int64(1) was refused as "not a finite non-negative number".
    np.testing.assert_allclose(project_budgeted_box([0.9, 0.9], np.int64(1)), [0.5, 0.5], atol=1e-9)
    assert sample_budgeted_box(3, np.int64(1), 2, np.random.default_rng(0)).shape == (2, 3)


@contract_settings(0.5)
@given(st.sampled_from(["mip_gap", "time_limit", "scale"]), adversarial_scalars())
def test_master_options_are_checked(name: str, value: object) -> None:
    # Before: HiGHS ignored a negative or NaN gap / time limit with a warning and reported "Optimal".
    w = _net().weights()
    kwargs = {"mip_gap": 1e-3, "time_limit": 60.0, "scale": INSTANCE.value_scale, name: value}
    scale = kwargs.pop("scale")
    out = assert_contract(solve_master, w, INSTANCE.features, INSTANCE.first_stage_cost, scale, np.zeros((1, 4)),
                          names=(name,), **kwargs)
    if out.ok:
        assert set(np.unique(out.result.x)) <= {0.0, 1.0}
        assert not np.signbit(out.result.x).any()  # no -0. entries


def test_master_and_predict_check_the_network_and_its_feature_width() -> None:
    w = _net().weights()
    f = INSTANCE.features
    wrong = np.zeros((4, f.shape[1] + 1))
    with pytest.raises(InputDataError, match="'features'"):
        solve_master(w, wrong, INSTANCE.first_stage_cost, 1.0, np.zeros((1, 4)))
    with pytest.raises(InvalidParameterError, match="'weights'"):
        solve_master(None, f, INSTANCE.first_stage_cost, 1.0, np.zeros((1, 4)))  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="'features'"):
        predict(w, np.zeros(4), np.zeros(4), wrong)
    with pytest.raises(InputDataError, match="'x'"):
        predict(w, np.full(4, np.nan), np.zeros(4), f)
    with pytest.raises(InputDataError, match="'xi'"):
        predict(w, np.zeros(4), np.zeros(3), f)
    assert np.isfinite(predict(w, np.zeros(4), np.zeros((2, 4)), f)).all()


def test_network_weights_check_widths_across_parts() -> None:
    w = _net().weights()
    bad_post = ((np.zeros((2, w.x_embed[-1][0].shape[0] + 3)), np.zeros(2)),)
    with pytest.raises(InputDataError, match="'x_post'"):
        NetworkWeights(w.x_embed, bad_post, w.xi_embed, w.xi_post, w.value)
    for layers in ((5,), 5):
        with pytest.raises(InvalidParameterError, match="'x_embed'"):
            NetworkWeights(layers, w.x_post, w.xi_embed, w.xi_post, w.value)  # type: ignore[arg-type]


def test_adversary_checks_its_arguments() -> None:
    net, f = _net(), INSTANCE.features
    with pytest.raises(InputDataError, match="'features'"):
        pga_worst_case(net, np.zeros((4, f.shape[1] + 1)), np.zeros(4), 1.0)
    with pytest.raises(InvalidParameterError, match="'config'"):
        pga_worst_case(net, f, np.zeros(4), 1.0, config={"steps": 1})  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'net'"):
        pga_worst_case(None, f, np.zeros(4), 1.0)  # type: ignore[arg-type]
    nan_net = _net()
    with torch.no_grad():
        for p in nan_net.parameters():
            p.fill_(math.nan)
    # Before: with steps=0 a NaN network returned AdversaryResult(value=-inf).
    with pytest.raises(InputDataError, match="'net'"):
        pga_worst_case(nan_net, f, np.zeros(4), 1.0, AdversaryConfig(steps=0))


def _data():  # type: ignore[no-untyped-def]
    return make_value_dataset([sample_instance(4, "UN", seed=i) for i in range(3)], 2, 2, seed=0)


@pytest.mark.parametrize("val_fraction", [math.nan, -1.0, 1.0, 5.0, "a"])
def test_training_checks_the_validation_fraction(val_fraction: object) -> None:
    # Before: NaN crashed in round(); 1.0 and 5.0 held out every problem and trained on nothing.
    with pytest.raises(InvalidParameterError, match="'val_fraction'"):
        train_value_network(_data(), TINY, val_fraction=val_fraction)  # type: ignore[arg-type]


def test_training_keeps_one_problem_to_train_on() -> None:
    out = train_value_network(_data(), TINY, val_fraction=0.99)
    assert np.isfinite(out.train_mse) and np.isfinite(out.val_mse)


def test_training_checks_config_seed_and_inputs() -> None:
    import dataclasses

    data = _data()
    with pytest.raises(InvalidParameterError, match="'config'"):
        train_value_network(data, {"epochs": 1})  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'seed'"):
        train_value_network(data, TINY, seed=2**70)
    feats = data.features.copy()
    feats[0, 0, 0] = np.nan
    with pytest.raises(InputDataError, match="'features'"):
        train_value_network(dataclasses.replace(data, features=feats), TINY)
    with pytest.raises(InvalidParameterError, match="'config'"):
        SetEncoder(3, {"embed": (3,)})  # type: ignore[arg-type]
    assert SetEncoder(np.int64(3), TINY).feature_dim == 3  # type: ignore[arg-type]


def test_ml_ccg_seed_must_be_non_negative() -> None:
    # Before: numpy raised "expected non-negative integer".
    cfg = MLCCGConfig(max_iterations=1, adversary=AdversaryConfig(steps=1))
    with pytest.raises(InvalidParameterError, match="'seed'"):
        ml_ccg(INSTANCE, _net(), cfg, seed=-1)
    assert ml_ccg(INSTANCE, _net(), cfg, seed=np.int64(1)).iterations == 1  # type: ignore[arg-type]
