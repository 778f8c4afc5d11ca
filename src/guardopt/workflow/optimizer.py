"""The OPTO loop: ``zero_feedback``, ``backward(output, feedback)``, ``step()``.

Cheng et al. (2024), Sec. 3: at each iteration the optimizer picks parameters, the workflow runs,
the oracle returns feedback and the executed trace, and the optimizer updates. `WorkflowOptimizer`
owns a set of parameters and a `Proposer`; ``backward`` extracts the minimal subgraph and records the
iteration in the history; ``step`` asks the proposer and applies what it proposes, cast to each
parameter's type. A proposal that names an unknown parameter or a value that cannot be cast is not
applied, and the step says why.

Example:
    >>> from guardopt.workflow import TraceAwareProposer, WorkflowOptimizer, node
    >>> x = node(0.0, name="x", trainable=True)
    >>> opt = WorkflowOptimizer([x], TraceAwareProposer())
    >>> y = x * 3.0 + 1.0
    >>> _ = opt.backward(y, f"too low by {7.0 - y.value}")
    >>> round(opt.step().updates["x"], 9)
    2.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from guardopt.core.errors import InvalidParameterError
from guardopt.workflow.graph import Node
from guardopt.workflow.propagation import TraceGraph, minimal_subgraph
from guardopt.workflow.proposers import HistoryEntry, Proposal, ProposalContext, Proposer, cast_like

__all__ = ["StepResult", "WorkflowOptimizer"]


@dataclass(frozen=True)
class StepResult:
    """What one step did: the applied ``{name: new value}``, the reasoning, and what was refused."""

    updates: Mapping[str, Any] = field(default_factory=dict)
    reasoning: str = ""
    rejected: Mapping[str, str] = field(default_factory=dict)


class WorkflowOptimizer:
    """An OPTO optimizer: a set of trainable nodes updated by a `Proposer`.

    Args:
        parameters: The trainable nodes to optimize (unique names).
        proposer: Any object with ``uses_trace`` and ``propose(context) -> Proposal``.
    """

    def __init__(self, parameters: Sequence[Node], proposer: Proposer) -> None:
        params = list(parameters) if isinstance(parameters, (list, tuple)) else None
        if not params or not all(isinstance(p, Node) and p.trainable for p in params):
            raise InvalidParameterError("parameters", "WorkflowOptimizer", "a non-empty list of trainable Nodes",
                                        parameters)
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise InvalidParameterError("parameters", "WorkflowOptimizer", "nodes with unique names", names)
        if not (hasattr(proposer, "propose") and isinstance(getattr(proposer, "uses_trace", None), bool)):
            raise InvalidParameterError("proposer", "WorkflowOptimizer", "a Proposer (uses_trace and propose)",
                                        proposer)
        self.parameters: tuple[Node, ...] = tuple(params)
        self.proposer = proposer
        self.history: list[HistoryEntry] = []
        self._graph: TraceGraph | None = None
        self._feedback: str | None = None

    @property
    def values(self) -> dict[str, Any]:
        """``{name: current value}`` of the parameters."""
        return {p.name: p.value for p in self.parameters}

    def zero_feedback(self) -> None:
        """Forget the feedback of the last iteration (the history is kept)."""
        for p in self.parameters:
            p.feedback.clear()
        self._graph, self._feedback = None, None

    def backward(self, output: Node, feedback: str) -> TraceGraph:
        """Record ``feedback`` on ``output``: extract the subgraph to the parameters, log the iteration.

        Returns the `TraceGraph` (a parameter the output does not depend on is not in it).
        """
        if not isinstance(output, Node):
            raise InvalidParameterError("output", "WorkflowOptimizer.backward", "a Node", output)
        if not isinstance(feedback, str):
            raise InvalidParameterError("feedback", "WorkflowOptimizer.backward", "a string", feedback)
        ancestors = {n.uid for n in output.ancestors()}
        mine = [p for p in self.parameters if p.uid in ancestors]
        graph = minimal_subgraph(output, feedback, mine)
        for p in mine:
            p.feedback.append(feedback)
        self._graph, self._feedback = graph, feedback
        self.history.append(HistoryEntry(self.values, output.value, feedback))
        return graph

    def context(self) -> ProposalContext:
        """The context the proposer gets now (after ``backward``)."""
        if self._feedback is None:
            raise InvalidParameterError("backward", "WorkflowOptimizer.step", "called before step", None)
        return ProposalContext(self.parameters, self._feedback, tuple(self.history),
                               self._graph if self.proposer.uses_trace else None)

    def propose(self) -> Proposal:
        """The proposer's proposal for the current context, not applied."""
        proposal = self.proposer.propose(self.context())
        if not isinstance(proposal, Proposal) or not isinstance(proposal.updates, Mapping):
            raise InvalidParameterError("proposer", "WorkflowOptimizer.propose",
                                        "a Proposer whose propose() returns a Proposal", proposal)
        return proposal

    def apply(self, proposal: Proposal) -> StepResult:
        """Apply a proposal: cast each value to its parameter's type; refuse unknown names and bad values."""
        if not isinstance(proposal, Proposal) or not isinstance(proposal.updates, Mapping):
            raise InvalidParameterError("proposal", "WorkflowOptimizer.apply", "a Proposal", proposal)
        by_name = {p.name: p for p in self.parameters}
        applied: dict[str, Any] = {}
        rejected: dict[str, str] = {}
        for name, value in dict(proposal.updates).items():
            p = by_name.get(name)
            if p is None:
                rejected[str(name)] = "no such parameter"
                continue
            try:
                new = cast_like(value, p.value)
            except (TypeError, ValueError, OverflowError) as exc:
                rejected[name] = f"cannot be cast to {type(p.value).__name__}: {exc}"
                continue
            p.set_value(new)
            applied[name] = new
        return StepResult(applied, proposal.reasoning, rejected)

    def step(self) -> StepResult:
        """Ask the proposer and apply its proposal."""
        return self.apply(self.propose())
