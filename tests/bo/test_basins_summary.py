"""The Hartmann6 basin diagnosis's bookkeeping (benchmarks/bo_basins.py), on hand-made records."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bo_basins.py"


@pytest.fixture(scope="module")
def bb():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bo_basins_under_test", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _rec(variant: str, seed: int, basin: str, design: str, regret: float) -> dict:
    return {"variant": variant, "seed": seed, "basin": basin, "design_basin": design, "regret": regret}


def test_parse_seeds_reads_lists_and_inclusive_ranges(bb) -> None:  # type: ignore[no-untyped-def]
    assert bb.parse_seeds("0,2,5") == [0, 2, 5]
    assert bb.parse_seeds("3-6,9") == [3, 4, 5, 6, 9]


def test_nearest_basin_names_the_nearer_minimizer(bb) -> None:  # type: ignore[no-untyped-def]
    far = np.full(6, 0.99)
    assert bb.nearest_basin(np.vstack([far, bb.X_GLOBAL + 0.01])) == "global"
    assert bb.nearest_basin(np.vstack([far, bb.X_SECOND + 0.01])) == "second"


def test_design_decides_counts_by_hand(bb) -> None:  # type: ignore[no-untyped-def]
    recs = [_rec("v", 0, "global", "global", 1e-5), _rec("v", 1, "second", "second", 0.12),
            _rec("v", 2, "global", "second", 1e-4), _rec("v", 3, "second", "global", 0.12)]
    row = next(line for line in bb.design_decides(recs) if line.startswith("| v |"))
    # design nearer global 2/4; ended in the design's basin 2/4; one moved up, one moved down
    assert row == "| v | 4 | 2/4 | 2/4 | 1 | 1 |"


def test_seed_blocks_compares_medians_block_by_block(bb) -> None:  # type: ignore[no-untyped-def]
    recs = []
    for s in range(20):  # block 0-9: "a" better; block 10-19: "b" better
        ra, rb = (1e-5, 1e-1) if s < 10 else (1e-1, 1e-3)
        recs += [_rec("baseline", s, "global", "global", ra), _rec("optuna-gp", s, "second", "global", rb)]
    recs.append(_rec("baseline", 25, "global", "global", 1e-5))  # an incomplete block is left out
    lines = bb.seed_blocks(recs)
    assert "| 0-9 | -5.00 | -1.00 | 10/10 | 0/10 | guardopt |" in lines
    assert "| 10-19 | -1.00 | -3.00 | 10/10 | 0/10 | GPSampler |" in lines
    assert not any(line.startswith("| 20-29") for line in lines)
    assert lines[-1] == "guardopt's median is at or below GPSampler's on 1 of 2 blocks."


def test_how_sure_compares_the_benchmark_seeds_and_the_rest(bb) -> None:  # type: ignore[no-untyped-def]
    # Seeds 0-9: both tools at regret 1e-3 (a tie); seeds 10-19: GPOptimizer 1e-5, GPSampler 1e-1.
    recs = [_rec("baseline", s, "global", "global", 1e-3 if s < 10 else 1e-5) for s in range(20)]
    recs += [_rec("optuna-gp", s, "global", "global", 1e-3 if s < 10 else 1e-1) for s in range(20)]
    rows = {line.split(" | ")[0]: line for line in bb.how_sure(recs) if line.startswith("| ") and "seeds" not in line}
    assert rows["| 0-9 (the benchmark's)"].startswith("| 0-9 (the benchmark's) | 10 | +0.00 | [+0.00, +0.00] |")
    assert rows["| after 9"].startswith("| after 9 | 10 | -4.00 | [-4.00, -4.00] |")
    assert rows["| all"].startswith("| all | 20 | ")
