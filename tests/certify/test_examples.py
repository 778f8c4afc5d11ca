from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_fair_credit_example_certifies_with_enough_data() -> None:
    module = runpy.run_path(str(EXAMPLES / "certify_fair_credit.py"))
    out = module["main"](n=20000, seed=0)
    assert out["solution"] == 1.0 and out["gap"] <= 0.05
    assert module["main"](n=200, seed=0)["solution"] == 0.0


def test_threshold_example_runs() -> None:
    module = runpy.run_path(str(EXAMPLES / "certify_threshold.py"))
    out = module["main"](n=3000, seed=0)
    assert set(out) == {"threshold", "certified", "upper_bound"}
