"""Tune a small pricing workflow from textual feedback, with and without the trace, then guard it.

The workflow is a user's own code: a price is a base cost times a markup, minus a discount, limited
to a legal range, then rounded up to a whole cent. Its two numbers (markup, discount) are trainable;
the only signal is a sentence about the price ("too high by 3.2"). A trace-aware proposer, an
OPRO-like one that sees only the history, and, with noisy feedback, the trace-aware proposer behind a
guard that needs held-out evidence before it applies an update.

Run: ``python examples/workflow_trace.py``.
"""

from __future__ import annotations

import math

import numpy as np

from guardopt.workflow import (
    GuardConfig,
    GuardedOptimizer,
    Node,
    Proposer,
    TraceAwareProposer,
    TraceBlindProposer,
    WorkflowOptimizer,
    bundle,
    node,
)

TARGET = 42.0


@bundle(description="legal_range(p) limits a price to [5, 60].")
def legal_range(p: float) -> float:
    return min(max(p, 5.0), 60.0)


@bundle(description="to_cents(p) rounds a price up to a whole cent.")
def to_cents(p: float) -> float:
    return math.ceil(p * 100.0 - 1e-9) / 100.0


def price(markup: Node, discount: Node, base: float = 20.0) -> Node:
    return to_cents(legal_range(markup * base - discount))


def feedback(y: float, noise: float = 0.0) -> str:
    d = y - TARGET + noise
    return "The price is correct." if d == 0 else f"The price is too {'high' if d > 0 else 'low'} by {abs(d):.6g}."


def tune(proposer: Proposer, iterations: int = 20) -> tuple[int, float]:
    markup = node(4.0, name="markup", trainable=True, description="markup > 0")
    discount = node(0.0, name="discount", trainable=True)
    opt = WorkflowOptimizer([markup, discount], proposer)
    for it in range(1, iterations + 1):
        y = price(markup, discount)
        if abs(y.value - TARGET) < 0.005:
            return it, float(y.value)
        opt.zero_feedback()
        opt.backward(y, feedback(float(y.value)))
        opt.step()
    return iterations, float(price(markup, discount).value)


def guarded(seed: int = 0, sigma: float = 0.5, steps: int = 15) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    markup = node(4.0, name="markup", trainable=True)
    discount = node(0.0, name="discount", trainable=True)
    opt = WorkflowOptimizer([markup, discount], TraceAwareProposer())

    def heldout(cur: dict, new: dict, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
        eps = rng.standard_normal(n)  # the same held-out customers judge both prices
        def loss(v: dict) -> np.ndarray:
            p = price(node(v["markup"]), node(v["discount"])).value
            return (p - TARGET + sigma * eps) ** 2
        return loss(cur), loss(new)

    guard = GuardedOptimizer(opt, heldout, GuardConfig(delta=0.1))
    accepted = 0
    for _ in range(steps):
        y = price(markup, discount)
        opt.zero_feedback()
        opt.backward(y, feedback(float(y.value), sigma * float(rng.standard_normal())))
        accepted += guard.step().accepted
    return {"accepted": accepted, "final_error": abs(float(price(markup, discount).value) - TARGET)}


def main() -> dict[str, object]:
    out: dict[str, object] = {}
    for name, proposer in (("trace-aware", TraceAwareProposer()), ("trace-blind", TraceBlindProposer())):
        it, y = tune(proposer)
        out[name] = (it, y)
        print(f"{name:12s} price {y:8.2f} after {it:2d} executions (target {TARGET})")
    g = guarded()
    out["guarded"] = g
    print(f"guarded      {g['accepted']} of 15 noisy updates applied; final |error| {g['final_error']:.3f}")
    return out


if __name__ == "__main__":
    main()
