"""The user example `examples/fair_threshold.py` runs end to end with a tiny budget."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fair_threshold.py"


def test_fair_threshold_example_tunes_and_certifies(capsys) -> None:
    spec = importlib.util.spec_from_file_location("fair_threshold_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(n_trials=150, seed=1)
    assert out["certified"] == 1.0
    assert out["threshold"] <= 0.1 + 1e-9  # the parity-feasible, high-utility end of the grid
    assert out["upper_bound"] <= module.CERTIFY_GAP
    assert "certified" in capsys.readouterr().out
