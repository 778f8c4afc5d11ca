"""The example script runs and the trace-aware proposer prices on target."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workflow_trace.py"


def test_example_runs() -> None:
    spec = importlib.util.spec_from_file_location("workflow_trace", EXAMPLE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.main()
    it, y = out["trace-aware"]
    assert abs(y - mod.TARGET) < 0.005 and it <= 5
    assert out["guarded"]["final_error"] < 1.0
