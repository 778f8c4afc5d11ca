"""Fail-closed contract of guardopt.workflow: any value in, a valid result or the library's own error out.

Nodes and bundled operations take values of any kind; a failing operation is an `ExecutionError`.
Proposers never propose a non-finite number and the optimizer never stores one; the guarded
optimizer never applies an update on held-out losses that are not finite numbers.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from guardopt.problems.numeric_programs import numeric_program
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    contract_settings,
    is_finite_data,
)
from guardopt.workflow import (
    AdamConfig,
    AdamProposer,
    GuardConfig,
    GuardedOptimizer,
    OptoPrimeConfig,
    Proposal,
    SecantConfig,
    SecantProposer,
    TraceAwareConfig,
    TraceAwareProposer,
    TraceBlindConfig,
    TraceBlindProposer,
    WorkflowOptimizer,
    minimal_subgraph,
    node,
    parse_signed_error,
    sensitivities,
)

FEEDBACK = st.one_of(st.text(max_size=30), st.builds(lambda d, s: f"too {s} by {d!r}", adversarial_floats(),
                                                      st.sampled_from(["high", "low"])))


def _finite_params(opt: WorkflowOptimizer, before: dict) -> bool:
    for p in opt.parameters:
        if isinstance(before[p.name], float) and math.isfinite(before[p.name]):
            assert isinstance(p.value, float) and math.isfinite(p.value), (p.name, p.value)
    return True


@contract_settings()
@given(st.one_of(adversarial_scalars(), adversarial_floats()), st.one_of(adversarial_scalars(), adversarial_floats()))
def test_operators_on_any_values(a, b) -> None:
    x = node(a, name="x", trainable=True)
    for op in (lambda: x * b + 1.0, lambda: abs(x) ** 2, lambda: x / b, lambda: -x - b):
        out = assert_contract(op, names=("mul", "add", "abs", "pow", "div", "neg", "sub"))
        if out.ok:
            g = minimal_subgraph(out.result)
            assert g.output is out.result and x in g
            assert_contract(sensitivities, g)


@contract_settings()
@given(FEEDBACK)
def test_feedback_parsing_never_raises(text) -> None:
    e = parse_signed_error(text)
    assert e is None or math.isfinite(e)


@contract_settings(scale=0.6)
@given(st.lists(st.one_of(adversarial_floats(), adversarial_scalars()), min_size=1, max_size=3), FEEDBACK,
       st.sampled_from(["aware", "blind", "secant", "adam"]), st.integers(0, 50))
def test_proposers_never_store_a_non_finite_value(values, feedback, kind, seed) -> None:
    proposer = {"aware": TraceAwareProposer, "blind": TraceBlindProposer, "secant": SecantProposer,
                "adam": AdamProposer}[kind]()
    params = [node(v, name=f"p{i}", trainable=True) for i, v in enumerate(values)]
    prog = numeric_program(seed)
    opt = WorkflowOptimizer(params, proposer)
    for _ in range(3):
        before = opt.values
        out = assert_contract(lambda: sum((p * 1.5 for p in params[1:]), params[0] * 2.0),
                              names=("mul", "add"))
        if not out.ok:
            return
        opt.zero_feedback()
        opt.backward(out.result, feedback if seed % 2 else prog.feedback(out.result.value))
        res = assert_contract(opt.step)
        assert res.ok and isinstance(res.result.reasoning, str)
        _finite_params(opt, before)


@contract_settings()
@given(adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1))
def test_guard_applies_nothing_from_non_finite_heldout_losses(cur, new) -> None:
    x = node(1.0, name="x", trainable=True)

    class Fixed:
        uses_trace = False

        def propose(self, context):
            return Proposal({"x": 0.0}, "fixed")

    opt = WorkflowOptimizer([x], Fixed())
    opt.backward(x * 1.0, "too high by 1")
    guard = GuardedOptimizer(opt, lambda c, n: (cur, new))
    out = assert_contract(guard.step, names=("heldout", "samples"))
    if out.ok and out.result.accepted:
        assert is_finite_data(cur) and is_finite_data(new) and np.size(cur) == np.size(new) >= 2
    else:
        assert x.value == 1.0


@contract_settings()
@given(adversarial_scalars(), st.sampled_from([
    (TraceAwareConfig, "max_step"), (TraceAwareConfig, "fd_eps"), (TraceBlindConfig, "step"),
    (TraceBlindConfig, "seed"), (SecantConfig, "probe"), (AdamConfig, "lr"), (GuardConfig, "delta"),
    (OptoPrimeConfig, "temperature"), (OptoPrimeConfig, "max_tokens"), (OptoPrimeConfig, "model"),
]))
def test_configs_validate_every_field(value, target) -> None:
    cls, field = target
    out = assert_contract(cls, names=(field,), **{field: value})
    if out.ok:
        assert getattr(out.result, field) == value or (isinstance(value, float) and math.isnan(value))


@contract_settings()
@given(adversarial_arrays(max_dims=2), st.integers(0, 20))
def test_numeric_program_run_on_any_theta(theta, seed) -> None:
    p = numeric_program(seed)
    out = assert_contract(p.run, theta, names=("theta",))
    if out.ok:
        assert len(out.result) == p.n_params + len(p.ops)
        assert isinstance(assert_contract(p.feedback, out.result[-1]).result, str)


REPLY_VALUES = st.one_of(adversarial_floats(), adversarial_scalars(), st.text(max_size=6), st.none(),
                         st.lists(st.integers(), max_size=2))


@contract_settings()
@given(st.one_of(st.text(max_size=40), st.dictionaries(st.sampled_from(["x", "y", "k", ""]), REPLY_VALUES,
                                                       max_size=3).map(lambda d: '{"suggestion": ' + _dumps(d) + "}")))
def test_optoprime_takes_any_reply_and_stores_only_castable_values(content) -> None:
    from guardopt.workflow import OptoPrimeProposer

    x = node(1.0, name="x", trainable=True)
    y = x * 3.0
    prop = OptoPrimeProposer(OptoPrimeConfig(api_key_env=None),
                             lambda *a: {"choices": [{"message": {"content": content}}]})
    opt = WorkflowOptimizer([x], prop)
    opt.backward(y, "too high by 1")
    out = assert_contract(opt.step)
    assert out.ok and set(out.result.updates) <= {"x"}
    assert isinstance(x.value, float) and math.isfinite(x.value)


def _dumps(d: dict) -> str:
    import json

    return json.dumps(d, default=repr)
