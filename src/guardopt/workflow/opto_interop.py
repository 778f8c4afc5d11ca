"""Interop with Microsoft's Trace (the ``trace-opt`` package, imported as ``opto``).

A graph built with ``opto.trace.node`` and ``opto.trace.bundle`` is converted into guardopt `Node`s
(`from_opto`), keeping each operation's function, documentation, source and recorded inputs, so any
guardopt `Proposer` can optimize it; `OptoOptimizer` writes the proposed values back into the opto
parameter nodes. ``opto`` is imported lazily, only by these functions: it is an optional extra
(it brings litellm, among others), never a dependency of guardopt.

Reference: Cheng, Nie, Swaminathan (2024), "Trace is the New AutoDiff", arXiv 2406.16218.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from guardopt.core.errors import InvalidParameterError, UnsupportedError
from guardopt.workflow.graph import Node
from guardopt.workflow.optimizer import StepResult, WorkflowOptimizer
from guardopt.workflow.proposers import Proposer

__all__ = ["OptoOptimizer", "from_opto"]


def _opto_nodes() -> Any:
    try:
        from opto.trace import nodes
    except ImportError as exc:  # pragma: no cover - exercised where opto is absent
        raise UnsupportedError("Interop with Trace needs the 'trace-opt' package (import name 'opto').") from exc
    return nodes


def _ident(name: str) -> str:
    clean = re.sub(r"\W", "_", str(name))
    return clean if clean.isidentifier() else f"n_{clean}"


def from_opto(output: Any, parameters: Mapping[int, Node] | None = None) -> Node:
    """The guardopt graph of an opto node: same values, operations, functions and inputs.

    Args:
        output: An ``opto.trace`` node (usually a ``MessageNode``, the output of a workflow).
        parameters: ``{id(opto parameter node): guardopt Node}`` to reuse for the parameters (their
            values are refreshed from opto); others get new nodes named by opto's ``py_name``.

    Returns:
        The guardopt `Node` for ``output``. An operation's inputs are taken in its signature order
        (opto's ``inputs``), and its function is the one opto recorded (``info["fun"]``).
    """
    nodes = _opto_nodes()
    if not isinstance(output, nodes.Node):
        raise InvalidParameterError("output", "from_opto", "an opto.trace node", output)
    memo: dict[int, Node] = {}
    given = dict(parameters or {})
    stack: list[tuple[Any, bool]] = [(output, False)]
    while stack:  # iterative post-order: inputs are converted before the operations that use them
        n, ready = stack.pop()
        if id(n) in memo:
            continue
        is_op = isinstance(n, nodes.MessageNode)
        inputs = list(n.inputs.values()) if is_op else []
        if not ready:
            stack.append((n, True))
            stack.extend((p, False) for p in inputs if id(p) not in memo)
            continue
        if not is_op:
            if id(n) in given:
                g = given[id(n)]
                g._value = n.data  # refresh from opto, which owns the value
            else:
                g = Node(n.data, name=_ident(getattr(n, "py_name", n.name)), trainable=bool(n.trainable),
                         description=str(getattr(n, "_description", "") or ""))
            memo[id(n)] = g
            continue
        info = n.info if isinstance(n.info, dict) else {}
        fn: Callable[..., Any] | None = info.get("fun")
        memo[id(n)] = Node(n.data, parents=[memo[id(p)] for p in inputs], op=str(info.get("fun_name", n.name)),
                           fn=fn, doc=str(info.get("doc") or n.description or ""), code=info.get("source"))
    return memo[id(output)]


class OptoOptimizer:
    """A guardopt `Proposer` optimizing the parameter nodes of an opto graph.

    Args:
        parameters: opto ``ParameterNode``s (trainable).
        proposer: Any guardopt proposer.

    ``step(output, feedback)`` converts the executed opto graph, lets the proposer update the
    guardopt copies of the parameters (the history carries over between steps), and sets the new
    values on the opto nodes.
    """

    def __init__(self, parameters: Sequence[Any], proposer: Proposer) -> None:
        nodes = _opto_nodes()
        params = list(parameters)
        if not params or not all(isinstance(p, nodes.Node) and p.trainable for p in params):
            raise InvalidParameterError("parameters", "OptoOptimizer", "a non-empty list of trainable opto nodes",
                                        parameters)
        self._opto = params
        self._mine = {id(p): Node(p.data, name=_ident(getattr(p, "py_name", p.name)), trainable=True)
                      for p in params}
        self.optimizer = WorkflowOptimizer(list(self._mine.values()), proposer)

    def step(self, output: Any, feedback: str) -> StepResult:
        """One OPTO step on the opto graph of ``output``; returns what was applied."""
        out = from_opto(output, self._mine)
        self.optimizer.zero_feedback()
        self.optimizer.backward(out, feedback)
        res = self.optimizer.step()
        for p in self._opto:
            mine = self._mine[id(p)]
            if mine.name in res.updates:
                p._set(mine.value)
        return res
