from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from guardopt.core.errors import InvalidParameterError  # noqa: E402
from guardopt.offline.ignite import (  # noqa: E402
    Ignite,
    IgniteConfig,
    SharpnessPenalty,
    finite_difference_sharpness_grad,
    prediction_gradient,
)
from guardopt.offline.nets import MLPConfig, make_mlp  # noqa: E402


def _small_net(seed: int = 0) -> torch.nn.Module:
    return make_mlp(3, MLPConfig(hidden=(5, 4), activation="tanh"), seed=seed).double()


def _grad_or_zero(out: torch.Tensor, params: list) -> list:
    # The output bias's gradient of G is constant, so ‖∇G‖ does not depend on it: autograd reports
    # it unused, and its exact derivative is 0.
    grads = torch.autograd.grad(out, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def test_finite_difference_matches_autograd_gradient_of_gradient_norm() -> None:
    net = _small_net()
    x = torch.randn(16, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    params = list(net.parameters())
    # Autograd: ∇_β ‖∇_β G_B(β)‖ by a double backward.
    g = prediction_gradient(net, x, create_graph=True)
    norm = torch.sqrt(sum((t**2).sum() for t in g))
    exact = _grad_or_zero(norm, params)
    fd, fd_norm = finite_difference_sharpness_grad(net, x, r=1e-5)
    assert fd_norm == pytest.approx(float(norm.detach()), rel=1e-12)
    for a, b in zip(fd, exact):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-6)


def test_finite_difference_error_shrinks_with_radius() -> None:
    net = _small_net(2)
    x = torch.randn(8, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    g = prediction_gradient(net, x, create_graph=True)
    exact = _grad_or_zero(torch.sqrt(sum((t**2).sum() for t in g)), list(net.parameters()))
    errs = []
    for r in (1e-1, 1e-2, 1e-3):
        fd, _ = finite_difference_sharpness_grad(net, x, r=r)
        errs.append(float(torch.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(fd, exact)))))
    assert errs[0] > errs[1] > errs[2]


def test_parameters_are_restored_exactly() -> None:
    net = _small_net()
    before = [p.detach().clone() for p in net.parameters()]
    finite_difference_sharpness_grad(net, torch.randn(4, 3, dtype=torch.float64), r=0.3)
    for a, b in zip(before, net.parameters()):
        assert torch.equal(a, b)


def test_penalty_adds_scaled_term_and_keeps_loss_gradient() -> None:
    net = _small_net()
    x = torch.randn(10, 3, dtype=torch.float64)
    y = torch.randn(10, dtype=torch.float64)
    torch.mean((net(x) - y) ** 2).backward()
    loss_grads = [p.grad.clone() for p in net.parameters()]
    cfg = IgniteConfig(rho=0.3, r=0.1, lam0=0.5, adaptive=False)
    term, _ = finite_difference_sharpness_grad(net, x, r=0.1)
    SharpnessPenalty(net, cfg).add_to_grad(x)
    for p, lg, t in zip(net.parameters(), loss_grads, term):
        np.testing.assert_allclose(p.grad.numpy(), (lg + 0.5 * 0.3 * t).numpy(), rtol=1e-10, atol=1e-12)


def test_multiplier_dual_ascent_and_clip_at_zero() -> None:
    net = _small_net()
    x = torch.randn(10, 3, dtype=torch.float64)
    norm = float(torch.sqrt(sum((t**2).sum() for t in prediction_gradient(net, x))))
    # Constraint slack: ρ‖∇G‖ − ε; with a huge ε λ would go negative and must stop at 0.
    pen = SharpnessPenalty(net, IgniteConfig(rho=0.2, r=0.2, lam0=0.01, eta_lam=1.0, epsilon=1e3))
    pen.add_to_grad(x)
    assert pen.lam == 0.0
    pen = SharpnessPenalty(net, IgniteConfig(rho=0.2, r=0.2, lam0=0.01, eta_lam=0.1, epsilon=0.0))
    pen.add_to_grad(x)
    assert pen.lam == pytest.approx(0.01 + 0.1 * 0.2 * norm)
    fixed = SharpnessPenalty(net, IgniteConfig(lam0=0.01, adaptive=False))
    fixed.add_to_grad(x)
    assert fixed.lam == 0.01


def test_wrapper_steps_users_model_and_optimizer() -> None:
    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(64, 4, generator=gen)
    y = x[:, :1] ** 2
    cfg = IgniteConfig(rho=0.05, r=0.05, lam0=0.1)
    ig = Ignite(model, opt, cfg)
    # λ after one step, by hand: dual ascent on ρ‖∇G(β0)‖ − ε with ‖∇G‖ taken before the step.
    norm0 = float(torch.sqrt(sum((t**2).sum() for t in prediction_gradient(model, x))))
    expected = max(0.0, cfg.lam0 + cfg.eta_lam * (cfg.rho * norm0 - cfg.epsilon))
    first = ig.step(lambda: torch.nn.functional.mse_loss(model(x), y), x)
    assert ig.lam == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert ig.lam != cfg.lam0
    for _ in range(50):
        last = ig.step(lambda: torch.nn.functional.mse_loss(model(x), y), x)
    assert last < first


def test_multiplier_moves_with_the_sign_of_the_constraint_slack() -> None:
    net = _small_net()
    x = torch.randn(16, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    norm = float(torch.sqrt(sum((t**2).sum() for t in prediction_gradient(net, x))))
    assert norm > 0.0
    # ε just below ρ‖∇G‖: the constraint is violated, λ must rise by η (ρ‖∇G‖ − ε).
    up = SharpnessPenalty(net, IgniteConfig(rho=0.5, r=0.5, lam0=0.2, eta_lam=0.5, epsilon=0.5 * norm - 0.1))
    up.add_to_grad(x)
    assert up.lam == pytest.approx(0.2 + 0.5 * 0.1, rel=1e-9)
    # ε just above: the constraint has slack 0.1, λ must fall by η · 0.1 (and stay above 0 here).
    down = SharpnessPenalty(net, IgniteConfig(rho=0.5, r=0.5, lam0=0.2, eta_lam=0.5, epsilon=0.5 * norm + 0.1))
    down.add_to_grad(x)
    assert down.lam == pytest.approx(0.2 - 0.5 * 0.1, rel=1e-9)


def test_regularizer_lowers_sharpness() -> None:
    from guardopt.offline.training import TrainConfig, train_regressor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 6)).astype(np.float32)
    y = (np.sin(x).sum(axis=1) + 0.3 * rng.normal(size=256)).astype(np.float32)
    norms = {}
    for lam in (0.0, 1.0):
        net = make_mlp(6, MLPConfig(hidden=(32, 32)), seed=0)
        pen = SharpnessPenalty(net, IgniteConfig(rho=0.2, r=0.2, lam0=lam, adaptive=False))
        train_regressor(net, x, y, TrainConfig(steps=150, batch_size=64), seed=0, sharpness=pen)
        g = prediction_gradient(net, torch.as_tensor(x))
        norms[lam] = float(torch.sqrt(sum((t**2).sum() for t in g)))
    assert norms[1.0] < norms[0.0]


def test_config_validation_message() -> None:
    with pytest.raises(InvalidParameterError, match="The 'rho' parameter of IgniteConfig must be"):
        IgniteConfig(rho=-1.0)
