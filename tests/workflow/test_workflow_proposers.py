"""The Proposer interface and the offline proposers: hand-computed steps and the optimizer contract."""

from __future__ import annotations

import math

import pytest

from guardopt.core.errors import InvalidParameterError
from guardopt.workflow import (
    AdamConfig,
    AdamProposer,
    HistoryEntry,
    Proposal,
    ProposalContext,
    Proposer,
    SecantConfig,
    SecantProposer,
    TraceAwareConfig,
    TraceAwareProposer,
    TraceBlindConfig,
    TraceBlindProposer,
    WorkflowOptimizer,
    cast_like,
    minimal_subgraph,
    node,
    parse_signed_error,
    solve_local,
)

ALL = [TraceAwareProposer(), TraceBlindProposer(), SecantProposer(), AdamProposer()]


@pytest.mark.parametrize(("text", "expected"), [
    ("The output is too high by 0.25.", 0.25), ("too LOW by 2", -2.0), ("too low by 1e-3", -0.001),
    ("The output is correct.", 0.0), ("nice", None), ("too high by inf", None), (None, None),
])
def test_parse_signed_error(text, expected) -> None:
    assert parse_signed_error(text) == expected


def test_cast_like() -> None:
    assert cast_like("1.5", 0.0) == 1.5 and cast_like(2.0, 1) == 2 and cast_like("true", False) is True
    assert cast_like(3, "s") == "3"
    for bad, like in (("x", 0.0), (2.5, 1), ("nan", 0.0), ("maybe", True)):
        with pytest.raises(ValueError):
            cast_like(bad, like)


@pytest.mark.parametrize("proposer", ALL, ids=lambda p: type(p).__name__)
def test_every_proposer_meets_the_interface(proposer) -> None:
    assert isinstance(proposer, Proposer) and isinstance(proposer.uses_trace, bool)
    x = node(0.5, name="x", trainable=True)
    y = x * 2.0 + 1.0
    opt = WorkflowOptimizer([x], proposer)
    opt.backward(y, "The output is too high by 1.")
    ctx = opt.context()
    assert (ctx.graph is not None) == proposer.uses_trace
    prop = proposer.propose(ctx)
    assert isinstance(prop, Proposal) and set(prop.updates) <= {"x"} and isinstance(prop.reasoning, str)
    assert all(math.isfinite(v) for v in prop.updates.values())


def test_trace_aware_inverts_a_chain_in_one_step() -> None:
    # y = |3x + 1|^2 = 16 at x = 1; wanted 4 (too high by 12) -> |3x + 1| = 2 -> x = 1/3 (nearest root).
    x = node(1.0, name="x", trainable=True)
    y = abs(x * 3.0 + 1.0) ** 2
    opt = WorkflowOptimizer([x], TraceAwareProposer(TraceAwareConfig(max_step=5.0)))
    opt.backward(y, "too high by 12")
    assert opt.step().updates["x"] == pytest.approx(1.0 / 3.0, abs=1e-12)


def test_trace_aware_takes_newton_on_a_reconvergent_graph_and_respects_max_step() -> None:
    # y = x * x at x = 1, target 4: e = -3, dy/dx = 2 -> step +1.5 (x = 2.5); limited to 1.0 -> x = 2.
    x = node(1.0, name="x", trainable=True)
    y = x * x
    for max_step, expected in ((5.0, 2.5), (1.0, 2.0)):
        x.set_value(1.0)
        y = x * x
        opt = WorkflowOptimizer([x], TraceAwareProposer(TraceAwareConfig(max_step=max_step)))
        opt.backward(y, "too low by 3")
        step = opt.step()
        assert step.updates["x"] == pytest.approx(expected, rel=1e-6) and "Newton" in step.reasoning


def test_trace_aware_escapes_a_saturated_clip_by_inversion() -> None:
    from guardopt.workflow import bundle

    @bundle()
    def clip(a, lo, hi):
        return min(max(a, lo), hi)

    x = node(-5.0, name="x", trainable=True)
    y = clip(x + x, -1.0, 1.0)  # flat at -1; wanted 0.5 -> solve x + (held x) = 0.5 -> x = 5.5, limited
    opt = WorkflowOptimizer([x], TraceAwareProposer(TraceAwareConfig(max_step=4.0)))
    opt.backward(y, "too low by 1.5")
    step = opt.step()
    assert step.updates["x"] == pytest.approx(-1.0) and "operations" in step.reasoning


def test_solve_local_reference_values() -> None:
    assert solve_local(lambda v: v * v, 1.0, 4.0) == (pytest.approx(2.0, abs=1e-12), True)
    assert solve_local(lambda v: v * v, -1.0, 4.0)[0] == pytest.approx(-2.0, abs=1e-12)
    x, exact = solve_local(lambda v: v * v, 1.0, -1.0)
    assert not exact and x == pytest.approx(0.0, abs=1e-3)


