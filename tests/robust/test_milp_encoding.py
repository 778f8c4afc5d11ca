"""The big-M MILP encoding of the set encoder against the network's own forward pass and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from guardopt.robust.config import SetEncoderConfig  # noqa: E402
from guardopt.robust.milp_encoding import predict, solve_master  # noqa: E402
from guardopt.robust.set_encoder import SetEncoder  # noqa: E402


def _net(seed: int, post: tuple[int, ...] = (6,), value: tuple[int, ...] = (4,)) -> SetEncoder:
    torch.manual_seed(seed)
    return SetEncoder(3, SetEncoderConfig(embed=(5, 4), post=post, embedding_dim=3, value=value)).double()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numpy_forward_matches_torch(seed: int) -> None:
    net = _net(seed)
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(4, 3))
    x = (rng.uniform(size=(6, 4)) < 0.5).astype(float)
    xi = rng.uniform(size=(6, 4))
    with torch.no_grad():
        f = torch.as_tensor(np.broadcast_to(feats, (6, 4, 3)).copy())
        expected = net(torch.as_tensor(x), torch.as_tensor(xi), f)
    np.testing.assert_allclose(predict(net.weights(), x, xi, feats), expected.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("seed", "post", "value"),
                         [(0, (6,), (4,)), (3, (6, 5), (4,)), (4, (), ()), (5, (8,), (3, 3))])
def test_master_milp_equals_brute_force_over_all_binary_x(seed: int, post: tuple[int, ...],
                                                          value: tuple[int, ...]) -> None:
    net = _net(seed, post, value)
    rng = np.random.default_rng(seed)
    n = 4
    feats = rng.normal(size=(n, 3))
    cost = rng.normal(size=n)
    scale = 2.5
    scen = rng.uniform(size=(3, n)) * 0.5
    w = net.weights()
    sol = solve_master(w, feats, cost, scale, scen, mip_gap=0.0)
    xs = np.array(list(itertools.product([0.0, 1.0], repeat=n)))
    with torch.no_grad():
        preds = np.stack([net(torch.as_tensor(xs), torch.as_tensor(np.broadcast_to(s, xs.shape).copy()),
                              torch.as_tensor(np.broadcast_to(feats, (len(xs), n, 3)).copy())).numpy()
                          for s in scen])  # (k, 2^n)
    values = xs @ cost + scale * preds.max(axis=0)
    assert sol.objective == pytest.approx(values.min(), abs=1e-6)
    j = int(np.flatnonzero(np.all(xs == sol.x, axis=1))[0])
    assert values[j] == pytest.approx(values.min(), abs=1e-6)  # the returned x attains the optimum
    np.testing.assert_allclose(sol.predicted, scale * preds[:, j], atol=1e-6)
    assert sol.theta == pytest.approx(scale * preds[:, j].max(), abs=1e-6)


def test_master_rejects_bad_shapes() -> None:
    from guardopt.core.errors import GuardoptError

    w = _net(0).weights()
    with pytest.raises(GuardoptError, match="'scenarios'"):
        solve_master(w, np.zeros((4, 3)), np.zeros(4), 1.0, np.zeros((2, 5)))
    with pytest.raises(GuardoptError, match="'scale'"):
        solve_master(w, np.zeros((4, 3)), np.zeros(4), -1.0, np.zeros((2, 4)))
    with pytest.raises(GuardoptError, match="'scenarios'"):
        solve_master(w, np.zeros((4, 3)), np.zeros(4), 1.0, np.full((1, 4), np.nan))
