"""Cross-check against Microsoft's Trace (``opto``): the same programs give the same traces.

Skipped where ``opto`` (PyPI ``trace-opt``, an optional extra) is not importable. Run it in an
environment with trace-opt installed, with ``LITELLM_LOCAL_MODEL_COST_MAP=True``.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # opto imports litellm, which would go online
opto_trace = pytest.importorskip("opto.trace")

from guardopt.problems.numeric_programs import OP_FUNCTIONS, make_numeric_programs  # noqa: E402
from guardopt.workflow import (  # noqa: E402
    TraceAwareProposer,
    bundle,
    minimal_subgraph,
    node,
    sensitivities,
)
from guardopt.workflow.opto_interop import OptoOptimizer, from_opto  # noqa: E402


def add(a, b):
    return OP_FUNCTIONS["add"](a, b)


def mul(a, b):
    return OP_FUNCTIONS["mul"](a, b)


def absolute(a):
    return OP_FUNCTIONS["abs"](a)


def square(a):
    return OP_FUNCTIONS["square"](a)


def clip(a, low, high):
    return OP_FUNCTIONS["clip"](a, low, high)


FUNS = {"add": add, "mul": mul, "abs": absolute, "square": square, "clip": clip}
OURS = {k: bundle(name=f.__name__)(f) for k, f in FUNS.items()}
THEIRS = {k: opto_trace.bundle()(f) for k, f in FUNS.items()}


def _run(prog, ops, make_param):
    params = [make_param(float(v), f"theta{i}") for i, v in enumerate(prog.theta0)]
    slots = list(params)
    for op in prog.ops:
        slots.append(ops[op.kind](*(slots[i] for i in op.args), *op.consts))
    return params, slots[-1]


def _signature(out):
    """Operations as (op, value, input values), sorted: the trace up to naming."""
    return sorted((n.op, n.value, tuple(p.value for p in n.parents)) for n in out.ancestors() if not n.is_leaf)


def test_the_same_programs_give_the_same_traces() -> None:
    for prog in make_numeric_programs(12, seed=4):
        _, ours = _run(prog, OURS, lambda v, n: node(v, name=n, trainable=True))
        _, theirs = _run(prog, THEIRS, lambda v, n: opto_trace.node(v, name=n, trainable=True))
        converted = from_opto(theirs)
        assert converted.value == ours.value == theirs.data == prog.evaluate(prog.theta0)
        assert _signature(converted) == _signature(ours)
        g_ours, g_theirs = minimal_subgraph(ours), minimal_subgraph(converted)
        assert len(g_ours.nodes) == len(g_theirs.nodes) and len(g_theirs.parameters) == prog.n_params
        s_ours, s_theirs = sensitivities(g_ours), sensitivities(g_theirs)
        assert sorted(s_ours.values()) == pytest.approx(sorted(s_theirs.values()), rel=1e-9, abs=1e-12)


def test_our_proposer_optimizes_an_opto_graph() -> None:
    prog = make_numeric_programs(1, seed=9)[0]
    params = [opto_trace.node(float(v), name=f"theta{i}", trainable=True) for i, v in enumerate(prog.theta0)]
    opt = OptoOptimizer(params, TraceAwareProposer())
    for _ in range(20):
        slots = list(params)
        for op in prog.ops:
            slots.append(THEIRS[op.kind](*(slots[i] for i in op.args), *op.consts))
        y = slots[-1]
        if abs(prog.error(y.data)) < 1e-3:
            break
        opt.step(y, prog.feedback(y.data))
    assert abs(prog.error(prog.evaluate([p.data for p in params]))) < 1e-3
