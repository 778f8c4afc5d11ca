from __future__ import annotations

import runpy
from pathlib import Path

import pytest

pytest.importorskip("torch")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", ["offline_ignite.py", "offline_reward_ensembles.py", "reward_ensembles_ppo.py"])
def test_example_runs_quick(name: str) -> None:
    module = runpy.run_path(str(EXAMPLES / name))
    out = module["main"](quick=True)
    assert out and all(isinstance(v, float) for v in out.values())