def test_secant_probes_then_steps_to_the_root() -> None:
    # y = 2x + 1, target 0. History: x=0 (y=1), x=0.1 (y=1.2): slope 2, best x=0 -> x = -0.5.
    x = node(0.1, name="x", trainable=True)
    hist = (HistoryEntry({"x": 0.0}, 1.0, "too high by 1"), HistoryEntry({"x": 0.1}, 1.2, "too high by 1.2"))
    prop = SecantProposer(SecantConfig(probe=0.1)).propose(ProposalContext((x,), "too high by 1.2", hist))
    assert prop.updates["x"] == pytest.approx(-0.5, rel=1e-9)
    first = SecantProposer(SecantConfig(probe=0.1)).propose(ProposalContext((x,), "too high by 1", hist[:1]))
    assert first.updates["x"] == pytest.approx(0.1) and "probing" in first.reasoning


def test_adam_first_step_has_size_lr() -> None:
    x = node(1.0, name="x", trainable=True)
    y = x * 3.0
    opt = WorkflowOptimizer([x], AdamProposer(AdamConfig(lr=0.1)))
    opt.backward(y, "too high by 2")  # gradient of e^2/2 is e * 3 > 0 -> x decreases by lr
    assert opt.step().updates["x"] == pytest.approx(0.9, rel=1e-6)


def test_trace_blind_is_reproducible_and_seed_dependent() -> None:
    x = node(1.0, name="x", trainable=True)
    hist = (HistoryEntry({"x": 1.0}, 3.0, "too high by 2"),)
    ctx = ProposalContext((x,), "too high by 2", hist)
    a = TraceBlindProposer(TraceBlindConfig(seed=3)).propose(ctx).updates
    assert a == TraceBlindProposer(TraceBlindConfig(seed=3)).propose(ctx).updates
    assert a != TraceBlindProposer(TraceBlindConfig(seed=4)).propose(ctx).updates


def test_trace_blind_scale_follows_the_success_rule() -> None:
    x = node(1.0, name="x", trainable=True)
    hist = (HistoryEntry({"x": 1.0}, 0, "too high by 2"), HistoryEntry({"x": 0.0}, 0, "too high by 1"),
            HistoryEntry({"x": 5.0}, 0, "too high by 9"))
    prop = TraceBlindProposer(TraceBlindConfig(step=1.0, grow=2.0, shrink=0.5)).propose(
        ProposalContext((x,), "too high by 9", hist))
    assert "scale 1" in prop.reasoning  # 1 * 2 (improved) * 0.5 (did not) = 1
    assert "|error| 1" in prop.reasoning  # sampled around the best iteration, x = 0


def test_optimizer_validates_and_refuses_unknown_names() -> None:
    x = node(1.0, name="x", trainable=True)
    with pytest.raises(InvalidParameterError, match="'parameters'"):
        WorkflowOptimizer([node(1.0)], TraceAwareProposer())
    with pytest.raises(InvalidParameterError, match="unique"):
        WorkflowOptimizer([x, node(2.0, name="x", trainable=True)], TraceAwareProposer())
    with pytest.raises(InvalidParameterError, match="'proposer'"):
        WorkflowOptimizer([x], object())  # type: ignore[arg-type]
    opt = WorkflowOptimizer([x], TraceAwareProposer())
    with pytest.raises(InvalidParameterError, match="backward"):
        opt.step()
    res = opt.apply(Proposal({"y": 1.0, "x": 2.0}))
    assert res.updates == {"x": 2.0} and res.rejected == {"y": "no such parameter"}


def test_a_parameter_outside_the_output_is_not_in_the_graph() -> None:
    x, z = node(1.0, name="x", trainable=True), node(1.0, name="z", trainable=True)
    opt = WorkflowOptimizer([x, z], TraceAwareProposer())
    g = opt.backward(x * 2.0, "too high by 1")
    assert g.parameters == (x,) and z.feedback == [] and x.feedback == ["too high by 1"]
    assert "z" not in opt.step().updates


@pytest.mark.parametrize(("cls", "field", "value"), [
    (TraceAwareConfig, "max_step", 0.0), (TraceAwareConfig, "fd_eps", 0.5), (TraceBlindConfig, "grow", 0.5),
    (TraceBlindConfig, "shrink", 0.0), (TraceBlindConfig, "seed", -1), (SecantConfig, "probe", -1.0),
    (AdamConfig, "lr", math.nan), (AdamConfig, "beta1", 1.0),
])
def test_config_errors_name_the_parameter(cls, field, value) -> None:
    with pytest.raises(InvalidParameterError, match=f"The '{field}' parameter of {cls.__name__}"):
        cls(**{field: value})


def test_minimal_subgraph_is_what_a_trace_aware_proposer_gets() -> None:
    x = node(2.0, name="x", trainable=True)
    y = x * 2.0
    opt = WorkflowOptimizer([x], TraceAwareProposer())
    g = opt.backward(y, "too high by 1")
    assert [n.uid for n in g.nodes] == [n.uid for n in minimal_subgraph(y, "too high by 1").nodes]
