"""Graph recording and feedback propagation (guardopt.workflow.graph, .propagation)."""

from __future__ import annotations

import math

import pytest

from guardopt.core.errors import InvalidParameterError
from guardopt.workflow import (
    ExecutionError,
    GraphPropagator,
    Node,
    bundle,
    local_derivatives,
    minimal_subgraph,
    node,
    sensitivities,
)


@bundle(description="scale(a, k) returns k * a.")
def scale(a, k):
    return a * k


def test_bundle_records_op_inputs_doc_and_value() -> None:
    x = node(2.0, name="x", trainable=True)
    y = scale(x, 3.0)
    assert y.value == 6.0 and y.op == "scale" and y.doc == "scale(a, k) returns k * a."
    assert y.parents[0] is x and y.parents[1].value == 3.0 and y.parents[1].is_leaf
    assert not y.trainable and y.fn is not None and "return a * k" in (y.code or "")


def test_operators_build_a_graph_in_topological_order() -> None:
    x = node(1.0, name="x", trainable=True)
    b = node(5.0, name="b")
    y = abs(x * 3.0 + b) ** 2  # (|3x + 5|)^2 = 64
    assert y.value == 64.0
    order = list(y.ancestors())
    ops = [n.op for n in order if not n.is_leaf]
    assert ops == ["mul", "add", "abs", "pow"]
    pos = {n.uid: i for i, n in enumerate(order)}
    for n in order:  # every input comes before the node that uses it
        assert all(pos[p.uid] < pos[n.uid] for p in n.parents)
    assert order[-1] is y


def test_node_of_a_node_is_itself_and_bad_names_are_refused() -> None:
    x = node(1.0)
    assert node(x) is x
    with pytest.raises(InvalidParameterError, match="'name' parameter of Node"):
        Node(1.0, name="not an identifier")
    with pytest.raises(InvalidParameterError, match="trainable"):
        node(1.0).set_value(2.0)


def test_execution_error_keeps_the_inputs() -> None:
    @bundle()
    def boom(a):
        raise ZeroDivisionError("no")

    x = node(0.0, name="x", trainable=True)
    with pytest.raises(ExecutionError) as err:
        boom(x)
    assert err.value.op == "boom" and err.value.inputs[0] is x


def test_trainable_code_is_a_parameter_that_changes_behaviour() -> None:
    @bundle(trainable=True)
    def double(a):
        return 2 * a

    assert double.parameter is not None and "return 2 * a" in double.parameter.value
    y = double(node(3.0))
    assert y.value == 6.0 and y.parents[-1] is double.parameter
    double.parameter.set_value("def double(a):\n    return 3 * a\n")
    assert double(node(3.0)).value == 9.0
    double.parameter.set_value("def double(a) return")
    with pytest.raises(ExecutionError):
        double(node(1.0))


def test_minimal_subgraph_drops_branches_without_parameters() -> None:
    x = node(1.0, name="x", trainable=True)
    c = node(4.0, name="c")
    side = c * 2.0  # depends on no parameter
    y = x * 3.0 + side
    g = minimal_subgraph(y, "too high by 1")
    names = [n.op or n.name for n in g.nodes]
    assert "x" in names and names[-1] == "add"
    assert side in g  # a direct input of an active operation is kept as context ...
    assert c not in g  # ... but what produced it is not
    assert g.parameters == (x,) and g.feedback == "too high by 1"
    assert [n.op for n in g.operations] == ["mul", "add"]


def test_propagator_gives_each_parameter_its_own_paths() -> None:
    a = node(1.0, name="a", trainable=True)
    b = node(2.0, name="b", trainable=True)
    y = (a * 2.0) + abs(b)
    out = GraphPropagator().propagate(y, "too low by 3")
    assert set(out) == {"a", "b"}
    assert out["a"].parameters == (a,) and b not in out["a"]
    assert [n.op for n in out["b"].operations] == ["abs", "add"]
    assert a.feedback == ["too low by 3"] and b.feedback == ["too low by 3"]


def test_local_derivatives_reference_values() -> None:
    x = node(2.0, name="x", trainable=True)
    y = x * 3.0
    assert local_derivatives(y) == pytest.approx([3.0, 2.0], rel=1e-8)
    z = abs(node(0.0, trainable=True))
    assert local_derivatives(z) == pytest.approx([0.0], abs=1e-12)  # mean of the one-sided slopes at the kink
    assert local_derivatives(x) == []


def test_sensitivities_chain_rule_reference_value() -> None:
    # y = (3x + 1)^2 at x = 1: dy/dx = 2 * (3x + 1) * 3 = 24.
    x = node(1.0, name="x", trainable=True)
    y = (x * 3.0 + 1.0) ** 2
    assert sensitivities(minimal_subgraph(y))["x"] == pytest.approx(24.0, rel=1e-6)
    # reconvergent: y = x * x + x at x = 2: dy/dx = 2x + 1 = 5.
    x2 = node(2.0, name="x2", trainable=True)
    y2 = x2 * x2 + x2
    assert sensitivities(minimal_subgraph(y2))["x2"] == pytest.approx(5.0, rel=1e-6)


def test_sensitivity_through_text_is_nan_not_a_crash() -> None:
    @bundle()
    def length(s):
        return float(len(s))

    p = node("abc", name="prompt", trainable=True)
    g = minimal_subgraph(length(p) * 2.0)
    assert math.isnan(sensitivities(g)["prompt"])


def test_minimal_subgraph_validates() -> None:
    with pytest.raises(InvalidParameterError, match="'output'"):
        minimal_subgraph(3.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'parameters'"):
        minimal_subgraph(node(1.0), parameters=[node(2.0)])
