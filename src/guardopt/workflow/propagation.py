"""The feedback propagator: the minimal subgraph between the parameters and an output, plus feedback.

In OPTO (Cheng et al., 2024, Sec. 3) the oracle returns, with the feedback on the output, the part of
the executed graph that connects the parameters to that output. `minimal_subgraph` extracts it: the
nodes that are both ancestors of the output and descendants of a trainable parameter, with the
direct inputs of those operations kept as context (constants, inputs of the workflow).
`GraphPropagator.propagate` gives every parameter the subgraph of its own paths and the feedback
text, the analogue of back-propagation where the "gradient" is the graph and the text.

`sensitivities` is one use of a trace that a black-box optimizer cannot make: it differentiates
each recorded operation by a central finite difference of that operation alone, evaluated at its
recorded inputs, and chains the local derivatives backwards (reverse mode). It re-runs single
operations, never the workflow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from guardopt.core.errors import InvalidParameterError, check_in_range
from guardopt.workflow.graph import Node, is_number

__all__ = ["GraphPropagator", "TraceGraph", "local_derivatives", "minimal_subgraph", "sensitivities"]


@dataclass(frozen=True)
class TraceGraph:
    """The executed subgraph an optimizer sees, with the feedback on its output.

    Attributes:
        nodes: The subgraph in topological order (inputs first, ``output`` last).
        output: The node the feedback is about.
        parameters: The trainable nodes the output depends on, in topological order.
        feedback: The feedback text on the output.
    """

    nodes: tuple[Node, ...]
    output: Node
    parameters: tuple[Node, ...]
    feedback: str = ""
    _index: Mapping[int, int] = field(default_factory=dict, repr=False, compare=False)
    _active: frozenset[int] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {n.uid: i for i, n in enumerate(self.nodes)})
        active = {p.uid for p in self.parameters}
        for n in self.nodes:
            if any(p.uid in active for p in n.parents):
                active.add(n.uid)
        object.__setattr__(self, "_active", frozenset(active))

    def __contains__(self, item: object) -> bool:
        return isinstance(item, Node) and item.uid in self._index

    @property
    def operations(self) -> tuple[Node, ...]:
        """The operations on a path from a parameter to the output, in topological order."""
        return tuple(n for n in self.nodes if not n.is_leaf and (n.uid in self._active or n is self.output))

    @property
    def inputs(self) -> tuple[Node, ...]:
        """The nodes that feed those operations without depending on a parameter (constants, inputs)."""
        return tuple(n for n in self.nodes if n.uid not in self._active and n is not self.output)

    def depends_on_parameter(self, n: Node) -> bool:
        """Whether ``n`` lies on a path from a parameter to the output."""
        return n.uid in self._active


def minimal_subgraph(output: Node, feedback: str = "", parameters: Sequence[Node] | None = None) -> TraceGraph:
    """The subgraph connecting ``parameters`` (default: every trainable ancestor) to ``output``.

    Args:
        output: The node the feedback is about.
        feedback: The feedback text.
        parameters: Restrict to these parameters (each must be trainable).

    Returns:
        A `TraceGraph` whose nodes are the operations on a path from a parameter to ``output``,
        their direct inputs, and the parameters themselves, in topological order.
    """
    if not isinstance(output, Node):
        raise InvalidParameterError("output", "minimal_subgraph", "a Node", output)
    if not isinstance(feedback, str):
        raise InvalidParameterError("feedback", "minimal_subgraph", "a string", feedback)
    order = list(output.ancestors())
    if parameters is None:
        params = [n for n in order if n.trainable]
    else:
        if isinstance(parameters, (str, bytes, Node)) or not isinstance(parameters, Sequence):
            raise InvalidParameterError("parameters", "minimal_subgraph", "None or a sequence of trainable Nodes",
                                        parameters)
        params = list(parameters)
        for p in params:
            if not isinstance(p, Node) or not p.trainable:
                raise InvalidParameterError("parameters", "minimal_subgraph", "a sequence of trainable Nodes", p)
    wanted = {p.uid for p in params}
    active: set[int] = set()
    for n in order:  # forward sweep: a node is active when it is a parameter or has an active input
        if n.uid in wanted or any(p.uid in active for p in n.parents):
            active.add(n.uid)
    keep = set(active)
    for n in order:
        if n.uid in active and not n.is_leaf:
            keep.update(p.uid for p in n.parents)
    keep.add(output.uid)
    nodes = tuple(n for n in order if n.uid in keep)
    found = tuple(n for n in nodes if n.uid in wanted)
    return TraceGraph(nodes, output, found, feedback)


class GraphPropagator:
    """Send each parameter the subgraph of its paths to the output and the feedback (OPTO's oracle)."""

    def propagate(self, output: Node, feedback: str) -> dict[str, TraceGraph]:
        """``{parameter name: TraceGraph}``; the feedback text is also appended to each ``Node.feedback``."""
        whole = minimal_subgraph(output, feedback)
        out: dict[str, TraceGraph] = {}
        for p in whole.parameters:
            out[p.name] = minimal_subgraph(output, feedback, [p])
            p.feedback.append(feedback)
        return out


def local_derivatives(n: Node, eps: float = 1e-6) -> list[float]:
    """d(n)/d(input i) for each input of one recorded operation, by central finite differences.

    The step is ``eps * max(1, |x_i|)`` (``eps`` in (0, 0.1)); at a kink (abs at 0, a clip bound) this
    gives the mean of the one-sided slopes. Non-numeric inputs (code, strings) get NaN. Shape: one
    entry per ``n.parents``.
    """
    if not isinstance(n, Node):
        raise InvalidParameterError("n", "local_derivatives", "a Node", n)
    eps = check_in_range(eps, "eps", "local_derivatives", 0.0, 0.1)
    if n.is_leaf or n.fn is None:
        return []
    values = [p.value for p in n.parents]
    out: list[float] = []
    for i, x in enumerate(values):
        if not is_number(x) or not is_number(n.value):
            out.append(math.nan)
            continue
        h = eps * max(1.0, abs(float(x)))
        hi, lo = list(values), list(values)
        hi[i], lo[i] = float(x) + h, float(x) - h
        try:
            d = (float(n.fn(*hi)) - float(n.fn(*lo))) / (2.0 * h)
        except (ArithmeticError, TypeError, ValueError):
            d = math.nan
        out.append(d if math.isfinite(d) else math.nan)
    return out


def sensitivities(graph: TraceGraph, eps: float = 1e-6) -> dict[str, float]:
    """d(output)/d(parameter) for each numeric parameter, chaining `local_derivatives` backwards.

    Returns ``{parameter name: derivative}``; NaN where a path passes through a non-numeric value or
    an operation whose derivative could not be computed.
    """
    if not isinstance(graph, TraceGraph):
        raise InvalidParameterError("graph", "sensitivities", "a TraceGraph (from minimal_subgraph)", graph)
    check_in_range(eps, "eps", "sensitivities", 0.0, 0.1)
    adj: dict[int, float] = {graph.output.uid: 1.0}
    for n in reversed(graph.nodes):
        a = adj.get(n.uid, 0.0)
        if n.is_leaf or a == 0.0:
            continue
        for p, d in zip(n.parents, local_derivatives(n, eps)):
            if p in graph and graph.depends_on_parameter(p):
                adj[p.uid] = adj.get(p.uid, 0.0) + a * d
    return {p.name: adj.get(p.uid, 0.0) for p in graph.parameters}
