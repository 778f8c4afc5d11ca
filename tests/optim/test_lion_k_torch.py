"""The torch Lion-K optimizer matches the numpy version step for step; importing optim stays light."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from guardopt.optim import LionK, LionKConfig

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("kernel", ["l1", "l2", "linf", "quadratic"])
def test_torch_matches_numpy(kernel: str) -> None:
    from guardopt.optim.lion_k_torch import LionKTorch

    rng = np.random.default_rng(0)
    x0 = rng.normal(size=5)
    grads = rng.normal(size=(20, 5))
    ref = LionK(x0, LionKConfig(lr=0.05, weight_decay=0.3, kernel=kernel))
    p = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = LionKTorch([p], lr=0.05, weight_decay=0.3, kernel=kernel)
    for g in grads:
        ref.step(g)
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(), ref.x, rtol=1e-12, atol=1e-12)


def test_hand_step_torch() -> None:
    from guardopt.optim.lion_k_torch import LionKTorch

    p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = LionKTorch([p], lr=0.1, betas=(0.9, 0.99), weight_decay=0.5, kernel="l1")
    p.grad = torch.tensor([0.5, 0.1], dtype=torch.float64)
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), [0.85, -2.0])


def test_lazy_attribute_and_light_import() -> None:
    from guardopt import optim

    assert optim.LionKTorch.__name__ == "LionKTorch"
    code = "import sys, guardopt.optim, guardopt.online; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_callable_kernel_torch() -> None:
    from guardopt.optim.lion_k_torch import LionKTorch

    p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = LionKTorch([p], lr=0.1, kernel=lambda c: torch.clamp(c, -1.0, 1.0))
    p.grad = torch.tensor([100.0, -100.0], dtype=torch.float64)
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), [-0.1, 0.1])
