"""Layer 4: workflow — optimize computational workflows from execution traces and feedback (Trace / OPTO).

Cheng, Nie, Swaminathan (2024), "Trace is the New AutoDiff", NeurIPS 2024, arXiv 2406.16218.

* `node`, `bundle`: values and functions whose calls are recorded as a graph (`guardopt.workflow.graph`).
* `minimal_subgraph`, `GraphPropagator`, `sensitivities`: the trace an optimizer receives, and
  derivatives through it from graph-local finite differences (`guardopt.workflow.propagation`).
* `Proposer` and its implementations (`guardopt.workflow.proposers`): `TraceAwareProposer`,
  `TraceBlindProposer` (OPRO-like), `SecantProposer`, `AdamProposer`, and the LLM-backed
  `OptoPrimeProposer` (`guardopt.workflow.optoprime`).
* `WorkflowOptimizer`: the OPTO loop (``backward``, ``step``); `GuardedOptimizer`: accepts an update
  only when a safety test on held-out feedback shows it is no worse (`guardopt.workflow.guarded`).
* `guardopt.workflow.opto_interop` (not imported here): run these proposers on graphs built with
  Microsoft's Trace (``opto``, an optional extra).
"""

from guardopt.workflow.graph import BundledFunction, ExecutionError, Node, bundle, node
from guardopt.workflow.guarded import GuardConfig, GuardedOptimizer, GuardedStep
from guardopt.workflow.optimizer import StepResult, WorkflowOptimizer
from guardopt.workflow.optoprime import LLMError, OptoPrimeConfig, OptoPrimeProposer, http_transport, render_prompt
from guardopt.workflow.propagation import (
    GraphPropagator,
    TraceGraph,
    local_derivatives,
    minimal_subgraph,
    sensitivities,
)
from guardopt.workflow.proposers import (
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
    cast_like,
    parse_signed_error,
    solve_local,
)

__all__ = [
    "AdamConfig",
    "AdamProposer",
    "BundledFunction",
    "ExecutionError",
    "GraphPropagator",
    "GuardConfig",
    "GuardedOptimizer",
    "GuardedStep",
    "HistoryEntry",
    "LLMError",
    "Node",
    "OptoPrimeConfig",
    "OptoPrimeProposer",
    "Proposal",
    "ProposalContext",
    "Proposer",
    "SecantConfig",
    "SecantProposer",
    "StepResult",
    "TraceAwareConfig",
    "TraceAwareProposer",
    "TraceBlindConfig",
    "TraceBlindProposer",
    "TraceGraph",
    "WorkflowOptimizer",
    "bundle",
    "cast_like",
    "http_transport",
    "local_derivatives",
    "minimal_subgraph",
    "node",
    "parse_signed_error",
    "render_prompt",
    "sensitivities",
    "solve_local",
]
