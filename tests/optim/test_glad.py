"""GLAD's regularized gradient: hand-computed values, finite differences, the two limits, fail-closed steps."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError  # noqa: E402
from guardopt.optim import GLAD, GLADConfig, glad_gradient  # noqa: E402


def _quadratic() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    a = torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    b = torch.tensor([1.0, -1.0], dtype=torch.float64)
    theta = torch.nn.Parameter(torch.tensor([0.5, -0.25], dtype=torch.float64))
    return a, b, theta


def test_quadratic_matches_the_hand_computed_gradient() -> None:
    # L = ½ θᵀAθ + bᵀθ: g = Aθ + b = [2.25, -1.0]; ‖g‖ = sqrt(6.0625);
    # g_SAM = A(θ + ρ g/‖g‖) + b = g + ρ A g / ‖g‖; g̃ = g + γ ρ A g / ‖g‖.
    a, b, theta = _quadratic()

    def closure() -> torch.Tensor:
        loss = 0.5 * theta @ a @ theta + b @ theta
        loss.backward()
        return loss

    rho, gamma = 0.1, 0.5
    loss, (g_tilde,) = glad_gradient([theta], closure, GLADConfig(rho=rho, gamma=gamma))
    g = torch.tensor([2.25, -1.0], dtype=torch.float64)
    norm = 6.0625**0.5
    expected = g + gamma * rho * (a @ g) / norm  # A g = [5.75, 0.25]
    assert float(loss) == pytest.approx(1.0625, abs=1e-12)  # ½·0.625 + 0.75
    assert torch.allclose(g_tilde, expected, atol=1e-12)
    assert torch.allclose(theta.detach(), torch.tensor([0.5, -0.25], dtype=torch.float64))  # put back


def _mlp() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1])
    return net, x, y


def _flat(net: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def _set(net: torch.nn.Module, flat: torch.Tensor) -> None:
    i = 0
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(flat[i:i + p.numel()].view_as(p))
            i += p.numel()


def _fd_grad(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, at: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """Central finite-difference gradient of the loss at the flat parameter vector ``at``."""
    out = torch.zeros_like(at)
    for i in range(at.numel()):
        e = torch.zeros_like(at)
        e[i] = h
        _set(net, at + e)
        with torch.no_grad():
            lp = float(torch.nn.functional.cross_entropy(net(x), y))
            _set(net, at - e)
            lm = float(torch.nn.functional.cross_entropy(net(x), y))
        out[i] = (lp - lm) / (2 * h)
    _set(net, at)
    return out


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, -1.0])
def test_small_network_matches_finite_differences(gamma: float) -> None:
    net, x, y = _mlp()
    theta = _flat(net)
    rho = 0.05

    def closure() -> torch.Tensor:
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        return loss

    _, grads = glad_gradient(list(net.parameters()), closure, GLADConfig(rho=rho, gamma=gamma))
    got = torch.cat([g.reshape(-1) for g in grads])
    assert torch.equal(_flat(net), theta)  # parameters put back after the perturbed pass
    g = _fd_grad(net, x, y, theta)
    g_sam = _fd_grad(net, x, y, theta + rho * g / g.norm())
    assert torch.allclose(got, g + gamma * (g_sam - g), atol=1e-7)
    if gamma == 0.0:  # γ = 0 is the plain gradient
        assert torch.allclose(got, g, atol=1e-7)
    if gamma == 1.0:  # γ = 1 is SAM's gradient
        assert torch.allclose(got, g_sam, atol=1e-7)


def test_step_applies_the_regularized_gradient_through_the_base_optimizer() -> None:
    a, b, theta = _quadratic()

    def closure() -> torch.Tensor:
        loss = 0.5 * theta @ a @ theta + b @ theta
        loss.backward()
        return loss

    cfg = GLADConfig(rho=0.1, gamma=0.5)
    _, (g_tilde,) = glad_gradient([theta], closure, cfg)
    start = theta.detach().clone()
    opt = GLAD(torch.optim.SGD([theta], lr=0.1), cfg)
    opt.step(closure)
    assert torch.allclose(theta.detach(), start - 0.1 * g_tilde, atol=1e-12)


def test_zero_gradient_is_a_plain_step() -> None:
    theta = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))

    def closure() -> torch.Tensor:
        loss = (theta**2).sum()
        loss.backward()
        return loss

    _, (g,) = glad_gradient([theta], closure, GLADConfig())
    assert torch.equal(g, torch.zeros(2, dtype=torch.float64))


def test_non_finite_loss_fails_closed_without_moving() -> None:
    theta = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    opt = GLAD(torch.optim.SGD([theta], lr=0.1), GLADConfig())

    def closure() -> torch.Tensor:
        loss = (theta * float("nan")).sum()
        loss.backward()
        return loss

    with pytest.raises(InputDataError):
        opt.step(closure)
    assert torch.equal(theta.detach(), torch.tensor([1.0, 2.0]))


@pytest.mark.parametrize("kwargs, param", [({"rho": 0.0}, "rho"), ({"rho": -1.0}, "rho"),
                                           ({"rho": float("nan")}, "rho"),
                                           ({"gamma": float("inf")}, "gamma"), ({"gamma": "x"}, "gamma")])
def test_config_is_validated_on_creation(kwargs: dict, param: str) -> None:
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of GLADConfig"):
        GLADConfig(**kwargs)


def test_wrapper_rejects_what_is_not_an_optimizer() -> None:
    with pytest.raises(GuardoptError, match="base_optimizer"):
        GLAD("sgd", GLADConfig())  # type: ignore[arg-type]
    opt = GLAD(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1))
    with pytest.raises(GuardoptError, match="closure"):
        opt.step(None)  # type: ignore[arg-type]
    state = opt.state_dict()
    opt.load_state_dict(state)
    assert opt.config == GLADConfig()


@pytest.mark.slow
def test_importing_the_package_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, guardopt.optim; assert 'torch' not in sys.modules; guardopt.optim.GLADConfig"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_gamma_one_matches_pytorch_optimizers_sam() -> None:
    """Third-party cross-check: with γ = 1, GLAD(SGD) takes the same steps as pytorch-optimizer's SAM(SGD)."""
    ptopt = pytest.importorskip("pytorch_optimizer")
    net_a, x, y = _mlp()
    net_b, _, _ = _mlp()
    rho, lr = 0.05, 0.1
    ours = GLAD(torch.optim.SGD(net_a.parameters(), lr=lr), GLADConfig(rho=rho, gamma=1.0))
    theirs = ptopt.SAM(net_b.parameters(), torch.optim.SGD, rho=rho, lr=lr)

    def closure_for(net: torch.nn.Module):
        def closure() -> torch.Tensor:
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            return loss
        return closure

    for _ in range(5):
        ours.step(closure_for(net_a))
        theirs.zero_grad()
        closure_for(net_b)()  # their API: gradients at θ first, then step(closure) re-evaluates at θ + ε
        theirs.step(closure_for(net_b))
    assert torch.allclose(_flat(net_a), _flat(net_b), atol=1e-10)
