from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from guardopt.core.errors import InvalidParameterError  # noqa: E402
from guardopt.offline.coms import ConservativeConfig, ConservativePenalty  # noqa: E402
from guardopt.offline.mbo import METHODS, DesignCodec, OfflineConfig, run_offline, top_k  # noqa: E402
from guardopt.offline.nets import MLPConfig, make_mlp  # noqa: E402
from guardopt.offline.search import gradient_ascent  # noqa: E402
from guardopt.offline.training import TrainConfig  # noqa: E402
from guardopt.problems.offline_tasks import OfflineTask, continuous_task, dna_task  # noqa: E402

TINY = {"mlp": MLPConfig(hidden=(16,)), "train": TrainConfig(steps=20, batch_size=32), "ascent_steps": 5,
        "ensemble_size": 2}


def test_gradient_ascent_climbs_a_concave_score_and_respects_bounds() -> None:
    target = torch.tensor([0.5, -0.5])
    x = gradient_ascent(lambda z: -((z - target) ** 2).sum(dim=1), np.zeros((3, 2)), steps=200, lr=0.1)
    np.testing.assert_allclose(x.numpy(), np.tile([0.5, -0.5], (3, 1)), atol=1e-4)
    x = gradient_ascent(lambda z: z.sum(dim=1), np.zeros((2, 2)), steps=10, lr=1.0, lower=-1.0 * np.ones(2),
                        upper=np.ones(2))
    np.testing.assert_allclose(x.numpy(), np.ones((2, 2)))


def test_codec_round_trips_discrete_and_clips_continuous() -> None:
    dna = dna_task(length=4)
    codec = DesignCodec.fit(dna)
    np.testing.assert_array_equal(codec.decode(codec.encode(dna.x[:50])), dna.x[:50])
    assert codec.width == 16
    cont = continuous_task("sphere", dim=3, n_samples=50)
    c2 = DesignCodec.fit(cont)
    far = c2.decode(np.full((1, 3), 1e6, dtype=np.float32))
    np.testing.assert_allclose(far, cont.upper[None])


@pytest.mark.parametrize("method", METHODS)
def test_every_method_proposes_a_full_budget(method: str) -> None:
    task = continuous_task("sphere", dim=4, n_samples=400)
    res = run_offline(task, OfflineConfig(method=method, **TINY), seed=0)
    assert res.proposals.shape == (task.budget, 4)
    assert np.all(res.proposals >= task.lower) and np.all(res.proposals <= task.upper)
    assert res.predicted.shape == (task.budget,)
    np.testing.assert_array_equal(res.starts, top_k(task, task.budget))
    scores = task.score(res.proposals)
    assert set(scores) == {"p100", "p80", "p50", "best_visible"}
    hist = res.history[0]
    # The IGNITE hook runs exactly for the IGNITE methods, the COMs term exactly for the COMs ones.
    assert bool(hist.lam) == (method in ("ignite", "ignite-fixed", "coms-ignite"))
    assert bool(hist.alpha) == (method in ("coms", "coms-ignite"))


def test_discrete_task_runs_and_is_deterministic() -> None:
    task = dna_task(length=4)
    a = run_offline(task, OfflineConfig(method="ignite", **TINY), seed=3)
    b = run_offline(task, OfflineConfig(method="ignite", **TINY), seed=3)
    assert a.proposals.dtype == np.int64
    np.testing.assert_array_equal(a.proposals, b.proposals)


def test_user_dataset_plugs_in() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(200, 3))
    task = OfflineTask.from_arrays(x, -(x**2).sum(axis=1), oracle=lambda z: -(z**2).sum(axis=1), lower=-1, upper=1,
                                   budget=16)
    res = run_offline(task, OfflineConfig(**TINY), seed=0)
    assert res.proposals.shape == (16, 3)


def test_conservative_penalty_multiplier_moves_with_gap() -> None:
    net = make_mlp(2, MLPConfig(hidden=(8,)), seed=0)
    pen = ConservativePenalty(net, ConservativeConfig(alpha0=0.1, eta_alpha=1.0, tau=1e6))
    pen.loss(torch.randn(4, 2))
    pen.update()
    assert pen.alpha == 0.0


def test_config_validation() -> None:
    with pytest.raises(InvalidParameterError, match="The 'method' parameter of OfflineConfig"):
        OfflineConfig(method="cma")
