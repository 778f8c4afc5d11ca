"""Neur2RO's parts: projection, sampling, configs, data, training, adversary, ML-CCG and the baselines."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from guardopt.core.errors import GuardoptError, InvalidParameterError
from guardopt.problems.knapsack import KnapsackInstance, exact_robust_solution, sample_instance
from guardopt.robust.baselines import nominal_solution, scenario_solution
from guardopt.robust.config import AdversaryConfig, MLCCGConfig, SetEncoderConfig
from guardopt.robust.data import make_value_dataset
from guardopt.robust.problem import project_budgeted_box, sample_budgeted_box


def test_projection_hand_values() -> None:
    np.testing.assert_allclose(project_budgeted_box([0.9, 0.9, 0.9], 1.5), [0.5, 0.5, 0.5], atol=1e-9)
    np.testing.assert_allclose(project_budgeted_box([2.0, -1.0], 5.0), [1.0, 0.0])
    np.testing.assert_allclose(project_budgeted_box([0.2, 0.3], 1.0), [0.2, 0.3])
    # τ = 0.5: clip(1.5 − τ) = 1, clip(0.6 − τ) = 0.1, clip(0.2 − τ) = 0 → sum 1.1 = Γ.
    np.testing.assert_allclose(project_budgeted_box([1.5, 0.6, 0.2], 1.1), [1.0, 0.1, 0.0], atol=1e-9)
    rows = project_budgeted_box(np.array([[0.9, 0.9, 0.9], [0.1, 0.0, 0.0]]), 1.5)
    np.testing.assert_allclose(rows, [[0.5, 0.5, 0.5], [0.1, 0.0, 0.0]], atol=1e-9)


def test_samples_lie_in_the_set_and_are_seeded() -> None:
    a = sample_budgeted_box(6, 1.2, 200, np.random.default_rng(0))
    b = sample_budgeted_box(6, 1.2, 200, np.random.default_rng(0))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (200, 6) and np.all(a >= 0) and np.all(a <= 1) and np.all(a.sum(axis=1) <= 1.2 + 1e-12)


def test_configs_validate_with_the_library_message() -> None:
    with pytest.raises(InvalidParameterError, match="The 'lr' parameter of AdversaryConfig must be"):
        AdversaryConfig(lr=-1.0)
    with pytest.raises(InvalidParameterError, match="'max_iterations' parameter of MLCCGConfig"):
        MLCCGConfig(max_iterations=0)
    with pytest.raises(InvalidParameterError, match="'embed' parameter of SetEncoderConfig"):
        SetEncoderConfig(embed=())
    with pytest.raises(InvalidParameterError, match="'adversary'"):
        MLCCGConfig(adversary="pga")  # type: ignore[arg-type]
    assert MLCCGConfig().adversary == AdversaryConfig(restarts=5, steps=100, lr=1e-3)


def test_nominal_and_scenario_baselines_hand_case() -> None:
    # One item without a repair: commit (+20) then pack (40ξ − 120). Nominal: commit (−100 at ξ = 0).
    inst = KnapsackInstance(c=[10.0], p_bar=[100.0], p_hat=[40.0], f=[120.0], t=[5.0], capacity=12.0, budget=1.0)
    nom = nominal_solution(inst)
    assert list(nom.x) == [1.0] and nom.objective == pytest.approx(-100.0)
    sc = scenario_solution(inst, 50, np.random.default_rng(0))
    assert list(sc.x) == [1.0] and -100.0 < sc.objective <= -60.0
    with pytest.raises(InvalidParameterError, match="'problem'"):
        nominal_solution(object())  # type: ignore[arg-type]


def test_dataset_labels_are_exact_second_stage_values() -> None:
    probs = [sample_instance(4, "UN", seed=1), sample_instance(6, "SC", seed=2)]
    data = make_value_dataset(probs, 3, 4, seed=0)
    assert len(data) == 24 and data.x.shape == (24, 6) and data.features.shape == (24, 6, 7)
    assert data.mask[:12, 4:].sum() == 0 and data.mask[12:].sum() == 12 * 6
    j = 13
    p = probs[1]
    q = p.second_stage_value(data.x[j], data.xi[j])[0] / p.value_scale
    assert data.target[j] == pytest.approx(q)


@pytest.fixture(scope="module")
def small_model():  # type: ignore[no-untyped-def]
    pytest.importorskip("torch")
    from guardopt.robust.set_encoder import train_value_network

    probs = [sample_instance(int(n), "UN", seed=100 + i) for i, n in enumerate([5, 6, 7] * 4)]
    data = make_value_dataset(probs, 6, 10, seed=0)
    return train_value_network(data, SetEncoderConfig(embed=(16, 8), post=(16,), value=(8,), epochs=8,
                                                      batch_size=64), seed=0)


def test_training_is_seeded_and_learns(small_model) -> None:  # type: ignore[no-untyped-def]
    assert small_model.loss_curve[-1] < small_model.loss_curve[0]
    assert np.isfinite(small_model.val_mse)


def test_adversary_stays_in_the_set_and_beats_its_starts(small_model) -> None:  # type: ignore[no-untyped-def]
    import torch

    from guardopt.robust.adversary import pga_worst_case

    inst = sample_instance(6, "UN", seed=5)
    x = np.ones(6)
    res = pga_worst_case(small_model.net, inst.features, x, inst.budget, AdversaryConfig(restarts=3, steps=30, lr=0.05),
                         np.random.default_rng(0))
    assert np.all(res.xi >= 0) and np.all(res.xi <= 1) and res.xi.sum() <= inst.budget + 1e-9
    starts = sample_budgeted_box(6, inst.budget, 3, np.random.default_rng(0))
    with torch.no_grad():
        f = torch.as_tensor(np.broadcast_to(inst.features, (3, 6, 7)).copy(), dtype=torch.float32)
        start_vals = small_model.net(torch.ones(3, 6), torch.as_tensor(starts, dtype=torch.float32), f)
    assert res.value >= float(start_vals.max()) - 1e-6


def test_ml_ccg_runs_converges_and_its_encoding_is_exact(small_model) -> None:  # type: ignore[no-untyped-def]
    from guardopt.robust.ccg import ml_ccg

    inst = sample_instance(6, "WC", seed=9)
    res = ml_ccg(inst, small_model, MLCCGConfig(max_iterations=8, adversary=AdversaryConfig(steps=20, lr=0.05)), seed=0)
    assert 1 <= res.iterations <= 8 and len(res.gaps) == res.iterations
    assert res.encoding_error < 1e-6
    assert res.converged == (res.reason != "max_iterations")
    assert set(np.unique(res.x)) <= {0.0, 1.0}
    assert inst.worst_case(res.x).value >= exact_robust_solution(inst).value - 1e-9
    again = ml_ccg(inst, small_model, MLCCGConfig(max_iterations=8, adversary=AdversaryConfig(steps=20, lr=0.05)),
                   seed=0)
    np.testing.assert_array_equal(again.x, res.x)  # same seed, same run
    with pytest.raises(GuardoptError, match="'model'"):
        ml_ccg(inst, object(), seed=0)  # type: ignore[arg-type]


def test_import_guardopt_robust_does_not_import_torch() -> None:
    code = ("import sys, guardopt, guardopt.robust, guardopt.robust.milp_encoding, guardopt.robust.baselines, "
            "guardopt.problems.knapsack\nassert 'torch' not in sys.modules\n"
            "from guardopt.robust import MLCCGConfig, project_budgeted_box\nassert 'torch' not in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


@pytest.mark.slow
def test_example_runs() -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "robust_knapsack.py"
    spec = importlib.util.spec_from_file_location("robust_knapsack_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    gaps = module.main(quick=True)
    assert gaps["exact"] == 0.0 and all(g >= -1e-9 for g in gaps.values())
